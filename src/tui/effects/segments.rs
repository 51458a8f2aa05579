//! Segment counts, kept live from the leads the change feed brings. A full count scans the
//! workspace once (on a load, and when segments are saved or deleted) and remembers which leads
//! each segment holds; after that, every changed lead moves each count by at most one, so an
//! import of a million rows costs the counter what its changed leads cost, not a scan per chunk.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;

use crate::model::{Lead, Segment, SegmentMatcher};
use crate::store::{Filter, Store};
use crate::tui::msg::{Event, Msg};

pub enum SegmentJob {
    /// Count every segment of `ws` from scratch, within the view's base filter.
    Recount { ws: String, base: Filter },
    /// These leads of `ws` are now as given, and these ids have left the view.
    Changed { ws: String, leads: Vec<Lead>, gone: Vec<u64> },
}

/// Lead ids as bits: a million leads cost 125 KB per segment.
#[derive(Default)]
struct IdSet(Vec<u64>);

impl IdSet {
    fn contains(&self, id: u64) -> bool {
        self.0.get((id / 64) as usize).is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    /// Sets or clears `id`; answers whether that changed anything.
    fn set(&mut self, id: u64, on: bool) -> bool {
        if on == self.contains(id) {
            return false;
        }
        let i = (id / 64) as usize;
        if i >= self.0.len() {
            self.0.resize(i + 1, 0);
        }
        self.0[i] ^= 1 << (id % 64);
        true
    }
}

/// What the counter knows of one workspace's segments.
struct Tally {
    ws: String,
    base: Filter,
    segments: Vec<Segment>,
    matchers: Vec<SegmentMatcher>,
    members: Vec<IdSet>,
    counts: Vec<u64>,
}

impl Tally {
    fn count(store: &Store, ws: String, base: Filter, wanted: &AtomicBool) -> Result<Tally, String> {
        let segments = store.segments(&ws).map_err(|e| e.to_string())?;
        // Said before the scan: a lead written while it reads is then sent here, not missed.
        wanted.store(!segments.is_empty(), Ordering::Relaxed);
        let mut t = Tally {
            matchers: segments.iter().map(Segment::matcher).collect(),
            members: segments.iter().map(|_| IdSet::default()).collect(),
            counts: vec![0; segments.len()],
            segments,
            ws,
            base,
        };
        if !t.segments.is_empty() {
            let (ws, base) = (t.ws.clone(), t.base.clone());
            store
                .scan(&ws, &base, |lead| {
                    t.apply(&lead);
                })
                .map_err(|e| e.to_string())?;
        }
        Ok(t)
    }

    /// Takes a lead as it is now; answers whether a count moved.
    fn apply(&mut self, lead: &Lead) -> bool {
        let in_view = self.base.matches(lead);
        let mut moved = false;
        for ((m, set), n) in self.matchers.iter_mut().zip(&mut self.members).zip(&mut self.counts) {
            let is = in_view && m.matches(lead);
            if set.set(lead.id, is) {
                moved = true;
                if is {
                    *n += 1;
                } else {
                    *n = n.saturating_sub(1);
                }
            }
        }
        moved
    }

    fn remove(&mut self, id: u64) -> bool {
        let mut moved = false;
        for (set, n) in self.members.iter_mut().zip(&mut self.counts) {
            if set.set(id, false) {
                moved = true;
                *n = n.saturating_sub(1);
            }
        }
        moved
    }

    fn message(&self) -> Msg {
        Msg::Segments { segments: self.segments.clone(), counts: self.counts.clone() }
    }
}

/// The counter's loop. `wanted` tells the publisher whether changed leads are worth sending here
/// (there are segments to count).
pub fn segments(store: &Store, jobs: &Receiver<SegmentJob>, out: &SyncSender<Event>, wanted: &AtomicBool) {
    let mut tally: Option<Tally> = None;
    while let Ok(first) = jobs.recv() {
        let mut batch: Vec<SegmentJob> = std::iter::once(first).chain(jobs.try_iter()).collect();
        // A recount reads the store as it is: the changes queued before it are in what it reads.
        if let Some(last) = batch.iter().rposition(|j| matches!(j, SegmentJob::Recount { .. })) {
            batch.drain(..last);
        }
        let mut moved = false;
        for job in batch {
            match job {
                SegmentJob::Recount { ws, base } => match Tally::count(store, ws, base, wanted) {
                    Ok(t) => {
                        tally = Some(t);
                        moved = true;
                    }
                    Err(e) => {
                        tally = None;
                        wanted.store(false, Ordering::Relaxed);
                        if out.send(Event::Msg(Msg::Error(e))).is_err() {
                            return;
                        }
                    }
                },
                SegmentJob::Changed { ws, leads, gone } => {
                    let Some(t) = tally.as_mut().filter(|t| t.ws == ws) else { continue };
                    for lead in &leads {
                        moved |= t.apply(lead);
                    }
                    for id in gone {
                        moved |= t.remove(id);
                    }
                }
            }
        }
        if let (true, Some(t)) = (moved, &tally) {
            if out.send(Event::Msg(t.message())).is_err() {
                return;
            }
        }
    }
}

/// Where the publisher sends changed leads for the counter, when it has segments to count.
#[derive(Clone)]
pub struct SegmentFeed {
    pub jobs: std::sync::mpsc::Sender<SegmentJob>,
    pub wanted: Arc<AtomicBool>,
}

impl SegmentFeed {
    /// Whether the counts follow changed leads now (someone looks at them).
    pub fn wanted(&self) -> bool {
        self.wanted.load(Ordering::Relaxed)
    }

    pub fn changed(&self, ws: &str, leads: &[Lead], gone: &[u64]) {
        if self.wanted.load(Ordering::Relaxed) && !(leads.is_empty() && gone.is_empty()) {
            let job = SegmentJob::Changed { ws: ws.to_string(), leads: leads.to_vec(), gone: gone.to_vec() };
            let _ = self.jobs.send(job);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_sets_grow_and_report_changes() {
        let mut s = IdSet::default();
        assert!(!s.contains(1_000_000));
        assert!(s.set(1_000_000, true));
        assert!(!s.set(1_000_000, true), "already in");
        assert!(s.contains(1_000_000) && !s.contains(999_999));
        assert!(s.set(1_000_000, false));
        assert!(!s.set(5, false), "never in");
    }
}
