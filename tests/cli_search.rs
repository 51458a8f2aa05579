//! `--query` and `--segment` through the real binary: the CLI ranks as the TUI's search index does,
//! a segment lists exactly its members, and archived leads never appear under a segment.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::Env;
use predicates::prelude::*;
use reach::model::Lead;
use reach::search::{Entry, QueryMatcher, SearchIndex};
use reach::store::{Filter, Store};

const WS: &str = "u:tester";

/// 240 leads in one import (so many share `updated_at`), names that score alike and apart, phones
/// as typed and in E.164, tags, groups and a custom field; then a few edits so recency matters.
fn seeded() -> Env {
    let env = Env::new();
    let first = ["Ann", "Anna", "Joanna", "Hanna", "Annabel", "Boris", "Dmitri", "Zoë", "Аня", "Ivan"];
    let last = ["Smith", "Smithson", "Kowalski", "Annenkov", "Smirnova", "Lee"];
    let tags = ["vip", "vip|cold", "warm", "warm|ann"];
    let groups = ["Rust Devs", "Go Meetup", "Anna's Club"];
    let companies = ["Acme", "Annex Ltd", "Globex"];
    let mut csv = String::from("username,first_name,last_name,phone_number,country,tags,group_name,status,company\n");
    for i in 0..240usize {
        let phone = match i % 3 {
            0 => format!("8 (916) {:03}-{:02}-{:02}", i, i % 100, (i * 7) % 100),
            1 => format!("+7 903 {:03} {:04}", i, i * 3),
            _ => String::new(),
        };
        let status = if i % 9 == 0 {
            "archived"
        } else if i % 11 == 0 {
            "blocked"
        } else {
            "active"
        };
        csv.push_str(&format!(
            "user_{i:04},{},{},{phone},RU,{},{},{status},{}\n",
            first[i % first.len()],
            last[(i / 10) % last.len()],
            tags[i % tags.len()],
            groups[i % groups.len()],
            companies[i % 5 % companies.len()],
        ));
    }
    let file = env.write("leads.csv", &csv);
    env.reach().arg("import").arg(&file).assert().success();
    for id in ["17", "3", "120", "64"] {
        env.reach().args(["lead", "set", id, "--note", "touched"]).assert().success();
    }
    env
}

fn ids(v: &serde_json::Value) -> Vec<u64> {
    v.as_array().expect("a JSON array").iter().map(|l| l["id"].as_u64().expect("an id")).collect()
}

fn cli_ids(env: &Env, args: &[&str]) -> Vec<u64> {
    ids(&env.json(args))
}

/// Every lead of the tester's workspace, read straight from the store.
fn leads(env: &Env) -> Vec<Lead> {
    let store = Store::open_dir(&env.data_dir()).expect("store");
    let mut out = Vec::new();
    store.scan(WS, &Filter::default(), |l| out.push(l)).expect("scan");
    out
}

/// The ranking the TUI shows: an index over the view's leads from `Entry::of`, searched with
/// `search_progressive` and its 5,000 cap, then the facet filter applied to the hits.
fn tui_ranking(leads: &[Lead], query: &str, keep: impl Fn(&Lead) -> bool) -> Vec<u64> {
    let mut index = SearchIndex::from_entries(leads.iter().map(Entry::of).collect());
    let hits = index.search_progressive(query, 5000, None, Duration::ZERO, &mut |_| true).expect("not abandoned");
    let kept: BTreeSet<u64> = leads.iter().filter(|l| keep(l)).map(|l| l.id).collect();
    hits.into_iter().map(|h| h.id).filter(|id| kept.contains(id)).collect()
}

#[test]
fn a_query_lists_every_match_in_the_search_index_order() {
    let env = seeded();
    let queries = [
        "ann",
        "ann smi",
        "an",
        "a",
        "smith",
        "+7916",
        "8 (916) 003",
        "903",
        "vip",
        "go meet",
        "annex",
        "аня",
        "zoe",
        "ann !jo",
        "^ann",
        "ZZZ",
    ];
    let cli: Vec<Vec<u64>> = queries.iter().map(|q| cli_ids(&env, &["lead", "list", "--query", q])).collect();
    let active_vip = cli_ids(&env, &["lead", "list", "--query", "ann", "--status", "active", "--tag", "vip"]);
    let all = leads(&env);
    for (q, got) in queries.iter().zip(&cli) {
        assert_eq!(got, &tui_ranking(&all, q, |_| true), "{q}");
        let index = SearchIndex::build(&all);
        let ranked: Vec<u64> = index.ranked(q, &|_| true).into_iter().map(|h| h.id).collect();
        assert_eq!(got, &ranked, "{q}");
    }
    assert!(cli[0].len() > 100, "ann matches most leads: {}", cli[0].len());
    assert!(!cli[1].is_empty() && cli[1].len() < cli[0].len());
    assert!(cli[5].len() > 50, "E.164 digits find leads typed in a national format");
    assert!(cli[15].is_empty());
    let want = tui_ranking(&all, "ann", |l| l.status.as_str() == "active" && l.tags.contains("vip"));
    assert_eq!(active_vip, want);
    // Ties on score and on time are broken by id, newest first: the ranking is not id order.
    let mut sorted = cli[0].clone();
    sorted.sort_unstable();
    assert_ne!(cli[0], sorted);
}

#[test]
fn limit_cuts_the_ranking_and_sort_overrides_it() {
    let env = seeded();
    let ranked = cli_ids(&env, &["lead", "list", "--query", "smi"]);
    assert!(ranked.len() > 20);
    assert_eq!(cli_ids(&env, &["lead", "list", "--query", "smi", "--limit", "7"]), ranked[..7]);
    let by_id = cli_ids(&env, &["lead", "list", "--query", "smi", "--sort", "id"]);
    let mut want = ranked.clone();
    want.sort_unstable();
    assert_eq!(by_id, want);
    let newest_id_first = cli_ids(&env, &["lead", "list", "--query", "smi", "--sort", "-id", "--limit", "3"]);
    assert_eq!(newest_id_first, want.iter().rev().take(3).copied().collect::<Vec<_>>());
    // With no query the order stays the id order it always was.
    let plain = cli_ids(&env, &["lead", "list", "--limit", "5"]);
    assert_eq!(plain, [1, 2, 3, 4, 5]);
    // A blank query is no search.
    assert_eq!(cli_ids(&env, &["lead", "list", "--query", "  ", "--limit", "5"]), plain);
}

#[test]
fn a_segment_with_a_query_lists_exactly_its_members_and_never_an_archived_lead() {
    let env = seeded();
    env.reach().args(["segment", "save", "vip anns", "--tag", "vip", "--query", "ann"]).assert().success();
    let member =
        |l: &Lead| l.tags.contains("vip") && l.status.as_str() != "archived" && QueryMatcher::new("ann").matches(l);
    let listed = cli_ids(&env, &["lead", "list", "--segment", "vip anns"]);
    let all = leads(&env);
    assert!(all.iter().any(|l| l.tags.contains("vip") && l.status.as_str() == "archived"), "the data has some");
    assert_eq!(listed, tui_ranking(&all, "ann", member), "members, ranked by the segment's query");
    let shown = env.json(&["segment", "show", "vip anns"]);
    assert_eq!(shown["leads"].as_u64(), Some(listed.len() as u64));
    assert_eq!(shown["query"], "ann");
    assert_eq!(shown["filter"]["tags"], serde_json::json!(["vip"]));
    env.reach().args(["segment", "show", "vip anns"]).assert().success().stdout(
        predicate::str::contains("tags").and(predicate::str::contains(format!("leads       {}", listed.len()))),
    );

    // Archiving a member takes it out; asking the segment for archived leads finds none.
    let gone = listed[0].to_string();
    env.reach().args(["lead", "set", &gone, "--status", "archived"]).assert().success();
    let after = cli_ids(&env, &["lead", "list", "--segment", "vip anns"]);
    assert_eq!(after, listed[1..]);
    assert!(cli_ids(&env, &["lead", "list", "--segment", "vip anns", "--status", "archived"]).is_empty());
    let exported = env.json(&["export", "--segment", "vip anns", "--format", "json"]);
    assert_eq!(ids(&exported), after);
    let stats = env.json(&["stats", "--segment", "vip anns"]);
    assert_eq!(stats["total"].as_u64(), Some(after.len() as u64));
    assert_eq!(stats["by_status"]["archived"].as_u64(), Some(0));

    // A segment without a query lists its members in id order; other flags narrow it; --query must
    // match as well as the segment's.
    env.reach().args(["segment", "save", "vips", "--tag", "vip"]).assert().success();
    let vips = cli_ids(&env, &["lead", "list", "--segment", "vips"]);
    let all = leads(&env);
    let want: Vec<u64> =
        all.iter().filter(|l| l.tags.contains("vip") && l.status.as_str() != "archived").map(|l| l.id).collect();
    assert_eq!(vips, want);
    let blocked = cli_ids(&env, &["lead", "list", "--segment", "vips", "--status", "blocked"]);
    assert!(!blocked.is_empty() && blocked.iter().all(|id| vips.contains(id)) && blocked.len() < vips.len());
    let both = cli_ids(&env, &["lead", "list", "--segment", "vip anns", "--query", "smi"]);
    assert_eq!(both, tui_ranking(&all, "ann smi", member));
    assert!(!both.is_empty() && both.len() < after.len());
}

#[test]
fn export_and_stats_take_the_query() {
    let env = seeded();
    let ranked = cli_ids(&env, &["lead", "list", "--query", "joanna kow"]);
    assert!(!ranked.is_empty());
    assert_eq!(ids(&env.json(&["export", "--query", "joanna kow", "--format", "json"])), ranked);
    let out = env.reach().args(["export", "--query", "joanna kow"]).output().expect("run");
    assert!(out.status.success());
    let csv = String::from_utf8(out.stdout).expect("utf-8");
    let csv_ids: Vec<u64> =
        csv.lines().skip(1).map(|l| l.split(',').next().unwrap_or("").parse().expect("id")).collect();
    assert_eq!(csv_ids, ranked);
    assert!(csv.lines().next().is_some_and(|h| h.ends_with(",company")), "custom fields still follow");
    let path = env.path("anns.csv");
    env.reach().args(["export", "--query", "joanna kow", "--out"]).arg(&path).assert().success().stderr(format!(
        "exported {} leads to {}\n",
        ranked.len(),
        path.display()
    ));

    let stats = env.json(&["stats", "--query", "joanna kow"]);
    assert_eq!(stats["total"].as_u64(), Some(ranked.len() as u64));
    let listed = env.json(&["lead", "list", "--query", "joanna kow"]);
    let active = listed.as_array().expect("array").iter().filter(|l| l["status"] == "active").count();
    assert_eq!(stats["active"].as_u64(), Some(active as u64));
}

#[test]
fn an_unknown_segment_is_an_error_naming_it() {
    let env = Env::new();
    env.reach().args(["lead", "add", "--username", "only_one"]).assert().success();
    for args in [
        &["lead", "list", "--segment", "nope"][..],
        &["export", "--segment", "nope"],
        &["stats", "--segment", "nope"],
        &["segment", "show", "nope"],
    ] {
        env.reach().args(args).assert().code(1).stdout("").stderr(
            predicate::str::contains("no segment named \"nope\"").and(predicate::str::contains("segment list")),
        );
    }
}

/// Runs a real TUI session on a test backend until `until` holds (or 20 s pass).
fn drive(s: &mut reach::tui::Session, mut until: impl FnMut(&reach::tui::Model) -> bool) -> bool {
    use std::sync::atomic::{AtomicBool, Ordering};
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    {
        let (tx, stop) = (s.events(), stop.clone());
        // A ticker keeps the loop turning, so the deadline is seen even when nothing happens.
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(10));
                let tick = reach::tui::Event::Term(crossterm::event::Event::FocusGained);
                if tx.send(tick).is_err() {
                    return;
                }
            }
        });
    }
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(120, 40)).expect("terminal");
    let mut met = false;
    s.run_on(&mut terminal, &mut |m| {
        met = until(m);
        !met && std::time::Instant::now() < deadline
    })
    .expect("the session runs");
    stop.store(true, Ordering::Relaxed);
    met
}

#[test]
fn the_cli_and_a_tui_session_return_the_same_leads_in_the_same_order() {
    use crossterm::event::{Event as TermEvent, KeyCode, KeyEvent, KeyModifiers};
    let env = seeded();
    let rt = reach::jobs::runtime().expect("runtime");
    let store = Store::open_dir(&env.data_dir()).expect("store");
    let settings = reach::tui::Settings {
        telegram: reach::crawl::backend::Telegram {
            backend: reach::config::TelegramBackend::Simulated,
            config: Default::default(),
            data_dir: env.data_dir(),
        },
        pacing: reach::crawl::pool::Pacing { interval: Duration::from_millis(1), jitter: Duration::ZERO },
        history_depth: 0,
        cache_ttl: Duration::from_secs(3600),
        default_region: None,
        local_files: true,
        live: Default::default(),
    };
    let ws = reach::workspace::Workspace::Personal("tester".into());
    let mut session = reach::tui::Session::start(
        rt.handle().clone(),
        store,
        "tester".into(),
        ws,
        reach::workspace::View::Own,
        Default::default(),
        settings,
    );
    assert!(drive(&mut session, |m| !m.loading), "the session loads");
    for query in ["ann", "ann smi", "smith", "+7916", "vip", "аня"] {
        let key = |c| TermEvent::Key(KeyEvent::new(c, KeyModifiers::NONE));
        let tx = session.events();
        tx.send(reach::tui::Event::Term(key(KeyCode::Char('/')))).expect("send");
        for c in query.chars() {
            tx.send(reach::tui::Event::Term(key(KeyCode::Char(c)))).expect("send");
        }
        assert!(drive(&mut session, |m| m.query.value() == query && !m.searching()), "{query}: searched");
        let tui = session.model().order.clone();
        let cli = cli_ids(&env, &["lead", "list", "--query", query]);
        assert!(!cli.is_empty(), "{query} matches something");
        assert_eq!(tui, cli, "{query}: the same ids in the same order");
        // Clear the query for the next one.
        for _ in query.chars() {
            tx.send(reach::tui::Event::Term(key(KeyCode::Backspace))).expect("send");
        }
        tx.send(reach::tui::Event::Term(key(KeyCode::Esc))).expect("send");
        assert!(drive(&mut session, |m| m.query.value().is_empty()));
    }
}
