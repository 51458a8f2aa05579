//! Facets: the values a lead is counted and filtered under (its status, a tag, a group, …). Typed
//! everywhere; `encode`/`decode` are the one place that knows their text form (`s:active`,
//! `t:vip`), which is also the key of the store's facet index.

use std::cmp::Ordering;
use std::fmt;

use super::{Flag, Lead, Priority, Source, Status};

/// The kinds of facet, in the order the filter pane lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FacetKind {
    Segment,
    Flag,
    Status,
    Priority,
    Source,
    Country,
    Language,
    Tag,
    Group,
}

impl FacetKind {
    /// Every kind a lead has values of (segments are saved filters, not values of a lead).
    pub const OF_LEADS: [FacetKind; 8] = [
        FacetKind::Flag,
        FacetKind::Status,
        FacetKind::Priority,
        FacetKind::Source,
        FacetKind::Country,
        FacetKind::Language,
        FacetKind::Tag,
        FacetKind::Group,
    ];

    fn prefix(self) -> &'static str {
        match self {
            FacetKind::Segment => "S:",
            FacetKind::Flag => "f:",
            FacetKind::Status => "s:",
            FacetKind::Priority => "p:",
            FacetKind::Source => "o:",
            FacetKind::Country => "c:",
            FacetKind::Language => "l:",
            FacetKind::Tag => "t:",
            FacetKind::Group => "g:",
        }
    }

    /// The heading the filter pane shows above this kind's values.
    pub fn heading(self) -> &'static str {
        match self {
            FacetKind::Segment => "SEGMENTS (archived never match)",
            FacetKind::Flag => "INBOX",
            FacetKind::Status => "STATUS",
            FacetKind::Priority => "PRIORITY",
            FacetKind::Source => "SOURCE",
            FacetKind::Country => "COUNTRY",
            FacetKind::Language => "LANGUAGE",
            FacetKind::Tag => "TAGS",
            FacetKind::Group => "GROUPS",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Facet {
    /// A saved segment, by name.
    Segment(String),
    Flag(Flag),
    Status(Status),
    Priority(Priority),
    Source(Source),
    Country(String),
    Language(String),
    Tag(String),
    Group(String),
}

impl Facet {
    pub fn kind(&self) -> FacetKind {
        match self {
            Facet::Segment(_) => FacetKind::Segment,
            Facet::Flag(_) => FacetKind::Flag,
            Facet::Status(_) => FacetKind::Status,
            Facet::Priority(_) => FacetKind::Priority,
            Facet::Source(_) => FacetKind::Source,
            Facet::Country(_) => FacetKind::Country,
            Facet::Language(_) => FacetKind::Language,
            Facet::Tag(_) => FacetKind::Tag,
            Facet::Group(_) => FacetKind::Group,
        }
    }

    /// The value as the user reads it: `active`, `vip`, `RU`.
    pub fn value(&self) -> &str {
        match self {
            Facet::Flag(f) => f.as_str(),
            Facet::Status(s) => s.as_str(),
            Facet::Priority(p) => p.as_str(),
            Facet::Source(s) => s.as_str(),
            Facet::Segment(v) | Facet::Country(v) | Facet::Language(v) | Facet::Tag(v) | Facet::Group(v) => v,
        }
    }

    /// The text form, as the store's facet index keys it: `s:active`, `t:vip`.
    pub fn encode(&self) -> String {
        format!("{}{}", self.kind().prefix(), self.value())
    }

    /// Reads `encode`'s form back; None for anything else.
    pub fn decode(text: &str) -> Option<Facet> {
        let (prefix, value) = (text.get(..2)?, text.get(2..)?);
        let kind = [FacetKind::Segment].into_iter().chain(FacetKind::OF_LEADS).find(|k| k.prefix() == prefix)?;
        Facet::of(kind, value)
    }

    /// A facet of `kind` with the value `value`; None when the value is not one of the kind's.
    pub fn of(kind: FacetKind, value: &str) -> Option<Facet> {
        let v = value.to_string();
        Some(match kind {
            FacetKind::Segment => Facet::Segment(v),
            FacetKind::Flag => Facet::Flag(value.parse().ok()?),
            FacetKind::Status => Facet::Status(value.parse().ok()?),
            FacetKind::Priority => Facet::Priority(value.parse().ok()?),
            FacetKind::Source => Facet::Source(value.parse().ok()?),
            FacetKind::Country => Facet::Country(v),
            FacetKind::Language => Facet::Language(v),
            FacetKind::Tag => Facet::Tag(v),
            FacetKind::Group => Facet::Group(v),
        })
    }
}

/// By kind, then by the value's text, so equal counts list alphabetically.
impl Ord for Facet {
    fn cmp(&self, other: &Self) -> Ordering {
        self.kind().cmp(&other.kind()).then_with(|| self.value().cmp(other.value()))
    }
}

impl PartialOrd for Facet {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Facet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

impl Lead {
    /// The facets the store's facet index keeps: the selective ones only (tags, groups). Status,
    /// priority, source, country and language each split leads into a few large sets, where a scan
    /// is as fast as an index and indexing them would cost every write several inserts.
    pub fn index_facets(&self) -> impl Iterator<Item = Facet> + '_ {
        self.tags.iter().map(|t| Facet::Tag(t.clone())).chain(self.groups.iter().map(|g| Facet::Group(g.clone())))
    }

    /// Every facet value of the lead, for counts.
    pub fn all_facets(&self) -> Vec<Facet> {
        let mut keys = vec![Facet::Status(self.status), Facet::Priority(self.priority), Facet::Source(self.source)];
        keys.extend(self.flags().map(Facet::Flag));
        keys.extend(self.country.iter().map(|c| Facet::Country(c.clone())));
        keys.extend(self.language.iter().map(|l| Facet::Language(l.clone())));
        keys.extend(self.index_facets());
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_facet_round_trips_through_its_text_form() {
        let all = [
            Facet::Segment("hot leads".into()),
            Facet::Flag(Flag::Unread),
            Facet::Status(Status::Blocked),
            Facet::Priority(Priority::High),
            Facet::Source(Source::FileUpload),
            Facet::Country("RU".into()),
            Facet::Language("en".into()),
            Facet::Tag("vip".into()),
            Facet::Group("Rust Moscow".into()),
        ];
        for f in all {
            assert_eq!(Facet::decode(&f.encode()), Some(f.clone()), "{f}");
        }
        assert_eq!(Facet::Status(Status::Active).encode(), "s:active", "the index's bytes stay what they were");
        assert_eq!(Facet::Tag("vip".into()).encode(), "t:vip");
        assert_eq!(Facet::decode("s:nonsense"), None);
        assert_eq!(Facet::decode("x:1"), None);
        assert_eq!(Facet::decode("s"), None);
        assert_eq!(Facet::decode("t:"), Some(Facet::Tag(String::new())));
    }

    #[test]
    fn facets_order_by_kind_then_text() {
        let mut v = vec![Facet::Tag("b".into()), Facet::Status(Status::Blocked), Facet::Status(Status::Archived)];
        v.sort();
        assert_eq!(v, vec![Facet::Status(Status::Archived), Facet::Status(Status::Blocked), Facet::Tag("b".into())]);
    }
}
