//! Fuzzy search over leads: nucleo's matcher for scoring, but not its worker (which sorts every
//! match and costs 0.2-0.8 s per keystroke at 1M items on 2 cores). Haystacks are converted once;
//! a query scores chunks in parallel, each thread keeping only its top-k, then the heads merge.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32String};
use rayon::prelude::*;

use crate::model::Lead;

struct Entry {
    id: u64,
    updated_at: i64,
    haystack: Utf32String,
}

/// The text a lead is found by: name, username, phone (raw and E.164), tags, groups, custom field values.
pub fn haystack(l: &Lead) -> String {
    let mut s = String::with_capacity(96);
    let mut push = |t: &str| {
        if !t.is_empty() {
            if !s.is_empty() {
                s.push(' ');
            }
            s.push_str(t);
        }
    };
    push(&l.first_name);
    push(&l.last_name);
    if let Some(u) = &l.username {
        push(&format!("@{u}"));
    }
    if let Some(p) = &l.phone {
        push(&p.raw);
        if let Some(e) = &p.e164 {
            if e != &p.raw {
                push(e);
            }
        }
    }
    for t in &l.tags {
        push(t);
    }
    for g in &l.groups {
        push(g);
    }
    for v in l.custom_fields.values() {
        push(v);
    }
    s
}

#[derive(Default)]
pub struct SearchIndex {
    entries: Vec<Entry>,
}

/// A match: the lead id and its score (higher is better).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub id: u64,
    pub score: u32,
}

impl SearchIndex {
    pub fn build(leads: &[Lead]) -> SearchIndex {
        let entries = leads
            .par_iter()
            .map(|l| Entry { id: l.id, updated_at: l.updated_at, haystack: Utf32String::from(haystack(l).as_str()) })
            .collect();
        SearchIndex { entries }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn upsert(&mut self, lead: &Lead) {
        let e =
            Entry { id: lead.id, updated_at: lead.updated_at, haystack: Utf32String::from(haystack(lead).as_str()) };
        match self.entries.iter_mut().find(|x| x.id == lead.id) {
            Some(slot) => *slot = e,
            None => self.entries.push(e),
        }
    }

    pub fn remove(&mut self, id: u64) {
        self.entries.retain(|e| e.id != id);
    }

    /// The best `k` matches for `query`, best first (score, then most recently updated).
    /// `allowed` restricts the search to leads passing the facet filters.
    pub fn top(&self, query: &str, k: usize, allowed: &(dyn Fn(u64) -> bool + Sync)) -> Vec<Hit> {
        let pattern = Pattern::parse(query, CaseMatching::Smart, Normalization::Smart);
        let heads: Vec<Vec<(u32, i64, u64)>> = self
            .entries
            .par_chunks(16 * 1024)
            .map(|chunk| {
                let mut matcher = Matcher::new(Config::DEFAULT);
                let mut heap: BinaryHeap<Reverse<(u32, i64, u64)>> = BinaryHeap::with_capacity(k + 1);
                for e in chunk {
                    if !allowed(e.id) {
                        continue;
                    }
                    if let Some(score) = pattern.score(e.haystack.slice(..), &mut matcher) {
                        heap.push(Reverse((score, e.updated_at, e.id)));
                        if heap.len() > k {
                            heap.pop();
                        }
                    }
                }
                heap.into_iter().map(|Reverse(x)| x).collect()
            })
            .collect();
        let mut all: Vec<(u32, i64, u64)> = heads.into_iter().flatten().collect();
        all.sort_unstable_by(|a, b| b.cmp(a));
        all.truncate(k);
        all.into_iter().map(|(score, _, id)| Hit { id, score }).collect()
    }
}

/// Character positions of `query`'s match in `text`, for highlighting a visible cell.
pub fn highlight(query: &str, text: &str) -> Vec<usize> {
    if query.trim().is_empty() {
        return Vec::new();
    }
    let pattern = Pattern::parse(query, CaseMatching::Smart, Normalization::Smart);
    let mut matcher = Matcher::new(Config::DEFAULT);
    let mut buf = Vec::new();
    let mut indices = Vec::new();
    pattern.indices(nucleo_matcher::Utf32Str::new(text, &mut buf), &mut matcher, &mut indices);
    indices.sort_unstable();
    indices.dedup();
    indices.into_iter().map(|i| i as usize).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LeadInput, Source};
    use crate::store::merge::{create, Withheld};

    fn lead(id: u64, first: &str, username: &str, updated: i64) -> Lead {
        let c = LeadInput { first_name: Some(first.into()), username: Some(username.into()), ..Default::default() }
            .validate(Source::Manual, None)
            .unwrap();
        let mut l = create(id, "u:t", "t", updated, &c, Withheld::default()).0;
        l.updated_at = updated;
        l
    }

    #[test]
    fn ranks_by_score_then_recency_and_respects_filters() {
        let leads = vec![lead(1, "Ivan", "ivan_old", 1), lead(2, "Ivan", "ivan_new", 5), lead(3, "Anna", "anna_k", 9)];
        let idx = SearchIndex::build(&leads);
        let hits = idx.top("ivan", 10, &|_| true);
        assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), [2, 1]);
        let hits = idx.top("ivan", 10, &|id| id != 2);
        assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), [1]);
        assert!(idx.top("zzz", 10, &|_| true).is_empty());
        assert_eq!(idx.top("anna", 1, &|_| true)[0].id, 3);
    }

    #[test]
    fn highlights_match_positions() {
        assert_eq!(highlight("iv", "Ivan"), vec![0, 1]);
        assert!(highlight("", "Ivan").is_empty());
    }
}
