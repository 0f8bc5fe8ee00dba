//! Scope rating cost: `scope_bench [runs] [ratings_per_run]` rates the quickstart skill's two
//! scopes and prints one line `cold_us=… warm_us=… lexical_us=…`: the first rating in a new
//! context (the sensitive-path table resolved on this host, the way the engine's resolver
//! resolves: symlinks followed, a missing tail appended to its deepest existing ancestor), a
//! rating once the context's table is cached, and one with no resolver. Medians over `runs`.

use aegisclaw_core::scope::{Scope, ScopeContext};
use std::error::Error;
use std::hint::black_box;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

const SCOPES: [&str; 2] = [
    "files.read:~/aegisclaw-quickstart/input",
    "files.write:~/aegisclaw-quickstart/output",
];

/// Lenient resolution: the deepest existing ancestor canonicalised, the rest appended.
fn resolve(path: &Path) -> Option<PathBuf> {
    let mut tail = Vec::new();
    let mut head = path;
    loop {
        if let Ok(resolved) = fs_err::canonicalize(head) {
            return Some(
                tail.iter()
                    .rev()
                    .fold(resolved, |path, part| path.join(part)),
            );
        }
        tail.push(head.file_name()?);
        head = head.parent()?;
    }
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let runs: usize = args.next().map_or(Ok(31), |a| a.parse())?;
    let per_run: usize = args.next().map_or(Ok(1_000), |a| a.parse())?;
    let home = aegisclaw_core::env::get(aegisclaw_core::env::HOME)
        .map_or_else(|| PathBuf::from("/root"), PathBuf::from);
    let context = |home: PathBuf, resolver| ScopeContext {
        aegisclaw_home: Some(home.join(".aegisclaw")),
        user_home: Some(home),
        program: None,
        resolve: resolver,
        homes: Vec::new(),
    };
    let rate_all = |context: &ScopeContext| -> Result<(), Box<dyn Error>> {
        for text in SCOPES {
            black_box(Scope::parse(text, context)?.rating(context));
        }
        Ok(())
    };
    // Cold: every run a context the cache has not seen (the real home, and an AegisClaw home
    // of its own, so the cache key differs).
    let mut cold = Vec::with_capacity(runs);
    for run in 0..runs {
        let fresh = ScopeContext {
            aegisclaw_home: Some(home.join(format!(".aegisclaw-bench-{run}"))),
            ..context(home.clone(), Some(resolve))
        };
        let start = Instant::now();
        rate_all(&fresh)?;
        cold.push(start.elapsed().as_secs_f64() * 1e6);
    }
    let timed = |context: ScopeContext| -> Result<f64, Box<dyn Error>> {
        rate_all(&context)?;
        let mut samples = Vec::with_capacity(runs);
        for _ in 0..runs {
            let start = Instant::now();
            for _ in 0..per_run {
                rate_all(&context)?;
            }
            samples.push(start.elapsed().as_secs_f64() * 1e6 / per_run as f64);
        }
        Ok(median(samples))
    };
    let warm = timed(context(home.clone(), Some(resolve)))?;
    let lexical = timed(context(home.clone(), None))?;
    writeln!(
        std::io::stdout().lock(),
        "scopes={} runs={runs} cold_us={:.1} warm_us={warm:.1} lexical_us={lexical:.1}",
        SCOPES.len(),
        median(cold)
    )?;
    Ok(())
}
