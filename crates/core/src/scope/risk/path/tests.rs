use super::*;
use pretty_assertions::assert_eq;
use std::sync::atomic::{AtomicUsize, Ordering};

const EMBEDDED: &str = super::super::SENSITIVE_PATHS_YAML;

fn table() -> SensitiveTable {
    SensitiveTable::from_yaml(EMBEDDED).unwrap()
}

fn context(home: &str, resolve: Option<PathResolver>) -> ScopeContext {
    ScopeContext {
        user_home: Some(home.into()),
        aegisclaw_home: Some(format!("{home}/.aegisclaw").into()),
        program: None,
        resolve,
        homes: Vec::new(),
    }
}

fn reasons(
    table: &SensitiveTable,
    kind: ScopeKind,
    path: &str,
    context: &ScopeContext,
) -> Vec<String> {
    table
        .reasons(kind, path, context)
        .into_iter()
        .map(|(risk, reason)| {
            assert_eq!(risk, Risk::Critical, "{reason}");
            reason
        })
        .collect()
}

/// A host whose `/home` is a link to `/data/home`, whose `/var/run` is a link to `/run`, and
/// where alice's `~/.ssh` is a link to `/vault/ssh` and `/tmp` a link to `/private/tmp`. Like
/// the runtime's resolver it is lenient: a path that does not exist resolves by its ancestors.
fn linked_host(path: &Path) -> Option<PathBuf> {
    let text = path.to_str()?;
    let links = [
        ("/data/home/alice/.ssh", "/vault/ssh"),
        ("/home", "/data/home"),
        ("/var/run", "/run"),
        ("/tmp", "/private/tmp"),
    ];
    for (link, target) in links {
        if let Some(rest) = at_or_below(text, link) {
            return linked_host(Path::new(&format!("{target}{rest}")));
        }
    }
    Some(path.to_path_buf())
}

#[test]
fn relations_are_by_component_and_follow_covers() {
    use Covers::{Children, Itself, Tree};
    use Relation::{Contains, Inside, Is};
    let cases: &[(&str, &str, Covers, Option<Relation>)] = &[
        ("/etc", "/etc", Tree, Some(Is)),
        ("/etc/passwd", "/etc", Tree, Some(Inside)),
        ("/etcetera", "/etc", Tree, None),
        ("/", "/etc", Tree, Some(Contains)),
        ("/home/bob", "/home", Children, Some(Inside)),
        ("/home/bob/src", "/home", Children, None),
        ("/tmp/input", "/tmp", Itself, None),
        ("/tmp", "/tmp", Itself, Some(Is)),
        ("/anything", "/", Itself, None),
        ("/", "/", Itself, Some(Is)),
        ("/tmp/krb5cc_1000", "/tmp/krb5cc_*", Tree, Some(Is)),
        ("/tmp/krb5cc_1000/x", "/tmp/krb5cc_*", Tree, Some(Inside)),
        ("/tmp/krb5cc", "/tmp/krb5cc_*", Tree, None),
        ("/tmp/input/krb5cc_1", "/tmp/krb5cc_*", Tree, None),
        ("/tmp", "/tmp/krb5cc_*", Tree, Some(Contains)),
        ("/", "/tmp/krb5cc_*", Tree, Some(Contains)),
        ("/tmpfoo", "/tmp/krb5cc_*", Tree, None),
        ("/ssh-agent", "/ssh-*", Tree, Some(Is)),
    ];
    for (path, base, covers, expected) in cases {
        assert_eq!(
            relate(path, base, *covers),
            *expected,
            "{path} against {base}"
        );
    }
    assert_eq!(split_pattern("/tmp/ssh-*"), ("/tmp", Some("ssh-")));
    assert_eq!(split_pattern("/ssh-*"), ("/", Some("ssh-")));
    assert_eq!(split_pattern("/tmp"), ("/tmp", None));
    assert_eq!(join("/", "/x"), "/x");
    assert_eq!(join("/home/a", ""), "/home/a");
}

#[test]
fn entries_are_compared_as_written_aliased_and_resolved() {
    let table = table();
    let prepared = table
        .prepare(&context("/data/home/alice", Some(linked_host)))
        .unwrap();
    let forms = |label: &str| -> Vec<(String, Option<String>)> {
        let entry = prepared
            .entries
            .iter()
            .find(|entry| entry.label == label)
            .unwrap_or_else(|| panic!("no entry {label}"));
        entry
            .forms
            .iter()
            .map(|form| (form.path.clone(), form.note.clone()))
            .collect()
    };
    assert_eq!(
        forms("`/run/docker.sock`"),
        vec![
            ("/run/docker.sock".into(), None),
            (
                "/var/run/docker.sock".into(),
                Some("as `/var/run/docker.sock`".into())
            ),
        ]
    );
    assert_eq!(
        forms("`/home`"),
        vec![
            ("/home".into(), None),
            ("/data/home".into(), Some("resolved `/data/home`".into())),
        ]
    );
    assert_eq!(
        forms("`~/.ssh`"),
        vec![
            ("/data/home/alice/.ssh".into(), None),
            ("/vault/ssh".into(), Some("resolved `/vault/ssh`".into())),
        ]
    );
    assert_eq!(
        forms("`/tmp/krb5cc_*`"),
        vec![
            ("/tmp/krb5cc_*".into(), None),
            (
                "/private/tmp/krb5cc_*".into(),
                Some("resolved `/private/tmp/krb5cc_*`".into())
            ),
        ]
    );
}

#[test]
fn an_entry_reached_only_resolved_is_critical_and_names_both_forms() {
    let table = table();
    let linked = context("/data/home/alice", Some(linked_host));
    let lexical = context("/data/home/alice", None);
    let cases: &[(ScopeKind, &str, &str)] = &[
        (
            ScopeKind::FilesRead,
            "/data/home/bob",
            "inside sensitive path `/home` (resolved `/data/home`): every user's home directory",
        ),
        (
            ScopeKind::FilesRead,
            "/vault/ssh/work_key",
            "inside sensitive path `~/.ssh` (`/data/home/alice/.ssh`, resolved `/vault/ssh`): \
             ssh private keys; a write adds `authorized_keys` and runs `rc` at every login",
        ),
        (
            ScopeKind::FilesRead,
            "/private/tmp/krb5cc_1000",
            "sensitive path `/tmp/krb5cc_*` (resolved `/private/tmp/krb5cc_*`): Kerberos ticket \
             caches, which log in to network services as their user",
        ),
        (
            ScopeKind::FilesRead,
            "/private/tmp",
            "sensitive path `/tmp` (resolved `/private/tmp`): temporary files of every user and \
             service: Kerberos tickets, agent and display sockets",
        ),
    ];
    for (kind, path, expected) in cases {
        assert_eq!(
            reasons(&table, *kind, path, &linked)[0],
            *expected,
            "{path}"
        );
        // Rated as text only, these paths are nothing sensitive: only resolving finds them.
        assert_eq!(table.reasons(*kind, path, &lexical), vec![], "{path}");
    }
}

#[test]
fn a_table_entry_behind_a_symlinked_parent_matches_its_resolved_form() {
    // A table naming only `/var/run/docker.sock` (no alias) still catches the resolved scope
    // path `/run/docker.sock` once `/var/run` resolves to `/run`.
    let table = SensitiveTable::from_yaml(
        "aliases: []\npaths:\n  - {path: /var/run/docker.sock, reason: root on the host}\nnames: []\n",
    )
    .unwrap();
    let linked = context("/home/alice", Some(linked_host));
    assert_eq!(
        reasons(&table, ScopeKind::UnixConnect, "/run/docker.sock", &linked),
        vec![
            "sensitive path `/var/run/docker.sock` (resolved `/run/docker.sock`): root on the host"
        ]
    );
    assert_eq!(
        reasons(&table, ScopeKind::FilesRead, "/run", &linked),
        vec![
            "contains sensitive path `/var/run/docker.sock` (resolved `/run/docker.sock`): root \
             on the host"
        ]
    );
    let lexical = context("/home/alice", None);
    assert_eq!(
        table.reasons(ScopeKind::UnixConnect, "/run/docker.sock", &lexical),
        vec![]
    );
}

#[test]
fn aliases_match_without_a_resolver() {
    let table = table();
    let lexical = context("/home/alice", None);
    assert_eq!(
        reasons(
            &table,
            ScopeKind::UnixConnect,
            "/var/run/docker.sock",
            &lexical
        ),
        vec![
            "sensitive path `/run/docker.sock` (as `/var/run/docker.sock`): the Docker socket \
             gives root on the host"
        ]
    );
    assert_eq!(
        reasons(&table, ScopeKind::FilesRead, "/var/run/dbus", &lexical)[0],
        "sensitive path `/run/dbus` (as `/var/run/dbus`): the system D-Bus socket reaches \
         systemd, polkit, NetworkManager and every system service"
    );
}

#[test]
fn names_match_in_every_home_and_say_where() {
    let table = table();
    let lexical = context("/home/alice", None);
    let first = |kind, path: &str| reasons(&table, kind, path, &lexical).remove(0);
    assert_eq!(
        first(ScopeKind::FilesRead, "/srv/bob/.aws/credentials"),
        "inside sensitive path `/srv/bob/.aws` (`.aws` anywhere): AWS credentials"
    );
    assert_eq!(
        first(ScopeKind::FilesRead, "/root/.config/gcloud"),
        "sensitive path `/root/.config/gcloud` (`.config/gcloud` anywhere): Google Cloud \
         credentials"
    );
    assert_eq!(
        first(ScopeKind::FilesWrite, "/root/.bashrc"),
        "sensitive path `/root/.bashrc` (`.bashrc` anywhere): runs in every interactive bash, \
         so a write runs code as the user"
    );
    // The user's own home: the name counts as a `~/` path.
    assert_eq!(
        first(ScopeKind::FilesRead, "/home/alice/.kube/config"),
        "inside sensitive path `~/.kube` (`/home/alice/.kube`): Kubernetes credentials"
    );
    // A directory whose last components begin a name contains it.
    assert_eq!(
        reasons(&table, ScopeKind::FilesRead, "/home/bob/.config", &lexical)[0],
        "contains sensitive path `/home/bob/.config/gcloud` (`.config/gcloud` anywhere): Google \
         Cloud credentials"
    );
    // Write-only names do not make reads critical: an unlisted dot-file in a home is high;
    // plain directories raise nothing.
    assert_eq!(
        table.reasons(ScopeKind::FilesRead, "/root/.bashrc", &lexical),
        vec![(
            Risk::High,
            "`.bashrc` in the home `/root`: an unlisted dot-directory or dot-file in a home, \
             where tools keep keys, tokens and start-up files"
                .to_string()
        )]
    );
    for path in [
        "/root/projects/app",
        "/home/bob/src",
        "/home/alice/aegisclaw-quickstart/input",
    ] {
        assert_eq!(
            table.reasons(ScopeKind::FilesWrite, path, &lexical),
            vec![],
            "{path}"
        );
    }
}

#[test]
fn contained_paths_are_counted_past_the_first_three() {
    let table = table();
    let reasons = reasons(
        &table,
        ScopeKind::FilesRead,
        "/var",
        &context("/home/alice", None),
    );
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    assert!(
        reasons[0]
            .starts_with("contains sensitive path `/run/docker.sock` (as `/var/run/docker.sock`)"),
        "{reasons:?}"
    );
    assert!(
        reasons[3].starts_with("and ") && reasons[3].ends_with(" more sensitive paths inside it"),
        "{reasons:?}"
    );
}

#[test]
fn unusable_homes_rate_critical_and_say_why() {
    let table = table();
    let relative = ScopeContext {
        user_home: Some("home/alice".into()),
        aegisclaw_home: None,
        program: None,
        resolve: None,
        homes: Vec::new(),
    };
    assert_eq!(
        table.reasons(ScopeKind::FilesRead, "/tmp/x", &relative),
        vec![(
            Risk::Critical,
            "user home `home/alice` is not an absolute path without `..`".to_string()
        )]
    );
}

static RESOLVED: AtomicUsize = AtomicUsize::new(0);

fn counting(path: &Path) -> Option<PathBuf> {
    RESOLVED.fetch_add(1, Ordering::SeqCst);
    linked_host(path)
}

#[test]
fn each_entry_is_resolved_once_per_context() {
    let table = table();
    let alice = context("/data/home/alice", Some(counting));
    let before = RESOLVED.load(Ordering::SeqCst);
    reasons(&table, ScopeKind::FilesRead, "/data/home/bob", &alice);
    let once = RESOLVED.load(Ordering::SeqCst) - before;
    let (paths, names, _, _) = table.counts();
    // Every path entry and every name (as `~/<name>`), each resolved exactly once; the running
    // binary's directory is not known in this context.
    assert_eq!(once, paths - 1 + names);
    for path in ["/etc", "/tmp/input", "/vault/ssh"] {
        table.reasons(ScopeKind::FilesWrite, path, &alice);
        table.reasons(ScopeKind::FilesWrite, path, &alice.clone());
    }
    assert_eq!(RESOLVED.load(Ordering::SeqCst) - before, once);
    // Another context is another table.
    table.reasons(
        ScopeKind::FilesRead,
        "/etc",
        &context("/home/bob", Some(counting)),
    );
    assert_eq!(RESOLVED.load(Ordering::SeqCst) - before, 2 * once);
}

#[test]
fn an_unresolvable_entry_is_still_compared_as_written() {
    fn nothing(_: &Path) -> Option<PathBuf> {
        None
    }
    fn relative(_: &Path) -> Option<PathBuf> {
        Some(PathBuf::from("relative/x"))
    }
    let table = table();
    for resolve in [nothing as PathResolver, relative] {
        let context = context("/home/alice", Some(resolve));
        assert_eq!(
            reasons(&table, ScopeKind::FilesRead, "/etc/shadow", &context),
            vec![
                "inside sensitive path `/etc`: host configuration: password hashes, sudoers, ssh \
                 host keys, TLS keys and service credentials; a write changes users, sudo rules, \
                 cron jobs (`/etc/cron*`) and systemd units (`/etc/systemd`) that run as root"
            ]
        );
        assert_eq!(
            table.reasons(ScopeKind::FilesRead, "/relative/x", &context),
            vec![]
        );
    }
}
