//! The native runtime from the outside: real namespaces, mounts, Landlock, seccomp and
//! cgroups. Needs Linux with user namespaces and Landlock; on this CI machine nothing may
//! skip, so a missing layer fails the test with the reason.
#![cfg(target_os = "linux")]
#![expect(clippy::unwrap_used, reason = "test helpers outside #[test] fns")]

use aegisclaw_sandbox::path::open_scope_path;
use aegisclaw_sandbox::plan::{
    ExecGrant, Limits, Mount, MountAccess, NetNamespace, Network, RunSpec, plan,
};
use aegisclaw_sandbox::runtime::{
    ExitStatus, Launcher, RunOutcome, RunOutput, Stdin, StdioSetup, Stream, host_facts, run,
};
use std::path::Path;
use std::time::{Duration, Instant};

fn spec(workdir: &Path, argv: &[&str]) -> RunSpec {
    RunSpec {
        argv: argv.iter().map(|arg| (*arg).to_string()).collect(),
        env: vec![
            ("PATH".to_string(), "/usr/bin:/bin".to_string()),
            ("HOME".to_string(), "/tmp".to_string()),
        ],
        workdir: Some(workdir.to_path_buf()),
        mounts: vec![mount(workdir, MountAccess::Write)],
        network: Network::None,
        net_namespace: NetNamespace::Fresh,
        limits: Limits {
            timeout_s: 20,
            ..Limits::default()
        },
        hostname: "aegisclaw".to_string(),
        // Not about what may execute (`exec.rs` is): any program.
        exec: ExecGrant::Any,
        ca_store: None,
    }
}

/// `path` opened as the engine opens a scope path, with `access`.
fn mount(path: &Path, access: MountAccess) -> Mount {
    Mount {
        opened: open_scope_path(path).unwrap(),
        access,
    }
}

fn run_spec(spec: &RunSpec) -> RunOutput {
    let facts = host_facts(spec);
    let plan = plan(spec, &facts).unwrap_or_else(|error| panic!("plan: {error}"));
    run(&plan, StdioSetup { stdin: Stdin::Null }).unwrap_or_else(|error| panic!("run: {error}"))
}

fn sh(script: &str) -> RunOutput {
    let dir = tempfile::tempdir().unwrap();
    run_spec(&spec(dir.path(), &["sh", "-c", script]))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn true_exits_zero() {
    let output = sh("true");
    assert_eq!(
        output.outcome.exit,
        ExitStatus::Code(0),
        "{}",
        text(&output.stderr)
    );
    assert!(!output.outcome.timed_out);
    let enforcement = &output.outcome.enforcement;
    assert_eq!(
        enforcement.namespaces,
        ["user", "mount", "pid", "net", "ipc", "uts"]
    );
    assert!(enforcement.landlock_abi >= 1);
    assert!(enforcement.no_new_privs);
}

#[test]
fn bin_true_by_absolute_path() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_spec(&spec(dir.path(), &["/bin/true"]));
    assert_eq!(
        output.outcome.exit,
        ExitStatus::Code(0),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn output_is_captured_and_exit_code_propagated() {
    let output = sh("echo hi; echo oops >&2; exit 7");
    assert_eq!(text(&output.stdout), "hi\n");
    assert_eq!(text(&output.stderr), "oops\n");
    assert_eq!(output.outcome.exit, ExitStatus::Code(7));
}

#[test]
fn unknown_program_is_refused_with_the_exec_layer() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path(), &["no-such-program-aegisclaw"]);
    let plan = plan(&spec, &host_facts(&spec)).unwrap();
    let error = run(&plan, StdioSetup { stdin: Stdin::Null }).unwrap_err();
    assert_eq!(error.layer(), "exec");
    assert!(error.to_string().contains("No such file"), "{error}");
}

#[test]
fn host_files_outside_the_mounts_are_invisible() {
    let output = sh("ls /home; cat /etc/shadow; cat /etc/hostname; ls /root; ls /");
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert!(stderr.contains("/home"), "{stderr}");
    // `/etc` is the run's own (`exec.rs`): none of the host's files are there.
    assert!(stderr.contains("/etc/shadow"), "{stderr}");
    assert!(stderr.contains("/etc/hostname"), "{stderr}");
    let mut root: Vec<&str> = stdout.lines().collect();
    root.sort_unstable();
    assert!(
        !root.contains(&"home") && !root.contains(&"root"),
        "{stdout}"
    );
    assert!(
        root.contains(&"usr") && root.contains(&"tmp") && root.contains(&"proc"),
        "{stdout}"
    );
}

#[test]
fn read_only_bind_refuses_writes_and_read_write_bind_reaches_the_host() {
    let read_only = tempfile::tempdir().unwrap();
    let writable = tempfile::tempdir().unwrap();
    fs_err::write(read_only.path().join("given"), "data\n").unwrap();
    let mut spec = spec(
        writable.path(),
        &[
            "sh",
            "-c",
            &format!(
                "cat {ro}/given; echo x > {ro}/new; echo $?; echo made > {rw}/made",
                ro = read_only.path().display(),
                rw = writable.path().display()
            ),
        ],
    );
    spec.mounts.push(mount(read_only.path(), MountAccess::Read));
    let output = run_spec(&spec);
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert!(stdout.starts_with("data"), "{stdout}");
    assert!(stdout.contains("\n2\n"), "{stdout} {stderr}");
    assert!(
        stderr.contains("Read-only file system") || stderr.contains("Permission denied"),
        "{stderr}"
    );
    assert!(!read_only.path().join("new").exists());
    assert_eq!(
        fs_err::read_to_string(writable.path().join("made")).unwrap(),
        "made\n"
    );
}

#[test]
fn proc_shows_only_the_sandbox() {
    let output = sh("ls /proc | grep -E '^[0-9]+$' | wc -l; echo $$");
    let stdout = text(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    let count: u32 = lines[0].trim().parse().unwrap();
    assert!(count <= 5, "{stdout}");
    assert_eq!(lines[1], "1");
}

#[test]
fn nested_user_namespace_and_mount_fail() {
    let output = sh("unshare -U true; echo unshare=$?; mount -t tmpfs none /tmp; echo mount=$?");
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("unshare=") && !stdout.contains("unshare=0"),
        "{stdout}"
    );
    assert!(!stdout.contains("mount=0"), "{stdout}");
}

#[test]
fn uid_zero_without_capabilities_with_no_new_privs_and_seccomp() {
    let output = sh("id -u; grep -E '^(Cap|NoNewPrivs|Seccomp:)' /proc/self/status");
    let stdout = text(&output.stdout);
    assert!(stdout.starts_with("0\n"), "{stdout}");
    for line in stdout.lines().filter(|line| line.starts_with("Cap")) {
        assert!(line.ends_with("0000000000000000"), "{line}");
    }
    assert!(stdout.contains("NoNewPrivs:\t1"), "{stdout}");
    assert!(stdout.contains("Seccomp:\t2"), "{stdout}");
}

#[test]
fn network_has_only_loopback() {
    let output = sh("cat /proc/net/dev");
    let stdout = text(&output.stdout);
    let interfaces: Vec<&str> = stdout
        .lines()
        .skip(2)
        .filter_map(|line| line.split(':').next())
        .map(str::trim)
        .collect();
    assert_eq!(interfaces, ["lo"], "{stdout}");
}

#[test]
fn loopback_is_up_with_network_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = spec(dir.path(), &["cat", "/sys/class/net/lo/operstate"]);
    spec.argv = vec!["sh".into(), "-c".into(), "cat /proc/net/route; python3 -c 'import socket; s=socket.socket(); s.bind((\"127.0.0.1\", 0)); s.listen(); print(\"listening\")'".into()];
    spec.network = Network::Loopback;
    let output = run_spec(&spec);
    assert!(
        text(&output.stdout).contains("listening"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn timeout_kills_the_whole_tree() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = spec(dir.path(), &["sh", "-c", "sleep 100 & sleep 100"]);
    spec.limits.timeout_s = 1;
    let started = Instant::now();
    let output = run_spec(&spec);
    assert!(output.outcome.timed_out);
    assert_eq!(output.outcome.exit, ExitStatus::Signal(9));
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn pids_limit_stops_a_fork_loop() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = spec(
        dir.path(),
        &[
            "sh",
            "-c",
            "i=0; while [ $i -lt 100 ]; do sleep 3 & i=$((i+1)); done; echo done",
        ],
    );
    spec.limits.pids = 16;
    spec.limits.timeout_s = 10;
    let output = run_spec(&spec);
    let stderr = text(&output.stderr);
    assert!(
        output.outcome.enforcement.cgroup.is_some(),
        "no writable cgroup hierarchy"
    );
    assert!(stderr.contains("fork"), "{stderr}");
}

#[test]
fn memory_limit_kills_a_memory_hog() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = spec(
        dir.path(),
        &[
            "python3",
            "-c",
            "b = bytearray(512 * 1024 * 1024); print('survived')",
        ],
    );
    spec.limits.memory_mb = 64;
    let output = run_spec(&spec);
    assert!(
        output.outcome.enforcement.cgroup.is_some(),
        "no writable cgroup hierarchy"
    );
    assert!(!text(&output.stdout).contains("survived"));
    assert!(!output.outcome.exit.success(), "{:?}", output.outcome.exit);
}

#[test]
fn landlock_denies_what_mounts_would_allow() {
    // /dev is a writable tmpfs mount, but Landlock grants only the device files in it.
    let output = sh("echo x > /dev/new-file; echo $?; echo ok > /tmp/file && cat /tmp/file");
    let stdout = text(&output.stdout);
    assert!(
        stdout.starts_with("1\n") || stdout.starts_with("2\n"),
        "{stdout}"
    );
    assert!(stdout.contains("ok"), "{stdout}");
}

#[test]
#[cfg(target_arch = "x86_64")]
fn bpf_and_aslr_disabling_personality_are_denied_by_seccomp() {
    let output = sh(
        // 321 is bpf on x86_64; ADDR_NO_RANDOMIZE is not among personality's allowed values.
        "python3 -c 'import ctypes, os; l = ctypes.CDLL(None, use_errno=True); r = l.syscall(321, 0, 0, 0); print(r, ctypes.get_errno()); r = l.personality(0x0040000); print(r, ctypes.get_errno())'",
    );
    let stdout = text(&output.stdout);
    assert_eq!(stdout, "-1 1\n-1 1\n", "{}", text(&output.stderr));
}

#[test]
fn a_mount_that_cannot_be_applied_refuses_the_run_naming_the_layer() {
    let workdir = tempfile::tempdir().unwrap();
    let vanishing = tempfile::tempdir().unwrap();
    let mut spec = spec(workdir.path(), &["true"]);
    spec.mounts.push(mount(vanishing.path(), MountAccess::Read));
    let plan = plan(&spec, &host_facts(&spec)).unwrap();
    let gone = fs_err::canonicalize(vanishing.path()).unwrap();
    drop(vanishing);
    let error = run(&plan, StdioSetup { stdin: Stdin::Null }).unwrap_err();
    assert_eq!(error.layer(), "scope bind");
    assert_eq!(
        error.to_string(),
        format!(
            "cannot apply sandbox layer `scope bind` (`{gone}`): `{gone}` changed between the decision and the bind: No such file or directory (os error 2)",
            gone = gone.display()
        )
    );
}

/// A directory scope decided on, then `swap`ped on the host before the run binds it: the
/// run must fail naming the path, and the marker the swap brought in must stay unseen.
fn swapped_after_the_decision(swap: impl FnOnce(&Path, &Path)) -> String {
    let workdir = tempfile::tempdir().unwrap();
    let root = tempfile::tempdir().unwrap();
    let scoped = root.path().join("scoped");
    let secret = root.path().join("secret");
    fs_err::create_dir_all(&scoped).unwrap();
    fs_err::create_dir_all(&secret).unwrap();
    fs_err::write(scoped.join("marker"), "original").unwrap();
    fs_err::write(secret.join("marker"), "SECRET").unwrap();
    let script = format!("cat {}/marker", scoped.display());
    let mut spec = spec(workdir.path(), &["sh", "-c", &script]);
    spec.mounts.push(mount(&scoped, MountAccess::Read));
    let plan = plan(&spec, &host_facts(&spec)).unwrap();
    swap(&scoped, &secret);
    let error = run(&plan, StdioSetup { stdin: Stdin::Null }).unwrap_err();
    assert_eq!(error.layer(), "scope bind", "{error}");
    let scoped = fs_err::canonicalize(root.path()).unwrap().join("scoped");
    let text = error.to_string();
    assert!(
        text.starts_with(&format!(
            "cannot apply sandbox layer `scope bind` (`{path}`): `{path}` changed between the decision and the bind",
            path = scoped.display()
        )),
        "{text}"
    );
    text
}

#[test]
fn a_scope_swapped_for_a_relative_symlink_after_the_decision_is_never_bound() {
    let text = swapped_after_the_decision(|scoped, _| {
        fs_err::rename(scoped, scoped.with_file_name("moved")).unwrap();
        std::os::unix::fs::symlink("secret", scoped).unwrap();
    });
    assert!(text.ends_with("(os error 40)"), "{text}");
}

#[test]
fn a_scope_replaced_by_another_directory_fails_the_identity_check() {
    let text = swapped_after_the_decision(|scoped, secret| {
        fs_err::rename(scoped, scoped.with_file_name("moved")).unwrap();
        fs_err::rename(secret, scoped).unwrap();
    });
    assert!(text.ends_with("another object is there now"), "{text}");
}

#[test]
fn a_nested_scope_swapped_under_a_bound_directory_makes_nothing_on_the_host() {
    // `files.write` on `outer`, `files.read` on `outer/inner/deep`; after the decision
    // `outer/inner` becomes a relative symlink that, seen from the new root being built,
    // points into the host root (`/old/...`). Making the nested mount point by name would
    // create `deep` there; the bind refuses first and nothing is made.
    let (outer_dir, elsewhere_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let outer = fs_err::canonicalize(outer_dir.path()).unwrap();
    let elsewhere = fs_err::canonicalize(elsewhere_dir.path()).unwrap();
    fs_err::create_dir_all(outer.join("inner/deep")).unwrap();
    let mut spec = spec(&outer, &["true"]);
    spec.mounts
        .push(mount(&outer.join("inner/deep"), MountAccess::Read));
    let plan = plan(&spec, &host_facts(&spec)).unwrap();
    fs_err::rename(outer.join("inner"), outer.join("moved")).unwrap();
    let up = "../".repeat(outer.components().count());
    std::os::unix::fs::symlink(
        format!("{up}old{}", elsewhere.display()),
        outer.join("inner"),
    )
    .unwrap();
    let error = run(&plan, StdioSetup { stdin: Stdin::Null }).unwrap_err();
    assert_eq!(error.layer(), "scope bind", "{error}");
    assert!(
        !elsewhere.join("deep").exists(),
        "a mount point was made on the host"
    );
}

#[test]
fn held_child_execs_only_after_release_and_sees_a_listener_made_in_its_netns() {
    use aegisclaw_sandbox::runtime::Launcher;
    use std::io::{Read as _, Write as _};
    let dir = tempfile::tempdir().unwrap();
    let script = "touch ran; python3 -c 'import socket; s=socket.create_connection((\"127.0.0.1\", 3199)); print(s.recv(64).decode())'";
    let mut spec = spec(dir.path(), &["sh", "-c", script]);
    spec.network = Network::Loopback;
    let plan = plan(&spec, &host_facts(&spec)).unwrap();
    let launcher = Launcher::new(&plan).unwrap();
    let held = launcher
        .spawn_held(StdioSetup { stdin: Stdin::Null })
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !dir.path().join("ran").exists(),
        "the program ran before release"
    );
    let listener = aegisclaw_sandbox::netns::bind_in_netns(
        &held.netns_path(),
        "127.0.0.1:3199".parse().unwrap(),
    )
    .unwrap();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.write_all(b"from-the-parent").unwrap();
    });
    let child = held.release().unwrap();
    let mut stdout = child.stdout.try_clone().unwrap();
    let mut stderr = child.stderr.try_clone().unwrap();
    let outcome = child.wait().unwrap();
    let (mut out, mut err) = (String::new(), String::new());
    stdout.read_to_string(&mut out).unwrap();
    stderr.read_to_string(&mut err).unwrap();
    server.join().unwrap();
    assert_eq!(outcome.exit, ExitStatus::Code(0), "{err}");
    assert!(out.contains("from-the-parent"), "{out} {err}");
    assert!(dir.path().join("ran").exists());
}

#[test]
fn dropped_held_child_is_killed_before_it_execs() {
    use aegisclaw_sandbox::runtime::Launcher;
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path(), &["sh", "-c", "touch ran"]);
    let plan = plan(&spec, &host_facts(&spec)).unwrap();
    let launcher = Launcher::new(&plan).unwrap();
    let held = launcher
        .spawn_held(StdioSetup { stdin: Stdin::Null })
        .unwrap();
    let pid = held.pid;
    drop(held);
    std::thread::sleep(Duration::from_millis(100));
    assert!(!dir.path().join("ran").exists());
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "the held child survived its drop"
    );
}

#[test]
fn held_child_reports_an_exec_failure_on_release() {
    use aegisclaw_sandbox::runtime::{Launcher, SandboxError};
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path(), &["/no/such/program"]);
    let plan = plan(&spec, &host_facts(&spec)).unwrap();
    let launcher = Launcher::new(&plan).unwrap();
    let held = launcher
        .spawn_held(StdioSetup { stdin: Stdin::Null })
        .unwrap();
    let error = held.release().unwrap_err();
    assert!(
        matches!(&error, SandboxError::Layer { layer: "exec", .. }),
        "{error}"
    );
}

#[test]
fn the_program_starts_inside_every_cgroup_of_its_run() {
    // The child moves itself in before anything else runs; /proc/self/cgroup (no cgroup
    // namespace) names the run directory under `aegisclaw` for each hierarchy.
    let output = sh("cat /proc/self/cgroup");
    assert_eq!(
        output.outcome.exit,
        ExitStatus::Code(0),
        "{}",
        text(&output.stderr)
    );
    let cgroups = text(&output.stdout);
    let in_run = |line: &str| line.contains("/aegisclaw/slot-");
    match output.outcome.enforcement.cgroup.as_deref() {
        Some("v1") => {
            for controller in ["memory", "pids", "cpu"] {
                let line = cgroups
                    .lines()
                    .find(|line| {
                        line.split(':')
                            .nth(1)
                            .is_some_and(|names| names.split(',').any(|name| name == controller))
                    })
                    .unwrap_or_else(|| panic!("no {controller} line in {cgroups}"));
                assert!(in_run(line), "{controller}: {cgroups}");
            }
        }
        Some("v2") => assert!(
            cgroups
                .lines()
                .any(|line| line.starts_with("0::") && in_run(line)),
            "{cgroups}"
        ),
        other => panic!("no writable cgroup hierarchy: {other:?}"),
    }
}

/// Runs `script` with `wait_streaming`, collecting (stream, bytes) chunks; `keep` says how
/// many stdout chunks the sink accepts before refusing the stream.
fn streamed(script: &str, timeout_s: u64, keep: usize) -> (RunOutcome, Vec<u8>, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = spec(dir.path(), &["sh", "-c", script]);
    spec.limits.timeout_s = timeout_s;
    let plan = plan(&spec, &host_facts(&spec)).unwrap();
    let launcher = Launcher::new(&plan).unwrap();
    let child = launcher.spawn(StdioSetup { stdin: Stdin::Null }).unwrap();
    let (mut out, mut err, mut chunks) = (Vec::new(), Vec::new(), 0);
    let outcome = child
        .wait_streaming(&mut |which, bytes| match which {
            Stream::Stdout => {
                chunks += 1;
                out.extend_from_slice(bytes);
                chunks < keep
            }
            Stream::Stderr => {
                err.extend_from_slice(bytes);
                true
            }
        })
        .unwrap();
    (outcome, out, err)
}

#[test]
fn streaming_wait_reads_both_streams_past_the_pipe_buffer() {
    // 2 MiB on each stream, written alternately: one thread must drain both or it deadlocks.
    let script = "i=0; while [ $i -lt 32 ]; do head -c 65536 /dev/zero; \
                  head -c 65536 /dev/zero >&2; i=$((i+1)); done; exit 3";
    let (outcome, out, err) = streamed(script, 20, usize::MAX);
    assert_eq!(outcome.exit, ExitStatus::Code(3));
    assert!(!outcome.timed_out);
    assert_eq!((out.len(), err.len()), (2 << 20, 2 << 20));
}

#[test]
fn streaming_wait_kills_at_the_limit_even_with_streams_held_open() {
    let started = Instant::now();
    let (outcome, out, _) = streamed("echo started; sleep 60 & sleep 60", 1, usize::MAX);
    assert!(outcome.timed_out, "{outcome:?}");
    assert_eq!(text(&out), "started\n");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
}

/// Whether a `sleep` process with `marker` among its arguments is alive on the host.
fn sleep_alive(marker: &str) -> bool {
    fs_err::read_dir("/proc").unwrap().flatten().any(|entry| {
        let cmdline = fs_err::read(entry.path().join("cmdline")).unwrap_or_default();
        let mut args = cmdline.split(|byte| *byte == 0);
        args.next() == Some(b"sleep".as_slice()) && args.any(|arg| arg == marker.as_bytes())
    })
}

#[test]
fn streaming_wait_kills_at_the_limit_while_its_sink_blocks() {
    // The sink blocks on the first chunk (a reader that never reads) until the run's sleep is
    // gone: only a kill that does not wait for the sink ends it.
    let dir = tempfile::tempdir().unwrap();
    let marker = "61.5";
    let mut spec = spec(
        dir.path(),
        &["sh", "-c", &format!("echo started; sleep {marker}")],
    );
    spec.limits.timeout_s = 1;
    let plan = plan(&spec, &host_facts(&spec)).unwrap();
    let child = Launcher::new(&plan)
        .unwrap()
        .spawn(StdioSetup { stdin: Stdin::Null })
        .unwrap();
    let started = Instant::now();
    let mut blocked_for = None;
    let outcome = child
        .wait_streaming(&mut |_, _| {
            if blocked_for.is_none() {
                let blocked = Instant::now();
                while blocked.elapsed() < Duration::from_secs(5) && !sleep_alive(marker) {
                    std::thread::sleep(Duration::from_millis(20));
                }
                assert!(sleep_alive(marker), "the run's sleep never started");
                while blocked.elapsed() < Duration::from_secs(15) && sleep_alive(marker) {
                    std::thread::sleep(Duration::from_millis(20));
                }
                blocked_for = Some(started.elapsed());
            }
            true
        })
        .unwrap();
    let blocked_for = blocked_for.unwrap();
    assert!(
        blocked_for < Duration::from_secs(4),
        "killed after {blocked_for:?}"
    );
    assert!(outcome.timed_out, "{outcome:?}");
    assert_eq!(outcome.exit, ExitStatus::Signal(9));
}

#[test]
fn streaming_wait_closes_a_stream_its_sink_refuses() {
    // The sink takes one chunk; the writer then gets EPIPE and the run still ends.
    let (outcome, out, err) = streamed(
        "echo first; sleep 0.2; yes | head -c 10000000; echo done >&2",
        20,
        1,
    );
    assert!(!outcome.timed_out, "{outcome:?}");
    assert_eq!(text(&out), "first\n");
    let err = text(&err);
    assert!(
        err.contains("Broken pipe") && err.ends_with("done\n"),
        "{err}"
    );
}

/// The slot (`slot-<n>`) of the memory (v1) or only (v2) cgroup a program reports.
fn slot_of(cgroups: &str) -> String {
    cgroups
        .lines()
        .find(|line| line.contains(":memory:") || line.starts_with("0::"))
        .and_then(|line| line.rsplit('/').next())
        .unwrap_or_else(|| panic!("no cgroup line in {cgroups}"))
        .to_string()
}

#[test]
fn cgroup_slots_are_held_by_one_run_at_a_time_and_reused() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(dir.path(), &["cat", "/proc/self/cgroup"]);
    let plan = plan(&spec, &host_facts(&spec)).unwrap();
    assert!(plan.cgroup.is_some(), "this machine has writable cgroups");
    let launcher = Launcher::new(&plan).unwrap();
    let slot_of_run = |child: aegisclaw_sandbox::runtime::RunningChild| {
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.outcome.exit, ExitStatus::Code(0));
        slot_of(&text(&output.stdout))
    };
    // While one run holds its slot (held before exec), another run gets a different one.
    let held = launcher
        .spawn_held(StdioSetup { stdin: Stdin::Null })
        .unwrap();
    let other = slot_of_run(launcher.spawn(StdioSetup { stdin: Stdin::Null }).unwrap());
    let first = slot_of_run(held.release().unwrap());
    assert_ne!(first, other);
    assert!(first.starts_with("slot-") && other.starts_with("slot-"));
    // Runs one after another reuse slots instead of making one each (other tests running at
    // the same time may hold some).
    let used: std::collections::BTreeSet<String> = (0..8)
        .map(|_| slot_of_run(launcher.spawn(StdioSetup { stdin: Stdin::Null }).unwrap()))
        .collect();
    assert!(used.len() < 8, "{used:?}");
}

#[test]
fn every_mount_carries_the_attributes_its_plan_gives_it() {
    // Field 6 of mountinfo is the mount's own options.
    let output = sh("cut -d' ' -f5,6 /proc/self/mountinfo");
    let listing = text(&output.stdout);
    let options = |point: &str| -> String {
        listing
            .lines()
            .find_map(|line| line.strip_prefix(&format!("{point} ")))
            .unwrap_or_else(|| panic!("no mount at {point} in:\n{listing}"))
            .to_string()
    };
    // The /dev tmpfs: writable (the run's own links live there). Devices: read-only (the
    // host's node cannot be chmod-ed, chown-ed or touched; writing to it still works), no
    // set-user-ID, no exec.
    let dev = options("/dev");
    assert!(dev.starts_with("rw,"), "/dev: {dev}");
    for device in [
        "/dev/null",
        "/dev/zero",
        "/dev/full",
        "/dev/random",
        "/dev/urandom",
    ] {
        let flags = options(device);
        assert!(flags.starts_with("ro,"), "{device}: {flags}");
        assert!(
            flags.contains("nosuid") && flags.contains("noexec"),
            "{device}: {flags}"
        );
    }
    for (point, wanted) in [("/usr", "ro,"), ("/tmp", "rw,"), ("/proc", "rw,")] {
        let flags = options(point);
        assert!(flags.starts_with(wanted), "{point}: {flags}");
        assert!(flags.contains("nosuid"), "{point}: {flags}");
    }
    assert!(options("/tmp").contains("noexec"), "{listing}");
    // The root holds only mount points and links: read-only, and nothing runs from it.
    let root = options("/");
    assert!(root.starts_with("ro,"), "{root}");
    assert!(
        root.contains("nosuid") && root.contains("nodev") && root.contains("noexec"),
        "{root}"
    );
}
