//! Escapes from the native sandbox's file, process, syscall and resource walls, and the envelope
//! steps before it (secrets, lockdown, signatures, policy).

use super::*;

#[test]
fn write_outside_files_write_is_denied() {
    let escape = Escape::new();
    // The parent of the work directory exists inside only as the sandbox's private skeleton, so
    // the write lands nowhere on the host.
    let outcome = escape.run(
        &["files.write"],
        "echo pwned > ../outside.txt; echo pwned > /outside.txt",
    );
    assert!(!escape.work.with_file_name("outside.txt").exists());
    assert!(!std::path::Path::new("/outside.txt").exists());
    outcome.finished();
}

#[test]
fn write_through_a_read_only_scope_is_denied() {
    let escape = Escape::new();
    let outcome = escape.run(&["files.read"], "echo pwned > inside.txt");
    assert_ne!(outcome.code(), Some(0));
    assert!(
        outcome.stderr().contains("Read-only file system"),
        "{}",
        outcome.stderr()
    );
    assert!(!escape.work.join("inside.txt").exists());
    outcome.finished();
}

#[test]
fn files_write_scope_writes_only_where_granted() {
    let escape = Escape::new();
    let outcome = escape.run(&["files.write"], "echo ok > granted.txt");
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    assert_eq!(
        std::fs::read_to_string(escape.work.join("granted.txt")).unwrap(),
        "ok\n"
    );
    outcome.finished();
}

#[test]
fn a_run_without_file_scopes_sees_and_leaves_nothing_of_the_host() {
    let escape = Escape::new();
    let host_tmp = std::env::temp_dir();
    let listing = |dir: &std::path::Path| -> Vec<std::ffi::OsString> {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    std::fs::write(escape.work.join("host.txt"), "host").unwrap();
    // Its working directory is the sandbox's own /tmp: the host's work directory is not there,
    // and what it writes goes nowhere on the host.
    let outcome = escape.run(
        &[],
        "pwd; ls -A; cat host.txt; echo pwned > left.txt; ls -A",
    );
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    assert_eq!(outcome.stdout(), "/tmp\nleft.txt\n", "{}", outcome.stderr());
    assert!(
        outcome.stderr().contains("host.txt"),
        "{}",
        outcome.stderr()
    );
    assert_eq!(
        listing(&escape.work),
        vec![std::ffi::OsString::from("host.txt")]
    );
    let finished = outcome.finished();
    assert_eq!(
        outcome.record("run.launch")["data"]["mounts"],
        serde_json::json!([])
    );
    assert_eq!(finished["decision"], "ok");
    let run = outcome.record("run.launch")["run"].as_str().unwrap();
    assert!(
        !listing(&host_tmp)
            .iter()
            .any(|name| name.to_string_lossy().contains(run)),
        "the run left a directory in {}",
        host_tmp.display()
    );
}

#[test]
fn home_ssh_is_unreadable() {
    let escape = Escape::new();
    let ssh = escape.env.home().with_file_name("user").join(".ssh");
    std::fs::create_dir_all(&ssh).unwrap();
    std::fs::write(ssh.join("id_ed25519"), "PRIVATE KEY MATERIAL").unwrap();
    let script = format!("cat {}/id_ed25519; ls {}", ssh.display(), ssh.display());
    let outcome = escape.run(&["files.read"], &script);
    assert_ne!(outcome.code(), Some(0));
    assert!(!outcome.stdout().contains("PRIVATE"));
    outcome.finished();
}

#[test]
fn ssh_scope_is_refused_before_anything_runs() {
    let escape = Escape::new();
    // It exists: a missing path is refused earlier, when the scope is opened.
    std::fs::create_dir_all(escape.env.home().with_file_name("user").join(".ssh")).unwrap();
    let outcome = escape.run(&["files.read:~/.ssh"], "true");
    assert_eq!(outcome.code(), Some(1));
    let refused = outcome.record("run.refused");
    assert_eq!(refused["data"]["stage"], "approval");
    assert!(!outcome.has("run.launch"));
    let decision = outcome.record("policy.decision");
    assert_eq!(decision["decision"], "needs_approval");
    assert_eq!(decision["data"]["risk"], "critical");
}

#[test]
fn aegisclaw_home_is_unreadable() {
    let escape = Escape::new();
    let key = escape.env.home().join("keys/signing.key");
    let outcome = escape.run(&["files.read"], &format!("cat {}", key.display()));
    assert_ne!(outcome.code(), Some(0));
    assert!(!outcome.stdout().contains("ed25519-secret"));
    outcome.finished();
}

#[test]
fn dev_tcp_to_host_loopback_is_blocked() {
    let escape = Escape::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let outcome = escape.run(
        &[],
        &format!("bash -c 'echo hello > /dev/tcp/127.0.0.1/{port}' && echo CONNECTED"),
    );
    assert!(!outcome.stdout().contains("CONNECTED"));
    assert!(
        listener.accept().is_err(),
        "the sandbox reached the host's loopback"
    );
    outcome.finished();
}

#[test]
fn socket_connect_to_host_loopback_is_blocked() {
    let escape = Escape::new();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let code = format!(
        "import socket\ns=socket.socket()\ns.settimeout(2)\ns.connect((\"127.0.0.1\",{port}))\nprint(\"CONNECTED\")"
    );
    let outcome = escape.run(&[], &python(&code));
    assert!(!outcome.stdout().contains("CONNECTED"));
    assert!(listener.accept().is_err());
    outcome.finished();
}

#[test]
fn cloud_metadata_address_is_unreachable() {
    let escape = Escape::new();
    let code = "import socket\ns=socket.socket()\ns.settimeout(2)\ns.connect((\"169.254.169.254\",80))\nprint(\"CONNECTED\")";
    let outcome = escape.run(&[], &python(code));
    assert_ne!(outcome.code(), Some(0));
    assert!(!outcome.stdout().contains("CONNECTED"));
    outcome.finished();
}

#[test]
fn metadata_scope_is_refused_by_policy() {
    let escape = Escape::new();
    let outcome = escape.run(&["net.outbound:169.254.169.254"], "true");
    assert_eq!(outcome.code(), Some(1));
    assert_eq!(
        outcome.record("policy.decision")["data"]["risk"],
        "critical"
    );
    assert!(outcome.has("run.refused"));
    assert!(!outcome.has("run.launch"));
}

#[test]
fn symlink_swap_in_writable_root_is_denied() {
    let escape = Escape::new();
    let outside = escape.work.with_file_name("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("target.txt"), "original").unwrap();
    let script = format!(
        "ln -s {} link && echo pwned > link/target.txt; cat link/target.txt",
        outside.display()
    );
    let outcome = escape.run(&["files.write"], &script);
    assert_eq!(
        std::fs::read_to_string(outside.join("target.txt")).unwrap(),
        "original"
    );
    assert!(!outcome.stdout().contains("original"));
    outcome.finished();
}

#[test]
fn symlink_to_etc_passwd_cannot_be_written() {
    let escape = Escape::new();
    let before = std::fs::read("/etc/passwd").unwrap();
    let outcome = escape.run(
        &["files.write"],
        "ln -s /etc/passwd p && echo evil::0:0::/:/bin/sh >> p",
    );
    assert_ne!(outcome.code(), Some(0));
    assert_eq!(std::fs::read("/etc/passwd").unwrap(), before);
    outcome.finished();
}

#[test]
fn ptrace_of_a_host_process_fails() {
    let escape = Escape::new();
    let mut victim = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .unwrap();
    let pid = victim.id();
    let code = format!(
        "import ctypes\nlibc=ctypes.CDLL(None,use_errno=True)\nprint(\"ptrace\",libc.ptrace(16,{pid},0,0))"
    );
    let outcome = escape.run(
        &[],
        &format!("{}; kill -0 {pid} && echo VISIBLE", python(&code)),
    );
    victim.kill().unwrap();
    victim.wait().unwrap();
    assert!(
        outcome.stdout().contains("ptrace -1"),
        "{}",
        outcome.stdout()
    );
    assert!(!outcome.stdout().contains("VISIBLE"));
    outcome.finished();
}

#[test]
fn host_processes_are_invisible() {
    let escape = Escape::new();
    let outcome = escape.run(&[], "ls /proc | grep -c '^[0-9]'");
    let count: u32 = outcome.stdout().trim().parse().unwrap();
    assert!(count <= 5, "{count} processes visible");
    outcome.finished();
}

#[test]
fn mount_is_denied() {
    let escape = Escape::new();
    let outcome = escape.run(&[], "mount -t tmpfs none /tmp && echo MOUNTED");
    assert!(!outcome.stdout().contains("MOUNTED"));
    assert_ne!(outcome.code(), Some(0));
    outcome.finished();
}

#[test]
fn nested_user_namespace_is_denied() {
    let escape = Escape::new();
    let outcome = escape.run(&[], "unshare -U true && echo NESTED");
    assert!(!outcome.stdout().contains("NESTED"));
    assert_ne!(outcome.code(), Some(0));
    outcome.finished();
}

#[test]
fn forbidden_syscall_gets_eperm() {
    let escape = Escape::new();
    // bpf(2) is syscall 321 on x86_64, 280 on aarch64.
    let number = if cfg!(target_arch = "aarch64") {
        280
    } else {
        321
    };
    let outcome = escape.run(&[], &raw_syscall(number, "0,0,0"));
    assert_eq!(outcome.stdout().trim(), "-1 1", "{}", outcome.stderr());
    outcome.finished();
}

#[test]
fn kernel_keyring_is_refused() {
    let escape = Escape::new();
    // add_key(2) is syscall 248 on x86_64, 217 on aarch64.
    let number = if cfg!(target_arch = "aarch64") {
        217
    } else {
        248
    };
    let outcome = escape.run(&[], &raw_syscall(number, "b\"user\",b\"k\",b\"v\",1,-3"));
    assert_eq!(outcome.stdout().trim(), "-1 1", "{}", outcome.stderr());
    outcome.finished();
}

#[test]
fn io_uring_is_refused() {
    let escape = Escape::new();
    let outcome = escape.run(&[], &raw_syscall(425, "8,ctypes.create_string_buffer(120)"));
    let text = outcome.stdout();
    assert!(text.starts_with("-1 "), "{text}");
    assert!(text.trim() == "-1 1" || text.trim() == "-1 38", "{text}");
    outcome.finished();
}

#[test]
fn fork_bomb_is_held_by_the_pids_limit() {
    let escape = Escape::new();
    escape.set_limit("pids", 24);
    escape.set_limit("timeout_s", 20);
    let outcome = escape.run(
        &[],
        "i=0; while [ $i -lt 200 ]; do sleep 3 & i=$((i+1)); done; echo SPAWNED_ALL; wait",
    );
    let finished = outcome.finished();
    assert!(finished["data"]["enforcement"]["cgroup"].is_string());
    assert!(
        outcome.stderr().contains("Cannot fork"),
        "{}",
        outcome.stderr()
    );
    assert!(!outcome.stdout().contains("SPAWNED_ALL"));
    assert_eq!(finished["data"]["timed_out"], false);
}

#[test]
fn memory_bomb_is_held_by_the_memory_limit() {
    let escape = Escape::new();
    escape.set_limit("memory_mb", 64);
    let outcome = escape.run(
        &[],
        &python("b=bytearray(512*1024*1024); print(\"ALLOCATED\")"),
    );
    assert!(!outcome.stdout().contains("ALLOCATED"));
    assert_ne!(outcome.code(), Some(0));
    outcome.finished();
}

#[test]
fn timeout_kills_grandchildren() {
    let escape = Escape::new();
    escape.set_limit("timeout_s", 2);
    let marker = "317.25";
    let outcome = escape.run(
        &[],
        &format!("(sleep {marker} &); sleep {marker} & sleep {marker}"),
    );
    assert_eq!(outcome.code(), Some(124));
    assert_eq!(outcome.finished()["data"]["timed_out"], true);
    std::thread::sleep(std::time::Duration::from_millis(200));
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        assert!(
            !String::from_utf8_lossy(&cmdline).contains(marker),
            "a sandboxed process survived: {}",
            entry.path().display()
        );
    }
}

#[test]
fn setuid_binary_gains_nothing() {
    let escape = Escape::new();
    let outcome = escape.run(
        &[],
        "grep -E '^(NoNewPrivs|CapEff|CapPrm|CapBnd):' /proc/self/status; grep ' /usr ' /proc/self/mountinfo",
    );
    let text = outcome.stdout();
    assert!(text.contains("NoNewPrivs:\t1"), "{text}");
    assert!(text.contains("CapEff:\t0000000000000000"), "{text}");
    assert!(text.contains("CapBnd:\t0000000000000000"), "{text}");
    assert!(text.contains("nosuid"), "{text}");
    outcome.finished();
}

#[test]
fn usr_is_read_only() {
    let escape = Escape::new();
    let outcome = escape.run(&[], "touch /usr/bin/evil && echo WRITTEN");
    assert!(!outcome.stdout().contains("WRITTEN"));
    assert!(!std::path::Path::new("/usr/bin/evil").exists());
    outcome.finished();
}

#[test]
fn only_loopback_exists_without_net_scopes() {
    let escape = Escape::new();
    let outcome = escape.run(
        &[],
        "cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '",
    );
    assert_eq!(outcome.stdout().trim(), "lo");
    outcome.finished();
}

#[test]
fn shared_network_namespace_cannot_be_changed_by_a_run() {
    // As root, a run without network joins the empty namespace kept for its cgroup slot. The
    // initial user namespace owns it, so the run cannot bring `lo` up, add an interface or
    // set a sysctl there, and the next run finds it as every run must: only `lo`, down.
    let escape = Escape::new();
    let outcome = escape.run(
        &[],
        "ip link set lo up && echo LO_UP; ip link add aegis0 type dummy && echo ADDED; \
         ip addr add 10.9.9.9/32 dev lo && echo ADDRESS; \
         echo 0 > /proc/sys/net/ipv4/conf/all/disable_policy && echo SYSCTL; true",
    );
    let text = outcome.stdout();
    for marker in ["LO_UP", "ADDED", "ADDRESS", "SYSCTL"] {
        assert!(!text.contains(marker), "{marker}: {text}");
    }
    let expected = if running_as_root() { "slot" } else { "fresh" };
    assert_eq!(
        outcome.finished()["data"]["enforcement"]["net_namespace"],
        expected
    );
    let next = escape.run(&[], "ip -o link; ip -o addr");
    let links = next.stdout();
    assert_eq!(links.lines().count(), 1, "{links}");
    assert!(links.starts_with("1: lo: <LOOPBACK> "), "{links}");
    next.finished();
}

#[test]
fn nothing_a_run_opens_is_left_for_the_next_run() {
    // Sockets die with the run's processes: a socket a run binds (here an abstract unix one,
    // where the run may make unix sockets at all, and a UDP one) is gone from the namespace
    // before the next run can look.
    let escape = Escape::new();
    let bound = escape.run(
        &[],
        &python(concat!(
            r#"import socket
try:
    u=socket.socket(socket.AF_UNIX); u.bind("\0aegis-left-behind")
except PermissionError:
    pass
"#,
            r#"d=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); d.bind(("0.0.0.0", 40999)); "#,
            r#"print(open("/proc/net/unix").read().count("aegis-left-behind"), "#,
            r#"open("/proc/net/udp").read().count(":A027"))"#,
        )),
    );
    // Below Landlock ABI 9 a run gets connected unix pairs only (`unix_sockets: pairs_only`).
    let unix = if bound.finished()["data"]["enforcement"]["unix_sockets"] == "any" {
        "1"
    } else {
        "0"
    };
    assert_eq!(
        bound.stdout().trim(),
        format!("{unix} 1"),
        "{}",
        bound.stderr()
    );
    let next = escape.run(
        &[],
        "grep -c aegis-left-behind /proc/net/unix; grep -c ':A027' /proc/net/udp; true",
    );
    assert_eq!(
        next.stdout().split_whitespace().collect::<Vec<_>>(),
        ["0", "0"]
    );
    next.finished();
}

#[test]
fn fresh_network_namespace_per_run_when_configured() {
    let escape = Escape::new();
    let path = escape.env.home().join("config.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("network_namespace: reuse"), "{text}");
    std::fs::write(
        &path,
        text.replace("network_namespace: reuse", "network_namespace: fresh"),
    )
    .unwrap();
    let outcome = escape.run(&[], "ip -o link");
    assert!(outcome.stdout().starts_with("1: lo: <LOOPBACK> "));
    assert_eq!(
        outcome.finished()["data"]["enforcement"]["net_namespace"],
        "fresh"
    );
}

#[test]
fn proc_sys_and_sys_are_not_writable() {
    let escape = Escape::new();
    let outcome = escape.run(
        &[],
        "echo 1 > /proc/sys/kernel/sysrq && echo SYSCTL; ls /sys/fs/cgroup && echo SYSFS; mknod /tmp/mem c 1 1 && echo MKNOD",
    );
    let text = outcome.stdout();
    assert!(
        !text.contains("SYSCTL") && !text.contains("SYSFS") && !text.contains("MKNOD"),
        "{text}"
    );
    outcome.finished();
}

#[test]
fn hostname_is_private() {
    let escape = Escape::new();
    let outcome = escape.run(&[], "hostname");
    assert_eq!(outcome.stdout().trim(), "aegisclaw");
    outcome.finished();
}

#[test]
fn secret_value_never_appears_in_captured_output() {
    let escape = Escape::new();
    let value = "s3cr3t-T0ken/value+42";
    with_secret(&escape, value);
    let script = r#"printf '%s\n' "$API_TOKEN"; printf '%s' "$API_TOKEN" | base64; printf 'prefix%ssuffix' "$API_TOKEN" | base64; printf '%s' "$API_TOKEN" | od -An -tx1 | tr -d ' \n'; echo; python3 -c 'import os,urllib.parse,json; t=os.environ["API_TOKEN"]; print(urllib.parse.quote(t,safe="")); print(json.dumps({"t":t})); print(t.encode().hex().upper())'; printf '%s' "$API_TOKEN" | head -c 8; sleep 0.2; printf '%s\n' "$API_TOKEN" | tail -c +9 >&2"#;
    let outcome = escape.run(&["secrets.read:API_TOKEN"], script);
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    let all = format!("{}{}", outcome.stdout(), outcome.stderr());
    let forms = [
        value.to_string(),
        "czNjcjN0LVQwa2VuL3ZhbHVlKzQy".to_string(),
        hex::encode(value),
        hex::encode_upper(value),
        "s3cr3t-T0ken%2Fvalue%2B42".to_string(),
    ];
    for form in &forms {
        assert!(!all.contains(form.as_str()), "`{form}` leaked:\n{all}");
    }
    assert!(all.contains("[REDACTED"), "{all}");
    let finished = outcome.finished();
    assert_eq!(
        outcome.record("run.launch")["data"]["secrets"],
        serde_json::json!(["API_TOKEN"])
    );
    assert!(finished["data"]["stdout_bytes"].as_u64().unwrap() > 0);
}

#[test]
fn secret_value_never_reaches_the_audit_log_or_argv() {
    let escape = Escape::new();
    let value = "another-secret-value-99";
    with_secret(&escape, value);
    let outcome = escape.run(
        &["secrets.read:API_TOKEN"],
        "cat /proc/self/cmdline; echo $API_TOKEN",
    );
    assert_eq!(outcome.code(), Some(0));
    let log = std::fs::read_to_string(escape.env.home().join("audit/audit.jsonl")).unwrap();
    assert!(!log.contains(value));
    assert!(!outcome.stdout().contains(value));
}

#[test]
fn missing_secret_refuses_the_run() {
    let escape = Escape::new();
    let outcome = escape.run(&["secrets.read:NOT_THERE"], "echo SHOULD_NOT_RUN");
    assert_ne!(outcome.code(), Some(0));
    assert!(!outcome.stdout().contains("SHOULD_NOT_RUN"));
    assert_eq!(outcome.record("run.failed")["data"]["layer"], "secrets");
}

#[test]
fn lockdown_refuses_every_run() {
    let escape = Escape::new();
    escape
        .env
        .cmd(&["lockdown", "on", "--reason", "incident"])
        .assert()
        .success();
    let outcome = escape.run(&[], "echo SHOULD_NOT_RUN");
    assert_eq!(outcome.code(), Some(1));
    assert!(!outcome.stdout().contains("SHOULD_NOT_RUN"));
    assert_eq!(outcome.record("run.refused")["data"]["stage"], "lockdown");
    escape.env.cmd(&["lockdown", "off"]).assert().success();
    assert_eq!(escape.run(&[], "true").code(), Some(0));
}

#[test]
fn tampered_installed_skill_is_refused_at_run_time() {
    let escape = Escape::new();
    let dir = escape.env.skill_copy("word-count", "word-count");
    escape
        .env
        .cmd(&["skill", "sign", dir.to_str().unwrap()])
        .assert()
        .success();
    escape
        .env
        .cmd(&["skill", "install", dir.to_str().unwrap()])
        .assert()
        .success();
    let installed = escape.env.home().join("skills/word-count/count.sh");
    let mut script = std::fs::read_to_string(&installed).unwrap();
    script.push_str("cat /etc/shadow\n");
    std::fs::write(&installed, script).unwrap();
    let outcome = escape.run_args(&["sandbox", "run-registered", "word-count"]);
    assert_eq!(outcome.code(), Some(1));
    assert_eq!(outcome.record("skill.verify")["decision"], "fail");
    assert_eq!(
        outcome.record("run.refused")["data"]["stage"],
        "verification"
    );
    assert!(!outcome.has("run.launch"));
}

#[test]
fn installed_signed_skill_runs_with_its_scopes() {
    let escape = Escape::with_policy("standard");
    let dir = escape.env.skill_copy("word-count", "word-count");
    escape
        .env
        .cmd(&["skill", "sign", dir.to_str().unwrap()])
        .assert()
        .success();
    escape
        .env
        .cmd(&["skill", "install", dir.to_str().unwrap()])
        .assert()
        .success();
    std::fs::write(escape.work.join("notes.txt"), "one two three\n").unwrap();
    let outcome = escape.run_args(&["sandbox", "run-registered", "word-count"]);
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    assert!(
        outcome.stdout().contains("notes.txt"),
        "{}",
        outcome.stdout()
    );
    assert_eq!(outcome.record("policy.decision")["decision"], "allow");
    outcome.finished();
}

#[test]
fn unsigned_critical_scope_is_denied_by_the_standard_policy() {
    let escape = Escape::with_policy("standard");
    let outcome = escape.run(&["files.read:/etc"], "cat /etc/shadow");
    assert_eq!(outcome.code(), Some(1));
    assert_eq!(outcome.record("policy.decision")["decision"], "deny");
    assert_eq!(outcome.record("run.refused")["data"]["stage"], "policy");
}

// ---- Egress: runs with `net.outbound` scopes reach the world only through the proxy. ----

#[test]
fn killing_aegisclaw_kills_the_run() {
    let escape = Escape::new();
    let marker = "271.75";
    let mut aegisclaw = std::process::Command::new(env!("CARGO_BIN_EXE_aegisclaw"))
        .args([
            "sandbox",
            "run",
            "--scope",
            "shell.exec:sleep",
            "--",
            "sh",
            "-c",
            &format!("sleep {marker} & sleep {marker}"),
        ])
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("AEGISCLAW_HOME", escape.env.home())
        .env("AEGISCLAW_ACTOR", "tester")
        .current_dir(&escape.work)
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while processes_with(marker) < 2 && started.elapsed() < std::time::Duration::from_secs(10) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(processes_with(marker) >= 2, "the run never started");
    aegisclaw.kill().unwrap();
    aegisclaw.wait().unwrap();
    let killed = std::time::Instant::now();
    while processes_with(marker) > 0 && killed.elapsed() < std::time::Duration::from_secs(5) {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(processes_with(marker), 0, "the run outlived AegisClaw");
    // The launch was recorded before the run started.
    let log = std::fs::read_to_string(escape.env.home().join("audit/audit.jsonl")).unwrap();
    assert!(log.contains("\"kind\":\"run.launch\""));
}
