//! The lead CLI end to end, through the real binary.

mod common;

use common::Env;
use predicates::prelude::*;

#[test]
fn two_adds_in_different_case_then_a_phone_in_another_format_leave_one_lead_with_both_merges() {
    let env = Env::new();
    let config = env.write("config.toml", "default_region = \"RU\"\n");
    let reach = |args: &[&str]| {
        let mut c = env.reach();
        c.arg("--config").arg(&config).args(args);
        c
    };
    reach(&["lead", "add", "--username", "Alice_K", "--phone", "+7 916 123-45-67"])
        .assert()
        .success()
        .stdout("created #1\n");
    reach(&["lead", "add", "--username", "alice_k", "--first-name", "Alice"])
        .assert()
        .success()
        .stdout("updated #1 (matched on username)\n");
    reach(&["lead", "add", "--phone", "8 (916) 123 45 67", "--last-name", "Kim"])
        .assert()
        .success()
        .stdout("updated #1 (matched on phone)\n");

    let list = env.json(&["lead", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let shown = env.json(&["lead", "show", "@ALICE_K"]);
    assert_eq!(shown["first_name"], "Alice");
    assert_eq!(shown["last_name"], "Kim");
    assert_eq!(shown["phone"]["e164"], "+79161234567");
    let merges: Vec<&str> = shown["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|h| h["kind"]["merged"]["matched_on"].as_str())
        .collect();
    assert_eq!(merges, ["username", "phone"]);

    reach(&["lead", "show", "+79161234567"]).assert().success().stdout(
        predicate::str::contains("merged by dedup from manual, matched on username")
            .and(predicate::str::contains("merged by dedup from manual, matched on phone")),
    );
}

#[test]
fn set_changes_status_tags_fields_and_notes_and_list_filters() {
    let env = Env::new();
    env.reach()
        .args(["lead", "add", "--username", "lead_one", "--tag", "vip", "--field", "score=3"])
        .assert()
        .success();
    env.reach()
        .args(["lead", "add", "--username", "lead_two", "--tag", "cold", "--priority", "high"])
        .assert()
        .success();
    env.reach()
        .args([
            "lead",
            "set",
            "@lead_one",
            "--status",
            "blocked",
            "--tag",
            "+warm,-vip",
            "--field",
            "score=",
            "--note",
            "asked to stop",
        ])
        .assert()
        .success()
        .stdout("updated #1\n");
    let one = env.json(&["lead", "show", "1"]);
    assert_eq!(one["status"], "blocked");
    assert_eq!(one["tags"], serde_json::json!(["warm"]));
    assert_eq!(one["custom_fields"], serde_json::json!({}));
    let history = one["history"].as_array().unwrap();
    assert!(history.iter().any(|h| h["kind"]["note_added"]["text"] == "asked to stop"));
    assert!(history.iter().all(|h| h["actor"] == "tester"));

    let blocked = env.json(&["lead", "list", "--status", "blocked"]);
    assert_eq!(blocked.as_array().unwrap().len(), 1);
    let high = env.json(&["lead", "list", "--priority", "high", "--tag", "cold"]);
    assert_eq!(high[0]["username"], "lead_two");
    let sorted = env.json(&["lead", "list", "--sort", "-id", "--limit", "1"]);
    assert_eq!(sorted[0]["id"], 2);

    env.reach().args(["lead", "set", "1", "--status", "active"]).assert().success();
    env.reach().args(["lead", "set", "1", "--status", "active"]).assert().success().stdout("unchanged #1\n");
}

#[test]
fn delete_removes_the_lead() {
    let env = Env::new();
    env.reach().args(["lead", "add", "--user-id", "777", "--username", "delete_me"]).assert().success();
    env.reach().args(["lead", "delete", "uid:777"]).assert().success().stdout("deleted #1\n");
    env.reach()
        .args(["lead", "show", "@delete_me"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("no lead matches"));
}

#[test]
fn exit_codes_and_errors_on_stderr() {
    let env = Env::new();
    env.reach()
        .args(["lead", "add", "--username", "ab"])
        .assert()
        .code(1)
        .stdout("")
        .stderr(predicate::str::contains("username \"ab\"").and(predicate::str::contains("5-32 characters")));
    env.reach()
        .args(["lead", "add", "--phone", "call me"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("phone \"call me\""));
    env.reach()
        .args(["lead", "add", "--first-name", "Nobody"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("needs a telegram user id"));
    env.reach().args(["lead", "frobnicate"]).assert().code(2);
    env.reach().args(["lead", "list", "--status", "sleeping"]).assert().code(2);
    env.reach()
        .args(["lead", "add", "--username", "valid_name", "--field", "novalue"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("KEY=VALUE"));
    env.reach().args(["lead", "show", "42"]).assert().code(1);
    // No subcommand opens the TUI, which needs a terminal.
    env.reach().assert().code(1).stderr(predicate::str::contains("needs a terminal"));
}

#[test]
fn bad_config_names_the_file_and_key() {
    let env = Env::new();
    let cfg = env.write("bad.toml", "default_region = \"RU\"\ncolour = \"blue\"\n");
    env.reach()
        .arg("--config")
        .arg(&cfg)
        .args(["lead", "list"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("bad.toml").and(predicate::str::contains("colour")));
    let cfg = env.write("bad2.toml", "[crawl]\ncache_ttl_hours = -3\n");
    env.reach()
        .arg("--config")
        .arg(&cfg)
        .args(["stats"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("cache_ttl_hours"));
    env.reach()
        .arg("--config")
        .arg(env.path("missing.toml"))
        .args(["stats"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("missing.toml"));
}

#[test]
fn the_data_dir_comes_from_the_flag_then_env_then_config() {
    let env = Env::new();
    let flag_dir = env.path("by-flag");
    env.reach().arg("--data-dir").arg(&flag_dir).args(["lead", "add", "--username", "flagged"]).assert().success();
    assert!(flag_dir.join("reach.redb").exists());
    let cfg_dir = env.path("by-config");
    let cfg = env.write("c.toml", &format!("data_dir = {:?}\n", cfg_dir.display().to_string()));
    env.reach()
        .env_remove("REACH_DATA_DIR")
        .arg("--config")
        .arg(&cfg)
        .args(["lead", "add", "--username", "configured"])
        .assert()
        .success();
    assert!(cfg_dir.join("reach.redb").exists());
    // With nothing set, the XDG data dir is used.
    env.reach().env_remove("REACH_DATA_DIR").args(["lead", "add", "--username", "defaulted"]).assert().success();
    assert!(env.path("xdg-data/reach/reach.redb").exists());
}

#[test]
fn workspaces_follow_the_acting_user() {
    let env = Env::new();
    env.reach().args(["lead", "add", "--username", "same_person"]).assert().success();
    env.reach()
        .env("REACH_USER", "other")
        .args(["lead", "add", "--username", "same_person"])
        .assert()
        .success()
        .stdout("created #2\n");
    env.reach().env("REACH_USER", "other").args(["lead", "show", "1"]).assert().code(1);
}

#[test]
fn stats_count_active_leads_in_breakdowns() {
    let env = Env::new();
    env.reach().args(["lead", "add", "--username", "stat_one", "--country", "de"]).assert().success();
    env.reach()
        .args(["lead", "add", "--username", "stat_two", "--country", "DE", "--status", "blocked"])
        .assert()
        .success();
    env.reach().args(["lead", "add", "--username", "stat_three", "--status", "archived"]).assert().success();
    let s = env.json(&["stats"]);
    assert_eq!(s["total"], 3);
    assert_eq!(s["active"], 1);
    assert_eq!(s["by_status"]["blocked"], 1);
    assert_eq!(s["by_country"]["DE"], 1);
    env.reach().arg("stats").assert().success().stdout(predicate::str::contains("blocked rate 33.3%"));
}

#[test]
fn export_csv_and_json_with_filters() {
    let env = Env::new();
    env.reach()
        .args([
            "lead",
            "add",
            "--username",
            "export_me",
            "--first-name",
            "Zoë",
            "--tag",
            "vip",
            "--tag",
            "warm",
            "--field",
            "Deal Size=1,000",
            "--group",
            "Rust, RU",
        ])
        .assert()
        .success();
    env.reach().args(["lead", "add", "--username", "skip_me", "--status", "archived"]).assert().success();
    let out = env.path("out.csv");
    env.reach().args(["export", "--format", "csv", "--status", "active", "--out"]).arg(&out).assert().success();
    let text = std::fs::read_to_string(&out).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    assert_eq!(headers.get(headers.len() - 1), Some("deal_size"));
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 1);
    let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
    assert_eq!(&rows[0][col("first_name")], "Zoë");
    assert_eq!(&rows[0][col("tags")], "vip,warm");
    assert_eq!(&rows[0][col("deal_size")], "1,000");
    assert_eq!(&rows[0][col("group_name")], "Rust, RU");

    let json = env.reach().args(["export", "--format", "json"]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
}

#[test]
fn segments_are_saved_filters_with_live_counts_that_never_count_archived_leads() {
    let env = Env::new();
    for (name, status, tag) in [
        ("seg_anna", "active", "vip"),
        ("seg_boris", "blocked", "vip"),
        ("seg_clara", "archived", "vip"),
        ("seg_dora", "active", "cold"),
    ] {
        let out =
            env.reach().args(["lead", "add", "--username", name, "--status", status, "--tag", tag]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let saved = env.reach().args(["segment", "save", "VIPs", "--tag", "vip"]).output().unwrap();
    assert!(saved.status.success(), "{}", String::from_utf8_lossy(&saved.stderr));
    env.reach().args(["segment", "save", "Anna", "--query", "anna"]).assert().success();
    let list = env.json(&["segment", "list"]);
    let counts: Vec<(String, u64)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["name"].as_str().unwrap().to_string(), s["leads"].as_u64().unwrap()))
        .collect();
    assert_eq!(counts, [("Anna".to_string(), 1), ("VIPs".to_string(), 2)], "the archived VIP is not counted");
    env.reach().args(["lead", "set", "@seg_dora", "--tag", "+vip"]).assert().success();
    let list = env.json(&["segment", "list"]);
    assert_eq!(list[1]["leads"], 3, "counts are live");
    env.reach().args(["segment", "delete", "Anna"]).assert().success();
    let missing = env.reach().args(["segment", "delete", "Anna"]).output().unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(env.json(&["segment", "list"]).as_array().unwrap().len(), 1);
}
