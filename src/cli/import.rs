use std::io::IsTerminal;
use std::path::PathBuf;

use anyhow::bail;
use clap::Args;

use super::{print_json, table, Context};
use crate::import::{self, ImportOptions, ImportProgress, ImportSummary};
use crate::model::{format_millis, ImportState};

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// A .csv, .tsv or .txt file, an .xlsx, .xls or .ods workbook, a .vcf file, or a Telegram
    /// Desktop export (its result.json, or the folder holding it); the format is detected by content
    pub file: PathBuf,
    /// The sheet to read (default: the first)
    #[arg(long)]
    pub sheet: Option<String>,
    /// Count what would happen without writing anything
    #[arg(long)]
    pub dry_run: bool,
    /// Write rejected rows here (default: a file under <data dir>/reports)
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Region for national phone formats when a row has no country (default: config default_region)
    #[arg(long, value_name = "CC")]
    pub default_region: Option<String>,
    /// Map a header to a field: HEADER=first_name|last_name|username|phone_number|country|language|telegram_user_id|tags|status|priority|group_name|note|skip|<custom key> (repeatable)
    #[arg(long = "map", value_name = "HEADER=FIELD")]
    pub maps: Vec<String>,
    /// Add this tag to every imported lead (repeatable)
    #[arg(long = "tag", value_name = "TAG")]
    pub tags: Vec<String>,
    /// Read the file in this encoding instead of detecting it (e.g. windows-1251, windows-1252, utf-16le)
    #[arg(long)]
    pub encoding: Option<String>,
    /// Telegram Desktop exports: the users who wrote in group chats become leads too (their group
    /// messages are not imported)
    #[arg(long)]
    pub group_members: bool,
}

pub fn options(ctx: &Context, args: ImportArgs) -> anyhow::Result<ImportOptions> {
    let maps = args
        .maps
        .iter()
        .map(|m| match m.rsplit_once('=') {
            Some((h, f)) if !h.trim().is_empty() && !f.trim().is_empty() => {
                Ok((h.trim().to_string(), f.trim().to_string()))
            }
            _ => bail!("--map {m:?}: expected HEADER=FIELD"),
        })
        .collect::<anyhow::Result<_>>()?;
    let region = match args.default_region.as_deref().or(ctx.config.default_region()) {
        Some(r) => Some(
            crate::normalize::normalize_country(r)
                .map_err(|_| anyhow::anyhow!("--default-region {r:?}: expected an ISO country code such as RU"))?,
        ),
        None => None,
    };
    for t in &args.tags {
        crate::normalize::normalize_tag(t)?;
    }
    let mut opts = ImportOptions::new(args.file, import::default_report_dir(&ctx.data_dir));
    opts.sheet = args.sheet;
    opts.encoding = args.encoding;
    opts.dry_run = args.dry_run;
    opts.report = args.report;
    opts.default_region = region;
    opts.maps = maps;
    opts.tags = args.tags;
    opts.group_members = args.group_members;
    Ok(opts)
}

pub fn run(ctx: &Context, args: ImportArgs) -> anyhow::Result<()> {
    let opts = options(ctx, args)?;
    let store = ctx.open_store()?;
    // Ctrl-C stops the import after the chunk in hand: committed chunks stay, the record says cancelled.
    let cancel = super::cancel_on_ctrl_c("cancelling after the current chunk");
    let bar = progress_bar();
    let summary = import::run(&store, &ctx.write_ctx(&store)?, &opts, &cancel, |p| {
        if let Some(bar) = &bar {
            update_bar(bar, p);
        }
    });
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let summary = summary?;
    if ctx.json {
        return print_json(&summary);
    }
    print_summary(&summary);
    Ok(())
}

fn progress_bar() -> Option<indicatif::ProgressBar> {
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(1000);
    let style = indicatif::ProgressStyle::with_template("{bar:30} {percent:>3}%  {msg}").ok()?;
    bar.set_style(style);
    Some(bar)
}

fn update_bar(bar: &indicatif::ProgressBar, p: &ImportProgress) {
    if let Some(f) = p.fraction {
        bar.set_position((f * 1000.0) as u64);
    }
    let eta = p.eta().map(|d| format!(", ETA {:.0}s", d.as_secs_f64())).unwrap_or_default();
    bar.set_message(format!(
        "{} rows: {} new, {} updated, {} rejected  {:.0} rows/s{eta}",
        p.counts.rows,
        p.counts.created,
        p.counts.updated,
        p.counts.rejected,
        p.rows_per_sec()
    ));
}

pub fn print_summary(s: &ImportSummary) {
    let what = if s.dry_run {
        "dry run of"
    } else if s.cancelled {
        "cancelled import of"
    } else {
        "imported"
    };
    let id = s.import_id.map(|i| format!(" (import #{i})")).unwrap_or_default();
    let detected = [
        Some(s.format.clone()),
        s.encoding.clone(),
        s.delimiter.as_ref().map(|d| format!("{d}-separated")),
        s.sheet.as_ref().map(|n| format!("sheet {n:?}")),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(", ");
    println!("{what} {}{id}: {detected}", s.file.display());
    println!("{} rows in {:.2}s ({:.0} rows/s)", s.counts.rows, s.elapsed_ms as f64 / 1000.0, s.rows_per_sec);
    let verb = if s.dry_run { "would be " } else { "" };
    println!("  {verb}created    {}", s.counts.created);
    println!("  {verb}updated    {}", s.counts.updated);
    println!("  unchanged  {}", s.counts.unchanged);
    println!("  rejected   {}", s.counts.rejected);
    if let Some(m) = &s.messages {
        println!(
            "{} personal chats ({} other chats skipped), {} messages: {verb}imported {}, unchanged {}, rejected {}; {} service messages skipped",
            m.personal_chats, m.skipped_chats, m.read, m.imported, m.unchanged, m.rejected, m.service
        );
    }
    if let Some(r) = &s.report {
        let place = if s.messages.is_some() { "_place" } else { "_row" };
        println!("rejected records, with {place} and _error columns: {}", r.display());
    }
    for e in &s.first_errors {
        eprintln!("rejected: {e}");
    }
    let rejected = (s.counts.rejected + s.messages.map_or(0, |m| m.rejected)) as usize;
    if rejected > s.first_errors.len() {
        eprintln!("… and {} more rejected records", rejected - s.first_errors.len());
    }
    for w in &s.warnings {
        eprintln!("warning: {w}");
    }
}

pub fn list(ctx: &Context) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    let records = store.imports(&ctx.scope_any(&store)?.workspace)?;
    if ctx.json {
        return print_json(&records);
    }
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            vec![
                r.id.to_string(),
                format_millis(r.started_at),
                r.file_name.clone(),
                match r.state {
                    ImportState::Completed => "completed",
                    ImportState::Cancelled => "cancelled",
                    ImportState::Incomplete => "incomplete",
                }
                .to_string(),
                r.rows.to_string(),
                r.created.to_string(),
                r.updated.to_string(),
                r.unchanged.to_string(),
                r.rejected.to_string(),
                r.user.clone(),
                r.content_hash.chars().take(12).collect(),
            ]
        })
        .collect();
    print!(
        "{}",
        table::render(
            &["ID", "STARTED", "FILE", "STATE", "ROWS", "CREATED", "UPDATED", "UNCHANGED", "REJECTED", "USER", "HASH"],
            &rows
        )
    );
    Ok(())
}
