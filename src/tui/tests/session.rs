//! The whole session on a test backend, over a real store and the process's kind of runtime: the
//! executor, its workers and the shared set its leads come from.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

use crate::model::{LeadInput, Source};
use crate::store::{OrgOp, Store, WriteCtx, WriteOp};
use crate::tui::effects::{Executor, SearchJob, Settings};
use crate::tui::rows::Rows;
use crate::tui::{Effect, Event, Model, Msg, Session};
use crate::workspace::{Role, View, Workspace};

fn settings(dir: &std::path::Path) -> Settings {
    Settings {
        telegram: crate::crawl::backend::Telegram {
            backend: crate::config::TelegramBackend::Simulated,
            config: Default::default(),
            data_dir: dir.to_path_buf(),
        },
        pacing: crate::crawl::pool::Pacing { interval: Duration::from_millis(1), jitter: Duration::ZERO },
        history_depth: 0,
        cache_ttl: Duration::from_secs(3600),
        default_region: None,
        local_files: true,
        live: Default::default(),
    }
}

fn add(store: &Store, ws: &str, actor: &str, username: &str) -> u64 {
    let c = LeadInput { username: Some(username.into()), ..Default::default() }.validate(Source::Manual, None).unwrap();
    let ctx = WriteCtx { workspace: ws.into(), actor: actor.into() };
    store.write_one(ctx, WriteOp::Upsert(c)).unwrap().id().expect("created")
}

fn start(rt: &tokio::runtime::Runtime, dir: &std::path::Path, store: &Store, user: &str, ws: Workspace) -> Session {
    Session::start(rt.handle().clone(), store.clone(), user.into(), ws, View::Own, Default::default(), settings(dir))
}

fn press(s: &Session, c: KeyCode) {
    s.events().send(Event::Term(TermEvent::Key(KeyEvent::new(c, KeyModifiers::NONE)))).unwrap();
}

fn type_text(s: &Session, text: &str) {
    text.chars().for_each(|c| press(s, KeyCode::Char(c)));
}

/// Runs the session until `until` holds (true) or 20 s pass (false). A ticker keeps the loop
/// turning, so the deadline is seen even when nothing else happens.
fn drive(s: &mut Session, mut until: impl FnMut(&Model) -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    let stop = Arc::new(AtomicBool::new(false));
    {
        let (tx, stop) = (s.events(), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(10));
                if tx.send(Event::Term(TermEvent::FocusGained)).is_err() {
                    return;
                }
            }
        });
    }
    let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
    let mut met = false;
    s.run_on(&mut terminal, &mut |m| {
        met = until(m);
        !met && Instant::now() < deadline
    })
    .unwrap();
    stop.store(true, Ordering::Relaxed);
    met
}

fn loaded(m: &Model) -> bool {
    !m.loading
}

#[test]
fn writes_from_one_session_commit_in_the_order_they_were_made() {
    let rt = crate::jobs::runtime().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).unwrap();
    let id = add(&store, "u:me", "me", "order_test");
    let mut s = start(&rt, dir.path(), &store, "me", Workspace::Personal("me".into()));
    assert!(drive(&mut s, loaded));
    // Twenty tag edits typed faster than they commit: +flip, -flip, … and a last +flip.
    for round in 0..21 {
        press(&s, KeyCode::Char('t'));
        type_text(&s, if round % 2 == 0 { "+flip" } else { "-flip" });
        press(&s, KeyCode::Enter);
    }
    let history = |store: &Store| {
        let lead = store.get("u:me", id).unwrap().unwrap();
        (lead.tags.contains("flip"), store.history(&lead).unwrap().len())
    };
    let before = history(&store).1;
    assert!(drive(&mut s, |_| history(&store).1 >= before + 21), "every edit committed");
    assert_eq!(history(&store), (true, before + 21), "the last edit made is the last committed");
    assert!(drive(&mut s, |m| m.leads.get(id).is_some_and(|r| r.tags().count() == 1)), "and the list shows it");
}

#[test]
fn an_effect_refused_on_the_ui_thread_is_told_at_once_not_sent_into_the_full_channel() {
    let rt = crate::jobs::runtime().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).unwrap();
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let mut exec = Executor::start(
        rt.handle().clone(),
        store,
        "me".into(),
        &Workspace::Personal("me".into()),
        settings(dir.path()),
        tx.clone(),
    );
    // The UI's channel is full: nothing drains it while the UI thread performs an effect.
    while tx.try_send(Event::Term(TermEvent::FocusGained)).is_ok() {}
    let (done_tx, done) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let told = exec.perform(Effect::EditTags { ids: vec![1], add: vec!["\u{7}bell".into()], remove: vec![] });
        let _ = done_tx.send(told);
    });
    let told = done.recv_timeout(Duration::from_secs(5)).expect("perform returned instead of blocking");
    assert!(matches!(told.as_slice(), [Msg::Error(e)] if e.contains("tags")), "{told:?}");
    drop(rx);
}

#[test]
fn a_search_worker_that_panics_is_shown_and_started_again() {
    let rt = crate::jobs::runtime().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).unwrap();
    add(&store, "u:me", "me", "anna_k");
    add(&store, "u:me", "me", "boris_m");
    let mut s = start(&rt, dir.path(), &store, "me", Workspace::Personal("me".into()));
    assert!(drive(&mut s, loaded));
    s.executor().search_queue().send(SearchJob::Panic).unwrap();
    assert!(drive(&mut s, |m| m.message.as_ref().is_some_and(|(t, err)| *err && t.contains("search failed"))));
    assert!(!s.model().searching(), "the list does not say searching… forever");
    // The view loads again (the new worker's index is empty), and searching works.
    assert!(drive(&mut s, loaded));
    press(&s, KeyCode::Char('/'));
    type_text(&s, "anna");
    assert!(drive(&mut s, |m| m.query.value() == "anna" && !m.searching() && m.order.len() == 1));
}

#[test]
fn a_search_ranks_within_the_filters_not_the_global_best() {
    use crate::tui::effects::SEARCH_LIMIT;
    let leads: Vec<crate::model::Lead> = (1..=SEARCH_LIMIT as u64 + 500)
        .map(|i| {
            // The one the filters let through is also the worst match: "a_n_n" against "ann".
            let name = if i == 1 { "a_x_n_x_n_1".to_string() } else { format!("ann_{i}") };
            let c = LeadInput { username: Some(name), ..Default::default() }.validate(Source::Manual, None).unwrap();
            crate::store::merge::create(i, "u:me", "me", i as i64, c, Default::default()).0
        })
        .collect();
    let (jobs, queue) = std::sync::mpsc::channel();
    let (out, answers) = std::sync::mpsc::sync_channel(64);
    let newest = std::sync::atomic::AtomicU64::new(1);
    let live = crate::tui::live::LiveSet::of_leads("u:me", &leads);
    jobs.send(SearchJob::Use(0, live)).unwrap();
    // The oldest lead ranks last of all; it is the only one the filters let through.
    jobs.send(SearchJob::Query { generation: 1, query: "ann".into(), within: Some(Arc::new(vec![1])) }).unwrap();
    drop(jobs);
    super::super::effects::search_worker_for_tests(&queue, &out, &newest);
    let last = answers.try_iter().find_map(|e| match e {
        Event::Msg(Msg::SearchDone { ids, last: true, .. }) => Some(ids),
        _ => None,
    });
    assert_eq!(last, Some(vec![1]));
}

/// An org "acme": olga owns it, ada is an admin, mia and max are members.
fn org(store: &Store, members_can_view_all: bool) {
    let org_op =
        |op| store.write_one(WriteCtx { workspace: String::new(), actor: "olga".into() }, WriteOp::Org(op)).unwrap();
    org_op(OrgOp::Create { name: "acme".into() });
    for (user, role) in [("ada", Role::Admin), ("mia", Role::Member), ("max", Role::Member)] {
        org_op(OrgOp::AddMember { org: "acme".into(), user: user.into(), role });
    }
    org_op(OrgOp::SetViewAll { org: "acme".into(), value: members_can_view_all });
}

/// An own view never shows a lead someone else created (its rows are the workspace's, shared with
/// every view of it), not even one its own import merged into.
fn own_view_keeps_out_others_leads(viewer: &str, members_can_view_all: bool) {
    let rt = crate::jobs::runtime().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).unwrap();
    org(&store, members_can_view_all);
    let theirs = add(&store, "o:acme", "olga", "shared_lead");
    let file = dir.path().join("leads.csv");
    std::fs::write(&file, format!("username,first_name\nshared_lead,Shared\nmine_{viewer},Mine\n")).unwrap();
    let mut s = start(&rt, dir.path(), &store, viewer, Workspace::Org("acme".into()));
    assert!(drive(&mut s, loaded));
    assert!(!s.model().in_view(theirs), "{viewer}: the own view starts without it");
    press(&s, KeyCode::Char('i'));
    type_text(&s, &file.display().to_string());
    press(&s, KeyCode::Enter);
    use crate::tui::panels::import::Stage;
    assert!(drive(&mut s, |m| matches!(m.import.stage, Stage::Preview { .. })), "{viewer}: preview");
    press(&s, KeyCode::Enter);
    assert!(drive(&mut s, |m| matches!(m.import.stage, Stage::Done(_)) && m.order.len() == 1), "{viewer}: import");
    let m = s.model();
    assert_eq!(
        store.get("o:acme", theirs).unwrap().unwrap().first_name,
        "Shared",
        "{viewer}: the import merged into it"
    );
    assert!(!m.in_view(theirs) && !m.order.contains(&theirs), "{viewer}: not in the list");
    let scope = m.leads.in_scope(m.scope_by.as_deref());
    assert_eq!(m.facets, m.leads.facet_counts_of(scope), "{viewer}: the counts are of the view's leads only");
    assert_eq!(m.facets.get(&crate::model::Facet::Status(crate::model::Status::Active)), Some(&1));
    press(&s, KeyCode::Esc);
    press(&s, KeyCode::Char('/'));
    type_text(&s, "shared");
    assert!(drive(&mut s, |m| m.query.value() == "shared" && !m.searching()), "{viewer}: search");
    assert!(s.model().order.is_empty(), "{viewer}: the search does not find it");
}

#[test]
fn a_members_own_view_never_receives_a_lead_created_by_someone_else() {
    own_view_keeps_out_others_leads("mia", false);
}

#[test]
fn an_admins_own_view_never_receives_a_lead_created_by_someone_else() {
    own_view_keeps_out_others_leads("ada", false);
}

#[test]
fn a_members_own_view_keeps_others_leads_out_even_when_members_may_view_all() {
    own_view_keeps_out_others_leads("max", true);
}

#[test]
fn segment_counts_follow_another_processs_writes_lead_by_lead() {
    use crate::model::Segment;
    use crate::store::RecordKind;
    let rt = crate::jobs::runtime().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).unwrap();
    let ctx = WriteCtx { workspace: "u:me".into(), actor: "me".into() };
    let edit = |store: &Store, id: u64, input: LeadInput| {
        let cand = input.validate(Source::Manual, None).unwrap();
        store.write_one(ctx.clone(), WriteOp::Edit { id, cand }).unwrap();
    };
    let tag = |t: &str| LeadInput { tags: vec![t.into()], ..Default::default() };
    let [a, b, _c] = ["seg_alpha", "seg_bravo", "seg_charlie"].map(|u| add(&store, "u:me", "me", u));
    edit(&store, a, tag("vip"));
    let vip = Segment {
        name: "VIPs".into(),
        filter: crate::store::Filter { tags: vec!["vip".into()], ..Default::default() },
        query: None,
    };
    store.write_one(ctx.clone(), WriteOp::record(RecordKind::Segment, "VIPs", &vip)).unwrap();
    let mut s = start(&rt, dir.path(), &store, "me", Workspace::Personal("me".into()));
    assert!(drive(&mut s, |m| m.segment_counts == [1]), "counted on load");

    // Another handle on the file, as another process writes: every change moves the count.
    let other = Store::open_dir(dir.path()).unwrap();
    edit(&other, b, tag("vip"));
    assert!(drive(&mut s, |m| m.segment_counts == [2]), "a lead joins");
    edit(&other, a, LeadInput { status: Some("archived".into()), ..Default::default() });
    assert!(drive(&mut s, |m| m.segment_counts == [1]), "archived leads leave segments");
    other.write_one(ctx.clone(), WriteOp::Delete { id: b }).unwrap();
    assert!(drive(&mut s, |m| m.segment_counts == [0]), "a deleted lead leaves");
    let d = add(&other, "u:me", "me", "seg_delta");
    edit(&other, d, tag("vip"));
    edit(&other, d, tag("warm"));
    assert!(drive(&mut s, |m| m.segment_counts == [1]), "a new lead joins once, however often it changes");
    // What the counter keeps is what a full count finds.
    let full = store.count_segments("u:me", &crate::store::Filter::default(), &[vip]).unwrap();
    assert_eq!(full, [1]);
}

#[test]
fn a_message_written_through_the_store_shows_in_the_open_thread_which_marks_it_read_and_answers() {
    use crate::model::Delivery;
    use crate::store::TalkOp;
    use crate::telegram::{Member, TgMessage, TgUpdate};
    let rt = crate::jobs::runtime().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).unwrap();
    let me = crate::telegram::Me { user_id: 9_000_000_100, username: None, first_name: "Demo".into() };
    let backend = crate::config::TelegramBackend::Simulated;
    let rec = crate::crawl::account::new_record("demo-1", "+15550100", backend, me, "u:me", "me");
    crate::crawl::account::save(&store, &rec).unwrap();
    let input =
        LeadInput { telegram_user_id: Some("777".into()), username: Some("talk_lead".into()), ..Default::default() };
    let ctx = WriteCtx { workspace: "u:me".into(), actor: "me".into() };
    let id = store.write_one(ctx.clone(), WriteOp::Upsert(input.validate(Source::Manual, None).unwrap())).unwrap();
    let id = id.id().expect("created");
    let mut s = start(&rt, dir.path(), &store, "me", Workspace::Personal("me".into()));
    assert!(drive(&mut s, |m| loaded(m) && m.senders.len() == 1), "the workspace's account comes with the load");
    press(&s, KeyCode::Enter);
    press(&s, KeyCode::Char(']'));
    press(&s, KeyCode::Char(']'));
    let thread = |m: &Model| m.thread.as_ref().filter(|t| t.lead == id).map(|t| t.messages.clone());
    assert!(drive(&mut s, |m| thread(m).is_some_and(|t| t.is_empty())), "the Messages tab shows the empty thread");

    // Another process hears the lead write to the account.
    let other = Store::open_dir(dir.path()).unwrap();
    let peer = Member {
        user_id: 777,
        username: Some("talk_lead".into()),
        first_name: "Talk".into(),
        last_name: "Lead".into(),
        phone: None,
        lang_code: None,
        bot: false,
        deleted: false,
        photo: None,
        access_hash: Some(42),
    };
    let at = crate::model::now_millis();
    let update = TgUpdate::Message(TgMessage { id: 1, peer, out: false, text: "hello from telegram".into(), at });
    other.write_one(ctx, WriteOp::Talk(TalkOp::Heard { account: "demo-1".into(), update, stop: false })).unwrap();
    assert!(
        drive(&mut s, |m| thread(m).is_some_and(|t| t.iter().any(|msg| msg.text == "hello from telegram"))),
        "the message arrives in the open thread through the feed"
    );
    assert!(super::render(s.model(), 120, 40).contains("hello from telegram"));
    // Open, it is read: the unread count goes to zero and a read receipt waits for the runner.
    let unread = |store: &Store| store.get("u:me", id).unwrap().unwrap().conversation.unread;
    assert!(drive(&mut s, |_| unread(&store) == 0), "marked read");
    assert_eq!(store.outbox("demo-1").unwrap().len(), 1, "the read receipt");

    // An answer, typed in the composer: queued in the account's outbox and shown queued.
    press(&s, KeyCode::Char('m'));
    assert!(drive(&mut s, |m| matches!(m.popup, Some(crate::tui::panels::Popup::Compose(_)))));
    type_text(&s, "hi back");
    press(&s, KeyCode::Enter);
    type_text(&s, "how are you?");
    s.events().send(Event::Term(TermEvent::Key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL)))).unwrap();
    let queued = |m: &Model| {
        thread(m).is_some_and(|t| {
            t.iter().any(|msg| msg.text == "hi back\nhow are you?" && msg.delivery == Delivery::Queued)
        })
    };
    assert!(drive(&mut s, |m| m.popup.is_none() && queued(m)), "{:?}", s.model().message);
    assert_eq!(store.outbox("demo-1").unwrap().len(), 2, "and the send waits in the outbox");
}

/// The panel over a real store: a template naming a field the leads lack is refused in the form,
/// the fixed one is stored and previewed, and the launch's new state comes back through the feed.
#[test]
fn a_campaign_is_refused_in_the_form_then_created_previewed_and_launched() {
    let rt = crate::jobs::runtime().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).unwrap();
    add(&store, "u:me", "me", "no_first_name");
    let account = crate::crawl::account::AccountRecord {
        name: "demo-1".into(),
        phone: "+10000000001".into(),
        simulated: true,
        me: None,
        added_at: 0,
        flood_until: None,
        workspace: "u:me".into(),
        owner: "me".into(),
        runner: None,
        limited_since: None,
        today: Default::default(),
    };
    crate::crawl::account::save(&store, &account).unwrap();
    let mut s = start(&rt, dir.path(), &store, "me", Workspace::Personal("me".into()));
    assert!(drive(&mut s, loaded));
    press(&s, KeyCode::Char('C'));
    press(&s, KeyCode::Char('n'));
    type_text(&s, "hello");
    press(&s, KeyCode::Tab);
    type_text(&s, "Hi {first_name}");
    press(&s, KeyCode::Enter);
    let form_error = |m: &Model| match &m.campaigns.stage {
        crate::tui::panels::campaigns::Stage::Create(f) => f.error.clone(),
        _ => None,
    };
    assert!(drive(&mut s, |m| form_error(m).is_some()), "the refusal comes back");
    let why = form_error(s.model()).unwrap_or_default();
    assert!(why.contains("first_name") && why.contains("fallback"), "{why}");
    assert!(store.campaigns("u:me").unwrap().is_empty(), "nothing was stored");
    // The text is kept: the closing brace goes, and a fallback closes it.
    press(&s, KeyCode::Backspace);
    type_text(&s, "|there}");
    press(&s, KeyCode::Enter);
    use crate::tui::panels::campaigns::Stage;
    let previewed = |m: &Model| matches!(&m.campaigns.stage, Stage::Preview(_, Some(Ok(_))));
    assert!(drive(&mut s, |m| previewed(m) && m.campaigns.list.len() == 1), "{:?}", s.model().campaigns);
    if let Stage::Preview(_, Some(Ok(d))) = &s.model().campaigns.stage {
        assert_eq!(d.audience, 1);
        assert_eq!(d.recipients[0].text.as_deref(), Ok("Hi there"));
    }
    press(&s, KeyCode::Char('L'));
    let running = |m: &Model| {
        m.campaigns.list.first().is_some_and(|c| c.state == crate::campaign::CampaignState::Running)
            && m.campaigns.busy.is_none()
    };
    assert!(drive(&mut s, running), "{:?}", s.model().campaigns.list);
    assert_eq!(s.model().campaigns.list[0].tally.all.total(), 1);
}

#[test]
fn two_sessions_of_a_workspace_share_its_rows_and_each_follows_the_others_edits() {
    let rt = crate::jobs::runtime().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).unwrap();
    org(&store, false);
    let ids: Vec<u64> = (0..3000).map(|i| add(&store, "o:acme", "olga", &format!("lead_{i}"))).collect();
    // One process: both sessions get the same settings, and so the same shared sets.
    let settings = settings(dir.path());
    let open = |user: &str, view| {
        let ws = Workspace::Org("acme".into());
        Session::start(rt.handle().clone(), store.clone(), user.into(), ws, view, Default::default(), settings.clone())
    };
    let (mut olga, mut mia) = (open("olga", View::All), open("mia", View::Own));
    assert!(drive(&mut olga, loaded) && drive(&mut mia, loaded));
    let (shared, chunks) = olga.model().leads.shared_chunks(&mia.model().leads);
    assert_eq!(shared, chunks, "the rows are one copy");
    assert_eq!((olga.model().order.len(), mia.model().order.len()), (3000, 0), "each sees its own scope");

    // Mia adds a lead: both lists take it, and the rows are still shared but for the copied chunk.
    add(&store, "o:acme", "mia", "mias_lead");
    assert!(drive(&mut mia, |m| m.order.len() == 1), "mia's own lead is in her list");
    assert!(drive(&mut olga, |m| m.order.len() == 3001), "and in olga's");
    assert!(drive(&mut mia, |m| m.leads.len() == 3001));
    let (shared, chunks) = olga.model().leads.shared_chunks(&mia.model().leads);
    assert_eq!(shared, chunks, "both views took the same version");
    let (shared, _) = olga.model().leads.shared_chunks(&Rows::default());
    assert_eq!(shared, 0);
    // Olga archives one of hers: mia never saw it, and her counts do not move.
    let before = mia.model().facets.clone();
    let cand =
        LeadInput { status: Some("archived".into()), ..Default::default() }.validate(Source::Manual, None).unwrap();
    let ctx = WriteCtx { workspace: "o:acme".into(), actor: "olga".into() };
    store.write_one(ctx, WriteOp::Edit { id: ids[0], cand }).unwrap();
    let archived = |m: &Model| m.leads.get(ids[0]).is_some_and(|r| r.status == crate::model::Status::Archived);
    assert!(drive(&mut olga, archived) && drive(&mut mia, archived));
    assert_eq!(mia.model().facets, before);
    assert_eq!(olga.model().facets.get(&crate::model::Facet::Status(crate::model::Status::Archived)), Some(&1));
}
