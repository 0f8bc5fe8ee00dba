//! The clap tree: every CLI word of DESIGN §7 with its flags and help. Parsing only; the
//! commands module does the work.

use aegisclaw_core::env;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

const AFTER_HELP: &str = "\
Exit codes: 0 success · 1 refused or a check failed · 2 usage or input error.
Home: $AEGISCLAW_HOME, default ~/.aegisclaw. Run `aegisclaw help <word>` for details.";

/// AegisClaw: a secure-by-default runtime for AI agents.
///
/// Agents ask AegisClaw to run skills: signed commands with declared scopes. AegisClaw checks
/// the signature, decides each scope by policy, runs the skill in a sandbox that grants exactly
/// those scopes, and records every step in a tamper-evident audit log.
#[derive(Debug, Parser)]
#[command(name = "aegisclaw", version, after_help = AFTER_HELP, propagate_version = true)]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) globals: GlobalArgs,

    #[command(subcommand)]
    pub(crate) command: Command,
}

/// The flags every word takes.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// Use this home instead of $AEGISCLAW_HOME or ~/.aegisclaw.
    #[arg(long, global = true, value_name = "DIR", env = env::AEGISCLAW_HOME, hide_env_values = true)]
    pub(crate) home: Option<PathBuf>,

    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub(crate) json: bool,

    /// Print only errors (and the data a command exists to print).
    #[arg(long, short, global = true)]
    pub(crate) quiet: bool,
}

impl Cli {
    /// Parses this process's arguments (clap exits 2 on usage errors, 0 on `--help`).
    ///
    /// `sandbox run` and `sandbox run-registered`, the words an agent calls on every run, skip
    /// building the whole tree (a few hundred microseconds per process): the plain shapes of
    /// `sandbox run` are read directly (`parse_run`), the rest of both words against a tree of
    /// only the global flags and the `sandbox` word (`parse_lean`). The result is the same
    /// `Cli`; any other shape, any help or version flag, and any error go to the whole tree,
    /// so messages and help never differ.
    pub(crate) fn parse_args() -> Self {
        let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
        Self::parse_run(&args)
            .or_else(|| Self::parse_lean(&args))
            .unwrap_or_else(|| Self::parse_from(args))
    }

    /// The plain shapes of `sandbox run` (global flags, `--scope`, `--workdir`, then `--` and
    /// the command) read directly, without building clap's tree at all; `None` for anything
    /// else (another flag or word, a repeated single flag, a value that starts with `-`, no
    /// command, an empty `AEGISCLAW_HOME`), which then goes to clap. The result equals clap's
    /// for every shape it accepts (unit-tested).
    pub(crate) fn parse_run(args: &[std::ffi::OsString]) -> Option<Self> {
        let words = utf8_words(args)?;
        let ["sandbox", "run", rest @ ..] = words.as_slice() else {
            return None;
        };
        let end = rest.iter().position(|word| *word == "--")?;
        let (options, command) = (&rest[..end], &rest[end + 1..]);
        if command.is_empty() {
            return None;
        }
        let (mut scopes, mut workdir, mut home, mut json, mut quiet) =
            (Vec::new(), None, None, false, false);
        let mut allow_terminal_control = false;
        let mut options = options.iter();
        while let Some(word) = options.next() {
            let (name, inline) = match word.split_once('=') {
                Some((name, value)) if name.starts_with("--") => (name, Some(value)),
                _ => (*word, None),
            };
            match (name, inline) {
                ("--json", None) if !json => json = true,
                ("--quiet" | "-q", None) if !quiet => quiet = true,
                ("--allow-terminal-control", None) if !allow_terminal_control => {
                    allow_terminal_control = true;
                }
                ("--scope" | "--workdir" | "--home", _) => {
                    let value = match inline {
                        Some(value) => value,
                        None => options.next()?,
                    };
                    if value.is_empty() || value.starts_with('-') {
                        return None;
                    }
                    match name {
                        "--scope" => scopes.push(value.to_string()),
                        "--workdir" if workdir.is_none() => workdir = Some(PathBuf::from(value)),
                        "--home" if home.is_none() => home = Some(PathBuf::from(value)),
                        _ => return None,
                    }
                }
                _ => return None,
            }
        }
        if home.is_none() {
            home = env::get(env::AEGISCLAW_HOME).map(PathBuf::from);
            // clap refuses an empty value from the environment: let it say so.
            if home.is_none() && env::is_present(env::AEGISCLAW_HOME) {
                return None;
            }
        }
        Some(Self {
            globals: GlobalArgs { home, json, quiet },
            command: Command::Sandbox(SandboxCommand::Run {
                scopes,
                workdir,
                output: RunOutputArgs {
                    allow_terminal_control,
                },
                command: command.iter().map(|word| (*word).to_string()).collect(),
            }),
        })
    }

    /// The lean parse of the run words, or `None` to use the whole tree.
    pub(crate) fn parse_lean(args: &[std::ffi::OsString]) -> Option<Self> {
        use clap::FromArgMatches as _;
        let words = utf8_words(args)?;
        if !matches!(words.as_slice(), ["sandbox", "run" | "run-registered", ..]) {
            return None;
        }
        let before_command = words
            .iter()
            .position(|word| *word == "--")
            .unwrap_or(words.len());
        if words[..before_command]
            .iter()
            .any(|word| matches!(*word, "-h" | "--help" | "-V" | "--version"))
        {
            return None;
        }
        let sandbox = SandboxCommand::augment_subcommands(clap::Command::new("sandbox"))
            .subcommand_required(true);
        let root = GlobalArgs::augment_args(clap::Command::new("aegisclaw"))
            .subcommand(sandbox)
            .subcommand_required(true);
        let matches = root.try_get_matches_from(args).ok()?;
        Self::from_arg_matches(&matches).ok()
    }
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create a home: config, policy, keys and an audit log.
    Init(InitArgs),
    /// Create a home if needed and run a sample skill through the whole envelope.
    Quickstart(QuickstartArgs),
    /// Check that the home, policy, keys, audit log and sandbox are healthy.
    Doctor,
    /// Explain what scopes grant and how risky they are.
    #[command(subcommand)]
    Scope(ScopeCommand),
    /// Keys, signing, verification and installed skills.
    #[command(subcommand)]
    Skill(SkillCommand),
    /// Run commands and skills in the sandbox.
    #[command(subcommand)]
    Sandbox(SandboxCommand),
    /// Show the audit log, or verify its hash chain and checkpoints.
    Logs(LogsArgs),
    /// Manage secrets in the encrypted store.
    #[command(subcommand)]
    Secrets(SecretsCommand),
    /// Show, change, test and evaluate the Rego policy.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// List and answer pending approval requests.
    #[command(subcommand)]
    Approvals(ApprovalsCommand),
    /// Emergency stop: refuse every run until lifted.
    #[command(subcommand)]
    Lockdown(LockdownCommand),
    /// Serve the REST/WebSocket API and dashboard.
    Serve(ServeArgs),
    /// Score the security posture from what is enforced.
    Posture,
    /// Predict what a skill would do, without running it.
    Simulate(SkillNameArg),
    /// Inspect a run: resources, processes, connections.
    Xray(RunIdArg),
    /// Serve AegisClaw as an MCP server on stdio.
    McpServer,
    /// Send notifications.
    #[command(subcommand)]
    Notify(NotifyCommand),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
}

#[derive(Debug, Args)]
#[command(
    after_help = "Without `--defaults`, the wizard asks every question a flag does not answer. \
Scripts and CI use `--defaults` with any of the flags."
)]
pub(crate) struct InitArgs {
    /// Ask nothing: every answer not given by a flag takes its default.
    #[arg(long)]
    pub(crate) defaults: bool,
    /// Replace an existing home's config and policy; keys, secrets and the audit log are kept.
    #[arg(long)]
    pub(crate) force: bool,
    /// Sandbox runtime (default `native`).
    #[arg(long, value_name = "RUNTIME")]
    pub(crate) runtime: Option<String>,
    /// Policy template: `strict`, `standard` (default) or `permissive`.
    #[arg(long, value_name = "TEMPLATE")]
    pub(crate) policy: Option<String>,
    /// Secret store: `age` (default, encrypted in the home) or `none`.
    #[arg(long, value_name = "BACKEND")]
    pub(crate) secrets: Option<SecretsChoice>,
    /// Protect the secret store's key with a passphrase, read from a hidden prompt, or from
    /// `AEGISCLAW_SECRETS_PASSPHRASE` when set (never from an argument).
    #[arg(long)]
    pub(crate) passphrase: bool,
}

/// Whether `init` creates the encrypted secret store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum SecretsChoice {
    /// The age-encrypted store in `secrets/`.
    Age,
    /// No secret store.
    None,
}

#[derive(Debug, Args)]
pub(crate) struct QuickstartArgs {
    #[command(flatten)]
    pub(crate) output: RunOutputArgs,
}

/// How a run's output reaches AegisClaw's stdout and stderr.
#[derive(Debug, Args)]
pub(crate) struct RunOutputArgs {
    /// Pass the run's terminal control sequences to the terminal unchanged
    ///
    /// By default, when stdout or stderr is a terminal, every control character in the run's
    /// output other than newline, tab and carriage return is shown as a visible escape (`^[`
    /// for ESC; U+FFFD for C1 controls and bytes that are not UTF-8), so a run cannot move
    /// the cursor, clear the screen, write the clipboard (OSC 52) or rewrite AegisClaw's own
    /// lines. Output that is not a terminal (a pipe, a file, `--json`) is never changed.
    #[arg(long)]
    pub(crate) allow_terminal_control: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ScopeCommand {
    /// Parse scopes and print kind, target, risk and why.
    ///
    /// Example: aegisclaw scope explain files.read:~/.ssh net.outbound:api.github.com:443
    Explain {
        /// Scopes in `kind[:target]` form.
        #[arg(required = true, value_name = "SCOPE")]
        scopes: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum SkillCommand {
    /// List installed skills and whether each still verifies.
    List,
    /// Show one installed skill's manifest and verification status.
    Show(SkillNameArg),
    /// Create this home's ed25519 signing key and trust it.
    Keygen {
        /// Replace an existing signing key.
        #[arg(long)]
        force: bool,
    },
    /// Fill a skill directory's file digests, publisher and signature.
    Sign {
        /// The skill directory (holds manifest.yaml).
        dir: PathBuf,
        /// Sign with this key file instead of the home's keys/signing.key.
        #[arg(long, value_name = "FILE")]
        key: Option<PathBuf>,
    },
    /// Check a skill directory's signature, publisher trust and every file digest.
    Verify {
        /// The skill directory (holds manifest.yaml).
        dir: PathBuf,
    },
    /// Verify a skill directory and copy it into the home's skills/.
    Install {
        /// The skill directory (holds manifest.yaml).
        dir: PathBuf,
        /// Replace an installed skill of the same name.
        #[arg(long)]
        force: bool,
    },
    /// Manage trusted publisher keys in trust/.
    #[command(subcommand)]
    Trust(TrustCommand),
    /// Publish a skill to a registry.
    Publish {
        /// The skill directory.
        dir: PathBuf,
    },
    /// Search a registry for skills.
    Search {
        /// Words to search for.
        query: Vec<String>,
    },
    /// Rate a skill in a registry.
    Rate {
        /// The skill name.
        name: String,
        /// Stars, 1 to 5.
        stars: u8,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum TrustCommand {
    /// List trusted publisher keys.
    List,
    /// Trust a publisher key (a `.pub` file or `ed25519:<base64>` text).
    Add {
        /// Key file or key text.
        key: String,
    },
    /// Stop trusting a key.
    Remove {
        /// The key id (16 hex digits).
        key_id: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum SandboxCommand {
    /// Run an ad-hoc command under the given scopes (an unsigned skill).
    Run {
        /// A scope to grant (repeatable).
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
        /// Working directory of the run.
        #[arg(long, value_name = "DIR")]
        workdir: Option<PathBuf>,
        #[command(flatten)]
        output: RunOutputArgs,
        /// The command and its arguments.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Run an installed skill through the whole envelope.
    RunRegistered {
        /// The installed skill's name.
        skill: String,
        /// Learn a behaviour profile instead of enforcing one.
        #[arg(long)]
        learn: bool,
        /// Number of learning runs.
        #[arg(long, value_name = "N", requires = "learn")]
        runs: Option<u32>,
        #[command(flatten)]
        output: RunOutputArgs,
        /// Arguments passed to the skill.
        #[arg(last = true)]
        args: Vec<String>,
    },
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct LogsArgs {
    #[command(subcommand)]
    pub(crate) command: Option<LogsCommand>,
    /// Keep printing new records as they are appended.
    #[arg(long, short)]
    pub(crate) follow: bool,
    /// Only records of this skill.
    #[arg(long, value_name = "SKILL")]
    pub(crate) skill: Option<String>,
    /// Only records of this kind (`skill.sign`), or a prefix (`skill.` or `skill.*`).
    #[arg(long, value_name = "KIND")]
    pub(crate) kind: Option<String>,
    /// Only records at or after this time: RFC 3339, a date, or an age like `2h`, `7d`.
    #[arg(long, value_name = "TIME")]
    pub(crate) since: Option<String>,
    /// Only the last N matching records.
    #[arg(long, short = 'n', value_name = "N")]
    pub(crate) tail: Option<usize>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum LogsCommand {
    /// Recompute the hash chain and check signed checkpoints; exit 1 naming the first bad record.
    Verify,
}

#[derive(Debug, Subcommand)]
#[command(
    after_help = "Values are never taken from arguments: `set` and `rotate` read all of \
stdin (one trailing newline removed) when it is not a terminal, else a hidden prompt. A \
passphrase-protected store asks for its passphrase in a terminal, or reads \
AEGISCLAW_SECRETS_PASSPHRASE (meant for CI)."
)]
pub(crate) enum SecretsCommand {
    /// Create the encrypted store and its age identity.
    Init {
        /// Protect the identity with a passphrase: asked twice in a terminal, else one line of
        /// stdin, or `AEGISCLAW_SECRETS_PASSPHRASE` when set (never an argument).
        #[arg(long)]
        passphrase: bool,
    },
    /// Store a secret; the value is read from stdin or a hidden prompt, never from arguments.
    Set {
        /// The secret's name (letters, digits and `_`, not starting with a digit).
        name: String,
        /// Never used: a value given as an argument is refused, because argv shows in `ps`.
        #[arg(hide = true, num_args = 0.., allow_hyphen_values = true)]
        stray: Vec<String>,
    },
    /// Show that a secret exists and when it was last updated; print its value with `--reveal`.
    Get {
        /// The secret's name.
        name: String,
        /// Print the value itself on stdout.
        #[arg(long)]
        reveal: bool,
    },
    /// List secret names and when each was last updated (never values).
    List,
    /// Delete a secret.
    Delete {
        /// The secret's name.
        name: String,
    },
    /// Replace an existing secret's value (read like `set`) and record the rotation.
    Rotate {
        /// The secret's name.
        name: String,
        /// Never used: a value given as an argument is refused, because argv shows in `ps`.
        #[arg(hide = true, num_args = 0.., allow_hyphen_values = true)]
        stray: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum PolicyCommand {
    /// Print the active policy.
    Show,
    /// Replace the active policy with a template or a file, after validating it.
    Use {
        /// `strict`, `standard`, `permissive`, or a .rego file.
        source: String,
    },
    /// Run a policy's test cases.
    Test {
        /// A cases.yaml file; default: the active template's cases.
        cases: Option<PathBuf>,
    },
    /// Show which decisions change between two policies.
    Diff {
        /// First policy (template or file).
        a: String,
        /// Second policy (template or file).
        b: String,
    },
    /// Evaluate the policy on one input document.
    Eval {
        /// Input JSON, or `-` for stdin.
        #[arg(long, value_name = "JSON|-")]
        input: String,
        /// Evaluate this template instead of the active policy.
        #[arg(long, value_name = "TEMPLATE", conflicts_with = "policy")]
        template: Option<String>,
        /// Evaluate this .rego file instead of the active policy.
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ApprovalsCommand {
    /// List pending approval requests.
    List,
    /// Approve a request.
    Approve {
        /// The request id.
        id: String,
        /// Remember the grant ("always") instead of approving once.
        #[arg(long)]
        always: bool,
    },
    /// Deny a request.
    Deny {
        /// The request id.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum LockdownCommand {
    /// Refuse every run until lockdown is lifted.
    On {
        /// Why (recorded in the audit log).
        #[arg(long)]
        reason: Option<String>,
    },
    /// Lift the lockdown.
    Off,
    /// Show whether lockdown is on.
    Status,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7777")]
    pub(crate) listen: String,
}

#[derive(Debug, Args)]
pub(crate) struct SkillNameArg {
    /// The skill's name.
    pub(crate) name: String,
}

#[derive(Debug, Args)]
pub(crate) struct RunIdArg {
    /// The run id.
    pub(crate) run: String,
}

#[derive(Debug, Subcommand)]
pub(crate) enum NotifyCommand {
    /// Send a test notification to every configured channel.
    Test,
}

#[derive(Debug, Args)]
#[command(after_help = "Bash: `source <(aegisclaw completions bash)`; \
zsh: `aegisclaw completions zsh > \"${fpath[1]}/_aegisclaw\"`; \
fish: `aegisclaw completions fish > ~/.config/fish/completions/aegisclaw.fish`.")]
pub(crate) struct CompletionsArgs {
    /// The shell to write the script for.
    pub(crate) shell: clap_complete::Shell,
}

/// The arguments after the program name as text, or `None` if any is not UTF-8.
fn utf8_words(args: &[std::ffi::OsString]) -> Option<Vec<&str>> {
    args.iter().skip(1).map(|arg| arg.to_str()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<std::ffi::OsString> {
        std::iter::once("aegisclaw")
            .chain(line.split_whitespace())
            .map(Into::into)
            .collect()
    }

    #[test]
    fn the_lean_parse_of_the_run_words_equals_the_whole_tree() {
        for line in [
            "sandbox run -- /bin/true",
            "sandbox run --scope files.read:/tmp --scope net.outbound:example.com -- sh -c x",
            "sandbox run --workdir /tmp --json -q -- ls -l --color",
            "sandbox run --allow-terminal-control -- ls --allow-terminal-control",
            "sandbox run --home /h -- true --help",
            "sandbox run-registered --allow-terminal-control file-organiser",
            "sandbox run-registered file-organiser",
            "sandbox run-registered file-organiser -- --input a --output b",
        ] {
            let lean = Cli::parse_lean(&args(line)).unwrap_or_else(|| panic!("`{line}`"));
            let whole = Cli::try_parse_from(args(line)).unwrap();
            assert_eq!(format!("{lean:?}"), format!("{whole:?}"), "`{line}`");
        }
    }

    #[test]
    fn the_direct_parse_of_sandbox_run_equals_clap() {
        for line in [
            "sandbox run -- /bin/true",
            "sandbox run --scope files.read:/tmp --scope net.outbound:example.com -- sh -c x",
            "sandbox run --scope=files.write:/a=b --workdir=/w -- true",
            "sandbox run --workdir /tmp --json -q -- ls -l --color",
            "sandbox run --quiet --home /h -- true --help",
            "sandbox run --home=/h --json -- true -- --json",
            "sandbox run --allow-terminal-control --json -- true",
            "sandbox run -- --scope x",
        ] {
            let direct = Cli::parse_run(&args(line)).unwrap_or_else(|| panic!("`{line}`"));
            let whole = Cli::try_parse_from(args(line)).unwrap();
            assert_eq!(format!("{direct:?}"), format!("{whole:?}"), "`{line}`");
        }
    }

    #[test]
    fn other_shapes_of_sandbox_run_go_to_clap() {
        for line in [
            "sandbox run",
            "sandbox run --",
            "sandbox run /bin/true",
            "--json sandbox run -- true",
            "sandbox run --help -- true",
            "sandbox run -h -- true",
            "sandbox run -V -- true",
            "sandbox run --json --json -- true",
            "sandbox run -q --quiet -- true",
            "sandbox run -qq -- true",
            "sandbox run --workdir /a --workdir /b -- true",
            "sandbox run --home /a --home=/b -- true",
            "sandbox run --scope -- true",
            "sandbox run --scope -x -- true",
            "sandbox run --scope= -- true",
            "sandbox run --json=yes -- true",
            "sandbox run --allow-terminal-control --allow-terminal-control -- true",
            "sandbox run --allow-terminal-control=yes -- true",
            "sandbox run --no-such-flag -- true",
            "sandbox run-registered file-organiser",
        ] {
            assert!(Cli::parse_run(&args(line)).is_none(), "`{line}`");
        }
    }

    #[test]
    fn everything_else_goes_to_the_whole_tree() {
        for line in [
            "skill list",
            "--json sandbox run -- true",
            "sandbox run --help",
            "sandbox run -h -- true",
            "sandbox run-registered --version x",
            "sandbox run --no-such-flag -- true",
            "sandbox run-registered",
            "sandbox",
        ] {
            assert!(Cli::parse_lean(&args(line)).is_none(), "`{line}`");
        }
    }
}
