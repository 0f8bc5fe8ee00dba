//! AegisClaw's engine: the one door every front end (CLI, server, MCP) calls. Today it opens
//! a home for a given actor and records audited actions; the run envelope of DESIGN §1 follows.
#![forbid(unsafe_code)]

pub mod approval;
pub mod authorise;
pub mod ca_store;
pub mod capture;
pub mod context;
pub mod doctor;
pub mod egress;
pub mod lockdown;
pub mod posture;
pub mod run;
pub mod runs;
pub mod runtime;

pub use context::{Context, ContextError, audit_keys, cli_actor, open_audit, read_signing_key};
