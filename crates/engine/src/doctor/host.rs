//! Doctor checks about the machine rather than the home: sandbox layers, optional runtimes,
//! the OpenClaw endpoint and free disk space. Uses the facts gathered in `DoctorInput`; only
//! the OpenClaw check touches the network (one TCP connect, 2 s timeout, no request sent).

use super::{DoctorInput, Outcome};
use crate::ca_store;
use aegisclaw_core::env;
use aegisclaw_sandbox::plan::{CA_BUNDLE_TARGET, DISTRIBUTION_CA_BUNDLES};
use aegisclaw_sandbox::probe::{self, KvmKind, Layer, RuntimeInfo};
use std::net::{TcpStream, ToSocketAddrs as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The fix for a namespace the kernel or a surrounding container refuses.
pub(super) const NAMESPACE_FIX: &str = "use a kernel with CONFIG_NAMESPACES and user namespaces; inside a container, relax its seccomp/AppArmor profile";

const MIB: u64 = 1024 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// A required native layer.
pub(super) fn layer(layer: &Layer) -> Outcome {
    match layer.available {
        true => Outcome::pass(&layer.detail),
        false => Outcome::fail(&layer.detail),
    }
}

/// A layer the native runtime can do without.
pub(super) fn optional_layer(layer: &Layer) -> Outcome {
    match layer.available {
        true => Outcome::pass(&layer.detail),
        false => Outcome::warn(&layer.detail),
    }
}

pub(super) fn check_cgroups(input: &DoctorInput) -> Outcome {
    let cgroups = &input.probes.cgroups;
    if cgroups.memory && cgroups.pids {
        Outcome::pass(format!(
            "memory and pids limits writable; {}",
            cgroups.detail
        ))
    } else {
        Outcome::warn(format!(
            "no writable memory/pids limits, runs fall back to rlimits; {}",
            cgroups.detail
        ))
    }
}

/// The CA store runs see at `/etc/ssl/certs/ca-certificates.crt`, checked exactly as a run
/// checks it (`crate::ca_store::load`): one that a run would refuse fails (every run is
/// refused), none at all warns (HTTPS from a run fails verification).
pub(super) fn check_ca_bundle(input: &DoctorInput) -> Outcome {
    if !input.home.exists() {
        return Outcome::no_home();
    }
    let Ok(config) = &input.config else {
        return Outcome::warn("not checked: the configuration does not load");
    };
    let context =
        crate::authorise::scope_context(env::get(env::HOME).map(PathBuf::from), input.home.root());
    match ca_store::load(config.ca_bundle.as_deref(), &context) {
        Ok(Some(store)) => match store.count_certificates() {
            Ok(count) => {
                let plural = if count == 1 { "" } else { "s" };
                Outcome::pass(format!(
                    "{} ({}, {count} certificate{plural}), seen by runs at {CA_BUNDLE_TARGET}",
                    store.path.display(),
                    store.from,
                ))
            }
            Err(error) => Outcome::fail(format!(
                "{}, so HTTPS from a run cannot verify",
                super::error_chain(&error)
            )),
        },
        Ok(None) => Outcome::warn(format!(
            "no CA store found (looked for {}): HTTPS from a run fails verification",
            DISTRIBUTION_CA_BUNDLES.join(", ")
        )),
        Err(error) => Outcome::fail(format!(
            "{}, so every run is refused",
            super::error_chain(&error)
        )),
    }
}

/// An optional runtime: found, or "not installed (optional)".
pub(super) fn runtime(info: &RuntimeInfo) -> Outcome {
    match (info.available, &info.version) {
        (true, Some(version)) => Outcome::pass(version),
        (true, None) => Outcome::pass(&info.detail),
        (false, _) => Outcome::warn(format!("not installed (optional): {}", info.detail)),
    }
}

/// Why KVM cannot back a microVM, or `None` if it can.
fn kvm_problem(input: &DoctorInput) -> Option<String> {
    let kvm = &input.runtimes.kvm;
    if !kvm.present || !kvm.openable {
        return Some(kvm.detail.clone());
    }
    None
}

pub(super) fn check_kata(input: &DoctorInput) -> Outcome {
    microvm(input, &input.runtimes.kata)
}

pub(super) fn check_firecracker(input: &DoctorInput) -> Outcome {
    microvm(input, &input.runtimes.firecracker)
}

/// A microVM runtime needs its binary and a usable `/dev/kvm`; PVM is named as a caveat.
fn microvm(input: &DoctorInput, info: &RuntimeInfo) -> Outcome {
    let kvm = &input.runtimes.kvm;
    if !info.available {
        return Outcome::warn(format!(
            "not installed (optional): {}; {}",
            info.detail, kvm.detail
        ));
    }
    let version = info.version.as_deref().unwrap_or(&info.detail);
    match kvm_problem(input) {
        Some(problem) => Outcome::warn(format!("{version}, but {problem}")),
        None if kvm.kind == KvmKind::Pvm => Outcome::warn(format!(
            "{version}; {} (stock guest kernels will not boot)",
            kvm.detail
        )),
        None => Outcome::pass(format!("{version}; {}", kvm.detail)),
    }
}

pub(super) fn check_openclaw(input: &DoctorInput) -> Outcome {
    let file = input.home.openclaw_adapter();
    let endpoint = match &input.openclaw_endpoint {
        Some(endpoint) => endpoint.clone(),
        None if !file.is_file() => return Outcome::warn("not configured"),
        None => match fs_err::read_to_string(&file) {
            Ok(text) => match endpoint_of(&text) {
                Some(endpoint) => endpoint,
                None => {
                    return Outcome::fail("adapters/openclaw.yaml has no `endpoint`");
                }
            },
            Err(error) => return Outcome::fail(error.to_string()),
        },
    };
    let Some((host, port)) = host_port(&endpoint) else {
        return Outcome::fail(format!("invalid endpoint `{endpoint}`"));
    };
    let started = Instant::now();
    let address = match (host.as_str(), port).to_socket_addrs() {
        Ok(mut addresses) => addresses.next(),
        Err(error) => return Outcome::warn(format!("unreachable: `{host}`: {error}")),
    };
    let Some(address) = address else {
        return Outcome::warn(format!("unreachable: `{host}` has no address"));
    };
    match TcpStream::connect_timeout(&address, CONNECT_TIMEOUT) {
        Ok(_) => Outcome::pass(format!(
            "reachable at `{host}:{port}` ({} ms)",
            started.elapsed().as_millis()
        )),
        Err(error) => Outcome::warn(format!("unreachable at `{host}:{port}`: {error}")),
    }
}

/// The top-level `endpoint:` of the adapter file. The adapter itself parses the full file;
/// the doctor only needs where to connect.
pub(super) fn endpoint_of(yaml: &str) -> Option<String> {
    yaml.lines().find_map(|line| {
        let value = line.strip_prefix("endpoint:")?.trim();
        let value = value
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .or_else(|| value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')))
            .unwrap_or(value);
        (!value.is_empty()).then(|| value.to_string())
    })
}

/// Host and port of `http(s)://host[:port][/path]` or `host:port`.
pub(super) fn host_port(endpoint: &str) -> Option<(String, u16)> {
    let (rest, default_port) = match endpoint.split_once("://") {
        Some(("http" | "ws", rest)) => (rest, Some(80)),
        Some(("https" | "wss", rest)) => (rest, Some(443)),
        Some(_) => return None,
        None => (endpoint, None),
    };
    let authority = rest.split(['/', '?', '#']).next()?;
    let authority = authority.rsplit('@').next()?;
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']')?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(text) => text.parse().ok()?,
        None => default_port?,
    };
    (!host.is_empty()).then(|| (host.to_string(), port))
}

pub(super) fn check_disk(input: &DoctorInput) -> Outcome {
    // The home may not exist yet: measure the filesystem it would be created on.
    let mut path: &Path = input.home.root();
    while !path.exists() {
        match path.parent() {
            Some(parent) => path = parent,
            None => break,
        }
    }
    match probe::free_bytes(path) {
        Ok(free) => disk_outcome(free),
        Err(error) => Outcome::warn(format!("not measured: {error}")),
    }
}

/// ≥ 500 MiB passes, 100–500 MiB warns, less fails.
pub(super) fn disk_outcome(free: u64) -> Outcome {
    let gib = free as f64 / (1024.0 * MIB as f64);
    if free >= 500 * MIB {
        Outcome::pass(format!("{gib:.1} GiB free"))
    } else if free >= 100 * MIB {
        Outcome::warn(format!("{} MiB free (low)", free / MIB))
    } else {
        Outcome::fail(format!("{} MiB free", free / MIB))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Status;

    #[test]
    fn endpoints_give_host_and_port() {
        let cases = [
            ("http://localhost:18789/v1", Some(("localhost", 18789))),
            ("https://gateway.example", Some(("gateway.example", 443))),
            ("ws://user@10.0.0.1/ws", Some(("10.0.0.1", 80))),
            ("http://[::1]:9000", Some(("::1", 9000))),
            ("127.0.0.1:8080", Some(("127.0.0.1", 8080))),
            ("localhost", None),
            ("ftp://host:21", None),
            ("http://:80", None),
            ("http://host:99999", None),
        ];
        for (endpoint, expected) in cases {
            let expected = expected.map(|(host, port)| (host.to_string(), port));
            assert_eq!(host_port(endpoint), expected, "{endpoint}");
        }
    }

    #[test]
    fn the_adapter_file_names_its_endpoint() {
        assert_eq!(
            endpoint_of("timeout_ms: 5\nendpoint: 'http://a:1'\n"),
            Some("http://a:1".to_string())
        );
        assert_eq!(endpoint_of("  endpoint: nested\n"), None);
        assert_eq!(endpoint_of("endpoint: \"\"\n"), None);
    }

    #[test]
    fn disk_space_thresholds() {
        let status = |mib: u64| disk_outcome(mib * MIB).status;
        assert_eq!(status(500), Status::Pass);
        assert_eq!(status(499), Status::Warn);
        assert_eq!(status(100), Status::Warn);
        assert_eq!(status(99), Status::Fail);
        assert_eq!(disk_outcome(4608 * MIB).detail, "4.5 GiB free");
        assert_eq!(disk_outcome(250 * MIB).detail, "250 MiB free (low)");
    }
}
