//! The input parser against what terminals send.

use super::*;
use proptest::prelude::*;

fn all(bytes: &[u8]) -> Vec<Event> {
    let mut p = InputParser::new(1024);
    let mut out = Vec::new();
    p.feed(bytes, &mut out);
    p.timeout(&mut out);
    out
}

fn k(code: KeyCode, m: KeyModifiers) -> Event {
    key(code, m)
}

#[test]
fn plain_keys_and_controls() {
    let none = KeyModifiers::NONE;
    assert_eq!(
        all(b"aZ\r\t\x7f\x03\x00"),
        vec![
            k(KeyCode::Char('a'), none),
            k(KeyCode::Char('Z'), KeyModifiers::SHIFT),
            k(KeyCode::Enter, none),
            k(KeyCode::Tab, none),
            k(KeyCode::Backspace, none),
            k(KeyCode::Char('c'), KeyModifiers::CONTROL),
            k(KeyCode::Char(' '), KeyModifiers::CONTROL),
        ]
    );
}

#[test]
fn utf8_split_across_reads() {
    let mut p = InputParser::new(16);
    let mut out = Vec::new();
    let e = "é".as_bytes();
    p.feed(&e[..1], &mut out);
    assert!(out.is_empty());
    p.feed(&e[1..], &mut out);
    assert_eq!(out, vec![k(KeyCode::Char('é'), KeyModifiers::NONE)]);
}

#[test]
fn arrows_and_modifiers() {
    assert_eq!(
        all(b"\x1b[A\x1bOB\x1b[1;5C\x1b[1;2D\x1b[Z"),
        vec![
            k(KeyCode::Up, KeyModifiers::NONE),
            k(KeyCode::Down, KeyModifiers::NONE),
            k(KeyCode::Right, KeyModifiers::CONTROL),
            k(KeyCode::Left, KeyModifiers::SHIFT),
            k(KeyCode::BackTab, KeyModifiers::SHIFT),
        ]
    );
}

#[test]
fn tilde_keys_and_function_keys() {
    let none = KeyModifiers::NONE;
    assert_eq!(
        all(b"\x1b[3~\x1b[5~\x1b[6~\x1b[1~\x1b[4~\x1b[15~\x1b[24~\x1bOP"),
        vec![
            k(KeyCode::Delete, none),
            k(KeyCode::PageUp, none),
            k(KeyCode::PageDown, none),
            k(KeyCode::Home, none),
            k(KeyCode::End, none),
            k(KeyCode::F(5), none),
            k(KeyCode::F(12), none),
            k(KeyCode::F(1), none),
        ]
    );
}

#[test]
fn a_split_sequence_waits_for_its_rest() {
    let mut p = InputParser::new(16);
    let mut out = Vec::new();
    p.feed(b"\x1b", &mut out);
    p.feed(b"[", &mut out);
    assert!(out.is_empty() && p.wait() == Some(ESC_TIMEOUT));
    p.feed(b"B", &mut out);
    assert_eq!(out, vec![k(KeyCode::Down, KeyModifiers::NONE)]);
    assert_eq!(p.wait(), None);
}

#[test]
fn a_lone_esc_comes_after_the_timeout() {
    let mut p = InputParser::new(16);
    let mut out = Vec::new();
    p.feed(b"\x1b", &mut out);
    assert!(out.is_empty() && p.wait() == Some(ESC_TIMEOUT));
    p.timeout(&mut out);
    assert_eq!(out, vec![k(KeyCode::Esc, KeyModifiers::NONE)]);
    // Esc Esc is one Esc now and one waiting.
    out.clear();
    p.feed(b"\x1b\x1b", &mut out);
    assert_eq!(out, vec![k(KeyCode::Esc, KeyModifiers::NONE)]);
    assert_eq!(p.wait(), Some(ESC_TIMEOUT));
}

#[test]
fn alt_keys() {
    assert_eq!(
        all(b"\x1bx\x1b\r"),
        vec![k(KeyCode::Char('x'), KeyModifiers::ALT), k(KeyCode::Enter, KeyModifiers::ALT),]
    );
}

#[test]
fn bracketed_paste_is_one_event_and_capped() {
    assert_eq!(
        all(b"a\x1b[200~hi\x1b[A\nthere\x1b[201~b"),
        vec![
            k(KeyCode::Char('a'), KeyModifiers::NONE),
            Event::Paste("hi\x1b[A\nthere".into()),
            k(KeyCode::Char('b'), KeyModifiers::NONE),
        ]
    );
    let mut p = InputParser::new(4);
    let mut out = Vec::new();
    p.feed(b"\x1b[200~0123456789\x1b[201~", &mut out);
    assert_eq!(out, vec![Event::Paste("0123".into())]);
    // A paste in pieces, the end marker split too.
    let mut p = InputParser::new(64);
    let mut out = Vec::new();
    for piece in [&b"\x1b[20"[..], b"0~ab", b"\x1b", b"[20", b"1~"] {
        p.feed(piece, &mut out);
    }
    assert_eq!(out, vec![Event::Paste("ab".into())]);
}

#[test]
fn a_paste_that_never_ends_is_taken_after_its_timeout() {
    let mut p = InputParser::new(64);
    let mut out = Vec::new();
    p.feed(b"\x1b[200~half a paste\x1b[20", &mut out);
    assert!(out.is_empty());
    assert_eq!(p.wait(), Some(PASTE_TIMEOUT));
    p.timeout(&mut out);
    assert_eq!(out, vec![Event::Paste("half a paste\x1b[20".into())]);
    // Keys are keys again.
    out.clear();
    p.feed(b"q", &mut out);
    assert_eq!(out, vec![k(KeyCode::Char('q'), KeyModifiers::NONE)]);
}

#[test]
fn focus_and_mouse() {
    let got = all(b"\x1b[I\x1b[O\x1b[<0;10;5M\x1b[<64;1;1M\x1b[<20;2;3m");
    assert_eq!(got[0], Event::FocusGained);
    assert_eq!(got[1], Event::FocusLost);
    assert_eq!(
        got[2],
        Event::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: 9,
            row: 4,
            modifiers: KeyModifiers::NONE,
        })
    );
    assert!(matches!(got[3], Event::Mouse(MouseEvent { kind: MouseEventKind::ScrollUp, .. })));
}

#[test]
fn unknown_and_overlong_sequences_are_dropped() {
    assert_eq!(all(b"\x1b[?1;2c\x1b[99~x"), vec![k(KeyCode::Char('x'), KeyModifiers::NONE)]);
    let mut long = b"\x1b[".to_vec();
    long.extend(std::iter::repeat_n(b'1', 500));
    long.extend(b"~y");
    assert_eq!(all(&long), vec![k(KeyCode::Char('y'), KeyModifiers::NONE)]);
}

proptest! {
    #[test]
    fn never_panics_and_stays_bounded(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let mut p = InputParser::new(64);
        let mut out = Vec::new();
        p.feed(&bytes, &mut out);
        p.timeout(&mut out);
        prop_assert!(p.buf.len() <= MAX_SEQUENCE + 1);
    }

    #[test]
    fn chunking_does_not_change_the_events(
        text in "[a-zA-Z0-9 é]{0,8}",
        seqs in proptest::collection::vec(0usize..8, 0..6),
        cut in 1usize..7,
    ) {
        let table: [&[u8]; 8] = [
            b"\x1b[A", b"\x1b[1;5C", b"\x1b[3~", b"\x1bOP", b"\x1b[200~p\x1b[201~",
            b"\r", b"\x1b[<0;3;4M", b"\x1bx",
        ];
        let mut bytes = text.as_bytes().to_vec();
        for s in seqs {
            bytes.extend_from_slice(table[s]);
            bytes.extend_from_slice(text.as_bytes());
        }
        let whole = all(&bytes);
        let mut p = InputParser::new(1024);
        let mut out = Vec::new();
        for chunk in bytes.chunks(cut) {
            p.feed(chunk, &mut out);
        }
        p.timeout(&mut out);
        prop_assert_eq!(whole, out);
    }
}
