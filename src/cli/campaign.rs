//! `reach campaign …`: create a campaign from a segment, the lead list's filters or a file; dry-run,
//! launch, pause, resume and cancel it; its live statistics and its report.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::{print_json, table, Context, SelectArgs};
use crate::campaign::audience::{self, Draft};
use crate::campaign::pace::{self, Ready};
use crate::campaign::{Audience, Campaign, CampaignState, Counts, Pacing, RecipientState, Step};
use crate::model::{format_millis, now_millis, Millis, Source};
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum CampaignCmd {
    /// Create a campaign (a draft: `campaign dry-run` shows what it would send, `campaign launch`
    /// starts it). The audience is a segment, the `lead list` filter flags and --query, or a file.
    Create(Box<CreateArgs>),
    /// The workspace's campaigns with their progress
    List,
    /// A campaign's live statistics: by state, account, template variant and skip reason, and
    /// what each account waits for
    Show { name: String },
    /// Fix the audience as recipients and start sending
    Launch { name: String },
    /// Stop queuing messages (a message already handed to an account waits too)
    Pause { name: String },
    /// Go on after a pause (also lets go of circuit breakers: a person says the accounts may go on)
    Resume { name: String },
    /// Stop for good: recipients still waiting are skipped as cancelled
    Cancel { name: String },
    /// Render every first message and list who would be skipped and why, without sending
    DryRun {
        name: String,
        /// How many rendered messages to print (all of them are rendered and counted)
        #[arg(long, default_value_t = 10)]
        show: usize,
    },
    /// One CSV row per recipient with its state, times and reason
    Report {
        name: String,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    pub name: String,
    /// The message: {first_name}, {first_name|there} (a fallback), {field:company}, and spintax
    /// such as {Hi|Hello} (chosen per lead, the same every time)
    #[arg(long, value_name = "TEXT")]
    pub template: String,
    /// The message for leads of one language, e.g. --template-for ru="Привет, {first_name|друг}!"
    #[arg(long, value_name = "LANG=TEXT")]
    pub template_for: Vec<String>,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Usernames and phones from a file (any format `reach import` reads): those not yet leads
    /// become leads with source `campaign`; the audience is the file's people
    #[arg(long, value_name = "FILE", conflicts_with_all = ["segment", "query"])]
    pub from_file: Option<PathBuf>,
    /// An account to send from (repeatable) [default: every account of the workspace not limited]
    #[arg(long, value_name = "NAME")]
    pub account: Vec<String>,
    /// Messages per account per hour, spread evenly
    #[arg(long, value_name = "N")]
    pub per_hour: Option<u32>,
    /// Messages per account per day (the campaign's time zone's day)
    #[arg(long, value_name = "N")]
    pub per_day: Option<u32>,
    /// Up to this many more seconds between two messages of an account
    #[arg(long, value_name = "SECS", default_value_t = 0)]
    pub jitter: u64,
    /// Hours in which nothing is sent, in the campaign's time zone, e.g. 22-8
    #[arg(long, value_name = "H-H")]
    pub quiet_hours: Option<String>,
    /// IANA time zone of the caps, quiet hours and --start [default: config campaigns.timezone,
    /// else this machine's]
    #[arg(long, value_name = "TZ")]
    pub timezone: Option<String>,
    /// Send nothing before this time: "2026-12-24 09:00" (in the time zone) or RFC 3339
    #[arg(long, value_name = "TIME")]
    pub start: Option<String>,
    /// A further step: DAYS:TEXT sends TEXT that many days after the previous step to leads who
    /// have not replied (repeatable, in order)
    #[arg(long, value_name = "DAYS:TEXT")]
    pub follow_up: Vec<String>,
    /// At most one campaign message per lead in this many days, across campaigns
    /// [default: config campaigns.period_days]
    #[arg(long, value_name = "DAYS")]
    pub period_days: Option<u32>,
}

pub fn run(ctx: &Context, cmd: CampaignCmd) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    match cmd {
        CampaignCmd::Create(args) => create(ctx, &store, *args),
        CampaignCmd::List => list(ctx, &store),
        CampaignCmd::Show { name } => show(ctx, &store, &name),
        CampaignCmd::Launch { name } => launch(ctx, &store, &name),
        CampaignCmd::Pause { name } => control(ctx, &store, &name, CampaignState::Paused),
        CampaignCmd::Resume { name } => control(ctx, &store, &name, CampaignState::Running),
        CampaignCmd::Cancel { name } => control(ctx, &store, &name, CampaignState::Cancelled),
        CampaignCmd::DryRun { name, show } => dry_run(ctx, &store, &name, show),
        CampaignCmd::Report { name, out } => report(ctx, &store, &name, &out),
    }
}

/// The campaign of the current workspace named `name`, or an error naming it.
fn find(ctx: &Context, store: &Store, name: &str) -> anyhow::Result<Campaign> {
    let ws = ctx.workspace(store)?;
    store.campaign_named(&ws.key(), name)?.ok_or_else(|| {
        anyhow::anyhow!("no campaign named {:?} in workspace {ws}; `reach campaign list` lists them", name.trim())
    })
}

/// `DAYS:TEXT`.
fn follow_up(raw: &str) -> anyhow::Result<Step> {
    let bad = || anyhow::anyhow!("--follow-up {raw:?}: expected DAYS:TEXT, such as 3:Any thoughts, {{first_name}}?");
    let (days, text) = raw.split_once(':').ok_or_else(bad)?;
    let after_days: u32 = days.trim().parse().map_err(|_| bad())?;
    if after_days == 0 || text.trim().is_empty() {
        return Err(bad());
    }
    Ok(Step { after_days, text: text.to_string(), by_language: Vec::new() })
}

/// `--start` in the zone: a civil time there, or an RFC 3339 instant.
fn start_time(raw: &str, zone: &str) -> anyhow::Result<Millis> {
    if let Ok(t) = raw.parse::<jiff::Timestamp>() {
        return Ok(t.as_millisecond());
    }
    let tz = pace::zone(zone).map_err(anyhow::Error::msg)?;
    let civil: jiff::civil::DateTime = raw.trim().replace(' ', "T").parse().map_err(|_| {
        anyhow::anyhow!("--start {raw:?}: expected a time such as \"2026-12-24 09:00\" or 2026-12-24T09:00:00Z")
    })?;
    let z = civil.to_zoned(tz).map_err(|e| anyhow::anyhow!("--start {raw:?}: {e}"))?;
    Ok(z.timestamp().as_millisecond())
}

fn create(ctx: &Context, store: &Store, a: CreateArgs) -> anyhow::Result<()> {
    let scope = ctx.scope(store)?;
    let wctx = ctx.write_ctx(store)?;
    let mut first = Step { after_days: 0, text: a.template.clone(), by_language: Vec::new() };
    for t in &a.template_for {
        let (lang, text) = t.split_once('=').ok_or_else(|| {
            anyhow::anyhow!("--template-for {t:?}: expected LANG=TEXT, such as ru=Привет, {{first_name|друг}}!")
        })?;
        let lang =
            crate::normalize::normalize_language(lang).map_err(|e| anyhow::anyhow!("--template-for {t:?}: {e}"))?;
        first.by_language.push((lang, text.to_string()));
    }
    let mut steps = vec![first];
    for f in &a.follow_up {
        steps.push(follow_up(f)?);
    }
    let defaults = &ctx.config.campaigns;
    let timezone = a.timezone.clone().unwrap_or_else(|| match defaults.timezone.as_str() {
        "" => pace::local_zone_name(),
        z => z.to_string(),
    });
    pace::zone(&timezone).map_err(|e| anyhow::anyhow!("--timezone: {e}"))?;
    let quiet_hours = match &a.quiet_hours {
        Some(q) => Some(crate::config::parse_hours(q).map_err(|e| anyhow::anyhow!("--quiet-hours {e}"))?),
        None => None,
    };
    let start_at = a.start.as_deref().map(|s| start_time(s, &timezone)).transpose()?;
    let pacing = Pacing {
        per_hour: a.per_hour.filter(|n| *n > 0),
        per_day: a.per_day.filter(|n| *n > 0),
        jitter_ms: a.jitter.saturating_mul(1000),
        quiet_hours,
        timezone,
        start_at,
        period_days: a.period_days.unwrap_or(defaults.period_days),
    };
    let mut audience = Audience {
        segment: a.select.segment.clone(),
        filter: a.select.filter.to_filter()?,
        query: a.select.query.clone(),
        file: None,
    };
    if let Some(file) = &a.from_file {
        // The file's people become (or update) leads now, tagged so the audience finds them.
        let tag =
            crate::normalize::normalize_tag(&format!("campaign-{}", a.name.trim().to_lowercase().replace(' ', "-")))?;
        let mut opts = crate::import::ImportOptions::new(file, ctx.data_dir.join("reports"));
        opts.tags = vec![tag.clone()];
        opts.source = Source::Campaign;
        opts.default_region = ctx.config.default_region.clone();
        let never = std::sync::atomic::AtomicBool::new(false);
        let summary = crate::import::run(store, &wctx, &opts, &never, |_| {})?;
        eprintln!(
            "{}: {} rows, {} new leads, {} updated, {} rejected{}",
            file.display(),
            summary.counts.rows,
            summary.counts.created,
            summary.counts.updated,
            summary.counts.rejected,
            summary.report.as_ref().map(|r| format!(" (see {})", r.display())).unwrap_or_default()
        );
        audience.filter.tags.push(tag);
        audience.file = Some(file.display().to_string());
    }
    let draft = Draft { name: a.name, audience, steps, accounts: a.account, pacing };
    let c = audience::create(store, &scope, &wctx, draft)?;
    if ctx.json {
        return print_json(&c);
    }
    println!(
        "campaign {:?} created (a draft, from {}): `reach campaign dry-run {}` shows what it would send, `reach campaign launch {}` starts it",
        c.name,
        c.accounts.join(", "),
        shell_word(&c.name),
        shell_word(&c.name)
    );
    Ok(())
}

fn shell_word(s: &str) -> String {
    if s.chars().all(|c| c.is_alphanumeric() || "-_.".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// "120/1000 ▰▰▰▱▱" style progress: recipients done (messaged or ended) of all.
fn progress(c: &Campaign) -> (u32, u32) {
    let a = &c.tally.all;
    (a.total() - a.get("pending") - a.get("queued"), a.total())
}

fn list(ctx: &Context, store: &Store) -> anyhow::Result<()> {
    let ws = ctx.workspace(store)?.key();
    let campaigns = store.campaigns(&ws)?;
    if ctx.json {
        return print_json(&campaigns);
    }
    if campaigns.is_empty() {
        println!("no campaigns yet; `reach campaign create NAME --template TEXT --segment S` makes one");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = campaigns
        .iter()
        .map(|c| {
            let (done, all) = progress(c);
            let a = &c.tally.all;
            vec![
                c.name.clone(),
                c.state.to_string(),
                format!("{done}/{all}"),
                a.messaged().to_string(),
                a.get("replied").to_string(),
                format!("{:.1}%", a.reply_rate()),
                a.get("failed").to_string(),
                a.get("skipped").to_string(),
                c.accounts.join(","),
            ]
        })
        .collect();
    let head = ["NAME", "STATE", "DONE", "MESSAGED", "REPLIED", "RATE", "FAILED", "SKIPPED", "ACCOUNTS"];
    print!("{}", table::render(&head, &rows));
    Ok(())
}

/// What an account of a running campaign waits for now, if anything: its breaker, Telegram's
/// limits, a runner that is not running, the caps.
fn waiting(store: &Store, c: &Campaign, account: &str, now: Millis) -> anyhow::Result<Option<String>> {
    let rec = crate::crawl::account::get(store, account)?;
    let Some(rec) = rec else { return Ok(Some(format!("the account {account} was removed"))) };
    if rec.limited_since.is_some() {
        return Ok(Some("limited by Telegram (PEER_FLOOD): check @SpamBot, then reach account resume".into()));
    }
    if rec.flood_until.is_some_and(|t| t > now) {
        return Ok(Some("in a flood wait from Telegram".into()));
    }
    let running = rec.runner.as_ref().is_some_and(|r| {
        now - r.heartbeat < crate::crawl::account::RUNNER_STALE_MS
            && !matches!(r.health, crate::crawl::account::RunnerHealth::Stopped)
    });
    if !running && c.state == CampaignState::Running {
        return Ok(Some("no process runs this account: start `reach listen` (or the TUI)".into()));
    }
    Ok(match pace::ready(c, account, now) {
        Ready::Now => None,
        Ready::At(t, why) if why != "pacing" => Some(format!("{why}, until {} UTC", format_millis(t))),
        Ready::At(..) => None,
        Ready::Held(why) => Some(why),
    })
}

fn counts_row(name: &str, c: &Counts) -> Vec<String> {
    let mut row = vec![name.to_string()];
    row.extend(RecipientState::BUCKETS.iter().map(|b| c.get(b).to_string()));
    row.push(format!("{:.1}%", c.reply_rate()));
    row
}

fn show(ctx: &Context, store: &Store, name: &str) -> anyhow::Result<()> {
    let c = find(ctx, store, name)?;
    let ws = ctx.workspace(store)?.key();
    let now = now_millis();
    let mut waits = Vec::new();
    if matches!(c.state, CampaignState::Running | CampaignState::Paused) {
        for a in &c.accounts {
            if let Some(w) = waiting(store, &c, a, now)? {
                waits.push((a.clone(), w));
            }
        }
    }
    let due = store.due_counts(&ws, &c)?;
    if ctx.json {
        let waits: std::collections::BTreeMap<_, _> = waits.into_iter().collect();
        let due: std::collections::BTreeMap<_, _> = due.into_iter().collect();
        return print_json(&serde_json::json!({ "campaign": c, "waiting": waits, "due": due }));
    }
    let (done, all) = progress(&c);
    println!("campaign {:?}: {} ({done} of {all} recipients done)", c.name, c.state);
    if let Some(t) = c.launched_at {
        println!("launched {} UTC", format_millis(t));
    }
    if let Some(t) = c.ended_at {
        println!("ended    {} UTC", format_millis(t));
    }
    println!("accounts {}", c.accounts.join(", "));
    let p = &c.pacing;
    let caps = [
        p.per_hour.map(|n| format!("{n}/hour")),
        p.per_day.map(|n| format!("{n}/day")),
        p.quiet_hours.map(|(a, b)| format!("quiet {a}-{b}")),
        Some(format!("time zone {}", p.timezone)),
        Some(format!("one campaign message per lead per {} days", p.period_days)),
    ];
    println!("pacing   {}", caps.into_iter().flatten().collect::<Vec<_>>().join(", "));
    println!("steps    {} (messages sent: {})", c.steps.len(), c.tally.messages);
    println!();
    let head = ["", "PENDING", "QUEUED", "SENT", "READ", "REPLIED", "FAILED", "SKIPPED", "REPLY RATE"];
    let mut rows = vec![counts_row("all", &c.tally.all)];
    rows.extend(c.tally.by_account.iter().map(|(a, n)| counts_row(&format!("account {a}"), n)));
    rows.extend(c.tally.by_variant.iter().map(|(v, n)| counts_row(&format!("template {v}"), n)));
    print!("{}", table::render(&head, &rows));
    if !c.tally.skipped.is_empty() {
        println!("\nskipped:");
        for (why, n) in &c.tally.skipped {
            println!("  {n:>7}  {}", crate::campaign::SkipReason::describe_key(why));
        }
    }
    if !due.is_empty() && due.iter().any(|(_, n)| *n > 0) {
        let d: Vec<String> = due.iter().map(|(a, n)| format!("{a} {n}")).collect();
        println!("\nwaiting in each account's queue: {}", d.join(", "));
    }
    for (a, w) in &waits {
        println!("{a} waits: {w}");
    }
    if c.state == CampaignState::Running && !waits.is_empty() && waits.len() == c.accounts.len() {
        println!("no account of the campaign can send now: it waits");
    }
    Ok(())
}

fn launch(ctx: &Context, store: &Store, name: &str) -> anyhow::Result<()> {
    let c = find(ctx, store, name)?;
    let scope = ctx.scope(store)?;
    let wctx = ctx.write_ctx(store)?;
    let bar = (!ctx.json && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
        let b = indicatif::ProgressBar::new(0);
        if let Ok(s) = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} recipients") {
            b.set_style(s);
        }
        b
    });
    let launched = audience::launch(store, &wctx, &scope, c.id, now_millis(), |done, total| {
        if let Some(b) = &bar {
            b.set_length(total);
            b.set_position(done);
        }
    });
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let c = launched?;
    if ctx.json {
        return print_json(&c);
    }
    let a = &c.tally.all;
    println!(
        "campaign {:?} launched: {} recipients, {} to message, {} skipped; the accounts' runners send it (reach listen, or the TUI)",
        c.name,
        a.total(),
        a.get("pending"),
        a.get("skipped")
    );
    Ok(())
}

fn control(ctx: &Context, store: &Store, name: &str, state: CampaignState) -> anyhow::Result<()> {
    let c = find(ctx, store, name)?;
    audience::set_state(store, &ctx.write_ctx(store)?, c.id, state, now_millis())?;
    let what = match state {
        CampaignState::Paused => "paused",
        CampaignState::Cancelled => "cancelled: recipients still waiting are skipped",
        _ => "running",
    };
    if ctx.json {
        return print_json(&find(ctx, store, name)?);
    }
    println!("campaign {:?} {what}", c.name);
    Ok(())
}

fn dry_run(ctx: &Context, store: &Store, name: &str, show: usize) -> anyhow::Result<()> {
    let c = find(ctx, store, name)?;
    let scope = ctx.scope(store)?;
    let m = &ctx.config.messages;
    let d = audience::dry_run(store, &scope, &c, now_millis(), m.first_contacts_per_day, m.pacing_ms, show)?;
    if ctx.json {
        return print_json(&d);
    }
    println!("dry run of campaign {:?}: nothing is sent", c.name);
    let messaged: u64 = d.by_variant.values().sum();
    println!("audience {} leads: {messaged} would be messaged, {} skipped", d.audience, d.audience - messaged);
    for (v, n) in &d.by_variant {
        println!("  template {v}: {n}");
    }
    for (why, n) in &d.skipped {
        println!("  skipped, {why}: {n}");
    }
    for (a, (n, ms)) in &d.by_account {
        println!("  {a}: {n} messages over {}", duration(*ms));
    }
    if messaged > 0 {
        println!("it takes about {} under its caps and the accounts' first-contact cap", duration(d.takes_ms));
    }
    for p in &d.recipients {
        match &p.text {
            Ok(t) => println!("\n#{} {} ({}, template {}):\n{t}", p.lead, p.name, p.account, p.variant),
            Err(why) => println!("\n#{} {}: skipped, {why}", p.lead, p.name),
        }
    }
    Ok(())
}

fn duration(ms: Millis) -> String {
    if ms == Millis::MAX {
        return "never (held)".into();
    }
    let mins = ms / 60_000;
    match mins {
        0 => "under a minute".into(),
        m if m < 120 => format!("{m} min"),
        m if m < 48 * 60 => format!("{:.1} h", m as f64 / 60.0),
        m => format!("{:.1} days", m as f64 / 1440.0),
    }
}

fn report(ctx: &Context, store: &Store, name: &str, out: &std::path::Path) -> anyhow::Result<()> {
    let c = find(ctx, store, name)?;
    let ws = ctx.workspace(store)?.key();
    let recipients = store.recipients(&ws, c.id)?;
    let file = std::fs::File::create(out).map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
    let mut w = csv::Writer::from_writer(std::io::BufWriter::new(file));
    w.write_record([
        "lead_id",
        "username",
        "name",
        "account",
        "template",
        "state",
        "reason",
        "steps_sent",
        "queued_at",
        "sent_at",
        "read_at",
        "replied_at",
        "ended",
    ])?;
    let time = |t: Option<Millis>| t.map(|t| format!("{}Z", format_millis(t).replace(' ', "T"))).unwrap_or_default();
    let mut leads = std::collections::HashMap::new();
    let ids: Vec<u64> = recipients.iter().map(|r| r.lead).collect();
    store.visit_ids(&ws, &ids, |l| {
        leads.insert(l.id, (l.username.clone().unwrap_or_default(), l.display_name()));
    })?;
    for r in &recipients {
        let (username, lead_name) = leads.get(&r.lead).cloned().unwrap_or_default();
        let (state, reason) = match &r.state {
            RecipientState::Failed(why) => ("failed".to_string(), why.clone()),
            RecipientState::Skipped(why) => ("skipped".to_string(), why.to_string()),
            s => (s.to_string(), String::new()),
        };
        w.write_record([
            r.lead.to_string(),
            username,
            lead_name,
            r.account.clone(),
            r.variant_name().to_string(),
            state,
            reason,
            r.steps_sent.to_string(),
            time(r.queued_at),
            time(r.sent_at),
            time(r.read_at),
            time(r.replied_at),
            r.ended.clone().unwrap_or_default(),
        ])?;
    }
    w.flush().map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
    if ctx.json {
        return print_json(&serde_json::json!({ "file": out, "recipients": recipients.len() }));
    }
    println!("{} recipients of campaign {:?} written to {}", recipients.len(), c.name, out.display());
    Ok(())
}
