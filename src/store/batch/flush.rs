//! The end of a batch: what it changed, for the feed, and every table write, sorted by key.

use redb::{ReadableTable, WriteTransaction};

use super::{facet_diff, Batch, Writable};
use crate::store::schema::*;
use crate::store::{encode, facets, AtPath, StoreError};

impl<R> Batch<R> {
    /// What this batch changes, for the change feed: leads by workspace, records and organizations.
    pub(in crate::store) fn change(&self) -> crate::store::feed::Change {
        use crate::store::feed::LeadChange;
        let leads = self.touched.iter().filter_map(|(id, t)| {
            if !t.changed() {
                return None;
            }
            let kind = match (t.original(), &t.current) {
                (None, Some(_)) => LeadChange::Created,
                (Some(_), None) => LeadChange::Deleted,
                (Some(a), Some(b)) if a != b || !t.log.is_empty() => LeadChange::Updated,
                _ => return None,
            };
            Some((t.workspace.as_str(), *id, kind))
        });
        let mut change = crate::store::feed::Change::of_leads(leads);
        change.records = self
            .records
            .iter()
            .filter_map(|(k, _)| {
                let (&kind, rest) = k.split_first()?;
                let ws = rest.iter().position(|b| *b == 0)?;
                let name = String::from_utf8_lossy(&rest[ws + 1..]).into_owned();
                Some((kind, String::from_utf8_lossy(&rest[..ws]).into_owned(), name))
            })
            .collect();
        change.orgs = self.orgs.values().any(|(_, dirty)| *dirty) || !self.user_workspace.is_empty();
        let mut threads = self.threads.clone();
        threads.sort_unstable();
        threads.dedup();
        change.threads = threads;
        let mut outboxes = self.outboxes.clone();
        outboxes.sort_unstable();
        outboxes.dedup();
        change.outboxes = outboxes;
        change
    }
}

impl<R> Batch<R> {
    /// Profile photos of the leads this batch deletes: files reach fetched into `photos/` under
    /// the data dir (a photo path a file imported is never a file reach removes).
    pub(in crate::store) fn dropped_photos(&self) -> Vec<std::path::PathBuf> {
        // Only under the lead's own workspace's folder: an imported path may name another's.
        let ours = |lead: &crate::model::Lead, p: &str| {
            let path = std::path::Path::new(p);
            let dir = std::path::Path::new("photos").join(crate::crawl::workspace_dir(&lead.workspace));
            path.starts_with(dir) && path.components().all(|c| matches!(c, std::path::Component::Normal(_)))
        };
        self.touched
            .values()
            .filter(|t| t.current.is_none())
            .filter_map(|t| {
                let lead = t.original()?;
                lead.photo.as_deref().filter(|p| ours(lead, p)).map(std::path::PathBuf::from)
            })
            .collect()
    }
}

impl Batch<Writable<'_>> {
    /// Writes every touched lead, its index and facet changes and its new history, sorted by key.
    pub(in crate::store) fn flush(mut self, txn: &WriteTransaction) -> Result<super::Garbage, StoreError> {
        let p = self.path.as_path();
        let mut history = txn.open_table(HISTORY).at(p)?;
        let mut ids: Vec<u64> = self.touched.keys().copied().collect();
        ids.sort_unstable();

        // (facet prefix, lead id, added): sorted, one facet's changes are one run.
        let mut facet_changes: Vec<(Vec<u8>, u64, bool)> = Vec::new();
        let mut history_dropped = Vec::new();

        for id in &ids {
            let t = &self.touched[id];
            // Read, never changed: nothing to write (and no deep comparison to find that out).
            if !t.changed() || (t.original() == t.current.as_ref() && t.log.is_empty()) {
                continue;
            }
            let ws = t.workspace.as_str();
            // Most updates leave tags and groups alone, and then there is nothing to diff.
            let (was, now) = (t.original(), t.current.as_ref());
            if !matches!((was, now), (Some(a), Some(b)) if a.tags == b.tags && a.groups == b.groups) {
                facet_diff(was, now, |f, add| facet_changes.push((f, *id, add)));
            }
            match &t.current {
                Some(lead) => {
                    self.t.leads.insert(id_key(ws, *id).as_slice(), encode(lead).as_slice()).at(p)?;
                    // One row for all this transaction appended, keyed by its first entry's number.
                    if !t.log.is_empty() {
                        let first_seq = lead.history_len - t.log.len() as u32;
                        history.insert((*id, first_seq), encode(&t.log).as_slice()).at(p)?;
                    }
                }
                None => {
                    self.t.leads.remove(id_key(ws, *id).as_slice()).at(p)?;
                    history_dropped.push(*id);
                }
            }
        }

        // The overlay holds the last word on every unique-index key the batch's leads took or let
        // go of (`Index` order), so it is the index diff itself: one write per key, in key order.
        let indexes = [&mut self.t.by_user_id, &mut self.t.by_username, &mut self.t.by_phone];
        for (table, moved) in indexes.into_iter().zip(&self.moved) {
            let mut writes: Vec<(&[u8], Option<u64>)> = moved.iter().map(|(k, v)| (k.as_slice(), *v)).collect();
            writes.sort_unstable_by_key(|(k, _)| *k);
            for (k, owner) in writes {
                match owner {
                    Some(id) => table.insert(k, id).at(p)?,
                    None => table.remove(k).at(p)?,
                };
            }
        }
        facet_changes.sort_unstable();
        let mut facet_blocks = txn.open_table(FACETS).at(p)?;
        let mut run = Vec::new();
        for one in facet_changes.chunk_by(|a, b| a.0 == b.0) {
            run.clear();
            run.extend(one.iter().map(|(_, id, add)| (*id, *add)));
            facets::apply(&mut facet_blocks, &one[0].0, &run, p)?;
        }
        for id in history_dropped {
            history.retain_in((id, 0)..=(id, u32::MAX), |_, _| false).at(p)?;
        }
        let mut meta = txn.open_table(META).at(p)?;
        meta.insert("next_lead_id", self.next_id).at(p)?;
        meta.insert("next_import_id", self.next_import_id).at(p)?;
        meta.insert("next_message_id", self.next_message_id).at(p)?;
        meta.insert("next_campaign_id", self.next_campaign_id).at(p)?;
        for (table, writes) in self.t.raw.iter_mut().zip(&self.raw) {
            for (k, v) in writes {
                match v {
                    Some(v) => table.insert(k.as_slice(), v.as_slice()).at(p)?,
                    None => table.remove(k.as_slice()).at(p)?,
                };
            }
        }
        for rec in &self.imports {
            self.t.imports.insert(rec.id, encode(rec).as_slice()).at(p)?;
        }
        for (k, (org, dirty)) in &self.orgs {
            if let (Some(org), true) = (org, dirty) {
                self.t.orgs.insert(k.as_str(), encode(org).as_slice()).at(p)?;
            }
        }
        let mut user_ws = txn.open_table(USER_WORKSPACE).at(p)?;
        for (user, ws) in &self.user_workspace {
            user_ws.insert(user.as_str(), ws.as_str()).at(p)?;
        }
        for (k, v) in &self.records {
            match v {
                Some(v) => self.t.records.insert(k.as_slice(), v.as_slice()).at(p)?,
                None => self.t.records.remove(k.as_slice()).at(p)?,
            };
        }
        let mut labels = txn.open_table(FIELD_LABELS).at(p)?;
        for (ws, field, label) in &self.labels {
            let k = key(ws, field.as_bytes());
            if labels.get(k.as_slice()).at(p)?.is_none() {
                labels.insert(k.as_slice(), label.as_str()).at(p)?;
            }
        }
        Ok(super::Garbage { _touched: self.touched, _moved: self.moved, _probed: self.probed })
    }
}
