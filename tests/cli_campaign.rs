//! Campaigns through the binary against the simulated Telegram in real time: created, dry-run
//! and launched from the CLI, sent by `reach listen`, which is killed (-9, and at the worst
//! moment, between Telegram's answer and the store's record) and restarted until it completes.

mod common;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::Env;
use reach::crawl::backend::shared_world;
use reach::telegram::sim::chat::{persona, Persona};

const LEADS: usize = 12;

fn env() -> Env {
    let env = Env::new();
    env.write("config.toml", "[messages]\npacing_ms = 1000\njitter_ms = 0\nfirst_contacts_per_day = 500\n");
    env
}

fn listen(env: &Env, fault: bool) -> Child {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(env.path("listen.log")).unwrap();
    let mut cmd = env.reach_std();
    cmd.env("REACH_TELEGRAM", "simulated")
        .env("REACH_CONFIG", env.path("config.toml"))
        .arg("listen")
        .stdout(log)
        .stderr(Stdio::null());
    if fault {
        cmd.env(reach::talk::runner::FAULT_AFTER_SEND, "1");
    }
    cmd.spawn().unwrap()
}

fn sim_state(env: &Env) -> serde_json::Value {
    let state = std::fs::read(env.data_dir().join("sim-telegram.json")).unwrap_or_default();
    serde_json::from_slice(&state).unwrap_or_default()
}

fn deliveries(env: &Env) -> u64 {
    sim_state(env)["accounts"]["a1"]["deliveries"].as_u64().unwrap_or(0)
}

fn show(env: &Env) -> serde_json::Value {
    env.sim_json(&["campaign", "show", "spring"])
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// An account and leads who read our messages, by username (the runner resolves them).
fn setup(env: &Env) {
    let add = env.sim().args(["account", "add", "a1", "--phone", "+15550100"]).write_stdin("12345\n").output().unwrap();
    assert!(add.status.success(), "{}", String::from_utf8_lossy(&add.stderr));
    let w = shared_world();
    let first = reach::telegram::sim::chat::first_user_id();
    let people = (first..first + 30_000)
        .filter_map(|id| w.user(id))
        .filter(|u| !u.bot && !u.deleted && u.username.is_some() && matches!(persona(u.id), Persona::Talker { .. }))
        .take(LEADS);
    for u in people {
        let username = u.username.clone().unwrap_or_default();
        env.sim().args(["lead", "add", "--username", &username, "--first-name", &u.first_name]).assert().success();
    }
    // One lead is archived: skipped with the reason.
    env.sim().args(["lead", "set", "1", "--status", "archived"]).assert().success();
}

#[test]
fn a_campaign_survives_kill_9_and_completes_with_each_message_sent_once() {
    let env = env();
    setup(&env);
    let refused = env
        .sim()
        .args(["campaign", "create", "spring", "--template", "Hi {first_name}, {field:company} here"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
    let why = String::from_utf8_lossy(&refused.stderr);
    assert!(why.contains("{field:company} has no fallback"), "{why}");

    env.sim()
        .args(["campaign", "create", "spring", "--template", "{Hi|Hello} {first_name|there}, spring is here"])
        .args(["--per-hour", "3600", "--period-days", "0"])
        .assert()
        .success();
    let dry = env.sim_json(&["campaign", "dry-run", "spring", "--show", "20"]);
    assert_eq!(dry["audience"], LEADS as u64);
    assert_eq!(dry["skipped"]["archived"], 1);
    let texts: Vec<String> = dry["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["text"]["Ok"].as_str().map(str::to_string))
        .collect();
    assert_eq!(texts.len(), LEADS - 1);
    assert!(texts.iter().all(|t| t.ends_with(", spring is here")), "{texts:?}");
    assert_eq!(deliveries(&env), 0, "a dry run sends nothing");

    let launched = env.sim_json(&["campaign", "launch", "spring"]);
    assert_eq!(launched["state"], "running");

    // Killed between Telegram's answer and the record: the worst moment.
    let mut crashing = listen(&env, true);
    assert!(!crashing.wait().unwrap().success(), "the fault point aborts the process");
    assert_eq!(deliveries(&env), 1);
    // Then kill -9 in the middle of the run, twice.
    for at in [4, 8] {
        let mut l = listen(&env, false);
        wait_until("more messages to go", Duration::from_secs(60), || deliveries(&env) >= at);
        l.kill().unwrap();
        l.wait().unwrap();
    }
    let mut l = listen(&env, false);
    wait_until("the campaign to finish", Duration::from_secs(90), || show(&env)["campaign"]["state"] == "done");
    l.kill().unwrap();
    l.wait().unwrap();

    let c = show(&env)["campaign"].clone();
    let all = &c["tally"]["all"];
    // pending, queued, sent, read, replied, failed, skipped
    let counts: Vec<u64> = all.as_array().unwrap().iter().map(|n| n.as_u64().unwrap()).collect();
    assert_eq!(counts[0] + counts[1], 0, "{counts:?}");
    assert_eq!(counts[2] + counts[3] + counts[4], (LEADS - 1) as u64, "{counts:?}");
    assert_eq!(counts[6], 1);
    // Telegram got each message exactly once, and each lead's thread has one campaign message.
    assert_eq!(deliveries(&env), (LEADS - 1) as u64);
    for lead in 2..=LEADS {
        let thread = env.sim_json(&["messages", &lead.to_string()]);
        let out = thread.as_array().unwrap().iter().filter(|m| m["direction"] == "out").count();
        assert_eq!(out, 1, "lead #{lead}: {thread}");
    }
    let report = env.path("report.csv");
    env.sim().args(["campaign", "report", "spring", "--out"]).arg(&report).assert().success();
    let csv = std::fs::read_to_string(&report).unwrap();
    assert_eq!(csv.lines().count(), LEADS + 1);
    assert!(csv.lines().any(|l| l.contains(",skipped,archived,")), "{csv}");
    let lead = env.sim_json(&["lead", "show", "2"]);
    assert_eq!(lead["campaigns"][0]["name"], "spring", "{lead}");
}
