//! The Linux side of `crate::process`: pidfds, `pidfd_send_signal`, and the `/proc` reads
//! that check a pidfd's process before it is signalled.

use crate::process::{SignalError, Stop, is_namespace_init, parse_start_time};
use std::io;
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd, RawFd};
use std::time::Duration;

/// A pidfd for `pid`. The caller must make sure the pid names the process it means: for an
/// unreaped child that holds by itself; otherwise check the process after opening.
pub(crate) fn pidfd_open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and touches no memory of ours.
    let pidfd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if pidfd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: pidfd_open returned a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(RawFd::try_from(pidfd).unwrap_or(-1)) })
}

/// SIGKILL through `pidfd` (to a pid namespace's init, it kills every process inside):
/// `false` when the process has already been reaped (`ESRCH`), so nothing was signalled.
pub(crate) fn pidfd_kill(pidfd: &OwnedFd) -> io::Result<bool> {
    // SAFETY: pidfd_send_signal takes a descriptor we own, a signal number, a null siginfo
    // (the kernel fills in what a kill() would) and no flags; it touches no memory of ours.
    let sent = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            pidfd.as_raw_fd(),
            libc::SIGKILL,
            std::ptr::null::<libc::siginfo_t>(),
            0,
        )
    };
    if sent < 0 {
        let error = io::Error::last_os_error();
        if error.raw_os_error() == Some(libc::ESRCH) {
            return Ok(false);
        }
        return Err(error);
    }
    Ok(true)
}

/// The real user id of this process.
pub(crate) fn real_uid() -> u32 {
    // SAFETY: getuid has no preconditions, cannot fail and touches no memory.
    unsafe { libc::getuid() }
}

/// `/proc/<pid>/<name>` as text; `None` when the process is gone.
fn proc_text(pid: i32, name: &str) -> Result<Option<String>, SignalError> {
    match fs_err::read_to_string(format!("/proc/{pid}/{name}")) {
        Ok(text) => Ok(Some(text)),
        Err(error)
            if error.kind() == io::ErrorKind::NotFound
                || error.raw_os_error() == Some(libc::ESRCH) =>
        {
            Ok(None)
        }
        Err(source) => Err(SignalError::Io {
            action: "read /proc of",
            pid,
            source,
        }),
    }
}

pub(crate) fn start_time(pid: i32) -> Result<Option<u64>, SignalError> {
    Ok(proc_text(pid, "stat")?
        .as_deref()
        .and_then(parse_start_time))
}

pub(crate) fn stop_namespace(
    pid: i32,
    expected_start: u64,
    wait: Duration,
) -> Result<Stop, SignalError> {
    let io_error = |action| {
        move |source| SignalError::Io {
            action,
            pid,
            source,
        }
    };
    // 1. The pidfd pins the process this pid names now.
    let pidfd = match pidfd_open(pid) {
        Ok(pidfd) => pidfd,
        Err(error) if error.raw_os_error() == Some(libc::ESRCH) => return Ok(Stop::Gone),
        Err(error) => return Err(io_error("open a pidfd for")(error)),
    };
    // 2. It is the run's process if it started when the run's did (read after the pidfd is
    // open: a process that replaced it since would have another start time).
    if start_time(pid)? != Some(expected_start) {
        return Ok(Stop::Gone);
    }
    // 3. And only the first process of a nested pid namespace is a run's.
    match proc_text(pid, "status")? {
        Some(status) if is_namespace_init(&status) => {}
        Some(_) => return Ok(Stop::NotNamespaceInit),
        None => return Ok(Stop::Gone),
    }
    // 4. SIGKILL to a pid namespace's init kills every process in it.
    if !pidfd_kill(&pidfd).map_err(io_error("signal"))? {
        return Ok(Stop::Gone);
    }
    // 5. A pidfd is readable once its process has ended.
    let mut poll = libc::pollfd {
        fd: pidfd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let millis = libc::c_int::try_from(wait.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: `poll` is one live pollfd.
    let ready = unsafe { libc::poll(&raw mut poll, 1, millis) };
    Ok(Stop::Killed { ended: ready > 0 })
}
