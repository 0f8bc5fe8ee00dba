//! Applies a [`SandboxPlan`]: everything the child needs is built in [`Prepared::new`]
//! (strings, mount actions, Landlock attributes, the seccomp BPF), then:
//! 1. parent: create the run's cgroups, write the limits, open their attach files;
//! 2. parent: raw `clone(NEWUSER|NEWNS|NEWPID|NEWNET|NEWIPC|NEWUTS)`; the child is pid 1 of its
//!    pid namespace, so SIGKILL to it kills the whole tree;
//! 3. child: first, move itself into every cgroup of the run (`0` to each attach file opened
//!    by the parent; see `cgroups`), then `PR_SET_DUMPABLE 1` (pre-main hardening made
//!    /proc/self root-owned), write setgroups/uid_map/gid_map (caller → 0);
//! 4. child: `/` rprivate, a staging tmpfs on the private `/tmp`, `pivot_root` so the host
//!    root sits at `/old` (its own `/tmp` visible again), build the new root at `/new` (a bind
//!    of a directory of the staging tmpfs: nosuid, nodev, noexec) from the plan's mount ops
//!    (system binds are `MS_BIND|MS_REC` then `mount_setattr(AT_RECURSIVE)`, so sub-mounts are
//!    read-only too and locked flags are kept; scope binds re-open the decided path under
//!    `/old` with `openat2(RESOLVE_NO_SYMLINKS)`, check `(dev, ino)`, `open_tree(CLONE |
//!    RECURSIVE)`, `mount_setattr` on the clone and `move_mount` it onto a mount point opened
//!    the same way; the synthetic `/etc` files are written with `O_CREAT|O_EXCL`),
//!    `pivot_root(".", ".")` + lazy unmount, root read-only, hostname, loopback up;
//! 5. child: its own user namespace's limits (`/proc/sys/user/max_*`) and, for a root run,
//!    `vm.memfd_noexec = 2`, while it still has capabilities; rlimits, chdir, Landlock ruleset (raw syscalls: the crate allocates), securebits
//!    locked, bounding/ambient/effective caps emptied, `no_new_privs`, `landlock_restrict_self`,
//!    every fd but stdio close-on-exec, seccomp, then (held spawns only) report "ready" and
//!    block on a close-on-exec hold pipe until the parent writes a byte (EOF: `_exit`, never
//!    exec), `execve` with the plan's env only;
//! 6. parent: EOF on the close-on-exec report pipe means exec happened; a report is a typed
//!    [`SandboxError`] naming the layer. Wait with a pidfd until the wall-clock limit, then
//!    SIGKILL; reap; remove the cgroups.
use crate::linux::cgroups::RunCgroup;
use crate::plan::{FsAccess, LandlockScope, NetNamespace, Network, Resource, SandboxPlan};
use crate::runtime::{Enforcement, SandboxError, Stdin, StdioSetup};
use std::ffi::{CString, c_char};
use std::fs::File;
use std::io::{self, Write as _};
use std::mem::size_of;
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt as _;
use std::time::Instant;

/// The new root inside the staging tmpfs (mounted on the child's private `/tmp`), and the
/// host root after the first `pivot_root`.
const NEW: &str = "/new";
const OLD: &str = "/old";

// linux/landlock.h
const LANDLOCK_RULE_PATH_BENEATH: libc::c_int = 1;
const LANDLOCK_ACCESS_NET_BIND_TCP: u64 = 1 << 0;
const LANDLOCK_ACCESS_NET_CONNECT_TCP: u64 = 1 << 1;
const LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET: u64 = 1 << 0;
const LANDLOCK_SCOPE_SIGNAL: u64 = 1 << 1;
// linux/mount.h
const MOUNT_ATTR_RDONLY: u64 = 0x1;
const MOUNT_ATTR_NOSUID: u64 = 0x2;
const MOUNT_ATTR_NODEV: u64 = 0x4;
const MOUNT_ATTR_NOEXEC: u64 = 0x8;
const AT_RECURSIVE: libc::c_uint = 0x8000;
// linux/openat2.h: `resolve` flags of the `open_how` below.
const SCOPE_RESOLVE: u64 = libc::RESOLVE_NO_SYMLINKS | libc::RESOLVE_NO_MAGICLINKS;
// linux/capability.h, linux/securebits.h
const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
/// NOROOT, NO_SETUID_FIXUP, KEEP_CAPS, NO_CAP_AMBIENT_RAISE, each with its lock bit.
const SECUREBITS_LOCKED_DOWN: libc::c_ulong = 0xff;

#[repr(C)]
struct RulesetAttr {
    handled_access_fs: u64,
    handled_access_net: u64,
    scoped: u64,
}

#[repr(C, packed)]
struct PathBeneathAttr {
    allowed_access: u64,
    parent_fd: i32,
}

/// `struct open_how` of linux/openat2.h (the `libc` crate's is `non_exhaustive`).
#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// The steps the child reports failures for; the index into [`STAGE_NAMES`].
#[derive(Clone, Copy)]
#[repr(u32)]
enum Stage {
    UserNamespace = 0,
    Cgroup,
    Propagation,
    Staging,
    Mount,
    PivotRoot,
    RootReadOnly,
    Hostname,
    Loopback,
    Rlimit,
    Workdir,
    Landlock,
    Capabilities,
    NoNewPrivs,
    Seccomp,
    Stdio,
    Exec,
    Hold,
    ParentDeath,
    Listener,
    /// A scope bind: re-open, clone or move failed (index: the mount op).
    ScopeBind,
    /// A scope bind: the path names another object than the decided one.
    ScopeChanged,
    /// A limit of the run's own user namespace (index: the limit).
    UserNamespaceLimits,
    /// `vm.memfd_noexec` in the run's pid namespace.
    MemfdNoexec,
    /// A limit of the run's own IPC namespace (index: the limit).
    IpcLimits,
}

const STAGE_NAMES: [&str; 25] = [
    "user namespace",
    "cgroup",
    "mount propagation",
    "new root",
    "mount",
    "pivot_root",
    "read-only root",
    "uts hostname",
    "network loopback",
    "rlimit",
    "working directory",
    "landlock",
    "capabilities",
    "no_new_privs",
    "seccomp",
    "stdio",
    "exec",
    "pre-exec hold",
    "parent-death signal",
    "proxy listener",
    "scope bind",
    "scope bind",
    "user namespace limits",
    "memfd_noexec",
    "ipc namespace limits",
];

/// What the child writes to the error pipe: stage, index (mount op, rlimit), errno.
type Report = [i32; 3];

/// What a held child writes to the report socket once every layer but exec is in force,
/// before it blocks on the hold pipe (no stage is negative, so it is never a failure); the
/// proxy listener, if any, travels with it as SCM_RIGHTS.
const READY: i32 = -1;

/// One syscall-level step of building the new root.
enum Action {
    /// `mkdir`, `EEXIST` ignored.
    Mkdir(CString),
    /// Create an empty file as a mount point, `EEXIST` ignored.
    Touch(CString),
    Symlink {
        points_to: CString,
        link: CString,
    },
    /// `mount(source, target, fstype, flags, data)`.
    Mount {
        source: CString,
        target: CString,
        fstype: CString,
        flags: libc::c_ulong,
        data: CString,
    },
    /// `open(O_CREAT|O_EXCL)` a new regular file, 0644, and write `contents` into it.
    WriteFile {
        path: CString,
        contents: Vec<u8>,
    },
    /// `mount(source, target, MS_BIND|MS_REC)`.
    Bind {
        source: CString,
        target: CString,
    },
    /// A scope bind from the decision: `openat2(source, RESOLVE_NO_SYMLINKS)`, `fstat`
    /// against `(dev, ino)`, `open_tree(CLONE | RECURSIVE)`, `mount_setattr(attr_set)` on the
    /// clone, then `move_mount` onto `target` opened the same way.
    BindOpened {
        source: CString,
        target: CString,
        dev: u64,
        ino: u64,
        attr_set: u64,
    },
    /// `mount_setattr(target, AT_RECURSIVE, attr_set)`.
    SetAttr {
        target: CString,
        attr_set: u64,
    },
}

/// A spawned child, its stdout and stderr, and (held) its report pipe, the write end of the
/// hold pipe and the proxy listener the child passed.
type Spawned = (
    Running,
    File,
    File,
    Option<(OwnedFd, OwnedFd, Option<OwnedFd>)>,
);

/// Every string, struct and program the child uses, built before the fork.
pub(crate) struct Prepared {
    argv: Vec<CString>,
    env: Vec<CString>,
    program: Vec<CString>,
    uid_map: Vec<u8>,
    gid_map: Vec<u8>,
    /// (index of the plan's mount op, action).
    actions: Vec<(usize, Action)>,
    hostname: Vec<u8>,
    loopback: bool,
    /// Where the child opens the listener it hands to the parent (`Network::Proxied`).
    listener: Option<libc::sockaddr_in>,
    rlimits: Vec<(libc::__rlimit_resource_t, u64)>,
    /// `/proc/sys/user/max_*` files and the decimal limit each gets.
    user_ns_limits: Vec<(CString, Vec<u8>)>,
    /// `/proc/sys/kernel/shm*` files and the decimal limit each gets.
    ipc_limits: Vec<(CString, Vec<u8>)>,
    /// Write `2` to `/proc/sys/vm/memfd_noexec`.
    memfd_noexec: bool,
    workdir: CString,
    ruleset: RulesetAttr,
    rules: Vec<(CString, u64)>,
    seccomp: crate::linux::seccomp::Programs,
    plan: SandboxPlan,
    /// The run's mount namespace, held open by the parent from the hold on: when the run ends,
    /// its mounts are torn down when this launcher is dropped, not in the child's exit, so the
    /// caller learns the exit status first and can drop the launcher while its records reach
    /// the disk.
    kept_mounts: std::sync::OnceLock<std::os::fd::OwnedFd>,
    mount_names: Vec<String>,
}

fn cstring(text: impl AsRef<[u8]>) -> Result<CString, SandboxError> {
    CString::new(text.as_ref()).map_err(|_| SandboxError::NulByte {
        text: String::from_utf8_lossy(text.as_ref()).into_owned(),
    })
}

fn fs_bits(access: &std::collections::BTreeSet<FsAccess>) -> u64 {
    access.iter().map(|right| 1u64 << (*right as u32)).sum()
}

impl Prepared {
    pub(crate) fn new(plan: &SandboxPlan) -> Result<Self, SandboxError> {
        let (actions, mount_names) = mounts::actions(&plan.mounts)?;
        let landlock = &plan.landlock;
        let mut scoped = 0;
        for scope in &landlock.scopes {
            scoped |= match scope {
                LandlockScope::AbstractUnixSocket => LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET,
                LandlockScope::Signal => LANDLOCK_SCOPE_SIGNAL,
            };
        }
        let ruleset = RulesetAttr {
            handled_access_fs: fs_bits(&landlock.handled),
            handled_access_net: if landlock.deny_tcp {
                LANDLOCK_ACCESS_NET_BIND_TCP | LANDLOCK_ACCESS_NET_CONNECT_TCP
            } else {
                0
            },
            scoped,
        };
        let rules = landlock
            .rules
            .iter()
            .map(|rule| {
                Ok((
                    cstring(rule.path.as_os_str().as_bytes())?,
                    fs_bits(&rule.access),
                ))
            })
            .collect::<Result<Vec<_>, SandboxError>>()?;
        let seccomp =
            crate::linux::seccomp::compile(plan.seccomp, plan.unix_sockets, plan.exec_memory)
                .map_err(|error| SandboxError::Seccomp {
                    detail: error.to_string(),
                })?;
        Ok(Self {
            argv: plan.argv.iter().map(cstring).collect::<Result<_, _>>()?,
            env: plan
                .env
                .iter()
                .map(|(name, value)| cstring(format!("{name}={value}")))
                .collect::<Result<_, _>>()?,
            program: plan
                .program
                .iter()
                .map(|path| cstring(path.as_os_str().as_bytes()))
                .collect::<Result<_, _>>()?,
            uid_map: format!("0 {} 1\n", plan.uid).into_bytes(),
            gid_map: format!("0 {} 1\n", plan.gid).into_bytes(),
            actions,
            hostname: plan.hostname.as_bytes().to_vec(),
            loopback: plan.network.has_loopback(),
            listener: match plan.network {
                Network::Proxied { listener } => Some(libc::sockaddr_in {
                    sin_family: libc::AF_INET as libc::sa_family_t,
                    sin_port: listener.port().to_be(),
                    sin_addr: libc::in_addr {
                        s_addr: u32::from(*listener.ip()).to_be(),
                    },
                    sin_zero: [0; 8],
                }),
                _ => None,
            },
            rlimits: plan
                .rlimits
                .iter()
                .map(|limit| {
                    let resource = match limit.resource {
                        Resource::Core => libc::RLIMIT_CORE,
                        Resource::Nofile => libc::RLIMIT_NOFILE,
                        Resource::AddressSpace => libc::RLIMIT_AS,
                        Resource::Processes => libc::RLIMIT_NPROC,
                        Resource::FileSize => libc::RLIMIT_FSIZE,
                    };
                    (resource, limit.value)
                })
                .collect(),
            user_ns_limits: sysctl_writes(
                crate::linux::facts::USER_NS_SYSCTLS,
                plan.user_ns_limits
                    .iter()
                    .map(|limit| (limit.counter.file_name(), limit.value)),
            )?,
            ipc_limits: sysctl_writes(
                "/proc/sys/kernel",
                plan.ipc_limits
                    .iter()
                    .map(|limit| (limit.counter.file_name(), limit.value)),
            )?,
            memfd_noexec: plan.memfd_noexec,
            workdir: cstring(plan.workdir.as_os_str().as_bytes())?,
            ruleset,
            rules,
            seccomp,
            plan: plan.clone(),
            kept_mounts: std::sync::OnceLock::new(),
            mount_names,
        })
    }

    /// Clones the child, puts it in its cgroups, lets it run, and waits until it has exec'd.
    pub(crate) fn spawn(&self, io: StdioSetup) -> Result<(Running, File, File), SandboxError> {
        let (running, stdout, stderr, _) = self.spawn_inner(io, false, &mut |_| {})?;
        Ok((running, stdout, stderr))
    }

    /// Like `spawn`, but the child stops after every layer is in force, just before exec,
    /// until [`Held::release`]; dropping the [`Held`] kills it. `while_building` runs here,
    /// with the child's pid, once the child exists, while it builds its sandbox (it is not
    /// called if the clone fails).
    pub(crate) fn spawn_held(
        &self,
        io: StdioSetup,
        while_building: &mut dyn FnMut(libc::pid_t),
    ) -> Result<Held<'_>, SandboxError> {
        let (running, stdout, stderr, hold) = self.spawn_inner(io, true, while_building)?;
        let Some((report, release, listener)) = hold else {
            return Err(running.abort(SandboxError::Layer {
                layer: "pre-exec hold",
                detail: String::new(),
                source: io::Error::other("the child did not stop before exec"),
            }));
        };
        // Best effort: without it the child's exit tears its mounts down, as before.
        if let Ok(namespace) = fs_err::File::open(format!("/proc/{}/ns/mnt", running.pid())) {
            let _ = self.kept_mounts.set(namespace.into_file().into());
        }
        Ok(Held {
            prepared: self,
            running,
            stdout,
            stderr,
            report,
            release,
            listener,
        })
    }

    /// Spawns; with `hold`, returns once the child waits before exec, with the report pipe
    /// and the hold pipe's write end.
    fn spawn_inner(
        &self,
        io: StdioSetup,
        hold: bool,
        while_building: &mut dyn FnMut(libc::pid_t),
    ) -> Result<Spawned, SandboxError> {
        let parent_error = |layer: &'static str| {
            move |source: io::Error| SandboxError::Layer {
                layer,
                detail: String::new(),
                source,
            }
        };
        let (stdout_read, stdout_write) = pipe().map_err(parent_error("stdio"))?;
        let (stderr_read, stderr_write) = pipe().map_err(parent_error("stdio"))?;
        // A socket pair rather than a pipe, so a held child can pass the proxy listener along
        // with its READY report (SCM_RIGHTS).
        let (report_read, report_write) = socketpair().map_err(parent_error("stdio"))?;
        let hold_pipe = if hold {
            Some(pipe().map_err(parent_error("stdio"))?)
        } else {
            None
        };
        let stdin = match io.stdin {
            Stdin::Null => Some(OwnedFd::from(
                fs_err::File::open("/dev/null")
                    .map_err(parent_error("stdio"))?
                    .into_parts()
                    .0,
            )),
            Stdin::Inherit => None,
        };
        let cgroup = match &self.plan.cgroup {
            Some(plan) => Some(RunCgroup::create(plan)?),
            None => None,
        };
        // Pointer arrays for execve, built before the fork (they allocate).
        let argv: Vec<*const c_char> = self
            .argv
            .iter()
            .map(|arg| arg.as_ptr())
            .chain([std::ptr::null()])
            .collect();
        let envp: Vec<*const c_char> = self
            .env
            .iter()
            .map(|var| var.as_ptr())
            .chain([std::ptr::null()])
            .collect();
        let fds = ChildFds {
            stdin: stdin.as_ref().map(|fd| fd.as_raw_fd()),
            stdout: stdout_write.as_raw_fd(),
            stderr: stderr_write.as_raw_fd(),
            report: report_write.as_raw_fd(),
            cgroups: cgroup
                .as_ref()
                .map(RunCgroup::attach_fds)
                .unwrap_or_default(),
            hold: hold_pipe
                .as_ref()
                .map(|(read, write)| (read.as_raw_fd(), write.as_raw_fd())),
        };
        // A run without network by root joins the namespace kept for its cgroup slot, and the
        // clone makes no network namespace. If that namespace cannot be made or checked, the
        // run gets a fresh one, which isolates at least as much (and is what its record says).
        let in_slot = match (&self.plan.net_namespace, &cgroup) {
            (NetNamespace::Slot { dir }, Some(cgroup)) => {
                crate::linux::slot_netns::enter(dir, cgroup.slot()).ok()
            }
            _ => None,
        };
        let mut flags = libc::CLONE_NEWUSER
            | libc::CLONE_NEWNS
            | libc::CLONE_NEWPID
            | libc::CLONE_NEWIPC
            | libc::CLONE_NEWUTS;
        if in_slot.is_none() {
            flags |= libc::CLONE_NEWNET;
        }
        // SAFETY: a raw clone without CLONE_VM and with a null stack behaves like fork: the
        // child gets a copy-on-write copy of this process. It runs only `child`, which makes
        // raw async-signal-safe syscalls on memory prepared above and never returns (it execs
        // or `_exit`s), so it never touches a lock another thread of the parent held.
        let pid = unsafe {
            libc::syscall(
                libc::SYS_clone,
                libc::c_ulong::try_from(flags | libc::SIGCHLD).unwrap_or_default(),
                0usize,
                0usize,
                0usize,
                0usize,
            )
        };
        if pid == 0 {
            // Never returns: the child stays in the slot's namespace.
            child(self, &fds, &argv, &envp);
        }
        // Read before leaving the slot's namespace, whose syscalls could overwrite errno.
        let clone_error = (pid < 0).then(io::Error::last_os_error);
        // The parent goes back to its own network namespace at once.
        let net_namespace = match in_slot {
            Some(in_slot) => {
                drop(in_slot);
                "slot"
            }
            None => "fresh",
        };
        if let Some(source) = clone_error {
            if let Some(cgroup) = cgroup {
                cgroup.release();
            }
            return Err(SandboxError::Layer {
                layer: "clone namespaces",
                detail: String::new(),
                source,
            });
        }
        let pid = libc::pid_t::try_from(pid).unwrap_or(libc::pid_t::MAX);
        drop((stdout_write, stderr_write, report_write, stdin));
        let hold_write = hold_pipe.map(|(read, write)| {
            drop(read);
            write
        });
        let running = Running {
            pid,
            reaped: false,
            cgroup,
            started: Instant::now(),
            plan_timeout: self.plan.timeout,
            enforcement: Enforcement {
                net_namespace,
                ..Enforcement::of(&self.plan)
            },
        };
        while_building(pid);
        // EOF: the child exec'd (its end is close-on-exec). A report: it failed, or (held)
        // it is ready and waits before exec.
        let (bytes, passed) = match read_report(&report_read) {
            Ok(report) => report,
            Err(error) => return Err(running.abort(error)),
        };
        if let Some(hold_write) = hold_write {
            if is_ready(&bytes) {
                return Ok((
                    running,
                    File::from(stdout_read),
                    File::from(stderr_read),
                    Some((report_read, hold_write, passed)),
                ));
            }
            if let Some(error) = self.report_error(&bytes, running.cgroup.as_ref()) {
                return Err(running.abort(error));
            }
            return Err(running.abort(SandboxError::Layer {
                layer: "pre-exec hold",
                detail: String::new(),
                source: io::Error::other("the child did not stop before exec"),
            }));
        }
        if let Some(error) = self.report_error(&bytes, running.cgroup.as_ref()) {
            return Err(running.abort(error));
        }
        Ok((
            running,
            File::from(stdout_read),
            File::from(stderr_read),
            None,
        ))
    }

    /// The error a child's failure report names, or `None` when `bytes` is no report.
    fn report_error(&self, bytes: &[u8], cgroup: Option<&RunCgroup>) -> Option<SandboxError> {
        if bytes.len() == size_of::<Report>() {
            let word = |index: usize| {
                let mut raw = [0u8; 4];
                raw.copy_from_slice(&bytes[index * 4..index * 4 + 4]);
                i32::from_ne_bytes(raw)
            };
            let (stage, index, errno) = (word(0), word(1), word(2));
            let stage = usize::try_from(stage).unwrap_or(usize::MAX);
            let layer = STAGE_NAMES.get(stage).copied().unwrap_or("unknown");
            let index = usize::try_from(index).unwrap_or(usize::MAX);
            if stage == Stage::Cgroup as usize
                && let Some(cgroup) = cgroup
            {
                return Some(cgroup.attach_error(index, io::Error::from_raw_os_error(errno)));
            }
            let scope_bind =
                stage == Stage::ScopeBind as usize || stage == Stage::ScopeChanged as usize;
            let detail = if stage == Stage::Mount as usize || scope_bind {
                self.mount_names.get(index).cloned().unwrap_or_default()
            } else if stage == Stage::Landlock as usize {
                self.plan
                    .landlock
                    .rules
                    .get(index)
                    .map(|rule| rule.path.display().to_string())
                    .unwrap_or_default()
            } else if stage == Stage::Exec as usize {
                self.plan.argv.first().cloned().unwrap_or_default()
            } else if stage == Stage::UserNamespaceLimits as usize {
                self.plan
                    .user_ns_limits
                    .get(index)
                    .map(|limit| limit.counter.file_name().to_string())
                    .unwrap_or_default()
            } else if stage == Stage::IpcLimits as usize {
                self.plan
                    .ipc_limits
                    .get(index)
                    .map(|limit| limit.counter.file_name().to_string())
                    .unwrap_or_default()
            } else {
                String::new()
            };
            let source = if scope_bind {
                mounts::changed_error(&detail, stage == Stage::ScopeChanged as usize, errno)
            } else {
                io::Error::from_raw_os_error(errno)
            };
            return Some(SandboxError::Layer {
                layer,
                detail,
                source,
            });
        }
        None
    }
}

/// Reads one report (or EOF: no bytes) from the child's end of the report socket, with the
/// descriptor it passed along, if any.
fn read_report(report: &OwnedFd) -> Result<(Vec<u8>, Option<OwnedFd>), SandboxError> {
    let error = |source: io::Error| SandboxError::Layer {
        layer: "parent sync",
        detail: String::new(),
        source,
    };
    let mut bytes = [0u8; size_of::<Report>()];
    let mut filled = 0;
    let mut passed: Option<OwnedFd> = None;
    // Room for one control message carrying one descriptor.
    let mut control = [0u64; 4];
    while filled < bytes.len() {
        let mut iov = libc::iovec {
            iov_base: bytes[filled..].as_mut_ptr().cast(),
            iov_len: bytes.len() - filled,
        };
        // SAFETY: an all-zero msghdr is valid; the fields set below point at live buffers.
        let mut message: libc::msghdr = unsafe { std::mem::zeroed() };
        message.msg_iov = &raw mut iov;
        message.msg_iovlen = 1;
        message.msg_control = control.as_mut_ptr().cast();
        message.msg_controllen = size_of::<[u64; 4]>() as _;
        // SAFETY: `message` points at `iov` and `control`, both alive and writable for the
        // call; MSG_CMSG_CLOEXEC makes any received descriptor close-on-exec.
        let read =
            unsafe { libc::recvmsg(report.as_raw_fd(), &raw mut message, libc::MSG_CMSG_CLOEXEC) };
        if read < 0 {
            let source = io::Error::last_os_error();
            if source.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(error(source));
        }
        // SAFETY: the kernel filled `message`; CMSG_FIRSTHDR/NXTHDR walk the control buffer it
        // describes and CMSG_DATA points inside it.
        unsafe {
            let mut header = libc::CMSG_FIRSTHDR(&raw const message);
            while !header.is_null() {
                if (*header).cmsg_level == libc::SOL_SOCKET
                    && (*header).cmsg_type == libc::SCM_RIGHTS
                {
                    let data = libc::CMSG_DATA(header).cast::<libc::c_int>();
                    let count = ((*header).cmsg_len as usize - libc::CMSG_LEN(0) as usize)
                        / size_of::<libc::c_int>();
                    for index in 0..count {
                        let fd = OwnedFd::from_raw_fd(std::ptr::read_unaligned(data.add(index)));
                        // The first is the listener; any other is closed at once.
                        if passed.is_none() {
                            passed = Some(fd);
                        }
                    }
                }
                header = libc::CMSG_NXTHDR(&raw const message, header);
            }
        }
        if read == 0 {
            break;
        }
        filled += usize::try_from(read).unwrap_or(0);
    }
    Ok((bytes[..filled].to_vec(), passed))
}

/// Whether `bytes` is a READY report (the child waits before exec).
fn is_ready(bytes: &[u8]) -> bool {
    bytes.len() == size_of::<Report>() && bytes[..4] == READY.to_ne_bytes()
}

/// A child stopped just before exec with every layer in force (see `Prepared::spawn_held`).
pub(crate) struct Held<'p> {
    prepared: &'p Prepared,
    running: Running,
    stdout: File,
    stderr: File,
    report: OwnedFd,
    release: OwnedFd,
    /// The proxy listener the child passed with its READY report, until taken.
    listener: Option<OwnedFd>,
}

impl Held<'_> {
    pub(crate) fn pid(&self) -> i32 {
        self.running.pid
    }

    /// The listener the child opened inside its network namespace (`Network::Proxied`) and
    /// passed with its READY report; `None` for other networks or once taken. The child's
    /// own copy is close-on-exec, so the program never holds it.
    pub(crate) fn take_listener(&mut self) -> Option<OwnedFd> {
        self.listener.take()
    }

    /// Lets the child exec; returns once it has (or with the error it reported). The
    /// wall-clock limit is measured from here.
    pub(crate) fn release(self) -> Result<(Running, File, File), SandboxError> {
        let Held {
            prepared,
            mut running,
            stdout,
            stderr,
            report,
            release,
            ..
        } = self;
        let mut release = File::from(release);
        if let Err(source) = release.write_all(b"x") {
            return Err(running.abort(SandboxError::Layer {
                layer: "pre-exec hold",
                detail: String::new(),
                source,
            }));
        }
        drop(release);
        running.started = Instant::now();
        let bytes = match read_report(&report) {
            Ok((bytes, _)) => bytes,
            Err(error) => return Err(running.abort(error)),
        };
        drop(report);
        if let Some(error) = prepared.report_error(&bytes, running.cgroup.as_ref()) {
            return Err(running.abort(error));
        }
        Ok((running, stdout, stderr))
    }
}

/// A connected pair of close-on-exec stream sockets.
fn socketpair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds: [libc::c_int; 2] = [-1; 2];
    // SAFETY: `fds` is a writable array of two c_ints, which is what socketpair fills.
    if unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    } != 0
    {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: socketpair succeeded, so both descriptors are open and owned by nothing else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds: [libc::c_int; 2] = [-1; 2];
    // SAFETY: `fds` is a writable array of two c_ints, which is what pipe2 fills.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded, so both descriptors are open and owned by nothing else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

struct ChildFds {
    stdin: Option<RawFd>,
    stdout: RawFd,
    stderr: RawFd,
    report: RawFd,
    /// The run's cgroup attach files, each to receive `0` (empty without cgroups).
    cgroups: Vec<RawFd>,
    /// (read, write) ends of the pipe a held child waits on before exec.
    hold: Option<(RawFd, RawFd)>,
}

mod child;
mod mounts;
mod running;
use child::child;
pub(crate) use running::Running;
pub use running::Stream;

/// The files under `dir` the child writes each value to, as decimal text.
fn sysctl_writes<'a>(
    dir: &str,
    limits: impl Iterator<Item = (&'a str, u64)>,
) -> Result<Vec<(CString, Vec<u8>)>, SandboxError> {
    limits
        .map(|(name, value)| {
            Ok((
                cstring(format!("{dir}/{name}"))?,
                value.to_string().into_bytes(),
            ))
        })
        .collect()
}
