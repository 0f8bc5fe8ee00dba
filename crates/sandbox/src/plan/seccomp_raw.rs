// The raw shape of `data/seccomp.yaml`, shared by `build.rs` (which reads it) and the tests of
// `plan::seccomp` (which read it again to compare with what the build emitted), through
// `include!` after `seccomp_types.rs`. The crate itself never parses the file.

/// `data/seccomp.yaml` as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTable {
    /// What every syscall not allowed returns.
    pub(crate) default: Errno,
    /// The entries.
    pub(crate) syscalls: Vec<RawRule>,
    /// The families `socket()` and `socketpair()` may use.
    pub(crate) socket_families: Vec<RawSocketFamily>,
}

/// One entry of `syscalls:` as written: exactly one of `allow`, `deny`, `filter`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRule {
    /// Syscalls allowed unchecked.
    #[serde(default)]
    pub(crate) allow: Vec<String>,
    /// Syscalls that return `errno`.
    #[serde(default)]
    pub(crate) deny: Vec<String>,
    /// Syscalls allowed only when an argument passes.
    #[serde(default)]
    pub(crate) filter: Vec<String>,
    /// Only on these architectures (empty: on all).
    #[serde(default)]
    pub(crate) arch: Vec<Arch>,
    /// The argument a `deny_flags` or `allow_values` filter checks.
    #[serde(default)]
    pub(crate) arg: Option<u8>,
    /// Refused when any of these flags is set.
    #[serde(default)]
    pub(crate) deny_flags: Vec<Flag>,
    /// The entry holds only for a run whose execution is limited to its granted files (no
    /// bare `shell.exec`); for a run that may execute anything, its syscalls run unchecked.
    #[serde(default)]
    pub(crate) exec_limited: bool,
    /// Refused unless the argument is one of these.
    #[serde(default)]
    pub(crate) allow_values: Vec<u64>,
    /// The `socket_families` table applies.
    #[serde(default)]
    pub(crate) sockets: bool,
    /// What a denied or refused call returns.
    #[serde(default)]
    pub(crate) errno: Option<Errno>,
    /// Why (required, non-empty).
    pub(crate) reason: String,
}

/// One entry of `socket_families:` as written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSocketFamily {
    /// The family.
    pub(crate) family: SocketFamily,
    /// The types allowed (empty: any the kernel accepts).
    #[serde(default)]
    pub(crate) types: Vec<SocketType>,
    /// The protocols allowed (empty: any the kernel accepts).
    #[serde(default)]
    pub(crate) protocols: Vec<SocketProtocol>,
    /// `AF_UNIX` only: the `socketpair` types left under `unix_sockets: pairs_only`.
    #[serde(default)]
    pub(crate) pairs_only_types: Vec<SocketType>,
    /// Why (required, non-empty).
    pub(crate) reason: String,
}
