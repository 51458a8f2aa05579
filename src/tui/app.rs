//! The TUI's state machine: `update(&mut Model, Event) -> Vec<Effect>` with no I/O. The run loop
//! performs the effects (store reads and writes, searches) and feeds their results back as `Msg`s.

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use tui_input::backend::crossterm::EventHandler;
use tui_input::Input;

use crate::crawl::{Counts, Method, State as CrawlState, Summary};
use crate::model::{Activity, Lead, Priority, Segment, Status};
use std::collections::BTreeMap;

use super::rows::{Row, RowFilter};
use crate::store::{Filter, SortField, SortKey};

/// The columns the list sorts by, as the sort popup offers them.
pub const SORT_FIELDS: &[(SortField, &str)] = &[
    (SortField::Updated, "updated"),
    (SortField::Created, "created"),
    (SortField::Name, "name"),
    (SortField::Username, "username"),
    (SortField::Phone, "phone"),
    (SortField::Status, "status"),
    (SortField::Priority, "priority"),
    (SortField::Source, "source"),
    (SortField::Group, "group"),
    (SortField::Country, "country"),
];
use crate::workspace::View;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    List,
    Search,
    Detail,
    Filter,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Popup {
    Help,
    Status {
        selected: usize,
    },
    Priority {
        selected: usize,
    },
    Workspace {
        selected: usize,
    },
    /// Sort by which column; choosing the current one again reverses the order.
    Sort {
        selected: usize,
    },
    /// Delete these leads? (y/n)
    ConfirmDelete {
        ids: Vec<u64>,
    },
    /// A line of text for the target leads: a note (one lead), or tags as `+a,-b`.
    Text {
        kind: TextKind,
        ids: Vec<u64>,
        input: Field,
    },
    /// The crawl panel: a target, a method (an index into `CRAWL_METHODS`), the running crawl and
    /// the past ones live in `Model::crawl`.
    Crawl {
        target: Field,
        method: usize,
    },
    /// Add a lead (`a`) or edit the selected one (`e`).
    Form(Box<super::form::Form>),
    /// The import panel (`i`); its state is `Model::import`, kept while the panel is hidden.
    Import,
    /// The accounts panel (`A`); its state is `Model::accounts`.
    Accounts,
}

/// The method choices of the crawl panel; Tab cycles through them.
pub const CRAWL_METHODS: &[(Option<Method>, &str)] = &[
    (None, "auto"),
    (Some(Method::Participants), "participants"),
    (Some(Method::Search), "search"),
    (Some(Method::Admins), "admins"),
    (Some(Method::History), "history"),
    (Some(Method::Linked), "linked"),
];

/// A crawl the TUI started, as its progress messages describe it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrawlJob {
    pub target: String,
    pub title: String,
    pub methods: Vec<Method>,
    pub counts: Counts,
    pub running: bool,
    /// Every account is waiting: seconds until the crawl resumes by itself.
    pub waiting: Option<u64>,
    pub last_flood: Option<(String, u64)>,
    /// How it ended: the summary line, and whether it failed.
    pub outcome: Option<(String, bool)>,
}

/// A past crawl of this workspace, for the panel's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PastCrawl {
    pub target: String,
    pub title: String,
    pub state: CrawlState,
    pub members: u64,
    pub finished_at: Option<crate::model::Millis>,
}

/// A text field in a popup; equal when the text is.
#[derive(Debug, Clone, Default)]
pub struct Field(pub Input);

impl PartialEq for Field {
    fn eq(&self, other: &Self) -> bool {
        self.0.value() == other.0.value()
    }
}

impl Eq for Field {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    Note,
    Tags,
    /// The name to save the current filters and search under.
    SegmentName,
}

/// Where the TUI is working: shown in the status bar, and what the view toggle may offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub label: String,
    pub key: String,
    /// "owner", "admin", "member", or "personal".
    pub role: String,
    pub view: View,
    /// Whether the "all leads" view is allowed here.
    pub can_view_all: bool,
}

/// Facts from workers. Search results carry the generation they answer; stale ones are dropped.
#[derive(Debug, Clone)]
pub enum Msg {
    /// The leads of a workspace; `generation` drops a load that a later switch overtook.
    Loaded {
        generation: u64,
        place: Place,
        leads: super::rows::Rows,
        facets: BTreeMap<String, u64>,
    },
    /// How many leads a running load has read.
    LoadProgress {
        generation: u64,
        done: usize,
    },
    /// The workspaces the user may switch to: (label, key).
    Workspaces(Vec<(String, String)>),
    SearchDone {
        generation: u64,
        ids: Vec<u64>,
        /// The full ranking; false for the first ranking a long scan shows early.
        last: bool,
    },
    /// The full lead and its history, for the detail pane and the edit form.
    Detail {
        lead: Box<Lead>,
        entries: Vec<Activity>,
    },
    Photo {
        id: u64,
        image: Result<std::sync::Arc<image::DynamicImage>, String>,
    },
    /// The detail worker could not read the lead: it is gone (deleted elsewhere), or the store failed.
    DetailFailed {
        id: u64,
        gone: bool,
        why: String,
    },
    Saved(Box<Lead>),
    /// Leads deleted, in one message however many (a bulk delete).
    Deleted(Vec<u64>),
    /// Leads a background job (a crawl) created or changed.
    Upserted(Vec<Lead>),
    Crawl(crate::crawl::Event),
    CrawlDone(Result<Summary, String>),
    Crawls(Vec<PastCrawl>),
    Segments {
        segments: Vec<Segment>,
        counts: Vec<u64>,
    },
    /// Directory entries for Tab completion of `typed` (directories end in `/`).
    Completions {
        typed: String,
        entries: Vec<String>,
    },
    /// A file's preview: what reach detected and a dry run's counts.
    ImportPreview(Result<(Box<crate::import::Inspection>, crate::import::Counts), String>),
    ImportProgress(crate::import::ImportProgress),
    ImportDone(Result<Box<crate::import::ImportSummary>, String>),
    /// The form's lead was written: created, merged into an existing lead, or edited.
    FormSaved {
        lead: Box<Lead>,
        created: bool,
        matched_on: Option<crate::model::MatchKey>,
    },
    /// The store refused the form's lead (a rule, or an identifier another lead holds).
    FormRefused(String),
    /// The Telegram accounts with their health.
    Accounts(Vec<super::accounts::AccountRow>),
    /// The running login asks for a code or a password, or refused an answer.
    LoginAsk(super::accounts::Ask),
    /// The login ended: what happened, or why it failed.
    LoginDone(Result<String, String>),
    /// Something worth telling that is not an error.
    Notice(String),
    Error(String),
}

#[derive(Debug, Clone)]
pub enum Event {
    Term(TermEvent),
    Msg(Msg),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    Search {
        generation: u64,
        query: String,
    },
    /// Read the full lead and its history from the store.
    LoadDetail(u64),
    SetStatus {
        ids: Vec<u64>,
        status: Status,
    },
    SetPriority {
        ids: Vec<u64>,
        priority: Priority,
    },
    /// Load a workspace (key) in a view, and remember it as the user's current one.
    Switch {
        generation: u64,
        key: String,
        view: View,
        remember: bool,
    },
    Delete {
        ids: Vec<u64>,
    },
    AddNote {
        id: u64,
        text: String,
    },
    /// Write these leads (the current view, in order) to a CSV file.
    Export {
        ids: Vec<u64>,
    },
    /// Tags to add and to remove.
    EditTags {
        ids: Vec<u64>,
        add: Vec<String>,
        remove: Vec<String>,
    },
    /// Write a form: a new lead through the dedup upsert (id None), or an edit.
    SaveLead {
        id: Option<u64>,
        input: Box<crate::model::LeadInput>,
    },
    /// List the directory of a typed path, for Tab completion.
    CompletePath(String),
    PreviewImport(String),
    RunImport(String),
    CancelImport,
    SaveSegment(Segment),
    DeleteSegment(String),
    /// Load the workspace's segments and count them within the view's base filter.
    CountSegments {
        base: Filter,
    },
    StartCrawl {
        target: crate::telegram::Target,
        method: Option<Method>,
    },
    CancelCrawl,
    LoadCrawls,
    /// List the accounts and check their health.
    LoadAccounts,
    /// Log an account in (adding it when new), asking through `Msg::LoginAsk`.
    StartLogin {
        name: String,
        phone: String,
    },
    /// The answer to the login's question; None gives up.
    LoginAnswer(Option<String>),
}

pub struct Model {
    /// The loaded leads as the list shows them; the detail pane reads the full lead (`detail`).
    pub leads: super::rows::Rows,
    /// Lead counts per facet value (`s:active`, `t:vip`, …) over the loaded workspace.
    pub facets: BTreeMap<String, u64>,
    /// The facet values toggled on; a lead must pass all of them (values of one facet are alternatives).
    pub filter: Filter,
    pub facet_cursor: usize,
    /// Leads marked with Space or V; bulk actions apply to them, else to the lead under the cursor.
    pub marked: std::collections::BTreeSet<u64>,
    /// Visible lead ids, in display order.
    pub order: Vec<u64>,
    pub cursor: usize,
    pub focus: Focus,
    pub query: Input,
    pub popup: Option<Popup>,
    pub detail_open: bool,
    /// The selected lead as stored, with its history, once read.
    pub detail: Option<(Box<Lead>, Vec<Activity>)>,
    /// `e` was pressed before the lead was read: the form opens when it arrives.
    pub edit_pending: Option<u64>,
    /// The lead the detail worker was last asked for, so a selection is asked for once.
    pub detail_requested: Option<u64>,
    pub message: Option<(String, bool)>,
    pub place: Place,
    pub workspaces: Vec<(String, String)>,
    pub load_generation: u64,
    pub user: String,
    pub search_generation: u64,
    /// The generation whose full results the list shows; behind `search_generation` while one runs.
    pub searched: u64,
    /// The generation whose results, first or full, the list shows.
    pub shown_search: u64,
    pub loading: bool,
    /// Leads the running load has read so far.
    pub loaded_so_far: usize,
    pub quit: bool,
    pub sort: SortKey,
    /// Rows the list showed last frame, for PgUp/PgDn.
    pub page: usize,
    pub keymap: super::keymap::Keymap,
    pub crawl: Option<CrawlJob>,
    pub past_crawls: Vec<PastCrawl>,
    /// Wall-clock time of the last message, for cache ages; `update` itself reads no clock.
    pub now: crate::model::Millis,
    /// For reading national phone formats in forms (config `default_region`).
    pub default_region: Option<String>,
    /// Saved segments of the workspace and their live counts (same order).
    pub segments: Vec<Segment>,
    pub segment_counts: Vec<u64>,
    /// The segment whose filter and query are applied, if any.
    pub active_segment: Option<String>,
    pub import: super::import_panel::ImportPanel,
    pub accounts: super::accounts::AccountsPanel,
    /// The open lead's profile photo, decoded, or why it could not be.
    pub photo: Option<(u64, Result<std::sync::Arc<image::DynamicImage>, String>)>,
    /// How this terminal shows images (a graphics protocol, or half blocks); None: text only.
    pub picker: Option<ratatui_image::picker::Picker>,
}

impl Model {
    pub fn new(place: Place, user: String) -> Model {
        Model {
            leads: Default::default(),
            facets: BTreeMap::new(),
            filter: Filter::default(),
            facet_cursor: 0,
            marked: Default::default(),
            order: Vec::new(),
            cursor: 0,
            focus: Focus::List,
            query: Input::default(),
            popup: None,
            detail_open: false,
            detail: None,
            edit_pending: None,
            detail_requested: None,
            message: None,
            place,
            workspaces: Vec::new(),
            load_generation: 0,
            user,
            search_generation: 0,
            searched: 0,
            shown_search: 0,
            loading: true,
            loaded_so_far: 0,
            quit: false,
            sort: SortKey { field: crate::store::SortField::Updated, descending: true },
            page: 20,
            keymap: Default::default(),
            crawl: None,
            past_crawls: Vec::new(),
            now: 0,
            default_region: None,
            segments: Vec::new(),
            segment_counts: Vec::new(),
            active_segment: None,
            import: Default::default(),
            accounts: Default::default(),
            photo: None,
            picker: None,
        }
    }

    /// What an action applies to: the marked leads, or the one under the cursor.
    pub fn targets(&self) -> Vec<u64> {
        if self.marked.is_empty() {
            self.selected().map(|l| vec![l.id]).unwrap_or_default()
        } else {
            self.marked.iter().copied().collect()
        }
    }

    pub fn selected(&self) -> Option<&Row> {
        self.order.get(self.cursor).and_then(|id| self.leads.get(*id))
    }

    /// The selected lead as stored, if it has been read.
    pub fn selected_lead(&self) -> Option<&Lead> {
        let id = self.selected()?.id;
        self.detail.as_ref().map(|(l, _)| &**l).filter(|l| l.id == id)
    }

    fn sorted_all(&self) -> Vec<u64> {
        let filter = RowFilter::new(&self.filter, &self.leads.strings);
        let mut rows: Vec<&Row> = self.leads.iter().filter(|r| filter.matches(r)).collect();
        super::rows::sort(&mut rows, self.sort, &self.leads.strings);
        rows.into_iter().map(|r| r.id).collect()
    }

    /// Takes the lead's new version into the list and the facet counts.
    fn take_lead(&mut self, lead: &Lead) {
        if let Some(old) = self.leads.upsert(lead) {
            let keys = old.facets(&self.leads.strings);
            self.count_facets(keys, -1);
        }
        let keys = lead.all_facets();
        self.count_facets(keys, 1);
        if let Some((shown, _)) = self.detail.as_mut().filter(|(l, _)| l.id == lead.id) {
            **shown = lead.clone();
        }
    }

    /// The rows the filter pane lists, in display order: segments (`S:name`), then facet values.
    pub fn facet_rows(&self) -> Vec<(String, u64)> {
        let mut rows: Vec<(String, u64)> = self
            .segments
            .iter()
            .enumerate()
            .map(|(i, seg)| (format!("S:{}", seg.name), self.segment_counts.get(i).copied().unwrap_or(0)))
            .collect();
        for prefix in ["s:", "p:", "o:", "c:", "l:", "t:", "g:"] {
            let mut group: Vec<(&str, u64)> =
                self.facets.iter().filter(|(k, _)| k.starts_with(prefix)).map(|(k, v)| (k.as_str(), *v)).collect();
            group.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            // Long tails (many countries, tags or groups) show their largest values.
            group.truncate(12);
            rows.extend(group.into_iter().map(|(k, v)| (k.to_string(), v)));
        }
        rows
    }

    pub fn facet_on(&self, key: &str) -> bool {
        if let Some(name) = key.strip_prefix("S:") {
            return self.active_segment.as_deref() == Some(name);
        }
        let (kind, value) = key.split_at(2);
        match kind {
            "s:" => self.filter.status.iter().any(|s| s.as_str() == value),
            "p:" => self.filter.priority.iter().any(|p| p.as_str() == value),
            "o:" => self.filter.source.iter().any(|s| s.as_str() == value),
            "c:" => self.filter.country.iter().any(|c| c == value),
            "l:" => self.filter.language.iter().any(|l| l == value),
            "t:" => self.filter.tags.iter().any(|t| t == value),
            "g:" => self.filter.group.iter().any(|g| g == value),
            _ => false,
        }
    }

    /// Applies a segment (its filter with archived leads taken out, and its query), or clears it.
    fn toggle_segment(&mut self, name: &str) -> Vec<Effect> {
        if self.active_segment.as_deref() == Some(name) {
            self.active_segment = None;
            self.filter = Filter::default();
            self.query = Input::default();
            return self.query_changed();
        }
        let Some(seg) = self.segments.iter().find(|s| s.name == name).cloned() else { return Vec::new() };
        self.active_segment = Some(seg.name.clone());
        self.filter = seg.effective_filter();
        self.query = Input::new(seg.query.clone().unwrap_or_default());
        self.query_changed()
    }

    /// The base filter of the reader's view, for counting segments.
    pub fn view_filter(&self) -> Filter {
        match self.place.view {
            View::Own => Filter { created_by: Some(self.user.clone()), ..Filter::default() },
            View::All => Filter::default(),
        }
    }

    fn toggle_facet(&mut self, key: &str) -> Vec<Effect> {
        if let Some(name) = key.strip_prefix("S:") {
            return self.toggle_segment(name);
        }
        // Changing a facet by hand leaves the segment.
        self.active_segment = None;
        fn flip<T: PartialEq>(v: &mut Vec<T>, x: T) {
            match v.iter().position(|y| *y == x) {
                Some(i) => {
                    v.remove(i);
                }
                None => v.push(x),
            }
        }
        let (kind, value) = key.split_at(2);
        let f = &mut self.filter;
        match kind {
            "s:" => value.parse().into_iter().for_each(|s| flip(&mut f.status, s)),
            "p:" => value.parse().into_iter().for_each(|p| flip(&mut f.priority, p)),
            "o:" => value.parse().into_iter().for_each(|s| flip(&mut f.source, s)),
            "c:" => flip(&mut f.country, value.to_string()),
            "l:" => flip(&mut f.language, value.to_string()),
            "t:" => flip(&mut f.tags, value.to_string()),
            "g:" => flip(&mut f.group, value.to_string()),
            _ => {}
        }
        self.query_changed()
    }

    /// Takes leads out of the list, the marks and the facet counts, in one pass however many.
    fn drop_leads(&mut self, ids: &[u64]) {
        let gone: std::collections::HashSet<u64> = ids.iter().copied().collect();
        for old in self.leads.remove_many(&gone) {
            let keys = old.facets(&self.leads.strings);
            self.count_facets(keys, -1);
        }
        self.marked.retain(|id| !gone.contains(id));
        let current = self.order.get(self.cursor).copied();
        let before_cursor =
            self.order[..self.cursor.min(self.order.len())].iter().filter(|id| gone.contains(id)).count();
        self.order.retain(|id| !gone.contains(id));
        // The cursor keeps its lead, or stays at the same place when its lead went.
        self.cursor = match current.filter(|id| !gone.contains(id)) {
            Some(id) => self.order.iter().position(|x| *x == id).unwrap_or(0),
            None => self.cursor - before_cursor,
        };
        self.move_cursor(self.cursor as isize);
        if self.detail_open && self.selected().is_none() {
            self.detail_open = false;
            self.focus = Focus::List;
        }
    }

    fn count_facets(&mut self, keys: Vec<String>, delta: i64) {
        for k in keys {
            let n = self.facets.entry(k.clone()).or_default();
            *n = (*n as i64 + delta).max(0) as u64;
            if *n == 0 {
                self.facets.remove(&k);
            }
        }
    }

    fn move_cursor(&mut self, to: isize) {
        let max = self.order.len().saturating_sub(1) as isize;
        self.cursor = to.clamp(0, max.max(0)) as usize;
    }

    /// Keeps the cursor on the same lead when the order changes (new leads arriving live).
    fn reorder(&mut self, order: Vec<u64>) {
        let current = self.order.get(self.cursor).copied();
        self.order = order;
        self.cursor = current.and_then(|id| self.order.iter().position(|x| *x == id)).unwrap_or(0);
        self.move_cursor(self.cursor as isize);
    }

    /// Leads changed by a background job join the view where the sort puts them: the unchanged
    /// part of the order is kept and the few changed rows are merged in, so a crawl or an import
    /// into a million leads does not sort them all again for every batch. A search asks again.
    fn changed(&mut self, ids: &[u64]) -> Vec<Effect> {
        if !self.query.value().trim().is_empty() {
            return self.query_changed();
        }
        let changed: std::collections::HashSet<u64> = ids.iter().copied().collect();
        let filter = RowFilter::new(&self.filter, &self.leads.strings);
        let mut fresh: Vec<&Row> =
            changed.iter().filter_map(|id| self.leads.get(*id)).filter(|r| filter.matches(r)).collect();
        super::rows::sort(&mut fresh, self.sort, &self.leads.strings);
        let (key, strings) = (self.sort, &self.leads.strings);
        let mut order = Vec::with_capacity(self.order.len() + fresh.len());
        let mut fresh = fresh.into_iter().peekable();
        for id in self.order.iter().filter(|id| !changed.contains(id)) {
            let Some(row) = self.leads.get(*id) else { continue };
            while let Some(new) = fresh.next_if(|new| super::rows::compare(new, row, key, strings).is_lt()) {
                order.push(new.id);
            }
            order.push(*id);
        }
        order.extend(fresh.map(|r| r.id));
        self.reorder(order);
        Vec::new()
    }

    fn query_changed(&mut self) -> Vec<Effect> {
        self.search_generation += 1;
        let q = self.query.value().trim().to_string();
        if q.is_empty() {
            self.reorder(self.sorted_all());
            self.searched = self.search_generation;
            self.shown_search = self.search_generation;
            return Vec::new();
        }
        vec![Effect::Search { generation: self.search_generation, query: q }]
    }

    fn open_detail(&mut self) -> Vec<Effect> {
        match self.selected() {
            Some(l) => {
                let id = l.id;
                self.detail_open = true;
                self.focus = Focus::Detail;
                vec![Effect::LoadDetail(id)]
            }
            None => Vec::new(),
        }
    }
}

pub fn update(m: &mut Model, ev: Event) -> Vec<Effect> {
    let mut effects = match ev {
        Event::Msg(msg) => {
            // Segment counts are live: anything that changes leads recounts them (off the UI thread).
            let loaded = matches!(msg, Msg::Loaded { .. });
            let changed = matches!(msg, Msg::Saved(_) | Msg::Deleted(_) | Msg::Upserted(_) | Msg::FormSaved { .. });
            let mut effects = on_msg(m, msg);
            if loaded || (changed && !m.segments.is_empty()) {
                effects.push(Effect::CountSegments { base: m.view_filter() });
            }
            effects
        }
        Event::Term(TermEvent::Key(k)) if k.kind != KeyEventKind::Release => on_key(m, k),
        Event::Term(_) => Vec::new(),
    };
    follow_selection(m, &mut effects);
    effects
}

/// Whatever moved the selection (a key, a search, a delete), an open detail follows it, and an
/// edit asked for another lead is dropped.
fn follow_selection(m: &mut Model, effects: &mut Vec<Effect>) {
    let selected = m.selected().map(|r| r.id);
    if m.edit_pending.is_some() && m.edit_pending != selected {
        m.edit_pending = None;
    }
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

fn on_msg(m: &mut Model, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Loaded { generation, place, leads, facets } => {
            if generation != m.load_generation {
                return Vec::new();
            }
            m.loading = false;
            m.place = place;
            m.facets = facets;
            m.filter = Filter::default();
            m.active_segment = None;
            m.facet_cursor = 0;
            m.marked.clear();
            m.leads = leads;
            m.detail_open = false;
            m.detail = None;
            m.edit_pending = None;
            m.detail_requested = None;
            m.cursor = 0;
            m.query_changed()
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
                let filter = RowFilter::new(&m.filter, &m.leads.strings);
                let ids = ids.into_iter().filter(|id| m.leads.get(*id).is_some_and(|r| filter.matches(r))).collect();
                m.reorder(ids);
            }
            Vec::new()
        }
        Msg::Photo { id, image } => {
            if m.selected().is_some_and(|l| l.id == id) {
                m.photo = Some((id, image));
            }
            Vec::new()
        }
        Msg::Detail { lead, entries } => {
            let id = lead.id;
            if m.detail_requested == Some(id) {
                m.detail_requested = None;
            }
            if m.selected().is_none_or(|r| r.id != id) {
                return Vec::new();
            }
            // Read before a write that has since reached the list: the newer version wins, and
            // the detail is read again.
            if m.leads.get(id).is_some_and(|r| r.updated_at > lead.updated_at) {
                m.detail_requested = Some(id);
                return vec![Effect::LoadDetail(id)];
            }
            m.take_lead(&lead);
            if m.edit_pending.take() == Some(id) && m.popup.is_none() {
                m.popup = Some(Popup::Form(Box::new(super::form::Form::edit(&lead))));
            }
            m.detail = Some((lead, entries));
            Vec::new()
        }
        Msg::Saved(lead) => {
            let id = lead.id;
            m.message = Some((format!("saved #{id}"), false));
            m.take_lead(&lead);
            if m.detail_open && m.selected().is_some_and(|l| l.id == id) {
                return vec![Effect::LoadDetail(id)];
            }
            Vec::new()
        }
        Msg::Deleted(ids) => {
            m.message = Some(match ids.as_slice() {
                [id] => (format!("deleted #{id}"), false),
                _ => (format!("deleted {} leads", ids.len()), false),
            });
            m.drop_leads(&ids);
            Vec::new()
        }
        Msg::DetailFailed { id, gone, why } => {
            if m.detail_requested == Some(id) {
                m.detail_requested = None;
            }
            if m.edit_pending == Some(id) {
                m.edit_pending = None;
            }
            if gone {
                m.drop_leads(&[id]);
            }
            m.message = Some((why, true));
            Vec::new()
        }
        Msg::Upserted(leads) => {
            for lead in &leads {
                m.take_lead(lead);
            }
            // New leads join the view in place; the cursor stays on its lead.
            let ids: Vec<u64> = leads.iter().map(|l| l.id).collect();
            m.changed(&ids)
        }
        Msg::Crawl(event) => {
            let job = m.crawl.get_or_insert_with(CrawlJob::default);
            match event {
                crate::crawl::Event::Started { title, methods, .. } => {
                    job.title = title;
                    job.methods = methods;
                }
                crate::crawl::Event::Method(_) | crate::crawl::Event::Leads(_) => {}
                crate::crawl::Event::Progress(counts) => {
                    job.counts = counts;
                    job.waiting = None;
                }
                crate::crawl::Event::FloodWait { account, seconds } => job.last_flood = Some((account, seconds)),
                crate::crawl::Event::Waiting { seconds } => job.waiting = Some(seconds),
            }
            Vec::new()
        }
        Msg::CrawlDone(result) => {
            let job = m.crawl.get_or_insert_with(CrawlJob::default);
            job.running = false;
            job.waiting = None;
            job.outcome = Some(match result {
                Ok(s) if s.cache_used => {
                    (format!("{}: from the cache, 0 requests; {} members", s.target, s.counts.members_seen), false)
                }
                Ok(s) => {
                    let c = &s.counts;
                    let how = if s.cancelled { "cancelled (run it again to resume)" } else { "done" };
                    job.counts = c.clone();
                    job.methods = s.methods.clone();
                    let text = format!(
                        "{} {how}: {} members, {} new, {} updated, {} requests",
                        s.target, c.members_seen, c.created, c.updated, c.requests
                    );
                    (text, false)
                }
                Err(e) => (e, true),
            });
            m.message = job.outcome.clone();
            vec![Effect::LoadCrawls]
        }
        Msg::Crawls(list) => {
            m.past_crawls = list;
            Vec::new()
        }
        Msg::Completions { typed, entries } => {
            // An answer for a path the user has since changed is stale.
            if m.import.path() == typed.trim() {
                let (completed, shown) = super::import_panel::complete(&typed, &entries);
                m.import.path = Field(Input::new(completed));
                m.import.completions = shown;
            }
            Vec::new()
        }
        Msg::ImportPreview(result) => {
            if m.import.stage == super::import_panel::Stage::Inspecting {
                m.import.stage = match result {
                    Ok((inspection, dry)) => super::import_panel::Stage::Preview { inspection, dry },
                    Err(e) => super::import_panel::Stage::Failed(e),
                };
            }
            Vec::new()
        }
        Msg::ImportProgress(p) => {
            if let super::import_panel::Stage::Running { progress, .. } = &mut m.import.stage {
                *progress = Some(p);
            }
            Vec::new()
        }
        Msg::ImportDone(result) => {
            m.message = Some(match &result {
                Ok(s) => {
                    let c = &s.counts;
                    let how = if s.cancelled { "cancelled" } else { "done" };
                    (
                        format!("import {how}: {} created, {} updated, {} rejected", c.created, c.updated, c.rejected),
                        false,
                    )
                }
                Err(e) => (e.clone(), true),
            });
            m.import.stage = match result {
                Ok(s) => super::import_panel::Stage::Done(s),
                Err(e) => super::import_panel::Stage::Failed(e),
            };
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
        Msg::FormSaved { lead, created, matched_on } => {
            let id = lead.id;
            let what = match (created, matched_on) {
                (true, _) => format!("created #{id} {}", lead.display_name()),
                (false, Some(key)) => {
                    format!("merged into existing lead #{id} {} (matched on {key})", lead.display_name())
                }
                (false, None) => format!("saved #{id} {}", lead.display_name()),
            };
            if let Some(Popup::Form(form)) = m.popup.as_mut() {
                // The form now shows the lead as stored (merged fields included); Enter closes it,
                // and editing on edits that lead.
                let mut now = super::form::Form::edit(&lead);
                now.saved = Some(what.clone());
                **form = now;
            }
            m.take_lead(&lead);
            m.message = Some((what, false));
            let mut effects = m.changed(&[id]);
            if let Some(pos) = m.order.iter().position(|x| *x == id) {
                m.cursor = pos;
            }
            if m.detail_open {
                effects.push(Effect::LoadDetail(id));
            }
            effects
        }
        Msg::FormRefused(why) => {
            if let Some(Popup::Form(form)) = m.popup.as_mut() {
                form.saving = false;
                form.error = Some(("", why.clone()));
            }
            m.message = Some((why, true));
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
            let question = !matches!(ask, super::accounts::Ask::Retry(_));
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
        Msg::Notice(text) => {
            m.message = Some((text, false));
            Vec::new()
        }
        Msg::Error(e) => {
            m.message = Some((e, true));
            Vec::new()
        }
    }
}

fn on_import_key(m: &mut Model, k: KeyEvent) -> Vec<Effect> {
    use super::import_panel::Stage;
    let p = &mut m.import;
    match (&p.stage, k.code) {
        // Hiding the panel leaves a running import running; the status bar shows it.
        (Stage::Running { .. }, KeyCode::Esc) => m.popup = None,
        (Stage::Running { cancelling: false, .. }, KeyCode::Char('x')) => {
            if let Stage::Running { cancelling, .. } = &mut p.stage {
                *cancelling = true;
            }
            return vec![Effect::CancelImport];
        }
        (Stage::Running { .. }, _) => {}
        (Stage::Path, KeyCode::Esc) | (Stage::Done(_) | Stage::Failed(_), KeyCode::Esc | KeyCode::Enter) => {
            if !matches!(p.stage, Stage::Path) {
                p.stage = Stage::Path;
            }
            m.popup = None;
        }
        (Stage::Preview { .. } | Stage::Inspecting, KeyCode::Esc) => p.stage = Stage::Path,
        (Stage::Path, KeyCode::Tab) => return vec![Effect::CompletePath(p.path())],
        (Stage::Path, KeyCode::Enter) if !p.path().is_empty() => {
            p.completions.clear();
            p.stage = Stage::Inspecting;
            return vec![Effect::PreviewImport(p.path())];
        }
        (Stage::Preview { .. }, KeyCode::Enter) => {
            p.stage = Stage::Running { progress: None, cancelling: false };
            return vec![Effect::RunImport(p.path())];
        }
        (Stage::Path, _) => {
            let before = p.path.0.value().to_string();
            p.path.0.handle_event(&TermEvent::Key(k));
            if p.path.0.value() != before {
                p.completions.clear();
            }
        }
        _ => {}
    }
    Vec::new()
}

fn crawl_running(m: &Model) -> bool {
    m.crawl.as_ref().is_some_and(|j| j.running)
}

fn on_crawl_key(m: &mut Model, mut target: Field, method: usize, k: KeyEvent) -> Vec<Effect> {
    let running = crawl_running(m);
    match k.code {
        KeyCode::Esc => {
            // The crawl goes on; the status bar keeps showing it.
            m.popup = None;
            return Vec::new();
        }
        KeyCode::Char('x') if running => {
            m.popup = Some(Popup::Crawl { target, method });
            return vec![Effect::CancelCrawl];
        }
        KeyCode::Tab | KeyCode::BackTab if !running => {
            let n = CRAWL_METHODS.len() as isize;
            let d = if k.code == KeyCode::Tab { 1 } else { -1 };
            let method = (method as isize + d).rem_euclid(n) as usize;
            m.popup = Some(Popup::Crawl { target, method });
            return Vec::new();
        }
        KeyCode::Enter if !running => {
            let raw = target.0.value().trim().to_string();
            match crate::telegram::Target::parse(&raw) {
                Ok(t) => {
                    m.crawl = Some(CrawlJob { target: t.to_string(), running: true, ..CrawlJob::default() });
                    m.message = None;
                    m.popup = Some(Popup::Crawl { target, method });
                    return vec![Effect::StartCrawl { target: t, method: CRAWL_METHODS[method].0 }];
                }
                Err(e) => m.message = Some((e, true)),
            }
        }
        _ if !running => {
            target.0.handle_event(&TermEvent::Key(k));
        }
        _ => {}
    }
    m.popup = Some(Popup::Crawl { target, method });
    Vec::new()
}

impl Model {
    fn switch(&mut self, key: String, view: View, remember: bool) -> Vec<Effect> {
        self.load_generation += 1;
        self.loading = true;
        self.loaded_so_far = 0;
        vec![Effect::Switch { generation: self.load_generation, key, view, remember }]
    }
}

fn on_key(m: &mut Model, k: KeyEvent) -> Vec<Effect> {
    if k.modifiers.contains(KeyModifiers::CONTROL) && k.code == KeyCode::Char('c') {
        m.quit = true;
        return Vec::new();
    }
    if let Some(popup) = m.popup.clone() {
        return on_popup_key(m, popup, k);
    }
    if m.focus == Focus::Search {
        return match k.code {
            KeyCode::Esc | KeyCode::Enter => {
                m.focus = Focus::List;
                Vec::new()
            }
            KeyCode::Down => {
                m.move_cursor(m.cursor as isize + 1);
                Vec::new()
            }
            KeyCode::Up => {
                m.move_cursor(m.cursor as isize - 1);
                Vec::new()
            }
            _ => {
                let before = m.query.value().to_string();
                m.query.handle_event(&TermEvent::Key(k));
                if m.query.value() != before {
                    m.query_changed()
                } else {
                    Vec::new()
                }
            }
        };
    }
    m.message = None;
    if m.focus == Focus::Filter {
        let n = m.facet_rows().len();
        match k.code {
            KeyCode::Char('j') | KeyCode::Down => m.facet_cursor = (m.facet_cursor + 1).min(n.saturating_sub(1)),
            KeyCode::Char('k') | KeyCode::Up => m.facet_cursor = m.facet_cursor.saturating_sub(1),
            KeyCode::Char(' ') | KeyCode::Enter => {
                if let Some(key) = m.facet_rows().get(m.facet_cursor).map(|(k, _)| k.clone()) {
                    return m.toggle_facet(&key);
                }
            }
            KeyCode::Char('c') => {
                m.filter = Filter::default();
                m.active_segment = None;
                return m.query_changed();
            }
            KeyCode::Char('W') => {
                m.popup = Some(Popup::Text { kind: TextKind::SegmentName, ids: Vec::new(), input: Field::default() });
            }
            KeyCode::Char('D') => {
                let row = m.facet_rows().get(m.facet_cursor).map(|(k, _)| k.clone());
                if let Some(name) = row.as_deref().and_then(|k| k.strip_prefix("S:")) {
                    if m.active_segment.as_deref() == Some(name) {
                        m.active_segment = None;
                    }
                    return vec![Effect::DeleteSegment(name.to_string())];
                }
            }
            KeyCode::Tab | KeyCode::Esc => m.focus = Focus::List,
            KeyCode::Char('q') => m.quit = true,
            KeyCode::Char('/') => m.focus = Focus::Search,
            KeyCode::Char('?') => m.popup = Some(Popup::Help),
            _ => {}
        }
        return Vec::new();
    }
    let page = m.page.max(1) as isize;
    let k = m.keymap.translate(k);
    match k.code {
        KeyCode::Char('q') => m.quit = true,
        KeyCode::Char('/') => m.focus = Focus::Search,
        KeyCode::Char('?') => m.popup = Some(Popup::Help),
        KeyCode::Char('j') | KeyCode::Down => m.move_cursor(m.cursor as isize + 1),
        KeyCode::Char('k') | KeyCode::Up => m.move_cursor(m.cursor as isize - 1),
        KeyCode::Char('g') | KeyCode::Home => m.move_cursor(0),
        KeyCode::Char('G') | KeyCode::End => m.move_cursor(isize::MAX),
        KeyCode::PageDown => m.move_cursor(m.cursor as isize + page),
        KeyCode::PageUp => m.move_cursor(m.cursor as isize - page),
        KeyCode::Enter => return m.open_detail(),
        KeyCode::Tab => {
            m.focus = match m.focus {
                Focus::List => Focus::Filter,
                Focus::Filter if m.detail_open => Focus::Detail,
                Focus::Filter | Focus::Detail | Focus::Search => Focus::List,
            }
        }
        KeyCode::Esc if m.detail_open => {
            m.detail_open = false;
            m.focus = Focus::List;
        }
        KeyCode::Char('s') if m.selected().is_some() => {
            let cur = m.selected().map(|l| l.status).unwrap_or_default();
            m.popup = Some(Popup::Status { selected: Status::ALL.iter().position(|s| *s == cur).unwrap_or(0) });
        }
        KeyCode::Char('o') => {
            let selected = m.workspaces.iter().position(|(_, k)| *k == m.place.key).unwrap_or(0);
            m.popup = Some(Popup::Workspace { selected });
        }
        KeyCode::Char('v') if m.place.can_view_all => {
            let view = if m.place.view == View::Own { View::All } else { View::Own };
            let key = m.place.key.clone();
            return m.switch(key, view, false);
        }
        KeyCode::Char('v') => {
            m.message = Some((
                "only your own leads here: members see all leads only if the organization sets members_can_view_all"
                    .into(),
                true,
            ));
        }
        KeyCode::Char(' ') => {
            if let Some(id) = m.selected().map(|l| l.id) {
                if !m.marked.remove(&id) {
                    m.marked.insert(id);
                }
                m.move_cursor(m.cursor as isize + 1);
            }
        }
        KeyCode::Char('V') => {
            // V marks everything in view; pressed again on a fully marked view, it clears.
            if m.order.iter().all(|id| m.marked.contains(id)) {
                m.marked.clear();
            } else {
                m.marked.extend(m.order.iter().copied());
            }
        }
        KeyCode::Char('d') => {
            let ids = m.targets();
            // Said before asking, so nobody confirms an action the rules will refuse.
            let others =
                ids.iter().filter_map(|id| m.leads.get(*id)).filter(|r| m.leads.str(r.created_by) != m.user).count();
            if m.place.role == "member" && others > 0 {
                let what = if ids.len() == 1 {
                    "this one is not yours".to_string()
                } else {
                    format!("{others} of these are not yours")
                };
                m.message = Some((format!("members may delete only the leads they created; {what}"), true));
            } else if !ids.is_empty() {
                m.popup = Some(Popup::ConfirmDelete { ids });
            }
        }
        KeyCode::Char('S') => {
            let selected = SORT_FIELDS.iter().position(|(f, _)| *f == m.sort.field).unwrap_or(0);
            m.popup = Some(Popup::Sort { selected });
        }
        KeyCode::Char('x') => {
            m.message = Some((format!("exporting {} leads…", m.order.len()), false));
            return vec![Effect::Export { ids: m.order.clone() }];
        }
        KeyCode::Char('n') => {
            if let Some(id) = m.selected().map(|l| l.id) {
                m.popup = Some(Popup::Text { kind: TextKind::Note, ids: vec![id], input: Field::default() });
            }
        }
        KeyCode::Char('t') => {
            let ids = m.targets();
            if !ids.is_empty() {
                m.popup = Some(Popup::Text { kind: TextKind::Tags, ids, input: Field::default() });
            }
        }
        KeyCode::Char('a') => {
            let mut form = super::form::Form::add();
            form.revalidate(m.default_region.as_deref());
            m.popup = Some(Popup::Form(Box::new(form)));
        }
        KeyCode::Char('e') => {
            if let Some(lead) = m.selected_lead() {
                m.popup = Some(Popup::Form(Box::new(super::form::Form::edit(lead))));
            } else if let Some(id) = m.selected().map(|r| r.id) {
                // The list holds only what it shows; the form needs the whole lead.
                m.edit_pending = Some(id);
                m.detail_requested = Some(id);
                return vec![Effect::LoadDetail(id)];
            }
        }
        KeyCode::Char('c') => {
            m.popup = Some(Popup::Crawl { target: Field::default(), method: 0 });
            return vec![Effect::LoadCrawls];
        }
        KeyCode::Char('A') => {
            m.popup = Some(Popup::Accounts);
            if m.accounts.logging_in() {
                return Vec::new();
            }
            m.accounts.checking = true;
            return vec![Effect::LoadAccounts];
        }
        KeyCode::Char('p') if m.selected().is_some() => {
            let cur = m.selected().map(|l| l.priority).unwrap_or_default();
            m.popup = Some(Popup::Priority { selected: Priority::ALL.iter().position(|p| *p == cur).unwrap_or(0) });
        }
        KeyCode::Char('i') => {
            use super::import_panel::Stage;
            if matches!(m.import.stage, Stage::Done(_) | Stage::Failed(_)) {
                m.import.stage = Stage::Path;
            }
            m.popup = Some(Popup::Import);
        }
        _ => {}
    }
    Vec::new()
}

fn on_popup_key(m: &mut Model, popup: Popup, k: KeyEvent) -> Vec<Effect> {
    match popup {
        Popup::Crawl { target, method } => return on_crawl_key(m, target, method, k),
        Popup::Import => return on_import_key(m, k),
        Popup::Accounts => {
            let handled = m.accounts.on_key(k);
            if handled.close {
                m.popup = None;
            }
            return handled.effects;
        }
        Popup::Form(mut form) => {
            let editing = form.editing.as_ref().map(|(id, _)| *id);
            return match form.on_key(k, m.default_region.as_deref()) {
                super::form::FormAction::Close => {
                    m.popup = None;
                    Vec::new()
                }
                super::form::FormAction::None => {
                    m.popup = Some(Popup::Form(form));
                    Vec::new()
                }
                super::form::FormAction::Save(input) => {
                    m.popup = Some(Popup::Form(form));
                    vec![Effect::SaveLead { id: editing, input }]
                }
            };
        }
        Popup::ConfirmDelete { ids } => {
            m.popup = None;
            return if matches!(k.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                vec![Effect::Delete { ids }]
            } else {
                Vec::new()
            };
        }
        Popup::Text { kind, ids, mut input } => {
            match k.code {
                KeyCode::Esc => m.popup = None,
                KeyCode::Enter => {
                    m.popup = None;
                    let text = input.0.value().trim().to_string();
                    if text.is_empty() {
                        return Vec::new();
                    }
                    return match kind {
                        TextKind::Note => ids.first().map(|&id| Effect::AddNote { id, text }).into_iter().collect(),
                        TextKind::SegmentName => match crate::model::validate_segment_name(&text) {
                            Ok(name) => {
                                let query = Some(m.query.value().trim().to_string()).filter(|q| !q.is_empty());
                                let segment = Segment { name: name.clone(), filter: m.filter.clone(), query };
                                m.active_segment = Some(name);
                                vec![Effect::SaveSegment(segment)]
                            }
                            Err(e) => {
                                m.message = Some((e, true));
                                Vec::new()
                            }
                        },
                        TextKind::Tags => {
                            let (mut add, mut remove) = (Vec::new(), Vec::new());
                            for t in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                                match t.strip_prefix('-') {
                                    Some(r) => remove.push(r.to_string()),
                                    None => add.push(t.strip_prefix('+').unwrap_or(t).to_string()),
                                }
                            }
                            vec![Effect::EditTags { ids, add, remove }]
                        }
                    };
                }
                _ => {
                    input.0.handle_event(&TermEvent::Key(k));
                    m.popup = Some(Popup::Text { kind, ids, input });
                }
            }
            return Vec::new();
        }
        _ => {}
    }
    let n = match popup {
        Popup::Help => 0,
        Popup::Status { .. } => Status::ALL.len(),
        Popup::Priority { .. } => Priority::ALL.len(),
        Popup::Workspace { .. } => m.workspaces.len(),
        Popup::Sort { .. } => SORT_FIELDS.len(),
        Popup::ConfirmDelete { .. }
        | Popup::Text { .. }
        | Popup::Crawl { .. }
        | Popup::Form(_)
        | Popup::Import
        | Popup::Accounts => 0,
    };
    let step = |sel: usize, d: isize| ((sel as isize + d).rem_euclid(n.max(1) as isize)) as usize;
    match (popup, k.code) {
        (_, KeyCode::Esc | KeyCode::Char('q')) | (Popup::Help, _) => m.popup = None,
        (Popup::Status { selected }, KeyCode::Char('j') | KeyCode::Down) => {
            m.popup = Some(Popup::Status { selected: step(selected, 1) })
        }
        (Popup::Status { selected }, KeyCode::Char('k') | KeyCode::Up) => {
            m.popup = Some(Popup::Status { selected: step(selected, -1) })
        }
        (Popup::Priority { selected }, KeyCode::Char('j') | KeyCode::Down) => {
            m.popup = Some(Popup::Priority { selected: step(selected, 1) })
        }
        (Popup::Priority { selected }, KeyCode::Char('k') | KeyCode::Up) => {
            m.popup = Some(Popup::Priority { selected: step(selected, -1) })
        }
        (Popup::Workspace { selected }, KeyCode::Char('j') | KeyCode::Down) => {
            m.popup = Some(Popup::Workspace { selected: step(selected, 1) })
        }
        (Popup::Workspace { selected }, KeyCode::Char('k') | KeyCode::Up) => {
            m.popup = Some(Popup::Workspace { selected: step(selected, -1) })
        }
        (Popup::Workspace { selected }, KeyCode::Enter) => {
            m.popup = None;
            if let Some((_, key)) = m.workspaces.get(selected).cloned() {
                return m.switch(key, View::Own, true);
            }
        }
        (Popup::Sort { selected }, KeyCode::Char('j') | KeyCode::Down) => {
            m.popup = Some(Popup::Sort { selected: step(selected, 1) })
        }
        (Popup::Sort { selected }, KeyCode::Char('k') | KeyCode::Up) => {
            m.popup = Some(Popup::Sort { selected: step(selected, -1) })
        }
        (Popup::Sort { selected }, KeyCode::Enter) => {
            m.popup = None;
            let field = SORT_FIELDS[selected].0;
            m.sort = if m.sort.field == field {
                SortKey { field, descending: !m.sort.descending }
            } else {
                // Dates read best newest first; names and the rest, A to Z.
                SortKey { field, descending: matches!(field, SortField::Updated | SortField::Created) }
            };
            let query_empty = m.query.value().trim().is_empty();
            if query_empty {
                m.reorder(m.sorted_all());
            } else {
                // Search results keep their ranking; the sort applies to the unfiltered list.
                m.message = Some(("sorted; clear the search to see the list in this order".into(), false));
            }
        }
        (Popup::Status { selected }, KeyCode::Enter) => {
            m.popup = None;
            let ids = m.targets();
            if !ids.is_empty() {
                return vec![Effect::SetStatus { ids, status: Status::ALL[selected] }];
            }
        }
        (Popup::Priority { selected }, KeyCode::Enter) => {
            m.popup = None;
            let ids = m.targets();
            if !ids.is_empty() {
                return vec![Effect::SetPriority { ids, priority: Priority::ALL[selected] }];
            }
        }
        _ => {}
    }
    Vec::new()
}
