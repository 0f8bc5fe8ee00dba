//! The limits a run sets in its own user namespace (`/proc/sys/user/max_*`), below the host's.
//! The kernel charges inotify and fanotify objects and namespaces to the run's namespace and
//! to every parent up to the host's, where the caller's uid has one quota for all its
//! processes: without a limit of its own, one run could take the whole quota and make the
//! caller's other programs fail. Pure: `crate::linux::facts` reads the host's values and the
//! child writes the plan's.

use serde::Serialize;

/// A counter of `/proc/sys/user/` the run limits. The other namespace kinds
/// (`max_{mnt,pid,net,ipc,uts,cgroup,time}_namespaces`) need no limit of their own: making one
/// takes `CAP_SYS_ADMIN` in a user namespace owning it, and a run has no capability in its own
/// and may make no nested one (`max_user_namespaces` 0, and the seccomp filter), so it can
/// never hold any (each write costs the launch about 8 µs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UserNsCounter {
    /// `max_user_namespaces`.
    UserNamespaces,
    /// `max_inotify_instances`.
    InotifyInstances,
    /// `max_inotify_watches`.
    InotifyWatches,
    /// `max_fanotify_groups`.
    FanotifyGroups,
    /// `max_fanotify_marks`.
    FanotifyMarks,
}

impl UserNsCounter {
    /// Every counter the plan limits (all there on a kernel with Landlock, 5.13 and later).
    pub const ALL: [UserNsCounter; 5] = [
        UserNsCounter::UserNamespaces,
        UserNsCounter::InotifyInstances,
        UserNsCounter::InotifyWatches,
        UserNsCounter::FanotifyGroups,
        UserNsCounter::FanotifyMarks,
    ];

    /// Its file name under `/proc/sys/user/`.
    pub fn file_name(self) -> &'static str {
        match self {
            UserNsCounter::UserNamespaces => "max_user_namespaces",
            UserNsCounter::InotifyInstances => "max_inotify_instances",
            UserNsCounter::InotifyWatches => "max_inotify_watches",
            UserNsCounter::FanotifyGroups => "max_fanotify_groups",
            UserNsCounter::FanotifyMarks => "max_fanotify_marks",
        }
    }

    /// Whether the run gets none: nested user namespaces (which the seccomp filter refuses as
    /// well), rather than a shared object.
    pub fn is_namespace(self) -> bool {
        self == UserNsCounter::UserNamespaces
    }
}

/// One limit the child writes into its own user namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct UserNsLimit {
    /// The counter.
    pub counter: UserNsCounter,
    /// Its limit in the run's user namespace.
    pub value: u64,
}

/// A System V IPC limit of `/proc/sys/kernel/` the run sets in its own IPC namespace (whose
/// root it is): shared memory is charged to no rlimit (a page written through `shmat` and
/// detached is counted by no `RLIMIT_AS`), so without a memory cgroup, as for an unprivileged
/// user, a run could otherwise fill the host's memory with segments it keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IpcCounter {
    /// `shmmax`: the largest segment, in bytes.
    ShmMax,
    /// `shmall`: all segments together, in 4 KiB pages (fewer bytes on larger pages).
    ShmAll,
    /// `shmmni`: how many segments.
    ShmMni,
}

impl IpcCounter {
    /// Its file name under `/proc/sys/kernel/`.
    pub fn file_name(self) -> &'static str {
        match self {
            IpcCounter::ShmMax => "shmmax",
            IpcCounter::ShmAll => "shmall",
            IpcCounter::ShmMni => "shmmni",
        }
    }
}

/// One limit the child writes into its own IPC namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct IpcLimit {
    /// The counter.
    pub counter: IpcCounter,
    /// Its limit in the run's IPC namespace.
    pub value: u64,
}

/// At most this many shared memory segments a run.
const SHM_SEGMENTS: u64 = 64;

/// The run's IPC limits: its shared memory within its memory limit (`memory_mb`).
pub(super) fn ipc_limits(memory_mb: u64) -> Vec<IpcLimit> {
    let bytes = memory_mb.saturating_mul(1024 * 1024);
    vec![
        IpcLimit {
            counter: IpcCounter::ShmMax,
            value: bytes,
        },
        IpcLimit {
            counter: IpcCounter::ShmAll,
            value: bytes / 4096,
        },
        IpcLimit {
            counter: IpcCounter::ShmMni,
            value: SHM_SEGMENTS,
        },
    ]
}

/// A run may hold at most this share of the host's limit of each shared object (inotify and
/// fanotify), so its caller's other programs keep the rest.
const SHARE_DIVISOR: u64 = 4;

/// The run's limits from the host's: no user namespace, a quarter (at least 1 where the host
/// allows any) of each shared object. A counter the host's value is unknown for is left out.
pub(super) fn limits(host: &[(UserNsCounter, u64)]) -> Vec<UserNsLimit> {
    let mut limits: Vec<UserNsLimit> = host
        .iter()
        .map(|&(counter, host_max)| UserNsLimit {
            counter,
            value: if counter.is_namespace() {
                0
            } else {
                (host_max / SHARE_DIVISOR).max(host_max.min(1))
            },
        })
        .collect();
    limits.sort_by_key(|limit| limit.counter);
    limits.dedup_by_key(|limit| limit.counter);
    limits
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn namespaces_are_zero_and_shared_objects_a_quarter_of_the_host() {
        let host = [
            (UserNsCounter::InotifyInstances, 128),
            (UserNsCounter::UserNamespaces, 96363),
            (UserNsCounter::InotifyWatches, 3),
            (UserNsCounter::FanotifyGroups, 0),
        ];
        assert_eq!(
            limits(&host),
            [
                UserNsLimit {
                    counter: UserNsCounter::UserNamespaces,
                    value: 0
                },
                UserNsLimit {
                    counter: UserNsCounter::InotifyInstances,
                    value: 32
                },
                // A host limit under four still leaves the run one; a host of none, none.
                UserNsLimit {
                    counter: UserNsCounter::InotifyWatches,
                    value: 1
                },
                UserNsLimit {
                    counter: UserNsCounter::FanotifyGroups,
                    value: 0
                },
            ]
        );
        assert_eq!(limits(&[]), []);
    }

    #[test]
    fn every_counter_names_its_own_file() {
        let mut names: Vec<&str> = UserNsCounter::ALL
            .iter()
            .map(|counter| counter.file_name())
            .collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), UserNsCounter::ALL.len());
        assert!(names.iter().all(|name| name.starts_with("max_")));
    }
}
