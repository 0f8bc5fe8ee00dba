//! Classifies IP addresses that `net.outbound` must treat as critical (loopback, private,
//! link-local, carrier-grade NAT, metadata services, and every IPv6 form that embeds such an
//! IPv4 address), using the reviewed ranges in `data/scope-risk.yaml`. Pure arithmetic; no DNS.

use super::ScopeError;
use super::risk;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// An address range `address/prefix`, IPv4 or IPv6.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Cidr {
    address: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `ip` lies in this range (an IPv4 range never contains an IPv6 address).
    pub(super) fn contains(self, ip: IpAddr) -> bool {
        match (self.address, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = String;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (address, prefix) = text
            .split_once('/')
            .ok_or_else(|| format!("range `{text}` has no `/prefix`"))?;
        let address: IpAddr = address
            .parse()
            .map_err(|_| format!("range `{text}` has an invalid address"))?;
        let bits = if address.is_ipv4() { 32 } else { 128 };
        let prefix = prefix
            .parse::<u8>()
            .ok()
            .filter(|prefix| *prefix <= bits)
            .ok_or_else(|| format!("range `{text}` has an invalid prefix"))?;
        let cidr = Self { address, prefix };
        // A range written with host bits set is a typo waiting to happen: refuse it.
        let zeroed = match address {
            IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from(
                u32::from(v4) & u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0),
            )),
            IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(
                u128::from(v6) & u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0),
            )),
        };
        if zeroed != address {
            return Err(format!("range `{text}` has host bits set"));
        }
        Ok(cidr)
    }
}

/// The IPv4 address an IPv6 address carries, if it is one of the forms that reach IPv4 hosts:
/// IPv4-mapped `::ffff:a.b.c.d`, IPv4-compatible `::a.b.c.d`, SIIT's IPv4-translated
/// `::ffff:0:a.b.c.d` (RFC 6145, 7915), NAT64 `64:ff9b::a.b.c.d`, 6to4 `2002:aabb:ccdd::` and
/// ISATAP interface identifiers (`…:0:5efe:a.b.c.d`, `…:200:5efe:a.b.c.d`, RFC 5214) under any
/// prefix. The local-use NAT64 prefix `64:ff9b:1::/48` places the address by the operator's
/// prefix length, so that whole range is critical instead (`scope-risk.yaml`).
fn embedded_v4(address: Ipv6Addr) -> Option<Ipv4Addr> {
    let segments = address.segments();
    let octets = address.octets();
    let at = |offset: usize| {
        Ipv4Addr::new(
            octets[offset],
            octets[offset + 1],
            octets[offset + 2],
            octets[offset + 3],
        )
    };
    let mapped_or_compatible =
        segments[..5] == [0, 0, 0, 0, 0] && (segments[5] == 0xffff || segments[5] == 0);
    // `::` and `::1` are themselves special (unspecified, loopback), not compatible forms.
    if mapped_or_compatible && !(segments[5] == 0 && segments[6] == 0 && segments[7] <= 1) {
        return Some(at(12));
    }
    let translated = segments[..4] == [0, 0, 0, 0] && segments[4] == 0xffff && segments[5] == 0;
    let nat64 = segments[..6] == [0x0064, 0xff9b, 0, 0, 0, 0];
    let isatap = segments[4] & 0xfdff == 0 && segments[5] == 0x5efe;
    if translated || nat64 || isatap {
        return Some(at(12));
    }
    if segments[0] == 0x2002 {
        return Some(at(2));
    }
    None
}

/// Why `address` is not a public destination, or `None` if it is one. An IPv6 address that
/// embeds an IPv4 address is judged by that address first, then by its own ranges.
///
/// The egress proxy should call this on every resolved address too (DNS can point a public
/// name at a private address).
pub fn non_public_reason(address: IpAddr) -> Result<Option<String>, ScopeError> {
    let tables = risk::tables()?;
    if let IpAddr::V6(v6) = address
        && let Some(v4) = embedded_v4(v6)
        && let Some(reason) = tables.network_reason(IpAddr::V4(v4))
    {
        return Ok(Some(format!("embeds `{v4}`, {reason}")));
    }
    Ok(tables.network_reason(address).map(str::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(text: &str) -> Option<String> {
        non_public_reason(text.parse().unwrap()).unwrap()
    }

    #[test]
    fn cidr_parses_and_matches() {
        let net: Cidr = "172.16.0.0/12".parse().unwrap();
        assert!(net.contains("172.31.255.255".parse().unwrap()));
        assert!(!net.contains("172.32.0.0".parse().unwrap()));
        assert!(!net.contains("::1".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("8.8.8.8".parse().unwrap()));
        let one: Cidr = "::1/128".parse().unwrap();
        assert!(one.contains("::1".parse().unwrap()));
        assert!(!one.contains("::2".parse().unwrap()));
        for bad in ["10.0.0.0", "10.0.0.1/8", "10.0.0.0/33", "x/8", "::/129"] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for text in [
            "1.1.1.1",
            "8.8.8.8",
            "140.82.112.3",
            "2606:4700:4700::1111",
            "2a00:1450:4001:80b::200e",
            "2a00:1:2:3:200:5efe:808:808",
            "100.63.255.255",
            "100.128.0.1",
            "172.32.0.1",
            "169.253.255.255",
        ] {
            assert_eq!(reason(text), None, "{text}");
        }
    }

    #[test]
    fn every_blocked_class_is_named() {
        let cases = [
            ("127.0.0.1", "loopback"),
            ("127.255.1.2", "loopback"),
            ("0.0.0.0", "this network"),
            ("0.1.2.3", "this network"),
            ("10.1.2.3", "private"),
            ("172.16.0.1", "private"),
            ("172.31.255.255", "private"),
            ("192.168.1.1", "private"),
            ("100.64.0.1", "carrier-grade"),
            ("100.100.100.200", "Alibaba"),
            ("169.254.169.254", "metadata"),
            ("169.254.1.1", "link-local"),
            ("168.63.129.16", "Azure"),
            ("198.18.0.1", "benchmarking"),
            ("192.0.0.8", "IETF"),
            ("224.0.0.1", "multicast"),
            ("255.255.255.255", "broadcast"),
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("::ffff:127.0.0.1", "embeds `127.0.0.1`, loopback"),
            ("::ffff:169.254.169.254", "metadata"),
            ("::ffff:10.0.0.1", "private"),
            ("::ffff:8.8.8.8", "IPv4-mapped"),
            ("::127.0.0.1", "loopback"),
            ("64:ff9b::a9fe:a9fe", "metadata"),
            ("64:ff9b::7f00:1", "loopback"),
            ("64:ff9b::808:808", "NAT64"),
            ("2002:7f00:0001::", "loopback"),
            ("2002:a9fe:a9fe::1", "metadata"),
            ("2001:0:4136:e378::1", "Teredo"),
            ("fd00:ec2::254", "metadata"),
            ("fd12:3456::1", "unique local"),
            ("fe80::1", "link-local"),
            ("ff02::1", "multicast"),
            ("2001:db8::1", "documentation"),
            ("::ffff:0:7f00:1", "embeds `127.0.0.1`, loopback"),
            ("::ffff:0:a9fe:a9fe", "metadata"),
            ("::ffff:0:808:808", "SIIT"),
            ("100::1", "discard-only"),
            ("100::ffff:7f00:1", "discard-only"),
            ("64:ff9b:1::7f00:1", "local-use NAT64"),
            ("64:ff9b:1:7f00:0:100::", "local-use NAT64"),
            ("2a00:1:2:3:0:5efe:a00:1", "embeds `10.0.0.1`, private"),
            ("2a00:1:2:3:200:5efe:7f00:1", "embeds `127.0.0.1`, loopback"),
            ("fe80::5efe:a9fe:a9fe", "metadata"),
            ("3fff::1", "documentation"),
            ("1234::1", "global unicast"),
            ("4000::1", "global unicast"),
            ("a000::1", "global unicast"),
        ];
        for (text, expected) in cases {
            let found = reason(text).unwrap_or_else(|| panic!("{text} passed"));
            assert!(found.contains(expected), "{text}: {found}");
        }
    }
}
