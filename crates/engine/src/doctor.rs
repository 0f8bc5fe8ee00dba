//! `aegisclaw doctor` (seed §4.4): health checks as data, each a name, whether a failure is
//! fatal, a check function over a gathered [`DoctorInput`], and a fix. Reads the home and asks
//! the sandbox crate to probe the kernel; never writes the home and never runs a skill.

mod home;
mod host;

use home::{
    check_audit, check_config, check_home, check_lockdown, check_permissions, check_policy,
    check_secrets, check_signing_key, check_skills, check_trust,
};

use aegisclaw_core::config::{Config, ConfigError};
use aegisclaw_core::env;
use aegisclaw_core::home::Home;
use aegisclaw_sandbox::probe::{self, Probes, Runtimes};
use serde::Serialize;

/// Everything the checks look at, gathered once so that checks are plain functions.
#[derive(Debug)]
pub struct DoctorInput {
    /// The resolved home (it may not exist).
    pub home: Home,
    /// `config.yaml`, loaded and validated; a broken config is a failed check, not a crash.
    pub config: Result<Config, ConfigError>,
    /// The measured native sandbox layers.
    pub probes: Probes,
    /// The optional runtimes found.
    pub runtimes: Runtimes,
    /// `OPENCLAW_ENDPOINT`, if set.
    pub openclaw_endpoint: Option<String>,
}

impl DoctorInput {
    /// Loads the config, probes the kernel and looks for runtimes.
    pub fn gather(home: Home) -> Self {
        let config = Config::load(&home);
        Self {
            home,
            config,
            probes: probe::probe_all(),
            runtimes: probe::detect_runtimes(),
            openclaw_endpoint: env::get_string(env::OPENCLAW_ENDPOINT),
        }
    }
}

/// The verdict of one check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Healthy.
    Pass,
    /// Works, but something optional is missing or weaker than it could be.
    Warn,
    /// Broken; fatal when the check is required.
    Fail,
}

/// What a check function returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The verdict.
    pub status: Status,
    /// What was found, for the line after the dots.
    pub detail: String,
}

impl Outcome {
    /// A passing outcome.
    pub fn pass(detail: impl Into<String>) -> Self {
        Self {
            status: Status::Pass,
            detail: detail.into(),
        }
    }

    /// A warning.
    pub fn warn(detail: impl Into<String>) -> Self {
        Self {
            status: Status::Warn,
            detail: detail.into(),
        }
    }

    /// A failure.
    pub fn fail(detail: impl Into<String>) -> Self {
        Self {
            status: Status::Fail,
            detail: detail.into(),
        }
    }

    /// The warning of a check that needs a home when there is none.
    pub(crate) fn no_home() -> Self {
        Self::warn("not checked: no home")
    }
}

/// One health check.
#[derive(Clone, Copy)]
pub struct Check {
    /// Its name in the report.
    pub name: &'static str,
    /// Whether a failure makes `doctor` exit 1.
    pub required: bool,
    /// The check itself.
    pub run: fn(&DoctorInput) -> Outcome,
    /// What to do when it does not pass.
    pub fix: &'static str,
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Check")
            .field("name", &self.name)
            .field("required", &self.required)
            .finish_non_exhaustive()
    }
}

/// One check's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CheckResult {
    /// The check's name.
    pub name: &'static str,
    /// Its verdict.
    pub status: Status,
    /// What was found.
    pub detail: String,
    /// The fix, when it did not pass.
    pub fix: Option<&'static str>,
    /// Whether a failure is fatal.
    pub required: bool,
}

/// Every check's result and the counts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Results in check order.
    pub results: Vec<CheckResult>,
    /// Checks that passed.
    pub passed: usize,
    /// Checks that warned.
    pub warnings: usize,
    /// Checks that failed.
    pub failures: usize,
}

impl Report {
    /// Whether a required check failed (`doctor` then exits 1).
    pub fn required_failed(&self) -> bool {
        self.results
            .iter()
            .any(|result| result.required && result.status == Status::Fail)
    }
}

/// Runs every check of [`CHECKS`] in order.
pub fn run(input: &DoctorInput) -> Report {
    let results: Vec<CheckResult> = CHECKS
        .iter()
        .map(|check| {
            let outcome = (check.run)(input);
            CheckResult {
                name: check.name,
                // Without a home the only fix that matters is the home check's own.
                fix: (outcome.status != Status::Pass && outcome != Outcome::no_home())
                    .then_some(check.fix),
                status: outcome.status,
                detail: outcome.detail,
                required: check.required,
            }
        })
        .collect();
    let count = |status| results.iter().filter(|r| r.status == status).count();
    Report {
        passed: count(Status::Pass),
        warnings: count(Status::Warn),
        failures: count(Status::Fail),
        results,
    }
}

/// The checks, in report order.
pub static CHECKS: &[Check] = &[
    Check {
        name: "Home directory",
        required: true,
        run: check_home,
        fix: "create one with `aegisclaw init --defaults`",
    },
    Check {
        name: "Home permissions",
        required: true,
        run: check_permissions,
        fix: "run `chmod -R go-rwx` on the home (AegisClaw writes 0700 dirs, 0600 files)",
    },
    Check {
        name: "Configuration",
        required: true,
        run: check_config,
        fix: "fix config.yaml, or rewrite it with `aegisclaw init --defaults --force`",
    },
    Check {
        name: "Policy engine",
        required: true,
        run: check_policy,
        fix: "fix policies/default.rego, or replace it with `aegisclaw policy use <template>`",
    },
    Check {
        name: "Secret store",
        required: false,
        run: check_secrets,
        fix: "run `aegisclaw secrets init`",
    },
    Check {
        name: "Audit log",
        required: true,
        run: check_audit,
        fix: "run `aegisclaw logs verify` and investigate the first bad record",
    },
    Check {
        name: "Lockdown state",
        required: true,
        run: check_lockdown,
        fix: "lift it with `aegisclaw lockdown off` (or keep it with `aegisclaw lockdown on`): either records the change and rewrites the state",
    },
    Check {
        name: "Signing key",
        required: false,
        run: check_signing_key,
        fix: "run `aegisclaw skill keygen`",
    },
    Check {
        name: "Trust store",
        required: true,
        run: check_trust,
        fix: "fix or remove the named file in trust/",
    },
    Check {
        name: "Installed skills",
        required: true,
        run: check_skills,
        fix: "reinstall with `aegisclaw skill install <dir> --force`, or remove it from skills/",
    },
    Check {
        name: "User namespaces",
        required: true,
        run: |input| host::layer(&input.probes.user_namespaces),
        fix: "allow unprivileged user namespaces (`user.max_user_namespaces` > 0; no AppArmor or container policy blocking them)",
    },
    Check {
        name: "Mount namespace",
        required: true,
        run: |input| host::layer(&input.probes.mount_namespace),
        fix: host::NAMESPACE_FIX,
    },
    Check {
        name: "PID namespace",
        required: true,
        run: |input| host::layer(&input.probes.pid_namespace),
        fix: host::NAMESPACE_FIX,
    },
    Check {
        name: "Network namespace",
        required: true,
        run: |input| host::layer(&input.probes.net_namespace),
        fix: host::NAMESPACE_FIX,
    },
    Check {
        name: "IPC namespace",
        required: true,
        run: |input| host::layer(&input.probes.ipc_namespace),
        fix: host::NAMESPACE_FIX,
    },
    Check {
        name: "UTS namespace",
        required: true,
        run: |input| host::layer(&input.probes.uts_namespace),
        fix: host::NAMESPACE_FIX,
    },
    Check {
        name: "Cgroup namespace",
        required: false,
        run: |input| host::optional_layer(&input.probes.cgroup_namespace),
        fix: host::NAMESPACE_FIX,
    },
    Check {
        name: "Landlock",
        required: true,
        run: |input| host::layer(&input.probes.landlock),
        fix: "boot Linux >= 5.13 with CONFIG_SECURITY_LANDLOCK=y and `landlock` in `lsm=`",
    },
    Check {
        name: "Seccomp filter",
        required: true,
        run: |input| host::layer(&input.probes.seccomp),
        fix: "use a kernel with CONFIG_SECCOMP_FILTER=y, outside a container that forbids it",
    },
    Check {
        name: "No new privileges",
        required: true,
        run: |input| host::layer(&input.probes.no_new_privs),
        fix: "use Linux >= 3.5",
    },
    Check {
        name: "Cgroup limits",
        required: false,
        run: host::check_cgroups,
        fix: "delegate a cgroup v2 subtree with memory and pids (`systemd-run --user -p Delegate=yes`), or give write access to the v1 memory and pids hierarchies",
    },
    Check {
        name: "CA bundle",
        required: true,
        run: host::check_ca_bundle,
        fix: "point `sandbox.ca_bundle` in config.yaml at a PEM file of CA certificates (or install the distribution's `ca-certificates`)",
    },
    Check {
        name: "Docker engine",
        required: false,
        run: |input| host::runtime(&input.runtimes.docker),
        fix: "optional: https://docs.docker.com/engine/install/",
    },
    Check {
        name: "gVisor runtime",
        required: false,
        run: |input| host::runtime(&input.runtimes.gvisor),
        fix: "optional: https://gvisor.dev/docs/user_guide/install/",
    },
    Check {
        name: "Kata Containers",
        required: false,
        run: host::check_kata,
        fix: "optional: https://katacontainers.io/docs/ (needs /dev/kvm)",
    },
    Check {
        name: "Firecracker + KVM",
        required: false,
        run: host::check_firecracker,
        fix: "optional: https://github.com/firecracker-microvm/firecracker (needs /dev/kvm)",
    },
    Check {
        name: "OpenClaw adapter",
        required: false,
        run: host::check_openclaw,
        fix: "configure adapters/openclaw.yaml in the home, or set OPENCLAW_ENDPOINT",
    },
    Check {
        name: "Disk space",
        required: true,
        run: host::check_disk,
        fix: "free up space on the filesystem holding the home",
    },
];

/// An error and its causes on one line (for audit reasons and one-line reports).
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
