//! The executor: turns the model's effects into jobs on the process's runtime. Effects are
//! performed on the UI thread, so nothing here blocks: store work goes to the workers and jobs,
//! and what must be said at once is returned, never sent into the UI's own channel.

mod campaigns;
mod import;
mod load;
mod publish;
mod search;
mod segments;
mod telegram;
mod workers;

pub use load::{load_place, Loaded};
pub use publish::{read_back, Publisher};
#[cfg(test)]
pub use search::search as search_worker_for_tests;
pub use search::{SearchJob, SEARCH_BUDGET, SEARCH_LIMIT};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender, SyncSender};
use std::sync::Arc;

use crate::jobs::{self, Jobs, Kind, Latest};
use crate::model::{LeadInput, Source};
use crate::store::{RecordKind, Store, TalkOp, WriteCtx, WriteOp};
use crate::tui::msg::{CrawlTick, Effect, Event, Msg};
use crate::workspace::Workspace;
use workers::{After, DetailJob, Write};

/// What the TUI takes from the config: the Telegram backend, the `[crawl]` settings, and the region
/// for national phone formats.
/// Said where a served session asks for the server's files.
pub const NO_FILES: &str = "import and export use the server's files: run `reach import` or `reach export` there";

#[derive(Debug, Clone)]
pub struct Settings {
    pub telegram: crate::crawl::backend::Telegram,
    pub pacing: crate::crawl::pool::Pacing,
    pub history_depth: u32,
    pub cache_ttl: std::time::Duration,
    /// Config `default_region`, for national phone formats typed into forms.
    pub default_region: Option<String>,
    /// Whether the user may read and write this machine's files (import, export, path
    /// completion): a local TUI's user may; a `reach serve` user is not the server's user.
    pub local_files: bool,
    /// The workspaces' shared leads: every session given the same one shares what it views.
    pub live: crate::tui::live::LiveSets,
}

pub struct Executor {
    store: Store,
    user: String,
    /// The workspace of the last accepted load (at first, the one asked for); edits go there.
    write: WriteCtx,
    settings: Settings,
    jobs: Jobs,
    events: SyncSender<Event>,
    publish: Publisher,
    sets: crate::tui::live::LiveSets,
    search: Sender<SearchJob>,
    /// The generation of the latest search asked for; the worker abandons older ones.
    newest_search: Arc<AtomicU64>,
    detail: Sender<DetailJob>,
    segments: Sender<segments::SegmentJob>,
    campaigns: Sender<campaigns::CampaignRead>,
    writes: Sender<Write>,
    import_progress: Option<Latest<crate::import::ImportProgress>>,
    crawl_progress: Option<Latest<CrawlTick>>,
    /// Where the running login waits for the answer to its question.
    login_answers: Option<SyncSender<Option<String>>>,
    /// Cleared when the session ends, for the worker whose queue never closes (the feed's).
    alive: Arc<std::sync::atomic::AtomicBool>,
}

impl Drop for Executor {
    fn drop(&mut self) {
        self.alive.store(false, Ordering::Relaxed);
    }
}

impl Executor {
    /// Starts the session's workers on `rt`; they answer on `events`.
    pub fn start(
        rt: tokio::runtime::Handle,
        store: Store,
        user: String,
        workspace: &Workspace,
        settings: Settings,
        events: SyncSender<Event>,
    ) -> Executor {
        let report = {
            let events = std::sync::Mutex::new(events.clone());
            Arc::new(move |kind: Kind, why: String| {
                if let Ok(tx) = events.lock() {
                    let _ = tx.send(Event::Msg(Msg::JobFailed { kind, why }));
                }
            }) as jobs::Report
        };
        let mut jobs = Jobs::new(rt, report);
        let (search, search_rx) = mpsc::channel::<SearchJob>();
        let newest_search = Arc::new(AtomicU64::new(0));
        {
            let (out, newest) = (events.clone(), Arc::clone(&newest_search));
            jobs.worker(Kind::Search, move || search::search(&search_rx, &out, &newest));
        }
        let (detail, detail_rx) = mpsc::channel();
        {
            let (store, out, dir) = (store.clone(), events.clone(), settings.telegram.data_dir.clone());
            jobs.worker(Kind::Detail, move || workers::detail(&store, &dir, &detail_rx, &out));
        }
        let (segments, segments_rx) = mpsc::channel();
        let segment_feed = segments::SegmentFeed { jobs: segments.clone(), wanted: Default::default() };
        {
            let (store, out, wanted) = (store.clone(), events.clone(), Arc::clone(&segment_feed.wanted));
            jobs.worker(Kind::Segments, move || segments::segments(&store, &segments_rx, &out, &wanted));
        }
        let (campaigns, campaigns_rx) = mpsc::channel();
        {
            // A reader like the detail's; the jobs have no kind of their own for campaigns.
            let (store, out) = (store.clone(), events.clone());
            jobs.worker(Kind::Detail, move || campaigns::reader(&store, &campaigns_rx, &out));
        }
        let publish = Publisher::new(store.clone(), events.clone(), segment_feed);
        let (writes, writes_rx) = mpsc::channel();
        {
            let (store, publish) = (store.clone(), publish.clone());
            jobs.worker(Kind::Write, move || workers::writes(&writes_rx, &store, &publish));
        }
        let alive = Arc::new(std::sync::atomic::AtomicBool::new(true));
        match store.subscribe() {
            Ok(feed) => {
                let (publish, alive) = (publish.clone(), Arc::clone(&alive));
                jobs.worker(Kind::Feed, move || workers::feed(&feed, &publish, &alive));
            }
            Err(e) => publish.tell(Msg::Error(format!("this view will not follow other writers: {e}"))),
        }
        Executor {
            sets: settings.live.clone(),
            settings,
            store,
            write: WriteCtx { workspace: workspace.key(), actor: user.clone() },
            user,
            jobs,
            events,
            publish,
            search,
            newest_search,
            detail,
            segments,
            campaigns,
            writes,
            import_progress: None,
            crawl_progress: None,
            login_answers: None,
            alive,
        }
    }

    /// Where input goes: a terminal reader, an SSH channel, or a script.
    pub fn events(&self) -> SyncSender<Event> {
        self.events.clone()
    }

    /// A load was accepted: later writes go to its workspace.
    pub fn accept(&mut self, scope: &crate::store::Scope) {
        self.write.workspace = scope.workspace.clone();
    }

    /// Whether a job reports progress that `poll` should look at.
    pub fn has_progress(&self) -> bool {
        self.import_progress.is_some() || self.crawl_progress.is_some()
    }

    /// The newest progress of running jobs, as messages; finished jobs stop being looked at.
    pub fn poll(&mut self) -> Vec<Msg> {
        // Whether a job ended is read first, so its last value is taken before it is let go.
        let (import_ended, crawl_ended) = (!self.jobs.is_running(Kind::Import), !self.jobs.is_running(Kind::Crawl));
        let mut out = Vec::new();
        if let Some(p) = self.import_progress.as_mut() {
            out.extend(p.take_new().map(Msg::ImportProgress));
        }
        if let Some(p) = self.crawl_progress.as_mut() {
            out.extend(p.take_new().map(Msg::CrawlTick));
        }
        if import_ended {
            self.import_progress = None;
        }
        if crawl_ended {
            self.crawl_progress = None;
        }
        out
    }

    /// Carries out one effect. What must be told at once (a refused edit) is returned.
    pub fn perform(&mut self, effect: Effect) -> Vec<Msg> {
        let ctx = self.write.clone();
        match effect {
            Effect::Search { generation, query, within } => {
                self.newest_search.store(generation, Ordering::Relaxed);
                let _ = self.search.send(SearchJob::Query { generation, query, within });
            }
            Effect::Switch { generation, workspace, view, remember } => {
                self.load(generation, workspace, view, remember)
            }
            Effect::AddNote { id, text } => {
                return self.edit(ctx, vec![id], LeadInput { note: Some(text), ..Default::default() })
            }
            Effect::EditTags { ids, add, remove } => {
                return self.edit(ctx, ids, LeadInput { tags: add, remove_tags: remove, ..Default::default() })
            }
            Effect::SetStatus { ids, status } => {
                return self.edit(ctx, ids, LeadInput { status: Some(status.to_string()), ..Default::default() })
            }
            Effect::SetPriority { ids, priority } => {
                return self.edit(ctx, ids, LeadInput { priority: Some(priority.to_string()), ..Default::default() })
            }
            Effect::Delete { ids } => {
                let ops = ids.into_iter().map(|id| (id, WriteOp::Delete { id })).collect();
                let _ = self.writes.send(Write { ctx, ops, after: After::Delete });
            }
            Effect::SaveLead { id, input, expect } => {
                match input.validate(Source::Manual, self.settings.default_region.as_deref()) {
                    Err(e) => return vec![Msg::FormRefused(e.to_string())],
                    Ok(cand) => {
                        let op = match id {
                            Some(id) => WriteOp::EditChecked { id, cand, expect },
                            None => WriteOp::Upsert(cand),
                        };
                        let _ = self.writes.send(Write {
                            ctx,
                            ops: vec![(id.unwrap_or(0), op)],
                            after: After::Form { edited: id },
                        });
                    }
                }
            }
            Effect::SaveSegment(segment) => {
                let name = segment.name.clone();
                let op = WriteOp::record(RecordKind::Segment, &name, &segment);
                let after = After::Say { done: format!("segment {name:?} saved") };
                let _ = self.writes.send(Write { ctx, ops: vec![(0, op)], after });
            }
            Effect::DeleteSegment(name) => {
                let op = WriteOp::Record { kind: RecordKind::Segment, name: name.clone(), value: None };
                let after = After::Say { done: format!("segment {name:?} deleted") };
                let _ = self.writes.send(Write { ctx, ops: vec![(0, op)], after });
            }
            Effect::LoadDetail(id) => {
                let _ = self.detail.send(DetailJob::Lead(ctx.workspace, id));
            }
            Effect::LoadThread(id) => {
                let _ = self.detail.send(DetailJob::Thread(ctx.workspace, id));
            }
            Effect::MarkRead { lead, receipt } => {
                self.talk(ctx, lead, TalkOp::MarkRead { lead, receipt }, After::Quiet)
            }
            Effect::SendMessage { lead, account, text } => {
                let op = TalkOp::Enqueue { lead, account: account.clone(), text, campaign: None };
                self.talk(ctx, lead, op, After::Send { lead, account })
            }
            Effect::DoNotContact { id, value } => {
                let done = if value {
                    format!("#{id} marked do-not-contact: nothing will be sent to them")
                } else {
                    format!("#{id} may be contacted again")
                };
                self.talk(ctx, id, TalkOp::DoNotContact { lead: id, value }, After::Say { done })
            }
            Effect::CountSegments { base } => {
                let _ = self.segments.send(segments::SegmentJob::Recount { ws: ctx.workspace, base });
            }
            Effect::Export { .. } | Effect::CompletePath(_) | Effect::PreviewImport(_) | Effect::RunImport(_)
                if !self.settings.local_files =>
            {
                self.publish.tell(Msg::Error(NO_FILES.into()));
            }
            Effect::Export { ids } => {
                let (store, publish) = (self.store.clone(), self.publish.clone());
                self.jobs.spawn(Kind::Export, move |_| {
                    let name = format!("reach-export-{}.csv", chrono::Local::now().format("%Y%m%d-%H%M%S"));
                    publish.tell(match load::write_export(std::path::Path::new(&name), &store, &ctx.workspace, &ids) {
                        Ok((n, path)) => Msg::Notice(format!("exported {n} leads to {}", path.display())),
                        Err(e) => Msg::Error(format!("export failed: {e:#}")),
                    });
                });
            }
            Effect::CompletePath(typed) => {
                let publish = self.publish.clone();
                self.jobs.spawn(Kind::Complete, move |_| {
                    let entries = load::list_dir(&typed);
                    publish.tell(Msg::Completions { typed, entries });
                });
            }
            Effect::PreviewImport(path) => self.preview_import(ctx, path),
            Effect::CancelPreview => self.jobs.cancel(Kind::Preview),
            Effect::RunImport(path) => self.run_import(ctx, path),
            Effect::CancelImport => self.jobs.cancel(Kind::Import),
            Effect::StartCrawl { target, method } => self.start_crawl(ctx, target, method),
            Effect::CancelCrawl => self.jobs.cancel(Kind::Crawl),
            Effect::LoadCrawls => self.load_crawls(ctx),
            Effect::LoadAccounts => self.load_accounts(),
            Effect::StartLogin { name, phone } => self.start_login(name, phone),
            Effect::LoadCampaigns => self.list_campaigns(&ctx),
            Effect::CreateCampaign(draft) => return self.create_campaign(ctx, *draft),
            Effect::PreviewCampaign(id) => return self.preview_campaign(id),
            Effect::LaunchCampaign(id) => return self.launch_campaign(ctx, id),
            Effect::SetCampaignState { id, state } => self.set_campaign_state(ctx, id, state),
            Effect::LoginAnswer(answer) => {
                if let Some(tx) = &self.login_answers {
                    let _ = tx.try_send(answer);
                }
            }
        }
        Vec::new()
    }

    /// Sends the same edit for every lead in `ids` through the write lane, in order.
    fn edit(&self, ctx: WriteCtx, ids: Vec<u64>, input: LeadInput) -> Vec<Msg> {
        let cand = match input.validate(Source::Manual, None) {
            Ok(c) => c,
            Err(e) => return vec![Msg::Error(e.to_string())],
        };
        let ops = ids.into_iter().map(|id| (id, WriteOp::Edit { id, cand: cand.clone() })).collect();
        let _ = self.writes.send(Write { ctx, ops, after: After::Edit });
        Vec::new()
    }

    /// A conversation write about `lead`, through the write lane like every edit.
    fn talk(&self, ctx: WriteCtx, lead: u64, op: TalkOp, after: After) {
        let _ = self.writes.send(Write { ctx, ops: vec![(lead, WriteOp::Talk(op))], after });
    }

    /// Opens a workspace in a view behind the UI (the rules decide through `Store::scope`), then
    /// follows its versions until a newer load replaces this one.
    fn load(&mut self, generation: u64, workspace: Workspace, view: crate::workspace::View, remember: bool) {
        let (store, sets, user, search) =
            (self.store.clone(), self.sets.clone(), self.user.clone(), self.search.clone());
        let (publish, alive) = (self.publish.clone(), Arc::clone(&self.alive));
        self.jobs.replace(Kind::Load, move |cancel| {
            let progress = |done| publish.tell(Msg::LoadProgress { generation, done });
            let scoped = |scope: &crate::store::Scope| publish.set_scope(generation, scope.clone());
            let loaded = load::load_place(&store, &sets, &user, &workspace, view, remember, scoped, progress, &cancel);
            let follow = match loaded {
                Ok(Some(Loaded { place, scope, live, version, woken })) => {
                    let _ = search.send(SearchJob::Use(generation, Arc::clone(&live)));
                    // Counted here, off the UI thread: at a million leads this is not free.
                    let facets = load::facets_in(&version.rows, &scope);
                    let (from, rows) = (version.number, version.rows);
                    publish.tell(Msg::Loaded {
                        generation,
                        place,
                        scope: Box::new(scope.clone()),
                        leads: rows,
                        facets,
                    });
                    Some((live, woken, scope, from))
                }
                Ok(None) => None,
                Err(why) => {
                    publish.tell(Msg::LoadFailed { generation, why });
                    None
                }
            };
            if let Ok(list) = load::workspaces(&store, &user) {
                publish.tell(Msg::Workspaces(list));
            }
            publish.senders();
            if let Some((live, woken, scope, from)) = follow {
                let follow = load::Follow { live: &live, woken: &woken, generation, scope: &scope, publish: &publish };
                follow.run(from, &cancel, &alive);
            }
        });
    }

    #[cfg(test)]
    pub fn search_queue(&self) -> Sender<SearchJob> {
        self.search.clone()
    }
}
