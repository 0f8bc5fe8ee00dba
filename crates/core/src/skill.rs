//! Skills: the manifest format, signing and verifying a skill directory, and the skills
//! installed in the home. Does not run skills or interpret scopes (see `crate::scope`).

pub mod manifest;
pub mod registry;
pub mod sign;
