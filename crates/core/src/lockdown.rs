//! Emergency lockdown, persisted in `state/lockdown.json` so it survives restarts and holds
//! for every process sharing the home. Reads and writes the state; does not record audit events
//! or refuse runs itself (the engine and the CLI do, through [`is_active`]).

use crate::home::{self, Home, HomeError};
use crate::timestamp::{Timestamp, TimestampError};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The version of `state/lockdown.json` this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

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
        "lockdown state `{path}` has version {version}; this build reads version {FORMAT_VERSION}"
    )]
    UnsupportedVersion {
        /// The state file.
        path: PathBuf,
        /// The version it declares.
        version: u32,
    },
}

/// The lockdown state. A home without `state/lockdown.json` is off, with no history.
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
}

/// Reads `state/lockdown.json`: a missing file is off; an unreadable or corrupt one is an error
/// naming the file, never a silent "off".
pub fn load(home: &Home) -> Result<Lockdown, LockdownError> {
    let path = home.lockdown_state();
    if !path.exists() {
        return Ok(Lockdown::default());
    }
    let text = home::read_text(&path).map_err(|source| LockdownError::Io {
        path: path.clone(),
        source,
    })?;
    let file: LockdownFile =
        serde_json::from_str(&text).map_err(|source| LockdownError::Corrupt {
            path: path.clone(),
            source,
        })?;
    if file.version != FORMAT_VERSION {
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
    Ok(Lockdown {
        on: file.on,
        since,
        reason: file.reason,
        by: file.by,
    })
}

/// Whether runs must be refused. **Fail closed:** a caller that gets `Err` (the state exists but
/// cannot be read) refuses the run as if lockdown were on, and reports the error.
pub fn is_active(home: &Home) -> Result<bool, LockdownError> {
    Ok(load(home)?.on)
}

/// Writes `state/lockdown.json` atomically (0600), creating `state/` if an older home lacks it.
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

    fn home() -> (tempfile::TempDir, Home) {
        let temp = tempfile::tempdir().unwrap();
        let home = Home::at(temp.path().join("home"));
        home.ensure_layout().unwrap();
        (temp, home)
    }

    #[test]
    fn a_missing_file_is_off() {
        let (_temp, home) = home();
        assert_eq!(load(&home).unwrap(), Lockdown::default());
        assert!(!is_active(&home).unwrap());
    }

    #[test]
    fn set_then_load_round_trips() {
        let (_temp, home) = home();
        let lockdown = Lockdown {
            on: true,
            since: Some(Timestamp::parse("2026-11-24T10:00:00.5Z").unwrap()),
            reason: Some("incident 42".into()),
            by: Some("cli:alice".into()),
        };
        set(&home, &lockdown).unwrap();
        assert_eq!(load(&home).unwrap(), lockdown);
        assert!(is_active(&home).unwrap());
        assert!(home.loose_permissions().unwrap().is_empty());
    }

    #[test]
    fn a_corrupt_file_is_an_error_naming_it() {
        let (_temp, home) = home();
        home::atomic_write(&home.lockdown_state(), b"{\"on\": tru").unwrap();
        let error = is_active(&home).unwrap_err();
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
        home::atomic_write(&home.lockdown_state(), b"{\"version\":2,\"on\":false}").unwrap();
        assert!(matches!(
            load(&home).unwrap_err(),
            LockdownError::UnsupportedVersion { version: 2, .. }
        ));
    }
}
