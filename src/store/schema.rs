//! Table definitions and the schema version.
//!
//! Every key starts with the workspace key and a NUL byte, so a dedup match, a listing or a facet
//! count can never reach across workspaces: isolation and dedup are one mechanism. Keys are flat
//! bytes rather than tuples because redb compares byte keys with one memcmp, and the index inserts
//! of a large import are dominated by key comparisons.

use redb::TableDefinition;

/// 1: leads, history, indexes, imports. 2: organizations and each user's current workspace.
/// 3: records (Telegram accounts, crawls with their checkpoints and cache, segments).
/// 4: the change feed (`feed`, and `feed_seq` in meta), which every write transaction appends to.
/// 5: conversations: messages, the outbox, per-account peers; leads carry their conversation state.
/// 6: campaigns: recipients, each lead's campaigns, and what is due when.
/// 7: a history row holds every entry one transaction appended to a lead, not one entry.
/// 8: the facet index keeps blocks of lead ids (see `facets`), not one multimap entry per lead.
pub const SCHEMA_VERSION: u64 = 8;

/// `schema_version`, `next_lead_id`, `next_import_id`, `feed_seq`.
pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// ws ∅ lead id (big-endian) -> postcard-encoded `Lead`.
pub const LEADS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("leads");
/// (lead id, number of the row's first entry) -> postcard-encoded `Vec<Activity>`: the entries one
/// transaction appended, so a merge that updates fields and tags is one insert, not three. Append-only.
pub const HISTORY: TableDefinition<(u64, u32), &[u8]> = TableDefinition::new("history");
/// ws ∅ telegram user id (big-endian) -> lead id.
pub const BY_USER_ID: TableDefinition<&[u8], u64> = TableDefinition::new("idx_user_id");
/// ws ∅ lowercased username -> lead id.
pub const BY_USERNAME: TableDefinition<&[u8], u64> = TableDefinition::new("idx_username");
/// ws ∅ E.164 phone -> lead id.
pub const BY_PHONE: TableDefinition<&[u8], u64> = TableDefinition::new("idx_phone");
/// ws ∅ facet length facet (a tag `t:vip` or a group `g:…`) first lead id -> a block of that facet's
/// lead ids, for filters: see `facets`.
pub const FACETS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("idx_facet_blocks");
/// import id -> postcard-encoded `ImportRecord`.
pub const IMPORTS: TableDefinition<u64, &[u8]> = TableDefinition::new("imports");
/// ws ∅ custom field key -> the header it was first imported from, shown as its label.
pub const FIELD_LABELS: TableDefinition<&[u8], &str> = TableDefinition::new("field_labels");

/// lowercased org name -> postcard-encoded `Org`.
pub const ORGS: TableDefinition<&str, &[u8]> = TableDefinition::new("orgs");
/// user -> the workspace key `reach org use` chose.
pub const USER_WORKSPACE: TableDefinition<&str, &str> = TableDefinition::new("user_workspace");

/// kind byte, then `ws ∅ name` -> a postcard-encoded record; see `RecordKind`.
pub const RECORDS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("records");

/// ws ∅ lead id (big-endian) message id (big-endian) -> postcard-encoded `Message`: a thread is a range.
pub const MESSAGES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("messages");
/// account ∅ Telegram message id (big-endian) -> the `MESSAGES` key. A user account numbers the
/// messages of all its private chats in one sequence, so the pair is unique.
pub const TG_MESSAGES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("idx_tg_message");
/// account ∅ sequence (big-endian) -> postcard-encoded `OutboxItem`: each account's queue, in order.
pub const OUTBOX: TableDefinition<&[u8], &[u8]> = TableDefinition::new("outbox");
/// account ∅ Telegram user id (big-endian) -> postcard-encoded `Peer`: access hashes are per account.
pub const PEERS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("peers");

/// ws ∅ campaign id lead id (both big-endian) -> postcard-encoded `campaign::Recipient`.
pub const RECIPIENTS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("campaign_recipients");
/// ws ∅ lead id campaign id -> nothing: the campaigns a lead is in.
pub const LEAD_CAMPAIGNS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("lead_campaigns");
/// ws ∅ campaign id, account ∅, due time, lead id -> nothing: each account's queue of a campaign,
/// earliest first, so the runner finds its next recipient with one range read.
pub const CAMPAIGN_DUE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("campaign_due");

pub use super::feed::FEED;

/// `ws ∅ rest`. Workspace keys never contain NUL (user and organization names are validated).
pub fn key(ws: &str, rest: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(ws.len() + 1 + rest.len());
    k.extend_from_slice(ws.as_bytes());
    k.push(0);
    k.extend_from_slice(rest);
    k
}

pub fn id_key(ws: &str, id: u64) -> Vec<u8> {
    key(ws, &id.to_be_bytes())
}

/// The byte range holding every key of a workspace: `ws ∅ ..` up to `ws \x01`.
pub fn ws_range(ws: &str) -> (Vec<u8>, Vec<u8>) {
    let mut lo = ws.as_bytes().to_vec();
    lo.push(0);
    let mut hi = ws.as_bytes().to_vec();
    hi.push(1);
    (lo, hi)
}

/// The part of a key after the workspace prefix.
pub fn key_rest(k: &[u8]) -> &[u8] {
    match k.iter().position(|b| *b == 0) {
        Some(i) => &k[i + 1..],
        None => k,
    }
}
