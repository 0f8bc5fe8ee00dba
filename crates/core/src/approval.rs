//! Persistent "always" approval grants (`approvals/grants.json`): a human's answer to a
//! `needs_approval` decision, remembered for one skill, publisher and scope until it expires.
//! An unsigned (ad-hoc) skill has no identity of its own, so its grant is also bound to the
//! exact command and working directory it was given for, and to the sha256 of every file that
//! command names (its program and its script arguments): an edited script is another command.
//! Stores and matches grants; does not read those files or ask anyone (that is the engine's).

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
    /// An unsigned skill's grant must name the command it covers, or it would cover every
    /// ad-hoc command.
    #[error(
        "an \"always\" grant for the unsigned skill `{skill}` and scope `{scope}` must be bound to its command and working directory"
    )]
    Unbound {
        /// The skill's name.
        skill: String,
        /// The scope.
        scope: String,
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

/// What a grant is for: one scope of one skill from one publisher, and for an unsigned skill
/// one exact command in one working directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GrantSubject<'a> {
    /// The skill's name.
    pub skill: &'a str,
    /// The publisher key id, `None` for unsigned (ad-hoc) runs.
    pub publisher: Option<&'a str>,
    /// The normalised scope text.
    pub scope: &'a str,
    /// The command an unsigned skill's grant is bound to (`None` for signed skills, whose
    /// publisher identifies them).
    pub invocation: Option<Invocation<'a>>,
}

/// The exact command and working directory of an ad-hoc run, and the files it names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Invocation<'a> {
    /// The whole argv.
    pub argv: &'a [String],
    /// The working directory, absolute.
    pub workdir: &'a str,
    /// The files the command names, as they are now: the program `argv[0]` resolves to and
    /// every argument naming an existing file.
    pub files: &'a [BoundFile],
}

/// A file an ad-hoc grant is bound to, by content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoundFile {
    /// Its path, symlinks resolved.
    pub path: String,
    /// The lower-case hex sha256 of its contents.
    pub sha256: String,
}

impl<'a> GrantSubject<'a> {
    /// The subject of a run's scope: bound to `argv`, `workdir` and the `files` they name
    /// exactly when the skill is unsigned (`publisher` is `None`).
    pub fn for_run(
        skill: &'a str,
        publisher: Option<&'a str>,
        scope: &'a str,
        argv: &'a [String],
        workdir: &'a str,
        files: &'a [BoundFile],
    ) -> Self {
        Self {
            skill,
            publisher,
            scope,
            invocation: publisher.is_none().then_some(Invocation {
                argv,
                workdir,
                files,
            }),
        }
    }

    /// `sha256(skill \0 publisher \0 scope \0)` in hex, followed in the hash (for a bound
    /// subject) by each argv word and the working directory, then each bound file's path and
    /// digest, length-prefixed: a different publisher, scope, command, directory or file
    /// content never matches an old grant.
    pub fn fingerprint(&self) -> String {
        let mut hasher = Sha256::new();
        for part in [self.skill, self.publisher.unwrap_or(""), self.scope] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
        if let Some(invocation) = &self.invocation {
            hasher.update(b"invocation\0");
            hasher.update((invocation.argv.len() as u64).to_le_bytes());
            for word in invocation
                .argv
                .iter()
                .map(String::as_str)
                .chain([invocation.workdir])
            {
                hasher.update((word.len() as u64).to_le_bytes());
                hasher.update(word.as_bytes());
            }
            hasher.update(b"files\0");
            hasher.update((invocation.files.len() as u64).to_le_bytes());
            for file in invocation.files {
                for part in [&file.path, &file.sha256] {
                    hasher.update((part.len() as u64).to_le_bytes());
                    hasher.update(part.as_bytes());
                }
            }
        }
        hex::encode(hasher.finalize())
    }

    /// What an "always" answer for this subject covers, for the person asked.
    pub fn covers(&self) -> String {
        match (&self.invocation, self.publisher) {
            (Some(invocation), _) if invocation.files.is_empty() => format!(
                "only the command `{}` run in `{}`, asking for `{}`",
                shell_words(invocation.argv),
                invocation.workdir,
                self.scope
            ),
            (Some(invocation), _) => format!(
                "only the command `{}` run in `{}`, asking for `{}`, while {} {} unchanged",
                shell_words(invocation.argv),
                invocation.workdir,
                self.scope,
                invocation
                    .files
                    .iter()
                    .map(|file| format!("`{}`", file.path))
                    .collect::<Vec<_>>()
                    .join(", "),
                if invocation.files.len() == 1 {
                    "stays"
                } else {
                    "stay"
                }
            ),
            (None, Some(publisher)) => format!(
                "every run of skill `{}` signed by publisher `{publisher}` asking for `{}`",
                self.skill, self.scope
            ),
            (None, None) => format!(
                "every run of the unsigned skill `{}` asking for `{}`",
                self.skill, self.scope
            ),
        }
    }
}

/// `argv` as a shell would read it back: words with anything but safe characters quoted.
fn shell_words(argv: &[String]) -> String {
    argv.iter()
        .map(|word| {
            let safe = !word.is_empty()
                && word
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b));
            if safe {
                word.clone()
            } else {
                format!("'{}'", word.replace('\'', "'\\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
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
    /// For an unsigned skill: the exact command the grant covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argv: Option<Vec<String>>,
    /// For an unsigned skill: the working directory the grant covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workdir: Option<String>,
    /// For an unsigned skill: the files its command names, with the digests it covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Vec<BoundFile>>,
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
        let text = home::read_file_text(&path, home::FileKind::Grants, home::Follow::No).map_err(
            |source| ApprovalError::Io {
                path: path.clone(),
                source,
            },
        )?;
        let file = serde_json::from_str(&text).map_err(|error| ApprovalError::Corrupt {
            path: path.clone(),
            line: error.line(),
            column: error.column(),
        })?;
        Ok(Self { path, file })
    }

    /// The valid grant for `subject`, if any. An unsigned subject without an invocation has
    /// none (only a grant bound to one command can match).
    pub fn find(&self, subject: &GrantSubject<'_>, now: Timestamp) -> Option<&Grant> {
        if subject.publisher.is_none() && subject.invocation.is_none() {
            return None;
        }
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
    /// subject and dropping expired ones, then writes the file atomically. An unsigned
    /// subject must be bound to its invocation.
    pub fn grant(
        &mut self,
        subject: &GrantSubject<'_>,
        by: &str,
        now: Timestamp,
        days: i128,
    ) -> Result<Grant, ApprovalError> {
        if subject.publisher.is_none() && subject.invocation.is_none() {
            return Err(ApprovalError::Unbound {
                skill: subject.skill.to_string(),
                scope: subject.scope.to_string(),
            });
        }
        let fingerprint = subject.fingerprint();
        let grant = Grant {
            fingerprint: fingerprint.clone(),
            skill: subject.skill.to_string(),
            publisher: subject.publisher.map(str::to_string),
            scope: subject.scope.to_string(),
            argv: subject
                .invocation
                .map(|invocation| invocation.argv.to_vec()),
            workdir: subject
                .invocation
                .map(|invocation| invocation.workdir.to_string()),
            files: subject
                .invocation
                .map(|invocation| invocation.files.to_vec()),
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
            invocation: None,
        }
    }

    fn words(text: &str) -> Vec<String> {
        text.split(' ').map(str::to_string).collect()
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
            .grant(
                &subject("files.write:/tmp/out", Some("abcd")),
                "cli:bob",
                now,
                1,
            )
            .unwrap();
        assert_eq!(grants.revoke(&grant.fingerprint[..8]).unwrap(), 1);
        assert!(Grants::load(&home).unwrap().all().is_empty());
    }

    fn bound<'a>(argv: &'a [String], workdir: &'a str) -> GrantSubject<'a> {
        GrantSubject::for_run("ad-hoc", None, "files.write:/work", argv, workdir, &[])
    }

    #[test]
    fn an_unsigned_grant_does_not_cover_its_script_once_edited() {
        let temp = tempfile::tempdir().unwrap();
        let home = Home::at(temp.path());
        home.ensure_layout().unwrap();
        let now = Timestamp::parse("2026-11-24T10:00:00Z").unwrap();
        let argv = words("sh run.sh");
        let file = |sha256: &str| {
            vec![
                BoundFile {
                    path: "/usr/bin/dash".into(),
                    sha256: "aa".into(),
                },
                BoundFile {
                    path: "/work/run.sh".into(),
                    sha256: sha256.into(),
                },
            ]
        };
        let (granted, edited) = (file("11"), file("22"));
        let subject = |files| {
            GrantSubject::for_run("ad-hoc", None, "files.write:/work", &argv, "/work", files)
        };
        let mut grants = Grants::load(&home).unwrap();
        let grant = grants
            .grant(&subject(&granted), "cli:alice", now, 30)
            .unwrap();
        assert_eq!(grant.files.as_ref(), Some(&granted));
        let reloaded = Grants::load(&home).unwrap();
        assert!(reloaded.find(&subject(&granted), now).is_some());
        assert!(reloaded.find(&subject(&edited), now).is_none());
        assert!(reloaded.find(&subject(&[]), now).is_none());
        assert_eq!(
            subject(&granted).covers(),
            "only the command `sh run.sh` run in `/work`, asking for `files.write:/work`, while `/usr/bin/dash`, `/work/run.sh` stay unchanged"
        );
    }

    #[test]
    fn an_unsigned_grant_covers_only_its_own_command_and_directory() {
        let temp = tempfile::tempdir().unwrap();
        let home = Home::at(temp.path());
        home.ensure_layout().unwrap();
        let now = Timestamp::parse("2026-11-24T10:00:00Z").unwrap();
        let (granted, other, split) =
            (words("sh -c echo-a"), words("sh -c echo-b"), words("sh -c"));
        let mut grants = Grants::load(&home).unwrap();
        let grant = grants
            .grant(&bound(&granted, "/work"), "cli:alice", now, 30)
            .unwrap();
        assert_eq!(grant.argv.as_ref(), Some(&granted));
        assert_eq!(grant.workdir.as_deref(), Some("/work"));

        let reloaded = Grants::load(&home).unwrap();
        assert!(reloaded.find(&bound(&granted, "/work"), now).is_some());
        assert!(reloaded.find(&bound(&other, "/work"), now).is_none());
        assert!(reloaded.find(&bound(&granted, "/elsewhere"), now).is_none());
        // Moving a word between argv and the directory does not collide.
        assert_ne!(
            bound(&split, "echo-a/work").fingerprint(),
            bound(&granted, "/work").fingerprint()
        );
        // An unbound unsigned subject (the old, too-wide kind) neither matches nor is granted.
        let unbound = subject("files.write:/work", None);
        assert!(reloaded.find(&unbound, now).is_none());
        let error = grants.grant(&unbound, "cli:alice", now, 30).unwrap_err();
        assert_eq!(
            error.to_string(),
            "an \"always\" grant for the unsigned skill `web-search` and scope `files.write:/work` must be bound to its command and working directory"
        );
        // A signed subject is not bound to a command.
        let signed =
            GrantSubject::for_run("web", Some("abcd"), "files.write:/w", &granted, "/w", &[]);
        assert_eq!(signed.invocation, None);
    }

    #[test]
    fn what_always_covers_is_said_plainly() {
        let mut argv = words("sh -c");
        argv.push("echo it's here".to_string());
        assert_eq!(
            GrantSubject::for_run("ad-hoc", None, "files.write:/w", &argv, "/w", &[]).covers(),
            "only the command `sh -c 'echo it'\\''s here'` run in `/w`, asking for `files.write:/w`"
        );
        assert_eq!(
            GrantSubject::for_run("web", Some("abcd"), "net.outbound:a.test", &argv, "/w", &[])
                .covers(),
            "every run of skill `web` signed by publisher `abcd` asking for `net.outbound:a.test`"
        );
    }
}
