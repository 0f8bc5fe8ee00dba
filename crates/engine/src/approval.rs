//! The approval broker: who answers a `needs_approval` decision. One trait, so the terminal
//! prompt today and web, Slack, editor and MCP approvers later are each one adapter.
//! Remembered "always" answers live in `aegisclaw_core::approval::Grants`.

use aegisclaw_core::scope::Risk;
use serde::Serialize;

/// What a human is asked to approve.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApprovalRequest {
    /// The run asking.
    pub run: String,
    /// The skill's name.
    pub skill: String,
    /// Its publisher key id (`None`: an unsigned, ad-hoc run).
    pub publisher: Option<String>,
    /// The normalised scope as decided: a path scope names its resolved path.
    pub scope: String,
    /// The text as asked, when it differs (a symlink, `~`, or no path at all).
    pub requested: Option<String>,
    /// Its risk.
    pub risk: Risk,
    /// Why the policy wants approval.
    pub reasons: Vec<String>,
    /// The rules that decided.
    pub rules: Vec<String>,
    /// What an "always" answer would cover (`GrantSubject::covers`): for an unsigned skill,
    /// only this exact command in this working directory. Say it to the person asked.
    pub always_covers: String,
}

/// A human's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// Approve this run only.
    Once,
    /// Approve and remember it (a grant that expires).
    Always,
    /// Refuse.
    Deny,
}

/// Errors from asking.
#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    /// Nobody can be asked (no terminal, no approver configured): the scope is refused.
    #[error(
        "no approver is available to answer for `{scope}`: run in a terminal, or grant it ahead of time"
    )]
    NoApprover {
        /// The scope that needed approval.
        scope: String,
    },
    /// The approver failed.
    #[error("the approver failed: {detail}")]
    Failed {
        /// What went wrong.
        detail: String,
    },
}

/// Answers approval requests. Implementations must fail closed: anything but an explicit
/// approval is a refusal.
pub trait ApprovalBroker {
    /// Asks about one scope.
    fn ask(&mut self, request: &ApprovalRequest) -> Result<Answer, ApprovalError>;
}

/// The broker for non-interactive runs: nobody to ask, so every request is refused.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoApprover;

impl ApprovalBroker for NoApprover {
    fn ask(&mut self, request: &ApprovalRequest) -> Result<Answer, ApprovalError> {
        Err(ApprovalError::NoApprover {
            scope: request.scope.clone(),
        })
    }
}
