//! Fuzzy search over leads: nucleo's matcher for scoring, but not its worker (which sorts every
//! match and costs 0.2-0.8 s per keystroke at 1M items on 2 cores). Haystacks are converted once;
//! a query scores chunks in parallel, then the best k are selected in place (k unbounded for scripts).

use std::cmp::Reverse;
use std::time::{Duration, Instant};

use nucleo_matcher::pattern::{CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};
use rayon::prelude::*;

use crate::chunks::{Chunks, Sorted};
use crate::model::Lead;

pub mod select;
pub use select::Selection;

/// One lead as the index holds it. The haystack stays UTF-8: nucleo reads ASCII text in place, and
/// only the entries that pass the character mask are widened to chars (a quarter of the memory of
/// keeping every non-ASCII haystack as `char`s).
#[derive(Clone)]
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

    /// What a removed lead's entry becomes: it keeps the other entries' positions and matches nothing.
    fn removed() -> Entry {
        Entry { id: REMOVED, updated_at: 0, mask: 0, haystack: "".into() }
    }

    fn text<'a>(&'a self, buf: &'a mut Vec<char>) -> Utf32Str<'a> {
        utf32(&self.haystack, buf)
    }
}

/// The id of a removed entry (lead ids start at 1).
const REMOVED: u64 = 0;

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

/// A clone shares the entries (chunks copied on write, see `crate::chunks`) but not the
/// narrowing sets: every session of a workspace reads one index and narrows its own queries.
#[derive(Default)]
pub struct SearchIndex {
    /// Most recently updated first, as built; entries added later are appended. A removed lead's
    /// entry stays in place as `Entry::removed`, so positions never move under a reader.
    entries: Chunks<Entry>,
    /// (lead id, position in `entries`) sorted by id: an upsert finds its entry by binary search,
    /// at a third of a hash map's memory. New leads have the highest ids, so they append.
    positions: Sorted<(u64, u32)>,
    /// Entries before this were sorted by recency at build; those after are newer.
    built: usize,
    /// Removed entries still in place; past a quarter of them the entries are compacted.
    removed: usize,
    /// Every entry matching each query typed so far, prefixes first: typing on only narrows a match,
    /// so the next keystroke scores just these; backspacing returns to a stored set.
    narrowing: Vec<(String, Vec<u32>)>,
}

/// The match sets of the queries typed so far (see `SearchIndex::narrowing`), carried from one
/// search to the next of the same version without keeping that version's index.
#[derive(Default)]
pub struct Narrowing(Vec<(String, Vec<u32>)>);

impl SearchIndex {
    /// Takes the match sets out, to go on with them in another clone of this same version.
    pub fn take_narrowing(&mut self) -> Narrowing {
        Narrowing(std::mem::take(&mut self.narrowing))
    }

    /// Goes on from match sets taken from a clone of this same version.
    pub fn with_narrowing(mut self, narrowing: Narrowing) -> SearchIndex {
        self.narrowing = narrowing.0;
        self
    }
}

impl Clone for SearchIndex {
    fn clone(&self) -> Self {
        SearchIndex {
            entries: self.entries.clone(),
            positions: self.positions.clone(),
            built: self.built,
            removed: self.removed,
            narrowing: Vec::new(),
        }
    }
}

/// Entries scored between two looks at the clock: a few milliseconds of work on two cores.
const SCAN_CHUNK: usize = 16 * 1024;

/// The best `k` of `scored`, best first: score, then the most recently updated. Works in place
/// (the order of `scored` is not kept), so ranking a million matches allocates only the `k` hits.
fn rank(entries: &Chunks<Entry>, scored: &mut [(u32, u32)], k: usize) -> Vec<Hit> {
    // Entries are read only to break a tie of scores.
    let recency = |i: u32| {
        let e = &entries[i as usize];
        (e.updated_at, e.id)
    };
    let best_first = |a: &(u32, u32), b: &(u32, u32)| b.1.cmp(&a.1).then_with(|| recency(b.0).cmp(&recency(a.0)));
    let top = if scored.len() > k {
        scored.select_nth_unstable_by(k, best_first);
        &mut scored[..k]
    } else {
        &mut scored[..]
    };
    top.sort_unstable_by(best_first);
    top.iter().map(|&(i, score)| Hit { id: entries[i as usize].id, score }).collect()
}

/// (lead id, position) for every entry still there, sorted by id.
fn positions_of(entries: &Chunks<Entry>) -> Sorted<(u64, u32)> {
    let mut positions: Vec<(u64, u32)> =
        entries.iter().enumerate().filter(|(_, e)| e.id != REMOVED).map(|(i, e)| (e.id, i as u32)).collect();
    positions.par_sort_unstable();
    positions.dedup_by_key(|p| p.0);
    Sorted::from_sorted(positions)
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
        let entries = Chunks::from_vec(entries);
        let positions = positions_of(&entries);
        let built = entries.len();
        SearchIndex { entries, positions, built, removed: 0, narrowing: Vec::new() }
    }

    fn position(&self, id: u64) -> Option<usize> {
        self.positions.get(id).map(|p| p.1 as usize)
    }

    /// Entry positions in scan order: the ones added since the build (the newest), then the rest.
    fn recency_order(&self) -> Vec<u32> {
        let n = self.entries.len() as u32;
        (self.built as u32..n).rev().chain(0..self.built as u32).collect()
    }

    /// How many leads it holds.
    pub fn len(&self) -> usize {
        self.positions.len()
    }

    pub fn is_empty(&self) -> bool {
        self.positions.is_empty()
    }

    pub fn upsert(&mut self, lead: &Lead) {
        let e = Entry::of(lead);
        match self.position(lead.id) {
            Some(p) => self.entries.set(p, e),
            None => {
                self.positions.upsert((lead.id, self.entries.len() as u32));
                self.entries.push(e);
            }
        }
        self.narrowing.clear();
    }

    /// Removes these leads, however many (a bulk delete): their entries are blanked in place,
    /// and only when a quarter of the index is blank is it compacted.
    pub fn remove_many(&mut self, ids: &[u64]) {
        let mut gone: Vec<u64> = ids.iter().copied().filter(|id| self.position(*id).is_some()).collect();
        if gone.is_empty() {
            return;
        }
        gone.sort_unstable();
        gone.dedup();
        for id in &gone {
            if let Some(p) = self.position(*id) {
                self.entries.set(p, Entry::removed());
            }
        }
        self.positions.remove_sorted(&gone);
        self.removed += gone.len();
        self.narrowing.clear();
        if self.removed > 1024 && self.removed * 4 > self.entries.len() {
            self.compact();
        }
    }

    /// Drops the removed entries: every position changes, so this version shares nothing after.
    fn compact(&mut self) {
        let built = self.entries.iter().take(self.built).filter(|e| e.id != REMOVED).count();
        let live: Vec<Entry> = self.entries.iter().filter(|e| e.id != REMOVED).cloned().collect();
        self.entries = Chunks::from_vec(live);
        self.positions = positions_of(&self.entries);
        (self.built, self.removed) = (built, 0);
    }

    /// How many of the entry chunks are the very ones `other` holds: what two versions share.
    pub fn shared_chunks(&self, other: &SearchIndex) -> (usize, usize) {
        (self.entries.shared_chunks(&other.entries), self.entries.chunk_count())
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
    entries: &Chunks<Entry>,
    candidates: &[u32],
    query: &Compiled,
    allowed: &(dyn Fn(u64) -> bool + Sync),
) -> Vec<(u32, u32)> {
    candidates
        .par_chunks(8 * 1024)
        .map(|chunk| {
            let (mut matcher, mut buf) = (Matcher::new(Config::DEFAULT), Vec::new());
            let mut read = entries.reader();
            chunk
                .iter()
                .filter_map(|&i| {
                    let e = read.get(i as usize);
                    if e.id == REMOVED || e.mask & query.need != query.need || !allowed(e.id) {
                        return None;
                    }
                    query.score(e, &mut matcher, &mut buf).map(|s| (i, s))
                })
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
mod tests;
