// The seccomp table's types, shared by the crate (`plan/seccomp.rs`) and `build.rs` through
// `include!`: a build script cannot use the crate it builds, and one definition keeps the YAML
// it checks and the table the crate compiles in step. Needs `serde::{Deserialize, Serialize}`
// in scope.

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
pub enum CloneFlag {
    /// `CLONE_NEWNS`.
    #[serde(rename = "CLONE_NEWNS")]
    NewNs,
    /// `CLONE_NEWCGROUP`.
    #[serde(rename = "CLONE_NEWCGROUP")]
    NewCgroup,
    /// `CLONE_NEWUTS`.
    #[serde(rename = "CLONE_NEWUTS")]
    NewUts,
    /// `CLONE_NEWIPC`.
    #[serde(rename = "CLONE_NEWIPC")]
    NewIpc,
    /// `CLONE_NEWUSER`.
    #[serde(rename = "CLONE_NEWUSER")]
    NewUser,
    /// `CLONE_NEWPID`.
    #[serde(rename = "CLONE_NEWPID")]
    NewPid,
    /// `CLONE_NEWNET`.
    #[serde(rename = "CLONE_NEWNET")]
    NewNet,
    /// `CLONE_NEWTIME`.
    #[serde(rename = "CLONE_NEWTIME")]
    NewTime,
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
