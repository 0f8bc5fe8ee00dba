//! The AegisClaw home (DESIGN §2): where each file lives, creating the layout with 0700/0600
//! permissions, and atomic writes. Does not interpret file contents.

use crate::env;
use fs_err as fs;
use fs_err::os::unix::fs::OpenOptionsExt as _;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

/// Directories of the home, created by `ensure_layout`.
pub const DIRECTORIES: &[&str] = &[
    "policies",
    "skills",
    "keys",
    "trust",
    "secrets",
    "audit",
    "approvals",
    "profiles",
    "adapters",
    "state",
];

/// Errors about the home directory and its files. Every variant names its path.
#[derive(Debug, thiserror::Error)]
pub enum HomeError {
    /// Neither `AEGISCLAW_HOME` nor `HOME` is set.
    #[error("cannot find the AegisClaw home: set `AEGISCLAW_HOME` or `HOME`")]
    NoHome,
    /// The home has not been initialised.
    #[error("no AegisClaw home at `{path}`")]
    Missing {
        /// The home root that does not exist.
        path: PathBuf,
    },
    /// A file or directory operation failed; the io error already names the path.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// A file or directory has looser permissions than the home allows.
    #[error("`{path}` has mode {mode:o}; AegisClaw requires {expected:o} or stricter")]
    Permissions {
        /// The path at fault.
        path: PathBuf,
        /// Its current mode bits.
        mode: u32,
        /// The mode AegisClaw writes.
        expected: u32,
    },
}

/// A resolved AegisClaw home directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Home {
    root: PathBuf,
}

impl Home {
    /// Uses `root` as the home (no checks).
    pub fn at(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Resolves the home: `flag` > `AEGISCLAW_HOME` > `$HOME/.aegisclaw`. Relative paths are
    /// made absolute against the current directory.
    pub fn resolve(flag: Option<&Path>) -> Result<Self, HomeError> {
        let root = match flag {
            Some(path) => path.to_path_buf(),
            None => match env::get(env::AEGISCLAW_HOME) {
                Some(path) => PathBuf::from(path),
                None => {
                    PathBuf::from(env::get(env::HOME).ok_or(HomeError::NoHome)?).join(".aegisclaw")
                }
            },
        };
        let root = if root.is_absolute() {
            root
        } else {
            std::env::current_dir()?.join(root)
        };
        Ok(Self { root })
    }

    /// The home root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether the home looks initialised (its config file exists).
    pub fn exists(&self) -> bool {
        self.config_file().is_file()
    }

    /// Fails with `HomeError::Missing` unless the home is initialised.
    pub fn require(&self) -> Result<(), HomeError> {
        if self.exists() {
            Ok(())
        } else {
            Err(HomeError::Missing {
                path: self.root.clone(),
            })
        }
    }

    /// `config.yaml`.
    pub fn config_file(&self) -> PathBuf {
        self.root.join("config.yaml")
    }
    /// `policies/default.rego`, the active policy.
    pub fn default_policy(&self) -> PathBuf {
        self.root.join("policies/default.rego")
    }
    /// `skills/`.
    pub fn skills_dir(&self) -> PathBuf {
        self.root.join("skills")
    }
    /// `keys/signing.key`, this user's skill signing key.
    pub fn signing_key(&self) -> PathBuf {
        self.root.join("keys/signing.key")
    }
    /// `keys/signing.pub`.
    pub fn signing_public_key(&self) -> PathBuf {
        self.root.join("keys/signing.pub")
    }
    /// `keys/audit.key`, the key that signs audit checkpoints.
    pub fn audit_key(&self) -> PathBuf {
        self.root.join("keys/audit.key")
    }
    /// `keys/audit.pub`.
    pub fn audit_public_key(&self) -> PathBuf {
        self.root.join("keys/audit.pub")
    }
    /// `trust/`, one `<key-id>.pub` per trusted publisher.
    pub fn trust_dir(&self) -> PathBuf {
        self.root.join("trust")
    }
    /// `secrets/`.
    pub fn secrets_dir(&self) -> PathBuf {
        self.root.join("secrets")
    }
    /// `audit/audit.jsonl`.
    pub fn audit_log(&self) -> PathBuf {
        self.root.join("audit/audit.jsonl")
    }
    /// `audit/checkpoints.jsonl`.
    pub fn audit_checkpoints(&self) -> PathBuf {
        self.root.join("audit/checkpoints.jsonl")
    }
    /// `approvals/grants.json`.
    pub fn approval_grants(&self) -> PathBuf {
        self.root.join("approvals/grants.json")
    }
    /// `profiles/`.
    pub fn profiles_dir(&self) -> PathBuf {
        self.root.join("profiles")
    }
    /// `adapters/openclaw.yaml`.
    pub fn openclaw_adapter(&self) -> PathBuf {
        self.root.join("adapters/openclaw.yaml")
    }
    /// `state/lockdown.json`.
    pub fn lockdown_state(&self) -> PathBuf {
        self.root.join("state/lockdown.json")
    }
    /// `state/runs/`: one `<run id>.json` per run in flight (the run registry).
    pub fn runs_dir(&self) -> PathBuf {
        self.root.join("state/runs")
    }
    /// `state/config-parsed`: the last `config.yaml` text's parse, keyed by its sha256.
    pub fn config_cache(&self) -> PathBuf {
        self.root.join("state/config-parsed")
    }
    /// `state/policy-validated`: which policy text last passed the full load-time checks.
    pub fn policy_marker(&self) -> PathBuf {
        self.root.join("state/policy-validated")
    }

    /// Creates the root and every directory of the layout with mode 0700; tightens existing ones.
    pub fn ensure_layout(&self) -> Result<(), HomeError> {
        create_private_dir(&self.root)?;
        for name in DIRECTORIES {
            create_private_dir(&self.root.join(name))?;
        }
        Ok(())
    }

    /// Every path in the home whose permissions are looser than 0700 (dirs) or 0600 (files).
    pub fn loose_permissions(&self) -> Result<Vec<HomeError>, HomeError> {
        let mut found = Vec::new();
        let mut stack = vec![self.root.clone()];
        while let Some(dir) = stack.pop() {
            check_mode(&dir, 0o700, &mut found)?;
            for entry in fs::read_dir(&dir)? {
                let entry = entry?;
                let kind = entry.file_type()?;
                if kind.is_dir() {
                    stack.push(entry.path());
                } else if kind.is_file() {
                    check_mode(&entry.path(), 0o600, &mut found)?;
                }
            }
        }
        Ok(found)
    }
}

fn check_mode(path: &Path, expected: u32, found: &mut Vec<HomeError>) -> Result<(), HomeError> {
    let mode = fs::metadata(path)?.permissions().mode() & 0o777;
    if mode & !expected != 0 {
        found.push(HomeError::Permissions {
            path: path.to_path_buf(),
            mode,
            expected,
        });
    }
    Ok(())
}

/// Creates `path` (and parents) with mode 0700, or tightens it to 0700 if it exists.
pub fn create_private_dir(path: &Path) -> Result<(), HomeError> {
    if !path.is_dir() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(path)
            .map_err(|error| {
                std::io::Error::new(
                    error.kind(),
                    format!("failed to create directory `{}`: {error}", path.display()),
                )
            })?;
    }
    fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))?;
    Ok(())
}

/// The key of a derived cache entry under `state/`: the sha256 of this build's version and
/// `parts`, NUL-separated, so an entry only ever matches what this build made it from.
pub fn cache_key(parts: &[&str]) -> String {
    let mut text = format!("aegisclaw {}", env!("CARGO_PKG_VERSION"));
    for part in parts {
        text.push('\0');
        text.push_str(part);
    }
    crate::policy::sha256_hex(text.as_bytes())
}

/// Writes `bytes` to `path` atomically with mode 0600: a temp file in the same directory,
/// fsync, rename over the target, then fsync the directory so the rename is durable.
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<(), HomeError> {
    replace_through_temp(path, bytes, true)
}

/// Writes `bytes` to `path` with mode 0600 through a temp file and a rename, without fsync: for
/// caches, where a crash may lose the file (or leave the old one) but never half of it.
pub fn write_cache(path: &Path, bytes: &[u8]) -> Result<(), HomeError> {
    replace_through_temp(path, bytes, false)
}

/// A temp file (mode 0600) beside `path`, renamed over it; with `durable`, the file and then
/// the directory are fsynced around the rename.
fn replace_through_temp(path: &Path, bytes: &[u8], durable: bool) -> Result<(), HomeError> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut suffix = [0u8; 6];
    // A clash only makes `create_new` fail, which is reported, never a silent overwrite.
    let _ = getrandom::fill(&mut suffix);
    let temp = dir.join(format!(".{file_name}.{}.tmp", hex::encode(suffix)));
    let result = (|| -> Result<(), HomeError> {
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(bytes)?;
        if durable {
            file.sync_all()?;
        }
        drop(file);
        fs::rename(&temp, path)?;
        if durable {
            fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Reads a UTF-8 text file; the error names the file.
pub fn read_text(path: &Path) -> Result<String, HomeError> {
    Ok(fs::read_to_string(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_private_and_writes_are_atomic() {
        let temp = tempfile::tempdir().unwrap();
        let home = Home::at(temp.path().join("home"));
        home.ensure_layout().unwrap();
        let target = home.config_file();
        atomic_write(&target, b"first").unwrap();
        atomic_write(&target, b"second").unwrap();
        assert_eq!(read_text(&target).unwrap(), "second");
        assert!(home.loose_permissions().unwrap().is_empty());
        let leftovers: Vec<_> = fs::read_dir(home.root())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .filter(|name| name.to_string_lossy().ends_with(".tmp"))
            .collect();
        assert!(leftovers.is_empty());
    }

    #[test]
    fn loose_permissions_are_reported_with_the_path() {
        let temp = tempfile::tempdir().unwrap();
        let home = Home::at(temp.path());
        home.ensure_layout().unwrap();
        atomic_write(&home.config_file(), b"x").unwrap();
        fs::set_permissions(home.config_file(), std::fs::Permissions::from_mode(0o644)).unwrap();
        let found = home.loose_permissions().unwrap();
        assert_eq!(found.len(), 1);
        assert!(found[0].to_string().contains("config.yaml"));
    }

    #[test]
    fn read_errors_name_the_file() {
        let error = read_text(Path::new("/nonexistent/aegisclaw/config.yaml")).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("/nonexistent/aegisclaw/config.yaml")
        );
    }
}
