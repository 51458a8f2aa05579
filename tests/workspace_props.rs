//! Property test: random users, workspaces and operations never read or write a lead outside the
//! acting workspace, and dedup never merges across workspaces.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;

use proptest::prelude::*;
use reach::model::{LeadInput, Source};
use reach::store::{Filter, OrgOp, Outcome, SortKey, Store, WriteCtx, WriteOp};
use reach::workspace::{View, Workspace};

const USERS: [&str; 3] = ["ann", "bob", "cat"];
const NAMES: [&str; 6] = ["lead_alpha", "lead_bravo", "LEAD_ALPHA", "lead_charlie", "lead_delta", "Lead_Bravo"];

#[derive(Debug, Clone)]
enum Op {
    Add { name: usize },
    Import { names: Vec<usize> },
    Update { name: usize },
    Delete { name: usize },
    Search,
    Export,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..NAMES.len()).prop_map(|name| Op::Add { name }),
        prop::collection::vec(0..NAMES.len(), 1..4).prop_map(|names| Op::Import { names }),
        (0..NAMES.len()).prop_map(|name| Op::Update { name }),
        (0..NAMES.len()).prop_map(|name| Op::Delete { name }),
        Just(Op::Search),
        Just(Op::Export),
    ]
}

/// Workspaces: each user's personal one, "acme" (ann owner, bob member) and "beta" (cat owner, bob admin).
fn workspace(i: usize, user: &str) -> Workspace {
    match i % 3 {
        0 => Workspace::Personal(user.to_string()),
        1 => Workspace::Org("acme".into()),
        _ => Workspace::Org("beta".into()),
    }
}

fn member(user: &str, ws: &Workspace) -> bool {
    match ws {
        Workspace::Personal(u) => u == user,
        Workspace::Org(o) if o == "acme" => user == "ann" || user == "bob",
        Workspace::Org(_) => user == "cat" || user == "bob",
    }
}

const ALL_WS: [&str; 5] = ["u:ann", "u:bob", "u:cat", "o:acme", "o:beta"];

fn all_leads(store: &Store) -> Vec<(u64, String)> {
    ALL_WS
        .iter()
        .flat_map(|k| {
            store
                .list(k, &Filter::default(), SortKey::default(), None)
                .unwrap()
                .into_iter()
                .map(|l| (l.id, k.to_string()))
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn nothing_crosses_a_workspace(steps in prop::collection::vec((0..USERS.len(), 0..3usize, op()), 1..30)) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_dir(dir.path()).unwrap();
        let admin = |actor: &str, op: OrgOp| store.write_one(WriteCtx { workspace: String::new(), actor: actor.into() }, WriteOp::Org(op)).unwrap();
        admin("ann", OrgOp::Create { name: "acme".into() });
        admin("ann", OrgOp::AddMember { org: "acme".into(), user: "bob".into(), role: reach::workspace::Role::Member });
        admin("cat", OrgOp::Create { name: "beta".into() });
        admin("cat", OrgOp::AddMember { org: "beta".into(), user: "bob".into(), role: reach::workspace::Role::Admin });

        let mut created_in: HashMap<u64, String> = HashMap::new();
        for (u, w, op) in steps {
            let user = USERS[u];
            let ws = workspace(w, user);
            let key = ws.key();
            let ctx = WriteCtx { workspace: key.clone(), actor: user.into() };
            let cand = |name: &str| LeadInput { username: Some(name.into()), ..Default::default() }.validate(Source::Manual, None).unwrap();
            let outcomes = match &op {
                Op::Add { name } => store.write(ctx.clone(), vec![WriteOp::Upsert(cand(NAMES[*name]))]).unwrap(),
                Op::Import { names } => {
                    let file = dir.path().join("in.csv");
                    let body: String = std::iter::once("username".to_string()).chain(names.iter().map(|n| NAMES[*n].to_string())).collect::<Vec<_>>().join("\n");
                    std::fs::write(&file, body).unwrap();
                    let opts = reach::import::ImportOptions::new(&file, dir.path().join("reports"));
                    let res = reach::import::run(&store, &ctx, &opts, &AtomicBool::new(false), |_| {});
                    prop_assert_eq!(res.is_ok(), member(user, &ws), "import into {} by {}", key, user);
                    // Every lead that appeared anywhere appeared in the acting workspace.
                    for (id, w) in all_leads(&store) {
                        if let std::collections::hash_map::Entry::Vacant(slot) = created_in.entry(id) {
                            prop_assert_eq!(&w, &key, "import created #{} outside {}", id, key);
                            slot.insert(w);
                        }
                    }
                    Vec::new()
                }
                Op::Update { name } | Op::Delete { name } => {
                    // Addressing a lead by an id from anywhere: only this workspace's can be touched.
                    let target = store.resolve(&key, &reach::store::LeadRef::Username(NAMES[*name].into())).unwrap();
                    let foreign = created_in.iter().find(|(_, w)| **w != key).map(|(id, _)| *id);
                    let mut ops = Vec::new();
                    for id in target.iter().map(|l| l.id).chain(foreign) {
                        ops.push(match op {
                            Op::Update { .. } => WriteOp::Edit { id, cand: LeadInput { note: Some("n".into()), ..Default::default() }.validate(Source::Manual, None).unwrap() },
                            _ => WriteOp::Delete { id },
                        });
                    }
                    let outs = store.write(ctx.clone(), ops).unwrap();
                    if let Some(f) = foreign {
                        let last = outs.last().unwrap();
                        prop_assert!(!matches!(last, Outcome::Updated { id, .. } | Outcome::Deleted { id } if *id == f), "touched a foreign lead: {:?}", last);
                    }
                    outs
                }
                Op::Search => {
                    if let Ok(scope) = store.scope(user, &ws, View::All).unwrap() {
                        for l in store.list(&scope.workspace, &scope.filter(&Filter::default()), SortKey::default(), None).unwrap() {
                            prop_assert_eq!(&l.workspace, &key);
                        }
                    }
                    Vec::new()
                }
                Op::Export => {
                    if let Ok(scope) = store.scope(user, &ws, View::Own).unwrap() {
                        let mut out = Vec::new();
                        reach::export::export(&store, &scope.workspace, &scope.filter(&Filter::default()), reach::export::Format::Json, &mut out).unwrap();
                        let leads: Vec<serde_json::Value> = serde_json::from_slice(&out).unwrap();
                        for l in leads {
                            prop_assert_eq!(l["workspace"].as_str(), Some(key.as_str()));
                            prop_assert_eq!(l["created_by"].as_str(), Some(user));
                        }
                    }
                    Vec::new()
                }
            };
            for o in outcomes {
                match o {
                    Outcome::Created { id } => {
                        prop_assert!(member(user, &ws), "{} wrote into {}", user, key);
                        created_in.insert(id, key.clone());
                    }
                    Outcome::Updated { id, .. } | Outcome::Unchanged { id } | Outcome::Deleted { id } => {
                        prop_assert_eq!(created_in.get(&id), Some(&key), "op reached lead #{} outside {}", id, key);
                    }
                    Outcome::Denied(_) => {
                        // Denied only for outsiders, or for a member deleting someone else's lead.
                        let member_delete = matches!(op, Op::Delete { .. });
                        prop_assert!(!member(user, &ws) || member_delete, "{} denied in {}", user, key);
                    }
                    _ => {}
                }
            }
        }
        // Dedup within a workspace: one lead per username (any case); across workspaces they stay apart.
        for key in ALL_WS {
            let leads = store.list(key, &Filter::default(), SortKey::default(), None).unwrap();
            let mut seen = std::collections::HashSet::new();
            for l in &leads {
                prop_assert_eq!(&l.workspace, key);
                prop_assert_eq!(created_in.get(&l.id).map(String::as_str), Some(key));
                prop_assert!(seen.insert(l.username_key()), "duplicate {:?} in {}", l.username, key);
            }
        }
    }
}
