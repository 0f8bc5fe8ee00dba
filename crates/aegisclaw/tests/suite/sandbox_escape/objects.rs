//! Escapes through a scope path that names a sensitive object by another name: the directory
//! holding the running `aegisclaw` (replace the program the user runs next), a bind mount of a
//! home's `.ssh` elsewhere, and hard links to key files. Each is rated as the object it is.

use super::*;
use std::path::Path;

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap()
}

/// The binary these tests run (the target directory's), resolved as `/proc/self/exe` is.
fn program() -> PathBuf {
    canonical(Path::new(env!("CARGO_BIN_EXE_aegisclaw")))
}

/// The run was asked about at `scope`, rated critical, nobody could approve, nothing ran.
fn assert_refused_as_critical(outcome: &Outcome, scope: &str) {
    assert_eq!(outcome.code(), Some(1), "{}", outcome.stderr());
    let decision = outcome
        .records
        .iter()
        .find(|record| record["kind"] == "policy.decision" && record["scope"] == scope)
        .unwrap_or_else(|| panic!("no decision on `{scope}` in {:#?}", outcome.records));
    assert_eq!(decision["data"]["risk"], "critical", "{decision}");
    assert_eq!(decision["decision"], "needs_approval", "{decision}");
    assert_eq!(outcome.record("approval.denied")["scope"], scope);
    assert_eq!(outcome.record("run.refused")["data"]["stage"], "approval");
    assert!(!outcome.has("run.launch"));
}

/// The object reasons of the decision on `scope` (why it is the sensitive object it is).
fn object_reasons(outcome: &Outcome, scope: &str) -> String {
    let decision = outcome
        .records
        .iter()
        .find(|record| record["kind"] == "policy.decision" && record["scope"] == scope)
        .unwrap_or_else(|| panic!("no decision on `{scope}`"));
    decision["data"]["object_reasons"].to_string()
}

#[test]
fn a_write_scope_on_the_running_binarys_directory_cannot_replace_the_binary() {
    let escape = Escape::new();
    let program = program();
    let directory = program.parent().unwrap();
    let before = std::fs::metadata(&program).unwrap().len();
    // The directory, the binary itself, and an ancestor whose write covers it.
    for target in [directory, program.as_path(), directory.parent().unwrap()] {
        let scope = format!("files.write:{}", target.display());
        let outcome = escape.run(
            &[&scope],
            &format!("test -w {} && echo WRITABLE", program.display()),
        );
        assert!(
            !outcome.stdout().contains("WRITABLE"),
            "{}",
            outcome.stdout()
        );
        assert_refused_as_critical(&outcome, &scope);
    }
    assert_eq!(std::fs::metadata(&program).unwrap().len(), before);
    // Reading it gives nothing: that stays what it was.
    let scope = format!("files.read:{}", directory.display());
    let outcome = escape.run(&[&scope], "true");
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    assert_eq!(outcome.record("policy.decision")["data"]["risk"], "low");
}

/// A home `.ssh` with a key in the test's user directory (`HOME`).
fn ssh_key(escape: &Escape) -> PathBuf {
    let ssh = canonical(&escape.env.dir.path().join("user")).join(".ssh");
    std::fs::create_dir_all(ssh.join("keys")).unwrap();
    std::fs::write(ssh.join("id_ed25519"), "PRIVATE KEY MATERIAL").unwrap();
    std::fs::write(ssh.join("keys/deploy"), "PRIVATE KEY MATERIAL").unwrap();
    ssh
}

/// Whether this machine lets the tests make a private mount namespace and bind mount in it.
#[expect(clippy::print_stderr, reason = "a skipped test says why")]
fn can_bind_mount() -> bool {
    let dir = tempfile::tempdir().unwrap();
    let probe = std::process::Command::new("unshare")
        .args(["-m", "--propagation", "private", "--", "mount", "--bind"])
        .args([dir.path(), dir.path()])
        .output();
    match probe {
        Ok(output) if output.status.success() => true,
        Ok(output) => {
            eprintln!(
                "SKIPPED: no private mount namespace with a bind mount here (`unshare -m` as root): {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
            false
        }
        Err(error) => {
            eprintln!("SKIPPED: cannot run `unshare`: {error}");
            false
        }
    }
}

impl Escape {
    /// `aegisclaw sandbox run --scope ... -- sh -c SCRIPT` in a private mount namespace where
    /// `source` is bind-mounted on `target` (both gone when it ends).
    fn run_with_bind(
        &self,
        source: &Path,
        target: &Path,
        scopes: &[&str],
        script: &str,
    ) -> Outcome {
        let mut command = std::process::Command::new("unshare");
        command.args(["-m", "--propagation", "private", "--", "sh", "-c"]);
        command.arg(r#"mount --bind "$1" "$2" || exit 97; shift 2; exec "$@""#);
        command.arg("sh").arg(source).arg(target);
        command
            .arg(env!("CARGO_BIN_EXE_aegisclaw"))
            .args(["sandbox", "run"]);
        for scope in with_exec(scopes) {
            command.args(["--scope", scope]);
        }
        command.args(["--", "sh", "-c", script]);
        let before = self.audit_lines();
        let output = self
            .env
            .with_env(command)
            .current_dir(&self.work)
            .output()
            .unwrap();
        assert_ne!(
            output.status.code(),
            Some(97),
            "the bind mount failed: {output:?}"
        );
        Outcome {
            output,
            records: self.records_since(before),
        }
    }
}

#[test]
fn a_bind_mount_of_a_home_ssh_dir_is_rated_as_the_ssh_dir() {
    if !can_bind_mount() {
        return;
    }
    let escape = Escape::new();
    let ssh = ssh_key(&escape);
    let work = canonical(&escape.work);
    let mounted = work.join("notes");
    std::fs::create_dir(&mounted).unwrap();
    // The mount itself, a path inside it, and a directory holding it.
    for (target, reason) in [
        (
            mounted.clone(),
            format!("`{}` is `{}`", mounted.display(), ssh.display()),
        ),
        (
            mounted.join("id_ed25519"),
            format!("`{}` is `{}`", mounted.display(), ssh.display()),
        ),
        (
            work.clone(),
            format!(
                "holds `{}`, which is `{}`",
                mounted.display(),
                ssh.display()
            ),
        ),
    ] {
        let scope = format!("files.read:{}", target.display());
        let outcome = escape.run_with_bind(
            &ssh,
            &mounted,
            &[&scope],
            &format!("cat {}/id_ed25519", mounted.display()),
        );
        assert!(
            !outcome.stdout().contains("PRIVATE KEY"),
            "{}",
            outcome.stdout()
        );
        assert_refused_as_critical(&outcome, &scope);
        let reasons = object_reasons(&outcome, &scope);
        assert!(reasons.contains(&reason), "{reason} not in {reasons}");
    }
}

#[test]
fn a_bind_mount_of_a_directory_inside_a_home_ssh_dir_is_rated_as_that_directory() {
    if !can_bind_mount() {
        return;
    }
    let escape = Escape::new();
    let ssh = ssh_key(&escape);
    let mounted = canonical(&escape.work).join("deploy");
    std::fs::create_dir(&mounted).unwrap();
    let scope = format!("files.read:{}", mounted.display());
    let outcome = escape.run_with_bind(
        &ssh.join("keys"),
        &mounted,
        &[&scope],
        &format!("cat {}/deploy", mounted.display()),
    );
    assert!(
        !outcome.stdout().contains("PRIVATE KEY"),
        "{}",
        outcome.stdout()
    );
    assert_refused_as_critical(&outcome, &scope);
    let reasons = object_reasons(&outcome, &scope);
    let mounted_from = format!("is mounted from `{}`", ssh.join("keys").display());
    assert!(reasons.contains(&mounted_from), "{reasons}");
}

#[test]
fn a_hard_link_to_a_key_in_a_home_ssh_dir_is_rated_critical() {
    let escape = Escape::new();
    let ssh = ssh_key(&escape);
    let link = canonical(&escape.work).join("notes.txt");
    std::fs::hard_link(ssh.join("id_ed25519"), &link).unwrap();
    let scope = format!("files.read:{}", link.display());
    let outcome = escape.run(&[&scope], &format!("cat {}", link.display()));
    assert!(
        !outcome.stdout().contains("PRIVATE KEY"),
        "{}",
        outcome.stdout()
    );
    assert_refused_as_critical(&outcome, &scope);
    let reasons = object_reasons(&outcome, &scope);
    assert!(reasons.contains("has 2 names"), "{reasons}");
}

#[test]
fn a_hard_link_to_a_home_netrc_is_rated_as_the_netrc() {
    let escape = Escape::new();
    let netrc = canonical(&escape.env.dir.path().join("user")).join(".netrc");
    std::fs::write(&netrc, "machine example.com login bob password hunter2").unwrap();
    let link = canonical(&escape.work).join("hosts.txt");
    std::fs::hard_link(&netrc, &link).unwrap();
    let scope = format!("files.read:{}", link.display());
    let outcome = escape.run(&[&scope], &format!("cat {}", link.display()));
    assert!(
        !outcome.stdout().contains("hunter2"),
        "{}",
        outcome.stdout()
    );
    assert_refused_as_critical(&outcome, &scope);
    let reasons = object_reasons(&outcome, &scope);
    let same = format!("`{}` is `{}`", link.display(), netrc.display());
    assert!(reasons.contains(&same), "{reasons}");
}
