//! Golden tests of the CLI surface: help, init, scope explain, errors and exit codes.

use super::common::TestEnv;
use std::os::unix::fs::PermissionsExt as _;

#[test]
fn help_lists_every_word() {
    let env = TestEnv::new();
    aegisclaw_snapshot!(env, &["--help"], @"
    exit: 0
    --- stdout
    AegisClaw: a secure-by-default runtime for AI agents.

    Agents ask AegisClaw to run skills: signed commands with declared scopes. AegisClaw checks the
    signature, decides each scope by policy, runs the skill in a sandbox that grants exactly those
    scopes, and records every step in a tamper-evident audit log.

    Usage: aegisclaw [OPTIONS] <COMMAND>

    Commands:
      init         Create a home: config, policy, keys and an audit log
      quickstart   Create a home if needed and run a sample skill through the whole envelope
      doctor       Check that the home, policy, keys, audit log and sandbox are healthy
      scope        Explain what scopes grant and how risky they are
      skill        Keys, signing, verification and installed skills
      sandbox      Run commands and skills in the sandbox
      logs         Show the audit log, or verify its hash chain and checkpoints
      secrets      Manage secrets in the encrypted store
      policy       Show, change, test and evaluate the Rego policy
      approvals    List and answer pending approval requests
      lockdown     Emergency stop: refuse every run until lifted
      serve        Serve the REST/WebSocket API and dashboard
      posture      Score the security posture from what is enforced
      simulate     Predict what a skill would do, without running it
      xray         Inspect a run: resources, processes, connections
      mcp-server   Serve AegisClaw as an MCP server on stdio
      notify       Send notifications
      completions  Print a shell completion script
      help         Print this message or the help of the given subcommand(s)

    Options:
          --home <DIR>
              Use this home instead of $AEGISCLAW_HOME or ~/.aegisclaw
              
              [env: AEGISCLAW_HOME]

          --json
              Print machine-readable JSON instead of text

      -q, --quiet
              Print only errors (and the data a command exists to print)

      -h, --help
              Print help (see a summary with '-h')

      -V, --version
              Print version

    Exit codes: 0 success · 1 refused or a check failed · 2 usage or input error.
    Home: $AEGISCLAW_HOME, default ~/.aegisclaw. Run `aegisclaw help <word>` for details.
    --- stderr
    ");
}

#[test]
fn help_of_a_word_teaches_its_subcommands() {
    let env = TestEnv::new();
    aegisclaw_snapshot!(env, &["help", "skill"], @"
    exit: 0
    --- stdout
    Keys, signing, verification and installed skills

    Usage: aegisclaw skill [OPTIONS] <COMMAND>

    Commands:
      list     List installed skills and whether each still verifies
      show     Show one installed skill's manifest and verification status
      keygen   Create this home's ed25519 signing key and trust it
      sign     Fill a skill directory's file digests, publisher and signature
      verify   Check a skill directory's signature, publisher trust and every file digest
      install  Verify a skill directory and copy it into the home's skills/
      trust    Manage trusted publisher keys in trust/
      publish  Publish a skill to a registry
      search   Search a registry for skills
      rate     Rate a skill in a registry
      help     Print this message or the help of the given subcommand(s)

    Options:
          --home <DIR>  Use this home instead of $AEGISCLAW_HOME or ~/.aegisclaw [env: AEGISCLAW_HOME]
          --json        Print machine-readable JSON instead of text
      -q, --quiet       Print only errors (and the data a command exists to print)
      -h, --help        Print help
      -V, --version     Print version
    --- stderr
    ");
}

#[test]
fn sandbox_run_help_says_how_run_output_reaches_a_terminal() {
    let env = TestEnv::new();
    aegisclaw_snapshot!(env, &["sandbox", "run", "--help"], @"
    exit: 0
    --- stdout
    Run an ad-hoc command under the given scopes (an unsigned skill)

    Usage: aegisclaw sandbox run [OPTIONS] -- <COMMAND>...

    Arguments:
      <COMMAND>...
              The command and its arguments

    Options:
          --home <DIR>
              Use this home instead of $AEGISCLAW_HOME or ~/.aegisclaw
              
              [env: AEGISCLAW_HOME]

          --scope <SCOPE>
              A scope to grant (repeatable)

          --json
              Print machine-readable JSON instead of text

          --workdir <DIR>
              Working directory of the run

          --allow-terminal-control
              Pass the run's terminal control sequences to the terminal unchanged
              
              By default, when stdout or stderr is a terminal, every control character in the run's
              output other than newline, tab and carriage return is shown as a visible escape (`^[` for
              ESC; U+FFFD for C1 controls and bytes that are not UTF-8), so a run cannot move the
              cursor, clear the screen, write the clipboard (OSC 52) or rewrite AegisClaw's own lines.
              Output that is not a terminal (a pipe, a file, `--json`) is never changed.

      -q, --quiet
              Print only errors (and the data a command exists to print)

      -h, --help
              Print help (see a summary with '-h')

      -V, --version
              Print version
    --- stderr
    ");
}

#[test]
fn init_defaults_creates_a_private_home() {
    let env = TestEnv::new();
    aegisclaw_snapshot!(env, &["init", "--defaults"], @"
    exit: 0
    --- stdout
    Created the AegisClaw home at [TEMP]/home
      runtime native, policy template standard
      wrote config.yaml
      wrote policies/default.rego
      wrote keys/signing.key
      wrote keys/signing.pub
      wrote keys/audit.key
      wrote keys/audit.pub
      wrote trust/[KEYID].pub
      wrote secrets/identity
      wrote secrets/store.age
      signing key [KEYID] (trusted), audit checkpoint key [KEYID]
      secret store: age
    Next: add your first secret with `aegisclaw secrets set OPENAI_API_KEY` (the value is read from stdin or a hidden prompt).
    --- stderr
    ");
    let mut stack = vec![env.home()];
    while let Some(dir) = stack.pop() {
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", dir.display());
        for entry in std::fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                let mode = entry.metadata().unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{}", entry.path().display());
            }
        }
    }
    assert!(env.home().join("policies/default.rego").is_file());
    assert!(env.home().join("audit/checkpoints.jsonl").is_file());
}

#[test]
fn init_json_reports_what_it_wrote_and_the_environment() {
    let env = TestEnv::new();
    let output = env
        .cmd(&[
            "init",
            "--defaults",
            "--json",
            "--policy",
            "strict",
            "--secrets",
            "none",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["policy"], "strict");
    assert_eq!(report["runtime"], "native");
    assert_eq!(report["secrets"], serde_json::Value::Null);
    assert_eq!(
        report["written"],
        serde_json::json!([
            "config.yaml",
            "policies/default.rego",
            "keys/signing.key",
            "keys/signing.pub",
            "keys/audit.key",
            "keys/audit.pub",
            format!("trust/{}.pub", report["signing_key_id"].as_str().unwrap()),
        ])
    );
    let probes = &report["environment"]["probes"];
    assert_eq!(probes["user_namespaces"]["available"], true);
    assert!(report["environment"]["runtimes"]["docker"].is_object());
}

#[test]
fn init_refuses_to_overwrite_a_home() {
    let env = TestEnv::initialised();
    aegisclaw_snapshot!(env, &["init", "--defaults"], @"
    exit: 1
    --- stdout
    --- stderr
    error: an AegisClaw home already exists at `[TEMP]/home`; pass `--force` to rewrite its config and policy (keys, secrets and the audit log are kept)
    ");
}

#[test]
fn init_force_keeps_keys_and_audit_log() {
    let env = TestEnv::initialised();
    let key_before = std::fs::read(env.home().join("keys/signing.key")).unwrap();
    aegisclaw_snapshot!(env, &["init", "--defaults", "--force", "--policy", "permissive"], @"
    exit: 0
    --- stdout
    Rewrote the AegisClaw home at [TEMP]/home
      runtime native, policy template permissive
      wrote config.yaml
      wrote policies/default.rego
      kept  keys/signing.key
      kept  keys/audit.key
      kept  secrets/identity
      kept  audit/audit.jsonl
      signing key [KEYID] (trusted), audit checkpoint key [KEYID]
      secret store: age
    Next: add your first secret with `aegisclaw secrets set OPENAI_API_KEY` (the value is read from stdin or a hidden prompt).
    --- stderr
    ");
    assert_eq!(
        std::fs::read(env.home().join("keys/signing.key")).unwrap(),
        key_before
    );
    env.cmd(&["logs", "verify"]).assert().success();
}

#[test]
fn init_rejects_an_unknown_template() {
    let env = TestEnv::new();
    aegisclaw_snapshot!(env, &["init", "--defaults", "--policy", "lax"], @"
    exit: 2
    --- stdout
    --- stderr
    error: unknown policy template `lax`: use `strict`, `standard` or `permissive`
    ");
}

#[test]
fn init_without_defaults_points_at_the_flag() {
    let env = TestEnv::new();
    aegisclaw_snapshot!(env, &["init"], @"
    exit: 2
    --- stdout
    --- stderr
    error: init needs a terminal for its questions: pass `--defaults` (with `--runtime`, `--policy`, `--secrets`) to initialise without them
    ");
    assert!(!env.home().exists());
}

#[test]
fn scope_explain_rates_sensitive_paths_critical() {
    let env = TestEnv::new();
    std::fs::create_dir(env.dir.path().join("user/.ssh")).unwrap();
    aegisclaw_snapshot!(env, &["scope", "explain", "files.read:~/.ssh", "net.outbound:api.github.com:443", "shell.exec"], @"
    exit: 0
    --- stdout
    files.read:[TEMP]/user/.ssh
      asked   files.read:~/.ssh
      kind    files.read
      target  [TEMP]/user/.ssh
      grants  read-only bind mount of `[TEMP]/user/.ssh` (no `connect()` to a socket in it)
      limit   read-only: no write, and no `connect()` to a unix socket under it
      limit   bound as the object decided on: a path swapped for another before the run starts fails the run
      risk    critical
      why     sensitive path `~/.ssh` (`[TEMP]/user/.ssh`): ssh private keys; a write adds `authorized_keys` and runs `rc` at every login
      why     files.read is low risk by default; the skill can read everything mounted there (and send it wherever its other scopes reach), but cannot change it or connect to a unix socket under it

    net.outbound:api.github.com:443
      kind    net.outbound
      target  api.github.com:443
      grants  may connect to `api.github.com` on port 443, only through the egress proxy
      limit   only through the egress proxy, which decides on the name before resolving it
      limit   every address the name resolves to must be public: no loopback, private, link-local, metadata or reserved address, no IPv6 form of one, and no address of this host
      limit   tunnelled (CONNECT) or plain requests; a tunnel's content is opaque
      risk    medium
      why     net.outbound is medium risk by default; data can leave through the egress proxy

    shell.exec
      kind    shell.exec
      target  any command
      grants  may execute any program (without `shell.exec` a run executes only its entrypoint and the interpreter the entrypoint names)
      limit   only programs the sandbox shows (`/usr` and the scope binds)
      risk    high
      why     shell.exec without a command is high risk; the skill may execute any program it can reach in the sandbox
    --- stderr
    ");
}

#[test]
fn scope_explain_json() {
    let env = TestEnv::new();
    std::fs::create_dir(env.dir.path().join("out")).unwrap();
    let out = format!("files.write:{}/out", env.dir.path().display());
    aegisclaw_snapshot!(env, &["scope", "explain", "--json", &out, "net.outbound:169.254.169.254"], @r#"
    exit: 0
    --- stdout
    [{"scope":"files.write:[TEMP]/out","input":"files.write:[TEMP]/out","kind":"files.write","target":"[TEMP]/out","meaning":"read-write bind mount of `[TEMP]/out` (no `connect()` to a socket in it)","limits":["no `connect()` to a unix socket under it","nothing the run writes keeps a set-user-ID or set-group-ID bit","mounted `noexec` unless something the run may execute lies in it","bound as the object decided on: a path swapped for another before the run starts fails the run"],"risk":"medium","reasons":["files.write is medium risk by default; the skill can read, change or delete what is mounted, but cannot connect to a unix socket under it"]},{"scope":"net.outbound:169.254.169.254","input":"net.outbound:169.254.169.254","kind":"net.outbound","target":"169.254.169.254","meaning":"may connect to `169.254.169.254` on ports 80 and 443, only through the egress proxy","limits":["only through the egress proxy, which decides on the name before resolving it","every address the name resolves to must be public: no loopback, private, link-local, metadata or reserved address, no IPv6 form of one, and no address of this host","port 80 only as plain `http://` requests, one per connection with the `Host` header replaced (no CONNECT tunnel); port 443 tunnelled, its content opaque"],"risk":"critical","reasons":["`169.254.169.254` is not a public address: cloud metadata service (AWS, GCP, Azure, OpenStack) hands out credentials","net.outbound is medium risk by default; data can leave through the egress proxy"]}]
    --- stderr
    "#);
}

#[test]
fn scope_explain_says_what_exec_sockets_and_internal_networks_grant() {
    let env = TestEnv::new();
    // A Docker socket wherever it lives, and a `.ssh` in a directory that is no home.
    let socket = env.dir.path().join("docker.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
    std::fs::create_dir_all(env.dir.path().join("backup/.ssh")).unwrap();
    let connect = format!("unix.connect:{}", socket.display());
    let ssh = format!("files.read:{}/backup/.ssh", env.dir.path().display());
    aegisclaw_snapshot!(env, &["scope", "explain", "shell.exec:git", "net.internal:redis", &connect, &ssh, "net.outbound:*.example.com"], @"
    exit: 0
    --- stdout
    shell.exec:git
      kind    shell.exec
      target  git
      grants  may execute `git`, resolved to its host path when the run is planned, besides the skill's entrypoint and the interpreter the entrypoint names
      limit   only that file and the interpreters it names (`#!`, ELF loader); a command that cannot be resolved refuses the run
      risk    medium
      why     shell.exec with a command is medium risk; besides its entrypoint, the skill may execute that one program, with any arguments

    net.internal:redis
      kind    net.internal
      target  redis
      grants  may reach service `redis` on the skill's private network (refused until compose skills exist)
      limit   refused by every run until compose skills exist
      risk    low
      why     net.internal is low risk; it would reach only the skill's own compose services, and runs refuse it until compose skills exist

    unix.connect:[TEMP]/docker.sock
      kind    unix.connect
      target  [TEMP]/docker.sock
      grants  may connect to the unix socket `[TEMP]/docker.sock`, and to no other host socket
      limit   that socket file only, bound read-only at its path; no other host socket
      limit   refused beside a bound directory where Landlock is older than ABI 9
      risk    critical
      why     sensitive socket `docker.sock` (`docker.sock` anywhere): a Docker engine socket gives root on its host
      why     unix.connect is high risk; the service behind the socket acts on the skill's requests with its own privileges

    files.read:[TEMP]/backup/.ssh
      kind    files.read
      target  [TEMP]/backup/.ssh
      grants  read-only bind mount of `[TEMP]/backup/.ssh` (no `connect()` to a socket in it)
      limit   read-only: no write, and no `connect()` to a unix socket under it
      limit   bound as the object decided on: a path swapped for another before the run starts fails the run
      risk    critical
      why     sensitive path `[TEMP]/backup/.ssh` (`.ssh` anywhere): ssh private keys; a write adds `authorized_keys` and runs `rc` at every login
      why     files.read is low risk by default; the skill can read everything mounted there (and send it wherever its other scopes reach), but cannot change it or connect to a unix socket under it

    net.outbound:*.example.com
      kind    net.outbound
      target  *.example.com
      grants  may connect to any subdomain of `example.com` on ports 80 and 443, only through the egress proxy
      limit   only through the egress proxy, which decides on the name before resolving it
      limit   every address the name resolves to must be public: no loopback, private, link-local, metadata or reserved address, no IPv6 form of one, and no address of this host
      limit   port 80 only as plain `http://` requests, one per connection with the `Host` header replaced (no CONNECT tunnel); port 443 tunnelled, its content opaque
      limit   not `example.com` itself
      risk    high
      why     `*.domain` reaches any subdomain, including ones created after review
      why     net.outbound is medium risk by default; data can leave through the egress proxy
    --- stderr
    ");
}

#[test]
fn scope_explain_of_a_symlink_to_the_home_rates_it_as_a_run_does() {
    let env = TestEnv::new();
    std::os::unix::fs::symlink(env.dir.path().join("user"), env.dir.path().join("link")).unwrap();
    let scope = format!("files.read:{}/link", env.dir.path().display());
    let output = env.cmd(&["scope", "explain", &scope]).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{output:?}");
    assert!(stdout.contains("  risk    critical\n"), "{stdout}");
    assert!(stdout.contains(&format!("  asked   {scope}\n")), "{stdout}");
}

#[test]
fn scope_explain_rejects_bad_scopes_with_exit_2() {
    let env = TestEnv::new();
    aegisclaw_snapshot!(env, &["scope", "explain", "files.read:../etc"], @"
    exit: 2
    --- stdout
    --- stderr
    error: relative path in scope `files.read:../etc`: use an absolute path, `~/...`, or nothing for the working directory
    ");
    aegisclaw_snapshot!(env, &["scope", "explain", "disk.format:/dev/sda"], @"
    exit: 2
    --- stdout
    --- stderr
    error: unknown scope kind in `disk.format:/dev/sda`: use one of `files.read`, `files.write`, `shell.exec`, `net.outbound`, `net.internal`, `secrets.read`, `unix.connect`
    ");
    aegisclaw_snapshot!(env, &["scope", "explain", "net.outbound:*"], @"
    exit: 2
    --- stdout
    --- stderr
    error: bare `*` in scope `net.outbound:*` would allow every host: list hosts, or use `*.domain`
    ");
    aegisclaw_snapshot!(env, &["scope", "explain", "net.outbound:"], @"
    exit: 2
    --- stdout
    --- stderr
    error: empty host in scope `net.outbound:`
    ");
    aegisclaw_snapshot!(env, &["scope", "explain", "files.read:relative/path"], @"
    exit: 2
    --- stdout
    --- stderr
    error: relative path in scope `files.read:relative/path`: use an absolute path, `~/...`, or nothing for the working directory
    ");
}

#[test]
fn words_not_built_yet_say_so_and_exit_2() {
    let env = TestEnv::initialised();
    aegisclaw_snapshot!(env, &["serve"], @"
    exit: 2
    --- stdout
    --- stderr
    not available yet: `aegisclaw serve` arrives with the server and dashboard
    ");
    aegisclaw_snapshot!(env, &["simulate", "word-count"], @"
    exit: 2
    --- stdout
    --- stderr
    not available yet: `aegisclaw simulate` arrives with the skill registry, simulate and behaviour profiles
    ");
    aegisclaw_snapshot!(env, &["approvals", "list", "--json"], @r#"
    exit: 2
    --- stdout
    {"arrives_with":"the approvals broker, secret backends and notifications","command":"approvals","error":"not available yet","exit_code":2}
    --- stderr
    "#);
}

#[test]
fn init_writes_every_config_key_with_its_default() {
    let env = TestEnv::initialised();
    let config = std::fs::read_to_string(env.home().join("config.yaml")).unwrap();
    insta::assert_snapshot!(config, @"
    # AegisClaw configuration. Unknown keys are errors; see docs/ARCHITECTURE.md.
    version: 1
    sandbox:
      runtime: native
      limits:
        memory_mb: 512
        pids: 128
        cpus: 1.0
        timeout_s: 300
        file_size_mb: 1024
      network_namespace: reuse
    policy:
      template: standard
      rego_version: v1
    secrets:
      backend: age
    audit:
      checkpoint_every: 1000
      max_run_records: 1000
    ");
}

#[test]
fn commands_without_a_home_explain_how_to_make_one() {
    let env = TestEnv::new();
    aegisclaw_snapshot!(env, &["skill", "list"], @"
    exit: 2
    --- stdout
    --- stderr
    error: cannot open the AegisClaw home `[TEMP]/home`: create one with `aegisclaw init --defaults`
      caused by: no AegisClaw home at `[TEMP]/home`
    ");
}

#[test]
fn a_config_with_an_unknown_key_names_the_key_and_line() {
    let env = TestEnv::initialised();
    let path = env.home().join("config.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("  runtime: native", "  runtime: native\n  runtim: docker"),
    )
    .unwrap();
    aegisclaw_snapshot!(env, &["skill", "list"], @"
    exit: 2
    --- stdout
    --- stderr
    error: invalid config `[TEMP]/home/config.yaml`: line 5 column 3: unknown field `runtim`, expected one of runtime, limits, network_namespace, ca_bundle
     --> [TEMP]/home/config.yaml:5:3
      |
    3 | sandbox:
    4 |   runtime: native
    5 |   runtim: docker
      |   ^ unknown field `runtim`, expected one of runtime, limits, network_namespace, ca_bundle
    6 |   limits:
    7 |     memory_mb: 512
      |
    ");
}

#[test]
fn an_empty_config_is_refused_not_run_on_defaults() {
    let env = TestEnv::initialised();
    let path = env.home().join("config.yaml");
    for text in [
        "",
        "  \n\n",
        "# only a comment\n  # and another\n",
        "---\n# nothing\n",
    ] {
        std::fs::write(&path, text).unwrap();
        let output = env.cmd(&["sandbox", "run", "--", "true"]).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{text:?}: {output:?}");
    }
    aegisclaw_snapshot!(env, &["skill", "list"], @"
    exit: 2
    --- stdout
    --- stderr
    error: config `[TEMP]/home/config.yaml` is empty: it sets nothing, and AegisClaw does not fall back to defaults; restore it, or rewrite it with `aegisclaw init --defaults --force`
    ");
    // The fix the message names works on such a home.
    env.cmd(&["init", "--defaults", "--force"])
        .assert()
        .success();
    env.cmd(&["skill", "list"]).assert().success();
}

#[test]
fn an_error_quoting_a_bidi_override_shows_it_escaped() {
    let env = TestEnv::initialised();
    let path = env.home().join("config.yaml");
    std::fs::write(&path, "sandbox:\n  run\u{202e}emit: native\n").unwrap();
    let output = env.cmd(&["skill", "list"]).output().unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(!stderr.contains('\u{202e}'), "{stderr}");
    assert!(
        stderr.contains(r"unknown field `run\u{202e}emit`"),
        "{stderr}"
    );
}

#[test]
fn usage_errors_exit_2() {
    let env = TestEnv::new();
    let output = env.cmd(&["skill", "sign"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let output = env.cmd(&["frobnicate"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn a_null_config_value_is_an_error_naming_file_field_and_line_also_in_doctor() {
    let env = TestEnv::initialised();
    let path = env.home().join("config.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let line = text
        .lines()
        .position(|line| line.trim_start().starts_with("timeout_s:"))
        .unwrap()
        + 1;
    let nulled: String = text
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("timeout_s:") {
                format!("{}timeout_s: ~\n", &l[..l.len() - l.trim_start().len()])
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(&path, nulled).unwrap();
    let expected = [
        path.display().to_string(),
        "field `sandbox.limits.timeout_s` is null or empty".to_string(),
        format!("line {line}"),
    ];
    let output = env.cmd(&["sandbox", "run", "--", "true"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    for part in &expected {
        assert!(stderr.contains(part.as_str()), "{part}: {stderr}");
    }
    let doctor = env.cmd(&["doctor"]).output().unwrap();
    let report = String::from_utf8_lossy(&doctor.stdout);
    assert_eq!(doctor.status.code(), Some(1), "{report}");
    let check = report
        .lines()
        .find(|l| l.contains("Configuration"))
        .unwrap_or_default();
    assert!(check.contains("FAIL") || check.contains("fail"), "{report}");
    for part in &expected[1..] {
        assert!(report.contains(part.as_str()), "{part}: {report}");
    }
}

/// Runs `args` and fails the test if it has not ended within 20 s (a FIFO read would hang).
fn output_within_seconds(env: &TestEnv, args: &[&str]) -> std::process::Output {
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("aegisclaw"));
    command.args(args);
    let child = env
        .with_env(command)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || sender.send(child.wait_with_output().unwrap()));
    match receiver.recv_timeout(std::time::Duration::from_secs(20)) {
        Ok(output) => output,
        Err(_) => {
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status();
            panic!("`aegisclaw {}` hung on a state file", args.join(" "));
        }
    }
}

#[test]
fn a_fifo_or_an_oversize_state_file_is_refused_by_name_never_read() {
    // (file, its size limit, exit code, what the file is called)
    let cases = [
        ("state/lockdown.json", 64 * 1024, 1, "the lockdown state"),
        (
            "approvals/grants.json",
            16 * 1024 * 1024,
            3,
            "the approval grants",
        ),
        ("config.yaml", 1024 * 1024, 2, "a config file"),
    ];
    for (file, limit, code, called) in cases {
        for fifo in [true, false] {
            let env = TestEnv::initialised();
            let path = env.home().join(file);
            let _ = std::fs::remove_file(&path);
            if fifo {
                let made = std::process::Command::new("mkfifo").arg(&path).status();
                assert!(made.unwrap().success());
            } else {
                std::fs::File::create(&path)
                    .unwrap()
                    .set_len(limit + 1)
                    .unwrap();
            }
            let output = output_within_seconds(&env, &["sandbox", "run", "--", "true"]);
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert_eq!(output.status.code(), Some(code), "{file}: {stderr}");
            let problem = if fifo {
                format!("it is a FIFO, and {called} must be a regular file")
            } else {
                format!(
                    "it is {} bytes or more, and {called} may hold at most {limit}",
                    limit + 1
                )
            };
            assert!(
                stderr.contains(&format!("refusing to read `{}`", path.display())),
                "{file}: {stderr}"
            );
            assert!(stderr.contains(&problem), "{file}: {stderr}");
        }
    }
}

#[test]
fn a_fifo_in_place_of_the_audit_log_is_refused_by_name_never_waited_on() {
    let env = TestEnv::initialised();
    let path = env.home().join("audit/audit.jsonl");
    std::fs::remove_file(&path).unwrap();
    let made = std::process::Command::new("mkfifo").arg(&path).status();
    assert!(made.unwrap().success());
    for args in [
        &["sandbox", "run", "--", "true"][..],
        &["logs"][..],
        &["logs", "verify"][..],
    ] {
        let output = output_within_seconds(&env, args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_ne!(output.status.code(), Some(0), "{args:?}: {stderr}");
        assert!(
            stderr.contains(&path.display().to_string()) && stderr.contains("not a regular file"),
            "{args:?}: {stderr}"
        );
    }
}
