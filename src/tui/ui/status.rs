//! The status bar: the focused pane's key hints or the last message, and on the right the
//! running jobs, the workspace, the role and the view.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::tui::model::{Focus, Model};
use crate::tui::theme;
use crate::workspace::{View, Workspace};

fn hints(m: &Model) -> &'static str {
    if let Some(p) = &m.popup {
        return p.hint();
    }
    match m.focus {
        Focus::Search => "type to search · ↑↓ move · Enter/Esc back to the list",
        Focus::Filter => "j/k move · Space toggle · c clear · W save as segment · D delete segment · Tab list",
        Focus::Detail => "j/k next lead · s status · p priority · Tab list · Esc close · ? help",
        Focus::List if m.place.can_view_all() => {
            "/ search · Enter open · s status · p priority · o workspace · v own/all · ? help · q quit"
        }
        Focus::List => "/ search · Enter open · s status · p priority · o workspace · ? help · q quit",
    }
}

pub fn draw(m: &Model, f: &mut Frame, area: Rect) {
    let view = match m.place.view {
        View::Own => "own leads",
        View::All => "all leads",
    };
    // A personal workspace's label already names the user; an organization shows the role and the user.
    let mut right = match m.place.workspace {
        Workspace::Personal(_) => format!(" {} · {view} ", m.place.label),
        Workspace::Org(_) => format!(" {} · {} · {view} · {} ", m.place.label, m.place.role(), m.user),
    };
    if let Some(job) = m.crawl.status() {
        right = format!(" {job} ·{right}");
    }
    if let Some(import) = m.import.status() {
        right = format!(" {import} ·{right}");
    }
    let left = match &m.message {
        Some((msg, true)) => Span::styled(format!(" {msg}"), theme::error()),
        Some((msg, false)) => Span::styled(format!(" {msg}"), theme::ok()),
        None => Span::styled(format!(" {}", hints(m)), theme::dim()),
    };
    let [l, r] = Layout::horizontal([Constraint::Min(1), Constraint::Length(right.chars().count() as u16)]).areas(area);
    f.render_widget(Paragraph::new(Line::from(left)), l);
    f.render_widget(Paragraph::new(right).style(theme::chosen()), r);
}
