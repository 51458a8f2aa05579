//! The campaign side of a runner: when the account's outbox has no message waiting, it queues
//! the next due recipient of the running campaigns that use the account, as their pacing allows.
//! The decision and its checks happen in the writer's transaction (`CampaignOp::Dispatch`), so
//! a runner killed at any point queues nothing twice; the message then goes through the outbox
//! like any other.

use std::collections::BTreeMap;

use super::{Ctx, RunError};
use crate::campaign::pace::{self, Ready};
use crate::campaign::CampaignState;
use crate::model::Millis;
use crate::store::campaign::CampaignOp;
use crate::store::{Outcome, WriteOp};
use crate::talk::RunnerEvent;
use crate::telegram::Messenger;

/// Recipients skipped (by the last-moment checks) in one pass before the loop breathes.
const SKIPS_PER_PASS: usize = 256;

/// What a pass did.
pub(super) struct Pass {
    /// Something was written (a message queued, a recipient skipped, a campaign finished).
    pub progressed: bool,
    /// The earliest time a campaign may queue again, when that is what it waits for.
    pub wake: Option<Millis>,
}

/// Why each campaign waited last, so the log says it once.
pub(super) type Told = BTreeMap<u64, String>;

pub(super) async fn pass<M: Messenger>(ctx: &Ctx<M>, told: &mut Told) -> Result<Pass, RunError> {
    let now = ctx.cfg.clock.now();
    let ws = &ctx.write.workspace;
    let mut out = Pass { progressed: false, wake: None };
    let wake = |t: Millis, out: &mut Pass| out.wake = Some(out.wake.map_or(t, |w| w.min(t)));
    let campaigns = ctx.store.campaigns(ws)?;
    let mine = campaigns.iter().filter(|c| c.state == CampaignState::Running && c.accounts.contains(&ctx.name));
    for c in mine {
        match pace::ready(c, &ctx.name, now) {
            Ready::Now => {}
            Ready::At(t, why) => {
                wake(t, &mut out);
                // The hourly spread is the normal gait, not news.
                if why != "pacing" {
                    let when = crate::model::format_millis(t);
                    say(ctx, told, c.id, format!("campaign {:?} waits for {why} until {when}", c.name));
                }
                continue;
            }
            Ready::Held(why) => {
                say(ctx, told, c.id, format!("campaign {:?} holds {}: {why}", c.name, ctx.name));
                continue;
            }
        }
        for _ in 0..SKIPS_PER_PASS {
            let heads = ctx.store.due_heads(ws, c.id, &ctx.name)?;
            // A follow-up that is due goes before the rest of the audience's first messages.
            let next = match (heads.follow_up, heads.first) {
                (Some(f), _) if f.0 <= now => f,
                (f, Some(first)) => {
                    if let Some(f) = f {
                        wake(f.0, &mut out);
                    }
                    first
                }
                (Some(f), None) => {
                    wake(f.0, &mut out);
                    break;
                }
                (None, None) => {
                    if !ctx.store.due_any(ws, c.id)? && c.tally.all.get("queued") == 0 {
                        let op = WriteOp::Campaign(CampaignOp::Finish { campaign: c.id, at: now });
                        if matches!(ctx.write(vec![op]).await?.first(), Some(Outcome::Recorded { .. })) {
                            out.progressed = true;
                            say(ctx, told, c.id, format!("campaign {:?} is done", c.name));
                        }
                    }
                    break;
                }
            };
            let op = WriteOp::Campaign(CampaignOp::Dispatch {
                campaign: c.id,
                lead: next.1,
                account: ctx.name.clone(),
                at: now,
            });
            match ctx.write(vec![op]).await?.into_iter().next() {
                Some(Outcome::Recorded { .. }) => {
                    told.remove(&c.id);
                    out.progressed = true;
                    // One message in flight per account: the outbox sends it, then we come back.
                    return Ok(out);
                }
                // Skipped with its reason (or no longer due): the next one.
                Some(Outcome::Unchanged { .. }) => out.progressed = true,
                // The campaign stopped meanwhile, or the lead may not be queued: say it and move on.
                Some(Outcome::Rejected(e)) => {
                    say(ctx, told, c.id, format!("campaign {:?}: {e}", c.name));
                    break;
                }
                _ => break,
            }
        }
    }
    Ok(out)
}

fn say<M: Messenger>(ctx: &Ctx<M>, told: &mut Told, campaign: u64, why: String) {
    if told.get(&campaign) != Some(&why) {
        told.insert(campaign, why.clone());
        ctx.tell(RunnerEvent::Waiting { account: ctx.name.clone(), why });
    }
}
