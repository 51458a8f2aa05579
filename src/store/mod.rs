//! The embedded lead store: redb tables, the dedup upsert, a single writer thread, and queries.

mod backup;
mod batch;
pub mod campaign;
mod facets;
mod feed;
mod lease;
pub mod merge;
mod migrate;
mod ops;
mod query;
mod schema;
mod talk;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable};

pub use backup::Backup;
pub use feed::{Change, Feed, FeedEvent, WorkspaceChange, WriterTimes, POLL as FEED_POLL};
pub use lease::{Holder, Lease};
pub use ops::OrgOp;
pub use ops::{Outcome, RecordKind, WriteCtx, WriteOp};
pub use query::{Filter, LeadRef, SortField, SortKey, Stats};
pub use schema::SCHEMA_VERSION;
use schema::*;
pub use talk::{ImportedMessage, OutboxItem, OutboxKind, Peer, SendResult, TalkOp};
pub use writer::Ticket;

use crate::model::{Activity, ImportRecord, Lead};
use crate::workspace::{rules, Access, Denied, Org, View, Workspace};

/// A resolved place to read: see `Store::scope`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub workspace: String,
    pub user: String,
    pub access: Access,
    /// Set for the "own" view.
    pub created_by: Option<String>,
}

impl Scope {
    /// `filter` restricted to this scope's view.
    pub fn filter(&self, filter: &Filter) -> Filter {
        Filter { created_by: self.created_by.clone(), ..filter.clone() }
    }

    /// Whether a single lead may be shown (a lead is named by id even outside the list view).
    pub fn may_view(&self, lead: &Lead) -> Result<(), Denied> {
        rules::view_lead(self.access, &self.user, &lead.created_by)
    }

    /// Whether the lead belongs in this scope's list: the rules allow it, and the view (own or
    /// all) takes it. Everything a live view receives passes through here.
    pub fn admits(&self, lead: &Lead) -> bool {
        lead.workspace == self.workspace
            && self.may_view(lead).is_ok()
            && self.created_by.as_ref().is_none_or(|u| &lead.created_by == u)
    }
}

/// What a member is in an organization.
pub(crate) fn access_in(org: &Org, user: &str) -> Result<Access, Denied> {
    match org.role_of(user) {
        Some(role) => Ok(Access::Org { role, members_can_view_all: org.members_can_view_all }),
        None => Err(Denied(format!("you are not a member of {}", org.name))),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database {path}: {message}")]
    Db { path: PathBuf, message: String },
    #[error(
        "database {path} has schema version {found}, but this reach supports up to {supported}; upgrade reach to open it"
    )]
    NewerSchema { path: PathBuf, found: u64, supported: u64 },
    #[error("database {path} is damaged: {message}")]
    Corrupt { path: PathBuf, message: String },
    #[error("the store's writer has stopped")]
    WriterGone,
}

/// Lets `?` turn any redb error into `StoreError` once a path is attached with `.at(path)`.
pub(crate) trait AtPath<T> {
    fn at(self, path: &Path) -> Result<T, StoreError>;
}

impl<T, E: Into<redb::Error>> AtPath<T> for Result<T, E> {
    fn at(self, path: &Path) -> Result<T, StoreError> {
        self.map_err(|e| StoreError::Db { path: path.to_path_buf(), message: e.into().to_string() })
    }
}

pub(crate) fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], path: &Path) -> Result<T, StoreError> {
    postcard::from_bytes(bytes).map_err(|e| StoreError::Corrupt { path: path.to_path_buf(), message: e.to_string() })
}

pub(crate) fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    // Serializing plain data into a Vec cannot fail.
    postcard::to_allocvec(value).unwrap_or_default()
}

/// A handle to the store. Reads run on the caller's thread in short read transactions;
/// writes are sent to the one writer thread.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    path: Arc<PathBuf>,
    writer: writer::Writer,
    /// This process's commits, for the feed follower to wake on.
    commits: Arc<feed::Commits>,
    follower: feed::FollowerSlot,
}

pub const DB_FILE: &str = "reach.redb";

impl Store {
    /// Opens (or creates) `reach.redb` in `data_dir`, migrating an older schema.
    pub fn open_dir(data_dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| StoreError::Db {
            path: data_dir.to_path_buf(),
            message: format!("cannot create the data dir: {e}"),
        })?;
        Store::open(&data_dir.join(DB_FILE))
    }

    pub fn open(path: &Path) -> Result<Store, StoreError> {
        // MultiWriter lets the TUI stay open while CLI commands read and write the same file.
        let db = Database::builder()
            .set_concurrency_mode(redb::ConcurrencyMode::MultiWriter)
            // Enough to keep the index pages of a million leads hot during an import, within the memory budget.
            .set_cache_size(64 << 20)
            .create(path)
            .map_err(|e| match e {
                redb::DatabaseError::UpgradeRequired(v) => StoreError::Db {
                    path: path.to_path_buf(),
                    message: format!(
                        "was written by an older storage format ({v}); export it with the reach version that wrote it"
                    ),
                },
                other => StoreError::Db { path: path.to_path_buf(), message: redb::Error::from(other).to_string() },
            })?;
        migrate::migrate(&db, path)?;
        let db = Arc::new(db);
        let path = Arc::new(path.to_path_buf());
        let commits = Arc::new(feed::Commits::default());
        let writer = writer::Writer::spawn(db.clone(), path.clone(), commits.clone());
        Ok(Store { db, path, writer, commits, follower: Default::default() })
    }

    /// An organization by name (case-insensitive).
    pub fn org(&self, name: &str) -> Result<Option<Org>, StoreError> {
        let p = self.path.as_path();
        let txn = self.db.begin_read().at(p)?;
        let table = txn.open_table(ORGS).at(p)?;
        let found = table.get(name.to_lowercase().as_str()).at(p)?;
        found.map(|v| decode(v.value(), p)).transpose()
    }

    /// The organizations `user` belongs to.
    pub fn orgs_of(&self, user: &str) -> Result<Vec<Org>, StoreError> {
        let p = self.path.as_path();
        let txn = self.db.begin_read().at(p)?;
        let table = txn.open_table(ORGS).at(p)?;
        let mut out = Vec::new();
        for row in table.iter().at(p)? {
            let (_, v) = row.at(p)?;
            let org: Org = decode(v.value(), p)?;
            if org.members.contains_key(user) {
                out.push(org);
            }
        }
        Ok(out)
    }

    /// The workspace `reach org use` remembered for `user`, if any.
    pub fn remembered_workspace(&self, user: &str) -> Result<Option<String>, StoreError> {
        let p = self.path.as_path();
        let txn = self.db.begin_read().at(p)?;
        let table = txn.open_table(USER_WORKSPACE).at(p)?;
        let found = table.get(user).at(p)?.map(|v| v.value().to_string());
        Ok(found)
    }

    /// What `user` is in `ws`, or why they have no access at all.
    pub fn access(&self, user: &str, ws: &Workspace) -> Result<Result<Access, Denied>, StoreError> {
        Ok(match ws {
            Workspace::Personal(owner) if owner == user => Ok(Access::Personal),
            Workspace::Personal(_) => Err(Denied("a personal workspace belongs to its user alone".into())),
            Workspace::Org(name) => match self.org(name)? {
                None => Err(Denied(format!("no organization named {name:?}"))),
                Some(org) => access_in(&org, user),
            },
        })
    }

    /// Where `user` may read in `ws` under `view`: the workspace key and, for the "own" view, the
    /// creator every listing is restricted to. Denied when the rules forbid the view.
    pub fn scope(&self, user: &str, ws: &Workspace, view: View) -> Result<Result<Scope, Denied>, StoreError> {
        let access = match self.access(user, ws)? {
            Ok(a) => a,
            Err(d) => return Ok(Err(d)),
        };
        Ok(rules::view(access, view).map(|()| Scope {
            workspace: ws.key(),
            user: user.to_string(),
            access,
            created_by: (view == View::Own).then(|| user.to_string()),
        }))
    }

    /// Time this process's writer has spent holding the write lock, phase by phase.
    pub fn writer_times(&self) -> feed::WriterTimes {
        self.commits.times()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sends writes to the writer thread and waits for their outcomes (one per op, in order).
    pub fn write(&self, ctx: WriteCtx, ops: Vec<WriteOp>) -> Result<Vec<Outcome>, StoreError> {
        self.writer.submit(ctx, ops)?.wait()
    }

    /// Like `write`, but returns at once; the ticket yields the outcomes later (sync or async).
    pub fn submit(&self, ctx: WriteCtx, ops: Vec<WriteOp>) -> Result<Ticket, StoreError> {
        self.writer.submit(ctx, ops)
    }

    pub fn write_one(&self, ctx: WriteCtx, op: WriteOp) -> Result<Outcome, StoreError> {
        self.write(ctx, vec![op])?.pop().ok_or(StoreError::WriterGone)
    }

    pub fn get(&self, workspace: &str, id: u64) -> Result<Option<Lead>, StoreError> {
        let p = self.path.as_path();
        let txn = self.db.begin_read().at(p)?;
        let leads = txn.open_table(LEADS).at(p)?;
        match leads.get(id_key(workspace, id).as_slice()).at(p)? {
            Some(v) => Ok(Some(decode(v.value(), p)?)),
            None => Ok(None),
        }
    }

    /// The leads with these ids, in this order, read in one transaction; missing ids are skipped.
    pub fn visit_ids(&self, workspace: &str, ids: &[u64], mut f: impl FnMut(Lead)) -> Result<(), StoreError> {
        let p = self.path.as_path();
        let txn = self.db.begin_read().at(p)?;
        let leads = txn.open_table(LEADS).at(p)?;
        for &id in ids {
            if let Some(v) = leads.get(id_key(workspace, id).as_slice()).at(p)? {
                f(decode(v.value(), p)?);
            }
        }
        Ok(())
    }

    /// Import records of a workspace, oldest first.
    pub fn imports(&self, workspace: &str) -> Result<Vec<ImportRecord>, StoreError> {
        let p = self.path.as_path();
        let txn = self.db.begin_read().at(p)?;
        let table = txn.open_table(IMPORTS).at(p)?;
        let mut out = Vec::new();
        for row in table.iter().at(p)? {
            let (_, v) = row.at(p)?;
            let rec: ImportRecord = decode(v.value(), p)?;
            if rec.workspace == workspace {
                out.push(rec);
            }
        }
        Ok(out)
    }

    /// Every record of a kind in a workspace (accounts are global: pass ""), by name.
    pub fn records<T: serde::de::DeserializeOwned>(
        &self,
        kind: RecordKind,
        workspace: &str,
    ) -> Result<Vec<(String, T)>, StoreError> {
        let p = self.path.as_path();
        self.records_raw(kind, workspace)?.into_iter().map(|(name, v)| Ok((name, decode(&v, p)?))).collect()
    }

    /// Every record of a kind in a workspace, as stored bytes (for records with older versions).
    pub fn records_raw(&self, kind: RecordKind, workspace: &str) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let p = self.path.as_path();
        let txn = self.db.begin_read().at(p)?;
        let table = txn.open_table(RECORDS).at(p)?;
        let (lo, hi) = ws_range(workspace);
        let (lo, hi) = (kind.prefixed(&lo), kind.prefixed(&hi));
        let mut out = Vec::new();
        for row in table.range(lo.as_slice()..hi.as_slice()).at(p)? {
            let (k, v) = row.at(p)?;
            out.push((String::from_utf8_lossy(key_rest(&k.value()[1..])).into_owned(), v.value().to_vec()));
        }
        Ok(out)
    }

    pub fn record<T: serde::de::DeserializeOwned>(
        &self,
        kind: RecordKind,
        workspace: &str,
        name: &str,
    ) -> Result<Option<T>, StoreError> {
        let p = self.path.as_path();
        let txn = self.db.begin_read().at(p)?;
        let table = txn.open_table(RECORDS).at(p)?;
        let k = kind.prefixed(&key(workspace, name.as_bytes()));
        table.get(k.as_slice()).at(p)?.map(|v| decode(v.value(), p)).transpose()
    }

    /// Custom field key -> label (the header it came from) for a workspace.
    pub fn field_labels(&self, workspace: &str) -> Result<Vec<(String, String)>, StoreError> {
        let p = self.path.as_path();
        let txn = self.db.begin_read().at(p)?;
        let table = txn.open_table(FIELD_LABELS).at(p)?;
        let mut out = Vec::new();
        let (lo, hi) = ws_range(workspace);
        for row in table.range(lo.as_slice()..hi.as_slice()).at(p)? {
            let (k, v) = row.at(p)?;
            out.push((String::from_utf8_lossy(key_rest(k.value())).into_owned(), v.value().to_string()));
        }
        Ok(out)
    }

    /// A dry run: writes applied to a snapshot of the store and kept in memory, giving the outcomes
    /// a real run would (dedup within and across its batches included) with nothing written.
    /// It holds only a read transaction, so other writers never wait for it.
    pub fn simulate(&self) -> Result<Simulation, StoreError> {
        let txn = self.db.begin_read().at(&self.path)?;
        let tables = batch::Snapshot::open(&txn, &self.path)?;
        Ok(Simulation { batch: batch::Batch::dry(tables, &self.path, crate::model::now_millis()) })
    }

    /// The lead's whole timeline: its creation, then every stored entry in order.
    pub fn history(&self, lead: &Lead) -> Result<Vec<Activity>, StoreError> {
        let p = self.path.as_path();
        let txn = self.db.begin_read().at(p)?;
        let table = txn.open_table(HISTORY).at(p)?;
        let mut out = vec![lead.created_entry()];
        let lead_id = lead.id;
        for row in table.range((lead_id, 0)..=(lead_id, u32::MAX)).at(p)? {
            let (_, v) = row.at(p)?;
            out.extend(decode::<Vec<Activity>>(v.value(), p)?);
        }
        Ok(out)
    }
}

/// A dry run in progress: one batch over one snapshot, alive across every `apply`.
pub struct Simulation {
    batch: batch::Batch<batch::Snapshot>,
}

impl Simulation {
    pub fn apply(&mut self, ctx: &WriteCtx, ops: Vec<WriteOp>) -> Result<Vec<Outcome>, StoreError> {
        self.batch.begin_request();
        self.batch.prefetch(ctx, &ops)?;
        let out = ops.into_iter().map(|op| self.batch.apply(ctx, op)).collect();
        self.batch.settle();
        out
    }
}

#[cfg(test)]
mod tests;
