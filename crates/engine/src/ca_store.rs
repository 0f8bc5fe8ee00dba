//! The CA store every run is given at `/etc/ssl/certs/ca-certificates.crt`: `sandbox.ca_bundle`
//! or the distribution's, opened once (symlinks followed), refused unless it is a regular file
//! whose resolved path a `files.read` scope would not rate critical (the host's `/etc` aside),
//! read from that descriptor up to [`CA_STORE_MAX_BYTES`] and checked to hold certificates only
//! (`aegisclaw_core::pem`). The run gets a copy of those certificates, never a bind of the file.
//! Authorisation and `doctor` both call [`load`]; records nothing itself.

use aegisclaw_core::pem::{self, PemError};
use aegisclaw_core::scope::{Risk, Scope, ScopeContext};
use aegisclaw_sandbox::path::{ObjectKind, OpenedPath, PathError, open_scope_path};
use aegisclaw_sandbox::plan::{CA_STORE_MAX_BYTES, CaStoreSpec, DISTRIBUTION_CA_BUNDLES};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The host's configuration trees: the sensitive-path table rates all of each critical, and
/// every distribution keeps its CA store in `/etc` (software under `/usr/local` in
/// `/usr/local/etc`), so a store under one is judged by its contents alone.
const SYSTEM_CONFIGURATION: [&str; 3] = ["/etc", "/usr/etc", "/usr/local/etc"];

/// Where the store came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Whose {
    /// `sandbox.ca_bundle` in `config.yaml`.
    #[serde(rename = "sandbox.ca_bundle")]
    Configured,
    /// The first of [`DISTRIBUTION_CA_BUNDLES`] on the host.
    #[serde(rename = "distribution")]
    Distribution,
}

impl std::fmt::Display for Whose {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Whose::Configured => "`sandbox.ca_bundle`",
            Whose::Distribution => "the distribution's",
        })
    }
}

/// The CA store runs are given, as `run.launch` records it (`ca_store`).
#[derive(Clone, Debug, Serialize)]
pub struct CaStore {
    /// Where it came from.
    pub from: Whose,
    /// The path as configured or listed.
    pub path: PathBuf,
    /// The path it resolved to when it was opened (symlinks followed).
    pub resolved: PathBuf,
    /// What the run is given.
    #[serde(flatten)]
    pub given: Given,
}

/// What a run is given of its CA store.
#[derive(Clone, Serialize)]
#[serde(tag = "given", rename_all = "snake_case")]
pub enum Given {
    /// The certificates, checked and copied onto the run's own root.
    Certificates {
        /// How many certificates the run is given.
        certificates: usize,
        /// Hex sha256 of what the run is given (the certificates, re-encoded).
        sha256: String,
        /// Hex sha256 of the file as read; the same as `sha256` for a store of certificates
        /// only.
        file_sha256: String,
        /// The certificates, PEM.
        #[serde(skip)]
        pem: String,
    },
    /// The distribution's store, which only root can change (it and every directory above it
    /// owned by root and writable by no one else), bound read-only as it is: not read.
    RootOwned {
        /// Its size when it was opened.
        bytes: u64,
    },
}

impl std::fmt::Debug for Given {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Given::Certificates {
                certificates,
                sha256,
                ..
            } => f
                .debug_struct("Certificates")
                .field("certificates", certificates)
                .field("sha256", sha256)
                .finish_non_exhaustive(),
            Given::RootOwned { bytes } => {
                f.debug_struct("RootOwned").field("bytes", bytes).finish()
            }
        }
    }
}

impl CaStore {
    /// What the sandbox is told to give the run.
    pub fn spec(&self) -> CaStoreSpec {
        match &self.given {
            Given::Certificates { pem, .. } => CaStoreSpec::Certificates(pem.clone()),
            Given::RootOwned { .. } => CaStoreSpec::RootOwned(self.resolved.clone()),
        }
    }

    /// How many certificates it holds, reading a root-owned store (which runs are given
    /// unread) and checking it as a configured one is: `doctor`'s fuller look.
    pub fn count_certificates(&self) -> Result<usize, CaStoreError> {
        match &self.given {
            Given::Certificates { certificates, .. } => Ok(*certificates),
            Given::RootOwned { .. } => {
                let opened = open(&self.resolved, self.from)?;
                let bytes = read_bounded(&opened, &self.path, self.from)?;
                pem::certificates_only(&bytes)
                    .map(|read| read.count)
                    .map_err(|source| CaStoreError::Content {
                        path: self.path.clone(),
                        from: self.from,
                        source,
                    })
            }
        }
    }
}

/// Why the CA store is refused: every run is, until it is fixed. Each names the store, where
/// it came from and why; none quotes its contents.
#[derive(Debug, thiserror::Error)]
pub enum CaStoreError {
    /// It cannot be opened or read (missing, unreadable, removed).
    #[error("the CA store `{path}` ({from}) cannot be read")]
    Open {
        /// The path as configured or listed.
        path: PathBuf,
        /// Where it came from.
        from: Whose,
        /// Why.
        #[source]
        source: PathError,
    },
    /// Something other than a regular file (a directory, a FIFO, a device, a socket).
    #[error("the CA store `{path}` ({from}) is a {found}, not a regular file")]
    NotRegular {
        /// The path as configured or listed.
        path: PathBuf,
        /// Where it came from.
        from: Whose,
        /// What is there.
        found: &'static str,
    },
    /// Its path is where a `files.read` scope would be critical (a home's key store, the
    /// AegisClaw home): refused whatever it holds, and not read.
    #[error(
        "the CA store `{path}` ({from}){} lies where a `files.read` scope is critical: {reason}",
        resolves_to(path, resolved)
    )]
    Sensitive {
        /// The path as configured or listed.
        path: PathBuf,
        /// Where it came from.
        from: Whose,
        /// What it resolved to.
        resolved: PathBuf,
        /// The rating's first reason.
        reason: String,
    },
    /// Larger than [`CA_STORE_MAX_BYTES`].
    #[error(
        "the CA store `{path}` ({from}) is larger than {CA_STORE_MAX_BYTES} bytes, the most a CA store may hold"
    )]
    TooLarge {
        /// The path as configured or listed.
        path: PathBuf,
        /// Where it came from.
        from: Whose,
    },
    /// It holds something besides certificates, or none.
    #[error("the CA store `{path}` ({from}) does not hold certificates only")]
    Content {
        /// The path as configured or listed.
        path: PathBuf,
        /// Where it came from.
        from: Whose,
        /// What is wrong with it (names lines and block labels, never contents).
        #[source]
        source: PemError,
    },
}

/// ` (resolved: <path>)` when the path resolved to another.
fn resolves_to(path: &Path, resolved: &Path) -> String {
    if path == resolved {
        String::new()
    } else {
        format!(" (resolved: `{}`)", resolved.display())
    }
}

impl CaStoreError {
    /// Where the refused store came from: a configured one is bad input (exit 2), the
    /// distribution's an unusable host (exit 3).
    pub fn from(&self) -> Whose {
        match self {
            CaStoreError::Open { from, .. }
            | CaStoreError::NotRegular { from, .. }
            | CaStoreError::Sensitive { from, .. }
            | CaStoreError::TooLarge { from, .. }
            | CaStoreError::Content { from, .. } => *from,
        }
    }
}

/// The CA store runs are given: `configured` (`sandbox.ca_bundle`), else the first of
/// [`DISTRIBUTION_CA_BUNDLES`] that is a file, checked as the module says; `None` when there is
/// no store at all (a run's TLS verification then fails, closed). `context` is the scope
/// context runs are rated in (both homes resolved).
pub fn load(
    configured: Option<&Path>,
    context: &ScopeContext,
) -> Result<Option<CaStore>, CaStoreError> {
    // 1. Which store.
    let (path, from) = match configured {
        Some(path) => (path.to_path_buf(), Whose::Configured),
        None => match DISTRIBUTION_CA_BUNDLES
            .iter()
            .map(PathBuf::from)
            .find(|path| path.is_file())
        {
            Some(path) => (path, Whose::Distribution),
            None => return Ok(None),
        },
    };
    // 2. Opened once; everything below is about this object.
    let opened = open(&path, from)?;
    // 3. Rated as a `files.read` scope on what it resolves to, before anything is read.
    let resolved = opened.path().to_path_buf();
    if let Err(reason) = placement(&resolved, context) {
        return Err(CaStoreError::Sensitive {
            path,
            from,
            resolved,
            reason,
        });
    }
    // 4. The distribution's own store, when only root can change it or swap it, is bound as
    // it is: reading and checking its 200-odd KB on every run would cost more than the rest
    // of a run's start. A configured store, or one anyone but root could have written, is
    // read from that descriptor, bounded, and checked to be certificates only.
    if from == Whose::Distribution && opened.is_root_only() && above_is_root_only(&resolved) {
        return Ok(Some(CaStore {
            from,
            path,
            given: Given::RootOwned {
                bytes: opened.len(),
            },
            resolved,
        }));
    }
    let bytes = read_bounded(&opened, &path, from)?;
    let certificates = match pem::certificates_only(&bytes) {
        Ok(certificates) => certificates,
        Err(source) => return Err(CaStoreError::Content { path, from, source }),
    };
    Ok(Some(CaStore {
        from,
        path,
        resolved,
        given: Given::Certificates {
            certificates: certificates.count,
            sha256: certificates.sha256,
            file_sha256: certificates.input_sha256,
            pem: certificates.pem,
        },
    }))
}

/// Opens the store once (symlinks followed); refused unless it is a regular file.
fn open(path: &Path, from: Whose) -> Result<OpenedPath, CaStoreError> {
    let opened = open_scope_path(path).map_err(|source| CaStoreError::Open {
        path: path.to_path_buf(),
        from,
        source,
    })?;
    let found = match opened.kind() {
        ObjectKind::File => None,
        ObjectKind::Directory => Some("directory"),
        ObjectKind::Socket => Some("unix socket"),
        ObjectKind::Other => Some("device or FIFO"),
    };
    match found {
        Some(found) => Err(CaStoreError::NotRegular {
            path: path.to_path_buf(),
            from,
            found,
        }),
        None => Ok(opened),
    }
}

/// Reads the opened store through its descriptor, refused beyond [`CA_STORE_MAX_BYTES`].
fn read_bounded(opened: &OpenedPath, path: &Path, from: Whose) -> Result<Vec<u8>, CaStoreError> {
    let bytes = opened
        .read_prefix(CA_STORE_MAX_BYTES + 1)
        .map_err(|source| CaStoreError::Open {
            path: path.to_path_buf(),
            from,
            source,
        })?;
    if bytes.len() as u64 > CA_STORE_MAX_BYTES {
        return Err(CaStoreError::TooLarge {
            path: path.to_path_buf(),
            from,
        });
    }
    Ok(bytes)
}

/// Whether every directory above `resolved` (which holds no symlink) is owned by root and
/// writable by neither its group nor others, so no one but root can swap the file it names.
fn above_is_root_only(resolved: &Path) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    resolved.ancestors().skip(1).all(|directory| {
        fs_err::symlink_metadata(directory)
            .is_ok_and(|meta| meta.is_dir() && meta.uid() == 0 && meta.mode() & 0o022 == 0)
    })
}

/// Why a store at `resolved` is refused for where it lies, if it is: inside the AegisClaw home
/// (wherever that is), or outside [`SYSTEM_CONFIGURATION`] where a `files.read` scope on it
/// would be critical. Under the host's configuration tree, which the table rates critical as a
/// whole, the contents decide, and the table is not consulted. The user's home is not asked
/// about: it may be `/` for a service user.
fn placement(resolved: &Path, context: &ScopeContext) -> Result<(), String> {
    let in_aegisclaw_home = context
        .aegisclaw_home
        .as_ref()
        .is_some_and(|home| resolved.starts_with(home));
    if SYSTEM_CONFIGURATION
        .iter()
        .any(|tree| resolved.starts_with(tree))
        && !in_aegisclaw_home
    {
        return Ok(());
    }
    let text = format!("files.read:{}", resolved.display());
    let rating = match Scope::parse(&text, context) {
        Ok(scope) => scope.rating(context),
        // A resolved path always parses; if one did not, fail closed.
        Err(error) => return Err(error.to_string()),
    };
    if rating.risk == Risk::Critical {
        return Err(rating.reasons.into_iter().next().unwrap_or_default());
    }
    Ok(())
}

#[cfg(test)]
mod tests;
