//! A campaign's audience: the leads it selects within the launcher's view, the checks a template
//! must pass against them before the campaign is stored, the launch that fixes the audience as
//! recipients, and the dry run that shows what a launch would send.

use std::collections::BTreeMap;

use serde::Serialize;

use super::template::{Template, Var};
use super::{pace, Campaign, CampaignState, RecipientState};
use crate::model::{Lead, Millis};
use crate::store::campaign::CampaignOp;
use crate::store::{Outcome, Scope, Store, WriteCtx, WriteOp};

/// Recipients written per transaction at launch: well inside the writer's one-second promise.
pub const ENROLL_CHUNK: usize = 10_000;

/// The audience's leads now, within `scope`, in id order, each once.
pub fn select(store: &Store, scope: &Scope, c: &Campaign) -> anyhow::Result<Vec<u64>> {
    let a = &c.audience;
    let mut sel = crate::search::Selection::new(scope.filter(&a.filter));
    if let Some(name) = &a.segment {
        let seg = store.segments(&scope.workspace)?.into_iter().find(|s| &s.name == name).ok_or_else(|| {
            anyhow::anyhow!("campaign {:?}: its segment {name:?} no longer exists (reach segment list)", c.name)
        })?;
        sel = sel.segment(&seg);
    }
    let mut ids = sel.query(a.query.as_deref()).ranked_ids(store, &scope.workspace)?;
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// Refuses templates that do not parse, or that need a value some leads of the audience lack
/// with no fallback, naming the step, the variable and how many leads lack it.
pub fn check_templates(store: &Store, ws: &str, c: &Campaign, ids: &[u64]) -> anyhow::Result<()> {
    let mut required: Vec<(String, Var)> = Vec::new();
    for (i, step) in c.steps.iter().enumerate() {
        let name = if i == 0 { "the message".to_string() } else { format!("follow-up {i}") };
        let mut texts = vec![(name.clone(), step.text.as_str())];
        texts.extend(step.by_language.iter().map(|(l, t)| (format!("{name} for {l}"), t.as_str())));
        for (what, text) in texts {
            let t = Template::parse(text).map_err(|e| anyhow::anyhow!("{what}: {e}"))?;
            for (v, fallback) in t.variables() {
                if !fallback {
                    required.push((what.clone(), v));
                }
            }
        }
    }
    if required.is_empty() {
        return Ok(());
    }
    let mut lacking: BTreeMap<usize, u64> = BTreeMap::new();
    let mut messageable = 0u64;
    store.visit_ids(ws, ids, |l| {
        if super::SkipReason::of_lead(&l).is_some() {
            return;
        }
        messageable += 1;
        for (i, (_, v)) in required.iter().enumerate() {
            if v.value(&l).is_none() {
                *lacking.entry(i).or_default() += 1;
            }
        }
    })?;
    if let Some((&i, &n)) = lacking.iter().next() {
        let (what, v) = &required[i];
        let example = v.to_string().trim_end_matches('}').to_string() + "|…}";
        anyhow::bail!(
            "{what}: {v} has no fallback, and {n} of the {messageable} leads that can be messaged have no value for it; \
             give it one, as in {example}, or narrow the audience"
        );
    }
    Ok(())
}

/// What a person asks for when creating a campaign: the CLI's flags, the TUI's form.
#[derive(Debug, Clone)]
pub struct Draft {
    pub name: String,
    pub audience: super::Audience,
    pub steps: Vec<super::Step>,
    /// Empty: every account of the workspace that is not limited by Telegram.
    pub accounts: Vec<String>,
    pub pacing: super::Pacing,
}

/// Checks a draft (name, accounts, templates against the audience as it is now) and stores it.
pub fn create(store: &Store, scope: &Scope, ctx: &WriteCtx, d: Draft) -> anyhow::Result<Campaign> {
    let name = super::validate_name(&d.name).map_err(|e| anyhow::anyhow!("{e}"))?;
    if d.steps.is_empty() || d.steps[0].text.trim().is_empty() {
        anyhow::bail!("campaign {name:?}: it needs a message template (--template)");
    }
    pace::zone(&d.pacing.timezone).map_err(|e| anyhow::anyhow!("campaign {name:?}: {e}"))?;
    let all = crate::crawl::account::list(store)?;
    let ours: Vec<_> = all.iter().filter(|a| a.workspace == ctx.workspace).collect();
    let accounts = if d.accounts.is_empty() {
        let healthy: Vec<String> = ours.iter().filter(|a| a.limited_since.is_none()).map(|a| a.name.clone()).collect();
        if healthy.is_empty() {
            anyhow::bail!(
                "campaign {name:?}: the workspace has no Telegram account that can send (reach account add, reach account list)"
            );
        }
        healthy
    } else {
        for a in &d.accounts {
            if !ours.iter().any(|o| &o.name == a) {
                anyhow::bail!("campaign {name:?}: no account {a:?} in this workspace (reach account list)");
            }
        }
        d.accounts.clone()
    };
    let mut c = Campaign {
        id: 0,
        name,
        created_by: ctx.actor.clone(),
        created_at: 0,
        audience: d.audience,
        steps: d.steps,
        accounts,
        pacing: d.pacing,
        state: CampaignState::Draft,
        launched_at: None,
        ended_at: None,
        tally: Default::default(),
        pace: Default::default(),
        enrolled: 0,
    };
    let ids = select(store, scope, &c)?;
    check_templates(store, &scope.workspace, &c, &ids).map_err(|e| anyhow::anyhow!("campaign {:?}: {e}", c.name))?;
    match store.write_one(ctx.clone(), WriteOp::Campaign(CampaignOp::Create(Box::new(c.clone()))))? {
        Outcome::Recorded { id } => c.id = id,
        other => {
            refused(other)?;
            anyhow::bail!("campaign {:?} was not stored", c.name);
        }
    }
    store.campaign(&ctx.workspace, c.id)?.ok_or_else(|| anyhow::anyhow!("campaign #{} vanished", c.id))
}

/// Fixes the audience as recipients (in chunks, resumable: a killed launch runs again) and
/// starts the campaign. `progress` hears (done, total).
pub fn launch(
    store: &Store,
    ctx: &WriteCtx,
    scope: &Scope,
    id: u64,
    at: Millis,
    mut progress: impl FnMut(u64, u64),
) -> anyhow::Result<Campaign> {
    let c = store.campaign(&ctx.workspace, id)?.ok_or_else(|| anyhow::anyhow!("no campaign #{id}"))?;
    if !matches!(c.state, CampaignState::Draft | CampaignState::Launching) {
        anyhow::bail!("campaign {:?} is {}; only a draft is launched", c.name, c.state);
    }
    let ids = select(store, scope, &c)?;
    let total = ids.len() as u64;
    for (i, chunk) in ids.chunks(ENROLL_CHUNK).enumerate() {
        let op = WriteOp::Campaign(CampaignOp::Enroll { campaign: id, leads: chunk.to_vec() });
        refused(store.write_one(ctx.clone(), op)?)?;
        progress(((i * ENROLL_CHUNK + chunk.len()) as u64).min(total), total);
    }
    if ids.is_empty() {
        // An empty audience still launches (and finishes at once): the record says so.
        let op = WriteOp::Campaign(CampaignOp::Enroll { campaign: id, leads: Vec::new() });
        refused(store.write_one(ctx.clone(), op)?)?;
    }
    set_state(store, ctx, id, CampaignState::Running, at)?;
    store.campaign(&ctx.workspace, id)?.ok_or_else(|| anyhow::anyhow!("campaign #{id} vanished"))
}

pub fn set_state(store: &Store, ctx: &WriteCtx, id: u64, state: CampaignState, at: Millis) -> anyhow::Result<()> {
    let op = WriteOp::Campaign(CampaignOp::SetState { campaign: id, state, at });
    refused(store.write_one(ctx.clone(), op)?)
}

/// An outcome that refused the op, as an error.
pub fn refused(o: Outcome) -> anyhow::Result<()> {
    match o {
        Outcome::Denied(why) => anyhow::bail!("permission denied: {why}"),
        Outcome::Rejected(e) => anyhow::bail!("{e}"),
        _ => Ok(()),
    }
}

/// One recipient as a dry run (or the preview) shows it.
#[derive(Debug, Clone, Serialize)]
pub struct Preview {
    pub lead: u64,
    pub name: String,
    pub account: String,
    pub variant: String,
    /// The rendered first message, or why the lead is skipped.
    pub text: Result<String, String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DryRun {
    pub audience: u64,
    pub recipients: Vec<Preview>,
    /// Leads each template variant goes to.
    pub by_variant: BTreeMap<String, u64>,
    /// Skipped leads by reason.
    pub skipped: BTreeMap<String, u64>,
    /// Per account: messages to send and how long they take under the caps, in milliseconds.
    pub by_account: BTreeMap<String, (u64, Millis)>,
    /// The longest account's time: how long the campaign takes.
    pub takes_ms: Millis,
}

/// What launching the campaign now would do, without writing anything: every first message
/// rendered, every skip with its reason, and the time the caps make it take. `first_contact_cap`
/// and `min_gap_ms` are the runner's own limits (`[messages]`), which apply on top.
pub fn dry_run(
    store: &Store,
    scope: &Scope,
    c: &Campaign,
    now: Millis,
    first_contact_cap: u32,
    min_gap_ms: u64,
    keep: usize,
) -> anyhow::Result<DryRun> {
    let ids = if c.state == CampaignState::Draft {
        select(store, scope, c)?
    } else {
        store.recipients(&scope.workspace, c.id)?.iter().map(|r| r.lead).collect()
    };
    let mut out = DryRun { audience: ids.len() as u64, ..Default::default() };
    let mut sim = c.clone();
    let mut leads: Vec<Lead> = Vec::new();
    store.visit_ids(&scope.workspace, &ids, |l| leads.push(l))?;
    let mut to_send: BTreeMap<String, u64> = BTreeMap::new();
    for lead in leads {
        let talked: Vec<String> = if lead.conversation.last_message_at.is_some() {
            store.thread(&scope.workspace, lead.id)?.into_iter().rev().map(|m| m.account).collect()
        } else {
            Vec::new()
        };
        let r = sim.recipient_for(&lead, &talked);
        sim.enrolled += 1;
        let text = match &r.state {
            RecipientState::Skipped(why) => {
                *out.skipped.entry(why.to_string()).or_default() += 1;
                Err(why.to_string())
            }
            _ => {
                *out.by_variant.entry(r.variant_name().to_string()).or_default() += 1;
                *to_send.entry(r.account.clone()).or_default() += 1;
                c.render(0, &lead).map_err(|e| e.to_string())
            }
        };
        if out.recipients.len() < keep {
            let variant = r.variant_name().to_string();
            out.recipients.push(Preview {
                lead: lead.id,
                name: lead.display_name(),
                account: r.account,
                variant,
                text,
            });
        }
    }
    let mut capped = c.clone();
    capped.pacing.per_day = Some(c.pacing.per_day.map_or(first_contact_cap, |d| d.min(first_contact_cap)));
    for (account, n) in to_send {
        let took = pace::estimate(&capped, n, now, min_gap_ms);
        out.takes_ms = out.takes_ms.max(took);
        out.by_account.insert(account, (n, took));
    }
    Ok(out)
}
