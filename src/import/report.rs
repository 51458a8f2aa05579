//! The rejected-rows report: the original columns plus `_row` and `_error`, so the rows can be
//! fixed and imported again. The file is only created once a row is rejected. A JSON export's
//! report names each record's place in the file (`chats.list[3].messages[17]`) in `_place`.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

use super::source::RawRow;

pub struct Report {
    path: Option<PathBuf>,
    headers: Vec<String>,
    /// The column saying where the record is: `_row`, or `_place` for a JSON path.
    place: &'static str,
    writer: Option<csv::Writer<BufWriter<File>>>,
}

impl Report {
    pub fn new(path: Option<PathBuf>, headers: &[String]) -> Report {
        Report { path, headers: headers.to_vec(), place: "_row", writer: None }
    }

    /// A report whose records are found by a JSON path rather than a row number.
    pub fn with_places(path: Option<PathBuf>, headers: &[String]) -> Report {
        Report { place: "_place", ..Report::new(path, headers) }
    }

    pub fn path_or_default(&self) -> PathBuf {
        self.path.clone().unwrap_or_default()
    }

    pub fn write(&mut self, row: &RawRow, error: &str) -> std::io::Result<()> {
        self.write_at(&row.line.to_string(), &row.cells, error)
    }

    /// One rejected record: its cells, where it is in the file, and why.
    pub fn write_at(&mut self, place: &str, cells: &[String], error: &str) -> std::io::Result<()> {
        let Some(path) = &self.path else { return Ok(()) };
        if self.writer.is_none() {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            let mut w = csv::WriterBuilder::new().flexible(true).from_writer(BufWriter::new(File::create(path)?));
            let mut header = self.headers.clone();
            header.push(self.place.into());
            header.push("_error".into());
            w.write_record(&header)?;
            self.writer = Some(w);
        }
        if let Some(w) = self.writer.as_mut() {
            let mut cells = cells.to_vec();
            // Short rows are padded so _row and _error stay in their columns; extra cells are kept after them.
            let extra = if cells.len() > self.headers.len() { cells.split_off(self.headers.len()) } else { Vec::new() };
            cells.resize(self.headers.len(), String::new());
            cells.push(place.to_string());
            cells.push(error.to_string());
            cells.extend(extra);
            w.write_record(&cells)?;
        }
        Ok(())
    }

    /// Flushes the report; returns its path if any row was written to it.
    pub fn finish(self) -> std::io::Result<Option<PathBuf>> {
        match self.writer {
            Some(mut w) => {
                w.flush()?;
                Ok(self.path)
            }
            None => Ok(None),
        }
    }
}
