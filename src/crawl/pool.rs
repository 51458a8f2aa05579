//! The accounts a crawl may use, each behind its own pacing gate.
//!
//! Every request goes through [`Pool::call`]: it picks the account with no active flood wait
//! whose gate opens first, waits for the gate (pacing plus jitter), sends one request, and on
//! FLOOD_WAIT benches that account for exactly the time Telegram asked and tries another. When
//! every account is waiting it sleeps until the first one may go again, reporting the countdown.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::Event;
use crate::model::{now_millis, Millis};
use crate::telegram::sim::Rng;
use crate::telegram::{
    ChatInfo, ChatRef, HistoryPage, ParticipantFilter, ParticipantsPage, PhotoRef, Resolved, Target, TelegramSource,
    TgError,
};

/// One logged-in account handed to a crawl.
pub struct Account<S> {
    pub name: String,
    pub source: S,
    /// A flood wait still running from an earlier crawl, in wall-clock milliseconds.
    pub flood_until: Option<Millis>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pacing {
    pub interval: Duration,
    pub jitter: Duration,
}

/// Which chat a request is about: the target, or a broadcast channel's discussion group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Which {
    Main,
    Linked,
}

/// The requests a crawl makes once it knows the chat.
#[derive(Debug, Clone)]
pub enum Request {
    Info,
    Participants { filter: ParticipantFilter, offset: u32, limit: u32 },
    History { offset_id: i32, limit: u32 },
    Photo(PhotoRef),
}

#[derive(Debug)]
pub enum Reply {
    Info(ChatInfo),
    Participants(ParticipantsPage),
    History(HistoryPage),
    Photo(Vec<u8>, &'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolError {
    Cancelled,
    Telegram(TgError),
    /// The target is a broadcast channel without a discussion group.
    NoLinkedChat,
}

/// One Telegram request, fully addressed.
enum Call<'a> {
    Resolve,
    Join(&'a str),
    Do(ChatRef, &'a Request),
}

enum Answer {
    Resolved(Resolved),
    Joined(ChatRef),
    Reply(Reply),
}

struct Slot<S> {
    account: Account<S>,
    next_at: Instant,
    flood_until: Option<Instant>,
    chats: HashMap<Which, ChatRef>,
    rng: Rng,
}

pub struct Pool<S> {
    slots: Vec<Slot<S>>,
    pacing: Pacing,
    target: Target,
    join: bool,
    cancel: Arc<AtomicBool>,
    pub requests: u64,
    /// The account whose request answered last: the access hashes in its answer are its own.
    last: Option<usize>,
    pub flood_waits: u64,
    /// Accounts that hit a flood wait, with its wall-clock end, for the caller to remember.
    pub benched: Vec<(String, Millis)>,
}

/// Telegram's own wait, plus a second: its clock and ours are not the same clock.
const FLOOD_MARGIN: Duration = Duration::from_secs(1);

impl<S: TelegramSource> Pool<S> {
    pub fn new(accounts: Vec<Account<S>>, pacing: Pacing, target: Target, join: bool, cancel: Arc<AtomicBool>) -> Self {
        let now = Instant::now();
        let wall = now_millis();
        let slots = accounts
            .into_iter()
            .map(|account| {
                let flood_until = account
                    .flood_until
                    .filter(|until| *until > wall)
                    .map(|until| now + Duration::from_millis((until - wall) as u64));
                let rng = Rng::seeded(account.name.as_bytes());
                Slot { account, next_at: now, flood_until, chats: HashMap::new(), rng }
            })
            .collect();
        Pool { slots, pacing, target, join, cancel, requests: 0, flood_waits: 0, benched: Vec::new(), last: None }
    }

    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// Sleeps until `at`, waking to notice a cancel.
    async fn sleep_until(&self, at: Instant) -> Result<(), PoolError> {
        loop {
            if self.cancelled() {
                return Err(PoolError::Cancelled);
            }
            let now = Instant::now();
            if now >= at {
                return Ok(());
            }
            tokio::time::sleep_until(at.min(now + Duration::from_millis(200))).await;
        }
    }

    /// The account to use next: no active flood wait, earliest gate. Sleeps while all are waiting.
    async fn pick(&mut self, progress: &mut dyn FnMut(Event)) -> Result<usize, PoolError> {
        loop {
            if self.cancelled() {
                return Err(PoolError::Cancelled);
            }
            let now = Instant::now();
            // The account that can send soonest, counting the extra request (one pacing interval)
            // an account that has not resolved the chat yet must make first: on long crawls every
            // account ends up working in parallel, while short ones stay on one account.
            let interval = self.pacing.interval;
            let ready =
                (0..self.slots.len()).filter(|i| self.slots[*i].flood_until.is_none_or(|u| u <= now)).min_by_key(|i| {
                    let s = &self.slots[*i];
                    let fresh = s.chats.is_empty();
                    (s.next_at.max(now) + if fresh { interval } else { Duration::ZERO }, fresh)
                });
            if let Some(i) = ready {
                self.slots[i].flood_until = None;
                return Ok(i);
            }
            let Some(first) = self.slots.iter().filter_map(|s| s.flood_until).min() else {
                return Err(PoolError::Telegram(TgError::Unauthorized));
            };
            // Every account is waiting: count down in whole seconds so a UI can show it.
            let left = first.saturating_duration_since(now);
            progress(Event::Waiting { seconds: left.as_millis().div_ceil(1000) as u64 });
            self.sleep_until(first.min(now + Duration::from_secs(1))).await?;
        }
    }

    /// One request on one account, through its gate. A flood wait benches the account.
    async fn once(&mut self, i: usize, call: Call<'_>, progress: &mut dyn FnMut(Event)) -> Result<Answer, PoolError> {
        self.sleep_until(self.slots[i].next_at).await?;
        self.requests += 1;
        let target = &self.target;
        let src = &self.slots[i].account.source;
        let result = match call {
            Call::Resolve => src.resolve(target).await.map(Answer::Resolved),
            Call::Join(hash) => src.join(hash).await.map(Answer::Joined),
            Call::Do(chat, Request::Info) => src.chat_info(chat).await.map(|r| Answer::Reply(Reply::Info(r))),
            Call::Do(chat, Request::Participants { filter, offset, limit }) => {
                src.participants(chat, filter, *offset, *limit).await.map(|r| Answer::Reply(Reply::Participants(r)))
            }
            Call::Do(chat, Request::History { offset_id, limit }) => {
                src.history(chat, *offset_id, *limit).await.map(|r| Answer::Reply(Reply::History(r)))
            }
            Call::Do(_, Request::Photo(p)) => src.photo(*p).await.map(|(b, ext)| Answer::Reply(Reply::Photo(b, ext))),
        };
        let slot = &mut self.slots[i];
        let jitter = match self.pacing.jitter.as_millis() as u64 {
            0 => Duration::ZERO,
            j => Duration::from_millis(slot.rng.below(j + 1)),
        };
        slot.next_at = Instant::now() + self.pacing.interval + jitter;
        if let Err(TgError::FloodWait(d)) = result {
            self.flood_waits += 1;
            let wait = d + FLOOD_MARGIN;
            slot.flood_until = Some(Instant::now() + wait);
            self.benched.push((slot.account.name.clone(), now_millis() + wait.as_millis() as i64));
            progress(Event::FloodWait { account: slot.account.name.clone(), seconds: d.as_secs() });
        }
        if result.is_ok() {
            self.last = Some(i);
        }
        result.map_err(PoolError::Telegram)
    }

    /// The account that answered the last request.
    pub fn last_account(&self) -> Option<&str> {
        self.last.map(|i| self.slots[i].account.name.as_str())
    }

    /// The chat as account `i` sees it, resolving (and joining, when allowed) on first use.
    async fn chat(&mut self, i: usize, which: Which, progress: &mut dyn FnMut(Event)) -> Result<ChatRef, PoolError> {
        if let Some(c) = self.slots[i].chats.get(&which) {
            return Ok(*c);
        }
        let main = match self.slots[i].chats.get(&Which::Main) {
            Some(c) => *c,
            None => {
                let c = match self.once(i, Call::Resolve, progress).await? {
                    Answer::Resolved(Resolved::Chat(c)) => c,
                    Answer::Resolved(Resolved::Invite { .. }) => match (&self.target, self.join) {
                        (Target::Invite(hash), true) => {
                            let hash = hash.clone();
                            match self.once(i, Call::Join(&hash), progress).await? {
                                Answer::Joined(c) => c,
                                _ => return Err(PoolError::Telegram(TgError::Private)),
                            }
                        }
                        _ => return Err(PoolError::Telegram(TgError::Private)),
                    },
                    _ => return Err(PoolError::Telegram(TgError::NotFound)),
                };
                self.slots[i].chats.insert(Which::Main, c);
                c
            }
        };
        if which == Which::Main {
            return Ok(main);
        }
        let linked = match self.once(i, Call::Do(main, &Request::Info), progress).await? {
            Answer::Reply(Reply::Info(info)) => info.linked.ok_or(PoolError::NoLinkedChat)?,
            _ => return Err(PoolError::NoLinkedChat),
        };
        self.slots[i].chats.insert(Which::Linked, linked);
        Ok(linked)
    }

    /// Sends `req` about `which` chat on the best account, moving on from accounts that hit a flood wait.
    pub async fn call(
        &mut self,
        which: Which,
        req: &Request,
        progress: &mut dyn FnMut(Event),
    ) -> Result<Reply, PoolError> {
        loop {
            let i = self.pick(progress).await?;
            let chat = match self.chat(i, which, progress).await {
                Err(PoolError::Telegram(TgError::FloodWait(_))) => continue,
                other => other?,
            };
            match self.once(i, Call::Do(chat, req), progress).await {
                Err(PoolError::Telegram(TgError::FloodWait(_))) => continue,
                Ok(Answer::Reply(r)) => return Ok(r),
                Ok(_) => return Err(PoolError::Telegram(TgError::Rpc("unexpected answer".into()))),
                Err(e) => return Err(e),
            }
        }
    }
}
