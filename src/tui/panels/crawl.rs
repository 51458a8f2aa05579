//! The crawl panel (`c`): a target, a method, the running crawl's live figures and the past
//! crawls with their cache age. Hidden with Esc, the crawl goes on and the status bar shows it.

use crossterm::event::{KeyCode, KeyEvent};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

use super::{Field, Reply};
use crate::crawl::{Counts, Method, State as CrawlState, Summary};
use crate::tui::keymap::{Action, Keymap, Scope};
pub use crate::tui::msg::PastCrawl;
use crate::tui::msg::{CrawlTick, Effect};
use crate::tui::theme;

/// The method choices; Tab cycles through them.
pub const CRAWL_METHODS: &[(Option<Method>, &str)] = &[
    (None, "auto"),
    (Some(Method::Participants), "participants"),
    (Some(Method::Search), "search"),
    (Some(Method::Admins), "admins"),
    (Some(Method::History), "history"),
    (Some(Method::Linked), "linked"),
];

/// A crawl the TUI started, as its progress describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrawlJob {
    pub target: String,
    pub title: String,
    pub methods: Vec<Method>,
    pub counts: Counts,
    pub running: bool,
    /// Every account is waiting: seconds until the crawl resumes by itself.
    pub waiting: Option<u64>,
    pub last_flood: Option<(String, u64)>,
    /// How it ended: the summary line, and whether it failed.
    pub outcome: Option<(String, bool)>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CrawlPanel {
    pub target: Field,
    /// An index into `CRAWL_METHODS`.
    pub method: usize,
    pub job: Option<CrawlJob>,
    pub past: Vec<PastCrawl>,
}

impl CrawlPanel {
    pub fn running(&self) -> bool {
        self.job.as_ref().is_some_and(|j| j.running)
    }

    pub fn on_key(&mut self, k: KeyEvent, keys: &Keymap) -> Reply {
        let running = self.running();
        let action =
            if running { keys.action(k, &[Scope::Panel, Scope::Global]) } else { keys.command(k, &[Scope::Global]) };
        match action {
            // The crawl goes on; the status bar keeps showing it.
            Some(Action::Back) => Reply::close(),
            Some(Action::CancelJob) if running => Reply::effects(vec![Effect::CancelCrawl]),
            Some(Action::NextPane) if !running => {
                self.method = (self.method + 1) % CRAWL_METHODS.len();
                Reply::stay()
            }
            _ if !running && k.code == KeyCode::BackTab => {
                self.method = (self.method + CRAWL_METHODS.len() - 1) % CRAWL_METHODS.len();
                Reply::stay()
            }
            Some(Action::Open) if !running => match crate::telegram::Target::parse(&self.target.text()) {
                Ok(t) => {
                    self.job = Some(CrawlJob { target: t.to_string(), running: true, ..CrawlJob::default() });
                    let start = Effect::StartCrawl { target: t, method: CRAWL_METHODS[self.method].0 };
                    Reply { effects: vec![start], clear_message: true, ..Reply::default() }
                }
                Err(e) => Reply::error(e),
            },
            _ if !running => {
                self.target.type_key(k);
                Reply::stay()
            }
            _ => Reply::stay(),
        }
    }

    pub fn on_event(&mut self, event: crate::crawl::Event) {
        let job = self.job.get_or_insert_with(CrawlJob::default);
        match event {
            crate::crawl::Event::Started { title, methods, .. } => {
                job.title = title;
                job.methods = methods;
            }
            crate::crawl::Event::Method(_) | crate::crawl::Event::Leads(_) => {}
            crate::crawl::Event::Progress(counts) => {
                job.counts = counts;
                job.waiting = None;
            }
            crate::crawl::Event::FloodWait { account, seconds } => job.last_flood = Some((account, seconds)),
            crate::crawl::Event::Waiting { seconds } => job.waiting = Some(seconds),
        }
    }

    /// The running crawl's newest figures; a tick that comes after the end changes nothing.
    pub fn on_tick(&mut self, tick: CrawlTick) {
        if let Some(job) = self.job.as_mut().filter(|j| j.running) {
            job.counts = tick.counts;
            job.waiting = tick.waiting;
        }
    }

    /// The crawl ended; answers the outcome line for the status bar.
    pub fn on_done(&mut self, result: Result<Summary, String>) -> (String, bool) {
        let job = self.job.get_or_insert_with(CrawlJob::default);
        job.running = false;
        job.waiting = None;
        let outcome = match result {
            Ok(s) if s.cache_used => {
                (format!("{}: from the cache, 0 requests; {} members", s.target, s.counts.members_seen), false)
            }
            Ok(s) => {
                let c = &s.counts;
                let how = if s.cancelled { "cancelled (run it again to resume)" } else { "done" };
                job.counts = c.clone();
                job.methods = s.methods.clone();
                let text = format!(
                    "{} {how}: {} members, {} new, {} updated, {} requests",
                    s.target, c.members_seen, c.created, c.updated, c.requests
                );
                (text, false)
            }
            Err(e) => (e, true),
        };
        job.outcome = Some(outcome.clone());
        outcome
    }

    /// The running crawl in a few words, for the status bar.
    pub fn status(&self) -> Option<String> {
        let job = self.job.as_ref().filter(|j| j.running)?;
        Some(match job.waiting {
            Some(secs) => format!("crawl {}: flood wait, resuming in {secs}s", job.target),
            None => format!("crawl {}: {} members, {} new", job.target, job.counts.members_seen, job.counts.created),
        })
    }

    pub fn draw(&self, f: &mut Frame, now: crate::model::Millis) {
        let running = self.running();
        let full = f.area();
        let area = theme::centered(full, full.width.min(84), full.height.saturating_sub(2).min(22));
        f.render_widget(Clear, area);
        let hint = if running {
            " x cancel · Esc hide (it keeps running) "
        } else {
            " Enter crawl · Tab method · Esc close "
        };
        let block = theme::popup(" Crawl a group or channel ").title_bottom(Line::from(hint).right_aligned());
        let inner = block.inner(area);
        f.render_widget(block, area);
        let label = theme::dim();
        let mut lines =
            vec![Line::from(vec![Span::styled(" Target  ", label), Span::raw(self.target.0.value().to_string())])];
        let methods: Vec<Span> = CRAWL_METHODS
            .iter()
            .enumerate()
            .map(|(i, (_, name))| {
                let style = if i == self.method { theme::chosen() } else { label };
                Span::styled(format!(" {name} "), style)
            })
            .collect();
        lines.push(Line::from([vec![Span::styled(" Method ", label)], methods].concat()));
        lines.push(Line::raw(""));
        if let Some(job) = &self.job {
            lines.extend(job_lines(job));
        }
        lines.push(Line::styled(" Past crawls", theme::heading()));
        if self.past.is_empty() {
            lines.push(Line::styled(" none yet: try @demo_small or @demo_big in the demo", label));
        }
        for p in &self.past {
            let age = p.finished_at.map(|t| crate::model::format_age(now - t)).unwrap_or_default();
            let state = match p.state {
                CrawlState::Done => format!("cached {age} ago"),
                CrawlState::Running => "stopped, resumes".into(),
                CrawlState::Cancelled => "cancelled, resumes".into(),
                CrawlState::Failed => "failed".into(),
            };
            lines.push(Line::raw(format!(" {:<20} {:<16} {:>6} members  {state}", p.target, p.title, p.members)));
        }
        f.render_widget(Paragraph::new(lines), inner);
        if !running {
            let x = self.target.0.visual_cursor().min(inner.width.saturating_sub(10) as usize) as u16;
            f.set_cursor_position((inner.x + 9 + x, inner.y));
        }
    }
}

fn job_lines(job: &CrawlJob) -> Vec<Line<'static>> {
    let title = if job.title.is_empty() { String::new() } else { format!(" ({})", job.title) };
    let methods: Vec<&str> = job.methods.iter().map(|m| m.as_str()).collect();
    let state = if job.running { "crawling" } else { "last crawl" };
    let c = &job.counts;
    let mut lines = vec![
        Line::styled(format!(" {state} {}{title} · {}", job.target, methods.join(" → ")), theme::bold()),
        Line::raw(format!(
            " {} members · {} new · {} updated · {} requests · {} flood waits",
            c.members_seen, c.created, c.updated, c.requests, c.flood_waits
        )),
    ];
    if let Some(secs) = job.waiting {
        lines.push(Line::styled(format!(" every account is in a flood wait: resuming in {secs}s"), theme::warning()));
    } else if let Some((account, secs)) = &job.last_flood {
        lines.push(Line::styled(format!(" account {account} hit FLOOD_WAIT {secs}s; others carry on"), theme::dim()));
    }
    if let Some((text, failed)) = &job.outcome {
        let style: Style = if *failed { theme::error() } else { theme::ok() };
        lines.push(Line::styled(format!(" {text}"), style));
    }
    lines.push(Line::raw(""));
    lines
}
