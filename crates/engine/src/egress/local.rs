//! Whether an address belongs to the host the proxy dials from (issue item 8): the proxy runs in
//! the host's network namespace, so an allowed name resolving to one of the host's own
//! addresses (a VPS's public address, a veth or bridge address) would reach the host's own
//! services. Asked of the kernel at the moment of each check, never cached: addresses can be
//! added while a run goes on. Must not decide scopes or other address classes (`resolve`).
//!
//! Two questions, either of which makes an address local:
//! 1. Can a socket be bound to it? Exact for every address the kernel treats as local (the
//!    local routing table, AnyIP ranges included), unless the host allows binding to any
//!    address (`ip_nonlocal_bind`), in which case a bind proves nothing and only (2) counts.
//! 2. Does the kernel route to it from itself (a connected UDP socket's source is the address
//!    itself)? Catches a local address that cannot be bound yet (IPv6 duplicate-address
//!    detection). A UDP `connect` sends no packet.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};

/// `EAFNOSUPPORT` on Linux: the host has no such address family (no IPv6), so no address of
/// it can be local.
const EAFNOSUPPORT: i32 = 97;
/// Any port: a UDP `connect` only picks a route and a source.
const PROBE_PORT: u16 = 9;

/// Whether `address` (an IPv4-mapped IPv6 address counts as its IPv4 address) is an address of
/// this host, in the calling thread's network namespace. An error means the answer is not
/// known: refuse.
pub fn is_host_local(address: IpAddr) -> io::Result<bool> {
    let address = address.to_canonical();
    let bound = match UdpSocket::bind(SocketAddr::new(address, 0)) {
        Ok(_) => !nonlocal_bind_allowed(address),
        Err(error) if error.kind() == io::ErrorKind::AddrNotAvailable => false,
        Err(error) if error.raw_os_error() == Some(EAFNOSUPPORT) => return Ok(false),
        Err(error) => return Err(error),
    };
    Ok(bound || routed_to_itself(address)?)
}

/// Whether this namespace lets a socket bind an address it does not have. Unknown counts as
/// allowed (a bind then proves nothing, and the routing question decides).
fn nonlocal_bind_allowed(address: IpAddr) -> bool {
    let path = match address {
        IpAddr::V4(_) => "/proc/sys/net/ipv4/ip_nonlocal_bind",
        IpAddr::V6(_) => "/proc/sys/net/ipv6/ip_nonlocal_bind",
    };
    fs_err::read_to_string(path).map_or(true, |value| value.trim() != "0")
}

/// Whether the kernel's route to `address` leaves from `address` itself.
fn routed_to_itself(address: IpAddr) -> io::Result<bool> {
    let any = match address {
        IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    let socket = match UdpSocket::bind(SocketAddr::new(any, 0)) {
        Ok(socket) => socket,
        Err(error) if error.raw_os_error() == Some(EAFNOSUPPORT) => return Ok(false),
        Err(error) => return Err(error),
    };
    match socket.connect(SocketAddr::new(address, PROBE_PORT)) {
        Ok(()) => Ok(socket.local_addr()?.ip().to_canonical() == address),
        // No route at all: not local (and not reachable either).
        Err(error)
            if matches!(
                error.kind(),
                io::ErrorKind::NetworkUnreachable | io::ErrorKind::HostUnreachable
            ) =>
        {
            Ok(false)
        }
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn loopback_and_its_mapped_form_are_local() {
        for local in ["127.0.0.1", "127.0.0.2", "::ffff:127.0.0.1"] {
            assert!(is_host_local(local.parse().unwrap()).unwrap(), "{local}");
        }
    }

    #[test]
    fn a_documentation_address_is_not_local() {
        // TEST-NET-3 is never assigned to a host's interface here.
        assert!(!is_host_local("203.0.113.77".parse().unwrap()).unwrap());
        assert!(!is_host_local("::ffff:203.0.113.77".parse().unwrap()).unwrap());
    }
}
