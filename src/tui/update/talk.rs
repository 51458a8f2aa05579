//! Conversations in the model: the detail's tabs and the thread they show, marking a thread
//! read when it is open, the composer and its draft, and do-not-contact.

use crate::model::{Flag, Lead, Message};
use crate::tui::model::{DetailTab, Model, Thread};
use crate::tui::msg::Effect;
use crate::tui::panels::composer::Composer;
use crate::tui::panels::Popup;

/// How many messages PgUp and PgDn scroll the thread by.
const SCROLL: isize = 5;

/// Shows the tab `by` steps away, opening the detail if it was closed.
pub fn switch_tab(m: &mut Model, by: isize) -> Vec<Effect> {
    if m.selected().is_none() {
        return Vec::new();
    }
    let tab = m.detail_tab.step(by);
    let effects = if m.detail_open { Vec::new() } else { m.open_detail() };
    m.detail_tab = tab;
    m.thread_scroll = 0;
    effects
}

/// Whether the selected lead's thread is on screen.
pub fn thread_shown(m: &Model) -> bool {
    m.detail_open && m.detail_tab == DetailTab::Messages && m.selected().is_some()
}

/// PgUp (older, positive) and PgDn (newer) in the Messages tab.
pub fn scroll(m: &mut Model, older: bool) {
    let len = m.thread.as_ref().map_or(0, |t| t.messages.len());
    let by = if older { SCROLL } else { -SCROLL };
    m.thread_scroll = (m.thread_scroll as isize + by).clamp(0, len.saturating_sub(1) as isize) as usize;
}

/// After every event: a shown thread is read once for its lead, and its unread messages are
/// marked read, once for each newest message (one arriving while it is open is read too).
pub fn follow_thread(m: &mut Model, effects: &mut Vec<Effect>) {
    if !thread_shown(m) {
        return;
    }
    let Some((id, unread, last)) = m.selected().map(|r| (r.id, r.unread, r.last_message_at)) else { return };
    let shown = m.thread.as_ref().map(|t| t.lead);
    if shown != Some(id) && m.thread_requested != Some(id) && !effects.contains(&Effect::LoadThread(id)) {
        m.thread_requested = Some(id);
        effects.push(Effect::LoadThread(id));
    }
    if unread > 0 && m.read_asked != Some((id, last)) {
        m.read_asked = Some((id, last));
        if m.inbox {
            m.keep_in_inbox(id);
        }
        effects.push(Effect::MarkRead { lead: id, receipt: m.read_receipts });
    }
}

pub fn on_thread(m: &mut Model, lead: u64, messages: Result<Vec<Message>, String>) -> Vec<Effect> {
    if m.thread_requested == Some(lead) {
        m.thread_requested = None;
    }
    if m.selected().is_none_or(|r| r.id != lead) {
        return Vec::new();
    }
    match messages {
        Ok(messages) => {
            if m.thread.as_ref().is_none_or(|t| t.lead != lead) {
                m.thread_scroll = 0;
            }
            m.thread = Some(Thread { lead, messages });
        }
        Err(why) => m.warn(format!("cannot read the thread: {why}")),
    }
    Vec::new()
}

/// Threads changed in the store: a shown one is read again, a hidden one is forgotten (it is
/// read when it shows).
pub fn on_threads_changed(m: &mut Model, ids: &[u64]) -> Vec<Effect> {
    let selected = m.selected().map(|r| r.id).filter(|id| ids.contains(id));
    if let Some(id) = selected.filter(|_| thread_shown(m)) {
        m.thread_requested = Some(id);
        return vec![Effect::LoadThread(id)];
    }
    if m.thread.as_ref().is_some_and(|t| ids.contains(&t.lead)) {
        m.thread = None;
    }
    Vec::new()
}

/// `m`: the composer for the selected lead, once the whole lead is read (it says whether the
/// lead may be written to).
pub fn compose(m: &mut Model) -> Vec<Effect> {
    let Some(id) = m.selected().map(|r| r.id) else { return Vec::new() };
    match m.selected_lead().cloned() {
        Some(lead) => {
            open_composer(m, &lead);
            Vec::new()
        }
        None => {
            m.compose_pending = Some(id);
            m.detail_requested = Some(id);
            vec![Effect::LoadDetail(id)]
        }
    }
}

/// Opens the composer, or says why the lead cannot be written to.
pub fn open_composer(m: &mut Model, lead: &Lead) {
    if let Some(why) = lead.why_not_messageable() {
        m.warn(format!("can't message {}: {why}", lead.display_name()));
        return;
    }
    if m.senders.is_empty() {
        let key = m.keymap.first_key(crate::tui::keymap::Action::Accounts);
        m.warn(format!("no Telegram account serves this workspace: {key} adds one"));
        return;
    }
    let accounts: Vec<String> = m.senders.iter().map(|r| r.name.clone()).collect();
    // The account the lead last talked with, else one whose runner is up, else the first.
    let last = m.thread.as_ref().filter(|t| t.lead == lead.id).and_then(|t| t.messages.last());
    let at = last
        .and_then(|msg| accounts.iter().position(|a| *a == msg.account))
        .or_else(|| m.senders.iter().position(|r| r.live_runner(m.now).is_some()))
        .unwrap_or(0);
    let composer = match m.draft.take_if(|d| d.lead == lead.id) {
        Some(mut draft) => {
            let kept = draft.account().and_then(|name| accounts.iter().position(|a| a == name));
            draft.account = kept.unwrap_or(at);
            draft.accounts = accounts;
            draft.sending = false;
            draft.error = None;
            draft
        }
        None => Box::new(Composer::new(lead.id, lead.display_name(), accounts, at)),
    };
    m.popup = Some(Popup::Compose(composer));
}

/// The store queued the composer's message: the composer closes and the thread shows it.
pub fn on_queued(m: &mut Model, lead: u64, account: &str, id: u64) -> Vec<Effect> {
    if matches!(&m.popup, Some(Popup::Compose(c)) if c.lead == lead) {
        m.popup = None;
    }
    if m.selected().is_some_and(|r| r.id == lead) {
        m.detail_open = true;
        m.detail_tab = DetailTab::Messages;
        m.thread_scroll = 0;
    }
    m.tell(format!("message #{id} queued from {account}: the thread shows it sent, then read"));
    Vec::new()
}

pub fn on_send_refused(m: &mut Model, why: String) -> Vec<Effect> {
    if let Some(Popup::Compose(c)) = m.popup.as_mut() {
        c.sending = false;
        c.error = Some(why.clone());
    }
    m.warn(why);
    Vec::new()
}

/// Marks the selected lead do-not-contact, or lifts it.
pub fn toggle_do_not_contact(m: &mut Model) -> Vec<Effect> {
    match m.selected() {
        Some(r) => vec![Effect::DoNotContact { id: r.id, value: !r.has_flag(Flag::DoNotContact) }],
        None => Vec::new(),
    }
}
