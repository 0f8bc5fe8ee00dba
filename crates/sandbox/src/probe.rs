//! Measures which sandbox layers this kernel really provides (each tried in a forked child, so
//! the calling process keeps its namespaces and filters) and which optional runtimes are
//! installed. Reports facts only; deciding what they mean is `doctor`'s and `posture`'s job.

use serde::Serialize;
use std::io::{self, Read as _, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long an optional runtime's `--version` or the docker socket may take to answer.
const RUNTIME_TIMEOUT: Duration = Duration::from_secs(2);
/// The docker engine's default socket.
const DOCKER_SOCKET: &str = "/var/run/docker.sock";

/// One measured sandbox layer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Layer {
    /// Whether the layer worked when tried.
    pub available: bool,
    /// What was tried and what happened (the errno text when it failed).
    pub detail: String,
}

impl Layer {
    /// A layer that worked.
    pub fn yes(detail: impl Into<String>) -> Self {
        Self {
            available: true,
            detail: detail.into(),
        }
    }

    /// A layer that did not work, and why.
    pub fn no(detail: impl Into<String>) -> Self {
        Self {
            available: false,
            detail: detail.into(),
        }
    }

    /// The result on a platform without the native sandbox.
    pub fn unsupported() -> Self {
        Self::no("not supported on this platform (Linux only)")
    }
}

/// Which cgroup hierarchies are mounted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CgroupVersion {
    /// Only v1 controller hierarchies.
    V1,
    /// Only the unified v2 hierarchy.
    V2,
    /// Both: v1 controllers plus a v2 mount (often with few or no controllers).
    Hybrid,
    /// No cgroup filesystem is mounted (or not Linux).
    None,
}

/// Whether this process can create cgroups with resource limits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CgroupSupport {
    /// The mounted layout, from `/proc/self/mountinfo`.
    pub version: CgroupVersion,
    /// A child cgroup with a memory limit file could be created (and was removed).
    pub memory: bool,
    /// Likewise for the pids limit.
    pub pids: bool,
    /// Likewise for the CPU quota.
    pub cpu: bool,
    /// Where each controller is mounted and which hierarchy gives the writable limits.
    pub detail: String,
}

/// Every native sandbox layer, measured.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Probes {
    /// An unprivileged user namespace with this user mapped to root inside.
    pub user_namespaces: Layer,
    /// A mount namespace (inside the user namespace), with `/` made private.
    pub mount_namespace: Layer,
    /// A pid namespace.
    pub pid_namespace: Layer,
    /// A network namespace.
    pub net_namespace: Layer,
    /// An IPC namespace.
    pub ipc_namespace: Layer,
    /// A UTS namespace.
    pub uts_namespace: Layer,
    /// A cgroup namespace.
    pub cgroup_namespace: Layer,
    /// A Landlock ruleset created and enforced.
    pub landlock: Layer,
    /// The Landlock ABI version the kernel reports.
    pub landlock_abi: Option<u32>,
    /// A seccomp BPF filter installed (`PR_GET_SECCOMP` reads back 2).
    pub seccomp: Layer,
    /// `PR_SET_NO_NEW_PRIVS` set and read back.
    pub no_new_privs: Layer,
    /// Cgroup layout and writable limits.
    pub cgroups: CgroupSupport,
}

impl Probes {
    /// Every layer reported unavailable, for platforms without the native sandbox.
    pub fn unsupported() -> Self {
        Self {
            user_namespaces: Layer::unsupported(),
            mount_namespace: Layer::unsupported(),
            pid_namespace: Layer::unsupported(),
            net_namespace: Layer::unsupported(),
            ipc_namespace: Layer::unsupported(),
            uts_namespace: Layer::unsupported(),
            cgroup_namespace: Layer::unsupported(),
            landlock: Layer::unsupported(),
            landlock_abi: None,
            seccomp: Layer::unsupported(),
            no_new_privs: Layer::unsupported(),
            cgroups: CgroupSupport {
                version: CgroupVersion::None,
                memory: false,
                pids: false,
                cpu: false,
                detail: "not supported on this platform (Linux only)".to_string(),
            },
        }
    }

    /// The layers the native runtime cannot run without, by name, in a fixed order.
    pub fn native_required(&self) -> [(&'static str, &Layer); 9] {
        [
            ("user namespaces", &self.user_namespaces),
            ("mount namespace", &self.mount_namespace),
            ("pid namespace", &self.pid_namespace),
            ("network namespace", &self.net_namespace),
            ("ipc namespace", &self.ipc_namespace),
            ("uts namespace", &self.uts_namespace),
            ("landlock", &self.landlock),
            ("seccomp", &self.seccomp),
            ("no_new_privs", &self.no_new_privs),
        ]
    }

    /// Names of the required native layers that are not available.
    pub fn native_missing(&self) -> Vec<&'static str> {
        self.native_required()
            .into_iter()
            .filter(|(_, layer)| !layer.available)
            .map(|(name, _)| name)
            .collect()
    }
}

/// Measures every native sandbox layer. Each syscall probe runs in a forked child that exits
/// straight after; cgroup probe directories are removed before this returns.
pub fn probe_all() -> Probes {
    #[cfg(target_os = "linux")]
    {
        crate::linux::probe::probe_all()
    }
    #[cfg(not(target_os = "linux"))]
    {
        Probes::unsupported()
    }
}

/// Free bytes for an unprivileged user on the filesystem holding `path` (`statvfs`).
pub fn free_bytes(path: &Path) -> io::Result<u64> {
    #[cfg(target_os = "linux")]
    {
        crate::linux::probe::free_bytes(path)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = path;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "free space is only measured on Linux",
        ))
    }
}

/// An optional runtime: whether it is usable, and its version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuntimeInfo {
    /// Installed (binaries) or answering (the docker engine).
    pub available: bool,
    /// First line of its version output, when it has one.
    pub version: Option<String>,
    /// What was checked and what was found.
    pub detail: String,
}

/// Which virtualisation `/dev/kvm` offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KvmKind {
    /// Intel VT-x.
    Vmx,
    /// AMD-V.
    Svm,
    /// PVM (KVM without hardware virtualisation): only PVM-enabled guest kernels boot.
    Pvm,
    /// `/dev/kvm` exists but the flavour is not recognised.
    Unknown,
    /// No `/dev/kvm`.
    Absent,
}

/// `/dev/kvm` as found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KvmSupport {
    /// `/dev/kvm` exists.
    pub present: bool,
    /// This process could open it read-write.
    pub openable: bool,
    /// Its flavour.
    pub kind: KvmKind,
    /// What was found, for humans.
    pub detail: String,
}

/// The optional runtimes DESIGN §8 lets `init` offer when found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Runtimes {
    /// A docker engine answering `GET /_ping` on its socket.
    pub docker: RuntimeInfo,
    /// gVisor's `runsc` on `PATH`.
    pub gvisor: RuntimeInfo,
    /// `kata-runtime` on `PATH`.
    pub kata: RuntimeInfo,
    /// `firecracker` on `PATH`.
    pub firecracker: RuntimeInfo,
    /// `/dev/kvm`, which kata and firecracker need.
    pub kvm: KvmSupport,
}

/// Finds the optional runtimes without any sandbox syscalls: pings the docker socket, runs
/// `<binary> --version` with a timeout, and looks at `/dev/kvm`.
pub fn detect_runtimes() -> Runtimes {
    Runtimes {
        docker: docker_engine(Path::new(DOCKER_SOCKET)),
        gvisor: binary_version("runsc"),
        kata: binary_version("kata-runtime"),
        firecracker: binary_version("firecracker"),
        kvm: kvm(),
    }
}

/// Pings a docker engine on `socket`: `GET /_ping` must answer `OK`.
pub fn docker_engine(socket: &Path) -> RuntimeInfo {
    let absent = |detail: String| RuntimeInfo {
        available: false,
        version: None,
        detail,
    };
    if !socket.exists() {
        return absent(format!("no engine socket at `{}`", socket.display()));
    }
    let answer = (|| -> io::Result<String> {
        let mut stream = std::os::unix::net::UnixStream::connect(socket)?;
        stream.set_read_timeout(Some(RUNTIME_TIMEOUT))?;
        stream.set_write_timeout(Some(RUNTIME_TIMEOUT))?;
        stream.write_all(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")?;
        let mut reply = Vec::new();
        stream.take(64 * 1024).read_to_end(&mut reply)?;
        Ok(String::from_utf8_lossy(&reply).into_owned())
    })();
    match answer {
        Ok(reply) if reply.trim_end().ends_with("OK") => {
            let version = reply
                .lines()
                .find_map(|line| line.strip_prefix("Api-Version: "))
                .map(|api| format!("API {}", api.trim()));
            RuntimeInfo {
                available: true,
                detail: format!("engine answering on `{}`", socket.display()),
                version,
            }
        }
        Ok(reply) => absent(format!(
            "`{}` answered `{}` instead of `OK`",
            socket.display(),
            reply.lines().next().unwrap_or("").trim()
        )),
        Err(error) => absent(format!(
            "engine not answering on `{}`: {error}",
            socket.display()
        )),
    }
}

/// Runs `<name> --version` (found through `PATH`) with a timeout.
fn binary_version(name: &str) -> RuntimeInfo {
    let not_found = |detail: String| RuntimeInfo {
        available: false,
        version: None,
        detail,
    };
    let child = Command::new(name)
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return not_found(format!("`{name}` not found on PATH"));
        }
        // execvp reports EACCES when some PATH entry was not searchable and nothing was found.
        Err(error) if error.kind() == io::ErrorKind::PermissionDenied => {
            return not_found(format!(
                "`{name}` not found on PATH (or not executable by this user)"
            ));
        }
        Err(error) => return not_found(format!("cannot run `{name} --version`: {error}")),
    };
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if started.elapsed() < RUNTIME_TIMEOUT => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                break Err(format!(
                    "`{name} --version` did not finish within {}s",
                    RUNTIME_TIMEOUT.as_secs()
                ));
            }
            Err(error) => break Err(format!("waiting for `{name} --version`: {error}")),
        }
    };
    let mut output = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        let _ = stdout.read_to_string(&mut output);
    }
    match status {
        Ok(status) => {
            let version = output.lines().next().map(|line| line.trim().to_string());
            RuntimeInfo {
                available: true,
                detail: match status.code() {
                    Some(0) => format!("`{name}` found"),
                    _ => format!("`{name}` found; `--version` exited with {status}"),
                },
                version: version.filter(|line| !line.is_empty()),
            }
        }
        Err(detail) => RuntimeInfo {
            available: true,
            version: None,
            detail,
        },
    }
}

/// Looks at `/dev/kvm` and decides whether it is hardware KVM or PVM.
fn kvm() -> KvmSupport {
    let device = Path::new("/dev/kvm");
    if !device.exists() {
        return KvmSupport {
            present: false,
            openable: false,
            kind: KvmKind::Absent,
            detail: "no `/dev/kvm`".to_string(),
        };
    }
    let openable = fs_err::OpenOptions::new()
        .read(true)
        .write(true)
        .open(device)
        .is_ok();
    let cpuinfo = fs_err::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let kind = kvm_kind(Path::new("/sys/module/kvm_pvm").exists(), &cpuinfo);
    let access = if openable {
        "openable"
    } else {
        "not openable by this user"
    };
    let detail = match kind {
        KvmKind::Pvm => {
            format!("`/dev/kvm` {access}; PVM (no vmx/svm): only PVM-enabled guest kernels boot")
        }
        KvmKind::Vmx => format!("`/dev/kvm` {access}; Intel VT-x"),
        KvmKind::Svm => format!("`/dev/kvm` {access}; AMD-V"),
        KvmKind::Unknown | KvmKind::Absent => {
            format!("`/dev/kvm` {access}; flavour unknown (no vmx/svm flag, no kvm_pvm module)")
        }
    };
    KvmSupport {
        present: true,
        openable,
        kind,
        detail,
    }
}

/// Hardware flags win; otherwise a loaded `kvm_pvm` module means PVM.
fn kvm_kind(pvm_module: bool, cpuinfo: &str) -> KvmKind {
    let has_flag = |flag: &str| {
        cpuinfo
            .lines()
            .filter(|line| line.starts_with("flags"))
            .any(|line| line.split_whitespace().any(|word| word == flag))
    };
    if has_flag("vmx") {
        KvmKind::Vmx
    } else if has_flag("svm") {
        KvmKind::Svm
    } else if pvm_module {
        KvmKind::Pvm
    } else {
        KvmKind::Unknown
    }
}

#[cfg(test)]
mod tests;
