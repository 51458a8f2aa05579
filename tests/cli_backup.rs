//! `reach backup FILE` through the real binary: a consistent copy made while another process writes.

mod common;

use common::Env;
use reach::store::{Filter, LeadRef, Store};

#[test]
fn a_backup_taken_while_an_import_runs_is_a_consistent_store() {
    let env = Env::new();
    env.reach().args(["lead", "add", "--username", "before_backup"]).assert().success();
    let mut csv = String::from("username,first_name,phone_number\n");
    for i in 0..20_000 {
        csv.push_str(&format!("bulk_{i:05},Bulk,+7916{i:07}\n"));
    }
    let file = env.write("bulk.csv", &csv);
    let mut import = env
        .reach_std()
        .args(["import"])
        .arg(&file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the import starts");
    let copy = env.path("copy.redb");
    let out = env.json(&["backup", copy.to_str().expect("utf-8 path")]);
    assert!(import.wait().expect("the import ends").success());
    let copied = out["leads"].as_u64().expect("a lead count");
    assert!((1..=20_001).contains(&copied), "{out}");

    // The copy opens as a store of its own, and its indexes agree with its leads.
    let store = Store::open(&copy).expect("the backup opens");
    let mut leads = Vec::new();
    store.scan("u:tester", &Filter::default(), |l| leads.push(l)).expect("scan");
    assert_eq!(leads.len() as u64, copied);
    for l in &leads {
        let by_name = store.resolve("u:tester", &LeadRef::Username(l.username.clone().unwrap_or_default()));
        assert_eq!(by_name.expect("read").map(|f| f.id), Some(l.id), "the username index holds #{}", l.id);
    }
    assert_eq!(store.feed_seq().expect("feed"), out["feed_seq"].as_u64().expect("a sequence number"));
    // And the store it was taken from was never held up: the import committed everything.
    assert_eq!(env.json(&["stats"])["total"].as_u64(), Some(20_001));
}

#[test]
fn a_backup_to_a_place_that_cannot_be_written_says_so_and_leaves_nothing() {
    let env = Env::new();
    env.reach().args(["lead", "add", "--username", "someone"]).assert().success();
    let out = env.reach().args(["backup", "/nonexistent-dir/copy.redb"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent-dir/copy.redb"));
}
