//! The composer (`m`): a message of several lines to the selected lead, from one of the
//! workspace's accounts. Sending queues it in that account's outbox through the store; the
//! thread then shows it queued, sent, read.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

use super::editor::Editor;
use crate::crawl::account::AccountRecord;
use crate::model::Millis;
use crate::tui::keymap::{Action, Keymap, Scope};
use crate::tui::theme;
use crate::tui::ui::status::runner_label;

/// Telegram's limit on a message's length (the store refuses longer ones too; this says it as
/// the user types).
pub const MAX_CHARS: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Composer {
    pub lead: u64,
    /// Who it goes to, as the title names them.
    pub to: String,
    /// The accounts it may go from, and the chosen one.
    pub accounts: Vec<String>,
    pub account: usize,
    pub editor: Editor,
    /// Waiting for the store's answer.
    pub sending: bool,
    /// Why the last send was refused.
    pub error: Option<String>,
}

/// What a key did in the composer.
#[derive(Debug, PartialEq, Eq)]
pub enum Composed {
    Editing,
    Close,
    Send { account: String, text: String },
}

impl Composer {
    pub fn new(lead: u64, to: String, accounts: Vec<String>, account: usize) -> Composer {
        Composer { lead, to, accounts, account, editor: Editor::default(), sending: false, error: None }
    }

    pub fn account(&self) -> Option<&str> {
        self.accounts.get(self.account).map(String::as_str)
    }

    fn cycle(&mut self, by: isize) {
        let n = self.accounts.len().max(1) as isize;
        self.account = (self.account as isize + by).rem_euclid(n) as usize;
    }

    pub fn on_key(&mut self, k: KeyEvent, keys: &Keymap) -> Composed {
        match keys.command(k, &[Scope::Global, Scope::Panel]) {
            Some(Action::Back) => return Composed::Close,
            Some(Action::Send) if !self.sending => {
                let chars = self.editor.chars();
                self.error = if self.editor.is_blank() {
                    Some("a message needs some text".into())
                } else if chars > MAX_CHARS {
                    Some(format!("{chars} characters; Telegram allows {MAX_CHARS}"))
                } else {
                    None
                };
                if let (None, Some(account)) = (&self.error, self.account()) {
                    let account = account.to_string();
                    self.sending = true;
                    return Composed::Send { account, text: self.editor.text() };
                }
            }
            // A message waiting for the store's answer stays as it was sent.
            _ if self.sending => {}
            Some(Action::NextPane) => self.cycle(1),
            _ if k.code == KeyCode::BackTab => self.cycle(-1),
            Some(Action::Open) => self.editor.newline(),
            Some(Action::Up) => self.editor.move_row(-1),
            Some(Action::Down) => self.editor.move_row(1),
            _ => {
                if self.editor.key(k) {
                    self.error = None;
                }
            }
        }
        Composed::Editing
    }

    pub fn draw(&self, f: &mut Frame, keys: &Keymap, senders: &[AccountRecord], now: Millis) {
        let area = f.area();
        let area = theme::centered(area, area.width.saturating_sub(4).min(72), area.height.saturating_sub(2).min(16));
        f.render_widget(Clear, area);
        let hint = format!(
            " {} send · Enter new line · {} account · {} keeps a draft ",
            keys.describe(Action::Send),
            keys.first_key(Action::NextPane),
            keys.first_key(Action::Back)
        );
        let block = theme::popup(format!(" Message to {} ", self.to)).title_bottom(Line::from(hint).right_aligned());
        let inner = block.inner(area);
        f.render_widget(block, area);
        if inner.height < 4 {
            return;
        }
        let mut from = vec![Span::styled(" From  ", theme::dim())];
        match self.account() {
            Some(name) => {
                from.push(Span::styled(name.to_string(), theme::bold()));
                if self.accounts.len() > 1 {
                    from.push(Span::styled(
                        format!(" ({} of {})", self.account + 1, self.accounts.len()),
                        theme::dim(),
                    ));
                }
                if let Some(rec) = senders.iter().find(|r| r.name == name) {
                    let label = runner_label(rec, now);
                    from.push(Span::raw(" · "));
                    from.push(Span::styled(label.text, label.style));
                    if rec.live_runner(now).is_none() {
                        from.push(Span::styled(": it waits in the outbox", theme::dim()));
                    }
                }
            }
            None => from.push(Span::styled("no account", theme::error())),
        }
        f.render_widget(Paragraph::new(Line::from(from)), Rect { height: 1, ..inner });
        let text =
            Rect { x: inner.x + 1, y: inner.y + 2, width: inner.width.saturating_sub(2), height: inner.height - 3 };
        let (rows, (row, col)) = self.editor.layout(text.width);
        let start = (row + 1).saturating_sub(text.height as usize);
        let shown: Vec<Line> = rows.into_iter().skip(start).take(text.height as usize).map(Line::raw).collect();
        f.render_widget(Paragraph::new(shown), text);
        let chars = self.editor.chars();
        let status = match (&self.error, self.sending) {
            (Some(why), _) => Line::styled(format!(" {why}"), theme::error()),
            (None, true) => Line::styled(" queuing…", theme::dim()),
            (None, false) if chars > MAX_CHARS => Line::styled(format!(" {chars}/{MAX_CHARS}"), theme::error()),
            (None, false) => Line::styled(format!(" {chars}/{MAX_CHARS}"), theme::dim()),
        };
        f.render_widget(Paragraph::new(status), Rect { y: inner.y + inner.height - 1, height: 1, ..inner });
        if !self.sending {
            let y = text.y + (row - start) as u16;
            f.set_cursor_position((text.x + col.min(text.width.saturating_sub(1)), y.min(text.bottom() - 1)));
        }
    }
}
