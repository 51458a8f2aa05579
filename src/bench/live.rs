//! `reach bench live`: how soon a write made by another process shows in a running TUI, and what
//! following the change feed costs while nothing changes. The parent fills the store and writes; a
//! child (this binary again) runs the real session on a test backend and says when its model shows
//! each write. They speak in lines: the parent announces a write, the child answers once it watches
//! for it, the parent commits and notes the time, and the child answers with the time its model
//! showed the write. Both clocks are this machine's wall clock.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use crossterm::event::Event as TermEvent;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::USER;
use crate::model::{LeadInput, Source};
use crate::store::{Outcome, Store, WriteCtx, WriteOp, FEED_POLL};
use crate::tui::ui::thousands;
use crate::tui::{Event, Model};
use crate::workspace::Workspace;

/// Single edits, and batches of each kind, the parent writes.
const SINGLES: usize = 50;
const BATCHES: usize = 10;
const BATCH: usize = 1_000;
/// The idle window the child measures its CPU over.
const IDLE: Duration = Duration::from_secs(5);
/// Startup work (the search index build) runs on after the list shows; idle starts once a second
/// of it uses less than this share of a core, or after `SETTLE_CAP`.
const SETTLED: f64 = 0.10;
const SETTLE_CAP: Duration = Duration::from_secs(30);
/// How long the child watches for one write before it calls it missed: many polls of the feed.
const SEEN_CAP: Duration = Duration::from_secs(20);
/// How long the parent waits for the child to load the list and measure idle, and for any later
/// answer, before it gives up on the child.
const READY_CAP: Duration = Duration::from_secs(600);
const ANSWER_CAP: Duration = Duration::from_secs(30);

/// The bench's own folder under `--dir`, as `bench tui` keeps one.
fn store_dir(dir: &Path) -> PathBuf {
    dir.join("bench-live")
}

/// What the child watches for, as the parent announces it: one line, numbered.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Watch {
    /// These leads show this first name.
    Named { marker: String, ids: Vec<u64> },
    /// The list holds this many more leads than when watching began.
    More(usize),
}

impl Watch {
    fn line(&self, k: usize) -> String {
        match self {
            Watch::Named { marker, ids } => {
                let ids: Vec<String> = ids.iter().map(u64::to_string).collect();
                format!("{k} named {marker} {}", ids.join(" "))
            }
            Watch::More(n) => format!("{k} more {n}"),
        }
    }

    fn parse(line: &str) -> Option<(usize, Watch)> {
        let mut words = line.split_whitespace();
        let k = words.next()?.parse().ok()?;
        let watch = match words.next()? {
            "named" => {
                let marker = words.next()?.to_string();
                let ids = words.map(|w| w.parse().ok()).collect::<Option<Vec<u64>>>()?;
                Watch::Named { marker, ids }
            }
            "more" => Watch::More(words.next()?.parse().ok()?),
            _ => return None,
        };
        Some((k, watch))
    }
}

/// The child's answers; any other line it prints is a figure, passed through as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// The list is loaded and idle is measured: writes may start.
    Ready,
    Watching(usize),
    /// Write `k` showed at this wall-clock time, in microseconds since the epoch.
    Seen(usize, u64),
    Missed(usize),
}

impl Answer {
    fn line(self) -> String {
        match self {
            Answer::Ready => "@ready".into(),
            Answer::Watching(k) => format!("@watching {k}"),
            Answer::Seen(k, at) => format!("@seen {k} {at}"),
            Answer::Missed(k) => format!("@missed {k}"),
        }
    }

    fn parse(line: &str) -> Option<Answer> {
        let mut words = line.strip_prefix('@')?.split_whitespace();
        let word = words.next()?;
        let mut num = || words.next().and_then(|w| w.parse::<u64>().ok());
        Some(match word {
            "ready" => Answer::Ready,
            "watching" => Answer::Watching(num()? as usize),
            "seen" => Answer::Seen(num()? as usize, num()?),
            "missed" => Answer::Missed(num()? as usize),
            _ => return None,
        })
    }
}

fn now_micros() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

/// The measuring child; killed and reaped if the parent stops early, so it never outlives the bench.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// One kind of write and what its rounds measured.
struct Rounds {
    label: String,
    /// Commit to the session's model showing it.
    shown: Vec<Duration>,
    /// How long `Store::write` took, fsync included.
    commit: Vec<Duration>,
    missed: usize,
}

impl Rounds {
    fn new(label: impl Into<String>) -> Rounds {
        Rounds { label: label.into(), shown: Vec::new(), commit: Vec::new(), missed: 0 }
    }

    fn print(mut self) {
        self.shown.sort_unstable();
        self.commit.sort_unstable();
        let ms = |d: Option<Duration>| {
            d.map(|d| format!("{:>5.0} ms", d.as_secs_f64() * 1e3)).unwrap_or_else(|| "  n/a".into())
        };
        let missed = if self.missed > 0 { format!("   missed {}", self.missed) } else { String::new() };
        println!(
            "{:<26} n={:<3} p50 {}  p95 {}  max {}   (the write itself: p50 {}){missed}",
            self.label,
            self.shown.len(),
            ms(super::percentile(&self.shown, 0.50)),
            ms(super::percentile(&self.shown, 0.95)),
            ms(self.shown.last().copied()),
            ms(super::percentile(&self.commit, 0.50)).trim_start(),
        );
    }
}

/// The parent's side of the talk: announcing writes to the child and reading its answers.
struct Link {
    to: std::process::ChildStdin,
    answers: Receiver<Answer>,
}

impl Link {
    fn next(&self, cap: Duration) -> anyhow::Result<Answer> {
        match self.answers.recv_timeout(cap) {
            Ok(a) => Ok(a),
            Err(RecvTimeoutError::Timeout) => anyhow::bail!("the measuring child said nothing for {cap:?}"),
            Err(RecvTimeoutError::Disconnected) => anyhow::bail!("the measuring child ended early"),
        }
    }

    /// Announces write `k`, waits until the child watches for it, writes it, and waits until the
    /// child sees it (or says it missed it).
    fn round(
        &mut self,
        k: usize,
        watch: &Watch,
        rounds: &mut Rounds,
        write: impl FnOnce() -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        writeln!(self.to, "{}", watch.line(k))?;
        loop {
            match self.next(ANSWER_CAP)? {
                Answer::Watching(j) if j == k => break,
                // The session was too busy to take the watch in time: nothing was written.
                Answer::Missed(j) if j == k => {
                    rounds.missed += 1;
                    return Ok(());
                }
                _ => continue,
            }
        }
        let t = Instant::now();
        write()?;
        let committed = now_micros();
        rounds.commit.push(t.elapsed());
        loop {
            match self.next(SEEN_CAP + ANSWER_CAP)? {
                Answer::Seen(j, at) if j == k => {
                    rounds.shown.push(Duration::from_micros(at.saturating_sub(committed)));
                    return Ok(());
                }
                Answer::Missed(j) if j == k => {
                    rounds.missed += 1;
                    return Ok(());
                }
                _ => continue,
            }
        }
    }
}

/// Existing leads to edit: up to `want` ids spread evenly over the store.
fn edit_targets(store: &Store, ws: &str, want: usize) -> anyhow::Result<Vec<u64>> {
    let have = store.count(ws)?;
    let stride = (have / want.max(1) as u64).max(1);
    let candidates: Vec<u64> = (0..want as u64).map(|i| 1 + i * stride).collect();
    let mut found = Vec::with_capacity(want);
    store.visit_ids(ws, &candidates, |l| found.push(l.id))?;
    Ok(found)
}

/// Edits every lead of `ids` to first name `marker` in one write, and checks each one took.
fn edit(store: &Store, ctx: &WriteCtx, marker: &str, ids: &[u64]) -> anyhow::Result<()> {
    let cand = LeadInput { first_name: Some(marker.into()), ..Default::default() }.validate(Source::Manual, None)?;
    let ops = ids.iter().map(|&id| WriteOp::Edit { id, cand: cand.clone() }).collect();
    let out = store.write(ctx.clone(), ops)?;
    let odd = out.iter().find(|o| !matches!(o, Outcome::Updated { .. }));
    anyhow::ensure!(odd.is_none(), "an edit did not take: {odd:?}");
    Ok(())
}

/// Writes `count` new leads in one write, named after `run` and `batch` so no rerun merges them.
fn create(store: &Store, ctx: &WriteCtx, run: u64, batch: usize, count: usize) -> anyhow::Result<()> {
    let ops = (0..count)
        .map(|i| {
            let input = LeadInput {
                username: Some(format!("live{run}_{batch}_{i}")),
                first_name: Some(format!("Live {batch}.{i}")),
                ..Default::default()
            };
            Ok(WriteOp::Upsert(input.validate(Source::Manual, None)?))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let out = store.write(ctx.clone(), ops)?;
    let odd = out.iter().find(|o| !matches!(o, Outcome::Created { .. }));
    anyhow::ensure!(odd.is_none(), "a new lead was not created: {odd:?}");
    Ok(())
}

/// A pause before write `k`, spread over one poll interval: writes made right after the child
/// saw the last one would all land at the same point of its polling and always wait as long.
fn pause(k: usize) -> Duration {
    const GOLDEN: f64 = 0.618_033_988_749_895;
    FEED_POLL.mul_f64((k as f64 * GOLDEN).fract())
}

/// Fills (or reuses) the store, starts the session in a child, and writes from this process.
pub fn run(n: u64, root: &Path) -> anyhow::Result<()> {
    let dir = store_dir(root);
    let store = super::filled_store(&dir, n)?;
    let ws = Workspace::Personal(USER.into()).key();
    let ctx = WriteCtx { workspace: ws.clone(), actor: USER.into() };
    let targets = edit_targets(&store, &ws, SINGLES + BATCHES * BATCH)?;
    let (singles, batched) = targets.split_at(SINGLES.min(targets.len()));
    // Markers and usernames of this run: unlike any earlier run's over a reused store.
    let run = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);

    let mut child = Child(
        Command::new(std::env::current_exe()?)
            .args(["bench", "live-child", "--dir"])
            .arg(root)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()?,
    );
    let to = child.0.stdin.take().context("the child's stdin")?;
    let from = child.0.stdout.take().context("the child's stdout")?;
    let (tx, answers) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(from).lines().map_while(Result::ok) {
            match Answer::parse(&line) {
                Some(a) if tx.send(a).is_ok() => {}
                Some(_) => return,
                None => println!("{line}"),
            }
        }
    });
    let mut link = Link { to, answers };
    while link.next(READY_CAP)? != Answer::Ready {}

    println!(
        "from a commit in another process to the session's model showing it (such commits are seen by polling every {} ms):",
        FEED_POLL.as_millis()
    );
    let mut k = 0;
    let mut single = Rounds::new("single edit");
    for &id in singles {
        std::thread::sleep(pause(k));
        let marker = format!("Live{run}e{k}");
        let watch = Watch::Named { marker: marker.clone(), ids: vec![id] };
        link.round(k, &watch, &mut single, || edit(&store, &ctx, &marker, &[id]))?;
        k += 1;
    }
    single.print();
    let mut edits = Rounds::new(format!("batch of {} edits", thousands(BATCH as u64)));
    for ids in batched.chunks_exact(BATCH) {
        std::thread::sleep(pause(k));
        let marker = format!("Live{run}b{k}");
        let watch = Watch::Named { marker: marker.clone(), ids: ids.to_vec() };
        link.round(k, &watch, &mut edits, || edit(&store, &ctx, &marker, ids))?;
        k += 1;
    }
    edits.print();
    let mut created = Rounds::new(format!("batch of {} new leads", thousands(BATCH as u64)));
    for batch in 0..BATCHES {
        std::thread::sleep(pause(k));
        link.round(k, &Watch::More(BATCH), &mut created, || create(&store, &ctx, run, batch, BATCH))?;
        k += 1;
    }
    created.print();

    // Closing its input ends the child.
    drop(link);
    let deadline = Instant::now() + ANSWER_CAP;
    while Instant::now() < deadline {
        if let Some(status) = child.0.try_wait()? {
            anyhow::ensure!(status.success(), "the measuring child failed: {status}");
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    anyhow::bail!("the measuring child did not end within {ANSWER_CAP:?}")
}

/// What the UI thread tells the child's control thread.
enum Shown {
    Loaded { rows: usize },
    Failed(String),
    Watching(usize),
    Seen(usize, u64),
}

/// What the control thread asks of the UI thread.
#[derive(Default)]
struct Asked {
    watch: Option<(usize, Watch)>,
    stop: bool,
}

/// A watch made concrete against the model it starts on.
enum Goal {
    Named { marker: String, ids: Vec<u64> },
    Rows(usize),
}

impl Goal {
    fn of(watch: Watch, m: &Model) -> Goal {
        match watch {
            Watch::Named { marker, ids } => Goal::Named { marker, ids },
            Watch::More(n) => Goal::Rows(m.leads.len() + n),
        }
    }

    fn met(&self, m: &Model) -> bool {
        match self {
            Goal::Named { marker, ids } => {
                ids.iter().all(|&id| m.leads.get(id).is_some_and(|r| r.first_name() == marker))
            }
            Goal::Rows(n) => m.leads.len() >= *n,
        }
    }
}

/// The measuring side: the real session on a 200x50 test backend on this thread, and a control
/// thread that measures idle CPU and then talks with the parent.
pub fn child(root: &Path, rt: tokio::runtime::Handle) -> anyhow::Result<()> {
    let dir = store_dir(root);
    let start = Instant::now();
    let store = Store::open(&dir.join("reach.redb"))?;
    let mut session = super::tui::session(&dir, store, rt);
    let wake = session.events();
    let asked = Arc::new(Mutex::new(Asked::default()));
    let draws = Arc::new(AtomicU64::new(0));
    let (tell, shown) = mpsc::channel();
    let control = {
        let (asked, draws) = (Arc::clone(&asked), Arc::clone(&draws));
        std::thread::spawn(move || {
            let result = control(&shown, &asked, &wake, &draws, start);
            // Whatever happened, the session stops too.
            if let Ok(mut a) = asked.lock() {
                a.stop = true;
            }
            let _ = wake.send(Event::Term(TermEvent::FocusGained));
            result
        })
    };
    let mut terminal = Terminal::new(TestBackend::new(200, 50))?;
    let (mut loaded, mut goal) = (false, None::<(usize, Goal)>);
    session.run_on(&mut terminal, &mut |m| {
        draws.fetch_add(1, Ordering::Relaxed);
        if m.loading {
            // A load that fails leaves the TUI showing why; the bench stops and says it.
            if let Some((why, true)) = &m.message {
                let _ = tell.send(Shown::Failed(why.clone()));
                return false;
            }
            return true;
        }
        if !loaded {
            loaded = true;
            let _ = tell.send(Shown::Loaded { rows: m.leads.len() });
        }
        let Ok(mut a) = asked.lock() else { return false };
        if a.stop {
            return false;
        }
        if let Some((k, watch)) = a.watch.take() {
            goal = Some((k, Goal::of(watch, m)));
            let _ = tell.send(Shown::Watching(k));
        }
        drop(a);
        if let Some((k, _)) = goal.as_ref().filter(|(_, g)| g.met(m)) {
            let _ = tell.send(Shown::Seen(*k, now_micros()));
            goal = None;
        }
        true
    })?;
    drop(tell);
    control.join().map_err(|_| anyhow::anyhow!("the control thread panicked"))?
}

/// The child's control thread: waits for the list, lets startup work finish, measures idle, then
/// watches for each write the parent announces on stdin until stdin closes.
fn control(
    shown: &Receiver<Shown>,
    asked: &Mutex<Asked>,
    wake: &std::sync::mpsc::SyncSender<Event>,
    draws: &AtomicU64,
    start: Instant,
) -> anyhow::Result<()> {
    let rows = match shown.recv_timeout(READY_CAP) {
        Ok(Shown::Loaded { rows }) => rows,
        Ok(Shown::Failed(why)) => anyhow::bail!("the TUI could not load the store: {why}"),
        Ok(_) => anyhow::bail!("the session answered before its list loaded"),
        Err(_) => anyhow::bail!("the list did not load within {READY_CAP:?}"),
    };
    println!("leads in the list          {rows}, loaded and drawn in {:.1}s", start.elapsed().as_secs_f64());

    let cpu = || super::cpu_time().context("this platform does not tell a process's CPU time");
    let settle = Instant::now();
    loop {
        let (t, c) = (Instant::now(), cpu()?);
        std::thread::sleep(Duration::from_secs(1));
        let share = (cpu()? - c).as_secs_f64() / t.elapsed().as_secs_f64();
        if share < SETTLED || settle.elapsed() > SETTLE_CAP {
            break;
        }
    }
    let settled = settle.elapsed();
    let (t, c, d) = (Instant::now(), cpu()?, draws.load(Ordering::Relaxed));
    std::thread::sleep(IDLE);
    let share = (cpu()? - c).as_secs_f64() / t.elapsed().as_secs_f64();
    println!(
        "idle CPU over {} s          {:.2}% of one core, {} frames drawn (startup work settled after {:.0} s)",
        IDLE.as_secs(),
        share * 100.0,
        draws.load(Ordering::Relaxed) - d,
        settled.as_secs_f64(),
    );
    println!("{}", Answer::Ready.line());

    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let (k, watch) = Watch::parse(&line).with_context(|| format!("the parent said {line:?}"))?;
        asked.lock().map_err(|_| anyhow::anyhow!("the UI thread panicked"))?.watch = Some((k, watch));
        // The UI thread takes the watch after its next draw, which this event brings about.
        wake.send(Event::Term(TermEvent::FocusGained))?;
        let deadline = Instant::now() + SEEN_CAP;
        let mut answer = Answer::Missed(k);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match shown.recv_timeout(left) {
                Ok(Shown::Watching(j)) if j == k => println!("{}", Answer::Watching(k).line()),
                Ok(Shown::Seen(j, at)) if j == k => {
                    answer = Answer::Seen(k, at);
                    break;
                }
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => anyhow::bail!("the session ended early"),
            }
        }
        println!("{}", answer.line());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watches_and_answers_read_back_as_written() {
        for (k, w) in [(3, Watch::Named { marker: "Live1e3".into(), ids: vec![1, 20, 300] }), (12, Watch::More(1000))] {
            assert_eq!(Watch::parse(&w.line(k)), Some((k, w)));
        }
        for a in [Answer::Ready, Answer::Watching(4), Answer::Seen(5, 1_700_000_000_123_456), Answer::Missed(6)] {
            assert_eq!(Answer::parse(&a.line()), Some(a));
        }
        // A figure line the child prints is passed through, not taken for an answer.
        assert_eq!(Answer::parse("leads in the list 1000"), None);
        assert_eq!(Watch::parse("3 named"), None);
    }

    #[test]
    fn pauses_spread_over_one_poll_interval() {
        let mut p: Vec<Duration> = (0..50).map(pause).collect();
        assert!(p.iter().all(|d| *d < FEED_POLL));
        p.sort_unstable();
        // No two in a row of the sorted fifty are further apart than a tenth of the interval.
        assert!(p.windows(2).all(|w| w[1] - w[0] < FEED_POLL / 10), "{p:?}");
    }
}
