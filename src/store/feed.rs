//! The change feed: every write transaction records what it changed under the next sequence
//! number, in the same transaction, so any process can ask "what changed since N" with one short
//! read transaction. One entry per transaction, ids grouped by workspace and delta-encoded, so a
//! million-row import costs a few bytes per lead. The feed is bounded: a reader that fell behind
//! the oldest entry kept is told so and reloads.
//!
//! Within a process the writer wakes the follower at once after each commit; other processes'
//! commits are seen by reading one sequence key every few hundred milliseconds, once per process
//! whatever the number of views.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};

use super::{decode, encode, AtPath, Store, StoreError, META};

/// seq -> postcard-encoded `Change`.
pub const FEED: TableDefinition<u64, &[u8]> = TableDefinition::new("feed");

/// How many transactions the feed keeps; older entries are pruned as new ones are written.
pub const FEED_KEEP: u64 = 4096;
/// How often a process looks at the sequence key for other processes' commits.
pub const POLL: Duration = Duration::from_millis(250);

/// Lead ids, sorted, stored as the gaps between them (small numbers, one or two bytes each).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ids(pub Vec<u64>);

impl Serialize for Ids {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut prev = 0;
        let gaps: Vec<u64> = self
            .0
            .iter()
            .map(|&id| {
                let gap = id.wrapping_sub(prev);
                prev = id;
                gap
            })
            .collect();
        gaps.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Ids {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Ids, D::Error> {
        let gaps = Vec::<u64>::deserialize(d)?;
        let mut at = 0u64;
        Ok(Ids(gaps
            .into_iter()
            .map(|g| {
                at = at.wrapping_add(g);
                at
            })
            .collect()))
    }
}

/// What one transaction changed in one workspace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceChange {
    pub workspace: String,
    pub created: Ids,
    pub updated: Ids,
    pub deleted: Ids,
}

/// What one write transaction changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub leads: Vec<WorkspaceChange>,
    /// Records written or removed: (kind byte as `RecordKind` stores it, workspace, name).
    pub records: Vec<(u8, String, String)>,
    /// Organizations or a user's current workspace changed.
    pub orgs: bool,
    /// Leads whose message thread changed: (workspace, lead id).
    pub threads: Vec<(String, u64)>,
    /// Accounts whose outbox has new items, for their runners to wake on.
    pub outboxes: Vec<String>,
}

impl Change {
    pub fn is_empty(&self) -> bool {
        self.leads.is_empty()
            && self.records.is_empty()
            && !self.orgs
            && self.threads.is_empty()
            && self.outboxes.is_empty()
    }

    /// Builds a change from (workspace, id, kind) triples in any order.
    pub(super) fn of_leads<'a>(touched: impl IntoIterator<Item = (&'a str, u64, LeadChange)>) -> Change {
        let mut by_ws: BTreeMap<&str, WorkspaceChange> = BTreeMap::new();
        for (ws, id, kind) in touched {
            let w =
                by_ws.entry(ws).or_insert_with(|| WorkspaceChange { workspace: ws.to_string(), ..Default::default() });
            match kind {
                LeadChange::Created => w.created.0.push(id),
                LeadChange::Updated => w.updated.0.push(id),
                LeadChange::Deleted => w.deleted.0.push(id),
            }
        }
        let mut leads: Vec<WorkspaceChange> = by_ws.into_values().collect();
        for w in &mut leads {
            for ids in [&mut w.created.0, &mut w.updated.0, &mut w.deleted.0] {
                ids.sort_unstable();
            }
        }
        Change { leads, ..Default::default() }
    }

    /// This workspace's part: (created or updated ids, deleted ids).
    pub fn of_workspace(&self, workspace: &str) -> (Vec<u64>, Vec<u64>) {
        let mut changed = Vec::new();
        let mut deleted = Vec::new();
        for w in self.leads.iter().filter(|w| w.workspace == workspace) {
            changed.extend(&w.created.0);
            changed.extend(&w.updated.0);
            deleted.extend(&w.deleted.0);
        }
        (changed, deleted)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadChange {
    Created,
    Updated,
    Deleted,
}

/// Appends `change` under the next sequence number and prunes the oldest entries; runs inside
/// the writer's transaction, so the feed and the data it describes commit together.
pub(super) fn append(txn: &WriteTransaction, change: &Change, path: &Path) -> Result<Option<u64>, StoreError> {
    if change.is_empty() {
        return Ok(None);
    }
    let mut meta = txn.open_table(META).at(path)?;
    let seq = meta.get("feed_seq").at(path)?.map(|v| v.value()).unwrap_or(0) + 1;
    meta.insert("feed_seq", seq).at(path)?;
    let mut feed = txn.open_table(FEED).at(path)?;
    feed.insert(seq, encode(change).as_slice()).at(path)?;
    if seq > FEED_KEEP {
        let below = seq - FEED_KEEP;
        feed.retain_in(..=below, |_, _| false).at(path)?;
    }
    Ok(Some(seq))
}

/// What a reader gets for "what changed since N".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Feed {
    /// The transactions after N, oldest first, with their sequence numbers.
    Changes(Vec<(u64, Change)>),
    /// N is older than the oldest entry kept: the reader must reload, and follow from `seq`.
    Behind { seq: u64 },
}

impl Store {
    /// The sequence number of the newest committed transaction (0 before the first).
    pub fn feed_seq(&self) -> Result<u64, StoreError> {
        let p = self.path.as_path();
        let txn = self.db.begin_read().at(p)?;
        let meta = txn.open_table(META).at(p)?;
        Ok(meta.get("feed_seq").at(p)?.map(|v| v.value()).unwrap_or(0))
    }

    /// Everything committed after `since`, in one read transaction.
    pub fn changes_since(&self, since: u64) -> Result<Feed, StoreError> {
        changes_since(&self.db, &self.path, since)
    }

    /// Follows the feed from now on: every commit of any process arrives on the receiver, within
    /// `POLL` for other processes and at once for this one. One follower per opened store serves
    /// every subscriber; it ends when the store is closed or nobody follows any more.
    pub fn subscribe(&self) -> Result<Receiver<FeedEvent>, StoreError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let mut slot = self.follower.lock().map_err(|_| StoreError::WriterGone)?;
        if let Some(subs) = slot.as_ref() {
            subs.lock().map_err(|_| StoreError::WriterGone)?.push(tx);
            return Ok(rx);
        }
        let subs: Subscribers = Arc::new(Mutex::new(vec![tx]));
        let from = self.feed_seq()?;
        // Weak handles: following the feed never keeps a closed store open.
        let (db, path, commits) = (Arc::downgrade(&self.db), Arc::clone(&self.path), Arc::downgrade(&self.commits));
        let (list, owner) = (Arc::clone(&subs), Arc::clone(&self.follower));
        std::thread::Builder::new()
            .name("reach-feed".into())
            .spawn(move || follow(&db, &path, &commits, from, &list, &owner))
            .map_err(|e| StoreError::Db { path: self.path.to_path_buf(), message: e.to_string() })?;
        *slot = Some(subs);
        Ok(rx)
    }
}

fn changes_since(db: &redb::Database, p: &Path, since: u64) -> Result<Feed, StoreError> {
    let txn = db.begin_read().at(p)?;
    let meta = txn.open_table(META).at(p)?;
    let seq = meta.get("feed_seq").at(p)?.map(|v| v.value()).unwrap_or(0);
    if seq <= since {
        return Ok(Feed::Changes(Vec::new()));
    }
    let feed = txn.open_table(FEED).at(p)?;
    let oldest = feed.first().at(p)?.map(|(k, _)| k.value()).unwrap_or(seq + 1);
    if oldest > since + 1 {
        return Ok(Feed::Behind { seq });
    }
    let mut out = Vec::new();
    for row in feed.range(since + 1..=seq).at(p)? {
        let (k, v) = row.at(p)?;
        out.push((k.value(), decode(v.value(), p)?));
    }
    Ok(Feed::Changes(out))
}

/// What a subscriber receives.
#[derive(Debug, Clone)]
pub enum FeedEvent {
    Changes(Arc<Vec<(u64, Change)>>),
    /// The feed moved past what this process had read (it was asleep, or far behind): reload.
    Reload,
}

pub type Subscribers = Arc<Mutex<Vec<Sender<FeedEvent>>>>;

/// Wakes the follower after a commit of this process.
#[derive(Default)]
pub struct Commits {
    seq: Mutex<u64>,
    woken: Condvar,
    /// Transactions, then nanoseconds: in them, and in each phase (see `WriterTimes`).
    spent: [AtomicU64; 7],
}

/// What this process's writer has spent, phase by phase: the index probes read ahead for a
/// request, the dedup and merge of its ops, the table writes (sorted, with encoding), the change
/// feed's entry, and the commit.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WriterTimes {
    pub transactions: u64,
    pub total: Duration,
    pub lookups: Duration,
    pub merges: Duration,
    pub inserts: Duration,
    pub feed: Duration,
    pub commit: Duration,
}

impl WriterTimes {
    /// What was spent since `before`.
    pub fn since(&self, before: &WriterTimes) -> WriterTimes {
        WriterTimes {
            transactions: self.transactions - before.transactions,
            total: self.total.saturating_sub(before.total),
            lookups: self.lookups.saturating_sub(before.lookups),
            merges: self.merges.saturating_sub(before.merges),
            inserts: self.inserts.saturating_sub(before.inserts),
            feed: self.feed.saturating_sub(before.feed),
            commit: self.commit.saturating_sub(before.commit),
        }
    }
}

impl Commits {
    pub(super) fn spent(&self, t: &WriterTimes) {
        let values = [
            t.transactions,
            t.total.as_nanos() as u64,
            t.lookups.as_nanos() as u64,
            t.merges.as_nanos() as u64,
            t.inserts.as_nanos() as u64,
            t.feed.as_nanos() as u64,
            t.commit.as_nanos() as u64,
        ];
        for (a, v) in self.spent.iter().zip(values) {
            a.fetch_add(v, Ordering::Relaxed);
        }
    }

    pub(super) fn times(&self) -> WriterTimes {
        let [n, total, lookups, merges, inserts, feed, commit] =
            self.spent.each_ref().map(|a| Duration::from_nanos(a.load(Ordering::Relaxed)));
        WriterTimes { transactions: n.as_nanos() as u64, total, lookups, merges, inserts, feed, commit }
    }

    pub(super) fn committed(&self, seq: u64) {
        if let Ok(mut s) = self.seq.lock() {
            *s = (*s).max(seq);
            self.woken.notify_all();
        }
    }

    /// Waits for a commit after `seen`, or `timeout`.
    fn wait(&self, seen: u64, timeout: Duration) {
        if let Ok(s) = self.seq.lock() {
            let _ = self.woken.wait_timeout_while(s, timeout, |s| *s <= seen);
        }
    }
}

/// The follower slot of a store: the subscribers of its running follower, if one runs.
pub type FollowerSlot = Arc<Mutex<Option<Subscribers>>>;

fn follow(
    db: &std::sync::Weak<redb::Database>,
    path: &Path,
    commits: &std::sync::Weak<Commits>,
    mut seen: u64,
    subs: &Subscribers,
    owner: &FollowerSlot,
) {
    loop {
        let (Some(db), Some(commits)) = (db.upgrade(), commits.upgrade()) else { return };
        commits.wait(seen, POLL);
        let event = match changes_since(&db, path, seen) {
            Ok(Feed::Changes(list)) if list.is_empty() => continue,
            Ok(Feed::Changes(list)) => {
                seen = list.last().map(|(s, _)| *s).unwrap_or(seen);
                FeedEvent::Changes(Arc::new(list))
            }
            Ok(Feed::Behind { seq }) => {
                seen = seq;
                FeedEvent::Reload
            }
            // A failed read is tried again at the next poll.
            Err(_) => continue,
        };
        drop(db);
        let Ok(mut list) = subs.lock() else { return };
        list.retain(|tx| tx.send(event.clone()).is_ok());
        if list.is_empty() {
            drop(list);
            // Nobody follows any more: free the slot (unless someone subscribed meanwhile).
            let Ok(mut slot) = owner.lock() else { return };
            if subs.lock().map(|l| l.is_empty()).unwrap_or(true) {
                *slot = None;
                return;
            }
        }
    }
}
