//! The fixed byte strings the redactor looks for, per view, for one secret value: the value
//! with its line breaks as written, as LF and as CRLF; the form-encoded `+` for spaces; the
//! single-quoted shell forms; quotes doubled (CSV, SQL, YAML); UTF-16 and UTF-32 in either byte
//! order; base64 (standard and URL-safe, padded, unpadded, and the stable inner text at each
//! offset mod 3) and hex. Escaped, percent-encoded, character-reference and quoted-printable
//! forms, and hex with separators or mixed case, are not listed: their views decode them, so
//! every mix of encoded and plain characters is found; nor are dumps and printed lists, which
//! their views read back to bytes. Every form matches whatever the case of its ASCII letters
//! (hex always, the value's own forms once it is [`MIN_ENCODED_LEN`] bytes long), but base64,
//! whose case is its meaning.
//! Builds byte strings; matches nothing.

use super::view::View;
use base64::Engine as _;
use base64::engine::GeneralPurpose;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};

/// Base64 and hex forms shorter than this are not searched for: a 2-character hex or base64
/// fragment would match almost any output. The value itself is always searched for, raw and in
/// the decoded views, whatever its length.
pub const MIN_ENCODED_LEN: usize = 4;

/// One byte string to look for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Form {
    pub(crate) bytes: Vec<u8>,
    /// Only these exact bytes count; otherwise the same with any ASCII letter in the other
    /// case counts too (`SECRET` for `secret`).
    pub(crate) exact: bool,
}

/// The distinct patterns of `value` for each view that has any, raw first. The raw view holds
/// every pattern of every view, so a stretch where a view equals the raw bytes needs no second
/// search. Empty for an empty value (an empty pattern would match everywhere). Base64 forms,
/// and every form but hex of a value shorter than [`MIN_ENCODED_LEN`] (`ab` would match every
/// `AB`, `Ab`...), are exact.
pub(crate) fn forms(value: &[u8]) -> Vec<(View, Vec<Form>)> {
    let short = value.len() < MIN_ENCODED_LEN;
    let (base64, hex, texts) = patterns(value);
    let any_case = |forms: Vec<Vec<u8>>| -> Vec<Form> {
        forms
            .into_iter()
            .map(|bytes| Form {
                exact: !hex.contains(&bytes) && (short || base64.contains(&bytes)),
                bytes,
            })
            .collect()
    };
    texts
        .into_iter()
        .map(|(view, forms)| (view, any_case(forms)))
        .map(|(view, forms)| (view, distinct(forms)))
        .filter(|(_, forms)| !forms.is_empty())
        .collect()
}

/// `forms` sorted, without those a case-insensitive one already covers (`6F6C` beside `6f6c`).
fn distinct(mut forms: Vec<Form>) -> Vec<Form> {
    // Forms equal but for case sit together, the case-insensitive ones first.
    forms.sort_by_cached_key(|form| (form.bytes.to_ascii_lowercase(), form.exact));
    let mut out: Vec<Form> = Vec::with_capacity(forms.len());
    for form in forms {
        let covered = out
            .iter()
            .rev()
            .take_while(|kept| kept.bytes.eq_ignore_ascii_case(&form.bytes))
            .any(|kept| !kept.exact || kept.bytes == form.bytes);
        if !covered {
            out.push(form);
        }
    }
    out.sort_unstable();
    out
}

/// The base64 and the hex forms of `value`, and every form per view.
type Patterns = (Vec<Vec<u8>>, Vec<Vec<u8>>, Vec<(View, Vec<Vec<u8>>)>);

fn patterns(value: &[u8]) -> Patterns {
    if value.is_empty() {
        return (Vec::new(), Vec::new(), Vec::new());
    }
    let texts = line_endings(value);
    let plus: Vec<Vec<u8>> = texts
        .iter()
        .filter(|text| text.contains(&b' '))
        .map(|text| replace(text, b' ', b"+"))
        .collect();
    let mut base64 = Vec::new();
    let mut quoted = Vec::new();
    let mut hex = Vec::new();
    for text in &texts {
        for (padded, unpadded) in [(&STANDARD, &STANDARD_NO_PAD), (&URL_SAFE, &URL_SAFE_NO_PAD)] {
            base64.push(padded.encode(text).into_bytes());
            base64.push(unpadded.encode(text).into_bytes());
            base64_inner(unpadded, text, &mut base64);
        }
        hex.push(hex::encode(text).into_bytes());
        quoted.extend(single_quoted(text));
        for quote in [b'\'', b'"'] {
            if text.contains(&quote) {
                quoted.push(replace(text, quote, &[quote, quote]));
            }
        }
        quoted.extend(wide(text));
    }
    base64.retain(|form| form.len() >= MIN_ENCODED_LEN);
    hex.retain(|form| form.len() >= MIN_ENCODED_LEN);
    let encoded = [&hex[..], &base64].concat();
    let raw = [&texts[..], &plus, &quoted, &encoded].concat();
    let percent = [&texts[..], &plus].concat();
    let views = vec![
        (View::Raw, raw),
        (View::Unwrapped, encoded),
        (View::Escaped, texts.clone()),
        (View::Percent, percent),
        (View::Reference, texts.clone()),
        (View::QuotedPrintable, texts.clone()),
        (View::Hex, hex.clone()),
        (View::Dump, texts.clone()),
        (View::DumpSwapped, texts.clone()),
        (View::List, texts),
    ];
    (base64, hex, views)
}

/// `value` and, when it has line breaks, the same text with every break as LF and as CRLF (a
/// PEM key written by a Windows tool, or one stored with CRLF and printed by a Unix one).
fn line_endings(value: &[u8]) -> Vec<Vec<u8>> {
    let mut texts = vec![value.to_vec()];
    if value.contains(&b'\n') {
        let mut lf = Vec::with_capacity(value.len());
        for (index, &byte) in value.iter().enumerate() {
            if !(byte == b'\r' && value.get(index + 1) == Some(&b'\n')) {
                lf.push(byte);
            }
        }
        let crlf = replace(&lf, b'\n', b"\r\n");
        for text in [lf, crlf] {
            if !texts.contains(&text) {
                texts.push(text);
            }
        }
    }
    texts
}

/// The inside of `text`'s single-quoted shell forms when it holds a `'`: `'…'\''…'` (bash's
/// `${var@Q}` and xtrace, hand-written scripts) and `'…'"'"'…'` (Python's `shlex.quote`).
/// Without a `'`, both are the text itself. Backslash and `$'…'` quoting are decoded by the
/// escaped view instead.
fn single_quoted(text: &[u8]) -> Vec<Vec<u8>> {
    if !text.contains(&b'\'') {
        return Vec::new();
    }
    vec![
        replace(text, b'\'', b"'\\''"),
        replace(text, b'\'', b"'\"'\"'"),
    ]
}

/// `text` in UTF-16 and UTF-32, little- and big-endian (a byte order mark before it changes
/// nothing): what `.encode("utf-16")`, Windows tools and PowerShell write. A value that is not
/// UTF-8 has each byte widened, as if it were Latin-1.
fn wide(text: &[u8]) -> Vec<Vec<u8>> {
    let (units, points): (Vec<u32>, Vec<u32>) = match std::str::from_utf8(text) {
        Ok(text) => (
            text.encode_utf16().map(u32::from).collect(),
            text.chars().map(u32::from).collect(),
        ),
        Err(_) => {
            let bytes: Vec<u32> = text.iter().map(|&byte| u32::from(byte)).collect();
            (bytes.clone(), bytes)
        }
    };
    let mut out = Vec::with_capacity(4);
    for (values, width) in [(&units, 2), (&points, 4)] {
        for big in [false, true] {
            let mut form = Vec::with_capacity(values.len() * width);
            for value in values {
                let bytes = value.to_le_bytes();
                let mut bytes = bytes[..width].to_vec();
                if big {
                    bytes.reverse();
                }
                form.extend(bytes);
            }
            out.push(form);
        }
    }
    out
}

/// `text` with every `from` byte replaced by `to`.
fn replace(text: &[u8], from: u8, to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 8);
    for &byte in text {
        if byte == from {
            out.extend_from_slice(to);
        } else {
            out.push(byte);
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    /// The forms of `value` as text, an exact one after `=`, without the UTF-16 and UTF-32 ones
    /// (checked apart).
    fn texts(value: &[u8]) -> Vec<(View, Vec<String>)> {
        let wide = wide(value);
        forms(value)
            .into_iter()
            .map(|(view, forms)| {
                let forms = forms
                    .into_iter()
                    .filter(|form| !wide.contains(&form.bytes))
                    .map(|form| {
                        let text = String::from_utf8(form.bytes).unwrap();
                        if form.exact { format!("={text}") } else { text }
                    });
                (view, forms.collect())
            })
            .collect()
    }

    fn strings(forms: &[&str]) -> Vec<String> {
        forms.iter().map(|form| form.to_string()).collect()
    }

    #[test]
    fn a_printable_secret_has_every_form_once_per_view() {
        // URL-safe base64 equals standard here, and upper-case hex lower-case but for case:
        // deduplicated. Base64 is exact.
        let encoded = ["6120622f63", "=EgYi9j", "=YSBiL2", "=YSBiL2M", "=YSBiL2M="];
        let text = strings(&["a b/c"]);
        assert_eq!(
            texts(b"a b/c"),
            vec![
                (
                    View::Raw,
                    strings(&[&encoded[..], &["a b/c", "a+b/c", "=hIGIvY"]].concat())
                ),
                (
                    View::Unwrapped,
                    strings(&[&encoded[..], &["=hIGIvY"]].concat())
                ),
                (View::Escaped, text.clone()),
                (View::Percent, strings(&["a b/c", "a+b/c"])),
                (View::Reference, text.clone()),
                (View::QuotedPrintable, text.clone()),
                (View::Hex, strings(&["6120622f63"])),
                (View::Dump, text.clone()),
                (View::DumpSwapped, text.clone()),
                (View::List, text),
            ]
        );
    }

    #[test]
    fn a_multi_line_secret_is_also_searched_with_lf_and_crlf() {
        assert_eq!(
            line_endings(b"a\r\nb\nc"),
            vec![
                b"a\r\nb\nc".to_vec(),
                b"a\nb\nc".to_vec(),
                b"a\r\nb\r\nc".to_vec()
            ]
        );
        assert_eq!(
            line_endings(b"a\nb"),
            vec![b"a\nb".to_vec(), b"a\r\nb".to_vec()]
        );
        assert_eq!(line_endings(b"a\rb"), vec![b"a\rb".to_vec()]);
    }

    #[test]
    fn a_secret_with_quotes_has_them_doubled() {
        let forms = forms(b"it's \"q\"");
        let (_, raw) = &forms[0];
        for doubled in [b"it''s \"q\"".as_slice(), b"it's \"\"q\"\""] {
            assert!(raw.iter().any(|form| form.bytes == doubled));
        }
    }

    #[test]
    fn wide_forms_are_utf16_and_utf32_in_both_byte_orders() {
        assert_eq!(
            wide("a\u{e9}\u{1F600}".as_bytes()),
            vec![
                b"a\0\xe9\0\x3d\xd8\x00\xde".to_vec(),
                b"\0a\0\xe9\xd8\x3d\xde\x00".to_vec(),
                b"a\0\0\0\xe9\0\0\0\x00\xf6\x01\0".to_vec(),
                b"\0\0\0a\0\0\0\xe9\0\x01\xf6\x00".to_vec(),
            ]
        );
        // Not UTF-8: each byte widened.
        assert_eq!(wide(b"\xff")[..2], [b"\xff\0".to_vec(), b"\0\xff".to_vec()]);
    }

    #[test]
    fn a_secret_with_a_quote_has_both_single_quoted_forms() {
        assert_eq!(
            single_quoted(b"it's"),
            vec![b"it'\\''s".to_vec(), b"it'\"'\"'s".to_vec()]
        );
        assert_eq!(single_quoted(b"a b"), Vec::<Vec<u8>>::new());
    }

    #[test]
    fn base64_inner_forms_survive_any_neighbours() {
        let secret = b"hunter2-secret";
        let forms = forms(secret);
        let (_, unwrapped) = forms
            .iter()
            .find(|(view, _)| *view == View::Unwrapped)
            .unwrap();
        for prefix in ["", "p", "pr", "pre", "pref"] {
            for suffix in ["", "s", "su", "suf"] {
                let payload = [prefix.as_bytes(), secret, suffix.as_bytes()].concat();
                for engine in [&STANDARD, &URL_SAFE_NO_PAD] {
                    let encoded = engine.encode(&payload).into_bytes();
                    let found = unwrapped.iter().any(|form| {
                        encoded
                            .windows(form.bytes.len())
                            .any(|window| window == form.bytes.as_slice())
                    });
                    assert!(found, "{prefix}+secret+{suffix}");
                }
            }
        }
    }

    #[test]
    fn short_values_keep_their_raw_form_and_long_enough_encodings_and_only_hex_in_any_case() {
        let text = strings(&["=ab"]);
        assert_eq!(
            texts(b"ab"),
            vec![
                (View::Raw, strings(&["6162", "=YWI=", "=ab"])),
                (View::Unwrapped, strings(&["6162", "=YWI="])),
                (View::Escaped, text.clone()),
                (View::Percent, text.clone()),
                (View::Reference, text.clone()),
                (View::QuotedPrintable, text.clone()),
                (View::Hex, strings(&["6162"])),
                (View::Dump, text.clone()),
                (View::DumpSwapped, text.clone()),
                (View::List, text),
            ]
        );
        assert_eq!(texts(b""), Vec::new());
        // One byte: only padded base64 is long enough.
        let text = strings(&["=e"]);
        assert_eq!(
            texts(b"e"),
            vec![
                (View::Raw, strings(&["=ZQ==", "=e"])),
                (View::Unwrapped, strings(&["=ZQ=="])),
                (View::Escaped, text.clone()),
                (View::Percent, text.clone()),
                (View::Reference, text.clone()),
                (View::QuotedPrintable, text.clone()),
                (View::Dump, text.clone()),
                (View::DumpSwapped, text.clone()),
                (View::List, text),
            ]
        );
    }
}
