//! Integration tests: redact. Secrets in every common encoding, at any offset, split into any
//! chunks, never survive; text without secrets passes through byte-identical (proptest), and
//! known documents (serde_json, URL query strings, base64 payloads, hex dumps) come out exact.

mod dumps;

use aegisclaw_core::redact::{MIN_ENCODED_LEN, Redactor};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use pretty_assertions::assert_eq;
use proptest::prelude::*;

/// Runs `input` through a stream in the given chunk sizes (cycled), then finishes.
fn stream(redactor: &Redactor, input: &[u8], sizes: &[usize]) -> Vec<u8> {
    let mut stream = redactor.stream();
    let mut out = Vec::new();
    let mut rest = input;
    let mut sizes = sizes.iter().copied().filter(|size| *size > 0).cycle();
    while !rest.is_empty() {
        let size = sizes.next().unwrap_or(rest.len()).min(rest.len());
        let (chunk, tail) = rest.split_at(size);
        out.extend(stream.push(chunk));
        rest = tail;
    }
    out.extend(stream.finish());
    out
}

/// Percent-encoding written independently of the redactor: `%XX` outside RFC 3986 unreserved.
fn percent(value: &[u8]) -> Vec<u8> {
    value
        .iter()
        .flat_map(|&byte| {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                vec![byte]
            } else {
                format!("%{byte:02X}").into_bytes()
            }
        })
        .collect()
}

/// The stable base64 characters of `secret` embedded after `prefix_len` bytes of `blob`'s
/// plain text: those whose 6 bits all come from the secret.
fn embedded_base64(blob: &[u8], prefix_len: usize, secret_len: usize) -> Vec<u8> {
    let start = (8 * prefix_len).div_ceil(6);
    let end = 8 * (prefix_len + secret_len) / 6;
    blob.get(start..end.max(start)).unwrap_or_default().to_vec()
}

/// Every occurrence of `needle` in `haystack` overlaps a `[REDACTED…]` marker.
fn only_inside_markers(haystack: &[u8], needle: &[u8]) -> bool {
    if needle.is_empty() || needle.len() > haystack.len() {
        return true;
    }
    let mut markers = Vec::new();
    let mut from = 0;
    while let Some(start) = find(&haystack[from..], b"[REDACTED").map(|at| at + from) {
        let end = find(&haystack[start..], b"]").map_or(haystack.len(), |at| start + at + 1);
        markers.push((start, end));
        from = start + 1;
    }
    (0..=haystack.len() - needle.len())
        .filter(|&at| &haystack[at..at + needle.len()] == needle)
        .all(|at| {
            markers
                .iter()
                .any(|&(start, end)| at < end && start < at + needle.len())
        })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// `text` broken into lines of `width` characters, each ended by LF or CRLF (the last too), as
/// `base64`, PEM writers and `xxd -p` do.
fn wrapped(text: &[u8], width: usize, crlf: bool) -> Vec<u8> {
    let end: &[u8] = if crlf { b"\r\n" } else { b"\n" };
    text.chunks(width.max(1))
        .flat_map(|line| [line, end].concat())
        .collect()
}

/// `bytes` with every line break removed: where a wrapped form's text must not survive.
fn unwrapped(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .copied()
        .filter(|byte| !matches!(byte, b'\r' | b'\n'))
        .collect()
}

/// A JSON string body: `escape(character)` decides which characters are written `\uXXXX`
/// (in `upper` or lower hex, UTF-16 units); quotes, backslashes and controls are always
/// escaped, the others raw.
fn json(text: &str, upper: bool, mut escape: impl FnMut(char) -> bool) -> Vec<u8> {
    let mut out = String::new();
    for character in text.chars() {
        if escape(character) || u32::from(character) < 0x20 {
            for unit in character.encode_utf16(&mut [0; 2]) {
                out.push_str(&if upper {
                    format!("\\u{unit:04X}")
                } else {
                    format!("\\u{unit:04x}")
                });
            }
        } else if matches!(character, '"' | '\\') {
            out.push('\\');
            out.push(character);
        } else {
            out.push(character);
        }
    }
    out.into_bytes()
}

/// What bash's `printf %q` writes in the C locale: `$'…'` (its body here) when a byte is not
/// printable ASCII, else a backslash before each shell-special byte.
fn printf_q(value: &[u8]) -> Vec<u8> {
    if value.iter().any(|byte| !(0x20..0x7f).contains(byte)) {
        return ansi_c(value);
    }
    let mut out = Vec::new();
    for &byte in value {
        if b" \t'\"\\|&;()<>!{}*[?]^$`,#~".contains(&byte) {
            out.push(b'\\');
        }
        out.push(byte);
    }
    out
}

/// The body of bash's `$'…'`: named escapes, `\'`, `\\`, octal for other unprintable bytes.
fn ansi_c(value: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for &byte in value {
        match byte {
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0x07 => out.extend_from_slice(b"\\a"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0b => out.extend_from_slice(b"\\v"),
            0x0c => out.extend_from_slice(b"\\f"),
            0x1b => out.extend_from_slice(b"\\E"),
            b'\'' | b'\\' => out.extend_from_slice(&[b'\\', byte]),
            0x20..0x7f => out.push(byte),
            _ => out.extend_from_slice(format!("\\{byte:03o}").as_bytes()),
        }
    }
    out
}

/// `value` with each `'` written as `quote` (the inside of a single-quoted shell word).
fn single_quoted(value: &[u8], quote: &[u8]) -> Vec<u8> {
    value
        .iter()
        .flat_map(|&byte| {
            if byte == b'\'' {
                quote.to_vec()
            } else {
                vec![byte]
            }
        })
        .collect()
}

/// `%XX` for every byte, or for those `pick` chooses and every `%` (as any encoder must: a raw
/// `%` before two hex digits would decode as a byte), the others raw.
fn percent_mixed(value: &[u8], upper: bool, mut pick: impl FnMut() -> bool) -> Vec<u8> {
    value
        .iter()
        .flat_map(|&byte| match (pick() || byte == b'%', upper) {
            (false, _) => vec![byte],
            (true, true) => format!("%{byte:02X}").into_bytes(),
            (true, false) => format!("%{byte:02x}").into_bytes(),
        })
        .collect()
}

/// HTML/XML character references: `pick` chooses which characters are written as references
/// (`&`, `<`, `>`, `"`, `'` always, as `html.escape` does), each as a named entity where one
/// exists and `named`, else decimal or hex (`x` or `X`, either digit case) with `zeros` leading
/// zeros, cycled per character.
fn html(text: &str, style: &Style, mut pick: impl FnMut(char) -> bool) -> Vec<u8> {
    let mut kinds = style.picks.iter().copied().cycle();
    let mut out = String::new();
    for (index, character) in text.chars().enumerate() {
        let special = matches!(character, '&' | '<' | '>' | '"' | '\'');
        if !(pick(character) || special) {
            out.push(character);
            continue;
        }
        let named = match character {
            '&' => Some("&amp;"),
            '<' => Some("&lt;"),
            '>' => Some("&gt;"),
            '"' => Some("&quot;"),
            '\'' => Some("&apos;"),
            _ => None,
        };
        let zeros = "0".repeat(index % 3);
        let point = u32::from(character);
        match (
            named,
            kinds.next().unwrap_or(true),
            kinds.next().unwrap_or(false),
        ) {
            (Some(name), true, _) => out.push_str(name),
            (_, _, true) => out.push_str(&format!("&#{zeros}{point};")),
            (_, upper, false) => {
                let x = if style.upper { 'X' } else { 'x' };
                if upper {
                    out.push_str(&format!("&#{x}{zeros}{point:X};"));
                } else {
                    out.push_str(&format!("&#{x}{zeros}{point:x};"));
                }
            }
        }
    }
    out.into_bytes()
}

/// Quoted-printable as Python's `quopri` (binary mode) and MIME write it: printable ASCII but
/// `=` as itself, every other byte `=XX` (in either case), and a soft line break (`=` and LF or
/// CRLF) before a line would pass `width` characters, never inside an `=XX`.
fn quoted_printable(value: &[u8], width: usize, crlf: bool, upper: bool) -> Vec<u8> {
    let width = width.clamp(4, 76);
    let soft: &[u8] = if crlf { b"=\r\n" } else { b"=\n" };
    let mut out = Vec::new();
    let mut column = 0;
    for &byte in value {
        let piece = if (0x21..0x7f).contains(&byte) && byte != b'=' || byte == b' ' {
            vec![byte]
        } else if upper {
            format!("={byte:02X}").into_bytes()
        } else {
            format!("={byte:02x}").into_bytes()
        };
        if column + piece.len() > width - 1 {
            out.extend_from_slice(soft);
            column = 0;
        }
        column += piece.len();
        out.extend(piece);
    }
    out
}

/// `text` in UTF-16 or UTF-32, little- or big-endian, with a BOM when asked (a value that is
/// not UTF-8 has each byte widened, as a Latin-1 decoder would).
fn wide(value: &[u8], unit: usize, big: bool, bom: bool) -> Vec<u8> {
    let points: Vec<u32> = match std::str::from_utf8(value) {
        Ok(text) if unit == 2 => text.encode_utf16().map(u32::from).collect(),
        Ok(text) => text.chars().map(u32::from).collect(),
        Err(_) => value.iter().map(|&byte| u32::from(byte)).collect(),
    };
    let mut out = Vec::new();
    for point in bom.then_some(0xfeff).into_iter().chain(points) {
        let bytes = point.to_le_bytes();
        let mut bytes = bytes[..unit].to_vec();
        if big {
            bytes.reverse();
        }
        out.extend(bytes);
    }
    out
}

/// Hex with separators: `aa:bb`, `aa bb`, `0xAA, 0xBB`, `\xaa\xbb`, `od -An -tx1` (lines of 16
/// with a leading space), each digit's case picked by `pick`.
fn separated_hex(value: &[u8], mut pick: impl FnMut() -> bool) -> Vec<Vec<u8>> {
    let mut digit = |byte: u8| -> String {
        format!("{byte:02x}")
            .chars()
            .map(|c| if pick() { c.to_ascii_uppercase() } else { c })
            .collect()
    };
    let pairs: Vec<String> = value.iter().map(|&byte| digit(byte)).collect();
    let od: String = pairs
        .chunks(16)
        .map(|line| {
            line.iter()
                .map(|pair| format!(" {pair}"))
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n");
    vec![
        pairs.join(":").into_bytes(),
        pairs.join(" ").into_bytes(),
        pairs
            .iter()
            .map(|pair| format!("0x{pair}"))
            .collect::<Vec<_>>()
            .join(", ")
            .into_bytes(),
        pairs
            .iter()
            .map(|pair| format!("\\x{pair}"))
            .collect::<String>()
            .into_bytes(),
        od.into_bytes(),
        pairs.concat().into_bytes(),
    ]
}

/// `value` with every `quote` doubled (CSV and SQL strings, YAML single-quoted scalars).
fn doubled(value: &[u8], quote: u8) -> Vec<u8> {
    value
        .iter()
        .flat_map(|&byte| {
            if byte == quote {
                vec![byte, byte]
            } else {
                vec![byte]
            }
        })
        .collect()
}

/// Secrets of random bytes and lengths (about half at least 58 bytes, whose base64 wraps at 76
/// columns): printable ASCII, any bytes, shell-hostile text (quotes, spaces, `$`, backslashes,
/// newlines, non-ASCII), and multi-line PEM-like keys with LF or CRLF.
fn secret_strategy() -> impl Strategy<Value = Vec<u8>> {
    let pieces = [
        "'", "\"", " ", "$", "\\", "\n", "\r\n", "\t", "é", "😀", "a", "Z", "0", "-", "%", "+",
        "/", "=", "{", "x", "\u{1}", "<",
    ];
    prop_oneof![
        proptest::collection::vec(0x20u8..0x7f, 1..=120),
        proptest::collection::vec(any::<u8>(), 1..=120),
        proptest::collection::vec(proptest::sample::select(pieces.to_vec()), 1..=60)
            .prop_map(|pieces| pieces.concat().into_bytes()),
        (
            proptest::collection::vec(
                proptest::collection::vec(
                    proptest::sample::select(
                        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                            .to_vec()
                    ),
                    1..=64
                ),
                2..=5
            ),
            any::<bool>()
        )
            .prop_map(|(lines, crlf)| lines.join(if crlf {
                b"\r\n".as_slice()
            } else {
                b"\n"
            })),
    ]
}

fn text_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(0x20u8..0x7f, 0..80),
        proptest::collection::vec(any::<u8>(), 0..80),
    ]
}

/// How one case encodes its secret: wrap width and line ending, hex case, which characters a
/// mixed form escapes.
#[derive(Debug, Clone)]
struct Style {
    width: usize,
    crlf: bool,
    upper: bool,
    picks: Vec<bool>,
}

fn style_strategy() -> impl Strategy<Value = Style> {
    (
        1usize..=100,
        any::<bool>(),
        any::<bool>(),
        proptest::collection::vec(any::<bool>(), 1..64),
    )
        .prop_map(|(width, crlf, upper, picks)| Style {
            width,
            crlf,
            upper,
            picks,
        })
}

/// Every form of `secret` this suite writes, each with the text that must not survive it
/// (`true`: checked with line breaks removed from the output, for a wrapped form).
fn encoded_forms(
    secret: &[u8],
    around: &[Vec<u8>],
    style: &Style,
) -> Vec<(Vec<u8>, Vec<u8>, bool)> {
    let mut forms: Vec<(Vec<u8>, Vec<u8>, bool)> = vec![(secret.to_vec(), secret.to_vec(), false)];
    let mut picks = style.picks.iter().copied().cycle();
    // Base64, alone and inside a larger payload (the stable inner characters), and hex, each
    // wrapped at the case's width with its line ending.
    let payload = [around[0].as_slice(), secret, &around[1]].concat();
    let blob = STANDARD.encode(&payload);
    let inner = embedded_base64(blob.as_bytes(), around[0].len(), secret.len());
    forms.push((
        wrapped(blob.as_bytes(), style.width, style.crlf),
        inner,
        true,
    ));
    for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
        let text = engine.encode(secret).into_bytes();
        forms.push((wrapped(&text, style.width, style.crlf), text, true));
    }
    let hex = if style.upper {
        hex::encode_upper(secret)
    } else {
        hex::encode(secret)
    };
    forms.push((
        wrapped(hex.as_bytes(), style.width, !style.crlf),
        hex.into_bytes(),
        true,
    ));
    // Percent: RFC 3986 (unreserved raw), every byte, a random mix.
    forms.push((percent(secret), percent(secret), false));
    let every = percent_mixed(secret, style.upper, || true);
    forms.push((every.clone(), every, false));
    let mixed = percent_mixed(secret, !style.upper, || picks.next().unwrap_or(true));
    forms.push((mixed.clone(), mixed, false));
    // Shell: `printf %q`, `$'…'`, the two single-quoted forms.
    for form in [
        printf_q(secret),
        ansi_c(secret),
        single_quoted(secret, b"'\\''"),
        single_quoted(secret, b"'\"'\"'"),
    ] {
        forms.push((form.clone(), form, false));
    }
    // Quotes doubled; quoted-printable; UTF-16 and UTF-32; hex with separators, any case.
    for quote in [b'\'', b'"'] {
        let form = doubled(secret, quote);
        forms.push((form.clone(), form, false));
    }
    let qp = quoted_printable(secret, style.width, style.crlf, style.upper);
    forms.push((qp.clone(), qp, false));
    for (unit, big, bom) in [
        (2, false, true),
        (2, true, false),
        (4, false, false),
        (4, true, true),
    ] {
        let form = wide(secret, unit, big, bom);
        forms.push((form.clone(), form, false));
    }
    // (Hex forms count from `MIN_ENCODED_LEN` characters, as wrapped ones do.)
    if 2 * secret.len() >= MIN_ENCODED_LEN {
        for form in separated_hex(secret, || picks.next().unwrap_or(false)) {
            forms.push((form.clone(), form, false));
        }
    }
    // The other line ending of a multi-line secret.
    if let Ok(text) = std::str::from_utf8(secret) {
        let lf = text.replace("\r\n", "\n");
        for other in [lf.replace('\n', "\r\n"), lf] {
            if other != text {
                forms.push((other.clone().into_bytes(), other.into_bytes(), false));
            }
        }
        // JSON: serde_json, Python's `ensure_ascii`, every character `\uXXXX`, a random mix.
        let serde = serde_json::to_string(text).unwrap();
        let serde = serde.as_bytes()[1..serde.len() - 1].to_vec();
        forms.push((serde.clone(), serde, false));
        // HTML/XML: `html.escape`, `xmlcharrefreplace` (non-ASCII), every character, a mix.
        for form in [
            html(text, style, |_| false),
            html(text, style, |c| !c.is_ascii()),
            html(text, style, |_| true),
            html(text, style, |_| picks.next().unwrap_or(true)),
        ] {
            forms.push((form.clone(), form, false));
        }
        for form in [
            json(text, style.upper, |c| !c.is_ascii()),
            json(text, style.upper, |_| true),
            json(text, !style.upper, |_| picks.next().unwrap_or(true)),
        ] {
            forms.push((form.clone(), form, false));
        }
    }
    forms
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn no_encoding_of_a_secret_survives_any_chunking(
        secret in secret_strategy(),
        texts in proptest::collection::vec(text_strategy(), 40),
        style in style_strategy(),
        sizes in proptest::collection::vec(1usize..40, 1..8),
    ) {
        let redactor = Redactor::new(&[&secret]).unwrap();
        let forms = encoded_forms(&secret, &texts[..2], &style);
        // Each form after random text; a space before it, so that text ending in a backslash
        // cannot take the form's first escape (see docs/security.md).
        let mut input = Vec::new();
        for ((written, _, _), text) in forms.iter().zip(texts[2..].iter().cycle()) {
            input.extend(text);
            input.push(b' ');
            input.extend(written);
        }
        input.extend(&texts[2]);

        let output = stream(&redactor, &input, &sizes);
        let output_unwrapped = unwrapped(&output);
        for (_, survivor, wrapped) in &forms {
            let (haystack, what) = if *wrapped {
                (&output_unwrapped, "unwrapped output")
            } else {
                (&output, "output")
            };
            let short = *wrapped && survivor.len() < MIN_ENCODED_LEN;
            prop_assert!(
                short || only_inside_markers(haystack, survivor),
                "form {:?} survives in the {what} {:?}",
                String::from_utf8_lossy(survivor),
                String::from_utf8_lossy(&output)
            );
        }
        prop_assert_eq!(&output, &redactor.redact(&input), "output depends on chunking");
    }

    #[test]
    fn text_without_secrets_passes_through_byte_identical(
        // Punctuation only: no secret form can occur in it, since every form of a secret that
        // has an alphanumeric byte contains an alphanumeric, `%`, `+`, `/`, `-`, `_` or `=`.
        text in proptest::collection::vec(
            proptest::sample::select(b" !#$&'()*,:;<>?@[]^`{|}".to_vec()), 0..300),
        secret in (secret_strategy(), any::<prop::sample::Index>(), b'a'..=b'z')
            .prop_map(|(mut secret, index, letter)| {
                let at = index.index(secret.len());
                secret[at] = letter;
                secret
            }),
        sizes in proptest::collection::vec(1usize..40, 1..8),
    ) {
        let redactor = Redactor::new(&[&secret]).unwrap();
        prop_assert_eq!(stream(&redactor, &text, &sizes), text);
    }
}

fn api() -> Redactor {
    Redactor::named(&[("api", "p\"ss wörd/\n\u{1}-1234")]).unwrap()
}

fn redacted(redactor: &Redactor, input: &str) -> String {
    String::from_utf8(stream(redactor, input.as_bytes(), &[3, 1, 7])).unwrap()
}

#[test]
fn a_secret_in_a_serde_json_document_is_redacted() {
    let secret = "p\"ss wörd/\n\u{1}-1234";
    let document = serde_json::json!({"note": "ok", "token": secret}).to_string();
    assert_eq!(
        redacted(&api(), &document),
        r#"{"note":"ok","token":"[REDACTED:api]"}"#
    );
    // Python's `json.dumps` escapes non-ASCII.
    let python = r#"{"token": "p\"ss w\u00f6rd/\n\u0001-1234"}"#;
    assert_eq!(redacted(&api(), python), r#"{"token": "[REDACTED:api]"}"#);
}

#[test]
fn a_secret_in_a_url_query_string_is_redacted() {
    let secret = "p\"ss wörd/\n\u{1}-1234";
    let upper = String::from_utf8(percent(secret.as_bytes())).unwrap();
    let form = upper.replace("%20", "+");
    let lower = upper.to_lowercase();
    for encoded in [upper, form, lower] {
        let url = format!("https://example.com/cb?token={encoded}&next=%2Fhome");
        assert_eq!(
            redacted(&api(), &url),
            "https://example.com/cb?token=[REDACTED:api]&next=%2Fhome",
            "{url}"
        );
    }
}

#[test]
fn a_secret_in_base64_of_a_larger_payload_is_redacted_at_every_alignment() {
    let secret = "sk-live-0123456789abcdef";
    let redactor = Redactor::named(&[("key", secret)]).unwrap();
    for prefix in ["prefix", "prefix1", "prefix12"] {
        for engine in [&STANDARD, &URL_SAFE_NO_PAD] {
            let blob = engine.encode(format!("{prefix}{secret}suffix"));
            let output = redacted(&redactor, &format!("Authorization: Basic {blob}\n"));
            if prefix == "prefix" {
                // Only the characters that mix the secret with its neighbours remain.
                assert_eq!(
                    output,
                    "Authorization: Basic cHJlZml4[REDACTED:key]c3VmZml4\n"
                );
            }
            let inner = embedded_base64(blob.as_bytes(), prefix.len(), secret.len());
            assert!(output.contains("[REDACTED:key]"), "{output}");
            assert!(
                !output.contains(std::str::from_utf8(&inner).unwrap()),
                "{output}"
            );
            assert_eq!(output.matches("[REDACTED:key]").count(), 1, "{output}");
        }
    }
}

#[test]
fn a_secret_in_a_hex_dump_is_redacted() {
    let redactor = Redactor::named(&[("key", b"\x00\xffbinary\x7f".as_slice())]).unwrap();
    let input = "lower: 00ff62696e6172797f\nupper: 00FF62696E6172797F\n";
    assert_eq!(
        redacted(&redactor, input),
        "lower: [REDACTED:key]\nupper: [REDACTED:key]\n"
    );
}

#[test]
fn a_secret_split_across_three_writes_is_redacted() {
    let redactor = Redactor::named(&[("token", "ghp_abcdefghijklmnop")]).unwrap();
    let mut stream = redactor.stream();
    let mut out = Vec::new();
    for chunk in ["export TOKEN=ghp_abc", "defghij", "klmnop; echo done\n"] {
        let emitted = stream.push(chunk.as_bytes());
        assert!(!String::from_utf8_lossy(&emitted).contains("ghp_"));
        out.extend(emitted);
    }
    out.extend(stream.finish());
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "export TOKEN=[REDACTED:token]; echo done\n"
    );
}

#[test]
fn unnamed_secrets_use_the_plain_marker() {
    let redactor = Redactor::new(&["hunter2-value"]).unwrap();
    assert_eq!(redactor.redact_str("a hunter2-value b"), "a [REDACTED] b");
}
