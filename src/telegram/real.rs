//! The real Telegram, through grammers (pinned to 0.11.0: its API changes between releases).
//! This is the only module that imports grammers.
//!
//! Each `TelegramSource` method sends exactly one request, so the crawl's pacing gate and its
//! request count are true: participants and history are raw `channels.getParticipants` and
//! `messages.getHistory` calls rather than grammers' iterators, which page on their own.
//! The exception is a photo larger than one 512 KiB chunk, which takes one request per chunk.
//! [`Messenger`] lives in `real_chat.rs`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use grammers_client::client::{LoginToken, PasswordToken, UpdateStream};
use grammers_client::media::Downloadable;
use grammers_client::sender::{ConnectionParams, NoRetries};
use grammers_client::tl;
use grammers_client::{Client, InvocationError, SenderPool, SignInError};
use grammers_session::storages::SqliteSession;
use grammers_session::updates::UpdatesLike;
use tokio::sync::{mpsc, Mutex};

use super::*;

#[path = "real_chat.rs"]
mod chat;

pub struct RealAccount {
    client: Client,
    // Read directly for what an update's peer map lacks (a user's access hash, who we are).
    session: Arc<SqliteSession>,
    api_hash: String,
    login: Mutex<Option<LoginToken>>,
    password: Mutex<Option<PasswordToken>>,
    // The pool's update channel, until the first `next_updates` turns it into the stream.
    updates: Mutex<Option<mpsc::Receiver<UpdatesLike>>>,
    stream: Mutex<Option<chat::Live>>,
    // Ends the connection pool's task when the account is dropped.
    runner: tokio::task::JoinHandle<()>,
}

impl Drop for RealAccount {
    fn drop(&mut self) {
        self.runner.abort();
    }
}

impl RealAccount {
    /// Opens (creating if needed) the session file and starts the connection pool.
    /// Nothing is sent until the first request.
    pub async fn connect(session_path: &Path, api_id: i32, api_hash: &str) -> TgResult<RealAccount> {
        let session = SqliteSession::open(session_path)
            .await
            .map_err(|e| TgError::Network(format!("session {}: {e}", session_path.display())))?;
        let session = Arc::new(session);
        // grammers' default sleeps through flood waits of up to 60 s inside the call; reach's
        // pacing and send queue need to see them.
        let params = ConnectionParams { retry_policy: Box::new(NoRetries), ..Default::default() };
        let SenderPool { runner, handle, updates } =
            SenderPool::with_configuration(Arc::clone(&session), api_id, params);
        let client = Client::new(handle);
        let runner = tokio::spawn(runner.run());
        Ok(RealAccount {
            client,
            session,
            api_hash: api_hash.to_string(),
            login: Mutex::new(None),
            password: Mutex::new(None),
            updates: Mutex::new(Some(updates)),
            stream: Mutex::new(None),
            runner,
        })
    }
}

/// Telegram's error names, as reach's errors.
pub fn map_rpc(name: &str, code: i32, value: Option<u32>) -> TgError {
    match name {
        "FLOOD_WAIT" | "FLOOD_PREMIUM_WAIT" | "SLOWMODE_WAIT" => {
            TgError::FloodWait(Duration::from_secs(u64::from(value.unwrap_or(1))))
        }
        "CHAT_ADMIN_REQUIRED" => TgError::AdminRequired,
        "CHANNEL_PRIVATE" | "CHAT_FORBIDDEN" | "CHANNEL_PUBLIC_GROUP_NA" => TgError::Private,
        "USERNAME_NOT_OCCUPIED" | "USERNAME_INVALID" | "PEER_ID_INVALID" | "CHANNEL_INVALID" => TgError::NotFound,
        "INVITE_HASH_EXPIRED" | "INVITE_HASH_INVALID" | "INVITE_HASH_EMPTY" => TgError::InviteInvalid,
        "AUTH_KEY_UNREGISTERED" | "SESSION_REVOKED" | "SESSION_EXPIRED" | "USER_DEACTIVATED" => TgError::Unauthorized,
        "USER_IS_BLOCKED" => TgError::UserBlocked,
        "YOU_BLOCKED_USER" => TgError::YouBlockedUser,
        "USER_PRIVACY_RESTRICTED" | "PRIVACY_PREMIUM_REQUIRED" => TgError::PrivacyRestricted(name.to_string()),
        "INPUT_USER_DEACTIVATED" => TgError::UserDeactivated,
        "PEER_FLOOD" => TgError::PeerFlood,
        _ if code == 420 => TgError::FloodWait(Duration::from_secs(u64::from(value.unwrap_or(1)))),
        _ if code == 401 => TgError::Unauthorized,
        _ => TgError::Rpc(name.to_string()),
    }
}

fn map_err(e: InvocationError) -> TgError {
    match e {
        InvocationError::Rpc(rpc) => map_rpc(&rpc.name, rpc.code, rpc.value),
        InvocationError::Io(e) => TgError::Network(e.to_string()),
        InvocationError::Transport(e) => TgError::Network(e.to_string()),
        other => TgError::Rpc(other.to_string()),
    }
}

fn map_sign_in(e: SignInError) -> TgError {
    match e {
        SignInError::InvalidCode => TgError::Rpc("PHONE_CODE_INVALID".into()),
        SignInError::InvalidPassword(_) => TgError::Rpc("PASSWORD_HASH_INVALID".into()),
        SignInError::SignUpRequired => {
            TgError::Rpc("SIGN_UP_REQUIRED: create the account in an official app first".into())
        }
        SignInError::PasswordRequired(_) => TgError::Rpc("SESSION_PASSWORD_NEEDED".into()),
        SignInError::Other(e) => map_err(e),
    }
}

fn me_from(user: &tl::enums::User) -> Me {
    match user {
        tl::enums::User::User(u) => Me {
            user_id: u.id as u64,
            username: u.username.clone(),
            first_name: u.first_name.clone().unwrap_or_default(),
        },
        tl::enums::User::Empty(u) => Me { user_id: u.id as u64, username: None, first_name: String::new() },
    }
}

fn member(user: &tl::enums::User) -> Option<Member> {
    let tl::enums::User::User(u) = user else { return None };
    // A user may hold several usernames; the first active one is the one people type.
    let username = u.username.clone().or_else(|| {
        u.usernames.as_ref()?.iter().find_map(|n| match n {
            tl::enums::Username::Username(n) if n.active => Some(n.username.clone()),
            _ => None,
        })
    });
    let photo = match (&u.photo, u.access_hash) {
        (Some(tl::enums::UserProfilePhoto::Photo(p)), Some(hash)) => {
            Some(PhotoRef { user_id: u.id as u64, access_hash: hash, photo_id: p.photo_id, dc_id: p.dc_id })
        }
        _ => None,
    };
    Some(Member {
        user_id: u.id as u64,
        username,
        first_name: u.first_name.clone().unwrap_or_default(),
        last_name: u.last_name.clone().unwrap_or_default(),
        phone: u.phone.clone().filter(|p| !p.is_empty()),
        lang_code: u.lang_code.clone(),
        bot: u.bot,
        deleted: u.deleted,
        photo,
        // A min user's hash only works inside the message it came with, not for sending.
        access_hash: u.access_hash.filter(|_| !u.min),
    })
}

fn chat_ref(chat: &tl::enums::Chat) -> Option<ChatRef> {
    match chat {
        tl::enums::Chat::Channel(c) => Some(ChatRef {
            id: c.id,
            access_hash: c.access_hash.unwrap_or(0),
            kind: if c.broadcast { ChatKind::Broadcast } else { ChatKind::Megagroup },
        }),
        tl::enums::Chat::Chat(c) => Some(ChatRef { id: c.id, access_hash: 0, kind: ChatKind::Group }),
        tl::enums::Chat::ChannelForbidden(_) | tl::enums::Chat::Forbidden(_) => None,
        _ => None,
    }
}

fn input_channel(chat: ChatRef) -> tl::enums::InputChannel {
    tl::enums::InputChannel::Channel(tl::types::InputChannel { channel_id: chat.id, access_hash: chat.access_hash })
}

fn input_peer(chat: ChatRef) -> tl::enums::InputPeer {
    match chat.kind {
        ChatKind::Group => tl::enums::InputPeer::Chat(tl::types::InputPeerChat { chat_id: chat.id }),
        _ => tl::enums::InputPeer::Channel(tl::types::InputPeerChannel {
            channel_id: chat.id,
            access_hash: chat.access_hash,
        }),
    }
}

/// The chats of an `Updates` (what joining answers).
fn updates_chats(u: tl::enums::Updates) -> Vec<tl::enums::Chat> {
    match u {
        tl::enums::Updates::Updates(u) => u.chats,
        tl::enums::Updates::Combined(u) => u.chats,
        _ => Vec::new(),
    }
}

/// A user's profile photo as grammers' downloader wants it: it follows the photo's data centre.
struct ProfilePhoto(PhotoRef);

impl Downloadable for ProfilePhoto {
    fn to_raw_input_location(&self) -> Option<tl::enums::InputFileLocation> {
        let p = self.0;
        Some(tl::enums::InputFileLocation::InputPeerPhotoFileLocation(tl::types::InputPeerPhotoFileLocation {
            big: false,
            peer: tl::enums::InputPeer::User(tl::types::InputPeerUser {
                user_id: p.user_id as i64,
                access_hash: p.access_hash,
            }),
            photo_id: p.photo_id,
        }))
    }

    fn dc_id(&self) -> Option<i32> {
        Some(self.0.dc_id)
    }
}

/// Photos larger than this are not profile photos worth keeping.
const MAX_PHOTO_BYTES: usize = 4 << 20;

impl TelegramSource for RealAccount {
    async fn me(&self) -> TgResult<Me> {
        let user = self.client.get_me().await.map_err(map_err)?;
        Ok(me_from(&user.raw))
    }

    async fn resolve(&self, target: &Target) -> TgResult<Resolved> {
        match target {
            Target::Username(name) => {
                let req = tl::functions::contacts::ResolveUsername { username: name.clone(), referer: None };
                let tl::enums::contacts::ResolvedPeer::Peer(r) = self.client.invoke(&req).await.map_err(map_err)?;
                match r.peer {
                    tl::enums::Peer::User(_) => Err(TgError::Rpc(format!("@{name} is a user, not a group or channel"))),
                    _ => r.chats.iter().find_map(chat_ref).map(Resolved::Chat).ok_or(TgError::NotFound),
                }
            }
            Target::Invite(hash) => {
                let req = tl::functions::messages::CheckChatInvite { hash: hash.clone() };
                match self.client.invoke(&req).await.map_err(map_err)? {
                    tl::enums::ChatInvite::Already(a) => chat_ref(&a.chat).map(Resolved::Chat).ok_or(TgError::Private),
                    tl::enums::ChatInvite::Peek(p) => chat_ref(&p.chat).map(Resolved::Chat).ok_or(TgError::Private),
                    tl::enums::ChatInvite::Invite(i) => {
                        Ok(Resolved::Invite { title: i.title, members: i.participants_count.max(0) as u64 })
                    }
                }
            }
        }
    }

    async fn join(&self, invite_hash: &str) -> TgResult<ChatRef> {
        let req = tl::functions::messages::ImportChatInvite { hash: invite_hash.to_string() };
        match self.client.invoke(&req).await.map_err(map_err)? {
            tl::enums::messages::ChatInviteJoinResult::Ok(ok) => {
                updates_chats(ok.updates).iter().find_map(chat_ref).ok_or(TgError::Private)
            }
            // The chat asks a bot to approve joins; reach cannot answer a web view.
            tl::enums::messages::ChatInviteJoinResult::WebView(_) => {
                Err(TgError::Rpc("INVITE_NEEDS_WEB_VIEW: join in a Telegram app first".into()))
            }
        }
    }

    async fn chat_info(&self, chat: ChatRef) -> TgResult<ChatInfo> {
        if chat.kind == ChatKind::Group {
            let req = tl::functions::messages::GetFullChat { chat_id: chat.id };
            let tl::enums::messages::ChatFull::Full(full) = self.client.invoke(&req).await.map_err(map_err)?;
            let basic = full.chats.iter().find_map(|c| match c {
                tl::enums::Chat::Chat(c) if c.id == chat.id => Some(c),
                _ => None,
            });
            return Ok(ChatInfo {
                chat,
                title: basic.map(|c| c.title.clone()).unwrap_or_default(),
                username: None,
                members: basic.map(|c| c.participants_count.max(0) as u64),
                participants_hidden: false,
                can_view_participants: true,
                is_admin: basic.is_some_and(|c| c.creator || c.admin_rights.is_some()),
                linked: None,
            });
        }
        let req = tl::functions::channels::GetFullChannel { channel: input_channel(chat) };
        let tl::enums::messages::ChatFull::Full(full) = self.client.invoke(&req).await.map_err(map_err)?;
        let channel = full.chats.iter().find_map(|c| match c {
            tl::enums::Chat::Channel(c) if c.id == chat.id => Some(c),
            _ => None,
        });
        let (hidden, can_view, count, linked_id) = match &full.full_chat {
            tl::enums::ChatFull::ChannelFull(f) => {
                (f.participants_hidden, f.can_view_participants, f.participants_count, f.linked_chat_id)
            }
            _ => (false, true, None, None),
        };
        let linked = linked_id.and_then(|id| {
            full.chats.iter().filter_map(chat_ref).find(|c| c.id == id && chat.kind == ChatKind::Broadcast)
        });
        Ok(ChatInfo {
            chat,
            title: channel.map(|c| c.title.clone()).unwrap_or_default(),
            username: channel.and_then(|c| c.username.clone()),
            members: count.or_else(|| channel.and_then(|c| c.participants_count)).map(|n| n.max(0) as u64),
            participants_hidden: hidden,
            can_view_participants: can_view,
            is_admin: channel.is_some_and(|c| c.creator || c.admin_rights.is_some()),
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
        if chat.kind == ChatKind::Group {
            // A basic group has no paging: the full chat carries every member.
            if offset > 0 {
                return Ok(ParticipantsPage { members: Vec::new(), total: u64::from(offset) });
            }
            let req = tl::functions::messages::GetFullChat { chat_id: chat.id };
            let tl::enums::messages::ChatFull::Full(full) = self.client.invoke(&req).await.map_err(map_err)?;
            let members: Vec<Member> = full.users.iter().filter_map(member).collect();
            let total = members.len() as u64;
            return Ok(ParticipantsPage { members, total });
        }
        let filter =
            match filter {
                ParticipantFilter::Recent => tl::enums::ChannelParticipantsFilter::ChannelParticipantsRecent,
                ParticipantFilter::Admins => tl::enums::ChannelParticipantsFilter::ChannelParticipantsAdmins,
                ParticipantFilter::Search(q) => tl::enums::ChannelParticipantsFilter::ChannelParticipantsSearch(
                    tl::types::ChannelParticipantsSearch { q: q.clone() },
                ),
            };
        let req = tl::functions::channels::GetParticipants {
            channel: input_channel(chat),
            filter,
            offset: offset as i32,
            limit: limit.min(PARTICIPANTS_PAGE) as i32,
            hash: 0,
        };
        match self.client.invoke(&req).await.map_err(map_err)? {
            tl::enums::channels::ChannelParticipants::Participants(p) => Ok(ParticipantsPage {
                members: p.users.iter().filter_map(member).collect(),
                total: p.count.max(0) as u64,
            }),
            // Only answered when a hash is sent, which reach never does.
            tl::enums::channels::ChannelParticipants::NotModified => {
                Ok(ParticipantsPage { members: Vec::new(), total: u64::from(offset) })
            }
        }
    }

    async fn history(&self, chat: ChatRef, offset_id: i32, limit: u32) -> TgResult<HistoryPage> {
        let limit = limit.min(HISTORY_PAGE);
        let req = tl::functions::messages::GetHistory {
            peer: input_peer(chat),
            offset_id,
            offset_date: 0,
            add_offset: 0,
            limit: limit as i32,
            max_id: 0,
            min_id: 0,
            hash: 0,
        };
        let (messages, users) = match self.client.invoke(&req).await.map_err(map_err)? {
            tl::enums::messages::Messages::Messages(m) => (m.messages, m.users),
            tl::enums::messages::Messages::Slice(m) => (m.messages, m.users),
            tl::enums::messages::Messages::ChannelMessages(m) => (m.messages, m.users),
            tl::enums::messages::Messages::NotModified(_) => (Vec::new(), Vec::new()),
        };
        let mut author_ids = Vec::new();
        let mut oldest = None;
        for m in &messages {
            let (id, from) = match m {
                tl::enums::Message::Message(m) => (m.id, m.from_id.as_ref()),
                tl::enums::Message::Service(m) => (m.id, m.from_id.as_ref()),
                tl::enums::Message::Empty(m) => (m.id, None),
            };
            oldest = Some(oldest.map_or(id, |o: i32| o.min(id)));
            if let Some(tl::enums::Peer::User(u)) = from {
                if !author_ids.contains(&u.user_id) {
                    author_ids.push(u.user_id);
                }
            }
        }
        let authors = author_ids
            .iter()
            .filter_map(|id| users.iter().find(|u| matches!(u, tl::enums::User::User(x) if x.id == *id)))
            .filter_map(member)
            .collect();
        let read = messages.len() as u32;
        let next_offset_id = oldest.filter(|_| read >= limit && read > 0);
        Ok(HistoryPage { messages: read, authors, next_offset_id })
    }

    async fn photo(&self, photo: PhotoRef) -> TgResult<(Vec<u8>, &'static str)> {
        let mut download = self.client.iter_download(&ProfilePhoto(photo));
        let mut bytes = Vec::new();
        while let Some(chunk) = download.next().await.map_err(map_err)? {
            bytes.extend_from_slice(&chunk);
            if bytes.len() > MAX_PHOTO_BYTES {
                return Err(TgError::Rpc("PHOTO_TOO_LARGE".into()));
            }
        }
        if bytes.is_empty() {
            return Err(TgError::NotFound);
        }
        Ok((bytes, "jpg"))
    }
}

impl Authenticator for RealAccount {
    async fn is_authorized(&self) -> TgResult<Option<Me>> {
        if !self.client.is_authorized().await.map_err(map_err)? {
            return Ok(None);
        }
        self.me().await.map(Some)
    }

    async fn request_code(&self, phone: &str) -> TgResult<()> {
        let token = self.client.request_login_code(phone, &self.api_hash).await.map_err(map_err)?;
        *self.login.lock().await = Some(token);
        Ok(())
    }

    async fn sign_in(&self, code: &str) -> TgResult<SignIn> {
        let guard = self.login.lock().await;
        let Some(token) = guard.as_ref() else { return Err(TgError::Rpc("PHONE_CODE_EXPIRED".into())) };
        match self.client.sign_in(token, code.trim()).await {
            Ok(user) => Ok(SignIn::Done(me_from(&user.raw))),
            Err(SignInError::PasswordRequired(pt)) => {
                let hint = pt.hint().map(str::to_string);
                *self.password.lock().await = Some(pt);
                Ok(SignIn::PasswordRequired { hint })
            }
            Err(e) => Err(map_sign_in(e)),
        }
    }

    async fn check_password(&self, password: &str) -> TgResult<Me> {
        let Some(token) = self.password.lock().await.take() else {
            return Err(TgError::Rpc("PASSWORD_REQUIRED_FIRST_CODE".into()));
        };
        match self.client.check_password(token, password.as_bytes()).await {
            Ok(user) => Ok(me_from(&user.raw)),
            Err(SignInError::InvalidPassword(token)) => {
                // Telegram hands the token back so the next try needs no new code.
                *self.password.lock().await = Some(token);
                Err(TgError::Rpc("PASSWORD_HASH_INVALID".into()))
            }
            Err(e) => Err(map_sign_in(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpc_errors_map_to_what_the_crawler_acts_on() {
        assert_eq!(map_rpc("FLOOD_WAIT", 420, Some(31)), TgError::FloodWait(Duration::from_secs(31)));
        assert_eq!(map_rpc("FLOOD_PREMIUM_WAIT", 420, Some(5)), TgError::FloodWait(Duration::from_secs(5)));
        assert_eq!(map_rpc("SOMETHING_NEW", 420, Some(7)), TgError::FloodWait(Duration::from_secs(7)));
        assert_eq!(map_rpc("CHAT_ADMIN_REQUIRED", 400, None), TgError::AdminRequired);
        assert_eq!(map_rpc("CHANNEL_PRIVATE", 400, None), TgError::Private);
        assert_eq!(map_rpc("USERNAME_NOT_OCCUPIED", 400, None), TgError::NotFound);
        assert_eq!(map_rpc("INVITE_HASH_EXPIRED", 400, None), TgError::InviteInvalid);
        assert_eq!(map_rpc("AUTH_KEY_UNREGISTERED", 401, None), TgError::Unauthorized);
        assert_eq!(map_rpc("PHONE_CODE_INVALID", 400, None), TgError::Rpc("PHONE_CODE_INVALID".into()));
    }

    #[tokio::test]
    async fn a_session_file_opens_offline_and_an_empty_one_is_not_authorized_yet() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("main.session");
        let acct = RealAccount::connect(&path, 1, "0123456789abcdef0123456789abcdef").await.unwrap();
        assert!(path.exists(), "the session is created on connect");
        drop(acct);
        // Reopening the same file works (the session is durable between runs).
        assert!(RealAccount::connect(&path, 1, "0123456789abcdef0123456789abcdef").await.is_ok());
    }
}
