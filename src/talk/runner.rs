//! One account's runner: it streams the account's updates into the store, drains its outbox
//! through the pacing gate and the caps, and keeps the account's health current. It runs only in
//! the process holding the account's lock; every other process sees it through the store.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch, Notify};
use tokio::time::Instant;

mod dispatch;

use super::{RunnerConfig, RunnerEvent};
use crate::crawl::account::{self, AccountRecord, RunnerHealth, RunnerState};
use crate::model::{is_stop_request, now_millis, Delivery, Direction, Millis};
use crate::store::{Holder, OutboxItem, OutboxKind, SendResult, Store, StoreError, TalkOp, WriteCtx, WriteOp};
use crate::telegram::sim::Rng;
use crate::telegram::{Messenger, TgError, TgUpdate, UserRef};

/// How often the runner renews its heartbeat on the account record.
pub const HEARTBEAT: Duration = Duration::from_secs(5);
/// How often an idle outbox is looked at even without a wake-up (another process's writes are
/// seen through the feed, which polls; this is the backstop).
pub const IDLE_POLL: Duration = Duration::from_secs(2);
/// Set to make the runner abort the process right after a send returns, before recording it:
/// the crash the outbox's random id exists for, reproducible in a test (debug builds only).
pub const FAULT_AFTER_SEND: &str = "REACH_FAULT_AFTER_SEND";

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Telegram(TgError),
    #[error("{0}")]
    Denied(String),
}

/// Why a runner stopped, and whether the listener should try again.
pub enum Stop {
    Cancelled,
    /// The session is not logged in: nothing to retry until someone logs in.
    NeedsLogin,
    Failed(String),
}

/// What the runner shares between its tasks.
struct Ctx<M> {
    store: Store,
    name: String,
    write: WriteCtx,
    messenger: Arc<M>,
    cfg: RunnerConfig,
    events: mpsc::UnboundedSender<RunnerEvent>,
    holder: Holder,
    since: Millis,
    /// The health last told, so the log says only what changed.
    told: std::sync::Mutex<Option<RunnerHealth>>,
}

impl<M: Messenger> Ctx<M> {
    fn tell(&self, e: RunnerEvent) {
        let _ = self.events.send(e);
    }

    /// Writes as the account's owner. A refused write (the owner left the organization) stops
    /// the runner: going on would drop what Telegram says, or send again and again.
    async fn write(&self, ops: Vec<WriteOp>) -> Result<Vec<crate::store::Outcome>, RunError> {
        // On the blocking pool: besides keeping the runtime free, a write in flight then holds
        // a paused clock (tokio does not jump time past a running blocking task), so tests on
        // simulated days see the pacing a real clock would.
        let (store, w) = (self.store.clone(), self.write.clone());
        let out =
            tokio::task::spawn_blocking(move || store.write(w, ops)).await.map_err(|_| StoreError::WriterGone)??;
        if let Some(crate::store::Outcome::Denied(why)) =
            out.iter().find(|o| matches!(o, crate::store::Outcome::Denied(_)))
        {
            return Err(RunError::Denied(format!(
                "{} writes as its owner {} in {}, which is refused: {why}",
                self.name, self.write.actor, self.write.workspace
            )));
        }
        Ok(out)
    }

    /// Waits a flood wait out exactly, remembering it for the other processes.
    async fn flood(&self, d: Duration) -> Result<Handled, RunError> {
        let until = self.cfg.clock.now() + d.as_millis() as i64;
        if d > self.cfg.flood_breaker {
            let why = format!(
                "{} got a flood wait of {} s from Telegram, longer than campaigns.flood_breaker_secs: resume the campaign to go on",
                self.name,
                d.as_secs()
            );
            self.breaker(Some(why)).await?;
        }
        let op =
            WriteOp::update_record(crate::store::RecordKind::Account, &self.name, move |r: Option<AccountRecord>| {
                r.map(|mut r| {
                    r.flood_until = Some(r.flood_until.unwrap_or(0).max(until));
                    r
                })
            });
        self.write(vec![op]).await?;
        self.set_health(RunnerHealth::FloodWait { until }).await?;
        Ok(Handled::Pause(Some(d)))
    }

    /// Trips (or lets go) this account's circuit breaker in every live campaign of its workspace.
    async fn breaker(&self, why: Option<String>) -> Result<(), RunError> {
        let op = WriteOp::Campaign(crate::store::campaign::CampaignOp::Breaker { account: self.name.clone(), why });
        self.write(vec![op]).await.map(|_| ())
    }

    async fn set_health(&self, health: RunnerHealth) -> Result<(), StoreError> {
        let state = RunnerState {
            holder: self.holder.clone(),
            process: self.cfg.process.to_string(),
            since: self.since,
            heartbeat: now_millis(),
            health: health.clone(),
        };
        let store = self.store.clone();
        let name = self.name.clone();
        tokio::task::spawn_blocking(move || account::update(&store, &name, move |r| r.runner = Some(state.clone())))
            .await
            .map_err(|_| StoreError::WriterGone)??;
        let mut told = self.told.lock().unwrap_or_else(|e| e.into_inner());
        if told.as_ref() != Some(&health) {
            *told = Some(health.clone());
            self.tell(RunnerEvent::Health { account: self.name.clone(), health });
        }
        Ok(())
    }

    /// Back to connected after a flood wait or a network error, once something went through.
    async fn healthy(&self) -> Result<(), StoreError> {
        let told = self.told.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if matches!(told, Some(RunnerHealth::FloodWait { .. } | RunnerHealth::Unreachable { .. })) {
            self.set_health(RunnerHealth::Connected).await?;
        }
        Ok(())
    }

    fn record(&self) -> Result<Option<AccountRecord>, StoreError> {
        account::get(&self.store, &self.name)
    }
}

/// Runs the account until `cancel` turns true or the session turns out not to be logged in.
pub async fn run<M: Messenger + 'static>(
    store: Store,
    rec: AccountRecord,
    messenger: Arc<M>,
    cfg: RunnerConfig,
    events: mpsc::UnboundedSender<RunnerEvent>,
    wake: Arc<Notify>,
    mut cancel: watch::Receiver<bool>,
) -> Stop {
    let ctx = Arc::new(Ctx {
        store,
        name: rec.name.clone(),
        write: WriteCtx { workspace: rec.workspace.clone(), actor: rec.owner.clone() },
        messenger,
        cfg,
        events,
        holder: Holder::new_run(&rec.owner),
        since: now_millis(),
        told: Default::default(),
    });
    ctx.tell(RunnerEvent::Started { account: ctx.name.clone() });
    let health = if rec.limited_since.is_some() { RunnerHealth::Limited } else { RunnerHealth::Connected };
    if let Err(e) = ctx.set_health(health).await {
        return Stop::Failed(e.to_string());
    }
    let (stop_tx, mut stop_rx) = mpsc::channel::<Stop>(4);
    let updates = tokio::spawn(pump_updates(ctx.clone(), stop_tx.clone()));
    let outbox = tokio::spawn(drain_outbox(ctx.clone(), wake, stop_tx.clone()));
    let mut beat = tokio::time::interval(ctx.cfg.heartbeat);
    beat.tick().await;
    let stop = loop {
        tokio::select! {
            _ = cancel.changed() => if *cancel.borrow() { break Stop::Cancelled },
            s = stop_rx.recv() => break s.unwrap_or(Stop::Cancelled),
            // The heartbeat renews the health last told.
            _ = beat.tick() => {
                let health = ctx.told.lock().unwrap_or_else(|e| e.into_inner()).clone();
                let _ = ctx.set_health(health.unwrap_or(RunnerHealth::Connected)).await;
            }
        }
    };
    // No sync here: the update task saves how far it read after each recorded batch, and an
    // update it had in hand when aborted may not be recorded.
    updates.abort();
    outbox.abort();
    let (health, why) = match &stop {
        Stop::Cancelled => (RunnerHealth::Stopped, "the process stopped".to_string()),
        Stop::NeedsLogin => (RunnerHealth::NeedsLogin, "the session is not logged in".to_string()),
        Stop::Failed(e) => (RunnerHealth::Unreachable { error: e.clone() }, e.clone()),
    };
    let _ = ctx.set_health(health).await;
    ctx.tell(RunnerEvent::Stopped { account: ctx.name.clone(), why });
    stop
}

/// Drains the update stream into the store as fast as it comes, then syncs the update state:
/// everything synced is recorded first, and a message seen twice is recognised by its id.
async fn pump_updates<M: Messenger>(ctx: Arc<Ctx<M>>, stop: mpsc::Sender<Stop>) {
    let mut backoff = Duration::from_secs(1);
    loop {
        let batch = match ctx.messenger.next_updates().await {
            Ok(b) => {
                backoff = Duration::from_secs(1);
                let _ = ctx.healthy().await;
                b
            }
            Err(TgError::Unauthorized) => {
                let _ = stop.send(Stop::NeedsLogin).await;
                return;
            }
            Err(TgError::FloodWait(d)) => {
                tokio::time::sleep(d).await;
                continue;
            }
            Err(e) => {
                let _ = ctx.set_health(RunnerHealth::Unreachable { error: e.to_string() }).await;
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(60));
                continue;
            }
        };
        let ops: Vec<WriteOp> = batch
            .iter()
            .map(|u| {
                let stop = matches!(u, TgUpdate::Message(m) if !m.out && is_stop_request(&m.text, &ctx.cfg.stop_words));
                WriteOp::Talk(TalkOp::Heard { account: ctx.name.clone(), update: u.clone(), stop })
            })
            .collect();
        let outcomes = match ctx.write(ops).await {
            Ok(o) => o,
            Err(e) => {
                let _ = stop.send(Stop::Failed(format!("cannot record updates: {e}"))).await;
                return;
            }
        };
        for (u, o) in batch.iter().zip(&outcomes) {
            if let TgUpdate::Message(m) = u {
                if matches!(o, crate::store::Outcome::Unchanged { .. }) {
                    continue;
                }
                let from = match &m.peer.username {
                    Some(u) => format!("@{u}"),
                    None => format!("{} {}", m.peer.first_name, m.peer.last_name).trim().to_string(),
                };
                let event = RunnerEvent::Heard {
                    account: ctx.name.clone(),
                    lead: o.id().filter(|id| *id > 0),
                    from,
                    out: m.out,
                    text: m.text.clone(),
                };
                ctx.tell(event);
            }
        }
        if let Err(e) = ctx.messenger.sync_updates().await {
            // Not fatal: the next start catches up from the last sync, and known messages are skipped.
            let why = format!("cannot save how far updates were read: {e}");
            ctx.tell(RunnerEvent::Waiting { account: ctx.name.clone(), why });
        }
    }
}

/// The pacing gate of one account: the next send may go at `next`.
struct Gate {
    next: Instant,
    rng: Rng,
    /// The day the first-contact cap was last told, so the log says it once a day.
    capped: Option<i64>,
}

impl Gate {
    fn passed(&mut self, cfg: &RunnerConfig) {
        let jitter = match cfg.jitter.as_millis() as u64 {
            0 => Duration::ZERO,
            j => Duration::from_millis(self.rng.below(j + 1)),
        };
        self.next = Instant::now() + cfg.interval + jitter;
    }
}

/// What became of one outbox item.
enum Handled {
    /// Done (sent, failed or dropped): go on with the next.
    Done,
    /// It must wait (cap, quiet hours): skip it for now, try the others.
    Later,
    /// The whole account must wait this long (flood wait) or until a person acts (PEER_FLOOD).
    Pause(Option<Duration>),
}

async fn drain_outbox<M: Messenger>(ctx: Arc<Ctx<M>>, wake: Arc<Notify>, stop: mpsc::Sender<Stop>) {
    let mut gate = Gate { next: Instant::now(), rng: Rng::seeded(ctx.name.as_bytes()), capped: None };
    let mut told = dispatch::Told::new();
    let idle = ctx.cfg.idle_poll;
    loop {
        let items = match ctx.store.outbox(&ctx.name) {
            Ok(items) => items,
            Err(e) => {
                let _ = stop.send(Stop::Failed(format!("cannot read the outbox: {e}"))).await;
                return;
            }
        };
        let mut progressed = false;
        let mut pause = None;
        let mut sends_waiting = false;
        for (seq, item) in items {
            let is_send = matches!(item.kind, OutboxKind::Send { .. });
            match handle(&ctx, &mut gate, seq, item).await {
                Ok(Handled::Done) => progressed = true,
                Ok(Handled::Later) => sends_waiting |= is_send,
                Ok(Handled::Pause(d)) => {
                    pause = Some(d);
                    break;
                }
                Err(RunError::Telegram(TgError::Unauthorized)) => {
                    let _ = stop.send(Stop::NeedsLogin).await;
                    return;
                }
                Err(e) => {
                    let _ = stop.send(Stop::Failed(e.to_string())).await;
                    return;
                }
            }
        }
        // Campaigns queue only into an empty outbox: a person's own message goes first, and a
        // capped account does not pile up campaign messages it cannot send.
        let mut wait = idle;
        if pause.is_none() && !sends_waiting {
            match dispatch::pass(&ctx, &mut told).await {
                Ok(p) => {
                    progressed |= p.progressed;
                    if let Some(t) = p.wake {
                        let left = (t - ctx.cfg.clock.now()).max(1) as u64;
                        wait = wait.min(Duration::from_millis(left));
                    }
                }
                Err(e) => {
                    let _ = stop.send(Stop::Failed(format!("campaigns: {e}"))).await;
                    return;
                }
            }
        }
        match pause {
            Some(Some(d)) => tokio::time::sleep(d).await,
            // Limited: wait for a person to resume the account (the record changes, a wake).
            Some(None) => loop {
                let _ = tokio::time::timeout(idle, wake.notified()).await;
                if ctx.record().ok().flatten().is_none_or(|r| r.limited_since.is_none()) {
                    let _ = ctx.set_health(RunnerHealth::Connected).await;
                    break;
                }
            },
            None if !progressed => {
                let _ = tokio::time::timeout(wait, wake.notified()).await;
            }
            None => {}
        }
    }
}

async fn handle<M: Messenger>(ctx: &Ctx<M>, gate: &mut Gate, seq: u64, item: OutboxItem) -> Result<Handled, RunError> {
    let done = || WriteOp::Talk(TalkOp::Done { account: ctx.name.clone(), seq });
    if item.workspace != ctx.write.workspace {
        // Queued in a workspace this account does not serve (it moved): never sent from here.
        ctx.write(vec![done()]).await?;
        return Ok(Handled::Done);
    }
    let Some(lead) = ctx.store.get(&item.workspace, item.lead)? else {
        ctx.write(vec![done()]).await?;
        return Ok(Handled::Done);
    };
    match item.kind {
        OutboxKind::ReadReceipt { max_id } => {
            if !ctx.cfg.send_read_receipts {
                ctx.write(vec![done()]).await?;
                return Ok(Handled::Done);
            }
            let to = match user_ref(ctx, &lead, false).await {
                Ok(Some(to)) => to,
                Err(RunError::Telegram(TgError::FloodWait(d))) => return ctx.flood(d).await,
                Err(RunError::Telegram(TgError::Network(_))) => return Ok(Handled::Later),
                Err(RunError::Telegram(TgError::Unauthorized)) => {
                    return Err(RunError::Telegram(TgError::Unauthorized))
                }
                Err(RunError::Telegram(_)) | Ok(None) => {
                    ctx.write(vec![done()]).await?;
                    return Ok(Handled::Done);
                }
                Err(e) => return Err(e),
            };
            match ctx.messenger.read_history(to, max_id).await {
                Err(TgError::FloodWait(d)) => return ctx.flood(d).await,
                Err(TgError::Network(_)) => return Ok(Handled::Later),
                // A receipt that fails for good is not worth a retry: the lead reads on.
                _ => ctx.write(vec![done()]).await?,
            };
            Ok(Handled::Done)
        }
        OutboxKind::Send { message } => send(ctx, gate, seq, &lead, message).await,
    }
}

async fn send<M: Messenger>(
    ctx: &Ctx<M>,
    gate: &mut Gate,
    seq: u64,
    lead: &crate::model::Lead,
    message: u64,
) -> Result<Handled, RunError> {
    let ws = ctx.write.workspace.clone();
    let settle = |result: SendResult| {
        WriteOp::Talk(TalkOp::Settle { account: ctx.name.clone(), seq, message, lead: lead.id, result })
    };
    let Some(msg) = ctx.store.message(&ws, lead.id, message)? else {
        ctx.write(vec![WriteOp::Talk(TalkOp::Done { account: ctx.name.clone(), seq })]).await?;
        return Ok(Handled::Done);
    };
    if msg.delivery != Delivery::Queued {
        ctx.write(vec![WriteOp::Talk(TalkOp::Done { account: ctx.name.clone(), seq })]).await?;
        return Ok(Handled::Done);
    }
    let Some(rec) = ctx.record()? else { return Ok(Handled::Pause(Some(IDLE_POLL))) };
    if rec.limited_since.is_some() {
        ctx.set_health(RunnerHealth::Limited).await?;
        return Ok(Handled::Pause(None));
    }
    // Checked again just before sending: the lead may have been blocked or archived since.
    if let Some(why) = lead.why_not_messageable() {
        ctx.write(vec![settle(SendResult::Skipped(why.clone()))]).await?;
        ctx.tell(RunnerEvent::Failed { account: ctx.name.clone(), lead: lead.id, message, reason: why });
        return Ok(Handled::Done);
    }
    let first_contact = !ctx.store.thread(&ws, lead.id)?.iter().any(|m| {
        m.account == ctx.name && (m.direction == Direction::In || matches!(m.delivery, Delivery::Sent | Delivery::Read))
    });
    let now = ctx.cfg.clock.now();
    let today = rec.today.on(now);
    if first_contact && today.first_contacts >= ctx.cfg.first_contacts_per_day {
        let why = format!(
            "{} first contacts today, the daily cap (messages.first_contacts_per_day); the rest wait for tomorrow (UTC)",
            today.first_contacts
        );
        if gate.capped != Some(today.day) {
            gate.capped = Some(today.day);
            ctx.tell(RunnerEvent::Waiting { account: ctx.name.clone(), why });
        }
        return Ok(Handled::Later);
    }
    if let Some(left) = quiet_left(ctx.cfg.quiet_hours) {
        let why = format!("quiet hours, {} min left", left.as_secs().div_ceil(60));
        ctx.tell(RunnerEvent::Waiting { account: ctx.name.clone(), why });
        return Ok(Handled::Pause(Some(left.min(Duration::from_secs(60)))));
    }
    if let Some(until) = rec.flood_until.filter(|t| *t > now) {
        return Ok(Handled::Pause(Some(Duration::from_millis((until - now) as u64))));
    }
    tokio::time::sleep_until(gate.next).await;
    // A campaign paused or cancelled while its message waited: pause and cancel take effect now.
    if let Some(id) = msg.campaign {
        match ctx.store.campaign(&ws, id)?.map(|c| c.state) {
            Some(crate::campaign::CampaignState::Paused) => return Ok(Handled::Later),
            Some(crate::campaign::CampaignState::Cancelled) | None => {
                ctx.write(vec![settle(SendResult::Skipped("the campaign was cancelled".into()))]).await?;
                return Ok(Handled::Done);
            }
            _ => {}
        }
        // A reply that came while this follow-up waited in the outbox ends the lead's steps.
        let replied = ctx
            .store
            .recipient(&ws, id, lead.id)?
            .is_some_and(|r| r.queued == Some(message) && r.state == crate::campaign::RecipientState::Replied);
        if replied {
            ctx.write(vec![settle(SendResult::Skipped("the lead replied".into()))]).await?;
            return Ok(Handled::Done);
        }
    }
    let mut resolved_again = false;
    loop {
        let found = match user_ref(ctx, lead, resolved_again).await {
            Err(RunError::Telegram(TgError::FloodWait(d))) => return ctx.flood(d).await,
            Err(RunError::Telegram(TgError::Network(e))) => {
                ctx.set_health(RunnerHealth::Unreachable { error: e }).await?;
                return Ok(Handled::Pause(Some(Duration::from_secs(5))));
            }
            Err(RunError::Telegram(e)) if e != TgError::Unauthorized => {
                let reason = format!("finding the lead on Telegram: {e}");
                ctx.write(vec![settle(SendResult::Refused(e))]).await?;
                ctx.tell(RunnerEvent::Failed { account: ctx.name.clone(), lead: lead.id, message, reason });
                return Ok(Handled::Done);
            }
            other => other?,
        };
        let Some(to) = found else {
            let reason = match &lead.username {
                Some(u) => format!("@{u} is not a Telegram user (any more)"),
                None => format!(
                    "{} has never seen this user, and the lead has no username to find them by: crawl a group they are in with this account, or add their username",
                    ctx.name
                ),
            };
            ctx.write(vec![settle(SendResult::Skipped(reason.clone()))]).await?;
            ctx.tell(RunnerEvent::Failed { account: ctx.name.clone(), lead: lead.id, message, reason });
            return Ok(Handled::Done);
        };
        gate.passed(&ctx.cfg);
        let result = ctx.messenger.send(to, &msg.text, msg.random_id).await;
        if cfg!(debug_assertions) && result.is_ok() && std::env::var_os(FAULT_AFTER_SEND).is_some() {
            // The crash between sending and recording, on purpose (see FAULT_AFTER_SEND).
            std::process::abort();
        }
        match result {
            Ok(sent) => {
                let counts = count_send(&ctx.name, first_contact, ctx.cfg.clock.now());
                ctx.write(vec![settle(SendResult::Sent(sent)), counts]).await?;
                ctx.healthy().await?;
                ctx.tell(RunnerEvent::Sent { account: ctx.name.clone(), lead: lead.id, message });
                return Ok(Handled::Done);
            }
            Err(TgError::FloodWait(d)) => return ctx.flood(d).await,
            // Telegram may have taken it: the same random id again is safe either way.
            Err(TgError::Rpc(name)) if name.starts_with("SEND_UNCONFIRMED") => {
                return Ok(Handled::Pause(Some(Duration::from_secs(5))));
            }
            Err(TgError::PeerFlood) => {
                let name = ctx.name.clone();
                let now = ctx.cfg.clock.now();
                let op = WriteOp::update_record(
                    crate::store::RecordKind::Account,
                    &name,
                    move |r: Option<AccountRecord>| {
                        r.map(|mut r| {
                            r.limited_since = Some(now);
                            r
                        })
                    },
                );
                ctx.write(vec![op]).await?;
                let why = format!(
                    "Telegram limits {name} (PEER_FLOOD): its campaign messages wait until a person checks @SpamBot and runs reach account resume {name}"
                );
                ctx.breaker(Some(why)).await?;
                ctx.set_health(RunnerHealth::Limited).await?;
                return Ok(Handled::Pause(None));
            }
            Err(TgError::PeerInvalid) if !resolved_again && lead.username.is_some() => {
                // An access hash that no longer works: resolve the username once, then try again.
                resolved_again = true;
            }
            Err(TgError::Network(e)) => {
                ctx.set_health(RunnerHealth::Unreachable { error: e }).await?;
                return Ok(Handled::Pause(Some(Duration::from_secs(5))));
            }
            Err(TgError::Unauthorized) => return Err(RunError::Telegram(TgError::Unauthorized)),
            Err(e) => {
                let reason = e.to_string();
                ctx.write(vec![settle(SendResult::Refused(e))]).await?;
                ctx.tell(RunnerEvent::Failed { account: ctx.name.clone(), lead: lead.id, message, reason });
                return Ok(Handled::Done);
            }
        }
    }
}

/// Today's counts of the account, with this send.
fn count_send(name: &str, first_contact: bool, now: Millis) -> WriteOp {
    WriteOp::update_record(crate::store::RecordKind::Account, name, move |r: Option<AccountRecord>| {
        r.map(|mut r| {
            let mut day = r.today.on(now);
            day.sent += 1;
            day.first_contacts += u32::from(first_contact);
            r.today = day;
            r
        })
    })
}

/// How this account addresses the lead: its stored peer for the user id, else (or when `fresh`)
/// the username resolved now and remembered. None when neither leads anywhere.
async fn user_ref<M: Messenger>(
    ctx: &Ctx<M>,
    lead: &crate::model::Lead,
    fresh: bool,
) -> Result<Option<UserRef>, RunError> {
    if let (Some(uid), false) = (lead.telegram_user_id, fresh) {
        if let Some(p) = ctx.store.peer(&ctx.name, uid)? {
            return Ok(Some(UserRef { user_id: uid, access_hash: p.access_hash }));
        }
    }
    let Some(username) = &lead.username else { return Ok(None) };
    match ctx.messenger.resolve_user(username).await {
        Ok(member) => {
            let Some(hash) = member.access_hash else { return Ok(None) };
            let user = UserRef { user_id: member.user_id, access_hash: hash };
            if lead.telegram_user_id.is_some_and(|uid| uid != member.user_id) {
                // The username moved to someone else: not this lead any more.
                return Ok(None);
            }
            ctx.write(vec![WriteOp::Talk(TalkOp::Peer { account: ctx.name.clone(), user })]).await?;
            Ok(Some(user))
        }
        Err(TgError::NotFound) => Ok(None),
        Err(e) => Err(RunError::Telegram(e)),
    }
}

/// Time left in the quiet hours, if now is in them (local time).
fn quiet_left(hours: Option<(u32, u32)>) -> Option<Duration> {
    use chrono::Timelike;
    let (start, end) = hours?;
    let now = chrono::Local::now();
    let h = now.hour();
    let inside = if start < end { (start..end).contains(&h) } else { h >= start || h < end };
    if !inside {
        return None;
    }
    let hours_left = (end + 24 - h) % 24;
    let secs = i64::from(hours_left) * 3600 - i64::from(now.minute() * 60 + now.second());
    Some(Duration::from_secs(secs.max(1) as u64))
}
