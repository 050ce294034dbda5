//! Log lines handed to a writer thread and written in batches.
//!
//! `serve` logs one line per review. Written straight to stderr that is one
//! `write` per line on the worker that judged the review; when stderr is a
//! file (as under containerd) that syscall cost about a fifth of a review's
//! CPU. Here a worker only appends the line to a buffer; one thread writes
//! what has gathered within [`GATHER`] of the first line, so under load one
//! syscall carries many lines.
//!
//! Nothing is dropped: a worker waits when [`HIGH_WATER`] bytes are pending
//! (the writer is behind), lines keep their order, and [`Sink::close`] (also
//! on drop) writes out the rest before it returns. After it, or if the
//! thread cannot start, lines go straight to the output as before.

use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use tracing_subscriber::fmt::MakeWriter;

/// Bytes pending before a logging worker waits for the writer.
const HIGH_WATER: usize = 1 << 20;
/// How long the writer lets lines gather after the first one of a batch:
/// the most a line waits to be written while the process runs.
const GATHER: std::time::Duration = std::time::Duration::from_millis(10);
/// A batch buffer larger than this after a burst is given back.
const KEEP_CAPACITY: usize = 256 << 10;

type Output = Box<dyn Write + Send>;

pub(crate) struct Sink {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

struct Shared {
    state: Mutex<State>,
    /// The writer waits here for lines.
    lines: Condvar,
    /// Workers wait here for room, [`Sink::flush`] for an empty buffer.
    room: Condvar,
    high_water: usize,
    /// Written by the writer thread, and directly once it has stopped (or
    /// never started).
    out: Mutex<Output>,
}

#[derive(Default)]
struct State {
    pending: Vec<u8>,
    /// The writer is asleep and must be woken for new lines.
    asleep: bool,
    /// The writer holds a batch it has not finished writing.
    writing: bool,
    /// The writer is to write out what is pending, then stop.
    closing: bool,
    /// No writer thread: lines go straight to the output.
    direct: bool,
}

impl Sink {
    /// A sink writing to stderr.
    pub(crate) fn stderr() -> Sink {
        Sink::new(Box::new(io::stderr()), HIGH_WATER)
    }

    fn new(out: Output, high_water: usize) -> Sink {
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            lines: Condvar::new(),
            room: Condvar::new(),
            high_water,
            out: Mutex::new(out),
        });
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("log-writer".into())
            .spawn(move || s.write_batches());
        if thread.is_err() {
            // No thread: write each line where it is logged, as before.
            shared.state().direct = true;
        }
        Sink {
            shared,
            thread: thread.ok(),
        }
    }

    /// Waits until every line logged so far is written.
    #[cfg(test)]
    fn flush(&self) {
        let mut s = self.shared.state();
        while !s.direct && (!s.pending.is_empty() || s.writing) {
            s = self
                .shared
                .room
                .wait(s)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Writes out what is pending and stops the writer; later lines are
    /// written directly.
    pub(crate) fn close(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        self.shared.state().closing = true;
        self.shared.lines.notify_one();
        let _ = thread.join();
        // Had the writer died, later lines still go out directly.
        self.shared.state().direct = true;
        self.shared.room.notify_all();
    }

    /// What the subscriber writes each line through.
    pub(crate) fn lines(&self) -> Lines {
        Lines(self.shared.clone())
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.close();
    }
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn out(&self) -> MutexGuard<'_, Output> {
        self.out.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn write_batches(&self) {
        let mut batch = Vec::new();
        loop {
            let mut s = self.state();
            while s.pending.is_empty() && !s.closing {
                s.asleep = true;
                s = self.lines.wait(s).unwrap_or_else(PoisonError::into_inner);
            }
            s.asleep = false;
            if s.pending.is_empty() {
                // Closing, and all written: later lines go straight out.
                let _ = self.out().flush();
                s.direct = true;
                drop(s);
                self.room.notify_all();
                return;
            }
            // Woken by the first line: let the lines of the next moment join
            // it, so a busy webhook pays one write per batch, not per line.
            s = self
                .lines
                .wait_timeout_while(s, GATHER, |s| {
                    !s.closing && s.pending.len() < self.high_water / 2
                })
                .unwrap_or_else(PoisonError::into_inner)
                .0;
            std::mem::swap(&mut s.pending, &mut batch);
            s.writing = true;
            drop(s);
            // Room again for any worker waiting on a full buffer.
            self.room.notify_all();
            // As stderr does, a failed write loses that output and nothing else.
            {
                let mut out = self.out();
                let _ = out.write_all(&batch);
                let _ = out.flush();
            }
            batch.clear();
            if batch.capacity() > KEEP_CAPACITY {
                batch = Vec::new();
            }
            self.state().writing = false;
            self.room.notify_all();
        }
    }

    fn append(&self, line: &[u8]) -> io::Result<()> {
        let mut s = self.state();
        while !s.direct && s.pending.len() >= self.high_water {
            s = self.room.wait(s).unwrap_or_else(PoisonError::into_inner);
        }
        if s.direct {
            drop(s);
            return self.out().write_all(line);
        }
        let before = s.pending.len();
        s.pending.extend_from_slice(line);
        let half = self.high_water / 2;
        if s.asleep || (before < half && s.pending.len() >= half) {
            // One wake per batch, not per line: the writer clears `asleep`,
            // and is woken early only when half the room is used.
            s.asleep = false;
            self.lines.notify_one();
        }
        Ok(())
    }
}

/// The subscriber's handle on the sink.
pub(crate) struct Lines(Arc<Shared>);

/// What one event's line is written through.
pub(crate) struct Line<'a>(&'a Shared);

impl Write for Line<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.append(buf)?;
        Ok(buf.len())
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.0.append(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Lines {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Line<'a> {
        Line(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An output that keeps what it is given, and counts the writes.
    #[derive(Clone, Default)]
    struct Kept(Arc<Mutex<(Vec<u8>, usize)>>);

    impl Write for Kept {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let mut k = self.0.lock().unwrap();
            k.0.extend_from_slice(buf);
            k.1 += 1;
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn line(t: usize, i: usize) -> String {
        format!("thread {t} line {i}\n")
    }

    #[test]
    fn every_line_is_written_once_in_each_thread_order() {
        // (threads, lines each, high water): a small high water makes the
        // workers wait for room many times.
        for (threads, lines, high_water) in
            [(1, 1, HIGH_WATER), (4, 2000, HIGH_WATER), (4, 2000, 64)]
        {
            let kept = Kept::default();
            let mut sink = Sink::new(Box::new(kept.clone()), high_water);
            let handle = sink.lines();
            std::thread::scope(|scope| {
                for t in 0..threads {
                    let handle = &handle;
                    scope.spawn(move || {
                        for i in 0..lines {
                            handle
                                .make_writer()
                                .write_all(line(t, i).as_bytes())
                                .unwrap();
                        }
                    });
                }
            });
            sink.close();
            let (text, writes) = {
                let k = kept.0.lock().unwrap();
                (String::from_utf8(k.0.clone()).unwrap(), k.1)
            };
            assert_eq!(text.lines().count(), threads * lines, "{threads} threads");
            for t in 0..threads {
                let mine: Vec<&str> = text
                    .lines()
                    .filter(|l| l.starts_with(&format!("thread {t} ")))
                    .collect();
                let want: Vec<String> = (0..lines).map(|i| line(t, i)).collect();
                let want: Vec<&str> = want.iter().map(|l| l.trim_end()).collect();
                assert_eq!(mine, want, "thread {t}: lost, doubled or reordered");
            }
            assert!(writes <= threads * lines, "never more writes than lines");
        }
    }

    #[test]
    fn flush_returns_once_written_and_close_switches_to_direct() {
        let kept = Kept::default();
        let mut sink = Sink::new(Box::new(kept.clone()), HIGH_WATER);
        let handle = sink.lines();
        handle.make_writer().write_all(b"one\n").unwrap();
        sink.flush();
        assert_eq!(kept.0.lock().unwrap().0, b"one\n");
        sink.close();
        handle.make_writer().write_all(b"two\n").unwrap();
        assert_eq!(
            kept.0.lock().unwrap().0,
            b"one\ntwo\n",
            "after close a line is written at once"
        );
        sink.close();
    }
}
