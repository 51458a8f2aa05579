use std::io::IsTerminal;
use std::time::Duration;

use clap::Args;

use super::{print_json, table, Context};
use crate::crawl::pool::Pacing;
use crate::crawl::{CrawlRecord, Event, Method, Options, Sink, State, Summary};
use crate::model::{format_age as age, format_millis, now_millis};
use crate::store::RecordKind;
use crate::telegram::Target;

#[derive(Debug, Args)]
pub struct CrawlArgs {
    /// @name, t.me/name, or an invite link (t.me/+hash, t.me/joinchat/hash)
    pub target: String,
    /// How to collect members [default: auto, chosen from the chat]
    #[arg(long, value_enum)]
    pub method: Option<MethodArg>,
    /// Crawl with this account only
    #[arg(long, value_name = "NAME")]
    pub account: Option<String>,
    /// Crawl again even if a crawl of this target is younger than the cache TTL
    #[arg(long)]
    pub refresh: bool,
    /// Join the chat behind an invite link (required to read a private group)
    #[arg(long)]
    pub join: bool,
    /// Download members' profile photos into the data dir
    #[arg(long)]
    pub photos: bool,
    /// How many messages back the history method reads [default: config crawl.history_depth]
    #[arg(long, value_name = "N")]
    pub history_depth: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MethodArg {
    Auto,
    Participants,
    Search,
    Admins,
    History,
    Linked,
}

impl MethodArg {
    fn method(self) -> Option<Method> {
        match self {
            MethodArg::Auto => None,
            MethodArg::Participants => Some(Method::Participants),
            MethodArg::Search => Some(Method::Search),
            MethodArg::Admins => Some(Method::Admins),
            MethodArg::History => Some(Method::History),
            MethodArg::Linked => Some(Method::Linked),
        }
    }
}

pub fn options(ctx: &Context, target: Target) -> Options {
    let c = &ctx.config.crawl;
    Options {
        target,
        method: None,
        refresh: false,
        join: false,
        photos: false,
        history_depth: c.history_depth,
        cache_ttl: Duration::from_secs(c.cache_ttl_hours * 3600),
        pacing: Pacing { interval: Duration::from_millis(c.pacing_ms), jitter: Duration::from_millis(c.jitter_ms) },
    }
}

pub fn run(ctx: &Context, args: CrawlArgs) -> anyhow::Result<()> {
    let target = Target::parse(&args.target).map_err(anyhow::Error::msg)?;
    let opts = Options {
        method: args.method.and_then(MethodArg::method),
        refresh: args.refresh,
        join: args.join,
        photos: args.photos,
        history_depth: args.history_depth.unwrap_or(ctx.config.crawl.history_depth),
        ..options(ctx, target)
    };
    let store = ctx.open_store()?;
    let telegram = ctx.telegram();
    let sink = Sink { store: &store, ctx: ctx.write_ctx(&store)?, data_dir: &ctx.data_dir };
    let accounts = telegram.crawl_accounts(&store, &sink.ctx.workspace, args.account.as_deref())?;
    // Ctrl-C stops after the page in hand; the checkpoint makes the next run resume there.
    let cancel = super::cancel_on_ctrl_c("stopping after the current page; run the same crawl again to resume");
    let bar = std::io::stderr().is_terminal().then(indicatif::ProgressBar::new_spinner);
    let mut on_event = |e: Event| {
        if let Some(bar) = &bar {
            bar.tick();
            match e {
                Event::Started { title, methods, resumed } => bar.println(format!(
                    "{}crawling {title} with {}",
                    if resumed { "resuming: " } else { "" },
                    method_list(&methods)
                )),
                Event::Method(m) => bar.set_prefix(m.as_str()),
                Event::Progress(c) => bar.set_message(format!(
                    "{} members: {} new, {} updated · {} requests",
                    c.members_seen, c.created, c.updated, c.requests
                )),
                Event::FloodWait { account, seconds } => {
                    bar.println(format!("account {account}: FLOOD_WAIT {seconds}s; switching accounts if one is free"))
                }
                Event::Waiting { seconds } => {
                    bar.set_message(format!("every account is waiting: resuming in {seconds}s"))
                }
                Event::Leads(_) => {}
            }
        }
    };
    let rt = &ctx.rt;
    let summary = rt.block_on(telegram.crawl(&sink, accounts, &opts, cancel, &mut on_event));
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let summary = summary?;
    if ctx.json {
        return print_json(&summary);
    }
    print_summary(&summary);
    Ok(())
}

fn method_list(methods: &[Method]) -> String {
    let names: Vec<&str> = methods.iter().map(|m| m.as_str()).collect();
    if names.is_empty() {
        "-".into()
    } else {
        names.join(" → ")
    }
}

fn print_summary(s: &Summary) {
    let c = &s.counts;
    if s.cache_used {
        let age = s.cached_at.map(|t| age(now_millis() - t)).unwrap_or_default();
        println!(
            "{} ({}): from the cache, crawled {age} ago; 0 requests. {} members. --refresh crawls again.",
            s.target, s.title, c.members_seen
        );
        return;
    }
    let head = if s.cancelled {
        "cancelled; run it again to resume"
    } else if s.resumed {
        "resumed and done"
    } else {
        "done"
    };
    println!("{} ({}): {head}", s.target, s.title);
    println!("  methods        {}", method_list(&s.methods));
    println!("  members seen   {}", c.members_seen);
    println!("  leads          {} created, {} updated, {} unchanged", c.created, c.updated, c.unchanged);
    println!(
        "  skipped        {} bots, {} deleted accounts, {} invalid",
        c.skipped_bots, c.skipped_deleted, c.skipped_invalid
    );
    if c.photos > 0 {
        println!("  photos         {}", c.photos);
    }
    println!("  requests       {} ({} flood waits)", c.requests, c.flood_waits);
    println!("  elapsed        {:.1}s", s.elapsed_ms as f64 / 1000.0);
    for w in &s.warnings {
        println!("  warning: {w}");
    }
}

pub fn list(ctx: &Context) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    let ws = ctx.scope_any(&store)?.workspace;
    let mut crawls: Vec<(String, CrawlRecord)> = store.records(RecordKind::Crawl, &ws)?;
    crawls.sort_by_key(|(_, r)| std::cmp::Reverse(r.finished_at.unwrap_or(r.started_at)));
    if ctx.json {
        let rows: Vec<serde_json::Value> = crawls
            .iter()
            .map(|(_, r)| {
                serde_json::json!({
                    "target": r.target, "title": r.title, "state": r.state, "methods": r.done,
                    "members_seen": r.counts.members_seen, "created": r.counts.created,
                    "requests": r.counts.requests, "finished_at": r.finished_at,
                })
            })
            .collect();
        return print_json(&rows);
    }
    let ttl = ctx.config.crawl.cache_ttl_hours as i64 * 3_600_000;
    let now = now_millis();
    let rows: Vec<Vec<String>> = crawls
        .iter()
        .map(|(_, r)| {
            let cache = match (r.state, r.finished_at) {
                (State::Done, Some(t)) if now - t < ttl => format!("cached, {} old", age(now - t)),
                (State::Done, Some(t)) => format!("expired ({} old)", age(now - t)),
                (State::Running, _) => "running or interrupted: resumes".into(),
                (State::Cancelled, _) => "cancelled: resumes".into(),
                (State::Failed, _) => format!("failed: {}", r.error.clone().unwrap_or_default()),
                (State::Done, None) => String::new(),
            };
            vec![
                r.target.clone(),
                r.title.clone(),
                method_list(&r.done),
                r.counts.members_seen.to_string(),
                r.counts.requests.to_string(),
                format_millis(r.finished_at.unwrap_or(r.started_at)),
                cache,
            ]
        })
        .collect();
    if rows.is_empty() {
        println!("no crawls yet in this workspace; try `reach crawl @name`");
        return Ok(());
    }
    print!("{}", table::render(&["TARGET", "TITLE", "METHODS", "MEMBERS", "REQUESTS", "WHEN", "CACHE"], &rows));
    Ok(())
}
