//! `reach import` of a Telegram Desktop export (result.json), through the real binary.

mod common;

use common::Env;
use serde_json::{json, Value};

/// An export as Telegram Desktop writes it: personal_information first, then contacts and chats.
fn export() -> Value {
    let msg = |id: i64, from: &str, from_id: &str, text: Value| {
        json!({"id": id, "type": "message", "date": "2023-11-14T22:13:20", "date_unixtime": (1_700_000_000 + id).to_string(),
               "from": from, "from_id": from_id, "text": text})
    };
    json!({
        "about": "Here is the data you requested.",
        "personal_information": {"user_id": 1000, "first_name": "Me", "last_name": "", "phone_number": "+1 555 0100"},
        "contacts": {"about": "contacts", "list": [
            {"user_id": 2001, "first_name": "Anna", "last_name": "Kim", "phone_number": "+44 20 7946 0958",
             "date": "2023-01-02T10:00:00", "date_unixtime": "1672653600"},
            {"first_name": "Bob", "last_name": "Lee", "phone_number": "+7 916 123 45 67", "date": "2023-02-02T10:00:00"},
            {"first_name": "Nobody", "last_name": "", "phone_number": "", "date": "2023-03-02T10:00:00"}
        ]},
        "chats": {"about": "chats", "list": [
            {"name": "Anna Kim", "type": "personal_chat", "id": 2001, "messages": [
                {"id": 10, "type": "service", "date_unixtime": "1700000000", "actor": "Me", "actor_id": "user1000",
                 "action": "phone_call", "text": ""},
                msg(11, "Anna Kim", "user2001", json!("Hi there")),
                msg(12, "Me", "user1000", json!(["see ", {"type": "link", "text": "https://example.com"}, " ok"])),
                {"id": 13, "type": "message", "from": "Anna Kim", "from_id": "user2001", "text": "no date"}
            ]},
            {"name": null, "type": "personal_chat", "id": 3001, "messages": [
                msg(20, "Deleted Account", "user3001", json!("bye"))
            ]},
            {"name": "Team", "type": "private_supergroup", "id": 5001, "messages": [
                {"id": 1, "type": "service", "date_unixtime": "1700000000", "actor_id": "user4001", "action": "join_group_by_link", "text": ""},
                msg(2, "Carl Weiss", "user4001", json!("hello all")),
                msg(3, "Me", "user1000", json!("hi")),
                msg(4, "Carl Weiss", "user4001", json!("again")),
                msg(5, "Dana", "user4002", json!("x"))
            ]},
            {"name": "Saved Messages", "type": "saved_messages", "id": 1000, "messages": [msg(30, "Me", "user1000", json!("note"))]}
        ]}
    })
}

fn import(env: &Env, args: &[&str]) -> Value {
    let out = env.reach().arg("import").args(args).arg("--json").output().unwrap();
    assert!(out.status.success(), "import {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn n(v: &Value, section: &str, key: &str) -> u64 {
    v[section][key].as_u64().unwrap_or_else(|| panic!("{section}.{key} in {v}"))
}

fn lead_by_uid(env: &Env, uid: u64) -> Value {
    let all = env.json(&["lead", "list"]);
    all.as_array()
        .unwrap()
        .iter()
        .find(|l| l["telegram_user_id"].as_u64() == Some(uid))
        .cloned()
        .unwrap_or_else(|| panic!("no lead with user id {uid}"))
}

#[test]
fn an_export_becomes_leads_and_threads_and_a_second_import_changes_nothing() {
    let env = Env::new();
    let dir = env.path("Telegram Desktop/DataExport_2023-11-15");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("result.json"), serde_json::to_string_pretty(&export()).unwrap()).unwrap();
    let file = dir.join("result.json");

    let v = import(&env, &[file.to_str().unwrap()]);
    assert_eq!(v["format"], "Telegram Desktop export");
    // Anna (contact, then her chat), Bob, the deleted account; the empty contact is rejected.
    assert_eq!(n(&v, "counts", "rows"), 5);
    assert_eq!(n(&v, "counts", "created"), 3);
    assert_eq!(n(&v, "counts", "rejected"), 1);
    assert_eq!(n(&v, "messages", "personal_chats"), 2);
    assert_eq!(n(&v, "messages", "skipped_chats"), 2, "the group (no --group-members) and saved messages");
    assert_eq!(n(&v, "messages", "read"), 4);
    assert_eq!(n(&v, "messages", "imported"), 3);
    assert_eq!(n(&v, "messages", "rejected"), 1);
    assert_eq!(n(&v, "messages", "service"), 1);

    let report = std::fs::read_to_string(v["report"].as_str().unwrap()).unwrap();
    assert!(report.starts_with("record,_place,_error"), "{report}");
    assert!(report.contains("contacts.list[2]"), "{report}");
    assert!(report.contains("chats.list[0].messages[3]"), "{report}");
    assert_eq!(report.lines().count(), 3, "a header and the two rejected records: {report}");

    let anna = lead_by_uid(&env, 2001);
    assert_eq!((anna["first_name"].as_str(), anna["last_name"].as_str()), (Some("Anna"), Some("Kim")));
    assert_eq!(anna["source"], "file_upload");
    let thread = env.json(&["messages", &anna["id"].to_string()]);
    let thread = thread.as_array().unwrap();
    assert_eq!(thread.len(), 2);
    assert_eq!((thread[0]["direction"].as_str(), thread[0]["text"].as_str()), (Some("in"), Some("Hi there")));
    assert_eq!(thread[1]["direction"], "out");
    assert_eq!(thread[1]["text"], "see https://example.com ok", "entities joined into the text");
    assert_eq!(thread[1]["account"], "imported:1000", "the exporter is none of our accounts");
    assert_eq!(thread[0]["at"].as_i64(), Some(1_700_000_011_000));
    assert_eq!(lead_by_uid(&env, 3001)["status"], "archived", "a deleted account is archived");

    // The folder works as well as the file, and nothing changes the second time.
    let again = import(&env, &[dir.to_str().unwrap()]);
    assert_eq!(n(&again, "counts", "created") + n(&again, "counts", "updated"), 0, "{again}");
    assert_eq!(n(&again, "messages", "imported"), 0);
    assert_eq!(n(&again, "messages", "unchanged"), 3);
    assert_eq!(env.json(&["messages", &anna["id"].to_string()]).as_array().unwrap().len(), 2);
}

#[test]
fn group_members_become_leads_only_with_the_flag_and_the_summary_names_the_format() {
    let env = Env::new();
    let file = env.write("result.json", &export().to_string());
    let v = import(&env, &[file.to_str().unwrap(), "--group-members"]);
    // Carl once (he wrote twice), Dana; the exporter is not a lead.
    assert_eq!(n(&v, "counts", "created"), 5);
    assert_eq!(n(&v, "messages", "skipped_chats"), 1);
    let carl = lead_by_uid(&env, 4001);
    assert_eq!(carl["first_name"], "Carl");
    assert!(env.json(&["messages", &carl["id"].to_string()]).as_array().unwrap().is_empty());

    let out = env.reach().args(["import", file.to_str().unwrap()]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(text.contains("Telegram Desktop export"), "{text}");
    assert!(text.contains("unchanged 3"), "{text}");
}
