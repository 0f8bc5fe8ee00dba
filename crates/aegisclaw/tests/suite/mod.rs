#[macro_use]
mod common;
mod approval;
mod audit_flow;
mod cli_golden;
mod completions;
mod doctor;
mod init_wizard;
mod lockdown;
mod policy;
mod quickstart;
mod sandbox_escape;
mod secrets;
mod skill_flow;
