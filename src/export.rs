//! CSV and JSON export. The CSV columns are the import's standard columns, followed by one
//! column per custom field, so an export re-imports into the same leads, tags and fields included.

use std::io::Write;

use indexmap::IndexSet;

use crate::model::{Lead, Millis, STANDARD_FIELDS};
use crate::store::{Filter, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Json,
}

/// Separator of the `groups` cell: group titles may contain commas, rarely semicolons.
pub const GROUPS_SEPARATOR: &str = "; ";

fn iso(ms: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map(|t| t.to_rfc3339()).unwrap_or_default()
}

fn csv_row(l: &Lead, fields: &IndexSet<String>) -> Vec<String> {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    let mut row = vec![
        l.id.to_string(),
        l.telegram_user_id.map(|u| u.to_string()).unwrap_or_default(),
        o(&l.username),
        l.phone.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
        l.first_name.clone(),
        l.last_name.clone(),
        o(&l.country),
        o(&l.language),
        l.source.to_string(),
        l.status.to_string(),
        l.priority.to_string(),
        o(&l.group_name),
        l.groups.iter().cloned().collect::<Vec<_>>().join(GROUPS_SEPARATOR),
        l.tags.iter().cloned().collect::<Vec<_>>().join(","),
        o(&l.photo),
        iso(l.created_at),
        iso(l.updated_at),
        l.created_by.clone(),
    ];
    row.extend(fields.iter().map(|k| l.custom_fields.get(k).cloned().unwrap_or_default()));
    row
}

fn csv_header(fields: &IndexSet<String>) -> Vec<&str> {
    STANDARD_FIELDS.iter().copied().chain(fields.iter().map(String::as_str)).collect()
}

/// Writes the given leads (a view the user is looking at) as CSV, in the same columns as `export`.
pub fn export_leads(leads: &[Lead], out: &mut dyn Write) -> anyhow::Result<u64> {
    let fields: IndexSet<String> = leads.iter().flat_map(|l| l.custom_fields.keys().cloned()).collect();
    let mut w = csv::Writer::from_writer(out);
    w.write_record(csv_header(&fields))?;
    for l in leads {
        w.write_record(csv_row(l, &fields))?;
    }
    w.flush()?;
    Ok(leads.len() as u64)
}

/// Streams the leads of `workspace` that pass `filter` into `out`; returns how many were written.
/// Memory stays bounded: CSV takes two passes (custom field names first), JSON one.
pub fn export(
    store: &Store,
    workspace: &str,
    filter: &Filter,
    format: Format,
    out: &mut dyn Write,
) -> anyhow::Result<u64> {
    let mut n = 0u64;
    let mut err: Option<anyhow::Error> = None;
    match format {
        Format::Csv => {
            let mut fields = IndexSet::new();
            store.scan(workspace, filter, |l| {
                for k in l.custom_fields.keys() {
                    if !fields.contains(k) {
                        fields.insert(k.clone());
                    }
                }
            })?;
            let mut w = csv::Writer::from_writer(out);
            w.write_record(csv_header(&fields))?;
            store.scan(workspace, filter, |l| {
                if err.is_none() {
                    match w.write_record(csv_row(&l, &fields)) {
                        Ok(()) => n += 1,
                        Err(e) => err = Some(e.into()),
                    }
                }
            })?;
            w.flush()?;
        }
        Format::Json => {
            out.write_all(b"[")?;
            store.scan(workspace, filter, |l| {
                if err.is_none() {
                    let sep: &[u8] = if n == 0 { b"\n" } else { b",\n" };
                    let res = out
                        .write_all(sep)
                        .map_err(anyhow::Error::from)
                        .and_then(|_| Ok(serde_json::to_writer(&mut *out, &l)?));
                    match res {
                        Ok(()) => n += 1,
                        Err(e) => err = Some(e),
                    }
                }
            })?;
            out.write_all(b"\n]\n")?;
        }
    }
    match err {
        Some(e) => Err(e),
        None => Ok(n),
    }
}
