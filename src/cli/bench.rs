use std::path::PathBuf;

use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum BenchCmd {
    /// Import synthetic leads into a fresh store, then again into the full store; print rows/s, peak RSS and size
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
    /// Keystroke-to-results latency of the TUI search (p50/p95/max), against nucleo's stock worker
    Search {
        #[arg(long, default_value_t = 1_000_000)]
        leads: u64,
    },
}

pub fn run(cmd: BenchCmd) -> anyhow::Result<()> {
    match cmd {
        BenchCmd::Search { leads } => crate::bench::search::run(leads),
        BenchCmd::Import { rows, xlsx_rows, dir } => {
            let tmp;
            let dir = match dir {
                Some(d) => d,
                None => {
                    tmp = tempfile::tempdir()?;
                    tmp.path().to_path_buf()
                }
            };
            crate::bench::import(rows, xlsx_rows, &dir)
        }
    }
}
