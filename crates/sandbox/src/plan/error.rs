//! Why a run spec cannot become a plan: every [`PlanError`] names the path, command or
//! setting at fault. Holds no logic.

use super::ExecSource;
use super::exec::ResolveFailure;
use std::path::PathBuf;

/// Why a run spec cannot become a plan.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// `argv` is empty.
    #[error("empty command")]
    EmptyCommand,
    /// A path is not absolute or has `..`.
    #[error("path `{path}` must be absolute without `..`")]
    BadPath {
        /// The path.
        path: PathBuf,
    },
    /// A path does not exist on the host.
    #[error("path `{path}` does not exist")]
    Missing {
        /// The path.
        path: PathBuf,
    },
    /// A path would cover what the sandbox itself provides.
    #[error("path `{path}` cannot be mounted into the sandbox: it overlaps `{reserved}`")]
    Reserved {
        /// The path.
        path: PathBuf,
        /// The sandbox path it overlaps.
        reserved: &'static str,
    },
    /// The workdir is not covered by any mount.
    #[error("working directory `{path}` is not covered by a `files.read` or `files.write` scope")]
    WorkdirNotMounted {
        /// The workdir.
        path: PathBuf,
    },
    /// Landlock is required and missing.
    #[error("Landlock is unavailable on this kernel; the native sandbox refuses to run without it")]
    LandlockUnavailable,
    /// A string has a NUL byte.
    #[error("`{text}` contains a NUL byte")]
    NulByte {
        /// The text (lossy).
        text: String,
    },
    /// An environment variable's name or value has a NUL byte. The value is never shown: it
    /// may be a secret's.
    #[error("environment variable `{name}` contains a NUL byte (its value is not shown)")]
    NulInEnv {
        /// The variable's name (a NUL in it written as `\0`).
        name: String,
    },
    /// A program the run may execute cannot be resolved to the files that run it.
    #[error("cannot resolve {} `{name}` for execution: {reason}", source_words(*.by))]
    Unresolved {
        /// The program as named.
        name: String,
        /// The entrypoint or a `shell.exec` command.
        by: ExecSource,
        /// Why.
        reason: ResolveFailure,
    },
    /// A program the run may execute resolves to a file the sandbox does not show.
    #[error(
        "`{name}` runs `{path}`, which the sandbox does not show (only `/usr` and the scope paths are inside): scope its directory with `files.read`"
    )]
    ExecutableNotVisible {
        /// The program as named.
        name: String,
        /// The file it needs.
        path: PathBuf,
    },
    /// A `files.*` mount names a unix socket: file scopes never grant `connect()`.
    #[error(
        "`{path}` is a unix socket, and `files.*` never grants connect(): ask for `unix.connect:{path}`"
    )]
    SocketNeedsConnect {
        /// The socket's path.
        path: PathBuf,
    },
    /// A `unix.connect` mount names something that is not a unix socket.
    #[error("`unix.connect:{path}` names a {kind}, not a unix socket")]
    NotASocket {
        /// The path.
        path: PathBuf,
        /// What it is.
        kind: &'static str,
    },
    /// A `unix.connect` scope beside a bound directory, on a Landlock ABI that cannot tell
    /// the scoped socket from every other host socket under that directory.
    #[error(
        "`unix.connect:{path}` cannot be enforced beside a bound directory on Landlock ABI {abi}: the run would have to be allowed unix sockets, and those reach every host socket under the bound directories (Landlock ABI {needed} confines them)"
    )]
    UnixConnectUnenforceable {
        /// The socket's path.
        path: PathBuf,
        /// The kernel's Landlock ABI.
        abi: u32,
        /// The ABI that would enforce it ([`LANDLOCK_ABI_RESOLVE_UNIX`](super::LANDLOCK_ABI_RESOLVE_UNIX)).
        needed: u32,
    },
}

/// How an error names a program: the run's entrypoint or a `shell.exec` command.
fn source_words(source: ExecSource) -> &'static str {
    match source {
        ExecSource::Entrypoint => "the run's program",
        ExecSource::Command => "the `shell.exec` command",
    }
}
