//! The proxy server: accepts on a listener it is given, reads one request head per client
//! connection, asks `policy` and `resolve`, dials the checked address and relays bytes
//! (`TCP_NODELAY` both sides, the upstream head in one write, buffers that grow with the
//! stream, within a shared budget). One client connection carries one request or one
//! tunnel; both sides are closed after it, and no byte the client sends after its request's
//! body (a pipelined second request) is relayed. Must not re-resolve a name after the check,
//! and must not look inside tunnels.

use super::http::{self, Body, ChunkedBody, HttpError, RequestHead};
use super::policy::{self, Denial, EgressPolicy, TargetHost};
use super::resolve::{Resolver, resolve_checked};
use super::{AuditSink, EgressError, EgressEvent, EgressMethod};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Handle;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;

/// How long a client may take to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
/// How long dialling one upstream address may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Relay buffer size, per direction, to start with: small requests stay cheap.
const BUFFER_START: usize = 16 * 1024;
/// Largest relay buffer: a buffer that fills on every read doubles up to this, so bulk
/// transfers make few syscalls (1 MiB measured 3.1-3.2x tinyproxy's single-stream throughput
/// through a CONNECT tunnel, 256 KiB 2.9x: `bench/egress-proxy.sh`).
const BUFFER_MAX: usize = 1024 * 1024;
/// Buffers grow past `BUFFER_LARGE` only while all such growth together stays within
/// `LARGE_BUDGET`, so many bulk connections cannot make the proxy's memory balloon.
const BUFFER_LARGE: usize = 256 * 1024;
const LARGE_BUDGET: usize = 64 * 1024 * 1024;
/// Bytes of relay buffers beyond `BUFFER_LARGE`, over every pump of this process.
static LARGE_IN_USE: AtomicUsize = AtomicUsize::new(0);

/// A relay buffer's share of `LARGE_BUDGET`, given back when the pump ends.
struct LargeShare(usize);

impl LargeShare {
    /// Takes `bytes` more of the budget, if it has them.
    fn grow(&mut self, bytes: usize) -> bool {
        let taken = LARGE_IN_USE.fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
            used.checked_add(bytes)
                .filter(|total| *total <= LARGE_BUDGET)
        });
        if taken.is_ok() {
            self.0 += bytes;
        }
        taken.is_ok()
    }
}

impl Drop for LargeShare {
    fn drop(&mut self) {
        LARGE_IN_USE.fetch_sub(self.0, Ordering::AcqRel);
    }
}
/// Client connections served at once; more wait in the listen backlog.
const MAX_CONNECTIONS: usize = 512;
/// Appended to an event's reason when the client sent more than its one request.
const DISCARDED_NOTE: &str =
    "; bytes sent after the request were not relayed (one request per connection)";

/// Starts egress proxies.
#[derive(Debug)]
pub struct EgressProxy;

/// A running proxy. Dropping it (or `stop`) stops accepting; connections in flight are cut
/// and still reported.
#[derive(Debug)]
pub struct EgressHandle {
    local_addr: SocketAddr,
    accept: JoinHandle<()>,
}

impl EgressHandle {
    /// The address the proxy listens on (in the listener's network namespace).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting and cuts the connections in flight.
    pub fn stop(self) {}
}

impl Drop for EgressHandle {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

struct Shared {
    policy: EgressPolicy,
    resolver: Arc<dyn Resolver>,
    audit: AuditSink,
}

impl EgressProxy {
    /// Serves `listener` (bound anywhere, typically inside a run's network namespace) on
    /// `runtime` with `policy`, resolving names with `resolver` and delivering one event per
    /// connection to `audit`.
    pub fn start(
        listener: std::net::TcpListener,
        policy: EgressPolicy,
        resolver: Arc<dyn Resolver>,
        audit: AuditSink,
        runtime: &Handle,
    ) -> Result<EgressHandle, EgressError> {
        listener
            .set_nonblocking(true)
            .map_err(EgressError::Listener)?;
        let local_addr = listener.local_addr().map_err(EgressError::Listener)?;
        let listener = {
            let _entered = runtime.enter();
            TcpListener::from_std(listener).map_err(EgressError::Listener)?
        };
        let shared = Arc::new(Shared {
            policy,
            resolver,
            audit,
        });
        let accept = runtime.spawn(accept_loop(listener, shared));
        Ok(EgressHandle { local_addr, accept })
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
            return;
        };
        while connections.try_join_next().is_some() {}
        match listener.accept().await {
            Ok((client, _)) => {
                let shared = Arc::clone(&shared);
                connections.spawn(async move {
                    serve(&shared, client).await;
                    drop(permit);
                });
            }
            // Out of descriptors or a connection reset before accept: back off, keep serving.
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// The event of one connection, delivered exactly once: explicitly, or on drop when the
/// connection task is cut short.
struct Report<'a> {
    sink: &'a AuditSink,
    event: Option<EgressEvent>,
    up: AtomicU64,
    down: AtomicU64,
    /// The client sent bytes after its request, which were dropped.
    discarded: AtomicBool,
}

impl<'a> Report<'a> {
    fn new(sink: &'a AuditSink, host: String, port: u16, method: EgressMethod) -> Self {
        Self {
            sink,
            event: Some(EgressEvent {
                host,
                port,
                resolved: None,
                allowed: false,
                reason: "connection cut before it was decided".to_string(),
                scope: None,
                bytes_up: 0,
                bytes_down: 0,
                method,
            }),
            up: AtomicU64::new(0),
            down: AtomicU64::new(0),
            discarded: AtomicBool::new(false),
        }
    }

    fn update(&mut self, change: impl FnOnce(&mut EgressEvent)) {
        if let Some(event) = &mut self.event {
            change(event);
        }
    }

    fn deliver(&mut self) {
        if let Some(mut event) = self.event.take() {
            event.bytes_up = self.up.load(Ordering::Relaxed);
            event.bytes_down = self.down.load(Ordering::Relaxed);
            if self.discarded.load(Ordering::Relaxed) {
                event.reason.push_str(DISCARDED_NOTE);
            }
            (self.sink)(event);
        }
    }
}

impl Drop for Report<'_> {
    fn drop(&mut self) {
        self.deliver();
    }
}

async fn serve(shared: &Shared, mut client: TcpStream) {
    let _ = client.set_nodelay(true);
    let (buffer, end) = match tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut client)).await {
        Ok(Ok(found)) => found,
        Ok(Err((error, received))) => {
            if received {
                let mut report = Report::new(&shared.audit, String::new(), 0, EgressMethod::Http);
                report.update(|event| event.reason = format!("malformed request: {error}"));
                report.deliver();
                respond(&mut client, 400, &error.to_string()).await;
            }
            return;
        }
        Err(_) => {
            respond(&mut client, 408, "request head not received in time").await;
            return;
        }
    };
    let request = match http::parse_head(&buffer[..end]) {
        Ok(request) => request,
        Err(error) => {
            let mut report = Report::new(&shared.audit, String::new(), 0, EgressMethod::Http);
            report.update(|event| event.reason = format!("malformed request: {error}"));
            report.deliver();
            respond(&mut client, 400, &error.to_string()).await;
            return;
        }
    };
    let method = match request.path {
        None => EgressMethod::Connect,
        Some(_) => EgressMethod::Http,
    };
    let mut report = Report::new(&shared.audit, request.host.clone(), request.port, method);
    let upstream = match admit(shared, &request, &mut report).await {
        Ok(upstream) => upstream,
        Err((status, text)) => {
            report.deliver();
            respond(&mut client, status, &text).await;
            return;
        }
    };
    let leftover = &buffer[end..];
    let result = match method {
        EgressMethod::Connect => tunnel(client, upstream, leftover, &report).await,
        EgressMethod::Http => forward(client, upstream, &request, leftover, &report).await,
    };
    if let Err(error) = result {
        report.update(|event| {
            event
                .reason
                .push_str(&format!("; ended with error: {error}"))
        });
    }
}

/// Decides and dials; on refusal returns the status and the text to answer with, having
/// recorded the reason in `report`.
async fn admit(
    shared: &Shared,
    request: &RequestHead,
    report: &mut Report<'_>,
) -> Result<TcpStream, (u16, String)> {
    let refuse = |report: &mut Report<'_>, denial: Denial| {
        let text = denial.to_string();
        report.update(|event| event.reason = text.clone());
        (denial.status(), text)
    };
    let Some(host) = TargetHost::parse(&request.host) else {
        let denial = Denial::BadHost {
            target: request.host.clone(),
        };
        return Err(refuse(report, denial));
    };
    let scope = match shared.policy.matching(&host, request.port) {
        Ok(pattern) => format!("net.outbound:{pattern}"),
        Err(denial) => return Err(refuse(report, denial)),
    };
    if request.path.is_none() {
        policy::check_tunnel(&host, request.port).map_err(|denial| refuse(report, denial))?;
    }
    let addresses = resolve_checked(shared.resolver.as_ref(), &host, request.port)
        .await
        .map_err(|denial| refuse(report, denial))?;
    report.update(|event| {
        event.allowed = true;
        event.reason = format!("allowed by `{scope}`");
        event.scope = Some(scope);
    });
    let mut last_error = String::from("no address");
    for address in addresses {
        report.update(|event| event.resolved = Some(address.ip()));
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address)).await {
            Ok(Ok(upstream)) => {
                let _ = upstream.set_nodelay(true);
                return Ok(upstream);
            }
            Ok(Err(error)) => last_error = format!("{address}: {error}"),
            Err(_) => last_error = format!("{address}: connect timed out"),
        }
    }
    let text = format!(
        "cannot connect to `{}:{}` ({last_error})",
        request.host, request.port
    );
    report.update(|event| event.reason = format!("allowed, but {text}"));
    Err((502, text))
}

/// Reads until the end of the request head. On error, says whether any byte had arrived.
async fn read_head(client: &mut TcpStream) -> Result<(Vec<u8>, usize), (HttpError, bool)> {
    let mut buffer = Vec::with_capacity(4096);
    loop {
        let received = !buffer.is_empty();
        if let Some(end) = http::head_end(&buffer).map_err(|error| (error, true))? {
            return Ok((buffer, end));
        }
        buffer.reserve(8192);
        match client.read_buf(&mut buffer).await {
            Ok(0) | Err(_) => return Err((HttpError::Incomplete, received)),
            Ok(_) => {}
        }
    }
}

async fn tunnel(
    mut client: TcpStream,
    mut upstream: TcpStream,
    leftover: &[u8],
    report: &Report<'_>,
) -> std::io::Result<()> {
    client
        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        .await?;
    if !leftover.is_empty() {
        upstream.write_all(leftover).await?;
        report
            .up
            .fetch_add(leftover.len() as u64, Ordering::Relaxed);
    }
    let (mut client_read, mut client_write) = client.split();
    let (mut upstream_read, mut upstream_write) = upstream.split();
    tokio::try_join!(
        pump(
            &mut client_read,
            &mut upstream_write,
            u64::MAX,
            &report.up,
            true
        ),
        pump(
            &mut upstream_read,
            &mut client_write,
            u64::MAX,
            &report.down,
            true
        ),
    )?;
    Ok(())
}

async fn forward(
    mut client: TcpStream,
    mut upstream: TcpStream,
    request: &RequestHead,
    leftover: &[u8],
    report: &Report<'_>,
) -> std::io::Result<()> {
    // How much of what already arrived is body; anything after it is never sent.
    let mut body = match request.body {
        Body::Empty => RequestBody::Length(0),
        Body::Length(length) => RequestBody::Length(length),
        Body::Chunked => RequestBody::Chunked(ChunkedBody::default()),
    };
    let early = body.take(leftover)?;
    if early < leftover.len() {
        report.discarded.store(true, Ordering::Relaxed);
    }
    let mut head = http::upstream_head(request);
    head.extend_from_slice(&leftover[..early]);
    upstream.write_all(&head).await?;
    report.up.fetch_add(head.len() as u64, Ordering::Relaxed);
    let (mut client_read, mut client_write) = client.split();
    let (mut upstream_read, mut upstream_write) = upstream.split();
    let mut body_done = body.is_done();
    let request_body = pump_body(&mut client_read, &mut upstream_write, body, report);
    let response = pump(
        &mut upstream_read,
        &mut client_write,
        u64::MAX,
        &report.down,
        true,
    );
    tokio::pin!(request_body, response);
    loop {
        tokio::select! {
            result = &mut request_body, if !body_done => {
                body_done = true;
                result?;
            }
            result = &mut response => return result,
        }
    }
}

/// What is left of a request body to relay.
enum RequestBody {
    /// Exactly this many more bytes.
    Length(u64),
    /// A chunked body, up to the end of its trailers.
    Chunked(ChunkedBody),
}

impl RequestBody {
    /// Takes the body's share of `bytes` (a prefix), returning its length.
    fn take(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        match self {
            Self::Length(left) => {
                let taken = bytes
                    .len()
                    .min(usize::try_from(*left).unwrap_or(usize::MAX));
                *left -= taken as u64;
                Ok(taken)
            }
            Self::Chunked(chunked) => chunked.feed(bytes).map_err(std::io::Error::other),
        }
    }

    fn is_done(&self) -> bool {
        match self {
            Self::Length(left) => *left == 0,
            Self::Chunked(chunked) => chunked.is_done(),
        }
    }
}

/// Relays the rest of a request body from `reader` to `writer`, and not one byte more (a
/// pipelined request after it stays unrelayed; `report` notes one that arrived).
async fn pump_body<R, W>(
    reader: &mut R,
    writer: &mut W,
    body: RequestBody,
    report: &Report<'_>,
) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut chunked = match body {
        // A length-framed body is read exactly: nothing past its end is even read.
        RequestBody::Length(left) => return pump(reader, writer, left, &report.up, false).await,
        RequestBody::Chunked(chunked) => chunked,
    };
    let mut buffer = vec![0_u8; BUFFER_START];
    while !chunked.is_done() {
        let read = reader.read(&mut buffer).await?;
        if read == 0 {
            return Ok(());
        }
        let taken = chunked
            .feed(&buffer[..read])
            .map_err(std::io::Error::other)?;
        writer.write_all(&buffer[..taken]).await?;
        report.up.fetch_add(taken as u64, Ordering::Relaxed);
        if taken < read {
            report.discarded.store(true, Ordering::Relaxed);
        }
    }
    Ok(())
}

/// Copies at most `limit` bytes from `reader` to `writer`, counting them; at end of input,
/// shuts `writer` down if `shutdown` is set.
async fn pump<R, W>(
    reader: &mut R,
    writer: &mut W,
    limit: u64,
    counter: &AtomicU64,
    shutdown: bool,
) -> std::io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let mut left = limit;
    let mut buffer = vec![0_u8; BUFFER_START];
    let mut share = LargeShare(0);
    while left > 0 {
        let want = usize::try_from(left)
            .unwrap_or(usize::MAX)
            .min(buffer.len());
        let read = reader.read(&mut buffer[..want]).await?;
        if read == buffer.len() && buffer.len() < BUFFER_MAX {
            // This read filled the buffer: grow after relaying it (past `BUFFER_LARGE` only
            // within the shared budget).
            writer.write_all(&buffer[..read]).await?;
            counter.fetch_add(read as u64, Ordering::Relaxed);
            left -= read as u64;
            let grown = buffer.len() * 2;
            let beyond = grown.saturating_sub(BUFFER_LARGE.max(buffer.len()));
            if beyond == 0 || share.grow(beyond) {
                buffer.resize(grown, 0);
            }
            continue;
        }
        if read == 0 {
            if shutdown {
                writer.shutdown().await?;
            }
            return Ok(());
        }
        writer.write_all(&buffer[..read]).await?;
        counter.fetch_add(read as u64, Ordering::Relaxed);
        left -= read as u64;
    }
    Ok(())
}

/// Answers with a short plain-text error and closes.
async fn respond(client: &mut TcpStream, status: u16, text: &str) {
    let phrase = match status {
        400 => "Bad Request",
        403 => "Forbidden",
        408 => "Request Timeout",
        _ => "Bad Gateway",
    };
    let body = format!("{text}\n");
    let response = format!(
        "HTTP/1.1 {status} {phrase}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = client.write_all(response.as_bytes()).await;
    let _ = client.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_buffers_share_one_budget_and_give_it_back() {
        let mut first = LargeShare(0);
        assert!(first.grow(LARGE_BUDGET / 2));
        let mut second = LargeShare(0);
        assert!(!second.grow(LARGE_BUDGET / 2 + LARGE_BUDGET / 4));
        assert!(!second.grow(LARGE_BUDGET + 1));
        drop(first);
        assert!(second.grow(LARGE_BUDGET / 2 + LARGE_BUDGET / 4));
        assert_eq!(second.0, LARGE_BUDGET / 2 + LARGE_BUDGET / 4);
    }
}
