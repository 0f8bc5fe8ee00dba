//! `aegisclaw sandbox run` (an ad-hoc command, an unsigned skill) and `sandbox run-registered`
//! (an installed skill): the whole envelope through the engine. Decisions go to stderr, the
//! run's redacted output to stdout/stderr, and the process exits with the run's own code.

use super::Globals;
use super::secrets::existing_passphrase;
use super::unavailable::{Area, not_available};
use crate::approver::TerminalApprover;
use crate::cli::SandboxCommand;
use crate::exit::{Exit, Refusal};
use crate::output::Printer;
use crate::output::terminal::RunOutput;
use aegisclaw_core::policy::Outcome;
use aegisclaw_core::secrets::age::AgeStore;
use aegisclaw_engine::Context;
use aegisclaw_engine::authorise::{
    self, Authorised, RunRequest, ScopeVerdict, SkillSource, Verdict,
};
use aegisclaw_engine::capture::{Capture, Captured};
use aegisclaw_engine::run::{self, OutputSinks, RunError, RunReport, SharedSink};
use anyhow::Context as _;
use serde_json::json;

pub(crate) fn run(
    globals: &Globals,
    command: SandboxCommand,
    printer: &Printer,
) -> anyhow::Result<Exit> {
    let (source, args, workdir, output) = match command {
        SandboxCommand::Run {
            scopes,
            workdir,
            output,
            command,
        } => (
            SkillSource::AdHoc {
                argv: command,
                scopes,
            },
            Vec::new(),
            workdir,
            output,
        ),
        SandboxCommand::RunRegistered {
            skill,
            learn,
            args,
            output,
            ..
        } => {
            if learn {
                return not_available(
                    printer,
                    "sandbox run-registered --learn",
                    Area::SkillEcosystem,
                );
            }
            (SkillSource::Installed { name: skill }, args, None, output)
        }
    };
    let workdir_flag = workdir.clone();
    let workdir = match workdir {
        Some(dir) => dir,
        None => std::env::current_dir().context("cannot read the current directory")?,
    };
    let workdir = fs_canonical(&workdir)?;

    let mut context = globals.context()?;
    let policy = authorise::LazyPolicy::active();
    let request = RunRequest {
        source,
        args,
        workdir,
    };
    let verdict = authorise::authorise(&mut context, &policy, &mut TerminalApprover, request)?;
    let mut authorised = match verdict {
        Verdict::Refused {
            run,
            stage,
            reason,
            scopes,
        } => {
            print_decisions(printer, &scopes);
            printer.json(&json!({"run": run, "refused": true, "stage": stage, "reason": reason, "scopes": scopes}));
            context.close()?;
            return Err(Refusal(format!("run {run} refused: {reason}")).into());
        }
        Verdict::Authorised(authorised) => authorised,
    };
    print_decisions(printer, &authorised.verdicts);
    print_notices(printer, &authorised, workdir_flag.as_deref());

    let sink = if printer.is_json() {
        Sink::Capture
    } else {
        Sink::Terminal {
            allow_control: output.allow_terminal_control,
        }
    };
    let executed = execute(&mut context, &mut authorised, sink);
    context.close()?;
    let report = executed.report.map_err(|error| {
        anyhow::Error::new(error).context(Refusal(format!("run {} failed", authorised.run)))
    })?;
    if let Some((out, err)) = executed.captured {
        let mut document = json!({
            "run": report.run,
            "scopes": authorised.verdicts,
            "report": report,
        });
        stream_fields(&mut document, "stdout", &out);
        stream_fields(&mut document, "stderr", &err);
        printer.json(&document);
    }
    print_summary(printer, &report, executed.line_open);
    Ok(exit_of(&report))
}

fn fs_canonical(path: &std::path::Path) -> anyhow::Result<std::path::PathBuf> {
    std::path::absolute(path)
        .and_then(|absolute| absolute.canonicalize())
        .with_context(|| format!("working directory `{}` is not usable", path.display()))
}

/// `<name>` (the text kept: all of it, or its head), `<name>_tail` (`null`, or the last bytes
/// when some were left out), `<name>_bytes` (every byte) and `<name>_truncated`.
fn stream_fields(document: &mut serde_json::Value, name: &str, captured: &Captured) {
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    document[name] = json!(text(&captured.head));
    document[format!("{name}_tail")] = json!(captured.tail.as_deref().map(text));
    document[format!("{name}_bytes")] = json!(captured.bytes);
    document[format!("{name}_truncated")] = json!(captured.truncated());
}

/// Where a run's output goes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Sink {
    /// Captured for `--json`: the first and last `capture::KEEP` bytes of each stream, every
    /// byte counted.
    Capture,
    /// AegisClaw's stdout and stderr; terminal control is neutralised on a terminal unless
    /// `allow_control`.
    Terminal {
        /// `--allow-terminal-control`.
        allow_control: bool,
    },
}

/// What [`execute`] returns.
pub(crate) struct Executed {
    /// How the run ended.
    pub(crate) report: Result<RunReport, RunError>,
    /// stdout and stderr, for [`Sink::Capture`].
    pub(crate) captured: Option<(Captured, Captured)>,
    /// The run left the terminal in the middle of a line (for [`Sink::Terminal`]).
    pub(crate) line_open: bool,
}

/// Runs an authorised skill, its output to `sink`.
pub(crate) fn execute(context: &mut Context, authorised: &mut Authorised, sink: Sink) -> Executed {
    let identity = AgeStore::identity_file(context.home());
    let passphrase = move || existing_passphrase(&identity);
    match sink {
        Sink::Capture => {
            let (stdout, stderr) = (
                SharedSink::new(Capture::new()),
                SharedSink::new(Capture::new()),
            );
            let sinks = OutputSinks {
                stdout: stdout.sink(),
                stderr: stderr.sink(),
            };
            let report = run::execute(context, authorised, &passphrase, sinks);
            // A capture never blocks, so its writer is always done with it.
            let captured =
                |sink: SharedSink<Capture>| sink.into_inner().unwrap_or_default().finish();
            Executed {
                report,
                captured: Some((captured(stdout), captured(stderr))),
                line_open: false,
            }
        }
        Sink::Terminal { allow_control } => {
            let output = RunOutput::new(allow_control);
            let sinks = OutputSinks {
                stdout: output.stdout.sink(),
                stderr: output.stderr.sink(),
            };
            let report = run::execute(context, authorised, &passphrase, sinks);
            Executed {
                report,
                captured: None,
                line_open: output.finish(),
            }
        }
    }
}

pub(crate) fn exit_of(report: &RunReport) -> Exit {
    if report.timed_out {
        return Exit::Child(124);
    }
    match (report.exit_code, report.signal) {
        (Some(code), _) => Exit::Child(u8::try_from(code).unwrap_or(1)),
        (None, Some(signal)) => Exit::Child(u8::try_from(128 + signal).unwrap_or(255)),
        (None, None) => Exit::Refused,
    }
}

pub(crate) fn print_decisions(printer: &Printer, verdicts: &[ScopeVerdict]) {
    if printer.is_json() {
        return;
    }
    for verdict in verdicts {
        let outcome = match (verdict.decision.outcome, verdict.granted) {
            (Outcome::Allow, _) => "allow",
            (Outcome::NeedsApproval, true) if verdict.from_grant => "approved (remembered)",
            (Outcome::NeedsApproval, true) => "approved",
            (Outcome::NeedsApproval, false) => "needs approval: refused",
            (Outcome::Deny, _) => "deny",
        };
        let rule = verdict
            .decision
            .rules
            .first()
            .map(String::as_str)
            .unwrap_or("-");
        printer.stderr(format_args!(
            "aegisclaw: {:<40} {:<8} {outcome:<22} ({rule})",
            verdict.scope, verdict.risk
        ));
    }
}

/// One line on stderr (in `--json` mode too) for each way the run differs from what the
/// command line may suggest: a `--workdir` it does not work in, input it does not read.
fn print_notices(printer: &Printer, authorised: &Authorised, workdir: Option<&std::path::Path>) {
    if let Some(workdir) = workdir
        && run::works_in_private_tmp(authorised)
    {
        printer.stderr(format_args!(
            "aegisclaw: `--workdir {}` is not covered by a files.* scope: the run works in its private /tmp",
            workdir.display()
        ));
    }
    if stdin_has_input() {
        printer.stderr("aegisclaw: stdin is /dev/null (the run reads no input)");
    }
}

/// Whether AegisClaw's own stdin could carry input (anything but `/dev/null` or a closed
/// descriptor), which the run, whose stdin is always `/dev/null`, never reads.
fn stdin_has_input() -> bool {
    use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
    let (Ok(stdin), Ok(null)) = (
        fs_err::metadata("/proc/self/fd/0"),
        fs_err::metadata("/dev/null"),
    ) else {
        return false;
    };
    !(stdin.file_type().is_char_device() && stdin.rdev() == null.rdev())
}

/// The run's last line on stderr: always on a line of its own, so a run that ended its output
/// mid-line (`\r` included) cannot make its own text look like part of it.
fn print_summary(printer: &Printer, report: &RunReport, line_open: bool) {
    if printer.is_json() {
        return;
    }
    if line_open {
        printer.stderr("");
    }
    let how = if report.timed_out {
        "timed out and was killed".to_string()
    } else if let Some(by) = report.stopped_by {
        format!("was killed by {by} (signal {})", report.signal.unwrap_or(0))
    } else if let Some(code) = report.exit_code {
        format!("exited {code}")
    } else {
        format!("killed by signal {}", report.signal.unwrap_or(0))
    };
    printer.stderr(format_args!(
        "aegisclaw: run {} {how} after {} ms",
        report.run, report.duration_ms
    ));
}
