//! `aegisclaw lockdown` through the real binary: the state persists across processes, every
//! change is recorded before it is made (repeats record nothing), `--json`, and a corrupt state
//! file is an error naming it that `on`/`off` can replace.

use super::common::TestEnv;
use std::os::unix::fs::PermissionsExt as _;

fn records(env: &TestEnv) -> Vec<serde_json::Value> {
    std::fs::read_to_string(env.home().join("audit/audit.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|record| record["kind"].as_str().unwrap().starts_with("lockdown."))
        .collect()
}

#[test]
fn lockdown_persists_across_processes_and_is_recorded() {
    let env = TestEnv::initialised();
    aegisclaw_snapshot!(env, &["lockdown", "status"], @"
    exit: 0
    --- stdout
    lockdown: off
    --- stderr
    ");
    aegisclaw_snapshot!(env, &["lockdown", "on", "--reason", "incident 42"], @"
    exit: 0
    --- stdout
    Lockdown is on: every run is refused until `aegisclaw lockdown off`
    --- stderr
    ");
    aegisclaw_snapshot!(env, &["lockdown", "on", "--reason", "again"], @"
    exit: 0
    --- stdout
    Lockdown is already on since [TS]; nothing changed
    --- stderr
    ");
    aegisclaw_snapshot!(env, &["lockdown", "status"], @"
    exit: 0
    --- stdout
    lockdown: on
      since   [TS]
      by      cli:tester
      reason  incident 42
    --- stderr
    ");
    aegisclaw_snapshot!(env, &["lockdown", "status", "--json"], @r#"
    exit: 0
    --- stdout
    {"by":"cli:tester","changed":false,"on":true,"reason":"incident 42","since":"[TS]"}
    --- stderr
    "#);
    let state = env.home().join("state/lockdown.json");
    assert_eq!(
        std::fs::metadata(&state).unwrap().permissions().mode() & 0o777,
        0o600
    );

    aegisclaw_snapshot!(env, &["lockdown", "off"], @"
    exit: 0
    --- stdout
    Lockdown is off: runs are allowed again
    --- stderr
    ");
    aegisclaw_snapshot!(env, &["lockdown", "off", "--json"], @r#"
    exit: 0
    --- stdout
    {"by":"cli:tester","changed":false,"on":false,"reason":null,"since":"[TS]"}
    --- stderr
    "#);
    aegisclaw_snapshot!(env, &["lockdown", "status"], @"
    exit: 0
    --- stdout
    lockdown: off
      since   [TS]
      by      cli:tester
    --- stderr
    ");

    let records = records(&env);
    let summary: Vec<_> = records
        .iter()
        .map(|record| {
            (
                record["kind"].as_str().unwrap(),
                record["actor"].as_str().unwrap(),
                record["reason"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("lockdown.on", "cli:tester", Some("incident 42")),
            ("lockdown.off", "cli:tester", None),
        ]
    );
}

#[test]
fn a_corrupt_state_file_is_an_error_naming_it() {
    let env = TestEnv::initialised();
    std::fs::write(env.home().join("state/lockdown.json"), "{\"on\": tru").unwrap();
    aegisclaw_snapshot!(env, &["lockdown", "status"], @"
    exit: 2
    --- stdout
    --- stderr
    error: cannot read the lockdown state, so every run is refused: fix the file or replace it with `aegisclaw lockdown on` or `aegisclaw lockdown off`
      caused by: lockdown state `[TEMP]/home/state/lockdown.json` is corrupt
      caused by: EOF while parsing a value at line 1 column 10
    ");
    aegisclaw_snapshot!(env, &["lockdown", "status", "--json"], @r#"
    exit: 2
    --- stdout
    --- stderr
    {"caused_by":["lockdown state `[TEMP]/home/state/lockdown.json` is corrupt","EOF while parsing a value at line 1 column 10"],"error":"cannot read the lockdown state, so every run is refused: fix the file or replace it with `aegisclaw lockdown on` or `aegisclaw lockdown off`","exit_code":2}
    "#);
    // Lifting lockdown from an unreadable state replaces the file, and says so in the record.
    aegisclaw_snapshot!(env, &["lockdown", "off"], @"
    exit: 0
    --- stdout
    Lockdown is off: runs are allowed again
    --- stderr
    warning: lockdown state `[TEMP]/home/state/lockdown.json` is corrupt: EOF while parsing a value at line 1 column 10; replacing it
    ");
    aegisclaw_snapshot!(env, &["lockdown", "status"], @"
    exit: 0
    --- stdout
    lockdown: off
      since   [TS]
      by      cli:tester
    --- stderr
    ");
    let records = records(&env);
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0]["data"],
        serde_json::json!({"previous": "unreadable"})
    );
}

#[test]
fn lockdown_needs_an_initialised_home() {
    let env = TestEnv::new();
    aegisclaw_snapshot!(env, &["lockdown", "on"], @"
    exit: 2
    --- stdout
    --- stderr
    error: cannot open the AegisClaw home `[TEMP]/home`: create one with `aegisclaw init --defaults`
      caused by: no AegisClaw home at `[TEMP]/home`
    ");
    assert!(!env.home().join("state/lockdown.json").exists());
}
