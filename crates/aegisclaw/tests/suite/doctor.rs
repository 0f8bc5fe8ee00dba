//! Golden tests of `doctor` and `posture`. Lines about the machine (probes, runtimes, disk)
//! are filtered out of text snapshots and checked loosely through `--json` instead.

use super::common::{TestEnv, filters};
use serde_json::Value;

/// Checks whose detail depends on the machine, not on the home.
const MACHINE_CHECKS: &str = "User namespaces|Mount namespace|PID namespace|Network namespace|IPC namespace|UTS namespace|Cgroup namespace|Landlock|Seccomp filter|No new privileges|Cgroup limits|CA bundle|Docker engine|gVisor runtime|Kata Containers|Firecracker \\+ KVM|Disk space";

/// The standard filters plus: machine check lines (and their fix lines) become
/// `[....] <name> [MACHINE]`, and the summary counts become placeholders.
fn doctor_filters() -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = filters()
        .into_iter()
        .map(|(from, to)| (from.to_string(), to.to_string()))
        .collect();
    all.push((
        format!(r"(?m)^\[[ a-zA-Z]{{4}}\] ({MACHINE_CHECKS}) \.+ .*\n(       → .*\n)?"),
        "[....] $1 [MACHINE]\n".to_string(),
    ));
    all.push((
        r"\d+/(\d+) checks passed \(\d+ warnings?, (\d+ failures?)\)".to_string(),
        "[N]/$1 checks passed ([W] warnings, $2)".to_string(),
    ));
    all.push((
        r"(?m)^(Sandbox isolation|Network) .*\n( +→ .*\n)?".to_string(),
        "$1 [MACHINE]\n".to_string(),
    ));
    // The case count belongs to the policy templates, which change on their own schedule.
    all.push((
        r"\d+ (strict|standard|permissive) cases pass".to_string(),
        "[N] $1 cases pass".to_string(),
    ));
    all.push((
        r"Total \d+/100 \(\d+%\), grade [A-F]".to_string(),
        "Total [MACHINE]".to_string(),
    ));
    all
}

macro_rules! doctor_snapshot {
    ($env:expr, $args:expr, @$snapshot:literal) => {{
        let rendered = $env.run($args);
        let owned = doctor_filters();
        let filters: Vec<(&str, &str)> = owned.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        insta::with_settings!({ filters => filters }, {
            insta::assert_snapshot!(rendered, @$snapshot);
        });
    }};
}

fn json(env: &TestEnv, args: &[&str]) -> (i32, Value) {
    let output = env.cmd(args).output().unwrap();
    let value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|error| panic!("{error}: {}", String::from_utf8_lossy(&output.stdout)));
    (output.status.code().unwrap(), value)
}

fn status_of<'a>(report: &'a Value, name: &str) -> &'a str {
    report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|result| result["name"] == name)
        .unwrap_or_else(|| panic!("no check {name}"))["status"]
        .as_str()
        .unwrap()
}

fn tamper_audit(env: &TestEnv) {
    let path = env.home().join("audit/audit.jsonl");
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text.replacen("claims:tester", "claims:mallory", 1);
    assert_ne!(text, edited);
    std::fs::write(&path, edited).unwrap();
}

#[test]
fn doctor_on_a_fresh_home() {
    let env = TestEnv::initialised();
    doctor_snapshot!(env, &["doctor"], @"
    exit: 0
    --- stdout
    AegisClaw Health Check

    [ ok ] Home directory ....... `[TEMP]/home`
    [ ok ] Home permissions ..... 0700 directories, 0600 files
    [ ok ] Configuration ........ valid (runtime native, policy standard)
    [ ok ] Policy engine ........ compiled (default.rego, rvm); [N] standard cases pass
    [ ok ] Secret store ......... initialised (age, 0 secrets)
    [ ok ] Audit log ............ 2 records, chain intact, signed checkpoint at the tail
    [ ok ] Lockdown state ....... off (agrees with the audit log, set by seq 1)
    [ ok ] Signing key .......... key id [KEYID]
    [ ok ] Trust store .......... 1 trusted publisher key
    [ ok ] Installed skills ..... none installed
    [....] User namespaces [MACHINE]
    [....] Mount namespace [MACHINE]
    [....] PID namespace [MACHINE]
    [....] Network namespace [MACHINE]
    [....] IPC namespace [MACHINE]
    [....] UTS namespace [MACHINE]
    [....] Cgroup namespace [MACHINE]
    [....] Landlock [MACHINE]
    [....] Seccomp filter [MACHINE]
    [....] No new privileges [MACHINE]
    [....] Cgroup limits [MACHINE]
    [....] CA bundle [MACHINE]
    [....] Docker engine [MACHINE]
    [....] gVisor runtime [MACHINE]
    [....] Kata Containers [MACHINE]
    [....] Firecracker + KVM [MACHINE]
    [warn] OpenClaw adapter ..... not configured
           → configure adapters/openclaw.yaml in the home, or set OPENCLAW_ENDPOINT
    [....] Disk space [MACHINE]

    [N]/28 checks passed ([W] warnings, 0 failures)
    --- stderr
    ");
}

#[test]
fn doctor_json_is_the_report() {
    let env = TestEnv::initialised();
    let (code, report) = json(&env, &["doctor", "--json"]);
    assert_eq!(code, 0, "{report:#}");
    let results = report["results"].as_array().unwrap();
    let names: Vec<&str> = results
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 28);
    assert_eq!(
        &names[..4],
        [
            "Home directory",
            "Home permissions",
            "Configuration",
            "Policy engine"
        ]
    );
    assert_eq!(names.last(), Some(&"Disk space"));
    for result in results {
        let status = result["status"].as_str().unwrap();
        assert!(["pass", "warn", "fail"].contains(&status), "{result}");
        assert_eq!(result["fix"].is_null(), status == "pass", "{result}");
        assert!(result["required"].is_boolean());
        assert!(result["detail"].is_string());
    }
    let count = |status: &str| results.iter().filter(|r| r["status"] == status).count();
    assert_eq!(report["passed"], count("pass"));
    assert_eq!(report["warnings"], count("warn"));
    assert_eq!(report["failures"], count("fail"));
    for name in [
        "Home directory",
        "Home permissions",
        "Configuration",
        "Policy engine",
        "Audit log",
        "Trust store",
        "User namespaces",
        "Landlock",
        "Seccomp filter",
    ] {
        assert_eq!(status_of(&report, name), "pass", "{name}");
    }
    assert_eq!(status_of(&report, "Secret store"), "pass");
}

#[test]
fn doctor_without_a_home_names_the_fix_and_still_probes() {
    let env = TestEnv::new();
    doctor_snapshot!(env, &["doctor"], @"
    exit: 1
    --- stdout
    AegisClaw Health Check

    [FAIL] Home directory ....... no AegisClaw home at `[TEMP]/home`
           → create one with `aegisclaw init --defaults`
    [warn] Home permissions ..... not checked: no home
    [warn] Configuration ........ not checked: no home
    [warn] Policy engine ........ not checked: no home
    [warn] Secret store ......... not checked: no home
    [warn] Audit log ............ not checked: no home
    [warn] Lockdown state ....... not checked: no home
    [warn] Signing key .......... not checked: no home
    [warn] Trust store .......... not checked: no home
    [warn] Installed skills ..... not checked: no home
    [....] User namespaces [MACHINE]
    [....] Mount namespace [MACHINE]
    [....] PID namespace [MACHINE]
    [....] Network namespace [MACHINE]
    [....] IPC namespace [MACHINE]
    [....] UTS namespace [MACHINE]
    [....] Cgroup namespace [MACHINE]
    [....] Landlock [MACHINE]
    [....] Seccomp filter [MACHINE]
    [....] No new privileges [MACHINE]
    [....] Cgroup limits [MACHINE]
    [....] CA bundle [MACHINE]
    [....] Docker engine [MACHINE]
    [....] gVisor runtime [MACHINE]
    [....] Kata Containers [MACHINE]
    [....] Firecracker + KVM [MACHINE]
    [warn] OpenClaw adapter ..... not configured
           → configure adapters/openclaw.yaml in the home, or set OPENCLAW_ENDPOINT
    [....] Disk space [MACHINE]

    [N]/28 checks passed ([W] warnings, 1 failure)
    --- stderr
    ");
    let (code, report) = json(&env, &["doctor", "--json"]);
    assert_eq!(code, 1);
    assert_eq!(status_of(&report, "User namespaces"), "pass");
}

#[test]
fn doctor_fails_when_the_audit_log_was_edited() {
    let env = TestEnv::initialised();
    tamper_audit(&env);
    let output = env.cmd(&["doctor"]).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8(output.stdout).unwrap();
    let audit: Vec<&str> = stdout
        .lines()
        .skip_while(|line| !line.contains("Audit log"))
        .take(2)
        .collect();
    assert!(
        audit[0].starts_with("[FAIL] Audit log ............ broken: seq 1: record edited"),
        "{stdout}"
    );
    assert_eq!(
        audit[1],
        "       → run `aegisclaw logs verify` and investigate the first bad record"
    );
}

#[test]
fn posture_scores_what_is_enforced() {
    let env = TestEnv::initialised();
    doctor_snapshot!(env, &["posture"], @"
    exit: 0
    --- stdout
    AegisClaw Security Posture

    Sandbox isolation [MACHINE]
    Secrets            15/20  [###############.....]  age store initialised, identity not passphrase-protected
                       → protect the identity with a passphrase for +3; when each secret was last rotated is not recorded yet, so rotation is not scored (+2 once it is)
    Policy             20/20  [####################]  56 grid decisions: unsigned critical denied 7/7, high risk needs approval 14/14, nothing critical without approval 14/14
    Audit              15/15  [####################]  2 records, chain intact, signed checkpoint at seq 2
    Skills             10/10  [####################]  no skills installed
    Network [MACHINE]

    Total [MACHINE]
    --- stderr
    ");
}

#[test]
fn posture_json_drops_when_the_audit_log_is_broken() {
    let env = TestEnv::initialised();
    let (code, before) = json(&env, &["posture", "--json"]);
    assert_eq!(code, 0);
    let categories: Vec<(&str, u64)> = before["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["max"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        categories,
        [
            ("Sandbox isolation", 30),
            ("Secrets", 20),
            ("Policy", 20),
            ("Audit", 15),
            ("Skills", 10),
            ("Network", 5)
        ]
    );
    assert_eq!(before["max"], 100);
    assert_eq!(
        before["categories"][2]["points"], 20,
        "standard policy: {:#}",
        before["categories"][2]
    );
    assert_eq!(before["categories"][3]["points"], 15);
    tamper_audit(&env);
    let (code, after) = json(&env, &["posture", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(after["categories"][3]["points"], 0);
    assert!(
        after["categories"][3]["detail"]
            .as_str()
            .unwrap()
            .starts_with("chain broken: seq 1")
    );
    assert_eq!(
        after["total"].as_u64().unwrap() + 15,
        before["total"].as_u64().unwrap()
    );
}

#[test]
fn posture_without_a_home_is_an_error_naming_init() {
    let env = TestEnv::new();
    let output = env.cmd(&["posture"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("aegisclaw init --defaults"), "{stderr}");
}

#[test]
fn doctor_reports_the_configured_ca_bundle_and_a_config_naming_a_missing_one_fails() {
    let env = TestEnv::initialised();
    let bundle = env.dir.path().join("ca.pem");
    std::fs::write(&bundle, CERTIFICATE_PEM).unwrap();
    let config = env.home().join("config.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    let with_bundle = text.replacen(
        "sandbox:\n",
        &format!("sandbox:\n  ca_bundle: {}\n", bundle.display()),
        1,
    );
    std::fs::write(&config, &with_bundle).unwrap();
    let (_, report) = json(&env, &["doctor", "--json"]);
    let check = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|result| result["name"] == "CA bundle")
        .unwrap();
    assert_eq!(check["status"], "pass");
    assert_eq!(
        check["detail"],
        format!(
            "{} (`sandbox.ca_bundle`, 1 certificate), seen by runs at /etc/ssl/certs/ca-certificates.crt",
            bundle.display()
        )
    );
    // Gone: the config no longer loads (every run would be refused), and doctor says so.
    std::fs::remove_file(&bundle).unwrap();
    let (code, report) = json(&env, &["doctor", "--json"]);
    assert_eq!(code, 1);
    assert_eq!(status_of(&report, "Configuration"), "fail");
    assert_eq!(status_of(&report, "CA bundle"), "warn");
}

/// A self-signed P-256 certificate (`openssl req -x509`, valid until 2126).
const CERTIFICATE_PEM: &str = "-----BEGIN CERTIFICATE-----
MIIBkjCCATegAwIBAgIUcKPFd4y+B7RZoAsRlQrHdqu/zrMwCgYIKoZIzj0EAwIw
HTEbMBkGA1UEAwwSQWVnaXNDbGF3IHBlbSB0ZXN0MCAXDTI2MTIwMjE0NTQzNFoY
DzIxMjYxMTA4MTQ1NDM0WjAdMRswGQYDVQQDDBJBZWdpc0NsYXcgcGVtIHRlc3Qw
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQOvn2V0VxVgrgJKWeT8Kq7ULWhdCQ3
1y5cLdLYyY/OFMHyAuou/50zf6q7+j02KSlSPEARvC2juI4AKXkqM3k/o1MwUTAd
BgNVHQ4EFgQUWt1jMYtB1aXNM3YiwlCpsrwhDVwwHwYDVR0jBBgwFoAUWt1jMYtB
1aXNM3YiwlCpsrwhDVwwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBG
AiEAia2FAVNa0ovqmLs3ajKVeffV2M5SdhYujqppqD39YqoCIQDBrA/Wc8lShIt8
ePK83nvU1IFGTnPA2ichIqA+CU03JA==
-----END CERTIFICATE-----
";

#[test]
fn doctor_fails_a_ca_bundle_holding_a_private_key_as_every_run_would_be_refused() {
    let env = TestEnv::initialised();
    let config = env.home().join("config.yaml");
    let text = std::fs::read_to_string(&config).unwrap();
    let bundle = env.dir.path().join("bundle.pem");
    for contents in [
        format!(
            "{CERTIFICATE_PEM}-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMG\n-----END PRIVATE KEY-----\n"
        ),
        "no certificates here\n".to_string(),
    ] {
        std::fs::write(&bundle, &contents).unwrap();
        let with_bundle = text.replacen(
            "sandbox:\n",
            &format!("sandbox:\n  ca_bundle: {}\n", bundle.display()),
            1,
        );
        std::fs::write(&config, &with_bundle).unwrap();
        let (code, report) = json(&env, &["doctor", "--json"]);
        assert_eq!(code, 1);
        assert_eq!(status_of(&report, "CA bundle"), "fail", "{report:#}");
        let detail = report["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|result| result["name"] == "CA bundle")
            .unwrap()["detail"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(detail.contains(&bundle.display().to_string()), "{detail}");
        assert!(detail.ends_with("so every run is refused"), "{detail}");
        assert!(!detail.contains("MIGHAgEAMBMG"), "{detail}");
    }
}
