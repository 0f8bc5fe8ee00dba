//! `aegisclaw doctor`: runs the engine's health checks and prints them in the seed's format
//! (or the report as `--json`). Exits 1 when a required check fails. Works without a home.

use super::Globals;
use crate::exit::Exit;
use crate::output::Printer;
use aegisclaw_engine::doctor::{self, DoctorInput, Report, Status};

/// Width of the name and its dots, so every detail starts in the same column.
const NAME_WIDTH: usize = 22;

pub(crate) fn run(globals: &Globals, printer: &Printer) -> anyhow::Result<Exit> {
    let input = DoctorInput::gather(globals.home()?);
    let report = doctor::run(&input);
    printer.json(&report);
    print_report(printer, &report);
    Ok(if report.required_failed() {
        Exit::Refused
    } else {
        Exit::Ok
    })
}

fn print_report(printer: &Printer, report: &Report) {
    printer.data("AegisClaw Health Check");
    printer.data("");
    for result in &report.results {
        let marker = match result.status {
            Status::Pass => "[ ok ]",
            Status::Warn => "[warn]",
            Status::Fail => "[FAIL]",
        };
        let dots = ".".repeat(NAME_WIDTH.saturating_sub(result.name.len() + 1).max(3));
        printer.data(format_args!(
            "{marker} {} {dots} {}",
            result.name, result.detail
        ));
        if let Some(fix) = result.fix {
            printer.data(format_args!("       → {fix}"));
        }
    }
    printer.data("");
    printer.data(format_args!(
        "{}/{} checks passed ({}, {})",
        report.passed,
        report.results.len(),
        plural(report.warnings, "warning"),
        plural(report.failures, "failure")
    ));
}

fn plural(count: usize, word: &str) -> String {
    match count {
        1 => format!("1 {word}"),
        n => format!("{n} {word}s"),
    }
}
