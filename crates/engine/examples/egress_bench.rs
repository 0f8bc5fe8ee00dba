//! Egress-proxy bench: added latency (p50/p90/p99 over new-connection requests for a 100 B
//! object) and single-stream throughput (64 MiB), direct vs absolute-form vs CONNECT.
//!
//! Needs root: it creates a network namespace `aegis-bench-<pid>` whose loopback also carries
//! 192.0.3.10 (a public-looking address the proxy accepts, routed nowhere else), runs the
//! origin, the proxy and the client inside it, and deletes it at the end. No traffic leaves
//! that namespace. Pin it for stable numbers:
//!
//! `taskset -c 0 cargo run --release -p aegisclaw-engine --example egress_bench [requests] [mib]`
//!
//! `egress_bench serve <listen-addr> <scope>...` instead runs just the proxy, in the caller's
//! network namespace, on a current-thread runtime with the system resolver, until killed
//! (`bench/egress-proxy.sh` drives it that way against tinyproxy). Audit events are counted
//! and dropped.

use aegisclaw_core::scope::{Scope, ScopeContext};
use aegisclaw_engine::egress::{
    AuditSink, EgressPolicy, EgressProxy, StaticResolver, SystemResolver,
};
use aegisclaw_sandbox::netns::{bind_in_netns, run_in_netns};
use std::error::Error;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

type Result<T> = std::result::Result<T, Box<dyn Error + Send + Sync>>;

const ORIGIN_IP: &str = "192.0.3.10";
const SMALL: [u8; 100] = [b's'; 100];

struct Netns(String);

impl Netns {
    fn create() -> Result<Self> {
        let netns = Self(format!("aegis-bench-{}", std::process::id()));
        ip(&["netns", "add", &netns.0])?;
        ip(&["-n", &netns.0, "link", "set", "lo", "up"])?;
        ip(&[
            "-n",
            &netns.0,
            "addr",
            "add",
            &format!("{ORIGIN_IP}/32"),
            "dev",
            "lo",
        ])?;
        Ok(netns)
    }

    fn path(&self) -> PathBuf {
        PathBuf::from("/run/netns").join(&self.0)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = ip(&["netns", "delete", &self.0]);
    }
}

fn ip(args: &[&str]) -> Result<()> {
    let status = Command::new("ip").args(args).status()?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`ip {}` failed (root needed)", args.join(" ")).into())
    }
}

/// The origin: `/small` is 100 B, anything else is `mib` MiB.
async fn origin(listener: tokio::net::TcpListener, mib: usize) {
    let chunk: Arc<Vec<u8>> = Arc::new(vec![b'x'; 1 << 20]);
    while let Ok((mut stream, _)) = listener.accept().await {
        let chunk = Arc::clone(&chunk);
        tokio::spawn(async move {
            let _ = stream.set_nodelay(true);
            let mut head = Vec::with_capacity(1024);
            while !head.windows(4).any(|quad| quad == b"\r\n\r\n") {
                if stream.read_buf(&mut head).await.unwrap_or(0) == 0 {
                    return;
                }
            }
            let small = head.starts_with(b"GET /small ");
            let length = if small { SMALL.len() } else { mib << 20 };
            let mut response =
                format!("HTTP/1.1 200 OK\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n")
                    .into_bytes();
            if small {
                response.extend_from_slice(&SMALL);
                let _ = stream.write_all(&response).await;
            } else {
                let _ = stream.write_all(&response).await;
                for _ in 0..mib {
                    if stream.write_all(&chunk).await.is_err() {
                        return;
                    }
                }
            }
            let _ = stream.shutdown().await;
        });
    }
}

#[derive(Clone, Copy)]
enum Mode {
    Direct,
    Absolute,
    Connect,
}

/// One request on a new connection; returns the bytes of the response body and head.
fn fetch(
    mode: Mode,
    origin: SocketAddr,
    proxy: SocketAddr,
    path: &str,
    sink: &mut [u8],
) -> Result<u64> {
    let port = origin.port();
    let mut stream = match mode {
        Mode::Direct => TcpStream::connect(origin)?,
        Mode::Absolute | Mode::Connect => TcpStream::connect(proxy)?,
    };
    stream.set_nodelay(true)?;
    let inner = format!("GET {path} HTTP/1.1\r\nHost: bench.test\r\nConnection: close\r\n\r\n");
    match mode {
        Mode::Direct => stream.write_all(inner.as_bytes())?,
        Mode::Absolute => stream.write_all(
            format!("GET http://bench.test:{port}{path} HTTP/1.1\r\nHost: bench.test\r\n\r\n")
                .as_bytes(),
        )?,
        Mode::Connect => {
            stream.write_all(format!("CONNECT bench.test:{port} HTTP/1.1\r\n\r\n").as_bytes())?;
            let mut established = [0_u8; 39];
            stream.read_exact(&mut established)?;
            if !established.starts_with(b"HTTP/1.1 200") {
                return Err("CONNECT refused".into());
            }
            stream.write_all(inner.as_bytes())?;
        }
    }
    let mut total = 0_u64;
    let mut first = true;
    loop {
        let read = stream.read(sink)?;
        if read == 0 {
            break;
        }
        if first && !sink.starts_with(b"HTTP/1.1 200") {
            return Err("request failed".into());
        }
        first = false;
        total += read as u64;
    }
    Ok(total)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).map_or(0.0, |d| d.as_secs_f64() * 1e6)
}

fn client(
    origin: SocketAddr,
    proxy: SocketAddr,
    requests: usize,
    mib: usize,
    proxy_stat: &std::path::Path,
) -> Result<String> {
    let mut report = String::new();
    let mut sink = vec![0_u8; 256 * 1024];
    let modes = [
        (Mode::Direct, "direct"),
        (Mode::Absolute, "proxy abs"),
        (Mode::Connect, "proxy CONNECT"),
    ];
    report.push_str(&format!(
        "latency, {requests} requests of 100 B, new connection each (µs)\n"
    ));
    let mut p50_direct = 0.0;
    for (mode, name) in modes {
        for _ in 0..50 {
            fetch(mode, origin, proxy, "/small", &mut sink)?;
        }
        let mut times = Vec::with_capacity(requests);
        for _ in 0..requests {
            let start = Instant::now();
            fetch(mode, origin, proxy, "/small", &mut sink)?;
            times.push(start.elapsed());
        }
        times.sort();
        let (p50, p90, p99) = (
            percentile(&times, 0.5),
            percentile(&times, 0.9),
            percentile(&times, 0.99),
        );
        if matches!(mode, Mode::Direct) {
            p50_direct = p50;
        }
        report.push_str(&format!(
            "  {name:<14} p50 {p50:>7.0}  p90 {p90:>7.0}  p99 {p99:>7.0}  added p50 {:>+6.0}\n",
            p50 - p50_direct
        ));
    }
    report.push_str(&format!(
        "throughput, one stream of {mib} MiB, median of 5 (MB/s, MB = 10^6 B)\n"
    ));
    for (mode, name) in modes {
        let mut speeds = Vec::new();
        let cpu_before = cpu_seconds(proxy_stat)?;
        let mut total = 0;
        for _ in 0..5 {
            let start = Instant::now();
            let bytes = fetch(mode, origin, proxy, "/big", &mut sink)?;
            total += bytes;
            speeds.push(bytes as f64 / start.elapsed().as_secs_f64() / 1e6);
        }
        let cpu = cpu_seconds(proxy_stat)? - cpu_before;
        speeds.sort_by(f64::total_cmp);
        let per_gb = if matches!(mode, Mode::Direct) {
            String::new()
        } else {
            format!("  proxy CPU {:.2} s/GB", cpu / (total as f64 / 1e9))
        };
        report.push_str(&format!("  {name:<14} {:>7.0}{per_gb}\n", speeds[2]));
    }
    Ok(report)
}

type Stop = tokio::sync::oneshot::Receiver<()>;

/// Runs `serve` on a current-thread runtime on a new thread inside the namespace at `path`.
fn serve_in<F, Fut>(
    path: &std::path::Path,
    serve: F,
) -> (
    tokio::sync::oneshot::Sender<()>,
    std::thread::JoinHandle<()>,
)
where
    F: FnOnce(Stop) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<()>>,
{
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
    let path = path.to_path_buf();
    let thread = std::thread::spawn(move || {
        let _ = run_in_netns(&path, move || -> Result<()> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(serve(stop_rx))
        });
    });
    (stop_tx, thread)
}

/// User plus system CPU seconds of the thread whose `stat` file is `stat` (100 Hz ticks).
fn cpu_seconds(stat: &std::path::Path) -> Result<f64> {
    let text = fs_err::read_to_string(stat)?;
    let after_name = text.rsplit_once(')').ok_or("odd stat")?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 = fields.get(11).ok_or("odd stat")?.parse::<u64>()?
        + fields.get(12).ok_or("odd stat")?.parse::<u64>()?;
    Ok(ticks as f64 / 100.0)
}

/// `serve <listen-addr> <scope>...`: the proxy alone, until killed.
fn serve_standalone(mut args: impl Iterator<Item = String>) -> Result<()> {
    let listen: SocketAddr = args
        .next()
        .ok_or("usage: egress_bench serve <listen-addr> <scope>...")?
        .parse()?;
    let scopes = args
        .map(|text| Scope::parse(&text, &ScopeContext::default()))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    if scopes.is_empty() {
        return Err("serve needs at least one net.outbound scope".into());
    }
    let policy = EgressPolicy::from_scopes(&scopes);
    let sink: AuditSink = Arc::new(|_| {});
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let listener = std::net::TcpListener::bind(listen)?;
    let handle = EgressProxy::start(
        listener,
        policy,
        Arc::new(SystemResolver),
        sink,
        runtime.handle(),
    )?;
    writeln!(
        std::io::stderr().lock(),
        "egress_bench: proxy listening on {}",
        handle.local_addr()
    )?;
    runtime.block_on(std::future::pending::<()>());
    Ok(())
}

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().is_some_and(|first| first == "serve") {
        args.next();
        return serve_standalone(args);
    }
    let requests: usize = args.next().map_or(Ok(1000), |text| text.parse())?;
    let mib: usize = args.next().map_or(Ok(64), |text| text.parse())?;
    let netns = Netns::create()?;
    let path = netns.path();

    let origin_listener = bind_in_netns(&path, SocketAddr::new(ORIGIN_IP.parse()?, 0))?;
    let origin_addr = origin_listener.local_addr()?;
    let proxy_listener = bind_in_netns(&path, "127.0.0.1:0".parse()?)?;
    let scope = Scope::parse(
        &format!("net.outbound:bench.test:{}", origin_addr.port()),
        &ScopeContext::default(),
    )?;
    let policy = EgressPolicy::from_scopes(&[scope]);
    let resolver = Arc::new(StaticResolver::new().with("bench.test", &[ORIGIN_IP.parse()?]));
    let events = Arc::new(AtomicU64::new(0));
    let counted = Arc::clone(&events);
    let sink: AuditSink = Arc::new(move |_| {
        counted.fetch_add(1, Ordering::Relaxed);
    });

    // The origin and the proxy each run a current-thread runtime on their own thread in the
    // namespace (the proxy dials from there, and its CPU time is its thread's); the client is
    // a blocking thread in the same namespace.
    let (origin_stop, origin_thread) = serve_in(&path, move |stop| async move {
        origin_listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(origin_listener)?;
        tokio::select! {
            () = origin(listener, mib) => {}
            _ = stop => {}
        }
        Ok(())
    });
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (proxy_stop, proxy_thread) = serve_in(&path, move |stop| async move {
        let handle = EgressProxy::start(
            proxy_listener,
            policy,
            resolver,
            sink,
            &tokio::runtime::Handle::current(),
        )?;
        let thread = fs_err::read_link("/proc/thread-self")?;
        ready_tx.send((
            handle.local_addr(),
            PathBuf::from("/proc").join(thread).join("stat"),
        ))?;
        let _ = stop.await;
        Ok(())
    });
    let (proxy_addr, proxy_stat) = ready_rx.recv_timeout(Duration::from_secs(10))?;
    let report = run_in_netns(&path, move || {
        client(origin_addr, proxy_addr, requests, mib, &proxy_stat)
    })??;
    let _ = proxy_stop.send(());
    let _ = origin_stop.send(());
    let _ = proxy_thread.join();
    let _ = origin_thread.join();
    let mut out = std::io::stdout().lock();
    write!(out, "{report}")?;
    writeln!(
        out,
        "audit events delivered: {}",
        events.load(Ordering::Relaxed)
    )?;
    Ok(())
}
