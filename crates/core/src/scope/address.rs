//! Classifies IP addresses that must never be reached through `net.outbound`: loopback,
//! private, link-local, carrier-grade NAT, metadata services, and every IPv6 form that embeds
//! one of those. Pure data and arithmetic; no DNS.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is not a public destination, or `None` if it is one.
pub fn non_public_reason(address: IpAddr) -> Option<&'static str> {
    match address {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => v6_reason(v6),
    }
}

fn v4_reason(address: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, d] = address.octets();
    // Metadata services first, so the reason names them even inside wider ranges.
    match (a, b, c, d) {
        (169, 254, 169, 254) => return Some("cloud metadata service (AWS, GCP, Azure, OpenStack)"),
        (100, 100, 100, 200) => return Some("cloud metadata service (Alibaba Cloud)"),
        (168, 63, 129, 16) => return Some("cloud platform service address (Azure wireserver)"),
        _ => {}
    }
    Some(match (a, b) {
        (0, _) => "the `0.0.0.0/8` \"this network\" range",
        (10, _) => "private network `10.0.0.0/8`",
        (100, 64..=127) => "carrier-grade NAT `100.64.0.0/10`",
        (127, _) => "loopback `127.0.0.0/8`",
        (169, 254) => "link-local `169.254.0.0/16`",
        (172, 16..=31) => "private network `172.16.0.0/12`",
        (192, 168) => "private network `192.168.0.0/16`",
        (198, 18..=19) => "benchmarking network `198.18.0.0/15`",
        (224..=239, _) => "multicast `224.0.0.0/4`",
        (240..=255, _) => "reserved or broadcast `240.0.0.0/4`",
        _ if (a, b, c) == (192, 0, 0) => "IETF protocol assignments `192.0.0.0/24`",
        _ if (a, b, c) == (192, 0, 2) => "documentation network `192.0.2.0/24`",
        _ if (a, b, c) == (198, 51, 100) => "documentation network `198.51.100.0/24`",
        _ if (a, b, c) == (203, 0, 113) => "documentation network `203.0.113.0/24`",
        _ => return None,
    })
}

fn v6_reason(address: Ipv6Addr) -> Option<&'static str> {
    let segments = address.segments();
    let octets = address.octets();
    let embedded = |offset: usize| {
        Ipv4Addr::new(
            octets[offset],
            octets[offset + 1],
            octets[offset + 2],
            octets[offset + 3],
        )
    };
    if address == Ipv6Addr::new(0xfd00, 0x0ec2, 0, 0, 0, 0, 0, 0x0254) {
        return Some("cloud metadata service (AWS, IPv6)");
    }
    if address.is_loopback() {
        return Some("loopback `::1`");
    }
    if address.is_unspecified() {
        return Some("the unspecified address `::`");
    }
    // IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d) forms carry a v4 address.
    if segments[..5] == [0, 0, 0, 0, 0] && (segments[5] == 0xffff || segments[5] == 0) {
        return v4_reason(embedded(12)).or(Some("IPv4-compatible IPv6 form"));
    }
    match segments[0] {
        // NAT64 (64:ff9b::/96 and the local-use 64:ff9b:1::/48) translates to embedded v4.
        0x0064 if segments[1] == 0xff9b => {
            return v4_reason(embedded(12)).or(Some("NAT64 prefix `64:ff9b::/96`"));
        }
        // 6to4 (2002::/16) embeds a v4 address in bits 16..48.
        0x2002 => return v4_reason(embedded(2)).or(Some("6to4 relay prefix `2002::/16`")),
        0x2001 if segments[1] == 0 => return Some("Teredo tunnel `2001::/32`"),
        0x2001 if segments[1] == 0x0db8 => return Some("documentation network `2001:db8::/32`"),
        first if first & 0xfe00 == 0xfc00 => return Some("unique local network `fc00::/7`"),
        first if first & 0xffc0 == 0xfe80 => return Some("link-local `fe80::/10`"),
        first if first & 0xffc0 == 0xfec0 => return Some("site-local `fec0::/10`"),
        first if first & 0xff00 == 0xff00 => return Some("multicast `ff00::/8`"),
        _ => {}
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(text: &str) -> Option<&'static str> {
        non_public_reason(text.parse().unwrap())
    }

    #[test]
    fn public_addresses_pass() {
        for text in [
            "1.1.1.1",
            "8.8.8.8",
            "140.82.112.3",
            "2606:4700:4700::1111",
            "100.63.255.255",
            "100.128.0.1",
            "172.32.0.1",
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
            ("::ffff:127.0.0.1", "loopback"),
            ("::ffff:169.254.169.254", "metadata"),
            ("::ffff:10.0.0.1", "private"),
            ("::127.0.0.1", "loopback"),
            ("64:ff9b::a9fe:a9fe", "metadata"),
            ("64:ff9b::7f00:1", "loopback"),
            ("2002:7f00:0001::", "loopback"),
            ("2002:a9fe:a9fe::1", "metadata"),
            ("2001:0:4136:e378::1", "Teredo"),
            ("fd00:ec2::254", "metadata"),
            ("fd12:3456::1", "unique local"),
            ("fe80::1", "link-local"),
            ("ff02::1", "multicast"),
            ("2001:db8::1", "documentation"),
        ];
        for (text, expected) in cases {
            let found = reason(text).unwrap_or_else(|| panic!("{text} passed"));
            assert!(found.contains(expected), "{text}: {found}");
        }
    }
}
