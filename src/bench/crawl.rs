//! `reach bench crawl`: requests per 1,000 members collected from `@demo_big`, on the simulated
//! Telegram. The clock is paused, so the paced Telegram time is reported without being waited out.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::crawl::pool::{Account, Pacing};
use crate::crawl::{crawl, Event, Options, Sink};
use crate::store::{Store, WriteCtx};
use crate::telegram::sim::World;
use crate::telegram::{Target, PARTICIPANTS_PAGE};

pub fn run(target: &str, accounts: usize, pacing: Pacing) -> anyhow::Result<()> {
    let target = Target::parse(target).map_err(anyhow::Error::msg)?;
    let dir = tempfile::tempdir()?;
    let store = Store::open_dir(dir.path())?;
    let world = Arc::new(World::demo());
    let names: Vec<String> = (1..=accounts.max(1)).map(|i| format!("bench-{i}")).collect();
    let pool = names.iter().map(|n| Account { name: n.clone(), source: world.account(n), flood_until: None }).collect();
    let opts = Options {
        target: target.clone(),
        method: None,
        refresh: true,
        join: true,
        photos: false,
        history_depth: 100_000,
        cache_ttl: Duration::from_secs(24 * 3600),
        pacing,
    };
    let sink = Sink {
        store: &store,
        ctx: WriteCtx { workspace: "u:bench".into(), actor: "bench".into() },
        data_dir: dir.path(),
    };
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().start_paused(true).build()?;
    let wall = Instant::now();
    let mut waits = 0u64;
    let (summary, telegram_time) = rt.block_on(async {
        let start = tokio::time::Instant::now();
        let mut count = |e: Event| waits += matches!(e, Event::Waiting { .. }) as u64;
        let s = crawl(&sink, pool, &opts, Arc::new(AtomicBool::new(false)), &mut count).await;
        (s, start.elapsed())
    });
    let summary = summary?;
    let wall = wall.elapsed();
    let c = &summary.counts;
    let per_k = c.requests as f64 * 1000.0 / c.members_seen.max(1) as f64;
    let methods: Vec<&str> = summary.methods.iter().map(|m| m.as_str()).collect();
    println!(
        "bench crawl {target} on the simulated Telegram ({} account(s), pacing {} ms + up to {} ms jitter)",
        names.len(),
        pacing.interval.as_millis(),
        pacing.jitter.as_millis()
    );
    println!("  methods                 {}", methods.join(" → "));
    println!("  members collected       {}", c.members_seen);
    println!("  requests                {}", c.requests);
    println!(
        "  requests per 1,000      {per_k:.1}   (the floor is {:.1}: a page holds {PARTICIPANTS_PAGE})",
        1000.0 / f64::from(PARTICIPANTS_PAGE)
    );
    println!("  flood waits             {} ({} s spent with every account waiting)", c.flood_waits, waits);
    println!("  Telegram time (paced)   {:.1} s", telegram_time.as_secs_f64());
    println!("  engine time (real)      {:.2} s, including the store writes", wall.as_secs_f64());
    Ok(())
}
