//! Rates a parsed scope's risk with reasons, from the reviewed tables in
//! `data/scope-risk.yaml` and `data/sensitive-paths.yaml`. Lexical only: resolves no symlinks
//! and no names. A broken table is a typed error (rated critical), never a panic.

use super::net::Cidr;
use super::parse::normalise_path;
use super::{Host, HostPattern, Rating, Risk, ScopeContext, ScopeError, ScopeKind, Target};
use serde::Deserialize;
use std::net::IpAddr;
use std::sync::LazyLock;

const SENSITIVE_PATHS_YAML: &str = include_str!("../../data/sensitive-paths.yaml");
const SCOPE_RISK_YAML: &str = include_str!("../../data/scope-risk.yaml");

/// Contained sensitive paths listed in a reason before the rest are only counted.
const SHOWN_CONTAINED: usize = 3;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SensitiveFile {
    paths: Vec<SensitivePath>,
    names: Vec<SensitiveName>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SensitivePath {
    path: String,
    #[serde(default)]
    covers: Covers,
    #[serde(default)]
    access: Access,
    reason: String,
}

#[derive(Deserialize, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Covers {
    Itself,
    Children,
    #[default]
    Tree,
}

#[derive(Deserialize, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Access {
    #[default]
    Any,
    Write,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SensitiveName {
    name: String,
    reason: String,
}

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
    sensitive: SensitiveFile,
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
        let sensitive: SensitiveFile = serde_saphyr::from_str(sensitive)
            .map_err(|error| format!("`sensitive-paths.yaml`: {error}"))?;
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

    /// Every entry has a reason and a well-formed key; every kind has a default either way.
    fn validate(&self) -> Result<(), String> {
        let mut reasons: Vec<(&str, String, &str)> = Vec::new();
        for entry in &self.sensitive.paths {
            let path = entry.path.as_str();
            let well_formed = match path {
                "~" | "$AEGISCLAW_HOME" => true,
                _ => {
                    let absolute = path.strip_prefix('~').unwrap_or(path);
                    normalise_path(absolute).is_ok_and(|normal| normal == absolute)
                }
            };
            if !well_formed {
                return Err(format!(
                    "`sensitive-paths.yaml`: path `{path}` is not normalised"
                ));
            }
            reasons.push(("sensitive-paths.yaml", entry.path.clone(), &entry.reason));
        }
        for entry in &self.sensitive.names {
            if normalise_path(&format!("/{}", entry.name)).ok() != Some(format!("/{}", entry.name))
            {
                return Err(format!(
                    "`sensitive-paths.yaml`: name `{}` is not a normalised relative path",
                    entry.name
                ));
            }
            reasons.push(("sensitive-paths.yaml", entry.name.clone(), &entry.reason));
        }
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
            Target::Path(path) => self.path_reasons(kind, &path.to_string_lossy(), context),
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

    /// Why `path` (absolute, normalised) is sensitive for `kind`: what it is or is inside
    /// first; only when it is neither, the sensitive paths it contains.
    fn path_reasons(
        &self,
        kind: ScopeKind,
        path: &str,
        context: &ScopeContext,
    ) -> Vec<(Risk, String)> {
        let user_home = match home_text(context.user_home.as_deref()) {
            Ok(home) => home,
            Err(problem) => return vec![(Risk::Critical, format!("user home {problem}"))],
        };
        let aegisclaw_home = match home_text(context.aegisclaw_home.as_deref()) {
            Ok(home) => home,
            Err(problem) => return vec![(Risk::Critical, format!("AegisClaw home {problem}"))],
        };
        let mut direct = Vec::new();
        let mut contained = Vec::new();
        for entry in &self.sensitive.paths {
            if entry.access == Access::Write && kind != ScopeKind::FilesWrite {
                continue;
            }
            let expanded = match entry.path.as_str() {
                "$AEGISCLAW_HOME" => aegisclaw_home.clone(),
                "~" => user_home.clone(),
                text => match text.strip_prefix('~') {
                    Some(rest) => user_home.as_ref().map(|home| join(home, rest)),
                    None => Some(text.to_string()),
                },
            };
            let Some(base) = expanded else { continue };
            let shown = if entry.path == base {
                format!("`{base}`")
            } else if entry.path == "$AEGISCLAW_HOME" {
                format!("the AegisClaw home `{base}`")
            } else {
                format!("`{}` (`{base}`)", entry.path)
            };
            let relation = if path == base {
                Some("sensitive path")
            } else if is_inside(path, &base) {
                match entry.covers {
                    Covers::Tree => Some("inside sensitive path"),
                    Covers::Children
                        if !path[base.len()..].trim_start_matches('/').contains('/') =>
                    {
                        Some("inside sensitive path")
                    }
                    Covers::Children | Covers::Itself => None,
                }
            } else {
                None
            };
            match relation {
                Some(relation) => direct.push(format!("{relation} {shown}: {}", entry.reason)),
                None if is_inside(&base, path) => {
                    contained.push(format!("contains sensitive path {shown}: {}", entry.reason));
                }
                None => {}
            }
        }
        if direct.is_empty() {
            let components: Vec<&str> = path.split('/').filter(|part| !part.is_empty()).collect();
            for entry in &self.sensitive.names {
                let name: Vec<&str> = entry.name.split('/').collect();
                if components.windows(name.len()).any(|window| window == name) {
                    direct.push(format!(
                        "inside a `{}` directory: {}",
                        entry.name, entry.reason
                    ));
                }
            }
        }
        let mut reasons = if direct.is_empty() {
            if contained.len() > SHOWN_CONTAINED {
                let more = contained.len() - SHOWN_CONTAINED;
                contained.truncate(SHOWN_CONTAINED);
                contained.push(format!("and {more} more sensitive paths inside it"));
            }
            contained
        } else {
            direct
        };
        reasons.dedup();
        reasons
            .into_iter()
            .map(|reason| (Risk::Critical, reason))
            .collect()
    }
}

/// A context home as normalised text, `None` when not given, or why it is unusable.
fn home_text(home: Option<&std::path::Path>) -> Result<Option<String>, String> {
    let Some(home) = home else { return Ok(None) };
    let text = home
        .to_str()
        .ok_or_else(|| format!("`{}` is not UTF-8", home.display()))?;
    normalise_path(text)
        .map(Some)
        .map_err(|_| format!("`{text}` is not an absolute path without `..`"))
}

/// `home` + `/rest`, where `rest` is empty or starts with `/`.
fn join(home: &str, rest: &str) -> String {
    if home == "/" && !rest.is_empty() {
        rest.to_string()
    } else {
        format!("{home}{rest}")
    }
}

/// Whether normalised `path` lies strictly inside normalised `base`.
fn is_inside(path: &str, base: &str) -> bool {
    path != base
        && (base == "/"
            || path
                .strip_prefix(base)
                .is_some_and(|rest| rest.starts_with('/')))
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn embedded_tables_load_and_every_entry_has_a_reason() {
        // Loading validates every entry: a missing or empty reason fails it.
        let tables = tables().unwrap();
        assert!(tables.sensitive.paths.len() >= 20);
        assert!(
            tables
                .sensitive
                .paths
                .iter()
                .all(|e| !e.reason.trim().is_empty())
        );
        assert!(
            tables
                .sensitive
                .names
                .iter()
                .all(|e| !e.reason.trim().is_empty())
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
    fn an_entry_without_a_reason_is_refused() {
        let missing = "paths:\n  - path: /etc\nnames: []\n";
        let error = Tables::from_yaml(missing, SCOPE_RISK_YAML).err().unwrap();
        assert!(error.contains("sensitive-paths.yaml"), "{error}");
        let empty = "paths:\n  - path: /etc\n    reason: ' '\nnames: []\n";
        assert_eq!(
            Tables::from_yaml(empty, SCOPE_RISK_YAML).err().unwrap(),
            "`sensitive-paths.yaml`: entry `/etc` has no reason"
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
        let unnormalised = "paths:\n  - path: /etc/\n    reason: x\nnames: []\n";
        assert!(Tables::from_yaml(unnormalised, SCOPE_RISK_YAML).is_err());
        let relative = "paths:\n  - path: etc\n    reason: x\nnames: []\n";
        assert!(Tables::from_yaml(relative, SCOPE_RISK_YAML).is_err());
        let risk = SCOPE_RISK_YAML.replace("cidr: 10.0.0.0/8", "cidr: 10.0.0.1/8");
        let error = Tables::from_yaml(SENSITIVE_PATHS_YAML, &risk)
            .err()
            .unwrap();
        assert!(error.contains("host bits"), "{error}");
        let risk = SCOPE_RISK_YAML.replace("  - kind: net.internal\n", "  - kind: net.other\n");
        assert!(Tables::from_yaml(SENSITIVE_PATHS_YAML, &risk).is_err());
    }

    #[test]
    fn inside_is_by_component() {
        assert!(is_inside("/etc/passwd", "/etc"));
        assert!(is_inside("/etc", "/"));
        assert!(!is_inside("/etcetera", "/etc"));
        assert!(!is_inside("/etc", "/etc"));
        assert_eq!(join("/", "/x"), "/x");
        assert_eq!(join("/home/a", "/x"), "/home/a/x");
        assert_eq!(join("/home/a", ""), "/home/a");
    }
}
