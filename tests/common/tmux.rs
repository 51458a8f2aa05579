//! Driving the real binary in a tmux session, for the tests that look at the TUI.

use std::process::Command;
use std::time::{Duration, Instant};

pub fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().expect("tmux runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A tmux session, killed when dropped (so a failed test leaves no reach running).
pub struct Session(pub String);

impl Drop for Session {
    fn drop(&mut self) {
        let _ = Command::new("tmux").args(["kill-session", "-t", &self.0]).output();
    }
}

pub fn wait_until(session: &str, what: &str, ok: impl Fn(&str) -> bool) -> String {
    wait_within(session, what, Duration::from_secs(30), ok)
}

pub fn wait_within(session: &str, what: &str, limit: Duration, ok: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        let screen = tmux(&["capture-pane", "-p", "-t", session]);
        if ok(&screen) {
            return screen;
        }
        assert!(start.elapsed() < limit, "timed out waiting for {what}; screen:\n{screen}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn wait_for(session: &str, text: &str) -> String {
    wait_until(session, text, |s| s.contains(text))
}

/// tmux is there, or the test skips (CI installs it in .ci/run, so there it must be there).
pub fn have_tmux() -> bool {
    if Command::new("tmux").arg("-V").output().is_ok() {
        return true;
    }
    assert!(std::env::var("CI").is_err(), "tmux is required in CI");
    eprintln!("skipping: tmux is not installed");
    false
}

/// Waits for reach to exit: the tmux session ends with it.
pub fn wait_for_exit(session: &Session) {
    let start = Instant::now();
    while Command::new("tmux").args(["has-session", "-t", &session.0]).status().is_ok_and(|s| s.success()) {
        assert!(start.elapsed() < Duration::from_secs(10), "reach did not quit");
        std::thread::sleep(Duration::from_millis(100));
    }
}
