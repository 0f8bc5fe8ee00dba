//! `aegisclaw lockdown` through the real binary: the state persists across processes, every
//! change is recorded before it is made and the state names its record (repeats record
//! nothing), `--json`, and a corrupt state file is named, counts as on, and `on`/`off` can
//! replace it.

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
      since   [TS]
      by      cli:[USER]/claims:tester
      record  seq 1
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
      by      cli:[USER]/claims:tester
      reason  incident 42
      record  seq 3
    --- stderr
    ");
    aegisclaw_snapshot!(env, &["lockdown", "status", "--json"], @r#"
    exit: 0
    --- stdout
    {"by":"cli:[USER]/claims:tester","changed":false,"disagreement":null,"on":true,"reason":"incident 42","record":{"hash":"[HASH]","offset":[N],"seq":3},"since":"[TS]"}
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
    {"by":"cli:[USER]/claims:tester","changed":false,"disagreement":null,"on":false,"reason":null,"record":{"hash":"[HASH]","offset":[N],"seq":4},"since":"[TS]","stopped":[]}
    --- stderr
    "#);
    aegisclaw_snapshot!(env, &["lockdown", "status"], @"
    exit: 0
    --- stdout
    lockdown: off
      since   [TS]
      by      cli:[USER]/claims:tester
      record  seq 4
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
    let actor = format!("cli:{}/claims:tester", super::common::real_user());
    assert_eq!(
        summary,
        vec![
            ("lockdown.on", actor.as_str(), Some("incident 42")),
            ("lockdown.off", actor.as_str(), None),
        ]
    );
}

#[test]
fn a_corrupt_state_file_is_named_and_counts_as_on() {
    let env = TestEnv::initialised();
    std::fs::write(env.home().join("state/lockdown.json"), "{\"on\": tru").unwrap();
    aegisclaw_snapshot!(env, &["lockdown", "status"], @"
    exit: 1
    --- stdout
    lockdown: on
    --- stderr
    warning: the lockdown state disagrees with the audit log, so it counts as on: lockdown state `[TEMP]/home/state/lockdown.json` is corrupt: EOF while parsing a value at line 1 column 10
    hint: lift it with `aegisclaw lockdown off`, which records the change
    ");
    aegisclaw_snapshot!(env, &["lockdown", "status", "--json"], @r#"
    exit: 1
    --- stdout
    {"by":null,"changed":false,"disagreement":"lockdown state `[TEMP]/home/state/lockdown.json` is corrupt: EOF while parsing a value at line 1 column 10","on":true,"reason":null,"record":null,"since":null}
    --- stderr
    warning: the lockdown state disagrees with the audit log, so it counts as on: lockdown state `[TEMP]/home/state/lockdown.json` is corrupt: EOF while parsing a value at line 1 column 10
    "#);
    // Lifting lockdown from an unreadable state replaces the file, and says so in the record.
    aegisclaw_snapshot!(env, &["lockdown", "off"], @"
    exit: 0
    --- stdout
    Lockdown is off: runs are allowed again
    --- stderr
    warning: lockdown state `[TEMP]/home/state/lockdown.json` is corrupt: EOF while parsing a value at line 1 column 10; replaced it
    ");
    aegisclaw_snapshot!(env, &["lockdown", "status"], @"
    exit: 0
    --- stdout
    lockdown: off
      since   [TS]
      by      cli:[USER]/claims:tester
      record  seq 3
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
