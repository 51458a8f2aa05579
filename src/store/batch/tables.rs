//! What a batch reads from: the writer's own write transaction, or a read snapshot for a dry run.
//! A dry run over a snapshot takes no lock, so other writers never wait for it.

use std::path::Path;

use redb::{ReadOnlyTable, ReadTransaction, ReadableTable, Table, WriteTransaction};

use crate::model::{ImportRecord, Lead};
use crate::store::schema::*;
use crate::store::{decode, AtPath, StoreError};
use crate::workspace::Org;

/// The tables a batch reads (and, when they are a write transaction's, writes at its flush).
pub(in crate::store) struct Tables<B, N, I, O> {
    pub leads: B,
    pub records: B,
    pub by_user_id: N,
    pub by_username: N,
    pub by_phone: N,
    pub imports: I,
    pub orgs: O,
    /// The conversation and campaign tables, in `Raw` order.
    pub raw: [B; RAW_TABLES],
    pub next_lead_id: u64,
    pub next_import_id: u64,
    pub next_message_id: u64,
    pub next_campaign_id: u64,
}

pub(in crate::store) const RAW_TABLES: usize = 7;

type Bytes = &'static [u8];
pub(in crate::store) type Writable<'t> =
    Tables<Table<'t, Bytes, Bytes>, Table<'t, Bytes, u64>, Table<'t, u64, Bytes>, Table<'t, &'static str, Bytes>>;
pub(in crate::store) type Snapshot = Tables<
    ReadOnlyTable<Bytes, Bytes>,
    ReadOnlyTable<Bytes, u64>,
    ReadOnlyTable<u64, Bytes>,
    ReadOnlyTable<&'static str, Bytes>,
>;

/// The unique indexes; a batch keeps its per-index maps in this order.
#[derive(Clone, Copy)]
pub(in crate::store) enum Index {
    UserId = 0,
    Username = 1,
    Phone = 2,
}

/// The conversation and campaign tables, kept as plain bytes; a batch keeps its overlay of each
/// in this order.
#[derive(Clone, Copy, Debug)]
pub(in crate::store) enum Raw {
    Messages = 0,
    TgMessages = 1,
    Outbox = 2,
    Peers = 3,
    Recipients = 4,
    LeadCampaigns = 5,
    Due = 6,
}

/// Rows of a raw table: (key, value).
pub(in crate::store) type Rows = Vec<(Vec<u8>, Vec<u8>)>;

/// Point reads a batch needs, whatever the tables behind them.
pub(in crate::store) trait Reads {
    fn lead(&self, k: &[u8], path: &Path) -> Result<Option<Lead>, StoreError>;
    fn index(&self, index: Index, k: &[u8], path: &Path) -> Result<Option<u64>, StoreError>;
    fn import(&self, id: u64, path: &Path) -> Result<Option<ImportRecord>, StoreError>;
    fn org(&self, lowered: &str, path: &Path) -> Result<Option<Org>, StoreError>;
    fn record(&self, k: &[u8], path: &Path) -> Result<Option<Vec<u8>>, StoreError>;
    /// Every record with a key in `lo..hi`.
    fn record_range(&self, lo: &[u8], hi: &[u8], path: &Path) -> Result<Rows, StoreError>;
    fn raw(&self, t: Raw, k: &[u8], path: &Path) -> Result<Option<Vec<u8>>, StoreError>;
    /// Every row of `t` with a key in `lo..=hi`.
    fn raw_range(&self, t: Raw, lo: &[u8], hi: &[u8], path: &Path) -> Result<Rows, StoreError>;
    /// Next lead, import, message and campaign ids.
    fn next_ids(&self) -> (u64, u64, u64, u64);
}

impl<B, N, I, O> Reads for Tables<B, N, I, O>
where
    B: ReadableTable<Bytes, Bytes>,
    N: ReadableTable<Bytes, u64>,
    I: ReadableTable<u64, Bytes>,
    O: ReadableTable<&'static str, Bytes>,
{
    fn lead(&self, k: &[u8], path: &Path) -> Result<Option<Lead>, StoreError> {
        self.leads.get(k).at(path)?.map(|v| decode(v.value(), path)).transpose()
    }

    fn index(&self, index: Index, k: &[u8], path: &Path) -> Result<Option<u64>, StoreError> {
        let table = match index {
            Index::UserId => &self.by_user_id,
            Index::Username => &self.by_username,
            Index::Phone => &self.by_phone,
        };
        Ok(table.get(k).at(path)?.map(|v| v.value()))
    }

    fn import(&self, id: u64, path: &Path) -> Result<Option<ImportRecord>, StoreError> {
        self.imports.get(id).at(path)?.map(|v| decode(v.value(), path)).transpose()
    }

    fn org(&self, lowered: &str, path: &Path) -> Result<Option<Org>, StoreError> {
        self.orgs.get(lowered).at(path)?.map(|v| decode(v.value(), path)).transpose()
    }

    fn record(&self, k: &[u8], path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.records.get(k).at(path)?.map(|v| v.value().to_vec()))
    }

    fn record_range(&self, lo: &[u8], hi: &[u8], path: &Path) -> Result<Rows, StoreError> {
        let mut out = Vec::new();
        for row in self.records.range(lo..hi).at(path)? {
            let (k, v) = row.at(path)?;
            out.push((k.value().to_vec(), v.value().to_vec()));
        }
        Ok(out)
    }

    fn raw(&self, t: Raw, k: &[u8], path: &Path) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.raw[t as usize].get(k).at(path)?.map(|v| v.value().to_vec()))
    }

    fn raw_range(&self, t: Raw, lo: &[u8], hi: &[u8], path: &Path) -> Result<Rows, StoreError> {
        let mut out = Vec::new();
        for row in self.raw[t as usize].range(lo..=hi).at(path)? {
            let (k, v) = row.at(path)?;
            out.push((k.value().to_vec(), v.value().to_vec()));
        }
        Ok(out)
    }

    fn next_ids(&self) -> (u64, u64, u64, u64) {
        (self.next_lead_id, self.next_import_id, self.next_message_id, self.next_campaign_id)
    }
}

/// Opens every table a batch reads, from either kind of transaction (their `open_table`s differ).
macro_rules! open_tables {
    ($txn:expr, $path:expr) => {{
        let (txn, path) = ($txn, $path);
        let meta = txn.open_table(META).at(path)?;
        let next_lead_id = meta.get("next_lead_id").at(path)?.map(|v| v.value()).unwrap_or(1);
        let next_import_id = meta.get("next_import_id").at(path)?.map(|v| v.value()).unwrap_or(1);
        let next_message_id = meta.get("next_message_id").at(path)?.map(|v| v.value()).unwrap_or(1);
        let next_campaign_id = meta.get("next_campaign_id").at(path)?.map(|v| v.value()).unwrap_or(1);
        drop(meta);
        Ok(Tables {
            leads: txn.open_table(LEADS).at(path)?,
            records: txn.open_table(RECORDS).at(path)?,
            by_user_id: txn.open_table(BY_USER_ID).at(path)?,
            by_username: txn.open_table(BY_USERNAME).at(path)?,
            by_phone: txn.open_table(BY_PHONE).at(path)?,
            imports: txn.open_table(IMPORTS).at(path)?,
            orgs: txn.open_table(ORGS).at(path)?,
            raw: [
                txn.open_table(MESSAGES).at(path)?,
                txn.open_table(TG_MESSAGES).at(path)?,
                txn.open_table(OUTBOX).at(path)?,
                txn.open_table(PEERS).at(path)?,
                txn.open_table(RECIPIENTS).at(path)?,
                txn.open_table(LEAD_CAMPAIGNS).at(path)?,
                txn.open_table(CAMPAIGN_DUE).at(path)?,
            ],
            next_lead_id,
            next_import_id,
            next_message_id,
            next_campaign_id,
        })
    }};
}

impl<'t> Writable<'t> {
    pub(in crate::store) fn open(txn: &'t WriteTransaction, path: &Path) -> Result<Self, StoreError> {
        open_tables!(txn, path)
    }
}

impl Snapshot {
    pub(in crate::store) fn open(txn: &ReadTransaction, path: &Path) -> Result<Self, StoreError> {
        open_tables!(txn, path)
    }
}
