//! Escapes through what a scope path names: symlinks to the AegisClaw home, homes behind
//! symlinked parents, a swap racing the bind, and unix sockets (a `files.*` scope on one, and
//! `unix.connect`). Sockets reached under a bound directory are the seccomp suite's.

use super::*;
use std::os::unix::net::UnixListener;
use std::path::Path;

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap()
}

/// What a run could print if it read the home's private keys.
const KEY_MARKERS: [&str; 2] = ["ed25519-secret", "AGE-SECRET-KEY"];

fn assert_no_keys(outcome: &Outcome) {
    let all = format!("{}{}", outcome.stdout(), outcome.stderr());
    for marker in KEY_MARKERS {
        assert!(!all.contains(marker), "`{marker}` leaked:\n{all}");
    }
}

/// A script that prints the home's signing key, audit key and age identity.
fn read_keys(home: &Path) -> String {
    format!(
        "cat {h}/keys/signing.key {h}/keys/audit.key {h}/secrets/identity",
        h = home.display()
    )
}

#[test]
fn files_read_through_a_symlink_to_the_aegisclaw_home_is_denied_as_the_home() {
    let escape = Escape::with_policy("standard");
    let home = canonical(&escape.env.home());
    let link = escape.work.join("notes");
    std::os::unix::fs::symlink(&home, &link).unwrap();
    let asked = format!("files.read:{}", link.display());
    let outcome = escape.run(&[asked.as_str()], &read_keys(&home));
    assert_no_keys(&outcome);
    assert_eq!(outcome.code(), Some(1), "{}", outcome.stderr());
    let decision = outcome.record("policy.decision");
    assert_eq!(decision["scope"], format!("files.read:{}", home.display()));
    assert_eq!(decision["data"]["requested"], asked);
    assert_eq!(decision["data"]["risk"], "critical");
    assert_eq!(decision["decision"], "deny");
    assert_eq!(outcome.record("run.refused")["data"]["stage"], "policy");
    assert!(!outcome.has("run.launch"));
}

#[test]
fn files_read_through_a_symlink_to_the_aegisclaw_home_needs_approval_as_the_home() {
    let escape = Escape::new();
    let home = canonical(&escape.env.home());
    let link = escape.work.join("notes");
    std::os::unix::fs::symlink(&home, &link).unwrap();
    let asked = format!("files.read:{}", link.display());
    let outcome = escape.run(&[asked.as_str()], &read_keys(&home));
    assert_no_keys(&outcome);
    assert_eq!(outcome.code(), Some(1), "{}", outcome.stderr());
    let decision = outcome.record("policy.decision");
    assert_eq!(decision["scope"], format!("files.read:{}", home.display()));
    assert_eq!(decision["data"]["requested"], asked);
    assert_eq!(decision["decision"], "needs_approval");
    assert_eq!(decision["data"]["risk"], "critical");
    let refused = outcome.record("run.refused");
    assert_eq!(refused["data"]["stage"], "approval");
    // Nobody could answer; the question was about the home, not the link.
    assert_eq!(
        outcome.record("approval.denied")["scope"],
        format!("files.read:{}", home.display())
    );
    assert!(!outcome.has("run.launch"));
}

#[test]
fn files_write_through_a_symlink_cannot_replace_the_active_policy() {
    let escape = Escape::new();
    let home = canonical(&escape.env.home());
    let policy = home.join("policies/default.rego");
    let before = std::fs::read(&policy).unwrap();
    let link = escape.work.join("rules");
    std::os::unix::fs::symlink(home.join("policies"), &link).unwrap();
    let asked = format!("files.write:{}", link.display());
    let evil = "package aegisclaw.policy\ndefault allow := true\n";
    let outcome = escape.run(
        &[&asked],
        &format!(
            "printf '{evil}' > {}; printf '{evil}' > {}/default.rego",
            policy.display(),
            link.display()
        ),
    );
    assert_eq!(
        std::fs::read(&policy).unwrap(),
        before,
        "the policy changed"
    );
    assert_eq!(outcome.code(), Some(1), "{}", outcome.stderr());
    let decision = outcome.record("policy.decision");
    assert_eq!(
        decision["scope"],
        format!("files.write:{}", home.join("policies").display())
    );
    assert_eq!(decision["data"]["requested"], asked);
    assert_eq!(decision["data"]["risk"], "critical");
    assert_eq!(outcome.record("run.refused")["data"]["stage"], "approval");
    assert!(!outcome.has("run.launch"));
}

/// A home and a user directory reached through a symlinked parent: `AEGISCLAW_HOME` and
/// `HOME` name `<dir>/alias/...`, where `alias` links to `<dir>/real`.
struct AliasedHomes {
    _dir: tempfile::TempDir,
    real: PathBuf,
    alias: PathBuf,
}

impl AliasedHomes {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let real = canonical(dir.path()).join("real");
        let alias = dir.path().join("alias");
        for sub in ["user/.ssh", "work"] {
            std::fs::create_dir_all(real.join(sub)).unwrap();
        }
        std::fs::write(real.join("user/.ssh/id_ed25519"), "PRIVATE KEY MATERIAL").unwrap();
        std::os::unix::fs::symlink(&real, &alias).unwrap();
        let this = Self {
            _dir: dir,
            real,
            alias,
        };
        let init = this.run(&["init", "--defaults", "--policy", "permissive"]);
        assert!(init.output.status.success(), "{:?}", init.output);
        this
    }

    fn run(&self, args: &[&str]) -> Outcome {
        let log = self.real.join("home/audit/audit.jsonl");
        let lines = |log: &Path| -> Vec<Value> {
            std::fs::read_to_string(log)
                .unwrap_or_default()
                .lines()
                .map(|line| serde_json::from_str(line).unwrap())
                .collect()
        };
        let before = lines(&log).len();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_aegisclaw"))
            .args(args)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("AEGISCLAW_HOME", self.alias.join("home"))
            .env("AEGISCLAW_ACTOR", "tester")
            .env("HOME", self.alias.join("user"))
            .env("NO_COLOR", "1")
            .current_dir(self.real.join("work"))
            .output()
            .unwrap();
        Outcome {
            output,
            records: lines(&log).split_off(before),
        }
    }
}

#[test]
fn aegisclaw_home_and_user_home_behind_a_symlinked_parent_are_still_sensitive() {
    let homes = AliasedHomes::new();
    // Each scope names a real path, no symlink in it: only resolving both homes shows that
    // it is the AegisClaw home, the user's `.ssh`, or the user's whole home.
    let home = homes.real.join("home");
    let user = homes.real.join("user");
    let script = format!(
        "{}; cat {}/.ssh/id_ed25519",
        read_keys(&home),
        user.display()
    );
    for scope in [
        format!("files.read:{}", home.display()),
        format!("files.read:{}/.ssh", user.display()),
        format!("files.read:{}", user.display()),
    ] {
        let outcome = homes.run(&[
            "sandbox", "run", "--scope", &scope, "--", "sh", "-c", &script,
        ]);
        assert_no_keys(&outcome);
        assert!(!outcome.stdout().contains("PRIVATE"), "{scope}");
        assert_eq!(outcome.code(), Some(1), "{scope}: {}", outcome.stderr());
        let decision = outcome.record("policy.decision");
        assert_eq!(decision["scope"], scope);
        assert_eq!(decision["data"]["risk"], "critical", "{scope}");
        assert_eq!(decision["decision"], "needs_approval", "{scope}");
        assert_eq!(outcome.record("run.refused")["data"]["stage"], "approval");
        assert!(!outcome.has("run.launch"), "{scope}");
    }
}

/// How one run of the race ended. Whatever the swapper did, the scope was decided on what
/// the opened path resolved to (the directory, under whichever of its two names it had when
/// the kernel named the descriptor, or the secret through the symlink), and a run either bound
/// exactly that or failed.
#[derive(Debug, PartialEq, Eq, Hash)]
enum RaceEnd {
    /// Bound the directory as `scoped` and read its marker.
    Original,
    /// Bound the directory under the other name it had when opened (`scoped.swap`).
    Renamed,
    /// The path named another object (or a symlink) when the child bound it.
    FailedAtTheBind,
    /// Opened through the symlink: decided on as the secret directory, critical, refused.
    RefusedAsTheSecret,
}

fn race_end(outcome: &Outcome, scoped: &Path, swap: &Path, secret: &Path) -> Option<RaceEnd> {
    let decided = outcome.record("policy.decision")["scope"]
        .as_str()?
        .to_string();
    let path = decided.strip_prefix("files.read:")?;
    if path == secret.display().to_string() {
        let refused = outcome.code() == Some(1)
            && outcome.record("policy.decision")["data"]["risk"] == "critical"
            && outcome.has("run.refused")
            && !outcome.has("run.launch");
        return refused.then_some(RaceEnd::RefusedAsTheSecret);
    }
    if path != scoped.display().to_string() && path != swap.display().to_string() {
        return None;
    }
    if outcome.has("run.failed") {
        let failed = outcome.record("run.failed");
        let named = failed["reason"].as_str().is_some_and(|reason| {
            reason.contains(&format!(
                "`{path}` changed between the decision and the bind"
            ))
        });
        return (outcome.code() == Some(1) && failed["data"]["layer"] == "scope bind" && named)
            .then_some(RaceEnd::FailedAtTheBind);
    }
    // Launched: what was bound is what was decided.
    if outcome.record("run.launch")["data"]["mounts"][0]["path"] != path
        || outcome.code() != Some(0)
    {
        return None;
    }
    match outcome.stdout().as_str() {
        "original\n" if path == scoped.display().to_string() => Some(RaceEnd::Original),
        "" if path == swap.display().to_string() => Some(RaceEnd::Renamed),
        _ => None,
    }
}

#[test]
fn swapping_the_scoped_directory_for_a_relative_symlink_during_runs_never_binds_the_secret() {
    let escape = Escape::new();
    let work = canonical(&escape.work);
    let user = canonical(&escape.env.home().with_file_name("user"));
    let secret = user.join(".ssh/secret");
    std::fs::create_dir_all(&secret).unwrap();
    std::fs::write(secret.join("marker"), "SECRET-MATERIAL\n").unwrap();
    let scoped = work.join("scoped");
    std::fs::create_dir(&scoped).unwrap();
    std::fs::write(scoped.join("marker"), "original\n").unwrap();
    // The swap partner: a relative symlink to the secret directory. The swapper exchanges the
    // two names atomically (renameat2 RENAME_EXCHANGE), so `scoped` is always one or the other.
    let swap = work.join("scoped.swap");
    std::os::unix::fs::symlink("../user/.ssh/secret", &swap).unwrap();
    let stop = work.with_file_name("stop-swapping");
    let swapper = std::process::Command::new("python3")
        .arg("-c")
        .arg(concat!(
            "import ctypes, os, sys, time\n",
            "libc = ctypes.CDLL(None, use_errno=True)\n",
            "a, b, stop = (p.encode() for p in sys.argv[1:4])\n",
            "flips = 0\n",
            "while not os.path.exists(stop):\n",
            "    if libc.renameat2(-100, a, -100, b, 2) != 0:\n",
            "        sys.exit('renameat2: %d' % ctypes.get_errno())\n",
            "    flips += 1\n",
            "    time.sleep(0.0007)\n",
            "if flips % 2:\n",
            "    libc.renameat2(-100, a, -100, b, 2)\n",
            "print(flips)\n",
        ))
        .args([&scoped, &swap, &stop])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let script = format!(
        "cat {}/marker; cat {}/marker 2>/dev/null; true",
        scoped.display(),
        secret.display()
    );
    let scope = format!("files.read:{}", scoped.display());
    let mut ends = std::collections::HashMap::new();
    for run in 0..60 {
        let outcome = escape.run(&[scope.as_str()], &script);
        let all = format!("{}{}", outcome.stdout(), outcome.stderr());
        assert!(
            !all.contains("SECRET-MATERIAL"),
            "run {run} read the secret:\n{all}\n{:#?}",
            outcome.records
        );
        match race_end(&outcome, &scoped, &swap, &secret) {
            Some(end) => *ends.entry(end).or_insert(0) += 1,
            None => panic!("run {run} ended otherwise:\n{all}\n{:#?}", outcome.records),
        }
    }
    std::fs::write(&stop, "").unwrap();
    let swapped = swapper.wait_with_output().unwrap();
    assert!(swapped.status.success(), "{swapped:?}");
    let flips: u64 = String::from_utf8_lossy(&swapped.stdout)
        .trim()
        .parse()
        .unwrap();
    eprintln!("60 runs against {flips} swaps: {ends:?}");
    assert!(flips > 60, "the swapper hardly ran: {flips} swaps");
}

/// A unix socket on the host with a thread answering `pong` to whoever connects.
struct HostSocket {
    path: PathBuf,
    listener: UnixListener,
}

impl HostSocket {
    fn bind(path: PathBuf) -> Self {
        let listener = UnixListener::bind(&path).unwrap();
        listener.set_nonblocking(true).unwrap();
        Self { path, listener }
    }

    /// Whether anything connected (and, if so, answers it).
    fn was_reached(&self) -> bool {
        match self.listener.accept() {
            Ok((mut stream, _)) => {
                use std::io::Write as _;
                let _ = stream.write_all(b"pong");
                true
            }
            Err(_) => false,
        }
    }

    /// Answers the first connection (`ping`, then `pong`) on a thread, for up to 20 s; the
    /// thread returns whether one came.
    fn serve(&self) -> std::thread::JoinHandle<bool> {
        let listener = self.listener.try_clone().unwrap();
        std::thread::spawn(move || {
            use std::io::{Read as _, Write as _};
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
            while std::time::Instant::now() < deadline {
                match listener.accept() {
                    Ok((mut stream, _)) => {
                        stream.set_nonblocking(false).unwrap();
                        let mut ping = [0u8; 4];
                        let _ = stream.read_exact(&mut ping);
                        let _ = stream.write_all(b"pong");
                        return true;
                    }
                    Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
                }
            }
            false
        })
    }
}

/// A python one-liner connecting to the unix socket at `path`, sending `ping` and printing
/// the answer (or the error).
fn connect_to(path: &Path) -> String {
    python(&format!(
        "import socket\ns=socket.socket(socket.AF_UNIX)\ns.settimeout(5)\ntry:\n    s.connect(\"{}\"); s.sendall(b\"ping\"); print(\"ANSWER\", s.recv(4).decode())\nexcept OSError as e:\n    print(\"REFUSED\", e.errno)",
        path.display()
    ))
}

#[test]
fn files_read_on_a_host_unix_socket_is_refused_before_anything_runs() {
    let escape = Escape::new();
    let work = canonical(&escape.work);
    let socket = HostSocket::bind(work.join("tmux.sock"));
    for kind in ["files.read", "files.write"] {
        let scope = format!("{kind}:{}", socket.path.display());
        let outcome = escape.run(&[scope.as_str()], &connect_to(&socket.path));
        assert!(!socket.was_reached(), "the run reached the host socket");
        assert!(!outcome.stdout().contains("ANSWER"), "{}", outcome.stdout());
        assert_eq!(outcome.code(), Some(1), "{}", outcome.stderr());
        let refused = outcome.record("run.refused");
        assert_eq!(refused["data"]["stage"], "scope");
        assert_eq!(
            refused["reason"],
            format!(
                "scope `{scope}`: `{s}` is a unix socket, and `files.*` never grants connect(): ask for `unix.connect:{s}`",
                s = socket.path.display()
            )
        );
        assert!(!outcome.has("run.launch"));
    }
}

/// A file of the host's `/usr` (which every run sees), removed on drop.
struct UnderUsr(PathBuf);

impl Drop for UnderUsr {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn a_host_socket_under_usr_is_unreachable_from_a_run_without_unix_connect() {
    if !running_as_root() {
        eprintln!("skipped: only root can make a socket under /usr");
        return;
    }
    let escape = Escape::new();
    // Where a root service might keep one; every run sees /usr, scopes or not.
    let path = PathBuf::from(format!(
        "/usr/local/lib/aegisclaw-escape-{}.sock",
        std::process::id()
    ));
    let _cleanup = UnderUsr(path.clone());
    let service = HostSocket::bind(path);
    for scopes in [&[][..], &["files.read"][..]] {
        // Like `connect_to`, with the socket made inside the `try` too.
        let attempt = python(&format!(
            "import socket\ntry:\n    s = socket.socket(socket.AF_UNIX)\n    s.settimeout(5)\n    s.connect(\"{}\"); print(\"ANSWER\")\nexcept OSError as e:\n    print(\"REFUSED\", e.errno)",
            service.path.display()
        ));
        let outcome = escape.run(scopes, &attempt);
        assert!(
            !service.was_reached(),
            "{scopes:?}: the run reached the host socket"
        );
        // EACCES: from Landlock's connect check (ABI 9, the run keeping its own sockets), or
        // below it from socket(AF_UNIX) itself.
        assert_eq!(outcome.stdout(), "REFUSED 13\n", "{scopes:?}");
        let enforcement = &outcome.finished()["data"]["enforcement"];
        let expected = if enforcement["landlock_abi"].as_u64().unwrap() >= 9 {
            "any"
        } else {
            "pairs_only"
        };
        assert_eq!(enforcement["unix_sockets"], expected, "{scopes:?}");
    }
}

#[test]
fn unix_connect_scope_reaches_its_socket_and_no_other() {
    let escape = Escape::new();
    let work = canonical(&escape.work);
    let service = HostSocket::bind(work.join("service.sock"));
    let other = HostSocket::bind(work.join("other.sock"));
    let answering = service.serve();
    let scope = format!("unix.connect:{}", service.path.display());
    let outcome = escape.run(
        &[&scope],
        &format!("{}; {}", connect_to(&service.path), connect_to(&other.path)),
    );
    assert!(
        answering.join().unwrap(),
        "the scoped socket was never reached"
    );
    // ENOENT: the other socket is not in the run's view at all.
    assert_eq!(
        outcome.stdout(),
        "ANSWER pong\nREFUSED 2\n",
        "{}",
        outcome.stderr()
    );
    assert!(!other.was_reached(), "the run reached an unscoped socket");
    let decision = outcome.record("policy.decision");
    assert_eq!(decision["scope"], scope);
    assert_eq!(decision["data"]["risk"], "high");
    assert_eq!(
        outcome.record("run.launch")["data"]["mounts"],
        serde_json::json!([{
            "path": service.path,
            "access": "connect",
            "kind": "socket",
            "read_only": true,
        }])
    );
    assert_eq!(
        outcome.finished()["data"]["enforcement"]["unix_sockets"],
        "any"
    );
}

#[test]
fn unix_connect_beside_a_bound_directory_is_refused_below_landlock_9() {
    let escape = Escape::new();
    let abi = escape.run(&[], "true").finished()["data"]["enforcement"]["landlock_abi"]
        .as_u64()
        .unwrap();
    let work = canonical(&escape.work);
    let service = HostSocket::bind(work.join("service.sock"));
    let socket_scope = format!("unix.connect:{}", service.path.display());
    if abi >= 9 {
        // Landlock confines connect() to the scoped socket: both scopes are enforced.
        let answering = service.serve();
        let outcome = escape.run(
            &["files.read", socket_scope.as_str()],
            &connect_to(&service.path),
        );
        assert!(answering.join().unwrap());
        assert_eq!(outcome.stdout(), "ANSWER pong\n", "{}", outcome.stderr());
        outcome.finished();
        return;
    }
    let outcome = escape.run(
        &["files.read", socket_scope.as_str()],
        &connect_to(&service.path),
    );
    assert!(!service.was_reached(), "the run reached the socket");
    assert!(!outcome.stdout().contains("ANSWER"));
    assert_eq!(outcome.code(), Some(1), "{}", outcome.stderr());
    let failed = outcome.record("run.failed");
    assert_eq!(failed["data"]["layer"], "plan");
    assert_eq!(
        failed["reason"],
        format!(
            "the sandbox cannot be planned: `{socket_scope}` cannot be enforced beside a bound directory on Landlock ABI {abi}: the run would have to be allowed unix sockets, and those reach every host socket under the bound directories (Landlock ABI 9 confines them)"
        )
    );
    assert!(!outcome.has("run.launch"));
}

#[test]
fn a_scope_on_a_missing_path_is_refused_at_the_scope_stage() {
    let escape = Escape::new();
    let missing = canonical(&escape.work).join("not-there");
    let scope = format!("files.read:{}", missing.display());
    let outcome = escape.run(&[scope.as_str()], "echo SHOULD_NOT_RUN");
    assert_eq!(outcome.code(), Some(1));
    assert!(!outcome.stdout().contains("SHOULD_NOT_RUN"));
    let refused = outcome.record("run.refused");
    assert_eq!(refused["data"]["stage"], "scope");
    assert_eq!(
        refused["reason"],
        format!("scope `{scope}`: `{}` does not exist", missing.display())
    );
    assert!(!outcome.has("policy.decision"));
}

#[test]
fn run_launch_records_the_resolved_paths_that_were_bound() {
    let escape = Escape::new();
    let data = canonical(&escape.work).with_file_name("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("input.txt"), "data through a link\n").unwrap();
    let link = escape.work.join("input");
    std::os::unix::fs::symlink(&data, &link).unwrap();
    let asked = format!("files.read:{}", link.display());
    let outcome = escape.run(
        &[&asked],
        &format!(
            "cat {}/input.txt; test -e {} && echo VISIBLE || echo ABSENT",
            data.display(),
            link.display()
        ),
    );
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    // Bound at the path it resolves to; the link itself is not in the run's view.
    assert_eq!(outcome.stdout(), "data through a link\nABSENT\n");
    let decided = format!("files.read:{}", data.display());
    let decision = outcome.record("policy.decision");
    assert_eq!(decision["scope"], decided);
    assert_eq!(decision["data"]["requested"], asked);
    assert_eq!(
        outcome.record("run.authorised")["data"]["scopes"],
        serde_json::json!([decided, "shell.exec"])
    );
    assert_eq!(
        outcome.record("run.launch")["data"]["mounts"],
        serde_json::json!([{
            "path": data,
            "access": "read",
            "kind": "directory",
            "read_only": true,
        }])
    );
    outcome.finished();
}

#[test]
fn an_unprivileged_run_is_bound_from_the_decision_too() {
    // As `nobody`, the clone of the scope's tree and its move happen in a user namespace of
    // the run's own; the scope still resolves through the link and binds what it names.
    let user = Unprivileged::new();
    let data = canonical(&user.work).with_file_name("data");
    std::fs::create_dir_all(&data).unwrap();
    std::fs::write(data.join("input.txt"), "read as nobody\n").unwrap();
    give_to_nobody(&data);
    let link = user.work.join("input");
    std::os::unix::fs::symlink(&data, &link).unwrap();
    let asked = format!("files.read:{}", link.display());
    let run = user.run(&[
        "sandbox",
        "run",
        "--scope",
        &asked,
        "--",
        "cat",
        &format!("{}/input.txt", data.display()),
    ]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(
        (run.status.code(), stdout.as_ref()),
        (Some(0), "read as nobody\n"),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let records = user.records();
    let decision = records
        .iter()
        .find(|record| record["kind"] == "policy.decision")
        .unwrap();
    assert_eq!(decision["scope"], format!("files.read:{}", data.display()));
    assert_eq!(decision["data"]["requested"], asked);
    let launch = records
        .iter()
        .find(|record| record["kind"] == "run.launch")
        .unwrap();
    assert_eq!(
        launch["data"]["mounts"][0]["path"],
        data.display().to_string()
    );
}

#[test]
fn files_read_of_a_project_env_file_below_a_plain_directory_is_refused_as_critical() {
    let escape = Escape::new();
    let project = canonical(&escape.env.dir.path().join("user")).join("work/app");
    std::fs::create_dir_all(&project).unwrap();
    let env_file = project.join(".env");
    std::fs::write(&env_file, "STRIPE_KEY=sk_live_hunter2\n").unwrap();
    let scope = format!("files.read:{}", env_file.display());
    let outcome = escape.run(&[&scope], &format!("cat {}", env_file.display()));
    assert!(
        !outcome.stdout().contains("hunter2"),
        "{}",
        outcome.stdout()
    );
    assert_refused_as_critical(&outcome, &scope);
}

#[test]
fn files_read_of_a_service_secret_under_run_is_not_allowed_without_approval() {
    // Attack pass 5: `files.read:/run/keys` was rated low, so `standard` let a run print a
    // deployment tool's decrypted service secret. Every read under /run that no entry makes
    // critical is high (asked about; refused with no approver), the stores named are critical.
    let Some(store) = tempfile::Builder::new()
        .prefix("aegisclaw-escape-")
        .tempdir_in("/run")
        .ok()
    else {
        eprintln!("SKIPPED: cannot make a directory under /run here (not root)");
        return;
    };
    let secret = store.path().join("db");
    std::fs::write(&secret, "db-password=hunter2\n").unwrap();
    let escape = Escape::with_policy("standard");
    let scope = format!("files.read:{}", store.path().display());
    let outcome = escape.run(&[&scope], &format!("cat '{}'", secret.display()));
    assert!(
        !outcome.stdout().contains("hunter2"),
        "{}",
        outcome.stdout()
    );
    assert_eq!(outcome.code(), Some(1), "{}", outcome.stderr());
    let decision = decision_on(&outcome, &scope);
    assert_eq!(decision["data"]["risk"], "high", "{decision}");
    assert_eq!(outcome.record("run.refused")["data"]["stage"], "approval");
    assert!(!outcome.has("run.launch"));
}

#[test]
fn a_directory_scoped_for_write_and_for_read_is_bound_once_writable_as_recorded() {
    // Attack pass 5: `files.write:W` and `files.read:` a link to W were both decided and
    // recorded as two mounts, one writable, while the read bind made the run's only mount
    // read-only. One object is one bind, with the widest access granted, and the record lists
    // the bind that was made.
    let escape = Escape::new();
    let dir = canonical(&escape.work).join("shared");
    std::fs::create_dir_all(&dir).unwrap();
    let link = escape.work.join("link");
    std::os::unix::fs::symlink(&dir, &link).unwrap();
    let write = format!("files.write:{}", dir.display());
    let read = format!("files.read:{}", link.display());
    let outcome = escape.run(
        &[&write, &read],
        &format!("touch '{}/made' && echo MADE", dir.display()),
    );
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    assert_eq!(outcome.stdout(), "MADE\n");
    assert!(dir.join("made").exists());
    assert_eq!(
        outcome.record("run.launch")["data"]["mounts"],
        serde_json::json!([{
            "path": dir,
            "access": "write",
            "kind": "directory",
            "read_only": false,
        }])
    );
}
