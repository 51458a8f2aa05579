//! Applying a batch of writes inside one redb write transaction.
//!
//! Ops are resolved one by one against an in-memory overlay (so a batch dedups against itself),
//! and all table writes are collected, sorted by key and applied at the end: sorted inserts touch
//! each B-tree page once per batch instead of once per row.

use std::path::{Path, PathBuf};

mod campaign;
mod flush;
mod org;
mod overlay;
mod tables;
mod talk;
mod touched;

use tables::{Raw, Reads};
pub(super) use tables::{Snapshot, Writable};
use touched::{facet_diff, Keys, Orig, Touched};

use super::lease::Lease;
use super::merge::{self, Withheld};
pub use super::ops::*;
use super::schema::*;
use super::StoreError;
use crate::model::{Activity, ActivityKind, Candidate, ImportRecord, Lead, LeadError, MatchKey, Millis};
use crate::workspace::{rules, Access, Denied, Org, Workspace};

/// The batch's maps are probed several times per row (lead ids, index keys that hold imported
/// usernames and phones): foldhash is much cheaper than SipHash, and its per-process random seed
/// keeps a crafted file from forcing collisions.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

pub(super) struct Batch<R> {
    path: PathBuf,
    now: Millis,
    /// What the batch reads: the write transaction's tables, or a snapshot for a dry run.
    t: R,
    /// A dry run is never flushed: it keeps no originals or history entries, only what later ops read.
    dry: bool,
    next_id: u64,
    next_import_id: u64,
    imports: Vec<ImportRecord>,
    /// The current request's upserts: created, updated, unchanged, rejected.
    request: [u64; 4],
    labels: Vec<(String, String, String)>,
    touched: HashMap<u64, Touched>,
    /// Organizations read or changed in this batch, by lowercase name; `true` marks a change to write.
    orgs: HashMap<String, (Option<Org>, bool)>,
    user_workspace: Vec<(String, String)>,
    /// Record writes in the order they were made; `None` removes.
    records: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    /// Per unique index (see `Index`): the keys this batch moved; `None` marks a removed key.
    moved: [HashMap<Vec<u8>, Option<u64>>; 3],
    /// Per unique index: answers read ahead by `prefetch`, as the tables hold them.
    probed: [HashMap<Vec<u8>, Option<u64>>; 3],
    /// Why the current request is refused from here on: a lease it needs is held by another run.
    refused: Option<String>,
    /// What the current request's user is in its workspace, worked out at its first op.
    access: Option<Result<Access, Denied>>,
    /// A dry run's changed leads from its earlier chunks, encoded (a fraction of a decoded lead's
    /// memory); `None` marks a deleted one. See `settle`.
    packed: HashMap<u64, Option<Box<[u8]>>>,
    next_message_id: u64,
    next_campaign_id: u64,
    /// Writes to the conversation and campaign tables, in `Raw` order; `None` removes. Sorted, as
    /// the flush wants.
    raw: [std::collections::BTreeMap<Vec<u8>, Option<Vec<u8>>>; tables::RAW_TABLES],
    /// Leads whose thread changed, and accounts whose outbox grew: for the change feed.
    threads: Vec<(String, u64)>,
    outboxes: Vec<String>,
}

/// What a committed batch leaves behind: freeing it takes a tenth of an import's writer time, so
/// the writer hands it to another thread.
pub(super) struct Garbage {
    _touched: HashMap<u64, Touched>,
    _moved: [HashMap<Vec<u8>, Option<u64>>; 3],
    _probed: [HashMap<Vec<u8>, Option<u64>>; 3],
}

impl<R: Reads> Batch<R> {
    pub(super) fn new(t: R, path: &Path, now: Millis) -> Self {
        let (next_id, next_import_id, next_message_id, next_campaign_id) = t.next_ids();
        Batch {
            path: path.to_path_buf(),
            now,
            t,
            dry: false,
            next_id,
            next_import_id,
            imports: Vec::new(),
            request: [0; 4],
            labels: Vec::new(),
            touched: HashMap::default(),
            orgs: HashMap::default(),
            user_workspace: Vec::new(),
            records: Vec::new(),
            moved: Default::default(),
            probed: Default::default(),
            packed: HashMap::default(),
            refused: None,
            access: None,
            next_message_id,
            next_campaign_id,
            raw: Default::default(),
            threads: Vec::new(),
            outboxes: Vec::new(),
        }
    }

    /// A batch that will only ever be simulated: it stays alive across a dry run's chunks, so each
    /// chunk dedups against the earlier ones exactly as committed chunks would.
    pub(super) fn dry(t: R, path: &Path, now: Millis) -> Self {
        Batch { dry: true, ..Batch::new(t, path, now) }
    }

    fn load(&mut self, ws: &str, id: u64) -> Result<Option<&Lead>, StoreError> {
        if !self.touched.contains_key(&id) {
            if let Some(None) = self.packed.get(&id) {
                return Ok(None);
            }
            // A lead a dry run changed in an earlier chunk is not as the snapshot has it.
            let (lead, orig) = match self.packed.remove(&id).flatten() {
                Some(bytes) => (super::decode::<Lead>(&bytes, &self.path)?, Orig::Forgotten),
                // Ids are global, but a lead is only reachable through its own workspace.
                None => match self.t.lead(id_key(ws, id).as_slice(), &self.path)? {
                    Some(lead) => (lead, Orig::AsRead),
                    None => return Ok(None),
                },
            };
            let workspace = lead.workspace.clone();
            self.touched.insert(id, Touched { workspace, orig, current: Some(lead), log: Vec::new() });
        }
        Ok(self.touched.get(&id).filter(|t| t.workspace == ws).and_then(|t| t.current.as_ref()))
    }

    fn load_org(&mut self, name: &str) -> Result<Option<&Org>, StoreError> {
        let k = name.to_lowercase();
        if !self.orgs.contains_key(&k) {
            let org = self.t.org(&k, &self.path)?;
            self.orgs.insert(k.clone(), (org, false));
        }
        Ok(self.orgs.get(&k).and_then(|(o, _)| o.as_ref()))
    }

    /// What the actor is in the op's workspace, read inside this transaction so a concurrent role
    /// change cannot race a write.
    fn access(&mut self, ctx: &WriteCtx) -> Result<Result<Access, Denied>, StoreError> {
        if let Some(known) = &self.access {
            return Ok(known.clone());
        }
        let access = match Workspace::from_key(&ctx.workspace) {
            Some(Workspace::Personal(owner)) if owner == ctx.actor => Ok(Access::Personal),
            Some(Workspace::Personal(_)) => Err(Denied("a personal workspace belongs to its user alone".into())),
            Some(Workspace::Org(name)) => match self.load_org(&name)? {
                Some(org) => super::access_in(org, &ctx.actor),
                None => Err(Denied(format!("no organization named {name:?}"))),
            },
            None => Err(Denied(format!("{:?} is not a workspace", ctx.workspace))),
        };
        self.access = Some(access.clone());
        Ok(access)
    }

    pub(super) fn apply(&mut self, ctx: &WriteCtx, op: WriteOp) -> Result<Outcome, StoreError> {
        if let Some(why) = &self.refused {
            return Ok(Outcome::Denied(why.clone()));
        }
        if let WriteOp::Org(op) = op {
            // Membership may change: the request's later ops look again.
            self.access = None;
            return self.org_op(ctx, op);
        }
        // Accounts and crawl requests belong to the data dir, not to a workspace.
        match op {
            WriteOp::Record { kind, name, value } if kind.is_global() => {
                self.records.push((kind.prefixed(&key("", name.as_bytes())), value));
                return Ok(Outcome::Recorded { id: 0 });
            }
            WriteOp::UpdateRecord { kind, name, update } if kind.is_global() => {
                self.update_record(kind.prefixed(&key("", name.as_bytes())), &update)?;
                return Ok(Outcome::Recorded { id: 0 });
            }
            _ => {}
        }
        let access = match self.access(ctx)? {
            Ok(a) => a,
            Err(d) => return Ok(Outcome::Denied(d.0)),
        };
        match op {
            WriteOp::Org(_) => unreachable!("handled above"),
            WriteOp::Record { kind, name, value } => {
                self.records.push((kind.prefixed(&key(&ctx.workspace, name.as_bytes())), value));
                Ok(Outcome::Recorded { id: 0 })
            }
            WriteOp::UpdateRecord { kind, name, update } => {
                self.update_record(kind.prefixed(&key(&ctx.workspace, name.as_bytes())), &update)?;
                Ok(Outcome::Recorded { id: 0 })
            }
            WriteOp::Lease { name, holder, ttl_ms } => {
                let k = RecordKind::Lease.prefixed(&key(&ctx.workspace, name.as_bytes()));
                let old = self.record_bytes(&k)?.and_then(|b| postcard::from_bytes::<Lease>(&b).ok());
                match Lease::take(old, &holder, self.now, ttl_ms) {
                    Ok(lease) => {
                        self.records.push((k, Some(super::encode(&lease))));
                        Ok(Outcome::Recorded { id: 0 })
                    }
                    Err(held) => {
                        let why = format!("{name}: {held}");
                        self.refused = Some(why.clone());
                        Ok(Outcome::Denied(why))
                    }
                }
            }
            WriteOp::Release { name, run } => {
                let k = RecordKind::Lease.prefixed(&key(&ctx.workspace, name.as_bytes()));
                let old = self.record_bytes(&k)?.and_then(|b| postcard::from_bytes::<Lease>(&b).ok());
                if old.is_some_and(|l| l.holder.run == run) {
                    self.records.push((k, None));
                }
                Ok(Outcome::Recorded { id: 0 })
            }
            WriteOp::Upsert(cand) => {
                let outcome = self.upsert(ctx, cand)?;
                match outcome {
                    Outcome::Created { .. } => self.request[0] += 1,
                    Outcome::Updated { .. } => self.request[1] += 1,
                    Outcome::Unchanged { .. } => self.request[2] += 1,
                    Outcome::Rejected(_) => self.request[3] += 1,
                    _ => {}
                }
                Ok(outcome)
            }
            WriteOp::ImportChunk { id, rejected } => {
                let stored = match self.imports.iter().rev().find(|r| r.id == id) {
                    Some(r) => Some(r.clone()),
                    None => self.t.import(id, &self.path)?,
                };
                let Some(mut rec) = stored else { return Ok(Outcome::Recorded { id }) };
                let [created, updated, unchanged, refused] = std::mem::take(&mut self.request);
                rec.rows += created + updated + unchanged + refused + rejected;
                rec.created += created;
                rec.updated += updated;
                rec.unchanged += unchanged;
                rec.rejected += refused + rejected;
                self.imports.push(rec);
                Ok(Outcome::Recorded { id })
            }
            WriteOp::Edit { id, cand } => self.edit(ctx, id, &cand),
            WriteOp::EditChecked { id, cand, expect } => {
                let Some(now) = self.load(&ctx.workspace, id)? else { return Ok(Outcome::Rejected(not_found(id))) };
                let changed = expect.iter().find_map(|(field, was)| {
                    let is = now.field_text(field)?;
                    (is != *was).then_some((*field, is, was))
                });
                if let Some((field, is, was)) = changed {
                    let why = format!(
                        "changed since the form opened (it was {was:?}); reload the form to edit it as it is now"
                    );
                    return Ok(Outcome::Rejected(LeadError::invalid(field, &is, why)));
                }
                self.edit(ctx, id, &cand)
            }
            WriteOp::Delete { id } => self.delete(ctx, id, access),
            WriteOp::Talk(op) => self.talk(ctx, op),
            WriteOp::Campaign(op) => self.campaign_op(ctx, access, op),
            WriteOp::BeginImport(mut rec) => {
                let id = self.next_import_id;
                self.next_import_id += 1;
                rec.id = id;
                self.imports.push(rec);
                Ok(Outcome::Recorded { id })
            }
            WriteOp::FinishImport(rec) => {
                let id = rec.id;
                self.imports.push(rec);
                Ok(Outcome::Recorded { id })
            }
            WriteOp::FieldLabels(labels) => {
                self.labels.extend(labels.into_iter().map(|(k, l)| (ctx.workspace.clone(), k, l)));
                Ok(Outcome::Recorded { id: 0 })
            }
        }
    }

    fn upsert(&mut self, ctx: &WriteCtx, cand: Candidate) -> Result<Outcome, StoreError> {
        let ws = ctx.workspace.as_str();
        if let Err(e) = cand.check_identifiable() {
            return Ok(Outcome::Rejected(e));
        }
        let by_uid = match cand.telegram_user_id {
            Some(uid) => self.find_user_id(ws, uid)?,
            None => None,
        };
        let uname_key = cand.username.as_ref().map(|u| u.to_ascii_lowercase());
        let by_uname = match &uname_key {
            Some(k) => self.find_username(ws, k)?,
            None => None,
        };
        let phone_key = cand.phone.as_ref().and_then(|p| p.e164.clone());
        let by_phone = match &phone_key {
            Some(k) => self.find_phone(ws, k)?,
            None => None,
        };

        // The first match wins. A username or phone match whose lead carries a different
        // Telegram user id is another person (usernames and numbers get reassigned): not a match.
        let mut target: Option<(u64, MatchKey)> = by_uid.map(|id| (id, MatchKey::TelegramUserId));
        let mut contradicted = Vec::new();
        for (found, key) in [(by_uname, MatchKey::Username), (by_phone, MatchKey::Phone)] {
            let Some(id) = found else { continue };
            if target.is_some() {
                continue;
            }
            let other_uid = self.load(ws, id)?.and_then(|l| l.telegram_user_id);
            match (cand.telegram_user_id, other_uid) {
                (Some(a), Some(b)) if a != b => contradicted.push((id, key)),
                _ => target = Some((id, key)),
            }
        }

        // Identifiers that resolve to a lead other than the target stay where they are.
        let target_id = target.map(|(id, _)| id);
        let other = |found: Option<u64>| found.filter(|id| Some(*id) != target_id);
        let mut withheld = Withheld::default();
        let mut conflicts = Vec::new();
        if let (Some(other_id), Some(u)) = (other(by_uname), &cand.username) {
            withheld.username = true;
            conflicts.push((other_id, "username", format!("@{u}")));
        }
        if let (Some(other_id), Some(k)) = (other(by_phone), &phone_key) {
            withheld.phone = true;
            conflicts.push((other_id, "phone", k.clone()));
        }

        // Re-read a national phone with the matched lead's country; the phone may then belong to someone else.
        let reread = match target {
            Some((id, _)) if by_phone.is_none() => {
                let country = self.load(ws, id)?.and_then(|l| l.country.clone());
                cand.with_lead_region(country.as_deref())
            }
            _ => None,
        };
        if let Some(c) = &reread {
            if let Some(owner) =
                self.find_phone(ws, c.phone.as_ref().and_then(|p| p.e164.as_deref()).unwrap_or_default())?
            {
                if Some(owner) != target_id {
                    withheld.phone = true;
                    conflicts.push((
                        owner,
                        "phone",
                        c.phone.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
                    ));
                }
            }
        }
        let cand = reread.unwrap_or(cand);
        // A contradicted lead is told of the username the candidate claimed, after the candidate
        // is used up by a create.
        let claimed_name = if contradicted.is_empty() { None } else { cand.username.clone() };

        let (id, outcome) = match target {
            Some((id, matched_on)) => {
                let now = self.now;
                let Some(existing) = self.load(ws, id)? else {
                    return Err(StoreError::Corrupt {
                        path: self.path.clone(),
                        message: format!("an index points to missing lead #{id}"),
                    });
                };
                let (lead, log) = merge::merge(existing, &cand, Some(matched_on), withheld, now);
                if log.is_empty() && conflicts.is_empty() {
                    return Ok(Outcome::Unchanged { id });
                }
                let lead = lead.into_owned();
                self.commit_lead(ctx, id, lead, log);
                (id, Outcome::Updated { id, matched_on: Some(matched_on) })
            }
            None => {
                let id = self.next_id;
                self.next_id += 1;
                let (lead, log) = merge::create(id, ws, &ctx.actor, self.now, cand, withheld);
                let workspace = ws.to_string();
                let t = Touched { workspace, orig: Orig::New, current: None, log: Vec::new() };
                self.touched.insert(id, t);
                self.commit_lead(ctx, id, lead, log);
                (id, Outcome::Created { id })
            }
        };
        // The conflict goes into the history of the lead that was written, and the other lead
        // learns that someone else claimed its identifier.
        let mut all = conflicts;
        for (cid, key) in contradicted {
            let field = if key == MatchKey::Username { "username" } else { "phone" };
            // A lead both contradicted and holding the identifier is one conflict, recorded once.
            if all.iter().any(|(o, f, _)| *o == cid && *f == field) {
                continue;
            }
            let value = match key {
                MatchKey::Username => format!("@{}", claimed_name.clone().unwrap_or_default()),
                _ => phone_key.clone().unwrap_or_default(),
            };
            all.push((cid, field, value));
        }
        for (other_id, field, value) in all {
            self.log(
                ctx,
                id,
                ActivityKind::Conflict { field: field.into(), value: value.clone(), other_lead: Some(other_id) },
            );
            self.log(ctx, other_id, ActivityKind::Conflict { field: field.into(), value, other_lead: Some(id) });
        }
        Ok(outcome)
    }

    fn edit(&mut self, ctx: &WriteCtx, id: u64, cand: &Candidate) -> Result<Outcome, StoreError> {
        let ws = ctx.workspace.as_str();
        let Some(existing) = self.load(ws, id)? else { return Ok(Outcome::Rejected(not_found(id))) };
        let reread = cand.with_lead_region(cand.country.as_deref().or(existing.country.as_deref()));
        let cand = reread.as_ref().unwrap_or(cand);
        if let Some(uid) = cand.telegram_user_id {
            if let Some(owner) = self.find_user_id(ws, uid)?.filter(|o| *o != id) {
                return Ok(Outcome::Rejected(owned("telegram_user_id", &uid.to_string(), owner)));
            }
        }
        if let Some(u) = &cand.username {
            if let Some(owner) = self.find_username(ws, &u.to_ascii_lowercase())?.filter(|o| *o != id) {
                return Ok(Outcome::Rejected(owned("username", u, owner)));
            }
        }
        if let Some(k) = cand.phone.as_ref().and_then(|p| p.e164.as_deref()) {
            if let Some(owner) = self.find_phone(ws, k)?.filter(|o| *o != id) {
                return Ok(Outcome::Rejected(owned("phone", k, owner)));
            }
        }
        let now = self.now;
        let Some(existing) = self.load(ws, id)? else { return Ok(Outcome::Rejected(not_found(id))) };
        let (lead, log) = merge::merge(existing, cand, None, Withheld::default(), now);
        if log.is_empty() {
            return Ok(Outcome::Unchanged { id });
        }
        let lead = lead.into_owned();
        self.commit_lead(ctx, id, lead, log);
        Ok(Outcome::Updated { id, matched_on: None })
    }

    fn delete(&mut self, ctx: &WriteCtx, id: u64, access: Access) -> Result<Outcome, StoreError> {
        let ws = ctx.workspace.as_str();
        let Some(lead) = self.load(ws, id)?.cloned() else { return Ok(Outcome::Rejected(not_found(id))) };
        if let Err(d) = rules::delete(access, &ctx.actor, &lead.created_by) {
            return Ok(Outcome::Denied(d.0));
        }
        self.move_index_overlay(id, Keys::of(Some(&lead)), Keys::default());
        self.drop_thread(ws, id)?;
        let dry = self.dry;
        if let Some(t) = self.touched.get_mut(&id) {
            t.set_current(None, dry);
            t.log.clear();
        }
        Ok(Outcome::Deleted { id })
    }

    /// Records a new state of a lead and its history entries, keeping the overlay indexes in step.
    fn commit_lead(&mut self, ctx: &WriteCtx, id: u64, mut lead: Lead, log: Vec<ActivityKind>) {
        let before = self.touched.get(&id).and_then(|t| t.current.as_ref());
        // Most updates keep every identifier: then no index key moves and none need be built.
        if !before.is_some_and(|b| Keys::same(b, &lead)) {
            let before = Keys::of(before);
            self.move_index_overlay(id, before, Keys::of(Some(&lead)));
        }
        let entries: Vec<Activity> =
            log.into_iter().map(|kind| Activity { at: self.now, actor: ctx.actor.clone(), kind }).collect();
        lead.history_len += entries.len() as u32;
        let dry = self.dry;
        if let Some(t) = self.touched.get_mut(&id) {
            t.set_current(Some(lead), dry);
            if !dry {
                t.log.extend(entries);
            }
        }
    }

    fn log(&mut self, ctx: &WriteCtx, id: u64, kind: ActivityKind) {
        if self.load(&ctx.workspace, id).ok().flatten().is_none() {
            return;
        }
        let dry = self.dry;
        if let Some(t) = self.touched.get_mut(&id) {
            if let Some(mut lead) = t.current.clone() {
                lead.history_len += 1;
                t.set_current(Some(lead), dry);
                if !dry {
                    t.log.push(Activity { at: self.now, actor: ctx.actor.clone(), kind });
                }
            }
        }
    }

    /// Applies `update` to the record as this batch sees it: its own earlier write, else the table.
    fn update_record(&mut self, k: Vec<u8>, update: &RecordUpdate) -> Result<(), StoreError> {
        let old = self.record_bytes(&k)?;
        let new = (update.0)(old.as_deref());
        self.records.push((k, new));
        Ok(())
    }

    /// A record as this batch sees it: its own latest write, else the table's.
    fn record_bytes(&self, k: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        match self.records.iter().rev().find(|(pk, _)| pk.as_slice() == k) {
            Some((_, v)) => Ok(v.clone()),
            None => self.t.record(k, &self.path),
        }
    }

    /// The end of a dry run's chunk: its changed leads are packed, and what it only read is let go
    /// (the snapshot still has it), so a dry run's memory grows with what it would change.
    pub(super) fn settle(&mut self) {
        for (id, t) in self.touched.drain() {
            if !t.changed() {
                continue;
            }
            self.packed.insert(id, t.current.map(|lead| super::encode(&lead).into_boxed_slice()));
        }
        self.probed.iter_mut().for_each(HashMap::clear);
    }

    /// A new request starts: its own upserts are counted from zero (see `WriteOp::ImportChunk`).
    pub(super) fn begin_request(&mut self) {
        self.request = [0; 4];
        self.refused = None;
        self.access = None;
    }
}

fn not_found(id: u64) -> LeadError {
    LeadError::invalid("lead", &format!("#{id}"), "no such lead in this workspace")
}

fn owned(field: &'static str, value: &str, owner: u64) -> LeadError {
    LeadError::invalid(field, value, format!("already belongs to lead #{owner}"))
}
