//! Choosing crawl methods from what a chat allows, and what to try when one is refused.

use super::Method;
use crate::telegram::{ChatInfo, ChatKind, TgError, PARTICIPANTS_CAP};

/// The methods `--method auto` runs, in order.
pub fn plan(info: &ChatInfo) -> Vec<Method> {
    let kind = info.chat.kind;
    if kind == ChatKind::Broadcast && !info.is_admin {
        // Subscribers of a channel are for its admins only; its discussion group is open.
        return vec![if info.linked.is_some() { Method::Linked } else { Method::Participants }];
    }
    if info.participants_hidden && !info.is_admin {
        // The list shows only admins; the people who write are in the history.
        return vec![Method::Admins, Method::History];
    }
    if !info.can_view_participants && !info.is_admin {
        return vec![Method::History];
    }
    if info.members.is_some_and(|n| n > PARTICIPANTS_CAP) && kind != ChatKind::Group {
        return vec![Method::Search];
    }
    vec![Method::Participants]
}

/// The next method when `method` was refused with `error`, if any.
pub fn fallback(method: Method, error: &TgError) -> Option<Method> {
    match (method, error) {
        (Method::Participants | Method::Search | Method::Admins, TgError::AdminRequired) => Some(Method::History),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::telegram::ChatRef;

    fn info(kind: ChatKind, members: u64) -> ChatInfo {
        ChatInfo {
            chat: ChatRef { id: 1, access_hash: 0, kind },
            title: "t".into(),
            username: None,
            members: Some(members),
            participants_hidden: false,
            can_view_participants: true,
            is_admin: false,
            linked: None,
        }
    }

    #[test]
    fn auto_picks_by_chat_type_size_hidden_flag_and_admin_rights() {
        assert_eq!(plan(&info(ChatKind::Megagroup, 150)), [Method::Participants]);
        assert_eq!(plan(&info(ChatKind::Megagroup, 25_000)), [Method::Search]);
        assert_eq!(plan(&info(ChatKind::Group, 150)), [Method::Participants]);
        let hidden = ChatInfo { participants_hidden: true, ..info(ChatKind::Megagroup, 2_400) };
        assert_eq!(plan(&hidden), [Method::Admins, Method::History]);
        assert_eq!(plan(&ChatInfo { is_admin: true, ..hidden }), [Method::Participants]);
        let linked = Some(ChatRef { id: 2, access_hash: 0, kind: ChatKind::Megagroup });
        let channel = ChatInfo { can_view_participants: false, linked, ..info(ChatKind::Broadcast, 40_000) };
        assert_eq!(plan(&channel), [Method::Linked]);
        assert_eq!(plan(&ChatInfo { linked: None, ..channel.clone() }), [Method::Participants]);
        assert_eq!(plan(&ChatInfo { is_admin: true, ..channel }), [Method::Search]);
        assert_eq!(fallback(Method::Participants, &TgError::AdminRequired), Some(Method::History));
        assert_eq!(fallback(Method::History, &TgError::AdminRequired), None);
        assert_eq!(fallback(Method::Participants, &TgError::Private), None);
    }
}
