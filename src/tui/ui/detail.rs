//! The detail pane, in tabs: the lead as stored with what its conversation allows and its photo
//! (Profile), its history (Activity), and its thread (Messages, see `thread.rs`).

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph, Tabs, Wrap};
use ratatui::Frame;

use crate::model::{format_millis, BlockCause, Lead, Status};
use crate::tui::keymap::Action;
use crate::tui::model::{DetailTab, Focus, Model, Photo};
use crate::tui::theme;

fn field(lines: &mut Vec<Line<'static>>, k: &str, v: String) {
    if !v.is_empty() {
        lines.push(Line::from(vec![Span::styled(format!("{k:<12}"), theme::dim()), Span::raw(v)]));
    }
}

fn profile_lines(m: &Model, l: &Lead) -> Vec<Line<'static>> {
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
    let mut status = vec![
        Span::styled(format!("{:<12}", "status"), theme::dim()),
        Span::styled(l.status.to_string(), theme::status(l.status)),
    ];
    if l.status == Status::Blocked {
        status.push(Span::styled(
            match l.conversation.blocked_by {
                Some(BlockCause::TheyBlockedUs) => " · the lead blocked our account (USER_IS_BLOCKED)",
                Some(BlockCause::WeBlockedThem) => " · our account blocked the lead in Telegram",
                None => " · by a person",
            },
            theme::error(),
        ));
    }
    lines.push(Line::from(status));
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
    conversation_lines(m, l, &mut lines);
    lines
}

/// What the lead's conversation says, and whether it may be written to.
fn conversation_lines(m: &Model, l: &Lead, lines: &mut Vec<Line<'static>>) {
    let c = &l.conversation;
    let label = |k: &str| Span::styled(format!("{k:<12}"), theme::dim());
    lines.push(Line::styled("Conversation", theme::heading()));
    let counts = if c.sent + c.received == 0 {
        "none yet".to_string()
    } else {
        let unread = if c.unread > 0 { format!(", {} unread", c.unread) } else { String::new() };
        let last = c.last_message_at.map(|t| format!(" · last {}", format_millis(t))).unwrap_or_default();
        format!("{} in{unread} · {} out{last}", c.received, c.sent)
    };
    field(lines, "messages", counts);
    let toggle = format!(" ({} toggles)", m.keymap.first_key(Action::DoNotContact));
    lines.push(Line::from(if c.do_not_contact {
        vec![label("contact"), Span::styled("do-not-contact", theme::error()), Span::styled(toggle, theme::dim())]
    } else {
        vec![label("contact"), Span::raw("allowed"), Span::styled(toggle, theme::dim())]
    }));
    if let Some(why) = c.cant_message {
        lines.push(Line::from(vec![label("can't msg"), Span::styled(why.to_string(), theme::error())]));
    }
    lines.push(Line::from(match l.why_not_messageable() {
        None => vec![label("messaging"), Span::styled("possible", theme::ok())],
        Some(why) => vec![label("messaging"), Span::styled(format!("not possible: {why}"), theme::error())],
    }));
}

fn activity_lines(history: &[crate::model::Activity]) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for a in history.iter().rev() {
        lines.push(Line::from(vec![
            Span::styled(format!("{} ", format_millis(a.at)), theme::dim()),
            Span::styled(format!("{} ", a.actor), theme::accent()),
            Span::raw(a.kind.to_string()),
        ]));
    }
    if lines.is_empty() {
        lines.push(Line::styled("no history yet", theme::dim()));
    }
    lines
}

fn tabs(m: &Model, l: &Lead) -> Tabs<'static> {
    let titles = DetailTab::ALL.iter().map(|t| match (t, l.conversation.unread) {
        (DetailTab::Messages, n) if n > 0 => Line::from(format!("{} ({n} new)", t.title())),
        _ => Line::from(t.title()),
    });
    let at = DetailTab::ALL.iter().position(|t| *t == m.detail_tab).unwrap_or(0);
    Tabs::new(titles).select(at).style(theme::dim()).highlight_style(theme::heading()).divider("│").padding(" ", " ")
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
    let title = format!(" {} ", l.display_name());
    let block = Block::default().borders(Borders::ALL).border_style(theme::border(focused)).title(title);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let [bar, body] = Layout::vertical([Constraint::Length(1), Constraint::Min(0)]).areas(inner);
    f.render_widget(tabs(m, l), bar);
    match m.detail_tab {
        DetailTab::Profile => draw_profile(m, f, body, l),
        DetailTab::Activity => {
            f.render_widget(Paragraph::new(activity_lines(history)).wrap(Wrap { trim: false }), body)
        }
        DetailTab::Messages => super::thread::draw(m, f, body, l),
    }
}

fn draw_profile(m: &Model, f: &mut Frame, area: Rect, l: &Lead) {
    let mut lines = profile_lines(m, l);
    let photo = m.photo.as_ref().filter(|p| p.id == l.id);
    let text_area = match (photo, &m.picker) {
        (Some(p), Some(picker)) if p.image.is_ok() && area.width >= 40 => {
            // The photo sits in the top right corner, the fields flow left of it.
            let [text, side] = Layout::horizontal([Constraint::Min(20), Constraint::Length(18)]).areas(area);
            let [pic, _] = Layout::vertical([Constraint::Length(8), Constraint::Min(0)]).areas(side);
            draw_photo(f, p, picker, pic);
            text
        }
        _ => area,
    };
    if let Some(Err(why)) = photo.map(|p| &p.image) {
        lines.insert(1, Line::styled(format!("photo unreadable: {why}"), theme::error()));
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), text_area);
}
