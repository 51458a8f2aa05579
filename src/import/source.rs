//! Row sources: delimited text streamed through the csv crate (decoded to UTF-8 on the fly when it
//! is in a legacy encoding), and spreadsheets through calamine. Both yield header cells, then rows
//! with the line (or sheet row) number a user will find them at.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use calamine::{Data, Reader};

use super::sniff;
use super::ImportError;

pub struct RawRow {
    /// 1-based line (CSV) or sheet row (spreadsheets) where the row starts.
    pub line: u64,
    pub cells: Vec<String>,
    /// Set when the row could not be read as text; the row is rejected with this reason.
    pub error: Option<String>,
}

pub struct Detected {
    pub format: String,
    pub encoding: Option<String>,
    pub delimiter: Option<u8>,
    pub sheet: Option<String>,
    pub sheets: Vec<String>,
}

pub enum Rows {
    Csv {
        reader: csv::Reader<Box<dyn Read + Send>>,
        record: csv::ByteRecord,
        total: u64,
        read: Arc<AtomicU64>,
        lines: Arc<Mutex<LineIndex>>,
        /// Byte position of the last record; for UTF-8 input it is a file offset (minus the BOM).
        position: u64,
        utf8: bool,
    },
    Sheet {
        rows: std::vec::IntoIter<(u64, Vec<String>)>,
        total: u64,
        done: u64,
    },
}

/// Counts bytes and feeds them to the content hash as the csv reader pulls them.
pub(super) struct Tap<R> {
    pub inner: R,
    pub read: Arc<AtomicU64>,
    pub hasher: Arc<std::sync::Mutex<blake3::Hasher>>,
}

impl<R: Read> Read for Tap<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n as u64, Ordering::Relaxed);
        if let Ok(mut h) = self.hasher.lock() {
            h.update(&buf[..n]);
        }
        Ok(n)
    }
}

/// Line numbers of records, counted from the bytes the csv reader consumed: the csv crate's own
/// count skips blank lines and CRLF line ends. Holds only the bytes not yet passed by the cursor.
#[derive(Default)]
pub struct LineIndex {
    chunks: VecDeque<(u64, Vec<u8>)>,
    end: u64,
    cursor: u64,
    newlines_before_cursor: u64,
}

impl LineIndex {
    fn push(&mut self, bytes: &[u8]) {
        self.chunks.push_back((self.end, bytes.to_vec()));
        self.end += bytes.len() as u64;
    }

    fn byte(&self, at: u64) -> Option<u8> {
        self.chunks.iter().find(|(s, b)| at >= *s && at < s + b.len() as u64).map(|(s, b)| b[(at - s) as usize])
    }

    /// The 1-based line of a record whose csv byte position is `pos`: the csv reader positions a record
    /// just after the first byte of the previous terminator, so leading CR/LF bytes are skipped first.
    fn line_at(&mut self, pos: u64) -> u64 {
        let pos = pos.max(self.cursor);
        for (start, bytes) in &self.chunks {
            let (from, to) = (self.cursor.max(*start), pos.min(start + bytes.len() as u64));
            if from < to {
                let slice = &bytes[(from - start) as usize..(to - start) as usize];
                self.newlines_before_cursor += slice.iter().filter(|&&b| b == b'\n').count() as u64;
            }
        }
        self.cursor = pos;
        while let Some(b @ (b'\r' | b'\n')) = self.byte(self.cursor) {
            if b == b'\n' {
                self.newlines_before_cursor += 1;
            }
            self.cursor += 1;
        }
        while self.chunks.front().is_some_and(|(s, b)| s + (b.len() as u64) <= self.cursor) {
            self.chunks.pop_front();
        }
        self.newlines_before_cursor + 1
    }
}

struct LineTap<R> {
    inner: R,
    lines: Arc<Mutex<LineIndex>>,
}

impl<R: Read> Read for LineTap<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Ok(mut l) = self.lines.lock() {
            l.push(&buf[..n]);
        }
        Ok(n)
    }
}

pub struct Opened {
    pub detected: Detected,
    pub headers: Vec<String>,
    pub rows: Rows,
    pub hasher: Arc<std::sync::Mutex<blake3::Hasher>>,
}

pub fn open(path: &Path, sheet: Option<&str>, encoding: Option<&str>) -> Result<Opened, ImportError> {
    let io = |e: std::io::Error| ImportError::Io { path: path.to_path_buf(), message: e.to_string() };
    let mut file = File::open(path).map_err(io)?;
    let total = file.metadata().map_err(io)?.len();
    let mut head = vec![0u8; 64 * 1024];
    let n = read_full(&mut file, &mut head).map_err(io)?;
    head.truncate(n);
    let hasher = Arc::new(std::sync::Mutex::new(blake3::Hasher::new()));
    let vcf = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("vcf") || e.eq_ignore_ascii_case("vcard"));
    if vcf || crate::vcard::looks_like(&head) {
        drop(file);
        return open_vcard(path, encoding, hasher);
    }
    match sniff::file_kind(path, &head) {
        sniff::FileKind::Spreadsheet => {
            drop(file);
            if let Ok(bytes) = std::fs::read(path) {
                if let Ok(mut h) = hasher.lock() {
                    h.update(&bytes);
                }
            }
            open_sheet(path, sheet, hasher)
        }
        sniff::FileKind::Delimited => {
            if sheet.is_some() {
                return Err(ImportError::Usage(format!("{}: --sheet applies to spreadsheets only", path.display())));
            }
            let (enc, bom) = sniff::encoding(&head, encoding).map_err(ImportError::Usage)?;
            let (sample, _) = enc.decode_without_bom_handling(&head[bom..]);
            let delimiter = sniff::delimiter(&sample);
            let read = Arc::new(AtomicU64::new(0));
            let tap = Tap { inner: File::open(path).map_err(io)?, read: read.clone(), hasher: hasher.clone() };
            let stream: Box<dyn Read + Send> = if enc == encoding_rs::UTF_8 {
                // UTF-8 is read as is (fields are checked per row); only the BOM is skipped.
                let mut r = BufReader::with_capacity(1 << 20, tap);
                let mut skip = vec![0u8; bom];
                r.read_exact(&mut skip).map_err(io)?;
                Box::new(r)
            } else {
                Box::new(BufReader::with_capacity(
                    1 << 20,
                    encoding_rs_io::DecodeReaderBytesBuilder::new().encoding(Some(enc)).bom_override(true).build(tap),
                ))
            };
            let lines = Arc::new(Mutex::new(LineIndex::default()));
            let stream: Box<dyn Read + Send> = Box::new(LineTap { inner: stream, lines: lines.clone() });
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .delimiter(delimiter)
                .buffer_capacity(1 << 20)
                .from_reader(stream);
            let mut record = csv::ByteRecord::new();
            // The first non-empty record is the header.
            let headers = loop {
                match reader.read_byte_record(&mut record) {
                    Ok(true) if record.iter().all(|c| c.iter().all(u8::is_ascii_whitespace)) => continue,
                    Ok(true) => break record.iter().map(|c| String::from_utf8_lossy(c).trim().to_string()).collect(),
                    Ok(false) => break Vec::new(),
                    Err(e) => return Err(ImportError::Io { path: path.to_path_buf(), message: e.to_string() }),
                }
            };
            let format = match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
                Some("tsv") => "tsv",
                Some("txt") => "txt",
                _ => "csv",
            };
            Ok(Opened {
                detected: Detected {
                    format: format.to_string(),
                    encoding: Some(enc.name().to_string()),
                    delimiter: Some(delimiter),
                    sheet: None,
                    sheets: Vec::new(),
                },
                headers,
                rows: Rows::Csv { reader, record, total, read, lines, position: 0, utf8: enc == encoding_rs::UTF_8 },
                hasher,
            })
        }
    }
}

/// A vCard file, read whole (contacts exports are small, photos included) into one row per card,
/// each at the line of its BEGIN:VCARD.
fn open_vcard(
    path: &Path,
    encoding: Option<&str>,
    hasher: Arc<std::sync::Mutex<blake3::Hasher>>,
) -> Result<Opened, ImportError> {
    let bytes =
        std::fs::read(path).map_err(|e| ImportError::Io { path: path.to_path_buf(), message: e.to_string() })?;
    if let Ok(mut h) = hasher.lock() {
        h.update(&bytes);
    }
    let (enc, bom) = sniff::encoding(&bytes[..bytes.len().min(64 * 1024)], encoding).map_err(ImportError::Usage)?;
    let (text, _) = enc.decode_without_bom_handling(&bytes[bom..]);
    let cards = crate::vcard::parse(&text);
    if cards.is_empty() {
        return Err(ImportError::Io {
            path: path.to_path_buf(),
            message: "no BEGIN:VCARD … END:VCARD card in the file".into(),
        });
    }
    let (headers, rows) = crate::vcard::rows(&cards);
    let total = rows.len() as u64;
    Ok(Opened {
        detected: Detected {
            format: "vcf".into(),
            encoding: Some(enc.name().to_string()),
            delimiter: None,
            sheet: None,
            sheets: Vec::new(),
        },
        headers,
        rows: Rows::Sheet { rows: rows.into_iter(), total, done: 0 },
        hasher,
    })
}

fn read_full(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

fn open_sheet(
    path: &Path,
    sheet: Option<&str>,
    hasher: Arc<std::sync::Mutex<blake3::Hasher>>,
) -> Result<Opened, ImportError> {
    let bad = |message: String| ImportError::Io { path: path.to_path_buf(), message };
    let mut wb = calamine::open_workbook_auto(path).map_err(|e| bad(format!("cannot read as a spreadsheet: {e}")))?;
    let sheets = wb.sheet_names();
    let name = match sheet {
        Some(s) => sheets.iter().find(|n| n.as_str() == s || n.eq_ignore_ascii_case(s)).cloned().ok_or_else(|| {
            ImportError::Usage(format!("{}: no sheet named {s:?}; sheets are {}", path.display(), sheets.join(", ")))
        })?,
        None => sheets.first().cloned().ok_or_else(|| bad("the workbook has no sheets".into()))?,
    };
    let range = wb.worksheet_range(&name).map_err(|e| bad(format!("sheet {name:?}: {e}")))?;
    let first_row = range.start().map(|(r, _)| r as u64).unwrap_or(0);
    let mut rows: Vec<(u64, Vec<String>)> = Vec::with_capacity(range.height());
    for (i, row) in range.rows().enumerate() {
        let cells: Vec<String> = row.iter().map(cell_text).collect();
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        rows.push((first_row + i as u64 + 1, cells));
    }
    let mut iter = rows.into_iter();
    let headers = iter.next().map(|(_, h)| h.into_iter().map(|c| c.trim().to_string()).collect()).unwrap_or_default();
    let total = iter.len() as u64;
    let format = path.extension().and_then(|e| e.to_str()).unwrap_or("xlsx").to_ascii_lowercase();
    Ok(Opened {
        detected: Detected { format, encoding: None, delimiter: None, sheet: Some(name), sheets },
        headers,
        rows: Rows::Sheet { rows: iter, total, done: 0 },
        hasher,
    })
}

/// Cell text as a person would have typed it: whole numbers without `.0` or exponents (phones and
/// ids are often stored as numbers), dates as ISO dates rather than serial numbers.
pub fn cell_text(d: &Data) -> String {
    match d {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e17 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(t) if t.time() == chrono::NaiveTime::MIN => t.format("%Y-%m-%d").to_string(),
            Some(t) => t.format("%Y-%m-%dT%H:%M:%S").to_string(),
            None => dt.as_f64().to_string(),
        },
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

impl Rows {
    pub fn next_row(&mut self) -> Result<Option<RawRow>, String> {
        match self {
            Rows::Csv { reader, record, lines, position, .. } => loop {
                match reader.read_byte_record(record) {
                    Ok(false) => return Ok(None),
                    Ok(true) => {
                        if record.iter().all(|c| c.iter().all(u8::is_ascii_whitespace)) {
                            continue;
                        }
                        let pos = record.position().map(|p| p.byte()).unwrap_or(0);
                        *position = pos;
                        let line = lines.lock().map(|mut l| l.line_at(pos)).unwrap_or(0);
                        let mut error = None;
                        let cells = record
                            .iter()
                            .enumerate()
                            .map(|(i, c)| match std::str::from_utf8(c) {
                                Ok(s) => s.to_string(),
                                Err(_) => {
                                    error.get_or_insert_with(|| {
                                        format!(
                                            "cell {} is not valid UTF-8; pass --encoding (e.g. windows-1251)",
                                            i + 1
                                        )
                                    });
                                    String::from_utf8_lossy(c).into_owned()
                                }
                            })
                            .collect();
                        return Ok(Some(RawRow { line, cells, error }));
                    }
                    // A malformed record is reported and skipped; the reader carries on after it.
                    Err(e) => {
                        let pos = e.position().map(|p| p.byte()).unwrap_or(0);
                        let line = lines.lock().map(|mut l| l.line_at(pos)).unwrap_or(0);
                        if let csv::ErrorKind::Io(io) = e.kind() {
                            return Err(io.to_string());
                        }
                        return Ok(Some(RawRow { line, cells: Vec::new(), error: Some(e.to_string()) }));
                    }
                }
            },
            Rows::Sheet { rows, done, .. } => Ok(rows.next().map(|(line, cells)| {
                *done += 1;
                RawRow { line, cells, error: None }
            })),
        }
    }

    /// Share of the input read so far, 0..1.
    pub fn fraction(&self) -> Option<f64> {
        match self {
            // UTF-8 positions are file offsets; a transcoded stream only tells how much was read ahead.
            Rows::Csv { total, position, utf8: true, .. } if *total > 0 => {
                Some((*position as f64 / *total as f64).min(1.0))
            }
            Rows::Csv { total, read, .. } if *total > 0 => {
                Some((read.load(Ordering::Relaxed) as f64 / *total as f64).min(1.0))
            }
            Rows::Sheet { total, done, .. } if *total > 0 => Some(*done as f64 / *total as f64),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines_of(data: &str) -> Vec<u64> {
        let idx = Arc::new(Mutex::new(LineIndex::default()));
        let tap = LineTap { inner: data.as_bytes(), lines: idx.clone() };
        let mut r = csv::ReaderBuilder::new().has_headers(false).flexible(true).buffer_capacity(4).from_reader(tap);
        let mut rec = csv::ByteRecord::new();
        let mut out = vec![];
        while r.read_byte_record(&mut rec).unwrap() {
            let pos = rec.position().unwrap().byte();
            out.push(idx.lock().unwrap().line_at(pos));
        }
        out
    }

    #[test]
    fn line_numbers_count_blank_lines_crlf_and_multiline_fields() {
        assert_eq!(lines_of("h\r\na\r\n\r\nb\r\n"), [1, 2, 4]);
        assert_eq!(lines_of("h\na\n\nb\n"), [1, 2, 4]);
        assert_eq!(lines_of("h\n\"x\ny\"\nb\n"), [1, 2, 4]);
        assert_eq!(lines_of("h\r\n\"x\r\ny\"\r\nb\r\n"), [1, 2, 4]);
        assert_eq!(lines_of("\n\nh\na"), [3, 4]);
    }
}
