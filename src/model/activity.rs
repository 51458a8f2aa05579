use std::fmt;

use serde::{Deserialize, Serialize};

use super::{format_millis, Millis, Priority, Source, Status};

/// One entry of a lead's append-only history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activity {
    pub at: Millis,
    pub actor: String,
    pub kind: ActivityKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKey {
    Id,
    TelegramUserId,
    Username,
    Phone,
}

impl fmt::Display for MatchKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MatchKey::Id => "lead id",
            MatchKey::TelegramUserId => "telegram user id",
            MatchKey::Username => "username",
            MatchKey::Phone => "phone",
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub old: String,
    pub new: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    Created {
        source: Source,
        import: Option<u64>,
    },
    /// Dedup matched an existing lead and merged the incoming record into it.
    Merged {
        source: Source,
        matched_on: MatchKey,
        import: Option<u64>,
    },
    FieldsUpdated {
        changes: Vec<FieldChange>,
    },
    StatusChanged {
        from: Status,
        to: Status,
    },
    PriorityChanged {
        from: Priority,
        to: Priority,
    },
    TagsChanged {
        added: Vec<String>,
        removed: Vec<String>,
    },
    NoteAdded {
        text: String,
    },
    /// An incoming identifier belongs to another lead (or contradicts this one); nothing was fused.
    Conflict {
        field: String,
        value: String,
        other_lead: Option<u64>,
    },
    /// The lead was seen as a member of a Telegram group or channel.
    Sighted {
        group: String,
    },
    MessageSent {
        text: String,
    },
    MessageReceived {
        text: String,
    },
    /// A lead that existed already wrote to one of our accounts for the first time.
    WroteToUs {
        account: String,
    },
    /// Telegram's answer to a send changed the lead (or failed the message).
    TelegramSaid {
        account: String,
        said: String,
        effect: String,
    },
    DoNotContact {
        set: bool,
        why: String,
    },
    /// The lead wrote back after a campaign's message.
    CampaignReplied {
        campaign: String,
    },
}

impl fmt::Display for Activity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}  {:<10} {}", format_millis(self.at), self.actor, self.kind)
    }
}

impl fmt::Display for ActivityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let import = |i: &Option<u64>| i.map(|i| format!(" (import #{i})")).unwrap_or_default();
        match self {
            ActivityKind::Created { source, import: i } => write!(f, "created from {source}{}", import(i)),
            ActivityKind::Merged { source, matched_on, import: i } => {
                write!(f, "merged by dedup from {source}, matched on {matched_on}{}", import(i))
            }
            ActivityKind::FieldsUpdated { changes } => {
                let parts: Vec<String> =
                    changes.iter().map(|c| format!("{}: {} → {}", c.field, show(&c.old), show(&c.new))).collect();
                write!(f, "updated {}", parts.join("; "))
            }
            ActivityKind::StatusChanged { from, to } => write!(f, "status {from} → {to}"),
            ActivityKind::PriorityChanged { from, to } => write!(f, "priority {from} → {to}"),
            ActivityKind::TagsChanged { added, removed } => {
                let mut parts: Vec<String> = added.iter().map(|t| format!("+{t}")).collect();
                parts.extend(removed.iter().map(|t| format!("-{t}")));
                write!(f, "tags {}", parts.join(" "))
            }
            ActivityKind::NoteAdded { text } => write!(f, "note: {text}"),
            ActivityKind::Conflict { field, value, other_lead } => match other_lead {
                Some(other) => write!(f, "conflict: {field} {value} belongs to lead #{other}; not merged"),
                None => write!(f, "conflict: {field} {value} differs from the stored one; kept the stored value"),
            },
            ActivityKind::Sighted { group } => write!(f, "seen in {group}"),
            ActivityKind::MessageSent { text } => write!(f, "message sent: {text}"),
            ActivityKind::MessageReceived { text } => write!(f, "message received: {text}"),
            ActivityKind::WroteToUs { account } => write!(f, "wrote to {account}"),
            ActivityKind::TelegramSaid { account, said, effect } => {
                write!(f, "{account}: telegram said {said}; {effect}")
            }
            ActivityKind::DoNotContact { set: true, why } => write!(f, "marked do-not-contact: {why}"),
            ActivityKind::DoNotContact { set: false, why } => write!(f, "do-not-contact lifted: {why}"),
            ActivityKind::CampaignReplied { campaign } => write!(f, "replied to campaign {campaign}"),
        }
    }
}

fn show(v: &str) -> &str {
    if v.is_empty() {
        "∅"
    } else {
        v
    }
}
