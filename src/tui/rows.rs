//! The leads as the list needs them, small enough to hold a million in memory: what the columns,
//! facets, filters and sorts read, with repeated strings (groups, tags, countries, languages,
//! authors) interned. The detail pane and the forms read the full lead from the store.

use std::collections::HashMap;
use std::sync::Arc;

use crate::chunks::{Keyed, Sorted};
use crate::model::{Facet, Flag, Lead, Priority, Source, Status};

/// A facet of a named value (a country, a tag, …), made from the name.
type Named = fn(String) -> Facet;
use crate::store::{Filter, SortField, SortKey};

/// An interned string; 0 is "none", which reads as "" (no string interns to it).
pub type Sym = u32;

/// The interned strings of one loaded workspace.
#[derive(Debug, Clone)]
pub struct Strings {
    all: Vec<Box<str>>,
    ids: HashMap<Box<str>, Sym>,
}

impl Default for Strings {
    fn default() -> Self {
        Strings { all: vec!["".into()], ids: HashMap::new() }
    }
}

impl Strings {
    /// A string's symbol; "" is a string like any other (`Some("")` is not `None`).
    pub fn intern(&mut self, s: &str) -> Sym {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.all.len() as Sym;
        self.all.push(s.into());
        self.ids.insert(s.into(), id);
        id
    }

    pub fn get(&self, s: &str) -> Option<Sym> {
        self.ids.get(s).copied()
    }

    pub fn str(&self, sym: Sym) -> &str {
        self.all.get(sym as usize).map_or("", |s| s)
    }
}

/// Where a row's strings get their symbols: a table of one's own, or one shared by every
/// version of a workspace's rows (copied only when a new string arrives while others read it).
pub trait Intern {
    fn intern(&mut self, s: &str) -> Sym;

    fn opt(&mut self, s: &Option<String>) -> Sym {
        s.as_deref().map_or(0, |s| self.intern(s))
    }
}

impl Intern for Strings {
    fn intern(&mut self, s: &str) -> Sym {
        Strings::intern(self, s)
    }
}

impl Intern for Arc<Strings> {
    fn intern(&mut self, s: &str) -> Sym {
        match self.get(s) {
            Some(sym) => sym,
            None => Arc::make_mut(self).intern(s),
        }
    }
}

/// Most tags (and most groups) a row keeps: the counts are u16.
const MAX_SET: usize = u16::MAX as usize;

/// Separates the text fields of a row (a control character: fields holding one show a space).
const SEP: char = '\u{1f}';

/// One lead in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub id: u64,
    pub updated_at: i64,
    pub created_at: i64,
    pub status: Status,
    pub priority: Priority,
    pub source: Source,
    pub group: Sym,
    pub country: Sym,
    pub language: Sym,
    pub created_by: Sym,
    /// When the lead's last message, in or out, was written; 0 when it has none.
    pub last_message_at: i64,
    /// Incoming messages nobody has opened yet.
    pub unread: u32,
    /// The lead's flags, one bit each (`Flag as u8`), so filters and counts need no full lead.
    flags: u8,
    /// One allocation for the variable part: the tag count and the group count (u16 each), the
    /// tags' and groups' symbols (u32 each), then the text: first name, last name, username, phone as
    /// displayed, Telegram id, joined by `SEP`. At a million rows a second allocation would cost 50 MB.
    data: Box<[u8]>,
}

impl Keyed for Row {
    fn key(&self) -> u64 {
        self.id
    }
}

impl Row {
    pub fn of(l: &Lead, strings: &mut impl Intern) -> Row {
        let tg = l.telegram_user_id.map(|u| u.to_string()).unwrap_or_default();
        let parts = [
            l.first_name.as_str(),
            &l.last_name,
            l.username.as_deref().unwrap_or_default(),
            l.phone.as_ref().map(|p| p.display()).unwrap_or_default(),
            &tg,
        ];
        let (tags, groups) = (l.tags.len().min(MAX_SET), l.groups.len().min(MAX_SET));
        let mut data = Vec::with_capacity(4 + 4 * (tags + groups) + parts.iter().map(|p| p.len() + 1).sum::<usize>());
        data.extend((tags as u16).to_le_bytes());
        data.extend((groups as u16).to_le_bytes());
        for s in l.tags.iter().take(tags).chain(l.groups.iter().take(groups)) {
            data.extend(strings.intern(s).to_le_bytes());
        }
        let mut text = String::new();
        for (i, part) in parts.iter().enumerate() {
            if i > 0 {
                text.push(SEP);
            }
            // A separator inside a field would shift the others; it shows as a space.
            text.extend(part.chars().map(|c| if c == SEP { ' ' } else { c }));
        }
        data.extend(text.as_bytes());
        Row {
            id: l.id,
            updated_at: l.updated_at,
            created_at: l.created_at,
            status: l.status,
            priority: l.priority,
            source: l.source,
            group: strings.opt(&l.group_name),
            country: strings.opt(&l.country),
            language: strings.opt(&l.language),
            created_by: strings.intern(&l.created_by),
            last_message_at: l.conversation.last_message_at.unwrap_or(0),
            unread: l.conversation.unread,
            flags: l.flags().fold(0, |bits, f| bits | 1 << f as u8),
            data: data.into_boxed_slice(),
        }
    }

    pub fn has_flag(&self, flag: Flag) -> bool {
        self.flags & (1 << flag as u8) != 0
    }

    pub fn flags(&self) -> impl Iterator<Item = Flag> + '_ {
        Flag::ALL.iter().copied().filter(|f| self.has_flag(*f))
    }

    fn counts(&self) -> (usize, usize) {
        let n = |i: usize| u16::from_le_bytes([self.data[i], self.data[i + 1]]) as usize;
        (n(0), n(2))
    }

    fn syms(&self, from: usize, len: usize) -> impl Iterator<Item = Sym> + '_ {
        self.data[4 + 4 * from..4 + 4 * (from + len)]
            .chunks_exact(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn part(&self, n: usize) -> &str {
        let (tags, groups) = self.counts();
        // Written from a String in `Row::of`, so always UTF-8.
        let text = std::str::from_utf8(&self.data[4 + 4 * (tags + groups)..]).unwrap_or_default();
        text.split(SEP).nth(n).unwrap_or_default()
    }

    pub fn first_name(&self) -> &str {
        self.part(0)
    }

    pub fn last_name(&self) -> &str {
        self.part(1)
    }

    /// Without the `@`; empty when the lead has none.
    pub fn username(&self) -> &str {
        self.part(2)
    }

    pub fn phone(&self) -> &str {
        self.part(3)
    }

    /// "First Last", else @username, else the phone, else the Telegram id, as `Lead::display_name`.
    pub fn display_name(&self) -> String {
        let full = format!("{} {}", self.first_name(), self.last_name()).trim().to_string();
        if !full.is_empty() {
            full
        } else if !self.username().is_empty() {
            format!("@{}", self.username())
        } else if !self.phone().is_empty() {
            self.phone().to_string()
        } else if !self.part(4).is_empty() {
            format!("id {}", self.part(4))
        } else {
            String::new()
        }
    }

    pub fn tags(&self) -> impl Iterator<Item = Sym> + '_ {
        let (tags, _) = self.counts();
        self.syms(0, tags)
    }

    pub fn groups(&self) -> impl Iterator<Item = Sym> + '_ {
        let (tags, groups) = self.counts();
        self.syms(tags, groups)
    }

    /// The facets the lead counts under, as `Lead::all_facets` names them.
    pub fn facets(&self, strings: &Strings) -> Vec<Facet> {
        let mut keys = vec![Facet::Status(self.status), Facet::Priority(self.priority), Facet::Source(self.source)];
        keys.extend(self.flags().map(Facet::Flag));
        let named: [(Named, Sym); 2] = [(Facet::Country, self.country), (Facet::Language, self.language)];
        for (facet, sym) in named {
            if sym != 0 {
                keys.push(facet(strings.str(sym).to_string()));
            }
        }
        keys.extend(self.tags().map(|t| Facet::Tag(strings.str(t).to_string())));
        keys.extend(self.groups().map(|g| Facet::Group(strings.str(g).to_string())));
        keys
    }
}

/// Which of a workspace's rows a view may show: all, or only those one user created (the "own"
/// view), resolved against one version's strings. Every view holds the whole workspace's rows
/// (shared with the other sessions); this is what keeps the others out of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InScope {
    All,
    /// Created by this symbol; None when that user created no lead yet (the name is not interned).
    CreatedBy(Option<Sym>),
}

impl InScope {
    /// For a scope's `created_by` (`Scope::created_by`).
    pub fn of(created_by: Option<&str>, strings: &Strings) -> InScope {
        match created_by {
            None => InScope::All,
            Some(user) => InScope::CreatedBy(strings.get(user)),
        }
    }

    pub fn admits(&self, r: &Row) -> bool {
        match self {
            InScope::All => true,
            InScope::CreatedBy(sym) => *sym == Some(r.created_by),
        }
    }
}

/// A `Filter` resolved against one workspace's strings, so matching a row compares numbers.
/// A wanted value no row holds resolves to `None`, which nothing matches.
pub struct RowFilter<'a> {
    filter: &'a Filter,
    tags: Vec<Option<Sym>>,
    groups: Vec<Option<Sym>>,
    countries: Vec<Option<Sym>>,
    languages: Vec<Option<Sym>>,
    created_by: Option<Option<Sym>>,
    scope: InScope,
    /// Nothing matches (a segment that asks only for archived leads, which never match one).
    none: bool,
}

impl<'a> RowFilter<'a> {
    /// `filter` within `scope` (`Scope::created_by`): a row outside the scope matches nothing.
    pub fn new(filter: &'a Filter, scope: Option<&str>, strings: &Strings) -> RowFilter<'a> {
        let syms = |v: &[String]| v.iter().map(|s| strings.get(s)).collect();
        RowFilter {
            filter,
            tags: syms(&filter.tags),
            groups: syms(&filter.group),
            countries: syms(&filter.country),
            languages: syms(&filter.language),
            created_by: filter.created_by.as_deref().map(|u| strings.get(u)),
            scope: InScope::of(scope, strings),
            none: false,
        }
    }

    /// The same filter, matching nothing when `none` holds.
    pub fn none_if(mut self, none: bool) -> RowFilter<'a> {
        self.none = none;
        self
    }

    /// Whether the view may show the row at all, whatever the filter says.
    pub fn in_scope(&self, r: &Row) -> bool {
        self.scope.admits(r)
    }

    /// The same test as `Filter::matches` on the full lead, within the scope.
    pub fn matches(&self, r: &Row) -> bool {
        fn any<T: PartialEq>(wanted: &[T], v: &T) -> bool {
            wanted.is_empty() || wanted.contains(v)
        }
        let one = |wanted: &[Option<Sym>], v: Sym| wanted.is_empty() || (v != 0 && wanted.contains(&Some(v)));
        let f = self.filter;
        !self.none
            && self.scope.admits(r)
            && any(&f.status, &r.status)
            && any(&f.priority, &r.priority)
            && any(&f.source, &r.source)
            && self.tags.iter().all(|t| t.is_some_and(|t| r.tags().any(|x| x == t)))
            && (self.groups.is_empty() || self.groups.iter().any(|g| g.is_some_and(|g| r.groups().any(|x| x == g))))
            && one(&self.countries, r.country)
            && one(&self.languages, r.language)
            && self.created_by.is_none_or(|u| u == Some(r.created_by))
            && f.flags.iter().all(|flag| r.has_flag(*flag))
    }
}

/// How the list is ordered: by a column, or as the inbox lists leads, newest message first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListOrder {
    By(SortKey),
    NewestMessage,
}

impl From<SortKey> for ListOrder {
    fn from(key: SortKey) -> ListOrder {
        ListOrder::By(key)
    }
}

/// Sorts row references by a column, as `SortKey::sort` sorts leads, or newest message first.
pub fn sort(rows: &mut [&Row], order: impl Into<ListOrder>, strings: &Strings) {
    let key = match order.into() {
        ListOrder::By(key) => key,
        ListOrder::NewestMessage => {
            rows.sort_by_key(|r| std::cmp::Reverse((r.last_message_at, r.id)));
            return;
        }
    };
    let lower = |s: &str| (!s.is_empty()).then(|| s.to_lowercase());
    let sym_lower = |s: Sym| (s != 0).then(|| strings.str(s).to_lowercase());
    match key.field {
        SortField::Id => rows.sort_by_key(|r| r.id),
        SortField::Name => rows.sort_by_cached_key(|r| (r.display_name().to_lowercase(), r.id)),
        SortField::Username => rows.sort_by_cached_key(|r| (lower(r.username()), r.id)),
        SortField::Phone => rows.sort_by_cached_key(|r| ((!r.phone().is_empty()).then(|| r.phone().to_string()), r.id)),
        SortField::Status => rows.sort_by_key(|r| (r.status, r.id)),
        SortField::Priority => rows.sort_by_key(|r| (r.priority, r.id)),
        SortField::Source => rows.sort_by_key(|r| (r.source, r.id)),
        SortField::Group => rows.sort_by_cached_key(|r| (sym_lower(r.group), r.id)),
        SortField::Country => {
            rows.sort_by_cached_key(|r| ((r.country != 0).then(|| strings.str(r.country).to_string()), r.id))
        }
        SortField::Created => rows.sort_by_key(|r| (r.created_at, r.id)),
        SortField::Updated => rows.sort_by_key(|r| (r.updated_at, r.id)),
    }
    if key.descending {
        rows.reverse();
    }
}

/// How `sort` orders two rows, for merging a few changed rows into a sorted list without sorting
/// it all again.
pub fn compare(a: &Row, b: &Row, order: impl Into<ListOrder>, strings: &Strings) -> std::cmp::Ordering {
    let key = match order.into() {
        ListOrder::By(key) => key,
        ListOrder::NewestMessage => return (b.last_message_at, b.id).cmp(&(a.last_message_at, a.id)),
    };
    if key.descending {
        return compare(b, a, SortKey { descending: false, ..key }, strings);
    }
    let lower = |s: &str| (!s.is_empty()).then(|| s.to_lowercase());
    let sym_lower = |s: Sym| (s != 0).then(|| strings.str(s).to_lowercase());
    let country = |r: &Row| (r.country != 0).then(|| strings.str(r.country));
    fn phone(r: &Row) -> Option<&str> {
        Some(r.phone()).filter(|p| !p.is_empty())
    }
    let by = match key.field {
        SortField::Id => std::cmp::Ordering::Equal,
        SortField::Name => a.display_name().to_lowercase().cmp(&b.display_name().to_lowercase()),
        SortField::Username => lower(a.username()).cmp(&lower(b.username())),
        SortField::Phone => phone(a).cmp(&phone(b)),
        SortField::Status => a.status.cmp(&b.status),
        SortField::Priority => a.priority.cmp(&b.priority),
        SortField::Source => a.source.cmp(&b.source),
        SortField::Group => sym_lower(a.group).cmp(&sym_lower(b.group)),
        SortField::Country => country(a).cmp(&country(b)),
        SortField::Created => a.created_at.cmp(&b.created_at),
        SortField::Updated => a.updated_at.cmp(&b.updated_at),
    };
    by.then(a.id.cmp(&b.id))
}

/// A workspace's leads, sorted by id: a binary search finds one, and new leads (the highest ids)
/// append. A clone shares every chunk and the strings; a change copies only what it touches.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    rows: Sorted<Row>,
    pub strings: Arc<Strings>,
}

impl Rows {
    /// From rows in any order.
    pub fn new(mut rows: Vec<Row>, strings: Strings) -> Rows {
        rows.sort_unstable_by_key(|r| r.id);
        rows.dedup_by_key(|r| r.id);
        Rows { rows: Sorted::from_sorted(rows), strings: Arc::new(strings) }
    }

    pub fn from_leads(leads: &[Lead]) -> Rows {
        let mut strings = Strings::default();
        let rows = leads.iter().map(|l| Row::of(l, &mut strings)).collect();
        Rows::new(rows, strings)
    }

    pub fn get(&self, id: u64) -> Option<&Row> {
        self.rows.get(id)
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Row> {
        self.rows.iter()
    }

    /// Inserts or replaces the lead's row; returns the row it replaced.
    pub fn upsert(&mut self, lead: &Lead) -> Option<Row> {
        let row = Row::of(lead, &mut self.strings);
        self.rows.upsert(row)
    }

    /// Removes these leads, however many; returns how many there were.
    pub fn remove(&mut self, ids: &[u64]) -> usize {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        self.rows.remove_sorted(&ids)
    }

    pub fn str(&self, sym: Sym) -> &str {
        self.strings.str(sym)
    }

    /// How many of the row chunks are the very ones `other` holds: what two versions share.
    pub fn shared_chunks(&self, other: &Rows) -> (usize, usize) {
        (self.rows.shared_chunks(&other.rows), self.rows.chunk_count())
    }

    /// The scope of a view whose `Scope::created_by` is `created_by`, over these rows.
    pub fn in_scope(&self, created_by: Option<&str>) -> InScope {
        InScope::of(created_by, &self.strings)
    }

    /// Lead counts per facet of the rows `keep` takes (a view's scope).
    pub fn facet_counts_of(&self, keep: InScope) -> std::collections::BTreeMap<Facet, u64> {
        self.count_facets(|r| keep.admits(r))
    }

    /// Lead counts per facet, counted by number and named once.
    pub fn facet_counts(&self) -> std::collections::BTreeMap<Facet, u64> {
        self.count_facets(|_| true)
    }

    fn count_facets(&self, keep: impl Fn(&Row) -> bool) -> std::collections::BTreeMap<Facet, u64> {
        let n = self.strings.all.len();
        let (mut country, mut language, mut tags, mut groups) =
            (vec![0u64; n], vec![0u64; n], vec![0u64; n], vec![0u64; n]);
        let mut status = vec![0u64; Status::ALL.len()];
        let mut priority = vec![0u64; Priority::ALL.len()];
        let mut source = vec![0u64; Source::ALL.len()];
        let mut flags = [0u64; Flag::ALL.len()];
        let at = |all: &[Source], s: Source| all.iter().position(|x| *x == s).unwrap_or(0);
        for r in self.rows.iter().filter(|r| keep(r)) {
            status[r.status as usize] += 1;
            priority[r.priority as usize] += 1;
            source[at(Source::ALL, r.source)] += 1;
            r.flags().for_each(|f| flags[f as usize] += 1);
            country[r.country as usize] += 1;
            language[r.language as usize] += 1;
            r.tags().for_each(|t| tags[t as usize] += 1);
            r.groups().for_each(|g| groups[g as usize] += 1);
        }
        let mut out = std::collections::BTreeMap::new();
        let mut put = |key: Facet, count: u64| {
            if count > 0 {
                out.insert(key, count);
            }
        };
        Status::ALL.iter().for_each(|s| put(Facet::Status(*s), status[*s as usize]));
        Priority::ALL.iter().for_each(|p| put(Facet::Priority(*p), priority[*p as usize]));
        Source::ALL.iter().enumerate().for_each(|(i, s)| put(Facet::Source(*s), source[i]));
        Flag::ALL.iter().for_each(|f| put(Facet::Flag(*f), flags[*f as usize]));
        for sym in 1..n {
            let name = self.strings.str(sym as Sym);
            let named: [(Named, u64); 4] = [
                (Facet::Country, country[sym]),
                (Facet::Language, language[sym]),
                (Facet::Tag, tags[sym]),
                (Facet::Group, groups[sym]),
            ];
            for (facet, count) in named {
                if count > 0 {
                    put(facet(name.to_string()), count);
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
