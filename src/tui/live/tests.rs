//! The shared set follows the store, shares its chunks between versions, and tells a session
//! what changed since its own version.

use super::*;
use crate::model::{LeadInput, Source};
use crate::store::{WriteCtx, WriteOp};

fn add(store: &Store, username: &str) -> u64 {
    let c = LeadInput { username: Some(username.into()), ..Default::default() }.validate(Source::Manual, None).unwrap();
    let ctx = WriteCtx { workspace: "u:ann".into(), actor: "ann".into() };
    store.write_one(ctx, WriteOp::Upsert(c)).unwrap().id().expect("created")
}

fn ctx() -> WriteCtx {
    WriteCtx { workspace: "u:ann".into(), actor: "ann".into() }
}

/// Waits for a version after `after`.
fn next(set: &LiveSet, woken: &Receiver<()>, after: u64) -> Since {
    for _ in 0..100 {
        let _ = woken.recv_timeout(Duration::from_millis(100));
        match set.since(after) {
            Since::Same => continue,
            other => return other,
        }
    }
    panic!("no version after {after}");
}

#[test]
fn one_set_per_workspace_follows_every_write_and_shares_what_a_write_did_not_touch() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).unwrap();
    let first: Vec<u64> = (0..3000).map(|i| add(&store, &format!("lead_{i}"))).collect();
    let sets = LiveSets::default();
    let (a, b) = (sets.open(&store, "u:ann"), sets.open(&store, "u:ann"));
    assert!(Arc::ptr_eq(&a, &b), "two views of a workspace share one set");
    assert!(!Arc::ptr_eq(&a, &sets.open(&store, "u:bob")), "another workspace has its own");
    assert_eq!(a.wait_ready(Duration::from_secs(10)), Phase::Ready);
    let (wake, woken) = std::sync::mpsc::sync_channel(1);
    a.subscribe(wake);
    let before = a.current();
    assert_eq!(before.rows.len(), 3000);
    assert_eq!(before.index.len(), 3000);

    // Someone else writes: one edit and one new lead.
    let edited = first[10];
    let cand = LeadInput { tags: vec!["vip".into()], ..Default::default() }.validate(Source::Manual, None).unwrap();
    store.write_one(ctx(), WriteOp::Edit { id: edited, cand }).unwrap();
    let fresh = add(&store, "newcomer");
    let mut at = before.number;
    let mut seen = Vec::new();
    while !(seen.contains(&edited) && seen.contains(&fresh)) {
        match next(&a, &woken, at) {
            Since::Changed { version, changed, gone } => {
                assert!(gone.is_empty());
                seen.extend(changed);
                at = version.number;
            }
            _ => panic!("a list of changes was expected"),
        }
    }
    let after = a.current();
    assert_eq!(after.rows.len(), 3001);
    assert_eq!(after.rows.get(edited).map(|r| r.tags().count()), Some(1));
    assert_eq!(before.rows.get(edited).map(|r| r.tags().count()), Some(0), "the old version never changed");
    let (shared, chunks) = after.rows.shared_chunks(&before.rows);
    assert!(shared + 2 >= chunks, "only the touched chunks were copied: {shared} of {chunks} shared");
    let (shared, chunks) = after.index.shared_chunks(&before.index);
    assert!(shared + 2 >= chunks, "the index too: {shared} of {chunks} shared");
    let mut index = after.index.clone();
    assert_eq!(index.search("newcomer", 1).first().map(|h| h.id), Some(fresh));

    // Deleted: gone from the next version, and from its index.
    store.write_one(ctx(), WriteOp::Delete { id: fresh }).unwrap();
    match next(&a, &woken, at) {
        Since::Changed { version, gone, .. } => {
            assert_eq!(gone, [fresh]);
            assert!(version.rows.get(fresh).is_none());
            let mut index = version.index.clone();
            assert!(index.search("newcomer", 5).iter().all(|h| h.id != fresh));
        }
        _ => panic!("a list of changes was expected"),
    }

    // Nobody views it any more: the set goes, and the next view scans afresh.
    drop((a, b, before, after, index));
    // (An updater holds its set for the moment it publishes a version.)
    let gone = (0..100).any(|_| {
        std::thread::sleep(Duration::from_millis(20));
        sets.open_count() == 0
    });
    assert!(gone, "nobody holds the sets");
}

#[test]
fn a_session_further_behind_than_the_log_takes_the_newest_version_whole() {
    let set = LiveSet::of_leads("u:ann", &[]);
    let v0 = set.current();
    let mut v = v0.clone();
    for n in 1..=5u64 {
        v.number = n;
        set.publish(v.clone(), vec![n, n + 100], vec![]);
    }
    // Eight ids kept: versions 2..5 reach back to 1.
    match set.since(1) {
        Since::Changed { changed, .. } => assert_eq!(changed, [2, 102, 3, 103, 4, 104, 5, 105]),
        _ => panic!("version 1 is still in the log"),
    }
    assert!(matches!(set.since(0), Since::Whole(v) if v.number == 5), "version 0 fell out of the log");
    assert!(matches!(set.since(5), Since::Same));
}

#[test]
fn a_failed_set_is_not_handed_out_again() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).unwrap();
    add(&store, "lead_one");
    let sets = LiveSets::default();
    let first = sets.open(&store, "u:ann");
    assert_eq!(first.wait_ready(Duration::from_secs(10)), Phase::Ready);
    first.set_phase(Phase::Failed("the disk went away".into()));
    let again = sets.open(&store, "u:ann");
    assert!(!Arc::ptr_eq(&first, &again), "a view loading again gets a new set");
    assert_eq!(again.wait_ready(Duration::from_secs(10)), Phase::Ready);
    assert_eq!(again.current().rows.len(), 1);
    // Another store's workspace of the same name is another set.
    let other_dir = tempfile::tempdir().unwrap();
    let other = Store::open_dir(other_dir.path()).unwrap();
    let theirs = sets.open(&other, "u:ann");
    assert!(!Arc::ptr_eq(&again, &theirs));
    assert_eq!(theirs.wait_ready(Duration::from_secs(10)), Phase::Ready);
    assert_eq!(theirs.current().rows.len(), 0);
}
