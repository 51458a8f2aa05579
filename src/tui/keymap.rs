//! Keys, overridable from `[keys]` in the config. The list's key handling is written against the
//! default keys; a pressed key is translated to the default key of the action it is bound to.

use std::collections::BTreeMap;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Action -> default keys. The first key is the one the handlers match on.
pub const DEFAULTS: &[(&str, &[&str])] = &[
    ("search", &["/"]),
    ("down", &["j", "down"]),
    ("up", &["k", "up"]),
    ("top", &["g", "home"]),
    ("bottom", &["G", "end"]),
    ("page_down", &["pgdn"]),
    ("page_up", &["pgup"]),
    ("next_pane", &["tab"]),
    ("open", &["enter"]),
    ("add", &["a"]),
    ("edit", &["e"]),
    ("status", &["s"]),
    ("priority", &["p"]),
    ("tags", &["t"]),
    ("note", &["n"]),
    ("select", &["space"]),
    ("select_all", &["V"]),
    ("delete", &["d"]),
    ("import", &["i"]),
    ("export", &["x"]),
    ("crawl", &["c"]),
    ("accounts", &["A"]),
    ("workspace", &["o"]),
    ("help", &["?"]),
    ("quit", &["q"]),
    ("sort", &["S"]),
    ("view", &["v"]),
];

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

#[derive(Debug, Clone)]
pub struct Keymap {
    /// Action -> the keys bound to it now.
    bound: BTreeMap<&'static str, Vec<(KeyCode, KeyModifiers)>>,
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap::new(&BTreeMap::new()).unwrap_or(Keymap { bound: BTreeMap::new() })
    }
}

impl Keymap {
    /// Defaults, with each configured action's keys replaced by the configured one.
    pub fn new(overrides: &BTreeMap<String, String>) -> Result<Keymap, String> {
        let mut bound = BTreeMap::new();
        for (action, keys) in DEFAULTS {
            let keys = match overrides.get(*action) {
                Some(spec) => vec![parse_key(spec).map_err(|e| format!("keys.{action}: {e}"))?],
                None => keys.iter().map(|k| parse_key(k)).collect::<Result<_, _>>()?,
            };
            bound.insert(*action, keys.into_iter().map(|(c, m)| normalize(c, m)).collect::<Vec<_>>());
        }
        // One key, one action: a configured key that another action still uses is ambiguous.
        for (action, keys) in &bound {
            for key in keys {
                if let Some((other, _)) = bound.iter().find(|(a, ks)| *a != action && ks.contains(key)) {
                    if overrides.contains_key(*action) {
                        return Err(format!("keys.{action}: that key is also bound to {other}; rebind {other} too"));
                    }
                }
            }
        }
        Ok(Keymap { bound })
    }

    fn default_key(action: &str) -> Option<(KeyCode, KeyModifiers)> {
        let (_, keys) = DEFAULTS.iter().find(|(a, _)| *a == action)?;
        parse_key(keys.first()?).ok().map(|(c, m)| normalize(c, m))
    }

    /// The key the handlers know for what `k` is bound to; a default key that was rebound away
    /// does nothing; keys outside the map (Esc, Ctrl-C) pass through.
    pub fn translate(&self, k: KeyEvent) -> KeyEvent {
        let pressed = normalize(k.code, k.modifiers);
        if let Some((action, _)) = self.bound.iter().find(|(_, keys)| keys.contains(&pressed)) {
            if let Some((code, mods)) = Keymap::default_key(action) {
                return KeyEvent::new(code, mods);
            }
        }
        let is_default = DEFAULTS
            .iter()
            .any(|(_, keys)| keys.iter().any(|s| parse_key(s).ok().map(|(c, m)| normalize(c, m)) == Some(pressed)));
        if is_default {
            return KeyEvent::new(KeyCode::Null, KeyModifiers::NONE);
        }
        k
    }

    /// How the help shows an action's keys.
    pub fn describe(&self, action: &str) -> String {
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
        self.bound.get(action).map(|keys| keys.iter().map(name).collect::<Vec<_>>().join(" ")).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(c: char) -> KeyEvent {
        KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)
    }

    #[test]
    fn overrides_replace_defaults_and_translate_to_the_handlers_keys() {
        let km =
            Keymap::new(&[("quit".to_string(), "ctrl-x".to_string()), ("search".to_string(), "f".to_string())].into())
                .unwrap();
        assert_eq!(km.translate(KeyEvent::new(KeyCode::Char('x'), KeyModifiers::CONTROL)).code, KeyCode::Char('q'));
        assert_eq!(km.translate(ev('f')).code, KeyCode::Char('/'));
        assert_eq!(km.translate(ev('q')).code, KeyCode::Null, "the old quit key no longer quits");
        assert_eq!(km.translate(ev('j')).code, KeyCode::Char('j'));
        assert_eq!(km.translate(KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE)).code, KeyCode::Esc);
        assert_eq!(km.translate(KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT)).code, KeyCode::Char('G'));
        assert_eq!(km.describe("quit"), "Ctrl-x");
        assert_eq!(km.describe("down"), "j ↓");
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
