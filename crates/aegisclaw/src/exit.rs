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
