//! What the session's workers tell the model, and the scope they read through. The leads
//! themselves reach the view as versions of the workspace's shared set (see `crate::tui::live`);
//! what else follows them (the segment counts) reads them back here, through the view's scope.

use std::collections::HashSet;
use std::sync::mpsc::SyncSender;
use std::sync::{Arc, Mutex};

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
    segments: SegmentFeed,
}

impl Publisher {
    pub fn new(store: Store, events: SyncSender<Event>, segments: SegmentFeed) -> Publisher {
        Publisher { store, scope: Default::default(), events, segments }
    }

    /// From now on the view reads through `scope`, the one load `generation` reads with.
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
        self.told(msg);
    }

    /// `tell`, answering false once the session is gone.
    pub fn told(&self, msg: Msg) -> bool {
        self.events.send(Event::Msg(msg)).is_ok()
    }

    /// Leads of the view's workspace that changed or left it: the segment counts, when someone
    /// looks at them, take those the scope admits.
    pub fn segments_follow(&self, scope: &Scope, changed: &[u64], gone: &[u64]) {
        if !self.segments.wanted() || (changed.is_empty() && gone.is_empty()) {
            return;
        }
        match read_back(&self.store, scope, changed) {
            Ok((leads, mut left)) => {
                left.extend_from_slice(gone);
                self.segments.changed(&scope.workspace, &leads, &left);
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
