//! The scope grammar: checks the text, splits `kind[:target]` at the first `:`, and parses and
//! normalises each kind's target. Does not rate risk and does no I/O.

use super::risk;
use super::suffix;
use super::{Host, HostPattern, ScopeContext, ScopeError, ScopeKind, Target};
use std::net::IpAddr;

/// Longest scope text accepted; longer text is refused before anything else is looked at.
pub(super) const MAX_SCOPE_LEN: usize = 4096;

/// Why a path did not normalise.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum PathProblem {
    Relative,
    ParentSegment,
}

/// Lexical normalisation of an absolute path: collapses `//`, drops `.` segments and a trailing
/// `/`, refuses `..` segments (which could climb out of whatever the path is checked against).
pub(super) fn normalise_path(path: &str) -> Result<String, PathProblem> {
    if !path.starts_with('/') {
        return Err(PathProblem::Relative);
    }
    let mut normal = String::with_capacity(path.len());
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => return Err(PathProblem::ParentSegment),
            segment => {
                normal.push('/');
                normal.push_str(segment);
            }
        }
    }
    if normal.is_empty() {
        normal.push('/');
    }
    Ok(normal)
}

/// Characters that render as nothing or reorder text (zero-width, bidi controls, BOM): they
/// would let a scope read differently to a reviewer than to the parser.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}' | '\u{FEFF}')
}

/// Parses scope text into its kind and normalised target.
pub(super) fn parse(text: &str, context: &ScopeContext) -> Result<(ScopeKind, Target), ScopeError> {
    let owned = || text.to_string();
    // 1. Whole-text checks, before anything is interpreted.
    if text.is_empty() {
        return Err(ScopeError::Empty);
    }
    if text.len() > MAX_SCOPE_LEN {
        return Err(ScopeError::TooLong {
            length: text.len(),
            limit: MAX_SCOPE_LEN,
        });
    }
    if let Some(found) = text
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || is_invisible(*c))
    {
        return Err(ScopeError::InvalidCharacter {
            text: text.escape_default().to_string(),
            character: format!("U+{:04X}", u32::from(found)),
        });
    }
    // 2. Split at the first `:`; kinds are exact and lower-case.
    let (kind_text, target) = text.split_once(':').unwrap_or((text, ""));
    let kind: ScopeKind = kind_text
        .parse()
        .map_err(|_| ScopeError::UnknownKind { text: owned() })?;
    // 3. The kind's target.
    let target = match kind {
        ScopeKind::FilesRead | ScopeKind::FilesWrite => parse_path(text, target, context)?,
        ScopeKind::UnixConnect => match parse_path(text, target, context)? {
            Target::WorkDir => {
                return Err(ScopeError::MissingTarget {
                    text: owned(),
                    what: "socket path",
                });
            }
            path => path,
        },
        ScopeKind::ShellExec => parse_command(text, target)?,
        ScopeKind::NetOutbound => Target::Host(parse_host(text, target)?),
        ScopeKind::NetInternal => Target::Service(parse_name(
            text,
            target,
            "service name",
            "lower-case letters, digits and `-`, starting with a letter or digit, at most 63",
            |c, first| c.is_ascii_lowercase() || c.is_ascii_digit() || (!first && c == '-'),
            63,
        )?),
        ScopeKind::SecretsRead => {
            let name = parse_name(
                text,
                target,
                "secret name",
                "letters, digits and `_`, not starting with a digit, at most 128",
                |c, first| c.is_ascii_alphabetic() || c == '_' || (!first && c.is_ascii_digit()),
                128,
            )?;
            if let Some(why) = reserved_env(&name) {
                return Err(ScopeError::ReservedSecretName {
                    text: text.to_string(),
                    name,
                    why,
                });
            }
            Target::Secret(name)
        }
    };
    Ok((kind, target))
}

/// Variables the sandbox gives every run itself (`secrets.read` would be recorded as injected
/// while the run got the sandbox's value), each with why.
const SANDBOX_ENV: [(&str, &str); 10] = [
    ("PATH", "the sandbox sets it to the run's own search path"),
    ("HOME", "the sandbox sets it to the run's private `/tmp`"),
    ("LANG", "the sandbox sets the run's locale"),
    ("AEGISCLAW_RUN", "the sandbox sets it to the run's id"),
    ("HTTP_PROXY", "the sandbox points it at the egress proxy"),
    ("HTTPS_PROXY", "the sandbox points it at the egress proxy"),
    ("http_proxy", "the sandbox points it at the egress proxy"),
    ("https_proxy", "the sandbox points it at the egress proxy"),
    (
        "NO_PROXY",
        "the sandbox clears it, so every request goes through the egress proxy",
    ),
    (
        "no_proxy",
        "the sandbox clears it, so every request goes through the egress proxy",
    ),
];

/// Why a secret may not be the run's variable `name`, if it may not: the sandbox sets it, or
/// the dynamic loader or C library reads it to load code or change how every program runs.
fn reserved_env(name: &str) -> Option<&'static str> {
    if let Some((_, why)) = SANDBOX_ENV.iter().find(|(reserved, _)| *reserved == name) {
        return Some(why);
    }
    if name.starts_with("LD_") {
        return Some(
            "the dynamic loader reads `LD_*` variables to load code into every program the run starts",
        );
    }
    if LIBC_ENV.contains(&name) {
        return Some(
            "the C library reads it to load code, files or settings for every program the run starts",
        );
    }
    (INTERPRETER_ENV.contains(&name) || name.starts_with("GIT_CONFIG_"))
        .then_some("an interpreter or shell reads it to load or run code before the program's own")
}

/// glibc's own list of variables it drops for set-id programs (`UNSECURE_ENVVARS`), beyond
/// `LD_*` and `TMPDIR` (which only names where temporary files go), and its tunables.
const LIBC_ENV: [&str; 14] = [
    "GCONV_PATH",
    "GETCONF_DIR",
    "GLIBC_TUNABLES",
    "HOSTALIASES",
    "LOCALDOMAIN",
    "LOCPATH",
    "MALLOC_ARENA_MAX",
    "MALLOC_CONF",
    "MALLOC_TRACE",
    "NIS_PATH",
    "NLSPATH",
    "RESOLV_HOST_CONF",
    "RES_OPTIONS",
    "TZDIR",
];

/// Variables interpreters and shells read to load or run code first.
const INTERPRETER_ENV: [&str; 44] = [
    "BASH_ENV",
    "ENV",
    "ZDOTDIR",
    "PYTHONUSERBASE",
    "PYTHONEXECUTABLE",
    "OPENSSL_CONF",
    "OPENSSL_MODULES",
    "OPENSSL_ENGINES",
    "GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_SYSTEM",
    "GIT_CONFIG_PARAMETERS",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_ASKPASS",
    "SSH_ASKPASS",
    "LUA_CPATH",
    "CLASSPATH",
    "PERL5DB",
    "NODE_OPTIONS",
    "NODE_PATH",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONINSPECT",
    "PERL5LIB",
    "PERL5OPT",
    "PERLLIB",
    "RUBYLIB",
    "RUBYOPT",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "LUA_INIT",
    "LUA_PATH",
    "LUA_INIT_5_4",
    "LUA_PATH_5_4",
    "LUA_CPATH_5_4",
    "GIT_PROXY_COMMAND",
    "GIT_EXTERNAL_DIFF",
    "SHELLOPTS",
    "PS4",
    "DOTNET_STARTUP_HOOKS",
    "PHPRC",
    "GIT_EXEC_PATH",
];

fn path_error(text: &str, problem: PathProblem) -> ScopeError {
    match problem {
        PathProblem::Relative => ScopeError::RelativePath {
            text: text.to_string(),
        },
        PathProblem::ParentSegment => ScopeError::ParentSegment {
            text: text.to_string(),
        },
    }
}

fn parse_path(text: &str, target: &str, context: &ScopeContext) -> Result<Target, ScopeError> {
    if target.is_empty() {
        return Ok(Target::WorkDir);
    }
    let tilde = |problem| ScopeError::Tilde {
        text: text.to_string(),
        problem,
    };
    let expanded = if let Some(rest) = target.strip_prefix('~') {
        if !(rest.is_empty() || rest.starts_with('/')) {
            return Err(tilde("only `~` and `~/...` are supported"));
        }
        let home = context
            .user_home
            .as_ref()
            .ok_or_else(|| tilde("the home directory is not known"))?;
        let home = home
            .to_str()
            .and_then(|home| normalise_path(home).ok())
            .ok_or_else(|| tilde("the home directory is not an absolute UTF-8 path"))?;
        format!("{home}/{rest}")
    } else {
        target.to_string()
    };
    let normal = normalise_path(&expanded).map_err(|problem| path_error(text, problem))?;
    Ok(Target::Path(normal.into()))
}

fn parse_command(text: &str, target: &str) -> Result<Target, ScopeError> {
    if target.is_empty() {
        return Ok(Target::AnyCommand);
    }
    let invalid = |grammar| ScopeError::InvalidName {
        text: text.to_string(),
        what: "command",
        grammar,
    };
    if target.starts_with('/') {
        let normal = normalise_path(target).map_err(|problem| path_error(text, problem))?;
        if normal == "/" || target.ends_with('/') {
            return Err(invalid(
                "an absolute command path names a file, not a directory",
            ));
        }
        return Ok(Target::Command(normal));
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
        return Err(invalid("a command name may not start with `.` or `-`"));
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

fn parse_host(text: &str, target: &str) -> Result<HostPattern, ScopeError> {
    let owned = || text.to_string();
    let invalid = |problem| ScopeError::InvalidHost {
        text: text.to_string(),
        problem,
    };
    // 1. Split off the port: `[v6]:port`, `host:port`; an unbracketed v6 literal has none.
    let (host_text, port_text) = if let Some(rest) = target.strip_prefix('[') {
        let (inside, after) = rest
            .split_once(']')
            .ok_or_else(|| invalid("`[` without a closing `]`"))?;
        match after {
            "" => (inside, None),
            after => (
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
    if host_text.is_empty() {
        return Err(ScopeError::EmptyHost { text: owned() });
    }
    if host_text == "*" {
        return Err(ScopeError::BareWildcard { text: owned() });
    }
    // 2. The port: decimal digits, 1 to 65535.
    let port = match port_text {
        None => None,
        Some(port) => {
            let digits = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
            let number = port.parse::<u16>().ok().filter(|port| digits && *port != 0);
            Some(number.ok_or_else(|| ScopeError::InvalidPort { text: owned() })?)
        }
    };
    // 3. An IP literal (IPv4 dotted quad, or IPv6), printed in canonical form.
    if let Ok(ip) = host_text.parse::<IpAddr>() {
        if target.starts_with('[') && ip.is_ipv4() {
            return Err(invalid("brackets are only for IPv6 addresses"));
        }
        return Ok(HostPattern {
            host: Host::Ip(ip),
            port,
        });
    }
    if host_text.contains(':') || target.starts_with('[') {
        return Err(invalid("an IPv6 address that does not parse"));
    }
    // 4. A DNS name, lower-cased, one trailing dot dropped; `*.` only as the first label.
    if !host_text.is_ascii() {
        return Err(invalid(
            "a host name must be ASCII: write an international name in its `xn--` form",
        ));
    }
    let lower = host_text.to_ascii_lowercase();
    let lower = lower.strip_suffix('.').unwrap_or(&lower);
    let (wildcard, name) = match lower.strip_prefix("*.") {
        Some(domain) => (true, domain),
        None => (false, lower),
    };
    validate_dns_name(name).map_err(invalid)?;
    if !wildcard {
        return Ok(HostPattern {
            host: Host::Name(name.to_string()),
            port,
        });
    }
    // Reserved local names (`*.localhost`) parse, and rate critical.
    if !risk::tables()?.is_critical_suffix(name) {
        if !name.contains('.') {
            return Err(ScopeError::BroadWildcard { text: owned() });
        }
        if suffix::is_public_suffix(name) {
            return Err(ScopeError::PublicSuffixWildcard {
                text: owned(),
                suffix: name.to_string(),
            });
        }
    }
    Ok(HostPattern {
        host: Host::Wildcard(name.to_string()),
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
    // Resolvers read a name whose last label is a number (`2130706433`, `127.1`, `0x7f.1`) as
    // an IPv4 address in another notation: refuse it rather than guess what it reaches.
    let last = name.rsplit('.').next().unwrap_or(name);
    let hex = last
        .strip_prefix("0x")
        .is_some_and(|digits| digits.bytes().all(|b| b.is_ascii_hexdigit()));
    if hex || last.bytes().all(|b| b.is_ascii_digit()) {
        return Err("a numeric host that is not a dotted-quad IPv4 address");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn paths_normalise_lexically() {
        assert_eq!(normalise_path("/"), Ok("/".into()));
        assert_eq!(normalise_path("//a/./b//c/"), Ok("/a/b/c".into()));
        assert_eq!(normalise_path("/a/.../b"), Ok("/a/.../b".into()));
        assert_eq!(normalise_path("/a/../b"), Err(PathProblem::ParentSegment));
        assert_eq!(normalise_path("/a/.."), Err(PathProblem::ParentSegment));
        assert_eq!(normalise_path("a/b"), Err(PathProblem::Relative));
        assert_eq!(normalise_path("./a"), Err(PathProblem::Relative));
    }

    #[test]
    fn invisible_characters_are_refused() {
        for text in [
            "files.read:/tmp/\u{202E}txt.exe",
            "net.outbound:exa\u{200B}mple.com",
            "\u{FEFF}files.read",
            "files.read:/a\u{1b}[31m",
            "files.read:/a\u{a0}b",
        ] {
            let error = parse(text, &ScopeContext::default()).unwrap_err();
            assert!(
                matches!(error, ScopeError::InvalidCharacter { .. }),
                "{text:?}"
            );
            assert!(
                !error
                    .to_string()
                    .chars()
                    .any(|c| c.is_control() || is_invisible(c))
            );
        }
    }

    #[test]
    fn hosts_parse_to_patterns() {
        let host = |target: &str| parse_host(&format!("net.outbound:{target}"), target);
        assert_eq!(
            host("API.Example.com.:8443").unwrap(),
            HostPattern {
                host: Host::Name("api.example.com".into()),
                port: Some(8443)
            }
        );
        assert_eq!(
            host("*.localhost").unwrap().host,
            Host::Wildcard("localhost".into())
        );
        assert_eq!(
            host("[::FFFF:7F00:1]:80").unwrap().to_string(),
            "[::ffff:127.0.0.1]:80"
        );
        for bad in [
            "[1.2.3.4]",
            "[::1]x",
            "a..b",
            "a.com..",
            "ex\u{e4}mple.com",
            "*.*.com",
            "foo.123",
            "010.0.0.1",
            "host:+80",
            "host:",
        ] {
            assert!(host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn commands_are_names_or_absolute_files() {
        let command = |target: &str| parse_command(&format!("shell.exec:{target}"), target);
        assert_eq!(command("git"), Ok(Target::Command("git".into())));
        assert_eq!(command("g++"), Ok(Target::Command("g++".into())));
        assert_eq!(
            command("//usr/./bin/git"),
            Ok(Target::Command("/usr/bin/git".into()))
        );
        for bad in [
            "/",
            "/usr/bin/",
            "bin/git",
            "..",
            ".hidden",
            "-x",
            "a*b",
            "~/bin/x",
        ] {
            assert!(command(bad).is_err(), "{bad}");
        }
    }
}
