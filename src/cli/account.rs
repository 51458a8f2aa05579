use std::io::{BufRead, IsTerminal, Write};

use clap::Subcommand;

use super::{print_json, table, Context};
use crate::crawl::account::{self, AccountRecord};
use crate::crawl::backend::{backend_name, Health};
use crate::model::format_millis;
use crate::store::WriteOp;
use crate::telegram::login::Prompt;
use crate::telegram::TgError;

#[derive(Debug, Subcommand)]
pub enum AccountCmd {
    /// Log a Telegram account in (phone, code, then the 2FA password if it has one)
    Add {
        /// A short name for the account, used by --account
        name: String,
        /// The account's phone number in international format
        #[arg(long)]
        phone: String,
    },
    /// The accounts and their health: connected, flood-wait, or needs login
    List,
    /// Forget an account and delete its session file
    Remove { name: String },
    /// Resume sending after Telegram limited the account (PEER_FLOOD) and @SpamBot lifted it
    Resume { name: String },
}

/// Asks on the terminal; reads plain lines when stdin is a pipe (scripts and tests).
struct StdinPrompt;

fn ask(question: &str) -> Option<String> {
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    match std::io::stdin().lock().read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim().to_string()).filter(|l| !l.is_empty()),
    }
}

impl Prompt for StdinPrompt {
    fn code(&mut self, phone: &str) -> Option<String> {
        ask(&format!("Telegram sent a login code to {phone} (in the app or by SMS). Code: "))
    }

    fn password(&mut self, hint: Option<&str>) -> Option<String> {
        let question = match hint {
            Some(h) => format!("Two-step verification password (hint: {h}): "),
            None => "Two-step verification password: ".to_string(),
        };
        if std::io::stdin().is_terminal() {
            rpassword::prompt_password(question).ok().filter(|p| !p.is_empty())
        } else {
            ask(&question)
        }
    }

    fn retry(&mut self, error: &TgError) {
        eprintln!("{error}; try again");
    }
}

/// The account, when it serves the workspace this command acts in.
fn in_workspace(ctx: &Context, store: &crate::store::Store, name: &str) -> anyhow::Result<AccountRecord> {
    let ws = ctx.scope_any(store)?.workspace;
    match account::get(store, name)? {
        Some(rec) if rec.workspace == ws => Ok(rec),
        _ => anyhow::bail!("no account named {name:?} serves this workspace (reach account list)"),
    }
}

pub fn run(ctx: &Context, cmd: AccountCmd) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    let telegram = ctx.telegram();
    let rt = &ctx.rt;
    match cmd {
        AccountCmd::Add { name, phone } => {
            let wctx = ctx.write_ctx(&store)?;
            let rec = rt.block_on(telegram.add_account(&store, &wctx, &name, &phone, &mut StdinPrompt))?;
            if ctx.json {
                return print_json(&rec);
            }
            let who = rec.me.as_ref().map(|m| m.first_name.clone()).unwrap_or_default();
            println!("account {} logged in as {who} ({} backend)", rec.name, backend_name(rec.backend()));
            Ok(())
        }
        AccountCmd::List => {
            let ws = ctx.scope_any(&store)?.workspace;
            let health: Vec<(AccountRecord, Health)> = rt.block_on(telegram.accounts_health(&store, &ws))?;
            if ctx.json {
                let rows: Vec<serde_json::Value> = health
                    .iter()
                    .map(|(r, h)| {
                        serde_json::json!({
                            "name": r.name, "phone": r.phone, "backend": backend_name(r.backend()),
                            "user_id": r.me.as_ref().map(|m| m.user_id), "health": h,
                            "workspace": r.workspace, "owner": r.owner,
                            "runner": r.live_runner(crate::model::now_millis()),
                            "today": r.today.on(crate::model::now_millis()),
                        })
                    })
                    .collect();
                return print_json(&rows);
            }
            if health.is_empty() {
                println!("no accounts yet; add one with `reach account add NAME --phone +...`");
                return Ok(());
            }
            let rows = health
                .iter()
                .map(|(r, h)| {
                    let state = match h {
                        Health::Connected => "connected".to_string(),
                        Health::FloodWait { seconds_left } => format!(
                            "flood-wait until {} ({seconds_left}s)",
                            r.flood_until.map(format_millis).unwrap_or_default()
                        ),
                        Health::NeedsLogin => "needs login (reach account add)".to_string(),
                        Health::Limited => {
                            "limited (PEER_FLOOD): check @SpamBot, then reach account resume".to_string()
                        }
                        Health::Unreachable { error } => format!("unreachable: {error}"),
                    };
                    let runner = match r.live_runner(crate::model::now_millis()) {
                        Some(s) => format!("{} (pid {} on {})", s.process, s.holder.pid, s.holder.host),
                        None => "none (reach listen)".to_string(),
                    };
                    let today = r.today.on(crate::model::now_millis());
                    vec![
                        r.name.clone(),
                        r.phone.clone(),
                        backend_name(r.backend()).to_string(),
                        r.workspace.clone(),
                        state,
                        runner,
                        format!("{} ({} new)", today.sent, today.first_contacts),
                    ]
                })
                .collect::<Vec<_>>();
            let head = ["NAME", "PHONE", "BACKEND", "WORKSPACE", "HEALTH", "RUN BY", "SENT TODAY"];
            print!("{}", table::render(&head, &rows));
            Ok(())
        }
        AccountCmd::Resume { name } => {
            let rec = in_workspace(ctx, &store, &name)?;
            // A person saying the account may go on also lets go of its campaign circuit breakers.
            let ws_ctx = crate::store::WriteCtx { workspace: rec.workspace.clone(), actor: ctx.user.clone() };
            let op = crate::store::WriteOp::Campaign(crate::store::campaign::CampaignOp::Breaker {
                account: name.clone(),
                why: None,
            });
            store.write_one(ws_ctx, op)?;
            if rec.limited_since.is_none() {
                println!("account {name} is not limited (its campaigns may queue on it again)");
                return Ok(());
            }
            account::update(&store, &name, |r| r.limited_since = None)?;
            println!("account {name} resumed: its runner sends again within seconds");
            Ok(())
        }
        AccountCmd::Remove { name } => {
            in_workspace(ctx, &store, &name)?;
            // Never under a running account: its session is in use.
            let lock = crate::talk::lock::AccountLock::try_take(&ctx.data_dir, &name)?;
            let Some(_lock) = lock else {
                anyhow::bail!("{name} is running in another reach process (reach listen or a TUI); stop it first");
            };
            let forget = WriteOp::Talk(crate::store::TalkOp::ForgetAccount { account: name.clone() });
            let rec = in_workspace(ctx, &store, &name)?;
            let ws_ctx = crate::store::WriteCtx { workspace: rec.workspace.clone(), actor: ctx.user.clone() };
            if let crate::store::Outcome::Denied(why) = store.write_one(ws_ctx, forget)? {
                anyhow::bail!("permission denied: {why}");
            }
            account::remove(&store, &name)?;
            let session = account::session_path(&ctx.data_dir, &name);
            match std::fs::remove_file(&session) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => anyhow::bail!("account {name} forgotten, but its session {} remains: {e}", session.display()),
            }
            println!("account {name} removed");
            Ok(())
        }
    }
}
