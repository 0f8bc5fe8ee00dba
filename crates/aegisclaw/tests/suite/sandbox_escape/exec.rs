//! Escapes through what a run may execute (DESIGN §3 `shell.exec`, Landlock's execute right):
//! programs it was not granted, the dynamic loader run as a program, binaries and scripts it
//! downloaded or wrote, memfds; and what `shell.exec:<cmd>`, a bare `shell.exec` and a
//! policy denying it grant. Each test checks the denial and what the records say was
//! executable.

use super::*;
use serde_json::json;
use std::os::unix::fs::PermissionsExt as _;

/// The host's shell and its loader, as the records name them (symlinks resolved).
fn shell_files() -> Value {
    let shell = std::fs::canonicalize("/bin/sh").unwrap();
    json!([
        {"path": shell, "role": "program"},
        {"path": loader(), "role": "loader"},
    ])
}

/// The host's dynamic loader, resolved (what `/lib64/ld-linux-x86-64.so.2` names here).
fn loader() -> PathBuf {
    std::fs::canonicalize("/lib64/ld-linux-x86-64.so.2").unwrap()
}

/// What the run could execute, as `run.launch` and `run.finished` both record it.
fn executable(outcome: &Outcome) -> Value {
    let launched = outcome.record("run.launch")["data"]["exec"].clone();
    let finished = outcome.finished()["data"]["enforcement"]["exec"].clone();
    assert_eq!(launched, finished);
    launched
}

#[test]
fn running_usr_bin_id_without_shell_exec_is_denied() {
    let escape = Escape::new();
    let outcome = escape.run_exact(
        &[],
        "echo from-sh; /usr/bin/id; echo id=$?; id; echo path=$?",
    );
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    assert_eq!(outcome.stdout(), "from-sh\nid=126\npath=126\n");
    assert!(
        outcome.stderr().contains("Permission denied"),
        "{}",
        outcome.stderr()
    );
    assert_eq!(
        executable(&outcome),
        json!({"kind": "only", "programs": [
            {"name": "sh", "source": "entrypoint", "files": shell_files()}
        ]})
    );
}

#[test]
fn the_loader_run_as_a_program_cannot_load_a_program_the_run_was_not_granted() {
    let escape = Escape::new();
    let outcome = escape.run_exact(
        &[],
        &format!("{} /usr/bin/id; echo loader=$?", loader().display()),
    );
    assert_eq!(outcome.stdout(), "loader=127\n", "{}", outcome.stderr());
    assert!(
        outcome
            .stderr()
            .contains("/usr/bin/id: cannot open shared object file"),
        "{}",
        outcome.stderr()
    );
    executable(&outcome);
}

/// Python that tries to run `path` three ways and prints how each went: `execve`, the dynamic
/// loader run as a program, and `ctypes` mapping it executable.
fn try_to_run(path: &str) -> String {
    format!(
        r#"
import ctypes, os, subprocess
path = {path:?}
for argv in ([path], [{loader:?}, path]):
    try:
        done = subprocess.run(argv, capture_output=True)
        print("ran" if done.returncode == 0 else "refused", done.returncode, done.stdout[:40])
    except OSError as error:
        print("refused", error.errno)
try:
    ctypes.CDLL(path)
    print("mapped")
except OSError as error:
    print("refused", "map" if "map" in str(error) else str(error))
"#,
        loader = loader().display().to_string(),
    )
}

#[test]
fn a_downloaded_binary_in_the_files_write_dir_cannot_run() {
    let escape = Escape::new();
    let world = World::create(10);
    // A real program, served by an origin the run may reach.
    std::fs::copy("/usr/bin/id", world._root.path().join("tool")).unwrap();
    let url = format!("http://{}:8080/tool", world.address);
    let host = format!("net.outbound:{}:8080", world.address);
    let code = format!(
        "import os, urllib.request\nopen('tool', 'wb').write(urllib.request.urlopen({url:?}).read())\nos.chmod('tool', 0o755)\n{}",
        try_to_run("./tool")
    );
    let outcome = escape.run_args(&[
        "sandbox",
        "run",
        "--scope",
        "files.write",
        "--scope",
        &host,
        "--",
        "python3",
        "-c",
        &code,
    ]);
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    // It arrived whole and executable, and still cannot run: not by exec (Landlock), not by
    // the loader nor by mapping it (the files.write bind is noexec).
    assert_eq!(
        std::fs::read(escape.work.join("tool")).unwrap(),
        std::fs::read("/usr/bin/id").unwrap()
    );
    assert_eq!(
        outcome.stdout(),
        "refused 13\nrefused 127 b''\nrefused map\n",
        "{}",
        outcome.stderr()
    );
    let programs = &executable(&outcome)["programs"];
    assert_eq!(programs.as_array().unwrap().len(), 1, "{programs}");
    assert_eq!(programs[0]["name"], "python3");
    let mounts = &outcome.record("run.launch")["data"]["mounts"];
    assert_eq!(mounts[0]["access"], "write", "{mounts}");
}

#[test]
fn a_script_the_run_wrote_cannot_be_executed() {
    let escape = Escape::new();
    let code = "
import os, subprocess
for path in ('./wrote.sh', '/tmp/wrote.sh'):
    open(path, 'w').write('#!/bin/sh\\necho pwned\\n')
    os.chmod(path, 0o755)
    try:
        print(subprocess.run([path], capture_output=True).stdout)
    except OSError as error:
        print('refused', error.errno)
";
    let outcome = escape.run_args(&[
        "sandbox",
        "run",
        "--scope",
        "files.write",
        "--",
        "python3",
        "-c",
        code,
    ]);
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    assert_eq!(outcome.stdout(), "refused 13\nrefused 13\n");
    assert!(escape.work.join("wrote.sh").exists());
    executable(&outcome);
}

#[test]
fn a_memfd_the_run_filled_with_a_program_cannot_be_executed() {
    let escape = Escape::new();
    let payload = escape.work.with_file_name("payload");
    std::fs::create_dir_all(&payload).unwrap();
    std::fs::copy("/usr/bin/id", payload.join("id")).unwrap();
    let code = format!(
        r#"
import os, subprocess
data = open({path:?}, 'rb').read()
for flags in (0, 0x10):  # none, MFD_EXEC
    try:
        fd = os.memfd_create('run', flags)
    except OSError as error:
        print('no memfd', flags, error.errno)
        continue
    os.write(fd, data)
    try:
        print(subprocess.run(['/proc/self/fd/%d' % fd], pass_fds=[fd], capture_output=True).stdout)
    except OSError as error:
        print('refused', flags, error.errno)
"#,
        path = payload.join("id").display().to_string()
    );
    let read = format!("files.read:{}", payload.display());
    let outcome = escape.run_args(&[
        "sandbox", "run", "--scope", &read, "--", "python3", "-c", &code,
    ]);
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    // A run limited to its files gets no memfd at all (ENOSYS), root or not.
    assert_eq!(outcome.stdout(), "no memfd 0 38\nno memfd 16 38\n");
    let enforcement = &outcome.finished()["data"]["enforcement"];
    assert_eq!(enforcement["exec_memory"], "files_only");
    assert_eq!(enforcement["memfd_noexec"], running_as_root());
}

/// A shared library of the host's, for a run to copy and try to load.
fn a_host_library() -> PathBuf {
    [
        "/usr/lib/x86_64-linux-gnu/libm.so.6",
        "/usr/lib/aarch64-linux-gnu/libm.so.6",
        "/usr/lib64/libm.so.6",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|path| path.is_file())
    .expect("no libm.so.6 on this host")
}

#[test]
fn a_library_the_run_downloaded_cannot_be_loaded_from_a_memfd_shared_memory_or_its_files() {
    // Attack pass 5: an interpreter the run may execute (python3 with ctypes) loaded native
    // code the run fetched, from a memfd (`dlopen("/proc/self/fd/N")`), which no mount flag
    // or Landlock rule sees. Every writable object the run has is closed to code: memfds are
    // refused, System V shared memory never attaches executable, and the files it writes (its
    // /tmp, a files.write bind) are on noexec mounts.
    let escape = Escape::new();
    let payload = escape.work.with_file_name("library");
    std::fs::create_dir_all(&payload).unwrap();
    std::fs::copy(a_host_library(), payload.join("lib.so")).unwrap();
    let code = format!(
        r#"
import ctypes, os
data = open({path:?}, 'rb').read()
try:
    fd = os.memfd_create('lib')
    os.write(fd, data)
    ctypes.CDLL('/proc/self/fd/%d' % fd)
    print('memfd loaded')
except OSError as error:
    print('memfd refused', error.errno)
for where in ('/tmp/lib.so', 'lib.so'):
    open(where, 'wb').write(data)
    try:
        ctypes.CDLL(os.path.abspath(where))
        print('loaded', where)
    except OSError as error:
        print('refused', where, 'failed to map' in str(error))
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
shm = libc.shmget(0, 4096, 0o1600)
for flags in (0o100000, 0):  # SHM_EXEC, none
    at = libc.shmat(shm, None, flags)
    print('shmat', flags, 'refused %d' % ctypes.get_errno() if at in (None, 2**64 - 1) else 'attached')
"#,
        path = payload.join("lib.so").display().to_string()
    );
    let read = format!("files.read:{}", payload.display());
    let outcome = escape.run_args(&[
        "sandbox",
        "run",
        "--scope",
        &read,
        "--scope",
        "files.write",
        "--",
        "python3",
        "-c",
        &code,
    ]);
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    assert_eq!(
        outcome.stdout(),
        "memfd refused 38\nrefused /tmp/lib.so True\nrefused lib.so True\nshmat 32768 refused 1\nshmat 0 attached\n",
        "{}",
        outcome.stderr()
    );
    // The record says what the run could not do, and that python3 was all it could execute.
    let enforcement = &outcome.finished()["data"]["enforcement"];
    assert_eq!(enforcement["exec_memory"], "files_only");
    assert_eq!(enforcement["exec"]["kind"], "only");
    assert_eq!(executable(&outcome)["programs"][0]["name"], "python3");
}

#[test]
fn shell_exec_ls_runs_ls_and_nothing_else() {
    let escape = Escape::new();
    let outcome = escape.run_exact(
        &["shell.exec:ls"],
        "ls -d /usr; id; echo id=$?; cat /etc/passwd; echo cat=$?",
    );
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    assert_eq!(outcome.stdout(), "/usr\nid=126\ncat=126\n");
    let ls = std::fs::canonicalize("/usr/bin/ls").unwrap();
    assert_eq!(
        executable(&outcome),
        json!({"kind": "only", "programs": [
            {"name": "sh", "source": "entrypoint", "files": shell_files()},
            {"name": "ls", "source": "command", "files": [
                {"path": ls, "role": "program"},
                {"path": loader(), "role": "loader"},
            ]},
        ]})
    );
}

#[test]
fn a_bare_shell_exec_runs_any_program() {
    let escape = Escape::new();
    let outcome = escape.run_exact(
        &["shell.exec"],
        "id -u; cat /etc/passwd | cut -d: -f3; python3 -c 'import os; print(os.memfd_create(\"x\") > 2)'",
    );
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    assert_eq!(outcome.stdout(), "0\n0\nTrue\n");
    assert_eq!(executable(&outcome), json!({"kind": "any"}));
    // It may execute anything, so memfds are left to it (JITs' double mappings).
    assert_eq!(
        outcome.finished()["data"]["enforcement"]["exec_memory"],
        "any"
    );
}

#[test]
fn a_policy_denying_shell_exec_stops_programs_a_run_never_asks_for() {
    let escape = Escape::new();
    let policy = escape.work.with_file_name("no-exec.rego");
    std::fs::write(
        &policy,
        "package aegisclaw.policy\n\ndefault allow := true\n\ndeny if input.scope_kind == \"shell.exec\"\n\nreason := \"no programs\" if input.scope_kind == \"shell.exec\"\n",
    )
    .unwrap();
    escape
        .env
        .cmd(&["policy", "use", policy.to_str().unwrap()])
        .assert()
        .success();
    // Asking is refused, as before.
    let asked = escape.run_exact(&["shell.exec"], "id");
    assert_eq!(asked.code(), Some(1), "{}", asked.stderr());
    assert_eq!(asked.record("run.refused")["data"]["stage"], "policy");
    // Not asking no longer gets around it: the shell runs, the programs it starts do not.
    let outcome = escape.run_exact(&[], "curl --version; echo curl=$?; id; echo id=$?");
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    assert_eq!(outcome.stdout(), "curl=126\nid=126\n");
    assert!(!outcome.has("policy.decision"));
    executable(&outcome);
}

#[test]
fn a_command_that_cannot_be_resolved_refuses_the_run_naming_it() {
    let escape = Escape::new();
    let outcome = escape.run_exact(&["shell.exec:no-such-tool"], "echo ran");
    assert_eq!(outcome.code(), Some(1), "{}", outcome.stderr());
    assert!(!outcome.stdout().contains("ran"));
    assert!(
        outcome
            .stderr()
            .contains("cannot resolve the `shell.exec` command `no-such-tool` for execution"),
        "{}",
        outcome.stderr()
    );
    let failed = outcome.record("run.failed");
    assert_eq!(failed["data"]["layer"], "plan");
    assert!(
        failed["reason"]
            .as_str()
            .unwrap()
            .contains("`no-such-tool`"),
        "{failed}"
    );
    assert!(!outcome.has("run.launch"));
}

#[test]
fn a_script_entrypoint_runs_through_env_and_its_interpreter_and_nothing_more() {
    let escape = Escape::new();
    let script = escape.work.join("hello.py");
    std::fs::write(
        &script,
        "#!/usr/bin/env python3\nimport subprocess\nprint('hello from python')\ntry:\n    subprocess.run(['id'])\nexcept OSError as error:\n    print('id refused', error.errno)\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let outcome = escape.run_args(&[
        "sandbox",
        "run",
        "--scope",
        "files.read",
        "--",
        "./hello.py",
    ]);
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    assert_eq!(outcome.stdout(), "hello from python\nid refused 13\n");
    let roles: Vec<Value> = executable(&outcome)["programs"][0]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|file| file["role"].clone())
        .collect();
    assert_eq!(roles, ["program", "script", "loader", "env"]);
}

#[test]
fn an_unprivileged_users_run_executes_only_what_it_was_granted() {
    let user = Unprivileged::new();
    let run = user.run(&[
        "sandbox",
        "run",
        "--scope",
        "shell.exec:ls",
        "--",
        "sh",
        "-c",
        "ls -d /usr; id; echo id=$?; /lib64/ld-linux-x86-64.so.2 /usr/bin/id; echo loader=$?",
    ]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(
        stdout,
        "/usr\nid=126\nloader=127\n",
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let records = user.records();
    let finished = records
        .iter()
        .rev()
        .find(|record| record["kind"] == "run.finished")
        .unwrap();
    let enforcement = &finished["data"]["enforcement"];
    assert_eq!(enforcement["exec"]["kind"], "only");
    // The host's sysctl file is root's: an unprivileged run cannot set it, and needs not: the
    // filter refuses it every memfd (`exec_memory: files_only`).
    assert_eq!(enforcement["memfd_noexec"], false);
    assert_eq!(enforcement["exec_memory"], "files_only");
    assert_eq!(
        enforcement["user_namespace_limits"]["max_user_namespaces"],
        0
    );
}
