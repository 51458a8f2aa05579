//! The campaigns panel in the model: opening it, its keys, and the new campaign's audience,
//! which is what the lead list shows (its segment, or its filters and search).

use crossterm::event::KeyEvent;

use super::popup::apply;
use crate::campaign::Audience;
use crate::tui::keymap::{Action, Scope};
use crate::tui::model::Model;
use crate::tui::msg::Effect;
use crate::tui::panels::campaigns::{describe_audience, CreateForm, Stage};
use crate::tui::panels::{Popup, Reply};

/// `C`: the panel, with the campaigns read afresh.
pub fn open(m: &mut Model) -> Vec<Effect> {
    m.popup = Some(Popup::Campaigns);
    m.campaigns.open()
}

/// The leads the list shows, as a campaign's audience: the applied segment by name while its
/// search is unchanged (it is resolved again at launch), else the filters and the search.
pub fn audience(m: &Model) -> Audience {
    let query = Some(m.query.value().trim().to_string()).filter(|q| !q.is_empty());
    let segment = m.active_segment.as_ref().and_then(|name| m.segments.iter().find(|s| &s.name == name));
    match segment {
        Some(s) if s.query.as_deref().map(str::trim).filter(|q| !q.is_empty()) == query.as_deref() => {
            Audience { segment: Some(s.name.clone()), ..Audience::default() }
        }
        _ => Audience { segment: None, filter: m.filter.clone(), query, file: None },
    }
}

pub fn on_key(m: &mut Model, k: KeyEvent) -> Vec<Effect> {
    let listing = matches!(m.campaigns.stage, Stage::List);
    let reply = if listing && m.keymap.action(k, &[Scope::Panel, Scope::Global]) == Some(Action::NewCampaign) {
        let audience = audience(m);
        let about = format!(
            "the {} leads the list shows now ({})",
            crate::tui::ui::thousands(m.order.len() as u64),
            describe_audience(&audience)
        );
        m.campaigns.stage = Stage::Create(Box::new(CreateForm::new(audience, about)));
        Reply::stay()
    } else {
        m.campaigns.on_key(k, &m.keymap)
    };
    apply(m, reply)
}
