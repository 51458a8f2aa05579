//! The accounts panel (`A`): the Telegram accounts with their health, and the login conversation
//! of `reach account add` (name and phone, the code Telegram sends, then the two-step password if
//! the account has one). Pure: the runtime runs the login and answers with messages.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::{Field, Reply};
use crate::crawl::backend::Health;
use crate::tui::keymap::{Action, Keymap, Scope};
use crate::tui::msg::Effect;
pub use crate::tui::msg::{AccountRow, Ask};
use crate::tui::theme;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// The list; Enter logs the selected account in again, `a` adds one.
    List,
    /// A new account: its name and phone (`focus` is 0 or 1).
    New {
        name: Field,
        phone: Field,
        focus: usize,
    },
    /// Waiting for Telegram.
    Working(String),
    Code {
        phone: String,
        input: Field,
        error: Option<String>,
    },
    Password {
        hint: Option<String>,
        input: Field,
        error: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountsPanel {
    pub rows: Vec<AccountRow>,
    /// The health check is running.
    pub checking: bool,
    /// When an account record's change last rechecked the list: runners renew their records every
    /// few seconds, and a real account nobody runs is checked over the network.
    pub rechecked_at: crate::model::Millis,
    pub selected: usize,
    pub stage: Stage,
    /// The last login's outcome, and whether it failed.
    pub outcome: Option<(String, bool)>,
    /// Why the last answer was refused, shown with the next question.
    pub retry: Option<String>,
}

impl Default for AccountsPanel {
    fn default() -> Self {
        AccountsPanel {
            rows: Vec::new(),
            checking: false,
            rechecked_at: 0,
            selected: 0,
            stage: Stage::List,
            outcome: None,
            retry: None,
        }
    }
}

impl AccountsPanel {
    /// A login is under way (between Enter on the phone and its outcome).
    pub fn logging_in(&self) -> bool {
        matches!(self.stage, Stage::Working(_) | Stage::Code { .. } | Stage::Password { .. })
    }

    /// Shows what the login asks next; a wrong answer shows with the question asked again.
    pub fn ask(&mut self, ask: Ask) {
        match ask {
            Ask::Retry(e) => self.retry = Some(e),
            Ask::Code { phone } => {
                self.stage = Stage::Code { phone, input: Field::default(), error: self.retry.take() }
            }
            Ask::Password { hint } => {
                self.stage = Stage::Password { hint, input: Field::default(), error: self.retry.take() }
            }
        }
    }

    pub fn on_key(&mut self, k: KeyEvent, keys: &Keymap) -> Reply {
        match &mut self.stage {
            Stage::List => match keys.action(k, &[Scope::Panel, Scope::Global]) {
                Some(Action::Back) => return Reply::close(),
                Some(Action::Down) => self.selected = (self.selected + 1).min(self.rows.len().saturating_sub(1)),
                Some(Action::Up) => self.selected = self.selected.saturating_sub(1),
                Some(Action::AddAccount) => {
                    self.outcome = None;
                    self.stage = Stage::New { name: Field::default(), phone: Field::default(), focus: 0 };
                }
                Some(Action::Refresh) => {
                    self.checking = true;
                    return Reply::effects(vec![Effect::LoadAccounts]);
                }
                Some(Action::Open) => {
                    if let Some(row) = self.rows.get(self.selected) {
                        let (name, phone) = (row.name.clone(), row.phone.clone());
                        self.outcome = None;
                        self.stage = Stage::Working(format!("logging {name} in…"));
                        return Reply::effects(vec![Effect::StartLogin { name, phone }]);
                    }
                }
                _ => {}
            },
            Stage::New { name, phone, focus } => match keys.command(k, &[Scope::Global]) {
                Some(Action::Back) => self.stage = Stage::List,
                Some(Action::NextPane | Action::Up | Action::Down) => *focus = 1 - *focus,
                _ if k.code == KeyCode::BackTab => *focus = 1 - *focus,
                Some(Action::Open) if *focus == 0 => *focus = 1,
                Some(Action::Open) => {
                    let (n, p) = (name.text(), phone.text());
                    if n.is_empty() || p.is_empty() {
                        self.outcome = Some(("an account needs a name and a phone".into(), true));
                    } else {
                        self.outcome = None;
                        self.stage = Stage::Working(format!("asking Telegram to send {p} a code…"));
                        return Reply::effects(vec![Effect::StartLogin { name: n, phone: p }]);
                    }
                }
                _ => {
                    let field = if *focus == 0 { name } else { phone };
                    field.type_key(k);
                }
            },
            Stage::Code { input, .. } | Stage::Password { input, .. } => match keys.command(k, &[Scope::Global]) {
                // Giving up ends the login; the runtime says so with its outcome.
                Some(Action::Back) => {
                    self.stage = Stage::Working("cancelling…".into());
                    return Reply::effects(vec![Effect::LoginAnswer(None)]);
                }
                Some(Action::Open) if !input.text().is_empty() => {
                    let answer = input.text();
                    self.stage = Stage::Working("checking with Telegram…".into());
                    return Reply::effects(vec![Effect::LoginAnswer(Some(answer))]);
                }
                _ => {
                    input.type_key(k);
                }
            },
            // Telegram has the turn; the panel may be hidden meanwhile and reopens on its question.
            Stage::Working(_) => {
                if keys.action(k, &[Scope::Global]) == Some(Action::Back) {
                    return Reply::close();
                }
            }
        }
        Reply::stay()
    }

    /// The login ended: back to the list, with the outcome shown.
    pub fn done(&mut self, outcome: Result<String, String>) {
        self.stage = Stage::List;
        self.retry = None;
        self.outcome = Some(match outcome {
            Ok(text) => (text, false),
            Err(text) => (text, true),
        });
    }
}

impl AccountsPanel {
    pub fn draw(&self, f: &mut Frame) {
        let hint = match &self.stage {
            Stage::List => " a add · Enter log in · r recheck · Esc close ",
            Stage::New { .. } => " Tab next field · Enter log in · Esc back ",
            Stage::Working(_) => " Esc hide (the login goes on) ",
            Stage::Code { .. } | Stage::Password { .. } => " Enter send · Esc give up ",
        };
        let block = theme::popup(" Telegram accounts ").title_bottom(Line::from(hint).right_aligned());
        let (dim, red) = (theme::dim(), theme::error());
        let mut lines = Vec::new();
        let input = |label: &str, value: String, focused: bool| {
            let style = if focused { theme::accent() } else { dim };
            Line::from(vec![Span::styled(format!(" {label:<10}"), style), Span::raw(value)])
        };
        match &self.stage {
            Stage::List => {
                if self.rows.is_empty() {
                    let text = if self.checking { " checking…" } else { " no accounts yet: a adds one" };
                    lines.push(Line::styled(text, dim));
                }
                for (i, r) in self.rows.iter().enumerate() {
                    let health_style = if r.health == Health::Connected { theme::ok() } else { red };
                    let marker = if i == self.selected { "›" } else { " " };
                    lines.push(Line::from(vec![
                        Span::raw(format!(" {marker} {:<14} {:<16} {:<10} ", r.name, r.phone, r.backend)),
                        Span::styled(r.health.to_string(), health_style),
                    ]));
                }
                if self.checking && !self.rows.is_empty() {
                    lines.push(Line::styled(" checking…", dim));
                }
            }
            Stage::New { name, phone, focus } => {
                lines.push(Line::styled(" A new account: a short name for --account, and its phone", dim));
                lines.push(Line::raw(""));
                lines.push(input("Name", name.0.value().to_string(), *focus == 0));
                lines.push(input("Phone", phone.0.value().to_string(), *focus == 1));
            }
            Stage::Working(what) => lines.push(Line::styled(format!(" {what}"), dim)),
            Stage::Code { phone, input: code, error } => {
                lines.push(Line::raw(format!(" Telegram sent a login code to {phone} (in the app or by SMS).")));
                lines.push(Line::raw(""));
                lines.push(input("Code", code.0.value().to_string(), true));
                lines.extend(error.iter().map(|e| Line::styled(format!(" {e}; try again"), red)));
            }
            Stage::Password { hint, input: password, error } => {
                let hint = hint.as_deref().map(|h| format!(" (hint: {h})")).unwrap_or_default();
                lines.push(Line::raw(format!(" This account has two-step verification{hint}.")));
                lines.push(Line::raw(""));
                // Never drawn in clear: one dot per character typed.
                lines.push(input("Password", "•".repeat(password.0.value().chars().count()), true));
                lines.extend(error.iter().map(|e| Line::styled(format!(" {e}; try again"), red)));
            }
        }
        if let Some((text, failed)) = &self.outcome {
            lines.push(Line::raw(""));
            lines.push(Line::styled(format!(" {text}"), if *failed { red } else { theme::ok() }));
        }
        // As tall as what it says, so the list behind stays in view.
        let full = f.area();
        let height = (lines.len() as u16 + 3).clamp(8, full.height.saturating_sub(2).max(3));
        let area = theme::centered(full, full.width.min(84), height);
        f.render_widget(Clear, area);
        let inner = block.inner(area);
        f.render_widget(block, area);
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    fn typed(p: &mut AccountsPanel, text: &str) {
        for c in text.chars() {
            p.on_key(key(KeyCode::Char(c)), &Keymap::default());
        }
    }

    #[test]
    fn adding_an_account_walks_through_code_and_password() {
        let mut p = AccountsPanel::default();
        p.on_key(key(KeyCode::Char('a')), &Keymap::default());
        typed(&mut p, "work");
        p.on_key(key(KeyCode::Enter), &Keymap::default());
        p.on_key(key(KeyCode::Enter), &Keymap::default());
        assert!(p.outcome.as_ref().is_some_and(|(m, err)| *err && m.contains("name and a phone")));
        typed(&mut p, "+15550009");
        let h = p.on_key(key(KeyCode::Enter), &Keymap::default());
        assert_eq!(h.effects, vec![Effect::StartLogin { name: "work".into(), phone: "+15550009".into() }]);
        assert!(p.logging_in());
        p.ask(Ask::Code { phone: "+15550009".into() });
        typed(&mut p, "11111");
        assert_eq!(
            p.on_key(key(KeyCode::Enter), &Keymap::default()).effects,
            vec![Effect::LoginAnswer(Some("11111".into()))]
        );
        p.ask(Ask::Retry("telegram: PHONE_CODE_INVALID".into()));
        p.ask(Ask::Code { phone: "+15550009".into() });
        assert!(matches!(&p.stage, Stage::Code { error: Some(e), .. } if e.contains("PHONE_CODE_INVALID")));
        typed(&mut p, "12345");
        p.on_key(key(KeyCode::Enter), &Keymap::default());
        p.ask(Ask::Password { hint: Some("the demo password".into()) });
        assert!(matches!(&p.stage, Stage::Password { hint: Some(h), .. } if h == "the demo password"));
        assert!(p.on_key(key(KeyCode::Enter), &Keymap::default()).effects.is_empty(), "an empty answer is not sent");
        typed(&mut p, "demo");
        assert_eq!(
            p.on_key(key(KeyCode::Enter), &Keymap::default()).effects,
            vec![Effect::LoginAnswer(Some("demo".into()))]
        );
        p.done(Ok("account work logged in".into()));
        assert_eq!(p.stage, Stage::List);
        assert_eq!(p.outcome, Some(("account work logged in".into(), false)));
    }

    #[test]
    fn esc_at_a_question_cancels_the_login_and_enter_on_a_row_logs_in_again() {
        let mut p = AccountsPanel::default();
        p.rows.push(AccountRow {
            name: "one".into(),
            phone: "+15550001".into(),
            backend: "simulated".into(),
            health: Health::NeedsLogin,
        });
        let h = p.on_key(key(KeyCode::Enter), &Keymap::default());
        assert_eq!(h.effects, vec![Effect::StartLogin { name: "one".into(), phone: "+15550001".into() }]);
        p.ask(Ask::Code { phone: "+15550001".into() });
        assert_eq!(p.on_key(key(KeyCode::Esc), &Keymap::default()).effects, vec![Effect::LoginAnswer(None)]);
        p.done(Err("login cancelled".into()));
        assert!(p.on_key(key(KeyCode::Esc), &Keymap::default()).close);
    }
}
