//! Leases: which run is doing a piece of work (a crawl of one target), so that two runs in one or
//! two processes never do it at once. A lease is a record, taken and renewed inside the writer's
//! transaction; it lapses when its holder stops renewing it, or at once when its holder's process
//! is known to be gone (same host, dead pid), so a killed crawl can be resumed straight away.

use serde::{Deserialize, Serialize};

use crate::model::{format_millis, Millis};

/// One run of a piece of work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// Unique to the run; a process may hold several leases, each for its own run.
    pub run: u64,
    /// The user the run works for.
    pub by: String,
    pub pid: u32,
    pub host: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub holder: Holder,
    pub since: Millis,
    pub renewed: Millis,
    pub until: Millis,
}

impl Holder {
    /// A new run of this process for `by`.
    pub fn new_run(by: &str) -> Holder {
        use std::hash::{BuildHasher, Hasher};
        use std::sync::atomic::{AtomicU64, Ordering};
        static RUNS: AtomicU64 = AtomicU64::new(0);
        // std's randomly keyed hasher over the pid, the clock and a counter: 64 random-looking
        // bits, distinct across processes and within one.
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u32(std::process::id());
        h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos());
        h.write_u64(RUNS.fetch_add(1, Ordering::Relaxed));
        Holder { run: h.finish(), by: by.to_string(), pid: std::process::id(), host: host_name() }
    }

    /// False only when the holder's process is known to be gone: a host that can be named and is
    /// this one, and no such pid. (A container sharing a host name but not its pids would see a
    /// live holder as gone; its leases should then live in a data dir of its own.)
    pub fn may_be_alive(&self) -> bool {
        self.host.is_empty() || self.host != host_name() || process_exists(self.pid)
    }
}

impl Lease {
    /// The lease `holder` gets from `old` at `now`, or why not: who holds it, and until when.
    pub(super) fn take(old: Option<Lease>, holder: &Holder, now: Millis, ttl_ms: i64) -> Result<Lease, String> {
        let since = match old {
            Some(l) if l.holder.run == holder.run => l.since,
            Some(l) if now < l.until && l.holder.may_be_alive() => {
                return Err(format!(
                    "{} is at it (pid {} on {}) since {}, last heard from at {}; free at {} if it stops",
                    l.holder.by,
                    l.holder.pid,
                    l.holder.host,
                    format_millis(l.since),
                    format_millis(l.renewed),
                    format_millis(l.until)
                ))
            }
            _ => now,
        };
        Ok(Lease { holder: holder.clone(), since, renewed: now, until: now + ttl_ms })
    }
}

/// This machine's name, or "" when it cannot be read (then no holder is ever taken for dead).
#[cfg(unix)]
fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many bytes.
    let r = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if r != 0 {
        return String::new();
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[cfg(not(unix))]
fn host_name() -> String {
    String::new()
}

#[cfg(unix)]
fn process_exists(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return true };
    // Signal 0 checks for the process without touching it; EPERM means it exists as another user's.
    // SAFETY: kill with signal 0 sends nothing.
    let r = unsafe { libc::kill(pid, 0) };
    r == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

#[cfg(not(unix))]
fn process_exists(_pid: u32) -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holder(run: u64, pid: u32) -> Holder {
        Holder { run, by: "alice".into(), pid, host: host_name() }
    }

    #[test]
    fn a_live_holder_keeps_its_lease_until_it_lapses_and_renews_keep_since() {
        let me = holder(1, std::process::id());
        let first = Lease::take(None, &me, 1_000, 500).unwrap();
        assert_eq!((first.since, first.until), (1_000, 1_500));
        let renewed = Lease::take(Some(first.clone()), &me, 1_200, 500).unwrap();
        assert_eq!((renewed.since, renewed.renewed, renewed.until), (1_000, 1_200, 1_700));

        let other = holder(2, std::process::id());
        let why = Lease::take(Some(renewed.clone()), &other, 1_600, 500).unwrap_err();
        assert!(why.contains("alice is at it") && why.contains(&format!("pid {}", std::process::id())), "{why}");
        // Lapsed: the other run takes it, from now.
        let taken = Lease::take(Some(renewed), &other, 1_700, 500).unwrap();
        assert_eq!((taken.holder.run, taken.since), (2, 1_700));
    }

    #[test]
    fn a_dead_holder_on_this_host_loses_its_lease_at_once() {
        // A child that has exited and been reaped: its pid is free.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let dead = Lease::take(None, &holder(1, pid), 1_000, 60_000).unwrap();
        let next = Lease::take(Some(dead), &holder(2, std::process::id()), 1_001, 60_000);
        assert_eq!(next.unwrap().holder.run, 2);
        // Another host's holder cannot be checked: it keeps the lease until it lapses.
        let far = Holder { host: "elsewhere".into(), ..holder(3, pid) };
        let held = Lease::take(None, &far, 1_000, 60_000).unwrap();
        assert!(Lease::take(Some(held), &holder(2, std::process::id()), 1_001, 60_000).is_err());
    }
}
