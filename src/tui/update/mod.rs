//! The TUI's state machine: `update(&mut Model, Event) -> Vec<Effect>` with no I/O. The executor
//! performs the effects (store reads and writes, searches) and feeds their results back as `Msg`s.

mod campaigns;
mod keys;
mod msgs;
mod popup;
mod talk;

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::model::Model;
use super::msg::{Effect, Event, Msg};

pub fn update(m: &mut Model, ev: Event) -> Vec<Effect> {
    let mut effects = match ev {
        Event::Msg(msg) => {
            // A load counts the segments afresh; after that the counter follows the changed leads
            // itself (see effects/segments.rs).
            let loaded = matches!(msg, Msg::Loaded { .. } | Msg::LeadsReloaded { .. });
            let mut effects = msgs::on_msg(m, msg);
            if loaded {
                effects.push(Effect::CountSegments { base: m.view_filter() });
            }
            effects
        }
        Event::Term(TermEvent::Key(k)) if k.kind != KeyEventKind::Release => {
            use super::keymap::Scope;
            let all = [Scope::Global, Scope::Leads, Scope::Filters, Scope::Panel];
            if k.modifiers == KeyModifiers::ALT
                && matches!(k.code, KeyCode::Char(_))
                && m.keymap.action(k, &all).is_none()
            {
                // A terminal sends Esc and a key typed right after it as one Alt chord: unbound,
                // it is taken apart into the two keys the user pressed.
                let mut effects = keys::on_key(m, KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE));
                effects.extend(keys::on_key(m, KeyEvent::new(k.code, KeyModifiers::NONE)));
                effects
            } else {
                keys::on_key(m, k)
            }
        }
        Event::Term(TermEvent::Paste(text)) => paste(m, &text),
        Event::Term(_) => Vec::new(),
    };
    follow_selection(m, &mut effects);
    effects
}

/// The most characters one paste puts into a field: a popup's fields take them key by key.
const PASTE_MAX_CHARS: usize = 8 * 1024;

/// A bracketed paste goes into the text field that has the focus, as if typed, on one line; where
/// no field takes text it is dropped, since typed into the list its letters would be commands.
fn paste(m: &mut Model, text: &str) -> Vec<Effect> {
    use super::panels::{campaigns, import, Popup};
    let takes_text = match &m.popup {
        None => m.focus == super::model::Focus::Search,
        Some(Popup::Text(_) | Popup::Form(_) | Popup::Compose(_)) => true,
        Some(Popup::Crawl) => !m.crawl.running(),
        Some(Popup::Import) => matches!(m.import.stage, import::Stage::Path),
        Some(Popup::Campaigns) => matches!(m.campaigns.stage, campaigns::Stage::Create(_)),
        Some(_) => false,
    };
    if !takes_text {
        m.message = Some(("paste into a text field: / to search, e to edit, m to write".into(), true));
        return Vec::new();
    }
    let text: String = text
        .chars()
        .filter_map(|c| match c {
            '\n' | '\r' | '\t' => Some(' '),
            c if c.is_control() => None,
            c => Some(c),
        })
        .take(PASTE_MAX_CHARS)
        .collect();
    if m.popup.is_none() {
        // The search box takes the whole text at once: one edit, one search.
        let at = m.query.cursor();
        let value = m.query.value();
        let split = value.char_indices().nth(at).map_or(value.len(), |(i, _)| i);
        let joined = format!("{}{text}{}", &value[..split], &value[split..]);
        m.query = tui_input::Input::new(joined).with_cursor(at + text.chars().count());
        return if text.is_empty() { Vec::new() } else { m.query_changed() };
    }
    // A popup's fields take it as typed (the server caps a paste at a few KiB).
    let mut effects = Vec::new();
    for c in text.chars() {
        let mods = if c.is_uppercase() { KeyModifiers::SHIFT } else { KeyModifiers::NONE };
        effects.extend(keys::on_key(m, KeyEvent::new(KeyCode::Char(c), mods)));
    }
    effects
}

/// Whatever moved the selection (a key, a search, a delete), an open detail follows it, and an
/// edit asked for another lead is dropped.
fn follow_selection(m: &mut Model, effects: &mut Vec<Effect>) {
    let selected = m.selected().map(|r| r.id);
    if m.edit_pending.is_some() && m.edit_pending != selected {
        m.edit_pending = None;
    }
    if m.compose_pending.is_some() && m.compose_pending != selected {
        m.compose_pending = None;
    }
    talk::follow_thread(m, effects);
    let Some(id) = selected.filter(|_| m.detail_open) else { return };
    let shown = m.detail.as_ref().map(|(l, _)| l.id);
    let asked = effects.contains(&Effect::LoadDetail(id));
    if shown != Some(id) && m.detail_requested != Some(id) && !asked {
        effects.push(Effect::LoadDetail(id));
    }
    if asked || shown != Some(id) {
        m.detail_requested = Some(id);
    }
}
