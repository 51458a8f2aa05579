use clap::Subcommand;

use super::{print_json, table, Context, FilterArgs};
use crate::model::{validate_segment_name, Segment};
use crate::store::{Outcome, RecordKind, WriteOp};

#[derive(Debug, Subcommand)]
pub enum SegmentCmd {
    /// Save a named filter (archived leads never match a segment)
    Save {
        name: String,
        #[command(flatten)]
        filter: FilterArgs,
        /// A search query the leads must also match, as in the TUI's search
        #[arg(long)]
        query: Option<String>,
    },
    /// The segments of the workspace with their live counts
    List,
    /// Forget a segment (its leads are untouched)
    Delete { name: String },
}

pub fn run(ctx: &Context, cmd: SegmentCmd) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    match cmd {
        SegmentCmd::Save { name, filter, query } => {
            let name = validate_segment_name(&name).map_err(anyhow::Error::msg)?;
            let segment = Segment { name: name.clone(), filter: filter.to_filter()?, query };
            let out = store.write_one(ctx.write_ctx(&store)?, WriteOp::record(RecordKind::Segment, &name, &segment))?;
            if let Outcome::Denied(rule) = out {
                anyhow::bail!("permission denied: {rule}");
            }
            println!("segment {name:?} saved");
            Ok(())
        }
        SegmentCmd::List => {
            let scope = ctx.scope(&store)?;
            let segments = store.segments(&scope.workspace)?;
            let counts = store.count_segments(&scope.workspace, &scope.filter(&Default::default()), &segments)?;
            if ctx.json {
                let rows: Vec<serde_json::Value> = segments
                    .iter()
                    .zip(&counts)
                    .map(|(s, n)| serde_json::json!({"name": s.name, "filter": s.filter, "query": s.query, "leads": n}))
                    .collect();
                return print_json(&rows);
            }
            if segments.is_empty() {
                println!(
                    "no segments yet; save one with `reach segment save NAME --tag vip` (or W in the TUI's filters)"
                );
                return Ok(());
            }
            let rows: Vec<Vec<String>> = segments
                .iter()
                .zip(&counts)
                .map(|(s, n)| vec![s.name.clone(), n.to_string(), s.query.clone().unwrap_or_default()])
                .collect();
            print!("{}", table::render(&["SEGMENT", "LEADS", "QUERY"], &rows));
            Ok(())
        }
        SegmentCmd::Delete { name } => {
            let ws = ctx.write_ctx(&store)?;
            if !store.segments(&ws.workspace)?.iter().any(|s| s.name == name) {
                anyhow::bail!("no segment named {name:?} (reach segment list)");
            }
            let op = WriteOp::Record { kind: RecordKind::Segment, name: name.clone(), value: None };
            if let Outcome::Denied(rule) = store.write_one(ws, op)? {
                anyhow::bail!("permission denied: {rule}");
            }
            println!("segment {name:?} deleted");
            Ok(())
        }
    }
}
