//! The egress proxy against the bypasses peer proxies have shipped: an allowed name that points
//! at the proxy's own host, a second request smuggled after the first on one connection, and a
//! denied name leaking through the resolver. Each asserts the refusal and the event.

use super::*;

/// An origin in the origin namespace that records every byte it receives on a connection
/// (until the client is quiet for 300 ms) and then answers `ok`.
async fn recording_origin(world: &World) -> (u16, UnboundedReceiver<Vec<u8>>) {
    let listener = bind_in_netns(
        &world.origin.path(),
        SocketAddr::new(ORIGIN_IP.parse().unwrap(), 0),
    )
    .unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let listener = TcpListener::from_std(listener).unwrap();
    let (sender, received) = unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else {
                return;
            };
            let sender = sender.clone();
            tokio::spawn(async move {
                let mut bytes = Vec::new();
                while let Ok(Ok(read)) =
                    tokio::time::timeout(Duration::from_millis(300), stream.read_buf(&mut bytes))
                        .await
                {
                    if read == 0 {
                        break;
                    }
                }
                let _ = sender.send(bytes);
                let _ = stream
                    .write_all(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                    )
                    .await;
                let _ = stream.shutdown().await;
            });
        }
    });
    (port, received)
}

#[test]
fn egress_to_an_address_of_the_proxy_host_is_refused_even_when_added_mid_run() {
    in_world("local", |world| async move {
        // A service of the proxy's own host, on the address of one of its interfaces.
        let service = std::net::TcpListener::bind((WORLD_IP, 0)).unwrap();
        let port = service.local_addr().unwrap().port();
        service.set_nonblocking(true).unwrap();
        let scopes = [
            format!("net.outbound:vps.test:{port}"),
            format!("net.outbound:later.test:{port}"),
        ];
        let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
        let mut bench = bench(&world, &scopes).await;
        let request = format!("CONNECT vps.test:{port} HTTP/1.1\r\n\r\n");
        let reply = send_all(connect_from(&world, bench.proxy), request.as_bytes()).await;
        assert!(reply.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{reply}");
        let reason =
            format!("egress to `vps.test:{port}` resolves to {WORLD_IP}: an address of this host");
        assert!(reply.contains(&reason), "{reply}");
        let event = next_event(&mut bench.events).await;
        assert_eq!(
            (event.allowed, event.reason.as_str(), event.resolved),
            (false, reason.as_str(), None)
        );

        // `later.test` points nowhere yet: allowed, but nothing answers.
        let request = format!("CONNECT later.test:{port} HTTP/1.1\r\n\r\n");
        let reply = send_all(connect_from(&world, bench.proxy), request.as_bytes()).await;
        assert!(reply.starts_with("HTTP/1.1 502 "), "{reply}");
        assert!(next_event(&mut bench.events).await.allowed);
        // The host gains that address while the run goes on, with a service on it: the next
        // connection is checked afresh and refused.
        assert!(ip(&[
            "-n",
            &world.world.name,
            "addr",
            "add",
            &format!("{LATER_IP}/32"),
            "dev",
            "lo"
        ]));
        let later = std::net::TcpListener::bind((LATER_IP, port)).unwrap();
        later.set_nonblocking(true).unwrap();
        let reply = send_all(connect_from(&world, bench.proxy), request.as_bytes()).await;
        assert!(reply.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{reply}");
        let event = next_event(&mut bench.events).await;
        assert_eq!(
            event.reason,
            format!(
                "egress to `later.test:{port}` resolves to {LATER_IP}: an address of this host"
            )
        );
        // Neither service saw a connection.
        for listener in [service, later] {
            assert_eq!(
                listener.accept().map_err(|error| error.kind()).unwrap_err(),
                std::io::ErrorKind::WouldBlock
            );
        }
    });
}

#[test]
fn egress_a_request_pipelined_after_the_first_is_never_relayed() {
    in_world("pipeline", |world| async move {
        let (port, mut received) = recording_origin(&world).await;
        let mut bench = bench(&world, &[&format!("net.outbound:allowed.test:{port}")]).await;
        let smuggled = "GET http://other.test/steal HTTP/1.1\r\nHost: other.test\r\n\r\n";
        let chunked_body = "5\r\nhello\r\n0\r\n\r\n";
        let cases = [
            (
                format!("GET http://allowed.test:{port}/a HTTP/1.1\r\nAccept: */*\r\n\r\n"),
                String::new(),
            ),
            (
                format!("POST http://allowed.test:{port}/b HTTP/1.1\r\nContent-Length: 3\r\n\r\n"),
                "abc".to_string(),
            ),
            (
                format!(
                    "POST http://allowed.test:{port}/c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                ),
                chunked_body.to_string(),
            ),
        ];
        for (head, body) in cases {
            let request = format!("{head}{body}{smuggled}");
            let reply = send_all(connect_from(&world, bench.proxy), request.as_bytes()).await;
            assert!(reply.ends_with("\r\n\r\nok"), "{reply}");
            let upstream = String::from_utf8(received.recv().await.unwrap()).unwrap();
            // Exactly one request reached the origin, its body included, nothing after it.
            let first_line = head
                .lines()
                .next()
                .unwrap()
                .replace(&format!("http://allowed.test:{port}"), "");
            assert!(
                upstream.starts_with(&format!("{first_line}\r\nHost: allowed.test:{port}\r\n")),
                "{upstream}"
            );
            assert!(
                upstream.ends_with(&format!("Connection: close\r\n\r\n{body}")),
                "{upstream:?}"
            );
            assert!(!upstream.contains("other.test"), "{upstream:?}");
            let event = next_event(&mut bench.events).await;
            assert!(event.allowed, "{event:?}");
            assert_eq!(
                event.reason,
                format!(
                    "allowed by `net.outbound:allowed.test:{port}`; bytes sent after the request were not relayed (one request per connection)"
                )
            );
        }
        // A malformed chunked body ends the relay where the framing breaks.
        let request = format!(
            "POST http://allowed.test:{port}/d HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{smuggled}"
        );
        let _ = send_all(connect_from(&world, bench.proxy), request.as_bytes()).await;
        let event = next_event(&mut bench.events).await;
        assert!(
            event
                .reason
                .ends_with("; ended with error: malformed chunked request body"),
            "{event:?}"
        );
        // Only `allowed.test` was ever looked up.
        assert!(
            bench
                .asked
                .lock()
                .unwrap()
                .iter()
                .all(|name| name == "allowed.test")
        );
    });
}

#[test]
fn egress_denied_names_are_never_resolved() {
    in_world("noresolve", |world| async move {
        let mut bench = bench(&world, &["net.outbound:allowed.test:PORT"]).await;
        let port = bench.origin_port;
        for request in [
            format!("CONNECT secret-data.exfil.test:{port} HTTP/1.1\r\n\r\n"),
            format!(
                "GET http://secret-data.exfil.test:{port}/ HTTP/1.1\r\nHost: allowed.test\r\n\r\n"
            ),
            format!("CONNECT allowed.test:{} HTTP/1.1\r\n\r\n", port + 1),
        ] {
            let reply = send_all(connect_from(&world, bench.proxy), request.as_bytes()).await;
            assert!(reply.starts_with("HTTP/1.1 403 Forbidden\r\n"), "{reply}");
            assert!(!next_event(&mut bench.events).await.allowed);
        }
        assert_eq!(*bench.asked.lock().unwrap(), Vec::<String>::new());
        let request = format!("GET http://allowed.test:{port}/hello HTTP/1.1\r\n\r\n");
        let reply = send_all(connect_from(&world, bench.proxy), request.as_bytes()).await;
        assert!(reply.ends_with("hello from origin"), "{reply}");
        assert_eq!(
            *bench.asked.lock().unwrap(),
            vec!["allowed.test".to_string()]
        );
    });
}
