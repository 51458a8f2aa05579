//! CSV and JSON export. The CSV columns are the import's standard columns, followed by one
//! column per custom field, so an export re-imports into the same leads, tags and fields included.

use std::io::Write;

use indexmap::IndexSet;

use crate::model::{Lead, Millis, STANDARD_FIELDS};
use crate::search::Selection;
use crate::store::{Filter, Store};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Csv,
    Json,
    /// vCard 3.0, one card per lead, for a phone's contacts app.
    Vcard,
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

/// Streams the leads with these ids (a view the user is looking at, in its order) as CSV, in the
/// same columns as `export`, holding one lead at a time.
pub fn export_ids(store: &Store, workspace: &str, ids: &[u64], out: &mut dyn Write) -> anyhow::Result<u64> {
    write_csv(&mut |f| store.visit_ids(workspace, ids, f), out)
}

/// Calls its argument with each lead of a set (a scan, or a list of ids), in the set's order.
type Visit<'a> = dyn FnMut(&mut dyn FnMut(Lead)) -> Result<(), crate::store::StoreError> + 'a;

/// CSV in two passes over `visit`: the custom field names first, for the header, then the rows.
fn write_csv(visit: &mut Visit, out: &mut dyn Write) -> anyhow::Result<u64> {
    let mut fields = IndexSet::new();
    visit(&mut |l| {
        for k in l.custom_fields.keys() {
            if !fields.contains(k) {
                fields.insert(k.clone());
            }
        }
    })?;
    let mut w = csv::Writer::from_writer(out);
    w.write_record(csv_header(&fields))?;
    let (mut n, mut err) = (0u64, None);
    visit(&mut |l| {
        if err.is_none() {
            match w.write_record(csv_row(&l, &fields)) {
                Ok(()) => n += 1,
                Err(e) => err = Some(e),
            }
        }
    })?;
    if let Some(e) = err {
        return Err(e.into());
    }
    w.flush()?;
    Ok(n)
}

/// Streams the leads of `workspace` that pass `filter` into `out`; returns how many were written.
pub fn export(
    store: &Store,
    workspace: &str,
    filter: &Filter,
    format: Format,
    out: &mut dyn Write,
) -> anyhow::Result<u64> {
    export_selection(store, workspace, &Selection::new(filter.clone()), format, out)
}

/// Streams a selection into `out`, ranked when it has a search (id order otherwise); returns how
/// many were written. Memory stays bounded: one lead at a time (plus the ranked ids); CSV takes two
/// passes (custom field names first), JSON one.
pub fn export_selection(
    store: &Store,
    workspace: &str,
    sel: &Selection,
    format: Format,
    out: &mut dyn Write,
) -> anyhow::Result<u64> {
    let ranked = match sel.search() {
        Some(_) => Some(sel.ranked_ids(store, workspace)?),
        None => None,
    };
    let mut visit = |f: &mut dyn FnMut(Lead)| match &ranked {
        Some(ids) => store.visit_ids(workspace, ids, f),
        None => sel.visit(store, workspace, f),
    };
    match format {
        Format::Csv => write_csv(&mut visit, out),
        Format::Json => write_json(&mut visit, out),
        Format::Vcard => write_vcard(&mut visit, out),
    }
}

fn write_vcard(visit: &mut Visit, out: &mut dyn Write) -> anyhow::Result<u64> {
    let (mut n, mut err) = (0u64, None);
    visit(&mut |l| {
        if err.is_none() {
            match out.write_all(crate::vcard::card(&l).as_bytes()) {
                Ok(()) => n += 1,
                Err(e) => err = Some(e),
            }
        }
    })?;
    if let Some(e) = err {
        return Err(e.into());
    }
    Ok(n)
}

fn write_json(visit: &mut Visit, out: &mut dyn Write) -> anyhow::Result<u64> {
    let mut n = 0u64;
    let mut err: Option<anyhow::Error> = None;
    out.write_all(b"[")?;
    visit(&mut |l| {
        if err.is_none() {
            let sep: &[u8] = if n == 0 { b"\n" } else { b",\n" };
            let res =
                out.write_all(sep).map_err(anyhow::Error::from).and_then(|_| Ok(serde_json::to_writer(&mut *out, &l)?));
            match res {
                Ok(()) => n += 1,
                Err(e) => err = Some(e),
            }
        }
    })?;
    if let Some(e) = err {
        return Err(e);
    }
    out.write_all(b"\n]\n")?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LeadInput, Source};
    use crate::store::{Outcome, WriteCtx, WriteOp};

    #[test]
    fn a_view_exports_in_its_order_with_its_custom_fields() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_dir(dir.path()).unwrap();
        let ctx = WriteCtx { workspace: "u:t".into(), actor: "t".into() };
        let mut ids = Vec::new();
        for (user, field) in [("ivan_petrov", ("company", "Acme, Inc.")), ("anna_smith", ("city", "Oslo"))] {
            let input = LeadInput {
                username: Some(user.into()),
                fields: vec![(field.0.into(), field.1.into())],
                ..Default::default()
            };
            let op = WriteOp::Upsert(input.validate(Source::Manual, None).unwrap());
            let Outcome::Created { id } = store.write_one(ctx.clone(), op).unwrap() else { panic!() };
            ids.push(id);
        }
        // The view's order, with an id deleted meanwhile.
        let view = [ids[1], 999, ids[0]];
        let mut out = Vec::new();
        assert_eq!(export_ids(&store, "u:t", &view, &mut out).unwrap(), 2);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("id,telegram_user_id,username,phone_number"), "{text}");
        assert!(lines[0].ends_with(",city,company"), "custom fields follow the standard columns: {text}");
        assert!(lines[1].contains("anna_smith") && lines[1].ends_with(",Oslo,"), "{text}");
        assert!(lines[2].contains("ivan_petrov") && lines[2].ends_with(",\"Acme, Inc.\""), "{text}");
    }
}
