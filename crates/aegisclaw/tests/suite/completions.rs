//! Shell completions: the generated bash script is loaded into a real bash, which then completes
//! words of the CLI.

use super::common::TestEnv;
use std::process::Command;

/// Loads `aegisclaw completions bash` into bash and returns what it completes for `line`.
fn complete(env: &TestEnv, line: &str) -> String {
    let script = env.cmd(&["completions", "bash"]).output().unwrap();
    assert!(script.status.success());
    let path = env.home().with_extension("bash");
    std::fs::write(&path, &script.stdout).unwrap();
    let words: Vec<&str> = line.split(' ').collect();
    let program = format!(
        r#"source "{}"
COMP_WORDS=({})
COMP_CWORD={}
COMP_LINE="{line}"
COMP_POINT=${{#COMP_LINE}}
_aegisclaw aegisclaw "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}""#,
        path.display(),
        words
            .iter()
            .map(|w| format!("\"{w}\""))
            .collect::<Vec<_>>()
            .join(" "),
        words.len() - 1,
    );
    let output = Command::new("bash")
        .arg("-c")
        .arg(program)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn bash_completes_words_and_subcommands() {
    let env = TestEnv::new();
    assert_eq!(complete(&env, "aegisclaw sk"), "skill\n");
    assert_eq!(complete(&env, "aegisclaw skill ver"), "verify\n");
    let logs = complete(&env, "aegisclaw logs --");
    assert!(logs.lines().any(|line| line == "--follow"), "{logs}");
}

#[test]
fn every_shell_gets_a_script() {
    let env = TestEnv::new();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let output = env.cmd(&["completions", shell]).output().unwrap();
        assert!(output.status.success(), "{shell}");
        let script = String::from_utf8(output.stdout).unwrap();
        assert!(script.contains("aegisclaw"), "{shell}");
        assert!(script.contains("verify"), "{shell}");
    }
    let output = env.cmd(&["completions", "tcsh"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
}
