//! The decoded views of a stream that the redactor matches on besides its raw bytes: line breaks
//! inside base64/hex text skipped, backslash escapes decoded, `%XX` decoded, character references
//! decoded, quoted-printable decoded, separators between hex digits skipped. Each view is decoded
//! incrementally, whatever the chunking, and remembers which raw bytes each of its bytes came
//! from, so a match maps back to the whole original span. Decodes, searches and maps; does not
//! choose patterns or emit output.

mod scan;

use super::matcher::{Matcher, SearchFailed};
use aho_corasick::Input;
use scan::{MAX_ESCAPE, MAX_REFERENCE, MAX_SEPARATOR, Printable, Scan, Unit};

/// What a view undoes before matching.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum View {
    /// The bytes as written.
    Raw,
    /// One line break (`\n` or `\r\n`) right after a base64 or hex character is skipped:
    /// `base64`'s 76 columns, PEM's 64, `xxd -p`'s 60, or any other width, wherever the breaks
    /// fall in the secret. Two breaks in a row (a blank line) end the text.
    Unwrapped,
    /// Backslash escapes decoded: JSON's (`\uXXXX` in either case, surrogate pairs combined),
    /// C's and bash's `$'…'` (`\n`, `\e`, `\xHH`, `\ooo`), `\UXXXXXXXX` (Python, Go), `\u{…}`
    /// (Rust, JavaScript), and `\` before any other byte as that byte (bash's `printf %q`,
    /// double-quoted shell text, `\"`, `\\`, `\/`). Any mix of escaped and plain characters.
    Escaped,
    /// `%XX` decoded, in either case, beside plain bytes (a `+` stays a `+`).
    Percent,
    /// HTML and XML character references decoded: `&#DDD;`, `&#xHHH;` (`x` or `X`, either
    /// case, leading zeros) and `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&apos;`, beside plain bytes
    /// (`html.escape`, `xmlcharrefreplace`, template engines).
    Reference,
    /// Quoted-printable decoded (`email`, MIME, `quopri`): `=XX` in either case, and a soft line
    /// break (`=` then LF or CRLF) skipped, but not two in a row.
    QuotedPrintable,
    /// Hex text in one case with separators dropped: ASCII letters lowercased (one view byte per
    /// raw byte), and a separator between two hex digits skipped (`de:ad`, `de ad`, `0xde, 0xad`,
    /// `\xde\xad`, `od`'s lines); its patterns are the lowercase hex of each secret.
    Hex,
}

impl View {
    /// At most how many raw bytes one byte of this view stands for (a decoded escape, or a
    /// character and the line break skipped after it).
    pub(crate) fn raw_per_byte(self) -> usize {
        match self {
            View::Raw => 1,
            View::Unwrapped | View::Percent => 3,
            View::Escaped => MAX_ESCAPE,
            View::Reference => MAX_REFERENCE,
            // `=XX` and a soft CRLF break after it.
            View::QuotedPrintable => 6,
            View::Hex => 1 + MAX_SEPARATOR,
        }
    }

    /// At most how many raw bytes the decoder leaves undecided at the end of what it has seen
    /// (a `\r` that may start a line break, the start of an escape).
    pub(crate) fn lookahead(self) -> usize {
        match self {
            View::Raw => 0,
            View::Unwrapped => 1,
            View::Escaped => MAX_ESCAPE - 1,
            View::Percent | View::QuotedPrintable => 2,
            View::Reference => MAX_REFERENCE - 1,
            View::Hex => MAX_SEPARATOR,
        }
    }
}

/// One match: raw stream offsets `[start, end)`, for secret `secret`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Span {
    pub(crate) start: u64,
    pub(crate) end: u64,
    pub(crate) secret: usize,
}

/// One derived view of one stream: its last `longest − 1` bytes, already searched (a match not
/// yet complete starts among them), then the bytes decoded from the latest chunk; and where
/// each came from.
pub(crate) struct Window {
    view: View,
    /// Stream offset of the next raw byte not yet decoded.
    cursor: u64,
    /// For `Unwrapped`: whether the last byte decoded is a base64 or hex character; for `Hex`,
    /// a hex digit; for `QuotedPrintable`, whether the last thing decoded was a soft break.
    after_alphabet: bool,
    bytes: Vec<u8>,
    /// View offset (counted from the stream's start) of `bytes[0]`.
    first: u64,
    /// Where `bytes` came from, in order and without gaps in view offsets; the first run may
    /// start before `first`.
    runs: Vec<Run>,
    /// Scratch space: the stretches of `bytes` to search, reused across chunks.
    ranges: Vec<(usize, usize)>,
}

/// A stretch of view bytes with one origin.
#[derive(Clone, Copy, Debug)]
struct Run {
    /// View offset of its first byte.
    view: u64,
    /// Stream offset of its first raw byte.
    raw: u64,
    /// How many view bytes.
    len: u64,
    /// How many raw bytes: `len` for a copy, the escape's length for an escape.
    raw_len: u64,
    /// A copy of raw bytes (view byte `k` is raw byte `raw + k`), or one decoded escape (each
    /// of its view bytes stands for all of it).
    copy: bool,
}

impl Window {
    pub(crate) fn new(view: View) -> Self {
        Self {
            view,
            cursor: 0,
            after_alphabet: false,
            bytes: Vec::new(),
            first: 0,
            runs: Vec::new(),
            ranges: Vec::new(),
        }
    }

    /// Decodes `pending` (the stream's unemitted bytes, from offset `base`) past what this view
    /// has seen, pushes every match that ends in the new bytes onto `spans`, and keeps the last
    /// `longest − 1` view bytes. Returns the stream offset before which no match can still
    /// start: the raw start of the first byte kept, or the first undecided raw byte.
    ///
    /// The hold-back this asks for is bounded: `longest − 1` view bytes stand for at most
    /// `raw_per_byte` raw bytes each, and at most `lookahead` raw bytes are undecided.
    pub(crate) fn advance(
        &mut self,
        pending: &[u8],
        base: u64,
        at_end: bool,
        patterns: &Matcher,
        ignore_case: bool,
        spans: &mut Vec<Span>,
    ) -> Result<u64, SearchFailed> {
        let searched = self.bytes.len();
        let from = offset(self.cursor, base);
        let decoded = self.decode(pending, base, from, at_end);
        self.cursor = base + decoded as u64;
        if self.bytes.len() > searched {
            self.search(searched, patterns, ignore_case, spans)?;
        }
        let surplus = self
            .bytes
            .len()
            .saturating_sub(patterns.longest.saturating_sub(1));
        self.bytes.drain(..surplus);
        self.first += surplus as u64;
        let first = self.first;
        let gone = self
            .runs
            .iter()
            .take_while(|run| run.view + run.len <= first)
            .count();
        self.runs.drain(..gone);
        Ok(if self.bytes.is_empty() {
            self.cursor
        } else {
            self.raw_start(0)
        })
    }

    /// Pushes every match that ends past `bytes[..searched]` and is not also a raw match. Such
    /// a match holds a seam (a decoded escape, or a skipped line break between two copies) and
    /// lies within `longest − 1` bytes of it; in the unwrapped view, whose patterns are all
    /// base64 or hex, within the run of such characters around the break (searched whole),
    /// which must be as long as the shortest pattern. Only those stretches are searched: elsewhere a view is a
    /// copy of the raw bytes, and the raw view (which holds every pattern of every view) finds
    /// what is there.
    fn search(
        &mut self,
        searched: usize,
        patterns: &Matcher,
        ignore_case: bool,
        spans: &mut Vec<Span>,
    ) -> Result<(), SearchFailed> {
        let reach = patterns.longest - 1;
        let len = self.bytes.len();
        let mut ranges = std::mem::take(&mut self.ranges);
        ranges.clear();
        if self.view == View::Hex {
            // Its bytes differ from the raw ones wherever a letter was lowercased, so every
            // stretch of hex digits long enough for a pattern is searched, not just the seams.
            hex_stretches(
                &self.bytes,
                searched.saturating_sub(reach),
                patterns.shortest,
                &mut ranges,
            );
            let result = if ranges.is_empty() {
                Ok(())
            } else {
                self.search_ranges(&ranges, searched, patterns, ignore_case, spans)
            };
            self.ranges = ranges;
            return result;
        }
        // Unwrapped: where the last run of base64 characters taken ends. Each byte is walked
        // at most once per search, however many breaks the run holds.
        let mut alphabet_end = 0;
        for (index, run) in self.runs.iter().enumerate() {
            let start = usize::try_from(run.view.saturating_sub(self.first)).unwrap_or(len);
            let end =
                usize::try_from((run.view + run.len).saturating_sub(self.first)).unwrap_or(len);
            let range = if !run.copy {
                (start.saturating_sub(reach), (end + reach).min(len))
            } else if index > 0 && self.runs[index - 1].copy {
                if self.view != View::Unwrapped {
                    (start.saturating_sub(reach), (start + reach).min(len))
                } else if start < alphabet_end {
                    // Inside the run of base64 characters already taken.
                    continue;
                } else {
                    let mut left = start;
                    while left > 0 && is_alphabet(self.bytes[left - 1]) {
                        left -= 1;
                    }
                    let mut right = start;
                    while right < len && is_alphabet(self.bytes[right]) {
                        right += 1;
                    }
                    alphabet_end = right;
                    if left == start || right == start || right - left < patterns.shortest {
                        continue;
                    }
                    (left, right)
                }
            } else {
                continue;
            };
            if range.1 > searched {
                ranges.push(range);
            }
        }
        // An alphabet run can reach back past earlier stretches: sort, then merge overlaps.
        ranges.sort_unstable();
        ranges.dedup_by(|later, earlier| {
            let overlaps = later.0 <= earlier.1;
            if overlaps {
                earlier.1 = earlier.1.max(later.1);
            }
            overlaps
        });
        let mut result = Ok(());
        if !ranges.is_empty() {
            result = self.search_ranges(&ranges, searched, patterns, ignore_case, spans);
        }
        self.ranges = ranges;
        result
    }

    fn search_ranges(
        &self,
        ranges: &[(usize, usize)],
        searched: usize,
        patterns: &Matcher,
        ignore_case: bool,
        spans: &mut Vec<Span>,
    ) -> Result<(), SearchFailed> {
        let automaton = patterns.automaton(ignore_case).map_err(|_| SearchFailed)?;
        for &(from, to) in ranges {
            let input = Input::new(&self.bytes).range(from..to);
            for found in automaton.try_find_overlapping_iter(input)? {
                if found.end() > searched {
                    spans.push(Span {
                        start: self.raw_start(found.start()),
                        end: self.raw_end(found.end() - 1),
                        secret: patterns.owner[found.pattern().as_usize()],
                    });
                }
            }
        }
        Ok(())
    }

    /// The run holding `bytes[index]`.
    fn run(&self, index: usize) -> (&Run, u64) {
        let view = self.first + index as u64;
        let at = self
            .runs
            .partition_point(|run| run.view <= view)
            .saturating_sub(1);
        (&self.runs[at], view)
    }

    /// The stream offset of the first raw byte `bytes[index]` came from.
    fn raw_start(&self, index: usize) -> u64 {
        match self.run(index) {
            (run, view) if run.copy => run.raw + (view - run.view),
            (run, _) => run.raw,
        }
    }

    /// The stream offset after the last raw byte `bytes[index]` came from.
    fn raw_end(&self, index: usize) -> u64 {
        match self.run(index) {
            (run, view) if run.copy => run.raw + (view - run.view) + 1,
            (run, _) => run.raw + run.raw_len,
        }
    }

    fn push_copy(&mut self, raw: u64, bytes: &[u8]) {
        let len = bytes.len() as u64;
        let view = self.first + self.bytes.len() as u64;
        match self.runs.last_mut() {
            Some(last) if last.copy && last.raw + last.raw_len == raw => {
                last.len += len;
                last.raw_len += len;
            }
            _ => self.runs.push(Run {
                view,
                raw,
                len,
                raw_len: len,
                copy: true,
            }),
        }
        self.bytes.extend_from_slice(bytes);
    }

    fn push_escape(&mut self, raw: u64, unit: &Unit) {
        self.runs.push(Run {
            view: self.first + self.bytes.len() as u64,
            raw,
            len: unit.len as u64,
            raw_len: unit.consumed as u64,
            copy: false,
        });
        self.bytes.extend_from_slice(&unit.bytes[..unit.len]);
    }

    /// Decodes `pending[at..]` (`pending` starts at stream offset `base`) with this view's
    /// decoder; returns where decoding stopped (an index into `pending`).
    fn decode(&mut self, pending: &[u8], base: u64, at: usize, at_end: bool) -> usize {
        match self.view {
            View::Raw | View::Unwrapped => self.unwrap(pending, base, at, at_end),
            View::Escaped => self.unescape(pending, base, at, at_end),
            View::Percent => self.unpercent(pending, base, at, at_end),
            View::Reference => self.unreference(pending, base, at, at_end),
            View::QuotedPrintable => self.unprintable(pending, base, at, at_end),
            View::Hex => self.unhex(pending, base, at, at_end),
        }
    }

    /// `Unwrapped`: copies up to each line break, and skips a break right after a base64 or
    /// hex character. Returns where decoding stopped (an index into `pending`).
    fn unwrap(&mut self, pending: &[u8], base: u64, mut at: usize, at_end: bool) -> usize {
        while at < pending.len() {
            let rest = &pending[at..];
            let plain = memchr::memchr2(b'\n', b'\r', rest).unwrap_or(rest.len());
            if plain > 0 {
                self.push_copy(base + at as u64, &rest[..plain]);
                self.after_alphabet = is_alphabet(rest[plain - 1]);
                at += plain;
                continue;
            }
            let skipped = match rest {
                [b'\n', ..] if self.after_alphabet => 1,
                [b'\r', b'\n', ..] if self.after_alphabet => 2,
                [b'\r'] if self.after_alphabet && !at_end => return at,
                _ => 0,
            };
            if skipped == 0 {
                self.push_copy(base + at as u64, &rest[..1]);
                at += 1;
            } else {
                at += skipped;
            }
            self.after_alphabet = false;
        }
        at
    }

    /// `Escaped`: copies up to each backslash and decodes the escape it starts.
    fn unescape(&mut self, pending: &[u8], base: u64, mut at: usize, at_end: bool) -> usize {
        while at < pending.len() {
            let rest = &pending[at..];
            let plain = memchr::memchr(b'\\', rest).unwrap_or(rest.len());
            if plain > 0 {
                self.push_copy(base + at as u64, &rest[..plain]);
                at += plain;
                continue;
            }
            match scan::escape(rest, at_end) {
                Scan::More => return at,
                Scan::No => {
                    self.push_copy(base + at as u64, &rest[..1]);
                    at += 1;
                }
                Scan::Yes(unit) => {
                    self.push_escape(base + at as u64, &unit);
                    at += unit.consumed;
                }
            }
        }
        at
    }

    /// `Percent`: copies up to each `%` and decodes `%XX`.
    fn unpercent(&mut self, pending: &[u8], base: u64, mut at: usize, at_end: bool) -> usize {
        while at < pending.len() {
            let rest = &pending[at..];
            let plain = memchr::memchr(b'%', rest).unwrap_or(rest.len());
            if plain > 0 {
                self.push_copy(base + at as u64, &rest[..plain]);
                at += plain;
                continue;
            }
            match scan::fixed_hex(rest, 1, 2, at_end) {
                Scan::More => return at,
                Scan::No => {
                    self.push_copy(base + at as u64, &rest[..1]);
                    at += 1;
                }
                Scan::Yes(byte) => {
                    self.push_escape(base + at as u64, &Unit::byte(3, byte));
                    at += 3;
                }
            }
        }
        at
    }

    /// `Reference`: copies up to each `&` and decodes the reference it starts.
    fn unreference(&mut self, pending: &[u8], base: u64, mut at: usize, at_end: bool) -> usize {
        while at < pending.len() {
            let rest = &pending[at..];
            let plain = memchr::memchr(b'&', rest).unwrap_or(rest.len());
            if plain > 0 {
                self.push_copy(base + at as u64, &rest[..plain]);
                at += plain;
                continue;
            }
            match scan::reference(rest, at_end) {
                Scan::More => return at,
                Scan::No => {
                    self.push_copy(base + at as u64, &rest[..1]);
                    at += 1;
                }
                Scan::Yes(unit) => {
                    self.push_escape(base + at as u64, &unit);
                    at += unit.consumed;
                }
            }
        }
        at
    }

    /// `QuotedPrintable`: copies up to each `=`, decodes `=XX` and skips a soft line break
    /// that does not follow another (so skipped bytes stay bounded).
    fn unprintable(&mut self, pending: &[u8], base: u64, mut at: usize, at_end: bool) -> usize {
        while at < pending.len() {
            let rest = &pending[at..];
            let plain = memchr::memchr(b'=', rest).unwrap_or(rest.len());
            if plain > 0 {
                self.push_copy(base + at as u64, &rest[..plain]);
                self.after_alphabet = false;
                at += plain;
                continue;
            }
            match scan::quoted_printable(rest, at_end) {
                Scan::More => return at,
                Scan::Yes(Printable::SoftBreak(len)) if !self.after_alphabet => {
                    self.after_alphabet = true;
                    at += len;
                }
                Scan::Yes(Printable::Byte(byte)) => {
                    self.push_escape(base + at as u64, &Unit::byte(3, u32::from(byte)));
                    self.after_alphabet = false;
                    at += 3;
                }
                Scan::No | Scan::Yes(Printable::SoftBreak(_)) => {
                    self.push_copy(base + at as u64, &rest[..1]);
                    self.after_alphabet = false;
                    at += 1;
                }
            }
        }
        at
    }

    /// `Hex`: copies (lowercased) up to a byte that may start a separator right after a hex
    /// digit, and skips the separator when a hex digit follows it.
    fn unhex(&mut self, pending: &[u8], base: u64, mut at: usize, at_end: bool) -> usize {
        while at < pending.len() {
            let rest = &pending[at..];
            let mut after = self.after_alphabet;
            let plain = rest
                .iter()
                .position(|&byte| {
                    let stop = after && scan::starts_separator(byte);
                    after = byte.is_ascii_hexdigit();
                    stop
                })
                .unwrap_or(rest.len());
            if plain > 0 {
                let start = self.bytes.len();
                self.push_copy(base + at as u64, &rest[..plain]);
                self.bytes[start..].make_ascii_lowercase();
                self.after_alphabet = rest[plain - 1].is_ascii_hexdigit();
                at += plain;
                continue;
            }
            match scan::separator(rest, at_end) {
                Scan::More => return at,
                Scan::Yes(len) => at += len,
                Scan::No => {
                    self.push_copy(base + at as u64, &rest[..1]);
                    at += 1;
                }
            }
            self.after_alphabet = false;
        }
        at
    }
}

/// The stretches of hex digits in `bytes` from `from` on (the first may start before it) that
/// hold at least `shortest` of them.
fn hex_stretches(bytes: &[u8], from: usize, shortest: usize, out: &mut Vec<(usize, usize)>) {
    let mut start = from;
    while start > 0 && bytes[start - 1].is_ascii_hexdigit() {
        start -= 1;
    }
    let mut at = start;
    while at < bytes.len() {
        if !bytes[at].is_ascii_hexdigit() {
            at += 1;
            continue;
        }
        let begin = at;
        while at < bytes.len() && bytes[at].is_ascii_hexdigit() {
            at += 1;
        }
        if at - begin >= shortest {
            out.push((begin, at));
        }
    }
}

/// `offset` as an index into a buffer that starts at stream offset `base`.
pub(crate) fn offset(offset: u64, base: u64) -> usize {
    usize::try_from(offset - base).unwrap_or(usize::MAX)
}

/// A character of base64 (standard or URL-safe, with padding) or hex.
fn is_alphabet(byte: u8) -> bool {
    ALPHABET[usize::from(byte)]
}

/// [`is_alphabet`] as a table: the unwrapped view walks every byte of a wrapped blob with it.
const ALPHABET: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        table[byte] = b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_');
        byte += 1;
    }
    table
};

#[cfg(test)]
mod tests;
