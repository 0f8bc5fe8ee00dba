//! `aegisclaw init`: detect the environment, ask (or take flags and defaults), then create the
//! home: config, active policy, signing and audit keys, trust in the user's own key, and the
//! encrypted secret store when chosen. Every step is recorded in the audit log.

use super::Globals;
use crate::cli::{InitArgs, SecretsChoice};
use crate::environment::{self, Environment};
use crate::exit::{Exit, Refusal};
use crate::output::Printer;
use crate::wizard::{self, Answers, Preset, age_passphrase::Passphrase};
use aegisclaw_core::audit::Event;
use aegisclaw_core::config::{Config, PolicyTemplate, RuntimeKind};
use aegisclaw_core::env;
use aegisclaw_core::home::{self, Home};
use aegisclaw_core::key::SigningKey;
use aegisclaw_core::lockdown::{self, Lockdown, RecordRef};
use aegisclaw_core::policy;
use aegisclaw_core::secrets::age::AgeStore;
use aegisclaw_core::trust::TrustStore;
use aegisclaw_engine::{open_audit, read_signing_key};
use anyhow::{Context as _, bail};
use serde::Serialize;
use serde_json::json;
use std::io::IsTerminal as _;
use std::path::Path;

#[derive(Serialize)]
struct Report {
    home: String,
    runtime: RuntimeKind,
    policy: PolicyTemplate,
    secrets: Option<SecretsReport>,
    signing_key_id: String,
    audit_key_id: String,
    written: Vec<String>,
    kept: Vec<String>,
    environment: Environment,
}

#[derive(Serialize)]
struct SecretsReport {
    backend: &'static str,
    recipient: Option<String>,
    passphrase_protected: bool,
}

pub(crate) fn run(globals: &Globals, args: InitArgs, printer: &Printer) -> anyhow::Result<Exit> {
    // 1. Check the flags before asking or detecting anything.
    let runtime_flag = args.runtime.as_deref().map(parse_runtime).transpose()?;
    let template_flag = args.policy.as_deref().map(parse_template).transpose()?;
    if args.passphrase && args.secrets == Some(SecretsChoice::None) {
        bail!("`--passphrase` protects the secret store, but `--secrets none` creates none");
    }
    let home = globals.home()?;
    let existed = home.exists();
    if existed && !args.force {
        return Err(Refusal(format!(
            "an AegisClaw home already exists at `{}`; pass `--force` to rewrite its config and policy (keys, secrets and the audit log are kept)",
            home.root().display()
        ))
        .into());
    }

    // 2. Detect what this machine offers; a runtime flag must name a usable one.
    let environment = environment::detect();
    let choices = environment.runtime_choices();
    if let Some(runtime) = runtime_flag
        && let Some(why) = choices
            .iter()
            .find(|choice| choice.runtime == runtime)
            .and_then(|choice| choice.unavailable.clone())
    {
        bail!("runtime `{runtime}` cannot be used here: {why}");
    }
    let passphrase = if args.passphrase {
        Some(read_passphrase()?)
    } else {
        None
    };

    // 3. Answers: flags and defaults, or the wizard for whatever flags left open.
    let answers = if args.defaults {
        Answers {
            runtime: runtime_flag.unwrap_or(RuntimeKind::Native),
            template: template_flag.unwrap_or(PolicyTemplate::Standard),
            secrets: match args.secrets {
                Some(SecretsChoice::None) => None,
                _ => Some(passphrase),
            },
        }
    } else {
        if !std::io::stdin().is_terminal() {
            return Err(anyhow::anyhow!(
                "init needs a terminal for its questions: pass `--defaults` (with `--runtime`, `--policy`, `--secrets`) to initialise without them"
            ));
        }
        print_environment(printer, &environment);
        let preset = Preset {
            runtime: runtime_flag,
            template: template_flag,
            encrypt: args.secrets.map(|choice| choice == SecretsChoice::Age),
            passphrase,
        };
        let answers = wizard::ask(&choices, preset)?;
        // The seed's fourth question; there is nothing to configure until notifications land.
        printer.status(
            "Notifications: skipped (webhook, Slack and email arrive with the notifications work)",
        );
        answers
    };
    if answers.runtime == RuntimeKind::Native && !environment.native_usable() {
        bail!(
            "the native sandbox cannot run here: run `aegisclaw doctor` to see which layer is missing"
        );
    }

    // 4. Write everything, then record it.
    let report = apply(&home, existed, answers, environment)?;
    print_report(printer, &report, existed);
    Ok(Exit::Ok)
}

/// `init --defaults` for `quickstart`: a new home with every default answer.
pub(crate) fn create_with_defaults(home: &Home, printer: &Printer) -> anyhow::Result<()> {
    let environment = environment::detect();
    if !environment.native_usable() {
        bail!(
            "the native sandbox cannot run here: run `aegisclaw doctor` to see which layer is missing"
        );
    }
    let answers = Answers {
        runtime: RuntimeKind::Native,
        template: PolicyTemplate::Standard,
        secrets: Some(None),
    };
    let report = apply(home, false, answers, environment)?;
    print_report(printer, &report, false);
    Ok(())
}

fn parse_runtime(text: &str) -> anyhow::Result<RuntimeKind> {
    let runtime = RuntimeKind::parse(text).with_context(|| {
        format!("unknown runtime `{text}`: use `native`, `docker`, `gvisor`, `kata`, `firecracker` or `auto`")
    })?;
    if runtime != RuntimeKind::Native {
        bail!(
            "runtime `{runtime}` is not available yet: only `native` can be chosen until other runtimes land"
        );
    }
    Ok(runtime)
}

fn parse_template(text: &str) -> anyhow::Result<PolicyTemplate> {
    PolicyTemplate::parse(text)
        .filter(|template| *template != PolicyTemplate::Custom)
        .with_context(|| {
            format!("unknown policy template `{text}`: use `strict`, `standard` or `permissive`")
        })
}

/// The passphrase from `AEGISCLAW_SECRETS_PASSPHRASE`, or a hidden prompt in a terminal.
fn read_passphrase() -> anyhow::Result<Passphrase> {
    if let Some(text) = env::get_string(env::AEGISCLAW_SECRETS_PASSPHRASE) {
        if text.chars().count() < 8 {
            bail!("the passphrase in `AEGISCLAW_SECRETS_PASSPHRASE` is shorter than 8 characters");
        }
        return Ok(Passphrase(text));
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "`--passphrase` needs a terminal for the hidden prompt, or `AEGISCLAW_SECRETS_PASSPHRASE`"
        );
    }
    wizard::ask_passphrase()
}

fn apply(
    home: &Home,
    existed: bool,
    answers: Answers,
    environment: Environment,
) -> anyhow::Result<Report> {
    // 1. Layout, config and policy.
    home.ensure_layout()?;
    let config = Config {
        runtime: answers.runtime,
        policy_template: answers.template,
        ..Config::default()
    };
    config.save(home)?;
    let policy_text = policy::template_text(answers.template).unwrap_or_default();
    home::atomic_write(&home.default_policy(), policy_text.as_bytes())?;
    let mut written = vec![
        "config.yaml".to_string(),
        "policies/default.rego".to_string(),
    ];
    let mut kept = Vec::new();

    // 2. Keys: created when missing, never replaced by init.
    let signing = ensure_key(
        home,
        &home.signing_key(),
        &home.signing_public_key(),
        &mut written,
        &mut kept,
    )?;
    let audit = ensure_key(
        home,
        &home.audit_key(),
        &home.audit_public_key(),
        &mut written,
        &mut kept,
    )?;
    let trusted = TrustStore::add(&home.trust_dir(), &signing.public())?;
    if trusted {
        written.push(format!("trust/{}.pub", signing.public().key_id()));
    }

    // 3. The secret store, when chosen and not there yet.
    let secrets = match answers.secrets {
        None => None,
        Some(_) if AgeStore::status(home)?.initialised => {
            kept.push("secrets/identity".to_string());
            Some(SecretsReport {
                backend: "age",
                recipient: None,
                passphrase_protected: AgeStore::status(home)?.protected,
            })
        }
        Some(passphrase) => {
            let outcome = AgeStore::init(home, passphrase.map(|p| p.0.into()))?;
            written.push("secrets/identity".to_string());
            written.push("secrets/store.age".to_string());
            Some(SecretsReport {
                backend: "age",
                recipient: Some(outcome.recipient),
                passphrase_protected: outcome.protected,
            })
        }
    };
    if existed {
        kept.push("audit/audit.jsonl".to_string());
    }

    // 4. Record it; the writer's close adds a signed checkpoint.
    let actor = aegisclaw_engine::cli_actor();
    let mut log = open_audit(home)?;
    let located = log.append_batch_located(vec![
        Event::new(if existed { "home.reinit" } else { "home.init" }, &actor).data(json!({
            "runtime": answers.runtime.as_str(),
            "policy_template": answers.template.as_str(),
            "secrets": secrets.as_ref().map(|s| json!({"backend": s.backend, "passphrase_protected": s.passphrase_protected})),
            "written": written,
            "kept": kept,
        })),
        Event::new("trust.add", &actor)
            .reason("the home's own signing key")
            .data(json!({"key_id": signing.public().key_id(), "newly_added": trusted})),
    ])?;
    log.close()?;
    // 5. A new home's lockdown state: off, naming its `home.init` record (a home re-initialised
    // keeps its state, on or off).
    if let (false, Some((record, offset))) = (existed, located.first()) {
        lockdown::set(
            home,
            &Lockdown {
                on: false,
                since: Some(record.ts),
                reason: None,
                by: Some(actor.clone()),
                record: Some(RecordRef {
                    seq: record.seq,
                    hash: record.hash.clone(),
                    offset: *offset,
                }),
            },
        )?;
    }

    Ok(Report {
        home: home.root().display().to_string(),
        runtime: answers.runtime,
        policy: answers.template,
        secrets,
        signing_key_id: signing.public().key_id(),
        audit_key_id: audit.public().key_id(),
        written,
        kept,
        environment,
    })
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

fn print_environment(printer: &Printer, environment: &Environment) {
    printer.status("AegisClaw setup\n\nDetecting environment...");
    for line in environment.lines() {
        printer.status(format_args!("  {line}"));
    }
    printer.status("");
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
    match &report.secrets {
        Some(secrets) => {
            printer.status(format_args!(
                "  secret store: age{}",
                if secrets.passphrase_protected {
                    ", passphrase-protected"
                } else {
                    ""
                }
            ));
            printer.status("Next: add your first secret with `aegisclaw secrets set OPENAI_API_KEY` (the value is read from stdin or a hidden prompt).");
        }
        None => {
            printer.status("  secret store: none (create one later with `aegisclaw secrets init`)");
            printer.status("Next: sign a skill with `aegisclaw skill sign <dir>` and check it with `aegisclaw skill verify <dir>`.");
        }
    }
}
