//! State-machine tests of `update`: keys and messages into the model, and the effects asked for.

use super::*;

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
    assert_eq!(e1, vec![Effect::Search { generation: g + 1, query: "a".into(), within: None }]);
    assert_eq!(e2, vec![Effect::Search { generation: g + 2, query: "an".into(), within: None }]);
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
    assert_eq!(m.popup, Some(Popup::Choice(Choice::new(ChoiceKind::Status, 0))));
    update(&mut m, ch('j'));
    assert_eq!(update(&mut m, key(KeyCode::Enter)), vec![Effect::SetStatus { ids: vec![3], status: Status::Blocked }]);
    assert_eq!(m.popup, None);
    update(&mut m, ch('p'));
    assert_eq!(m.popup, Some(Popup::Choice(Choice::new(ChoiceKind::Priority, 1))));
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
    self::changed(&mut m, vec![changed]);
    assert_eq!(m.leads.get(3).map(|r| r.status), Some(Status::Archived));
    update(&mut m, Event::Msg(Msg::Notice("saved #3".into())));
    assert_eq!(m.message, Some(("saved #3".into(), false)));
    update(&mut m, Event::Msg(Msg::Error("permission denied: nope".into())));
    assert_eq!(m.message, Some(("permission denied: nope".into(), true)));
    update(&mut m, ch('i'));
    assert_eq!(m.popup, Some(Popup::Import));
    update(&mut m, key(KeyCode::Esc));
    update(&mut m, ch('q'));
    assert!(m.quit);
}

#[test]
fn the_workspace_switcher_loads_and_remembers_and_stale_loads_are_dropped() {
    let mut m = loaded();
    update(&mut m, ch('o'));
    assert_eq!(m.popup, Some(Popup::Choice(Choice::new(ChoiceKind::Workspace, 0))));
    update(&mut m, ch('j'));
    let effects = update(&mut m, key(KeyCode::Enter));
    let acme_ws = Workspace::Org("acme".into());
    assert_eq!(effects, vec![Effect::Switch { generation: 1, workspace: acme_ws, view: View::Own, remember: true }]);
    assert!(m.loading);
    // A load answering an older request is ignored.
    update(&mut m, empty_load(0));
    assert_eq!(m.leads.len(), 3);
    let acme =
        Place { label: "acme".into(), workspace: Workspace::Org("acme".into()), access: member(), view: View::Own };
    update(
        &mut m,
        Event::Msg(Msg::Loaded {
            generation: 1,
            place: acme.clone(),
            scope: scope(),
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
    let me = Workspace::Personal("me".into());
    assert_eq!(effects, vec![Effect::Switch { generation: 1, workspace: me, view: View::All, remember: false }]);
}

#[test]
fn facet_toggles_filter_the_list_and_combine_with_search() {
    let mut m = loaded();
    assert_eq!(m.facets.get(&tag("vip")), Some(&1));
    update(&mut m, key(KeyCode::Tab));
    assert_eq!(m.focus, Focus::Filter);
    let vip = m.facet_rows().iter().position(|(f, _)| *f == tag("vip")).unwrap();
    for _ in 0..vip {
        update(&mut m, ch('j'));
    }
    assert!(update(&mut m, ch(' ')).is_empty(), "an empty query re-sorts in memory");
    assert!(m.facet_on(&tag("vip")));
    assert_eq!(m.order, vec![1]);
    // Search results are narrowed by the same filter.
    update(&mut m, ch('/'));
    let effects = update(&mut m, ch('a'));
    // The search ranks within the filter: only the filtered leads may match.
    let within = Some(std::sync::Arc::new(vec![1]));
    assert_eq!(effects, vec![Effect::Search { generation: m.search_generation, query: "a".into(), within }]);
    let generation = m.search_generation;
    update(&mut m, Event::Msg(Msg::SearchDone { generation, ids: vec![2, 1], last: true }));
    assert_eq!(m.order, vec![1]);
    update(&mut m, key(KeyCode::Esc));
    update(&mut m, key(KeyCode::Tab));
    update(&mut m, ch('c'));
    assert!(!m.facet_on(&tag("vip")));
    // A saved change moves the counts.
    let mut changed = fixture(1);
    changed.status = Status::Blocked;
    self::changed(&mut m, vec![changed]);
    assert_eq!(m.facets.get(&Facet::Status(Status::Blocked)), Some(&1));
    assert_eq!(m.facets.get(&Facet::Status(Status::Active)), Some(&2));
}

#[test]
fn delete_asks_first_and_a_member_is_told_the_rule_before_asking() {
    let mut m = loaded();
    update(&mut m, ch('d'));
    assert_eq!(m.popup, Some(Popup::Confirm(Confirm { ids: vec![3] })));
    assert!(update(&mut m, ch('n')).is_empty(), "anything but y cancels");
    update(&mut m, ch('d'));
    assert_eq!(update(&mut m, ch('y')), vec![Effect::Delete { ids: vec![3] }]);
    gone(&mut m, vec![3]);
    assert_eq!(m.order, vec![2, 1]);
    assert_eq!(m.facets.get(&Facet::Status(Status::Active)), Some(&2));

    m.place.access = member();
    m.user = "mia".into();
    update(&mut m, ch('d'));
    assert_eq!(m.popup, None);
    assert!(m.message.as_ref().is_some_and(|(msg, err)| *err && msg.contains("only the leads they created")));
}

#[test]
fn export_takes_the_current_view_in_order() {
    let mut m = loaded();
    update(&mut m, key(KeyCode::Tab));
    for _ in 0..m.facet_rows().iter().position(|(f, _)| *f == tag("vip")).unwrap() {
        update(&mut m, ch('j'));
    }
    update(&mut m, ch(' '));
    update(&mut m, key(KeyCode::Tab));
    let effects = update(&mut m, ch('x'));
    let [Effect::Export { ids }] = effects.as_slice() else { panic!("{effects:?}") };
    assert_eq!(ids, &vec![1], "the view, in its order (export_ids writes them; see export.rs)");
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
    m.keymap = crate::tui::keymap::Keymap::new(&[("quit".to_string(), "ctrl-x".to_string())].into()).unwrap();
    update(&mut m, key(KeyCode::Tab));
    update(&mut m, ch('q'));
    assert!(!m.quit, "nor in the filter pane");
    update(&mut m, key(KeyCode::Tab));
    update(&mut m, ch('q'));
    assert!(!m.quit, "q is no longer quit");
    update(&mut m, Event::Term(TermEvent::Key(KeyEvent::new(KeyCode::Char('x'), KeyModifiers::CONTROL))));
    assert!(m.quit);
    let mut m = loaded();
    m.keymap = crate::tui::keymap::Keymap::new(&[("quit".to_string(), "Q".to_string())].into()).unwrap();
    update(&mut m, ch('?'));
    assert!(render(&m, 80, 24).contains(" Q "), "{}", render(&m, 80, 24));
}

#[test]
fn every_key_in_the_help_overlay_does_something() {
    use crate::tui::keymap::{parse_key, Scope, HELP};
    let press = |m: &mut Model, spec: &str| {
        let (code, mods) = parse_key(spec).unwrap();
        update(m, Event::Term(TermEvent::Key(KeyEvent::new(code, mods))))
    };
    // The cursor starts mid-list, so every move has somewhere to go; a segment exists to act on.
    let fresh = |scope: Scope| {
        let mut m = loaded();
        update(&mut m, ch('j'));
        let segment =
            crate::model::Segment { name: "VIPs".into(), filter: Default::default(), query: Some("ivan".into()) };
        update(&mut m, Event::Msg(Msg::Segments { segments: vec![segment], counts: vec![1] }));
        match scope {
            Scope::Filters => {
                m.focus = Focus::Filter;
                m.filter.status = vec![Status::Active];
            }
            _ => update(&mut m, key(KeyCode::Enter)).truncate(0),
        }
        m
    };
    for (actions, what) in HELP {
        for action in *actions {
            let spec = action.spec();
            for key in spec.keys {
                let mut m = fresh(spec.scope);
                let before = fingerprint(&m);
                let effects = press(&mut m, key);
                let name = spec.name;
                assert!(!effects.is_empty() || fingerprint(&m) != before, "{key} ({name}: {what}) changed nothing");
            }
        }
    }
}

#[test]
fn facet_counts_stay_right_through_tag_changes_and_deletes() {
    let mut m = loaded();
    assert_facets_consistent(&m);
    let mut changed = fixture(1);
    changed.tags = ["fresh".to_string()].into();
    changed.groups.insert("Second Group".into());
    self::changed(&mut m, vec![changed]);
    assert_eq!(m.facets.get(&tag("vip")), None);
    assert_eq!(m.facets.get(&tag("fresh")), Some(&1));
    assert_facets_consistent(&m);
    gone(&mut m, vec![2, 1]);
    assert_eq!((m.facets.get(&tag("warm")), m.facets.get(&Facet::Group("Second Group".into()))), (None, None));
    assert_eq!(m.order, vec![3]);
    assert_facets_consistent(&m);
    self::changed(&mut m, vec![lead(8, "Olga", "K", "olga_k8", "", &["vip"])]);
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
    let effects = gone(&mut m, vec![selected]);
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
    changed(&mut m, vec![newer]);
    assert_eq!(update(&mut m, ch('e')), vec![Effect::LoadDetail(2)]);
    let effects = update(&mut m, Event::Msg(Msg::Detail { lead: Box::new(fixture(2)), entries: Vec::new() }));
    assert_eq!(effects, vec![Effect::LoadDetail(2)]);
    assert_eq!(m.leads.get(2).map(|r| r.status), Some(Status::Blocked), "the older read did not win");
    assert!(m.popup.is_none());
    // A lead deleted elsewhere: it leaves the list at once (its row, when the feed's version
    // comes), and the pending edit with it.
    update(&mut m, Event::Msg(Msg::DetailFailed { id: 2, gone: true, why: "lead #2 is gone".into() }));
    assert!(!m.order.contains(&2));
    assert_eq!((m.edit_pending, m.message.clone()), (None, Some(("lead #2 is gone".into(), true))));
    assert_facets_consistent(&m);
}

#[test]
fn leads_arriving_live_are_merged_where_the_sort_puts_them_and_the_cursor_stays() {
    let mut m = loaded();
    update(&mut m, ch('j'));
    let on = m.selected().map(|r| r.id);
    let mut renamed = fixture(3);
    renamed.first_name = "Boris".into();
    renamed.updated_at = T0 + 10 * 60_000;
    let batch = vec![lead(8, "Olga", "K", "olga_k8", "", &[]), lead(9, "Aaron", "Z", "aaron_z9", "", &[]), renamed];
    changed(&mut m, batch.clone());
    assert_eq!(m.order, fully_sorted(&m));
    assert_eq!(m.selected().map(|r| r.id), on, "the cursor stays on its lead");
    // Sorted by name, ascending.
    update(&mut m, ch('S'));
    update(&mut m, ch('j'));
    update(&mut m, ch('j'));
    update(&mut m, key(KeyCode::Enter));
    let mut more = fixture(2);
    more.first_name = "Zoe".into();
    changed(&mut m, vec![more, lead(10, "Carl", "B", "carl_b10", "", &[])]);
    assert_eq!(m.order, fully_sorted(&m));
    assert_eq!(m.leads.get(m.order[0]).map(|r| r.first_name().to_string()), Some("Aaron".into()));
}

#[test]
fn esc_cancels_a_running_preview() {
    use crate::tui::panels::import::Stage;
    let mut m = loaded();
    update(&mut m, ch('i'));
    type_text(&mut m, "big.csv");
    assert_eq!(update(&mut m, key(KeyCode::Enter)), vec![Effect::PreviewImport("big.csv".into())]);
    assert_eq!(m.import.stage, Stage::Inspecting);
    assert_eq!(update(&mut m, key(KeyCode::Esc)), vec![Effect::CancelPreview]);
    assert_eq!(m.import.stage, Stage::Path);
    // A preview that answers after all is not shown.
    let dry = crate::import::Counts::default();
    update(&mut m, Event::Msg(Msg::ImportPreview(Err(format!("{dry:?}")))));
    assert_eq!(m.import.stage, Stage::Path);
}

#[test]
fn with_the_detail_open_the_list_drops_columns_before_it_cuts_usernames() {
    let m = with_history(loaded());
    let screen = render(&m, 160, 40);
    let header = screen.lines().find(|l| l.contains("NAME")).unwrap_or_default();
    assert!(header.contains("USERNAME") && !header.contains("UPDATED") && !header.contains("SOURCE"), "{header}");
    assert!(screen.contains("@anna_smith"), "usernames keep their width:\n{screen}");
}

#[test]
fn the_photo_is_built_for_the_terminal_once_not_every_frame() {
    let mut m = with_history(loaded());
    m.picker = Some(ratatui_image::picker::Picker::halfblocks());
    let id = m.selected().map(|l| l.id).unwrap();
    let image = image::load_from_memory(&crate::telegram::sim::avatar_bmp(7)).map(std::sync::Arc::new);
    update(&mut m, Event::Msg(Msg::Photo { id, image: image.map_err(|e| e.to_string()) }));
    for _ in 0..5 {
        render(&m, 200, 50);
    }
    assert_eq!(m.photo.as_ref().map(|p| p.builds.get()), Some(1));
    render(&m, 160, 50);
    assert_eq!(m.photo.as_ref().map(|p| p.builds.get()), Some(2), "a new size builds it again");
}

#[test]
fn versions_of_an_older_load_are_dropped_and_the_scope_keeps_other_users_leads_out() {
    let mut m = loaded();
    let effects = update(&mut m, ch('v'));
    assert!(matches!(effects.as_slice(), [Effect::Switch { generation: 1, .. }]));
    // A version of the old load's workspace, after the switch: not for the view that loads.
    let mut rows = m.leads.clone();
    rows.upsert(&lead(20, "Old", "Scope", "old_scope", "", &[]));
    update(&mut m, Event::Msg(Msg::LeadsChanged { generation: 0, rows, changed: vec![20], gone: vec![] }));
    assert!(m.leads.get(20).is_none(), "nothing lands in the old rows");
    // The workspace's rows hold bob's lead too; this own view never lists, counts or searches it.
    let mut theirs = lead(21, "Their", "Lead", "their_lead", "", &["vip"]);
    theirs.created_by = "bob".into();
    let mut all = fixtures();
    all.push(theirs.clone());
    let rows = Rows::from_leads(&all);
    let facets = rows.facet_counts_of(rows.in_scope(Some("me")));
    update(&mut m, Event::Msg(Msg::Loaded { generation: 1, place: place(), scope: scope(), leads: rows, facets }));
    assert!(m.leads.get(21).is_some(), "the rows are the workspace's");
    assert!(!m.in_view(21) && !m.order.contains(&21), "but the view is the scope's");
    assert_eq!(m.facets.get(&tag("vip")), Some(&1), "only our vip counts");
    let effects: Vec<Effect> = "/their".chars().flat_map(|c| update(&mut m, ch(c))).collect();
    let within = effects.iter().rev().find_map(|e| match e {
        Effect::Search { within, .. } => Some(within.clone()),
        _ => None,
    });
    assert_eq!(within, Some(Some(std::sync::Arc::new(vec![1, 2, 3]))), "a search ranks within the scope");
    let generation = m.search_generation;
    update(&mut m, Event::Msg(Msg::SearchDone { generation, ids: vec![21, 2], last: true }));
    assert_eq!(m.order, [2], "a hit outside the scope is never listed");
    update(&mut m, key(KeyCode::Esc));
    // Bob's lead changes, and one of ours: only ours moves the counts and the list.
    let mut rows = m.leads.clone();
    theirs.tags = ["cold".to_string()].into();
    theirs.updated_at += 10_000_000;
    rows.upsert(&theirs);
    let mut ours = fixture(2);
    ours.status = Status::Blocked;
    ours.updated_at += 10_000_000;
    rows.upsert(&ours);
    update(&mut m, Event::Msg(Msg::LeadsChanged { generation: 1, rows, changed: vec![21, 2], gone: vec![] }));
    assert!(!m.order.contains(&21) && !m.facets.contains_key(&tag("cold")));
    assert_eq!(m.order.first(), Some(&2), "ours moved to the top");
    assert_eq!(m.facets, m.leads.facet_counts_of(m.leads.in_scope(Some("me"))));
    // Deleted: ours leaves; theirs was never there.
    let mut rows = m.leads.clone();
    rows.remove(&[2, 21]);
    update(&mut m, Event::Msg(Msg::LeadsChanged { generation: 1, rows, changed: vec![], gone: vec![2, 21] }));
    assert!(!m.order.contains(&2));
    assert_eq!(m.facets, m.leads.facet_counts_of(m.leads.in_scope(Some("me"))));
}

#[test]
fn a_failed_load_stops_saying_loading() {
    let mut m = loaded();
    update(&mut m, ch('v'));
    assert!(m.loading);
    update(&mut m, Event::Msg(Msg::LoadFailed { generation: 1, why: "permission denied: nope".into() }));
    assert!(!m.loading);
    assert_eq!(m.message, Some(("permission denied: nope".into(), true)));
}

#[test]
fn an_edit_sends_only_the_changed_fields_with_what_they_were() {
    let mut m = loaded();
    let id = m.selected().map(|l| l.id).unwrap();
    update(&mut m, Event::Msg(Msg::Detail { lead: Box::new(fixture(id)), entries: Vec::new() }));
    update(&mut m, ch('e'));
    // The first field is the first name: replace it.
    for _ in 0..8 {
        update(&mut m, key(KeyCode::Backspace));
    }
    type_text(&mut m, "Wei");
    let effects = update(&mut m, key(KeyCode::Enter));
    let Some(Effect::SaveLead { id: Some(x), input, expect }) = effects.first() else { panic!("{effects:?}") };
    assert_eq!(*x, id);
    assert_eq!(input.first_name.as_deref(), Some("Wei"));
    assert_eq!((input.last_name.as_deref(), input.country.as_deref(), input.status.as_deref()), (None, None, None));
    assert!(input.tags.is_empty() && input.remove_tags.is_empty(), "untouched tags are neither sent nor removed");
    assert_eq!(expect, &vec![("first_name", fixture(id).first_name)]);
}

#[test]
fn a_segment_that_asks_only_for_archived_leads_shows_none_not_all() {
    let mut m = loaded();
    let archived_only = crate::model::Segment {
        name: "Gone".into(),
        filter: crate::store::Filter { status: vec![Status::Archived], ..Default::default() },
        query: None,
    };
    update(&mut m, Event::Msg(Msg::Segments { segments: vec![archived_only], counts: vec![0] }));
    update(&mut m, key(KeyCode::Tab));
    update(&mut m, ch(' '));
    assert_eq!(m.active_segment.as_deref(), Some("Gone"));
    assert!(m.order.is_empty(), "archived leads never match a segment: {:?}", m.order);
    changed(&mut m, vec![lead(30, "New", "One", "new_one", "", &[])]);
    assert!(m.order.is_empty(), "nor do leads arriving live");
    update(&mut m, ch(' '));
    assert_eq!(m.order.len(), 4, "clearing the segment shows everyone again");
}

#[test]
fn esc_and_a_key_sent_together_as_an_alt_chord_are_both_taken() {
    let mut m = loaded();
    update(&mut m, ch('A'));
    assert_eq!(m.popup, Some(Popup::Accounts));
    // What a terminal sends for Esc then q typed at once.
    update(&mut m, Event::Term(TermEvent::Key(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::ALT))));
    assert!(m.popup.is_none() && m.quit, "the panel closed and the TUI quits");
}

#[test]
fn the_status_bar_hints_name_the_keys_in_force() {
    let mut m = loaded();
    assert!(render(&m, 200, 50).contains("/ search · Enter open · s status · p priority · o workspace · v own/all"));
    m.keymap = crate::tui::keymap::Keymap::new(&[("status".to_string(), "ctrl-s".to_string())].into()).unwrap();
    assert!(render(&m, 200, 50).contains("Ctrl-s status"), "{}", render(&m, 200, 50));
}

#[test]
fn a_saved_form_puts_the_cursor_on_its_lead_whichever_arrives_first() {
    let mut m = loaded();
    update(&mut m, ch('a'));
    let fresh = lead(40, "Fresh", "Form", "fresh_form", "", &[]);
    // The write lane's answer can come before the change feed brings the lead.
    let saved = Msg::FormSaved { lead: Box::new(fresh.clone()), created: true, matched_on: None };
    update(&mut m, Event::Msg(saved));
    changed(&mut m, vec![fresh]);
    assert_eq!(m.selected().map(|r| r.id), Some(40));
}

#[test]
fn changed_leads_land_where_a_full_sort_puts_them_one_by_one_or_in_bulk() {
    use crate::store::{SortField, SortKey};
    let mut m = loaded();
    let mut seed = 7u64;
    let mut next = move |n: u64| {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 33) % n
    };
    let names = ["Anna", "Boris", "Zoe", "anna", "Olga", "Yuri"];
    let mut version = 0i64;
    let mut make = |id: u64, pick: u64, next_name: usize| {
        version += 1;
        let mut l = lead(id, names[next_name], names[pick as usize % names.len()], &format!("user_{id:05}"), "", &[]);
        l.updated_at += version * 1_000;
        l
    };
    // A bulk arrival (the merge path), then many small changes (the one-by-one path), under several sorts.
    let bulk: Vec<Lead> = (10..90).map(|id| make(id, id, (id % 6) as usize)).collect();
    changed(&mut m, bulk);
    assert_eq!(m.order, m.sorted_all());
    for (round, field) in
        [SortField::Updated, SortField::Name, SortField::Username, SortField::Id].into_iter().enumerate()
    {
        m.sort = SortKey { field, descending: round % 2 == 0 };
        let all = m.sorted_all();
        m.reorder(all);
        for step in 0..40 {
            let n = if step % 13 == 0 { 40 } else { 1 + next(3) };
            let batch: Vec<Lead> = (0..n)
                .map(|_| {
                    let id = 1 + next(95);
                    let (pick, name) = (next(6), next(6) as usize);
                    make(id, pick, name)
                })
                .collect();
            changed(&mut m, batch);
            assert_eq!(m.order, m.sorted_all(), "{field:?} step {step}");
        }
    }
}

#[test]
fn a_refused_edit_reloads_the_lead_under_the_users_changes_with_ctrl_r() {
    use crate::tui::panels::Popup;
    let mut m = loaded();
    let id = m.selected().map(|l| l.id).unwrap();
    update(&mut m, ch('e'));
    update(&mut m, Event::Msg(Msg::Detail { lead: Box::new(fixture(id)), entries: Vec::new() }));
    // The user changes the last name; meanwhile a script changes the first name.
    update(&mut m, key(KeyCode::Tab));
    for _ in 0..20 {
        update(&mut m, key(KeyCode::Backspace));
    }
    type_text(&mut m, "Typed");
    update(&mut m, key(KeyCode::Enter));
    update(&mut m, Event::Msg(Msg::FormRefused("first_name: changed since the form opened".into())));
    insta::assert_snapshot!("form_conflict_80x24", render(&m, 80, 24));
    let ctrl_r = Event::Term(TermEvent::Key(KeyEvent::new(KeyCode::Char('r'), KeyModifiers::CONTROL)));
    assert_eq!(update(&mut m, ctrl_r), vec![Effect::LoadDetail(id)]);
    let mut now = fixture(id);
    now.first_name = "Scripted".into();
    now.updated_at += 1;
    update(&mut m, Event::Msg(Msg::Detail { lead: Box::new(now), entries: Vec::new() }));
    let Some(Popup::Form(form)) = &m.popup else { panic!("the form stays open") };
    assert_eq!(form.fields[0].0.value(), "Scripted", "an untouched field takes the stored value");
    assert_eq!(form.fields[1].0.value(), "Typed", "a changed field keeps what the user typed");
    // Saving now sends only the user's change, checked against the lead as it is now.
    let effects = update(&mut m, key(KeyCode::Enter));
    let Some(Effect::SaveLead { expect, input, .. }) = effects.first() else { panic!("{effects:?}") };
    assert_eq!(input.first_name, None);
    assert_eq!(input.last_name.as_deref(), Some("Typed"));
    assert_eq!(expect, &vec![("last_name", fixture(id).last_name)]);
}

#[test]
fn a_paste_goes_into_the_focused_field_on_one_line_and_never_runs_as_commands() {
    let mut m = loaded();
    let paste = |t: &str| Event::Term(crossterm::event::Event::Paste(t.into()));
    // In the list its letters would be commands ("d" deletes): dropped, with a word why.
    assert!(update(&mut m, paste("dd")).is_empty());
    assert!(m.popup.is_none());
    assert!(m.message.as_ref().is_some_and(|(t, _)| t.contains("text field")));
    update(&mut m, ch('/'));
    let g = m.search_generation;
    let effects = update(&mut m, paste("An\nna\t\u{7}x"));
    assert_eq!(m.query.value(), "An na x");
    // One search for the whole paste, for its final text.
    assert_eq!(effects, vec![Effect::Search { generation: g + 1, query: "An na x".into(), within: None }]);
}

#[test]
fn a_closed_details_lead_is_read_again_after_it_changed_and_a_failed_set_loads_again() {
    let mut m = loaded();
    let id = m.selected().map(|r| r.id).unwrap();
    update(&mut m, key(KeyCode::Enter));
    update(&mut m, Event::Msg(Msg::Detail { lead: Box::new(fixture(id)), entries: Vec::new() }));
    update(&mut m, key(KeyCode::Esc));
    assert!(m.selected_lead().is_some(), "kept while nothing changed");
    let mut newer = fixture(id);
    newer.updated_at += 1_000;
    newer.status = Status::Blocked;
    changed(&mut m, vec![newer]);
    assert!(m.selected_lead().is_none(), "an edit would start from the old lead");
    assert_eq!(update(&mut m, ch('e')), vec![Effect::LoadDetail(id)]);
    let effects = update(&mut m, Event::Msg(Msg::LiveFailed("its updater failed".into())));
    assert!(matches!(effects.as_slice(), [Effect::Switch { .. }]));
    assert!(m.loading && m.message.as_ref().is_some_and(|(t, err)| *err && t.contains("loading the workspace again")));
}
