//! Reads one encoded construct at the start of a stretch of bytes (a backslash escape, a
//! `%XX`, a character reference, a quoted-printable `=XX` or soft break, a hex separator),
//! saying whether more bytes could change the answer. Pure; knows nothing of streams.

/// The longest escape: a surrogate pair, `\ud83d\ude00`.
pub(super) const MAX_ESCAPE: usize = 12;

/// The longest character reference, `&#x0010FFFF;`: leading zeros count against it.
pub(super) const MAX_REFERENCE: usize = 12;

/// The longest separator between two hex digits: punctuation, three whitespace bytes and a
/// `0x` or `\x` prefix (`, 0x`, `\r\n 0x`).
pub(super) const MAX_SEPARATOR: usize = 6;

/// The outcome of reading a construct from the bytes seen so far.
pub(super) enum Scan<T> {
    /// More bytes could still change the outcome.
    More,
    /// It is not there.
    No,
    Yes(T),
}

/// One decoded escape: how many raw bytes it took and the (at most four) bytes it stands for.
pub(super) struct Unit {
    pub(super) consumed: usize,
    pub(super) bytes: [u8; 4],
    pub(super) len: usize,
}

impl Unit {
    pub(super) fn byte(consumed: usize, byte: u32) -> Self {
        Self {
            consumed,
            bytes: [(byte & 0xff) as u8, 0, 0, 0],
            len: 1,
        }
    }

    /// Code point `point` in UTF-8; a lone surrogate gets the same three-byte form (WTF-8),
    /// which no UTF-8 secret contains.
    pub(super) fn point(consumed: usize, point: u32) -> Self {
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
pub(super) fn escape(text: &[u8], at_end: bool) -> Scan<Unit> {
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
pub(super) fn fixed_hex(text: &[u8], from: usize, count: usize, at_end: bool) -> Scan<u32> {
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

/// The named references of the characters that have one in XML (HTML's for them are the same).
const NAMED: [(&[u8], u8); 5] = [
    (b"&amp;", b'&'),
    (b"&lt;", b'<'),
    (b"&gt;", b'>'),
    (b"&quot;", b'"'),
    (b"&apos;", b'\''),
];

/// The character reference at the start of `text` (a `&`): `&#DDD;` or `&#xHHH;` (`x` or
/// `X`, digits in either case, leading zeros allowed, at most [`MAX_REFERENCE`] bytes in all,
/// naming a character), or one of [`NAMED`].
pub(super) fn reference(text: &[u8], at_end: bool) -> Scan<Unit> {
    for (name, byte) in NAMED {
        let seen = name.len().min(text.len());
        if text[..seen] == name[..seen] {
            if seen == name.len() {
                return Scan::Yes(Unit::byte(name.len(), u32::from(byte)));
            }
            return if at_end { Scan::No } else { Scan::More };
        }
    }
    match text.get(1) {
        None if !at_end => return Scan::More,
        Some(b'#') => {}
        _ => return Scan::No,
    }
    let (radix, from) = match text.get(2) {
        None if !at_end => return Scan::More,
        None => return Scan::No,
        Some(b'x' | b'X') => (16, 3),
        Some(_) => (10, 2),
    };
    let mut value: u32 = 0;
    for at in from..MAX_REFERENCE {
        match text.get(at) {
            None if at_end => return Scan::No,
            None => return Scan::More,
            Some(b';') if at > from => {
                return match char::from_u32(value) {
                    Some(_) => Scan::Yes(Unit::point(at + 1, value)),
                    None => Scan::No,
                };
            }
            Some(&byte) => match char::from(byte).to_digit(radix) {
                Some(digit) => value = value.saturating_mul(radix).saturating_add(digit),
                None => return Scan::No,
            },
        }
    }
    Scan::No
}

/// What a quoted-printable `=` starts.
pub(super) enum Printable {
    /// `=XX`: that byte.
    Byte(u8),
    /// A soft line break (`=` and LF or CRLF) of this many bytes: nothing.
    SoftBreak(usize),
}

/// The quoted-printable construct at the start of `text` (a `=`): `=XX` in either case, or a
/// soft line break.
pub(super) fn quoted_printable(text: &[u8], at_end: bool) -> Scan<Printable> {
    match (text.get(1), text.get(2)) {
        (Some(b'\n'), _) => Scan::Yes(Printable::SoftBreak(2)),
        (Some(b'\r'), Some(b'\n')) => Scan::Yes(Printable::SoftBreak(3)),
        (Some(b'\r'), None) if !at_end => Scan::More,
        (Some(b'\r'), _) => Scan::No,
        _ => match fixed_hex(text, 1, 2, at_end) {
            Scan::Yes(byte) => Scan::Yes(Printable::Byte((byte & 0xff) as u8)),
            Scan::More => Scan::More,
            Scan::No => Scan::No,
        },
    }
}

/// How many bytes of `text` come before the first that may start a separator right after a
/// hex digit (`after_digit`: the byte before `text` is one): the hex view walks every byte of
/// its stream with this, so it reads one table per byte.
pub(super) fn before_separator(text: &[u8], after_digit: bool) -> usize {
    let mut after = after_digit;
    for (index, &byte) in text.iter().enumerate() {
        let class = CLASS[usize::from(byte)];
        if after && class & STARTS_SEPARATOR != 0 {
            return index;
        }
        after = class & HEX_DIGIT != 0;
    }
    text.len()
}

const HEX_DIGIT: u8 = 1;
const STARTS_SEPARATOR: u8 = 2;

/// For each byte, whether it is a hex digit and whether it may start a separator between two.
const CLASS: [u8; 256] = {
    let mut table = [0; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        if b.is_ascii_hexdigit() {
            table[byte] |= HEX_DIGIT;
        }
        if matches!(
            b,
            b':' | b',' | b'-' | b'.' | b';' | b' ' | b'\t' | b'\r' | b'\n' | b'\\'
        ) {
            table[byte] |= STARTS_SEPARATOR;
        }
        byte += 1;
    }
    table
};

/// The separator between two hex digits at the start of `text` (which follows a hex digit):
/// one of `: , - . ;`, then up to three spaces, tabs or line breaks, then a `0x` or `\x`
/// prefix (either case), at least one of them, and a hex digit right after. Its length.
pub(super) fn separator(text: &[u8], at_end: bool) -> Scan<usize> {
    let mut at = usize::from(matches!(
        text.first(),
        Some(b':' | b',' | b'-' | b'.' | b';')
    ));
    for _ in 0..3 {
        match text.get(at) {
            None if !at_end => return Scan::More,
            Some(b' ' | b'\t' | b'\r' | b'\n') => at += 1,
            _ => break,
        }
    }
    let prefixed = match (text.get(at), text.get(at + 1)) {
        (Some(b'0' | b'\\'), None) if !at_end => return Scan::More,
        (Some(b'0' | b'\\'), Some(b'x' | b'X')) => true,
        _ => false,
    };
    let hex_at = |index: usize| text.get(index).map(|&byte| byte.is_ascii_hexdigit());
    if prefixed {
        match hex_at(at + 2) {
            None if !at_end => return Scan::More,
            Some(true) => return Scan::Yes(at + 2),
            _ => {}
        }
    }
    match hex_at(at) {
        _ if at == 0 => Scan::No,
        None if !at_end => Scan::More,
        Some(true) => Scan::Yes(at),
        _ => Scan::No,
    }
}
