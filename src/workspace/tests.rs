//! Every cell of the product's permission table, against the store API.

use super::*;
use crate::model::{LeadInput, Source};
use crate::store::{Filter, OrgOp, Outcome, SortKey, Store, WriteCtx, WriteOp};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Actor {
    Personal,
    Owner,
    Admin,
    Member,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Action {
    ViewOwn,
    ViewAll,
    EditOwn,
    EditOther,
    DeleteOwn,
    DeleteOther,
}

/// The product's table. `None` is a cell that does not apply (a personal workspace has no other creators).
fn expected(actor: Actor, action: Action, view_all_setting: bool) -> Option<bool> {
    use Action::*;
    Some(match (actor, action) {
        (Actor::Personal, ViewOwn | ViewAll | EditOwn | DeleteOwn) => true,
        (Actor::Personal, EditOther | DeleteOther) => return None,
        (Actor::Owner | Actor::Admin, _) => true,
        (Actor::Member, ViewOwn | EditOwn | EditOther | DeleteOwn) => true,
        (Actor::Member, ViewAll) => view_all_setting,
        (Actor::Member, DeleteOther) => false,
    })
}

fn ctx(ws: &str, actor: &str) -> WriteCtx {
    WriteCtx { workspace: ws.into(), actor: actor.into() }
}

fn add(store: &Store, ws: &str, actor: &str, username: &str) -> u64 {
    let c = LeadInput { username: Some(username.into()), ..Default::default() }.validate(Source::Manual, None).unwrap();
    store.write_one(ctx(ws, actor), WriteOp::Upsert(c)).unwrap().id().expect("created")
}

fn org_op(store: &Store, actor: &str, op: OrgOp) -> Outcome {
    store.write_one(ctx("", actor), WriteOp::Org(op)).unwrap()
}

/// An org "acme" with olga (owner), adam (admin), mia and max (members).
fn setup(view_all: bool) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_dir(dir.path()).unwrap();
    assert_eq!(org_op(&store, "olga", OrgOp::Create { name: "acme".into() }), Outcome::Recorded { id: 0 });
    for (user, role) in [("adam", Role::Admin), ("mia", Role::Member), ("max", Role::Member)] {
        let out = org_op(&store, "olga", OrgOp::AddMember { org: "acme".into(), user: user.into(), role });
        assert_eq!(out, Outcome::Recorded { id: 0 });
    }
    org_op(&store, "olga", OrgOp::SetViewAll { org: "acme".into(), value: view_all });
    (dir, store)
}

fn run(store: &Store, actor: Actor, action: Action) -> bool {
    let (user, ws) = match actor {
        Actor::Personal => ("pat", Workspace::Personal("pat".into())),
        Actor::Owner => ("olga", Workspace::Org("acme".into())),
        Actor::Admin => ("adam", Workspace::Org("acme".into())),
        Actor::Member => ("mia", Workspace::Org("acme".into())),
    };
    let key = ws.key();
    let own = add(store, &key, user, &format!("own_{user}_{:?}", action).to_lowercase());
    // In an org, "other" leads are created by max; a personal workspace has none.
    let other = (actor != Actor::Personal)
        .then(|| add(store, &key, "max", &format!("max_lead_{user}_{:?}", action).to_lowercase()));
    let edit = |id| {
        let c = LeadInput { note: Some("hi".into()), ..Default::default() }.validate(Source::Manual, None).unwrap();
        matches!(store.write_one(ctx(&key, user), WriteOp::Edit { id, cand: c }).unwrap(), Outcome::Updated { .. })
    };
    let delete =
        |id| matches!(store.write_one(ctx(&key, user), WriteOp::Delete { id }).unwrap(), Outcome::Deleted { .. });
    match action {
        Action::ViewOwn => {
            let scope = store.scope(user, &ws, View::Own).unwrap().unwrap();
            let seen =
                store.list(&scope.workspace, &scope.filter(&Filter::default()), SortKey::default(), None).unwrap();
            // The own view holds the user's leads and nobody else's.
            seen.iter().any(|l| l.id == own) && seen.iter().all(|l| l.created_by == user)
        }
        Action::ViewAll => match store.scope(user, &ws, View::All).unwrap() {
            Ok(scope) => {
                let seen =
                    store.list(&scope.workspace, &scope.filter(&Filter::default()), SortKey::default(), None).unwrap();
                seen.iter().any(|l| l.id == own) && other.is_none_or(|o| seen.iter().any(|l| l.id == o))
            }
            Err(_) => false,
        },
        Action::EditOwn => edit(own),
        Action::EditOther => edit(other.expect("org")),
        Action::DeleteOwn => delete(own),
        Action::DeleteOther => delete(other.expect("org")),
    }
}

#[test]
fn every_cell_of_the_permission_table() {
    use Action::*;
    for view_all in [false, true] {
        let (_d, store) = setup(view_all);
        for actor in [Actor::Personal, Actor::Owner, Actor::Admin, Actor::Member] {
            for action in [ViewOwn, ViewAll, EditOwn, EditOther, DeleteOwn, DeleteOther] {
                let Some(want) = expected(actor, action, view_all) else { continue };
                assert_eq!(run(&store, actor, action), want, "{actor:?} {action:?} members_can_view_all={view_all}");
            }
        }
    }
}

#[test]
fn a_denied_delete_names_the_rule_and_changes_nothing() {
    let (_d, store) = setup(false);
    let id = add(&store, "o:acme", "max", "max_only");
    let out = store.write_one(ctx("o:acme", "mia"), WriteOp::Delete { id }).unwrap();
    assert!(matches!(&out, Outcome::Denied(m) if m.contains("only the leads they created")), "{out:?}");
    assert!(store.get("o:acme", id).unwrap().is_some());
}

#[test]
fn non_members_and_other_users_cannot_write_or_read() {
    let (_d, store) = setup(true);
    let c =
        LeadInput { username: Some("intruder".into()), ..Default::default() }.validate(Source::Manual, None).unwrap();
    for (ws, actor) in [("o:acme", "eve"), ("u:olga", "eve"), ("o:nope", "olga")] {
        let out = store.write_one(ctx(ws, actor), WriteOp::Upsert(c.clone())).unwrap();
        assert!(matches!(out, Outcome::Denied(_)), "{ws} {actor}: {out:?}");
    }
    assert!(store.scope("eve", &Workspace::Org("acme".into()), View::Own).unwrap().is_err());
    assert!(store.scope("eve", &Workspace::Personal("olga".into()), View::Own).unwrap().is_err());
}

#[test]
fn membership_management_rules() {
    let (_d, store) = setup(false);
    let denied = |o: Outcome| matches!(o, Outcome::Denied(_));
    // Members cannot manage; admins cannot touch owners; the last owner stays.
    assert!(denied(org_op(
        &store,
        "mia",
        OrgOp::AddMember { org: "acme".into(), user: "zed".into(), role: Role::Member }
    )));
    assert!(denied(org_op(&store, "mia", OrgOp::SetViewAll { org: "acme".into(), value: true })));
    assert!(denied(org_op(
        &store,
        "adam",
        OrgOp::SetRole { org: "acme".into(), user: "mia".into(), role: Role::Owner }
    )));
    assert!(denied(org_op(&store, "adam", OrgOp::RemoveMember { org: "acme".into(), user: "olga".into() })));
    assert!(denied(org_op(&store, "olga", OrgOp::RemoveMember { org: "acme".into(), user: "olga".into() })));
    assert!(denied(org_op(
        &store,
        "olga",
        OrgOp::SetRole { org: "acme".into(), user: "olga".into(), role: Role::Admin }
    )));
    // Admins manage members; a second owner lets the first step down.
    assert_eq!(
        org_op(&store, "adam", OrgOp::AddMember { org: "acme".into(), user: "zed".into(), role: Role::Member }),
        Outcome::Recorded { id: 0 }
    );
    assert_eq!(
        org_op(&store, "adam", OrgOp::RemoveMember { org: "acme".into(), user: "zed".into() }),
        Outcome::Recorded { id: 0 }
    );
    assert_eq!(
        org_op(&store, "olga", OrgOp::SetRole { org: "acme".into(), user: "adam".into(), role: Role::Owner }),
        Outcome::Recorded { id: 0 }
    );
    assert_eq!(
        org_op(&store, "olga", OrgOp::SetRole { org: "acme".into(), user: "olga".into(), role: Role::Member }),
        Outcome::Recorded { id: 0 }
    );
    let org = store.org("ACME").unwrap().unwrap();
    assert_eq!(org.role_of("adam"), Some(Role::Owner));
    assert_eq!(org.role_of("olga"), Some(Role::Member));
    assert!(
        matches!(org_op(&store, "olga", OrgOp::Create { name: "Acme".into() }), Outcome::Rejected(_)),
        "names are unique ignoring case"
    );
    assert!(matches!(org_op(&store, "olga", OrgOp::Create { name: "personal".into() }), Outcome::Rejected(_)));
}

#[test]
fn use_remembers_only_workspaces_the_user_belongs_to() {
    let (_d, store) = setup(false);
    assert_eq!(org_op(&store, "mia", OrgOp::Use { workspace: "o:acme".into() }), Outcome::Recorded { id: 0 });
    assert_eq!(store.remembered_workspace("mia").unwrap().as_deref(), Some("o:acme"));
    assert!(matches!(org_op(&store, "eve", OrgOp::Use { workspace: "o:acme".into() }), Outcome::Denied(_)));
    assert!(matches!(org_op(&store, "eve", OrgOp::Use { workspace: "u:mia".into() }), Outcome::Denied(_)));
}

#[test]
fn dedup_and_listings_never_cross_workspaces() {
    let (_d, store) = setup(true);
    let personal = add(&store, "u:mia", "mia", "same_person");
    let in_org = add(&store, "o:acme", "mia", "same_person");
    assert_ne!(personal, in_org, "the same username in two workspaces is two leads");
    assert!(store.get("o:acme", personal).unwrap().is_none());
    let all = store.list("o:acme", &Filter::default(), SortKey::default(), None).unwrap();
    assert!(all.iter().all(|l| l.workspace == "o:acme"));
    // Deleting by an id from another workspace finds nothing.
    let out = store.write_one(ctx("o:acme", "olga"), WriteOp::Delete { id: personal }).unwrap();
    assert!(matches!(out, Outcome::Rejected(_)));
}
