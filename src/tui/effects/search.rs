//! The search worker: it searches the workspace's shared index (see `crate::tui::live`), the
//! newest version at each query, and answers newest first. What it keeps of its own is the
//! narrowing of the queries typed so far, dropped whenever the index has a newer version.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;

use crate::search::{Narrowing, SearchIndex};
use crate::tui::live::LiveSet;
use crate::tui::msg::{Event, Msg};

/// Most search results the list holds; a query that matches more shows the best ones.
pub const SEARCH_LIMIT: usize = 5000;
/// When a search over a large index shows its first results (the most recent leads' best matches).
pub const SEARCH_BUDGET: std::time::Duration = std::time::Duration::from_millis(20);

pub enum SearchJob {
    /// The workspace a load (its generation) views; an older load's never replaces a newer one's.
    Use(u64, Arc<LiveSet>),
    Query {
        generation: u64,
        query: String,
        within: Option<Arc<Vec<u64>>>,
    },
    /// Makes the worker panic: the tests' way to prove a dead worker is seen and restarted.
    #[cfg(test)]
    Panic,
}

/// One run of the search worker, until its queue closes. Queued queries coalesce; only the newest
/// one runs, and a newer one abandons a long scan between chunks.
pub fn search(jobs: &Receiver<SearchJob>, out: &SyncSender<Event>, newest: &AtomicU64) {
    let mut set: Option<(u64, Arc<LiveSet>)> = None;
    // The match sets of the last queries, with the version they were made on (its load's
    // generation and its number). The index itself is let go after every answer, so an idle
    // session never holds an old version the others have moved past.
    let mut narrowing: Option<((u64, u64), Narrowing)> = None;
    while let Ok(first) = jobs.recv() {
        let mut latest = None;
        for job in std::iter::once(first).chain(jobs.try_iter()) {
            match job {
                SearchJob::Use(generation, live) => {
                    if set.as_ref().is_none_or(|(g, _)| generation >= *g) {
                        set = Some((generation, live));
                    }
                }
                SearchJob::Query { generation, query, within } => latest = Some((generation, query, within)),
                #[cfg(test)]
                SearchJob::Panic => panic!("the search worker was told to fail"),
            }
        }
        let Some((generation, query, within)) = latest else { continue };
        // Nothing loaded yet: nothing matches.
        let (mut index, at) = match &set {
            Some((loaded, live)) => {
                let version = live.current();
                let at = (*loaded, version.number);
                match narrowing.take() {
                    Some((made_on, sets)) if made_on == at => (version.index.with_narrowing(sets), Some(at)),
                    _ => (version.index, Some(at)),
                }
            }
            None => (SearchIndex::default(), None),
        };
        let accept = within.map(|ids| move |id: u64| ids.binary_search(&id).is_ok());
        let accept = accept.as_ref().map(|f| f as &(dyn Fn(u64) -> bool + Sync));
        let mut first = |hits: Vec<crate::search::Hit>| {
            let ids = hits.into_iter().map(|h| h.id).collect();
            let _ = out.send(Event::Msg(Msg::SearchDone { generation, ids, last: false }));
            newest.load(Ordering::Relaxed) == generation
        };
        let hits = index.search_progressive(&query, SEARCH_LIMIT, accept, SEARCH_BUDGET, &mut first);
        narrowing = at.map(|at| (at, index.take_narrowing()));
        drop(index);
        let Some(hits) = hits else { continue };
        let ids = hits.into_iter().map(|h| h.id).collect();
        if out.send(Event::Msg(Msg::SearchDone { generation, ids, last: true })).is_err() {
            return;
        }
    }
}
