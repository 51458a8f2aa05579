//! Workspaces and permissions through the real binary: a sample of the rule table.

mod common;

use common::Env;
use predicates::prelude::*;

fn as_user(env: &Env, user: &str, args: &[&str]) -> assert_cmd::assert::Assert {
    env.reach().env("REACH_USER", user).args(args).assert()
}

fn count(env: &Env, user: &str, args: &[&str]) -> usize {
    let out = env.reach().env("REACH_USER", user).args(args).arg("--json").output().unwrap();
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap().as_array().unwrap().len()
}

#[test]
fn organizations_roles_views_and_isolation() {
    let env = Env::new();
    as_user(&env, "olga", &["org", "create", "Acme"]).success();
    as_user(&env, "olga", &["org", "add-member", "acme", "mia", "--role", "member"]).success();
    as_user(&env, "olga", &["org", "add-member", "acme", "max"]).success();
    as_user(&env, "olga", &["org", "add-member", "acme", "adam", "--role", "admin"]).success();
    // Members cannot manage the organization; the error names the rule, exit code 1.
    as_user(&env, "mia", &["org", "add-member", "acme", "zed"])
        .code(1)
        .stderr(predicate::str::contains("only an owner or an admin"));
    as_user(&env, "olga", &["org", "remove-member", "acme", "olga"])
        .code(1)
        .stderr(predicate::str::contains("last owner"));

    // Leads in the org, created by different members.
    as_user(&env, "mia", &["--workspace", "acme", "lead", "add", "--username", "mia_lead"]).success();
    as_user(&env, "max", &["--workspace", "acme", "lead", "add", "--username", "max_lead"]).success();
    // The same person in mia's personal workspace is a separate lead.
    as_user(&env, "mia", &["lead", "add", "--username", "max_lead"]).success().stdout("created #3\n");

    // Own is the default view; "all" is refused for members unless the setting allows it.
    assert_eq!(count(&env, "mia", &["--workspace", "acme", "lead", "list"]), 1);
    as_user(&env, "mia", &["--workspace", "acme", "--view", "all", "lead", "list"])
        .code(1)
        .stderr(predicate::str::contains("members_can_view_all"));
    assert_eq!(count(&env, "adam", &["--workspace", "acme", "--view", "all", "lead", "list"]), 2);
    as_user(&env, "olga", &["org", "set", "acme", "members_can_view_all=true"]).success();
    assert_eq!(count(&env, "mia", &["--workspace", "acme", "--view", "all", "lead", "list"]), 2);

    // Any member edits any lead; members delete only their own; admins delete any.
    as_user(&env, "mia", &["--workspace", "acme", "lead", "set", "@max_lead", "--tag", "touched"]).success();
    as_user(&env, "mia", &["--workspace", "acme", "lead", "delete", "@max_lead"])
        .code(1)
        .stderr(predicate::str::contains("members may delete only the leads they created"));
    as_user(&env, "mia", &["--workspace", "acme", "lead", "delete", "@mia_lead"]).success();
    as_user(&env, "adam", &["--workspace", "acme", "lead", "delete", "@max_lead"]).success();

    // History records the acting user.
    as_user(&env, "olga", &["--workspace", "acme", "lead", "add", "--username", "hist_lead"]).success();
    as_user(&env, "max", &["--workspace", "acme", "lead", "set", "@hist_lead", "--note", "called"]).success();
    let out = env
        .reach()
        .env("REACH_USER", "olga")
        .args(["--workspace", "acme", "lead", "show", "@hist_lead", "--json"])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let actors: Vec<&str> = v["history"].as_array().unwrap().iter().map(|h| h["actor"].as_str().unwrap()).collect();
    assert_eq!(actors, ["olga", "max"]);

    // Outsiders see nothing and write nothing; personal workspaces are private.
    as_user(&env, "eve", &["--workspace", "acme", "lead", "list"])
        .code(1)
        .stderr(predicate::str::contains("not a member"));
    as_user(&env, "eve", &["--workspace", "acme", "lead", "add", "--username", "eve_lead"]).code(1);
    as_user(&env, "eve", &["lead", "show", "3"]).code(1);
}

#[test]
fn org_use_remembers_the_workspace() {
    let env = Env::new();
    as_user(&env, "olga", &["org", "create", "acme"]).success();
    as_user(&env, "olga", &["org", "use", "acme"]).success();
    as_user(&env, "olga", &["lead", "add", "--username", "in_the_org"]).success();
    assert_eq!(count(&env, "olga", &["--workspace", "acme", "lead", "list"]), 1);
    assert_eq!(count(&env, "olga", &["--workspace", "personal", "lead", "list"]), 0);
    as_user(&env, "olga", &["org", "list"]).success().stdout(predicate::str::contains("*  acme"));
    as_user(&env, "olga", &["org", "use", "personal"]).success();
    assert_eq!(count(&env, "olga", &["lead", "list"]), 0);
    as_user(&env, "mia", &["org", "use", "acme"]).code(1).stderr(predicate::str::contains("not your workspace"));
    // Imports land in the chosen workspace too, and are refused where the user has no access.
    let f = env.write("w.csv", "username\nimported_one\n");
    as_user(&env, "olga", &["--workspace", "acme", "import", f.to_str().unwrap()]).success();
    assert_eq!(count(&env, "olga", &["--workspace", "acme", "lead", "list"]), 2);
    as_user(&env, "mia", &["--workspace", "acme", "import", f.to_str().unwrap()])
        .code(1)
        .stderr(predicate::str::contains("permission denied"));
}
