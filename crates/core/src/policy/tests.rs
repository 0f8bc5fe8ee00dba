//! Unit tests of the policy module that need private access: the register VM and the
//! interpreter must agree on every decision of the grid.

use super::*;
use pretty_assertions::assert_eq;

const LEGACY: &str = r#"package aegisclaw.policy

default allow = false

allow {
	input.scope_risk == "low"
}

allow {
	input.approval == true
	input.skill_signed == true
}

deny[msg] {
	input.scope_kind == "secrets.read"
	not input.skill_signed
	msg := "unsigned skills never read secrets"
}

reason = "legacy: ask first" {
	input.scope_risk != "low"
}
"#;

const FANCY: &str = r#"package aegisclaw.policy

trusted_hosts := {"api.github.com", "pypi.org"}

default allow := false

allow if {
	input.scope_kind == "net.outbound"
	input.scope_target in trusted_hosts
}

allow if {
	input.approval
	level < 3
}

allow := input.skill_signed if {
	input.scope_kind == "files.read"
	input.skill_signed
}

level := 1 if {
	input.scope_risk == "low"
} else := 2 if {
	input.scope_risk == "medium"
} else := 3

deny contains sprintf("no %s for %s", [input.scope_kind, input.skill.name]) if {
	input.scope_kind == "shell.exec"
	input.scope_risk == "critical"
}
"#;

fn interpreter_decision(policy: &Policy, input: &PolicyInput) -> Decision {
    let mut worker = Worker::interpreter(&policy.loaded.engine);
    decision::decide(&mut worker, &policy.meta(), input)
}

#[test]
fn vm_and_interpreter_agree_on_the_whole_grid() {
    let mut policies: Vec<Policy> = PolicyTemplate::ALL
        .iter()
        .filter(|t| **t != PolicyTemplate::Custom)
        .map(|t| Policy::template(*t).unwrap())
        .collect();
    policies.push(Policy::compile("legacy.rego", LEGACY, None).unwrap());
    policies.push(Policy::compile("fancy.rego", FANCY, None).unwrap());
    for policy in &policies {
        assert_eq!(policy.engine_kind(), "rvm", "{}", policy.source_name());
        let mut inputs = grid();
        // Decide in both orders so no state leaks from one decision to the next.
        inputs.extend(grid().into_iter().rev());
        for input in &inputs {
            let vm = policy.decide(input).unwrap();
            assert_eq!(
                vm,
                interpreter_decision(policy, input),
                "{} {input:?}",
                policy.source_name()
            );
            assert!(vm.errors.is_empty(), "{vm:?}");
        }
    }
}

#[test]
fn legacy_policy_is_detected_and_its_rules_are_named() {
    let policy = Policy::compile("legacy.rego", LEGACY, None).unwrap();
    assert_eq!(policy.rego_version(), RegoVersion::V0);
    assert!(policy.loaded.instrumented);
    let mut input = grid().remove(0);
    input.scope_kind = crate::scope::ScopeKind::SecretsRead;
    input.scope_risk = crate::scope::Risk::High;
    let decision = policy.decide(&input).unwrap();
    assert_eq!(
        decision,
        Decision {
            outcome: Outcome::Deny,
            rules: vec!["legacy.rego:14 deny".into()],
            reasons: vec![
                "legacy: ask first".into(),
                "unsigned skills never read secrets".into()
            ],
            errors: vec![],
        }
    );
}

#[test]
fn heads_that_cannot_be_instrumented_are_named_without_a_line() {
    let policy = Policy::compile("fancy.rego", FANCY, None).unwrap();
    let analysis = &policy.loaded.analysis;
    assert!(analysis.uninstrumented.contains("allow"));
    let mut input = grid().remove(0); // files.read, low, unsigned
    input.skill_signed = true;
    let decision = policy.decide(&input).unwrap();
    assert_eq!(decision.outcome, Outcome::Allow);
    assert_eq!(decision.rules, vec!["fancy.rego allow".to_string()]);
    let mut egress = input.clone();
    egress.scope_kind = crate::scope::ScopeKind::NetOutbound;
    egress.scope_target = "pypi.org".into();
    assert_eq!(
        policy.decide(&egress).unwrap().rules,
        vec!["fancy.rego:7 allow".to_string()]
    );
}

#[test]
fn policy_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Policy>();
}

#[test]
fn conflicting_values_fail_closed_on_the_vm_as_on_the_interpreter() {
    // Both deny statements hold for secrets: the interpreter reports a conflict, and the VM,
    // which alone would return `undefined` (not denied), must do the same.
    let text = "package aegisclaw.policy\nallow := true\ndeny := true if input.scope_kind == \"secrets.read\"\ndeny := false if input.scope_risk == \"low\"\n";
    let policy = Policy::compile("conflict.rego", text, None).unwrap();
    assert_eq!(policy.engine_kind(), "rvm");
    let input = grid()
        .into_iter()
        .find(|i| i.scope_kind.as_str() == "secrets.read")
        .unwrap();
    let vm = policy.decide(&input).unwrap();
    assert_eq!(vm.outcome, Outcome::Deny);
    assert_eq!(
        vm.errors,
        vec!["complete rule `deny` produced conflicting values".to_string()]
    );
    assert_eq!(vm, interpreter_decision(&policy, &input));
    // Without the conflict the same policy decides normally.
    let mut ok = input.clone();
    ok.scope_kind = crate::scope::ScopeKind::FilesRead;
    assert_eq!(policy.decide(&ok).unwrap().outcome, Outcome::Allow);
}

#[test]
fn a_deny_of_any_value_but_false_denies_on_the_vm_as_on_the_interpreter() {
    let wrong = |json: &str| {
        Some(format!(
            "`deny` must be a boolean, a string, or a set or array of reasons, got {json}"
        ))
    };
    // (deny's definition, outcome, reasons, error)
    let cases: Vec<(&str, Outcome, Vec<&str>, Option<String>)> = vec![
        ("deny := false", Outcome::Allow, vec![], None),
        ("deny := true if false", Outcome::Allow, vec![], None),
        ("deny := set()", Outcome::Allow, vec![], None),
        (
            "deny contains \"never\" if false",
            Outcome::Allow,
            vec![],
            None,
        ),
        ("deny := true", Outcome::Deny, vec![], None),
        ("deny := \"yes\"", Outcome::Deny, vec!["yes"], None),
        ("deny := \"\"", Outcome::Deny, vec![""], None),
        (
            "deny := {\"a\", \"b\"}",
            Outcome::Deny,
            vec!["a", "b"],
            None,
        ),
        ("deny := [\"r\"]", Outcome::Deny, vec!["r"], None),
        ("deny := []", Outcome::Deny, vec![], None),
        ("deny := 1", Outcome::Deny, vec![], wrong("1")),
        ("deny := 0", Outcome::Deny, vec![], wrong("0")),
        ("deny := null", Outcome::Deny, vec![], wrong("null")),
        (
            "deny := {\"why\": \"x\"}",
            Outcome::Deny,
            vec![],
            wrong("{\"why\":\"x\"}"),
        ),
    ];
    for (deny, outcome, reasons, error) in cases {
        let text = format!("package aegisclaw.policy\n\nallow := true\n\n{deny}\n");
        let policy = Policy::compile("deny.rego", &text, None).unwrap();
        assert_eq!(policy.engine_kind(), "rvm", "{deny}");
        for input in &grid() {
            let vm = policy.decide(input).unwrap();
            assert_eq!(vm, interpreter_decision(&policy, input), "{deny}");
            assert_eq!(vm.outcome, outcome, "{deny}: {vm:?}");
            match &error {
                Some(error) => {
                    assert_eq!(vm.errors, vec![error.clone()], "{deny}");
                    assert_eq!(
                        vm.reasons,
                        vec![format!("policy error in `deny.rego`: {error}")]
                    );
                }
                None => {
                    assert!(vm.errors.is_empty(), "{deny}: {vm:?}");
                    assert_eq!(vm.reasons, reasons, "{deny}");
                }
            }
        }
    }
}
