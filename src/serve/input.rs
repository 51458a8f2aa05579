//! Bytes from an SSH channel into crossterm events, as crossterm itself would read them from a
//! local terminal on unix (crossterm's own parser is private).
//!
//! The parser is a small state machine fed whatever the channel delivers: an escape sequence may
//! be split across reads, so an incomplete one waits in `buf`. A lone Esc cannot be told from the
//! start of a sequence until no more bytes come; the caller calls `timeout` after `ESC_TIMEOUT`
//! of silence. Every buffer is bounded: an overlong sequence is dropped, a paste is capped.

use std::time::Duration;

use crossterm::event::{
    Event, KeyCode, KeyEvent, KeyEventKind, KeyEventState, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};

/// How long a lone Esc waits for the rest of a sequence. Sequences arrive in one packet from
/// every real terminal; 30 ms covers a slow link without making Esc feel late.
pub const ESC_TIMEOUT: Duration = Duration::from_millis(30);

/// Silence inside a bracketed paste this long means its end marker was lost: what came is
/// taken as the paste, so a broken paste cannot swallow every later key.
pub const PASTE_TIMEOUT: Duration = Duration::from_secs(2);

/// Longer sequences than this are garbage or hostile: dropped whole.
const MAX_SEQUENCE: usize = 64;

const PASTE_START: &[u8] = b"\x1b[200~";
const PASTE_END: &[u8] = b"\x1b[201~";

pub struct InputParser {
    /// An incomplete escape sequence or UTF-8 character.
    buf: Vec<u8>,
    /// Inside a bracketed paste: the text so far (capped) and whether the cap was hit.
    paste: Option<Vec<u8>>,
    /// The tail of a paste that may be the start of the end marker.
    paste_tail: Vec<u8>,
    paste_cap: usize,
    /// Skipping an overlong sequence until its final byte.
    skipping: bool,
}

enum Step {
    /// A whole event (or nothing) and how many bytes it took.
    Done(Option<Event>, usize),
    /// More bytes are needed.
    More,
}

impl InputParser {
    pub fn new(paste_cap: usize) -> Self {
        Self { buf: Vec::new(), paste: None, paste_tail: Vec::new(), paste_cap, skipping: false }
    }

    /// How long to wait for more bytes before `timeout`, when something waits for them: an
    /// escape sequence (a lone Esc among them) or an unfinished paste.
    pub fn wait(&self) -> Option<Duration> {
        if self.paste.is_some() {
            Some(PASTE_TIMEOUT)
        } else if !self.buf.is_empty() {
            Some(ESC_TIMEOUT)
        } else {
            None
        }
    }

    pub fn feed(&mut self, bytes: &[u8], out: &mut Vec<Event>) {
        for &b in bytes {
            if self.paste.is_some() {
                self.paste_byte(b, out);
                continue;
            }
            if self.skipping {
                // An overlong CSI ends at its final byte.
                if (0x40..=0x7e).contains(&b) {
                    self.skipping = false;
                }
                continue;
            }
            self.buf.push(b);
            self.drain(false, out);
        }
    }

    /// No byte came for `ESC_TIMEOUT`: what waits is taken as typed (a lone Esc is Esc, Esc plus
    /// a partial sequence is Alt plus what it would be).
    pub fn timeout(&mut self, out: &mut Vec<Event>) {
        match self.paste.take() {
            Some(mut text) => {
                let room = self.paste_cap.saturating_sub(text.len());
                let tail = std::mem::take(&mut self.paste_tail);
                text.extend_from_slice(&tail[..tail.len().min(room)]);
                out.push(Event::Paste(String::from_utf8_lossy(&text).into_owned()));
            }
            None => self.drain(true, out),
        }
    }

    fn drain(&mut self, flush: bool, out: &mut Vec<Event>) {
        while !self.buf.is_empty() {
            match parse(&self.buf, flush) {
                Step::Done(ev, used) => {
                    let used = used.clamp(1, self.buf.len());
                    let starts_paste = self.buf[..used] == *PASTE_START;
                    self.buf.drain(..used);
                    if starts_paste {
                        self.paste = Some(Vec::new());
                        // The rest of the buffer is pasted text.
                        let rest = std::mem::take(&mut self.buf);
                        for b in rest {
                            if self.paste.is_some() {
                                self.paste_byte(b, out);
                            } else {
                                self.buf.push(b);
                            }
                        }
                        if self.paste.is_some() {
                            return;
                        }
                        continue;
                    }
                    out.extend(ev);
                }
                Step::More => {
                    if self.buf.len() > MAX_SEQUENCE {
                        let csi = self.buf.starts_with(b"\x1b[");
                        self.buf.clear();
                        self.skipping = csi;
                    }
                    return;
                }
            }
        }
    }

    fn paste_byte(&mut self, b: u8, out: &mut Vec<Event>) {
        self.paste_tail.push(b);
        if PASTE_END.starts_with(&self.paste_tail) {
            if self.paste_tail.len() == PASTE_END.len() {
                self.paste_tail.clear();
                if let Some(text) = self.paste.take() {
                    out.push(Event::Paste(String::from_utf8_lossy(&text).into_owned()));
                }
            }
            return;
        }
        // Not the end marker after all: the tail is text, except that its last byte may start
        // a new marker.
        let tail = std::mem::take(&mut self.paste_tail);
        let (text, keep) = match tail.last() {
            Some(0x1b) => (&tail[..tail.len() - 1], true),
            _ => (&tail[..], false),
        };
        if let Some(paste) = self.paste.as_mut() {
            let room = self.paste_cap.saturating_sub(paste.len());
            paste.extend_from_slice(&text[..text.len().min(room)]);
        }
        if keep {
            self.paste_tail.push(0x1b);
        }
    }
}

fn key(code: KeyCode, modifiers: KeyModifiers) -> Event {
    Event::Key(KeyEvent { code, modifiers, kind: KeyEventKind::Press, state: KeyEventState::NONE })
}

fn done(ev: Event, used: usize) -> Step {
    Step::Done(Some(ev), used)
}

/// One event from the start of `buf`. `flush`: no more bytes are coming for now.
fn parse(buf: &[u8], flush: bool) -> Step {
    match buf[0] {
        0x1b => parse_esc(buf, flush),
        _ => parse_plain(buf, flush),
    }
}

/// A byte that is not Esc: a control key or a (UTF-8) character.
fn parse_plain(buf: &[u8], flush: bool) -> Step {
    let none = KeyModifiers::NONE;
    let ctrl = KeyModifiers::CONTROL;
    let ev = match buf[0] {
        b'\r' | b'\n' => key(KeyCode::Enter, none),
        b'\t' => key(KeyCode::Tab, none),
        0x7f | 0x08 => key(KeyCode::Backspace, none),
        0x00 => key(KeyCode::Char(' '), ctrl),
        c @ 0x01..=0x1a => key(KeyCode::Char((c - 1 + b'a') as char), ctrl),
        c @ 0x1c..=0x1f => key(KeyCode::Char((c - 0x1c + b'4') as char), ctrl),
        _ => return parse_char(buf, flush),
    };
    done(ev, 1)
}

fn parse_char(buf: &[u8], flush: bool) -> Step {
    let want = match buf[0] {
        0x00..=0x7f => 1,
        0xc2..=0xdf => 2,
        0xe0..=0xef => 3,
        0xf0..=0xf4 => 4,
        // A byte that cannot start a character: dropped.
        _ => return Step::Done(None, 1),
    };
    if buf.len() < want {
        if flush {
            return Step::Done(None, buf.len());
        }
        // Continuation bytes only, or it is broken.
        if buf[1..].iter().all(|b| b & 0xc0 == 0x80) {
            return Step::More;
        }
        return Step::Done(None, 1);
    }
    match std::str::from_utf8(&buf[..want]) {
        Ok(s) => {
            let c = s.chars().next().unwrap_or('\u{fffd}');
            let mods = if c.is_uppercase() { KeyModifiers::SHIFT } else { KeyModifiers::NONE };
            done(key(KeyCode::Char(c), mods), want)
        }
        Err(_) => Step::Done(None, 1),
    }
}

fn parse_esc(buf: &[u8], flush: bool) -> Step {
    if buf.len() == 1 {
        return if flush { done(key(KeyCode::Esc, KeyModifiers::NONE), 1) } else { Step::More };
    }
    match buf[1] {
        b'[' => match parse_csi(buf, flush) {
            // Esc then "[" then silence: Alt-[.
            Step::More if flush && buf.len() == 2 => done(key(KeyCode::Char('['), KeyModifiers::ALT), 2),
            Step::More if flush => Step::Done(None, buf.len()),
            step => step,
        },
        b'O' => {
            if buf.len() == 2 {
                return if flush {
                    done(key(KeyCode::Char('O'), KeyModifiers::ALT | KeyModifiers::SHIFT), 2)
                } else {
                    Step::More
                };
            }
            match final_key(buf[2]) {
                Some(code) => done(key(code, KeyModifiers::NONE), 3),
                None => Step::Done(None, 3),
            }
        }
        0x1b => {
            // Esc Esc: the first is a lone Esc.
            done(key(KeyCode::Esc, KeyModifiers::NONE), 1)
        }
        _ => {
            // Alt plus whatever the rest is.
            match parse_plain(&buf[1..], flush) {
                Step::Done(Some(Event::Key(mut k)), used) => {
                    k.modifiers |= KeyModifiers::ALT;
                    done(Event::Key(k), used + 1)
                }
                Step::Done(other, used) => Step::Done(other, used + 1),
                Step::More => Step::More,
            }
        }
    }
}

/// `Esc [` parameters, intermediates and a final byte.
fn parse_csi(buf: &[u8], flush: bool) -> Step {
    let _ = flush;
    // SGR mouse and X10 mouse have their own shapes.
    if buf.len() >= 3 && buf[2] == b'M' {
        // X10: Esc [ M b x y
        return if buf.len() < 6 { Step::More } else { Step::Done(None, 6) };
    }
    let Some(end) = buf[2..].iter().position(|b| (0x40..=0x7e).contains(b)) else {
        // Parameter or intermediate bytes only so far; anything else means it is broken.
        if buf[2..].iter().all(|b| (0x20..=0x3f).contains(b)) {
            return Step::More;
        }
        return Step::Done(None, buf.len());
    };
    let end = end + 2;
    let used = end + 1;
    let params = &buf[2..end];
    let fin = buf[end];
    let ev = csi_event(params, fin);
    Step::Done(ev, used)
}

/// The keys that CSI and SS3 both name by their final letter.
fn final_key(b: u8) -> Option<KeyCode> {
    Some(match b {
        b'A' => KeyCode::Up,
        b'B' => KeyCode::Down,
        b'C' => KeyCode::Right,
        b'D' => KeyCode::Left,
        b'H' => KeyCode::Home,
        b'F' => KeyCode::End,
        b'P' => KeyCode::F(1),
        b'Q' => KeyCode::F(2),
        b'R' => KeyCode::F(3),
        b'S' => KeyCode::F(4),
        _ => return None,
    })
}

fn numbers(params: &[u8]) -> Vec<u16> {
    params
        .split(|&b| b == b';')
        .map(|p| std::str::from_utf8(p).ok().and_then(|s| s.parse::<u16>().ok()).unwrap_or(0))
        .collect()
}

/// xterm's modifier parameter: 1 + shift(1) + alt(2) + ctrl(4).
fn modifiers(param: Option<&u16>) -> KeyModifiers {
    shift_alt_ctrl(param.copied().unwrap_or(1).saturating_sub(1))
}

/// Shift, Alt and Ctrl from the three low bits of `bits`, in that order.
fn shift_alt_ctrl(bits: u16) -> KeyModifiers {
    [KeyModifiers::SHIFT, KeyModifiers::ALT, KeyModifiers::CONTROL]
        .into_iter()
        .enumerate()
        .filter(|(i, _)| bits & (1 << i) != 0)
        .fold(KeyModifiers::NONE, |m, (_, k)| m | k)
}

fn csi_event(params: &[u8], fin: u8) -> Option<Event> {
    if params.first() == Some(&b'<') {
        return sgr_mouse(&params[1..], fin);
    }
    if params.iter().any(|b| !(b.is_ascii_digit() || *b == b';')) {
        // Private modes and replies we never asked for.
        return None;
    }
    let n = numbers(params);
    let mods = modifiers(n.get(1));
    if let Some(code) = final_key(fin) {
        return Some(key(code, mods));
    }
    let code = match fin {
        b'Z' => return Some(key(KeyCode::BackTab, KeyModifiers::SHIFT)),
        b'I' if params.is_empty() => return Some(Event::FocusGained),
        b'O' if params.is_empty() => return Some(Event::FocusLost),
        b'~' => match n.first().copied().unwrap_or(0) {
            1 | 7 => KeyCode::Home,
            2 => KeyCode::Insert,
            3 => KeyCode::Delete,
            4 | 8 => KeyCode::End,
            5 => KeyCode::PageUp,
            6 => KeyCode::PageDown,
            f @ 11..=15 => KeyCode::F((f - 10) as u8),
            f @ 17..=21 => KeyCode::F((f - 11) as u8),
            f @ 23..=24 => KeyCode::F((f - 12) as u8),
            _ => return None,
        },
        _ => return None,
    };
    Some(key(code, mods))
}

/// `Esc [ < b ; x ; y M|m`, 1-based cells.
fn sgr_mouse(params: &[u8], fin: u8) -> Option<Event> {
    if fin != b'M' && fin != b'm' {
        return None;
    }
    let n = numbers(params);
    let [b, x, y] = n[..] else { return None };
    // The button byte keeps its modifiers in bits 2 to 4.
    let modifiers = shift_alt_ctrl(b >> 2);
    let button = match b & 3 {
        0 => MouseButton::Left,
        1 => MouseButton::Middle,
        _ => MouseButton::Right,
    };
    let kind = if b & 64 != 0 {
        match b & 3 {
            0 => MouseEventKind::ScrollUp,
            1 => MouseEventKind::ScrollDown,
            2 => MouseEventKind::ScrollLeft,
            _ => MouseEventKind::ScrollRight,
        }
    } else if b & 32 != 0 {
        if b & 3 == 3 {
            MouseEventKind::Moved
        } else {
            MouseEventKind::Drag(button)
        }
    } else if fin == b'm' {
        MouseEventKind::Up(button)
    } else {
        MouseEventKind::Down(button)
    };
    Some(Event::Mouse(MouseEvent { kind, column: x.saturating_sub(1), row: y.saturating_sub(1), modifiers }))
}

#[cfg(test)]
mod tests;
