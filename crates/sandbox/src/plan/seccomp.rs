//! The seccomp deny table: reviewed data in `data/seccomp.yaml`, checked and compiled into
//! Rust by `build.rs` (no YAML parsing at run time). Compiling it to BPF is the Linux apply
//! step's job.

use crate::plan::PlanError;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// One entry of the table as `build.rs` emits it.
struct Entry {
    syscall: &'static str,
    errno: DenyErrno,
    reason: &'static str,
    clone_flags: &'static [CloneFlag],
    allow_arg0: &'static [u64],
}

/// The table, from `data/seccomp.yaml`, checked at build time (`seccomp_check.rs`).
const TABLE: &[Entry] = include!(concat!(env!("OUT_DIR"), "/seccomp_table.rs"));

#[cfg(test)]
include!("seccomp_check.rs");

include!("seccomp_types.rs");

impl CloneFlag {
    /// The flag's value (linux/sched.h; the same on every architecture).
    pub fn bits(self) -> u64 {
        match self {
            CloneFlag::NewTime => 0x0000_0080,
            CloneFlag::NewNs => 0x0002_0000,
            CloneFlag::NewCgroup => 0x0200_0000,
            CloneFlag::NewUts => 0x0400_0000,
            CloneFlag::NewIpc => 0x0800_0000,
            CloneFlag::NewUser => 0x1000_0000,
            CloneFlag::NewPid => 0x2000_0000,
            CloneFlag::NewNet => 0x4000_0000,
        }
    }
}

/// The table, checked: every entry has a reason, no syscall twice.
pub fn seccomp_deny_table() -> Result<Vec<SeccompDeny>, PlanError> {
    static TABLE_VEC: OnceLock<Vec<SeccompDeny>> = OnceLock::new();
    Ok(TABLE_VEC
        .get_or_init(|| {
            TABLE
                .iter()
                .map(|entry| SeccompDeny {
                    syscall: entry.syscall.to_string(),
                    errno: entry.errno,
                    reason: entry.reason.to_string(),
                    clone_flags: entry.clone_flags.to_vec(),
                    allow_arg0: entry.allow_arg0.to_vec(),
                })
                .collect()
        })
        .clone())
}

/// Parses and checks a table in the YAML format of `data/seccomp.yaml` (the build does this
/// for the real table).
#[cfg(test)]
fn parse(text: &str) -> Result<Vec<SeccompDeny>, String> {
    let table: Vec<SeccompDeny> =
        serde_saphyr::from_str(text).map_err(|error| error.to_string())?;
    check_table(table.iter().map(|entry| {
        (
            entry.syscall.as_str(),
            entry.reason.as_str(),
            !entry.clone_flags.is_empty(),
            !entry.allow_arg0.is_empty(),
        )
    }))?;
    Ok(table)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_has_a_reason() {
        let table = seccomp_deny_table().unwrap();
        assert!(table.len() >= 40, "{}", table.len());
        for entry in &table {
            assert!(!entry.reason.trim().is_empty(), "{}", entry.syscall);
        }
    }

    #[test]
    fn the_compiled_table_is_the_yaml() {
        let yaml = parse(include_str!("../../data/seccomp.yaml")).unwrap();
        assert_eq!(seccomp_deny_table().unwrap(), yaml);
    }

    #[test]
    fn an_entry_without_reason_is_refused() {
        let error = parse("- {syscall: mount, errno: EPERM, reason: \"\"}").unwrap_err();
        assert_eq!(error, "entry `mount` has no reason");
        assert!(parse("- {syscall: mount, errno: EPERM}").is_err());
    }

    #[test]
    fn a_duplicate_is_refused() {
        let error = parse(
            "- {syscall: bpf, errno: EPERM, reason: a}\n- {syscall: bpf, errno: ENOSYS, reason: b}",
        )
        .unwrap_err();
        assert_eq!(error, "entry `bpf` appears twice");
    }
}
