//! The native runtime's interface: prepare a [`SandboxPlan`] once ([`Launcher`]), spawn it as
//! many times as needed, wait with the plan's wall-clock limit. The syscalls live in
//! `crate::linux::launch`; other platforms get [`SandboxError::Unsupported`], never a run.

use crate::plan::{HostFacts, RunSpec, SandboxPlan};
use serde::Serialize;
use std::fs::File;
use std::io::Read as _;

#[cfg(target_os = "linux")]
pub use crate::linux::launch::Stream;

/// Which of the child's output streams a chunk came from.
#[cfg(not(target_os = "linux"))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// stdout.
    Stdout,
    /// stderr.
    Stderr,
}

/// Where the child's stdin comes from. stdout and stderr are always pipes the caller reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stdin {
    /// `/dev/null`.
    Null,
    /// The caller's stdin.
    Inherit,
}

/// The child's standard streams.
#[derive(Clone, Copy, Debug)]
pub struct StdioSetup {
    /// stdin.
    pub stdin: Stdin,
}

/// How the child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExitStatus {
    /// It exited with this code.
    Code(i32),
    /// A signal killed it.
    Signal(i32),
}

impl ExitStatus {
    /// Exited with 0.
    pub fn success(self) -> bool {
        self == ExitStatus::Code(0)
    }
}

/// The layers that were in force, for the run's audit record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Enforcement {
    /// Namespaces the child ran in.
    pub namespaces: Vec<&'static str>,
    /// `fresh`: a network namespace of the run's own; `slot`: the empty one kept for its
    /// cgroup slot (see [`crate::plan::NetNamespace`]).
    pub net_namespace: &'static str,
    /// The Landlock ABI of the ruleset.
    pub landlock_abi: u32,
    /// TCP bind/connect refused by Landlock.
    pub landlock_tcp_denied: bool,
    /// Landlock IPC scopes (signals, abstract unix sockets).
    pub landlock_scoped: bool,
    /// What seccomp returns for every syscall it does not allow (unknown numbers, numbers
    /// past the highest known, x32 numbers): `ENOSYS`.
    pub seccomp_default: crate::plan::Errno,
    /// Syscalls the filter lets run on this architecture (some only with allowed arguments).
    pub seccomp_allowed: usize,
    /// Of those, the ones checked by argument (clone flags, set-id modes, socket families...).
    pub seccomp_filtered: usize,
    /// The only socket families the run could make sockets of.
    pub socket_families: Vec<crate::plan::SocketFamily>,
    /// Which unix sockets the run could make (`any`, or `pairs_only` where Landlock cannot
    /// keep its sockets from the host's).
    pub unix_sockets: crate::plan::UnixSockets,
    /// The cgroup hierarchy that held the limits (`v1` or `v2`), if any.
    pub cgroup: Option<String>,
    /// The rlimits set before exec (`address_space` and `processes` stand in for a missing
    /// cgroup memory or pids controller).
    pub rlimits: std::collections::BTreeMap<&'static str, u64>,
    /// What the run could execute: `{"kind": "any"}` (a bare `shell.exec`), or `{"kind":
    /// "only", "programs": [{name, source, files: [{path, role}]}]}`.
    pub exec: crate::plan::ExecPlan,
    /// The limits set in the run's own user namespace (`/proc/sys/user/max_*`).
    pub user_namespace_limits: std::collections::BTreeMap<&'static str, u64>,
    /// The limits set in the run's own IPC namespace (`/proc/sys/kernel/shm*`).
    pub ipc_namespace_limits: std::collections::BTreeMap<&'static str, u64>,
    /// `vm.memfd_noexec = 2` in the run's pid namespace: no executable memfd.
    pub memfd_noexec: bool,
    /// What code the run could make executable in memory: `files_only` (no anonymous
    /// executable mapping, `mprotect` to executable, memfd or `SHM_EXEC`) or `any`.
    pub exec_memory: crate::plan::ExecMemory,
    /// `PR_SET_NO_NEW_PRIVS` was set.
    pub no_new_privs: bool,
    /// Every capability dropped (effective, permitted, inheritable, ambient, bounding).
    pub capabilities_dropped: bool,
}

impl Enforcement {
    /// What a plan enforces when it runs (every layer is applied or the run is refused).
    pub fn of(plan: &SandboxPlan) -> Self {
        Self {
            namespaces: plan.namespaces.iter().map(|ns| ns.as_str()).collect(),
            net_namespace: plan.net_namespace.as_str(),
            landlock_abi: plan.landlock.abi,
            landlock_tcp_denied: plan.landlock.deny_tcp,
            landlock_scoped: !plan.landlock.scopes.is_empty(),
            seccomp_default: plan.seccomp.default,
            seccomp_allowed: plan.seccomp.allowed_here(plan.exec_memory),
            seccomp_filtered: plan.seccomp.filtered_here(plan.exec_memory),
            socket_families: plan.seccomp.families(),
            unix_sockets: plan.unix_sockets,
            cgroup: plan.cgroup.as_ref().map(|cgroup| match cgroup.facts {
                crate::plan::CgroupFacts::V1 { .. } => "v1".to_string(),
                crate::plan::CgroupFacts::V2 { .. } => "v2".to_string(),
            }),
            rlimits: plan
                .rlimits
                .iter()
                .map(|limit| (limit.resource.as_str(), limit.value))
                .collect(),
            exec: plan.exec.clone(),
            user_namespace_limits: plan
                .user_ns_limits
                .iter()
                .map(|limit| (limit.counter.file_name(), limit.value))
                .collect(),
            ipc_namespace_limits: plan
                .ipc_limits
                .iter()
                .map(|limit| (limit.counter.file_name(), limit.value))
                .collect(),
            memfd_noexec: plan.memfd_noexec,
            exec_memory: plan.exec_memory,
            no_new_privs: true,
            capabilities_dropped: true,
        }
    }
}

/// The result of a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RunOutcome {
    /// How it ended.
    pub exit: ExitStatus,
    /// The wall-clock limit killed it.
    pub timed_out: bool,
    /// What was enforced.
    pub enforcement: Enforcement,
}

/// A finished run with its output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunOutput {
    /// How it ended and under what.
    pub outcome: RunOutcome,
    /// Everything it wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything it wrote to stderr.
    pub stderr: Vec<u8>,
}

/// A sandbox layer could not be applied: the run is refused, never weakened.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// A layer failed, in the parent or in the child before exec.
    #[error("cannot apply sandbox layer `{layer}`{}: {source}", detail_suffix(.detail))]
    Layer {
        /// The layer (`user namespace`, `mount`, `pivot_root`, `landlock`, `seccomp`,
        /// `cgroup memory`, `exec`, …).
        layer: &'static str,
        /// What it was applied to (a path), or empty.
        detail: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The seccomp table could not be compiled.
    #[error("cannot compile the seccomp filter: {detail}")]
    Seccomp {
        /// Why.
        detail: String,
    },
    /// A string of the plan has a NUL byte.
    #[error("`{text}` contains a NUL byte")]
    NulByte {
        /// The text (lossy).
        text: String,
    },
    /// This platform has no native sandbox.
    #[error("the native sandbox is only implemented on Linux")]
    Unsupported,
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(" (`{detail}`)")
    }
}

impl SandboxError {
    /// The layer named in the audit record.
    pub fn layer(&self) -> &'static str {
        match self {
            SandboxError::Layer { layer, .. } => layer,
            SandboxError::Seccomp { .. } => "seccomp",
            SandboxError::NulByte { .. } => "plan",
            SandboxError::Unsupported => "platform",
        }
    }
}

/// Measures the host for [`crate::plan::plan`]: Landlock ABI, cgroups, ids, `/usr` layout and
/// the spec's canonical working directory. Creates the `aegisclaw` parent cgroups where it can.
pub fn host_facts(spec: &RunSpec) -> HostFacts {
    #[cfg(target_os = "linux")]
    {
        crate::linux::facts::detect(spec)
    }
    #[cfg(not(target_os = "linux"))]
    {
        HostFacts {
            landlock_abi: None,
            cgroup: None,
            uid: 0,
            gid: 0,
            system_dirs: Vec::new(),
            workdir: spec.workdir.clone(),
            programs: Vec::new(),
            usr_dirs: Vec::new(),
            hidden_usr_dirs: Vec::new(),
            user_name: None,
            localtime: None,
            distribution_ca_bundle: None,
            ld_cache: None,
            user_ns_max: Vec::new(),
            memfd_noexec: false,
        }
    }
}

/// A plan prepared for spawning: paths, environment and the seccomp BPF built once. Keep one
/// per profile and spawn from it.
pub struct Launcher {
    #[cfg(target_os = "linux")]
    inner: crate::linux::launch::Prepared,
}

impl std::fmt::Debug for Launcher {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.debug_struct("Launcher").finish_non_exhaustive()
    }
}

/// A sandboxed process that is running.
pub struct RunningChild {
    /// Its pid (in the caller's pid namespace; pid 1 inside).
    pub pid: i32,
    /// Its stdout.
    pub stdout: File,
    /// Its stderr.
    pub stderr: File,
    #[cfg(target_os = "linux")]
    inner: crate::linux::launch::Running,
}

impl std::fmt::Debug for RunningChild {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("RunningChild")
            .field("pid", &self.pid)
            .finish_non_exhaustive()
    }
}

/// A sandboxed child stopped just before exec, with every layer in force (namespaces,
/// mounts, Landlock, capabilities, seccomp): set up what the program needs (such as a
/// listener in its network namespace), then [`HeldChild::release`] it. Dropping it kills it.
pub struct HeldChild<'l> {
    /// Its pid (in the caller's pid namespace; pid 1 inside).
    pub pid: i32,
    #[cfg(target_os = "linux")]
    inner: crate::linux::launch::Held<'l>,
    #[cfg(not(target_os = "linux"))]
    _launcher: std::marker::PhantomData<&'l Launcher>,
}

impl std::fmt::Debug for HeldChild<'_> {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("HeldChild")
            .field("pid", &self.pid)
            .finish_non_exhaustive()
    }
}

impl HeldChild<'_> {
    /// The child's network namespace (`/proc/<pid>/ns/net`), for
    /// [`crate::netns::bind_in_netns`].
    pub fn netns_path(&self) -> std::path::PathBuf {
        std::path::PathBuf::from(format!("/proc/{}/ns/net", self.pid))
    }

    /// The TCP listener the sandbox opened inside the run's network namespace for a plan with
    /// [`Network::Proxied`](crate::plan::Network::Proxied), moved to the caller (once; `None`
    /// after that and for other networks). Works without root: the caller never enters the
    /// namespace.
    pub fn take_listener(&mut self) -> Result<Option<std::net::TcpListener>, SandboxError> {
        #[cfg(target_os = "linux")]
        {
            Ok(self.inner.take_listener().map(std::net::TcpListener::from))
        }
        #[cfg(not(target_os = "linux"))]
        {
            Err(SandboxError::Unsupported)
        }
    }

    /// Lets the child exec; returns once it has (or with the layer that failed). The plan's
    /// wall-clock limit is measured from here.
    pub fn release(self) -> Result<RunningChild, SandboxError> {
        #[cfg(target_os = "linux")]
        {
            Ok(RunningChild::started(self.inner.release()?))
        }
        #[cfg(not(target_os = "linux"))]
        {
            Err(SandboxError::Unsupported)
        }
    }
}

impl Launcher {
    /// Prepares `plan`: compiles seccomp, builds every path and string the child needs.
    pub fn new(plan: &SandboxPlan) -> Result<Self, SandboxError> {
        #[cfg(target_os = "linux")]
        {
            Ok(Self {
                inner: crate::linux::launch::Prepared::new(plan)?,
            })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = plan;
            Err(SandboxError::Unsupported)
        }
    }

    /// Starts the child; returns once it has exec'd (or with the layer that failed).
    pub fn spawn(&self, io: StdioSetup) -> Result<RunningChild, SandboxError> {
        #[cfg(target_os = "linux")]
        {
            Ok(RunningChild::started(self.inner.spawn(io)?))
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = io;
            Err(SandboxError::Unsupported)
        }
    }
}

impl Launcher {
    /// Starts the child and stops it just before exec (see [`HeldChild`]); returns once every
    /// layer is in force (or with the layer that failed).
    pub fn spawn_held(&self, io: StdioSetup) -> Result<HeldChild<'_>, SandboxError> {
        self.spawn_held_while(io, &mut |_| {})
    }

    /// [`Launcher::spawn_held`], running `work` in this thread while the child builds its
    /// sandbox, so a wait in `work` (an fsync) overlaps the child's set-up. `work` runs once
    /// the child exists, with its pid; it is not called when the clone itself fails.
    pub fn spawn_held_while(
        &self,
        io: StdioSetup,
        work: &mut dyn FnMut(i32),
    ) -> Result<HeldChild<'_>, SandboxError> {
        #[cfg(target_os = "linux")]
        {
            let held = self.inner.spawn_held(io, work)?;
            Ok(HeldChild {
                pid: held.pid(),
                inner: held,
            })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = (io, work);
            Err(SandboxError::Unsupported)
        }
    }
}

impl RunningChild {
    #[cfg(target_os = "linux")]
    fn started((running, stdout, stderr): (crate::linux::launch::Running, File, File)) -> Self {
        Self {
            pid: running.pid(),
            stdout,
            stderr,
            inner: running,
        }
    }

    /// When the plan's wall-clock limit ends the run (measured from its release). A `sink`
    /// given to [`wait_streaming`](Self::wait_streaming) that waits for anything waits no
    /// later than this: a `false` from it then kills the run before its stream is closed.
    pub fn deadline(&self) -> std::time::Instant {
        #[cfg(target_os = "linux")]
        {
            self.inner.deadline()
        }
        #[cfg(not(target_os = "linux"))]
        {
            std::time::Instant::now()
        }
    }

    /// Waits for the child until the plan's wall-clock limit, then kills its whole pid
    /// namespace; removes its cgroups.
    pub fn wait(self) -> Result<RunOutcome, SandboxError> {
        #[cfg(target_os = "linux")]
        {
            self.inner.wait()
        }
        #[cfg(not(target_os = "linux"))]
        {
            Err(SandboxError::Unsupported)
        }
    }

    /// Waits like [`wait`](Self::wait) while reading stdout and stderr on this thread: each
    /// chunk goes to `sink` as it arrives; a `false` from `sink` closes that stream. From the
    /// first chunk on, the wall-clock limit is also kept by a watchdog thread, so a `sink` that
    /// blocks cannot hold the run past it. Returns once the child has exited and both streams
    /// have ended.
    pub fn wait_streaming(
        self,
        sink: &mut dyn FnMut(Stream, &[u8]) -> bool,
    ) -> Result<RunOutcome, SandboxError> {
        #[cfg(target_os = "linux")]
        {
            self.inner
                .wait_streaming(Some(self.stdout), Some(self.stderr), sink)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = sink;
            Err(SandboxError::Unsupported)
        }
    }

    /// Reads stdout and stderr to the end on helper threads while waiting (so the wall-clock
    /// limit still applies to a child that never closes them).
    pub fn wait_with_output(self) -> Result<RunOutput, SandboxError> {
        let RunningChild {
            stdout,
            stderr,
            #[cfg(target_os = "linux")]
            inner,
            ..
        } = self;
        let read_all = |mut file: File| {
            std::thread::spawn(move || {
                let mut bytes = Vec::new();
                let _ = file.read_to_end(&mut bytes);
                bytes
            })
        };
        let (stdout, stderr) = (read_all(stdout), read_all(stderr));
        #[cfg(target_os = "linux")]
        let outcome = inner.wait();
        #[cfg(not(target_os = "linux"))]
        let outcome = Err(SandboxError::Unsupported);
        let stdout = stdout.join().unwrap_or_default();
        let stderr = stderr.join().unwrap_or_default();
        Ok(RunOutput {
            outcome: outcome?,
            stdout,
            stderr,
        })
    }
}

/// Prepares, spawns and waits for one run, collecting its output.
pub fn run(plan: &SandboxPlan, io: StdioSetup) -> Result<RunOutput, SandboxError> {
    Launcher::new(plan)?.spawn(io)?.wait_with_output()
}
