//! `aegisclaw completions <shell>`: the completion script generated from the clap tree, so it
//! always matches the words and flags this binary has.

use crate::cli::{Cli, CompletionsArgs};
use crate::exit::Exit;
use crate::output::Printer;
use clap::CommandFactory as _;

pub(crate) fn run(args: CompletionsArgs, printer: &Printer) -> anyhow::Result<Exit> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "aegisclaw", &mut script);
    printer.raw(&script);
    Ok(Exit::Ok)
}
