//! Attacks on the emergency stop: lifting lockdown by deleting, forging or rolling back its
//! state file, and runs that were already going when lockdown was turned on.

use super::*;

fn state_file(escape: &Escape) -> PathBuf {
    escape.env.home().join("state/lockdown.json")
}

/// Runs `aegisclaw <args>` on the escape's home; returns the exit code, stdout and stderr.
fn aegisclaw(escape: &Escape, args: &[&str]) -> (Option<i32>, String, String) {
    let output = escape.env.cmd(args).output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The run was refused at the lockdown stage, on the record, and nothing was launched.
fn assert_refused_by_lockdown(outcome: &Outcome, reason_holds: &str) {
    assert_eq!(outcome.code(), Some(1), "{}", outcome.stderr());
    assert!(!outcome.stdout().contains("SHOULD_NOT_RUN"));
    let refused = outcome.record("run.refused");
    assert_eq!(refused["data"]["stage"], "lockdown");
    let reason = refused["reason"].as_str().unwrap();
    assert!(reason.contains(reason_holds), "{reason}");
    assert!(!outcome.has("run.launch"));
}

#[test]
fn deleting_the_lockdown_state_keeps_every_run_refused_and_recorded() {
    let escape = Escape::new();
    assert_eq!(
        aegisclaw(&escape, &["lockdown", "on", "--reason", "incident"]).0,
        Some(0)
    );
    std::fs::remove_file(state_file(&escape)).unwrap();
    let outcome = escape.run(&[], "echo SHOULD_NOT_RUN");
    assert_refused_by_lockdown(
        &outcome,
        "is missing while the audit log's last lockdown record turned it on",
    );
    let reason = outcome.record("run.refused")["reason"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(reason.ends_with("lift it with `aegisclaw lockdown off`, which records the change"));
    // Status agrees (exit 1: the state disagrees with the log), and lifting it is recorded.
    let (code, stdout, stderr) = aegisclaw(&escape, &["lockdown", "status"]);
    assert_eq!(
        (code, stdout.as_str()),
        (Some(1), "lockdown: on\n"),
        "{stderr}"
    );
    let before = escape.audit_lines();
    assert_eq!(aegisclaw(&escape, &["lockdown", "off"]).0, Some(0));
    let lifted = &escape.records_since(before)[0];
    assert_eq!(lifted["kind"], "lockdown.off");
    assert_eq!(lifted["data"]["previous"], "disagreed");
    assert_eq!(escape.run(&[], "true").code(), Some(0));
}

#[test]
fn a_forged_off_state_keeps_every_run_refused() {
    let escape = Escape::new();
    let genuine_off = std::fs::read_to_string(state_file(&escape)).unwrap();
    assert_eq!(aegisclaw(&escape, &["lockdown", "on"]).0, Some(0));
    let on: Value =
        serde_json::from_str(&std::fs::read_to_string(state_file(&escape)).unwrap()).unwrap();
    let off: Value = serde_json::from_str(&genuine_off).unwrap();
    let forgeries = [
        // An older version's file, which names no record.
        (
            serde_json::json!({"version": 1, "on": false}),
            "names no audit record",
        ),
        // Off, naming the record that turned lockdown on.
        (
            serde_json::json!({"version": 2, "on": false, "record": on["record"]}),
            "is `lockdown.on`",
        ),
        // Off, naming the first record with another hash.
        (
            serde_json::json!({"version": 2, "on": false, "record": {
                "seq": off["record"]["seq"], "offset": off["record"]["offset"], "hash": "0".repeat(64)
            }}),
            "but that record's hash is",
        ),
        // Off, naming a record that is not where it says.
        (
            serde_json::json!({"version": 2, "on": false, "record": {
                "seq": 2, "offset": 7, "hash": off["record"]["hash"]
            }}),
            "which holds no such record",
        ),
    ];
    for (forged, reason) in forgeries {
        std::fs::write(state_file(&escape), forged.to_string()).unwrap();
        let outcome = escape.run(&[], "echo SHOULD_NOT_RUN");
        assert_refused_by_lockdown(&outcome, reason);
    }
}

#[test]
fn a_rolled_back_lockdown_state_is_reported_by_status_doctor_and_logs_verify() {
    let escape = Escape::new();
    // A genuine state file from before lockdown, put back after it was turned on.
    let genuine_off = std::fs::read_to_string(state_file(&escape)).unwrap();
    assert_eq!(aegisclaw(&escape, &["lockdown", "on"]).0, Some(0));
    std::fs::write(state_file(&escape), genuine_off).unwrap();
    let later = "the audit log has a later `lockdown.on` at seq 3";

    let (code, stdout, stderr) = aegisclaw(&escape, &["lockdown", "status"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stdout.starts_with("lockdown: on\n"), "{stdout}");
    assert!(stderr.contains(later), "{stderr}");
    let (code, json, _) = aegisclaw(&escape, &["lockdown", "status", "--json"]);
    let json: Value = serde_json::from_str(&json).unwrap();
    assert_eq!((code, &json["on"]), (Some(1), &Value::Bool(true)));
    assert!(json["disagreement"].as_str().unwrap().contains(later));

    let (code, stdout, _) = aegisclaw(&escape, &["doctor"]);
    assert_eq!(code, Some(1), "{stdout}");
    let line = stdout
        .lines()
        .find(|line| line.contains("Lockdown state"))
        .unwrap();
    assert!(line.starts_with("[FAIL]") && line.contains(later), "{line}");

    let (code, stdout, _) = aegisclaw(&escape, &["logs", "verify"]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("audit log verified"), "{stdout}");
    assert!(
        stdout.contains("lockdown state FAILED: lockdown state `"),
        "{stdout}"
    );
    assert!(stdout.contains(later), "{stdout}");
}

/// Waits up to 10 s for `child` to end; kills it if it does not. Its exit code, if it ended.
fn exit_within_seconds(child: &mut std::process::Child) -> Option<i32> {
    let waiting = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if waiting.elapsed() > std::time::Duration::from_secs(10) {
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    if status.is_none() {
        let _ = child.kill();
        let _ = child.wait();
    }
    status.and_then(|status| status.code())
}

/// Waits up to 10 s for the `sleep` with `marker` to be running.
fn wait_for_sleep(marker: &str) {
    let started = std::time::Instant::now();
    while processes_with(marker) < 1 && started.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(processes_with(marker), 1, "the run never started");
}

#[test]
fn lockdown_on_kills_a_run_in_flight_without_root() {
    let nobody = Unprivileged::new();
    let marker = "293.75";
    let mut setpriv = std::process::Command::new("setpriv");
    setpriv
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_aegisclaw"))
        .args([
            "sandbox",
            "run",
            "--scope",
            "shell.exec:sleep",
            "--",
            "sh",
            "-c",
            &format!("sleep {marker}"),
        ]);
    let mut run = nobody
        .env
        .with_env(setpriv)
        .current_dir(&nobody.work)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_for_sleep(marker);
    let lockdown = nobody.run(&["lockdown", "on"]);
    assert!(lockdown.status.success(), "{lockdown:?}");
    assert_eq!(exit_within_seconds(&mut run), Some(128 + 9));
    assert_eq!(processes_with(marker), 0, "the run outlived lockdown");
    let records = nobody.records();
    let find = |kind: &str| {
        records
            .iter()
            .find(|record| record["kind"] == kind)
            .unwrap_or_else(|| panic!("no `{kind}` in {records:#?}"))
    };
    let killed = &find("lockdown.killed")["data"]["runs"][0];
    assert_eq!(killed["outcome"], "killed");
    assert_eq!(killed["run"], find("run.finished")["run"]);
    assert_eq!(find("run.finished")["data"]["stopped_by"], "lockdown");
}

#[test]
fn lockdown_on_kills_a_run_in_flight() {
    let escape = Escape::new();
    let marker = "287.25";
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_aegisclaw"));
    command.args([
        "sandbox",
        "run",
        "--scope",
        "shell.exec:sleep",
        "--",
        "sh",
        "-c",
        &format!("sleep {marker}"),
    ]);
    let mut run = escape
        .env
        .with_env(command)
        .current_dir(&escape.work)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_sleep(marker);
    let before = escape.audit_lines();
    let (code, stdout, stderr) = aegisclaw(&escape, &["lockdown", "on", "--reason", "stop"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    // A sleep of minutes ends at once.
    assert_eq!(exit_within_seconds(&mut run), Some(128 + 9));
    assert_eq!(processes_with(marker), 0, "the run outlived lockdown");
    let records = escape.records_since(before);
    let find = |kind: &str| {
        records
            .iter()
            .find(|record| record["kind"] == kind)
            .unwrap_or_else(|| panic!("no `{kind}` in {records:#?}"))
    };
    let run_id = find("run.finished")["run"].as_str().unwrap();
    assert_eq!(
        find("lockdown.killed")["data"]["runs"],
        serde_json::json!([{"run": run_id, "skill": "ad-hoc", "pid": find("lockdown.killed")["data"]["runs"][0]["pid"], "outcome": "killed", "ended": true}])
    );
    let finished = &find("run.finished")["data"];
    assert_eq!(
        (
            &finished["signal"],
            &finished["stopped_by"],
            &finished["timed_out"]
        ),
        (
            &serde_json::json!(9),
            &serde_json::json!("lockdown"),
            &Value::Bool(false)
        )
    );
    assert!(
        stdout.contains(&format!("run {run_id} (ad-hoc): killed")),
        "{stdout}"
    );
    // The run's own last line says who stopped it.
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut run.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(
        stderr.contains(&format!(
            "aegisclaw: run {run_id} was killed by lockdown (signal 9)"
        )),
        "{stderr}"
    );
    // Nothing of the run is left in the registry, wherever it lives (a private tmpfs
    // directory under `/run` for root, else the home's `state/runs`).
    let mut dirs = vec![escape.env.home().join("state/runs")];
    if let Ok(keys) = std::fs::read_dir("/run/aegisclaw/runs") {
        dirs.extend(keys.map(|key| key.unwrap().path()));
    }
    let left: Vec<_> = dirs
        .iter()
        .filter_map(|dir| std::fs::read_dir(dir).ok())
        .flatten()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with(run_id))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// A bind mount of `source` at `target`, lazily unmounted on drop.
struct BindMount(PathBuf);

impl BindMount {
    fn new(source: &std::path::Path, target: &std::path::Path) -> Self {
        std::fs::create_dir_all(target).unwrap();
        let status = std::process::Command::new("mount")
            .arg("--bind")
            .args([source, target])
            .status()
            .unwrap();
        assert!(status.success(), "mount --bind {}", source.display());
        Self(target.to_path_buf())
    }
}

impl Drop for BindMount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

#[test]
fn lockdown_on_through_one_path_to_the_home_kills_runs_started_through_others() {
    if !running_as_root() {
        eprintln!("skipped: a bind mount of the home takes root");
        return;
    }
    let escape = Escape::new();
    let home = escape.env.home();
    // Two other names for the same home: a symlink, and a bind mount (which no path
    // resolution relates to the real path).
    let linked = home.with_file_name("linked-home");
    std::os::unix::fs::symlink(&home, &linked).unwrap();
    let bound_at = home.with_file_name("bound-home");
    let _bound = BindMount::new(&home, &bound_at);
    let markers = ["281.25", "283.75"];
    let mut runs = Vec::new();
    for (alias, marker) in [&linked, &bound_at].into_iter().zip(markers) {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_aegisclaw"));
        command.args(["sandbox", "run", "--scope", "shell.exec:sleep", "--"]);
        command.args(["sh", "-c", &format!("sleep {marker}")]);
        let run = escape
            .env
            .with_env(command)
            .env("AEGISCLAW_HOME", alias)
            .current_dir(&escape.work)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        wait_for_sleep(marker);
        runs.push(run);
    }
    let before = escape.audit_lines();
    // Through the real path.
    let (code, stdout, stderr) = aegisclaw(&escape, &["lockdown", "on", "--reason", "stop"]);
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    for (run, marker) in runs.iter_mut().zip(markers) {
        assert_eq!(exit_within_seconds(run), Some(128 + 9), "run of {marker}");
        assert_eq!(processes_with(marker), 0, "the run outlived lockdown");
    }
    let records = escape.records_since(before);
    let killed: Vec<&Value> = records
        .iter()
        .filter(|record| record["kind"] == "lockdown.killed")
        .flat_map(|record| record["data"]["runs"].as_array().unwrap())
        .collect();
    let finished: Vec<&Value> = records
        .iter()
        .filter(|record| record["kind"] == "run.finished")
        .collect();
    assert_eq!(finished.len(), 2, "{records:#?}");
    for record in finished {
        assert_eq!(record["data"]["stopped_by"], "lockdown", "{record}");
        assert!(
            killed
                .iter()
                .any(|run| run["run"] == record["run"] && run["outcome"] == "killed"),
            "{killed:?}"
        );
    }
}
