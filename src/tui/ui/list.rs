//! The lead list: only the rows on screen are built, and when the pane is narrow (the detail
//! open beside it) the least read columns go first, so the names people read keep their width.

use ratatui::layout::{Constraint, Margin, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table};
use ratatui::Frame;

use super::{thousands, window_start};
use crate::model::format_millis;
use crate::search::Highlighter;
use crate::tui::model::{Focus, Model};
use crate::tui::rows::{Row as LeadRow, Rows};
use crate::tui::theme;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Name,
    Username,
    Phone,
    Status,
    Priority,
    Source,
    Group,
    Tags,
    Updated,
}

impl Column {
    const ALL: [Column; 9] = [
        Column::Name,
        Column::Username,
        Column::Phone,
        Column::Status,
        Column::Priority,
        Column::Source,
        Column::Group,
        Column::Tags,
        Column::Updated,
    ];

    /// Which columns go first when the pane is too narrow for all of them at their least width.
    const DROP_ORDER: [Column; 6] =
        [Column::Updated, Column::Source, Column::Group, Column::Tags, Column::Priority, Column::Phone];

    fn header(self) -> &'static str {
        match self {
            Column::Name => "NAME",
            Column::Username => "USERNAME",
            Column::Phone => "PHONE",
            Column::Status => "STATUS",
            Column::Priority => "PRIORITY",
            Column::Source => "SOURCE",
            Column::Group => "GROUP",
            Column::Tags => "TAGS",
            Column::Updated => "UPDATED",
        }
    }

    fn constraint(self) -> Constraint {
        match self {
            Column::Name => Constraint::Fill(3),
            Column::Username | Column::Group | Column::Tags => Constraint::Fill(2),
            Column::Phone => Constraint::Length(14),
            Column::Status | Column::Priority => Constraint::Length(8),
            Column::Source => Constraint::Length(11),
            Column::Updated => Constraint::Length(10),
        }
    }

    /// The narrowest the column may get before another column is dropped instead.
    fn least(self) -> u16 {
        match self {
            Column::Name => 16,
            Column::Username => 14,
            Column::Group => 10,
            Column::Tags => 8,
            other => match other.constraint() {
                Constraint::Length(n) => n,
                _ => 8,
            },
        }
    }
}

/// The columns that fit `width` at their least widths, dropping in `DROP_ORDER`.
pub fn columns(width: u16) -> Vec<Column> {
    let mut cols = Column::ALL.to_vec();
    let need = |cols: &[Column]| cols.iter().map(|c| c.least() + 1).sum::<u16>().saturating_sub(1);
    for drop in Column::DROP_ORDER {
        if need(&cols) <= width {
            break;
        }
        cols.retain(|c| *c != drop);
    }
    cols
}

fn highlighted(text: &str, hl: &mut Highlighter) -> Line<'static> {
    let marks = hl.positions(text);
    if marks.is_empty() {
        return Line::raw(text.to_string());
    }
    Line::from(
        text.chars()
            .enumerate()
            .map(|(i, c)| {
                if marks.binary_search(&i).is_ok() {
                    Span::styled(c.to_string(), theme::highlight())
                } else {
                    Span::raw(c.to_string())
                }
            })
            .collect::<Vec<_>>(),
    )
}

fn cell(col: Column, l: &LeadRow, rows: &Rows, hl: &mut Highlighter, marked: bool) -> Cell<'static> {
    match col {
        Column::Name => {
            let name = format!("{}{} {}", if marked { "● " } else { "" }, l.first_name(), l.last_name());
            let mut line = highlighted(name.trim(), hl);
            // Unread messages: the name in bold with their count, as mail clients show them.
            if l.unread > 0 {
                line = line.patch_style(theme::bold());
                line.push_span(Span::styled(format!(" [{}]", l.unread), theme::unread()));
            }
            Cell::from(line)
        }
        Column::Username => {
            let username = if l.username().is_empty() { String::new() } else { format!("@{}", l.username()) };
            Cell::from(highlighted(&username, hl))
        }
        Column::Phone => Cell::from(l.phone().to_string()),
        Column::Status => Cell::from(Span::styled(l.status.to_string(), theme::status(l.status))),
        Column::Priority => Cell::from(l.priority.to_string()),
        Column::Source => Cell::from(l.source.to_string()),
        Column::Group => Cell::from(rows.str(l.group).to_string()),
        Column::Tags => Cell::from(l.tags().map(|t| rows.str(t)).collect::<Vec<_>>().join(",")),
        Column::Updated => Cell::from(format_millis(l.updated_at).get(..10).unwrap_or_default().to_string()),
    }
}

pub fn draw(m: &Model, f: &mut Frame, area: Rect) {
    let focused = m.focus == Focus::List;
    let what = if m.inbox { "Inbox" } else { "Leads" };
    let mut title = match (m.loading, m.marked.len()) {
        (true, _) if m.loaded_so_far > 0 => format!(" {what} (loading… {}) ", thousands(m.loaded_so_far as u64)),
        (true, _) => format!(" {what} (loading…) "),
        (false, 0) => format!(" {what} {} ", m.order.len()),
        (false, n) => format!(" {what} {} · {n} marked (actions apply to them) ", m.order.len()),
    };
    if m.inbox {
        title.push_str("· newest message first ");
    }
    if m.searching() {
        title.push_str("· searching… ");
    }
    let block = Block::default().borders(Borders::ALL).border_style(theme::border(focused)).title(title);
    let inner = block.inner(area);
    let height = inner.height.saturating_sub(1) as usize;
    let cols = columns(inner.width);
    let start = window_start(m.cursor, height, m.order.len());
    let query = m.query.value();
    // One matcher for the whole screen of rows.
    let mut hl = Highlighter::new(query);
    let rows: Vec<Row> = m.order[start..(start + height).min(m.order.len())]
        .iter()
        .enumerate()
        .filter_map(|(i, id)| {
            let lead = m.leads.get(*id)?;
            let marked = m.marked.contains(id);
            let row = Row::new(cols.iter().map(|c| cell(*c, lead, &m.leads, &mut hl, marked)).collect::<Vec<_>>());
            Some(if start + i == m.cursor { row.style(theme::cursor_row()) } else { row })
        })
        .collect();
    let header = Row::new(cols.iter().map(|c| c.header())).style(theme::bold());
    let table = Table::new(rows, cols.iter().map(|c| c.constraint())).header(header).block(block).column_spacing(1);
    f.render_widget(table, area);
    if m.order.is_empty() && !m.loading {
        let msg = if m.inbox && query.is_empty() {
            "no unread messages"
        } else if query.is_empty() {
            "no leads yet: reach import FILE, or reach lead add"
        } else {
            "no lead matches"
        };
        let inner = Rect { y: area.y + 2, height: 1, ..area.inner(Margin::new(2, 0)) };
        f.render_widget(Paragraph::new(msg).style(theme::dim()), inner);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_panes_drop_the_least_read_columns_first() {
        assert_eq!(columns(200), Column::ALL.to_vec());
        let at_160_with_detail = columns(75);
        assert!(!at_160_with_detail.contains(&Column::Updated));
        assert!(!at_160_with_detail.contains(&Column::Source));
        assert!(!at_160_with_detail.contains(&Column::Group));
        assert!(at_160_with_detail.contains(&Column::Username) && at_160_with_detail.contains(&Column::Status));
        let tiny = columns(30);
        assert_eq!(tiny, vec![Column::Name, Column::Username, Column::Status]);
    }
}
