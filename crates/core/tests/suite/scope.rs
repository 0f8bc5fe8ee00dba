//! Integration tests: scope. The DESIGN §3 examples and a table of inputs to normalised text and
//! risk (or an error naming the text), `explain` output, and proptests that display re-parses
//! to the same scope and that a `..` segment in a `files.*` path is always refused. The
//! sensitive-path table as a whole is in `scope/sensitive.rs`; the running binary's directory and
//! the table listed as objects in `scope/program.rs`.

mod program;
mod sensitive;
mod table_gaps;

use aegisclaw_core::scope::{
    Host, HostPattern, Risk, Scope, ScopeContext, ScopeError, ScopeKind, Target, non_public_reason,
};
use pretty_assertions::assert_eq;
use proptest::prelude::*;
use std::path::PathBuf;

fn alice() -> ScopeContext {
    ScopeContext {
        user_home: Some(PathBuf::from("/home/alice")),
        aegisclaw_home: Some(PathBuf::from("/srv/aegisclaw")),
        program: None,
        resolve: None,
        homes: Vec::new(),
    }
}

fn parse(text: &str) -> Result<Scope, ScopeError> {
    Scope::parse(text, &alice())
}

/// `Ok((normalised, risk))` or `Err(message substring)`.
type Expected = Result<(&'static str, Risk), &'static str>;

const TABLE: &[(&str, Expected)] = &[
    // files.*
    ("files.read", Ok(("files.read", Risk::Low))),
    ("files.write:", Ok(("files.write", Risk::Medium))),
    ("files.read:/tmp/in", Ok(("files.read:/tmp/in", Risk::Low))),
    (
        "files.write:/tmp//out/./x/",
        Ok(("files.write:/tmp/out/x", Risk::Medium)),
    ),
    (
        "files.read:~/src/app",
        Ok(("files.read:/home/alice/src/app", Risk::Low)),
    ),
    (
        "files.read:~",
        Ok(("files.read:/home/alice", Risk::Critical)),
    ),
    (
        "files.read:~/.ssh",
        Ok(("files.read:/home/alice/.ssh", Risk::Critical)),
    ),
    (
        "files.read:~/.aws/credentials",
        Ok(("files.read:/home/alice/.aws/credentials", Risk::Critical)),
    ),
    ("files.read:/home", Ok(("files.read:/home", Risk::Critical))),
    (
        "files.read:/home/bob",
        Ok(("files.read:/home/bob", Risk::Critical)),
    ),
    (
        "files.read:/home/bob/src",
        Ok(("files.read:/home/bob/src", Risk::Low)),
    ),
    (
        "files.read:/mnt/backup/home/bob/.ssh",
        Ok(("files.read:/mnt/backup/home/bob/.ssh", Risk::Critical)),
    ),
    ("files.read:/", Ok(("files.read:/", Risk::Critical))),
    (
        "files.read:/etc/hosts",
        Ok(("files.read:/etc/hosts", Risk::Critical)),
    ),
    (
        "files.read:/etcetera",
        Ok(("files.read:/etcetera", Risk::Low)),
    ),
    (
        "files.write:/run/docker.sock",
        Ok(("files.write:/run/docker.sock", Risk::Critical)),
    ),
    ("files.read:/srv", Ok(("files.read:/srv", Risk::Critical))),
    (
        "files.read:/srv/aegisclaw/audit",
        Ok(("files.read:/srv/aegisclaw/audit", Risk::Critical)),
    ),
    (
        "files.read:/usr/share/doc",
        Ok(("files.read:/usr/share/doc", Risk::Low)),
    ),
    (
        "files.write:/usr/local/bin",
        Ok(("files.write:/usr/local/bin", Risk::Critical)),
    ),
    (
        "files.write:~/.bashrc",
        Ok(("files.write:/home/alice/.bashrc", Risk::Critical)),
    ),
    (
        "files.read:~/.bashrc",
        Ok(("files.read:/home/alice/.bashrc", Risk::High)),
    ),
    ("files.read:/a:b", Ok(("files.read:/a:b", Risk::Low))),
    (
        "files.read:relative",
        Err("relative path in scope `files.read:relative`"),
    ),
    ("files.read:./x", Err("relative path")),
    (
        "files.read:/tmp/../etc",
        Err("`..` segment in scope `files.read:/tmp/../etc`"),
    ),
    ("files.write:~/..", Err("`..` segment")),
    ("files.read:~bob/x", Err("only `~` and `~/...`")),
    // shell.exec
    ("shell.exec", Ok(("shell.exec", Risk::High))),
    ("shell.exec:git", Ok(("shell.exec:git", Risk::Medium))),
    (
        "shell.exec:/usr//bin/git",
        Ok(("shell.exec:/usr/bin/git", Risk::Medium)),
    ),
    ("shell.exec:bash", Ok(("shell.exec:bash", Risk::High))),
    (
        "shell.exec:/usr/bin/python3",
        Ok(("shell.exec:/usr/bin/python3", Risk::High)),
    ),
    (
        "shell.exec:bin/git",
        Err("invalid command in scope `shell.exec:bin/git`"),
    ),
    ("shell.exec:-c", Err("invalid command")),
    // net.outbound
    (
        "net.outbound:api.github.com",
        Ok(("net.outbound:api.github.com", Risk::Medium)),
    ),
    (
        "net.outbound:API.GitHub.COM:443",
        Ok(("net.outbound:api.github.com:443", Risk::Medium)),
    ),
    (
        "net.outbound:*.github.com",
        Ok(("net.outbound:*.github.com", Risk::High)),
    ),
    (
        "net.outbound:*.localhost",
        Ok(("net.outbound:*.localhost", Risk::Critical)),
    ),
    (
        "net.outbound:*.google.internal",
        Ok(("net.outbound:*.google.internal", Risk::Critical)),
    ),
    (
        "net.outbound:localhost:8080",
        Ok(("net.outbound:localhost:8080", Risk::Critical)),
    ),
    (
        "net.outbound:metadata.google.internal",
        Ok(("net.outbound:metadata.google.internal", Risk::Critical)),
    ),
    (
        "net.outbound:intranet",
        Ok(("net.outbound:intranet", Risk::High)),
    ),
    (
        "net.outbound:8.8.8.8:53",
        Ok(("net.outbound:8.8.8.8:53", Risk::Medium)),
    ),
    (
        "net.outbound:169.254.169.254",
        Ok(("net.outbound:169.254.169.254", Risk::Critical)),
    ),
    (
        "net.outbound:100.100.100.200",
        Ok(("net.outbound:100.100.100.200", Risk::Critical)),
    ),
    (
        "net.outbound:168.63.129.16",
        Ok(("net.outbound:168.63.129.16", Risk::Critical)),
    ),
    (
        "net.outbound:192.168.1.10:22",
        Ok(("net.outbound:192.168.1.10:22", Risk::Critical)),
    ),
    (
        "net.outbound:[fd00:ec2::254]",
        Ok(("net.outbound:[fd00:ec2::254]", Risk::Critical)),
    ),
    (
        "net.outbound:[::1]:80",
        Ok(("net.outbound:[::1]:80", Risk::Critical)),
    ),
    (
        "net.outbound:[::ffff:a9fe:a9fe]",
        Ok(("net.outbound:[::ffff:169.254.169.254]", Risk::Critical)),
    ),
    (
        "net.outbound:[2606:4700:4700::1111]:443",
        Ok(("net.outbound:[2606:4700:4700::1111]:443", Risk::Medium)),
    ),
    ("net.outbound:*", Err("bare `*` in scope `net.outbound:*`")),
    ("net.outbound:*.com", Err("too broad")),
    (
        "net.outbound:*.co.uk",
        Err("wildcard in scope `net.outbound:*.co.uk` covers the public suffix `co.uk`"),
    ),
    ("net.outbound:*.github.io", Err("public suffix `github.io`")),
    (
        "net.outbound:*.GitHub.IO.",
        Err("public suffix `github.io`"),
    ),
    ("net.outbound:*.s3.amazonaws.com", Err("public suffix")),
    ("net.outbound:*.foo.ck", Err("public suffix `foo.ck`")),
    ("net.outbound:*.xn--55qx5d.cn", Err("public suffix")),
    (
        "net.outbound:*.www.ck",
        Ok(("net.outbound:*.www.ck", Risk::High)),
    ),
    (
        "net.outbound:*.example.co.uk",
        Ok(("net.outbound:*.example.co.uk", Risk::High)),
    ),
    (
        "net.outbound:*.alice.github.io:443",
        Ok(("net.outbound:*.alice.github.io:443", Risk::High)),
    ),
    ("net.outbound:", Err("empty host in scope `net.outbound:`")),
    ("net.outbound", Err("empty host")),
    ("net.outbound::443", Err("empty host")),
    (
        "net.outbound:example.com:0",
        Err("invalid port in scope `net.outbound:example.com:0`"),
    ),
    ("net.outbound:example.com:65536", Err("invalid port")),
    ("net.outbound:127.1", Err("numeric host")),
    ("net.outbound:ex_ample.com", Err("invalid host")),
    // net.internal, secrets.read
    ("net.internal:redis", Ok(("net.internal:redis", Risk::Low))),
    (
        "net.internal:Redis",
        Err("invalid service name in scope `net.internal:Redis`"),
    ),
    (
        "secrets.read:OPENAI_API_KEY",
        Ok(("secrets.read:OPENAI_API_KEY", Risk::High)),
    ),
    (
        "secrets.read",
        Err("scope `secrets.read` needs a secret name"),
    ),
    ("secrets.read:API-KEY", Err("invalid secret name")),
    // The secret reaches the run as the variable of its name: not one the sandbox sets itself
    // (recorded as injected, the run got the sandbox's), nor one the loader reads (attack 5).
    (
        "secrets.read:PATH",
        Err("the sandbox sets it to the run's own search path"),
    ),
    (
        "secrets.read:HTTPS_PROXY",
        Err("the sandbox points it at the egress proxy"),
    ),
    (
        "secrets.read:LD_PRELOAD",
        Err("the dynamic loader reads `LD_*` variables"),
    ),
    ("secrets.read:GLIBC_TUNABLES", Err("the C library reads it")),
    ("secrets.read:HOSTALIASES", Err("the C library reads it")),
    (
        "secrets.read:NODE_OPTIONS",
        Err("an interpreter or shell reads it"),
    ),
    (
        "secrets.read:PYTHONPATH",
        Err("an interpreter or shell reads it"),
    ),
    (
        "secrets.read:BASH_ENV",
        Err("an interpreter or shell reads it"),
    ),
    (
        "secrets.read:OPENSSL_CONF",
        Err("an interpreter or shell reads it"),
    ),
    (
        "secrets.read:PYTHONUSERBASE",
        Err("an interpreter or shell reads it"),
    ),
    (
        "secrets.read:GIT_CONFIG_KEY_0",
        Err("an interpreter or shell reads it"),
    ),
    (
        "secrets.read:DOTNET_STARTUP_HOOKS",
        Err("an interpreter or shell reads it"),
    ),
    (
        "secrets.read:LUA_INIT_5_4",
        Err("an interpreter or shell reads it"),
    ),
    ("secrets.read:PATHS", Ok(("secrets.read:PATHS", Risk::High))),
    // unix.connect: one socket, by absolute path; high by default, critical where sensitive
    (
        "unix.connect:/run/user/1000/bus",
        Ok(("unix.connect:/run/user/1000/bus", Risk::Critical)),
    ),
    (
        "unix.connect:/run/myapp/app.sock",
        Ok(("unix.connect:/run/myapp/app.sock", Risk::High)),
    ),
    (
        "unix.connect:~/.gnupg/S.gpg-agent",
        Ok((
            "unix.connect:/home/alice/.gnupg/S.gpg-agent",
            Risk::Critical,
        )),
    ),
    (
        "unix.connect:/var/run/docker.sock",
        Ok(("unix.connect:/var/run/docker.sock", Risk::Critical)),
    ),
    (
        "unix.connect",
        Err("scope `unix.connect` needs a socket path"),
    ),
    ("unix.connect:run/x.sock", Err("relative path")),
    // the whole text
    ("", Err("empty scope")),
    ("files.read:/my files", Err("whitespace")),
    (
        "Files.Read:/tmp",
        Err("unknown scope kind in `Files.Read:/tmp`"),
    ),
    ("http.request:example.com", Err("unknown scope kind")),
];

#[test]
fn table_of_inputs_normalises_rates_or_names_the_text() {
    for (input, expected) in TABLE {
        let got = parse(input).map(|scope| (scope.to_string(), scope.rating(&alice()).risk));
        match (got, expected) {
            (Ok(got), Ok((normal, risk))) => {
                assert_eq!(got, (normal.to_string(), *risk), "{input}");
            }
            (Err(error), Err(part)) => {
                let message = error.to_string();
                assert!(message.contains(part), "{input}: {message}");
                if !input.is_empty() && !input.contains(' ') {
                    assert!(message.contains(input), "{input}: {message}");
                }
            }
            (got, expected) => panic!("{input}: got {got:?}, expected {expected:?}"),
        }
    }
    assert!(TABLE.len() >= 40);
}

#[test]
fn targets_are_typed() {
    assert_eq!(parse("files.read").unwrap().target(), &Target::WorkDir);
    assert_eq!(parse("shell.exec").unwrap().target(), &Target::AnyCommand);
    let scope = parse("net.outbound:*.Example.org:8443").unwrap();
    assert_eq!(scope.kind(), ScopeKind::NetOutbound);
    assert_eq!(scope.raw(), "net.outbound:*.Example.org:8443");
    assert_eq!(
        scope.target(),
        &Target::Host(HostPattern {
            host: Host::Wildcard("example.org".into()),
            port: Some(8443),
        })
    );
    assert_eq!(scope.target().to_string(), "*.example.org:8443");
    assert_eq!(
        parse("files.read:/a/").unwrap(),
        parse("files.read:/a").unwrap()
    );
}

#[test]
fn ratings_always_give_reasons_and_say_which_path() {
    let rating = parse("files.read:/home").unwrap().rating(&alice());
    assert_eq!(rating.risk, Risk::Critical);
    assert_eq!(
        rating.reasons[0],
        "sensitive path `/home`: every user's home directory"
    );
    let rating = parse("files.read:/srv").unwrap().rating(&alice());
    assert_eq!(
        rating.reasons[0],
        "contains sensitive path the AegisClaw home `/srv/aegisclaw`: AegisClaw's own keys, \
         secrets, policy and audit log"
    );
    let rating = parse("net.outbound:169.254.169.254")
        .unwrap()
        .rating(&alice());
    assert!(rating.reasons[0].contains("metadata"), "{rating:?}");
    for (text, _) in TABLE {
        if let Ok(scope) = parse(text) {
            assert!(!scope.rating(&alice()).reasons.is_empty(), "{text}");
        }
    }
}

#[test]
fn home_defaults_are_sensitive_without_a_context_aegisclaw_home() {
    let context = ScopeContext {
        user_home: Some("/home/alice".into()),
        aegisclaw_home: None,
        program: None,
        resolve: None,
        homes: Vec::new(),
    };
    let scope = Scope::parse("files.read:~/.aegisclaw/keys", &context).unwrap();
    assert_eq!(scope.rating(&context).risk, Risk::Critical);
    // With no home at all, `~` is an error, but other users' key stores are still caught.
    let none = ScopeContext::default();
    assert!(matches!(
        Scope::parse("files.read:~/x", &none),
        Err(ScopeError::Tilde { .. })
    ));
    let scope = Scope::parse("files.read:/home/carol/.gnupg", &none).unwrap();
    assert_eq!(scope.rating(&none).risk, Risk::Critical);
}

#[test]
fn explain_serialises_for_json_output() {
    let scope = parse("shell.exec").unwrap();
    let json = serde_json::to_value(scope.explain(&alice())).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "scope": "shell.exec",
            "input": "shell.exec",
            "kind": "shell.exec",
            "target": "any command",
            "meaning": "may execute any program (without `shell.exec` a run executes only its \
                        entrypoint and the interpreter the entrypoint names)",
            "limits": ["only programs the sandbox shows (`/usr` and the scope binds)"],
            "risk": "high",
            "reasons": [
                "shell.exec without a command is high risk; the skill may execute any program it \
                 can reach in the sandbox"
            ],
        })
    );
    let explanation = parse("net.outbound:*.github.com:443")
        .unwrap()
        .explain(&alice());
    assert_eq!(
        explanation.meaning,
        "may connect to any subdomain of `github.com` on port 443, only through the egress proxy"
    );
}

#[test]
fn errors_give_hints_where_one_helps() {
    let hint = |text: &str| parse(text).unwrap_err().hint();
    assert_eq!(
        hint("Files.Read:/x").as_deref(),
        Some("did you mean `files.read`?")
    );
    assert_eq!(
        hint("secrets.access:KEY").as_deref(),
        Some("did you mean `secrets.read`?")
    );
    assert!(hint("net.outbound:*").is_some());
    assert_eq!(hint("files.read:x"), None);
}

#[test]
fn ipv6_forms_that_reach_ipv4_hosts_or_nowhere_rate_critical() {
    let rate = |text: &str| parse(text).unwrap().rating(&alice());
    for text in [
        // SIIT (IPv4-translated), public or not: name the IPv4 address instead.
        "net.outbound:[::ffff:0:7f00:1]",
        "net.outbound:[::ffff:0:808:808]:443",
        // Discard-only, local-use NAT64, ISATAP embedding a private address, not global unicast.
        "net.outbound:[100::1]",
        "net.outbound:[64:ff9b:1::a00:1]",
        "net.outbound:[2a00:1:2:3:0:5efe:a00:1]",
        "net.outbound:[1234::1]",
        "net.outbound:[3fff::1]",
    ] {
        assert_eq!(rate(text).risk, Risk::Critical, "{text}");
    }
    let siit = rate("net.outbound:[::ffff:0:7f00:1]");
    assert!(
        siit.reasons[0].contains("embeds `127.0.0.1`, loopback"),
        "{siit:?}"
    );
    // ISATAP embedding a public address is that public address's business.
    assert_eq!(
        rate("net.outbound:[2a00:1:2:3:200:5efe:808:808]").risk,
        Risk::Medium
    );
}

#[test]
fn the_egress_proxy_can_check_resolved_addresses() {
    assert!(
        non_public_reason("10.1.2.3".parse().unwrap())
            .unwrap()
            .is_some()
    );
    assert_eq!(
        non_public_reason("140.82.112.3".parse().unwrap()).unwrap(),
        None
    );
}

fn segment() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_][a-zA-Z0-9._-]{0,7}"
}

fn path() -> impl Strategy<Value = String> {
    let piece = prop_oneof![4 => segment(), 1 => Just(".".to_string()), 1 => Just(String::new())];
    (
        prop::collection::vec(piece, 0..5),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(pieces, tilde, trailing)| {
            let mut text = if tilde {
                "~".to_string()
            } else {
                String::new()
            };
            for piece in pieces {
                text.push('/');
                text.push_str(&piece);
            }
            if trailing || text.is_empty() {
                text.push('/');
            }
            text
        })
}

fn host() -> impl Strategy<Value = String> {
    let label = "[a-zA-Z][a-zA-Z0-9-]{0,8}[a-zA-Z]";
    let name = prop::collection::vec(label, 2..4).prop_map(|labels| labels.join("."));
    let ip = prop_oneof![
        any::<std::net::Ipv4Addr>().prop_map(|ip| ip.to_string()),
        any::<std::net::Ipv6Addr>().prop_map(|ip| format!("[{ip}]")),
    ];
    let host = prop_oneof![
        3 => name.clone(),
        // Under `.test`, which is no public suffix's parent, so the wildcard is always valid.
        1 => name.prop_map(|name| format!("*.{name}.test")),
        2 => ip,
    ];
    (host, prop::option::of(1..=u16::MAX)).prop_map(|(host, port)| match port {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

fn valid_scope() -> impl Strategy<Value = String> {
    prop_oneof![
        path().prop_map(|path| format!("files.read:{path}")),
        path().prop_map(|path| format!("files.write:{path}")),
        Just("files.read".to_string()),
        "[a-zA-Z0-9_+][a-zA-Z0-9._+-]{0,10}".prop_map(|name| format!("shell.exec:{name}")),
        Just("shell.exec".to_string()),
        host().prop_map(|host| format!("net.outbound:{host}")),
        "[a-z0-9][a-z0-9-]{0,20}".prop_map(|name| format!("net.internal:{name}")),
        "[A-Za-z_][A-Za-z0-9_]{0,20}"
            .prop_filter("a variable the sandbox or the loader owns", |name| {
                parse(&format!("secrets.read:{name}")).is_ok()
            })
            .prop_map(|name| format!("secrets.read:{name}")),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn display_reparses_to_the_same_scope(text in valid_scope()) {
        let first = parse(&text).map_err(|error| TestCaseError::fail(error.to_string()))?;
        let shown = first.to_string();
        let second = parse(&shown).map_err(|error| TestCaseError::fail(error.to_string()))?;
        prop_assert_eq!(&first, &second);
        prop_assert_eq!(second.to_string(), shown);
        prop_assert_eq!(first.rating(&alice()), second.rating(&alice()));
    }

    #[test]
    fn a_parent_segment_in_a_path_is_always_refused(
        kind in prop_oneof![Just("files.read"), Just("files.write")],
        before in path(),
        after in prop::collection::vec(segment(), 0..3),
        trailing in any::<bool>(),
    ) {
        let mut target = before.trim_end_matches('/').to_string();
        target.push_str("/..");
        for piece in after {
            target.push('/');
            target.push_str(&piece);
        }
        if trailing {
            target.push('/');
        }
        let text = format!("{kind}:{target}");
        let error = parse(&text).unwrap_err();
        prop_assert_eq!(error, ScopeError::ParentSegment { text });
    }
}
