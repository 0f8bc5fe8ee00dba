use super::*;
use pretty_assertions::assert_eq;

fn context() -> ScopeContext {
    ScopeContext {
        user_home: Some(PathBuf::from("/home/alice")),
        aegisclaw_home: Some(PathBuf::from("/home/alice/.aegisclaw")),
        program: None,
        resolve: None,
        homes: Vec::new(),
    }
}

fn ok(text: &str) -> (String, Risk) {
    let scope = Scope::parse(text, &context()).unwrap_or_else(|e| panic!("{text}: {e}"));
    let rating = scope.rating(&context());
    assert!(!rating.reasons.is_empty(), "{text}");
    (scope.to_string(), rating.risk)
}

fn err(text: &str) -> String {
    let error = Scope::parse(text, &context()).expect_err(text).to_string();
    if !text.is_empty() && !text.contains(char::is_whitespace) {
        assert!(error.contains(text), "{error} should contain {text}");
    }
    error
}

#[test]
fn valid_scopes_normalise_and_rate() {
    let cases: &[(&str, &str, Risk)] = &[
        ("files.read", "files.read", Risk::Low),
        ("files.read:", "files.read", Risk::Low),
        ("files.read:/tmp/input", "files.read:/tmp/input", Risk::Low),
        (
            "files.read:/tmp//input/./x/",
            "files.read:/tmp/input/x",
            Risk::Low,
        ),
        (
            "files.write:/tmp/output",
            "files.write:/tmp/output",
            Risk::Medium,
        ),
        (
            "files.read:~/projects/x",
            "files.read:/home/alice/projects/x",
            Risk::Low,
        ),
        (
            "files.read:~/.ssh",
            "files.read:/home/alice/.ssh",
            Risk::Critical,
        ),
        (
            "files.read:~/.ssh/id_ed25519",
            "files.read:/home/alice/.ssh/id_ed25519",
            Risk::Critical,
        ),
        ("files.read:~", "files.read:/home/alice", Risk::Critical),
        ("files.read:/home", "files.read:/home", Risk::Critical),
        ("files.read:/", "files.read:/", Risk::Critical),
        ("files.read:/etc", "files.read:/etc", Risk::Critical),
        (
            "files.read:/etc/passwd",
            "files.read:/etc/passwd",
            Risk::Critical,
        ),
        (
            "files.write:/var/run/docker.sock",
            "files.write:/var/run/docker.sock",
            Risk::Critical,
        ),
        ("files.read:/var", "files.read:/var", Risk::Critical),
        (
            "files.read:/proc/self",
            "files.read:/proc/self",
            Risk::Critical,
        ),
        (
            "files.read:/home/alice/.aegisclaw/keys",
            "files.read:/home/alice/.aegisclaw/keys",
            Risk::Critical,
        ),
        ("files.read:/etcetera", "files.read:/etcetera", Risk::Low),
        ("files.read:/tmpfoo", "files.read:/tmpfoo", Risk::Low),
        ("shell.exec", "shell.exec", Risk::High),
        ("shell.exec:git", "shell.exec:git", Risk::Medium),
        (
            "shell.exec:/usr/bin/git",
            "shell.exec:/usr/bin/git",
            Risk::Medium,
        ),
        (
            "net.outbound:api.github.com",
            "net.outbound:api.github.com",
            Risk::Medium,
        ),
        (
            "net.outbound:API.GitHub.com.",
            "net.outbound:api.github.com",
            Risk::Medium,
        ),
        (
            "net.outbound:api.github.com:443",
            "net.outbound:api.github.com:443",
            Risk::Medium,
        ),
        (
            "net.outbound:*.github.com",
            "net.outbound:*.github.com",
            Risk::High,
        ),
        (
            "net.outbound:1.1.1.1:53",
            "net.outbound:1.1.1.1:53",
            Risk::Medium,
        ),
        (
            "net.outbound:169.254.169.254",
            "net.outbound:169.254.169.254",
            Risk::Critical,
        ),
        (
            "net.outbound:127.0.0.1:8080",
            "net.outbound:127.0.0.1:8080",
            Risk::Critical,
        ),
        (
            "net.outbound:10.0.0.1",
            "net.outbound:10.0.0.1",
            Risk::Critical,
        ),
        (
            "net.outbound:[::1]:80",
            "net.outbound:[::1]:80",
            Risk::Critical,
        ),
        (
            "net.outbound:::ffff:127.0.0.1",
            "net.outbound:[::ffff:127.0.0.1]",
            Risk::Critical,
        ),
        (
            "net.outbound:[fd00:ec2::254]",
            "net.outbound:[fd00:ec2::254]",
            Risk::Critical,
        ),
        (
            "net.outbound:localhost",
            "net.outbound:localhost",
            Risk::Critical,
        ),
        (
            "net.outbound:metadata.google.internal",
            "net.outbound:metadata.google.internal",
            Risk::Critical,
        ),
        ("net.internal:redis", "net.internal:redis", Risk::Low),
        (
            "secrets.read:OPENAI_API_KEY",
            "secrets.read:OPENAI_API_KEY",
            Risk::High,
        ),
    ];
    for (input, normal, risk) in cases {
        assert_eq!(ok(input), (normal.to_string(), *risk), "{input}");
    }
}

#[test]
fn bad_scopes_name_the_text() {
    let cases: &[(&str, &str)] = &[
        ("", "empty scope"),
        ("files.read :/tmp", "whitespace"),
        ("disk.format:/dev/sda", "unknown scope kind"),
        ("Files.Read:/tmp", "unknown scope kind"),
        ("files.read:relative/path", "relative path"),
        ("files.read:../etc", "relative path"),
        ("files.read:/tmp/../etc", "`..` segment"),
        ("files.write:/a/b/..", "`..` segment"),
        ("files.read:~bob/x", "only `~`"),
        ("net.outbound:", "empty host"),
        ("net.outbound::443", "empty host"),
        ("net.outbound:*", "bare `*`"),
        ("net.outbound:*:443", "bare `*`"),
        ("net.outbound:*.com", "too broad"),
        ("net.outbound:api.github.com:0", "invalid port"),
        ("net.outbound:api.github.com:70000", "invalid port"),
        ("net.outbound:api.github.com:https", "invalid port"),
        ("net.outbound:exa_mple.com", "invalid host"),
        ("net.outbound:-bad.com", "invalid host"),
        ("net.outbound:2130706433", "numeric host"),
        ("net.outbound:127.1", "numeric host"),
        ("net.outbound:0x7f.0.0.1", "numeric host"),
        ("net.outbound:a.*.com", "invalid host"),
        ("net.outbound:[::1", "invalid host"),
        ("net.internal:", "needs a service name"),
        ("net.internal:Redis", "invalid service name"),
        ("secrets.read:", "needs a secret name"),
        ("secrets.read:1KEY", "invalid secret name"),
        ("secrets.read:KEY-NAME", "invalid secret name"),
        ("shell.exec:rm -rf", "whitespace"),
        ("shell.exec:../bin/sh", "invalid command"),
        ("shell.exec:-rf", "invalid command"),
        ("shell.exec:/usr/../bin/sh", "`..` segment"),
    ];
    for (input, expected) in cases {
        let message = err(input);
        assert!(message.contains(expected), "{input}: {message}");
    }
}

#[test]
fn tilde_needs_a_home() {
    let error = Scope::parse("files.read:~/x", &ScopeContext::default()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "cannot expand `~` in scope `files.read:~/x`: the home directory is not known"
    );
}

#[test]
fn explanations_say_what_is_granted_and_why() {
    let scope = Scope::parse("files.read:~/.ssh", &context()).unwrap();
    assert_eq!(
        scope.explain(&context()),
        Explanation {
            scope: "files.read:/home/alice/.ssh".into(),
            input: "files.read:~/.ssh".into(),
            kind: ScopeKind::FilesRead,
            target: "/home/alice/.ssh".into(),
            meaning:
                "read-only bind mount of `/home/alice/.ssh` (no `connect()` to a socket in it)"
                    .into(),
            limits: vec![
                "read-only: no write, and no `connect()` to a unix socket under it".into(),
                "bound as the object decided on: a path swapped for another before the run \
                 starts fails the run"
                    .into(),
            ],
            risk: Risk::Critical,
            reasons: vec![
                "sensitive path `~/.ssh` (`/home/alice/.ssh`): ssh private keys; a write adds \
                 `authorized_keys` and runs `rc` at every login"
                    .into(),
                "files.read is low risk by default; the skill can read everything mounted there \
                 (and send it wherever its other scopes reach), but cannot change it or connect \
                 to a unix socket under it"
                    .into(),
            ],
        }
    );
    let home = Scope::parse("files.read:/home", &context())
        .unwrap()
        .rating(&context());
    assert_eq!(
        home.reasons[0],
        "sensitive path `/home`: every user's home directory"
    );
    let root = Scope::parse("files.write:/home/alice/..x/../", &context());
    assert!(root.is_err());
}

#[test]
fn containing_a_sensitive_path_is_critical_and_says_which() {
    let rating = Scope::parse("files.read:/var", &context())
        .unwrap()
        .rating(&context());
    assert_eq!(rating.risk, Risk::Critical);
    assert_eq!(
        rating.reasons[0],
        "contains sensitive path `/run/docker.sock` (as `/var/run/docker.sock`): the Docker \
         socket gives root on the host"
    );
    let rating = Scope::parse(
        "files.read:/srv",
        &ScopeContext {
            user_home: Some("/srv/alice".into()),
            aegisclaw_home: None,
            program: None,
            resolve: None,
            homes: Vec::new(),
        },
    )
    .unwrap()
    .rating(&context());
    assert_eq!(rating.risk, Risk::Low, "{rating:?}");
    // Writing there is another matter: `/srv` is what the host serves.
    let rating = Scope::parse("files.write:/srv", &context())
        .unwrap()
        .rating(&context());
    assert_eq!(rating.risk, Risk::Critical, "{rating:?}");
}

#[test]
fn explanations_describe_exec_and_internal_networks_as_enforced() {
    let meaning = |text: &str| {
        Scope::parse(text, &context())
            .unwrap()
            .explain(&context())
            .meaning
    };
    assert_eq!(
        meaning("shell.exec:git"),
        "may execute `git`, resolved to its host path when the run is planned, besides the \
         skill's entrypoint and the interpreter the entrypoint names"
    );
    assert_eq!(
        meaning("shell.exec"),
        "may execute any program (without `shell.exec` a run executes only its entrypoint and \
         the interpreter the entrypoint names)"
    );
    assert_eq!(
        meaning("net.internal:redis"),
        "may reach service `redis` on the skill's private network (refused until compose \
         skills exist)"
    );
    assert_eq!(
        meaning("files.write"),
        "read-write bind mount of the run's working directory (no `connect()` to a socket in it)"
    );
    let reasons = |text: &str| {
        Scope::parse(text, &context())
            .unwrap()
            .rating(&context())
            .reasons
    };
    assert_eq!(
        reasons("shell.exec:git"),
        vec![
            "shell.exec with a command is medium risk; besides its entrypoint, the skill may \
             execute that one program, with any arguments"
        ]
    );
    assert_eq!(
        reasons("net.internal:redis"),
        vec![
            "net.internal is low risk; it would reach only the skill's own compose services, \
             and runs refuse it until compose skills exist"
        ]
    );
}

#[test]
fn kinds_round_trip_through_text_and_serde() {
    for kind in ScopeKind::ALL {
        assert_eq!(kind.as_str().parse::<ScopeKind>(), Ok(kind));
        let json = serde_json::to_string(&kind).unwrap();
        assert_eq!(serde_json::from_str::<ScopeKind>(&json).unwrap(), kind);
    }
    assert_eq!(
        serde_json::to_string(&Risk::Critical).unwrap(),
        "\"critical\""
    );
    assert!(Risk::Low < Risk::Medium && Risk::High < Risk::Critical);
}
