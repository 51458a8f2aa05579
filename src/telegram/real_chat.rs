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
mod tests {
    use grammers_client::sender::RpcError;

    use super::*;

    #[test]
    fn the_saved_update_state_is_the_last_handed_updates_own() {
        let state = State { date: 7, seq: 3, message_box: Some(MessageBox::Common { pts: 42 }) };
        assert!(matches!(saved_state(&state), Some(UpdateState::Primary { pts: 42, date: 7, seq: 3 })));
        let channel = State { date: 1, seq: 0, message_box: Some(MessageBox::Channel { channel_id: 9, pts: 5 }) };
        assert!(matches!(saved_state(&channel), Some(UpdateState::Channel { id: 9, pts: 5 })));
        assert!(saved_state(&State { date: 1, seq: 1, message_box: None }).is_none(), "no box, nothing to save");
    }

    const ME: i64 = 1;
    const ANNA: i64 = 1001;
    const BOT: i64 = 1002;

    fn user(id: i64, bot: bool) -> tl::enums::User {
        tl::enums::User::User(tl::types::User {
            is_self: id == ME,
            contact: false,
            mutual_contact: false,
            deleted: false,
            bot,
            bot_chat_history: false,
            bot_nochats: false,
            verified: false,
            restricted: false,
            min: false,
            bot_inline_geo: false,
            support: false,
            scam: false,
            apply_min_photo: false,
            fake: false,
            bot_attach_menu: false,
            premium: false,
            attach_menu_enabled: false,
            bot_can_edit: false,
            close_friend: false,
            stories_hidden: false,
            stories_unavailable: false,
            contact_require_premium: false,
            bot_business: false,
            bot_has_main_app: false,
            bot_forum_view: false,
            bot_forum_can_manage_topics: false,
            bot_can_manage_bots: false,
            bot_guestchat: false,
            bot_guard: false,
            id,
            access_hash: Some(id * 7),
            first_name: Some("Anna".into()),
            last_name: Some("K".into()),
            username: Some("anna_k".into()),
            phone: Some("79990001122".into()),
            photo: None,
            status: None,
            bot_info_version: None,
            restriction_reason: None,
            bot_inline_placeholder: None,
            lang_code: Some("ru".into()),
            emoji_status: None,
            usernames: None,
            stories_max_id: None,
            color: None,
            profile_color: None,
            bot_active_users: None,
            bot_verification_icon: None,
            send_paid_messages_stars: None,
            linked_community_id: None,
        })
    }

    fn msg(id: i32, peer: tl::enums::Peer, out: bool, text: &str) -> tl::types::Message {
        tl::types::Message {
            out,
            mentioned: false,
            media_unread: false,
            silent: false,
            post: false,
            from_scheduled: false,
            legacy: false,
            edit_hide: false,
            pinned: false,
            noforwards: false,
            invert_media: false,
            offline: false,
            video_processing_pending: false,
            paid_suggested_post_stars: false,
            paid_suggested_post_ton: false,
            id,
            from_id: None,
            from_boosts_applied: None,
            from_rank: None,
            peer_id: peer,
            saved_peer_id: None,
            fwd_from: None,
            via_bot_id: None,
            via_business_bot_id: None,
            guestchat_via_from: None,
            reply_to: None,
            date: 1_700_000_000,
            message: text.into(),
            media: None,
            reply_markup: None,
            entities: None,
            views: None,
            forwards: None,
            replies: None,
            edit_date: None,
            post_author: None,
            grouped_id: None,
            reactions: None,
            restriction_reason: None,
            ttl_period: None,
            quick_reply_shortcut_id: None,
            effect: None,
            factcheck: None,
            report_delivery_until_date: None,
            paid_message_stars: None,
            suggested_post: None,
            schedule_repeat_period: None,
            summary_from_language: None,
            rich_message: None,
        }
    }

    fn with_user(id: i64) -> tl::enums::Peer {
        tl::enums::Peer::User(tl::types::PeerUser { user_id: id })
    }

    fn new_message(m: tl::types::Message) -> tl::enums::Update {
        tl::enums::Update::NewMessage(tl::types::UpdateNewMessage { message: m.into(), pts: 1, pts_count: 1 })
    }

    /// Converts with ME, ANNA and BOT in the update's users.
    fn conv(update: &tl::enums::Update) -> Option<TgUpdate> {
        let users = [user(ME, false), user(ANNA, false), user(BOT, true)];
        let find = |id: i64| users.iter().find(|u| matches!(u, tl::enums::User::User(x) if x.id == id));
        convert(update, &find, Some(ME))
    }

    fn anna() -> Member {
        member(&user(ANNA, false)).unwrap()
    }

    #[test]
    fn an_incoming_private_message_names_the_sender_with_their_access_hash() {
        let got = conv(&new_message(msg(42, with_user(ANNA), false, "hi there")));
        let want = TgMessage { id: 42, peer: anna(), out: false, text: "hi there".into(), at: 1_700_000_000_000 };
        assert_eq!(got, Some(TgUpdate::Message(want)));
        let Some(TgUpdate::Message(m)) = got else { unreachable!() };
        assert_eq!((m.peer.access_hash, m.peer.username.as_deref()), (Some(ANNA * 7), Some("anna_k")));
        assert_eq!((m.peer.phone.as_deref(), m.peer.lang_code.as_deref()), (Some("79990001122"), Some("ru")));
    }

    #[test]
    fn an_outgoing_message_sent_from_a_phone_names_the_recipient() {
        let mut m = msg(43, with_user(ANNA), true, "written on the phone");
        m.from_id = Some(with_user(ME));
        let Some(TgUpdate::Message(got)) = conv(&new_message(m)) else { panic!("an outgoing message is kept") };
        assert!(got.out);
        assert_eq!(got.peer, anna());
    }

    #[test]
    fn bots_groups_channels_saved_messages_service_and_empty_messages_are_dropped() {
        assert_eq!(conv(&new_message(msg(1, with_user(BOT), false, "/start"))), None);
        let group = tl::enums::Peer::Chat(tl::types::PeerChat { chat_id: 5 });
        assert_eq!(conv(&new_message(msg(2, group, false, "in a group"))), None);
        let channel = tl::enums::Peer::Channel(tl::types::PeerChannel { channel_id: 6 });
        let post = msg(3, channel, false, "a post");
        let in_channel = tl::enums::Update::NewChannelMessage(tl::types::UpdateNewChannelMessage {
            message: post.clone().into(),
            pts: 1,
            pts_count: 1,
        });
        assert_eq!(conv(&in_channel), None);
        assert_eq!(conv(&new_message(post)), None);
        assert_eq!(conv(&new_message(msg(4, with_user(ME), true, "a note to self"))), None);
        assert_eq!(conv(&new_message(msg(5, with_user(ANNA), false, ""))), None, "no text and no media");
        let service = tl::enums::Message::Service(tl::types::MessageService {
            out: false,
            mentioned: false,
            media_unread: false,
            reactions_are_possible: false,
            silent: false,
            post: false,
            legacy: false,
            id: 6,
            from_id: None,
            peer_id: with_user(ANNA),
            saved_peer_id: None,
            reply_to: None,
            date: 1_700_000_000,
            action: tl::enums::MessageAction::HistoryClear,
            reactions: None,
            ttl_period: None,
        });
        let service =
            tl::enums::Update::NewMessage(tl::types::UpdateNewMessage { message: service, pts: 1, pts_count: 1 });
        assert_eq!(conv(&service), None);
        let empty = tl::enums::Message::Empty(tl::types::MessageEmpty { id: 7, peer_id: None });
        let empty = tl::enums::Update::NewMessage(tl::types::UpdateNewMessage { message: empty, pts: 1, pts_count: 1 });
        assert_eq!(conv(&empty), None);
    }

    #[test]
    fn a_sender_missing_from_the_update_gets_a_bare_member_without_access_hash() {
        let Some(TgUpdate::Message(m)) = conv(&new_message(msg(8, with_user(2002), false, "short form"))) else {
            panic!("kept")
        };
        assert_eq!((m.peer.user_id, m.peer.access_hash, m.peer.username), (2002, None, None));
        // A min user's hash cannot address them.
        let tl::enums::User::User(mut min) = user(ANNA, false) else { unreachable!() };
        min.min = true;
        assert_eq!(member(&tl::enums::User::User(min)).map(|m| m.access_hash), Some(None));
    }

    #[test]
    fn a_message_without_text_shows_what_it_carries() {
        let mut voice = msg(9, with_user(ANNA), false, "");
        voice.media = Some(tl::enums::MessageMedia::Document(tl::types::MessageMediaDocument {
            nopremium: false,
            spoiler: false,
            video: false,
            round: false,
            voice: true,
            document: None,
            alt_documents: None,
            video_cover: None,
            video_timestamp: None,
            ttl_seconds: None,
        }));
        let Some(TgUpdate::Message(m)) = conv(&new_message(voice)) else { panic!("a voice reply is a reply") };
        assert_eq!(m.text, "[voice message]");
    }

    #[test]
    fn edits_deletions_and_read_receipts_convert() {
        let edit = tl::enums::Update::EditMessage(tl::types::UpdateEditMessage {
            message: msg(42, with_user(ANNA), false, "hi there, edited").into(),
            pts: 2,
            pts_count: 1,
        });
        let Some(TgUpdate::Edited(m)) = conv(&edit) else { panic!("an edit") };
        assert_eq!((m.id, m.text.as_str(), m.peer.user_id), (42, "hi there, edited", ANNA as u64));
        let deleted = |ids: Vec<i32>| {
            tl::enums::Update::DeleteMessages(tl::types::UpdateDeleteMessages { messages: ids, pts: 3, pts_count: 2 })
        };
        assert_eq!(conv(&deleted(vec![42, 43])), Some(TgUpdate::Deleted { ids: vec![42, 43] }));
        assert_eq!(conv(&deleted(Vec::new())), None, "what grammers makes of our own read receipts");
        let read = tl::enums::Update::ReadHistoryOutbox(tl::types::UpdateReadHistoryOutbox {
            peer: with_user(ANNA),
            max_id: 43,
            pts: 4,
            pts_count: 1,
        });
        assert_eq!(conv(&read), Some(TgUpdate::ReadOutbox { user_id: ANNA as u64, max_id: 43 }));
    }

    fn rpc(code: i32, name: &str) -> InvocationError {
        InvocationError::Rpc(RpcError { code, name: name.into(), value: None, caused_by: None })
    }

    #[test]
    fn each_send_reply_shape_gives_the_message_id() {
        const RANDOM: i64 = 0x5eed;
        const NOW: i64 = 1_800_000_000_000;
        let short = tl::enums::Updates::UpdateShortSentMessage(tl::types::UpdateShortSentMessage {
            out: true,
            id: 77,
            pts: 5,
            pts_count: 1,
            date: 1_700_000_100,
            media: None,
            entities: None,
            ttl_period: None,
        });
        assert_eq!(send_outcome(Ok(short), RANDOM, NOW), Ok(Sent::Message { id: 77, at: 1_700_000_100_000 }));
        let id = |id, random_id| tl::enums::Update::MessageId(tl::types::UpdateMessageId { id, random_id });
        let mut sent = msg(78, with_user(ANNA), true, "hello");
        sent.date = 1_700_000_200;
        let full = tl::enums::Updates::Updates(tl::types::Updates {
            updates: vec![id(11, RANDOM + 1), id(78, RANDOM), new_message(sent)],
            users: vec![user(ANNA, false)],
            chats: Vec::new(),
            date: 1_700_000_201,
            seq: 0,
        });
        assert_eq!(send_outcome(Ok(full), RANDOM, NOW), Ok(Sent::Message { id: 78, at: 1_700_000_200_000 }));
        let combined = |updates, date| {
            tl::enums::Updates::Combined(tl::types::UpdatesCombined {
                updates,
                users: Vec::new(),
                chats: Vec::new(),
                date,
                seq_start: 0,
                seq: 0,
            })
        };
        // Without the message itself: the reply's own date, else our clock.
        let no_message = combined(vec![id(79, RANDOM)], 1_700_000_300);
        assert_eq!(send_outcome(Ok(no_message), RANDOM, NOW), Ok(Sent::Message { id: 79, at: 1_700_000_300_000 }));
        assert_eq!(
            send_outcome(Ok(combined(vec![id(80, RANDOM)], 0)), RANDOM, NOW),
            Ok(Sent::Message { id: 80, at: NOW })
        );
        let other = combined(vec![id(81, RANDOM + 1)], 1_700_000_400);
        assert!(
            matches!(send_outcome(Ok(other), RANDOM, NOW), Err(TgError::Rpc(e)) if e.starts_with("SEND_UNCONFIRMED"))
        );
    }

    #[test]
    fn send_errors_map_to_what_the_runner_acts_on() {
        let send = |code, name: &str| send_outcome(Err(rpc(code, name)), 1, 0);
        assert_eq!(send(400, "RANDOM_ID_DUPLICATE"), Ok(Sent::AlreadySent));
        assert_eq!(send(400, "USER_IS_BLOCKED"), Err(TgError::UserBlocked));
        assert_eq!(send(400, "YOU_BLOCKED_USER"), Err(TgError::YouBlockedUser));
        let privacy = |name: &str| Err(TgError::PrivacyRestricted(name.into()));
        assert_eq!(send(403, "USER_PRIVACY_RESTRICTED"), privacy("USER_PRIVACY_RESTRICTED"));
        assert_eq!(send(403, "PRIVACY_PREMIUM_REQUIRED"), privacy("PRIVACY_PREMIUM_REQUIRED"));
        assert_eq!(send(400, "INPUT_USER_DEACTIVATED"), Err(TgError::UserDeactivated));
        assert_eq!(send(400, "PEER_FLOOD"), Err(TgError::PeerFlood));
        assert_eq!(send(400, "PEER_ID_INVALID"), Err(TgError::PeerInvalid));
        let flood =
            InvocationError::Rpc(RpcError { code: 420, name: "FLOOD_WAIT".into(), value: Some(9), caused_by: None });
        assert_eq!(send_outcome(Err(flood), 1, 0), Err(TgError::FloodWait(Duration::from_secs(9))));
        assert_eq!(map_chat_err(rpc(400, "PEER_ID_INVALID")), TgError::PeerInvalid);
        // The crawl still reads PEER_ID_INVALID as a chat that does not exist.
        assert_eq!(map_rpc("PEER_ID_INVALID", 400, None), TgError::NotFound);
        assert_eq!(map_rpc("USER_IS_BLOCKED", 400, None), TgError::UserBlocked);
    }

    #[test]
    fn resolving_a_username_answers_the_user_and_refuses_a_chat() {
        let resolved =
            |peer| tl::types::contacts::ResolvedPeer { peer, chats: Vec::new(), users: vec![user(ANNA, false)] };
        assert_eq!(resolved_user(&resolved(with_user(ANNA)), "anna_k"), Ok(anna()));
        assert_eq!(resolved_user(&resolved(with_user(3003)), "gone"), Err(TgError::NotFound));
        let channel = tl::enums::Peer::Channel(tl::types::PeerChannel { channel_id: 6 });
        assert!(matches!(resolved_user(&resolved(channel), "news"), Err(TgError::Rpc(_))));
    }
}
