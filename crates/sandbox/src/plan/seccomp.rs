//! The seccomp table: a default-deny allowlist with argument filters, reviewed data in
//! `data/seccomp.yaml`, checked and compiled into Rust by `build.rs` (no YAML parsing at run
//! time). Holds names, never numbers: compiling it to BPF is the Linux apply step's job.

use serde::{Deserialize, Serialize};

include!("seccomp_types.rs");

#[cfg(test)]
include!("seccomp_raw.rs");
#[cfg(test)]
include!("seccomp_check.rs");

/// The whole table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SeccompTable {
    /// What every syscall not allowed returns (unknown numbers, numbers past the highest
    /// known, x32 numbers on x86_64).
    pub default: Errno,
    /// The entries, each naming the syscalls it covers.
    pub rules: &'static [SeccompRule],
    /// The only families `socket()` and `socketpair()` may use.
    pub socket_families: &'static [SocketFamilyRule],
}

/// One entry: syscalls that share an action and a reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SeccompRule {
    /// The syscalls' names.
    pub syscalls: &'static [&'static str],
    /// Only on these architectures (empty: on all).
    pub arch: &'static [Arch],
    /// What the filter does with them.
    pub action: SeccompAction,
    /// The action holds only for a run limited to executing its granted files
    /// ([`ExecMemory::FilesOnly`]); a run that may execute anything runs these unchecked.
    pub exec_limited: bool,
    /// Why.
    pub reason: &'static str,
}

/// What the filter does with a syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SeccompAction {
    /// Runs unchecked.
    Allow,
    /// Returns `errno`.
    Deny {
        /// The errno.
        errno: Errno,
    },
    /// Returns `errno` when argument `arg` has any of `flags`, else runs.
    DenyFlags {
        /// The argument (0-5).
        arg: u8,
        /// The flags.
        flags: &'static [Flag],
        /// The errno.
        errno: Errno,
    },
    /// Runs only when argument `arg` is one of `values`, else returns `errno`.
    AllowValues {
        /// The argument (0-5).
        arg: u8,
        /// The values (compared with the argument's low 32 bits).
        values: &'static [u32],
        /// The errno.
        errno: Errno,
    },
    /// `socket` / `socketpair`: runs only for what [`SeccompTable::socket_families`] allows.
    Sockets,
}

/// What code a run may map or make executable in memory, besides the files it may `execve`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExecMemory {
    /// No writable object a mount flag cannot make noexec: no memfd, no executable System V
    /// shared memory. A run without a bare `shell.exec`, whose `/tmp` and `files.write` binds
    /// are noexec: a file it writes or downloads can be neither executed nor loaded.
    FilesOnly,
    /// Anything: a run with a bare `shell.exec`, which may execute anything anyway.
    Any,
}

/// A socket family `socket()` and `socketpair()` may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SocketFamilyRule {
    /// The family.
    pub family: SocketFamily,
    /// The types allowed (empty: any the kernel accepts).
    pub types: &'static [SocketType],
    /// The protocols allowed (empty: any the kernel accepts).
    pub protocols: &'static [SocketProtocol],
    /// `AF_UNIX`: the `socketpair` types left under [`crate::plan::UnixSockets::PairsOnly`].
    pub pairs_only_types: &'static [SocketType],
    /// Why.
    pub reason: &'static str,
}

impl Errno {
    /// The errno's name, as `data/seccomp.yaml` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Errno::Eperm => "EPERM",
            Errno::Enosys => "ENOSYS",
            Errno::Eacces => "EACCES",
            Errno::Eafnosupport => "EAFNOSUPPORT",
            Errno::Eprotonosupport => "EPROTONOSUPPORT",
        }
    }
}

impl Arch {
    /// The architecture this binary was built for, if the table knows it.
    pub const fn current() -> Option<Arch> {
        if cfg!(target_arch = "x86_64") {
            Some(Arch::X86_64)
        } else if cfg!(target_arch = "aarch64") {
            Some(Arch::Aarch64)
        } else {
            None
        }
    }
}

impl SeccompRule {
    /// What the rule does for a run under `exec`: an `exec_limited` rule allows its syscalls
    /// unchecked under [`ExecMemory::Any`].
    pub fn action_for(&self, exec: ExecMemory) -> SeccompAction {
        if self.exec_limited && exec == ExecMemory::Any {
            SeccompAction::Allow
        } else {
            self.action
        }
    }

    /// Whether the rule applies on the architecture this binary was built for.
    pub fn applies_here(&self) -> bool {
        self.arch.is_empty() || Arch::current().is_some_and(|arch| self.arch.contains(&arch))
    }
}

impl SeccompTable {
    /// The rules that apply on this architecture.
    pub fn rules_here(&self) -> impl Iterator<Item = &'static SeccompRule> + use<> {
        self.rules.iter().filter(|rule| rule.applies_here())
    }

    /// What the rules do for a run under `exec` (an `exec_limited` rule allows its syscalls
    /// unchecked under [`ExecMemory::Any`]).
    fn actions_here(&self, exec: ExecMemory) -> impl Iterator<Item = (usize, SeccompAction)> {
        self.rules_here()
            .map(move |rule| (rule.syscalls.len(), rule.action_for(exec)))
    }

    /// How many syscalls may run on this architecture under `exec` (some only with allowed
    /// arguments).
    pub fn allowed_here(&self, exec: ExecMemory) -> usize {
        self.actions_here(exec)
            .filter(|(_, action)| !matches!(action, SeccompAction::Deny { .. }))
            .map(|(count, _)| count)
            .sum()
    }

    /// How many of those run only with allowed arguments.
    pub fn filtered_here(&self, exec: ExecMemory) -> usize {
        self.actions_here(exec)
            .filter(|(_, action)| {
                !matches!(action, SeccompAction::Allow | SeccompAction::Deny { .. })
            })
            .map(|(count, _)| count)
            .sum()
    }

    /// The families sockets may have.
    pub fn families(&self) -> Vec<SocketFamily> {
        self.socket_families
            .iter()
            .map(|rule| rule.family)
            .collect()
    }
}

/// The table of `data/seccomp.yaml`, checked at build time (`seccomp_check.rs`).
static TABLE: SeccompTable = include!(concat!(env!("OUT_DIR"), "/seccomp_table.rs"));

/// The embedded table.
pub fn seccomp_table() -> &'static SeccompTable {
    &TABLE
}

/// Parses and checks a table in the YAML format of `data/seccomp.yaml` (the build does this
/// for the real table), then builds the value the build emits for it.
#[cfg(test)]
pub(crate) fn parse(text: &str) -> Result<SeccompTable, String> {
    let raw: RawTable = serde_saphyr::from_str(text).map_err(|error| error.to_string())?;
    check_table(&raw)?;
    fn leak<T>(items: Vec<T>) -> &'static [T] {
        Box::leak(items.into_boxed_slice())
    }
    let rules = raw
        .syscalls
        .into_iter()
        .map(|rule| {
            let arg = rule.arg.unwrap_or(0);
            let errno = rule.errno.unwrap_or(raw.default);
            let action = if !rule.allow.is_empty() {
                SeccompAction::Allow
            } else if !rule.deny.is_empty() {
                SeccompAction::Deny { errno }
            } else if rule.sockets {
                SeccompAction::Sockets
            } else if !rule.deny_flags.is_empty() {
                SeccompAction::DenyFlags {
                    arg,
                    flags: leak(rule.deny_flags),
                    errno,
                }
            } else {
                SeccompAction::AllowValues {
                    arg,
                    values: leak(
                        rule.allow_values
                            .iter()
                            .map(|value| u32::try_from(*value).unwrap())
                            .collect(),
                    ),
                    errno,
                }
            };
            let names = [rule.allow, rule.deny, rule.filter].concat();
            SeccompRule {
                syscalls: leak(
                    names
                        .into_iter()
                        .map(|name| &*Box::leak(name.into_boxed_str()))
                        .collect(),
                ),
                arch: leak(rule.arch),
                action,
                exec_limited: rule.exec_limited,
                reason: Box::leak(rule.reason.into_boxed_str()),
            }
        })
        .collect();
    let socket_families = raw
        .socket_families
        .into_iter()
        .map(|family| SocketFamilyRule {
            family: family.family,
            types: leak(family.types),
            protocols: leak(family.protocols),
            pairs_only_types: leak(family.pairs_only_types),
            reason: Box::leak(family.reason.into_boxed_str()),
        })
        .collect();
    Ok(SeccompTable {
        default: raw.default,
        rules: leak(rules),
        socket_families: leak(socket_families),
    })
}

#[cfg(test)]
mod tests;
