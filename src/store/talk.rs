//! Conversations in the store: messages, each account's outbox and its peers, and the reads the
//! runner, the CLI and the TUI make of them. Writes are `WriteOp`s like every other.

use redb::ReadableDatabase;
use serde::{Deserialize, Serialize};

use super::schema::*;
use super::{decode, AtPath, Store, StoreError};
use crate::model::Message;
use crate::telegram::{Sent, TgError, TgUpdate, UserRef};

/// One thing an account's runner has to do, in the order it was queued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxItem {
    pub workspace: String,
    pub lead: u64,
    pub kind: OutboxKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutboxKind {
    /// Send the message with this id.
    Send { message: u64 },
    /// Tell Telegram the chat was read up to this message.
    ReadReceipt { max_id: i32 },
}

/// An account's reference to a user, as it last saw them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peer {
    pub access_hash: i64,
}

/// What the runner reports back about one outbox send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendResult {
    Sent(Sent),
    /// Telegram refused it for good; the error decides what happens to the lead.
    Refused(TgError),
    /// Reach did not send it: the lead cannot be messaged any more (blocked, archived, do-not-contact).
    Skipped(String),
}

/// Ops of conversations; see `WriteOp::Talk`.
#[derive(Debug, Clone)]
pub enum TalkOp {
    /// Queues a message to a lead from an account. Refused, naming why, when the lead cannot be
    /// messaged. Answers `Recorded { id }` with the message id.
    Enqueue { lead: u64, account: String, text: String, campaign: Option<u64> },
    /// What an account's update stream said. `stop`: an incoming text asks us to stop writing.
    Heard { account: String, update: TgUpdate, stop: bool },
    /// The outcome of the outbox item `seq` of `account`, which sent message `message`.
    Settle { account: String, seq: u64, message: u64, lead: u64, result: SendResult },
    /// Drops an outbox item that needs nothing more (a read receipt sent, a lead gone).
    Done { account: String, seq: u64 },
    /// The thread was opened: the lead's unread count goes to zero; with `receipt`, the account
    /// that received the last incoming message is asked to tell Telegram.
    MarkRead { lead: u64, receipt: bool },
    /// Remembers an account's reference to a user.
    Peer { account: String, user: UserRef },
    /// A person marks a lead do-not-contact, or lifts it.
    DoNotContact { lead: u64, value: bool },
    /// An account is removed: its queued messages fail saying so, and its Telegram message ids
    /// and peers go (a new account of the same name numbers its messages anew).
    ForgetAccount { account: String },
    /// A message read from a file (a Telegram Desktop export) into the thread of the lead with
    /// Telegram user id `user`, as `account`'s. Recorded once: the key is the account and the
    /// message's Telegram id (one sequence over all of a user's private chats, as the runner's),
    /// so importing it again, or the runner hearing it, changes nothing. Answers `Recorded { id }`
    /// for a new message, `Unchanged { id: lead }` for a known one.
    Imported { user: u64, account: String, message: ImportedMessage },
}

/// One message of an imported chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedMessage {
    pub tg_id: i32,
    /// Written by the account (the exporting user), else by the lead.
    pub out: bool,
    pub text: String,
    pub at: crate::model::Millis,
    pub edited: bool,
}

/// `account ∅ n` (n big-endian): keys of the tables kept per account.
pub(super) fn account_key(account: &str, n: &[u8]) -> Vec<u8> {
    key(account, n)
}

/// `ws ∅ lead message`: a message's key; a thread is the range of its lead.
pub(super) fn message_key(ws: &str, lead: u64, message: u64) -> Vec<u8> {
    let mut rest = [0u8; 16];
    rest[..8].copy_from_slice(&lead.to_be_bytes());
    rest[8..].copy_from_slice(&message.to_be_bytes());
    key(ws, &rest)
}

/// The key range of a lead's thread.
pub(super) fn thread_range(ws: &str, lead: u64) -> (Vec<u8>, Vec<u8>) {
    (message_key(ws, lead, 0), message_key(ws, lead, u64::MAX))
}

pub(super) fn tg_key(account: &str, tg_id: i32) -> Vec<u8> {
    account_key(account, &(tg_id as u32).to_be_bytes())
}

impl Store {
    /// A lead's messages with every account, oldest first.
    pub fn thread(&self, workspace: &str, lead: u64) -> Result<Vec<Message>, StoreError> {
        let p = self.path.as_path();
        let txn = self.db.begin_read().at(p)?;
        let table = txn.open_table(MESSAGES).at(p)?;
        let (lo, hi) = thread_range(workspace, lead);
        let mut out = Vec::new();
        for row in table.range(lo.as_slice()..=hi.as_slice()).at(p)? {
            let (_, v) = row.at(p)?;
            out.push(decode(v.value(), p)?);
        }
        Ok(out)
    }

    pub fn message(&self, workspace: &str, lead: u64, id: u64) -> Result<Option<Message>, StoreError> {
        let p = self.path.as_path();
        let txn = self.db.begin_read().at(p)?;
        let table = txn.open_table(MESSAGES).at(p)?;
        let found = table.get(message_key(workspace, lead, id).as_slice()).at(p)?;
        found.map(|v| decode(v.value(), p)).transpose()
    }

    /// An account's outbox, oldest first: (sequence, item).
    pub fn outbox(&self, account: &str) -> Result<Vec<(u64, OutboxItem)>, StoreError> {
        let p = self.path.as_path();
        let txn = self.db.begin_read().at(p)?;
        let table = txn.open_table(OUTBOX).at(p)?;
        let (lo, hi) = ws_range(account);
        let mut out = Vec::new();
        for row in table.range(lo.as_slice()..hi.as_slice()).at(p)? {
            let (k, v) = row.at(p)?;
            let rest = key_rest(k.value());
            let seq = rest.try_into().map(u64::from_be_bytes).unwrap_or(0);
            out.push((seq, decode(v.value(), p)?));
        }
        Ok(out)
    }

    /// The access hash `account` has for a user, if it ever saw them.
    pub fn peer(&self, account: &str, user_id: u64) -> Result<Option<Peer>, StoreError> {
        let p = self.path.as_path();
        let txn = self.db.begin_read().at(p)?;
        let table = txn.open_table(PEERS).at(p)?;
        let found = table.get(account_key(account, &user_id.to_be_bytes()).as_slice()).at(p)?;
        found.map(|v| decode(v.value(), p)).transpose()
    }
}
