//! The session's long-lived workers, each on the blocking pool behind one queue: the detail
//! reader and the write lane (the search index and the segment counter have files of their own).
//! Queued requests coalesce where only the newest matters (a selection); writes never coalesce
//! and keep their order.

use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::Arc;

use super::publish::Publisher;
use crate::store::{Outcome, Store, WriteCtx, WriteOp};
use crate::tui::msg::{Event, Msg};

/// What the detail worker reads: a lead with its history and photo, or a lead's thread.
pub enum DetailJob {
    Lead(String, u64),
    Thread(String, u64),
}

/// The newest job of each kind waiting; older ones would only be thrown away.
#[derive(Default)]
struct Waiting {
    lead: Option<(String, u64)>,
    thread: Option<(String, u64)>,
}

impl Waiting {
    fn take(&mut self, jobs: impl Iterator<Item = DetailJob>) {
        for job in jobs {
            match job {
                DetailJob::Lead(ws, id) => self.lead = Some((ws, id)),
                DetailJob::Thread(ws, id) => self.thread = Some((ws, id)),
            }
        }
    }
}

/// Reads what the detail pane shows. Cursor moves queue requests faster than they are read;
/// only the newest of each kind runs, a thread (one short range) before a lead.
pub fn detail(store: &Store, data_dir: &std::path::Path, jobs: &Receiver<DetailJob>, out: &SyncSender<Event>) {
    let mut waiting = Waiting::default();
    loop {
        if waiting.lead.is_none() && waiting.thread.is_none() {
            match jobs.recv() {
                Ok(first) => waiting.take(std::iter::once(first)),
                Err(_) => return,
            }
        }
        waiting.take(jobs.try_iter());
        if let Some((ws, lead)) = waiting.thread.take() {
            let messages = store.thread(&ws, lead).map_err(|e| e.to_string());
            if out.send(Event::Msg(Msg::Thread { lead, messages })).is_err() {
                return;
            }
            continue;
        }
        let Some((ws, id)) = waiting.lead.take() else { continue };
        let msg = match store.get(&ws, id).and_then(|l| l.map(|l| store.history(&l).map(|h| (l, h))).transpose()) {
            Ok(Some((lead, entries))) => Msg::Detail { lead: Box::new(lead), entries },
            Ok(None) => Msg::DetailFailed { id, gone: true, why: format!("lead #{id} is gone") },
            Err(e) => Msg::DetailFailed { id, gone: false, why: e.to_string() },
        };
        let photo = match &msg {
            Msg::Detail { lead, .. } => lead.photo.clone(),
            _ => None,
        };
        if out.send(Event::Msg(msg)).is_err() {
            return;
        }
        // A newer selection goes first; this photo would only be thrown away.
        waiting.take(jobs.try_iter());
        if let (Some(rel), None) = (photo, &waiting.lead) {
            let path = data_dir.join(rel);
            let image = image::ImageReader::open(&path)
                .and_then(|r| r.with_guessed_format())
                .map_err(|e| e.to_string())
                .and_then(|r| r.decode().map_err(|e| e.to_string()))
                .map(Arc::new)
                .map_err(|e| format!("{}: {e}", path.display()));
            let _ = out.send(Event::Msg(Msg::Photo { id, image }));
        }
    }
}

/// What to do once a write has committed.
pub enum After {
    /// Edits and deletes: say what was done (the leads come back through the change feed).
    Edit,
    Delete,
    /// Say this once it committed (a segment saved, a lead marked do-not-contact); the change
    /// itself comes through the feed.
    Say {
        done: String,
    },
    /// Nothing to say unless it was refused (a thread marked read).
    Quiet,
    /// The composer's message: queued, or refused with the reason.
    Send {
        lead: u64,
        account: String,
    },
    /// The form's lead: a new one through the dedup upsert (`edited` None), or an edit.
    Form {
        edited: Option<u64>,
    },
}

pub struct Write {
    pub ctx: WriteCtx,
    /// Each op with the lead it is about (0 for records).
    pub ops: Vec<(u64, WriteOp)>,
    pub after: After,
}

/// The write lane: one session's writes, submitted and awaited one after another, so they commit
/// in the order the user made them; the leads they change come back through the change feed.
pub fn writes(lane: &Receiver<Write>, store: &Store, publish: &Publisher) {
    while let Ok(Write { ctx, ops, after }) = lane.recv() {
        let (ids, ops): (Vec<u64>, Vec<WriteOp>) = ops.into_iter().unzip();
        let outcomes = match store.submit(ctx.clone(), ops).and_then(|t| t.wait()) {
            Ok(o) => o,
            Err(e) => {
                let msg = match after {
                    After::Form { .. } => Msg::FormRefused(e.to_string()),
                    After::Send { .. } => Msg::SendRefused(e.to_string()),
                    _ => Msg::Error(e.to_string()),
                };
                publish.tell(msg);
                continue;
            }
        };
        // Refusals (a rule, a validation error) are collected and the first one shown, so a
        // bulk action reports once.
        let mut refused = None;
        let mut done = Vec::new();
        for (id, outcome) in ids.into_iter().zip(outcomes) {
            match outcome {
                Outcome::Denied(rule) => {
                    refused.get_or_insert(format!("permission denied: {rule}"));
                }
                Outcome::Rejected(e) => {
                    refused.get_or_insert(e.to_string());
                }
                other => done.push((id, other)),
            }
        }
        match after {
            // The leads themselves reach the view through the change feed, like every other write.
            After::Edit => {
                let ids: Vec<u64> = done.iter().map(|(id, _)| *id).collect();
                match ids.as_slice() {
                    [] => {}
                    [id] => publish.tell(Msg::Notice(format!("saved #{id}"))),
                    many => publish.tell(Msg::Notice(format!("saved {} leads", many.len()))),
                }
            }
            After::Delete => {
                let (deleted, other): (Vec<_>, Vec<_>) =
                    done.into_iter().partition(|(_, o)| matches!(o, Outcome::Deleted { .. }));
                let deleted: Vec<u64> = deleted.into_iter().map(|(id, _)| id).collect();
                match deleted.as_slice() {
                    [] => {}
                    [id] => publish.tell(Msg::Notice(format!("deleted #{id}"))),
                    many => publish.tell(Msg::Notice(format!("deleted {} leads", many.len()))),
                }
                for (id, o) in other {
                    publish.tell(Msg::Error(format!("#{id} not deleted: {o:?}")));
                }
            }
            After::Say { done: text } => {
                if refused.is_none() {
                    publish.tell(Msg::Notice(text));
                }
            }
            After::Quiet => {}
            After::Send { lead, account } => {
                match (refused.take(), done.into_iter().next()) {
                    (Some(why), _) => publish.tell(Msg::SendRefused(why)),
                    (None, Some((_, Outcome::Recorded { id }))) => publish.tell(Msg::Queued { lead, account, id }),
                    (None, other) => publish.tell(Msg::SendRefused(format!("not queued: {other:?}"))),
                }
                continue;
            }
            After::Form { edited } => {
                if let Some(why) = refused.take() {
                    publish.tell(Msg::FormRefused(why));
                    continue;
                }
                let Some((_, outcome)) = done.into_iter().next() else { continue };
                let (created, matched_on) = match &outcome {
                    Outcome::Created { .. } => (true, None),
                    Outcome::Updated { matched_on, .. } if edited.is_none() => (false, *matched_on),
                    _ => (false, None),
                };
                let Some(id) = outcome.id() else {
                    publish.tell(Msg::FormRefused("the lead is gone".into()));
                    continue;
                };
                match store.get(&ctx.workspace, id) {
                    // The form shows the lead as stored; the list takes it from the feed.
                    Ok(Some(lead)) => publish.tell(Msg::FormSaved { lead: Box::new(lead), created, matched_on }),
                    Ok(None) => publish.tell(Msg::FormRefused("the lead is gone".into())),
                    Err(e) => publish.tell(Msg::FormRefused(e.to_string())),
                }
            }
        }
        if let Some(e) = refused {
            publish.tell(Msg::Error(e));
        }
    }
}

/// Follows the store's change feed for what is the session's own to read: threads, accounts and
/// other records, of every commit (this session's and any other writer's).
/// It ends with the session (`alive` turns false), since the feed itself never closes.
pub fn feed(events: &Receiver<crate::store::FeedEvent>, publish: &Publisher, alive: &std::sync::atomic::AtomicBool) {
    use crate::store::{FeedEvent, RecordKind};
    use std::sync::mpsc::RecvTimeoutError;
    while alive.load(std::sync::atomic::Ordering::Relaxed) {
        let first = match events.recv_timeout(std::time::Duration::from_millis(100)) {
            Ok(event) => event,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let Some(ws) = publish.workspace() else { continue };
        let (mut deleted, mut records, mut threads) = (Vec::new(), Vec::new(), Vec::new());
        // Everything queued is taken at once: a burst of commits costs one pass.
        for event in std::iter::once(first).chain(events.try_iter()) {
            let FeedEvent::Changes(list) = event else {
                publish.tell(Msg::FeedBehind);
                continue;
            };
            for (_, change) in list.iter() {
                deleted.extend(change.of_workspace(&ws).1);
                let ours = change.records.iter().filter(|(_, w, _)| *w == ws || w.is_empty());
                records.extend(ours.filter_map(|(k, _, _)| RecordKind::from_byte(*k)));
                threads.extend(change.threads.iter().filter(|(w, _)| *w == ws).map(|(_, id)| *id));
            }
        }
        // The leads reach the view through the workspace's shared set (see `crate::tui::live`).
        let gone: std::collections::HashSet<u64> = deleted.iter().copied().collect();
        threads.sort_unstable();
        threads.dedup();
        threads.retain(|id| !gone.contains(id));
        if !threads.is_empty() {
            publish.tell(Msg::ThreadsChanged(threads));
        }
        records.sort_by_key(|k| k.byte());
        records.dedup();
        if records.contains(&RecordKind::Account) {
            // A runner's heartbeat or health, a new account: the status bar and composer follow.
            publish.senders();
        }
        if !records.is_empty() {
            publish.tell(Msg::RecordsChanged(records));
        }
    }
}
