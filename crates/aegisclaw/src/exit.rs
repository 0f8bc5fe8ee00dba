//! Exit codes (DESIGN §7) in one place, and the mapping from errors onto them.

use std::process::ExitCode;

/// How the process ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exit {
    /// The command did what was asked.
    Ok = 0,
    /// The action was refused or a check failed (denied, verify failed, doctor found a failure).
    Refused = 1,
    /// Usage or input error, or a word that is not available yet.
    Usage = 2,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// An error that means "refused", not "bad input": it exits 1.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct Refusal(pub(crate) String);

/// Maps an error onto its exit code: refusals are 1, everything else is an input or usage
/// error (2).
pub(crate) fn code_for(error: &anyhow::Error) -> Exit {
    // `downcast_ref` also finds a `Refusal` attached with `.context(...)`.
    if error.downcast_ref::<Refusal>().is_some() || error.chain().any(|cause| cause.is::<Refusal>())
    {
        Exit::Refused
    } else {
        Exit::Usage
    }
}
