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
