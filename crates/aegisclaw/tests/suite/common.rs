//! Shared test environment: a temp home, the real binary, and output filters for snapshots.

use assert_cmd::Command;
use std::path::{Path, PathBuf};

/// A fresh temporary home and user directory for one test.
pub(crate) struct TestEnv {
    pub(crate) dir: tempfile::TempDir,
}

impl TestEnv {
    pub(crate) fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("user")).unwrap();
        Self { dir }
    }

    /// An env with `init --defaults` already run.
    pub(crate) fn initialised() -> Self {
        let env = Self::new();
        env.cmd(&["init", "--defaults"]).assert().success();
        env
    }

    pub(crate) fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// The real binary with this env's home, a fixed actor, no colour.
    pub(crate) fn cmd(&self, args: &[&str]) -> Command {
        let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("aegisclaw"));
        command.args(args);
        Command::from_std(self.with_env(command))
    }

    /// `command` with only this env's variables (home, actor, user dir, no colour) and the
    /// temp dir as its working directory.
    pub(crate) fn with_env(&self, mut command: std::process::Command) -> std::process::Command {
        command
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("AEGISCLAW_HOME", self.home())
            .env("AEGISCLAW_ACTOR", "tester")
            .env("HOME", self.dir.path().join("user"))
            .env("NO_COLOR", "1")
            .current_dir(self.dir.path());
        command
    }

    /// Copies a fixture skill from `examples/skills/<name>` into the temp dir.
    pub(crate) fn skill_copy(&self, name: &str, as_name: &str) -> PathBuf {
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../examples/skills")
            .join(name);
        let target = self.dir.path().join(as_name);
        copy_dir(&source, &target);
        target
    }

    /// Runs the command and renders exit code, stdout and stderr for a snapshot.
    pub(crate) fn run(&self, args: &[&str]) -> String {
        let output = self.cmd(args).output().unwrap();
        render(&output, self.dir.path())
    }
}

fn copy_dir(source: &Path, target: &Path) {
    std::fs::create_dir_all(target).unwrap();
    for entry in std::fs::read_dir(source).unwrap() {
        let entry = entry.unwrap();
        let to = target.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &to);
        } else {
            std::fs::copy(entry.path(), &to).unwrap();
        }
    }
}

/// `exit: N`, then stdout and stderr, with the temp dir replaced by `[TEMP]`.
pub(crate) fn render(output: &std::process::Output, temp: &Path) -> String {
    let temp = temp.display().to_string();
    let stdout = String::from_utf8_lossy(&output.stdout).replace(&temp, "[TEMP]");
    let stderr = String::from_utf8_lossy(&output.stderr).replace(&temp, "[TEMP]");
    format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        output.status.code().unwrap_or(-1),
        stdout,
        stderr
    )
}

/// Snapshot filters for values that change every run.
pub(crate) fn filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", "[TS]"),
        (r"\b[0-9a-f]{64}\b", "[HASH]"),
        (r"ed25519:[A-Za-z0-9+/]{86}==", "[SIG]"),
        (r"ed25519:[A-Za-z0-9+/]{43}=", "[PUBKEY]"),
        (r"\b[0-9a-f]{16}\b", "[KEYID]"),
        (r"torn-\d+-\d+\.bin", "torn-[N].bin"),
        (r#""offset":\d+"#, r#""offset":[N]"#),
        (actor_filter(), "cli:[USER]/claims:"),
    ]
}

/// The user these tests run as, as the audit actor names it: the passwd name of the real
/// uid, else `uid:<n>`.
pub(crate) fn real_user() -> String {
    let id = |flag: &str| {
        std::process::Command::new("id")
            .arg(flag)
            .output()
            .ok()
            .filter(|output| output.status.success())
            .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_string())
    };
    id("-un").unwrap_or_else(|| format!("uid:{}", id("-u").unwrap_or_default()))
}

/// Matches the real user's name before the `tester` claim every test command makes.
fn actor_filter() -> &'static str {
    static FILTER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    FILTER.get_or_init(|| {
        let escaped: String = real_user()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_string()
                } else {
                    format!("\\{c}")
                }
            })
            .collect();
        format!("cli:{escaped}/claims:")
    })
}

/// Runs `$env.run($args)` and compares with an inline snapshot, with the standard filters.
macro_rules! aegisclaw_snapshot {
    ($env:expr, $args:expr, @$snapshot:literal) => {{
        let rendered = $env.run($args);
        insta::with_settings!({ filters => $crate::suite::common::filters() }, {
            insta::assert_snapshot!(rendered, @$snapshot);
        });
    }};
}
