//! Secret storage behind one object-safe trait (`SecretStore`), its errors and the name grammar.
//! Backends live in child modules (`age`); none of them ever puts a secret value into an error,
//! a `Debug` string or a log line.

pub mod age;
mod name;

/// The secret-holding string types (`SecretString`, `ExposeSecret`, `zeroize`), re-exported so
/// callers need no direct dependency on `age`.
pub use ::age::secrecy;

pub use self::age::{AgeStore, InitOutcome, MIN_PASSPHRASE_CHARS, StoreStatus};
pub use name::{MAX_NAME_LEN, check_name, is_valid_name};

use crate::home::HomeError;
use crate::timestamp::Timestamp;
use ::age::secrecy::SecretString;
use std::path::PathBuf;

/// The largest secret value a store accepts, in bytes.
pub const MAX_VALUE_BYTES: usize = 64 * 1024;

/// One stored secret's metadata (never its value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretInfo {
    /// The secret's name.
    pub name: String,
    /// When the value was last set, if the backend records it.
    pub updated: Option<Timestamp>,
}

/// A place secrets are kept. Every method validates names; values cross it only as
/// `SecretString`, so they are redacted in `Debug` output and zeroed when dropped.
pub trait SecretStore {
    /// The backend's name as written in `config.yaml` (`age`).
    fn backend(&self) -> &'static str;

    /// Every secret name, sorted.
    fn list(&self) -> Result<Vec<String>, SecretsError>;

    /// Every secret's name and last update, sorted by name. Backends without update times
    /// report `None`.
    fn list_info(&self) -> Result<Vec<SecretInfo>, SecretsError> {
        Ok(self
            .list()?
            .into_iter()
            .map(|name| SecretInfo {
                name,
                updated: None,
            })
            .collect())
    }

    /// The value of `name`, or `None` if there is no such secret.
    fn get(&self, name: &str) -> Result<Option<SecretString>, SecretsError>;

    /// Stores `value` under `name`, replacing any previous value.
    fn set(&self, name: &str, value: SecretString) -> Result<(), SecretsError>;

    /// Replaces the value of an existing secret; `SecretsError::NotFound` if there is none.
    /// Backends that can should do the check and the write as one locked step.
    fn rotate(&self, name: &str, value: SecretString) -> Result<(), SecretsError> {
        if self.get(name)?.is_none() {
            return Err(SecretsError::NotFound {
                name: name.to_string(),
            });
        }
        self.set(name, value)
    }

    /// Removes `name`; `false` if there was no such secret.
    fn delete(&self, name: &str) -> Result<bool, SecretsError>;
}

/// Checks a value before it is stored: not empty and at most `MAX_VALUE_BYTES`.
pub fn check_value(name: &str, value: &SecretString) -> Result<(), SecretsError> {
    use ::age::secrecy::ExposeSecret as _;
    let length = value.expose_secret().len();
    if length == 0 {
        return Err(SecretsError::EmptyValue {
            name: name.to_string(),
        });
    }
    if length > MAX_VALUE_BYTES {
        return Err(SecretsError::ValueTooLarge {
            name: name.to_string(),
            max: MAX_VALUE_BYTES,
        });
    }
    if value.expose_secret().contains('\0') {
        return Err(SecretsError::NulInValue {
            name: name.to_string(),
        });
    }
    Ok(())
}

/// Errors of the secret stores. Each names the secret or the file; none holds a value.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// A name outside `[A-Za-z_][A-Za-z0-9_]{0,127}`.
    #[error(
        "invalid secret name `{text}`: use letters, digits and `_`, not starting with a digit, at most 128"
    )]
    InvalidName {
        /// The rejected name.
        text: String,
    },
    /// An empty value was given.
    #[error("the value of secret `{name}` is empty")]
    EmptyValue {
        /// The secret's name.
        name: String,
    },
    /// A value with a NUL byte was given: it cannot be passed in an environment variable.
    #[error(
        "the value of secret `{name}` contains a NUL byte, which no environment variable can hold"
    )]
    NulInValue {
        /// The secret's name.
        name: String,
    },
    /// A value over the size limit was given.
    #[error("the value of secret `{name}` is larger than {max} bytes")]
    ValueTooLarge {
        /// The secret's name.
        name: String,
        /// The limit in bytes.
        max: usize,
    },
    /// There is no secret of that name.
    #[error("no secret `{name}`")]
    NotFound {
        /// The missing name.
        name: String,
    },
    /// The store has no identity yet.
    #[error("no secret store: `{path}` does not exist")]
    NotInitialised {
        /// The identity file that is missing.
        path: PathBuf,
    },
    /// `init` found an existing identity or store.
    #[error("a secret store already exists: `{path}`")]
    AlreadyInitialised {
        /// The file that already exists.
        path: PathBuf,
    },
    /// The identity is passphrase-protected and no passphrase can be asked for.
    #[error(
        "the secret store is passphrase-protected: run in a terminal or set `AEGISCLAW_SECRETS_PASSPHRASE`"
    )]
    Locked {
        /// The protected identity file.
        path: PathBuf,
    },
    /// An empty passphrase was given.
    #[error("the passphrase for `{path}` is empty")]
    EmptyPassphrase {
        /// The identity file it was meant for.
        path: PathBuf,
    },
    /// A new passphrase is too short.
    #[error("the passphrase for `{path}` must have at least {min} characters")]
    ShortPassphrase {
        /// The identity file it was meant for.
        path: PathBuf,
        /// The minimum number of characters.
        min: usize,
    },
    /// The passphrase does not decrypt the identity.
    #[error("wrong passphrase for `{path}`")]
    WrongPassphrase {
        /// The protected identity file.
        path: PathBuf,
    },
    /// Reading the passphrase from a prompt failed.
    #[error("could not read the passphrase for `{path}`")]
    Prompt {
        /// The identity file it was meant for.
        path: PathBuf,
        /// Why the prompt failed.
        #[source]
        source: std::io::Error,
    },
    /// The identity file is not an age identity.
    #[error("invalid age identity in `{path}`: {problem}")]
    InvalidIdentity {
        /// The identity file.
        path: PathBuf,
        /// What is wrong (never key material).
        problem: &'static str,
    },
    /// An age file could not be decrypted.
    #[error("cannot decrypt `{path}`")]
    Decrypt {
        /// The file that failed.
        path: PathBuf,
        /// The age error (it never holds plaintext).
        #[source]
        source: Box<::age::DecryptError>,
    },
    /// Encrypting for a file failed.
    #[error("cannot encrypt `{path}`")]
    Encrypt {
        /// The file being written.
        path: PathBuf,
        /// The age error.
        #[source]
        source: Box<::age::EncryptError>,
    },
    /// The decrypted store is not the expected JSON. Only the position is kept: the JSON
    /// parser's own message can quote the text it saw, which may be a secret value.
    #[error(
        "the decrypted contents of `{path}` are not a valid store (line {line}, column {column})"
    )]
    Parse {
        /// The store file.
        path: PathBuf,
        /// Line of the first problem.
        line: usize,
        /// Column of the first problem.
        column: usize,
    },
    /// The store was written by a newer format.
    #[error("`{path}` has store version {version}; this aegisclaw reads version 1")]
    UnsupportedVersion {
        /// The store file.
        path: PathBuf,
        /// The version found.
        version: u64,
    },
    /// A stored name or timestamp is invalid.
    #[error("`{path}` holds an invalid entry for `{name}`: {problem}")]
    InvalidEntry {
        /// The store file.
        path: PathBuf,
        /// The entry's name.
        name: String,
        /// What is wrong (never the value).
        problem: &'static str,
    },
    /// Taking the store's write lock failed.
    #[error("cannot lock `{path}`")]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// The io error.
        #[source]
        source: std::io::Error,
    },
    /// A file operation failed; the error names the file.
    #[error(transparent)]
    Home(#[from] HomeError),
}

impl From<std::io::Error> for SecretsError {
    fn from(error: std::io::Error) -> Self {
        Self::Home(HomeError::Io(error))
    }
}
