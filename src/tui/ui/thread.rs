//! The Messages tab: the lead's thread with every account, newest at the bottom, each message
//! with its direction, time, account and where it stands (queued, sent, read, or why it failed).

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;
use unicode_width::UnicodeWidthChar;

use crate::model::{format_millis, Delivery, Direction, Lead, Message};
use crate::tui::keymap::Action;
use crate::tui::model::Model;
use crate::tui::theme;

/// `text` in rows of at most `width` columns: at spaces where it can, inside a word where it must.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut rows = Vec::new();
    for para in text.split('\n') {
        let (mut row, mut used) = (String::new(), 0);
        for word in para.split(' ') {
            let w: usize = word.chars().map(|c| c.width().unwrap_or(0)).sum();
            let gap = usize::from(!row.is_empty());
            if used + gap + w <= width {
                if gap == 1 {
                    row.push(' ');
                }
                row.push_str(word);
                used += gap + w;
                continue;
            }
            if !row.is_empty() {
                rows.push(std::mem::take(&mut row));
                used = 0;
            }
            for c in word.chars() {
                let cw = c.width().unwrap_or(0);
                if used + cw > width {
                    rows.push(std::mem::take(&mut row));
                    used = 0;
                }
                row.push(c);
                used += cw;
            }
        }
        rows.push(row);
    }
    rows
}

fn delivery(d: &Delivery) -> Span<'static> {
    match d {
        Delivery::Queued => Span::styled("◷ queued", theme::dim()),
        Delivery::Sent => Span::styled("✓ sent", theme::dim()),
        Delivery::Read => Span::styled("✓✓ read", theme::ok()),
        // The reason has lines of its own, under the text.
        Delivery::Failed(_) => Span::styled("✗ failed", theme::error()),
        Delivery::Received => Span::raw(""),
    }
}

/// One message: a header line, then its text indented, wrapped to `width`.
fn message_lines(msg: &Message, lead: &str, width: u16) -> Vec<Line<'static>> {
    let at = format_millis(msg.at).get(..16).unwrap_or_default().to_string();
    let mut head = match msg.direction {
        Direction::In => vec![
            Span::styled("← ", theme::accent()),
            Span::styled(lead.to_string(), theme::bold()),
            Span::styled(format!(" · {at} · to {}", msg.account), theme::dim()),
        ],
        Direction::Out => vec![
            Span::styled("→ ", theme::ok()),
            Span::styled(msg.by.clone(), theme::bold()),
            Span::styled(format!(" · {at} · from {} · ", msg.account), theme::dim()),
            delivery(&msg.delivery),
        ],
    };
    if msg.edited {
        head.push(Span::styled(" · edited", theme::dim()));
    }
    if msg.deleted {
        head.push(Span::styled(" · deleted", theme::warning()));
    }
    let body = if msg.deleted { theme::dim().add_modifier(Modifier::CROSSED_OUT) } else { Style::default() };
    let mut lines = vec![Line::from(head)];
    let width = width.saturating_sub(2) as usize;
    lines.extend(wrap(&msg.text, width).into_iter().map(|row| Line::styled(format!("  {row}"), body)));
    if let Delivery::Failed(why) = &msg.delivery {
        let why = wrap(&format!("✗ {why}"), width);
        lines.extend(why.into_iter().map(|row| Line::styled(format!("  {row}"), theme::error())));
    }
    lines
}

pub fn draw(m: &Model, f: &mut Frame, area: Rect, lead: &Lead) {
    let say = |f: &mut Frame, text: String| f.render_widget(Paragraph::new(Line::styled(text, theme::dim())), area);
    let Some(thread) = m.thread.as_ref().filter(|t| t.lead == lead.id) else {
        return say(f, "loading…".into());
    };
    if thread.messages.is_empty() {
        return say(f, format!("no messages yet: {} writes the first", m.keymap.first_key(Action::Compose)));
    }
    let all = &thread.messages;
    // Scrolled back past the newest `scroll` messages; the newest shown sits at the bottom.
    let end = all.len() - m.thread_scroll.min(all.len() - 1);
    let height = area.height as usize;
    let newer = all.len() - end;
    let room = height.saturating_sub(usize::from(newer > 0));
    let name = lead.display_name();
    let mut shown: Vec<Vec<Line>> = Vec::new();
    let mut used = 0;
    for msg in all[..end].iter().rev() {
        let lines = message_lines(msg, &name, area.width);
        if used + lines.len() > room && !shown.is_empty() {
            break;
        }
        used += lines.len();
        shown.push(lines);
    }
    // The "older" marker takes a line: the oldest message shown makes room for it.
    if end > shown.len() && used + 1 > room && shown.len() > 1 {
        shown.pop();
    }
    let older = end - shown.len();
    let mut lines: Vec<Line> = shown.into_iter().rev().flatten().collect();
    if older > 0 {
        let key = m.keymap.first_key(Action::PageUp);
        lines.insert(0, Line::styled(format!("↑ {older} older ({key})"), theme::dim()));
    }
    if newer > 0 {
        let key = m.keymap.first_key(Action::PageDown);
        lines.push(Line::styled(format!("↓ {newer} newer ({key})"), theme::dim()));
    }
    // A message taller than the pane shows its end.
    let skip = lines.len().saturating_sub(height);
    f.render_widget(Paragraph::new(lines.into_iter().skip(skip).collect::<Vec<_>>()), area);
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn text_wraps_at_spaces_and_inside_long_words() {
        assert_eq!(wrap("hello there world", 11), ["hello there", "world"]);
        assert_eq!(wrap("abcdefghij", 4), ["abcd", "efgh", "ij"]);
        assert_eq!(wrap("one\n\ntwo", 10), ["one", "", "two"]);
        assert_eq!(wrap("", 10), [""]);
        assert_eq!(wrap("陈伟 陈伟", 4), ["陈伟", "陈伟"]);
    }
}
