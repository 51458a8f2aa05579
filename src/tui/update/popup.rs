//! Keys while a popup is open: the popup handles the key and answers; what the answer asks of
//! the rest of the model (the targets of a status change, a segment from the current filters)
//! is carried out here. No popup is cloned or taken out and put back.

use crossterm::event::KeyEvent;

use crate::model::{Priority, Segment, Status};
use crate::store::{SortField, SortKey};
use crate::tui::model::Model;
use crate::tui::msg::Effect;
use crate::tui::panels::choice::{ChoiceKind, Chose, SORT_FIELDS};
use crate::tui::panels::composer::Composed;
use crate::tui::panels::form::FormAction;
use crate::tui::panels::text::{parse_tags, TextKind, Typed};
use crate::tui::panels::{Popup, Reply};
use crate::workspace::View;

pub fn on_key(m: &mut Model, k: KeyEvent) -> Vec<Effect> {
    if m.popup == Some(Popup::Campaigns) {
        return super::campaigns::on_key(m, k);
    }
    let keys = &m.keymap;
    let reply = match &mut m.popup {
        None => return Vec::new(),
        Some(Popup::Help) => Reply::close(),
        Some(Popup::Crawl) => m.crawl.on_key(k, keys),
        Some(Popup::Import) => m.import.on_key(k, keys),
        Some(Popup::Accounts) => m.accounts.on_key(k, keys),
        Some(Popup::Campaigns) => return Vec::new(),
        Some(Popup::Confirm(c)) => c.on_key(k),
        Some(Popup::Form(form)) => {
            let editing = form.editing.as_ref().map(|(id, _)| *id);
            match form.on_key(k, keys, m.default_region.as_deref()) {
                FormAction::Close => Reply::close(),
                FormAction::None => Reply::stay(),
                FormAction::Save(input, expect) => {
                    Reply::effects(vec![Effect::SaveLead { id: editing, input, expect }])
                }
                FormAction::Reload(id) => {
                    m.form_reload = Some((id, false));
                    Reply::effects(vec![Effect::LoadDetail(id)])
                }
            }
        }
        Some(Popup::Compose(c)) => match c.on_key(k, keys) {
            Composed::Editing => Reply::stay(),
            Composed::Close if c.editor.is_blank() => Reply::close(),
            Composed::Close => {
                // One draft is kept: `m` on the same lead opens it again.
                let key = keys.first_key(crate::tui::keymap::Action::Compose);
                m.draft = Some(c.clone());
                Reply { message: Some((format!("draft kept: {key} opens it again"), false)), ..Reply::close() }
            }
            Composed::Send { account, text } => {
                Reply::effects(vec![Effect::SendMessage { lead: c.lead, account, text }])
            }
        },
        Some(Popup::Choice(c)) => {
            let len = match c.kind {
                ChoiceKind::Status => Status::ALL.len(),
                ChoiceKind::Priority => Priority::ALL.len(),
                ChoiceKind::Workspace => m.workspaces.len(),
                ChoiceKind::Sort => SORT_FIELDS.len(),
            };
            let kind = c.kind;
            match c.on_key(k, keys, len) {
                Chose::Nothing => Reply::stay(),
                Chose::Cancel => Reply::close(),
                Chose::Item(i) => {
                    m.popup = None;
                    return chosen(m, kind, i);
                }
            }
        }
        Some(Popup::Text(t)) => match t.on_key(k, keys) {
            Typed::Editing => Reply::stay(),
            Typed::Cancel => Reply::close(),
            Typed::Done(text) => {
                let (kind, ids) = (t.kind, std::mem::take(&mut t.ids));
                m.popup = None;
                return typed(m, kind, ids, text);
            }
        },
    };
    apply(m, reply)
}

/// Carries out a panel's reply: close it, say its line, and hand back its effects.
pub fn apply(m: &mut Model, reply: Reply) -> Vec<Effect> {
    if reply.close {
        m.popup = None;
    }
    if reply.clear_message {
        m.message = None;
    }
    if let Some(message) = reply.message {
        m.message = Some(message);
    }
    reply.effects
}

fn chosen(m: &mut Model, kind: ChoiceKind, i: usize) -> Vec<Effect> {
    match kind {
        ChoiceKind::Status => {
            let ids = m.targets();
            if !ids.is_empty() {
                return vec![Effect::SetStatus { ids, status: Status::ALL[i] }];
            }
        }
        ChoiceKind::Priority => {
            let ids = m.targets();
            if !ids.is_empty() {
                return vec![Effect::SetPriority { ids, priority: Priority::ALL[i] }];
            }
        }
        ChoiceKind::Workspace => {
            if let Some((_, workspace)) = m.workspaces.get(i).cloned() {
                return m.switch(workspace, View::Own, true);
            }
        }
        ChoiceKind::Sort => {
            let field = SORT_FIELDS[i].0;
            // A chosen column orders the inbox too.
            let was_inbox = std::mem::replace(&mut m.inbox, false);
            m.sort = if m.sort.field == field && !was_inbox {
                SortKey { field, descending: !m.sort.descending }
            } else {
                // Dates read best newest first; names and the rest, A to Z.
                SortKey { field, descending: matches!(field, SortField::Updated | SortField::Created) }
            };
            if m.query.value().trim().is_empty() {
                m.reorder(m.sorted_all());
            } else {
                // Search results keep their ranking; the sort applies to the unfiltered list.
                m.tell("sorted; clear the search to see the list in this order");
            }
        }
    }
    Vec::new()
}

fn typed(m: &mut Model, kind: TextKind, ids: Vec<u64>, text: String) -> Vec<Effect> {
    if text.is_empty() {
        return Vec::new();
    }
    match kind {
        TextKind::Note => ids.first().map(|&id| Effect::AddNote { id, text }).into_iter().collect(),
        TextKind::SegmentName => match crate::model::validate_segment_name(&text) {
            Ok(name) => {
                let query = Some(m.query.value().trim().to_string()).filter(|q| !q.is_empty());
                let segment = Segment { name: name.clone(), filter: m.filter.clone(), query };
                m.active_segment = Some(name);
                vec![Effect::SaveSegment(segment)]
            }
            Err(e) => {
                m.warn(e);
                Vec::new()
            }
        },
        TextKind::Tags => {
            let (add, remove) = parse_tags(&text);
            vec![Effect::EditTags { ids, add, remove }]
        }
    }
}
