//! Unit tests of the decoded views: each decoder gives the same view and the same raw spans
//! whatever the chunking.

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
        let done = window.decode(&pending, 0, at, false);
        window.cursor = done as u64;
        collect(&mut window);
    }
    let at = window.cursor as usize;
    let done = window.decode(&pending, 0, at, true);
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

#[test]
fn character_references_decode_in_every_spelling() {
    // `html.escape`, `xmlcharrefreplace`, every character in decimal, hex with `x` and `X`,
    // leading zeros; what is not a reference (no `;`, too long, not a character) stays.
    assert_eq!(
        view_of(
            View::Reference,
            "&lt;&amp;&gt;&quot;&#x27;&apos;caf&#233;&#115;&#X73;&#x0073;&#0000115;&#x1F600;"
        ),
        "<&>\"''caf\u{e9}ssss\u{1F600}"
    );
    assert_eq!(
        view_of(
            View::Reference,
            "&#115 &#x; &#; &am &#xD800; &#x110000; &#0000000000115; &copy; &"
        ),
        "&#115 &#x; &#; &am &#xD800; &#x110000; &#0000000000115; &copy; &"
    );
    let (bytes, spans) = decode(View::Reference, b"a&#x73;b", 1);
    assert_eq!(bytes, b"asb");
    assert_eq!(spans, vec![(0, 1), (1, 7), (7, 8)]);
}

#[test]
fn quoted_printable_decodes_and_skips_one_soft_break_at_a_time() {
    assert_eq!(
        view_of(
            View::QuotedPrintable,
            "a=3Db=3d=\nc=\r\nd=C3=a9=\n=\ne=zz=\r"
        ),
        "a=b=cd\u{e9}=\ne=zz=\r"
    );
}

#[test]
fn hex_separators_are_skipped() {
    for encoded in [
        "de:ad:BE:ef",
        "de ad be ef",
        "0xDE, 0xad, 0xbe, 0xef",
        "\\xde\\xAD\\xbe\\xef",
        " de ad\n be ef",
        "dEaD\r\n bEeF",
    ] {
        let view = view_of(View::Hex, encoded);
        assert!(
            view.to_lowercase().contains("deadbeef"),
            "{encoded}: {view}"
        );
    }
    // Separators only between hex digits, and at most six bytes of them.
    assert_eq!(view_of(View::Hex, "Hello, World: x"), "Hello, World: x");
    assert_eq!(view_of(View::Hex, "ab:,cd ab    cd"), "ab:,cdab    cd");
}

#[test]
fn dump_lines_read_back_to_their_bytes_and_other_lines_stay() {
    let input = "before\n\
                 00000000: 6974 2773 2061  it's a\r\n\
                 0000000   i   t  \\n 303 251\n\
                 0000005\n\
                 after 0000000 6974\n";
    assert_eq!(
        view_of(View::Dump, input),
        "before\nit's ait\n\u{e9}0000005\nafter 0000000 6974\n"
    );
    let swapped = "0000000 7469 7327\n 73277469\nab cd\n";
    assert_eq!(view_of(View::DumpSwapped, swapped), "it'sit'sab cd\n");
    // Each group stands for its digits, or, with a text column, for the rest of its line.
    let (bytes, spans) = decode(View::Dump, b"0: 6162 63  abc\n0000010 61 62\n", 5);
    assert_eq!(bytes, b"abcab");
    assert_eq!(spans, vec![(3, 15), (3, 15), (8, 15), (24, 26), (27, 29)]);
}

#[test]
fn printed_lists_of_two_or_more_elements_read_back() {
    assert_eq!(
        view_of(
            View::List,
            "a = ['i', \"'\", '\\n', '\u{e9}'] and [1, 2,\n 3] or (-61,-87) 12 13x 14; 'q' v1 2"
        ),
        "a = [i'\n\u{e9}] and [\u{1}\u{2}\u{3}] or (\u{e9}) 12 13x 14; 'q' v1 2"
    );
    let (bytes, spans) = decode(View::List, b"[105, 116]", 3);
    assert_eq!(bytes, b"[it]");
    assert_eq!(spans, vec![(0, 1), (1, 4), (6, 9), (9, 10)]);
}
