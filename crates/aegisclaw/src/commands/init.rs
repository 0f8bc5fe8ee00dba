//! `aegisclaw init`: create a home (config, active policy, signing and audit keys, trust in
//! the user's own key) and record it. The interactive wizard arrives with issue #4.

use super::Globals;
use super::unavailable::{Area, not_available};
use crate::cli::InitArgs;
use crate::exit::{Exit, Refusal};
use crate::output::Printer;
use aegisclaw_core::audit::Event;
use aegisclaw_core::config::{Config, PolicyTemplate, RuntimeKind};
use aegisclaw_core::home::{self, Home};
use aegisclaw_core::key::SigningKey;
use aegisclaw_core::policy;
use aegisclaw_core::trust::TrustStore;
use aegisclaw_engine::{open_audit, read_signing_key};
use anyhow::{Context as _, bail};
use serde::Serialize;
use std::path::Path;

#[derive(Serialize)]
struct Report {
    home: String,
    runtime: RuntimeKind,
    policy: PolicyTemplate,
    signing_key_id: String,
    audit_key_id: String,
    written: Vec<String>,
    kept: Vec<String>,
}

pub(crate) fn run(globals: &Globals, args: InitArgs, printer: &Printer) -> anyhow::Result<Exit> {
    if !args.defaults {
        return not_available(printer, "init (interactive wizard)", Area::PolicyAndDoctor)
            .inspect(|_| printer.hint("pass `--defaults` (and `--runtime`, `--policy`) to initialise without questions"));
    }
    let runtime = RuntimeKind::parse(&args.runtime)
        .with_context(|| format!("unknown runtime `{}`", args.runtime))?;
    if runtime != RuntimeKind::Native {
        bail!(
            "runtime `{runtime}` is not available yet: only `native` can be chosen until other runtimes land"
        );
    }
    let template = PolicyTemplate::parse(&args.policy)
        .filter(|template| *template != PolicyTemplate::Custom)
        .with_context(|| {
            format!(
                "unknown policy template `{}`: use `strict`, `standard` or `permissive`",
                args.policy
            )
        })?;
    let home = globals.home()?;
    let existed = home.exists();
    if existed && !args.force {
        return Err(Refusal(format!(
            "an AegisClaw home already exists at `{}`; pass `--force` to rewrite its config and policy (keys and the audit log are kept)",
            home.root().display()
        ))
        .into());
    }

    // 1. Layout, config and policy.
    home.ensure_layout()?;
    let config = Config {
        runtime,
        policy_template: template,
        ..Config::default()
    };
    config.save(&home)?;
    let policy_text = policy::template_text(template).unwrap_or_default();
    home::atomic_write(&home.default_policy(), policy_text.as_bytes())?;
    let mut written = vec![
        "config.yaml".to_string(),
        "policies/default.rego".to_string(),
    ];
    let mut kept = Vec::new();

    // 2. Keys: created when missing, never replaced by init.
    let signing = ensure_key(
        &home,
        &home.signing_key(),
        &home.signing_public_key(),
        &mut written,
        &mut kept,
    )?;
    let audit = ensure_key(
        &home,
        &home.audit_key(),
        &home.audit_public_key(),
        &mut written,
        &mut kept,
    )?;
    let trusted = TrustStore::add(&home.trust_dir(), &signing.public())?;
    if trusted {
        written.push(format!("trust/{}.pub", signing.public().key_id()));
    }
    if existed {
        kept.push("audit/audit.jsonl".to_string());
    }

    // 3. Record it; the writer's close adds a signed checkpoint.
    let actor = aegisclaw_engine::cli_actor();
    let mut log = open_audit(&home)?;
    log.append_batch(vec![
        Event::new(if existed { "home.reinit" } else { "home.init" }, &actor).data(
            serde_json::json!({
                "runtime": runtime.as_str(),
                "policy_template": template.as_str(),
                "written": written,
                "kept": kept,
            }),
        ),
        Event::new("trust.add", &actor)
            .reason("the home's own signing key")
            .data(serde_json::json!({"key_id": signing.public().key_id(), "newly_added": trusted})),
    ])?;
    log.close()?;

    let report = Report {
        home: home.root().display().to_string(),
        runtime,
        policy: template,
        signing_key_id: signing.public().key_id(),
        audit_key_id: audit.public().key_id(),
        written,
        kept,
    };
    print_report(printer, &report, existed);
    Ok(Exit::Ok)
}

fn ensure_key(
    home: &Home,
    secret: &Path,
    public: &Path,
    written: &mut Vec<String>,
    kept: &mut Vec<String>,
) -> anyhow::Result<SigningKey> {
    let relative = |path: &Path| {
        path.strip_prefix(home.root())
            .unwrap_or(path)
            .display()
            .to_string()
    };
    if let Some(key) = read_signing_key(secret)? {
        kept.push(relative(secret));
        return Ok(key);
    }
    let key = SigningKey::generate()?;
    home::atomic_write(secret, key.to_text().as_bytes())?;
    home::atomic_write(public, format!("{}\n", key.public().to_text()).as_bytes())?;
    written.push(relative(secret));
    written.push(relative(public));
    Ok(key)
}

fn print_report(printer: &Printer, report: &Report, existed: bool) {
    printer.json(report);
    let verb = if existed { "Rewrote" } else { "Created" };
    printer.status(format_args!("{verb} the AegisClaw home at {}", report.home));
    printer.status(format_args!(
        "  runtime {}, policy template {}",
        report.runtime, report.policy
    ));
    for path in &report.written {
        printer.status(format_args!("  wrote {path}"));
    }
    for path in &report.kept {
        printer.status(format_args!("  kept  {path}"));
    }
    printer.status(format_args!(
        "  signing key {} (trusted), audit checkpoint key {}",
        report.signing_key_id, report.audit_key_id
    ));
    printer.status("Next: sign a skill with `aegisclaw skill sign <dir>` and check it with `aegisclaw skill verify <dir>`.");
}
