//! Parses scopes (`kind[:target]`, DESIGN §3), normalises their targets and rates their risk
//! with reasons from reviewed data. Does not consult policy and does no I/O (no DNS; symlinks
//! only through the context's resolver, which the engine passes in to rate the sensitive-path
//! table as the runtime resolves scope paths).
//!
//! Decisions beyond DESIGN §3, each tested:
//! - Whitespace, control and invisible (zero-width, bidi) characters are refused anywhere, so
//!   a path with a space cannot be scoped; scope its parent directory instead.
//! - `shell.exec:<command>` is a bare name (`[A-Za-z0-9._+-]`, not starting with `.` or `-`)
//!   looked up on the sandbox's `PATH`, or an absolute, normalised path to one file.
//! - `net.outbound:*` is refused, as is `*.tld` (one label) and `*.<public suffix>` (`*.co.uk`,
//!   `*.github.io`: the Public Suffix List, compiled in); `*.domain` matches subdomains of
//!   `domain`, not `domain` itself. Names whose last label is numeric (`127.1`) are refused.
//!   Private, loopback and metadata addresses and names parse, and rate critical.

mod net;
mod parse;
mod risk;
mod suffix;

pub use net::non_public_reason;
pub use risk::{SensitiveObject, filesystem_rating, sensitive_objects};

use serde::{Deserialize, Serialize};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::path::PathBuf;
use std::str::FromStr;

/// Errors parsing a scope. Every message about a scope contains its whole text.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone)]
pub enum ScopeError {
    /// The scope text is empty.
    #[error("empty scope")]
    Empty,
    /// The scope text is longer than any real scope.
    #[error("scope of {length} bytes is longer than the limit of {limit}")]
    TooLong {
        /// The text's length in bytes.
        length: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// Whitespace, a control character, or an invisible (zero-width or bidi) character.
    #[error("scope `{text}` contains whitespace or a control or invisible character ({character})")]
    InvalidCharacter {
        /// The scope text, with such characters escaped.
        text: String,
        /// The first offending character as `U+XXXX`.
        character: String,
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
    /// A path with a `..` segment.
    #[error("`..` segment in scope `{text}`: write the path without it")]
    ParentSegment {
        /// The scope text.
        text: String,
    },
    /// `~` used but no usable home directory is known, or `~user`.
    #[error("cannot expand `~` in scope `{text}`: {problem}")]
    Tilde {
        /// The scope text.
        text: String,
        /// Why.
        problem: &'static str,
    },
    /// `net.outbound` with no host.
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
    /// `*.co.uk`, `*.github.io`: a wildcard whose domain is a public suffix.
    #[error(
        "wildcard in scope `{text}` covers the public suffix `{suffix}`, under which anyone can register names: use `*.<your domain>.{suffix}` or list hosts"
    )]
    PublicSuffixWildcard {
        /// The scope text.
        text: String,
        /// The suffix the wildcard would cover.
        suffix: String,
    },
    /// A host that is not a valid name or IP literal.
    #[error("invalid host in scope `{text}`: {problem}")]
    InvalidHost {
        /// The scope text.
        text: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// A port that is not 1 to 65535 in decimal.
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
    /// A command, service or secret name outside its grammar.
    #[error("invalid {what} in scope `{text}`: {grammar}")]
    InvalidName {
        /// The scope text.
        text: String,
        /// What the target is.
        what: &'static str,
        /// The allowed form.
        grammar: &'static str,
    },
    /// A `secrets.read` scope names an environment variable the sandbox sets itself or the
    /// dynamic loader reads (the secret reaches the run as the variable of its name).
    #[error(
        "scope `{text}` cannot be granted: the secret would be the run's `{name}`, and {why}; store it under another name"
    )]
    ReservedSecretName {
        /// The scope text.
        text: String,
        /// The variable.
        name: String,
        /// Why it is not the secret's to set.
        why: &'static str,
    },
    /// A path the context gives (a home, the running binary) is not an absolute UTF-8 path.
    #[error("unusable scope context: {problem}")]
    Context {
        /// Which path and what is wrong.
        problem: String,
    },
    /// An embedded risk table does not load (a build defect that unit tests catch).
    #[error("embedded scope risk table is invalid: {problem}")]
    Table {
        /// Which file and what is wrong.
        problem: String,
    },
}

impl ScopeError {
    /// A suggestion for the user, if one helps (printed as a `hint:` line).
    pub fn hint(&self) -> Option<String> {
        match self {
            ScopeError::UnknownKind { text } => {
                let kind = text.split_once(':').map_or(text.as_str(), |(kind, _)| kind);
                let lower = kind.to_ascii_lowercase();
                let suggestion = match lower.as_str() {
                    "http.request" | "email.send" => Some(ScopeKind::NetOutbound),
                    "secrets.access" => Some(ScopeKind::SecretsRead),
                    other => other.parse::<ScopeKind>().ok(),
                };
                suggestion.map(|kind| format!("did you mean `{kind}`?"))
            }
            ScopeError::BareWildcard { .. } | ScopeError::BroadWildcard { .. } => {
                Some("list each host, or use `*.example.com` for one domain's subdomains".into())
            }
            ScopeError::Tilde { .. } => Some("write the absolute path instead of `~`".into()),
            _ => None,
        }
    }
}

/// The kinds of scope (DESIGN §3). Serialised as the dotted name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScopeKind {
    /// `files.read`: a read-only bind mount of a path.
    FilesRead,
    /// `files.write`: a read-write bind mount of a path.
    FilesWrite,
    /// `shell.exec`: running a command (any, or one named).
    ShellExec,
    /// `net.outbound`: outbound connections through the egress proxy.
    NetOutbound,
    /// `net.internal`: a service on the skill's private network.
    NetInternal,
    /// `secrets.read`: a secret injected for the run.
    SecretsRead,
    /// `unix.connect`: `connect()` to one named pathname unix socket on the host.
    UnixConnect,
}

impl ScopeKind {
    /// Every kind, in table order.
    pub const ALL: [ScopeKind; 7] = [
        ScopeKind::FilesRead,
        ScopeKind::FilesWrite,
        ScopeKind::ShellExec,
        ScopeKind::NetOutbound,
        ScopeKind::NetInternal,
        ScopeKind::SecretsRead,
        ScopeKind::UnixConnect,
    ];

    /// The dotted name (`files.read`).
    pub fn as_str(self) -> &'static str {
        match self {
            ScopeKind::FilesRead => "files.read",
            ScopeKind::FilesWrite => "files.write",
            ScopeKind::ShellExec => "shell.exec",
            ScopeKind::NetOutbound => "net.outbound",
            ScopeKind::NetInternal => "net.internal",
            ScopeKind::SecretsRead => "secrets.read",
            ScopeKind::UnixConnect => "unix.connect",
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

/// How risky a scope is, ordered from least to most. Serialised lower-case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    /// Cannot change or leak much.
    Low,
    /// Can change or send what it names.
    Medium,
    /// Broad, or hands the skill something valuable.
    High,
    /// Exposes the host, its credentials or its network.
    Critical,
}

impl Risk {
    /// The lower-case name used in policy input (`scope_risk`).
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

/// Resolves a host path the way the runtime will bind it (symlinks followed), or `None` when it
/// cannot be resolved. The scope module does no I/O itself: the engine passes one in.
pub type PathResolver = fn(&std::path::Path) -> Option<PathBuf>;

/// What parsing and rating need from outside; the CLI fills it, tests pass paths.
#[derive(Clone, Debug, Default)]
pub struct ScopeContext {
    /// The user's home directory: `~` expands to it, and it and its key stores are sensitive.
    pub user_home: Option<PathBuf>,
    /// The AegisClaw home, which is always sensitive (`~/.aegisclaw` is, either way).
    pub aegisclaw_home: Option<PathBuf>,
    /// The running `aegisclaw` binary, resolved (`/proc/self/exe`; the engine finds it): its
    /// directory and the binary are sensitive to write, as the program the user runs next.
    pub program: Option<PathBuf>,
    /// Resolves the sensitive-path table's entries as the runtime resolves scope paths, so a
    /// sensitive path behind a symlinked parent is still recognised once resolved. `None`:
    /// rate lexically only (tests, and `scope explain` of text that names no host).
    pub resolve: Option<PathResolver>,
    /// Other homes the host's user database names (`/etc/passwd`; the engine reads it), absolute
    /// and normalised: each is critical itself, as `/home/<user>` is, and a hidden path directly
    /// in one (`<home>/.X`) is rated as in any home. Empty: only `/root`, `/home/<user>`, `~`.
    pub homes: Vec<PathBuf>,
}

/// The host part of a `net.outbound` scope.
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

/// The target of a `net.outbound` scope: a host, optionally restricted to one port.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HostPattern {
    /// The host, name, wildcard or IP literal.
    pub host: Host,
    /// The port, or `None` for the web ports 80 and 443 (what the egress proxy allows).
    pub port: Option<u16>,
}

impl HostPattern {
    /// Whether this is a `*.domain` pattern.
    pub fn is_wildcard(&self) -> bool {
        matches!(self.host, Host::Wildcard(_))
    }
}

impl fmt::Display for HostPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            None => write!(f, "{}", self.host),
            Some(port) => write!(f, "{}:{port}", self.host),
        }
    }
}

/// What a scope applies to, normalised. Displays as the scope's target text (empty for
/// `WorkDir` and `AnyCommand`), which is the policy input's `scope_target`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// `files.*` with no path: the run's working directory.
    WorkDir,
    /// An absolute, lexically normalised path (`~` expanded).
    Path(PathBuf),
    /// `shell.exec` without a command: any command.
    AnyCommand,
    /// `shell.exec:<command>`: a bare name or an absolute path.
    Command(String),
    /// `net.outbound:<host>[:port]`.
    Host(HostPattern),
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
            Target::Host(pattern) => write!(f, "{pattern}"),
        }
    }
}

/// A parsed, normalised scope. Equality and hashing ignore the raw text: `files.read:/a/` and
/// `files.read:/a` are the same scope.
#[derive(Clone, Debug)]
pub struct Scope {
    kind: ScopeKind,
    target: Target,
    raw: String,
}

impl PartialEq for Scope {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.target == other.target
    }
}

impl Eq for Scope {}

impl Hash for Scope {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.kind.hash(state);
        self.target.hash(state);
    }
}

/// A scope's risk and the reasons for it: never empty, the ones that raised it first and the
/// kind's default last.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Rating {
    /// The highest risk any reason gives.
    pub risk: Risk,
    /// Why, most important first.
    pub reasons: Vec<String>,
}

/// What `aegisclaw scope explain` prints for one scope (`--json` serialises it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The normalised scope.
    pub scope: String,
    /// The text as given.
    pub input: String,
    /// The kind.
    pub kind: ScopeKind,
    /// The target, described for humans ("the run's working directory", "any command").
    pub target: String,
    /// What the scope grants inside the sandbox.
    pub meaning: String,
    /// What the scope does not grant, or grants only with conditions.
    pub limits: Vec<String>,
    /// The risk.
    pub risk: Risk,
    /// Why, most important first.
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

impl Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl Scope {
    /// Parses `kind[:target]`, splitting at the first `:`, and normalises the target. The
    /// context supplies the home directory that `~` expands to.
    pub fn parse(text: &str, context: &ScopeContext) -> Result<Self, ScopeError> {
        let (kind, target) = parse::parse(text, context)?;
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

    /// The risk and why, from `data/scope-risk.yaml` and `data/sensitive-paths.yaml`. A path
    /// is critical if it is, is inside, or contains a sensitive path, or has a sensitive name
    /// (`.ssh`) among its components. Each sensitive entry is compared as written, as the
    /// table's aliases spell it (`/var/run` is `/run`) and, when `context.resolve` is set, as
    /// it resolves (once per context: the resolved table is cached); the path itself is
    /// compared as given, so a caller with a resolver passes the resolved path. Fails closed:
    /// if the embedded tables were broken, the rating is critical with that error as its reason.
    pub fn rating(&self, context: &ScopeContext) -> Rating {
        risk::rate(self.kind, &self.target, context)
    }

    /// What this scope does not grant, or grants only with conditions (`docs/security.md`).
    fn limits(&self) -> Vec<String> {
        let texts: &[&str] = match (self.kind, &self.target) {
            (ScopeKind::FilesRead, _) => &[
                "read-only: no write, and no `connect()` to a unix socket under it",
                "bound as the object decided on: a path swapped for another before the run starts fails the run",
            ],
            (ScopeKind::FilesWrite, _) => &[
                "no `connect()` to a unix socket under it",
                "nothing the run writes keeps a set-user-ID or set-group-ID bit",
                "mounted `noexec` unless something the run may execute lies in it",
                "bound as the object decided on: a path swapped for another before the run starts fails the run",
            ],
            (ScopeKind::UnixConnect, _) => &[
                "that socket file only, bound read-only at its path; no other host socket",
                "refused beside a bound directory where Landlock is older than ABI 9",
            ],
            (ScopeKind::ShellExec, Target::AnyCommand) => {
                &["only programs the sandbox shows (`/usr` and the scope binds)"]
            }
            (ScopeKind::ShellExec, _) => &[
                "only that file and the interpreters it names (`#!`, ELF loader); a command that cannot be resolved refuses the run",
            ],
            (ScopeKind::NetOutbound, Target::Host(pattern)) => {
                let mut limits = vec![
                    "only through the egress proxy, which decides on the name before resolving it".to_string(),
                    "every address the name resolves to must be public: no loopback, private, link-local, metadata or reserved address, no IPv6 form of one, and no address of this host".to_string(),
                ];
                match pattern.port {
                    None => limits.push(
                        "port 80 only as plain `http://` requests, one per connection with the `Host` header replaced (no CONNECT tunnel); port 443 tunnelled, its content opaque".to_string(),
                    ),
                    Some(80) => limits.push(
                        "port 80 only as plain `http://` requests, one per connection with the `Host` header replaced (no CONNECT tunnel)".to_string(),
                    ),
                    Some(_) => limits.push(
                        "tunnelled (CONNECT) or plain requests; a tunnel's content is opaque".to_string(),
                    ),
                }
                if let Host::Wildcard(domain) = &pattern.host {
                    limits.push(format!("not `{domain}` itself"));
                }
                return limits;
            }
            (ScopeKind::NetInternal, _) => &["refused by every run until compose skills exist"],
            (ScopeKind::SecretsRead, _) => &[
                "in this run's environment only, never on argv; its value and encodings are scrubbed from the run's output",
            ],
            _ => &[],
        };
        texts.iter().map(|text| (*text).to_string()).collect()
    }

    /// The explanation `aegisclaw scope explain` prints.
    pub fn explain(&self, context: &ScopeContext) -> Explanation {
        let rating = self.rating(context);
        let mount = |what: String| match self.kind {
            ScopeKind::FilesRead => {
                format!("read-only bind mount of {what} (no `connect()` to a socket in it)")
            }
            ScopeKind::UnixConnect => {
                format!("may connect to the unix socket {what}, and to no other host socket")
            }
            _ => format!("read-write bind mount of {what} (no `connect()` to a socket in it)"),
        };
        let (target, meaning) = match &self.target {
            Target::WorkDir => (
                "the run's working directory".to_string(),
                mount("the run's working directory".to_string()),
            ),
            Target::Path(path) => (
                path.display().to_string(),
                mount(format!("`{}`", path.display())),
            ),
            Target::AnyCommand => (
                "any command".to_string(),
                "may execute any program (without `shell.exec` a run executes only its \
                 entrypoint and the interpreter the entrypoint names)"
                    .to_string(),
            ),
            Target::Command(name) => (
                name.clone(),
                format!(
                    "may execute `{name}`, resolved to its host path when the run is planned, \
                     besides the skill's entrypoint and the interpreter the entrypoint names"
                ),
            ),
            Target::Host(pattern) => {
                let port = pattern.port.map_or_else(
                    || "ports 80 and 443".to_string(),
                    |port| format!("port {port}"),
                );
                let whom = match &pattern.host {
                    Host::Wildcard(domain) => format!("any subdomain of `{domain}`"),
                    host => format!("`{host}`"),
                };
                (
                    pattern.to_string(),
                    format!("may connect to {whom} on {port}, only through the egress proxy"),
                )
            }
            Target::Service(name) => (
                name.clone(),
                format!(
                    "may reach service `{name}` on the skill's private network (refused until \
                     compose skills exist)"
                ),
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
            limits: self.limits(),
            risk: rating.risk,
            reasons: rating.reasons,
        }
    }
}

#[cfg(test)]
mod tests;
