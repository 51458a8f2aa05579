//! The terminal UI. One thread owns the terminal; input, searches and store work run elsewhere and
//! come back as typed messages on one bounded channel. Each wake-up drains every pending event,
//! runs the pure `update`, performs the effects off-thread, and draws once.

pub mod accounts;
pub mod app;
pub mod demo;
pub mod form;
pub mod import_panel;
pub mod keymap;
pub mod rows;
pub mod ui;

use std::sync::mpsc::{self, Receiver, SyncSender};
use std::thread;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use app::{update, Effect, Event, Model, Msg, PastCrawl, Place};

use crate::model::{Lead, LeadInput, Source};
use crate::search::SearchIndex;
use crate::store::{OrgOp, Outcome, RecordKind, Scope, Store, WriteCtx, WriteOp};
use crate::workspace::{rules, Access, View, Workspace};

/// Most search results the list holds; a query that matches more shows the best ones.
const SEARCH_LIMIT: usize = 5000;
/// When a search over a large index shows its first results (the most recent leads' best matches).
pub const SEARCH_BUDGET: std::time::Duration = std::time::Duration::from_millis(20);

enum SearchJob {
    /// A load's entries; an older load's (a lower generation) never replaces a newer one's.
    Rebuild(u64, Vec<crate::search::Entry>),
    Upsert(Box<crate::model::Lead>),
    RemoveMany(Vec<u64>),
    Query {
        generation: u64,
        query: String,
    },
}

/// Counts the segments of a workspace; queued requests coalesce, only the newest one runs.
fn segment_worker(store: Store, jobs: Receiver<(String, crate::store::Filter)>, out: SyncSender<Event>) {
    while let Ok(first) = jobs.recv() {
        let (ws, base) = jobs.try_iter().last().unwrap_or(first);
        let msg = match store.segments(&ws).and_then(|s| store.count_segments(&ws, &base, &s).map(|c| (s, c))) {
            Ok((segments, counts)) => Msg::Segments { segments, counts },
            Err(e) => Msg::Error(e.to_string()),
        };
        if out.send(Event::Msg(msg)).is_err() {
            return;
        }
    }
}

/// Reads the lead the detail pane shows, with its history and photo. Cursor moves queue requests
/// faster than they are read; only the newest one runs.
fn detail_worker(store: Store, data_dir: std::path::PathBuf, jobs: Receiver<(String, u64)>, out: SyncSender<Event>) {
    let mut next = None;
    loop {
        let job = match next.take() {
            Some(job) => job,
            None => match jobs.recv() {
                Ok(first) => jobs.try_iter().last().unwrap_or(first),
                Err(_) => return,
            },
        };
        let (ws, id) = job;
        let msg = match store.get(&ws, id).and_then(|l| l.map(|l| store.history(&l).map(|h| (l, h))).transpose()) {
            Ok(Some((lead, entries))) => Msg::Detail { lead: Box::new(lead), entries },
            Ok(None) => Msg::DetailFailed { id, gone: true, why: format!("lead #{id} is gone") },
            Err(e) => Msg::DetailFailed { id, gone: false, why: e.to_string() },
        };
        let photo = match &msg {
            Msg::Detail { lead, .. } => lead.photo.clone(),
            _ => None,
        };
        if out.send(Event::Msg(msg)).is_err() {
            return;
        }
        // A newer selection goes first; this photo would only be thrown away.
        next = jobs.try_iter().last();
        if let (Some(rel), None) = (photo, &next) {
            let path = data_dir.join(rel);
            let image = image::ImageReader::open(&path)
                .and_then(|r| r.with_guessed_format())
                .map_err(|e| e.to_string())
                .and_then(|r| r.decode().map_err(|e| e.to_string()))
                .map(Arc::new)
                .map_err(|e| format!("{}: {e}", path.display()));
            let _ = out.send(Event::Msg(Msg::Photo { id, image }));
        }
    }
}

/// The search worker owns the index. Queued queries coalesce: only the newest one runs.
fn search_worker(jobs: Receiver<SearchJob>, out: SyncSender<Event>, newest: Arc<AtomicU64>) {
    let mut index = SearchIndex::default();
    let mut built = 0;
    while let Ok(first) = jobs.recv() {
        let mut pending = vec![first];
        pending.extend(jobs.try_iter());
        let mut latest = None;
        for job in pending {
            match job {
                SearchJob::Rebuild(generation, entries) if generation >= built => {
                    built = generation;
                    // The old index goes first, so two never live at once.
                    drop(std::mem::take(&mut index));
                    index = SearchIndex::from_entries(entries);
                }
                SearchJob::Rebuild(..) => {}
                SearchJob::Upsert(lead) => index.upsert(&lead),
                SearchJob::RemoveMany(ids) => index.remove_many(&ids),
                SearchJob::Query { generation, query } => latest = Some((generation, query)),
            }
        }
        if let Some((generation, query)) = latest {
            // A first ranking after SEARCH_BUDGET, the full one when the scan ends; a newer
            // query abandons the scan between chunks.
            let mut first = |hits: Vec<crate::search::Hit>| {
                let ids = hits.into_iter().map(|h| h.id).collect();
                let _ = out.send(Event::Msg(Msg::SearchDone { generation, ids, last: false }));
                newest.load(Ordering::Relaxed) == generation
            };
            let Some(hits) = index.search_progressive(&query, SEARCH_LIMIT, SEARCH_BUDGET, &mut first) else {
                continue;
            };
            let ids = hits.into_iter().map(|h| h.id).collect();
            if out.send(Event::Msg(Msg::SearchDone { generation, ids, last: true })).is_err() {
                return;
            }
        }
    }
}

/// What the TUI takes from the config: the Telegram backend, the `[crawl]` settings, and the region
/// for national phone formats.
#[derive(Debug, Clone)]
pub struct Settings {
    pub telegram: crate::crawl::backend::Telegram,
    pub pacing: crate::crawl::pool::Pacing,
    pub history_depth: u32,
    pub cache_ttl: std::time::Duration,
    /// Config `default_region`, for national phone formats typed into forms.
    pub default_region: Option<String>,
}

struct Runtime {
    store: Store,
    user: String,
    /// The workspace of the last accepted load; edits go there.
    write: WriteCtx,
    events: SyncSender<Event>,
    search: mpsc::Sender<SearchJob>,
    crawl: Settings,
    default_region: Option<String>,
    /// The detail reader: (workspace, lead id).
    detail: mpsc::Sender<(String, u64)>,
    /// The segment counter: (workspace, the view's base filter) to count in.
    segments: mpsc::Sender<(String, crate::store::Filter)>,
    /// The base filter of the last counted view.
    base: crate::store::Filter,
    import_cancel: Option<Arc<AtomicBool>>,
    /// The generation of the latest search asked for; the worker abandons older ones.
    newest_search: Arc<AtomicU64>,
    /// The running crawl's cancel flag.
    crawl_cancel: Option<Arc<AtomicBool>>,
    /// Where the running login waits for the answer to its question.
    login_answers: Option<SyncSender<Option<String>>>,
}

/// The shortest time between two draws (60 frames a second).
const FRAME: std::time::Duration = std::time::Duration::from_millis(16);

/// How often a running crawl pushes its new leads into the list.
const LIVE_LEADS_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

impl Runtime {
    fn perform(&mut self, effect: Effect) {
        match effect {
            Effect::Search { generation, query } => {
                self.newest_search.store(generation, Ordering::Relaxed);
                let _ = self.search.send(SearchJob::Query { generation, query });
            }
            Effect::Switch { generation, key, view, remember } => self.load(generation, key, view, remember),
            Effect::AddNote { id, text } => self.edit(vec![id], LeadInput { note: Some(text), ..Default::default() }),
            Effect::EditTags { ids, add, remove } => {
                self.edit(ids, LeadInput { tags: add, remove_tags: remove, ..Default::default() })
            }
            Effect::Export { ids } => {
                let (store, ws, tx) = (self.store.clone(), self.write.workspace.clone(), self.events.clone());
                thread::spawn(move || {
                    let name = format!("reach-export-{}.csv", chrono::Local::now().format("%Y%m%d-%H%M%S"));
                    let msg = match write_export(std::path::Path::new(&name), &store, &ws, &ids) {
                        Ok((n, path)) => Msg::Notice(format!("exported {n} leads to {}", path.display())),
                        Err(e) => Msg::Error(format!("export failed: {e:#}")),
                    };
                    let _ = tx.send(Event::Msg(msg));
                });
            }
            Effect::Delete { ids } => {
                let search = self.search.clone();
                let ops = ids.into_iter().map(|id| (id, WriteOp::Delete { id })).collect();
                self.write_each(ops, move |outcomes, _, _| {
                    let (deleted, other): (Vec<_>, Vec<_>) =
                        outcomes.into_iter().partition(|(_, o)| matches!(o, Outcome::Deleted { .. }));
                    let deleted: Vec<u64> = deleted.into_iter().map(|(id, _)| id).collect();
                    let _ = search.send(SearchJob::RemoveMany(deleted.clone()));
                    let mut msgs = vec![Msg::Deleted(deleted)];
                    msgs.extend(other.into_iter().map(|(id, o)| Msg::Error(format!("#{id} not deleted: {o:?}"))));
                    msgs
                });
            }
            Effect::LoadDetail(id) => {
                let _ = self.detail.send((self.write.workspace.clone(), id));
            }
            Effect::SetStatus { ids, status } => {
                self.edit(ids, LeadInput { status: Some(status.to_string()), ..Default::default() })
            }
            Effect::SetPriority { ids, priority } => {
                self.edit(ids, LeadInput { priority: Some(priority.to_string()), ..Default::default() })
            }
            Effect::StartCrawl { target, method } => self.start_crawl(target, method),
            Effect::CountSegments { base } => {
                self.base = base.clone();
                let _ = self.segments.send((self.write.workspace.clone(), base));
            }
            Effect::CompletePath(typed) => {
                let tx = self.events.clone();
                thread::spawn(move || {
                    let entries = list_dir(&typed);
                    let _ = tx.send(Event::Msg(Msg::Completions { typed, entries }));
                });
            }
            Effect::PreviewImport(path) => self.preview_import(path),
            Effect::RunImport(path) => self.run_import(path),
            Effect::CancelImport => {
                if let Some(flag) = &self.import_cancel {
                    flag.store(true, Ordering::Relaxed);
                }
            }
            Effect::SaveSegment(segment) => {
                let name = segment.name.clone();
                let op = WriteOp::record(RecordKind::Segment, &name, &segment);
                self.write_record(op, format!("segment {name:?} saved"));
            }
            Effect::DeleteSegment(name) => {
                let op = WriteOp::Record { kind: RecordKind::Segment, name: name.clone(), value: None };
                self.write_record(op, format!("segment {name:?} deleted"));
            }
            Effect::SaveLead { id, input } => self.save_form(id, input),
            Effect::CancelCrawl => {
                if let Some(flag) = &self.crawl_cancel {
                    flag.store(true, Ordering::Relaxed);
                }
            }
            Effect::LoadAccounts => self.load_accounts(),
            Effect::StartLogin { name, phone } => self.start_login(name, phone),
            Effect::LoginAnswer(answer) => {
                if let Some(tx) = &self.login_answers {
                    let _ = tx.try_send(answer);
                }
            }
            Effect::LoadCrawls => {
                let (store, ws, tx) = (self.store.clone(), self.write.workspace.clone(), self.events.clone());
                thread::spawn(move || {
                    let msg = match store.records::<crate::crawl::CrawlRecord>(RecordKind::Crawl, &ws) {
                        Ok(list) => {
                            let mut past: Vec<PastCrawl> = list
                                .into_iter()
                                .map(|(_, r)| PastCrawl {
                                    target: r.target,
                                    title: r.title,
                                    state: r.state,
                                    members: r.counts.members_seen,
                                    finished_at: r.finished_at,
                                })
                                .collect();
                            past.sort_by_key(|p| std::cmp::Reverse(p.finished_at));
                            Msg::Crawls(past)
                        }
                        Err(e) => Msg::Error(e.to_string()),
                    };
                    let _ = tx.send(Event::Msg(msg));
                });
            }
        }
    }

    fn import_options(&self, path: &str) -> crate::import::ImportOptions {
        let data_dir = &self.crawl.telegram.data_dir;
        let mut opts =
            crate::import::ImportOptions::new(expand_home(path), crate::import::default_report_dir(data_dir));
        opts.default_region = self.default_region.clone();
        opts
    }

    /// Reads the file's head and runs a dry run (the same writes, never committed) for exact counts.
    fn preview_import(&self, path: String) {
        let (store, ctx, tx) = (self.store.clone(), self.write.clone(), self.events.clone());
        let mut opts = self.import_options(&path);
        opts.dry_run = true;
        thread::spawn(move || {
            let result = crate::import::inspect(&opts).and_then(|inspection| {
                let summary = crate::import::run(&store, &ctx, &opts, &AtomicBool::new(false), |_| {})?;
                Ok((Box::new(inspection), summary.counts))
            });
            let _ = tx.send(Event::Msg(Msg::ImportPreview(result.map_err(|e| e.to_string()))));
        });
    }

    /// Runs the import off the UI thread; progress comes back per chunk, with the leads it touched.
    fn run_import(&mut self, path: String) {
        let cancel = Arc::new(AtomicBool::new(false));
        self.import_cancel = Some(Arc::clone(&cancel));
        let (store, ctx, tx, search) =
            (self.store.clone(), self.write.clone(), self.events.clone(), self.search.clone());
        let opts = self.import_options(&path);
        thread::spawn(move || {
            let result = crate::import::run(&store, &ctx, &opts, &cancel, |p| {
                let leads: Vec<Lead> =
                    p.touched.iter().filter_map(|id| store.get(&ctx.workspace, *id).ok().flatten()).collect();
                for l in &leads {
                    let _ = search.send(SearchJob::Upsert(Box::new(l.clone())));
                }
                if !leads.is_empty() {
                    let _ = tx.send(Event::Msg(Msg::Upserted(leads)));
                }
                let _ = tx.send(Event::Msg(Msg::ImportProgress(crate::import::ImportProgress {
                    touched: Vec::new(),
                    ..p.clone()
                })));
            });
            let _ = tx.send(Event::Msg(Msg::ImportDone(result.map(Box::new).map_err(|e| e.to_string()))));
        });
    }

    /// Writes a record (a segment), then recounts the segments.
    fn write_record(&self, op: WriteOp, done: String) {
        let (store, ctx, tx, segments) =
            (self.store.clone(), self.write.clone(), self.events.clone(), self.segments.clone());
        let base = self.base.clone();
        thread::spawn(move || {
            let msg = match store.write_one(ctx.clone(), op) {
                Ok(Outcome::Denied(rule)) => Msg::Error(format!("permission denied: {rule}")),
                Ok(_) => {
                    let _ = segments.send((ctx.workspace.clone(), base));
                    Msg::Notice(done)
                }
                Err(e) => Msg::Error(e.to_string()),
            };
            let _ = tx.send(Event::Msg(msg));
        });
    }

    /// Writes a form's lead: an add goes through the dedup upsert, so it may merge into an existing lead.
    fn save_form(&self, id: Option<u64>, input: Box<LeadInput>) {
        let (store, ctx, tx, search) =
            (self.store.clone(), self.write.clone(), self.events.clone(), self.search.clone());
        let region = self.default_region.clone();
        thread::spawn(move || {
            let msg = match input.validate(Source::Manual, region.as_deref()) {
                Err(e) => Msg::FormRefused(e.to_string()),
                Ok(cand) => {
                    let op = match id {
                        Some(id) => WriteOp::Edit { id, cand },
                        None => WriteOp::Upsert(cand),
                    };
                    match store.write_one(ctx.clone(), op) {
                        Err(e) => Msg::FormRefused(e.to_string()),
                        Ok(Outcome::Rejected(e)) => Msg::FormRefused(e.to_string()),
                        Ok(Outcome::Denied(rule)) => Msg::FormRefused(format!("permission denied: {rule}")),
                        Ok(outcome) => {
                            let (created, matched_on) = match &outcome {
                                Outcome::Created { .. } => (true, None),
                                Outcome::Updated { matched_on, .. } if id.is_none() => (false, *matched_on),
                                _ => (false, None),
                            };
                            match outcome.id().map(|id| store.get(&ctx.workspace, id)) {
                                Some(Ok(Some(lead))) => {
                                    let _ = search.send(SearchJob::Upsert(Box::new(lead.clone())));
                                    Msg::FormSaved { lead: Box::new(lead), created, matched_on }
                                }
                                Some(Err(e)) => Msg::FormRefused(e.to_string()),
                                _ => Msg::FormRefused("the lead is gone".into()),
                            }
                        }
                    }
                }
            };
            let _ = tx.send(Event::Msg(msg));
        });
    }

    /// Runs a crawl on its own thread and runtime; progress and new leads come back as messages.
    fn start_crawl(&mut self, target: crate::telegram::Target, method: Option<crate::crawl::Method>) {
        let cancel = Arc::new(AtomicBool::new(false));
        self.crawl_cancel = Some(Arc::clone(&cancel));
        let (store, ctx, tx, search, setup) =
            (self.store.clone(), self.write.clone(), self.events.clone(), self.search.clone(), self.crawl.clone());
        let data_dir = setup.telegram.data_dir.clone();
        thread::spawn(move || {
            let opts = crate::crawl::Options {
                // Typing an invite link into the panel is the request to join it.
                join: matches!(target, crate::telegram::Target::Invite(_)),
                target,
                method,
                refresh: false,
                photos: false,
                history_depth: setup.history_depth,
                cache_ttl: setup.cache_ttl,
                pacing: setup.pacing,
            };
            let sink = crate::crawl::Sink { store: &store, ctx: ctx.clone(), data_dir: &data_dir };
            let mut pending: Vec<u64> = Vec::new();
            let mut last_push = std::time::Instant::now();
            let push = |ids: &mut Vec<u64>| {
                let leads: Vec<Lead> =
                    ids.drain(..).filter_map(|id| store.get(&ctx.workspace, id).ok().flatten()).collect();
                for l in &leads {
                    let _ = search.send(SearchJob::Upsert(Box::new(l.clone())));
                }
                if !leads.is_empty() {
                    let _ = tx.send(Event::Msg(Msg::Upserted(leads)));
                }
            };
            let mut progress = |e: crate::crawl::Event| match e {
                crate::crawl::Event::Leads(ids) => {
                    pending.extend(ids);
                    if last_push.elapsed() >= LIVE_LEADS_EVERY {
                        push(&mut pending);
                        last_push = std::time::Instant::now();
                    }
                }
                other => {
                    let _ = tx.send(Event::Msg(Msg::Crawl(other)));
                }
            };
            let result = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt.block_on(async {
                    let accounts = setup.telegram.crawl_accounts(&store, None)?;
                    setup.telegram.crawl(&sink, accounts, &opts, cancel, &mut progress).await
                }),
                Err(e) => {
                    let _ = tx.send(Event::Msg(Msg::CrawlDone(Err(format!("cannot start the crawl: {e}")))));
                    return;
                }
            };
            push(&mut pending);
            let _ = tx.send(Event::Msg(Msg::CrawlDone(result.map_err(|e| e.to_string()))));
        });
    }

    /// Lists the accounts and checks each one's health (a real account is asked over the network).
    fn load_accounts(&self) {
        let (store, tx, telegram) = (self.store.clone(), self.events.clone(), self.crawl.telegram.clone());
        thread::spawn(move || {
            let rows =
                crate::cli::runtime().and_then(|rt| Ok(rt.block_on(telegram.accounts_health(&store))?)).map(|list| {
                    list.into_iter()
                        .map(|(rec, health)| accounts::AccountRow {
                            backend: crate::crawl::backend::backend_name(rec.backend()).to_string(),
                            needs_login: matches!(health, crate::crawl::backend::Health::NeedsLogin),
                            health: health.to_string(),
                            name: rec.name,
                            phone: rec.phone,
                        })
                        .collect()
                });
            let msg = match rows {
                Ok(rows) => Msg::Accounts(rows),
                Err(e) => Msg::Error(format!("cannot list the accounts: {e:#}")),
            };
            let _ = tx.send(Event::Msg(msg));
        });
    }

    /// Runs the login of `reach account add` on its own thread; its questions come to the panel as
    /// messages, and the answers come back through `login_answers`.
    fn start_login(&mut self, name: String, phone: String) {
        let (answers_tx, answers) = mpsc::sync_channel(1);
        self.login_answers = Some(answers_tx);
        let (store, tx, telegram) = (self.store.clone(), self.events.clone(), self.crawl.telegram.clone());
        thread::spawn(move || {
            let mut prompt = PanelPrompt { events: tx.clone(), answers };
            let outcome = crate::cli::runtime()
                .map_err(|e| e.to_string())
                .and_then(|rt| {
                    rt.block_on(telegram.add_account(&store, &name, &phone, &mut prompt)).map_err(|e| e.to_string())
                })
                .map(|rec| {
                    let who = rec.me.as_ref().map(|m| format!(" as {}", m.first_name)).unwrap_or_default();
                    format!("account {} logged in{who}", rec.name)
                });
            let _ = tx.send(Event::Msg(Msg::LoginDone(outcome)));
        });
    }

    /// Loads a workspace in a view behind the UI: the rules decide through `Store::scope`.
    fn load(&self, generation: u64, key: String, view: View, remember: bool) {
        let (store, user, tx, search) =
            (self.store.clone(), self.user.clone(), self.events.clone(), self.search.clone());
        thread::spawn(move || {
            let progress = |done| drop(tx.send(Event::Msg(Msg::LoadProgress { generation, done })));
            let msg = match load_place(&store, &user, &key, view, remember, progress) {
                Ok((place, rows, entries)) => {
                    let _ = search.send(SearchJob::Rebuild(generation, entries));
                    // Counted here, off the UI thread: at a million leads this is not free.
                    let facets = rows.facet_counts();
                    Msg::Loaded { generation, place, leads: rows, facets }
                }
                Err(e) => Msg::Error(e),
            };
            let _ = tx.send(Event::Msg(msg));
            if let Ok(list) = workspaces(&store, &user) {
                let _ = tx.send(Event::Msg(Msg::Workspaces(list)));
            }
        });
    }

    /// Sends the same edit for every lead in `ids` as one request to the store's writer.
    fn edit(&self, ids: Vec<u64>, input: LeadInput) {
        let cand = match input.validate(Source::Manual, None) {
            Ok(c) => c,
            Err(e) => {
                let _ = self.events.send(Event::Msg(Msg::Error(e.to_string())));
                return;
            }
        };
        let search = self.search.clone();
        let ops = ids.into_iter().map(|id| (id, WriteOp::Edit { id, cand: cand.clone() })).collect();
        self.write_each(ops, move |outcomes, store, ctx| {
            let msg = |(id, outcome)| match outcome {
                Outcome::Updated { .. } | Outcome::Unchanged { .. } => match store.get(&ctx.workspace, id) {
                    Ok(Some(lead)) => {
                        let _ = search.send(SearchJob::Upsert(Box::new(lead.clone())));
                        Msg::Saved(Box::new(lead))
                    }
                    Ok(None) => Msg::Error(format!("lead #{id} is gone")),
                    Err(e) => Msg::Error(e.to_string()),
                },
                other => Msg::Error(format!("unexpected outcome {other:?}")),
            };
            outcomes.into_iter().map(msg).collect()
        });
    }

    /// Writes `ops` (each for one lead) as one request, off the UI thread. The outcomes become
    /// messages through `done`; refusals (a permission rule, a validation error) are collected and
    /// the first one is shown, so a bulk action reports once.
    fn write_each(
        &self,
        ops: Vec<(u64, WriteOp)>,
        done: impl FnOnce(Vec<(u64, Outcome)>, &Store, &WriteCtx) -> Vec<Msg> + Send + 'static,
    ) {
        let (store, ctx, tx) = (self.store.clone(), self.write.clone(), self.events.clone());
        thread::spawn(move || {
            let (ids, ops): (Vec<u64>, Vec<WriteOp>) = ops.into_iter().unzip();
            let outcomes = match store.submit(ctx.clone(), ops).and_then(|t| t.wait()) {
                Ok(o) => o,
                Err(e) => {
                    let _ = tx.send(Event::Msg(Msg::Error(e.to_string())));
                    return;
                }
            };
            let mut refused = None;
            let mut done_ok = Vec::new();
            for (id, outcome) in ids.into_iter().zip(outcomes) {
                match outcome {
                    Outcome::Denied(rule) => {
                        refused.get_or_insert(format!("permission denied: {rule}"));
                    }
                    Outcome::Rejected(e) => {
                        refused.get_or_insert(e.to_string());
                    }
                    other => done_ok.push((id, other)),
                }
            }
            for msg in done(done_ok, &store, &ctx) {
                let _ = tx.send(Event::Msg(msg));
            }
            if let Some(e) = refused {
                let _ = tx.send(Event::Msg(Msg::Error(e)));
            }
        });
    }
}

/// The login's questions, asked in the accounts panel. The login thread waits for the answer; a
/// closed channel (the TUI quit) gives up.
struct PanelPrompt {
    events: SyncSender<Event>,
    answers: Receiver<Option<String>>,
}

impl PanelPrompt {
    fn ask(&mut self, ask: accounts::Ask) -> Option<String> {
        self.events.send(Event::Msg(Msg::LoginAsk(ask))).ok()?;
        self.answers.recv().ok().flatten()
    }
}

impl crate::telegram::login::Prompt for PanelPrompt {
    fn code(&mut self, phone: &str) -> Option<String> {
        self.ask(accounts::Ask::Code { phone: phone.to_string() })
    }

    fn password(&mut self, hint: Option<&str>) -> Option<String> {
        self.ask(accounts::Ask::Password { hint: hint.map(str::to_string) })
    }

    fn retry(&mut self, error: &crate::telegram::TgError) {
        let _ = self.events.send(Event::Msg(Msg::LoginAsk(accounts::Ask::Retry(error.to_string()))));
    }
}

/// `~/x` is the home directory's `x`, as in a shell.
fn expand_home(path: &str) -> std::path::PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => std::path::Path::new(&home).join(rest),
        _ => std::path::PathBuf::from(path),
    }
}

/// The entries of the directory a typed path points into, directories marked with `/`.
fn list_dir(typed: &str) -> Vec<String> {
    let (dir, _) = import_panel::split_path(typed);
    let dir = if dir.is_empty() { std::path::PathBuf::from(".") } else { expand_home(dir) };
    let Ok(read) = std::fs::read_dir(&dir) else { return Vec::new() };
    read.flatten()
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                format!("{name}/")
            } else {
                name
            }
        })
        .collect()
}

/// Writes whole or not at all: a temp file in the same dir, renamed at the end.
fn write_export(
    path: &std::path::Path,
    store: &Store,
    workspace: &str,
    ids: &[u64],
) -> anyhow::Result<(u64, std::path::PathBuf)> {
    use std::io::Write;
    let mut tmp = tempfile::NamedTempFile::new_in(".")?;
    let n = {
        let mut w = std::io::BufWriter::new(tmp.as_file_mut());
        let n = crate::export::export_ids(store, workspace, ids, &mut w)?;
        w.flush()?;
        n
    };
    tmp.persist(path)?;
    Ok((n, std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())))
}

/// A workspace's place, its leads as list rows, and their search entries: made in one pass over
/// the store, so no full copy of the leads is ever held.
type Loaded = (Place, rows::Rows, Vec<crate::search::Entry>);

/// How many leads a load reads between two progress messages.
const LOAD_PROGRESS_EVERY: usize = 100_000;

fn load_place(
    store: &Store,
    user: &str,
    key: &str,
    view: View,
    remember: bool,
    progress: impl Fn(usize),
) -> Result<Loaded, String> {
    let ws = Workspace::from_key(key).ok_or_else(|| format!("{key:?} is not a workspace"))?;
    let scope: Scope = store.scope(user, &ws, view).map_err(|e| e.to_string())?.map_err(|d| d.to_string())?;
    let role = match scope.access {
        Access::Personal => "personal".to_string(),
        Access::Org { role, .. } => role.to_string(),
    };
    let place = Place {
        label: ws.to_string(),
        key: key.to_string(),
        role,
        view,
        can_view_all: rules::view(scope.access, View::All).is_ok(),
    };
    // Reserved for every lead in the store: pages never touched cost no memory, and the vectors
    // don't move while a large load fills them.
    // Capped: a small workspace in a huge store should not reserve address space for all of it.
    let bound = (store.total_leads().map_err(|e| e.to_string())? as usize).min(1 << 20);
    let (mut list, mut entries) = (Vec::with_capacity(bound), Vec::with_capacity(bound));
    let mut strings = rows::Strings::default();
    store
        .scan(&scope.workspace, &scope.filter(&Default::default()), |l| {
            list.push(rows::Row::of(&l, &mut strings));
            entries.push(crate::search::Entry::of(&l));
            if list.len() % LOAD_PROGRESS_EVERY == 0 {
                progress(list.len());
            }
        })
        .map_err(|e| e.to_string())?;
    let leads = rows::Rows::new(list, strings);
    if remember {
        let ctx = WriteCtx { workspace: String::new(), actor: user.to_string() };
        store.write_one(ctx, WriteOp::Org(OrgOp::Use { workspace: key.to_string() })).map_err(|e| e.to_string())?;
    }
    Ok((place, leads, entries))
}

/// The workspaces `user` may switch to, as (label, key): personal first, then organizations.
fn workspaces(store: &Store, user: &str) -> Result<Vec<(String, String)>, String> {
    let personal = Workspace::Personal(user.to_string());
    let mut list = vec![(personal.to_string(), personal.key())];
    for org in store.orgs_of(user).map_err(|e| e.to_string())? {
        let role = org.role_of(user).map(|r| r.to_string()).unwrap_or_default();
        list.push((format!("{} ({role})", org.name), Workspace::Org(org.name.to_lowercase()).key()));
    }
    Ok(list)
}

/// One user's TUI: the model, the workers behind it, and the channel they answer on. It draws on
/// any ratatui backend, so the same session can run on this terminal, on a test backend, or (later)
/// on an SSH channel.
pub struct Session {
    runtime: Runtime,
    model: Model,
    rx: Receiver<Event>,
}

impl Session {
    /// Starts the workers and the first load; nothing is drawn yet.
    pub fn start(
        store: Store,
        user: String,
        workspace: Workspace,
        view: View,
        keys: keymap::Keymap,
        crawl: Settings,
    ) -> Session {
        // Bounded: if the UI falls behind, input and workers wait instead of piling up memory.
        let (tx, rx) = mpsc::sync_channel::<Event>(4096);
        let (search_tx, search_rx) = mpsc::channel::<SearchJob>();
        let newest_search = Arc::new(AtomicU64::new(0));
        {
            let (tx, newest) = (tx.clone(), Arc::clone(&newest_search));
            thread::spawn(move || search_worker(search_rx, tx, newest));
        }
        let (detail_tx, detail_rx) = mpsc::channel();
        {
            let (store, tx, dir) = (store.clone(), tx.clone(), crawl.telegram.data_dir.clone());
            thread::spawn(move || detail_worker(store, dir, detail_rx, tx));
        }
        let (segments_tx, segments_rx) = mpsc::channel();
        {
            let (store, tx) = (store.clone(), tx.clone());
            thread::spawn(move || segment_worker(store, segments_rx, tx));
        }
        let key = workspace.key();
        let write = WriteCtx { workspace: key.clone(), actor: user.clone() };
        let default_region = crawl.default_region.clone();
        let mut runtime = Runtime {
            store,
            user: user.clone(),
            write,
            events: tx,
            search: search_tx,
            crawl,
            default_region,
            crawl_cancel: None,
            import_cancel: None,
            login_answers: None,
            newest_search,
            segments: segments_tx,
            detail: detail_tx,
            base: Default::default(),
        };
        let place =
            Place { label: workspace.to_string(), key: key.clone(), role: String::new(), view, can_view_all: false };
        let mut model = Model::new(place, user);
        model.keymap = keys;
        model.default_region = runtime.default_region.clone();
        // Half blocks work in every terminal and over any SSH session. Graphics protocols would need
        // ratatui-image's stdin query, and on a terminal that never answers (tmux, many SSH clients)
        // its reader is left blocked on stdin and swallows the first keys typed.
        model.picker = Some(ratatui_image::picker::Picker::halfblocks());
        // The first screen draws at once; leads and the search index load behind it.
        runtime.perform(Effect::Switch { generation: model.load_generation, key, view, remember: false });
        Session { runtime, model, rx }
    }

    /// Where input goes: a terminal reader, an SSH channel, or a script.
    pub fn events(&self) -> SyncSender<Event> {
        self.runtime.events.clone()
    }

    /// Draws, then waits for events, drains every pending one through `update`, performs the
    /// effects, and draws once more; until the user quits. `after_draw` sees each drawn state and
    /// may end the loop by answering false.
    pub fn run_on<B: ratatui::backend::Backend>(
        &mut self,
        terminal: &mut ratatui::Terminal<B>,
        after_draw: &mut dyn FnMut(&Model) -> bool,
    ) -> anyhow::Result<()>
    where
        B::Error: Send + Sync + 'static,
    {
        let (model, runtime) = (&mut self.model, &mut self.runtime);
        let mut handle = |model: &mut Model, ev: Event| {
            if let Event::Msg(Msg::Loaded { generation, place, .. }) = &ev {
                if *generation == model.load_generation {
                    runtime.write.workspace = place.key.clone();
                }
            }
            for effect in update(model, ev) {
                runtime.perform(effect);
            }
        };
        loop {
            let size = terminal.size()?;
            model.page = size.height.saturating_sub(7) as usize;
            model.now = crate::model::now_millis();
            terminal.draw(|f| ui::draw(model, f))?;
            let drawn = std::time::Instant::now();
            if !after_draw(model) {
                return Ok(());
            }
            let Ok(first) = self.rx.recv() else { return Ok(()) };
            std::iter::once(first).chain(self.rx.try_iter()).for_each(|ev| handle(model, ev));
            // The frame cap: events that arrive within a frame of the last draw are taken into
            // the next one, so a busy crawl or import cannot make the UI draw thousands of times.
            while let Some(left) = FRAME.checked_sub(drawn.elapsed()).filter(|_| !model.quit) {
                match self.rx.recv_timeout(left) {
                    Ok(ev) => std::iter::once(ev).chain(self.rx.try_iter()).for_each(|ev| handle(model, ev)),
                    Err(mpsc::RecvTimeoutError::Timeout) => break,
                    Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
                }
            }
            if model.quit {
                return Ok(());
            }
        }
    }
}

/// A session on this process's terminal.
pub fn run(mut session: Session) -> anyhow::Result<()> {
    // ratatui::init installs a panic hook that restores the terminal before the message prints.
    let mut terminal = ratatui::init();
    {
        let tx = session.events();
        thread::spawn(move || {
            while let Ok(ev) = crossterm::event::read() {
                if tx.send(Event::Term(ev)).is_err() {
                    break;
                }
            }
        });
    }
    let result = session.run_on(&mut terminal, &mut |_| true);
    ratatui::restore();
    result
}

#[cfg(test)]
mod tests;
