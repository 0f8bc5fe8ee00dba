// The seccomp table's shared vocabulary, included by the crate (`plan/seccomp.rs`) and by
// `build.rs` (a build script cannot use the crate it builds): the names `data/seccomp.yaml` may
// use. Needs `serde::{Deserialize, Serialize}` in scope. Holds no numbers: the Linux apply step
// maps each name to its `libc` constant.

/// An errno the filter returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Errno {
    /// "Operation not permitted": the call exists but is forbidden.
    #[serde(rename = "EPERM")]
    Eperm,
    /// "Function not implemented": libc falls back to an older call.
    #[serde(rename = "ENOSYS")]
    Enosys,
    /// "Permission denied": what a refused connect to a socket file returns.
    #[serde(rename = "EACCES")]
    Eacces,
    /// "Address family not supported by protocol".
    #[serde(rename = "EAFNOSUPPORT")]
    Eafnosupport,
    /// "Protocol not supported".
    #[serde(rename = "EPROTONOSUPPORT")]
    Eprotonosupport,
}

/// An architecture a table entry can be limited to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Arch {
    /// x86_64 (its native ABI; x32 numbers always get the default).
    #[serde(rename = "x86_64")]
    X86_64,
    /// 64-bit Arm.
    #[serde(rename = "aarch64")]
    Aarch64,
}

/// A flag a `deny_flags` filter refuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Flag {
    /// `CLONE_NEWNS`.
    #[serde(rename = "CLONE_NEWNS")]
    CloneNewNs,
    /// `CLONE_NEWCGROUP`.
    #[serde(rename = "CLONE_NEWCGROUP")]
    CloneNewCgroup,
    /// `CLONE_NEWUTS`.
    #[serde(rename = "CLONE_NEWUTS")]
    CloneNewUts,
    /// `CLONE_NEWIPC`.
    #[serde(rename = "CLONE_NEWIPC")]
    CloneNewIpc,
    /// `CLONE_NEWUSER`.
    #[serde(rename = "CLONE_NEWUSER")]
    CloneNewUser,
    /// `CLONE_NEWPID`.
    #[serde(rename = "CLONE_NEWPID")]
    CloneNewPid,
    /// `CLONE_NEWNET`.
    #[serde(rename = "CLONE_NEWNET")]
    CloneNewNet,
    /// `CLONE_NEWTIME`.
    #[serde(rename = "CLONE_NEWTIME")]
    CloneNewTime,
    /// `S_ISUID`, the set-user-ID mode bit.
    #[serde(rename = "S_ISUID")]
    SetUid,
    /// `S_ISGID`, the set-group-ID mode bit.
    #[serde(rename = "S_ISGID")]
    SetGid,
    /// `SHM_EXEC`: a System V shared memory attachment whose bytes may run as code.
    #[serde(rename = "SHM_EXEC")]
    ShmExec,
}

/// A socket address family.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SocketFamily {
    /// `AF_UNIX`.
    #[serde(rename = "AF_UNIX")]
    Unix,
    /// `AF_INET`.
    #[serde(rename = "AF_INET")]
    Inet,
    /// `AF_INET6`.
    #[serde(rename = "AF_INET6")]
    Inet6,
    /// `AF_NETLINK`.
    #[serde(rename = "AF_NETLINK")]
    Netlink,
}

/// A socket type (without `SOCK_NONBLOCK` and `SOCK_CLOEXEC`, which are always allowed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SocketType {
    /// `SOCK_STREAM`.
    #[serde(rename = "SOCK_STREAM")]
    Stream,
    /// `SOCK_DGRAM`.
    #[serde(rename = "SOCK_DGRAM")]
    Dgram,
    /// `SOCK_SEQPACKET`.
    #[serde(rename = "SOCK_SEQPACKET")]
    Seqpacket,
}

/// A socket protocol (the third argument of `socket`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SocketProtocol {
    /// `IPPROTO_IP` (0): the family's default for the type (TCP for streams, UDP for datagrams).
    #[serde(rename = "IPPROTO_IP")]
    Default,
    /// `IPPROTO_TCP`.
    #[serde(rename = "IPPROTO_TCP")]
    Tcp,
    /// `IPPROTO_UDP`.
    #[serde(rename = "IPPROTO_UDP")]
    Udp,
    /// `NETLINK_ROUTE`: interfaces, addresses and routes.
    #[serde(rename = "NETLINK_ROUTE")]
    NetlinkRoute,
}
