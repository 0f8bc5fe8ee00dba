//! The tamper-evident audit log of DESIGN §6: hash-chained records in `audit/audit.jsonl`,
//! signed checkpoints in `audit/checkpoints.jsonl`, verification and queries.
//! Does not decide what gets recorded (callers build `Event`s) and never rewrites a record.
//!
//! Each line is the RFC 8785 canonical JSON of one [`Record`];
//! `hash = sha256(prev_raw_32_bytes || canonical_json(record without "hash"))`, and the first
//! record's `prev` is 64 zeros. Because every line must equal its canonical form, any one-byte
//! change is detected by [`verify()`]; signed [`Checkpoint`]s also reveal a truncated tail.

pub mod chain;
pub mod checkpoint;
pub mod query;
pub mod record;
pub mod verify;

pub use chain::{AuditLog, DEFAULT_CHECKPOINT_EVERY, Durable};
pub use checkpoint::Checkpoint;
pub use query::{Filter, Follower, Records, last_of_kinds, read_record_at, read_records};
pub use record::{Event, GENESIS_HASH, Record};
pub use verify::{Problem, ProblemKind, VerifyReport, verify};

use crate::canonical::CanonicalError;
use std::path::{Path, PathBuf};

/// Errors from writing, reading and following the audit log. Tampering found by [`verify()`] is
/// not an error: it is reported as a [`Problem`].
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// A file operation failed.
    #[error("cannot {action} `{path}`")]
    Io {
        /// What was being done, such as `open` or `fsync`.
        action: &'static str,
        /// The file or directory at fault.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The directory that should hold an audit file does not exist.
    #[error("directory `{path}` does not exist: create the home first with `aegisclaw init`")]
    MissingDirectory {
        /// The missing directory.
        path: PathBuf,
    },
    /// An event whose `data` is not a JSON object.
    #[error("event `{kind}` has `data` that is not a JSON object")]
    DataNotObject {
        /// The event kind.
        kind: String,
    },
    /// The last complete line of the log cannot be chained onto.
    #[error("last record of `{path}` is unreadable ({detail}): run `aegisclaw logs verify`")]
    CorruptTail {
        /// The log file.
        path: PathBuf,
        /// What is wrong with the line.
        detail: String,
    },
    /// A line that is not an audit record, met while reading or following the log.
    #[error("malformed record at byte `{offset}` of `{path}`: {detail}")]
    MalformedRecord {
        /// The log file.
        path: PathBuf,
        /// Byte offset where the line starts.
        offset: u64,
        /// What is wrong with the line.
        detail: String,
    },
    /// The log got shorter while it was being followed, which appends never do.
    #[error("`{path}` shrank from `{offset}` to `{len}` bytes while being followed")]
    Shrunk {
        /// The log file.
        path: PathBuf,
        /// How far the follower had read.
        offset: u64,
        /// The file's new length.
        len: u64,
    },
    /// A value with no canonical JSON form.
    #[error(transparent)]
    Canonical(#[from] CanonicalError),
}

/// Builds a mapper from an io error to [`AuditError::Io`] naming `path`.
fn io_error<'a>(
    action: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> AuditError + 'a {
    move |source| AuditError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// Opens a log or checkpoint file for reading only: never blocking on the open and never
/// following a link at the path, and refused unless it is a regular file (a FIFO put there
/// would hang every reader). `Ok(None)` if nothing is there.
fn open_for_reading(path: &Path) -> Result<Option<std::fs::File>, AuditError> {
    use fs_err::os::unix::fs::OpenOptionsExt as _;
    let file = match fs_err::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .open(path)
    {
        Ok(file) => file.into_file(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(io_error("open", path)(error)),
    };
    require_regular(&file, path)?;
    Ok(Some(file))
}

/// Fails unless `file` (opened at `path`) is a regular file.
fn require_regular(file: &std::fs::File, path: &Path) -> Result<(), AuditError> {
    let meta = file.metadata().map_err(io_error("inspect", path))?;
    if meta.is_file() {
        Ok(())
    } else {
        Err(io_error("use", path)(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        )))
    }
}

/// Fails with [`AuditError::MissingDirectory`] unless `path`'s parent directory exists.
fn require_parent(path: &Path) -> Result<(), AuditError> {
    let parent = parent_dir(path);
    if parent.is_dir() {
        Ok(())
    } else {
        Err(AuditError::MissingDirectory {
            path: parent.to_path_buf(),
        })
    }
}

/// The directory holding `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Fsyncs the directory holding `path`, so a newly created file's name is durable.
fn sync_parent(path: &Path) -> Result<(), AuditError> {
    let dir = parent_dir(path);
    fs_err::File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(io_error("fsync directory", dir))
}
