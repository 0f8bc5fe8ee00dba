//! Escapes through kernel resources a run shares with its caller: inotify instances charged
//! up the user-namespace chain to the caller's uid, files as large as the disk, and wall-clock
//! time held up by an output sink that never reads.

use super::*;

/// Opens one inotify instance in a host process of this test's uid: `ok` or the errno.
fn host_inotify() -> String {
    let output = std::process::Command::new("python3")
        .args([
            "-c",
            "import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\nfd = libc.inotify_init1(0)\nprint('ok' if fd >= 0 else 'errno %d' % ctypes.get_errno())",
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

#[test]
fn exhausting_inotify_instances_leaves_the_callers_other_programs_theirs() {
    let escape = Escape::new();
    let host_max: u64 = std::fs::read_to_string("/proc/sys/user/max_inotify_instances")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // The run takes every instance it can, says how many, and holds them until the host has
    // tried to open one of its own.
    let code = "
import ctypes, os, time
libc = ctypes.CDLL(None, use_errno=True)
held = []
while True:
    fd = libc.inotify_init1(0)
    if fd < 0:
        break
    held.append(fd)
print(len(held), 'errno', ctypes.get_errno(), flush=True)
open('holding', 'w').close()
for _ in range(200):
    if os.path.exists('released'):
        break
    time.sleep(0.05)
";
    let work = escape.work.clone();
    let host = std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while !work.join("holding").exists() {
            assert!(std::time::Instant::now() < deadline, "the run never held");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let answer = host_inotify();
        std::fs::write(work.join("released"), "").unwrap();
        answer
    });
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
    let host = host.join().unwrap();
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    // The run stopped at its own namespace's limit (EMFILE), a quarter of the host's, and a
    // host program of the same uid could still open one meanwhile.
    assert_eq!(outcome.stdout(), format!("{} errno 24\n", host_max / 4));
    assert_eq!(host, "ok");
    let limits = &outcome.finished()["data"]["enforcement"]["user_namespace_limits"];
    assert_eq!(limits["max_inotify_instances"], host_max / 4, "{limits}");
    assert_eq!(limits["max_user_namespaces"], 0, "{limits}");
}

#[test]
fn writing_past_the_file_size_limit_stops_at_the_limit() {
    let escape = Escape::new();
    escape.set_limit("file_size_mb", 4);
    let outcome = escape.run(
        &["files.write"],
        "dd if=/dev/zero of=big bs=1M count=16 2>/dev/null; echo dd=$?",
    );
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    // SIGXFSZ (25) ended dd at the limit; the file on the host is exactly that large.
    assert_eq!(outcome.stdout(), "dd=153\n");
    assert_eq!(
        std::fs::metadata(escape.work.join("big")).unwrap().len(),
        4 * 1024 * 1024
    );
    assert_eq!(
        outcome.record("run.launch")["data"]["limits"]["file_size_mb"],
        4
    );
    assert_eq!(
        outcome.finished()["data"]["enforcement"]["rlimits"]["file_size"],
        4 * 1024 * 1024
    );
}

#[test]
fn a_sink_that_never_reads_cannot_hold_a_run_past_its_timeout() {
    let escape = Escape::new();
    escape.set_limit("timeout_s", 2);
    // AegisClaw's stdout is a pipe nobody reads (`| sleep 60`): the run fills it, then
    // AegisClaw's own write to it blocks for good.
    let (unread, stdout) = std::io::pipe().unwrap();
    let marker = "never-read-4711";
    let mut command = escape
        .env
        .with_env(std::process::Command::new(env!("CARGO_BIN_EXE_aegisclaw")));
    command
        .args(["sandbox", "run", "--scope", "shell.exec", "--", "sh", "-c"])
        .arg(format!("yes {marker}"))
        .current_dir(&escape.work)
        .stdout(stdout)
        .stderr(std::process::Stdio::piped());
    let before = escape.audit_lines();
    let started = std::time::Instant::now();
    let mut child = command.spawn().unwrap();
    // Drop the parent's copy of the write end: only AegisClaw holds it.
    drop(command);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > std::time::Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("aegisclaw was still running 20 s into a 2 s run");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let elapsed = started.elapsed();
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    // Ended on time (2 s and the launch), as a timeout.
    assert!(
        elapsed < std::time::Duration::from_secs(6),
        "took {elapsed:?}: {stderr}"
    );
    assert_eq!(status.code(), Some(124), "{stderr}");
    // Nothing of the run is left.
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        assert!(
            !(cmdline.starts_with(b"yes\0") && String::from_utf8_lossy(&cmdline).contains(marker)),
            "a sandboxed process survived: {}",
            entry.path().display()
        );
    }
    drop(unread);
    // The record says what happened: stopped by its timeout, after about 2 s, with output
    // it could not deliver.
    let outcome = Outcome {
        output: std::process::Output {
            status,
            stdout: Vec::new(),
            stderr: stderr.into_bytes(),
        },
        records: escape.records_since(before),
    };
    let data = &outcome.finished()["data"];
    assert_eq!(data["timed_out"], true, "{data}");
    assert_eq!(data["stopped_by"], "timeout", "{data}");
    assert_eq!(data["signal"], 9, "{data}");
    assert_eq!(data["output_delivered"], false, "{data}");
    let duration = data["duration_ms"].as_u64().unwrap();
    assert!((1900..4000).contains(&duration), "{data}");
}

#[test]
fn a_run_without_a_memory_cgroup_cannot_hold_shared_memory_past_its_limit() {
    // Attack pass 5: an unprivileged user's run (no writable cgroup, only RLIMIT_AS) held
    // 6400 MiB of System V shared memory with `memory_mb: 512`: a segment written and
    // detached is counted by no rlimit. The run's own IPC namespace caps it to its limit,
    // with or without a cgroup (this runs as whoever runs the suite).
    let escape = Escape::new();
    escape.set_limit("memory_mb", 64);
    let code = r#"
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
MiB = 1 << 20
def get(size):
    if libc.shmget(0, ctypes.c_size_t(size), 0o1600) < 0:
        return os.strerror(ctypes.get_errno())
    return 'made'
print('one past the limit:', get(65 * MiB))
print('first half:', get(32 * MiB), '; second half:', get(32 * MiB), '; one more:', get(MiB))
"#;
    let outcome = escape.run_args(&["sandbox", "run", "--", "python3", "-c", code]);
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    assert_eq!(
        outcome.stdout(),
        "one past the limit: Invalid argument\nfirst half: made ; second half: made ; one more: No space left on device\n",
        "{}",
        outcome.stderr()
    );
    let limits = &outcome.finished()["data"]["enforcement"]["ipc_namespace_limits"];
    assert_eq!(
        *limits,
        serde_json::json!({"shmmax": 64 << 20, "shmall": 16384, "shmmni": 64}),
        "{limits}"
    );
}
