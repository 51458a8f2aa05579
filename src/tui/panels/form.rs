//! The add and edit forms: one tui-input field per lead field, validated on every keystroke with
//! the rules the CLI uses (`LeadInput::validate`), saved through the dedup upsert.

use std::collections::BTreeSet;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::Field;
use crate::model::{Lead, LeadError, LeadInput, Source};
use crate::tui::keymap::{Action, Keymap, Scope};
use crate::tui::theme;

/// The form's fields: (the validation's field name, the label).
pub const FIELDS: &[(&str, &str)] = &[
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("username", "@username"),
    ("phone_number", "Phone"),
    ("telegram_user_id", "Telegram id"),
    ("country", "Country"),
    ("language", "Language"),
    ("group_name", "Group"),
    ("tags", "Tags"),
    ("status", "Status"),
    ("priority", "Priority"),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    /// None: a new lead. Some: the lead being edited, with its tags when the form opened.
    pub editing: Option<(u64, BTreeSet<String>)>,
    pub fields: Vec<Field>,
    pub focus: usize,
    /// The first field the validation refuses, with the reason; updated on every keystroke.
    pub error: Option<(&'static str, String)>,
    /// After saving: what happened, e.g. that the lead merged into an existing one.
    pub saved: Option<String>,
    pub saving: bool,
    /// Each field's text when the form opened, for an edit: only what the user changed is sent,
    /// with what it was, so a change made meanwhile by anyone else is never reverted.
    pub original: Vec<String>,
}

/// Which form field a validation error names (the validation says `phone`, the form `phone_number`).
pub fn field_of(error_field: &str) -> Option<usize> {
    let name = match error_field {
        "phone" => "phone_number",
        "group" => "group_name",
        "tag" => "tags",
        other => other,
    };
    FIELDS.iter().position(|(n, _)| *n == name)
}

pub enum FormAction {
    None,
    Close,
    /// The input to write, and for an edit what each changed field was when the form opened.
    Save(Box<LeadInput>, Vec<(&'static str, String)>),
    /// Read the lead again, to edit it as it is now (after a refused save).
    Reload(u64),
}

impl Form {
    pub fn add() -> Form {
        let mut f = Form {
            editing: None,
            fields: FIELDS.iter().map(|_| Field::default()).collect(),
            focus: 0,
            error: None,
            saved: None,
            saving: false,
            original: Vec::new(),
        };
        f.revalidate(None);
        f
    }

    pub fn edit(lead: &Lead) -> Form {
        let values: Vec<String> = FIELDS.iter().map(|(name, _)| lead.field_text(name).unwrap_or_default()).collect();
        Form {
            editing: Some((lead.id, lead.tags.clone())),
            fields: values.iter().map(|v| Field::new(v)).collect(),
            focus: 0,
            error: None,
            saved: None,
            saving: false,
            original: values,
        }
    }

    /// The lead as it is now under the user's changes: the fields they changed keep what they
    /// typed, the others take the stored values, and the next save is checked against these.
    pub fn rebase(&mut self, lead: &Lead, region: Option<&str>) {
        for (i, (name, _)) in FIELDS.iter().enumerate() {
            let now = lead.field_text(name).unwrap_or_default();
            if !self.changed(i) {
                self.fields[i] = Field::new(&now);
            }
            self.original[i] = now;
        }
        self.editing = Some((lead.id, lead.tags.clone()));
        self.saved = None;
        self.revalidate(region);
    }

    /// Whether field `i` differs from what the form opened with (always, for a new lead).
    fn changed(&self, i: usize) -> bool {
        self.editing.is_none() || self.original.get(i).is_none_or(|o| o.trim() != self.fields[i].0.value().trim())
    }

    fn value(&self, name: &str) -> Option<String> {
        let i = FIELDS.iter().position(|(n, _)| *n == name)?;
        if !self.changed(i) {
            return None;
        }
        Some(self.fields[i].0.value().trim().to_string()).filter(|v| !v.is_empty())
    }

    /// For an edit: every changed field with the text it had when the form opened.
    pub fn expected(&self) -> Vec<(&'static str, String)> {
        if self.editing.is_none() {
            return Vec::new();
        }
        (0..FIELDS.len()).filter(|i| self.changed(*i)).map(|i| (FIELDS[i].0, self.original[i].clone())).collect()
    }

    /// The form as the input every write path takes. Tags are a comma list; on an edit, tags
    /// removed from the list are removed from the lead.
    pub fn input(&self) -> LeadInput {
        let tags: Vec<String> = self
            .value("tags")
            .map(|t| t.split([',', ';']).map(str::trim).filter(|t| !t.is_empty()).map(String::from).collect())
            .unwrap_or_default();
        let tags_changed = FIELDS.iter().position(|(n, _)| *n == "tags").is_some_and(|i| self.changed(i));
        let remove_tags = match &self.editing {
            Some(_) if !tags_changed => Vec::new(),
            Some((_, old)) => {
                let kept: BTreeSet<String> = tags.iter().map(|t| t.to_lowercase()).collect();
                old.iter().filter(|t| !kept.contains(&t.to_lowercase())).cloned().collect()
            }
            None => Vec::new(),
        };
        LeadInput {
            first_name: self.value("first_name"),
            last_name: self.value("last_name"),
            username: self.value("username"),
            phone: self.value("phone_number"),
            telegram_user_id: self.value("telegram_user_id"),
            country: self.value("country"),
            language: self.value("language"),
            group: self.value("group_name"),
            status: self.value("status"),
            priority: self.value("priority"),
            tags,
            remove_tags,
            ..LeadInput::default()
        }
    }

    fn check(&self, region: Option<&str>) -> Result<(), LeadError> {
        let cand = self.input().validate(Source::Manual, region)?;
        if self.editing.is_none() {
            cand.check_identifiable()?;
        }
        Ok(())
    }

    pub fn revalidate(&mut self, region: Option<&str>) {
        self.error = self.check(region).err().map(|e| (e.field, e.to_string()));
    }

    pub fn on_key(&mut self, k: KeyEvent, keys: &Keymap, region: Option<&str>) -> FormAction {
        let n = self.fields.len();
        match keys.command(k, &[Scope::Global, Scope::Panel]) {
            Some(Action::Back) => return FormAction::Close,
            Some(Action::Reload) => {
                // Not while a save is on its way: its answer would land on the reloaded form.
                if let (Some((id, _)), false) = (&self.editing, self.saving) {
                    return FormAction::Reload(*id);
                }
            }
            Some(Action::NextPane | Action::Down) => self.focus = (self.focus + 1) % n,
            Some(Action::Up) => self.focus = (self.focus + n - 1) % n,
            _ if k.code == KeyCode::BackTab => self.focus = (self.focus + n - 1) % n,
            Some(Action::Open) => {
                if self.saved.is_some() {
                    return FormAction::Close;
                }
                self.revalidate(region);
                if self.error.is_none() && !self.saving {
                    self.saving = true;
                    return FormAction::Save(Box::new(self.input()), self.expected());
                }
            }
            _ if k.modifiers.contains(KeyModifiers::CONTROL) => {}
            _ => {
                if self.fields[self.focus].type_key(k) {
                    self.saved = None;
                    self.revalidate(region);
                }
            }
        }
        FormAction::None
    }

    pub fn draw(&self, f: &mut Frame) {
        let title = match &self.editing {
            Some((id, _)) => format!(" Edit lead #{id} "),
            None => " Add a lead ".to_string(),
        };
        let hint = if self.saved.is_some() {
            " Enter close · Tab keep editing "
        } else if self.editing.is_some() && self.error.as_ref().is_some_and(|(field, _)| field.is_empty()) {
            // A refused save (not a field's validation): the lead changed meanwhile.
            " Ctrl-R reload the lead · Enter save · Esc cancel "
        } else {
            " Tab next · Enter save · Esc cancel "
        };
        let area = theme::centered(f.area(), 64, FIELDS.len() as u16 + 6);
        f.render_widget(Clear, area);
        let block = theme::popup(title).title_bottom(Line::from(hint).right_aligned());
        let inner = block.inner(area);
        f.render_widget(block, area);
        let bad = self.error.as_ref().and_then(|(field, _)| field_of(field));
        let mut lines: Vec<Line> = FIELDS
            .iter()
            .zip(&self.fields)
            .enumerate()
            .map(|(i, ((_, label), value))| {
                let style = match (i == self.focus, Some(i) == bad) {
                    (_, true) => theme::error(),
                    (true, false) => theme::heading(),
                    (false, false) => theme::dim(),
                };
                Line::from(vec![Span::styled(format!(" {label:>12} "), style), Span::raw(value.0.value().to_string())])
            })
            .collect();
        lines.push(Line::raw(""));
        match (&self.saved, &self.error, self.saving) {
            (Some(done), _, _) => lines.push(Line::styled(format!(" {done}"), theme::ok())),
            (None, _, true) => lines.push(Line::styled(" saving…", theme::dim())),
            (None, Some((_, why)), false) => lines.push(Line::styled(format!(" {why}"), theme::error())),
            (None, None, false) => {
                let note = if self.editing.is_some() {
                    " empty fields are left as they are; a tag taken out of the list is removed"
                } else {
                    " a lead that shares an id, username or phone is merged, not duplicated"
                };
                lines.push(Line::styled(note, theme::dim()));
            }
        }
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
        if self.saved.is_none() {
            let x = self.fields[self.focus].0.visual_cursor().min(inner.width.saturating_sub(16) as usize) as u16;
            f.set_cursor_position((inner.x + 15 + x, inner.y + self.focus as u16));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    fn type_text(f: &mut Form, s: &str) {
        for c in s.chars() {
            f.on_key(key(KeyCode::Char(c)), &Keymap::default(), None);
        }
    }

    #[test]
    fn validation_runs_on_every_keystroke_with_the_cli_rules() {
        let mut f = Form::add();
        assert_eq!(f.error.as_ref().map(|e| e.0), Some("identifier"), "a new lead needs an identifier");
        f.focus = 2;
        type_text(&mut f, "@ab");
        assert_eq!(f.error.as_ref().map(|e| e.0), Some("username"));
        type_text(&mut f, "cdef");
        assert_eq!(f.error, None);
        f.focus = 5;
        type_text(&mut f, "Narnia");
        assert_eq!(f.error.as_ref().map(|e| e.0), Some("country"));
        assert!(
            matches!(f.on_key(key(KeyCode::Enter), &Keymap::default(), None), FormAction::None),
            "an invalid form is not saved"
        );
        for _ in 0..6 {
            f.on_key(key(KeyCode::Backspace), &Keymap::default(), None);
        }
        type_text(&mut f, "de");
        let FormAction::Save(input, expect) = f.on_key(key(KeyCode::Enter), &Keymap::default(), None) else {
            panic!("saves")
        };
        assert!(expect.is_empty(), "a new lead expects nothing");
        assert_eq!((input.username.as_deref(), input.country.as_deref()), (Some("@abcdef"), Some("de")));
        assert!(
            matches!(f.on_key(key(KeyCode::Enter), &Keymap::default(), None), FormAction::None),
            "one save at a time"
        );
    }

    #[test]
    fn an_edit_starts_from_the_lead_and_removes_tags_taken_out_of_the_list() {
        let input = LeadInput {
            username: Some("form_lead".into()),
            tags: vec!["vip".into(), "warm".into()],
            ..LeadInput::default()
        };
        let cand = input.validate(Source::Manual, None).unwrap();
        let lead = crate::store::merge::create(1, "u:me", "me", 0, cand, Default::default()).0;
        let mut f = Form::edit(&lead);
        assert_eq!(f.fields[8].0.value(), "vip, warm");
        f.focus = 8;
        for _ in 0.."warm".len() {
            f.on_key(key(KeyCode::Backspace), &Keymap::default(), None);
        }
        type_text(&mut f, "cold");
        let input = f.input();
        assert_eq!(input.tags, ["vip", "cold"]);
        assert_eq!(input.remove_tags, ["warm"]);
        assert_eq!(f.error, None);
    }
}
