//! A multi-line text field: one tui-input line per row, so word moves and deletes work as in
//! every other field; drawn soft-wrapped at the width it gets.

use crossterm::event::{KeyCode, KeyEvent};
use tui_input::Input;
use unicode_width::UnicodeWidthChar;

use super::Field;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Editor {
    /// Never empty.
    lines: Vec<Field>,
    row: usize,
}

impl Default for Editor {
    fn default() -> Self {
        Editor { lines: vec![Field::default()], row: 0 }
    }
}

fn line(text: String, cursor: usize) -> Field {
    Field(Input::new(text).with_cursor(cursor))
}

impl Editor {
    /// The text as typed, lines joined by `\n`.
    pub fn text(&self) -> String {
        self.lines.iter().map(|l| l.0.value()).collect::<Vec<_>>().join("\n")
    }

    pub fn is_blank(&self) -> bool {
        self.lines.iter().all(|l| l.0.value().trim().is_empty())
    }

    /// Characters as Telegram counts them (line breaks included), trailing blanks left out as
    /// the store trims them.
    pub fn chars(&self) -> usize {
        self.text().trim_end().chars().count()
    }

    fn cursor(&self) -> usize {
        self.lines[self.row].0.cursor()
    }

    fn len(&self, row: usize) -> usize {
        self.lines[row].0.value().chars().count()
    }

    /// Splits the line at the cursor.
    pub fn newline(&mut self) {
        let value = self.lines[self.row].0.value().to_string();
        let at = value.char_indices().nth(self.cursor()).map_or(value.len(), |(i, _)| i);
        let (before, after) = value.split_at(at);
        self.lines[self.row] = line(before.to_string(), before.chars().count());
        self.lines.insert(self.row + 1, line(after.to_string(), 0));
        self.row += 1;
    }

    /// Moves to another row, keeping the column where the line is long enough.
    pub fn move_row(&mut self, by: isize) {
        let to = (self.row as isize + by).clamp(0, self.lines.len() as isize - 1) as usize;
        if to != self.row {
            let col = self.cursor().min(self.len(to));
            let value = self.lines[to].0.value().to_string();
            self.lines[to] = line(value, col);
            self.row = to;
        }
    }

    /// Joins row `row + 1` onto `row`, the cursor where they meet.
    fn join(&mut self, row: usize) {
        let next = self.lines.remove(row + 1).0.value().to_string();
        let first = self.lines[row].0.value().to_string();
        let at = first.chars().count();
        self.lines[row] = line(first + &next, at);
        self.row = row;
    }

    /// A key typed into the field: line breaks are crossed by Backspace, Delete and the arrows;
    /// everything else is the current line's. True when the text changed.
    pub fn key(&mut self, k: KeyEvent) -> bool {
        let (col, len, last) = (self.cursor(), self.len(self.row), self.lines.len() - 1);
        match k.code {
            KeyCode::Backspace if col == 0 && self.row > 0 => {
                self.join(self.row - 1);
                true
            }
            KeyCode::Delete if col == len && self.row < last => {
                self.join(self.row);
                true
            }
            KeyCode::Left if col == 0 && self.row > 0 => {
                self.move_row(-1);
                let end = self.len(self.row);
                let value = self.lines[self.row].0.value().to_string();
                self.lines[self.row] = line(value, end);
                false
            }
            KeyCode::Right if col == len && self.row < last => {
                self.move_row(1);
                let value = self.lines[self.row].0.value().to_string();
                self.lines[self.row] = line(value, 0);
                false
            }
            _ => self.lines[self.row].type_key(k),
        }
    }

    /// The rows as drawn `width` columns wide, wrapped at any character, and the cursor's place
    /// among them (row, column).
    pub fn layout(&self, width: u16) -> (Vec<String>, (usize, u16)) {
        let width = width.max(1) as usize;
        let mut rows = Vec::new();
        let mut at = (0, 0);
        for (i, l) in self.lines.iter().enumerate() {
            let (mut row, mut used) = (String::new(), 0);
            let cursor = (i == self.row).then(|| l.0.cursor());
            for (n, c) in l.0.value().chars().enumerate() {
                let w = c.width().unwrap_or(0);
                if used + w > width {
                    rows.push(std::mem::take(&mut row));
                    used = 0;
                }
                if cursor == Some(n) {
                    at = (rows.len(), used as u16);
                }
                row.push(c);
                used += w;
            }
            if cursor.is_some_and(|c| c >= l.0.value().chars().count()) {
                // At the end of a full row the cursor starts the next one.
                at = if used >= width { (rows.len() + 1, 0) } else { (rows.len(), used as u16) };
            }
            rows.push(row);
        }
        (rows, at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn press(e: &mut Editor, code: KeyCode) {
        e.key(KeyEvent::new(code, KeyModifiers::NONE));
    }

    fn type_text(e: &mut Editor, text: &str) {
        for c in text.chars() {
            if c == '\n' {
                e.newline();
            } else {
                press(e, KeyCode::Char(c));
            }
        }
    }

    #[test]
    fn lines_split_join_and_the_cursor_crosses_them() {
        let mut e = Editor::default();
        type_text(&mut e, "Hello Anna,\nhow are you?");
        assert_eq!(e.text(), "Hello Anna,\nhow are you?");
        assert_eq!(e.chars(), 24);
        press(&mut e, KeyCode::Home);
        press(&mut e, KeyCode::Backspace);
        assert_eq!(e.text(), "Hello Anna,how are you?", "Backspace at a line's start joins it to the one above");
        e.newline();
        assert_eq!(e.text(), "Hello Anna,\nhow are you?", "and a new line splits it again at the cursor");
        press(&mut e, KeyCode::Left);
        press(&mut e, KeyCode::Delete);
        assert_eq!(e.text(), "Hello Anna,how are you?", "Delete at a line's end joins the next");
        e.move_row(-1);
        assert!(!e.is_blank());
        assert!(Editor::default().is_blank());
    }

    #[test]
    fn the_layout_wraps_rows_and_places_the_cursor() {
        let mut e = Editor::default();
        type_text(&mut e, "abcdefgh\nxy");
        let (rows, at) = e.layout(5);
        assert_eq!(rows, ["abcde", "fgh", "xy"]);
        assert_eq!(at, (2, 2));
        e.move_row(-1);
        assert_eq!(e.layout(5).1, (0, 2), "the column is kept");
        press(&mut e, KeyCode::End);
        assert_eq!(e.layout(5).1, (1, 3), "the first line's end is on its second row");
        let mut full = Editor::default();
        type_text(&mut full, "abcde");
        assert_eq!(full.layout(5).1, (1, 0), "past a full row, the cursor starts the next");
        let mut wide = Editor::default();
        type_text(&mut wide, "陈伟陈");
        assert_eq!(wide.layout(5).0, ["陈伟", "陈"], "wide characters take two columns");
    }
}
