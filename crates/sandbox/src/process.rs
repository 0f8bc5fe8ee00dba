//! Stopping a run from another process (`lockdown on`): a process's start time, which tells
//! it apart from a later process given the same pid, and SIGKILL to a run's pid namespace
//! through a pidfd, so the signal can only reach the process that was checked. The syscalls
//! live in `linux::process`; other platforms get [`SignalError::Unsupported`].

use std::time::Duration;

/// Errors signalling another process.
#[derive(Debug, thiserror::Error)]
pub enum SignalError {
    /// A syscall or `/proc` read failed for a reason other than the process being gone.
    #[error("cannot {action} process {pid}")]
    Io {
        /// What was being done (`open a pidfd for`, `signal`...).
        action: &'static str,
        /// The process.
        pid: i32,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// This platform has no implementation.
    #[error("stopping another process is only implemented on Linux")]
    Unsupported,
}

/// What [`stop_namespace`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// SIGKILL went to the run's pid 1, so to its whole pid namespace; `ended` says whether
    /// it was seen to end within the wait.
    Killed {
        /// It ended within the wait.
        ended: bool,
    },
    /// No such process, or the pid now belongs to a process started at another time.
    Gone,
    /// The process is not the first process of a pid namespace of its own, so it is no
    /// sandboxed run: it is left alone.
    NotNamespaceInit,
}

/// The real user id of this process: who runs AegisClaw, whatever the environment says
/// (`None` on platforms without an implementation).
pub fn real_uid() -> Option<u32> {
    #[cfg(target_os = "linux")]
    {
        Some(crate::linux::process::real_uid())
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// The name `/etc/passwd` gives `uid`, if any (the first entry with that id).
pub fn passwd_name(uid: u32) -> Option<String> {
    use std::os::unix::fs::MetadataExt as _;
    // A process asks for its own name more than once (the actor of its records, the run's
    // synthetic `/etc/passwd`): the file is read again only when it changed (another inode,
    // size or modification time), so a long-running process still sees a renamed user.
    type Stamp = (u64, u64, u64, i64, i64);
    static CACHE: std::sync::Mutex<Vec<(u32, Stamp, Option<String>)>> =
        std::sync::Mutex::new(Vec::new());
    let metadata = fs_err::metadata(PASSWD).ok()?;
    let stamp: Stamp = (
        metadata.dev(),
        metadata.ino(),
        metadata.size(),
        metadata.mtime(),
        metadata.mtime_nsec(),
    );
    let mut cache = CACHE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, _, name)) = cache
        .iter()
        .find(|(cached, seen, _)| *cached == uid && *seen == stamp)
    {
        return name.clone();
    }
    let passwd = fs_err::read_to_string(PASSWD).ok()?;
    let text = uid.to_string();
    let name = passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        (fields.nth(1)? == text && !name.is_empty()).then(|| name.to_string())
    });
    cache.retain(|(cached, _, _)| *cached != uid);
    cache.push((uid, stamp, name.clone()));
    name
}

/// The host's user database.
const PASSWD: &str = "/etc/passwd";

/// The start time of process `pid`: clock ticks after boot (field 22 of `/proc/<pid>/stat`).
pub fn start_time(pid: i32) -> Result<u64, SignalError> {
    #[cfg(target_os = "linux")]
    {
        crate::linux::process::start_time(pid)?.ok_or_else(|| SignalError::Io {
            action: "read the start time of",
            pid,
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = pid;
        Err(SignalError::Unsupported)
    }
}

/// Kills the run whose pid 1 is `pid` (in this process's pid namespace), if that process
/// still started at `start_time` and is the first process of a nested pid namespace: a pidfd
/// is opened first, the start time and namespace checked after, and the signal sent through
/// the pidfd, so a pid reused by another process is never signalled. Waits up to `wait` for
/// it to end.
pub fn stop_namespace(pid: i32, start_time: u64, wait: Duration) -> Result<Stop, SignalError> {
    #[cfg(target_os = "linux")]
    {
        crate::linux::process::stop_namespace(pid, start_time, wait)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (pid, start_time, wait);
        Err(SignalError::Unsupported)
    }
}

/// Field 22 (`starttime`) of a `/proc/<pid>/stat` text. The command name (field 2) is in
/// parentheses and may hold spaces and parentheses itself, so fields are counted after the
/// last `)`.
pub fn parse_start_time(stat: &str) -> Option<u64> {
    let (_, after_name) = stat.rsplit_once(')')?;
    // Fields 3 (state) onwards; starttime is the 20th of them.
    after_name.split_whitespace().nth(19)?.parse().ok()
}

/// Whether a `/proc/<pid>/status` text is that of the first process of a nested pid
/// namespace: its `NSpid` line has more than one pid and the last (innermost) is 1.
pub fn is_namespace_init(status: &str) -> bool {
    status
        .lines()
        .find_map(|line| line.strip_prefix("NSpid:"))
        .is_some_and(|pids| {
            let pids: Vec<&str> = pids.split_whitespace().collect();
            pids.len() > 1 && pids.last() == Some(&"1")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_time_is_field_22_whatever_the_command_name_holds() {
        let fields = "S 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 987654 23 24";
        assert_eq!(
            parse_start_time(&format!("42 (sh) {fields}")),
            Some(987_654)
        );
        assert_eq!(
            parse_start_time(&format!("42 (a) b (c) ) {fields}")),
            Some(987_654)
        );
        assert_eq!(parse_start_time("42 (sh) S 1 2"), None);
        assert_eq!(parse_start_time("no parenthesis"), None);
    }

    #[test]
    fn only_the_first_process_of_a_nested_namespace_is_its_init() {
        assert!(is_namespace_init(
            "Name:\tsh\nNSpid:\t4242\t1\nNSpgid:\t1\n"
        ));
        assert!(is_namespace_init("NSpid:\t9\t4242\t1\n"));
        assert!(!is_namespace_init("NSpid:\t4242\n"), "the host's own init");
        assert!(!is_namespace_init("NSpid:\t4242\t7\n"));
        assert!(!is_namespace_init("Name:\tsh\n"));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_process_has_a_start_time_and_is_no_run() {
        let pid = i32::try_from(std::process::id()).unwrap();
        let started = start_time(pid).unwrap();
        assert!(started > 0);
        // Checked against its own start time, it is found, and left alone as no run.
        assert_eq!(
            stop_namespace(pid, started, Duration::ZERO).unwrap(),
            Stop::NotNamespaceInit
        );
        assert_eq!(
            stop_namespace(pid, started + 1, Duration::ZERO).unwrap(),
            Stop::Gone
        );
    }
}
