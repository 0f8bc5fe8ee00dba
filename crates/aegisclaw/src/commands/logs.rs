//! `aegisclaw logs`: print the audit log (filtered, tailed, followed), and `logs verify`:
//! recompute the chain, check signed checkpoints and that the lockdown state agrees with the
//! last lockdown record; exit 1 naming the first bad record or the disagreement.

use super::Globals;
use crate::cli::{LogsArgs, LogsCommand};
use crate::exit::Exit;
use crate::output::{Printer, escape};
use aegisclaw_core::audit::{self, Filter, Follower, Record};
use aegisclaw_core::lockdown::{self, LIFT_HINT};
use aegisclaw_core::timestamp::Timestamp;
use aegisclaw_engine::doctor::error_chain;
use serde_json::json;
use std::collections::VecDeque;
use std::time::Duration;

const FOLLOW_INTERVAL: Duration = Duration::from_millis(200);

pub(crate) fn run(globals: &Globals, args: LogsArgs, printer: &Printer) -> anyhow::Result<Exit> {
    let context = globals.context()?;
    let home = context.home().clone();
    if let Some(LogsCommand::Verify) = args.command {
        let keys = context.audit_keys()?;
        return verify(&home, &keys, printer);
    }
    let since = args
        .since
        .as_deref()
        .map(|text| Timestamp::parse_relative(text, Timestamp::now()))
        .transpose()?;
    let filter = Filter {
        skill: args.skill,
        kind: args.kind,
        since,
    };
    if args.follow {
        // One reader from the start, so no record can fall between "existing" and "new".
        let mut follower = Follower::from_start(&home.audit_log(), filter);
        print_tail(printer, follower.poll()?, args.tail);
        loop {
            printer.flush();
            std::thread::sleep(FOLLOW_INTERVAL);
            for record in follower.poll()? {
                print_record(printer, &record);
            }
        }
    }
    let mut count = 0usize;
    let mut tail: VecDeque<Record> = VecDeque::new();
    for record in audit::read_records(&home.audit_log(), &filter)? {
        let record = record?;
        count += 1;
        match args.tail {
            Some(limit) => push_bounded(&mut tail, record, limit),
            None => print_record(printer, &record),
        }
    }
    for record in &tail {
        print_record(printer, record);
    }
    if count == 0 && !printer.is_json() {
        printer.status("no audit records match");
    }
    Ok(Exit::Ok)
}

fn push_bounded(tail: &mut VecDeque<Record>, record: Record, limit: usize) {
    if limit == 0 {
        return;
    }
    if tail.len() == limit {
        tail.pop_front();
    }
    tail.push_back(record);
}

fn print_tail(printer: &Printer, records: Vec<Record>, limit: Option<usize>) {
    let skip = limit.map_or(0, |limit| records.len().saturating_sub(limit));
    for record in records.iter().skip(skip) {
        print_record(printer, record);
    }
}

/// One record as a line. Every field that can hold untrusted text (a run's argv, a host it
/// asked for, a skill's name, an actor from the environment) is escaped: plain values as
/// they are, others quoted with their control, bidi and invisible characters escaped, as
/// `reason` always is; `data` is its JSON with such characters as `\u` escapes.
fn print_record(printer: &Printer, record: &Record) {
    printer.json(record);
    let mut line = format!(
        "{}  #{:<5} {:<18} {}",
        record.ts,
        record.seq,
        escape::field(&record.kind),
        escape::field(&record.actor)
    );
    for (name, value) in [
        ("skill", &record.skill),
        ("scope", &record.scope),
        ("decision", &record.decision),
        ("run", &record.run),
    ] {
        if let Some(value) = value {
            line.push_str(&format!("  {name}={}", escape::field(value)));
        }
    }
    if let Some(reason) = &record.reason {
        line.push_str(&format!("  reason={reason:?}"));
    }
    if !record.data.is_empty() {
        let data = serde_json::Value::Object(record.data.clone()).to_string();
        line.push_str(&format!("  {}", escape::json(data)));
    }
    printer.data(line);
}

fn verify(
    home: &aegisclaw_core::home::Home,
    keys: &[aegisclaw_core::key::PublicKey],
    printer: &Printer,
) -> anyhow::Result<Exit> {
    let report = audit::verify(&home.audit_log(), &home.audit_checkpoints(), keys)?;
    // The lockdown state must agree with the last lockdown record of the log.
    let lockdown = lockdown::check_against_log(home);
    let disagreement = lockdown.disagreement.as_ref().map(|d| error_chain(d));
    let mut document = serde_json::to_value(&report)?;
    document["lockdown"] = json!({"on": lockdown.on(), "disagreement": disagreement});
    printer.json(&document);
    let chain = match &report.problem {
        Some(problem) => {
            printer.data(format_args!("audit log verification FAILED: {problem}"));
            printer.data(format_args!(
                "  {} records read before the problem; last good seq {}",
                report.records, report.last_seq
            ));
            Exit::Refused
        }
        None => {
            let covered = report
                .last_checkpoint_seq
                .map_or_else(String::new, |seq| format!(" (last covers seq {seq})"));
            printer.data(format_args!(
                "audit log verified: {} records, hash chain intact, {} signed checkpoints{covered}",
                report.records, report.checkpoints
            ));
            if report.records > 0 && report.checkpoints == 0 {
                printer.warn("no signed checkpoints: a truncated tail cannot be detected");
            }
            Exit::Ok
        }
    };
    match disagreement {
        None => Ok(chain),
        Some(disagreement) => {
            printer.data(format_args!(
                "lockdown state FAILED: {disagreement}; it counts as on"
            ));
            printer.hint(LIFT_HINT);
            Ok(Exit::Refused)
        }
    }
}
