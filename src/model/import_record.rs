use serde::{Deserialize, Serialize};

use super::Millis;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportState {
    /// Started and not finished: still running, or the process was killed (re-run the import to complete it).
    Incomplete,
    Completed,
    Cancelled,
}

/// One run of `reach import`, kept so lead history can point at it and `reach imports` can list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRecord {
    pub id: u64,
    pub workspace: String,
    pub file_name: String,
    /// blake3 of the file's bytes, hex.
    pub content_hash: String,
    pub user: String,
    pub started_at: Millis,
    pub finished_at: Option<Millis>,
    pub state: ImportState,
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
}
