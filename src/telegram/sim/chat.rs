//! The simulated world's private conversations, behind the same `Messenger` trait as grammers.
//!
//! Its state lives in the data dir (`sim-telegram.json`, changed under a file lock), not in one
//! process's memory: who received what (by random id, so a repeated send is RANDOM_ID_DUPLICATE),
//! replies and read receipts still to come, each account's update log and how far a runner
//! synced it. A restarted runner catches up from there, and a second process sees the same world.
//!
//! People behave by their user id: a few blocked our accounts, some refuse strangers by privacy,
//! some deleted their account, the rest read our messages and some reply after a while. Strangers
//! write to each account every few seconds. Time is tokio's clock over the wall clock, so tests
//! with a paused clock take no real time and every run of a test sees the same world.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{World, FIRST_USER_ID};
use crate::telegram::*;

pub const STATE_FILE: &str = "sim-telegram.json";
/// A stranger writes to each account this often (the first a few seconds after it first runs).
pub const STRANGER_EVERY: Duration = Duration::from_secs(12);
const STRANGER_FIRST: Duration = Duration::from_secs(4);
/// Strangers who wrote while no runner ran are delivered on catch-up, at most this many.
const STRANGER_BACKLOG: u64 = 3;
/// First contacts one account may make in a day before Telegram answers PEER_FLOOD.
pub const PEER_FLOOD_AFTER: u32 = 50;
/// How often `next_updates` looks for new events while there are none.
const POLL: Duration = Duration::from_millis(250);

/// How a simulated person treats our messages, by their user id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Persona {
    /// Blocked our accounts: USER_IS_BLOCKED.
    BlockedUs,
    /// USER_PRIVACY_RESTRICTED.
    Private,
    /// PRIVACY_PREMIUM_REQUIRED.
    PremiumOnly,
    /// Deleted their account: INPUT_USER_DEACTIVATED.
    Deleted,
    /// Reads our messages after a while, and replies to some.
    Talker { replies: bool },
}

fn hash_of(parts: &[&[u8]]) -> u64 {
    let mut h = blake3::Hasher::new();
    for p in parts {
        h.update(p);
    }
    let mut b = [0u8; 8];
    b.copy_from_slice(&h.finalize().as_bytes()[..8]);
    u64::from_le_bytes(b)
}

pub fn persona(user_id: u64) -> Persona {
    match hash_of(&[b"persona", &user_id.to_le_bytes()]) % 100 {
        0..4 => Persona::BlockedUs,
        4..7 => Persona::Private,
        7..8 => Persona::PremiumOnly,
        8..10 => Persona::Deleted,
        n => Persona::Talker { replies: n < 50 },
    }
}

const STRANGER_LINES: &[&str] = &[
    "Hi! I saw your post in the group. Is it still available?",
    "Hello, how much is it?",
    "Привет! Можно подробнее?",
    "Hey, a friend gave me your contact. Can we talk?",
    "Good afternoon! Do you ship abroad?",
    "Здравствуйте, актуально?",
];
const REPLY_LINES: &[&str] = &[
    "Thanks, sounds interesting. Tell me more?",
    "Not right now, maybe next month.",
    "Спасибо, интересно! Какие условия?",
    "Who gave you my number?",
    "Yes, let's talk tomorrow.",
    "stop",
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
enum Event {
    /// A private message; `out` when the account itself wrote it (from another client).
    Message {
        user: u64,
        id: i32,
        out: bool,
        text: String,
        at: i64,
    },
    ReadOutbox {
        user: u64,
        max_id: i32,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Pending {
    Reply { user: u64, text: String },
    Read { user: u64, max_id: i32 },
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct AccountChat {
    next_msg_id: i32,
    /// The update log: (pts, event), pts increasing. Pruned below `synced`.
    events: Vec<(u64, Event)>,
    pts: u64,
    /// How far a runner synced the log; the next start catches up from here.
    synced: u64,
    /// random id -> the message it sent (id, to whom, text): a repeat is RANDOM_ID_DUPLICATE.
    sent: BTreeMap<i64, (i32, u64, String)>,
    /// Messages delivered to people (what "no message is sent twice" counts), and sends tried.
    deliveries: u64,
    tries: u64,
    /// (due, what): replies and read receipts still to come.
    pending: Vec<(i64, Pending)>,
    /// People this account has written to, or who wrote to it.
    talked: BTreeSet<u64>,
    /// First contacts per day (days since the epoch).
    first_contacts: BTreeMap<i64, u32>,
    /// Strangers who have written to this account so far (and who), and when it was first run.
    strangers: u64,
    stranger_ids: Vec<u64>,
    started: Option<i64>,
    /// People of the BlockedUs persona who unblocked us since (they wrote again).
    unblocked: BTreeSet<u64>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    accounts: BTreeMap<String, AccountChat>,
}

/// The sim clock: the wall clock when first asked, moved on by tokio's clock since.
struct Clock {
    wall: i64,
    at: tokio::time::Instant,
}

/// One simulated account's conversations.
pub struct SimChat {
    world: Arc<World>,
    account: super::SimAccount,
    name: String,
    dir: PathBuf,
    clock: OnceLock<Clock>,
    /// The pts this handle delivered up to; synced to the state by `sync_updates`.
    seen: Mutex<Option<u64>>,
    /// Strangers write only to an account someone runs (besides a small backlog).
    strangers: bool,
    /// Sends come back in the update stream, as on Telegram.
    echo: bool,
    /// The world's state in this handle instead of the data dir (long runs on a paused clock,
    /// where a file rewrite per request would dominate).
    memory: Option<Mutex<State>>,
    poll: Duration,
    first_contact_limit: u32,
}

impl SimChat {
    pub fn new(world: Arc<World>, name: &str, data_dir: &Path) -> SimChat {
        SimChat {
            account: world.account(name),
            world,
            name: name.to_string(),
            dir: data_dir.to_path_buf(),
            clock: OnceLock::new(),
            seen: Mutex::new(None),
            strangers: true,
            echo: true,
            memory: None,
            poll: POLL,
            first_contact_limit: PEER_FLOOD_AFTER,
        }
    }

    /// Keeps the state in memory: nothing survives the handle, no other process sees it.
    pub fn in_memory(mut self) -> SimChat {
        self.memory = Some(Mutex::new(State::default()));
        self
    }

    /// The sim's time starts at `wall` (and moves with tokio's clock), for runs that must fall on
    /// the same days every time.
    pub fn starting_at(self, wall: i64) -> SimChat {
        let _ = self.clock.set(Clock { wall, at: tokio::time::Instant::now() });
        self
    }

    /// How often `next_updates` looks for news while there is none.
    pub fn polling_every(mut self, poll: Duration) -> SimChat {
        self.poll = poll;
        self
    }

    /// First contacts a day before Telegram answers PEER_FLOOD.
    pub fn first_contact_limit(mut self, n: u32) -> SimChat {
        self.first_contact_limit = n;
        self
    }

    /// Sends are not echoed in the update stream (until `late_echo`): Telegram's echo of a send
    /// can come after its answer, and after a crash, long after.
    pub fn without_echo(mut self) -> SimChat {
        self.echo = false;
        self
    }

    /// The echo of the message sent with `random_id`, now.
    pub fn late_echo(&self, random_id: i64) -> TgResult<()> {
        self.with(|chat, now| {
            if let Some((id, user, text)) = chat.sent.get(&random_id).cloned() {
                push(chat, Event::Message { user, id, out: true, text, at: now });
            }
        })
    }

    /// No stranger writes to this account (tests that count exactly what they cause).
    pub fn without_strangers(mut self) -> SimChat {
        self.strangers = false;
        self
    }

    fn now(&self) -> i64 {
        let c = self.clock.get_or_init(|| Clock { wall: crate::model::now_millis(), at: tokio::time::Instant::now() });
        c.wall + c.at.elapsed().as_millis() as i64
    }

    /// Runs `f` on the account's state under the world's file lock, and saves what it changed.
    fn with<T>(&self, f: impl FnOnce(&mut AccountChat, i64) -> T) -> TgResult<T> {
        let now = self.now();
        if let Some(m) = &self.memory {
            let mut state = m.lock().unwrap_or_else(|e| e.into_inner());
            let chat = state.accounts.entry(self.name.clone()).or_default();
            self.advance(chat, now);
            return Ok(f(chat, now));
        }
        let io = |e: std::io::Error| TgError::Network(format!("simulated world in {}: {e}", self.dir.display()));
        std::fs::create_dir_all(&self.dir).map_err(io)?;
        let lock = File::options().create(true).append(true).open(self.dir.join("sim-telegram.lock")).map_err(io)?;
        crate::flock::exclusive(&lock).map_err(io)?;
        let path = self.dir.join(STATE_FILE);
        let mut state: State = match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| TgError::Network(format!("{}: {e}", path.display())))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(e) => return Err(io(e)),
        };
        let chat = state.accounts.entry(self.name.clone()).or_default();
        self.advance(chat, now);
        let out = f(chat, now);
        let tmp = path.with_extension("json.tmp");
        let mut file = File::create(&tmp).map_err(io)?;
        file.write_all(&serde_json::to_vec(&state).unwrap_or_default()).map_err(io)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)?;
        Ok(out)
        // The lock is released when `lock` is dropped.
    }

    /// Brings what was due by `now` into the update log: replies, read receipts, strangers.
    fn advance(&self, chat: &mut AccountChat, now: i64) {
        let (due, later): (Vec<_>, Vec<_>) =
            std::mem::take(&mut chat.pending).into_iter().partition(|(t, _)| *t <= now);
        chat.pending = later;
        let mut due = due;
        due.sort_by_key(|(t, _)| *t);
        for (at, p) in due {
            match p {
                Pending::Reply { user, text } => {
                    let id = next_id(chat);
                    push(chat, Event::Message { user, id, out: false, text, at });
                }
                Pending::Read { user, max_id } => push(chat, Event::ReadOutbox { user, max_id }),
            }
        }
        if !self.strangers {
            return;
        }
        let started = *chat.started.get_or_insert(now);
        let every = STRANGER_EVERY.as_millis() as i64;
        let first = STRANGER_FIRST.as_millis() as i64;
        let due = if now < started + first { 0 } else { ((now - started - first) / every + 1) as u64 };
        // A long gap without a runner brings only the last few strangers.
        if due > chat.strangers + STRANGER_BACKLOG {
            chat.strangers = due - STRANGER_BACKLOG;
        }
        while chat.strangers < due {
            let k = chat.strangers;
            chat.strangers += 1;
            let Some(user) = self.stranger(k) else { continue };
            let at = started + first + k as i64 * every;
            let line = STRANGER_LINES[(hash_of(&[self.name.as_bytes(), &k.to_le_bytes()]) % 6) as usize];
            let id = next_id(chat);
            chat.talked.insert(user);
            chat.stranger_ids.push(user);
            push(chat, Event::Message { user, id, out: false, text: line.to_string(), at });
        }
    }

    /// The k-th stranger to write to this account: a person of the world, chosen by the seed.
    fn stranger(&self, k: u64) -> Option<u64> {
        let n = self.world.users.len() as u64;
        (0..8).find_map(|attempt| {
            let i = hash_of(&[b"stranger", self.name.as_bytes(), &k.to_le_bytes(), &[attempt]]) % n.max(1);
            let u = self.world.users.get(i as usize)?;
            (!u.bot && !u.deleted && matches!(persona(u.id), Persona::Talker { .. })).then_some(u.id)
        })
    }

    fn update_of(&self, e: &Event) -> Option<TgUpdate> {
        Some(match e {
            Event::Message { user, id, out, text, at } => TgUpdate::Message(TgMessage {
                id: *id,
                peer: self.account.member(*user)?,
                out: *out,
                text: text.clone(),
                at: *at,
            }),
            Event::ReadOutbox { user, max_id } => TgUpdate::ReadOutbox { user_id: *user, max_id: *max_id },
        })
    }

    /// A person writes to this account now (tests and scenarios): a blocked-us person who writes
    /// has unblocked us.
    pub fn user_writes(&self, user: u64, text: &str) -> TgResult<()> {
        self.with(|chat, now| {
            chat.unblocked.insert(user);
            chat.talked.insert(user);
            let id = next_id(chat);
            push(chat, Event::Message { user, id, out: false, text: text.to_string(), at: now });
        })
    }

    /// A conversation that happened before reach ran the account: `(ours, text, minutes ago)`,
    /// oldest first. Its messages come with the first catch-up, at their own times.
    pub fn seed_past(&self, user: u64, lines: &[(bool, &str, i64)]) -> TgResult<()> {
        self.with(|chat, now| {
            chat.talked.insert(user);
            for (out, text, ago) in lines {
                let id = next_id(chat);
                push(chat, Event::Message { user, id, out: *out, text: text.to_string(), at: now - ago * 60_000 });
            }
        })
    }

    /// Whether this data dir has a simulated world yet.
    pub fn exists(data_dir: &Path) -> bool {
        data_dir.join(STATE_FILE).exists()
    }

    /// The strangers who wrote to this account so far, in order.
    pub fn strangers_so_far(&self) -> TgResult<Vec<u64>> {
        self.with(|chat, _| chat.stranger_ids.clone())
    }

    /// How many sends this account has tried, whatever Telegram answered.
    pub fn sends_tried(&self) -> TgResult<u64> {
        self.with(|chat, _| chat.tries)
    }

    /// How many messages this account has delivered to people, ever.
    pub fn deliveries(&self) -> TgResult<u64> {
        self.with(|chat, _| chat.deliveries)
    }
}

fn next_id(chat: &mut AccountChat) -> i32 {
    chat.next_msg_id += 1;
    chat.next_msg_id
}

fn push(chat: &mut AccountChat, e: Event) {
    chat.pts += 1;
    chat.events.push((chat.pts, e));
}

impl Messenger for SimChat {
    async fn send(&self, to: UserRef, text: &str, random_id: i64) -> TgResult<Sent> {
        self.world.request(&self.name)?;
        let Some(user) = self.world.user(to.user_id) else { return Err(TgError::PeerInvalid) };
        if to.access_hash != self.account.user_hash(to.user_id) {
            return Err(TgError::PeerInvalid);
        }
        if user.deleted {
            return Err(TgError::UserDeactivated);
        }
        let user_id = user.id;
        self.with(|chat, now| {
            chat.tries += 1;
            if chat.sent.contains_key(&random_id) {
                return Ok(Sent::AlreadySent);
            }
            match persona(user_id) {
                Persona::BlockedUs if !chat.unblocked.contains(&user_id) => return Err(TgError::UserBlocked),
                Persona::Private => return Err(TgError::PrivacyRestricted("USER_PRIVACY_RESTRICTED".into())),
                Persona::PremiumOnly => return Err(TgError::PrivacyRestricted("PRIVACY_PREMIUM_REQUIRED".into())),
                Persona::Deleted => return Err(TgError::UserDeactivated),
                _ => {}
            }
            let day = now.div_euclid(86_400_000);
            let first = !chat.talked.contains(&user_id);
            if first {
                let n = chat.first_contacts.entry(day).or_default();
                if *n >= self.first_contact_limit {
                    return Err(TgError::PeerFlood);
                }
                *n += 1;
                chat.talked.insert(user_id);
            }
            let id = next_id(chat);
            chat.sent.insert(random_id, (id, user_id, text.to_string()));
            chat.deliveries += 1;
            // Telegram echoes our own sends in the update stream, as it does for other clients'.
            if self.echo {
                push(chat, Event::Message { user: user_id, id, out: true, text: text.to_string(), at: now });
            }
            let n = chat.sent.len() as u64;
            let h = hash_of(&[&user_id.to_le_bytes(), &n.to_le_bytes(), text.as_bytes()]);
            if let Persona::Talker { replies } = persona(user_id) {
                chat.pending.push((now + 3_000 + (h % 27_000) as i64, Pending::Read { user: user_id, max_id: id }));
                if replies && h % 3 != 0 {
                    let text = REPLY_LINES[((h >> 8) % REPLY_LINES.len() as u64) as usize].to_string();
                    chat.pending
                        .push((now + 20_000 + ((h >> 16) % 70_000) as i64, Pending::Reply { user: user_id, text }));
                }
            }
            Ok(Sent::Message { id, at: now })
        })?
    }

    async fn resolve_user(&self, username: &str) -> TgResult<Member> {
        self.world.request(&self.name)?;
        let u = username.trim_start_matches('@');
        let found = self.world.users.iter().find(|x| x.username.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(u)));
        found.and_then(|x| self.account.member(x.id)).ok_or(TgError::NotFound)
    }

    async fn read_history(&self, to: UserRef, _max_id: i32) -> TgResult<()> {
        self.world.request(&self.name)?;
        if to.access_hash != self.account.user_hash(to.user_id) {
            return Err(TgError::PeerInvalid);
        }
        Ok(())
    }

    async fn next_updates(&self) -> TgResult<Vec<TgUpdate>> {
        loop {
            let seen = *self.seen.lock().unwrap_or_else(|e| e.into_inner());
            let (events, last) = self.with(|chat, _| {
                let from = seen.unwrap_or(chat.synced);
                let events: Vec<Event> =
                    chat.events.iter().filter(|(p, _)| *p > from).map(|(_, e)| e.clone()).collect();
                (events, chat.pts)
            })?;
            if !events.is_empty() {
                *self.seen.lock().unwrap_or_else(|e| e.into_inner()) = Some(last);
                let updates: Vec<TgUpdate> = events.iter().filter_map(|e| self.update_of(e)).collect();
                if !updates.is_empty() {
                    return Ok(updates);
                }
            }
            tokio::time::sleep(self.poll).await;
        }
    }

    async fn sync_updates(&self) -> TgResult<()> {
        let Some(seen) = *self.seen.lock().unwrap_or_else(|e| e.into_inner()) else { return Ok(()) };
        self.with(|chat, _| {
            chat.synced = chat.synced.max(seen);
            let synced = chat.synced;
            chat.events.retain(|(p, _)| *p > synced);
        })
    }
}

/// An account's access hash for a user, as the simulated Telegram hands it out.
pub fn user_hash_for(world: &Arc<World>, account: &str, user: u64) -> i64 {
    world.account(account).user_hash(user)
}

/// The first user id of the simulated world (for tests that pick people by persona).
pub fn first_user_id() -> u64 {
    FIRST_USER_ID
}
