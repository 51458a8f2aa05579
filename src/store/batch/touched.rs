//! What a batch keeps of each lead it touches: the lead as read and as it is now, and its new
//! history; and a lead version's unique-index and facet keys.

use std::collections::BTreeSet;

use super::super::schema::{id_key, key};
use crate::model::{Activity, Facet, Lead};

pub(super) struct Touched {
    pub(super) workspace: String,
    pub(super) orig: Orig,
    pub(super) current: Option<Lead>,
    pub(super) log: Vec<Activity>,
}

/// What a touched lead was before this batch. Most leads a batch reads it never changes (an
/// unchanged re-import), so the stored version is kept only once the first change replaces it.
pub(super) enum Orig {
    /// Created in this batch.
    New,
    /// `current` is still the lead as read.
    AsRead,
    /// The lead as read, before this batch changed it.
    Was(Option<Box<Lead>>),
    /// A dry run changed it and, never writing, did not keep what it was.
    Forgotten,
}

impl Touched {
    /// Written by this batch: created, changed or deleted. (A dry run settles only these; the rest
    /// is as the snapshot has it.)
    pub(super) fn changed(&self) -> bool {
        !matches!(self.orig, Orig::AsRead)
    }

    pub(super) fn original(&self) -> Option<&Lead> {
        match &self.orig {
            Orig::New | Orig::Forgotten => None,
            Orig::AsRead => self.current.as_ref(),
            Orig::Was(l) => l.as_deref(),
        }
    }

    /// Replaces the current version, keeping the one as read unless this is a dry run.
    pub(super) fn set_current(&mut self, new: Option<Lead>, dry: bool) {
        let old = std::mem::replace(&mut self.current, new);
        if matches!(self.orig, Orig::AsRead) {
            self.orig = if dry { Orig::Forgotten } else { Orig::Was(old.map(Box::new)) };
        }
    }
}

/// Unique-index keys of one lead (full byte keys, workspace prefix included), for diffing before and after.
#[derive(Default, PartialEq)]
pub(super) struct Keys {
    pub(super) user_id: Option<Vec<u8>>,
    pub(super) username: Option<Vec<u8>>,
    pub(super) phone: Option<Vec<u8>>,
}

impl Keys {
    /// Whether two versions of a lead have the same unique-index keys, without building them.
    pub(super) fn same(a: &Lead, b: &Lead) -> bool {
        a.telegram_user_id == b.telegram_user_id
            && a.phone_key() == b.phone_key()
            && match (&a.username, &b.username) {
                (Some(x), Some(y)) => x.eq_ignore_ascii_case(y),
                (None, None) => true,
                _ => false,
            }
    }

    pub(super) fn of(lead: Option<&Lead>) -> Keys {
        match lead {
            None => Keys::default(),
            Some(l) => {
                let ws = l.workspace.as_str();
                Keys {
                    user_id: l.telegram_user_id.map(|u| id_key(ws, u)),
                    username: l.username_key().map(|u| key(ws, u.as_bytes())),
                    phone: l.phone_key().map(|p| key(ws, p.as_bytes())),
                }
            }
        }
    }
}

/// The facet index entries (prefix, `true` added) between two versions of a lead: only the tags and
/// groups that differ are encoded, for an update most often adds one tag to many.
pub(super) fn facet_diff(was: Option<&Lead>, now: Option<&Lead>, mut out: impl FnMut(Vec<u8>, bool)) {
    let Some(ws) = was.or(now).map(|l| l.workspace.as_str()) else { return };
    let none = BTreeSet::new();
    let (old_tags, old_groups) = was.map_or((&none, &none), |l| (&l.tags, &l.groups));
    let (new_tags, new_groups) = now.map_or((&none, &none), |l| (&l.tags, &l.groups));
    let prefix = |f: Facet| crate::store::facets::prefix(ws, &f.encode());
    for (old, new, kind) in
        [(old_tags, new_tags, Facet::Tag as fn(String) -> Facet), (old_groups, new_groups, Facet::Group)]
    {
        old.difference(new).for_each(|v| out(prefix(kind(v.clone())), false));
        new.difference(old).for_each(|v| out(prefix(kind(v.clone())), true));
    }
}
