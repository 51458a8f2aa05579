//! Plain-text tables for terminal output, aligned by display width (CJK and emoji included).

use unicode_width::UnicodeWidthStr;

use crate::model::{format_millis, Lead};

pub fn render(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.width()).collect();
    for r in rows {
        for (w, cell) in widths.iter_mut().zip(r) {
            *w = (*w).max(cell.width());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.zip(&widths).enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            s.push_str(cell);
            if i + 1 < widths.len() {
                s.push_str(&" ".repeat(w.saturating_sub(cell.width())));
            }
        }
        s.truncate(s.trim_end().len());
        s.push('\n');
        s
    };
    let mut out = line(&mut headers.iter().copied());
    for r in rows {
        out.push_str(&line(&mut r.iter().map(String::as_str)));
    }
    out
}

fn clip(s: &str, max: usize) -> String {
    if s.width() <= max {
        return s.to_string();
    }
    let mut out = String::new();
    for c in s.chars() {
        if out.width() + 1 >= max {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

pub fn leads(leads: &[Lead]) -> String {
    let rows: Vec<Vec<String>> = leads
        .iter()
        .map(|l| {
            vec![
                l.id.to_string(),
                clip(format!("{} {}", l.first_name, l.last_name).trim(), 28),
                l.username.as_ref().map(|u| format!("@{u}")).unwrap_or_default(),
                l.phone.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
                l.status.to_string(),
                l.priority.to_string(),
                l.source.to_string(),
                clip(l.group_name.as_deref().unwrap_or_default(), 24),
                clip(&l.tags.iter().cloned().collect::<Vec<_>>().join(","), 24),
                format_millis(l.updated_at),
            ]
        })
        .collect();
    let headers = ["ID", "NAME", "USERNAME", "PHONE", "STATUS", "PRIORITY", "SOURCE", "GROUP", "TAGS", "UPDATED"];
    let mut out = render(&headers, &rows);
    out.push_str(&format!("{} lead{}\n", leads.len(), if leads.len() == 1 { "" } else { "s" }));
    out
}
