//! `reach bench search`: keystroke-to-results latency over synthetic leads, for our index and for
//! nucleo's stock `Nucleo` worker on the same data.

use std::sync::Arc;
use std::time::{Duration, Instant};

use nucleo_matcher::pattern::{CaseMatching, Normalization};
use rayon::prelude::*;

use super::synth;
use crate::model::{Lead, LeadInput, Source};
use crate::search::{haystack, SearchIndex};
use crate::store::merge::{create, Withheld};

/// What a user types: each query is typed a character at a time, then erased a character at a time.
const QUERIES: &[&str] = &["ivan", "mr_29", "+7916", "rust moscow", "vip", "Кузнецова", "acme inc", "tg_12345"];
/// Rows the screen shows; the rest of the ranking is not needed per keystroke.
const TOP: usize = 100;
/// The TUI's budget before it shows a first ranking (see `tui::SEARCH_BUDGET`).
const BUDGET: Duration = crate::tui::effects::SEARCH_BUDGET;

fn keystrokes() -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for q in QUERIES {
        let chars: Vec<char> = q.chars().collect();
        for n in 1..=chars.len() {
            out.push((chars[..n].iter().collect(), true));
        }
        for n in (1..chars.len()).rev() {
            out.push((chars[..n].iter().collect(), false));
        }
    }
    out
}

fn leads(n: u64) -> Vec<Lead> {
    (0..n)
        .into_par_iter()
        .filter_map(|i| {
            let s = synth::lead(7, i);
            let input = LeadInput {
                first_name: Some(s.first_name),
                last_name: Some(s.last_name),
                username: Some(s.username).filter(|u| !u.is_empty()),
                phone: Some(s.phone).filter(|p| !p.is_empty()),
                country: Some(s.country.to_string()),
                tags: s.tags.split(',').filter(|t| !t.is_empty()).map(String::from).collect(),
                group: Some(s.group).filter(|g| !g.is_empty()),
                fields: vec![("company".into(), s.company)],
                ..Default::default()
            };
            let c = input.validate(Source::Crawling, None).ok()?;
            Some(create(i + 1, "u:bench", "bench", i as i64, c, Withheld::default()).0)
        })
        .collect()
}

fn report(label: &str, mut times: Vec<Duration>) {
    times.sort_unstable();
    let at = |p: f64| super::percentile(&times, p).unwrap_or_default();
    println!(
        "{label:<28} keystrokes {:>4}   p50 {:>7.1} ms   p95 {:>7.1} ms   max {:>7.1} ms",
        times.len(),
        at(0.50).as_secs_f64() * 1e3,
        at(0.95).as_secs_f64() * 1e3,
        times.last().copied().unwrap_or_default().as_secs_f64() * 1e3
    );
}

pub fn run(n: u64) -> anyhow::Result<()> {
    let t = Instant::now();
    let leads = leads(n);
    println!("generated {} synthetic leads in {:.1}s", leads.len(), t.elapsed().as_secs_f64());

    super::reset_peak_rss();
    let t = Instant::now();
    let mut index = SearchIndex::build(&leads);
    println!(
        "reach index built in {:.2}s, process peak RSS {} (with the generated leads; `bench tui` measures the TUI alone)",
        t.elapsed().as_secs_f64(),
        super::peak_rss_mb().map(|m| format!("{m:.0} MB")).unwrap_or_else(|| "n/a".into())
    );
    // As the TUI does it: the first ranking after the budget (recent leads first), then the full one.
    let (mut first, mut full) = (Vec::new(), Vec::new());
    for (query, _) in keystrokes() {
        let t = Instant::now();
        let mut shown = None;
        let hits = index.search_progressive(&query, TOP, None, BUDGET, &mut |hits| {
            shown = Some(t.elapsed());
            std::hint::black_box(hits);
            true
        });
        let done = t.elapsed();
        std::hint::black_box(hits);
        first.push(shown.unwrap_or(done));
        full.push(done);
    }
    report("reach: first results", first);
    report("reach: full ranking", full);

    let mut nucleo = nucleo::Nucleo::new(nucleo::Config::DEFAULT, Arc::new(|| {}), None, 1);
    let injector = nucleo.injector();
    for (i, l) in leads.iter().enumerate() {
        injector.push(i as u32, |_, cols| cols[0] = haystack(l).as_str().into());
    }
    while nucleo.tick(50).running {}
    let mut stock = Vec::new();
    let mut previous = String::new();
    for (query, typing_on) in keystrokes() {
        let t = Instant::now();
        let append = typing_on && query.starts_with(&previous);
        nucleo.pattern.reparse(0, &query, CaseMatching::Smart, Normalization::Smart, append);
        while nucleo.tick(10).running {}
        let snap = nucleo.snapshot();
        let top: Vec<_> = snap.matched_items(..snap.matched_item_count().min(TOP as u32)).map(|m| *m.data).collect();
        stock.push(t.elapsed());
        std::hint::black_box(top);
        previous = query;
    }
    report("nucleo::Nucleo (baseline)", stock);
    Ok(())
}
