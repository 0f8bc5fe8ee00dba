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
        .args(["sandbox", "run", "--json", "--", "sh", "-c", script]);
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
