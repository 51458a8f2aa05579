//! Keys: every key the TUI acts on is an `Action`, looked up in one map that `[keys]` in the config
//! overrides. Panes and popups ask the map for the actions of their scopes, so an override applies
//! everywhere, and the help overlay is drawn from the same map.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Declares `Action` and, for the tests, the list of all its variants from one list of names.
macro_rules! actions {
    ($($name:ident),* $(,)?) => {
        /// What the user asks for, whatever key they pressed.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action {
            $($name),*
        }

        #[cfg(test)]
        impl Action {
            pub const ALL: &'static [Action] = &[$(Action::$name),*];
        }
    };
}

actions! {
    Search,
    Down,
    Up,
    Top,
    Bottom,
    PageDown,
    PageUp,
    NextPane,
    Open,
    Back,
    Help,
    Quit,
    Add,
    Edit,
    Status,
    Priority,
    Tags,
    Note,
    Select,
    SelectAll,
    Delete,
    Import,
    Export,
    Crawl,
    Accounts,
    Workspace,
    Sort,
    View,
    Toggle,
    ClearFilters,
    SaveSegment,
    DeleteSegment,
    CancelJob,
    Refresh,
    Reload,
    AddAccount,
    Compose,
    Inbox,
    DoNotContact,
    NextTab,
    PrevTab,
    Send,
    Campaigns,
    NewCampaign,
    PreviewCampaign,
    Launch,
    PauseResume,
}

/// Where an action's keys apply. Keys must be unique within a scope and against `Global`, whose
/// actions work in every pane and popup; other scopes may reuse each other's keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Global,
    /// The list and the detail.
    Leads,
    /// The filter pane.
    Filters,
    /// Panels with running work: the crawl, import and accounts panels.
    Panel,
}

/// One action: its `[keys]` name, where it applies, and its default keys.
pub struct Spec {
    pub action: Action,
    pub name: &'static str,
    pub scope: Scope,
    pub keys: &'static [&'static str],
}

const fn spec(action: Action, name: &'static str, scope: Scope, keys: &'static [&'static str]) -> Spec {
    Spec { action, name, scope, keys }
}

/// Every action with its default keys.
pub const DEFAULTS: &[Spec] = &[
    spec(Action::Search, "search", Scope::Global, &["/"]),
    spec(Action::Down, "down", Scope::Global, &["j", "down"]),
    spec(Action::Up, "up", Scope::Global, &["k", "up"]),
    spec(Action::Top, "top", Scope::Global, &["g", "home"]),
    spec(Action::Bottom, "bottom", Scope::Global, &["G", "end"]),
    spec(Action::PageDown, "page_down", Scope::Global, &["pgdn"]),
    spec(Action::PageUp, "page_up", Scope::Global, &["pgup"]),
    spec(Action::NextPane, "next_pane", Scope::Global, &["tab"]),
    spec(Action::Open, "open", Scope::Global, &["enter"]),
    spec(Action::Back, "back", Scope::Global, &["esc"]),
    spec(Action::Help, "help", Scope::Global, &["?"]),
    spec(Action::Quit, "quit", Scope::Global, &["q"]),
    spec(Action::Add, "add", Scope::Leads, &["a"]),
    spec(Action::Edit, "edit", Scope::Leads, &["e"]),
    spec(Action::Status, "status", Scope::Leads, &["s"]),
    spec(Action::Priority, "priority", Scope::Leads, &["p"]),
    spec(Action::Tags, "tags", Scope::Leads, &["t"]),
    spec(Action::Note, "note", Scope::Leads, &["n"]),
    spec(Action::Select, "select", Scope::Leads, &["space"]),
    spec(Action::SelectAll, "select_all", Scope::Leads, &["V"]),
    spec(Action::Delete, "delete", Scope::Leads, &["d"]),
    spec(Action::Import, "import", Scope::Leads, &["i"]),
    spec(Action::Export, "export", Scope::Leads, &["x"]),
    spec(Action::Crawl, "crawl", Scope::Leads, &["c"]),
    spec(Action::Accounts, "accounts", Scope::Leads, &["A"]),
    spec(Action::Workspace, "workspace", Scope::Leads, &["o"]),
    spec(Action::Sort, "sort", Scope::Leads, &["S"]),
    spec(Action::View, "view", Scope::Leads, &["v"]),
    spec(Action::Compose, "compose", Scope::Leads, &["m"]),
    spec(Action::Inbox, "inbox", Scope::Leads, &["I"]),
    spec(Action::DoNotContact, "do_not_contact", Scope::Leads, &["N"]),
    spec(Action::NextTab, "next_tab", Scope::Leads, &["]"]),
    spec(Action::PrevTab, "prev_tab", Scope::Leads, &["["]),
    spec(Action::Campaigns, "campaigns", Scope::Leads, &["C"]),
    spec(Action::Toggle, "toggle", Scope::Filters, &["space"]),
    spec(Action::ClearFilters, "clear_filters", Scope::Filters, &["c"]),
    spec(Action::SaveSegment, "save_segment", Scope::Filters, &["W"]),
    spec(Action::DeleteSegment, "delete_segment", Scope::Filters, &["D"]),
    spec(Action::CancelJob, "cancel_job", Scope::Panel, &["x"]),
    spec(Action::Refresh, "refresh", Scope::Panel, &["r"]),
    spec(Action::Reload, "reload", Scope::Panel, &["ctrl-r"]),
    spec(Action::AddAccount, "add_account", Scope::Panel, &["a"]),
    spec(Action::Send, "send", Scope::Panel, &["ctrl-s"]),
    spec(Action::NewCampaign, "new_campaign", Scope::Panel, &["n"]),
    spec(Action::PreviewCampaign, "preview_campaign", Scope::Panel, &["v"]),
    spec(Action::Launch, "launch_campaign", Scope::Panel, &["L"]),
    spec(Action::PauseResume, "pause_campaign", Scope::Panel, &["p"]),
];

/// The help overlay, a line each: the actions whose keys it shows, and what they do.
pub const HELP: &[(&[Action], &str)] = &[
    (&[Action::Search], "search; Esc or Enter leaves it"),
    (&[Action::Down, Action::Up], "move"),
    (&[Action::Top, Action::Bottom, Action::PageUp, Action::PageDown], "first, last, page"),
    (&[Action::Open], "open the detail"),
    (&[Action::PrevTab, Action::NextTab], "detail tabs: profile, activity, messages"),
    (&[Action::NextPane], "switch panes: list, filters, detail"),
    (
        &[Action::Toggle, Action::ClearFilters, Action::SaveSegment, Action::DeleteSegment],
        "filters: toggle, clear, save or delete a segment",
    ),
    (&[Action::Back], "close the detail or a popup"),
    (&[Action::Add, Action::Edit], "add a lead, edit the selected one (a form)"),
    (&[Action::Status, Action::Priority], "set the status, the priority"),
    (&[Action::Tags], "edit tags: +vip,-cold adds and removes"),
    (&[Action::Note], "add a note to the history"),
    (&[Action::Delete], "delete the lead (asks first)"),
    (&[Action::Select, Action::SelectAll], "mark a lead / all in view; s p t d apply to marked"),
    (&[Action::Sort], "sort by a column (the same one again reverses)"),
    (&[Action::Import, Action::Export], "import a file / export the current view to CSV"),
    (&[Action::Crawl], "crawl a Telegram group or channel into leads"),
    (&[Action::Accounts, Action::Campaigns], "Telegram accounts / campaigns to the listed leads"),
    (&[Action::Compose, Action::DoNotContact], "write to the lead / toggle do-not-contact"),
    (&[Action::Inbox], "inbox: leads with unread messages, newest first"),
    (&[Action::Workspace, Action::View], "switch workspace / own or all leads"),
    (&[Action::Help, Action::Quit], "this help / quit"),
];

impl Action {
    pub fn spec(self) -> &'static Spec {
        // Every action has a row in DEFAULTS (a test checks it).
        DEFAULTS.iter().find(|s| s.action == self).unwrap_or(&DEFAULTS[0])
    }

    pub fn name(self) -> &'static str {
        self.spec().name
    }
}

/// `j`, `G`, `/`, or a named key with modifiers: `enter`, `esc`, `tab`, `space`, `pgdn`, `f1`, `ctrl-d`.
pub fn parse_key(spec: &str) -> Result<(KeyCode, KeyModifiers), String> {
    let parts: Vec<&str> = if spec == "-" { vec!["-"] } else { spec.split('-').collect() };
    let (last, mods) = parts.split_last().ok_or("empty key")?;
    let mut m = KeyModifiers::NONE;
    for part in mods {
        m |= match part.to_ascii_lowercase().as_str() {
            "ctrl" => KeyModifiers::CONTROL,
            "alt" => KeyModifiers::ALT,
            "shift" => KeyModifiers::SHIFT,
            other => return Err(format!("unknown modifier {other:?}; expected ctrl, alt or shift")),
        };
    }
    let lower = last.to_ascii_lowercase();
    let code = match lower.as_str() {
        "enter" => KeyCode::Enter,
        "esc" => KeyCode::Esc,
        "tab" => KeyCode::Tab,
        "backtab" => KeyCode::BackTab,
        "space" => KeyCode::Char(' '),
        "backspace" => KeyCode::Backspace,
        "delete" => KeyCode::Delete,
        "insert" => KeyCode::Insert,
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "pgup" => KeyCode::PageUp,
        "pgdn" => KeyCode::PageDown,
        _ if last.chars().count() == 1 => KeyCode::Char(last.chars().next().unwrap_or(' ')),
        f if f.starts_with('f') && f[1..].parse::<u8>().is_ok_and(|n| (1..=12).contains(&n)) => {
            KeyCode::F(f[1..].parse().unwrap_or(1))
        }
        _ => return Err(format!("unknown key {last:?}")),
    };
    Ok((code, m))
}

/// A character already says whether shift was held; other keys keep their modifiers.
fn normalize(code: KeyCode, mods: KeyModifiers) -> (KeyCode, KeyModifiers) {
    match code {
        KeyCode::Char(_) => (code, mods - KeyModifiers::SHIFT),
        _ => (code, mods),
    }
}

type Key = (KeyCode, KeyModifiers);

#[derive(Debug, Clone)]
pub struct Keymap {
    /// Each action with the keys bound to it now, in `DEFAULTS` order.
    bound: Vec<(Action, Scope, Vec<Key>)>,
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap::new(&Default::default()).unwrap_or(Keymap { bound: Vec::new() })
    }
}

fn clash(a: Scope, b: Scope) -> bool {
    a == b || a == Scope::Global || b == Scope::Global
}

impl Keymap {
    /// Defaults, with each configured action's keys replaced by the configured one.
    pub fn new(overrides: &std::collections::BTreeMap<String, String>) -> Result<Keymap, String> {
        if let Some(unknown) = overrides.keys().find(|name| !DEFAULTS.iter().any(|s| s.name == name.as_str())) {
            return Err(format!("keys.{unknown}: unknown action; expected one of {}", names().join(", ")));
        }
        let mut bound = Vec::new();
        for s in DEFAULTS {
            let keys = match overrides.get(s.name) {
                Some(spec) => vec![parse_key(spec).map_err(|e| format!("keys.{}: {e}", s.name))?],
                None => s.keys.iter().map(|k| parse_key(k)).collect::<Result<_, _>>()?,
            };
            bound.push((s.action, s.scope, keys.into_iter().map(|(c, m)| normalize(c, m)).collect::<Vec<_>>()));
        }
        // One key, one action where both can apply: a configured key another action still uses is ambiguous.
        for (action, scope, keys) in &bound {
            let Some(name) = overrides.keys().find(|n| n.as_str() == action.name()) else { continue };
            for key in keys {
                let other = bound.iter().find(|(a, sc, ks)| a != action && clash(*scope, *sc) && ks.contains(key));
                if let Some((other, _, _)) = other {
                    let other = other.name();
                    return Err(format!("keys.{name}: that key is also bound to {other}; rebind {other} too"));
                }
            }
        }
        Ok(Keymap { bound })
    }

    /// The action `k` is bound to among `scopes`, the first scope first; None for a key bound to
    /// nothing there (a default key rebound away does nothing).
    pub fn action(&self, k: KeyEvent, scopes: &[Scope]) -> Option<Action> {
        let pressed = normalize(k.code, k.modifiers);
        scopes.iter().find_map(|scope| {
            self.bound.iter().find(|(_, s, keys)| s == scope && keys.contains(&pressed)).map(|(a, _, _)| *a)
        })
    }

    /// For text fields: a plain character is text, whatever it is bound to; other keys (Enter,
    /// Esc, Tab, a ctrl- chord) are actions.
    pub fn command(&self, k: KeyEvent, scopes: &[Scope]) -> Option<Action> {
        let plain =
            matches!(k.code, KeyCode::Char(_)) && !k.modifiers.intersects(KeyModifiers::CONTROL | KeyModifiers::ALT);
        if plain {
            None
        } else {
            self.action(k, scopes)
        }
    }

    /// The first key bound to an action, as the help names it (for one-line hints).
    pub fn first_key(&self, action: Action) -> String {
        self.describe(action).split(' ').next().unwrap_or_default().to_string()
    }

    /// How the help shows an action's keys.
    pub fn describe(&self, action: Action) -> String {
        let name = |(code, mods): &(KeyCode, KeyModifiers)| {
            let key = match code {
                KeyCode::Char(' ') => "Space".to_string(),
                KeyCode::Char(c) => c.to_string(),
                KeyCode::Enter => "Enter".into(),
                KeyCode::Tab => "Tab".into(),
                KeyCode::Up => "↑".into(),
                KeyCode::Down => "↓".into(),
                KeyCode::Home => "Home".into(),
                KeyCode::End => "End".into(),
                KeyCode::PageUp => "PgUp".into(),
                KeyCode::PageDown => "PgDn".into(),
                KeyCode::Esc => "Esc".into(),
                KeyCode::F(n) => format!("F{n}"),
                other => format!("{other:?}"),
            };
            let mut prefix = String::new();
            if mods.contains(KeyModifiers::CONTROL) {
                prefix.push_str("Ctrl-");
            }
            if mods.contains(KeyModifiers::ALT) {
                prefix.push_str("Alt-");
            }
            format!("{prefix}{key}")
        };
        self.bound
            .iter()
            .find(|(a, _, _)| *a == action)
            .map(|(_, _, keys)| keys.iter().map(name).collect::<Vec<_>>().join(" "))
            .unwrap_or_default()
    }
}

/// The `[keys]` names, for the config's error messages.
pub fn names() -> Vec<&'static str> {
    DEFAULTS.iter().map(|s| s.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    const LIST: &[Scope] = &[Scope::Leads, Scope::Global];

    #[test]
    fn overrides_replace_defaults_in_every_scope() {
        let km =
            Keymap::new(&[("quit".to_string(), "ctrl-x".to_string()), ("search".to_string(), "f".to_string())].into())
                .unwrap();
        assert_eq!(km.action(KeyEvent::new(KeyCode::Char('x'), KeyModifiers::CONTROL), LIST), Some(Action::Quit));
        assert_eq!(km.action(ev('f'), LIST), Some(Action::Search));
        assert_eq!(km.action(ev('q'), LIST), None, "the old quit key no longer quits");
        assert_eq!(km.action(ev('q'), &[Scope::Filters, Scope::Global]), None, "nor in the filter pane");
        assert_eq!(km.action(ev('j'), LIST), Some(Action::Down));
        assert_eq!(km.action(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE), LIST), Some(Action::Back));
        assert_eq!(km.action(KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT), LIST), Some(Action::Bottom));
        assert_eq!(km.action(ev(' '), &[Scope::Filters, Scope::Global]), Some(Action::Toggle));
        assert_eq!(km.action(ev(' '), LIST), Some(Action::Select));
        assert_eq!(km.describe(Action::Quit), "Ctrl-x");
        assert_eq!(km.describe(Action::Down), "j ↓");
        let clash = Keymap::new(&[("quit".to_string(), "j".to_string())].into()).unwrap_err();
        assert!(clash.contains("keys.quit") && clash.contains("down"), "{clash}");
        assert!(
            Keymap::new(&[("quit".to_string(), "j".to_string()), ("down".to_string(), "n".to_string())].into())
                .is_err(),
            "n is note"
        );
        assert!(Keymap::new(
            &[("quit".to_string(), "j".to_string()), ("down".to_string(), "ctrl-n".to_string())].into()
        )
        .is_ok());
        // Scopes that never apply together may share a key.
        assert!(Keymap::new(&[("clear_filters".to_string(), "x".to_string())].into()).is_ok());
        assert!(Keymap::new(&[("fly".to_string(), "f".to_string())].into()).unwrap_err().contains("keys.fly"));
    }

    #[test]
    fn text_fields_keep_plain_characters() {
        let km = Keymap::default();
        assert_eq!(km.command(ev('q'), LIST), None);
        assert_eq!(km.command(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE), LIST), Some(Action::Open));
    }

    #[test]
    fn every_action_has_keys_and_a_line_in_the_help_or_a_panel() {
        let all = Action::ALL;
        assert_eq!(all.len(), DEFAULTS.len(), "every action has exactly one row in DEFAULTS");
        for a in all {
            assert!(DEFAULTS.iter().any(|s| s.action == *a), "{a:?} has no default keys");
            let helped = HELP.iter().any(|(actions, _)| actions.contains(a));
            assert!(helped || a.spec().scope == Scope::Panel, "{a:?} is in neither the help nor a panel's footer");
        }
    }

    #[test]
    fn every_action_has_one_spec_and_the_defaults_do_not_clash() {
        for (i, s) in DEFAULTS.iter().enumerate() {
            assert_eq!(s.action.spec().name, s.name);
            assert!(DEFAULTS[i + 1..].iter().all(|o| o.action != s.action && o.name != s.name), "{}", s.name);
        }
        let km = Keymap::default();
        for (a, sa, ka) in &km.bound {
            for (b, sb, kb) in &km.bound {
                if a != b && clash(*sa, *sb) {
                    assert!(ka.iter().all(|k| !kb.contains(k)), "{a:?} and {b:?} share a key");
                }
            }
        }
    }

    #[test]
    fn key_specs() {
        for ok in ["j", "G", "/", "?", "ctrl-d", "enter", "f5", "alt-shift-x", "-", "space", "pgdn"] {
            assert!(parse_key(ok).is_ok(), "{ok}");
        }
        for bad in ["", "jj", "hyper-x", "f13"] {
            assert!(parse_key(bad).is_err(), "{bad}");
        }
    }
}
