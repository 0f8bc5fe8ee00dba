//! `aegisclaw doctor`: being built (issue #4).

use super::Globals;
use super::unavailable::{Area, not_available};
use crate::exit::Exit;
use crate::output::Printer;

pub(crate) fn run(_globals: &Globals,  printer: &Printer) -> anyhow::Result<Exit> {
    not_available(printer, "doctor", Area::PolicyAndDoctor)
}
