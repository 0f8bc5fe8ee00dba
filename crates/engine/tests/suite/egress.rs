//! The egress proxy end to end with real sockets: a real origin server in an "origin" network
//! namespace on a public-looking address (192.0.3.10), joined by a veth pair to a "world"
//! namespace (192.0.3.9, where the proxy runs and dials from, as it does from the host), the
//! proxy's listener inside an empty "skill" namespace, and clients connecting from that skill
//! namespace. Namespaces are created with `ip netns` and deleted on drop; the tests skip (with
//! a note) where they cannot be created. One test needs no namespace: names resolving to
//! loopback are refused (the SSRF case).

mod bypass;

use aegisclaw_core::scope::{Scope, ScopeContext};
use aegisclaw_engine::egress::resolve::Resolving;
use aegisclaw_engine::egress::{
    AuditSink, EgressEvent, EgressMethod, EgressPolicy, EgressProxy, PROXY_ADDR, Resolver,
    StaticResolver, listen_in_netns,
};
use aegisclaw_sandbox::netns::{bind_in_netns, run_in_netns};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

const ORIGIN_IP: &str = "192.0.3.10";

/// A named network namespace with `lo` up, deleted on drop.
struct Netns {
    name: String,
}

impl Netns {
    fn create(tag: &str, loopback_up: bool) -> Option<Self> {
        let name = format!("aegis-egress-{}-{tag}", std::process::id());
        if !ip(&["netns", "add", &name]) {
            return None;
        }
        let netns = Self { name };
        (!loopback_up || ip(&["-n", &netns.name, "link", "set", "lo", "up"])).then_some(netns)
    }

    fn path(&self) -> PathBuf {
        PathBuf::from("/run/netns").join(&self.name)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        ip(&["netns", "delete", &self.name]);
    }
}

fn ip(args: &[&str]) -> bool {
    Command::new("ip")
        .args(args)
        .status()
        .is_ok_and(|status| status.success())
}

/// The world (where the proxy runs, 192.0.3.9), the origin (192.0.3.10, one veth away) and
/// the skill (only loopback) namespaces.
struct World {
    world: Netns,
    origin: Netns,
    skill: Netns,
}

/// The address of the world's own end of the veth: an address of the proxy's host.
const WORLD_IP: &str = "192.0.3.9";

fn world(tag: &str) -> Option<World> {
    let world = Netns::create(&format!("w{tag}"), true)?;
    let origin = Netns::create(&format!("o{tag}"), true)?;
    // The skill's loopback stays down: `listen_in_netns` must bring it up.
    let skill = Netns::create(&format!("s{tag}"), false)?;
    let (w, o) = (world.name.as_str(), origin.name.as_str());
    // Both ends live in namespaces of their own, so fixed link names never collide.
    let steps: [&[&str]; 5] = [
        &[
            "-n",
            w,
            "link",
            "add",
            "to-origin",
            "type",
            "veth",
            "peer",
            "name",
            "to-world",
            "netns",
            o,
        ],
        &[
            "-n",
            w,
            "addr",
            "add",
            &format!("{WORLD_IP}/30"),
            "dev",
            "to-origin",
        ],
        &["-n", w, "link", "set", "to-origin", "up"],
        &[
            "-n",
            o,
            "addr",
            "add",
            &format!("{ORIGIN_IP}/30"),
            "dev",
            "to-world",
        ],
        &["-n", o, "link", "set", "to-world", "up"],
    ];
    steps.iter().all(|step| ip(step)).then_some(World {
        world,
        origin,
        skill,
    })
}

fn policy(scopes: &[&str]) -> EgressPolicy {
    let context = ScopeContext::default();
    let scopes: Vec<Scope> = scopes
        .iter()
        .map(|text| Scope::parse(text, &context).unwrap())
        .collect();
    EgressPolicy::from_scopes(&scopes)
}

fn resolver(address: &str) -> Arc<StaticResolver> {
    let address: IpAddr = address.parse().unwrap();
    Arc::new(
        StaticResolver::new()
            .with("allowed.test", &[address])
            .with("a.wild.test", &[address])
            .with("wild.test", &[address])
            .with("other.test", &[address])
            .with("private.bad.test", &["10.0.0.1".parse().unwrap()])
            .with("mapped.bad.test", &["::ffff:127.0.0.1".parse().unwrap()])
            .with("siit.bad.test", &["::ffff:0:7f00:1".parse().unwrap()])
            .with("discard.bad.test", &["100::1".parse().unwrap()])
            .with("metadata.bad.test", &["169.254.169.254".parse().unwrap()])
            .with("rebind.bad.test", &[address, "127.0.0.1".parse().unwrap()])
            .with("vps.test", &[WORLD_IP.parse().unwrap()])
            .with("later.test", &[LATER_IP.parse().unwrap()]),
    )
}

/// An address that is nowhere at first; a test adds it to the world's own `lo` mid-run.
const LATER_IP: &str = "192.0.3.77";

/// A resolver that remembers every name it was asked, in order.
struct Recording {
    inner: Arc<StaticResolver>,
    asked: Arc<Mutex<Vec<String>>>,
}

impl Resolver for Recording {
    fn resolve<'a>(&'a self, name: &'a str, port: u16) -> Resolving<'a> {
        self.asked.lock().unwrap().push(name.to_string());
        self.inner.resolve(name, port)
    }
}

fn sink() -> (AuditSink, UnboundedReceiver<EgressEvent>) {
    let (sender, receiver) = unbounded_channel();
    let sink: AuditSink = Arc::new(move |event| {
        let _ = sender.send(event);
    });
    (sink, receiver)
}

async fn next_event(events: &mut UnboundedReceiver<EgressEvent>) -> EgressEvent {
    tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .expect("an egress event")
        .expect("the sink is alive")
}

/// A tiny origin: answers `/hello`, `/echo` (the request body) and `/big` (1 MiB), and
/// reports each request head it receives.
async fn origin(listener: TcpListener, heads: UnboundedSender<String>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        let heads = heads.clone();
        tokio::spawn(async move {
            let mut buffer = Vec::new();
            let end = loop {
                if let Some(end) = buffer.windows(4).position(|quad| quad == b"\r\n\r\n") {
                    break end + 4;
                }
                if stream.read_buf(&mut buffer).await.unwrap_or(0) == 0 {
                    return;
                }
            };
            let head = String::from_utf8_lossy(&buffer[..end]).to_string();
            let length: usize = head
                .lines()
                .find_map(|line| {
                    line.to_ascii_lowercase()
                        .strip_prefix("content-length: ")
                        .map(str::to_string)
                })
                .map_or(0, |value| value.trim().parse().unwrap());
            while buffer.len() < end + length {
                if stream.read_buf(&mut buffer).await.unwrap_or(0) == 0 {
                    break;
                }
            }
            let path = head.split(' ').nth(1).unwrap_or_default().to_string();
            let _ = heads.send(head);
            let body = match path.as_str() {
                "/hello" => b"hello from origin".to_vec(),
                "/echo" => buffer[end..].to_vec(),
                "/big" => vec![b'x'; 1 << 20],
                _ => b"not found".to_vec(),
            };
            let mut response = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            )
            .into_bytes();
            response.extend_from_slice(&body);
            let _ = stream.write_all(&response).await;
            let _ = stream.shutdown().await;
        });
    }
}

/// Connects to `proxy` from inside the skill namespace.
fn connect_from(world: &World, proxy: SocketAddr) -> TcpStream {
    let stream = run_in_netns(&world.skill.path(), move || {
        std::net::TcpStream::connect(proxy)
    })
    .unwrap()
    .unwrap();
    stream.set_nonblocking(true).unwrap();
    TcpStream::from_std(stream).unwrap()
}

async fn send_all(mut stream: TcpStream, request: &[u8]) -> String {
    stream.write_all(request).await.unwrap();
    let mut reply = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut reply))
        .await
        .unwrap()
        .unwrap();
    String::from_utf8_lossy(&reply).to_string()
}

/// Everything a namespace test needs, running on a runtime whose threads live in the world
/// namespace (so the proxy dials from there).
struct Bench {
    proxy: SocketAddr,
    origin_port: u16,
    events: UnboundedReceiver<EgressEvent>,
    heads: UnboundedReceiver<String>,
    /// Every name the proxy asked its resolver.
    asked: Arc<Mutex<Vec<String>>>,
    handle: aegisclaw_engine::egress::EgressHandle,
}

async fn bench(world: &World, scopes: &[&str]) -> Bench {
    let origin_listener = bind_in_netns(
        &world.origin.path(),
        SocketAddr::new(ORIGIN_IP.parse().unwrap(), 0),
    )
    .unwrap();
    let origin_port = origin_listener.local_addr().unwrap().port();
    origin_listener.set_nonblocking(true).unwrap();
    let (head_sender, heads) = unbounded_channel();
    tokio::spawn(origin(
        TcpListener::from_std(origin_listener).unwrap(),
        head_sender,
    ));
    let proxy_listener = listen_in_netns(&world.skill.path()).unwrap();
    let scopes: Vec<String> = scopes
        .iter()
        .map(|scope| scope.replace("PORT", &origin_port.to_string()))
        .collect();
    let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
    let (sink, events) = sink();
    let asked = Arc::new(Mutex::new(Vec::new()));
    let handle = EgressProxy::start(
        proxy_listener,
        policy(&scopes),
        Arc::new(Recording {
            inner: resolver(ORIGIN_IP),
            asked: Arc::clone(&asked),
        }),
        sink,
        &tokio::runtime::Handle::current(),
    )
    .unwrap();
    assert_eq!(handle.local_addr(), PROXY_ADDR);
    Bench {
        proxy: handle.local_addr(),
        origin_port,
        events,
        heads,
        asked,
        handle,
    }
}

/// Runs `test` on a current-thread runtime inside the world namespace, or skips.
#[allow(clippy::print_stderr, reason = "a skipped test says why")]
fn in_world<F, Fut>(tag: &str, test: F)
where
    F: FnOnce(Arc<World>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let Some(world) = world(tag) else {
        eprintln!("skipped: cannot create network namespaces here (needs root and `ip`)");
        return;
    };
    let world = Arc::new(world);
    let path = world.world.path();
    let inner = Arc::clone(&world);
    run_in_netns(&path, move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(test(inner));
    })
    .unwrap();
}

#[test]
fn egress_connect_to_allowed_host_passes_bytes() {
    in_world("connect", |world| async move {
        let mut bench = bench(&world, &["net.outbound:allowed.test:PORT"]).await;
        let mut stream = connect_from(&world, bench.proxy);
        let connect = format!(
            "CONNECT allowed.test:{} HTTP/1.1\r\nHost: x\r\n\r\n",
            bench.origin_port
        );
        stream.write_all(connect.as_bytes()).await.unwrap();
        let mut established = [0_u8; 39];
        stream.read_exact(&mut established).await.unwrap();
        assert_eq!(&established, b"HTTP/1.1 200 Connection Established\r\n\r\n");
        let inner = b"GET /hello HTTP/1.1\r\nHost: allowed.test\r\n\r\n";
        let reply = send_all(stream, inner).await;
        assert!(reply.ends_with("hello from origin"), "{reply}");
        let event = next_event(&mut bench.events).await;
        assert!(event.allowed, "{event:?}");
        assert_eq!(event.method, EgressMethod::Connect);
        assert_eq!(event.host, "allowed.test");
        assert_eq!(event.resolved, Some(ORIGIN_IP.parse().unwrap()));
        assert_eq!(event.bytes_up, inner.len() as u64);
        assert_eq!(event.bytes_down, reply.len() as u64);
        assert!(
            bench
                .heads
                .recv()
                .await
                .unwrap()
                .starts_with("GET /hello HTTP/1.1\r\n")
        );
    });
}

#[test]
fn egress_stopping_the_proxy_reports_open_tunnels() {
    in_world("stop", |world| async move {
        let mut bench = bench(&world, &["net.outbound:allowed.test:PORT"]).await;
        let mut stream = connect_from(&world, bench.proxy);
        let connect = format!(
            "CONNECT allowed.test:{} HTTP/1.1\r\n\r\n",
            bench.origin_port
        );
        stream.write_all(connect.as_bytes()).await.unwrap();
        let mut established = [0_u8; 39];
        stream.read_exact(&mut established).await.unwrap();
        stream.write_all(b"GET /hel").await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            bench.events.try_recv().is_err(),
            "open tunnels are reported when they end"
        );
        bench.handle.stop();
        let event = next_event(&mut bench.events).await;
        assert!(event.allowed, "{event:?}");
        assert_eq!((event.bytes_up, event.bytes_down), (8, 0));
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest).await;
        assert!(rest.is_empty());
    });
}

#[test]
fn egress_absolute_form_get_and_post_are_forwarded() {
    in_world("http", |world| async move {
        let mut bench = bench(&world, &["net.outbound:*.wild.test:PORT"]).await;
        let port = bench.origin_port;
        let request = format!(
            "GET http://A.Wild.Test:{port}/hello HTTP/1.1\r\nHost: ignored\r\n\
             Proxy-Authorization: secret\r\nConnection: keep-alive\r\nAccept: */*\r\n\r\n"
        );
        let reply = send_all(connect_from(&world, bench.proxy), request.as_bytes()).await;
        assert!(reply.starts_with("HTTP/1.1 200 OK\r\n"), "{reply}");
        assert!(reply.ends_with("hello from origin"), "{reply}");
        let head = bench.heads.recv().await.unwrap();
        assert_eq!(
            head,
            format!(
                "GET /hello HTTP/1.1\r\nHost: A.Wild.Test:{port}\r\nAccept: */*\r\nConnection: close\r\n\r\n"
            )
        );
        let event = next_event(&mut bench.events).await;
        assert!(
            event.allowed && event.method == EgressMethod::Http,
            "{event:?}"
        );
        assert_eq!(event.bytes_up, head.len() as u64);
        assert_eq!(event.bytes_down, reply.len() as u64);
        assert_eq!(
            event.scope.as_deref(),
            Some(format!("net.outbound:*.wild.test:{port}").as_str())
        );

        let body = "x".repeat(200_000);
        let post = format!(
            "POST http://a.wild.test:{port}/echo HTTP/1.1\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let reply = send_all(connect_from(&world, bench.proxy), post.as_bytes()).await;
        assert!(reply.ends_with(&body), "echo of {} bytes", body.len());
        let event = next_event(&mut bench.events).await;
        assert!(event.bytes_up > body.len() as u64);

        // The apex is not covered by `*.wild.test`.
        let apex = format!("GET http://wild.test:{port}/hello HTTP/1.1\r\n\r\n");
        let reply = send_all(connect_from(&world, bench.proxy), apex.as_bytes()).await;
        assert!(reply.starts_with("HTTP/1.1 403 "), "{reply}");
        assert!(reply.contains(&format!(
            "egress to `wild.test:{port}` is not in this run's net.outbound scopes"
        )));
        assert!(!next_event(&mut bench.events).await.allowed);
    });
}

#[test]
fn egress_refusals_are_403_with_a_reason_and_an_event() {
    in_world("deny", |world| async move {
        let mut bench = bench(
            &world,
            &[
                "net.outbound:allowed.test:PORT",
                "net.outbound:*.bad.test:PORT",
                "net.outbound:169.254.169.254",
            ],
        )
        .await;
        let port = bench.origin_port;
        let cases = [
            (
                format!("CONNECT evil.com:{port} HTTP/1.1\r\n\r\n"),
                "is not in this run's net.outbound scopes",
            ),
            (
                format!("CONNECT allowed.test:{} HTTP/1.1\r\n\r\n", port + 1),
                "is not in this run's net.outbound scopes",
            ),
            (
                "GET http://169.254.169.254/latest/meta-data/ HTTP/1.1\r\n\r\n".to_string(),
                "resolves to 169.254.169.254: cloud metadata service",
            ),
            (
                format!("CONNECT private.bad.test:{port} HTTP/1.1\r\n\r\n"),
                "resolves to 10.0.0.1: private network",
            ),
            (
                format!("CONNECT mapped.bad.test:{port} HTTP/1.1\r\n\r\n"),
                "resolves to ::ffff:127.0.0.1: embeds `127.0.0.1`, loopback",
            ),
            (
                format!("CONNECT siit.bad.test:{port} HTTP/1.1\r\n\r\n"),
                "resolves to ::ffff:0:7f00:1: embeds `127.0.0.1`, loopback",
            ),
            (
                format!("CONNECT discard.bad.test:{port} HTTP/1.1\r\n\r\n"),
                "resolves to 100::1: discard-only prefix `100::/64`",
            ),
            (
                format!("CONNECT metadata.bad.test:{port} HTTP/1.1\r\n\r\n"),
                "resolves to 169.254.169.254: cloud metadata",
            ),
            (
                format!("CONNECT rebind.bad.test:{port} HTTP/1.1\r\n\r\n"),
                "resolves to 127.0.0.1: loopback",
            ),
        ];
        for (request, reason) in cases {
            let reply = send_all(connect_from(&world, bench.proxy), request.as_bytes()).await;
            assert!(
                reply.starts_with("HTTP/1.1 403 Forbidden\r\n"),
                "{request}: {reply}"
            );
            assert!(reply.contains(reason), "{request}: {reply}");
            let event = next_event(&mut bench.events).await;
            assert!(!event.allowed, "{event:?}");
            assert!(event.reason.contains(reason), "{event:?}");
            assert_eq!(
                (event.bytes_up, event.bytes_down, event.resolved),
                (0, 0, None)
            );
        }
        for bad in [
            "GET /hello HTTP/1.1\r\n\r\n".to_string(),
            format!("GET http://allowed.test:{port}/ HTTP/1.1\r\nX: a\r\n folded\r\n\r\n"),
            format!(
                "POST http://allowed.test:{port}/ HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
            ),
            "CONNECT allowed.test HTTP/1.1\r\n\r\n".to_string(),
        ] {
            let reply = send_all(connect_from(&world, bench.proxy), bad.as_bytes()).await;
            assert!(
                reply.starts_with("HTTP/1.1 400 Bad Request\r\n"),
                "{bad}: {reply}"
            );
            assert!(!next_event(&mut bench.events).await.allowed);
        }
        // Nothing denied ever reached the origin.
        assert!(bench.heads.try_recv().is_err());
    });
}

#[test]
fn egress_names_resolving_to_loopback_are_refused_without_namespaces() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let origin = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = origin.local_addr().unwrap().port();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let (sink, mut events) = sink();
        let scopes = [format!("net.outbound:allowed.test:{port}")];
        let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
        let handle = EgressProxy::start(
            listener,
            policy(&scopes),
            resolver("127.0.0.1"),
            sink,
            &tokio::runtime::Handle::current(),
        )
        .unwrap();
        let request = format!("GET http://allowed.test:{port}/ HTTP/1.1\r\n\r\n");
        let stream = TcpStream::connect(handle.local_addr()).await.unwrap();
        let reply = send_all(stream, request.as_bytes()).await;
        assert!(reply.starts_with("HTTP/1.1 403 "), "{reply}");
        assert!(reply.contains("resolves to 127.0.0.1: loopback"), "{reply}");
        let event = next_event(&mut events).await;
        assert!(!event.allowed);
        assert_eq!((event.host.as_str(), event.port), ("allowed.test", port));
        // The origin saw no connection.
        let accepted = tokio::time::timeout(Duration::from_millis(50), origin.accept()).await;
        assert!(accepted.is_err());
    });
}
