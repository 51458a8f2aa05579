//! A crawl handed to the process that runs the accounts it needs. When every account a crawl may
//! use is run by another process (a `reach listen`, a teammate's TUI), opening their sessions here
//! would be a second use of each; instead the crawl is a request in the store, which that process
//! takes up and runs with its own sessions. Progress comes back through the crawl's own record
//! (checkpointed every page), and the summary through the request.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{CrawlError, CrawlRecord, Event, Method, Options, Summary};
use crate::model::{now_millis, Millis};
use crate::store::{Holder, RecordKind, Store, StoreError, WriteCtx, WriteOp};
use crate::telegram::Target;

/// A request nobody takes up within this long is withdrawn.
pub const TAKE_UP_WITHIN: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(300);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrawlRequest {
    pub id: String,
    /// Where the leads go, and who asked (the writes are theirs, under their role).
    pub workspace: String,
    pub by: String,
    /// The process waiting for the crawl: a request whose requester is gone is dropped.
    pub requester: Holder,
    pub accounts: Vec<String>,
    pub target: String,
    pub method: Option<Method>,
    pub refresh: bool,
    pub join: bool,
    pub photos: bool,
    pub history_depth: u32,
    pub cache_ttl_secs: u64,
    pub pacing_ms: u64,
    pub jitter_ms: u64,
    pub asked_at: Millis,
    pub state: RequestState,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum RequestState {
    Pending,
    Running {
        holder: Holder,
        process: String,
    },
    /// The requester stopped waiting (Ctrl-C): the crawl stops after its page, and resumes later.
    Cancelling,
    /// The crawl's summary, as JSON (it has flattened fields, which the store's encoding lacks).
    Done(String),
    Failed(String),
}

fn ctx() -> WriteCtx {
    WriteCtx { workspace: String::new(), actor: String::new() }
}

impl CrawlRequest {
    pub fn options(&self) -> Result<Options, String> {
        Ok(Options {
            target: Target::parse(&self.target)?,
            method: self.method,
            refresh: self.refresh,
            join: self.join,
            photos: self.photos,
            history_depth: self.history_depth,
            cache_ttl: Duration::from_secs(self.cache_ttl_secs),
            pacing: super::pool::Pacing {
                interval: Duration::from_millis(self.pacing_ms),
                jitter: Duration::from_millis(self.jitter_ms),
            },
        })
    }
}

/// Requests waiting for a process to take them. A request whose requester is gone is removed.
pub async fn pending(store: &Store) -> Result<Vec<CrawlRequest>, StoreError> {
    let mut out = Vec::new();
    for (name, req) in store.records::<CrawlRequest>(RecordKind::CrawlRequest, "")? {
        if req.requester.may_be_alive() {
            out.push(req);
        } else {
            let gone = WriteOp::Record { kind: RecordKind::CrawlRequest, name, value: None };
            store.submit(ctx(), vec![gone])?.done().await?;
        }
    }
    Ok(out)
}

async fn update(
    store: &Store,
    id: &str,
    f: impl Fn(&mut CrawlRequest) + Send + Sync + 'static,
) -> Result<Option<CrawlRequest>, StoreError> {
    let op = WriteOp::update_record(RecordKind::CrawlRequest, id, move |r: Option<CrawlRequest>| {
        r.map(|mut r| {
            f(&mut r);
            r
        })
    });
    store.submit(ctx(), vec![op])?.done().await?;
    store.record(RecordKind::CrawlRequest, "", id)
}

/// Asks the process running `accounts` to crawl, and follows the crawl until it ends.
pub async fn request(
    store: &Store,
    sink_ctx: &WriteCtx,
    accounts: Vec<String>,
    opts: &Options,
    who: &str,
    cancel: Arc<AtomicBool>,
    progress: &mut dyn FnMut(Event),
) -> Result<Summary, CrawlError> {
    let holder = Holder::new_run(&sink_ctx.actor);
    let id = format!("{:016x}", holder.run);
    let req = CrawlRequest {
        id: id.clone(),
        workspace: sink_ctx.workspace.clone(),
        by: sink_ctx.actor.clone(),
        requester: holder.clone(),
        accounts,
        target: opts.target.to_string(),
        method: opts.method,
        refresh: opts.refresh,
        join: opts.join,
        photos: opts.photos,
        history_depth: opts.history_depth,
        cache_ttl_secs: opts.cache_ttl.as_secs(),
        pacing_ms: opts.pacing.interval.as_millis() as u64,
        jitter_ms: opts.pacing.jitter.as_millis() as u64,
        asked_at: now_millis(),
        state: RequestState::Pending,
    };
    store.submit(ctx(), vec![WriteOp::record(RecordKind::CrawlRequest, &id, &req)])?.done().await?;
    let remove = || WriteOp::Record { kind: RecordKind::CrawlRequest, name: id.clone(), value: None };
    let key = opts.target.key();
    let started = tokio::time::Instant::now();
    let (mut announced, mut last_counts) = (false, None);
    let mut cancelling = false;
    loop {
        if cancel.load(Ordering::SeqCst) && !cancelling {
            cancelling = true;
            update(store, &id, |r| {
                if matches!(r.state, RequestState::Pending | RequestState::Running { .. }) {
                    r.state = RequestState::Cancelling;
                }
            })
            .await?;
        }
        let Some(now) = store.record::<CrawlRequest>(RecordKind::CrawlRequest, "", &id)? else {
            return Err(CrawlError::Denied("the crawl request was removed before it finished".into()));
        };
        match now.state {
            RequestState::Pending if started.elapsed() > TAKE_UP_WITHIN => {
                store.submit(ctx(), vec![remove()])?.done().await?;
                return Err(CrawlError::Denied(format!(
                    "{who}, and that process did not take the crawl up within {}s (is it an older reach?); stop it or crawl with another account",
                    TAKE_UP_WITHIN.as_secs()
                )));
            }
            RequestState::Pending if cancelling => {
                store.submit(ctx(), vec![remove()])?.done().await?;
                return Err(CrawlError::Denied("cancelled before any process took the crawl up".into()));
            }
            RequestState::Done(json) => {
                store.submit(ctx(), vec![remove()])?.done().await?;
                return serde_json::from_str(&json)
                    .map_err(|e| CrawlError::Denied(format!("the crawl's summary could not be read: {e}")));
            }
            RequestState::Failed(why) => {
                store.submit(ctx(), vec![remove()])?.done().await?;
                return Err(CrawlError::Denied(why));
            }
            RequestState::Running { holder: ref h, .. } if !h.may_be_alive() => {
                store.submit(ctx(), vec![remove()])?.done().await?;
                return Err(CrawlError::Denied(format!(
                    "the process crawling for us (pid {} on {}) is gone; run the crawl again to resume it",
                    h.pid, h.host
                )));
            }
            RequestState::Running { .. } | RequestState::Cancelling => {
                let rec: Option<CrawlRecord> = store.record(RecordKind::Crawl, &sink_ctx.workspace, &key)?;
                if let Some(rec) = rec.filter(|r| r.started_at >= now.asked_at - 1000 || r.finished_at.is_none()) {
                    if !announced {
                        announced = true;
                        let methods = rec.plan.clone();
                        progress(Event::Started { title: rec.title.clone(), methods, resumed: false });
                    }
                    if last_counts.as_ref() != Some(&rec.counts) {
                        last_counts = Some(rec.counts.clone());
                        progress(Event::Progress(rec.counts));
                    }
                }
            }
            RequestState::Pending => {}
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Takes a pending request for this process (inside the writer's transaction, so two listeners
/// never both take one); the request as taken, or None when another took it first.
pub async fn take(store: &Store, id: &str, process: &str) -> Result<Option<CrawlRequest>, StoreError> {
    let holder = Holder::new_run("listen");
    let (mine, process) = (holder.clone(), process.to_string());
    let got = update(store, id, move |r| {
        if r.state == RequestState::Pending {
            r.state = RequestState::Running { holder: mine.clone(), process: process.clone() };
        }
    })
    .await?;
    Ok(got.filter(|r| matches!(&r.state, RequestState::Running { holder: h, .. } if h.run == holder.run)))
}

/// Whether the requester has asked to stop.
pub fn cancelled(store: &Store, id: &str) -> bool {
    matches!(
        store.record::<CrawlRequest>(RecordKind::CrawlRequest, "", id),
        Ok(Some(CrawlRequest { state: RequestState::Cancelling, .. })) | Ok(None)
    )
}

/// Records how the crawl ended.
pub async fn finish(store: &Store, id: &str, result: &Result<Summary, CrawlError>) -> Result<(), StoreError> {
    let state = match result {
        Ok(s) => RequestState::Done(serde_json::to_string(s).unwrap_or_default()),
        Err(e) => RequestState::Failed(e.to_string()),
    };
    update(store, id, move |r| r.state = state.clone()).await.map(|_| ())
}
