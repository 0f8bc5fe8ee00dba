//! Every encoded form of one secret value that the redactor looks for: raw bytes, base64
//! (standard and URL-safe, padded, unpadded, and the stable inner text at each offset mod 3),
//! hex, URL percent and form encoding, JSON string escapes. Builds byte strings; matches nothing.

use base64::Engine as _;
use base64::engine::GeneralPurpose;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

/// Encoded forms shorter than this are not searched for: a 2-character hex or base64 fragment
/// would match almost any output. The raw value is always searched for, whatever its length.
pub const MIN_ENCODED_LEN: usize = 4;

/// The distinct forms of `value` to redact, raw first. Empty for an empty value (an empty
/// pattern would match everywhere).
pub(crate) fn forms(value: &[u8]) -> Vec<Vec<u8>> {
    if value.is_empty() {
        return Vec::new();
    }
    let mut encoded = Vec::new();
    for (padded, unpadded) in [(&STANDARD, &STANDARD_NO_PAD), (&URL_SAFE, &URL_SAFE_NO_PAD)] {
        encoded.push(padded.encode(value).into_bytes());
        encoded.push(unpadded.encode(value).into_bytes());
        base64_inner(unpadded, value, &mut encoded);
    }
    encoded.push(hex::encode(value).into_bytes());
    encoded.push(hex::encode_upper(value).into_bytes());
    encoded.push(percent(value, Percent::Upper));
    encoded.push(percent(value, Percent::Lower));
    encoded.push(percent(value, Percent::Form));
    if let Ok(text) = std::str::from_utf8(value) {
        for style in [Json::Serde, Json::Ascii, Json::HtmlSafe] {
            encoded.push(json(text, style));
        }
    }
    encoded.retain(|form| form.len() >= MIN_ENCODED_LEN);
    encoded.sort_unstable();
    encoded.dedup();
    encoded.retain(|form| form != value);
    let mut forms = Vec::with_capacity(encoded.len() + 1);
    forms.push(value.to_vec());
    forms.extend(encoded);
    forms
}

/// The base64 characters that depend only on `value` when it sits at byte offset 0, 1 or 2
/// (mod 3) of a larger encoded payload. At offset `k` the value's bits span
/// `[8k, 8(k+n))`, and character `c` covers bits `[6c, 6c+6)`, so the characters wholly inside
/// are `ceil(8k/6) .. floor(8(k+n)/6)`: the neighbours change the partial characters at either
/// end, never these.
fn base64_inner(engine: &GeneralPurpose, value: &[u8], out: &mut Vec<Vec<u8>>) {
    for offset in 0..3 {
        let mut shifted = vec![0u8; offset];
        shifted.extend_from_slice(value);
        let text = engine.encode(&shifted).into_bytes();
        let start = (8 * offset).div_ceil(6);
        let end = 8 * (offset + value.len()) / 6;
        if let Some(inner) = text.get(start..end) {
            out.push(inner.to_vec());
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Percent {
    /// `%XX` for every byte outside RFC 3986's unreserved set (the common, recommended case).
    Upper,
    /// `%xx`, as some encoders write it.
    Lower,
    /// `application/x-www-form-urlencoded`: space as `+`, the rest as `%XX`.
    Form,
}

fn percent(value: &[u8], style: Percent) -> Vec<u8> {
    let digits: &[u8; 16] = if style == Percent::Lower {
        b"0123456789abcdef"
    } else {
        b"0123456789ABCDEF"
    };
    let mut out = Vec::with_capacity(value.len() * 3);
    for &byte in value {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte);
        } else if byte == b' ' && style == Percent::Form {
            out.push(b'+');
        } else {
            out.extend_from_slice(&[
                b'%',
                digits[usize::from(byte >> 4)],
                digits[usize::from(byte & 0xf)],
            ]);
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Json {
    /// serde_json and JavaScript: `\"`, `\\`, short escapes, `\u00xx` for other controls,
    /// non-ASCII as raw UTF-8.
    Serde,
    /// Python's default (`ensure_ascii`): as `Serde`, plus non-ASCII as `\uxxxx` (surrogate
    /// pairs above the BMP).
    Ascii,
    /// Go's `encoding/json`: as `Serde`, plus `<`, `>`, `&`, U+2028 and U+2029 as `\u00xx`.
    HtmlSafe,
}

/// The body of a JSON string literal holding `text` (without the quotes).
fn json(text: &str, style: Json) -> Vec<u8> {
    let mut out = String::with_capacity(text.len() + 8);
    for character in text.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if u32::from(c) < 0x20 => push_unicode_escape(&mut out, c),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' if style == Json::HtmlSafe => {
                push_unicode_escape(&mut out, character);
            }
            c if !c.is_ascii() && style == Json::Ascii => push_unicode_escape(&mut out, c),
            c => out.push(c),
        }
    }
    out.into_bytes()
}

fn push_unicode_escape(out: &mut String, character: char) {
    let mut units = [0u16; 2];
    for unit in character.encode_utf16(&mut units) {
        out.push_str(&format!("\\u{unit:04x}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn texts(value: &[u8]) -> Vec<String> {
        forms(value)
            .into_iter()
            .map(|form| String::from_utf8(form).unwrap())
            .collect()
    }

    #[test]
    fn a_printable_secret_has_every_form_once() {
        // JSON forms equal the raw value here, and URL-safe base64 equals standard: deduplicated.
        assert_eq!(
            texts(b"a b/c"),
            vec![
                "a b/c",
                "6120622F63",
                "6120622f63",
                "EgYi9j",
                "YSBiL2",
                "YSBiL2M",
                "YSBiL2M=",
                "a%20b%2Fc",
                "a%20b%2fc",
                "a+b%2Fc",
                "hIGIvY",
            ]
        );
    }

    #[test]
    fn base64_inner_forms_survive_any_neighbours() {
        let secret = b"hunter2-secret";
        for prefix in ["", "p", "pr", "pre", "pref"] {
            for suffix in ["", "s", "su", "suf"] {
                let payload = [prefix.as_bytes(), secret, suffix.as_bytes()].concat();
                for engine in [&STANDARD, &URL_SAFE_NO_PAD] {
                    let encoded = engine.encode(&payload).into_bytes();
                    let found = forms(secret).iter().any(|form| {
                        encoded
                            .windows(form.len())
                            .any(|window| window == form.as_slice())
                    });
                    assert!(found, "{prefix}+secret+{suffix}");
                }
            }
        }
    }

    #[test]
    fn short_values_keep_their_raw_form_and_long_enough_encodings() {
        assert_eq!(texts(b"ab"), vec!["ab", "6162", "YWI="]);
        assert_eq!(texts(b""), Vec::<String>::new());
        // Two bytes: four hex digits and `%xx%xx` qualify, base64 fragments do not.
        assert_eq!(
            texts(b"\x01\x02"),
            vec!["\u{1}\u{2}", "%01%02", "0102", "AQI=", "\\u0001\\u0002"]
        );
    }

    #[test]
    fn json_styles_match_common_serialisers() {
        let text = "é<\"\n\u{1f}😀";
        assert_eq!(
            String::from_utf8(json(text, Json::Serde)).unwrap(),
            serde_json::to_string(text).unwrap().trim_matches('"')
        );
        assert_eq!(
            String::from_utf8(json(text, Json::Ascii)).unwrap(),
            "\\u00e9<\\\"\\n\\u001f\\ud83d\\ude00"
        );
        assert_eq!(
            String::from_utf8(json(text, Json::HtmlSafe)).unwrap(),
            "é\\u003c\\\"\\n\\u001f😀"
        );
    }
}
