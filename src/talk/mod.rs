//! Conversations with Telegram: the account runner (one per account, in one process at a time),
//! which streams updates into the store and drains the account's outbox, and the listener that
//! runs every account a process can lock (`reach listen`, the TUI).

pub mod demo;
pub mod listen;
pub mod lock;
pub mod runner;

use std::path::Path;
use std::time::Duration;

use crate::crawl::account::RunnerHealth;

/// How a runner sends: its pace, caps and manners. From `[messages]` and `[telegram]` in the config.
#[derive(Debug, Clone, PartialEq)]
pub struct RunnerConfig {
    /// Minimum pause between two sends of one account, plus up to `jitter` more.
    pub interval: Duration,
    pub jitter: Duration,
    /// Messages a day to people the account never talked to.
    pub first_contacts_per_day: u32,
    /// Local hours (start, end) in which nothing is sent, e.g. (22, 8).
    pub quiet_hours: Option<(u32, u32)>,
    pub send_read_receipts: bool,
    pub stop_words: Vec<String>,
    /// What runs the account, as `reach account list` shows it: `listen`, `tui`.
    pub process: &'static str,
    /// A flood wait longer than this trips the account's circuit breaker in every campaign.
    pub flood_breaker: Duration,
    /// How often the heartbeat is renewed, and how often an idle outbox is looked at anyway.
    pub heartbeat: Duration,
    pub idle_poll: Duration,
    pub clock: Clock,
}

impl RunnerConfig {
    /// A runner for simulated days on a paused clock from `from` (the demo's past, benchmarks,
    /// tests): fast pacing, no first-contact cap to speak of, a slow heartbeat and idle poll
    /// (nothing else watches it), no read receipts.
    pub fn on_paused_clock(process: &'static str, from: crate::model::Millis) -> RunnerConfig {
        RunnerConfig {
            interval: Duration::from_secs(1),
            jitter: Duration::ZERO,
            first_contacts_per_day: 1_000_000,
            quiet_hours: None,
            send_read_receipts: false,
            stop_words: crate::model::default_stop_words(),
            process,
            flood_breaker: Duration::from_secs(300),
            heartbeat: Duration::from_secs(3600),
            idle_poll: Duration::from_secs(600),
            clock: Clock::tokio_from(from),
        }
    }
}

/// The time a runner decides by: the wall clock, or (tests and benchmarks on a paused clock)
/// tokio's clock from a fixed wall time, so simulated days pass in no real time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    Wall,
    Tokio { wall: crate::model::Millis, at: tokio::time::Instant },
}

impl Clock {
    /// Tokio's clock, reading `wall` now.
    pub fn tokio_from(wall: crate::model::Millis) -> Clock {
        Clock::Tokio { wall, at: tokio::time::Instant::now() }
    }

    pub fn now(&self) -> crate::model::Millis {
        match self {
            Clock::Wall => crate::model::now_millis(),
            Clock::Tokio { wall, at } => wall + at.elapsed().as_millis() as i64,
        }
    }
}

impl RunnerConfig {
    pub fn from_config(c: &crate::config::Config, process: &'static str) -> RunnerConfig {
        let m = &c.messages;
        RunnerConfig {
            interval: Duration::from_millis(m.pacing_ms),
            jitter: Duration::from_millis(m.jitter_ms),
            first_contacts_per_day: m.first_contacts_per_day,
            quiet_hours: m.quiet_hours_parsed(),
            send_read_receipts: c.telegram.send_read_receipts,
            stop_words: m.stop_words.clone().unwrap_or_else(crate::model::default_stop_words),
            process,
            flood_breaker: Duration::from_secs(c.campaigns.flood_breaker_secs),
            heartbeat: runner::HEARTBEAT,
            idle_poll: runner::IDLE_POLL,
            clock: Clock::Wall,
        }
    }
}

/// What a runner reports, for `reach listen`'s log and the TUI's status bar.
#[derive(Debug, Clone, PartialEq)]
pub enum RunnerEvent {
    Started {
        account: String,
    },
    Health {
        account: String,
        health: RunnerHealth,
    },
    /// A private message arrived (or one we sent from another client).
    Heard {
        account: String,
        lead: Option<u64>,
        from: String,
        out: bool,
        text: String,
    },
    Sent {
        account: String,
        lead: u64,
        message: u64,
    },
    Failed {
        account: String,
        lead: u64,
        message: u64,
        reason: String,
    },
    /// A message waits: the daily cap, quiet hours, a flood wait.
    Waiting {
        account: String,
        why: String,
    },
    Stopped {
        account: String,
        why: String,
    },
}

impl std::fmt::Display for RunnerEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let lead = |id: &Option<u64>| id.map(|i| format!(" (lead #{i})")).unwrap_or_default();
        match self {
            RunnerEvent::Started { account } => write!(f, "{account}: running"),
            RunnerEvent::Health { account, health } => write!(f, "{account}: {}", health_text(health)),
            RunnerEvent::Heard { account, lead: l, from, out: false, text } => {
                write!(f, "{account}: message from {from}{}: {}", lead(l), clip(text))
            }
            RunnerEvent::Heard { account, lead: l, from, out: true, text } => {
                write!(f, "{account}: sent from another app to {from}{}: {}", lead(l), clip(text))
            }
            RunnerEvent::Sent { account, lead, message } => {
                write!(f, "{account}: sent message #{message} to lead #{lead}")
            }
            RunnerEvent::Failed { account, lead, message, reason } => {
                write!(f, "{account}: message #{message} to lead #{lead} failed: {reason}")
            }
            RunnerEvent::Waiting { account, why } => write!(f, "{account}: waiting: {why}"),
            RunnerEvent::Stopped { account, why } => write!(f, "{account}: stopped: {why}"),
        }
    }
}

pub fn health_text(h: &RunnerHealth) -> String {
    match h {
        RunnerHealth::Connecting => "connecting".into(),
        RunnerHealth::Connected => "connected".into(),
        RunnerHealth::FloodWait { until } => {
            let left = (*until - crate::model::now_millis()).max(0);
            format!("flood wait, {}s left", (left as u64).div_ceil(1000))
        }
        RunnerHealth::Limited => "limited by Telegram (PEER_FLOOD): check @SpamBot, then reach account resume".into(),
        RunnerHealth::NeedsLogin => "needs login (reach account add)".into(),
        RunnerHealth::Unreachable { error } => format!("unreachable: {error}"),
        RunnerHealth::Stopped => "stopped".into(),
    }
}

fn clip(t: &str) -> String {
    let one: String = t.split_whitespace().collect::<Vec<_>>().join(" ");
    if one.chars().count() > 60 {
        format!("{}…", one.chars().take(59).collect::<String>())
    } else {
        one
    }
}

/// Creates `dir` if needed and keeps it private to this user (sessions give full control of an account).
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(dir)?;
        if meta.permissions().mode() & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
