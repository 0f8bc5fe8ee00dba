//! Reads the elements of a printed list of a value's characters or bytes: Python's `list()`
//! and `tuple()` of a string or of bytes (`['s', 'e']`, `[115, 101]`), their JSON
//! (`["s", "\u00e9"]`), JavaScript's, Rust's `{:?}`, Java's signed bytes (`[-61, -87]`) and Go's
//! space-separated `[115 101]`, and the separators between elements. Pure; knows nothing of
//! streams.

use super::scan::{self, Scan, Unit};

/// The longest element: a quoted surrogate pair, `"\ud83d\ude00"`.
pub(super) const MAX_ELEMENT: usize = scan::MAX_ESCAPE + 2;

/// The longest separator between two elements: a comma, a line break and indentation, or the
/// padding `console.log` aligns numbers with.
pub(super) const MAX_GAP: usize = 12;

/// Where in `text` a list may start, and where that chance ends: `(skip, until)`, so that no
/// list starts in `text[..skip]`, and past `text[..until]` the next call says. Every list's first
/// element ends with a digit or a quote right before its separator's first byte (a space, a
/// tab or a comma), and starts at most [`MAX_ELEMENT`] bytes before it; eight bytes at a time
/// are skipped while they hold no such pair (the list view walks every byte of its stream with
/// this). Without a pair, the last [`MAX_ELEMENT`] bytes wait for more (or, `at_end`, none).
pub(super) fn next_pair(text: &[u8], at_end: bool) -> (usize, usize) {
    let mut at = 0;
    let mut carry = 0;
    while let Some(word) = text.get(at..at + 8) {
        let Ok(word) = <[u8; 8]>::try_from(word) else {
            break;
        };
        let word = u64::from_le_bytes(word);
        // Quotes and digits are all from `"` to `9`: most words have none.
        let ends = if carry == 0 && between(word, b'"', b'9') == 0 {
            0
        } else {
            between(word, b'0', b'9') | equal(word, b'\'') | equal(word, b'"')
        };
        if ends != 0 || carry != 0 {
            let gaps = equal(word, b' ') | equal(word, b',') | equal(word, b'\t');
            let pairs = ((ends << 8) | carry) & gaps;
            if pairs != 0 {
                let gap = at + pairs.trailing_zeros() as usize / 8;
                return (gap.saturating_sub(MAX_ELEMENT), gap + 1);
            }
        }
        carry = (ends >> 56) & 0x80;
        at += 8;
    }
    let from = at.max(1);
    for gap in from..text.len() {
        if may_gap_first(text[gap]) && ends_element(text[gap - 1]) {
            return (gap.saturating_sub(MAX_ELEMENT), gap + 1);
        }
    }
    if at_end {
        (text.len(), text.len())
    } else {
        (text.len().saturating_sub(MAX_ELEMENT), text.len())
    }
}

const ONES: u64 = u64::from_le_bytes([1; 8]);
const LOW7: u64 = ONES * 0x7f;
const HIGHS: u64 = ONES * 0x80;

/// The high bit of each byte of `word` that is `byte`, exactly (7-bit lanes, no carries).
fn equal(word: u64, byte: u8) -> u64 {
    let zero_where_equal = word ^ (ONES * u64::from(byte));
    !(((zero_where_equal & LOW7) + LOW7) | zero_where_equal) & HIGHS
}

/// The high bit of each byte of `word` from `low` to `high` (both from 1 to 126), exactly: the
/// "has a byte between" test of Bit Twiddling Hacks, lane by lane.
fn between(word: u64, low: u8, high: u8) -> u64 {
    let low7 = word & LOW7;
    let below = (ONES * (127 + u64::from(high) + 1)).wrapping_sub(low7);
    let above = low7 + ONES * (127 - (u64::from(low) - 1));
    below & !word & above & HIGHS
}

/// Whether `byte` can end an element: a digit or a quote.
fn ends_element(byte: u8) -> bool {
    byte.is_ascii_digit() || matches!(byte, b'\'' | b'"')
}

/// Whether `byte` can be a separator's first byte.
fn may_gap_first(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b',')
}

/// Whether `byte` may start an element (`after_word`: the byte before it continues a word).
pub(super) fn may_start(byte: u8, after_word: bool) -> bool {
    let class = CLASS[usize::from(byte)];
    class & QUOTE != 0 || (class & NUMBER != 0 && !after_word)
}

/// Whether `byte` may start a separator.
pub(super) fn may_gap(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | b',')
}

/// Whether `byte` continues a word, so a number right after it or before it is part of the
/// word (`v2`, `1.5`, `0x1f`), not an element.
pub(super) fn is_word(byte: u8) -> bool {
    CLASS[usize::from(byte)] & WORD != 0
}

const WORD: u8 = 1;
const NUMBER: u8 = 2;
const QUOTE: u8 = 4;

/// For each byte: whether it continues a word, may start a number, is a quote.
const CLASS: [u8; 256] = {
    let mut table = [0; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        if b.is_ascii_alphanumeric() || b == b'_' || b == b'.' {
            table[byte] |= WORD;
        }
        if b.is_ascii_digit() || b == b'-' {
            table[byte] |= NUMBER;
        }
        if b == b'\'' || b == b'"' {
            table[byte] |= QUOTE;
        }
        byte += 1;
    }
    table
};

/// The element at the start of `text`: a number from -128 to 255 (a byte, signed or not) not
/// inside a word (`after_word`: the byte before it continues one), or one character in single or
/// double quotes, plain or escaped (`'\''`, `"\""`, `'\\'`, `'\x01'`, `"\u00e9"`).
pub(super) fn element(text: &[u8], after_word: bool, at_end: bool) -> Scan<Unit> {
    match text.first() {
        Some(&quote @ (b'\'' | b'"')) => quoted(text, quote, at_end),
        Some(b'-' | b'0'..=b'9') if !after_word => number(text, at_end),
        _ => Scan::No,
    }
}

fn number(text: &[u8], at_end: bool) -> Scan<Unit> {
    let negative = text[0] == b'-';
    let from = usize::from(negative);
    let mut value: i32 = 0;
    let mut digits = 0;
    loop {
        match text.get(from + digits) {
            None if !at_end => return Scan::More,
            Some(&byte) if byte.is_ascii_digit() => {
                if digits == 3 {
                    return Scan::No;
                }
                value = value * 10 + i32::from(byte - b'0');
                digits += 1;
            }
            Some(&byte) if is_word(byte) => return Scan::No,
            _ => break,
        }
    }
    let value = if negative { -value } else { value };
    match (digits, u8::try_from(value), i8::try_from(value)) {
        (0, _, _) => Scan::No,
        (_, Ok(byte), _) => Scan::Yes(Unit::byte(from + digits, u32::from(byte))),
        (_, _, Ok(signed)) => Scan::Yes(Unit::byte(from + digits, u32::from(signed as u8))),
        _ => Scan::No,
    }
}

/// One character between two `quote`s: an escape, or one UTF-8 character (a byte that is not
/// UTF-8 stands for itself).
fn quoted(text: &[u8], quote: u8, at_end: bool) -> Scan<Unit> {
    let Some(&first) = text.get(1) else {
        return if at_end { Scan::No } else { Scan::More };
    };
    let inner = if first == b'\\' {
        match scan::escape(&text[1..], at_end) {
            Scan::Yes(unit) => unit,
            Scan::More => return Scan::More,
            Scan::No => return Scan::No,
        }
    } else if first == quote || first == b'\n' {
        return Scan::No;
    } else {
        let len = match first {
            0xc2..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf4 => 4,
            _ => 1,
        };
        let Some(character) = text.get(1..1 + len) else {
            return if at_end { Scan::No } else { Scan::More };
        };
        let len = match std::str::from_utf8(character) {
            Ok(_) => len,
            Err(_) => 1,
        };
        let mut bytes = [0; 4];
        bytes[..len].copy_from_slice(&text[1..1 + len]);
        Unit {
            consumed: len,
            bytes,
            len,
        }
    };
    match text.get(1 + inner.consumed) {
        None if !at_end => Scan::More,
        Some(&byte) if byte == quote => Scan::Yes(Unit {
            consumed: inner.consumed + 2,
            ..inner
        }),
        _ => Scan::No,
    }
}

/// A separator at the start of `text` followed by an element: the separator's length and the
/// element. A separator is whitespace and at most one comma, at least one byte and at most
/// [`MAX_GAP`], starting with a space, a tab or the comma; a line break only after the comma
/// (`pprint` and `console.log` wrap after one), so numbers one a line (`seq`) are not a list.
pub(super) fn gap_then_element(text: &[u8], at_end: bool) -> Scan<(usize, Unit)> {
    let mut at = 0;
    let mut comma = false;
    loop {
        match text.get(at) {
            None if !at_end => return Scan::More,
            Some(b' ' | b'\t') if at < MAX_GAP => at += 1,
            Some(b'\n' | b'\r') if comma && at < MAX_GAP => at += 1,
            Some(b',') if !comma && at < MAX_GAP => {
                comma = true;
                at += 1;
            }
            _ => break,
        }
    }
    if at == 0 {
        return Scan::No;
    }
    match element(&text[at..], false, at_end) {
        Scan::Yes(unit) => Scan::Yes((at, unit)),
        Scan::More => Scan::More,
        Scan::No => Scan::No,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn one(text: &str) -> Option<(usize, Vec<u8>)> {
        match element(text.as_bytes(), false, true) {
            Scan::Yes(unit) => Some((unit.consumed, unit.bytes[..unit.len].to_vec())),
            _ => None,
        }
    }

    #[test]
    fn elements_of_every_language_decode() {
        assert_eq!(one("115,"), Some((3, b"s".to_vec())));
        assert_eq!(one("0]"), Some((1, b"\0".to_vec())));
        assert_eq!(one("-61, "), Some((3, b"\xc3".to_vec())));
        assert_eq!(one("'s'"), Some((3, b"s".to_vec())));
        assert_eq!(one("\"'\""), Some((3, b"'".to_vec())));
        assert_eq!(one("'\\''"), Some((4, b"'".to_vec())));
        assert_eq!(one("'\\\\'"), Some((4, b"\\".to_vec())));
        assert_eq!(one("'\\x01'"), Some((6, b"\x01".to_vec())));
        assert_eq!(one("\"\\u00e9\""), Some((8, "é".as_bytes().to_vec())));
        assert_eq!(one("'é'"), Some((4, "é".as_bytes().to_vec())));
        assert_eq!(
            one("\"\\ud83d\\ude00\""),
            Some((14, "😀".as_bytes().to_vec()))
        );
    }

    #[test]
    fn numbers_in_words_and_other_numbers_are_not_elements() {
        for text in [
            "256", "-129", "1.5", "0x1f", "1000", "12ab", "''", "'ab'", "'", "-",
        ] {
            assert_eq!(one(text), None, "{text}");
        }
        assert!(matches!(element(b"12", true, true), Scan::No));
        // More bytes could still make it another number.
        assert!(matches!(element(b"12", false, false), Scan::More));
    }

    #[test]
    fn the_fast_scan_finds_each_element_before_a_separator() {
        let text = b"plain words; no digits here at all (none) then x2, v1.5 and 'q' or 7-1 '9,'";
        let mut found = Vec::new();
        let mut at = 0;
        while at < text.len() {
            let (skip, until) = next_pair(&text[at..], true);
            if until > skip && at + until <= text.len() {
                found.push(at + until - 1);
            }
            at += until.max(1);
        }
        let slow: Vec<usize> = (1..text.len())
            .filter(|&gap| may_gap_first(text[gap]) && ends_element(text[gap - 1]))
            .collect();
        assert_eq!(found, slow);
        for byte in 0..=255u8 {
            let word = u64::from_le_bytes([b'a', b'b', byte, b'c', b'd', 0xff, b'f', b'g']);
            let lane = 0x80 << 16;
            assert_eq!(
                between(word, b'"', b'9') & lane != 0,
                (b'"'..=b'9').contains(&byte)
            );
            assert_eq!(equal(word, b',') & lane != 0, byte == b',', "{byte}");
        }
    }

    #[test]
    fn separators_are_whitespace_and_one_comma() {
        let gap = |text: &str| match gap_then_element(text.as_bytes(), true) {
            Scan::Yes((gap, _)) => Some(gap),
            _ => None,
        };
        assert_eq!(gap(", 'a'"), Some(2));
        assert_eq!(gap(",\n  116"), Some(4));
        assert_eq!(gap(" 1"), Some(1));
        assert_eq!(gap(",1"), Some(1));
        assert_eq!(gap(",, 1"), None);
        assert_eq!(gap("\n1"), None);
        assert_eq!(gap(" \n 1"), None);
        assert_eq!(gap("1"), None);
        assert_eq!(gap(&format!(",{}1", " ".repeat(MAX_GAP))), None);
    }
}
