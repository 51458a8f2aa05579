//! Workspaces: every user's personal workspace, and organizations with owner/admin/member roles.
//! The rules are pure functions here; the store enforces them inside its write transactions.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::model::Millis;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Admin,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "member" => Ok(Role::Member),
            _ => Err("expected owner, admin or member".into()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Org {
    /// As created (display form); the key is its lowercase.
    pub name: String,
    pub members: BTreeMap<String, Role>,
    pub members_can_view_all: bool,
    pub created_at: Millis,
    pub created_by: String,
}

impl Org {
    pub fn role_of(&self, user: &str) -> Option<Role> {
        self.members.get(user).copied()
    }

    pub fn owners(&self) -> usize {
        self.members.values().filter(|r| **r == Role::Owner).count()
    }
}

/// Which workspace a command acts in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Workspace {
    Personal(String),
    Org(String),
}

impl Workspace {
    /// The store key prefix: `u:alice` or `o:acme`.
    pub fn key(&self) -> String {
        match self {
            Workspace::Personal(u) => format!("u:{u}"),
            Workspace::Org(o) => format!("o:{}", o.to_lowercase()),
        }
    }

    pub fn from_key(key: &str) -> Option<Workspace> {
        match key.split_once(':')? {
            ("u", u) => Some(Workspace::Personal(u.to_string())),
            ("o", o) => Some(Workspace::Org(o.to_string())),
            _ => None,
        }
    }
}

impl fmt::Display for Workspace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Workspace::Personal(u) => write!(f, "personal ({u})"),
            Workspace::Org(o) => write!(f, "{o}"),
        }
    }
}

/// Org names: 1-64 letters, digits, '.', '_' or '-'; "personal" is reserved for the personal workspace.
pub fn validate_org_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_alphanumeric() || "._-".contains(c))
        && !name.eq_ignore_ascii_case("personal");
    if ok {
        Ok(())
    } else {
        Err(format!("org name {name:?}: 1-64 letters, digits, '.', '_' or '-', and not \"personal\""))
    }
}

/// What the acting user is in a workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Their own personal workspace.
    Personal,
    Org {
        role: Role,
        members_can_view_all: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "snake_case")]
pub enum View {
    /// The leads the user created: the default view.
    #[default]
    Own,
    /// Every lead of the workspace.
    All,
}

/// A refused action, naming the rule that refused it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("permission denied: {0}")]
pub struct Denied(pub String);

/// The rule table of the product, as functions. "Own" leads are the ones the user created.
pub mod rules {
    use super::{Access, Denied, Role, View};

    pub fn view(access: Access, view: View) -> Result<(), Denied> {
        match (access, view) {
            (_, View::Own) | (Access::Personal, View::All) => Ok(()),
            (Access::Org { role: Role::Owner | Role::Admin, .. }, View::All) => Ok(()),
            (Access::Org { role: Role::Member, members_can_view_all: true }, View::All) => Ok(()),
            (Access::Org { role: Role::Member, members_can_view_all: false }, View::All) => Err(Denied(
                "members see only the leads they created unless the organization sets members_can_view_all=true".into(),
            )),
        }
    }

    /// Whether the user may see a lead created by `created_by`.
    pub fn view_lead(access: Access, user: &str, created_by: &str) -> Result<(), Denied> {
        if created_by == user {
            return Ok(());
        }
        view(access, View::All)
    }

    /// Any member of an organization may edit any of its leads; a personal workspace is its owner's.
    pub fn edit(_access: Access) -> Result<(), Denied> {
        Ok(())
    }

    pub fn delete(access: Access, user: &str, created_by: &str) -> Result<(), Denied> {
        match access {
            Access::Personal | Access::Org { role: Role::Owner | Role::Admin, .. } => Ok(()),
            Access::Org { role: Role::Member, .. } if created_by == user => Ok(()),
            Access::Org { role: Role::Member, .. } => Err(Denied(format!(
                "members may delete only the leads they created; this one was created by {created_by}"
            ))),
        }
    }

    /// Managing members and settings takes an owner or an admin; only an owner grants or takes the
    /// owner role, and the last owner cannot be removed or demoted.
    pub fn manage(role: Option<Role>) -> Result<Role, Denied> {
        match role {
            Some(r @ (Role::Owner | Role::Admin)) => Ok(r),
            Some(Role::Member) => Err(Denied("only an owner or an admin can manage the organization".into())),
            None => Err(Denied("you are not a member of this organization".into())),
        }
    }

    pub fn change_role(actor: Role, from: Option<Role>, to: Option<Role>, owners: usize) -> Result<(), Denied> {
        let touches_owner = from == Some(Role::Owner) || to == Some(Role::Owner);
        if touches_owner && actor != Role::Owner {
            return Err(Denied("only an owner can grant or take the owner role".into()));
        }
        if from == Some(Role::Owner) && to != Some(Role::Owner) && owners <= 1 {
            return Err(Denied("the last owner cannot be removed or demoted; make someone else an owner first".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
