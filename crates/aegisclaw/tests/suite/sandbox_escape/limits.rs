//! Escapes through kernel resources a run shares with its caller: inotify instances charged
//! up the user-namespace chain to the caller's uid, and files as large as the disk.

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
