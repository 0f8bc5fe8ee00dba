//! The terminal approver, driven in a real pseudo-terminal: a scope the policy marks
//! `needs_approval` is asked about; "once" runs this time only, "always" is remembered, "deny"
//! refuses — and each answer is an audit record.

use super::common::TestEnv;
use rexpect::session::{PtySession, spawn_command};
use std::process::Command;

const DOWN: &str = "\x1b[B";
const ENTER: &str = "\r";

fn answer(session: &mut PtySession, prompt: &str, keys: &[&str]) {
    session.exp_string(prompt).unwrap();
    session.exp_string("\x1b[?25h").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(150));
    for key in keys {
        session.send(key).unwrap();
        session.flush().unwrap();
    }
}

/// `sandbox run --scope files.write -- sh -c ...` in a terminal, from a work directory.
fn run_in_terminal(env: &TestEnv) -> PtySession {
    run_script_in_terminal(env, "echo approved-run > out.txt; echo RAN")
}

/// `sandbox run --scope files.write -- sh -c SCRIPT` in a terminal, from a work directory.
fn run_script_in_terminal(env: &TestEnv, script: &str) -> PtySession {
    let work = env.home().with_file_name("work");
    std::fs::create_dir_all(&work).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_aegisclaw"));
    command
        .args([
            "sandbox",
            "run",
            "--scope",
            "files.write",
            "--",
            "sh",
            "-c",
            script,
        ])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("TERM", "xterm")
        .env("AEGISCLAW_HOME", env.home())
        .env("AEGISCLAW_ACTOR", "tester")
        .env("HOME", env.home().with_file_name("user"))
        .current_dir(&work);
    spawn_command(command, Some(20_000)).unwrap()
}

fn kinds(env: &TestEnv) -> Vec<String> {
    std::fs::read_to_string(env.home().join("audit/audit.jsonl"))
        .unwrap()
        .lines()
        .map(|line| {
            serde_json::from_str::<serde_json::Value>(line).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

#[test]
fn unsigned_write_asks_and_deny_refuses() {
    let env = TestEnv::initialised();
    let mut session = run_in_terminal(&env);
    // The first choice is Deny: the safe answer is the default.
    answer(&mut session, "Allow `files.write:", &[ENTER]);
    session.exp_string("refused").unwrap();
    session.exp_eof().unwrap();
    assert!(!env.home().with_file_name("work").join("out.txt").exists());
    let kinds = kinds(&env);
    assert!(kinds.contains(&"approval.denied".to_string()), "{kinds:?}");
    assert!(kinds.contains(&"run.refused".to_string()), "{kinds:?}");
}

#[test]
fn allow_once_runs_and_always_is_remembered() {
    let env = TestEnv::initialised();
    let mut session = run_in_terminal(&env);
    answer(&mut session, "Allow `files.write:", &[DOWN, ENTER]);
    session.exp_string("RAN").unwrap();
    session.exp_eof().unwrap();
    let work = env.home().with_file_name("work");
    assert_eq!(
        std::fs::read_to_string(work.join("out.txt")).unwrap(),
        "approved-run\n"
    );
    assert!(!env.home().join("approvals/grants.json").exists());

    let mut session = run_in_terminal(&env);
    answer(&mut session, "Allow `files.write:", &[DOWN, DOWN, ENTER]);
    answer(&mut session, "Remember `files.write:", &["y", ENTER]);
    session.exp_string("RAN").unwrap();
    session.exp_eof().unwrap();
    assert!(env.home().join("approvals/grants.json").is_file());

    // Remembered for this exact command in this directory: no terminal needed any more.
    let output = env
        .cmd(&[
            "sandbox",
            "run",
            "--scope",
            "files.write",
            "--",
            "sh",
            "-c",
            "echo approved-run > out.txt; echo RAN",
        ])
        .current_dir(&work)
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = std::fs::read_to_string(env.home().join("audit/audit.jsonl")).unwrap();
    assert!(text.contains("\"reason\":\"remembered grant\""));
}

/// Attack pass 5: the menu opens on "Deny" and wraps, so a slip of Up then Enter saved a
/// 30-day grant. "Always" is confirmed on its own, and the default (Enter) denies.
#[test]
fn up_and_enter_from_deny_does_not_remember_a_grant() {
    const UP: &str = "\x1b[A";
    let env = TestEnv::initialised();
    let mut session = run_in_terminal(&env);
    answer(&mut session, "Allow `files.write:", &[UP, ENTER]);
    answer(&mut session, "Remember `files.write:", &[ENTER]);
    let rest = session.exp_eof().unwrap();
    assert!(!rest.contains("RAN"), "{rest}");
    assert!(!env.home().join("approvals/grants.json").exists());
    let kinds = kinds(&env);
    assert!(kinds.contains(&"approval.denied".to_string()), "{kinds:?}");
    assert!(kinds.contains(&"run.refused".to_string()), "{kinds:?}");
    assert!(!kinds.contains(&"run.launch".to_string()), "{kinds:?}");
}

#[test]
fn lockdown_turned_on_while_a_run_awaits_approval_stops_it_before_exec() {
    let env = TestEnv::initialised();
    let mut session = run_in_terminal(&env);
    // Authorisation checked lockdown (off) before it asked; lockdown goes on while it waits.
    session.exp_string("Allow `files.write:").unwrap();
    session.exp_string("\x1b[?25h").unwrap();
    env.cmd(&["lockdown", "on"]).assert().success();
    std::thread::sleep(std::time::Duration::from_millis(150));
    session.send(DOWN).unwrap();
    session.send(ENTER).unwrap();
    session.flush().unwrap();
    let rest = session.exp_eof().unwrap();
    assert!(!rest.contains("RAN"), "{rest}");
    assert!(!env.home().with_file_name("work").join("out.txt").exists());
    let records: Vec<serde_json::Value> =
        std::fs::read_to_string(env.home().join("audit/audit.jsonl"))
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect();
    let failed = records
        .iter()
        .find(|record| record["kind"] == "run.failed")
        .unwrap_or_else(|| panic!("no run.failed in {records:#?}"));
    assert_eq!(failed["data"]["layer"], "lockdown");
    assert!(
        !records
            .iter()
            .any(|record| record["kind"] == "run.finished")
    );
}

#[test]
fn terminal_control_in_the_argv_is_shown_escaped_in_the_approval_prompt() {
    let env = TestEnv::initialised();
    // The prompt says what "always" covers: this argv, which clears the screen, moves the
    // cursor home and reverses the rest of the line.
    let mut session = run_script_in_terminal(&env, "echo \x1b[2J\x1b[H\u{202e}RAN");
    let shown = session.exp_string("\x1b[?25h").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(150));
    session.send(ENTER).unwrap();
    session.flush().unwrap();
    let rest = session.exp_eof().unwrap();
    let terminal = format!("{shown}{rest}");
    assert!(
        terminal.contains("echo \\u{1b}[2J\\u{1b}[H\\u{202e}RAN"),
        "{terminal:?}"
    );
    assert!(!terminal.contains("\x1b[2J"), "{terminal:?}");
    assert!(!terminal.contains('\u{202e}'), "{terminal:?}");
    let kinds = kinds(&env);
    assert!(kinds.contains(&"approval.denied".to_string()), "{kinds:?}");
}

/// An "always" given to a signed skill's scope rated high (a hidden directory in a home) must
/// not answer for the same path once it is something else: here a bind mount of `/etc`, which
/// the engine rates critical (another object, and a higher risk). With no terminal, nobody can
/// be asked again, so the run is refused.
#[test]
fn an_always_grant_does_not_cover_its_path_once_it_is_a_bind_of_etc() {
    let env = TestEnv::initialised();
    let cache = env.dir.path().join("user/.aegtest");
    std::fs::create_dir_all(&cache).unwrap();
    let cache = std::fs::canonicalize(&cache).unwrap();
    let scope = format!("files.read:{}", cache.display());
    let skill = env.dir.path().join("cache-reader");
    std::fs::create_dir_all(&skill).unwrap();
    std::fs::write(
        skill.join("manifest.yaml"),
        format!(
            "name: cache-reader\nversion: 1.0.0\ndescription: Reads a cache\nplatform: native\nentrypoint: [sh, run.sh]\nscopes: ['{scope}']\n"
        ),
    )
    .unwrap();
    // Builtins only: `sh` is the entrypoint, and no other program is asked for.
    std::fs::write(
        skill.join("run.sh"),
        format!(
            "read line < '{}/shadow'; echo \"RAN $line\"\n",
            cache.display()
        ),
    )
    .unwrap();
    for args in [["skill", "sign"], ["skill", "install"]] {
        env.cmd(&[args[0], args[1], skill.to_str().unwrap()])
            .assert()
            .success();
    }
    let run = ["sandbox", "run-registered", "cache-reader"];
    let mut command = env.with_env(Command::new(env!("CARGO_BIN_EXE_aegisclaw")));
    command.args(run).env("TERM", "xterm");
    let mut session = spawn_command(command, Some(20_000)).unwrap();
    answer(&mut session, "Allow `files.read:", &[DOWN, DOWN, ENTER]);
    answer(&mut session, "Remember `files.read:", &["y", ENTER]);
    session.exp_string("high approved").unwrap();
    session.exp_eof().unwrap();
    assert!(env.home().join("approvals/grants.json").is_file());

    // The same skill, in a mount namespace where the path is `/etc`.
    let probe = Command::new("unshare")
        .args(["-m", "--propagation", "private", "--", "true"])
        .output();
    if !probe.is_ok_and(|output| output.status.success()) {
        eprintln!("SKIPPED: no private mount namespace here (`unshare -m` as root)");
        return;
    }
    let log = env.home().join("audit/audit.jsonl");
    let before = std::fs::read_to_string(&log).unwrap().len();
    let mut again = env.with_env(Command::new("unshare"));
    again
        .args(["-m", "--propagation", "private", "--", "sh", "-c"])
        .arg(format!(
            r#"mount --bind /etc '{}' || exit 97; exec "$@""#,
            cache.display()
        ))
        .arg("sh")
        .arg(env!("CARGO_BIN_EXE_aegisclaw"))
        .args(run)
        .stdin(std::process::Stdio::null());
    let output = again.output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(!String::from_utf8_lossy(&output.stdout).contains("RAN"));
    let text = std::fs::read_to_string(&log).unwrap();
    let records: Vec<serde_json::Value> = text[before..]
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let of = |kind: &str| {
        records
            .iter()
            .find(|record| record["kind"] == kind)
            .cloned()
            .unwrap_or_else(|| panic!("no {kind} in {records:?}"))
    };
    assert_eq!(of("policy.decision")["data"]["risk"], "critical");
    assert!(!text[before..].contains("remembered grant"), "{records:?}");
    assert_eq!(of("approval.denied")["scope"], scope.as_str());
    assert_eq!(of("run.refused")["data"]["stage"], "approval");
}
