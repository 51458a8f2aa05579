//! Campaigns in the store: the campaign records, their recipients, each lead's campaigns and
//! each account's queue of due recipients, and the reads the runner, the CLI and the TUI make.

use redb::ReadableDatabase;

use super::schema::*;
use super::{decode, AtPath, RecordKind, Store, StoreError};
use crate::campaign::{Campaign, CampaignState, Recipient};
use crate::model::Millis;

/// Ops of campaigns; see `WriteOp::Campaign`. Each answers `Recorded { id }` (the campaign's, or
/// the queued message's for a dispatch), `Rejected` naming what is wrong, or `Denied`.
#[derive(Debug, Clone)]
pub enum CampaignOp {
    /// Stores a new campaign (a draft); its id is assigned here. A name in use is refused.
    Create(Box<Campaign>),
    /// Adds these leads to the campaign's recipients (launching): each is checked by the status
    /// rules and the templates, and gets its account. A lead already in is left as it is, so a
    /// launch that was killed is run again from the start.
    Enroll { campaign: u64, leads: Vec<u64> },
    /// Launch (from launching), pause, resume (which also clears circuit breakers) or cancel.
    SetState { campaign: u64, state: CampaignState, at: Millis },
    /// Queues the recipient's next step in `account`'s outbox, after checking it again: a lead
    /// blocked, archived, marked do-not-contact, gone quiet by reply or reached by another
    /// campaign within the period since is skipped with the reason (answers `Unchanged`).
    Dispatch { campaign: u64, lead: u64, account: String, at: Millis },
    /// A circuit breaker: `why` stops (None lets go) every live campaign of the workspace from
    /// queuing on `account`.
    Breaker { account: String, why: Option<String> },
    /// Marks the campaign done when nothing is due or in flight any more.
    Finish { campaign: u64, at: Millis },
}

/// See `Store::due_heads`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueHeads {
    pub first: Option<(Millis, u64)>,
    pub follow_up: Option<(Millis, u64)>,
}

/// Big-endian bytes of the ids, concatenated.
fn ids(a: u64, b: u64) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&a.to_be_bytes());
    k[8..].copy_from_slice(&b.to_be_bytes());
    k
}

pub(super) fn recipient_key(ws: &str, campaign: u64, lead: u64) -> Vec<u8> {
    key(ws, &ids(campaign, lead))
}

/// The key range of a campaign's recipients.
pub(super) fn recipients_range(ws: &str, campaign: u64) -> (Vec<u8>, Vec<u8>) {
    (recipient_key(ws, campaign, 0), recipient_key(ws, campaign, u64::MAX))
}

pub(super) fn lead_campaign_key(ws: &str, lead: u64, campaign: u64) -> Vec<u8> {
    key(ws, &ids(lead, campaign))
}

pub(super) fn lead_campaigns_range(ws: &str, lead: u64) -> (Vec<u8>, Vec<u8>) {
    (lead_campaign_key(ws, lead, 0), lead_campaign_key(ws, lead, u64::MAX))
}

/// `ws ∅ campaign account ∅`: the prefix of one account's queue in a campaign.
fn due_prefix(ws: &str, campaign: u64, account: &str) -> Vec<u8> {
    let mut rest = campaign.to_be_bytes().to_vec();
    rest.extend_from_slice(account.as_bytes());
    rest.push(0);
    key(ws, &rest)
}

pub(super) fn due_key(ws: &str, campaign: u64, account: &str, due: Millis, lead: u64) -> Vec<u8> {
    let mut k = due_prefix(ws, campaign, account);
    k.extend_from_slice(&ids(due.max(0) as u64, lead));
    k
}

/// The key range of one account's queue in a campaign.
pub(super) fn due_range(ws: &str, campaign: u64, account: &str) -> (Vec<u8>, Vec<u8>) {
    let lo = due_prefix(ws, campaign, account);
    let mut hi = lo.clone();
    hi.extend_from_slice(&[0xff; 16]);
    (lo, hi)
}

/// The key range of every account's queue in a campaign.
pub(super) fn due_campaign_range(ws: &str, campaign: u64) -> (Vec<u8>, Vec<u8>) {
    (key(ws, &campaign.to_be_bytes()), key(ws, &(campaign + 1).to_be_bytes()))
}

/// (due, lead) from a `CAMPAIGN_DUE` key.
pub(super) fn due_of(k: &[u8]) -> Option<(Millis, u64)> {
    let tail = k.get(k.len().checked_sub(16)?..)?;
    let due = u64::from_be_bytes(tail[..8].try_into().ok()?);
    let lead = u64::from_be_bytes(tail[8..].try_into().ok()?);
    Some((due as Millis, lead))
}

/// A campaign's record name: its id, zero-padded so the records sort by id.
pub fn record_name(id: u64) -> String {
    format!("{id:020}")
}

impl Store {
    /// The workspace's campaigns, oldest first.
    pub fn campaigns(&self, workspace: &str) -> Result<Vec<Campaign>, StoreError> {
        Ok(self.records::<Campaign>(RecordKind::Campaign, workspace)?.into_iter().map(|(_, c)| c).collect())
    }

    pub fn campaign(&self, workspace: &str, id: u64) -> Result<Option<Campaign>, StoreError> {
        self.record(RecordKind::Campaign, workspace, &record_name(id))
    }

    /// A campaign by name (names are unique in a workspace, compared without case).
    pub fn campaign_named(&self, workspace: &str, name: &str) -> Result<Option<Campaign>, StoreError> {
        let name = name.trim().to_lowercase();
        Ok(self.campaigns(workspace)?.into_iter().find(|c| c.name.to_lowercase() == name))
    }

    /// Every recipient of a campaign, in lead id order.
    pub fn recipients(&self, workspace: &str, campaign: u64) -> Result<Vec<Recipient>, StoreError> {
        let p = self.path.as_path();
        let txn = self.db.begin_read().at(p)?;
        let table = txn.open_table(RECIPIENTS).at(p)?;
        let (lo, hi) = recipients_range(workspace, campaign);
        let mut out = Vec::new();
        for row in table.range(lo.as_slice()..=hi.as_slice()).at(p)? {
            let (_, v) = row.at(p)?;
            out.push(decode(v.value(), p)?);
        }
        Ok(out)
    }

    pub fn recipient(&self, workspace: &str, campaign: u64, lead: u64) -> Result<Option<Recipient>, StoreError> {
        let p = self.path.as_path();
        let txn = self.db.begin_read().at(p)?;
        let table = txn.open_table(RECIPIENTS).at(p)?;
        let found = table.get(recipient_key(workspace, campaign, lead).as_slice()).at(p)?;
        found.map(|v| decode(v.value(), p)).transpose()
    }

    /// The campaigns a lead is in, with its state in each.
    pub fn lead_campaigns(&self, workspace: &str, lead: u64) -> Result<Vec<(Campaign, Recipient)>, StoreError> {
        let p = self.path.as_path();
        let txn = self.db.begin_read().at(p)?;
        let index = txn.open_table(LEAD_CAMPAIGNS).at(p)?;
        let recipients = txn.open_table(RECIPIENTS).at(p)?;
        let (lo, hi) = lead_campaigns_range(workspace, lead);
        let mut out = Vec::new();
        for row in index.range(lo.as_slice()..=hi.as_slice()).at(p)? {
            let (k, _) = row.at(p)?;
            let Some((_, campaign)) = due_of(k.value()) else { continue };
            let Some(c) = self.campaign(workspace, campaign)? else { continue };
            if let Some(v) = recipients.get(recipient_key(workspace, campaign, lead).as_slice()).at(p)? {
                out.push((c, decode(v.value(), p)?));
            }
        }
        Ok(out)
    }

    /// The heads of `account`'s queue in a campaign, as (due, lead): the first message's (due 0,
    /// in audience order) and the earliest follow-up's, so follow-ups never wait behind a long
    /// audience.
    pub fn due_heads(&self, workspace: &str, campaign: u64, account: &str) -> Result<DueHeads, StoreError> {
        let p = self.path.as_path();
        let txn = self.db.begin_read().at(p)?;
        let table = txn.open_table(CAMPAIGN_DUE).at(p)?;
        let (lo, hi) = due_range(workspace, campaign, account);
        let split = due_key(workspace, campaign, account, 1, 0);
        let head = |lo: &[u8], hi: &[u8]| -> Result<Option<(Millis, u64)>, StoreError> {
            match table.range(lo..hi).at(p)?.next() {
                Some(row) => Ok(due_of(row.at(p)?.0.value())),
                None => Ok(None),
            }
        };
        Ok(DueHeads { first: head(&lo, &split)?, follow_up: head(&split, &hi)? })
    }

    /// Whether any recipient of the campaign waits in any account's queue.
    pub fn due_any(&self, workspace: &str, campaign: u64) -> Result<bool, StoreError> {
        let p = self.path.as_path();
        let txn = self.db.begin_read().at(p)?;
        let table = txn.open_table(CAMPAIGN_DUE).at(p)?;
        let (lo, hi) = due_campaign_range(workspace, campaign);
        Ok(table.range(lo.as_slice()..hi.as_slice()).at(p)?.next().is_some())
    }

    /// How many recipients wait in each account's queue of a campaign.
    pub fn due_counts(&self, workspace: &str, campaign: &Campaign) -> Result<Vec<(String, u64)>, StoreError> {
        let p = self.path.as_path();
        let txn = self.db.begin_read().at(p)?;
        let table = txn.open_table(CAMPAIGN_DUE).at(p)?;
        let mut out = Vec::new();
        for a in &campaign.accounts {
            let (lo, hi) = due_range(workspace, campaign.id, a);
            let n = table.range(lo.as_slice()..=hi.as_slice()).at(p)?.count() as u64;
            out.push((a.clone(), n));
        }
        Ok(out)
    }
}
