//! Parses scopes (`kind[:target]`, DESIGN §3), normalises their targets and rates their risk
//! with reasons. Does not consult policy and does no I/O (no DNS, no symlink resolution).

pub mod address;

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::LazyLock;

/// Errors parsing a scope. Every message contains the whole offending scope text.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ScopeError {
    /// The scope text is empty.
    #[error("empty scope")]
    Empty,
    /// Whitespace or a control character.
    #[error("scope `{text}` contains whitespace or a control character")]
    InvalidCharacter {
        /// The scope text (control characters escaped).
        text: String,
    },
    /// The part before `:` is not a known kind.
    #[error("unknown scope kind in `{text}`: use one of {}", ScopeKind::names())]
    UnknownKind {
        /// The scope text.
        text: String,
    },
    /// A `files.*` path that is not absolute.
    #[error(
        "relative path in scope `{text}`: use an absolute path, `~/...`, or nothing for the working directory"
    )]
    RelativePath {
        /// The scope text.
        text: String,
    },
    /// A `files.*` path with a `..` segment.
    #[error("`..` segment in scope `{text}`: write the path without it")]
    ParentSegment {
        /// The scope text.
        text: String,
    },
    /// `~` used but no home directory is known, or `~user`.
    #[error("cannot expand `~` in scope `{text}`: {problem}")]
    Tilde {
        /// The scope text.
        text: String,
        /// Why.
        problem: &'static str,
    },
    /// `net.outbound:` with nothing after it.
    #[error("empty host in scope `{text}`")]
    EmptyHost {
        /// The scope text.
        text: String,
    },
    /// `net.outbound:*`.
    #[error("bare `*` in scope `{text}` would allow every host: list hosts, or use `*.domain`")]
    BareWildcard {
        /// The scope text.
        text: String,
    },
    /// `*.com` and the like.
    #[error("wildcard in scope `{text}` is too broad: name at least two labels after `*.`")]
    BroadWildcard {
        /// The scope text.
        text: String,
    },
    /// A host that is not a valid name or IP literal.
    #[error("invalid host in scope `{text}`: {problem}")]
    InvalidHost {
        /// The scope text.
        text: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// A port that is not 1–65535.
    #[error("invalid port in scope `{text}`: use 1 to 65535")]
    InvalidPort {
        /// The scope text.
        text: String,
    },
    /// A kind that needs a target got none.
    #[error("scope `{text}` needs a {what}")]
    MissingTarget {
        /// The scope text.
        text: String,
        /// What kind of target.
        what: &'static str,
    },
    /// A command, service or secret name with characters outside its grammar.
    #[error("invalid {what} in scope `{text}`: {grammar}")]
    InvalidName {
        /// The scope text.
        text: String,
        /// What the target is.
        what: &'static str,
        /// The allowed form.
        grammar: &'static str,
    },
    /// The embedded sensitive-path table is broken (a build defect, caught by tests).
    #[error("embedded sensitive-path table is invalid: {problem}")]
    Table {
        /// The parser's message.
        problem: String,
    },
}

/// The kinds of scope (DESIGN §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScopeKind {
    /// Read-only access to a path.
    FilesRead,
    /// Read-write access to a path.
    FilesWrite,
    /// Running a command (any, or one named).
    ShellExec,
    /// Outbound connections through the egress proxy.
    NetOutbound,
    /// A service on the skill's private network.
    NetInternal,
    /// A secret injected for the run.
    SecretsRead,
}

impl ScopeKind {
    /// Every kind, in table order.
    pub const ALL: [ScopeKind; 6] = [
        ScopeKind::FilesRead,
        ScopeKind::FilesWrite,
        ScopeKind::ShellExec,
        ScopeKind::NetOutbound,
        ScopeKind::NetInternal,
        ScopeKind::SecretsRead,
    ];

    /// The dotted name.
    pub fn as_str(self) -> &'static str {
        match self {
            ScopeKind::FilesRead => "files.read",
            ScopeKind::FilesWrite => "files.write",
            ScopeKind::ShellExec => "shell.exec",
            ScopeKind::NetOutbound => "net.outbound",
            ScopeKind::NetInternal => "net.internal",
            ScopeKind::SecretsRead => "secrets.read",
        }
    }

    fn names() -> String {
        Self::ALL
            .iter()
            .map(|kind| format!("`{}`", kind.as_str()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl fmt::Display for ScopeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ScopeKind {
    type Err = ScopeError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
            .ok_or_else(|| ScopeError::UnknownKind {
                text: text.to_string(),
            })
    }
}

impl Serialize for ScopeKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ScopeKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// How risky a scope is, ordered from least to most.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High.
    High,
    /// Critical.
    Critical,
}

impl Risk {
    /// The lowercase name used in policy input.
    pub fn as_str(self) -> &'static str {
        match self {
            Risk::Low => "low",
            Risk::Medium => "medium",
            Risk::High => "high",
            Risk::Critical => "critical",
        }
    }
}

impl fmt::Display for Risk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What parsing and rating need from outside: where `~` and the AegisClaw home are.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScopeContext {
    /// The user's home directory, for `~`.
    pub user_home: Option<PathBuf>,
    /// The AegisClaw home, which is always sensitive.
    pub aegisclaw_home: Option<PathBuf>,
}

/// A host pattern of a `net.outbound` scope.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Host {
    /// A DNS name, lower-cased, without a trailing dot.
    Name(String),
    /// `*.domain`: any subdomain of `domain` (not `domain` itself).
    Wildcard(String),
    /// An IP literal.
    Ip(IpAddr),
}

impl fmt::Display for Host {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Host::Name(name) => f.write_str(name),
            Host::Wildcard(domain) => write!(f, "*.{domain}"),
            Host::Ip(IpAddr::V4(v4)) => write!(f, "{v4}"),
            Host::Ip(IpAddr::V6(v6)) => write!(f, "[{v6}]"),
        }
    }
}

/// What a scope applies to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// `files.*` with no path: the run's working directory.
    WorkDir,
    /// An absolute, normalised path.
    Path(PathBuf),
    /// `shell.exec` without a command: any command.
    AnyCommand,
    /// `shell.exec:<command>`.
    Command(String),
    /// `net.outbound:<host>[:port]`.
    Host {
        /// The host pattern.
        host: Host,
        /// The port, if restricted.
        port: Option<u16>,
    },
    /// `net.internal:<service>`.
    Service(String),
    /// `secrets.read:<name>`.
    Secret(String),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::WorkDir | Target::AnyCommand => Ok(()),
            Target::Path(path) => write!(f, "{}", path.display()),
            Target::Command(name) | Target::Service(name) | Target::Secret(name) => {
                f.write_str(name)
            }
            Target::Host { host, port: None } => write!(f, "{host}"),
            Target::Host {
                host,
                port: Some(port),
            } => write!(f, "{host}:{port}"),
        }
    }
}

/// A parsed, normalised scope.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Scope {
    kind: ScopeKind,
    target: Target,
    raw: String,
}

/// A scope's risk and the reasons for it (never empty).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rating {
    /// The risk.
    pub risk: Risk,
    /// Why, most important first.
    pub reasons: Vec<String>,
}

/// What `aegisclaw scope explain` prints for one scope.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The normalised scope.
    pub scope: String,
    /// The text as given.
    pub input: String,
    /// The kind.
    pub kind: ScopeKind,
    /// The target, described for humans.
    pub target: String,
    /// What the scope grants inside the sandbox.
    pub meaning: String,
    /// The risk.
    pub risk: Risk,
    /// Why.
    pub reasons: Vec<String>,
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.target {
            Target::WorkDir | Target::AnyCommand => write!(f, "{}", self.kind),
            target => write!(f, "{}:{target}", self.kind),
        }
    }
}

impl Scope {
    /// Parses `kind[:target]`, splitting at the first `:`.
    pub fn parse(text: &str, context: &ScopeContext) -> Result<Self, ScopeError> {
        if text.is_empty() {
            return Err(ScopeError::Empty);
        }
        if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ScopeError::InvalidCharacter {
                text: text.escape_default().to_string(),
            });
        }
        let (kind_text, target_text) = text.split_once(':').unwrap_or((text, ""));
        let kind: ScopeKind = kind_text.parse().map_err(|_| ScopeError::UnknownKind {
            text: text.to_string(),
        })?;
        let target = match kind {
            ScopeKind::FilesRead | ScopeKind::FilesWrite => parse_path(text, target_text, context)?,
            ScopeKind::ShellExec => parse_command(text, target_text)?,
            ScopeKind::NetOutbound => parse_host(text, target_text)?,
            ScopeKind::NetInternal => Target::Service(parse_name(
                text,
                target_text,
                "service name",
                "lower-case letters, digits and `-`, starting with a letter or digit, at most 63",
                |c, first| c.is_ascii_lowercase() || c.is_ascii_digit() || (!first && c == '-'),
                63,
            )?),
            ScopeKind::SecretsRead => Target::Secret(parse_name(
                text,
                target_text,
                "secret name",
                "letters, digits and `_`, not starting with a digit, at most 128",
                |c, first| c.is_ascii_alphabetic() || c == '_' || (!first && c.is_ascii_digit()),
                128,
            )?),
        };
        Ok(Self {
            kind,
            target,
            raw: text.to_string(),
        })
    }

    /// The kind.
    pub fn kind(&self) -> ScopeKind {
        self.kind
    }

    /// The normalised target.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The text as given.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The risk and why.
    pub fn rating(&self, context: &ScopeContext) -> Rating {
        let default = |risk: Risk, why: &str| Rating {
            risk,
            reasons: vec![format!("{} {why}", self.kind)],
        };
        match (&self.kind, &self.target) {
            (ScopeKind::FilesRead | ScopeKind::FilesWrite, target) => {
                let base = if self.kind == ScopeKind::FilesRead {
                    default(Risk::Low, "is low risk by default")
                } else {
                    default(Risk::Medium, "is medium risk by default")
                };
                let Target::Path(path) = target else {
                    return base;
                };
                match sensitive_reasons(path, context) {
                    Ok(reasons) if reasons.is_empty() => base,
                    Ok(reasons) => Rating {
                        risk: Risk::Critical,
                        reasons,
                    },
                    Err(error) => Rating {
                        risk: Risk::Critical,
                        reasons: vec![error.to_string()],
                    },
                }
            }
            (_, Target::AnyCommand) => default(Risk::High, "without a command allows any command"),
            (_, Target::Command(_)) => default(Risk::Medium, "of one named command is medium risk"),
            (_, Target::Host { host, .. }) => host_rating(self.kind, host),
            (_, Target::Service(_)) => default(Risk::Low, "reaches only the skill's own services"),
            (_, Target::Secret(_)) => default(Risk::High, "hands a secret value to the skill"),
            (_, Target::WorkDir | Target::Path(_)) => default(Risk::Medium, "is medium risk"),
        }
    }

    /// The explanation `scope explain` prints.
    pub fn explain(&self, context: &ScopeContext) -> Explanation {
        let rating = self.rating(context);
        let (target, meaning) = match &self.target {
            Target::WorkDir => (
                "the run's working directory".to_string(),
                self.mount_meaning("the run's working directory"),
            ),
            Target::Path(path) => (
                path.display().to_string(),
                self.mount_meaning(&format!("`{}`", path.display())),
            ),
            Target::AnyCommand => ("any command".to_string(), "may run any command".to_string()),
            Target::Command(name) => (name.clone(), format!("may run `{name}`")),
            Target::Host {
                host: Host::Wildcard(domain),
                port,
            } => (
                self.target.to_string(),
                format!(
                    "outbound connections to any subdomain of `{domain}`{}, only through the egress proxy",
                    port_words(*port)
                ),
            ),
            Target::Host { host, port } => (
                self.target.to_string(),
                format!(
                    "outbound connections to `{host}`{}, only through the egress proxy",
                    port_words(*port)
                ),
            ),
            Target::Service(name) => (
                name.clone(),
                format!("may reach service `{name}` on the skill's private network"),
            ),
            Target::Secret(name) => (
                name.clone(),
                format!("secret `{name}` injected as an environment variable for this run only"),
            ),
        };
        Explanation {
            scope: self.to_string(),
            input: self.raw.clone(),
            kind: self.kind,
            target,
            meaning,
            risk: rating.risk,
            reasons: rating.reasons,
        }
    }

    fn mount_meaning(&self, what: &str) -> String {
        if self.kind == ScopeKind::FilesRead {
            format!("read-only bind mount of {what}")
        } else {
            format!("read-write bind mount of {what}")
        }
    }
}

fn port_words(port: Option<u16>) -> String {
    port.map_or_else(
        || " on any port".to_string(),
        |port| format!(" on port {port}"),
    )
}

fn host_rating(kind: ScopeKind, host: &Host) -> Rating {
    let critical = |why: String| Rating {
        risk: Risk::Critical,
        reasons: vec![why],
    };
    match host {
        Host::Ip(ip) => match address::non_public_reason(*ip) {
            Some(why) => critical(format!("not a public address: {why}")),
            None => Rating {
                risk: Risk::Medium,
                reasons: vec![format!("{kind} to one public address is medium risk")],
            },
        },
        Host::Name(name) | Host::Wildcard(name) if is_local_name(name) => {
            critical(format!("`{name}` names this machine or a metadata service"))
        }
        Host::Wildcard(domain) => Rating {
            risk: Risk::High,
            reasons: vec![format!("any subdomain of `{domain}` is reachable")],
        },
        Host::Name(_) => Rating {
            risk: Risk::Medium,
            reasons: vec![format!("{kind} to one named host is medium risk")],
        },
    }
}

fn is_local_name(name: &str) -> bool {
    const LOCAL: &[&str] = &[
        "localhost",
        "metadata.google.internal",
        "metadata",
        "instance-data",
    ];
    LOCAL.contains(&name)
        || name.ends_with(".localhost")
        || name.ends_with(".internal")
        || name.ends_with(".local")
}

fn parse_path(text: &str, target: &str, context: &ScopeContext) -> Result<Target, ScopeError> {
    if target.is_empty() {
        return Ok(Target::WorkDir);
    }
    let expanded: PathBuf = if target == "~" || target.starts_with("~/") {
        let home = context.user_home.as_ref().ok_or(ScopeError::Tilde {
            text: text.to_string(),
            problem: "the home directory is not known",
        })?;
        home.join(target.trim_start_matches('~').trim_start_matches('/'))
    } else if target.starts_with('~') {
        return Err(ScopeError::Tilde {
            text: text.to_string(),
            problem: "only `~` and `~/...` are supported",
        });
    } else {
        PathBuf::from(target)
    };
    if !expanded.is_absolute() {
        return Err(ScopeError::RelativePath {
            text: text.to_string(),
        });
    }
    let mut normal = PathBuf::from("/");
    for part in expanded.to_string_lossy().split('/') {
        match part {
            "" | "." => {}
            ".." => {
                return Err(ScopeError::ParentSegment {
                    text: text.to_string(),
                });
            }
            part => normal.push(part),
        }
    }
    Ok(Target::Path(normal))
}

fn parse_command(text: &str, target: &str) -> Result<Target, ScopeError> {
    if target.is_empty() {
        return Ok(Target::AnyCommand);
    }
    if target.starts_with('/') {
        if target.split('/').any(|part| part == "..") {
            return Err(ScopeError::ParentSegment {
                text: text.to_string(),
            });
        }
        return Ok(Target::Command(target.to_string()));
    }
    let name = parse_name(
        text,
        target,
        "command",
        "a command name (letters, digits, `.`, `_`, `+`, `-`) or an absolute path",
        |c, _| c.is_ascii_alphanumeric() || "._+-".contains(c),
        255,
    )?;
    if name.starts_with('.') || name.starts_with('-') {
        return Err(ScopeError::InvalidName {
            text: text.to_string(),
            what: "command",
            grammar: "a command name may not start with `.` or `-`",
        });
    }
    Ok(Target::Command(name))
}

fn parse_name(
    text: &str,
    target: &str,
    what: &'static str,
    grammar: &'static str,
    allowed: impl Fn(char, bool) -> bool,
    max: usize,
) -> Result<String, ScopeError> {
    if target.is_empty() {
        return Err(ScopeError::MissingTarget {
            text: text.to_string(),
            what,
        });
    }
    let valid = target.len() <= max
        && target
            .chars()
            .enumerate()
            .all(|(index, c)| allowed(c, index == 0));
    if !valid {
        return Err(ScopeError::InvalidName {
            text: text.to_string(),
            what,
            grammar,
        });
    }
    Ok(target.to_string())
}

fn parse_host(text: &str, target: &str) -> Result<Target, ScopeError> {
    let invalid = |problem| ScopeError::InvalidHost {
        text: text.to_string(),
        problem,
    };
    if target.is_empty() || (target.starts_with(':') && target.matches(':').count() == 1) {
        return Err(ScopeError::EmptyHost {
            text: text.to_string(),
        });
    }
    if target == "*" || target.starts_with("*:") {
        return Err(ScopeError::BareWildcard {
            text: text.to_string(),
        });
    }
    // Split off the port: `[v6]:port`, `host:port`; a bare v6 literal has no port.
    let (host_text, port_text) = if let Some(rest) = target.strip_prefix('[') {
        let (inside, after) = rest
            .split_once(']')
            .ok_or_else(|| invalid("`[` without a closing `]`"))?;
        match after {
            "" => (inside, None),
            _ => (
                inside,
                Some(
                    after
                        .strip_prefix(':')
                        .ok_or_else(|| invalid("text after `]`"))?,
                ),
            ),
        }
    } else if target.matches(':').count() > 1 {
        (target, None)
    } else {
        match target.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (target, None),
        }
    };
    let port = match port_text {
        None => None,
        Some(port) => {
            let digits = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
            let number = port.parse::<u16>().ok().filter(|port| digits && *port != 0);
            Some(number.ok_or(ScopeError::InvalidPort {
                text: text.to_string(),
            })?)
        }
    };
    if host_text.is_empty() {
        return Err(ScopeError::EmptyHost {
            text: text.to_string(),
        });
    }
    if let Ok(ip) = host_text.parse::<IpAddr>() {
        return Ok(Target::Host {
            host: Host::Ip(ip),
            port,
        });
    }
    if host_text.contains(':') {
        return Err(invalid("an IPv6 address that does not parse"));
    }
    let lower = host_text.trim_end_matches('.').to_ascii_lowercase();
    let (wildcard, name) = match lower.strip_prefix("*.") {
        Some(domain) => (true, domain.to_string()),
        None => (false, lower),
    };
    validate_dns_name(&name).map_err(invalid)?;
    if wildcard {
        if name.split('.').count() < 2 {
            return Err(ScopeError::BroadWildcard {
                text: text.to_string(),
            });
        }
        return Ok(Target::Host {
            host: Host::Wildcard(name),
            port,
        });
    }
    Ok(Target::Host {
        host: Host::Name(name),
        port,
    })
}

fn validate_dns_name(name: &str) -> Result<(), &'static str> {
    if name.is_empty() || name.len() > 253 {
        return Err("a host name must have 1 to 253 characters");
    }
    if name.contains('*') {
        return Err("`*` is only allowed as a leading `*.`");
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err("every label must have 1 to 63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err("a host name may contain only letters, digits, `-` and `.`");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a label may not start or end with `-`");
        }
    }
    // Numeric-only names (`2130706433`, `127.1`, `0x7f.1` is caught above) are alternative IP
    // encodings that resolvers accept: refuse them rather than guess what they reach.
    if name
        .split('.')
        .all(|label| label.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err("a numeric host that is not a dotted IPv4 address");
    }
    if name.split('.').any(|label| label.starts_with("0x")) {
        return Err("a hexadecimal label (an alternative IP encoding)");
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SensitivePath {
    path: String,
    subtree: bool,
    reason: String,
}

static SENSITIVE_PATHS: LazyLock<Result<Vec<SensitivePath>, String>> = LazyLock::new(|| {
    serde_saphyr::from_str(include_str!("../data/sensitive-paths.yaml")).map_err(|e| e.to_string())
});

/// Why `path` is sensitive: empty when it is not.
fn sensitive_reasons(path: &Path, context: &ScopeContext) -> Result<Vec<String>, ScopeError> {
    let table = SENSITIVE_PATHS
        .as_ref()
        .map_err(|problem| ScopeError::Table {
            problem: problem.clone(),
        })?;
    let mut direct = Vec::new();
    let mut contained = Vec::new();
    for entry in table {
        let (base, shown) = match entry.path.as_str() {
            "$AEGISCLAW_HOME" => match &context.aegisclaw_home {
                Some(home) => (home.clone(), "the AegisClaw home".to_string()),
                None => continue,
            },
            "~" => match &context.user_home {
                Some(home) => (home.clone(), "`~`".to_string()),
                None => continue,
            },
            text if text.starts_with("~/") => match &context.user_home {
                Some(home) => (home.join(&text[2..]), format!("`{text}`")),
                None => continue,
            },
            text => (PathBuf::from(text), format!("`{text}`")),
        };
        if path == base || (entry.subtree && path.starts_with(&base)) {
            direct.push(format!("sensitive path {shown}: {}", entry.reason));
        } else if base.starts_with(path) {
            contained.push(format!(
                "contains sensitive path {shown} (`{}`): {}",
                base.display(),
                entry.reason
            ));
        }
    }
    // A path that is itself sensitive says so; one that merely contains sensitive paths
    // names the first three and counts the rest.
    if !direct.is_empty() {
        return Ok(direct);
    }
    const SHOWN: usize = 3;
    if contained.len() > SHOWN {
        let more = contained.len() - SHOWN;
        contained.truncate(SHOWN);
        contained.push(format!("and {more} more sensitive paths inside it"));
    }
    Ok(contained)
}

#[cfg(test)]
mod tests;
