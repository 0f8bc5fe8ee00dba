//! The native sandbox as data: a pure [`plan`] turns a [`RunSpec`] and measured [`HostFacts`]
//! into a [`SandboxPlan`] (mounts, Landlock rules, seccomp table, rlimits, cgroup limits).
//! Makes no syscalls; `crate::runtime` applies a plan. (STYLE rule 12)

use crate::path::{ObjectKind, OpenedPath};
use serde::Serialize;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

mod error;
mod etc;
mod exec;
mod facts;
mod landlock;
mod mount;
mod seccomp;
mod userns;
pub use error::PlanError;
pub use etc::{CA_BUNDLE_TARGET, CA_STORE_MAX_BYTES, DISTRIBUTION_CA_BUNDLES, LD_CACHE};
pub use exec::{
    ExecFile, ExecGrant, ExecPlan, ExecRole, ExecSource, MAX_EXEC_CHAIN, PROGRAM_DIRS,
    PlannedProgram, ResolveFailure, ResolvedProgram,
};
pub use facts::{CgroupFacts, HostFacts, SystemDir};
pub use landlock::{FsAccess, LandlockPlan, LandlockRule, LandlockScope};
pub use mount::{MountFlags, MountOp, PathKind};
pub use seccomp::{
    Arch, Errno, ExecMemory, Flag, SeccompAction, SeccompRule, SeccompTable, SocketFamily,
    SocketFamilyRule, SocketProtocol, SocketType, seccomp_table,
};
pub use userns::{IpcCounter, IpcLimit, UserNsCounter, UserNsLimit};

/// What the engine asks the native runtime to run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RunSpec {
    /// The command and its arguments; a program without `/` is found through the `PATH` of
    /// [`RunSpec::env`] inside the sandbox.
    pub argv: Vec<String>,
    /// The only environment the child sees: nothing is inherited.
    pub env: Vec<(String, String)>,
    /// Host path of the working directory; it must be covered by one of [`RunSpec::mounts`]
    /// and appears at the same path inside. `None`: the sandbox's own private `/tmp`, for a
    /// run that sees no host directory at all.
    pub workdir: Option<PathBuf>,
    /// Host objects bound at their own (resolved) path inside, from `files.read`,
    /// `files.write` and `unix.connect` scopes and the skill's own directory.
    pub mounts: Vec<Mount>,
    /// Network access.
    pub network: Network,
    /// Where the network namespace comes from when [`RunSpec::network`] is
    /// [`Network::None`]; [`plan`] gives every other run a fresh one.
    pub net_namespace: NetNamespace,
    /// Resource limits.
    pub limits: Limits,
    /// The hostname inside the UTS namespace.
    pub hostname: String,
    /// What the run may execute besides its own program (its `shell.exec` scopes).
    pub exec: ExecGrant,
    /// The CA store a run sees read-only at [`CA_BUNDLE_TARGET`] (the engine's `ca_store`, from
    /// `sandbox.ca_bundle` or the first of [`DISTRIBUTION_CA_BUNDLES`]). `None`: no store at
    /// all (TLS verification fails, closed).
    pub ca_store: Option<CaStoreSpec>,
}

/// How the run is given its CA store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaStoreSpec {
    /// Certificates (PEM) the caller read and checked to hold certificates only, written on
    /// the run's own root: what the run reads is exactly what was checked.
    Certificates(String),
    /// A host file only root can change (the file and every directory above it owned by root
    /// and writable by no one else), bound read-only by name: the distribution's own store,
    /// given as it is.
    RootOwned(PathBuf),
}

/// One host object made visible inside the sandbox, at the path it was opened as.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mount {
    /// The object as the engine opened and decided on it (`crate::path::open_scope_path`):
    /// its resolved path, kind and `(dev, ino)`. The child binds exactly this object, or the
    /// run fails.
    pub opened: OpenedPath,
    /// What the scope grants on it.
    pub access: MountAccess,
}

/// What a [`Mount`] grants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MountAccess {
    /// `unix.connect`: the socket file, bound read-only, and `connect()` to it.
    Connect,
    /// `files.read`: a read-only bind.
    Read,
    /// `files.write`: a read-write bind.
    Write,
}

/// Network access of a run. Both give a fresh network namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Network {
    /// No interface up; all TCP refused by Landlock where the kernel supports it.
    None,
    /// Only the loopback interface, brought up.
    Loopback,
    /// Only the loopback interface, brought up, with a TCP listener on this address that the
    /// sandbox opens inside the run's namespace before exec and hands to the caller of a held
    /// spawn (`HeldChild::take_listener`); the program never holds it. The egress proxy
    /// serves on it, with no need for the caller to enter the namespace (which takes root).
    Proxied {
        /// The listener's address inside the namespace, such as `127.0.0.1:3128`.
        listener: std::net::SocketAddrV4,
    },
}

impl Network {
    /// The loopback interface is brought up.
    pub fn has_loopback(self) -> bool {
        self != Network::None
    }

    /// `none`, `loopback` or `proxied`, for records.
    pub fn as_str(self) -> &'static str {
        match self {
            Network::None => "none",
            Network::Loopback => "loopback",
            Network::Proxied { .. } => "proxied",
        }
    }
}

/// Where a run's network namespace comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum NetNamespace {
    /// A new namespace, made by the clone and gone when the run ends.
    Fresh,
    /// For a run with [`Network::None`] by root: the namespace kept for the run's cgroup slot,
    /// bound at `<dir>/slot-<n>` and made by the first run that needs it. It holds only `lo`,
    /// down, and the run is checked to see exactly that before it joins. Only one run at a
    /// time holds a slot, so runs never share it at once; one after another, they share its
    /// kernel counters (see docs/security.md). Saves making and tearing down a namespace per
    /// run, the dearest part of a launch. A slot namespace that cannot be made or checked
    /// gives way to [`NetNamespace::Fresh`], which isolates at least as much.
    Slot {
        /// The directory of the bind mounts, [`SLOT_NETNS_DIR`] outside tests.
        dir: PathBuf,
    },
}

/// Where slot network namespaces are kept: `/run` is a tmpfs, so a reboot clears them.
pub const SLOT_NETNS_DIR: &str = "/run/aegisclaw/netns";

impl NetNamespace {
    /// `fresh` or `slot`, for records.
    pub fn as_str(&self) -> &'static str {
        match self {
            NetNamespace::Fresh => "fresh",
            NetNamespace::Slot { .. } => "slot",
        }
    }
}

/// Resource limits of a run.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Limits {
    /// Memory limit in MiB (cgroup; `RLIMIT_AS` when no cgroup memory controller is writable).
    pub memory_mb: u64,
    /// Maximum number of processes and threads (cgroup pids controller).
    pub pids: u64,
    /// CPU share in cores (cgroup CPU quota), e.g. `1.0`.
    pub cpus: f64,
    /// Wall-clock limit: the whole process tree is killed after it.
    pub timeout_s: u64,
    /// Maximum open files (`RLIMIT_NOFILE`).
    pub nofile: u64,
    /// The largest file the run may write, in MiB (`RLIMIT_FSIZE`: a write past it fails with
    /// `EFBIG` after `SIGXFSZ`, whose default action ends the writer).
    pub file_size_mb: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_mb: 512,
            pids: 256,
            cpus: 1.0,
            timeout_s: 300,
            nofile: 1024,
            file_size_mb: 1024,
        }
    }
}

/// A Linux namespace the child is created in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Namespace {
    /// `CLONE_NEWUSER`.
    User,
    /// `CLONE_NEWNS`.
    Mount,
    /// `CLONE_NEWPID`.
    Pid,
    /// `CLONE_NEWNET`.
    Net,
    /// `CLONE_NEWIPC`.
    Ipc,
    /// `CLONE_NEWUTS`.
    Uts,
}

impl Namespace {
    /// The namespaces of every native run.
    pub const ALL: [Namespace; 6] = [
        Namespace::User,
        Namespace::Mount,
        Namespace::Pid,
        Namespace::Net,
        Namespace::Ipc,
        Namespace::Uts,
    ];

    /// Its name in audit records.
    pub fn as_str(self) -> &'static str {
        match self {
            Namespace::User => "user",
            Namespace::Mount => "mount",
            Namespace::Pid => "pid",
            Namespace::Net => "net",
            Namespace::Ipc => "ipc",
            Namespace::Uts => "uts",
        }
    }
}

/// A resource limit set with `setrlimit` before exec.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    /// `RLIMIT_CORE`.
    Core,
    /// `RLIMIT_NOFILE`.
    Nofile,
    /// `RLIMIT_AS` (only when no cgroup memory controller is writable).
    AddressSpace,
    /// `RLIMIT_NPROC` (only when no cgroup pids controller is writable). The run has a user
    /// namespace of its own, where the kernel counts its processes apart from the caller's, so
    /// this caps the run like `pids.max`. The kernel exempts real uid 0 from it: for root this
    /// fallback binds nothing, and root has the cgroup controllers anyway.
    Processes,
    /// `RLIMIT_FSIZE`: the largest file the run may write ([`Limits::file_size_mb`]).
    FileSize,
}

impl Resource {
    /// Its name in records (`run.finished` enforcement).
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Core => "core",
            Resource::Nofile => "nofile",
            Resource::AddressSpace => "address_space",
            Resource::Processes => "processes",
            Resource::FileSize => "file_size",
        }
    }
}

/// One rlimit (soft = hard).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Rlimit {
    /// Which limit.
    pub resource: Resource,
    /// The value.
    pub value: u64,
}

/// Cgroup limits for the run; a per-run directory is created under each parent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CgroupPlan {
    /// The hierarchy and its parent directories.
    pub facts: CgroupFacts,
    /// `memory.limit_in_bytes` / `memory.max`.
    pub memory_bytes: u64,
    /// `pids.max`.
    pub pids_max: u64,
    /// CPU quota per period, in µs.
    pub cpu_quota_us: u64,
    /// CPU period, in µs.
    pub cpu_period_us: u64,
}

/// Which unix sockets a run may make. Landlock from ABI 9 keeps `connect()` and `sendmsg()`
/// to pathname sockets to those created inside the run's own domain (plus the ones a rule
/// names); before ABI 9 nothing the kernel offers can tell a run's own socket from a host
/// socket reached through a bound host directory, and every run has some (`/usr`), so a run
/// may not make unix sockets at all (DESIGN §3: `files.*` never grants `connect()`), unless a
/// `unix.connect` scope needs them and no scope directory is bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UnixSockets {
    /// `socket(AF_UNIX)` is allowed: Landlock (ABI ≥ 9) confines where it connects, or the
    /// run holds a `unix.connect` scope and no scope directory (below ABI 9 it then reaches
    /// the scoped sockets and any under `/usr` and the system directories, which only root
    /// can make).
    Any,
    /// Only connected pairs (`socketpair` of stream or seqpacket sockets, which can never be
    /// pointed at a path); seccomp refuses `socket(AF_UNIX)`.
    PairsOnly,
}

/// The first Landlock ABI that handles `connect()` to pathname unix sockets
/// (`LANDLOCK_ACCESS_FS_RESOLVE_UNIX`).
pub const LANDLOCK_ABI_RESOLVE_UNIX: u32 = 9;

/// Everything the apply step does, as data.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SandboxPlan {
    /// The command.
    pub argv: Vec<String>,
    /// Paths inside the sandbox to try for `argv[0]`, in order.
    pub program: Vec<PathBuf>,
    /// The complete environment.
    pub env: Vec<(String, String)>,
    /// The child's cwd inside (the same path as on the host).
    pub workdir: PathBuf,
    /// Hostname in the UTS namespace.
    pub hostname: String,
    /// Namespaces created.
    pub namespaces: Vec<Namespace>,
    /// Host uid mapped to 0 inside.
    pub uid: u32,
    /// Host gid mapped to 0 inside.
    pub gid: u32,
    /// The new root, in order; the root itself (a bind of a directory of a scratch tmpfs:
    /// nosuid, nodev, noexec) is made read-only at the end.
    pub mounts: Vec<MountOp>,
    /// Network access.
    pub network: Network,
    /// Where the network namespace comes from: [`NetNamespace::Slot`] only for a run with
    /// [`Network::None`], by root (uid 0), with cgroup limits (whose slot lock it shares).
    pub net_namespace: NetNamespace,
    /// The Landlock ruleset.
    pub landlock: LandlockPlan,
    /// The seccomp table (default-deny; compiled with [`SandboxPlan::unix_sockets`]).
    pub seccomp: &'static SeccompTable,
    /// Which unix sockets the run may make (seccomp applies [`UnixSockets::PairsOnly`]).
    pub unix_sockets: UnixSockets,
    /// What code the run may make executable in memory (seccomp applies the table's
    /// `exec_limited` entries under [`ExecMemory::FilesOnly`]): only files, unless
    /// [`SandboxPlan::exec`] is [`ExecPlan::Any`].
    pub exec_memory: ExecMemory,
    /// rlimits.
    pub rlimits: Vec<Rlimit>,
    /// Cgroup limits; `None` when no hierarchy is writable (`doctor` warns).
    pub cgroup: Option<CgroupPlan>,
    /// Wall-clock limit.
    pub timeout: Duration,
    /// What the run may execute (Landlock's execute right).
    pub exec: ExecPlan,
    /// The limits the child writes into its own user namespace's `/proc/sys/user/max_*`
    /// while it still has capabilities there, each below the host's.
    pub user_ns_limits: Vec<UserNsLimit>,
    /// The limits the child writes into its own IPC namespace's `/proc/sys/kernel/shm*`:
    /// shared memory within the run's memory limit.
    pub ipc_limits: Vec<IpcLimit>,
    /// The child sets `vm.memfd_noexec = 2` in its pid namespace (no executable memfd, which
    /// Landlock cannot see): only a root run may, the file being root's on the host.
    pub memfd_noexec: bool,
}

/// Size of the private `/tmp`.
const TMP_SIZE_MB: u64 = 256;
/// The sandbox's own tmpfs, the working directory of a run given no host one.
const PRIVATE_TMP: &str = "/tmp";
/// `PATH` used to find `argv[0]` when the spec's env has none.
const DEFAULT_PATH: &str = "/usr/local/bin:/usr/bin:/bin";
/// Device nodes bound from the host: the harmless ones.
const DEVICES: [&str; 5] = ["null", "zero", "full", "random", "urandom"];

/// Directories under `/usr` that hold the host's configuration rather than programs, libraries
/// or data, hidden from every run like the host's `/etc`.
pub const HIDDEN_USR_DIRS: [&str; 2] = ["/usr/etc", "/usr/local/etc"];
/// Paths the sandbox provides itself; a scope may not cover or sit inside them.
const RESERVED: [&str; 3] = ["/proc", "/dev", "/usr"];
/// CPU period for the quota.
const CPU_PERIOD_US: u64 = 100_000;

/// Builds the plan. Pure: reads nothing but its arguments.
pub fn plan(spec: &RunSpec, facts: &HostFacts) -> Result<SandboxPlan, PlanError> {
    // 1. Landlock is not optional.
    let abi = match facts.landlock_abi {
        Some(abi) if abi >= 1 => abi,
        _ => return Err(PlanError::LandlockUnavailable),
    };
    // 2. The command and environment.
    let Some(program) = spec.argv.first() else {
        return Err(PlanError::EmptyCommand);
    };
    for text in spec.argv.iter().chain([&spec.hostname]) {
        if text.contains('\0') {
            return Err(PlanError::NulByte { text: text.clone() });
        }
    }
    // A value may be a secret's: the error names the variable, never the value.
    for (name, value) in &spec.env {
        if name.contains('\0') || value.contains('\0') {
            return Err(PlanError::NulInEnv {
                name: name.replace('\0', "\\0"),
            });
        }
    }
    let program_name = program.as_str();
    // 3. The opened host objects, each at its own resolved path, and the workdir among them.
    let mut binds: Vec<Bind> = Vec::new();
    for mount in &spec.mounts {
        let path = mount.opened.path();
        check_path(path)?;
        check_reserved(path)?;
        let kind = mount.opened.kind();
        match (mount.access, kind) {
            (MountAccess::Connect, ObjectKind::Socket) => {}
            (MountAccess::Connect, other) => {
                return Err(PlanError::NotASocket {
                    path: path.to_path_buf(),
                    kind: other.as_str(),
                });
            }
            (MountAccess::Read | MountAccess::Write, ObjectKind::Socket) => {
                return Err(PlanError::SocketNeedsConnect {
                    path: path.to_path_buf(),
                });
            }
            (MountAccess::Read | MountAccess::Write, _) => {}
        }
        binds.push(Bind {
            opened: mount.opened.clone(),
            kind: if kind == ObjectKind::Directory {
                PathKind::Dir
            } else {
                PathKind::File
            },
            access: mount.access,
        });
    }
    let workdir = match &spec.workdir {
        None => PathBuf::from(PRIVATE_TMP),
        Some(path) => {
            check_path(path)?;
            let Some(workdir) = &facts.workdir else {
                return Err(PlanError::Missing { path: path.clone() });
            };
            if !binds
                .iter()
                .any(|bind| bind.kind == PathKind::Dir && workdir.starts_with(bind.path()))
            {
                return Err(PlanError::WorkdirNotMounted { path: path.clone() });
            }
            workdir.clone()
        }
    };
    // Parents before children, so a nested bind lands on top of its parent's. An object two
    // scopes name (`files.write:/w` and `files.read:/w`, or the same path reached through a
    // link) is bound once, with the widest access granted: each scope was decided, so a
    // write bind is what policy allowed, and the record shows the one bind that was made.
    binds.sort_by(|a, b| {
        (
            a.path().components().count(),
            a.path(),
            std::cmp::Reverse(a.access),
        )
            .cmp(&(
                b.path().components().count(),
                b.path(),
                std::cmp::Reverse(b.access),
            ))
    });
    binds.dedup_by(|later, earlier| later.path() == earlier.path());
    // 4. What the run may execute: with a list, exactly the files resolved for its program
    // and commands, and `argv[0]` is the path it was resolved at.
    let real_system_dirs: Vec<PathBuf> = facts
        .system_dirs
        .iter()
        .filter(|dir| dir.symlink.is_none())
        .map(|dir| dir.path.clone())
        .collect();
    let exec = exec::plan(
        &spec.exec,
        program_name,
        &facts.programs,
        &binds,
        &real_system_dirs,
    )?;
    let program = match &exec {
        ExecPlan::Any => program_candidates(program_name, &spec.env),
        ExecPlan::Only { .. } => facts
            .programs
            .iter()
            .find(|program| program.source == ExecSource::Entrypoint)
            .and_then(|program| program.found_as.clone())
            .map_or_else(
                || program_candidates(program_name, &spec.env),
                |path| vec![path],
            ),
    };
    // 5. The new root.
    let mut mounts = vec![MountOp::Bind {
        source: PathBuf::from("/usr"),
        target: PathBuf::from("/usr"),
        kind: PathKind::Dir,
        flags: MountFlags::READ_ONLY,
    }];
    for dir in &facts.system_dirs {
        mounts.push(match &dir.symlink {
            Some(points_to) => MountOp::Symlink {
                points_to: points_to.clone(),
                link: dir.path.clone(),
            },
            None => MountOp::Bind {
                source: dir.path.clone(),
                target: dir.path.clone(),
                kind: PathKind::Dir,
                flags: MountFlags::READ_ONLY,
            },
        });
    }
    // Host configuration kept under /usr (`/usr/etc`, `/usr/local/etc`: npm's and a
    // source-built git's system files) is hidden as the host's /etc is, by an empty read-only
    // tmpfs, unless a scope binds something there.
    for dir in &facts.hidden_usr_dirs {
        let scoped = binds.iter().any(|bind| bind.path().starts_with(dir));
        if !scoped {
            mounts.push(MountOp::Tmpfs {
                target: dir.clone(),
                flags: MountFlags {
                    read_only: true,
                    ..MountFlags::SCRATCH
                },
                size_mb: 1,
            });
        }
    }
    mounts.push(MountOp::Tmpfs {
        target: PathBuf::from("/dev"),
        flags: MountFlags {
            nodev: false,
            ..MountFlags::SCRATCH
        },
        size_mb: 1,
    });
    for device in DEVICES {
        let path = Path::new("/dev").join(device);
        mounts.push(MountOp::Bind {
            source: path.clone(),
            target: path,
            kind: PathKind::File,
            flags: MountFlags::DEVICE,
        });
    }
    for (link, points_to) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        mounts.push(MountOp::Symlink {
            points_to: PathBuf::from(points_to),
            link: Path::new("/dev").join(link),
        });
    }
    mounts.push(MountOp::Tmpfs {
        target: PathBuf::from(PRIVATE_TMP),
        flags: MountFlags::SCRATCH,
        size_mb: TMP_SIZE_MB,
    });
    mounts.push(MountOp::Proc {
        target: PathBuf::from("/proc"),
        flags: MountFlags::SCRATCH,
    });
    // A synthetic /etc: the run's user, localhost, the zone, the CA store; nothing else.
    mounts.extend(etc::mounts(spec, facts));
    for bind in &binds {
        mounts.push(MountOp::BindOpened {
            opened: bind.opened.clone(),
            access: bind.access,
            kind: bind.kind,
            flags: match bind.access {
                MountAccess::Connect | MountAccess::Read => MountFlags::READ_ONLY,
                // What the run writes cannot be executed, not even mapped executable by the
                // dynamic loader run as a program, unless it may execute something there.
                MountAccess::Write if exec::holds_executable(bind, &exec, &facts.programs) => {
                    MountFlags::READ_WRITE
                }
                MountAccess::Write => MountFlags::READ_WRITE_NOEXEC,
            },
        });
    }
    // 6. Landlock rules matching the mounts; unix sockets only where they cannot reach the
    // host's. Before ABI 9 every run sees host directories (`/usr` and the system ones at
    // least, where root may keep a socket), so no `socket(AF_UNIX)`, only connected pairs;
    // but for a `unix.connect` scope with no scope directory, which needs it (and then
    // reaches sockets under `/usr` too: docs/security.md). Beside a scope directory, a scoped
    // socket could not be reached without reaching the directory's: refused rather than
    // granted in name only.
    let landlock = landlock::plan(
        abi,
        spec.network,
        &binds,
        &exec,
        &facts.usr_dirs,
        &real_system_dirs,
    );
    let dir_bound = binds.iter().any(|bind| bind.kind == PathKind::Dir);
    let connect = binds
        .iter()
        .find(|bind| bind.access == MountAccess::Connect);
    let unix_sockets = match connect {
        _ if abi >= LANDLOCK_ABI_RESOLVE_UNIX => UnixSockets::Any,
        None => UnixSockets::PairsOnly,
        Some(_) if !dir_bound => UnixSockets::Any,
        Some(socket) => {
            return Err(PlanError::UnixConnectUnenforceable {
                path: socket.path().to_path_buf(),
                abi,
                needed: LANDLOCK_ABI_RESOLVE_UNIX,
            });
        }
    };
    // 7. Seccomp, rlimits, cgroups, the user namespace's own limits.
    let seccomp = seccomp_table();
    let memory_bytes = spec.limits.memory_mb.saturating_mul(1024 * 1024);
    let cgroup = facts.cgroup.clone().map(|facts| CgroupPlan {
        facts,
        memory_bytes,
        pids_max: spec.limits.pids,
        cpu_quota_us: cpu_quota_us(spec.limits.cpus),
        cpu_period_us: CPU_PERIOD_US,
    });
    let mut rlimits = vec![
        Rlimit {
            resource: Resource::Core,
            value: 0,
        },
        Rlimit {
            resource: Resource::Nofile,
            value: spec.limits.nofile,
        },
        Rlimit {
            resource: Resource::FileSize,
            value: spec.limits.file_size_mb.saturating_mul(1024 * 1024),
        },
    ];
    let memory_in_cgroup = matches!(
        &facts.cgroup,
        Some(
            CgroupFacts::V2 { .. }
                | CgroupFacts::V1 {
                    memory: Some(_),
                    ..
                }
        )
    );
    if !memory_in_cgroup {
        rlimits.push(Rlimit {
            resource: Resource::AddressSpace,
            value: memory_bytes,
        });
    }
    let pids_in_cgroup = matches!(
        &facts.cgroup,
        Some(CgroupFacts::V2 { .. } | CgroupFacts::V1 { pids: Some(_), .. })
    );
    if !pids_in_cgroup {
        rlimits.push(Rlimit {
            resource: Resource::Processes,
            value: spec.limits.pids,
        });
    }
    // 8. A kept network namespace only where nothing can change it or reach through it: no
    // interface comes up (network none), the slot lock keeps runs apart (cgroups), and only
    // root can enter a namespace the initial user namespace owns.
    let net_namespace = match &spec.net_namespace {
        NetNamespace::Slot { .. }
            if spec.network == Network::None && facts.uid == 0 && cgroup.is_some() =>
        {
            spec.net_namespace.clone()
        }
        _ => NetNamespace::Fresh,
    };
    Ok(SandboxPlan {
        argv: spec.argv.clone(),
        program,
        env: spec.env.clone(),
        workdir,
        hostname: spec.hostname.clone(),
        namespaces: Namespace::ALL.to_vec(),
        uid: facts.uid,
        gid: facts.gid,
        mounts,
        network: spec.network,
        net_namespace,
        landlock,
        seccomp,
        unix_sockets,
        exec_memory: match exec {
            ExecPlan::Any => ExecMemory::Any,
            ExecPlan::Only { .. } => ExecMemory::FilesOnly,
        },
        rlimits,
        cgroup,
        timeout: Duration::from_secs(spec.limits.timeout_s),
        exec,
        user_ns_limits: userns::limits(&facts.user_ns_max),
        ipc_limits: userns::ipc_limits(spec.limits.memory_mb),
        memfd_noexec: facts.uid == 0 && facts.memfd_noexec,
    })
}

/// `cpus` cores as a quota per [`CPU_PERIOD_US`]; at least 1 ms.
fn cpu_quota_us(cpus: f64) -> u64 {
    let quota = (cpus * CPU_PERIOD_US as f64).round();
    if quota.is_finite() && quota >= 1000.0 {
        quota as u64
    } else {
        1000
    }
}

/// The `PATH` a program is looked up in: the spec's last, else [`DEFAULT_PATH`].
pub(crate) fn run_path(env: &[(String, String)]) -> &str {
    env.iter()
        .rev()
        .find(|(name, _)| name == "PATH")
        .map_or(DEFAULT_PATH, |(_, value)| value.as_str())
}

/// `argv[0]` as-is when it has a `/`, else each `PATH` entry joined with it.
fn program_candidates(program: &str, env: &[(String, String)]) -> Vec<PathBuf> {
    if program.contains('/') {
        return vec![PathBuf::from(program)];
    }
    run_path(env)
        .split(':')
        .filter(|dir| dir.starts_with('/'))
        .map(|dir| Path::new(dir).join(program))
        .collect()
}

fn check_path(path: &Path) -> Result<(), PlanError> {
    let bad = !path.is_absolute()
        || path
            .components()
            .any(|component| matches!(component, Component::ParentDir));
    if bad {
        return Err(PlanError::BadPath {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

fn check_reserved(path: &Path) -> Result<(), PlanError> {
    if path == Path::new("/") {
        return Err(PlanError::Reserved {
            path: path.to_path_buf(),
            reserved: "/",
        });
    }
    for reserved in RESERVED {
        let reserved_path = Path::new(reserved);
        if path.starts_with(reserved_path) || reserved_path.starts_with(path) {
            return Err(PlanError::Reserved {
                path: path.to_path_buf(),
                reserved,
            });
        }
    }
    Ok(())
}

/// A mount of the plan: an opened object, bound as a directory or a file, with its access.
struct Bind {
    opened: OpenedPath,
    kind: PathKind,
    access: MountAccess,
}

impl Bind {
    fn path(&self) -> &Path {
        self.opened.path()
    }
}

#[cfg(test)]
mod tests;
