//! The embedded lead store: redb tables, the dedup upsert, a single writer thread, and queries.

mod batch;
pub mod merge;
mod query;
mod schema;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, ReadableDatabase, ReadableTable};

pub use batch::{Outcome, WriteCtx, WriteOp};
pub use query::{Filter, LeadRef, SortKey, Stats};
pub use schema::SCHEMA_VERSION;
use schema::*;
pub use writer::Ticket;

use crate::model::{Activity, ImportRecord, Lead};

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
        migrate(&db, path)?;
        let db = Arc::new(db);
        let path = Arc::new(path.to_path_buf());
        let writer = writer::Writer::spawn(db.clone(), path.clone());
        Ok(Store { db, path, writer })
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

    /// Runs writes in a transaction that is thrown away: the outcomes of a dry run, exactly as a real
    /// run would produce them (dedup within the batches included), with nothing written.
    /// It holds the write lock while it lives, so other writes wait for it.
    pub fn simulate(&self) -> Result<Simulation, StoreError> {
        let txn = self.db.begin_write().at(&self.path)?;
        Ok(Simulation { txn: Some(txn), path: self.path.clone() })
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
            out.push(decode(v.value(), p)?);
        }
        Ok(out)
    }
}

pub struct Simulation {
    txn: Option<redb::WriteTransaction>,
    path: Arc<PathBuf>,
}

impl Simulation {
    pub fn apply(&mut self, ctx: &WriteCtx, ops: Vec<WriteOp>) -> Result<Vec<Outcome>, StoreError> {
        let Some(txn) = self.txn.as_ref() else { return Err(StoreError::WriterGone) };
        let mut batch = batch::Batch::new(txn, &self.path, crate::model::now_millis())?;
        batch.prefetch(ctx, &ops)?;
        let mut out = Vec::with_capacity(ops.len());
        for op in ops {
            out.push(batch.apply(ctx, op)?);
        }
        batch.flush(txn)?;
        Ok(out)
    }
}

impl Drop for Simulation {
    fn drop(&mut self) {
        if let Some(txn) = self.txn.take() {
            // Nothing of a simulation is ever committed.
            let _ = txn.abort();
        }
    }
}

fn stored_version(db: &Database, path: &Path) -> Result<Option<u64>, StoreError> {
    let txn = db.begin_read().at(path)?;
    match txn.open_table(META) {
        Ok(meta) => Ok(meta.get("schema_version").at(path)?.map(|v| v.value())),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e).at(path),
    }
}

fn migrate(db: &Database, path: &Path) -> Result<(), StoreError> {
    // The common case takes only a read transaction, so opening never waits on another process's writer.
    match stored_version(db, path)? {
        Some(v) if v > SCHEMA_VERSION => {
            return Err(StoreError::NewerSchema { path: path.to_path_buf(), found: v, supported: SCHEMA_VERSION })
        }
        Some(SCHEMA_VERSION) => return Ok(()),
        _ => {}
    }
    let txn = db.begin_write().at(path)?;
    {
        let mut meta = txn.open_table(META).at(path)?;
        let found = meta.get("schema_version").at(path)?.map(|v| v.value());
        match found {
            Some(v) if v > SCHEMA_VERSION => {
                return Err(StoreError::NewerSchema { path: path.to_path_buf(), found: v, supported: SCHEMA_VERSION });
            }
            Some(v) if v == SCHEMA_VERSION => {}
            // New file (or one from before versioning): create every table at the current version.
            // Each later version adds a step here, applied in order from `found`.
            _ => {
                meta.insert("schema_version", SCHEMA_VERSION).at(path)?;
            }
        }
        for counter in ["next_lead_id", "next_import_id"] {
            if meta.get(counter).at(path)?.is_none() {
                meta.insert(counter, 1).at(path)?;
            }
        }
    }
    txn.open_table(LEADS).at(path)?;
    txn.open_table(HISTORY).at(path)?;
    txn.open_table(BY_USER_ID).at(path)?;
    txn.open_table(BY_USERNAME).at(path)?;
    txn.open_table(BY_PHONE).at(path)?;
    txn.open_multimap_table(FACETS).at(path)?;
    txn.open_table(IMPORTS).at(path)?;
    txn.open_table(FIELD_LABELS).at(path)?;
    txn.commit().at(path)
}

#[cfg(test)]
mod tests;
