//! `aegisclaw scope explain`: parse scopes and show kind, target, what they grant, their risk
//! and why. Bad scopes are errors naming the text at fault (exit 2).

use super::Globals;
use crate::cli::ScopeCommand;
use crate::exit::Exit;
use crate::output::Printer;
use aegisclaw_core::env;
use aegisclaw_core::scope::{Scope, ScopeContext};
use anyhow::anyhow;
use std::path::PathBuf;

pub(crate) fn run(
    globals: &Globals,
    command: ScopeCommand,
    printer: &Printer,
) -> anyhow::Result<Exit> {
    let ScopeCommand::Explain { scopes } = command;
    let context = ScopeContext {
        user_home: env::get(env::HOME).map(PathBuf::from),
        aegisclaw_home: globals.home().ok().map(|home| home.root().to_path_buf()),
        resolve: None,
    };
    let mut explanations = Vec::new();
    let mut errors = Vec::new();
    for text in &scopes {
        match Scope::parse(text, &context) {
            Ok(scope) => explanations.push(scope.explain(&context)),
            Err(error) => errors.push(error),
        }
    }
    printer.json(&explanations);
    for (index, explanation) in explanations.iter().enumerate() {
        if index > 0 {
            printer.data("");
        }
        printer.data(&explanation.scope);
        printer.data(format_args!("  kind    {}", explanation.kind));
        printer.data(format_args!("  target  {}", explanation.target));
        printer.data(format_args!("  grants  {}", explanation.meaning));
        printer.data(format_args!("  risk    {}", explanation.risk));
        for reason in &explanation.reasons {
            printer.data(format_args!("  why     {reason}"));
        }
    }
    match errors.len() {
        0 => Ok(Exit::Ok),
        1 => Err(errors.remove(0).into()),
        count => {
            let listed: Vec<String> = errors.iter().map(ToString::to_string).collect();
            Err(anyhow!("{count} invalid scopes: {}", listed.join("; ")))
        }
    }
}
