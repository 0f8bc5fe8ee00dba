//! The seccomp deny table: reviewed data in `data/seccomp.yaml`, parsed once. Compiling it to
//! BPF is the Linux apply step's job.

use crate::plan::PlanError;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// The embedded table.
const TABLE: &str = include_str!("../../data/seccomp.yaml");

/// The errno a denied call returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DenyErrno {
    /// "Operation not permitted": the call exists but is forbidden.
    #[serde(rename = "EPERM")]
    Eperm,
    /// "Function not implemented": libc falls back to an older call.
    #[serde(rename = "ENOSYS")]
    Enosys,
}

/// A `clone` flag that makes a `clone` call denied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[expect(
    missing_docs,
    reason = "each variant is the Linux flag of the same name"
)]
pub enum CloneFlag {
    #[serde(rename = "CLONE_NEWNS")]
    NewNs,
    #[serde(rename = "CLONE_NEWCGROUP")]
    NewCgroup,
    #[serde(rename = "CLONE_NEWUTS")]
    NewUts,
    #[serde(rename = "CLONE_NEWIPC")]
    NewIpc,
    #[serde(rename = "CLONE_NEWUSER")]
    NewUser,
    #[serde(rename = "CLONE_NEWPID")]
    NewPid,
    #[serde(rename = "CLONE_NEWNET")]
    NewNet,
    #[serde(rename = "CLONE_NEWTIME")]
    NewTime,
}

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

/// One denied syscall.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeccompDeny {
    /// The syscall's name.
    pub syscall: String,
    /// What it returns.
    pub errno: DenyErrno,
    /// Why it is denied (required, non-empty).
    pub reason: String,
    /// Deny only calls whose first argument has any of these flags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clone_flags: Vec<CloneFlag>,
    /// Deny unless the first argument is one of these values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_arg0: Vec<u64>,
}

/// The parsed table, checked: every entry has a reason, no syscall twice.
pub fn seccomp_deny_table() -> Result<Vec<SeccompDeny>, PlanError> {
    static PARSED: OnceLock<Result<Vec<SeccompDeny>, String>> = OnceLock::new();
    PARSED
        .get_or_init(|| parse(TABLE))
        .clone()
        .map_err(|detail| PlanError::SeccompTable { detail })
}

fn parse(text: &str) -> Result<Vec<SeccompDeny>, String> {
    let table: Vec<SeccompDeny> =
        serde_saphyr::from_str(text).map_err(|error| error.to_string())?;
    let mut seen = std::collections::BTreeSet::new();
    for entry in &table {
        if entry.reason.trim().is_empty() {
            return Err(format!("entry `{}` has no reason", entry.syscall));
        }
        if !seen.insert(entry.syscall.as_str()) {
            return Err(format!("entry `{}` appears twice", entry.syscall));
        }
        if !entry.clone_flags.is_empty() && !entry.allow_arg0.is_empty() {
            return Err(format!(
                "entry `{}` has both `clone_flags` and `allow_arg0`",
                entry.syscall
            ));
        }
    }
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
