//! `reach bench campaign`: launching a campaign over N leads (the audience snapshot and the
//! recipient states), its dry run, and what the scheduler costs per message when the accounts'
//! runners send a campaign against the simulated world on a paused clock.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::campaign::audience::{self, Draft};
use crate::campaign::{Audience, CampaignState, Pacing, Step};
use crate::config::TelegramBackend;
use crate::crawl::account;
use crate::crawl::backend::shared_world;
use crate::store::{Store, TalkOp, WriteCtx, WriteOp};
use crate::talk::RunnerConfig;
use crate::telegram::sim::chat::{first_user_id, persona, Persona, SimChat};
use crate::workspace::{View, Workspace};

const ACCOUNTS: [&str; 2] = ["bench-1", "bench-2"];

fn ctx() -> WriteCtx {
    WriteCtx { workspace: Workspace::Personal(super::USER.into()).key(), actor: super::USER.into() }
}

fn add_accounts(store: &Store) -> anyhow::Result<()> {
    for (i, name) in ACCOUNTS.iter().enumerate() {
        let me =
            crate::telegram::Me { user_id: 9_100_000_000 + i as u64, username: None, first_name: name.to_string() };
        let rec = account::new_record(
            name,
            &format!("+1555020{i}"),
            TelegramBackend::Simulated,
            me,
            &ctx().workspace,
            super::USER,
        );
        account::save(store, &rec)?;
    }
    Ok(())
}

fn draft(name: &str, pacing: Pacing) -> Draft {
    let mut first = Step {
        after_days: 0,
        text: "{Hi|Hello|Hey} {first_name|there}! {field:company|Your team} might like our {spring|new} plans.".into(),
        by_language: Vec::new(),
    };
    first.by_language.push(("ru".into(), "{Привет|Здравствуйте}, {first_name|друг}!".into()));
    Draft {
        name: name.into(),
        audience: Audience::default(),
        steps: vec![
            first,
            Step { after_days: 3, text: "Any thoughts, {first_name|friend}?".into(), by_language: vec![] },
        ],
        accounts: ACCOUNTS.iter().map(|a| a.to_string()).collect(),
        pacing,
    }
}

pub fn run(leads: u64, sends: u64, dir: &Path) -> anyhow::Result<()> {
    let store = super::filled_store(&dir.join("store"), leads)?;
    add_accounts(&store)?;
    let scope = store
        .scope(super::USER, &Workspace::Personal(super::USER.into()), View::All)?
        .map_err(|d| anyhow::anyhow!("{d}"))?;
    let name = format!("bench {}", crate::model::now_millis());
    let pacing = Pacing { per_hour: Some(60), per_day: Some(1000), timezone: "UTC".into(), ..Pacing::default() };

    let t = Instant::now();
    let c = audience::create(&store, &scope, &ctx(), draft(&name, pacing))?;
    println!(
        "create (templates checked against {} leads)      {:>8.2} s",
        scope_count(&store)?,
        t.elapsed().as_secs_f64()
    );

    super::reset_peak_rss();
    let t = Instant::now();
    let d = audience::dry_run(&store, &scope, &c, crate::model::now_millis(), 1000, 1000, 10)?;
    let messaged: u64 = d.by_variant.values().sum();
    println!(
        "dry run: {} leads rendered, {} skipped        {:>8.2} s   peak RSS {}",
        d.audience,
        d.audience - messaged,
        t.elapsed().as_secs_f64(),
        rss(super::peak_rss_mb())
    );
    println!("  it would take {:.1} days at 1,000 a day per account", d.takes_ms as f64 / 86_400_000.0);

    super::reset_peak_rss();
    let t = Instant::now();
    let launched = audience::launch(&store, &ctx(), &scope, c.id, crate::model::now_millis(), |_, _| {})?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "launch: {} recipients written                 {:>8.2} s = {:>7.0} recipients/s   peak RSS {}",
        launched.tally.all.total(),
        secs,
        f64::from(launched.tally.all.total()) / secs.max(1e-9),
        rss(super::peak_rss_mb())
    );
    audience::set_state(&store, &ctx(), c.id, CampaignState::Cancelled, crate::model::now_millis())?;

    scheduler(sends, &dir.join("sched"))
}

fn scope_count(store: &Store) -> anyhow::Result<u64> {
    Ok(store.count(&ctx().workspace)?)
}

fn rss(mb: Option<f64>) -> String {
    mb.map(|m| format!("{m:.0} MB")).unwrap_or_else(|| "n/a".into())
}

/// The runners of two accounts send `sends` campaign messages to people of the simulated world
/// on a paused clock: the real time each message takes is what reach itself costs (the dispatch
/// decision and its transaction, the outbox, the settle, the echo and the read receipt).
fn scheduler(sends: u64, dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    let store = Store::open_dir(dir)?;
    add_accounts(&store)?;
    let w = shared_world();
    let first = first_user_id();
    let people: Vec<u64> = (first..first + 30_000)
        .filter(|id| {
            w.user(*id).is_some_and(|u| !u.bot && !u.deleted) && matches!(persona(*id), Persona::Talker { .. })
        })
        .take(sends as usize)
        .collect();
    for chunk in people.chunks(1000) {
        let mut ops = Vec::new();
        for uid in chunk {
            let input = crate::model::LeadInput { telegram_user_id: Some(uid.to_string()), ..Default::default() };
            ops.push(WriteOp::Upsert(input.validate(crate::model::Source::Manual, None)?));
            for a in ACCOUNTS {
                let access_hash = crate::telegram::sim::chat::user_hash_for(&w, a, *uid);
                let user = crate::telegram::UserRef { user_id: *uid, access_hash };
                ops.push(WriteOp::Talk(TalkOp::Peer { account: a.into(), user }));
            }
        }
        store.write(ctx(), ops)?;
    }
    let scope = store
        .scope(super::USER, &Workspace::Personal(super::USER.into()), View::All)?
        .map_err(|d| anyhow::anyhow!("{d}"))?;
    let pacing = Pacing { per_hour: Some(3600), timezone: "UTC".into(), period_days: 0, ..Pacing::default() };
    let c = audience::create(&store, &scope, &ctx(), draft("scheduler", pacing))?;
    let start_wall = crate::model::now_millis();
    audience::launch(&store, &ctx(), &scope, c.id, start_wall, |_, _| {})?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build()?;
    let t = Instant::now();
    let (sim_secs, sent) = rt.block_on(async {
        let cfg = RunnerConfig { send_read_receipts: true, ..RunnerConfig::on_paused_clock("bench", start_wall) };
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let (events, _rx) = tokio::sync::mpsc::unbounded_channel();
        let mut tasks = Vec::new();
        for a in ACCOUNTS {
            let Some(rec) = account::get(&store, a)? else { continue };
            let chat = SimChat::new(w.clone(), a, dir)
                .without_strangers()
                .in_memory()
                .starting_at(start_wall)
                .polling_every(Duration::from_secs(30))
                .first_contact_limit(1_000_000);
            let wake = Arc::new(tokio::sync::Notify::new());
            let run = crate::talk::runner::run(
                store.clone(),
                rec,
                Arc::new(chat),
                cfg.clone(),
                events.clone(),
                wake,
                stop_rx.clone(),
            );
            tasks.push(tokio::spawn(run));
        }
        let begun = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(Duration::from_secs(60)).await;
            let c = store.campaign(&ctx().workspace, c.id)?.ok_or_else(|| anyhow::anyhow!("the campaign vanished"))?;
            if c.tally.all.messaged() + c.tally.all.get("failed") >= people.len() as u32
                || begun.elapsed() > Duration::from_secs(7 * 86_400)
            {
                let _ = stop.send(true);
                for t in tasks {
                    let _ = t.await;
                }
                return anyhow::Ok((begun.elapsed().as_secs_f64(), c.tally.messages));
            }
        }
    })?;
    let real = t.elapsed().as_secs_f64();
    println!(
        "scheduler: {sent} messages by 2 runners in {:.0} simulated min, {:.1} s real = {:.2} ms of reach per message",
        sim_secs / 60.0,
        real,
        real * 1000.0 / f64::from(sent.max(1))
    );
    println!(
        "  each account sends one a second here (its minimum pace): the machinery uses {:.1}% of that second",
        real * 1000.0 / f64::from(sent.max(1)) * 2.0 / 10.0
    );
    Ok(())
}
