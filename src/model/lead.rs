use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::Millis;
use crate::normalize::Phone;

macro_rules! keyword_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                let want = s.trim().to_ascii_lowercase().replace('-', "_");
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == want)
                    .ok_or_else(|| {
                        let names: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                        format!("expected one of {}", names.join(", "))
                    })
            }
        }
    };
}

keyword_enum!(
    /// Where a lead first came from. Kept across merges.
    Source {
        Manual => "manual",
        Crawling => "crawling",
        FileUpload => "file_upload",
        Campaign => "campaign",
        Interaction => "interaction",
    }
);

keyword_enum!(
    /// Active leads can be messaged and count in statistics; blocked ones are excluded from campaigns;
    /// archived ones are also excluded from segments, with all their data kept.
    #[derive(Default)]
    Status {
        #[default]
        Active => "active",
        Blocked => "blocked",
        Archived => "archived",
    }
);

keyword_enum!(
    #[derive(Default)]
    Priority {
        High => "high",
        #[default]
        Medium => "medium",
        Low => "low",
    }
);

keyword_enum!(
    /// What a lead's conversations say, as filters: the inbox is the `unread` flag.
    Flag {
        Unread => "unread",
        DoNotContact => "do_not_contact",
        CantMessage => "cant_message",
    }
);

impl Lead {
    pub fn has_flag(&self, flag: Flag) -> bool {
        let c = &self.conversation;
        match flag {
            Flag::Unread => c.unread > 0,
            Flag::DoNotContact => c.do_not_contact,
            Flag::CantMessage => c.cant_message.is_some(),
        }
    }

    pub fn flags(&self) -> impl Iterator<Item = Flag> + '_ {
        Flag::ALL.iter().copied().filter(|f| self.has_flag(*f))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lead {
    pub id: u64,
    pub workspace: String,
    pub telegram_user_id: Option<u64>,
    pub username: Option<String>,
    pub phone: Option<Phone>,
    pub first_name: String,
    pub last_name: String,
    pub country: Option<String>,
    pub language: Option<String>,
    /// Path under the data dir; empty until a photo is fetched.
    pub photo: Option<String>,
    pub source: Source,
    pub status: Status,
    pub priority: Priority,
    /// The latest group where the lead was found; `groups` holds all of them.
    pub group_name: Option<String>,
    pub groups: BTreeSet<String>,
    pub tags: BTreeSet<String>,
    pub custom_fields: IndexMap<String, String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub created_by: String,
    /// The import that created the lead, if any.
    pub created_import: Option<u64>,
    /// Number of stored history entries (the "created" entry is derived from the fields above);
    /// the next entry's sequence number.
    pub history_len: u32,
    pub conversation: super::Conversation,
}

impl Lead {
    pub fn display_name(&self) -> String {
        let full = match (self.first_name.is_empty(), self.last_name.is_empty()) {
            (false, false) => format!("{} {}", self.first_name, self.last_name),
            (false, true) => self.first_name.clone(),
            (true, false) => self.last_name.clone(),
            (true, true) => String::new(),
        };
        if !full.is_empty() {
            return full;
        }
        if let Some(u) = &self.username {
            return format!("@{u}");
        }
        if let Some(p) = &self.phone {
            return p.display().to_string();
        }
        self.telegram_user_id.map(|id| format!("id {id}")).unwrap_or_default()
    }

    pub fn username_key(&self) -> Option<String> {
        self.username.as_ref().map(|u| u.to_ascii_lowercase())
    }

    pub fn phone_key(&self) -> Option<&str> {
        self.phone.as_ref().and_then(|p| p.e164.as_deref())
    }

    /// A standard field as a form shows and edits it (`EDITABLE` names them); None for another name.
    pub fn field_text(&self, field: &str) -> Option<String> {
        let o = |v: &Option<String>| v.clone().unwrap_or_default();
        Some(match field {
            "first_name" => self.first_name.clone(),
            "last_name" => self.last_name.clone(),
            "username" => o(&self.username),
            "phone_number" => self.phone.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
            "telegram_user_id" => self.telegram_user_id.map(|u| u.to_string()).unwrap_or_default(),
            "country" => o(&self.country),
            "language" => o(&self.language),
            "group_name" => o(&self.group_name),
            "tags" => self.tags.iter().cloned().collect::<Vec<_>>().join(", "),
            "status" => self.status.to_string(),
            "priority" => self.priority.to_string(),
            _ => return None,
        })
    }

    /// The first history entry, derived from the lead's own creation fields.
    pub fn created_entry(&self) -> super::Activity {
        super::Activity {
            at: self.created_at,
            actor: self.created_by.clone(),
            kind: super::ActivityKind::Created { source: self.source, import: self.created_import },
        }
    }
}
