//! Persistent "always" approval grants (`approvals/grants.json`): a human's answer to a
//! `needs_approval` decision, remembered for one skill, publisher and scope until it expires.
//! Stores and matches grants; does not ask anyone (that is the engine's `ApprovalBroker`).

use crate::home::{self, Home, HomeError};
use crate::timestamp::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::path::PathBuf;

/// How long an "always" grant lasts unless the caller says otherwise.
pub const DEFAULT_GRANT_DAYS: i128 = 30;
const NANOS_PER_DAY: i128 = 86_400 * 1_000_000_000;

/// Errors reading or writing grants. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    /// The grants file could not be read or written.
    #[error("cannot access approval grants `{path}`")]
    Io {
        /// The grants file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: HomeError,
    },
    /// The grants file is not valid JSON of the expected shape.
    #[error("approval grants `{path}` are corrupt at line {line}, column {column}")]
    Corrupt {
        /// The grants file.
        path: PathBuf,
        /// Line of the parse error.
        line: usize,
        /// Column of the parse error.
        column: usize,
    },
}

/// What a grant is for: one scope of one skill from one publisher.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GrantSubject<'a> {
    /// The skill's name.
    pub skill: &'a str,
    /// The publisher key id, `None` for unsigned (ad-hoc) runs.
    pub publisher: Option<&'a str>,
    /// The normalised scope text.
    pub scope: &'a str,
}

impl GrantSubject<'_> {
    /// `sha256(skill \0 publisher \0 scope)` in hex: a different publisher or scope never
    /// matches an old grant.
    pub fn fingerprint(&self) -> String {
        let mut hasher = Sha256::new();
        for part in [self.skill, self.publisher.unwrap_or(""), self.scope] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
        hex::encode(hasher.finalize())
    }
}

/// One remembered "always" answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    /// `GrantSubject::fingerprint`.
    pub fingerprint: String,
    /// The skill's name (for people reading the file).
    pub skill: String,
    /// The publisher key id.
    pub publisher: Option<String>,
    /// The scope.
    pub scope: String,
    /// Who granted it.
    pub by: String,
    /// When, RFC 3339.
    pub granted_at: String,
    /// Until when, RFC 3339.
    pub expires_at: String,
}

impl Grant {
    /// Whether the grant is still valid at `now` (an unreadable expiry counts as expired).
    pub fn is_valid_at(&self, now: Timestamp) -> bool {
        Timestamp::parse(&self.expires_at).is_ok_and(|expires| now < expires)
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantsFile {
    version: u32,
    grants: Vec<Grant>,
}

/// The grants of one home.
#[derive(Debug)]
pub struct Grants {
    path: PathBuf,
    file: GrantsFile,
}

impl Grants {
    /// Loads `approvals/grants.json`; a missing file means no grants, a corrupt one is an error.
    pub fn load(home: &Home) -> Result<Self, ApprovalError> {
        let path = home.approval_grants();
        if !path.exists() {
            return Ok(Self {
                path,
                file: GrantsFile {
                    version: 1,
                    grants: Vec::new(),
                },
            });
        }
        let text = home::read_text(&path).map_err(|source| ApprovalError::Io {
            path: path.clone(),
            source,
        })?;
        let file = serde_json::from_str(&text).map_err(|error| ApprovalError::Corrupt {
            path: path.clone(),
            line: error.line(),
            column: error.column(),
        })?;
        Ok(Self { path, file })
    }

    /// The valid grant for `subject`, if any.
    pub fn find(&self, subject: &GrantSubject<'_>, now: Timestamp) -> Option<&Grant> {
        let fingerprint = subject.fingerprint();
        self.file
            .grants
            .iter()
            .find(|grant| grant.fingerprint == fingerprint && grant.is_valid_at(now))
    }

    /// Every grant, expired ones included.
    pub fn all(&self) -> &[Grant] {
        &self.file.grants
    }

    /// Records an "always" grant valid for `days`, replacing an older grant for the same
    /// subject and dropping expired ones, then writes the file atomically.
    pub fn grant(
        &mut self,
        subject: &GrantSubject<'_>,
        by: &str,
        now: Timestamp,
        days: i128,
    ) -> Result<Grant, ApprovalError> {
        let fingerprint = subject.fingerprint();
        let grant = Grant {
            fingerprint: fingerprint.clone(),
            skill: subject.skill.to_string(),
            publisher: subject.publisher.map(str::to_string),
            scope: subject.scope.to_string(),
            by: by.to_string(),
            granted_at: now.to_string(),
            expires_at: Timestamp::from_unix_nanos(now.unix_nanos() + days * NANOS_PER_DAY)
                .to_string(),
        };
        self.file
            .grants
            .retain(|old| old.fingerprint != fingerprint && old.is_valid_at(now));
        self.file.grants.push(grant.clone());
        self.save()?;
        Ok(grant)
    }

    /// Removes the grants whose fingerprint starts with `prefix`; returns how many.
    pub fn revoke(&mut self, prefix: &str) -> Result<usize, ApprovalError> {
        let before = self.file.grants.len();
        self.file
            .grants
            .retain(|grant| prefix.is_empty() || !grant.fingerprint.starts_with(prefix));
        let removed = before - self.file.grants.len();
        if removed > 0 {
            self.save()?;
        }
        Ok(removed)
    }

    fn save(&self) -> Result<(), ApprovalError> {
        let mut text = serde_json::to_string_pretty(&self.file).unwrap_or_default();
        text.push('\n');
        home::atomic_write(&self.path, text.as_bytes()).map_err(|source| ApprovalError::Io {
            path: self.path.clone(),
            source,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subject<'a>(scope: &'a str, publisher: Option<&'a str>) -> GrantSubject<'a> {
        GrantSubject {
            skill: "web-search",
            publisher,
            scope,
        }
    }

    #[test]
    fn grants_match_only_their_subject_and_expire() {
        let temp = tempfile::tempdir().unwrap();
        let home = Home::at(temp.path());
        home.ensure_layout().unwrap();
        let now = Timestamp::parse("2026-11-24T10:00:00Z").unwrap();
        let mut grants = Grants::load(&home).unwrap();
        let scope = "net.outbound:api.github.com";
        grants
            .grant(&subject(scope, Some("abcd")), "cli:alice", now, 30)
            .unwrap();

        let reloaded = Grants::load(&home).unwrap();
        assert!(reloaded.find(&subject(scope, Some("abcd")), now).is_some());
        assert!(reloaded.find(&subject(scope, Some("ffff")), now).is_none());
        assert!(
            reloaded
                .find(&subject("net.outbound:evil.com", Some("abcd")), now)
                .is_none()
        );
        let later = Timestamp::parse("2026-12-25T10:00:00Z").unwrap();
        assert!(
            reloaded
                .find(&subject(scope, Some("abcd")), later)
                .is_none()
        );
    }

    #[test]
    fn a_corrupt_file_is_an_error_naming_it() {
        let temp = tempfile::tempdir().unwrap();
        let home = Home::at(temp.path());
        home.ensure_layout().unwrap();
        home::atomic_write(&home.approval_grants(), b"{not json").unwrap();
        let error = Grants::load(&home).unwrap_err().to_string();
        assert!(error.contains("grants.json"), "{error}");
    }

    #[test]
    fn revoke_by_prefix() {
        let temp = tempfile::tempdir().unwrap();
        let home = Home::at(temp.path());
        home.ensure_layout().unwrap();
        let now = Timestamp::parse("2026-11-24T10:00:00Z").unwrap();
        let mut grants = Grants::load(&home).unwrap();
        let grant = grants
            .grant(&subject("files.write:/tmp/out", None), "cli:bob", now, 1)
            .unwrap();
        assert_eq!(grants.revoke(&grant.fingerprint[..8]).unwrap(), 1);
        assert!(Grants::load(&home).unwrap().all().is_empty());
    }
}
