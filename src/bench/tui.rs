//! `reach bench tui`: the TUI's startup over a store of N leads. A child process (this binary again)
//! runs the real session on a test backend, so its peak RSS is the TUI's alone, not the import's
//! that filled the store.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::USER;
use crate::store::Store;
use crate::tui::Event;
use crate::workspace::{View, Workspace};

/// Where the bench keeps its store under `--dir`: a folder of its own, so pointing `--dir` at a
/// real data dir never touches the user's store.
fn store_dir(dir: &Path) -> std::path::PathBuf {
    dir.join("bench-tui")
}

/// Fills `dir` with `n` synthetic leads unless it already holds them, then measures in a child.
pub fn run(n: u64, root: &Path) -> anyhow::Result<()> {
    // Closed before the child opens it, so the child's figures are the TUI's alone.
    drop(super::filled_store(&store_dir(root), n)?);
    let status = Command::new(std::env::current_exe()?).args(["bench", "tui-child", "--dir"]).arg(root).status()?;
    anyhow::ensure!(status.success(), "the measuring child failed: {status}");
    Ok(())
}

fn key(c: KeyCode) -> Event {
    Event::Term(TermEvent::Key(KeyEvent::new(c, KeyModifiers::NONE)))
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1e3)
}

/// The measuring side: opens the store, starts the real session on a 200x50 test backend, and
/// times the first screen, the loaded list, and a first search; then prints the peak RSS.
pub fn child(dir: &Path, rt: tokio::runtime::Handle) -> anyhow::Result<()> {
    let start = Instant::now();
    let store = Store::open(&store_dir(dir).join("reach.redb"))?;
    let mut session = session(&store_dir(dir), store, rt);
    let input = session.events();
    let mut terminal = Terminal::new(TestBackend::new(200, 50))?;
    let (mut first, mut loaded, mut typed, mut rows) = (None, None, None, 0);
    let (mut first_results, mut full_results, mut rss_loaded, mut failed) = (None, None, None, None);
    session.run_on(&mut terminal, &mut |m| {
        first.get_or_insert_with(|| start.elapsed());
        if m.loading {
            // A load that fails leaves the TUI showing why; the bench stops and says it.
            if let Some((why, true)) = &m.message {
                failed = Some(why.clone());
                return false;
            }
            return true;
        }
        if loaded.is_none() {
            loaded = Some(start.elapsed());
            rows = m.leads.len();
            rss_loaded = super::rss_mb();
            typed = Some(Instant::now());
            // try_send: this runs on the thread that drains the channel.
            for ev in [key(KeyCode::Char('/')), key(KeyCode::Char('i'))] {
                let _ = input.try_send(ev);
            }
            return true;
        }
        let Some(t) = typed else { return true };
        if m.search_generation > 0 && m.shown_search == m.search_generation {
            first_results.get_or_insert_with(|| t.elapsed());
        }
        if m.search_generation > 0 && m.searched == m.search_generation {
            full_results = Some(t.elapsed());
            return false;
        }
        true
    })?;
    if let Some(why) = failed {
        anyhow::bail!("the TUI could not load the store: {why}");
    }
    let show = |d: Option<Duration>| d.map(ms).unwrap_or_else(|| "n/a".into());
    println!("leads in the store        {rows}");
    println!("first screen drawn        {}", show(first));
    println!("list loaded and drawn     {}", show(loaded));
    println!(
        "search \"i\": first results {}, full ranking {} (after the list shows)",
        show(first_results),
        show(full_results)
    );
    let mb = |v: Option<f64>| v.map(|m| format!("{m:.0} MB")).unwrap_or_else(|| "n/a".into());
    println!("RSS with the list loaded  {}", mb(rss_loaded));
    println!("peak RSS                  {}", mb(super::peak_rss_mb()));
    Ok(())
}

/// The real session over the bench store in `dir`, as `reach tui` starts it for the bench user,
/// with the simulated Telegram backend: the list loads behind its first screen.
pub(super) fn session(dir: &Path, store: Store, rt: tokio::runtime::Handle) -> crate::tui::Session {
    let telegram = crate::crawl::backend::Telegram {
        backend: crate::config::TelegramBackend::Simulated,
        config: Default::default(),
        data_dir: dir.to_path_buf(),
    };
    let settings = crate::tui::Settings {
        telegram,
        pacing: crate::crawl::pool::Pacing { interval: Duration::from_millis(50), jitter: Duration::ZERO },
        history_depth: 0,
        cache_ttl: Duration::from_secs(3600),
        default_region: None,
        local_files: true,
        live: Default::default(),
    };
    crate::tui::Session::start(
        rt,
        store,
        USER.into(),
        Workspace::Personal(USER.into()),
        View::All,
        Default::default(),
        settings,
    )
}
