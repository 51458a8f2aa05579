//! A line of text for the target leads: a note, tags as `+a,-b`, or a segment's name.

use crossterm::event::KeyEvent;
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

use super::Field;
use crate::tui::keymap::{Action, Keymap, Scope};
use crate::tui::theme;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    Note,
    Tags,
    /// The name to save the current filters and search under.
    SegmentName,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextPrompt {
    pub kind: TextKind,
    pub ids: Vec<u64>,
    pub input: Field,
}

/// What a key did in the prompt.
#[derive(Debug, PartialEq, Eq)]
pub enum Typed {
    Editing,
    Cancel,
    /// Enter with this (trimmed, possibly empty) text.
    Done(String),
}

impl TextPrompt {
    pub fn new(kind: TextKind, ids: Vec<u64>) -> TextPrompt {
        TextPrompt { kind, ids, input: Field::default() }
    }

    pub fn on_key(&mut self, k: KeyEvent, keys: &Keymap) -> Typed {
        match keys.command(k, &[Scope::Global]) {
            Some(Action::Back) => Typed::Cancel,
            Some(Action::Open) => Typed::Done(self.input.text()),
            _ => {
                self.input.type_key(k);
                Typed::Editing
            }
        }
    }

    pub fn draw(&self, f: &mut Frame) {
        let title = match self.kind {
            TextKind::Note => " Note (Enter saves, Esc cancels) ",
            TextKind::Tags => " Tags: +add,-remove (Enter saves) ",
            TextKind::SegmentName => " Save the filters and search as a segment named ",
        };
        let area = theme::centered(f.area(), 60, 3);
        f.render_widget(Clear, area);
        let block = theme::popup(title);
        let inner = block.inner(area);
        f.render_widget(Paragraph::new(self.input.0.value()).block(block), area);
        let x = self.input.0.visual_cursor().min(inner.width.saturating_sub(1) as usize) as u16;
        f.set_cursor_position((inner.x + x, inner.y));
    }
}

/// `+vip,-cold,warm` as tags to add and tags to remove.
pub fn parse_tags(text: &str) -> (Vec<String>, Vec<String>) {
    let (mut add, mut remove) = (Vec::new(), Vec::new());
    for t in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
        match t.strip_prefix('-') {
            Some(r) => remove.push(r.to_string()),
            None => add.push(t.strip_prefix('+').unwrap_or(t).to_string()),
        }
    }
    (add, remove)
}
