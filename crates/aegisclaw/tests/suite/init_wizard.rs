//! The interactive `init` wizard, driven in a real pseudo-terminal: the test reads each question
//! and answers it with keys, as a person would.

use super::common::TestEnv;
use rexpect::session::spawn_command;
use std::process::Command;

const DOWN: &str = "\x1b[B";
const ENTER: &str = "\r";

/// Waits for `prompt` and for the end of its rendering (the cursor is shown again), then types
/// `keys`. Keys typed before the prompt reads the terminal would be lost, as for a person.
fn answer(session: &mut rexpect::session::PtySession, prompt: &str, keys: &[&str]) {
    session.exp_string(prompt).unwrap();
    session.exp_string("\x1b[?25h").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(150));
    for key in keys {
        session.send(key).unwrap();
        session.flush().unwrap();
    }
}

fn wizard(env: &TestEnv) -> rexpect::session::PtySession {
    let mut command = Command::new(env!("CARGO_BIN_EXE_aegisclaw"));
    command
        .arg("init")
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("TERM", "xterm")
        .env("AEGISCLAW_HOME", env.home())
        .env("AEGISCLAW_ACTOR", "tester")
        .env("HOME", env.home().with_file_name("user"));
    spawn_command(command, Some(20_000)).unwrap()
}

#[test]
fn wizard_asks_each_question_and_writes_the_answers() {
    let env = TestEnv::new();
    let mut session = wizard(&env);
    session.exp_string("Detecting environment").unwrap();
    session.exp_string("user namespaces").unwrap();
    answer(&mut session, "Default sandbox runtime?", &[ENTER]);
    // Standard is first; one down is Strict.
    answer(&mut session, "Policy strictness?", &[DOWN, ENTER]);
    answer(&mut session, "Enable secret encryption?", &[ENTER]);
    answer(&mut session, "passphrase?", &["y", ENTER]);
    answer(&mut session, "Passphrase:", &["correct horse", ENTER]);
    answer(&mut session, "Passphrase again:", &["correct horse", ENTER]);
    session.exp_string("Notifications: skipped").unwrap();
    session.exp_string("Created the AegisClaw home").unwrap();
    session.exp_string("passphrase-protected").unwrap();
    session.exp_eof().unwrap();

    let config = std::fs::read_to_string(env.home().join("config.yaml")).unwrap();
    assert!(config.contains("template: strict"), "{config}");
    let identity = std::fs::read(env.home().join("secrets/identity")).unwrap();
    assert!(identity.starts_with(b"age-encryption.org/v1"));
    assert!(!String::from_utf8_lossy(&identity).contains("AGE-SECRET-KEY"));
    let log = std::fs::read_to_string(env.home().join("audit/audit.jsonl")).unwrap();
    assert!(log.contains("\"policy_template\":\"strict\""));
    assert!(!log.contains("correct horse"));
}

#[test]
fn escape_cancels_and_writes_nothing() {
    let env = TestEnv::new();
    let mut session = wizard(&env);
    answer(&mut session, "Default sandbox runtime?", &["\x1b"]);
    session
        .exp_string("init cancelled: nothing was written")
        .unwrap();
    session.exp_eof().unwrap();
    assert!(!env.home().join("config.yaml").exists());
}

#[test]
fn flags_skip_their_questions() {
    let env = TestEnv::new();
    let mut command = Command::new(env!("CARGO_BIN_EXE_aegisclaw"));
    command
        .args([
            "init",
            "--runtime",
            "native",
            "--policy",
            "permissive",
            "--secrets",
            "none",
        ])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("TERM", "xterm")
        .env("AEGISCLAW_HOME", env.home());
    let mut session = spawn_command(command, Some(20_000)).unwrap();
    session.exp_string("Created the AegisClaw home").unwrap();
    session.exp_eof().unwrap();
    let config = std::fs::read_to_string(env.home().join("config.yaml")).unwrap();
    assert!(config.contains("template: permissive"), "{config}");
    assert!(!env.home().join("secrets/identity").exists());
}
