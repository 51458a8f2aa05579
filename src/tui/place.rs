//! Where the TUI is working: the workspace, what the user is there, and the view.

use crate::workspace::{rules, Access, View, Workspace};

/// Where the TUI is working: shown in the status bar, and what the view toggle may offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub label: String,
    pub workspace: Workspace,
    /// What the user is here; None until the workspace has loaded.
    pub access: Option<Access>,
    pub view: View,
}

impl Place {
    pub fn new(workspace: Workspace, view: View) -> Place {
        Place { label: workspace.to_string(), workspace, access: None, view }
    }

    /// Whether the "all leads" view is allowed here.
    pub fn can_view_all(&self) -> bool {
        self.access.is_some_and(|a| rules::view(a, View::All).is_ok())
    }

    /// "personal", or the role in the organization.
    pub fn role(&self) -> &'static str {
        match self.access {
            None => "",
            Some(Access::Personal) => "personal",
            Some(Access::Org { role, .. }) => role.as_str(),
        }
    }
}
