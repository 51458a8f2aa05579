//! The TUI's state, and the small state changes the key and message handlers share. No I/O:
//! what needs the store or a worker is returned as an `Effect`.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Arc;

use tui_input::Input;

use super::msg::Effect;
use super::panels::accounts::AccountsPanel;
use super::panels::campaigns::CampaignsPanel;
use super::panels::composer::Composer;
use super::panels::crawl::CrawlPanel;
use super::panels::import::ImportPanel;
use super::panels::Popup;
pub use super::place::Place;
use super::rows::{ListOrder, Row, RowFilter, Rows};
use crate::crawl::account::AccountRecord;
use crate::model::{Activity, Facet, FacetKind, Flag, Lead, Message, Segment};
use crate::store::{Filter, SortField, SortKey};
use crate::workspace::{View, Workspace};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    List,
    Search,
    Detail,
    Filter,
}

/// The detail pane's tabs, in the order `[` and `]` walk them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DetailTab {
    /// The lead's fields and what its conversation allows.
    #[default]
    Profile,
    /// The history.
    Activity,
    /// The thread with every account.
    Messages,
}

impl DetailTab {
    pub const ALL: [DetailTab; 3] = [DetailTab::Profile, DetailTab::Activity, DetailTab::Messages];

    pub fn title(self) -> &'static str {
        match self {
            DetailTab::Profile => "Profile",
            DetailTab::Activity => "Activity",
            DetailTab::Messages => "Messages",
        }
    }

    /// The tab `by` steps away, wrapping around.
    pub fn step(self, by: isize) -> DetailTab {
        let n = Self::ALL.len() as isize;
        let at = Self::ALL.iter().position(|t| *t == self).unwrap_or(0) as isize;
        Self::ALL[(at + by).rem_euclid(n) as usize]
    }
}

/// A lead's messages as the store holds them, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thread {
    pub lead: u64,
    pub messages: Vec<Message>,
}

/// The open lead's profile photo: decoded once when it arrives; drawing builds its terminal
/// form once per photo and size, and reuses it every frame after.
pub struct Photo {
    pub id: u64,
    pub image: Result<Arc<image::DynamicImage>, String>,
    pub drawn: std::cell::RefCell<Option<(ratatui::layout::Rect, ratatui_image::protocol::Protocol)>>,
    /// How many times that terminal form was built (once per size; the tests check it).
    pub builds: std::cell::Cell<u32>,
}

pub struct Model {
    /// The workspace's leads as list rows: the version of the shared set (see `super::live`) this
    /// view has taken, the same rows every session of the workspace reads. The view shows only
    /// those its scope admits (`scope_by`); the detail pane reads the full lead (`detail`).
    pub leads: Rows,
    /// The scope's "created by" (`Scope::created_by`, the own view): rows of others are never
    /// listed, counted, searched or selected.
    pub scope_by: Option<String>,
    /// Lead counts per facet value over the loaded workspace.
    pub facets: BTreeMap<Facet, u64>,
    /// The facet values toggled on; a lead must pass all of them (values of one facet are alternatives).
    pub filter: Filter,
    pub facet_cursor: usize,
    /// Leads marked with Space or V; bulk actions apply to them, else to the lead under the cursor.
    pub marked: BTreeSet<u64>,
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
    /// The open form asked to read its lead again (Ctrl-R after a refused save), and whether the
    /// read was already retried once.
    pub form_reload: Option<(u64, bool)>,
    /// The form saved this lead before the feed brought it to the list: the cursor goes to it then.
    pub cursor_to: Option<u64>,
    /// The lead the detail worker was last asked for, so a selection is asked for once.
    pub detail_requested: Option<u64>,
    /// The status line: a message, and whether it is an error.
    pub message: Option<(String, bool)>,
    pub place: Place,
    /// The workspace and view asked for last; `place` becomes it when its load arrives.
    pub requested: (Workspace, View),
    pub workspaces: Vec<(String, Workspace)>,
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
    pub crawl: CrawlPanel,
    /// Wall-clock time of the last frame, for cache ages; `update` itself reads no clock.
    pub now: crate::model::Millis,
    /// For reading national phone formats in forms (config `default_region`).
    pub default_region: Option<String>,
    /// Import and export may use this machine's files (see `Settings::local_files`).
    pub local_files: bool,
    /// Saved segments of the workspace and their live counts (same order).
    pub segments: Vec<Segment>,
    pub segment_counts: Vec<u64>,
    /// The segment whose filter and query are applied, if any.
    pub active_segment: Option<String>,
    pub import: ImportPanel,
    pub accounts: AccountsPanel,
    pub photo: Option<Photo>,
    /// How this terminal shows images (half blocks); None: text only.
    pub picker: Option<ratatui_image::picker::Picker>,
    /// The list is in the inbox's order, newest message first: turning the unread filter on
    /// starts it, choosing a sort ends it.
    pub inbox: bool,
    pub detail_tab: DetailTab,
    /// The lead last read from the inbox: it stays listed there, though no longer unread, until
    /// another is read or the inbox is left, so reading does not move the list under the cursor.
    pub inbox_kept: Option<u64>,
    /// The selected lead's thread, once read (the Messages tab shows it).
    pub thread: Option<Thread>,
    /// The lead whose thread the detail worker was last asked for.
    pub thread_requested: Option<u64>,
    /// How many of the newest messages the Messages tab is scrolled back past.
    pub thread_scroll: usize,
    /// The lead last marked read, with its last message's time then: each arrival asks once.
    pub read_asked: Option<(u64, i64)>,
    /// Opening a thread also tells Telegram it was read (config `telegram.send_read_receipts`).
    pub read_receipts: bool,
    /// `m` was pressed before the lead was read: the composer opens when it arrives.
    pub compose_pending: Option<u64>,
    /// What a composer closed unsent held, kept for its lead.
    pub draft: Option<Box<Composer>>,
    /// The workspace's Telegram accounts, with their runners' state: the composer sends from
    /// one, the status bar shows them all.
    pub senders: Vec<AccountRecord>,
    /// The campaigns panel's state; it outlives the panel, so a launch goes on behind the list.
    pub campaigns: CampaignsPanel,
}

/// Up to this many changed leads are placed one by one (see `Model::changed`).
const FEW_CHANGED: usize = 32;

impl Model {
    pub fn new(place: Place, user: String) -> Model {
        Model {
            leads: Default::default(),
            scope_by: None,
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
            form_reload: None,
            cursor_to: None,
            detail_requested: None,
            message: None,
            requested: (place.workspace.clone(), place.view),
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
            sort: SortKey { field: SortField::Updated, descending: true },
            page: 20,
            keymap: Default::default(),
            crawl: Default::default(),
            now: 0,
            default_region: None,
            local_files: true,
            segments: Vec::new(),
            segment_counts: Vec::new(),
            active_segment: None,
            import: Default::default(),
            accounts: Default::default(),
            photo: None,
            picker: None,
            inbox: false,
            inbox_kept: None,
            detail_tab: DetailTab::default(),
            thread: None,
            thread_requested: None,
            thread_scroll: 0,
            read_asked: None,
            read_receipts: true,
            compose_pending: None,
            draft: None,
            senders: Vec::new(),
            campaigns: Default::default(),
        }
    }

    pub fn tell(&mut self, text: impl Into<String>) {
        self.message = Some((text.into(), false));
    }

    pub fn warn(&mut self, text: impl Into<String>) {
        self.message = Some((text.into(), true));
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

    /// The view's filter over rows. A segment whose filter only archived leads could pass matches
    /// nothing (archived leads never match a segment), where its filter alone would read as "any".
    pub fn row_filter(&self) -> RowFilter<'_> {
        let dead = self
            .active_segment
            .as_ref()
            .and_then(|name| self.segments.iter().find(|s| &s.name == name))
            .is_some_and(|s| s.live_filter().is_none());
        RowFilter::new(&self.filter, self.scope_by.as_deref(), &self.leads.strings).none_if(dead)
    }

    /// Whether the scope admits every row of the workspace (the "all" view, or an own view of
    /// leads all one's own): every lead counts under exactly one status.
    fn scope_is_whole(&self) -> bool {
        let in_scope: u64 = self.facets.iter().filter(|(f, _)| matches!(f, Facet::Status(_))).map(|(_, n)| n).sum();
        self.scope_by.is_none() || in_scope == self.leads.len() as u64
    }

    /// Whether the view may show this lead (it is in the workspace and the scope admits it).
    pub fn in_view(&self, id: u64) -> bool {
        let scope = self.leads.in_scope(self.scope_by.as_deref());
        self.leads.get(id).is_some_and(|r| scope.admits(r))
    }

    /// The list's order: the inbox's, or the chosen sort's.
    pub fn list_order(&self) -> ListOrder {
        if self.inbox {
            ListOrder::NewestMessage
        } else {
            ListOrder::By(self.sort)
        }
    }

    /// Whether the view lists a row: the filter passes it, or the inbox keeps it.
    pub fn passes(&self) -> impl Fn(&Row) -> bool + '_ {
        let filter = self.row_filter();
        let kept = self.inbox_kept.filter(|_| self.inbox);
        move |r| filter.matches(r) || (Some(r.id) == kept && filter.in_scope(r))
    }

    /// The inbox keeps `id`; the lead it kept before leaves unless it is unread again.
    pub fn keep_in_inbox(&mut self, id: u64) {
        let Some(old) = self.inbox_kept.replace(id).filter(|old| *old != id) else { return };
        if !self.leads.get(old).is_some_and(|r| self.row_filter().matches(r)) {
            let order = self.order.iter().copied().filter(|x| *x != old).collect();
            self.reorder(order);
        }
    }

    pub fn sorted_all(&self) -> Vec<u64> {
        let passes = self.passes();
        let mut rows: Vec<&Row> = self.leads.iter().filter(|r| passes(r)).collect();
        super::rows::sort(&mut rows, self.list_order(), &self.leads.strings);
        rows.into_iter().map(|r| r.id).collect()
    }

    /// Takes a newer version of the workspace's rows, with the ids that changed (or left it) since
    /// the one held: the facet counts follow the rows the scope admits, and the list places the
    /// changed ones. Returns the changed ids the view shows now.
    pub fn take_version(&mut self, rows: Rows, changed: &[u64], gone: &[u64]) -> Vec<u64> {
        let old = std::mem::replace(&mut self.leads, rows);
        let (was, is) = (old.in_scope(self.scope_by.as_deref()), self.leads.in_scope(self.scope_by.as_deref()));
        let mut ids: Vec<u64> = changed.iter().chain(gone).copied().collect();
        ids.sort_unstable();
        ids.dedup();
        let (mut shown, mut left) = (Vec::new(), Vec::new());
        for &id in &ids {
            if let Some(r) = old.get(id).filter(|r| was.admits(r)) {
                self.count_facets(r.facets(&old.strings), -1);
            }
            match self.leads.get(id).filter(|r| is.admits(r)) {
                Some(r) => {
                    let keys = r.facets(&self.leads.strings);
                    self.count_facets(keys, 1);
                    shown.push(id);
                }
                None => left.push(id),
            }
        }
        self.leave_view(&left);
        // The full lead read for a closed detail pane is now older than its row: `e` or `m` read it
        // again rather than open on it. (An open pane reads it again at once.)
        if self.detail.as_ref().is_some_and(|(l, _)| ids.binary_search(&l.id).is_ok()) && !self.detail_open {
            self.detail = None;
        }
        shown
    }

    /// The rows the filter pane lists, in display order: segments, then facet values by kind.
    pub fn facet_rows(&self) -> Vec<(Facet, u64)> {
        let mut rows: Vec<(Facet, u64)> = self
            .segments
            .iter()
            .enumerate()
            .map(|(i, seg)| (Facet::Segment(seg.name.clone()), self.segment_counts.get(i).copied().unwrap_or(0)))
            .collect();
        for kind in FacetKind::OF_LEADS {
            let mut group: Vec<(&Facet, u64)> =
                self.facets.iter().filter(|(f, _)| f.kind() == kind).map(|(f, n)| (f, *n)).collect();
            group.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            // Long tails (many countries, tags or groups) show their largest values.
            group.truncate(12);
            rows.extend(group.into_iter().map(|(f, n)| (f.clone(), n)));
        }
        rows
    }

    pub fn facet_on(&self, facet: &Facet) -> bool {
        match facet {
            Facet::Segment(name) => self.active_segment.as_deref() == Some(name.as_str()),
            other => self.filter.has(other),
        }
    }

    /// Applies a segment (its filter with archived leads taken out, and its query), or clears it.
    fn toggle_segment(&mut self, name: &str) -> Vec<Effect> {
        if self.active_segment.as_deref() == Some(name) {
            self.active_segment = None;
            self.filter = Filter::default();
            self.inbox = false;
            self.query = Input::default();
            return self.query_changed();
        }
        let Some(seg) = self.segments.iter().find(|s| s.name == name).cloned() else { return Vec::new() };
        self.active_segment = Some(seg.name.clone());
        self.filter = seg.effective_filter();
        self.inbox = self.filter.flags.contains(&Flag::Unread);
        self.inbox_kept = None;
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

    pub fn toggle_facet(&mut self, facet: &Facet) -> Vec<Effect> {
        if let Facet::Segment(name) = facet {
            return self.toggle_segment(name);
        }
        // Changing a facet by hand leaves the segment.
        self.active_segment = None;
        self.filter.toggle(facet);
        if *facet == Facet::Flag(Flag::Unread) {
            self.inbox = self.filter.has(facet);
            self.inbox_kept = None;
        }
        self.query_changed()
    }

    /// Takes leads that left the view (deleted, or no longer admitted) out of the list and the
    /// marks, in one pass however many; the rows and counts are the version's business.
    pub fn leave_view(&mut self, ids: &[u64]) {
        let gone: HashSet<u64> = ids.iter().copied().collect();
        if gone.is_empty() {
            return;
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

    fn count_facets(&mut self, keys: Vec<Facet>, delta: i64) {
        for k in keys {
            let n = self.facets.entry(k.clone()).or_default();
            *n = (*n as i64 + delta).max(0) as u64;
            if *n == 0 {
                self.facets.remove(&k);
            }
        }
    }

    pub fn move_cursor(&mut self, to: isize) {
        let max = self.order.len().saturating_sub(1) as isize;
        self.cursor = to.clamp(0, max.max(0)) as usize;
    }

    /// Keeps the cursor on the same lead when the order changes (new leads arriving live).
    pub fn reorder(&mut self, order: Vec<u64>) {
        let current = self.order.get(self.cursor).copied();
        self.reorder_at(order, current);
    }

    /// Takes `order`, with the cursor on `current` if it is still there.
    fn reorder_at(&mut self, order: Vec<u64>, current: Option<u64>) {
        self.order = order;
        self.cursor = current.and_then(|id| self.order.iter().position(|x| *x == id)).unwrap_or(0);
        self.move_cursor(self.cursor as isize);
    }

    /// Changed leads join the view where the sort puts them: the unchanged part of the order is
    /// kept and the few changed rows are merged in, so a crawl or an import into a million leads
    /// does not sort them all again for every batch. A search asks again.
    pub fn changed(&mut self, ids: &[u64]) -> Vec<Effect> {
        if !self.query.value().trim().is_empty() {
            return self.query_changed();
        }
        let changed: HashSet<u64> = ids.iter().copied().collect();
        let passes = self.passes();
        let mut fresh: Vec<&Row> = changed.iter().filter_map(|id| self.leads.get(*id)).filter(|r| passes(r)).collect();
        drop(passes);
        super::rows::sort(&mut fresh, self.list_order(), &self.leads.strings);
        let (key, strings) = (self.list_order(), &self.leads.strings);
        // A few changed leads (an edit, a message) are taken out and put back by binary search:
        // a pass over the ids and a few comparisons, not a comparison per row of a million.
        if changed.len() <= FEW_CHANGED {
            let fresh: Vec<u64> = fresh.iter().map(|r| r.id).collect();
            let mut few: Vec<u64> = changed.into_iter().collect();
            few.sort_unstable();
            let current = self.order.get(self.cursor).copied();
            let mut order = std::mem::take(&mut self.order);
            order.retain(|id| few.binary_search(id).is_err());
            for id in fresh {
                let Some(new) = self.leads.get(id) else { continue };
                // After every row it does not sort before: where the merge below would put it.
                let at = order.partition_point(|x| {
                    self.leads.get(*x).is_some_and(|row| !super::rows::compare(new, row, key, strings).is_lt())
                });
                order.insert(at, id);
            }
            self.reorder_at(order, current);
            return Vec::new();
        }
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

    /// The ids passing the filters and the scope, sorted, for a search to rank within; None when
    /// the view shows the whole workspace.
    fn within(&self) -> Option<Arc<Vec<u64>>> {
        if self.filter == Filter::default() && self.active_segment.is_none() && self.scope_is_whole() {
            return None;
        }
        let passes = self.passes();
        // Rows are kept in id order, so this is sorted.
        Some(Arc::new(self.leads.iter().filter(|r| passes(r)).map(|r| r.id).collect()))
    }

    pub fn query_changed(&mut self) -> Vec<Effect> {
        self.search_generation += 1;
        let q = self.query.value().trim().to_string();
        if q.is_empty() {
            self.reorder(self.sorted_all());
            self.searched = self.search_generation;
            self.shown_search = self.search_generation;
            return Vec::new();
        }
        vec![Effect::Search { generation: self.search_generation, query: q, within: self.within() }]
    }

    pub fn open_detail(&mut self) -> Vec<Effect> {
        match self.selected() {
            Some(l) => {
                let id = l.id;
                self.detail_open = true;
                self.focus = Focus::Detail;
                // From the inbox, a lead opens on its thread.
                if self.inbox {
                    self.detail_tab = DetailTab::Messages;
                }
                vec![Effect::LoadDetail(id)]
            }
            None => Vec::new(),
        }
    }

    pub fn switch(&mut self, workspace: Workspace, view: View, remember: bool) -> Vec<Effect> {
        self.requested = (workspace.clone(), view);
        self.load_generation += 1;
        self.loading = true;
        self.loaded_so_far = 0;
        vec![Effect::Switch { generation: self.load_generation, workspace, view, remember }]
    }

    /// Loads the workspace and view asked for last again (a worker or the shared leads failed).
    pub fn load_again(&mut self) -> Vec<Effect> {
        let (workspace, view) = self.requested.clone();
        self.switch(workspace, view, false)
    }

    /// Whether the running search is still to answer; the list says "searching…" meanwhile.
    pub fn searching(&self) -> bool {
        !self.loading && self.searched != self.search_generation
    }
}
