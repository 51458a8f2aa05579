//! The account runner against the simulated world and a real store, on tokio's paused clock.
//! Figures are exact: the sim counts what it delivered and what it wrote.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch, Notify};

use super::runner::{self, Stop};
use super::*;
use crate::config::TelegramBackend;
use crate::crawl::account::{self, AccountRecord};
use crate::crawl::backend::shared_world;
use crate::model::{BlockCause, Delivery, Direction, Lead, LeadInput, Source, Status};
use crate::store::{Filter, Outcome, Store, TalkOp, WriteCtx, WriteOp};
use crate::telegram::sim::chat::{persona, Persona, SimChat, PEER_FLOOD_AFTER};
use crate::telegram::Me;

const WS: &str = "u:mia";

struct Env {
    dir: tempfile::TempDir,
    store: Store,
}

fn cfg() -> RunnerConfig {
    RunnerConfig {
        interval: Duration::from_secs(1),
        jitter: Duration::ZERO,
        first_contacts_per_day: 1000,
        quiet_hours: None,
        send_read_receipts: true,
        stop_words: crate::model::default_stop_words(),
        process: "test",
        flood_breaker: Duration::from_secs(300),
        heartbeat: runner::HEARTBEAT,
        idle_poll: runner::IDLE_POLL,
        clock: Clock::Wall,
    }
}

fn ctx() -> WriteCtx {
    WriteCtx { workspace: WS.into(), actor: "mia".into() }
}

/// People of the demo world with a persona (and a username, when asked).
fn people(p: impl Fn(Persona) -> bool, with_username: bool, n: usize) -> Vec<(u64, Option<String>)> {
    let w = shared_world();
    let first = crate::telegram::sim::chat::first_user_id();
    (first..first + 30_000)
        .filter_map(|id| w.user(id).map(|u| (id, u)))
        .filter(|(id, u)| !u.bot && !u.deleted && p(persona(*id)) && (!with_username || u.username.is_some()))
        .map(|(id, u)| (id, u.username.clone()))
        .take(n)
        .collect()
}

/// Someone who reads our messages (and may answer).
fn talker() -> u64 {
    people(|p| matches!(p, Persona::Talker { .. }), false, 1)[0].0
}

impl Env {
    fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_dir(dir.path()).unwrap();
        let me = Me { user_id: 9_000_000_001, username: None, first_name: "A".into() };
        let rec = account::new_record("a1", "+15550100", TelegramBackend::Simulated, me, WS, "mia");
        account::save(&store, &rec).unwrap();
        Env { dir, store }
    }

    fn chat(&self) -> SimChat {
        SimChat::new(shared_world(), "a1", self.dir.path()).without_strangers()
    }

    fn rec(&self) -> AccountRecord {
        account::get(&self.store, "a1").unwrap().unwrap()
    }

    /// Runs the account for `secs` of (paused) time with `chat`, then stops it.
    async fn run_for(&self, chat: SimChat, cfg: RunnerConfig, secs: u64) -> Vec<RunnerEvent> {
        let (tx, mut rx) = mpsc::unbounded_channel();
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(runner::run(
            self.store.clone(),
            self.rec(),
            Arc::new(chat),
            cfg,
            tx,
            Arc::new(Notify::new()),
            stop_rx,
        ));
        tokio::time::sleep(Duration::from_secs(secs)).await;
        stop_tx.send(true).unwrap();
        assert!(matches!(task.await.unwrap(), Stop::Cancelled));
        let mut events = Vec::new();
        while let Ok(e) = rx.try_recv() {
            events.push(e);
        }
        events
    }

    /// A lead the account has seen (as a crawl of a group they are in would have): its peer is kept.
    fn lead(&self, user_id: u64, username: Option<String>) -> u64 {
        let input = LeadInput { telegram_user_id: Some(user_id.to_string()), username, ..Default::default() };
        let c = input.validate(Source::Manual, None).unwrap();
        let access_hash = crate::telegram::sim::chat::user_hash_for(&shared_world(), "a1", user_id);
        let peer = TalkOp::Peer { account: "a1".into(), user: crate::telegram::UserRef { user_id, access_hash } };
        let out = self.store.write(ctx(), vec![WriteOp::Upsert(c), WriteOp::Talk(peer)]).unwrap();
        out[0].id().unwrap()
    }

    fn enqueue(&self, lead: u64, text: &str) -> Outcome {
        let op = WriteOp::Talk(TalkOp::Enqueue { lead, account: "a1".into(), text: text.into(), campaign: None });
        self.store.write_one(ctx(), op).unwrap()
    }

    fn get(&self, id: u64) -> Lead {
        self.store.get(WS, id).unwrap().unwrap()
    }

    fn leads(&self) -> Vec<Lead> {
        self.store.list(WS, &Filter::default(), Default::default(), None).unwrap()
    }
}

#[tokio::test(start_paused = true)]
async fn strangers_become_interaction_leads_and_a_reply_attaches_to_its_lead() {
    let env = Env::new();
    let chat = SimChat::new(shared_world(), "a1", env.dir.path());
    // Someone who replies to most messages: keep writing until one of them does.
    let talkers = people(|p| p == Persona::Talker { replies: true }, false, 3);
    let ids: Vec<u64> = talkers.iter().map(|(uid, _)| env.lead(*uid, None)).collect();
    for id in &ids {
        assert!(matches!(env.enqueue(*id, "Hello! Interested in our offer?"), Outcome::Recorded { .. }));
    }
    env.run_for(chat, cfg(), 200).await;

    let strangers = SimChat::new(shared_world(), "a1", env.dir.path()).strangers_so_far().unwrap();
    assert!(strangers.len() >= 10, "{} strangers in 200 s", strangers.len());
    let distinct: std::collections::BTreeSet<u64> = strangers.iter().copied().collect();
    let leads = env.leads();
    let interaction: Vec<&Lead> = leads.iter().filter(|l| l.source == Source::Interaction).collect();
    assert_eq!(interaction.len(), distinct.len(), "one new lead per stranger, none for the replies");
    for l in &interaction {
        assert_eq!(l.created_by, "mia", "created by the account's owner");
        assert!(l.conversation.unread >= 1 && l.conversation.received >= 1);
        let thread = env.store.thread(WS, l.id).unwrap();
        assert!(thread.iter().all(|m| m.direction == Direction::In && m.delivery == Delivery::Received));
    }
    let mut replied = 0;
    for id in &ids {
        let l = env.get(*id);
        assert_eq!(l.source, Source::Manual, "a reply updates the lead, it does not make a new one");
        let thread = env.store.thread(WS, *id).unwrap();
        let ours: Vec<_> = thread.iter().filter(|m| m.direction == Direction::Out).collect();
        assert_eq!(ours.len(), 1, "the echo of our own send is the same message, not a second one");
        assert!(matches!(ours[0].delivery, Delivery::Sent | Delivery::Read), "{:?}", ours[0].delivery);
        if thread.iter().any(|m| m.direction == Direction::In) {
            replied += 1;
            assert!(l.conversation.replied && l.conversation.unread >= 1);
        }
    }
    assert!(replied >= 1, "at least one of three repliers wrote back within 200 s");
}

#[tokio::test(start_paused = true)]
async fn a_block_telegram_reports_blocks_the_lead_until_it_writes_again() {
    let env = Env::new();
    let (uid, _) = people(|p| p == Persona::BlockedUs, false, 1)[0].clone();
    let id = env.lead(uid, None);
    env.enqueue(id, "Hi there");
    env.run_for(env.chat(), cfg(), 10).await;
    let l = env.get(id);
    assert_eq!((l.status, l.conversation.blocked_by), (Status::Blocked, Some(BlockCause::TheyBlockedUs)));
    let thread = env.store.thread(WS, id).unwrap();
    assert!(matches!(&thread[0].delivery, Delivery::Failed(why) if why.contains("USER_IS_BLOCKED")), "{thread:?}");
    let history = env.store.history(&l).unwrap();
    assert!(history.iter().any(|a| a.kind.to_string().contains("USER_IS_BLOCKED")), "{history:?}");
    // A later send is refused before it reaches the outbox.
    match env.enqueue(id, "Hi again") {
        Outcome::Rejected(e) => assert!(e.reason.contains("blocked our account"), "{e}"),
        other => panic!("{other:?}"),
    }
    assert!(env.store.outbox("a1").unwrap().is_empty());
    // The lead writes to us: it unblocked us.
    env.chat().user_writes(uid, "sorry, wrong button").unwrap();
    env.run_for(env.chat(), cfg(), 5).await;
    let l = env.get(id);
    assert_eq!((l.status, l.conversation.blocked_by), (Status::Active, None));
    assert!(matches!(env.enqueue(id, "Welcome back"), Outcome::Recorded { .. }));
}

#[tokio::test(start_paused = true)]
async fn a_block_set_by_a_person_is_never_lifted_by_a_message() {
    let env = Env::new();
    let uid = talker();
    let id = env.lead(uid, None);
    let set =
        LeadInput { status: Some("blocked".into()), ..Default::default() }.validate(Source::Manual, None).unwrap();
    env.store.write_one(ctx(), WriteOp::Edit { id, cand: set }).unwrap();
    env.chat().user_writes(uid, "hello?").unwrap();
    env.run_for(env.chat(), cfg(), 5).await;
    let l = env.get(id);
    assert_eq!(l.status, Status::Blocked);
    assert_eq!(l.conversation.unread, 1, "the message is recorded all the same");
}

#[tokio::test(start_paused = true)]
async fn privacy_and_deleted_accounts_change_the_lead_as_telegram_says() {
    let env = Env::new();
    let private = env.lead(people(|p| p == Persona::Private, false, 1)[0].0, None);
    let premium = env.lead(people(|p| p == Persona::PremiumOnly, false, 1)[0].0, None);
    let gone = env.lead(people(|p| p == Persona::Deleted, false, 1)[0].0, None);
    for id in [private, premium, gone] {
        env.enqueue(id, "Hello");
    }
    env.run_for(env.chat(), cfg(), 10).await;
    use crate::model::CantMessage;
    assert_eq!(env.get(private).conversation.cant_message, Some(CantMessage::Privacy));
    assert_eq!(env.get(premium).conversation.cant_message, Some(CantMessage::PremiumRequired));
    assert_eq!(env.get(gone).status, Status::Archived);
    for id in [private, premium, gone] {
        assert!(matches!(env.enqueue(id, "again"), Outcome::Rejected(_)));
    }
}

#[tokio::test(start_paused = true)]
async fn a_lead_known_only_by_username_is_resolved_and_its_peer_kept() {
    let env = Env::new();
    let (uid, username) = people(|p| matches!(p, Persona::Talker { .. }), true, 1)[0].clone();
    let id = env.lead_by_username(username.unwrap());
    env.enqueue(id, "Hello");
    env.run_for(env.chat(), cfg(), 5).await;
    assert!(env.store.peer("a1", uid).unwrap().is_some(), "the access hash is stored per account");
    let thread = env.store.thread(WS, id).unwrap();
    assert!(matches!(thread[0].delivery, Delivery::Sent | Delivery::Read), "{thread:?}");
}

impl Env {
    fn lead_by_username(&self, username: String) -> u64 {
        let c = LeadInput { username: Some(username), ..Default::default() }.validate(Source::Manual, None).unwrap();
        self.store.write_one(ctx(), WriteOp::Upsert(c)).unwrap().id().unwrap()
    }
}

#[tokio::test(start_paused = true)]
async fn the_daily_cap_on_first_contacts_holds_the_rest_in_the_outbox() {
    let env = Env::new();
    let ids: Vec<u64> =
        people(|p| matches!(p, Persona::Talker { .. }), false, 5).iter().map(|(u, _)| env.lead(*u, None)).collect();
    for id in &ids {
        env.enqueue(*id, "Hello");
    }
    let capped = RunnerConfig { first_contacts_per_day: 3, ..cfg() };
    env.run_for(env.chat(), capped, 60).await;
    assert_eq!(env.chat().deliveries().unwrap(), 3);
    assert_eq!(env.store.outbox("a1").unwrap().len(), 2, "the rest wait for tomorrow");
    assert_eq!(env.rec().today.first_contacts, 3);
}

#[tokio::test(start_paused = true)]
async fn peer_flood_pauses_every_send_until_a_person_resumes_the_account() {
    let env = Env::new();
    let n = PEER_FLOOD_AFTER as usize + 5;
    let ids: Vec<u64> =
        people(|p| matches!(p, Persona::Talker { .. }), false, n).iter().map(|(u, _)| env.lead(*u, None)).collect();
    for id in &ids {
        env.enqueue(*id, "Hello");
    }
    env.run_for(env.chat(), cfg(), 600).await;
    assert_eq!(env.chat().deliveries().unwrap(), u64::from(PEER_FLOOD_AFTER));
    let rec = env.rec();
    assert!(rec.limited_since.is_some());
    assert_eq!(rec.runner.map(|r| r.health), Some(account::RunnerHealth::Stopped));
    assert_eq!(env.store.outbox("a1").unwrap().len(), 5, "nothing is dropped while limited");
    // Still limited on the next start: nothing goes out until a person resumes the account.
    let tried = env.chat().sends_tried().unwrap();
    env.run_for(env.chat(), cfg(), 30).await;
    assert_eq!(env.chat().deliveries().unwrap(), u64::from(PEER_FLOOD_AFTER));
    assert_eq!(env.chat().sends_tried().unwrap(), tried, "not even a try");
    // Resumed (`reach account resume`), it tries again; today Telegram still says PEER_FLOOD.
    account::update(&env.store, "a1", |r| r.limited_since = None).unwrap();
    env.run_for(env.chat(), cfg(), 30).await;
    assert_eq!(env.chat().sends_tried().unwrap(), tried + 1, "one send was tried");
    assert!(env.rec().limited_since.is_some(), "and limited again");
    assert_eq!(env.store.outbox("a1").unwrap().len(), 5);
}

#[tokio::test(start_paused = true)]
async fn messages_sent_while_no_runner_ran_arrive_on_the_next_start() {
    let env = Env::new();
    let uid = talker();
    let id = env.lead(uid, None);
    env.run_for(env.chat(), cfg(), 2).await;
    // Nobody runs the account while the lead writes twice.
    env.chat().user_writes(uid, "are you there?").unwrap();
    env.chat().user_writes(uid, "hello??").unwrap();
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(env.get(id).conversation.unread, 0);
    env.run_for(env.chat(), cfg(), 2).await;
    let l = env.get(id);
    assert_eq!(l.conversation.unread, 2);
    let texts: Vec<String> = env.store.thread(WS, id).unwrap().into_iter().map(|m| m.text).collect();
    assert_eq!(texts, vec!["are you there?", "hello??"]);
    // A third start delivers nothing twice.
    env.run_for(env.chat(), cfg(), 2).await;
    assert_eq!(env.store.thread(WS, id).unwrap().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_repeated_send_after_a_crash_is_recognised_not_delivered_twice() {
    let env = Env::new();
    let uid = talker();
    let id = env.lead(uid, None);
    let Outcome::Recorded { id: msg } = env.enqueue(id, "once only") else { panic!() };
    let m = env.store.message(WS, id, msg).unwrap().unwrap();
    // A run that sent but died before recording: the sim has the message, the store has it queued.
    use crate::telegram::Messenger;
    // Its echo is late too: the repeat meets RANDOM_ID_DUPLICATE before the echo arrives.
    let chat = env.chat().without_echo();
    let hash = crate::telegram::sim::chat::user_hash_for(&shared_world(), "a1", uid);
    chat.send(crate::telegram::UserRef { user_id: uid, access_hash: hash }, &m.text, m.random_id).await.unwrap();
    assert_eq!(chat.deliveries().unwrap(), 1);
    env.run_for(env.chat(), cfg(), 5).await;
    assert_eq!(env.chat().deliveries().unwrap(), 1, "the second send met RANDOM_ID_DUPLICATE");
    let thread = env.store.thread(WS, id).unwrap();
    assert_eq!(thread.iter().filter(|m| m.direction == Direction::Out).count(), 1);
    assert!(matches!(thread[0].delivery, Delivery::Sent | Delivery::Read));
    assert_eq!(thread[0].tg_id, None, "Telegram's duplicate answer names no message");
    assert!(env.store.outbox("a1").unwrap().is_empty());
    // The echo of the first send arrives at last: it is that message, counted once.
    env.chat().late_echo(m.random_id).unwrap();
    env.run_for(env.chat(), cfg(), 3).await;
    let thread = env.store.thread(WS, id).unwrap();
    assert_eq!(thread.iter().filter(|m| m.direction == Direction::Out).count(), 1, "{thread:?}");
    assert!(thread[0].tg_id.is_some());
    assert_eq!(env.get(id).conversation.sent, 1);
}

#[tokio::test(start_paused = true)]
async fn a_stop_word_reply_marks_the_lead_do_not_contact() {
    let env = Env::new();
    let uid = talker();
    let id = env.lead(uid, None);
    env.chat().user_writes(uid, "STOP").unwrap();
    env.run_for(env.chat(), cfg(), 3).await;
    let l = env.get(id);
    assert!(l.conversation.do_not_contact);
    match env.enqueue(id, "but wait") {
        Outcome::Rejected(e) => assert!(e.reason.contains("do-not-contact"), "{e}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn opening_a_thread_marks_it_read_and_queues_a_receipt() {
    let env = Env::new();
    let uid = talker();
    let id = env.lead(uid, None);
    env.chat().user_writes(uid, "hi").unwrap();
    env.run_for(env.chat(), cfg(), 3).await;
    assert_eq!(env.get(id).conversation.unread, 1);
    env.store.write_one(ctx(), WriteOp::Talk(TalkOp::MarkRead { lead: id, receipt: true })).unwrap();
    assert_eq!(env.get(id).conversation.unread, 0);
    assert_eq!(env.store.outbox("a1").unwrap().len(), 1, "a read receipt for the account");
    env.run_for(env.chat(), cfg(), 3).await;
    assert!(env.store.outbox("a1").unwrap().is_empty(), "sent and dropped");
}

#[tokio::test(start_paused = true)]
async fn deleting_a_lead_takes_its_thread_and_queued_sends_with_it() {
    let env = Env::new();
    let uid = talker();
    let id = env.lead(uid, None);
    env.enqueue(id, "one");
    assert_eq!(env.store.outbox("a1").unwrap().len(), 1);
    env.store.write_one(ctx(), WriteOp::Delete { id }).unwrap();
    assert!(env.store.thread(WS, id).unwrap().is_empty());
    assert!(env.store.outbox("a1").unwrap().is_empty());
}

#[tokio::test(start_paused = true)]
async fn deleting_a_lead_removes_the_photo_reach_fetched_and_no_other_file() {
    let env = Env::new();
    let photo = env.dir.path().join("photos/u-mia/1.bmp");
    std::fs::create_dir_all(photo.parent().unwrap()).unwrap();
    std::fs::write(&photo, b"BM").unwrap();
    let outside = env.dir.path().join("keep.txt");
    std::fs::write(&outside, b"mine").unwrap();
    let mut ids = Vec::new();
    let other = env.dir.path().join("photos/u-zed/2.bmp");
    std::fs::create_dir_all(other.parent().unwrap()).unwrap();
    std::fs::write(&other, b"BM").unwrap();
    let paths =
        [(1u64, "photos/u-mia/1.bmp"), (2, "photos/u-mia/../u-zed/2.bmp"), (3, "keep.txt"), (4, "photos/u-zed/2.bmp")];
    for (uid, path) in paths {
        let input =
            LeadInput { telegram_user_id: Some(uid.to_string()), photo: Some(path.into()), ..Default::default() };
        let c = input.validate(Source::Manual, None).unwrap();
        ids.push(env.store.write_one(ctx(), WriteOp::Upsert(c)).unwrap().id().unwrap());
    }
    let deletes = ids.iter().map(|id| WriteOp::Delete { id: *id }).collect();
    env.store.write(ctx(), deletes).unwrap();
    assert!(!photo.exists(), "the fetched photo goes with its lead");
    assert!(outside.exists(), "a photo path from an imported file is never a file reach deletes");
    assert!(other.exists(), "nor one of another workspace's, by any path");
}

#[tokio::test(start_paused = true)]
async fn a_backup_keeps_every_table_threads_and_queued_messages_included() {
    use redb::{MultimapTableHandle, ReadableDatabase, TableHandle};
    let env = Env::new();
    let uid = talker();
    let id = env.lead(uid, None);
    env.enqueue(id, "queued before the backup");
    let to = env.dir.path().join("copy.redb");
    env.store.backup(&to).unwrap();
    let copy = Store::open(&to).unwrap();
    assert_eq!(copy.thread(WS, id).unwrap().len(), 1);
    assert_eq!(copy.outbox("a1").unwrap().len(), 1, "nothing queued is lost in a backup");
    assert!(copy.peer("a1", uid).unwrap().is_some());
    drop(copy);
    // Every table of the store is in the copy, so a table added later cannot be forgotten.
    let names = |path: &std::path::Path| -> Vec<String> {
        // A dropped store's writer thread lets the file go a moment later.
        let db = (0..100)
            .find_map(|_| {
                redb::Database::open(path).ok().or_else(|| {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    None
                })
            })
            .unwrap();
        let txn = db.begin_read().unwrap();
        let mut n: Vec<String> = txn.list_tables().unwrap().map(|t| t.name().to_string()).collect();
        n.extend(txn.list_multimap_tables().unwrap().map(|t| t.name().to_string()));
        n.sort();
        n
    };
    let original = env.dir.path().join("reach.redb");
    drop(env.store);
    assert_eq!(names(&to), names(&original));
}
