//! The real binary in tmux: start the demo, search, open a lead, change its status, quit, and
//! check the change from the CLI.

mod common;

use std::time::Duration;

use common::tmux::{have_tmux, tmux, wait_for, wait_for_exit, wait_until, wait_within, Session};
use common::Env;

/// Starts `reach --demo` on a fresh data dir in a 160x40 tmux session (in `cwd`, when given) and
/// waits for the list.
fn start_demo(name: &str, cwd: Option<&std::path::Path>) -> (Env, std::path::PathBuf, Session) {
    let env = Env::new();
    let data = env.data_dir();
    let session = Session(format!("reach-e2e-{name}-{}", std::process::id()));
    let bin = assert_cmd::cargo::cargo_bin("reach");
    let cd = cwd.map(|d| format!("cd {} && ", d.display())).unwrap_or_default();
    let cmd = format!(
        "{cd}env HOME={home} REACH_USER=tester TERM=xterm-256color {bin} --demo --data-dir {data}",
        home = env.dir.path().display(),
        bin = bin.display(),
        data = data.display()
    );
    tmux(&["new-session", "-d", "-s", &session.0, "-x", "160", "-y", "40", &cmd]);
    wait_for(&session.0, "Leads 2");
    (env, data, session)
}

#[test]
fn demo_search_open_change_status_quit_then_check_from_the_cli() {
    if !have_tmux() {
        return;
    }
    let (env, data, session) = start_demo("search", None);

    tmux(&["send-keys", "-t", &session.0, "/"]);
    tmux(&["send-keys", "-t", &session.0, "-l", "mr_2986"]);
    // The list is filtered and the best match is on the first row.
    wait_until(&session.0, "the match on the first row", |s| {
        let first_row = s.lines().skip_while(|l| !l.contains("NAME")).nth(1).unwrap_or_default();
        first_row.contains("@mr_2986") && !s.contains("Leads 2")
    });

    tmux(&["send-keys", "-t", &session.0, "Enter"]); // leave the search
    tmux(&["send-keys", "-t", &session.0, "Enter"]); // open the detail
    wait_for(&session.0, "Identifiers");
    // The history is the detail's Activity tab.
    tmux(&["send-keys", "-t", &session.0, "]"]);
    wait_for(&session.0, "created from manual");

    tmux(&["send-keys", "-t", &session.0, "s"]);
    wait_for(&session.0, "Set status");
    tmux(&["send-keys", "-t", &session.0, "j"]);
    tmux(&["send-keys", "-t", &session.0, "Enter"]);
    wait_for(&session.0, "saved #");
    wait_for(&session.0, "status active → blocked");

    tmux(&["send-keys", "-t", &session.0, "q"]);
    // The session ends when reach exits.
    wait_for_exit(&session);

    let out =
        env.reach().args(["--data-dir"]).arg(&data).args(["lead", "show", "@mr_2986", "--json"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lead: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(lead["status"], "blocked");
    let changed_by_tester = lead["history"]
        .as_array()
        .unwrap()
        .iter()
        .any(|h| h["actor"] == "tester" && h["kind"]["status_changed"]["to"] == "blocked");
    assert!(changed_by_tester, "{lead}");
}

/// "T done: M members, N new, U updated": N + U (every member a lead, new or known), once done.
fn done_members(screen: &str, target: &str) -> Option<u64> {
    let line = screen.lines().find(|l| l.contains(&format!("{target} done: ")))?;
    let rest = line.split(&format!("{target} done: ")).nth(1)?;
    let num = |word: &str| -> u64 {
        let before = rest.split(word).next().unwrap_or_default();
        before.rsplit(|c: char| !c.is_ascii_digit()).find(|s| !s.is_empty()).and_then(|n| n.parse().ok()).unwrap_or(0)
    };
    let members = num(" members");
    let known = if rest.contains(" updated") { num(" updated") } else { 0 };
    // Bots and deleted accounts are members but not leads.
    let skipped = if target == "@demo_small" { 5 } else { 0 };
    (members > 0).then_some(num(" new") + known + skipped)
}

#[test]
fn demo_crawl_panel_runs_a_live_crawl_that_the_cli_agrees_with() {
    if !have_tmux() {
        return;
    }
    let (env, data, session) = start_demo("crawl", None);
    tmux(&["send-keys", "-t", &session.0, "c"]);
    wait_for(&session.0, "Crawl a group or channel");
    tmux(&["send-keys", "-t", &session.0, "-l", "@demo_small"]);
    tmux(&["send-keys", "-t", &session.0, "Enter"]);
    // The demo's strangers write to its accounts meanwhile, and some of them are members: they
    // are leads already, updated rather than new.
    wait_until(&session.0, "the small crawl", |s| done_members(s, "@demo_small") == Some(150));
    // The new leads are in the list behind the panel.
    tmux(&["send-keys", "-t", &session.0, "Escape"]);
    wait_for(&session.0, "Demo Small");
    tmux(&["send-keys", "-t", &session.0, "c"]);
    wait_for(&session.0, "cached 0s ago");
    // The scenario: @demo_big, live, to 25,000 members (100 of them already known).
    for _ in 0.."@demo_small".len() {
        tmux(&["send-keys", "-t", &session.0, "BSpace"]);
    }
    tmux(&["send-keys", "-t", &session.0, "-l", "@demo_big"]);
    tmux(&["send-keys", "-t", &session.0, "Enter"]);
    wait_for(&session.0, "crawling @demo_big (Demo Big) · search");
    let screen =
        wait_within(&session.0, "the big crawl", Duration::from_secs(180), |s| done_members(s, "@demo_big").is_some());
    assert_eq!(done_members(&screen, "@demo_big"), Some(25_000), "{screen}");
    tmux(&["send-keys", "-t", &session.0, "q"]); // ignored by the panel: it types into the target
    tmux(&["send-keys", "-t", &session.0, "Escape"]);
    tmux(&["send-keys", "-t", &session.0, "q"]);
    wait_for_exit(&session);
    // The CLI sees the same crawl, from the cache, and the same leads.
    let out = env
        .reach()
        .args(["--telegram", "simulated", "--data-dir"])
        .arg(&data)
        .args(["crawl", "@demo_small", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((summary["cache_used"].as_bool(), summary["members_seen"].as_u64()), (Some(true), Some(150)));
    let leads = env.json(&["--data-dir", data.to_str().unwrap(), "lead", "list", "--group", "Demo Small"]);
    assert_eq!(leads.as_array().unwrap().len(), 145);
}

#[test]
fn demo_import_panel_previews_imports_and_the_cli_sees_the_leads() {
    if !have_tmux() {
        return;
    }
    let assets = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    let (env, data, session) = start_demo("import", Some(&assets));
    tmux(&["send-keys", "-t", &session.0, "i"]);
    wait_for(&session.0, "Import a CSV");
    // Tab completes the file name in the working directory.
    tmux(&["send-keys", "-t", &session.0, "-l", "sample-"]);
    tmux(&["send-keys", "-t", &session.0, "Tab"]);
    wait_for(&session.0, "File sample-leads.csv");
    tmux(&["send-keys", "-t", &session.0, "Enter"]);
    wait_for(&session.0, "dry run: 12 rows → 10 new, 1 updated, 0 unchanged, 1 rejected");
    tmux(&["send-keys", "-t", &session.0, "Enter"]);
    wait_for(&session.0, "12 rows: 10 created, 1 updated, 0 unchanged, 1 rejected");
    wait_for(&session.0, "rejected rows with the reason:");
    tmux(&["send-keys", "-t", &session.0, "Enter"]);
    tmux(&["send-keys", "-t", &session.0, "q"]);
    wait_for_exit(&session);
    let imports = env.json(&["--data-dir", data.to_str().unwrap(), "imports"]);
    assert_eq!(
        (imports[0]["created"].as_u64(), imports[0]["state"].as_str()),
        (Some(10), Some("completed")),
        "{imports}"
    );
}

#[test]
fn demo_accounts_panel_logs_an_account_in_with_code_and_password() {
    if !have_tmux() {
        return;
    }
    let (env, data, session) = start_demo("login", None);
    tmux(&["send-keys", "-t", &session.0, "A"]);
    wait_for(&session.0, "demo-2");
    wait_for(&session.0, "connected");
    tmux(&["send-keys", "-t", &session.0, "a"]);
    tmux(&["send-keys", "-t", &session.0, "-l", "work"]);
    tmux(&["send-keys", "-t", &session.0, "Tab"]);
    // The simulated world gives phones ending in 9 a two-step password.
    tmux(&["send-keys", "-t", &session.0, "-l", "+15550009"]);
    tmux(&["send-keys", "-t", &session.0, "Enter"]);
    wait_for(&session.0, "sent a login code to +15550009");
    tmux(&["send-keys", "-t", &session.0, "-l", "00000"]);
    tmux(&["send-keys", "-t", &session.0, "Enter"]);
    wait_for(&session.0, "PHONE_CODE_INVALID; try again");
    tmux(&["send-keys", "-t", &session.0, "-l", "12345"]);
    tmux(&["send-keys", "-t", &session.0, "Enter"]);
    wait_for(&session.0, "two-step verification");
    tmux(&["send-keys", "-t", &session.0, "-l", "demo"]);
    let screen = wait_for(&session.0, "••••");
    let line = screen.lines().find(|l| l.contains("Password ")).unwrap_or_default();
    assert!(line.contains("••••") && !line.contains("demo"), "the password is never shown: {screen}");
    tmux(&["send-keys", "-t", &session.0, "Enter"]);
    wait_for(&session.0, "account work logged in");
    tmux(&["send-keys", "-t", &session.0, "Escape"]);
    tmux(&["send-keys", "-t", &session.0, "q"]);
    wait_for_exit(&session);
    let accounts = env.json(&["--telegram", "simulated", "--data-dir", data.to_str().unwrap(), "account", "list"]);
    let work = accounts.as_array().unwrap().iter().find(|a| a["name"] == "work").cloned().unwrap_or_default();
    assert_eq!(
        (work["phone"].as_str(), work["health"]["state"].as_str()),
        (Some("+15550009"), Some("connected")),
        "{accounts}"
    );
}

/// The README's promise: the TUI stays open while scripts write, and shows what they write.
#[test]
fn an_open_tui_shows_another_processs_writes_within_a_second() {
    if !have_tmux() {
        return;
    }
    let (env, data, session) = start_demo("live", None);
    let cli = |args: &[&str]| {
        let out = env.reach().env("REACH_DATA_DIR", &data).args(args).output().expect("reach runs");
        assert!(out.status.success(), "reach {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    // The demo's strangers write to its accounts as it runs: the count only grows meanwhile.
    let count = |s: &str| -> u64 {
        let after = s.split("Leads ").nth(1).unwrap_or_default();
        after.split(|c: char| !c.is_ascii_digit()).next().and_then(|n| n.parse().ok()).unwrap_or(0)
    };
    let before = count(&tmux(&["capture-pane", "-p", "-t", &session.0]));
    assert!(before >= 2792, "{before}");
    cli(&["lead", "add", "--username", "newbie_from_cli", "--first-name", "Newbie"]);
    let screen = wait_within(&session.0, "the new lead", Duration::from_secs(3), |s| {
        count(s) > before && s.contains("@newbie_from_cli")
    });
    assert!(screen.contains("Newbie"), "{screen}");
    // A change to a lead already in view: its row follows.
    cli(&["lead", "set", "@newbie_from_cli", "--status", "blocked"]);
    wait_within(&session.0, "the status change", Duration::from_secs(3), |s| {
        s.lines().any(|l| l.contains("@newbie_from_cli") && l.contains("blocked"))
    });
    cli(&["lead", "delete", "@newbie_from_cli"]);
    wait_within(&session.0, "the delete", Duration::from_secs(3), |s| !s.contains("@newbie_from_cli"));
    tmux(&["send-keys", "-t", &session.0, "q"]);
    wait_for_exit(&session);
}

/// The demo's conversations: the inbox, a thread, a reply from the composer that goes out through
/// the account the TUI runs, and the CLI reading the same thread afterwards.
#[test]
fn demo_inbox_thread_and_a_reply_sent_by_the_account_the_tui_runs() {
    if !have_tmux() {
        return;
    }
    let (env, data, session) = start_demo("talk", None);
    // The TUI runs the demo's accounts: the conversations under way arrive by catch-up.
    wait_for(&session.0, "interaction");
    tmux(&["send-keys", "-t", &session.0, "I"]);
    wait_until(&session.0, "the inbox", |s| s.contains("Inbox") && s.contains("[1]"));
    tmux(&["send-keys", "-t", &session.0, "Enter"]);
    wait_for(&session.0, "Messages");
    tmux(&["send-keys", "-t", &session.0, "m"]);
    wait_for(&session.0, "Message to");
    tmux(&["send-keys", "-t", &session.0, "-l", "Hello from the e2e test"]);
    tmux(&["send-keys", "-t", &session.0, "C-s"]);
    wait_within(&session.0, "our message, sent", Duration::from_secs(20), |s| {
        // Our message's own header, the line above its text (the thread has campaign messages too).
        let lines: Vec<&str> = s.lines().collect();
        lines
            .windows(2)
            .any(|w| w[1].contains("Hello from the e2e test") && w[0].contains("from demo-") && w[0].contains("✓"))
    });
    tmux(&["send-keys", "-t", &session.0, "Escape"]);
    tmux(&["send-keys", "-t", &session.0, "q"]);
    wait_for_exit(&session);
    let d = data.to_str().unwrap();
    // The newest unread thread is a stranger's or a campaign recipient's reply.
    let leads = env.json(&["--data-dir", d, "lead", "list", "--source", "interaction", "--source", "campaign"]);
    let ours: Vec<serde_json::Value> = leads
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|l| env.json(&["--data-dir", d, "messages", &l["id"].to_string()]).as_array().cloned().unwrap())
        .filter(|m| m["text"] == "Hello from the e2e test")
        .collect();
    assert_eq!(ours.len(), 1, "{ours:?}");
    assert!(matches!(ours[0]["delivery"].as_str(), Some("sent" | "read")), "{ours:?}");
    // The TUI gave its accounts back when it quit.
    let accounts = env.json(&["--telegram", "simulated", "--data-dir", d, "account", "list"]);
    assert!(accounts.as_array().unwrap().iter().all(|a| a["runner"].is_null()), "{accounts}");
}
