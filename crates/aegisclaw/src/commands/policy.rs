//! `aegisclaw policy`: show the active policy, replace it (validated first, atomically,
//! audited), run test cases, diff two policies over the decision grid, and evaluate one input.
//! The engine is `aegisclaw_core::policy`; this file only resolves sources and formats.

use super::Globals;
use crate::cli::PolicyCommand;
use crate::exit::{Exit, Refusal};
use crate::output::Printer;
use aegisclaw_core::config::Config;
use aegisclaw_core::home::{self, Home};
use aegisclaw_core::policy::{
    CaseReport, Outcome, Policy, PolicyInput, PolicyTemplate, grid, run_cases, sha256_hex,
    template_cases, template_text,
};
use anyhow::{Context as _, bail};
use serde_json::json;
use std::path::{Path, PathBuf};

pub(crate) fn run(
    globals: &Globals,
    command: PolicyCommand,
    printer: &Printer,
) -> anyhow::Result<Exit> {
    match command {
        PolicyCommand::Show => show(globals, printer),
        PolicyCommand::Use { source } => use_policy(globals, &source, printer),
        PolicyCommand::Test { cases } => test(globals, cases.as_deref(), printer),
        PolicyCommand::Diff { a, b } => diff(&a, &b, printer),
        PolicyCommand::Eval {
            input,
            template,
            policy,
        } => eval(
            globals,
            &input,
            template.as_deref(),
            policy.as_deref(),
            printer,
        ),
    }
}

/// A policy named on the command line: an embedded template, or a `.rego` file.
struct Source {
    policy: Policy,
    template: Option<PolicyTemplate>,
}

fn resolve(source: &str) -> anyhow::Result<Source> {
    if let Some(template) = PolicyTemplate::parse(source).filter(|t| *t != PolicyTemplate::Custom) {
        return Ok(Source {
            policy: Policy::template(template)?,
            template: Some(template),
        });
    }
    let path = Path::new(source);
    if !path.exists() {
        bail!(
            "`{source}` is neither a policy template (`strict`, `standard`, `permissive`) nor a file"
        );
    }
    let text = home::read_file_text(path, home::FileKind::Policy, home::Follow::Yes)?;
    Ok(Source {
        policy: Policy::compile(source, &text, None)?,
        template: None,
    })
}

fn open_home(globals: &Globals) -> anyhow::Result<(Home, Config)> {
    let home = globals.home()?;
    home.require().with_context(|| {
        format!(
            "cannot open the AegisClaw home `{}`: create one with `aegisclaw init --defaults`",
            home.root().display()
        )
    })?;
    let config = Config::load(&home)?;
    Ok((home, config))
}

fn show(globals: &Globals, printer: &Printer) -> anyhow::Result<Exit> {
    let (home, config) = open_home(globals)?;
    let path = home.default_policy();
    let text = home::read_file_text(&path, home::FileKind::Policy, home::Follow::No)?;
    printer.json(&json!({
        "path": path.display().to_string(),
        "template": config.policy_template,
        "rego_version": config.rego_version,
        "text": text,
    }));
    printer.data(format_args!("policy: {}", path.display()));
    printer.data(format_args!("template: {}", config.policy_template));
    printer.data(format_args!("rego version: {}", config.rego_version));
    printer.data("");
    printer.verbatim(text.trim_end());
    Ok(Exit::Ok)
}

fn use_policy(globals: &Globals, source: &str, printer: &Printer) -> anyhow::Result<Exit> {
    let mut context = globals.context()?;
    let home = context.home().clone();
    // 1. Validate before anything changes: compile (parse, recursion, smoke evaluation), then
    //    a template's own cases, or for a file every grid decision without evaluation errors.
    let Source { policy, template } = resolve(source)?;
    let checked = match template.and_then(template_cases) {
        Some(cases) => {
            let name = format!("{}.cases.yaml", template.map_or("custom", |t| t.as_str()));
            let report = run_cases(&policy, cases, Path::new(&name))?;
            if let Some(failure) = report.failed.first() {
                bail!(
                    "template `{source}` fails its case `{}`: {}",
                    failure.name,
                    failure.problem
                );
            }
            format!("{} cases passed", report.passed)
        }
        None => {
            let inputs = grid();
            for input in &inputs {
                let decision = policy.decide(input)?;
                if let Some(error) = decision.errors.first() {
                    bail!(
                        "policy `{source}` fails to evaluate `{}` ({} risk): {error}",
                        input.scope,
                        input.scope_risk
                    );
                }
            }
            format!("{} grid decisions evaluated", inputs.len())
        }
    };
    // 2. Record, then replace the file atomically and point the config at it.
    let path = home.default_policy();
    let previous = home::read_file_text(&path, home::FileKind::Policy, home::Follow::No)
        .ok()
        .map(|old| sha256_hex(old.as_bytes()));
    let sha256 = sha256_hex(policy.text().as_bytes());
    let mut config = context.config().clone();
    config.policy_template = template.unwrap_or(PolicyTemplate::Custom);
    config.rego_version = policy.rego_version();
    context.record(context.event("policy.use").data(json!({
        "source": source,
        "template": config.policy_template,
        "rego_version": config.rego_version,
        "old_sha256": previous,
        "new_sha256": sha256,
    })))?;
    home::atomic_write(&path, policy.text().as_bytes())?;
    config.save(&home)?;
    context.close()?;
    printer.json(&json!({
        "path": path.display().to_string(),
        "template": config.policy_template,
        "rego_version": config.rego_version,
        "sha256": sha256,
        "previous_sha256": previous,
        "checked": checked,
    }));
    printer.status(format_args!(
        "Now using policy {} (template {}, rego {})",
        source, config.policy_template, config.rego_version
    ));
    printer.status(format_args!("  {checked}"));
    printer.status(format_args!("  wrote {}", path.display()));
    Ok(Exit::Ok)
}

fn test(globals: &Globals, cases: Option<&Path>, printer: &Printer) -> anyhow::Result<Exit> {
    let (home, config) = open_home(globals)?;
    let policy = Policy::load_active(&home, &config)?;
    let (text, path) = match cases {
        Some(path) => (
            home::read_file_text(path, home::FileKind::Policy, home::Follow::Yes)?,
            path.to_path_buf(),
        ),
        None => match template_cases(config.policy_template) {
            Some(text) => (
                text.to_string(),
                PathBuf::from(format!("{}.cases.yaml", config.policy_template)),
            ),
            None => bail!(
                "the active policy is `custom`, so it has no built-in cases; pass a cases file: `aegisclaw policy test <cases.yaml>`"
            ),
        },
    };
    let report = run_cases(&policy, &text, &path)?;
    print_report(&report, &path, printer);
    Ok(if report.failed.is_empty() {
        Exit::Ok
    } else {
        Exit::Refused
    })
}

fn print_report(report: &CaseReport, path: &Path, printer: &Printer) {
    printer.json(&json!({
        "cases": path.display().to_string(),
        "passed": report.passed,
        "failed": report.failed.len(),
        "results": report.results.iter().map(|r| json!({
            "name": r.name,
            "expected": r.expected,
            "decision": r.decision.outcome,
            "rules": r.decision.rules,
            "problem": r.problem,
        })).collect::<Vec<_>>(),
    }));
    let width = report
        .results
        .iter()
        .map(|r| r.name.len())
        .max()
        .unwrap_or(0);
    for result in &report.results {
        let status = if result.problem.is_none() {
            "PASS"
        } else {
            "FAIL"
        };
        printer.data(format_args!(
            "{status}  {:<width$}  {:<14}  {}",
            result.name,
            result.decision.outcome.as_str(),
            result.decision.rules.join(", ")
        ));
        if let Some(problem) = &result.problem {
            printer.data(format_args!("      {problem}"));
        }
    }
    printer.data(format_args!(
        "{} passed, {} failed ({})",
        report.passed,
        report.failed.len(),
        path.display()
    ));
}

fn diff(a: &str, b: &str, printer: &Printer) -> anyhow::Result<Exit> {
    let (left, right) = (resolve(a)?.policy, resolve(b)?.policy);
    let inputs = grid();
    let mut rows = Vec::new();
    for input in &inputs {
        let (from, to) = (left.decide(input)?.outcome, right.decide(input)?.outcome);
        if from != to {
            rows.push((input, from, to));
        }
    }
    printer.json(
        &rows
            .iter()
            .map(|(input, from, to)| {
                json!({
                    "scope_kind": input.scope_kind,
                    "scope_risk": input.scope_risk,
                    "skill_signed": input.skill_signed,
                    "a": from,
                    "b": to,
                })
            })
            .collect::<Vec<_>>(),
    );
    if rows.is_empty() {
        printer.data(format_args!(
            "no decision changes from `{a}` to `{b}` over the {} grid inputs",
            inputs.len()
        ));
        return Ok(Exit::Ok);
    }
    printer.data(format_args!(
        "{} of {} decisions change from `{a}` to `{b}`:",
        rows.len(),
        inputs.len()
    ));
    printer.data(format_args!(
        "{:<13} {:<9} {:<7} {:<14}   {}",
        "kind", "risk", "signed", a, b
    ));
    for (input, from, to) in rows {
        printer.data(format_args!(
            "{:<13} {:<9} {:<7} {:<14} → {}",
            input.scope_kind.as_str(),
            input.scope_risk.as_str(),
            if input.skill_signed { "yes" } else { "no" },
            from.as_str(),
            to.as_str()
        ));
    }
    Ok(Exit::Ok)
}

/// The `--json` document of `policy eval`, in this field order.
#[derive(serde::Serialize)]
struct EvalDocument<'a> {
    decision: Outcome,
    rules: &'a [String],
    reasons: &'a [String],
    input: &'a PolicyInput,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    errors: &'a [String],
}

fn eval(
    globals: &Globals,
    input: &str,
    template: Option<&str>,
    file: Option<&Path>,
    printer: &Printer,
) -> anyhow::Result<Exit> {
    let text = if input == "-" {
        std::io::read_to_string(std::io::stdin()).context("cannot read the input from stdin")?
    } else {
        input.to_string()
    };
    let input: PolicyInput = serde_json::from_str(&text).context(
        "invalid policy input: give the full JSON document of DESIGN §5 (skill, scope, scope_kind, scope_target, scope_risk, skill_signed, approval, runtime, actor)",
    )?;
    let policy = match (template, file) {
        (Some(name), _) => {
            match PolicyTemplate::parse(name).filter(|t| template_text(*t).is_some()) {
                Some(template) => Policy::template(template)?,
                None => bail!(
                    "`{name}` is not a policy template; use `strict`, `standard` or `permissive`"
                ),
            }
        }
        (None, Some(path)) => {
            let text = home::read_file_text(path, home::FileKind::Policy, home::Follow::Yes)?;
            Policy::compile(&path.display().to_string(), &text, None)?
        }
        (None, None) => {
            let (home, config) = open_home(globals)?;
            Policy::load_active(&home, &config)?
        }
    };
    let decision = policy.decide(&input)?;
    printer.json(&EvalDocument {
        decision: decision.outcome,
        rules: &decision.rules,
        reasons: &decision.reasons,
        input: &input,
        errors: &decision.errors,
    });
    printer.data(format_args!("decision: {}", decision.outcome));
    printer.data(format_args!("rules: {}", decision.rules.join(", ")));
    for reason in &decision.reasons {
        printer.line(format_args!("reason: {reason}"));
    }
    if !decision.errors.is_empty() {
        return Err(Refusal(format!(
            "the policy failed to evaluate, so the decision is deny: {}",
            decision.errors.join("; ")
        ))
        .into());
    }
    Ok(Exit::Ok)
}
