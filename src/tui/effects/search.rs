//! The search worker: it owns the session's search index, kept current by the read-back path,
//! and answers queries newest first.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;

use crate::search::{Entry, SearchIndex};
use crate::tui::msg::{Event, Msg};

/// Most search results the list holds; a query that matches more shows the best ones.
pub const SEARCH_LIMIT: usize = 5000;
/// When a search over a large index shows its first results (the most recent leads' best matches).
pub const SEARCH_BUDGET: std::time::Duration = std::time::Duration::from_millis(20);

pub enum SearchJob {
    /// A load's entries; an older load's (a lower generation) never replaces a newer one's.
    Rebuild(u64, Vec<Entry>),
    /// Changes read through the scope of a load (its generation): applied to that load's index,
    /// kept until it arrives, dropped once a newer one replaced it.
    Upsert(u64, Box<crate::model::Lead>),
    RemoveMany(u64, Vec<u64>),
    Query {
        generation: u64,
        query: String,
        within: Option<Arc<Vec<u64>>>,
    },
    /// Makes the worker panic: the tests' way to prove a dead worker is seen and restarted.
    #[cfg(test)]
    Panic,
}

/// One run of the search worker: it owns a fresh index until its queue closes. Queued queries
/// coalesce; only the newest one runs, and a newer one abandons a long scan between chunks.
pub fn search(jobs: &Receiver<SearchJob>, out: &SyncSender<Event>, newest: &AtomicU64) {
    let mut index = SearchIndex::default();
    let mut built = 0;
    // Changes for a load whose entries have not arrived yet.
    let mut early: Vec<SearchJob> = Vec::new();
    while let Ok(first) = jobs.recv() {
        let mut pending = vec![first];
        pending.extend(jobs.try_iter());
        let mut latest = None;
        let mut queue: std::collections::VecDeque<SearchJob> = pending.into();
        while let Some(job) = queue.pop_front() {
            match job {
                SearchJob::Rebuild(generation, entries) if generation >= built => {
                    built = generation;
                    // The old index goes first, so two never live at once.
                    drop(std::mem::take(&mut index));
                    index = SearchIndex::from_entries(entries);
                    // Changes made while that load scanned apply now, in their order.
                    for job in std::mem::take(&mut early).into_iter().rev() {
                        queue.push_front(job);
                    }
                }
                SearchJob::Rebuild(..) => {}
                SearchJob::Upsert(generation, _) | SearchJob::RemoveMany(generation, _) if generation > built => {
                    early.push(job)
                }
                SearchJob::Upsert(generation, lead) if generation == built => index.upsert(&lead),
                SearchJob::RemoveMany(generation, ids) if generation == built => index.remove_many(&ids),
                SearchJob::Upsert(..) | SearchJob::RemoveMany(..) => {}
                SearchJob::Query { generation, query, within } => latest = Some((generation, query, within)),
                #[cfg(test)]
                SearchJob::Panic => panic!("the search worker was told to fail"),
            }
        }
        let Some((generation, query, within)) = latest else { continue };
        let accept = within.map(|ids| move |id: u64| ids.binary_search(&id).is_ok());
        let accept = accept.as_ref().map(|f| f as &(dyn Fn(u64) -> bool + Sync));
        let mut first = |hits: Vec<crate::search::Hit>| {
            let ids = hits.into_iter().map(|h| h.id).collect();
            let _ = out.send(Event::Msg(Msg::SearchDone { generation, ids, last: false }));
            newest.load(Ordering::Relaxed) == generation
        };
        let Some(hits) = index.search_progressive(&query, SEARCH_LIMIT, accept, SEARCH_BUDGET, &mut first) else {
            continue;
        };
        let ids = hits.into_iter().map(|h| h.id).collect();
        if out.send(Event::Msg(Msg::SearchDone { generation, ids, last: true })).is_err() {
            return;
        }
    }
}
