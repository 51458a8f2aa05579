//! The seam between reach and Telegram.
//!
//! Everything that talks to Telegram goes through [`TelegramSource`] (reading chats and members),
//! [`Messenger`] (private conversations: sending, updates, read receipts) and [`Authenticator`]
//! (logging an account in). Two implementations exist: [`real`], the only
//! module that imports grammers, and [`sim`], a deterministic simulated world used by the tests
//! and by `reach --demo`. Both return reach's own types and [`TgError`].

pub mod login;
pub mod real;
pub mod sim;

use std::fmt;
use std::future::Future;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Telegram never returns more than this many participants for one filter or search query.
pub const PARTICIPANTS_CAP: u64 = 10_000;
/// The largest page `channels.getParticipants` returns.
pub const PARTICIPANTS_PAGE: u32 = 200;
/// The largest page `messages.getHistory` returns.
pub const HISTORY_PAGE: u32 = 100;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TgError {
    /// FLOOD_WAIT: this account may not send another request for the given time.
    #[error("flood wait of {}s", .0.as_secs())]
    FloodWait(Duration),
    /// The member list is only visible to admins (a broadcast channel's subscribers).
    #[error("only admins can list the members of this chat")]
    AdminRequired,
    /// A private chat this account has not joined.
    #[error("the chat is private; join it first (reach crawl --join)")]
    Private,
    #[error("no such user, group or channel")]
    NotFound,
    /// An invite link that expired or was revoked.
    #[error("the invite link has expired or was revoked")]
    InviteInvalid,
    /// The account has no valid session.
    #[error("the account is not logged in (reach account add)")]
    Unauthorized,
    #[error("network: {0}")]
    Network(String),
    /// USER_IS_BLOCKED: the user blocked this account; Telegram refuses our messages.
    #[error("the user blocked this account (USER_IS_BLOCKED)")]
    UserBlocked,
    /// YOU_BLOCKED_USER: this account blocked the user in Telegram.
    #[error("this account blocked the user in Telegram (YOU_BLOCKED_USER)")]
    YouBlockedUser,
    /// USER_PRIVACY_RESTRICTED or PRIVACY_PREMIUM_REQUIRED: the user's privacy settings refuse us.
    #[error("the user's privacy settings refuse messages from this account ({0})")]
    PrivacyRestricted(String),
    /// INPUT_USER_DEACTIVATED: the user deleted their account.
    #[error("the user deleted their Telegram account (INPUT_USER_DEACTIVATED)")]
    UserDeactivated,
    /// PEER_ID_INVALID: this account's reference to the user is not valid (an access hash from
    /// another account, or a user it never saw).
    #[error("this account cannot address the user (PEER_ID_INVALID)")]
    PeerInvalid,
    /// PEER_FLOOD: the account is spam-limited and may not write to people it has not talked to.
    #[error("the account is limited by Telegram for spam (PEER_FLOOD): check @SpamBot")]
    PeerFlood,
    /// Any other RPC error, with Telegram's name for it.
    #[error("telegram: {0}")]
    Rpc(String),
}

/// What a user typed as a crawl target, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Target {
    /// `@name`, `name`, `t.me/name` or `https://t.me/name`.
    Username(String),
    /// `t.me/+hash` or `t.me/joinchat/hash`.
    Invite(String),
}

impl Target {
    pub fn parse(raw: &str) -> Result<Target, String> {
        let bad = || format!("{raw:?}: expected @name, t.me/name or an invite link such as t.me/+AbC123");
        let s = raw.trim();
        let s = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://")).unwrap_or(s);
        let s = s.strip_prefix("www.").unwrap_or(s);
        let path = ["t.me/", "telegram.me/", "telegram.dog/"].iter().find_map(|host| s.strip_prefix(host));
        if let Some(path) = path {
            let path = path.split(['?', '#']).next().unwrap_or_default().trim_end_matches('/');
            if let Some(hash) = path.strip_prefix('+').or_else(|| path.strip_prefix("joinchat/")) {
                let valid =
                    !hash.is_empty() && hash.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                return if valid { Ok(Target::Invite(hash.to_string())) } else { Err(bad()) };
            }
        }
        // Usernames and t.me/name links are what the lead fields accept too.
        crate::normalize::normalize_username(raw).map(Target::Username).map_err(|_| bad())
    }

    /// The cache and checkpoint key: usernames are case-insensitive, invite hashes are not.
    pub fn key(&self) -> String {
        match self {
            Target::Username(u) => format!("@{}", u.to_ascii_lowercase()),
            Target::Invite(h) => format!("+{h}"),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Username(u) => write!(f, "@{u}"),
            Target::Invite(h) => write!(f, "t.me/+{h}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChatKind {
    /// A small legacy group: members come with the full chat, no paging.
    Group,
    Megagroup,
    Broadcast,
}

/// A chat as one account sees it. Access hashes differ between accounts, so a `ChatRef` is only
/// valid for the account that resolved it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatRef {
    pub id: i64,
    pub access_hash: i64,
    pub kind: ChatKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    Chat(ChatRef),
    /// An invite link to a chat this account has not joined: a preview only.
    Invite {
        title: String,
        members: u64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatInfo {
    pub chat: ChatRef,
    pub title: String,
    pub username: Option<String>,
    pub members: Option<u64>,
    /// The admins hid the member list: listing returns only the admins.
    pub participants_hidden: bool,
    /// Telegram says this account may list participants.
    pub can_view_participants: bool,
    pub is_admin: bool,
    /// A broadcast channel's discussion group.
    pub linked: Option<ChatRef>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParticipantFilter {
    Recent,
    Search(String),
    Admins,
}

/// What downloading a user's profile photo needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhotoRef {
    pub user_id: u64,
    pub access_hash: i64,
    pub photo_id: i64,
    pub dc_id: i32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub user_id: u64,
    pub username: Option<String>,
    pub first_name: String,
    pub last_name: String,
    /// Digits only, as Telegram sends it; present only when the user shares it.
    pub phone: Option<String>,
    pub lang_code: Option<String>,
    pub bot: bool,
    pub deleted: bool,
    pub photo: Option<PhotoRef>,
    /// This account's access hash for the user, which sending to them needs.
    pub access_hash: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantsPage {
    pub members: Vec<Member>,
    /// Telegram's count for the filter: the true member count for `Recent`, capped for searches.
    pub total: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryPage {
    /// Messages read in this page.
    pub messages: u32,
    /// Distinct user authors of those messages.
    pub authors: Vec<Member>,
    /// The id to continue from (older messages), or None at the start of the chat.
    pub next_offset_id: Option<i32>,
}

/// The logged-in user of an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub user_id: u64,
    pub username: Option<String>,
    pub first_name: String,
}

pub type TgResult<T> = Result<T, TgError>;

/// One logged-in account's view of Telegram. Every method is one request (the pacing gate and
/// flood-wait accounting count on that).
pub trait TelegramSource: Send + Sync {
    fn me(&self) -> impl Future<Output = TgResult<Me>> + Send;
    fn resolve(&self, target: &Target) -> impl Future<Output = TgResult<Resolved>> + Send;
    /// Joins the chat behind an invite hash.
    fn join(&self, invite_hash: &str) -> impl Future<Output = TgResult<ChatRef>> + Send;
    fn chat_info(&self, chat: ChatRef) -> impl Future<Output = TgResult<ChatInfo>> + Send;
    fn participants(
        &self,
        chat: ChatRef,
        filter: &ParticipantFilter,
        offset: u32,
        limit: u32,
    ) -> impl Future<Output = TgResult<ParticipantsPage>> + Send;
    /// Messages older than `offset_id` (0: the newest), newest first.
    fn history(&self, chat: ChatRef, offset_id: i32, limit: u32) -> impl Future<Output = TgResult<HistoryPage>> + Send;
    /// The photo's bytes and a file extension.
    fn photo(&self, photo: PhotoRef) -> impl Future<Output = TgResult<(Vec<u8>, &'static str)>> + Send;
}

/// A user as one account addresses them: access hashes belong to the account that saw the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UserRef {
    pub user_id: u64,
    pub access_hash: i64,
}

/// A private-chat message as an update or a send reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TgMessage {
    /// Telegram's id; a user account numbers all its private chats' messages in one sequence.
    pub id: i32,
    /// The other side of the chat (the sender of an incoming message, the recipient of ours).
    pub peer: Member,
    /// Sent by this account (from reach, or from another client such as a phone).
    pub out: bool,
    pub text: String,
    /// Unix time in milliseconds.
    pub at: i64,
}

/// What an account's update stream delivers that reach acts on. Group and channel messages,
/// bots and service messages are dropped by the adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TgUpdate {
    Message(TgMessage),
    Edited(TgMessage),
    /// Messages deleted by id (Telegram names no chat for private-chat deletions).
    Deleted {
        ids: Vec<i32>,
    },
    /// The user read our messages up to `max_id` (`UpdateReadHistoryOutbox`).
    ReadOutbox {
        user_id: u64,
        max_id: i32,
    },
}

/// What a send came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    Message {
        id: i32,
        at: i64,
    },
    /// RANDOM_ID_DUPLICATE: Telegram already has a message with this random id; an earlier run
    /// sent it and stopped before recording that.
    AlreadySent,
}

/// One account's private conversations. Every method is one request, except `next_updates`,
/// which waits for the stream.
pub trait Messenger: Send + Sync {
    /// Sends `text` to `to` with our `random_id`, stored before the call, so a repeat after a
    /// crash is recognised by Telegram instead of delivered twice.
    fn send(&self, to: UserRef, text: &str, random_id: i64) -> impl Future<Output = TgResult<Sent>> + Send;
    /// Finds a user by username (a lead whose access hash this account does not have).
    fn resolve_user(&self, username: &str) -> impl Future<Output = TgResult<Member>> + Send;
    /// Marks the chat read up to `max_id` on Telegram (the user sees our read ticks).
    fn read_history(&self, to: UserRef, max_id: i32) -> impl Future<Output = TgResult<()>> + Send;
    /// The next updates, waiting until there are some. Updates that arrived while no process ran
    /// the account come first (catch-up). At least one update, or an error.
    fn next_updates(&self) -> impl Future<Output = TgResult<Vec<TgUpdate>>> + Send;
    /// Persists how far updates were handled, so the next start catches up from there.
    fn sync_updates(&self) -> impl Future<Output = TgResult<()>> + Send;
}

/// An account shared between its runner and a crawl of the same process.
impl<T: TelegramSource> TelegramSource for std::sync::Arc<T> {
    fn me(&self) -> impl Future<Output = TgResult<Me>> + Send {
        (**self).me()
    }
    fn resolve(&self, target: &Target) -> impl Future<Output = TgResult<Resolved>> + Send {
        (**self).resolve(target)
    }
    fn join(&self, invite_hash: &str) -> impl Future<Output = TgResult<ChatRef>> + Send {
        (**self).join(invite_hash)
    }
    fn chat_info(&self, chat: ChatRef) -> impl Future<Output = TgResult<ChatInfo>> + Send {
        (**self).chat_info(chat)
    }
    fn participants(
        &self,
        chat: ChatRef,
        filter: &ParticipantFilter,
        offset: u32,
        limit: u32,
    ) -> impl Future<Output = TgResult<ParticipantsPage>> + Send {
        (**self).participants(chat, filter, offset, limit)
    }
    fn history(&self, chat: ChatRef, offset_id: i32, limit: u32) -> impl Future<Output = TgResult<HistoryPage>> + Send {
        (**self).history(chat, offset_id, limit)
    }
    fn photo(&self, photo: PhotoRef) -> impl Future<Output = TgResult<(Vec<u8>, &'static str)>> + Send {
        (**self).photo(photo)
    }
}

/// Where an account's sign-in stands after a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    Done(Me),
    /// The account has two-step verification; the hint is the user's own.
    PasswordRequired {
        hint: Option<String>,
    },
}

/// Logging an account in: phone, code, then the 2FA password if the account has one.
pub trait Authenticator: Send + Sync {
    fn is_authorized(&self) -> impl Future<Output = TgResult<Option<Me>>> + Send;
    fn request_code(&self, phone: &str) -> impl Future<Output = TgResult<()>> + Send;
    fn sign_in(&self, code: &str) -> impl Future<Output = TgResult<SignIn>> + Send;
    fn check_password(&self, password: &str) -> impl Future<Output = TgResult<Me>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_from_every_form_users_paste() {
        let u = |s: &str| Target::Username(s.into());
        assert_eq!(Target::parse("@demo_small"), Ok(u("demo_small")));
        assert_eq!(Target::parse("demo_small"), Ok(u("demo_small")));
        assert_eq!(Target::parse("t.me/demo_small"), Ok(u("demo_small")));
        assert_eq!(Target::parse("https://t.me/demo_small/42"), Ok(u("demo_small")));
        assert_eq!(Target::parse("https://t.me/+demoinvite"), Ok(Target::Invite("demoinvite".into())));
        assert_eq!(Target::parse("t.me/joinchat/AbC-12_x"), Ok(Target::Invite("AbC-12_x".into())));
        assert!(Target::parse("https://t.me/+").is_err());
        assert!(Target::parse("not a target!").is_err());
        assert_eq!(Target::parse("@Demo_Small").map(|t| t.key()), Ok("@demo_small".to_string()));
    }
}
