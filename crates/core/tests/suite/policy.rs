//! The policy engine through its public API: templates and their cases, version detection,
//! typed errors, recursion, fail-closed evaluation and the active policy of a home.

use aegisclaw_core::config::Config;
use aegisclaw_core::home::{self, Home};
use aegisclaw_core::policy::{
    Outcome, Policy, PolicyError, PolicyTemplate, RegoVersion, grid, run_cases, template_cases,
};
use std::path::Path;

fn templates() -> impl Iterator<Item = PolicyTemplate> {
    PolicyTemplate::ALL
        .iter()
        .copied()
        .filter(|t| *t != PolicyTemplate::Custom)
}

#[test]
fn every_template_passes_its_cases() {
    for template in templates() {
        let policy = Policy::template(template).unwrap();
        let cases = template_cases(template).unwrap();
        let path = format!("{template}.cases.yaml");
        let report = run_cases(&policy, cases, Path::new(&path)).unwrap();
        assert!(report.failed.is_empty(), "{template}: {:#?}", report.failed);
        assert!(
            report.passed >= 12,
            "{template}: only {} cases",
            report.passed
        );
    }
}

#[test]
fn templates_decide_the_grid_as_the_seed_says() {
    let strict = Policy::template(PolicyTemplate::Strict).unwrap();
    let standard = Policy::template(PolicyTemplate::Standard).unwrap();
    let permissive = Policy::template(PolicyTemplate::Permissive).unwrap();
    for input in grid() {
        let risk = input.scope_risk.as_str();
        assert_eq!(
            strict.decide(&input).unwrap().outcome,
            Outcome::NeedsApproval
        );
        let expected = match (risk, input.skill_signed) {
            ("low", _) | ("medium", true) => Outcome::Allow,
            ("critical", false) => Outcome::Deny,
            _ => Outcome::NeedsApproval,
        };
        assert_eq!(
            standard.decide(&input).unwrap().outcome,
            expected,
            "{input:?}"
        );
        let expected = if risk == "critical" {
            Outcome::NeedsApproval
        } else {
            Outcome::Allow
        };
        assert_eq!(
            permissive.decide(&input).unwrap().outcome,
            expected,
            "{input:?}"
        );
    }
}

#[test]
fn every_decision_names_rules_and_reasons() {
    let standard = Policy::template(PolicyTemplate::Standard).unwrap();
    for input in grid() {
        let decision = standard.decide(&input).unwrap();
        assert!(!decision.rules.is_empty(), "{input:?}");
        assert!(
            decision
                .rules
                .iter()
                .all(|r| r.starts_with("standard.rego:")),
            "{decision:?}"
        );
        if decision.outcome != Outcome::Allow {
            assert_eq!(decision.reasons.len(), 1, "{decision:?}");
        }
    }
}

#[test]
fn legacy_syntax_is_detected_or_hinted() {
    let text = "package aegisclaw.policy\n\ndefault allow = false\n\nallow {\n\tinput.approval == true\n}\n";
    let policy = Policy::compile("old.rego", text, None).unwrap();
    assert_eq!(policy.rego_version(), RegoVersion::V0);
    let policy = Policy::compile("old.rego", text, Some(RegoVersion::V0)).unwrap();
    assert_eq!(policy.rego_version(), RegoVersion::V0);
    let error = Policy::compile("old.rego", text, Some(RegoVersion::V1)).unwrap_err();
    assert!(
        matches!(error, PolicyError::Parse { line: 5, .. }),
        "{error:?}"
    );
    let decision = policy.decide(&grid()[0]).unwrap();
    assert_eq!(decision.outcome, Outcome::NeedsApproval);
    assert_eq!(decision.rules, vec!["old.rego:5 allow".to_string()]);
}

#[test]
fn parse_errors_name_file_line_and_column() {
    let text = "package aegisclaw.policy\n\nallow if {\n\tinput.scope_risk ==\n}\n";
    let error = Policy::compile("bad.rego", text, None).unwrap_err();
    let PolicyError::Parse {
        file, line, column, ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert_eq!((file.as_str(), *line, *column), ("bad.rego", 5, 1));
    assert!(
        error
            .to_string()
            .starts_with("invalid policy `bad.rego:5:1`: "),
        "{error}"
    );
}

#[test]
fn unusable_policies_are_compile_errors_naming_the_file() {
    for (text, needle) in [
        (
            "package other\nallow := true\n",
            "package must be `aegisclaw.policy`",
        ),
        (
            "package aegisclaw.policy\ndeny := true\n",
            "no `allow` rule",
        ),
        ("package aegisclaw.policy\nallow if x == 1\n", "unsafe"),
        (
            "package aegisclaw.policy\nallow if nosuch.builtin(1)\n",
            "nosuch",
        ),
    ] {
        let error = Policy::compile("u.rego", text, None).unwrap_err();
        assert!(matches!(error, PolicyError::Compile { .. }), "{error:?}");
        let message = error.to_string();
        assert!(message.contains("`u.rego`"), "{message}");
        assert!(message.contains(needle), "{message}");
    }
}

#[test]
fn recursion_is_rejected_before_it_can_overflow_the_stack() {
    for (text, cycle) in [
        (
            "package aegisclaw.policy\nf(x) := f(x + 1)\nallow if f(1)\n",
            "f -> f",
        ),
        (
            "package aegisclaw.policy\nallow if b\nb if allow\n",
            "allow -> b -> allow",
        ),
        (
            "package aegisclaw.policy\nallow if data.aegisclaw.policy.g(1)\ng(x) := y if { y := h(x) }\nh(x) := data.aegisclaw.policy.g(x)\n",
            "g -> h -> g",
        ),
    ] {
        let error = Policy::compile("loop.rego", text, None).unwrap_err();
        let PolicyError::Recursion { file, rule } = &error else {
            panic!("{error:?}");
        };
        assert_eq!(file, "loop.rego");
        assert!(
            rule.contains(cycle) || rule.contains(&cycle.replace("allow -> b", "b -> allow")),
            "{rule}"
        );
    }
    // A field named like a rule is not a reference to it.
    let ok =
        "package aegisclaw.policy\nreason := input.reason if input.reason\nallow if input.allow\n";
    Policy::compile("fields.rego", ok, None).unwrap();
}

#[test]
fn evaluation_errors_fail_closed_and_say_why() {
    let text = "package aegisclaw.policy\nallow if input.scope_risk == \"low\"\nreason := \"a\"\nreason := \"b\" if input.scope_kind == \"secrets.read\"\n";
    let policy = Policy::compile("conflict.rego", text, None).unwrap();
    let input = grid()
        .into_iter()
        .find(|i| i.scope_kind.as_str() == "secrets.read")
        .unwrap();
    let decision = policy.decide(&input).unwrap();
    assert_eq!(decision.outcome, Outcome::Deny);
    assert_eq!(decision.errors.len(), 1, "{decision:?}");
    assert!(
        decision.reasons[0].contains("conflict.rego"),
        "{decision:?}"
    );
}

#[test]
fn custom_is_not_a_template() {
    let error = Policy::template(PolicyTemplate::Custom).unwrap_err();
    assert!(
        matches!(error, PolicyError::NotATemplate { .. }),
        "{error:?}"
    );
    assert!(template_cases(PolicyTemplate::Custom).is_none());
}

#[test]
fn the_active_policy_loads_from_the_home() {
    let temp = tempfile::tempdir().unwrap();
    let home = Home::at(temp.path());
    home.ensure_layout().unwrap();
    let config = Config::default();
    let error = Policy::load_active(&home, &config).unwrap_err();
    assert!(error.to_string().contains("default.rego"), "{error}");
    let text = aegisclaw_core::policy::template_text(PolicyTemplate::Strict).unwrap();
    home::atomic_write(&home.default_policy(), text.as_bytes()).unwrap();
    let policy = Policy::load_active(&home, &config).unwrap();
    assert_eq!(policy.source_name(), "policies/default.rego");
    assert_eq!(
        policy.decide(&grid()[0]).unwrap().rules,
        vec!["policies/default.rego:8 allow".to_string()]
    );
}

#[test]
fn a_validated_policy_text_loads_again_without_its_smoke_test_and_decides_the_same() {
    let temp = tempfile::tempdir().unwrap();
    let home = Home::at(temp.path());
    home.ensure_layout().unwrap();
    let config = Config::default();
    let text = aegisclaw_core::policy::template_text(PolicyTemplate::Standard).unwrap();
    home::atomic_write(&home.default_policy(), text.as_bytes()).unwrap();
    let first = Policy::load_active(&home, &config).unwrap();
    let marker = home::read_file_text(
        &home.policy_marker(),
        home::FileKind::Cache,
        home::Follow::No,
    )
    .unwrap();
    let (key, module) = marker.trim().split_once(' ').unwrap();
    assert_eq!((key.len(), module.len()), (64, 64), "{marker}");
    let again = Policy::load_active(&home, &config).unwrap();
    for input in grid() {
        let (a, b) = (first.decide(&input).unwrap(), again.decide(&input).unwrap());
        assert_eq!(
            (a.outcome, &a.rules, &a.reasons),
            (b.outcome, &b.rules, &b.reasons)
        );
    }
    // A changed text is checked in full again: a rule that fails on evaluation is refused
    // at load, whatever the marker says.
    let broken = format!("{text}\nreason := \"a\"\nreason := \"b\"\n");
    home::atomic_write(&home.default_policy(), broken.as_bytes()).unwrap();
    let error = Policy::load_active(&home, &config).unwrap_err();
    assert!(error.to_string().contains("default.rego"), "{error}");
    // A marker forged for that text only skips the smoke test: every decision still fails
    // closed on the evaluation error.
    let key = aegisclaw_core::policy::sha256_hex(
        format!(
            "aegisclaw {}\0policies/default.rego\0{}\0{broken}",
            env!("CARGO_PKG_VERSION"),
            config.rego_version.as_str()
        )
        .as_bytes(),
    );
    home::atomic_write(&home.policy_marker(), format!("{key} plain\n").as_bytes()).unwrap();
    let forged = Policy::load_active(&home, &config).unwrap();
    for input in grid() {
        let decision = forged.decide(&input).unwrap();
        assert_eq!(decision.outcome, Outcome::Deny, "{decision:?}");
        assert!(!decision.errors.is_empty(), "{decision:?}");
    }
}

#[test]
fn case_files_report_failures_by_name() {
    let policy = Policy::template(PolicyTemplate::Strict).unwrap();
    let cases = "- name: strict allows nothing outright\n  input: {scope_risk: low}\n  expect: allow\n- name: rule must match\n  expect: needs_approval\n  rule: \"deny\"\n- name: fine\n  expect: needs_approval\n";
    let report = run_cases(&policy, cases, Path::new("mine.cases.yaml")).unwrap();
    assert_eq!(report.passed, 1);
    let problems: Vec<_> = report
        .failed
        .iter()
        .map(|f| (f.name.as_str(), f.problem.as_str()))
        .collect();
    assert_eq!(
        problems,
        vec![
            (
                "strict allows nothing outright",
                "expected allow, got needs_approval"
            ),
            ("rule must match", "no rule contains `deny`"),
        ]
    );
    let error = run_cases(
        &policy,
        "- name: x\n  input: {scope_risk: huge}\n  expect: allow\n",
        Path::new("bad.cases.yaml"),
    )
    .unwrap_err();
    assert!(
        error.to_string().contains("bad.cases.yaml") && error.to_string().contains("`x`"),
        "{error}"
    );
}
