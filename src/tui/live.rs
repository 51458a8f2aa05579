//! One row set and one search index per workspace, shared by every session that views it (all the
//! users of `reach serve`, or the one local TUI), and kept current by one updater thread that
//! follows the store's change feed.
//!
//! The scheme: the current version is a `Version` (rows and index, both copy-on-write chunks, see
//! `crate::chunks`) behind a mutex that is held only to clone or replace it, a few pointer copies.
//! The updater applies a burst of commits to a clone of the current version (copying only the
//! chunks it touches), then publishes it with the ids it changed, and wakes the sessions. A session
//! reads the versions after its own and takes the newest: its view (scope, filter, sort, cursor,
//! search results) is its own; the rows are never copied per session, and the scope is applied to
//! the view. A session far behind (more changes than the log keeps) takes the newest version whole.

use std::collections::{HashMap, VecDeque};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::time::Duration;

use super::rows::{Row, Rows, Strings};
use crate::search::{Entry, SearchIndex};
use crate::store::{FeedEvent, Filter, Store};

/// The changed ids the log keeps for sessions that have not caught up yet; one further behind
/// takes the newest version whole.
const LOG_IDS: usize = 1 << 20;
/// How many leads the first scan reads between two progress reports.
const PROGRESS_EVERY: usize = 100_000;
/// How often an idle updater looks whether anyone still views its workspace.
const IDLE: Duration = Duration::from_millis(200);

/// A workspace's leads at one point of the feed.
#[derive(Clone, Default)]
pub struct Version {
    /// Counts the updates since the set was made; 0 until its first scan ends.
    pub number: u64,
    pub rows: Rows,
    pub index: SearchIndex,
}

/// What changed from one version to the next.
struct Step {
    number: u64,
    changed: Arc<[u64]>,
    gone: Arc<[u64]>,
}

/// What a session is told when it asks what happened since its version.
pub enum Since {
    /// Nothing newer.
    Same,
    /// The newest version, and every id that changed (or left the workspace) on the way to it.
    Changed { version: Version, changed: Vec<u64>, gone: Vec<u64> },
    /// The newest version, too far ahead (or rebuilt) for a list of changes: take it whole.
    Whole(Version),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// The first scan has read this many leads.
    Loading(usize),
    Ready,
    Failed(String),
}

struct State {
    phase: Phase,
    current: Version,
    log: VecDeque<Step>,
    logged_ids: usize,
    /// The number of the oldest version a list of changes can start from.
    log_from: u64,
    /// Sessions to wake after an update; a full one is already awake.
    wake: Vec<SyncSender<()>>,
    /// At most this many ids in `log` (`LOG_IDS`; the tests use fewer).
    log_cap: usize,
}

/// One workspace's shared leads.
pub struct LiveSet {
    workspace: String,
    state: Mutex<State>,
    changed: Condvar,
}

impl LiveSet {
    fn new(workspace: &str, log_cap: usize) -> LiveSet {
        let state = State {
            phase: Phase::Loading(0),
            current: Version::default(),
            log: VecDeque::new(),
            logged_ids: 0,
            log_from: 0,
            wake: Vec::new(),
            log_cap,
        };
        LiveSet { workspace: workspace.to_string(), state: Mutex::new(state), changed: Condvar::new() }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while the lock was held left a whole version (they are replaced, never edited).
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn phase(&self) -> Phase {
        self.lock().phase.clone()
    }

    /// Waits up to `wait` for the first scan to end; returns the phase then.
    pub fn wait_ready(&self, wait: Duration) -> Phase {
        let state = self.lock();
        let (state, _) = self
            .changed
            .wait_timeout_while(state, wait, |s| matches!(s.phase, Phase::Loading(_)))
            .unwrap_or_else(|e| e.into_inner());
        state.phase.clone()
    }

    /// The newest version (a few pointer copies).
    pub fn current(&self) -> Version {
        self.lock().current.clone()
    }

    /// `wake` gets a unit after every update (or finds one already waiting).
    pub fn subscribe(&self, wake: SyncSender<()>) {
        self.lock().wake.push(wake);
    }

    /// What happened after version `after`.
    pub fn since(&self, after: u64) -> Since {
        let state = self.lock();
        if state.current.number == after {
            return Since::Same;
        }
        if after < state.log_from || after > state.current.number {
            return Since::Whole(state.current.clone());
        }
        let (mut changed, mut gone) = (Vec::new(), Vec::new());
        for step in state.log.iter().filter(|s| s.number > after) {
            changed.extend_from_slice(&step.changed);
            gone.extend_from_slice(&step.gone);
        }
        Since::Changed { version: state.current.clone(), changed, gone }
    }

    fn publish(&self, version: Version, changed: Vec<u64>, gone: Vec<u64>) {
        let mut state = self.lock();
        let number = version.number;
        state.logged_ids += changed.len() + gone.len();
        state.log.push_back(Step { number, changed: changed.into(), gone: gone.into() });
        while state.logged_ids > state.log_cap {
            let Some(old) = state.log.pop_front() else { break };
            state.logged_ids -= old.changed.len() + old.gone.len();
            state.log_from = old.number;
        }
        state.current = version;
        wake_all(&mut state);
    }

    /// A version that replaces everything (the first scan, or a rescan after the feed was lost).
    fn replace(&self, version: Version) {
        let mut state = self.lock();
        state.log.clear();
        state.logged_ids = 0;
        state.log_from = version.number;
        state.current = version;
        state.phase = Phase::Ready;
        wake_all(&mut state);
        self.changed.notify_all();
    }

    fn set_phase(&self, phase: Phase) {
        self.lock().phase = phase;
        self.changed.notify_all();
    }
}

#[cfg(test)]
impl LiveSet {
    /// A set holding `leads`, ready, with no updater: the tests write its versions themselves.
    pub fn of_leads(workspace: &str, leads: &[crate::model::Lead]) -> Arc<LiveSet> {
        let set = Arc::new(LiveSet::new(workspace, 8));
        let index = SearchIndex::build(leads);
        set.replace(Version { number: 0, rows: Rows::from_leads(leads), index });
        set
    }
}

fn wake_all(state: &mut State) {
    state.wake.retain(|w| !matches!(w.try_send(()), Err(std::sync::mpsc::TrySendError::Disconnected(_))));
}

/// A set's store (its path) and workspace: two stores never share a set.
type SetKey = (std::path::PathBuf, String);

/// The shared sets, by store and workspace. Cheap to clone; every session of a process gets
/// the same one, so they share what they view.
#[derive(Clone, Default)]
pub struct LiveSets {
    sets: Arc<Mutex<HashMap<SetKey, Weak<LiveSet>>>>,
}

impl std::fmt::Debug for LiveSets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LiveSets")
    }
}

impl LiveSets {
    /// The workspace's set, started (subscribed to the feed, then scanned) if nobody views it yet,
    /// or if the one viewed failed. It lives as long as someone holds it.
    pub fn open(&self, store: &Store, workspace: &str) -> Arc<LiveSet> {
        let mut sets = self.sets.lock().unwrap_or_else(|e| e.into_inner());
        sets.retain(|_, w| w.strong_count() > 0);
        let key = (store.path().to_path_buf(), workspace.to_string());
        let alive = sets.get(&key).and_then(Weak::upgrade);
        if let Some(set) = alive.filter(|s| !matches!(s.phase(), Phase::Failed(_))) {
            return set;
        }
        let set = Arc::new(LiveSet::new(workspace, LOG_IDS));
        sets.insert(key, Arc::downgrade(&set));
        let (weak, store) = (Arc::downgrade(&set), store.clone());
        let started = std::thread::Builder::new().name("reach-live".into()).spawn(move || run_updater(&store, &weak));
        if let Err(e) = started {
            set.set_phase(Phase::Failed(format!("cannot start the workspace's updater: {e}")));
        }
        set
    }

    /// How many workspaces are viewed now.
    pub fn open_count(&self) -> usize {
        self.sets.lock().map(|s| s.values().filter(|w| w.strong_count() > 0).count()).unwrap_or(0)
    }
}

/// Runs the updater; a panic fails the set (its views load again, into a new one) instead of
/// leaving them on a version that never changes.
fn run_updater(store: &Store, set: &Weak<LiveSet>) {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| updater(store, set)));
    let why = match outcome {
        Ok(Ok(())) => return,
        Ok(Err(why)) => why,
        Err(_) => "its updater failed".to_string(),
    };
    if let Some(set) = set.upgrade() {
        tracing::warn!(workspace = set.workspace, "the workspace's shared leads stopped: {why}");
        set.set_phase(Phase::Failed(why));
    }
}

/// How long a failed read waits before the workspace is read again.
const RETRY: Duration = Duration::from_secs(1);

/// Scans the workspace, then follows the feed until nobody holds the set. An error it cannot
/// get past (the first scan failed, the feed closed) is returned.
fn updater(store: &Store, set: &Weak<LiveSet>) -> Result<(), String> {
    let Some(workspace) = set.upgrade().map(|s| s.workspace.clone()) else { return Ok(()) };
    // Subscribed before the scan: what is written while it runs comes after it.
    let feed = store.subscribe().map_err(|e| format!("cannot follow the store's changes: {e}"))?;
    let progress = |done| {
        if let Some(set) = set.upgrade() {
            set.set_phase(Phase::Loading(done));
        }
    };
    let mut current = scan(store, &workspace, progress)?;
    match set.upgrade() {
        Some(s) => s.replace(current.clone()),
        None => return Ok(()),
    }
    let mut reload = false;
    loop {
        let next = if reload { Some(Burst::Reload) } else { next_burst(&feed, &workspace, set)? };
        let Some(live) = set.upgrade() else { return Ok(()) };
        reload = false;
        match next {
            // A rescan keeps the views on the version they have until it is done.
            Some(Burst::Reload) => match scan(store, &workspace, |_| {}) {
                Ok(mut version) => {
                    version.number = current.number + 1;
                    current = version;
                    live.replace(current.clone());
                }
                Err(why) => {
                    tracing::warn!(workspace, "the workspace could not be read again, retrying: {why}");
                    drop(live);
                    std::thread::sleep(RETRY);
                    reload = true;
                }
            },
            Some(Burst::Changes { changed, deleted }) => match apply(store, &workspace, &current, changed, deleted) {
                Ok(Some((version, changed, gone))) => {
                    current = version;
                    live.publish(current.clone(), changed, gone);
                }
                Ok(None) => {}
                // Those changes would be lost: the whole workspace is read again instead.
                Err(why) => {
                    tracing::warn!(workspace, "changed leads could not be read, reading all again: {why}");
                    reload = true;
                }
            },
            None => return Ok(()),
        }
    }
}

enum Burst {
    Changes { changed: Vec<u64>, deleted: Vec<u64> },
    Reload,
}

/// Everything the feed has queued for this workspace, taken at once: a burst of commits costs one
/// read. None when nobody views the workspace any more; an error when the feed closed.
fn next_burst(feed: &Receiver<FeedEvent>, workspace: &str, set: &Weak<LiveSet>) -> Result<Option<Burst>, String> {
    let first = loop {
        match feed.recv_timeout(IDLE) {
            Ok(event) => break event,
            Err(RecvTimeoutError::Timeout) if set.strong_count() > 0 => continue,
            Err(RecvTimeoutError::Timeout) => return Ok(None),
            Err(RecvTimeoutError::Disconnected) => return Err("the store's change feed closed".into()),
        }
    };
    let (mut changed, mut deleted) = (Vec::new(), Vec::new());
    for event in std::iter::once(first).chain(feed.try_iter()) {
        let FeedEvent::Changes(list) = event else { return Ok(Some(Burst::Reload)) };
        for (_, change) in list.iter() {
            let (c, d) = change.of_workspace(workspace);
            changed.extend(c);
            deleted.extend(d);
        }
    }
    Ok(Some(Burst::Changes { changed, deleted }))
}

/// The workspace's leads as rows and search entries, read in one pass; `progress` hears how many
/// every `PROGRESS_EVERY`.
fn scan(store: &Store, workspace: &str, progress: impl Fn(usize)) -> Result<Version, String> {
    // Reserved for every lead in the store: pages never touched cost no memory, and the vectors
    // don't move while a large scan fills them. Capped: a small workspace in a huge store should
    // not reserve address space for all of it.
    let bound = (store.total_leads().map_err(|e| e.to_string())? as usize).min(1 << 20);
    let (mut list, mut entries) = (Vec::with_capacity(bound), Vec::with_capacity(bound));
    let mut strings = Strings::default();
    store
        .scan(workspace, &Filter::default(), |l| {
            list.push(Row::of(&l, &mut strings));
            entries.push(Entry::of(&l));
            if list.len() % PROGRESS_EVERY == 0 {
                progress(list.len());
            }
        })
        .map_err(|e| e.to_string())?;
    Ok(Version { number: 0, rows: Rows::new(list, strings), index: SearchIndex::from_entries(entries) })
}

/// The next version: `changed` read back in one read transaction (those no longer in the
/// workspace are gone), `deleted` taken out. None when nothing changed.
type Applied = (Version, Vec<u64>, Vec<u64>);

fn apply(
    store: &Store,
    workspace: &str,
    current: &Version,
    mut changed: Vec<u64>,
    mut deleted: Vec<u64>,
) -> Result<Option<Applied>, String> {
    deleted.sort_unstable();
    deleted.dedup();
    changed.sort_unstable();
    changed.dedup();
    // A lead deleted after it changed in the same burst is gone.
    changed.retain(|id| deleted.binary_search(id).is_err());
    if changed.is_empty() && deleted.is_empty() {
        return Ok(None);
    }
    let mut next = current.clone();
    let mut found = Vec::with_capacity(changed.len());
    store
        .visit_ids(workspace, &changed, |l| {
            next.rows.upsert(&l);
            next.index.upsert(&l);
            found.push(l.id);
        })
        .map_err(|e| e.to_string())?;
    // Changed, then gone before it could be read: as good as deleted.
    let mut gone: Vec<u64> = changed.iter().copied().filter(|id| found.binary_search(id).is_err()).collect();
    gone.extend(deleted);
    gone.sort_unstable();
    gone.dedup();
    next.rows.remove(&gone);
    next.index.remove_many(&gone);
    next.number += 1;
    Ok(Some((next, found, gone)))
}

#[cfg(test)]
mod tests;
