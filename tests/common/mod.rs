//! Helpers for driving the real `reach` binary in a throwaway data dir.
#![allow(dead_code)]

pub mod tmux;

use std::path::{Path, PathBuf};

use assert_cmd::Command;

pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        Env { dir: tempfile::tempdir().expect("tempdir") }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `reach` with an isolated data dir, config and identity, whatever the caller's environment says.
    pub fn reach(&self) -> Command {
        Command::from_std(self.reach_std())
    }

    /// The same as a plain std command, for a process the test spawns and watches while it runs.
    pub fn reach_std(&self) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("reach"));
        cmd.env_clear()
            .env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env("XDG_DATA_HOME", self.dir.path().join("xdg-data"))
            .env("REACH_DATA_DIR", self.data_dir())
            .env("REACH_USER", "tester");
        cmd
    }

    /// `reach` against the simulated Telegram, with the test's `config.toml`.
    pub fn sim(&self) -> Command {
        let mut cmd = self.reach();
        cmd.env("REACH_TELEGRAM", "simulated").env("REACH_CONFIG", self.path("config.toml"));
        cmd
    }

    /// `sim()` with `--json`, parsed; the command must succeed.
    pub fn sim_json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.sim().args(args).arg("--json").output().expect("run");
        assert!(out.status.success(), "reach {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("json output")
    }

    pub fn write(&self, name: &str, content: &str) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, content).expect("write fixture");
        p
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let out = self.reach().args(args).arg("--json").output().expect("run");
        assert!(out.status.success(), "reach {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("json output")
    }
}

pub fn exists(p: &Path) -> bool {
    p.exists()
}
