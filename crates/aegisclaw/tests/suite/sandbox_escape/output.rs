//! Attacks through what a run prints: output meant to exhaust AegisClaw's own memory, and
//! terminal control sequences meant for the user's terminal.

use super::*;

/// The address-space cap `prlimit` puts on the aegisclaw process: half the run's own default
/// memory limit (512 MB), so the run cannot make AegisClaw hold more than it may hold itself.
const AEGISCLAW_ADDRESS_SPACE: u64 = 256 << 20;

/// Runs `aegisclaw --json sandbox run -- sh -c SCRIPT` under `prlimit --as`, in the work
/// directory.
fn run_capped_json(escape: &Escape, script: &str) -> Outcome {
    let before = escape.audit_lines();
    let mut prlimit = std::process::Command::new("prlimit");
    prlimit
        .arg(format!("--as={AEGISCLAW_ADDRESS_SPACE}"))
        .arg("--")
        .arg(env!("CARGO_BIN_EXE_aegisclaw"))
        .args(["sandbox", "run", "--json", "--scope", "shell.exec", "--"])
        .args(["sh", "-c", script]);
    let output = escape
        .env
        .with_env(prlimit)
        .current_dir(&escape.work)
        .output()
        .unwrap();
    Outcome {
        output,
        records: escape.records_since(before),
    }
}

#[test]
fn gigabytes_of_output_to_json_stay_bounded_in_aegisclaws_memory() {
    let escape = Escape::new();
    // 1.5 GB on stdout, a little on stderr.
    let total: u64 = 1_500_000_000;
    let outcome = run_capped_json(
        &escape,
        &format!("echo small >&2; yes aegisclaw 2>/dev/null | head -c {total}"),
    );
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    let document: Value = serde_json::from_str(outcome.stdout().trim()).unwrap();
    assert_eq!(document["stdout_bytes"], total);
    assert_eq!(document["stdout_truncated"], true);
    let kept = 1 << 20;
    let head = document["stdout"].as_str().unwrap();
    let tail = document["stdout_tail"].as_str().unwrap();
    assert_eq!((head.len(), tail.len()), (kept, kept));
    // The head is the first bytes the run wrote and the tail the last (1.5e9 is a multiple
    // of the 10-byte line, so the stream ends with a whole line).
    let lines = "aegisclaw\n".repeat(kept / 10 + 1);
    assert_eq!(head, &lines[..kept]);
    assert_eq!(tail, &lines[lines.len() - kept..]);
    assert_eq!(
        (
            &document["stderr"],
            &document["stderr_bytes"],
            &document["stderr_truncated"],
            &document["stderr_tail"],
        ),
        (
            &serde_json::json!("small\n"),
            &serde_json::json!(6),
            &serde_json::json!(false),
            &Value::Null
        )
    );
    let finished = outcome.finished();
    assert_eq!(finished["data"]["stdout_bytes"], total);
    assert_eq!(finished["decision"], "ok");
}

/// What a hostile run prints at a terminal, one `printf` (one write) each: an OSC 52 clipboard
/// write, a screen clear, a cursor-up and line-erase that would overwrite AegisClaw's own lines
/// followed by a forged status line, a CSI as a UTF-8 C1 control (on stderr) and as a raw
/// 8-bit byte, and a right-to-left override, an isolate, a mark and a BOM, which would make a
/// line read otherwise than it is.
const HOSTILE: [&str; 6] = [
    r"printf '\033]52;c;cHduZWQ=\007'",
    r"printf '\033[2J\033[H'",
    r"printf '\033[1A\033[2K\raegisclaw: run 0000000000000000 exited 0 after 1 ms\n'",
    r"printf '\302\2336n err\n' >&2",
    r"printf '\2336n raw\n'",
    r"printf 'bidi \342\200\256exe.txt \342\201\246iso\342\201\251 \342\200\217m \357\273\277bom\n'",
];

/// Runs `aegisclaw sandbox run [flags] -- sh -c HOSTILE` with a pseudo-terminal as its stdin,
/// stdout and stderr (`script`), and returns every byte the terminal received.
fn run_in_a_terminal(escape: &Escape, flags: &str) -> (Outcome, Vec<u8>) {
    let before = escape.audit_lines();
    let command = format!(
        "{} sandbox run {flags} -- sh -c \"{}\"",
        env!("CARGO_BIN_EXE_aegisclaw"),
        HOSTILE.join("; ")
    );
    let mut script = std::process::Command::new("script");
    script.args(["-q", "-e", "-c", &command, "/dev/null"]);
    let output = escape
        .env
        .with_env(script)
        .env("TERM", "xterm")
        .current_dir(&escape.work)
        .output()
        .unwrap();
    let terminal = output.stdout.clone();
    (
        Outcome {
            output,
            records: escape.records_since(before),
        },
        terminal,
    )
}

/// Whether `haystack` holds `needle` as one contiguous run of bytes.
fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

#[test]
fn terminal_control_sequences_from_a_run_reach_the_terminal_neutralised() {
    let escape = Escape::new();
    let (outcome, terminal) = run_in_a_terminal(&escape, "");
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    let run = outcome.record("run.finished")["run"].as_str().unwrap();
    let text = String::from_utf8(terminal.clone()).expect("the terminal got valid UTF-8");
    // Every control but newline, tab and carriage return arrives as a visible escape; the
    // C1 CSI (UTF-8 or a raw byte) as U+FFFD. The terminal adds `\r` before each `\n`.
    for shown in [
        "^[]52;c;cHduZWQ=^G",
        "^[[2J^[[H",
        "^[[1A^[[2K\raegisclaw: run 0000000000000000 exited 0 after 1 ms\r\n",
        "\u{FFFD}6n err\r\n",
        "\u{FFFD}6n raw\r\n",
        "bidi \\u{202e}exe.txt \\u{2066}iso\\u{2069} \\u{200f}m \\u{feff}bom\r\n",
    ] {
        assert!(text.contains(shown), "{shown:?} is not in {text:?}");
    }
    for bidi in ['\u{202e}', '\u{2066}', '\u{2069}', '\u{200f}', '\u{feff}'] {
        assert!(
            !text.contains(bidi),
            "{bidi:?} reached the terminal: {text:?}"
        );
    }
    assert!(!terminal.iter().any(|byte| matches!(byte, 0x1b | 0x07)));
    // AegisClaw's own summary comes last, on a line of its own.
    let last = text.trim_end().rsplit("\r\n").next().unwrap();
    assert!(
        last.starts_with(&format!("aegisclaw: run {run} exited 0 after ")),
        "{text:?}"
    );
    outcome.finished();
}

#[test]
fn allow_terminal_control_passes_the_runs_bytes_unchanged() {
    let escape = Escape::new();
    let (outcome, terminal) = run_in_a_terminal(&escape, "--allow-terminal-control");
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    for raw in [
        &b"\x1b]52;c;cHduZWQ=\x07"[..],
        b"\x1b[2J\x1b[H",
        b"\x1b[1A\x1b[2K\raegisclaw: run 0000000000000000 exited 0 after 1 ms\r\n",
        b"\xc2\x9b6n err\r\n",
        b"\x9b6n raw\r\n",
        "bidi \u{202e}exe.txt \u{2066}iso\u{2069} \u{200f}m \u{feff}bom\r\n".as_bytes(),
    ] {
        assert!(
            holds(&terminal, raw),
            "{:?} is not in {:?}",
            String::from_utf8_lossy(raw),
            String::from_utf8_lossy(&terminal)
        );
    }
    outcome.finished();
}

#[test]
fn a_bidi_override_in_a_host_name_is_escaped_by_logs() {
    let escape = Escape::new();
    // The proxy records the host a run asked for as written; so does `run.start` its argv.
    let connect = python(
        "import socket\ns=socket.create_connection((\"127.0.0.1\",3128))\ns.sendall(\"CONNECT evil\\u202egpj.com:443 HTTP/1.1\\r\\n\\r\\n\".encode())\nprint(s.recv(12))",
    );
    let outcome = escape.run(
        &["net.outbound:example.com"],
        &format!("{connect}; : '\u{202e}argv'"),
    );
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    let egress = outcome.egress();
    assert_eq!(egress.len(), 1, "{:#?}", outcome.records);
    assert_eq!(egress[0]["data"]["host"], "evil\u{202e}gpj.com");
    assert_eq!(egress[0]["decision"], "deny");

    let logs = escape.env.cmd(&["logs"]).output().unwrap();
    let text = String::from_utf8(logs.stdout).unwrap();
    assert!(!text.contains('\u{202e}'), "{text}");
    assert!(text.contains(r#""host":"evil\u202egpj.com""#), "{text}");
    assert!(text.contains(r"\u202eargv"), "{text}");
    // `--json` spells it as a JSON escape: the same value, nothing raw on the terminal.
    let json = escape
        .env
        .cmd(&["logs", "--json", "--kind", "net.egress"])
        .output()
        .unwrap();
    let line = String::from_utf8(json.stdout).unwrap();
    assert!(!line.contains('\u{202e}'), "{line}");
    let record: Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(record["data"]["host"], "evil\u{202e}gpj.com");
}

#[test]
fn a_workdir_no_scope_covers_is_named_on_stderr_not_silently_swapped() {
    let escape = Escape::new();
    let work = escape.work.display().to_string();
    let notice = format!(
        "aegisclaw: `--workdir {work}` is not covered by a files.* scope: the run works in its private /tmp"
    );
    let outcome = escape.run_args(&["sandbox", "run", "--workdir", &work, "--", "pwd"]);
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    assert_eq!(outcome.stdout(), "/tmp\n");
    assert_eq!(
        outcome
            .stderr()
            .lines()
            .filter(|line| *line == notice)
            .count(),
        1,
        "{}",
        outcome.stderr()
    );
    // On stderr with `--json` too, never in its stdout document.
    let json = escape.run_args(&["sandbox", "run", "--json", "--workdir", &work, "--", "pwd"]);
    assert!(json.stderr().contains(&notice), "{}", json.stderr());
    assert!(!json.stdout().contains("not covered"));
    // A scope that covers it: no notice, the run works there.
    let covered = escape.run_args(&[
        "sandbox",
        "run",
        "--scope",
        "files.read",
        "--workdir",
        &work,
        "--",
        "pwd",
    ]);
    assert_eq!(covered.stdout(), format!("{work}\n"));
    assert!(
        !covered.stderr().contains("not covered"),
        "{}",
        covered.stderr()
    );
    outcome.finished();
}

#[test]
fn input_piped_to_a_run_is_named_on_stderr_not_silently_dropped() {
    let escape = Escape::new();
    let notice = "aegisclaw: stdin is /dev/null (the run reads no input)";
    let before = escape.audit_lines();
    let output = escape
        .env
        .cmd(&["sandbox", "run", "--", "cat"])
        .current_dir(&escape.work)
        .write_stdin("meant for the run\n")
        .output()
        .unwrap();
    let outcome = Outcome {
        output,
        records: escape.records_since(before),
    };
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    assert_eq!(outcome.stdout(), "");
    assert_eq!(
        outcome
            .stderr()
            .lines()
            .filter(|line| *line == notice)
            .count(),
        1,
        "{}",
        outcome.stderr()
    );
    outcome.finished();
    // Nothing to say when AegisClaw's own stdin is /dev/null.
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_aegisclaw"));
    command.args(["sandbox", "run", "--", "cat"]);
    let quiet = escape
        .env
        .with_env(command)
        .current_dir(&escape.work)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&quiet.stderr).contains("stdin"),
        "{quiet:?}"
    );
}

#[test]
fn a_workdir_named_with_terminal_control_is_shown_escaped_in_the_notice() {
    let escape = Escape::new();
    // A directory whose name clears the screen, returns the cursor and reverses the text.
    let evil = escape.work.join("dir\x1b[2J\r\u{202e}gnp.exe");
    std::fs::create_dir(&evil).unwrap();
    let outcome = escape.run_args(&[
        "sandbox",
        "run",
        "--workdir",
        evil.to_str().unwrap(),
        "--",
        "pwd",
    ]);
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    let stderr = outcome.stderr();
    let notice = format!(
        "aegisclaw: `--workdir {}/dir\\u{{1b}}[2J\\r\\u{{202e}}gnp.exe` is not covered by a files.* scope: the run works in its private /tmp",
        escape.work.display()
    );
    assert!(stderr.lines().any(|line| line == notice), "{stderr}");
    assert!(!stderr.contains(['\x1b', '\r', '\u{202e}']), "{stderr:?}");
    outcome.finished();
}
