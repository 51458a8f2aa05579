//! Campaigns end to end inside one process (a test binary of its own: the 10,000-lead run is
//! heavy, and would slow the library's other paused-clock tests running beside it): the store, two account runners and the simulated
//! world on tokio's paused clock, so simulated days pass in seconds and every figure is exact.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch, Notify};

use reach::campaign::audience::{self, Draft};
use reach::campaign::{Audience, Campaign, CampaignState, Pacing, RecipientState, SkipReason, Step, Tally};
use reach::config::TelegramBackend;
use reach::crawl::account;
use reach::crawl::backend::shared_world;
use reach::model::{LeadInput, Millis, Source};
use reach::store::{Store, TalkOp, WriteCtx, WriteOp};
use reach::talk::runner::{self, Stop};
use reach::talk::{Clock, RunnerConfig, RunnerEvent};
use reach::telegram::sim::chat::{persona, Persona, SimChat};
use reach::telegram::Me;
use reach::workspace::{View, Workspace};

const WS: &str = "u:mia";
/// 2026-12-01 10:00 UTC: runs fall on the same days every time.
const T: Millis = 1_796_119_200_000;
const DAY: Millis = 86_400_000;

fn ctx() -> WriteCtx {
    WriteCtx { workspace: WS.into(), actor: "mia".into() }
}

struct World {
    _dir: tempfile::TempDir,
    store: Store,
    accounts: Vec<String>,
    /// T when the world was made, moving with the paused clock.
    clock: Clock,
}

/// World people for leads: not bots, not flagged deleted in the world's data.
fn people(n: usize, skip: usize, p: impl Fn(Persona) -> bool) -> Vec<u64> {
    let w = shared_world();
    let first = reach::telegram::sim::chat::first_user_id();
    (first..first + 30_000)
        .filter(|id| w.user(*id).is_some_and(|u| !u.bot && !u.deleted) && p(persona(*id)))
        .skip(skip)
        .take(n)
        .collect()
}

impl World {
    fn new(accounts: &[&str]) -> World {
        // Some 80,000 durable commits: on tmpfs where there is one, so fsync costs nothing.
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() { tempfile::tempdir_in(shm) } else { tempfile::tempdir() }.unwrap();
        let store = Store::open_dir(dir.path()).unwrap();
        for (i, name) in accounts.iter().enumerate() {
            let me = Me { user_id: 9_000_000_001 + i as u64, username: None, first_name: "A".into() };
            let rec = account::new_record(name, &format!("+1555010{i}"), TelegramBackend::Simulated, me, WS, "mia");
            account::save(&store, &rec).unwrap();
        }
        let accounts = accounts.iter().map(|a| a.to_string()).collect();
        World { _dir: dir, store, accounts, clock: Clock::tokio_from(T) }
    }

    /// Leads for these world users, each known to every account (as after a crawl).
    fn leads(&self, users: &[u64], status: Option<&str>, tags: &[&str]) -> Vec<u64> {
        let mut ids = Vec::new();
        for chunk in users.chunks(1000) {
            let mut ops = Vec::new();
            for uid in chunk {
                let input = LeadInput {
                    telegram_user_id: Some(uid.to_string()),
                    first_name: Some(format!("P{uid}")),
                    status: status.map(str::to_string),
                    tags: tags.iter().map(|t| t.to_string()).collect(),
                    ..Default::default()
                };
                ops.push(WriteOp::Upsert(input.validate(Source::Manual, None).unwrap()));
                for a in &self.accounts {
                    let access_hash = reach::telegram::sim::chat::user_hash_for(&shared_world(), a, *uid);
                    let user = reach::telegram::UserRef { user_id: *uid, access_hash };
                    ops.push(WriteOp::Talk(TalkOp::Peer { account: a.clone(), user }));
                }
            }
            let per = 1 + self.accounts.len();
            let out = self.store.write(ctx(), ops).unwrap();
            ids.extend(out.iter().step_by(per).map(|o| o.id().unwrap()));
        }
        ids
    }

    fn cfg(&self) -> RunnerConfig {
        RunnerConfig { clock: self.clock, ..RunnerConfig::on_paused_clock("test", T) }
    }

    fn now(&self) -> Millis {
        self.clock.now()
    }

    fn scope(&self) -> reach::store::Scope {
        self.store.scope("mia", &Workspace::Personal("mia".into()), View::All).unwrap().unwrap()
    }

    fn create(&self, name: &str, filter_tag: Option<&str>, pacing: Pacing, steps: Vec<Step>) -> Campaign {
        let mut audience = Audience::default();
        if let Some(t) = filter_tag {
            audience.filter.tags.push(t.to_string());
        }
        let draft = Draft { name: name.into(), audience, steps, accounts: self.accounts.clone(), pacing };
        audience::create(&self.store, &self.scope(), &ctx(), draft).unwrap()
    }

    fn launch(&self, c: &Campaign, at: Millis) -> Campaign {
        audience::launch(&self.store, &ctx(), &self.scope(), c.id, at, |_, _| {}).unwrap()
    }

    fn campaign(&self, id: u64) -> Campaign {
        self.store.campaign(WS, id).unwrap().unwrap()
    }

    fn chat(&self, account: &str, first_contact_limit: u32) -> Arc<SimChat> {
        let chat = SimChat::new(shared_world(), account, self._dir.path())
            .without_strangers()
            .in_memory()
            .starting_at(T)
            .polling_every(Duration::from_secs(30))
            .first_contact_limit(first_contact_limit);
        Arc::new(chat)
    }
}

/// The accounts' runners, until stopped.
struct Running {
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<Stop>>,
    events: mpsc::UnboundedReceiver<RunnerEvent>,
}

impl Running {
    fn start(w: &World, chats: &[Arc<SimChat>], cfg: RunnerConfig) -> Running {
        let (tx, events) = mpsc::unbounded_channel();
        let (stop, stop_rx) = watch::channel(false);
        let tasks = w
            .accounts
            .iter()
            .zip(chats)
            .map(|(a, chat)| {
                let rec = account::get(&w.store, a).unwrap().unwrap();
                let run = runner::run(
                    w.store.clone(),
                    rec,
                    chat.clone(),
                    cfg.clone(),
                    tx.clone(),
                    Arc::new(Notify::new()),
                    stop_rx.clone(),
                );
                tokio::spawn(run)
            })
            .collect();
        Running { stop, tasks, events }
    }

    async fn stop(mut self) -> Vec<RunnerEvent> {
        self.stop.send(true).unwrap();
        for t in self.tasks {
            assert!(matches!(t.await.unwrap(), Stop::Cancelled));
        }
        let mut out = Vec::new();
        while let Ok(e) = self.events.try_recv() {
            out.push(e);
        }
        out
    }
}

/// Waits (in paused time) until the campaign is done, at most `days`.
async fn until_done(w: &World, run: &mut Running, id: u64, days: u64) -> Campaign {
    for _ in 0..days * 24 {
        tokio::time::sleep(Duration::from_secs(3600)).await;
        let c = w.campaign(id);
        if c.state == CampaignState::Done {
            return c;
        }
    }
    let c = w.campaign(id);
    let mut events = Vec::new();
    while let Ok(e) = run.events.try_recv() {
        events.push(e.to_string());
    }
    let tail = events[events.len().saturating_sub(20)..].join("\n");
    panic!("campaign not done after {days} days: {:?}\n{tail}", c.tally.all);
}

fn step(after_days: u32, text: &str) -> Step {
    Step { after_days, text: text.into(), by_language: Vec::new() }
}

fn utc_pacing(per_hour: u32, per_day: u32) -> Pacing {
    Pacing { per_hour: Some(per_hour), per_day: Some(per_day), timezone: "UTC".into(), ..Pacing::default() }
}

#[tokio::test(start_paused = true)]
async fn ten_thousand_leads_over_two_accounts_keep_the_caps_skip_with_reasons_and_stop_on_replies() {
    let w = World::new(&["a1", "a2"]);
    let general = people(9_900, 0, |p| p != Persona::Private);
    let mut ids = w.leads(&general[..9_700], None, &[]);
    let blocked = w.leads(&general[9_700..9_800], Some("blocked"), &[]);
    let archived = w.leads(&general[9_800..], Some("archived"), &[]);
    // Restricted leads: a first campaign finds out, by Telegram's refusal, who cannot be messaged.
    let restricted = w.leads(&people(100, 0, |p| p == Persona::Private), None, &["probe"]);
    ids.extend(blocked.iter().chain(&archived).chain(&restricted));
    assert_eq!(ids.len(), 10_000);
    let chats = [w.chat("a1", 1_000_000), w.chat("a2", 1_000_000)];

    let probe_pacing = Pacing { period_days: 0, ..utc_pacing(3600, 100_000) };
    let probe = w.create("probe", Some("probe"), probe_pacing, vec![step(0, "hi")]);
    let probe = w.launch(&probe, T);
    let mut run = Running::start(&w, &chats, w.cfg());
    let probe = until_done(&w, &mut run, probe.id, 2).await;
    assert_eq!(probe.tally.all.get("failed"), 100, "{:?}", probe.tally);

    // The campaign: 100 an hour and 1,000 a day per account, and a follow-up a day later.
    let steps =
        vec![step(0, "{Hi|Hello} {first_name|there}! Our winter offer"), step(1, "Any thoughts, {first_name|friend}?")];
    let c = w.create("winter", None, utc_pacing(100, 1_000), steps);
    let c = w.launch(&c, w.now());
    assert_eq!(c.tally.all.total(), 10_000);
    assert_eq!(c.tally.skipped.get("blocked"), Some(&100));
    assert_eq!(c.tally.skipped.get("archived"), Some(&100));
    assert_eq!(c.tally.skipped.get("cant_message"), Some(&100));
    let c = until_done(&w, &mut run, c.id, 30).await;
    let events = run.stop().await;

    let recipients = w.store.recipients(WS, c.id).unwrap();
    // The statistics are a recount of the recipients' states.
    assert_eq!(c.tally, Tally::recount(&recipients));
    // Caps: each account hands Telegram exactly its daily cap on every day but the last, and
    // never more than its hourly cap in a clock hour.
    let messages = campaign_messages(&w, c.id);
    assert_eq!(messages.len() as u32, c.tally.messages + failed_sends(&recipients));
    let mut by_day: BTreeMap<(String, i64), u32> = BTreeMap::new();
    let mut by_hour: BTreeMap<(String, i64), u32> = BTreeMap::new();
    for (account, at, _, _) in &messages {
        *by_day.entry((account.clone(), at.div_euclid(DAY))).or_default() += 1;
        *by_hour.entry((account.clone(), at.div_euclid(3_600_000))).or_default() += 1;
    }
    for a in ["a1", "a2"] {
        let days: Vec<(i64, u32)> = by_day.iter().filter(|((x, _), _)| x == a).map(|((_, d), n)| (*d, *n)).collect();
        // While first messages wait, every day is full; after that, follow-ups come as they fall due.
        let last_first = messages.iter().filter(|(x, _, _, s)| x == a && *s == 0).map(|m| m.1.div_euclid(DAY)).max();
        let last_first = last_first.unwrap();
        assert!(days.len() >= 5, "{a}: {days:?}");
        assert!(days.iter().filter(|(d, _)| *d < last_first).all(|(_, n)| *n == 1_000), "{a} per day: {days:?}");
        assert!(days.iter().all(|(_, n)| *n <= 1_000), "{a} per day: {days:?}");
        assert!(by_hour.iter().filter(|((x, _), _)| x == a).all(|(_, n)| *n <= 100));
    }
    // Replies stop follow-ups: nobody who replied to the first message got the second.
    let replied: Vec<_> = recipients.iter().filter(|r| r.state == RecipientState::Replied).collect();
    assert!(replied.len() > 1_000, "{} replied", replied.len());
    for r in &replied {
        assert!(r.steps_sent == 1 || r.replied_at >= r.sent_at, "{r:?}");
    }
    let followed = recipients.iter().filter(|r| r.steps_sent == 2).count();
    assert!(followed > 3_000, "{followed} follow-ups");
    for r in recipients.iter().filter(|r| restricted.contains(&r.lead)) {
        assert_eq!(r.state, RecipientState::Skipped(SkipReason::CantMessage));
    }
    // The world received exactly the messages the store says went, each once.
    let delivered: u64 = chats.iter().map(|c| c.deliveries().unwrap()).sum();
    let went = messages.iter().filter(|(_, _, sent, _)| *sent).count() as u64;
    assert_eq!(delivered, went);
    assert_eq!(went, u64::from(c.tally.messages));
    assert!(events.iter().any(|e| matches!(e, RunnerEvent::Waiting { why, .. } if why.contains("daily cap"))));
}

/// (account, time, whether it went, step) of every message the campaign handed to an account.
fn campaign_messages(w: &World, campaign: u64) -> Vec<(String, Millis, bool, usize)> {
    use reach::model::Delivery;
    let mut out = Vec::new();
    for r in w.store.recipients(WS, campaign).unwrap() {
        let ours = w.store.thread(WS, r.lead).unwrap().into_iter().filter(|m| m.campaign == Some(campaign));
        for (step, m) in ours.filter(|m| m.delivery != Delivery::Queued).enumerate() {
            out.push((m.account.clone(), m.at, matches!(m.delivery, Delivery::Sent | Delivery::Read), step));
        }
    }
    out
}

/// Campaign messages that did not go: refused by Telegram (the recipients failed, follow-ups that
/// failed), or held back at the send because the lead replied while a follow-up waited.
fn failed_sends(recipients: &[reach::campaign::Recipient]) -> u32 {
    let first = recipients.iter().filter(|r| matches!(r.state, RecipientState::Failed(_))).count();
    let replied = SkipReason::Replied.to_string();
    let later = recipients
        .iter()
        .filter(|r| r.ended.as_deref().is_some_and(|e| e.starts_with("follow-up failed") || e == replied))
        .count();
    (first + later) as u32
}

#[tokio::test(start_paused = true)]
async fn peer_flood_pauses_that_account_only_and_the_campaign_says_so() {
    let w = World::new(&["a1", "a2"]);
    let users = people(200, 0, |p| matches!(p, Persona::Talker { .. }));
    w.leads(&users, None, &[]);
    // a1 may make 5 first contacts a day before Telegram says PEER_FLOOD; a2 is unlimited.
    let chats = [w.chat("a1", 5), w.chat("a2", 1_000_000)];
    let c = w.create("flood", None, utc_pacing(3600, 10_000), vec![step(0, "Hello {first_name|there}")]);
    let c = w.launch(&c, T);
    let mut run = Running::start(&w, &chats, w.cfg());
    tokio::time::sleep(Duration::from_secs(6 * 3600)).await;
    let c = w.campaign(c.id);
    let recipients = w.store.recipients(WS, c.id).unwrap();
    let (a1, a2): (Vec<_>, Vec<_>) = recipients.iter().partition(|r| r.account == "a1");
    assert_eq!((a1.len(), a2.len()), (100, 100));
    // a2 went on and finished its share; a1 stopped after its five, and nothing moved to a2.
    assert!(a2.iter().all(|r| r.steps_sent == 1), "{:?}", c.tally.by_account);
    assert_eq!(a1.iter().filter(|r| r.steps_sent == 1).count(), 5);
    for r in &a1 {
        let thread = w.store.thread(WS, r.lead).unwrap();
        assert!(thread.iter().all(|m| m.account == "a1"), "lead #{} was written from another account", r.lead);
    }
    assert_eq!(c.state, CampaignState::Running, "the campaign waits for a1, it is not done");
    let why = c.pace.get("a1").and_then(|p| p.breaker.clone()).unwrap_or_default();
    assert!(why.contains("PEER_FLOOD") && why.contains("account resume a1"), "{why:?}");
    assert!(c.pace.get("a2").is_none_or(|p| p.breaker.is_none()));
    assert!(account::get(&w.store, "a1").unwrap().unwrap().limited_since.is_some());
    let mut said = Vec::new();
    while let Ok(e) = run.events.try_recv() {
        said.push(e.to_string());
    }
    assert!(said.iter().any(|e| e.contains("a1") && e.contains("PEER_FLOOD")), "{said:?}");
    run.stop().await;
}

#[tokio::test(start_paused = true)]
async fn pause_holds_resume_goes_on_and_cancel_skips_the_rest() {
    let w = World::new(&["a1"]);
    let users = people(60, 0, |p| matches!(p, Persona::Talker { .. }));
    w.leads(&users, None, &[]);
    let chats = [w.chat("a1", 1_000_000)];
    // One a minute.
    let c = w.create("steady", None, utc_pacing(60, 10_000), vec![step(0, "Hello {first_name|there}")]);
    let c = w.launch(&c, T);
    let run = Running::start(&w, &chats, w.cfg());
    tokio::time::sleep(Duration::from_secs(10 * 60 + 30)).await;
    let sent = |w: &World| w.store.recipients(WS, c.id).unwrap().iter().filter(|r| r.steps_sent == 1).count();
    let before = sent(&w);
    assert!((10..=12).contains(&before), "{before} in ten minutes at one a minute");
    audience::set_state(&w.store, &ctx(), c.id, CampaignState::Paused, w.now()).unwrap();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    // At most the one already handed to the account when the pause came.
    assert!(sent(&w) <= before + 1, "{} sent while paused", sent(&w) - before);
    let paused = sent(&w);
    audience::set_state(&w.store, &ctx(), c.id, CampaignState::Running, w.now()).unwrap();
    tokio::time::sleep(Duration::from_secs(10 * 60)).await;
    assert!(sent(&w) >= paused + 8, "{} sent in ten minutes after resuming", sent(&w) - paused);
    audience::set_state(&w.store, &ctx(), c.id, CampaignState::Cancelled, w.now()).unwrap();
    tokio::time::sleep(Duration::from_secs(3600)).await;
    run.stop().await;
    let c = w.campaign(c.id);
    let recipients = w.store.recipients(WS, c.id).unwrap();
    assert_eq!(c.state, CampaignState::Cancelled);
    assert_eq!(c.tally, Tally::recount(&recipients));
    let cancelled = recipients.iter().filter(|r| r.state == RecipientState::Skipped(SkipReason::Cancelled)).count();
    assert_eq!(cancelled + recipients.iter().filter(|r| r.steps_sent == 1).count(), 60);
    assert!(cancelled >= 30, "{cancelled}");
    assert!(w.store.outbox("a1").unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_template_needing_a_missing_field_is_refused_and_spintax_renders_the_same_twice() {
    let w = World::new(&["a1"]);
    w.leads(&people(5, 0, |_| true), None, &[]);
    let draft = |text: &str| Draft {
        name: "fields".into(),
        audience: Audience::default(),
        steps: vec![step(0, text)],
        accounts: vec!["a1".into()],
        pacing: utc_pacing(10, 100),
    };
    let err = audience::create(&w.store, &w.scope(), &ctx(), draft("Hi {field:company}!")).unwrap_err().to_string();
    assert!(err.contains("{field:company}") && err.contains("5 of the 5"), "{err}");
    let err = audience::create(&w.store, &w.scope(), &ctx(), draft("Hi {first_name")).unwrap_err().to_string();
    assert!(err.contains("the message"), "{err}");
    assert!(w.store.campaigns(WS).unwrap().is_empty());
    let c = audience::create(&w.store, &w.scope(), &ctx(), draft("{Hi|Hello|Hey} {field:company|there}, {a|b|c|d}"))
        .unwrap();
    let render = || audience::dry_run(&w.store, &w.scope(), &c, T, 20, 1000, 5).unwrap();
    let (one, two) = (render(), render());
    let texts = |d: &audience::DryRun| d.recipients.iter().map(|p| p.text.clone().unwrap()).collect::<Vec<_>>();
    assert_eq!(texts(&one), texts(&two));
    assert_eq!(texts(&one).len(), 5);
    assert!(texts(&one).iter().all(|t| t.contains(" there, ")));
}

#[test]
fn the_demo_has_a_finished_campaign_and_a_running_one() {
    let w = World::new(&["demo-1", "demo-2"]);
    reach::talk::demo::seed_campaigns(&w.store, &ctx(), w._dir.path(), &["demo-1", "demo-2"]).unwrap();
    let campaigns = w.store.campaigns(WS).unwrap();
    assert_eq!(campaigns.len(), 2);
    let (spring, winter) = (&campaigns[0], &campaigns[1]);
    assert_eq!((spring.name.as_str(), spring.state), ("Spring promo", CampaignState::Done), "{:?}", spring.tally);
    assert_eq!(spring.tally.all.total(), 24);
    assert!(spring.tally.all.messaged() >= 15, "{:?}", spring.tally.all);
    assert!(spring.tally.all.get("replied") >= 1, "{:?}", spring.tally.all);
    assert!(spring.launched_at.unwrap() < reach::model::now_millis() - 2 * DAY);
    assert_eq!((winter.name.as_str(), winter.state), ("Winter offer", CampaignState::Running));
    assert_eq!(winter.tally.all.get("pending"), 40);
    // The past ran on a clock days ahead of this one: now, on a clock of its own, the accounts
    // keep the simulated rate (twenty requests a second) and are never left in a flood wait.
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    let target = reach::telegram::Target::parse("@demo_big").unwrap();
    rt.block_on(async {
        for name in ["demo-1", "demo-2"] {
            let acct = shared_world().account(name);
            for second in 0..3 {
                for _ in 0..15 {
                    let r = reach::telegram::TelegramSource::resolve(&acct, &target).await;
                    assert!(r.is_ok(), "{name}, second {second}: {r:?}");
                }
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        }
    });
    // Seeded once.
    reach::talk::demo::seed_campaigns(&w.store, &ctx(), w._dir.path(), &["demo-1", "demo-2"]).unwrap();
    assert_eq!(w.store.campaigns(WS).unwrap().len(), 2);
}
