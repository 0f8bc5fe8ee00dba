//! `aegisclaw skill`: keygen, sign, verify, install, list, show and trust. Each action that
//! changes state or checks a signature is recorded in the audit log before it is reported.

use super::Globals;
use super::unavailable::{Area, not_available};
use crate::cli::{SkillCommand, TrustCommand};
use crate::exit::{Exit, Refusal};
use crate::output::Printer;
use aegisclaw_core::home;
use aegisclaw_core::key::{PublicKey, SigningKey};
use aegisclaw_core::skill::registry::{self, InstalledSkill, SkillStatus};
use aegisclaw_core::skill::sign;
use aegisclaw_core::trust::{TrustSource, TrustStore};
use aegisclaw_engine::doctor::error_chain;
use aegisclaw_engine::{Context, read_signing_key};
use anyhow::Context as _;
use serde_json::json;
use std::path::Path;

pub(crate) fn run(
    globals: &Globals,
    command: SkillCommand,
    printer: &Printer,
) -> anyhow::Result<Exit> {
    let mut context = globals.context()?;
    let exit = match command {
        SkillCommand::Keygen { force } => keygen(&mut context, force, printer),
        SkillCommand::Sign { dir, key } => sign(&mut context, &dir, key.as_deref(), printer),
        SkillCommand::Verify { dir } => verify(&mut context, &dir, printer),
        SkillCommand::Install { dir, force } => install(&mut context, &dir, force, printer),
        SkillCommand::List => list(&context, printer),
        SkillCommand::Show(name) => show(&context, &name.name, printer),
        SkillCommand::Trust(command) => trust(&mut context, command, printer),
        SkillCommand::Publish { .. } => {
            not_available(printer, "skill publish", Area::SkillEcosystem)
        }
        SkillCommand::Search { .. } => not_available(printer, "skill search", Area::SkillEcosystem),
        SkillCommand::Rate { .. } => not_available(printer, "skill rate", Area::SkillEcosystem),
    };
    // The writer's close adds the signed checkpoint even when the command was refused.
    context.close()?;
    exit
}

fn keygen(context: &mut Context, force: bool, printer: &Printer) -> anyhow::Result<Exit> {
    let home = context.home().clone();
    let previous = read_signing_key(&home.signing_key())?;
    if let (Some(previous), false) = (&previous, force) {
        return Err(Refusal(format!(
            "a signing key already exists (key id `{}`); pass `--force` to replace it",
            previous.public().key_id()
        ))
        .into());
    }
    let key = SigningKey::generate()?;
    let key_id = key.public().key_id();
    context.record(context.event("key.generate").data(json!({
        "key_id": key_id,
        "replaces": previous.as_ref().map(|old| old.public().key_id()),
    })))?;
    home::atomic_write(&home.signing_key(), key.to_text().as_bytes())?;
    home::atomic_write(
        &home.signing_public_key(),
        format!("{}\n", key.public().to_text()).as_bytes(),
    )?;
    let added = TrustStore::add(&home.trust_dir(), &key.public())?;
    context.record(
        context
            .event("trust.add")
            .reason("the home's own signing key")
            .data(json!({"key_id": key_id, "newly_added": added})),
    )?;
    printer.json(&json!({"key_id": key_id, "public_key": key.public().to_text(), "trusted": true}));
    printer.status(format_args!(
        "Generated signing key {key_id} and trusted it"
    ));
    printer.status(format_args!("  public key {}", key.public().to_text()));
    if let Some(previous) = previous {
        printer.status(format_args!(
            "  the old key {} stays trusted; remove it with `aegisclaw skill trust remove {}`",
            previous.public().key_id(),
            previous.public().key_id()
        ));
    }
    Ok(Exit::Ok)
}

fn sign(
    context: &mut Context,
    dir: &Path,
    key_file: Option<&Path>,
    printer: &Printer,
) -> anyhow::Result<Exit> {
    let key_path = key_file.map_or_else(|| context.home().signing_key(), Path::to_path_buf);
    let key = read_signing_key(&key_path)?.with_context(|| {
        format!(
            "no signing key at `{}` (create one with `aegisclaw skill keygen`)",
            key_path.display()
        )
    })?;
    let pending = sign::prepare_signature(dir, &key)?;
    let prepared = pending.outcome();
    // The record is durable before the manifest changes.
    context.record(
        context
            .event("skill.sign")
            .skill(&prepared.manifest.name)
            .data(json!({
                "dir": dir.display().to_string(),
                "version": prepared.manifest.version,
                "publisher": prepared.publisher,
                "files": prepared.file_count,
            })),
    )?;
    let outcome = pending.write()?;
    printer.json(&json!({
        "skill": outcome.manifest.name,
        "version": outcome.manifest.version,
        "publisher": outcome.publisher,
        "files": outcome.file_count,
        "manifest": outcome.manifest_path.display().to_string(),
        "signature": outcome.manifest.signature,
    }));
    printer.status(format_args!(
        "Signed {} {}: {} file{}, publisher {}",
        outcome.manifest.name,
        outcome.manifest.version,
        outcome.file_count,
        if outcome.file_count == 1 { "" } else { "s" },
        outcome.publisher
    ));
    printer.status(format_args!("  wrote {}", outcome.manifest_path.display()));
    if context.trust()?.get(&outcome.publisher).is_none() {
        printer.warn(format_args!(
            "publisher {} is not trusted by this home, so `skill verify` will refuse it",
            outcome.publisher
        ));
    }
    Ok(Exit::Ok)
}

fn verify(context: &mut Context, dir: &Path, printer: &Printer) -> anyhow::Result<Exit> {
    let trust = context.trust()?;
    let dir = resolve_skill_dir(context, dir);
    match sign::verify_dir(&dir, &trust) {
        Ok(verified) => {
            context.record(
                context
                    .event("skill.verify")
                    .skill(&verified.manifest.name)
                    .decision("pass")
                    .data(json!({
                        "dir": dir.display().to_string(),
                        "publisher": verified.publisher,
                        "files": verified.file_count,
                    })),
            )?;
            printer.json(&json!({
                "verified": true,
                "skill": verified.manifest.name,
                "version": verified.manifest.version,
                "publisher": verified.publisher,
                "files": verified.file_count,
            }));
            printer.data(format_args!(
                "Verified {} {}: signature by trusted publisher {}, {} file{} intact",
                verified.manifest.name,
                verified.manifest.version,
                verified.publisher,
                verified.file_count,
                if verified.file_count == 1 { "" } else { "s" }
            ));
            Ok(Exit::Ok)
        }
        Err(error) => {
            let problems: Vec<String> = error
                .file_problems()
                .iter()
                .map(ToString::to_string)
                .collect();
            let name = aegisclaw_core::skill::manifest::Manifest::load(&dir.join("manifest.yaml"))
                .map(|manifest| manifest.name)
                .ok();
            let mut event = context
                .event("skill.verify")
                .decision("fail")
                .reason(error_chain(&error))
                .data(json!({"dir": dir.display().to_string(), "problems": problems}));
            if let Some(name) = &name {
                event = event.skill(name);
            }
            context.record(event)?;
            printer.json(&json!({
                "verified": false,
                "skill": name,
                "error": error_chain(&error),
                "problems": problems,
            }));
            for problem in problems.iter().skip(1) {
                printer.data(format_args!("  also {problem}"));
            }
            Err(anyhow::Error::new(error).context(Refusal(format!(
                "skill `{}` failed verification",
                name.as_deref().unwrap_or("?")
            ))))
        }
    }
}

/// A path that is not a directory but names an installed skill means that skill.
fn resolve_skill_dir(context: &Context, dir: &Path) -> std::path::PathBuf {
    if !dir.is_dir()
        && let Some(name) = dir.to_str()
        && aegisclaw_core::skill::manifest::is_valid_name(name)
    {
        let installed = context.home().skills_dir().join(name);
        if installed.is_dir() {
            return installed;
        }
    }
    dir.to_path_buf()
}

fn install(
    context: &mut Context,
    dir: &Path,
    force: bool,
    printer: &Printer,
) -> anyhow::Result<Exit> {
    let trust = context.trust()?;
    let staged = match registry::stage(dir, context.home(), &trust, force) {
        Ok(staged) => staged,
        Err(error) => {
            context.record(
                context
                    .event("skill.install")
                    .decision("refused")
                    .reason(error_chain(&error))
                    .data(json!({"dir": dir.display().to_string()})),
            )?;
            return Err(anyhow::Error::new(error).context(Refusal("skill not installed".into())));
        }
    };
    // The record is durable before the skill is moved into place.
    let skill = staged.skill();
    context.record(
        context
            .event("skill.install")
            .skill(&skill.name)
            .decision("installed")
            .data(json!({
                "dir": dir.display().to_string(),
                "version": skill.version,
                "publisher": skill.publisher,
            })),
    )?;
    let name = skill.name.clone();
    let installed = match staged.commit() {
        Ok(installed) => installed,
        Err(error) => {
            // Best effort: the install record above is followed by the failure.
            let _ = context.record(
                context
                    .event("skill.install")
                    .skill(&name)
                    .decision("failed")
                    .reason(error_chain(&error))
                    .data(json!({"dir": dir.display().to_string()})),
            );
            return Err(anyhow::Error::new(error).context("skill not installed"));
        }
    };
    printer.json(&installed);
    printer.status(format_args!(
        "Installed {} {} (publisher {}) into {}",
        installed.name,
        installed.version,
        installed.publisher.as_deref().unwrap_or("?"),
        context.home().skills_dir().join(&installed.name).display()
    ));
    Ok(Exit::Ok)
}

fn list(context: &Context, printer: &Printer) -> anyhow::Result<Exit> {
    let skills = registry::list(context.home(), &context.trust()?)?;
    printer.json(&skills);
    if skills.is_empty() {
        printer.status("no skills installed (install one with `aegisclaw skill install <dir>`)");
    }
    for skill in &skills {
        printer.data(format_args!(
            "{:<24} {:<10} {:<9} {}",
            skill.name,
            skill.version,
            status_word(skill),
            skill.description
        ));
        if let SkillStatus::Failed { error } = &skill.status {
            printer.data(format_args!("    {error}"));
        }
    }
    Ok(if skills.iter().all(is_verified) {
        Exit::Ok
    } else {
        Exit::Refused
    })
}

fn show(context: &Context, name: &str, printer: &Printer) -> anyhow::Result<Exit> {
    let skill = registry::show(context.home(), &context.trust()?, name)?;
    printer.json(&skill);
    printer.data(format_args!("name         {}", skill.name));
    printer.data(format_args!("version      {}", skill.version));
    printer.data(format_args!(
        "description  {}",
        crate::output::escape::text(&skill.description)
    ));
    printer.data(format_args!(
        "platform     {}",
        skill.platform.map_or("-", |platform| platform.as_str())
    ));
    printer.data(format_args!(
        "publisher    {}",
        skill.publisher.as_deref().unwrap_or("-")
    ));
    printer.data(format_args!("path         {}", skill.path.display()));
    printer.data(format_args!("status       {}", status_word(&skill)));
    if let SkillStatus::Failed { error } = &skill.status {
        printer.data(format_args!("             {error}"));
    }
    for scope in &skill.scopes {
        printer.data(format_args!("scope        {scope}"));
    }
    Ok(if is_verified(&skill) {
        Exit::Ok
    } else {
        Exit::Refused
    })
}

fn is_verified(skill: &InstalledSkill) -> bool {
    skill.status == SkillStatus::Verified
}

fn status_word(skill: &InstalledSkill) -> &'static str {
    match skill.status {
        SkillStatus::Verified => "verified",
        SkillStatus::Failed { .. } => "FAILED",
    }
}

fn trust(context: &mut Context, command: TrustCommand, printer: &Printer) -> anyhow::Result<Exit> {
    let dir = context.home().trust_dir();
    match command {
        TrustCommand::List => {
            let store = context.trust()?;
            let keys: Vec<_> = store
                .keys()
                .map(|(id, key, source)| {
                    json!({"key_id": id, "public_key": key.to_text(), "source": match source {
                        TrustSource::Builtin => "builtin",
                        TrustSource::File => "file",
                    }})
                })
                .collect();
            printer.json(&keys);
            if keys.is_empty() {
                printer.status("no trusted publisher keys");
            }
            for (id, key, source) in store.keys() {
                let source = if source == TrustSource::Builtin {
                    "builtin"
                } else {
                    "trust/"
                };
                printer.data(format_args!("{id}  {source:<8} {}", key.to_text()));
            }
        }
        TrustCommand::Add { key } => {
            let text = if Path::new(&key).is_file() {
                home::read_file_text(Path::new(&key), home::FileKind::Key, home::Follow::Yes)?
            } else {
                key.clone()
            };
            let public = PublicKey::from_text(&text).with_context(|| {
                format!("`{key}` is neither a key file nor `ed25519:<base64>` key text")
            })?;
            let key_id = public.key_id();
            context.record(context.event("trust.add").data(json!({"key_id": key_id})))?;
            let added = TrustStore::add(&dir, &public)?;
            printer.json(&json!({"key_id": key_id, "newly_added": added}));
            printer.status(if added {
                format!("Trusted publisher key {key_id}")
            } else {
                format!("Publisher key {key_id} was already trusted")
            });
        }
        TrustCommand::Remove { key_id } => {
            let store = context.trust()?;
            match store.keys().find(|(id, _, _)| *id == key_id) {
                None => {
                    return Err(anyhow::anyhow!(
                        "no trusted key `{key_id}` in `{}`",
                        dir.display()
                    ));
                }
                Some((_, _, TrustSource::Builtin)) => {
                    return Err(anyhow::anyhow!(
                        "key `{key_id}` is built into aegisclaw and cannot be removed"
                    ));
                }
                Some(_) => {}
            }
            context.record(
                context
                    .event("trust.remove")
                    .data(json!({"key_id": key_id})),
            )?;
            TrustStore::remove(&dir, &key_id)?;
            printer.json(&json!({"key_id": key_id, "removed": true}));
            printer.status(format_args!("No longer trusting publisher key {key_id}"));
        }
    }
    Ok(Exit::Ok)
}
