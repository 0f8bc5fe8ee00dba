//! The `aegisclaw` binary: harden the process, parse the command line, run the word, map the
//! outcome onto an exit code. Each word lives in `commands/<word>.rs`.
#![forbid(unsafe_code)]

mod approver;
mod bundled;
mod cli;
mod commands;
mod environment;
mod exit;
mod output;
mod wizard;

use std::process::ExitCode;

fn main() -> ExitCode {
    // 1. Hardening first, while single-threaded; refuse to run unhardened.
    let hardening = aegisclaw_sandbox::harden_process();
    // 2. Parse (clap exits 2 on usage errors and 0 on --help/--version).
    let cli = cli::Cli::parse_args();
    let printer = output::Printer::new(cli.globals.json, cli.globals.quiet);
    if let Err(error) = hardening {
        let error = anyhow::Error::new(error);
        printer.error(&error, exit::Exit::Usage.code());
        return exit::Exit::Usage.into();
    }
    // 3. Run the word and map the outcome.
    match commands::run(cli, &printer) {
        Ok(exit) => exit.into(),
        Err(error) => {
            let exit = exit::code_for(&error);
            printer.error(&error, exit.code());
            exit.into()
        }
    }
}
