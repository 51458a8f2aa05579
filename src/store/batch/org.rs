//! Organization management inside the writer's transaction: the rules decide, the batch records.

use super::{Batch, OrgOp, Outcome, WriteCtx};
use crate::model::LeadError;
use crate::store::StoreError;
use crate::workspace::{rules, validate_org_name, Org, Role, Workspace};

impl<R: super::Reads> Batch<R> {
    pub(super) fn org_op(&mut self, ctx: &WriteCtx, op: OrgOp) -> Result<Outcome, StoreError> {
        let actor = ctx.actor.as_str();
        let done = Outcome::Recorded { id: 0 };
        let name = match &op {
            OrgOp::Create { name } => {
                if let Err(e) = validate_org_name(name) {
                    return Ok(Outcome::Rejected(LeadError::invalid("org", name, e)));
                }
                if let Some(existing) = self.load_org(name)? {
                    let msg = format!("an organization named {} already exists", existing.name);
                    return Ok(Outcome::Rejected(LeadError::invalid("org", name, msg)));
                }
                let org = Org {
                    name: name.clone(),
                    members: [(actor.to_string(), Role::Owner)].into(),
                    members_can_view_all: false,
                    created_at: self.now,
                    created_by: actor.to_string(),
                };
                self.orgs.insert(name.to_lowercase(), (Some(org), true));
                return Ok(done);
            }
            OrgOp::Use { workspace } => {
                let allowed = match Workspace::from_key(workspace) {
                    Some(Workspace::Personal(u)) => u == actor,
                    Some(Workspace::Org(o)) => self.load_org(&o)?.is_some_and(|org| org.role_of(actor).is_some()),
                    None => false,
                };
                if !allowed {
                    return Ok(Outcome::Denied(format!("you cannot work in {workspace}: not your workspace")));
                }
                self.user_workspace.push((actor.to_string(), workspace.clone()));
                return Ok(done);
            }
            OrgOp::AddMember { org, .. }
            | OrgOp::RemoveMember { org, .. }
            | OrgOp::SetRole { org, .. }
            | OrgOp::SetViewAll { org, .. } => org.clone(),
        };
        let Some(mut org) = self.load_org(&name)?.cloned() else {
            return Ok(Outcome::Rejected(LeadError::invalid("org", &name, "no such organization")));
        };
        let me = match rules::manage(org.role_of(actor)) {
            Ok(r) => r,
            Err(d) => return Ok(Outcome::Denied(d.0)),
        };
        let owners = org.owners();
        let not_member = |user: &str| Outcome::Rejected(LeadError::invalid("user", user, "not a member"));
        match op {
            OrgOp::AddMember { user, role, .. } => {
                if let Err(e) = crate::config::validate_user(&user) {
                    return Ok(Outcome::Rejected(LeadError::invalid("user", &user, e)));
                }
                if let Some(r) = org.role_of(&user) {
                    let msg = format!("already a member ({r}); use set-role");
                    return Ok(Outcome::Rejected(LeadError::invalid("user", &user, msg)));
                }
                if let Err(d) = rules::change_role(me, None, Some(role), owners) {
                    return Ok(Outcome::Denied(d.0));
                }
                org.members.insert(user, role);
            }
            OrgOp::RemoveMember { user, .. } => {
                let Some(r) = org.role_of(&user) else { return Ok(not_member(&user)) };
                if let Err(d) = rules::change_role(me, Some(r), None, owners) {
                    return Ok(Outcome::Denied(d.0));
                }
                org.members.remove(&user);
            }
            OrgOp::SetRole { user, role, .. } => {
                let Some(r) = org.role_of(&user) else { return Ok(not_member(&user)) };
                if let Err(d) = rules::change_role(me, Some(r), Some(role), owners) {
                    return Ok(Outcome::Denied(d.0));
                }
                org.members.insert(user, role);
            }
            OrgOp::SetViewAll { value, .. } => org.members_can_view_all = value,
            OrgOp::Create { .. } | OrgOp::Use { .. } => {}
        }
        self.orgs.insert(name.to_lowercase(), (Some(org), true));
        Ok(done)
    }
}
