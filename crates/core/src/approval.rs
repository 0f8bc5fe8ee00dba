//! Persistent "always" approval grants (`approvals/grants.json`): a human's answer to a
//! `needs_approval` decision, remembered for one skill, publisher and scope until it expires.
//! A grant covers only what was approved: the risk the scope was rated then (a scope rated
//! higher now is asked again), the host object a path scope named (its device and inode: a
//! path that became a bind mount of `/etc` is another object), and for a signed skill its
//! version and signed manifest (which lists every file's digest: a new release or new code is
//! asked again). An unsigned (ad-hoc) skill has no identity of its own, so its grant is also bound to the
//! exact command and working directory it was given for, and to the sha256 of every file that
//! command names (its program and its script arguments): an edited script is another command.
//! Stores and matches grants; does not read those files or ask anyone (that is the engine's).

use crate::home::{self, Home, HomeError};
use crate::scope::Risk;
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

/// What a grant is for: one scope of one skill from one publisher, rated at most one risk;
/// for a signed skill one release of it, for a path scope one host object, and for an
/// unsigned skill one exact command in one working directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GrantSubject<'a> {
    /// The skill's name.
    pub skill: &'a str,
    /// The publisher key id, `None` for unsigned (ad-hoc) runs.
    pub publisher: Option<&'a str>,
    /// For a signed skill: the release the grant covers.
    pub release: Option<Release<'a>>,
    /// The normalised scope text.
    pub scope: &'a str,
    /// For a path scope: the host object it names (`dev:ino` of the opened path).
    pub object: Option<&'a str>,
    /// The scope's risk as rated for this run: a grant covers it only up to the risk it was
    /// given for.
    pub risk: Risk,
    /// The command an unsigned skill's grant is bound to (`None` for signed skills, whose
    /// publisher and release identify them).
    pub invocation: Option<Invocation<'a>>,
}

/// One release of a signed skill: its version and its signed manifest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Release<'a> {
    /// The manifest's `version`.
    pub version: &'a str,
    /// The lower-case hex sha256 of the manifest's signed bytes (which list every file's
    /// digest).
    pub manifest: &'a str,
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
    /// The subject of `scope` of `skill` from `publisher`, rated `risk`, not yet bound to a
    /// release, an object or a command.
    pub fn new(skill: &'a str, publisher: Option<&'a str>, scope: &'a str, risk: Risk) -> Self {
        Self {
            skill,
            publisher,
            release: None,
            scope,
            object: None,
            risk,
            invocation: None,
        }
    }

    /// The same, for one release of a signed skill.
    pub fn released(self, release: Release<'a>) -> Self {
        Self {
            release: Some(release),
            ..self
        }
    }

    /// The same, for the host object a path scope names (`dev:ino`).
    pub fn on_object(self, object: Option<&'a str>) -> Self {
        Self { object, ..self }
    }

    /// The same, bound to `argv`, `workdir` and the `files` they name exactly when the skill
    /// is unsigned (`publisher` is `None`).
    pub fn bound_to(self, argv: &'a [String], workdir: &'a str, files: &'a [BoundFile]) -> Self {
        Self {
            invocation: self.publisher.is_none().then_some(Invocation {
                argv,
                workdir,
                files,
            }),
            ..self
        }
    }

    /// `sha256(skill \0 publisher \0 scope \0)` in hex, followed in the hash by the release
    /// (version and manifest digest) and the object when there are, and (for a bound subject)
    /// each argv word and the working directory, then each bound file's path and digest, all
    /// length-prefixed: a different publisher, scope, release, object, command, directory or
    /// file content never matches an old grant. The risk is not in it: a grant covers every
    /// risk up to its own.
    pub fn fingerprint(&self) -> String {
        let mut hasher = Sha256::new();
        for part in [self.skill, self.publisher.unwrap_or(""), self.scope] {
            hasher.update(part.as_bytes());
            hasher.update([0]);
        }
        let prefixed = |hasher: &mut Sha256, word: &str| {
            hasher.update((word.len() as u64).to_le_bytes());
            hasher.update(word.as_bytes());
        };
        if let Some(release) = &self.release {
            hasher.update(b"release\0");
            prefixed(&mut hasher, release.version);
            prefixed(&mut hasher, release.manifest);
        }
        if let Some(object) = self.object {
            hasher.update(b"object\0");
            prefixed(&mut hasher, object);
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
                prefixed(&mut hasher, word);
            }
            hasher.update(b"files\0");
            hasher.update((invocation.files.len() as u64).to_le_bytes());
            for file in invocation.files {
                prefixed(&mut hasher, &file.path);
                prefixed(&mut hasher, &file.sha256);
            }
        }
        hex::encode(hasher.finalize())
    }

    /// What an "always" answer for this subject covers, for the person asked.
    pub fn covers(&self) -> String {
        let who = match (&self.invocation, self.publisher) {
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
            (None, Some(publisher)) => match &self.release {
                Some(release) => format!(
                    "every run of skill `{}` {} as signed (manifest sha256 {}) by publisher `{publisher}` asking for `{}`",
                    self.skill,
                    release.version,
                    release.manifest.get(..12).unwrap_or(release.manifest),
                    self.scope
                ),
                None => format!(
                    "every run of skill `{}` signed by publisher `{publisher}` asking for `{}`",
                    self.skill, self.scope
                ),
            },
            (None, None) => format!(
                "every run of the unsigned skill `{}` asking for `{}`",
                self.skill, self.scope
            ),
        };
        let object = if self.object.is_some() {
            " while it names the same file or directory"
        } else {
            ""
        };
        format!("{who}{object}, rated {} or lower", self.risk)
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
    /// The highest risk the grant covers: the scope's rating when it was given. Absent in
    /// grants from before grants were bound to a risk, which cover nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<Risk>,
    /// For a signed skill: the version the grant covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// For a signed skill: the sha256 of the signed manifest the grant covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
    /// For a path scope: the host object (`dev:ino`) the grant covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object: Option<String>,
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

    /// The valid grant for `subject`, if any: the same fingerprint, not expired, and given
    /// for a risk at least the subject's. An unsigned subject without an invocation has none
    /// (only a grant bound to one command can match).
    pub fn find(&self, subject: &GrantSubject<'_>, now: Timestamp) -> Option<&Grant> {
        if subject.publisher.is_none() && subject.invocation.is_none() {
            return None;
        }
        let fingerprint = subject.fingerprint();
        self.file.grants.iter().find(|grant| {
            grant.fingerprint == fingerprint
                && grant.is_valid_at(now)
                && grant.risk.is_some_and(|risk| subject.risk <= risk)
        })
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
            risk: Some(subject.risk),
            version: subject.release.map(|release| release.version.to_string()),
            manifest: subject.release.map(|release| release.manifest.to_string()),
            object: subject.object.map(str::to_string),
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
        GrantSubject::new("web-search", publisher, scope, Risk::Medium)
    }

    fn ad_hoc<'a>(
        scope: &'a str,
        argv: &'a [String],
        workdir: &'a str,
        files: &'a [BoundFile],
    ) -> GrantSubject<'a> {
        GrantSubject::new("ad-hoc", None, scope, Risk::Medium).bound_to(argv, workdir, files)
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

    const RELEASE: Release<'static> = Release {
        version: "1.0.0",
        manifest: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    };

    #[test]
    fn a_grant_covers_only_its_risk_release_and_object() {
        let temp = tempfile::tempdir().unwrap();
        let home = Home::at(temp.path());
        home.ensure_layout().unwrap();
        let now = Timestamp::parse("2026-11-24T10:00:00Z").unwrap();
        let scope = "files.read:/root/.cache-dir";
        let given = |risk| {
            GrantSubject::new("reader", Some("abcd"), scope, risk)
                .released(RELEASE)
                .on_object(Some("2049:77"))
        };
        let mut grants = Grants::load(&home).unwrap();
        let grant = grants
            .grant(&given(Risk::High), "cli:alice", now, 30)
            .unwrap();
        assert_eq!(grant.risk, Some(Risk::High));
        assert_eq!(grant.object.as_deref(), Some("2049:77"));
        let reloaded = Grants::load(&home).unwrap();
        assert!(reloaded.find(&given(Risk::High), now).is_some());
        assert!(reloaded.find(&given(Risk::Medium), now).is_some());
        // The same path, now rated critical (it became a bind mount of `/etc`): asked again.
        assert!(reloaded.find(&given(Risk::Critical), now).is_none());
        // Another object at the path, another release, other code: asked again.
        assert!(
            reloaded
                .find(&given(Risk::High).on_object(Some("2049:78")), now)
                .is_none()
        );
        let next = Release {
            version: "9.9.9",
            ..RELEASE
        };
        assert!(
            reloaded
                .find(&given(Risk::High).released(next), now)
                .is_none()
        );
        let recoded = Release {
            manifest: "ff23456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            ..RELEASE
        };
        assert!(
            reloaded
                .find(&given(Risk::High).released(recoded), now)
                .is_none()
        );
        // A grant written before grants carried a risk covers nothing.
        let mut old = grant.clone();
        old.risk = None;
        home::atomic_write(
            &home.approval_grants(),
            serde_json::to_string(&GrantsFile {
                version: 1,
                grants: vec![old],
            })
            .unwrap()
            .as_bytes(),
        )
        .unwrap();
        let reloaded = Grants::load(&home).unwrap();
        assert!(reloaded.find(&given(Risk::Low), now).is_none());
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
        ad_hoc("files.write:/work", argv, workdir, &[])
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
        let subject = |files| ad_hoc("files.write:/work", &argv, "/work", files);
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
            "only the command `sh run.sh` run in `/work`, asking for `files.write:/work`, while `/usr/bin/dash`, `/work/run.sh` stay unchanged, rated medium or lower"
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
        let signed = GrantSubject::new("web", Some("abcd"), "files.write:/w", Risk::Medium)
            .bound_to(&granted, "/w", &[]);
        assert_eq!(signed.invocation, None);
    }

    #[test]
    fn what_always_covers_is_said_plainly() {
        let mut argv = words("sh -c");
        argv.push("echo it's here".to_string());
        assert_eq!(
            ad_hoc("files.write:/w", &argv, "/w", &[]).covers(),
            "only the command `sh -c 'echo it'\\''s here'` run in `/w`, asking for `files.write:/w`, rated medium or lower"
        );
        assert_eq!(
            GrantSubject::new("web", Some("abcd"), "files.read:/srv/x", Risk::High)
                .released(RELEASE)
                .on_object(Some("2049:77"))
                .covers(),
            "every run of skill `web` 1.0.0 as signed (manifest sha256 0123456789ab) by publisher `abcd` asking for `files.read:/srv/x` while it names the same file or directory, rated high or lower"
        );
    }
}
