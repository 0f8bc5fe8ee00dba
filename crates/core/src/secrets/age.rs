//! The age backend: `secrets/identity` (an X25519 identity, optionally sealed with an scrypt
//! passphrase) and `secrets/store.age` (canonical JSON encrypted to that identity). Writes are
//! locked and atomic. Touches only the home's `secrets/` directory; never logs or prints.

use super::{SecretInfo, SecretStore, SecretsError, check_name, check_value};
use crate::home::{self, FileKind, Follow, Home};
use crate::timestamp::Timestamp;
use age::secrecy::zeroize::{Zeroize as _, Zeroizing};
use age::secrecy::{ExposeSecret as _, SecretString};
use age::x25519;
use fs_err as fs;
use fs_err::os::unix::fs::OpenOptionsExt as _;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr as _;

/// The backend's name in `config.yaml`.
pub const BACKEND: &str = "age";
/// The first bytes of every binary age file; a protected identity starts with them.
const AGE_HEADER: &[u8] = b"age-encryption.org/v1\n";
/// The fewest characters a new passphrase may have.
pub const MIN_PASSPHRASE_CHARS: usize = 8;
/// The plaintext format version this code reads and writes.
const STORE_VERSION: u64 = 1;

/// What `AgeStore::init` created.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InitOutcome {
    /// The store's public age recipient (`age1…`).
    pub recipient: String,
    /// Whether the identity is sealed with a passphrase.
    pub protected: bool,
}

/// What can be said about a home's age store without its passphrase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StoreStatus {
    /// Whether `secrets/identity` exists.
    pub initialised: bool,
    /// Whether the identity is passphrase-protected.
    pub protected: bool,
    /// How many secrets are stored; `None` when not initialised or protected (counting needs
    /// the passphrase).
    pub secrets: Option<usize>,
}

/// An opened age store. Holds the identity in memory; its `Debug` shows only paths and the
/// public recipient.
pub struct AgeStore {
    identity_file: PathBuf,
    store_file: PathBuf,
    lock_file: PathBuf,
    identity: x25519::Identity,
    recipient: x25519::Recipient,
    protected: bool,
}

impl fmt::Debug for AgeStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AgeStore")
            .field("identity_file", &self.identity_file)
            .field("store_file", &self.store_file)
            .field("recipient", &self.recipient.to_string())
            .field("protected", &self.protected)
            .finish_non_exhaustive()
    }
}

/// The decrypted store: canonical JSON (keys sorted, fields in alphabetical order).
#[derive(Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    secrets: BTreeMap<String, Entry>,
    version: u64,
}

/// One secret. No `Debug`: it holds the value, which is zeroed on drop.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    updated: String,
    value: String,
}

impl Drop for Entry {
    fn drop(&mut self) {
        self.value.zeroize();
    }
}

/// Only the version, read first so a newer format gets a clear error.
#[derive(Deserialize)]
struct VersionProbe {
    version: Option<u64>,
}

impl AgeStore {
    /// `secrets/identity` of `home`.
    pub fn identity_file(home: &Home) -> PathBuf {
        home.secrets_dir().join("identity")
    }

    /// `secrets/store.age` of `home`.
    pub fn store_file(home: &Home) -> PathBuf {
        home.secrets_dir().join("store.age")
    }

    fn lock_file(home: &Home) -> PathBuf {
        home.secrets_dir().join(".lock")
    }

    /// Creates a new identity and an empty store. With a passphrase (at least
    /// `MIN_PASSPHRASE_CHARS` characters), the identity file is the identity encrypted with
    /// age's scrypt mode. Refuses if an identity or store exists.
    pub fn init(
        home: &Home,
        passphrase: Option<SecretString>,
    ) -> Result<InitOutcome, SecretsError> {
        Self::init_with_work_factor(home, passphrase, None)
    }

    fn init_with_work_factor(
        home: &Home,
        passphrase: Option<SecretString>,
        work_factor: Option<u8>,
    ) -> Result<InitOutcome, SecretsError> {
        let identity_file = Self::identity_file(home);
        // 1. The directory and the write lock, so two inits cannot both create an identity.
        home::create_private_dir(&home.secrets_dir())?;
        let _lock = lock(&Self::lock_file(home))?;
        // 2. Refuse to replace anything: a new identity would orphan an existing store.
        for path in [&identity_file, &Self::store_file(home)] {
            if path.exists() {
                return Err(SecretsError::AlreadyInitialised { path: path.clone() });
            }
        }
        // 3. Generate and seal the identity.
        let identity = x25519::Identity::generate();
        let text = Zeroizing::new(format!("{}\n", identity.to_string().expose_secret()));
        let protected = passphrase.is_some();
        let bytes = match passphrase {
            None => Zeroizing::new(text.as_bytes().to_vec()),
            Some(passphrase) => {
                if passphrase.expose_secret().chars().count() < MIN_PASSPHRASE_CHARS {
                    return Err(SecretsError::ShortPassphrase {
                        path: identity_file,
                        min: MIN_PASSPHRASE_CHARS,
                    });
                }
                let mut recipient = age::scrypt::Recipient::new(passphrase);
                if let Some(log_n) = work_factor {
                    recipient.set_work_factor(log_n);
                }
                let sealed = age::Encryptor::with_recipients(std::iter::once(
                    &recipient as &dyn age::Recipient,
                ))
                .and_then(|encryptor| encrypt_with(encryptor, text.as_bytes()))
                .map_err(|source| SecretsError::Encrypt {
                    path: identity_file.clone(),
                    source: Box::new(source),
                })?;
                Zeroizing::new(sealed)
            }
        };
        // 4. Write the identity, then an empty store encrypted to it.
        home::atomic_write(&identity_file, &bytes)?;
        let store = Self::from_identity(home, identity, protected);
        store.write(&Document {
            version: STORE_VERSION,
            ..Document::default()
        })?;
        Ok(InitOutcome {
            recipient: store.recipient(),
            protected,
        })
    }

    /// Opens the store of `home`. `passphrase` is called only when the identity is protected.
    pub fn open(
        home: &Home,
        passphrase: impl FnOnce() -> Result<SecretString, SecretsError>,
    ) -> Result<Self, SecretsError> {
        let path = Self::identity_file(home);
        let bytes = Zeroizing::new(read_identity_file(&path)?);
        let protected = bytes.starts_with(AGE_HEADER);
        let plain = if protected {
            let passphrase = passphrase()?;
            if passphrase.expose_secret().is_empty() {
                return Err(SecretsError::EmptyPassphrase { path });
            }
            let unsealer = age::scrypt::Identity::new(passphrase);
            Zeroizing::new(
                age::decrypt(&unsealer, &bytes).map_err(|source| match source {
                    age::DecryptError::DecryptionFailed | age::DecryptError::NoMatchingKeys => {
                        SecretsError::WrongPassphrase { path: path.clone() }
                    }
                    source => SecretsError::Decrypt {
                        path: path.clone(),
                        source: Box::new(source),
                    },
                })?,
            )
        } else {
            bytes
        };
        let identity = parse_identity(&path, &plain)?;
        Ok(Self::from_identity(home, identity, protected))
    }

    /// Whether `home` has a store, whether it is protected and, when that needs no
    /// passphrase, how many secrets it holds.
    pub fn status(home: &Home) -> Result<StoreStatus, SecretsError> {
        let path = Self::identity_file(home);
        let bytes = match home::read_file(&path, FileKind::SecretsIdentity, Follow::No) {
            Ok(bytes) => Zeroizing::new(bytes),
            Err(error) if home::is_missing(&error) => {
                return Ok(StoreStatus {
                    initialised: false,
                    protected: false,
                    secrets: None,
                });
            }
            Err(error) => return Err(error.into()),
        };
        if bytes.starts_with(AGE_HEADER) {
            return Ok(StoreStatus {
                initialised: true,
                protected: true,
                secrets: None,
            });
        }
        let store = Self::from_identity(home, parse_identity(&path, &bytes)?, false);
        Ok(StoreStatus {
            initialised: true,
            protected: false,
            secrets: Some(store.read()?.secrets.len()),
        })
    }

    /// The public recipient (`age1…`) the store is encrypted to.
    pub fn recipient(&self) -> String {
        self.recipient.to_string()
    }

    /// Whether the identity is passphrase-protected.
    pub fn is_protected(&self) -> bool {
        self.protected
    }

    fn from_identity(home: &Home, identity: x25519::Identity, protected: bool) -> Self {
        Self {
            identity_file: Self::identity_file(home),
            store_file: Self::store_file(home),
            lock_file: Self::lock_file(home),
            recipient: identity.to_public(),
            identity,
            protected,
        }
    }

    /// Decrypts and parses the store; a missing store file is an empty store.
    fn read(&self) -> Result<Document, SecretsError> {
        let path = &self.store_file;
        let ciphertext = match home::read_file(path, FileKind::SecretsStore, Follow::No) {
            Ok(bytes) => bytes,
            Err(error) if home::is_missing(&error) => {
                return Ok(Document {
                    version: STORE_VERSION,
                    ..Document::default()
                });
            }
            Err(error) => return Err(error.into()),
        };
        let plain =
            Zeroizing::new(age::decrypt(&self.identity, &ciphertext).map_err(|source| {
                SecretsError::Decrypt {
                    path: path.clone(),
                    source: Box::new(source),
                }
            })?);
        let parse_error = |error: serde_json::Error| SecretsError::Parse {
            path: path.clone(),
            line: error.line(),
            column: error.column(),
        };
        let probe: VersionProbe = serde_json::from_slice(&plain).map_err(parse_error)?;
        match probe.version {
            Some(STORE_VERSION) => {}
            Some(version) => {
                return Err(SecretsError::UnsupportedVersion {
                    path: path.clone(),
                    version,
                });
            }
            None => return Err(parse_error(serde::de::Error::missing_field("version"))),
        }
        let document: Document = serde_json::from_slice(&plain).map_err(parse_error)?;
        for (name, entry) in &document.secrets {
            let problem = if !super::is_valid_name(name) {
                Some("not a valid secret name")
            } else if Timestamp::parse(&entry.updated).is_err() {
                Some("`updated` is not an RFC 3339 time")
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(SecretsError::InvalidEntry {
                    path: path.clone(),
                    name: name.clone(),
                    problem,
                });
            }
        }
        Ok(document)
    }

    /// Encrypts `document` to the recipient and replaces the store file atomically.
    fn write(&self, document: &Document) -> Result<(), SecretsError> {
        let plain =
            Zeroizing::new(
                serde_json::to_vec(document).map_err(|error| SecretsError::Parse {
                    path: self.store_file.clone(),
                    line: error.line(),
                    column: error.column(),
                })?,
            );
        let ciphertext =
            age::encrypt(&self.recipient, &plain).map_err(|source| SecretsError::Encrypt {
                path: self.store_file.clone(),
                source: Box::new(source),
            })?;
        home::atomic_write(&self.store_file, &ciphertext)?;
        Ok(())
    }

    /// One locked read-modify-write: 1. lock `secrets/.lock`; 2. decrypt the current store;
    /// 3. apply `change`, which returns its result and whether it changed anything; 4. if it
    /// did, encrypt and write atomically; 5. unlock (when the lock file is dropped).
    fn update<T>(
        &self,
        change: impl FnOnce(&mut Document) -> Result<(T, bool), SecretsError>,
    ) -> Result<T, SecretsError> {
        let _lock = lock(&self.lock_file)?;
        let mut document = self.read()?;
        let (result, changed) = change(&mut document)?;
        if changed {
            self.write(&document)?;
        }
        Ok(result)
    }
}

impl SecretStore for AgeStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn list(&self) -> Result<Vec<String>, SecretsError> {
        Ok(self.read()?.secrets.keys().cloned().collect())
    }

    fn list_info(&self) -> Result<Vec<SecretInfo>, SecretsError> {
        Ok(self
            .read()?
            .secrets
            .iter()
            .map(|(name, entry)| SecretInfo {
                name: name.clone(),
                updated: Timestamp::parse(&entry.updated).ok(),
            })
            .collect())
    }

    fn get(&self, name: &str) -> Result<Option<SecretString>, SecretsError> {
        check_name(name)?;
        Ok(self
            .read()?
            .secrets
            .get(name)
            .map(|entry| SecretString::from(entry.value.clone())))
    }

    fn set(&self, name: &str, value: SecretString) -> Result<(), SecretsError> {
        check_name(name)?;
        check_value(name, &value)?;
        self.update(|document| {
            document.secrets.insert(name.to_string(), entry(&value));
            Ok(((), true))
        })
    }

    fn rotate(&self, name: &str, value: SecretString) -> Result<(), SecretsError> {
        check_name(name)?;
        check_value(name, &value)?;
        self.update(|document| match document.secrets.get_mut(name) {
            None => Err(SecretsError::NotFound {
                name: name.to_string(),
            }),
            Some(slot) => {
                *slot = entry(&value);
                Ok(((), true))
            }
        })
    }

    fn delete(&self, name: &str) -> Result<bool, SecretsError> {
        check_name(name)?;
        self.update(|document| {
            let removed = document.secrets.remove(name).is_some();
            Ok((removed, removed))
        })
    }
}

fn entry(value: &SecretString) -> Entry {
    Entry {
        updated: Timestamp::now().to_string(),
        value: value.expose_secret().to_string(),
    }
}

/// Opens (creating, 0600) and exclusively locks `path`; dropping the file unlocks it.
fn lock(path: &Path) -> Result<fs::File, SecretsError> {
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(path)?;
    file.file().lock().map_err(|source| SecretsError::Lock {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(file)
}

fn read_identity_file(path: &Path) -> Result<Vec<u8>, SecretsError> {
    match home::read_file(path, FileKind::SecretsIdentity, Follow::No) {
        Ok(bytes) => Ok(bytes),
        Err(error) if home::is_missing(&error) => Err(SecretsError::NotInitialised {
            path: path.to_path_buf(),
        }),
        Err(error) => Err(error.into()),
    }
}

/// The first line that is neither blank nor a `#` comment, parsed as an X25519 identity.
fn parse_identity(path: &Path, bytes: &[u8]) -> Result<x25519::Identity, SecretsError> {
    let invalid = |problem| SecretsError::InvalidIdentity {
        path: path.to_path_buf(),
        problem,
    };
    let text = std::str::from_utf8(bytes).map_err(|_| invalid("not UTF-8 text"))?;
    let line = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty() && !line.starts_with('#'))
        .ok_or_else(|| invalid("no `AGE-SECRET-KEY-1` line"))?;
    x25519::Identity::from_str(line).map_err(invalid)
}

fn encrypt_with(encryptor: age::Encryptor, plaintext: &[u8]) -> Result<Vec<u8>, age::EncryptError> {
    use std::io::Write as _;
    let mut ciphertext = Vec::with_capacity(plaintext.len() + 256);
    let mut writer = encryptor.wrap_output(&mut ciphertext)?;
    writer.write_all(plaintext)?;
    writer.finish()?;
    Ok(ciphertext)
}

#[cfg(test)]
mod tests;
