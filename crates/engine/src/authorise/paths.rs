//! Step 4 of authorisation for scopes that name host objects (DESIGN §3): every `files.read`,
//! `files.write` and `unix.connect` path is opened once (symlinks followed), and the scope is
//! re-parsed as `kind:<resolved path>`, so rating, policy, grants and the bind all see the
//! object that will be bound. Also the scope context: the user's home and the AegisClaw home
//! resolved, and a lenient resolver for the sensitive-path table. Decides nothing itself.

use aegisclaw_core::scope::{Risk, Scope, ScopeContext, ScopeError, ScopeKind, Target};
use aegisclaw_sandbox::path::{ObjectKind, OpenedPath, PathError, open_scope_path};
use std::path::{Path, PathBuf};

/// A parsed scope, resolved: the text policy decides, what was asked, and the opened object.
#[derive(Debug)]
pub(super) struct ResolvedScope {
    /// The scope to rate and decide; for a path scope, its target is the resolved path.
    pub(super) scope: Scope,
    /// The text as asked, when it differs from the scope decided on.
    pub(super) requested: Option<String>,
    /// The opened object of a `files.*` or `unix.connect` scope.
    pub(super) opened: Option<OpenedPath>,
}

impl ResolvedScope {
    /// The rating of the path as it was written, when it differs from the resolved one and
    /// rates higher: the written spelling counts too (`/proc/<pid>/root/...` names an object in
    /// another mount namespace by a path the kernel reports as that namespace's, and `/proc` is
    /// the host itself). The reason names the written path.
    pub(super) fn as_written(&self, context: &ScopeContext) -> Option<(Risk, String)> {
        let written = Scope::parse(self.requested.as_deref()?, context).ok()?;
        let Target::Path(path) = written.target() else {
            return None;
        };
        let rating = written.rating(context);
        if rating.risk <= self.scope.rating(context).risk {
            return None;
        }
        let why = rating.reasons.into_iter().next().unwrap_or_default();
        Some((
            rating.risk,
            format!("as written, `{}`: {why}", path.display()),
        ))
    }
}

/// Why a scope is refused before any decision. Every message names the scope.
#[derive(Debug, thiserror::Error)]
pub enum ScopePathError {
    /// The text does not parse (or its resolved form does not).
    #[error(transparent)]
    Parse(#[from] ScopeError),
    /// The scope parses, but no runtime of this build enforces its kind.
    #[error(transparent)]
    Unenforced(#[from] crate::runtime::UnenforcedScope),
    /// The path cannot be opened (missing, unreadable, removed); the source says why.
    #[error("scope `{text}`")]
    Open {
        /// The scope text.
        text: String,
        /// Why.
        #[source]
        source: PathError,
    },
    /// A `files.*` scope on a unix socket.
    #[error(
        "scope `{text}`: `{path}` is a unix socket, and `files.*` never grants connect(): ask for `unix.connect:{path}`"
    )]
    SocketNeedsConnect {
        /// The scope text.
        text: String,
        /// The socket's resolved path.
        path: PathBuf,
    },
    /// A `files.*` scope naming a set-user-ID or set-group-ID file: `write(2)` clears the
    /// bit, a store through a shared mapping does not, so a writer could change what the
    /// program does while it keeps its owner's rights (a reader gains nothing, but the rule is
    /// kept simple: no scope names a set-id file).
    #[error(
        "scope `{text}`: `{path}` is a set-user-ID or set-group-ID program, which no `files.*` scope may name (a store through a shared mapping would keep its bit)"
    )]
    SetIdFile {
        /// The scope text.
        text: String,
        /// The file's resolved path.
        path: PathBuf,
    },
    /// A `unix.connect` scope on something else.
    #[error("scope `{text}`: `{path}` is a {kind}, not a unix socket")]
    NotASocket {
        /// The scope text.
        text: String,
        /// The resolved path.
        path: PathBuf,
        /// What it is.
        kind: &'static str,
    },
}

/// The context scopes are parsed and rated in: both homes resolved (so `~` and the AegisClaw
/// home match the resolved paths scopes bind), the running binary (`/proc/self/exe`, which the
/// kernel resolves; its directory is sensitive to write), and [`resolve_leniently`] for the
/// table.
pub(crate) fn scope_context(user_home: Option<PathBuf>, aegisclaw_home: &Path) -> ScopeContext {
    let mut context = scope_context_without_homes(user_home, aegisclaw_home);
    context.homes = passwd_homes();
    context
}

/// The same without the user database's homes, for a run that rates no path (no scope, the
/// distribution's CA store): reading and resolving every user's home is then wasted work at
/// each start. Anything that rates a path takes [`scope_context`].
pub(crate) fn scope_context_without_homes(
    user_home: Option<PathBuf>,
    aegisclaw_home: &Path,
) -> ScopeContext {
    let resolved = |path: PathBuf| resolve_leniently(&path).unwrap_or(path);
    ScopeContext {
        user_home: user_home.map(resolved),
        aegisclaw_home: Some(resolved(aegisclaw_home.to_path_buf())),
        program: running_program(),
        resolve: Some(resolve_leniently),
        homes: Vec::new(),
    }
}

/// The user database read for homes: one bounded read, as for the actor's name.
const PASSWD: &str = "/etc/passwd";

/// Bytes of the user database read at most (a host with a directory service lists few local
/// users here).
const PASSWD_LIMIT: u64 = 1 << 20;

/// Trees whose directories are no one's home to the table (a service account's `/bin`,
/// `/usr/sbin`), or that the table rates whole already.
const NOT_HOMES: [&str; 7] = [
    "/bin",
    "/sbin",
    "/usr",
    "/dev",
    "/proc",
    "/sys",
    "/nonexistent",
];

/// Every user's home directory from `/etc/passwd` that exists now, resolved, outside `/root`,
/// `/home` and the system trees, once each: the table rates each like `/home/<user>`.
fn passwd_homes() -> Vec<PathBuf> {
    use std::io::Read;
    let mut text = String::new();
    let read = fs_err::File::open(PASSWD)
        .and_then(|file| file.take(PASSWD_LIMIT).read_to_string(&mut text));
    if read.is_err() {
        return Vec::new();
    }
    homes_in(&text, |path| {
        resolve_leniently(path).filter(|resolved| resolved.is_dir())
    })
}

/// The homes `passwd` names (field 6), each as `resolve` gives it (`None`: skipped).
fn homes_in(passwd: &str, resolve: impl Fn(&Path) -> Option<PathBuf>) -> Vec<PathBuf> {
    let mut homes: Vec<PathBuf> = Vec::new();
    for line in passwd.lines() {
        let Some(home) = line.split(':').nth(5) else {
            continue;
        };
        let home = Path::new(home);
        if !home.is_absolute() || home == Path::new("/") {
            continue;
        }
        let Some(home) = resolve(home) else { continue };
        let known = home == Path::new("/")
            || home.starts_with("/root")
            || home.parent() == Some(Path::new("/home"))
            || NOT_HOMES.iter().any(|tree| home.starts_with(tree));
        if !known && !homes.contains(&home) {
            homes.push(home);
        }
    }
    homes
}

/// The running binary, as the kernel names it (`/proc/self/exe`); a binary replaced since it
/// started keeps its directory (the kernel appends ` (deleted)` to the name). `None` only when
/// the kernel does not say, and then the directory is rated by the table alone.
fn running_program() -> Option<PathBuf> {
    let program = std::env::current_exe().ok()?;
    Some(resolve_leniently(&program).unwrap_or(program))
}

/// Resolves `path` as far as it exists: the deepest existing ancestor canonicalised, the
/// rest appended as written. `None` for a relative path or one with `..` past what exists.
pub(super) fn resolve_leniently(path: &Path) -> Option<PathBuf> {
    if !path.is_absolute() {
        return None;
    }
    let mut rest = Vec::new();
    let mut existing = path;
    loop {
        if let Ok(canonical) = fs_err::canonicalize(existing) {
            return Some(
                rest.iter()
                    .rev()
                    .fold(canonical, |path, part| path.join(part)),
            );
        }
        rest.push(existing.file_name()?);
        existing = existing.parent()?;
    }
}

/// Parses `text`; a `files.*` or `unix.connect` scope is opened (a path-less `files.*` scope
/// names `workdir`) and re-parsed as `kind:<resolved path>`.
pub(super) fn resolve_scope(
    text: &str,
    workdir: &Path,
    context: &ScopeContext,
) -> Result<ResolvedScope, ScopePathError> {
    let parsed = Scope::parse(text, context)?;
    let kind = parsed.kind();
    if !matches!(
        kind,
        ScopeKind::FilesRead | ScopeKind::FilesWrite | ScopeKind::UnixConnect
    ) {
        return Ok(ResolvedScope {
            scope: parsed,
            requested: None,
            opened: None,
        });
    }
    let path = match parsed.target() {
        Target::Path(path) => path.as_path(),
        _ => workdir,
    };
    let opened = open_scope_path(path).map_err(|source| ScopePathError::Open {
        text: text.to_string(),
        source,
    })?;
    match (kind, opened.kind()) {
        (ScopeKind::UnixConnect, ObjectKind::Socket) => {}
        (ScopeKind::UnixConnect, other) => {
            return Err(ScopePathError::NotASocket {
                text: text.to_string(),
                path: opened.path().to_path_buf(),
                kind: other.as_str(),
            });
        }
        (_, ObjectKind::Socket) => {
            return Err(ScopePathError::SocketNeedsConnect {
                text: text.to_string(),
                path: opened.path().to_path_buf(),
            });
        }
        (_, ObjectKind::File) if opened.is_set_id() => {
            return Err(ScopePathError::SetIdFile {
                text: text.to_string(),
                path: opened.path().to_path_buf(),
            });
        }
        _ => {}
    }
    let scope = Scope::parse(&format!("{kind}:{}", opened.path().display()), context)?;
    let decided = scope.to_string();
    Ok(ResolvedScope {
        requested: (text != decided).then(|| text.to_string()),
        scope,
        opened: Some(opened),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn context() -> ScopeContext {
        ScopeContext {
            user_home: None,
            aegisclaw_home: None,
            program: None,
            resolve: Some(resolve_leniently),
            homes: Vec::new(),
        }
    }

    #[test]
    fn lenient_resolution_canonicalises_what_exists_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let real = fs_err::canonicalize(dir.path()).unwrap().join("real");
        fs_err::create_dir(&real).unwrap();
        std::os::unix::fs::symlink(&real, dir.path().join("alias")).unwrap();
        assert_eq!(
            resolve_leniently(&dir.path().join("alias/not/yet")),
            Some(real.join("not/yet"))
        );
        assert_eq!(resolve_leniently(&dir.path().join("alias")), Some(real));
        assert_eq!(resolve_leniently(Path::new("relative")), None);
    }

    #[test]
    fn a_home_from_the_user_database_outside_home_and_root_is_a_home_of_the_context() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\n\
            sync:x:4:65534:sync:/bin:/bin/sync\n\
            nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n\
            alice:x:1000:1000::/home/alice:/bin/bash\n\
            games:x:5:60:games:/usr/games:/usr/sbin/nologin\n\
            odd:x:7:7::relative/home:/bin/sh\n\
            top:x:8:8::/:/bin/sh\n\
            bob:x:1001:1001::/export/home/bob:/bin/sh\n\
            bob2:x:1002:1001::/export/home/bob:/bin/sh\n\
            git:x:998:998::/var/opt/gitlab:/bin/sh\n\
            short:x:9\n";
        let homes = homes_in(passwd, |path| Some(path.to_path_buf()));
        assert_eq!(
            homes,
            vec![
                PathBuf::from("/export/home/bob"),
                PathBuf::from("/var/opt/gitlab")
            ]
        );
        // A home that does not exist now is not one.
        assert_eq!(homes_in(passwd, |_| None), Vec::<PathBuf>::new());
    }

    #[test]
    fn the_homes_are_resolved_in_the_scope_context() {
        let dir = tempfile::tempdir().unwrap();
        let real = fs_err::canonicalize(dir.path()).unwrap().join("real");
        fs_err::create_dir(&real).unwrap();
        std::os::unix::fs::symlink(&real, dir.path().join("alias")).unwrap();
        let context = scope_context(
            Some(dir.path().join("alias/user")),
            &dir.path().join("alias/home"),
        );
        assert_eq!(context.user_home, Some(real.join("user")));
        assert_eq!(context.aegisclaw_home, Some(real.join("home")));
        assert!(context.resolve.is_some());
        // The running binary (this test's), resolved.
        let program = fs_err::canonicalize(std::env::current_exe().unwrap()).unwrap();
        assert_eq!(context.program, Some(program));
    }

    #[test]
    fn a_path_scope_is_decided_as_what_it_resolves_to() {
        let dir = tempfile::tempdir().unwrap();
        let real = fs_err::canonicalize(dir.path()).unwrap().join("real");
        fs_err::create_dir(&real).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let text = format!("files.read:{}", link.display());
        let resolved = resolve_scope(&text, Path::new("/"), &context()).unwrap();
        assert_eq!(
            resolved.scope.to_string(),
            format!("files.read:{}", real.display())
        );
        assert_eq!(resolved.requested, Some(text));
        let opened = resolved.opened.unwrap();
        assert_eq!(
            (opened.path(), opened.kind()),
            (real.as_path(), ObjectKind::Directory)
        );
        // Already resolved: nothing else was asked.
        let text = format!("files.write:{}", real.display());
        let resolved = resolve_scope(&text, Path::new("/"), &context()).unwrap();
        assert_eq!(resolved.requested, None);
        // Path-less: the working directory, and the record keeps what was asked.
        let resolved = resolve_scope("files.read", &link, &context()).unwrap();
        assert_eq!(
            resolved.scope.to_string(),
            format!("files.read:{}", real.display())
        );
        assert_eq!(resolved.requested.as_deref(), Some("files.read"));
        // Other kinds are left as they are.
        let resolved = resolve_scope("net.outbound:example.com", &link, &context()).unwrap();
        assert_eq!(
            (
                resolved.scope.to_string(),
                resolved.requested,
                resolved.opened
            ),
            ("net.outbound:example.com".to_string(), None, None)
        );
    }

    #[test]
    fn missing_paths_and_sockets_of_the_wrong_kind_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let real = fs_err::canonicalize(dir.path()).unwrap();
        let socket = real.join("app.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let missing = real.join("missing");
        let cases = [
            (
                format!("files.read:{}", missing.display()),
                format!(
                    "scope `files.read:{m}`: `{m}` does not exist",
                    m = missing.display()
                ),
            ),
            (
                format!("files.write:{}", socket.display()),
                format!(
                    "scope `files.write:{s}`: `{s}` is a unix socket, and `files.*` never grants connect(): ask for `unix.connect:{s}`",
                    s = socket.display()
                ),
            ),
            (
                format!("unix.connect:{}", real.display()),
                format!(
                    "scope `unix.connect:{r}`: `{r}` is a directory, not a unix socket",
                    r = real.display()
                ),
            ),
        ];
        for (text, expected) in cases {
            let error = resolve_scope(&text, &real, &context()).unwrap_err();
            assert_eq!(crate::doctor::error_chain(&error), expected);
        }
        let resolved = resolve_scope(
            &format!("unix.connect:{}", socket.display()),
            &real,
            &context(),
        )
        .unwrap();
        assert_eq!(
            resolved.opened.map(|opened| opened.kind()),
            Some(ObjectKind::Socket)
        );
    }

    #[test]
    fn scopes_naming_set_id_files_are_refused_and_a_directory_holding_one_is_not() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let real = fs_err::canonicalize(dir.path()).unwrap();
        for (name, mode, refused) in [
            ("suid", 0o4755, true),
            ("sgid", 0o2711, true),
            ("plain", 0o0755, false),
        ] {
            let file = real.join(name);
            fs_err::write(&file, "#!/bin/sh\n").unwrap();
            fs_err::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
            // Through a symlink too: the object decides, not the name.
            let link = real.join(format!("{name}-link"));
            std::os::unix::fs::symlink(&file, &link).unwrap();
            for kind in ["files.read", "files.write"] {
                let text = format!("{kind}:{}", link.display());
                let result = resolve_scope(&text, &real, &context());
                if refused {
                    assert_eq!(
                        crate::doctor::error_chain(&result.unwrap_err()),
                        format!(
                            "scope `{text}`: `{f}` is a set-user-ID or set-group-ID program, which no `files.*` scope may name (a store through a shared mapping would keep its bit)",
                            f = file.display()
                        )
                    );
                } else {
                    assert!(result.is_ok(), "{text}");
                }
            }
        }
        // The directory holding them is not examined (docs/security.md: the residual).
        assert!(
            resolve_scope(
                &format!("files.write:{}", real.display()),
                &real,
                &context()
            )
            .is_ok()
        );
    }
}
