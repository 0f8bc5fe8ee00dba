//! Integration tests: redact, dumps, printed lists and case. A secret dumped as `od`, `hexdump`
//! and `xxd` lay it out (offset columns, text columns, either byte order, character fields, at
//! any offset of the dump), printed as a list of its characters or bytes, or with the case of
//! its letters changed, never survives, whatever the chunking.

use super::{only_inside_markers, secret_strategy, stream, text_strategy};
use aegisclaw_core::redact::{MIN_ENCODED_LEN, Redactor};
use pretty_assertions::assert_eq;
use proptest::prelude::*;

/// A dump tool's layout, as these tools write it by default (16 bytes a line).
#[derive(Clone, Copy, Debug)]
enum Tool {
    /// `od -c`: octal offsets, a character in each 4-column field, a last line of the length.
    OdC,
    /// `od -An -c`.
    OdAnC,
    /// `hexdump -c`: hex offsets, the last line padded with blank fields.
    HexdumpChars,
    /// `od -x`: octal offsets, little-endian 16-bit words, the last one zero-padded.
    OdX,
    /// `hexdump`: as `od -x` with hex offsets, the last line padded with spaces.
    Hexdump,
    /// `od -tx4`, and `od -An -tx8`.
    OdTx4,
    OdAnTx8,
    /// `xxd`: `00000000:`, big-endian 16-bit groups, a text column.
    Xxd,
    /// `xxd -e`: little-endian 32-bit groups, the last one right-aligned, a text column.
    XxdE,
    /// `xxd -g1`.
    XxdG1,
    /// `hexdump -C`: single bytes, an extra space after eight, `|text|`.
    HexdumpCanonical,
    /// `od -tx1`.
    OdTx1,
}

const TOOLS: [Tool; 12] = [
    Tool::OdC,
    Tool::OdAnC,
    Tool::HexdumpChars,
    Tool::OdX,
    Tool::Hexdump,
    Tool::OdTx4,
    Tool::OdAnTx8,
    Tool::Xxd,
    Tool::XxdE,
    Tool::XxdG1,
    Tool::HexdumpCanonical,
    Tool::OdTx1,
];

/// `od -c`'s field for `byte`.
fn char_field(byte: u8) -> String {
    match byte {
        b' ' => "    ".to_string(),
        0x21..=0x7e => format!("   {}", char::from(byte)),
        0 => "  \\0".to_string(),
        7 => "  \\a".to_string(),
        8 => "  \\b".to_string(),
        b'\t' => "  \\t".to_string(),
        b'\n' => "  \\n".to_string(),
        0x0b => "  \\v".to_string(),
        0x0c => "  \\f".to_string(),
        b'\r' => "  \\r".to_string(),
        _ => format!(" {byte:03o}"),
    }
}

/// `bytes` dumped by `tool`, and for each byte where in the dump the value showing it is (its
/// field, or its group's digits); for a tool with a text column, also where its character is.
fn dump(bytes: &[u8], tool: Tool) -> (String, Vec<(usize, usize)>, Vec<Option<usize>>) {
    let mut out = String::new();
    let mut spans = Vec::new();
    let mut text_at = Vec::new();
    let (group, swapped, right_aligned) = match tool {
        Tool::OdX | Tool::Hexdump => (2, true, false),
        Tool::OdTx4 => (4, true, false),
        Tool::OdAnTx8 => (8, true, false),
        Tool::XxdE => (4, true, true),
        Tool::Xxd => (2, false, false),
        _ => (1, false, false),
    };
    for (index, line) in bytes.chunks(16).enumerate() {
        let at = index * 16;
        out.push_str(&match tool {
            Tool::OdC | Tool::OdX | Tool::OdTx4 | Tool::OdTx1 => format!("{at:07o}"),
            Tool::HexdumpChars | Tool::Hexdump => format!("{at:07x}"),
            Tool::Xxd | Tool::XxdE | Tool::XxdG1 => format!("{at:08x}:"),
            Tool::HexdumpCanonical => format!("{at:08x} "),
            Tool::OdAnC | Tool::OdAnTx8 => String::new(),
        });
        let line_start = out.len();
        match tool {
            Tool::OdC | Tool::OdAnC | Tool::HexdumpChars => {
                for &byte in line {
                    let start = out.len();
                    out.push_str(&char_field(byte));
                    spans.push((start, out.len()));
                }
                if matches!(tool, Tool::HexdumpChars) {
                    out.push_str(&"    ".repeat(16 - line.len()));
                }
            }
            Tool::HexdumpCanonical => {
                for (position, &byte) in line.iter().enumerate() {
                    out.push_str(if position == 8 { "  " } else { " " });
                    spans.push((out.len(), out.len() + 2));
                    out.push_str(&format!("{byte:02x}"));
                }
                let width = 16 * 3 + 1;
                let used = out.len() - line_start;
                out.push_str(&" ".repeat(width - used));
                out.push_str("  |");
            }
            _ => {
                for chunk in line.chunks(group) {
                    out.push(' ');
                    let mut digits: Vec<String> =
                        chunk.iter().map(|byte| format!("{byte:02x}")).collect();
                    let pad = group - chunk.len();
                    if swapped {
                        digits.reverse();
                        if right_aligned {
                            out.push_str(&"  ".repeat(pad));
                        } else {
                            // `od` and `hexdump` pad the last word with zero bytes.
                            digits.splice(0..0, std::iter::repeat_n("00".to_string(), pad));
                        }
                    }
                    let start = out.len();
                    out.push_str(&digits.concat());
                    for _ in chunk {
                        spans.push((start, out.len()));
                    }
                }
                if matches!(tool, Tool::Hexdump) {
                    let width = 8 * 5;
                    out.push_str(&" ".repeat(width - (out.len() - line_start)));
                }
                if matches!(tool, Tool::Xxd | Tool::XxdE | Tool::XxdG1) {
                    let width = 16 * 2 + 16 / group + 1;
                    out.push_str(&" ".repeat(width - (out.len() - line_start)));
                    out.push(' ');
                }
            }
        }
        let text_column = matches!(
            tool,
            Tool::Xxd | Tool::XxdE | Tool::XxdG1 | Tool::HexdumpCanonical
        );
        for &byte in line {
            if text_column {
                text_at.push(Some(out.len()));
                out.push(if (0x20..0x7f).contains(&byte) {
                    char::from(byte)
                } else {
                    '.'
                });
            } else {
                text_at.push(None);
            }
        }
        if matches!(tool, Tool::HexdumpCanonical) {
            out.push('|');
        }
        out.push('\n');
    }
    let len = bytes.len();
    match tool {
        Tool::OdC | Tool::OdX | Tool::OdTx4 | Tool::OdTx1 => out.push_str(&format!("{len:07o}\n")),
        Tool::HexdumpChars | Tool::Hexdump => out.push_str(&format!("{len:07x}\n")),
        Tool::HexdumpCanonical => out.push_str(&format!("{len:08x}\n")),
        _ => {}
    }
    (out, spans, text_at)
}

/// What must not survive of a secret at `bytes[at..at + len]` in its dump: every run of six
/// of its values (with what lies between them), and every run of six of its characters that a
/// text column shows on one line when they are letters or digits.
fn dump_survivors(
    dump: &str,
    spans: &[(usize, usize)],
    text_at: &[Option<usize>],
    at: usize,
    len: usize,
) -> Vec<String> {
    let run = 6.min(len);
    let mut out = Vec::new();
    for first in at..=at + len - run {
        let last = first + run - 1;
        out.push(dump[spans[first].0..spans[last].1].to_string());
        if let (Some(start), Some(end)) = (text_at[first], text_at[last])
            && end - start == run - 1
        {
            let shown = &dump[start..=end];
            if shown.bytes().all(|byte| byte.is_ascii_alphanumeric()) {
                out.push(shown.to_string());
            }
        }
    }
    out
}

/// Python's `repr` of one character.
fn python_char(character: char) -> String {
    match character {
        '\'' => "\"'\"".to_string(),
        '\\' => "'\\\\'".to_string(),
        '\n' => "'\\n'".to_string(),
        '\r' => "'\\r'".to_string(),
        '\t' => "'\\t'".to_string(),
        c if (c as u32) < 0x20 || (0x7f..0xa0).contains(&(c as u32)) => {
            format!("'\\x{:02x}'", c as u32)
        }
        c => format!("'{c}'"),
    }
}

/// The printed lists of `secret`'s characters (when it is UTF-8) and bytes, each with its
/// elements: Python's `list()` of the string and of the bytes, JSON, `pprint`'s one a line,
/// Go's space-separated bytes, Java's signed bytes, `console.log`'s padded rows.
fn lists(secret: &[u8]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    if let Ok(text) = std::str::from_utf8(secret) {
        out.push(text.chars().map(python_char).collect());
        out.push(
            text.chars()
                .map(|c| serde_json::to_string(&c.to_string()).unwrap())
                .collect(),
        );
    }
    out.push(secret.iter().map(|byte| byte.to_string()).collect());
    out.push(
        secret
            .iter()
            .map(|&byte| (byte as i8).to_string())
            .collect(),
    );
    out
}

/// `elements` joined as each style does, with where each element starts and ends.
fn joined(elements: &[String], style: usize) -> (String, Vec<(usize, usize)>) {
    let mut out = String::from("[");
    let mut spans = Vec::new();
    for (index, element) in elements.iter().enumerate() {
        if index > 0 {
            out.push_str(match style {
                0 => ", ",
                1 => ",\n ",
                2 => " ",
                _ if index % 12 == 0 => ",\n  ",
                _ => ",  ",
            });
        }
        spans.push((out.len(), out.len() + element.len()));
        out.push_str(element);
    }
    out.push(']');
    (out, spans)
}

/// `secret` with the case of its ASCII letters changed: all upper, all lower, swapped.
fn recased(secret: &[u8]) -> Vec<Vec<u8>> {
    vec![
        secret.to_ascii_uppercase(),
        secret.to_ascii_lowercase(),
        secret
            .iter()
            .map(|&byte| {
                if byte.is_ascii_uppercase() {
                    byte.to_ascii_lowercase()
                } else {
                    byte.to_ascii_uppercase()
                }
            })
            .collect(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn no_dump_list_or_case_change_of_a_secret_survives_any_chunking(
        secret in secret_strategy(),
        around in proptest::collection::vec(text_strategy(), 3),
        sizes in proptest::collection::vec(1usize..40, 1..8),
    ) {
        let redactor = Redactor::new(&[&secret]).unwrap();
        let mut input = Vec::new();
        let mut survivors: Vec<Vec<u8>> = Vec::new();
        // Each dump of the secret between other bytes, on lines of its own.
        let payload = [around[0].as_slice(), &secret, &around[1]].concat();
        for tool in TOOLS {
            let (text, spans, text_at) = dump(&payload, tool);
            input.extend(&around[2]);
            input.push(b'\n');
            input.extend(text.as_bytes());
            // (Shorter runs of values can be an offset: `40` in `0000040`.)
            if secret.len() >= 4 {
                survivors.extend(
                    dump_survivors(&text, &spans, &text_at, around[0].len(), secret.len())
                        .into_iter()
                        .map(String::into_bytes),
                );
            }
        }
        // Each printed list, whole and as runs of six elements.
        for elements in lists(&secret) {
            for style in 0..4 {
                let (text, spans) = joined(&elements, style);
                input.extend(&around[2]);
                input.push(b' ');
                input.extend(text.as_bytes());
                if elements.len() >= 2 {
                    let run = 6.min(elements.len());
                    for first in 0..=elements.len() - run {
                        let (start, end) = (spans[first].0, spans[first + run - 1].1);
                        survivors.push(text.as_bytes()[start..end].to_vec());
                    }
                }
            }
        }
        // The secret in another case, once it is long enough for that to count.
        if secret.len() >= MIN_ENCODED_LEN {
            for other in recased(&secret) {
                input.extend(&around[2]);
                input.push(b' ');
                input.extend(&other);
                survivors.push(other);
            }
        }
        let output = stream(&redactor, &input, &sizes);
        for survivor in &survivors {
            prop_assert!(
                only_inside_markers(&output, survivor),
                "{:?} survives in {:?}",
                String::from_utf8_lossy(survivor),
                String::from_utf8_lossy(&output)
            );
        }
        prop_assert_eq!(&output, &redactor.redact(&input), "output depends on chunking");
    }
}

fn redacted(redactor: &Redactor, input: &str) -> String {
    String::from_utf8(stream(redactor, input.as_bytes(), &[5, 1, 16])).unwrap()
}

#[test]
fn a_secret_dumped_by_od_or_xxd_across_lines_is_redacted_with_its_offsets_and_text() {
    // As `od -c`, `od -x` and `xxd` print `x` and the secret: the offsets and text columns of
    // the lines after the first go with it.
    let redactor = Redactor::named(&[("key", "sk-live-0123456789abcdef")]).unwrap();
    let od_c = "0000000   x   s   k   -   l   i   v   e   -   0   1   2   3   4   5   6\n\
                0000020   7   8   9   a   b   c   d   e   f\n0000031\n";
    assert_eq!(
        redacted(&redactor, od_c),
        "0000000   x[REDACTED:key]\n0000031\n"
    );
    let od_x = "0000000 7378 2d6b 696c 6576 302d 3231 3433 3635\n\
                0000020 3837 6139 6362 6564 0066\n0000031\n";
    assert_eq!(
        redacted(&redactor, od_x),
        "0000000 [REDACTED:key]\n0000031\n"
    );
    let xxd = "00000000: 7873 6b2d 6c69 7665 2d30 3132 3334 3536  xsk-live-0123456\n\
               00000010: 3738 3961 6263 6465 66                   789abcdef\n";
    assert_eq!(redacted(&redactor, xxd), "00000000: [REDACTED:key]\n");
}

#[test]
fn a_secret_printed_as_a_list_of_its_characters_or_bytes_is_redacted() {
    let redactor = Redactor::named(&[("key", "it's-é")]).unwrap();
    for list in [
        "['i', 't', \"'\", 's', '-', 'é']",
        "[\"i\", \"t\", \"'\", \"s\", \"-\", \"\\u00e9\"]",
        "[105, 116, 39, 115, 45, 195, 169]",
        "[105 116 39 115 45 195 169]",
        "[105, 116, 39, 115, 45, -61, -87]",
    ] {
        assert_eq!(redacted(&redactor, list), "[[REDACTED:key]]", "{list}");
    }
    // `console.log` pads and wraps its rows.
    assert_eq!(
        redacted(&redactor, "[\n  105, 116,  39,\n  115,  45, 195, 169\n]"),
        "[\n  [REDACTED:key]\n]"
    );
    // Numbers one a line, and numbers inside words, are not lists.
    let text = "seq:\n105\n116\n39\nv105, x116";
    assert_eq!(redacted(&redactor, text), text);
}

#[test]
fn a_case_changed_secret_is_redacted_but_not_a_short_one_or_base64() {
    let redactor = Redactor::named(&[("key", "Sk-Live-42abc"), ("pin", "ab")]).unwrap();
    assert_eq!(
        redacted(&redactor, "SK-LIVE-42ABC sk-live-42abc AB Ab ab"),
        "[REDACTED:key] [REDACTED:key] AB Ab [REDACTED:pin]"
    );
    // Its JSON escapes in another case too; its base64 only in its own.
    assert_eq!(
        redacted(
            &redactor,
            "\\u0053K-LIVE-42ABC U2stTGl2ZS00MmFiYw== u2STtgL2zs00mMfIyW=="
        ),
        "[REDACTED:key] [REDACTED:key] u2STtgL2zs00mMfIyW=="
    );
}
