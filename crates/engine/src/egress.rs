//! The egress proxy (DESIGN §1 "network from net.* scopes", issue #5): a run with
//! `net.outbound` scopes reaches the world only through this HTTP proxy (CONNECT and
//! absolute-form HTTP), whose listener the engine creates inside the run's network namespace
//! with `aegisclaw_sandbox::netns::bind_in_netns`. It allows only the scoped hosts and ports,
//! decides on the name before it resolves it (a denied name is never looked up), resolves
//! allowed names itself, refuses every non-public address (`non_public_reason`) and every
//! address of the host itself (`local`), dials the exact address it checked, serves one
//! request per client connection, and reports every connection as one `EgressEvent`.
//!
//! Owns: scope matching (`policy`), resolution and the address checks (`resolve`, `local`),
//! request-head and body framing (`http`), the server (`proxy`), and turning a run's events
//! into bounded, redacted records (`tally`). Must not: write the audit log itself (the
//! engine's callback does), inspect tunnelled bytes, or own a runtime (callers pass a
//! `tokio::runtime::Handle`).

mod http;
pub mod local;
pub mod policy;
mod proxy;
pub mod resolve;
pub mod tally;

pub use http::HttpError;
pub use policy::{DEFAULT_PORTS, Denial, EgressPolicy, TargetHost};
pub use proxy::{EgressHandle, EgressProxy};
pub use resolve::{Resolver, StaticResolver, SystemResolver};
pub use tally::EgressTally;

use aegisclaw_core::audit::Event;
use serde_json::json;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::Path;
use std::sync::Arc;

/// Where the proxy listens inside a run's network namespace.
pub const PROXY_LISTENER: SocketAddrV4 = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 3128);
/// [`PROXY_LISTENER`] as a socket address.
pub const PROXY_ADDR: SocketAddr = SocketAddr::V4(PROXY_LISTENER);

/// The proxy's listener on `PROXY_ADDR` inside the network namespace at `netns_path` (such
/// as `/proc/<sandbox pid>/ns/net`), with that namespace's loopback brought up. The caller's
/// own namespace is untouched; pass the listener to `EgressProxy::start`.
pub fn listen_in_netns(netns_path: &Path) -> std::io::Result<std::net::TcpListener> {
    aegisclaw_sandbox::netns::loopback_up(netns_path)?;
    aegisclaw_sandbox::netns::bind_in_netns(netns_path, PROXY_ADDR)
}

/// Where the proxy delivers its events. Called on the proxy's runtime: keep it quick (push
/// to a channel or an in-memory log), never block on I/O.
pub type AuditSink = Arc<dyn Fn(EgressEvent) + Send + Sync>;

/// Errors starting the proxy.
#[derive(Debug, thiserror::Error)]
pub enum EgressError {
    /// The listener could not be handed to the runtime.
    #[error("cannot start the egress proxy on its listener")]
    Listener(#[source] std::io::Error),
}

/// How the client asked for the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EgressMethod {
    /// `CONNECT host:port` (a tunnel, usually TLS).
    Connect,
    /// An absolute-form plain-HTTP request (`GET http://host/path`).
    Http,
}

impl EgressMethod {
    /// `CONNECT` or `HTTP`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connect => "CONNECT",
            Self::Http => "HTTP",
        }
    }
}

/// One client connection to the proxy: delivered once, when a denied request has been
/// decided or when an allowed connection ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EgressEvent {
    /// The requested host as written (empty if the request could not be parsed).
    pub host: String,
    /// The requested port (0 if the request could not be parsed).
    pub port: u16,
    /// The address dialled, when one was.
    pub resolved: Option<IpAddr>,
    /// Whether the policy and the address checks allowed the connection.
    pub allowed: bool,
    /// Why: the matching scope, the denial, or how an allowed connection failed.
    pub reason: String,
    /// The `net.outbound` scope that allowed it.
    pub scope: Option<String>,
    /// Bytes sent upstream (for HTTP: the rewritten head and the body).
    pub bytes_up: u64,
    /// Bytes relayed back to the client from upstream.
    pub bytes_down: u64,
    /// CONNECT or HTTP.
    pub method: EgressMethod,
}

impl EgressEvent {
    /// The `net.egress` audit event for this connection.
    pub fn to_audit_event(&self, actor: &str, run: &str) -> Event {
        let mut event = Event::new("net.egress", actor)
            .run(run)
            .decision(if self.allowed { "allow" } else { "deny" })
            .reason(self.reason.clone())
            .data(json!({
                "host": self.host,
                "port": self.port,
                "resolved": self.resolved.map(|ip| ip.to_string()),
                "method": self.method.as_str(),
                "bytes_up": self.bytes_up,
                "bytes_down": self.bytes_down,
            }));
        if let Some(scope) = &self.scope {
            event = event.scope(scope.clone());
        }
        event
    }
}

/// The environment a skill needs to use the proxy at `addr` (both spellings, as tools differ):
/// `HTTP_PROXY`, `HTTPS_PROXY`, `http_proxy`, `https_proxy`, and an empty `NO_PROXY`.
pub fn proxy_env(addr: SocketAddr) -> Vec<(String, String)> {
    let url = format!("http://{addr}");
    let mut env: Vec<(String, String)> = ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"]
        .into_iter()
        .map(|name| (name.to_string(), url.clone()))
        .collect();
    env.push(("NO_PROXY".to_string(), String::new()));
    env.push(("no_proxy".to_string(), String::new()));
    env
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn audit_event_carries_the_connection() {
        let event = EgressEvent {
            host: "a.test".to_string(),
            port: 443,
            resolved: Some("192.0.3.10".parse().unwrap()),
            allowed: true,
            reason: "allowed by `net.outbound:a.test`".to_string(),
            scope: Some("net.outbound:a.test".to_string()),
            bytes_up: 10,
            bytes_down: 20,
            method: EgressMethod::Connect,
        };
        let audit = event.to_audit_event("cli:alice", "run-1");
        assert_eq!(audit.kind, "net.egress");
        assert_eq!(audit.decision.as_deref(), Some("allow"));
        assert_eq!(audit.scope.as_deref(), Some("net.outbound:a.test"));
        assert_eq!(audit.data["resolved"], "192.0.3.10");
        assert_eq!(audit.data["bytes_down"], 20);
        assert_eq!(audit.data["method"], "CONNECT");
        let env = proxy_env("127.0.0.1:3128".parse().unwrap());
        assert!(env.contains(&(
            "HTTPS_PROXY".to_string(),
            "http://127.0.0.1:3128".to_string()
        )));
    }
}
