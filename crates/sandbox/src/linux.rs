//! Linux-only code of the sandbox crate.

pub(crate) mod hardening;
pub(crate) mod probe;
