//! Campaigns: a templated message (and follow-ups) to a fixed audience, sent by the account
//! runners through their outboxes, paced per account, stopped by replies.
//!
//! A campaign is a record; each recipient is a row of its own with a persisted state, so a
//! campaign survives kill -9 anywhere: the dispatch that queues a step and the recipient's new
//! state commit together, and the outbox's random id makes the send itself safe to repeat.

pub mod audience;
pub mod pace;
pub mod template;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::model::Millis;
use crate::store::Filter;

/// One message of the sequence: the first (`after_days` 0) or a follow-up sent that many days
/// after the previous step, if the lead has not replied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub after_days: u32,
    pub text: String,
    /// (language, text): the lead's language picks one; else `text`.
    pub by_language: Vec<(String, String)>,
}

impl Step {
    /// The template for a lead of `language` and the variant's name: the language's own
    /// (exact, else its primary subtag: pt-BR falls back to pt), else the default.
    pub fn for_language(&self, language: Option<&str>) -> (&str, Option<String>) {
        let Some(lang) = language else { return (&self.text, None) };
        let primary = lang.split('-').next().unwrap_or(lang);
        self.by_language
            .iter()
            .find(|(l, _)| l == lang)
            .or_else(|| self.by_language.iter().find(|(l, _)| l == primary))
            .map_or((&self.text, None), |(l, t)| (t.as_str(), Some(l.clone())))
    }
}

/// Who the campaign is for, resolved into a snapshot at launch.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Audience {
    /// A saved segment, by name (its definition at launch).
    pub segment: Option<String>,
    pub filter: Filter,
    pub query: Option<String>,
    /// The file the audience was imported from, if any (its leads carry `tag`).
    pub file: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pacing {
    /// Sends per account per hour, spread evenly (one every 3600/N seconds, plus jitter).
    pub per_hour: Option<u32>,
    /// Sends per account per day (the campaign's time zone's day).
    pub per_day: Option<u32>,
    /// Up to this much more between two sends of one account.
    pub jitter_ms: u64,
    /// Local hours (start, end) in the time zone in which nothing is queued, e.g. (22, 8).
    pub quiet_hours: Option<(u32, u32)>,
    /// IANA name, e.g. Europe/Berlin.
    pub timezone: String,
    pub start_at: Option<Millis>,
    /// A lead gets at most one campaign message in this many days, whichever campaign sends it.
    pub period_days: u32,
}

impl Default for Pacing {
    /// No caps of its own (the runner's pacing and first-contact cap still hold), this machine's
    /// time zone, and one campaign message per lead per week.
    fn default() -> Pacing {
        Pacing {
            per_hour: None,
            per_day: None,
            jitter_ms: 0,
            quiet_hours: None,
            timezone: pace::local_zone_name(),
            start_at: None,
            period_days: 7,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CampaignState {
    Draft,
    /// The audience is being written; a launch that was killed goes on from here when run again.
    Launching,
    Running,
    Paused,
    Cancelled,
    Done,
}

impl fmt::Display for CampaignState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CampaignState::Draft => "draft",
            CampaignState::Launching => "launching",
            CampaignState::Running => "running",
            CampaignState::Paused => "paused",
            CampaignState::Cancelled => "cancelled",
            CampaignState::Done => "done",
        })
    }
}

/// One account's pace in one campaign.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountPace {
    /// The local day `today` counts, and how many were queued on it.
    pub day: i64,
    pub today: u32,
    pub last_at: Option<Millis>,
    /// The pause after `last_at` before the next one: the hourly spread plus this send's jitter.
    pub gap_ms: u64,
    pub total: u64,
    /// Set by a circuit breaker (a long flood wait): nothing is queued from this account until a
    /// person resumes the campaign or the account.
    pub breaker: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Campaign {
    pub id: u64,
    pub name: String,
    pub created_by: String,
    pub created_at: Millis,
    pub audience: Audience,
    /// The first message, then the follow-ups.
    pub steps: Vec<Step>,
    pub accounts: Vec<String>,
    pub pacing: Pacing,
    pub state: CampaignState,
    pub launched_at: Option<Millis>,
    pub ended_at: Option<Millis>,
    pub tally: Tally,
    pub pace: BTreeMap<String, AccountPace>,
    /// Recipients written so far, in audience order (the next one's account is picked from it).
    pub enrolled: u64,
}

impl Campaign {
    /// The seed of a step's spintax: a re-render of the same lead and step gives the same text.
    pub fn seed(&self, step: usize) -> u64 {
        self.id.wrapping_mul(1_000_003).wrapping_add(step as u64)
    }

    pub fn is_live(&self) -> bool {
        matches!(self.state, CampaignState::Running | CampaignState::Paused | CampaignState::Launching)
    }
}

/// Why a recipient got no message (or no further step).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    Blocked,
    Archived,
    DoNotContact,
    CantMessage,
    NoIdentifier,
    /// The lead wrote to us since the campaign was launched (or since the last step).
    Replied,
    /// Another campaign's message reached the lead within the period.
    RecentCampaign(String),
    /// The template needs a value the lead does not have.
    MissingField(String),
    Deleted,
    Cancelled,
}

impl SkipReason {
    /// The reason's group in the statistics.
    pub fn key(&self) -> &'static str {
        match self {
            SkipReason::Blocked => "blocked",
            SkipReason::Archived => "archived",
            SkipReason::DoNotContact => "do_not_contact",
            SkipReason::CantMessage => "cant_message",
            SkipReason::NoIdentifier => "no_identifier",
            SkipReason::Replied => "replied",
            SkipReason::RecentCampaign(_) => "recent_campaign",
            SkipReason::MissingField(_) => "missing_field",
            SkipReason::Deleted => "deleted",
            SkipReason::Cancelled => "cancelled",
        }
    }

    /// A statistics group (`key`) in words.
    pub fn describe_key(key: &str) -> &'static str {
        match key {
            "blocked" => "blocked our account",
            "archived" => "archived",
            "do_not_contact" => "marked do-not-contact",
            "cant_message" => "can't be messaged",
            "no_identifier" => "no Telegram user id or username",
            "replied" => "replied before their message went",
            "recent_campaign" => "had another campaign's message within the period",
            "missing_field" => "no value for a template variable",
            "deleted" => "lead deleted",
            "cancelled" => "campaign cancelled",
            _ => "other",
        }
    }

    /// Why a lead may not be written to, by the status rules (see `Lead::why_not_messageable`).
    pub fn of_lead(l: &crate::model::Lead) -> Option<SkipReason> {
        use crate::model::Status;
        Some(match l.status {
            Status::Blocked => SkipReason::Blocked,
            Status::Archived => SkipReason::Archived,
            Status::Active if l.conversation.do_not_contact => SkipReason::DoNotContact,
            Status::Active if l.conversation.cant_message.is_some() => SkipReason::CantMessage,
            Status::Active if l.telegram_user_id.is_none() && l.username.is_none() => SkipReason::NoIdentifier,
            Status::Active => return None,
        })
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Blocked => f.write_str("blocked"),
            SkipReason::Archived => f.write_str("archived"),
            SkipReason::DoNotContact => f.write_str("do-not-contact"),
            SkipReason::CantMessage => f.write_str("can't be messaged"),
            SkipReason::NoIdentifier => f.write_str("no Telegram user id or username"),
            SkipReason::Replied => f.write_str("replied"),
            SkipReason::RecentCampaign(c) => write!(f, "had a campaign message from {c} within the period"),
            SkipReason::MissingField(v) => write!(f, "no value for {v}"),
            SkipReason::Deleted => f.write_str("lead deleted"),
            SkipReason::Cancelled => f.write_str("campaign cancelled"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipientState {
    /// Waiting for its turn (or, after a step, for the next one's day).
    Pending,
    /// Its step is in the account's outbox.
    Queued,
    Sent,
    Read,
    Replied,
    Failed(String),
    Skipped(SkipReason),
}

impl RecipientState {
    pub const BUCKETS: [&'static str; 7] = ["pending", "queued", "sent", "read", "replied", "failed", "skipped"];

    pub fn bucket(&self) -> usize {
        match self {
            RecipientState::Pending => 0,
            RecipientState::Queued => 1,
            RecipientState::Sent => 2,
            RecipientState::Read => 3,
            RecipientState::Replied => 4,
            RecipientState::Failed(_) => 5,
            RecipientState::Skipped(_) => 6,
        }
    }
}

impl fmt::Display for RecipientState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecipientState::Failed(why) => write!(f, "failed: {why}"),
            RecipientState::Skipped(why) => write!(f, "skipped: {why}"),
            other => f.write_str(RecipientState::BUCKETS[other.bucket()]),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    pub lead: u64,
    pub account: String,
    /// The language whose template the lead gets; None: the default one.
    pub variant: Option<String>,
    /// Steps sent so far; the next step to send is this one.
    pub steps_sent: u8,
    pub state: RecipientState,
    /// The message of a step in the outbox, until Telegram's answer settles it.
    pub queued: Option<u64>,
    /// The message of the last step sent.
    pub last_message: Option<u64>,
    /// When the next step may go (None: nothing more to send).
    pub due: Option<Millis>,
    pub queued_at: Option<Millis>,
    pub sent_at: Option<Millis>,
    pub read_at: Option<Millis>,
    pub replied_at: Option<Millis>,
    /// Why the follow-ups stopped early, after the first message went.
    pub ended: Option<String>,
}

impl Recipient {
    pub fn variant_name(&self) -> &str {
        self.variant.as_deref().unwrap_or("default")
    }
}

/// Counts of recipients by state bucket (`RecipientState::BUCKETS`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts(pub [u32; 7]);

impl Counts {
    pub fn get(&self, bucket: &str) -> u32 {
        RecipientState::BUCKETS.iter().position(|b| *b == bucket).map_or(0, |i| self.0[i])
    }

    pub fn total(&self) -> u32 {
        self.0.iter().sum()
    }

    /// Recipients who got at least one message: sent, read or replied.
    pub fn messaged(&self) -> u32 {
        self.0[2] + self.0[3] + self.0[4]
    }

    /// Replies per recipient messaged, in percent.
    pub fn reply_rate(&self) -> f64 {
        match self.messaged() {
            0 => 0.0,
            n => f64::from(self.0[4]) * 100.0 / f64::from(n),
        }
    }
}

/// A campaign's statistics, kept up to date in the transaction that changes a recipient, so
/// they always equal a recount of the recipients' states.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tally {
    pub all: Counts,
    pub by_account: BTreeMap<String, Counts>,
    pub by_variant: BTreeMap<String, Counts>,
    /// Skipped recipients by `SkipReason::key`.
    pub skipped: BTreeMap<String, u32>,
    /// Messages sent, follow-ups included.
    pub messages: u32,
}

impl Tally {
    fn apply(&mut self, r: &Recipient, add: bool) {
        let b = r.state.bucket();
        let bump = |c: &mut Counts| {
            c.0[b] = if add { c.0[b] + 1 } else { c.0[b].saturating_sub(1) };
        };
        bump(&mut self.all);
        bump(self.by_account.entry(r.account.clone()).or_default());
        bump(self.by_variant.entry(r.variant_name().to_string()).or_default());
        if let RecipientState::Skipped(why) = &r.state {
            let n = self.skipped.entry(why.key().to_string()).or_default();
            *n = if add { *n + 1 } else { n.saturating_sub(1) };
            if *n == 0 {
                self.skipped.remove(why.key());
            }
        }
    }

    /// A recipient changes from `old` (None: new) to `new`.
    pub fn change(&mut self, old: Option<&Recipient>, new: &Recipient) {
        if let Some(o) = old {
            self.apply(o, false);
        }
        self.apply(new, true);
    }

    /// The tally of these recipients, counted afresh.
    pub fn recount<'a>(recipients: impl IntoIterator<Item = &'a Recipient>) -> Tally {
        let mut t = Tally::default();
        for r in recipients {
            t.apply(r, true);
            t.messages += u32::from(r.steps_sent);
        }
        t
    }
}

impl Campaign {
    /// The text of step `step` for `lead`, or why it cannot be written (a value the template
    /// needs and the lead lacks, or a template that no longer parses).
    pub fn render(&self, step: usize, lead: &crate::model::Lead) -> Result<String, SkipReason> {
        let Some(s) = self.steps.get(step) else { return Err(SkipReason::MissingField(format!("step {}", step + 1))) };
        let (text, _) = s.for_language(lead.language.as_deref());
        let t = template::Template::parse(text).map_err(|e| SkipReason::MissingField(e.to_string()))?;
        t.render(lead, self.seed(step)).map_err(|v| SkipReason::MissingField(v.to_string()))
    }

    /// A new recipient for `lead`: its account (the one the lead talked to last, of `talked`
    /// newest first, when the campaign has it; else the next in turn), its template variant, and
    /// whether the status rules or the template skip it.
    pub fn recipient_for(&self, lead: &crate::model::Lead, talked: &[String]) -> Recipient {
        let turn = (self.enrolled % self.accounts.len().max(1) as u64) as usize;
        let account =
            talked.iter().find(|a| self.accounts.contains(a)).or(self.accounts.get(turn)).cloned().unwrap_or_default();
        let variant = self.steps.first().and_then(|s| s.for_language(lead.language.as_deref()).1);
        let skip = SkipReason::of_lead(lead).or_else(|| self.render(0, lead).err());
        Recipient {
            lead: lead.id,
            account,
            variant,
            steps_sent: 0,
            due: skip.is_none().then_some(0),
            state: skip.map_or(RecipientState::Pending, RecipientState::Skipped),
            queued: None,
            last_message: None,
            queued_at: None,
            sent_at: None,
            read_at: None,
            replied_at: None,
            ended: None,
        }
    }
}

/// Campaign names are what people call them: printable, short, unique in a workspace.
pub fn validate_name(raw: &str) -> Result<String, String> {
    crate::model::validate_segment_name(raw).map_err(|e| e.replace("segment", "campaign"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_language_picks_its_template_then_its_primary_then_the_default() {
        let s = Step {
            after_days: 0,
            text: "Hi".into(),
            by_language: vec![("ru".into(), "Привет".into()), ("pt-BR".into(), "Oi".into())],
        };
        assert_eq!(s.for_language(Some("ru")), ("Привет", Some("ru".into())));
        assert_eq!(s.for_language(Some("ru-UA")), ("Привет", Some("ru".into())));
        assert_eq!(s.for_language(Some("pt-BR")), ("Oi", Some("pt-BR".into())));
        assert_eq!(s.for_language(Some("pt")), ("Hi", None));
        assert_eq!(s.for_language(None), ("Hi", None));
    }
}
