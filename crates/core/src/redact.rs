//! Scrubs secret values, and their common encodings, from output streams (DESIGN §1: "output
//! stream ─▶ redactor"). Owns the patterns and the streaming matcher; does not fetch secrets or
//! decide which streams to scrub.
//!
//! Trade-offs, chosen to fail closed:
//! - A value of any length, even one byte, has its raw form redacted: a short value causes
//!   false positives (every `e` in the output for the secret `e`), never a leak. Its *encoded*
//!   forms count only from [`MIN_ENCODED_LEN`] bytes, so a secret under about 5 bytes is not
//!   found inside a larger base64 blob.
//! - A stream that ends in the middle of a secret emits that prefix: it never completed, so it
//!   is not a match.
//! - MIME line-wrapped base64 and nested encodings (a JSON-escaped, then percent-encoded value)
//!   are not searched for.
//! - The automaton keeps its own copy of every pattern, which is not zeroed on drop: keep a
//!   `Redactor` only as long as the run whose secrets it holds.

mod encoding;

pub use encoding::MIN_ENCODED_LEN;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, Input};
use std::fmt;
use std::sync::Arc;

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

/// The secrets of one run and every encoded form of them, matched with one automaton. Cheap to
/// clone; each output stream gets its own [`StreamRedactor`] from [`Redactor::stream`].
#[derive(Clone, Default)]
pub struct Redactor {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    automaton: Option<AhoCorasick>,
    /// The same patterns matched without regard to ASCII case, for text whose case the
    /// program does not control the meaning of (host names): see
    /// [`Redactor::redact_str_ignore_case`].
    insensitive: Option<AhoCorasick>,
    /// For each pattern id, the index of the secret it encodes.
    owner: Vec<usize>,
    /// For each secret, its replacement text.
    markers: Vec<Vec<u8>>,
    /// The longest pattern in bytes: a stream holds back one byte less than this.
    longest: usize,
}

impl fmt::Debug for Redactor {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Redactor")
            .field("secrets", &self.inner.markers.len())
            .field("patterns", &self.inner.owner.len())
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
        let mut patterns: Vec<(Vec<u8>, usize)> = Vec::new();
        let mut markers = Vec::new();
        for (index, (name, value)) in secrets.enumerate() {
            markers.push(match name {
                Some(name) => format!("[REDACTED:{name}]").into_bytes(),
                None => UNNAMED_MARKER.as_bytes().to_vec(),
            });
            patterns.extend(encoding::forms(value).into_iter().map(|form| (form, index)));
        }
        // One pattern per byte string; the first secret that produces it names it.
        patterns.sort_unstable();
        patterns.dedup_by(|later, earlier| later.0 == earlier.0);
        if patterns.is_empty() {
            return Ok(Self {
                inner: Arc::new(Inner {
                    markers,
                    ..Inner::default()
                }),
            });
        }
        let build_error = |source| RedactError::Build {
            patterns: patterns.len(),
            source,
        };
        let automaton =
            AhoCorasick::new(patterns.iter().map(|(form, _)| form)).map_err(build_error)?;
        let insensitive = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .build(patterns.iter().map(|(form, _)| form))
            .map_err(build_error)?;
        Ok(Self {
            inner: Arc::new(Inner {
                automaton: Some(automaton),
                insensitive: Some(insensitive),
                owner: patterns.iter().map(|(_, owner)| *owner).collect(),
                longest: patterns
                    .iter()
                    .map(|(form, _)| form.len())
                    .max()
                    .unwrap_or(0),
                markers,
            }),
        })
    }

    /// Whether there is nothing to redact.
    pub fn is_empty(&self) -> bool {
        self.inner.automaton.is_none()
    }

    /// A streaming redactor for one output stream.
    pub fn stream(&self) -> StreamRedactor {
        StreamRedactor {
            redactor: self.clone(),
            pending: Vec::new(),
            covered: 0,
            spans: Vec::new(),
        }
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
        match String::from_utf8(self.redact(text.as_bytes())) {
            Ok(text) => text,
            Err(error) => String::from_utf8_lossy(error.as_bytes()).into_owned(),
        }
    }
}

impl Redactor {
    /// `text` with every secret form replaced, matched without regard to ASCII case: for
    /// strings a sandboxed program sent that are case-insensitive where they are used (a host
    /// name asked of the egress proxy), so `SeCrEt.exfil.example` cannot carry `secret` past
    /// the redactor into an audit record. Overlapping matches are replaced as their union.
    pub fn redact_str_ignore_case(&self, text: &str) -> String {
        let inner = &self.inner;
        let Some(automaton) = &inner.insensitive else {
            return text.to_string();
        };
        let bytes = text.as_bytes();
        let mut spans: Vec<Span> = match automaton.try_find_overlapping_iter(Input::new(bytes)) {
            Ok(matches) => matches
                .map(|found| Span {
                    start: found.start(),
                    end: found.end(),
                    secret: inner.owner[found.pattern().as_usize()],
                })
                .collect(),
            // Unreachable with the default automaton; fail closed.
            Err(_) => return UNNAMED_MARKER.to_string(),
        };
        spans.sort_unstable_by_key(|span| (span.start, span.secret));
        let mut out = Vec::with_capacity(bytes.len());
        let mut region_end = 0;
        for span in &spans {
            if span.start < region_end {
                region_end = region_end.max(span.end);
                continue;
            }
            out.extend_from_slice(&bytes[region_end..span.start]);
            out.extend_from_slice(&inner.markers[span.secret]);
            region_end = span.end;
        }
        out.extend_from_slice(&bytes[region_end.min(bytes.len())..]);
        match String::from_utf8(out) {
            Ok(text) => text,
            Err(error) => String::from_utf8_lossy(error.as_bytes()).into_owned(),
        }
    }
}

/// One match of one pattern: `[start, end)` of the pending bytes, for secret `secret`.
#[derive(Clone, Copy)]
struct Span {
    start: usize,
    end: usize,
    secret: usize,
}

/// Redacts one output stream written in chunks. A secret split across any number of chunks at
/// any points is still caught: the last `longest pattern − 1` bytes are held back until the
/// next chunk or [`StreamRedactor::finish`]. Overlapping matches are redacted as their union,
/// named for the leftmost; the output does not depend on how the input was chunked.
pub struct StreamRedactor {
    redactor: Redactor,
    /// Bytes received but not yet emitted.
    pending: Vec<u8>,
    /// How many leading bytes of `pending` belong to a replacement already emitted: they are
    /// never emitted, and a match overlapping them extends that replacement silently.
    covered: usize,
    /// Scratch space for matches, reused across chunks.
    spans: Vec<Span>,
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
        let inner = &self.redactor.inner;
        if inner.automaton.is_none() {
            out.extend_from_slice(chunk);
            return;
        }
        self.pending.extend_from_slice(chunk);
        let hold = inner.longest.saturating_sub(1);
        let cut = self.pending.len().saturating_sub(hold);
        self.emit(cut, out);
    }

    /// Ends the stream: returns everything still held back, redacted.
    pub fn finish(mut self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.pending.len());
        self.emit(self.pending.len(), &mut out);
        out
    }

    /// Emits `pending[..cut]`, redacted, and keeps the rest. No match that is still incomplete
    /// can start before `cut`: a pattern ending past the buffer starts at or after
    /// `len − longest + 1`.
    fn emit(&mut self, cut: usize, out: &mut Vec<u8>) {
        let inner = &self.redactor.inner;
        let Some(automaton) = &inner.automaton else {
            out.extend_from_slice(&self.pending);
            self.pending.clear();
            return;
        };
        self.spans.clear();
        match automaton.try_find_overlapping_iter(Input::new(&self.pending)) {
            Ok(matches) => {
                self.spans.extend(
                    matches
                        .filter(|found| found.start() < cut)
                        .map(|found| Span {
                            start: found.start(),
                            end: found.end(),
                            secret: inner.owner[found.pattern().as_usize()],
                        }),
                )
            }
            // Unreachable with the default (standard, unanchored) automaton; fail closed.
            Err(_) => {
                out.extend_from_slice(UNNAMED_MARKER.as_bytes());
                self.pending.clear();
                self.covered = 0;
                return;
            }
        }
        self.spans
            .sort_unstable_by_key(|span| (span.start, span.secret));
        // 1. Walk the matches left to right; a match that overlaps the current replacement
        //    extends it, any other starts a new one after the plain text before it.
        let mut region_end = self.covered;
        for span in &self.spans {
            if span.start < region_end {
                region_end = region_end.max(span.end);
                continue;
            }
            out.extend_from_slice(&self.pending[region_end..span.start]);
            out.extend_from_slice(&inner.markers[span.secret]);
            region_end = span.end;
        }
        // 2. Plain text up to the cut; a replacement that reaches past it covers the start of
        //    what is kept.
        if region_end < cut {
            out.extend_from_slice(&self.pending[region_end..cut]);
        }
        self.covered = region_end.saturating_sub(cut);
        self.pending.drain(..cut);
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
            assert!(stream.pending.len() < redactor.inner.longest);
        }
        out.extend(stream.finish());
        assert_eq!(String::from_utf8(out).unwrap(), "[REDACTED]");
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
    fn debug_shows_counts_not_values() {
        let redactor = Redactor::new(&["hunter2-secret"]).unwrap();
        let debug = format!("{redactor:?} {:?}", redactor.stream());
        assert!(!debug.contains("hunter2"), "{debug}");
    }
}
