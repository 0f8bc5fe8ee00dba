//! Emergency lockdown, persisted in `state/lockdown.json` so it survives restarts and holds
//! for every process sharing the home. The file names the audit record that set its state,
//! and `check` holds it against that record (and, for the commands that can afford it,
//! against every later lockdown record): anything missing or disagreeing counts as on.
//! Reads and writes the state; does not record audit events or refuse runs itself (the
//! engine does, through [`check`]).

mod check;

pub use check::{
    Disagreement, LIFT_HINT, Seen, State, check, check_against_log, check_seen, refusal_since,
};

use crate::home::{self, Home, HomeError};
use crate::timestamp::{Timestamp, TimestampError};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The version of `state/lockdown.json` this build writes; it also reads version 1, which
/// names no record (and so counts as on until `lockdown on` or `off` rewrites it).
pub const FORMAT_VERSION: u32 = 2;

/// The audit kind that turns lockdown on.
pub const ON_KIND: &str = "lockdown.on";
/// The audit kind that turns lockdown off.
pub const OFF_KIND: &str = "lockdown.off";
/// The audit kind of a new home, whose lockdown state starts off.
pub const INIT_KIND: &str = "home.init";
/// Every kind that sets the lockdown state.
pub const STATE_KINDS: [&str; 3] = [ON_KIND, OFF_KIND, INIT_KIND];

/// Errors reading or writing the lockdown state. Every variant names the file. Whoever gets
/// one of these must treat lockdown as on.
#[derive(Debug, thiserror::Error)]
pub enum LockdownError {
    /// The state file could not be read or written.
    #[error("cannot access lockdown state `{path}`")]
    Io {
        /// The state file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: HomeError,
    },
    /// The state file is not JSON of the expected shape.
    #[error("lockdown state `{path}` is corrupt")]
    Corrupt {
        /// The state file.
        path: PathBuf,
        /// The parse error, with its line and column.
        #[source]
        source: serde_json::Error,
    },
    /// The state file's `since` is not a timestamp.
    #[error("lockdown state `{path}` has an invalid `since`")]
    InvalidSince {
        /// The state file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: TimestampError,
    },
    /// The state file was written by a build with another format.
    #[error(
        "lockdown state `{path}` has version {version}; this build reads versions 1 and {FORMAT_VERSION}"
    )]
    UnsupportedVersion {
        /// The state file.
        path: PathBuf,
        /// The version it declares.
        version: u32,
    },
}

/// The audit record that set a lockdown state: its seq, its hash, and the byte offset of its
/// line in `audit/audit.jsonl`, so one read finds it however long the log is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordRef {
    /// The record's seq.
    pub seq: u64,
    /// Its hash.
    pub hash: String,
    /// Where its line starts in the log.
    pub offset: u64,
}

/// The lockdown state as the state file says it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lockdown {
    /// Whether every run is refused.
    pub on: bool,
    /// When the current state (on or off) was set.
    pub since: Option<Timestamp>,
    /// Why lockdown was turned on (`None` when off or not given).
    pub reason: Option<String>,
    /// Who set the current state (`cli:alice`).
    pub by: Option<String>,
    /// The audit record that set it (`None` in a version 1 file).
    pub record: Option<RecordRef>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LockdownFile {
    version: u32,
    on: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    since: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    record: Option<RecordRef>,
}

/// Reads `state/lockdown.json`: `None` when it does not exist; an unreadable or corrupt file
/// is an error naming the file, never a silent "off". Says nothing about whether the state
/// agrees with the audit log ([`check`] does).
pub fn load(home: &Home) -> Result<Option<Lockdown>, LockdownError> {
    let path = home.lockdown_state();
    if !path.exists() {
        return Ok(None);
    }
    let text = home::read_file_text(&path, home::FileKind::Lockdown, home::Follow::No).map_err(
        |source| LockdownError::Io {
            path: path.clone(),
            source,
        },
    )?;
    let file: LockdownFile =
        serde_json::from_str(&text).map_err(|source| LockdownError::Corrupt {
            path: path.clone(),
            source,
        })?;
    if !(1..=FORMAT_VERSION).contains(&file.version) {
        return Err(LockdownError::UnsupportedVersion {
            path,
            version: file.version,
        });
    }
    let since = file
        .since
        .as_deref()
        .map(Timestamp::parse)
        .transpose()
        .map_err(|source| LockdownError::InvalidSince { path, source })?;
    Ok(Some(Lockdown {
        on: file.on,
        since,
        reason: file.reason,
        by: file.by,
        record: file.record,
    }))
}

/// Writes `state/lockdown.json` (version 2) atomically (0600), creating `state/` if an older
/// home lacks it.
pub fn set(home: &Home, lockdown: &Lockdown) -> Result<(), LockdownError> {
    let path = home.lockdown_state();
    let io = |source| LockdownError::Io {
        path: path.clone(),
        source,
    };
    if let Some(dir) = path.parent() {
        home::create_private_dir(dir).map_err(io)?;
    }
    let file = LockdownFile {
        version: FORMAT_VERSION,
        on: lockdown.on,
        since: lockdown.since.map(|since| since.to_string()),
        reason: lockdown.reason.clone(),
        by: lockdown.by.clone(),
        record: lockdown.record.clone(),
    };
    let mut text =
        serde_json::to_string_pretty(&file).map_err(|source| LockdownError::Corrupt {
            path: path.clone(),
            source,
        })?;
    text.push('\n');
    home::atomic_write(&path, text.as_bytes()).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    pub(super) fn home() -> (tempfile::TempDir, Home) {
        let temp = tempfile::tempdir().unwrap();
        let home = Home::at(temp.path().join("home"));
        home.ensure_layout().unwrap();
        (temp, home)
    }

    #[test]
    fn a_missing_file_is_none() {
        let (_temp, home) = home();
        assert_eq!(load(&home).unwrap(), None);
    }

    #[test]
    fn set_then_load_round_trips() {
        let (_temp, home) = home();
        let lockdown = Lockdown {
            on: true,
            since: Some(Timestamp::parse("2026-11-24T10:00:00.5Z").unwrap()),
            reason: Some("incident 42".into()),
            by: Some("cli:alice".into()),
            record: Some(RecordRef {
                seq: 7,
                hash: "ab".repeat(32),
                offset: 1234,
            }),
        };
        set(&home, &lockdown).unwrap();
        assert_eq!(load(&home).unwrap(), Some(lockdown));
        assert!(home.loose_permissions().unwrap().is_empty());
        let text = fs_err::read_to_string(home.lockdown_state()).unwrap();
        assert!(text.contains("\"version\": 2"), "{text}");
    }

    #[test]
    fn a_version_1_file_reads_with_no_record() {
        let (_temp, home) = home();
        home::atomic_write(
            &home.lockdown_state(),
            br#"{"version":1,"on":true,"since":"2026-11-24T10:00:00Z","by":"cli:bob"}"#,
        )
        .unwrap();
        assert_eq!(
            load(&home).unwrap(),
            Some(Lockdown {
                on: true,
                since: Some(Timestamp::parse("2026-11-24T10:00:00Z").unwrap()),
                reason: None,
                by: Some("cli:bob".into()),
                record: None,
            })
        );
    }

    #[test]
    fn a_corrupt_file_is_an_error_naming_it() {
        let (_temp, home) = home();
        home::atomic_write(&home.lockdown_state(), b"{\"on\": tru").unwrap();
        let error = load(&home).unwrap_err();
        assert!(matches!(error, LockdownError::Corrupt { .. }));
        assert!(error.to_string().contains("state/lockdown.json"), "{error}");

        home::atomic_write(
            &home.lockdown_state(),
            b"{\"version\":1,\"on\":false,\"since\":\"x\"}",
        )
        .unwrap();
        assert!(matches!(
            load(&home).unwrap_err(),
            LockdownError::InvalidSince { .. }
        ));
        home::atomic_write(&home.lockdown_state(), b"{\"version\":3,\"on\":false}").unwrap();
        assert!(matches!(
            load(&home).unwrap_err(),
            LockdownError::UnsupportedVersion { version: 3, .. }
        ));
    }
}
