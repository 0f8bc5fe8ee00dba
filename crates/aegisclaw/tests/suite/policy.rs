//! `aegisclaw policy` through the real binary: show, use (templates, files, invalid files),
//! test, diff and eval, and the audit record `policy use` leaves.

use super::common::TestEnv;

const BAD: &str = "package aegisclaw.policy\n\nallow if {\n\tinput.scope_risk ==\n}\n";
const LEGACY: &str = "package aegisclaw.policy\n\ndefault allow = false\n\nallow {\n\tinput.scope_risk == \"low\"\n}\n";

fn input(kind: &str, target: &str, risk: &str, signed: bool) -> String {
    serde_json::json!({
        "skill": {"name": "web-search", "version": "1.0.0", "publisher": null, "signed": signed},
        "scope": format!("{kind}:{target}"), "scope_kind": kind, "scope_target": target,
        "scope_risk": risk, "skill_signed": signed, "approval": false,
        "runtime": "native", "actor": "cli",
    })
    .to_string()
}

#[test]
fn show_prints_the_active_policy() {
    let env = TestEnv::initialised();
    aegisclaw_snapshot!(env, &["policy", "show"], @r#"
    exit: 0
    --- stdout
    policy: [TEMP]/home/policies/default.rego
    template: standard
    rego version: v1

    # AegisClaw policy template: standard. Low-risk scopes run; medium-risk scopes run when a
    # trusted publisher signed the skill; everything else needs a human's approval, except that
    # critical-risk scopes of unsigned skills are refused outright.
    package aegisclaw.policy

    default allow := false

    # Low risk: cannot change or leak much.
    allow if input.scope_risk == "low"

    # Medium risk from a signed skill: a trusted publisher vouches for what it does.
    allow if {
    	input.scope_risk == "medium"
    	input.skill_signed == true
    }

    # Anything else runs once a human approved it (unless a deny below applies).
    allow if input.approval == true

    # Critical scopes (sensitive paths, metadata or private addresses, `*` egress) of an unsigned
    # skill are denied even with approval: nobody vouches for the code, and an approval prompt is
    # the easiest control to click through. Signing the skill makes the scope askable again.
    deny if {
    	input.scope_risk == "critical"
    	not input.skill_signed
    }

    reason := "standard: critical-risk scopes of unsigned skills are denied; sign the skill to ask for approval" if {
    	input.scope_risk == "critical"
    	not input.skill_signed
    }

    reason := "standard: critical-risk scopes need approval" if {
    	input.scope_risk == "critical"
    	input.skill_signed == true
    }

    reason := "standard: high-risk scopes need approval" if input.scope_risk == "high"

    reason := "standard: unsigned skills need approval for medium-risk scopes" if {
    	input.scope_risk == "medium"
    	not input.skill_signed
    }
    --- stderr
    "#);
    let output = env.cmd(&["policy", "show", "--json"]).output().unwrap();
    let document: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(document["template"], "standard");
    assert_eq!(document["rego_version"], "v1");
    assert!(
        document["text"]
            .as_str()
            .unwrap()
            .contains("package aegisclaw.policy")
    );
}

#[test]
fn use_a_template_validates_writes_and_audits() {
    let env = TestEnv::initialised();
    aegisclaw_snapshot!(env, &["policy", "use", "strict"], @"
    exit: 0
    --- stdout
    Now using policy strict (template strict, rego v1)
      12 cases passed
      wrote [TEMP]/home/policies/default.rego
    --- stderr
    ");
    let text = std::fs::read_to_string(env.home().join("policies/default.rego")).unwrap();
    assert!(text.contains("template: strict"));
    let config = std::fs::read_to_string(env.home().join("config.yaml")).unwrap();
    assert!(config.contains("template: strict"), "{config}");
    aegisclaw_snapshot!(env, &["logs", "--kind", "policy.use"], @r#"
    exit: 0
    --- stdout
    [TS]  #3     policy.use         cli:[USER]/claims:tester  {"new_sha256":"[HASH]","old_sha256":"[HASH]","rego_version":"v1","source":"strict","template":"strict"}
    --- stderr
    "#);
}

#[test]
fn use_an_invalid_file_changes_nothing() {
    let env = TestEnv::initialised();
    let before = std::fs::read_to_string(env.home().join("policies/default.rego")).unwrap();
    let bad = env.dir.path().join("bad.rego");
    std::fs::write(&bad, BAD).unwrap();
    aegisclaw_snapshot!(env, &["policy", "use", bad.to_str().unwrap()], @"
    exit: 2
    --- stdout
    --- stderr
    error: invalid policy `[TEMP]/bad.rego:5:1`: expecting expression
    ");
    let recursive = env.dir.path().join("loop.rego");
    std::fs::write(
        &recursive,
        "package aegisclaw.policy\nf(x) := f(x + 1)\nallow if f(1)\n",
    )
    .unwrap();
    aegisclaw_snapshot!(env, &["policy", "use", recursive.to_str().unwrap()], @"
    exit: 2
    --- stdout
    --- stderr
    error: invalid policy `[TEMP]/loop.rego`: recursion is not allowed in Rego: f -> f
    ");
    let after = std::fs::read_to_string(env.home().join("policies/default.rego")).unwrap();
    assert_eq!(before, after);
    let log = std::fs::read_to_string(env.home().join("audit/audit.jsonl")).unwrap();
    assert!(!log.contains("policy.use"));
}

#[test]
fn use_a_legacy_file_detects_v0() {
    let env = TestEnv::initialised();
    let legacy = env.dir.path().join("legacy.rego");
    std::fs::write(&legacy, LEGACY).unwrap();
    aegisclaw_snapshot!(env, &["policy", "use", legacy.to_str().unwrap()], @"
    exit: 0
    --- stdout
    Now using policy [TEMP]/legacy.rego (template custom, rego v0)
      56 grid decisions evaluated
      wrote [TEMP]/home/policies/default.rego
    --- stderr
    ");
    let config = std::fs::read_to_string(env.home().join("config.yaml")).unwrap();
    assert!(config.contains("rego_version: v0"), "{config}");
    assert!(config.contains("template: custom"), "{config}");
    aegisclaw_snapshot!(env, &["policy", "eval", "--input", &input("files.read", "/tmp/x", "low", false)], @"
    exit: 0
    --- stdout
    decision: allow
    rules: policies/default.rego:5 allow
    --- stderr
    ");
    aegisclaw_snapshot!(env, &["policy", "test"], @"
    exit: 2
    --- stdout
    --- stderr
    error: the active policy is `custom`, so it has no built-in cases; pass a cases file: `aegisclaw policy test <cases.yaml>`
    ");
}

#[test]
fn test_runs_the_active_templates_cases_and_fails_on_a_bad_case() {
    let env = TestEnv::initialised();
    aegisclaw_snapshot!(env, &["policy", "test"], @"
    exit: 0
    --- stdout
    PASS  low-risk read from an unsigned skill runs                     allow           policies/default.rego:9 allow
    PASS  low-risk internal service runs                                allow           policies/default.rego:9 allow
    PASS  medium-risk write from a signed skill runs                    allow           policies/default.rego:12 allow
    PASS  medium-risk write from an unsigned skill needs approval       needs_approval  policies/default.rego:18 allow
    PASS  medium-risk egress from a signed skill runs                   allow           policies/default.rego:12 allow
    PASS  named command from an unsigned skill needs approval           needs_approval  policies/default.rego:18 allow
    PASS  any command needs approval even when signed                   needs_approval  policies/default.rego:18 allow
    PASS  secrets need approval even when signed                        needs_approval  policies/default.rego:18 allow
    PASS  secrets from an unsigned skill need approval                  needs_approval  policies/default.rego:18 allow
    PASS  cloud metadata address from a signed skill needs approval     needs_approval  policies/default.rego:18 allow
    PASS  cloud metadata address from an unsigned skill is denied       deny            policies/default.rego:23 deny
    PASS  reading /etc from an unsigned skill is denied                 deny            policies/default.rego:23 deny
    PASS  writing the ssh directory from a signed skill needs approval  needs_approval  policies/default.rego:18 allow
    PASS  wildcard egress from an unsigned skill is denied              deny            policies/default.rego:23 deny
    PASS  the approval field in the input is ignored                    needs_approval  policies/default.rego:18 allow
    15 passed, 0 failed (standard.cases.yaml)
    --- stderr
    ");
    let cases = env.dir.path().join("mine.cases.yaml");
    std::fs::write(
        &cases,
        "- name: secrets run without asking\n  input: {scope: \"secrets.read:TOKEN\", scope_risk: high}\n  expect: allow\n- name: low risk runs\n  expect: allow\n  rule: \":9 allow\"\n",
    )
    .unwrap();
    aegisclaw_snapshot!(env, &["policy", "test", cases.to_str().unwrap()], @"
    exit: 1
    --- stdout
    FAIL  secrets run without asking  needs_approval  policies/default.rego:18 allow
          expected allow, got needs_approval
    PASS  low risk runs               allow           policies/default.rego:9 allow
    1 passed, 1 failed ([TEMP]/mine.cases.yaml)
    --- stderr
    ");
}

#[test]
fn diff_strict_and_permissive() {
    let env = TestEnv::new();
    aegisclaw_snapshot!(env, &["policy", "diff", "strict", "permissive"], @"
    exit: 0
    --- stdout
    42 of 56 decisions change from `strict` to `permissive`:
    kind          risk      signed  strict           permissive
    files.read    low       no      needs_approval → allow
    files.read    low       yes     needs_approval → allow
    files.read    medium    no      needs_approval → allow
    files.read    medium    yes     needs_approval → allow
    files.read    high      no      needs_approval → allow
    files.read    high      yes     needs_approval → allow
    files.write   low       no      needs_approval → allow
    files.write   low       yes     needs_approval → allow
    files.write   medium    no      needs_approval → allow
    files.write   medium    yes     needs_approval → allow
    files.write   high      no      needs_approval → allow
    files.write   high      yes     needs_approval → allow
    shell.exec    low       no      needs_approval → allow
    shell.exec    low       yes     needs_approval → allow
    shell.exec    medium    no      needs_approval → allow
    shell.exec    medium    yes     needs_approval → allow
    shell.exec    high      no      needs_approval → allow
    shell.exec    high      yes     needs_approval → allow
    net.outbound  low       no      needs_approval → allow
    net.outbound  low       yes     needs_approval → allow
    net.outbound  medium    no      needs_approval → allow
    net.outbound  medium    yes     needs_approval → allow
    net.outbound  high      no      needs_approval → allow
    net.outbound  high      yes     needs_approval → allow
    net.internal  low       no      needs_approval → allow
    net.internal  low       yes     needs_approval → allow
    net.internal  medium    no      needs_approval → allow
    net.internal  medium    yes     needs_approval → allow
    net.internal  high      no      needs_approval → allow
    net.internal  high      yes     needs_approval → allow
    secrets.read  low       no      needs_approval → allow
    secrets.read  low       yes     needs_approval → allow
    secrets.read  medium    no      needs_approval → allow
    secrets.read  medium    yes     needs_approval → allow
    secrets.read  high      no      needs_approval → allow
    secrets.read  high      yes     needs_approval → allow
    unix.connect  low       no      needs_approval → allow
    unix.connect  low       yes     needs_approval → allow
    unix.connect  medium    no      needs_approval → allow
    unix.connect  medium    yes     needs_approval → allow
    unix.connect  high      no      needs_approval → allow
    unix.connect  high      yes     needs_approval → allow
    --- stderr
    ");
    let output = env
        .cmd(&["policy", "diff", "standard", "standard", "--json"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&output.stdout), "[]\n");
}

#[test]
fn eval_prints_each_outcome_with_its_rules() {
    let env = TestEnv::initialised();
    aegisclaw_snapshot!(env, &["policy", "eval", "--input", &input("net.outbound", "api.github.com", "medium", true)], @"
    exit: 0
    --- stdout
    decision: allow
    rules: policies/default.rego:12 allow
    --- stderr
    ");
    aegisclaw_snapshot!(env, &["policy", "eval", "--template", "strict", "--input", &input("files.read", "/tmp/x", "low", true)], @"
    exit: 0
    --- stdout
    decision: needs_approval
    rules: strict.rego:8 allow
    reason: strict: every scope needs approval
    --- stderr
    ");
    aegisclaw_snapshot!(env, &["policy", "eval", "--json", "--input", &input("net.outbound", "169.254.169.254", "critical", false)], @r#"
    exit: 0
    --- stdout
    {"decision":"deny","rules":["policies/default.rego:23 deny"],"reasons":["standard: critical-risk scopes of unsigned skills are denied; sign the skill to ask for approval"],"input":{"skill":{"name":"web-search","version":"1.0.0","publisher":null,"signed":false},"scope":"net.outbound:169.254.169.254","scope_kind":"net.outbound","scope_target":"169.254.169.254","scope_risk":"critical","skill_signed":false,"approval":false,"runtime":"native","actor":"cli"}}
    --- stderr
    "#);
    aegisclaw_snapshot!(env, &["policy", "eval", "--template", "permissive", "--input", r#"{"scope": "files.read:/etc"}"#], @"
    exit: 2
    --- stdout
    --- stderr
    error: invalid policy input: give the full JSON document of DESIGN §5 (skill, scope, scope_kind, scope_target, scope_risk, skill_signed, approval, runtime, actor)
      caused by: missing field `skill` at line 1 column 28
    ");
}

#[test]
fn a_broken_policy_refuses_every_run_that_needs_a_decision_on_the_record() {
    let env = TestEnv::initialised();
    std::fs::write(env.home().join("policies/default.rego"), BAD).unwrap();
    let scoped = env
        .cmd(&[
            "sandbox",
            "run",
            "--scope",
            "files.read:/usr/share",
            "--",
            "/bin/true",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&scoped.stderr);
    assert_eq!(scoped.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("policies/default.rego"), "{stderr}");
    let log = std::fs::read_to_string(env.home().join("audit/audit.jsonl")).unwrap();
    let refused: serde_json::Value = log
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .find(|record| record["kind"] == "run.refused")
        .expect("a run.refused record");
    assert_eq!(refused["data"]["stage"], "policy");
    assert!(
        refused["reason"]
            .as_str()
            .unwrap()
            .starts_with("the policy cannot be loaded: invalid policy `policies/default.rego"),
        "{refused}"
    );
    assert!(!log.contains("\"run.launch\""), "{log}");
    // A run that asks for no scope decides nothing: the policy is not loaded at all.
    let bare = env
        .cmd(&["sandbox", "run", "--", "/bin/true"])
        .output()
        .unwrap();
    assert_eq!(
        bare.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&bare.stderr)
    );
}
