//! The writers between a run's (already redacted) output and AegisClaw's stdout and stderr.
//! Where a stream is a terminal, terminal control is neutralised: every C0 control but
//! newline, tab and carriage return is shown in caret notation (`^[` for ESC, `^?` for DEL),
//! every C1 control, as a UTF-8 character or a raw 8-bit byte, and every other byte that is
//! not UTF-8, as U+FFFD, and every bidi control and the BOM as its escape (`\u{202e}`), so the
//! text cannot be made to read otherwise than it is. It works on a stream: a UTF-8 sequence
//! split across writes is joined first. Does not redact and does not decide whether to neutralise (the caller asks
//! whether the stream is a terminal and whether the user turned it off).

use aegisclaw_engine::run::SharedSink;
use std::io::{self, IsTerminal as _, Write};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// The replacement for a C1 control or a byte that is not UTF-8.
const REPLACEMENT: &str = "\u{FFFD}";

/// Appends to `out` what a terminal may be shown of `input`: `pending` (the start of a UTF-8
/// sequence the previous write ended in) and `input` with every control neutralised. An
/// incomplete sequence at the end of `input` is left in `pending` for the next write.
pub(crate) fn neutralise_into(pending: &mut Vec<u8>, input: &[u8], out: &mut Vec<u8>) {
    let joined;
    let bytes: &[u8] = if pending.is_empty() {
        input
    } else {
        joined = [pending.as_slice(), input].concat();
        pending.clear();
        &joined
    };
    let mut chunks = bytes.utf8_chunks().peekable();
    while let Some(chunk) = chunks.next() {
        push_text(chunk.valid(), out);
        let invalid = chunk.invalid();
        if invalid.is_empty() {
            continue;
        }
        let incomplete =
            std::str::from_utf8(invalid).is_err_and(|error| error.error_len().is_none());
        if chunks.peek().is_none() && incomplete {
            pending.extend_from_slice(invalid);
        } else {
            out.extend_from_slice(REPLACEMENT.as_bytes());
        }
    }
}

/// What is left when the stream ends: a sequence it ended in the middle of is not UTF-8.
pub(crate) fn neutralise_end(pending: &mut Vec<u8>, out: &mut Vec<u8>) {
    if !pending.is_empty() {
        pending.clear();
        out.extend_from_slice(REPLACEMENT.as_bytes());
    }
}

/// Whether `c` changes the direction text is shown in, or hides (U+FEFF, the BOM and zero-width
/// no-break space, which terminals may draw as nothing): the embeddings and overrides
/// U+202A–U+202E, the isolates U+2066–U+2069, the marks LRM, RLM and ALM.
fn is_bidi(c: char) -> bool {
    matches!(
        c,
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{61c}' | '\u{feff}'
    )
}

/// Appends `text` with its controls neutralised.
fn push_text(text: &str, out: &mut Vec<u8>) {
    let bytes = text.as_bytes();
    let mut start = 0;
    for (at, c) in text.char_indices() {
        let caret;
        let escaped;
        let shown: &[u8] = match c {
            '\n' | '\t' | '\r' => continue,
            '\0'..='\x1f' => {
                // `^@` for NUL, `^[` for ESC, `^G` for BEL...
                caret = [b'^', c as u8 + 0x40];
                &caret
            }
            '\x7f' => b"^?",
            '\u{80}'..='\u{9f}' => REPLACEMENT.as_bytes(),
            _ if is_bidi(c) => {
                escaped = c.escape_unicode().to_string();
                escaped.as_bytes()
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..at]);
        out.extend_from_slice(shown);
        start = at + c.len_utf8();
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Whether the last byte written to a shared terminal ended a line.
#[derive(Clone, Debug)]
struct LineState(Arc<AtomicBool>);

/// One of a run's streams on its way to AegisClaw's stdout or stderr: neutralised when asked,
/// and noting whether it left the terminal in the middle of a line.
pub(crate) struct RunStream<W: Write> {
    inner: W,
    /// The incomplete UTF-8 sequence held back, when neutralising.
    neutralise: Option<Vec<u8>>,
    line: Option<LineState>,
    buffer: Vec<u8>,
}

impl<W: Write> RunStream<W> {
    fn new(inner: W, neutralise: bool, line: Option<LineState>) -> Self {
        Self {
            inner,
            neutralise: neutralise.then(Vec::new),
            line,
            buffer: Vec::new(),
        }
    }

    /// Writes what the stream still holds back (an incomplete UTF-8 sequence) and flushes.
    fn finish(&mut self) -> io::Result<()> {
        if let Some(pending) = &mut self.neutralise {
            self.buffer.clear();
            neutralise_end(pending, &mut self.buffer);
            self.inner.write_all(&self.buffer)?;
        }
        self.inner.flush()
    }
}

impl<W: Write> Write for RunStream<W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        match &mut self.neutralise {
            Some(pending) => {
                self.buffer.clear();
                neutralise_into(pending, bytes, &mut self.buffer);
                self.inner.write_all(&self.buffer)?;
            }
            None => self.inner.write_all(bytes)?,
        }
        if let (Some(line), Some(last)) = (&self.line, bytes.last()) {
            line.0.store(*last == b'\n', Ordering::Relaxed);
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Where a run's stream is written: a descriptor of AegisClaw's own stdout or stderr (a
/// duplicate, so a write blocked on a reader that never reads holds none of std's locks on
/// them), or the std handle when none can be made.
type Destination = Box<dyn Write + Send>;

/// A run's stdout and stderr on their way to AegisClaw's own.
pub(crate) struct RunOutput {
    /// The run's stdout.
    pub(crate) stdout: SharedSink<RunStream<Destination>>,
    /// The run's stderr.
    pub(crate) stderr: SharedSink<RunStream<Destination>>,
    line: LineState,
}

/// A duplicate of `handle`'s descriptor as a file, else `fallback`.
fn duplicate(handle: impl AsFd, fallback: impl Write + Send + 'static) -> Destination {
    match handle.as_fd().try_clone_to_owned() {
        Ok(fd) => Box::new(std::fs::File::from(fd)),
        Err(_) => Box::new(fallback),
    }
}

impl RunOutput {
    /// The writers for a run: each stream that is a terminal is neutralised unless
    /// `allow_control`.
    pub(crate) fn new(allow_control: bool) -> Self {
        let (stdout_terminal, stderr_terminal) =
            (io::stdout().is_terminal(), io::stderr().is_terminal());
        // AegisClaw's own lines go to stderr: its line state counts, and stdout's too when
        // both show on a terminal.
        let line = LineState(Arc::new(AtomicBool::new(true)));
        let shared = (stdout_terminal && stderr_terminal).then(|| line.clone());
        // Whatever AegisClaw printed so far is out before the run's bytes.
        let _ = io::stdout().flush();
        Self {
            stdout: SharedSink::new(RunStream::new(
                duplicate(io::stdout(), io::stdout()),
                stdout_terminal && !allow_control,
                shared,
            )),
            stderr: SharedSink::new(RunStream::new(
                duplicate(io::stderr(), io::stderr()),
                stderr_terminal && !allow_control,
                Some(line.clone()),
            )),
            line,
        }
    }

    /// Ends both streams; returns whether the run left stderr's line unfinished (so
    /// AegisClaw's next line must start with a newline to stand on a line of its own). A
    /// stream still held by a writer blocked on it counts as unfinished.
    pub(crate) fn finish(self) -> bool {
        let mut finished = true;
        for stream in [self.stdout, self.stderr] {
            match stream.into_inner() {
                Some(mut stream) => {
                    let _ = stream.finish();
                }
                None => finished = false,
            }
        }
        !finished || !self.line.0.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn neutralised(input: &[u8]) -> String {
        let (mut pending, mut out) = (Vec::new(), Vec::new());
        neutralise_into(&mut pending, input, &mut out);
        neutralise_end(&mut pending, &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn controls_become_visible_and_text_passes() {
        assert_eq!(
            neutralised(b"plain \xc3\xa9t\xc3\xa9 \xe2\x9c\x93\tline\r\n"),
            "plain été ✓\tline\r\n"
        );
        assert_eq!(
            neutralised(b"\x1b]52;c;cHduZWQ=\x07\x1b[2J\x00\x7f\x08"),
            "^[]52;c;cHduZWQ=^G^[[2J^@^?^H"
        );
        // C1 as UTF-8 (U+009B CSI, U+0085 NEL) and raw 8-bit C1 bytes; other bytes that are
        // not UTF-8 too.
        assert_eq!(
            neutralised(b"a\xc2\x9b6nb\xc2\x85c\x9b6n\x84d\xff\xc3"),
            "a\u{FFFD}6nb\u{FFFD}c\u{FFFD}6n\u{FFFD}d\u{FFFD}\u{FFFD}"
        );
        // Characters just past C1 are text.
        assert_eq!(neutralised("\u{a0}\u{ff}".as_bytes()), "\u{a0}\u{ff}");
    }

    #[test]
    fn bidi_controls_and_the_bom_are_shown_escaped() {
        // Embeddings and overrides, isolates, the marks (LRM, RLM, ALM) and the BOM / ZWNBSP:
        // each could make a line read otherwise than it is.
        assert_eq!(
            neutralised(
                "a\u{202a}\u{202b}\u{202c}\u{202d}\u{202e}b\u{2066}\u{2067}\u{2068}\u{2069}c\u{200e}\u{200f}\u{61c}\u{feff}d"
                    .as_bytes()
            ),
            r"a\u{202a}\u{202b}\u{202c}\u{202d}\u{202e}b\u{2066}\u{2067}\u{2068}\u{2069}c\u{200e}\u{200f}\u{61c}\u{feff}d"
        );
        // Their neighbours are text.
        assert_eq!(
            neutralised("\u{2029}\u{2065}\u{206a}\u{fefe}\u{61b}".as_bytes()),
            "\u{2029}\u{2065}\u{206a}\u{fefe}\u{61b}"
        );
    }

    #[test]
    fn every_split_of_a_stream_gives_the_same_output() {
        let input = "x\u{9b}é\u{1F600}\x1b[31m✓\u{85}\u{202e}\u{feff}".as_bytes();
        let mut raw = input.to_vec();
        raw.push(0x9b);
        let whole = neutralised(&raw);
        assert_eq!(
            whole,
            "x\u{FFFD}é\u{1F600}^[[31m✓\u{FFFD}\\u{202e}\\u{feff}\u{FFFD}"
        );
        for first in 0..raw.len() {
            for second in first..raw.len() {
                let (mut pending, mut out) = (Vec::new(), Vec::new());
                for part in [&raw[..first], &raw[first..second], &raw[second..]] {
                    neutralise_into(&mut pending, part, &mut out);
                }
                neutralise_end(&mut pending, &mut out);
                assert_eq!(
                    String::from_utf8(out).unwrap(),
                    whole,
                    "split at {first}, {second}"
                );
            }
        }
    }

    #[test]
    fn a_stream_notes_whether_it_ended_its_line() {
        let line = LineState(Arc::new(AtomicBool::new(true)));
        let mut stream = RunStream::new(Vec::new(), true, Some(line.clone()));
        stream.write_all(b"done\n").unwrap();
        assert!(line.0.load(Ordering::Relaxed));
        stream.write_all(b"\x1b[1Afake\r").unwrap();
        assert!(!line.0.load(Ordering::Relaxed));
        stream.write_all(b"\xe2").unwrap();
        stream.finish().unwrap();
        assert_eq!(
            String::from_utf8(stream.inner).unwrap(),
            "done\n^[[1Afake\r\u{FFFD}"
        );
    }
}
