//! The emergency stop as engine operations, for every front door: `on` and `off` record the
//! change, durably, then write `state/lockdown.json` naming that record; `on` then kills every
//! run in flight (their pid namespaces) and records one `lockdown.killed` naming them. The
//! state is judged against the audit log (`core::lockdown::check_against_log`), so a missing
//! or disagreeing state counts as on and `off` lifts it on the record. Does not print.

use crate::context::{Context, ContextError};
use crate::runs::{self, RunsError, Stopped};
use aegisclaw_core::lockdown::{
    self, Disagreement, Lockdown, LockdownError, OFF_KIND, ON_KIND, RecordRef, State,
};
use serde_json::json;

/// The audit kind naming the runs `lockdown on` killed.
pub const KILLED_KIND: &str = "lockdown.killed";

/// Errors of [`turn_on`] and [`turn_off`].
#[derive(Debug, thiserror::Error)]
pub enum SwitchError {
    /// The change could not be recorded (nothing was changed).
    #[error(transparent)]
    Context(#[from] ContextError),
    /// The change is recorded, but the state file could not be written.
    #[error("recorded `{kind}` but could not write the new state")]
    State {
        /// The kind recorded.
        kind: &'static str,
        /// Why.
        #[source]
        source: LockdownError,
    },
    /// Lockdown is on, but the runs in flight could not be listed to stop them.
    #[error("lockdown is on, but the runs in flight could not be stopped")]
    Runs(#[source] RunsError),
}

/// What a switch did.
#[derive(Debug)]
pub struct Switched {
    /// The state before, as checked against the audit log.
    pub previous: State,
    /// The state the file now holds.
    pub state: Lockdown,
    /// Whether a change was recorded and written (`false`: it already was so, and agreed).
    pub changed: bool,
    /// The runs in flight `on` found (empty for `off`), as recorded in `lockdown.killed`.
    pub stopped: Vec<Stopped>,
}

/// The lockdown state, checked against the whole audit log (a rollback to an older genuine
/// state file is caught here, not by each run's cheaper check).
pub fn status(context: &Context) -> State {
    lockdown::check_against_log(context.home())
}

/// Turns lockdown on (recorded with `reason`) unless it already is and agrees with the log,
/// then kills every run in flight; a run in flight is killed even when nothing changed.
pub fn turn_on(context: &mut Context, reason: Option<String>) -> Result<Switched, SwitchError> {
    let mut switched = switch(context, true, reason)?;
    // 4. Every run in flight, each marked first so its `run.finished` can say who stopped it.
    let seq = switched.state.record.as_ref().map(|record| record.seq);
    let stopped = runs::stop_all(context.home(), &json!({"by": ON_KIND, "seq": seq}))
        .map_err(SwitchError::Runs)?;
    if !stopped.is_empty() {
        context.record(
            context
                .event(KILLED_KIND)
                .decision("killed")
                .reason("lockdown on stops every run in flight")
                .data(runs::killed_data(&stopped)),
        )?;
    }
    switched.stopped = stopped;
    Ok(switched)
}

/// Lifts lockdown (on the record) unless it already is off and agrees with the log; a state
/// that is missing or disagrees counts as on, so this is how it is lifted.
pub fn turn_off(context: &mut Context) -> Result<Switched, SwitchError> {
    switch(context, false, None)
}

fn switch(
    context: &mut Context,
    on: bool,
    reason: Option<String>,
) -> Result<Switched, SwitchError> {
    // 1. The current state, against the whole log.
    let previous = status(context);
    if previous.disagreement.is_none() && previous.on() == on {
        let state = previous.file.clone().unwrap_or_default();
        return Ok(Switched {
            previous,
            state,
            changed: false,
            stopped: Vec::new(),
        });
    }
    // 2. Record the change, durably, before making it.
    let kind = if on { ON_KIND } else { OFF_KIND };
    let mut event = context.event(kind);
    if let Some(reason) = &reason {
        event = event.reason(reason.clone());
    }
    match &previous.disagreement {
        Some(Disagreement::Unreadable(_)) => event = event.data(json!({"previous": "unreadable"})),
        Some(disagreement) => {
            event = event.data(json!({
                "previous": "disagreed",
                "disagreement": crate::doctor::error_chain(disagreement),
            }));
        }
        None => {}
    }
    let (record, offset) = context.record_located(event)?;
    // 3. Write the state naming that record.
    let state = Lockdown {
        on,
        since: Some(record.ts),
        reason,
        by: Some(context.actor().to_string()),
        record: Some(RecordRef {
            seq: record.seq,
            hash: record.hash,
            offset,
        }),
    };
    lockdown::set(context.home(), &state).map_err(|source| SwitchError::State { kind, source })?;
    Ok(Switched {
        previous,
        state,
        changed: true,
        stopped: Vec::new(),
    })
}
