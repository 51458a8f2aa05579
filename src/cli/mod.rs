//! Command-line interface: one file per subcommand family.

mod account;
#[cfg(feature = "bench")]
mod bench;
mod campaign;
mod crawl;
mod export;
mod import;
mod lead;
mod message;
mod org;
mod segment;
mod serve;
mod stats;
mod table;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{self, Config};
use crate::store::{Filter, Scope, Store, WriteCtx};
use crate::workspace::Workspace;

#[derive(Debug, Parser)]
#[command(name = "reach", version, about = "A terminal-first CRM for Telegram outreach", propagate_version = true)]
pub struct Cli {
    /// Where the database lives [default: ~/.local/share/reach]
    #[arg(long, global = true, env = "REACH_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Config file [default: ~/.config/reach/config.toml]
    #[arg(long, global = true, env = "REACH_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Act as this user [default: config `user`, then the OS user]
    #[arg(long, global = true, env = "REACH_USER", value_name = "NAME")]
    pub user: Option<String>,
    /// Work in this workspace: `personal` or an organization [default: the one `org use` chose]
    #[arg(long, global = true, env = "REACH_WORKSPACE", value_name = "WS")]
    pub workspace: Option<String>,
    /// Which leads listings show: the ones you created, or all the workspace's (where allowed)
    #[arg(long, global = true, value_enum, default_value = "own")]
    pub view: crate::workspace::View,
    /// Print machine-readable JSON
    #[arg(long, global = true)]
    pub json: bool,
    /// Which Telegram to talk to: your accounts through grammers, or the built-in simulated world
    /// [default: config telegram.backend; simulated with --demo]
    #[arg(long, global = true, env = "REACH_TELEGRAM", value_enum)]
    pub telegram: Option<crate::config::TelegramBackend>,
    /// Open the TUI on a demo data dir (a fresh temporary one unless --data-dir names one),
    /// seeded with a few thousand sample leads
    #[arg(long)]
    pub demo: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add, show, list, edit and delete leads
    #[command(subcommand)]
    Lead(lead::LeadCmd),
    /// Organizations, members, roles, and the current workspace
    #[command(subcommand)]
    Org(org::OrgCmd),
    /// Import leads from a CSV, TSV, Excel/ODS or vCard file
    Import(import::ImportArgs),
    /// List past imports
    Imports,
    /// Export leads as CSV, JSON or vCard
    Export(export::ExportArgs),
    /// Counts by status, priority, source and country; messages and the reply rate
    Stats(SelectArgs),
    /// Saved filters with live counts
    #[command(subcommand)]
    Segment(segment::SegmentCmd),
    /// Templated messages to a segment, paced per account, stopped by replies
    #[command(subcommand)]
    Campaign(campaign::CampaignCmd),
    /// Log in Telegram accounts and check their health
    #[command(subcommand)]
    Account(account::AccountCmd),
    /// Collect the members of a Telegram group or channel as leads
    Crawl(crawl::CrawlArgs),
    /// Write to a lead (queued in the outbox), or mark it do-not-contact
    #[command(subcommand)]
    Message(message::MessageCmd),
    /// A lead's message thread (by id, @username, +phone or uid:ID)
    Messages { lead: String },
    /// Leads with unread messages, newest first
    Inbox,
    /// Run the Telegram accounts: receive messages into the store and send the outbox, until Ctrl-C
    Listen(message::ListenArgs),
    /// Past crawls of this workspace, with their cache age
    Crawls,
    /// Serve the TUI over SSH to the whole team: one process, one store, each user who their key says
    Serve(serve::ServeArgs),
    /// Write a consistent copy of the store to FILE while other processes keep writing
    Backup {
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Benchmarks that print figures
    #[cfg(feature = "bench")]
    #[command(subcommand)]
    Bench(bench::BenchCmd),
}

/// The facet filters shared by `lead list`, `export` and `stats`.
#[derive(Debug, Clone, Args, Default)]
pub struct FilterArgs {
    /// active, blocked or archived (repeatable: any of them)
    #[arg(long, value_name = "STATUS")]
    pub status: Vec<crate::model::Status>,
    /// high, medium or low (repeatable)
    #[arg(long, value_name = "PRIORITY")]
    pub priority: Vec<crate::model::Priority>,
    /// manual, crawling, file_upload, campaign or interaction (repeatable)
    #[arg(long, value_name = "SOURCE")]
    pub source: Vec<crate::model::Source>,
    /// Leads carrying this tag (repeatable: all of them)
    #[arg(long, value_name = "TAG")]
    pub tag: Vec<String>,
    /// Leads found in this group (repeatable)
    #[arg(long, value_name = "GROUP")]
    pub group: Vec<String>,
    /// ISO country code (repeatable)
    #[arg(long, value_name = "CC")]
    pub country: Vec<String>,
    /// Language code (repeatable)
    #[arg(long, value_name = "LANG")]
    pub language: Vec<String>,
    /// unread, do_not_contact or cant_message (repeatable: all of them)
    #[arg(long, value_name = "FLAG")]
    pub flag: Vec<crate::model::Flag>,
}

impl FilterArgs {
    pub fn to_filter(&self) -> anyhow::Result<Filter> {
        use crate::normalize;
        Ok(Filter {
            status: self.status.clone(),
            priority: self.priority.clone(),
            source: self.source.clone(),
            tags: self.tag.iter().map(|t| normalize::normalize_tag(t)).collect::<Result<_, _>>()?,
            group: self.group.clone(),
            country: self.country.iter().map(|c| normalize::normalize_country(c)).collect::<Result<_, _>>()?,
            language: self.language.iter().map(|l| normalize::normalize_language(l)).collect::<Result<_, _>>()?,
            created_by: None,
            flags: self.flag.clone(),
        })
    }
}

/// Which leads `lead list`, `export` and `stats` read: the facet filters, a segment, a search.
#[derive(Debug, Clone, Args, Default)]
pub struct SelectArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Fuzzy search as in the TUI (names, usernames, phones, tags, groups, custom fields): every
    /// match, best first, then the most recently updated
    #[arg(long, value_name = "QUERY")]
    pub query: Option<String>,
    /// Only a saved segment's leads (its filters and query; never archived ones); the other
    /// flags narrow it, and --query must match as well as the segment's query
    #[arg(long, value_name = "NAME")]
    pub segment: Option<String>,
}

impl SelectArgs {
    /// The selection within `scope`, the reader's view. An unknown segment is an error naming it.
    pub fn selection(&self, store: &Store, scope: &Scope) -> anyhow::Result<crate::search::Selection> {
        let mut sel = crate::search::Selection::new(scope.filter(&self.filter.to_filter()?));
        if let Some(name) = &self.segment {
            sel = sel.segment(&segment::find(store, &scope.workspace, name)?);
        }
        Ok(sel.query(self.query.as_deref()))
    }
}

/// What every command needs: configuration, identity, and the store.
pub struct Context {
    pub config: Config,
    pub data_dir: PathBuf,
    pub user: String,
    pub json: bool,
    workspace_flag: Option<String>,
    pub view: crate::workspace::View,
    pub backend: crate::config::TelegramBackend,
    /// The process's one runtime, owned by `main`.
    pub rt: tokio::runtime::Handle,
}

impl Context {
    pub fn new(cli: &Cli, rt: tokio::runtime::Handle) -> anyhow::Result<Context> {
        let (config, _) = Config::load(cli.config.as_deref())?;
        let data_dir = cli
            .data_dir
            .clone()
            .or_else(|| config.data_dir.as_deref().map(config::expand_home))
            .unwrap_or_else(config::default_data_dir);
        let user = match cli.user.clone().or_else(|| config.user.clone()) {
            Some(u) => {
                config::validate_user(&u).map_err(|e| anyhow::anyhow!("--user {u:?}: {e}"))?;
                u
            }
            None => config::os_user(),
        };
        let backend = match (cli.telegram, cli.demo) {
            (Some(b), _) => b,
            (None, true) => crate::config::TelegramBackend::Simulated,
            (None, false) => config.telegram.backend,
        };
        let workspace_flag = cli.workspace.clone();
        Ok(Context { config, data_dir, user, json: cli.json, workspace_flag, view: cli.view, backend, rt })
    }

    pub fn open_store(&self) -> anyhow::Result<Store> {
        // The data dir holds sessions, which give full control of Telegram accounts.
        crate::talk::private_dir(&self.data_dir)
            .map_err(|e| anyhow::anyhow!("data dir {}: {e}", self.data_dir.display()))?;
        let store = Store::open_dir(&self.data_dir)?;
        crate::crawl::account::adopt_older(&store, &self.user)?;
        Ok(store)
    }

    /// The workspace commands act in: `--workspace`, else the one `org use` remembered, else personal.
    pub fn workspace(&self, store: &Store) -> anyhow::Result<Workspace> {
        if let Some(w) = &self.workspace_flag {
            return Ok(org::parse_workspace(w, &self.user));
        }
        Ok(store
            .remembered_workspace(&self.user)?
            .and_then(|k| Workspace::from_key(&k))
            .unwrap_or_else(|| Workspace::Personal(self.user.clone())))
    }

    /// Where this user may read under `--view`, or the rule that forbids it.
    pub fn scope(&self, store: &Store) -> anyhow::Result<Scope> {
        let ws = self.workspace(store)?;
        store.scope(&self.user, &ws, self.view)?.map_err(|d| anyhow::anyhow!("{d} (workspace {ws})"))
    }

    /// The workspace's scope for single-lead reads: membership is required, and the lead itself is
    /// checked with `Scope::may_view`.
    pub fn scope_any(&self, store: &Store) -> anyhow::Result<Scope> {
        let ws = self.workspace(store)?;
        let own = store.scope(&self.user, &ws, crate::workspace::View::Own)?;
        own.map_err(|d| anyhow::anyhow!("{d} (workspace {ws})"))
    }

    pub fn telegram(&self) -> crate::crawl::backend::Telegram {
        crate::crawl::backend::Telegram {
            backend: self.backend,
            config: self.config.telegram.clone(),
            data_dir: self.data_dir.clone(),
        }
    }

    pub fn write_ctx(&self, store: &Store) -> anyhow::Result<WriteCtx> {
        Ok(WriteCtx { workspace: self.workspace(store)?.key(), actor: self.user.clone() })
    }
}

pub fn run(cli: Cli, rt: tokio::runtime::Handle) -> anyhow::Result<()> {
    #[cfg(feature = "bench")]
    if let Some(Command::Bench(cmd)) = cli.command {
        return bench::run(cmd, rt);
    }
    let mut ctx = Context::new(&cli, rt)?;
    if cli.demo && cli.data_dir.is_none() {
        ctx.data_dir = tempfile::Builder::new().prefix("reach-demo-").tempdir()?.keep();
    }
    match cli.command {
        Some(Command::Lead(cmd)) => lead::run(&ctx, cmd),
        Some(Command::Org(cmd)) => org::run(&ctx, cmd),
        Some(Command::Import(args)) => import::run(&ctx, args),
        Some(Command::Imports) => import::list(&ctx),
        Some(Command::Export(args)) => export::run(&ctx, args),
        Some(Command::Stats(args)) => stats::run(&ctx, args),
        Some(Command::Account(cmd)) => account::run(&ctx, cmd),
        Some(Command::Segment(cmd)) => segment::run(&ctx, cmd),
        Some(Command::Campaign(cmd)) => campaign::run(&ctx, cmd),
        Some(Command::Crawl(args)) => crawl::run(&ctx, args),
        Some(Command::Crawls) => crawl::list(&ctx),
        Some(Command::Message(cmd)) => message::run(&ctx, cmd),
        Some(Command::Messages { lead }) => message::thread(&ctx, &lead),
        Some(Command::Inbox) => message::inbox(&ctx),
        Some(Command::Listen(args)) => message::listen(&ctx, args),
        Some(Command::Backup { file }) => backup(&ctx, &file),
        Some(Command::Serve(args)) => serve::run(&ctx, args),
        #[cfg(feature = "bench")]
        Some(Command::Bench(_)) => Ok(()),
        None => tui(&ctx, cli.demo),
    }
}

/// The demo's simulated accounts are paced fast, so a crawl of @demo_big takes seconds, not minutes.
const DEMO_PACING_MS: u64 = 50;

fn tui(ctx: &Context, demo: bool) -> anyhow::Result<()> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        anyhow::bail!("the TUI needs a terminal; for scripts use the subcommands (reach --help)");
    }
    let store = ctx.open_store()?;
    if demo {
        crate::tui::demo::seed(&store, &ctx.write_ctx(&store)?)?;
        let names: Vec<&str> = crate::tui::demo::DEMO_ACCOUNTS.iter().map(|(n, _)| *n).collect();
        crate::talk::demo::seed(&ctx.data_dir, &names)?;
        crate::talk::demo::seed_campaigns(&store, &ctx.write_ctx(&store)?, &ctx.data_dir, &names)?;
    }
    // Checked before the terminal is taken, so a refused workspace or view is a plain error.
    ctx.scope(&store)?;
    let workspace = ctx.workspace(&store)?;
    let keys = crate::tui::keymap::Keymap::new(&ctx.config.keys).map_err(anyhow::Error::msg)?;
    let crawl = tui_settings(ctx, demo);
    // The TUI runs the accounts of the user's workspaces that no other process runs.
    let mut talk = crate::talk::RunnerConfig::from_config(&ctx.config, "tui");
    if demo {
        // The demo's simulated accounts answer in seconds, not the cautious pace of real ones.
        talk.interval = std::time::Duration::from_secs(2);
        talk.jitter = std::time::Duration::from_secs(1);
        talk.first_contacts_per_day = 1000;
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let (events, _) = tokio::sync::mpsc::unbounded_channel();
    let listener = crate::talk::listen::Listener {
        store: store.clone(),
        telegram: ctx.telegram(),
        which: crate::talk::listen::Which::User(ctx.user.clone()),
        cfg: talk,
        events,
    };
    let runners = ctx.rt.spawn(listener.run(stop_rx));
    let mut session =
        crate::tui::Session::start(ctx.rt.clone(), store, ctx.user.clone(), workspace, ctx.view, keys, crawl);
    session.read_receipts(ctx.config.telegram.send_read_receipts);
    let result = crate::tui::run(session);
    // Each runner records "stopped" and gives its account back, for a `reach listen` to take up.
    let _ = stop_tx.send(true);
    let _ = ctx.rt.block_on(async { tokio::time::timeout(std::time::Duration::from_secs(5), runners).await });
    result?;
    if demo {
        eprintln!(
            "demo data kept in {} (reach --demo --data-dir {} reopens it)",
            ctx.data_dir.display(),
            ctx.data_dir.display()
        );
    }
    Ok(())
}

/// What a TUI takes from the config; `reach serve` starts every session with the same.
fn tui_settings(ctx: &Context, demo: bool) -> crate::tui::Settings {
    let c = &ctx.config.crawl;
    let (pacing_ms, jitter_ms) = if demo { (DEMO_PACING_MS, DEMO_PACING_MS) } else { (c.pacing_ms, c.jitter_ms) };
    crate::tui::Settings {
        telegram: ctx.telegram(),
        pacing: crate::crawl::pool::Pacing {
            interval: std::time::Duration::from_millis(pacing_ms),
            jitter: std::time::Duration::from_millis(jitter_ms),
        },
        history_depth: c.history_depth,
        cache_ttl: std::time::Duration::from_secs(c.cache_ttl_hours * 3600),
        default_region: ctx.config.default_region().map(str::to_string),
        local_files: true,
        live: Default::default(),
    }
}

fn backup(ctx: &Context, file: &std::path::Path) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    let done = store.backup(file)?;
    if ctx.json {
        return print_json(&done);
    }
    println!(
        "backed up {} leads (every workspace, up to change #{}) to {} ({:.1} MB)",
        done.leads,
        done.feed_seq,
        file.display(),
        done.bytes as f64 / 1e6
    );
    Ok(())
}

/// A flag the first Ctrl-C sets; a second one exits at once. Work stopped either way is safe,
/// because everything written so far is committed.
pub fn cancel_on_ctrl_c(what: &'static str) -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = cancel.clone();
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, std::sync::atomic::Ordering::SeqCst) {
            std::process::exit(130);
        }
        eprintln!("\n{what} (Ctrl-C again to stop at once)…");
    });
    cancel
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    let out = serde_json::to_string_pretty(value)?;
    println!("{out}");
    Ok(())
}
