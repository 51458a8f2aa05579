//! Table definitions and the schema version. Every index key starts with the workspace key,
//! so a dedup match or a listing can never reach across workspaces.

use redb::{MultimapTableDefinition, TableDefinition};

pub const SCHEMA_VERSION: u64 = 1;

/// `schema_version`, `next_lead_id`, `next_import_id`.
pub const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// (workspace, lead id) -> postcard-encoded `Lead`.
pub const LEADS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("leads");
/// (lead id, sequence) -> postcard-encoded `Activity`. Append-only.
pub const HISTORY: TableDefinition<(u64, u32), &[u8]> = TableDefinition::new("history");
/// (workspace, telegram user id) -> lead id.
pub const BY_USER_ID: TableDefinition<(&str, u64), u64> = TableDefinition::new("idx_user_id");
/// (workspace, lowercased username) -> lead id.
pub const BY_USERNAME: TableDefinition<(&str, &str), u64> = TableDefinition::new("idx_username");
/// (workspace, E.164 phone) -> lead id.
pub const BY_PHONE: TableDefinition<(&str, &str), u64> = TableDefinition::new("idx_phone");
/// (workspace, facet such as `s:active` or `t:vip`) -> lead ids, for filters and facet counts.
pub const FACETS: MultimapTableDefinition<(&str, &str), u64> = MultimapTableDefinition::new("idx_facets");
/// import id -> postcard-encoded `ImportRecord`.
pub const IMPORTS: TableDefinition<u64, &[u8]> = TableDefinition::new("imports");
/// (workspace, custom field key) -> the header it was first imported from, shown as its label.
pub const FIELD_LABELS: TableDefinition<(&str, &str), &str> = TableDefinition::new("field_labels");
