//! Scrubs secret values, and their common encodings, from output streams (DESIGN §1: "output
//! stream ─▶ redactor"). Owns the patterns and the streaming matcher; does not fetch secrets or
//! decide which streams to scrub.
//!
//! What is matched, on the raw bytes and nine decoded views of the stream (`view.rs`), each a
//! decoder that maps its bytes back to the raw ones, so a match replaces the whole original
//! span:
//! - raw: the value (its line breaks as written, as LF, as CRLF), `+` for its spaces, its
//!   single-quoted shell forms, quotes doubled, UTF-16 and UTF-32, and every fixed encoding
//!   below;
//! - unwrapped (one line break after a base64 or hex character skipped): base64 (standard and
//!   URL-safe, padded or not, the stable inner text at each offset mod 3) and hex, wrapped at
//!   any column with LF or CRLF, the breaks at any offset of the secret;
//! - escaped (backslash escapes decoded): the value in JSON (`\uXXXX` for any or every
//!   character, either case), bash `printf %q` and `$'…'`, C, Go, Python and Rust escapes
//!   (so `repr()` of a string or of bytes);
//! - percent (`%XX` decoded), references (`&#…;`, `&amp;`…), quoted-printable (`=XX`);
//! - hex with separators between digits (`de:ad`, `0xDE, 0xAD`, `od -An -tx1`);
//! - dump lines read back to bytes, without their offset and text columns: hex groups as
//!   written (`xxd`, `hexdump -C`, `od -tx1`) or little-endian (`od -x`, `hexdump`, `xxd -e`),
//!   and character fields (`od -c`, `hexdump -c`);
//! - printed lists of characters or bytes read back (`['s', 'e']`, `[115, 101]`).
//!
//! Every form matches whatever the case of its ASCII letters (`SECRET` for `secret`), but
//! base64 (whose case is its meaning) and the forms of a value under [`MIN_ENCODED_LEN`] bytes
//! other than hex: the automata are built case-folded, as fast as without, and a match of an
//! exact form in another case is dropped.
//!
//! Trade-offs, chosen to fail closed:
//! - A value of any length, even one byte, has its raw form redacted, raw and decoded: a short
//!   value causes false positives (every `e` in the output for the secret `e`), never a leak.
//!   Its base64 and hex forms count only from [`MIN_ENCODED_LEN`] bytes, so a secret under
//!   about 5 bytes is not found inside a larger base64 blob.
//! - A stream that ends in the middle of a secret emits that prefix: it never completed, so it
//!   is not a match.
//! - Nested encodings (a JSON-escaped, then percent-encoded value; base64 wrapped with `\n`
//!   escapes inside JSON) and anything a program encodes on purpose (encryption, compression,
//!   reversal, a split across streams) are not searched for: see `docs/security.md`.
//! - The automata keep their own copy of every pattern, which is not zeroed on drop: keep a
//!   `Redactor` only as long as the run whose secrets it holds.

mod encoding;
mod matcher;
mod view;

pub use encoding::MIN_ENCODED_LEN;

use aho_corasick::Input;
use matcher::{Matcher, Owned, SearchFailed};
use std::fmt;
use std::sync::Arc;
use view::{Span, View, Window, offset};

/// The replacement for a secret without a name.
pub const UNNAMED_MARKER: &str = "[REDACTED]";

/// Errors building a redactor.
#[derive(Debug, thiserror::Error)]
pub enum RedactError {
    /// The patterns exceed the matcher's limits (it never matches partially: no redactor).
    #[error("cannot build the redactor for {patterns} patterns")]
    Build {
        /// How many patterns were asked for.
        patterns: usize,
        /// The matcher's reason.
        #[source]
        source: aho_corasick::BuildError,
    },
}

/// The secrets of one run and every encoded form of them, one automaton per view: the raw
/// view's is built with the redactor, the others (and the case-insensitive ones) when a stream
/// first needs them. Cheap to clone; each output stream gets its own [`StreamRedactor`] from
/// [`Redactor::stream`].
#[derive(Clone, Default)]
pub struct Redactor {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// The raw view's matcher (it holds every pattern of every view); `None` without secrets.
    raw: Option<Matcher>,
    /// The decoded views' matchers.
    derived: Vec<Matcher>,
    /// For each secret, its replacement text.
    markers: Vec<Vec<u8>>,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        formatter
            .debug_struct("Redactor")
            .field("secrets", &inner.markers.len())
            .field(
                "patterns",
                &inner
                    .raw
                    .iter()
                    .chain(&inner.derived)
                    .map(|m| m.owner.len())
                    .sum::<usize>(),
            )
            .finish_non_exhaustive()
    }
}

impl Redactor {
    /// A redactor for unnamed values; each is replaced by `[REDACTED]`. Empty values are
    /// ignored (they would match everywhere).
    pub fn new<V: AsRef<[u8]>>(values: &[V]) -> Result<Self, RedactError> {
        Self::build(values.iter().map(|value| (None, value.as_ref())))
    }

    /// A redactor for named values (a `SecretString` gives `expose_secret().as_bytes()`); each
    /// is replaced by `[REDACTED:<name>]`.
    pub fn named<N: AsRef<str>, V: AsRef<[u8]>>(secrets: &[(N, V)]) -> Result<Self, RedactError> {
        Self::build(
            secrets
                .iter()
                .map(|(name, value)| (Some(name.as_ref()), value.as_ref())),
        )
    }

    fn build<'a>(
        secrets: impl Iterator<Item = (Option<&'a str>, &'a [u8])>,
    ) -> Result<Self, RedactError> {
        let mut per_view: Vec<(View, Vec<Owned>)> = Vec::new();
        let mut markers = Vec::new();
        for (index, (name, value)) in secrets.enumerate() {
            markers.push(match name {
                Some(name) => format!("[REDACTED:{name}]").into_bytes(),
                None => UNNAMED_MARKER.as_bytes().to_vec(),
            });
            for (view, forms) in encoding::forms(value) {
                let forms = forms.into_iter().map(|form| (form, index));
                match per_view.iter_mut().find(|(known, _)| *known == view) {
                    Some((_, patterns)) => patterns.extend(forms),
                    None => per_view.push((view, forms.collect())),
                }
            }
        }
        let mut raw = None;
        let mut derived = Vec::new();
        for (view, patterns) in per_view {
            let matcher = Matcher::new(view, patterns);
            if view == View::Raw {
                // Built now, so a redactor that cannot be built is an error here, not a
                // stream that fails closed later; the other automata are subsets of its
                // patterns, built when first needed.
                if let Err(source) = matcher.automaton(false) {
                    return Err(RedactError::Build {
                        patterns: matcher.len(),
                        source: source.clone(),
                    });
                }
                raw = Some(matcher);
            } else {
                derived.push(matcher);
            }
        }
        Ok(Self {
            inner: Arc::new(Inner {
                raw,
                derived,
                markers,
            }),
        })
    }

    /// Whether there is nothing to redact.
    pub fn is_empty(&self) -> bool {
        self.inner.raw.is_none()
    }

    /// A streaming redactor for one output stream.
    pub fn stream(&self) -> StreamRedactor {
        self.stream_with(false)
    }

    fn stream_with(&self, ignore_case: bool) -> StreamRedactor {
        StreamRedactor {
            redactor: self.clone(),
            ignore_case,
            pending: Vec::new(),
            base: 0,
            searched: 0,
            windows: self
                .inner
                .derived
                .iter()
                .map(|matcher| Window::new(matcher.view))
                .collect(),
            spans: Vec::new(),
            covered: 0,
            failed: false,
        }
    }

    /// The most bytes a stream holds back after a push: for each view, `longest − 1` view
    /// bytes, each standing for at most a few raw bytes (a character and a skipped CRLF, a
    /// `%XX`, a 12-byte surrogate pair escape), plus an undecided escape at the end.
    fn hold_bound(&self) -> usize {
        let inner = &self.inner;
        inner
            .raw
            .iter()
            .chain(&inner.derived)
            .map(Matcher::hold_bound)
            .max()
            .unwrap_or(0)
    }

    /// `bytes` with every secret form replaced.
    pub fn redact(&self, bytes: &[u8]) -> Vec<u8> {
        let mut stream = self.stream();
        let mut out = stream.push(bytes);
        out.extend(stream.finish());
        out
    }

    /// `text` with every secret form replaced (a cut through a multi-byte character becomes
    /// U+FFFD).
    pub fn redact_str(&self, text: &str) -> String {
        lossy(self.redact(text.as_bytes()))
    }

    /// `text` with every secret form replaced, matched without regard to ASCII case: for
    /// strings a sandboxed program sent that are case-insensitive where they are used (a host
    /// name asked of the egress proxy), so `SeCrEt.exfil.example` cannot carry `secret` past
    /// the redactor into an audit record. Overlapping matches are replaced as their union.
    pub fn redact_str_ignore_case(&self, text: &str) -> String {
        let mut stream = self.stream_with(true);
        let mut out = stream.push(text.as_bytes());
        out.extend(stream.finish());
        lossy(out)
    }
}

fn lossy(bytes: Vec<u8>) -> String {
    match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(error) => String::from_utf8_lossy(error.as_bytes()).into_owned(),
    }
}

/// Redacts one output stream written in chunks. A secret split across any number of chunks at
/// any points is still caught: each view holds back its last `longest pattern − 1` bytes (and
/// an undecided escape or `\r`), so at most [`Redactor`]'s hold bound of raw bytes waits for the
/// next chunk or [`StreamRedactor::finish`]. Every byte is decoded once per view and searched
/// once, plus the held-back bytes again per chunk. Overlapping matches, of any views, are
/// redacted as their union, named for the leftmost; the output does not depend on how the
/// input was chunked.
pub struct StreamRedactor {
    redactor: Redactor,
    ignore_case: bool,
    /// Bytes received but not yet emitted.
    pending: Vec<u8>,
    /// Stream offset of `pending[0]`.
    base: u64,
    /// Stream offset up to which the raw view has been searched.
    searched: u64,
    /// One window per derived matcher, in the same order.
    windows: Vec<Window>,
    /// Matches found and not yet emitted (stream offsets).
    spans: Vec<Span>,
    /// Stream offset where the last replacement emitted ends: bytes before it are never
    /// emitted, and a match overlapping them extends that replacement silently.
    covered: u64,
    /// A search failed: nothing more is emitted.
    failed: bool,
}

impl fmt::Debug for StreamRedactor {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("StreamRedactor")
            .field("pending_bytes", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl StreamRedactor {
    /// Takes the next chunk and returns the bytes that are safe to emit now.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(chunk.len());
        self.push_into(chunk, &mut out);
        out
    }

    /// As [`StreamRedactor::push`], appending to `out` (reuse it to avoid an allocation per
    /// chunk).
    pub fn push_into(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        if self.redactor.is_empty() {
            out.extend_from_slice(chunk);
            return;
        }
        self.pending.extend_from_slice(chunk);
        self.scan_and_emit(false, out);
        debug_assert!(self.pending.len() <= self.redactor.hold_bound());
    }

    /// Ends the stream: returns everything still held back, redacted.
    pub fn finish(mut self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.pending.len());
        if self.redactor.is_empty() {
            return out;
        }
        self.scan_and_emit(true, &mut out);
        out
    }

    fn scan_and_emit(&mut self, at_end: bool, out: &mut Vec<u8>) {
        if self.failed {
            self.pending.clear();
            return;
        }
        match self.scan(at_end) {
            Ok(cut) => self.emit(cut, out),
            // Unreachable: the automata are standard and unanchored, and each lazily built one
            // holds a subset of the raw automaton's patterns, which built. Fail closed.
            Err(_) => {
                out.extend_from_slice(UNNAMED_MARKER.as_bytes());
                self.pending.clear();
                self.failed = true;
            }
        }
    }

    /// Searches every view past what it has seen and returns the cut: the stream offset before
    /// which no match can still start (the end, at the end of the stream).
    fn scan(&mut self, at_end: bool) -> Result<u64, SearchFailed> {
        let inner = &self.redactor.inner;
        let end = self.base + self.pending.len() as u64;
        let mut cut = end;
        if let Some(raw) = &inner.raw {
            let automaton = raw.automaton(self.ignore_case).map_err(|_| SearchFailed)?;
            let keep = raw.longest as u64 - 1;
            let from = self.searched.saturating_sub(keep).max(self.base);
            let haystack = &self.pending[offset(from, self.base)..];
            for found in automaton.try_find_overlapping_iter(Input::new(haystack))? {
                let pattern = found.pattern().as_usize();
                if from + found.end() as u64 > self.searched
                    && raw.counts(pattern, &haystack[found.range()], self.ignore_case)
                {
                    self.spans.push(Span {
                        start: from + found.start() as u64,
                        end: from + found.end() as u64,
                        secret: raw.owner[pattern],
                    });
                }
            }
            self.searched = end;
            cut = cut.min(end.saturating_sub(keep));
        }
        for index in 0..self.windows.len() {
            let matcher = &inner.derived[index];
            if let Some(before) = index.checked_sub(1) {
                let (done, rest) = self.windows.split_at_mut(index);
                rest[0].follow(&done[before], &self.pending, self.base);
            }
            let window = &mut self.windows[index];
            let hold = window.advance(
                &self.pending,
                self.base,
                at_end,
                matcher,
                self.ignore_case,
                &mut self.spans,
            )?;
            cut = cut.min(hold);
        }
        Ok(if at_end { end } else { cut.max(self.base) })
    }

    /// Emits the pending bytes before `cut`, redacted, and keeps the rest.
    fn emit(&mut self, cut: u64, out: &mut Vec<u8>) {
        let inner = &self.redactor.inner;
        self.spans
            .sort_unstable_by_key(|span| (span.start, span.secret));
        // 1. Walk the matches that start before the cut, left to right; one that overlaps the
        //    current replacement extends it, any other starts a new one after the plain text
        //    before it. The rest wait for the next cut.
        let mut region_end = self.covered.max(self.base);
        let mut kept = 0;
        for index in 0..self.spans.len() {
            let span = self.spans[index];
            if span.start >= cut {
                self.spans[kept] = span;
                kept += 1;
                continue;
            }
            debug_assert!(span.start >= self.base, "a match starts in emitted bytes");
            if span.start < region_end {
                region_end = region_end.max(span.end);
                continue;
            }
            out.extend_from_slice(
                &self.pending[offset(region_end, self.base)..offset(span.start, self.base)],
            );
            out.extend_from_slice(&inner.markers[span.secret]);
            region_end = span.end;
        }
        self.spans.truncate(kept);
        // 2. Plain text up to the cut; a replacement that reaches past it covers the start of
        //    what is kept.
        if region_end < cut {
            out.extend_from_slice(
                &self.pending[offset(region_end, self.base)..offset(cut, self.base)],
            );
        }
        self.covered = region_end;
        self.pending.drain(..offset(cut, self.base));
        self.base = cut;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn redacted(redactor: &Redactor, chunks: &[&str]) -> String {
        let mut stream = redactor.stream();
        let mut out = Vec::new();
        for chunk in chunks {
            out.extend(stream.push(chunk.as_bytes()));
        }
        out.extend(stream.finish());
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_secret_split_across_three_writes_is_caught() {
        let redactor = Redactor::named(&[("token", "hunter2-secret")]).unwrap();
        assert_eq!(
            redacted(&redactor, &["key=hunt", "er2-sec", "ret done"]),
            "key=[REDACTED:token] done"
        );
    }

    #[test]
    fn overlapping_secrets_redact_their_union_once() {
        let redactor = Redactor::named(&[("a", "abcdef"), ("b", "defghi")]).unwrap();
        assert_eq!(redacted(&redactor, &["xabcdefghiy"]), "x[REDACTED:a]y");
        assert_eq!(
            redacted(&redactor, &["xabc", "defg", "hiy"]),
            "x[REDACTED:a]y"
        );
        // Touching is not overlapping: two replacements.
        assert_eq!(
            redacted(&redactor, &["abcdef", "defghi"]),
            "[REDACTED:a][REDACTED:b]"
        );
    }

    #[test]
    fn a_run_of_repeated_secrets_is_held_back_only_by_the_longest_pattern() {
        let redactor = Redactor::new(&["aaaa"]).unwrap();
        let mut stream = redactor.stream();
        let mut out = Vec::new();
        for _ in 0..100 {
            out.extend(stream.push(b"aaaaaaaaaa"));
            assert!(stream.pending.len() <= redactor.hold_bound());
        }
        out.extend(stream.finish());
        assert_eq!(String::from_utf8(out).unwrap(), "[REDACTED]");
    }

    #[test]
    fn pathological_inputs_are_held_back_within_the_bound() {
        let redactor = Redactor::named(&[
            (
                "key",
                "sk-live-0123456789abcdefghijklmnopqrstuvwxyz".as_bytes(),
            ),
            (
                "pem",
                b"-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\n-----END KEY-----",
            ),
        ])
        .unwrap();
        let bound = redactor.hold_bound();
        // The dump views': the longest pattern is the PEM key with CRLF (64 bytes), each byte
        // from a dump line of its own, and a line not yet ended after them.
        assert_eq!(bound, 63 * (136 + 2) + 137);
        let inputs: [Vec<u8>; 20] = [
            b"QUJD".repeat(500),
            b"Q\n".repeat(1000),
            b"QU\r\n".repeat(1000),
            b"\\u0041\\ud83d\\ude00".repeat(200),
            b"%41".repeat(1000),
            b"\\".repeat(2000),
            b"&#x0041;&amp;".repeat(200),
            b"&".repeat(2000),
            b"=41=\r\n=\n".repeat(400),
            b"=".repeat(2000),
            b"4d, 0x".repeat(400),
            b"Ab:\r\n \\x".repeat(300),
            b"00000000: 41  A\n".repeat(200),
            b"0000000   a\r\n".repeat(200),
            b"   a  \\n 303".repeat(200),
            b"0".repeat(2000),
            [b"0000000 ".as_slice(), &b"4142 ".repeat(400)].concat(),
            b"'a', ".repeat(400),
            b"1,\n  -2 ".repeat(300),
            b"\"\\ud83d\\ude00\",           ".repeat(100),
        ];
        for input in inputs {
            let mut stream = redactor.stream();
            let mut out = Vec::new();
            for byte in &input {
                out.extend(stream.push(std::slice::from_ref(byte)));
                assert!(stream.pending.len() <= bound, "{}", stream.pending.len());
            }
            out.extend(stream.finish());
            assert_eq!(out, input);
        }
    }

    #[test]
    fn an_unfinished_line_is_held_back_only_while_it_may_be_a_dump_line() {
        let redactor = Redactor::new(&["abcd"]).unwrap();
        // The raw view's longest pattern (UTF-32, 16 bytes) holds back 15; a prompt that
        // cannot be a dump line holds back no more.
        let mut stream = redactor.stream();
        assert_eq!(
            stream.push(b"  Enter a value for the field: "),
            b"  Enter a value "
        );
        let mut stream = redactor.stream();
        assert_eq!(stream.push(b"00000000: 6162 6364 65"), b"");
        assert_eq!(stream.finish(), b"00000000: [REDACTED] 65");
    }

    #[test]
    fn a_wrapped_base64_secret_is_replaced_with_its_line_breaks() {
        let redactor = Redactor::named(&[("key", "0123456789abcdefghijklmnopqrstuvwxyz")]).unwrap();
        // `MDEy…` wrapped at 10 columns with CRLF, after `x = `.
        let input =
            "x = MDEyMzQ1Nj\r\nc4OWFiY2RlZm\r\ndoaWprbG1ub3\r\nBxcnN0dXZ3eH\r\nl6\r\n\r\ndone\n";
        for size in [1, 2, 3, 7, input.len()] {
            assert_eq!(
                redacted(
                    &redactor,
                    &input
                        .as_bytes()
                        .chunks(size)
                        .map(|c| std::str::from_utf8(c).unwrap())
                        .collect::<Vec<_>>()
                ),
                "x = [REDACTED:key]\r\n\r\ndone\n"
            );
        }
    }

    #[test]
    fn short_secrets_still_redact_their_raw_form() {
        let redactor = Redactor::named(&[("pin", "42")]).unwrap();
        assert_eq!(
            redactor.redact_str("pin 42 or 4 2"),
            "pin [REDACTED:pin] or 4 2"
        );
    }

    #[test]
    fn no_secrets_passes_everything_through() {
        let redactor = Redactor::new::<&str>(&[]).unwrap();
        assert!(redactor.is_empty());
        assert_eq!(redacted(&redactor, &["a", "b"]), "ab");
        assert_eq!(Redactor::new(&[""]).unwrap().redact_str("abc"), "abc");
    }

    #[test]
    fn record_text_is_redacted_whatever_its_case() {
        let redactor = Redactor::named(&[("key", "Sk-Live-42abc")]).unwrap();
        assert_eq!(
            redactor.redact_str_ignore_case("sk-live-42ABC.exfil.example"),
            "[REDACTED:key].exfil.example"
        );
        assert_eq!(
            Redactor::new::<&str>(&[])
                .unwrap()
                .redact_str_ignore_case("a.b"),
            "a.b"
        );
    }

    #[test]
    fn derived_automata_are_built_only_when_a_view_needs_them() {
        let redactor = Redactor::named(&[("key", "sk-live-0123456789")]).unwrap();
        let built = |redactor: &Redactor| {
            let inner = &redactor.inner;
            let raw = inner.raw.as_ref().map(Matcher::built);
            let views: Vec<_> = inner.derived.iter().map(|m| (m.view, m.built())).collect();
            (raw, views)
        };
        let none = vec![
            (View::Unwrapped, (false, false)),
            (View::Escaped, (false, false)),
            (View::Percent, (false, false)),
            (View::Reference, (false, false)),
            (View::QuotedPrintable, (false, false)),
            (View::Hex, (false, false)),
            (View::Dump, (false, false)),
            (View::DumpSwapped, (false, false)),
            (View::List, (false, false)),
        ];
        assert_eq!(built(&redactor), (Some((true, false)), none.clone()));
        // Plain text, a word wrapped across a line: nothing else is needed.
        assert_eq!(
            redactor.redact_str("plain text\nwrapped"),
            "plain text\nwrapped"
        );
        assert_eq!(built(&redactor), (Some((true, false)), none));
        assert_eq!(
            redactor.redact_str("\\u0073k-live-0123456789"),
            "[REDACTED:key]"
        );
        assert_eq!(
            built(&redactor),
            (
                Some((true, false)),
                vec![
                    (View::Unwrapped, (false, false)),
                    (View::Escaped, (true, false)),
                    (View::Percent, (false, false)),
                    (View::Reference, (false, false)),
                    (View::QuotedPrintable, (false, false)),
                    (View::Hex, (false, false)),
                    (View::Dump, (false, false)),
                    (View::DumpSwapped, (false, false)),
                    (View::List, (false, false)),
                ]
            )
        );
    }

    #[test]
    fn debug_shows_counts_not_values() {
        let redactor = Redactor::new(&["hunter2-secret"]).unwrap();
        let debug = format!("{redactor:?} {:?}", redactor.stream());
        assert!(!debug.contains("hunter2"), "{debug}");
    }
}
