//! What `init` tells the user about this machine before asking: which native sandbox layers the
//! kernel really provides (measured by the sandbox crate's probes), which optional runtimes are
//! installed, and whether an OpenClaw endpoint is configured. Describes; decides nothing.

use crate::wizard::RuntimeChoice;
use aegisclaw_core::config::RuntimeKind;
use aegisclaw_core::env;
use aegisclaw_sandbox::probe::{self, KvmKind, Probes, RuntimeInfo, Runtimes};
use serde::Serialize;

/// The detected environment.
#[derive(Debug, Serialize)]
pub(crate) struct Environment {
    probes: Probes,
    runtimes: Runtimes,
    openclaw_endpoint: Option<String>,
}

/// Measures the machine (probes run in forked children; tens of milliseconds).
pub(crate) fn detect() -> Environment {
    Environment {
        probes: probe::probe_all(),
        runtimes: probe::detect_runtimes(),
        openclaw_endpoint: env::get_string(env::OPENCLAW_ENDPOINT),
    }
}

impl Environment {
    /// Whether every layer the native runtime needs is available.
    pub(crate) fn native_usable(&self) -> bool {
        self.probes.native_missing().is_empty()
    }

    /// Every runtime, with why it cannot be chosen. Only `native` is implemented so far; the
    /// others are listed with the reason so the wizard can say why it does not offer them.
    pub(crate) fn runtime_choices(&self) -> Vec<RuntimeChoice> {
        let native = if self.native_usable() {
            None
        } else {
            Some(format!(
                "missing {}",
                self.probes.native_missing().join(", ")
            ))
        };
        let later = |info: &RuntimeInfo| {
            Some(if info.available {
                "installed, but AegisClaw's adapter for it has not landed yet".to_string()
            } else {
                info.detail.clone()
            })
        };
        vec![
            RuntimeChoice {
                runtime: RuntimeKind::Native,
                unavailable: native,
            },
            RuntimeChoice {
                runtime: RuntimeKind::Docker,
                unavailable: later(&self.runtimes.docker),
            },
            RuntimeChoice {
                runtime: RuntimeKind::Gvisor,
                unavailable: later(&self.runtimes.gvisor),
            },
            RuntimeChoice {
                runtime: RuntimeKind::Kata,
                unavailable: later(&self.runtimes.kata),
            },
            RuntimeChoice {
                runtime: RuntimeKind::Firecracker,
                unavailable: later(&self.runtimes.firecracker),
            },
        ]
    }

    /// One line per fact, marked `ok` or `--` (no colour or emoji needed to read it).
    pub(crate) fn lines(&self) -> Vec<String> {
        let mark = |ok: bool| if ok { "ok" } else { "--" };
        let mut lines = Vec::new();
        for (name, layer) in self.probes.native_required() {
            lines.push(format!(
                "{} {name}: {}",
                mark(layer.available),
                layer.detail
            ));
        }
        let cgroups = &self.probes.cgroups;
        lines.push(format!(
            "{} cgroup limits: {}",
            mark(cgroups.memory && cgroups.pids),
            cgroups.detail
        ));
        for (name, info) in [
            ("Docker engine", &self.runtimes.docker),
            ("gVisor (runsc)", &self.runtimes.gvisor),
            ("Kata Containers", &self.runtimes.kata),
            ("Firecracker", &self.runtimes.firecracker),
        ] {
            let version = info
                .version
                .as_deref()
                .map(|v| format!(" ({v})"))
                .unwrap_or_default();
            lines.push(format!(
                "{} {name}: {}{version}",
                mark(info.available),
                info.detail
            ));
        }
        let kvm = &self.runtimes.kvm;
        let usable_kvm = kvm.openable && matches!(kvm.kind, KvmKind::Vmx | KvmKind::Svm);
        lines.push(format!("{} /dev/kvm: {}", mark(usable_kvm), kvm.detail));
        lines.push(match &self.openclaw_endpoint {
            Some(endpoint) => format!("ok OpenClaw endpoint: {endpoint}"),
            None => format!(
                "-- OpenClaw: not configured (`{}` is not set)",
                env::OPENCLAW_ENDPOINT
            ),
        });
        lines
    }
}
