//! Dispatch from the clap tree to one module per CLI word, and what those modules share:
//! resolving the home and opening an engine context for the acting user.

mod completions;
mod doctor;
mod init;
mod lockdown;
mod logs;
mod policy;
mod posture;
mod quickstart;
mod sandbox;
mod scope;
mod secrets;
mod skill;
mod unavailable;

use crate::cli::{Cli, Command};
use crate::exit::Exit;
use crate::output::Printer;
use aegisclaw_core::home::{Home, HomeError};
use aegisclaw_engine::{Context, ContextError};
use std::path::PathBuf;
use unavailable::{Area, not_available};

/// Flags every word shares.
#[derive(Debug)]
pub(crate) struct Globals {
    home: Option<PathBuf>,
}

impl Globals {
    /// The home this invocation uses (it may not exist yet).
    pub(crate) fn home(&self) -> anyhow::Result<Home> {
        Ok(Home::resolve(self.home.as_deref())?)
    }

    /// Opens the initialised home for the CLI's actor.
    pub(crate) fn context(&self) -> anyhow::Result<Context> {
        let home = self.home()?;
        match Context::open(home.clone(), aegisclaw_engine::cli_actor()) {
            Ok(context) => Ok(context),
            Err(error @ ContextError::Home(HomeError::Missing { .. })) => Err(anyhow::Error::new(
                error,
            )
            .context(format!(
                "cannot open the AegisClaw home `{}`: create one with `aegisclaw init --defaults`",
                home.root().display()
            ))),
            Err(error) => Err(error.into()),
        }
    }
}

/// Runs the parsed command.
pub(crate) fn run(cli: Cli, printer: &Printer) -> anyhow::Result<Exit> {
    let globals = Globals {
        home: cli.globals.home,
    };
    match cli.command {
        Command::Init(args) => init::run(&globals, args, printer),
        Command::Scope(command) => scope::run(&globals, command, printer),
        Command::Skill(command) => skill::run(&globals, command, printer),
        Command::Logs(args) => logs::run(&globals, args, printer),
        Command::Quickstart(args) => quickstart::run(&globals, args, printer),
        Command::Sandbox(command) => sandbox::run(&globals, command, printer),
        Command::Secrets(command) => secrets::run(&globals, command, printer),
        Command::Lockdown(command) => lockdown::run(&globals, command, printer),
        Command::Doctor => doctor::run(&globals, printer),
        Command::Policy(command) => policy::run(&globals, command, printer),
        Command::Posture => posture::run(&globals, printer),
        Command::Completions(args) => completions::run(args, printer),
        Command::Approvals(_) => {
            not_available(printer, "approvals", Area::ApprovalsAndNotifications)
        }
        Command::Notify(_) => not_available(printer, "notify", Area::ApprovalsAndNotifications),
        Command::Serve(_) => not_available(printer, "serve", Area::Server),
        Command::Xray(_) => not_available(printer, "xray", Area::Server),
        Command::McpServer => not_available(printer, "mcp-server", Area::Mcp),
        Command::Simulate(_) => not_available(printer, "simulate", Area::SkillEcosystem),
    }
}
