//! Keys outside popups: the search field, the filter pane, and the list and detail.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{popup, talk};
use crate::model::{Facet, Flag, Priority, Status};
use crate::tui::keymap::{Action, Scope};
use crate::tui::model::{Focus, Model};
use crate::tui::msg::Effect;
use crate::tui::panels::choice::{Choice, ChoiceKind, Confirm, SORT_FIELDS};
use crate::tui::panels::form::Form;
use crate::tui::panels::text::{TextKind, TextPrompt};
use crate::tui::panels::Popup;
use crate::workspace::{rules, View};

pub fn on_key(m: &mut Model, k: KeyEvent) -> Vec<Effect> {
    if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c') {
        m.quit = true;
        return Vec::new();
    }
    if m.popup.is_some() {
        return popup::on_key(m, k);
    }
    if m.focus == Focus::Search {
        return on_search_key(m, k);
    }
    m.message = None;
    if m.focus == Focus::Filter {
        return on_filter_key(m, k);
    }
    match m.keymap.action(k, &[Scope::Leads, Scope::Global]) {
        Some(action) => on_list_action(m, action),
        None => Vec::new(),
    }
}

fn on_search_key(m: &mut Model, k: KeyEvent) -> Vec<Effect> {
    match m.keymap.command(k, &[Scope::Global]) {
        Some(Action::Back | Action::Open) => m.focus = Focus::List,
        Some(Action::Down) => m.move_cursor(m.cursor as isize + 1),
        Some(Action::Up) => m.move_cursor(m.cursor as isize - 1),
        _ => {
            let before = m.query.value().to_string();
            tui_input::backend::crossterm::EventHandler::handle_event(&mut m.query, &crossterm::event::Event::Key(k));
            if m.query.value() != before {
                return m.query_changed();
            }
        }
    }
    Vec::new()
}

fn on_filter_key(m: &mut Model, k: KeyEvent) -> Vec<Effect> {
    let n = m.facet_rows().len();
    let under_cursor = || m.facet_rows().get(m.facet_cursor).map(|(f, _)| f.clone());
    match m.keymap.action(k, &[Scope::Filters, Scope::Global]) {
        Some(Action::Down) => m.facet_cursor = (m.facet_cursor + 1).min(n.saturating_sub(1)),
        Some(Action::Up) => m.facet_cursor = m.facet_cursor.saturating_sub(1),
        Some(Action::Toggle | Action::Open) => {
            if let Some(facet) = under_cursor() {
                return m.toggle_facet(&facet);
            }
        }
        Some(Action::ClearFilters) => {
            m.filter = Default::default();
            m.active_segment = None;
            m.inbox = false;
            return m.query_changed();
        }
        Some(Action::SaveSegment) => m.popup = Some(Popup::Text(TextPrompt::new(TextKind::SegmentName, Vec::new()))),
        Some(Action::DeleteSegment) => {
            if let Some(Facet::Segment(name)) = under_cursor() {
                if m.active_segment.as_deref() == Some(name.as_str()) {
                    m.active_segment = None;
                }
                return vec![Effect::DeleteSegment(name)];
            }
        }
        Some(Action::NextPane | Action::Back) => m.focus = Focus::List,
        Some(Action::Quit) => m.quit = true,
        Some(Action::Search) => m.focus = Focus::Search,
        Some(Action::Help) => m.popup = Some(Popup::Help),
        _ => {}
    }
    Vec::new()
}

/// Said before asking, so nobody confirms a delete the rules will refuse.
fn refused_delete(m: &Model, ids: &[u64]) -> Option<String> {
    let access = m.place.access?;
    let refused = ids
        .iter()
        .filter_map(|id| m.leads.get(*id))
        .filter(|r| rules::delete(access, &m.user, m.leads.str(r.created_by)).is_err())
        .count();
    (refused > 0).then(|| {
        let what = if ids.len() == 1 {
            "this one is not yours".to_string()
        } else {
            format!("{refused} of these are not yours")
        };
        format!("members may delete only the leads they created; {what}")
    })
}

fn on_list_action(m: &mut Model, action: Action) -> Vec<Effect> {
    let page = m.page.max(1) as isize;
    match action {
        Action::Quit => m.quit = true,
        Action::Search => m.focus = Focus::Search,
        Action::Help => m.popup = Some(Popup::Help),
        Action::Down => m.move_cursor(m.cursor as isize + 1),
        Action::Up => m.move_cursor(m.cursor as isize - 1),
        Action::Top => m.move_cursor(0),
        Action::Bottom => m.move_cursor(isize::MAX),
        // In the Messages tab the pages are the thread's.
        Action::PageDown | Action::PageUp if m.focus == Focus::Detail && talk::thread_shown(m) => {
            talk::scroll(m, action == Action::PageUp)
        }
        Action::PageDown => m.move_cursor(m.cursor as isize + page),
        Action::PageUp => m.move_cursor(m.cursor as isize - page),
        Action::Open => return m.open_detail(),
        Action::NextPane => {
            m.focus = match m.focus {
                Focus::List => Focus::Filter,
                Focus::Filter if m.detail_open => Focus::Detail,
                Focus::Filter | Focus::Detail | Focus::Search => Focus::List,
            }
        }
        Action::Back if m.detail_open => {
            m.detail_open = false;
            m.focus = Focus::List;
        }
        Action::Status if m.selected().is_some() => {
            let cur = m.selected().map(|l| l.status).unwrap_or_default();
            let at = Status::ALL.iter().position(|s| *s == cur).unwrap_or(0);
            m.popup = Some(Popup::Choice(Choice::new(ChoiceKind::Status, at)));
        }
        Action::Priority if m.selected().is_some() => {
            let cur = m.selected().map(|l| l.priority).unwrap_or_default();
            let at = Priority::ALL.iter().position(|p| *p == cur).unwrap_or(0);
            m.popup = Some(Popup::Choice(Choice::new(ChoiceKind::Priority, at)));
        }
        Action::Workspace => {
            let at = m.workspaces.iter().position(|(_, w)| *w == m.place.workspace).unwrap_or(0);
            m.popup = Some(Popup::Choice(Choice::new(ChoiceKind::Workspace, at)));
        }
        Action::View if m.place.can_view_all() => {
            let view = if m.place.view == View::Own { View::All } else { View::Own };
            let workspace = m.place.workspace.clone();
            return m.switch(workspace, view, false);
        }
        Action::View => {
            m.warn("only your own leads here: members see all leads only if the organization sets members_can_view_all")
        }
        Action::Select => {
            if let Some(id) = m.selected().map(|l| l.id) {
                if !m.marked.remove(&id) {
                    m.marked.insert(id);
                }
                m.move_cursor(m.cursor as isize + 1);
            }
        }
        Action::SelectAll => {
            // Marks everything in view; pressed again on a fully marked view, it clears.
            if m.order.iter().all(|id| m.marked.contains(id)) {
                m.marked.clear();
            } else {
                m.marked.extend(m.order.iter().copied());
            }
        }
        Action::Delete => {
            let ids = m.targets();
            if let Some(why) = refused_delete(m, &ids) {
                m.warn(why);
            } else if !ids.is_empty() {
                m.popup = Some(Popup::Confirm(Confirm { ids }));
            }
        }
        Action::Sort => {
            let at = SORT_FIELDS.iter().position(|(f, _)| *f == m.sort.field).unwrap_or(0);
            m.popup = Some(Popup::Choice(Choice::new(ChoiceKind::Sort, at)));
        }
        Action::Export | Action::Import if !m.local_files => {
            m.message = Some((crate::tui::effects::NO_FILES.into(), true));
        }
        Action::Export => {
            m.tell(format!("exporting {} leads…", m.order.len()));
            return vec![Effect::Export { ids: m.order.clone() }];
        }
        Action::Note => {
            if let Some(id) = m.selected().map(|l| l.id) {
                m.popup = Some(Popup::Text(TextPrompt::new(TextKind::Note, vec![id])));
            }
        }
        Action::Tags => {
            let ids = m.targets();
            if !ids.is_empty() {
                m.popup = Some(Popup::Text(TextPrompt::new(TextKind::Tags, ids)));
            }
        }
        Action::Add => {
            let mut form = Form::add();
            form.revalidate(m.default_region.as_deref());
            m.popup = Some(Popup::Form(Box::new(form)));
        }
        Action::Edit => {
            if let Some(lead) = m.selected_lead() {
                m.popup = Some(Popup::Form(Box::new(Form::edit(lead))));
            } else if let Some(id) = m.selected().map(|r| r.id) {
                // The list holds only what it shows; the form needs the whole lead.
                m.edit_pending = Some(id);
                m.detail_requested = Some(id);
                return vec![Effect::LoadDetail(id)];
            }
        }
        Action::Crawl => {
            m.popup = Some(Popup::Crawl);
            return vec![Effect::LoadCrawls];
        }
        Action::Accounts => {
            m.popup = Some(Popup::Accounts);
            if m.accounts.logging_in() {
                return Vec::new();
            }
            m.accounts.checking = true;
            return vec![Effect::LoadAccounts];
        }
        Action::Campaigns => return super::campaigns::open(m),
        Action::Import => {
            m.import.open();
            m.popup = Some(Popup::Import);
        }
        Action::Compose => return talk::compose(m),
        Action::Inbox => return m.toggle_facet(&Facet::Flag(Flag::Unread)),
        Action::DoNotContact => return talk::toggle_do_not_contact(m),
        Action::NextTab => return talk::switch_tab(m, 1),
        Action::PrevTab => return talk::switch_tab(m, -1),
        _ => {}
    }
    Vec::new()
}
