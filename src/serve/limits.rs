//! What the server lets in: sessions overall and per user, and per-IP rates of connections and
//! failed authentications. One lock, held for a few map operations per connection.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The server's limits; `reach serve`'s flags set them.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_sessions: usize,
    pub max_per_user: usize,
    /// Connections one IP may open per `window`.
    pub connections_per_ip: usize,
    /// Failed authentications one IP may make per `window`; after that it is refused until they age out.
    pub auth_failures_per_ip: usize,
    pub window: Duration,
    /// How long a connection may take to authenticate (and then to ask for the TUI).
    pub login_grace: Duration,
    /// Connections logging in at once, from anywhere (OpenSSH's MaxStartups), and from one address.
    pub max_startups: usize,
    pub max_startups_per_ip: usize,
    /// A session with no keystroke for this long is ended (live updates do not count).
    pub idle: Duration,
    /// Frames queued for one client before its session waits; see `term::Out`.
    pub output_frames: usize,
    /// How long a session waits for a client that reads nothing before ending it.
    pub output_stall: Duration,
    /// The most bytes one bracketed paste keeps.
    pub paste_cap: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_sessions: 64,
            max_per_user: 4,
            connections_per_ip: 30,
            auth_failures_per_ip: 10,
            window: Duration::from_secs(60),
            login_grace: Duration::from_secs(30),
            max_startups: 32,
            max_startups_per_ip: 4,
            idle: Duration::from_secs(30 * 60),
            // With the frame at most 500x200 cells, a few MB queued per client at the very most.
            output_frames: 8,
            output_stall: Duration::from_secs(20),
            // A long message or a list of names; a popup's field takes a paste key by key.
            paste_cap: 8 * 1024,
        }
    }
}

/// Why a session may not open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    ServerFull(usize),
    UserFull(String, usize),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::ServerFull(n) => write!(f, "the server has {n} sessions open, its most; try again later"),
            Refused::UserFull(u, n) => {
                let s = if *n == 1 { "" } else { "s" };
                write!(f, "{u} already has {n} open session{s}, the most per user")
            }
        }
    }
}

#[derive(Default)]
struct State {
    sessions: usize,
    per_user: HashMap<String, usize>,
    connections: HashMap<IpAddr, VecDeque<Instant>>,
    failures: HashMap<IpAddr, VecDeque<Instant>>,
    logging_in: usize,
    logging_in_per_ip: HashMap<IpAddr, usize>,
}

#[derive(Clone)]
pub struct Gate {
    limits: Arc<Limits>,
    state: Arc<Mutex<State>>,
}

/// One less in all and for `key`, whose entry goes at zero (so the map holds only the counted).
fn release<K: std::hash::Hash + Eq>(total: &mut usize, per: &mut HashMap<K, usize>, key: &K) {
    *total = total.saturating_sub(1);
    if let Some(n) = per.get_mut(key) {
        *n = n.saturating_sub(1);
        if *n == 0 {
            per.remove(key);
        }
    }
}

/// A counted session; dropping it frees the place.
pub struct Place {
    gate: Gate,
    user: String,
}

impl Drop for Place {
    fn drop(&mut self) {
        let s = &mut *self.gate.lock();
        release(&mut s.sessions, &mut s.per_user, &self.user);
    }
}

/// A connection that has not logged in yet; dropping it (at login, or when it goes) frees it.
pub struct LoggingIn {
    gate: Gate,
    ip: IpAddr,
}

impl Drop for LoggingIn {
    fn drop(&mut self) {
        let s = &mut *self.gate.lock();
        release(&mut s.logging_in, &mut s.logging_in_per_ip, &self.ip);
    }
}

/// Drops the times older than `window`, and answers whether `max` remain.
fn recent(times: &mut VecDeque<Instant>, now: Instant, window: Duration) -> usize {
    while times.front().is_some_and(|t| now.duration_since(*t) >= window) {
        times.pop_front();
    }
    times.len()
}

impl Gate {
    pub fn new(limits: Limits) -> Gate {
        Gate { limits: Arc::new(limits), state: Arc::default() }
    }

    /// The limits it keeps, for the sessions to share.
    pub fn limits(&self) -> Arc<Limits> {
        Arc::clone(&self.limits)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state is counters only: a panic elsewhere leaves them usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts a new connection from `ip`; false when it is over its rate or over its failures.
    pub fn connect(&self, ip: IpAddr, now: Instant) -> bool {
        let window = self.limits.window;
        let mut s = self.lock();
        if s.failures.get_mut(&ip).is_some_and(|f| recent(f, now, window) >= self.limits.auth_failures_per_ip) {
            return false;
        }
        let times = s.connections.entry(ip).or_default();
        if recent(times, now, window) >= self.limits.connections_per_ip {
            return false;
        }
        times.push_back(now);
        // Forget idle addresses, so a scan from many addresses cannot grow the maps for ever.
        if s.connections.len() > 4096 {
            s.connections.retain(|_, t| recent(t, now, window) > 0);
            s.failures.retain(|_, t| recent(t, now, window) > 0);
        }
        true
    }

    /// Counts a connection as logging in, if there is room: overall, and for its address, so a
    /// few addresses holding connections open cannot keep everyone else from logging in.
    pub fn start_login(&self, ip: IpAddr) -> Option<LoggingIn> {
        let mut s = self.lock();
        let mine = s.logging_in_per_ip.get(&ip).copied().unwrap_or(0);
        if s.logging_in >= self.limits.max_startups || mine >= self.limits.max_startups_per_ip {
            return None;
        }
        s.logging_in += 1;
        *s.logging_in_per_ip.entry(ip).or_default() += 1;
        drop(s);
        Some(LoggingIn { gate: self.clone(), ip })
    }

    /// Whether `ip` may try to authenticate at all.
    pub fn may_authenticate(&self, ip: IpAddr, now: Instant) -> bool {
        let mut s = self.lock();
        s.failures.get_mut(&ip).is_none_or(|f| recent(f, now, self.limits.window) < self.limits.auth_failures_per_ip)
    }

    pub fn failed(&self, ip: IpAddr, now: Instant) {
        self.lock().failures.entry(ip).or_default().push_back(now);
    }

    /// A session for `user`, if the caps allow one more.
    pub fn open(&self, user: &str) -> Result<Place, Refused> {
        let mut s = self.lock();
        if s.sessions >= self.limits.max_sessions {
            return Err(Refused::ServerFull(s.sessions));
        }
        let n = s.per_user.get(user).copied().unwrap_or(0);
        if n >= self.limits.max_per_user {
            return Err(Refused::UserFull(user.to_string(), n));
        }
        s.sessions += 1;
        *s.per_user.entry(user.to_string()).or_default() += 1;
        drop(s);
        Ok(Place { gate: self.clone(), user: user.to_string() })
    }

    pub fn sessions(&self) -> usize {
        self.lock().sessions
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate() -> Gate {
        Gate::new(Limits {
            max_sessions: 3,
            max_per_user: 2,
            connections_per_ip: 2,
            auth_failures_per_ip: 2,
            window: Duration::from_secs(60),
            ..Limits::default()
        })
    }

    #[test]
    fn logins_in_progress_are_capped_per_address_and_overall() {
        let g = Gate::new(Limits { max_startups: 3, max_startups_per_ip: 2, ..Limits::default() });
        let (a, b, c): (IpAddr, IpAddr, IpAddr) =
            ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap(), "10.0.0.3".parse().unwrap());
        let a1 = g.start_login(a);
        let _a2 = g.start_login(a);
        assert!(a1.is_some() && g.start_login(a).is_none(), "two per address");
        let _b1 = g.start_login(b);
        assert!(g.start_login(c).is_none(), "three overall");
        drop(a1);
        assert!(g.start_login(c).is_some(), "a login done frees its place");
    }

    #[test]
    fn sessions_are_capped_overall_and_per_user_and_freed_on_drop() {
        let g = gate();
        let a1 = g.open("mia").expect("first");
        let _a2 = g.open("mia").expect("second");
        assert_eq!(g.open("mia").err(), Some(Refused::UserFull("mia".into(), 2)));
        let _b = g.open("tom").expect("tom");
        assert_eq!(g.open("ann").err(), Some(Refused::ServerFull(3)));
        drop(a1);
        assert_eq!(g.sessions(), 2);
        assert!(g.open("mia").is_ok());
    }

    #[test]
    fn connections_and_failures_are_rate_limited_per_ip_within_the_window() {
        let g = gate();
        let (ip, other) = ("10.0.0.1".parse().expect("ip"), "10.0.0.2".parse().expect("ip"));
        let t0 = Instant::now();
        assert!(g.connect(ip, t0));
        assert!(g.connect(ip, t0));
        assert!(!g.connect(ip, t0), "third connection within the window");
        assert!(g.connect(other, t0), "another address is not affected");
        assert!(g.connect(ip, t0 + Duration::from_secs(61)), "the window moved on");

        assert!(g.may_authenticate(other, t0));
        g.failed(other, t0);
        g.failed(other, t0);
        assert!(!g.may_authenticate(other, t0));
        assert!(!g.connect(other, t0 + Duration::from_secs(1)), "a failing address may not even connect");
        assert!(g.may_authenticate(other, t0 + Duration::from_secs(60)));
    }
}
