//! State-machine tests of `update`, and rendering snapshots on ratatui's TestBackend.

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::app::{update, Effect, Event, Focus, Model, Msg, Place, Popup};
use super::rows::Rows;
use super::ui;
use crate::model::{Activity, ActivityKind, Lead, LeadInput, Priority, Source, Status};
use crate::store::merge::{create, Withheld};
use crate::workspace::View;

fn key(c: KeyCode) -> Event {
    Event::Term(TermEvent::Key(KeyEvent::new(c, KeyModifiers::NONE)))
}

fn ch(c: char) -> Event {
    key(KeyCode::Char(c))
}

/// Fixed times keep the snapshots stable.
const T0: i64 = 1_767_225_600_000; // 2026-01-01

fn lead(id: u64, first: &str, last: &str, username: &str, phone: &str, tags: &[&str]) -> Lead {
    let input = LeadInput {
        first_name: Some(first.into()),
        last_name: Some(last.into()),
        username: Some(username.into()),
        phone: (!phone.is_empty()).then(|| phone.into()),
        country: Some("RU".into()),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        group: Some("Rust Moscow".into()),
        fields: vec![("company".into(), "Acme, Inc.".into())],
        ..Default::default()
    };
    let c = input.validate(Source::Crawling, None).unwrap();
    create(id, "u:me", "me", T0 + id as i64 * 60_000, &c, Withheld::default()).0
}

fn place() -> Place {
    Place {
        label: "personal (me)".into(),
        key: "u:me".into(),
        role: "personal".into(),
        view: View::Own,
        can_view_all: true,
    }
}

fn fixtures() -> Vec<Lead> {
    vec![
        lead(1, "Иван", "Петров", "ivan_petrov", "+7 916 123 45 67", &["vip"]),
        lead(2, "Anna", "Smith", "anna_smith", "", &["warm", "partner"]),
        lead(3, "陈", "伟", "chen_wei_88", "+44 20 7946 0958", &[]),
    ]
}

/// A loaded lead as the store holds it (the model keeps only list rows).
fn fixture(id: u64) -> Lead {
    fixtures().into_iter().find(|l| l.id == id).expect("a fixture lead")
}

fn loaded() -> Model {
    let mut m = Model::new(place(), "me".into());
    let leads = fixtures();
    let mut facets = std::collections::BTreeMap::new();
    for l in &leads {
        for f in l.all_facets() {
            *facets.entry(f).or_default() += 1;
        }
    }
    let leads = Rows::from_leads(&leads);
    let effects = update(&mut m, Event::Msg(Msg::Loaded { generation: 0, place: place(), leads, facets }));
    update(
        &mut m,
        Event::Msg(Msg::Workspaces(vec![
            ("personal (me)".into(), "u:me".into()),
            ("acme (member)".into(), "o:acme".into()),
        ])),
    );
    // Loading asks for the workspace's segments and their counts, in the view's base filter.
    let base = crate::store::Filter { created_by: Some("me".into()), ..Default::default() };
    assert_eq!(effects, vec![Effect::CountSegments { base }]);
    m
}

#[test]
fn loading_sorts_by_most_recent_and_moves_keep_in_bounds() {
    let mut m = loaded();
    assert_eq!(m.order, vec![3, 2, 1]);
    update(&mut m, ch('k'));
    assert_eq!(m.cursor, 0);
    update(&mut m, ch('G'));
    assert_eq!(m.cursor, 2);
    update(&mut m, ch('j'));
    assert_eq!(m.cursor, 2);
    update(&mut m, ch('g'));
    assert_eq!(m.cursor, 0);
    update(&mut m, key(KeyCode::PageDown));
    assert_eq!(m.cursor, 2);
}

#[test]
fn typing_a_query_asks_for_a_search_and_stale_results_are_dropped() {
    let mut m = loaded();
    update(&mut m, ch('/'));
    assert_eq!(m.focus, Focus::Search);
    let g = m.search_generation;
    let e1 = update(&mut m, ch('a'));
    let e2 = update(&mut m, ch('n'));
    assert_eq!(e1, vec![Effect::Search { generation: g + 1, query: "a".into() }]);
    assert_eq!(e2, vec![Effect::Search { generation: g + 2, query: "an".into() }]);
    update(&mut m, Event::Msg(Msg::SearchDone { generation: g + 1, ids: vec![1], last: true }));
    assert_eq!(m.order, vec![3, 2, 1], "a stale generation changes nothing");
    update(&mut m, Event::Msg(Msg::SearchDone { generation: g + 2, ids: vec![2], last: true }));
    assert_eq!(m.order, vec![2]);
    // Backspacing to empty shows everything again, without a search.
    update(&mut m, key(KeyCode::Backspace));
    assert!(update(&mut m, key(KeyCode::Backspace)).is_empty());
    assert_eq!(m.order.len(), 3);
    update(&mut m, key(KeyCode::Esc));
    assert_eq!(m.focus, Focus::List);
}

#[test]
fn enter_opens_the_detail_and_loads_history_and_the_cursor_survives_reorders() {
    let mut m = loaded();
    update(&mut m, ch('j'));
    assert_eq!(update(&mut m, key(KeyCode::Enter)), vec![Effect::LoadDetail(2)]);
    assert!(m.detail_open);
    assert_eq!(update(&mut m, ch('j')), vec![Effect::LoadDetail(1)]);
    // A newer lead arriving keeps the cursor on the same lead.
    m.leads.upsert(&lead(9, "New", "Lead", "new_lead", "", &[]));
    let generation = m.search_generation;
    update(&mut m, Event::Msg(Msg::SearchDone { generation, ids: vec![9, 3, 2, 1], last: true }));
    assert_eq!(m.selected().map(|l| l.id), Some(1));
    update(&mut m, key(KeyCode::Esc));
    assert!(!m.detail_open);
}

#[test]
fn status_and_priority_popups_produce_edits() {
    let mut m = loaded();
    update(&mut m, ch('s'));
    assert_eq!(m.popup, Some(Popup::Status { selected: 0 }));
    update(&mut m, ch('j'));
    assert_eq!(update(&mut m, key(KeyCode::Enter)), vec![Effect::SetStatus { ids: vec![3], status: Status::Blocked }]);
    assert_eq!(m.popup, None);
    update(&mut m, ch('p'));
    assert_eq!(m.popup, Some(Popup::Priority { selected: 1 }));
    update(&mut m, ch('k'));
    assert_eq!(
        update(&mut m, key(KeyCode::Enter)),
        vec![Effect::SetPriority { ids: vec![3], priority: Priority::High }]
    );
    update(&mut m, ch('s'));
    update(&mut m, key(KeyCode::Esc));
    assert_eq!(m.popup, None, "Esc cancels without an edit");
}

#[test]
fn saved_leads_and_errors_become_visible_state() {
    let mut m = loaded();
    let mut changed = fixture(3);
    changed.status = Status::Archived;
    update(&mut m, Event::Msg(Msg::Saved(Box::new(changed))));
    assert_eq!(m.leads.get(3).map(|r| r.status), Some(Status::Archived));
    assert_eq!(m.message, Some(("saved #3".into(), false)));
    update(&mut m, Event::Msg(Msg::Error("permission denied: nope".into())));
    assert_eq!(m.message, Some(("permission denied: nope".into(), true)));
    update(&mut m, ch('i'));
    assert_eq!(m.popup, Some(Popup::Import));
    update(&mut m, key(KeyCode::Esc));
    update(&mut m, ch('q'));
    assert!(m.quit);
}

fn render(m: &Model, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| ui::draw(m, f)).unwrap();
    t.backend().to_string()
}

fn with_history(mut m: Model) -> Model {
    let id = m.order[0];
    update(&mut m, key(KeyCode::Enter));
    let l = fixture(id);
    let entries = vec![
        l.created_entry(),
        Activity {
            at: T0 + 600_000,
            actor: "me".into(),
            kind: ActivityKind::StatusChanged { from: Status::Active, to: Status::Blocked },
        },
    ];
    update(&mut m, Event::Msg(Msg::Detail { lead: Box::new(l), entries }));
    m
}

#[test]
fn snapshot_list() {
    let m = loaded();
    insta::assert_snapshot!("list_80x24", render(&m, 80, 24));
    insta::assert_snapshot!("list_200x50", render(&m, 200, 50));
}

#[test]
fn snapshot_detail() {
    let m = with_history(loaded());
    insta::assert_snapshot!("detail_80x24", render(&m, 80, 24));
    insta::assert_snapshot!("detail_200x50", render(&m, 200, 50));
}

#[test]
fn snapshot_search_with_highlights() {
    let mut m = loaded();
    update(&mut m, ch('/'));
    update(&mut m, ch('a'));
    update(&mut m, ch('n'));
    let generation = m.search_generation;
    update(&mut m, Event::Msg(Msg::SearchDone { generation, ids: vec![2], last: true }));
    insta::assert_snapshot!("search_80x24", render(&m, 80, 24));
}

#[test]
fn snapshot_popups() {
    let mut m = loaded();
    update(&mut m, ch('?'));
    insta::assert_snapshot!("help_80x24", render(&m, 80, 24));
    insta::assert_snapshot!("help_200x50", render(&m, 200, 50));
    update(&mut m, key(KeyCode::Esc));
    update(&mut m, ch('s'));
    insta::assert_snapshot!("status_80x24", render(&m, 80, 24));
    update(&mut m, key(KeyCode::Esc));
    update(&mut m, ch('p'));
    insta::assert_snapshot!("priority_200x50", render(&m, 200, 50));
}

#[test]
fn snapshot_empty_store() {
    let mut m = Model::new(place(), "me".into());
    update(
        &mut m,
        Event::Msg(Msg::Loaded { generation: 0, place: place(), leads: Rows::default(), facets: Default::default() }),
    );
    insta::assert_snapshot!("empty_80x24", render(&m, 80, 24));
}

#[test]
fn the_workspace_switcher_loads_and_remembers_and_stale_loads_are_dropped() {
    let mut m = loaded();
    update(&mut m, ch('o'));
    assert_eq!(m.popup, Some(Popup::Workspace { selected: 0 }));
    update(&mut m, ch('j'));
    let effects = update(&mut m, key(KeyCode::Enter));
    assert_eq!(effects, vec![Effect::Switch { generation: 1, key: "o:acme".into(), view: View::Own, remember: true }]);
    assert!(m.loading);
    // A load answering an older request is ignored.
    update(
        &mut m,
        Event::Msg(Msg::Loaded { generation: 0, place: place(), leads: Rows::default(), facets: Default::default() }),
    );
    assert_eq!(m.leads.len(), 3);
    let acme = Place {
        label: "acme".into(),
        key: "o:acme".into(),
        role: "member".into(),
        view: View::Own,
        can_view_all: false,
    };
    update(
        &mut m,
        Event::Msg(Msg::Loaded {
            generation: 1,
            place: acme.clone(),
            leads: Rows::from_leads(&[lead(7, "Org", "Lead", "org_lead", "", &[])]),
            facets: Default::default(),
        }),
    );
    assert_eq!(m.place, acme);
    assert_eq!(m.order, vec![7]);
    // "All leads" is not offered where the rules forbid it, and saying so is the answer.
    assert!(update(&mut m, ch('v')).is_empty());
    assert!(m.message.as_ref().is_some_and(|(msg, err)| *err && msg.contains("members_can_view_all")));
}

#[test]
fn the_view_toggle_switches_between_own_and_all_where_allowed() {
    let mut m = loaded();
    let effects = update(&mut m, ch('v'));
    assert_eq!(effects, vec![Effect::Switch { generation: 1, key: "u:me".into(), view: View::All, remember: false }]);
}

#[test]
fn snapshot_workspace_switcher() {
    let mut m = loaded();
    update(&mut m, ch('o'));
    insta::assert_snapshot!("workspaces_80x24", render(&m, 80, 24));
}

#[test]
fn facet_toggles_filter_the_list_and_combine_with_search() {
    let mut m = loaded();
    assert_eq!(m.facets.get("t:vip"), Some(&1));
    update(&mut m, key(KeyCode::Tab));
    assert_eq!(m.focus, Focus::Filter);
    let rows: Vec<String> = m.facet_rows().iter().map(|(k, _)| k.to_string()).collect();
    let vip = rows.iter().position(|k| k == "t:vip").unwrap();
    for _ in 0..vip {
        update(&mut m, ch('j'));
    }
    assert!(update(&mut m, ch(' ')).is_empty(), "an empty query re-sorts in memory");
    assert!(m.facet_on("t:vip"));
    assert_eq!(m.order, vec![1]);
    // Search results are narrowed by the same filter.
    update(&mut m, ch('/'));
    update(&mut m, ch('a'));
    let generation = m.search_generation;
    update(&mut m, Event::Msg(Msg::SearchDone { generation, ids: vec![2, 1], last: true }));
    assert_eq!(m.order, vec![1]);
    update(&mut m, key(KeyCode::Esc));
    update(&mut m, key(KeyCode::Tab));
    update(&mut m, ch('c'));
    assert!(!m.facet_on("t:vip"));
    // A saved change moves the counts.
    let mut changed = fixture(1);
    changed.status = Status::Blocked;
    update(&mut m, Event::Msg(Msg::Saved(Box::new(changed))));
    assert_eq!(m.facets.get("s:blocked"), Some(&1));
    assert_eq!(m.facets.get("s:active"), Some(&2));
}

#[test]
fn snapshot_filters_focused() {
    let mut m = loaded();
    update(&mut m, key(KeyCode::Tab));
    update(&mut m, ch(' '));
    insta::assert_snapshot!("filters_80x24", render(&m, 80, 24));
    insta::assert_snapshot!("filters_200x50", render(&m, 200, 50));
}

#[test]
fn delete_asks_first_and_a_member_is_told_the_rule_before_asking() {
    let mut m = loaded();
    update(&mut m, ch('d'));
    assert_eq!(m.popup, Some(Popup::ConfirmDelete { ids: vec![3] }));
    assert!(update(&mut m, ch('n')).is_empty(), "anything but y cancels");
    update(&mut m, ch('d'));
    assert_eq!(update(&mut m, ch('y')), vec![Effect::Delete { ids: vec![3] }]);
    update(&mut m, Event::Msg(Msg::Deleted(vec![3])));
    assert_eq!(m.order, vec![2, 1]);
    assert_eq!(m.facets.get("s:active"), Some(&2));

    m.place.role = "member".into();
    m.user = "mia".into();
    update(&mut m, ch('d'));
    assert_eq!(m.popup, None);
    assert!(m.message.as_ref().is_some_and(|(msg, err)| *err && msg.contains("only the leads they created")));
}

#[test]
fn notes_and_tags_are_typed_in_a_popup() {
    use super::app::TextKind;
    let mut m = loaded();
    update(&mut m, ch('n'));
    assert!(matches!(m.popup, Some(Popup::Text { kind: TextKind::Note, .. })));
    for c in "call back".chars() {
        update(&mut m, ch(c));
    }
    assert_eq!(update(&mut m, key(KeyCode::Enter)), vec![Effect::AddNote { id: 3, text: "call back".into() }]);
    update(&mut m, ch('t'));
    for c in "+vip, -cold,warm".chars() {
        update(&mut m, ch(c));
    }
    insta::assert_snapshot!("tags_80x24", render(&m, 80, 24));
    let effects = update(&mut m, key(KeyCode::Enter));
    assert_eq!(
        effects,
        vec![Effect::EditTags { ids: vec![3], add: vec!["vip".into(), "warm".into()], remove: vec!["cold".into()] }]
    );
    update(&mut m, ch('n'));
    assert!(update(&mut m, key(KeyCode::Esc)).is_empty());
    assert_eq!(m.popup, None);
}

#[test]
fn export_takes_the_current_view_in_order() {
    let mut m = loaded();
    update(&mut m, key(KeyCode::Tab));
    let rows: Vec<String> = m.facet_rows().iter().map(|(k, _)| k.to_string()).collect();
    for _ in 0..rows.iter().position(|k| k == "t:vip").unwrap() {
        update(&mut m, ch('j'));
    }
    update(&mut m, ch(' '));
    update(&mut m, key(KeyCode::Tab));
    let effects = update(&mut m, ch('x'));
    let [Effect::Export { ids }] = effects.as_slice() else { panic!("{effects:?}") };
    assert_eq!(ids, &vec![1], "the view, in its order (export_ids writes them; see export.rs)");
}

#[test]
fn marked_leads_take_bulk_actions() {
    let mut m = loaded();
    update(&mut m, ch(' ')); // marks 3, moves to 2
    update(&mut m, ch(' ')); // marks 2
    assert_eq!(m.marked.iter().copied().collect::<Vec<_>>(), vec![2, 3]);
    update(&mut m, ch('s'));
    update(&mut m, ch('j'));
    assert_eq!(
        update(&mut m, key(KeyCode::Enter)),
        vec![Effect::SetStatus { ids: vec![2, 3], status: Status::Blocked }]
    );
    update(&mut m, ch('t'));
    update(&mut m, ch('x'));
    update(&mut m, ch('y'));
    update(&mut m, ch('z'));
    assert_eq!(
        update(&mut m, key(KeyCode::Enter)),
        vec![Effect::EditTags { ids: vec![2, 3], add: vec!["xyz".into()], remove: vec![] }]
    );
    update(&mut m, ch('d'));
    assert_eq!(m.popup, Some(Popup::ConfirmDelete { ids: vec![2, 3] }));
    insta::assert_snapshot!("bulk_delete_80x24", render(&m, 80, 24));
    assert_eq!(update(&mut m, ch('y')), vec![Effect::Delete { ids: vec![2, 3] }]);
    update(&mut m, Event::Msg(Msg::Deleted(vec![2])));
    assert_eq!(m.marked.iter().copied().collect::<Vec<_>>(), vec![3]);
    // V marks the whole view, and again clears.
    update(&mut m, ch('V'));
    assert_eq!(m.marked.len(), 2);
    update(&mut m, ch('V'));
    assert!(m.marked.is_empty());
    // A member cannot bulk-delete leads of others, and is told before the question.
    m.place.role = "member".into();
    m.user = "mia".into();
    update(&mut m, ch('V'));
    update(&mut m, ch('d'));
    assert_eq!(m.popup, None);
    assert!(m.message.as_ref().is_some_and(|(msg, _)| msg.contains("2 of these are not yours")));
}

#[test]
fn sorting_by_a_column_and_reversing() {
    let mut m = loaded();
    assert_eq!(m.order, vec![3, 2, 1], "newest first");
    update(&mut m, ch('S'));
    for _ in 0..2 {
        update(&mut m, ch('j'));
    }
    update(&mut m, key(KeyCode::Enter)); // name, A to Z
    let names: Vec<String> = m.order.iter().map(|id| m.leads.get(*id).unwrap().first_name().to_string()).collect();
    assert_eq!(names, ["Anna", "Иван", "陈"]);
    update(&mut m, ch('S'));
    update(&mut m, key(KeyCode::Enter)); // name again: reversed
    assert_eq!(m.order.first(), Some(&3));
}

#[test]
fn configured_keys_drive_the_list_and_show_in_the_help() {
    let mut m = loaded();
    m.keymap = super::keymap::Keymap::new(&[("quit".to_string(), "ctrl-x".to_string())].into()).unwrap();
    update(&mut m, ch('q'));
    assert!(!m.quit, "q is no longer quit");
    update(&mut m, Event::Term(TermEvent::Key(KeyEvent::new(KeyCode::Char('x'), KeyModifiers::CONTROL))));
    assert!(m.quit);
    let mut m = loaded();
    m.keymap = super::keymap::Keymap::new(&[("quit".to_string(), "Q".to_string())].into()).unwrap();
    update(&mut m, ch('?'));
    assert!(render(&m, 80, 24).contains(" Q "), "{}", render(&m, 80, 24));
}

fn type_text(m: &mut Model, text: &str) {
    for c in text.chars() {
        update(m, ch(c));
    }
}

#[test]
fn the_crawl_panel_starts_a_crawl_shows_progress_and_cancels() {
    use crate::crawl::{Counts, Event as CrawlEvent, Method};
    let mut m = loaded();
    assert_eq!(update(&mut m, ch('c')), vec![Effect::LoadCrawls]);
    type_text(&mut m, "@bad name");
    assert!(update(&mut m, key(KeyCode::Enter)).is_empty(), "an invalid target starts nothing");
    assert!(m.message.as_ref().is_some_and(|(text, error)| *error && text.contains("expected @name")));
    for _ in 0..9 {
        update(&mut m, key(KeyCode::Backspace));
    }
    type_text(&mut m, "@demo_big");
    update(&mut m, key(KeyCode::Tab));
    update(&mut m, key(KeyCode::Tab));
    let effects = update(&mut m, key(KeyCode::Enter));
    let target = crate::telegram::Target::Username("demo_big".into());
    assert_eq!(effects, vec![Effect::StartCrawl { target, method: Some(Method::Search) }]);
    assert!(m.crawl.as_ref().is_some_and(|j| j.running));
    // While it runs, typing does not change the target, and x cancels.
    update(&mut m, ch('q'));
    assert!(matches!(&m.popup, Some(Popup::Crawl { target, .. }) if target.0.value() == "@demo_big"));
    let started = CrawlEvent::Started { title: "Demo Big".into(), methods: vec![Method::Search], resumed: false };
    update(&mut m, Event::Msg(Msg::Crawl(started)));
    let counts = Counts { members_seen: 4_200, created: 4_100, updated: 100, requests: 57, ..Counts::default() };
    update(&mut m, Event::Msg(Msg::Crawl(CrawlEvent::Progress(counts))));
    update(&mut m, Event::Msg(Msg::Crawl(CrawlEvent::FloodWait { account: "demo-1".into(), seconds: 3 })));
    update(&mut m, Event::Msg(Msg::Crawl(CrawlEvent::Waiting { seconds: 2 })));
    insta::assert_snapshot!("crawl_running_80x24", render(&m, 80, 24));
    insta::assert_snapshot!("crawl_running_200x50", render(&m, 200, 50));
    // New leads arrive in the list live, and the cursor stays on its lead.
    update(&mut m, key(KeyCode::Esc));
    update(&mut m, ch('j'));
    let before = m.selected().map(|l| l.id);
    let newcomer = lead(9, "Aaron", "Abbott", "aaron_abbott", "", &[]);
    update(&mut m, Event::Msg(Msg::Upserted(vec![newcomer])));
    assert_eq!(m.leads.len(), 4);
    assert!(m.order.contains(&9));
    assert_eq!(m.selected().map(|l| l.id), before);
    assert!(render(&m, 200, 50).contains("crawl @demo_big: flood wait, resuming in 2s"));
    let counts = Counts { members_seen: 4_400, created: 4_300, ..Counts::default() };
    update(&mut m, Event::Msg(Msg::Crawl(CrawlEvent::Progress(counts))));
    assert!(render(&m, 200, 50).contains("crawl @demo_big: 4400 members, 4300 new"), "the status bar shows the crawl");
    update(&mut m, ch('c'));
    assert_eq!(update(&mut m, ch('x')), vec![Effect::CancelCrawl]);
}

#[test]
fn snapshot_crawl_panel_with_past_crawls() {
    use crate::crawl::State;
    let mut m = loaded();
    m.now = T0 + 3 * 3_600_000;
    update(&mut m, ch('c'));
    let past = |target: &str, title: &str, state, members, at| super::app::PastCrawl {
        target: target.into(),
        title: title.into(),
        state,
        members,
        finished_at: at,
    };
    update(
        &mut m,
        Event::Msg(Msg::Crawls(vec![
            past("@demo_small", "Demo Small", State::Done, 150, Some(T0 + 2 * 3_600_000)),
            past("@demo_big", "Demo Big", State::Cancelled, 12_000, None),
        ])),
    );
    type_text(&mut m, "t.me/+demoinvite");
    insta::assert_snapshot!("crawl_idle_80x24", render(&m, 80, 24));
    insta::assert_snapshot!("crawl_idle_200x50", render(&m, 200, 50));
    let summary = crate::crawl::Summary {
        target: "@demo_small".into(),
        title: "Demo Small".into(),
        methods: vec![],
        counts: crate::crawl::Counts { members_seen: 150, ..Default::default() },
        cache_used: true,
        cached_at: Some(T0),
        resumed: false,
        cancelled: false,
        elapsed_ms: 1,
        warnings: vec![],
    };
    assert_eq!(update(&mut m, Event::Msg(Msg::CrawlDone(Ok(summary)))), vec![Effect::LoadCrawls]);
    assert!(m.message.as_ref().is_some_and(|(t, _)| t.contains("from the cache, 0 requests")));
}

#[test]
fn the_add_form_validates_inline_saves_through_dedup_and_says_when_it_merged() {
    let mut m = loaded();
    update(&mut m, ch('a'));
    assert!(matches!(&m.popup, Some(Popup::Form(f)) if f.error.as_ref().is_some_and(|e| e.0 == "identifier")));
    insta::assert_snapshot!("form_add_80x24", render(&m, 80, 24));
    update(&mut m, key(KeyCode::Tab));
    update(&mut m, key(KeyCode::Tab));
    type_text(&mut m, "Anna_Smith");
    update(&mut m, key(KeyCode::Tab));
    type_text(&mut m, "+7 916 000");
    let effects = update(&mut m, key(KeyCode::Enter));
    let Some(Effect::SaveLead { id: None, input }) = effects.first() else { panic!("{effects:?}") };
    assert_eq!(input.username.as_deref(), Some("Anna_Smith"));
    // The store matched @anna_smith (any case): lead 2 took the new phone.
    let mut merged = fixture(2);
    merged.phone = Some(crate::normalize::normalize_phone("+7 916 000", None));
    let saved =
        Msg::FormSaved { lead: Box::new(merged), created: false, matched_on: Some(crate::model::MatchKey::Username) };
    update(&mut m, Event::Msg(saved));
    assert!(
        matches!(&m.popup, Some(Popup::Form(f)) if f.saved.as_deref().is_some_and(|s| s.contains("merged into existing lead #2")))
    );
    assert_eq!(m.selected().map(|l| l.id), Some(2), "the list shows the lead it merged into");
    insta::assert_snapshot!("form_merged_200x50", render(&m, 200, 50));
    update(&mut m, key(KeyCode::Enter));
    assert!(m.popup.is_none(), "Enter closes a saved form");
}

#[test]
fn the_edit_form_starts_from_the_selected_lead_and_shows_refusals() {
    let mut m = loaded();
    update(&mut m, key(KeyCode::End));
    let id = m.selected().map(|l| l.id).unwrap();
    // The list holds rows; `e` reads the whole lead first and opens the form when it arrives.
    assert_eq!(update(&mut m, ch('e')), vec![Effect::LoadDetail(id)]);
    assert!(m.popup.is_none());
    update(&mut m, Event::Msg(Msg::Detail { lead: Box::new(fixture(id)), entries: Vec::new() }));
    insta::assert_snapshot!("form_edit_80x24", render(&m, 80, 24));
    let effects = update(&mut m, key(KeyCode::Enter));
    assert!(matches!(effects.first(), Some(Effect::SaveLead { id: Some(x), .. }) if *x == id));
    update(&mut m, Event::Msg(Msg::FormRefused("username: already belongs to lead #1".into())));
    assert!(matches!(&m.popup, Some(Popup::Form(f)) if !f.saving && f.error.is_some()));
    insta::assert_snapshot!("form_refused_200x50", render(&m, 200, 50));
    update(&mut m, key(KeyCode::Esc));
    assert!(m.popup.is_none());
}

#[test]
fn segments_list_with_live_counts_apply_their_filter_without_archived_and_save_from_the_filters() {
    use crate::model::Segment;
    let mut m = loaded();
    let vip = Segment {
        name: "VIPs".into(),
        filter: crate::store::Filter { tags: vec!["vip".into()], ..Default::default() },
        query: None,
    };
    let annas = Segment { name: "Annas".into(), filter: Default::default(), query: Some("anna".into()) };
    update(&mut m, Event::Msg(Msg::Segments { segments: vec![vip, annas], counts: vec![1, 1] }));
    update(&mut m, key(KeyCode::Tab));
    insta::assert_snapshot!("segments_80x24", render(&m, 80, 24));
    // Space on a segment applies its filter, with archived leads taken out.
    update(&mut m, ch(' '));
    assert_eq!(m.active_segment.as_deref(), Some("VIPs"));
    assert_eq!(m.filter.status, vec![Status::Active, Status::Blocked]);
    assert_eq!(m.order, vec![1]);
    // A segment with a query sets the search too.
    update(&mut m, ch('j'));
    let effects = update(&mut m, ch(' '));
    assert_eq!(m.query.value(), "anna");
    assert!(matches!(effects.as_slice(), [Effect::Search { query, .. }] if query == "anna"));
    // A change to the leads recounts the segments.
    let changed = fixture(1);
    let effects = update(&mut m, Event::Msg(Msg::Saved(Box::new(changed))));
    assert!(effects.iter().any(|e| matches!(e, Effect::CountSegments { .. })));
    // W saves the current filters and search under a name; D deletes the segment under the cursor.
    update(&mut m, ch('W'));
    type_text(&mut m, "Warm Annas");
    let effects = update(&mut m, key(KeyCode::Enter));
    let Some(Effect::SaveSegment(seg)) = effects.first() else { panic!("{effects:?}") };
    assert_eq!((seg.name.as_str(), seg.query.as_deref()), ("Warm Annas", Some("anna")));
    m.facet_cursor = 0;
    assert_eq!(update(&mut m, ch('D')), vec![Effect::DeleteSegment("VIPs".into())]);
}

#[test]
fn the_import_panel_completes_previews_runs_live_and_reports() {
    use super::import_panel::Stage;
    use crate::import::{Counts, ImportProgress, ImportSummary, Inspection};
    let mut m = loaded();
    update(&mut m, ch('i'));
    assert_eq!(m.popup, Some(Popup::Import));
    type_text(&mut m, "data/le");
    assert_eq!(update(&mut m, key(KeyCode::Tab)), vec![Effect::CompletePath("data/le".into())]);
    let entries = vec!["leads-2025.csv".to_string(), "leads-2026.xlsx".to_string(), "notes/".to_string()];
    update(&mut m, Event::Msg(Msg::Completions { typed: "data/le".into(), entries }));
    assert_eq!(m.import.path(), "data/leads-202");
    assert_eq!(m.import.completions.len(), 2);
    type_text(&mut m, "5.csv");
    assert!(m.import.completions.is_empty(), "typing clears the shown completions");
    assert_eq!(update(&mut m, key(KeyCode::Enter)), vec![Effect::PreviewImport("data/leads-2025.csv".into())]);
    let inspection = Inspection {
        format: "csv".into(),
        encoding: Some("UTF-8".into()),
        delimiter: Some("comma".into()),
        sheet: None,
        sheets: vec![],
        headers: vec!["Name".into(), "Phone".into(), "Lead Score".into()],
        mapping: vec![
            ("Name".into(), "first_name".into()),
            ("Phone".into(), "phone_number".into()),
            ("Lead Score".into(), "custom field lead_score".into()),
        ],
        warnings: vec![],
    };
    let dry = Counts { rows: 1200, created: 1000, updated: 150, unchanged: 40, rejected: 10 };
    update(&mut m, Event::Msg(Msg::ImportPreview(Ok((Box::new(inspection), dry)))));
    insta::assert_snapshot!("import_preview_80x24", render(&m, 80, 24));
    assert_eq!(update(&mut m, key(KeyCode::Enter)), vec![Effect::RunImport("data/leads-2025.csv".into())]);
    let progress = ImportProgress {
        counts: Counts { rows: 600, created: 500, updated: 80, unchanged: 15, rejected: 5 },
        elapsed: std::time::Duration::from_millis(400),
        fraction: Some(0.5),
        touched: vec![],
    };
    update(&mut m, Event::Msg(Msg::ImportProgress(progress)));
    insta::assert_snapshot!("import_running_200x50", render(&m, 200, 50));
    // Hidden, it keeps running and the status bar shows it; new leads join the list live.
    update(&mut m, key(KeyCode::Esc));
    assert!(m.popup.is_none() && m.import.running());
    assert!(render(&m, 200, 50).contains("import 600 rows · 50% · 1500 rows/s"));
    update(&mut m, Event::Msg(Msg::Upserted(vec![lead(7, "Zed", "Zulu", "zed_zulu", "", &[])])));
    assert!(m.order.contains(&7));
    update(&mut m, ch('i'));
    assert_eq!(update(&mut m, ch('x')), vec![Effect::CancelImport]);
    assert!(update(&mut m, ch('x')).is_empty(), "one cancel is enough");
    let summary = ImportSummary {
        import_id: Some(3),
        file: "data/leads-2025.csv".into(),
        format: "csv".into(),
        encoding: None,
        delimiter: None,
        sheet: None,
        mapping: vec![],
        warnings: vec![],
        rows_with_warnings: 0,
        counts: Counts { rows: 1200, created: 1000, updated: 150, unchanged: 40, rejected: 10 },
        elapsed_ms: 800,
        rows_per_sec: 1500.0,
        report: Some("/data/reports/leads-2025-import-3-rejected.csv".into()),
        first_errors: vec!["data/leads-2025.csv row 7: phone_number: …".into()],
        dry_run: false,
        cancelled: false,
    };
    update(&mut m, Event::Msg(Msg::ImportDone(Ok(Box::new(summary)))));
    assert!(matches!(m.import.stage, Stage::Done(_)));
    insta::assert_snapshot!("import_done_80x24", render(&m, 80, 24));
    update(&mut m, key(KeyCode::Enter));
    assert!(m.popup.is_none());
    update(&mut m, ch('i'));
    assert_eq!(m.import.stage, Stage::Path, "the next import starts from the path, which is kept");
    assert_eq!(m.import.path(), "data/leads-2025.csv");
}

#[test]
fn the_detail_shows_the_profile_photo_in_half_blocks_or_says_why_not() {
    let mut m = with_history(loaded());
    m.picker = Some(ratatui_image::picker::Picker::halfblocks());
    let id = m.selected().map(|l| l.id).unwrap();
    let bmp = crate::telegram::sim::avatar_bmp(42);
    let image = image::load_from_memory(&bmp).map(std::sync::Arc::new).map_err(|e| e.to_string());
    assert!(image.is_ok(), "the simulated avatars are real images");
    update(&mut m, Event::Msg(Msg::Photo { id, image }));
    let screen = render(&m, 200, 50);
    assert!(screen.contains('▀') || screen.contains('▄'), "half blocks draw the photo:\n{screen}");
    insta::assert_snapshot!("detail_photo_200x50", screen);
    // A photo of another lead (the selection moved on) is not shown.
    update(&mut m, Event::Msg(Msg::Photo { id: id + 100, image: Err("gone".into()) }));
    assert!(matches!(&m.photo, Some((x, Ok(_))) if *x == id));
    update(&mut m, Event::Msg(Msg::Photo { id, image: Err("photos/u-me/1.jpg: unexpected end of file".into()) }));
    assert!(render(&m, 200, 50).contains("photo unreadable: photos/u-me/1.jpg"));
}

/// What a key press can visibly change.
fn fingerprint(m: &Model) -> String {
    format!(
        "{} {:?} {:?} {:?} {} {} {:?} {:?} {:?} {:?} {:?} {:?}",
        m.cursor,
        m.focus,
        m.popup,
        m.marked,
        m.quit,
        m.detail_open,
        m.message,
        m.sort,
        m.filter,
        m.active_segment,
        m.query.value(),
        m.edit_pending
    )
}

#[test]
fn every_key_in_the_help_overlay_does_something() {
    use super::keymap::{parse_key, DEFAULTS};
    use super::ui::{HelpKey, KEYS};
    let press = |m: &mut Model, spec: &str| {
        let (code, mods) = parse_key(spec).unwrap();
        update(m, Event::Term(TermEvent::Key(KeyEvent::new(code, mods))))
    };
    // The cursor starts mid-list, so every move has somewhere to go.
    let fresh = || {
        let mut m = loaded();
        update(&mut m, ch('j'));
        m
    };
    for (keys, what) in KEYS {
        let HelpKey::Actions(actions) = keys else { continue };
        for action in *actions {
            let (_, specs) = DEFAULTS.iter().find(|(a, _)| a == action).expect("a listed action has keys");
            for spec in *specs {
                let mut m = fresh();
                let before = fingerprint(&m);
                let effects = press(&mut m, spec);
                assert!(!effects.is_empty() || fingerprint(&m) != before, "{spec} ({action}: {what}) changed nothing");
            }
        }
    }
    // The fixed keys: Esc closes, and the filter pane's Space, c, W and D.
    let mut m = fresh();
    press(&mut m, "?");
    press(&mut m, "esc");
    assert!(m.popup.is_none());
    let segment = crate::model::Segment { name: "VIPs".into(), filter: Default::default(), query: Some("ivan".into()) };
    update(&mut m, Event::Msg(Msg::Segments { segments: vec![segment], counts: vec![1] }));
    press(&mut m, "tab");
    assert_eq!(m.focus, Focus::Filter);
    assert_eq!(press(&mut m, "D"), vec![Effect::DeleteSegment("VIPs".into())]);
    press(&mut m, "j");
    let before = fingerprint(&m);
    press(&mut m, "space");
    assert_ne!(fingerprint(&m), before, "Space toggles a facet");
    press(&mut m, "c");
    assert_eq!(m.filter, Default::default(), "c clears the filters");
    press(&mut m, "W");
    assert!(matches!(m.popup, Some(Popup::Text { .. })), "W asks for a segment name");
}

#[test]
fn snapshot_every_popup_at_both_sizes() {
    use super::app::{Field, TextKind};
    let popups = [
        ("help", Popup::Help),
        ("status", Popup::Status { selected: 1 }),
        ("priority", Popup::Priority { selected: 0 }),
        ("workspace", Popup::Workspace { selected: 1 }),
        ("sort", Popup::Sort { selected: 2 }),
        ("delete", Popup::ConfirmDelete { ids: vec![2] }),
        ("note", Popup::Text { kind: TextKind::Note, ids: vec![2], input: Field::default() }),
        ("tags", Popup::Text { kind: TextKind::Tags, ids: vec![1, 2], input: Field::default() }),
        ("segment_name", Popup::Text { kind: TextKind::SegmentName, ids: vec![], input: Field::default() }),
        ("crawl", Popup::Crawl { target: Field::default(), method: 0 }),
        ("form", Popup::Form(Box::new(super::form::Form::add()))),
        ("import", Popup::Import),
        ("accounts", Popup::Accounts),
    ];
    for (name, popup) in popups {
        let mut m = loaded();
        update(&mut m, Event::Msg(Msg::Accounts(vec![account_row("demo-1", "connected")])));
        m.popup = Some(popup);
        for (w, h) in [(80, 24), (200, 50)] {
            insta::assert_snapshot!(format!("popup_{name}_{w}x{h}"), render(&m, w, h));
        }
    }
}

fn account_row(name: &str, health: &str) -> super::accounts::AccountRow {
    super::accounts::AccountRow {
        name: name.into(),
        phone: "+15550001".into(),
        backend: "simulated".into(),
        health: health.into(),
        needs_login: health == "needs login",
    }
}

#[test]
fn the_accounts_panel_logs_in_through_the_runtime_and_comes_back_to_ask() {
    use super::accounts::{Ask, Stage};
    let mut m = loaded();
    assert_eq!(update(&mut m, ch('A')), vec![Effect::LoadAccounts]);
    assert_eq!(m.popup, Some(Popup::Accounts));
    update(&mut m, Event::Msg(Msg::Accounts(vec![account_row("demo-1", "connected")])));
    update(&mut m, ch('a'));
    type_text(&mut m, "work");
    update(&mut m, key(KeyCode::Tab));
    type_text(&mut m, "+15550009");
    let effects = update(&mut m, key(KeyCode::Enter));
    assert_eq!(effects, vec![Effect::StartLogin { name: "work".into(), phone: "+15550009".into() }]);
    // Hidden while Telegram works, the panel comes back with the question.
    update(&mut m, key(KeyCode::Esc));
    assert_eq!(m.popup, None);
    assert!(update(&mut m, ch('A')).is_empty(), "no recheck while a login runs");
    update(&mut m, key(KeyCode::Esc));
    update(&mut m, Event::Msg(Msg::LoginAsk(Ask::Code { phone: "+15550009".into() })));
    assert_eq!(m.popup, Some(Popup::Accounts));
    insta::assert_snapshot!("accounts_code_80x24", render(&m, 80, 24));
    type_text(&mut m, "12345");
    assert_eq!(update(&mut m, key(KeyCode::Enter)), vec![Effect::LoginAnswer(Some("12345".into()))]);
    update(&mut m, Event::Msg(Msg::LoginAsk(Ask::Password { hint: Some("the demo password".into()) })));
    type_text(&mut m, "demo");
    let screen = render(&m, 200, 50);
    let line = screen.lines().find(|l| l.contains("Password ")).unwrap_or_default();
    assert!(line.contains("••••") && !line.contains("demo"), "{screen}");
    insta::assert_snapshot!("accounts_password_200x50", screen);
    update(&mut m, key(KeyCode::Enter));
    let effects = update(&mut m, Event::Msg(Msg::LoginDone(Ok("account work logged in as Work".into()))));
    assert_eq!(effects, vec![Effect::LoadAccounts]);
    assert_eq!(m.accounts.stage, Stage::List);
    assert_eq!(m.message, Some(("account work logged in as Work".into(), false)));
}

/// The live facet counts equal a fresh count of the rows.
fn assert_facets_consistent(m: &Model) {
    assert_eq!(m.facets, m.leads.facet_counts(), "live facet counts drifted from the rows");
}

#[test]
fn facet_counts_stay_right_through_tag_changes_and_deletes() {
    let mut m = loaded();
    assert_facets_consistent(&m);
    let mut changed = fixture(1);
    changed.tags = ["fresh".to_string()].into();
    changed.groups.insert("Second Group".into());
    update(&mut m, Event::Msg(Msg::Saved(Box::new(changed))));
    assert_eq!(m.facets.get("t:vip"), None);
    assert_eq!(m.facets.get("t:fresh"), Some(&1));
    assert_facets_consistent(&m);
    update(&mut m, Event::Msg(Msg::Deleted(vec![2, 1])));
    assert_eq!((m.facets.get("t:warm"), m.facets.get("g:Second Group")), (None, None));
    assert_eq!(m.order, vec![3]);
    assert_facets_consistent(&m);
    update(&mut m, Event::Msg(Msg::Upserted(vec![lead(8, "Olga", "K", "olga_k8", "", &["vip"])])));
    assert_facets_consistent(&m);
}

#[test]
fn an_open_detail_follows_every_change_of_selection() {
    let mut m = loaded();
    assert_eq!(update(&mut m, key(KeyCode::Enter)), vec![Effect::LoadDetail(3)]);
    update(&mut m, Event::Msg(Msg::Detail { lead: Box::new(fixture(3)), entries: Vec::new() }));
    // Space marks and moves down.
    m.focus = Focus::List;
    assert_eq!(update(&mut m, ch(' ')), vec![Effect::LoadDetail(2)]);
    assert!(update(&mut m, key(KeyCode::Char('~'))).is_empty(), "asked once, not on every event");
    // Arrows in the search box.
    update(&mut m, ch('/'));
    assert_eq!(update(&mut m, key(KeyCode::Down)), vec![Effect::LoadDetail(1)]);
    update(&mut m, key(KeyCode::Esc));
    // A search that reorders the list.
    let generation = m.search_generation;
    let effects = update(&mut m, Event::Msg(Msg::SearchDone { generation, ids: vec![3, 1], last: true }));
    assert!(effects.is_empty() || effects == vec![Effect::LoadDetail(3)], "{effects:?}");
    // Deleting the lead under the cursor selects its neighbour, and the detail follows.
    let selected = m.selected().map(|r| r.id).unwrap();
    update(&mut m, Event::Msg(Msg::Detail { lead: Box::new(fixture(selected)), entries: Vec::new() }));
    let effects = update(&mut m, Event::Msg(Msg::Deleted(vec![selected])));
    let now = m.selected().map(|r| r.id).unwrap();
    assert_ne!(now, selected);
    assert!(effects.contains(&Effect::LoadDetail(now)), "{effects:?}");
}

#[test]
fn a_pending_edit_is_dropped_when_the_selection_moves_and_stale_details_are_read_again() {
    let mut m = loaded();
    assert_eq!(update(&mut m, ch('e')), vec![Effect::LoadDetail(3)]);
    update(&mut m, ch('j'));
    assert_eq!(m.edit_pending, None, "the edit was for the lead the cursor left");
    update(&mut m, Event::Msg(Msg::Detail { lead: Box::new(fixture(3)), entries: Vec::new() }));
    assert!(m.popup.is_none(), "no form pops up for a lead no longer selected");
    // A detail read before a newer write reached the list is read again, not shown.
    let mut newer = fixture(2);
    newer.updated_at += 1_000;
    newer.status = Status::Blocked;
    update(&mut m, Event::Msg(Msg::Saved(Box::new(newer))));
    assert_eq!(update(&mut m, ch('e')), vec![Effect::LoadDetail(2)]);
    let effects = update(&mut m, Event::Msg(Msg::Detail { lead: Box::new(fixture(2)), entries: Vec::new() }));
    assert_eq!(effects, vec![Effect::LoadDetail(2)]);
    assert_eq!(m.leads.get(2).map(|r| r.status), Some(Status::Blocked), "the older read did not win");
    assert!(m.popup.is_none());
    // A lead deleted elsewhere: its row goes, and the pending edit with it.
    update(&mut m, Event::Msg(Msg::DetailFailed { id: 2, gone: true, why: "lead #2 is gone".into() }));
    assert!(m.leads.get(2).is_none() && !m.order.contains(&2));
    assert_eq!((m.edit_pending, m.message.clone()), (None, Some(("lead #2 is gone".into(), true))));
    assert_facets_consistent(&m);
}

/// The list as a full sort of the loaded rows would show it (no query, no filter).
fn fully_sorted(m: &Model) -> Vec<u64> {
    let mut rows: Vec<&super::rows::Row> = m.leads.iter().collect();
    super::rows::sort(&mut rows, m.sort, &m.leads.strings);
    rows.into_iter().map(|r| r.id).collect()
}

#[test]
fn leads_arriving_live_are_merged_where_the_sort_puts_them_and_the_cursor_stays() {
    let mut m = loaded();
    update(&mut m, ch('j'));
    let on = m.selected().map(|r| r.id);
    let mut renamed = fixture(3);
    renamed.first_name = "Boris".into();
    renamed.updated_at = T0;
    let batch = vec![lead(8, "Olga", "K", "olga_k8", "", &[]), lead(9, "Aaron", "Z", "aaron_z9", "", &[]), renamed];
    update(&mut m, Event::Msg(Msg::Upserted(batch.clone())));
    assert_eq!(m.order, fully_sorted(&m));
    assert_eq!(m.selected().map(|r| r.id), on, "the cursor stays on its lead");
    // Sorted by name, ascending.
    update(&mut m, ch('S'));
    update(&mut m, ch('j'));
    update(&mut m, ch('j'));
    update(&mut m, key(KeyCode::Enter));
    let mut more = fixture(2);
    more.first_name = "Zoe".into();
    update(&mut m, Event::Msg(Msg::Upserted(vec![more, lead(10, "Carl", "B", "carl_b10", "", &[])])));
    assert_eq!(m.order, fully_sorted(&m));
    assert_eq!(m.leads.get(m.order[0]).map(|r| r.first_name().to_string()), Some("Aaron".into()));
}
