//! Audit log throughput: `audit_bench <records> <single|grouped|verify> <dir>` prints one line
//! `mode=… records=… seconds=… records_per_second=…`. Writes only inside `<dir>`.

use aegisclaw_core::audit::{AuditLog, Event, verify};
use aegisclaw_core::key::SigningKey;
use serde_json::json;
use std::error::Error;
use std::io::Write as _;
use std::path::Path;
use std::time::Instant;

/// Records per group commit in `grouped` mode.
const BATCH: usize = 256;

fn event(n: usize) -> Event {
    Event::new("policy.decision", "cli:bench")
        .run("run-0123456789abcdef")
        .skill("web-search")
        .scope("net.outbound:example.com:443")
        .decision(if n.is_multiple_of(3) { "deny" } else { "allow" })
        .reason("rule standard.allow: listed host")
        .data(json!({ "n": n, "host": "example.com", "bytes": n * 17 }))
}

/// Appends `count` records to a fresh log in `dir`, in batches of `batch`.
fn fill(dir: &Path, count: usize, batch: usize, key: &SigningKey) -> Result<(), Box<dyn Error>> {
    fs_err::create_dir_all(dir)?;
    for name in ["audit.jsonl", "checkpoints.jsonl"] {
        let _ = fs_err::remove_file(dir.join(name));
    }
    let mut log = AuditLog::open(
        &dir.join("audit.jsonl"),
        &dir.join("checkpoints.jsonl"),
        Some(key.clone()),
    )?;
    let mut next = 0;
    while next < count {
        let end = (next + batch).min(count);
        if end - next == 1 {
            log.append(event(next))?;
        } else {
            log.append_batch((next..end).map(event).collect())?;
        }
        next = end;
    }
    log.close()?;
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, count, mode, dir] = args.as_slice() else {
        return Err("usage: audit_bench <records> <single|grouped|verify> <dir>".into());
    };
    let count: usize = count.parse()?;
    let dir = Path::new(dir);
    let key = SigningKey::from_seed([7; 32]);
    let start = Instant::now();
    match mode.as_str() {
        "single" => fill(dir, count, 1, &key)?,
        "grouped" => fill(dir, count, BATCH, &key)?,
        "verify" => {
            fill(dir, count, BATCH, &key)?;
            let start = Instant::now();
            let report = verify(
                &dir.join("audit.jsonl"),
                &dir.join("checkpoints.jsonl"),
                &[key.public()],
            )?;
            if let Some(problem) = report.problem {
                return Err(format!("fresh log does not verify: {problem}").into());
            }
            return report_rate(mode, report.records as usize, start);
        }
        other => return Err(format!("unknown mode `{other}`").into()),
    }
    report_rate(mode, count, start)
}

fn report_rate(mode: &str, count: usize, start: Instant) -> Result<(), Box<dyn Error>> {
    let seconds = start.elapsed().as_secs_f64();
    let rate = count as f64 / seconds;
    writeln!(
        std::io::stdout().lock(),
        "mode={mode} records={count} seconds={seconds:.3} records_per_second={rate:.0}"
    )?;
    Ok(())
}
