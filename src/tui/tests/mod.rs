//! State-machine tests of `update`, and rendering snapshots on ratatui's TestBackend.

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::model::{Focus, Model, Place};
use super::msg::{Effect, Event, Msg};
use super::panels::choice::{Choice, ChoiceKind, Confirm};
use super::panels::text::{TextKind, TextPrompt};
use super::panels::Popup;
use super::rows::Rows;
use super::ui;
use super::update;
use crate::crawl::backend::Health;
use crate::model::{Activity, ActivityKind, Facet, Lead, LeadInput, Priority, Source, Status};
use crate::store::merge::{create, Withheld};
use crate::store::Scope;
use crate::workspace::{Access, Role, View, Workspace};

mod campaigns;
mod session;
mod talk;
mod updates;

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
    create(id, "u:me", "me", T0 + id as i64 * 60_000, c, Withheld::default()).0
}

fn place() -> Place {
    Place {
        label: "personal (me)".into(),
        workspace: Workspace::Personal("me".into()),
        access: Some(Access::Personal),
        view: View::Own,
    }
}

fn scope() -> Box<Scope> {
    Box::new(Scope {
        workspace: "u:me".into(),
        user: "me".into(),
        access: Access::Personal,
        created_by: Some("me".into()),
    })
}

fn tag(t: &str) -> Facet {
    Facet::Tag(t.into())
}

/// `leads` written by anyone: the next version of the rows, as the workspace's shared set sends it.
fn changed(m: &mut Model, leads: Vec<Lead>) -> Vec<Effect> {
    let mut rows = m.leads.clone();
    for l in &leads {
        rows.upsert(l);
    }
    let changed = leads.iter().map(|l| l.id).collect();
    update(m, Event::Msg(Msg::LeadsChanged { generation: 0, rows, changed, gone: Vec::new() }))
}

/// Leads deleted by anyone.
fn gone(m: &mut Model, ids: Vec<u64>) -> Vec<Effect> {
    let mut rows = m.leads.clone();
    rows.remove(&ids);
    update(m, Event::Msg(Msg::LeadsChanged { generation: 0, rows, changed: Vec::new(), gone: ids }))
}

/// A load of the personal workspace with no leads, answering request `generation`.
fn empty_load(generation: u64) -> Event {
    Event::Msg(Msg::Loaded {
        generation,
        place: place(),
        scope: scope(),
        leads: Rows::default(),
        facets: Default::default(),
    })
}

fn member() -> Option<Access> {
    Some(Access::Org { role: Role::Member, members_can_view_all: false })
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
    let effects =
        update(&mut m, Event::Msg(Msg::Loaded { generation: 0, place: place(), scope: scope(), leads, facets }));
    update(
        &mut m,
        Event::Msg(Msg::Workspaces(vec![
            ("personal (me)".into(), Workspace::Personal("me".into())),
            ("acme (member)".into(), Workspace::Org("acme".into())),
        ])),
    );
    // Loading asks for the workspace's segments and their counts, in the view's base filter.
    let base = crate::store::Filter { created_by: Some("me".into()), ..Default::default() };
    assert_eq!(effects, vec![Effect::CountSegments { base }]);
    m
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
    update(&mut m, empty_load(0));
    insta::assert_snapshot!("empty_80x24", render(&m, 80, 24));
}

#[test]
fn snapshot_workspace_switcher() {
    let mut m = loaded();
    update(&mut m, ch('o'));
    insta::assert_snapshot!("workspaces_80x24", render(&m, 80, 24));
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
fn notes_and_tags_are_typed_in_a_popup() {
    let mut m = loaded();
    update(&mut m, ch('n'));
    assert!(matches!(m.popup, Some(Popup::Text(TextPrompt { kind: TextKind::Note, .. }))));
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
    assert_eq!(m.popup, Some(Popup::Confirm(Confirm { ids: vec![2, 3] })));
    insta::assert_snapshot!("bulk_delete_80x24", render(&m, 80, 24));
    assert_eq!(update(&mut m, ch('y')), vec![Effect::Delete { ids: vec![2, 3] }]);
    gone(&mut m, vec![2]);
    assert_eq!(m.marked.iter().copied().collect::<Vec<_>>(), vec![3]);
    // V marks the whole view, and again clears.
    update(&mut m, ch('V'));
    assert_eq!(m.marked.len(), 2);
    update(&mut m, ch('V'));
    assert!(m.marked.is_empty());
    // A member cannot bulk-delete leads of others, and is told before the question.
    m.place.access = member();
    m.user = "mia".into();
    update(&mut m, ch('V'));
    update(&mut m, ch('d'));
    assert_eq!(m.popup, None);
    assert!(m.message.as_ref().is_some_and(|(msg, _)| msg.contains("2 of these are not yours")));
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
    assert!(m.crawl.running());
    // While it runs, typing does not change the target, and x cancels.
    update(&mut m, ch('q'));
    assert!(m.popup == Some(Popup::Crawl) && m.crawl.target.text() == "@demo_big");
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
    changed(&mut m, vec![newcomer]);
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
    let past = |target: &str, title: &str, state, members, at| super::panels::crawl::PastCrawl {
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
    let Some(Effect::SaveLead { id: None, input, .. }) = effects.first() else { panic!("{effects:?}") };
    assert_eq!(input.username.as_deref(), Some("Anna_Smith"));
    // The store matched @anna_smith (any case): lead 2 took the new phone.
    let mut merged = fixture(2);
    merged.phone = Some(crate::normalize::normalize_phone("+7 916 000", None));
    // As they arrive: the lead in a version of the shared rows, then the form's answer.
    changed(&mut m, vec![merged.clone()]);
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
    // A change to the leads does not ask for a recount: the counter follows the changes itself.
    let changed = fixture(1);
    let effects = self::changed(&mut m, vec![changed]);
    assert!(!effects.iter().any(|e| matches!(e, Effect::CountSegments { .. })), "{effects:?}");
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
    use super::panels::import::Stage;
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
    changed(&mut m, vec![lead(7, "Zed", "Zulu", "zed_zulu", "", &[])]);
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
        messages: None,
        elapsed_ms: 800,
        rows_per_sec: 1500.0,
        report: Some("/data/reports/leads-2025-import-3-rejected.csv".into()),
        first_errors: vec!["data/leads-2025.csv row 7: phone_number: …".into()],
        dry_run: false,
        cancelled: false,
        phases: Default::default(),
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
    assert!(matches!(&m.photo, Some(p) if p.id == id && p.image.is_ok()));
    update(&mut m, Event::Msg(Msg::Photo { id, image: Err("photos/u-me/1.jpg: unexpected end of file".into()) }));
    assert!(render(&m, 200, 50).contains("photo unreadable: photos/u-me/1.jpg"));
}

/// What a key press can visibly change.
fn fingerprint(m: &Model) -> String {
    format!(
        "{} {:?} {:?} {:?} {} {} {:?} {:?} {:?} {:?} {:?} {:?} {:?} {}",
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
        m.edit_pending,
        m.detail_tab,
        m.inbox
    )
}

#[test]
fn snapshot_every_popup_at_both_sizes() {
    let popups = [
        ("help", Popup::Help),
        ("status", Popup::Choice(Choice::new(ChoiceKind::Status, 1))),
        ("priority", Popup::Choice(Choice::new(ChoiceKind::Priority, 0))),
        ("workspace", Popup::Choice(Choice::new(ChoiceKind::Workspace, 1))),
        ("sort", Popup::Choice(Choice::new(ChoiceKind::Sort, 2))),
        ("delete", Popup::Confirm(Confirm { ids: vec![2] })),
        ("note", Popup::Text(TextPrompt::new(TextKind::Note, vec![2]))),
        ("tags", Popup::Text(TextPrompt::new(TextKind::Tags, vec![1, 2]))),
        ("segment_name", Popup::Text(TextPrompt::new(TextKind::SegmentName, vec![]))),
        ("crawl", Popup::Crawl),
        ("form", Popup::Form(Box::new(super::panels::form::Form::add()))),
        ("import", Popup::Import),
        ("accounts", Popup::Accounts),
    ];
    for (name, popup) in popups {
        let mut m = loaded();
        update(&mut m, Event::Msg(Msg::Accounts(vec![account_row("demo-1", Health::Connected)])));
        m.popup = Some(popup);
        for (w, h) in [(80, 24), (200, 50)] {
            insta::assert_snapshot!(format!("popup_{name}_{w}x{h}"), render(&m, w, h));
        }
    }
}

fn account_row(name: &str, health: Health) -> super::panels::accounts::AccountRow {
    super::panels::accounts::AccountRow {
        name: name.into(),
        phone: "+15550001".into(),
        backend: "simulated".into(),
        health,
    }
}

#[test]
fn the_accounts_panel_logs_in_through_the_runtime_and_comes_back_to_ask() {
    use super::panels::accounts::{Ask, Stage};
    let mut m = loaded();
    assert_eq!(update(&mut m, ch('A')), vec![Effect::LoadAccounts]);
    assert_eq!(m.popup, Some(Popup::Accounts));
    update(&mut m, Event::Msg(Msg::Accounts(vec![account_row("demo-1", Health::Connected)])));
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

/// The list as a full sort of the loaded rows would show it (no query, no filter).
fn fully_sorted(m: &Model) -> Vec<u64> {
    let mut rows: Vec<&super::rows::Row> = m.leads.iter().collect();
    super::rows::sort(&mut rows, m.sort, &m.leads.strings);
    rows.into_iter().map(|r| r.id).collect()
}
