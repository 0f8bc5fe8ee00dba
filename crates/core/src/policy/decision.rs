//! The decision procedure of DESIGN §5 over one worker: evaluate with `approval: false`, then
//! `true`, and name the rules that produced the outcome. Fails closed: an evaluation error is
//! a `deny` carrying the error. Does not load policies.

use super::analysis::{Analysis, HeadKind};
use super::input::PolicyInput;
use super::rego::{self, ALLOW, CONFLICTS, DENY, HITS, REASON, Worker};
use regorus::Value;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What the policy decided for one scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Allowed without asking.
    Allow,
    /// Allowed only if a human approves.
    NeedsApproval,
    /// Refused, even with approval.
    Deny,
}

impl Outcome {
    /// The snake_case name (`needs_approval`).
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::NeedsApproval => "needs_approval",
            Outcome::Deny => "deny",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A decision, the rules that produced it and the policy's reasons.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// The outcome.
    pub outcome: Outcome,
    /// The rules that produced it, as `file:line rule` (`standard.rego:12 allow`,
    /// `permissive.rego:5 default allow`), or `file rule` where the line is unknown.
    pub rules: Vec<String>,
    /// The policy's `reason` values (and `deny` messages), for the audit record.
    pub reasons: Vec<String>,
    /// Evaluation errors; when present the outcome is `deny` (fail closed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

/// What the procedure needs besides the worker.
pub(crate) struct Meta<'a> {
    pub(crate) file: &'a str,
    pub(crate) analysis: &'a Analysis,
    pub(crate) has_deny: bool,
    pub(crate) has_reason: bool,
    pub(crate) instrumented: bool,
    pub(crate) conflict_checked: bool,
}

/// One evaluation round (a fixed `approval`).
struct Round {
    allow: bool,
    deny: Value,
    /// What `deny` says, checked by [`denies`].
    denied: bool,
}

impl Round {
    fn denied(&self) -> bool {
        self.denied
    }
    fn allowed(&self) -> bool {
        self.allow && !self.denied()
    }
}

/// Runs the DESIGN §5 procedure. Never fails: errors become a `deny` that carries them.
pub(crate) fn decide(worker: &mut Worker, meta: &Meta<'_>, input: &PolicyInput) -> Decision {
    match procedure(worker, meta, input) {
        Ok(decision) => decision,
        Err(error) => Decision {
            outcome: Outcome::Deny,
            rules: Vec::new(),
            reasons: vec![format!("policy error in `{}`: {error}", meta.file)],
            errors: vec![error],
        },
    }
}

fn procedure(
    worker: &mut Worker,
    meta: &Meta<'_>,
    input: &PolicyInput,
) -> Result<Decision, String> {
    // 1. `approval: false`: allow and not deny is `allow`.
    let mut value = rego::to_value(input, false)?;
    worker.set_input(value.clone());
    let first = round(worker, meta)?;
    if first.allowed() {
        let hits = hits(worker, meta)?;
        return Ok(Decision {
            outcome: Outcome::Allow,
            rules: allow_rules(meta, &hits, true),
            reasons: reasons(worker, meta, &first)?,
            errors: Vec::new(),
        });
    }
    // Why it was not allowed outright: the reasons and any deny that fired.
    let first_reasons = reasons(worker, meta, &first)?;
    let blockers = if first.denied() {
        deny_rules(meta, &hits(worker, meta)?)
    } else {
        Vec::new()
    };
    // 2. `approval: true`: allow and not deny is `needs_approval`; otherwise `deny`.
    rego::set_approval(&mut value, true)?;
    worker.set_input(value);
    let second = round(worker, meta)?;
    let hits = hits(worker, meta)?;
    if second.allowed() {
        let mut rules = blockers;
        rules.extend(allow_rules(meta, &hits, true));
        return Ok(Decision {
            outcome: Outcome::NeedsApproval,
            rules,
            reasons: first_reasons,
            errors: Vec::new(),
        });
    }
    let rules = if second.denied() {
        deny_rules(meta, &hits)
    } else {
        allow_rules(meta, &hits, second.allow)
    };
    let mut reasons = reasons(worker, meta, &second)?;
    if reasons.is_empty() {
        reasons = first_reasons;
    }
    Ok(Decision {
        outcome: Outcome::Deny,
        rules,
        reasons,
        errors: Vec::new(),
    })
}

fn round(worker: &mut Worker, meta: &Meta<'_>) -> Result<Round, String> {
    // Conflicting values are an error in Rego; the VM would hide them (see `analysis`).
    if meta.conflict_checked {
        let mut names = Vec::new();
        texts(&worker.eval(CONFLICTS)?, &mut names);
        if !names.is_empty() {
            return Err(format!(
                "complete rule{} {} produced conflicting values",
                if names.len() == 1 { "" } else { "s" },
                names
                    .iter()
                    .map(|n| format!("`{n}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    let allow = match worker.eval(ALLOW)? {
        Value::Bool(allow) => allow,
        Value::Undefined => false,
        other => {
            return Err(format!(
                "`allow` must be a boolean, got {}",
                other.to_json_str().unwrap_or_default()
            ));
        }
    };
    // `deny` is only needed when `allow` holds, but reasons may quote it: evaluate it always.
    let deny = if meta.has_deny {
        worker.eval(DENY)?
    } else {
        Value::Undefined
    };
    let denied = denies(&deny)?;
    Ok(Round {
        allow,
        deny,
        denied,
    })
}

fn hits(worker: &mut Worker, meta: &Meta<'_>) -> Result<Vec<usize>, String> {
    if !meta.instrumented {
        return Ok(Vec::new());
    }
    let value = worker.eval(HITS)?;
    let mut ids: Vec<usize> = match &value {
        Value::Set(set) => set
            .iter()
            .filter_map(|id| match id {
                Value::String(text) => text.parse().ok(),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    ids.sort_unstable();
    Ok(ids)
}

fn labels(meta: &Meta<'_>, hits: &[usize], kind: HeadKind) -> Vec<String> {
    hits.iter()
        .filter_map(|id| meta.analysis.bodies.get(*id))
        .filter(|(k, _)| *k == kind)
        .map(|(_, label)| label.clone())
        .collect()
}

/// The `allow` rules behind an `allow` value: the bodies that fired, else an uninstrumented
/// head, else the default rule, else `allow` being undefined.
fn allow_rules(meta: &Meta<'_>, hits: &[usize], allow: bool) -> Vec<String> {
    let fired = labels(meta, hits, HeadKind::Allow);
    if allow && !fired.is_empty() {
        return fired;
    }
    if allow && meta.analysis.uninstrumented.contains("allow") {
        return vec![format!("{} allow", meta.file)];
    }
    match &meta.analysis.default_allow {
        Some((line, _)) => vec![format!("{}:{line} default allow", meta.file)],
        None => vec![format!("{} allow (undefined)", meta.file)],
    }
}

fn deny_rules(meta: &Meta<'_>, hits: &[usize]) -> Vec<String> {
    let fired = labels(meta, hits, HeadKind::Deny);
    if fired.is_empty() {
        vec![format!("{} deny", meta.file)]
    } else {
        fired
    }
}

/// `reason` (a string, or a set or array of strings) and the messages of a set-valued `deny`.
fn reasons(worker: &mut Worker, meta: &Meta<'_>, round: &Round) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    if meta.has_reason {
        texts(&worker.eval(REASON)?, &mut out);
    }
    if !matches!(round.deny, Value::Bool(_)) {
        texts(&round.deny, &mut out);
    }
    Ok(out)
}

fn texts(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Undefined | Value::Null | Value::Bool(_) => {}
        Value::String(text) => out.push(text.to_string()),
        Value::Set(set) => set.iter().for_each(|item| texts(item, out)),
        Value::Array(items) => items.iter().for_each(|item| texts(item, out)),
        other => out.push(other.to_json_str().unwrap_or_default()),
    }
}

/// Whether a `deny` value denies. Only `false`, undefined (no `deny` rule held) and the empty
/// set (a `deny contains msg` rule none of whose bodies held) do not; `true`, any string and
/// any array or non-empty set deny (their items are the reasons). A number, `null` or an
/// object is not a decision: an error, which denies (fail closed).
fn denies(value: &Value) -> Result<bool, String> {
    match value {
        Value::Undefined => Ok(false),
        Value::Bool(flag) => Ok(*flag),
        Value::Set(set) => Ok(!set.is_empty()),
        Value::String(_) | Value::Array(_) => Ok(true),
        other => Err(format!(
            "`deny` must be a boolean, a string, or a set or array of reasons, got {}",
            serde_json::to_string(other).unwrap_or_default()
        )),
    }
}
