//! `aegisclaw secrets` through the real binary: values only via stdin, never in argv, output
//! or the audit log; protected stores; missing stores; refusals and their exit codes.

use super::common::{TestEnv, filters, render};

const VALUE: &str = "sk-live-hunter2-0123456789";
const PASSPHRASE: &str = "correct horse battery";

/// Runs `$env.cmd($args)` with `$stdin` and compares with an inline snapshot; the standard
/// filters plus the store's age recipient.
macro_rules! secrets_snapshot {
    ($env:expr, $args:expr, $stdin:expr, @$snapshot:literal) => {{
        let output = $env.cmd($args).write_stdin($stdin).output().unwrap();
        let rendered = render(&output, $env.dir.path());
        let mut filters = filters();
        filters.push((r"age1[0-9a-z]{58}", "[RECIPIENT]"));
        insta::with_settings!({ filters => filters }, {
            insta::assert_snapshot!(rendered, @$snapshot);
        });
    }};
}

/// A home whose `init` created no secret store.
fn without_store() -> TestEnv {
    let env = TestEnv::new();
    env.cmd(&["init", "--defaults", "--secrets", "none"])
        .assert()
        .success();
    env
}

fn audit_text(env: &TestEnv) -> String {
    std::fs::read_to_string(env.home().join("audit/audit.jsonl")).unwrap()
}

fn records_of(env: &TestEnv, kind: &str) -> Vec<serde_json::Value> {
    audit_text(env)
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|record| record["kind"] == kind)
        .collect()
}

fn stdout_and_stderr(output: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

#[test]
fn init_set_get_list_delete() {
    let env = without_store();
    secrets_snapshot!(env, &["secrets", "init"], "", @"
    exit: 0
    --- stdout
    Created the secret store in [TEMP]/home/secrets (age, no passphrase)
    recipient [RECIPIENT]
    --- stderr
    ");
    let init = records_of(&env, "secrets.init");
    assert_eq!(init.len(), 1);
    assert_eq!(init[0]["data"]["protected"], false);
    assert!(
        init[0]["data"]["recipient"]
            .as_str()
            .unwrap()
            .starts_with("age1")
    );
    secrets_snapshot!(env, &["secrets", "init"], "", @"
    exit: 1
    --- stdout
    --- stderr
    error: a secret store already exists: `[TEMP]/home/secrets/identity`
    ");

    secrets_snapshot!(env, &["secrets", "set", "API_KEY"], format!("{VALUE}\n"), @"
    exit: 0
    --- stdout
    Stored secret `API_KEY`
    --- stderr
    ");
    secrets_snapshot!(env, &["secrets", "set", "OTHER"], "x", @"
    exit: 0
    --- stdout
    Stored secret `OTHER`
    --- stderr
    ");
    secrets_snapshot!(env, &["secrets", "get", "API_KEY", "--reveal"], "", @"
    exit: 0
    --- stdout
    sk-live-hunter2-0123456789
    --- stderr
    ");
    secrets_snapshot!(env, &["secrets", "get", "API_KEY"], "", @"
    exit: 0
    --- stdout
    secret `API_KEY` exists, updated [TS]
    pass `--reveal` to print its value
    --- stderr
    ");
    secrets_snapshot!(env, &["secrets", "list"], "", @"
    exit: 0
    --- stdout
    API_KEY  updated [TS]
    OTHER    updated [TS]
    --- stderr
    ");
    secrets_snapshot!(env, &["secrets", "list", "--json"], "", @r#"
    exit: 0
    --- stdout
    [{"name":"API_KEY","updated":"[TS]"},{"name":"OTHER","updated":"[TS]"}]
    --- stderr
    "#);
    secrets_snapshot!(env, &["secrets", "delete", "OTHER"], "", @"
    exit: 0
    --- stdout
    Deleted secret `OTHER`
    --- stderr
    ");
    secrets_snapshot!(env, &["secrets", "delete", "OTHER"], "", @"
    exit: 1
    --- stdout
    --- stderr
    error: no secret `OTHER`
    ");
    secrets_snapshot!(env, &["secrets", "get", "OTHER", "--reveal"], "", @"
    exit: 1
    --- stdout
    --- stderr
    error: no secret `OTHER`
    ");
    let gets = records_of(&env, "secrets.get");
    assert_eq!(gets.len(), 3);
    assert_eq!(
        gets[0]["data"],
        serde_json::json!({"name": "API_KEY", "revealed": true})
    );
    assert_eq!(gets[1]["data"]["revealed"], false);
    assert_eq!(gets[2]["decision"], "missing");
    assert_eq!(records_of(&env, "secrets.delete").len(), 2);
    assert_eq!(records_of(&env, "secrets.list").len(), 2);
}

#[test]
fn the_value_never_reaches_output_or_the_audit_log() {
    let env = TestEnv::initialised();
    let set = env
        .cmd(&["secrets", "set", "TOKEN"])
        .write_stdin(VALUE)
        .output()
        .unwrap();
    assert!(set.status.success());
    let mut seen = stdout_and_stderr(&set);
    for args in [
        &["secrets", "list"][..],
        &["secrets", "list", "--json"],
        &["secrets", "get", "TOKEN"],
        &["secrets", "get", "TOKEN", "--json"],
        &["logs"],
        &["logs", "--json"],
    ] {
        let output = env.cmd(args).output().unwrap();
        assert!(output.status.success(), "{args:?}");
        seen.push_str(&stdout_and_stderr(&output));
    }
    let rotate = env
        .cmd(&["secrets", "rotate", "TOKEN"])
        .write_stdin("rotated-value-42\n")
        .output()
        .unwrap();
    assert!(rotate.status.success());
    seen.push_str(&stdout_and_stderr(&rotate));
    assert!(!seen.contains(VALUE), "{seen}");
    assert!(!seen.contains("rotated-value-42"), "{seen}");

    let audit = audit_text(&env);
    assert!(!audit.contains(VALUE));
    assert!(!audit.contains("rotated-value-42"));
    let set = records_of(&env, "secrets.set");
    assert_eq!(
        set[0]["data"],
        serde_json::json!({"name": "TOKEN", "replaced": false})
    );
    assert_eq!(
        records_of(&env, "secrets.rotate")[0]["data"]["name"],
        "TOKEN"
    );
    let store = std::fs::read(env.home().join("secrets/store.age")).unwrap();
    assert!(!String::from_utf8_lossy(&store).contains("rotated-value-42"));

    let revealed = env
        .cmd(&["secrets", "get", "TOKEN", "--reveal"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&revealed.stdout),
        "rotated-value-42\n"
    );
}

/// A NUL byte cannot be passed in an environment variable: a run given such a secret failed
/// with the value in its error and in the hash-chained `run.failed` record.
#[test]
fn a_secret_value_with_a_nul_byte_is_refused_and_never_shown_or_recorded() {
    let env = TestEnv::initialised();
    secrets_snapshot!(env, &["secrets", "set", "API_KEY"], "hunter2\0-binary-api-key-9f8e7d", @"
    exit: 2
    --- stdout
    --- stderr
    error: the value of secret `API_KEY` contains a NUL byte, which no environment variable can hold
    ");
    let audit = audit_text(&env);
    assert!(!audit.contains("hunter2"), "{audit}");
    assert!(records_of(&env, "secrets.set").is_empty());
    let list = env.cmd(&["secrets", "list", "--json"]).output().unwrap();
    assert!(!String::from_utf8_lossy(&list.stdout).contains("API_KEY"));
}

#[test]
fn a_value_argument_is_a_usage_error() {
    let env = TestEnv::initialised();
    secrets_snapshot!(env, &["secrets", "set", "TOKEN", VALUE], "", @"
    exit: 2
    --- stdout
    --- stderr
    error: secret values are never taken from arguments (they show in `ps` and shell history)
    hint: pipe the value on stdin (`aegisclaw secrets set TOKEN < file`) or run in a terminal to be asked
    hint: treat the value you typed as exposed
    ");
    secrets_snapshot!(env, &["secrets", "rotate", "TOKEN", "--", "-v", VALUE], "", @"
    exit: 2
    --- stdout
    --- stderr
    error: secret values are never taken from arguments (they show in `ps` and shell history)
    hint: pipe the value on stdin (`aegisclaw secrets rotate TOKEN < file`) or run in a terminal to be asked
    hint: treat the value you typed as exposed
    ");
    let audit = audit_text(&env);
    assert!(!audit.contains("secrets.set") && !audit.contains(VALUE));
    secrets_snapshot!(env, &["secrets", "list"], "", @"
    exit: 0
    --- stdout
    no secrets (add one with `aegisclaw secrets set NAME`)
    --- stderr
    ");
}

#[test]
fn input_errors_exit_2() {
    let env = TestEnv::initialised();
    secrets_snapshot!(env, &["secrets", "set", "1BAD"], "x", @"
    exit: 2
    --- stdout
    --- stderr
    error: invalid secret name `1BAD`: use letters, digits and `_`, not starting with a digit, at most 128
    ");
    secrets_snapshot!(env, &["secrets", "set", "EMPTY"], "\n", @"
    exit: 2
    --- stdout
    --- stderr
    error: the value of secret `EMPTY` is empty
    ");
    let big = "x".repeat(64 * 1024 + 1);
    secrets_snapshot!(env, &["secrets", "set", "BIG"], big, @"
    exit: 2
    --- stdout
    --- stderr
    error: the value of secret `BIG` is larger than 65536 bytes
    ");
    secrets_snapshot!(env, &["secrets", "rotate", "NOPE"], "new", @"
    exit: 1
    --- stdout
    --- stderr
    error: no secret `NOPE`
    ");
    env.cmd(&["secrets", "set", "SAME"])
        .write_stdin("v1")
        .assert()
        .success();
    secrets_snapshot!(env, &["secrets", "rotate", "SAME"], "v1\n", @"
    exit: 2
    --- stdout
    --- stderr
    error: the new value of secret `SAME` is the same as the current one
    ");
}

#[test]
fn without_a_store_commands_exit_2_with_a_hint() {
    let env = without_store();
    secrets_snapshot!(env, &["secrets", "list"], "", @"
    exit: 2
    --- stdout
    --- stderr
    error: no secret store: `[TEMP]/home/secrets/identity` does not exist
    hint: create the store with `aegisclaw secrets init`
    ");
    secrets_snapshot!(env, &["secrets", "set", "TOKEN"], VALUE, @"
    exit: 2
    --- stdout
    --- stderr
    error: no secret store: `[TEMP]/home/secrets/identity` does not exist
    hint: create the store with `aegisclaw secrets init`
    ");
}

#[test]
fn a_protected_store_uses_the_passphrase_variable() {
    let env = without_store();
    secrets_snapshot!(env, &["secrets", "init", "--passphrase"], format!("{PASSPHRASE}\n"), @"
    exit: 0
    --- stdout
    Created the secret store in [TEMP]/home/secrets (age, passphrase-protected)
    recipient [RECIPIENT]
    --- stderr
    ");
    let identity = std::fs::read(env.home().join("secrets/identity")).unwrap();
    assert!(identity.starts_with(b"age-encryption.org/v1\n"));
    assert!(!String::from_utf8_lossy(&identity).contains("AGE-SECRET-KEY"));
    assert_eq!(
        records_of(&env, "secrets.init")[0]["data"]["protected"],
        true
    );

    secrets_snapshot!(env, &["secrets", "set", "TOKEN"], VALUE, @"
    exit: 2
    --- stdout
    --- stderr
    error: the secret store is passphrase-protected: run in a terminal or set `AEGISCLAW_SECRETS_PASSPHRASE`
    ");
    env.cmd(&["secrets", "set", "TOKEN"])
        .env("AEGISCLAW_SECRETS_PASSPHRASE", PASSPHRASE)
        .write_stdin(VALUE)
        .assert()
        .success();
    let output = env
        .cmd(&["secrets", "get", "TOKEN", "--reveal"])
        .env("AEGISCLAW_SECRETS_PASSPHRASE", "wrong horse battery")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(!stdout_and_stderr(&output).contains(VALUE));
    assert!(String::from_utf8_lossy(&output.stderr).contains("wrong passphrase for `"));
    let unlock = records_of(&env, "secrets.unlock");
    assert_eq!(unlock.len(), 1);
    assert_eq!(unlock[0]["decision"], "refused");
    assert!(records_of(&env, "secrets.get").is_empty());
    let output = env
        .cmd(&["secrets", "get", "TOKEN", "--reveal"])
        .env("AEGISCLAW_SECRETS_PASSPHRASE", PASSPHRASE)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("{VALUE}\n")
    );
}

#[test]
fn a_short_new_passphrase_is_refused() {
    let env = without_store();
    secrets_snapshot!(env, &["secrets", "init", "--passphrase"], "short\n", @"
    exit: 2
    --- stdout
    --- stderr
    error: the passphrase for `[TEMP]/home/secrets/identity` must have at least 8 characters
    ");
    assert!(!env.home().join("secrets/identity").exists());
}

#[test]
fn concurrent_processes_lose_no_secret() {
    let env = TestEnv::initialised();
    std::thread::scope(|scope| {
        for index in 0..4 {
            let env = &env;
            scope.spawn(move || {
                env.cmd(&["secrets", "set", &format!("PARALLEL_{index}")])
                    .write_stdin(format!("value-{index}"))
                    .assert()
                    .success();
            });
        }
    });
    let output = env.cmd(&["secrets", "list"]).output().unwrap();
    let listed = String::from_utf8_lossy(&output.stdout);
    for index in 0..4 {
        assert!(listed.contains(&format!("PARALLEL_{index} ")), "{listed}");
    }
}

#[test]
fn in_a_terminal_the_passphrase_and_value_are_asked_hidden() {
    let env = without_store();
    env.cmd(&["secrets", "init", "--passphrase"])
        .write_stdin(format!("{PASSPHRASE}\n"))
        .assert()
        .success();
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_aegisclaw"));
    command
        .args(["secrets", "set", "TOKEN"])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("TERM", "xterm")
        .env("AEGISCLAW_HOME", env.home())
        .env("AEGISCLAW_ACTOR", "tester")
        .env("HOME", env.dir.path().join("user"));
    let mut session = rexpect::session::spawn_command(command, Some(20_000)).unwrap();
    let mut transcript = String::new();
    for (prompt, answer) in [
        ("Passphrase of the secret store:", PASSPHRASE),
        ("Value of TOKEN:", VALUE),
        ("Value again:", VALUE),
    ] {
        transcript += &session.exp_string(prompt).unwrap();
        // Wait until the prompt has drawn itself (it shows the cursor last), then type.
        transcript += &session.exp_string("\x1b[?25h").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(150));
        session.send(answer).unwrap();
        session.send("\r").unwrap();
        session.flush().unwrap();
    }
    transcript += &session.exp_string("Stored secret `TOKEN`").unwrap();
    transcript += &session.exp_eof().unwrap();
    assert!(!transcript.contains(VALUE), "{transcript}");
    assert!(!transcript.contains(PASSPHRASE), "{transcript}");
    let output = env
        .cmd(&["secrets", "get", "TOKEN", "--reveal"])
        .env("AEGISCLAW_SECRETS_PASSPHRASE", PASSPHRASE)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("{VALUE}\n")
    );
}

/// Attack pass 5: `secrets.read:PATH` and `secrets.read:HTTPS_PROXY` were approved and listed
/// as injected in `run.launch` while the run got the sandbox's own values, and
/// `secrets.read:LD_PRELOAD` was injected, handing the dynamic loader of every program the
/// run started a path of the secret's choosing. The scope is refused, naming why, before any
/// secret is read.
#[test]
fn a_secret_scope_naming_a_variable_the_sandbox_or_the_loader_owns_is_refused() {
    let env = TestEnv::initialised();
    for name in ["PATH", "HTTPS_PROXY", "LD_PRELOAD"] {
        let scope = format!("secrets.read:{name}");
        let output = env
            .cmd(&["sandbox", "run", "--scope", &scope, "--", "/usr/bin/true"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{name}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains(&format!(
                "scope `{scope}` cannot be granted: the secret would be the run's `{name}`"
            )),
            "{stderr}"
        );
        let refused = records_of(&env, "run.refused");
        let last = refused.last().unwrap();
        assert_eq!(last["data"]["stage"], "scope", "{last}");
        assert!(last["reason"].as_str().unwrap().contains(&scope), "{last}");
    }
    assert!(records_of(&env, "run.launch").is_empty());
}
