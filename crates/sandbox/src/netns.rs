//! Sockets in another network namespace without moving the process there: a short-lived
//! thread joins the namespace with `setns(CLONE_NEWNET)`, creates the socket (or runs a
//! closure), and exits. A socket keeps the namespace it was created in, so the egress proxy
//! can own a listener on `127.0.0.1:3128` inside a skill's otherwise empty namespace — no veth,
//! no addressing, no extra process. Must not change the namespace of any other thread.
#![cfg(target_os = "linux")]

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::os::fd::{AsRawFd as _, OwnedFd};
use std::path::Path;

/// Binds and listens on `addr` inside the network namespace at `netns_path` (such as
/// `/run/netns/<name>` or `/proc/<pid>/ns/net`) and returns the listener to the caller, whose
/// own namespace is untouched. Needs `CAP_SYS_ADMIN` over the target namespace.
pub fn bind_in_netns(netns_path: &Path, addr: SocketAddr) -> io::Result<TcpListener> {
    run_in_netns(netns_path, move || TcpListener::bind(addr))?
}

/// Runs `work` on a fresh thread that has joined the network namespace at `netns_path`, waits
/// for it and returns its result. Every socket `work` creates (and every thread it starts)
/// lives in that namespace; the calling thread's namespace never changes.
pub fn run_in_netns<T, F>(netns_path: &Path, work: F) -> io::Result<T>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let namespace: OwnedFd = fs_err::File::open(netns_path)?.into_file().into();
    let thread = std::thread::Builder::new()
        .name("aegisclaw-netns".to_string())
        .spawn(move || -> io::Result<T> {
            enter(&namespace)?;
            drop(namespace);
            Ok(work())
        })?;
    thread
        .join()
        .map_err(|_| io::Error::other("the thread working inside the network namespace panicked"))?
}

/// Brings the loopback interface up in the namespace at `netns_path`. A new network namespace
/// starts with `lo` down: binding 127.0.0.1 still works there, but connecting to it fails with
/// "network unreachable", so call this before a skill uses a proxy listening on 127.0.0.1.
pub fn loopback_up(netns_path: &Path) -> io::Result<()> {
    run_in_netns(netns_path, set_loopback_up)?
}

/// Sets `IFF_UP` on `lo` in the calling thread's network namespace.
fn set_loopback_up() -> io::Result<()> {
    let (socket, mut request) = read_loopback()?;
    // SAFETY: SIOCGIFFLAGS succeeded, so `ifru_flags` is the initialised, active field.
    let flags = unsafe { request.ifr_ifru.ifru_flags };
    request.ifr_ifru.ifru_flags = flags | libc::IFF_UP as libc::c_short;
    // SAFETY: `socket` is open for the call; SIOCSIFFLAGS only reads the NUL-terminated
    // `ifr_name` and `ifru_flags` of the valid, exclusively borrowed `request`.
    if unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCSIFFLAGS, &raw mut request) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// The flags (`IFF_*`) of `lo` in the calling thread's network namespace.
pub(crate) fn loopback_flags() -> io::Result<libc::c_short> {
    let (_socket, request) = read_loopback()?;
    // SAFETY: SIOCGIFFLAGS succeeded, so `ifru_flags` is the initialised, active field.
    Ok(unsafe { request.ifr_ifru.ifru_flags })
}

/// An unbound datagram socket in the calling thread's network namespace, and an `ifreq`
/// naming `lo` with its flags read into it (SIOCGIFFLAGS).
fn read_loopback() -> io::Result<(OwnedFd, libc::ifreq)> {
    // SAFETY: socket takes three integers and returns a new descriptor or -1.
    let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` was just opened and nothing else owns it.
    let socket = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    let mut name = [0 as libc::c_char; libc::IFNAMSIZ];
    for (slot, byte) in name.iter_mut().zip(b"lo") {
        *slot = *byte as libc::c_char;
    }
    let mut request = libc::ifreq {
        ifr_name: name,
        ifr_ifru: libc::__c_anonymous_ifr_ifru { ifru_flags: 0 },
    };
    // SAFETY: `socket` is an open socket for the whole call; `request` is a valid, exclusively
    // borrowed `ifreq` whose NUL-terminated `ifr_name` the kernel reads and whose `ifru_flags`
    // it writes, both inside the struct.
    if unsafe { libc::ioctl(socket.as_raw_fd(), libc::SIOCGIFFLAGS, &raw mut request) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((socket, request))
}

/// Unmounts every network namespace kept for a cgroup slot under `dir` (runs still inside one
/// keep it until they end) and removes their mount points; returns how many were mounted.
/// The next run without network by root makes its slot's namespace again.
pub fn remove_slot_namespaces(dir: &Path) -> io::Result<usize> {
    crate::linux::slot_netns::remove_all(dir)
}

/// Moves the calling thread (only) into the network namespace `namespace` refers to. Callers
/// make sure nothing else runs on the thread there: this module's threads exit when their
/// work is done, and the launcher's slot namespace guard returns its thread at once.
pub(crate) fn enter(namespace: &OwnedFd) -> io::Result<()> {
    // SAFETY: `namespace` is an open, owned descriptor that outlives the call; setns takes
    // two integers and touches no memory of ours. With CLONE_NEWNET it changes the network
    // namespace of the calling thread only.
    let result = unsafe { libc::setns(namespace.as_raw_fd(), libc::CLONE_NEWNET) };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "test setup")]
    use super::*;
    use std::io::{Read as _, Write as _};
    use std::net::TcpStream;
    use std::path::PathBuf;
    use std::process::Command;

    /// A named namespace (`ip netns add`) with `lo` brought up by `loopback_up`, deleted on
    /// drop.
    struct TestNetns {
        name: String,
    }

    impl TestNetns {
        fn create(tag: &str) -> Option<Self> {
            let name = format!("aegis-test-{}-{tag}", std::process::id());
            let ok = Command::new("ip")
                .args(["netns", "add", &name])
                .status()
                .is_ok_and(|status| status.success());
            if !ok {
                return None;
            }
            let netns = Self { name };
            loopback_up(&netns.path()).unwrap();
            Some(netns)
        }

        fn path(&self) -> PathBuf {
            PathBuf::from("/run/netns").join(&self.name)
        }
    }

    impl Drop for TestNetns {
        fn drop(&mut self) {
            let _ = Command::new("ip")
                .args(["netns", "delete", &self.name])
                .status();
        }
    }

    #[test]
    fn netns_listener_is_reachable_inside_only() {
        let Some(netns) = TestNetns::create("bind") else {
            eprintln!("skipped: cannot create a network namespace here");
            return;
        };
        let listener = bind_in_netns(&netns.path(), "127.0.0.1:0".parse().unwrap()).unwrap();
        let addr = listener.local_addr().unwrap();
        // The host namespace's loopback is a different one: nothing listens there, even
        // though the listener is alive.
        assert!(TcpStream::connect(addr).is_err());
        let path = netns.path();
        let client = std::thread::spawn(move || {
            run_in_netns(&path, move || {
                let mut stream = TcpStream::connect(addr).unwrap();
                let mut reply = String::new();
                stream.read_to_string(&mut reply).unwrap();
                reply
            })
            .unwrap()
        });
        let (mut stream, _) = listener.accept().unwrap();
        stream.write_all(b"inside").unwrap();
        drop(stream);
        assert_eq!(client.join().unwrap(), "inside");
    }

    #[test]
    fn netns_missing_path_is_an_error() {
        let missing = Path::new("/run/netns/aegis-test-does-not-exist");
        assert!(bind_in_netns(missing, "127.0.0.1:0".parse().unwrap()).is_err());
    }
}
