//! `reach backup FILE`: a consistent copy of the store while other processes keep writing. One
//! read transaction sees one committed state; its tables are copied into a new database file,
//! which is renamed into place only when complete.

use std::path::Path;

use redb::{Database, Key, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition, Value, WriteTransaction};

use super::schema::*;
use super::{AtPath, Store, StoreError};

fn copy<K: Key + 'static, V: Value + 'static>(
    from: &ReadTransaction,
    to: &WriteTransaction,
    def: TableDefinition<K, V>,
    path: &Path,
) -> Result<u64, StoreError> {
    let src = match from.open_table(def) {
        Ok(t) => t,
        // A table no write has created yet has nothing to copy.
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(0),
        Err(e) => return Err(e).at(path),
    };
    let mut dst = to.open_table(def).at(path)?;
    let mut n = 0;
    for row in src.iter().at(path)? {
        let (k, v) = row.at(path)?;
        dst.insert(k.value(), v.value()).at(path)?;
        n += 1;
    }
    Ok(n)
}

/// What a backup copied.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Backup {
    pub leads: u64,
    pub feed_seq: u64,
    pub bytes: u64,
}

impl Store {
    /// Writes a consistent copy of the store to `to` (replaced whole, or left as it was on error).
    pub fn backup(&self, to: &Path) -> Result<Backup, StoreError> {
        let p = self.path.as_path();
        let dir = to.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let fail = |e: std::io::Error| StoreError::Db { path: to.to_path_buf(), message: e.to_string() };
        let tmp = tempfile::Builder::new().prefix(".reach-backup-").tempfile_in(dir).map_err(fail)?;
        // One read transaction: every table as of one commit, while writers go on.
        let from = self.db.begin_read().at(p)?;
        let db = Database::builder().create(tmp.path()).at(tmp.path())?;
        let txn = db.begin_write().at(tmp.path())?;
        let t = tmp.path();
        copy(&from, &txn, META, t)?;
        let leads = copy(&from, &txn, LEADS, t)?;
        copy(&from, &txn, HISTORY, t)?;
        copy(&from, &txn, BY_USER_ID, t)?;
        copy(&from, &txn, BY_USERNAME, t)?;
        copy(&from, &txn, BY_PHONE, t)?;
        copy(&from, &txn, FACETS, t)?;
        copy(&from, &txn, IMPORTS, t)?;
        copy(&from, &txn, FIELD_LABELS, t)?;
        copy(&from, &txn, ORGS, t)?;
        copy(&from, &txn, USER_WORKSPACE, t)?;
        copy(&from, &txn, RECORDS, t)?;
        copy(&from, &txn, FEED, t)?;
        copy(&from, &txn, MESSAGES, t)?;
        copy(&from, &txn, TG_MESSAGES, t)?;
        copy(&from, &txn, OUTBOX, t)?;
        copy(&from, &txn, PEERS, t)?;
        copy(&from, &txn, RECIPIENTS, t)?;
        copy(&from, &txn, LEAD_CAMPAIGNS, t)?;
        copy(&from, &txn, CAMPAIGN_DUE, t)?;
        txn.commit().at(t)?;
        drop(db);
        let feed_seq = from.open_table(META).at(p)?.get("feed_seq").at(p)?.map(|v| v.value()).unwrap_or(0);
        drop(from);
        let bytes = tmp.as_file().metadata().map(|m| m.len()).unwrap_or(0);
        tmp.persist(to).map_err(|e| fail(e.error))?;
        Ok(Backup { leads, feed_seq, bytes })
    }
}
