//! vCard (`.vcf`, 2.1, 3.0 and 4.0), as phones and contacts apps write it: folded lines,
//! quoted-printable values with their charset, grouped properties (`item1.TEL`), several cards
//! per file. Read into rows for the import pipeline, and written from leads for `export`.

use crate::model::Lead;

/// One card: where it starts in the file, and its properties in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    /// The 1-based line of its BEGIN:VCARD.
    pub line: u64,
    pub props: Vec<Prop>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prop {
    /// Uppercased, without a group prefix: `TEL`, `N`, `X-TELEGRAM`.
    pub name: String,
    /// Uppercased parameter values, `TYPE=CELL,VOICE` and a bare `CELL` alike: `["CELL", "VOICE"]`.
    pub types: Vec<String>,
    /// Decoded (quoted-printable, charset) but still escaped: structured values split on it.
    pub raw: String,
    /// Decoded and unescaped.
    pub value: String,
}

/// Whether a file starts like a vCard file.
pub fn looks_like(head: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&head[..head.len().min(512)]);
    text.trim_start_matches('\u{feff}').trim_start().to_ascii_uppercase().starts_with("BEGIN:VCARD")
}

/// Every card of `text`. Lines outside a card are ignored, as contacts apps do.
pub fn parse(text: &str) -> Vec<Card> {
    let mut cards = Vec::new();
    let mut current: Option<Card> = None;
    for (line_no, line) in logical_lines(text) {
        let upper = line.trim().to_ascii_uppercase();
        if upper == "BEGIN:VCARD" {
            current = Some(Card { line: line_no, props: Vec::new() });
            continue;
        }
        if upper == "END:VCARD" {
            cards.extend(current.take());
            continue;
        }
        if let (Some(card), Some(prop)) = (current.as_mut(), parse_prop(&line)) {
            card.props.push(prop);
        }
    }
    cards
}

/// Unfolded lines with the number of the line each starts on. A line starting with a space or a
/// tab continues the previous one (RFC 6350 folding); a quoted-printable value ending in `=`
/// continues on the next line (vCard 2.1 soft breaks).
fn logical_lines(text: &str) -> Vec<(u64, String)> {
    let mut out: Vec<(u64, String)> = Vec::new();
    let mut soft = false;
    for (i, raw) in text.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let n = i as u64 + 1;
        match out.last_mut() {
            Some((_, prev)) if soft => {
                prev.pop();
                prev.push_str(raw);
            }
            Some((_, prev)) if raw.starts_with([' ', '\t']) => prev.push_str(&raw[1..]),
            _ => out.push((n, raw.to_string())),
        }
        let last = out.last().map(|(_, l)| l.as_str()).unwrap_or_default();
        soft = last.ends_with('=') && last.to_ascii_uppercase().contains("QUOTED-PRINTABLE");
    }
    out
}

fn parse_prop(line: &str) -> Option<Prop> {
    let (head, value) = split_unquoted(line, ':')?;
    let mut parts = head.split(';');
    let name = parts.next()?.trim();
    // `item1.TEL`: Apple's property groups.
    let name = name.rsplit('.').next().unwrap_or(name).to_ascii_uppercase();
    let (mut types, mut qp, mut charset) = (Vec::new(), false, None);
    for p in parts {
        let (k, v) = match p.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_uppercase(), v.trim().trim_matches('"').to_string()),
            None => ("TYPE".to_string(), p.trim().to_string()),
        };
        match k.as_str() {
            "TYPE" => types.extend(v.split(',').map(|t| t.trim().to_ascii_uppercase()).filter(|t| !t.is_empty())),
            "ENCODING" if v.eq_ignore_ascii_case("QUOTED-PRINTABLE") => qp = true,
            "CHARSET" => charset = Some(v),
            _ if v.eq_ignore_ascii_case("QUOTED-PRINTABLE") => qp = true,
            _ => {}
        }
    }
    let raw = if qp { quoted_printable(value, charset.as_deref()) } else { value.to_string() };
    Some(Prop { name, types, value: unescape(&raw), raw })
}

/// Splits at the first `sep` outside double quotes (parameter values may hold a colon).
fn split_unquoted(s: &str, sep: char) -> Option<(&str, &str)> {
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c == sep && !quoted => return Some((&s[..i], &s[i + 1..])),
            _ => {}
        }
    }
    None
}

fn quoted_printable(v: &str, charset: Option<&str>) -> String {
    let b = v.as_bytes();
    let mut bytes = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (b[i], b.get(i + 1).copied().and_then(hex), b.get(i + 2).copied().and_then(hex)) {
            (b'=', Some(h), Some(l)) => {
                bytes.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, _, _) => {
                bytes.push(c);
                i += 1;
            }
        }
    }
    let enc = charset.and_then(|c| encoding_rs::Encoding::for_label(c.as_bytes())).unwrap_or(encoding_rs::UTF_8);
    enc.decode_without_bom_handling(&bytes).0.into_owned()
}

fn unescape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n' | 'N') => out.push('\n'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// A structured value's components (`N:Family;Given;…`): split at unescaped `;`, then unescaped.
fn components(raw: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut escaped = false;
    for c in raw.chars() {
        match c {
            ';' if !escaped => out.push(String::new()),
            _ => {
                if let Some(last) = out.last_mut() {
                    last.push(c);
                }
            }
        }
        escaped = c == '\\' && !escaped;
    }
    out.iter().map(|s| unescape(s).trim().to_string()).collect()
}

/// The rows the import pipeline reads: one per card, under headers that the mapping knows
/// (`TEL 1 - Type` / `TEL 1 - Value` are phone slots; the first mobile number is the lead's phone).
pub fn rows(cards: &[Card]) -> (Vec<String>, Vec<(u64, Vec<String>)>) {
    let phones = cards.iter().map(|c| c.props.iter().filter(|p| p.name == "TEL").count()).max().unwrap_or(0);
    let mut headers: Vec<String> =
        ["First Name", "Last Name", "Telegram", "Telegram ID", "Categories", "Note", "Organization"]
            .iter()
            .map(|s| s.to_string())
            .collect();
    for n in 1..=phones {
        headers.push(format!("TEL {n} - Type"));
        headers.push(format!("TEL {n} - Value"));
    }
    let rows = cards
        .iter()
        .map(|card| {
            let prop = |name: &str| card.props.iter().find(|p| p.name == name);
            let get = |name: &str| prop(name).map(|p| p.value.clone());
            let n = prop("N").map(|p| components(&p.raw)).unwrap_or_default();
            let (mut first, last) = (n.get(1).cloned().unwrap_or_default(), n.first().cloned().unwrap_or_default());
            if first.is_empty() && last.is_empty() {
                first = get("FN").unwrap_or_default();
            }
            let telegram = get("X-TELEGRAM").or_else(|| {
                card.props.iter().filter(|p| p.name == "IMPP").find_map(|p| {
                    let v = p.value.trim();
                    let rest = v.strip_prefix("tg://resolve?domain=").or_else(|| v.strip_prefix("tg:"))?;
                    Some(rest.split('&').next().unwrap_or(rest).to_string())
                })
            });
            let mut cells = vec![
                first,
                last,
                telegram.unwrap_or_default(),
                get("X-TELEGRAM-ID").unwrap_or_default(),
                get("CATEGORIES").unwrap_or_default(),
                get("NOTE").unwrap_or_default(),
                prop("ORG").map(|o| components(&o.raw).join(" ").trim().to_string()).unwrap_or_default(),
            ];
            let tels: Vec<&Prop> = card.props.iter().filter(|p| p.name == "TEL").collect();
            for i in 0..phones {
                match tels.get(i) {
                    Some(t) => {
                        let kind = t.types.iter().find(|t| !matches!(t.as_str(), "VOICE" | "PREF" | "INTERNET"));
                        cells.push(kind.map(|k| k.to_lowercase()).unwrap_or_default());
                        cells.push(t.value.trim().trim_start_matches("tel:").to_string());
                    }
                    None => cells.extend([String::new(), String::new()]),
                }
            }
            (card.line, cells)
        })
        .collect();
    (headers, rows)
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n").replace(',', "\\,").replace(';', "\\;")
}

/// Folds a content line at 75 octets, never inside a character (RFC 6350 3.2).
fn fold(line: &str, out: &mut String) {
    let mut width = 0;
    for c in line.chars() {
        if width + c.len_utf8() > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += c.len_utf8();
    }
    out.push_str("\r\n");
}

/// One lead as a vCard 3.0 card: names, phone, the Telegram username (as `X-TELEGRAM` and an
/// `IMPP` link a phone's contacts app opens) and user id, tags as categories.
pub fn card(l: &Lead) -> String {
    let mut out = String::new();
    let mut line = |s: String| fold(&s, &mut out);
    line("BEGIN:VCARD".into());
    line("VERSION:3.0".into());
    line(format!("N:{};{};;;", escape(&l.last_name), escape(&l.first_name)));
    line(format!("FN:{}", escape(&l.display_name())));
    if let Some(p) = &l.phone {
        line(format!("TEL;TYPE=CELL:{}", escape(p.display())));
    }
    if let Some(u) = &l.username {
        line(format!("X-TELEGRAM:{}", escape(u)));
        line(format!("IMPP;X-SERVICE-TYPE=Telegram:tg://resolve?domain={u}"));
    }
    if let Some(id) = l.telegram_user_id {
        line(format!("X-TELEGRAM-ID:{id}"));
    }
    if !l.tags.is_empty() {
        line(format!("CATEGORIES:{}", l.tags.iter().map(|t| escape(t)).collect::<Vec<_>>().join(",")));
    }
    line("END:VCARD".into());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const PHONE_EXPORT: &str = "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:=D0=98=D0=B2=D0=B0=D0=BD=D0=BE=D0=B2;=D0=98=D0=B2=D0=B0=D0=BD;;;\r\n\
TEL;CELL:+7 916 123-45-67\r\nTEL;WORK;VOICE:+7 495 000-00-00\r\nNOTE;ENCODING=QUOTED-PRINTABLE:met at=0D=0Athe fair, a long note that goes on=\r\n and on\r\nPHOTO;ENCODING=BASE64;TYPE=JPEG:/9j/4AAQSkZJRgABAQ\r\n AAAQABAAD\r\n\r\nEND:VCARD\r\n\
BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Anna Kim\r\nN:Kim;Anna;;;\r\nitem1.TEL;type=HOME:+44 20 7946 0958\r\nTEL;TYPE=\"cell,voice\";VALUE=uri:tel:+1-212-555-0100\r\nCATEGORIES:Friends,VIP\r\nEND:VCARD\r\n\
BEGIN:VCARD\r\nVERSION:4.0\r\nFN:No Number\r\nEND:VCARD\r\n";

    #[test]
    fn real_phone_exports_parse_folded_quoted_printable_and_grouped() {
        let cards = parse(PHONE_EXPORT);
        assert_eq!(cards.len(), 3);
        assert_eq!(cards.iter().map(|c| c.line).collect::<Vec<_>>(), vec![1, 12, 20]);
        let (headers, rows) = rows(&cards);
        assert_eq!(headers.len(), 7 + 4, "two phone slots: the most any card has");
        let ivan = &rows[0].1;
        assert_eq!((ivan[0].as_str(), ivan[1].as_str()), ("Иван", "Иванов"), "quoted-printable UTF-8");
        assert_eq!(ivan[5], "met at\r\nthe fair, a long note that goes on and on", "a soft line break joins");
        assert_eq!(&ivan[7..11], &["cell", "+7 916 123-45-67", "work", "+7 495 000-00-00"]);
        let anna = &rows[1].1;
        assert_eq!((anna[0].as_str(), anna[4].as_str()), ("Anna", "Friends,VIP"));
        assert_eq!(&anna[7..11], &["home", "+44 20 7946 0958", "cell", "+1-212-555-0100"]);
        assert_eq!(rows[2].1[0], "No Number", "FN when there is no N");
    }

    #[test]
    fn written_cards_fold_escape_and_parse_back() {
        let c = LeadInputFixture::lead();
        let text = card(&c);
        assert!(text.lines().all(|l| l.len() <= 76), "{text}");
        let back = parse(&text);
        let (headers, rows) = rows(&back);
        let cell = |h: &str| rows[0].1[headers.iter().position(|x| x == h).unwrap()].clone();
        assert_eq!(cell("First Name"), c.first_name);
        assert_eq!(cell("Last Name"), "Smith; Jr., the third");
        assert_eq!(cell("Telegram"), "anna_smith");
        assert_eq!(cell("TEL 1 - Value"), "+79161234567");
        assert_eq!(cell("Categories"), "partner,vip");
    }

    struct LeadInputFixture;

    impl LeadInputFixture {
        fn lead() -> Lead {
            use crate::model::{LeadInput, Source};
            let input = LeadInput {
                first_name: Some("Анна-Мария with a very long first name that needs folding at 75 octets".into()),
                last_name: Some("Smith; Jr., the third".into()),
                username: Some("anna_smith".into()),
                phone: Some("+7 916 123 45 67".into()),
                tags: vec!["vip".into(), "partner".into()],
                ..Default::default()
            };
            let c = input.validate(Source::Manual, None).unwrap();
            crate::store::merge::create(1, "u:t", "t", 0, c, Default::default()).0
        }
    }
}
