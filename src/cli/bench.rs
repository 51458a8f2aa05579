use std::path::PathBuf;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum BenchCmd {
    /// Import synthetic leads into a fresh store, again into the full store, and a file half of
    /// updates; print rows/s, peak RSS, size and where the writer's time went
    Import {
        #[arg(long, default_value_t = 1_000_000)]
        rows: u64,
        /// Also time an xlsx of this many rows (0 to skip)
        #[arg(long, default_value_t = 100_000)]
        xlsx_rows: u64,
        /// Work here instead of a temporary dir (kept afterwards)
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// One phase of `bench import`, in a process of its own
    #[command(hide = true)]
    ImportPhase {
        #[arg(long)]
        label: String,
        #[arg(long, value_name = "DIR")]
        data: PathBuf,
        #[arg(long, value_name = "FILE")]
        file: PathBuf,
        #[arg(long)]
        dry_run: bool,
    },
    /// Keystroke-to-results latency of the TUI search (p50/p95/max), against nucleo's stock worker
    Search {
        #[arg(long, default_value_t = 1_000_000)]
        leads: u64,
    },
    /// TUI startup over a store of N leads: first screen, loaded list, first search, peak RSS
    Tui {
        #[arg(long, default_value_t = 1_000_000)]
        leads: u64,
        /// Keep the store here and reuse it on the next run (default: a temporary dir)
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// The measuring half of `bench tui`, in a process of its own
    #[command(hide = true)]
    TuiChild {
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
    },
    /// With a TUI session following the store, another process writes edits and batches: latency
    /// from commit to the session's model (p50/p95/max), and the session's CPU while idle
    Live {
        #[arg(long, default_value_t = 1_000_000)]
        leads: u64,
        /// Keep the store here and reuse it on the next run (default: a temporary dir)
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// The session half of `bench live`, in a process of its own
    #[command(hide = true)]
    LiveChild {
        #[arg(long, value_name = "DIR")]
        dir: PathBuf,
    },
    /// K SSH clients on one `reach serve` over N leads: the server's RSS with 1 and K sessions,
    /// keystroke-to-screen latency of a search, and one edit's time to every other screen
    Serve {
        #[arg(long, default_value_t = 1_000_000)]
        leads: u64,
        #[arg(long, default_value_t = 20)]
        sessions: usize,
        /// Keep the store here and reuse it on the next run (default: a temporary dir)
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Campaigns: create, dry run and launch over N leads, then the scheduler's real cost per
    /// message while two runners send to the simulated world on a paused clock
    Campaign {
        #[arg(long, default_value_t = 100_000)]
        leads: u64,
        /// Messages the scheduler part sends
        #[arg(long, default_value_t = 2_000)]
        sends: u64,
        /// Keep the store here and reuse it on the next run (default: a temporary dir)
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Requests per 1,000 members a crawl of the simulated @demo_big needs (fewer is better)
    Crawl {
        #[arg(long, default_value = "@demo_big")]
        target: String,
        #[arg(long, default_value_t = 2)]
        accounts: usize,
        /// Pause between two requests of one account
        #[arg(long, default_value_t = 1000)]
        pacing_ms: u64,
        #[arg(long, default_value_t = 500)]
        jitter_ms: u64,
    },
}

/// `--dir`, or a temporary dir that lives as long as the returned guard.
fn work_dir(dir: Option<PathBuf>) -> anyhow::Result<(Option<tempfile::TempDir>, PathBuf)> {
    Ok(match dir {
        Some(d) => (None, d),
        None => {
            let tmp = tempfile::tempdir()?;
            let path = tmp.path().to_path_buf();
            (Some(tmp), path)
        }
    })
}

pub fn run(cmd: BenchCmd, rt: tokio::runtime::Handle) -> anyhow::Result<()> {
    match cmd {
        BenchCmd::Search { leads } => crate::bench::search::run(leads),
        BenchCmd::Crawl { target, accounts, pacing_ms, jitter_ms } => {
            let pacing = crate::crawl::pool::Pacing {
                interval: std::time::Duration::from_millis(pacing_ms),
                jitter: std::time::Duration::from_millis(jitter_ms),
            };
            crate::bench::crawl::run(&target, accounts, pacing)
        }
        BenchCmd::Tui { leads, dir } => {
            let (_tmp, dir) = work_dir(dir)?;
            crate::bench::tui::run(leads, &dir)
        }
        BenchCmd::TuiChild { dir } => crate::bench::tui::child(&dir, rt),
        BenchCmd::Live { leads, dir } => {
            let (_tmp, dir) = work_dir(dir)?;
            crate::bench::live::run(leads, &dir)
        }
        BenchCmd::LiveChild { dir } => crate::bench::live::child(&dir, rt),
        BenchCmd::Serve { leads, sessions, dir } => {
            let (_tmp, dir) = work_dir(dir)?;
            crate::bench::serve::run(leads, sessions, &dir, rt)
        }
        BenchCmd::Campaign { leads, sends, dir } => {
            let (_tmp, dir) = work_dir(dir)?;
            crate::bench::campaign::run(leads, sends, &dir)
        }
        BenchCmd::Import { rows, xlsx_rows, dir } => {
            let (_tmp, dir) = work_dir(dir)?;
            crate::bench::import(rows, xlsx_rows, &dir)
        }
        BenchCmd::ImportPhase { label, data, file, dry_run } => {
            crate::bench::import_phase(&label, &data, &file, dry_run)
        }
    }
}
