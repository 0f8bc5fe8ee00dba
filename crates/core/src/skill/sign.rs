//! Signing and verifying a skill directory: file digests, the manifest signature and the check
//! that every file on disk is exactly the signed set. Does not decide trust (see `crate::trust`).

use crate::home::{self, HomeError};
use crate::key::{KeyError, SKILL_DOMAIN, Signature, SigningKey};
use crate::skill::manifest::{MANIFEST_FILE, Manifest, ManifestError};
use crate::trust::TrustStore;
use fs_err as fs;
use sha2::{Digest as _, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Errors from walking and hashing a skill's files. Each names the file.
#[derive(Debug, thiserror::Error)]
pub enum SkillFileError {
    /// A file or directory could not be read.
    #[error("cannot read `{path}`")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The io error.
        source: std::io::Error,
    },
    /// A symlink, socket, fifo or device: skills hold regular files and directories only.
    #[error("`{path}` is a {kind}; a skill may hold only regular files and directories")]
    NotRegular {
        /// The offending entry.
        path: PathBuf,
        /// `symlink` or `special file`.
        kind: &'static str,
    },
    /// A file name that is not UTF-8 cannot be listed in the manifest.
    #[error("`{path}` has a name that is not UTF-8")]
    NonUtf8 {
        /// The offending entry.
        path: PathBuf,
    },
}

/// Errors from `sign_dir`.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The manifest could not be read, parsed or serialised.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// A file of the skill could not be hashed.
    #[error(transparent)]
    File(#[from] SkillFileError),
    /// The signed manifest did not read back as the same manifest, so it was not written.
    #[error("signed manifest `{path}` does not read back identically; not written")]
    RoundTrip {
        /// The manifest file.
        path: PathBuf,
    },
    /// Writing the signed manifest failed.
    #[error("cannot write signed manifest `{path}`")]
    Write {
        /// The manifest file.
        path: PathBuf,
        /// The underlying error.
        source: HomeError,
    },
}

/// One way the files on disk differ from the signed list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileProblem {
    /// The file's digest differs from the signed one.
    Changed {
        /// Relative path.
        path: String,
    },
    /// The file is not in the signed list.
    Added {
        /// Relative path.
        path: String,
    },
    /// A signed file is not on disk.
    Missing {
        /// Relative path.
        path: String,
    },
}

impl fmt::Display for FileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Changed { path } => write!(f, "changed: `{path}`"),
            Self::Added { path } => write!(f, "added: `{path}`"),
            Self::Missing { path } => write!(f, "missing: `{path}`"),
        }
    }
}

/// Errors from `verify_dir`, in the order the checks run.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The manifest could not be read or parsed.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// The manifest has no `signature`.
    #[error("skill manifest `{path}` is unsigned")]
    Unsigned {
        /// The manifest file.
        path: PathBuf,
    },
    /// The manifest has a signature but no `publisher`.
    #[error("skill manifest `{path}` is signed but names no `publisher`")]
    NoPublisher {
        /// The manifest file.
        path: PathBuf,
    },
    /// The `signature` field is not `ed25519:<base64 of 64 bytes>`.
    #[error("skill manifest `{path}` has a malformed signature")]
    MalformedSignature {
        /// The manifest file.
        path: PathBuf,
        /// The parse error.
        source: KeyError,
    },
    /// The publisher's key is not in the trust store.
    #[error("skill publisher `{key_id}` is not trusted")]
    Untrusted {
        /// The manifest's `publisher`.
        key_id: String,
    },
    /// The signature does not match the manifest: it was edited after signing.
    #[error("signature of skill manifest `{path}` does not verify with key `{key_id}`")]
    BadSignature {
        /// The manifest file.
        path: PathBuf,
        /// The publisher key it was checked against.
        key_id: String,
    },
    /// Walking or hashing the skill's files failed.
    #[error(transparent)]
    File(#[from] SkillFileError),
    /// A file's content differs from its signed digest.
    #[error("file `{path}` of skill `{dir}` changed since signing{}", more(others))]
    FileChanged {
        /// The skill directory.
        dir: PathBuf,
        /// Relative path of the first problem.
        path: String,
        /// Every other problem found.
        others: Vec<FileProblem>,
    },
    /// A file on disk is not in the signed list.
    #[error(
        "file `{path}` of skill `{dir}` was added after signing{}",
        more(others)
    )]
    FileAdded {
        /// The skill directory.
        dir: PathBuf,
        /// Relative path of the first problem.
        path: String,
        /// Every other problem found.
        others: Vec<FileProblem>,
    },
    /// A signed file is not on disk.
    #[error("file `{path}` of skill `{dir}` is missing{}", more(others))]
    FileMissing {
        /// The skill directory.
        dir: PathBuf,
        /// Relative path of the first problem.
        path: String,
        /// Every other problem found.
        others: Vec<FileProblem>,
    },
}

fn more(others: &[FileProblem]) -> String {
    match others.len() {
        0 => String::new(),
        count => format!(" (and {count} more file problems)"),
    }
}

impl VerifyError {
    /// Every file problem this error reports, the first one first; empty for other errors.
    pub fn file_problems(&self) -> Vec<FileProblem> {
        let (first, others) = match self {
            Self::FileChanged { path, others, .. } => {
                (FileProblem::Changed { path: path.clone() }, others)
            }
            Self::FileAdded { path, others, .. } => {
                (FileProblem::Added { path: path.clone() }, others)
            }
            Self::FileMissing { path, others, .. } => {
                (FileProblem::Missing { path: path.clone() }, others)
            }
            _ => return Vec::new(),
        };
        std::iter::once(first)
            .chain(others.iter().cloned())
            .collect()
    }
}

/// What `sign_dir` wrote (or `PendingSignature::write` will write).
#[derive(Clone, Debug, PartialEq)]
pub struct SignOutcome {
    /// The signed manifest as written.
    pub manifest: Manifest,
    /// Key id of the signer (the manifest's `publisher`).
    pub publisher: String,
    /// Number of files listed in `files`.
    pub file_count: usize,
    /// The manifest file written.
    pub manifest_path: PathBuf,
}

/// A skill whose signature and files all check out.
#[derive(Clone, Debug, PartialEq)]
pub struct Verified {
    /// The verified manifest.
    pub manifest: Manifest,
    /// Key id of the trusted publisher.
    pub publisher: String,
    /// Number of files checked.
    pub file_count: usize,
}

/// Signs the skill in `dir`: lists every file with its digest, sets `publisher` to the key's id,
/// signs, and rewrites `dir/manifest.yaml` atomically.
pub fn sign_dir(dir: &Path, key: &SigningKey) -> Result<SignOutcome, SignError> {
    prepare_signature(dir, key)?.write()
}

/// A signed manifest computed by [`prepare_signature`] and not yet written, so the caller can
/// record the signing durably first and then [`write`](Self::write) it.
#[derive(Debug)]
pub struct PendingSignature {
    outcome: SignOutcome,
    yaml: String,
}

impl PendingSignature {
    /// What [`write`](Self::write) will write.
    pub fn outcome(&self) -> &SignOutcome {
        &self.outcome
    }

    /// Rewrites `manifest.yaml` atomically with the signed manifest.
    pub fn write(self) -> Result<SignOutcome, SignError> {
        let path = &self.outcome.manifest_path;
        home::atomic_write(path, self.yaml.as_bytes()).map_err(|source| SignError::Write {
            path: path.clone(),
            source,
        })?;
        Ok(self.outcome)
    }
}

/// Everything [`sign_dir`] does but the write: lists and hashes the files, signs, and checks the
/// manifest reads back as exactly what was signed.
pub fn prepare_signature(dir: &Path, key: &SigningKey) -> Result<PendingSignature, SignError> {
    // 1. Read the manifest as it stands (its old files, signature and publisher are replaced).
    let manifest_path = dir.join(MANIFEST_FILE);
    require_regular(&manifest_path)?;
    let mut manifest = Manifest::load(&manifest_path)?;
    // 2. Hash every file.
    let mut files = BTreeMap::new();
    for (relative, path) in skill_files(dir)? {
        files.insert(relative, file_digest(&path)?);
    }
    manifest.files = files;
    // 3. Sign the canonical payload.
    let publisher = key.public().key_id();
    manifest.publisher = Some(publisher.clone());
    manifest.signature = None;
    let payload = manifest.signing_payload()?;
    manifest.signature = Some(key.sign(SKILL_DOMAIN, &payload).to_text());
    // 4. Write it back only if it reads back as exactly what was signed.
    let yaml = manifest.to_yaml()?;
    if Manifest::parse(&yaml, &manifest_path).ok().as_ref() != Some(&manifest) {
        return Err(SignError::RoundTrip {
            path: manifest_path,
        });
    }
    Ok(PendingSignature {
        outcome: SignOutcome {
            file_count: manifest.files.len(),
            manifest,
            publisher,
            manifest_path,
        },
        yaml,
    })
}

/// Verifies the skill in `dir` against `trust`: signed, by a trusted key, over this manifest,
/// and the files on disk are exactly the signed ones.
pub fn verify_dir(dir: &Path, trust: &TrustStore) -> Result<Verified, VerifyError> {
    // 1. The manifest, its signature and publisher.
    let path = dir.join(MANIFEST_FILE);
    require_regular(&path)?;
    let manifest = Manifest::load(&path)?;
    let Some(signature_text) = &manifest.signature else {
        return Err(VerifyError::Unsigned { path });
    };
    let Some(publisher) = manifest.publisher.clone() else {
        return Err(VerifyError::NoPublisher { path });
    };
    let signature =
        Signature::from_text(signature_text).map_err(|source| VerifyError::MalformedSignature {
            path: path.clone(),
            source,
        })?;
    // 2. Trust, then the signature over the canonical payload.
    let key = trust
        .get(&publisher)
        .ok_or_else(|| VerifyError::Untrusted {
            key_id: publisher.clone(),
        })?;
    let payload = manifest.signing_payload()?;
    key.verify(SKILL_DOMAIN, &payload, &signature)
        .map_err(|_| VerifyError::BadSignature {
            path: path.clone(),
            key_id: publisher.clone(),
        })?;
    // 3. Every file on disk against the signed list, collecting all differences.
    let mut problems = Vec::new();
    let mut seen = 0;
    for (relative, file) in skill_files(dir)? {
        match manifest.files.get(&relative) {
            None => problems.push(FileProblem::Added { path: relative }),
            Some(expected) => {
                seen += 1;
                if file_digest(&file)? != *expected {
                    problems.push(FileProblem::Changed { path: relative });
                }
            }
        }
    }
    if seen != manifest.files.len() {
        for relative in manifest.files.keys() {
            if !dir.join(relative).is_file() {
                problems.push(FileProblem::Missing {
                    path: relative.clone(),
                });
            }
        }
    }
    let mut problems = problems.into_iter();
    let Some(first) = problems.next() else {
        return Ok(Verified {
            file_count: manifest.files.len(),
            manifest,
            publisher,
        });
    };
    let dir = dir.to_path_buf();
    let others = problems.collect();
    Err(match first {
        FileProblem::Changed { path } => VerifyError::FileChanged { dir, path, others },
        FileProblem::Added { path } => VerifyError::FileAdded { dir, path, others },
        FileProblem::Missing { path } => VerifyError::FileMissing { dir, path, others },
    })
}

/// `sha256:<hex>` of a regular file, read in blocks so large files never sit in memory. The
/// open never blocks (a FIFO put in the file's place is an error, not a hang).
pub fn file_digest(path: &Path) -> Result<String, SkillFileError> {
    use fs_err::os::unix::fs::OpenOptionsExt as _;
    let io = |source| SkillFileError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(io)?;
    if !file.metadata().map_err(io)?.is_file() {
        return Err(io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("`{}` is not a regular file", path.display()),
        )));
    }
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(io)?;
    Ok(format!("sha256:{}", hex::encode(hasher.finalize())))
}

/// Every regular file under `dir` except the top-level manifest, as (`a/b` relative path,
/// full path), sorted by relative path. Symlinks and special files are errors.
pub fn skill_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, SkillFileError> {
    let mut found = Vec::new();
    let mut stack = vec![(String::new(), dir.to_path_buf())];
    while let Some((prefix, current)) = stack.pop() {
        let io = |source| SkillFileError::Io {
            path: current.clone(),
            source,
        };
        for entry in fs::read_dir(&current).map_err(io)? {
            let entry = entry.map_err(io)?;
            let path = entry.path();
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                return Err(SkillFileError::NonUtf8 { path });
            };
            let relative = format!("{prefix}{name}");
            let kind = entry.file_type().map_err(|source| SkillFileError::Io {
                path: path.clone(),
                source,
            })?;
            if kind.is_dir() {
                stack.push((format!("{relative}/"), path));
            } else if kind.is_file() {
                if relative != MANIFEST_FILE {
                    found.push((relative, path));
                }
            } else {
                let kind = if kind.is_symlink() {
                    "symlink"
                } else {
                    "special file"
                };
                return Err(SkillFileError::NotRegular { path, kind });
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Fails unless `path` is a regular file itself (not a symlink to one, not a fifo).
fn require_regular(path: &Path) -> Result<(), SkillFileError> {
    let kind = fs::symlink_metadata(path)
        .map_err(|source| SkillFileError::Io {
            path: path.to_path_buf(),
            source,
        })?
        .file_type();
    if kind.is_file() {
        return Ok(());
    }
    Err(SkillFileError::NotRegular {
        path: path.to_path_buf(),
        kind: if kind.is_symlink() {
            "symlink"
        } else if kind.is_dir() {
            "directory"
        } else {
            "special file"
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    const MANIFEST: &str = "name: hello\nversion: 1.0.0\ndescription: Says hello\n\
                            entrypoint: [sh, run.sh]\nscopes: [shell.exec:echo]\n";

    fn skill() -> tempfile::TempDir {
        let temp = tempfile::tempdir().unwrap();
        fs::write(temp.path().join(MANIFEST_FILE), MANIFEST).unwrap();
        fs::write(temp.path().join("run.sh"), "echo hello\n").unwrap();
        temp
    }

    /// Pins the exact bytes: any change to the payload, domain or encoding breaks this test.
    #[test]
    fn known_answer_signature() {
        let temp = skill();
        let key = SigningKey::from_seed([1; 32]);
        let outcome = sign_dir(temp.path(), &key).unwrap();
        assert_eq!(outcome.publisher, "34750f98bd59fcfc");
        assert_eq!(
            outcome.manifest.files,
            BTreeMap::from([(
                "run.sh".to_string(),
                "sha256:5dbad7dd0b9b122dcd9956884390f4aac4738caba8ff53498a7ab6718b176c30"
                    .to_string()
            )])
        );
        assert_eq!(
            outcome.manifest.signature.as_deref(),
            Some(
                "ed25519:yazp1TSrCornX3VVcpTF8vgDy9zSEqq05sm3PlLtB7Zn37WSY7dQJUSbNDmfkJYbP35D2VDFqEqQ18PrlNR5Ag=="
            )
        );
        assert_eq!(
            String::from_utf8(outcome.manifest.signing_payload().unwrap()).unwrap(),
            concat!(
                r#"{"description":"Says hello","entrypoint":["sh","run.sh"],"files":{"run.sh":"#,
                r#""sha256:5dbad7dd0b9b122dcd9956884390f4aac4738caba8ff53498a7ab6718b176c30"},"#,
                r#""name":"hello","platform":"native","publisher":"34750f98bd59fcfc","#,
                r#""scopes":["shell.exec:echo"],"version":"1.0.0"}"#
            )
        );
        let trust = TrustStore::empty().with_builtin([key.public()]);
        assert_eq!(verify_dir(temp.path(), &trust).unwrap().file_count, 1);
    }

    #[test]
    fn every_file_problem_is_collected_in_discovery_order() {
        let temp = skill();
        fs::create_dir(temp.path().join("lib")).unwrap();
        fs::write(temp.path().join("lib/a.txt"), "a").unwrap();
        fs::write(temp.path().join(".hidden"), "h").unwrap();
        let key = SigningKey::from_seed([2; 32]);
        assert_eq!(sign_dir(temp.path(), &key).unwrap().file_count, 3);
        let trust = TrustStore::empty().with_builtin([key.public()]);
        fs::write(temp.path().join("run.sh"), "rm -rf /\n").unwrap();
        fs::remove_file(temp.path().join("lib/a.txt")).unwrap();
        fs::write(temp.path().join("extra"), "x").unwrap();
        let error = verify_dir(temp.path(), &trust).unwrap_err();
        assert_eq!(
            error.file_problems(),
            vec![
                FileProblem::Added {
                    path: "extra".into()
                },
                FileProblem::Changed {
                    path: "run.sh".into()
                },
                FileProblem::Missing {
                    path: "lib/a.txt".into()
                },
            ]
        );
        assert!(error.to_string().contains("(and 2 more"), "{error}");
    }

    #[test]
    fn symlinks_are_refused_naming_them() {
        let temp = skill();
        std::os::unix::fs::symlink("/etc/passwd", temp.path().join("link")).unwrap();
        let error = sign_dir(temp.path(), &SigningKey::from_seed([2; 32])).unwrap_err();
        assert!(
            matches!(
                &error,
                SignError::File(SkillFileError::NotRegular {
                    kind: "symlink",
                    ..
                })
            ),
            "{error}"
        );
        assert!(error.to_string().contains("link`"), "{error}");
    }

    #[test]
    fn unsigned_and_malformed_signatures_are_refused() {
        let temp = skill();
        let trust = TrustStore::empty();
        assert!(matches!(
            verify_dir(temp.path(), &trust),
            Err(VerifyError::Unsigned { .. })
        ));
        let text = format!("{MANIFEST}signature: ed25519:AAAA\npublisher: 0123456789abcdef\n");
        fs::write(temp.path().join(MANIFEST_FILE), text).unwrap();
        assert!(matches!(
            verify_dir(temp.path(), &trust),
            Err(VerifyError::MalformedSignature { .. })
        ));
    }
}
