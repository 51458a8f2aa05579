//! Accounts and crawls through the binary, against the simulated Telegram.

mod common;

use common::Env;

/// Fast pacing: the simulated Telegram allows 20 requests a second per account.
fn env() -> Env {
    let env = Env::new();
    env.write("config.toml", "[crawl]\npacing_ms = 60\njitter_ms = 20\n");
    env
}

fn reach(env: &Env) -> assert_cmd::Command {
    env.sim()
}

fn json(env: &Env, args: &[&str]) -> serde_json::Value {
    env.sim_json(args)
}

#[test]
fn accounts_log_in_with_a_code_and_a_password_and_show_their_health() {
    let env = env();
    let out = reach(&env).args(["crawl", "@demo_small"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("reach account add"), "no accounts yet is explained");

    let wrong_then_right = reach(&env)
        .args(["account", "add", "main", "--phone", "+15550001"])
        .write_stdin("999\n12345\n")
        .output()
        .unwrap();
    assert!(wrong_then_right.status.success(), "{}", String::from_utf8_lossy(&wrong_then_right.stderr));
    assert!(String::from_utf8_lossy(&wrong_then_right.stderr).contains("PHONE_CODE_INVALID; try again"));
    let two_step = reach(&env)
        .args(["account", "add", "backup", "--phone", "+15550009"])
        .write_stdin("12345\ndemo\n")
        .output()
        .unwrap();
    assert!(two_step.status.success(), "{}", String::from_utf8_lossy(&two_step.stderr));
    let gave_up =
        reach(&env).args(["account", "add", "third", "--phone", "+15550003"]).write_stdin("").output().unwrap();
    assert_eq!(gave_up.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&gave_up.stderr).contains("login cancelled"));

    let list = json(&env, &["account", "list"]);
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["backup", "main"]);
    assert!(list.as_array().unwrap().iter().all(|a| a["health"]["state"] == "connected"));
    let text = reach(&env).args(["account", "list"]).output().unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("connected"));
}

#[test]
fn crawls_create_leads_use_the_cache_and_join_invites_only_when_asked() {
    let env = env();
    let login =
        reach(&env).args(["account", "add", "main", "--phone", "+15550001"]).write_stdin("12345\n").output().unwrap();
    assert!(login.status.success());

    let first = json(&env, &["crawl", "@demo_small"]);
    assert_eq!(first["members_seen"], 150);
    assert_eq!(first["created"], 145);
    assert_eq!((first["skipped_bots"].as_u64(), first["skipped_deleted"].as_u64()), (Some(3), Some(2)));
    assert_eq!(first["methods"], serde_json::json!(["participants"]));
    assert_eq!(first["cache_used"], false);

    let again = json(&env, &["crawl", "https://t.me/demo_small"]);
    assert_eq!(again["cache_used"], true);
    assert_eq!(again["requests"], 0);
    let text = reach(&env).args(["crawl", "@demo_small"]).output().unwrap();
    assert!(String::from_utf8_lossy(&text.stdout).contains("from the cache"));
    let refreshed = json(&env, &["crawl", "@demo_small", "--refresh"]);
    assert_eq!((refreshed["cache_used"].as_bool(), refreshed["created"].as_u64()), (Some(false), Some(0)));

    let lead = json(&env, &["lead", "list", "--group", "Demo Small"]);
    assert_eq!(lead.as_array().unwrap().len(), 145);
    assert_eq!(lead[0]["source"], "crawling");

    let private = reach(&env).args(["crawl", "t.me/+demoinvite"]).output().unwrap();
    assert_eq!(private.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&private.stderr).contains("--join"));
    let joined = json(&env, &["crawl", "t.me/+demoinvite", "--join"]);
    assert_eq!(joined["created"], 300);

    let channel = json(&env, &["crawl", "@demo_channel"]);
    assert_eq!(channel["methods"], serde_json::json!(["linked"]));
    assert_eq!(channel["created"], 1_200);

    let bad = reach(&env).args(["crawl", "not a target"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("expected @name"));

    let crawls = json(&env, &["crawls"]);
    assert_eq!(crawls.as_array().unwrap().len(), 3);
    let table = reach(&env).arg("crawls").output().unwrap();
    assert!(String::from_utf8_lossy(&table.stdout).contains("cached,"));
}
