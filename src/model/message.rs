//! Conversations: a lead's messages with our accounts, and what the lead's thread says about
//! whether it can be written to.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{Lead, Millis, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The lead wrote to one of our accounts.
    In,
    /// One of our accounts wrote to the lead (from reach, or from another Telegram client).
    Out,
}

/// Where one of our messages stands. User accounts get no delivery receipts, so there is no
/// "delivered": a message is sent, then read when the lead opens the chat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delivery {
    /// In the outbox, waiting for its account's runner.
    Queued,
    Sent,
    Read,
    /// Telegram refused it (or reach did, just before sending), with the reason.
    Failed(String),
    /// An incoming message.
    Received,
}

impl fmt::Display for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Delivery::Queued => f.write_str("queued"),
            Delivery::Sent => f.write_str("sent"),
            Delivery::Read => f.write_str("read"),
            Delivery::Failed(why) => write!(f, "failed: {why}"),
            Delivery::Received => f.write_str("received"),
        }
    }
}

/// One message of a lead's thread with one of our accounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// reach's own id, global and increasing: the thread's order.
    pub id: u64,
    pub lead: u64,
    pub account: String,
    pub direction: Direction,
    pub text: String,
    /// When it was written (queued, for ours), then when Telegram says it was sent.
    pub at: Millis,
    /// Telegram's id, once it has one.
    pub tg_id: Option<i32>,
    pub delivery: Delivery,
    /// The id Telegram deduplicates sends by; stored before the send (zero for incoming).
    pub random_id: i64,
    /// Who queued it (a reach user), or the account for messages from elsewhere.
    pub by: String,
    pub campaign: Option<u64>,
    pub edited: bool,
    pub deleted: bool,
}

/// Why a lead is blocked, when Telegram said so: only a block Telegram reported
/// (USER_IS_BLOCKED) is lifted when the lead writes again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockCause {
    /// USER_IS_BLOCKED: the lead blocked our account.
    TheyBlockedUs,
    /// YOU_BLOCKED_USER: our account blocked the lead in Telegram; a person has to undo that.
    WeBlockedThem,
}

/// Telegram refuses our messages to the lead for a reason that is not a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CantMessage {
    /// USER_PRIVACY_RESTRICTED.
    Privacy,
    /// PRIVACY_PREMIUM_REQUIRED: only Premium users may write to them.
    PremiumRequired,
}

impl fmt::Display for CantMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CantMessage::Privacy => "their privacy settings refuse messages (USER_PRIVACY_RESTRICTED)",
            CantMessage::PremiumRequired => "only Premium users may write to them (PRIVACY_PREMIUM_REQUIRED)",
        })
    }
}

/// What a lead's conversations say about it, kept on the lead so lists, filters and the change
/// feed see it like any other field.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    /// Incoming messages nobody in the workspace has opened yet (a team shares one inbox).
    pub unread: u32,
    pub last_message_at: Option<Millis>,
    pub sent: u32,
    pub received: u32,
    /// The lead wrote to us after we had written to them.
    pub replied: bool,
    /// Set by a person, or by a reply matching a stop word: no send is made to the lead.
    pub do_not_contact: bool,
    pub cant_message: Option<CantMessage>,
    /// Set when Telegram's answer made the lead blocked; None when a person blocked it.
    pub blocked_by: Option<BlockCause>,
}

impl Lead {
    /// Why nothing may be sent to the lead, if anything forbids it.
    pub fn why_not_messageable(&self) -> Option<String> {
        let c = &self.conversation;
        match self.status {
            Status::Blocked => {
                return Some(match c.blocked_by {
                    Some(BlockCause::TheyBlockedUs) => "the lead blocked our account (USER_IS_BLOCKED)".into(),
                    Some(BlockCause::WeBlockedThem) => "our account blocked the lead in Telegram".into(),
                    None => "the lead is blocked".into(),
                })
            }
            Status::Archived => return Some("the lead is archived".into()),
            Status::Active => {}
        }
        if c.do_not_contact {
            return Some("the lead is marked do-not-contact".into());
        }
        if let Some(why) = c.cant_message {
            return Some(format!("the lead can't be messaged: {why}"));
        }
        if self.telegram_user_id.is_none() && self.username.is_none() {
            return Some("the lead has no Telegram user id or username to write to".into());
        }
        None
    }
}

/// Whether an incoming text asks us to stop writing: the whole message is a stop word, or a stop
/// word and one more ("STOP please"), case-insensitive. A longer sentence that starts with one
/// ("Stop by tomorrow?") is a conversation, not a request.
pub fn is_stop_request(text: &str, stop_words: &[String]) -> bool {
    let t = text.trim().to_lowercase();
    let t = t.trim_matches(|c: char| !c.is_alphanumeric());
    let words: Vec<&str> = t.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).collect();
    stop_words.iter().any(|w| {
        let w = w.trim().to_lowercase();
        !w.is_empty() && (t == w || (words.len() == 2 && words[0] == w))
    })
}

/// The stop words used when the config names none.
pub fn default_stop_words() -> Vec<String> {
    ["stop", "unsubscribe", "стоп", "отписаться", "не пишите", "спам"].iter().map(|s| s.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_words_match_whole_replies_and_first_words_only() {
        let w = default_stop_words();
        assert!(is_stop_request("STOP", &w));
        assert!(is_stop_request("stop please", &w));
        assert!(is_stop_request("Стоп!", &w));
        assert!(is_stop_request("не пишите", &w));
        assert!(!is_stop_request("don't stop writing", &w), "a stop word inside a sentence is not a request");
        assert!(!is_stop_request("stopwatch for sale?", &w));
        assert!(!is_stop_request("Stop by tomorrow?", &w), "a sentence is a conversation");
        assert!(!is_stop_request("", &w));
    }
}
