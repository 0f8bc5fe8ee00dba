//! AegisClaw's sandbox: the only crate allowed `unsafe`, and the only one that makes Linux
//! security syscalls. Owns pre-main process hardening, the layer probes, and the native
//! runtime (`plan` builds a sandbox as data, `runtime` applies it).
#![warn(missing_docs)]

pub mod block;
pub mod interpreter;
#[cfg(target_os = "linux")]
mod linux;
pub mod netns;
pub mod path;
pub mod plan;
pub mod probe;
pub mod process;
pub mod runtime;

/// Errors from hardening the AegisClaw process itself.
#[derive(Debug, thiserror::Error)]
pub enum HardeningError {
    /// A `prctl` or `setrlimit` call failed.
    #[error("cannot harden the process: `{call}` failed")]
    Syscall {
        /// The call that failed.
        call: &'static str,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// This platform has no implementation; AegisClaw refuses to run unhardened.
    #[error("process hardening is not implemented on this platform")]
    Unsupported,
}

/// Hardens the current process before anything else runs: no core dumps, not ptrace-attachable
/// by other processes of the same user, and no `LD_*` variables passed on to children.
///
/// Call it first thing in `main`, while the process has a single thread.
pub fn harden_process() -> Result<(), HardeningError> {
    #[cfg(target_os = "linux")]
    {
        linux::hardening::harden_process()
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err(HardeningError::Unsupported)
    }
}
