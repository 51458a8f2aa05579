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

impl ImportRecord {
    /// The record of an import starting now: incomplete, nothing counted yet, its id to come.
    pub fn begin(workspace: &str, user: &str, file_name: String) -> ImportRecord {
        ImportRecord {
            id: 0,
            workspace: workspace.to_string(),
            file_name,
            content_hash: String::new(),
            user: user.to_string(),
            started_at: super::now_millis(),
            finished_at: None,
            state: ImportState::Incomplete,
            rows: 0,
            created: 0,
            updated: 0,
            unchanged: 0,
            rejected: 0,
        }
    }
}
