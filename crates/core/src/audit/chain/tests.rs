use super::*;
use crate::audit::verify::verify;
use crate::key::SigningKey;
use serde_json::json;

fn paths(dir: &Path) -> (PathBuf, PathBuf) {
    (dir.join("audit.jsonl"), dir.join("checkpoints.jsonl"))
}

#[test]
fn the_tail_line_must_be_an_object_with_seq_and_hash() {
    let hash = "ab".repeat(32);
    let line = format!(r#"{{"data":{{"big":[1,2,3]}},"hash":"{hash}","seq":7}}"#);
    assert_eq!(parse_tail_line(line.as_bytes()), Ok((7, hash.clone())));
    let array = format!(r#"[7,"{hash}"]"#);
    assert_eq!(
        parse_tail_line(array.as_bytes()),
        Err("not a JSON object".to_string())
    );
    assert!(
        parse_tail_line(br#"{"seq":0}"#)
            .unwrap_err()
            .contains("seq")
    );
    assert!(
        parse_tail_line(br#"{"seq":3,"hash":"xyz"}"#)
            .unwrap_err()
            .contains("hash")
    );
    assert!(
        parse_tail_line(br#"{"seq":3"#)
            .unwrap_err()
            .starts_with("not JSON")
    );
}

#[test]
fn appends_chain_and_checkpoint_on_close() {
    let dir = tempfile::tempdir().unwrap();
    let (log_path, checkpoints) = paths(dir.path());
    let key = SigningKey::from_seed([3; 32]);
    let mut log = AuditLog::open(&log_path, &checkpoints, Some(key.clone())).unwrap();
    let first = log.append(Event::new("a.one", "cli:alice")).unwrap();
    let batch = log
        .append_batch(vec![
            Event::new("a.two", "cli:alice"),
            Event::new("a.three", "x"),
        ])
        .unwrap();
    assert_eq!((first.seq, first.prev.as_str()), (1, GENESIS_HASH));
    assert_eq!(batch[0].prev, first.hash);
    assert_eq!((batch[1].seq, &batch[1].prev), (3, &batch[0].hash));
    log.close().unwrap();
    let report = verify(&log_path, &checkpoints, &[key.public()]).unwrap();
    assert_eq!(
        (report.records, report.last_seq, report.checkpoints),
        (3, 3, 1)
    );
    assert_eq!(report.last_hash, batch[1].hash);
    assert_eq!(report.problem, None);
    let mode = fs_err::metadata(&log_path).unwrap().permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );
}

#[test]
fn located_appends_name_where_each_line_starts() {
    let dir = tempfile::tempdir().unwrap();
    let (log_path, checkpoints) = paths(dir.path());
    let mut log = AuditLog::open(&log_path, &checkpoints, None).unwrap();
    let (first, at) = log.append_located(Event::new("a", "x")).unwrap();
    // A torn tail is cut and recorded first; the offsets count from the cut.
    let mut file = fs_err::OpenOptions::new()
        .append(true)
        .open(&log_path)
        .unwrap();
    file.write_all(b"{\"torn").unwrap();
    let located = log
        .append_batch_located(vec![Event::new("b", "x"), Event::new("c", "x")])
        .unwrap();
    let text = fs_err::read_to_string(&log_path).unwrap();
    let starts: Vec<u64> = std::iter::once(0)
        .chain(text.match_indices('\n').map(|(at, _)| at as u64 + 1))
        .collect();
    assert_eq!(at, 0);
    assert_eq!(first.seq, 1);
    let seqs_and_offsets: Vec<(u64, u64)> = located
        .iter()
        .map(|(record, offset)| (record.seq, *offset))
        .collect();
    assert_eq!(seqs_and_offsets, vec![(3, starts[2]), (4, starts[3])]);
    for (record, offset) in &located {
        let line = text[*offset as usize..].lines().next().unwrap();
        assert_eq!(&serde_json::from_str::<Record>(line).unwrap(), record);
    }
}

#[test]
fn recovers_a_torn_tail_before_the_next_record() {
    let dir = tempfile::tempdir().unwrap();
    let (log_path, checkpoints) = paths(dir.path());
    let mut log = AuditLog::open(&log_path, &checkpoints, None).unwrap();
    log.append(Event::new("a", "x")).unwrap();
    let mut file = fs_err::OpenOptions::new()
        .append(true)
        .open(&log_path)
        .unwrap();
    file.write_all(b"{\"actor\":\"x\",\"da").unwrap();
    let record = log.append(Event::new("b", "x")).unwrap();
    assert_eq!(record.seq, 3);
    let lines: Vec<Record> = fs_err::read_to_string(&log_path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let recovered = &lines[1];
    assert_eq!(
        (recovered.seq, recovered.kind.as_str()),
        (2, "audit.recovered")
    );
    let saved_to = recovered.data["saved_to"].as_str().unwrap();
    assert!(saved_to.starts_with("torn-2-") && saved_to.ends_with(".bin"));
    assert_eq!(
        fs_err::read(dir.path().join(saved_to)).unwrap(),
        b"{\"actor\":\"x\",\"da"
    );
    assert_eq!(recovered.data["torn_bytes"], json!(16));
    assert_eq!(
        recovered.data["sha256"],
        json!(hex::encode(Sha256::digest(b"{\"actor\":\"x\",\"da")))
    );
    assert_eq!(verify(&log_path, &checkpoints, &[]).unwrap().problem, None);
}

#[test]
fn tail_reader_handles_long_lines_and_no_newline() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let long = "y".repeat(20_000);
    fs_err::write(&path, format!("a\n{long}\ntorn")).unwrap();
    let file = open_private(&path).unwrap();
    let tail = read_tail_bytes(&file, &path).unwrap();
    assert_eq!(tail.last_line.as_deref(), Some(long.as_bytes()));
    assert_eq!(tail.complete_len, 2 + 20_001);
    assert_eq!(tail.torn.as_deref(), Some(&b"torn"[..]));
    fs_err::write(&path, "only torn").unwrap();
    let tail = read_tail_bytes(&file, &path).unwrap();
    assert_eq!((tail.last_line, tail.complete_len), (None, 0));
    fs_err::write(&path, "").unwrap();
    let tail = read_tail_bytes(&file, &path).unwrap();
    assert_eq!(
        tail,
        TailBytes {
            last_line: None,
            complete_len: 0,
            torn: None
        }
    );
}

#[test]
fn missing_directory_and_corrupt_tail_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let nowhere = dir.path().join("nope/audit.jsonl");
    let error = AuditLog::open(&nowhere, &nowhere, None).unwrap_err();
    assert!(
        error.to_string().contains("nope` does not exist"),
        "{error}"
    );
    let (log_path, checkpoints) = paths(dir.path());
    fs_err::write(&log_path, "not json\n").unwrap();
    let mut log = AuditLog::open(&log_path, &checkpoints, None).unwrap();
    let error = log.append(Event::new("a", "x")).unwrap_err();
    assert!(error.to_string().starts_with("last record of `"), "{error}");
}

#[test]
fn checkpoints_every_interval_and_none_without_signer() {
    let dir = tempfile::tempdir().unwrap();
    let (log_path, checkpoints) = paths(dir.path());
    let key = SigningKey::from_seed([5; 32]);
    let mut log = AuditLog::open(&log_path, &checkpoints, Some(key.clone())).unwrap();
    log.set_checkpoint_every(4);
    let events = (0..9)
        .map(|n| Event::new("n", "x").data(json!({ "n": n })))
        .collect();
    log.append_batch(events).unwrap();
    log.append(Event::new("n", "x")).unwrap();
    std::mem::forget(log); // no checkpoint on drop: count only the interval ones
    let text = fs_err::read_to_string(&checkpoints).unwrap();
    assert_eq!(
        text.lines().count(),
        1,
        "one batch crossing 4 and 8 writes one: {text}"
    );
    let report = verify(&log_path, &checkpoints, &[key.public()]).unwrap();
    assert_eq!(
        (report.last_checkpoint_seq, report.problem),
        (Some(9), None)
    );
    let bare = dir.path().join("bare.jsonl");
    let mut log = AuditLog::open(&bare, &dir.path().join("bare-cp.jsonl"), None).unwrap();
    log.append(Event::new("n", "x")).unwrap();
    assert_eq!(log.checkpoint().unwrap(), None);
    drop(log);
    assert!(!dir.path().join("bare-cp.jsonl").exists());
}

#[test]
fn deferred_batches_chain_at_once_and_are_synced_before_any_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (log_path, checkpoints) = paths(dir.path());
    let key = SigningKey::from_seed([6; 32]);
    let mut log = AuditLog::open(&log_path, &checkpoints, Some(key.clone())).unwrap();
    let (records, durable) = log
        .append_batch_deferred(vec![Event::new("a", "x"), Event::new("b", "x")])
        .unwrap();
    assert_eq!(records.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2]);
    assert!(!log.synced.load(Ordering::Acquire), "not yet known durable");
    // Another writer chains after the deferred records straight away.
    let mut other = AuditLog::open(&log_path, &checkpoints, Some(key.clone())).unwrap();
    assert_eq!(other.append(Event::new("c", "y")).unwrap().seq, 3);
    std::thread::spawn(move || durable.wait())
        .join()
        .unwrap()
        .unwrap();
    assert!(log.synced.load(Ordering::Acquire));
    other.close().unwrap();
    log.close().unwrap();
    let report = verify(&log_path, &checkpoints, &[key.public()]).unwrap();
    assert_eq!((report.last_seq, report.problem), (3, None));
    assert_eq!(report.last_checkpoint_seq, Some(3));
}

#[test]
fn a_final_batch_is_synced_and_sealed_while_meanwhile_runs_and_close_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (log_path, checkpoints) = paths(dir.path());
    let key = SigningKey::from_seed([8; 32]);
    let mut log = AuditLog::open(&log_path, &checkpoints, Some(key.clone())).unwrap();
    let (_, durable) = log
        .append_batch_deferred(vec![Event::new("a", "x")])
        .unwrap();
    durable.wait().unwrap();
    let mut ran = false;
    let records = log
        .append_final_batch(vec![Event::new("b", "x"), Event::new("c", "x")], || {
            ran = true;
        })
        .unwrap();
    assert!(ran);
    assert_eq!(records.iter().map(|r| r.seq).collect::<Vec<_>>(), [2, 3]);
    assert!(log.synced.load(Ordering::Acquire) && !log.unchecked);
    let lines = || {
        fs_err::read_to_string(&checkpoints)
            .unwrap()
            .lines()
            .count()
    };
    assert_eq!(lines(), 1);
    log.close().unwrap();
    assert_eq!(lines(), 1, "close wrote no second checkpoint");
    let report = verify(&log_path, &checkpoints, &[key.public()]).unwrap();
    assert_eq!(
        (report.last_seq, report.last_checkpoint_seq, report.problem),
        (3, Some(3), None)
    );
    // Without a signer it is a plain batch, and `meanwhile` still runs.
    let bare = dir.path().join("bare.jsonl");
    let mut unsigned = AuditLog::open(&bare, &checkpoints, None).unwrap();
    let mut ran = false;
    unsigned
        .append_final_batch(vec![Event::new("d", "x")], || ran = true)
        .unwrap();
    assert!(ran);
}

#[test]
fn closing_after_an_unwaited_deferred_batch_syncs_then_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let (log_path, checkpoints) = paths(dir.path());
    let key = SigningKey::from_seed([7; 32]);
    let mut log = AuditLog::open(&log_path, &checkpoints, Some(key.clone())).unwrap();
    let (_, durable) = log
        .append_batch_deferred(vec![Event::new("a", "x")])
        .unwrap();
    drop(durable);
    let synced = Arc::clone(&log.synced);
    log.close().unwrap();
    assert!(
        synced.load(Ordering::Acquire),
        "close fsynced the batch first"
    );
    let report = verify(&log_path, &checkpoints, &[key.public()]).unwrap();
    assert_eq!(
        (report.last_checkpoint_seq, report.problem),
        (Some(1), None)
    );
    // A deferred batch that crosses a checkpoint interval is synced at once.
    let mut log = AuditLog::open(&log_path, &checkpoints, Some(key.clone())).unwrap();
    log.set_checkpoint_every(2);
    let (_, durable) = log
        .append_batch_deferred(vec![Event::new("b", "x")])
        .unwrap();
    assert!(log.synced.load(Ordering::Acquire));
    durable.wait().unwrap();
    std::mem::forget(log);
    let report = verify(&log_path, &checkpoints, &[key.public()]).unwrap();
    assert_eq!(
        (report.last_checkpoint_seq, report.problem),
        (Some(2), None)
    );
}
