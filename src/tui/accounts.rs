//! The accounts panel (`A`): the Telegram accounts with their health, and the login conversation
//! of `reach account add` (name and phone, the code Telegram sends, then the two-step password if
//! the account has one). Pure: the runtime runs the login and answers with messages.

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent};
use tui_input::backend::crossterm::EventHandler;

use super::app::{Effect, Field};

/// One account as the panel lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountRow {
    pub name: String,
    pub phone: String,
    pub backend: String,
    /// "connected", "flood-wait 42s", "needs login", or why it is unreachable.
    pub health: String,
    pub needs_login: bool,
}

/// What the login asks of the person at the keyboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    Code {
        phone: String,
    },
    Password {
        hint: Option<String>,
    },
    /// A wrong code or password; the next question follows.
    Retry(String),
}

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
    pub selected: usize,
    pub stage: Stage,
    /// The last login's outcome, and whether it failed.
    pub outcome: Option<(String, bool)>,
    /// Why the last answer was refused, shown with the next question.
    pub retry: Option<String>,
}

impl Default for AccountsPanel {
    fn default() -> Self {
        AccountsPanel { rows: Vec::new(), checking: false, selected: 0, stage: Stage::List, outcome: None, retry: None }
    }
}

/// What a key did: effects to perform, and whether the panel closes.
pub struct Handled {
    pub effects: Vec<Effect>,
    pub close: bool,
}

fn handled(effects: Vec<Effect>) -> Handled {
    Handled { effects, close: false }
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

    pub fn on_key(&mut self, k: KeyEvent) -> Handled {
        let key = TermEvent::Key(k);
        match &mut self.stage {
            Stage::List => match k.code {
                KeyCode::Esc => return Handled { effects: Vec::new(), close: true },
                KeyCode::Char('j') | KeyCode::Down => {
                    self.selected = (self.selected + 1).min(self.rows.len().saturating_sub(1))
                }
                KeyCode::Char('k') | KeyCode::Up => self.selected = self.selected.saturating_sub(1),
                KeyCode::Char('a') => {
                    self.outcome = None;
                    self.stage = Stage::New { name: Field::default(), phone: Field::default(), focus: 0 };
                }
                KeyCode::Char('r') => {
                    self.checking = true;
                    return handled(vec![Effect::LoadAccounts]);
                }
                KeyCode::Enter => {
                    if let Some(row) = self.rows.get(self.selected) {
                        let (name, phone) = (row.name.clone(), row.phone.clone());
                        self.outcome = None;
                        self.stage = Stage::Working(format!("logging {name} in…"));
                        return handled(vec![Effect::StartLogin { name, phone }]);
                    }
                }
                _ => {}
            },
            Stage::New { name, phone, focus } => match k.code {
                KeyCode::Esc => self.stage = Stage::List,
                KeyCode::Tab | KeyCode::BackTab | KeyCode::Up | KeyCode::Down => *focus = 1 - *focus,
                KeyCode::Enter if *focus == 0 => *focus = 1,
                KeyCode::Enter => {
                    let (n, p) = (name.0.value().trim().to_string(), phone.0.value().trim().to_string());
                    if n.is_empty() || p.is_empty() {
                        self.outcome = Some(("an account needs a name and a phone".into(), true));
                    } else {
                        self.outcome = None;
                        self.stage = Stage::Working(format!("asking Telegram to send {p} a code…"));
                        return handled(vec![Effect::StartLogin { name: n, phone: p }]);
                    }
                }
                _ => {
                    let field = if *focus == 0 { name } else { phone };
                    field.0.handle_event(&key);
                }
            },
            Stage::Code { input, .. } | Stage::Password { input, .. } => match k.code {
                // Giving up ends the login; the runtime says so with its outcome.
                KeyCode::Esc => {
                    self.stage = Stage::Working("cancelling…".into());
                    return handled(vec![Effect::LoginAnswer(None)]);
                }
                KeyCode::Enter if !input.0.value().trim().is_empty() => {
                    let answer = input.0.value().trim().to_string();
                    self.stage = Stage::Working("checking with Telegram…".into());
                    return handled(vec![Effect::LoginAnswer(Some(answer))]);
                }
                _ => {
                    input.0.handle_event(&key);
                }
            },
            // Telegram has the turn; the panel may be hidden meanwhile and reopens on its question.
            Stage::Working(_) => {
                if k.code == KeyCode::Esc {
                    return Handled { effects: Vec::new(), close: true };
                }
            }
        }
        handled(Vec::new())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::KeyModifiers;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    fn typed(p: &mut AccountsPanel, text: &str) {
        for c in text.chars() {
            p.on_key(key(KeyCode::Char(c)));
        }
    }

    #[test]
    fn adding_an_account_walks_through_code_and_password() {
        let mut p = AccountsPanel::default();
        p.on_key(key(KeyCode::Char('a')));
        typed(&mut p, "work");
        p.on_key(key(KeyCode::Enter));
        p.on_key(key(KeyCode::Enter));
        assert!(p.outcome.as_ref().is_some_and(|(m, err)| *err && m.contains("name and a phone")));
        typed(&mut p, "+15550009");
        let h = p.on_key(key(KeyCode::Enter));
        assert_eq!(h.effects, vec![Effect::StartLogin { name: "work".into(), phone: "+15550009".into() }]);
        assert!(p.logging_in());
        p.ask(Ask::Code { phone: "+15550009".into() });
        typed(&mut p, "11111");
        assert_eq!(p.on_key(key(KeyCode::Enter)).effects, vec![Effect::LoginAnswer(Some("11111".into()))]);
        p.ask(Ask::Retry("telegram: PHONE_CODE_INVALID".into()));
        p.ask(Ask::Code { phone: "+15550009".into() });
        assert!(matches!(&p.stage, Stage::Code { error: Some(e), .. } if e.contains("PHONE_CODE_INVALID")));
        typed(&mut p, "12345");
        p.on_key(key(KeyCode::Enter));
        p.ask(Ask::Password { hint: Some("the demo password".into()) });
        assert!(matches!(&p.stage, Stage::Password { hint: Some(h), .. } if h == "the demo password"));
        assert!(p.on_key(key(KeyCode::Enter)).effects.is_empty(), "an empty answer is not sent");
        typed(&mut p, "demo");
        assert_eq!(p.on_key(key(KeyCode::Enter)).effects, vec![Effect::LoginAnswer(Some("demo".into()))]);
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
            health: "needs login".into(),
            needs_login: true,
        });
        let h = p.on_key(key(KeyCode::Enter));
        assert_eq!(h.effects, vec![Effect::StartLogin { name: "one".into(), phone: "+15550001".into() }]);
        p.ask(Ask::Code { phone: "+15550001".into() });
        assert_eq!(p.on_key(key(KeyCode::Esc)).effects, vec![Effect::LoginAnswer(None)]);
        p.done(Err("login cancelled".into()));
        assert!(p.on_key(key(KeyCode::Esc)).close);
    }
}
