//! RFC 8785 (JSON Canonicalization Scheme) serialisation of `serde_json::Value`.
//! Owns the exact bytes that signatures and audit hashes cover; does not parse or validate.

use serde_json::Value;
use std::fmt::{self, Write as _};

/// Error from canonicalisation: JCS has no form for these values.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CanonicalError {
    /// A number that is not finite (serde_json cannot normally hold one, but guard anyway).
    #[error("number `{text}` has no canonical JSON form")]
    NonFiniteNumber {
        /// The number as serde_json printed it.
        text: String,
    },
}

/// Serialises `value` as RFC 8785 canonical JSON.
pub fn to_canonical_vec(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = String::with_capacity(256);
    write_value(&mut out, value)?;
    Ok(out.into_bytes())
}

/// Serialises `value` as RFC 8785 canonical JSON into a `String`.
pub fn to_canonical_string(value: &Value) -> Result<String, CanonicalError> {
    let mut out = String::with_capacity(256);
    write_value(&mut out, value)?;
    Ok(out)
}

/// Appends the canonical form of `value` to `out`.
pub fn write_value(out: &mut String, value: &Value) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        Value::Number(number) => write_number(out, number)?,
        Value::String(text) => write_string(out, text),
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_value(out, item)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            // JCS orders keys by their UTF-16 code units, which differs from Rust's byte order
            // only for characters above U+FFFF against U+E000..=U+FFFF.
            let mut keys: Vec<&String> = map.keys().collect();
            if keys.iter().any(|key| !key.is_ascii()) {
                keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            } else {
                keys.sort_unstable();
            }
            out.push('{');
            for (index, key) in keys.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_string(out, key);
                out.push(':');
                if let Some(item) = map.get(key) {
                    write_value(out, item)?;
                }
            }
            out.push('}');
        }
    }
    Ok(())
}

fn write_number(out: &mut String, number: &serde_json::Number) -> Result<(), CanonicalError> {
    if let Some(integer) = number.as_i64() {
        write_integer(out, integer.unsigned_abs(), integer as f64, integer);
        return Ok(());
    }
    if let Some(integer) = number.as_u64() {
        write_integer(out, integer, integer as f64, integer);
        return Ok(());
    }
    let float = number.as_f64().unwrap_or(f64::NAN);
    if !float.is_finite() {
        return Err(CanonicalError::NonFiniteNumber {
            text: number.to_string(),
        });
    }
    write_float(out, float);
    Ok(())
}

/// Integers within ±2^53 print exactly; larger ones go through the double, as JCS requires.
fn write_integer(out: &mut String, magnitude: u64, as_float: f64, exact: impl fmt::Display) {
    const SAFE: u64 = 1 << 53;
    if magnitude <= SAFE {
        let _ = write!(out, "{exact}");
    } else {
        write_float(out, as_float);
    }
}

fn write_float(out: &mut String, float: f64) {
    if float == 0.0 {
        // Negative zero serialises as 0.
        out.push('0');
        return;
    }
    let mut buffer = ryu_js::Buffer::new();
    out.push_str(buffer.format_finite(float));
}

fn write_string(out: &mut String, text: &str) {
    out.push('"');
    let mut start = 0;
    for (index, byte) in text.bytes().enumerate() {
        let escape: Option<&str> = match byte {
            b'"' => Some("\\\""),
            b'\\' => Some("\\\\"),
            b'\x08' => Some("\\b"),
            b'\x0c' => Some("\\f"),
            b'\n' => Some("\\n"),
            b'\r' => Some("\\r"),
            b'\t' => Some("\\t"),
            0x00..=0x1f => None,
            _ => continue,
        };
        out.push_str(&text[start..index]);
        match escape {
            Some(sequence) => out.push_str(sequence),
            None => {
                let _ = write!(out, "\\u{byte:04x}");
            }
        }
        start = index + 1;
    }
    out.push_str(&text[start..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon(value: Value) -> String {
        to_canonical_string(&value).unwrap()
    }

    #[test]
    fn sorts_keys_and_drops_whitespace() {
        assert_eq!(
            canon(json!({"b": 1, "a": [true, null, "x"], "c": {"z": 0, "y": -0.0}})),
            r#"{"a":[true,null,"x"],"b":1,"c":{"y":0,"z":0}}"#
        );
    }

    /// Known-answer vectors from RFC 8785 §3.2.2 (numbers) and Appendix B.
    #[test]
    fn rfc8785_number_vectors() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (333333333.3333333, "333333333.3333333"),
            (1e-7, "1e-7"),
            (0.000001, "0.000001"),
            (4.50, "4.5"),
            (2e-3, "0.002"),
            (1e-27, "1e-27"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (-1.5, "-1.5"),
            (9007199254740992.0, "9007199254740992"),
            (295147905179352830000.0, "295147905179352830000"),
        ];
        for (input, expected) in cases {
            assert_eq!(canon(json!(input)), *expected, "number {input:e}");
        }
        assert_eq!(
            canon(json!(18446744073709551615u64)),
            "18446744073709552000"
        );
        assert_eq!(canon(json!(-9007199254740993i64)), "-9007199254740992");
        assert_eq!(canon(json!(42)), "42");
    }

    /// RFC 8785 §3.2.3: sorting by UTF-16 code units, not by bytes.
    #[test]
    fn rfc8785_key_order_vector() {
        let input: Value = serde_json::from_str(
            r#"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}"#,
        )
        .unwrap();
        assert_eq!(
            canon(input),
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u{80}\":\"Control\",\"\u{f6}\":\"Latin Small Letter O With Diaeresis\",\"\u{20ac}\":\"Euro Sign\",\"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}"
        );
    }

    #[test]
    fn rfc8785_string_escapes() {
        let input: Value =
            serde_json::from_str(r#""\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/""#).unwrap();
        assert_eq!(canon(input), r#""€$\u000f\nA'B\"\\\\\"/""#);
    }

    #[test]
    fn rfc8785_appendix_b_structure() {
        let input: Value = serde_json::from_str(
            r#"{"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
                "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
                "literals": [null, true, false]}"#,
        )
        .unwrap();
        assert_eq!(
            canon(input),
            r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#
        );
    }
}
