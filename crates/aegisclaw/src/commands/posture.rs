//! `aegisclaw posture`: scores the home's security posture from what is enforced (measured
//! sandbox layers, policy decisions, a verified audit chain) and prints it, or `--json`.

use super::Globals;
use crate::exit::Exit;
use crate::output::Printer;
use aegisclaw_engine::posture::{self, Posture, PostureInput};
use aegisclaw_sandbox::probe;

/// Width of the bar drawn for each category.
const BAR_WIDTH: u32 = 20;

pub(crate) fn run(globals: &Globals, printer: &Printer) -> anyhow::Result<Exit> {
    let context = globals.context()?;
    let input = PostureInput::gather(
        context.home(),
        context.config(),
        probe::probe_all(),
        probe::detect_runtimes(),
    );
    let posture = posture::score(&input);
    printer.json(&posture);
    print_posture(printer, &posture);
    Ok(Exit::Ok)
}

fn print_posture(printer: &Printer, posture: &Posture) {
    printer.data("AegisClaw Security Posture");
    printer.data("");
    let width = posture
        .categories
        .iter()
        .map(|category| category.name.len())
        .max()
        .unwrap_or(0);
    for category in &posture.categories {
        let filled = (category.points * BAR_WIDTH)
            .checked_div(category.max)
            .unwrap_or(0);
        let bar = format!(
            "[{}{}]",
            "#".repeat(filled as usize),
            ".".repeat((BAR_WIDTH - filled) as usize)
        );
        printer.data(format_args!(
            "{:<width$}  {:>2}/{:<2}  {bar}  {}",
            category.name, category.points, category.max, category.detail
        ));
        if let Some(raise) = &category.raise {
            printer.data(format_args!("{:<width$}  → {raise}", ""));
        }
    }
    printer.data("");
    printer.data(format_args!(
        "Total {}/{} ({}%), grade {}",
        posture.total, posture.max, posture.percent, posture.grade
    ));
}
