//! Reading the log for `logs`: a filter, a streaming reader, and a follower for `--follow`.
//! Reads only complete lines and never checks the chain (that is `verify`'s job).

use super::record::Record;
use super::{AuditError, io_error};
use crate::timestamp::Timestamp;
use std::fs::File;
use std::io::{BufRead as _, BufReader};
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};

/// Which records `logs` shows. Empty fields match everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Filter {
    /// Exact skill name.
    pub skill: Option<String>,
    /// Exact kind, or a prefix when it ends in `.` (`policy.`) or `*` (`policy.*`, `pol*`).
    pub kind: Option<String>,
    /// Only records at or after this time.
    pub since: Option<Timestamp>,
}

impl Filter {
    /// Whether `record` passes the filter.
    pub fn matches(&self, record: &Record) -> bool {
        if let Some(skill) = &self.skill
            && record.skill.as_deref() != Some(skill.as_str())
        {
            return false;
        }
        if let Some(kind) = &self.kind {
            let matched = if let Some(prefix) = kind.strip_suffix('*') {
                record.kind.starts_with(prefix)
            } else if kind.ends_with('.') {
                record.kind.starts_with(kind.as_str())
            } else {
                record.kind == *kind
            };
            if !matched {
                return false;
            }
        }
        self.since.is_none_or(|since| record.ts >= since)
    }
}

/// Parses one complete line (without its newline) that starts at byte `offset`.
fn parse_line(path: &Path, offset: u64, line: &[u8]) -> Result<Record, AuditError> {
    serde_json::from_slice(line).map_err(|error| AuditError::MalformedRecord {
        path: path.to_path_buf(),
        offset,
        detail: error.to_string(),
    })
}

/// Opens `path` for reading; `None` if it does not exist.
fn open_if_exists(path: &Path) -> Result<Option<File>, AuditError> {
    super::open_for_reading(path)
}

/// Streams the records of the log at `log_path` that pass `filter`, oldest first. A missing
/// log is empty, and a torn last line (a write in progress or cut short) is skipped.
pub fn read_records(log_path: &Path, filter: &Filter) -> Result<Records, AuditError> {
    Ok(Records {
        path: log_path.to_path_buf(),
        filter: filter.clone(),
        reader: open_if_exists(log_path)?.map(|file| BufReader::with_capacity(1 << 16, file)),
        offset: 0,
        line: Vec::with_capacity(1024),
    })
}

/// Iterator returned by [`read_records`]. After a malformed line it reports the error and
/// goes on with the next line.
#[derive(Debug)]
pub struct Records {
    path: PathBuf,
    filter: Filter,
    reader: Option<BufReader<File>>,
    offset: u64,
    line: Vec<u8>,
}

impl Iterator for Records {
    type Item = Result<Record, AuditError>;

    fn next(&mut self) -> Option<Self::Item> {
        let reader = self.reader.as_mut()?;
        loop {
            self.line.clear();
            let read = match reader.read_until(b'\n', &mut self.line) {
                Ok(read) => read,
                Err(error) => {
                    self.reader = None;
                    return Some(Err(io_error("read", &self.path)(error)));
                }
            };
            let start = self.offset;
            self.offset += read as u64;
            let content = self.line.strip_suffix(b"\n")?;
            match parse_line(&self.path, start, content) {
                Ok(record) if self.filter.matches(&record) => return Some(Ok(record)),
                Ok(_) => {}
                Err(error) => return Some(Err(error)),
            }
        }
    }
}

/// The record whose line starts at byte `offset` of the log at `log_path`: `None` when the log
/// is missing, `offset` is not the start of a line, or no complete line starts there. Reads
/// only that line, however long the log.
pub fn read_record_at(log_path: &Path, offset: u64) -> Result<Option<Record>, AuditError> {
    let Some(file) = open_if_exists(log_path)? else {
        return Ok(None);
    };
    let len = file
        .metadata()
        .map_err(io_error("read metadata of", log_path))?
        .len();
    if offset >= len {
        return Ok(None);
    }
    // A line starts at 0 or right after a newline: read from the byte before it.
    let from = offset.saturating_sub(1);
    let skip = usize::from(offset > 0);
    let mut bytes = Vec::new();
    let mut step = 4096u64;
    loop {
        let at = from + bytes.len() as u64;
        let size = step.min(len - at);
        let mut chunk = vec![0u8; usize::try_from(size).unwrap_or(0)];
        file.read_exact_at(&mut chunk, at)
            .map_err(io_error("read", log_path))?;
        bytes.extend_from_slice(&chunk);
        if skip == 1 && bytes[0] != b'\n' {
            return Ok(None);
        }
        if let Some(end) = bytes[skip..].iter().position(|byte| *byte == b'\n') {
            return parse_line(log_path, offset, &bytes[skip..skip + end]).map(Some);
        }
        if at + size >= len {
            return Ok(None);
        }
        step = step.saturating_mul(2);
    }
}

/// The last complete record of the log at `log_path` whose kind is one of `kinds`, with the
/// offset where its line starts (`None`: there is none). Reads the whole log, parsing only
/// the lines that can hold such a kind; a malformed one is an error, never skipped.
pub fn last_of_kinds(log_path: &Path, kinds: &[&str]) -> Result<Option<(Record, u64)>, AuditError> {
    let Some(file) = open_if_exists(log_path)? else {
        return Ok(None);
    };
    // Canonical lines spell a top-level kind exactly so; inside a string every `"` is
    // escaped, so no string value can hold these bytes. Nested `"kind"` keys pass the
    // filter and are told apart by the parse.
    let needles: Vec<Vec<u8>> = kinds
        .iter()
        .map(|kind| format!("\"kind\":\"{kind}\"").into_bytes())
        .collect();
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut line = Vec::with_capacity(1024);
    let mut offset = 0u64;
    let mut last = None;
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .map_err(io_error("read", log_path))?;
        let Some(content) = line.strip_suffix(b"\n") else {
            // The end, or a torn last line (a write in progress).
            break;
        };
        let candidate = needles.iter().any(|needle| {
            content
                .windows(needle.len())
                .any(|window| window == needle.as_slice())
        });
        if candidate {
            let record = parse_line(log_path, offset, content)?;
            if kinds.contains(&record.kind.as_str()) {
                last = Some((record, offset));
            }
        }
        offset += read as u64;
    }
    Ok(last)
}

/// Follows a growing log for `logs --follow`: each [`Follower::poll`] returns the complete
/// lines appended since the last one. Remembers its byte offset; a partial line waits.
#[derive(Debug)]
pub struct Follower {
    path: PathBuf,
    filter: Filter,
    offset: u64,
    file: Option<File>,
}

impl Follower {
    /// Follows from the start of the log, so the first poll returns every record.
    pub fn from_start(log_path: &Path, filter: Filter) -> Self {
        Self {
            path: log_path.to_path_buf(),
            filter,
            offset: 0,
            file: None,
        }
    }

    /// Follows from the end of the last complete line now in the log.
    pub fn from_end(log_path: &Path, filter: Filter) -> Result<Self, AuditError> {
        let mut follower = Self::from_start(log_path, filter);
        if let Some(file) = open_if_exists(log_path)? {
            follower.offset = super::chain::read_tail_bytes(&file, log_path)?.complete_len;
            follower.file = Some(file);
        }
        Ok(follower)
    }

    /// Byte offset of the next unread line.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Returns the records (passing the filter) in complete lines appended since the last poll.
    pub fn poll(&mut self) -> Result<Vec<Record>, AuditError> {
        if self.file.is_none() {
            self.file = open_if_exists(&self.path)?;
        }
        let Some(file) = &self.file else {
            return Ok(Vec::new());
        };
        let len = file
            .metadata()
            .map_err(io_error("read metadata of", &self.path))?
            .len();
        if len < self.offset {
            return Err(AuditError::Shrunk {
                path: self.path.clone(),
                offset: self.offset,
                len,
            });
        }
        let mut bytes = vec![0u8; (len - self.offset) as usize];
        file.read_exact_at(&mut bytes, self.offset)
            .map_err(io_error("read", &self.path))?;
        let complete = bytes
            .iter()
            .rposition(|byte| *byte == b'\n')
            .map_or(0, |end| end + 1);
        let mut records = Vec::new();
        let mut start = self.offset;
        for line in bytes[..complete].split_inclusive(|byte| *byte == b'\n') {
            let content = line.strip_suffix(b"\n").unwrap_or(line);
            let record = parse_line(&self.path, start, content)?;
            start += line.len() as u64;
            if self.filter.matches(&record) {
                records.push(record);
            }
        }
        self.offset += complete as u64;
        Ok(records)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::{AuditLog, Event};
    use std::io::Write as _;

    fn kinds(records: impl IntoIterator<Item = Result<Record, AuditError>>) -> Vec<String> {
        records
            .into_iter()
            .map(|record| record.unwrap().kind)
            .collect()
    }

    #[test]
    fn filters_by_skill_kind_prefix_and_time() {
        let dir = tempfile::tempdir().unwrap();
        let log_path = dir.path().join("audit.jsonl");
        assert_eq!(
            read_records(&log_path, &Filter::default()).unwrap().count(),
            0
        );
        let mut log = AuditLog::open(&log_path, &dir.path().join("cp"), None).unwrap();
        let start = Timestamp::now();
        log.append_batch(vec![
            Event::new("policy.decision", "x").skill("web"),
            Event::new("policy.reload", "x"),
            Event::new("skill.run", "x").skill("web"),
            Event::new("policyx", "x"),
        ])
        .unwrap();
        let all = |filter: Filter| kinds(read_records(&log_path, &filter).unwrap());
        let kind = |text: &str| Filter {
            kind: Some(text.into()),
            ..Filter::default()
        };
        assert_eq!(all(kind("policy.")), ["policy.decision", "policy.reload"]);
        assert_eq!(
            all(kind("policy*")),
            ["policy.decision", "policy.reload", "policyx"]
        );
        assert_eq!(all(kind("skill.run")), ["skill.run"]);
        let web = Filter {
            skill: Some("web".into()),
            ..Filter::default()
        };
        assert_eq!(all(web), ["policy.decision", "skill.run"]);
        let later = Filter {
            since: Some(Timestamp::from_unix_nanos(
                start.unix_nanos() + 3_600_000_000_000,
            )),
            ..Filter::default()
        };
        assert_eq!(all(later).len(), 0);
    }

    #[test]
    fn a_record_is_read_at_its_offset_and_nowhere_else() {
        let dir = tempfile::tempdir().unwrap();
        let log_path = dir.path().join("audit.jsonl");
        assert_eq!(read_record_at(&log_path, 0).unwrap(), None);
        let mut log = AuditLog::open(&log_path, &dir.path().join("cp"), None).unwrap();
        let long = "z".repeat(10_000);
        let located = log
            .append_batch_located(vec![
                Event::new("one", "x"),
                Event::new("two", "x").reason(long),
                Event::new("three", "x"),
            ])
            .unwrap();
        for (record, offset) in &located {
            assert_eq!(
                read_record_at(&log_path, *offset).unwrap().as_ref(),
                Some(record)
            );
        }
        // Inside a line, past the end, or on a torn last line: nothing.
        assert_eq!(read_record_at(&log_path, located[1].1 + 5).unwrap(), None);
        let len = fs_err::metadata(&log_path).unwrap().len();
        assert_eq!(read_record_at(&log_path, len).unwrap(), None);
        let mut raw = fs_err::OpenOptions::new()
            .append(true)
            .open(&log_path)
            .unwrap();
        raw.write_all(b"{\"seq\":4").unwrap();
        assert_eq!(read_record_at(&log_path, len).unwrap(), None);
    }

    #[test]
    fn the_last_record_of_some_kinds_is_found_with_its_offset() {
        let dir = tempfile::tempdir().unwrap();
        let log_path = dir.path().join("audit.jsonl");
        assert_eq!(last_of_kinds(&log_path, &["a.on"]).unwrap(), None);
        let mut log = AuditLog::open(&log_path, &dir.path().join("cp"), None).unwrap();
        let located = log
            .append_batch_located(vec![
                Event::new("a.on", "x"),
                Event::new("a.off", "x"),
                // Lookalikes: a nested kind and one inside a string.
                Event::new("other", "x").data(serde_json::json!({"kind": "a.on"})),
                Event::new("other", "x").reason(r#""kind":"a.on""#),
            ])
            .unwrap();
        let found = last_of_kinds(&log_path, &["a.on", "a.off"]).unwrap();
        assert_eq!(found, Some(located[1].clone()));
        let on = last_of_kinds(&log_path, &["a.on"]).unwrap();
        assert_eq!(on, Some(located[0].clone()));
        assert_eq!(last_of_kinds(&log_path, &["b"]).unwrap(), None);
    }

    #[test]
    fn follower_returns_only_new_complete_lines() {
        let dir = tempfile::tempdir().unwrap();
        let log_path = dir.path().join("audit.jsonl");
        let mut follower = Follower::from_start(&log_path, Filter::default());
        assert!(follower.poll().unwrap().is_empty());
        let mut log = AuditLog::open(&log_path, &dir.path().join("cp"), None).unwrap();
        log.append(Event::new("one", "x")).unwrap();
        let mut late = Follower::from_end(&log_path, Filter::default()).unwrap();
        assert_eq!(kinds(follower.poll().unwrap().into_iter().map(Ok)), ["one"]);
        let mut raw = fs_err::OpenOptions::new()
            .append(true)
            .open(&log_path)
            .unwrap();
        raw.write_all(b"{\"partial").unwrap();
        assert!(follower.poll().unwrap().is_empty());
        log.append(Event::new("two", "x")).unwrap();
        assert_eq!(
            kinds(follower.poll().unwrap().into_iter().map(Ok)),
            ["audit.recovered", "two"]
        );
        assert_eq!(
            kinds(late.poll().unwrap().into_iter().map(Ok)),
            ["audit.recovered", "two"]
        );
        assert_eq!(
            follower.offset(),
            fs_err::metadata(&log_path).unwrap().len()
        );
        fs_err::write(&log_path, "").unwrap();
        assert!(matches!(follower.poll(), Err(AuditError::Shrunk { .. })));
    }
}
