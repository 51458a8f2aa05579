//! Segments: saved filters with an optional search query. Following the status rules, archived
//! leads never match a segment, whatever its filter says.

use serde::{Deserialize, Serialize};

use super::{Lead, Status};
use crate::search::QueryMatcher;
use crate::store::Filter;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    pub name: String,
    pub filter: Filter,
    pub query: Option<String>,
}

impl Segment {
    /// The segment's filter as applied: archived leads are taken out.
    pub fn effective_filter(&self) -> Filter {
        let mut f = self.filter.clone();
        f.status = if f.status.is_empty() {
            vec![Status::Active, Status::Blocked]
        } else {
            f.status.into_iter().filter(|s| *s != Status::Archived).collect()
        };
        f
    }

    /// The filter its members pass, or None when no lead can be one (it asked only for archived
    /// leads, and `effective_filter`'s empty status list would read as "any status").
    pub fn live_filter(&self) -> Option<Filter> {
        Some(self.effective_filter()).filter(|f| !f.status.is_empty())
    }

    /// A matcher for many leads: the query is parsed once.
    pub fn matcher(&self) -> SegmentMatcher {
        let filter = self.live_filter();
        let query = self.query.as_deref().filter(|q| !q.trim().is_empty()).map(QueryMatcher::new);
        SegmentMatcher { filter, query }
    }
}

pub struct SegmentMatcher {
    /// None: the segment matches nothing.
    filter: Option<Filter>,
    query: Option<QueryMatcher>,
}

impl SegmentMatcher {
    pub fn matches(&mut self, lead: &Lead) -> bool {
        self.filter.as_ref().is_some_and(|f| f.matches(lead)) && self.query.as_mut().is_none_or(|q| q.matches(lead))
    }
}

/// Segment names are what people call them; keep them printable and short.
pub fn validate_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 40 || name.chars().any(char::is_control) {
        return Err(format!("segment name {name:?}: use 1-40 printable characters"));
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LeadInput, Source};
    use crate::store::merge::{create, Withheld};

    fn lead(id: u64, name: &str, status: &str, tag: &str) -> Lead {
        let c = LeadInput {
            first_name: Some(name.into()),
            username: Some(format!("user_{id}x")),
            status: Some(status.into()),
            tags: vec![tag.into()],
            ..Default::default()
        }
        .validate(Source::Manual, None)
        .unwrap();
        create(id, "u:t", "t", 0, c, Withheld::default()).0
    }

    #[test]
    fn archived_leads_never_match_and_the_query_narrows() {
        let leads =
            [lead(1, "Anna", "active", "vip"), lead(2, "Boris", "blocked", "vip"), lead(3, "Anna", "archived", "vip")];
        let count = |seg: &Segment| {
            let mut m = seg.matcher();
            leads.iter().filter(|l| m.matches(l)).count()
        };
        let vip = Filter { tags: vec!["vip".into()], ..Filter::default() };
        let all_vip = Segment { name: "vip".into(), filter: vip.clone(), query: None };
        assert_eq!(count(&all_vip), 2);
        let annas = Segment { name: "annas".into(), filter: vip.clone(), query: Some("anna".into()) };
        assert_eq!(count(&annas), 1);
        let archived_only = Filter { status: vec![Status::Archived], ..vip };
        let archived = Segment { name: "x".into(), filter: archived_only, query: None };
        assert_eq!(count(&archived), 0);
        assert_eq!(archived.live_filter(), None);
        assert!(validate_name("  Hot leads ").is_ok_and(|n| n == "Hot leads"));
        assert!(validate_name("").is_err());
    }
}
