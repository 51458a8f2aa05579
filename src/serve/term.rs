//! A session's terminal: ratatui's crossterm backend writing into the SSH channel, with the
//! window size the client told us. Nothing here ever asks the server's own terminal anything.

use std::io::{self, Write};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ratatui::backend::{Backend, ClearType, CrosstermBackend, WindowSize};
use ratatui::buffer::Cell;
use ratatui::layout::{Position, Size};

/// The biggest window a client may ask for: a frame's bytes, and so the output buffer, stay bounded.
pub const MAX_COLS: u16 = 500;
pub const MAX_ROWS: u16 = 200;

/// The client's window size, set by the pty and window-change requests, read by each draw.
#[derive(Debug, Default)]
pub struct WinSize(AtomicU32);

impl WinSize {
    pub fn new(cols: u32, rows: u32) -> WinSize {
        let s = WinSize::default();
        s.set(cols, rows);
        s
    }

    pub fn set(&self, cols: u32, rows: u32) {
        let cols = cols.clamp(1, MAX_COLS as u32);
        let rows = rows.clamp(1, MAX_ROWS as u32);
        self.0.store(cols << 16 | rows, Ordering::Relaxed);
    }

    pub fn get(&self) -> Size {
        let v = self.0.load(Ordering::Relaxed);
        Size { width: (v >> 16) as u16, height: (v & 0xffff) as u16 }
    }
}

/// What the session thread hands the channel's writer task.
#[derive(Debug)]
pub enum Out {
    Bytes(Vec<u8>),
    /// The session is over: say this line (if any), then exit status, EOF and close.
    End {
        status: u32,
        line: Option<String>,
    },
}

/// Collects a frame's bytes and queues them on flush. The queue is bounded: a client that reads
/// nothing makes only its own session wait, and after `stall` its session ends; no other session
/// shares this queue, and memory stays at most `output_frames` frames.
pub struct ChannelWriter {
    buf: Vec<u8>,
    tx: tokio::sync::mpsc::Sender<Out>,
    stall: Duration,
}

impl ChannelWriter {
    pub fn new(tx: tokio::sync::mpsc::Sender<Out>, stall: Duration) -> ChannelWriter {
        ChannelWriter { buf: Vec::with_capacity(16 * 1024), tx, stall }
    }

    /// Queues `out`, waiting while the client is behind.
    pub fn send(&self, mut out: Out) -> io::Result<()> {
        let since = Instant::now();
        loop {
            match self.tx.try_send(out) {
                Ok(()) => return Ok(()),
                Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => {
                    return Err(io::Error::new(io::ErrorKind::BrokenPipe, "the client is gone"))
                }
                Err(tokio::sync::mpsc::error::TrySendError::Full(back)) => {
                    if since.elapsed() >= self.stall {
                        return Err(io::Error::new(io::ErrorKind::TimedOut, "the client reads nothing"));
                    }
                    out = back;
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
        }
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let frame = std::mem::replace(&mut self.buf, Vec::with_capacity(16 * 1024));
        self.send(Out::Bytes(frame))
    }
}

/// Crossterm's drawing, the client's size.
pub struct SshBackend {
    inner: CrosstermBackend<ChannelWriter>,
    size: Arc<WinSize>,
}

impl SshBackend {
    pub fn new(writer: ChannelWriter, size: Arc<WinSize>) -> SshBackend {
        SshBackend { inner: CrosstermBackend::new(writer), size }
    }

    /// Raw bytes to the client, around the drawing (crossterm's backend writes straight through).
    pub fn writer(&mut self) -> &mut impl Write {
        &mut self.inner
    }
}

impl Backend for SshBackend {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.inner.draw(content)
    }

    fn hide_cursor(&mut self) -> io::Result<()> {
        self.inner.hide_cursor()
    }

    fn show_cursor(&mut self) -> io::Result<()> {
        // With the client gone there is no cursor to show; ratatui would print the error on drop.
        match self.inner.show_cursor() {
            Err(e) if matches!(e.kind(), io::ErrorKind::BrokenPipe | io::ErrorKind::TimedOut) => Ok(()),
            other => other,
        }
    }

    /// Asked only by inline viewports, which the server does not use; the real query would read
    /// the server's own terminal.
    fn get_cursor_position(&mut self) -> io::Result<Position> {
        Ok(Position::ORIGIN)
    }

    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        self.inner.set_cursor_position(position)
    }

    fn clear(&mut self) -> io::Result<()> {
        self.inner.clear()
    }

    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        self.inner.clear_region(clear_type)
    }

    fn size(&self) -> io::Result<Size> {
        Ok(self.size.get())
    }

    fn window_size(&mut self) -> io::Result<WindowSize> {
        Ok(WindowSize { columns_rows: self.size.get(), pixels: Size { width: 0, height: 0 } })
    }

    fn flush(&mut self) -> io::Result<()> {
        Backend::flush(&mut self.inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_clamped_to_a_bounded_frame() {
        let s = WinSize::new(0, 100_000);
        assert_eq!(s.get(), Size { width: 1, height: MAX_ROWS });
        s.set(120, 40);
        assert_eq!(s.get(), Size { width: 120, height: 40 });
    }

    #[test]
    fn a_client_that_reads_nothing_stalls_only_its_writer_and_then_ends_it() {
        let (tx, _rx) = tokio::sync::mpsc::channel(2);
        let mut w = ChannelWriter::new(tx, Duration::from_millis(50));
        for _ in 0..2 {
            w.write_all(b"frame").expect("write");
            w.flush().expect("queued");
        }
        w.write_all(b"frame").expect("write");
        let err = w.flush().expect_err("the queue is full and nobody reads");
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }

    #[test]
    fn a_gone_client_is_a_broken_pipe() {
        let (tx, rx) = tokio::sync::mpsc::channel(2);
        drop(rx);
        let mut w = ChannelWriter::new(tx, Duration::from_secs(1));
        w.write_all(b"x").expect("write");
        assert_eq!(w.flush().expect_err("closed").kind(), io::ErrorKind::BrokenPipe);
    }
}
