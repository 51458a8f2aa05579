//! The TUI's colours and text styles, named for what they mean.

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::widgets::{Block, Borders};

use crate::model::Status;

pub const ACCENT: Color = Color::Cyan;

/// Labels, hints, headings of lesser weight.
pub fn dim() -> Style {
    Style::default().fg(Color::DarkGray)
}

pub fn accent() -> Style {
    Style::default().fg(ACCENT)
}

pub fn heading() -> Style {
    accent().add_modifier(Modifier::BOLD)
}

pub fn bold() -> Style {
    Style::default().add_modifier(Modifier::BOLD)
}

pub fn error() -> Style {
    Style::default().fg(Color::Red)
}

pub fn ok() -> Style {
    Style::default().fg(Color::Green)
}

pub fn warning() -> Style {
    Style::default().fg(Color::Yellow)
}

/// A lead's count of unread messages.
pub fn unread() -> Style {
    Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD)
}

/// The row under the cursor in a list or a pane.
pub fn cursor_row() -> Style {
    Style::default().bg(Color::DarkGray).add_modifier(Modifier::BOLD)
}

/// The chosen item of a popup's list, and the status bar's right side.
pub fn chosen() -> Style {
    Style::default().fg(Color::Black).bg(ACCENT)
}

/// Matched characters in search results.
pub fn highlight() -> Style {
    Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD)
}

pub fn border(focused: bool) -> Style {
    if focused {
        accent()
    } else {
        dim()
    }
}

pub fn status(s: Status) -> Style {
    match s {
        Status::Active => ok(),
        Status::Blocked => error(),
        Status::Archived => dim(),
    }
}

/// A popup's frame: bordered, titled, in the accent colour.
pub fn popup(title: impl Into<ratatui::text::Line<'static>>) -> Block<'static> {
    Block::default().borders(Borders::ALL).title(title).border_style(accent())
}

/// A `w` by `h` rectangle in the middle of `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(h)]).flex(Flex::Center).areas(area);
    let [c] = Layout::horizontal([Constraint::Length(w)]).flex(Flex::Center).areas(v);
    c
}
