//! Rates a parsed scope's risk with reasons, from the reviewed tables in
//! `data/scope-risk.yaml` and `data/sensitive-paths.yaml` (paths: `risk/path.rs`). Resolves no
//! names and does no I/O but the context's path resolver. A broken table is a typed error
//! (rated critical), never a panic.

mod path;

use super::net::Cidr;
use super::{Host, HostPattern, Rating, Risk, ScopeContext, ScopeError, ScopeKind, Target};
pub use path::SensitiveObject;
use path::SensitiveTable;
use serde::Deserialize;
use std::net::IpAddr;
use std::sync::LazyLock;

const SENSITIVE_PATHS_YAML: &str = include_str!("../../data/sensitive-paths.yaml");
const SCOPE_RISK_YAML: &str = include_str!("../../data/scope-risk.yaml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RiskFile {
    kinds: Vec<KindRisk>,
    commands: Vec<CommandRisk>,
    wildcard: Rule,
    single_label: Rule,
    critical_hosts: Vec<CriticalHost>,
    critical_networks: Vec<CriticalNetwork>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KindRisk {
    kind: ScopeKind,
    #[serde(default)]
    target: TargetClass,
    risk: Risk,
    reason: String,
}

#[derive(Deserialize, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum TargetClass {
    #[default]
    Either,
    Named,
    None,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandRisk {
    names: Vec<String>,
    risk: Risk,
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    risk: Risk,
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CriticalHost {
    name: String,
    #[serde(default)]
    subdomains: bool,
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CriticalNetwork {
    cidr: String,
    reason: String,
}

/// Both tables, parsed and validated once.
pub(super) struct Tables {
    sensitive: SensitiveTable,
    risk: RiskFile,
    networks: Vec<(Cidr, String)>,
}

static TABLES: LazyLock<Result<Tables, String>> =
    LazyLock::new(|| Tables::from_yaml(SENSITIVE_PATHS_YAML, SCOPE_RISK_YAML));

/// The embedded tables, or the typed error saying why they do not load.
pub(super) fn tables() -> Result<&'static Tables, ScopeError> {
    TABLES.as_ref().map_err(|problem| ScopeError::Table {
        problem: problem.clone(),
    })
}

/// The table's paths for `context`, each name also under each of `homes` (see
/// [`SensitiveObject`]). A broken table, or a home that is not an absolute UTF-8 path, is its
/// typed error.
pub fn sensitive_objects(
    context: &ScopeContext,
    homes: &[std::path::PathBuf],
) -> Result<Vec<SensitiveObject>, ScopeError> {
    tables()?
        .sensitive
        .objects(context, homes)
        .map_err(|problem| ScopeError::Context { problem })
}

/// How a mount of type `fstype` (as `/proc/self/mountinfo` names it: `proc`, `fuse.sshfs`) is
/// rated wherever it is mounted, at or inside a path scope: its risk and why; `None` when its
/// type says nothing. A broken table is its typed error.
pub fn filesystem_rating(fstype: &str) -> Result<Option<(Risk, String)>, ScopeError> {
    Ok(tables()?
        .sensitive
        .filesystem(fstype)
        .map(|(risk, reason)| (risk, reason.to_string())))
}

/// Rates a parsed target. Fails closed: a broken table rates critical with the error as reason.
pub(super) fn rate(kind: ScopeKind, target: &Target, context: &ScopeContext) -> Rating {
    match tables() {
        Ok(tables) => tables.rate(kind, target, context),
        Err(error) => Rating {
            risk: Risk::Critical,
            reasons: vec![error.to_string()],
        },
    }
}

impl Tables {
    fn from_yaml(sensitive: &str, risk: &str) -> Result<Self, String> {
        let sensitive = SensitiveTable::from_yaml(sensitive)?;
        let risk: RiskFile =
            serde_saphyr::from_str(risk).map_err(|error| format!("`scope-risk.yaml`: {error}"))?;
        let networks = risk
            .critical_networks
            .iter()
            .map(|entry| Ok((entry.cidr.parse::<Cidr>()?, entry.reason.clone())))
            .collect::<Result<Vec<_>, String>>()
            .map_err(|error| format!("`scope-risk.yaml`: {error}"))?;
        let tables = Self {
            sensitive,
            risk,
            networks,
        };
        tables.validate()?;
        Ok(tables)
    }

    /// Every entry has a reason; every kind has a default either way. (`SensitiveTable`
    /// checks its own file.)
    fn validate(&self) -> Result<(), String> {
        let mut reasons: Vec<(&str, String, &str)> = Vec::new();
        for entry in &self.risk.kinds {
            reasons.push(("scope-risk.yaml", entry.kind.to_string(), &entry.reason));
        }
        for kind in ScopeKind::ALL {
            for named in [false, true] {
                if self.kind_default(kind, named).is_none() {
                    return Err(format!(
                        "`scope-risk.yaml`: no default risk for `{kind}` (named: {named})"
                    ));
                }
            }
        }
        for entry in &self.risk.commands {
            reasons.push(("scope-risk.yaml", entry.names.join(","), &entry.reason));
        }
        reasons.push((
            "scope-risk.yaml",
            "wildcard".into(),
            &self.risk.wildcard.reason,
        ));
        reasons.push((
            "scope-risk.yaml",
            "single_label".into(),
            &self.risk.single_label.reason,
        ));
        for entry in &self.risk.critical_hosts {
            reasons.push(("scope-risk.yaml", entry.name.clone(), &entry.reason));
        }
        for entry in &self.risk.critical_networks {
            reasons.push(("scope-risk.yaml", entry.cidr.clone(), &entry.reason));
        }
        match reasons
            .iter()
            .find(|(_, _, reason)| reason.trim().is_empty())
        {
            Some((file, key, _)) => Err(format!("`{file}`: entry `{key}` has no reason")),
            None => Ok(()),
        }
    }

    fn kind_default(&self, kind: ScopeKind, named: bool) -> Option<&KindRisk> {
        self.risk.kinds.iter().find(|entry| {
            entry.kind == kind
                && match entry.target {
                    TargetClass::Either => true,
                    TargetClass::Named => named,
                    TargetClass::None => !named,
                }
        })
    }

    /// The reason of the first critical range holding `address`.
    pub(super) fn network_reason(&self, address: IpAddr) -> Option<&str> {
        self.networks
            .iter()
            .find(|(cidr, _)| cidr.contains(address))
            .map(|(_, reason)| reason.as_str())
    }

    /// Whether `*.domain` may name a single-label domain: only for reserved local names
    /// (`*.localhost`), which are then rated critical rather than refused as too broad.
    pub(super) fn is_critical_suffix(&self, domain: &str) -> bool {
        self.risk
            .critical_hosts
            .iter()
            .any(|entry| entry.subdomains && entry.name == domain)
    }

    fn rate(&self, kind: ScopeKind, target: &Target, context: &ScopeContext) -> Rating {
        let named = !matches!(target, Target::WorkDir | Target::AnyCommand);
        let Some(base) = self.kind_default(kind, named) else {
            // Unreachable after validation; fail closed all the same.
            return Rating {
                risk: Risk::Critical,
                reasons: vec![format!("no default risk for `{kind}`")],
            };
        };
        let raised = match target {
            Target::Path(path) => self
                .sensitive
                .reasons(kind, &path.to_string_lossy(), context),
            Target::Command(command) => self.command_reasons(command),
            Target::Host(pattern) => self.host_reasons(pattern),
            Target::WorkDir | Target::AnyCommand | Target::Service(_) | Target::Secret(_) => {
                Vec::new()
            }
        };
        let risk = raised
            .iter()
            .map(|(risk, _)| *risk)
            .fold(base.risk, Risk::max);
        let mut reasons: Vec<String> = raised.into_iter().map(|(_, reason)| reason).collect();
        reasons.push(base.reason.clone());
        Rating { risk, reasons }
    }

    fn command_reasons(&self, command: &str) -> Vec<(Risk, String)> {
        let name = command.rsplit('/').next().unwrap_or(command);
        self.risk
            .commands
            .iter()
            .filter(|entry| entry.names.iter().any(|listed| listed == name))
            .map(|entry| (entry.risk, format!("`{name}`: {}", entry.reason)))
            .collect()
    }

    fn host_reasons(&self, pattern: &HostPattern) -> Vec<(Risk, String)> {
        let mut raised = Vec::new();
        let (name, wildcard) = match &pattern.host {
            Host::Ip(ip) => {
                match super::net::non_public_reason(*ip) {
                    Ok(Some(reason)) => raised.push((
                        Risk::Critical,
                        format!("`{ip}` is not a public address: {reason}"),
                    )),
                    Ok(None) => {}
                    Err(error) => raised.push((Risk::Critical, error.to_string())),
                }
                return raised;
            }
            Host::Name(name) => (name.as_str(), false),
            Host::Wildcard(domain) => (domain.as_str(), true),
        };
        for entry in &self.risk.critical_hosts {
            let listed = entry.name.as_str();
            let under = |outer: &str, inner: &str| {
                inner
                    .strip_suffix(outer)
                    .is_some_and(|head| head.ends_with('.'))
            };
            let matched = name == listed
                || (entry.subdomains && under(listed, name))
                || (wildcard && under(name, listed));
            if matched {
                raised.push((Risk::Critical, format!("`{listed}`: {}", entry.reason)));
            }
        }
        if wildcard {
            let rule = &self.risk.wildcard;
            raised.push((rule.risk, rule.reason.clone()));
        } else if !name.contains('.') && raised.is_empty() {
            let rule = &self.risk.single_label;
            raised.push((rule.risk, format!("`{name}`: {}", rule.reason)));
        }
        raised
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn embedded_tables_load_and_every_entry_has_a_reason() {
        // Loading validates every entry: a missing or empty reason fails it.
        let tables = tables().unwrap();
        let (paths, names, aliases, sockets) = tables.sensitive.counts();
        assert!(
            paths >= 80 && names >= 150 && aliases >= 1 && sockets >= 30,
            "{paths} {names} {sockets}"
        );
        assert!(
            tables
                .risk
                .kinds
                .iter()
                .all(|e| !e.reason.trim().is_empty())
        );
        assert!(
            tables
                .networks
                .iter()
                .all(|(_, reason)| !reason.trim().is_empty())
        );
    }

    #[test]
    fn kernel_interfaces_and_fuse_are_rated_by_type_and_plain_filesystems_are_not() {
        let risk = |fstype: &str| filesystem_rating(fstype).unwrap().map(|(risk, _)| risk);
        for fstype in [
            "proc",
            "binfmt_misc",
            "debugfs",
            "tracefs",
            "securityfs",
            "bpf",
            "cgroup",
        ] {
            assert_eq!(risk(fstype), Some(Risk::Critical), "{fstype}");
        }
        for fstype in ["fuse", "fuse.sshfs", "fuseblk", "fuseblk.ntfs-3g"] {
            assert_eq!(risk(fstype), Some(Risk::High), "{fstype}");
        }
        for fstype in [
            "ext4", "tmpfs", "overlay", "nsfs", "fuse.", "procfs", "fuseblkx",
        ] {
            assert_eq!(risk(fstype), None, "{fstype}");
        }
        let bad = "aliases: []\npaths: []\nnames: []\nfilesystems:\n  - {type: '*', risk: high, reason: x}\n";
        assert_eq!(
            Tables::from_yaml(bad, SCOPE_RISK_YAML).err().unwrap(),
            "`sensitive-paths.yaml`: filesystem type `*` is not one word (a `*` may only end it)"
        );
        let twice = "aliases: []\npaths: []\nnames: []\nfilesystems:\n  - {type: proc, risk: high, reason: x}\n  - {type: proc, risk: high, reason: y}\n";
        assert_eq!(
            Tables::from_yaml(twice, SCOPE_RISK_YAML).err().unwrap(),
            "`sensitive-paths.yaml`: entry `proc` is listed twice"
        );
    }

    #[test]
    fn an_entry_without_a_reason_is_refused() {
        let missing = "aliases: []\npaths:\n  - path: /etc\nnames: []\n";
        let error = Tables::from_yaml(missing, SCOPE_RISK_YAML).err().unwrap();
        assert!(error.contains("sensitive-paths.yaml"), "{error}");
        let empty = "aliases: []\npaths:\n  - path: /etc\n    reason: ' '\nnames: []\n";
        assert_eq!(
            Tables::from_yaml(empty, SCOPE_RISK_YAML).err().unwrap(),
            "`sensitive-paths.yaml`: entry `/etc` has no reason"
        );
        let name = "aliases: []\npaths: []\nnames:\n  - name: .ssh\n    reason: ''\n";
        assert_eq!(
            Tables::from_yaml(name, SCOPE_RISK_YAML).err().unwrap(),
            "`sensitive-paths.yaml`: entry `.ssh` has no reason"
        );
        let alias =
            "aliases:\n  - {path: /var/run, same_as: /run, reason: ''}\npaths: []\nnames: []\n";
        assert_eq!(
            Tables::from_yaml(alias, SCOPE_RISK_YAML).err().unwrap(),
            "`sensitive-paths.yaml`: entry `/var/run` has no reason"
        );
        let risk = SCOPE_RISK_YAML.replace(
            "reason: the GCP metadata service hands out credentials",
            "reason: ''",
        );
        assert_eq!(
            Tables::from_yaml(SENSITIVE_PATHS_YAML, &risk)
                .err()
                .unwrap(),
            "`scope-risk.yaml`: entry `metadata.google.internal` has no reason"
        );
    }

    #[test]
    fn malformed_tables_are_refused() {
        let table =
            |paths: &str, names: &str| format!("aliases: []\npaths:\n{paths}names:\n{names}");
        let refused = [
            table("  - {path: /etc/, reason: x}\n", "  []\n"),
            table("  - {path: etc, reason: x}\n", "  []\n"),
            table("  - {path: /tmp/*, reason: x}\n", "  []\n"),
            table("  - {path: /tmp/a*b, reason: x}\n", "  []\n"),
            table("  - {path: /t*/a, reason: x}\n", "  []\n"),
            table("  - {path: /etc, reason: x}\n  - {path: /etc, reason: y}\n", "  []\n"),
            table("  []\n", "  - {name: /.ssh, reason: x}\n"),
            table("  []\n", "  - {name: .ssh/, reason: x}\n"),
            table("  []\n", "  - {name: .s*, reason: x}\n"),
            format!("{}sockets:\n  - {{name: a/b.sock, reason: x}}\n", table("  []\n", "  []\n")),
            format!("{}sockets:\n  - {{name: '*', reason: x}}\n", table("  []\n", "  []\n")),
            format!("{}sockets:\n  - {{name: bus, reason: ' '}}\n", table("  []\n", "  []\n")),
            table("  - {path: /etc, covers: some, reason: x}\n", "  []\n"),
            "aliases:\n  - {path: /var/run, same_as: run, reason: x}\npaths: []\nnames: []\n"
                .to_string(),
            // An entry holding an alias's directory would not be translated through it.
            "aliases:\n  - {path: /var/lock, same_as: /run/lock, reason: x}\npaths:\n  - {path: /run, reason: x}\nnames: []\n"
                .to_string(),
        ];
        for text in refused {
            let error = Tables::from_yaml(&text, SCOPE_RISK_YAML).err();
            assert!(
                error
                    .as_deref()
                    .is_some_and(|error| error.starts_with("`sensitive-paths.yaml`: ")),
                "{text}: {error:?}"
            );
        }
        let risk = SCOPE_RISK_YAML.replace("cidr: 10.0.0.0/8", "cidr: 10.0.0.1/8");
        let error = Tables::from_yaml(SENSITIVE_PATHS_YAML, &risk)
            .err()
            .unwrap();
        assert!(error.contains("host bits"), "{error}");
        let risk = SCOPE_RISK_YAML.replace("  - kind: net.internal\n", "  - kind: net.other\n");
        assert!(Tables::from_yaml(SENSITIVE_PATHS_YAML, &risk).is_err());
    }
}
