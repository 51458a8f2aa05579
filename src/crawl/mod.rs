//! Crawling: turning the members of a Telegram group or channel into leads.
//!
//! A crawl picks its methods from what the chat allows ([`plan`]), sends every request through
//! the account [`pool`] (pacing, flood waits, account rotation), upserts each page of members
//! together with its checkpoint in one write (so a crash resumes exactly where the last page
//! landed), and leaves a record that serves as the 24-hour cache. A lease on the target, renewed
//! by every checkpoint, keeps two crawls of one target (in one process or two) from running at once.

pub mod account;
pub mod backend;
pub mod handoff;
mod plan;
pub mod pool;
mod run;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

pub use plan::{fallback, plan};
use pool::{Account, Pacing, Pool, PoolError, Reply, Request, Which};
use run::{cached, lease_name, Release, Run};

use crate::model::{now_millis, LeadInput, Millis, Source};
use crate::normalize;
use crate::store::{Holder, Outcome, RecordKind, Store, StoreError, WriteCtx, WriteOp};
use crate::telegram::{
    Member, ParticipantFilter, Target, TelegramSource, TgError, HISTORY_PAGE, PARTICIPANTS_CAP, PARTICIPANTS_PAGE,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// The plain member list (Telegram stops it at 10,000).
    Participants,
    /// Member search over letters and digits, recursing into longer prefixes when a query saturates.
    Search,
    Admins,
    /// The authors of the message history.
    History,
    /// A broadcast channel's discussion group.
    Linked,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Participants => "participants",
            Method::Search => "search",
            Method::Admins => "admins",
            Method::History => "history",
            Method::Linked => "linked",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    pub target: Target,
    /// None: choose automatically.
    pub method: Option<Method>,
    pub refresh: bool,
    pub join: bool,
    pub photos: bool,
    pub history_depth: u32,
    pub cache_ttl: Duration,
    pub pacing: Pacing,
}

/// What a crawl has done so far; kept in its record and reported live.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub requests: u64,
    pub flood_waits: u64,
    /// Distinct members seen, bots and deleted accounts included.
    pub members_seen: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub skipped_bots: u64,
    pub skipped_deleted: u64,
    /// Members whose data the store refused, with the reason in the warnings.
    pub skipped_invalid: u64,
    pub photos: u64,
}

/// Progress, posted as it happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Started {
        title: String,
        methods: Vec<Method>,
        resumed: bool,
    },
    Method(Method),
    Progress(Counts),
    /// Leads this page created or updated, for views that show them live.
    Leads(Vec<u64>),
    /// An account hit FLOOD_WAIT and is benched for this long.
    FloodWait {
        account: String,
        seconds: u64,
    },
    /// Every account is waiting; the crawl resumes by itself in this many seconds.
    Waiting {
        seconds: u64,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Running,
    Cancelled,
    Failed,
    Done,
}

/// Where the current method stopped.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Position {
    #[default]
    Start,
    Offset(u32),
    /// Queries still to run (a stack), and the one being paged.
    Search {
        pending: Vec<String>,
        current: Option<(String, u32)>,
    },
    History {
        offset_id: i32,
        read: u32,
    },
}

/// One target's crawl in one workspace: the checkpoint while it runs, the cache once done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrawlRecord {
    pub target: String,
    pub title: String,
    pub state: State,
    pub error: Option<String>,
    pub plan: Vec<Method>,
    pub done: Vec<Method>,
    pub position: Position,
    pub counts: Counts,
    /// User ids already upserted by this crawl; emptied when it finishes.
    pub seen: Vec<u64>,
    pub warnings: Vec<String>,
    pub started_at: Millis,
    pub finished_at: Option<Millis>,
    pub by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub target: String,
    pub title: String,
    pub methods: Vec<Method>,
    #[serde(flatten)]
    pub counts: Counts,
    pub cache_used: bool,
    /// When the crawl that the cache holds finished.
    pub cached_at: Option<Millis>,
    pub resumed: bool,
    pub cancelled: bool,
    pub elapsed_ms: u64,
    pub warnings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum CrawlError {
    #[error("{target}: {error}")]
    Telegram { target: String, error: TgError },
    #[error("{0}: a broadcast channel without a discussion group; its subscribers can only be listed by its admins")]
    NoLinkedChat(String),
    #[error("no Telegram account to crawl with; add one with `reach account add NAME`")]
    NoAccounts,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Denied(String),
    #[error("saving a photo to {path}: {error}")]
    Photo { path: PathBuf, error: std::io::Error },
}

/// Why a crawl stopped before finishing.
enum Halt {
    Pool(PoolError),
    Store(StoreError),
    Denied(String),
}

impl From<PoolError> for Halt {
    fn from(e: PoolError) -> Halt {
        Halt::Pool(e)
    }
}

impl From<StoreError> for Halt {
    fn from(e: StoreError) -> Halt {
        Halt::Store(e)
    }
}

/// Where and as whom a crawl writes.
pub struct Sink<'a> {
    pub store: &'a Store,
    pub ctx: WriteCtx,
    pub data_dir: &'a Path,
}

/// Runs (or resumes, or answers from the cache) one crawl.
pub async fn crawl<S: TelegramSource>(
    sink: &Sink<'_>,
    accounts: Vec<Account<S>>,
    opts: &Options,
    cancel: Arc<AtomicBool>,
    progress: &mut dyn FnMut(Event),
) -> Result<Summary, CrawlError> {
    let started = Instant::now();
    let key = opts.target.key();
    let ws = sink.ctx.workspace.as_str();
    let previous: Option<CrawlRecord> = sink.store.record(RecordKind::Crawl, ws, &key)?;
    if let Some(summary) = cached(previous.as_ref(), opts, started) {
        return Ok(summary);
    }
    if accounts.is_empty() {
        return Err(CrawlError::NoAccounts);
    }
    let holder = Holder::new_run(&sink.ctx.actor);
    run::take_lease(sink, &key, &holder).await?.map_err(CrawlError::Denied)?;
    // From here every way out gives the lease up, a panic included.
    let _release = Release { store: sink.store, ctx: sink.ctx.clone(), name: lease_name(&key), run: holder.run };
    // Read again under the lease: the crawl that held it may have checkpointed, or finished, since.
    let previous = sink.store.record(RecordKind::Crawl, ws, &key)?;
    if let Some(summary) = cached(previous.as_ref(), opts, started) {
        return Ok(summary);
    }
    let mut pool = Pool::new(accounts, opts.pacing, opts.target.clone(), opts.join, cancel);
    let mut run = Run {
        sink,
        opts,
        key,
        holder,
        renewed: Instant::now(),
        rec: None,
        seen: HashSet::new(),
        resumed: false,
        base_requests: 0,
        base_floods: 0,
    };
    let result = run.go(&mut pool, previous, progress).await;
    let floods = account::remember_flood_waits(sink.store, &pool.benched).await;
    let cancelled = matches!(result, Err(Halt::Pool(PoolError::Cancelled)));
    if let Some(rec) = run.rec.as_mut() {
        match &result {
            Ok(()) => {
                rec.state = State::Done;
                rec.finished_at = Some(now_millis());
                rec.seen = Vec::new();
                rec.position = Position::Start;
            }
            Err(Halt::Pool(PoolError::Cancelled)) => rec.state = State::Cancelled,
            Err(e) => {
                rec.state = State::Failed;
                rec.error = Some(describe(e));
            }
        }
        let rec = rec.clone();
        // A store that failed mid-crawl will likely fail this too; the first error is the one to report.
        let saved = run.save(Vec::new(), &rec).await;
        if let (Ok(()), Err(e)) = (&result, saved) {
            return Err(match e {
                Halt::Store(e) => e.into(),
                other => CrawlError::Denied(describe(&other)),
            });
        }
    }
    floods?;
    match result {
        Ok(()) | Err(Halt::Pool(PoolError::Cancelled)) => {}
        Err(Halt::Pool(PoolError::Telegram(error))) => {
            return Err(CrawlError::Telegram { target: opts.target.to_string(), error })
        }
        Err(Halt::Pool(PoolError::NoLinkedChat)) => return Err(CrawlError::NoLinkedChat(opts.target.to_string())),
        Err(Halt::Store(e)) => return Err(e.into()),
        Err(Halt::Denied(why)) => return Err(CrawlError::Denied(why)),
    }
    let resumed = run.resumed;
    let rec = run.rec.unwrap_or_else(|| empty_record(opts, &sink.ctx.actor));
    Ok(Summary {
        target: opts.target.to_string(),
        title: rec.title,
        methods: rec.done,
        counts: rec.counts,
        cache_used: false,
        cached_at: None,
        resumed,
        cancelled,
        elapsed_ms: started.elapsed().as_millis() as u64,
        warnings: rec.warnings,
    })
}

fn describe(e: &Halt) -> String {
    match e {
        Halt::Pool(PoolError::Cancelled) => "cancelled".into(),
        Halt::Pool(PoolError::Telegram(t)) => t.to_string(),
        Halt::Pool(PoolError::NoLinkedChat) => "no discussion group".into(),
        Halt::Store(e) => e.to_string(),
        Halt::Denied(why) => why.clone(),
    }
}

fn empty_record(opts: &Options, by: &str) -> CrawlRecord {
    CrawlRecord {
        target: opts.target.to_string(),
        title: String::new(),
        state: State::Running,
        error: None,
        plan: Vec::new(),
        done: Vec::new(),
        position: Position::Start,
        counts: Counts::default(),
        seen: Vec::new(),
        warnings: Vec::new(),
        started_at: now_millis(),
        finished_at: None,
        by: by.to_string(),
    }
}

/// A workspace key (`u:alice`, `o:acme`) as a directory name.
pub fn workspace_dir(ws: &str) -> String {
    ws.replace(':', "-")
}

#[cfg(test)]
mod tests;
