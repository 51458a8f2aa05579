use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;
use clap::Args;

use super::{Context, SelectArgs};
use crate::export::{export_selection, Format};

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[arg(long, value_enum, default_value = "csv")]
    pub format: Format,
    /// Write to FILE instead of stdout (written whole or not at all)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub select: SelectArgs,
}

pub fn run(ctx: &Context, args: ExportArgs) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    let scope = ctx.scope(&store)?;
    let sel = args.select.selection(&store, &scope)?;
    let ws = scope.workspace;
    match &args.out {
        None => {
            let stdout = std::io::stdout();
            let mut lock = std::io::BufWriter::new(stdout.lock());
            export_selection(&store, &ws, &sel, args.format, &mut lock)?;
            lock.flush()?;
        }
        Some(path) => {
            // A temp file in the same dir, renamed at the end: a failed export never leaves half a file.
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
            let mut tmp =
                tempfile::NamedTempFile::new_in(dir).with_context(|| format!("cannot write in {}", dir.display()))?;
            let n = {
                let mut w = std::io::BufWriter::new(tmp.as_file_mut());
                let n = export_selection(&store, &ws, &sel, args.format, &mut w)?;
                w.flush()?;
                n
            };
            tmp.persist(path).with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("exported {n} leads to {}", path.display());
        }
    }
    Ok(())
}
