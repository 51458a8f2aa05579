//! The search index's tests: ranking, narrowing, and the literal bonus.
use super::*;
use crate::model::{LeadInput, Source};
use crate::store::merge::{create, Withheld};

fn lead(id: u64, first: &str, username: &str, updated: i64) -> Lead {
    let c = LeadInput { first_name: Some(first.into()), username: Some(username.into()), ..Default::default() }
        .validate(Source::Manual, None)
        .unwrap();
    let mut l = create(id, "u:t", "t", updated, c, Withheld::default()).0;
    l.updated_at = updated;
    l
}

#[test]
fn ranks_by_score_then_recency_and_respects_filters() {
    let leads = vec![lead(1, "Ivan", "ivan_old", 1), lead(2, "Ivan", "ivan_new", 5), lead(3, "Anna", "anna_k", 9)];
    let idx = SearchIndex::build(&leads);
    let hits = idx.top("ivan", 10, &|_| true);
    assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), [2, 1]);
    let hits = idx.top("ivan", 10, &|id| id != 2);
    assert_eq!(hits.iter().map(|h| h.id).collect::<Vec<_>>(), [1]);
    assert!(idx.top("zzz", 10, &|_| true).is_empty());
    assert_eq!(idx.top("anna", 1, &|_| true)[0].id, 3);
}

#[test]
fn an_exact_username_outranks_fuzzy_matches_spread_over_other_fields() {
    // Two leads of the synthetic data where fuzzy scoring alone put the wrong one first:
    // "dev_35" of @dev_357 and "001" of its phone spell the query nearly contiguously.
    let mut decoy = lead(1, "Isla", "dev_357", 9);
    decoy.phone = Some(crate::normalize::normalize_phone("001 263 356 6677", None));
    decoy.custom_fields.insert("company".into(), "Vandelay Industries".into());
    let mut exact = lead(2, "Carlos", "dev_35001", 1);
    exact.custom_fields.insert("company".into(), "ООО \"Ромашка\"".into());
    let longer = lead(3, "Ann", "dev_35001x", 5);
    let idx = SearchIndex::build(&[decoy, exact, longer]);
    let top: Vec<u64> = idx.top("dev_35001", 3, &|_| true).iter().map(|h| h.id).collect();
    // The whole word first, then the username that contains it, then the fuzzy match.
    assert_eq!(top, [2, 3, 1]);
    assert_eq!(idx.top("@dev_35001", 1, &|_| true)[0].id, 2, "with the @ too");
}

#[test]
fn narrowing_gives_the_same_results_as_a_full_search() {
    let leads: Vec<Lead> = (0..300)
        .map(|i| lead(i, ["Ivan", "Anna", "Ivana", "Nina"][i as usize % 4], &format!("user_{i}"), i as i64))
        .collect();
    let mut idx = SearchIndex::build(&leads);
    for q in ["i", "iv", "iva", "ivan", "iva", "iv", "a", "an", "ann", "an !ni", "an !n", "user_1", "user_12"] {
        assert_eq!(idx.search(q, 20), idx.top(q, 20, &|_| true), "{q}");
    }
}

#[test]
fn ranked_returns_every_match_in_the_tuis_order() {
    // Many ties on score and on updated_at, so the order rests on every part of the key.
    let leads: Vec<Lead> = (1..=400)
        .map(|i| {
            lead(i, ["Ann", "Anna", "Joanna", "Hanna", "Boris"][i as usize % 5], &format!("user_{i:03}"), i as i64 / 7)
        })
        .collect();
    let mut idx = SearchIndex::build(&leads);
    for q in ["ann", "an", "a", "user_1", "ann !jo", "zzz"] {
        let all = idx.ranked(q, &|_| true);
        assert_eq!(all, idx.search(q, leads.len()), "{q}");
        assert_eq!(all[..all.len().min(7)], idx.top(q, 7, &|_| true), "{q}");
        let odd: Vec<Hit> = all.iter().copied().filter(|h| h.id % 2 == 1).collect();
        assert_eq!(idx.ranked(q, &|id| id % 2 == 1), odd, "{q}");
    }
    assert_eq!(idx.ranked("ann", &|_| true).len(), 320, "all but Boris");
}

#[test]
fn the_prefilter_never_drops_a_real_match() {
    let leads = vec![
        lead(1, "José", "jose_garcia", 1),
        lead(2, "Кузнецова", "olga_k", 2),
        lead(3, "Zoë", "zoe_obrien", 3),
        lead(4, "Ivan", "ivan_p", 4),
    ];
    let idx = SearchIndex::build(&leads);
    for q in ["jose", "josé", "кузн", "Кузн", "zoe", "zoë", "^iva", "ivan_p$", "'ivan", "olga !iv", "@olga_k"]
    {
        let pattern = Pattern::parse(q, CaseMatching::Smart, Normalization::Smart);
        let (mut m, mut buf) = (Matcher::new(Config::DEFAULT), Vec::new());
        let expected: Vec<u64> =
            idx.entries.iter().filter(|e| pattern.score(e.text(&mut buf), &mut m).is_some()).map(|e| e.id).collect();
        let mut got: Vec<u64> = idx.top(q, 10, &|_| true).into_iter().map(|h| h.id).collect();
        got.sort_unstable();
        let mut expected = expected;
        expected.sort_unstable();
        assert_eq!(got, expected, "{q}");
        assert!(!expected.is_empty() || q.contains('!'), "{q} should match something");
    }
}

#[test]
fn ascii_folds_as_nucleos_table_folds_it() {
    for c in (0..128u8).map(char::from) {
        assert_eq!(c.to_ascii_lowercase(), nucleo_matcher::chars::to_lower_case(c), "{c:?}");
    }
}

#[test]
fn chars_taken_as_their_own_graphemes_are_so() {
    let all = (0..=0x10FFFFu32).filter_map(char::from_u32).filter(|c| own_grapheme(*c));
    for c in all {
        // Any joining rule would merge one of these pairs: mark or joiner after a char,
        // prepend before one, jamo or regional indicators with their like.
        let text = format!("a{c}{c}a");
        assert_eq!(nucleo_matcher::chars::graphemes(&text).count(), 4, "{c:?} U+{:04X}", c as u32);
    }
    let mut buf = Vec::new();
    assert!(matches!(utf32("Zoe\u{308} Анна 陈伟", &mut buf), Utf32Str::Unicode(s) if s.len() == 11));
}

#[test]
fn highlights_match_positions() {
    assert_eq!(highlight("iv", "Ivan"), vec![0, 1]);
    assert!(highlight("", "Ivan").is_empty());
}

#[test]
fn a_progressive_search_shows_recent_matches_first_and_can_be_abandoned() {
    let n = (SCAN_CHUNK * 3) as u64;
    let leads: Vec<Lead> = (0..n).map(|i| lead(i + 1, "Ivan", &format!("ivan_{i:06}"), i as i64)).collect();
    let mut index = SearchIndex::build(&leads);
    let mut first = Vec::new();
    let full = index
        .search_progressive("ivan", 5, None, Duration::ZERO, &mut |hits| {
            first = hits;
            true
        })
        .unwrap();
    // The first ranking came from the newest chunk; the newest leads win ties on score.
    assert_eq!(first.len(), 5);
    assert!(first.iter().all(|h| h.id > n - SCAN_CHUNK as u64), "{first:?}");
    assert_eq!(full, index.search("ivan", 5));
    assert_eq!(full[0].id, n);
    // A newer query abandons the scan; nothing half-done is remembered for narrowing.
    assert_eq!(index.search_progressive("ivan_0", 5, None, Duration::ZERO, &mut |_| false), None);
    assert_eq!(index.search("ivan_000001", 5)[0].id, 2);
    // Upserts and removals keep positions right.
    index.remove_many(&[2]);
    assert!(index.search("ivan_000001", 5).iter().all(|h| h.id != 2));
    index.upsert(&lead(2, "Ivan", "ivan_000001", n as i64 + 5));
    assert_eq!(index.search("ivan_000001", 5)[0].id, 2);
}

#[test]
fn removing_early_entries_keeps_every_other_position_right() {
    let leads: Vec<Lead> = (1..=50).map(|i| lead(i, "Ivan", &format!("user_{i:03}"), i as i64)).collect();
    let mut index = SearchIndex::build(&leads);
    index.upsert(&lead(60, "Anna", "anna_k60", 100));
    // The newest built entries sit first (recency order): 50, 49, … are early positions.
    index.remove_many(&[50, 49, 7, 60, 999]);
    assert_eq!(index.len(), 47);
    for i in (1..=48).filter(|i| *i != 7) {
        let hits = index.search(&format!("user_{i:03}"), 1);
        assert_eq!(hits.first().map(|h| h.id), Some(i), "user_{i:03}");
    }
    // An upsert of an existing later lead replaces its text in place.
    index.upsert(&lead(3, "Olga", "olga_new", 200));
    assert!(index.search("user_003", 5).iter().all(|h| h.id != 3));
    assert_eq!(index.search("olga_new", 5)[0].id, 3);
    assert_eq!(index.len(), 47);
}

#[test]
fn decomposed_accents_match_like_precomposed_ones() {
    let idx = SearchIndex::build(&[lead(1, "Zoe\u{308}", "zoe_k1", 1)]);
    assert_eq!(idx.top("zoe", 5, &|_| true).len(), 1);
    assert_eq!(highlight("zoe", "Zoe\u{308}"), vec![0, 1, 2]);
    let (mut m, mut buf) = (Matcher::new(Config::DEFAULT), Vec::new());
    let pattern = Pattern::parse("zoe$", CaseMatching::Smart, Normalization::Smart);
    assert!(pattern.score(utf32("Zoe\u{308}", &mut buf), &mut m).is_some(), "the raw bytes would end in 0xcc 0x88");
}
