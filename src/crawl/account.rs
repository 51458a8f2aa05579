//! Telegram accounts of a data dir: what `reach account add` stored, and their flood waits.
//! Sessions themselves are files under `<data_dir>/sessions/`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::TelegramBackend;
use crate::model::{now_millis, Millis};
use crate::store::{RecordKind, Store, StoreError, WriteCtx, WriteOp};
use crate::telegram::Me;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRecord {
    pub name: String,
    pub phone: String,
    pub simulated: bool,
    pub me: Option<Me>,
    pub added_at: Millis,
    /// The end of the last flood wait Telegram gave this account, wall clock.
    pub flood_until: Option<Millis>,
}

impl AccountRecord {
    pub fn backend(&self) -> TelegramBackend {
        if self.simulated {
            TelegramBackend::Simulated
        } else {
            TelegramBackend::Grammers
        }
    }

    /// Seconds of flood wait left, if any.
    pub fn flood_left(&self, now: Millis) -> Option<u64> {
        self.flood_until.filter(|t| *t > now).map(|t| ((t - now) as u64).div_ceil(1000))
    }
}

/// Account names are file names: keep them plain.
pub fn validate_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(format!("account name {name:?}: use 1-32 letters, digits, - and _"))
    }
}

pub fn session_path(data_dir: &Path, name: &str) -> PathBuf {
    data_dir.join("sessions").join(format!("{name}.session"))
}

fn ctx() -> WriteCtx {
    WriteCtx { workspace: String::new(), actor: String::new() }
}

pub fn list(store: &Store) -> Result<Vec<AccountRecord>, StoreError> {
    Ok(store.records::<AccountRecord>(RecordKind::Account, "")?.into_iter().map(|(_, r)| r).collect())
}

pub fn save(store: &Store, rec: &AccountRecord) -> Result<(), StoreError> {
    store.write_one(ctx(), WriteOp::record(RecordKind::Account, &rec.name, rec)).map(|_| ())
}

pub fn remove(store: &Store, name: &str) -> Result<(), StoreError> {
    store
        .write_one(ctx(), WriteOp::Record { kind: RecordKind::Account, name: name.to_string(), value: None })
        .map(|_| ())
}

/// Keeps the flood waits a crawl hit, so the next crawl (in any process) honours them.
pub async fn remember_flood_waits(store: &Store, benched: &[(String, Millis)]) -> Result<(), StoreError> {
    if benched.is_empty() {
        return Ok(());
    }
    // Read and written in the writer's transaction: another crawl or process recording its own
    // flood wait on the same account meanwhile is kept, the later of the two wins.
    let ops = benched
        .iter()
        .map(|(name, until)| {
            let until = *until;
            WriteOp::update_record(RecordKind::Account, name, move |rec: Option<AccountRecord>| {
                rec.map(|mut rec| {
                    rec.flood_until = Some(rec.flood_until.unwrap_or(0).max(until));
                    rec
                })
            })
        })
        .collect();
    store.submit(ctx(), ops)?.done().await.map(|_| ())
}

/// A new record for a freshly logged-in account.
pub fn new_record(name: &str, phone: &str, backend: TelegramBackend, me: Me) -> AccountRecord {
    AccountRecord {
        name: name.to_string(),
        phone: phone.to_string(),
        simulated: backend == TelegramBackend::Simulated,
        me: Some(me),
        added_at: now_millis(),
        flood_until: None,
    }
}
