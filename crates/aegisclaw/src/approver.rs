//! The terminal approval broker: asks the person at the terminal about each scope the policy
//! marked `needs_approval`, saying what "always" would cover (for an unsigned command: only
//! that command in that directory). Without a terminal nobody can answer, and the scope is
//! refused. Everything it shows that came from the request (scope paths, argv, working
//! directory, skill, reasons) is escaped as the Printer's lines are.

use crate::output::escape;
use aegisclaw_engine::approval::{Answer, ApprovalBroker, ApprovalError, ApprovalRequest};
use inquire::error::InquireError;
use inquire::{Confirm, Select};
use std::fmt;
use std::io::IsTerminal as _;

/// Asks on stdin/stderr when both are terminals.
#[derive(Debug, Default)]
pub(crate) struct TerminalApprover;

struct Choice {
    answer: Answer,
    label: &'static str,
}

impl fmt::Display for Choice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label)
    }
}

impl ApprovalBroker for TerminalApprover {
    fn ask(&mut self, request: &ApprovalRequest) -> Result<Answer, ApprovalError> {
        if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
            return Err(ApprovalError::NoApprover {
                scope: request.scope.clone(),
            });
        }
        let publisher = request
            .publisher
            .as_deref()
            .map_or_else(|| "unsigned".to_string(), |id| format!("publisher {id}"));
        // A path scope is asked about as what it resolves to, which is what gets bound.
        let asked = request
            .requested
            .as_deref()
            .map_or_else(String::new, |text| format!(", asked as `{text}`"));
        let question = format!(
            "Allow `{}` ({} risk{asked}) for skill `{}` ({publisher})?",
            request.scope, request.risk, request.skill
        );
        // The argv, paths and reasons are untrusted: no control, bidi or invisible character
        // reaches the terminal raw, and the prompt stays on its lines.
        let question = escape::text(&question).into_owned();
        let why = if request.reasons.is_empty() {
            format!("decided by {}", request.rules.join(", "))
        } else {
            request.reasons.join("; ")
        };
        let help = format!("{why}; \"always\" covers {}", request.always_covers);
        let help = escape::text(&help).into_owned();
        let choices = vec![
            Choice {
                answer: Answer::Deny,
                label: "Deny",
            },
            Choice {
                answer: Answer::Once,
                label: "Allow once (this run only)",
            },
            Choice {
                answer: Answer::Always,
                label: if request.publisher.is_none() {
                    "Always allow this exact command in this directory (remembered for 30 days)"
                } else {
                    "Always allow for this skill and publisher (remembered for 30 days)"
                },
            },
        ];
        let answer = match Select::new(&question, choices)
            .with_help_message(&help)
            .prompt()
        {
            Ok(choice) => choice.answer,
            Err(error) => return refusal(error, request),
        };
        if answer != Answer::Always {
            return Ok(answer);
        }
        // The menu wraps (Up from "Deny" is "Always"): a grant that outlives the run is
        // confirmed on its own, and anything but "yes" denies.
        match Confirm::new(&format!(
            "Remember `{}` for 30 days, without asking again?",
            escape::text(&request.scope)
        ))
        .with_default(false)
        .with_help_message("anything but yes denies this run")
        .prompt()
        {
            Ok(true) => Ok(Answer::Always),
            Ok(false) => Ok(Answer::Deny),
            Err(error) => refusal(error, request),
        }
    }
}

/// What a prompt that ended without an answer means: cancelled is denied; no terminal, no
/// approver.
fn refusal(error: InquireError, request: &ApprovalRequest) -> Result<Answer, ApprovalError> {
    match error {
        InquireError::OperationCanceled | InquireError::OperationInterrupted => Ok(Answer::Deny),
        InquireError::NotTTY => Err(ApprovalError::NoApprover {
            scope: request.scope.clone(),
        }),
        other => Err(ApprovalError::Failed {
            detail: other.to_string(),
        }),
    }
}
