//! Turning an allowed target into the exact addresses the proxy may dial. Names are resolved
//! here, once, and only after `policy` allowed them; EVERY address is checked with
//! `aegisclaw_core::scope::non_public_reason` and `local::is_host_local`, and one bad address
//! refuses the whole name (DNS rebinding defence). The proxy then dials only these checked
//! addresses and never resolves again. Must not decide scope matching (that is `policy`).

use super::local::is_host_local;
use super::policy::{Denial, TargetHost};
use aegisclaw_core::scope::non_public_reason;
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;

/// A boxed resolution in progress.
pub type Resolving<'a> = Pin<Box<dyn Future<Output = io::Result<Vec<IpAddr>>> + Send + 'a>>;

/// Maps a DNS name to addresses. The system resolver in production; a fixed map in tests.
pub trait Resolver: Send + Sync {
    /// Every address `name` resolves to (`port` is passed for resolvers that need one).
    fn resolve<'a>(&'a self, name: &'a str, port: u16) -> Resolving<'a>;
}

/// The system resolver (`getaddrinfo` through `tokio::net::lookup_host`).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemResolver;

impl Resolver for SystemResolver {
    fn resolve<'a>(&'a self, name: &'a str, port: u16) -> Resolving<'a> {
        Box::pin(async move {
            let addresses = tokio::net::lookup_host((name, port)).await?;
            Ok(addresses.map(|address| address.ip()).collect())
        })
    }
}

/// A fixed name → addresses map; names not in it fail to resolve. For tests and benches.
#[derive(Clone, Debug, Default)]
pub struct StaticResolver {
    names: HashMap<String, Vec<IpAddr>>,
}

impl StaticResolver {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `name` (matched lower-case) resolving to `addresses`.
    #[must_use]
    pub fn with(mut self, name: &str, addresses: &[IpAddr]) -> Self {
        self.names
            .insert(name.to_ascii_lowercase(), addresses.to_vec());
        self
    }
}

impl Resolver for StaticResolver {
    fn resolve<'a>(&'a self, name: &'a str, _port: u16) -> Resolving<'a> {
        let found = self.names.get(&name.to_ascii_lowercase()).cloned();
        Box::pin(async move {
            found.ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no such name"))
        })
    }
}

/// Resolves `host` (an IP literal resolves to itself) and checks every address. Returns the
/// addresses to dial, in resolver order, or why the target is refused.
pub async fn resolve_checked(
    resolver: &dyn Resolver,
    host: &TargetHost,
    port: u16,
) -> Result<Vec<SocketAddr>, Denial> {
    let target = || format!("{host}:{port}");
    let addresses = match host {
        TargetHost::Ip(ip) => vec![*ip],
        TargetHost::Name(name) => {
            resolver
                .resolve(name, port)
                .await
                .map_err(|error| Denial::Unresolved {
                    target: target(),
                    detail: error.to_string(),
                })?
        }
    };
    if addresses.is_empty() {
        return Err(Denial::Unresolved {
            target: target(),
            detail: "no addresses".to_string(),
        });
    }
    for address in &addresses {
        match non_public_reason(*address) {
            Ok(None) => match is_host_local(*address) {
                Ok(false) => {}
                Ok(true) => {
                    return Err(Denial::HostLocal {
                        target: target(),
                        address: *address,
                    });
                }
                Err(error) => {
                    return Err(Denial::LocalCheck {
                        target: target(),
                        address: *address,
                        detail: error.to_string(),
                    });
                }
            },
            Ok(Some(reason)) => {
                return Err(Denial::NonPublic {
                    target: target(),
                    address: *address,
                    reason,
                });
            }
            Err(error) => {
                return Err(Denial::Classifier {
                    target: target(),
                    detail: error.to_string(),
                });
            }
        }
    }
    Ok(addresses
        .into_iter()
        .map(|address| SocketAddr::new(address, port))
        .collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn check(resolver: &StaticResolver, host: &str) -> Result<Vec<SocketAddr>, Denial> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let host = TargetHost::parse(host).unwrap();
        runtime.block_on(resolve_checked(resolver, &host, 443))
    }

    #[test]
    fn public_names_resolve_to_checked_addresses() {
        let resolver =
            StaticResolver::new().with("ok.test", &[ip("192.0.3.10"), ip("2606:4700::1")]);
        let found = check(&resolver, "OK.test").unwrap();
        assert_eq!(found[0], "192.0.3.10:443".parse().unwrap());
        assert_eq!(found.len(), 2);
    }

    #[test]
    fn any_non_public_address_refuses_the_name() {
        for bad in [
            "127.0.0.1",
            "10.0.0.1",
            "::ffff:127.0.0.1",
            "169.254.169.254",
            "fd00:ec2::254",
            "fe80::1",
            "fd12::1",
            "::1",
            "0.0.0.0",
            "100.100.100.200",
        ] {
            let resolver = StaticResolver::new().with("rebind.test", &[ip("192.0.3.10"), ip(bad)]);
            let denial = check(&resolver, "rebind.test").unwrap_err();
            assert_eq!(denial.status(), 403, "{bad}");
            assert!(
                denial
                    .to_string()
                    .starts_with("egress to `rebind.test:443` resolves to "),
                "{denial}"
            );
        }
        let resolver = StaticResolver::new();
        let denial = check(&resolver, "169.254.169.254").unwrap_err();
        assert!(denial.to_string().contains("cloud metadata"), "{denial}");
    }

    #[test]
    fn unresolvable_names_fail_closed() {
        let denial = check(&StaticResolver::new(), "nowhere.test").unwrap_err();
        assert_eq!(denial.status(), 502);
        let empty = StaticResolver::new().with("empty.test", &[]);
        assert!(check(&empty, "empty.test").is_err());
    }
}
