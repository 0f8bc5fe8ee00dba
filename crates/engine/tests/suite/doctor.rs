//! Doctor: the checks table, a healthy home, a missing home, a broken config and audit log.

use super::common::{home_with, tamper_audit};
use aegisclaw_core::config::PolicyTemplate;
use aegisclaw_core::home::Home;
use aegisclaw_engine::doctor::{self, CHECKS, CheckResult, DoctorInput, Report, Status};
use std::collections::BTreeSet;

fn result<'a>(report: &'a Report, name: &str) -> &'a CheckResult {
    report
        .results
        .iter()
        .find(|result| result.name == name)
        .unwrap_or_else(|| panic!("no check named {name}"))
}

fn failing(report: &Report) -> Vec<(&'static str, &str)> {
    report
        .results
        .iter()
        .filter(|r| r.status == Status::Fail)
        .map(|r| (r.name, r.detail.as_str()))
        .collect()
}

#[test]
fn checks_have_unique_short_names_and_a_fix() {
    let names: BTreeSet<&str> = CHECKS.iter().map(|check| check.name).collect();
    assert_eq!(names.len(), CHECKS.len(), "duplicate check names");
    for check in CHECKS {
        assert!(
            check.name.len() <= 20,
            "`{}` is too long for the dots",
            check.name
        );
        assert!(!check.fix.is_empty(), "`{}` has no fix", check.name);
    }
}

#[test]
fn a_fresh_home_on_this_machine_has_no_failures() {
    let (_dir, home) = home_with(PolicyTemplate::Standard);
    let report = doctor::run(&DoctorInput::gather(home));
    assert_eq!(failing(&report), Vec::<(&str, &str)>::new());
    assert!(!report.required_failed());
    assert_eq!(
        report.passed + report.warnings + report.failures,
        CHECKS.len()
    );
    let audit = result(&report, "Audit log");
    assert_eq!(
        (audit.status, audit.detail.as_str()),
        (
            Status::Pass,
            "1 record, chain intact, signed checkpoint at the tail"
        )
    );
    assert_eq!(result(&report, "Secret store").status, Status::Warn);
    assert_eq!(
        result(&report, "Secret store").fix,
        Some("run `aegisclaw secrets init`")
    );
    assert_eq!(result(&report, "Home permissions").fix, None);
    let policy = result(&report, "Policy engine");
    assert!(policy.detail.contains("standard cases pass"), "{policy:?}");
}

#[test]
fn a_missing_home_fails_only_the_home_check_and_still_probes() {
    let dir = tempfile::tempdir().unwrap();
    let report = doctor::run(&DoctorInput::gather(Home::at(dir.path().join("nope"))));
    let home = result(&report, "Home directory");
    assert_eq!(home.status, Status::Fail);
    assert_eq!(
        home.fix,
        Some("create one with `aegisclaw init --defaults`")
    );
    assert!(report.required_failed());
    assert_eq!(failing(&report).len(), 1, "{:?}", failing(&report));
    assert_eq!(result(&report, "Audit log").detail, "not checked: no home");
    assert_eq!(result(&report, "User namespaces").status, Status::Pass);
    assert_eq!(result(&report, "Disk space").status, Status::Pass);
}

#[test]
fn a_broken_config_is_a_failed_check_not_a_crash() {
    let (_dir, home) = home_with(PolicyTemplate::Standard);
    std::fs::write(home.config_file(), "sandbox: {runtime: teleport}\n").unwrap();
    let report = doctor::run(&DoctorInput::gather(home));
    let config = result(&report, "Configuration");
    assert_eq!(config.status, Status::Fail);
    assert!(
        config.detail.contains("`teleport` is not one of"),
        "{}",
        config.detail
    );
    assert_eq!(
        result(&report, "Policy engine").detail,
        "not checked: config.yaml is invalid"
    );
    assert!(report.required_failed());
}

#[test]
fn an_edited_audit_record_fails_the_audit_check() {
    let (_dir, home) = home_with(PolicyTemplate::Standard);
    tamper_audit(&home);
    let report = doctor::run(&DoctorInput::gather(home));
    let audit = result(&report, "Audit log");
    assert_eq!(audit.status, Status::Fail);
    assert!(
        audit.detail.starts_with("broken: seq 1: record edited"),
        "{}",
        audit.detail
    );
    assert!(report.required_failed());
}

#[test]
fn a_policy_that_contradicts_its_template_cases_fails() {
    let (_dir, home) = home_with(PolicyTemplate::Strict);
    let permissive = aegisclaw_core::policy::template_text(PolicyTemplate::Permissive).unwrap();
    std::fs::write(home.default_policy(), permissive).unwrap();
    let report = doctor::run(&DoctorInput::gather(home));
    let policy = result(&report, "Policy engine");
    assert_eq!(policy.status, Status::Fail, "{policy:?}");
    assert!(
        policy.detail.contains("of the strict template's cases"),
        "{}",
        policy.detail
    );
}

#[test]
fn loose_permissions_fail() {
    use std::os::unix::fs::PermissionsExt as _;
    let (_dir, home) = home_with(PolicyTemplate::Standard);
    let path = home.config_file();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let report = doctor::run(&DoctorInput::gather(home));
    let permissions = result(&report, "Home permissions");
    assert_eq!(permissions.status, Status::Fail);
    assert!(
        permissions.detail.contains("has mode 644"),
        "{}",
        permissions.detail
    );
}

#[test]
fn the_openclaw_endpoint_is_connected_to() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (_dir, home) = home_with(PolicyTemplate::Standard);
    let mut input = DoctorInput::gather(home.clone());
    input.openclaw_endpoint = None;
    assert_eq!(
        result(&doctor::run(&input), "OpenClaw adapter").detail,
        "not configured"
    );
    std::fs::write(
        home.openclaw_adapter(),
        format!("endpoint: \"http://127.0.0.1:{port}/v1\"\ntimeout_ms: 500\n"),
    )
    .unwrap();
    let report = doctor::run(&input);
    let adapter = result(&report, "OpenClaw adapter");
    assert_eq!(adapter.status, Status::Pass, "{adapter:?}");
    assert!(
        adapter
            .detail
            .starts_with(&format!("reachable at `127.0.0.1:{port}`"))
    );
    drop(listener);
    input.openclaw_endpoint = Some(format!("127.0.0.1:{port}"));
    let adapter = doctor::run(&input)
        .results
        .into_iter()
        .find(|r| r.name == "OpenClaw adapter")
        .unwrap();
    assert_eq!(adapter.status, Status::Warn, "{adapter:?}");
    assert!(
        adapter.detail.starts_with("unreachable"),
        "{}",
        adapter.detail
    );
}

#[test]
fn the_report_serialises_with_lowercase_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let report = doctor::run(&DoctorInput::gather(Home::at(dir.path().join("nope"))));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["results"][0]["name"], "Home directory");
    assert_eq!(json["results"][0]["status"], "fail");
    assert_eq!(json["results"][0]["required"], true);
    assert_eq!(json["failures"], 1);
}
