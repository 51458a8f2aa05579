use anyhow::bail;
use clap::Subcommand;
use serde::Serialize;

use super::{print_json, table, Context};
use crate::store::{OrgOp, Outcome, WriteCtx, WriteOp};
use crate::workspace::{Org, Role, Workspace};

#[derive(Debug, Subcommand)]
pub enum OrgCmd {
    /// Create an organization; you become its owner
    Create { name: String },
    /// Add a member (owners and admins only; only an owner grants the owner role)
    AddMember {
        org: String,
        /// The user to add (named `member` so it cannot collide with the global --user)
        #[arg(value_name = "USER")]
        member: String,
        #[arg(long, default_value = "member")]
        role: Role,
    },
    /// Remove a member (owners and admins; the last owner cannot be removed)
    RemoveMember {
        org: String,
        #[arg(value_name = "USER")]
        member: String,
    },
    /// Change a member's role
    SetRole {
        org: String,
        #[arg(value_name = "USER")]
        member: String,
        #[arg(long)]
        role: Role,
    },
    /// Change a setting: members_can_view_all=true|false
    Set { org: String, setting: String },
    /// The organizations you belong to
    List,
    /// Members, roles and settings of an organization
    Show { org: String },
    /// Work in ORG (or `personal`) from now on, until changed
    Use {
        /// An organization name or `personal` (not `workspace`: that id is the global --workspace)
        #[arg(value_name = "ORG|personal")]
        target: String,
    },
}

#[derive(Serialize)]
struct OrgView<'a> {
    #[serde(flatten)]
    org: &'a Org,
    your_role: Option<Role>,
}

pub fn run(ctx: &Context, cmd: OrgCmd) -> anyhow::Result<()> {
    let store = ctx.open_store()?;
    let op = match cmd {
        OrgCmd::List => {
            let orgs = store.orgs_of(&ctx.user)?;
            if ctx.json {
                let views: Vec<OrgView> =
                    orgs.iter().map(|o| OrgView { org: o, your_role: o.role_of(&ctx.user) }).collect();
                return print_json(&views);
            }
            let current = ctx.workspace(&store)?;
            let mut rows = vec![vec![
                if current == Workspace::Personal(ctx.user.clone()) { "*" } else { "" }.to_string(),
                "personal".to_string(),
                "owner".to_string(),
                "1".to_string(),
            ]];
            for o in &orgs {
                rows.push(vec![
                    if current == Workspace::Org(o.name.to_lowercase()) { "*" } else { "" }.to_string(),
                    o.name.clone(),
                    o.role_of(&ctx.user).map(|r| r.to_string()).unwrap_or_default(),
                    o.members.len().to_string(),
                ]);
            }
            print!("{}", table::render(&["", "WORKSPACE", "ROLE", "MEMBERS"], &rows));
            return Ok(());
        }
        OrgCmd::Show { org } => {
            let Some(o) = store.org(&org)? else { bail!("no organization named {org:?}") };
            if o.role_of(&ctx.user).is_none() {
                bail!("permission denied: you are not a member of {}", o.name);
            }
            if ctx.json {
                return print_json(&OrgView { org: &o, your_role: o.role_of(&ctx.user) });
            }
            println!("{}  (members_can_view_all={}, created by {})", o.name, o.members_can_view_all, o.created_by);
            let rows: Vec<Vec<String>> = o.members.iter().map(|(u, r)| vec![u.clone(), r.to_string()]).collect();
            print!("{}", table::render(&["MEMBER", "ROLE"], &rows));
            return Ok(());
        }
        OrgCmd::Create { name } => OrgOp::Create { name },
        OrgCmd::AddMember { org, member, role } => OrgOp::AddMember { org, user: member, role },
        OrgCmd::RemoveMember { org, member } => OrgOp::RemoveMember { org, user: member },
        OrgCmd::SetRole { org, member, role } => OrgOp::SetRole { org, user: member, role },
        OrgCmd::Set { org, setting } => match setting.split_once('=') {
            Some(("members_can_view_all", v)) => match v.trim() {
                "true" => OrgOp::SetViewAll { org, value: true },
                "false" => OrgOp::SetViewAll { org, value: false },
                other => bail!("members_can_view_all={other:?}: expected true or false"),
            },
            _ => bail!("{setting:?}: the one setting is members_can_view_all=true|false"),
        },
        OrgCmd::Use { target } => {
            let ws = parse_workspace(&target, &ctx.user);
            OrgOp::Use { workspace: ws.key() }
        }
    };
    let what = format!("{op:?}");
    let ctx_w = WriteCtx { workspace: String::new(), actor: ctx.user.clone() };
    match store.write_one(ctx_w, WriteOp::Org(op))? {
        Outcome::Denied(rule) => bail!("permission denied: {rule}"),
        Outcome::Rejected(e) => bail!("{e}"),
        _ if ctx.json => print_json(&serde_json::json!({ "ok": true })),
        _ => {
            println!("done: {}", what.split([' ', '{']).next().unwrap_or_default().to_lowercase());
            Ok(())
        }
    }
}

/// `personal` or an organization name.
pub fn parse_workspace(raw: &str, user: &str) -> Workspace {
    if raw.trim().eq_ignore_ascii_case("personal") {
        Workspace::Personal(user.to_string())
    } else {
        Workspace::Org(raw.trim().to_lowercase())
    }
}
