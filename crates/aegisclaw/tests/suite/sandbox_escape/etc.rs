//! The run's synthetic `/etc`: real programs work inside with only their scopes (HTTPS through
//! the egress proxy verified against the configured CA store, `git commit`, `getpwuid`), and
//! nothing else of the host's `/etc` is there.

use super::*;

/// `openssl` with `args` in `dir`; the test fails loudly without the CLI.
fn openssl(dir: &std::path::Path, args: &[&str]) {
    let output = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the TLS tests need the `openssl` CLI");
    assert!(output.status.success(), "openssl {args:?}: {output:?}");
}

/// A test CA (`<name>.pem`, `<name>.key`) and a server certificate it signs for `host`
/// (`<name>-server.pem`, `<name>-server.key`), in `dir`.
pub(super) fn test_ca(dir: &std::path::Path, name: &str, host: &str) {
    let subject = format!("/CN=AegisClaw test CA {name}");
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            &subject,
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            &format!("/CN={host}"),
            "-keyout",
            &format!("{name}-server.key"),
            "-out",
            &format!("{name}-server.csr"),
        ],
    );
    std::fs::write(
        dir.join(format!("{name}.ext")),
        format!("subjectAltName=DNS:{host}\nextendedKeyUsage=serverAuth\n"),
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &format!("{name}-server.csr"),
            "-CA",
            &format!("{name}.pem"),
            "-CAkey",
            &format!("{name}.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &format!("{name}.ext"),
            "-out",
            &format!("{name}-server.pem"),
        ],
    );
}

/// A TLS origin in `world`'s namespace on `port`, serving the world's files with the
/// certificate `cert` and key `key`; killed on drop.
struct TlsOrigin(std::process::Child);

impl TlsOrigin {
    fn serve(world: &World, port: u16, cert: &std::path::Path, key: &std::path::Path) -> Self {
        let code = format!(
            "import http.server, ssl, os\nos.chdir({root:?})\ncontext = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\ncontext.load_cert_chain({cert:?}, {key:?})\nserver = http.server.HTTPServer(({address:?}, {port}), http.server.SimpleHTTPRequestHandler)\nserver.socket = context.wrap_socket(server.socket, server_side=True)\nserver.serve_forever()\n",
            root = world._root.path().display().to_string(),
            cert = cert.display().to_string(),
            key = key.display().to_string(),
            address = world.address,
        );
        let child = std::process::Command::new("ip")
            .args(["netns", "exec", &world.netns, "python3", "-c", &code])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let target: std::net::SocketAddr = format!("{}:{port}", world.address).parse().unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while std::net::TcpStream::connect_timeout(&target, std::time::Duration::from_millis(200))
            .is_err()
        {
            assert!(
                std::time::Instant::now() < deadline,
                "the TLS origin never came up"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Self(child)
    }
}

impl Drop for TlsOrigin {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Escape {
    /// Sets `sandbox.<key>: <value>` in the home's config.
    pub(super) fn set_sandbox(&self, key: &str, value: &str) {
        let path = self.env.home().join("config.yaml");
        let text = std::fs::read_to_string(&path).unwrap();
        let text = text.replacen("sandbox:\n", &format!("sandbox:\n  {key}: {value}\n"), 1);
        std::fs::write(&path, text).unwrap();
    }
}

/// curl, then Python's `urllib` (its default context: verification on), fetching `url`
/// through the proxy the environment names; each prints its status line.
fn fetch_twice(url: &str) -> String {
    format!(
        "curl -sS --max-time 10 {url}; echo curl=$?; python3 -c 'import urllib.request\ntry:\n    print(\"urllib\", urllib.request.urlopen(\"{url}\", timeout=10).read().decode().strip())\nexcept Exception as error:\n    print(\"urllib failed\", error)'"
    )
}

#[test]
fn https_through_the_egress_proxy_is_verified_against_the_configured_ca() {
    let escape = Escape::new();
    let world = World::create(11);
    let tls = escape.work.with_file_name("tls");
    std::fs::create_dir_all(&tls).unwrap();
    test_ca(&tls, "trusted", "secure.test");
    let _origin = TlsOrigin::serve(
        &world,
        8443,
        &tls.join("trusted-server.pem"),
        &tls.join("trusted-server.key"),
    );
    escape.set_sandbox("ca_bundle", tls.join("trusted.pem").to_str().unwrap());
    let outcome = run_with_hosts(
        &escape,
        &format!("{} secure.test\n", world.address),
        &["net.outbound:secure.test:8443"],
        &fetch_twice("https://secure.test:8443/hello.txt"),
    );
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    assert_eq!(
        outcome.stdout(),
        "origin-says-hi\ncurl=0\nurllib origin-says-hi\n",
        "{}",
        outcome.stderr()
    );
    let egress = outcome.egress();
    assert!(
        egress
            .iter()
            .all(|record| record["data"]["host"] == "secure.test"
                && record["data"]["port"] == 8443
                && record["decision"] == "allow"),
        "{egress:#?}"
    );
    assert_eq!(egress[0]["data"]["count"], 2, "{egress:#?}");
    outcome.finished();
}

#[test]
fn a_certificate_from_an_unknown_ca_fails_verification() {
    let escape = Escape::new();
    let world = World::create(12);
    let tls = escape.work.with_file_name("tls");
    std::fs::create_dir_all(&tls).unwrap();
    test_ca(&tls, "trusted", "secure.test");
    test_ca(&tls, "stranger", "secure.test");
    // The origin's certificate is the stranger CA's; the run trusts only the other one.
    let _origin = TlsOrigin::serve(
        &world,
        8443,
        &tls.join("stranger-server.pem"),
        &tls.join("stranger-server.key"),
    );
    escape.set_sandbox("ca_bundle", tls.join("trusted.pem").to_str().unwrap());
    let outcome = run_with_hosts(
        &escape,
        &format!("{} secure.test\n", world.address),
        &["net.outbound:secure.test:8443"],
        &fetch_twice("https://secure.test:8443/hello.txt"),
    );
    let stdout = outcome.stdout();
    assert!(!stdout.contains("origin-says-hi"), "{stdout}");
    // curl's CURLE_PEER_FAILED_VERIFICATION; Python's verification error.
    assert!(
        stdout.contains("curl=60\n"),
        "{stdout}\n{}",
        outcome.stderr()
    );
    assert!(
        stdout.contains("urllib failed") && stdout.contains("CERTIFICATE_VERIFY_FAILED"),
        "{stdout}"
    );
    // The tunnel itself was allowed: the refusal is the client's own verification.
    assert!(
        outcome
            .egress()
            .iter()
            .all(|record| record["decision"] == "allow")
    );
    outcome.finished();
}

#[test]
fn git_commit_works_in_a_files_write_repository() {
    let escape = Escape::new();
    let git = |args: &[&str]| {
        let status = std::process::Command::new("git")
            .args(args)
            .current_dir(&escape.work)
            .stdout(std::process::Stdio::null())
            .status()
            .expect("the git test needs git");
        assert!(status.success(), "git {args:?}");
    };
    git(&["init", "-q", "."]);
    // The author's name comes from the run's passwd entry: only the address is configured.
    git(&["config", "user.email", "tester@example.invalid"]);
    std::fs::write(escape.work.join("notes.txt"), "first\n").unwrap();
    let outcome = escape.run_exact(
        &["files.write", "shell.exec:git"],
        "git add notes.txt && git commit -q -m first && git log --format=%an:%s",
    );
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    assert_eq!(outcome.stdout(), format!("{}:first\n", host_user_name()));
    outcome.finished();
}

/// The name `/etc/passwd` gives this process's uid on the host, as the run's passwd names it.
fn host_user_name() -> String {
    let uid = std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().next().map(str::to_string))
        .unwrap();
    std::fs::read_to_string("/etc/passwd")
        .unwrap()
        .lines()
        .find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.get(2) == Some(&uid.as_str())).then(|| fields[0].to_string())
        })
        .unwrap_or_else(|| "aegisclaw".to_string())
}

#[test]
fn getpass_getuser_and_whoami_answer_with_the_callers_name() {
    let escape = Escape::new();
    let outcome = escape.run_exact(
        &["shell.exec:whoami", "shell.exec:python3"],
        "whoami; python3 -c 'import getpass, pwd, os; print(getpass.getuser(), pwd.getpwuid(os.getuid()).pw_dir)'",
    );
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    let name = host_user_name();
    assert_eq!(outcome.stdout(), format!("{name}\n{name} /tmp\n"));
    outcome.finished();
}

#[test]
fn the_hosts_etc_is_not_visible_inside() {
    let escape = Escape::new();
    let outcome = escape.run(
        &[],
        "ls -A /etc /etc/ssl/certs; for f in shadow hostname resolv.conf machine-id sudoers; do cat /etc/$f 2>/dev/null && echo LEAK $f; done; python3 -c 'import socket, time; print(socket.gethostbyname(\"localhost\"), socket.gethostbyname(socket.gethostname()), time.tzname[0])'",
    );
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    let zone = std::process::Command::new("date")
        .arg("+%Z")
        .output()
        .unwrap()
        .stdout;
    assert_eq!(
        outcome.stdout(),
        format!(
            "/etc:\ngroup\nhosts\nld.so.cache\nlocaltime\nnsswitch.conf\npasswd\nssl\n\n/etc/ssl/certs:\nca-certificates.crt\n127.0.0.1 127.0.1.1 {}",
            String::from_utf8_lossy(&zone)
        ),
        "{}",
        outcome.stderr()
    );
    outcome.finished();
}

#[test]
fn the_hosts_configuration_under_usr_is_hidden_like_its_etc() {
    // Attack pass 5: every run could read `/usr/local/etc` (npm's global `npmrc`, a
    // source-built git's system `gitconfig`) with no scope at all.
    let dir = std::path::Path::new("/usr/local/etc");
    if !dir.is_dir() {
        eprintln!("SKIPPED: this host has no /usr/local/etc");
        return;
    }
    let escape = Escape::new();
    let outcome = escape.run(
        &[],
        "ls -A /usr/local/etc | wc -l; touch /usr/local/etc/x || echo REFUSED",
    );
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    assert_eq!(
        outcome.stdout().lines().next(),
        Some("0"),
        "{}",
        outcome.stdout()
    );
    assert!(outcome.stdout().contains("REFUSED"), "{}", outcome.stdout());
    assert!(outcome.has("run.finished"));
}
