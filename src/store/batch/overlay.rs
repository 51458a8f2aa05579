//! The batch's view of the unique indexes: what it read ahead from the tables (`probed`) and
//! which keys its own writes moved (`moved`), the latter being the index diff its flush writes.

use super::tables::{Index, Reads};
use super::touched::Keys;
use super::Batch;
use crate::store::ops::{WriteCtx, WriteOp};
use crate::store::schema::{id_key, key};
use crate::store::StoreError;

impl<R: Reads> Batch<R> {
    pub(super) fn find_user_id(&self, ws: &str, uid: u64) -> Result<Option<u64>, StoreError> {
        self.lookup(Index::UserId, &id_key(ws, uid))
    }

    pub(super) fn find_username(&self, ws: &str, lowered: &str) -> Result<Option<u64>, StoreError> {
        self.lookup(Index::Username, &key(ws, lowered.as_bytes()))
    }

    pub(super) fn find_phone(&self, ws: &str, e164: &str) -> Result<Option<u64>, StoreError> {
        self.lookup(Index::Phone, &key(ws, e164.as_bytes()))
    }

    /// Looks up every identifier the upserts in `ops` will ask for, in key order, and records the
    /// answers in the overlays: sorted probes touch each index page once instead of once per row.
    pub(in crate::store) fn prefetch(&mut self, ctx: &WriteCtx, ops: &[WriteOp]) -> Result<(), StoreError> {
        let ws = ctx.workspace.as_str();
        // Every upsert touches a lead: sized once, so the map never rehashes its large entries.
        self.touched.reserve(ops.len());
        let mut uids = Vec::new();
        let mut names = Vec::new();
        let mut phones = Vec::new();
        for op in ops {
            if let WriteOp::Upsert(c) = op {
                uids.extend(c.telegram_user_id.map(|u| id_key(ws, u)));
                names.extend(c.username.as_ref().map(|u| key(ws, u.to_ascii_lowercase().as_bytes())));
                phones.extend(c.phone.as_ref().and_then(|p| p.e164.as_ref()).map(|p| key(ws, p.as_bytes())));
            }
        }
        for (mut keys, index) in [(uids, Index::UserId), (names, Index::Username), (phones, Index::Phone)] {
            keys.sort_unstable();
            keys.dedup();
            let (moved, probed) = (&mut self.moved[index as usize], &mut self.probed[index as usize]);
            // New leads move their keys into the overlay: sized once, like the probes.
            moved.reserve(keys.len());
            probed.reserve(keys.len());
            for k in keys {
                if moved.contains_key(&k) || probed.contains_key(&k) {
                    continue;
                }
                let found = self.t.index(index, &k, &self.path)?;
                probed.insert(k, found);
            }
        }
        Ok(())
    }

    pub(super) fn move_index_overlay(&mut self, id: u64, old: Keys, new: Keys) {
        // In `Index` order.
        let pairs = [(old.user_id, new.user_id), (old.username, new.username), (old.phone, new.phone)];
        for (map, (old, new)) in self.moved.iter_mut().zip(pairs) {
            if old != new {
                if let Some(k) = old {
                    map.insert(k, None);
                }
                if let Some(k) = new {
                    map.insert(k, Some(id));
                }
            }
        }
    }

    /// An index lookup through this batch's overlay first, then the tables.
    pub(super) fn lookup(&self, index: Index, k: &[u8]) -> Result<Option<u64>, StoreError> {
        let i = index as usize;
        match self.moved[i].get(k).or_else(|| self.probed[i].get(k)) {
            Some(v) => Ok(*v),
            None => self.t.index(index, k, &self.path),
        }
    }
}
