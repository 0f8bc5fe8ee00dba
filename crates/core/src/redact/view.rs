//! The decoded views of a stream that the redactor matches on besides its raw bytes: line breaks
//! inside base64/hex text skipped, backslash escapes decoded, `%XX` decoded. Each view is decoded
//! incrementally, whatever the chunking, and remembers which raw bytes each of its bytes came
//! from, so a match maps back to the whole original span. Decodes, searches and maps; does not
//! choose patterns or emit output.

use super::matcher::{Matcher, SearchFailed};
use aho_corasick::Input;

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
}

/// The longest escape: a surrogate pair, `\ud83d\ude00`.
const MAX_ESCAPE: usize = 12;

impl View {
    /// At most how many raw bytes one byte of this view stands for (a decoded escape, or a
    /// character and the line break skipped after it).
    pub(crate) fn raw_per_byte(self) -> usize {
        match self {
            View::Raw => 1,
            View::Unwrapped | View::Percent => 3,
            View::Escaped => MAX_ESCAPE,
        }
    }

    /// At most how many raw bytes the decoder leaves undecided at the end of what it has seen
    /// (a `\r` that may start a line break, the start of an escape).
    pub(crate) fn lookahead(self) -> usize {
        match self {
            View::Raw => 0,
            View::Unwrapped => 1,
            View::Escaped => MAX_ESCAPE - 1,
            View::Percent => 2,
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
    /// For `Unwrapped`: whether the last byte decoded is a base64 or hex character.
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
        let decoded = match self.view {
            View::Raw | View::Unwrapped => self.unwrap(pending, base, from, at_end),
            View::Escaped => self.unescape(pending, base, from, at_end),
            View::Percent => self.unpercent(pending, base, from, at_end),
        };
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
            match escape(rest, at_end) {
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
            match fixed_hex(rest, 1, 2, at_end) {
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

/// The outcome of reading a construct from the bytes seen so far.
enum Scan<T> {
    /// More bytes could still change the outcome.
    More,
    /// It is not there.
    No,
    Yes(T),
}

/// One decoded escape: how many raw bytes it took and the (at most four) bytes it stands for.
struct Unit {
    consumed: usize,
    bytes: [u8; 4],
    len: usize,
}

impl Unit {
    fn byte(consumed: usize, byte: u32) -> Self {
        Self {
            consumed,
            bytes: [(byte & 0xff) as u8, 0, 0, 0],
            len: 1,
        }
    }

    /// Code point `point` in UTF-8; a lone surrogate gets the same three-byte form (WTF-8),
    /// which no UTF-8 secret contains.
    fn point(consumed: usize, point: u32) -> Self {
        let continuation = |shift: u32| 0x80 | ((point >> shift) & 0x3f) as u8;
        let (bytes, len) = match point {
            0..=0x7f => ([point as u8, 0, 0, 0], 1),
            0x80..=0x7ff => ([0xc0 | (point >> 6) as u8, continuation(0), 0, 0], 2),
            0x800..=0xffff => (
                [
                    0xe0 | (point >> 12) as u8,
                    continuation(6),
                    continuation(0),
                    0,
                ],
                3,
            ),
            _ => (
                [
                    0xf0 | (point >> 18) as u8,
                    continuation(12),
                    continuation(6),
                    continuation(0),
                ],
                4,
            ),
        };
        Self {
            consumed,
            bytes,
            len,
        }
    }
}

/// The escape at the start of `text` (a `\`). `No` for a `\` ending the stream; an unknown
/// escape `\X` stands for `X`.
fn escape(text: &[u8], at_end: bool) -> Scan<Unit> {
    let Some(&letter) = text.get(1) else {
        return if at_end { Scan::No } else { Scan::More };
    };
    let named = |byte: u8| Scan::Yes(Unit::byte(2, u32::from(byte)));
    match letter {
        b'a' => named(0x07),
        b'b' => named(0x08),
        b't' => named(b'\t'),
        b'n' => named(b'\n'),
        b'v' => named(0x0b),
        b'f' => named(0x0c),
        b'r' => named(b'\r'),
        b'e' | b'E' => named(0x1b),
        b'0'..=b'7' => match greedy(text, 1, 3, 8, at_end) {
            Scan::Yes((value, digits)) => Scan::Yes(Unit::byte(1 + digits, value)),
            Scan::More => Scan::More,
            Scan::No => named(letter),
        },
        b'x' => match greedy(text, 2, 2, 16, at_end) {
            Scan::Yes((value, digits)) => Scan::Yes(Unit::byte(2 + digits, value)),
            Scan::More => Scan::More,
            Scan::No => named(letter),
        },
        b'u' if text.get(2) == Some(&b'{') => match braced(text, at_end) {
            Scan::No => named(letter),
            other => other,
        },
        b'u' => match fixed_hex(text, 2, 4, at_end) {
            Scan::Yes(high @ 0xd800..=0xdbff) => match low_surrogate(text, at_end) {
                Scan::Yes(low) => Scan::Yes(Unit::point(
                    MAX_ESCAPE,
                    0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00),
                )),
                Scan::More => Scan::More,
                Scan::No => Scan::Yes(Unit::point(6, high)),
            },
            Scan::Yes(unit) => Scan::Yes(Unit::point(6, unit)),
            Scan::More => Scan::More,
            Scan::No => named(letter),
        },
        b'U' => match fixed_hex(text, 2, 8, at_end) {
            Scan::Yes(point) if char::from_u32(point).is_some() => {
                Scan::Yes(Unit::point(10, point))
            }
            Scan::More => Scan::More,
            _ => named(letter),
        },
        other => named(other),
    }
}

/// `\u{H…}` with one to six hex digits naming a character.
fn braced(text: &[u8], at_end: bool) -> Scan<Unit> {
    match greedy(text, 3, 6, 16, at_end) {
        Scan::Yes((point, digits)) => match text.get(3 + digits) {
            None if !at_end => Scan::More,
            Some(b'}') if char::from_u32(point).is_some() => {
                Scan::Yes(Unit::point(4 + digits, point))
            }
            _ => Scan::No,
        },
        Scan::More => Scan::More,
        Scan::No => Scan::No,
    }
}

/// The `\uDC00`–`\uDFFF` that may follow a high surrogate's escape (at `text[6..]`).
fn low_surrogate(text: &[u8], at_end: bool) -> Scan<u32> {
    for (index, expected) in [(6, b'\\'), (7, b'u')] {
        match text.get(index) {
            None if !at_end => return Scan::More,
            Some(&byte) if byte == expected => {}
            _ => return Scan::No,
        }
    }
    match fixed_hex(text, 8, 4, at_end) {
        Scan::Yes(low @ 0xdc00..=0xdfff) => Scan::Yes(low),
        Scan::More => Scan::More,
        _ => Scan::No,
    }
}

/// Exactly `count` hex digits at `text[from..]`.
fn fixed_hex(text: &[u8], from: usize, count: usize, at_end: bool) -> Scan<u32> {
    let mut value = 0;
    for index in from..from + count {
        match text.get(index) {
            None if at_end => return Scan::No,
            None => return Scan::More,
            Some(&byte) => match char::from(byte).to_digit(16) {
                Some(digit) => value = value << 4 | digit,
                None => return Scan::No,
            },
        }
    }
    Scan::Yes(value)
}

/// One to `most` digits of `radix` at `text[from..]`, as many as there are: the value and how
/// many digits.
fn greedy(text: &[u8], from: usize, most: usize, radix: u32, at_end: bool) -> Scan<(u32, usize)> {
    let mut value = 0;
    let mut digits = 0;
    while digits < most {
        match text.get(from + digits) {
            None if at_end => break,
            None => return Scan::More,
            Some(&byte) => match char::from(byte).to_digit(radix) {
                Some(digit) => {
                    value = value * radix + digit;
                    digits += 1;
                }
                None => break,
            },
        }
    }
    if digits == 0 {
        Scan::No
    } else {
        Scan::Yes((value, digits))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    /// The whole view of `input` fed in chunks of `size`, and the raw span of each view byte.
    fn decode(view: View, input: &[u8], size: usize) -> (Vec<u8>, Vec<(u64, u64)>) {
        let mut window = Window::new(view);
        let mut pending = Vec::new();
        let (mut bytes, mut spans) = (Vec::new(), Vec::new());
        let mut collect = |window: &mut Window| {
            for index in 0..window.bytes.len() {
                bytes.push(window.bytes[index]);
                spans.push((window.raw_start(index), window.raw_end(index)));
            }
            window.first += window.bytes.len() as u64;
            window.bytes.clear();
            window.runs.retain(|_| false);
        };
        for chunk in input.chunks(size.max(1)) {
            pending.extend_from_slice(chunk);
            let at = window.cursor as usize;
            let done = match view {
                View::Raw | View::Unwrapped => window.unwrap(&pending, 0, at, false),
                View::Escaped => window.unescape(&pending, 0, at, false),
                View::Percent => window.unpercent(&pending, 0, at, false),
            };
            window.cursor = done as u64;
            collect(&mut window);
        }
        let at = window.cursor as usize;
        let done = match view {
            View::Raw | View::Unwrapped => window.unwrap(&pending, 0, at, true),
            View::Escaped => window.unescape(&pending, 0, at, true),
            View::Percent => window.unpercent(&pending, 0, at, true),
        };
        assert_eq!(done, pending.len());
        collect(&mut window);
        (bytes, spans)
    }

    /// The view of `input`, checked to be the same at every chunk size.
    fn view_of(view: View, input: &str) -> String {
        let (whole, spans) = decode(view, input.as_bytes(), input.len());
        for size in 1..=13 {
            assert_eq!(
                decode(view, input.as_bytes(), size),
                (whole.clone(), spans.clone())
            );
        }
        String::from_utf8(whole).unwrap()
    }

    #[test]
    fn json_escapes_decode_whatever_the_serialiser_and_case() {
        let text = "it's \"é\" <&> \\ / \u{1}\u{7f}\t😀\u{2028}";
        let serde = serde_json::to_string(text).unwrap();
        let every: String = text
            .encode_utf16()
            .map(|unit| format!("\\u{unit:04x}"))
            .collect();
        let upper = every.to_uppercase().replace("\\U", "\\u");
        let python = "it's \\\"\\u00e9\\\" <&> \\\\ \\/ \\u0001\\u007f\\t\\ud83d\\ude00\\u2028";
        let go = "it's \\\"é\\\" \\u003c\\u0026\\u003e \\\\ / \\u0001\u{7f}\\t😀\\u2028";
        for encoded in [&serde[1..serde.len() - 1], &every, &upper, python, go] {
            assert_eq!(view_of(View::Escaped, encoded), text, "{encoded}");
        }
    }

    #[test]
    fn shell_and_c_escapes_decode() {
        // bash `printf %q`, bash `$'…'` (octal), C, Rust `{:?}`, `\U`, lone surrogates (WTF-8).
        for (encoded, text) in [
            ("it\\'s\\ a\\ \\$b\\\\c\\\"", "it's a $b\\c\"".as_bytes()),
            (
                "caf\\303\\251\\001\\E[\\a",
                "café\u{1}\u{1b}[\u{7}".as_bytes(),
            ),
            ("\\x41\\x4\\xg\\0", b"A\x04xg\0"),
            (
                "\\u{1f600}\\u{41}\\u{110000}\\U0001F600\\U00110000",
                "😀Au{110000}😀U00110000".as_bytes(),
            ),
            ("\\ud83d\\u0041\\ude00!\\", b"\xed\xa0\xbdA\xed\xb8\x80!\\"),
        ] {
            let (whole, _) = decode(View::Escaped, encoded.as_bytes(), encoded.len());
            for size in 1..=13 {
                assert_eq!(decode(View::Escaped, encoded.as_bytes(), size).0, whole);
            }
            assert_eq!(whole, text, "{encoded}");
        }
    }

    #[test]
    fn every_escape_maps_back_to_all_of_its_bytes() {
        let (bytes, spans) = decode(View::Escaped, b"a\\u00e9\\ud83d\\ude00b", 3);
        assert_eq!(bytes, "aé😀b".as_bytes());
        assert_eq!(
            spans,
            vec![
                (0, 1),
                (1, 7),
                (1, 7),
                (7, 19),
                (7, 19),
                (7, 19),
                (7, 19),
                (19, 20)
            ]
        );
    }

    #[test]
    fn percent_escapes_decode_in_either_case_beside_plain_bytes() {
        assert_eq!(
            view_of(View::Percent, "%41%62c%2f%2F+%zz%4%"),
            "Abc//+%zz%4%"
        );
    }

    #[test]
    fn one_line_break_after_base64_or_hex_is_skipped() {
        // The blank line after `R0g=` keeps its second break: the text ends there.
        assert_eq!(
            view_of(View::Unwrapped, "QUJD\nREVG\r\nR0g=\n\nnext line\r\rx\n"),
            "QUJDREVGR0g=\nnext line\r\rx"
        );
        let (bytes, spans) = decode(View::Unwrapped, b"ab\r\ncd", 1);
        assert_eq!(bytes, b"abcd");
        assert_eq!(spans, vec![(0, 1), (1, 2), (4, 5), (5, 6)]);
    }
}
