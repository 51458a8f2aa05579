//! Command-line interface: one file per subcommand family.

mod bench;
mod export;
mod import;
mod lead;
mod stats;
mod table;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{self, Config};
use crate::store::{Filter, Store, WriteCtx};

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
    /// Print machine-readable JSON
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Add, show, list, edit and delete leads
    #[command(subcommand)]
    Lead(lead::LeadCmd),
    /// Import leads from a CSV, TSV or Excel/ODS file
    Import(import::ImportArgs),
    /// List past imports
    Imports,
    /// Export leads as CSV or JSON
    Export(export::ExportArgs),
    /// Counts by status, priority, source and country
    Stats(FilterArgs),
    /// Benchmarks that print figures
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
        })
    }
}

/// What every command needs: configuration, identity, and the store.
pub struct Context {
    pub config: Config,
    pub data_dir: PathBuf,
    pub user: String,
    pub json: bool,
}

impl Context {
    pub fn new(cli: &Cli) -> anyhow::Result<Context> {
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
        Ok(Context { config, data_dir, user, json: cli.json })
    }

    pub fn open_store(&self) -> anyhow::Result<Store> {
        Ok(Store::open_dir(&self.data_dir)?)
    }

    /// The workspace commands act in. Until organizations exist this is the user's personal one.
    pub fn workspace(&self) -> String {
        format!("u:{}", self.user)
    }

    pub fn write_ctx(&self) -> WriteCtx {
        WriteCtx { workspace: self.workspace(), actor: self.user.clone() }
    }
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    if let Some(Command::Bench(cmd)) = cli.command {
        return bench::run(cmd);
    }
    let ctx = Context::new(&cli)?;
    match cli.command {
        Some(Command::Lead(cmd)) => lead::run(&ctx, cmd),
        Some(Command::Import(args)) => import::run(&ctx, args),
        Some(Command::Imports) => import::list(&ctx),
        Some(Command::Export(args)) => export::run(&ctx, args),
        Some(Command::Stats(args)) => stats::run(&ctx, args),
        Some(Command::Bench(_)) => Ok(()),
        None => {
            use clap::CommandFactory;
            Cli::command().print_help()?;
            Ok(())
        }
    }
}

/// Prints a value as pretty JSON on stdout.
pub fn print_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    let out = serde_json::to_string_pretty(value)?;
    println!("{out}");
    Ok(())
}
