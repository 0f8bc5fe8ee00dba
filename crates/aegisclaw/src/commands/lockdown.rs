//! `aegisclaw lockdown on|off|status`: the emergency stop persisted in `state/lockdown.json`.
//! Each change is recorded in the audit log before the state is written; asking for the state
//! lockdown is already in changes nothing and records nothing.

use super::Globals;
use crate::cli::LockdownCommand;
use crate::exit::Exit;
use crate::output::Printer;
use aegisclaw_core::lockdown::{self, Lockdown};
use aegisclaw_engine::Context;
use aegisclaw_engine::doctor::error_chain;
use anyhow::Context as _;
use serde_json::json;

pub(crate) fn run(
    globals: &Globals,
    command: LockdownCommand,
    printer: &Printer,
) -> anyhow::Result<Exit> {
    let mut context = globals.context()?;
    let exit = match command {
        LockdownCommand::On { reason } => switch(&mut context, Some(reason), printer),
        LockdownCommand::Off => switch(&mut context, None, printer),
        LockdownCommand::Status => status(&context, printer),
    };
    context.close()?;
    exit
}

/// Turns lockdown on (`Some(reason)`) or off (`None`).
fn switch(
    context: &mut Context,
    on: Option<Option<String>>,
    printer: &Printer,
) -> anyhow::Result<Exit> {
    let home = context.home().clone();
    let turn_on = on.is_some();
    // 1. Read the current state; an unreadable one counts as on (fail closed) and is replaced.
    let unreadable = match lockdown::load(&home) {
        Ok(previous) if previous.on == turn_on => {
            printer.json(&document(&previous, false));
            let since = previous
                .since
                .map(|since| format!(" since {since}"))
                .unwrap_or_default();
            printer.status(format_args!(
                "Lockdown is already {}{since}; nothing changed",
                word(turn_on)
            ));
            return Ok(Exit::Ok);
        }
        Ok(_) => false,
        Err(error) => {
            printer.warn(format_args!("{}; replacing it", error_chain(&error)));
            true
        }
    };
    // 2. Record the change, durably, before making it.
    let reason = on.flatten();
    let kind = if turn_on {
        "lockdown.on"
    } else {
        "lockdown.off"
    };
    let mut event = context.event(kind);
    if let Some(reason) = &reason {
        event = event.reason(reason.clone());
    }
    if unreadable {
        event = event.data(json!({"previous": "unreadable"}));
    }
    let record = context.record(event)?;
    // 3. Write the new state.
    let state = Lockdown {
        on: turn_on,
        since: Some(record.ts),
        reason,
        by: Some(context.actor().to_string()),
    };
    lockdown::set(&home, &state)
        .with_context(|| format!("recorded `{kind}` but could not write the new state"))?;
    printer.json(&document(&state, true));
    if turn_on {
        printer.status("Lockdown is on: every run is refused until `aegisclaw lockdown off`");
    } else {
        printer.status("Lockdown is off: runs are allowed again");
    }
    Ok(Exit::Ok)
}

fn status(context: &Context, printer: &Printer) -> anyhow::Result<Exit> {
    let state = lockdown::load(context.home()).context(
        "cannot read the lockdown state, so every run is refused: fix the file or replace it \
         with `aegisclaw lockdown on` or `aegisclaw lockdown off`",
    )?;
    printer.json(&document(&state, false));
    printer.data(format_args!("lockdown: {}", word(state.on)));
    if let Some(since) = state.since {
        printer.data(format_args!("  since   {since}"));
    }
    if let Some(by) = &state.by {
        printer.data(format_args!("  by      {by}"));
    }
    if let Some(reason) = &state.reason {
        printer.data(format_args!("  reason  {reason}"));
    }
    Ok(Exit::Ok)
}

fn word(on: bool) -> &'static str {
    if on { "on" } else { "off" }
}

fn document(state: &Lockdown, changed: bool) -> serde_json::Value {
    json!({
        "on": state.on,
        "since": state.since.map(|since| since.to_string()),
        "by": state.by,
        "reason": state.reason,
        "changed": changed,
    })
}
