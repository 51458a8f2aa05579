//! Read paths. Each call takes one short read transaction and copies data out, so a long listing
//! never pins old pages and the file does not grow.

use std::collections::BTreeMap;
use std::str::FromStr;

use rayon::prelude::*;
use redb::ReadableDatabase;
use serde::Serialize;

use super::schema::*;
use super::{decode, AtPath, Store, StoreError};
use crate::model::{Facet, Lead, Priority, Source, Status};
use crate::normalize;

/// How a user names a lead on the command line: `42`, `#42`, `@name`, `t.me/name`, `+79161234567`, `uid:123`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeadRef {
    Id(u64),
    UserId(u64),
    Username(String),
    Phone(String),
}

impl LeadRef {
    pub fn parse(raw: &str, default_region: Option<&str>) -> Result<LeadRef, String> {
        let t = raw.trim();
        if let Some(rest) = t.strip_prefix("uid:") {
            return rest
                .trim()
                .parse()
                .map(LeadRef::UserId)
                .map_err(|_| format!("{raw:?}: expected uid:<telegram user id>"));
        }
        let digits = t.strip_prefix('#').unwrap_or(t);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && !t.starts_with("00") {
            return digits.parse().map(LeadRef::Id).map_err(|_| format!("{raw:?}: lead id out of range"));
        }
        if t.starts_with('+') || t.starts_with("00") || t.starts_with('(') {
            let phone = normalize::normalize_phone(t, default_region);
            return phone
                .e164
                .map(LeadRef::Phone)
                .ok_or_else(|| format!("{raw:?} is not a phone number reach can parse"));
        }
        normalize::normalize_username(t)
            .map(LeadRef::Username)
            .map_err(|_| format!("{raw:?}: expected a lead id, @username, +phone or uid:<telegram user id>"))
    }
}

/// Facet filters: values within one facet are alternatives (OR); facets combine with AND.
/// Tags are the exception: every listed tag must be present.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Filter {
    pub status: Vec<Status>,
    pub priority: Vec<Priority>,
    pub source: Vec<Source>,
    pub tags: Vec<String>,
    pub group: Vec<String>,
    pub country: Vec<String>,
    pub language: Vec<String>,
    /// Only leads this user created (the "own" view).
    pub created_by: Option<String>,
    /// Every listed flag must hold (unread, do-not-contact, can't-message).
    pub flags: Vec<crate::model::Flag>,
}

impl Filter {
    pub fn matches(&self, l: &Lead) -> bool {
        fn any<T: PartialEq>(wanted: &[T], v: &T) -> bool {
            wanted.is_empty() || wanted.contains(v)
        }
        let opt =
            |wanted: &[String], v: &Option<String>| wanted.is_empty() || v.as_ref().is_some_and(|v| wanted.contains(v));
        any(&self.status, &l.status)
            && any(&self.priority, &l.priority)
            && any(&self.source, &l.source)
            && self.tags.iter().all(|t| l.tags.contains(t))
            && (self.group.is_empty() || self.group.iter().any(|g| l.groups.contains(g)))
            && opt(&self.country, &l.country)
            && opt(&self.language, &l.language)
            && self.created_by.as_ref().is_none_or(|u| &l.created_by == u)
            && self.flags.iter().all(|f| l.has_flag(*f))
    }

    /// Facet-index keys for a lookup instead of a scan, when the filter names a tag or a group.
    pub(super) fn index_keys(&self) -> Option<Vec<String>> {
        if let Some(t) = self.tags.first() {
            return Some(vec![Facet::Tag(t.clone()).encode()]);
        }
        Some(self.group.iter().map(|g| Facet::Group(g.clone()).encode()).collect::<Vec<_>>()).filter(|g| !g.is_empty())
    }
}

impl Filter {
    /// Whether the filter asks for this facet value.
    pub fn has(&self, facet: &Facet) -> bool {
        match facet {
            Facet::Segment(_) => false,
            Facet::Flag(f) => self.flags.contains(f),
            Facet::Status(s) => self.status.contains(s),
            Facet::Priority(p) => self.priority.contains(p),
            Facet::Source(s) => self.source.contains(s),
            Facet::Country(v) => self.country.contains(v),
            Facet::Language(v) => self.language.contains(v),
            Facet::Tag(v) => self.tags.contains(v),
            Facet::Group(v) => self.group.contains(v),
        }
    }

    /// Asks for the value if it did not, else stops asking for it.
    pub fn toggle(&mut self, facet: &Facet) {
        fn flip<T: PartialEq + Clone>(v: &mut Vec<T>, x: &T) {
            match v.iter().position(|y| y == x) {
                Some(i) => {
                    v.remove(i);
                }
                None => v.push(x.clone()),
            }
        }
        match facet {
            Facet::Segment(_) => {}
            Facet::Flag(f) => flip(&mut self.flags, f),
            Facet::Status(s) => flip(&mut self.status, s),
            Facet::Priority(p) => flip(&mut self.priority, p),
            Facet::Source(s) => flip(&mut self.source, s),
            Facet::Country(v) => flip(&mut self.country, v),
            Facet::Language(v) => flip(&mut self.language, v),
            Facet::Tag(v) => flip(&mut self.tags, v),
            Facet::Group(v) => flip(&mut self.group, v),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    Id,
    Name,
    Username,
    Phone,
    Status,
    Priority,
    Source,
    Group,
    Country,
    Created,
    Updated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    pub field: SortField,
    pub descending: bool,
}

impl Default for SortKey {
    fn default() -> Self {
        SortKey { field: SortField::Id, descending: false }
    }
}

impl FromStr for SortKey {
    type Err = String;
    /// `updated` ascending, `-updated` descending.
    fn from_str(s: &str) -> Result<Self, String> {
        let (descending, name) = match s.trim().strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s.trim()),
        };
        let field = match name {
            "id" => SortField::Id,
            "name" => SortField::Name,
            "username" => SortField::Username,
            "phone" => SortField::Phone,
            "status" => SortField::Status,
            "priority" => SortField::Priority,
            "source" => SortField::Source,
            "group" => SortField::Group,
            "country" => SortField::Country,
            "created" => SortField::Created,
            "updated" => SortField::Updated,
            _ => {
                return Err(format!(
                    "unknown sort key {name:?}; expected id, name, username, phone, status, priority, source, group, country, created or updated (prefix - for descending)"
                ))
            }
        };
        Ok(SortKey { field, descending })
    }
}

impl SortKey {
    pub fn sort(&self, leads: &mut [Lead]) {
        let lower = |s: &Option<String>| s.as_deref().map(str::to_lowercase);
        match self.field {
            SortField::Id => leads.sort_by_key(|l| l.id),
            SortField::Name => leads.sort_by_cached_key(|l| (l.display_name().to_lowercase(), l.id)),
            SortField::Username => leads.sort_by_cached_key(|l| (lower(&l.username), l.id)),
            SortField::Phone => leads.sort_by_cached_key(|l| (l.phone.as_ref().map(|p| p.display().to_string()), l.id)),
            SortField::Status => leads.sort_by_key(|l| (l.status, l.id)),
            SortField::Priority => leads.sort_by_key(|l| (l.priority, l.id)),
            SortField::Source => leads.sort_by_key(|l| (l.source, l.id)),
            SortField::Group => leads.sort_by_cached_key(|l| (lower(&l.group_name), l.id)),
            SortField::Country => leads.sort_by_cached_key(|l| (l.country.clone(), l.id)),
            SortField::Created => leads.sort_by_key(|l| (l.created_at, l.id)),
            SortField::Updated => leads.sort_by_key(|l| (l.updated_at, l.id)),
        }
        if self.descending {
            leads.reverse();
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Stats {
    pub total: u64,
    pub by_status: BTreeMap<String, u64>,
    /// The breakdowns below count active leads only: blocked and archived ones do not count in statistics.
    pub active: u64,
    pub by_priority: BTreeMap<String, u64>,
    pub by_source: BTreeMap<String, u64>,
    pub by_country: BTreeMap<String, u64>,
    /// Blocked leads as a share of all leads, 0..1.
    pub blocked_rate: f64,
    /// Messages our accounts sent to these leads, and received from them.
    pub messages_sent: u64,
    pub messages_received: u64,
    /// Leads we wrote to, and how many of them wrote back.
    pub leads_messaged: u64,
    pub leads_replied: u64,
    /// `leads_replied` over `leads_messaged`, 0..1.
    pub reply_rate: f64,
}

impl Store {
    pub fn resolve(&self, workspace: &str, r: &LeadRef) -> Result<Option<Lead>, StoreError> {
        let p = self.path.as_path();
        let id = {
            let txn = self.db.begin_read().at(p)?;
            match r {
                LeadRef::Id(id) => Some(*id),
                LeadRef::UserId(uid) => {
                    txn.open_table(BY_USER_ID).at(p)?.get(id_key(workspace, *uid).as_slice()).at(p)?.map(|v| v.value())
                }
                LeadRef::Username(u) => txn
                    .open_table(BY_USERNAME)
                    .at(p)?
                    .get(key(workspace, u.to_ascii_lowercase().as_bytes()).as_slice())
                    .at(p)?
                    .map(|v| v.value()),
                LeadRef::Phone(e164) => txn
                    .open_table(BY_PHONE)
                    .at(p)?
                    .get(key(workspace, e164.as_bytes()).as_slice())
                    .at(p)?
                    .map(|v| v.value()),
            }
        };
        match id {
            Some(id) => self.get(workspace, id),
            None => Ok(None),
        }
    }

    /// The segments saved in a workspace, by name.
    pub fn segments(&self, workspace: &str) -> Result<Vec<crate::model::Segment>, StoreError> {
        Ok(self.records(super::RecordKind::Segment, workspace)?.into_iter().map(|(_, s)| s).collect())
    }

    /// How many leads (within `base`, the reader's view) match each segment, in one scan.
    pub fn count_segments(
        &self,
        workspace: &str,
        base: &Filter,
        segments: &[crate::model::Segment],
    ) -> Result<Vec<u64>, StoreError> {
        if segments.is_empty() {
            return Ok(Vec::new());
        }
        let mut matchers: Vec<_> = segments.iter().map(|s| s.matcher()).collect();
        let mut counts = vec![0u64; segments.len()];
        self.scan(workspace, base, |lead| {
            for (m, n) in matchers.iter_mut().zip(counts.iter_mut()) {
                *n += m.matches(&lead) as u64;
            }
        })?;
        Ok(counts)
    }

    /// Calls `f` for every lead of the workspace that passes `filter`, using the facet index when it can.
    pub fn scan(&self, workspace: &str, filter: &Filter, mut f: impl FnMut(Lead)) -> Result<(), StoreError> {
        let p = self.path.as_path();
        let txn = self.db.begin_read().at(p)?;
        let leads = txn.open_table(LEADS).at(p)?;
        if let Some(keys) = filter.index_keys() {
            let facets = txn.open_table(FACETS).at(p)?;
            let mut ids = Vec::new();
            for k in &keys {
                super::facets::ids(&facets, &super::facets::prefix(workspace, k), p, &mut ids)?;
            }
            ids.sort_unstable();
            ids.dedup();
            for id in ids {
                if let Some(v) = leads.get(id_key(workspace, id).as_slice()).at(p)? {
                    let lead: Lead = decode(v.value(), p)?;
                    if filter.matches(&lead) {
                        f(lead);
                    }
                }
            }
        } else {
            let (lo, hi) = ws_range(workspace);
            for row in leads.range(lo.as_slice()..hi.as_slice()).at(p)? {
                let (_, v) = row.at(p)?;
                let lead: Lead = decode(v.value(), p)?;
                if filter.matches(&lead) {
                    f(lead);
                }
            }
        }
        Ok(())
    }

    /// Calls `f` for every lead passing all of `filters` (none: every lead). Filters are not merged
    /// into one: two "any of these groups" lists do not intersect as lists, since a lead has many
    /// groups. One that can use the facet index drives the scan; the others are checked per lead.
    pub fn scan_all_of(&self, workspace: &str, filters: &[Filter], mut f: impl FnMut(Lead)) -> Result<(), StoreError> {
        if filters.is_empty() {
            return self.scan(workspace, &Filter::default(), f);
        }
        let lead = filters.iter().position(|x| x.index_keys().is_some()).unwrap_or(0);
        self.scan(workspace, &filters[lead], |l| {
            if filters.iter().enumerate().all(|(i, x)| i == lead || x.matches(&l)) {
                f(l)
            }
        })
    }

    /// `f` of every lead passing all of `filters`, in id order, as `scan_all_of` sees them, but
    /// decoded, checked and mapped on every core a batch of rows at a time: for passes over a whole
    /// workspace such as building a search index, where decoding is most of the work.
    pub fn par_scan_all_of<T: Send>(
        &self,
        workspace: &str,
        filters: &[Filter],
        f: impl Fn(Lead) -> T + Sync,
    ) -> Result<Vec<T>, StoreError> {
        // A facet lookup reads its few rows one by one: there are no batches to share out.
        if filters.iter().any(|x| x.index_keys().is_some()) {
            let mut out = Vec::new();
            self.scan_all_of(workspace, filters, |l| out.push(f(l)))?;
            return Ok(out);
        }
        const BATCH: usize = 16 * 1024;
        let p = self.path.as_path();
        let txn = self.db.begin_read().at(p)?;
        let leads = txn.open_table(LEADS).at(p)?;
        let (lo, hi) = ws_range(workspace);
        let (mut out, mut batch) = (Vec::new(), Vec::with_capacity(BATCH));
        // Rows are copied out and freed on this thread; leads live and die on the thread that
        // decodes them, so no allocation crosses threads (glibc's arenas make that slow).
        let flush = |batch: &mut Vec<Vec<u8>>, out: &mut Vec<T>| -> Result<(), StoreError> {
            let mapped: Vec<Option<T>> = batch
                .par_iter()
                .map(|bytes| {
                    let lead: Lead = decode(bytes, p)?;
                    Ok(filters.iter().all(|x| x.matches(&lead)).then(|| f(lead)))
                })
                .collect::<Result<_, StoreError>>()?;
            out.extend(mapped.into_iter().flatten());
            batch.clear();
            Ok(())
        };
        for row in leads.range(lo.as_slice()..hi.as_slice()).at(p)? {
            let (_, v) = row.at(p)?;
            batch.push(v.value().to_vec());
            if batch.len() == BATCH {
                flush(&mut batch, &mut out)?;
            }
        }
        flush(&mut batch, &mut out)?;
        Ok(out)
    }

    pub fn list(
        &self,
        workspace: &str,
        filter: &Filter,
        sort: SortKey,
        limit: Option<usize>,
    ) -> Result<Vec<Lead>, StoreError> {
        let mut out = Vec::new();
        self.scan(workspace, filter, |l| out.push(l))?;
        sort.sort(&mut out);
        if let Some(n) = limit {
            out.truncate(n);
        }
        Ok(out)
    }

    /// Leads in the whole store, every workspace's: an upper bound for one workspace, read in O(1).
    pub fn total_leads(&self) -> Result<u64, StoreError> {
        use redb::ReadableTableMetadata;
        let p = self.path.as_path();
        let txn = self.db.begin_read().at(p)?;
        let leads = txn.open_table(LEADS).at(p)?;
        leads.len().at(p)
    }

    pub fn count(&self, workspace: &str) -> Result<u64, StoreError> {
        let p = self.path.as_path();
        let txn = self.db.begin_read().at(p)?;
        let leads = txn.open_table(LEADS).at(p)?;
        let mut n = 0;
        let (lo, hi) = ws_range(workspace);
        for row in leads.range(lo.as_slice()..hi.as_slice()).at(p)? {
            row.at(p)?;
            n += 1;
        }
        Ok(n)
    }

    /// Lead counts per facet value of the leads passing `filter`.
    pub fn facet_counts(&self, workspace: &str, filter: &Filter) -> Result<BTreeMap<Facet, u64>, StoreError> {
        let mut out = BTreeMap::new();
        self.scan(workspace, filter, |l| {
            for f in l.all_facets() {
                *out.entry(f).or_default() += 1;
            }
        })?;
        Ok(out)
    }

    pub fn stats(&self, workspace: &str, filter: &Filter) -> Result<Stats, StoreError> {
        let mut s = Stats::start();
        self.scan(workspace, filter, |l| s.add(&l))?;
        Ok(s.finish())
    }
}

impl Stats {
    /// Empty counts, every status listed: `add` each lead, then `finish`.
    pub fn start() -> Stats {
        let mut s = Stats::default();
        for st in Status::ALL {
            s.by_status.insert(st.to_string(), 0);
        }
        s
    }

    pub fn add(&mut self, l: &Lead) {
        self.total += 1;
        let c = &l.conversation;
        self.messages_sent += u64::from(c.sent);
        self.messages_received += u64::from(c.received);
        self.leads_messaged += u64::from(c.sent > 0);
        self.leads_replied += u64::from(c.replied);
        *self.by_status.entry(l.status.to_string()).or_default() += 1;
        if l.status == Status::Active {
            self.active += 1;
            *self.by_priority.entry(l.priority.to_string()).or_default() += 1;
            *self.by_source.entry(l.source.to_string()).or_default() += 1;
            *self.by_country.entry(l.country.clone().unwrap_or_else(|| "unknown".into())).or_default() += 1;
        }
    }

    pub fn finish(mut self) -> Stats {
        let blocked = self.by_status.get("blocked").copied().unwrap_or(0);
        self.blocked_rate = if self.total == 0 { 0.0 } else { blocked as f64 / self.total as f64 };
        self.reply_rate =
            if self.leads_messaged == 0 { 0.0 } else { self.leads_replied as f64 / self.leads_messaged as f64 };
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lead_refs() {
        assert_eq!(LeadRef::parse("42", None).unwrap(), LeadRef::Id(42));
        assert_eq!(LeadRef::parse("#42", None).unwrap(), LeadRef::Id(42));
        assert_eq!(LeadRef::parse("@Alice_K", None).unwrap(), LeadRef::Username("Alice_K".into()));
        assert_eq!(LeadRef::parse("t.me/alice_k", None).unwrap(), LeadRef::Username("alice_k".into()));
        assert_eq!(LeadRef::parse("+7 916 123-45-67", None).unwrap(), LeadRef::Phone("+79161234567".into()));
        assert_eq!(LeadRef::parse("uid:777", None).unwrap(), LeadRef::UserId(777));
        assert!(LeadRef::parse("@ab", None).is_err());
    }

    #[test]
    fn sort_keys() {
        assert_eq!("-updated".parse::<SortKey>().unwrap(), SortKey { field: SortField::Updated, descending: true });
        assert!("colour".parse::<SortKey>().is_err());
    }
}
