//! Escaping untrusted text that AegisClaw prints as data (audit fields, lockdown reasons, JSON
//! documents): control, bidi and other invisible characters become visible escapes, so text
//! from a run or the log cannot reorder, hide or forge what the user reads. Does not decide
//! what is untrusted (callers escape every data field).

use std::borrow::Cow;

/// Whether `c` must not reach a reader raw: a control, a bidi or other invisible format
/// character, or anything else Rust's debug escaping would not print as itself (which escapes
/// U+202E, zero-width characters, C1 controls, unassigned code points...).
fn is_suspect(c: char) -> bool {
    !matches!(c, '"' | '\\' | '\'') && c.escape_debug().nth(1).is_some()
}

/// A data field for a human line of `name=value` pairs: the text itself when it is plain (no
/// whitespace, quote, backslash or suspect character), else quoted and escaped like Rust's
/// `{:?}` (`"a\u{202e}b"`), as `reason` always is.
pub(crate) fn field(text: &str) -> Cow<'_, str> {
    let plain = !text.is_empty()
        && !text
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '"' | '\\') || is_suspect(c));
    if plain {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(format!("{text:?}"))
    }
}

/// Free text (a reason, a name) with each suspect character written as its Rust escape
/// (`\u{202e}`), everything else as it is.
pub(crate) fn text(text: &str) -> Cow<'_, str> {
    escaped(text, is_suspect)
}

/// A message of AegisClaw's own that may quote untrusted text (an error naming a skill's file,
/// a manifest's field): [`text`], but its lines stay lines.
pub(crate) fn message(text: &str) -> Cow<'_, str> {
    escaped(text, |c| c != '\n' && is_suspect(c))
}

fn escaped(text: &str, suspect: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(&suspect) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if suspect(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A serialized JSON text with every suspect character written as a `\uXXXX` escape (a
/// surrogate pair above U+FFFF). The JSON value is the same; only its spelling changes.
/// serde_json already escapes `"`, `\` and C0 controls, and JSON's structure is ASCII, so
/// what is left to escape lies inside strings, where `\u` escapes are valid.
pub(crate) fn json(text: String) -> String {
    if text.bytes().all(|byte| (0x20..0x7f).contains(&byte)) || !text.chars().any(is_suspect) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_suspect(c) {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                out.push_str(&format!("\\u{unit:04x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_fields_stay_and_others_are_quoted_and_escaped() {
        for plain in ["word-count", "cli:tester", "files.read:/tmp/été", "allow"] {
            assert_eq!(field(plain), plain);
        }
        assert_eq!(field("evil\u{202e}moc.com"), r#""evil\u{202e}moc.com""#);
        assert_eq!(field("a\u{200b}b"), r#""a\u{200b}b""#);
        assert_eq!(field("\x1b[2J"), r#""\u{1b}[2J""#);
        assert_eq!(
            field("cli:eve  decision=allow"),
            r#""cli:eve  decision=allow""#
        );
        assert_eq!(field("say \"hi\""), r#""say \"hi\"""#);
        assert_eq!(field(""), r#""""#);
    }

    #[test]
    fn free_text_keeps_its_spaces_and_loses_its_invisible_characters() {
        assert_eq!(text("incident 42: \"x\""), "incident 42: \"x\"");
        assert_eq!(text("a\u{202e}b\tc\x1b"), r"a\u{202e}b\tc\u{1b}");
        assert_eq!(text("one\ntwo"), r"one\ntwo");
        assert_eq!(message("one\ntwo\u{202e}"), "one\ntwo\\u{202e}");
    }

    #[test]
    fn json_keeps_its_value_and_loses_its_invisible_characters() {
        let value = serde_json::json!({
            "host": "evil\u{202e}moc.com",
            "argv": ["\u{85}\u{7f}", "\u{e0001}", "é ✓ \"q\" \\"],
        });
        let text = json(value.to_string());
        assert_eq!(
            text,
            r#"{"argv":["\u0085\u007f","\udb40\udc01","é ✓ \"q\" \\"],"host":"evil\u202emoc.com"}"#
        );
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            value
        );
        let plain = r#"{"a":"b c"}"#.to_string();
        assert_eq!(json(plain.clone()), plain);
    }
}
