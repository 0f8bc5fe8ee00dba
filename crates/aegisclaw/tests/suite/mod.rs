#[macro_use]
mod common;
mod audit_flow;
mod cli_golden;
mod skill_flow;
