//! `reach message …`, `reach messages`, `reach inbox` and `reach listen`: conversations from the
//! command line. Sends are queued in the store's outbox; whichever process runs the account (a
//! `reach listen`, an open TUI) sends them, and `--wait` runs the account here when nobody does.

use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::{Args, Subcommand};
use serde::Serialize;

use super::{print_json, table, Context};
use crate::crawl::account::{self, AccountRecord};
use crate::model::{format_millis, Delivery, Direction, Flag, Lead, Message};
use crate::store::{Filter, Outcome, Store, TalkOp, WriteOp};
use crate::talk::listen::{Listener, Which};
use crate::talk::{RunnerConfig, RunnerEvent};

#[derive(Debug, Subcommand)]
pub enum MessageCmd {
    /// Queue a message to a lead; the process running the account sends it
    Send(SendArgs),
    /// Mark a lead do-not-contact (no account will write to it), or lift that with --off
    Dnc {
        lead: String,
        #[arg(long)]
        off: bool,
    },
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// The lead: id, @username, +phone or uid:ID
    pub lead: String,
    #[arg(long)]
    pub text: String,
    /// The account to send from [default: the one the lead last talked to, else the first of the workspace]
    #[arg(long)]
    pub account: Option<String>,
    /// Wait for the outcome (running the account here if no process runs it); exit 1 if it failed
    #[arg(long)]
    pub wait: bool,
}

#[derive(Debug, Args)]
pub struct ListenArgs {
    /// Run only these accounts [default: every account of the data dir]
    #[arg(long = "account", value_name = "NAME")]
    pub accounts: Vec<String>,
}

/// The account a send goes from: asked for, else the one the lead last talked to, else the first
/// of the workspace.
fn pick_account(store: &Store, ws: &str, lead: &Lead, asked: Option<&str>) -> anyhow::Result<AccountRecord> {
    let mine = account::of_workspace(store, ws)?;
    if let Some(name) = asked {
        return mine
            .into_iter()
            .find(|a| a.name == name)
            .with_context(|| format!("no account named {name:?} serves this workspace (reach account list)"));
    }
    let last =
        store.thread(ws, lead.id)?.into_iter().rev().map(|m| m.account).find(|a| mine.iter().any(|r| &r.name == a));
    if let Some(name) = last {
        return mine.into_iter().find(|a| a.name == name).context("the account went away");
    }
    mine.into_iter()
        .next()
        .context("no Telegram account serves this workspace; add one with `reach account add NAME --phone +…`")
}

pub fn run(ctx: &Context, cmd: MessageCmd) -> anyhow::Result<()> {
    match cmd {
        MessageCmd::Send(args) => send(ctx, args),
        MessageCmd::Dnc { lead, off } => {
            let store = ctx.open_store()?;
            let lead = super::lead::viewable(ctx, &store, &lead)?;
            let op = WriteOp::Talk(TalkOp::DoNotContact { lead: lead.id, value: !off });
            match store.write_one(ctx.write_ctx(&store)?, op)? {
                Outcome::Rejected(e) => bail!("{e}"),
                Outcome::Denied(d) => bail!("permission denied: {d}"),
                _ => {}
            }
            let what = if off { "may be contacted again" } else { "is marked do-not-contact" };
            println!("lead #{} {what}", lead.id);
            Ok(())
        }
    }
}

#[derive(Serialize)]
struct SendResult {
    message: u64,
    lead: u64,
    account: String,
    delivery: Delivery,
}

fn send(ctx: &Context, args: SendArgs) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    let lead = super::lead::viewable(ctx, &store, &args.lead)?;
    let wctx = ctx.write_ctx(&store)?;
    let acct = pick_account(&store, &wctx.workspace, &lead, args.account.as_deref())?;
    if acct.backend() != ctx.backend {
        bail!(
            "the account {} is a {} account, but this process talks to the {} Telegram (--telegram)",
            acct.name,
            crate::crawl::backend::backend_name(acct.backend()),
            crate::crawl::backend::backend_name(ctx.backend)
        );
    }
    let op =
        WriteOp::Talk(TalkOp::Enqueue { lead: lead.id, account: acct.name.clone(), text: args.text, campaign: None });
    let id = match store.write_one(wctx.clone(), op)? {
        Outcome::Recorded { id } => id,
        Outcome::Rejected(e) => bail!("cannot message lead #{}: {}", lead.id, e.reason),
        Outcome::Denied(d) => bail!("permission denied: {d}"),
        other => bail!("unexpected answer from the store: {other:?}"),
    };
    let runner = acct.live_runner(crate::model::now_millis()).map(|r| format!("{} (pid {})", r.process, r.holder.pid));
    if !args.wait {
        let result = SendResult { message: id, lead: lead.id, account: acct.name.clone(), delivery: Delivery::Queued };
        if ctx.json {
            return print_json(&result);
        }
        match runner {
            Some(r) => println!("queued message #{id} to lead #{} from {}; {r} sends it", lead.id, acct.name),
            None => println!(
                "queued message #{id} to lead #{} from {}; no process runs {} now: start `reach listen`, or open the TUI",
                lead.id, acct.name, acct.name
            ),
        }
        return Ok(());
    }
    let msg = wait_for(ctx, &store, &acct, &wctx.workspace, lead.id, id)?;
    let result = SendResult { message: id, lead: lead.id, account: acct.name.clone(), delivery: msg.delivery.clone() };
    if ctx.json {
        print_json(&result)?;
    } else {
        println!("message #{id} to lead #{} from {}: {}", lead.id, acct.name, msg.delivery);
    }
    if let Delivery::Failed(why) = msg.delivery {
        bail!("the message failed: {why}");
    }
    Ok(())
}

/// Waits until the message leaves the queue. When no process runs the account, this one does,
/// for as long as it takes.
fn wait_for(
    ctx: &Context,
    store: &Store,
    acct: &AccountRecord,
    ws: &str,
    lead: u64,
    id: u64,
) -> anyhow::Result<Message> {
    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
    let (events, mut log) = tokio::sync::mpsc::unbounded_channel();
    let listener = Listener {
        store: store.clone(),
        telegram: ctx.telegram(),
        which: Which::Named(vec![acct.name.clone()]),
        cfg: RunnerConfig::from_config(&ctx.config, "message send --wait"),
        events,
    };
    let task = ctx.rt.spawn(listener.run(cancel_rx));
    let interrupted = super::cancel_on_ctrl_c("waiting for the message");
    let outcome = loop {
        while let Ok(e) = log.try_recv() {
            if let RunnerEvent::Waiting { why, .. } | RunnerEvent::Stopped { why, .. } = &e {
                eprintln!("{}: {why}", acct.name);
            }
        }
        match store.message(ws, lead, id)? {
            Some(m) if m.delivery != Delivery::Queued => break Ok(m),
            Some(_) => {}
            None => break Err(anyhow::anyhow!("message #{id} is gone (its lead was deleted)")),
        }
        if interrupted.load(std::sync::atomic::Ordering::SeqCst) {
            break Err(anyhow::anyhow!("stopped waiting; message #{id} stays queued"));
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let _ = cancel_tx.send(true);
    let _ = ctx.rt.block_on(task);
    outcome
}

/// `reach messages REF`: the lead's thread with every account.
pub fn thread(ctx: &Context, raw: &str) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    let lead = super::lead::viewable(ctx, &store, raw)?;
    let msgs = store.thread(&lead.workspace, lead.id)?;
    if ctx.json {
        return print_json(&msgs);
    }
    println!("#{} {}: {} messages", lead.id, lead.display_name(), msgs.len());
    if let Some(why) = lead.why_not_messageable() {
        println!("cannot be messaged: {why}");
    }
    for m in &msgs {
        let arrow = if m.direction == Direction::In { "←" } else { "→" };
        let state = match &m.delivery {
            Delivery::Received => String::new(),
            d => format!(" [{d}]"),
        };
        let edited = if m.edited { " (edited)" } else { "" };
        let text = if m.deleted { format!("(deleted) {}", m.text) } else { m.text.clone() };
        println!("{}  {arrow} {:<10} {text}{edited}{state}", format_millis(m.at), m.account);
    }
    Ok(())
}

#[derive(Serialize)]
struct InboxRow {
    lead: u64,
    name: String,
    unread: u32,
    last_message_at: Option<i64>,
    last_text: String,
}

/// `reach inbox`: leads with unread messages, newest first.
pub fn inbox(ctx: &Context) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    let scope = ctx.scope(&store)?;
    let filter = scope.filter(&Filter { flags: vec![Flag::Unread], ..Filter::default() });
    let mut leads = Vec::new();
    store.scan(&scope.workspace, &filter, |l| leads.push(l))?;
    leads.sort_by_key(|l| std::cmp::Reverse(l.conversation.last_message_at));
    let rows: Vec<InboxRow> = leads
        .iter()
        .map(|l| {
            let last = store
                .thread(&scope.workspace, l.id)
                .ok()
                .and_then(|t| t.into_iter().rev().find(|m| m.direction == Direction::In));
            InboxRow {
                lead: l.id,
                name: l.display_name(),
                unread: l.conversation.unread,
                last_message_at: l.conversation.last_message_at,
                last_text: last.map(|m| m.text).unwrap_or_default(),
            }
        })
        .collect();
    if ctx.json {
        return print_json(&rows);
    }
    if rows.is_empty() {
        println!("no unread messages");
        return Ok(());
    }
    let lines: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let text: String = r.last_text.chars().take(60).collect();
            vec![
                format!("#{}", r.lead),
                r.name.clone(),
                r.unread.to_string(),
                r.last_message_at.map(format_millis).unwrap_or_default(),
                text,
            ]
        })
        .collect();
    print!("{}", table::render(&["LEAD", "NAME", "UNREAD", "LAST", "MESSAGE"], &lines));
    Ok(())
}

/// `reach listen`: runs every account this process can lock until Ctrl-C, a line per event.
pub fn listen(ctx: &Context, args: ListenArgs) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    let known = account::list(&store)?;
    for name in &args.accounts {
        if !known.iter().any(|a| &a.name == name) {
            bail!("no account named {name:?} (reach account list)");
        }
    }
    let ours: Vec<&AccountRecord> = known.iter().filter(|a| a.backend() == ctx.backend).collect();
    if ours.is_empty() {
        bail!(
            "no {} accounts to listen with; add one with `reach account add NAME --phone +…`",
            crate::crawl::backend::backend_name(ctx.backend)
        );
    }
    let which = if args.accounts.is_empty() { Which::All } else { Which::Named(args.accounts.clone()) };
    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
    let (events, mut log) = tokio::sync::mpsc::unbounded_channel();
    let listener = Listener {
        store: store.clone(),
        telegram: ctx.telegram(),
        which,
        cfg: RunnerConfig::from_config(&ctx.config, "listen"),
        events,
    };
    let task = ctx.rt.spawn(listener.run(cancel_rx));
    let stop = super::cancel_on_ctrl_c("stopping the accounts");
    eprintln!("listening with {} (Ctrl-C stops)", ours.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", "));
    loop {
        if stop.load(std::sync::atomic::Ordering::SeqCst) {
            break;
        }
        ctx.rt.block_on(async {
            if let Ok(Some(e)) = tokio::time::timeout(Duration::from_millis(200), log.recv()).await {
                println!("{}  {e}", format_millis(crate::model::now_millis()));
            }
        });
    }
    let _ = cancel_tx.send(true);
    let _ = ctx.rt.block_on(task);
    while let Ok(e) = log.try_recv() {
        println!("{}  {e}", format_millis(crate::model::now_millis()));
    }
    Ok(())
}
