//! `aegisclaw scope explain`: each scope as a run's authorisation sees it (the engine's
//! `explain_scope`: homes and paths resolved, refused where a run refuses it), with kind,
//! target, what it grants and does not, its risk and why. Bad scopes are errors naming the
//! text at fault (exit 2).

use super::Globals;
use crate::cli::ScopeCommand;
use crate::exit::Exit;
use crate::output::Printer;
use aegisclaw_core::env;
use aegisclaw_engine::authorise::explain_scope;
use anyhow::{Context as _, anyhow};
use std::path::PathBuf;

pub(crate) fn run(
    globals: &Globals,
    command: ScopeCommand,
    printer: &Printer,
) -> anyhow::Result<Exit> {
    let ScopeCommand::Explain { scopes } = command;
    // The AegisClaw home as a run would open it; without one, its default place.
    let aegisclaw_home = match globals.home() {
        Ok(home) => home.root().to_path_buf(),
        Err(_) => env::get(env::HOME)
            .map(|home| PathBuf::from(home).join(".aegisclaw"))
            .ok_or_else(|| anyhow!("neither the AegisClaw home nor `HOME` is known"))?,
    };
    let workdir = std::env::current_dir().context("cannot read the working directory")?;
    let mut explanations = Vec::new();
    let mut errors = Vec::new();
    for text in &scopes {
        match explain_scope(text, &workdir, &aegisclaw_home) {
            Ok(explained) => explanations.push(explained),
            Err(error) => errors.push(aegisclaw_engine::doctor::error_chain(&error)),
        }
    }
    printer.json(&explanations);
    for (index, explained) in explanations.iter().enumerate() {
        let explanation = &explained.explanation;
        if index > 0 {
            printer.data("");
        }
        printer.line(&explanation.scope);
        if let Some(requested) = &explained.requested {
            printer.line(format_args!("  asked   {requested}"));
        }
        printer.line(format_args!("  kind    {}", explanation.kind));
        printer.line(format_args!("  target  {}", explanation.target));
        printer.line(format_args!("  grants  {}", explanation.meaning));
        for limit in &explanation.limits {
            printer.line(format_args!("  limit   {limit}"));
        }
        printer.line(format_args!("  risk    {}", explanation.risk));
        for reason in &explanation.reasons {
            printer.line(format_args!("  why     {reason}"));
        }
    }
    match errors.len() {
        0 => Ok(Exit::Ok),
        1 => Err(anyhow!("{}", errors.remove(0))),
        count => Err(anyhow!("{count} invalid scopes: {}", errors.join("; "))),
    }
}
