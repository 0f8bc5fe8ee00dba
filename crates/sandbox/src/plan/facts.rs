//! What the plan needs from the host, as data: [`HostFacts`], measured once per run by
//! `crate::linux::facts` (or written by hand in tests). Holds no logic and reads nothing.

use super::exec::ResolvedProgram;
use super::userns::UserNsCounter;
use serde::Serialize;
use std::path::PathBuf;

/// A top-level host directory of the `/usr` family (`/bin`, `/lib`, …).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SystemDir {
    /// The path, e.g. `/bin`.
    pub path: PathBuf,
    /// Its symlink target when it is a symlink (merged `/usr`: `usr/bin`); `None` when it is a
    /// real directory, which is then bound read-only like `/usr`.
    pub symlink: Option<PathBuf>,
}

/// Which cgroup hierarchy can take a run's limits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CgroupFacts {
    /// v1: one writable parent directory per controller (`None` when that controller is not).
    V1 {
        /// e.g. `/sys/fs/cgroup/memory/aegisclaw`.
        memory: Option<PathBuf>,
        /// e.g. `/sys/fs/cgroup/pids/aegisclaw`.
        pids: Option<PathBuf>,
        /// e.g. `/sys/fs/cgroup/cpu/aegisclaw`.
        cpu: Option<PathBuf>,
    },
    /// v2: a writable parent with memory, pids and cpu enabled for its children.
    V2 {
        /// e.g. `/sys/fs/cgroup/aegisclaw`.
        parent: PathBuf,
    },
}

/// Everything the plan needs from the host, measured once by `HostFacts::detect` (Linux) or
/// written by hand in tests.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HostFacts {
    /// The Landlock ABI the kernel reports; `None` without Landlock.
    pub landlock_abi: Option<u32>,
    /// Where cgroup limits can be set; `None` when no hierarchy is writable.
    pub cgroup: Option<CgroupFacts>,
    /// The caller's uid, mapped to 0 inside.
    pub uid: u32,
    /// The caller's gid, mapped to 0 inside.
    pub gid: u32,
    /// `/bin`, `/lib`, `/lib64`, `/sbin`… as found on the host (only the ones that exist).
    pub system_dirs: Vec<SystemDir>,
    /// `RunSpec::workdir`, canonicalized; `None` where it does not exist (and for a private
    /// workdir). Mounts need no facts: they arrive opened and resolved.
    pub workdir: Option<PathBuf>,
    /// The run's program (`argv[0]`) and, for a run without a bare `shell.exec`, each command
    /// its `shell.exec:<cmd>` scopes name, resolved through the run's `PATH` to the files
    /// that run them (empty for a bare `shell.exec`: nothing needs resolving).
    pub programs: Vec<ResolvedProgram>,
    /// The real directories directly under `/usr` and `/usr/local`: a run without a bare
    /// `shell.exec` may read the ones that are not program directories
    /// ([`PROGRAM_DIRS`](super::PROGRAM_DIRS)).
    pub usr_dirs: Vec<PathBuf>,
    /// Those of [`HIDDEN_USR_DIRS`](super::HIDDEN_USR_DIRS) that are directories on the host
    /// (the host's configuration kept under `/usr`), each hidden from every run.
    pub hidden_usr_dirs: Vec<PathBuf>,
    /// The caller's user name on the host (`None`: unknown or unusable in `/etc/passwd`),
    /// for the run's synthetic `/etc/passwd`.
    pub user_name: Option<String>,
    /// The host's time zone file when `/etc/localtime` links into `/usr/share/zoneinfo`
    /// (which the run sees), else the zoneinfo UTC file if there is one.
    pub localtime: Option<PathBuf>,
    /// The first of [`DISTRIBUTION_CA_BUNDLES`](super::DISTRIBUTION_CA_BUNDLES) on the host:
    /// where its TLS libraries look for the CA store (a link to the store inside).
    pub distribution_ca_bundle: Option<PathBuf>,
    /// The dynamic loader's cache of library paths (`/etc/ld.so.cache`), when the host has
    /// one: bound read-only so programs find their libraries without searching every
    /// hardware-capability directory.
    pub ld_cache: Option<PathBuf>,
    /// The host's `/proc/sys/user/max_*` limits the kernel has (values of the shared ones).
    pub user_ns_max: Vec<(UserNsCounter, u64)>,
    /// The kernel has the per-pid-namespace `vm.memfd_noexec` (Linux 6.3) and this process
    /// may write it (the host's root).
    pub memfd_noexec: bool,
}
