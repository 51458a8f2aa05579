//! The single writer: one thread owns every write transaction. Requests queued while a
//! transaction runs are coalesced into the next one, so many small writers (UI edits, crawl pages)
//! and one large one (an import) share commits without ever blocking the caller's thread.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use redb::{Database, ReadableTable};

use super::batch::{Batch, Garbage, Writable};
use super::feed::Commits;
use super::ops::{Outcome, WriteCtx, WriteOp};
use super::schema::{META, SCHEMA_VERSION};
use super::{AtPath, StoreError};
use crate::model::now_millis;

/// How many ops one transaction takes before committing; large enough for imports to amortize the commit.
const MAX_OPS_PER_TXN: usize = 200_000;
/// A transaction this long is a bulk one, after which the writer lets other processes in.
const LONG_TXN: Duration = Duration::from_millis(20);
const YIELD_AFTER_LONG_TXN: Duration = Duration::from_millis(5);
/// Queued requests beyond this make `submit` wait: back-pressure for bulk writers.
const QUEUE_DEPTH: usize = 64;

type Reply = Result<Vec<Outcome>, StoreError>;

struct Request {
    ctx: WriteCtx,
    ops: Vec<WriteOp>,
    reply: oneshot::Sender<Reply>,
}

/// The pending result of a submitted write. `wait()` blocks; `.await` works on the async runtime.
pub struct Ticket(oneshot::Receiver<Reply>);

impl Ticket {
    pub fn wait(self) -> Reply {
        self.0.recv().unwrap_or(Err(StoreError::WriterGone))
    }

    pub async fn done(self) -> Reply {
        self.0.await.unwrap_or(Err(StoreError::WriterGone))
    }
}

#[derive(Clone)]
pub(super) struct Writer {
    tx: SyncSender<Request>,
}

impl Writer {
    pub(super) fn spawn(db: Arc<Database>, path: Arc<PathBuf>, commits: Arc<Commits>) -> Writer {
        let (tx, rx) = sync_channel::<Request>(QUEUE_DEPTH);
        let waiters = Waiters::open(&path);
        // The thread ends when the last Store handle (and so the last sender) is dropped.
        let spawned = thread::Builder::new()
            .name("reach-store-writer".into())
            .spawn(move || run(&db, &path, &commits, waiters.as_ref(), rx));
        if let Err(e) = spawned {
            // Without a writer every write fails with WriterGone; reads still work.
            eprintln!("reach: cannot start the store writer: {e}");
        }
        Writer { tx }
    }

    pub(super) fn submit(&self, ctx: WriteCtx, ops: Vec<WriteOp>) -> Result<Ticket, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(Request { ctx, ops, reply }).map_err(|_| StoreError::WriterGone)?;
        Ok(Ticket(rx))
    }
}

/// Who is waiting for the store's write lock, across processes: a writer holds a shared lock on
/// `reach.redb.writers` while it waits in `begin_write`, so a bulk writer can tell whether anyone
/// waits (it cannot take the exclusive lock) before it pauses to let them in.
struct Waiters {
    /// Locked shared while this process waits to write.
    announce: std::fs::File,
    /// A second open of the file: a lock through it conflicts with this process's own `announce`.
    probe: std::fs::File,
}

impl Waiters {
    /// None if the file cannot be made (a read-only data dir): then every long transaction pauses.
    fn open(db_path: &Path) -> Option<Waiters> {
        let mut name = db_path.as_os_str().to_owned();
        name.push(".writers");
        let path = PathBuf::from(name);
        let open = || crate::flock::open(&path).ok();
        Some(Waiters { announce: open()?, probe: open()? })
    }

    /// Whether a writer (of another process: this one has a single writer) waits for the lock.
    fn someone_waits(&self) -> bool {
        match crate::flock::try_exclusive(&self.probe) {
            Ok(true) => {
                let _ = crate::flock::unlock(&self.probe);
                false
            }
            Ok(false) | Err(_) => true,
        }
    }
}

fn run(db: &Database, path: &Path, commits: &Commits, waiters: Option<&Waiters>, rx: Receiver<Request>) {
    while let Ok(first) = rx.recv() {
        let mut pending = vec![first];
        let mut ops = pending[0].ops.len();
        while ops < MAX_OPS_PER_TXN {
            match rx.try_recv() {
                Ok(req) => {
                    ops += req.ops.len();
                    pending.push(req);
                }
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        let outcome = apply(db, path, commits, waiters, &mut pending);
        let long = outcome.as_ref().is_ok_and(|(_, held)| *held >= LONG_TXN);
        match outcome.map(|(results, _)| results) {
            Ok(results) => {
                for (req, res) in pending.into_iter().zip(results) {
                    let _ = req.reply.send(Ok(res));
                }
            }
            Err(e) => {
                let msg = e.to_string();
                for req in pending {
                    let _ = req.reply.send(Err(StoreError::Db { path: path.to_path_buf(), message: msg.clone() }));
                }
            }
        }
        // Another process waiting for the file's write lock is woken when this transaction ends,
        // but a bulk writer (an import) would take the lock again before that process runs: one
        // edit in another terminal could wait out a whole import. After a long transaction the
        // writer pauses (its callers already answered) to let a waiter in, when there is one.
        if long && waiters.is_none_or(Waiters::someone_waits) {
            thread::sleep(YIELD_AFTER_LONG_TXN);
        }
    }
}

/// Frees a committed batch on a thread of its own, so the writer goes on to the next transaction.
/// A writer that outruns the freeing waits rather than pile up memory.
fn free_elsewhere(garbage: Garbage) {
    static FREER: std::sync::OnceLock<Option<SyncSender<Garbage>>> = std::sync::OnceLock::new();
    let tx = FREER.get_or_init(|| {
        let (tx, rx) = sync_channel::<Garbage>(0);
        let spawned = thread::Builder::new().name("reach-store-free".into()).spawn(move || rx.iter().for_each(drop));
        spawned.ok().map(|_| tx)
    });
    // Without that thread (it could not start), the batch is freed here.
    if let Some(tx) = tx {
        let _ = tx.send(garbage);
    }
}

fn apply(
    db: &Database,
    path: &Path,
    commits: &Commits,
    waiters: Option<&Waiters>,
    pending: &mut [Request],
) -> Result<(Vec<Vec<Outcome>>, Duration), StoreError> {
    // Announced for as long as this waits for another process's transaction, and no longer.
    let announced = waiters.is_some_and(|w| crate::flock::shared(&w.announce).is_ok());
    let txn = db.begin_write();
    if let (true, Some(w)) = (announced, waiters) {
        let _ = crate::flock::unlock(&w.announce);
    }
    let txn = txn.at(path)?;
    // Timed from here: waiting for another process's write lock is not this transaction's cost.
    let started = Instant::now();
    // A newer reach migrated the store while this process ran: writing the old format would
    // damage it, so every write is refused from now on, saying why.
    let found = txn.open_table(META).at(path)?.get("schema_version").at(path)?.map(|v| v.value());
    if let Some(found) = found.filter(|v| *v > SCHEMA_VERSION) {
        return Err(StoreError::NewerSchema { path: path.to_path_buf(), found, supported: SCHEMA_VERSION });
    }
    let mut batch = Batch::new(Writable::open(&txn, path)?, path, now_millis());
    let mut times = super::WriterTimes { transactions: 1, ..Default::default() };
    let mut results = Vec::with_capacity(pending.len());
    for req in pending.iter_mut() {
        batch.begin_request();
        let t = Instant::now();
        batch.prefetch(&req.ctx, &req.ops)?;
        times.lookups += t.elapsed();
        let t = Instant::now();
        let mut out = Vec::with_capacity(req.ops.len());
        for op in std::mem::take(&mut req.ops) {
            out.push(batch.apply(&req.ctx, op)?);
        }
        times.merges += t.elapsed();
        results.push(out);
    }
    let change = batch.change();
    let photos = batch.dropped_photos();
    let t = Instant::now();
    let garbage = batch.flush(&txn)?;
    times.inserts = t.elapsed();
    let t = Instant::now();
    let seq = super::feed::append(&txn, &change, path)?;
    times.feed = t.elapsed();
    let t = Instant::now();
    txn.commit().at(path)?;
    times.commit = t.elapsed();
    times.total = started.elapsed();
    commits.spent(&times);
    if let Some(seq) = seq {
        commits.committed(seq);
    }
    // Deleted with its lead, once the delete is committed.
    if let Some(data_dir) = path.parent() {
        for p in photos {
            let _ = std::fs::remove_file(data_dir.join(p));
        }
    }
    free_elsewhere(garbage);
    Ok((results, times.total))
}
