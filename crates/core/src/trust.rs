//! The trust store: which publisher keys' skill signatures are accepted, kept as
//! `trust/<key-id>.pub` files plus keys built into the binary. Does not verify skills.

use crate::home::{self, HomeError};
use crate::key::{KeyError, PublicKey};
use fs_err as fs;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Extension of a trusted key file.
pub const KEY_EXTENSION: &str = "pub";

/// Errors from reading or changing the trust store. Each names its file or directory.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    /// The trust directory could not be listed or a file could not be read.
    #[error("cannot read trust store `{path}`")]
    Read {
        /// The directory or file.
        path: PathBuf,
        /// The io error.
        source: std::io::Error,
    },
    /// A `*.pub` file does not hold a public key.
    #[error("malformed trusted key `{path}`")]
    Malformed {
        /// The key file.
        path: PathBuf,
        /// Why the key did not parse.
        source: KeyError,
    },
    /// A key file's name is not its key's id, so the file was renamed or edited.
    #[error("trusted key `{path}` holds key `{key_id}`; it must be named `{key_id}.pub`")]
    NameMismatch {
        /// The key file.
        path: PathBuf,
        /// The id of the key inside it.
        key_id: String,
    },
    /// Text that cannot be a key id (`remove` takes ids, never paths).
    #[error("`{key_id}` is not a key id (16 lowercase hex digits)")]
    InvalidKeyId {
        /// The offending text.
        key_id: String,
    },
    /// Writing or removing a key file failed.
    #[error("cannot update trust store `{path}`")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        source: HomeError,
    },
}

/// Where a trusted key came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrustSource {
    /// Built into the binary (the project's own key).
    Builtin,
    /// A `trust/<key-id>.pub` file.
    File,
}

/// A set of trusted publisher keys, indexed by key id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TrustStore {
    keys: BTreeMap<String, (PublicKey, TrustSource)>,
}

impl TrustStore {
    /// An empty store: trusts nobody.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Loads every `*.pub` file of `dir` (usually `Home::trust_dir()`). A missing directory is an
    /// empty store; a malformed or misnamed key file is an error naming it.
    pub fn load(dir: &Path) -> Result<Self, TrustError> {
        let mut store = Self::default();
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(store),
            Err(source) => {
                return Err(TrustError::Read {
                    path: dir.to_path_buf(),
                    source,
                });
            }
        };
        let mut paths = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| TrustError::Read {
                path: dir.to_path_buf(),
                source,
            })?;
            let path = entry.path();
            if path.extension().is_some_and(|ext| ext == KEY_EXTENSION) {
                paths.push(path);
            }
        }
        paths.sort();
        for path in paths {
            let text = home::read_file_text(&path, home::FileKind::Key, home::Follow::No).map_err(
                |error| match error {
                    HomeError::Io(source) => TrustError::Read {
                        path: path.clone(),
                        source,
                    },
                    other => TrustError::Read {
                        path: path.clone(),
                        source: std::io::Error::other(other.to_string()),
                    },
                },
            )?;
            let key = PublicKey::from_text(&text).map_err(|source| TrustError::Malformed {
                path: path.clone(),
                source,
            })?;
            let key_id = key.key_id();
            if path.file_stem().is_none_or(|stem| *stem != *key_id) {
                return Err(TrustError::NameMismatch { path, key_id });
            }
            store.keys.insert(key_id, (key, TrustSource::File));
        }
        Ok(store)
    }

    /// This store plus the keys built into the binary (the project's own publisher key).
    pub fn with_project_keys(self) -> Self {
        self.with_builtin(project_keys())
    }

    /// This store plus `keys` trusted as built in (a file for the same key keeps `File`).
    pub fn with_builtin(mut self, keys: impl IntoIterator<Item = PublicKey>) -> Self {
        for key in keys {
            self.keys
                .entry(key.key_id())
                .or_insert((key, TrustSource::Builtin));
        }
        self
    }

    /// Trusts `key` by writing `dir/<key-id>.pub` atomically (0600). Returns whether it is new.
    pub fn add(dir: &Path, key: &PublicKey) -> Result<bool, TrustError> {
        let path = dir.join(format!("{}.{KEY_EXTENSION}", key.key_id()));
        // An existing file with this very key means nothing to do; anything else is rewritten.
        if let Ok(text) = home::read_file_text(&path, home::FileKind::Key, home::Follow::No)
            && PublicKey::from_text(&text).ok().as_ref() == Some(key)
        {
            return Ok(false);
        }
        let write = |source| TrustError::Write {
            path: path.clone(),
            source,
        };
        home::create_private_dir(dir).map_err(write)?;
        home::atomic_write(&path, format!("{}\n", key.to_text()).as_bytes()).map_err(write)?;
        Ok(true)
    }

    /// Stops trusting `key_id` by removing its file. Returns whether a file was removed.
    pub fn remove(dir: &Path, key_id: &str) -> Result<bool, TrustError> {
        if !(key_id.len() == 16
            && key_id
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        {
            return Err(TrustError::InvalidKeyId {
                key_id: key_id.to_string(),
            });
        }
        let path = dir.join(format!("{key_id}.{KEY_EXTENSION}"));
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(error) => Err(TrustError::Write {
                path,
                source: HomeError::Io(error),
            }),
        }
    }

    /// Every trusted key with its id and source, ordered by id.
    pub fn keys(&self) -> impl Iterator<Item = (&str, &PublicKey, TrustSource)> {
        self.keys
            .iter()
            .map(|(id, (key, source))| (id.as_str(), key, *source))
    }

    /// The trusted key with this id.
    pub fn get(&self, key_id: &str) -> Option<&PublicKey> {
        self.keys.get(key_id).map(|(key, _)| key)
    }

    /// Number of trusted keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is trusted.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// The project's publisher keys, built into the binary so the bundled starter skills verify on
/// a fresh home. The private half never enters the repository.
pub fn project_keys() -> Vec<PublicKey> {
    // Checked by a unit test; a malformed embedded key would simply trust nothing.
    PublicKey::from_text(include_str!("../data/project-key.pub"))
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_project_key_is_embedded_and_valid() {
        let keys = super::project_keys();
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].key_id().len(), 16);
    }

    use super::*;
    use crate::key::SigningKey;
    use pretty_assertions::assert_eq;

    #[test]
    fn add_load_remove_round_trip() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join("trust");
        assert!(TrustStore::load(&dir).unwrap().is_empty());
        let key = SigningKey::from_seed([3; 32]).public();
        assert!(TrustStore::add(&dir, &key).unwrap());
        assert!(!TrustStore::add(&dir, &key).unwrap());
        let store = TrustStore::load(&dir).unwrap();
        assert_eq!(store.get(&key.key_id()), Some(&key));
        assert_eq!(
            store
                .keys()
                .map(|(id, _, source)| (id.to_string(), source))
                .collect::<Vec<_>>(),
            vec![(key.key_id(), TrustSource::File)]
        );
        use std::os::unix::fs::PermissionsExt as _;
        let file = dir.join(format!("{}.pub", key.key_id()));
        assert_eq!(
            fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert!(TrustStore::remove(&dir, &key.key_id()).unwrap());
        assert!(!TrustStore::remove(&dir, &key.key_id()).unwrap());
        assert!(TrustStore::load(&dir).unwrap().is_empty());
        assert!(matches!(
            TrustStore::remove(&dir, "../etc/passwd"),
            Err(TrustError::InvalidKeyId { .. })
        ));
    }

    #[test]
    fn malformed_and_misnamed_files_are_errors_naming_them() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path();
        fs::write(dir.join("junk.pub"), "not a key").unwrap();
        let error = TrustStore::load(dir).unwrap_err();
        assert!(matches!(error, TrustError::Malformed { .. }));
        assert!(error.to_string().contains("junk.pub"), "{error}");
        fs::remove_file(dir.join("junk.pub")).unwrap();
        let key = SigningKey::from_seed([4; 32]).public();
        fs::write(dir.join("0000000000000000.pub"), key.to_text()).unwrap();
        let error = TrustStore::load(dir).unwrap_err();
        assert!(
            matches!(&error, TrustError::NameMismatch { key_id, .. } if *key_id == key.key_id())
        );
        assert!(
            error.to_string().contains("0000000000000000.pub"),
            "{error}"
        );
    }

    #[test]
    fn builtin_keys_are_trusted_without_files() {
        let key = SigningKey::from_seed([5; 32]).public();
        let store = TrustStore::empty().with_builtin([key]);
        assert_eq!(store.get(&key.key_id()), Some(&key));
        assert_eq!(
            store.keys().next().map(|(_, _, s)| s),
            Some(TrustSource::Builtin)
        );
        assert_eq!(store.len(), 1);
    }
}
