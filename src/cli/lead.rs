use anyhow::{bail, Context as _};
use clap::{Args, Subcommand};
use serde::Serialize;

use super::{print_json, table, Context, SelectArgs};
use crate::model::{format_millis, Activity, Lead, LeadInput, Source};
use crate::store::{LeadRef, Outcome, SortKey, Store, WriteOp};

#[derive(Debug, Subcommand)]
pub enum LeadCmd {
    /// Add a lead, or merge into the existing one that shares an identifier
    Add(LeadFields),
    /// Show a lead's fields and history (by id, @username, +phone or uid:ID)
    Show { lead: String },
    /// List leads, with filters, a segment or a search
    List {
        #[command(flatten)]
        select: SelectArgs,
        /// Print at most N leads
        #[arg(long, value_name = "N")]
        limit: Option<usize>,
        /// Sort by id, name, username, phone, status, priority, source, group, country, created or updated; prefix - for descending
        /// [default: best match first with --query, else id]
        #[arg(long, allow_hyphen_values = true)]
        sort: Option<SortKey>,
    },
    /// Edit a lead: status, priority, tags, custom fields, notes and contact details
    Set {
        lead: String,
        #[command(flatten)]
        fields: LeadFields,
    },
    /// Delete a lead and its history
    Delete { lead: String },
}

#[derive(Debug, Clone, Args, Default)]
pub struct LeadFields {
    /// Telegram user id
    #[arg(long = "user-id", value_name = "ID")]
    pub telegram_user_id: Option<String>,
    /// @username or t.me link
    #[arg(long)]
    pub username: Option<String>,
    /// Phone in any format; national formats use --country, then default_region
    #[arg(long)]
    pub phone: Option<String>,
    #[arg(long = "first-name", value_name = "NAME")]
    pub first_name: Option<String>,
    #[arg(long = "last-name", value_name = "NAME")]
    pub last_name: Option<String>,
    /// ISO 3166 alpha-2 country code
    #[arg(long, value_name = "CC")]
    pub country: Option<String>,
    /// Language code such as en or pt-BR
    #[arg(long, value_name = "LANG")]
    pub language: Option<String>,
    /// active, blocked or archived
    #[arg(long)]
    pub status: Option<String>,
    /// high, medium or low
    #[arg(long)]
    pub priority: Option<String>,
    /// The group where the lead was found
    #[arg(long)]
    pub group: Option<String>,
    /// Tags: `vip`, or a list `+vip,-cold` that adds and removes (repeatable)
    #[arg(long = "tag", value_name = "TAGS", allow_hyphen_values = true)]
    pub tags: Vec<String>,
    /// Custom field key=value; an empty value removes the field (repeatable)
    #[arg(long = "field", value_name = "KEY=VALUE")]
    pub fields: Vec<String>,
    /// Add a note to the history
    #[arg(long)]
    pub note: Option<String>,
}

impl LeadFields {
    fn into_input(self) -> anyhow::Result<LeadInput> {
        let mut add = Vec::new();
        let mut remove = Vec::new();
        for item in self.tags.iter().flat_map(|t| t.split(',')).map(str::trim).filter(|t| !t.is_empty()) {
            match item.strip_prefix('-') {
                Some(t) => remove.push(t.to_string()),
                None => add.push(item.strip_prefix('+').unwrap_or(item).to_string()),
            }
        }
        let fields = self
            .fields
            .iter()
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) => Ok((k.to_string(), v.to_string())),
                None => bail!("--field {kv:?}: expected KEY=VALUE"),
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(LeadInput {
            telegram_user_id: self.telegram_user_id,
            username: self.username,
            phone: self.phone,
            first_name: self.first_name,
            last_name: self.last_name,
            country: self.country,
            language: self.language,
            photo: None,
            status: self.status,
            priority: self.priority,
            group: self.group,
            groups: Vec::new(),
            tags: add,
            remove_tags: remove,
            fields,
            note: self.note,
        })
    }
}

#[derive(Serialize)]
struct WriteResult {
    id: u64,
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    matched_on: Option<String>,
}

pub fn run(ctx: &Context, cmd: LeadCmd) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    match cmd {
        LeadCmd::Add(fields) => {
            let cand = fields.into_input()?.validate(Source::Manual, ctx.config.default_region())?;
            let outcome = store.write_one(ctx.write_ctx(&store)?, WriteOp::Upsert(cand))?;
            report(ctx, outcome)
        }
        LeadCmd::Set { lead, fields } => {
            // Any member may edit any lead of the workspace, so edits resolve beyond the own view.
            let target = resolve(ctx, &store, &lead)?;
            let cand = fields.into_input()?.validate(Source::Manual, ctx.config.default_region())?;
            let outcome = store.write_one(ctx.write_ctx(&store)?, WriteOp::Edit { id: target.id, cand })?;
            report(ctx, outcome)
        }
        LeadCmd::Delete { lead } => {
            let target = resolve(ctx, &store, &lead)?;
            let outcome = store.write_one(ctx.write_ctx(&store)?, WriteOp::Delete { id: target.id })?;
            report(ctx, outcome)
        }
        LeadCmd::Show { lead } => {
            let lead = viewable(ctx, &store, &lead)?;
            let history = store.history(&lead)?;
            let messages = store.thread(&lead.workspace, lead.id)?;
            let campaigns: Vec<InCampaign> = store
                .lead_campaigns(&lead.workspace, lead.id)?
                .into_iter()
                .map(|(c, r)| InCampaign {
                    name: c.name,
                    campaign_state: c.state.to_string(),
                    state: r.state.to_string(),
                    account: r.account,
                    steps_sent: r.steps_sent,
                })
                .collect();
            if ctx.json {
                #[derive(Serialize)]
                struct Shown<'a> {
                    #[serde(flatten)]
                    lead: &'a Lead,
                    history: &'a [Activity],
                    messages: &'a [crate::model::Message],
                    campaigns: &'a [InCampaign],
                }
                let shown = Shown { lead: &lead, history: &history, messages: &messages, campaigns: &campaigns };
                return print_json(&shown);
            }
            print!("{}", render_lead(&lead, &history, &messages));
            if !campaigns.is_empty() {
                println!("\ncampaigns:");
                for c in &campaigns {
                    println!(
                        "  {} ({}): {}, from {}, {} step(s) sent",
                        c.name, c.campaign_state, c.state, c.account, c.steps_sent
                    );
                }
            }
            Ok(())
        }
        LeadCmd::List { select, limit, sort } => {
            let scope = ctx.scope(&store)?;
            let leads = select.selection(&store, &scope)?.list(&store, &scope.workspace, sort, limit)?;
            if ctx.json {
                return print_json(&leads);
            }
            print!("{}", table::leads(&leads));
            Ok(())
        }
    }
}

/// A campaign the lead is in, as `lead show` lists it.
#[derive(Serialize)]
struct InCampaign {
    name: String,
    campaign_state: String,
    state: String,
    account: String,
    steps_sent: u8,
}

fn resolve(ctx: &Context, store: &Store, raw: &str) -> anyhow::Result<Lead> {
    let r = LeadRef::parse(raw, ctx.config.default_region()).map_err(anyhow::Error::msg)?;
    let ws = ctx.workspace(store)?;
    store.resolve(&ws.key(), &r)?.with_context(|| format!("no lead matches {raw:?} in workspace {ws}"))
}

/// The lead `raw` names, when this user may see it (a lead is named by id even outside the view).
pub(super) fn viewable(ctx: &Context, store: &Store, raw: &str) -> anyhow::Result<Lead> {
    let lead = resolve(ctx, store, raw)?;
    ctx.scope_any(store)?.may_view(&lead).map_err(|d| anyhow::anyhow!("{d}"))?;
    Ok(lead)
}

fn report(ctx: &Context, outcome: Outcome) -> anyhow::Result<()> {
    let result = match outcome {
        Outcome::Rejected(e) => bail!("lead rejected: {e}"),
        Outcome::Denied(rule) => bail!("permission denied: {rule}"),
        Outcome::Created { id } => WriteResult { id, outcome: "created", matched_on: None },
        Outcome::Updated { id, matched_on } => {
            WriteResult { id, outcome: "updated", matched_on: matched_on.map(|m| m.to_string()) }
        }
        Outcome::Unchanged { id } => WriteResult { id, outcome: "unchanged", matched_on: None },
        Outcome::Deleted { id } => WriteResult { id, outcome: "deleted", matched_on: None },
        Outcome::Recorded { id } => WriteResult { id, outcome: "recorded", matched_on: None },
    };
    if ctx.json {
        return print_json(&result);
    }
    match &result.matched_on {
        Some(on) => println!("{} #{} (matched on {on})", result.outcome, result.id),
        None => println!("{} #{}", result.outcome, result.id),
    }
    Ok(())
}

/// A lead's fields, then its timeline: history entries and messages, by time.
pub fn render_lead(lead: &Lead, history: &[Activity], messages: &[crate::model::Message]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let mut row = |k: &str, v: String| {
        if !v.is_empty() {
            let _ = writeln!(out, "  {k:<14}{v}");
        }
    };
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    row("id", format!("#{}", lead.id));
    row("name", format!("{} {}", lead.first_name, lead.last_name).trim().to_string());
    row("telegram id", lead.telegram_user_id.map(|u| u.to_string()).unwrap_or_default());
    row("username", lead.username.as_ref().map(|u| format!("@{u}")).unwrap_or_default());
    row(
        "phone",
        match &lead.phone {
            Some(p) if p.e164.as_deref() == Some(p.raw.as_str()) => p.raw.clone(),
            Some(p) if p.is_valid() => format!("{} (entered as {})", p.display(), p.raw),
            Some(p) => format!("{} (unparseable)", p.raw),
            None => String::new(),
        },
    );
    row("country", o(&lead.country));
    row("language", o(&lead.language));
    row("photo", o(&lead.photo));
    row("status", lead.status.to_string());
    row("priority", lead.priority.to_string());
    row("source", lead.source.to_string());
    row("group", o(&lead.group_name));
    if lead.groups.len() > 1 {
        row("all groups", lead.groups.iter().cloned().collect::<Vec<_>>().join("; "));
    }
    row("tags", lead.tags.iter().cloned().collect::<Vec<_>>().join(", "));
    row("created", format!("{} by {}", format_millis(lead.created_at), lead.created_by));
    row("updated", format_millis(lead.updated_at));
    let c = &lead.conversation;
    if c.sent + c.received > 0 {
        row("messages", format!("{} sent, {} received, {} unread", c.sent, c.received, c.unread));
    }
    if let Some(why) = lead.why_not_messageable() {
        row("messaging", format!("refused: {why}"));
    }
    if !lead.custom_fields.is_empty() {
        let _ = writeln!(out, "  fields");
        for (k, v) in &lead.custom_fields {
            let _ = writeln!(out, "    {k:<12}{v}");
        }
    }
    let _ = writeln!(out, "  history");
    let (mut h, mut m) = (history.iter().peekable(), messages.iter().peekable());
    loop {
        let take_message = match (h.peek(), m.peek()) {
            (Some(a), Some(msg)) => msg.at < a.at,
            (None, Some(_)) => true,
            (_, None) => false,
        };
        if take_message {
            let Some(msg) = m.next() else { break };
            let arrow = if msg.direction == crate::model::Direction::In { "←" } else { "→" };
            let _ = writeln!(
                out,
                "    {}  {arrow} {:<9} {} [{}]",
                format_millis(msg.at),
                msg.account,
                msg.text,
                msg.delivery
            );
        } else {
            let Some(a) = h.next() else { break };
            let _ = writeln!(out, "    {a}");
        }
    }
    out
}
