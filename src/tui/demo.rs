//! `reach --demo`: a data dir seeded with a few thousand realistic sample leads from
//! `assets/demo-leads.csv` (a mix of statuses, priorities, sources, tags, groups and fields).

use crate::model::{LeadInput, Source};
use crate::store::{Store, WriteCtx, WriteOp};

const DEMO: &str = include_str!("../../assets/demo-leads.csv");

/// The demo's two simulated Telegram accounts, so the crawl panel works at once.
pub const DEMO_ACCOUNTS: &[(&str, &str)] = &[("demo-1", "+15550100"), ("demo-2", "+15550200")];

/// Seeds `store` once: a store that already holds leads is left alone.
pub fn seed(store: &Store, ctx: &WriteCtx) -> anyhow::Result<usize> {
    let known = crate::crawl::account::list(store)?;
    for (name, phone) in DEMO_ACCOUNTS {
        if !known.iter().any(|a| a.name == *name) {
            let me = crate::telegram::Me { user_id: 9_000_000_100, username: None, first_name: name.to_string() };
            let backend = crate::config::TelegramBackend::Simulated;
            let rec = crate::crawl::account::new_record(name, phone, backend, me, &ctx.workspace, &ctx.actor);
            crate::crawl::account::save(store, &rec)?;
        }
    }
    if store.count(&ctx.workspace)? > 0 {
        return Ok(0);
    }
    let mut reader = csv::Reader::from_reader(DEMO.as_bytes());
    let mut ops = Vec::new();
    for row in reader.records() {
        let r = row?;
        let get = |i: usize| r.get(i).map(str::to_string).filter(|s| !s.is_empty());
        let source = get(9).and_then(|s| s.parse::<Source>().ok()).unwrap_or(Source::Manual);
        let input = LeadInput {
            first_name: get(0),
            last_name: get(1),
            username: get(2),
            phone: get(3),
            country: get(4),
            language: get(5),
            tags: r.get(6).unwrap_or_default().split(',').filter(|t| !t.is_empty()).map(String::from).collect(),
            status: get(7),
            priority: get(8),
            group: get(10),
            fields: get(11).map(|c| vec![("company".to_string(), c)]).unwrap_or_default(),
            ..Default::default()
        };
        // The sample holds a few deliberately invalid rows, as real files do; they are skipped.
        if let Ok(c) = input.validate(source, None) {
            ops.push(WriteOp::Upsert(c));
        }
    }
    let n =
        store.write(ctx.clone(), ops)?.iter().filter(|o| matches!(o, crate::store::Outcome::Created { .. })).count();
    Ok(n)
}
