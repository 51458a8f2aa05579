//! Conversations in the TUI: the detail's tabs and thread, marking read, the inbox, the
//! composer, do-not-contact and the runners in the status bar; `update` tests and snapshots.

use super::*;
use crate::crawl::account::{AccountRecord, RunnerHealth, RunnerState};
use crate::model::{BlockCause, CantMessage, Delivery, Direction, Flag, Message};
use crate::tui::model::DetailTab;
use crate::tui::panels::composer::Composer;

/// The clock of these tests: an hour after the fixtures were made.
const NOW: i64 = T0 + 3_600_000;

/// 1 is blocked (it blocked us), 2 has two unread messages, 3 never talked, 4 wrote last.
fn talking_leads() -> Vec<Lead> {
    let mut leads = fixtures();
    leads[0].status = Status::Blocked;
    leads[0].conversation.blocked_by = Some(BlockCause::TheyBlockedUs);
    let c = &mut leads[1].conversation;
    (c.unread, c.received, c.sent, c.last_message_at) = (2, 2, 3, Some(T0 + 20 * 60_000));
    let mut olga = lead(4, "Olga", "K", "olga_k", "", &[]);
    (olga.conversation.unread, olga.conversation.received) = (1, 1);
    olga.conversation.last_message_at = Some(T0 + 30 * 60_000);
    leads.push(olga);
    leads
}

fn talking_lead(id: u64) -> Lead {
    talking_leads().into_iter().find(|l| l.id == id).expect("a talking lead")
}

fn sender(name: &str, health: Option<RunnerHealth>) -> AccountRecord {
    let me = crate::telegram::Me { user_id: 1, username: None, first_name: name.into() };
    let backend = crate::config::TelegramBackend::Simulated;
    let mut rec = crate::crawl::account::new_record(name, "+15550001", backend, me, "u:me", "me");
    rec.added_at = T0;
    let holder = crate::store::Holder { run: 1, by: "me".into(), pid: 1, host: String::new() };
    rec.runner = health.map(|health| RunnerState {
        holder,
        process: "listen".into(),
        since: NOW - 60_000,
        heartbeat: NOW - 1_000,
        health,
    });
    rec
}

/// The talking leads loaded, with two accounts: demo-1 connected, demo-2 without a runner.
fn talking() -> Model {
    let mut m = Model::new(place(), "me".into());
    m.now = NOW;
    let leads = Rows::from_leads(&talking_leads());
    let facets = leads.facet_counts();
    update(&mut m, Event::Msg(Msg::Loaded { generation: 0, place: place(), scope: scope(), leads, facets }));
    let accounts = vec![sender("demo-1", Some(RunnerHealth::Connected)), sender("demo-2", None)];
    update(&mut m, Event::Msg(Msg::Senders { generation: 0, accounts }));
    m
}

/// Moves the cursor to lead `id` and reads it, as the detail worker would answer.
fn select(m: &mut Model, id: u64) -> Vec<Effect> {
    let at = m.order.iter().position(|x| *x == id).expect("in the list");
    m.move_cursor(at as isize);
    update(m, Event::Msg(Msg::Detail { lead: Box::new(talking_lead(id)), entries: Vec::new() }))
}

fn ctrl(c: char) -> Event {
    Event::Term(TermEvent::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL)))
}

fn message(id: u64, direction: Direction, text: &str, minute: i64, delivery: Delivery) -> Message {
    Message {
        id,
        lead: 2,
        account: "demo-1".into(),
        direction,
        text: text.into(),
        at: T0 + minute * 60_000,
        tg_id: Some(id as i32),
        delivery,
        random_id: 0,
        by: if direction == Direction::Out { "me".into() } else { "demo-1".into() },
        campaign: None,
        edited: false,
        deleted: false,
    }
}

/// A thread with Anna: both ways, a read tick, an edit, a failure with its reason, one queued.
fn anna_thread() -> Vec<Message> {
    use Direction::{In, Out};
    let mut edited = message(3, In, "Sure, Thursday works. Morning or afternoon is fine.", 10, Delivery::Received);
    edited.edited = true;
    let mut failed = message(
        5,
        Out,
        "Here is the link",
        15,
        Delivery::Failed("USER_PRIVACY_RESTRICTED: their privacy settings refuse messages".into()),
    );
    failed.account = "demo-2".into();
    vec![
        message(1, In, "Hi! I saw your post in Rust Moscow. Are you still hiring?", 5, Delivery::Received),
        message(2, Out, "Yes, we are. Would you have time for a call this week?", 7, Delivery::Read),
        edited,
        message(4, Out, "Great, I'll send an invite.\nTalk soon!", 12, Delivery::Sent),
        failed,
        message(6, Out, "Ping", 20, Delivery::Queued),
    ]
}

/// Lead 2's Messages tab open, its thread read.
fn anna_messages() -> Model {
    let mut m = talking();
    select(&mut m, 2);
    update(&mut m, key(KeyCode::Enter));
    update(&mut m, ch(']'));
    update(&mut m, ch(']'));
    assert_eq!(m.detail_tab, DetailTab::Messages);
    update(&mut m, Event::Msg(Msg::Thread { lead: 2, messages: Ok(anna_thread()) }));
    m
}

#[test]
fn a_blocked_lead_is_told_why_instead_of_opening_the_composer() {
    let mut m = talking();
    select(&mut m, 1);
    assert!(update(&mut m, ch('m')).is_empty());
    assert_eq!(m.popup, None);
    let (text, error) = m.message.clone().expect("a reason");
    assert!(error && text.contains("blocked our account (USER_IS_BLOCKED)"), "{text}");
    // Archived and do-not-contact leads likewise.
    let mut archived = talking_lead(3);
    archived.status = Status::Archived;
    changed(&mut m, vec![archived.clone()]);
    select(&mut m, 3);
    update(&mut m, Event::Msg(Msg::Detail { lead: Box::new(archived), entries: Vec::new() }));
    update(&mut m, ch('m'));
    assert!(m.popup.is_none() && m.message.as_ref().is_some_and(|(t, _)| t.contains("the lead is archived")));
}

#[test]
fn m_on_an_active_lead_opens_the_composer_from_a_live_account() {
    let mut m = talking();
    select(&mut m, 3);
    assert!(update(&mut m, ch('m')).is_empty());
    let Some(Popup::Compose(c)) = &m.popup else { panic!("the composer: {:?}", m.message) };
    assert_eq!((c.lead, c.to.as_str(), c.account()), (3, "陈 伟", Some("demo-1")));
    assert_eq!(c.accounts, ["demo-1", "demo-2"]);
    // No account in the workspace: said, not opened.
    update(&mut m, key(KeyCode::Esc));
    update(&mut m, Event::Msg(Msg::Senders { generation: 0, accounts: vec![] }));
    update(&mut m, ch('m'));
    assert!(m.popup.is_none());
    assert!(m.message.as_ref().is_some_and(|(t, e)| *e && t.contains("no Telegram account serves this workspace")));
}

#[test]
fn m_before_the_lead_is_read_opens_the_composer_when_it_arrives() {
    let mut m = talking();
    update(&mut m, ch('j'));
    assert_eq!(m.selected().map(|r| r.id), Some(3));
    assert_eq!(update(&mut m, ch('m')), vec![Effect::LoadDetail(3)]);
    assert!(m.popup.is_none());
    update(&mut m, Event::Msg(Msg::Detail { lead: Box::new(talking_lead(3)), entries: Vec::new() }));
    assert!(matches!(&m.popup, Some(Popup::Compose(c)) if c.lead == 3));
    // For the blocked lead, the answer is the reason, not the composer.
    update(&mut m, key(KeyCode::Esc));
    update(&mut m, key(KeyCode::End));
    assert_eq!(update(&mut m, ch('m')), vec![Effect::LoadDetail(1)]);
    update(&mut m, Event::Msg(Msg::Detail { lead: Box::new(talking_lead(1)), entries: Vec::new() }));
    assert!(m.popup.is_none() && m.message.as_ref().is_some_and(|(t, _)| t.contains("USER_IS_BLOCKED")));
}

#[test]
fn sending_emits_the_enqueue_effect_and_the_answer_closes_the_composer() {
    let mut m = talking();
    select(&mut m, 3);
    update(&mut m, ch('m'));
    assert!(update(&mut m, ctrl('s')).is_empty(), "nothing to send yet");
    assert!(matches!(&m.popup, Some(Popup::Compose(c)) if c.error.as_deref() == Some("a message needs some text")));
    type_text(&mut m, "Hello");
    update(&mut m, key(KeyCode::Enter));
    type_text(&mut m, "nice to meet you");
    update(&mut m, key(KeyCode::Tab));
    update(&mut m, key(KeyCode::BackTab));
    let effects = update(&mut m, ctrl('s'));
    let want = Effect::SendMessage { lead: 3, account: "demo-1".into(), text: "Hello\nnice to meet you".into() };
    assert_eq!(effects, vec![want]);
    assert!(update(&mut m, ctrl('s')).is_empty(), "one send at a time");
    // The store refuses: the composer says why and keeps the text.
    update(&mut m, Event::Msg(Msg::SendRefused("lead \"#3\": the lead is archived".into())));
    let Some(Popup::Compose(c)) = &m.popup else { panic!("still open") };
    assert!(!c.sending && c.error.as_deref() == Some("lead \"#3\": the lead is archived"));
    assert_eq!(c.editor.text(), "Hello\nnice to meet you");
    // Queued: the composer closes and the thread shows it.
    update(&mut m, key(KeyCode::Tab));
    let effects = update(&mut m, ctrl('s'));
    assert!(matches!(effects.as_slice(), [Effect::SendMessage { account, .. }] if account == "demo-2"));
    let effects = update(&mut m, Event::Msg(Msg::Queued { lead: 3, account: "demo-2".into(), id: 7 }));
    assert!(m.popup.is_none());
    assert!(m.detail_open && m.detail_tab == DetailTab::Messages);
    assert_eq!(effects, vec![Effect::LoadThread(3)]);
    assert!(m.message.as_ref().is_some_and(|(t, e)| !e && t.contains("#7 queued from demo-2")));
}

#[test]
fn a_closed_composer_keeps_its_text_for_the_same_lead() {
    let mut m = talking();
    select(&mut m, 3);
    update(&mut m, ch('m'));
    type_text(&mut m, "half a thought");
    update(&mut m, key(KeyCode::Esc));
    assert!(m.popup.is_none() && m.draft.is_some());
    update(&mut m, ch('m'));
    assert!(matches!(&m.popup, Some(Popup::Compose(c)) if c.editor.text() == "half a thought"));
    assert!(m.draft.is_none(), "the draft is in the composer again");
}

#[test]
fn opening_messages_with_unread_marks_them_read_once_per_arrival() {
    let mut m = talking();
    select(&mut m, 2);
    update(&mut m, key(KeyCode::Enter));
    assert_eq!(m.detail_tab, DetailTab::Profile);
    assert!(update(&mut m, ch(']')).is_empty(), "the Activity tab reads nothing more");
    let effects = update(&mut m, ch(']'));
    assert_eq!(effects, vec![Effect::LoadThread(2), Effect::MarkRead { lead: 2, receipt: true }]);
    update(&mut m, ch('['));
    assert!(update(&mut m, ch(']')).is_empty(), "asked once");
    // A new message while the thread is open is read too.
    let mut newer = talking_lead(2);
    newer.conversation.unread = 3;
    newer.conversation.last_message_at = Some(T0 + 40 * 60_000);
    newer.updated_at += 1;
    let effects = changed(&mut m, vec![newer]);
    assert!(effects.contains(&Effect::MarkRead { lead: 2, receipt: true }), "{effects:?}");
    // Without read receipts, only reach's own count is cleared.
    let mut m = talking();
    m.read_receipts = false;
    select(&mut m, 2);
    update(&mut m, key(KeyCode::Enter));
    let effects = update(&mut m, ch('['));
    assert_eq!(
        effects,
        vec![Effect::LoadThread(2), Effect::MarkRead { lead: 2, receipt: false }],
        "[ wraps to Messages"
    );
}

#[test]
fn the_thread_is_read_again_when_the_feed_says_it_changed() {
    let mut m = anna_messages();
    assert_eq!(update(&mut m, Event::Msg(Msg::ThreadsChanged(vec![2]))), vec![Effect::LoadThread(2)]);
    assert!(update(&mut m, Event::Msg(Msg::ThreadsChanged(vec![9]))).is_empty(), "another lead's thread");
    update(&mut m, Event::Msg(Msg::Thread { lead: 2, messages: Ok(anna_thread()) }));
    // Hidden, a changed thread is forgotten, and read when it shows again.
    update(&mut m, ch('['));
    assert!(update(&mut m, Event::Msg(Msg::ThreadsChanged(vec![2]))).is_empty());
    assert!(m.thread.is_none());
    assert_eq!(update(&mut m, ch(']')), vec![Effect::LoadThread(2)]);
    // A thread read for a lead no longer selected is not shown.
    update(&mut m, ch('j'));
    update(&mut m, Event::Msg(Msg::Thread { lead: 2, messages: Ok(anna_thread()) }));
    assert!(m.thread.as_ref().is_none_or(|t| t.lead != 2));
}

#[test]
fn the_thread_scrolls_back_by_pages_of_messages() {
    let mut m = anna_messages();
    assert_eq!(m.focus, Focus::Detail);
    update(&mut m, key(KeyCode::PageUp));
    assert_eq!(m.thread_scroll, 5);
    update(&mut m, key(KeyCode::PageUp));
    assert_eq!(m.thread_scroll, 5, "the oldest message stays in view");
    assert_eq!(m.selected().map(|r| r.id), Some(2), "the list did not page");
    assert!(render(&m, 80, 24).contains("↓ 5 newer (PgDn)"));
    update(&mut m, key(KeyCode::PageDown));
    assert_eq!(m.thread_scroll, 0);
}

#[test]
fn the_inbox_key_toggles_the_unread_filter_newest_message_first() {
    let mut m = talking();
    assert_eq!(m.order, vec![4, 3, 2, 1]);
    assert_eq!(m.facets.get(&Facet::Flag(Flag::Unread)), Some(&2));
    update(&mut m, ch('I'));
    assert!(m.inbox && m.filter.flags == [Flag::Unread]);
    assert_eq!(m.order, vec![4, 2], "unread leads, newest message first");
    // The facet in the filter pane is the same switch.
    update(&mut m, key(KeyCode::Tab));
    let at = m.facet_rows().iter().position(|(f, _)| *f == Facet::Flag(Flag::Unread)).unwrap();
    m.facet_cursor = at;
    update(&mut m, ch(' '));
    assert!(!m.inbox && m.filter.flags.is_empty());
    assert_eq!(m.order, vec![4, 3, 2, 1]);
    update(&mut m, ch(' '));
    assert!(m.inbox);
    update(&mut m, key(KeyCode::Tab));
    update(&mut m, ch('I'));
    assert!(!m.inbox && m.filter.flags.is_empty(), "pressed again, the inbox is left");
}

#[test]
fn reading_in_the_inbox_keeps_the_lead_listed_instead_of_walking_the_cursor_through_it() {
    let mut m = talking();
    update(&mut m, ch('I'));
    let effects = update(&mut m, key(KeyCode::Enter));
    assert_eq!(m.detail_tab, DetailTab::Messages, "from the inbox a lead opens on its thread");
    assert!(effects.contains(&Effect::MarkRead { lead: 4, receipt: true }), "{effects:?}");
    // The store marks it read: it stays listed and selected, and nothing else is marked read.
    let mut read = talking_lead(4);
    read.conversation.unread = 0;
    let effects = changed(&mut m, vec![read]);
    assert_eq!(m.order, vec![4, 2]);
    assert_eq!(m.selected().map(|r| r.id), Some(4));
    assert!(!effects.iter().any(|e| matches!(e, Effect::MarkRead { .. })), "{effects:?}");
    // Reading the next one lets the first go.
    let effects = update(&mut m, ch('j'));
    assert!(effects.contains(&Effect::MarkRead { lead: 2, receipt: true }), "{effects:?}");
    assert_eq!(m.order, vec![2]);
    assert_eq!(m.selected().map(|r| r.id), Some(2));
}

#[test]
fn do_not_contact_toggles_on_the_selected_lead() {
    let mut m = talking();
    select(&mut m, 3);
    assert_eq!(update(&mut m, ch('N')), vec![Effect::DoNotContact { id: 3, value: true }]);
    let mut marked = talking_lead(3);
    marked.conversation.do_not_contact = true;
    changed(&mut m, vec![marked]);
    assert_eq!(update(&mut m, ch('N')), vec![Effect::DoNotContact { id: 3, value: false }]);
}

#[test]
fn a_tab_key_opens_the_detail_on_that_tab() {
    let mut m = talking();
    assert!(!m.detail_open);
    assert_eq!(update(&mut m, ch(']')), vec![Effect::LoadDetail(4)]);
    assert!(m.detail_open && m.detail_tab == DetailTab::Activity);
    update(&mut m, ch('['));
    update(&mut m, ch('['));
    assert_eq!(m.detail_tab, DetailTab::Messages, "the tabs wrap around");
}

#[test]
fn snapshot_the_messages_tab() {
    let m = anna_messages();
    let wide = render(&m, 200, 50);
    for shown in [
        "✓✓ read",
        "✗ failed",
        "✗ USER_PRIVACY_RESTRICTED: their privacy",
        "◷ queued",
        "✓ sent",
        "· edited",
        "Talk soon!",
    ] {
        assert!(wide.contains(shown), "{shown}:\n{wide}");
    }
    insta::assert_snapshot!("messages_80x24", render(&m, 80, 24));
    insta::assert_snapshot!("messages_200x50", wide);
}

#[test]
fn snapshot_the_profile_and_activity_tabs_of_a_blocked_lead() {
    let mut m = talking();
    let mut l = talking_lead(1);
    l.conversation.do_not_contact = true;
    l.conversation.cant_message = Some(CantMessage::Privacy);
    (l.conversation.received, l.conversation.sent) = (1, 4);
    changed(&mut m, vec![l.clone()]);
    let at = m.order.iter().position(|x| *x == 1).unwrap();
    m.move_cursor(at as isize);
    update(&mut m, key(KeyCode::Enter));
    let entries = vec![
        l.created_entry(),
        Activity {
            at: T0 + 600_000,
            actor: "demo-1".into(),
            kind: ActivityKind::StatusChanged { from: Status::Active, to: Status::Blocked },
        },
    ];
    update(&mut m, Event::Msg(Msg::Detail { lead: Box::new(l), entries }));
    insta::assert_snapshot!("profile_blocked_200x50", render(&m, 200, 50));
    update(&mut m, ch(']'));
    insta::assert_snapshot!("activity_80x24", render(&m, 80, 24));
}

#[test]
fn snapshot_the_composer() {
    let mut m = talking();
    select(&mut m, 3);
    update(&mut m, ch('m'));
    type_text(&mut m, "Hello! We met at Rust Moscow last week.");
    update(&mut m, key(KeyCode::Enter));
    update(&mut m, key(KeyCode::Enter));
    type_text(&mut m, "Would you like to talk about the role?");
    insta::assert_snapshot!("composer_80x24", render(&m, 80, 24));
    update(&mut m, key(KeyCode::Tab));
    insta::assert_snapshot!("composer_no_runner_200x50", render(&m, 200, 50));
}

/// The status bar alone, `width` columns wide.
fn status_bar(m: &Model, width: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(width, 1)).unwrap();
    t.draw(|f| ui::status::draw(m, f, f.area())).unwrap();
    t.backend().to_string()
}

#[test]
fn snapshot_the_status_bar_with_each_accounts_runner() {
    let mut m = talking();
    let flood = RunnerHealth::FloodWait { until: NOW + 125_000 };
    let mut stale = sender("old-1", Some(RunnerHealth::Connected));
    if let Some(r) = stale.runner.as_mut() {
        r.heartbeat = NOW - 60_000;
    }
    let accounts = vec![sender("demo-1", Some(RunnerHealth::Connected)), sender("demo-2", Some(flood)), stale];
    update(&mut m, Event::Msg(Msg::Senders { generation: 0, accounts }));
    let wide = status_bar(&m, 200);
    assert!(wide.contains("demo-1 connected · demo-2 flood wait 2m · old-1 no runner"), "{wide}");
    insta::assert_snapshot!("status_runners_200x1", wide);
    let mut more = m.senders.clone();
    more.push(sender("demo-4", Some(RunnerHealth::NeedsLogin)));
    more.push(sender("demo-5", Some(RunnerHealth::Connecting)));
    let mut limited = sender("demo-6", Some(RunnerHealth::Connected));
    limited.limited_since = Some(T0);
    more.push(limited);
    update(&mut m, Event::Msg(Msg::Senders { generation: 0, accounts: more }));
    let narrow = status_bar(&m, 120);
    assert!(
        narrow.contains("demo-1 up · demo-2 flood · old-1 off · demo-4 login · demo-5 … · demo-6 limited"),
        "{narrow}"
    );
    insta::assert_snapshot!("status_runners_120x1", narrow);
    // Accounts read for an older load are not this view's.
    update(&mut m, Event::Msg(Msg::Senders { generation: 7, accounts: vec![] }));
    assert_eq!(m.senders.len(), 6);
}

#[test]
fn snapshot_the_inbox() {
    let mut m = talking();
    update(&mut m, ch('I'));
    let screen = render(&m, 200, 50);
    assert!(screen.contains("Olga K [1]") && screen.contains("Anna Smith [2]"), "{screen}");
    insta::assert_snapshot!("inbox_200x50", screen);
}

#[test]
fn snapshot_the_composer_among_every_popup() {
    let mut m = talking();
    m.popup = Some(Popup::Compose(Box::new(Composer::new(2, "Anna Smith".into(), vec!["demo-1".into()], 0))));
    insta::assert_snapshot!("popup_compose_80x24", render(&m, 80, 24));
}

#[test]
fn runners_heartbeats_recheck_the_open_accounts_panel_at_most_every_thirty_seconds() {
    use crate::store::RecordKind;
    let mut m = loaded();
    m.now = 1_000_000;
    assert_eq!(update(&mut m, ch('A')), vec![Effect::LoadAccounts]);
    update(&mut m, Event::Msg(Msg::Accounts(vec![])));
    let beat = || Event::Msg(Msg::RecordsChanged(vec![RecordKind::Account]));
    assert_eq!(update(&mut m, beat()), vec![Effect::LoadAccounts], "the first change rechecks");
    update(&mut m, Event::Msg(Msg::Accounts(vec![])));
    m.now += 5_000;
    assert!(update(&mut m, beat()).is_empty(), "a heartbeat 5 s later does not");
    m.now += 30_000;
    assert_eq!(update(&mut m, beat()), vec![Effect::LoadAccounts]);
}
