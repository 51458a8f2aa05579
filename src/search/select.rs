//! Which leads a listing reads, and in which order: facet filters, a saved segment and a search
//! query resolved in one place, so `lead list`, `export` and `stats` agree, and rank as the TUI's
//! search does (`SearchIndex`, best score, then the most recently updated).

use super::{Entry, QueryMatcher, SearchIndex};
use crate::model::{Lead, Segment};
use crate::store::{Filter, SortKey, Store, StoreError};

#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Every one must pass; see `Store::scan_all_of` for why they are not merged.
    filters: Vec<Filter>,
    query: Option<String>,
    /// Set by a segment no lead can be in (it asked only for archived leads).
    empty: bool,
}

impl Selection {
    /// The leads passing `filter` (which carries the reader's view).
    pub fn new(filter: Filter) -> Selection {
        Selection { filters: vec![filter], ..Selection::default() }
    }

    /// Narrowed to a segment's members: its filter, archived leads out, and its query.
    pub fn segment(mut self, segment: &Segment) -> Selection {
        match segment.live_filter() {
            Some(f) => self.filters.push(f),
            None => self.empty = true,
        }
        self.query(segment.query.as_deref())
    }

    /// Narrowed by a search query (blank: no search). With a query already, a segment's, both
    /// must match: they join as one query "theirs ours", as typing on after a segment's query
    /// does in the TUI (nucleo requires every whitespace-separated term).
    pub fn query(mut self, query: Option<&str>) -> Selection {
        if let Some(q) = query.map(str::trim).filter(|q| !q.is_empty()) {
            self.query = Some(match self.query.take() {
                Some(prev) => format!("{prev} {q}"),
                None => q.to_string(),
            });
        }
        self
    }

    /// The search that ranks the selection, if any.
    pub fn search(&self) -> Option<&str> {
        self.query.as_deref()
    }

    /// Every selected lead, in id order, one at a time, in one pass: for counts and unranked
    /// reads. The query is matched lead by lead, with the index's pattern, so the set is the
    /// ranking's.
    pub fn visit(&self, store: &Store, workspace: &str, mut f: impl FnMut(Lead)) -> Result<(), StoreError> {
        if self.empty {
            return Ok(());
        }
        let mut query = self.query.as_deref().map(QueryMatcher::new);
        store.scan_all_of(workspace, &self.filters, |l| {
            if query.as_mut().is_none_or(|q| q.matches(&l)) {
                f(l)
            }
        })
    }

    /// The selected leads' ids, best match first, or in id order without a query. One pass over
    /// the store that keeps only search entries, not leads: read them back with `Store::visit_ids`.
    pub fn ranked_ids(&self, store: &Store, workspace: &str) -> Result<Vec<u64>, StoreError> {
        let mut ids = Vec::new();
        let Some(query) = self.query.as_deref() else {
            self.visit(store, workspace, |l| ids.push(l.id))?;
            return Ok(ids);
        };
        let entries =
            if self.empty { Vec::new() } else { store.par_scan_all_of(workspace, &self.filters, |l| Entry::of(&l))? };
        let index = SearchIndex::from_entries(entries);
        Ok(index.ranked(query, &|_| true).into_iter().map(|h| h.id).collect())
    }

    /// The leads a listing shows: by `sort` when given, else ranked (id order without a query);
    /// at most `limit`. Ranked, only the leads shown are read whole.
    pub fn list(
        &self,
        store: &Store,
        workspace: &str,
        sort: Option<SortKey>,
        limit: Option<usize>,
    ) -> Result<Vec<Lead>, StoreError> {
        let mut out = Vec::new();
        match (sort, self.query.is_some()) {
            (None, true) => {
                let mut ids = self.ranked_ids(store, workspace)?;
                ids.truncate(limit.unwrap_or(usize::MAX));
                store.visit_ids(workspace, &ids, |l| out.push(l))?;
            }
            (sort, _) => {
                self.visit(store, workspace, |l| out.push(l))?;
                sort.unwrap_or_default().sort(&mut out);
                out.truncate(limit.unwrap_or(usize::MAX));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LeadInput, Source, Status};
    use crate::store::{Outcome, WriteCtx, WriteOp};

    const WS: &str = "u:t";

    fn add(store: &Store, first: &str, status: &str, groups: &[&str], tag: &str) -> u64 {
        let input = LeadInput {
            first_name: Some(first.into()),
            username: Some(format!("user_{}", store.count(WS).unwrap_or(0) + 100)),
            status: Some(status.into()),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            tags: vec![tag.into()],
            ..Default::default()
        };
        let op = WriteOp::Upsert(input.validate(Source::Manual, None).unwrap());
        let ctx = WriteCtx { workspace: WS.into(), actor: "t".into() };
        match store.write_one(ctx, op).unwrap() {
            Outcome::Created { id } => id,
            other => panic!("{other:?}"),
        }
    }

    fn ids(leads: Vec<Lead>) -> Vec<u64> {
        leads.into_iter().map(|l| l.id).collect()
    }

    #[test]
    fn filters_and_segments_intersect_and_archived_leads_stay_out() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_dir(dir.path()).unwrap();
        let both = add(&store, "Anna", "active", &["Rust", "Go"], "vip");
        let rust = add(&store, "Hanna", "active", &["Rust"], "vip");
        let _archived = add(&store, "Joanna", "archived", &["Go"], "vip");
        let _cold = add(&store, "Boris", "active", &["Go"], "cold");
        let go = Filter { group: vec!["Go".into()], ..Filter::default() };
        let rust_seg = Segment {
            name: "rust".into(),
            filter: Filter { group: vec!["Rust".into()], ..Filter::default() },
            query: Some("nna".into()),
        };
        // A lead in both groups passes "Go" and "Rust" though the lists share nothing.
        let sel = Selection::new(go.clone()).segment(&rust_seg);
        assert_eq!(ids(sel.list(&store, WS, None, None).unwrap()), [both]);
        let seg = Selection::new(Filter::default()).segment(&rust_seg);
        assert_eq!(ids(seg.list(&store, WS, Some(SortKey::default()), None).unwrap()), [both, rust]);
        // Asking the segment for archived leads gets none, nor does an archived-only segment.
        let archived = Filter { status: vec![Status::Archived], ..Filter::default() };
        let sel = Selection::new(archived.clone()).segment(&Segment { query: None, ..rust_seg.clone() });
        assert!(sel.ranked_ids(&store, WS).unwrap().is_empty());
        let only_archived = Segment { name: "a".into(), filter: archived, query: Some("a".into()) };
        let sel = Selection::new(Filter::default()).segment(&only_archived);
        assert!(sel.ranked_ids(&store, WS).unwrap().is_empty());
        assert!(sel.list(&store, WS, Some(SortKey::default()), None).unwrap().is_empty());
        // The segment's query and the caller's both apply.
        let sel = Selection::new(Filter::default()).segment(&rust_seg).query(Some(" hann "));
        assert_eq!(sel.search(), Some("nna hann"));
        assert_eq!(sel.ranked_ids(&store, WS).unwrap(), [rust]);
        assert_eq!(Selection::new(go).query(Some("  ")).search(), None);
    }

    #[test]
    fn a_ranking_holds_the_same_leads_as_a_visit_and_a_sort_overrides_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_dir(dir.path()).unwrap();
        for (i, name) in ["Ann", "Anna", "Joanna", "Hanna", "Boris", "Zoë", "Аня", "Annabel"].iter().cycle().enumerate()
        {
            if i == 40 {
                break;
            }
            add(&store, name, if i % 7 == 0 { "blocked" } else { "active" }, &[], "t");
        }
        let all = Selection::new(Filter::default());
        for q in ["ann", "an", "zoe", "аня", "ann !jo", "^ann", "bel$", "zzz"] {
            let sel = all.clone().query(Some(q));
            let ranked = sel.ranked_ids(&store, WS).unwrap();
            let mut visited = Vec::new();
            sel.visit(&store, WS, |l| visited.push(l.id)).unwrap();
            let mut sorted = ranked.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, visited, "{q}");
            assert_eq!(ids(sel.list(&store, WS, None, Some(5)).unwrap()), ranked[..ranked.len().min(5)], "{q}");
            assert_eq!(ids(sel.list(&store, WS, Some(SortKey::default()), None).unwrap()), visited, "{q}");
        }
        let ranked = all.clone().query(Some("ann")).ranked_ids(&store, WS).unwrap();
        assert!(
            ranked.len() > 10
                && ranked != {
                    let mut s = ranked.clone();
                    s.sort_unstable();
                    s
                }
        );
        assert_eq!(all.ranked_ids(&store, WS).unwrap(), (1..=40).collect::<Vec<u64>>(), "no query: id order");
    }
}
