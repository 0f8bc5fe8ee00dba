//! `aegisclaw secrets`: init, set, get, list, delete and rotate on the configured store. Values
//! come only from stdin or a hidden prompt, never from arguments, and are never audited or
//! printed except by `get --reveal`.

use super::Globals;
use crate::cli::SecretsCommand;
use crate::exit::{Exit, Refusal};
use crate::output::Printer;
use aegisclaw_core::config::SecretsBackend;
use aegisclaw_core::env;
use aegisclaw_core::secrets::secrecy::zeroize::{Zeroize as _, Zeroizing};
use aegisclaw_core::secrets::secrecy::{ExposeSecret as _, SecretString};
use aegisclaw_core::secrets::{
    self, AgeStore, MAX_VALUE_BYTES, SecretInfo, SecretStore, SecretsError,
};
use aegisclaw_engine::Context;
use anyhow::Context as _;
use inquire::{Password, PasswordDisplayMode};
use serde_json::json;
use std::io::{IsTerminal as _, Read as _};
use std::path::Path;

pub(crate) fn run(
    globals: &Globals,
    command: SecretsCommand,
    printer: &Printer,
) -> anyhow::Result<Exit> {
    let mut context = globals.context()?;
    let exit = match command {
        SecretsCommand::Init { passphrase } => init(&mut context, passphrase, printer),
        SecretsCommand::Set { name, stray } if !stray.is_empty() => {
            Ok(value_on_argv("set", &name, printer))
        }
        SecretsCommand::Rotate { name, stray } if !stray.is_empty() => {
            Ok(value_on_argv("rotate", &name, printer))
        }
        SecretsCommand::Set { name, .. } => with_store(&mut context, printer, |context, store| {
            set(context, store, &name, printer)
        }),
        SecretsCommand::Get { name, reveal } => {
            with_store(&mut context, printer, |context, store| {
                get(context, store, &name, reveal, printer)
            })
        }
        SecretsCommand::List => with_store(&mut context, printer, |context, store| {
            list(context, store, printer)
        }),
        SecretsCommand::Delete { name } => with_store(&mut context, printer, |context, store| {
            delete(context, store, &name, printer)
        }),
        SecretsCommand::Rotate { name, .. } => {
            with_store(&mut context, printer, |context, store| {
                rotate(context, store, &name, printer)
            })
        }
    };
    context.close()?;
    exit
}

/// Refuses a value given on the command line (it is already visible in `ps` and perhaps in
/// shell history), without echoing it back.
fn value_on_argv(word: &str, name: &str, printer: &Printer) -> Exit {
    let error = anyhow::anyhow!(
        "secret values are never taken from arguments (they show in `ps` and shell history)"
    );
    printer.error(&error, Exit::Usage.code());
    printer.hint(format_args!(
        "pipe the value on stdin (`aegisclaw secrets {word} {name} < file`) or run in a terminal to be asked"
    ));
    printer.hint("treat the value you typed as exposed");
    Exit::Usage
}

/// Runs `action` on the opened store; without a store, reports it with a hint and exits 2.
fn with_store(
    context: &mut Context,
    printer: &Printer,
    action: impl FnOnce(&mut Context, &dyn SecretStore) -> anyhow::Result<Exit>,
) -> anyhow::Result<Exit> {
    match open(context)? {
        Some(store) => action(context, store.as_ref()),
        None => {
            let error = SecretsError::NotInitialised {
                path: AgeStore::identity_file(context.home()),
            };
            printer.error(&anyhow::Error::new(error), Exit::Usage.code());
            printer.hint("create the store with `aegisclaw secrets init`");
            Ok(Exit::Usage)
        }
    }
}

/// Opens the configured store, asking for a passphrase if it is protected; `None` when the
/// store has not been initialised. A wrong passphrase is recorded, then refused.
fn open(context: &mut Context) -> anyhow::Result<Option<Box<dyn SecretStore>>> {
    match context.config().secrets_backend {
        SecretsBackend::Age => {
            let home = context.home().clone();
            let identity = AgeStore::identity_file(&home);
            match AgeStore::open(&home, || existing_passphrase(&identity)) {
                Ok(store) => Ok(Some(Box::new(store))),
                Err(SecretsError::NotInitialised { .. }) => Ok(None),
                Err(error @ SecretsError::WrongPassphrase { .. }) => {
                    context.record(
                        context
                            .event("secrets.unlock")
                            .decision("refused")
                            .reason(error.to_string()),
                    )?;
                    Err(refusal(error))
                }
                Err(error) => Err(refusal(error)),
            }
        }
    }
}

fn init(context: &mut Context, with_passphrase: bool, printer: &Printer) -> anyhow::Result<Exit> {
    let home = context.home().clone();
    let identity = AgeStore::identity_file(&home);
    // Checked before asking for a passphrase; `AgeStore::init` checks again under its lock.
    if identity.exists() {
        return Err(refusal(SecretsError::AlreadyInitialised { path: identity }));
    }
    let passphrase = if with_passphrase {
        Some(new_passphrase(&identity)?)
    } else {
        None
    };
    let outcome = AgeStore::init(&home, passphrase).map_err(refusal)?;
    context.record(context.event("secrets.init").data(json!({
        "backend": "age",
        "recipient": outcome.recipient,
        "protected": outcome.protected,
    })))?;
    printer.json(&json!({
        "backend": "age",
        "recipient": outcome.recipient,
        "protected": outcome.protected,
        "identity": identity.display().to_string(),
    }));
    printer.status(format_args!(
        "Created the secret store in {} (age, {})",
        home.secrets_dir().display(),
        if outcome.protected {
            "passphrase-protected"
        } else {
            "no passphrase"
        }
    ));
    printer.data(format_args!("recipient {}", outcome.recipient));
    Ok(Exit::Ok)
}

fn set(
    context: &mut Context,
    store: &dyn SecretStore,
    name: &str,
    printer: &Printer,
) -> anyhow::Result<Exit> {
    secrets::check_name(name)?;
    let replaced = store.list()?.iter().any(|existing| existing == name);
    let value = read_value(name)?;
    // The record is durable before the store changes.
    context.record(
        context
            .event("secrets.set")
            .data(json!({"name": name, "replaced": replaced})),
    )?;
    store.set(name, value)?;
    printer.json(&json!({"name": name, "replaced": replaced}));
    printer.status(format_args!(
        "{} secret `{name}`",
        if replaced { "Replaced" } else { "Stored" }
    ));
    Ok(Exit::Ok)
}

fn get(
    context: &mut Context,
    store: &dyn SecretStore,
    name: &str,
    reveal: bool,
    printer: &Printer,
) -> anyhow::Result<Exit> {
    secrets::check_name(name)?;
    let updated = info(store, name)?.and_then(|info| info.updated);
    let Some(value) = store.get(name)? else {
        context.record(
            context
                .event("secrets.get")
                .decision("missing")
                .data(json!({"name": name, "revealed": false})),
        )?;
        return Err(missing(name));
    };
    let updated = updated.map(|time| time.to_string());
    // Recorded before anything is printed: a reveal that cannot be audited does not happen.
    context.record(
        context
            .event("secrets.get")
            .data(json!({"name": name, "revealed": reveal})),
    )?;
    if reveal {
        printer.json(&json!({"name": name, "updated": updated, "value": value.expose_secret()}));
        printer.verbatim(value.expose_secret());
    } else {
        printer.json(&json!({"name": name, "updated": updated, "revealed": false}));
        printer.data(format_args!(
            "secret `{name}` exists, updated {}",
            updated.as_deref().unwrap_or("at an unknown time")
        ));
        printer.status("pass `--reveal` to print its value");
    }
    Ok(Exit::Ok)
}

fn list(context: &mut Context, store: &dyn SecretStore, printer: &Printer) -> anyhow::Result<Exit> {
    let secrets = store.list_info()?;
    context.record(context.event("secrets.list").data(json!({
        "backend": store.backend(),
        "count": secrets.len(),
    })))?;
    let rows: Vec<_> = secrets
        .iter()
        .map(|info| json!({"name": info.name, "updated": info.updated.map(|t| t.to_string())}))
        .collect();
    printer.json(&rows);
    if secrets.is_empty() {
        printer.status("no secrets (add one with `aegisclaw secrets set NAME`)");
    }
    let width = secrets
        .iter()
        .map(|info| info.name.len())
        .max()
        .unwrap_or(0);
    for info in &secrets {
        let updated = info.updated.map(|time| time.to_string());
        printer.data(format_args!(
            "{:<width$}  updated {}",
            info.name,
            updated.as_deref().unwrap_or("-")
        ));
    }
    Ok(Exit::Ok)
}

fn delete(
    context: &mut Context,
    store: &dyn SecretStore,
    name: &str,
    printer: &Printer,
) -> anyhow::Result<Exit> {
    secrets::check_name(name)?;
    if info(store, name)?.is_none() {
        context.record(
            context
                .event("secrets.delete")
                .decision("missing")
                .data(json!({"name": name})),
        )?;
        return Err(missing(name));
    }
    // The record is durable before the store changes.
    context.record(context.event("secrets.delete").data(json!({"name": name})))?;
    store.delete(name)?;
    printer.json(&json!({"name": name, "deleted": true}));
    printer.status(format_args!("Deleted secret `{name}`"));
    Ok(Exit::Ok)
}

fn rotate(
    context: &mut Context,
    store: &dyn SecretStore,
    name: &str,
    printer: &Printer,
) -> anyhow::Result<Exit> {
    secrets::check_name(name)?;
    let Some(previous) = info(store, name)? else {
        context.record(
            context
                .event("secrets.rotate")
                .decision("missing")
                .data(json!({"name": name})),
        )?;
        return Err(missing(name));
    };
    let value = read_value(name)?;
    if store
        .get(name)?
        .is_some_and(|old| old.expose_secret() == value.expose_secret())
    {
        anyhow::bail!("the new value of secret `{name}` is the same as the current one");
    }
    let previous_updated = previous.updated.map(|time| time.to_string());
    // The record is durable before the store changes.
    context.record(context.event("secrets.rotate").data(json!({
        "name": name,
        "previous_updated": previous_updated,
    })))?;
    store.rotate(name, value).map_err(refusal)?;
    printer.json(&json!({"name": name, "rotated": true, "previous_updated": previous_updated}));
    printer.status(format_args!("Rotated secret `{name}`"));
    Ok(Exit::Ok)
}

fn info(store: &dyn SecretStore, name: &str) -> anyhow::Result<Option<SecretInfo>> {
    Ok(store
        .list_info()?
        .into_iter()
        .find(|info| info.name == name))
}

fn missing(name: &str) -> anyhow::Error {
    refusal(SecretsError::NotFound {
        name: name.to_string(),
    })
}

/// Refusals exit 1: a wrong passphrase, a missing secret, an existing store. Anything else
/// keeps its cause chain and exits 2.
fn refusal(error: SecretsError) -> anyhow::Error {
    match error {
        SecretsError::WrongPassphrase { .. }
        | SecretsError::NotFound { .. }
        | SecretsError::AlreadyInitialised { .. } => Refusal(error.to_string()).into(),
        error => error.into(),
    }
}

/// The passphrase of an existing protected store: `AEGISCLAW_SECRETS_PASSPHRASE`, else a
/// hidden prompt in a terminal, else `Locked`.
pub(crate) fn existing_passphrase(identity: &Path) -> Result<SecretString, SecretsError> {
    if let Some(text) = env::get_string(env::AEGISCLAW_SECRETS_PASSPHRASE) {
        return Ok(SecretString::from(text));
    }
    if !std::io::stdin().is_terminal() {
        return Err(SecretsError::Locked {
            path: identity.to_path_buf(),
        });
    }
    Password::new("Passphrase of the secret store:")
        .with_display_mode(PasswordDisplayMode::Hidden)
        .without_confirmation()
        .prompt()
        .map(SecretString::from)
        .map_err(|error| SecretsError::Prompt {
            path: identity.to_path_buf(),
            source: std::io::Error::other(error.to_string()),
        })
}

/// A new passphrase: `AEGISCLAW_SECRETS_PASSPHRASE`, else asked twice in a terminal, else one
/// line of stdin.
fn new_passphrase(identity: &Path) -> anyhow::Result<SecretString> {
    if let Some(text) = env::get_string(env::AEGISCLAW_SECRETS_PASSPHRASE) {
        return Ok(SecretString::from(text));
    }
    if std::io::stdin().is_terminal() {
        let text = Password::new("Passphrase for the secret store:")
            .with_display_mode(PasswordDisplayMode::Hidden)
            .with_custom_confirmation_message("Passphrase again:")
            .with_custom_confirmation_error_message("the passphrases differ")
            .prompt()
            .context("could not read the passphrase")?;
        return Ok(SecretString::from(text));
    }
    let mut line = Zeroizing::new(String::new());
    std::io::stdin()
        .read_line(&mut line)
        .with_context(|| format!("could not read the passphrase for `{}`", identity.display()))?;
    Ok(SecretString::from(strip_newline(&line).to_string()))
}

/// A secret value: all of stdin (one trailing newline removed) when it is not a terminal,
/// else a hidden prompt asked twice.
fn read_value(name: &str) -> anyhow::Result<SecretString> {
    let value = if std::io::stdin().is_terminal() {
        let prompt = format!("Value of {name}:");
        let text = Password::new(&prompt)
            .with_display_mode(PasswordDisplayMode::Hidden)
            .with_custom_confirmation_message("Value again:")
            .with_custom_confirmation_error_message("the values differ")
            .prompt()
            .with_context(|| format!("could not read the value of secret `{name}`"))?;
        SecretString::from(text)
    } else {
        // Read one byte past the limit (plus a possible `\r\n`) so an oversized value is
        // reported instead of silently cut. The buffer never grows, so no copy of the value is
        // left behind unzeroed by a reallocation.
        let limit = MAX_VALUE_BYTES + 3;
        let mut bytes = Zeroizing::new(Vec::with_capacity(limit));
        std::io::stdin()
            .lock()
            .take(limit as u64)
            .read_to_end(&mut bytes)
            .with_context(|| format!("could not read the value of secret `{name}` from stdin"))?;
        if bytes.len() == limit {
            return Err(SecretsError::ValueTooLarge {
                name: name.to_string(),
                max: MAX_VALUE_BYTES,
            }
            .into());
        }
        let text = match String::from_utf8(std::mem::take(&mut *bytes)) {
            Ok(text) => Zeroizing::new(text),
            Err(error) => {
                error.into_bytes().zeroize();
                anyhow::bail!("the value of secret `{name}` is not UTF-8 text");
            }
        };
        SecretString::from(strip_newline(&text).to_string())
    };
    secrets::check_value(name, &value)?;
    Ok(value)
}

/// Removes one trailing `\n` (or `\r\n`).
fn strip_newline(text: &str) -> &str {
    text.strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(text)
}
