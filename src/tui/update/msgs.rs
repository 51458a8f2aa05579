//! Facts from workers, taken into the model. Stale answers (an older load, search or detail) are dropped.

use crate::store::Filter;
use crate::tui::model::{Model, Photo};
use crate::tui::msg::{Effect, Msg};
use crate::tui::panels::form::Form;
use crate::tui::panels::Popup;

use super::talk;

/// An account record's change (a runner's heartbeat, every few seconds) rechecks the open
/// accounts panel at most this often.
const ACCOUNT_RECHECK_MS: i64 = 30_000;

pub fn on_msg(m: &mut Model, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Loaded { generation, place, scope, leads, facets } => {
            if generation != m.load_generation {
                return Vec::new();
            }
            m.loading = false;
            m.place = place;
            m.scope_by = scope.created_by;
            m.facets = facets;
            m.filter = Filter::default();
            m.active_segment = None;
            m.inbox = false;
            m.inbox_kept = None;
            m.facet_cursor = 0;
            m.marked.clear();
            m.leads = leads;
            m.detail_open = false;
            m.detail = None;
            m.edit_pending = None;
            m.detail_requested = None;
            m.thread = None;
            m.thread_requested = None;
            m.compose_pending = None;
            m.draft = None;
            m.cursor = 0;
            let mut effects = m.query_changed();
            // Another workspace's campaigns: the panel reads them again if it is open.
            m.campaigns.list.clear();
            m.campaigns.selected = 0;
            m.campaigns.stage = Default::default();
            if m.popup == Some(Popup::Campaigns) {
                effects.extend(m.campaigns.open());
            }
            effects
        }
        Msg::LoadFailed { generation, why } => {
            if generation == m.load_generation {
                m.loading = false;
                m.warn(why);
            }
            Vec::new()
        }
        Msg::LoadProgress { generation, done } => {
            if generation == m.load_generation {
                m.loaded_so_far = done;
            }
            Vec::new()
        }
        Msg::Workspaces(list) => {
            m.workspaces = list;
            Vec::new()
        }
        Msg::SearchDone { generation, ids, last } => {
            if generation == m.search_generation {
                m.shown_search = generation;
                if last {
                    m.searched = generation;
                }
                let passes = m.passes();
                let ids = ids.into_iter().filter(|id| m.leads.get(*id).is_some_and(&passes)).collect();
                drop(passes);
                m.reorder(ids);
            }
            Vec::new()
        }
        Msg::Photo { id, image } => {
            if m.selected().is_some_and(|l| l.id == id) {
                m.photo = Some(Photo { id, image, drawn: Default::default(), builds: Default::default() });
            }
            Vec::new()
        }
        Msg::Detail { lead, entries } => on_detail(m, lead, entries),
        Msg::Thread { lead, messages } => talk::on_thread(m, lead, messages),
        Msg::ThreadsChanged(ids) => talk::on_threads_changed(m, &ids),
        Msg::Senders { generation, accounts } => {
            if generation == m.load_generation {
                m.senders = accounts;
            }
            Vec::new()
        }
        Msg::Queued { lead, account, id } => talk::on_queued(m, lead, &account, id),
        Msg::SendRefused(why) => talk::on_send_refused(m, why),
        Msg::DetailFailed { id, gone, why } => {
            if m.detail_requested == Some(id) {
                m.detail_requested = None;
            }
            if m.edit_pending == Some(id) {
                m.edit_pending = None;
            }
            if m.compose_pending == Some(id) {
                m.compose_pending = None;
            }
            if m.form_reload.is_some_and(|(r, _)| r == id) {
                m.form_reload = None;
            }
            if gone {
                m.leave_view(&[id]);
            }
            m.warn(why);
            Vec::new()
        }
        // A version of an older load's workspace: not this view's to take. (A load's versions
        // come after its `Loaded`, so a view never takes one while it loads.)
        Msg::LeadsChanged { generation, .. } | Msg::LeadsReloaded { generation, .. }
            if generation != m.load_generation || m.loading =>
        {
            Vec::new()
        }
        Msg::LeadsChanged { rows, changed, gone, .. } => on_leads_changed(m, rows, &changed, &gone),
        Msg::LeadsReloaded { rows, facets, .. } => on_leads_reloaded(m, rows, facets),
        Msg::Crawl(event) => {
            m.crawl.on_event(event);
            Vec::new()
        }
        Msg::CrawlTick(tick) => {
            m.crawl.on_tick(tick);
            Vec::new()
        }
        Msg::CrawlDone(result) => {
            m.message = Some(m.crawl.on_done(result));
            vec![Effect::LoadCrawls]
        }
        Msg::Crawls(list) => {
            m.crawl.past = list;
            Vec::new()
        }
        Msg::Completions { typed, entries } => {
            m.import.completed(&typed, &entries);
            Vec::new()
        }
        Msg::ImportPreview(result) => {
            m.import.previewed(result);
            Vec::new()
        }
        Msg::ImportProgress(p) => {
            m.import.progressed(p);
            Vec::new()
        }
        Msg::ImportDone(result) => {
            m.message = Some(m.import.done(result));
            Vec::new()
        }
        Msg::Segments { segments, counts } => {
            m.segments = segments;
            m.segment_counts = counts;
            if m.active_segment.as_ref().is_some_and(|a| !m.segments.iter().any(|s| &s.name == a)) {
                m.active_segment = None;
            }
            Vec::new()
        }
        Msg::FormSaved { lead, created, matched_on } => on_form_saved(m, lead, created, matched_on),
        Msg::FormRefused(why) => {
            if let Some(Popup::Form(form)) = m.popup.as_mut() {
                form.saving = false;
                form.error = Some(("", why.clone()));
            }
            m.warn(why);
            Vec::new()
        }
        Msg::Accounts(rows) => {
            let a = &mut m.accounts;
            a.checking = false;
            a.selected = a.selected.min(rows.len().saturating_sub(1));
            a.rows = rows;
            Vec::new()
        }
        Msg::LoginAsk(ask) => {
            let question = !matches!(ask, crate::tui::panels::accounts::Ask::Retry(_));
            m.accounts.ask(ask);
            // A hidden panel comes back to ask; another popup is not interrupted.
            if question && m.popup.is_none() {
                m.popup = Some(Popup::Accounts);
            }
            Vec::new()
        }
        Msg::LoginDone(outcome) => {
            m.message = Some(match &outcome {
                Ok(text) => (text.clone(), false),
                Err(text) => (format!("login failed: {text}"), true),
            });
            m.accounts.done(outcome);
            m.accounts.checking = true;
            vec![Effect::LoadAccounts]
        }
        Msg::RecordsChanged(kinds) => {
            use crate::store::RecordKind;
            let mut effects = Vec::new();
            if kinds.contains(&RecordKind::Segment) {
                effects.push(Effect::CountSegments { base: m.view_filter() });
            }
            // A recipient moved (the tally is in the campaign's record): the open panel follows.
            if kinds.contains(&RecordKind::Campaign) && m.popup == Some(Popup::Campaigns) {
                effects.push(Effect::LoadCampaigns);
            }
            if kinds.contains(&RecordKind::Crawl) && m.popup == Some(Popup::Crawl) && !m.crawl.running() {
                effects.push(Effect::LoadCrawls);
            }
            let due = m.now - m.accounts.rechecked_at >= ACCOUNT_RECHECK_MS;
            if kinds.contains(&RecordKind::Account)
                && m.popup == Some(Popup::Accounts)
                && !m.accounts.logging_in()
                && due
            {
                m.accounts.checking = true;
                m.accounts.rechecked_at = m.now;
                effects.push(Effect::LoadAccounts);
            }
            effects
        }
        Msg::LiveFailed(why) => {
            m.warn(format!("{why}; loading the workspace again"));
            m.load_again()
        }
        Msg::FeedBehind => {
            m.tell("the store changed more than this view could follow; loading it again");
            m.load_again()
        }
        Msg::JobFailed { kind, why } => on_job_failed(m, kind, why),
        Msg::Campaigns(result) => {
            m.campaigns.listed(result, m.now);
            Vec::new()
        }
        Msg::CampaignCreated(result) => {
            match &result {
                Ok(c) => m.tell(format!("campaign {:?} stored as a draft: check the preview, then launch it", c.name)),
                Err(why) => m.warn(why.clone()),
            }
            m.campaigns.created(result.map(|c| *c))
        }
        Msg::CampaignPreview { id, result } => {
            m.campaigns.previewed(id, result);
            Vec::new()
        }
        Msg::CampaignLaunch { id, done, total } => {
            m.campaigns.launch_progress(id, done, total);
            Vec::new()
        }
        Msg::CampaignDone { id, result } => {
            m.message = Some(m.campaigns.done(id, result));
            // The campaign's new state arrives through the feed; read it now too, should the
            // panel have been opened after the change was published.
            vec![Effect::LoadCampaigns]
        }
        Msg::Notice(text) => {
            m.tell(text);
            Vec::new()
        }
        Msg::Error(e) => {
            m.warn(e);
            Vec::new()
        }
    }
}

fn on_detail(m: &mut Model, lead: Box<crate::model::Lead>, entries: Vec<crate::model::Activity>) -> Vec<Effect> {
    let id = lead.id;
    if m.detail_requested == Some(id) {
        m.detail_requested = None;
    }
    if let Some((_, retried)) = m.form_reload.filter(|(r, _)| *r == id) {
        // Read before a write the list already shows: read once more, the form wants the newest.
        if !retried && m.leads.get(id).is_some_and(|r| r.updated_at > lead.updated_at) {
            m.form_reload = Some((id, true));
            return vec![Effect::LoadDetail(id)];
        }
        m.form_reload = None;
        if let Some(Popup::Form(form)) = m.popup.as_mut() {
            if form.editing.as_ref().is_some_and(|(e, _)| *e == id) {
                form.rebase(&lead, m.default_region.as_deref());
                m.tell("the form shows the lead as it is now, with your changes over it");
            }
        }
    }
    if m.selected().is_none_or(|r| r.id != id) {
        return Vec::new();
    }
    // Read before a write that has since reached the list: the newer version wins, and the
    // detail is read again.
    if m.leads.get(id).is_some_and(|r| r.updated_at > lead.updated_at) {
        m.detail_requested = Some(id);
        return vec![Effect::LoadDetail(id)];
    }
    if m.edit_pending.take() == Some(id) && m.popup.is_none() {
        m.popup = Some(Popup::Form(Box::new(Form::edit(&lead))));
    }
    if m.compose_pending.take() == Some(id) && m.popup.is_none() {
        talk::open_composer(m, &lead);
    }
    m.detail = Some((lead, entries));
    Vec::new()
}

/// A newer version of the workspace's rows (anyone's writes): the changed leads the view admits
/// join it in place, the others leave it; the cursor stays on its lead, and an open detail of a
/// changed lead is read again (its history grew).
fn on_leads_changed(m: &mut Model, rows: crate::tui::rows::Rows, changed: &[u64], gone: &[u64]) -> Vec<Effect> {
    let shown = m.take_version(rows, changed, gone);
    let mut effects = if shown.is_empty() { Vec::new() } else { m.changed(&shown) };
    if let Some(pos) = m.cursor_to.and_then(|id| m.order.iter().position(|x| *x == id)) {
        m.cursor = pos;
        m.cursor_to = None;
    }
    if let Some(open) = m.selected().map(|r| r.id).filter(|id| m.detail_open && shown.contains(id)) {
        effects.push(Effect::LoadDetail(open));
    }
    effects
}

/// The newest version whole (this view fell too far behind for a list of changes): counts and
/// order are made again, and whatever is no longer in the view leaves the marks and the detail.
fn on_leads_reloaded(m: &mut Model, rows: crate::tui::rows::Rows, facets: crate::tui::msg::Facets) -> Vec<Effect> {
    m.leads = rows;
    m.facets = facets;
    let marked: Vec<u64> = m.marked.iter().copied().filter(|id| !m.in_view(*id)).collect();
    m.leave_view(&marked);
    let current = m.order.get(m.cursor).copied();
    let mut effects = m.query_changed();
    if let Some(at) = current.and_then(|id| m.order.iter().position(|x| *x == id)) {
        m.cursor = at;
    }
    if m.detail_open && m.selected().is_none() {
        m.detail_open = false;
        m.focus = crate::tui::model::Focus::List;
    }
    // Any lead may have changed: the full lead shown or kept is read again.
    match m.selected().map(|r| r.id).filter(|_| m.detail_open) {
        Some(open) => effects.push(Effect::LoadDetail(open)),
        None => m.detail = None,
    }
    effects
}

fn on_form_saved(
    m: &mut Model,
    lead: Box<crate::model::Lead>,
    created: bool,
    matched_on: Option<crate::model::MatchKey>,
) -> Vec<Effect> {
    let id = lead.id;
    let what = match (created, matched_on) {
        (true, _) => format!("created #{id} {}", lead.display_name()),
        (false, Some(key)) => format!("merged into existing lead #{id} {} (matched on {key})", lead.display_name()),
        (false, None) => format!("saved #{id} {}", lead.display_name()),
    };
    if let Some(Popup::Form(form)) = m.popup.as_mut() {
        // The form now shows the lead as stored (merged fields included); Enter closes it, and
        // editing on edits that lead.
        let mut now = Form::edit(&lead);
        now.saved = Some(what.clone());
        **form = now;
    }
    m.tell(what);
    // The lead itself arrives through `LeadsChanged`, like every other write, before or after this
    // answer; the cursor goes to it either way.
    match m.order.iter().position(|x| *x == id) {
        Some(pos) => m.cursor = pos,
        None => m.cursor_to = Some(id),
    }
    Vec::new()
}

/// A worker that died becomes an error the user sees, never a list that says "searching…"
/// forever. The search worker comes back with an empty index, so the view is loaded again.
fn on_job_failed(m: &mut Model, kind: crate::jobs::Kind, why: String) -> Vec<Effect> {
    use crate::jobs::Kind;
    m.warn(format!("{} failed: {why}", kind.name()));
    match kind {
        Kind::Search => {
            m.searched = m.search_generation;
            m.shown_search = m.search_generation;
            // The new worker has no workspace to search: loading the view again hands it one.
            m.load_again()
        }
        Kind::Load => {
            m.loading = false;
            Vec::new()
        }
        Kind::Write => {
            let creating = matches!(&m.campaigns.stage, crate::tui::panels::campaigns::Stage::Create(f) if f.saving);
            if creating || m.campaigns.busy.is_some() {
                m.campaigns.failed(format!("{} failed: {why}", kind.name()));
            }
            match m.popup.as_mut() {
                Some(Popup::Form(form)) => form.saving = false,
                Some(Popup::Compose(c)) => c.sending = false,
                _ => {}
            }
            Vec::new()
        }
        Kind::Accounts => {
            m.accounts.checking = false;
            Vec::new()
        }
        Kind::Detail => {
            m.detail_requested = None;
            m.thread_requested = None;
            m.edit_pending = None;
            m.compose_pending = None;
            Vec::new()
        }
        Kind::Preview | Kind::Import => {
            let _ = m.import.done(Err(format!("{} failed: {why}", kind.name())));
            Vec::new()
        }
        Kind::Crawl => {
            let _ = m.crawl.on_done(Err(format!("crawl failed: {why}")));
            Vec::new()
        }
        Kind::Login => {
            m.accounts.done(Err(format!("login failed: {why}")));
            Vec::new()
        }
        _ => Vec::new(),
    }
}
