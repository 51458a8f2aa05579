//! Background work: one tokio runtime for the process, and jobs on it. A job has a typed id, a
//! cancel token, and progress kept as a latest value (a watch channel: a slow reader sees the
//! newest figure, never a backlog). A job that panics is reported, never lost in silence, and a
//! long-lived worker is restarted after reporting.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::runtime::Handle;
use tokio::sync::watch;

/// The process's runtime, built once by `main`: store work and blocking jobs go to its blocking
/// pool, Telegram's async work to its two workers (this machine class has two cores). Every TUI
/// session keeps seven long-lived workers on the blocking pool, so `reach serve` at its session cap
/// would nearly fill tokio's default 512 and leave a job queued behind workers that never end.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(4096)
        .thread_name("reach-rt")
        .enable_all()
        .build()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub u64);

/// What a job does; at most one job of a kind that `Jobs::start` replaces runs at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Load,
    Write,
    Search,
    Detail,
    Segments,
    Export,
    Complete,
    Preview,
    Import,
    Crawl,
    Crawls,
    Accounts,
    Login,
    Feed,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Load => "load",
            Kind::Write => "write",
            Kind::Search => "search",
            Kind::Detail => "detail",
            Kind::Segments => "segment counts",
            Kind::Export => "export",
            Kind::Complete => "path completion",
            Kind::Preview => "import preview",
            Kind::Import => "import",
            Kind::Crawl => "crawl",
            Kind::Crawls => "crawl list",
            Kind::Accounts => "accounts",
            Kind::Login => "login",
            Kind::Feed => "change feed",
        }
    }
}

/// A job's cancel token: set once, read by the job between units of work.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// The flag itself, for code that takes an `AtomicBool` (the import pipeline).
    pub fn flag(&self) -> &AtomicBool {
        &self.0
    }

    /// The shared flag, for code that keeps it (the crawl engine).
    pub fn shared(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.0)
    }
}

/// The writing end of a job's progress: each `set` replaces the last value.
pub struct Progress<T>(watch::Sender<Option<T>>);

impl<T> Progress<T> {
    pub fn set(&self, value: T) {
        self.0.send_replace(Some(value));
    }
}

/// The reading end: the newest value, once per change.
pub struct Latest<T>(watch::Receiver<Option<T>>);

impl<T: Clone> Latest<T> {
    pub fn take_new(&mut self) -> Option<T> {
        // Also after the job ended (the sender is gone): its last value may not have been seen.
        let value = self.0.borrow_and_update();
        if value.has_changed() {
            value.clone()
        } else {
            None
        }
    }
}

pub fn progress<T>() -> (Progress<T>, Latest<T>) {
    let (tx, rx) = watch::channel(None);
    (Progress(tx), Latest(rx))
}

/// How often a worker is started again after a panic before it is given up.
const WORKER_RESTARTS: usize = 5;

/// Who hears of a job that panicked: its kind and the panic's message.
pub type Report = Arc<dyn Fn(Kind, String) + Send + Sync>;

thread_local! {
    static IN_JOB: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this thread is running a job: a panic hook leaves such a panic to the job's report
/// (a TUI's terminal must not be restored, nor the message printed over its screen).
pub fn in_job() -> bool {
    IN_JOB.with(|f| f.get())
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic".into())
}

struct Running {
    kind: Kind,
    cancel: Cancel,
    done: tokio::task::JoinHandle<()>,
}

/// The jobs of one session (or one command).
pub struct Jobs {
    rt: Handle,
    report: Report,
    next: u64,
    running: Vec<Running>,
}

impl Jobs {
    pub fn new(rt: Handle, report: Report) -> Jobs {
        Jobs { rt, report, next: 0, running: Vec::new() }
    }

    pub fn handle(&self) -> &Handle {
        &self.rt
    }

    /// Runs `work` on the blocking pool with a cancel token of its own. A panic is reported.
    pub fn spawn(&mut self, kind: Kind, work: impl FnOnce(Cancel) + Send + 'static) -> JobId {
        self.running.retain(|r| !r.done.is_finished());
        self.next += 1;
        let (id, cancel, report) = (JobId(self.next), Cancel::default(), Arc::clone(&self.report));
        let token = cancel.clone();
        let done = self.rt.spawn_blocking(move || {
            IN_JOB.with(|f| f.set(true));
            let result = catch_unwind(AssertUnwindSafe(|| work(token)));
            IN_JOB.with(|f| f.set(false));
            if let Err(payload) = result {
                report(kind, panic_text(&*payload));
            }
        });
        self.running.push(Running { kind, cancel, done });
        id
    }

    /// `spawn`, after cancelling any running job of the same kind (a newer preview replaces an older one).
    pub fn replace(&mut self, kind: Kind, work: impl FnOnce(Cancel) + Send + 'static) -> JobId {
        self.cancel(kind);
        self.spawn(kind, work)
    }

    /// A long-lived worker: `body` runs until it returns (its queue closed); after a panic it is
    /// reported and started again, so one bad input never leaves a view without its worker.
    pub fn worker(&mut self, kind: Kind, mut body: impl FnMut() + Send + 'static) -> JobId {
        let report = Arc::clone(&self.report);
        self.spawn(kind, move |_| {
            for _ in 0..WORKER_RESTARTS {
                match catch_unwind(AssertUnwindSafe(&mut body)) {
                    Ok(()) => return,
                    Err(payload) => report(kind, panic_text(&*payload)),
                }
            }
            // Something fails every time: stop, and say so, rather than fail forever.
            report(kind, format!("stopped after failing {WORKER_RESTARTS} times"));
        })
    }

    /// Asks every running job of `kind` to stop.
    pub fn cancel(&mut self, kind: Kind) {
        self.running.retain(|r| !r.done.is_finished());
        self.running.iter().filter(|r| r.kind == kind).for_each(|r| r.cancel.cancel());
    }

    pub fn is_running(&self, kind: Kind) -> bool {
        self.running.iter().any(|r| r.kind == kind && !r.done.is_finished())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    fn jobs() -> (tokio::runtime::Runtime, Jobs, mpsc::Receiver<(Kind, String)>) {
        let rt = runtime().unwrap();
        let (tx, rx) = mpsc::channel();
        let tx = std::sync::Mutex::new(tx);
        let report: Report = Arc::new(move |k, why| {
            let _ = tx.lock().map(|t| t.send((k, why)));
        });
        let jobs = Jobs::new(rt.handle().clone(), report);
        (rt, jobs, rx)
    }

    #[test]
    fn a_panicking_job_is_reported_and_a_worker_restarts() {
        let (_rt, mut jobs, reports) = jobs();
        jobs.spawn(Kind::Export, |_| panic!("disk on fire"));
        let (kind, why) = reports.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!((kind, why.as_str()), (Kind::Export, "disk on fire"));

        let (tx, rx) = mpsc::channel::<u32>();
        let (seen_tx, seen) = mpsc::channel();
        jobs.worker(Kind::Search, move || {
            while let Ok(n) = rx.recv() {
                assert_ne!(n, 0, "zero is poison");
                let _ = seen_tx.send(n);
            }
        });
        for n in [1, 0, 2] {
            tx.send(n).unwrap();
        }
        assert_eq!(seen.recv_timeout(Duration::from_secs(5)).unwrap(), 1);
        assert_eq!(reports.recv_timeout(Duration::from_secs(5)).unwrap().0, Kind::Search);
        assert_eq!(seen.recv_timeout(Duration::from_secs(5)).unwrap(), 2, "the worker came back and went on");
        // A job's thread says so to a panic hook; other threads do not.
        let (tx, rx) = mpsc::channel();
        jobs.spawn(Kind::Export, move |_| {
            let _ = tx.send(in_job());
        });
        assert!(rx.recv_timeout(Duration::from_secs(5)).unwrap());
        assert!(!in_job());
    }

    #[test]
    fn cancel_reaches_the_job_and_progress_keeps_the_latest_value() {
        let (_rt, mut jobs, _) = jobs();
        let (p, mut latest) = progress::<u64>();
        let (done_tx, done) = mpsc::channel();
        jobs.spawn(Kind::Import, move |cancel| {
            for n in 0..3 {
                p.set(n);
            }
            while !cancel.is_cancelled() {
                std::thread::sleep(Duration::from_millis(1));
            }
            let _ = done_tx.send(());
        });
        assert!(jobs.is_running(Kind::Import));
        jobs.cancel(Kind::Import);
        done.recv_timeout(Duration::from_secs(5)).unwrap();
        assert_eq!(latest.take_new(), Some(2), "the newest value, not a backlog");
        assert_eq!(latest.take_new(), None, "once per change");
    }
}
