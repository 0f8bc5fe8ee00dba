//! Reads one line of a dump (`od`, `hexdump`, `xxd`): its offset column, the values it shows
//! (hex groups of one to eight bytes, in either byte order, or `od -c`/`od -a` character
//! fields) and a trailing text column, and decodes the values back to bytes, each group with
//! where it sits in the line. Pure; knows nothing of streams, and decides nothing beyond one
//! line.

/// The longest line read as a dump line (without its line break): `od -c -w32` writes 135
/// bytes. Longer lines are text.
pub(super) const MAX_LINE: usize = 136;

/// The longest hex group, in digits: `od -tx8`'s eight bytes.
const MAX_GROUP: usize = 16;

/// One group of a dump line: the line's bytes `start..end` stand for `bytes[..len]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Piece {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) bytes: [u8; 8],
    pub(super) len: usize,
}

/// Whether a line starting with `byte` may be a dump line: every dump line starts with an
/// offset, a hex group or a field's padding.
pub(super) fn may_start(byte: u8) -> bool {
    byte == b' ' || byte.is_ascii_hexdigit()
}

/// Where the next line that may be a dump line starts in `text` (after a line break, and the
/// end of `text` counts: more may follow). The dump views walk every byte of their stream with
/// this: eight bytes at a time, each looked at only when one is a line break (lines can be
/// short, and calling out to find each break costs more than looking at its bytes).
pub(super) fn next_line(text: &[u8]) -> Option<usize> {
    let mut at = 0;
    while at < text.len() {
        let end = text.len().min(at + 8);
        if let Ok(word) = <[u8; 8]>::try_from(&text[at..end])
            && !has_byte(u64::from_le_bytes(word), b'\n')
        {
            at = end;
            continue;
        }
        for index in at..end {
            if text[index] == b'\n'
                && text
                    .get(index + 1)
                    .is_none_or(|&next| STARTS[usize::from(next)])
            {
                return Some(index + 1);
            }
        }
        at = end;
    }
    None
}

/// Whether any of the eight bytes of `word` is `byte`.
pub(super) fn has_byte(word: u64, byte: u8) -> bool {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    let zeroed = word ^ (ONES * u64::from(byte));
    zeroed.wrapping_sub(ONES) & !zeroed & HIGHS != 0
}

/// [`may_start`] as a table.
const STARTS: [bool; 256] = {
    let mut table = [false; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = byte == b' ' as usize || (byte as u8).is_ascii_hexdigit();
        byte += 1;
    }
    table
};

/// Parses `line` (without its line break) as a dump line into `pieces`. `swapped`: only hex
/// groups of two or more bytes, each read little-endian (`od -x`, `hexdump`, `xxd -e`);
/// otherwise hex groups as written (`xxd`, `hexdump -C`, `od -tx1`) or character fields.
/// When a text column follows the groups, every piece ends at the end of the line, so a match
/// that ends on this line also covers the characters the column shows of it. `Some(true)`: a
/// line that the little-endian reading takes too.
pub(super) fn parse(line: &[u8], swapped: bool, pieces: &mut Vec<Piece>) -> Option<bool> {
    pieces.clear();
    if let Some(both) = hex_line(line, swapped, pieces) {
        return Some(both);
    }
    pieces.clear();
    (!swapped && char_line(line, pieces)).then_some(false)
}

/// Whether `prefix`, the start of a line whose end has not come yet, may still be a dump line:
/// its first token so far is hex digits (with a `:` after them), or its fields so far are
/// character fields. Most text that starts like a dump line (`  Enter a value: `) is ruled
/// out here, so a prompt is not held back until its line ends.
pub(super) fn may_be(prefix: &[u8]) -> bool {
    let lead = spaces_end(prefix, 0);
    let end = token_end(prefix, lead);
    let token = &prefix[lead..end];
    let digits = token.strip_suffix(b":").unwrap_or(token);
    if digits.iter().all(u8::is_ascii_hexdigit) {
        return true;
    }
    let at = if prefix.first() == Some(&b' ') {
        0
    } else {
        prefix
            .iter()
            .take_while(|byte| byte.is_ascii_hexdigit())
            .count()
    };
    prefix[at..]
        .chunks_exact(4)
        .all(|field| field_byte(field).is_some())
        && (at == 0 || prefix.get(at).is_none_or(|&byte| byte == b' '))
}

/// The token (a run of bytes other than a space) starting at `at`: its end.
fn token_end(line: &[u8], at: usize) -> usize {
    at + line[at..].iter().take_while(|&&byte| byte != b' ').count()
}

/// Spaces from `at`: their end.
fn spaces_end(line: &[u8], at: usize) -> usize {
    at + line[at..].iter().take_while(|&&byte| byte == b' ').count()
}

fn is_hex(token: &[u8]) -> bool {
    !token.is_empty() && token.iter().all(u8::is_ascii_hexdigit)
}

/// A hex group: an even number of digits, one to eight bytes.
fn is_group(token: &[u8]) -> bool {
    is_hex(token) && token.len().is_multiple_of(2) && token.len() <= MAX_GROUP
}

/// `[spaces] [offset] group (gap group)* [text column]`. The offset is a first token ending in
/// `:` (`xxd`), or, at the very start of the line, hex digits of another width than the group
/// after them (`od`'s 7 octal digits, `hexdump -C`'s 8 before single bytes). Groups have one
/// width and one gap (1 to 4 spaces); `hexdump -C` doubles it once after eight bytes, and the
/// last group may be narrower (`xxd` right-aligns its last little-endian group). What follows is
/// the text column. A line needs an offset, leading spaces or two groups, so a text line that
/// merely starts with a hex word (`be careful`) is not one.
fn hex_line(line: &[u8], swapped: bool, pieces: &mut Vec<Piece>) -> Option<bool> {
    let lead = spaces_end(line, 0);
    if lead == line.len() {
        return None;
    }
    let first_end = token_end(line, lead);
    let first = &line[lead..first_end];
    let next_start = spaces_end(line, first_end);
    let next = &line[next_start..token_end(line, next_start)];
    let offset = match first.split_last() {
        Some((&b':', digits)) => is_hex(digits) && digits.len() <= MAX_GROUP,
        _ => {
            lead == 0
                && is_hex(first)
                && (4..=MAX_GROUP).contains(&first.len())
                && is_group(next)
                && next.len() != first.len()
        }
    };
    if first.ends_with(b":") && !offset {
        return None;
    }
    let mut at = if offset { next_start } else { lead };
    let mut width = 0;
    let mut gap = 0;
    let mut doubled = false;
    let mut tail = false;
    loop {
        let end = token_end(line, at);
        let token = &line[at..end];
        let count = pieces.len();
        if count == 0 {
            if !is_group(token) {
                return None;
            }
            width = token.len();
        } else {
            let space = at - pieces[count - 1].end;
            // The usual gap: after one group, any of 1 to 4 spaces; then the first one's.
            let usual = |space: usize| {
                if count == 1 {
                    (1..=4).contains(&space)
                } else {
                    space == gap
                }
            };
            if !is_group(token) || token.len() > width {
                tail = true;
                break;
            }
            if token.len() < width {
                // The last group, narrower: left-aligned after the usual gap, or right-aligned.
                if usual(space) || space.checked_sub(width - token.len()).is_some_and(usual) {
                    push_group(line, at, end, swapped, pieces);
                    tail = spaces_end(line, end) < line.len();
                } else {
                    tail = true;
                }
                break;
            }
            let hexdump_middle = width == 2 && gap == 1 && space == 2 && count == 8 && !doubled;
            if !(usual(space) || hexdump_middle) {
                tail = true;
                break;
            }
            doubled |= hexdump_middle;
            if count == 1 {
                gap = space;
            }
        }
        push_group(line, at, end, swapped, pieces);
        at = spaces_end(line, end);
        if at == line.len() {
            break;
        }
    }
    if pieces.is_empty() || !(offset || lead > 0 || pieces.len() >= 2) {
        return None;
    }
    // The little-endian reading leaves single bytes (the same in either order) to the other,
    // but for `xxd -e`'s last line of one byte, right-aligned in a wider group's place.
    let aligned = offset && pieces.len() == 1 && pieces[0].start - first_end >= 3;
    let both = width > 2 || (aligned && first.ends_with(b":"));
    if swapped && !both {
        return None;
    }
    if tail {
        for piece in pieces.iter_mut() {
            piece.end = line.len();
        }
    }
    Some(both)
}

/// Decodes the hex group `line[start..end]` (an even number of digits) into a piece.
fn push_group(line: &[u8], start: usize, end: usize, swapped: bool, pieces: &mut Vec<Piece>) {
    let mut bytes = [0; 8];
    let len = (end - start) / 2;
    for (index, pair) in line[start..end].chunks_exact(2).enumerate() {
        let digit = |byte: u8| char::from(byte).to_digit(16).unwrap_or(0) as u8;
        bytes[index] = digit(pair[0]) << 4 | digit(pair[1]);
    }
    if swapped {
        bytes[..len].reverse();
    }
    pieces.push(Piece {
        start,
        end,
        bytes,
        len,
    });
}

/// The named characters of `od -a`, by value (0 to 32, then 127).
const NAMES: [&[u8]; 33] = [
    b"nul", b"soh", b"stx", b"etx", b"eot", b"enq", b"ack", b"bel", b"bs", b"ht", b"nl", b"vt",
    b"ff", b"cr", b"so", b"si", b"dle", b"dc1", b"dc2", b"dc3", b"dc4", b"nak", b"syn", b"etb",
    b"can", b"em", b"sub", b"esc", b"fs", b"gs", b"rs", b"us", b"sp",
];

/// `[offset] field*`: `od -c`, `od -a` and `hexdump -c` lines, fields four columns wide and
/// right-aligned: a printable character, a space as four spaces, a C escape (`\n`, `\0`), three
/// octal digits (`303`), or an `od -a` name (`nl`, `sp`, `del`).
fn char_line(line: &[u8], pieces: &mut Vec<Piece>) -> bool {
    let mut at = 0;
    if line.first() != Some(&b' ') {
        at = line
            .iter()
            .take_while(|byte| byte.is_ascii_hexdigit())
            .count();
        if at == 0 || at > MAX_GROUP || line.get(at) != Some(&b' ') {
            return false;
        }
    }
    if at == line.len() || !(line.len() - at).is_multiple_of(4) {
        return false;
    }
    for (index, field) in line[at..].chunks_exact(4).enumerate() {
        let Some(byte) = field_byte(field) else {
            return false;
        };
        let start = at + 4 * index;
        pieces.push(Piece {
            start,
            end: start + 4,
            bytes: [byte, 0, 0, 0, 0, 0, 0, 0],
            len: 1,
        });
    }
    true
}

/// The byte one four-column character field stands for.
fn field_byte(field: &[u8]) -> Option<u8> {
    let name = &field[field.iter().take_while(|&&byte| byte == b' ').count()..];
    match name {
        [] => Some(b' '),
        [byte] if byte.is_ascii_graphic() => Some(*byte),
        [b'\\', letter] => Some(match letter {
            b'0' => 0,
            b'a' => 0x07,
            b'b' => 0x08,
            b't' => b'\t',
            b'n' => b'\n',
            b'v' => 0x0b,
            b'f' => 0x0c,
            b'r' => b'\r',
            _ => return None,
        }),
        [high @ b'0'..=b'3', middle @ b'0'..=b'7', low @ b'0'..=b'7'] if field[0] == b' ' => {
            Some((high - b'0') << 6 | (middle - b'0') << 3 | (low - b'0'))
        }
        b"del" => Some(0x7f),
        _ => NAMES
            .iter()
            .position(|known| *known == name)
            .and_then(|value| u8::try_from(value).ok()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    /// The bytes a line decodes to, or `None` when it is not a dump line.
    fn decoded(line: &str, swapped: bool) -> Option<Vec<u8>> {
        let mut pieces = Vec::new();
        parse(line.as_bytes(), swapped, &mut pieces).map(|_| {
            pieces
                .iter()
                .flat_map(|piece| piece.bytes[..piece.len].to_vec())
                .collect()
        })
    }

    #[test]
    fn hex_dump_lines_of_every_tool_decode_without_offsets_or_text() {
        let line = b"it's a \"long\" $s".to_vec();
        for text in [
            "0000000 69 74 27 73 20 61 20 22 6c 6f 6e 67 22 20 24 73",
            " 69 74 27 73 20 61 20 22 6c 6f 6e 67 22 20 24 73",
            "00000000  69 74 27 73 20 61 20 22  6c 6f 6e 67 22 20 24 73  |it's a \"long\" $s|",
            "00000000: 6974 2773 2061 2022 6c6f 6e67 2220 2473  it's a \"long\" $s",
            "00000000: 69 74 27 73 20 61 20 22 6c 6f 6e 67 22 20 24 73  it's a \"long\" $s",
            "00000000: 69742773 20612022 6c6f6e67 22202473  it's a \"long\" $s",
        ] {
            assert_eq!(decoded(text, false), Some(line.clone()), "{text}");
        }
        for text in [
            "0000000 7469 7327 6120 2220 6f6c 676e 2022 7324",
            "0000000    7469    7327    6120    2220    6f6c    676e    2022    7324",
            "00000000: 73277469 22206120 676e6f6c 73242022  it's a \"long\" $s",
            " 73277469 22206120 676e6f6c 73242022",
            "0000000 2220612073277469 73242022676e6f6c",
        ] {
            assert_eq!(decoded(text, true), Some(line.clone()), "{text}");
        }
        // Last lines: `xxd` with an odd byte, `xxd -e` right-aligned, `hexdump` padded.
        assert_eq!(
            decoded(
                "00000050: 4849 4a4b 4c                                HIJKL",
                false
            ),
            Some(b"HIJKL".to_vec())
        );
        assert_eq!(
            decoded(
                "00000050: 4b4a4948     4d4c                    HIJKLM",
                true
            ),
            Some(b"HIJKLM".to_vec())
        );
        assert_eq!(
            decoded("00000050:       0a                             .", true),
            Some(b"\n".to_vec())
        );
        assert_eq!(
            decoded("0000050 4948 4b4a 4d4c                         ", true),
            Some(b"HIJKLM".to_vec())
        );
    }

    #[test]
    fn a_text_column_extends_every_group_to_the_end_of_the_line() {
        let mut pieces = Vec::new();
        assert_eq!(
            parse(b"00000000: 6162 63  abc", false, &mut pieces),
            Some(true)
        );
        let spans: Vec<_> = pieces
            .iter()
            .map(|piece| (piece.start, piece.end))
            .collect();
        assert_eq!(spans, vec![(10, 22), (15, 22)]);
        assert_eq!(parse(b"0000000 6162 6364", false, &mut pieces), Some(true));
        let spans: Vec<_> = pieces
            .iter()
            .map(|piece| (piece.start, piece.end))
            .collect();
        assert_eq!(spans, vec![(8, 12), (13, 17)]);
    }

    #[test]
    fn character_dump_lines_decode() {
        assert_eq!(
            decoded("0000040 303 251   -   0  \\n  \\0       \\", false),
            Some(b"\xc3\xa9-0\n\0 \\".to_vec())
        );
        assert_eq!(decoded("   i   t   '   s", false), Some(b"it's".to_vec()));
        assert_eq!(
            decoded("0000000   i   t  sp  nl nul del", false),
            Some(b"it \n\0\x7f".to_vec())
        );
        // Character fields are not little-endian hex.
        assert_eq!(decoded("   i   t   '   s", true), None);
    }

    #[test]
    fn the_next_line_that_may_be_a_dump_line_is_found_past_others() {
        let text = b"first line of text\nsecond\n  third\nxyz\n";
        assert_eq!(next_line(text), Some(26));
        assert_eq!(next_line(&text[27..]), Some(text.len() - 27));
        assert_eq!(next_line(b"no break at all, however long it is"), None);
        assert_eq!(next_line(b"q\nr\ns\nt\nu\nv\nw\nx\ny\n0"), Some(18));
        for byte in 0..=255u8 {
            let word = u64::from_le_bytes([b'a', byte, b'c', b'd', b'e', b'f', b'g', b'h']);
            assert_eq!(has_byte(word, b'\n'), byte == b'\n', "{byte}");
        }
    }

    #[test]
    fn an_unfinished_line_is_held_only_while_it_may_be_a_dump_line() {
        for prefix in [
            "0000000 7469",
            "00000000:",
            "   i   t   '",
            "0000000   i  ",
            " 74",
            "  ",
        ] {
            assert!(may_be(prefix.as_bytes()), "{prefix}");
        }
        for prefix in ["  Enter a value: ", "hello there", "   i   t  ok"] {
            assert!(!may_be(prefix.as_bytes()), "{prefix}");
        }
    }

    #[test]
    fn text_lines_are_not_dump_lines() {
        for text in [
            "be careful",
            "0000126",
            "add the numbers",
            "hello: world",
            "ab:cd",
            "    let x = 1;",
            "",
            "   ",
            " 746 ",
        ] {
            assert_eq!(decoded(text, false), None, "{text}");
            assert_eq!(decoded(text, true), None, "{text}");
        }
        // Single bytes are the same in either order: the little-endian view leaves them.
        assert_eq!(decoded("0000000 69 74", true), None);
    }
}
