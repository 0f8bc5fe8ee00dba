//! Doctor checks about the home: its directory and permissions, config, policy, secret
//! store, audit log, lockdown state, keys, trust store and installed skills. Reads only;
//! never repairs.

use super::{DoctorInput, Outcome, error_chain};
use crate::runtime;
use aegisclaw_core::audit;
use aegisclaw_core::config::PolicyTemplate;
use aegisclaw_core::lockdown::{self, Lockdown};
use aegisclaw_core::policy::{self, Policy};
use aegisclaw_core::secrets::AgeStore;
use aegisclaw_core::skill::registry::{self, SkillStatus};
use aegisclaw_core::trust::TrustStore;

pub(super) fn check_home(input: &DoctorInput) -> Outcome {
    let root = input.home.root().display();
    if input.home.exists() {
        Outcome::pass(format!("`{root}`"))
    } else if input.home.root().is_dir() {
        Outcome::fail(format!("`{root}` exists but has no config.yaml"))
    } else {
        Outcome::fail(format!("no AegisClaw home at `{root}`"))
    }
}

pub(super) fn check_permissions(input: &DoctorInput) -> Outcome {
    if !input.home.root().is_dir() {
        return Outcome::no_home();
    }
    match input.home.loose_permissions() {
        Ok(loose) if loose.is_empty() => Outcome::pass("0700 directories, 0600 files"),
        Ok(loose) => {
            let more = match loose.len() {
                1 => String::new(),
                n => format!(" (and {} more)", n - 1),
            };
            Outcome::fail(format!("{}{more}", loose[0]))
        }
        Err(error) => Outcome::fail(format!("cannot inspect: {error}")),
    }
}

pub(super) fn check_config(input: &DoctorInput) -> Outcome {
    if !input.home.exists() {
        return Outcome::no_home();
    }
    match &input.config {
        // A runtime no adapter runs refuses every run: the config is not usable as written.
        Ok(config) => match runtime::select(config.runtime, runtime::ADAPTERS) {
            Ok(choice) if choice.selected == choice.configured => Outcome::pass(format!(
                "valid (runtime {}, policy {})",
                config.runtime, config.policy_template
            )),
            Ok(choice) => Outcome::pass(format!(
                "valid (runtime {}, which runs {} here, policy {})",
                config.runtime, choice.selected, config.policy_template
            )),
            Err(error) => Outcome::fail(format!("{error}; every run is refused")),
        },
        Err(error) => Outcome::fail(error_chain(error)),
    }
}

pub(super) fn check_policy(input: &DoctorInput) -> Outcome {
    if !input.home.exists() {
        return Outcome::no_home();
    }
    let Ok(config) = &input.config else {
        return Outcome::fail("not checked: config.yaml is invalid");
    };
    let policy = match Policy::load_active(&input.home, config) {
        Ok(policy) => policy,
        Err(error) => return Outcome::fail(error_chain(&error)),
    };
    let template = config.policy_template;
    let Some(cases) = policy::template_cases(template) else {
        return Outcome::pass(format!(
            "compiled (default.rego, {}); custom policy has no built-in cases",
            policy.engine_kind()
        ));
    };
    let source = std::path::PathBuf::from(format!("{template}.cases.yaml"));
    match policy::run_cases(&policy, cases, &source) {
        Ok(report) if report.failed.is_empty() => Outcome::pass(format!(
            "compiled (default.rego, {}); {} {template} cases pass",
            policy.engine_kind(),
            report.passed
        )),
        Ok(report) => {
            let first = &report.failed[0];
            Outcome::fail(format!(
                "default.rego fails {} of the {template} template's cases (first: `{}`: {}); set `policy.template: {}` if it is your own",
                report.failed.len(),
                first.name,
                first.problem,
                PolicyTemplate::Custom
            ))
        }
        Err(error) => Outcome::fail(error_chain(&error)),
    }
}

pub(super) fn check_secrets(input: &DoctorInput) -> Outcome {
    if !input.home.exists() {
        return Outcome::no_home();
    }
    match AgeStore::status(&input.home) {
        Ok(status) if !status.initialised => Outcome::warn("not initialised"),
        Ok(status) => Outcome::pass(match (status.protected, status.secrets) {
            (true, _) => "initialised (age, passphrase-protected)".to_string(),
            (false, Some(1)) => "initialised (age, 1 secret)".to_string(),
            (false, Some(count)) => format!("initialised (age, {count} secrets)"),
            (false, None) => "initialised (age)".to_string(),
        }),
        Err(error) => Outcome::fail(error_chain(&error)),
    }
}

pub(super) fn check_audit(input: &DoctorInput) -> Outcome {
    if !input.home.exists() {
        return Outcome::no_home();
    }
    let home = &input.home;
    let keys = match crate::audit_keys(home) {
        Ok(keys) => keys,
        Err(error) => return Outcome::fail(error_chain(&error)),
    };
    let report = match audit::verify(&home.audit_log(), &home.audit_checkpoints(), &keys) {
        Ok(report) => report,
        Err(error) => return Outcome::fail(error_chain(&error)),
    };
    if let Some(problem) = &report.problem {
        return Outcome::fail(format!("broken: {problem}"));
    }
    let records = match report.records {
        1 => "1 record".to_string(),
        n => format!("{n} records"),
    };
    match report.last_checkpoint_seq {
        _ if report.records == 0 => Outcome::pass("empty (no records yet)"),
        None if keys.is_empty() => Outcome::warn(format!(
            "{records}, chain intact, no checkpoint key (keys/audit.pub): a truncated tail would go unnoticed"
        )),
        None => Outcome::warn(format!(
            "{records}, chain intact, no signed checkpoints: a truncated tail would go unnoticed"
        )),
        Some(seq) if seq == report.last_seq => Outcome::pass(format!(
            "{records}, chain intact, signed checkpoint at the tail"
        )),
        Some(seq) => Outcome::pass(format!(
            "{records}, chain intact, signed up to seq {seq} ({} since)",
            report.last_seq - seq
        )),
    }
}

pub(super) fn check_lockdown(input: &DoctorInput) -> Outcome {
    if !input.home.exists() {
        return Outcome::no_home();
    }
    let state = lockdown::check_against_log(&input.home);
    if let Some(disagreement) = &state.disagreement {
        return Outcome::fail(format!("counts as on: {}", error_chain(disagreement)));
    }
    let seq = |file: &Lockdown| {
        file.record
            .as_ref()
            .map_or_else(String::new, |record| format!(", set by seq {}", record.seq))
    };
    match &state.file {
        Some(file) if file.on => Outcome::warn(format!(
            "on: every run is refused (agrees with the audit log{})",
            seq(file)
        )),
        Some(file) => Outcome::pass(format!("off (agrees with the audit log{})", seq(file))),
        None => Outcome::pass("off (no history yet)"),
    }
}

pub(super) fn check_signing_key(input: &DoctorInput) -> Outcome {
    if !input.home.exists() {
        return Outcome::no_home();
    }
    match crate::read_signing_key(&input.home.signing_key()) {
        Ok(Some(key)) => Outcome::pass(format!("key id {}", key.public().key_id())),
        Ok(None) => Outcome::warn("none: this home cannot sign skills"),
        Err(error) => Outcome::fail(error_chain(&error)),
    }
}

pub(super) fn check_trust(input: &DoctorInput) -> Outcome {
    if !input.home.exists() {
        return Outcome::no_home();
    }
    match TrustStore::load(&input.home.trust_dir()) {
        Ok(store) if store.is_empty() => Outcome::warn("no trusted keys: no skill can verify"),
        Ok(store) if store.len() == 1 => Outcome::pass("1 trusted publisher key"),
        Ok(store) => Outcome::pass(format!("{} trusted publisher keys", store.len())),
        Err(error) => Outcome::fail(error_chain(&error)),
    }
}

pub(super) fn check_skills(input: &DoctorInput) -> Outcome {
    if !input.home.exists() {
        return Outcome::no_home();
    }
    let trust = match TrustStore::load(&input.home.trust_dir()) {
        Ok(store) => store.with_project_keys(),
        Err(_) => return Outcome::fail("not checked: the trust store does not load"),
    };
    let skills = match registry::list(&input.home, &trust) {
        Ok(skills) => skills,
        Err(error) => return Outcome::fail(error_chain(&error)),
    };
    let failed: Vec<String> = skills
        .iter()
        .filter_map(|skill| match &skill.status {
            SkillStatus::Verified => None,
            SkillStatus::Failed { error } => Some(format!("`{}` ({error})", skill.name)),
        })
        .collect();
    match (skills.len(), failed.len()) {
        (0, _) => Outcome::pass("none installed"),
        (total, 0) => Outcome::pass(format!("{total} installed, all verify")),
        (total, bad) => Outcome::fail(format!(
            "{bad} of {total} fail verification: {}",
            failed.join(", ")
        )),
    }
}
