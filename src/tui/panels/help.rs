//! The key help, drawn from the keymap: rebound keys show as they are bound.

use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

use crate::tui::keymap::{Keymap, HELP};
use crate::tui::theme;

pub fn draw(keys: &Keymap, f: &mut Frame) {
    let area = theme::centered(f.area(), 76, HELP.len() as u16 + 2);
    let lines: Vec<Line> = HELP
        .iter()
        .map(|(actions, what)| {
            let keys = actions.iter().map(|a| keys.describe(*a)).collect::<Vec<_>>().join(" ");
            // Rebound keys can be long: the column grows, and a space always follows it.
            Line::from(vec![Span::styled(format!(" {keys:<22} "), theme::accent()), Span::raw(*what)])
        })
        .collect();
    f.render_widget(Clear, area);
    f.render_widget(Paragraph::new(lines).block(theme::popup(" Keys (any key closes) ")), area);
}
