//! Conversation ops inside the writer's transaction: queueing a message, what an account heard,
//! how a send ended and what Telegram's answer does to the lead.

use super::*;
use crate::model::{BlockCause, CantMessage, Delivery, Direction, LeadInput, Message, Source, Status};
use crate::store::talk::{
    account_key, message_key, tg_key, thread_range, ImportedMessage, OutboxItem, OutboxKind, Peer, SendResult,
};
use crate::store::{decode, encode, TalkOp};
use crate::telegram::{Member, Sent, TgError, TgMessage, TgUpdate};

/// Telegram's limit on a message's length.
pub const MAX_TEXT_CHARS: usize = 4096;

impl<R: Reads> Batch<R> {
    pub(super) fn raw_get(&self, t: Raw, k: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        match self.raw[t as usize].get(k) {
            Some(v) => Ok(v.clone()),
            None => self.t.raw(t, k, &self.path),
        }
    }

    pub(super) fn raw_put(&mut self, t: Raw, k: Vec<u8>, v: Option<Vec<u8>>) {
        self.raw[t as usize].insert(k, v);
    }

    /// Rows of `t` in `lo..=hi` as this batch sees them.
    pub(super) fn raw_range(&self, t: Raw, lo: &[u8], hi: &[u8]) -> Result<super::tables::Rows, StoreError> {
        let mut rows: std::collections::BTreeMap<Vec<u8>, Option<Vec<u8>>> =
            self.t.raw_range(t, lo, hi, &self.path)?.into_iter().map(|(k, v)| (k, Some(v))).collect();
        for (k, v) in self.raw[t as usize].range(lo.to_vec()..=hi.to_vec()) {
            rows.insert(k.clone(), v.clone());
        }
        Ok(rows.into_iter().filter_map(|(k, v)| Some((k, v?))).collect())
    }

    fn put_message(&mut self, ws: &str, m: &Message) {
        self.raw_put(Raw::Messages, message_key(ws, m.lead, m.id), Some(encode(m)));
        self.threads.push((ws.to_string(), m.lead));
    }

    fn message_at(&self, k: &[u8]) -> Result<Option<Message>, StoreError> {
        self.raw_get(Raw::Messages, k)?.map(|b| decode(&b, &self.path)).transpose()
    }

    pub(super) fn thread(&self, ws: &str, lead: u64) -> Result<Vec<Message>, StoreError> {
        let (lo, hi) = thread_range(ws, lead);
        self.raw_range(Raw::Messages, &lo, &hi)?.iter().map(|(_, v)| decode(v, &self.path)).collect()
    }

    fn enqueue_item(&mut self, account: &str, seq: u64, item: &OutboxItem) {
        self.raw_put(Raw::Outbox, account_key(account, &seq.to_be_bytes()), Some(encode(item)));
        self.outboxes.push(account.to_string());
    }

    fn next_message(&mut self) -> u64 {
        let id = self.next_message_id;
        self.next_message_id += 1;
        id
    }

    /// The account record, when it serves this workspace.
    pub(super) fn account_in(&self, ctx: &WriteCtx, account: &str) -> Result<Result<(), String>, StoreError> {
        let k = RecordKind::Account.prefixed(&key("", account.as_bytes()));
        let Some(bytes) = self.record_bytes(&k)? else {
            return Ok(Err(format!("no account named {account:?} (reach account list)")));
        };
        let rec = postcard::from_bytes::<crate::crawl::account::AccountRecord>(&bytes);
        Ok(match rec {
            Ok(rec) if rec.workspace == ctx.workspace => Ok(()),
            Ok(_) => Err(format!("the account {account:?} belongs to another workspace")),
            Err(_) => {
                Err(format!("the account {account:?} was added by an older reach: run `reach account list` once"))
            }
        })
    }

    /// Puts a message to a lead into the account's outbox: its id, or why it is refused.
    pub(super) fn queue(
        &mut self,
        ctx: &WriteCtx,
        lead: u64,
        account: &str,
        text: &str,
        campaign: Option<u64>,
        at: Millis,
    ) -> Result<Result<u64, Outcome>, StoreError> {
        let ws = ctx.workspace.clone();
        // Telegram trims what it delivers; the echo of the send must read the same.
        let text = text.trim().to_string();
        if text.is_empty() {
            return Ok(Err(Outcome::Rejected(LeadError::invalid("text", "", "a message needs some text"))));
        }
        let chars = text.chars().count();
        if chars > MAX_TEXT_CHARS {
            let why = format!("{chars} characters; Telegram allows {MAX_TEXT_CHARS}");
            return Ok(Err(Outcome::Rejected(LeadError::invalid("text", "", why))));
        }
        if let Err(why) = self.account_in(ctx, account)? {
            return Ok(Err(Outcome::Denied(why)));
        }
        let Some(l) = self.load(&ws, lead)? else { return Ok(Err(Outcome::Rejected(not_found(lead)))) };
        if let Some(why) = l.why_not_messageable() {
            return Ok(Err(Outcome::Rejected(LeadError::invalid("lead", &format!("#{lead}"), why))));
        }
        let id = self.next_message();
        let m = Message {
            id,
            lead,
            account: account.to_string(),
            direction: Direction::Out,
            text,
            at,
            tg_id: None,
            delivery: Delivery::Queued,
            random_id: random_id(&self.path, id, self.now),
            by: ctx.actor.clone(),
            campaign,
            edited: false,
            deleted: false,
        };
        self.put_message(&ws, &m);
        let item = OutboxItem { workspace: ws, lead, kind: OutboxKind::Send { message: id } };
        self.enqueue_item(account, id, &item);
        Ok(Ok(id))
    }

    pub(super) fn talk(&mut self, ctx: &WriteCtx, op: TalkOp) -> Result<Outcome, StoreError> {
        let ws = ctx.workspace.clone();
        match op {
            TalkOp::Enqueue { lead, account, text, campaign } => {
                Ok(match self.queue(ctx, lead, &account, &text, campaign, self.now)? {
                    Ok(id) => Outcome::Recorded { id },
                    Err(refused) => refused,
                })
            }
            TalkOp::Heard { account, update, stop } => self.heard(ctx, &account, update, stop),
            TalkOp::Settle { account, seq, message, lead, result } => {
                self.raw_put(Raw::Outbox, account_key(&account, &seq.to_be_bytes()), None);
                self.settle_send(ctx, &account, message, lead, result)
            }
            TalkOp::Done { account, seq } => {
                self.raw_put(Raw::Outbox, account_key(&account, &seq.to_be_bytes()), None);
                Ok(Outcome::Recorded { id: seq })
            }
            TalkOp::MarkRead { lead, receipt } => {
                let Some(l) = self.load(&ws, lead)? else { return Ok(Outcome::Rejected(not_found(lead))) };
                if l.conversation.unread == 0 {
                    return Ok(Outcome::Unchanged { id: lead });
                }
                let mut l = l.clone();
                l.conversation.unread = 0;
                self.commit_lead(ctx, lead, l, Vec::new());
                let last_in = self.thread(&ws, lead)?.into_iter().rev().find(|m| m.direction == Direction::In);
                if let (true, Some(m)) = (receipt, last_in) {
                    if let Some(max_id) = m.tg_id {
                        let seq = self.next_message();
                        let item = OutboxItem { workspace: ws, lead, kind: OutboxKind::ReadReceipt { max_id } };
                        self.enqueue_item(&m.account, seq, &item);
                    }
                }
                Ok(Outcome::Updated { id: lead, matched_on: None })
            }
            TalkOp::Peer { account, user } => {
                let peer = Peer { access_hash: user.access_hash };
                self.raw_put(Raw::Peers, account_key(&account, &user.user_id.to_be_bytes()), Some(encode(&peer)));
                Ok(Outcome::Recorded { id: 0 })
            }
            TalkOp::ForgetAccount { account } => {
                let (lo, hi) = ws_range(&account);
                for (k, v) in self.raw_range(Raw::Outbox, &lo, &hi)? {
                    self.raw_put(Raw::Outbox, k, None);
                    let Ok(item) = decode::<OutboxItem>(&v, &self.path) else { continue };
                    let OutboxKind::Send { message } = item.kind else { continue };
                    let mk = message_key(&item.workspace, item.lead, message);
                    if let Some(mut msg) = self.message_at(&mk)?.filter(|m| m.delivery == Delivery::Queued) {
                        let why = format!("the account {account} was removed");
                        self.campaign_failed(&item.workspace, &msg, &why, false)?;
                        msg.delivery = Delivery::Failed(why);
                        self.put_message(&item.workspace, &msg);
                    }
                }
                for t in [Raw::TgMessages, Raw::Peers] {
                    for (k, _) in self.raw_range(t, &lo, &hi)? {
                        self.raw_put(t, k, None);
                    }
                }
                Ok(Outcome::Recorded { id: 0 })
            }
            TalkOp::Imported { user, account, message } => self.imported(ctx, user, &account, message),
            TalkOp::DoNotContact { lead, value } => {
                let Some(l) = self.load(&ws, lead)? else { return Ok(Outcome::Rejected(not_found(lead))) };
                if l.conversation.do_not_contact == value {
                    return Ok(Outcome::Unchanged { id: lead });
                }
                let mut l = l.clone();
                l.conversation.do_not_contact = value;
                l.updated_at = self.now;
                let why = format!("by {}", ctx.actor);
                self.commit_lead(ctx, lead, l, vec![ActivityKind::DoNotContact { set: value, why }]);
                Ok(Outcome::Updated { id: lead, matched_on: None })
            }
        }
    }

    fn heard(&mut self, ctx: &WriteCtx, account: &str, update: TgUpdate, stop: bool) -> Result<Outcome, StoreError> {
        let ws = ctx.workspace.clone();
        match update {
            TgUpdate::Message(m) => self.heard_message(ctx, account, m, stop),
            TgUpdate::Edited(m) => {
                let Some(k) = self.raw_get(Raw::TgMessages, &tg_key(account, m.id))? else {
                    // An edit of a message reach never saw is that message, as it is now.
                    return self.heard_message(ctx, account, m, false);
                };
                let Some(mut msg) = self.message_at(&k)? else { return Ok(Outcome::Recorded { id: 0 }) };
                if msg.text != m.text {
                    msg.text = m.text;
                    msg.edited = true;
                    self.put_message(&ws, &msg);
                }
                Ok(Outcome::Recorded { id: msg.id })
            }
            TgUpdate::Deleted { ids } => {
                for id in ids {
                    let Some(k) = self.raw_get(Raw::TgMessages, &tg_key(account, id))? else { continue };
                    if let Some(mut msg) = self.message_at(&k)?.filter(|m| !m.deleted) {
                        msg.deleted = true;
                        self.put_message(&ws, &msg);
                    }
                }
                Ok(Outcome::Recorded { id: 0 })
            }
            TgUpdate::ReadOutbox { user_id, max_id } => {
                let Some(lead) = self.find_user_id(&ws, user_id)? else { return Ok(Outcome::Recorded { id: 0 }) };
                for mut msg in self.thread(&ws, lead)? {
                    let read = msg.account == account
                        && msg.direction == Direction::Out
                        && msg.delivery == Delivery::Sent
                        && msg.tg_id.is_some_and(|id| id <= max_id);
                    if read {
                        msg.delivery = Delivery::Read;
                        self.put_message(&ws, &msg);
                        self.campaign_read(&ws, &msg)?;
                    }
                }
                Ok(Outcome::Recorded { id: lead })
            }
        }
    }

    /// A private message, ours (sent from another client) or the lead's: through the dedup upsert
    /// (a stranger becomes a lead with source `interaction`), then into the lead's thread.
    fn heard_message(
        &mut self,
        ctx: &WriteCtx,
        account: &str,
        m: TgMessage,
        stop: bool,
    ) -> Result<Outcome, StoreError> {
        let ws = ctx.workspace.clone();
        if m.peer.bot || m.peer.deleted {
            return Ok(Outcome::Recorded { id: 0 });
        }
        let tk = tg_key(account, m.id);
        if let Some(k) = self.raw_get(Raw::TgMessages, &tk)? {
            // Delivered again (a catch-up after a crash before the state was synced): known.
            let lead = self.message_at(&k)?.map_or(0, |msg| msg.lead);
            return Ok(Outcome::Unchanged { id: lead });
        }
        let Some(cand) = candidate_of(&m.peer) else { return Ok(Outcome::Recorded { id: 0 }) };
        let outcome = self.upsert(ctx, cand)?;
        let (Some(id), created) = (outcome.id(), matches!(outcome, Outcome::Created { .. })) else {
            return Ok(outcome);
        };
        if let Some(hash) = m.peer.access_hash {
            let peer = Peer { access_hash: hash };
            self.raw_put(Raw::Peers, account_key(account, &m.peer.user_id.to_be_bytes()), Some(encode(&peer)));
        }
        let Some(lead) = self.load(&ws, id)? else { return Ok(outcome) };
        let mut lead = lead.clone();
        let mut log = Vec::new();
        if m.out {
            // Our own send, echoed by the update stream, is the message we queued, not a new one:
            // still queued (the echo came before the outcome), or recorded as sent without an id
            // (a repeat Telegram recognised as RANDOM_ID_DUPLICATE).
            let ours = self.thread(&ws, id)?.into_iter().find(|q| {
                let unnumbered = q.delivery == Delivery::Queued || (q.delivery == Delivery::Sent && q.tg_id.is_none());
                q.account == account && q.direction == Direction::Out && unnumbered && q.text.trim() == m.text.trim()
            });
            if let Some(mut q) = ours {
                let counted = q.delivery == Delivery::Sent;
                q.tg_id = Some(m.id);
                q.at = m.at;
                q.delivery = Delivery::Sent;
                self.put_message(&ws, &q);
                self.campaign_sent(&ws, &q, Some(m.at))?;
                self.raw_put(Raw::TgMessages, tk, Some(message_key(&ws, id, q.id)));
                let c = &mut lead.conversation;
                c.sent += u32::from(!counted);
                c.last_message_at = Some(c.last_message_at.unwrap_or(0).max(m.at));
                lead.updated_at = self.now;
                self.commit_lead(ctx, id, lead, log);
                return Ok(outcome);
            }
        }
        let msg_id = self.next_message();
        let direction = if m.out { Direction::Out } else { Direction::In };
        let msg = Message {
            id: msg_id,
            lead: id,
            account: account.to_string(),
            direction,
            text: m.text.clone(),
            at: m.at,
            tg_id: Some(m.id),
            delivery: if m.out { Delivery::Sent } else { Delivery::Received },
            random_id: 0,
            by: account.to_string(),
            campaign: None,
            edited: false,
            deleted: false,
        };
        self.put_message(&ws, &msg);
        self.raw_put(Raw::TgMessages, tk, Some(message_key(&ws, id, msg_id)));
        let c = &mut lead.conversation;
        c.last_message_at = Some(c.last_message_at.unwrap_or(0).max(m.at));
        if m.out {
            c.sent += 1;
        } else {
            if c.received == 0 && !created {
                log.push(ActivityKind::WroteToUs { account: account.to_string() });
            }
            c.received += 1;
            c.unread += 1;
            c.replied |= c.sent > 0;
            log.extend(self.campaign_replied(&ws, id, m.at)?);
            // Only a block Telegram reported is lifted: the lead writing again shows it is gone.
            if lead.status == Status::Blocked && c.blocked_by == Some(BlockCause::TheyBlockedUs) {
                c.blocked_by = None;
                lead.status = Status::Active;
                log.push(ActivityKind::TelegramSaid {
                    account: account.to_string(),
                    said: "a new message from the lead".into(),
                    effect: "they unblocked us: status blocked → active".into(),
                });
            }
            if stop && !c.do_not_contact {
                c.do_not_contact = true;
                let why = format!("replied {:?}", m.text.chars().take(80).collect::<String>());
                log.push(ActivityKind::DoNotContact { set: true, why });
            }
        }
        lead.updated_at = self.now;
        self.commit_lead(ctx, id, lead, log);
        Ok(outcome)
    }

    fn settle_send(
        &mut self,
        ctx: &WriteCtx,
        account: &str,
        message: u64,
        lead_id: u64,
        result: SendResult,
    ) -> Result<Outcome, StoreError> {
        let ws = ctx.workspace.clone();
        let held_back = matches!(result, SendResult::Skipped(_));
        let mk = message_key(&ws, lead_id, message);
        let Some(mut msg) = self.message_at(&mk)? else { return Ok(Outcome::Recorded { id: message }) };
        let Some(lead) = self.load(&ws, lead_id)? else { return Ok(Outcome::Recorded { id: message }) };
        let before = lead.clone();
        let mut lead = lead.clone();
        let mut log = Vec::new();
        let said = |said: &str, effect: &str| ActivityKind::TelegramSaid {
            account: account.to_string(),
            said: said.to_string(),
            effect: effect.to_string(),
        };
        match result {
            // Already recorded from its echo in the update stream.
            SendResult::Sent(_) if msg.delivery != Delivery::Queued => {}
            SendResult::Sent(sent) => {
                let mut sent_at = None;
                if let Sent::Message { id, at } = sent {
                    msg.tg_id = Some(id);
                    msg.at = at;
                    sent_at = Some(at);
                    self.raw_put(Raw::TgMessages, tg_key(account, id), Some(mk.clone()));
                }
                msg.delivery = Delivery::Sent;
                self.campaign_sent(&ws, &msg, sent_at)?;
                let c = &mut lead.conversation;
                c.sent += 1;
                c.last_message_at = Some(c.last_message_at.unwrap_or(0).max(msg.at));
            }
            SendResult::Skipped(why) => msg.delivery = Delivery::Failed(why),
            SendResult::Refused(err) => {
                msg.delivery = Delivery::Failed(err.to_string());
                let from = lead.status;
                match &err {
                    TgError::UserBlocked => {
                        lead.status = Status::Blocked;
                        lead.conversation.blocked_by = Some(BlockCause::TheyBlockedUs);
                        log.push(said("USER_IS_BLOCKED", &format!("the lead blocked us: status {from} → blocked")));
                    }
                    TgError::YouBlockedUser => {
                        lead.status = Status::Blocked;
                        lead.conversation.blocked_by = Some(BlockCause::WeBlockedThem);
                        let effect = format!(
                            "we blocked the lead in Telegram: status {from} → blocked; unblock them there, then here"
                        );
                        log.push(said("YOU_BLOCKED_USER", &effect));
                    }
                    TgError::PrivacyRestricted(name) => {
                        let why =
                            if name.contains("PREMIUM") { CantMessage::PremiumRequired } else { CantMessage::Privacy };
                        lead.conversation.cant_message = Some(why);
                        log.push(said(name, "flagged can't be messaged"));
                    }
                    TgError::UserDeactivated => {
                        lead.status = Status::Archived;
                        let effect = format!("the Telegram account was deleted: status {from} → archived");
                        log.push(said("INPUT_USER_DEACTIVATED", &effect));
                    }
                    other => log.push(said(&other.to_string(), "the message failed")),
                }
            }
        }
        self.put_message(&ws, &msg);
        if lead != before || !log.is_empty() {
            lead.updated_at = self.now;
            self.commit_lead(ctx, lead_id, lead, log);
        }
        // After the lead's new state: a message reach held back because the lead became blocked
        // or archived since it was queued is a skip by that rule; Telegram's refusal a failure.
        if let Delivery::Failed(why) = &msg.delivery {
            let why = why.clone();
            self.campaign_failed(&ws, &msg, &why, held_back)?;
        }
        Ok(Outcome::Recorded { id: message })
    }

    fn imported(
        &mut self,
        ctx: &WriteCtx,
        user: u64,
        account: &str,
        m: ImportedMessage,
    ) -> Result<Outcome, StoreError> {
        let ws = ctx.workspace.clone();
        let Some(id) = self.find_user_id(&ws, user)? else {
            let why = "no lead has this user id (the chat's lead was rejected)";
            return Ok(Outcome::Rejected(LeadError::invalid("telegram_user_id", &user.to_string(), why)));
        };
        let tk = tg_key(account, m.tg_id);
        if let Some(k) = self.raw_get(Raw::TgMessages, &tk)? {
            let known = self.message_at(&k)?.map(|msg| msg.lead);
            // The key points into the chat's own thread: the same message, imported before.
            if known.is_none_or(|lead| lead == id) {
                return Ok(Outcome::Unchanged { id });
            }
            let why = format!("{account} already has message {} in another chat", m.tg_id);
            return Ok(Outcome::Rejected(LeadError::invalid("id", &m.tg_id.to_string(), why)));
        }
        let msg_id = self.next_message();
        // A dry run counts, and keeps nothing per message: its memory stays bounded on a large export.
        if self.dry {
            return Ok(Outcome::Recorded { id: msg_id });
        }
        let Some(lead) = self.load(&ws, id)? else { return Ok(Outcome::Rejected(not_found(id))) };
        let mut lead = lead.clone();
        let msg = Message {
            id: msg_id,
            lead: id,
            account: account.to_string(),
            direction: if m.out { Direction::Out } else { Direction::In },
            text: m.text,
            at: m.at,
            tg_id: Some(m.tg_id),
            delivery: if m.out { Delivery::Sent } else { Delivery::Received },
            random_id: 0,
            by: account.to_string(),
            campaign: None,
            edited: m.edited,
            deleted: false,
        };
        self.put_message(&ws, &msg);
        self.raw_put(Raw::TgMessages, tk, Some(message_key(&ws, id, msg_id)));
        // History read in Telegram already: counted, but not unread.
        let c = &mut lead.conversation;
        c.last_message_at = Some(c.last_message_at.unwrap_or(0).max(m.at));
        if m.out {
            c.sent += 1;
        } else {
            c.received += 1;
            c.replied |= c.sent > 0;
        }
        lead.updated_at = self.now;
        self.commit_lead(ctx, id, lead, Vec::new());
        Ok(Outcome::Recorded { id: msg_id })
    }

    /// A deleted lead's messages, their Telegram ids and its queued sends go with it.
    pub(super) fn drop_thread(&mut self, ws: &str, lead: u64) -> Result<(), StoreError> {
        self.drop_recipients(ws, lead)?;
        for msg in self.thread(ws, lead)? {
            self.raw_put(Raw::Messages, message_key(ws, lead, msg.id), None);
            if let Some(tg) = msg.tg_id {
                self.raw_put(Raw::TgMessages, tg_key(&msg.account, tg), None);
            }
            if msg.delivery == Delivery::Queued {
                self.raw_put(Raw::Outbox, account_key(&msg.account, &msg.id.to_be_bytes()), None);
            }
        }
        Ok(())
    }
}

/// The lead a Telegram user is, as a candidate for the dedup upsert.
fn candidate_of(peer: &Member) -> Option<Candidate> {
    let input = |username: Option<String>| LeadInput {
        telegram_user_id: Some(peer.user_id.to_string()),
        username,
        phone: peer.phone.as_ref().map(|p| format!("+{}", p.trim_start_matches('+'))),
        first_name: Some(peer.first_name.clone()),
        last_name: Some(peer.last_name.clone()),
        language: peer.lang_code.clone(),
        ..Default::default()
    };
    // Telegram's fields are Telegram's: one reach refuses (an odd language code) is dropped, the
    // user id alone still identifies the lead.
    input(peer.username.clone())
        .validate(Source::Interaction, None)
        .or_else(|_| LeadInput { language: None, ..input(peer.username.clone()) }.validate(Source::Interaction, None))
        .or_else(|_| LeadInput { language: None, ..input(None) }.validate(Source::Interaction, None))
        .ok()
}

/// Telegram's random id for a send: unique per message and unpredictable, stored before the send.
fn random_id(path: &std::path::Path, message: u64, now: Millis) -> i64 {
    let mut h = blake3::Hasher::new();
    h.update(path.as_os_str().as_encoded_bytes());
    h.update(&message.to_le_bytes());
    h.update(&now.to_le_bytes());
    h.update(&std::process::id().to_le_bytes());
    let mut b = [0u8; 8];
    b.copy_from_slice(&h.finalize().as_bytes()[..8]);
    // Zero marks "no random id" on incoming messages.
    match i64::from_le_bytes(b) {
        0 => 1,
        v => v,
    }
}
