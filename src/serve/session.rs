//! One SSH channel's TUI: the same `tui::Session` a local terminal runs, on a thread of its own,
//! drawing into the channel and fed by the channel's bytes through the input parser.
//!
//! Three parts per session:
//! - the session thread: `Session::run_on` on an `SshBackend`, as `reach` runs locally;
//! - the input task: channel bytes and window changes into terminal events, the lone-Esc timer and
//!   the idle timer (on keystrokes only; live updates never keep a session alive);
//! - the writer task: queued frames into the channel, then exit status, EOF and close.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crossterm::event::Event as TermEvent;
use russh::server::Handle;
use russh::ChannelId;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use super::input::{InputParser, ESC_TIMEOUT};
use super::limits::{Limits, Place};
use super::term::{ChannelWriter, Out, SshBackend, WinSize};
use crate::store::Store;
use crate::tui::keymap::Keymap;
use crate::tui::{Event, Settings};
use crate::workspace::{View, Workspace};

/// What every session is started with: the server's one store, its runtime, and the config's
/// keys and Telegram settings.
#[derive(Clone)]
pub struct Setup {
    pub store: Store,
    pub rt: tokio::runtime::Handle,
    pub keys: Keymap,
    pub settings: Settings,
    pub read_receipts: bool,
    pub limits: Arc<Limits>,
    /// Set to a goodbye line when the server stops.
    pub shutdown: watch::Receiver<Option<String>>,
}

/// From the SSH handler to the session's input task.
#[derive(Debug)]
pub enum Input {
    Bytes(Vec<u8>),
    Resize(u32, u32),
}

/// Why a session ended; the first reason given wins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    Quit,
    ClientGone,
    Idle(Duration),
    Shutdown(String),
    Failed(String),
}

#[derive(Default)]
pub struct Stop(Mutex<Option<Ended>>);

impl Stop {
    pub fn end(&self, why: Ended) {
        let mut e = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if e.is_none() {
            *e = Some(why);
        }
    }

    pub fn ended(&self) -> Option<Ended> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// The handler's side of a running session. Dropping it (the connection went away) ends the
/// session: the input task sees its channel close.
pub struct Live {
    input: mpsc::UnboundedSender<Input>,
    /// Input bytes the session has not taken yet; see `give`.
    queued: Arc<AtomicUsize>,
}

/// Input a session may have waiting before the client is taken to be flooding it.
const INPUT_CAP: usize = 1 << 20;

impl Live {
    /// Hands the session its input without ever waiting: the SSH handler must not block, or this
    /// connection's own output (and window updates) would stall behind it. False when the
    /// session is gone or has more than `INPUT_CAP` bytes waiting.
    pub fn give(&self, input: Input) -> bool {
        let n = match &input {
            Input::Bytes(b) => b.len(),
            Input::Resize(..) => 16,
        };
        if self.queued.fetch_add(n, Ordering::SeqCst) + n > INPUT_CAP {
            return false;
        }
        self.input.send(input).is_ok()
    }
}

/// A connection's identity and channel, for the log and the session.
pub struct Who {
    pub user: String,
    pub conn: u64,
    pub channel: ChannelId,
    pub handle: Handle,
    /// Told when the session is over, so the connection is cut even if its client reads nothing.
    pub over: Arc<tokio::sync::Notify>,
}

/// The workspace a user's session opens in: the one `org use` remembered, if the user still
/// belongs there, else their personal one.
pub fn workspace_for(store: &Store, user: &str) -> Workspace {
    let remembered = store.remembered_workspace(user).ok().flatten().and_then(|k| Workspace::from_key(&k));
    match remembered {
        Some(ws) if matches!(store.scope(user, &ws, View::Own), Ok(Ok(_))) => ws,
        _ => Workspace::Personal(user.to_string()),
    }
}

/// Starts the session's thread and tasks.
pub fn start(setup: &Setup, who: Who, place: Place, size: (u32, u32)) -> std::io::Result<Live> {
    let limits = Arc::clone(&setup.limits);
    let (input, input_rx) = mpsc::unbounded_channel::<Input>();
    let queued = Arc::new(AtomicUsize::new(0));
    let queued2 = Arc::clone(&queued);
    let (out, out_rx) = mpsc::channel::<Out>(limits.output_frames.max(1));
    setup.rt.spawn(writer(out_rx, who.handle.clone(), who.channel));
    let size = Arc::new(WinSize::new(size.0, size.1));
    let setup = setup.clone();
    std::thread::Builder::new().name(format!("reach-ssh-{}", who.conn)).spawn(move || {
        let stop = Arc::new(Stop::default());
        // A panic in the TUI ends this session with a word to its client, not a frozen screen.
        let ended = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            run(&setup, &who, (input_rx, queued2), out.clone(), Arc::clone(&size), &stop)
        }))
        .unwrap_or_else(|panic| {
            let what =
                panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned());
            tracing::error!(conn = who.conn, user = %who.user, "the session panicked: {}", what.unwrap_or_default());
            Ended::Failed("an internal error (see the server's log)".into())
        });
        // A gone client gets nothing more; the others their terminal back (again, after a
        // failure, which may have struck before `run` restored it) and the reason.
        if ended == Ended::ClientGone {
            let _ = out.try_send(Out::End { status: 0, line: None });
        }
        let writer = ChannelWriter::new(out, limits.output_stall);
        if matches!(ended, Ended::Failed(_)) {
            let _ = writer.send(Out::Bytes(LEAVE.to_vec()));
        }
        let (status, line) = match &ended {
            Ended::Quit => (0, None),
            Ended::ClientGone => (0, None),
            Ended::Idle(d) => (0, Some(format!("reach: no key pressed for {}; disconnected", span(*d)))),
            Ended::Shutdown(why) => (0, Some(format!("reach: {why}"))),
            Ended::Failed(why) => (1, Some(format!("reach: the session failed: {why}"))),
        };
        tracing::info!(conn = who.conn, user = %who.user, reason = ?ended, "session ended");
        if ended != Ended::ClientGone {
            let _ = writer.send(Out::End { status, line });
        }
        drop(place);
        who.over.notify_one();
    })?;
    Ok(Live { input, queued })
}

/// "30 minutes", "90 seconds": a duration as the goodbye line says it.
fn span(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        1 => "1 second".into(),
        s if s < 120 || s % 60 != 0 => format!("{s} seconds"),
        s => format!("{} minutes", s / 60),
    }
}

/// Enter the alternate screen, hide the cursor, ask for bracketed paste; and their undoing.
const ENTER: &[u8] = b"\x1b[?1049h\x1b[?25l\x1b[?2004h";
const LEAVE: &[u8] = b"\x1b[?2004l\x1b[0m\x1b[?25h\x1b[?1049l";

fn run(
    setup: &Setup,
    who: &Who,
    input_rx: (mpsc::UnboundedReceiver<Input>, Arc<AtomicUsize>),
    out: mpsc::Sender<Out>,
    size: Arc<WinSize>,
    stop: &Arc<Stop>,
) -> Ended {
    use std::io::Write;
    let workspace = workspace_for(&setup.store, &who.user);
    tracing::info!(conn = who.conn, user = %who.user, %workspace, "session started");
    let mut session = crate::tui::Session::start(
        setup.rt.clone(),
        setup.store.clone(),
        who.user.clone(),
        workspace,
        View::Own,
        setup.keys.clone(),
        setup.settings.clone(),
    );
    session.read_receipts(setup.read_receipts);
    setup.rt.spawn(input_task(
        input_rx,
        session.events(),
        Arc::clone(stop),
        Arc::clone(&size),
        Arc::clone(&setup.limits),
        setup.shutdown.clone(),
    ));
    let mut backend = SshBackend::new(ChannelWriter::new(out, setup.limits.output_stall), size);
    if let Err(e) = backend.writer().write_all(ENTER) {
        return Ended::Failed(e.to_string());
    }
    let mut terminal = match ratatui::Terminal::new(backend) {
        Ok(t) => t,
        Err(e) => return Ended::Failed(e.to_string()),
    };
    let stop_seen = Arc::clone(stop);
    let result = session.run_on(&mut terminal, &mut |_| stop_seen.ended().is_none());
    if session.model().quit {
        stop.end(Ended::Quit);
    }
    let mut gone = false;
    if let Err(e) = result {
        gone = is_kind(&e, std::io::ErrorKind::BrokenPipe) || is_kind(&e, std::io::ErrorKind::TimedOut);
        stop.end(if gone { Ended::ClientGone } else { Ended::Failed(format!("{e:#}")) });
    }
    // The client's terminal back as it was whenever it may still be reading (after an EOF of its
    // input it may be); not to a client that stopped reading, which would only wait again.
    if !gone {
        let w = terminal.backend_mut().writer();
        let _ = w.write_all(LEAVE).and_then(|()| w.flush());
    }
    stop.ended().unwrap_or(Ended::ClientGone)
}

fn is_kind(e: &anyhow::Error, kind: std::io::ErrorKind) -> bool {
    e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == kind)
}

/// Hands one event to the session, waiting while its queue is full (back-pressure on this client
/// only). False when the session is gone.
async fn deliver(events: &SyncSender<Event>, mut ev: Event) -> bool {
    loop {
        match events.try_send(ev) {
            Ok(()) => return true,
            Err(TrySendError::Disconnected(_)) => return false,
            Err(TrySendError::Full(back)) => {
                ev = back;
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }
}

struct EndOnDrop(Arc<Stop>, SyncSender<Event>);

impl Drop for EndOnDrop {
    fn drop(&mut self) {
        self.0.end(Ended::ClientGone);
        wake(&self.1);
    }
}

/// Any event wakes the session loop, which then sees `Stop` after its draw.
fn wake(events: &SyncSender<Event>) {
    let _ = events.try_send(Event::Term(TermEvent::FocusLost));
}

async fn input_task(
    (mut rx, queued): (mpsc::UnboundedReceiver<Input>, Arc<AtomicUsize>),
    events: SyncSender<Event>,
    stop: Arc<Stop>,
    size: Arc<WinSize>,
    limits: Arc<Limits>,
    mut shutdown: watch::Receiver<Option<String>>,
) {
    // However this task ends, dropped with the runtime included, the session ends with it: else
    // its thread, waiting for events, would outlive the connection (and keep the runtime's
    // shutdown waiting on its workers).
    let _ends = EndOnDrop(Arc::clone(&stop), events.clone());
    let mut parser = InputParser::new(limits.paste_cap);
    let mut parsed = Vec::new();
    let mut last_key = Instant::now();
    let mut last_byte = Instant::now();
    loop {
        let wait = parser.wait();
        let wake_at = last_byte + wait.unwrap_or(ESC_TIMEOUT);
        tokio::select! {
            got = rx.recv() => match got {
                Some(Input::Bytes(b)) => {
                    queued.fetch_sub(b.len(), Ordering::SeqCst);
                    last_key = Instant::now();
                    last_byte = last_key;
                    parser.feed(&b, &mut parsed);
                }
                Some(Input::Resize(cols, rows)) => {
                    queued.fetch_sub(16, Ordering::SeqCst);
                    size.set(cols, rows);
                    let now = size.get();
                    parsed.push(TermEvent::Resize(now.width, now.height));
                }
                None => {
                    stop.end(Ended::ClientGone);
                    break;
                }
            },
            _ = tokio::time::sleep_until(wake_at), if wait.is_some() => parser.timeout(&mut parsed),
            _ = tokio::time::sleep_until(last_key + limits.idle) => {
                stop.end(Ended::Idle(limits.idle));
                break;
            }
            changed = shutdown.changed() => {
                let why = shutdown.borrow().clone();
                if changed.is_err() || why.is_some() {
                    stop.end(Ended::Shutdown(why.unwrap_or_else(|| "the server stopped".into())));
                    break;
                }
            }
        }
        for ev in parsed.drain(..) {
            if !deliver(&events, Event::Term(ev)).await {
                return;
            }
        }
    }
}

/// Frames into the channel, in order; then the goodbye.
async fn writer(mut rx: mpsc::Receiver<Out>, handle: Handle, channel: ChannelId) {
    while let Some(out) = rx.recv().await {
        match out {
            Out::Bytes(b) => {
                if handle.data(channel, b).await.is_err() {
                    break;
                }
            }
            Out::End { status, line } => {
                if let Some(line) = line {
                    let _ = handle.data(channel, format!("{line}\r\n").into_bytes()).await;
                }
                let _ = handle.exit_status_request(channel, status).await;
                let _ = handle.eof(channel).await;
                let _ = handle.close(channel).await;
                break;
            }
        }
    }
}
