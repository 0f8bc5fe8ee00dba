//! The Printer: the only place that writes to stdout and stderr. Human text or `--json`,
//! `--quiet`, and the `error:` / `caused by:` / `hint:` form of failures. Its children escape
//! untrusted data (`escape`) and carry a run's output to the terminal (`terminal`).
#![expect(clippy::print_stderr, reason = "the one place that prints")]

pub(crate) mod escape;
pub(crate) mod terminal;

use serde::Serialize;
use std::fmt::Display;
use std::io::Write as _;

/// How a command's output is shown.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Printer {
    json: bool,
    quiet: bool,
}

impl Printer {
    pub(crate) fn new(json: bool, quiet: bool) -> Self {
        Self { json, quiet }
    }

    /// Whether `--json` was given.
    pub(crate) fn is_json(&self) -> bool {
        self.json
    }

    /// A progress or status line for humans (hidden by `--json` and `--quiet`). Like every
    /// human line but [`Printer::verbatim`], its control, bidi and invisible characters are
    /// escaped: it may quote a manifest, an argv, a path or a run's text.
    pub(crate) fn status(&self, text: impl Display) {
        if !self.json && !self.quiet {
            let _ = writeln!(
                std::io::stdout().lock(),
                "{}",
                escape::message(&text.to_string())
            );
        }
    }

    /// A line of the data the command exists to print (hidden only by `--json`), escaped as
    /// [`Printer::status`] is.
    pub(crate) fn data(&self, text: impl Display) {
        if !self.json {
            let _ = writeln!(
                std::io::stdout().lock(),
                "{}",
                escape::message(&text.to_string())
            );
        }
    }

    /// One data line that stays one line: a newline in it (a mount point's name in a reason,
    /// a scope path) is shown as `\n`, like every other control character.
    pub(crate) fn line(&self, text: impl Display) {
        if !self.json {
            let _ = writeln!(
                std::io::stdout().lock(),
                "{}",
                escape::text(&text.to_string())
            );
        }
    }

    /// A data line printed exactly as it is (hidden only by `--json`): only for text the user
    /// asked to see byte for byte from their own store or files (a revealed secret, the
    /// active policy), never for text from a skill or a run.
    pub(crate) fn verbatim(&self, text: impl Display) {
        if !self.json {
            let _ = writeln!(std::io::stdout().lock(), "{text}");
        }
    }

    /// The `--json` document of a command (printed only with `--json`), one line of compact
    /// JSON per document so `--follow` output is line-delimited. Control, bidi and invisible
    /// characters in its strings are written as `\u` escapes (the same JSON value).
    pub(crate) fn json<T: Serialize + ?Sized>(&self, value: &T) {
        if self.json {
            let Ok(text) = serde_json::to_string(value) else {
                return;
            };
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{}", escape::json(text));
            let _ = out.flush();
        }
    }

    /// Raw bytes on stdout (generated scripts), regardless of `--json` and `--quiet`.
    pub(crate) fn raw(&self, bytes: &[u8]) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(bytes);
        let _ = out.flush();
    }

    /// Flushes stdout (for `--follow`).
    pub(crate) fn flush(&self) {
        let _ = std::io::stdout().lock().flush();
    }

    /// A warning on stderr (never hidden: warnings are about safety), its control, bidi and
    /// invisible characters escaped.
    pub(crate) fn warn(&self, text: impl Display) {
        eprintln!("warning: {}", escape::message(&text.to_string()));
    }

    /// A line on stderr (decisions, notices, usage messages), escaped as [`Printer::status`]
    /// is.
    pub(crate) fn stderr(&self, text: impl Display) {
        eprintln!("{}", escape::message(&text.to_string()));
    }

    /// A hint on stderr, after an error or warning.
    pub(crate) fn hint(&self, text: impl Display) {
        if !self.json {
            eprintln!("hint: {text}");
        }
    }

    /// An error and its causes on stderr; with `--json` also as one JSON object on stderr.
    pub(crate) fn error(&self, error: &anyhow::Error, exit_code: u8) {
        let causes: Vec<String> = error.chain().skip(1).map(ToString::to_string).collect();
        if self.json {
            let document = serde_json::json!({
                "error": error.to_string(),
                "caused_by": causes,
                "exit_code": exit_code,
            });
            eprintln!("{}", escape::json(document.to_string()));
            return;
        }
        // Messages may quote untrusted text (a skill's file names, a manifest's values).
        eprintln!("error: {}", escape::message(&error.to_string()));
        for cause in causes {
            eprintln!("  caused by: {}", escape::message(&cause));
        }
    }
}
