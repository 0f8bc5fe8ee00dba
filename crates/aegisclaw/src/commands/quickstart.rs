//! `aegisclaw quickstart` (DESIGN §8): create a home with the defaults if there is none, install
//! the bundled starter skills, make a sample directory, run `file-organiser` on it through the
//! whole envelope, and show the decisions, the output and `logs verify`.

use super::Globals;
use super::init;
use super::sandbox::{Sink, execute, exit_of, print_decisions};
use crate::approver::TerminalApprover;
use crate::bundled::{self, Installed};
use crate::cli::QuickstartArgs;
use crate::exit::{Exit, Refusal};
use crate::output::Printer;
use aegisclaw_core::audit;
use aegisclaw_core::env;
use aegisclaw_engine::authorise::{self, RunRequest, SkillSource, Verdict};
use anyhow::Context as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Sample files: name, content, age in days (so they sort into different months).
const SAMPLES: &[(&str, &str, u64)] = &[
    ("holiday.jpg", "not really a photo\n", 3),
    ("invoice-2026-10.pdf", "not really a PDF\n", 40),
    ("notes.md", "# notes\n- try aegisclaw\n", 1),
    ("backup.tar.gz", "not really an archive\n", 75),
    ("song.mp3", "not really music\n", 10),
    ("build.sh", "#!/bin/sh\necho build\n", 2),
    ("mystery.xyz", "unknown type\n", 5),
];
const MARKER: &str = ".aegisclaw-quickstart";

pub(crate) fn run(
    globals: &Globals,
    args: QuickstartArgs,
    printer: &Printer,
) -> anyhow::Result<Exit> {
    // 1. A home, created with the defaults when there is none.
    let home = globals.home()?;
    if home.exists() {
        printer.status(format_args!(
            "1. Using the AegisClaw home at {}",
            home.root().display()
        ));
    } else {
        printer.status("1. No AegisClaw home yet: creating one with the defaults (`aegisclaw init --defaults`)");
        init::create_with_defaults(&home, printer)?;
    }
    let mut context = globals.context()?;

    // 2. The bundled starter skills, verified against the built-in project key.
    printer.status("\n2. Installing the bundled starter skills");
    for skill in bundled::SKILLS {
        let state = match bundled::install(&mut context, skill)? {
            Installed::AlreadyPresent => "already installed and verified",
            Installed::Now => "installed (signature and every file verified)",
        };
        printer.status(format_args!("   {}: {state}", skill.name));
    }

    // 3. A sample directory.
    let user_home = env::get(env::HOME)
        .map(PathBuf::from)
        .context("`HOME` is not set, so the sample directory has nowhere to go")?;
    let base = user_home.join("aegisclaw-quickstart");
    let (input, output) = prepare_samples(&base)?;
    // Scope paths are bound where they resolve to (a home behind a symlinked parent too), so
    // the skill is handed the resolved paths.
    let (input, output) = (
        fs_err::canonicalize(&input)?,
        fs_err::canonicalize(&output)?,
    );
    printer.status(format_args!(
        "\n3. Sample directory {} with {} files; output goes to {}",
        input.display(),
        SAMPLES.len(),
        output.display()
    ));

    // 4. Run file-organiser through the whole envelope.
    printer.status("\n4. Running `file-organiser` through the envelope: signature, lockdown, scopes, policy, sandbox, redaction, audit");
    let policy = authorise::LazyPolicy::active();
    let request = RunRequest {
        source: SkillSource::Installed {
            name: "file-organiser".to_string(),
        },
        args: vec![input.display().to_string(), output.display().to_string()],
        workdir: input.clone(),
    };
    let mut authorised =
        match authorise::authorise(&mut context, &policy, &mut TerminalApprover, request)? {
            Verdict::Refused {
                run,
                reason,
                scopes,
                ..
            } => {
                print_decisions(printer, &scopes);
                context.close()?;
                return Err(Refusal(format!("quickstart run {run} refused: {reason}")).into());
            }
            Verdict::Authorised(authorised) => authorised,
        };
    for verdict in &authorised.verdicts {
        printer.status(format_args!(
            "   policy: {:<48} risk {:<8} -> {:?} by {}",
            verdict.scope,
            verdict.risk,
            verdict.decision.outcome,
            verdict.decision.rules.join(", ")
        ));
    }
    printer.status("   --- skill output ---");
    let sink = Sink::Terminal {
        allow_control: args.output.allow_terminal_control,
    };
    let executed = execute(&mut context, &mut authorised, sink);
    context.close()?;
    let report = executed.report.context("the quickstart run failed")?;
    if executed.line_open {
        printer.status("");
    }
    printer.status("   --- end of output ---");
    printer.status(format_args!(
        "   run {} exited {} in {} ms; enforced: {}",
        report.run,
        report
            .exit_code
            .map_or_else(|| "by signal".to_string(), |code| code.to_string()),
        report.duration_ms,
        report.enforcement
    ));

    // 5. The audit log, verified.
    let keys = aegisclaw_engine::audit_keys(&home)?;
    let verified = audit::verify(&home.audit_log(), &home.audit_checkpoints(), &keys)?;
    printer.status("\n5. aegisclaw logs verify");
    match &verified.problem {
        None => printer.status(format_args!(
            "   audit log verified: {} records, hash chain intact, {} signed checkpoints",
            verified.records, verified.checkpoints
        )),
        Some(problem) => {
            return Err(Refusal(format!("audit log verification failed: {problem}")).into());
        }
    }
    printer.status(format_args!(
        "\nDone. See every step with `aegisclaw logs --skill file-organiser`; the organised files are in {}.",
        output.display()
    ));
    Ok(exit_of(&report))
}

/// Creates `base/input` with the sample files and an empty `base/output`. An existing `base`
/// is reused only if an earlier quickstart made it (it holds the marker file).
fn prepare_samples(base: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let input = base.join("input");
    let output = base.join("output");
    if base.exists() && !base.join(MARKER).is_file() {
        anyhow::bail!(
            "`{}` exists but was not made by quickstart; move it away and run quickstart again",
            base.display()
        );
    }
    if output.exists() {
        fs_err::remove_dir_all(&output)?;
    }
    fs_err::create_dir_all(&input)?;
    fs_err::create_dir_all(&output)?;
    fs_err::write(base.join(MARKER), "made by `aegisclaw quickstart`\n")?;
    let now = SystemTime::now();
    for (name, content, days) in SAMPLES {
        let path = input.join(name);
        fs_err::write(&path, content)?;
        let when = now
            .checked_sub(Duration::from_secs(days * 86_400))
            .unwrap_or(now);
        fs_err::File::options()
            .write(true)
            .open(&path)?
            .file()
            .set_modified(when)
            .with_context(|| format!("cannot set the time of `{}`", path.display()))?;
    }
    Ok((input, output))
}
