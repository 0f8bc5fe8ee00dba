//! A small, strict HTTP/1.x request-head parser for the egress proxy, and the upstream head it
//! forwards. Bounded (request line ≤ 8 KiB, header section ≤ 64 KiB), CRLF only, no obs-fold,
//! no ambiguous framing (duplicate `Content-Length`, `Content-Length` with
//! `Transfer-Encoding`, any coding but `chunked`), and where a chunked body ends (`chunked`).
//! Does no I/O.

mod chunked;

pub(crate) use chunked::ChunkedBody;

/// Longest request line accepted.
pub(crate) const MAX_REQUEST_LINE: usize = 8 * 1024;
/// Longest header section accepted (after the request line).
pub(crate) const MAX_HEADERS: usize = 64 * 1024;
/// Longest whole head: request line, headers and the blank line.
pub(crate) const MAX_HEAD: usize = MAX_REQUEST_LINE + MAX_HEADERS + 4;

/// Why a request head was refused; the text is the body of the 400 response.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The request line is longer than 8 KiB.
    #[error("request line longer than 8 KiB")]
    LineTooLong,
    /// The header section is longer than 64 KiB.
    #[error("request headers longer than 64 KiB")]
    HeadTooLong,
    /// The connection closed before the head was complete.
    #[error("connection closed before the request head was complete")]
    Incomplete,
    /// The request line is not `METHOD target HTTP/1.x`.
    #[error("malformed request line")]
    RequestLine,
    /// A line ends in a bare CR or LF, or holds control characters.
    #[error("malformed line ending or control character in the request head")]
    LineEnding,
    /// A header line starts with whitespace (obsolete line folding).
    #[error("obsolete header line folding is not accepted")]
    ObsFold,
    /// A header is not `name: value`.
    #[error("malformed header line")]
    Header,
    /// The target is not absolute-form `http://host[:port]/path` (or `host:port` for CONNECT).
    #[error("{0}")]
    Target(&'static str),
    /// The body length is ambiguous or unsupported.
    #[error("{0}")]
    Framing(&'static str),
}

/// How the request body is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Body {
    /// No body.
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// `Transfer-Encoding: chunked`, relayed as sent.
    Chunked,
}

/// A parsed request head.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RequestHead {
    /// The method, as sent (`CONNECT` for tunnels).
    pub(crate) method: String,
    /// The target host as written (name, IPv4, or bracketed IPv6).
    pub(crate) host: String,
    /// The target port.
    pub(crate) port: u16,
    /// For absolute-form: the origin-form path and query to forward; `None` for CONNECT.
    pub(crate) path: Option<String>,
    /// `HTTP/1.0` or `HTTP/1.1`.
    pub(crate) version: &'static str,
    /// The headers in order, values trimmed.
    pub(crate) headers: Vec<(String, Vec<u8>)>,
    /// The body framing.
    pub(crate) body: Body,
}

/// Where the head ends (the index just past `\r\n\r\n`), `Ok(None)` if more bytes are needed,
/// or an error once the limits are exceeded.
pub(crate) fn head_end(buffer: &[u8]) -> Result<Option<usize>, HttpError> {
    let line_end = buffer.windows(2).position(|pair| pair == b"\r\n");
    match line_end {
        None if buffer.len() > MAX_REQUEST_LINE => return Err(HttpError::LineTooLong),
        Some(end) if end > MAX_REQUEST_LINE => return Err(HttpError::LineTooLong),
        None => return Ok(None),
        Some(_) => {}
    }
    match buffer.windows(4).position(|quad| quad == b"\r\n\r\n") {
        Some(end) if end + 4 > MAX_HEAD => Err(HttpError::HeadTooLong),
        Some(end) => Ok(Some(end + 4)),
        None if buffer.len() >= MAX_HEAD => Err(HttpError::HeadTooLong),
        None => Ok(None),
    }
}

fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// Parses a complete head (as delimited by `head_end`, including the final blank line).
pub(crate) fn parse_head(head: &[u8]) -> Result<RequestHead, HttpError> {
    // Keep the last line's CRLF so that every line ends in exactly one.
    let head = head.strip_suffix(b"\r\n").ok_or(HttpError::Incomplete)?;
    let mut lines = head.split_inclusive(|&b| b == b'\n').map(|line| {
        line.strip_suffix(b"\r\n")
            .filter(|line| !line.contains(&b'\r') && !line.contains(&b'\n'))
            .ok_or(HttpError::LineEnding)
    });
    let request_line = lines.next().ok_or(HttpError::RequestLine)??;
    let request_line = std::str::from_utf8(request_line).map_err(|_| HttpError::RequestLine)?;
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HttpError::RequestLine);
    };
    if !is_token(method) || target.is_empty() || target.bytes().any(|b| b <= b' ' || b == 0x7f) {
        return Err(HttpError::RequestLine);
    }
    let version = match version {
        "HTTP/1.1" => "HTTP/1.1",
        "HTTP/1.0" => "HTTP/1.0",
        _ => return Err(HttpError::RequestLine),
    };
    let connect = method == "CONNECT";
    let (host, port, path) = if connect {
        let (host, port) = split_authority(target, None)?;
        (host, port, None)
    } else {
        let (host, port, path) = split_absolute(target)?;
        (host, port, Some(path))
    };
    let headers = parse_headers(lines)?;
    let body = framing(&headers, version)?;
    if connect && body != Body::Empty && body != Body::Length(0) {
        return Err(HttpError::Framing("CONNECT must not carry a body"));
    }
    Ok(RequestHead {
        method: method.to_string(),
        host,
        port,
        path,
        version,
        headers,
        body,
    })
}

fn parse_headers<'a>(
    lines: impl Iterator<Item = Result<&'a [u8], HttpError>>,
) -> Result<Vec<(String, Vec<u8>)>, HttpError> {
    let mut headers = Vec::new();
    for line in lines {
        let line = line?;
        if line.first().is_some_and(|&b| b == b' ' || b == b'\t') {
            return Err(HttpError::ObsFold);
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or(HttpError::Header)?;
        let name = std::str::from_utf8(&line[..colon]).map_err(|_| HttpError::Header)?;
        if !is_token(name) {
            return Err(HttpError::Header);
        }
        let value = line[colon + 1..].trim_ascii();
        if value.iter().any(|&b| (b < b' ' && b != b'\t') || b == 0x7f) {
            return Err(HttpError::LineEnding);
        }
        headers.push((name.to_string(), value.to_vec()));
    }
    Ok(headers)
}

fn framing(headers: &[(String, Vec<u8>)], version: &str) -> Result<Body, HttpError> {
    let find = |wanted: &'static str| {
        headers
            .iter()
            .filter(move |(name, _)| name.eq_ignore_ascii_case(wanted))
            .map(|(_, value)| value.as_slice())
    };
    let lengths: Vec<&[u8]> = find("content-length").collect();
    let codings: Vec<&[u8]> = find("transfer-encoding").collect();
    match (lengths.as_slice(), codings.as_slice()) {
        ([], []) => Ok(Body::Empty),
        ([length], []) => {
            let digits = std::str::from_utf8(length)
                .ok()
                .filter(|text| !text.is_empty() && text.len() <= 18)
                .filter(|text| text.bytes().all(|b| b.is_ascii_digit()))
                .ok_or(HttpError::Framing("invalid Content-Length"))?;
            digits
                .parse()
                .map(Body::Length)
                .map_err(|_| HttpError::Framing("invalid Content-Length"))
        }
        ([], [coding]) if version == "HTTP/1.1" && coding.eq_ignore_ascii_case(b"chunked") => {
            Ok(Body::Chunked)
        }
        ([], _) => Err(HttpError::Framing(
            "only a single `Transfer-Encoding: chunked` is accepted",
        )),
        (_, []) => Err(HttpError::Framing("more than one Content-Length")),
        _ => Err(HttpError::Framing(
            "both Content-Length and Transfer-Encoding",
        )),
    }
}

/// Splits `host:port` (IPv6 in brackets). `default` is the port when none is written; CONNECT
/// passes `None`, so its port is required.
fn split_authority(text: &str, default: Option<u16>) -> Result<(String, u16), HttpError> {
    const BAD: HttpError = HttpError::Target("malformed host or port in the request target");
    if text.is_empty() || text.contains('@') {
        return Err(HttpError::Target(
            "the request target must be host[:port] without user information",
        ));
    }
    let (host, port) = if text.starts_with('[') {
        let close = text.find(']').ok_or(BAD)?;
        let rest = &text[close + 1..];
        let port = match rest.strip_prefix(':') {
            Some(port) => Some(port),
            None if rest.is_empty() => None,
            None => return Err(BAD),
        };
        (&text[..=close], port)
    } else {
        match text.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    let port = match port {
        Some(port) => {
            if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
                return Err(BAD);
            }
            port.parse::<u16>()
                .ok()
                .filter(|&port| port != 0)
                .ok_or(BAD)?
        }
        None => default.ok_or(HttpError::Target("CONNECT needs host:port"))?,
    };
    if host.is_empty() {
        return Err(BAD);
    }
    Ok((host.to_string(), port))
}

/// Splits an absolute-form `http://authority/path?query` target.
fn split_absolute(target: &str) -> Result<(String, u16, String), HttpError> {
    let scheme_end = target.find("://").ok_or(HttpError::Target(
        "a proxy request needs an absolute http:// target (or CONNECT for HTTPS)",
    ))?;
    if !target[..scheme_end].eq_ignore_ascii_case("http") {
        return Err(HttpError::Target(
            "only http:// targets are forwarded; use CONNECT for HTTPS",
        ));
    }
    let rest = &target[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (host, port) = split_authority(&rest[..authority_end], Some(80))?;
    let path = rest[authority_end..].split('#').next().unwrap_or_default();
    let path = match path.chars().next() {
        None => "/".to_string(),
        Some('?') => format!("/{path}"),
        Some(_) => path.to_string(),
    };
    Ok((host, port, path))
}

/// Whether a request header must not be forwarded: hop-by-hop, `Proxy-*`, `Host` (rewritten)
/// and any header the client's `Connection` header names.
fn is_hop_by_hop(name: &str, connection_named: &[String]) -> bool {
    const HOP: [&str; 7] = [
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "upgrade",
        "host",
        "proxy-connection",
    ];
    let lower = name.to_ascii_lowercase();
    HOP.contains(&lower.as_str())
        || lower.starts_with("proxy-")
        || connection_named.contains(&lower)
}

/// The head sent upstream for an absolute-form request: origin-form request line, a `Host`
/// header from the target, the client's end-to-end headers, and `Connection: close`.
pub(crate) fn upstream_head(request: &RequestHead) -> Vec<u8> {
    let connection_named: Vec<String> = request
        .headers
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("connection"))
        .flat_map(|(_, value)| value.split(|&b| b == b','))
        .filter_map(|token| std::str::from_utf8(token.trim_ascii()).ok())
        .map(str::to_ascii_lowercase)
        .filter(|token| token != "transfer-encoding" && token != "content-length")
        .collect();
    let path = request.path.as_deref().unwrap_or("/");
    let mut head = Vec::with_capacity(256 + request.headers.len() * 48);
    let host_line = if request.port == 80 {
        request.host.clone()
    } else {
        format!("{}:{}", request.host, request.port)
    };
    for part in [
        request.method.as_str(),
        " ",
        path,
        " ",
        request.version,
        "\r\nHost: ",
        &host_line,
        "\r\n",
    ] {
        head.extend_from_slice(part.as_bytes());
    }
    for (name, value) in &request.headers {
        if !is_hop_by_hop(name, &connection_named) {
            head.extend_from_slice(name.as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(value);
            head.extend_from_slice(b"\r\n");
        }
    }
    head.extend_from_slice(b"Connection: close\r\n\r\n");
    head
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn parse(text: &str) -> Result<RequestHead, HttpError> {
        let bytes = text.as_bytes();
        let end = head_end(bytes)?.ok_or(HttpError::Incomplete)?;
        parse_head(&bytes[..end])
    }

    #[test]
    fn connect_and_absolute_form() {
        let connect = parse("CONNECT Example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        assert_eq!((connect.host.as_str(), connect.port), ("Example.com", 443));
        assert_eq!(connect.path, None);
        let v6 = parse("CONNECT [2606:4700::1]:8443 HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!((v6.host.as_str(), v6.port), ("[2606:4700::1]", 8443));
        let get = parse("GET http://a.test/x?y=1#frag HTTP/1.1\r\nAccept: */*\r\n\r\n").unwrap();
        assert_eq!((get.host.as_str(), get.port), ("a.test", 80));
        assert_eq!(get.path.as_deref(), Some("/x?y=1"));
        let bare = parse("GET HTTP://a.test:8080?q HTTP/1.0\r\n\r\n").unwrap();
        assert_eq!((bare.port, bare.path.as_deref()), (8080, Some("/?q")));
        let empty = parse("GET http://[::1] HTTP/1.1\r\n\r\n").unwrap();
        assert_eq!(
            (empty.host.as_str(), empty.path.as_deref()),
            ("[::1]", Some("/"))
        );
    }

    #[test]
    fn malformed_requests_are_refused() {
        for bad in [
            "GET / HTTP/1.1\r\n\r\n",
            "GET https://a.test/ HTTP/1.1\r\n\r\n",
            "GET http://user@a.test/ HTTP/1.1\r\n\r\n",
            "GET http://a.test:0/ HTTP/1.1\r\n\r\n",
            "GET http://a.test:99999/ HTTP/1.1\r\n\r\n",
            "GET http://a.test:1:2/ HTTP/1.1\r\n\r\n",
            "CONNECT a.test HTTP/1.1\r\n\r\n",
            "CONNECT a.test:443 HTTP/2.0\r\n\r\n",
            "CONNECT  a.test:443 HTTP/1.1\r\n\r\n",
            "GET http://a.test/ HTTP/1.1\r\nX: 1\r\n folded\r\n\r\n",
            "GET http://a.test/ HTTP/1.1\r\nX : 1\r\n\r\n",
            "GET http://a.test/ HTTP/1.1\r\nNoColon\r\n\r\n",
            "GET http://a.test/ HTTP/1.1\r\nX: a\rb\r\n\r\n",
            "GET http://a.test/ HTTP/1.1\nX: a\r\n\r\n",
            "GET http://a.test/ HTTP/1.1\r\nX: a\x01\r\n\r\n",
            "POST http://a.test/ HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
            "POST http://a.test/ HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST http://a.test/ HTTP/1.1\r\nContent-Length: +1\r\n\r\n",
            "POST http://a.test/ HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n",
            "POST http://a.test/ HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            "POST http://a.test/ HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
            "CONNECT a.test:443 HTTP/1.1\r\nContent-Length: 5\r\n\r\n",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn limits_are_enforced() {
        let long_line = format!(
            "GET http://a.test/{} HTTP/1.1\r\n",
            "a".repeat(MAX_REQUEST_LINE)
        );
        assert_eq!(head_end(long_line.as_bytes()), Err(HttpError::LineTooLong));
        let mut huge = String::from("GET http://a.test/ HTTP/1.1\r\n");
        while huge.len() <= MAX_HEAD {
            huge.push_str("X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        assert_eq!(head_end(huge.as_bytes()), Err(HttpError::HeadTooLong));
        assert_eq!(
            head_end(b"GET http://a.test/ HTTP/1.1\r\nX: 1\r\n"),
            Ok(None)
        );
    }

    #[test]
    fn framing_is_read() {
        let post = parse("POST http://a.test/ HTTP/1.1\r\ncontent-length: 12\r\n\r\n").unwrap();
        assert_eq!(post.body, Body::Length(12));
        let chunked =
            parse("POST http://a.test/ HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n").unwrap();
        assert_eq!(chunked.body, Body::Chunked);
    }

    #[test]
    fn upstream_head_strips_hop_by_hop_and_proxy_headers() {
        let request = parse(
            "GET http://a.test:8080/p HTTP/1.1\r\nHost: evil.test\r\nProxy-Authorization: x\r\n\
             Connection: keep-alive, X-Secret\r\nX-Secret: s\r\nKeep-Alive: 5\r\n\
             Accept: */*\r\nProxy-Connection: keep-alive\r\nUpgrade: h2c\r\n\r\n",
        )
        .unwrap();
        let head = String::from_utf8(upstream_head(&request)).unwrap();
        assert_eq!(
            head,
            "GET /p HTTP/1.1\r\nHost: a.test:8080\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        );
    }
}
