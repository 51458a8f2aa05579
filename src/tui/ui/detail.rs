//! The detail pane: the whole lead as stored, its history, and its profile photo.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Wrap};
use ratatui::Frame;

use crate::model::{format_millis, Lead};
use crate::tui::model::{Focus, Model, Photo};
use crate::tui::theme;

fn field(lines: &mut Vec<Line<'static>>, k: &str, v: String) {
    if !v.is_empty() {
        lines.push(Line::from(vec![Span::styled(format!("{k:<12}"), theme::dim()), Span::raw(v)]));
    }
}

fn lead_lines(l: &Lead, history: &[crate::model::Activity]) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    lines.push(Line::styled("Identifiers", theme::heading()));
    field(&mut lines, "id", format!("#{}", l.id));
    field(&mut lines, "telegram id", l.telegram_user_id.map(|u| u.to_string()).unwrap_or_default());
    field(&mut lines, "username", l.username.as_ref().map(|u| format!("@{u}")).unwrap_or_default());
    field(
        &mut lines,
        "phone",
        l.phone
            .as_ref()
            .map(|p| if p.is_valid() { p.display().to_string() } else { format!("{} (unparseable)", p.raw) })
            .unwrap_or_default(),
    );
    lines.push(Line::styled("Contact", theme::heading()));
    field(&mut lines, "name", format!("{} {}", l.first_name, l.last_name).trim().to_string());
    field(&mut lines, "country", o(&l.country));
    field(&mut lines, "language", o(&l.language));
    field(&mut lines, "photo", o(&l.photo));
    lines.push(Line::styled("Metadata", theme::heading()));
    lines.push(Line::from(vec![
        Span::styled(format!("{:<12}", "status"), theme::dim()),
        Span::styled(l.status.to_string(), theme::status(l.status)),
    ]));
    field(&mut lines, "priority", l.priority.to_string());
    field(&mut lines, "source", l.source.to_string());
    field(&mut lines, "group", o(&l.group_name));
    if l.groups.len() > 1 {
        field(&mut lines, "all groups", l.groups.iter().cloned().collect::<Vec<_>>().join("; "));
    }
    field(&mut lines, "tags", l.tags.iter().cloned().collect::<Vec<_>>().join(", "));
    field(&mut lines, "created", format!("{} by {}", format_millis(l.created_at), l.created_by));
    field(&mut lines, "updated", format_millis(l.updated_at));
    if !l.custom_fields.is_empty() {
        lines.push(Line::styled("Fields", theme::heading()));
        for (k, v) in &l.custom_fields {
            field(&mut lines, k, v.clone());
        }
    }
    lines.push(Line::styled("History", theme::heading()));
    for a in history.iter().rev() {
        lines.push(Line::from(vec![
            Span::styled(format!("{} ", format_millis(a.at)), theme::dim()),
            Span::styled(format!("{} ", a.actor), theme::accent()),
            Span::raw(a.kind.to_string()),
        ]));
    }
    lines
}

/// Draws the photo into `area`; its terminal form is built once per photo and size.
fn draw_photo(f: &mut Frame, photo: &Photo, picker: &ratatui_image::picker::Picker, area: Rect) {
    let Ok(image) = &photo.image else { return };
    let mut drawn = photo.drawn.borrow_mut();
    if drawn.as_ref().is_none_or(|(at, _)| *at != area) {
        photo.builds.set(photo.builds.get() + 1);
        *drawn = picker
            .new_protocol((**image).clone(), area, ratatui_image::Resize::Fit(None))
            .ok()
            .map(|protocol| (area, protocol));
    }
    if let Some((_, protocol)) = drawn.as_ref() {
        f.render_widget(ratatui_image::Image::new(protocol), area);
    }
}

pub fn draw(m: &Model, f: &mut Frame, area: Rect) {
    let focused = m.focus == Focus::Detail;
    let Some(row) = m.selected() else {
        f.render_widget(Block::default().borders(Borders::ALL).title(" Detail "), area);
        return;
    };
    let Some((l, history)) = m.detail.as_ref().filter(|(l, _)| l.id == row.id) else {
        // The list holds a summary; the whole lead is a store read away.
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(theme::border(focused))
            .title(format!(" {} ", row.display_name()));
        f.render_widget(Paragraph::new(Line::styled("loading…", theme::dim())).block(block), area);
        return;
    };
    let mut lines = lead_lines(l, history);
    let title = format!(" {} ", l.display_name());
    let block = Block::default().borders(Borders::ALL).border_style(theme::border(focused)).title(title);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let photo = m.photo.as_ref().filter(|p| p.id == l.id);
    let text_area = match (photo, &m.picker) {
        (Some(p), Some(picker)) if p.image.is_ok() && inner.width >= 40 => {
            // The photo sits in the top right corner, the fields flow left of it.
            let [text, side] = Layout::horizontal([Constraint::Min(20), Constraint::Length(18)]).areas(inner);
            let [pic, _] = Layout::vertical([Constraint::Length(8), Constraint::Min(0)]).areas(side);
            draw_photo(f, p, picker, pic);
            text
        }
        _ => inner,
    };
    if let Some(Err(why)) = photo.map(|p| &p.image) {
        lines.insert(1, Line::styled(format!("photo unreadable: {why}"), theme::error()));
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), text_area);
}
