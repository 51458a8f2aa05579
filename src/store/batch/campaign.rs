//! Campaign ops inside the writer's transaction, and what a campaign message's fate (sent, read,
//! failed, answered) does to its recipient. A recipient, its campaign's statistics, its place in
//! the due queue and its message in the outbox always change in the same transaction.

use super::*;
use crate::campaign::{pace, Campaign, CampaignState, Recipient, RecipientState, SkipReason, Tally};
use crate::model::{Direction, Message};
use crate::store::campaign::*;
use crate::store::{decode, encode};

const DAY_MS: i64 = 86_400_000;

impl<R: Reads> Batch<R> {
    fn campaign_key(ws: &str, id: u64) -> Vec<u8> {
        RecordKind::Campaign.prefixed(&key(ws, record_name(id).as_bytes()))
    }

    fn campaign_get(&self, ws: &str, id: u64) -> Result<Option<Campaign>, StoreError> {
        let bytes = self.record_bytes(&Self::campaign_key(ws, id))?;
        bytes.map(|b| decode(&b, &self.path)).transpose()
    }

    fn campaign_put(&mut self, ws: &str, c: &Campaign) {
        self.records.push((Self::campaign_key(ws, c.id), Some(encode(c))));
    }

    /// The workspace's campaigns as this batch sees them.
    fn campaigns_in(&self, ws: &str) -> Result<Vec<Campaign>, StoreError> {
        let (lo, hi) = ws_range(ws);
        let (lo, hi) = (RecordKind::Campaign.prefixed(&lo), RecordKind::Campaign.prefixed(&hi));
        let mut rows: std::collections::BTreeMap<Vec<u8>, Option<Vec<u8>>> =
            self.t.record_range(&lo, &hi, &self.path)?.into_iter().map(|(k, v)| (k, Some(v))).collect();
        for (k, v) in &self.records {
            if k.as_slice() >= lo.as_slice() && k.as_slice() < hi.as_slice() {
                rows.insert(k.clone(), v.clone());
            }
        }
        rows.into_values().flatten().map(|v| decode(&v, &self.path)).collect()
    }

    fn recipient_get(&self, ws: &str, campaign: u64, lead: u64) -> Result<Option<Recipient>, StoreError> {
        self.raw_get(Raw::Recipients, &recipient_key(ws, campaign, lead))?.map(|b| decode(&b, &self.path)).transpose()
    }

    /// Writes a recipient's new state: the campaign's tally and the due queue follow it.
    fn recipient_put(&mut self, ws: &str, c: &mut Campaign, old: Option<&Recipient>, new: &Recipient) {
        let due_of = |r: &Recipient| r.due.map(|d| due_key(ws, c.id, &r.account, d, r.lead));
        let (was, is) = (old.and_then(due_of), due_of(new));
        if was != is {
            if let Some(k) = was {
                self.raw_put(Raw::Due, k, None);
            }
            if let Some(k) = is {
                self.raw_put(Raw::Due, k, Some(Vec::new()));
            }
        }
        if old.is_none() {
            self.raw_put(Raw::LeadCampaigns, lead_campaign_key(ws, new.lead, c.id), Some(Vec::new()));
        }
        c.tally.change(old, new);
        self.raw_put(Raw::Recipients, recipient_key(ws, c.id, new.lead), Some(encode(new)));
    }

    pub(super) fn campaign_op(
        &mut self,
        ctx: &WriteCtx,
        access: Access,
        op: crate::store::campaign::CampaignOp,
    ) -> Result<Outcome, StoreError> {
        use crate::store::campaign::CampaignOp as Op;
        let ws = ctx.workspace.clone();
        let missing =
            |id: u64| Outcome::Rejected(LeadError::invalid("campaign", &format!("#{id}"), "no such campaign"));
        match op {
            Op::Create(c) => {
                let mut c = *c;
                if self.campaigns_in(&ws)?.iter().any(|o| o.name.to_lowercase() == c.name.to_lowercase()) {
                    let why = "a campaign of this name exists in the workspace (reach campaign list)";
                    return Ok(Outcome::Rejected(LeadError::invalid("name", &c.name, why)));
                }
                for a in &c.accounts {
                    if let Err(why) = self.account_in(ctx, a)? {
                        return Ok(Outcome::Denied(why));
                    }
                }
                c.id = self.next_campaign_id;
                self.next_campaign_id += 1;
                c.created_by = ctx.actor.clone();
                c.created_at = self.now;
                c.state = CampaignState::Draft;
                c.tally = Tally::default();
                self.campaign_put(&ws, &c);
                Ok(Outcome::Recorded { id: c.id })
            }
            Op::Enroll { campaign, leads } => {
                let Some(mut c) = self.campaign_get(&ws, campaign)? else { return Ok(missing(campaign)) };
                if !matches!(c.state, CampaignState::Draft | CampaignState::Launching) {
                    let why = format!("the campaign is {}: its audience was fixed at launch", c.state);
                    return Ok(Outcome::Rejected(LeadError::invalid("campaign", &c.name, why)));
                }
                if c.steps.is_empty() || c.accounts.is_empty() {
                    let why = "the campaign needs a message and an account";
                    return Ok(Outcome::Rejected(LeadError::invalid("campaign", &c.name, why)));
                }
                c.state = CampaignState::Launching;
                for id in leads {
                    if self.recipient_get(&ws, campaign, id)?.is_some() {
                        continue;
                    }
                    let Some(lead) = self.load(&ws, id)?.cloned() else { continue };
                    // Only leads the launcher may see: a member's campaign never reaches past its view.
                    if rules::view_lead(access, &ctx.actor, &lead.created_by).is_err() {
                        continue;
                    }
                    let r = self.enrolled(&c, &lead)?;
                    c.enrolled += 1;
                    self.recipient_put(&ws, &mut c, None, &r);
                }
                self.campaign_put(&ws, &c);
                Ok(Outcome::Recorded { id: campaign })
            }
            Op::SetState { campaign, state, at } => {
                let Some(mut c) = self.campaign_get(&ws, campaign)? else { return Ok(missing(campaign)) };
                if let Err(d) = rules::delete(access, &ctx.actor, &c.created_by) {
                    return Ok(Outcome::Denied(d.0.replace("delete only the leads", "control only the campaigns")));
                }
                use CampaignState as S;
                let allowed = matches!(
                    (c.state, state),
                    (S::Draft | S::Launching | S::Paused | S::Running, S::Running)
                        | (S::Running, S::Paused)
                        | (S::Draft | S::Launching | S::Running | S::Paused, S::Cancelled)
                );
                if !allowed {
                    let why = format!("the campaign is {}; it cannot become {state}", c.state);
                    return Ok(Outcome::Rejected(LeadError::invalid("campaign", &c.name, why)));
                }
                if matches!(c.state, CampaignState::Draft | CampaignState::Launching) && state == CampaignState::Running
                {
                    c.launched_at = Some(at);
                }
                // Resuming is a person saying the accounts may go on.
                c.pace.values_mut().for_each(|p| p.breaker = None);
                c.state = state;
                if state == CampaignState::Cancelled {
                    c.ended_at = Some(at);
                    self.cancel_rest(&ws, &mut c)?;
                }
                self.campaign_put(&ws, &c);
                Ok(Outcome::Recorded { id: campaign })
            }
            Op::Dispatch { campaign, lead, account, at } => self.dispatch(ctx, campaign, lead, &account, at),
            Op::Breaker { account, why } => {
                for mut c in self.campaigns_in(&ws)? {
                    if !c.is_live() || !c.accounts.contains(&account) {
                        continue;
                    }
                    let p = c.pace.entry(account.clone()).or_default();
                    if p.breaker != why {
                        p.breaker = why.clone();
                        self.campaign_put(&ws, &c);
                    }
                }
                Ok(Outcome::Recorded { id: 0 })
            }
            Op::Finish { campaign, at } => {
                let Some(mut c) = self.campaign_get(&ws, campaign)? else { return Ok(missing(campaign)) };
                let (lo, hi) = due_campaign_range(&ws, campaign);
                let waiting = !self.raw_range(Raw::Due, &lo, &hi)?.is_empty();
                if c.state != CampaignState::Running || waiting || c.tally.all.get("queued") > 0 {
                    return Ok(Outcome::Unchanged { id: campaign });
                }
                c.state = CampaignState::Done;
                c.ended_at = Some(at);
                self.campaign_put(&ws, &c);
                Ok(Outcome::Recorded { id: campaign })
            }
        }
    }

    /// A new recipient (see `Campaign::recipient_for`), with the accounts the lead talked to.
    fn enrolled(&self, c: &Campaign, lead: &Lead) -> Result<Recipient, StoreError> {
        let mut talked = Vec::new();
        if lead.conversation.last_message_at.is_some() {
            talked = self.thread(&lead.workspace, lead.id)?.into_iter().rev().map(|m| m.account).collect();
        }
        Ok(c.recipient_for(lead, &talked))
    }

    /// A cancelled campaign's recipients still waiting are skipped, and its queue emptied.
    fn cancel_rest(&mut self, ws: &str, c: &mut Campaign) -> Result<(), StoreError> {
        let (lo, hi) = due_campaign_range(ws, c.id);
        for (k, _) in self.raw_range(Raw::Due, &lo, &hi)? {
            let Some((_, lead)) = due_of(&k) else { continue };
            let Some(old) = self.recipient_get(ws, c.id, lead)? else {
                self.raw_put(Raw::Due, k, None);
                continue;
            };
            let mut r = old.clone();
            r.due = None;
            if r.steps_sent == 0 {
                r.state = RecipientState::Skipped(SkipReason::Cancelled);
            } else {
                r.ended = Some(SkipReason::Cancelled.to_string());
            }
            self.recipient_put(ws, c, Some(&old), &r);
        }
        Ok(())
    }

    /// Why the recipient's next step must not go now, checked in the transaction that queues it.
    fn hold_back(
        &mut self,
        c: &Campaign,
        r: &Recipient,
        lead: &Lead,
        at: Millis,
    ) -> Result<Option<SkipReason>, StoreError> {
        if let Some(why) = SkipReason::of_lead(lead) {
            return Ok(Some(why));
        }
        let since = if r.steps_sent == 0 { c.launched_at.unwrap_or(0) } else { r.sent_at.unwrap_or(0) };
        if lead.conversation.last_message_at.is_some_and(|t| t > since) {
            let wrote =
                self.thread(&lead.workspace, lead.id)?.iter().any(|m| m.direction == Direction::In && m.at > since);
            if wrote {
                return Ok(Some(SkipReason::Replied));
            }
        }
        let period = i64::from(c.pacing.period_days) * DAY_MS;
        let (lo, hi) = lead_campaigns_range(&lead.workspace, lead.id);
        for (k, _) in self.raw_range(Raw::LeadCampaigns, &lo, &hi)? {
            let Some((_, other)) = due_of(&k) else { continue };
            if other == c.id {
                continue;
            }
            let Some(o) = self.recipient_get(&lead.workspace, other, lead.id)? else { continue };
            let recent = o.queued.is_some() || o.sent_at.is_some_and(|t| at - t < period);
            if recent && period > 0 {
                let name = self.campaign_get(&lead.workspace, other)?.map_or(format!("#{other}"), |o| o.name);
                return Ok(Some(SkipReason::RecentCampaign(name)));
            }
        }
        Ok(None)
    }

    fn dispatch(
        &mut self,
        ctx: &WriteCtx,
        campaign: u64,
        lead_id: u64,
        account: &str,
        at: Millis,
    ) -> Result<Outcome, StoreError> {
        let ws = ctx.workspace.clone();
        let refuse = |why: String| Outcome::Rejected(LeadError::invalid("campaign", &format!("#{campaign}"), why));
        let Some(mut c) = self.campaign_get(&ws, campaign)? else { return Ok(refuse("no such campaign".into())) };
        if c.state != CampaignState::Running {
            return Ok(refuse(format!("the campaign is {}", c.state)));
        }
        let Some(old) = self.recipient_get(&ws, campaign, lead_id)? else {
            return Ok(refuse(format!("lead #{lead_id} is not a recipient")));
        };
        if old.account != account || old.due.is_none() || old.queued.is_some() {
            return Ok(Outcome::Unchanged { id: 0 });
        }
        let step = usize::from(old.steps_sent);
        let mut r = old.clone();
        r.due = None;
        if step >= c.steps.len() {
            self.recipient_put(&ws, &mut c, Some(&old), &r);
            self.campaign_put(&ws, &c);
            return Ok(Outcome::Unchanged { id: 0 });
        }
        let skip = |r: &mut Recipient, why: SkipReason| {
            if step == 0 {
                r.state = RecipientState::Skipped(why);
            } else {
                r.ended = Some(why.to_string());
            }
        };
        let Some(lead) = self.load(&ws, lead_id)?.cloned() else {
            skip(&mut r, SkipReason::Deleted);
            self.recipient_put(&ws, &mut c, Some(&old), &r);
            self.campaign_put(&ws, &c);
            return Ok(Outcome::Unchanged { id: 0 });
        };
        let rendered = c.render(step, &lead);
        let why = match self.hold_back(&c, &r, &lead, at)? {
            Some(why) => Some(why),
            None => rendered.as_ref().err().cloned(),
        };
        if let Some(why) = why {
            skip(&mut r, why);
            self.recipient_put(&ws, &mut c, Some(&old), &r);
            self.campaign_put(&ws, &c);
            return Ok(Outcome::Unchanged { id: 0 });
        }
        let text = rendered.unwrap_or_default();
        let message = match self.queue(ctx, lead_id, account, &text, Some(campaign), at)? {
            Ok(id) => id,
            Err(refused) => return Ok(refused),
        };
        r.queued = Some(message);
        r.queued_at = Some(at);
        if step == 0 {
            r.state = RecipientState::Queued;
        }
        let old_pace = c.pace.get(account).cloned().unwrap_or_default();
        let roll = jitter_roll(campaign, account, old_pace.total);
        c.pace.insert(account.to_string(), pace::record(&old_pace, &c.pacing, at, roll));
        self.recipient_put(&ws, &mut c, Some(&old), &r);
        self.campaign_put(&ws, &c);
        Ok(Outcome::Recorded { id: message })
    }

    /// The recipient whose step `msg` is, if it is a campaign message still in flight.
    fn in_flight(&self, ws: &str, msg: &Message) -> Result<Option<(Campaign, Recipient)>, StoreError> {
        let Some(id) = msg.campaign else { return Ok(None) };
        let Some(c) = self.campaign_get(ws, id)? else { return Ok(None) };
        let r = self.recipient_get(ws, id, msg.lead)?;
        Ok(r.filter(|r| r.queued == Some(msg.id)).map(|r| (c, r)))
    }

    /// A campaign message went (at Telegram's time, when it said): its recipient is sent, and
    /// the next step is due after its delay.
    pub(super) fn campaign_sent(&mut self, ws: &str, msg: &Message, at: Option<Millis>) -> Result<(), StoreError> {
        let Some((mut c, old)) = self.in_flight(ws, msg)? else { return Ok(()) };
        let at = at.or(old.queued_at).unwrap_or(self.now);
        let mut r = old.clone();
        r.queued = None;
        r.last_message = Some(msg.id);
        r.steps_sent += 1;
        r.sent_at = Some(at);
        if !matches!(r.state, RecipientState::Replied) {
            r.state = RecipientState::Sent;
        }
        let ended = r.ended.is_some() || matches!(r.state, RecipientState::Replied);
        r.due = match c.steps.get(usize::from(r.steps_sent)) {
            Some(next) if !ended && c.state != CampaignState::Cancelled => {
                Some(at + i64::from(next.after_days) * DAY_MS)
            }
            _ => None,
        };
        c.tally.messages += 1;
        self.recipient_put(ws, &mut c, Some(&old), &r);
        self.campaign_put(ws, &c);
        Ok(())
    }

    /// A campaign message failed (or reach held it back at the last moment).
    pub(super) fn campaign_failed(
        &mut self,
        ws: &str,
        msg: &Message,
        reason: &str,
        held_back: bool,
    ) -> Result<(), StoreError> {
        let Some((mut c, old)) = self.in_flight(ws, msg)? else { return Ok(()) };
        let mut r = old.clone();
        r.queued = None;
        r.due = None;
        let cancelled = c.state == CampaignState::Cancelled;
        // Held back because the lead changed since it was queued: skipped by the status rules.
        let rule = if held_back { self.load(ws, msg.lead)?.and_then(SkipReason::of_lead) } else { None };
        match (old.steps_sent, cancelled) {
            (0, true) => r.state = RecipientState::Skipped(SkipReason::Cancelled),
            (0, false) => {
                r.state = match rule {
                    Some(why) => RecipientState::Skipped(why),
                    None => RecipientState::Failed(reason.to_string()),
                }
            }
            (_, true) => r.ended = Some(SkipReason::Cancelled.to_string()),
            (_, false) if old.state == RecipientState::Replied => r.ended = Some(SkipReason::Replied.to_string()),
            (_, false) => r.ended = Some(format!("follow-up failed: {reason}")),
        }
        self.recipient_put(ws, &mut c, Some(&old), &r);
        self.campaign_put(ws, &c);
        Ok(())
    }

    /// The lead read a campaign message.
    pub(super) fn campaign_read(&mut self, ws: &str, msg: &Message) -> Result<(), StoreError> {
        let Some(id) = msg.campaign else { return Ok(()) };
        let (Some(mut c), Some(old)) = (self.campaign_get(ws, id)?, self.recipient_get(ws, id, msg.lead)?) else {
            return Ok(());
        };
        if old.state != RecipientState::Sent || old.last_message != Some(msg.id) {
            return Ok(());
        }
        let mut r = old.clone();
        r.state = RecipientState::Read;
        r.read_at = Some(self.now);
        self.recipient_put(ws, &mut c, Some(&old), &r);
        self.campaign_put(ws, &c);
        Ok(())
    }

    /// The lead wrote to us: every campaign that messaged it counts the reply and sends it no
    /// more steps. Answers the history entries saying which campaigns it answered.
    pub(super) fn campaign_replied(
        &mut self,
        ws: &str,
        lead: u64,
        at: Millis,
    ) -> Result<Vec<ActivityKind>, StoreError> {
        let mut log = Vec::new();
        let (lo, hi) = lead_campaigns_range(ws, lead);
        for (k, _) in self.raw_range(Raw::LeadCampaigns, &lo, &hi)? {
            let Some((_, id)) = due_of(&k) else { continue };
            let (Some(mut c), Some(old)) = (self.campaign_get(ws, id)?, self.recipient_get(ws, id, lead)?) else {
                continue;
            };
            if !matches!(old.state, RecipientState::Sent | RecipientState::Read) || old.sent_at.is_some_and(|t| t > at)
            {
                continue;
            }
            let mut r = old.clone();
            r.state = RecipientState::Replied;
            r.replied_at = Some(at);
            r.due = None;
            self.recipient_put(ws, &mut c, Some(&old), &r);
            self.campaign_put(ws, &c);
            log.push(ActivityKind::CampaignReplied { campaign: c.name.clone() });
        }
        Ok(log)
    }

    /// A deleted lead leaves its campaigns: counted as skipped (deleted), its queue place gone.
    pub(super) fn drop_recipients(&mut self, ws: &str, lead: u64) -> Result<(), StoreError> {
        let (lo, hi) = lead_campaigns_range(ws, lead);
        for (k, _) in self.raw_range(Raw::LeadCampaigns, &lo, &hi)? {
            let Some((_, id)) = due_of(&k) else { continue };
            let (Some(mut c), Some(old)) = (self.campaign_get(ws, id)?, self.recipient_get(ws, id, lead)?) else {
                continue;
            };
            if old.due.is_none() {
                continue;
            }
            let mut r = old.clone();
            r.due = None;
            if r.steps_sent == 0 {
                r.state = RecipientState::Skipped(SkipReason::Deleted);
            } else {
                r.ended = Some(SkipReason::Deleted.to_string());
            }
            self.recipient_put(ws, &mut c, Some(&old), &r);
            self.campaign_put(ws, &c);
        }
        Ok(())
    }
}

/// The jitter of one account's next campaign send: deterministic, so a re-run paces the same.
fn jitter_roll(campaign: u64, account: &str, n: u64) -> u64 {
    let mut h = blake3::Hasher::new();
    h.update(&campaign.to_le_bytes());
    h.update(account.as_bytes());
    h.update(&n.to_le_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&h.finalize().as_bytes()[..8]);
    u64::from_le_bytes(b)
}
