//! `logs verify`: rehashes every record, checks seq order and links, demands canonical lines,
//! and checks signed checkpoints against the log. Reads only; reports the first bad seq.

use super::checkpoint::Checkpoint;
use super::record::{FIELDS, GENESIS_HASH, OPTIONAL_FIELDS, chain_hash, decode_hash};
use super::{AuditError, io_error};
use crate::canonical::write_value;
use crate::key::PublicKey;
use crate::timestamp::Timestamp;
use serde::Serialize;
use serde_json::Value;
use std::fmt;
use std::io::{BufRead as _, BufReader};
use std::path::Path;

/// What `verify` found. Counts cover only the records before any problem.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Records that verified.
    pub records: u64,
    /// Seq of the last record that verified (0 if none).
    pub last_seq: u64,
    /// Its hash (`GENESIS_HASH` if none).
    pub last_hash: String,
    /// Checkpoints whose signature verified and whose hash matched the log.
    pub checkpoints: u64,
    /// Highest seq such a checkpoint covers.
    pub last_checkpoint_seq: Option<u64>,
    /// The first problem, or `None` when the log is intact.
    pub problem: Option<Problem>,
}

/// The first thing wrong with the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The first bad seq: the position where the record was expected (for `Truncated`, the
    /// first seq the log lacks; for `BadCheckpoint`, the seq the checkpoint claims, or 0).
    pub seq: u64,
    /// What kind of problem.
    pub kind: ProblemKind,
    /// Specifics for humans.
    pub detail: String,
}

/// Kinds of [`Problem`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The line is not canonical JSON or its hash does not match its contents.
    Edited,
    /// The line is not JSON, or lacks a field, or has one of the wrong type.
    Malformed,
    /// A record with a higher seq stands where this seq belongs (a deleted or moved line).
    Missing {
        /// The seq found instead.
        found: u64,
    },
    /// A record with a lower seq stands where this seq belongs (a reordered line).
    OutOfOrder {
        /// The seq found instead.
        found: u64,
    },
    /// The record's `prev` is not the previous record's hash.
    BrokenLink,
    /// The last line has no newline: a writer stopped mid-record.
    Torn,
    /// A checkpoint covers records beyond the end of the log.
    Truncated {
        /// Line number of the checkpoint in the checkpoints file.
        checkpoint: u64,
        /// The seq it covers.
        checkpoint_seq: u64,
    },
    /// The record at a checkpoint's seq has a different hash than the checkpoint signed.
    Rewritten {
        /// Line number of the checkpoint in the checkpoints file.
        checkpoint: u64,
    },
    /// A checkpoint is malformed, signed by an unknown key, or its signature fails.
    BadCheckpoint {
        /// Line number of the checkpoint in the checkpoints file.
        checkpoint: u64,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (seq, detail) = (self.seq, &self.detail);
        match &self.kind {
            ProblemKind::Edited => write!(f, "seq {seq}: record edited ({detail})"),
            ProblemKind::Malformed => write!(f, "seq {seq}: malformed record ({detail})"),
            ProblemKind::Missing { found } => {
                write!(
                    f,
                    "seq {seq}: record missing (found seq {found} in its place)"
                )
            }
            ProblemKind::OutOfOrder { found } => {
                write!(
                    f,
                    "seq {seq}: records out of order (found seq {found} in its place)"
                )
            }
            ProblemKind::BrokenLink => write!(f, "seq {seq}: broken link ({detail})"),
            ProblemKind::Torn => write!(f, "seq {seq}: torn record ({detail})"),
            ProblemKind::Truncated {
                checkpoint,
                checkpoint_seq,
            } => write!(
                f,
                "log truncated after seq {}: checkpoint {checkpoint} covers seq {checkpoint_seq}",
                seq.saturating_sub(1)
            ),
            ProblemKind::Rewritten { checkpoint } => {
                write!(
                    f,
                    "seq {seq}: record differs from signed checkpoint {checkpoint} ({detail})"
                )
            }
            ProblemKind::BadCheckpoint { checkpoint } => {
                write!(f, "checkpoint {checkpoint} is bad: {detail}")
            }
        }
    }
}

/// A checkpoint that parsed and whose signature verified.
struct GoodCheckpoint {
    line: u64,
    seq: u64,
    hash: [u8; 32],
}

/// Verifies the log at `log_path` and the checkpoints at `checkpoints_path`, whose signatures
/// must come from `trusted_keys`. Missing files count as empty. Errors are I/O only; tampering
/// is reported in [`VerifyReport::problem`]: the first chain problem (or a checkpoint that
/// disagrees with an earlier record), else a truncation, else the first bad checkpoint.
pub fn verify(
    log_path: &Path,
    checkpoints_path: &Path,
    trusted_keys: &[PublicKey],
) -> Result<VerifyReport, AuditError> {
    let (checkpoints, checkpoint_problem) = load_checkpoints(checkpoints_path, trusted_keys)?;
    let mut report = VerifyReport {
        records: 0,
        last_seq: 0,
        last_hash: GENESIS_HASH.to_string(),
        checkpoints: 0,
        last_checkpoint_seq: None,
        problem: None,
    };
    let file = super::open_for_reading(log_path)?;
    let mut last_hash = [0u8; 32];
    let mut pending = checkpoints.iter().peekable();
    if let Some(file) = file {
        let mut reader = BufReader::with_capacity(1 << 16, file);
        let mut line = Vec::with_capacity(1024);
        let mut canonical = String::with_capacity(1024);
        loop {
            line.clear();
            let read = reader
                .read_until(b'\n', &mut line)
                .map_err(io_error("read", log_path))?;
            if read == 0 {
                break;
            }
            let expected = report.last_seq + 1;
            let Some(content) = line.strip_suffix(b"\n") else {
                report.problem = Some(Problem {
                    seq: expected,
                    kind: ProblemKind::Torn,
                    detail: format!("{} bytes after the last newline", line.len()),
                });
                break;
            };
            match check_line(content, expected, &last_hash, &mut canonical) {
                Ok(hash) => last_hash = hash,
                Err(problem) => {
                    report.problem = Some(problem);
                    break;
                }
            }
            report.records += 1;
            report.last_seq = expected;
            while let Some(checkpoint) = pending.next_if(|c| c.seq == expected) {
                if checkpoint.hash != last_hash {
                    report.problem = Some(Problem {
                        seq: expected,
                        kind: ProblemKind::Rewritten {
                            checkpoint: checkpoint.line,
                        },
                        detail: format!("checkpoint hash `{}`", hex::encode(checkpoint.hash)),
                    });
                    break;
                }
                report.checkpoints += 1;
                report.last_checkpoint_seq = Some(expected);
            }
            if report.problem.is_some() {
                break;
            }
        }
    }
    report.last_hash = hex::encode(last_hash);
    if report.problem.is_none()
        && let Some(beyond) = checkpoints.last().filter(|c| c.seq > report.last_seq)
    {
        report.problem = Some(Problem {
            seq: report.last_seq + 1,
            kind: ProblemKind::Truncated {
                checkpoint: beyond.line,
                checkpoint_seq: beyond.seq,
            },
            detail: format!("the log ends at seq {}", report.last_seq),
        });
    }
    if report.problem.is_none() {
        report.problem = checkpoint_problem;
    }
    Ok(report)
}

/// Checks one line (without its newline) expected to be record `expected` after `prev`;
/// returns its hash. `canonical` is a reused buffer.
fn check_line(
    line: &[u8],
    expected: u64,
    prev: &[u8; 32],
    canonical: &mut String,
) -> Result<[u8; 32], Problem> {
    let problem = |kind: ProblemKind, detail: String| Problem {
        seq: expected,
        kind,
        detail,
    };
    let malformed = |detail: String| problem(ProblemKind::Malformed, detail);
    let value: Value =
        serde_json::from_slice(line).map_err(|error| malformed(format!("not JSON: {error}")))?;
    let Value::Object(map) = &value else {
        return Err(malformed("not a JSON object".into()));
    };
    if let Some(unknown) = map.keys().find(|key| !FIELDS.contains(&key.as_str())) {
        return Err(malformed(format!("unknown field `{unknown}`")));
    }
    let text = |name: &str| {
        map.get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| malformed(format!("missing or non-string `{name}`")))
    };
    let seq = map
        .get("seq")
        .and_then(Value::as_u64)
        .ok_or_else(|| malformed("missing or non-integer `seq`".into()))?;
    let hash_text = text("hash")?;
    let hash = decode_hash(hash_text)
        .ok_or_else(|| malformed(format!("`hash` `{hash_text}` is not 64 hex digits")))?;
    let prev_text = text("prev")?;
    let line_prev = decode_hash(prev_text)
        .ok_or_else(|| malformed(format!("`prev` `{prev_text}` is not 64 hex digits")))?;
    let ts = text("ts")?;
    Timestamp::parse(ts).map_err(|error| malformed(error.to_string()))?;
    text("kind")?;
    text("actor")?;
    if !map.get("data").is_some_and(Value::is_object) {
        return Err(malformed("missing or non-object `data`".into()));
    }
    if let Some(name) = OPTIONAL_FIELDS
        .iter()
        .find(|name| map.get(**name).is_some_and(|value| !value.is_string()))
    {
        return Err(malformed(format!("non-string `{name}`")));
    }
    canonical.clear();
    write_value(canonical, &value).map_err(|error| malformed(error.to_string()))?;
    if canonical.as_bytes() != line {
        return Err(problem(
            ProblemKind::Edited,
            "line is not canonical JSON".into(),
        ));
    }
    // The line is canonical with only known fields, so `hash` is the last top-level key holding
    // `,"hash":"`: every key sorted after it holds a string or a number, whose quotes are
    // escaped. Hash everything but that key and its 64-digit value.
    const KEY: &[u8] = b",\"hash\":\"";
    let at = line
        .windows(KEY.len())
        .rposition(|window| window == KEY)
        .ok_or_else(|| problem(ProblemKind::Edited, "no `hash` key".into()))?;
    let after = at + KEY.len() + 64 + 1;
    let computed = chain_hash(&line_prev, &[&line[..at], &line[after..]]);
    if computed != hash {
        return Err(problem(ProblemKind::Edited, "hash mismatch".into()));
    }
    if seq > expected {
        return Err(problem(ProblemKind::Missing { found: seq }, String::new()));
    }
    if seq < expected {
        return Err(problem(
            ProblemKind::OutOfOrder { found: seq },
            String::new(),
        ));
    }
    if line_prev != *prev {
        let detail = format!("`prev` does not match the hash of seq {}", expected - 1);
        return Err(problem(ProblemKind::BrokenLink, detail));
    }
    Ok(hash)
}

/// Reads and checks every checkpoint; returns the good ones sorted by seq and the first bad one.
/// A last line without a newline is a checkpoint write cut short and is ignored.
fn load_checkpoints(
    path: &Path,
    trusted_keys: &[PublicKey],
) -> Result<(Vec<GoodCheckpoint>, Option<Problem>), AuditError> {
    let bytes = match super::open_for_reading(path)? {
        Some(mut file) => {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut file, &mut bytes).map_err(io_error("read", path))?;
            bytes
        }
        None => Vec::new(),
    };
    let mut good = Vec::new();
    let mut first_bad = None;
    let Some(end) = bytes.iter().rposition(|byte| *byte == b'\n') else {
        return Ok((good, first_bad));
    };
    for (index, line) in bytes[..end].split(|byte| *byte == b'\n').enumerate() {
        let number = index as u64 + 1;
        let checked = Checkpoint::parse(line).and_then(|checkpoint| {
            checkpoint.check(trusted_keys)?;
            Ok(checkpoint)
        });
        match checked {
            Ok(checkpoint) => good.push(GoodCheckpoint {
                line: number,
                seq: checkpoint.seq,
                hash: decode_hash(&checkpoint.hash).unwrap_or_default(),
            }),
            Err(detail) if first_bad.is_none() => {
                first_bad = Some(Problem {
                    seq: serde_json::from_slice::<Value>(line)
                        .ok()
                        .and_then(|value| value.get("seq").and_then(Value::as_u64))
                        .unwrap_or(0),
                    kind: ProblemKind::BadCheckpoint { checkpoint: number },
                    detail,
                });
            }
            Err(_) => {}
        }
    }
    good.sort_by_key(|checkpoint| checkpoint.seq);
    Ok((good, first_bad))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditLog, Event};
    use crate::key::SigningKey;
    use pretty_assertions::assert_eq;

    fn problem_of(text: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("audit.jsonl");
        fs_err::write(&log, text).unwrap();
        let report = verify(&log, &dir.path().join("cp.jsonl"), &[]).unwrap();
        report.problem.map(|p| p.to_string()).unwrap_or_default()
    }

    fn three_lines() -> (tempfile::TempDir, Vec<String>, SigningKey) {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::from_seed([4; 32]);
        let log = dir.path().join("audit.jsonl");
        let mut writer =
            AuditLog::open(&log, &dir.path().join("cp.jsonl"), Some(key.clone())).unwrap();
        for n in 0..3 {
            writer
                .append(Event::new("t", "x").skill(format!("s{n}")))
                .unwrap();
        }
        writer.close().unwrap();
        let lines = fs_err::read_to_string(&log)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        (dir, lines, key)
    }

    #[test]
    fn names_each_kind_of_damage() {
        let (_dir, lines, _key) = three_lines();
        let edited = lines[1].replace("\"s1\"", "\"s9\"");
        assert_eq!(
            problem_of(&format!("{}\n{edited}\n{}\n", lines[0], lines[2])),
            "seq 2: record edited (hash mismatch)"
        );
        assert_eq!(
            problem_of(&format!("{}\n{}\n", lines[0], lines[2])),
            "seq 2: record missing (found seq 3 in its place)"
        );
        assert_eq!(
            problem_of(&format!("{}\n{}\n{}\n", lines[0], lines[1], lines[1])),
            "seq 3: records out of order (found seq 2 in its place)"
        );
        assert_eq!(
            problem_of(&format!("{}\n{}", lines[0], &lines[1][..10])),
            "seq 2: torn record (10 bytes after the last newline)"
        );
        assert_eq!(
            problem_of(&format!("{}\n {}\n", lines[0], lines[1])),
            "seq 2: record edited (line is not canonical JSON)"
        );
        assert!(problem_of("{\"seq\":1}\n").starts_with("seq 1: malformed record (missing"));
        assert_eq!(problem_of(&format!("{}\n", lines[0])), "");
    }

    #[test]
    fn checkpoints_reveal_truncation_and_bad_signatures() {
        let (dir, lines, key) = three_lines();
        let log = dir.path().join("audit.jsonl");
        let checkpoints = dir.path().join("cp.jsonl");
        let trusted = [key.public()];
        let report = verify(&log, &checkpoints, &trusted).unwrap();
        assert_eq!(
            (
                report.records,
                report.checkpoints,
                report.last_checkpoint_seq,
                report.problem
            ),
            (3, 1, Some(3), None)
        );
        fs_err::write(&log, format!("{}\n{}\n", lines[0], lines[1])).unwrap();
        let problem = verify(&log, &checkpoints, &trusted)
            .unwrap()
            .problem
            .unwrap();
        assert_eq!(
            problem.to_string(),
            "log truncated after seq 2: checkpoint 1 covers seq 3"
        );
        assert_eq!(problem.seq, 3);
        let stranger = SigningKey::from_seed([8; 32]);
        fs_err::write(&log, lines.join("\n") + "\n").unwrap();
        let problem = verify(&log, &checkpoints, &[stranger.public()])
            .unwrap()
            .problem
            .unwrap();
        assert_eq!(
            problem.to_string(),
            format!(
                "checkpoint 1 is bad: signed by unknown key `{}`",
                key.public().key_id()
            )
        );
        assert_eq!(
            (problem.seq, problem.kind),
            (3, ProblemKind::BadCheckpoint { checkpoint: 1 })
        );
    }
}
