//! Exit codes (DESIGN §7) in one place, and the mapping from errors onto them.

use std::process::ExitCode;

/// How the process ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exit {
    /// The command did what was asked.
    Ok,
    /// The action was refused or a check failed (denied, verify failed, doctor found a failure).
    Refused,
    /// Usage or input error, or a word that is not available yet.
    Usage,
    /// The environment failed: a state file of the home that cannot be used (not a regular
    /// file, or larger than its kind may be).
    Environment,
    /// A sandboxed run ended: its own exit code (124 for a timeout, 128 + n for signal n).
    Child(u8),
}

impl Exit {
    /// The numeric exit code.
    pub(crate) fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Refused => 1,
            Exit::Usage => 2,
            Exit::Environment => 3,
            Exit::Child(code) => code,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}

/// An error that means "refused", not "bad input": it exits 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Refusal(pub(crate) String);

/// Maps an error onto its exit code: refusals are 1, a state file of the home that cannot be
/// used is 3 (a config or policy that cannot is bad input, 2), a refused CA store 2 when
/// configured and 3 when it is the distribution's, everything else an input or usage error (2).
pub(crate) fn code_for(error: &anyhow::Error) -> Exit {
    let unusable = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<aegisclaw_core::home::FileProblem>());
    if let Some(problem) = unusable {
        return if problem.kind().is_input() {
            Exit::Usage
        } else {
            Exit::Environment
        };
    }
    // A refused CA store: the configured one is bad input, the distribution's a host problem.
    let ca_store = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<aegisclaw_engine::ca_store::CaStoreError>());
    if let Some(refused) = ca_store {
        return match refused.from() {
            aegisclaw_engine::ca_store::Whose::Configured => Exit::Usage,
            aegisclaw_engine::ca_store::Whose::Distribution => Exit::Environment,
        };
    }
    // `downcast_ref` also finds a `Refusal` attached with `.context(...)`.
    if error.downcast_ref::<Refusal>().is_some() || error.chain().any(|cause| cause.is::<Refusal>())
    {
        Exit::Refused
    } else {
        Exit::Usage
    }
}
