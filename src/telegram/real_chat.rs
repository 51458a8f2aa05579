//! Private conversations on the real Telegram: [`Messenger`] for [`RealAccount`], and the pure
//! conversions from grammers' raw values, which the tests check without a network.
//!
//! Updates come from grammers' `UpdateStream::next_raw`, which has already turned Telegram's
//! short forms (`updateShortMessage`, `updateShortSentMessage`) into `UpdateNewMessage`
//! (grammers-session's message_box adaptor), so only the full forms are handled here. The stream
//! also carries the answers to this account's own requests: a send comes back as an outgoing
//! message, and a read receipt as an empty `UpdateDeleteMessages`.

use grammers_client::peer::Peer;
use grammers_client::sender::UpdatesConfiguration;
use grammers_session::types::{PeerId, PeerInfo, UpdateState};
use grammers_session::updates::{MessageBox, State};
use grammers_session::Session;

use super::*;

/// The update stream once started, with this account's own user id (its Saved Messages are not
/// a conversation).
pub(super) struct Live {
    stream: UpdateStream,
    me: Option<i64>,
    /// The update state after the last update handed to the runner: what `sync_updates` saves,
    /// once the runner has recorded it. (grammers' own `sync_update_state` would save the state
    /// of everything it received, buffered updates the runner never saw included.)
    handed: Option<State>,
}

/// Finds a user of the update's peer map by id.
type Users<'a> = dyn Fn(i64) -> Option<&'a tl::enums::User> + 'a;

fn user_peer(to: UserRef) -> tl::enums::InputPeer {
    tl::enums::InputPeer::User(tl::types::InputPeerUser { user_id: to.user_id as i64, access_hash: to.access_hash })
}

impl RealAccount {
    async fn start_stream(&self) -> TgResult<Live> {
        let Some(updates) = self.updates.lock().await.take() else {
            return Err(TgError::Rpc("UPDATES_UNAVAILABLE: the update stream failed to start; restart reach".into()));
        };
        // Catch-up fetches what arrived since the state `sync_updates` last saved.
        let stream = self
            .client
            .stream_updates(updates, UpdatesConfiguration { catch_up: true })
            .await
            .map_err(|e| TgError::Network(format!("update state: {e}")))?;
        let me = match self.session.peer(PeerId::self_user()).await {
            Ok(Some(PeerInfo::User { id, .. })) => Some(id),
            _ => None,
        };
        Ok(Live { stream, me, handed: None })
    }

    /// Fills in what the update's peer map lacked from the session's peer cache (a local read).
    /// False when the cache says the peer is a bot or this account.
    async fn complete(&self, update: &mut TgUpdate) -> bool {
        let (TgUpdate::Message(m) | TgUpdate::Edited(m)) = update else { return true };
        if m.peer.access_hash.is_some() {
            return true;
        }
        let Some(id) = PeerId::user(m.peer.user_id as i64) else { return true };
        if let Ok(Some(PeerInfo::User { auth, bot, is_self, .. })) = self.session.peer(id).await {
            if bot == Some(true) || is_self == Some(true) {
                return false;
            }
            m.peer.access_hash = auth.map(|a| a.hash());
        }
        true
    }
}

impl Messenger for RealAccount {
    async fn send(&self, to: UserRef, text: &str, random_id: i64) -> TgResult<Sent> {
        // Raw, because `Client::send_message` picks its own random id.
        let req = tl::functions::messages::SendMessage {
            no_webpage: true,
            silent: false,
            background: false,
            clear_draft: false,
            noforwards: false,
            update_stickersets_order: false,
            invert_media: false,
            allow_paid_floodskip: false,
            peer: user_peer(to),
            reply_to: None,
            message: text.to_string(),
            random_id,
            reply_markup: None,
            entities: None,
            schedule_date: None,
            schedule_repeat_period: None,
            send_as: None,
            quick_reply_shortcut: None,
            effect: None,
            allow_paid_stars: None,
            suggested_post: None,
            rich_message: None,
        };
        send_outcome(self.client.invoke(&req).await, random_id, chrono::Utc::now().timestamp_millis())
    }

    async fn resolve_user(&self, username: &str) -> TgResult<Member> {
        let name = username.trim().trim_start_matches('@');
        let req = tl::functions::contacts::ResolveUsername { username: name.to_string(), referer: None };
        let tl::enums::contacts::ResolvedPeer::Peer(r) = self.client.invoke(&req).await.map_err(map_err)?;
        resolved_user(&r, name)
    }

    async fn read_history(&self, to: UserRef, max_id: i32) -> TgResult<()> {
        let req = tl::functions::messages::ReadHistory { peer: user_peer(to), max_id };
        self.client.invoke(&req).await.map_err(map_chat_err)?;
        Ok(())
    }

    /// Holds the stream while it waits, so `sync_updates` waits for it. Not cancel-safe:
    /// grammers may lose updates it had taken from the network when this future is dropped.
    async fn next_updates(&self) -> TgResult<Vec<TgUpdate>> {
        let mut guard = self.stream.lock().await;
        let live = match &mut *guard {
            Some(live) => live,
            slot @ None => slot.insert(self.start_stream().await?),
        };
        loop {
            let (raw, state, peers) = live.stream.next_raw().await.map_err(map_err)?;
            // An update reach drops is handled too: saving a later state covers it.
            live.handed = Some(state);
            let users = |id: i64| match PeerId::user(id).and_then(|p| peers.get(p)) {
                Some(Peer::User(u)) => Some(&u.raw),
                _ => None,
            };
            let Some(mut update) = convert(&raw, &users, live.me) else { continue };
            if self.complete(&mut update).await {
                return Ok(vec![update]);
            }
        }
    }

    /// Saves the state after the last update handed over, which the runner calls only once it
    /// has recorded it: a crash loses nothing, and a restart catches up from there.
    async fn sync_updates(&self) -> TgResult<()> {
        let mut guard = self.stream.lock().await;
        let Some(state) = guard.as_mut().and_then(|live| live.handed.take()) else { return Ok(()) };
        let Some(update) = saved_state(&state) else { return Ok(()) };
        self.session.set_update_state(update).await.map_err(|e| TgError::Network(format!("update state: {e}")))
    }
}

/// The session's record of how far updates were handled, from one update's state.
fn saved_state(state: &State) -> Option<UpdateState> {
    Some(match state.message_box? {
        MessageBox::Common { pts } => UpdateState::Primary { pts, date: state.date, seq: state.seq },
        MessageBox::Secondary { qts } => UpdateState::Secondary { qts },
        MessageBox::Channel { channel_id, pts } => UpdateState::Channel { id: channel_id, pts },
    })
}

/// A messaging call's error. PEER_ID_INVALID here means our reference to the user is bad (the
/// crawl reads it as a chat that does not exist).
fn map_chat_err(e: InvocationError) -> TgError {
    match e {
        InvocationError::Rpc(rpc) if rpc.name == "PEER_ID_INVALID" => TgError::PeerInvalid,
        e => map_err(e),
    }
}

/// What `messages.sendMessage` answered, as reach's [`Sent`].
fn send_outcome(reply: Result<tl::enums::Updates, InvocationError>, random_id: i64, now_ms: i64) -> TgResult<Sent> {
    match reply {
        Err(InvocationError::Rpc(rpc)) if rpc.name == "RANDOM_ID_DUPLICATE" => Ok(Sent::AlreadySent),
        Err(e) => Err(map_chat_err(e)),
        // Sending again with the same random id is safe: Telegram answers RANDOM_ID_DUPLICATE.
        Ok(updates) => sent_from(&updates, random_id, now_ms)
            .ok_or_else(|| TgError::Rpc("SEND_UNCONFIRMED: the reply named no message for our random id".into())),
    }
}

fn sent_from(updates: &tl::enums::Updates, random_id: i64, now_ms: i64) -> Option<Sent> {
    let (list, date) = match updates {
        tl::enums::Updates::UpdateShortSentMessage(u) => return Some(Sent::Message { id: u.id, at: ms(u.date) }),
        tl::enums::Updates::Updates(u) => (&u.updates, u.date),
        tl::enums::Updates::Combined(u) => (&u.updates, u.date),
        _ => return None,
    };
    let id = list.iter().find_map(|u| match u {
        tl::enums::Update::MessageId(m) if m.random_id == random_id => Some(m.id),
        _ => None,
    })?;
    let sent = list.iter().find_map(|u| match u {
        tl::enums::Update::NewMessage(n) => match &n.message {
            tl::enums::Message::Message(m) if m.id == id => Some(m.date),
            _ => None,
        },
        _ => None,
    });
    let at = sent.or((date > 0).then_some(date)).map_or(now_ms, ms);
    Some(Sent::Message { id, at })
}

fn resolved_user(r: &tl::types::contacts::ResolvedPeer, name: &str) -> TgResult<Member> {
    match &r.peer {
        tl::enums::Peer::User(p) => {
            r.users.iter().filter_map(member).find(|m| m.user_id == p.user_id as u64).ok_or(TgError::NotFound)
        }
        _ => Err(TgError::Rpc(format!("@{name} is a group or channel, not a user"))),
    }
}

fn ms(unix_seconds: i32) -> i64 {
    i64::from(unix_seconds) * 1000
}

/// One raw update as what reach acts on, or None for everything it ignores.
fn convert<'a>(update: &tl::enums::Update, users: &Users<'a>, me: Option<i64>) -> Option<TgUpdate> {
    match update {
        tl::enums::Update::NewMessage(u) => message(&u.message, users, me).map(TgUpdate::Message),
        tl::enums::Update::EditMessage(u) => message(&u.message, users, me).map(TgUpdate::Edited),
        // grammers turns the answer to our own read receipts into an empty deletion.
        tl::enums::Update::DeleteMessages(u) if !u.messages.is_empty() => {
            Some(TgUpdate::Deleted { ids: u.messages.clone() })
        }
        tl::enums::Update::ReadHistoryOutbox(u) => match &u.peer {
            tl::enums::Peer::User(p) => Some(TgUpdate::ReadOutbox { user_id: p.user_id as u64, max_id: u.max_id }),
            _ => None,
        },
        _ => None,
    }
}

fn message<'a>(m: &tl::enums::Message, users: &Users<'a>, me: Option<i64>) -> Option<TgMessage> {
    // Empty and service messages (pins, calls, joins) are not conversation.
    let tl::enums::Message::Message(m) = m else { return None };
    // In a private chat peer_id is the other side, whichever way the message went.
    let tl::enums::Peer::User(p) = &m.peer_id else { return None };
    if me == Some(p.user_id) {
        return None;
    }
    let found = users(p.user_id);
    if let Some(tl::enums::User::User(u)) = found {
        if u.bot || u.is_self {
            return None;
        }
    }
    let text = if m.message.is_empty() { media_label(m.media.as_ref()?)?.to_string() } else { m.message.clone() };
    // Not in the map (a short update names only the id): the caller looks in the session.
    let peer = found.and_then(member).unwrap_or_else(|| Member {
        user_id: p.user_id as u64,
        username: None,
        first_name: String::new(),
        last_name: String::new(),
        phone: None,
        lang_code: None,
        bot: false,
        deleted: false,
        photo: None,
        access_hash: None,
    });
    Some(TgMessage { id: m.id, peer, out: m.out, text, at: ms(m.date) })
}

/// What a message without text carries, so a reply by sticker or voice still shows as a reply.
fn media_label(media: &tl::enums::MessageMedia) -> Option<&'static str> {
    use tl::enums::MessageMedia as M;
    Some(match media {
        M::Empty => return None,
        M::Photo(_) => "[photo]",
        M::Document(d) if d.voice => "[voice message]",
        M::Document(d) if d.round => "[video message]",
        M::Document(d) if d.video => "[video]",
        M::Document(d) if is_sticker(d) => "[sticker]",
        M::Document(_) => "[file]",
        M::Geo(_) | M::GeoLive(_) | M::Venue(_) => "[location]",
        M::Contact(_) => "[contact]",
        M::Poll(_) => "[poll]",
        _ => "[media]",
    })
}

fn is_sticker(d: &tl::types::MessageMediaDocument) -> bool {
    match &d.document {
        Some(tl::enums::Document::Document(doc)) => {
            doc.attributes.iter().any(|a| matches!(a, tl::enums::DocumentAttribute::Sticker(_)))
        }
        _ => false,
    }
}

#[cfg(test)]
#[path = "real_chat_tests.rs"]
mod tests;
