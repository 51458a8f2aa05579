//! The rejected-rows report: the original columns plus `_row` and `_error`, so the rows can be
//! fixed and imported again. The file is only created once a row is rejected.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

use super::source::RawRow;

pub struct Report {
    path: Option<PathBuf>,
    headers: Vec<String>,
    writer: Option<csv::Writer<BufWriter<File>>>,
}

impl Report {
    pub fn new(path: Option<PathBuf>, headers: &[String]) -> Report {
        Report { path, headers: headers.to_vec(), writer: None }
    }

    pub fn path_or_default(&self) -> PathBuf {
        self.path.clone().unwrap_or_default()
    }

    pub fn write(&mut self, row: &RawRow, error: &str) -> std::io::Result<()> {
        let Some(path) = &self.path else { return Ok(()) };
        if self.writer.is_none() {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            let mut w = csv::WriterBuilder::new().flexible(true).from_writer(BufWriter::new(File::create(path)?));
            let mut header = self.headers.clone();
            header.push("_row".into());
            header.push("_error".into());
            w.write_record(&header)?;
            self.writer = Some(w);
        }
        if let Some(w) = self.writer.as_mut() {
            let mut cells = row.cells.clone();
            // Short rows are padded so _row and _error stay in their columns; extra cells are kept after them.
            let extra = if cells.len() > self.headers.len() { cells.split_off(self.headers.len()) } else { Vec::new() };
            cells.resize(self.headers.len(), String::new());
            cells.push(row.line.to_string());
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
