//! File import: CSV/TSV, spreadsheets and vCard, streamed through parse → normalize → dedup
//! upsert; Telegram Desktop exports (`tdesktop`) stream through their own reader into the same writer.
//!
//! The reading thread parses a chunk, normalizes it on every core (order kept), and hands it to the
//! store's writer while it reads the next one: parsing and writing overlap, memory is bounded by
//! two chunks in flight, and each committed chunk is durable, so a killed import re-runs cleanly.

mod mapping;
mod report;
pub mod sniff;
mod source;
mod tdesktop;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use serde::Serialize;

pub use mapping::{Mapping, MappingError};
use report::Report;
use source::RawRow;

use crate::model::{now_millis, Candidate, ImportRecord, ImportState, Source};
use crate::store::{Outcome, Store, StoreError, Ticket, WriteCtx, WriteOp};

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub path: PathBuf,
    pub sheet: Option<String>,
    pub encoding: Option<String>,
    pub dry_run: bool,
    /// Where rejected rows go; by default a file in `report_dir` named after the import.
    pub report: Option<PathBuf>,
    pub report_dir: PathBuf,
    pub default_region: Option<String>,
    pub maps: Vec<(String, String)>,
    pub tags: Vec<String>,
    pub chunk_rows: usize,
    /// The source of the leads it creates: `file_upload`, or `campaign` for a campaign's file.
    pub source: Source,
    /// Telegram Desktop exports: the users who wrote in group chats become leads too.
    pub group_members: bool,
}

impl ImportOptions {
    pub fn new(path: impl Into<PathBuf>, report_dir: impl Into<PathBuf>) -> Self {
        ImportOptions {
            path: path.into(),
            sheet: None,
            encoding: None,
            dry_run: false,
            report: None,
            report_dir: report_dir.into(),
            default_region: None,
            maps: Vec::new(),
            tags: Vec::new(),
            // 12k rows: the peak RSS of a 1M-row import stays under 300 MB (16k: 320-340 MB, for
            // 3-5% more speed into an empty store; an unchanged re-import is as fast either way).
            chunk_rows: 12 * 1024,
            source: Source::FileUpload,
            group_members: false,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub rows: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
}

/// The latest state of a running import, sent after every chunk.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportProgress {
    pub counts: Counts,
    pub elapsed: Duration,
    /// Share of the file read, 0..1, when the size is known.
    pub fraction: Option<f64>,
    /// Leads created or updated since the last progress report, for views that show them live.
    #[serde(skip)]
    pub touched: Vec<u64>,
}

impl ImportProgress {
    pub fn rows_per_sec(&self) -> f64 {
        let s = self.elapsed.as_secs_f64();
        if s > 0.0 {
            self.counts.rows as f64 / s
        } else {
            0.0
        }
    }

    pub fn eta(&self) -> Option<Duration> {
        let f = self.fraction?;
        if f <= 0.0 {
            return None;
        }
        Some(self.elapsed.mul_f64((1.0 - f) / f))
    }
}

/// Where an import's own thread spent its time, in milliseconds: reading and splitting rows,
/// normalizing them (on every core), and waiting for the writer (or a dry run's batch).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Phases {
    pub read_ms: u64,
    pub normalize_ms: u64,
    pub writer_ms: u64,
}

/// What happened to the messages of an export (Telegram Desktop): counted apart from the leads.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MessageCounts {
    pub personal_chats: u64,
    /// Chats that are not leads (channels, bots, saved messages; groups without --group-members).
    pub skipped_chats: u64,
    /// Conversation messages of personal chats read.
    pub read: u64,
    pub imported: u64,
    /// Already imported before: left as they are.
    pub unchanged: u64,
    /// Service messages (joins, calls, pins): not conversation.
    pub service: u64,
    pub rejected: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportSummary {
    pub import_id: Option<u64>,
    pub file: PathBuf,
    pub format: String,
    pub encoding: Option<String>,
    pub delimiter: Option<String>,
    pub sheet: Option<String>,
    pub mapping: Vec<(String, String)>,
    pub warnings: Vec<String>,
    /// Rows imported with a warning (fewer cells than the header).
    pub rows_with_warnings: u64,
    pub counts: Counts,
    /// For formats that carry messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messages: Option<MessageCounts>,
    pub elapsed_ms: u64,
    pub rows_per_sec: f64,
    pub report: Option<PathBuf>,
    /// The first rejections, for printing; the report has all of them.
    pub first_errors: Vec<String>,
    pub dry_run: bool,
    pub cancelled: bool,
    pub phases: Phases,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("{0}")]
    Usage(String),
    #[error("{path}: {error}")]
    Mapping { path: PathBuf, error: MappingError },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a preview shows before anything runs: the detected format and the column mapping.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Inspection {
    pub format: String,
    pub encoding: Option<String>,
    pub delimiter: Option<String>,
    pub sheet: Option<String>,
    pub sheets: Vec<String>,
    pub headers: Vec<String>,
    pub mapping: Vec<(String, String)>,
    pub warnings: Vec<String>,
}

/// Whether the path is a Telegram Desktop export: its folder (holding `result.json`), or a JSON
/// file that reads like one. Decided by content, as the other formats are.
fn is_tdesktop(path: &Path) -> bool {
    if path.is_dir() {
        return path.join("result.json").is_file();
    }
    let mut head = Vec::with_capacity(64 * 1024);
    match std::fs::File::open(path) {
        Ok(f) => {
            use std::io::Read;
            if f.take(64 * 1024).read_to_end(&mut head).is_err() {
                return false;
            }
        }
        Err(_) => return false,
    }
    tdesktop::looks_like(&head)
}

pub fn inspect(opts: &ImportOptions) -> Result<Inspection, ImportError> {
    if is_tdesktop(&opts.path) {
        return tdesktop::inspect(opts);
    }
    let opened = source::open(&opts.path, opts.sheet.as_deref(), opts.encoding.as_deref())?;
    let mapping = Mapping::new(&opened.headers, &opts.maps)
        .map_err(|error| ImportError::Mapping { path: opts.path.clone(), error })?;
    let d = opened.detected;
    Ok(Inspection {
        format: mapping.format_name(&d.format),
        encoding: d.encoding,
        delimiter: d.delimiter.map(|c| sniff::delimiter_name(c).to_string()),
        sheet: d.sheet,
        sheets: d.sheets,
        headers: opened.headers,
        mapping: mapping.describe(),
        warnings: mapping.warnings,
    })
}

const MAX_PRINTED_ERRORS: usize = 10;

struct Run<'a> {
    mapping: &'a Mapping,
    header_len: usize,
    opts: &'a ImportOptions,
    import_id: Option<u64>,
}

impl Run<'_> {
    /// Turns one row into a candidate, or the reason it is rejected (naming the column at fault).
    fn normalize(&self, row: &RawRow) -> Result<Candidate, String> {
        if let Some(e) = &row.error {
            return Err(e.clone());
        }
        if row.cells.len() > self.header_len && row.cells[self.header_len..].iter().any(|c| !c.trim().is_empty()) {
            return Err(format!(
                "row has {} cells but the header has {}; quote fields that contain the delimiter",
                row.cells.len(),
                self.header_len
            ));
        }
        let input = self.mapping.apply(&row.cells, &self.opts.tags);
        let mut cand = input
            .validate(self.opts.source, self.opts.default_region.as_deref())
            .map_err(|e| self.mapping.explain(&e))?;
        cand.import = self.import_id;
        Ok(cand)
    }
}

/// Row outcomes so far, and where rejected rows go.
struct Tally<'a> {
    counts: Counts,
    first_errors: Vec<String>,
    report: Report,
    file: &'a Path,
    touched: Vec<u64>,
}

impl Tally<'_> {
    fn reject(&mut self, row: &RawRow, err: &str) -> Result<(), ImportError> {
        self.counts.rejected += 1;
        if self.first_errors.len() < MAX_PRINTED_ERRORS {
            self.first_errors.push(format!("{} row {}: {err}", self.file.display(), row.line));
        }
        self.report
            .write(row, err)
            .map_err(|e| ImportError::Io { path: self.report.path_or_default(), message: e.to_string() })
    }

    fn outcomes(&mut self, outcomes: Vec<Outcome>, rows: Vec<RawRow>, mapping: &Mapping) -> Result<(), ImportError> {
        for (outcome, row) in outcomes.into_iter().zip(rows) {
            match outcome {
                Outcome::Created { id } => {
                    self.counts.created += 1;
                    self.touched.push(id);
                }
                Outcome::Updated { id, .. } => {
                    self.counts.updated += 1;
                    self.touched.push(id);
                }
                Outcome::Unchanged { .. } | Outcome::Deleted { .. } | Outcome::Recorded { .. } => {
                    self.counts.unchanged += 1
                }
                Outcome::Rejected(e) => self.reject(&row, &mapping.explain(&e))?,
                Outcome::Denied(rule) => self.reject(&row, &format!("permission denied: {rule}"))?,
            }
        }
        Ok(())
    }
}

/// Imports a file. `cancel` stops it between chunks: what was committed stays, nothing is half-written.
pub fn run(
    store: &Store,
    ctx: &WriteCtx,
    opts: &ImportOptions,
    cancel: &AtomicBool,
    mut on_progress: impl FnMut(&ImportProgress),
) -> Result<ImportSummary, ImportError> {
    if is_tdesktop(&opts.path) {
        return tdesktop::run(store, ctx, opts, cancel, &mut on_progress);
    }
    if opts.path.is_dir() {
        return Err(ImportError::Usage(format!(
            "{} is a folder without a result.json; name a file (or a Telegram Desktop export's folder)",
            opts.path.display()
        )));
    }
    let start = Instant::now();
    let mut opened = source::open(&opts.path, opts.sheet.as_deref(), opts.encoding.as_deref())?;
    let mapping = Mapping::new(&opened.headers, &opts.maps)
        .map_err(|error| ImportError::Mapping { path: opts.path.clone(), error })?;
    let file_name = opts.path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();

    let mut record = ImportRecord::begin(&ctx.workspace, &ctx.actor, file_name.clone());
    let mut simulation = None;
    let import_id = if opts.dry_run {
        simulation = Some(store.simulate()?);
        None
    } else {
        let out = store.write(
            ctx.clone(),
            vec![WriteOp::BeginImport(record.clone()), WriteOp::FieldLabels(mapping.custom_labels())],
        )?;
        match out.first() {
            Some(Outcome::Denied(rule)) => return Err(ImportError::Usage(format!("permission denied: {rule}"))),
            first => first.and_then(Outcome::id),
        }
    };
    record.id = import_id.unwrap_or(0);

    let stem = opts.path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "import".into());
    let report_path = match (&opts.report, import_id) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(id)) => Some(opts.report_dir.join(format!("{stem}-import-{id}-rejected.csv"))),
        // A dry run writes nothing unless a report was asked for.
        (None, None) => None,
    };
    let report = Report::new(report_path, &opened.headers);
    let run = Run { mapping: &mapping, header_len: opened.headers.len(), opts, import_id };

    let mut tally =
        Tally { counts: Counts::default(), first_errors: Vec::new(), report, file: &opts.path, touched: Vec::new() };
    let mut warnings = mapping.warnings.clone();
    let mut rows_with_warnings = 0u64;
    let mut inflight: VecDeque<(Ticket, Vec<RawRow>)> = VecDeque::new();
    let mut cancelled = false;
    let chunk_rows = opts.chunk_rows.max(1);
    #[derive(Default)]
    struct Spent {
        read: std::time::Duration,
        normalize: std::time::Duration,
        writer: std::time::Duration,
    }
    let mut spent = Spent::default();

    loop {
        if cancel.load(Ordering::Relaxed) {
            cancelled = true;
            break;
        }
        let mut chunk = Vec::with_capacity(chunk_rows);
        let mut eof = false;
        let t = Instant::now();
        while chunk.len() < chunk_rows {
            match opened.rows.next_row() {
                Ok(Some(row)) => chunk.push(row),
                Ok(None) => {
                    eof = true;
                    break;
                }
                Err(message) => return Err(ImportError::Io { path: opts.path.clone(), message }),
            }
        }
        spent.read += t.elapsed();
        tally.counts.rows += chunk.len() as u64;
        let t = Instant::now();
        let results: Vec<Result<Candidate, String>> = chunk.par_iter().map(|row| run.normalize(row)).collect();
        spent.normalize += t.elapsed();
        let mut ops = Vec::with_capacity(chunk.len() + 1);
        let mut accepted = Vec::with_capacity(chunk.len());
        let rejected_before = tally.counts.rejected;
        for (row, res) in chunk.into_iter().zip(results) {
            match res {
                Ok(cand) => {
                    if row.cells.len() < run.header_len {
                        rows_with_warnings += 1;
                        if rows_with_warnings <= MAX_PRINTED_ERRORS as u64 {
                            warnings.push(format!(
                                "row {}: {} cells, the header has {}; the missing cells are empty",
                                row.line,
                                row.cells.len(),
                                run.header_len
                            ));
                        }
                    }
                    ops.push(WriteOp::Upsert(cand));
                    accepted.push(row);
                }
                Err(e) => tally.reject(&row, &e)?,
            }
        }
        match simulation.as_mut() {
            Some(sim) => {
                let t = Instant::now();
                let outcomes = sim.apply(ctx, ops)?;
                spent.writer += t.elapsed();
                tally.outcomes(outcomes, accepted, &mapping)?;
            }
            None => {
                // The import's record counts this chunk in the transaction that commits it.
                if let Some(id) = import_id {
                    ops.push(WriteOp::ImportChunk { id, rejected: tally.counts.rejected - rejected_before });
                }
                inflight.push_back((store.submit(ctx.clone(), ops)?, accepted));
                // Two chunks in flight: the writer works on one while this thread reads the next.
                while inflight.len() > 1 {
                    if let Some((ticket, rows)) = inflight.pop_front() {
                        let t = Instant::now();
                        let outcomes = ticket.wait()?;
                        spent.writer += t.elapsed();
                        tally.outcomes(outcomes, rows, &mapping)?;
                    }
                }
            }
        }
        on_progress(&ImportProgress {
            counts: tally.counts,
            elapsed: start.elapsed(),
            fraction: opened.rows.fraction(),
            // A dry run's ids are of leads that were never written.
            touched: if opts.dry_run { Vec::new() } else { std::mem::take(&mut tally.touched) },
        });
        if eof {
            break;
        }
    }
    while let Some((ticket, rows)) = inflight.pop_front() {
        let t = Instant::now();
        let outcomes = ticket.wait()?;
        spent.writer += t.elapsed();
        tally.outcomes(outcomes, rows, &mapping)?;
    }
    let elapsed = start.elapsed();
    let Tally { counts, first_errors, report, touched, .. } = tally;
    let touched = if opts.dry_run { Vec::new() } else { touched };
    on_progress(&ImportProgress { counts, elapsed, fraction: Some(1.0).filter(|_| !cancelled), touched });
    let report_written =
        report.finish().map_err(|e| ImportError::Io { path: opts.report_dir.clone(), message: e.to_string() })?;

    if import_id.is_some() {
        record.content_hash = opened.hasher.lock().map(|h| h.finalize().to_hex().to_string()).unwrap_or_default();
        record.finished_at = Some(now_millis());
        record.state = if cancelled { ImportState::Cancelled } else { ImportState::Completed };
        record.rows = counts.rows;
        record.created = counts.created;
        record.updated = counts.updated;
        record.unchanged = counts.unchanged;
        record.rejected = counts.rejected;
        store.write(ctx.clone(), vec![WriteOp::FinishImport(record)])?;
    }
    if rows_with_warnings > MAX_PRINTED_ERRORS as u64 {
        warnings.push(format!("… {} rows in all had fewer cells than the header", rows_with_warnings));
    }
    let d = opened.detected;
    Ok(ImportSummary {
        import_id,
        file: opts.path.clone(),
        format: mapping.format_name(&d.format),
        encoding: d.encoding,
        delimiter: d.delimiter.map(|c| sniff::delimiter_name(c).to_string()),
        sheet: d.sheet,
        mapping: mapping.describe(),
        warnings,
        rows_with_warnings,
        counts,
        messages: None,
        elapsed_ms: elapsed.as_millis() as u64,
        rows_per_sec: if elapsed.as_secs_f64() > 0.0 { counts.rows as f64 / elapsed.as_secs_f64() } else { 0.0 },
        report: report_written,
        first_errors,
        dry_run: opts.dry_run,
        cancelled,
        phases: Phases {
            read_ms: spent.read.as_millis() as u64,
            normalize_ms: spent.normalize.as_millis() as u64,
            writer_ms: spent.writer.as_millis() as u64,
        },
    })
}

/// The default directory for rejected-rows reports.
pub fn default_report_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("reports")
}
