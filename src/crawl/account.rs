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
    /// The workspace the account serves (a workspace key such as `u:mia` or `o:acme`).
    pub workspace: String,
    /// The reach user who added it; leads it meets are created by them.
    pub owner: String,
    /// What the process running the account last said about it; see `runner`.
    pub runner: Option<RunnerState>,
    /// PEER_FLOOD since then: sends are paused until a person resumes the account.
    pub limited_since: Option<Millis>,
    /// Sends of the current day (UTC), for the daily cap on first contacts.
    pub today: SendDay,
}

/// The state the process holding an account keeps current.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunnerState {
    pub holder: crate::store::Holder,
    /// What runs it: `listen`, `tui`.
    pub process: String,
    pub since: Millis,
    /// Renewed every few seconds while it runs; older than `RUNNER_STALE_MS` means it stopped.
    pub heartbeat: Millis,
    pub health: RunnerHealth,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
// Externally tagged: postcard, the store's encoding, cannot read internally tagged enums.
#[serde(rename_all = "snake_case")]
pub enum RunnerHealth {
    Connecting,
    Connected,
    FloodWait {
        until: Millis,
    },
    /// PEER_FLOOD: check @SpamBot, then `reach account resume`.
    Limited,
    NeedsLogin,
    Unreachable {
        error: String,
    },
    Stopped,
}

/// A runner that has not renewed its heartbeat for this long is gone.
pub const RUNNER_STALE_MS: i64 = 15_000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SendDay {
    /// Days since the Unix epoch (UTC).
    pub day: i64,
    pub sent: u32,
    /// Messages to people the account never talked to before.
    pub first_contacts: u32,
}

impl SendDay {
    /// Today's counts: yesterday's are dropped.
    pub fn on(self, now: Millis) -> SendDay {
        let day = now.div_euclid(86_400_000);
        if self.day == day {
            self
        } else {
            SendDay { day, sent: 0, first_contacts: 0 }
        }
    }
}

/// An account record as schema 4 stored it: before accounts had a workspace and an owner.
#[derive(Deserialize)]
#[cfg_attr(test, derive(Serialize))]
struct AccountRecordV4 {
    name: String,
    phone: String,
    simulated: bool,
    me: Option<Me>,
    added_at: Millis,
    flood_until: Option<Millis>,
}

impl AccountRecord {
    /// A stored record; one from before accounts had owners is given to `user`'s personal
    /// workspace (the data dir's user, who is the one opening it).
    pub fn decode(bytes: &[u8], user: &str) -> Option<(AccountRecord, bool)> {
        if let Ok(rec) = postcard::from_bytes::<AccountRecord>(bytes) {
            return Some((rec, false));
        }
        let old = postcard::from_bytes::<AccountRecordV4>(bytes).ok()?;
        let rec = AccountRecord {
            name: old.name,
            phone: old.phone,
            simulated: old.simulated,
            me: old.me,
            added_at: old.added_at,
            flood_until: old.flood_until,
            workspace: crate::workspace::Workspace::Personal(user.to_string()).key(),
            owner: user.to_string(),
            runner: None,
            limited_since: None,
            today: SendDay::default(),
        };
        Some((rec, true))
    }

    /// The running process's state, if one is running it now.
    pub fn live_runner(&self, now: Millis) -> Option<&RunnerState> {
        self.runner.as_ref().filter(|r| now - r.heartbeat < RUNNER_STALE_MS && r.health != RunnerHealth::Stopped)
    }
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

/// Every account of the data dir (of all workspaces: names are unique per data dir).
pub fn list(store: &Store) -> Result<Vec<AccountRecord>, StoreError> {
    let raw = store.records_raw(RecordKind::Account, "")?;
    Ok(raw.iter().filter_map(|(_, b)| AccountRecord::decode(b, "").map(|(r, _)| r)).collect())
}

/// The accounts that serve `workspace`.
pub fn of_workspace(store: &Store, workspace: &str) -> Result<Vec<AccountRecord>, StoreError> {
    Ok(list(store)?.into_iter().filter(|r| r.workspace == workspace).collect())
}

pub fn get(store: &Store, name: &str) -> Result<Option<AccountRecord>, StoreError> {
    Ok(list(store)?.into_iter().find(|r| r.name == name))
}

/// Gives accounts added before accounts had owners to `user` (the data dir's user), once.
pub fn adopt_older(store: &Store, user: &str) -> Result<(), StoreError> {
    for (name, bytes) in store.records_raw(RecordKind::Account, "")? {
        if let Some((rec, true)) = AccountRecord::decode(&bytes, user) {
            store.write_one(ctx(), WriteOp::record(RecordKind::Account, &name, &rec))?;
        }
    }
    Ok(())
}

/// Changes an account record inside the writer's transaction (see `WriteOp::update_record`).
pub fn update(
    store: &Store,
    name: &str,
    f: impl Fn(&mut AccountRecord) + Send + Sync + 'static,
) -> Result<(), StoreError> {
    let op = WriteOp::update_record(RecordKind::Account, name, move |rec: Option<AccountRecord>| {
        rec.map(|mut rec| {
            f(&mut rec);
            rec
        })
    });
    store.write_one(ctx(), op).map(|_| ())
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

/// A new record for a freshly logged-in account, serving `workspace` and owned by `owner`.
pub fn new_record(
    name: &str,
    phone: &str,
    backend: TelegramBackend,
    me: Me,
    workspace: &str,
    owner: &str,
) -> AccountRecord {
    AccountRecord {
        name: name.to_string(),
        phone: phone.to_string(),
        simulated: backend == TelegramBackend::Simulated,
        me: Some(me),
        added_at: now_millis(),
        flood_until: None,
        workspace: workspace.to_string(),
        owner: owner.to_string(),
        runner: None,
        limited_since: None,
        today: SendDay::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_account_from_before_owners_goes_to_the_personal_workspace_of_who_opens_it() {
        let old = AccountRecordV4 {
            name: "main".into(),
            phone: "+15550001".into(),
            simulated: true,
            me: None,
            added_at: 1,
            flood_until: Some(5),
        };
        let bytes = postcard::to_allocvec(&old).unwrap();
        let (rec, adopted) = AccountRecord::decode(&bytes, "mia").unwrap();
        assert!(adopted);
        assert_eq!((rec.workspace.as_str(), rec.owner.as_str(), rec.flood_until), ("u:mia", "mia", Some(5)));
        let again = postcard::to_allocvec(&rec).unwrap();
        assert_eq!(AccountRecord::decode(&again, "zed").map(|(r, a)| (r.owner, a)), Some(("mia".into(), false)));
    }
}
