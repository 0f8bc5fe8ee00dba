//! Escapes of a secret through its accidental encodings: real tools inside the sandbox (`base64`,
//! `xxd`, `od`, `hexdump`, Python's `json`/`urllib`/`shlex`/`html`/`quopri`/`email`/`csv`,
//! codecs, `list()` and `pprint`, bash's `printf %q`, `${…@Q}` and `declare -p`, `sed` turning LF
//! into CRLF, `tr` changing case) print an injected secret; nothing of it may reach stdout,
//! stderr or the audit log, and the run's records must say what was emitted.

use super::*;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// 84 bytes (its base64 wraps at 76 and 64 columns) with quotes, spaces, `$`, a backslash,
/// `<`, `&` and non-ASCII: every quoting and escaping tool has something to do.
const LONG: &str =
    "it's a \"long\" $secret\\value <&> é-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLM";

/// A PEM-like multi-line secret, stored with LF.
const PEM: &str = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\nVJTUt9Us8cKjMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDu\n-----END PRIVATE KEY-----";

/// A multi-line secret stored with CRLF.
const CRLF: &str = "line-one-of-the-key-0123456789\r\nline-two-of-the-key-abcdefghij\r\nend";

fn set_secret(escape: &Escape, name: &str, value: &str) {
    escape
        .env
        .cmd(&["secrets", "set", name])
        .write_stdin(value)
        .assert()
        .success();
}

/// Asserts that `text` holds no trace of `secret`: no 12-byte run of its value, of any of its
/// lines, and no 16-character run of its base64 or hex.
fn assert_no_trace(what: &str, text: &str, secret: &str) {
    let base64 = STANDARD.encode(secret);
    let hex = hex::encode(secret);
    let mut runs: Vec<&[u8]> = Vec::new();
    for (form, width) in [(secret, 12), (base64.as_str(), 16), (hex.as_str(), 16)] {
        runs.extend(form.as_bytes().windows(width.min(form.len())));
    }
    for run in runs {
        let run = String::from_utf8_lossy(run);
        assert!(!text.contains(&*run), "{what} holds `{run}`:\n{text}");
    }
}

/// What the program wrote to stderr: AegisClaw's own `aegisclaw: ` status lines removed.
fn program_stderr(outcome: &Outcome) -> String {
    outcome
        .stderr()
        .split_inclusive('\n')
        .filter(|line| !line.starts_with("aegisclaw: "))
        .collect()
}

/// The run finished with every layer in force, was given exactly `secrets`, recorded the byte
/// counts it emitted, and its whole audit log holds no trace of `values`.
fn assert_recorded(escape: &Escape, outcome: &Outcome, secrets: &[&str], values: &[&str]) {
    let finished = outcome.finished();
    assert_eq!(
        outcome.record("run.launch")["data"]["secrets"],
        serde_json::json!(secrets)
    );
    assert_eq!(
        finished["data"]["stdout_bytes"],
        outcome.output.stdout.len() as u64
    );
    assert_eq!(
        finished["data"]["stderr_bytes"],
        program_stderr(outcome).len() as u64
    );
    let log = std::fs::read_to_string(escape.env.home().join("audit/audit.jsonl")).unwrap();
    for value in values {
        assert_no_trace("the audit log", &log, value);
        assert_no_trace("stdout", &outcome.stdout(), value);
        assert_no_trace("stderr", &outcome.stderr(), value);
    }
}

#[test]
fn wrapped_base64_of_a_long_secret_is_redacted() {
    let escape = Escape::new();
    set_secret(&escape, "API_TOKEN", LONG);
    // `base64` wraps at 76 columns by default; `-w 64` as PEM; after a 3-byte prefix the
    // breaks fall at other offsets of the secret; `sed` turns the breaks into CRLF; `xxd -p`
    // wraps hex at 60.
    let script = r#"printf %s "$API_TOKEN" | base64
printf %s "$API_TOKEN" | base64 -w 64
printf abc%s "$API_TOKEN" | base64 -w 20
printf %s "$API_TOKEN" | base64 | sed 's/$/\r/'
printf %s "$API_TOKEN" | xxd -p
printf %s "$API_TOKEN" | base64 -w 7 >&2"#;
    let outcome = escape.run(&["secrets.read:API_TOKEN"], script);
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    assert_eq!(
        outcome.stdout(),
        "[REDACTED:API_TOKEN]\n[REDACTED:API_TOKEN]\nYWJj[REDACTED:API_TOKEN]\n\
         [REDACTED:API_TOKEN]\r\n[REDACTED:API_TOKEN]\n"
    );
    assert_eq!(program_stderr(&outcome), "[REDACTED:API_TOKEN]\n");
    assert_recorded(&escape, &outcome, &["API_TOKEN"], &[LONG]);
}

#[test]
fn json_unicode_escapes_of_a_secret_are_redacted() {
    let escape = Escape::new();
    set_secret(&escape, "API_TOKEN", LONG);
    // Python's default `ensure_ascii`; every character as `\uXXXX`, lower and upper hex; Go's
    // HTML-safe `\u003c`, `\u003e`, `\u0026` beside raw UTF-8.
    let script = python(
        r#"import json,os
t=os.environ["API_TOKEN"]
print(json.dumps({"t": t}))
print("".join("\\u%04x" % ord(c) for c in t))
print("".join("\\u%04X" % ord(c) for c in t))
print(json.dumps(t, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))"#,
    );
    let outcome = escape.run(&["secrets.read:API_TOKEN"], &script);
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    assert_eq!(
        outcome.stdout(),
        "{\"t\": \"[REDACTED:API_TOKEN]\"}\n[REDACTED:API_TOKEN]\n[REDACTED:API_TOKEN]\n\
         \"[REDACTED:API_TOKEN]\"\n"
    );
    assert_recorded(&escape, &outcome, &["API_TOKEN"], &[LONG]);
}

#[test]
fn percent_encoding_of_every_byte_of_a_secret_is_redacted() {
    let escape = Escape::new();
    set_secret(&escape, "API_TOKEN", LONG);
    let script = python(
        r#"import os,urllib.parse
t=os.environ["API_TOKEN"].encode()
print("".join("%%%02X" % b for b in t))
print("".join("%%%02x" % b for b in t))
print("https://example.com/cb?token=" + urllib.parse.quote_plus(t) + "&next=%2Fhome")
print(urllib.parse.quote(t, safe="/$&"))"#,
    );
    let outcome = escape.run(&["secrets.read:API_TOKEN"], &script);
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    assert_eq!(
        outcome.stdout(),
        "[REDACTED:API_TOKEN]\n[REDACTED:API_TOKEN]\n\
         https://example.com/cb?token=[REDACTED:API_TOKEN]&next=%2Fhome\n[REDACTED:API_TOKEN]\n"
    );
    assert_recorded(&escape, &outcome, &["API_TOKEN"], &[LONG]);
}

#[test]
fn shell_quoted_secret_is_redacted() {
    let escape = Escape::new();
    set_secret(&escape, "API_TOKEN", LONG);
    // bash's `printf %q` (backslashes), `${…@Q}` (`'…'\''…'`), `declare -p` (double quotes),
    // xtrace on stderr, and Python's `shlex.quote` (`'"'"'`).
    let script = format!(
        r#"bash -c 'printf "%q\n" "$API_TOKEN"; echo "${{API_TOKEN@Q}}"; declare -p API_TOKEN; set -x; : "$API_TOKEN"'; {}"#,
        python(r#"import os,shlex; print(shlex.quote(os.environ["API_TOKEN"]))"#)
    );
    let outcome = escape.run(&["secrets.read:API_TOKEN"], &script);
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    assert_eq!(
        outcome.stdout(),
        "[REDACTED:API_TOKEN]\n'[REDACTED:API_TOKEN]'\n\
         declare -x API_TOKEN=\"[REDACTED:API_TOKEN]\"\n'[REDACTED:API_TOKEN]'\n"
    );
    assert_eq!(program_stderr(&outcome), "+ : '[REDACTED:API_TOKEN]'\n");
    assert_recorded(&escape, &outcome, &["API_TOKEN"], &[LONG]);
}

#[test]
fn multi_line_secret_with_its_line_endings_changed_is_redacted() {
    let escape = Escape::new();
    set_secret(&escape, "PEM_KEY", PEM);
    set_secret(&escape, "CRLF_KEY", CRLF);
    // LF turned into CRLF by `sed`, then in base64 (wrapped); bash's `$'…'` quoting of the
    // newlines; the CRLF secret printed with LF by `tr`, and in JSON.
    let script = format!(
        r#"printf '%s\n' "$PEM_KEY" | sed 's/$/\r/'
{}
bash -c 'printf "%q\n" "$PEM_KEY"'
printf '%s\n' "$CRLF_KEY" | tr -d '\r'
{}"#,
        python(
            r#"import base64,os; print(base64.encodebytes(os.environ["PEM_KEY"].replace("\n", "\r\n").encode()).decode(), end="")"#
        ),
        python(
            r#"import json,os; print(json.dumps(os.environ["CRLF_KEY"].replace("\r\n", "\n")))"#
        ),
    );
    let outcome = escape.run(&["secrets.read:PEM_KEY", "secrets.read:CRLF_KEY"], &script);
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    assert_eq!(
        outcome.stdout(),
        "[REDACTED:PEM_KEY]\r\n[REDACTED:PEM_KEY]\n$'[REDACTED:PEM_KEY]'\n\
         [REDACTED:CRLF_KEY]\n\"[REDACTED:CRLF_KEY]\"\n"
    );
    let lines: Vec<&str> = PEM
        .lines()
        .chain(CRLF.lines())
        .filter(|line| line.len() >= 12)
        .collect();
    assert_recorded(
        &escape,
        &outcome,
        &["PEM_KEY", "CRLF_KEY"],
        &[&[PEM, CRLF][..], &lines].concat(),
    );
}

/// Runs `script` with the long secret and asserts its stdout is exactly `expected` and that
/// nothing of the secret reached stdout, stderr or the audit log.
fn assert_redacted_run(script: &str, expected: &[u8]) {
    let escape = Escape::new();
    set_secret(&escape, "API_TOKEN", LONG);
    let outcome = escape.run(&["secrets.read:API_TOKEN"], script);
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    assert_eq!(
        outcome.output.stdout,
        expected,
        "{:?}",
        String::from_utf8_lossy(&outcome.output.stdout)
    );
    assert_recorded(&escape, &outcome, &["API_TOKEN"], &[LONG]);
}

#[test]
fn html_character_references_of_a_secret_are_redacted() {
    // `html.escape` (named and `&#x27;`), `xmlcharrefreplace` (`&#233;`), every character in
    // decimal with leading zeros, in hex with `&#X` and upper-case digits.
    let script = python(
        r#"import html,os
t=os.environ["API_TOKEN"]
print(html.escape(t))
print(t.encode("ascii", "xmlcharrefreplace").decode())
print("".join("&#%05d;" % ord(c) for c in t))
print("".join("&#X%X;" % ord(c) for c in t))"#,
    );
    assert_redacted_run(&script, &b"[REDACTED:API_TOKEN]\n".repeat(4));
}

#[test]
fn quoted_printable_of_a_secret_is_redacted() {
    // `quopri` wraps past 76 columns with a soft break (`=\n`); with `quotetabs` spaces are
    // `=20`; an `email` message for SMTP writes CRLF soft breaks.
    let script = python(
        r#"import email.message,email.policy,os,quopri,sys
t=os.environ["API_TOKEN"]
sys.stdout.buffer.write(quopri.encodestring(t.encode()) + b"\n")
sys.stdout.buffer.write(quopri.encodestring(t.encode(), quotetabs=True) + b"\n")
m=email.message.EmailMessage(policy=email.policy.SMTP)
m.set_content(t, cte="quoted-printable")
sys.stdout.buffer.write(m.as_bytes().split(b"\r\n\r\n", 1)[1])"#,
    );
    assert_redacted_run(
        &script,
        b"[REDACTED:API_TOKEN]\n[REDACTED:API_TOKEN]\n[REDACTED:API_TOKEN]\r\n",
    );
}

#[test]
fn utf16_and_utf32_of_a_secret_are_redacted() {
    // Python's `utf-16` writes a BOM and little-endian units; `utf-16-be`; `utf-32`.
    let script = python(
        r#"import os,sys
t=os.environ["API_TOKEN"]
for codec in ["utf-16", "utf-16-be", "utf-32"]:
    sys.stdout.buffer.write(t.encode(codec) + b"\n")"#,
    );
    let expected = [
        b"\xff\xfe[REDACTED:API_TOKEN]\n".as_slice(),
        b"[REDACTED:API_TOKEN]\n",
        b"\xff\xfe\0\0[REDACTED:API_TOKEN]\n",
    ]
    .concat();
    assert_redacted_run(&script, &expected);
}

#[test]
fn hex_with_separators_or_mixed_case_of_a_secret_is_redacted() {
    // `od -An -tx1` (lines of 16 pairs, each after a space), `xxd -p -c1` (a pair per line),
    // Python's `bytes.hex(":")`, C-array `0xDE, 0xAD`, and mixed-case digits.
    let script = format!(
        r#"printf %s "$API_TOKEN" | od -An -tx1
printf %s "$API_TOKEN" | xxd -p -c1
{}"#,
        python(
            r#"import os
t=os.environ["API_TOKEN"].encode()
print(t.hex(":"))
print(", ".join("0x%02X" % b for b in t))
print("".join(c.upper() if i % 3 else c for i, c in enumerate(t.hex())))"#
        )
    );
    assert_redacted_run(
        &script,
        b" [REDACTED:API_TOKEN]\n[REDACTED:API_TOKEN]\n[REDACTED:API_TOKEN]\n\
          0x[REDACTED:API_TOKEN]\n[REDACTED:API_TOKEN]\n",
    );
}

#[test]
fn doubled_quotes_of_a_secret_are_redacted() {
    // A CSV field (`""` for `"`) and an SQL or YAML single-quoted string (`''` for `'`).
    let script = python(
        r#"import csv,os,sys
t=os.environ["API_TOKEN"]
csv.writer(sys.stdout, lineterminator="\n").writerow([t])
q=chr(39)
print("INSERT INTO t VALUES (" + q + t.replace(q, q + q) + q + ");")"#,
    );
    assert_redacted_run(
        &script,
        b"\"[REDACTED:API_TOKEN]\"\nINSERT INTO t VALUES ('[REDACTED:API_TOKEN]');\n",
    );
}

#[test]
fn a_secret_dumped_with_od_c_is_scrubbed() {
    // `od -c` (octal offsets, a character in each 4-column field, `303 251` for `é`, lines of
    // 16), without offsets, and `hexdump -c` of the secret between other text, its last line
    // padded with blank fields.
    let script = r#"printf %s "$API_TOKEN" | od -c
printf %s "$API_TOKEN" | od -An -c
printf 'prefix %s suffix' "$API_TOKEN" | hexdump -c"#;
    let expected = format!(
        "0000000[REDACTED:API_TOKEN]\n0000126\n[REDACTED:API_TOKEN]\n\
         0000000   p   r   e   f   i   x    [REDACTED:API_TOKEN]       s   u\n\
         0000060   f   f   i   x{}\n0000064\n",
        " ".repeat(48)
    );
    assert_redacted_run(script, expected.as_bytes());
}

#[test]
fn a_secret_dumped_as_byte_swapped_hex_is_scrubbed() {
    // Little-endian 16-bit words (`od -x`, `hexdump`, its last line padded with spaces that
    // stay), 32-bit groups with a text column (`xxd -e`, the last group right-aligned), and 32-
    // and 64-bit words with the secret at an odd offset (the partial words at either end
    // zero-padded by `od`).
    let script = r#"printf %s "$API_TOKEN" | od -x
printf %s "$API_TOKEN" | hexdump
printf %s "$API_TOKEN" | xxd -e
printf x%s "$API_TOKEN" | od -An -tx4
printf xyz%s "$API_TOKEN" | od -tx8"#;
    let expected = format!(
        "0000000 [REDACTED:API_TOKEN]\n0000126\n0000000 [REDACTED:API_TOKEN]{}\n0000056\n\
         00000000: [REDACTED:API_TOKEN]\n [REDACTED:API_TOKEN]\n\
         0000000 [REDACTED:API_TOKEN]\n0000131\n",
        " ".repeat(25)
    );
    assert_redacted_run(script, expected.as_bytes());
}

#[test]
fn a_secret_in_a_hex_dump_with_offsets_and_a_text_column_is_scrubbed() {
    // `xxd` and `hexdump -C` by default (offsets, a text column holding the secret's
    // characters on every line), `od -tx1` with offsets, `xxd -g1` after two other bytes.
    let script = r#"printf %s "$API_TOKEN" | xxd
printf %s "$API_TOKEN" | hexdump -C
printf %s "$API_TOKEN" | od -tx1
printf ab%s "$API_TOKEN" | xxd -g1"#;
    assert_redacted_run(
        script,
        b"00000000: [REDACTED:API_TOKEN]\n00000000  [REDACTED:API_TOKEN]\n00000056\n\
          0000000 [REDACTED:API_TOKEN]\n0000126\n00000000: 61 62 [REDACTED:API_TOKEN]\n",
    );
}

#[test]
fn a_secret_printed_as_a_python_list_of_its_characters_or_bytes_is_scrubbed() {
    // `list()` of the string and of its bytes, as JSON, a tuple, `pprint` (one element a
    // line), `print(*bytes)` (space-separated), and the `bytes` and `bytearray` reprs.
    let script = python(
        r#"import json,os,pprint
t=os.environ["API_TOKEN"]
b=t.encode()
print(list(t))
print(list(b))
print(json.dumps(list(t)))
print(tuple(b))
pprint.pprint(list(t))
print(*b)
print(repr(b))
print(bytearray(b))"#,
    );
    assert_redacted_run(
        &script,
        b"[[REDACTED:API_TOKEN]]\n[[REDACTED:API_TOKEN]]\n[[REDACTED:API_TOKEN]]\n\
          ([REDACTED:API_TOKEN])\n[[REDACTED:API_TOKEN]]\n[REDACTED:API_TOKEN]\n\
          b'[REDACTED:API_TOKEN]'\nbytearray(b'[REDACTED:API_TOKEN]')\n",
    );
}

#[test]
fn a_case_changed_secret_is_scrubbed() {
    // Upper-cased and case-swapped by `tr`, title-cased bytes, and upper-cased then JSON-escaped
    // (ASCII letters only: `é` stays as it is).
    let script = format!(
        r#"printf '%s\n' "$API_TOKEN" | tr a-z A-Z
printf '%s\n' "$API_TOKEN" | tr A-Za-z a-zA-Z
{}"#,
        python(
            r#"import json,os,sys
b=os.environ["API_TOKEN"].encode()
sys.stdout.buffer.write(b.title() + b"\n")
print(json.dumps(b.upper().decode()))"#
        )
    );
    assert_redacted_run(
        &script,
        b"[REDACTED:API_TOKEN]\n[REDACTED:API_TOKEN]\n[REDACTED:API_TOKEN]\n\
          \"[REDACTED:API_TOKEN]\"\n",
    );
}
