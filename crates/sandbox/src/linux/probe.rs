//! The syscalls behind `crate::probe`: each native layer is tried in a forked child that reports
//! through a pipe and `_exit`s, and cgroup limits are tried with a probe directory that is
//! removed at once. Never changes the calling process's namespaces, filters or flags.

use crate::probe::{Layer, Probes};
use std::ffi::{CStr, CString};
use std::io::{self, Read as _};
use std::mem::{MaybeUninit, size_of};
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};
use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;

/// What a child reports: one `i32` per step. A step that worked holds 0 or its value, a step
/// that failed holds `-errno`, and a step never tried holds [`NOT_RUN`].
const SLOTS: usize = 8;
type Slots = [i32; SLOTS];
const NOT_RUN: i32 = i32::MIN;

/// `landlock_create_ruleset` flag asking for the ABI version (linux/landlock.h).
const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1 << 0;
/// `LANDLOCK_ACCESS_FS_READ_DIR` (linux/landlock.h, ABI 1).
const LANDLOCK_ACCESS_FS_READ_DIR: u64 = 1 << 3;

pub(crate) fn probe_all() -> Probes {
    let (user_namespaces, namespaces) = namespaces();
    let [mount, pid, net, ipc, uts, cgroup] = namespaces;
    let (landlock, landlock_abi) = landlock();
    let (no_new_privs, seccomp) = seccomp();
    Probes {
        user_namespaces,
        mount_namespace: mount,
        pid_namespace: pid,
        net_namespace: net,
        ipc_namespace: ipc,
        uts_namespace: uts,
        cgroup_namespace: cgroup,
        landlock,
        landlock_abi,
        seccomp,
        no_new_privs,
        cgroups: cgroups(),
    }
}

pub(crate) fn free_bytes(path: &Path) -> io::Result<u64> {
    let c_path = CString::new(path.as_os_str().as_bytes()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("path `{}` contains a NUL byte", path.display()),
        )
    })?;
    let mut stat = MaybeUninit::<libc::statvfs>::zeroed();
    // SAFETY: `c_path` is a NUL-terminated string alive for the call, and `stat` points to
    // writable memory of the size statvfs fills.
    if unsafe { libc::statvfs(c_path.as_ptr(), stat.as_mut_ptr()) } != 0 {
        let error = io::Error::last_os_error();
        return Err(io::Error::new(
            error.kind(),
            format!("cannot measure free space of `{}`: {error}", path.display()),
        ));
    }
    // SAFETY: statvfs returned 0, so it initialised the whole struct.
    let stat = unsafe { stat.assume_init() };
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}

/// The current `errno` as a negative slot value. Reads a thread-local; never allocates.
fn failed() -> i32 {
    -io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// A slot value from an `int` syscall result.
fn slot(result: libc::c_int) -> i32 {
    if result < 0 { failed() } else { result }
}

/// A slot value from a `long` syscall result.
fn slot_long(result: libc::c_long) -> i32 {
    if result < 0 {
        failed()
    } else {
        i32::try_from(result).unwrap_or(i32::MAX)
    }
}

/// Human text for a failed slot.
fn describe(value: i32) -> String {
    if value == NOT_RUN {
        "not tried".to_string()
    } else {
        io::Error::from_raw_os_error(value.saturating_neg()).to_string()
    }
}

/// Ends a forked child if `body` ever unwinds, so a panic can never return into the parent's
/// code running in the child's copy of the process.
struct ExitOnUnwind;

impl Drop for ExitOnUnwind {
    fn drop(&mut self) {
        // SAFETY: `_exit` is async-signal-safe, takes an integer and never returns.
        unsafe { libc::_exit(127) }
    }
}

/// Forks; the child runs `body`, writes its slots to a pipe and `_exit`s; the parent reaps it.
/// `body` runs in a copy of a possibly multi-threaded process, so it must make raw syscalls
/// only, on memory prepared before the fork: no allocation, no locks, no panics.
fn in_child(body: impl FnOnce(&mut Slots)) -> io::Result<Slots> {
    let mut fds: [libc::c_int; 2] = [-1; 2];
    // SAFETY: `fds` is a writable array of two c_ints, which is what pipe2 fills.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pipe2 succeeded, so both descriptors are open and owned by nothing else.
    let (read_end, write_end) =
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: fork has no memory-safety preconditions. The child runs only `body` (whose
    // contract is raw syscalls on pre-fork memory), `write` and `_exit`, all async-signal-safe,
    // so it never touches a lock another thread of the parent might have held.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        let _exit_on_unwind = ExitOnUnwind;
        let mut slots = [NOT_RUN; SLOTS];
        body(&mut slots);
        // SAFETY: `slots` is an initialised buffer of exactly `size_of::<Slots>()` bytes and
        // `write_end` is open; `_exit` ends the child without running the parent's destructors
        // or atexit handlers.
        unsafe {
            libc::write(
                write_end.as_raw_fd(),
                slots.as_ptr().cast(),
                size_of::<Slots>(),
            );
            libc::_exit(0);
        }
    }
    drop(write_end);
    let mut bytes = Vec::with_capacity(size_of::<Slots>());
    let read = std::fs::File::from(read_end)
        .take(size_of::<Slots>() as u64)
        .read_to_end(&mut bytes);
    let status = reap(pid)?;
    read?;
    if bytes.len() != size_of::<Slots>() {
        return Err(io::Error::other(format!(
            "probe child ended without reporting ({status})"
        )));
    }
    let mut slots = [NOT_RUN; SLOTS];
    for (slot, chunk) in slots.iter_mut().zip(bytes.chunks_exact(4)) {
        let mut raw = [0u8; 4];
        raw.copy_from_slice(chunk);
        *slot = i32::from_ne_bytes(raw);
    }
    Ok(slots)
}

/// Waits for `pid` and describes how it ended.
fn reap(pid: libc::pid_t) -> io::Result<String> {
    let mut status: libc::c_int = 0;
    loop {
        // SAFETY: `status` is a writable c_int; `pid` is our own unreaped child.
        let result = unsafe { libc::waitpid(pid, &mut status, 0) };
        if result == pid {
            break;
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
    Ok(if libc::WIFEXITED(status) {
        format!("exit status {}", libc::WEXITSTATUS(status))
    } else if libc::WIFSIGNALED(status) {
        format!("killed by signal {}", libc::WTERMSIG(status))
    } else {
        format!("wait status {status}")
    })
}

/// Opens `path` for writing and writes `data` with raw syscalls (safe in a forked child).
fn write_file(path: &CStr, data: &[u8]) -> i32 {
    // SAFETY: `path` is NUL-terminated and alive for the call.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return failed();
    }
    // SAFETY: `data` is a live buffer of `data.len()` bytes and `fd` is open.
    let written = unsafe { libc::write(fd, data.as_ptr().cast(), data.len()) };
    let result = if written < 0 {
        failed()
    } else if written.unsigned_abs() != data.len() {
        -libc::EIO
    } else {
        0
    };
    // SAFETY: `fd` is open and owned by this function.
    unsafe { libc::close(fd) };
    result
}

/// Slots of the namespace child.
mod ns {
    pub(super) const USER: usize = 0;
    pub(super) const MAPS: usize = 1;
    pub(super) const MOUNT: usize = 2;
    pub(super) const MOUNT_PRIVATE: usize = 3;
    /// Then pid, net, ipc, uts, cgroup in `OTHERS` order.
    pub(super) const FIRST_OTHER: usize = 4;
}

/// A user namespace mapping this user to root, then a mount namespace with `/` made private,
/// then pid, net, ipc, uts and cgroup namespaces, all in one child.
fn namespaces() -> (Layer, [Layer; 6]) {
    const OTHERS: [(libc::c_int, &str); 4] = [
        (libc::CLONE_NEWPID, "CLONE_NEWPID"),
        (libc::CLONE_NEWNET, "CLONE_NEWNET"),
        (libc::CLONE_NEWIPC, "CLONE_NEWIPC"),
        (libc::CLONE_NEWUTS, "CLONE_NEWUTS"),
    ];
    // SAFETY: getuid and getgid have no preconditions and cannot fail.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    // Prepared before the fork: the child must not allocate.
    let uid_line = format!("0 {uid} 1");
    let gid_line = format!("0 {gid} 1");
    let result = in_child(|slots| {
        // A non-dumpable process (pre-main hardening makes AegisClaw one) has root-owned
        // /proc/self files, so an unprivileged user could not write its own uid_map. This
        // child exits right after, so making it dumpable exposes nothing.
        // SAFETY: prctl with integer arguments; affects this forked child only.
        unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 1u64, 0u64, 0u64, 0u64) };
        // SAFETY: unshare takes a flag word only; it changes this forked child alone.
        slots[ns::USER] = slot(unsafe { libc::unshare(libc::CLONE_NEWUSER) });
        if slots[ns::USER] == 0 {
            slots[ns::MAPS] = write_file(c"/proc/self/setgroups", b"deny");
            if slots[ns::MAPS] == 0 {
                slots[ns::MAPS] = write_file(c"/proc/self/uid_map", uid_line.as_bytes());
            }
            if slots[ns::MAPS] == 0 {
                slots[ns::MAPS] = write_file(c"/proc/self/gid_map", gid_line.as_bytes());
            }
        }
        // SAFETY: as above; the new mount namespace belongs to this child only.
        slots[ns::MOUNT] = slot(unsafe { libc::unshare(libc::CLONE_NEWNS) });
        if slots[ns::MOUNT] == 0 {
            // SAFETY: a propagation change needs no source, type or data (null is allowed);
            // the target is a static NUL-terminated string; it affects this child's new
            // mount namespace only.
            slots[ns::MOUNT_PRIVATE] = slot(unsafe {
                libc::mount(
                    std::ptr::null(),
                    c"/".as_ptr(),
                    std::ptr::null(),
                    libc::MS_REC | libc::MS_PRIVATE,
                    std::ptr::null(),
                )
            });
        }
        for (index, (flag, _)) in OTHERS.iter().enumerate() {
            // SAFETY: unshare takes a flag word only; it changes this forked child alone.
            slots[ns::FIRST_OTHER + index] = slot(unsafe { libc::unshare(*flag) });
        }
    });
    let slots = match result {
        Ok(slots) => slots,
        Err(error) => {
            let layer = || Layer::no(format!("probe child failed: {error}"));
            return (
                layer(),
                [layer(), layer(), layer(), layer(), layer(), layer()],
            );
        }
    };
    let user = if slots[ns::USER] != 0 {
        Layer::no(format!(
            "unshare(CLONE_NEWUSER): {}",
            describe(slots[ns::USER])
        ))
    } else if slots[ns::MAPS] != 0 {
        Layer::no(format!(
            "created, but writing setgroups/uid_map/gid_map failed: {}",
            describe(slots[ns::MAPS])
        ))
    } else {
        Layer::yes(format!("unshare(CLONE_NEWUSER), uid_map `{uid_line}`"))
    };
    let inside = if slots[ns::USER] == 0 {
        "in a user namespace"
    } else {
        "without a user namespace"
    };
    let simple = |index: usize, name: &str| {
        if slots[index] == 0 {
            Layer::yes(format!("unshare({name}) {inside}"))
        } else {
            Layer::no(format!(
                "unshare({name}) {inside}: {}",
                describe(slots[index])
            ))
        }
    };
    let mount = match (slots[ns::MOUNT], slots[ns::MOUNT_PRIVATE]) {
        (0, 0) => Layer::yes(format!("unshare(CLONE_NEWNS) {inside}, `/` made private")),
        (0, error) => Layer::no(format!(
            "unshare(CLONE_NEWNS) {inside}, but making `/` private failed: {}",
            describe(error)
        )),
        (error, _) => Layer::no(format!(
            "unshare(CLONE_NEWNS) {inside}: {}",
            describe(error)
        )),
    };
    let [pid, net, ipc, uts] = [0, 1, 2, 3].map(|i| simple(ns::FIRST_OTHER + i, OTHERS[i].1));
    // The cgroup namespace gets its own child: the first one has no slot left.
    let cgroup = match in_child(|slots| {
        // SAFETY: unshare takes flag words only; it changes this forked child alone.
        slots[0] = slot(unsafe { libc::unshare(libc::CLONE_NEWUSER) });
        // SAFETY: as above.
        slots[1] = slot(unsafe { libc::unshare(libc::CLONE_NEWCGROUP) });
    }) {
        Ok(slots) if slots[1] == 0 => Layer::yes(format!("unshare(CLONE_NEWCGROUP) {inside}")),
        Ok(slots) => Layer::no(format!(
            "unshare(CLONE_NEWCGROUP) {inside}: {}",
            describe(slots[1])
        )),
        Err(error) => Layer::no(format!("probe child failed: {error}")),
    };
    (user, [mount, pid, net, ipc, uts, cgroup])
}

/// The Landlock ABI version, then a ruleset handling directory reads, enforced on the child,
/// then a read of `/` that the ruleset must refuse.
fn landlock() -> (Layer, Option<u32>) {
    let attr: [u64; 1] = [LANDLOCK_ACCESS_FS_READ_DIR];
    let result = in_child(|slots| {
        // SAFETY: a version query passes a null attribute with size 0, which the kernel
        // accepts; no memory is read or written.
        slots[0] = slot_long(unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                std::ptr::null::<libc::c_void>(),
                0usize,
                LANDLOCK_CREATE_RULESET_VERSION,
            )
        });
        if slots[0] < 1 {
            return;
        }
        // SAFETY: `attr` is a live u64 array whose size is passed with it; the kernel reads
        // `handled_access_fs` from it (a smaller struct than the newest ABI is accepted).
        slots[1] = slot_long(unsafe {
            libc::syscall(
                libc::SYS_landlock_create_ruleset,
                attr.as_ptr(),
                size_of::<[u64; 1]>(),
                0u32,
            )
        });
        if slots[1] < 0 {
            return;
        }
        // SAFETY: prctl with integer arguments; affects this forked child only.
        slots[2] = slot(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1u64, 0u64, 0u64, 0u64) });
        // SAFETY: the ruleset fd was just created by this child; flags must be 0.
        slots[3] =
            slot_long(unsafe { libc::syscall(libc::SYS_landlock_restrict_self, slots[1], 0u32) });
        if slots[3] != 0 {
            return;
        }
        // SAFETY: static NUL-terminated path; the fd, if any, is closed before `_exit` anyway.
        slots[4] = slot(unsafe { libc::open(c"/".as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY) });
    });
    let slots = match result {
        Ok(slots) => slots,
        Err(error) => return (Layer::no(format!("probe child failed: {error}")), None),
    };
    let abi = u32::try_from(slots[0]).ok().filter(|abi| *abi >= 1);
    let Some(version) = abi else {
        return (
            Layer::no(format!(
                "landlock_create_ruleset(VERSION): {} (kernel without Landlock, or not in `lsm=`)",
                describe(slots[0])
            )),
            None,
        );
    };
    let layer = if slots[1] < 0 {
        Layer::no(format!(
            "ABI {version}, but creating a ruleset failed: {}",
            describe(slots[1])
        ))
    } else if slots[3] != 0 {
        Layer::no(format!(
            "ABI {version}, but landlock_restrict_self failed: {}",
            describe(slots[3])
        ))
    } else if slots[4] == -libc::EACCES {
        Layer::yes(format!(
            "ABI {version}, ruleset enforced (reading `/` refused)"
        ))
    } else {
        Layer::no(format!(
            "ABI {version}, ruleset applied but not enforced (reading `/` gave {})",
            if slots[4] >= 0 {
                "a descriptor".to_string()
            } else {
                describe(slots[4])
            }
        ))
    };
    (layer, abi)
}

/// `PR_SET_NO_NEW_PRIVS` read back, then an allow-all seccomp filter read back as mode 2.
fn seccomp() -> (Layer, Layer) {
    let filter = [libc::sock_filter {
        code: (libc::BPF_RET | libc::BPF_K) as u16,
        jt: 0,
        jf: 0,
        k: libc::SECCOMP_RET_ALLOW,
    }];
    let program = libc::sock_fprog {
        len: 1,
        filter: filter.as_ptr().cast_mut(),
    };
    let result = in_child(|slots| {
        // SAFETY: prctl with integer arguments; affects this forked child only.
        slots[0] = slot(unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1u64, 0u64, 0u64, 0u64) });
        // SAFETY: as above; reads a flag.
        slots[1] = slot(unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0u64, 0u64, 0u64, 0u64) });
        if slots[0] != 0 {
            return;
        }
        // SAFETY: `program` points at `filter`, both alive (copied into the child) for the
        // call; the kernel copies the filter; it applies to this forked child only.
        slots[2] = slot(unsafe {
            libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::c_ulong::from(libc::SECCOMP_MODE_FILTER),
                &raw const program,
            )
        });
        // SAFETY: prctl with integer arguments; reads the seccomp mode.
        slots[3] = slot(unsafe { libc::prctl(libc::PR_GET_SECCOMP, 0u64, 0u64, 0u64, 0u64) });
    });
    let slots = match result {
        Ok(slots) => slots,
        Err(error) => {
            let layer = || Layer::no(format!("probe child failed: {error}"));
            return (layer(), layer());
        }
    };
    let no_new_privs = match (slots[0], slots[1]) {
        (0, 1) => Layer::yes("PR_SET_NO_NEW_PRIVS set and read back"),
        (0, other) => Layer::no(format!("PR_SET_NO_NEW_PRIVS set but read back {other}")),
        (error, _) => Layer::no(format!("PR_SET_NO_NEW_PRIVS: {}", describe(error))),
    };
    let seccomp = match (slots[2], slots[3]) {
        (0, 2) => Layer::yes("BPF filter installed (PR_GET_SECCOMP = 2)"),
        (0, other) => Layer::no(format!("filter installed but PR_GET_SECCOMP = {other}")),
        (NOT_RUN, _) => Layer::no("not tried: no_new_privs failed"),
        (error, _) => Layer::no(format!(
            "PR_SET_SECCOMP(SECCOMP_MODE_FILTER): {}",
            describe(error)
        )),
    };
    (no_new_privs, seccomp)
}

pub(crate) mod cgroup;
use cgroup::cgroups;
