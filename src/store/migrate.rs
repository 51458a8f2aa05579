//! Opening an older store: each schema version's step, in order from the stored one.

use std::collections::BTreeSet;
use std::path::Path;

use indexmap::IndexMap;
use redb::{Database, MultimapTableDefinition, ReadableDatabase, ReadableMultimapTable, ReadableTable};
use serde::Deserialize;

use super::schema::*;
use super::{decode, encode, AtPath, StoreError};
use crate::model::{Lead, Millis, Priority, Source, Status};
use crate::normalize::Phone;

fn stored_version(db: &Database, path: &Path) -> Result<Option<u64>, StoreError> {
    let txn = db.begin_read().at(path)?;
    match txn.open_table(META) {
        Ok(meta) => Ok(meta.get("schema_version").at(path)?.map(|v| v.value())),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e).at(path),
    }
}

pub(super) fn migrate(db: &Database, path: &Path) -> Result<(), StoreError> {
    // The common case takes only a read transaction, so opening never waits on another process's writer.
    match stored_version(db, path)? {
        Some(v) if v > SCHEMA_VERSION => {
            return Err(StoreError::NewerSchema { path: path.to_path_buf(), found: v, supported: SCHEMA_VERSION })
        }
        Some(SCHEMA_VERSION) => return Ok(()),
        _ => {}
    }
    let txn = db.begin_write().at(path)?;
    let found = {
        let mut meta = txn.open_table(META).at(path)?;
        let found = meta.get("schema_version").at(path)?.map(|v| v.value());
        if let Some(v) = found.filter(|v| *v > SCHEMA_VERSION) {
            return Err(StoreError::NewerSchema { path: path.to_path_buf(), found: v, supported: SCHEMA_VERSION });
        }
        meta.insert("schema_version", SCHEMA_VERSION).at(path)?;
        for counter in ["next_lead_id", "next_import_id", "next_message_id", "next_campaign_id"] {
            if meta.get(counter).at(path)?.is_none() {
                meta.insert(counter, 1).at(path)?;
            }
        }
        found
    };
    // Versions 1 to 4 and 6 only added tables: creating every table is their step.
    txn.open_table(LEADS).at(path)?;
    txn.open_table(HISTORY).at(path)?;
    txn.open_table(BY_USER_ID).at(path)?;
    txn.open_table(BY_USERNAME).at(path)?;
    txn.open_table(BY_PHONE).at(path)?;
    txn.open_table(FACETS).at(path)?;
    txn.open_table(IMPORTS).at(path)?;
    txn.open_table(FIELD_LABELS).at(path)?;
    txn.open_table(ORGS).at(path)?;
    txn.open_table(USER_WORKSPACE).at(path)?;
    txn.open_table(RECORDS).at(path)?;
    txn.open_table(FEED).at(path)?;
    txn.open_table(MESSAGES).at(path)?;
    txn.open_table(TG_MESSAGES).at(path)?;
    txn.open_table(OUTBOX).at(path)?;
    txn.open_table(PEERS).at(path)?;
    txn.open_table(RECIPIENTS).at(path)?;
    txn.open_table(LEAD_CAMPAIGNS).at(path)?;
    txn.open_table(CAMPAIGN_DUE).at(path)?;
    // Version 5: leads carry their conversation state; feed entries gained fields.
    if found.is_some_and(|v| v < 5) {
        rewrite_leads_v4(&txn, path)?;
        rewrite_segments_v4(&txn, path)?;
        txn.open_table(FEED).at(path)?.retain(|_, _| false).at(path)?;
    }
    // Version 7: a history row is a list of entries.
    if found.is_some_and(|v| v < 7) {
        rewrite_history_v6(&txn, path)?;
    }
    // Version 8: the facet index is blocks of ids.
    if found.is_some_and(|v| v < 8) {
        rewrite_facets_v7(&txn, path)?;
    }
    txn.commit().at(path)
}

/// The facet index before schema 8: ws ∅ facet -> each lead id.
const FACETS_V7: MultimapTableDefinition<&[u8], u64> = MultimapTableDefinition::new("idx_facets");

/// Each facet's ids, which the multimap holds in order, become blocks; the old table goes.
fn rewrite_facets_v7(txn: &redb::WriteTransaction, path: &Path) -> Result<(), StoreError> {
    {
        let old = match txn.open_multimap_table(FACETS_V7) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(()),
            Err(e) => return Err(e).at(path),
        };
        let mut blocks = txn.open_table(FACETS).at(path)?;
        let mut ids = Vec::new();
        for row in old.iter().at(path)? {
            let (k, values) = row.at(path)?;
            ids.clear();
            for v in values {
                ids.push((v.at(path)?.value(), true));
            }
            // Workspace keys hold no NUL; the facet is the rest.
            let k = k.value();
            let Some(ws) = k.iter().position(|b| *b == 0) else { continue };
            let (ws, facet) = (String::from_utf8_lossy(&k[..ws]), String::from_utf8_lossy(&k[ws + 1..]));
            super::facets::apply(&mut blocks, &super::facets::prefix(&ws, &facet), &ids, path)?;
        }
    }
    txn.delete_multimap_table(FACETS_V7).at(path)?;
    Ok(())
}

/// Each one-entry row becomes a list of that one entry: postcard writes a list as its length, then
/// the items, so the old bytes are kept whole behind a length of 1.
fn rewrite_history_v6(txn: &redb::WriteTransaction, path: &Path) -> Result<(), StoreError> {
    let mut history = txn.open_table(HISTORY).at(path)?;
    // In key order, a chunk at a time, so memory stays bounded on a large store.
    let mut from = None;
    loop {
        let mut chunk = Vec::with_capacity(4096);
        let range = match from {
            Some((id, seq)) => history.range((id, seq)..).at(path)?,
            None => history.range::<(u64, u32)>(..).at(path)?,
        };
        for row in range {
            let (k, v) = row.at(path)?;
            if Some(k.value()) == from {
                continue;
            }
            let mut list = vec![1u8];
            list.extend_from_slice(v.value());
            chunk.push((k.value(), list));
            if chunk.len() == 4096 {
                break;
            }
        }
        let Some((last, _)) = chunk.last() else { break };
        from = Some(*last);
        let done = chunk.len() < 4096;
        for (k, v) in &chunk {
            history.insert(*k, v.as_slice()).at(path)?;
        }
        if done {
            break;
        }
    }
    Ok(())
}

/// A lead as schema 4 stored it: everything but `conversation`.
#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
struct LeadV4 {
    id: u64,
    workspace: String,
    telegram_user_id: Option<u64>,
    username: Option<String>,
    phone: Option<Phone>,
    first_name: String,
    last_name: String,
    country: Option<String>,
    language: Option<String>,
    photo: Option<String>,
    source: Source,
    status: Status,
    priority: Priority,
    group_name: Option<String>,
    groups: BTreeSet<String>,
    tags: BTreeSet<String>,
    custom_fields: IndexMap<String, String>,
    created_at: Millis,
    updated_at: Millis,
    created_by: String,
    created_import: Option<u64>,
    history_len: u32,
}

impl From<LeadV4> for Lead {
    fn from(l: LeadV4) -> Lead {
        Lead {
            id: l.id,
            workspace: l.workspace,
            telegram_user_id: l.telegram_user_id,
            username: l.username,
            phone: l.phone,
            first_name: l.first_name,
            last_name: l.last_name,
            country: l.country,
            language: l.language,
            photo: l.photo,
            source: l.source,
            status: l.status,
            priority: l.priority,
            group_name: l.group_name,
            groups: l.groups,
            tags: l.tags,
            custom_fields: l.custom_fields,
            created_at: l.created_at,
            updated_at: l.updated_at,
            created_by: l.created_by,
            created_import: l.created_import,
            history_len: l.history_len,
            conversation: Default::default(),
        }
    }
}

fn rewrite_leads_v4(txn: &redb::WriteTransaction, path: &Path) -> Result<(), StoreError> {
    let mut leads = txn.open_table(LEADS).at(path)?;
    // In key order, a chunk at a time, so memory stays bounded on a large store.
    let mut from: Vec<u8> = Vec::new();
    loop {
        let mut chunk = Vec::with_capacity(4096);
        for row in leads.range(from.as_slice()..).at(path)? {
            let (k, v) = row.at(path)?;
            if k.value() == from.as_slice() && !from.is_empty() {
                continue;
            }
            let old: LeadV4 = decode(v.value(), path)?;
            chunk.push((k.value().to_vec(), encode(&Lead::from(old))));
            if chunk.len() == 4096 {
                break;
            }
        }
        let Some((last, _)) = chunk.last() else { break };
        from = last.clone();
        let done = chunk.len() < 4096;
        for (k, v) in &chunk {
            leads.insert(k.as_slice(), v.as_slice()).at(path)?;
        }
        if done {
            break;
        }
    }
    Ok(())
}

/// A filter as schema 4 stored it in segments: before flags.
#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
struct FilterV4 {
    status: Vec<Status>,
    priority: Vec<Priority>,
    source: Vec<Source>,
    tags: Vec<String>,
    group: Vec<String>,
    country: Vec<String>,
    language: Vec<String>,
    created_by: Option<String>,
}

#[derive(Deserialize)]
#[cfg_attr(test, derive(serde::Serialize))]
struct SegmentV4 {
    name: String,
    filter: FilterV4,
    query: Option<String>,
}

fn rewrite_segments_v4(txn: &redb::WriteTransaction, path: &Path) -> Result<(), StoreError> {
    use crate::model::Segment;
    use crate::store::{Filter, RecordKind};
    let mut records = txn.open_table(RECORDS).at(path)?;
    let (lo, hi) = ([RecordKind::Segment.byte()], [RecordKind::Segment.byte() + 1]);
    let mut rewritten = Vec::new();
    for row in records.range(lo.as_slice()..hi.as_slice()).at(path)? {
        let (k, v) = row.at(path)?;
        let old: SegmentV4 = decode(v.value(), path)?;
        let f = old.filter;
        let filter = Filter {
            status: f.status,
            priority: f.priority,
            source: f.source,
            tags: f.tags,
            group: f.group,
            country: f.country,
            language: f.language,
            created_by: f.created_by,
            flags: Vec::new(),
        };
        let seg = Segment { name: old.name, filter, query: old.query };
        rewritten.push((k.value().to_vec(), encode(&seg)));
    }
    for (k, v) in rewritten {
        records.insert(k.as_slice(), v.as_slice()).at(path)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Activity, ActivityKind};
    use crate::store::{RecordKind, Store};

    /// A store as reach with schema 4 left it: two leads and a segment.
    fn v4_store(path: &Path) {
        let db = Database::create(path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut meta = txn.open_table(META).unwrap();
            meta.insert("schema_version", 4).unwrap();
            meta.insert("next_lead_id", 3).unwrap();
            meta.insert("next_import_id", 1).unwrap();
            let mut leads = txn.open_table(LEADS).unwrap();
            for id in [1u64, 2] {
                let l = LeadV4 {
                    id,
                    workspace: "u:ann".into(),
                    telegram_user_id: Some(100 + id),
                    username: Some(format!("user_{id}")),
                    phone: None,
                    first_name: format!("Ann {id}"),
                    last_name: String::new(),
                    country: Some("RU".into()),
                    language: None,
                    photo: None,
                    source: Source::Manual,
                    status: if id == 2 { Status::Blocked } else { Status::Active },
                    priority: Priority::High,
                    group_name: None,
                    groups: BTreeSet::new(),
                    tags: ["vip".to_string()].into_iter().collect(),
                    custom_fields: IndexMap::new(),
                    created_at: 1,
                    updated_at: 2,
                    created_by: "ann".into(),
                    created_import: None,
                    history_len: u32::from(id == 1),
                };
                leads.insert(id_key("u:ann", id).as_slice(), encode(&l).as_slice()).unwrap();
            }
            let filter = FilterV4 {
                status: vec![Status::Active],
                priority: Vec::new(),
                source: Vec::new(),
                tags: vec!["vip".into()],
                group: Vec::new(),
                country: Vec::new(),
                language: Vec::new(),
                created_by: None,
            };
            // Before schema 7, a history row was one entry.
            let note = Activity {
                at: 3,
                actor: "ann".into(),
                kind: ActivityKind::NoteAdded { text: "met at a meetup".into() },
            };
            txn.open_table(HISTORY).unwrap().insert((1, 0), encode(&note).as_slice()).unwrap();
            // Before schema 8, the facet index had one multimap entry per lead.
            let mut facets = txn.open_multimap_table(FACETS_V7).unwrap();
            for id in [1u64, 2] {
                facets.insert(key("u:ann", b"t:vip").as_slice(), id).unwrap();
            }
            let seg = SegmentV4 { name: "hot".into(), filter, query: Some("ann".into()) };
            let mut records = txn.open_table(RECORDS).unwrap();
            let k = RecordKind::Segment.prefixed(&key("u:ann", b"hot"));
            records.insert(k.as_slice(), encode(&seg).as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }

    #[test]
    fn a_schema_4_store_opens_with_its_leads_and_segments_intact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reach.redb");
        v4_store(&path);
        let store = Store::open(&path).unwrap();
        let a = store.get("u:ann", 1).unwrap().unwrap();
        assert_eq!((a.first_name.as_str(), a.status, a.conversation.unread), ("Ann 1", Status::Active, 0));
        let b = store.get("u:ann", 2).unwrap().unwrap();
        assert_eq!((b.status, b.conversation.blocked_by), (Status::Blocked, None), "a person's block stays theirs");
        let note = ActivityKind::NoteAdded { text: "met at a meetup".into() };
        let kinds = |store: &Store, lead| store.history(lead).unwrap().into_iter().map(|e| e.kind).collect::<Vec<_>>();
        assert_eq!(kinds(&store, &a)[1..], *std::slice::from_ref(&note), "the old history row reads as before");
        let segs = store.segments("u:ann").unwrap();
        assert_eq!(segs.len(), 1);
        let vip = crate::store::Filter { tags: vec!["vip".into()], ..Default::default() };
        let mut tagged = Vec::new();
        store.scan("u:ann", &vip, |l| tagged.push(l.id)).unwrap();
        assert_eq!(tagged, [1, 2], "the facet index reads as before");
        assert_eq!((segs[0].filter.tags.clone(), segs[0].filter.flags.clone()), (vec!["vip".to_string()], vec![]));
        drop(store);
        // Opened again, nothing is rewritten twice.
        let store = Store::open(&path).unwrap();
        assert_eq!(store.get("u:ann", 1).unwrap().unwrap().first_name, "Ann 1");
        assert_eq!(kinds(&store, &a)[1..], [note]);
        let mut tagged = Vec::new();
        store.scan("u:ann", &vip, |l| tagged.push(l.id)).unwrap();
        assert_eq!(tagged, [1, 2]);
        assert_eq!(store.thread("u:ann", 1).unwrap(), vec![]);
    }
}
