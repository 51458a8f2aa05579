//! `reach --demo`'s conversations: a few already under way when the demo opens, told through the
//! simulated Telegram so the demo's runners receive them like any others.

use std::path::Path;

use crate::crawl::backend::shared_world;
use crate::telegram::sim::chat::{first_user_id, persona, Persona, SimChat};
use crate::telegram::TgResult;

/// Seeds the simulated conversations of a fresh demo data dir; a dir that has them is left alone.
pub fn seed(data_dir: &Path, accounts: &[&str]) -> TgResult<()> {
    if SimChat::exists(data_dir) {
        return Ok(());
    }
    let w = shared_world();
    let first = first_user_id();
    // People from beyond @demo_small (its 150 members come first), so crawling it meets none of them.
    let mut people = (first + 207..first + 30_000)
        .step_by(97)
        .filter(|id| w.user(*id).is_some_and(|u| !u.bot && !u.deleted && u.username.is_some()))
        .filter(|id| matches!(persona(*id), Persona::Talker { replies: true }));
    for name in accounts {
        let chat = SimChat::new(w.clone(), name, data_dir);
        let past: [&[(bool, &str, i64)]; 3] = [
            &[
                (true, "Hi! We saw you in Demo Small. Are you still looking for a designer?", 600),
                (false, "Hi, yes, depends on the price", 540),
                (true, "Our rates start at $40/hour. Shall I send the portfolio?", 530),
                (false, "Sure, send it", 60),
            ],
            &[
                (false, "Hello, is the offer from your post still valid?", 300),
                (true, "Yes, until Friday. Want me to reserve one for you?", 290),
                (false, "Let me think about it", 280),
            ],
            &[(false, "Привет! Можно подробнее про условия?", 3)],
        ];
        for lines in past {
            let Some(user) = people.next() else { break };
            chat.seed_past(user, lines)?;
        }
    }
    Ok(())
}

/// The demo's campaigns, once: "Spring promo", which ran to its end three days ago (really run,
/// by the accounts' runners against the simulated world on a paused clock), and "Winter offer",
/// launched now, which the demo's runners send while you watch, replies arriving live.
pub fn seed_campaigns(
    store: &crate::store::Store,
    ctx: &crate::store::WriteCtx,
    data_dir: &Path,
    accounts: &[&str],
) -> anyhow::Result<()> {
    use crate::campaign::audience::{self, Draft};
    use crate::campaign::{Audience, Pacing, Step};
    if !store.campaigns(&ctx.workspace)?.is_empty() {
        return Ok(());
    }
    let w = shared_world();
    let first = first_user_id();
    // People the conversations above do not use (another stride), with usernames to find them by.
    let mut people = (first + 311..first + 30_000)
        .step_by(89)
        .filter(|id| w.user(*id).is_some_and(|u| !u.bot && !u.deleted && u.username.is_some()));
    let mut tagged = |tag: &str, n: usize| -> anyhow::Result<()> {
        let mut ops = Vec::new();
        for id in people.by_ref().take(n) {
            let Some(u) = w.user(id) else { continue };
            let input = crate::model::LeadInput {
                username: u.username.clone(),
                first_name: Some(u.first_name.clone()),
                last_name: Some(u.last_name.clone()).filter(|l| !l.is_empty()),
                tags: vec![tag.to_string()],
                ..Default::default()
            };
            if let Ok(c) = input.validate(crate::model::Source::Campaign, None) {
                ops.push(crate::store::WriteOp::Upsert(c));
            }
        }
        store.write(ctx.clone(), ops)?;
        Ok(())
    };
    tagged("spring-promo", 24)?;
    tagged("winter-offer", 40)?;
    let scope = store
        .scope(
            &ctx.actor,
            &crate::workspace::Workspace::from_key(&ctx.workspace)
                .unwrap_or_else(|| crate::workspace::Workspace::Personal(ctx.actor.clone())),
            crate::workspace::View::All,
        )?
        .map_err(|d| anyhow::anyhow!("{d}"))?;
    let accounts: Vec<String> = accounts.iter().map(|a| a.to_string()).collect();
    let draft = |name: &str, tag: &str, steps: Vec<Step>, per_hour: u32| Draft {
        name: name.into(),
        audience: Audience {
            filter: crate::store::Filter { tags: vec![tag.into()], ..Default::default() },
            ..Default::default()
        },
        steps,
        accounts: accounts.clone(),
        pacing: Pacing { per_hour: Some(per_hour), period_days: 0, ..Pacing::default() },
    };
    let step = |after_days: u32, text: &str| Step { after_days, text: text.into(), by_language: Vec::new() };
    let mut spring_steps = vec![
        step(0, "{Hi|Hello} {first_name|there}! Spring prices are in: 20% off every plan until the end of the month."),
        step(2, "{first_name|Hi}, just checking: did the spring offer reach you?"),
    ];
    spring_steps[0]
        .by_language
        .push(("ru".into(), "Привет, {first_name|друг}! Весенние цены: скидка 20% до конца месяца.".into()));
    let spring = audience::create(store, &scope, ctx, draft("Spring promo", "spring-promo", spring_steps, 120))?;
    let three_days_ago = crate::model::now_millis() - 3 * 86_400_000;
    audience::launch(store, ctx, &scope, spring.id, three_days_ago, |_, _| {})?;
    run_past(store, data_dir, &accounts, spring.id, three_days_ago)?;
    let winter_steps = vec![
        step(0, "{Hi|Hello} {first_name|there}, our winter offer is live: two months for the price of one."),
        step(3, "{first_name|Hi}, the winter offer ends soon. Shall I hold a spot for you?"),
    ];
    let winter = audience::create(store, &scope, ctx, draft("Winter offer", "winter-offer", winter_steps, 240))?;
    audience::launch(store, ctx, &scope, winter.id, crate::model::now_millis(), |_, _| {})?;
    Ok(())
}

/// Runs the accounts on a paused clock from `from` until the campaign is done (or a simulated
/// week passed), on a thread and runtime of its own.
fn run_past(
    store: &crate::store::Store,
    data_dir: &Path,
    accounts: &[String],
    campaign: u64,
    from: crate::model::Millis,
) -> anyhow::Result<()> {
    use std::sync::Arc;
    use std::time::Duration;
    let (store, dir, accounts) = (store.clone(), data_dir.to_path_buf(), accounts.to_vec());
    let run = move || -> anyhow::Result<()> {
        let rt = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build()?;
        rt.block_on(async {
            let cfg = super::RunnerConfig {
                interval: Duration::from_secs(2),
                jitter: Duration::from_secs(1),
                ..super::RunnerConfig::on_paused_clock("demo", from)
            };
            let (stop, stop_rx) = tokio::sync::watch::channel(false);
            let (events, _rx) = tokio::sync::mpsc::unbounded_channel();
            let mut tasks = Vec::new();
            for a in &accounts {
                let Some(rec) = crate::crawl::account::get(&store, a)? else { continue };
                let chat = SimChat::new(shared_world(), a, &dir)
                    .without_strangers()
                    .starting_at(from)
                    .polling_every(Duration::from_secs(600));
                let wake = Arc::new(tokio::sync::Notify::new());
                let run = super::runner::run(
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
            let ws = crate::crawl::account::get(&store, &accounts[0])?.map(|r| r.workspace).unwrap_or_default();
            for _ in 0..7 * 24 {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                let done =
                    store.campaign(&ws, campaign)?.is_none_or(|c| c.state == crate::campaign::CampaignState::Done);
                if done {
                    break;
                }
            }
            let _ = stop.send(true);
            for t in tasks {
                let _ = t.await;
            }
            anyhow::Ok(())
        })
    };
    let ran = std::thread::spawn(run).join().map_err(|_| anyhow::anyhow!("the demo's past campaign run panicked"))?;
    // The past's clock ran days ahead: its request stamps must not flood the accounts now.
    shared_world().forget_rates();
    ran
}
