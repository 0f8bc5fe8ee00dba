//! Delivers a run's redacted output to its sinks on a thread of its own, so a sink that stops
//! reading holds up neither the run's wall-clock limit nor AegisClaw: the copier hands each
//! chunk over (waiting for room up to the run's deadline), and what the writer has not
//! delivered by the deadline and a grace after it is abandoned, and said so. Redacts nothing.

use super::OutputSinks;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Instant;

/// Bytes handed over and not yet written: a bound on AegisClaw's memory whatever the sink does
/// (the run itself waits on its pipe beyond it, as it would on a slow sink).
const MAX_QUEUED: usize = 256 * 1024;

/// Which stream a chunk belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Which {
    Stdout = 0,
    Stderr = 1,
}

/// The writer thread and what it shares with the copier. The thread starts with the first
/// chunk: a run that prints nothing costs no thread.
pub(super) struct Delivery {
    shared: Arc<Shared>,
    writer: RefCell<Writer>,
}

enum Writer {
    /// No chunk yet: the sinks wait here.
    Idle(OutputSinks),
    Started(JoinHandle<()>),
    /// The thread could not be started: nothing is delivered.
    Failed,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
}

#[derive(Default)]
struct State {
    queue: VecDeque<(Which, Vec<u8>)>,
    queued: usize,
    /// The copier has handed over everything.
    closed: bool,
    /// The writer has written everything it was given and dropped the sinks.
    done: bool,
    written: [u64; 2],
    /// A write to that stream's sink failed; nothing more goes to it.
    failed: [bool; 2],
    /// Bytes were given up on because the deadline passed with no room.
    dropped: bool,
}

/// What reached the sinks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Delivered {
    /// Bytes written to stdout's and stderr's sinks.
    pub(super) written: [u64; 2],
    /// Every byte handed over reached its sink.
    pub(super) complete: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Delivery {
    /// Takes the sinks; the writer thread that owns them from then on starts with the first
    /// chunk.
    pub(super) fn start(sinks: OutputSinks) -> Self {
        Self {
            shared: Arc::new(Shared {
                state: Mutex::new(State::default()),
                changed: Condvar::new(),
            }),
            writer: RefCell::new(Writer::Idle(sinks)),
        }
    }

    /// Starts the writer thread unless it runs; `false` when it cannot be started (both
    /// streams then count as failed).
    fn ensure_writer(&self) -> bool {
        let mut writer = self.writer.borrow_mut();
        match std::mem::replace(&mut *writer, Writer::Failed) {
            Writer::Idle(sinks) => {
                let theirs = Arc::clone(&self.shared);
                match std::thread::Builder::new()
                    .name("aegisclaw-output".to_string())
                    .spawn(move || write_all(&theirs, sinks))
                {
                    Ok(handle) => *writer = Writer::Started(handle),
                    Err(_) => {
                        let mut state = self.shared.lock();
                        state.failed = [true, true];
                        return false;
                    }
                }
            }
            started @ Writer::Started(_) => *writer = started,
            Writer::Failed => return false,
        }
        true
    }

    /// Hands `bytes` of `which` to the writer, waiting for room until `deadline`. `false`
    /// when that stream's sink has failed or the deadline passed first: the bytes are not
    /// delivered, and the caller stops reading the stream (the run then gets `EPIPE`).
    pub(super) fn send(&self, which: Which, bytes: &[u8], deadline: Instant) -> bool {
        if bytes.is_empty() {
            return true;
        }
        if !self.ensure_writer() {
            return false;
        }
        let mut state = self.shared.lock();
        loop {
            if state.failed[which as usize] {
                return false;
            }
            if state.queued == 0 || state.queued + bytes.len() <= MAX_QUEUED {
                break;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                state.dropped = true;
                return false;
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        state.queued += bytes.len();
        state.queue.push_back((which, bytes.to_vec()));
        self.shared.changed.notify_all();
        true
    }

    /// No more output: waits until the writer has written everything or `deadline` passes.
    /// A writer still blocked then is left to its sink (its thread ends with the process, or
    /// when the sink takes the bytes), and the output counts as not delivered.
    pub(super) fn finish(self, deadline: Instant) -> Delivered {
        let writer = match self.writer.into_inner() {
            // Nothing was printed: the sinks are dropped here (their owners get them back).
            Writer::Idle(sinks) => {
                drop(sinks);
                return Delivered {
                    written: [0, 0],
                    complete: true,
                };
            }
            Writer::Failed => {
                return Delivered {
                    written: [0, 0],
                    complete: false,
                };
            }
            Writer::Started(handle) => handle,
        };
        let mut state = self.shared.lock();
        state.closed = true;
        self.shared.changed.notify_all();
        while !state.done {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        let delivered = Delivered {
            written: state.written,
            complete: state.done && !state.dropped && state.failed == [false, false],
        };
        let done = state.done;
        drop(state);
        if done {
            let _ = writer.join();
        }
        delivered
    }
}

/// The writer thread: each chunk in order to its sink, then the sinks are dropped.
fn write_all(shared: &Shared, mut sinks: OutputSinks) {
    loop {
        let (which, chunk) = {
            let mut state = shared.lock();
            loop {
                if let Some(next) = state.queue.pop_front() {
                    break next;
                }
                if state.closed {
                    drop(state);
                    drop(sinks);
                    shared.lock().done = true;
                    shared.changed.notify_all();
                    return;
                }
                state = shared
                    .changed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        };
        let failed = shared.lock().failed[which as usize];
        let ok = !failed && {
            let sink = match which {
                Which::Stdout => &mut sinks.stdout,
                Which::Stderr => &mut sinks.stderr,
            };
            sink.write_all(&chunk).and_then(|()| sink.flush()).is_ok()
        };
        let mut state = shared.lock();
        state.queued -= chunk.len();
        if ok {
            state.written[which as usize] += chunk.len() as u64;
        } else {
            state.failed[which as usize] = true;
        }
        shared.changed.notify_all();
    }
}

/// A sink shared between its owner and a run's writer thread: the owner gets the inner
/// writer back once the writer is done with it ([`SharedSink::into_inner`]), and never waits
/// on a writer blocked in it.
pub struct SharedSink<W>(Arc<Mutex<W>>);

impl<W> Clone for SharedSink<W> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

impl<W: Write + Send + 'static> SharedSink<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Self(Arc::new(Mutex::new(inner)))
    }

    /// A boxed handle for [`OutputSinks`].
    pub fn sink(&self) -> Box<dyn Write + Send> {
        Box::new(self.clone())
    }

    /// The inner writer, unless a writer thread still holds a handle (it was abandoned,
    /// blocked in a sink that does not read).
    pub fn into_inner(self) -> Option<W> {
        Arc::try_unwrap(self.0)
            .ok()
            .map(|inner| inner.into_inner().unwrap_or_else(PoisonError::into_inner))
    }
}

impl<W: Write> Write for SharedSink<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .write(bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A sink that never takes a byte: every write blocks until the test ends.
    struct Stuck(std::sync::mpsc::Receiver<()>);

    impl Write for Stuck {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            let _ = self.0.recv();
            Err(io::Error::other("released"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_sink_that_never_reads_is_abandoned_at_the_deadline() {
        let (_release, blocked) = std::sync::mpsc::channel();
        let stderr = SharedSink::new(Vec::new());
        let delivery = Delivery::start(OutputSinks {
            stdout: Box::new(Stuck(blocked)),
            stderr: stderr.sink(),
        });
        let deadline = Instant::now() + Duration::from_millis(200);
        let chunk = vec![b'y'; 64 * 1024];
        let started = Instant::now();
        let mut refused = false;
        for _ in 0..64 {
            if !delivery.send(Which::Stdout, &chunk, deadline) {
                refused = true;
                break;
            }
        }
        assert!(refused, "the queue never filled");
        assert!(started.elapsed() < Duration::from_secs(2));
        let delivered = delivery.finish(Instant::now() + Duration::from_millis(100));
        assert_eq!(
            delivered,
            Delivered {
                written: [0, 0],
                complete: false
            }
        );
        // The stuck writer still holds its sinks: the owner does not get stderr back.
        assert!(stderr.into_inner().is_none());
    }

    #[test]
    fn every_byte_reaches_a_sink_that_reads_in_order() {
        let (stdout, stderr) = (SharedSink::new(Vec::new()), SharedSink::new(Vec::new()));
        let delivery = Delivery::start(OutputSinks {
            stdout: stdout.sink(),
            stderr: stderr.sink(),
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut expected = Vec::new();
        for round in 0..100u8 {
            let chunk = vec![round; 10_000];
            assert!(delivery.send(Which::Stdout, &chunk, deadline));
            assert!(delivery.send(Which::Stderr, b"e", deadline));
            expected.extend_from_slice(&chunk);
        }
        let delivered = delivery.finish(deadline);
        assert_eq!(
            delivered,
            Delivered {
                written: [1_000_000, 100],
                complete: true
            }
        );
        assert_eq!(stdout.into_inner().unwrap(), expected);
        assert_eq!(stderr.into_inner().unwrap(), vec![b'e'; 100]);
    }

    #[test]
    fn a_failed_sink_refuses_further_bytes_and_counts_as_undelivered() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::from(io::ErrorKind::BrokenPipe))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let delivery = Delivery::start(OutputSinks {
            stdout: Box::new(Broken),
            stderr: Box::new(Vec::new()),
        });
        let deadline = Instant::now() + Duration::from_secs(10);
        assert!(delivery.send(Which::Stdout, b"first", deadline));
        let refused = (0..1000).any(|_| {
            std::thread::sleep(Duration::from_millis(5));
            !delivery.send(Which::Stdout, b"more", deadline)
        });
        assert!(refused);
        assert!(delivery.send(Which::Stderr, b"still", deadline));
        let delivered = delivery.finish(deadline);
        assert_eq!(delivered.written[1], 5);
        assert!(!delivered.complete);
    }
}
