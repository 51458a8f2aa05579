use super::*;
use crate::model::{ActivityKind, LeadInput, MatchKey, Source, Status};

fn ctx(ws: &str) -> WriteCtx {
    WriteCtx { workspace: ws.into(), actor: "tester".into() }
}

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).unwrap();
    (dir, store)
}

fn cand(uid: Option<u64>, username: Option<&str>, phone: Option<&str>) -> crate::model::Candidate {
    LeadInput {
        telegram_user_id: uid.map(|u| u.to_string()),
        username: username.map(Into::into),
        phone: phone.map(Into::into),
        ..Default::default()
    }
    .validate(Source::Manual, Some("RU"))
    .unwrap()
}

fn upsert(store: &Store, ws: &str, c: crate::model::Candidate) -> Outcome {
    store.write_one(ctx(ws), WriteOp::Upsert(c)).unwrap()
}

const WS: &str = "u:tester";

fn lead_template() -> crate::model::Lead {
    let c = cand(Some(1), None, None);
    merge::create(0, WS, "tester", 0, c, merge::Withheld::default()).0
}

#[test]
fn each_identifier_alone_matches() {
    let (_d, s) = open();
    let Outcome::Created { id } = upsert(&s, WS, cand(Some(1001), Some("alice_k"), Some("+79161234567"))) else {
        panic!()
    };
    assert_eq!(upsert(&s, WS, cand(Some(1001), None, None)), Outcome::Unchanged { id });
    assert_eq!(upsert(&s, WS, cand(None, Some("alice_k"), None)), Outcome::Unchanged { id });
    assert_eq!(upsert(&s, WS, cand(None, None, Some("+79161234567"))), Outcome::Unchanged { id });
    assert_eq!(s.count(WS).unwrap(), 1);
}

#[test]
fn every_pair_of_identifiers_matches_the_same_lead() {
    let (_d, s) = open();
    let Outcome::Created { id } = upsert(&s, WS, cand(Some(7), Some("bob_smith"), Some("+442079460958"))) else {
        panic!()
    };
    for c in [
        cand(Some(7), Some("bob_smith"), None),
        cand(Some(7), None, Some("+442079460958")),
        cand(None, Some("bob_smith"), Some("+442079460958")),
    ] {
        assert_eq!(upsert(&s, WS, c).id(), Some(id));
    }
    assert_eq!(s.count(WS).unwrap(), 1);
}

#[test]
fn match_order_is_user_id_then_username_then_phone() {
    let (_d, s) = open();
    let a = upsert(&s, WS, cand(Some(1), None, None)).id().unwrap();
    let b = upsert(&s, WS, cand(None, Some("user_b"), None)).id().unwrap();
    let c = upsert(&s, WS, cand(None, None, Some("+79161234567"))).id().unwrap();
    assert_eq!(upsert(&s, WS, cand(None, Some("user_b"), Some("+79161234567"))).id(), Some(b));
    assert_eq!(upsert(&s, WS, cand(Some(1), Some("user_b"), None)).id(), Some(a));
    assert_eq!(s.count(WS).unwrap(), 3);
    // The phone still belongs to c: nothing was fused.
    assert_eq!(s.resolve(WS, &LeadRef::Phone("+79161234567".into())).unwrap().unwrap().id, c);
}

#[test]
fn username_matches_case_insensitively_and_phone_across_formats() {
    let (_d, s) = open();
    let id = upsert(&s, WS, cand(None, Some("Alice_K"), None)).id().unwrap();
    assert_eq!(
        upsert(&s, WS, cand(None, Some("@alice_k"), Some("8 (916) 123-45-67"))),
        Outcome::Updated { id, matched_on: Some(MatchKey::Username) }
    );
    assert_eq!(upsert(&s, WS, cand(None, None, Some("+7 916 123 45 67"))).id(), Some(id));
    assert_eq!(upsert(&s, WS, cand(None, None, Some("0079161234567"))).id(), Some(id));
    assert_eq!(s.count(WS).unwrap(), 1);
    let hist = s.history(&s.get(WS, id).unwrap().unwrap()).unwrap();
    assert!(matches!(hist[0].kind, ActivityKind::Created { source: Source::Manual, .. }));
    assert!(hist.iter().any(|a| matches!(a.kind, ActivityKind::Merged { matched_on: MatchKey::Username, .. })));
}

#[test]
fn conflict_updates_first_match_only_and_is_recorded() {
    let (_d, s) = open();
    let a = upsert(&s, WS, cand(Some(100), None, None)).id().unwrap();
    let b = upsert(&s, WS, cand(None, None, Some("+79161234567"))).id().unwrap();
    let out = upsert(&s, WS, cand(Some(100), None, Some("+79161234567")));
    assert_eq!(out, Outcome::Updated { id: a, matched_on: Some(MatchKey::TelegramUserId) });
    assert!(s.get(WS, a).unwrap().unwrap().phone.is_none(), "A does not take B's phone");
    assert_eq!(s.get(WS, b).unwrap().unwrap().phone_key(), Some("+79161234567"));
    let conflict = |id| {
        s.history(&s.get(WS, id).unwrap().unwrap())
            .unwrap()
            .into_iter()
            .any(|e| matches!(e.kind, ActivityKind::Conflict { .. }))
    };
    assert!(conflict(a));
    assert!(conflict(b));
    assert_eq!(s.count(WS).unwrap(), 2);
}

#[test]
fn a_username_held_by_a_different_user_id_is_not_a_match() {
    let (_d, s) = open();
    let old = upsert(&s, WS, cand(Some(1), Some("recycled_name"), None)).id().unwrap();
    let out = upsert(&s, WS, cand(Some(2), Some("recycled_name"), None));
    let Outcome::Created { id: new } = out else { panic!("{out:?}") };
    assert_ne!(old, new);
    assert_eq!(s.get(WS, old).unwrap().unwrap().username.as_deref(), Some("recycled_name"));
    let conflicts = |id| {
        s.history(&s.get(WS, id).unwrap().unwrap())
            .unwrap()
            .iter()
            .filter(|e| matches!(&e.kind, ActivityKind::Conflict { .. }))
            .count()
    };
    assert_eq!(conflicts(new), 1, "the conflict is recorded once in the new lead");
    assert_eq!(conflicts(old), 1, "and once in the lead that keeps the name");
}

#[test]
fn changed_username_moves_the_index() {
    let (_d, s) = open();
    let id = upsert(&s, WS, cand(Some(5), Some("old_name"), None)).id().unwrap();
    upsert(&s, WS, cand(Some(5), Some("new_name"), None));
    assert!(s.resolve(WS, &LeadRef::Username("old_name".into())).unwrap().is_none());
    assert_eq!(s.resolve(WS, &LeadRef::Username("NEW_NAME".into())).unwrap().unwrap().id, id);
    // The freed name can now be taken by someone else without touching lead `id`.
    let other = upsert(&s, WS, cand(None, Some("old_name"), None)).id().unwrap();
    assert_ne!(other, id);
}

#[test]
fn a_batch_dedups_against_itself() {
    let (_d, s) = open();
    let ops = vec![
        WriteOp::Upsert(cand(None, Some("dup_user"), None)),
        WriteOp::Upsert(cand(None, Some("DUP_USER"), Some("+79161234567"))),
        WriteOp::Upsert(cand(Some(9), None, Some("89161234567"))),
    ];
    let out = s.write(ctx(WS), ops).unwrap();
    let id = out[0].id().unwrap();
    assert!(out.iter().all(|o| o.id() == Some(id)), "{out:?}");
    let lead = s.get(WS, id).unwrap().unwrap();
    assert_eq!(lead.telegram_user_id, Some(9));
    assert_eq!(lead.history_len as usize + 1, s.history(&lead).unwrap().len());
    assert_eq!(s.resolve(WS, &LeadRef::UserId(9)).unwrap().unwrap().id, id);
}

#[test]
fn history_is_preserved_across_edits_and_merges() {
    let (_d, s) = open();
    let id = upsert(&s, WS, cand(None, Some("hist_user"), None)).id().unwrap();
    let edit = LeadInput { status: Some("blocked".into()), note: Some("asked to stop".into()), ..Default::default() }
        .validate(Source::Manual, None)
        .unwrap();
    assert_eq!(
        s.write_one(ctx(WS), WriteOp::Edit { id, cand: edit }).unwrap(),
        Outcome::Updated { id, matched_on: None }
    );
    let merge = LeadInput { username: Some("hist_user".into()), first_name: Some("Hist".into()), ..Default::default() }
        .validate(Source::FileUpload, None)
        .unwrap();
    upsert(&s, WS, merge);
    let lead = s.get(WS, id).unwrap().unwrap();
    let kinds: Vec<_> = s.history(&lead).unwrap().into_iter().map(|a| a.kind).collect();
    assert!(matches!(kinds[0], ActivityKind::Created { .. }));
    assert!(kinds.contains(&ActivityKind::StatusChanged { from: Status::Active, to: Status::Blocked }));
    assert!(kinds.contains(&ActivityKind::NoteAdded { text: "asked to stop".into() }));
    assert!(kinds.iter().any(|k| matches!(k, ActivityKind::Merged { source: Source::FileUpload, .. })));
    assert_eq!(lead.status, Status::Blocked, "a merge never reactivates a blocked lead");
    assert_eq!(lead.source, Source::Manual);
    assert_eq!(lead.history_len as usize + 1, kinds.len());
}

#[test]
fn a_merge_that_changes_fields_and_tags_is_one_history_row() {
    let (_d, s) = open();
    let id = upsert(&s, WS, cand(None, Some("row_user"), None)).id().unwrap();
    let merge = LeadInput {
        username: Some("row_user".into()),
        first_name: Some("Row".into()),
        tags: vec!["vip".into()],
        ..Default::default()
    }
    .validate(Source::FileUpload, None)
    .unwrap();
    upsert(&s, WS, merge);
    let lead = s.get(WS, id).unwrap().unwrap();
    let kinds: Vec<_> = s.history(&lead).unwrap().into_iter().map(|a| a.kind).collect();
    assert!(matches!(kinds[1], ActivityKind::Merged { .. }), "{kinds:?}");
    assert!(matches!(kinds[2], ActivityKind::FieldsUpdated { .. }), "{kinds:?}");
    assert_eq!(kinds[3], ActivityKind::TagsChanged { added: vec!["vip".into()], removed: vec![] });
    let txn = s.db.begin_read().unwrap();
    let rows = txn.open_table(schema::HISTORY).unwrap().range((id, 0)..=(id, u32::MAX)).unwrap().count();
    assert_eq!((rows, lead.history_len), (1, 3), "one row, keyed by the first of its three entries");
}

#[test]
fn edit_refuses_an_identifier_owned_by_another_lead() {
    let (_d, s) = open();
    let a = upsert(&s, WS, cand(None, Some("first_one"), None)).id().unwrap();
    upsert(&s, WS, cand(None, Some("second_one"), None));
    let c =
        LeadInput { username: Some("second_one".into()), ..Default::default() }.validate(Source::Manual, None).unwrap();
    let out = s.write_one(ctx(WS), WriteOp::Edit { id: a, cand: c }).unwrap();
    assert!(matches!(out, Outcome::Rejected(ref e) if e.field == "username"), "{out:?}");
}

#[test]
fn rejected_ops_do_not_disturb_the_rest_of_the_batch() {
    let (_d, s) = open();
    let bad = LeadInput { phone: Some("garbage".into()), ..Default::default() }.validate(Source::Manual, None).unwrap();
    let out = s
        .write(
            ctx(WS),
            vec![
                WriteOp::Upsert(bad),
                WriteOp::Upsert(cand(None, Some("good_one"), None)),
                WriteOp::Delete { id: 999 },
            ],
        )
        .unwrap();
    assert!(matches!(&out[0], Outcome::Rejected(e) if e.field == "phone"));
    assert!(matches!(out[1], Outcome::Created { .. }));
    assert!(matches!(&out[2], Outcome::Rejected(e) if e.field == "lead"));
    assert_eq!(s.count(WS).unwrap(), 1);
}

#[test]
fn delete_removes_the_lead_its_indexes_and_facets() {
    let (_d, s) = open();
    let id = upsert(&s, WS, cand(Some(3), Some("gone_soon"), Some("+79161234567"))).id().unwrap();
    assert_eq!(s.write_one(ctx(WS), WriteOp::Delete { id }).unwrap(), Outcome::Deleted { id });
    assert!(s.get(WS, id).unwrap().is_none());
    assert_eq!(
        s.history(&crate::model::Lead { id, ..lead_template() }).unwrap().len(),
        1,
        "only the derived entry: stored history is gone"
    );
    assert!(s.facet_counts(WS, &Filter::default()).unwrap().is_empty());
    assert!(matches!(upsert(&s, WS, cand(Some(3), None, None)), Outcome::Created { .. }));
}

#[test]
fn an_older_schema_is_migrated() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE);
    {
        // A version-1 file: no organization tables yet.
        let db =
            redb::Database::builder().set_concurrency_mode(redb::ConcurrencyMode::MultiWriter).create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(schema::META).unwrap().insert("schema_version", 1).unwrap();
        txn.commit().unwrap();
    }
    let s = Store::open(&path).unwrap();
    assert!(s.org("acme").unwrap().is_none(), "the organizations table exists after migrating");
    assert!(s.records::<String>(RecordKind::Crawl, WS).unwrap().is_empty(), "so does the records table");
    assert_eq!(upsert(&s, WS, cand(None, Some("after_migration"), None)), Outcome::Created { id: 1 });
}

#[test]
fn filters_use_facets() {
    let (_d, s) = open();
    for (i, (status, tag)) in [("active", "vip"), ("blocked", "vip"), ("active", "cold")].iter().enumerate() {
        let c = LeadInput {
            username: Some(format!("filter_{i}")),
            status: Some(status.to_string()),
            tags: vec![tag.to_string()],
            ..Default::default()
        }
        .validate(Source::Manual, None)
        .unwrap();
        upsert(&s, WS, c);
    }
    let f = Filter { tags: vec!["vip".into()], status: vec![Status::Active], ..Default::default() };
    let got = s.list(WS, &f, SortKey::default(), None).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].username.as_deref(), Some("filter_0"));
    let stats = s.stats(WS, &Filter::default()).unwrap();
    assert_eq!((stats.total, stats.active), (3, 2));
    assert!((stats.blocked_rate - 1.0 / 3.0).abs() < 1e-9);
    let counts = s.facet_counts(WS, &Filter::default()).unwrap();
    assert_eq!(counts.get(&crate::model::Facet::Tag("vip".into())), Some(&2));
    assert_eq!(counts.get(&crate::model::Facet::Status(Status::Blocked)), Some(&1));
}

#[test]
fn the_facet_index_follows_tags_groups_and_deletes() {
    let (_d, s) = open();
    let input = |i: u64, tags: &[&str], remove: &[&str], group: Option<&str>| {
        LeadInput {
            username: Some(format!("facet_{i}")),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            remove_tags: remove.iter().map(|t| t.to_string()).collect(),
            group: group.map(Into::into),
            ..Default::default()
        }
        .validate(Source::FileUpload, None)
        .unwrap()
    };
    // One transaction creates more leads than a facet block holds.
    let ops = (0..3000).map(|i| WriteOp::Upsert(input(i, &[["vip", "cold"][i as usize % 2]], &[], None))).collect();
    s.write(ctx(WS), ops).unwrap();
    // Then updates move tags and groups here and there, and some leads go.
    let mut ops: Vec<WriteOp> = Vec::new();
    for i in (0..3000).step_by(7) {
        ops.push(WriteOp::Upsert(input(i, &["warm"], &["vip", "cold"], Some("Rust Moscow"))));
    }
    s.write(ctx(WS), ops).unwrap();
    let gone: Vec<WriteOp> = (1..=3000).step_by(11).map(|id| WriteOp::Delete { id }).collect();
    s.write(ctx(WS), gone).unwrap();

    let mut all = Vec::new();
    s.scan(WS, &Filter::default(), |l| all.push(l)).unwrap();
    for f in [
        Filter { tags: vec!["vip".into()], ..Default::default() },
        Filter { tags: vec!["cold".into()], ..Default::default() },
        Filter { tags: vec!["warm".into()], ..Default::default() },
        Filter { group: vec!["Rust Moscow".into()], ..Default::default() },
    ] {
        let want: Vec<u64> = all.iter().filter(|l| f.matches(l)).map(|l| l.id).collect();
        let mut got = Vec::new();
        s.scan(WS, &f, |l| got.push(l.id)).unwrap();
        assert!(!want.is_empty());
        assert_eq!(got, want, "{f:?} through the facet index, as a full scan finds it");
        // The index itself holds no more than that: nothing left behind by a removal or a delete.
        let mut indexed = Vec::new();
        let txn = s.db.begin_read().unwrap();
        let table = txn.open_table(schema::FACETS).unwrap();
        for k in f.index_keys().unwrap() {
            facets::ids(&table, &facets::prefix(WS, &k), &s.path, &mut indexed).unwrap();
        }
        assert_eq!(indexed, want, "{f:?}: the index's own ids");
    }
}

#[test]
fn a_parallel_scan_sees_what_a_scan_sees_in_the_same_order() {
    let (_d, s) = open();
    let ops = (0..40_000u32)
        .map(|i| {
            let c = LeadInput {
                username: Some(format!("par_scan_{i}")),
                status: Some(["active", "blocked", "archived"][i as usize % 3].into()),
                tags: vec![["vip", "cold"][i as usize % 2].into()],
                groups: vec![format!("g{}", i % 5)],
                ..Default::default()
            };
            WriteOp::Upsert(c.validate(Source::Manual, None).unwrap())
        })
        .collect();
    s.write(ctx(WS), ops).unwrap();
    s.write(ctx("u:other"), vec![WriteOp::Upsert(cand(None, Some("elsewhere"), None))]).unwrap();
    let active = Filter { status: vec![Status::Active, Status::Blocked], ..Default::default() };
    let g1 = Filter { group: vec!["g1".into()], ..Default::default() };
    let vip = Filter { tags: vec!["vip".into()], ..Default::default() };
    for filters in [vec![], vec![active.clone()], vec![active.clone(), g1.clone()], vec![g1, vip]] {
        let mut want = Vec::new();
        s.scan_all_of(WS, &filters, |l| want.push(l.id)).unwrap();
        let got = s.par_scan_all_of(WS, &filters, |l| l.id).unwrap();
        assert!(!got.is_empty());
        assert_eq!(got, want, "{filters:?}");
    }
    assert_eq!(s.par_scan_all_of(WS, &[], |_| ()).unwrap().len(), 40_000, "more than two batches");
}

#[test]
fn persists_across_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let id = {
        let s = Store::open_dir(dir.path()).unwrap();
        upsert(&s, WS, cand(Some(42), Some("persist_me"), None)).id().unwrap()
    };
    let s = Store::open_dir(dir.path()).unwrap();
    let lead = s.resolve(WS, &LeadRef::Username("persist_me".into())).unwrap().unwrap();
    assert_eq!(lead.id, id);
    assert_eq!(s.history(&lead).unwrap().len(), 1);
    // Ids keep counting after a reopen instead of reusing.
    assert!(upsert(&s, WS, cand(None, Some("another_one"), None)).id().unwrap() > id);
}

#[test]
fn a_newer_schema_is_refused_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(DB_FILE);
    {
        let db =
            redb::Database::builder().set_concurrency_mode(redb::ConcurrencyMode::MultiWriter).create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(schema::META).unwrap().insert("schema_version", SCHEMA_VERSION + 1).unwrap();
        txn.commit().unwrap();
    }
    let err = Store::open(&path).err().expect("newer schema must fail");
    let msg = err.to_string();
    assert!(matches!(err, StoreError::NewerSchema { found, .. } if found == SCHEMA_VERSION + 1));
    assert!(msg.contains("upgrade reach"), "{msg}");
}

#[test]
fn writes_from_many_threads_are_serialized_by_the_writer() {
    let (_d, s) = open();
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let s = s.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    // Every thread also writes the same shared username: one lead must result.
                    s.write(
                        ctx(WS),
                        vec![
                            WriteOp::Upsert(cand(None, Some(&format!("t{t}_user_{i}")), None)),
                            WriteOp::Upsert(cand(None, Some("everyone"), None)),
                        ],
                    )
                    .unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(s.count(WS).unwrap(), 401);
}

#[test]
fn a_national_phone_is_read_with_the_matched_leads_country() {
    let (_d, s) = open();
    let c = LeadInput { username: Some("ivan_p".into()), country: Some("RU".into()), ..Default::default() }
        .validate(Source::Manual, None)
        .unwrap();
    let id = upsert(&s, WS, c).id().unwrap();
    let c =
        LeadInput { username: Some("IVAN_P".into()), phone: Some("8 (916) 123-45-67".into()), ..Default::default() }
            .validate(Source::Manual, None)
            .unwrap();
    upsert(&s, WS, c);
    let lead = s.get(WS, id).unwrap().unwrap();
    assert_eq!(lead.phone_key(), Some("+79161234567"));
    assert_eq!(lead.username.as_deref(), Some("ivan_p"), "a case-only difference keeps the stored spelling");
    assert_eq!(s.resolve(WS, &LeadRef::Phone("+79161234567".into())).unwrap().unwrap().id, id);
}

#[test]
fn records_are_kept_per_workspace_and_accounts_per_data_dir() {
    let (_d, s) = open();
    let put = |ws: &str, kind, name: &str, v: &str| {
        s.write_one(ctx(ws), WriteOp::record(kind, name, &v.to_string())).unwrap()
    };
    assert_eq!(put(WS, RecordKind::Crawl, "@demo_small", "mine"), Outcome::Recorded { id: 0 });
    put(WS, RecordKind::Segment, "@demo_small", "a segment of the same name");
    let theirs = WriteCtx { workspace: "u:other".into(), actor: "other".into() };
    s.write_one(theirs, WriteOp::record(RecordKind::Crawl, "@demo_small", &"theirs".to_string())).unwrap();
    assert!(matches!(put("u:other", RecordKind::Crawl, "@x", "intruder"), Outcome::Denied(_)));
    put(WS, RecordKind::Account, "main", "an account");
    let mine: Vec<(String, String)> = s.records(RecordKind::Crawl, WS).unwrap();
    assert_eq!(mine, [("@demo_small".to_string(), "mine".to_string())]);
    assert_eq!(s.record::<String>(RecordKind::Account, "", "main").unwrap().as_deref(), Some("an account"));
    assert!(s.records::<String>(RecordKind::Account, WS).unwrap().is_empty(), "accounts are not a workspace's");
    s.write_one(ctx(WS), WriteOp::Record { kind: RecordKind::Crawl, name: "@demo_small".into(), value: None }).unwrap();
    assert!(s.record::<String>(RecordKind::Crawl, WS, "@demo_small").unwrap().is_none());
    assert_eq!(s.record::<String>(RecordKind::Crawl, "u:other", "@demo_small").unwrap().as_deref(), Some("theirs"));
}

#[test]
fn filters_ask_for_facets_and_toggle_them() {
    use crate::model::Facet;
    let mut f = Filter::default();
    let vip = Facet::Tag("vip".into());
    f.toggle(&vip);
    assert!(f.has(&vip) && f.tags == vec!["vip".to_string()]);
    f.toggle(&Facet::Status(Status::Blocked));
    assert_eq!(f.status, vec![Status::Blocked]);
    f.toggle(&vip);
    assert!(!f.has(&vip) && f.tags.is_empty());
    assert!(!f.has(&Facet::Segment("any".into())), "a segment is not a filter value");
}

#[test]
fn every_write_transaction_records_what_it_changed_once_in_the_feed() {
    use feed::{Change, Feed};
    let (_d, s) = open();
    assert_eq!(s.feed_seq().unwrap(), 0);
    let Outcome::Created { id: a } = upsert(&s, WS, cand(None, Some("feed_a"), None)) else { panic!() };
    let other = WriteCtx { workspace: "u:other".into(), actor: "other".into() };
    let Outcome::Created { id: b } = s.write_one(other, WriteOp::Upsert(cand(None, Some("feed_b"), None))).unwrap()
    else {
        panic!()
    };
    // Nothing changes: nothing is recorded.
    assert!(matches!(upsert(&s, WS, cand(None, Some("feed_a"), None)), Outcome::Unchanged { .. }));
    assert_eq!(s.feed_seq().unwrap(), 2);
    let edit =
        LeadInput { status: Some("blocked".into()), ..Default::default() }.validate(Source::Manual, None).unwrap();
    s.write_one(ctx(WS), WriteOp::Edit { id: a, cand: edit }).unwrap();
    s.write_one(ctx(WS), WriteOp::Delete { id: a }).unwrap();
    let segment = crate::model::Segment { name: "hot".into(), filter: Default::default(), query: None };
    s.write_one(ctx(WS), WriteOp::record(RecordKind::Segment, "hot", &segment)).unwrap();
    let Feed::Changes(all) = s.changes_since(0).unwrap() else { panic!("behind") };
    let seqs: Vec<u64> = all.iter().map(|(n, _)| *n).collect();
    assert_eq!(seqs, [1, 2, 3, 4, 5], "one entry per transaction, in order");
    let of = |c: &Change, ws: &str| c.of_workspace(ws);
    assert_eq!(of(&all[0].1, WS), (vec![a], vec![]));
    assert_eq!(of(&all[0].1, "u:other"), (vec![], vec![]), "workspaces never mix");
    assert_eq!(of(&all[1].1, "u:other"), (vec![b], vec![]));
    assert_eq!(all[2].1.leads[0].updated.0, vec![a]);
    assert_eq!(of(&all[3].1, WS), (vec![], vec![a]));
    assert_eq!(all[4].1.records, vec![(RecordKind::Segment.byte(), WS.to_string(), "hot".to_string())]);
    let Feed::Changes(tail) = s.changes_since(3).unwrap() else { panic!("behind") };
    assert_eq!(tail.len(), 2);
    assert_eq!(s.changes_since(5).unwrap(), Feed::Changes(vec![]));
    // A reader older than the oldest entry kept is told to reload.
    {
        let txn = s.db.begin_write().unwrap();
        txn.open_table(feed::FEED).unwrap().remove(1).unwrap();
        txn.commit().unwrap();
    }
    assert_eq!(s.changes_since(0).unwrap(), Feed::Behind { seq: 5 });
    assert!(matches!(s.changes_since(1).unwrap(), Feed::Changes(list) if list.len() == 4));
}

#[test]
fn ids_are_stored_as_gaps_and_read_back_whole() {
    let ids = feed::Ids(vec![3, 4, 5, 1000, 1_000_000_000_000]);
    let bytes = encode(&ids);
    assert!(bytes.len() < 16, "{} bytes", bytes.len());
    assert_eq!(decode::<feed::Ids>(&bytes, Path::new("x")).unwrap(), ids);
}

#[test]
fn a_subscriber_hears_of_a_commit_at_once_and_of_another_handles_within_a_poll() {
    let (d, s) = open();
    let events = s.subscribe().unwrap();
    let start = std::time::Instant::now();
    let Outcome::Created { id } = upsert(&s, WS, cand(None, Some("heard_of"), None)) else { panic!() };
    let got = events.recv_timeout(std::time::Duration::from_secs(2)).expect("an event");
    assert!(start.elapsed() < feed::POLL, "this process's commit wakes the follower: {:?}", start.elapsed());
    let FeedEvent::Changes(list) = got else { panic!("reload") };
    assert_eq!(list[0].1.of_workspace(WS).0, vec![id]);
    drop(d);
}

#[test]
fn a_process_whose_store_was_migrated_by_a_newer_reach_stops_writing() {
    let (_d, s) = open();
    upsert(&s, WS, cand(None, Some("before_skew"), None));
    {
        let txn = s.db.begin_write().unwrap();
        txn.open_table(schema::META).unwrap().insert("schema_version", SCHEMA_VERSION + 1).unwrap();
        txn.commit().unwrap();
    }
    let err = s.write_one(ctx(WS), WriteOp::Upsert(cand(None, Some("after_skew"), None))).unwrap_err();
    assert!(err.to_string().contains("upgrade reach"), "{err}");
    assert!(s.resolve(WS, &LeadRef::Username("after_skew".into())).unwrap().is_none(), "nothing was written");
}

#[test]
fn an_edit_made_from_an_older_reading_is_refused_naming_the_field_and_changes_nothing() {
    let (_d, s) = open();
    let c = LeadInput { username: Some("conflicted".into()), first_name: Some("Anna".into()), ..Default::default() }
        .validate(Source::Manual, None)
        .unwrap();
    let Outcome::Created { id } = upsert(&s, WS, c) else { panic!() };
    let input = |first: &str| {
        LeadInput { first_name: Some(first.into()), ..Default::default() }.validate(Source::Manual, None).unwrap()
    };
    // Someone else renames her meanwhile.
    s.write_one(ctx(WS), WriteOp::Edit { id, cand: input("Anya") }).unwrap();
    let stale = WriteOp::EditChecked { id, cand: input("Annette"), expect: vec![("first_name", "Anna".into())] };
    let Outcome::Rejected(e) = s.write_one(ctx(WS), stale).unwrap() else { panic!("refused") };
    assert_eq!(e.field, "first_name");
    assert!(e.to_string().contains("Anya") && e.to_string().contains("changed since the form opened"), "{e}");
    assert_eq!(s.get(WS, id).unwrap().unwrap().first_name, "Anya", "the other change stands");
    // Made from what is stored now, it goes through.
    let fresh = WriteOp::EditChecked { id, cand: input("Annette"), expect: vec![("first_name", "Anya".into())] };
    assert!(matches!(s.write_one(ctx(WS), fresh).unwrap(), Outcome::Updated { .. }));
}

#[test]
fn record_updates_read_and_write_inside_the_writers_transaction_so_none_is_lost() {
    let (_d, s) = open();
    s.write_one(ctx(WS), WriteOp::record(RecordKind::Segment, "counter", &0u64)).unwrap();
    // Ten writers at once, each adding one: queued together, coalesced or not, none undoes another.
    let tickets: Vec<_> = (0..10)
        .map(|_| {
            let op = WriteOp::update_record(RecordKind::Segment, "counter", |n: Option<u64>| Some(n.unwrap_or(0) + 1));
            s.submit(ctx(WS), vec![op]).unwrap()
        })
        .collect();
    for t in tickets {
        t.wait().unwrap();
    }
    assert_eq!(s.record::<u64>(RecordKind::Segment, WS, "counter").unwrap(), Some(10));
    // Accounts belong to the data dir: their updates work the same, in workspace "".
    let acct = WriteCtx { workspace: String::new(), actor: "tester".into() };
    s.write_one(acct.clone(), WriteOp::record(RecordKind::Account, "one", &5u64)).unwrap();
    let later = WriteOp::update_record(RecordKind::Account, "one", |n: Option<u64>| n.map(|n| n.max(9)));
    s.write_one(acct, later).unwrap();
    assert_eq!(s.record::<u64>(RecordKind::Account, "", "one").unwrap(), Some(9));
}

#[test]
fn a_request_behind_a_lease_held_by_another_run_writes_nothing() {
    let (_d, s) = open();
    let me = Holder::new_run("tester");
    let rival = Holder::new_run("tester");
    let take = |h: &Holder| WriteOp::Lease { name: "crawl @x".into(), holder: h.clone(), ttl_ms: 60_000 };
    let out = s.write(ctx(WS), vec![take(&me), WriteOp::Upsert(cand(Some(1), None, None))]).unwrap();
    assert!(matches!(out[1], Outcome::Created { .. }), "{out:?}");
    // The rival's request is refused from its lease on, naming the holder; the op after it too.
    let out = s.write(ctx(WS), vec![take(&rival), WriteOp::Upsert(cand(Some(2), None, None))]).unwrap();
    match &out[..] {
        [Outcome::Denied(a), Outcome::Denied(b)] => assert!(a.contains("tester is at it") && a == b, "{a}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.count(WS).unwrap(), 1);
    // A release by the wrong run does nothing; by the holder, it frees the lease for the rival.
    s.write_one(ctx(WS), WriteOp::Release { name: "crawl @x".into(), run: rival.run }).unwrap();
    assert!(matches!(s.write_one(ctx(WS), take(&rival)).unwrap(), Outcome::Denied(_)));
    s.write_one(ctx(WS), WriteOp::Release { name: "crawl @x".into(), run: me.run }).unwrap();
    assert!(matches!(s.write_one(ctx(WS), take(&rival)).unwrap(), Outcome::Recorded { .. }));
    // Leases are per workspace, like the work they guard.
    assert!(matches!(s.write_one(ctx("u:other"), take(&me)).unwrap(), Outcome::Denied(_)), "not tester's workspace");
    let other = WriteCtx { workspace: "u:other".into(), actor: "other".into() };
    assert!(matches!(s.write_one(other, take(&me)).unwrap(), Outcome::Recorded { .. }));
}

#[test]
fn two_handles_on_one_file_updating_one_record_lose_no_update() {
    // Two handles on one file are what two processes have: each its own writer thread.
    let dir = tempfile::tempdir().unwrap();
    let a = Store::open_dir(dir.path()).unwrap();
    let b = Store::open_dir(dir.path()).unwrap();
    let acct = || WriteCtx { workspace: String::new(), actor: "tester".into() };
    a.write_one(acct(), WriteOp::record(RecordKind::Account, "one", &0u64)).unwrap();
    // As flood waits are recorded: read, change, write back, from both at once. A read outside
    // the writer's transaction would let one handle undo the other's increments.
    let bump = || WriteOp::update_record(RecordKind::Account, "one", |n: Option<u64>| n.map(|n| n + 1));
    let ta = std::thread::spawn(move || {
        for _ in 0..100 {
            a.write_one(acct(), bump()).unwrap();
        }
        a
    });
    for _ in 0..100 {
        b.write_one(acct(), bump()).unwrap();
    }
    let a = ta.join().unwrap();
    assert_eq!(a.record::<u64>(RecordKind::Account, "", "one").unwrap(), Some(200));
}
