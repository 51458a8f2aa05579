//! Fuzzy search over leads: nucleo's matcher for scoring, but not its worker (which sorts every
//! match and costs 0.2-0.8 s per keystroke at 1M items on 2 cores). Haystacks are converted once;
//! a query scores chunks in parallel, then the best k are selected in place (k unbounded for scripts).

use std::cmp::Reverse;
use std::time::{Duration, Instant};

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};
use rayon::prelude::*;

use crate::model::Lead;

pub mod select;
pub use select::Selection;

/// One lead as the index holds it. The haystack stays UTF-8: nucleo reads ASCII text in place, and
/// only the entries that pass the character mask are widened to chars (a quarter of the memory of
/// keeping every non-ASCII haystack as `char`s).
pub struct Entry {
    id: u64,
    updated_at: i64,
    /// Which characters the haystack holds (see `char_mask`): an entry lacking one of the query's
    /// characters cannot match, and one AND rules it out before any scoring.
    mask: u64,
    haystack: Box<str>,
}

impl Entry {
    pub fn of(lead: &Lead) -> Entry {
        let text = haystack(lead);
        Entry { id: lead.id, updated_at: lead.updated_at, mask: haystack_mask(&text), haystack: text.into_boxed_str() }
    }

    fn text<'a>(&'a self, buf: &'a mut Vec<char>) -> Utf32Str<'a> {
        utf32(&self.haystack, buf)
    }
}

const ASCII_LETTERS: u64 = (1 << 26) - 1;

/// A character's bit: a-z are bits 0-25 and 0-9 bits 26-35 (case-folded as nucleo folds them); other
/// characters hash into bits 36-63. Latin letters with diacritics may be normalized by nucleo to
/// any ASCII letter, so they stand for all of them: the mask stays a necessary condition.
fn char_bits(c: char) -> u64 {
    // ASCII folds as nucleo's table folds it, without the table's binary search (a sixth of the
    // time a million-lead index took to build).
    let c = if c.is_ascii() { c.to_ascii_lowercase() } else { nucleo_matcher::chars::to_lower_case(c) };
    match c {
        'a'..='z' => 1 << (c as u32 - 'a' as u32),
        '0'..='9' => 1 << (26 + c as u32 - '0' as u32),
        '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}' => ASCII_LETTERS,
        _ => 1 << (36 + c as u32 % 28),
    }
}

fn haystack_mask(text: &str) -> u64 {
    text.chars().filter(|c| !c.is_whitespace()).fold(0, |m, c| m | char_bits(c))
}

/// The bits every match must have. Pattern syntax is not required, and a negated term ("!x")
/// turns the prefilter off: its characters must be absent, not present.
fn query_mask(query: &str) -> u64 {
    if query.contains('!') {
        return 0;
    }
    query
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '^' | '$' | '\''))
        .map(char_bits)
        .filter(|b| *b != ASCII_LETTERS)
        .fold(0, |m, b| m | b)
}

/// `text` as nucleo reads it: ASCII in place, anything else as its graphemes' first chars, as
/// `Utf32String::from` makes them. (`Utf32Str::new` hands back the raw UTF-8 bytes when every
/// grapheme starts with an ASCII char, so "Zoe\u{308}" would not match "zoe$".)
fn utf32<'a>(text: &'a str, buf: &'a mut Vec<char>) -> Utf32Str<'a> {
    if text.is_ascii() {
        return Utf32Str::Ascii(text.as_bytes());
    }
    buf.clear();
    // Segmenting graphemes was a fifth of a search's time at a million leads; text whose every
    // char is a grapheme of its own (most names: Latin, Greek, Cyrillic, CJK) skips it.
    if text.chars().all(own_grapheme) {
        buf.extend(text.chars());
    } else {
        buf.extend(nucleo_matcher::chars::graphemes(text));
    }
    Utf32Str::Unicode(buf)
}

/// Chars that never join a neighbour into one grapheme (no combining marks, joiners, Hangul jamo,
/// prepended or spacing marks, emoji): a run of them is one grapheme per char.
fn own_grapheme(c: char) -> bool {
    matches!(c,
        '\u{20}'..='\u{7E}'
        | '\u{A0}'..='\u{AC}'
        | '\u{AE}'..='\u{2FF}'
        | '\u{370}'..='\u{377}'
        | '\u{37A}'..='\u{37F}'
        | '\u{384}'..='\u{3FF}'
        | '\u{400}'..='\u{482}'
        | '\u{48A}'..='\u{52F}'
        | '\u{5D0}'..='\u{5EA}'
        | '\u{621}'..='\u{64A}'
        | '\u{1E00}'..='\u{1EFF}'
        | '\u{2010}'..='\u{2027}'
        | '\u{2030}'..='\u{205E}'
        | '\u{3041}'..='\u{3096}'
        | '\u{30A1}'..='\u{30FA}'
        | '\u{4E00}'..='\u{9FFF}')
}

/// The text a lead is found by: name, username, phone (raw and E.164), tags, groups, custom field values.
pub fn haystack(l: &Lead) -> String {
    let mut s = String::with_capacity(96);
    let mut push = |t: &str| {
        if !t.is_empty() {
            if !s.is_empty() {
                s.push(' ');
            }
            s.push_str(t);
        }
    };
    push(&l.first_name);
    push(&l.last_name);
    if let Some(u) = &l.username {
        push(&format!("@{u}"));
    }
    if let Some(p) = &l.phone {
        push(&p.raw);
        if let Some(e) = &p.e164 {
            if e != &p.raw {
                push(e);
            }
        }
    }
    for t in &l.tags {
        push(t);
    }
    for g in &l.groups {
        push(g);
    }
    for v in l.custom_fields.values() {
        push(v);
    }
    s
}

#[derive(Default)]
pub struct SearchIndex {
    /// Most recently updated first, as built; entries added later are appended.
    entries: Vec<Entry>,
    /// (lead id, position in `entries`) sorted by id: an upsert finds its entry by binary search,
    /// at a third of a hash map's memory. New leads have the highest ids, so they append.
    positions: Vec<(u64, u32)>,
    /// Entries before this were sorted by recency at build; those after are newer.
    built: usize,
    /// Every entry matching each query typed so far, prefixes first: typing on only narrows a match,
    /// so the next keystroke scores just these; backspacing returns to a stored set.
    narrowing: Vec<(String, Vec<u32>)>,
}

/// Entries scored between two looks at the clock: a few milliseconds of work on two cores.
const SCAN_CHUNK: usize = 16 * 1024;

/// The best `k` of `scored`, best first: score, then the most recently updated. Works in place
/// (the order of `scored` is not kept), so ranking a million matches allocates only the `k` hits.
fn rank(entries: &[Entry], scored: &mut [(u32, u32)], k: usize) -> Vec<Hit> {
    let key = |&(i, s): &(u32, u32)| (s, entries[i as usize].updated_at, entries[i as usize].id);
    let best_first = |a: &(u32, u32), b: &(u32, u32)| key(b).cmp(&key(a));
    let top = if scored.len() > k {
        scored.select_nth_unstable_by(k, best_first);
        &mut scored[..k]
    } else {
        &mut scored[..]
    };
    top.sort_unstable_by(best_first);
    top.iter().map(|&(i, score)| Hit { id: entries[i as usize].id, score }).collect()
}

/// (lead id, position) for every entry, sorted by id.
fn positions_of(entries: &[Entry]) -> Vec<(u64, u32)> {
    let mut positions: Vec<(u64, u32)> = entries.iter().enumerate().map(|(i, e)| (e.id, i as u32)).collect();
    positions.par_sort_unstable();
    positions
}

/// A match: the lead id and its score (higher is better).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub id: u64,
    pub score: u32,
}

impl SearchIndex {
    pub fn build(leads: &[Lead]) -> SearchIndex {
        SearchIndex::from_entries(leads.par_iter().map(Entry::of).collect())
    }

    /// An index over entries made elsewhere (the TUI's loader makes them while it scans the store).
    pub fn from_entries(mut entries: Vec<Entry>) -> SearchIndex {
        // Recency first: a scan cut short by its time budget has looked at the likeliest leads.
        entries.par_sort_unstable_by_key(|e| Reverse(e.updated_at));
        entries.shrink_to_fit();
        let positions = positions_of(&entries);
        let built = entries.len();
        SearchIndex { entries, positions, built, narrowing: Vec::new() }
    }

    fn position(&self, id: u64) -> Result<usize, usize> {
        self.positions.binary_search_by_key(&id, |p| p.0)
    }

    /// Entry positions in scan order: the ones added since the build (the newest), then the rest.
    fn recency_order(&self) -> Vec<u32> {
        let n = self.entries.len() as u32;
        (self.built as u32..n).rev().chain(0..self.built as u32).collect()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn upsert(&mut self, lead: &Lead) {
        let e = Entry::of(lead);
        match self.position(lead.id) {
            Ok(p) => self.entries[self.positions[p].1 as usize] = e,
            Err(p) => {
                self.positions.insert(p, (lead.id, self.entries.len() as u32));
                self.entries.push(e);
            }
        }
        self.narrowing.clear();
    }

    /// Removes these leads in one pass over the index, however many (a bulk delete).
    pub fn remove_many(&mut self, ids: &[u64]) {
        let gone: std::collections::HashSet<u64> =
            ids.iter().copied().filter(|id| self.position(*id).is_ok()).collect();
        if gone.is_empty() {
            return;
        }
        let built_gone = self.entries[..self.built].iter().filter(|e| gone.contains(&e.id)).count();
        self.entries.retain(|e| !gone.contains(&e.id));
        self.built -= built_gone;
        self.positions = positions_of(&self.entries);
        self.narrowing.clear();
    }

    /// Like `top`, but remembers each query's full match set so that the next keystroke (typing on or
    /// backspacing) scores only the entries that can still match.
    pub fn search(&mut self, query: &str, k: usize) -> Vec<Hit> {
        self.search_progressive(query, k, None, Duration::MAX, &mut |_| true).unwrap_or_default()
    }

    /// `search`, in chunks, most recently updated leads first. Once `budget` has passed with part
    /// of the index still to score, `progress` gets a first ranking of what was scored so far
    /// (it answers whether to go on; false, say because a newer query arrived, abandons the
    /// search and returns None). The returned hits are the final ranking over everything.
    /// `within` restricts the ranking to the leads it accepts (those passing the view's filters),
    /// so a match that passes them is never crowded out by better ones that do not.
    pub fn search_progressive(
        &mut self,
        query: &str,
        k: usize,
        within: Option<&(dyn Fn(u64) -> bool + Sync)>,
        budget: Duration,
        progress: &mut dyn FnMut(Vec<Hit>) -> bool,
    ) -> Option<Vec<Hit>> {
        let start = Instant::now();
        // Only plain typing narrows: a negated term ("!x") matches more as it grows.
        let narrows = |prev: &str| query.starts_with(prev) && !query.contains('!');
        while self.narrowing.last().is_some_and(|(prev, _)| !narrows(prev)) {
            self.narrowing.pop();
        }
        let compiled = Compiled::new(query);
        let entries = &self.entries;
        let all;
        let candidates: &[u32] = match self.narrowing.last() {
            Some((_, c)) => c,
            None => {
                all = self.recency_order();
                &all
            }
        };
        // Without a filter the ranking works in place; with one, on the (smaller) accepted part.
        let ranked = |scored: &mut Vec<(u32, u32)>| match within {
            None => rank(entries, scored, k),
            Some(ok) => {
                let mut kept: Vec<(u32, u32)> =
                    scored.iter().copied().filter(|&(i, _)| ok(entries[i as usize].id)).collect();
                rank(entries, &mut kept, k)
            }
        };
        let mut scored: Vec<(u32, u32)> = Vec::new();
        let mut told = false;
        let chunks = candidates.len().div_ceil(SCAN_CHUNK);
        for (n, chunk) in candidates.chunks(SCAN_CHUNK).enumerate() {
            scored.extend(score(entries, chunk, &compiled, &|_| true));
            let more = n + 1 < chunks;
            if more && !told && start.elapsed() >= budget {
                told = true;
                if !progress(ranked(&mut scored)) {
                    return None;
                }
            }
        }
        let best = ranked(&mut scored);
        self.narrowing.push((query.to_string(), scored.into_iter().map(|(i, _)| i).collect()));
        Some(best)
    }

    /// The best `k` matches for `query`, best first (score, then most recently updated, then the
    /// highest id). `allowed` restricts the search to leads passing the facet filters.
    pub fn top(&self, query: &str, k: usize, allowed: &(dyn Fn(u64) -> bool + Sync)) -> Vec<Hit> {
        let mut scored = score(&self.entries, &self.recency_order(), &Compiled::new(query), allowed);
        rank(&self.entries, &mut scored, k)
    }

    /// Every match for `query` among the leads `allowed` passes, in `top`'s order: what a script
    /// asks for, with no display cap.
    pub fn ranked(&self, query: &str, allowed: &(dyn Fn(u64) -> bool + Sync)) -> Vec<Hit> {
        self.top(query, usize::MAX, allowed)
    }
}

/// A query as the scorer takes it: the fuzzy pattern, the characters every match must have, and
/// the text to look for literally when it is one plain ASCII word.
struct Compiled {
    pattern: Pattern,
    need: u64,
    literal: Option<Vec<u8>>,
}

/// Bonuses over nucleo's fuzzy score (a few hundred for a short query): the query found as typed,
/// in any case, ranks above fuzzy matches spread over several fields (a username's digits
/// completed by a phone's), and found as a whole word (a username, a tag) above that.
const LITERAL_BONUS: u32 = 1_000;
const WORD_BONUS: u32 = 2_000;

impl Compiled {
    fn new(query: &str) -> Compiled {
        let t = query.trim();
        let plain = t.len() >= 3
            && t.is_ascii()
            && !t.contains(|c: char| c.is_whitespace() || matches!(c, '^' | '$' | '\'' | '!'));
        Compiled {
            pattern: Pattern::parse(query, CaseMatching::Smart, Normalization::Smart),
            need: query_mask(query),
            literal: plain.then(|| t.trim_start_matches('@').to_ascii_lowercase().into_bytes()),
        }
    }

    fn score(&self, e: &Entry, matcher: &mut Matcher, buf: &mut Vec<char>) -> Option<u32> {
        let fuzzy = self.pattern.score(e.text(buf), matcher)?;
        Some(fuzzy + self.literal.as_deref().map_or(0, |q| literal_bonus(e.haystack.as_bytes(), q)))
    }
}

fn literal_bonus(hay: &[u8], q: &[u8]) -> u32 {
    let mut best = 0;
    for (i, w) in hay.windows(q.len()).enumerate() {
        if w.eq_ignore_ascii_case(q) {
            let starts = i == 0 || matches!(hay[i - 1], b' ' | b'@' | b'+');
            let ends = hay.get(i + q.len()).is_none_or(|b| *b == b' ');
            if starts && ends {
                return WORD_BONUS;
            }
            best = LITERAL_BONUS;
        }
    }
    best
}

/// (position, score) of every candidate that passes `allowed` and matches the query, scored in
/// parallel: the one scoring loop behind every search.
fn score(
    entries: &[Entry],
    candidates: &[u32],
    query: &Compiled,
    allowed: &(dyn Fn(u64) -> bool + Sync),
) -> Vec<(u32, u32)> {
    candidates
        .par_chunks(8 * 1024)
        .map(|chunk| {
            let (mut matcher, mut buf) = (Matcher::new(Config::DEFAULT), Vec::new());
            chunk
                .iter()
                .filter(|&&i| {
                    let e = &entries[i as usize];
                    e.mask & query.need == query.need && allowed(e.id)
                })
                .filter_map(|&i| query.score(&entries[i as usize], &mut matcher, &mut buf).map(|s| (i, s)))
                .collect::<Vec<_>>()
        })
        .flatten()
        .collect()
}

/// Whether `lead` matches `query` the way the search does (for counting saved segments).
pub struct QueryMatcher {
    pattern: Pattern,
    matcher: Matcher,
    buf: Vec<char>,
}

impl QueryMatcher {
    pub fn new(query: &str) -> QueryMatcher {
        let pattern = Pattern::parse(query, CaseMatching::Smart, Normalization::Smart);
        QueryMatcher { pattern, matcher: Matcher::new(Config::DEFAULT), buf: Vec::new() }
    }

    pub fn matches(&mut self, lead: &Lead) -> bool {
        let text = haystack(lead);
        self.pattern.score(utf32(&text, &mut self.buf), &mut self.matcher).is_some()
    }
}

/// Character positions of `query`'s match in `text`, for highlighting a visible cell.
pub fn highlight(query: &str, text: &str) -> Vec<usize> {
    Highlighter::new(query).positions(text)
}

/// Highlights for many cells with one matcher: drawing a screen of results makes one of these.
pub struct Highlighter {
    pattern: Option<Pattern>,
    matcher: Matcher,
    buf: Vec<char>,
    indices: Vec<u32>,
}

impl Highlighter {
    pub fn new(query: &str) -> Highlighter {
        let pattern =
            (!query.trim().is_empty()).then(|| Pattern::parse(query, CaseMatching::Smart, Normalization::Smart));
        Highlighter { pattern, matcher: Matcher::new(Config::DEFAULT), buf: Vec::new(), indices: Vec::new() }
    }

    pub fn positions(&mut self, text: &str) -> Vec<usize> {
        let Some(pattern) = &self.pattern else { return Vec::new() };
        self.indices.clear();
        pattern.indices(utf32(text, &mut self.buf), &mut self.matcher, &mut self.indices);
        self.indices.sort_unstable();
        self.indices.dedup();
        self.indices.iter().map(|&i| i as usize).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{LeadInput, Source};
    use crate::store::merge::{create, Withheld};

    fn lead(id: u64, first: &str, username: &str, updated: i64) -> Lead {
        let c = LeadInput { first_name: Some(first.into()), username: Some(username.into()), ..Default::default() }
            .validate(Source::Manual, None)
            .unwrap();
        let mut l = create(id, "u:t", "t", updated, &c, Withheld::default()).0;
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
                lead(
                    i,
                    ["Ann", "Anna", "Joanna", "Hanna", "Boris"][i as usize % 5],
                    &format!("user_{i:03}"),
                    i as i64 / 7,
                )
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
            let expected: Vec<u64> = idx
                .entries
                .iter()
                .filter(|e| pattern.score(e.text(&mut buf), &mut m).is_some())
                .map(|e| e.id)
                .collect();
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
}
