//! Drawing: a pure function of the model. Only the rows on screen are built, so the list costs the
//! same at a thousand leads as at a million; match highlights are computed for those rows only.

use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Cell, Clear, Paragraph, Row, Table, Wrap};
use ratatui::Frame;

use super::app::{Focus, Model, Popup};
use crate::model::{format_millis, Priority, Status};
use crate::search::highlight;

const ACCENT: Color = Color::Cyan;

/// Below this width the detail pane replaces the list instead of sharing the screen.
pub const NARROW: u16 = 100;

/// A help line's keys: the keys bound to actions (from the keymap, so config overrides show), or fixed keys.
pub enum HelpKey {
    Actions(&'static [&'static str]),
    Fixed(&'static str),
}

/// The help overlay: every key listed here works.
pub const KEYS: &[(HelpKey, &str)] = &[
    (HelpKey::Actions(&["search"]), "search; Esc or Enter leaves it"),
    (HelpKey::Actions(&["down", "up"]), "move"),
    (HelpKey::Actions(&["top", "bottom", "page_up", "page_down"]), "first, last, page"),
    (HelpKey::Actions(&["open"]), "open the detail"),
    (HelpKey::Actions(&["next_pane"]), "switch panes: list, filters, detail"),
    (HelpKey::Fixed("Space c W D"), "filters: toggle, clear, save or delete a segment"),
    (HelpKey::Fixed("Esc"), "close the detail or a popup"),
    (HelpKey::Actions(&["add", "edit"]), "add a lead, edit the selected one (a form)"),
    (HelpKey::Actions(&["status", "priority"]), "set the status, the priority"),
    (HelpKey::Actions(&["tags"]), "edit tags: +vip,-cold adds and removes"),
    (HelpKey::Actions(&["note"]), "add a note to the history"),
    (HelpKey::Actions(&["delete"]), "delete the lead (asks first)"),
    (HelpKey::Actions(&["select", "select_all"]), "mark a lead / all in view; s p t d apply to marked"),
    (HelpKey::Actions(&["sort"]), "sort by a column (the same one again reverses)"),
    (HelpKey::Actions(&["import", "export"]), "import a file / export the current view to CSV"),
    (HelpKey::Actions(&["crawl"]), "crawl a Telegram group or channel into leads"),
    (HelpKey::Actions(&["accounts"]), "Telegram accounts: health, add one, log in"),
    (HelpKey::Actions(&["workspace"]), "switch workspace"),
    (HelpKey::Actions(&["view"]), "own leads / all leads (where allowed)"),
    (HelpKey::Actions(&["help"]), "this help"),
    (HelpKey::Actions(&["quit"]), "quit"),
];

fn border(focused: bool) -> Style {
    if focused {
        Style::default().fg(ACCENT)
    } else {
        Style::default().fg(Color::DarkGray)
    }
}

pub fn draw(m: &Model, f: &mut Frame) {
    let [search, body, status] =
        Layout::vertical([Constraint::Length(3), Constraint::Min(3), Constraint::Length(1)]).areas(f.area());
    draw_search(m, f, search);
    let narrow = f.area().width < NARROW;
    // The filter pane sits left of the list on wide terminals; on narrow ones it shows while focused.
    let body = if narrow && m.focus == Focus::Filter {
        draw_filters(m, f, body);
        return finish(m, f, status);
    } else if narrow {
        body
    } else {
        let [filters, rest] = Layout::horizontal([Constraint::Length(26), Constraint::Min(20)]).areas(body);
        draw_filters(m, f, filters);
        rest
    };
    match (m.detail_open, narrow) {
        (true, true) => draw_detail(m, f, body),
        (true, false) => {
            let [list, detail] =
                Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(body);
            draw_list(m, f, list);
            draw_detail(m, f, detail);
        }
        (false, _) => draw_list(m, f, body),
    }
    finish(m, f, status);
}

fn finish(m: &Model, f: &mut Frame, status: Rect) {
    draw_status(m, f, status);
    match &m.popup {
        Some(Popup::Help) => draw_help(m, f),
        Some(Popup::Status { selected }) => {
            draw_choice(f, "Set status", &Status::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>(), *selected)
        }
        Some(Popup::Priority { selected }) => {
            draw_choice(f, "Set priority", &Priority::ALL.iter().map(|p| p.as_str()).collect::<Vec<_>>(), *selected)
        }
        Some(Popup::ConfirmDelete { ids }) => {
            let what = match ids.as_slice() {
                [id] => format!("#{id} {}", m.leads.get(*id).map(|l| l.display_name()).unwrap_or_default()),
                _ => format!("{} marked leads", ids.len()),
            };
            let area = centered(f, 56, 3);
            f.render_widget(Clear, area);
            let block =
                Block::default().borders(Borders::ALL).title(" Delete ").border_style(Style::default().fg(Color::Red));
            f.render_widget(Paragraph::new(format!(" Delete {what} and their history? y/n")).block(block), area);
        }
        Some(Popup::Text { kind, input, .. }) => {
            let title = match kind {
                super::app::TextKind::Note => " Note (Enter saves, Esc cancels) ",
                super::app::TextKind::Tags => " Tags: +add,-remove (Enter saves) ",
                super::app::TextKind::SegmentName => " Save the filters and search as a segment named ",
            };
            let area = centered(f, 60, 3);
            f.render_widget(Clear, area);
            let block = Block::default().borders(Borders::ALL).title(title).border_style(Style::default().fg(ACCENT));
            let inner = block.inner(area);
            f.render_widget(Paragraph::new(input.0.value()).block(block), area);
            let x = input.0.visual_cursor().min(inner.width.saturating_sub(1) as usize) as u16;
            f.set_cursor_position((inner.x + x, inner.y));
        }
        Some(Popup::Sort { selected }) => {
            let names: Vec<&str> = super::app::SORT_FIELDS.iter().map(|(_, n)| *n).collect();
            draw_choice(f, "Sort by (again: reverse)", &names, *selected)
        }
        Some(Popup::Workspace { selected }) => {
            draw_choice(f, "Workspace", &m.workspaces.iter().map(|(l, _)| l.as_str()).collect::<Vec<_>>(), *selected)
        }
        Some(Popup::Crawl { target, method }) => draw_crawl(m, f, target, *method),
        Some(Popup::Form(form)) => draw_form(f, form),
        Some(Popup::Import) => draw_import(f, &m.import),
        Some(Popup::Accounts) => draw_accounts(f, &m.accounts),
        None => {}
    }
}

fn facet_label(key: &str) -> (&'static str, &str) {
    if let Some(name) = key.strip_prefix("S:") {
        return ("SEGMENTS (archived never match)", name);
    }
    let (kind, value) = key.split_at(2);
    let group = match kind {
        "s:" => "STATUS",
        "p:" => "PRIORITY",
        "o:" => "SOURCE",
        "c:" => "COUNTRY",
        "l:" => "LANGUAGE",
        "t:" => "TAGS",
        "g:" => "GROUPS",
        _ => "",
    };
    (group, value)
}

fn draw_filters(m: &Model, f: &mut Frame, area: Rect) {
    let focused = m.focus == Focus::Filter;
    let block = Block::default().borders(Borders::ALL).border_style(border(focused)).title(" Filters ");
    let height = block.inner(area).height as usize;
    let rows = m.facet_rows();
    let mut lines: Vec<(Option<usize>, Line)> = Vec::new();
    let mut last_group = "";
    for (i, (key, count)) in rows.iter().enumerate() {
        let (group, value) = facet_label(key);
        if group != last_group {
            lines.push((None, Line::styled(group, Style::default().fg(Color::DarkGray).add_modifier(Modifier::BOLD))));
            last_group = group;
        }
        let mark = if m.facet_on(key) { "[x]" } else { "[ ]" };
        let width = area.width.saturating_sub(12) as usize;
        let value: String = value.chars().take(width).collect();
        let mut line = Line::from(format!("{mark} {value:<width$} {count:>5}"));
        if focused && i == m.facet_cursor {
            line = line.style(Style::default().bg(Color::DarkGray).add_modifier(Modifier::BOLD));
        } else if m.facet_on(key) {
            line = line.style(Style::default().fg(ACCENT));
        }
        lines.push((Some(i), line));
    }
    // Keep the facet cursor on screen.
    let cursor_line = lines.iter().position(|(i, _)| *i == Some(m.facet_cursor)).unwrap_or(0);
    let start = window_start(cursor_line, height, lines.len());
    let visible: Vec<Line> = lines.into_iter().skip(start).take(height).map(|(_, l)| l).collect();
    f.render_widget(Paragraph::new(visible).block(block), area);
}

fn draw_search(m: &Model, f: &mut Frame, area: Rect) {
    let focused = m.focus == Focus::Search;
    let block = Block::default().borders(Borders::ALL).border_style(border(focused)).title(" Search ");
    let inner = block.inner(area);
    let text = if m.query.value().is_empty() && !focused {
        Line::styled(
            "press / to search names, usernames, phones, tags, groups and fields",
            Style::default().fg(Color::DarkGray),
        )
    } else {
        Line::raw(m.query.value())
    };
    f.render_widget(Paragraph::new(text).block(block), area);
    if focused {
        let x = m.query.visual_cursor().min(inner.width.saturating_sub(1) as usize) as u16;
        f.set_cursor_position((inner.x + x, inner.y));
    }
}

fn highlighted(text: &str, query: &str) -> Line<'static> {
    let marks = highlight(query, text);
    if marks.is_empty() {
        return Line::raw(text.to_string());
    }
    let hl = Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD);
    Line::from(
        text.chars()
            .enumerate()
            .map(|(i, c)| {
                if marks.binary_search(&i).is_ok() {
                    Span::styled(c.to_string(), hl)
                } else {
                    Span::raw(c.to_string())
                }
            })
            .collect::<Vec<_>>(),
    )
}

fn status_style(s: Status) -> Style {
    match s {
        Status::Active => Style::default().fg(Color::Green),
        Status::Blocked => Style::default().fg(Color::Red),
        Status::Archived => Style::default().fg(Color::DarkGray),
    }
}

fn lead_row(l: &super::rows::Row, rows: &super::rows::Rows, query: &str, marked: bool) -> Row<'static> {
    let name = format!("{}{} {}", if marked { "● " } else { "" }, l.first_name(), l.last_name()).trim().to_string();
    let username = if l.username().is_empty() { String::new() } else { format!("@{}", l.username()) };
    Row::new(vec![
        Cell::from(highlighted(&name, query)),
        Cell::from(highlighted(&username, query)),
        Cell::from(l.phone().to_string()),
        Cell::from(Span::styled(l.status.to_string(), status_style(l.status))),
        Cell::from(l.priority.to_string()),
        Cell::from(l.source.to_string()),
        Cell::from(rows.str(l.group).to_string()),
        Cell::from(l.tags().map(|t| rows.str(t)).collect::<Vec<_>>().join(",")),
        Cell::from(format_millis(l.updated_at).get(..10).unwrap_or_default().to_string()),
    ])
}

/// `1234567` as `1,234,567`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// The first visible row, so the cursor stays on screen.
pub fn window_start(cursor: usize, height: usize, len: usize) -> usize {
    if height == 0 || len <= height {
        return 0;
    }
    cursor.saturating_sub(height / 2).min(len - height)
}

fn draw_list(m: &Model, f: &mut Frame, area: Rect) {
    let focused = m.focus == Focus::List;
    let mut title = match (m.loading, m.marked.len()) {
        (true, _) if m.loaded_so_far > 0 => format!(" Leads (loading… {}) ", thousands(m.loaded_so_far as u64)),
        (true, _) => " Leads (loading…) ".to_string(),
        (false, 0) => format!(" Leads {} ", m.order.len()),
        (false, n) => format!(" Leads {} · {n} marked (actions apply to them) ", m.order.len()),
    };
    if !m.loading && m.searched != m.search_generation {
        title.push_str("· searching… ");
    }
    let block = Block::default().borders(Borders::ALL).border_style(border(focused)).title(title);
    let height = block.inner(area).height.saturating_sub(1) as usize;
    let start = window_start(m.cursor, height, m.order.len());
    let query = m.query.value();
    let rows: Vec<Row> = m.order[start..(start + height).min(m.order.len())]
        .iter()
        .enumerate()
        .filter_map(|(i, id)| {
            let row = lead_row(m.leads.get(*id)?, &m.leads, query, m.marked.contains(id));
            Some(if start + i == m.cursor {
                row.style(Style::default().bg(Color::DarkGray).add_modifier(Modifier::BOLD))
            } else {
                row
            })
        })
        .collect();
    let widths = [
        Constraint::Fill(3),
        Constraint::Fill(2),
        Constraint::Length(14),
        Constraint::Length(8),
        Constraint::Length(8),
        Constraint::Length(11),
        Constraint::Fill(2),
        Constraint::Fill(2),
        Constraint::Length(10),
    ];
    let header = Row::new(["NAME", "USERNAME", "PHONE", "STATUS", "PRIORITY", "SOURCE", "GROUP", "TAGS", "UPDATED"])
        .style(Style::default().add_modifier(Modifier::BOLD));
    let table = Table::new(rows, widths).header(header).block(block).column_spacing(1);
    f.render_widget(table, area);
    if m.order.is_empty() && !m.loading {
        let msg =
            if query.is_empty() { "no leads yet: reach import FILE, or reach lead add" } else { "no lead matches" };
        let inner = Rect { y: area.y + 2, height: 1, ..area.inner(ratatui::layout::Margin::new(2, 0)) };
        f.render_widget(Paragraph::new(msg).style(Style::default().fg(Color::DarkGray)), inner);
    }
}

fn field(lines: &mut Vec<Line<'static>>, k: &str, v: String) {
    if !v.is_empty() {
        lines.push(Line::from(vec![
            Span::styled(format!("{k:<12}"), Style::default().fg(Color::DarkGray)),
            Span::raw(v),
        ]));
    }
}

fn draw_detail(m: &Model, f: &mut Frame, area: Rect) {
    let focused = m.focus == Focus::Detail;
    let Some(row) = m.selected() else {
        f.render_widget(Block::default().borders(Borders::ALL).title(" Detail "), area);
        return;
    };
    let Some((l, history)) = m.detail.as_ref().filter(|(l, _)| l.id == row.id) else {
        // The list holds a summary; the whole lead is a store read away.
        let block = Block::default()
            .borders(Borders::ALL)
            .border_style(border(focused))
            .title(format!(" {} ", row.display_name()));
        let text = Paragraph::new(Line::styled("loading…", Style::default().fg(Color::DarkGray))).block(block);
        f.render_widget(text, area);
        return;
    };
    let mut lines = Vec::new();
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    lines.push(Line::styled("Identifiers", Style::default().fg(ACCENT).add_modifier(Modifier::BOLD)));
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
    lines.push(Line::styled("Contact", Style::default().fg(ACCENT).add_modifier(Modifier::BOLD)));
    field(&mut lines, "name", format!("{} {}", l.first_name, l.last_name).trim().to_string());
    field(&mut lines, "country", o(&l.country));
    field(&mut lines, "language", o(&l.language));
    field(&mut lines, "photo", o(&l.photo));
    lines.push(Line::styled("Metadata", Style::default().fg(ACCENT).add_modifier(Modifier::BOLD)));
    lines.push(Line::from(vec![
        Span::styled(format!("{:<12}", "status"), Style::default().fg(Color::DarkGray)),
        Span::styled(l.status.to_string(), status_style(l.status)),
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
        lines.push(Line::styled("Fields", Style::default().fg(ACCENT).add_modifier(Modifier::BOLD)));
        for (k, v) in &l.custom_fields {
            field(&mut lines, k, v.clone());
        }
    }
    lines.push(Line::styled("History", Style::default().fg(ACCENT).add_modifier(Modifier::BOLD)));
    for a in history.iter().rev() {
        lines.push(Line::from(vec![
            Span::styled(format!("{} ", format_millis(a.at)), Style::default().fg(Color::DarkGray)),
            Span::styled(format!("{} ", a.actor), Style::default().fg(ACCENT)),
            Span::raw(a.kind.to_string()),
        ]));
    }
    let title = format!(" {} ", l.display_name());
    let block = Block::default().borders(Borders::ALL).border_style(border(focused)).title(title);
    let inner = block.inner(area);
    f.render_widget(block, area);
    let photo = match (&m.photo, &m.picker) {
        (Some((id, Ok(image))), Some(picker)) if *id == l.id && inner.width >= 40 => Some((image, picker)),
        _ => None,
    };
    let text_area = match photo {
        Some((image, picker)) => {
            // The photo sits in the top right corner, the fields flow left of it.
            let [text, side] = Layout::horizontal([Constraint::Min(20), Constraint::Length(18)]).areas(inner);
            let [pic, _] = Layout::vertical([Constraint::Length(8), Constraint::Min(0)]).areas(side);
            if let Ok(protocol) = picker.new_protocol((**image).clone(), pic, ratatui_image::Resize::Fit(None)) {
                f.render_widget(ratatui_image::Image::new(&protocol), pic);
            }
            text
        }
        None => inner,
    };
    if let Some((id, Err(why))) = &m.photo {
        if *id == l.id {
            lines.insert(1, Line::styled(format!("photo unreadable: {why}"), Style::default().fg(Color::Red)));
        }
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), text_area);
}

fn draw_crawl(m: &Model, f: &mut Frame, target: &super::app::Field, method: usize) {
    let running = m.crawl.as_ref().is_some_and(|j| j.running);
    let full = f.area();
    let area = centered(f, full.width.min(84), full.height.saturating_sub(2).min(22));
    f.render_widget(Clear, area);
    let hint =
        if running { " x cancel · Esc hide (it keeps running) " } else { " Enter crawl · Tab method · Esc close " };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" Crawl a group or channel ")
        .title_bottom(Line::from(hint).right_aligned())
        .border_style(Style::default().fg(ACCENT));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let label = Style::default().fg(Color::DarkGray);
    let mut lines = vec![Line::from(vec![Span::styled(" Target  ", label), Span::raw(target.0.value().to_string())])];
    let methods: Vec<Span> = super::app::CRAWL_METHODS
        .iter()
        .enumerate()
        .map(|(i, (_, name))| {
            if i == method {
                Span::styled(format!(" {name} "), Style::default().fg(Color::Black).bg(ACCENT))
            } else {
                Span::styled(format!(" {name} "), label)
            }
        })
        .collect();
    lines.push(Line::from([vec![Span::styled(" Method ", label)], methods].concat()));
    lines.push(Line::raw(""));
    if let Some(job) = &m.crawl {
        let title = if job.title.is_empty() { String::new() } else { format!(" ({})", job.title) };
        let methods: Vec<&str> = job.methods.iter().map(|m| m.as_str()).collect();
        let state = if job.running { "crawling" } else { "last crawl" };
        lines.push(Line::styled(
            format!(" {state} {}{title} · {}", job.target, methods.join(" → ")),
            Style::default().add_modifier(Modifier::BOLD),
        ));
        let c = &job.counts;
        lines.push(Line::raw(format!(
            " {} members · {} new · {} updated · {} requests · {} flood waits",
            c.members_seen, c.created, c.updated, c.requests, c.flood_waits
        )));
        if let Some(secs) = job.waiting {
            lines.push(Line::styled(
                format!(" every account is in a flood wait: resuming in {secs}s"),
                Style::default().fg(Color::Yellow),
            ));
        } else if let Some((account, secs)) = &job.last_flood {
            lines.push(Line::styled(
                format!(" account {account} hit FLOOD_WAIT {secs}s; others carry on"),
                Style::default().fg(Color::DarkGray),
            ));
        }
        if let Some((text, failed)) = &job.outcome {
            let color = if *failed { Color::Red } else { Color::Green };
            lines.push(Line::styled(format!(" {text}"), Style::default().fg(color)));
        }
        lines.push(Line::raw(""));
    }
    lines.push(Line::styled(" Past crawls", Style::default().fg(ACCENT).add_modifier(Modifier::BOLD)));
    if m.past_crawls.is_empty() {
        lines.push(Line::styled(" none yet: try @demo_small or @demo_big in the demo", label));
    }
    for p in &m.past_crawls {
        let age = p.finished_at.map(|t| crate::model::format_age(m.now - t)).unwrap_or_default();
        let state = match p.state {
            crate::crawl::State::Done => format!("cached {age} ago"),
            crate::crawl::State::Running => "stopped, resumes".into(),
            crate::crawl::State::Cancelled => "cancelled, resumes".into(),
            crate::crawl::State::Failed => "failed".into(),
        };
        lines.push(Line::raw(format!(" {:<20} {:<16} {:>6} members  {state}", p.target, p.title, p.members)));
    }
    f.render_widget(Paragraph::new(lines), inner);
    if !running {
        let x = target.0.visual_cursor().min(inner.width.saturating_sub(10) as usize) as u16;
        f.set_cursor_position((inner.x + 9 + x, inner.y));
    }
}

fn draw_form(f: &mut Frame, form: &super::form::Form) {
    use super::form::{field_of, FIELDS};
    let title = match &form.editing {
        Some((id, _)) => format!(" Edit lead #{id} "),
        None => " Add a lead ".to_string(),
    };
    let hint = if form.saved.is_some() {
        " Enter close · Tab keep editing "
    } else {
        " Tab next · Enter save · Esc cancel "
    };
    let area = centered(f, 64, FIELDS.len() as u16 + 6);
    f.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(title)
        .title_bottom(Line::from(hint).right_aligned())
        .border_style(Style::default().fg(ACCENT));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let bad = form.error.as_ref().and_then(|(field, _)| field_of(field));
    let mut lines: Vec<Line> = FIELDS
        .iter()
        .zip(&form.fields)
        .enumerate()
        .map(|(i, ((_, label), value))| {
            let style = match (i == form.focus, Some(i) == bad) {
                (_, true) => Style::default().fg(Color::Red),
                (true, false) => Style::default().fg(ACCENT).add_modifier(Modifier::BOLD),
                (false, false) => Style::default().fg(Color::DarkGray),
            };
            Line::from(vec![Span::styled(format!(" {label:>12} "), style), Span::raw(value.0.value().to_string())])
        })
        .collect();
    lines.push(Line::raw(""));
    match (&form.saved, &form.error, form.saving) {
        (Some(done), _, _) => lines.push(Line::styled(format!(" {done}"), Style::default().fg(Color::Green))),
        (None, _, true) => lines.push(Line::styled(" saving…", Style::default().fg(Color::DarkGray))),
        (None, Some((_, why)), false) => lines.push(Line::styled(format!(" {why}"), Style::default().fg(Color::Red))),
        (None, None, false) => {
            let note = if form.editing.is_some() {
                " empty fields are left as they are; a tag taken out of the list is removed"
            } else {
                " a lead that shares an id, username or phone is merged, not duplicated"
            };
            lines.push(Line::styled(note, Style::default().fg(Color::DarkGray)));
        }
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    if form.saved.is_none() {
        let x = form.fields[form.focus].0.visual_cursor().min(inner.width.saturating_sub(16) as usize) as u16;
        f.set_cursor_position((inner.x + 15 + x, inner.y + form.focus as u16));
    }
}

/// "12,000 rows · 45% · 52,000 rows/s · ETA 3s": a running import in one line.
fn import_line(p: &crate::import::ImportProgress) -> String {
    let pct = p.fraction.map(|f| format!(" · {:.0}%", f * 100.0)).unwrap_or_default();
    let eta = p.eta().map(|d| format!(" · ETA {:.0}s", d.as_secs_f64().ceil())).unwrap_or_default();
    format!("{} rows{pct} · {:.0} rows/s{eta}", p.counts.rows, p.rows_per_sec())
}

fn draw_accounts(f: &mut Frame, p: &super::accounts::AccountsPanel) {
    use super::accounts::Stage;
    let hint = match &p.stage {
        Stage::List => " a add · Enter log in · r recheck · Esc close ",
        Stage::New { .. } => " Tab next field · Enter log in · Esc back ",
        Stage::Working(_) => " Esc hide (the login goes on) ",
        Stage::Code { .. } | Stage::Password { .. } => " Enter send · Esc give up ",
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" Telegram accounts ")
        .title_bottom(Line::from(hint).right_aligned())
        .border_style(Style::default().fg(ACCENT));
    let dim = Style::default().fg(Color::DarkGray);
    let red = Style::default().fg(Color::Red);
    let mut lines = Vec::new();
    let input = |label: &str, value: String, focused: bool| {
        let style = if focused { Style::default().fg(ACCENT) } else { dim };
        Line::from(vec![Span::styled(format!(" {label:<10}"), style), Span::raw(value)])
    };
    match &p.stage {
        Stage::List => {
            if p.rows.is_empty() {
                let text = if p.checking { " checking…" } else { " no accounts yet: a adds one" };
                lines.push(Line::styled(text, dim));
            }
            for (i, r) in p.rows.iter().enumerate() {
                let health_style = if r.health == "connected" { Style::default().fg(Color::Green) } else { red };
                let marker = if i == p.selected { "›" } else { " " };
                lines.push(Line::from(vec![
                    Span::raw(format!(" {marker} {:<14} {:<16} {:<10} ", r.name, r.phone, r.backend)),
                    Span::styled(r.health.clone(), health_style),
                ]));
            }
            if p.checking && !p.rows.is_empty() {
                lines.push(Line::styled(" checking…", dim));
            }
        }
        Stage::New { name, phone, focus } => {
            lines.push(Line::styled(" A new account: a short name for --account, and its phone", dim));
            lines.push(Line::raw(""));
            lines.push(input("Name", name.0.value().to_string(), *focus == 0));
            lines.push(input("Phone", phone.0.value().to_string(), *focus == 1));
        }
        Stage::Working(what) => lines.push(Line::styled(format!(" {what}"), dim)),
        Stage::Code { phone, input: code, error } => {
            lines.push(Line::raw(format!(" Telegram sent a login code to {phone} (in the app or by SMS).")));
            lines.push(Line::raw(""));
            lines.push(input("Code", code.0.value().to_string(), true));
            lines.extend(error.iter().map(|e| Line::styled(format!(" {e}; try again"), red)));
        }
        Stage::Password { hint, input: password, error } => {
            let hint = hint.as_deref().map(|h| format!(" (hint: {h})")).unwrap_or_default();
            lines.push(Line::raw(format!(" This account has two-step verification{hint}.")));
            lines.push(Line::raw(""));
            // Never drawn in clear: one dot per character typed.
            lines.push(input("Password", "•".repeat(password.0.value().chars().count()), true));
            lines.extend(error.iter().map(|e| Line::styled(format!(" {e}; try again"), red)));
        }
    }
    if let Some((text, failed)) = &p.outcome {
        lines.push(Line::raw(""));
        lines.push(Line::styled(format!(" {text}"), if *failed { red } else { Style::default().fg(Color::Green) }));
    }
    // As tall as what it says, so the list behind stays in view.
    let full = f.area();
    let height = (lines.len() as u16 + 3).clamp(8, full.height.saturating_sub(2).max(3));
    let area = centered(f, full.width.min(84), height);
    f.render_widget(Clear, area);
    let inner = block.inner(area);
    f.render_widget(block, area);
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}

fn draw_import(f: &mut Frame, p: &super::import_panel::ImportPanel) {
    use super::import_panel::Stage;
    let full = f.area();
    let area = centered(f, full.width.min(90), full.height.saturating_sub(2).min(24));
    f.render_widget(Clear, area);
    let hint = match &p.stage {
        Stage::Path => " Tab complete · Enter preview · Esc close ",
        Stage::Inspecting => " counting with a dry run… · Esc back ",
        Stage::Preview { .. } => " Enter import · Esc back ",
        Stage::Running { .. } => " x cancel · Esc hide (it keeps running) ",
        Stage::Done(_) | Stage::Failed(_) => " Enter/Esc close ",
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" Import a CSV, TSV or Excel/ODS file ")
        .title_bottom(Line::from(hint).right_aligned())
        .border_style(Style::default().fg(ACCENT));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let dim = Style::default().fg(Color::DarkGray);
    let mut lines = vec![Line::from(vec![Span::styled(" File ", dim), Span::raw(p.path.0.value().to_string())])];
    if !p.completions.is_empty() {
        let shown: Vec<&str> = p.completions.iter().take(8).map(String::as_str).collect();
        let more = p.completions.len().saturating_sub(shown.len());
        let tail = if more > 0 { format!("  (+{more})") } else { String::new() };
        lines.push(Line::styled(format!("      {}{tail}", shown.join("  ")), dim));
    }
    lines.push(Line::raw(""));
    let ok = Style::default().fg(Color::Green);
    match &p.stage {
        Stage::Path => lines.push(Line::styled(" type a path; Tab completes it like a shell", dim)),
        Stage::Inspecting => lines.push(Line::styled(" reading the file and counting a dry run…", dim)),
        Stage::Preview { inspection: i, dry } => {
            let mut what = vec![i.format.clone()];
            what.extend(i.encoding.clone());
            what.extend(i.delimiter.clone().map(|d| format!("delimited by {d}")));
            what.extend(i.sheet.clone().map(|s| format!("sheet {s}")));
            lines.push(Line::raw(format!(" {}", what.join(" · "))));
            lines.push(Line::styled(" Columns", Style::default().fg(ACCENT).add_modifier(Modifier::BOLD)));
            for (header, field) in i.mapping.iter().take(10) {
                lines.push(Line::raw(format!("   {header:<24} → {field}")));
            }
            if i.mapping.len() > 10 {
                lines.push(Line::styled(format!("   … and {} more", i.mapping.len() - 10), dim));
            }
            for w in i.warnings.iter().take(2) {
                lines.push(Line::styled(format!(" {w}"), Style::default().fg(Color::Yellow)));
            }
            lines.push(Line::styled(
                format!(
                    " dry run: {} rows → {} new, {} updated, {} unchanged, {} rejected",
                    dry.rows, dry.created, dry.updated, dry.unchanged, dry.rejected
                ),
                ok,
            ));
        }
        Stage::Running { progress, cancelling } => {
            let ratio = progress.as_ref().and_then(|p| p.fraction).unwrap_or(0.0).clamp(0.0, 1.0);
            let label = progress.as_ref().map(import_line).unwrap_or_else(|| "starting…".into());
            let c = progress.as_ref().map(|p| p.counts).unwrap_or_default();
            lines.push(Line::raw(format!(
                " {} new · {} updated · {} rejected{}",
                c.created,
                c.updated,
                c.rejected,
                if *cancelling { " · cancelling after this chunk…" } else { "" }
            )));
            f.render_widget(Paragraph::new(lines), inner);
            let gauge_area = Rect { x: inner.x + 1, y: inner.y + 4, width: inner.width.saturating_sub(2), height: 1 };
            let gauge =
                ratatui::widgets::Gauge::default().gauge_style(Style::default().fg(ACCENT)).ratio(ratio).label(label);
            f.render_widget(gauge, gauge_area);
            return;
        }
        Stage::Done(s) => {
            let c = &s.counts;
            let head = if s.cancelled { "cancelled; what was committed stays" } else { "done" };
            lines.push(Line::styled(
                format!(" {head} in {:.1}s ({:.0} rows/s)", s.elapsed_ms as f64 / 1000.0, s.rows_per_sec),
                ok,
            ));
            lines.push(Line::raw(format!(
                " {} rows: {} created, {} updated, {} unchanged, {} rejected",
                c.rows, c.created, c.updated, c.unchanged, c.rejected
            )));
            match &s.report {
                Some(r) => lines.push(Line::raw(format!(" rejected rows with the reason: {}", r.display()))),
                None => lines.push(Line::styled(" no rows were rejected", dim)),
            }
            for e in s.first_errors.iter().take(5) {
                lines.push(Line::styled(format!("   {e}"), Style::default().fg(Color::Red)));
            }
        }
        Stage::Failed(e) => lines.push(Line::styled(format!(" {e}"), Style::default().fg(Color::Red))),
    }
    f.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
    if p.stage == Stage::Path {
        let x = p.path.0.visual_cursor().min(inner.width.saturating_sub(7) as usize) as u16;
        f.set_cursor_position((inner.x + 6 + x, inner.y));
    }
}

/// The running crawl in a few words, for the status bar.
fn crawl_status(m: &Model) -> Option<String> {
    let job = m.crawl.as_ref().filter(|j| j.running)?;
    Some(match job.waiting {
        Some(secs) => format!("crawl {}: flood wait, resuming in {secs}s", job.target),
        None => format!("crawl {}: {} members, {} new", job.target, job.counts.members_seen, job.counts.created),
    })
}

fn draw_status(m: &Model, f: &mut Frame, area: Rect) {
    let hints = match (m.popup.is_some(), m.focus) {
        (true, _) if m.popup == Some(Popup::Help) => "any key closes the help",
        (true, _) if matches!(m.popup, Some(Popup::Crawl { .. })) => "@name, t.me/name or t.me/+invite",
        (true, _) if matches!(m.popup, Some(Popup::Form(_))) => "Tab/↑↓ move between fields · Enter save · Esc cancel",
        (true, _) if m.popup == Some(Popup::Import) => "the list stays live while an import runs",
        (true, _) if m.popup == Some(Popup::Accounts) => {
            "sessions live in the data dir; api_id and api_hash come from the config"
        }
        (true, _) => "j/k choose · Enter apply · Esc cancel",
        (false, Focus::Search) => "type to search · ↑↓ move · Enter/Esc back to the list",
        (false, Focus::Filter) => "j/k move · Space toggle · c clear · W save as segment · D delete segment · Tab list",
        (false, Focus::Detail) => "j/k next lead · s status · p priority · Tab list · Esc close · ? help",
        (false, Focus::List) if m.place.can_view_all => {
            "/ search · Enter open · s status · p priority · o workspace · v own/all · ? help · q quit"
        }
        (false, Focus::List) => "/ search · Enter open · s status · p priority · o workspace · ? help · q quit",
    };
    let view = match m.place.view {
        crate::workspace::View::Own => "own leads",
        crate::workspace::View::All => "all leads",
    };
    // A personal workspace's label already names the user; an organization shows the role and the user.
    let mut right = if m.place.key.starts_with("u:") {
        format!(" {} · {view} ", m.place.label)
    } else {
        format!(" {} · {} · {view} · {} ", m.place.label, m.place.role, m.user)
    };
    if let Some(job) = crawl_status(m) {
        right = format!(" {job} ·{right}");
    }
    if let super::import_panel::Stage::Running { progress: Some(p), .. } = &m.import.stage {
        right = format!(" import {} ·{right}", import_line(p));
    }
    let left = match &m.message {
        Some((msg, true)) => Span::styled(format!(" {msg}"), Style::default().fg(Color::Red)),
        Some((msg, false)) => Span::styled(format!(" {msg}"), Style::default().fg(Color::Green)),
        None => Span::styled(format!(" {hints}"), Style::default().fg(Color::DarkGray)),
    };
    let [l, r] = Layout::horizontal([Constraint::Min(1), Constraint::Length(right.chars().count() as u16)]).areas(area);
    f.render_widget(Paragraph::new(Line::from(left)), l);
    f.render_widget(Paragraph::new(right).style(Style::default().fg(Color::Black).bg(ACCENT)), r);
}

fn centered(f: &Frame, w: u16, h: u16) -> Rect {
    let [v] = Layout::vertical([Constraint::Length(h)]).flex(Flex::Center).areas(f.area());
    let [c] = Layout::horizontal([Constraint::Length(w)]).flex(Flex::Center).areas(v);
    c
}

fn draw_help(m: &Model, f: &mut Frame) {
    let area = centered(f, 76, KEYS.len() as u16 + 2);
    let lines: Vec<Line> = KEYS
        .iter()
        .map(|(k, v)| {
            let keys = match k {
                HelpKey::Actions(actions) => actions.iter().map(|a| m.keymap.describe(a)).collect::<Vec<_>>().join(" "),
                HelpKey::Fixed(s) => s.to_string(),
            };
            // Rebound keys can be long: the column grows, and a space always follows it.
            Line::from(vec![Span::styled(format!(" {keys:<22} "), Style::default().fg(ACCENT)), Span::raw(*v)])
        })
        .collect();
    f.render_widget(Clear, area);
    let block = Block::default()
        .borders(Borders::ALL)
        .title(" Keys (any key closes) ")
        .border_style(Style::default().fg(ACCENT));
    f.render_widget(Paragraph::new(lines).block(block), area);
}

fn draw_choice(f: &mut Frame, title: &str, items: &[&str], selected: usize) {
    let width = items.iter().map(|s| s.chars().count()).max().unwrap_or(0).max(title.len() + 4) as u16 + 6;
    let area = centered(f, width.max(30), items.len() as u16 + 2);
    let lines: Vec<Line> = items
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if i == selected {
                Line::styled(format!(" › {s}"), Style::default().fg(Color::Black).bg(ACCENT))
            } else {
                Line::raw(format!("   {s}"))
            }
        })
        .collect();
    f.render_widget(Clear, area);
    let block =
        Block::default().borders(Borders::ALL).title(format!(" {title} ")).border_style(Style::default().fg(ACCENT));
    f.render_widget(Paragraph::new(lines).block(block), area);
}
