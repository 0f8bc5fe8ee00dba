//! The run's synthetic `/etc`, as mount ops: `passwd` and `group` naming the run's user (uid
//! and gid 0 inside), `hosts` with localhost and the run's hostname, `nsswitch.conf`,
//! `localtime`, the CA store (a copy of certificates the engine checked, on the read-only root)
//! and the dynamic loader's cache (bound read-only). Nothing else of the host's `/etc` is shown.
//! Pure: the host's user name and zone arrive as facts, the CA store's certificates in the spec.

use super::{CaStoreSpec, HostFacts, MountFlags, MountOp, PathKind, RunSpec};
use std::path::{Path, PathBuf};

/// Where the CA store is bound inside: where OpenSSL, GnuTLS and curl look on Debian and its
/// derivatives (Python's `ssl` default `cafile` links there too).
pub const CA_BUNDLE_TARGET: &str = "/etc/ssl/certs/ca-certificates.crt";

/// Where distributions keep their CA store, in the order `sandbox.ca_bundle` defaults to the
/// first that exists. Inside, the store is at [`CA_BUNDLE_TARGET`], and the host's own path
/// (when it is another) links to it, so the host's TLS libraries find it where they look.
pub const DISTRIBUTION_CA_BUNDLES: [&str; 5] = [
    // Debian, Ubuntu, Arch, Gentoo, Alpine (ca-certificates)
    "/etc/ssl/certs/ca-certificates.crt",
    // Fedora, RHEL, CentOS
    "/etc/pki/tls/certs/ca-bundle.crt",
    // openSUSE
    "/etc/ssl/ca-bundle.pem",
    // OpenELEC
    "/etc/pki/tls/cacert.pem",
    // Alpine and the BSD layout
    "/etc/ssl/cert.pem",
];

/// The largest CA store a run is given (the engine refuses a larger file): Debian's, with
/// every Mozilla root, is about 220 KB. The run's root has room for it.
pub const CA_STORE_MAX_BYTES: u64 = 4 * 1024 * 1024;

/// The dynamic loader's cache, shown read-only at the same path when the host has one.
pub const LD_CACHE: &str = "/etc/ld.so.cache";

/// The run's user name when the caller's is unknown or cannot be written into `passwd`.
const DEFAULT_USER: &str = "aegisclaw";

/// `nsswitch.conf`: users and groups from the files above, hosts from `hosts` then DNS.
const NSSWITCH: &str = "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n";

/// The user name the run's `passwd` gives uid 0: the caller's when it is a portable name
/// (`[A-Za-z0-9_][A-Za-z0-9._-]{0,31}`), else [`DEFAULT_USER`].
pub(super) fn user_name(facts: &HostFacts) -> &str {
    match facts.user_name.as_deref() {
        Some(name)
            if !name.is_empty()
                && name.len() <= 32
                && !name.starts_with(['-', '.'])
                && name
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || b"._-".contains(&byte)) =>
        {
            name
        }
        _ => DEFAULT_USER,
    }
}

/// The mount ops of the synthetic `/etc`, in order.
pub(super) fn mounts(spec: &RunSpec, facts: &HostFacts) -> Vec<MountOp> {
    let name = user_name(facts);
    let file = |path: &str, contents: String| MountOp::File {
        target: PathBuf::from(path),
        contents,
    };
    let mut mounts = vec![
        // Home `/tmp` (the run's private one, and its `HOME`), shell `/bin/sh`.
        file("/etc/passwd", format!("{name}:x:0:0:{name}:/tmp:/bin/sh\n")),
        file("/etc/group", format!("{name}:x:0:\n")),
        file(
            "/etc/hosts",
            format!(
                "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\t{}\n",
                spec.hostname
            ),
        ),
        file("/etc/nsswitch.conf", NSSWITCH.to_string()),
    ];
    if let Some(zone) = &facts.localtime {
        mounts.push(MountOp::Symlink {
            points_to: zone.clone(),
            link: PathBuf::from("/etc/localtime"),
        });
    }
    // The CA store: the certificates the caller checked, written on the run's own root (made
    // read-only with it), so what the run reads is exactly what was checked and recorded; or
    // a store only root can change, bound read-only. None: TLS verification fails, closed.
    if let Some(store) = &spec.ca_store {
        mounts.push(match store {
            CaStoreSpec::Certificates(certificates) => file(CA_BUNDLE_TARGET, certificates.clone()),
            // Only root can change it or swap it: bound by name, read-only.
            CaStoreSpec::RootOwned(source) => MountOp::Bind {
                source: source.clone(),
                target: PathBuf::from(CA_BUNDLE_TARGET),
                kind: PathKind::File,
                flags: MountFlags::READ_ONLY,
            },
        });
        if let Some(own) = &facts.distribution_ca_bundle
            && own != Path::new(CA_BUNDLE_TARGET)
        {
            mounts.push(MountOp::Symlink {
                points_to: PathBuf::from(CA_BUNDLE_TARGET),
                link: own.clone(),
            });
        }
    }
    // The loader's cache: a list of the library paths under `/usr` that the run sees anyway
    // (no secret), without which every dynamically linked program probes each hwcaps and
    // tls directory for each library it loads.
    if let Some(cache) = &facts.ld_cache {
        mounts.push(MountOp::Bind {
            source: cache.clone(),
            target: PathBuf::from(LD_CACHE),
            kind: PathKind::File,
            flags: MountFlags::READ_ONLY,
        });
    }
    mounts
}
