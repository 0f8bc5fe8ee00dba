//! The audit log through the real binary: every CLI action is recorded, `logs` filters and
//! follows, and `logs verify` names the first bad record after tampering.

use super::common::TestEnv;
use std::io::{BufRead as _, BufReader};
use std::process::Stdio;

fn with_activity() -> TestEnv {
    let env = TestEnv::initialised();
    let dir = env.skill_copy("word-count", "word-count");
    env.cmd(&["skill", "sign", dir.to_str().unwrap()])
        .assert()
        .success();
    env.cmd(&["skill", "verify", dir.to_str().unwrap()])
        .assert()
        .success();
    env.cmd(&["skill", "install", dir.to_str().unwrap()])
        .assert()
        .success();
    env
}

#[test]
fn every_cli_action_is_recorded() {
    let env = with_activity();
    aegisclaw_snapshot!(env, &["logs"], @r#"
    exit: 0
    --- stdout
    [TS]  #1     home.init          cli:[USER]/claims:tester  {"kept":[],"policy_template":"standard","runtime":"native","secrets":{"backend":"age","passphrase_protected":false},"written":["config.yaml","policies/default.rego","keys/signing.key","keys/signing.pub","keys/audit.key","keys/audit.pub","trust/[KEYID].pub","secrets/identity","secrets/store.age"]}
    [TS]  #2     trust.add          cli:[USER]/claims:tester  reason="the home's own signing key"  {"key_id":"[KEYID]","newly_added":true}
    [TS]  #3     skill.sign         cli:[USER]/claims:tester  skill=word-count  {"dir":"[TEMP]/word-count","files":1,"publisher":"[KEYID]","version":"1.0.0"}
    [TS]  #4     skill.verify       cli:[USER]/claims:tester  skill=word-count  decision=pass  {"dir":"[TEMP]/word-count","files":1,"publisher":"[KEYID]"}
    [TS]  #5     skill.install      cli:[USER]/claims:tester  skill=word-count  decision=installed  {"dir":"[TEMP]/word-count","publisher":"[KEYID]","version":"1.0.0"}
    --- stderr
    "#);
    aegisclaw_snapshot!(env, &["logs", "verify"], @"
    exit: 0
    --- stdout
    audit log verified: 5 records, hash chain intact, 4 signed checkpoints (last covers seq 5)
    --- stderr
    ");
}

#[test]
fn logs_filter_by_kind_skill_and_time() {
    let env = with_activity();
    aegisclaw_snapshot!(env, &["logs", "--kind", "skill.", "--skill", "word-count", "-n", "2"], @r#"
    exit: 0
    --- stdout
    [TS]  #4     skill.verify       cli:[USER]/claims:tester  skill=word-count  decision=pass  {"dir":"[TEMP]/word-count","files":1,"publisher":"[KEYID]"}
    [TS]  #5     skill.install      cli:[USER]/claims:tester  skill=word-count  decision=installed  {"dir":"[TEMP]/word-count","publisher":"[KEYID]","version":"1.0.0"}
    --- stderr
    "#);
    aegisclaw_snapshot!(env, &["logs", "--kind", "trust.add", "--json"], @r#"
    exit: 0
    --- stdout
    {"seq":2,"ts":"[TS]","kind":"trust.add","actor":"cli:[USER]/claims:tester","reason":"the home's own signing key","data":{"key_id":"[KEYID]","newly_added":true},"prev":"[HASH]","hash":"[HASH]"}
    --- stderr
    "#);
    aegisclaw_snapshot!(env, &["logs", "--since", "2999-01-01"], @"
    exit: 0
    --- stdout
    no audit records match
    --- stderr
    ");
    aegisclaw_snapshot!(env, &["logs", "--since", "yesterday"], @"
    exit: 2
    --- stdout
    --- stderr
    error: `yesterday` is not a time: use RFC 3339 like `2026-11-24T10:00:00Z`, a date like `2026-11-24`, or an age like `30m`, `2h`, `7d`
    ");
}

#[test]
fn edited_record_is_named_by_logs_verify() {
    let env = with_activity();
    let path = env.home().join("audit/audit.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replacen("\"decision\":\"pass\"", "\"decision\":\"fail\"", 1),
    )
    .unwrap();
    aegisclaw_snapshot!(env, &["logs", "verify"], @"
    exit: 1
    --- stdout
    audit log verification FAILED: seq 4: record edited (hash mismatch)
      3 records read before the problem; last good seq 3
    --- stderr
    ");
}

#[test]
fn truncated_log_is_caught_by_the_checkpoint() {
    let env = with_activity();
    let path = env.home().join("audit/audit.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let kept: Vec<&str> = text.lines().take(3).collect();
    std::fs::write(&path, format!("{}\n", kept.join("\n"))).unwrap();
    aegisclaw_snapshot!(env, &["logs", "verify", "--json"], @r#"
    exit: 1
    --- stdout
    {"checkpoints":2,"last_checkpoint_seq":3,"last_hash":"[HASH]","last_seq":3,"lockdown":{"disagreement":null,"on":false},"problem":{"detail":"the log ends at seq 3","kind":{"truncated":{"checkpoint":4,"checkpoint_seq":5}},"seq":4},"records":3}
    --- stderr
    "#);
}

#[test]
fn logs_follow_prints_new_records() {
    let env = TestEnv::initialised();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_aegisclaw"))
        .args(["logs", "--follow", "--json", "--kind", "key.generate"])
        .env("AEGISCLAW_HOME", env.home())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    // The follower starts at the end, so only records appended from now on appear.
    std::thread::sleep(std::time::Duration::from_millis(300));
    env.cmd(&["skill", "keygen", "--force"]).assert().success();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let record: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(record["kind"], "key.generate");
    assert_eq!(
        record["actor"],
        format!("cli:{}/claims:tester", super::common::real_user())
    );
}
