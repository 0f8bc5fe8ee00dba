//! `aegisclaw quickstart` on a machine with no home: it must create one, install the bundled
//! skill (verified against the built-in project key), run it through the whole envelope and
//! verify the audit log — twice in a row.

use super::common::TestEnv;

#[test]
fn quickstart_runs_the_starter_skill_through_the_envelope() {
    let env = TestEnv::new();
    for round in 0..2 {
        let output = env.cmd(&["quickstart"]).output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(0),
            "round {round}\n{stdout}\n{stderr}"
        );
        assert!(stdout.contains("organised 7 files"), "{stdout}");
        assert!(stdout.contains("audit log verified"), "{stdout}");
        if round == 0 {
            assert!(stdout.contains("Created the AegisClaw home"), "{stdout}");
            assert!(stdout.contains("file-organiser: installed"), "{stdout}");
        } else {
            assert!(
                stdout.contains("file-organiser: already installed"),
                "{stdout}"
            );
        }
    }
    let organised = env
        .home()
        .with_file_name("user")
        .join("aegisclaw-quickstart/output/documents");
    assert!(organised.is_dir());
    let log = std::fs::read_to_string(env.home().join("audit/audit.jsonl")).unwrap();
    for kind in [
        "run.start",
        "skill.verify",
        "policy.decision",
        "run.authorised",
        "run.launch",
        "run.finished",
    ] {
        assert!(log.contains(&format!("\"kind\":\"{kind}\"")), "no {kind}");
    }
    env.cmd(&["skill", "trust", "list"]).assert().success();
    env.cmd(&["logs", "verify"]).assert().success();
}

#[test]
fn quickstart_refuses_a_sample_directory_it_did_not_make() {
    let env = TestEnv::new();
    let base = env
        .home()
        .with_file_name("user")
        .join("aegisclaw-quickstart");
    std::fs::create_dir_all(&base).unwrap();
    std::fs::write(base.join("precious.txt"), "mine").unwrap();
    let output = env.cmd(&["quickstart"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("was not made by quickstart"));
    assert_eq!(
        std::fs::read_to_string(base.join("precious.txt")).unwrap(),
        "mine"
    );
}

/// `quickstart` run by root (`HOME=/root`, the default home `/root/.aegisclaw`): the sample
/// directory lands under `/root`, whose plain directories are not critical, so the standard
/// policy runs the signed skill with no approver, as it does for an ordinary user. `/root` is a
/// fresh tmpfs in a private mount namespace, so the host's is never touched.
#[test]
fn quickstart_runs_for_root_with_its_home_in_root() {
    let is_root = std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .any(|line| line.starts_with("Uid:") && line.split_whitespace().nth(1) == Some("0"))
    });
    let private_mounts = || {
        let mut command = std::process::Command::new("unshare");
        command.args(["--mount", "--propagation", "private", "--", "sh", "-c"]);
        command
    };
    let can_mount = is_root
        && private_mounts()
            .arg("mount -t tmpfs tmpfs /root")
            .output()
            .is_ok_and(|output| output.status.success());
    if !can_mount {
        eprintln!(
            "SKIPPED quickstart_runs_for_root_with_its_home_in_root: needs root and `unshare` \
             to mount a private tmpfs on /root"
        );
        return;
    }
    let env = TestEnv::new();
    let mut command = private_mounts();
    command
        .arg(r#"mount -t tmpfs -o mode=0700 tmpfs /root && cd /root && exec "$0" quickstart"#)
        .arg(assert_cmd::cargo::cargo_bin("aegisclaw"));
    let mut command = env.with_env(command);
    command.env("HOME", "/root").env_remove("AEGISCLAW_HOME");
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}\n{stderr}");
    for line in [
        "Created the AegisClaw home at /root/.aegisclaw",
        "policy: files.read:/root/aegisclaw-quickstart/input      risk low -> Allow",
        "policy: files.write:/root/aegisclaw-quickstart/output    risk medium -> Allow",
        "organised 7 files",
        "audit log verified",
    ] {
        assert!(stdout.contains(line), "no `{line}` in\n{stdout}\n{stderr}");
    }
}
