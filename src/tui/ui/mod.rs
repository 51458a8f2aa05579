//! Drawing: a pure function of the model. Only the rows on screen are built, so the list costs the
//! same at a thousand leads as at a million; match highlights are computed for those rows only.

pub mod detail;
pub mod filters;
pub mod list;
pub mod status;
pub mod thread;

use ratatui::layout::{Constraint, Layout};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::model::{Focus, Model};
use super::panels::choice::{ChoiceKind, SORT_FIELDS};
use super::panels::Popup;
use super::theme;
use crate::model::{Priority, Status};

/// Below this width the detail pane replaces the list instead of sharing the screen.
pub const NARROW: u16 = 100;

pub fn draw(m: &Model, f: &mut Frame) {
    let [search, body, status] =
        Layout::vertical([Constraint::Length(3), Constraint::Min(3), Constraint::Length(1)]).areas(f.area());
    draw_search(m, f, search);
    let narrow = f.area().width < NARROW;
    // The filter pane sits left of the list on wide terminals; on narrow ones it shows while focused.
    let body = if narrow && m.focus == Focus::Filter {
        filters::draw(m, f, body);
        return finish(m, f, status);
    } else if narrow {
        body
    } else {
        let [left, rest] = Layout::horizontal([Constraint::Length(26), Constraint::Min(20)]).areas(body);
        filters::draw(m, f, left);
        rest
    };
    match (m.detail_open, narrow) {
        (true, true) => detail::draw(m, f, body),
        (true, false) => {
            let [list_area, detail_area] =
                Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(body);
            list::draw(m, f, list_area);
            detail::draw(m, f, detail_area);
        }
        (false, _) => list::draw(m, f, body),
    }
    finish(m, f, status);
}

fn finish(m: &Model, f: &mut Frame, area: ratatui::layout::Rect) {
    status::draw(m, f, area);
    match &m.popup {
        Some(Popup::Help) => super::panels::help::draw(&m.keymap, f),
        Some(Popup::Choice(c)) => {
            let items: Vec<&str> = match c.kind {
                ChoiceKind::Status => Status::ALL.iter().map(|s| s.as_str()).collect(),
                ChoiceKind::Priority => Priority::ALL.iter().map(|p| p.as_str()).collect(),
                ChoiceKind::Workspace => m.workspaces.iter().map(|(l, _)| l.as_str()).collect(),
                ChoiceKind::Sort => SORT_FIELDS.iter().map(|(_, n)| *n).collect(),
            };
            c.draw(f, &items);
        }
        Some(Popup::Confirm(c)) => {
            let what = match c.ids.as_slice() {
                [id] => format!("#{id} {}", m.leads.get(*id).map(|l| l.display_name()).unwrap_or_default()),
                _ => format!("{} marked leads", c.ids.len()),
            };
            c.draw(f, &what);
        }
        Some(Popup::Text(t)) => t.draw(f),
        Some(Popup::Crawl) => m.crawl.draw(f, m.now),
        Some(Popup::Form(form)) => form.draw(f),
        Some(Popup::Compose(c)) => c.draw(f, &m.keymap, &m.senders, m.now),
        Some(Popup::Import) => m.import.draw(f),
        Some(Popup::Accounts) => m.accounts.draw(f),
        Some(Popup::Campaigns) => m.campaigns.draw(f, &m.keymap, m.now),
        None => {}
    }
}

fn draw_search(m: &Model, f: &mut Frame, area: ratatui::layout::Rect) {
    let focused = m.focus == Focus::Search;
    let block = Block::default().borders(Borders::ALL).border_style(theme::border(focused)).title(" Search ");
    let inner = block.inner(area);
    let text = if m.query.value().is_empty() && !focused {
        Line::styled("press / to search names, usernames, phones, tags, groups and fields", theme::dim())
    } else {
        Line::raw(m.query.value())
    };
    f.render_widget(Paragraph::new(text).block(block), area);
    if focused {
        let x = m.query.visual_cursor().min(inner.width.saturating_sub(1) as usize) as u16;
        f.set_cursor_position((inner.x + x, inner.y));
    }
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The first visible row, so the cursor stays on screen.
pub fn window_start(cursor: usize, height: usize, len: usize) -> usize {
    if height == 0 || len <= height {
        return 0;
    }
    cursor.saturating_sub(height / 2).min(len - height)
}
