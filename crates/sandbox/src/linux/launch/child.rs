//! The cloned child of `launch`: raw, async-signal-safe syscalls on memory prepared before the
//! clone (no allocation, no locks), in the order the module doc of `launch` gives; the first
//! failure is reported through the close-on-exec pipe and the child `_exit`s.

use super::{
    AT_RECURSIVE, Action, CapData, CapHeader, ChildFds, LANDLOCK_RULE_PATH_BENEATH,
    LINUX_CAPABILITY_VERSION_3, MOUNT_ATTR_NODEV, MOUNT_ATTR_NOSUID, MOUNT_ATTR_RDONLY, MountAttr,
    OpenHow, PathBeneathAttr, Prepared, READY, Report, RulesetAttr, SCOPE_RESOLVE,
    SECUREBITS_LOCKED_DOWN, Stage,
};
use std::ffi::c_char;
use std::io;
use std::mem::size_of;

/// Ends the child if anything in it ever unwinds.
struct ExitOnUnwind;

impl Drop for ExitOnUnwind {
    fn drop(&mut self) {
        // SAFETY: `_exit` is async-signal-safe, takes an integer and never returns.
        unsafe { libc::_exit(127) }
    }
}

/// Writes the report and exits. Async-signal-safe.
fn fail(fds: &ChildFds, stage: Stage, index: usize) -> ! {
    let errno = io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO);
    let report: Report = [
        stage as i32,
        i32::try_from(index).unwrap_or(i32::MAX),
        errno,
    ];
    // SAFETY: `report` is an initialised buffer of exactly `size_of::<Report>()` bytes and the
    // report fd is open; `_exit` ends the child without running destructors or atexit handlers.
    unsafe {
        libc::write(fds.report, report.as_ptr().cast(), size_of::<Report>());
        libc::_exit(127)
    }
}

/// Writes `bytes` to a file that must exist. Async-signal-safe.
fn write_file(path: &std::ffi::CStr, bytes: &[u8]) -> bool {
    // SAFETY: `path` is NUL-terminated and alive for the call.
    let fd = unsafe { libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC) };
    if fd < 0 {
        return false;
    }
    // SAFETY: `bytes` is a live buffer of the given length; `fd` was just opened.
    let written = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
    // SAFETY: closes the descriptor opened above.
    unsafe { libc::close(fd) };
    usize::try_from(written).ok() == Some(bytes.len())
}

/// Creates a new regular file (mode 0644, never an existing one) holding `bytes`.
/// Async-signal-safe.
fn write_new_file(path: &std::ffi::CStr, bytes: &[u8]) -> bool {
    // SAFETY: `path` is NUL-terminated and alive for the call.
    let fd = unsafe {
        libc::open(
            path.as_ptr(),
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_CLOEXEC,
            0o644,
        )
    };
    if fd < 0 {
        return false;
    }
    // SAFETY: `bytes` is a live buffer of the given length; `fd` was just opened.
    let written = unsafe { libc::write(fd, bytes.as_ptr().cast(), bytes.len()) };
    // SAFETY: closes the descriptor opened above.
    unsafe { libc::close(fd) };
    usize::try_from(written).ok() == Some(bytes.len())
}

/// Ignores `EEXIST` from a creating call.
fn created_or_exists(result: libc::c_int) -> bool {
    result == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EEXIST)
}

/// `openat2(AT_FDCWD, path, O_PATH | O_CLOEXEC)` following no symlink at all (nor any
/// `/proc` magic link): a path that became a symlink anywhere is `ELOOP`. Async-signal-safe.
fn open_no_symlinks(path: &std::ffi::CStr) -> libc::c_int {
    let how = OpenHow {
        flags: (libc::O_PATH | libc::O_CLOEXEC) as u64,
        mode: 0,
        resolve: SCOPE_RESOLVE,
    };
    // SAFETY: `path` is NUL-terminated and `how` a live `open_how` of the size passed; the
    // call reads both and returns a new descriptor or -1.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            libc::AT_FDCWD,
            path.as_ptr(),
            &raw const how,
            size_of::<OpenHow>(),
        )
    };
    libc::c_int::try_from(fd).unwrap_or(-1)
}

/// Binds a scope's host object from the decision (`Action::BindOpened`): the re-opened path
/// must be the decided `(dev, ino)`; the clone gets its attributes before it is attached.
/// Reports `ScopeChanged` for another object, `ScopeBind` for any failing call.
/// Async-signal-safe: raw syscalls on memory prepared before the clone and on this stack.
fn bind_opened(
    fds: &ChildFds,
    index: usize,
    source: &std::ffi::CStr,
    target: &std::ffi::CStr,
    identity: (u64, u64),
    attr_set: u64,
) {
    let source_fd = open_no_symlinks(source);
    if source_fd < 0 {
        fail(fds, Stage::ScopeBind, index);
    }
    // SAFETY: an all-zero `stat` is valid; fstat fills it for the open `source_fd`.
    let mut stat: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: as above; `stat` is a live, writable `stat`.
    if unsafe { libc::fstat(source_fd, &raw mut stat) } != 0 {
        fail(fds, Stage::ScopeBind, index);
    }
    if (stat.st_dev, stat.st_ino) != identity {
        fail(fds, Stage::ScopeChanged, index);
    }
    // SAFETY: `source_fd` is open; the empty path is a NUL-terminated literal; the call
    // returns a new descriptor for a detached clone of the mount tree at `source_fd`.
    let tree = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            source_fd,
            c"".as_ptr(),
            libc::OPEN_TREE_CLONE
                | libc::OPEN_TREE_CLOEXEC
                | libc::AT_EMPTY_PATH as libc::c_uint
                | AT_RECURSIVE,
        )
    };
    let tree = libc::c_int::try_from(tree).unwrap_or(-1);
    if tree < 0 {
        fail(fds, Stage::ScopeBind, index);
    }
    let attr = MountAttr {
        attr_set,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: `tree` is open, `attr` a live `mount_attr` of the size passed.
    if unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree,
            c"".as_ptr(),
            libc::AT_EMPTY_PATH as libc::c_uint | AT_RECURSIVE,
            &raw const attr,
            size_of::<MountAttr>(),
        )
    } != 0
    {
        fail(fds, Stage::ScopeBind, index);
    }
    let target_fd = open_no_symlinks(target);
    if target_fd < 0 {
        fail(fds, Stage::ScopeBind, index);
    }
    // SAFETY: both descriptors are open and the empty paths NUL-terminated literals.
    if unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree,
            c"".as_ptr(),
            target_fd,
            c"".as_ptr(),
            libc::MOVE_MOUNT_F_EMPTY_PATH | libc::MOVE_MOUNT_T_EMPTY_PATH,
        )
    } != 0
    {
        fail(fds, Stage::ScopeBind, index);
    }
    // SAFETY: closes the three descriptors opened above; the mount stays attached.
    unsafe {
        libc::close(target_fd);
        libc::close(tree);
        libc::close(source_fd);
    }
}

/// The child: namespaces are already in place (clone). Every step is a raw syscall on
/// memory prepared before the clone; any failure reports and `_exit`s. Never returns.
pub(super) fn child(
    prepared: &Prepared,
    fds: &ChildFds,
    argv: &[*const c_char],
    envp: &[*const c_char],
) -> ! {
    let _exit_on_unwind = ExitOnUnwind;
    // SAFETY: (every call in this block) the child is a single-threaded copy of the
    // parent; each call below is a raw syscall whose pointer arguments point at memory
    // prepared before the clone (CStrings, vectors, structs on this stack) that stays alive
    // until exec or `_exit`; nothing allocates or takes a lock.
    unsafe {
        // 0. If AegisClaw dies, this init (and with it the whole pid namespace) dies too, so no
        //    run outlives the supervisor that enforces its wall-clock limit. Kept across exec:
        //    no_new_privs rules out the set-user-ID execs that would clear it.
        if libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as u64,
            0u64,
            0u64,
            0u64,
        ) != 0
        {
            fail(fds, Stage::ParentDeath, 0);
        }
        // 1. Into the run's cgroups before anything else: `0` moves this (only) thread; the
        //    files were opened by the parent, whose credentials the kernel checks.
        for (index, fd) in fds.cgroups.iter().enumerate() {
            if libc::write(*fd, b"0".as_ptr().cast(), 1) != 1 {
                fail(fds, Stage::Cgroup, index);
            }
            libc::close(*fd);
        }
        // 2. Own uid/gid maps. Pre-main hardening made us non-dumpable, which makes
        //    /proc/self/* root-owned; we exec right after, so becoming dumpable exposes nothing.
        if let Some((_, hold_write)) = fds.hold {
            libc::close(hold_write);
        }
        libc::prctl(libc::PR_SET_DUMPABLE, 1u64, 0u64, 0u64, 0u64);
        if !write_file(c"/proc/self/setgroups", b"deny")
            || !write_file(c"/proc/self/uid_map", &prepared.uid_map)
            || !write_file(c"/proc/self/gid_map", &prepared.gid_map)
        {
            fail(fds, Stage::UserNamespace, 0);
        }
        // 3. stdio.
        if let Some(stdin) = fds.stdin
            && libc::dup2(stdin, 0) < 0
        {
            fail(fds, Stage::Stdio, 0);
        }
        if libc::dup2(fds.stdout, 1) < 0 || libc::dup2(fds.stderr, 2) < 0 {
            fail(fds, Stage::Stdio, 1);
        }
        // 4. A private mount table, a staging tmpfs, the host root moved to /old under it. Its
        // 8 MiB (a cap, not an allocation) hold the new root's mount points and synthetic
        // `/etc`, whose CA store may be up to `plan::CA_STORE_MAX_BYTES` (4 MiB).
        if libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ) != 0
        {
            fail(fds, Stage::Propagation, 0);
        }
        if libc::mount(
            c"tmpfs".as_ptr(),
            c"/tmp".as_ptr(),
            c"tmpfs".as_ptr(),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            c"size=8m,mode=0700".as_ptr().cast(),
        ) != 0
            || libc::mkdir(c"/tmp/old".as_ptr(), 0o700) != 0
            || libc::mkdir(c"/tmp/new".as_ptr(), 0o755) != 0
            // The new root: a bind of a directory of the staging tmpfs, not a second tmpfs
            // (cheaper to make and to tear down). It keeps the staging mount's nosuid, nodev
            // and noexec; nothing is executed from the root itself, only from the mounts on it.
            || libc::mount(
                c"/tmp/new".as_ptr(),
                c"/tmp/new".as_ptr(),
                std::ptr::null(),
                libc::MS_BIND,
                std::ptr::null(),
            ) != 0
            || libc::chdir(c"/tmp".as_ptr()) != 0
            || libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c"old".as_ptr()) != 0
            || libc::chdir(c"/".as_ptr()) != 0
        {
            fail(fds, Stage::Staging, 0);
        }
        // 5. Build the new root at /new from the plan, sources under /old.
        for (index, action) in &prepared.actions {
            let ok = match action {
                Action::Mkdir(path) => created_or_exists(libc::mkdir(path.as_ptr(), 0o755)),
                // An empty regular file in one call, with no descriptor to close.
                Action::Touch(path) => {
                    created_or_exists(libc::mknod(path.as_ptr(), libc::S_IFREG | 0o644, 0))
                }
                Action::Symlink { points_to, link } => {
                    created_or_exists(libc::symlink(points_to.as_ptr(), link.as_ptr()))
                }
                Action::WriteFile { path, contents } => write_new_file(path, contents),
                Action::Mount {
                    source,
                    target,
                    fstype,
                    flags,
                    data,
                } => {
                    libc::mount(
                        source.as_ptr(),
                        target.as_ptr(),
                        fstype.as_ptr(),
                        *flags,
                        data.as_ptr().cast(),
                    ) == 0
                }
                Action::Bind { source, target } => {
                    libc::mount(
                        source.as_ptr(),
                        target.as_ptr(),
                        std::ptr::null(),
                        libc::MS_BIND | libc::MS_REC,
                        std::ptr::null(),
                    ) == 0
                }
                Action::BindOpened {
                    source,
                    target,
                    dev,
                    ino,
                    attr_set,
                } => {
                    bind_opened(fds, *index, source, target, (*dev, *ino), *attr_set);
                    true
                }
                Action::SetAttr { target, attr_set } => {
                    let attr = MountAttr {
                        attr_set: *attr_set,
                        attr_clr: 0,
                        propagation: 0,
                        userns_fd: 0,
                    };
                    libc::syscall(
                        libc::SYS_mount_setattr,
                        libc::AT_FDCWD,
                        target.as_ptr(),
                        AT_RECURSIVE,
                        &raw const attr,
                        size_of::<MountAttr>(),
                    ) == 0
                }
            };
            if !ok {
                fail(fds, Stage::Mount, *index);
            }
        }
        // 6. Make /new the root and detach everything else (pivot_root(".", ".") stacks the
        //    old root on top of the new one; a lazy unmount drops it).
        if libc::chdir(c"/new".as_ptr()) != 0
            || libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) != 0
            || libc::umount2(c".".as_ptr(), libc::MNT_DETACH) != 0
            || libc::chdir(c"/".as_ptr()) != 0
        {
            fail(fds, Stage::PivotRoot, 0);
        }
        let root_ro = MountAttr {
            attr_set: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
            attr_clr: 0,
            propagation: 0,
            userns_fd: 0,
        };
        if libc::syscall(
            libc::SYS_mount_setattr,
            libc::AT_FDCWD,
            c"/".as_ptr(),
            0u32,
            &raw const root_ro,
            size_of::<MountAttr>(),
        ) != 0
        {
            fail(fds, Stage::RootReadOnly, 0);
        }
        // 7. Hostname and loopback (need CAP_SYS_ADMIN / CAP_NET_ADMIN in our namespaces).
        if libc::sethostname(prepared.hostname.as_ptr().cast(), prepared.hostname.len()) != 0 {
            fail(fds, Stage::Hostname, 0);
        }
        if prepared.loopback {
            let socket = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
            let mut request: libc::ifreq = std::mem::zeroed();
            request.ifr_name[0] = b'l' as c_char;
            request.ifr_name[1] = b'o' as c_char;
            if socket < 0 || libc::ioctl(socket, libc::SIOCGIFFLAGS, &raw mut request) != 0 {
                fail(fds, Stage::Loopback, 0);
            }
            request.ifr_ifru.ifru_flags |= (libc::IFF_UP | libc::IFF_RUNNING) as libc::c_short;
            if libc::ioctl(socket, libc::SIOCSIFFLAGS, &raw const request) != 0 {
                fail(fds, Stage::Loopback, 1);
            }
            libc::close(socket);
        }
        // 7a. Limits of our own user namespace, below the host's, while we still have
        //     CAP_SYS_RESOURCE in it (inotify and fanotify are charged up to the host's
        //     namespace, where the caller's uid has one quota); no nested namespaces. Then,
        //     for a root run, no executable memfd in our pid namespace (Landlock cannot see
        //     memfds; the sysctl file is the host root's).
        for (index, (path, value)) in prepared.user_ns_limits.iter().enumerate() {
            if !write_file(path, value) {
                fail(fds, Stage::UserNamespaceLimits, index);
            }
        }
        if prepared.memfd_noexec && !write_file(c"/proc/sys/vm/memfd_noexec", b"2") {
            fail(fds, Stage::MemfdNoexec, 0);
        }
        // 7a'. Our own IPC namespace's shared memory within the run's memory limit (no rlimit
        //      counts detached segments; without a memory cgroup nothing else would).
        for (index, (path, value)) in prepared.ipc_limits.iter().enumerate() {
            if !write_file(path, value) {
                fail(fds, Stage::IpcLimits, index);
            }
        }
        // 7b. The proxy listener (`Network::Proxied`), opened here so the parent need not
        //     enter this namespace: close-on-exec, passed to the parent with READY.
        let mut listener_fd: libc::c_int = -1;
        if let Some(address) = &prepared.listener {
            listener_fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
            let one: libc::c_int = 1;
            if listener_fd < 0
                || libc::setsockopt(
                    listener_fd,
                    libc::SOL_SOCKET,
                    libc::SO_REUSEADDR,
                    (&raw const one).cast(),
                    size_of::<libc::c_int>() as libc::socklen_t,
                ) != 0
                || libc::bind(
                    listener_fd,
                    (address as *const libc::sockaddr_in).cast(),
                    size_of::<libc::sockaddr_in>() as libc::socklen_t,
                ) != 0
                || libc::listen(listener_fd, 128) != 0
            {
                fail(fds, Stage::Listener, 0);
            }
        }
        // 8. rlimits and the working directory.
        for (index, (resource, value)) in prepared.rlimits.iter().enumerate() {
            let limit = libc::rlimit {
                rlim_cur: *value,
                rlim_max: *value,
            };
            if libc::setrlimit(*resource, &raw const limit) != 0 {
                fail(fds, Stage::Rlimit, index);
            }
        }
        if libc::chdir(prepared.workdir.as_ptr()) != 0 {
            fail(fds, Stage::Workdir, 0);
        }
        // 9. Landlock ruleset, built while we can still open everything.
        let ruleset = libc::syscall(
            libc::SYS_landlock_create_ruleset,
            &raw const prepared.ruleset,
            size_of::<RulesetAttr>(),
            0u32,
        );
        if ruleset < 0 {
            fail(fds, Stage::Landlock, usize::MAX);
        }
        let ruleset = ruleset as libc::c_int;
        for (index, (path, access)) in prepared.rules.iter().enumerate() {
            // Every rule path is resolved already: a symlink on it now is a swap, refused.
            let fd = open_no_symlinks(path);
            if fd < 0 {
                fail(fds, Stage::Landlock, index);
            }
            let rule = PathBeneathAttr {
                allowed_access: *access,
                parent_fd: fd,
            };
            if libc::syscall(
                libc::SYS_landlock_add_rule,
                ruleset,
                LANDLOCK_RULE_PATH_BENEATH,
                &raw const rule,
                0u32,
            ) != 0
            {
                fail(fds, Stage::Landlock, index);
            }
            libc::close(fd);
        }
        // 10. Drop every capability: lock securebits so exec as uid 0 grants none, empty the
        //     bounding and ambient sets, then the effective/permitted/inheritable sets.
        if libc::prctl(
            libc::PR_SET_SECUREBITS,
            SECUREBITS_LOCKED_DOWN,
            0u64,
            0u64,
            0u64,
        ) != 0
        {
            fail(fds, Stage::Capabilities, 0);
        }
        // Drop each capability until the kernel says the number is past the last one
        // (EINVAL, the same test PR_CAPBSET_READ makes); any other error fails the run.
        let mut cap = 0u64;
        while libc::prctl(libc::PR_CAPBSET_DROP, cap, 0u64, 0u64, 0u64) == 0 {
            cap += 1;
        }
        if cap == 0 || *libc::__errno_location() != libc::EINVAL {
            fail(fds, Stage::Capabilities, 1);
        }
        if libc::prctl(
            libc::PR_CAP_AMBIENT,
            libc::PR_CAP_AMBIENT_CLEAR_ALL as u64,
            0u64,
            0u64,
            0u64,
        ) != 0
        {
            fail(fds, Stage::Capabilities, 2);
        }
        let header = CapHeader {
            version: LINUX_CAPABILITY_VERSION_3,
            pid: 0,
        };
        let data = [CapData {
            effective: 0,
            permitted: 0,
            inheritable: 0,
        }; 2];
        if libc::syscall(libc::SYS_capset, &raw const header, data.as_ptr()) != 0 {
            fail(fds, Stage::Capabilities, 3);
        }
        // 11. no_new_privs, then enforce Landlock.
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1u64, 0u64, 0u64, 0u64) != 0 {
            fail(fds, Stage::NoNewPrivs, 0);
        }
        if libc::syscall(libc::SYS_landlock_restrict_self, ruleset, 0u32) != 0 {
            fail(fds, Stage::Landlock, usize::MAX);
        }
        libc::close(ruleset);
        // 12. No descriptor of the parent survives exec except stdio (and the report pipe
        //     until exec succeeds).
        if libc::syscall(
            libc::SYS_close_range,
            3u32,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        ) != 0
        {
            fail(fds, Stage::Stdio, 2);
        }
        // 13. seccomp, last: nothing of ours runs after it but execve.
        for program in &prepared.seccomp {
            let fprog = libc::sock_fprog {
                len: u16::try_from(program.len()).unwrap_or(u16::MAX),
                filter: program.as_ptr().cast_mut(),
            };
            if libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::c_ulong::from(libc::SECCOMP_MODE_FILTER),
                &raw const fprog,
            ) != 0
            {
                fail(fds, Stage::Seccomp, 0);
            }
        }
        // 14. Held: every layer is in force; say so, then wait for the parent's byte (it sets
        //     up what the program needs first, such as the egress proxy's listener in our
        //     network namespace). EOF means the parent gave up: never exec then.
        if let Some((hold_read, _)) = fds.hold {
            // READY, with the proxy listener (if any) as SCM_RIGHTS on the same message.
            let ready: Report = [READY, 0, 0];
            let mut iov = libc::iovec {
                iov_base: ready.as_ptr().cast_mut().cast(),
                iov_len: size_of::<Report>(),
            };
            let mut control = [0u64; 4];
            let mut message: libc::msghdr = std::mem::zeroed();
            message.msg_iov = &raw mut iov;
            message.msg_iovlen = 1;
            if listener_fd >= 0 {
                message.msg_control = control.as_mut_ptr().cast();
                message.msg_controllen = libc::CMSG_SPACE(size_of::<libc::c_int>() as u32) as usize;
                let header = libc::CMSG_FIRSTHDR(&raw const message);
                (*header).cmsg_level = libc::SOL_SOCKET;
                (*header).cmsg_type = libc::SCM_RIGHTS;
                (*header).cmsg_len = libc::CMSG_LEN(size_of::<libc::c_int>() as u32) as usize;
                std::ptr::write_unaligned(
                    libc::CMSG_DATA(header).cast::<libc::c_int>(),
                    listener_fd,
                );
            }
            if libc::sendmsg(fds.report, &raw const message, libc::MSG_NOSIGNAL)
                != size_of::<Report>() as isize
            {
                fail(fds, Stage::Hold, 0);
            }
            let mut byte = 0u8;
            loop {
                let read = libc::read(hold_read, (&raw mut byte).cast(), 1);
                if read == 1 {
                    break;
                }
                if read < 0 && *libc::__errno_location() == libc::EINTR {
                    continue;
                }
                fail(fds, Stage::Hold, 1);
            }
            libc::close(hold_read);
        }
        // 15. exec, trying each PATH candidate; ENOENT/ENOTDIR/EACCES move on to the next.
        let mut last = libc::ENOENT;
        for program in &prepared.program {
            libc::execve(program.as_ptr(), argv.as_ptr(), envp.as_ptr());
            let errno = io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EIO);
            if !matches!(errno, libc::ENOENT | libc::ENOTDIR | libc::EACCES) {
                last = errno;
                break;
            }
            if errno != libc::ENOENT || last == libc::ENOENT {
                last = errno;
            }
        }
        *libc::__errno_location() = last;
        fail(fds, Stage::Exec, 0)
    }
}
