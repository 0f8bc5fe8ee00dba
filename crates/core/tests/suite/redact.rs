//! Integration tests: redact. Secrets in every common encoding, at any offset, split into any
//! chunks, never survive; text without secrets passes through byte-identical (proptest), and
//! known documents (serde_json, URL query strings, base64 payloads, hex dumps) come out exact.

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

fn secret_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(0x20u8..0x7f, 1..=64),
        proptest::collection::vec(any::<u8>(), 1..=64),
    ]
}

fn text_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(0x20u8..0x7f, 0..80),
        proptest::collection::vec(any::<u8>(), 0..80),
    ]
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
        texts in proptest::collection::vec(text_strategy(), 8),
        sizes in proptest::collection::vec(1usize..40, 1..8),
    ) {
        let redactor = Redactor::new(&[&secret]).unwrap();
        let blob = STANDARD.encode([texts[6].as_slice(), &secret, &texts[7]].concat());
        let hex = hex::encode(&secret);
        let mut input = texts[0].clone();
        for (form, text) in [
            (secret.clone(), &texts[1]),
            (blob.clone().into_bytes(), &texts[2]),
            (hex.clone().into_bytes(), &texts[3]),
            (hex.to_uppercase().into_bytes(), &texts[4]),
            (percent(&secret), &texts[5]),
        ] {
            input.extend(form);
            input.extend(text);
        }
        let mut forms = vec![
            hex.clone().into_bytes(),
            hex.to_uppercase().into_bytes(),
            percent(&secret),
            embedded_base64(blob.as_bytes(), texts[6].len(), secret.len()),
        ];
        for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
            forms.push(engine.encode(&secret).into_bytes());
        }
        if let Ok(text) = std::str::from_utf8(&secret) {
            let json = serde_json::to_string(text).unwrap();
            input.extend(json.as_bytes());
            forms.push(json.trim_matches('"').as_bytes().to_vec());
        }
        forms.retain(|form| form.len() >= MIN_ENCODED_LEN);
        forms.push(secret.clone());

        let output = stream(&redactor, &input, &sizes);
        for form in &forms {
            prop_assert!(
                only_inside_markers(&output, form),
                "form {:?} survives in {:?}",
                String::from_utf8_lossy(form),
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
