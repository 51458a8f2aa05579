//! Popups and panels, one file each: its state, its key handling (answering a `Reply` for the app
//! to carry out) and its drawing, as gitui's components are built. The crawl, import and accounts
//! panels keep their state in the model while hidden, so a running job goes on behind the list.

pub mod accounts;
pub mod campaigns;
pub mod choice;
pub mod composer;
pub mod crawl;
pub mod editor;
pub mod form;
pub mod help;
pub mod import;
pub mod text;

use tui_input::Input;

use super::msg::Effect;

/// A text field in a popup; equal when the text is.
#[derive(Debug, Clone, Default)]
pub struct Field(pub Input);

impl PartialEq for Field {
    fn eq(&self, other: &Self) -> bool {
        self.0.value() == other.0.value()
    }
}

impl Eq for Field {}

impl Field {
    pub fn new(text: &str) -> Field {
        Field(Input::new(text.to_string()))
    }

    pub fn text(&self) -> String {
        self.0.value().trim().to_string()
    }

    /// Types the key into the field; true when the text changed.
    pub fn type_key(&mut self, k: crossterm::event::KeyEvent) -> bool {
        use tui_input::backend::crossterm::EventHandler;
        let before = self.0.value().to_string();
        self.0.handle_event(&crossterm::event::Event::Key(k));
        self.0.value() != before
    }
}

/// What a key did in a panel: close it or not, effects to perform, and a line for the status bar.
#[derive(Debug, Default, PartialEq)]
pub struct Reply {
    pub close: bool,
    pub effects: Vec<Effect>,
    pub message: Option<(String, bool)>,
    /// The status line's old message no longer applies (a new start after a refusal).
    pub clear_message: bool,
}

impl Reply {
    pub fn stay() -> Reply {
        Reply::default()
    }

    pub fn close() -> Reply {
        Reply { close: true, ..Reply::default() }
    }

    pub fn effects(effects: Vec<Effect>) -> Reply {
        Reply { effects, ..Reply::default() }
    }

    pub fn error(text: impl Into<String>) -> Reply {
        Reply { message: Some((text.into(), true)), ..Reply::default() }
    }
}

/// The open popup. The panels whose state outlives them (crawl, import, accounts) are named here
/// and keep their state in the model.
#[derive(Debug, Clone, PartialEq)]
pub enum Popup {
    Help,
    Choice(choice::Choice),
    /// Delete these leads? (y/n)
    Confirm(choice::Confirm),
    Text(text::TextPrompt),
    /// Add a lead (`a`) or edit the selected one (`e`).
    Form(Box<form::Form>),
    /// A message to the selected lead (`m`).
    Compose(Box<composer::Composer>),
    Crawl,
    Import,
    Accounts,
    /// The campaigns panel (`C`); its state lives in the model.
    Campaigns,
}

impl Popup {
    /// The status bar's hint while this popup is open.
    pub fn hint(&self) -> &'static str {
        match self {
            Popup::Help => "any key closes the help",
            Popup::Crawl => "@name, t.me/name or t.me/+invite",
            Popup::Form(_) => "Tab/↑↓ move between fields · Enter save · Esc cancel",
            Popup::Compose(_) => "the message waits in the account's outbox; its runner sends it",
            Popup::Import => "the list stays live while an import runs",
            Popup::Accounts => "sessions live in the data dir; api_id and api_hash come from the config",
            Popup::Campaigns => "account runners send campaigns; the figures follow every recipient as it moves",
            Popup::Choice(_) | Popup::Confirm(_) | Popup::Text(_) => "j/k choose · Enter apply · Esc cancel",
        }
    }
}
