//! The CA store every run is given at `/etc/ssl/certs/ca-certificates.crt`: `sandbox.ca_bundle`
//! or the distribution's, opened once (symlinks followed), refused unless it is a regular file
//! whose resolved path a `files.read` scope would not rate critical (the host's `/etc` aside),
//! read from that descriptor up to [`CA_STORE_MAX_BYTES`] and checked to hold certificates only
//! (`aegisclaw_core::pem`). The run gets a copy of those certificates, never a bind of the file.
//! Authorisation and `doctor` both call [`load`]; records nothing itself.

use aegisclaw_core::pem::{self, PemError};
use aegisclaw_core::scope::{Risk, Scope, ScopeContext};
use aegisclaw_sandbox::path::{ObjectKind, PathError, open_scope_path};
use aegisclaw_sandbox::plan::{CA_STORE_MAX_BYTES, DISTRIBUTION_CA_BUNDLES};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The host's configuration tree: the sensitive-path table rates all of it critical, and every
/// distribution keeps its CA store there, so a store under it is judged by its contents alone.
const SYSTEM_CONFIGURATION: &str = "/etc";

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

/// A CA store checked to hold certificates only, as `run.launch` records it (`ca_store`).
#[derive(Clone, Serialize)]
pub struct CaStore {
    /// Where it came from.
    pub from: Whose,
    /// The path as configured or listed.
    pub path: PathBuf,
    /// The path it resolved to when it was opened (symlinks followed).
    pub resolved: PathBuf,
    /// How many certificates the run is given.
    pub certificates: usize,
    /// Hex sha256 of what the run is given (the certificates, re-encoded).
    pub sha256: String,
    /// Hex sha256 of the file as read; the same as `sha256` for a store of certificates only.
    pub file_sha256: String,
    /// The certificates, PEM.
    #[serde(skip)]
    pub pem: String,
}

impl std::fmt::Debug for CaStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaStore")
            .field("from", &self.from)
            .field("path", &self.path)
            .field("resolved", &self.resolved)
            .field("certificates", &self.certificates)
            .field("sha256", &self.sha256)
            .finish_non_exhaustive()
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
    let opened = open_scope_path(&path).map_err(|source| CaStoreError::Open {
        path: path.clone(),
        from,
        source,
    })?;
    let found = match opened.kind() {
        ObjectKind::File => None,
        ObjectKind::Directory => Some("directory"),
        ObjectKind::Socket => Some("unix socket"),
        ObjectKind::Other => Some("device or FIFO"),
    };
    if let Some(found) = found {
        return Err(CaStoreError::NotRegular { path, from, found });
    }
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
    // 4. Read from that descriptor, bounded, and checked to be certificates only.
    let bytes = opened
        .read_prefix(CA_STORE_MAX_BYTES + 1)
        .map_err(|source| CaStoreError::Open {
            path: path.clone(),
            from,
            source,
        })?;
    if bytes.len() as u64 > CA_STORE_MAX_BYTES {
        return Err(CaStoreError::TooLarge { path, from });
    }
    // The distribution's own store, which only root can change, is given as it is (a
    // certificate is counted, not parsed): checking its 200-odd KB on every run would cost
    // more than the rest of a run's start. A configured store, or one anyone but root could
    // have written, is checked to hold certificates only.
    let trusted = if from == Whose::Distribution && opened.is_root_only() {
        String::from_utf8(bytes.clone())
            .ok()
            .and_then(pem::as_root_gave_it)
    } else {
        None
    };
    let certificates = match trusted {
        Some(certificates) => certificates,
        None => match pem::certificates_only(&bytes) {
            Ok(certificates) => certificates,
            Err(source) => return Err(CaStoreError::Content { path, from, source }),
        },
    };
    Ok(Some(CaStore {
        from,
        path,
        resolved,
        certificates: certificates.count,
        sha256: certificates.sha256,
        file_sha256: certificates.input_sha256,
        pem: certificates.pem,
    }))
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
    if resolved.starts_with(SYSTEM_CONFIGURATION) && !in_aegisclaw_home {
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
