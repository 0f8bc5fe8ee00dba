//! The egress regression suite: one test per way peer sandboxes' egress filters have been
//! bypassed, each run for real against test hosts in network namespaces (and, for the DNS
//! cases, a real resolver: dnsmasq on a loopback address of the host, whose query log shows
//! what the proxy looked up). Each asserts the denial and the audit record. MPTCP sockets are
//! refused by the seccomp filter and tested with it. The DNS cases live in `dns`.

mod dns;

use super::*;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Says why a test did not run. A skip is loud: the reason is printed.
#[allow(clippy::print_stderr, reason = "a skipped test says why")]
fn skip(why: &str) {
    eprintln!("skipped: {why}");
}

/// Waits until `address` accepts TCP connections from the host.
fn wait_for(address: &str) {
    let target: std::net::SocketAddr = address.parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect_timeout(&target, Duration::from_millis(200)).is_err() {
        assert!(Instant::now() < deadline, "`{address}` never came up");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// An HTTP origin that writes every byte each connection brings (until the client is quiet for
/// 0.4 s) to a log, then answers `recorded <Host header>`: it shows exactly what reached it.
const RECORDER: &str = r#"import socket, sys, threading
address, port, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind((address, port))
server.listen(64)
def serve(client):
    client.settimeout(0.4)
    data = b""
    try:
        while True:
            chunk = client.recv(65536)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        pass
    with open(log, "ab") as out:
        out.write(data + b"\n=====\n")
    host = b"-"
    for line in data.split(b"\r\n"):
        if line.lower().startswith(b"host:"):
            host = line[5:].strip()
            break
    body = b"recorded " + host
    client.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body)
    client.close()
while True:
    client, _ = server.accept()
    threading.Thread(target=serve, args=(client,), daemon=True).start()
"#;

/// A [`RECORDER`] on a port (8081 unless named) of a world's address, inside its namespace.
struct Recorder {
    child: Child,
    log: PathBuf,
}

impl Recorder {
    fn start(world: &World) -> Self {
        Self::start_on(world, 8081)
    }

    fn start_on(world: &World, port: u16) -> Self {
        let port = port.to_string();
        let script = world._root.path().join("recorder.py");
        let log = world._root.path().join("received.log");
        std::fs::write(&script, RECORDER).unwrap();
        std::fs::write(&log, "").unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &world.netns, "python3"])
            .arg(&script)
            .args([&world.address, &port])
            .arg(&log)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for(&format!("{}:{port}", world.address));
        // The readiness probe itself is a (quiet, empty) connection: wait for its entry.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !std::fs::read_to_string(&log).unwrap().contains("=====") {
            assert!(
                Instant::now() < deadline,
                "the recorder never logged its probe"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        std::fs::write(&log, "").unwrap();
        Self { child, log }
    }

    /// Everything that reached it since it started.
    fn received(&self) -> String {
        String::from_utf8_lossy(&std::fs::read(&self.log).unwrap()).into_owned()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A python one-liner-ish client for the proxy: sends `request` (Python bytes literal) on one
/// connection and prints the status line of the reply.
fn raw_request(request: &str) -> String {
    format!(
        "python3 -c 'import socket; s = socket.create_connection((\"127.0.0.1\", 3128)); s.sendall({request}); print(s.recv(4096).split(b\"\\r\\n\")[0].decode())'"
    )
}

fn denied_hosts(outcome: &Outcome) -> Vec<String> {
    outcome
        .egress()
        .iter()
        .filter(|record| record["decision"] == "deny")
        .map(|record| {
            record["data"]["host"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect()
}

#[test]
fn curl_noproxy_star_and_raw_sockets_reach_nothing() {
    let world = World::create(40);
    let escape = Escape::new();
    let scope = format!("net.outbound:{}:8080", world.address);
    let script = format!(
        "curl -s --max-time 5 --noproxy \"*\" {url} && echo BYPASSED; echo \"curl=$?\"; \
         curl -s --max-time 5 --noproxy \"*\" \"http://[2001:db8::1]:8080/\" && echo BYPASSED6; echo \"curl6=$?\"; \
         python3 -c 'import socket\nfor a in [(\"{address}\", 8080), (\"8.8.8.8\", 443)]:\n  try:\n    socket.create_connection(a, 2); print(\"CONNECTED\")\n  except OSError as e: print(e.errno)'",
        url = world.url(),
        address = world.address
    );
    let outcome = escape.run(&[&scope], &script);
    // Network unreachable (errno 101) for every direct attempt: only the proxy is a way out.
    assert_eq!(
        outcome.stdout(),
        "curl=7\ncurl6=7\n101\n101\n",
        "{}",
        outcome.stderr()
    );
    assert_eq!(
        outcome.record("run.launch")["data"]["egress_proxy"],
        "127.0.0.1:3128"
    );
    assert!(outcome.egress().is_empty(), "{:#?}", outcome.egress());
    outcome.finished();
}

/// Forwards every connection on 127.0.0.1:9000 to the egress proxy, byte for byte.
const RELAY: &str = r#"import socket, threading
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 9000))
server.listen(16)
def pipe(a, b):
    while True:
        data = a.recv(65536)
        if not data:
            break
        b.sendall(data)
    b.shutdown(socket.SHUT_WR)
while True:
    client, _ = server.accept()
    upstream = socket.create_connection(("127.0.0.1", 3128))
    threading.Thread(target=pipe, args=(client, upstream), daemon=True).start()
    threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
"#;

#[test]
fn connect_relayed_through_an_in_sandbox_relay_is_refused_like_a_direct_one() {
    let world = World::create(41);
    let recorder = Recorder::start(&world);
    let escape = Escape::new();
    std::fs::write(escape.work.join("relay.py"), RELAY).unwrap();
    let scope = format!("net.outbound:{}:8081", world.address);
    let script = format!(
        "python3 relay.py & sleep 0.5; \
         curl -s -o /dev/null -w \"%{{http_code}} \" -x http://127.0.0.1:9000 http://evil.example.org/; \
         curl -s -o /dev/null -w \"%{{http_connect}} \" -p -x http://127.0.0.1:9000 http://evil.example.org:8081/; \
         curl -s -x http://127.0.0.1:9000 http://{}:8081/through-the-relay; kill %1",
        world.address
    );
    let outcome = escape.run(&["files.read", &scope], &script);
    assert_eq!(
        outcome.stdout(),
        format!("403 403 recorded {}:8081", world.address),
        "{}",
        outcome.stderr()
    );
    let egress = outcome.egress();
    assert_eq!(egress.len(), 3, "{egress:#?}");
    assert_eq!(
        denied_hosts(&outcome),
        vec!["evil.example.org", "evil.example.org"]
    );
    assert_eq!(egress[1]["data"]["method"], "CONNECT");
    assert_eq!(egress[1]["data"]["port"], 8081);
    assert_eq!(egress[2]["decision"], "allow");
    assert!(recorder.received().contains("GET /through-the-relay "));
    assert!(!recorder.received().contains("evil"));
    outcome.finished();
}

#[test]
fn connect_tunnel_to_plain_http_port_80_is_refused_and_recorded() {
    let world = World::create(50);
    let recorder = Recorder::start_on(&world, 80);
    let escape = Escape::new();
    let a = &world.address;
    // No port: 80 (plain HTTP, checked request by request) and 443. A tunnel to port 80 would
    // carry any number of requests for any Host past those checks.
    let scope = format!("net.outbound:{a}");
    let script = format!(
        "curl -s -o /dev/null -w \"%{{http_connect}} \" --proxytunnel http://{a}/tunnelled; \
         curl -s http://{a}/direct"
    );
    let outcome = escape.run(&[&scope], &script);
    assert_eq!(
        outcome.stdout(),
        format!("403 recorded {a}"),
        "{}",
        outcome.stderr()
    );
    let received = recorder.received();
    assert!(!received.contains("tunnelled"), "{received}");
    assert!(received.contains("GET /direct "), "{received}");
    let egress = outcome.egress();
    assert_eq!(egress.len(), 2, "{egress:#?}");
    assert_eq!(egress[0]["decision"], "deny");
    assert_eq!(egress[0]["data"]["method"], "CONNECT");
    assert_eq!(egress[0]["data"]["port"], 80);
    assert_eq!(
        egress[0]["reason"],
        format!(
            "CONNECT to `{a}:80` refused: port 80 is plain HTTP, which the proxy relays one request at a time (send `http://` requests to the proxy, not through a tunnel)"
        )
    );
    assert_eq!(egress[1]["decision"], "allow");
    assert_eq!(egress[1]["data"]["method"], "HTTP");
    outcome.finished();
}

#[test]
fn connect_to_an_allowed_host_cannot_be_steered_by_host_header_or_an_inner_connect() {
    let allowed = World::create(42);
    let other = World::create(43);
    let (allowed_origin, other_origin) = (Recorder::start(&allowed), Recorder::start(&other));
    let escape = Escape::new();
    let (a, b) = (&allowed.address, &other.address);
    std::fs::write(
        escape.work.join("steer.py"),
        format!(
            r#"import socket
s = socket.create_connection(("127.0.0.1", 3128))
s.sendall(b"CONNECT {a}:8081 HTTP/1.1\r\nHost: {b}:8081\r\n\r\n")
print(s.recv(4096).split(b"\r\n")[0].decode())
s.sendall(b"CONNECT {b}:8081 HTTP/1.1\r\nHost: {b}:8081\r\n\r\nGET /inner HTTP/1.1\r\nHost: {b}:8081\r\n\r\n")
reply = b""
while True:
    data = s.recv(4096)
    if not data:
        break
    reply += data
print(reply.split(b"\r\n\r\n")[-1].decode())
"#
        ),
    )
    .unwrap();
    let scope = format!("net.outbound:{a}:8081");
    let outcome = escape.run(&["files.read", &scope], "python3 steer.py");
    // The tunnel went where the CONNECT line said; the inner CONNECT is bytes to that host.
    assert_eq!(
        outcome.stdout(),
        format!("HTTP/1.1 200 Connection Established\nrecorded {b}:8081\n"),
        "{}",
        outcome.stderr()
    );
    assert!(
        allowed_origin
            .received()
            .starts_with(&format!("CONNECT {b}:8081 HTTP/1.1\r\n")),
        "{}",
        allowed_origin.received()
    );
    assert_eq!(other_origin.received(), "");
    let egress = outcome.egress();
    assert_eq!(egress.len(), 1, "{egress:#?}");
    assert_eq!(egress[0]["decision"], "allow");
    assert_eq!(egress[0]["data"]["host"], a.as_str());
    assert_eq!(egress[0]["data"]["resolved"], a.as_str());
    outcome.finished();
}

#[test]
fn absolute_form_request_with_a_foreign_host_header_reaches_only_its_target() {
    let allowed = World::create(44);
    let recorder = Recorder::start(&allowed);
    let escape = Escape::new();
    let scope = format!("net.outbound:{}:8081", allowed.address);
    let script = format!(
        "curl -s -H \"Host: evil.example.org\" http://{}:8081/page",
        allowed.address
    );
    let outcome = escape.run(&[&scope], &script);
    // The origin saw the target as Host, never the header the program wrote.
    assert_eq!(
        outcome.stdout(),
        format!("recorded {}:8081", allowed.address),
        "{}",
        outcome.stderr()
    );
    let received = recorder.received();
    assert!(!received.contains("evil.example.org"), "{received}");
    let egress = outcome.egress();
    assert_eq!(egress.len(), 1, "{egress:#?}");
    assert_eq!(egress[0]["decision"], "allow");
    assert_eq!(egress[0]["data"]["host"], allowed.address.as_str());
    outcome.finished();
}

#[test]
fn pipelined_second_request_on_a_kept_alive_connection_is_not_relayed() {
    let allowed = World::create(45);
    let recorder = Recorder::start(&allowed);
    let escape = Escape::new();
    let a = &allowed.address;
    // A chunked POST to the allowed host, then, on the same connection, a request for another
    // host: a proxy that relays the rest of the connection hands it to the allowed host's
    // front end, which may route it by its Host header.
    let script = format!(
        "python3 -c 'import socket\ns = socket.create_connection((\"127.0.0.1\", 3128))\n\
         s.sendall(b\"POST http://{a}:8081/upload HTTP/1.1\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n5\\r\\nhello\\r\\n0\\r\\n\\r\\n\"\n\
         b\"GET http://smuggled.example.org/steal HTTP/1.1\\r\\nHost: smuggled.example.org\\r\\n\\r\\n\")\n\
         print(s.recv(4096).split(b\"\\r\\n\")[0].decode())'; \
         python3 -c 'import socket\ns = socket.create_connection((\"127.0.0.1\", 3128))\n\
         s.sendall(b\"GET http://{a}:8081/first HTTP/1.1\\r\\nConnection: keep-alive\\r\\n\\r\\n\"\n\
         b\"GET http://smuggled.example.org/steal HTTP/1.1\\r\\nHost: smuggled.example.org\\r\\n\\r\\n\")\n\
         print(s.recv(4096).split(b\"\\r\\n\")[0].decode())'"
    );
    let scope = format!("net.outbound:{a}:8081");
    let outcome = escape.run(&[&scope], &script);
    assert_eq!(
        outcome.stdout(),
        "HTTP/1.1 200 OK\nHTTP/1.1 200 OK\n",
        "{}",
        outcome.stderr()
    );
    let received = recorder.received();
    assert!(!received.contains("smuggled"), "{received}");
    assert!(received.contains("0\r\n\r\n\n====="), "{received:?}");
    let egress = outcome.egress();
    assert_eq!(egress.len(), 1, "{egress:#?}");
    assert_eq!(egress[0]["decision"], "allow");
    assert_eq!(egress[0]["data"]["count"], 2);
    assert_eq!(
        egress[0]["reason"],
        format!(
            "allowed by `{scope}`; bytes sent after the request were not relayed (one request per connection)"
        )
    );
    outcome.finished();
}

#[test]
fn ipv6_and_ipv4_mapped_literals_are_refused() {
    let escape = Escape::new();
    let targets = [
        "http://[::1]:8080/",
        "http://[::ffff:127.0.0.1]:8080/",
        "http://[::ffff:7f00:1]/",
        "http://[::ffff:169.254.169.254]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[::]/",
        "http://mapped.example.org:8080/",
    ];
    let script = targets
        .iter()
        .map(|url| format!("curl -s -o /dev/null -w \"%{{http_code}} \" \"{url}\""))
        .collect::<Vec<_>>()
        .join("; ");
    let outcome = run_with_hosts(
        &escape,
        "::ffff:127.0.0.1 mapped.example.org\n",
        &["net.outbound:mapped.example.org:8080"],
        &script,
    );
    assert_eq!(
        outcome.stdout(),
        "403 ".repeat(targets.len()),
        "{}",
        outcome.stderr()
    );
    let egress = outcome.egress();
    assert_eq!(egress.len(), targets.len(), "{egress:#?}");
    assert!(egress.iter().all(|record| record["decision"] == "deny"));
    // The allowed name is refused for the address it maps to.
    let reason = egress[6]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("127.0.0.1") && reason.contains("loopback"),
        "{reason}"
    );
    outcome.finished();
}

#[test]
fn names_resolving_to_siit_or_discard_only_ipv6_are_refused_like_loopback() {
    let escape = Escape::new();
    let names = ["siit.example.org", "discard.example.org"];
    let script = names
        .iter()
        .map(|name| format!("curl -s -o /dev/null -w \"%{{http_code}} \" http://{name}:8080/"))
        .collect::<Vec<_>>()
        .join("; ");
    let outcome = run_with_hosts(
        &escape,
        "::ffff:0:7f00:1 siit.example.org\n100::1 discard.example.org\n",
        &[
            "net.outbound:siit.example.org:8080",
            "net.outbound:discard.example.org:8080",
        ],
        &script,
    );
    assert_eq!(outcome.stdout(), "403 403 ", "{}", outcome.stderr());
    let reasons: Vec<&str> = outcome
        .egress()
        .iter()
        .map(|record| {
            assert_eq!(record["decision"], "deny", "{record:#}");
            record["reason"].as_str().unwrap_or_default()
        })
        .collect();
    assert_eq!(
        reasons,
        vec![
            "egress to `siit.example.org:8080` resolves to ::ffff:0:7f00:1: embeds `127.0.0.1`, loopback `127.0.0.0/8` reaches this machine",
            "egress to `discard.example.org:8080` resolves to 100::1: discard-only prefix `100::/64` (RFC 6666): routed nowhere, or wherever the local network sends it",
        ]
    );
    outcome.finished();
}

#[test]
fn decimal_octal_and_hex_ipv4_forms_are_refused() {
    let escape = Escape::new();
    let forms = [
        "2130706433",
        "017700000001",
        "0x7f000001",
        "0x7f.0.0.1",
        "0177.0.0.1",
        "127.1",
        "2852039166",
        "0xa9fea9fe",
    ];
    let script = forms
        .iter()
        .map(|form| {
            raw_request(&format!(
                "b\"GET http://{form}/latest/meta-data/ HTTP/1.1\\r\\n\\r\\n\""
            ))
        })
        .collect::<Vec<_>>()
        .join("; ");
    let outcome = escape.run(&["net.outbound:allowed.example.org"], &script);
    assert_eq!(
        outcome.stdout(),
        "HTTP/1.1 400 Bad Request\n".repeat(forms.len()),
        "{}",
        outcome.stderr()
    );
    let egress = outcome.egress();
    assert_eq!(egress.len(), forms.len(), "{egress:#?}");
    for (record, form) in egress.iter().zip(forms) {
        assert_eq!(record["decision"], "deny");
        assert_eq!(record["data"]["host"], form);
        assert_eq!(
            record["reason"],
            format!("egress target `{form}` is not a valid host")
        );
    }
    outcome.finished();
}

#[test]
fn metadata_service_by_name_and_in_ipv6_forms_is_refused() {
    let escape = Escape::new();
    let targets = [
        "http://instance-data.example.org/latest/meta-data/",
        "http://v6meta.example.org/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://[::ffff:a9fe:a9fe]/latest/meta-data/",
        "http://100.100.100.200/latest/meta-data/",
    ];
    let script = targets
        .iter()
        .map(|url| format!("curl -s -o /dev/null -w \"%{{http_code}} \" \"{url}\""))
        .collect::<Vec<_>>()
        .join("; ");
    let outcome = run_with_hosts(
        &escape,
        "169.254.169.254 instance-data.example.org\nfd00:ec2::254 v6meta.example.org\n",
        &[
            "net.outbound:instance-data.example.org",
            "net.outbound:v6meta.example.org",
        ],
        &script,
    );
    assert_eq!(
        outcome.stdout(),
        "403 ".repeat(targets.len()),
        "{}",
        outcome.stderr()
    );
    let egress = outcome.egress();
    assert_eq!(egress.len(), targets.len(), "{egress:#?}");
    assert!(egress.iter().all(|record| record["decision"] == "deny"));
    for record in &egress[..2] {
        let reason = record["reason"].as_str().unwrap_or_default();
        assert!(reason.contains("metadata"), "{reason}");
    }
    outcome.finished();
}

/// `python3 -m http.server` in the host's own network namespace, on `address:8080`.
struct HostService {
    child: Child,
    _root: tempfile::TempDir,
}

impl HostService {
    fn start(address: &str) -> Self {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("admin.txt"), "host-only-service\n").unwrap();
        let child = Command::new("python3")
            .args([
                "-m",
                "http.server",
                "8080",
                "--bind",
                address,
                "--directory",
            ])
            .arg(root.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_for(&format!("{address}:8080"));
        Self { child, _root: root }
    }
}

impl Drop for HostService {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn allowed_name_resolving_to_an_address_of_this_host_is_refused() {
    // A public-looking address on one of the host's own interfaces (the host end of a veth;
    // this kernel has no dummy interfaces), and a service of the host listening on it: what a
    // VPS's public address is to the proxy, which dials from the host.
    let world = World::create(49);
    let host_address = format!("192.0.3.{}", 4 * 49 + 1);
    let _service = HostService::start(&host_address);
    let escape = Escape::new();
    let outcome = run_with_hosts(
        &escape,
        &format!("{host_address} vps.example.org\n"),
        &[
            "net.outbound:vps.example.org:8080",
            &format!("net.outbound:{host_address}:8080"),
        ],
        &format!(
            "{}; echo; {}",
            curl_status("http://vps.example.org:8080/admin.txt"),
            curl_status(&format!("http://{host_address}:8080/admin.txt"))
        ),
    );
    let stdout = outcome.stdout();
    assert!(!stdout.contains("host-only-service"), "{stdout}");
    assert!(stdout.starts_with("403"), "{stdout} {}", outcome.stderr());
    let egress = outcome.egress();
    assert_eq!(egress.len(), 2, "{egress:#?}");
    assert_eq!(
        egress[0]["reason"],
        format!(
            "egress to `vps.example.org:8080` resolves to {host_address}: an address of this host"
        )
    );
    assert_eq!(
        egress[1]["reason"],
        format!(
            "egress to `{host_address}:8080` resolves to {host_address}: an address of this host"
        )
    );
    assert!(egress.iter().all(|record| record["decision"] == "deny"));
    drop(world);
    outcome.finished();
}
