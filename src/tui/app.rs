//! The TUI's state machine: `update(&mut Model, Event) -> Vec<Effect>` with no I/O. The run loop
//! performs the effects (store reads and writes, searches) and feeds their results back as `Msg`s.

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use tui_input::backend::crossterm::EventHandler;
use tui_input::Input;

use crate::model::{Activity, Lead, Priority, Status};
use crate::store::SortKey;
use crate::workspace::View;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    List,
    Search,
    Detail,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Popup {
    Help,
    Status { selected: usize },
    Priority { selected: usize },
    Workspace { selected: usize },
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
        leads: Vec<Lead>,
    },
    /// The workspaces the user may switch to: (label, key).
    Workspaces(Vec<(String, String)>),
    SearchDone {
        generation: u64,
        ids: Vec<u64>,
    },
    History {
        id: u64,
        entries: Vec<Activity>,
    },
    Saved(Box<Lead>),
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
    LoadHistory(u64),
    SetStatus {
        id: u64,
        status: Status,
    },
    SetPriority {
        id: u64,
        priority: Priority,
    },
    /// Load a workspace (key) in a view, and remember it as the user's current one.
    Switch {
        generation: u64,
        key: String,
        view: View,
        remember: bool,
    },
}

pub struct Model {
    pub leads: std::collections::HashMap<u64, Lead>,
    /// Visible lead ids, in display order.
    pub order: Vec<u64>,
    pub cursor: usize,
    pub focus: Focus,
    pub query: Input,
    pub popup: Option<Popup>,
    pub detail_open: bool,
    pub history: Option<(u64, Vec<Activity>)>,
    pub message: Option<(String, bool)>,
    pub place: Place,
    pub workspaces: Vec<(String, String)>,
    pub load_generation: u64,
    pub user: String,
    pub search_generation: u64,
    pub loading: bool,
    pub quit: bool,
    pub sort: SortKey,
    /// Rows the list showed last frame, for PgUp/PgDn.
    pub page: usize,
}

impl Model {
    pub fn new(place: Place, user: String) -> Model {
        Model {
            leads: Default::default(),
            order: Vec::new(),
            cursor: 0,
            focus: Focus::List,
            query: Input::default(),
            popup: None,
            detail_open: false,
            history: None,
            message: None,
            place,
            workspaces: Vec::new(),
            load_generation: 0,
            user,
            search_generation: 0,
            loading: true,
            quit: false,
            sort: SortKey { field: crate::store::SortField::Updated, descending: true },
            page: 20,
        }
    }

    pub fn selected(&self) -> Option<&Lead> {
        self.order.get(self.cursor).and_then(|id| self.leads.get(id))
    }

    fn sorted_all(&self) -> Vec<u64> {
        let mut leads: Vec<Lead> = self.leads.values().cloned().collect();
        self.sort.sort(&mut leads);
        leads.into_iter().map(|l| l.id).collect()
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

    fn query_changed(&mut self) -> Vec<Effect> {
        self.search_generation += 1;
        let q = self.query.value().trim().to_string();
        if q.is_empty() {
            self.reorder(self.sorted_all());
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
                vec![Effect::LoadHistory(id)]
            }
            None => Vec::new(),
        }
    }
}

pub fn update(m: &mut Model, ev: Event) -> Vec<Effect> {
    match ev {
        Event::Msg(msg) => on_msg(m, msg),
        Event::Term(TermEvent::Key(k)) if k.kind != KeyEventKind::Release => on_key(m, k),
        Event::Term(_) => Vec::new(),
    }
}

fn on_msg(m: &mut Model, msg: Msg) -> Vec<Effect> {
    match msg {
        Msg::Loaded { generation, place, leads } => {
            if generation != m.load_generation {
                return Vec::new();
            }
            m.loading = false;
            m.place = place;
            m.leads = leads.into_iter().map(|l| (l.id, l)).collect();
            m.detail_open = false;
            m.history = None;
            m.cursor = 0;
            m.query_changed()
        }
        Msg::Workspaces(list) => {
            m.workspaces = list;
            Vec::new()
        }
        Msg::SearchDone { generation, ids } => {
            if generation == m.search_generation {
                m.reorder(ids);
            }
            Vec::new()
        }
        Msg::History { id, entries } => {
            if m.selected().is_some_and(|l| l.id == id) {
                m.history = Some((id, entries));
            }
            Vec::new()
        }
        Msg::Saved(lead) => {
            let id = lead.id;
            m.message = Some((format!("saved #{id}"), false));
            m.leads.insert(id, *lead);
            if m.detail_open && m.selected().is_some_and(|l| l.id == id) {
                return vec![Effect::LoadHistory(id)];
            }
            Vec::new()
        }
        Msg::Error(e) => {
            m.message = Some((e, true));
            Vec::new()
        }
    }
}

const NOT_YET: &[(char, &str)] = &[
    ('a', "adding leads"),
    ('e', "editing fields"),
    ('t', "editing tags"),
    ('n', "notes"),
    ('d', "deleting"),
    ('i', "the import panel"),
    ('x', "export"),
    (' ', "selection"),
    ('V', "selection"),
];

impl Model {
    fn switch(&mut self, key: String, view: View, remember: bool) -> Vec<Effect> {
        self.load_generation += 1;
        self.loading = true;
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
    let page = m.page.max(1) as isize;
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
                Focus::List if m.detail_open => Focus::Detail,
                Focus::List => Focus::Search,
                Focus::Detail => Focus::List,
                Focus::Search => Focus::List,
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
        KeyCode::Char('p') if m.selected().is_some() => {
            let cur = m.selected().map(|l| l.priority).unwrap_or_default();
            m.popup = Some(Popup::Priority { selected: Priority::ALL.iter().position(|p| *p == cur).unwrap_or(0) });
        }
        KeyCode::Char(c) => {
            if let Some((_, what)) = NOT_YET.iter().find(|(key, _)| *key == c) {
                m.message = Some((format!("{what} is not in the TUI yet; the CLI has it (reach --help)"), true));
            }
        }
        _ => {}
    }
    // Moving the cursor with the detail open follows the selection.
    if m.detail_open
        && matches!(
            k.code,
            KeyCode::Char('j' | 'k' | 'g' | 'G') | KeyCode::Up | KeyCode::Down | KeyCode::PageUp | KeyCode::PageDown
        )
    {
        if let Some(l) = m.selected() {
            if m.history.as_ref().map(|(id, _)| *id) != Some(l.id) {
                return vec![Effect::LoadHistory(l.id)];
            }
        }
    }
    Vec::new()
}

fn on_popup_key(m: &mut Model, popup: Popup, k: KeyEvent) -> Vec<Effect> {
    let n = match popup {
        Popup::Help => 0,
        Popup::Status { .. } => Status::ALL.len(),
        Popup::Priority { .. } => Priority::ALL.len(),
        Popup::Workspace { .. } => m.workspaces.len(),
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
        (Popup::Status { selected }, KeyCode::Enter) => {
            m.popup = None;
            if let Some(l) = m.selected() {
                return vec![Effect::SetStatus { id: l.id, status: Status::ALL[selected] }];
            }
        }
        (Popup::Priority { selected }, KeyCode::Enter) => {
            m.popup = None;
            if let Some(l) = m.selected() {
                return vec![Effect::SetPriority { id: l.id, priority: Priority::ALL[selected] }];
            }
        }
        _ => {}
    }
    Vec::new()
}
