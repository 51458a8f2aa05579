//! The jobs that talk to Telegram: crawls, the accounts' health and logins. Each runs on the
//! blocking pool and drives its async work with the process's runtime.

use std::sync::mpsc::{self, Receiver, SyncSender};

use super::Executor;
use crate::jobs::{self, Kind};
use crate::store::{RecordKind, WriteCtx};
use crate::tui::msg::{AccountRow, Ask, CrawlTick, Event, Msg, PastCrawl};

impl Executor {
    /// Runs a crawl; its figures are a latest value, its leads reach the view through the feed.
    pub(super) fn start_crawl(
        &mut self,
        ctx: WriteCtx,
        target: crate::telegram::Target,
        method: Option<crate::crawl::Method>,
    ) {
        let (store, publish, setup) = (self.store.clone(), self.publish.clone(), self.settings.clone());
        let (progress, latest) = jobs::progress();
        self.crawl_progress = Some(latest);
        let rt = self.jobs.handle().clone();
        self.jobs.spawn(Kind::Crawl, move |cancel| {
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
            let data_dir = setup.telegram.data_dir.clone();
            let sink = crate::crawl::Sink { store: &store, ctx, data_dir: &data_dir };
            let mut tick = CrawlTick::default();
            let mut on_event = |e: crate::crawl::Event| match e {
                crate::crawl::Event::Leads(_) => {}
                crate::crawl::Event::Progress(counts) => {
                    tick = CrawlTick { counts, waiting: None };
                    progress.set(tick.clone());
                }
                crate::crawl::Event::Waiting { seconds } => {
                    tick.waiting = Some(seconds);
                    progress.set(tick.clone());
                }
                crate::crawl::Event::FloodWait { account, seconds } => {
                    // Counted now, not at the next page: a crawl stuck in flood waits says so.
                    tick.counts.requests += 1;
                    tick.counts.flood_waits += 1;
                    progress.set(tick.clone());
                    publish.tell(Msg::Crawl(crate::crawl::Event::FloodWait { account, seconds }));
                }
                other => publish.tell(Msg::Crawl(other)),
            };
            let result = rt.block_on(async {
                let accounts = setup.telegram.crawl_accounts(&store, &sink.ctx.workspace, None)?;
                setup.telegram.crawl(&sink, accounts, &opts, cancel.shared(), &mut on_event).await
            });
            publish.tell(Msg::CrawlDone(result.map_err(|e| e.to_string())));
        });
    }

    pub(super) fn load_crawls(&mut self, ctx: WriteCtx) {
        let (store, publish) = (self.store.clone(), self.publish.clone());
        self.jobs.spawn(Kind::Crawls, move |_| {
            publish.tell(match store.records::<crate::crawl::CrawlRecord>(RecordKind::Crawl, &ctx.workspace) {
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
            });
        });
    }

    /// Lists the accounts and checks each one's health (a real account is asked over the network).
    pub(super) fn load_accounts(&mut self) {
        let (store, publish, telegram, rt) =
            (self.store.clone(), self.publish.clone(), self.settings.telegram.clone(), self.jobs.handle().clone());
        let workspace = self.write.workspace.clone();
        // A recheck replaces one still running, so answers never arrive out of order.
        self.jobs.replace(Kind::Accounts, move |cancel| {
            let msg = match rt.block_on(telegram.accounts_health(&store, &workspace)) {
                Ok(list) => Msg::Accounts(
                    list.into_iter()
                        .map(|(rec, health)| AccountRow {
                            backend: crate::crawl::backend::backend_name(rec.backend()).to_string(),
                            health,
                            name: rec.name,
                            phone: rec.phone,
                        })
                        .collect(),
                ),
                Err(e) => Msg::Error(format!("cannot list the accounts: {e:#}")),
            };
            if !cancel.is_cancelled() {
                publish.tell(msg);
            }
        });
    }

    /// Runs the login of `reach account add`; its questions come to the panel as messages, and
    /// the answers come back through `login_answers`.
    pub(super) fn start_login(&mut self, name: String, phone: String) {
        let (answers_tx, answers) = mpsc::sync_channel(1);
        self.login_answers = Some(answers_tx);
        let (store, events, telegram, rt) =
            (self.store.clone(), self.events.clone(), self.settings.telegram.clone(), self.jobs.handle().clone());
        let ctx = self.write.clone();
        self.jobs.spawn(Kind::Login, move |_| {
            let mut prompt = PanelPrompt { events: events.clone(), answers };
            let outcome = rt
                .block_on(telegram.add_account(&store, &ctx, &name, &phone, &mut prompt))
                .map_err(|e| e.to_string())
                .map(|rec| {
                    let who = rec.me.as_ref().map(|m| format!(" as {}", m.first_name)).unwrap_or_default();
                    format!("account {} logged in{who}", rec.name)
                });
            let _ = events.send(Event::Msg(Msg::LoginDone(outcome)));
        });
    }
}

/// The login's questions, asked in the accounts panel. The login job waits for the answer; a
/// closed channel (the TUI quit) gives up.
struct PanelPrompt {
    events: SyncSender<Event>,
    answers: Receiver<Option<String>>,
}

impl PanelPrompt {
    fn ask(&mut self, ask: Ask) -> Option<String> {
        self.events.send(Event::Msg(Msg::LoginAsk(ask))).ok()?;
        self.answers.recv().ok().flatten()
    }
}

impl crate::telegram::login::Prompt for PanelPrompt {
    fn code(&mut self, phone: &str) -> Option<String> {
        self.ask(Ask::Code { phone: phone.to_string() })
    }

    fn password(&mut self, hint: Option<&str>) -> Option<String> {
        self.ask(Ask::Password { hint: hint.map(str::to_string) })
    }

    fn retry(&mut self, error: &crate::telegram::TgError) {
        let _ = self.events.send(Event::Msg(Msg::LoginAsk(Ask::Retry(error.to_string()))));
    }
}
