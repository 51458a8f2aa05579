//! The status bar: the focused pane's key hints or the last message, and on the right the
//! running jobs, the workspace, the role and the view.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::tui::model::{Focus, Model};
use crate::tui::theme;
use crate::workspace::{View, Workspace};

/// The focused pane's hints, with the keys in force (a `[keys]` rebind shows here too).
fn hints(m: &Model) -> String {
    use crate::tui::keymap::Action as A;
    if let Some(p) = &m.popup {
        return p.hint().to_string();
    }
    let k = |a| m.keymap.first_key(a);
    let join = |parts: &[(A, &str)]| parts.iter().map(|(a, what)| format!("{} {what}", k(*a))).collect::<Vec<_>>();
    // Down/up first ("j/k move"), then the pane's own keys.
    let moving = |what: &str, rest: &[(A, &str)]| {
        let mut p = vec![format!("{}/{} {what}", k(A::Down), k(A::Up))];
        p.extend(join(rest));
        p
    };
    let parts = match m.focus {
        Focus::Search => return "type to search · ↑↓ move · Enter/Esc back to the list".into(),
        Focus::Filter => moving(
            "move",
            &[
                (A::Toggle, "toggle"),
                (A::ClearFilters, "clear"),
                (A::SaveSegment, "save as segment"),
                (A::DeleteSegment, "delete segment"),
                (A::NextPane, "list"),
            ],
        ),
        Focus::Detail => moving(
            "next lead",
            &[
                (A::Status, "status"),
                (A::Priority, "priority"),
                (A::NextPane, "list"),
                (A::Back, "close"),
                (A::Help, "help"),
            ],
        ),
        Focus::List => {
            let mut list =
                vec![(A::Search, "search"), (A::Open, "open"), (A::Status, "status"), (A::Priority, "priority")];
            list.push((A::Workspace, "workspace"));
            if m.place.can_view_all() {
                list.push((A::View, "own/all"));
            }
            list.extend([(A::Help, "help"), (A::Quit, "quit")]);
            join(&list)
        }
    };
    parts.join(" · ")
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
