//! Policy test cases (`*.cases.yaml`): a list of partial inputs, each with the expected
//! outcome and optionally a rule it must name. Runs them against a compiled policy; does not
//! print.

use super::decision::{Decision, Outcome};
use super::input::PolicyInput;
use super::{Policy, PolicyError};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};
use std::path::Path;

/// One case as written.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseSpec {
    /// What the case checks, unique within the file.
    pub name: String,
    /// Input fields; missing ones come from the defaults (an unsigned skill asking for
    /// `files.read:/tmp/input`, low risk, native runtime, actor `cli`).
    #[serde(default)]
    pub input: Map<String, Json>,
    /// The expected outcome.
    pub expect: Outcome,
    /// A substring that one of the decision's rules must contain.
    #[serde(default)]
    pub rule: Option<String>,
}

/// A parsed cases file.
#[derive(Clone, Debug)]
pub struct CaseFile {
    /// The cases, in file order.
    pub cases: Vec<CaseSpec>,
}

/// The result of one case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CaseResult {
    /// The case's name.
    pub name: String,
    /// The expected outcome.
    pub expected: Outcome,
    /// The full input evaluated.
    pub input: PolicyInput,
    /// The decision.
    pub decision: Decision,
    /// Why it failed, or `None` if it passed.
    pub problem: Option<String>,
}

/// A failed case.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CaseFailure {
    /// The case's name.
    pub name: String,
    /// The expected outcome.
    pub expected: Outcome,
    /// The outcome the policy gave.
    pub got: Outcome,
    /// The rules behind it.
    pub rules: Vec<String>,
    /// What was wrong (outcome, missing rule, evaluation error).
    pub problem: String,
}

/// All cases of a file run against one policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CaseReport {
    /// How many cases passed.
    pub passed: usize,
    /// The cases that failed.
    pub failed: Vec<CaseFailure>,
    /// Every case, in file order.
    pub results: Vec<CaseResult>,
}

impl CaseFile {
    /// Parses a cases file; `path` is only used in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, PolicyError> {
        let error = |message: String| PolicyError::Cases {
            path: path.to_path_buf(),
            message,
        };
        let options = crate::config::plain_yaml(200_000, 32);
        let cases: Vec<CaseSpec> = serde_saphyr::from_str_with_options(text, options)
            .map_err(|e| error(crate::config::yaml_message(&e, path)))?;
        if cases.is_empty() {
            return Err(error("the file has no cases".to_string()));
        }
        for (index, case) in cases.iter().enumerate() {
            if cases[..index].iter().any(|other| other.name == case.name) {
                return Err(error(format!("case `{}` appears twice", case.name)));
            }
        }
        Ok(Self { cases })
    }
}

/// The input every case starts from.
fn default_input() -> Json {
    serde_json::json!({
        "skill": {"name": "case-skill", "version": "1.0.0", "publisher": null, "signed": false},
        "scope": "files.read:/tmp/input",
        "scope_kind": "files.read",
        "scope_target": "/tmp/input",
        "scope_risk": "low",
        "skill_signed": false,
        "approval": false,
        "runtime": "native",
        "actor": "cli",
    })
}

/// Fills a case's partial input: given fields override the defaults (`skill` field by
/// field); `scope` alone also sets `scope_kind` and `scope_target`; `skill_signed` and
/// `skill.signed` follow each other when only one is given.
pub fn complete_input(partial: &Map<String, Json>) -> Result<PolicyInput, String> {
    let mut full = default_input();
    let Some(object) = full.as_object_mut() else {
        return Err("internal: default input is not an object".to_string());
    };
    for (key, value) in partial {
        match (key.as_str(), value, object.get_mut(key)) {
            ("skill", Json::Object(fields), Some(Json::Object(skill))) => {
                for (field, value) in fields {
                    skill.insert(field.clone(), value.clone());
                }
            }
            _ => {
                object.insert(key.clone(), value.clone());
            }
        }
    }
    if let Some(Json::String(scope)) = partial.get("scope") {
        let (kind, target) = scope.split_once(':').unwrap_or((scope.as_str(), ""));
        if !partial.contains_key("scope_kind") {
            object.insert("scope_kind".into(), Json::String(kind.to_string()));
        }
        if !partial.contains_key("scope_target") {
            object.insert("scope_target".into(), Json::String(target.to_string()));
        }
    }
    let skill_signed = partial.get("skill_signed").cloned();
    let nested_signed = partial
        .get("skill")
        .and_then(|skill| skill.get("signed"))
        .cloned();
    match (skill_signed, nested_signed) {
        (Some(signed), None) => {
            if let Some(Json::Object(skill)) = object.get_mut("skill") {
                skill.insert("signed".into(), signed);
            }
        }
        (None, Some(signed)) => {
            object.insert("skill_signed".into(), signed);
        }
        _ => {}
    }
    serde_json::from_value(full).map_err(|error| error.to_string())
}

/// Runs every case of `cases_yaml` against `policy`. A case fails if the outcome differs, if
/// no rule contains its `rule`, or if evaluation failed. `source` names the file in errors.
pub fn run_cases(
    policy: &Policy,
    cases_yaml: &str,
    source: &Path,
) -> Result<CaseReport, PolicyError> {
    let file = CaseFile::parse(cases_yaml, source)?;
    let mut report = CaseReport {
        passed: 0,
        failed: Vec::new(),
        results: Vec::new(),
    };
    for case in file.cases {
        let input = complete_input(&case.input).map_err(|message| PolicyError::Cases {
            path: source.to_path_buf(),
            message: format!("case `{}`: invalid input: {message}", case.name),
        })?;
        let decision = policy.decide(&input)?;
        let problem = if !decision.errors.is_empty() {
            Some(format!("evaluation failed: {}", decision.errors.join("; ")))
        } else if decision.outcome != case.expect {
            Some(format!(
                "expected {}, got {}",
                case.expect, decision.outcome
            ))
        } else {
            case.rule
                .as_ref()
                .filter(|rule| !decision.rules.iter().any(|r| r.contains(rule.as_str())))
                .map(|rule| format!("no rule contains `{rule}`"))
        };
        match &problem {
            None => report.passed += 1,
            Some(problem) => report.failed.push(CaseFailure {
                name: case.name.clone(),
                expected: case.expect,
                got: decision.outcome,
                rules: decision.rules.clone(),
                problem: problem.clone(),
            }),
        }
        report.results.push(CaseResult {
            name: case.name,
            expected: case.expect,
            input,
            decision,
            problem,
        });
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_inputs_fill_defaults_and_derived_fields() {
        let partial: Map<String, Json> = serde_json::from_str(
            r#"{"scope": "net.outbound:169.254.169.254", "scope_risk": "critical", "skill_signed": true}"#,
        )
        .unwrap();
        let input = complete_input(&partial).unwrap();
        assert_eq!(input.scope_target, "169.254.169.254");
        assert_eq!(input.scope_kind.as_str(), "net.outbound");
        assert!(input.skill.signed && input.skill_signed);
    }

    #[test]
    fn bad_fields_and_duplicates_are_errors() {
        let partial: Map<String, Json> =
            serde_json::from_str(r#"{"scope_risk": "extreme"}"#).unwrap();
        assert!(complete_input(&partial).unwrap_err().contains("extreme"));
        let twice = "- {name: a, expect: allow}\n- {name: a, expect: deny}\n";
        let error = CaseFile::parse(twice, Path::new("x.cases.yaml")).unwrap_err();
        assert!(error.to_string().contains("x.cases.yaml"), "{error}");
        assert!(error.to_string().contains("`a`"), "{error}");
    }
}
