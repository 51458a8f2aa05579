use super::{print_json, table, Context, SelectArgs};
use crate::store::Stats;

pub fn run(ctx: &Context, args: SelectArgs) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    let scope = ctx.scope(&store)?;
    let mut stats = Stats::start();
    args.selection(&store, &scope)?.visit(&store, &scope.workspace, |l| stats.add(&l))?;
    let stats = stats.finish();
    if ctx.json {
        return print_json(&stats);
    }
    let pct =
        |n: u64, of: u64| if of == 0 { "0.0%".to_string() } else { format!("{:.1}%", n as f64 * 100.0 / of as f64) };
    println!("{} leads, {} active, blocked rate {:.1}%", stats.total, stats.active, stats.blocked_rate * 100.0);
    println!(
        "messages: {} sent, {} received; {} leads written to, {} replied (reply rate {:.1}%)\n",
        stats.messages_sent,
        stats.messages_received,
        stats.leads_messaged,
        stats.leads_replied,
        stats.reply_rate * 100.0
    );
    let section = |title: &str, map: &std::collections::BTreeMap<String, u64>, of: u64| {
        let mut rows: Vec<(&String, &u64)> = map.iter().collect();
        rows.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let rows: Vec<Vec<String>> =
            rows.into_iter().map(|(k, v)| vec![k.clone(), v.to_string(), pct(*v, of)]).collect();
        print!("{}", table::render(&[title, "LEADS", "SHARE"], &rows));
        println!();
    };
    section("STATUS", &stats.by_status, stats.total);
    println!("Active leads only:\n");
    section("PRIORITY", &stats.by_priority, stats.active);
    section("SOURCE", &stats.by_source, stats.active);
    section("COUNTRY", &stats.by_country, stats.active);
    Ok(())
}
