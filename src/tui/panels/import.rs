//! The import panel (`i`): a path with Tab completion, a preview (format, encoding, delimiter,
//! mapping, and a dry run's counts), the running import, and its summary. Pure: the executor lists
//! directories and runs the import, and answers with messages.

use crossterm::event::KeyEvent;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Gauge, Paragraph, Wrap};
use ratatui::Frame;

use super::{Field, Reply};
use crate::import::{Counts, ImportProgress, ImportSummary, Inspection};
use crate::tui::keymap::{Action, Keymap, Scope};
use crate::tui::msg::Effect;
use crate::tui::theme;

#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    /// Typing a path.
    Path,
    /// Reading the file's head and counting a dry run.
    Inspecting,
    Preview {
        inspection: Box<Inspection>,
        dry: Counts,
    },
    Running {
        progress: Option<ImportProgress>,
        cancelling: bool,
    },
    Done(Box<ImportSummary>),
    Failed(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct ImportPanel {
    pub path: Field,
    /// What Tab found when the typed prefix had several matches.
    pub completions: Vec<String>,
    pub stage: Stage,
}

impl Default for ImportPanel {
    fn default() -> Self {
        ImportPanel { path: Default::default(), completions: Vec::new(), stage: Stage::Path }
    }
}

impl ImportPanel {
    pub fn running(&self) -> bool {
        matches!(self.stage, Stage::Running { .. })
    }

    pub fn path(&self) -> String {
        self.path.text()
    }

    /// Opening the panel after an import ended starts over at the path.
    pub fn open(&mut self) {
        if matches!(self.stage, Stage::Done(_) | Stage::Failed(_)) {
            self.stage = Stage::Path;
        }
    }

    pub fn on_key(&mut self, k: KeyEvent, keys: &Keymap) -> Reply {
        let action = match self.stage {
            Stage::Path => keys.command(k, &[Scope::Global]),
            _ => keys.action(k, &[Scope::Panel, Scope::Global]),
        };
        match (&self.stage, action) {
            // Hiding the panel leaves a running import running; the status bar shows it.
            (Stage::Running { .. }, Some(Action::Back)) => Reply::close(),
            (Stage::Running { cancelling: false, .. }, Some(Action::CancelJob)) => {
                if let Stage::Running { cancelling, .. } = &mut self.stage {
                    *cancelling = true;
                }
                Reply::effects(vec![Effect::CancelImport])
            }
            (Stage::Running { .. }, _) => Reply::stay(),
            (Stage::Path, Some(Action::Back)) => Reply::close(),
            (Stage::Done(_) | Stage::Failed(_), Some(Action::Back | Action::Open)) => {
                self.stage = Stage::Path;
                Reply::close()
            }
            // Going back from a preview stops its dry run: on a large file it can take a while.
            (Stage::Inspecting, Some(Action::Back)) => {
                self.stage = Stage::Path;
                Reply::effects(vec![Effect::CancelPreview])
            }
            (Stage::Preview { .. }, Some(Action::Back)) => {
                self.stage = Stage::Path;
                Reply::stay()
            }
            (Stage::Path, Some(Action::NextPane)) => Reply::effects(vec![Effect::CompletePath(self.path())]),
            (Stage::Path, Some(Action::Open)) if !self.path().is_empty() => {
                self.completions.clear();
                self.stage = Stage::Inspecting;
                Reply::effects(vec![Effect::PreviewImport(self.path())])
            }
            (Stage::Preview { .. }, Some(Action::Open)) => {
                self.stage = Stage::Running { progress: None, cancelling: false };
                Reply::effects(vec![Effect::RunImport(self.path())])
            }
            (Stage::Path, _) => {
                if self.path.type_key(k) {
                    self.completions.clear();
                }
                Reply::stay()
            }
            _ => Reply::stay(),
        }
    }

    /// Tab's answer: complete the typed path, unless it has changed since.
    pub fn completed(&mut self, typed: &str, entries: &[String]) {
        if self.path() == typed.trim() {
            let (completed, shown) = complete(typed, entries);
            self.path = Field::new(&completed);
            self.completions = shown;
        }
    }

    pub fn previewed(&mut self, result: Result<(Box<Inspection>, Counts), String>) {
        if self.stage == Stage::Inspecting {
            self.stage = match result {
                Ok((inspection, dry)) => Stage::Preview { inspection, dry },
                Err(e) => Stage::Failed(e),
            };
        }
    }

    pub fn progressed(&mut self, p: ImportProgress) {
        if let Stage::Running { progress, .. } = &mut self.stage {
            *progress = Some(p);
        }
    }

    /// The import ended; answers the line for the status bar.
    pub fn done(&mut self, result: Result<Box<ImportSummary>, String>) -> (String, bool) {
        let line = match &result {
            Ok(s) => {
                let c = &s.counts;
                let how = if s.cancelled { "cancelled" } else { "done" };
                (format!("import {how}: {} created, {} updated, {} rejected", c.created, c.updated, c.rejected), false)
            }
            Err(e) => (e.clone(), true),
        };
        self.stage = match result {
            Ok(s) => Stage::Done(s),
            Err(e) => Stage::Failed(e),
        };
        line
    }

    /// The running import in one line, for the status bar.
    pub fn status(&self) -> Option<String> {
        match &self.stage {
            Stage::Running { progress: Some(p), .. } => Some(format!("import {}", progress_line(p))),
            _ => None,
        }
    }

    pub fn draw(&self, f: &mut Frame) {
        let full = f.area();
        let area = theme::centered(full, full.width.min(90), full.height.saturating_sub(2).min(24));
        f.render_widget(Clear, area);
        let hint = match &self.stage {
            Stage::Path => " Tab complete · Enter preview · Esc close ",
            Stage::Inspecting => " counting with a dry run… · Esc back ",
            Stage::Preview { .. } => " Enter import · Esc back ",
            Stage::Running { .. } => " x cancel · Esc hide (it keeps running) ",
            Stage::Done(_) | Stage::Failed(_) => " Enter/Esc close ",
        };
        let block =
            theme::popup(" Import a CSV, TSV or Excel/ODS file ").title_bottom(Line::from(hint).right_aligned());
        let inner = block.inner(area);
        f.render_widget(block, area);
        let dim = theme::dim();
        let mut lines = vec![Line::from(vec![Span::styled(" File ", dim), Span::raw(self.path.0.value().to_string())])];
        if !self.completions.is_empty() {
            let shown: Vec<&str> = self.completions.iter().take(8).map(String::as_str).collect();
            let more = self.completions.len().saturating_sub(shown.len());
            let tail = if more > 0 { format!("  (+{more})") } else { String::new() };
            lines.push(Line::styled(format!("      {}{tail}", shown.join("  ")), dim));
        }
        lines.push(Line::raw(""));
        match &self.stage {
            Stage::Path => lines.push(Line::styled(" type a path; Tab completes it like a shell", dim)),
            Stage::Inspecting => lines.push(Line::styled(" reading the file and counting a dry run…", dim)),
            Stage::Preview { inspection, dry } => lines.extend(preview_lines(inspection, dry)),
            Stage::Running { progress, cancelling } => {
                let ratio = progress.as_ref().and_then(|p| p.fraction).unwrap_or(0.0).clamp(0.0, 1.0);
                let label = progress.as_ref().map(progress_line).unwrap_or_else(|| "starting…".into());
                let c = progress.as_ref().map(|p| p.counts).unwrap_or_default();
                lines.push(Line::raw(format!(
                    " {} new · {} updated · {} rejected{}",
                    c.created,
                    c.updated,
                    c.rejected,
                    if *cancelling { " · cancelling after this chunk…" } else { "" }
                )));
                f.render_widget(Paragraph::new(lines), inner);
                let gauge_area =
                    Rect { x: inner.x + 1, y: inner.y + 4, width: inner.width.saturating_sub(2), height: 1 };
                f.render_widget(Gauge::default().gauge_style(theme::accent()).ratio(ratio).label(label), gauge_area);
                return;
            }
            Stage::Done(s) => lines.extend(summary_lines(s)),
            Stage::Failed(e) => lines.push(Line::styled(format!(" {e}"), theme::error())),
        }
        f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
        if self.stage == Stage::Path {
            let x = self.path.0.visual_cursor().min(inner.width.saturating_sub(7) as usize) as u16;
            f.set_cursor_position((inner.x + 6 + x, inner.y));
        }
    }
}

/// "12,000 rows · 45% · 52,000 rows/s · ETA 3s": a running import in one line.
fn progress_line(p: &ImportProgress) -> String {
    let pct = p.fraction.map(|f| format!(" · {:.0}%", f * 100.0)).unwrap_or_default();
    let eta = p.eta().map(|d| format!(" · ETA {:.0}s", d.as_secs_f64().ceil())).unwrap_or_default();
    format!("{} rows{pct} · {:.0} rows/s{eta}", p.counts.rows, p.rows_per_sec())
}

fn preview_lines(i: &Inspection, dry: &Counts) -> Vec<Line<'static>> {
    let mut what = vec![i.format.clone()];
    what.extend(i.encoding.clone());
    what.extend(i.delimiter.clone().map(|d| format!("delimited by {d}")));
    what.extend(i.sheet.clone().map(|s| format!("sheet {s}")));
    let mut lines = vec![Line::raw(format!(" {}", what.join(" · "))), Line::styled(" Columns", theme::heading())];
    for (header, field) in i.mapping.iter().take(10) {
        lines.push(Line::raw(format!("   {header:<24} → {field}")));
    }
    if i.mapping.len() > 10 {
        lines.push(Line::styled(format!("   … and {} more", i.mapping.len() - 10), theme::dim()));
    }
    for w in i.warnings.iter().take(2) {
        lines.push(Line::styled(format!(" {w}"), theme::warning()));
    }
    lines.push(Line::styled(
        format!(
            " dry run: {} rows → {} new, {} updated, {} unchanged, {} rejected",
            dry.rows, dry.created, dry.updated, dry.unchanged, dry.rejected
        ),
        theme::ok(),
    ));
    lines
}

fn summary_lines(s: &ImportSummary) -> Vec<Line<'static>> {
    let c = &s.counts;
    let head = if s.cancelled { "cancelled; what was committed stays" } else { "done" };
    let mut lines = vec![
        Line::styled(
            format!(" {head} in {:.1}s ({:.0} rows/s)", s.elapsed_ms as f64 / 1000.0, s.rows_per_sec),
            theme::ok(),
        ),
        Line::raw(format!(
            " {} rows: {} created, {} updated, {} unchanged, {} rejected",
            c.rows, c.created, c.updated, c.unchanged, c.rejected
        )),
    ];
    if let Some(m) = &s.messages {
        lines.push(Line::raw(format!(
            " {} messages: {} imported, {} unchanged, {} rejected; {} service messages skipped",
            m.read, m.imported, m.unchanged, m.rejected, m.service
        )));
    }
    match &s.report {
        Some(r) => lines.push(Line::raw(format!(" rejected rows with the reason: {}", r.display()))),
        None => lines.push(Line::styled(" no rows were rejected", theme::dim())),
    }
    for e in s.first_errors.iter().take(5) {
        lines.push(Line::styled(format!("   {e}"), theme::error()));
    }
    lines
}

/// Where the typed path's last component starts: the directory part, and the prefix to complete.
pub fn split_path(typed: &str) -> (&str, &str) {
    match typed.rfind('/') {
        Some(i) => (&typed[..=i], &typed[i + 1..]),
        None => ("", typed),
    }
}

/// Completes `typed` from `entries` (names in its directory, directories ending in `/`): one
/// match completes fully, several complete to their longest common prefix and are returned.
pub fn complete(typed: &str, entries: &[String]) -> (String, Vec<String>) {
    let (dir, prefix) = split_path(typed);
    // Hidden files only when asked for, as shells do.
    let mut matches: Vec<&String> =
        entries.iter().filter(|e| e.starts_with(prefix) && (prefix.starts_with('.') || !e.starts_with('.'))).collect();
    matches.sort();
    match matches.as_slice() {
        [] => (typed.to_string(), Vec::new()),
        [one] => (format!("{dir}{one}"), Vec::new()),
        many => {
            let first = many[0].as_str();
            let common = many.iter().fold(first.len(), |n, m| {
                first
                    .chars()
                    .zip(m.chars())
                    .take_while(|(a, b)| a == b)
                    .map(|(a, _)| a.len_utf8())
                    .sum::<usize>()
                    .min(n)
            });
            (format!("{dir}{}", &first[..common]), many.iter().map(|m| m.to_string()).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn tab_completes_one_match_fully_and_several_to_their_common_prefix() {
        let entries = names(&["leads-2025.csv", "leads-2026.xlsx", "notes/", ".hidden.csv"]);
        assert_eq!(complete("n", &entries), ("notes/".into(), vec![]));
        assert_eq!(
            complete("data/le", &entries),
            ("data/leads-202".into(), names(&["leads-2025.csv", "leads-2026.xlsx"]))
        );
        assert_eq!(complete("zzz", &entries), ("zzz".into(), vec![]));
        assert_eq!(complete(".h", &entries), (".hidden.csv".into(), vec![]));
        assert_eq!(complete("", &entries).1.len(), 3, "hidden files only when asked for");
        assert_eq!(split_path("/tmp/x/ab"), ("/tmp/x/", "ab"));
        let cyrillic = names(&["лиды-1.csv", "лиды-2.csv"]);
        assert_eq!(complete("ли", &cyrillic).0, "лиды-");
    }
}
