//! Linux-only code of the sandbox crate.

pub(crate) mod block;
pub(crate) mod cgroups;
pub(crate) mod facts;
pub(crate) mod hardening;
pub(crate) mod launch;
pub(crate) mod path;
pub(crate) mod probe;
pub(crate) mod process;
pub(crate) mod seccomp;
pub(crate) mod slot_netns;
