//! `aegisclaw lockdown on|off|status`: the emergency stop through the engine
//! (`engine::lockdown`). `on` and `off` record each change before the state names it, and
//! `on` kills the runs in flight; asking for the state lockdown is already in (and agrees
//! with the log) changes nothing. `status` exits 1 when the state disagrees with the log.

use super::Globals;
use crate::cli::LockdownCommand;
use crate::exit::Exit;
use crate::output::{Printer, escape};
use aegisclaw_core::lockdown::{LIFT_HINT, Lockdown, State};
use aegisclaw_engine::doctor::error_chain;
use aegisclaw_engine::lockdown::{self, Switched};
use aegisclaw_engine::runs::StopOutcome;
use serde_json::json;

pub(crate) fn run(
    globals: &Globals,
    command: LockdownCommand,
    printer: &Printer,
) -> anyhow::Result<Exit> {
    let mut context = globals.context()?;
    let exit = match command {
        LockdownCommand::On { reason } => lockdown::turn_on(&mut context, reason)
            .map_err(Into::into)
            .map(|switched| report(&switched, printer)),
        LockdownCommand::Off => lockdown::turn_off(&mut context)
            .map_err(Into::into)
            .map(|switched| report(&switched, printer)),
        LockdownCommand::Status => status(&lockdown::status(&context), printer),
    };
    context.close()?;
    exit
}

fn report(switched: &Switched, printer: &Printer) -> Exit {
    let state = &switched.state;
    let mut document = document(state, None);
    document["changed"] = json!(switched.changed);
    document["stopped"] = json!(switched.stopped);
    printer.json(&document);
    if let Some(disagreement) = &switched.previous.disagreement {
        printer.warn(format_args!("{}; replaced it", error_chain(disagreement)));
    }
    if !switched.changed {
        let since = state
            .since
            .map(|since| format!(" since {since}"))
            .unwrap_or_default();
        printer.status(format_args!(
            "Lockdown is already {}{since}; nothing changed",
            word(state.on)
        ));
    } else if state.on {
        printer.status("Lockdown is on: every run is refused until `aegisclaw lockdown off`");
    } else {
        printer.status("Lockdown is off: runs are allowed again");
    }
    for stopped in &switched.stopped {
        let what = match &stopped.outcome {
            StopOutcome::Killed { ended: true } => "killed".to_string(),
            StopOutcome::Killed { ended: false } => "killed (not yet seen to end)".to_string(),
            StopOutcome::Gone => "already gone (stale entry removed)".to_string(),
            StopOutcome::NotARun => "left alone: its pid is no sandboxed run".to_string(),
            StopOutcome::Failed { error } => format!("NOT stopped: {}", escape::text(error)),
        };
        printer.status(format_args!(
            "  run {} ({}): {what}",
            escape::field(&stopped.run),
            escape::field(stopped.skill.as_deref().unwrap_or("?"))
        ));
    }
    Exit::Ok
}

fn status(state: &State, printer: &Printer) -> anyhow::Result<Exit> {
    let disagreement = state.disagreement.as_ref().map(|d| error_chain(d));
    let file = state.file.clone().unwrap_or_default();
    let mut document = document(&file, disagreement.as_deref());
    document["on"] = json!(state.on());
    document["changed"] = json!(false);
    printer.json(&document);
    printer.data(format_args!("lockdown: {}", word(state.on())));
    if let Some(since) = file.since {
        printer.data(format_args!("  since   {since}"));
    }
    if let Some(by) = &file.by {
        printer.data(format_args!("  by      {}", escape::text(by)));
    }
    if let Some(reason) = &file.reason {
        printer.data(format_args!("  reason  {}", escape::text(reason)));
    }
    if let Some(record) = &file.record {
        printer.data(format_args!("  record  seq {}", record.seq));
    }
    match disagreement {
        None => Ok(Exit::Ok),
        Some(disagreement) => {
            printer.warn(format_args!(
                "the lockdown state disagrees with the audit log, so it counts as on: {disagreement}"
            ));
            printer.hint(LIFT_HINT);
            Ok(Exit::Refused)
        }
    }
}

fn word(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

fn document(state: &Lockdown, disagreement: Option<&str>) -> serde_json::Value {
    json!({
        "on": state.on,
        "since": state.since.map(|since| since.to_string()),
        "by": state.by,
        "reason": state.reason,
        "record": state.record,
        "disagreement": disagreement,
    })
}
