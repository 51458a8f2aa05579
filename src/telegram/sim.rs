//! A deterministic simulated Telegram behind the same traits as the real adapter.
//!
//! It behaves the way Telegram does where a crawler can tell: participant lists stop at 10,000,
//! pages hold at most 200, searches match name and username prefixes and are capped too, a
//! broadcast channel's subscribers need admin rights, hidden member lists return only the admins,
//! access hashes belong to one account, and an account that exceeds the request rate gets a
//! FLOOD_WAIT. Time is tokio's clock, so tests with a paused clock wait for nothing.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::*;

pub mod chat;
mod people;

use people::gen_user;

/// Requests one account may make within `RATE_WINDOW` before Telegram says FLOOD_WAIT.
pub const RATE_BURST: usize = 20;
pub const RATE_WINDOW: Duration = Duration::from_secs(1);
/// How long a flood wait lasts.
pub const FLOOD_PENALTY: Duration = Duration::from_secs(3);
/// The login code the simulated Telegram sends to every phone.
pub const LOGIN_CODE: &str = "12345";
/// Phones ending in 9 have two-step verification with this password.
pub const TWO_FA_PASSWORD: &str = "demo";

#[derive(Debug, Clone)]
pub struct SimUser {
    pub id: u64,
    pub username: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<String>,
    pub lang_code: String,
    pub bot: bool,
    pub deleted: bool,
    pub photo: bool,
    /// Lowercased name words and username, what member search matches the start of.
    words: Vec<String>,
}

#[derive(Debug)]
struct SimChat {
    id: i64,
    username: Option<&'static str>,
    invite: Option<&'static str>,
    title: &'static str,
    kind: ChatKind,
    members: Vec<u64>,
    /// The count Telegram reports (a channel's subscribers are not listable).
    member_count: u64,
    admins: Vec<u64>,
    hidden: bool,
    linked: Option<i64>,
    /// Message authors, oldest first; message id = index + 1.
    messages: Vec<u64>,
    /// Every member's search words with the member's position, sorted: a prefix is a range.
    words: Vec<(String, u32)>,
}

#[derive(Default)]
struct AccountState {
    recent: VecDeque<Instant>,
    flood_until: Option<Instant>,
    joined: HashSet<i64>,
    requests: u64,
    /// Requests sent while a flood wait was still running: a crawler that honours waits sends none.
    early: u64,
}

/// The whole simulated Telegram. Share it between accounts with an `Arc`.
pub struct World {
    /// Indexed by user id minus `FIRST_USER_ID`.
    users: Vec<SimUser>,
    chats: Vec<SimChat>,
    accounts: Mutex<HashMap<String, AccountState>>,
}

/// A tiny deterministic generator (splitmix64): the world must be identical on every machine,
/// and pacing jitter needs no more than this.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn seeded(seed: &[u8]) -> Rng {
        let h = blake3::hash(seed);
        let mut b = [0u8; 8];
        b.copy_from_slice(&h.as_bytes()[..8]);
        Rng(u64::from_le_bytes(b))
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const FIRST_USER_ID: u64 = 7_000_000_001;
const SMALL: i64 = 1_001;
const BIG: i64 = 1_002;
const HIDDEN: i64 = 1_003;
const CHANNEL: i64 = 1_004;
const CHANNEL_CHAT: i64 = 1_005;
const INVITE: i64 = 1_006;

impl World {
    /// The demo world: `@demo_small`, `@demo_big`, `@demo_hidden`, `@demo_channel` with
    /// `@demo_channel_chat`, and the private `t.me/+demoinvite`.
    pub fn demo() -> World {
        let mut rng = Rng(0x5EED_2026);
        let mut users: Vec<SimUser> = Vec::with_capacity(30_000);
        let make = |rng: &mut Rng, users: &mut Vec<SimUser>, kind: u8| -> u64 {
            let id = FIRST_USER_ID + users.len() as u64;
            users.push(gen_user(rng, id, kind));
            id
        };
        let regular = |rng: &mut Rng, users: &mut Vec<SimUser>, n: usize| -> Vec<u64> {
            (0..n).map(|_| make(rng, users, 0)).collect()
        };

        // @demo_small: 150 members, 3 bots and 2 deleted accounts among them.
        let mut small = regular(&mut rng, &mut users, 145);
        for (at, kind) in [(10, 1), (50, 1), (90, 1), (30, 2), (120, 2)] {
            let id = make(&mut rng, &mut users, kind);
            small.insert(at, id);
        }
        let person = |id: &u64| users.get((id - FIRST_USER_ID) as usize).is_some_and(|u| !u.bot && !u.deleted);
        let small_regular: Vec<u64> = small.iter().copied().filter(person).collect();

        // @demo_big: 25,000 members, 100 of them also regular members of @demo_small.
        let mut big = regular(&mut rng, &mut users, 24_900);
        for (i, id) in small_regular.iter().take(100).enumerate() {
            big.insert(i * 249, *id);
        }

        // @demo_hidden: 2,400 members behind a hidden list; 800 of them wrote its 3,000 messages.
        let hidden = regular(&mut rng, &mut users, 2_400);
        let authors: Vec<u64> = hidden.iter().step_by(3).copied().take(800).collect();
        let admins: Vec<u64> = authors.iter().step_by(160).copied().take(5).collect();
        let mut messages = authors.clone();
        for i in (1..messages.len()).rev() {
            messages.swap(i, rng.below(i as u64 + 1) as usize);
        }
        while messages.len() < 3_000 {
            // A few authors write most messages, as in real chats.
            let skew = rng.below(authors.len() as u64).min(rng.below(authors.len() as u64));
            messages.push(authors[skew as usize]);
        }

        let channel_chat = regular(&mut rng, &mut users, 1_200);
        let private = regular(&mut rng, &mut users, 300);

        let chat = |id, username, invite, title, kind, members: Vec<u64>| SimChat {
            id,
            username,
            invite,
            title,
            kind,
            member_count: members.len() as u64,
            members,
            admins: Vec::new(),
            hidden: false,
            linked: None,
            messages: Vec::new(),
            words: Vec::new(),
        };
        let small_admins = small.iter().copied().take(2).collect();
        let chats = vec![
            SimChat {
                admins: small_admins,
                ..chat(SMALL, Some("demo_small"), None, "Demo Small", ChatKind::Megagroup, small)
            },
            chat(BIG, Some("demo_big"), None, "Demo Big", ChatKind::Megagroup, big),
            SimChat {
                admins,
                hidden: true,
                messages,
                ..chat(HIDDEN, Some("demo_hidden"), None, "Demo Hidden", ChatKind::Megagroup, hidden)
            },
            SimChat {
                member_count: 40_000,
                linked: Some(CHANNEL_CHAT),
                ..chat(CHANNEL, Some("demo_channel"), None, "Demo Channel", ChatKind::Broadcast, Vec::new())
            },
            SimChat {
                linked: Some(CHANNEL),
                ..chat(
                    CHANNEL_CHAT,
                    Some("demo_channel_chat"),
                    None,
                    "Demo Channel Chat",
                    ChatKind::Megagroup,
                    channel_chat,
                )
            },
            chat(INVITE, None, Some("demoinvite"), "Demo Private", ChatKind::Megagroup, private),
        ];
        let mut world = World { users, chats: Vec::new(), accounts: Mutex::new(HashMap::new()) };
        for mut chat in chats {
            let mut words: Vec<(String, u32)> = Vec::new();
            for (pos, id) in chat.members.iter().enumerate() {
                for w in world.user(*id).map(|u| u.words.as_slice()).unwrap_or_default() {
                    words.push((w.clone(), pos as u32));
                }
            }
            words.sort_unstable();
            chat.words = words;
            world.chats.push(chat);
        }
        world
    }

    /// A handle for one account of this world.
    pub fn account(self: &Arc<World>, name: &str) -> SimAccount {
        SimAccount { world: Arc::clone(self), name: name.to_string(), login: Mutex::new(LoginState::default()) }
    }

    /// How many requests an account has made (for tests and benchmarks).
    pub fn requests(&self, account: &str) -> u64 {
        self.lock().get(account).map_or(0, |a| a.requests)
    }

    /// Forgets every account's request window and flood wait, keeping the counts. The demo's
    /// past runs on a paused clock that ends days ahead of the wall clock: stamps from it would
    /// hold the window full (and the accounts in FLOOD_WAIT) for the rest of the process.
    pub fn forget_rates(&self) {
        for state in self.lock().values_mut() {
            state.recent.clear();
            state.flood_until = None;
        }
    }

    /// Requests an account sent before its flood wait was over.
    pub fn early_requests(&self, account: &str) -> u64 {
        self.lock().get(account).map_or(0, |a| a.early)
    }

    pub fn user(&self, id: u64) -> Option<&SimUser> {
        self.users.get(id.checked_sub(FIRST_USER_ID)? as usize)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, AccountState>> {
        // The state is plain counters; a panic elsewhere cannot leave it inconsistent.
        self.accounts.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a request against the account's rate, answering FLOOD_WAIT past the limit.
    fn request(&self, account: &str) -> TgResult<()> {
        let now = Instant::now();
        let mut all = self.lock();
        let state = all.entry(account.to_string()).or_default();
        state.requests += 1;
        if let Some(until) = state.flood_until {
            if now < until {
                state.early += 1;
                return Err(TgError::FloodWait(ceil_secs(until - now)));
            }
            state.flood_until = None;
        }
        while state.recent.front().is_some_and(|t| now.duration_since(*t) >= RATE_WINDOW) {
            state.recent.pop_front();
        }
        if state.recent.len() >= RATE_BURST {
            state.flood_until = Some(now + FLOOD_PENALTY);
            return Err(TgError::FloodWait(FLOOD_PENALTY));
        }
        state.recent.push_back(now);
        Ok(())
    }

    fn chat(&self, id: i64) -> TgResult<&SimChat> {
        self.chats.iter().find(|c| c.id == id).ok_or(TgError::NotFound)
    }

    fn joined(&self, account: &str, chat: &SimChat) -> bool {
        chat.invite.is_none() || self.lock().get(account).is_some_and(|a| a.joined.contains(&chat.id))
    }

    fn member(&self, id: u64) -> Option<Member> {
        let u = self.user(id)?;
        Some(Member {
            user_id: u.id,
            username: u.username.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            phone: u.phone.clone(),
            lang_code: Some(u.lang_code.clone()),
            bot: u.bot,
            deleted: u.deleted,
            photo: u.photo.then_some(PhotoRef {
                user_id: u.id,
                access_hash: 0,
                photo_id: (u.id as i64) ^ 0x5A5A,
                dc_id: 2,
            }),
            access_hash: None,
        })
    }
}

fn ceil_secs(d: Duration) -> Duration {
    Duration::from_secs(d.as_millis().div_ceil(1000).max(1) as u64)
}

/// Members matching a search, in member-list order. Telegram's member search matches the start
/// of any word of the name, or of the username.
fn search(chat: &SimChat, q: &str) -> Vec<u64> {
    let start = chat.words.partition_point(|(w, _)| w.as_str() < q);
    let mut hits: Vec<u32> =
        chat.words[start..].iter().take_while(|(w, _)| w.starts_with(q)).map(|(_, pos)| *pos).collect();
    hits.sort_unstable();
    hits.dedup();
    hits.into_iter().map(|pos| chat.members[pos as usize]).collect()
}

#[derive(Default)]
struct LoginState {
    phone: Option<String>,
    code_ok: bool,
    me: Option<Me>,
}

/// One account's view of the world.
pub struct SimAccount {
    world: Arc<World>,
    name: String,
    login: Mutex<LoginState>,
}

impl SimAccount {
    /// An account's access hash for a chat: another account's hash is refused, as on Telegram.
    fn hash(&self, chat: i64) -> i64 {
        let h = blake3::hash(format!("{}/{chat}", self.name).as_bytes());
        let mut b = [0u8; 8];
        b.copy_from_slice(&h.as_bytes()[..8]);
        i64::from_le_bytes(b)
    }

    /// A user as this account sees them, with this account's access hash.
    pub(super) fn member(&self, id: u64) -> Option<Member> {
        let mut m = self.world.member(id)?;
        m.access_hash = Some(self.user_hash(id));
        Some(m)
    }

    /// This account's access hash for a user (another account's is refused, as on Telegram).
    pub(super) fn user_hash(&self, user: u64) -> i64 {
        self.hash(-(user as i64))
    }

    fn chat_ref(&self, chat: &SimChat) -> ChatRef {
        ChatRef { id: chat.id, access_hash: self.hash(chat.id), kind: chat.kind }
    }

    fn open(&self, chat: ChatRef) -> TgResult<&SimChat> {
        let c = self.world.chat(chat.id)?;
        if chat.access_hash != self.hash(chat.id) {
            return Err(TgError::Rpc("CHANNEL_INVALID".into()));
        }
        if !self.world.joined(&self.name, c) {
            return Err(TgError::Private);
        }
        Ok(c)
    }

    fn login(&self) -> std::sync::MutexGuard<'_, LoginState> {
        self.login.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn me_for(phone: &str) -> Me {
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        let tail = digits.get(digits.len().saturating_sub(6)..).unwrap_or_default();
        Me {
            user_id: 9_000_000_000 + tail.parse::<u64>().unwrap_or(0),
            username: None,
            first_name: format!("Account {tail}"),
        }
    }
}

impl TelegramSource for SimAccount {
    async fn me(&self) -> TgResult<Me> {
        self.world.request(&self.name)?;
        Ok(Me { user_id: 9_000_000_000, username: None, first_name: self.name.clone() })
    }

    async fn resolve(&self, target: &Target) -> TgResult<Resolved> {
        self.world.request(&self.name)?;
        match target {
            Target::Username(u) => {
                let u = u.to_ascii_lowercase();
                let chat = self.world.chats.iter().find(|c| c.username == Some(u.as_str())).ok_or(TgError::NotFound)?;
                Ok(Resolved::Chat(self.chat_ref(chat)))
            }
            Target::Invite(hash) => {
                let chat =
                    self.world.chats.iter().find(|c| c.invite == Some(hash.as_str())).ok_or(TgError::InviteInvalid)?;
                if self.world.joined(&self.name, chat) {
                    Ok(Resolved::Chat(self.chat_ref(chat)))
                } else {
                    Ok(Resolved::Invite { title: chat.title.to_string(), members: chat.member_count })
                }
            }
        }
    }

    async fn join(&self, invite_hash: &str) -> TgResult<ChatRef> {
        self.world.request(&self.name)?;
        let chat = self.world.chats.iter().find(|c| c.invite == Some(invite_hash)).ok_or(TgError::InviteInvalid)?;
        self.world.lock().entry(self.name.clone()).or_default().joined.insert(chat.id);
        Ok(self.chat_ref(chat))
    }

    async fn chat_info(&self, chat: ChatRef) -> TgResult<ChatInfo> {
        self.world.request(&self.name)?;
        let c = self.open(chat)?;
        let linked = match (c.kind, c.linked) {
            (ChatKind::Broadcast, Some(id)) => Some(self.chat_ref(self.world.chat(id)?)),
            _ => None,
        };
        Ok(ChatInfo {
            chat,
            title: c.title.to_string(),
            username: c.username.map(str::to_string),
            members: Some(c.member_count),
            participants_hidden: c.hidden,
            can_view_participants: c.kind != ChatKind::Broadcast,
            is_admin: false,
            linked,
        })
    }

    async fn participants(
        &self,
        chat: ChatRef,
        filter: &ParticipantFilter,
        offset: u32,
        limit: u32,
    ) -> TgResult<ParticipantsPage> {
        self.world.request(&self.name)?;
        let c = self.open(chat)?;
        if c.kind == ChatKind::Broadcast {
            return Err(TgError::AdminRequired);
        }
        // Hidden lists show non-admins only the admins, whatever the filter.
        let (pool, total): (Vec<u64>, u64) = match filter {
            _ if c.hidden => (c.admins.clone(), c.admins.len() as u64),
            ParticipantFilter::Admins => (c.admins.clone(), c.admins.len() as u64),
            ParticipantFilter::Recent => (c.members.clone(), c.member_count),
            ParticipantFilter::Search(q) => {
                let q = q.to_lowercase();
                let hits = search(c, &q);
                let n = hits.len() as u64;
                (hits, n.min(PARTICIPANTS_CAP))
            }
        };
        let cap = PARTICIPANTS_CAP as usize;
        let start = (offset as usize).min(cap).min(pool.len());
        let end = (start + limit.min(PARTICIPANTS_PAGE) as usize).min(cap).min(pool.len());
        let members = pool[start..end].iter().filter_map(|id| self.member(*id)).collect();
        Ok(ParticipantsPage { members, total })
    }

    async fn history(&self, chat: ChatRef, offset_id: i32, limit: u32) -> TgResult<HistoryPage> {
        self.world.request(&self.name)?;
        let c = self.open(chat)?;
        let newest = c.messages.len() as i32;
        let top = if offset_id <= 0 { newest } else { (offset_id - 1).min(newest) };
        let limit = limit.min(HISTORY_PAGE) as i32;
        let bottom = (top - limit).max(0);
        let mut seen = HashSet::new();
        let mut authors = Vec::new();
        for id in (bottom + 1..=top).rev() {
            let author = c.messages[(id - 1) as usize];
            if seen.insert(author) {
                authors.extend(self.member(author));
            }
        }
        let read = (top - bottom).max(0) as u32;
        let next_offset_id = (bottom > 0 && read > 0).then_some(bottom + 1);
        Ok(HistoryPage { messages: read, authors, next_offset_id })
    }

    async fn photo(&self, photo: PhotoRef) -> TgResult<(Vec<u8>, &'static str)> {
        self.world.request(&self.name)?;
        let user = self.world.user(photo.user_id).filter(|u| u.photo).ok_or(TgError::NotFound)?;
        Ok((avatar_bmp(user.id), "bmp"))
    }
}

/// A 32x32 two-colour identicon (8x8 cells) as a BMP: a real image file any viewer decodes.
pub fn avatar_bmp(seed: u64) -> Vec<u8> {
    let h = blake3::hash(&seed.to_le_bytes());
    let bytes = h.as_bytes();
    let (fg, bg) = ([bytes[0], bytes[1], bytes[2]], [0xF0u8, 0xF0, 0xF0]);
    let (w, hgt) = (32u32, 32u32);
    let row = (w * 3).div_ceil(4) * 4;
    let size = 54 + row * hgt;
    let mut out = Vec::with_capacity(size as usize);
    out.extend_from_slice(b"BM");
    out.extend_from_slice(&size.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&54u32.to_le_bytes());
    out.extend_from_slice(&40u32.to_le_bytes());
    out.extend_from_slice(&(w as i32).to_le_bytes());
    out.extend_from_slice(&(hgt as i32).to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&24u16.to_le_bytes());
    out.extend_from_slice(&[0u8; 24]);
    for y in 0..hgt {
        for x in 0..w {
            // Mirrored left to right, like the identicons people recognise.
            let (cx, cy) = (x / 4, y / 4);
            let col = cx.min(7 - cx);
            let on = bytes[(3 + cy * 4 + col) as usize % 32] & 1 == 1;
            let [r, g, b] = if on { fg } else { bg };
            out.extend_from_slice(&[b, g, r]);
        }
        out.extend(std::iter::repeat_n(0u8, (row - w * 3) as usize));
    }
    out
}

impl Authenticator for SimAccount {
    async fn is_authorized(&self) -> TgResult<Option<Me>> {
        Ok(self.login().me.clone())
    }

    async fn request_code(&self, phone: &str) -> TgResult<()> {
        let digits = phone.trim().strip_prefix('+').unwrap_or(phone.trim());
        if digits.len() < 7 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TgError::Rpc("PHONE_NUMBER_INVALID".into()));
        }
        let mut s = self.login();
        s.phone = Some(digits.to_string());
        s.code_ok = false;
        Ok(())
    }

    async fn sign_in(&self, code: &str) -> TgResult<SignIn> {
        let mut s = self.login();
        let Some(phone) = s.phone.clone() else { return Err(TgError::Rpc("PHONE_CODE_EXPIRED".into())) };
        if code.trim() != LOGIN_CODE {
            return Err(TgError::Rpc("PHONE_CODE_INVALID".into()));
        }
        s.code_ok = true;
        if phone.ends_with('9') {
            return Ok(SignIn::PasswordRequired { hint: Some("the demo password".into()) });
        }
        let me = SimAccount::me_for(&phone);
        s.me = Some(me.clone());
        Ok(SignIn::Done(me))
    }

    async fn check_password(&self, password: &str) -> TgResult<Me> {
        let mut s = self.login();
        let (Some(phone), true) = (s.phone.clone(), s.code_ok) else {
            return Err(TgError::Rpc("PASSWORD_REQUIRED_FIRST_CODE".into()));
        };
        if password != TWO_FA_PASSWORD {
            return Err(TgError::Rpc("PASSWORD_HASH_INVALID".into()));
        }
        let me = SimAccount::me_for(&phone);
        s.me = Some(me.clone());
        Ok(me)
    }
}

#[cfg(test)]
mod tests;
