//! Benchmarks that print figures: `reach bench import`, `search`, `tui`, `live`, `serve`, `crawl` and
//! `campaign`.

pub mod campaign;
pub mod crawl;
pub mod live;
pub mod search;
pub mod serve;
pub mod ssh_client;
pub mod synth;
pub mod tui;

use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use crate::import::{self, ImportOptions, ImportSummary};
use crate::store::{Store, WriteCtx};
use crate::workspace::Workspace;

/// The user whose personal workspace the benches fill (see `import_once`).
const USER: &str = "bench";

/// Peak resident memory of this process since the last reset, from /proc (Linux only).
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Resident memory of this process now, from /proc (Linux only).
pub fn rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// CPU time this process (every thread of it) has used so far, user and system.
#[cfg(unix)]
pub fn cpu_time() -> Option<Duration> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage only writes the struct it is given, which lives for the call.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: the call succeeded, so it filled the struct (and zeroed is a valid rusage anyway).
    let usage = unsafe { usage.assume_init() };
    let tv = |t: libc::timeval| Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64);
    Some(tv(usage.ru_utime) + tv(usage.ru_stime))
}

#[cfg(not(unix))]
pub fn cpu_time() -> Option<Duration> {
    None
}

/// Resets the peak RSS counter so each phase reports its own peak.
pub fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// The value at fraction `p` (0 to 1) of `sorted`, by nearest rank rounding up; None when empty.
fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    let last = sorted.len().checked_sub(1)?;
    sorted.get(((sorted.len() as f64 * p) as usize).min(last)).copied()
}

fn dir_size(p: &Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| rd.flatten().filter_map(|e| e.metadata().ok()).filter(|m| m.is_file()).map(|m| m.len()).sum())
        .unwrap_or(0)
}

fn import_once(store: &Store, file: &Path, report_dir: &Path, dry_run: bool) -> anyhow::Result<ImportSummary> {
    let ctx = WriteCtx { workspace: Workspace::Personal(USER.into()).key(), actor: USER.into() };
    let mut opts = ImportOptions::new(file, report_dir);
    opts.dry_run = dry_run;
    Ok(import::run(store, &ctx, &opts, &AtomicBool::new(false), |_| {})?)
}

/// The store `dir/reach.redb` with at least `n` synthetic leads: reused when it holds them, else
/// filled anew (which takes minutes at a million).
fn filled_store(dir: &Path, n: u64) -> anyhow::Result<Store> {
    std::fs::create_dir_all(dir)?;
    let db = dir.join("reach.redb");
    if let Ok(store) = Store::open(&db) {
        let have = store.count(&Workspace::Personal(USER.into()).key())?;
        if have >= n {
            println!("reusing the store in {} ({have} leads)", dir.display());
            return Ok(store);
        }
    }
    let _ = std::fs::remove_file(&db);
    let csv = dir.join("bench.csv");
    let t = Instant::now();
    // About 7% of synthetic rows repeat an earlier lead's username or phone and merge into it.
    synth::write_csv(&csv, n + n / 12, 42)?;
    let store = Store::open(&db)?;
    let s = import_once(&store, &csv, dir, false)?;
    std::fs::remove_file(&csv)?;
    println!("filled the store with {} leads in {:.1}s", s.counts.created, t.elapsed().as_secs_f64());
    Ok(store)
}

/// One import phase: its line, then what the change feed cost of its writer's time.
fn phase(label: &str, store: &Store, file: &Path, report_dir: &Path, dry_run: bool) -> anyhow::Result<ImportSummary> {
    let before = store.writer_times();
    reset_peak_rss();
    let s = import_once(store, file, report_dir, dry_run)?;
    line(label, &s, peak_rss_mb());
    let p = &s.phases;
    let us = |ms: u64| ms as f64 * 1000.0 / s.counts.rows.max(1) as f64;
    println!(
        "{:<26} per row: read {:.1} µs, normalize {:.1} µs (all cores), waiting for the writer {:.1} µs",
        "",
        us(p.read_ms),
        us(p.normalize_ms),
        us(p.writer_ms)
    );
    if !dry_run {
        let w = store.writer_times().since(&before);
        let us = |d: std::time::Duration| d.as_secs_f64() * 1e6 / s.counts.rows.max(1) as f64;
        println!(
            "{:<26} writer per row: lookups {:.1} µs, dedup and merge {:.1}, table writes {:.1}, commit {:.1}, \
             change feed {:.2} ({:.2}% of the import); {} transactions",
            "",
            us(w.lookups),
            us(w.merges),
            us(w.inserts),
            us(w.commit),
            us(w.feed),
            100.0 * w.feed.as_secs_f64() / (s.elapsed_ms.max(1) as f64 / 1000.0),
            w.transactions
        );
    }
    Ok(s)
}

fn line(label: &str, s: &ImportSummary, rss: Option<f64>) {
    println!(
        "{label:<26} {:>9} rows in {:>6.2}s = {:>8.0} rows/s   created {} updated {} unchanged {} rejected {}   peak RSS {}",
        s.counts.rows,
        s.elapsed_ms as f64 / 1000.0,
        s.rows_per_sec,
        s.counts.created,
        s.counts.updated,
        s.counts.unchanged,
        s.counts.rejected,
        rss.map(|m| format!("{m:.0} MB")).unwrap_or_else(|| "n/a".into())
    );
}

pub fn import(rows: u64, xlsx_rows: u64, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let csv_path = dir.join("bench.csv");
    let half_path = dir.join("bench-half.csv");
    let t = Instant::now();
    synth::write_csv(&csv_path, rows, 42)?;
    synth::write_half_csv(&half_path, rows, 42)?;
    println!(
        "generated {rows} synthetic rows ({:.1} MB CSV), and as many of which half update those leads, in {:.1}s",
        std::fs::metadata(&csv_path)?.len() as f64 / 1e6,
        t.elapsed().as_secs_f64()
    );
    println!("each phase runs in a process of its own, so its peak RSS is its own");
    let data = dir.join("data");
    let _ = std::fs::remove_dir_all(&data);
    // The half-updates phase starts from the store as the first import left it.
    let copy = dir.join("data-full");
    let _ = std::fs::remove_dir_all(&copy);

    run_phase("dry run, empty store", &data, &csv_path, true)?;
    run_phase("CSV into an empty store", &data, &csv_path, false)?;
    copy_dir(&data, &copy)?;
    run_phase("dry run, full store", &data, &csv_path, true)?;
    run_phase("CSV into a full store", &data, &csv_path, false)?;
    println!("database size {:.1} MB", dir_size(&data) as f64 / 1e6);
    run_phase("half updates, half new", &copy, &half_path, false)?;
    std::fs::remove_dir_all(&copy)?;

    if xlsx_rows > 0 {
        let xlsx_path = dir.join("bench.xlsx");
        synth::write_xlsx(&xlsx_path, xlsx_rows, 7)?;
        let xdata = dir.join("data-xlsx");
        let _ = std::fs::remove_dir_all(&xdata);
        run_phase("xlsx into an empty store", &xdata, &xlsx_path, false)?;
    }
    Ok(())
}

/// Runs one phase in a child process (`bench import-phase`), which prints its own lines.
fn run_phase(label: &str, data: &Path, file: &Path, dry_run: bool) -> anyhow::Result<()> {
    let mut cmd = std::process::Command::new(std::env::current_exe()?);
    cmd.args(["bench", "import-phase", "--label", label, "--data"]).arg(data).arg("--file").arg(file);
    if dry_run {
        cmd.arg("--dry-run");
    }
    let status = cmd.status()?;
    anyhow::ensure!(status.success(), "the phase {label:?} failed: {status}");
    Ok(())
}

/// The measuring half of `bench import`: one import into the store in `data`.
pub fn import_phase(label: &str, data: &Path, file: &Path, dry_run: bool) -> anyhow::Result<()> {
    let store = Store::open_dir(data)?;
    phase(label, &store, file, &data.join("reports"), dry_run)?;
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_by_rank_and_never_past_the_end() {
        let ms: Vec<Duration> = (1..=20).map(Duration::from_millis).collect();
        assert_eq!(percentile(&ms, 0.5), Some(Duration::from_millis(11)));
        assert_eq!(percentile(&ms, 0.95), Some(Duration::from_millis(20)));
        assert_eq!(percentile(&ms, 1.0), Some(Duration::from_millis(20)));
        assert_eq!(percentile(&ms[..1], 0.5), Some(Duration::from_millis(1)));
        assert_eq!(percentile(&[], 0.5), None);
    }
}
