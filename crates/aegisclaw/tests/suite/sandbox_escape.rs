//! Escape tests: the real binary runs commands that try to break out of the native sandbox.
//! Each test is named after the attack and asserts both that it failed and what the audit log
//! recorded about the run. This file is the harness; the tests live in its child modules, one
//! per attack surface.

mod basics;
mod ca_store;
mod devices;
mod egress;
mod egress_bypass;
mod envelope;
mod etc;
mod exec;
mod limits;
mod lockdown;
mod objects;
mod output;
mod paths;
mod redaction;
mod setid;
mod syscalls;

use super::common::TestEnv;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Output;

/// A home on the permissive template (so non-critical scopes run without asking) and a
/// working directory for the runs.
struct Escape {
    env: TestEnv,
    work: PathBuf,
}

/// What a run did and the audit records it wrote.
struct Outcome {
    output: Output,
    records: Vec<Value>,
}

impl Outcome {
    fn code(&self) -> Option<i32> {
        self.output.status.code()
    }
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }
    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }
    fn record(&self, kind: &str) -> &Value {
        self.records
            .iter()
            .find(|record| record["kind"] == kind)
            .unwrap_or_else(|| panic!("no `{kind}` record in {:#?}", self.records))
    }
    fn has(&self, kind: &str) -> bool {
        self.records.iter().any(|record| record["kind"] == kind)
    }
    /// The run finished (it was contained, not refused) and every layer was in force.
    fn finished(&self) -> &Value {
        let finished = self.record("run.finished");
        let enforcement = &finished["data"]["enforcement"];
        assert_eq!(enforcement["no_new_privs"], true);
        assert_eq!(enforcement["capabilities_dropped"], true);
        assert!(enforcement["landlock_abi"].as_u64().unwrap_or(0) >= 1);
        // Default-deny: everything not on the allowlist gets ENOSYS; sockets of four families.
        assert_eq!(enforcement["seccomp_default"], "ENOSYS");
        assert!(enforcement["seccomp_allowed"].as_u64().unwrap_or(0) >= 200);
        assert!(enforcement["seccomp_filtered"].as_u64().unwrap_or(0) >= 9);
        assert_eq!(
            enforcement["socket_families"],
            serde_json::json!(["AF_INET", "AF_INET6", "AF_NETLINK", "AF_UNIX"])
        );
        assert_eq!(
            enforcement["namespaces"],
            serde_json::json!(["user", "mount", "pid", "net", "ipc", "uts"])
        );
        finished
    }
}

impl Escape {
    fn new() -> Self {
        Self::with_policy("permissive")
    }

    fn with_policy(policy: &str) -> Self {
        let env = TestEnv::new();
        env.cmd(&["init", "--defaults", "--policy", policy])
            .assert()
            .success();
        let work = env.home().with_file_name("work");
        std::fs::create_dir_all(&work).unwrap();
        Self { env, work }
    }

    fn audit_lines(&self) -> usize {
        std::fs::read_to_string(self.env.home().join("audit/audit.jsonl"))
            .map(|text| text.lines().count())
            .unwrap_or(0)
    }

    fn records_since(&self, before: usize) -> Vec<Value> {
        let text = std::fs::read_to_string(self.env.home().join("audit/audit.jsonl")).unwrap();
        text.lines()
            .skip(before)
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    /// `aegisclaw sandbox run --scope ... -- sh -c SCRIPT` in the work directory, for a test
    /// that is not about what a run may execute: a bare `shell.exec` is added unless the
    /// scopes name one (see [`with_exec`]).
    fn run(&self, scopes: &[&str], script: &str) -> Outcome {
        self.run_exact(&with_exec(scopes), script)
    }

    /// `aegisclaw sandbox run --scope ... -- sh -c SCRIPT` with exactly these scopes.
    fn run_exact(&self, scopes: &[&str], script: &str) -> Outcome {
        let mut args = vec!["sandbox", "run"];
        for scope in scopes {
            args.extend(["--scope", scope]);
        }
        args.extend(["--", "sh", "-c", script]);
        self.run_args(&args)
    }

    fn run_args(&self, args: &[&str]) -> Outcome {
        let before = self.audit_lines();
        let output = self.env.cmd(args).current_dir(&self.work).output().unwrap();
        Outcome {
            output,
            records: self.records_since(before),
        }
    }

    fn set_limit(&self, name: &str, value: u64) {
        let path = self.env.home().join("config.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        let mut out = String::new();
        for line in text.lines() {
            if line.trim_start().starts_with(&format!("{name}:")) {
                out.push_str(&format!("    {name}: {value}\n"));
            } else {
                out.push_str(line);
                out.push('\n');
            }
        }
        std::fs::write(&path, out).unwrap();
    }
}

/// The `policy.decision` record on `scope` (the scope as decided, resolved).
fn decision_on<'a>(outcome: &'a Outcome, scope: &str) -> &'a Value {
    outcome
        .records
        .iter()
        .find(|record| record["kind"] == "policy.decision" && record["scope"] == scope)
        .unwrap_or_else(|| panic!("no decision on `{scope}` in {:#?}", outcome.records))
}

/// The run was asked about at `scope`, rated critical, nobody could approve, nothing ran.
fn assert_refused_as_critical(outcome: &Outcome, scope: &str) {
    assert_eq!(outcome.code(), Some(1), "{}", outcome.stderr());
    let decision = decision_on(outcome, scope);
    assert_eq!(decision["data"]["risk"], "critical", "{decision}");
    assert_eq!(decision["decision"], "needs_approval", "{decision}");
    assert_eq!(outcome.record("approval.denied")["scope"], scope);
    assert_eq!(outcome.record("run.refused")["data"]["stage"], "approval");
    assert!(!outcome.has("run.launch"));
}

/// `scopes` and, unless they name one, a bare `shell.exec`: the scripts of tests that are not
/// about the exec wall run programs (`cat`, `python3`, `curl`...) from `sh`, which a run
/// without `shell.exec` may not (`exec.rs` tests that wall).
fn with_exec<'a>(scopes: &[&'a str]) -> Vec<&'a str> {
    let mut scopes = scopes.to_vec();
    if !scopes.iter().any(|scope| scope.starts_with("shell.exec")) {
        scopes.push("shell.exec");
    }
    scopes
}

fn python(code: &str) -> String {
    format!("python3 -c '{code}'")
}

/// A python one-liner that makes raw syscall `number` with `args` and prints `result errno`.
fn raw_syscall(number: u32, args: &str) -> String {
    python(&format!(
        "import ctypes\nlibc=ctypes.CDLL(None,use_errno=True)\nr=libc.syscall({number},{args})\nprint(r,ctypes.get_errno())"
    ))
}

/// Whether these tests run as root: only root runs use a slot's kept network namespace.
fn running_as_root() -> bool {
    std::fs::read_to_string("/proc/self/status").is_ok_and(|status| {
        status
            .lines()
            .any(|line| line.starts_with("Uid:") && line.split_whitespace().nth(1) == Some("0"))
    })
}

fn with_secret(escape: &Escape, value: &str) {
    escape
        .env
        .cmd(&["secrets", "set", "API_TOKEN"])
        .write_stdin(value)
        .assert()
        .success();
}

/// A "world" reachable from the host's network namespace (where the proxy dials from): a
/// network namespace joined to the host by a veth pair on `192.0.3.<4i+1>/30` (host side) and
/// `192.0.3.<4i+2>/30` (world side), with a Python HTTP origin on the world side, port 8080,
/// serving `hello.txt`. Each test takes its own index, so parallel tests never share a subnet.
/// Everything is removed on drop.
struct World {
    netns: String,
    host_link: String,
    origin: Option<std::process::Child>,
    /// The origin's address.
    address: String,
    _root: tempfile::TempDir,
}

fn ip(args: &[&str]) -> bool {
    std::process::Command::new("ip")
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

impl World {
    fn create(index: u8) -> Self {
        let pid = std::process::id();
        let netns = format!("aegis-world-{pid}-{index}");
        let host_link = format!("awh{}{index}", pid % 100_000);
        let world_link = format!("aww{}{index}", pid % 100_000);
        let base = 4 * index;
        let address = format!("192.0.3.{}", base + 2);
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("hello.txt"), "origin-says-hi\n").unwrap();
        let mut world = Self {
            netns,
            host_link,
            origin: None,
            address,
            _root: root,
        };
        let n = world.netns.clone();
        let steps: [&[&str]; 8] = [
            &["netns", "add", &n],
            &[
                "link",
                "add",
                &world.host_link,
                "type",
                "veth",
                "peer",
                "name",
                &world_link,
            ],
            &["link", "set", &world_link, "netns", &n],
            &[
                "addr",
                "add",
                &format!("192.0.3.{}/30", base + 1),
                "dev",
                &world.host_link,
            ],
            &["link", "set", &world.host_link, "up"],
            &[
                "-n",
                &n,
                "addr",
                "add",
                &format!("{}/30", world.address),
                "dev",
                &world_link,
            ],
            &["-n", &n, "link", "set", &world_link, "up"],
            &["-n", &n, "link", "set", "lo", "up"],
        ];
        for step in steps {
            assert!(ip(step), "cannot build the test world: ip {step:?}");
        }
        let origin = std::process::Command::new("ip")
            .args(["netns", "exec", &n, "python3", "-m", "http.server", "8080"])
            .args(["--bind", &world.address, "--directory"])
            .arg(world._root.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        world.origin = Some(origin);
        // Reachable from the host (as the proxy will dial it) before any run starts.
        let target: std::net::SocketAddr = format!("{}:8080", world.address).parse().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect_timeout(&target, std::time::Duration::from_millis(200))
            .is_err()
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the origin never came up"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        world
    }

    fn url(&self) -> String {
        format!("http://{}:8080/hello.txt", self.address)
    }
}

impl Drop for World {
    fn drop(&mut self) {
        if let Some(mut origin) = self.origin.take() {
            let _ = origin.kill();
            let _ = origin.wait();
        }
        ip(&["link", "delete", &self.host_link]);
        ip(&["netns", "delete", &self.netns]);
    }
}

impl Outcome {
    fn egress(&self) -> Vec<&Value> {
        self.records
            .iter()
            .filter(|record| record["kind"] == "net.egress")
            .collect()
    }
}

/// curl through the proxy the environment names; prints the HTTP status, then the body.
fn curl_status(url: &str) -> String {
    format!("curl -s --max-time 10 -o body -w '%{{http_code}}' {url}; echo; cat body")
}

/// Hands `path` and everything under it to uid/gid 65534 (`nobody`).
fn give_to_nobody(path: &std::path::Path) {
    std::os::unix::fs::chown(path, Some(65534), Some(65534)).unwrap();
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            give_to_nobody(&entry.unwrap().path());
        }
    }
}

/// A home and work directory owned by `nobody`, and the real binary run as `nobody`
/// (`setpriv`): no capabilities, no writable cgroups, no way into other namespaces.
struct Unprivileged {
    env: TestEnv,
    work: PathBuf,
}

impl Unprivileged {
    fn new() -> Self {
        let env = TestEnv::new();
        let work = env.dir.path().join("work");
        std::fs::create_dir_all(&work).unwrap();
        give_to_nobody(env.dir.path());
        let this = Self { env, work };
        let init = this.run(&[
            "init",
            "--defaults",
            "--policy",
            "permissive",
            "--secrets",
            "none",
        ]);
        assert!(init.status.success(), "{init:?}");
        this
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut setpriv = std::process::Command::new("setpriv");
        setpriv
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(assert_cmd::cargo::cargo_bin("aegisclaw"))
            .args(args);
        self.env
            .with_env(setpriv)
            .current_dir(&self.work)
            .output()
            .unwrap()
    }

    fn records(&self) -> Vec<Value> {
        std::fs::read_to_string(self.env.home().join("audit/audit.jsonl"))
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }
}

/// Runs `aegisclaw sandbox run` inside a private mount namespace whose `/etc/hosts` maps the
/// given names, so the egress proxy's own resolver sees them (no DNS server needed).
fn run_with_hosts(escape: &Escape, hosts: &str, scopes: &[&str], script: &str) -> Outcome {
    run_with_resolver(escape, hosts, None, scopes, script)
}

/// Like [`run_with_hosts`], and with `resolv_conf` (when given) bound over `/etc/resolv.conf`,
/// so the proxy's resolver asks the DNS server it names.
fn run_with_resolver(
    escape: &Escape,
    hosts: &str,
    resolv_conf: Option<&str>,
    scopes: &[&str],
    script: &str,
) -> Outcome {
    let hosts_file = escape.work.with_file_name("hosts");
    std::fs::write(&hosts_file, hosts).unwrap();
    let mut command = format!("mount --bind {} /etc/hosts", hosts_file.display());
    if let Some(resolv_conf) = resolv_conf {
        let resolv_file = escape.work.with_file_name("resolv.conf");
        std::fs::write(&resolv_file, resolv_conf).unwrap();
        command.push_str(&format!(
            " && mount --bind {} /etc/resolv.conf",
            resolv_file.display()
        ));
    }
    command.push_str(&format!(
        " && exec {} sandbox run",
        env!("CARGO_BIN_EXE_aegisclaw")
    ));
    for scope in with_exec(scopes) {
        command.push_str(&format!(" --scope '{scope}'"));
    }
    command.push_str(&format!(" -- sh -c '{}'", script.replace('\'', "'\\''")));
    let before = escape.audit_lines();
    let output = std::process::Command::new("unshare")
        .args(["-m", "--propagation", "private", "sh", "-c", &command])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("AEGISCLAW_HOME", escape.env.home())
        .env("AEGISCLAW_ACTOR", "tester")
        .env("HOME", escape.env.home().with_file_name("user"))
        .current_dir(&escape.work)
        .output()
        .unwrap();
    Outcome {
        output,
        records: escape.records_since(before),
    }
}

/// The `sleep` processes with `marker` among their arguments. Only `sleep` counts: AegisClaw's
/// own command line holds the marker too, and so does its clone until that execs.
fn processes_with(marker: &str) -> usize {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|entry| {
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let mut args = cmdline.split(|byte| *byte == 0);
            args.next() == Some(b"sleep".as_slice()) && args.any(|arg| arg == marker.as_bytes())
        })
        .count()
}
