//! Integration tests: audit. Tampering of every kind is named at the right seq (proptest),
//! concurrent writer processes share one chain, and killed writers leave a recoverable log.

#![expect(
    clippy::unwrap_used,
    reason = "test helpers outside `#[test]` functions fail the test by panicking"
)]

use aegisclaw_core::audit::{
    AuditLog, Checkpoint, Event, Filter, Problem, ProblemKind, Record, read_records, verify,
};
use aegisclaw_core::key::SigningKey;
use aegisclaw_core::timestamp::Timestamp;
use proptest::prelude::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const CRASH_WRITER: &str = "AEGISCLAW_AUDIT_CRASH_WRITER";
const APPEND_WRITER: &str = "AEGISCLAW_AUDIT_APPEND_WRITER";

fn key() -> SigningKey {
    SigningKey::from_seed([42; 32])
}

fn paths(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join("audit.jsonl"), dir.join("checkpoints.jsonl"))
}

/// A directory named by one of this file's env switches, when the test binary runs as a child.
fn child_dir(name: &str) -> Option<PathBuf> {
    #[expect(
        clippy::disallowed_methods,
        reason = "test-only switch that turns this test binary into a child writer process"
    )]
    let value = std::env::var_os(name);
    value.map(PathBuf::from)
}

/// Forty pristine records and their hashes, written once by the real writer.
struct Pristine {
    lines: Vec<Vec<u8>>,
    hashes: Vec<String>,
}

fn pristine() -> &'static Pristine {
    static PRISTINE: OnceLock<Pristine> = OnceLock::new();
    PRISTINE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let (log_path, checkpoints) = paths(dir.path());
        let mut log = AuditLog::open(&log_path, &checkpoints, None).unwrap();
        let events = (0..40u32)
            .map(|n| {
                let event = Event::new(
                    ["policy.decision", "skill.run", "egress"][n as usize % 3],
                    "cli:alice",
                )
                .data(json!({ "n": n, "note": "héllo \"quoted\"\n", "list": [n, 1.5, null] }));
                match n % 4 {
                    0 => event
                        .skill("web-search")
                        .decision("deny")
                        .reason("rule: no"),
                    1 => event.run(format!("run-{n}")).scope("files.read:~/x"),
                    _ => event,
                }
            })
            .collect();
        let records = log.append_batch(events).unwrap();
        let text = fs_err::read(&log_path).unwrap();
        Pristine {
            lines: text
                .split_inclusive(|byte| *byte == b'\n')
                .map(<[u8]>::to_vec)
                .collect(),
            hashes: records.into_iter().map(|record| record.hash).collect(),
        }
    })
}

/// The first `n` pristine lines, and a checkpoint file covering record `n`.
fn log_of(n: usize) -> (Vec<Vec<u8>>, String) {
    let fixture = pristine();
    let checkpoint = Checkpoint::sign(n as u64, &fixture.hashes[n - 1], Timestamp::now(), &key())
        .unwrap()
        .to_line()
        .unwrap();
    (fixture.lines[..n].to_vec(), checkpoint)
}

/// Verifies `log` bytes with `checkpoint` as the checkpoints file.
fn problem_in(log: &[u8], checkpoint: &str) -> Option<Problem> {
    let dir = tempfile::tempdir().unwrap();
    let (log_path, checkpoints) = paths(dir.path());
    fs_err::write(&log_path, log).unwrap();
    fs_err::write(&checkpoints, checkpoint).unwrap();
    verify(&log_path, &checkpoints, &[key().public()])
        .unwrap()
        .problem
}

/// 1-based line number of byte `at`, counting a newline as part of its line.
fn line_of(bytes: &[u8], at: usize) -> u64 {
    bytes[..at].iter().filter(|byte| **byte == b'\n').count() as u64 + 1
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_one_byte_change_names_its_line(
        n in 5usize..=40,
        at in any::<prop::sample::Index>(),
        delta in 1u8..=255,
    ) {
        let (lines, checkpoint) = log_of(n);
        let mut bytes = lines.concat();
        prop_assert_eq!(problem_in(&bytes, &checkpoint), None);
        let at = at.index(bytes.len());
        bytes[at] = bytes[at].wrapping_add(delta);
        let problem = problem_in(&bytes, &checkpoint).expect("change detected");
        prop_assert_eq!(problem.seq, line_of(&bytes, at), "{}", problem);
        prop_assert!(
            matches!(problem.kind, ProblemKind::Edited | ProblemKind::Malformed | ProblemKind::Torn),
            "{}", problem
        );
    }

    #[test]
    fn deleting_any_line_names_it(n in 5usize..=40, gone in any::<prop::sample::Index>()) {
        let (mut lines, checkpoint) = log_of(n);
        let gone = gone.index(n);
        lines.remove(gone);
        let problem = problem_in(&lines.concat(), &checkpoint).expect("deletion detected");
        prop_assert_eq!(problem.seq, gone as u64 + 1, "{}", problem);
        let expected = if gone + 1 == n {
            ProblemKind::Truncated { checkpoint: 1, checkpoint_seq: n as u64 }
        } else {
            ProblemKind::Missing { found: gone as u64 + 2 }
        };
        prop_assert_eq!(problem.kind, expected);
    }

    #[test]
    fn swapping_any_two_lines_names_the_first(
        n in 5usize..=40,
        a in any::<prop::sample::Index>(),
        b in any::<prop::sample::Index>(),
    ) {
        let (mut lines, checkpoint) = log_of(n);
        let (i, j) = (a.index(n), b.index(n));
        prop_assume!(i != j);
        let (i, j) = (i.min(j), i.max(j));
        lines.swap(i, j);
        let problem = problem_in(&lines.concat(), &checkpoint).expect("swap detected");
        prop_assert_eq!(problem.seq, i as u64 + 1, "{}", problem);
        prop_assert_eq!(problem.kind, ProblemKind::Missing { found: j as u64 + 1 });
    }

    #[test]
    fn truncating_at_any_offset_is_torn_or_truncated(
        n in 5usize..=40,
        cut in any::<prop::sample::Index>(),
    ) {
        let (lines, checkpoint) = log_of(n);
        let bytes = lines.concat();
        let cut = cut.index(bytes.len());
        let problem = problem_in(&bytes[..cut], &checkpoint).expect("truncation detected");
        let seq = line_of(&bytes, cut);
        let expected = if cut == 0 || bytes[cut - 1] == b'\n' {
            ProblemKind::Truncated { checkpoint: 1, checkpoint_seq: n as u64 }
        } else {
            ProblemKind::Torn
        };
        prop_assert_eq!((problem.seq, problem.kind), (seq, expected));
    }
}

/// Re-runs this test binary as a child that runs only test `name`, with `switch` set to `dir`.
fn spawn_child(name: &str, switch: &str, dir: &Path) -> std::process::Child {
    // `/proc/self/exe` still runs this binary if a concurrent build replaced the file on disk.
    let exe = Path::new("/proc/self/exe");
    let exe = if exe.exists() {
        exe.to_path_buf()
    } else {
        std::env::current_exe().unwrap()
    };
    Command::new(exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1", "-q"])
        .env(switch, dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Child role for `two_processes_append_one_chain`: appends 500 records and closes.
#[test]
fn append_writer_child() {
    let Some(dir) = child_dir(APPEND_WRITER) else {
        return;
    };
    let (log_path, checkpoints) = paths(&dir);
    let mut log = AuditLog::open(&log_path, &checkpoints, Some(key())).unwrap();
    let actor = format!("child:{}", std::process::id());
    for n in 0..500 {
        log.append(Event::new("test.append", &actor).data(json!({ "n": n })))
            .unwrap();
    }
    log.close().unwrap();
}

#[test]
fn two_processes_append_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let (log_path, checkpoints) = paths(dir.path());
    let children: Vec<_> = (0..2)
        .map(|_| {
            spawn_child(
                "suite::audit::append_writer_child",
                APPEND_WRITER,
                dir.path(),
            )
        })
        .collect();
    let mut actors = Vec::new();
    for mut child in children {
        actors.push(format!("child:{}", child.id()));
        assert!(child.wait().unwrap().success());
    }
    let report = verify(&log_path, &checkpoints, &[key().public()]).unwrap();
    assert_eq!((report.records, &report.problem), (1000, &None));
    assert!(
        report.checkpoints >= 2,
        "each close checkpoints: {report:?}"
    );
    assert_eq!(report.last_checkpoint_seq, Some(1000));
    for actor in actors {
        let mine = read_records(&log_path, &Filter::default())
            .unwrap()
            .filter(|record| record.as_ref().unwrap().actor == actor)
            .count();
        assert_eq!(mine, 500, "{actor}");
    }
}

#[test]
fn two_threads_append_one_chain() {
    let dir = tempfile::tempdir().unwrap();
    let (log_path, checkpoints) = paths(dir.path());
    std::thread::scope(|scope| {
        for writer in 0..2 {
            let (log_path, checkpoints) = (&log_path, &checkpoints);
            scope.spawn(move || {
                let mut log = AuditLog::open(log_path, checkpoints, Some(key())).unwrap();
                for n in 0..100 {
                    let event = Event::new("test.thread", format!("thread:{writer}"));
                    if n % 10 == 0 {
                        log.append_batch(vec![event.clone(), event]).unwrap();
                    } else {
                        log.append(event).unwrap();
                    }
                }
            });
        }
    });
    let report = verify(&log_path, &checkpoints, &[key().public()]).unwrap();
    assert_eq!((report.records, report.problem), (220, None));
    assert_eq!(report.last_checkpoint_seq, Some(220));
}

/// Child role for `killed_writers_leave_a_recoverable_chain`: appends until killed.
#[test]
fn crash_writer_child() {
    let Some(dir) = child_dir(CRASH_WRITER) else {
        return;
    };
    let (log_path, checkpoints) = paths(&dir);
    let mut log = AuditLog::open(&log_path, &checkpoints, Some(key())).unwrap();
    log.set_checkpoint_every(400);
    for round in 0u64.. {
        // Mixed batch sizes vary where the kill lands; the pause keeps the log small enough for
        // the parent to verify quickly in a debug build.
        let size = 1 + (round % 8) as usize;
        let events = (0..size)
            .map(|n| Event::new("test.crash", "child").data(json!({ "pad": "x".repeat(n * 40) })))
            .collect();
        log.append_batch(events).unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Checks that `dir` holds a chain that is intact or torn only at its end, then appends (which
/// recovers any torn tail) and checks the result verifies. Returns whether it was torn.
fn recover_and_check(dir: &Path) -> bool {
    let (log_path, checkpoints) = paths(dir);
    let trusted = [key().public()];
    let before = verify(&log_path, &checkpoints, &trusted).unwrap();
    let torn = match &before.problem {
        None => false,
        Some(problem) if problem.kind == ProblemKind::Torn => {
            assert_eq!(problem.seq, before.last_seq + 1, "{problem}");
            true
        }
        Some(problem) => panic!("unexpected problem after a kill: {problem}"),
    };
    // No signer: checkpoint verification dominates a debug build, so only children sign.
    let mut log = AuditLog::open(&log_path, &checkpoints, None).unwrap();
    let record = log.append(Event::new("test.after", "parent")).unwrap();
    log.close().unwrap();
    let after = verify(&log_path, &checkpoints, &trusted).unwrap();
    assert_eq!(after.problem, None);
    let added = if torn { 2 } else { 1 };
    assert_eq!(
        (record.seq, after.records),
        (before.last_seq + added, before.last_seq + added)
    );
    if torn {
        let records: Vec<Record> = read_records(&log_path, &Filter::default())
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let recovered = &records[records.len() - 2];
        assert_eq!(recovered.kind, "audit.recovered");
        let saved_to = recovered.data["saved_to"].as_str().unwrap();
        let saved = fs_err::read(dir.join(saved_to)).unwrap();
        assert_eq!(recovered.data["torn_bytes"], json!(saved.len()));
    }
    torn
}

#[test]
fn killed_writers_leave_a_recoverable_chain() {
    let dir = tempfile::tempdir().unwrap();
    let (log_path, _) = paths(dir.path());
    let mut torn = 0;
    for round in 0..24u64 {
        let start_len = fs_err::metadata(&log_path).map(|m| m.len()).unwrap_or(0);
        let mut child = spawn_child("suite::audit::crash_writer_child", CRASH_WRITER, dir.path());
        // Wait until the child is appending, then let it run a pseudo-random 0..=24 ms.
        let deadline = Instant::now() + Duration::from_secs(10);
        while fs_err::metadata(&log_path).map(|m| m.len()).unwrap_or(0) == start_len {
            assert!(Instant::now() < deadline, "child never appended");
            std::thread::sleep(Duration::from_millis(1));
        }
        let jitter = (Timestamp::now().unix_nanos() as u64 ^ round.wrapping_mul(7919)) % 25;
        std::thread::sleep(Duration::from_millis(jitter));
        child.kill().unwrap();
        child.wait().unwrap();
        torn += u32::from(recover_and_check(dir.path()));
    }
    eprintln!("killed 24 writers; {torn} left a torn line");
}

#[test]
fn a_torn_write_is_named_then_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let (log_path, checkpoints) = paths(dir.path());
    let mut log = AuditLog::open(&log_path, &checkpoints, Some(key())).unwrap();
    for n in 0..5 {
        log.append(Event::new("test.before", "x").data(json!({ "n": n })))
            .unwrap();
    }
    log.close().unwrap();
    // What a writer killed mid-line leaves: the first 57 bytes of a record, no newline.
    let whole = fs_err::read_to_string(&log_path).unwrap();
    let partial = &whole.lines().next().unwrap()[..57];
    let mut raw = fs_err::OpenOptions::new()
        .append(true)
        .open(&log_path)
        .unwrap();
    std::io::Write::write_all(&mut raw, partial.as_bytes()).unwrap();
    let report = verify(&log_path, &checkpoints, &[key().public()]).unwrap();
    let problem = report.problem.unwrap();
    assert_eq!((problem.seq, &problem.kind), (6, &ProblemKind::Torn));
    assert_eq!(
        problem.to_string(),
        "seq 6: torn record (57 bytes after the last newline)"
    );
    assert_eq!((report.records, report.last_checkpoint_seq), (5, Some(5)));
    assert!(recover_and_check(dir.path()));
    let records: Vec<Record> = read_records(&log_path, &Filter::default())
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(records[5].seq, 6);
    assert_eq!(records[5].data["torn_bytes"], json!(57));
    assert_eq!(records[6].kind, "test.after");
}
