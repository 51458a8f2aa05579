//! The one way leads reach a view. Whoever wrote them (this session's edits, an import, a crawl,
//! and later the store's change feed), the changed ids come here: they are read back in one read
//! transaction, passed through the view's scope (its permissions and its own/all choice), handed
//! to the search index, and sent to the model as one `LeadsChanged`.

use std::collections::HashSet;
use std::sync::mpsc::{Sender, SyncSender};
use std::sync::{Arc, Mutex};

use super::search::SearchJob;
use super::segments::SegmentFeed;
use crate::model::Lead;
use crate::store::{Scope, Store};
use crate::tui::msg::{Event, Msg};

#[derive(Clone)]
pub struct Publisher {
    store: Store,
    /// The scope of the newest load, with its generation; None until the first load starts.
    scope: Arc<Mutex<Option<(u64, Scope)>>>,
    events: SyncSender<Event>,
    search: Sender<SearchJob>,
    segments: SegmentFeed,
}

impl Publisher {
    pub fn new(store: Store, events: SyncSender<Event>, search: Sender<SearchJob>, segments: SegmentFeed) -> Publisher {
        Publisher { store, scope: Default::default(), events, search, segments }
    }

    /// From now on changes are read through `scope`, the one load `generation` reads with. Set
    /// before that load scans, so nothing written meanwhile is read through the old one.
    pub fn set_scope(&self, generation: u64, scope: Scope) {
        if let Ok(mut s) = self.scope.lock() {
            *s = Some((generation, scope));
        }
    }

    /// The workspace the view reads, once a load has named it.
    pub fn workspace(&self) -> Option<String> {
        self.scope().map(|(_, s)| s.workspace)
    }

    /// The scope the view reads with now, for work that selects leads as the view sees them.
    pub fn scope_now(&self) -> Option<Scope> {
        self.scope().map(|(_, s)| s)
    }

    fn scope(&self) -> Option<(u64, Scope)> {
        self.scope.lock().ok().and_then(|s| s.clone())
    }

    /// Sends a message to the model (from a worker: it waits when the model falls behind).
    pub fn tell(&self, msg: Msg) {
        let _ = self.events.send(Event::Msg(msg));
    }

    /// Leads that changed: those the view admits join it, the others leave it.
    pub fn changed(&self, ids: &[u64]) {
        if ids.is_empty() {
            return;
        }
        let Some((generation, scope)) = self.scope() else { return };
        match read_back(&self.store, &scope, ids) {
            Ok((leads, gone)) => {
                self.segments.changed(&scope.workspace, &leads, &gone);
                self.publish(generation, leads, gone)
            }
            Err(e) => self.tell(Msg::Error(e)),
        }
    }

    /// Reads the workspace's Telegram accounts, as the view's newest load sees them.
    pub fn senders(&self) {
        let Some((generation, scope)) = self.scope() else { return };
        self.tell(match crate::crawl::account::of_workspace(&self.store, &scope.workspace) {
            Ok(accounts) => Msg::Senders { generation, accounts },
            Err(e) => Msg::Error(format!("cannot read the accounts: {e}")),
        });
    }

    /// Leads that are gone (deleted).
    pub fn removed(&self, ids: &[u64]) {
        if let Some((generation, scope)) = self.scope().filter(|_| !ids.is_empty()) {
            self.segments.changed(&scope.workspace, &[], ids);
            self.publish(generation, Vec::new(), ids.to_vec());
        }
    }

    fn publish(&self, generation: u64, leads: Vec<Lead>, gone: Vec<u64>) {
        for lead in &leads {
            let _ = self.search.send(SearchJob::Upsert(generation, Box::new(lead.clone())));
        }
        if !gone.is_empty() {
            let _ = self.search.send(SearchJob::RemoveMany(generation, gone.clone()));
        }
        self.tell(Msg::LeadsChanged { generation, leads, gone });
    }
}

/// Reads `ids` in one read transaction: the leads `scope` admits, and the ids it does not (or
/// that no longer exist in its workspace).
pub fn read_back(store: &Store, scope: &Scope, ids: &[u64]) -> Result<(Vec<Lead>, Vec<u64>), String> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    let mut leads = Vec::with_capacity(ids.len());
    store
        .visit_ids(&scope.workspace, &ids, |l| {
            if scope.admits(&l) {
                leads.push(l);
            }
        })
        .map_err(|e| e.to_string())?;
    let admitted: HashSet<u64> = leads.iter().map(|l| l.id).collect();
    let gone = ids.into_iter().filter(|id| !admitted.contains(id)).collect();
    Ok((leads, gone))
}
