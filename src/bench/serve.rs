//! `reach bench serve`: K SSH clients on one `reach serve` over a store of N leads. The server is
//! this binary again, in a process of its own, so the RSS printed is the server's alone; the
//! clients run here and read their screens through a terminal emulator.

use std::io::BufRead;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::ssh_client::{first_row, openssh, Term};
use super::USER;
use crate::workspace::Workspace;

const SEED: u8 = 7;
const COLS: u32 = 200;
const ROWS: u32 = 50;
/// How long one session may take to load the list before the bench gives up.
const LOAD_LIMIT: Duration = Duration::from_secs(600);

/// The server process, killed when the bench ends however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Server {
    /// Resident memory now, from /proc.
    fn rss_mb(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.0.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
        let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024.0)
    }
}

pub fn run(n: u64, sessions: usize, root: &Path, rt: tokio::runtime::Handle) -> anyhow::Result<()> {
    let sessions = sessions.max(1);
    let dir = root.join("bench-serve");
    let total = {
        // Closed before the server opens it.
        let store = super::filled_store(&dir, n)?;
        store.count(&Workspace::Personal(USER.into()).key())?
    };
    let keys = dir.join("authorized_keys");
    std::fs::write(&keys, format!("environment=\"REACH_USER={USER}\" {}\n", openssh(&super::ssh_client::key(SEED))))?;
    let cap = (sessions + 1).to_string();
    let mut child = Command::new(std::env::current_exe()?)
        .arg("--data-dir")
        .arg(&dir)
        .args(["serve", "--listen", "127.0.0.1:0", "--no-accounts", "--idle-minutes", "600"])
        .args(["--max-sessions", &cap, "--max-sessions-per-user", &cap, "--keys"])
        .arg(&keys)
        .env("REACH_TELEGRAM", "simulated")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take();
    let server = Server(child);
    let mut lines =
        std::io::BufReader::new(stdout.ok_or_else(|| anyhow::anyhow!("no stdout from the server"))?).lines();
    let mut said = |prefix: &str| -> anyhow::Result<String> {
        let line = lines.next().transpose()?.unwrap_or_default();
        let rest = line.strip_prefix(prefix).ok_or_else(|| anyhow::anyhow!("the server said {line:?}"))?;
        Ok(rest.split_whitespace().next().unwrap_or_default().to_string())
    };
    let addr: SocketAddr = said("reach serve: listening on ")?.parse()?;
    let host_key = said("host key:")?;
    rt.block_on(measure(&server, addr, &host_key, total, sessions))
}

fn mb(v: Option<f64>) -> String {
    v.map(|m| format!("{m:.0} MB")).unwrap_or_else(|| "n/a".into())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1e3)
}

fn loaded(total: u64) -> impl Fn(&str) -> bool {
    let title = format!(" Leads {total} ");
    move |s: &str| s.contains(&title)
}

async fn open_loaded(addr: SocketAddr, host_key: &str, total: u64) -> anyhow::Result<(Term, Duration)> {
    let start = Instant::now();
    let t = Term::open(addr, host_key, SEED, COLS, ROWS).await?;
    match t.wait_until(LOAD_LIMIT, loaded(total)).await {
        Some(_) => Ok((t, start.elapsed())),
        None => anyhow::bail!("a session did not show its {total} leads within {LOAD_LIMIT:?}:\n{}", t.text()),
    }
}

async fn measure(server: &Server, addr: SocketAddr, host_key: &str, total: u64, k: usize) -> anyhow::Result<()> {
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss0 = server.rss_mb();
    let (first, took) = open_loaded(addr, host_key, total).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss1 = server.rss_mb();
    println!("{:<30}{total}", "leads in the store");
    println!("{:<30}{}", "server RSS, no session", mb(rss0));
    println!("{:<30}{} (its list loaded and drawn in {:.1} s)", "server RSS, 1 session", mb(rss1), took.as_secs_f64());

    // The others, two at a time (two cores): each loads the whole list.
    let mut others = Vec::new();
    let start = Instant::now();
    while others.len() + 1 < k {
        let batch = (k - 1 - others.len()).min(2);
        let opened = futures_join(addr, host_key, total, batch).await?;
        others.extend(opened);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_k = server.rss_mb();
    let per = match (rss1, rss_k) {
        (Some(a), Some(b)) if k > 1 => format!(", {:.1} MB per extra session", (b - a) / (k - 1) as f64),
        _ => String::new(),
    };
    println!(
        "{:<30}{}{per} (the other {} opened in {:.1} s)",
        format!("server RSS, {k} sessions"),
        mb(rss_k),
        k - 1,
        start.elapsed().as_secs_f64()
    );

    // A search typed in one session while the others idle: from the key leaving the client to
    // its results on that client's screen.
    first.send(b"/").await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (mut samples, mut echoes) = (Vec::new(), Vec::new());
    for round in 0..10 {
        let word = ["mar", "ann", "ole", "ivan", "kat"][round % 5];
        let mut query = String::new();
        for c in word.chars() {
            query.push(c);
            let sent = Instant::now();
            first.send(c.to_string().as_bytes()).await?;
            let typed = |s: &str| s.lines().nth(1).is_some_and(|l| l.contains(query.as_str()));
            let shown = |s: &str| typed(s) && !s.contains("searching…");
            if first.wait_until(Duration::from_secs(30), typed).await.is_some() {
                echoes.push(sent.elapsed());
            }
            match first.wait_until(Duration::from_secs(30), shown).await {
                Some(_) => samples.push(sent.elapsed()),
                None => anyhow::bail!("the search for {query:?} never showed:\n{}", first.text()),
            }
        }
        for _ in 0..word.len() {
            first.send(b"\x7f").await?;
        }
        if first.wait_until(Duration::from_secs(30), loaded(total)).await.is_none() {
            anyhow::bail!("the cleared search did not show every lead again:\n{}", first.text());
        }
    }
    samples.sort();
    echoes.sort();
    let pct = |v: &[Duration], p| super::percentile(v, p).map(ms).unwrap_or_else(|| "n/a".into());
    println!(
        "keystroke to screen (search, {} keys, {} idle sessions): results p50 {}, p95 {}, max {}; \
         the typed key itself p50 {}, p95 {}",
        samples.len(),
        k - 1,
        pct(&samples, 0.5),
        pct(&samples, 0.95),
        pct(&samples, 1.0),
        pct(&echoes, 0.5),
        pct(&echoes, 0.95)
    );

    // One user's edit, to every other screen: the top lead's status, set in the first session.
    first.send(b"\x1b").await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let top = first_row(&first.text()).unwrap_or_default().to_string();
    let before: Vec<String> = others.iter().map(|t| first_row(&t.text()).unwrap_or_default().to_string()).collect();
    first.send(b"s").await?;
    if first.wait_until(Duration::from_secs(10), |s| s.contains("archived")).await.is_none() {
        anyhow::bail!("the status popup did not open:\n{}", first.text());
    }
    // Away from the current status: active becomes blocked, anything else active.
    first.send(if top.contains("active") { b"j" } else { b"g" }).await?;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let sent = Instant::now();
    first.send(b"\r").await?;
    let mut reached = Vec::new();
    for (t, was) in others.iter().zip(&before) {
        match t.wait_until(Duration::from_secs(30), |s| first_row(s).is_some_and(|r| r != was)).await {
            Some(_) => reached.push(sent.elapsed()),
            None => anyhow::bail!("the edit never reached a screen:\n{}", t.text()),
        }
    }
    if let (Some(first), Some(last)) = (reached.iter().min(), reached.iter().max()) {
        println!("one edit to all {} other screens: {} (the first in {})", reached.len(), ms(*last), ms(*first));
    } else {
        println!("one edit to all other screens: n/a with one session");
    }
    Ok(())
}

/// Opens `n` sessions at once and waits for all their lists.
async fn futures_join(addr: SocketAddr, host_key: &str, total: u64, n: usize) -> anyhow::Result<Vec<Term>> {
    let mut tasks = Vec::new();
    for _ in 0..n {
        let host_key = host_key.to_string();
        tasks.push(tokio::spawn(async move { open_loaded(addr, &host_key, total).await }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await??.0);
    }
    Ok(out)
}
