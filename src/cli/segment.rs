use clap::Subcommand;

use super::{print_json, table, Context, FilterArgs};
use crate::model::{validate_segment_name, Segment};
use crate::store::{Filter, Outcome, RecordKind, Store, WriteOp};

/// The segment of `workspace` named `name`, or an error naming it.
pub fn find(store: &Store, workspace: &str, name: &str) -> anyhow::Result<Segment> {
    let name = name.trim();
    store.segments(workspace)?.into_iter().find(|s| s.name == name).ok_or_else(|| {
        let ws = crate::workspace::Workspace::from_key(workspace).map_or(workspace.to_string(), |w| w.to_string());
        anyhow::anyhow!("no segment named {name:?} in workspace {ws}; `reach segment list` lists them")
    })
}

/// A filter as "facet: values" lines, in the order of the flags.
fn describe(f: &Filter) -> Vec<(&'static str, String)> {
    fn join<T: ToString>(v: &[T], sep: &str) -> String {
        v.iter().map(T::to_string).collect::<Vec<_>>().join(sep)
    }
    let rows = [
        ("status", join(&f.status, " or ")),
        ("priority", join(&f.priority, " or ")),
        ("source", join(&f.source, " or ")),
        ("tags", join(&f.tags, " and ")),
        ("group", join(&f.group, " or ")),
        ("country", join(&f.country, " or ")),
        ("language", join(&f.language, " or ")),
        ("created by", f.created_by.clone().unwrap_or_default()),
        ("flags", join(&f.flags, " and ")),
    ];
    rows.into_iter().filter(|(_, v)| !v.is_empty()).collect()
}

#[derive(Debug, Subcommand)]
pub enum SegmentCmd {
    /// Save a named filter (archived leads never match a segment)
    Save {
        name: String,
        #[command(flatten)]
        filter: Box<FilterArgs>,
        /// A search query the leads must also match, as in the TUI's search
        #[arg(long)]
        query: Option<String>,
    },
    /// The segments of the workspace with their live counts
    List,
    /// A segment's filters, query and live count (`lead list --segment NAME` lists its leads)
    Show { name: String },
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
        SegmentCmd::Show { name } => {
            let scope = ctx.scope(&store)?;
            let segment = find(&store, &scope.workspace, &name)?;
            let count = store.count_segments(
                &scope.workspace,
                &scope.filter(&Default::default()),
                std::slice::from_ref(&segment),
            )?;
            let leads = count.first().copied().unwrap_or(0);
            if ctx.json {
                let s = &segment;
                return print_json(
                    &serde_json::json!({"name": s.name, "filter": s.filter, "query": s.query, "leads": leads}),
                );
            }
            println!("  {:<12}{}", "segment", segment.name);
            let filters = describe(&segment.filter);
            if filters.is_empty() {
                println!("  {:<12}none", "filters");
            }
            for (facet, values) in filters {
                println!("  {facet:<12}{values}");
            }
            if let Some(q) = segment.query.as_deref().filter(|q| !q.trim().is_empty()) {
                println!("  {:<12}{q}", "query");
            }
            let note = if segment.live_filter().is_none() { " (archived leads never match a segment)" } else { "" };
            println!("  {:<12}{leads}{note}", "leads");
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
