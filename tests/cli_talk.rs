//! Conversations through the binary, against the simulated Telegram in real time: two processes
//! sharing an account through the outbox, and a runner killed between sending and recording.

mod common;

use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::Env;
use reach::crawl::backend::shared_world;
use reach::telegram::sim::chat::{persona, Persona};

fn env() -> Env {
    let env = Env::new();
    env.write("config.toml", "[messages]\npacing_ms = 1000\njitter_ms = 0\n");
    env
}

fn reach(env: &Env) -> assert_cmd::Command {
    env.sim()
}

fn json(env: &Env, args: &[&str]) -> serde_json::Value {
    env.sim_json(args)
}

/// `reach listen`, its log written to `listen.log` in the test's dir.
fn listen(env: &Env, fault: bool) -> Child {
    let log = std::fs::File::create(env.path("listen.log")).unwrap();
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

/// An account and a lead who answers (the simulated world's person with a username).
fn setup(env: &Env) -> (String, u64) {
    let add =
        reach(env).args(["account", "add", "a1", "--phone", "+15550100"]).write_stdin("12345\n").output().unwrap();
    assert!(add.status.success(), "{}", String::from_utf8_lossy(&add.stderr));
    let w = shared_world();
    let first = reach::telegram::sim::chat::first_user_id();
    let username = (first..first + 30_000)
        .filter_map(|id| w.user(id))
        .find(|u| !u.bot && !u.deleted && u.username.is_some() && matches!(persona(u.id), Persona::Talker { .. }))
        .and_then(|u| u.username.clone())
        .unwrap();
    let lead = json(env, &["lead", "add", "--username", &username]);
    (username, lead["id"].as_u64().unwrap())
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn deliveries(env: &Env) -> u64 {
    let state = std::fs::read(env.data_dir().join("sim-telegram.json")).unwrap_or_default();
    let v: serde_json::Value = serde_json::from_slice(&state).unwrap_or_default();
    v["accounts"]["a1"]["deliveries"].as_u64().unwrap_or(0)
}

fn thread(env: &Env, lead: u64) -> Vec<serde_json::Value> {
    json(env, &["messages", &lead.to_string()]).as_array().cloned().unwrap_or_default()
}

#[test]
fn a_send_from_another_process_goes_through_the_outbox_of_the_one_running_the_account() {
    let env = env();
    let (_, lead) = setup(&env);
    let mut listener = listen(&env, false);
    wait_until("the listener to run a1", Duration::from_secs(30), || {
        let accounts = json(&env, &["account", "list"]);
        accounts[0]["runner"]["process"].as_str() == Some("listen")
    });
    // This process cannot lock a1: it queues, and the listener sends.
    let out = reach(&env)
        .args(["message", "send", &lead.to_string(), "--text", "Hello from the CLI", "--wait"])
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains(": sent"), "{}", String::from_utf8_lossy(&out.stdout));
    let t = thread(&env, lead);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0]["direction"], "out");
    assert_eq!(deliveries(&env), 1);
    // The outcome shows in the process that sent it too.
    wait_until("the listener's log line", Duration::from_secs(10), || {
        std::fs::read_to_string(env.path("listen.log")).unwrap_or_default().contains(&format!("to lead #{lead}"))
    });
    listener.kill().unwrap();
    listener.wait().unwrap();
}

#[test]
fn a_runner_killed_between_sending_and_recording_never_sends_twice() {
    let env = env();
    let (_, lead) = setup(&env);
    let queued = json(&env, &["message", "send", &lead.to_string(), "--text", "exactly once"]);
    assert_eq!(queued["delivery"], "queued");
    // The runner aborts the process right after Telegram accepted the message.
    let mut crashing = listen(&env, true);
    let status = crashing.wait().unwrap();
    assert!(!status.success(), "the fault point aborts the process");
    assert_eq!(deliveries(&env), 1, "Telegram has it");
    assert_eq!(thread(&env, lead)[0]["delivery"], "queued", "the store never heard");
    // A new runner sends it again with the same random id: recognised, recorded, not delivered twice.
    let mut listener = listen(&env, false);
    wait_until("the message to be recorded as sent", Duration::from_secs(30), || {
        thread(&env, lead)[0]["delivery"] != "queued"
    });
    assert_eq!(deliveries(&env), 1);
    let t = thread(&env, lead);
    assert_eq!(t.iter().filter(|m| m["direction"] == "out").count(), 1);
    assert!(matches!(t[0]["delivery"].as_str(), Some("sent" | "read")), "{t:?}");
    listener.kill().unwrap();
    listener.wait().unwrap();
}

#[test]
fn blocked_and_archived_leads_are_refused_with_the_reason() {
    let env = env();
    let (_, lead) = setup(&env);
    reach(&env).args(["lead", "set", &lead.to_string(), "--status", "archived"]).assert().success();
    let out = reach(&env).args(["message", "send", &lead.to_string(), "--text", "hi"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("archived"), "{}", String::from_utf8_lossy(&out.stderr));
    reach(&env).args(["lead", "set", &lead.to_string(), "--status", "active"]).assert().success();
    reach(&env).args(["message", "dnc", &lead.to_string()]).assert().success();
    let out = reach(&env).args(["message", "send", &lead.to_string(), "--text", "hi"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("do-not-contact"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let leads = json(&env, &["lead", "list", "--flag", "do_not_contact"]);
    assert_eq!(leads.as_array().map(Vec::len), Some(1));
}

#[test]
fn a_crawl_whose_accounts_another_process_runs_is_handed_to_that_process() {
    let env = env();
    env.write("config.toml", "[messages]\npacing_ms = 1000\njitter_ms = 0\n[crawl]\npacing_ms = 60\njitter_ms = 20\n");
    let (_, _) = setup(&env);
    let mut listener = listen(&env, false);
    wait_until("the listener to run a1", Duration::from_secs(30), || {
        json(&env, &["account", "list"])[0]["runner"]["process"].as_str() == Some("listen")
    });
    // This process cannot open a1's session: the listener crawls, and the summary comes back here.
    let out = reach(&env).args(["crawl", "@demo_small", "--json"]).timeout(Duration::from_secs(120)).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["members_seen"], 150);
    // The setup's lead, or a stranger who wrote meanwhile, may be a member already.
    let (created, updated) = (summary["created"].as_u64().unwrap(), summary["updated"].as_u64().unwrap());
    assert_eq!(created + updated, 145, "150 members, less 3 bots and 2 deleted accounts");
    let leads = json(&env, &["lead", "list", "--group", "Demo Small"]);
    assert_eq!(leads.as_array().map(Vec::len), Some(145));
    listener.kill().unwrap();
    listener.wait().unwrap();
}

#[test]
fn an_account_released_by_one_process_is_taken_up_by_a_running_listener() {
    let env = env();
    setup(&env);
    let runner_pid = |env: &Env| json(env, &["account", "list"])[0]["runner"]["holder"]["pid"].as_u64();
    let mut first = listen(&env, false);
    wait_until("the first listener to run a1", Duration::from_secs(30), || {
        runner_pid(&env) == Some(u64::from(first.id()))
    });
    let mut second = listen(&env, false);
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(runner_pid(&env), Some(u64::from(first.id())), "one process at a time runs the account");
    // kill -9: the lock goes with the process.
    first.kill().unwrap();
    first.wait().unwrap();
    wait_until("the second listener to take a1 up", Duration::from_secs(15), || {
        runner_pid(&env) == Some(u64::from(second.id()))
    });
    second.kill().unwrap();
    second.wait().unwrap();
}
