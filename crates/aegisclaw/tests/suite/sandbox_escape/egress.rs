//! Escapes through or around the egress proxy.

use super::*;

#[test]
fn egress_to_scoped_host_goes_through_the_proxy() {
    let world = World::create(0);
    let escape = Escape::new();
    let scope = format!("net.outbound:{}:8080", world.address);
    let outcome = escape.run(&["files.write", &scope], &curl_status(&world.url()));
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    let stdout = outcome.stdout();
    assert!(stdout.starts_with("200"), "{stdout} {}", outcome.stderr());
    assert!(stdout.contains("origin-says-hi"), "{stdout}");
    let launch = outcome.record("run.launch");
    assert_eq!(launch["data"]["egress_proxy"], "127.0.0.1:3128");
    let egress = outcome.egress();
    assert_eq!(egress.len(), 1, "{egress:#?}");
    let record = egress[0];
    assert_eq!(record["decision"], "allow");
    assert_eq!(record["scope"], scope.as_str());
    assert_eq!(record["run"], launch["run"]);
    assert_eq!(record["data"]["host"], world.address.as_str());
    assert_eq!(record["data"]["port"], 8080);
    assert_eq!(record["data"]["method"], "HTTP");
    assert!(record["data"]["bytes_up"].as_u64().unwrap_or(0) > 0);
    assert!(record["data"]["bytes_down"].as_u64().unwrap_or(0) > 0);
    outcome.finished();
}

#[test]
fn egress_works_for_an_unprivileged_user() {
    // Run as `nobody`: without CAP_SYS_ADMIN in its own namespace, AegisClaw cannot enter the
    // run's network namespace, so the sandbox opens the proxy's listener there itself and
    // hands it over before exec. Allowed traffic flows, unlisted hosts are refused, both
    // audited.
    let world = World::create(3);
    let user = Unprivileged::new();
    let scope = format!("net.outbound:{}:8080", world.address);
    let script = format!(
        "{}; curl -s --max-time 10 -o /dev/null -w ' %{{http_code}}' http://evil.test/",
        curl_status(&world.url())
    );
    let run = user.run(&[
        "sandbox",
        "run",
        "--scope",
        "files.write",
        "--scope",
        &scope,
        "--scope",
        "shell.exec",
        "--",
        "sh",
        "-c",
        &script,
    ]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stdout} {stderr}");
    assert!(stdout.starts_with("200"), "{stdout} {stderr}");
    assert!(stdout.contains("origin-says-hi"), "{stdout}");
    assert!(stdout.trim_end().ends_with("403"), "{stdout}");
    let records = user.records();
    let egress: Vec<&Value> = records
        .iter()
        .filter(|r| r["kind"] == "net.egress")
        .collect();
    assert_eq!(egress.len(), 2, "{egress:#?}");
    assert_eq!(egress[0]["decision"], "allow");
    assert_eq!(egress[0]["data"]["host"], world.address.as_str());
    assert_eq!(egress[1]["decision"], "deny");
    assert_eq!(egress[1]["data"]["host"], "evil.test");
    let launch = records.iter().find(|r| r["kind"] == "run.launch").unwrap();
    assert_eq!(launch["data"]["network"], "proxied");
}

#[test]
fn the_proxy_listener_never_reaches_the_skill() {
    // The sandbox opens the proxy's listener and passes it to AegisClaw before exec; the
    // program holds only its stdio (and the directory `ls` itself opens).
    let escape = Escape::new();
    let outcome = escape.run(
        &["net.outbound:example.com"],
        "ls /proc/self/fd | tr '\\n' ' '",
    );
    assert_eq!(outcome.stdout(), "0 1 2 3 ", "{}", outcome.stderr());
    assert_eq!(outcome.record("run.launch")["data"]["network"], "proxied");
    outcome.finished();
}

#[test]
fn fork_bomb_is_held_without_cgroups_for_an_unprivileged_user() {
    // `nobody` has no writable cgroup: the run's process limit falls back to RLIMIT_NPROC,
    // which the kernel counts inside the run's own user namespace.
    let user = Unprivileged::new();
    let run = user.run(&[
        "sandbox",
        "run",
        "--scope",
        "shell.exec:sleep",
        "--",
        "sh",
        "-c",
        "i=0; while [ $i -lt 400 ]; do sleep 3 & i=$((i+1)); done; echo SPAWNED_ALL; wait",
    ]);
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("Cannot fork"), "{stderr}");
    assert!(!stdout.contains("SPAWNED_ALL"), "{stdout}");
    let records = user.records();
    let finished = records
        .iter()
        .find(|r| r["kind"] == "run.finished")
        .unwrap();
    let enforcement = &finished["data"]["enforcement"];
    assert!(enforcement["cgroup"].is_null(), "{enforcement}");
    // The default config's `pids` limit.
    assert_eq!(enforcement["rlimits"]["processes"], 128, "{enforcement}");
    assert_eq!(finished["data"]["timed_out"], false);
}

#[test]
fn egress_to_unlisted_host_is_blocked() {
    let world = World::create(1);
    let escape = Escape::new();
    // The origin is up and reachable from the host, but the scope names another port.
    let scope = format!("net.outbound:{}:9999", world.address);
    let outcome = escape.run(&["files.write", &scope], &curl_status(&world.url()));
    let stdout = outcome.stdout();
    assert!(stdout.starts_with("403"), "{stdout} {}", outcome.stderr());
    assert!(!stdout.contains("origin-says-hi"), "{stdout}");
    let egress = outcome.egress();
    assert_eq!(egress.len(), 1, "{egress:#?}");
    assert_eq!(egress[0]["decision"], "deny");
    assert_eq!(egress[0]["data"]["host"], world.address.as_str());
    assert_eq!(egress[0]["data"]["port"], 8080);
    assert_eq!(egress[0]["data"]["bytes_down"], 0);
    outcome.finished();
}

#[test]
fn egress_around_the_proxy_is_blocked() {
    let world = World::create(2);
    let escape = Escape::new();
    let scope = format!("net.outbound:{}:8080", world.address);
    let code = format!(
        "import socket\ns=socket.socket()\ns.settimeout(2)\ns.connect((\"{}\",8080))\nprint(\"CONNECTED\")",
        world.address
    );
    let script = format!(
        "curl -s --max-time 5 --noproxy \"*\" {} && echo BYPASSED; {}",
        world.url(),
        python(&code)
    );
    let outcome = escape.run(&[&scope], &script);
    let stdout = outcome.stdout();
    assert!(!stdout.contains("BYPASSED"), "{stdout}");
    assert!(!stdout.contains("CONNECTED"), "{stdout}");
    assert!(!stdout.contains("origin-says-hi"), "{stdout}");
    assert!(
        outcome.stderr().contains("unreachable"),
        "{}",
        outcome.stderr()
    );
    // Only the proxy is a way out, and it saw nothing.
    assert_eq!(
        outcome.record("run.launch")["data"]["egress_proxy"],
        "127.0.0.1:3128"
    );
    assert!(outcome.egress().is_empty(), "{:#?}", outcome.egress());
    outcome.finished();
}

#[test]
fn metadata_ip_through_the_proxy_is_blocked() {
    let escape = Escape::new();
    let outcome = escape.run(
        &["files.write", "net.outbound:192.0.3.2:8080"],
        &curl_status("http://169.254.169.254/latest/meta-data/"),
    );
    let stdout = outcome.stdout();
    assert!(stdout.starts_with("403"), "{stdout} {}", outcome.stderr());
    let egress = outcome.egress();
    assert_eq!(egress.len(), 1, "{egress:#?}");
    assert_eq!(egress[0]["decision"], "deny");
    assert_eq!(egress[0]["data"]["host"], "169.254.169.254");
    assert!(egress[0]["data"]["resolved"].is_null());
    outcome.finished();
}

#[test]
fn proxy_env_is_set_only_with_net_scopes() {
    let escape = Escape::new();
    let with = escape.run(&["net.outbound:192.0.3.2:8080"], "env");
    assert_eq!(with.code(), Some(0), "{}", with.stderr());
    for name in ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"] {
        assert!(
            with.stdout()
                .lines()
                .any(|line| line == format!("{name}=http://127.0.0.1:3128")),
            "{name} missing: {}",
            with.stdout()
        );
    }
    assert_eq!(
        with.record("run.launch")["data"]["egress_proxy"],
        "127.0.0.1:3128"
    );
    with.finished();
    let without = escape.run(&[], "env; cat /proc/net/dev | tail -n +3 | cut -d: -f1");
    assert_eq!(without.code(), Some(0), "{}", without.stderr());
    assert!(
        !without.stdout().to_lowercase().contains("_proxy"),
        "{}",
        without.stdout()
    );
    assert!(without.record("run.launch")["data"]["egress_proxy"].is_null());
    assert!(without.egress().is_empty());
    without.finished();
}

#[test]
fn dns_rebinding_to_a_private_address_is_blocked() {
    let escape = Escape::new();
    // The scope names a harmless-looking host; its name resolves to a private and a metadata
    // address. The proxy resolves it itself, checks every address and refuses.
    let outcome = run_with_hosts(
        &escape,
        "10.0.0.7 rebind.example.org\n169.254.169.254 rebind.example.org\n",
        &["net.outbound:rebind.example.org:80"],
        &curl_status("http://rebind.example.org/latest/meta-data/"),
    );
    let stdout = outcome.stdout();
    assert!(stdout.starts_with("403"), "{stdout} {}", outcome.stderr());
    let egress = outcome.egress();
    assert_eq!(egress.len(), 1, "{egress:#?}");
    assert_eq!(egress[0]["decision"], "deny");
    assert_eq!(egress[0]["data"]["host"], "rebind.example.org");
    let reason = egress[0]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("10.0.0.7") || reason.contains("169.254.169.254"),
        "{reason}"
    );
    outcome.finished();
}
