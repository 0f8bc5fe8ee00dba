//! Escapes through the syscall filter: set-id files planted on the host, socket families a run
//! has no scope for, host unix sockets under a bound directory, and syscall numbers the build
//! does not know. Also that real programs keep working under the allowlist.

use super::*;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;

/// `name result` lines (as the scripts below print them) as a map.
fn results(stdout: &str) -> BTreeMap<String, String> {
    stdout
        .lines()
        .filter_map(|line| line.split_once(' '))
        .map(|(name, result)| (name.to_string(), result.to_string()))
        .collect()
}

fn expect(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(name, result)| (name.to_string(), result.to_string()))
        .collect()
}

/// Python helpers the scripts share: raw syscalls through libc, printing `name ok` or
/// `name ERRNO`.
const PYTHON_PRELUDE: &str = r#"import ctypes, errno, os, socket, struct
libc = ctypes.CDLL(None, use_errno=True)
L = ctypes.c_long
def report(name, result):
    print(name, "ok" if result >= 0 else errno.errorcode.get(ctypes.get_errno(), ctypes.get_errno()))
    return result
def attempt(name, action):
    try:
        action()
        print(name, "ok")
    except OSError as error:
        print(name, errno.errorcode.get(error.errno, error.errno))
"#;

/// Writes `script` (after the prelude) into the work directory and returns the command that
/// runs it in the sandbox.
fn python_file(escape: &Escape, name: &str, script: &str) -> String {
    let path = escape.work.join(name);
    std::fs::write(&path, format!("{PYTHON_PRELUDE}{script}")).unwrap();
    format!("python3 {}", path.display())
}

/// Every file and directory under `dir` with a set-user-ID or set-group-ID bit.
fn set_id_entries(dir: &std::path::Path) -> Vec<(String, u32)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let mode = entry.metadata().unwrap().permissions().mode();
        if mode & 0o6000 != 0 {
            found.push((entry.file_name().to_string_lossy().into_owned(), mode));
        }
        if entry.file_type().unwrap().is_dir() {
            found.extend(set_id_entries(&entry.path()));
        }
    }
    found
}

/// Runs `program -u` (a copy of `id`) on the host as `nobody`: its effective uid.
fn effective_uid_as_nobody(program: &std::path::Path) -> String {
    let output = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(program)
        .arg("-u")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Lets `nobody` reach the work directory (a temp dir is 0700).
fn open_to_nobody(escape: &Escape) {
    let mut dir = escape.work.clone();
    while dir.pop() {
        if dir == std::env::temp_dir() {
            break;
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// The enforcement a finished run recorded.
fn enforcement(outcome: &Outcome) -> Value {
    outcome.finished()["data"]["enforcement"].clone()
}

/// One way to a set-id file or directory: the Python line that tries it (the script defines
/// `copy(path)`, an ordinary 0755 copy of `id`, `fill(fd)`, `AT`, `CREATE` and the modes), and
/// the result the filter gives.
struct Route {
    name: &'static str,
    line: String,
    result: &'static str,
}

fn route(name: &'static str, line: String, result: &'static str) -> Route {
    Route { name, line, result }
}

/// Every route to a set-user-ID file on this architecture, with the numbers from `libc`.
fn setuid_routes() -> Vec<Route> {
    let eperm = "EPERM";
    let mut routes = vec![
        route(
            "fchmod",
            format!(
                "copy(\"p-fchmod\"); fd = os.open(\"p-fchmod\", os.O_RDONLY); report(\"fchmod\", libc.syscall(L({}), L(fd), SETUID)); os.close(fd)",
                libc::SYS_fchmod
            ),
            eperm,
        ),
        route(
            "fchmodat",
            format!(
                "copy(\"p-fchmodat\"); report(\"fchmodat\", libc.syscall(L({}), AT, b\"p-fchmodat\", SETUID))",
                libc::SYS_fchmodat
            ),
            eperm,
        ),
        // The kernel reads the mode as a 16-bit umode_t: a high word hides nothing from the
        // filter's low-word check, and the kernel drops it.
        route(
            "fchmodat-high-word",
            format!(
                "copy(\"p-wide\"); report(\"fchmodat-high-word\", libc.syscall(L({}), AT, b\"p-wide\", L((1 << 32) | 0o4755)))",
                libc::SYS_fchmodat
            ),
            eperm,
        ),
        route(
            "fchmodat-high-word-plain",
            format!(
                "report(\"fchmodat-high-word-plain\", libc.syscall(L({}), AT, b\"p-wide\", L((1 << 32) | 0o711))); print(\"mode-wide\", oct(os.stat(\"p-wide\").st_mode & 0o7777))",
                libc::SYS_fchmodat
            ),
            "ok",
        ),
        route(
            "openat",
            format!(
                "fill(report(\"openat\", libc.syscall(L({}), AT, b\"p-openat\", CREATE, SETUID)))",
                libc::SYS_openat
            ),
            eperm,
        ),
        route(
            "mknodat",
            format!(
                "report(\"mknodat\", libc.syscall(L({}), AT, b\"p-mknodat\", L(0o100000 | 0o4755), L(0)))",
                libc::SYS_mknodat
            ),
            eperm,
        ),
        // open_how {flags, mode, resolve}: the mode is in memory, so the call is refused whole.
        route(
            "openat2",
            format!(
                "how = ctypes.create_string_buffer(struct.pack(\"QQQ\", os.O_WRONLY | os.O_CREAT, 0o4755, 0)); fill(report(\"openat2\", libc.syscall(L({}), AT, b\"p-openat2\", how, L(24))))",
                libc::SYS_openat2
            ),
            "ENOSYS",
        ),
    ];
    #[cfg(target_arch = "x86_64")]
    routes.extend([
        route(
            "chmod",
            format!(
                "copy(\"p-chmod\"); report(\"chmod\", libc.syscall(L({}), b\"p-chmod\", SETUID))",
                libc::SYS_chmod
            ),
            eperm,
        ),
        route(
            "fchmodat2",
            format!(
                "copy(\"p-fchmodat2\"); report(\"fchmodat2\", libc.syscall(L({}), AT, b\"p-fchmodat2\", SETUID, L(0)))",
                libc::SYS_fchmodat2
            ),
            eperm,
        ),
        route(
            "open",
            format!(
                "fill(report(\"open\", libc.syscall(L({}), b\"p-open\", CREATE, SETUID)))",
                libc::SYS_open
            ),
            eperm,
        ),
        route(
            "creat",
            format!(
                "fill(report(\"creat\", libc.syscall(L({}), b\"p-creat\", SETUID)))",
                libc::SYS_creat
            ),
            eperm,
        ),
        route(
            "mknod",
            format!(
                "report(\"mknod\", libc.syscall(L({}), b\"p-mknod\", L(0o100000 | 0o4755), L(0)))",
                libc::SYS_mknod
            ),
            eperm,
        ),
    ]);
    routes
}

/// The script head the routes share.
fn plant_head() -> String {
    PLANT_HEAD.replace("AT_FDCWD", &libc::AT_FDCWD.to_string())
}

const PLANT_HEAD: &str = r#"ID = open("/usr/bin/id", "rb").read()
def copy(path):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o755)
    os.write(fd, ID)
    os.close(fd)
def fill(fd):
    if fd >= 0:
        os.write(fd, ID)
        os.close(fd)
AT = L(AT_FDCWD)
CREATE = L(os.O_WRONLY | os.O_CREAT)
SETUID = L(0o4755)
SETGID = L(0o2775)
"#;

#[test]
fn planting_a_setuid_root_binary_through_files_write_is_denied() {
    let escape = Escape::new();
    open_to_nobody(&escape);
    let routes = setuid_routes();
    let lines: Vec<&str> = routes.iter().map(|route| route.line.as_str()).collect();
    let python = python_file(
        &escape,
        "plant.py",
        &format!("{}{}\n", plant_head(), lines.join("\n")),
    );
    let outcome = escape.run(
        &["files.write"],
        &format!(
            "{python}
cp /usr/bin/id p-chmod-1 && chmod u+s p-chmod-1; echo chmod-1 $?
install -m 4755 /usr/bin/id p-install; echo install $?
cp -p /usr/bin/su p-cp-p; echo cp-p $?"
        ),
    );
    // Every copy runs on the host as its caller, never as root, and nothing has either bit.
    let mut copies = vec!["p-fchmod", "p-fchmodat", "p-wide", "p-chmod-1"];
    #[cfg(target_arch = "x86_64")]
    copies.extend(["p-chmod", "p-fchmodat2"]);
    for copy in copies {
        let path = escape.work.join(copy);
        assert!(path.exists(), "{copy} was never made");
        assert_eq!(effective_uid_as_nobody(&path), "65534", "{copy}");
    }
    assert_eq!(set_id_entries(&escape.work), vec![]);
    let mut got = results(&outcome.stdout());
    // Each shell tool fails on the refused chmod (its exit code is not checked further).
    for tool in ["chmod-1", "install", "cp-p"] {
        assert_ne!(got.remove(tool), Some("0".to_string()), "{tool}");
    }
    let mut expected: BTreeMap<String, String> = routes
        .iter()
        .map(|route| (route.name.to_string(), route.result.to_string()))
        .collect();
    // The high word was dropped: the plain mode is what the file got.
    expected.insert("mode-wide".to_string(), "0o711".to_string());
    assert_eq!(got, expected, "{}", outcome.stderr());
    for never in [
        "p-open",
        "p-openat",
        "p-creat",
        "p-mknod",
        "p-mknodat",
        "p-openat2",
    ] {
        assert!(!escape.work.join(never).exists(), "{never}");
    }
    let enforcement = enforcement(&outcome);
    assert_eq!(enforcement["seccomp_default"], "ENOSYS");
    assert_eq!(enforcement["unix_sockets"], "pairs_only");
}

#[test]
fn planting_a_setgid_directory_through_files_write_is_denied() {
    let escape = Escape::new();
    let mut routes = vec![
        route(
            "mkdirat",
            format!(
                "report(\"mkdirat\", libc.syscall(L({}), AT, b\"d-mkdirat\", SETGID))",
                libc::SYS_mkdirat
            ),
            "EPERM",
        ),
        route(
            "fchmodat",
            format!(
                "os.mkdir(\"d-fchmodat\"); report(\"fchmodat\", libc.syscall(L({}), AT, b\"d-fchmodat\", SETGID))",
                libc::SYS_fchmodat
            ),
            "EPERM",
        ),
        route(
            "fchmod",
            format!(
                "os.mkdir(\"d-fchmod\"); fd = os.open(\"d-fchmod\", os.O_RDONLY | os.O_DIRECTORY); report(\"fchmod\", libc.syscall(L({}), L(fd), SETGID))",
                libc::SYS_fchmod
            ),
            "EPERM",
        ),
    ];
    #[cfg(target_arch = "x86_64")]
    routes.extend([
        route(
            "mkdir",
            format!(
                "report(\"mkdir\", libc.syscall(L({}), b\"d-mkdir\", SETGID))",
                libc::SYS_mkdir
            ),
            "EPERM",
        ),
        route(
            "chmod",
            format!(
                "os.mkdir(\"d-chmod\"); report(\"chmod\", libc.syscall(L({}), b\"d-chmod\", SETGID))",
                libc::SYS_chmod
            ),
            "EPERM",
        ),
    ]);
    let lines: Vec<&str> = routes.iter().map(|route| route.line.as_str()).collect();
    let python = python_file(
        &escape,
        "plant.py",
        &format!("{}{}\n", plant_head(), lines.join("\n")),
    );
    let outcome = escape.run(
        &["files.write"],
        &format!("{python}\nmkdir d-shell && chmod g+s d-shell; echo shell $?"),
    );
    assert_eq!(set_id_entries(&escape.work), vec![]);
    let mut got = results(&outcome.stdout());
    assert_ne!(got.remove("shell"), Some("0".to_string()));
    let expected: BTreeMap<String, String> = routes
        .iter()
        .map(|route| (route.name.to_string(), route.result.to_string()))
        .collect();
    assert_eq!(got, expected, "{}", outcome.stderr());
    assert!(escape.work.join("d-fchmodat").is_dir());
    enforcement(&outcome);
}

#[test]
fn planting_a_file_capability_is_denied() {
    // security.capability needs CAP_SETFCAP in the run's user namespace; every run has dropped
    // it (a check of the capability wall, which the filter leaves to it).
    let escape = Escape::new();
    let script = r#"open("capped", "wb").write(open("/usr/bin/id", "rb").read())
# VFS_CAP_REVISION_2 with CAP_SETUID (7) permitted and effective.
value = struct.pack("<IIIII", 0x02000001, 1 << 7, 0, 0, 0)
attempt("setxattr", lambda: os.setxattr("capped", "security.capability", value))
"#;
    let python = python_file(&escape, "cap.py", script);
    let outcome = escape.run(&["files.write"], &python);
    assert_eq!(
        results(&outcome.stdout()),
        expect(&[("setxattr", "EPERM")]),
        "{}",
        outcome.stderr()
    );
    let listed = std::process::Command::new("getfattr")
        .args(["-n", "security.capability"])
        .arg(escape.work.join("capped"))
        .output();
    if let Ok(listed) = listed {
        assert!(!listed.status.success(), "{listed:?}");
    }
    enforcement(&outcome);
}

#[test]
fn vsock_packet_alg_bluetooth_and_other_socket_families_are_refused() {
    let escape = Escape::new();
    let script = r#"families = {"vsock": 40, "packet": 17, "alg": 38, "bluetooth": 31, "key": 15,
    "xdp": 44, "can": 29, "tipc": 30, "rds": 21, "llc": 26, "appletalk": 5, "x25": 9}
for name, family in families.items():
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM, socket.SOCK_RAW, socket.SOCK_SEQPACKET):
        attempt("%s-%d" % (name, kind), lambda: socket.socket(family, kind, 0))
    attempt("%s-pair" % name, lambda: socket.socketpair(family, socket.SOCK_STREAM, 0))
netlink = {"audit": 9, "uevent": 15, "netfilter": 12, "generic": 16, "diag": 4, "xfrm": 6}
for name, protocol in netlink.items():
    attempt("netlink-" + name, lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, protocol))
attempt("netlink-route", lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0))
attempt("inet-tcp", lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM, 0))
attempt("inet6-udp", lambda: socket.socket(socket.AF_INET6, socket.SOCK_DGRAM, 0))
"#;
    let python = python_file(&escape, "families.py", script);
    let outcome = escape.run(&["files.read"], &python);
    let mut expected = BTreeMap::new();
    for name in [
        "vsock",
        "packet",
        "alg",
        "bluetooth",
        "key",
        "xdp",
        "can",
        "tipc",
        "rds",
        "llc",
        "appletalk",
        "x25",
    ] {
        for kind in [1, 2, 3, 5] {
            expected.insert(format!("{name}-{kind}"), "EAFNOSUPPORT".to_string());
        }
        expected.insert(format!("{name}-pair"), "EAFNOSUPPORT".to_string());
    }
    for name in ["audit", "uevent", "netfilter", "generic", "diag", "xfrm"] {
        expected.insert(format!("netlink-{name}"), "EPROTONOSUPPORT".to_string());
    }
    for name in ["netlink-route", "inet-tcp", "inet6-udp"] {
        expected.insert(name.to_string(), "ok".to_string());
    }
    assert_eq!(results(&outcome.stdout()), expected, "{}", outcome.stderr());
    assert_eq!(
        enforcement(&outcome)["socket_families"],
        serde_json::json!(["AF_INET", "AF_INET6", "AF_NETLINK", "AF_UNIX"])
    );
}

#[test]
fn mptcp_sctp_and_icmp_sockets_are_refused_and_tcp_is_not() {
    let escape = Escape::new();
    let script = r#"for family, name in ((socket.AF_INET, "inet"), (socket.AF_INET6, "inet6")):
    attempt(name + "-mptcp", lambda: socket.socket(family, socket.SOCK_STREAM, 262))
    attempt(name + "-sctp", lambda: socket.socket(family, socket.SOCK_STREAM, 132))
    attempt(name + "-sctp-seqpacket", lambda: socket.socket(family, socket.SOCK_SEQPACKET, 0))
    attempt(name + "-udplite", lambda: socket.socket(family, socket.SOCK_DGRAM, 136))
    attempt(name + "-ping", lambda: socket.socket(family, socket.SOCK_DGRAM, 1 if family == socket.AF_INET else 58))
    attempt(name + "-raw", lambda: socket.socket(family, socket.SOCK_RAW, 255))
    attempt(name + "-tcp", lambda: socket.socket(family, socket.SOCK_STREAM | socket.SOCK_CLOEXEC, socket.IPPROTO_TCP))
    attempt(name + "-udp", lambda: socket.socket(family, socket.SOCK_DGRAM | socket.SOCK_NONBLOCK, socket.IPPROTO_UDP))
"#;
    let python = python_file(&escape, "mptcp.py", script);
    let outcome = escape.run(&["files.read"], &python);
    let mut expected = BTreeMap::new();
    for family in ["inet", "inet6"] {
        for refused in ["mptcp", "sctp", "sctp-seqpacket", "udplite", "ping", "raw"] {
            expected.insert(format!("{family}-{refused}"), "EPROTONOSUPPORT".to_string());
        }
        for allowed in ["tcp", "udp"] {
            expected.insert(format!("{family}-{allowed}"), "ok".to_string());
        }
    }
    assert_eq!(results(&outcome.stdout()), expected, "{}", outcome.stderr());
    enforcement(&outcome);
}

/// A host unix stream server and datagram socket in the work directory (as a root-owned
/// tmux or syslog socket would be), and a run with `scope` on that directory trying every way
/// to reach them. Returns the outcome; the host sockets must have seen nothing.
fn reach_host_unix_sockets(scope: &str) -> Outcome {
    let escape = Escape::new();
    let stream_path = escape.work.join("tmux.sock");
    let dgram_path = escape.work.join("syslog.sock");
    let listener = std::os::unix::net::UnixListener::bind(&stream_path).unwrap();
    listener.set_nonblocking(true).unwrap();
    let datagram = std::os::unix::net::UnixDatagram::bind(&dgram_path).unwrap();
    datagram.set_nonblocking(true).unwrap();
    let script = format!(
        r#"STREAM = "{stream}"
DGRAM = "{dgram}"
def stream():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(STREAM); s.sendall(b"pwned")
def seqpacket():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.connect(STREAM)
def dgram_sendto():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.sendto(b"pwned", DGRAM)
def dgram_connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.connect(DGRAM); s.send(b"pwned")
def pair_dgram_sendto():
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM); a.sendto(b"pwned", DGRAM)
def pair_stream_connect():
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM); a.connect(STREAM)
def pair_stream_sendto():
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM); a.sendto(b"pwned", DGRAM)
def pair_seqpacket_sendto():
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET); a.sendto(b"pwned", DGRAM)
    assert b.recv(16) == b"pwned"
for action in (stream, seqpacket, dgram_sendto, dgram_connect, pair_dgram_sendto,
        pair_stream_connect, pair_stream_sendto, pair_seqpacket_sendto):
    attempt(action.__name__.replace("_", "-"), action)
"#,
        stream = stream_path.display(),
        dgram = dgram_path.display(),
    );
    let python = python_file(&escape, "reach.py", &script);
    let outcome = escape.run(&[scope], &python);
    assert_eq!(
        results(&outcome.stdout()),
        expect(&[
            ("stream", "EACCES"),
            ("seqpacket", "EACCES"),
            ("dgram-sendto", "EACCES"),
            ("dgram-connect", "EACCES"),
            ("pair-dgram-sendto", "EACCES"),
            // A connected stream pair cannot be pointed at a path.
            ("pair-stream-connect", "EISCONN"),
            ("pair-stream-sendto", "EISCONN"),
            // A seqpacket pair ignores the address: the message goes to its own peer.
            ("pair-seqpacket-sendto", "ok"),
        ]),
        "{}",
        outcome.stderr()
    );
    assert!(
        listener.accept().is_err(),
        "the run connected to the host's stream socket"
    );
    let mut buffer = [0u8; 64];
    assert!(
        datagram.recv(&mut buffer).is_err(),
        "the run reached the host's datagram socket"
    );
    assert_eq!(enforcement(&outcome)["unix_sockets"], "pairs_only");
    outcome
}

#[test]
fn host_unix_socket_is_unreachable_through_files_read() {
    reach_host_unix_sockets("files.read");
}

#[test]
fn host_unix_socket_is_unreachable_through_files_write() {
    reach_host_unix_sockets("files.write");
}

#[test]
fn socketpair_asyncio_and_syslog_keep_working_when_unix_sockets_are_pairs_only() {
    let escape = Escape::new();
    let script = r#"import asyncio, syslog
def exchange(kind):
    a, b = socket.socketpair(socket.AF_UNIX, kind | socket.SOCK_CLOEXEC)
    a.sendall(b"ping"); assert b.recv(4) == b"ping"
    b.sendall(b"pong"); assert a.recv(4) == b"pong"
attempt("pair-stream", lambda: exchange(socket.SOCK_STREAM))
attempt("pair-seqpacket", lambda: exchange(socket.SOCK_SEQPACKET))
attempt("pair-dgram", lambda: socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM))
attempt("unix-socket", lambda: socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
async def child():
    proc = await asyncio.create_subprocess_exec("echo", "async", stdout=asyncio.subprocess.PIPE)
    out, _ = await proc.communicate()
    assert out == b"async\n"
attempt("asyncio", lambda: asyncio.run(child()))
attempt("syslog", lambda: syslog.syslog("hello"))
"#;
    let python = python_file(&escape, "pairs.py", script);
    let outcome = escape.run(&["files.read"], &python);
    assert_eq!(
        results(&outcome.stdout()),
        expect(&[
            ("pair-stream", "ok"),
            ("pair-seqpacket", "ok"),
            ("pair-dgram", "EACCES"),
            ("unix-socket", "EACCES"),
            ("asyncio", "ok"),
            ("syslog", "ok"),
        ]),
        "{}",
        outcome.stderr()
    );
    assert_eq!(outcome.code(), Some(0));
    assert_eq!(enforcement(&outcome)["unix_sockets"], "pairs_only");
}

/// Whether the run's Landlock confines unix-socket connects (ABI 9), so it may make sockets.
fn landlock_confines_connect(outcome: &Outcome) -> bool {
    enforcement(outcome)["landlock_abi"].as_u64().unwrap() >= 9
}

#[test]
fn a_run_without_scopes_serves_unix_sockets_in_its_private_tmp_only_where_landlock_confines_connect()
 {
    let escape = Escape::new();
    let code = r#"import socket, threading
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind("/tmp/own.sock"); server.listen(1)
def serve():
    connection, _ = server.accept(); connection.sendall(connection.recv(4).upper())
thread = threading.Thread(target=serve); thread.start()
client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); client.connect("/tmp/own.sock")
client.sendall(b"ping"); print("stream", client.recv(4).decode()); thread.join()
inbox = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); inbox.bind("/tmp/own-dgram.sock")
socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).sendto(b"hello", "/tmp/own-dgram.sock")
print("dgram", inbox.recv(5).decode())
"#;
    let outcome = escape.run(
        &[],
        &format!("cat > /tmp/own.py <<'EOF'\n{code}EOF\npython3 /tmp/own.py"),
    );
    if landlock_confines_connect(&outcome) {
        assert_eq!(
            outcome.stdout(),
            "stream PING\ndgram hello\n",
            "{}",
            outcome.stderr()
        );
        assert_eq!(enforcement(&outcome)["unix_sockets"], "any");
    } else {
        // Below ABI 9 even a run with no scope sees host directories (`/usr`), where a
        // socket(AF_UNIX) could reach a socket root keeps: connected pairs only.
        assert_eq!(outcome.stdout(), "", "{}", outcome.stderr());
        assert!(
            outcome.stderr().contains("PermissionError"),
            "{}",
            outcome.stderr()
        );
        assert_eq!(enforcement(&outcome)["unix_sockets"], "pairs_only");
    }
}

#[test]
fn syscalls_the_build_does_not_know_get_enosys() {
    // Numbers this kernel implements but the build has no libc name for (so the old deny list
    // let them through), one past anything the kernel has, the top of the space, and x32
    // numbers of allowed calls: all get the default errno, ENOSYS (38).
    let escape = Escape::new();
    let getpid = libc::SYS_getpid;
    let script = format!(
        r#"calls = {{"cachestat": (451, -1, 0, 0, 0), "statmount": (457, 0, 0, 0, 0),
    "lsm_list_modules": (461, 0, 0, 0), "setxattrat": (463, -1, 0, 0, 0, 0),
    "file_getattr": (468, -1, 0, 0, 0, 0), "past_the_end": (1000,), "top": (0xffff,),
    "x32_getpid": (0x40000000 | {getpid},), "x32_past": (0x40000000 | 1000,)}}
for name, call in calls.items():
    report(name, libc.syscall(*[L(value) for value in call]))
report("getpid", libc.syscall(L({getpid})))
"#
    );
    let python = python_file(&escape, "numbers.py", &script);
    let outcome = escape.run(&["files.read"], &python);
    let enosys = "ENOSYS";
    assert_eq!(
        results(&outcome.stdout()),
        expect(&[
            ("cachestat", enosys),
            ("statmount", enosys),
            ("lsm_list_modules", enosys),
            ("setxattrat", enosys),
            ("file_getattr", enosys),
            ("past_the_end", enosys),
            ("top", enosys),
            ("x32_getpid", enosys),
            ("x32_past", enosys),
            ("getpid", "ok"),
        ]),
        "{}",
        outcome.stderr()
    );
    assert_eq!(enforcement(&outcome)["seccomp_default"], "ENOSYS");
}

#[test]
fn real_programs_keep_working_under_the_allowlist() {
    // python3 (ssl, subprocess, asyncio's socketpair, threads), curl, git, coreutils and sh,
    // with unix sockets both allowed and pairs-only.
    let code = r#"import ssl, subprocess, asyncio, threading, hashlib
print("ssl", ssl.OPENSSL_VERSION.split()[0], bool(ssl.create_default_context()))
print("subprocess", subprocess.run(["echo", "child"], capture_output=True, text=True).stdout.strip())
async def main():
    proc = await asyncio.create_subprocess_exec("echo", "async", stdout=asyncio.subprocess.PIPE)
    return (await proc.communicate())[0].decode().strip()
print("asyncio", asyncio.run(main()))
results = []
threads = [threading.Thread(target=lambda i=i: results.append(hashlib.sha256(bytes([i])).hexdigest())) for i in range(4)]
[thread.start() for thread in threads]
[thread.join() for thread in threads]
print("threads", len(set(results)))
"#;
    let script = format!(
        "set -e
cat > /tmp/compat.py <<'EOF'
{code}EOF
python3 /tmp/compat.py
echo curl $(curl -s file:///tmp/compat.py | head -c 10)
git init -q /tmp/repo
git -C /tmp/repo -c user.name=a -c user.email=a@b commit -q --allow-empty -m first
echo git $(git -C /tmp/repo log --oneline | wc -l)
printf 'b\\na\\n' | sort | tr '\\n' ' ' | sed 's/^/sort /'; echo
cp /tmp/compat.py /tmp/copy.py && mv /tmp/copy.py /tmp/moved.py && chmod 640 /tmp/moved.py
echo stat $(stat -c %a /tmp/moved.py)
tar -cf /tmp/t.tar -C /tmp moved.py && echo tar $(tar -tf /tmp/t.tar)
echo find $(find /tmp -name moved.py)
ln -s /tmp/moved.py /tmp/link && echo readlink $(readlink /tmp/link)
mkdir -p /tmp/a/b && rm -r /tmp/a && echo rm ok
echo sh $(( 6 * 7 ))"
    );
    let expected = "ssl OpenSSL True\nsubprocess child\nasyncio async\nthreads 4\ncurl import ssl\ngit 1\nsort a b \nstat 640\ntar moved.py\nfind /tmp/moved.py\nreadlink /tmp/moved.py\nrm ok\nsh 42\n";
    for scopes in [&[][..], &["files.read"][..]] {
        let escape = Escape::new();
        let outcome = escape.run(scopes, &script);
        assert_eq!(
            outcome.stdout(),
            expected,
            "{scopes:?}: {}",
            outcome.stderr()
        );
        assert_eq!(outcome.code(), Some(0), "{scopes:?}: {}", outcome.stderr());
        let unix = if landlock_confines_connect(&outcome) {
            "any"
        } else {
            "pairs_only"
        };
        assert_eq!(enforcement(&outcome)["unix_sockets"], unix);
    }
}
