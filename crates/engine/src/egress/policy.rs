//! Which `host:port` targets a run may reach, from its `net.outbound` scopes. Pure matching on
//! names and literals: no DNS, no sockets (resolution and the address check live in
//! `resolve`).
//!
//! Rules: names match exactly, case-insensitively, with one trailing dot ignored; `*.domain`
//! matches any subdomain of `domain` but not `domain` itself; an IP-literal target matches
//! only a scope naming that same IP. A scope with a port allows only that port; **a scope
//! without a port allows only 80 and 443** (web traffic): other ports must be named, so
//! `net.outbound:db.example.com` does not open port 5432. **A CONNECT tunnel to a plain-HTTP
//! port (80) is refused**: requests there go as absolute-form requests, which the proxy checks
//! one by one (the `Host` header replaced, one request per connection); a tunnel would carry
//! any number of requests, for any `Host`, past those checks.

use aegisclaw_core::scope::{Host, HostPattern, Scope, ScopeKind, Target};
use std::fmt;
use std::net::IpAddr;

/// The ports a scope without an explicit port allows.
pub const DEFAULT_PORTS: [u16; 2] = [80, 443];

/// Plain-HTTP ports: reachable only by absolute-form requests, never through CONNECT.
pub const PLAIN_HTTP_PORTS: [u16; 1] = [80];

/// A normalised egress target: a lower-case DNS name or an IP literal.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TargetHost {
    /// A DNS name, lower-cased, without a trailing dot.
    Name(String),
    /// An IP literal (IPv6 given in brackets).
    Ip(IpAddr),
}

impl TargetHost {
    /// Parses the host part of a request target: `[v6]`, an IPv4 literal, or a DNS name made
    /// of letters, digits, `-` and `_` labels (at most 253 characters). `None` if malformed.
    pub fn parse(text: &str) -> Option<Self> {
        if let Some(inner) = text.strip_prefix('[') {
            let v6 = inner.strip_suffix(']')?;
            return v6
                .parse::<std::net::Ipv6Addr>()
                .ok()
                .map(|ip| Self::Ip(ip.into()));
        }
        if let Ok(v4) = text.parse::<std::net::Ipv4Addr>() {
            return Some(Self::Ip(v4.into()));
        }
        let name = text.strip_suffix('.').unwrap_or(text).to_ascii_lowercase();
        let valid_label = |label: &str| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        // A numeric last label is no DNS name but an odd IPv4 form (`2130706433`, `127.1`,
        // `0x7f000001`, `0x7f.1`) that `inet_aton` and some resolvers would turn into an
        // address: refuse it outright.
        let numeric_tld = name.rsplit('.').next().is_some_and(|label| {
            let hex = label
                .strip_prefix("0x")
                .is_some_and(|digits| digits.bytes().all(|b| b.is_ascii_hexdigit()));
            hex || label.bytes().all(|b| b.is_ascii_digit())
        });
        (!name.is_empty() && name.len() <= 253 && name.split('.').all(valid_label) && !numeric_tld)
            .then_some(Self::Name(name))
    }
}

impl fmt::Display for TargetHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Name(name) => f.write_str(name),
            Self::Ip(IpAddr::V4(v4)) => write!(f, "{v4}"),
            Self::Ip(IpAddr::V6(v6)) => write!(f, "[{v6}]"),
        }
    }
}

/// Why the proxy refused a connection; its text is the body of the error response.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Denial {
    /// No scope names this host and port.
    #[error("egress to `{target}` is not in this run's net.outbound scopes")]
    NotInScope {
        /// `host:port` as requested.
        target: String,
    },
    /// The host is not a valid DNS name or IP literal.
    #[error("egress target `{target}` is not a valid host")]
    BadHost {
        /// The text as requested.
        target: String,
    },
    /// The host is, or resolves to, an address that is not public.
    #[error("egress to `{target}` resolves to {address}: {reason}")]
    NonPublic {
        /// `host:port` as requested.
        target: String,
        /// The offending address.
        address: IpAddr,
        /// Why it is refused (loopback, private, cloud metadata service, ...).
        reason: String,
    },
    /// The host is, or resolves to, an address of this host's own interfaces (the proxy
    /// dials from the host, so this would reach the host's own services).
    #[error("egress to `{target}` resolves to {address}: an address of this host")]
    HostLocal {
        /// `host:port` as requested.
        target: String,
        /// The offending address.
        address: IpAddr,
    },
    /// Whether an address belongs to this host could not be told; refused.
    #[error(
        "egress to `{target}` refused: cannot tell whether {address} is an address of this host ({detail})"
    )]
    LocalCheck {
        /// `host:port` as requested.
        target: String,
        /// The address checked.
        address: IpAddr,
        /// The error.
        detail: String,
    },
    /// A CONNECT tunnel to a plain-HTTP port, which must be reached request by request.
    #[error(
        "CONNECT to `{target}` refused: port {port} is plain HTTP, which the proxy relays one request at a time (send `http://` requests to the proxy, not through a tunnel)"
    )]
    TunnelToPlainHttp {
        /// `host:port` as requested.
        target: String,
        /// The port.
        port: u16,
    },
    /// The name did not resolve (fails closed, unlike the original).
    #[error("egress to `{target}` refused: cannot resolve the name ({detail})")]
    Unresolved {
        /// `host:port` as requested.
        target: String,
        /// The resolver's error.
        detail: String,
    },
    /// The address classifier itself failed; every connection is refused.
    #[error("egress to `{target}` refused: the address tables are unavailable ({detail})")]
    Classifier {
        /// `host:port` as requested.
        target: String,
        /// The error.
        detail: String,
    },
}

impl Denial {
    /// The HTTP status the proxy answers with: 403 for policy, 400 for a bad host, 502 when
    /// the name does not resolve.
    pub fn status(&self) -> u16 {
        match self {
            Self::BadHost { .. } => 400,
            Self::Unresolved { .. } => 502,
            Self::NotInScope { .. }
            | Self::NonPublic { .. }
            | Self::HostLocal { .. }
            | Self::TunnelToPlainHttp { .. }
            | Self::LocalCheck { .. }
            | Self::Classifier { .. } => 403,
        }
    }
}

/// The allowlist built from a run's `net.outbound` scopes. Empty means nothing is allowed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EgressPolicy {
    patterns: Vec<HostPattern>,
}

impl EgressPolicy {
    /// Takes the `net.outbound` scopes among `scopes` and ignores every other kind.
    pub fn from_scopes(scopes: &[Scope]) -> Self {
        let patterns = scopes
            .iter()
            .filter(|scope| scope.kind() == ScopeKind::NetOutbound)
            .filter_map(|scope| match scope.target() {
                Target::Host(pattern) => Some(pattern.clone()),
                _ => None,
            })
            .collect();
        Self { patterns }
    }

    /// Whether no scope allows anything (the run then gets no proxy at all).
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Allows or refuses `host:port`, where `host` is a name, an IPv4 literal or a bracketed
    /// IPv6 literal. Addresses are checked separately, after resolution.
    pub fn check(&self, host: &str, port: u16) -> Result<(), Denial> {
        let parsed = TargetHost::parse(host).ok_or_else(|| Denial::BadHost {
            target: host.to_string(),
        })?;
        self.matching(&parsed, port).map(|_| ())
    }

    /// The first pattern that allows `host:port`.
    pub fn matching(&self, host: &TargetHost, port: u16) -> Result<&HostPattern, Denial> {
        self.patterns
            .iter()
            .find(|pattern| host_matches(&pattern.host, host) && port_matches(pattern.port, port))
            .ok_or_else(|| Denial::NotInScope {
                target: format!("{host}:{port}"),
            })
    }
}

/// Refuses a CONNECT tunnel to a plain-HTTP port, whatever the scopes allow there.
pub fn check_tunnel(host: &TargetHost, port: u16) -> Result<(), Denial> {
    if PLAIN_HTTP_PORTS.contains(&port) {
        return Err(Denial::TunnelToPlainHttp {
            target: format!("{host}:{port}"),
            port,
        });
    }
    Ok(())
}

fn host_matches(pattern: &Host, host: &TargetHost) -> bool {
    match (pattern, host) {
        (Host::Name(name), TargetHost::Name(target)) => name.eq_ignore_ascii_case(target),
        (Host::Wildcard(domain), TargetHost::Name(target)) => target
            .len()
            .checked_sub(domain.len() + 1)
            .filter(|&dot| dot > 0)
            .is_some_and(|dot| {
                target.as_bytes()[dot] == b'.' && target[dot + 1..].eq_ignore_ascii_case(domain)
            }),
        (Host::Ip(ip), TargetHost::Ip(target)) => ip == target,
        _ => false,
    }
}

fn port_matches(pattern: Option<u16>, port: u16) -> bool {
    match pattern {
        Some(allowed) => allowed == port,
        None => DEFAULT_PORTS.contains(&port),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use aegisclaw_core::scope::ScopeContext;

    fn policy(scopes: &[&str]) -> EgressPolicy {
        let context = ScopeContext::default();
        let scopes: Vec<Scope> = scopes
            .iter()
            .map(|text| Scope::parse(text, &context).unwrap())
            .collect();
        EgressPolicy::from_scopes(&scopes)
    }

    #[test]
    fn exact_names_match_case_insensitively_without_trailing_dot() {
        let policy = policy(&["net.outbound:api.example.com"]);
        assert!(policy.check("api.example.com", 443).is_ok());
        assert!(policy.check("API.Example.COM.", 80).is_ok());
        assert!(policy.check("example.com", 443).is_err());
        assert!(policy.check("xapi.example.com", 443).is_err());
        assert!(policy.check("api.example.com.evil.com", 443).is_err());
    }

    #[test]
    fn wildcard_matches_subdomains_not_apex() {
        let policy = policy(&["net.outbound:*.example.com"]);
        assert!(policy.check("a.example.com", 443).is_ok());
        assert!(policy.check("a.b.EXAMPLE.com", 443).is_ok());
        assert!(policy.check("example.com", 443).is_err());
        assert!(policy.check("badexample.com", 443).is_err());
        assert!(policy.check(".example.com", 443).is_err());
    }

    #[test]
    fn ports_are_restricted() {
        let policy = policy(&["net.outbound:a.test:8443", "net.outbound:b.test"]);
        assert!(policy.check("a.test", 8443).is_ok());
        assert!(policy.check("a.test", 443).is_err());
        assert!(policy.check("b.test", 80).is_ok());
        assert!(policy.check("b.test", 443).is_ok());
        let denial = policy.check("b.test", 22).unwrap_err();
        assert_eq!(
            denial.to_string(),
            "egress to `b.test:22` is not in this run's net.outbound scopes"
        );
        assert_eq!(denial.status(), 403);
    }

    #[test]
    fn connect_tunnels_to_plain_http_ports_are_refused() {
        let host = TargetHost::parse("b.test").unwrap();
        let denial = check_tunnel(&host, 80).unwrap_err();
        assert_eq!(
            denial,
            Denial::TunnelToPlainHttp {
                target: "b.test:80".into(),
                port: 80
            }
        );
        assert_eq!(denial.status(), 403);
        assert_eq!(check_tunnel(&host, 443), Ok(()));
        assert_eq!(check_tunnel(&host, 8443), Ok(()));
    }

    #[test]
    fn ip_literals_match_only_the_named_ip() {
        let policy = policy(&[
            "net.outbound:93.184.216.34",
            "net.outbound:[2606:4700::1]:443",
        ]);
        assert!(policy.check("93.184.216.34", 443).is_ok());
        assert!(policy.check("93.184.216.35", 443).is_err());
        assert!(policy.check("[2606:4700:0::1]", 443).is_ok());
        assert!(policy.check("[2606:4700::1]", 80).is_err());
        assert!(policy.check("169.254.169.254", 80).is_err());
    }

    #[test]
    fn bad_hosts_and_other_kinds() {
        let policy = policy(&["net.outbound:a.test", "files.read:/tmp"]);
        assert_eq!(policy.patterns.len(), 1);
        for bad in [
            "",
            "a..test",
            "a test",
            "a.test:1",
            "[::1",
            "[zz]",
            "a/b",
            "é.test",
            "2130706433",
            "017700000001",
            "0x7f000001",
            "0X7F000001",
            "0x7f.0.0.1",
            "127.1",
            "127.0.0.1.",
        ] {
            assert_eq!(policy.check(bad, 443).unwrap_err().status(), 400, "{bad}");
        }
        assert!(EgressPolicy::from_scopes(&[]).is_empty());
        assert!(EgressPolicy::from_scopes(&[]).check("a.test", 443).is_err());
    }
}
