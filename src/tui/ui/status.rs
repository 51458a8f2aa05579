//! The status bar: the focused pane's key hints or the last message, and on the right the
//! running jobs, each account's runner, the workspace, the role and the view.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::crawl::account::{AccountRecord, RunnerHealth};
use crate::model::{format_age, Millis};
use crate::tui::model::{DetailTab, Focus, Model};
use crate::tui::theme;
use crate::workspace::{View, Workspace};

/// How an account's runner stands: a few words, one for a narrow bar, and their colour.
pub struct RunnerLabel {
    pub text: String,
    pub word: &'static str,
    pub style: Style,
}

pub fn runner_label(rec: &AccountRecord, now: Millis) -> RunnerLabel {
    let label = |text: &str, word, style| RunnerLabel { text: text.to_string(), word, style };
    // PEER_FLOOD pauses sends until a person resumes the account, whoever runs it.
    if rec.limited_since.is_some() {
        return label("limited (PEER_FLOOD)", "limited", theme::error());
    }
    let Some(runner) = rec.live_runner(now) else { return label("no runner", "off", theme::dim()) };
    match &runner.health {
        RunnerHealth::Connected => label("connected", "up", theme::ok()),
        RunnerHealth::Connecting => label("connecting…", "…", theme::warning()),
        RunnerHealth::FloodWait { until } => RunnerLabel {
            text: format!("flood wait {}", format_age(until - now)),
            word: "flood",
            style: theme::warning(),
        },
        RunnerHealth::Limited => label("limited (PEER_FLOOD)", "limited", theme::error()),
        RunnerHealth::NeedsLogin => label("needs login", "login", theme::error()),
        RunnerHealth::Unreachable { .. } => label("unreachable", "down", theme::error()),
        RunnerHealth::Stopped => label("stopped", "off", theme::dim()),
    }
}

/// Each account with its runner's state, in full or (`short`) a word each.
fn accounts(m: &Model, short: bool) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    for rec in &m.senders {
        let label = runner_label(rec, m.now);
        spans.push(Span::raw(format!(" {} ", rec.name)));
        spans.push(Span::styled(if short { label.word.to_string() } else { label.text }, label.style));
        spans.push(Span::raw(" ·"));
    }
    spans
}

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
        Focus::Detail => {
            let mut p = moving("next lead", &[]);
            p.push(format!("{}/{} tabs", k(A::PrevTab), k(A::NextTab)));
            if m.detail_tab == DetailTab::Messages {
                p.push(format!("{}/{} scroll", k(A::PageUp), k(A::PageDown)));
            }
            p.extend(join(&[(A::Compose, "message"), (A::Status, "status"), (A::Back, "close"), (A::Help, "help")]));
            p
        }
        Focus::List => {
            let mut list =
                vec![(A::Search, "search"), (A::Open, "open"), (A::Status, "status"), (A::Priority, "priority")];
            list.push((A::Workspace, "workspace"));
            if m.place.can_view_all() {
                list.push((A::View, "own/all"));
            }
            list.extend([(A::Inbox, if m.inbox { "leave inbox" } else { "inbox" }), (A::Compose, "message")]);
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
    if let Some(launch) = m.campaigns.status() {
        right = format!(" {launch} ·{right}");
    }
    if let Some(import) = m.import.status() {
        right = format!(" {import} ·{right}");
    }
    let left = match &m.message {
        Some((msg, true)) => Span::styled(format!(" {msg}"), theme::error()),
        Some((msg, false)) => Span::styled(format!(" {msg}"), theme::ok()),
        None => Span::styled(format!(" {}", hints(m)), theme::dim()),
    };
    // The accounts in full while the hints keep half the bar, else a word each.
    let right_width = right.chars().count() as u16;
    let mut runners = accounts(m, false);
    if Line::from(runners.clone()).width() as u16 + right_width > area.width / 2 {
        runners = accounts(m, true);
    }
    let runners = Line::from(runners);
    let [l, a, r] = Layout::horizontal([
        Constraint::Min(1),
        Constraint::Length(runners.width() as u16),
        Constraint::Length(right_width),
    ])
    .areas(area);
    f.render_widget(Paragraph::new(Line::from(left)), l);
    f.render_widget(Paragraph::new(runners), a);
    f.render_widget(Paragraph::new(right).style(theme::chosen()), r);
}
