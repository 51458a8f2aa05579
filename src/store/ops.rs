//! What can be written: the ops a writer request carries, and what each one came to.

use super::lease::Holder;
use crate::model::{Candidate, ImportRecord, LeadError, MatchKey};
use crate::workspace::Role;

/// Who is writing, and into which workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteCtx {
    pub workspace: String,
    pub actor: String,
}

#[derive(Debug, Clone)]
pub enum WriteOp {
    /// The dedup upsert: match on user id, then username, then phone; create when nothing matches.
    Upsert(Candidate),
    /// An edit of a known lead. Identifiers owned by another lead are refused, not merged.
    Edit {
        id: u64,
        cand: Candidate,
    },
    /// An edit made from what the editor saw: each (field, text) must still read so (see
    /// `Lead::field_text`), or the edit is refused naming the field, so nobody's change is
    /// silently reverted.
    EditChecked {
        id: u64,
        cand: Candidate,
        expect: Vec<(&'static str, String)>,
    },
    Delete {
        id: u64,
    },
    /// Allocates an import id and stores the record; answers `Recorded`.
    BeginImport(ImportRecord),
    /// Overwrites the record of an import begun earlier.
    FinishImport(ImportRecord),
    /// Adds this request's upserts so far, and `rejected` rows refused before they were sent, to
    /// the record of import `id`, in the transaction that commits them: a killed import's record
    /// says exactly how far it got.
    ImportChunk {
        id: u64,
        rejected: u64,
    },
    /// Labels for custom field keys (the original headers); existing labels are kept.
    FieldLabels(Vec<(String, String)>),
    /// Organization management; the acting user is `WriteCtx::actor`.
    Org(OrgOp),
    /// Reads a record and writes back what `update` makes of it, inside the writer's transaction,
    /// so two writers changing one record (two crawls, two processes) never undo each other.
    UpdateRecord {
        kind: RecordKind,
        name: String,
        update: RecordUpdate,
    },
    /// Takes or renews the lease `name` in the writer's workspace for `holder`, for `ttl_ms` from
    /// now. Held by another live holder, it answers `Denied` saying by whom, and so does every
    /// later op of the same request: put it first, and the request is applied only while its
    /// holder holds the lease (see `Lease`).
    Lease {
        name: String,
        holder: Holder,
        ttl_ms: i64,
    },
    /// Gives the lease up, if `run` still holds it.
    Release {
        name: String,
        run: u64,
    },
    /// Messages, the outbox and peers: see `TalkOp`.
    Talk(super::talk::TalkOp),
    /// Campaigns and their recipients: see `CampaignOp`.
    Campaign(super::campaign::CampaignOp),
    /// Stores (or with `None`, removes) a record under the writer's workspace; see `RecordKind`.
    Record {
        kind: RecordKind,
        name: String,
        value: Option<Vec<u8>>,
    },
}

/// Small named records kept beside the leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// A Telegram account of this data dir (workspace ""): sessions are files in the data dir.
    Account,
    /// A crawl of one target in a workspace: its checkpoint while it runs, its cache when done.
    Crawl,
    /// A saved filter of a workspace.
    Segment,
    /// Who is doing a piece of work now (a crawl of a target), so two never do it at once.
    Lease,
    /// A crawl handed to the process that runs the accounts it needs (workspace "", like accounts).
    CrawlRequest,
    /// A campaign of a workspace, named by its id (see `campaign::Campaign`).
    Campaign,
}

impl RecordKind {
    pub fn from_byte(b: u8) -> Option<RecordKind> {
        [
            RecordKind::Account,
            RecordKind::Crawl,
            RecordKind::Segment,
            RecordKind::Lease,
            RecordKind::CrawlRequest,
            RecordKind::Campaign,
        ]
        .into_iter()
        .find(|k| k.byte() == b)
    }

    pub fn byte(self) -> u8 {
        match self {
            RecordKind::Account => b'a',
            RecordKind::Crawl => b'c',
            RecordKind::Segment => b's',
            RecordKind::Lease => b'l',
            RecordKind::CrawlRequest => b'q',
            RecordKind::Campaign => b'm',
        }
    }

    /// Kept for the data dir rather than a workspace (accounts are shared by processes, not views).
    pub fn is_global(self) -> bool {
        matches!(self, RecordKind::Account | RecordKind::CrawlRequest)
    }

    pub(super) fn prefixed(self, k: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(k.len() + 1);
        out.push(self.byte());
        out.extend_from_slice(k);
        out
    }
}

impl WriteOp {
    pub fn record<T: serde::Serialize>(kind: RecordKind, name: &str, value: &T) -> WriteOp {
        WriteOp::Record { kind, name: name.to_string(), value: Some(super::encode(value)) }
    }

    /// A read-modify-write of a typed record: `f` gets the stored value (None when there is none,
    /// or it cannot be read) and answers the new one (None removes it).
    pub fn update_record<T, F>(kind: RecordKind, name: &str, f: F) -> WriteOp
    where
        T: serde::Serialize + serde::de::DeserializeOwned,
        F: Fn(Option<T>) -> Option<T> + Send + Sync + 'static,
    {
        let update = move |old: Option<&[u8]>| {
            let old = old.and_then(|b| postcard::from_bytes::<T>(b).ok());
            f(old).map(|v| super::encode(&v))
        };
        WriteOp::UpdateRecord { kind, name: name.to_string(), update: RecordUpdate(std::sync::Arc::new(update)) }
    }
}

/// A record's read-modify-write, run by the writer on the stored bytes.
#[derive(Clone)]
pub struct RecordUpdate(pub std::sync::Arc<UpdateFn>);

/// The stored bytes (None: no record) to the bytes to store (None: remove it).
pub type UpdateFn = dyn Fn(Option<&[u8]>) -> Option<Vec<u8>> + Send + Sync;

impl std::fmt::Debug for RecordUpdate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecordUpdate(..)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgOp {
    Create {
        name: String,
    },
    AddMember {
        org: String,
        user: String,
        role: Role,
    },
    RemoveMember {
        org: String,
        user: String,
    },
    SetRole {
        org: String,
        user: String,
        role: Role,
    },
    SetViewAll {
        org: String,
        value: bool,
    },
    /// Remember the workspace (a key such as `o:acme` or `u:alice`) the actor works in.
    Use {
        workspace: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Created {
        id: u64,
    },
    Updated {
        id: u64,
        matched_on: Option<MatchKey>,
    },
    Unchanged {
        id: u64,
    },
    Deleted {
        id: u64,
    },
    Recorded {
        id: u64,
    },
    Rejected(LeadError),
    /// A permission rule refused the op; the message names the rule.
    Denied(String),
}

impl Outcome {
    pub fn id(&self) -> Option<u64> {
        match self {
            Outcome::Created { id }
            | Outcome::Updated { id, .. }
            | Outcome::Unchanged { id }
            | Outcome::Deleted { id }
            | Outcome::Recorded { id } => Some(*id),
            Outcome::Rejected(_) | Outcome::Denied(_) => None,
        }
    }
}
