//! When an account may queue a campaign's next message: the campaign's start, its quiet hours
//! and daily cap in its own time zone, and the hourly spread with jitter. Pure functions of the
//! campaign and a time, so the runner, `campaign show` and the dry run's estimate agree.

use jiff::tz::TimeZone;

use super::{AccountPace, Campaign, CampaignState, Pacing};
use crate::model::Millis;

const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;

/// A time zone by IANA name ("UTC" and "local" are understood too).
pub fn zone(name: &str) -> Result<TimeZone, String> {
    match name.trim() {
        "" | "local" => Ok(TimeZone::system()),
        "UTC" | "utc" => Ok(TimeZone::UTC),
        n => TimeZone::get(n).map_err(|_| format!("unknown time zone {n:?}; use an IANA name such as Europe/Berlin")),
    }
}

/// This machine's zone by name, for a campaign created without `--timezone`.
pub fn local_zone_name() -> String {
    TimeZone::system().iana_name().unwrap_or("UTC").to_string()
}

/// Milliseconds of local wall time: the instant shifted by the zone's offset at that instant.
fn local(ms: Millis, tz: &TimeZone) -> Millis {
    let offset = jiff::Timestamp::from_millisecond(ms).map(|t| tz.to_offset(t).seconds()).unwrap_or(0);
    ms + i64::from(offset) * 1000
}

/// The local day number (days since 1970-01-01 in the zone).
pub fn local_day(ms: Millis, tz: &TimeZone) -> i64 {
    local(ms, tz).div_euclid(DAY)
}

/// The instant the local day after `ms` begins.
fn next_midnight(ms: Millis, tz: &TimeZone) -> Millis {
    let l = local(ms, tz);
    let midnight_local = (l.div_euclid(DAY) + 1) * DAY;
    ms + (midnight_local - l)
}

/// When the quiet hours that hold at `ms` end, if they hold.
pub fn quiet_until(ms: Millis, hours: Option<(u32, u32)>, tz: &TimeZone) -> Option<Millis> {
    let (start, end) = hours?;
    let l = local(ms, tz);
    let into_day = l.rem_euclid(DAY);
    let h = (into_day / HOUR) as u32;
    let inside = if start < end { (start..end).contains(&h) } else { h >= start || h < end };
    if !inside {
        return None;
    }
    let end_ms = i64::from(end) * HOUR;
    let wait = if into_day < end_ms { end_ms - into_day } else { DAY - into_day + end_ms };
    Some(ms + wait)
}

/// Whether, and when, `account` may queue the campaign's next message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ready {
    Now,
    /// Not before this time, and why.
    At(Millis, String),
    /// Not until a person acts.
    Held(String),
}

pub fn ready(c: &Campaign, account: &str, now: Millis) -> Ready {
    if c.state != CampaignState::Running {
        return Ready::Held(format!("the campaign is {}", c.state));
    }
    let p = &c.pacing;
    let pace = c.pace.get(account).cloned().unwrap_or_default();
    if let Some(why) = &pace.breaker {
        return Ready::Held(why.clone());
    }
    let Ok(tz) = zone(&p.timezone) else { return Ready::Held(format!("unknown time zone {:?}", p.timezone)) };
    let mut at = now;
    let mut why = String::new();
    let mut later = |t: Millis, w: String, at: &mut Millis| {
        if t > *at {
            *at = t;
            why = w;
        }
    };
    if let Some(s) = p.start_at {
        later(s, "the campaign's start time".into(), &mut at);
    }
    if let Some(n) = p.per_day {
        if pace.day == local_day(at, &tz) && pace.today >= n {
            later(next_midnight(at, &tz), format!("{n} sent today, the campaign's daily cap for {account}"), &mut at);
        }
    }
    if let Some(last) = pace.last_at {
        later(last + pace.gap_ms as i64, "pacing".into(), &mut at);
    }
    // Quiet hours last: a wait above may end inside them.
    if let Some(end) = quiet_until(at, p.quiet_hours, &tz) {
        later(end, "quiet hours".into(), &mut at);
    }
    if at <= now {
        Ready::Now
    } else {
        Ready::At(at, why)
    }
}

/// The pace after queuing one message at `at`: the day's count, and the gap before the next.
pub fn record(pace: &AccountPace, p: &Pacing, at: Millis, jitter_roll: u64) -> AccountPace {
    let tz = zone(&p.timezone).unwrap_or(TimeZone::UTC);
    let day = local_day(at, &tz);
    let today = if pace.day == day { pace.today + 1 } else { 1 };
    let spread = p.per_hour.filter(|n| *n > 0).map_or(0, |n| (HOUR as u64).div_ceil(u64::from(n)));
    let jitter = if p.jitter_ms == 0 { 0 } else { jitter_roll % (p.jitter_ms + 1) };
    AccountPace { day, today, last_at: Some(at), gap_ms: spread + jitter, total: pace.total + 1, breaker: None }
}

/// How long `n` messages take from `now` for one account under the campaign's caps (quiet hours
/// and daily caps included), sending as soon as the caps allow: the dry run's estimate. The
/// runner's own pacing (`min_gap_ms`) is a floor on the gap.
pub fn estimate(c: &Campaign, n: u64, now: Millis, min_gap_ms: u64) -> Millis {
    let mut sim = c.clone();
    sim.state = CampaignState::Running;
    let account = "estimate";
    let mut pace = AccountPace::default();
    let mut t = now;
    for i in 0..n {
        sim.pace.insert(account.into(), pace.clone());
        t = match ready(&sim, account, t) {
            Ready::Now => t,
            Ready::At(at, _) => at,
            Ready::Held(_) => return Millis::MAX,
        };
        // The jitter averages half its range.
        pace = record(&pace, &sim.pacing, t, sim.pacing.jitter_ms / 2);
        pace.gap_ms = pace.gap_ms.max(min_gap_ms);
        if i + 1 == n {
            break;
        }
    }
    t - now
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::campaign::{Audience, Tally};

    fn campaign(p: Pacing) -> Campaign {
        Campaign {
            id: 1,
            name: "c".into(),
            created_by: "mia".into(),
            created_at: 0,
            audience: Audience::default(),
            steps: Vec::new(),
            accounts: vec!["a1".into()],
            pacing: p,
            state: CampaignState::Running,
            launched_at: Some(0),
            ended_at: None,
            tally: Tally::default(),
            pace: Default::default(),
            enrolled: 0,
        }
    }

    fn pacing(tz: &str) -> Pacing {
        Pacing {
            per_hour: None,
            per_day: None,
            jitter_ms: 0,
            quiet_hours: None,
            timezone: tz.into(),
            start_at: None,
            period_days: 7,
        }
    }

    // 2026-12-01 10:00 UTC.
    const T: Millis = 1_796_119_200_000;

    #[test]
    fn quiet_hours_are_the_zones_hours() {
        let berlin = zone("Europe/Berlin").unwrap();
        // 10:00 UTC is 11:00 in Berlin (CET, +1): not quiet in 22-8, quiet in 9-12 until 12:00 local.
        assert_eq!(quiet_until(T, Some((22, 8)), &berlin), None);
        assert_eq!(quiet_until(T, Some((9, 12)), &berlin), Some(T + HOUR));
        // Across midnight: at 23:00 local the 22-8 quiet lasts 9 hours.
        assert_eq!(quiet_until(T + 12 * HOUR, Some((22, 8)), &berlin), Some(T + 21 * HOUR));
        assert!(zone("Mars/Olympus").is_err());
    }

    #[test]
    fn the_daily_cap_waits_for_the_local_midnight_and_the_hourly_spread_paces() {
        let mut p = pacing("Asia/Tokyo");
        p.per_day = Some(2);
        p.per_hour = Some(4);
        let mut c = campaign(p.clone());
        assert_eq!(ready(&c, "a1", T), Ready::Now);
        let first = record(&AccountPace::default(), &p, T, 0);
        assert_eq!(first.gap_ms, 15 * 60 * 1000, "4 an hour: one every 15 minutes");
        c.pace.insert("a1".into(), first.clone());
        assert!(matches!(ready(&c, "a1", T + 60_000), Ready::At(t, _) if t == T + 15 * 60_000));
        let second = record(&first, &p, T + 15 * 60_000, 0);
        assert_eq!(second.today, 2);
        c.pace.insert("a1".into(), second);
        // 10:15 UTC is 19:15 in Tokyo: the next day starts at 15:00 UTC.
        assert!(
            matches!(ready(&c, "a1", T + 20 * 60_000), Ready::At(t, ref w) if t == T + 5 * HOUR && w.contains("daily cap"))
        );
        c.state = CampaignState::Paused;
        assert!(matches!(ready(&c, "a1", T), Ready::Held(_)));
    }

    #[test]
    fn the_estimate_follows_the_caps() {
        let mut p = pacing("UTC");
        p.per_day = Some(10);
        let c = campaign(p);
        // 25 messages at 10 a day: today's 10, tomorrow's 10, and 5 on the third day from midnight.
        let took = estimate(&c, 25, T, 1000);
        assert_eq!(took, 2 * DAY - 10 * HOUR + 4 * 1000);
    }
}
