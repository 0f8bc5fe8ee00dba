//! The decoded views of a stream that the redactor matches on besides its raw bytes: line breaks
//! inside base64/hex text skipped, backslash escapes decoded, `%XX` decoded, character references
//! decoded, quoted-printable decoded, separators between hex digits skipped, dump lines read
//! back to bytes (in either byte order), printed lists of characters or bytes read back. Each
//! view is decoded incrementally, whatever the chunking, and remembers which raw bytes each of
//! its bytes came from, so a match maps back to the whole original span. Decodes, searches and
//! maps; does not choose patterns or emit output.

mod dump;
mod list;
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
    /// Hex text with separators dropped: a separator between two hex digits skipped (`de:ad`,
    /// `de ad`, `0xde, 0xad`, `\xde\xad`, `od -An -tx1`'s lines); its patterns are the hex of
    /// each secret, matched in any case.
    Hex,
    /// Dump lines read back to the bytes they show, one line at a time: hex groups as written
    /// (`xxd`, `hexdump -C`, `od -tx1`) and character fields (`od -c`, `od -a`, `hexdump -c`),
    /// without their offset and text columns, so a dump of a secret across lines reads as the
    /// secret. Other lines are copied.
    Dump,
    /// As [`View::Dump`], hex groups of 2 to 8 bytes read little-endian: `od -x`, `hexdump`,
    /// `xxd -e`, `od -tx4`.
    DumpSwapped,
    /// Printed lists of characters or bytes read back: two or more elements (a byte's number,
    /// or one quoted character, plain or escaped) separated by whitespace and a comma, as
    /// Python's `list()`, JSON, JavaScript, Rust, Java and Go print them.
    List,
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
            // A dump line shows at least one byte.
            View::Dump | View::DumpSwapped => dump::MAX_LINE + 2,
            View::List => list::MAX_ELEMENT + list::MAX_GAP,
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
            // A line not yet ended.
            View::Dump | View::DumpSwapped => dump::MAX_LINE + 1,
            // An element, the separator after it and the element that makes it a list.
            View::List => 2 * list::MAX_ELEMENT + list::MAX_GAP,
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
    /// a hex digit; for `QuotedPrintable`, whether the last thing decoded was a soft break; for
    /// `List`, whether the last byte continues a word.
    after_alphabet: bool,
    /// For the dump views: whether the next byte starts a line. For `List`: whether the last
    /// thing decoded was an element of a list (the next separator and element continue it).
    boundary: bool,
    /// Scratch space: a dump line's groups.
    pieces: Vec<dump::Piece>,
    /// For `Dump`: whether the last advance, from stream offset `started`, read a line that
    /// the little-endian view reads too (hex groups of two or more bytes); without one, that
    /// view has only lines to copy.
    read_wide: bool,
    started: u64,
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
            boundary: matches!(view, View::Dump | View::DumpSwapped),
            pieces: Vec::new(),
            read_wide: false,
            started: 0,
            bytes: Vec::new(),
            first: 0,
            runs: Vec::new(),
            ranges: Vec::new(),
        }
    }

    /// For `DumpSwapped`, right after `Dump` (`lines`) advanced over the same bytes: when it
    /// read no line this view reads too, this view would only copy up to where it stopped, so
    /// it copies without reading the lines again, and stops there too.
    pub(crate) fn follow(&mut self, lines: &Window, pending: &[u8], base: u64) {
        if self.view != View::DumpSwapped || lines.view != View::Dump || lines.read_wide {
            return;
        }
        if self.cursor != lines.started || lines.cursor <= self.cursor {
            return;
        }
        let (from, to) = (offset(self.cursor, base), offset(lines.cursor, base));
        self.push_copy(self.cursor, &pending[from..to]);
        self.cursor = lines.cursor;
        self.boundary = lines.boundary;
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
        self.read_wide = false;
        self.started = self.cursor;
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
    /// a match holds a seam (a decoded escape, or skipped bytes between two copies: a line
    /// break, a hex separator) and lies within `longest − 1` bytes of it; in the unwrapped and
    /// hex views, whose patterns are all of one alphabet, within the run of its characters
    /// around the seam (searched whole), which must be as long as the shortest pattern. Only
    /// those stretches are searched: elsewhere a view is a copy of the raw bytes, and the raw
    /// view (which holds every pattern of every view, in any case) finds what is there.
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
        // Unwrapped and Hex, whose patterns are all of one alphabet (base64 or hex characters,
        // hex digits): where the last run of such characters taken ends. Each byte is walked at
        // most once per search, however many seams the run holds.
        let stretched = matches!(self.view, View::Unwrapped | View::Hex);
        let alphabet = |byte: u8| {
            if self.view == View::Hex {
                byte.is_ascii_hexdigit()
            } else {
                is_alphabet(byte)
            }
        };
        let mut alphabet_end = 0;
        for (index, run) in self.runs.iter().enumerate() {
            let start = usize::try_from(run.view.saturating_sub(self.first)).unwrap_or(len);
            let end =
                usize::try_from((run.view + run.len).saturating_sub(self.first)).unwrap_or(len);
            let range = if !run.copy {
                (start.saturating_sub(reach), (end + reach).min(len))
            } else if index > 0 && self.runs[index - 1].copy {
                if !stretched {
                    (start.saturating_sub(reach), (start + reach).min(len))
                } else if start < alphabet_end {
                    // Inside the run of characters already taken.
                    continue;
                } else {
                    let mut left = start;
                    while left > 0 && alphabet(self.bytes[left - 1]) {
                        left -= 1;
                    }
                    let mut right = start;
                    while right < len && alphabet(self.bytes[right]) {
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
                let pattern = found.pattern().as_usize();
                if found.end() > searched
                    && patterns.counts(pattern, &self.bytes[found.range()], ignore_case)
                {
                    spans.push(Span {
                        start: self.raw_start(found.start()),
                        end: self.raw_end(found.end() - 1),
                        secret: patterns.owner[pattern],
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
        if bytes.is_empty() {
            return;
        }
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
        self.push_unit(raw, unit.consumed, &unit.bytes[..unit.len]);
    }

    /// Pushes `bytes`, decoded from the `consumed` raw bytes at stream offset `raw`.
    fn push_unit(&mut self, raw: u64, consumed: usize, bytes: &[u8]) {
        self.runs.push(Run {
            view: self.first + self.bytes.len() as u64,
            raw,
            len: bytes.len() as u64,
            raw_len: consumed as u64,
            copy: false,
        });
        self.bytes.extend_from_slice(bytes);
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
            View::Dump => self.undump(pending, base, at, at_end, false),
            View::DumpSwapped => self.undump(pending, base, at, at_end, true),
            View::List => self.unlist(pending, base, at, at_end),
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

    /// `Hex`: copies up to a byte that may start a separator right after a hex digit, and
    /// skips the separator when a hex digit follows it.
    fn unhex(&mut self, pending: &[u8], base: u64, mut at: usize, at_end: bool) -> usize {
        while at < pending.len() {
            let rest = &pending[at..];
            let plain = scan::before_separator(rest, self.after_alphabet);
            if plain > 0 {
                self.push_copy(base + at as u64, &rest[..plain]);
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

    /// The dump views: reads each line that may be a dump line whole (up to
    /// [`dump::MAX_LINE`] bytes) and pushes its groups, each standing for its digits (and, with
    /// a text column, the rest of the line); copies every other line.
    fn undump(
        &mut self,
        pending: &[u8],
        base: u64,
        mut at: usize,
        at_end: bool,
        swapped: bool,
    ) -> usize {
        // `pending[plain..at]` is copied as one run before the next group, and at the end.
        let mut plain = at;
        let mut pieces = std::mem::take(&mut self.pieces);
        // Up to where spaces were last looked for.
        let mut looked = at;
        while at < pending.len() {
            let rest = &pending[at..];
            if at >= looked {
                // Every dump line has a space: the lines before the one holding the next space
                // are copied unread (all of base64, whatever its width), looking again at most
                // once every `SPACED` bytes.
                const SPACED: usize = 256;
                let space = memchr::memchr(b' ', rest).unwrap_or(rest.len());
                looked = at + space.max(SPACED);
                if space > SPACED
                    && let Some(newline) = memchr::memrchr(b'\n', &rest[..space])
                {
                    self.boundary = true;
                    at += newline + 1;
                    continue;
                }
            }
            if !self.boundary || !dump::may_start(rest[0]) {
                // On to the next line that may be a dump line.
                match dump::next_line(rest) {
                    Some(start) => {
                        self.boundary = true;
                        at += start;
                    }
                    None => {
                        self.boundary = false;
                        at = pending.len();
                    }
                }
                continue;
            }
            let window = &rest[..rest.len().min(dump::MAX_LINE + 2)];
            // Every dump line has a space: most short lines that start like one end first.
            if window.iter().find(|&&byte| byte == b' ' || byte == b'\n') == Some(&b'\n') {
                self.boundary = false;
                continue;
            }
            let (content, line) = match memchr::memchr(b'\n', window) {
                Some(end) if end > 0 && rest[end - 1] == b'\r' => (end - 1, end + 1),
                Some(end) => (end, end + 1),
                // Too long, or unfinished and already not a dump line: text.
                None if window.len() > dump::MAX_LINE || !(at_end || dump::may_be(window)) => {
                    (dump::MAX_LINE + 1, 0)
                }
                None if !at_end => break,
                None => (rest.len(), rest.len()),
            };
            let parsed = (content <= dump::MAX_LINE)
                .then(|| dump::parse(&rest[..content], swapped, &mut pieces))
                .flatten();
            if let Some(both) = parsed {
                self.read_wide |= both;
                self.push_copy(base + plain as u64, &pending[plain..at]);
                for piece in &pieces {
                    let raw = base + (at + piece.start) as u64;
                    self.push_unit(raw, piece.end - piece.start, &piece.bytes[..piece.len]);
                }
                at += line;
                plain = at;
            } else {
                self.boundary = false;
            }
        }
        self.push_copy(base + plain as u64, &pending[plain..at]);
        self.pieces = pieces;
        at
    }

    /// `List`: copies up to each byte that may start an element, and decodes elements that
    /// make a list of two or more, skipping the separators between them.
    fn unlist(&mut self, pending: &[u8], base: u64, mut at: usize, at_end: bool) -> usize {
        // `pending[plain..at]` is copied as one run before the next element, and at the end;
        // before `slow_until`, each byte is looked at.
        let mut plain = at;
        let mut slow_until = at;
        while at < pending.len() {
            let rest = &pending[at..];
            if self.boundary {
                match list::gap_then_element(rest, at_end) {
                    Scan::More => break,
                    Scan::Yes((gap, unit)) => {
                        self.push_escape(base + (at + gap) as u64, &unit);
                        at += gap + unit.consumed;
                        plain = at;
                        self.after_alphabet = list::is_word(pending[at - 1]);
                    }
                    Scan::No => self.boundary = false,
                }
                continue;
            }
            if at >= slow_until {
                let (skip, until) = list::next_pair(rest, at_end);
                slow_until = at + until;
                if skip > 0 {
                    at += skip;
                    self.after_alphabet = list::is_word(pending[at - 1]);
                    continue;
                }
            }
            if !list::may_start(rest[0], self.after_alphabet) {
                self.after_alphabet = list::is_word(rest[0]);
                at += 1;
                continue;
            }
            let first = match list::element(rest, self.after_alphabet, at_end) {
                Scan::More => break,
                Scan::No => None,
                // Most numbers and quotes are not followed by a separator: no second look.
                Scan::Yes(unit) if rest.get(unit.consumed).is_some_and(|&b| !list::may_gap(b)) => {
                    None
                }
                Scan::Yes(unit) => match list::gap_then_element(&rest[unit.consumed..], at_end) {
                    Scan::More => break,
                    Scan::No => None,
                    Scan::Yes(_) => Some(unit),
                },
            };
            match first {
                Some(unit) => {
                    self.push_copy(base + plain as u64, &pending[plain..at]);
                    self.push_escape(base + at as u64, &unit);
                    at += unit.consumed;
                    plain = at;
                    self.boundary = true;
                }
                // Not an element of a list: the byte stays, and what follows it is read again.
                None => at += 1,
            }
            self.after_alphabet = list::is_word(pending[at - 1]);
        }
        self.push_copy(base + plain as u64, &pending[plain..at]);
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

#[cfg(test)]
mod tests;
