//! Guessing what a file is: spreadsheet or delimited text, its encoding, and its delimiter.

use encoding_rs::Encoding;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Delimited,
    Spreadsheet,
}

/// Spreadsheets are recognized by extension or by their container's magic bytes
/// (zip for xlsx/ods, OLE for xls), so a misnamed file still opens.
pub fn file_kind(path: &std::path::Path, head: &[u8]) -> FileKind {
    let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase();
    let spreadsheet_ext = matches!(ext.as_str(), "xlsx" | "xlsm" | "xlsb" | "xls" | "ods");
    let zip = head.starts_with(b"PK\x03\x04");
    let ole = head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]);
    if spreadsheet_ext || zip || ole {
        FileKind::Spreadsheet
    } else {
        FileKind::Delimited
    }
}

/// The encoding and the length of its byte-order mark. `label` is a user override such as `windows-1251`.
pub fn encoding(head: &[u8], label: Option<&str>) -> Result<(&'static Encoding, usize), String> {
    if let Some(label) = label {
        let enc = Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
            format!("unknown encoding {label:?}; try utf-8, windows-1251, windows-1252, koi8-r or utf-16le")
        })?;
        let bom = match Encoding::for_bom(head) {
            Some((b, len)) if b == enc => len,
            _ => 0,
        };
        return Ok((enc, bom));
    }
    if let Some((enc, len)) = Encoding::for_bom(head) {
        return Ok((enc, len));
    }
    match std::str::from_utf8(head) {
        Ok(_) => return Ok((encoding_rs::UTF_8, 0)),
        // The sample may end in the middle of a character; that is still UTF-8.
        Err(e) if e.error_len().is_none() => return Ok((encoding_rs::UTF_8, 0)),
        Err(_) => {}
    }
    let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    det.feed(head, false);
    Ok((det.guess(None, chardetng::Utf8Detection::Allow), 0))
}

pub const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// Picks the delimiter that splits the sample's records into the most consistent number of
/// fields (quotes respected, so quoted commas and newlines do not count).
pub fn delimiter(sample: &str) -> u8 {
    let mut best = (b',', 0usize, 0usize);
    for d in DELIMITERS {
        let counts = record_counts(sample, d);
        if counts.is_empty() {
            continue;
        }
        // The most common per-record count, and how many records have it.
        let mut freq: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
        for c in &counts {
            *freq.entry(*c).or_default() += 1;
        }
        let (mode, agree) = freq.into_iter().filter(|(c, _)| *c > 0).max_by_key(|(c, n)| (*n, *c)).unwrap_or((0, 0));
        if mode == 0 {
            continue;
        }
        if (agree, mode) > (best.1, best.2) {
            best = (d, agree, mode);
        }
    }
    best.0
}

/// Per record, how many times `d` occurs outside quotes. The last record is dropped: the sample
/// may cut it short.
fn record_counts(sample: &str, d: u8) -> Vec<usize> {
    let mut counts = Vec::new();
    let mut in_quotes = false;
    let mut n = 0;
    let mut blank = true;
    for &b in sample.as_bytes() {
        match b {
            b'"' => {
                in_quotes = !in_quotes;
                blank = false;
            }
            b'\n' if !in_quotes => {
                if !blank {
                    counts.push(n);
                }
                n = 0;
                blank = true;
            }
            b'\r' => {}
            _ if b == d && !in_quotes => {
                n += 1;
                blank = false;
            }
            _ => blank = false,
        }
        if counts.len() >= 200 {
            break;
        }
    }
    if counts.is_empty() && !blank {
        counts.push(n);
    }
    counts
}

pub fn delimiter_name(d: u8) -> &'static str {
    match d {
        b',' => "comma",
        b';' => "semicolon",
        b'\t' => "tab",
        b'|' => "pipe",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_are_sniffed() {
        assert_eq!(delimiter("a,b,c\n1,2,3\n"), b',');
        assert_eq!(delimiter("a;b;c\n1;\"2,5\";3\n4;5;6\n"), b';');
        assert_eq!(delimiter("a\tb\n1\t2\n"), b'\t');
        assert_eq!(delimiter("name|phone\n\"x, y\"|1\n"), b'|');
        // Commas inside quoted fields and newlines inside quotes do not fool it.
        assert_eq!(delimiter("a;b\n\"1,2,3,\n4,5\";6\n7;8\n"), b';');
    }

    #[test]
    fn encodings_are_detected() {
        assert_eq!(encoding(b"\xEF\xBB\xBFname", None).unwrap(), (encoding_rs::UTF_8, 3));
        assert_eq!(encoding("имя,телефон".as_bytes(), None).unwrap().0, encoding_rs::UTF_8);
        let (cp1251, _, _) = encoding_rs::WINDOWS_1251.encode("имя,фамилия\nИван,Петров\nМария,Сидорова\n");
        assert_eq!(encoding(&cp1251, None).unwrap().0, encoding_rs::WINDOWS_1251);
        let (cp1252, _, _) =
            encoding_rs::WINDOWS_1252.encode("name,city\nJosé,Málaga\nFrançois,Besançon\nJürgen,Köln\n");
        assert_eq!(encoding(&cp1252, None).unwrap().0, encoding_rs::WINDOWS_1252);
        assert_eq!(encoding(b"abc", Some("cp1251")).unwrap().0, encoding_rs::WINDOWS_1251);
        assert!(encoding(b"abc", Some("klingon")).is_err());
    }
}
