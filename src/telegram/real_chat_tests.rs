//! The conversions from grammers' raw values, over hand-built `tl` values: no network.

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
    let service = tl::enums::Update::NewMessage(tl::types::UpdateNewMessage { message: service, pts: 1, pts_count: 1 });
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
    assert_eq!(send_outcome(Ok(combined(vec![id(80, RANDOM)], 0)), RANDOM, NOW), Ok(Sent::Message { id: 80, at: NOW }));
    let other = combined(vec![id(81, RANDOM + 1)], 1_700_000_400);
    assert!(matches!(send_outcome(Ok(other), RANDOM, NOW), Err(TgError::Rpc(e)) if e.starts_with("SEND_UNCONFIRMED")));
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
    let resolved = |peer| tl::types::contacts::ResolvedPeer { peer, chats: Vec::new(), users: vec![user(ANNA, false)] };
    assert_eq!(resolved_user(&resolved(with_user(ANNA)), "anna_k"), Ok(anna()));
    assert_eq!(resolved_user(&resolved(with_user(3003)), "gone"), Err(TgError::NotFound));
    let channel = tl::enums::Peer::Channel(tl::types::PeerChannel { channel_id: 6 });
    assert!(matches!(resolved_user(&resolved(channel), "news"), Err(TgError::Rpc(_))));
}
