//! Crawling: turning the members of a Telegram group or channel into leads.
//!
//! A crawl picks its methods from what the chat allows ([`plan`]), sends every request through
//! the account [`pool`] (pacing, flood waits, account rotation), upserts each page of members
//! together with its checkpoint in one write (so a crash resumes exactly where the last page
//! landed), and leaves a record that serves as the 24-hour cache. A lease on the target, renewed
//! by every checkpoint, keeps two crawls of one target (in one process or two) from running at once.

pub mod account;
pub mod backend;
mod plan;
pub mod pool;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

pub use plan::{fallback, plan};
use pool::{Account, Pacing, Pool, PoolError, Reply, Request, Which};

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

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
    let claim = sink.store.submit(sink.ctx.clone(), vec![lease(&key, &holder)])?.done().await?;
    if let Some(Outcome::Denied(why)) = claim.into_iter().next() {
        return Err(CrawlError::Denied(why));
    }
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

/// The letters a search fan-out starts from and extends with.
const LATIN: &str = "abcdefghijklmnopqrstuvwxyz0123456789";
const CYRILLIC: &str = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя";
/// A query this long that still saturates is paged as far as Telegram allows, with a warning.
const MAX_QUERY_CHARS: usize = 12;

fn extensions(q: &str) -> Vec<String> {
    let alphabet = match q.chars().last() {
        None => format!("{LATIN}{CYRILLIC}"),
        Some(c) if CYRILLIC.contains(c) => CYRILLIC.to_string(),
        Some(_) => format!("{LATIN}_"),
    };
    // Reversed, because the pending list is a stack and `a` should run first.
    alphabet.chars().rev().map(|c| format!("{q}{c}")).collect()
}

/// How long a crawl's lease on its target holds unrenewed. Checkpoints renew it, and so does a
/// long page (photos) every third of it; a crawl that sits out a longer flood wait can be taken
/// over meanwhile, and then stops when it wakes.
const LEASE_TTL: Duration = Duration::from_secs(600);

/// The cache's answer: a finished crawl of the target within the TTL (unless `--refresh`).
fn cached(rec: Option<&CrawlRecord>, opts: &Options, started: Instant) -> Option<Summary> {
    let rec = rec.filter(|_| !opts.refresh)?;
    let fresh = rec.finished_at.is_some_and(|t| now_millis() - t < opts.cache_ttl.as_millis() as i64);
    (rec.state == State::Done && fresh).then(|| Summary {
        target: opts.target.to_string(),
        title: rec.title.clone(),
        methods: rec.done.clone(),
        counts: Counts { members_seen: rec.counts.members_seen, ..Counts::default() },
        cache_used: true,
        cached_at: rec.finished_at,
        resumed: false,
        cancelled: false,
        elapsed_ms: started.elapsed().as_millis() as u64,
        warnings: Vec::new(),
    })
}

/// Gives a crawl's lease up when dropped, whichever way the crawl ends. The release is queued,
/// not awaited: were it lost, the next crawl would only wait for the lease to lapse.
struct Release<'a> {
    store: &'a Store,
    ctx: WriteCtx,
    name: String,
    run: u64,
}

impl Drop for Release<'_> {
    fn drop(&mut self) {
        let op = WriteOp::Release { name: std::mem::take(&mut self.name), run: self.run };
        let _ = self.store.submit(self.ctx.clone(), vec![op]);
    }
}

fn lease_name(key: &str) -> String {
    format!("crawl {key}")
}

fn lease(key: &str, holder: &Holder) -> WriteOp {
    WriteOp::Lease { name: lease_name(key), holder: holder.clone(), ttl_ms: LEASE_TTL.as_millis() as i64 }
}

struct Run<'a, 's> {
    sink: &'a Sink<'s>,
    opts: &'a Options,
    key: String,
    holder: Holder,
    /// When the lease was last renewed (every save renews it).
    renewed: Instant,
    rec: Option<CrawlRecord>,
    seen: HashSet<u64>,
    resumed: bool,
    /// Requests and flood waits of the runs this one resumes.
    base_requests: u64,
    base_floods: u64,
}

impl Run<'_, '_> {
    async fn go<S: TelegramSource>(
        &mut self,
        pool: &mut Pool<S>,
        previous: Option<CrawlRecord>,
        progress: &mut dyn FnMut(Event),
    ) -> Result<(), Halt> {
        let resumable = previous.filter(|r| r.state != State::Done && !r.plan.is_empty() && !self.opts.refresh);
        self.resumed = resumable.is_some();
        let mut rec = match resumable {
            Some(rec) => rec,
            None => {
                let info = match pool.call(Which::Main, &Request::Info, progress).await? {
                    Reply::Info(info) => info,
                    _ => return Err(PoolError::Telegram(TgError::Rpc("unexpected answer".into())).into()),
                };
                let mut rec = empty_record(self.opts, &self.sink.ctx.actor);
                rec.title = info.title.clone();
                rec.plan = match self.opts.method {
                    Some(m) => vec![m],
                    None => plan(&info),
                };
                if self.opts.method == Some(Method::Participants) && info.members.is_some_and(|n| n > PARTICIPANTS_CAP)
                {
                    rec.warnings.push(format!(
                        "Telegram lists at most {PARTICIPANTS_CAP} of the {} members; --method search reaches the rest",
                        info.members.unwrap_or_default()
                    ));
                }
                rec
            }
        };
        rec.state = State::Running;
        rec.error = None;
        self.seen = rec.seen.iter().copied().collect();
        self.base_requests = rec.counts.requests;
        self.base_floods = rec.counts.flood_waits;
        self.resumed |= self.base_requests > 0;
        progress(Event::Started { title: rec.title.clone(), methods: rec.plan.clone(), resumed: self.resumed });
        self.rec = Some(rec);
        self.checkpoint(pool, Vec::new(), progress).await?;

        let mut i = 0;
        while let Some(method) = self.rec.as_ref().and_then(|r| r.plan.get(i).copied()) {
            i += 1;
            if self.rec.as_ref().is_some_and(|r| r.done.contains(&method)) {
                continue;
            }
            progress(Event::Method(method));
            match self.method(pool, method, progress).await {
                Ok(()) => {}
                Err(Halt::Pool(PoolError::Telegram(e))) if self.opts.method.is_none() => match fallback(method, &e) {
                    Some(next) => {
                        let rec = self.rec_mut();
                        rec.warnings.push(format!("{}: {e}; trying {}", method.as_str(), next.as_str()));
                        if !rec.plan.contains(&next) {
                            rec.plan.push(next);
                        }
                        rec.position = Position::Start;
                        continue;
                    }
                    None => return Err(PoolError::Telegram(e).into()),
                },
                Err(e) => return Err(e),
            }
            let rec = self.rec_mut();
            rec.done.push(method);
            rec.position = Position::Start;
            self.checkpoint(pool, Vec::new(), progress).await?;
        }
        Ok(())
    }

    fn rec_mut(&mut self) -> &mut CrawlRecord {
        self.rec.get_or_insert_with(|| empty_record(self.opts, &self.sink.ctx.actor))
    }

    async fn method<S: TelegramSource>(
        &mut self,
        pool: &mut Pool<S>,
        method: Method,
        progress: &mut dyn FnMut(Event),
    ) -> Result<(), Halt> {
        match method {
            Method::Participants => self.list(pool, Which::Main, ParticipantFilter::Recent, progress).await,
            Method::Admins => self.list(pool, Which::Main, ParticipantFilter::Admins, progress).await,
            Method::Linked => self.list(pool, Which::Linked, ParticipantFilter::Recent, progress).await,
            Method::Search => self.search(pool, progress).await,
            Method::History => self.history(pool, progress).await,
        }
    }

    /// Pages one filter from the checkpointed offset.
    async fn list<S: TelegramSource>(
        &mut self,
        pool: &mut Pool<S>,
        which: Which,
        filter: ParticipantFilter,
        progress: &mut dyn FnMut(Event),
    ) -> Result<(), Halt> {
        let mut offset = match self.rec_mut().position {
            Position::Offset(o) => o,
            _ => 0,
        };
        loop {
            let req = Request::Participants { filter: filter.clone(), offset, limit: PARTICIPANTS_PAGE };
            let Reply::Participants(page) = pool.call(which, &req, progress).await? else { return Ok(()) };
            let n = page.members.len() as u32;
            offset += n;
            self.rec_mut().position = Position::Offset(offset);
            self.take(pool, page.members, progress).await?;
            if n == 0 || u64::from(offset) >= page.total.min(PARTICIPANTS_CAP) {
                return Ok(());
            }
        }
    }

    async fn search<S: TelegramSource>(
        &mut self,
        pool: &mut Pool<S>,
        progress: &mut dyn FnMut(Event),
    ) -> Result<(), Halt> {
        let (mut pending, mut current) = match std::mem::take(&mut self.rec_mut().position) {
            Position::Search { pending, current } => (pending, current),
            _ => (extensions(""), None),
        };
        loop {
            let (q, offset) = match current.take() {
                Some(c) => c,
                None => match pending.pop() {
                    Some(q) => (q, 0),
                    None => return Ok(()),
                },
            };
            let req = Request::Participants {
                filter: ParticipantFilter::Search(q.clone()),
                offset,
                limit: PARTICIPANTS_PAGE,
            };
            let Reply::Participants(page) = pool.call(Which::Main, &req, progress).await? else { return Ok(()) };
            let n = page.members.len() as u32;
            let saturated = page.total >= PARTICIPANTS_CAP;
            let deep = q.chars().count() >= MAX_QUERY_CHARS;
            if saturated && !deep && offset == 0 {
                // Paging a saturated query cannot reach everyone; its longer prefixes can.
                pending.extend(extensions(&q));
            } else if n > 0 && u64::from(offset + n) < page.total.min(PARTICIPANTS_CAP) {
                current = Some((q.clone(), offset + n));
            } else if saturated {
                self.rec_mut().warnings.push(format!("the search {q:?} still matches over {PARTICIPANTS_CAP} members"));
            }
            self.rec_mut().position = Position::Search { pending: pending.clone(), current: current.clone() };
            self.take(pool, page.members, progress).await?;
        }
    }

    async fn history<S: TelegramSource>(
        &mut self,
        pool: &mut Pool<S>,
        progress: &mut dyn FnMut(Event),
    ) -> Result<(), Halt> {
        let (mut offset_id, mut read) = match self.rec_mut().position {
            Position::History { offset_id, read } => (offset_id, read),
            _ => (0, 0),
        };
        while read < self.opts.history_depth {
            let limit = HISTORY_PAGE.min(self.opts.history_depth - read);
            let Reply::History(page) = pool.call(Which::Main, &Request::History { offset_id, limit }, progress).await?
            else {
                return Ok(());
            };
            read += page.messages;
            let next = page.next_offset_id;
            offset_id = next.unwrap_or(offset_id);
            self.rec_mut().position = Position::History { offset_id, read };
            self.take(pool, page.authors, progress).await?;
            if next.is_none() || page.messages == 0 {
                break;
            }
        }
        Ok(())
    }

    /// Upserts the members not seen before in this crawl, with the checkpoint, in one write.
    async fn take<S: TelegramSource>(
        &mut self,
        pool: &mut Pool<S>,
        members: Vec<Member>,
        progress: &mut dyn FnMut(Event),
    ) -> Result<(), Halt> {
        let mut ops = Vec::new();
        let title = self.rec_mut().title.clone();
        for m in members {
            if !self.seen.insert(m.user_id) {
                continue;
            }
            let counts = &mut self.rec_mut().counts;
            counts.members_seen += 1;
            if m.deleted {
                counts.skipped_deleted += 1;
                continue;
            }
            if m.bot {
                counts.skipped_bots += 1;
                continue;
            }
            let photo = match (self.opts.photos, m.photo) {
                (true, Some(p)) => self.photo(pool, p, progress).await?,
                _ => None,
            };
            let input = LeadInput {
                telegram_user_id: Some(m.user_id.to_string()),
                username: m.username.filter(|u| normalize::normalize_username(u).is_ok()),
                phone: m.phone.map(|p| format!("+{}", p.trim_start_matches('+'))),
                first_name: Some(m.first_name),
                last_name: Some(m.last_name),
                language: m.lang_code.filter(|l| normalize::normalize_language(l).is_ok()),
                photo,
                group: Some(title.clone()),
                ..LeadInput::default()
            };
            match input.validate(Source::Crawling, None) {
                Ok(mut cand) => {
                    cand.sighting = true;
                    ops.push(WriteOp::Upsert(cand));
                }
                Err(e) => {
                    let rec = self.rec_mut();
                    rec.counts.skipped_invalid += 1;
                    rec.warnings.push(format!("user {}: {e}", m.user_id));
                }
            }
        }
        self.checkpoint(pool, ops, progress).await
    }

    async fn photo<S: TelegramSource>(
        &mut self,
        pool: &mut Pool<S>,
        p: crate::telegram::PhotoRef,
        progress: &mut dyn FnMut(Event),
    ) -> Result<Option<String>, Halt> {
        self.keep_lease().await?;
        let (bytes, ext) = match pool.call(Which::Main, &Request::Photo(p), progress).await {
            Ok(Reply::Photo(b, ext)) => (b, ext),
            // A photo that went away is not worth failing the crawl for.
            Ok(_) | Err(PoolError::Telegram(TgError::NotFound)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let rel = format!("photos/{}/{}.{ext}", workspace_dir(&self.sink.ctx.workspace), p.user_id);
        let path = self.sink.data_dir.join(&rel);
        let write = async {
            if let Some(dir) = path.parent() {
                tokio::fs::create_dir_all(dir).await?;
            }
            tokio::fs::write(&path, bytes).await
        };
        match write.await {
            Ok(()) => {
                self.rec_mut().counts.photos += 1;
                Ok(Some(rel))
            }
            Err(e) => {
                self.rec_mut().warnings.push(format!("saving a photo to {}: {e}", path.display()));
                Ok(None)
            }
        }
    }

    /// Writes `ops` and the crawl record in one transaction, then reports progress.
    async fn checkpoint<S: TelegramSource>(
        &mut self,
        pool: &Pool<S>,
        ops: Vec<WriteOp>,
        progress: &mut dyn FnMut(Event),
    ) -> Result<(), Halt> {
        let seen: Vec<u64> = self.seen.iter().copied().collect();
        let (requests, flood_waits) = (self.base_requests + pool.requests, self.base_floods + pool.flood_waits);
        let rec = self.rec_mut();
        rec.counts.requests = requests;
        rec.counts.flood_waits = flood_waits;
        rec.seen = seen;
        let rec = rec.clone();
        let outcomes = self.save(ops, &rec).await?;
        let counts = &mut self.rec_mut().counts;
        let mut touched = Vec::new();
        for o in outcomes {
            match o {
                Outcome::Created { id } | Outcome::Updated { id, .. } => {
                    touched.push(id);
                    if matches!(o, Outcome::Created { .. }) {
                        counts.created += 1;
                    } else {
                        counts.updated += 1;
                    }
                }
                Outcome::Unchanged { .. } => counts.unchanged += 1,
                Outcome::Rejected(_) | Outcome::Denied(_) => counts.skipped_invalid += 1,
                Outcome::Deleted { .. } | Outcome::Recorded { .. } => {}
            }
        }
        progress(Event::Progress(counts.clone()));
        if !touched.is_empty() {
            progress(Event::Leads(touched));
        }
        Ok(())
    }

    /// Renews the lease when a page takes long (a photo per member) and no save has renewed it.
    async fn keep_lease(&mut self) -> Result<(), Halt> {
        if self.renewed.elapsed() < LEASE_TTL / 3 {
            return Ok(());
        }
        let out = self.sink.store.submit(self.sink.ctx.clone(), vec![lease(&self.key, &self.holder)])?.done().await?;
        if let Some(Outcome::Denied(why)) = out.into_iter().next() {
            return Err(Halt::Denied(why));
        }
        self.renewed = Instant::now();
        Ok(())
    }

    /// Writes `ops` and the record while this run holds the lease: one that has lost it (another
    /// crawl took over after it lapsed) writes nothing and stops.
    async fn save(&mut self, ops: Vec<WriteOp>, rec: &CrawlRecord) -> Result<Vec<Outcome>, Halt> {
        let mut all = Vec::with_capacity(ops.len() + 2);
        all.push(lease(&self.key, &self.holder));
        all.extend(ops);
        all.push(WriteOp::record(RecordKind::Crawl, &self.key, rec));
        let out = self.sink.store.submit(self.sink.ctx.clone(), all)?.done().await?;
        if let Some(Outcome::Denied(why)) = out.first() {
            return Err(Halt::Denied(why.clone()));
        }
        self.renewed = Instant::now();
        // The lease's outcome and the record's are not the caller's.
        let mut out: Vec<Outcome> = out.into_iter().skip(1).collect();
        out.pop();
        Ok(out)
    }
}

/// A workspace key (`u:alice`, `o:acme`) as a directory name.
pub fn workspace_dir(ws: &str) -> String {
    ws.replace(':', "-")
}

#[cfg(test)]
mod tests;
