//! The CA store every run is given (`sandbox.ca_bundle`): a file that is not certificates only
//! (a private key, a certificate with a key after it, nothing at all, plain text) or that lies
//! among a home's keys refuses every run before it starts, on the record, exit 2, and none of
//! its bytes reach the run, the output or the log; a real store is given read-only, as
//! certificates only, and recorded by path and sha256.

use super::etc::test_ca;
use super::*;

/// The body lines of the fake OpenSSH private key: none may appear anywhere but in its file.
const KEY_BODY: [&str; 3] = [
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
    "QyNTUxOQAAACBzZWNyZXQta2V5LWJ5dGVzLW9mLXRoZS11c2VyLWRvLW5vdC1sZWFr",
    "c2VjcmV0LWtleS1ieXRlcy1vZi10aGUtdXNlci1kby1ub3QtbGVhaw==",
];

/// An OpenSSH private key file's text.
fn openssh_key() -> String {
    format!(
        "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----\n",
        KEY_BODY.join("\n")
    )
}

/// Writes `text` at `path`, making its directory (0700, as `~/.ssh` is).
fn write(path: &std::path::Path, text: &str) {
    let dir = path.parent().unwrap();
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(path, text).unwrap();
}

/// The script of a run that tries to read the store it was given.
const READ_STORE: &str = "cat /etc/ssl/certs/ca-certificates.crt";

impl Outcome {
    /// The run was refused before it started because of its CA store: exit 2, the error naming
    /// the field, `path` and `why`, a `run.refused` record (stage `ca_store`) saying the same,
    /// and no launch.
    fn refused_for_its_ca_store(&self, path: &std::path::Path, why: &str) -> &Value {
        let stderr = self.stderr();
        assert_eq!(self.code(), Some(2), "{stderr}");
        assert!(stderr.contains("`sandbox.ca_bundle`"), "{stderr}");
        assert!(stderr.contains(&path.display().to_string()), "{stderr}");
        assert!(stderr.contains(why), "{stderr}");
        assert_eq!(self.stdout(), "");
        assert!(!self.has("run.launch"), "{:#?}", self.records);
        assert!(!self.has("run.finished"), "{:#?}", self.records);
        let refused = self.record("run.refused");
        assert_eq!(refused["decision"], "deny");
        assert_eq!(refused["data"]["stage"], "ca_store");
        let reason = refused["reason"].as_str().unwrap();
        assert!(reason.contains(&path.display().to_string()), "{reason}");
        assert!(reason.contains(why), "{reason}");
        refused
    }
}

/// None of `lines` appears in the run's output or anywhere in the audit log.
fn nowhere(escape: &Escape, outcome: &Outcome, lines: &[&str]) {
    let log = std::fs::read_to_string(escape.env.home().join("audit/audit.jsonl")).unwrap();
    for line in lines.iter().filter(|line| line.len() > 8) {
        assert!(!outcome.stdout().contains(line), "{line} in stdout");
        assert!(!outcome.stderr().contains(line), "{line} in stderr");
        assert!(!log.contains(line), "{line} in the audit log");
    }
}

#[test]
fn a_ca_bundle_pointing_at_a_private_key_is_refused_before_any_run() {
    let escape = Escape::new();
    let key = escape.env.dir.path().join("user/.ssh/id_ed25519");
    write(&key, &openssh_key());
    escape.set_sandbox("ca_bundle", key.to_str().unwrap());
    // A run with no scope at all (but the shell it needs to run `cat`).
    let outcome = escape.run(&[], READ_STORE);
    // Refused for where it lies (a home's key store) before its contents are even read.
    outcome.refused_for_its_ca_store(&key, "critical");
    nowhere(&escape, &outcome, &KEY_BODY);
}

#[test]
fn a_symlinked_ca_bundle_to_a_private_key_is_refused_as_the_key() {
    let escape = Escape::new();
    let key = escape.env.dir.path().join("user/.ssh/id_ed25519");
    write(&key, &openssh_key());
    let link = escape.work.with_file_name("ca-certificates.pem");
    std::os::unix::fs::symlink(&key, &link).unwrap();
    escape.set_sandbox("ca_bundle", link.to_str().unwrap());
    let outcome = escape.run(&[], READ_STORE);
    // Named as configured and as what it resolves to.
    outcome.refused_for_its_ca_store(&link, "critical");
    let reason = outcome.record("run.refused")["reason"].as_str().unwrap();
    assert!(reason.contains(&key.display().to_string()), "{reason}");
    nowhere(&escape, &outcome, &KEY_BODY);
}

#[test]
fn a_private_key_at_an_unremarkable_path_is_refused_for_what_it_holds() {
    let escape = Escape::new();
    let key = escape.work.with_file_name("deploy").join("store.pem");
    write(&key, &openssh_key());
    escape.set_sandbox("ca_bundle", key.to_str().unwrap());
    let outcome = escape.run(&[], READ_STORE);
    outcome.refused_for_its_ca_store(&key, "`OPENSSH PRIVATE KEY` block");
    nowhere(&escape, &outcome, &KEY_BODY);
}

#[test]
fn a_ca_bundle_with_a_private_key_after_its_certificate_is_refused() {
    let escape = Escape::new();
    let tls = escape.work.with_file_name("tls");
    std::fs::create_dir_all(&tls).unwrap();
    test_ca(&tls, "trusted", "secure.test");
    let key = std::fs::read_to_string(tls.join("trusted.key")).unwrap();
    let bundle = tls.join("bundle.pem");
    let certificate = std::fs::read_to_string(tls.join("trusted.pem")).unwrap();
    std::fs::write(&bundle, format!("{certificate}{key}")).unwrap();
    escape.set_sandbox("ca_bundle", bundle.to_str().unwrap());
    let outcome = escape.run(&[], READ_STORE);
    outcome.refused_for_its_ca_store(&bundle, "`PRIVATE KEY` block");
    let key_lines: Vec<&str> = key
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    nowhere(&escape, &outcome, &key_lines);
}

#[test]
fn an_empty_or_plain_text_ca_bundle_is_refused() {
    let escape = Escape::new();
    let notes = escape.work.with_file_name("notes");
    for (name, text) in [
        ("empty.pem", ""),
        ("token.pem", "api_token = tok_live_0123456789abcdef\n"),
    ] {
        let store = notes.join(name);
        write(&store, text);
        escape.set_sandbox("ca_bundle", store.to_str().unwrap());
        let outcome = escape.run(&[], READ_STORE);
        outcome.refused_for_its_ca_store(&store, "no certificate");
        nowhere(&escape, &outcome, &["tok_live_0123456789abcdef"]);
        // Back to the default store for the next one.
        let config = escape.env.home().join("config.yaml");
        let text = std::fs::read_to_string(&config).unwrap();
        let line = format!("  ca_bundle: {}\n", store.display());
        std::fs::write(&config, text.replacen(&line, "", 1)).unwrap();
    }
}

#[test]
fn text_between_certificates_never_reaches_the_run() {
    let escape = Escape::new();
    let tls = escape.work.with_file_name("tls");
    std::fs::create_dir_all(&tls).unwrap();
    test_ca(&tls, "trusted", "secure.test");
    let certificate = std::fs::read_to_string(tls.join("trusted.pem")).unwrap();
    // A title line, as curl's `cacert.pem` has, and a note nobody meant for a run.
    let bundle = tls.join("annotated.pem");
    std::fs::write(
        &bundle,
        format!("AegisClaw test CA\n=================\nnote: hunter2-do-not-share\n{certificate}"),
    )
    .unwrap();
    escape.set_sandbox("ca_bundle", bundle.to_str().unwrap());
    let outcome = escape.run(&[], READ_STORE);
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    assert_eq!(outcome.stdout(), certificate);
    nowhere(&escape, &outcome, &["hunter2-do-not-share"]);
    let store = &outcome.record("run.launch")["data"]["ca_store"];
    assert_eq!(store["path"], bundle.display().to_string());
    assert_eq!(store["certificates"], 1);
    assert_eq!(store["sha256"], sha256_hex(certificate.as_bytes()));
    assert_ne!(store["file_sha256"], store["sha256"]);
    outcome.finished();
}

#[test]
fn the_hosts_ca_store_is_given_read_only_and_recorded() {
    let host = std::path::Path::new("/etc/ssl/certs/ca-certificates.crt");
    if !host.is_file() {
        eprintln!("skipped: this host has no {}", host.display());
        return;
    }
    let escape = Escape::new();
    let script = "sha256sum /etc/ssl/certs/ca-certificates.crt; echo x >> /etc/ssl/certs/ca-certificates.crt || echo read-only";
    let host_sha256 = sha256_hex(&std::fs::read(host).unwrap());
    // The distribution's, by default; then the same file configured.
    for configured in [false, true] {
        if configured {
            escape.set_sandbox("ca_bundle", host.to_str().unwrap());
        }
        let outcome = escape.run(&[], script);
        assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
        let stdout = outcome.stdout();
        // Debian's store is certificates only: the run sees it byte for byte.
        assert!(
            stdout.starts_with(&format!(
                "{host_sha256}  /etc/ssl/certs/ca-certificates.crt\n"
            )),
            "{stdout}"
        );
        assert!(stdout.ends_with("read-only\n"), "{stdout}");
        let store = &outcome.record("run.launch")["data"]["ca_store"];
        assert_eq!(store["path"], host.display().to_string(), "{store}");
        assert_eq!(
            store["from"],
            if configured {
                "sandbox.ca_bundle"
            } else {
                "distribution"
            }
        );
        if configured {
            // A configured store is read and checked: the record has what the run was given.
            assert_eq!(store["given"], "certificates", "{store}");
            assert_eq!(store["sha256"], host_sha256);
            assert_eq!(store["file_sha256"], host_sha256);
            assert!(store["certificates"].as_u64().unwrap() > 10, "{store}");
        } else {
            // The distribution's, which only root can change, is bound as it is, unread.
            assert_eq!(store["given"], "root_owned", "{store}");
            assert_eq!(
                store["bytes"].as_u64(),
                Some(std::fs::metadata(host).unwrap().len()),
                "{store}"
            );
        }
        outcome.finished();
    }
}

/// `sha256sum`'s hex digest of `bytes`.
fn sha256_hex(bytes: &[u8]) -> String {
    use std::io::Write as _;
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the CA store tests need `sha256sum`");
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let output = child.wait_with_output().unwrap();
    String::from_utf8(output.stdout).unwrap()[..64].to_string()
}
