//! Runs every account a process can lock, and takes up accounts other processes release (a TUI
//! quitting hands its accounts to a running `reach listen` within seconds). Runners wake when the
//! store's feed says their outbox grew, whichever process queued the message.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::lock::AccountLock;
use super::runner::{self, Stop};
use super::{RunnerConfig, RunnerEvent};
use crate::config::TelegramBackend;
use crate::crawl::account::{self, AccountRecord, RunnerHealth};
use crate::crawl::backend::{shared_world, Telegram};
use crate::store::{FeedEvent, Store};
use crate::telegram::real::RealAccount;
use crate::telegram::sim::chat::SimChat;
use crate::telegram::Authenticator;

/// The accounts this process runs, by name (with the session, for real ones): a crawl in this
/// process uses the runner's session instead of opening it a second time.
pub type HeldAccounts = HashMap<String, Option<Arc<RealAccount>>>;

pub fn held() -> &'static std::sync::Mutex<HeldAccounts> {
    static HELD: std::sync::OnceLock<std::sync::Mutex<HeldAccounts>> = std::sync::OnceLock::new();
    HELD.get_or_init(Default::default)
}

/// A runner's entry in `held`, taken out when the runner ends, however it ends.
struct Held(String);

impl Held {
    fn register(name: &str, session: Option<Arc<RealAccount>>) -> Held {
        if let Ok(mut h) = held().lock() {
            h.insert(name.to_string(), session);
        }
        Held(name.to_string())
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Ok(mut h) = held().lock() {
            h.remove(&self.0);
        }
    }
}

/// How often accounts nobody runs are looked for.
pub const TAKE_UP: Duration = Duration::from_secs(3);
/// A runner that stopped on an error is tried again after this long.
const RETRY: Duration = Duration::from_secs(30);

/// Which accounts a listener runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Which {
    /// Every account of the data dir (a server's `reach listen`).
    All,
    /// These accounts only (`reach listen --account A`).
    Named(Vec<String>),
    /// The accounts of every workspace this user works in (an open TUI).
    User(String),
}

impl Which {
    fn wants(&self, store: &Store, rec: &AccountRecord) -> bool {
        match self {
            Which::All => true,
            Which::Named(names) => names.contains(&rec.name),
            Which::User(user) => crate::workspace::Workspace::from_key(&rec.workspace)
                .is_some_and(|ws| matches!(store.access(user, &ws), Ok(Ok(_)))),
        }
    }
}

/// Crawls handed to this process, by request id, with their cancel flags.
type Serving = HashMap<String, (JoinHandle<()>, Arc<std::sync::atomic::AtomicBool>)>;

struct Running {
    task: JoinHandle<Stop>,
    wake: Arc<Notify>,
}

pub struct Listener {
    pub store: Store,
    pub telegram: Telegram,
    pub which: Which,
    pub cfg: RunnerConfig,
    pub events: mpsc::UnboundedSender<RunnerEvent>,
}

impl Listener {
    /// Runs until `cancel` turns true; then stops every runner (each records "stopped") and returns.
    pub async fn run(self, mut cancel: watch::Receiver<bool>) {
        let wakes: Arc<std::sync::Mutex<HashMap<String, Arc<Notify>>>> = Default::default();
        let requests = Arc::new(Notify::new());
        self.bridge_feed(wakes.clone(), requests.clone());
        let mut serving: Serving = HashMap::new();
        let mut running: HashMap<String, Running> = HashMap::new();
        let mut retry_at: HashMap<String, Instant> = HashMap::new();
        let mut told: HashSet<String> = HashSet::new();
        let (stop_tx, stop_rx) = watch::channel(false);
        loop {
            // Finished runners give their account back (the lock goes with the task).
            running.retain(|name, r| {
                if r.task.is_finished() {
                    retry_at.insert(name.clone(), Instant::now() + RETRY);
                    false
                } else {
                    true
                }
            });
            let accounts = account::list(&self.store).unwrap_or_default();
            for rec in accounts
                .into_iter()
                .filter(|r| self.which.wants(&self.store, r) && r.backend() == self.telegram.backend)
            {
                if running.contains_key(&rec.name) || retry_at.get(&rec.name).is_some_and(|t| *t > Instant::now()) {
                    continue;
                }
                let lock = match AccountLock::try_take(&self.telegram.data_dir, &rec.name) {
                    Ok(Some(lock)) => lock,
                    Ok(None) => {
                        if told.insert(rec.name.clone()) {
                            let why = match rec.live_runner(crate::model::now_millis()) {
                                Some(r) => format!("run by {} (pid {} on {})", r.process, r.holder.pid, r.holder.host),
                                None => "run by another process".to_string(),
                            };
                            let _ = self.events.send(RunnerEvent::Waiting { account: rec.name.clone(), why });
                        }
                        continue;
                    }
                    Err(e) => {
                        let why = format!(
                            "cannot lock {}: {e}",
                            super::lock::lock_path(&self.telegram.data_dir, &rec.name).display()
                        );
                        let _ = self.events.send(RunnerEvent::Stopped { account: rec.name.clone(), why });
                        retry_at.insert(rec.name.clone(), Instant::now() + RETRY);
                        continue;
                    }
                };
                told.remove(&rec.name);
                let wake = Arc::new(Notify::new());
                if let Ok(mut w) = wakes.lock() {
                    w.insert(rec.name.clone(), wake.clone());
                }
                let task = self.spawn(rec.clone(), lock, wake.clone(), stop_rx.clone());
                running.insert(rec.name.clone(), Running { task, wake });
            }
            serving.retain(|_, (t, _)| !t.is_finished());
            self.serve_requests(&running, &mut serving).await;
            tokio::select! {
                _ = tokio::time::sleep(TAKE_UP) => {}
                _ = requests.notified() => {}
                _ = cancel.changed() => if *cancel.borrow() { break },
            }
        }
        // Crawls first (they stop after their page and say so to their requester), then the
        // runners whose sessions they use.
        for (_, (task, cancel)) in serving {
            cancel.store(true, std::sync::atomic::Ordering::SeqCst);
            let _ = tokio::time::timeout(Duration::from_secs(30), task).await;
        }
        let _ = stop_tx.send(true);
        for (_, r) in running {
            r.wake.notify_one();
            let _ = r.task.await;
        }
    }

    fn spawn(
        &self,
        rec: AccountRecord,
        lock: AccountLock,
        wake: Arc<Notify>,
        stop: watch::Receiver<bool>,
    ) -> JoinHandle<Stop> {
        let (store, telegram, cfg, events) =
            (self.store.clone(), self.telegram.clone(), self.cfg.clone(), self.events.clone());
        tokio::spawn(async move {
            // Held for the runner's life: the account is this process's until the task ends.
            let _lock = lock;
            match rec.backend() {
                TelegramBackend::Simulated => {
                    let chat = Arc::new(SimChat::new(shared_world(), &rec.name, &telegram.data_dir));
                    let _held = Held::register(&rec.name, None);
                    runner::run(store, rec, chat, cfg, events, wake, stop).await
                }
                TelegramBackend::Grammers => {
                    let acct = match telegram.connect(&rec.name).await {
                        Ok(a) => a,
                        Err(e) => return stopped(&events, &rec.name, e.to_string()),
                    };
                    match acct.is_authorized().await {
                        Ok(Some(_)) => {}
                        Ok(None) => {
                            let _ = account::update(&store, &rec.name, |r| {
                                if let Some(s) = r.runner.as_mut() {
                                    s.health = RunnerHealth::NeedsLogin;
                                }
                            });
                            return stopped(&events, &rec.name, "needs login (reach account add)".into());
                        }
                        Err(e) => return stopped(&events, &rec.name, e.to_string()),
                    }
                    let acct = Arc::new(acct);
                    let _held = Held::register(&rec.name, Some(acct.clone()));
                    runner::run(store, rec, acct, cfg, events, wake, stop).await
                }
            }
        })
    }

    /// Crawls other processes handed to the accounts this one runs (see `crawl::handoff`).
    async fn serve_requests(&self, running: &HashMap<String, Running>, serving: &mut Serving) {
        use crate::crawl::handoff;
        let Ok(pending) = handoff::pending(&self.store).await else { return };
        let accounts = account::list(&self.store).unwrap_or_default();
        for req in pending {
            // Only accounts that serve the request's workspace crawl for it.
            let serves = |name: &String| accounts.iter().any(|a| &a.name == name && a.workspace == req.workspace);
            let mine: Vec<String> =
                req.accounts.iter().filter(|a| running.contains_key(*a) && serves(a)).cloned().collect();
            if req.state != handoff::RequestState::Pending || mine.is_empty() || serving.contains_key(&req.id) {
                continue;
            }
            let Ok(Some(req)) = handoff::take(&self.store, &req.id, self.cfg.process).await else { continue };
            let (store, telegram, events) = (self.store.clone(), self.telegram.clone(), self.events.clone());
            let id = req.id.clone();
            let cancel = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let stopping = cancel.clone();
            // The crawl's progress callback is not Send: it runs on a blocking thread of its own.
            let rt = tokio::runtime::Handle::current();
            let task = tokio::task::spawn_blocking(move || {
                rt.clone().block_on(async move {
                    let accounts: Vec<AccountRecord> =
                        mine.iter().filter_map(|n| account::get(&store, n).ok().flatten()).collect();
                    let why = format!("crawling {} for {} (handed over by another process)", req.target, req.by);
                    let _ = events.send(RunnerEvent::Waiting { account: mine.join(","), why });
                    let result = match req.options() {
                        Ok(opts) => {
                            let sink = crate::crawl::Sink {
                                store: &store,
                                ctx: crate::store::WriteCtx { workspace: req.workspace.clone(), actor: req.by.clone() },
                                data_dir: &telegram.data_dir,
                            };
                            let watch = {
                                let (store, id, cancel) = (store.clone(), req.id.clone(), cancel.clone());
                                tokio::spawn(async move {
                                    while !handoff::cancelled(&store, &id) {
                                        tokio::time::sleep(Duration::from_millis(500)).await;
                                    }
                                    cancel.store(true, std::sync::atomic::Ordering::SeqCst);
                                })
                            };
                            let result = telegram.crawl(&sink, accounts, &opts, cancel, &mut |_| {}).await;
                            watch.abort();
                            result
                        }
                        Err(e) => Err(crate::crawl::CrawlError::Denied(e)),
                    };
                    let _ = handoff::finish(&store, &req.id, &result).await;
                })
            });
            serving.insert(id, (task, stopping));
        }
    }

    /// One thread follows the store's feed for this listener and wakes the runner whose outbox
    /// or account record changed (a message queued, an account resumed) or a campaign changed, in
    /// any process, and the listener itself when a crawl is handed over.
    fn bridge_feed(&self, wakes: Arc<std::sync::Mutex<HashMap<String, Arc<Notify>>>>, requests: Arc<Notify>) {
        let Ok(rx) = self.store.subscribe() else { return };
        let account_kind = crate::store::RecordKind::Account.byte();
        let request_kind = crate::store::RecordKind::CrawlRequest.byte();
        let campaign_kind = crate::store::RecordKind::Campaign.byte();
        let spawned = std::thread::Builder::new().name("reach-listen-feed".into()).spawn(move || {
            for event in rx {
                let Ok(w) = wakes.lock() else { return };
                match event {
                    FeedEvent::Reload => w.values().for_each(|n| n.notify_one()),
                    FeedEvent::Changes(changes) => {
                        for (_, c) in changes.iter() {
                            if c.records.iter().any(|(k, _, _)| *k == request_kind) {
                                requests.notify_one();
                            }
                            // A campaign launched, resumed or paused: its accounts look at once.
                            if c.records.iter().any(|(k, _, _)| *k == campaign_kind) {
                                w.values().for_each(|n| n.notify_one());
                            }
                            let records = c.records.iter().filter(|(k, _, _)| *k == account_kind).map(|(_, _, n)| n);
                            for name in c.outboxes.iter().chain(records) {
                                if let Some(n) = w.get(name) {
                                    n.notify_one();
                                }
                            }
                        }
                    }
                }
            }
        });
        drop(spawned);
    }
}

fn stopped(events: &mpsc::UnboundedSender<RunnerEvent>, name: &str, why: String) -> Stop {
    let _ = events.send(RunnerEvent::Stopped { account: name.to_string(), why: why.clone() });
    Stop::Failed(why)
}
