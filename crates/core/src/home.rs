//! The AegisClaw home (DESIGN §2): where each file lives, creating the layout with 0700/0600
//! permissions, and atomic writes. Does not interpret file contents.

use crate::env;
use fs_err as fs;
use fs_err::os::unix::fs::OpenOptionsExt as _;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
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
    /// A file was refused before it was read: not a regular file, or larger than its kind
    /// may be (a FIFO would hang every command, a huge file exhaust memory).
    #[error("refusing to read `{path}`")]
    Unusable {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        problem: FileProblem,
    },
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

    /// Whether the home looks initialised: something is at its config file's path (what is
    /// there is checked when it is read, so a FIFO or a link there is reported, not taken
    /// for a missing home).
    pub fn exists(&self) -> bool {
        std::fs::symlink_metadata(self.config_file()).is_ok()
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

/// Temporary names tried beside a file before giving up.
const TEMP_TRIES: usize = 16;

/// A temp file (mode 0600) beside `path`, renamed over it; with `durable`, the file and then
/// the directory are fsynced around the rename.
fn replace_through_temp(path: &Path, bytes: &[u8], durable: bool) -> Result<(), HomeError> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let file_name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Unique among this process's writes (a counter) and other processes' (the pid); a
    // leftover of a dead process whose pid was reused makes `create_new` fail, and the next
    // name is tried: never a silent overwrite, and no random number to draw per write.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let pid = std::process::id();
    let name = || {
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        dir.join(format!(".{file_name}.{pid}-{n}.tmp"))
    };
    let mut temp = name();
    let mut file = None;
    for _ in 0..TEMP_TRIES {
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)
        {
            Ok(opened) => {
                file = Some(opened);
                break;
            }
            Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => temp = name(),
            Err(error) => return Err(error.into()),
        }
    }
    let Some(mut file) = file else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::AlreadyExists,
            format!("no free temporary name beside `{}`", path.display()),
        )
        .into());
    };
    let result = (|| -> Result<(), HomeError> {
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

/// What a file read through [`read_file`] holds: each kind has its own size limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// `config.yaml` (the parser's own limit is lower still).
    Config,
    /// A Rego policy.
    Policy,
    /// A key file (`keys/*`, `trust/*.pub`).
    Key,
    /// `approvals/grants.json`.
    Grants,
    /// `state/lockdown.json`.
    Lockdown,
    /// A run registry entry (`<run id>.json`).
    RunEntry,
    /// A derived cache under `state/` (`config-parsed`, `policy-validated`).
    Cache,
    /// The secret store's identity file.
    SecretsIdentity,
    /// The encrypted secret store.
    SecretsStore,
    /// An installed skill's manifest.
    Manifest,
}

impl FileKind {
    /// The largest file of this kind that is read.
    pub fn limit(self) -> u64 {
        const KIB: u64 = 1024;
        match self {
            FileKind::Config | FileKind::Policy | FileKind::Manifest => 1024 * KIB,
            FileKind::Key | FileKind::Lockdown | FileKind::RunEntry | FileKind::SecretsIdentity => {
                64 * KIB
            }
            FileKind::Cache => 1024 * KIB,
            FileKind::Grants => 16 * 1024 * KIB,
            FileKind::SecretsStore => 64 * 1024 * KIB,
        }
    }

    /// What the file is, in messages (`a lockdown state`).
    pub fn describe(self) -> &'static str {
        match self {
            FileKind::Config => "a config file",
            FileKind::Policy => "a policy",
            FileKind::Key => "a key file",
            FileKind::Grants => "the approval grants",
            FileKind::Lockdown => "the lockdown state",
            FileKind::RunEntry => "a run registry entry",
            FileKind::Cache => "a cache file",
            FileKind::SecretsIdentity => "the secret store's identity",
            FileKind::SecretsStore => "the secret store",
            FileKind::Manifest => "a skill manifest",
        }
    }

    /// Whether the file is something a person writes and passes in (a bad one is bad input,
    /// exit 2) rather than state AegisClaw keeps (a bad one is an unusable home, exit 3).
    pub fn is_input(self) -> bool {
        matches!(
            self,
            FileKind::Config | FileKind::Policy | FileKind::Manifest
        )
    }
}

/// Why [`read_file`] refused a file.
#[derive(Debug, thiserror::Error)]
pub enum FileProblem {
    /// Something other than a regular file is at the path.
    #[error("it is {found}, and {} must be a regular file", kind.describe())]
    NotRegular {
        /// What is there (`a FIFO`, `a directory`, `a symbolic link`...).
        found: &'static str,
        /// What the file should be.
        kind: FileKind,
    },
    /// The file is larger than its kind may be.
    #[error("it is {size} bytes or more, and {} may hold at most {}", kind.describe(), kind.limit())]
    TooLarge {
        /// Its size (at least this much was there).
        size: u64,
        /// What the file should be.
        kind: FileKind,
    },
}

impl FileProblem {
    /// The kind of file refused.
    pub fn kind(&self) -> FileKind {
        match self {
            FileProblem::NotRegular { kind, .. } | FileProblem::TooLarge { kind, .. } => *kind,
        }
    }
}

/// Whether a symbolic link at the path itself is followed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Follow {
    /// Never: a file the home layout places (a link there is refused).
    No,
    /// Yes: a path a person gave (`policy use ./mine.rego`).
    Yes,
}

/// Reads a state, config, policy or key file: opened without following a final symlink (with
/// [`Follow::No`]) and without blocking (a FIFO never hangs the open), refused unless it is a
/// regular file no larger than `kind` allows, and read no further than that limit even if it
/// grows meanwhile. Every error names the file; a missing file is an `Io` error of kind
/// `NotFound` (see [`is_missing`]).
pub fn read_file(path: &Path, kind: FileKind, follow: Follow) -> Result<Vec<u8>, HomeError> {
    use std::io::Read as _;
    let unusable = |problem| HomeError::Unusable {
        path: path.to_path_buf(),
        problem,
    };
    let mut flags = libc::O_NONBLOCK | libc::O_CLOEXEC;
    if follow == Follow::No {
        flags |= libc::O_NOFOLLOW;
    }
    // std's open keeps the OS error number (ELOOP) that fs_err's wrapper hides; the error
    // below names the file itself.
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
    {
        Ok(file) => fs::File::from_parts(file, path),
        Err(error) if error.raw_os_error() == Some(libc::ELOOP) && follow == Follow::No => {
            return Err(unusable(FileProblem::NotRegular {
                found: "a symbolic link",
                kind,
            }));
        }
        Err(error) => {
            return Err(HomeError::Io(std::io::Error::new(
                error.kind(),
                format!("failed to open file `{}`: {error}", path.display()),
            )));
        }
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(unusable(FileProblem::NotRegular {
            found: file_type_name(&meta.file_type()),
            kind,
        }));
    }
    let limit = kind.limit();
    if meta.len() > limit {
        return Err(unusable(FileProblem::TooLarge {
            size: meta.len(),
            kind,
        }));
    }
    let mut bytes = Vec::new();
    file.take(limit + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(unusable(FileProblem::TooLarge {
            size: bytes.len() as u64,
            kind,
        }));
    }
    Ok(bytes)
}

/// [`read_file`] as UTF-8 text; invalid UTF-8 is an error naming the file.
pub fn read_file_text(path: &Path, kind: FileKind, follow: Follow) -> Result<String, HomeError> {
    String::from_utf8(read_file(path, kind, follow)?).map_err(|_| {
        HomeError::Io(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("`{}` is not valid UTF-8", path.display()),
        ))
    })
}

/// Whether `error` says the file does not exist.
pub fn is_missing(error: &HomeError) -> bool {
    matches!(error, HomeError::Io(io) if io.kind() == std::io::ErrorKind::NotFound)
}

fn file_type_name(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt as _;
    if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_socket() {
        "a socket"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
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
        assert_eq!(
            read_file_text(&target, FileKind::Config, Follow::No).unwrap(),
            "second"
        );
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
    fn a_fifo_a_link_a_directory_and_an_oversize_file_are_refused_by_name() {
        let temp = tempfile::tempdir().unwrap();
        let fifo = temp.path().join("lockdown.json");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        // Returns at once: the open does not wait for a writer.
        let error = read_file(&fifo, FileKind::Lockdown, Follow::No).unwrap_err();
        assert_eq!(
            error_chain(&error),
            format!(
                "refusing to read `{}`: it is a FIFO, and the lockdown state must be a regular file",
                fifo.display()
            )
        );
        let big = temp.path().join("grants.json");
        fs::File::create(&big)
            .unwrap()
            .set_len(FileKind::Grants.limit() + 1)
            .unwrap();
        let error = read_file(&big, FileKind::Grants, Follow::No).unwrap_err();
        assert_eq!(
            error_chain(&error),
            format!(
                "refusing to read `{}`: it is 16777217 bytes or more, and the approval grants may hold at most 16777216",
                big.display()
            )
        );
        let link = temp.path().join("config.yaml");
        let target = temp.path().join("real.yaml");
        fs::write(&target, "version: 1\n").unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let error = read_file(&link, FileKind::Config, Follow::No).unwrap_err();
        assert!(
            error_chain(&error)
                .ends_with("it is a symbolic link, and a config file must be a regular file"),
            "{error}"
        );
        assert_eq!(
            read_file_text(&link, FileKind::Config, Follow::Yes).unwrap(),
            "version: 1\n"
        );
        let error = read_file(temp.path(), FileKind::Key, Follow::No).unwrap_err();
        assert!(error_chain(&error).contains("it is a directory"), "{error}");
        let missing = read_file(&temp.path().join("nope"), FileKind::Key, Follow::No);
        assert!(is_missing(&missing.unwrap_err()));
    }

    fn error_chain(error: &dyn std::error::Error) -> String {
        let mut text = error.to_string();
        let mut source = error.source();
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }

    #[test]
    fn read_errors_name_the_file() {
        let error = read_file_text(
            Path::new("/nonexistent/aegisclaw/config.yaml"),
            FileKind::Config,
            Follow::No,
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("/nonexistent/aegisclaw/config.yaml")
        );
    }
}
