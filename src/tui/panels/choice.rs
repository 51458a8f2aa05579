//! Small popups: choose one of a list (a status, a priority, a workspace, a sort column), and
//! the y/n before a delete.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

use super::Reply;
use crate::store::SortField;
use crate::tui::keymap::{Action, Keymap, Scope};
use crate::tui::msg::Effect;
use crate::tui::theme;

/// The columns the list sorts by, as the sort popup offers them.
pub const SORT_FIELDS: &[(SortField, &str)] = &[
    (SortField::Updated, "updated"),
    (SortField::Created, "created"),
    (SortField::Name, "name"),
    (SortField::Username, "username"),
    (SortField::Phone, "phone"),
    (SortField::Status, "status"),
    (SortField::Priority, "priority"),
    (SortField::Source, "source"),
    (SortField::Group, "group"),
    (SortField::Country, "country"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChoiceKind {
    Status,
    Priority,
    Workspace,
    /// Sort by which column; choosing the current one again reverses the order.
    Sort,
}

impl ChoiceKind {
    pub fn title(self) -> &'static str {
        match self {
            ChoiceKind::Status => "Set status",
            ChoiceKind::Priority => "Set priority",
            ChoiceKind::Workspace => "Workspace",
            ChoiceKind::Sort => "Sort by (again: reverse)",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub kind: ChoiceKind,
    pub selected: usize,
}

/// What a key did in a choice.
#[derive(Debug, PartialEq, Eq)]
pub enum Chose {
    Nothing,
    Cancel,
    Item(usize),
}

impl Choice {
    pub fn new(kind: ChoiceKind, selected: usize) -> Choice {
        Choice { kind, selected }
    }

    /// `len` is how many items the list has now.
    pub fn on_key(&mut self, k: KeyEvent, keys: &Keymap, len: usize) -> Chose {
        let step = |sel: usize, d: isize| ((sel as isize + d).rem_euclid(len.max(1) as isize)) as usize;
        match keys.action(k, &[Scope::Global]) {
            Some(Action::Back | Action::Quit) => Chose::Cancel,
            Some(Action::Down) => {
                self.selected = step(self.selected, 1);
                Chose::Nothing
            }
            Some(Action::Up) => {
                self.selected = step(self.selected, -1);
                Chose::Nothing
            }
            Some(Action::Open) if self.selected < len => Chose::Item(self.selected),
            _ => Chose::Nothing,
        }
    }

    pub fn draw(&self, f: &mut Frame, items: &[&str]) {
        let title = self.kind.title();
        let width = items.iter().map(|s| s.chars().count()).max().unwrap_or(0).max(title.len() + 4) as u16 + 6;
        let area = theme::centered(f.area(), width.max(30), items.len() as u16 + 2);
        let lines: Vec<Line> = items
            .iter()
            .enumerate()
            .map(|(i, s)| {
                if i == self.selected {
                    Line::styled(format!(" › {s}"), theme::chosen())
                } else {
                    Line::raw(format!("   {s}"))
                }
            })
            .collect();
        f.render_widget(Clear, area);
        f.render_widget(Paragraph::new(lines).block(theme::popup(format!(" {title} "))), area);
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    pub ids: Vec<u64>,
}

impl Confirm {
    /// y deletes; any other key cancels.
    pub fn on_key(&self, k: KeyEvent) -> Reply {
        let effects = match k.code {
            KeyCode::Char('y') | KeyCode::Char('Y') => vec![Effect::Delete { ids: self.ids.clone() }],
            _ => Vec::new(),
        };
        Reply { close: true, effects, ..Reply::default() }
    }

    /// `what` names the leads: one by its name, or how many.
    pub fn draw(&self, f: &mut Frame, what: &str) {
        let area = theme::centered(f.area(), 56, 3);
        f.render_widget(Clear, area);
        let block = theme::popup(" Delete ").border_style(theme::error());
        f.render_widget(Paragraph::new(format!(" Delete {what} and their history? y/n")).block(block), area);
    }
}
