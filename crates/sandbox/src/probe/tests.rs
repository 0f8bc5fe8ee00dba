//! Tests of the probes. The machine tests assert what this machine (also the CI machine)
//! provides: a layer reported unavailable here is a real finding, printed with its reason.

use super::*;

/// Probes create and remove cgroup directories named after this process; tests that probe run
/// one at a time so one test never sees another's directory in flight.
fn probe_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// This is the CI machine too: it has these layers, so a failure here is a real finding.
#[test]
#[cfg(target_os = "linux")]
fn this_machine_has_the_native_layers() {
    let _guard = probe_lock();
    let started = Instant::now();
    let probes = probe_all();
    let elapsed = started.elapsed();
    println!("{probes:#?}\nprobed in {elapsed:?}");
    assert!(
        probes.user_namespaces.available,
        "user namespaces: {}",
        probes.user_namespaces.detail
    );
    for (name, layer) in probes.native_required() {
        assert!(layer.available, "{name}: {}", layer.detail);
    }
    assert!(
        probes.landlock_abi.is_some_and(|abi| abi >= 1),
        "{probes:?}"
    );
    assert!(probes.seccomp.available, "{}", probes.seccomp.detail);
    assert!(
        elapsed < Duration::from_millis(500),
        "probes took {elapsed:?}"
    );
}

#[test]
#[cfg(target_os = "linux")]
fn probing_twice_gives_the_same_answer_and_leaves_no_cgroup_behind() {
    let _guard = probe_lock();
    let first = probe_all();
    let second = probe_all();
    assert_eq!(first, second);
    let ours = format!("aegisclaw-probe-{}-", std::process::id());
    for root in ["memory", "pids", "cpu", "unified"] {
        let Ok(entries) = fs_err::read_dir(Path::new("/sys/fs/cgroup").join(root)) else {
            continue;
        };
        for entry in entries {
            let name = entry.unwrap().file_name();
            assert!(
                !name.to_string_lossy().starts_with(&ours),
                "{name:?} left in {root}"
            );
        }
    }
}

#[test]
#[cfg(target_os = "linux")]
fn the_probing_process_keeps_its_own_state() {
    let _guard = probe_lock();
    let kinds = ["user", "mnt", "net", "pid", "ipc", "uts", "cgroup"];
    let state = || {
        let status = fs_err::read_to_string("/proc/self/status").unwrap();
        let mut lines: Vec<String> = status
            .lines()
            .filter(|line| line.starts_with("Seccomp:") || line.starts_with("NoNewPrivs:"))
            .map(str::to_string)
            .collect();
        for kind in kinds {
            let link = fs_err::read_link(format!("/proc/self/ns/{kind}")).unwrap();
            lines.push(link.display().to_string());
        }
        lines
    };
    let before = state();
    let _ = probe_all();
    assert_eq!(before, state());
}

#[test]
fn a_missing_docker_socket_is_reported_absent() {
    let info = docker_engine(Path::new("/nonexistent/docker.sock"));
    assert!(!info.available);
    assert_eq!(
        info.detail,
        "no engine socket at `/nonexistent/docker.sock`"
    );
}

#[test]
fn a_socket_that_does_not_answer_ok_is_not_an_engine() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("docker.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = [0u8; 256];
        let _ = stream.read(&mut request).unwrap();
        stream
            .write_all(b"HTTP/1.0 500 Oops\r\nApi-Version: 1.45\r\n\r\nno")
            .unwrap();
    });
    let info = docker_engine(&path);
    server.join().unwrap();
    assert!(!info.available, "{info:?}");
    assert!(info.detail.contains("HTTP/1.0 500 Oops"), "{}", info.detail);
}

#[test]
fn a_socket_that_answers_ok_is_an_engine() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("docker.sock");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut request = [0u8; 256];
        let read = stream.read(&mut request).unwrap();
        assert!(request[..read].starts_with(b"GET /_ping HTTP/1.0\r\n"));
        stream
            .write_all(b"HTTP/1.0 200 OK\r\nApi-Version: 1.45\r\n\r\nOK")
            .unwrap();
    });
    let info = docker_engine(&path);
    server.join().unwrap();
    assert!(info.available, "{info:?}");
    assert_eq!(info.version.as_deref(), Some("API 1.45"));
}

#[test]
fn a_missing_binary_is_not_installed() {
    let info = binary_version("aegisclaw-no-such-runtime");
    assert!(!info.available);
    assert_eq!(info.detail, "`aegisclaw-no-such-runtime` not found on PATH");
}

#[test]
fn a_present_binary_reports_its_first_version_line() {
    let info = binary_version("ls");
    assert!(info.available, "{info:?}");
    assert!(info.version.is_some(), "{info:?}");
}

#[test]
fn kvm_flavour_comes_from_cpu_flags_then_the_pvm_module() {
    let vmx = "processor: 0\nflags\t\t: fpu vme vmx sse\n";
    let none = "processor: 0\nflags\t\t: fpu hypervisor sse\n";
    assert_eq!(kvm_kind(true, vmx), KvmKind::Vmx);
    assert_eq!(kvm_kind(false, "flags : svm"), KvmKind::Svm);
    assert_eq!(kvm_kind(true, none), KvmKind::Pvm);
    assert_eq!(kvm_kind(false, none), KvmKind::Unknown);
}

#[test]
fn free_bytes_of_the_temp_dir_is_positive() {
    let dir = tempfile::tempdir().unwrap();
    assert!(free_bytes(dir.path()).unwrap() > 0);
    assert!(free_bytes(&dir.path().join("missing")).is_err());
}
