//! The filter pane: saved segments and every facet value with its live count.

use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Paragraph};
use ratatui::Frame;

use super::window_start;
use crate::tui::model::{Focus, Model};
use crate::tui::theme;

pub fn draw(m: &Model, f: &mut Frame, area: Rect) {
    let focused = m.focus == Focus::Filter;
    let block = Block::default().borders(Borders::ALL).border_style(theme::border(focused)).title(" Filters ");
    let height = block.inner(area).height as usize;
    let rows = m.facet_rows();
    let mut lines: Vec<(Option<usize>, Line)> = Vec::new();
    let mut last_kind = None;
    for (i, (facet, count)) in rows.iter().enumerate() {
        if last_kind != Some(facet.kind()) {
            lines.push((
                None,
                Line::styled(facet.kind().heading(), theme::dim().add_modifier(ratatui::style::Modifier::BOLD)),
            ));
            last_kind = Some(facet.kind());
        }
        let on = m.facet_on(facet);
        let mark = if on { "[x]" } else { "[ ]" };
        let width = area.width.saturating_sub(12) as usize;
        let value: String = facet.value().chars().take(width).collect();
        let mut line = Line::from(format!("{mark} {value:<width$} {count:>5}"));
        if focused && i == m.facet_cursor {
            line = line.style(theme::cursor_row());
        } else if on {
            line = line.style(theme::accent());
        }
        lines.push((Some(i), line));
    }
    // Keep the facet cursor on screen.
    let cursor_line = lines.iter().position(|(i, _)| *i == Some(m.facet_cursor)).unwrap_or(0);
    let start = window_start(cursor_line, height, lines.len());
    let visible: Vec<Line> = lines.into_iter().skip(start).take(height).map(|(_, l)| l).collect();
    f.render_widget(Paragraph::new(visible).block(block), area);
}
