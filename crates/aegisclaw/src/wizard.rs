//! The interactive questions of `aegisclaw init` (seed §4.2): runtime, policy strictness,
//! secret encryption. Asks only; `commands/init.rs` writes the answers.

use aegisclaw_core::config::{PolicyTemplate, RuntimeKind};
use anyhow::bail;
use inquire::error::InquireError;
use inquire::{Confirm, Password, PasswordDisplayMode, Select};
use std::fmt;

/// One runtime as the wizard offers it.
#[derive(Clone, Debug)]
pub(crate) struct RuntimeChoice {
    pub(crate) runtime: RuntimeKind,
    /// Why it can't be chosen, if it can't.
    pub(crate) unavailable: Option<String>,
}

/// What `init` writes, from the wizard or from flags.
#[derive(Debug)]
pub(crate) struct Answers {
    pub(crate) runtime: RuntimeKind,
    pub(crate) template: PolicyTemplate,
    /// `None`: no secret store. `Some(None)`: an age identity without passphrase.
    pub(crate) secrets: Option<Option<age_passphrase::Passphrase>>,
}

/// A passphrase that never shows in `Debug` output.
pub(crate) mod age_passphrase {
    use std::fmt;

    /// The passphrase text.
    pub(crate) struct Passphrase(pub(crate) String);

    impl fmt::Debug for Passphrase {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("Passphrase(..)")
        }
    }
}

struct Labeled<T> {
    value: T,
    label: String,
}

impl<T> fmt::Display for Labeled<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.label)
    }
}

/// Answers already given by flags; the wizard skips those questions.
#[derive(Debug, Default)]
pub(crate) struct Preset {
    pub(crate) runtime: Option<RuntimeKind>,
    pub(crate) template: Option<PolicyTemplate>,
    pub(crate) encrypt: Option<bool>,
    pub(crate) passphrase: Option<age_passphrase::Passphrase>,
}

/// Asks the questions flags did not answer. Errors if a prompt is cancelled (Esc or Ctrl-C):
/// nothing is written.
pub(crate) fn ask(runtimes: &[RuntimeChoice], preset: Preset) -> anyhow::Result<Answers> {
    let usable: Vec<Labeled<RuntimeKind>> = runtimes
        .iter()
        .filter(|choice| choice.unavailable.is_none())
        .map(|choice| Labeled {
            value: choice.runtime,
            label: runtime_label(choice.runtime),
        })
        .collect();
    if usable.is_empty() {
        bail!("no usable sandbox runtime on this machine: run `aegisclaw doctor` to see why");
    }
    let missing: Vec<String> = runtimes
        .iter()
        .filter_map(|choice| {
            choice
                .unavailable
                .as_ref()
                .map(|why| format!("{}: {why}", choice.runtime))
        })
        .collect();
    let help = format!("not offered: {}", missing.join("; "));
    let runtime = match preset.runtime {
        Some(runtime) => runtime,
        None => {
            Select::new("Default sandbox runtime?", usable)
                .with_help_message(&help)
                .prompt()
                .map_err(cancelled)?
                .value
        }
    };

    let templates = vec![
        Labeled {
            value: PolicyTemplate::Standard,
            label: "Standard (allow known-safe, approve high-risk)".into(),
        },
        Labeled {
            value: PolicyTemplate::Strict,
            label: "Strict (deny-by-default, approve everything)".into(),
        },
        Labeled {
            value: PolicyTemplate::Permissive,
            label: "Permissive (allow most, log everything)".into(),
        },
    ];
    let template = match preset.template {
        Some(template) => template,
        None => {
            Select::new("Policy strictness?", templates)
                .prompt()
                .map_err(cancelled)?
                .value
        }
    };

    let encrypt = match preset.encrypt {
        Some(encrypt) => encrypt,
        None => {
            Select::new(
                "Enable secret encryption?",
                vec![
                    Labeled {
                        value: true,
                        label: "Yes (recommended): an age-encrypted store in the home".into(),
                    },
                    Labeled {
                        value: false,
                        label: "No (skills cannot receive secrets until `aegisclaw secrets init`)"
                            .into(),
                    },
                ],
            )
            .prompt()
            .map_err(cancelled)?
            .value
        }
    };
    let secrets = if !encrypt {
        None
    } else if preset.passphrase.is_some() {
        Some(preset.passphrase)
    } else {
        let protect = Confirm::new("Protect the secret store's key with a passphrase?")
            .with_default(false)
            .with_help_message("you will type it whenever a secret is read or written")
            .prompt()
            .map_err(cancelled)?;
        let passphrase = if protect {
            Some(ask_passphrase()?)
        } else {
            None
        };
        Some(passphrase)
    };
    Ok(Answers {
        runtime,
        template,
        secrets,
    })
}

/// Asks for a new passphrase twice, hidden.
pub(crate) fn ask_passphrase() -> anyhow::Result<age_passphrase::Passphrase> {
    let text = Password::new("Passphrase:")
        .with_display_mode(PasswordDisplayMode::Hidden)
        .with_custom_confirmation_message("Passphrase again:")
        .with_custom_confirmation_error_message("the passphrases differ")
        .with_validator(|text: &str| {
            Ok(if text.chars().count() >= 8 {
                inquire::validator::Validation::Valid
            } else {
                inquire::validator::Validation::Invalid("use at least 8 characters".into())
            })
        })
        .prompt()
        .map_err(cancelled)?;
    Ok(age_passphrase::Passphrase(text))
}

fn runtime_label(runtime: RuntimeKind) -> String {
    match runtime {
        RuntimeKind::Native => {
            "native (namespaces, Landlock, seccomp; no daemon) — recommended".into()
        }
        other => other.to_string(),
    }
}

fn cancelled(error: InquireError) -> anyhow::Error {
    match error {
        InquireError::OperationCanceled | InquireError::OperationInterrupted => {
            anyhow::anyhow!("init cancelled: nothing was written")
        }
        InquireError::NotTTY => {
            anyhow::anyhow!(
                "init needs a terminal for its questions: pass `--defaults` and flags instead"
            )
        }
        other => anyhow::Error::new(other).context("the init wizard failed"),
    }
}
