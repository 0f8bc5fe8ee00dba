//! The audit writer: appends hash-chained records under an exclusive lock on the log, recovers a
//! torn tail, and writes signed checkpoints. Never rewrites a complete record; does not verify.

use super::checkpoint::{self, Checkpoint};
use super::record::{Event, GENESIS_HASH, Record, decode_hash};
use super::{AuditError, io_error, parent_dir, require_parent, sync_parent};
use crate::key::SigningKey;
use crate::timestamp::Timestamp;
use fs_err::os::unix::fs::OpenOptionsExt as _;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use std::fs::File;
use std::io::Write as _;
use std::os::unix::fs::FileExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Records between automatic checkpoints unless `set_checkpoint_every` says otherwise.
pub const DEFAULT_CHECKPOINT_EVERY: u64 = 1000;

/// The stack of the thread that works while a writer's last batch is fsynced: the caller's
/// clean-up and the checkpoint's signature.
const MEANWHILE_STACK: usize = 256 * 1024;

/// An open audit log. Each append locks the file, reads the tail, writes, fsyncs and unlocks,
/// so several writers (threads or processes) can share one log. Closing or dropping a writer
/// that appended writes a signed checkpoint when it has a signer.
#[derive(Debug)]
pub struct AuditLog {
    log_path: PathBuf,
    checkpoints_path: PathBuf,
    file: File,
    signer: Option<SigningKey>,
    checkpoint_every: u64,
    /// Whether this writer appended records that no checkpoint covers yet.
    unchecked: bool,
    /// Cleared by [`append_batch_deferred`](Self::append_batch_deferred) until its
    /// [`Durable::wait`] has synced the records; a checkpoint is never written before that.
    synced: Arc<AtomicBool>,
    line: String,
}

/// Records written by [`AuditLog::append_batch_deferred`] that are not yet known to be on disk.
/// [`wait`](Self::wait) makes them durable; it may run on another thread while the caller
/// prepares the action the records announce, which must not start before `wait` returns `Ok`.
#[derive(Debug)]
#[must_use = "the records are durable only once `wait` returns Ok"]
pub struct Durable {
    file: File,
    path: PathBuf,
    synced: Arc<AtomicBool>,
}

impl Durable {
    /// fsyncs the log; the records are durable when this returns `Ok`.
    pub fn wait(self) -> Result<(), AuditError> {
        self.file
            .sync_data()
            .map_err(io_error("fsync", &self.path))?;
        self.synced.store(true, Ordering::Release);
        Ok(())
    }
}

impl AuditLog {
    /// Opens (creating with mode 0600) the log at `log_path`. Checkpoints go to
    /// `checkpoints_path` and are signed with `signer`; with `None`, none are written.
    /// Both parent directories must already exist.
    pub fn open(
        log_path: &Path,
        checkpoints_path: &Path,
        signer: Option<SigningKey>,
    ) -> Result<Self, AuditError> {
        require_parent(log_path)?;
        require_parent(checkpoints_path)?;
        let existed = log_path.exists();
        let file = open_private(log_path)?;
        if !existed {
            sync_parent(log_path)?;
        }
        Ok(Self {
            log_path: log_path.to_path_buf(),
            checkpoints_path: checkpoints_path.to_path_buf(),
            file,
            signer,
            checkpoint_every: DEFAULT_CHECKPOINT_EVERY,
            unchecked: false,
            synced: Arc::new(AtomicBool::new(true)),
            line: String::with_capacity(512),
        })
    }

    /// Sets how many records pass between automatic checkpoints (at least 1).
    pub fn set_checkpoint_every(&mut self, every: u64) {
        self.checkpoint_every = every.max(1);
    }

    /// The log file's path.
    pub fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Appends one record; it is on disk (fsync) when this returns.
    pub fn append(&mut self, event: Event) -> Result<Record, AuditError> {
        Ok(self.append_located(event)?.0)
    }

    /// Appends one record like [`append`](Self::append), and returns the byte offset in the
    /// log where its line starts (for state that names the record, such as lockdown's).
    pub fn append_located(&mut self, event: Event) -> Result<(Record, u64), AuditError> {
        let mut records = self.append_batch_located(vec![event])?;
        // `append_batch_located` returns exactly one record per event.
        Ok(records.swap_remove(0))
    }

    /// Appends `events` in order with one write and one fsync (group commit).
    pub fn append_batch(&mut self, events: Vec<Event>) -> Result<Vec<Record>, AuditError> {
        Ok(self
            .append_batch_located(events)?
            .into_iter()
            .map(|(record, _)| record)
            .collect())
    }

    /// Appends `events` like [`append_batch`](Self::append_batch), with the byte offset in the
    /// log where each record's line starts.
    pub fn append_batch_located(
        &mut self,
        events: Vec<Event>,
    ) -> Result<Vec<(Record, u64)>, AuditError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        if let Some(bad) = events.iter().find(|event| !event.data.is_object()) {
            return Err(AuditError::DataNotObject {
                kind: bad.kind.clone(),
            });
        }
        self.locked(|log| log.commit(events, true))
    }

    /// Like [`append_batch`](Self::append_batch), but returns once the records are written,
    /// before the fsync: the returned [`Durable`] does it, so the caller can overlap the disk's
    /// latency with preparing the action the records announce (a sandbox being built, say).
    /// Other writers chain after these records at once; the first fsync by anyone makes them
    /// durable. Checkpoints wait for `Durable::wait` (an interval checkpoint due in this batch
    /// makes the call sync at once, as `append_batch` does).
    pub fn append_batch_deferred(
        &mut self,
        events: Vec<Event>,
    ) -> Result<(Vec<Record>, Durable), AuditError> {
        if let Some(bad) = events.iter().find(|event| !event.data.is_object()) {
            return Err(AuditError::DataNotObject {
                kind: bad.kind.clone(),
            });
        }
        let file = self
            .file
            .try_clone()
            .map_err(io_error("duplicate the descriptor of", &self.log_path))?;
        let records = if events.is_empty() {
            Vec::new()
        } else {
            self.locked(|log| log.commit(events, false))?
                .into_iter()
                .map(|(record, _)| record)
                .collect()
        };
        Ok((
            records,
            Durable {
                file,
                path: self.log_path.clone(),
                synced: Arc::clone(&self.synced),
            },
        ))
    }

    /// Appends `events` like [`append_batch`](Self::append_batch) as this writer's last
    /// records, sealed by the closing checkpoint: while this thread fsyncs the records, a
    /// scoped thread runs `meanwhile` (the caller's clean-up, which must not depend on the
    /// records being durable) and signs the checkpoint, which is appended (not fsynced, as
    /// [`close`](Self::close) does) only once the fsync succeeded. The thread blocked on the
    /// disk is the one that issued the write, so the fsync starts at once and its wait is
    /// spent on that work, on one CPU as on several (the other way round, a thread made to
    /// fsync was only scheduled once this one blocked, after the work). Without a thread the
    /// work is done first, then the fsync. [`close`](Self::close) has nothing left to do
    /// unless more is appended.
    pub fn append_final_batch(
        &mut self,
        events: Vec<Event>,
        meanwhile: impl FnOnce() + Send,
    ) -> Result<Vec<Record>, AuditError> {
        if events.is_empty() || self.signer.is_none() {
            let records = self.append_batch(events);
            meanwhile();
            return records;
        }
        if let Some(bad) = events.iter().find(|event| !event.data.is_object()) {
            return Err(AuditError::DataNotObject {
                kind: bad.kind.clone(),
            });
        }
        self.locked(|log| {
            let records = log.commit(events, false)?;
            let Some((last, _)) = records.last() else {
                meanwhile();
                return Ok(Vec::new());
            };
            if !log.unchecked {
                // An interval checkpoint in the batch already synced and sealed it.
                meanwhile();
                return Ok(records.into_iter().map(|(record, _)| record).collect());
            }
            let (seq, hash) = (last.seq, last.hash.clone());
            let (file, path, signer) = (&log.file, &log.log_path, log.signer.as_ref());
            let sign = || signer.map(|key| Checkpoint::sign(seq, &hash, Timestamp::now(), key));
            let (synced, signed) = std::thread::scope(|scope| {
                // The closure is moved into the thread; if none can be made it is dropped,
                // which is all `meanwhile` does with what it owns, so only signing is left.
                let work = move || {
                    // A new thread may be run before its maker goes on: give the CPU back so
                    // the fsync is issued first, and work while the disk does.
                    std::thread::yield_now();
                    meanwhile();
                    sign()
                };
                match std::thread::Builder::new()
                    .name("audit-meanwhile".into())
                    .stack_size(MEANWHILE_STACK)
                    .spawn_scoped(scope, work)
                {
                    Ok(working) => {
                        let synced = file.sync_data();
                        let signed = working.join().unwrap_or_else(|_| {
                            Some(Err(AuditError::Io {
                                action: "sign the closing checkpoint of",
                                path: path.clone(),
                                source: std::io::Error::other("the signing thread panicked"),
                            }))
                        });
                        (synced, signed)
                    }
                    Err(_) => (file.sync_data(), sign()),
                }
            });
            synced.map_err(io_error("fsync", path))?;
            log.synced.store(true, Ordering::Release);
            if let Some(checkpoint) = signed.transpose()? {
                checkpoint::append(&log.checkpoints_path, &checkpoint, false)?;
                log.unchecked = false;
            }
            Ok(records.into_iter().map(|(record, _)| record).collect())
        })
    }

    /// Writes a signed checkpoint of the current last record. Returns `None` without a signer
    /// or when the log is empty.
    pub fn checkpoint(&mut self) -> Result<Option<Checkpoint>, AuditError> {
        if self.signer.is_none() {
            return Ok(None);
        }
        self.locked(|log| {
            let tail = read_tail(&log.file, &log.log_path)?;
            if tail.seq == 0 {
                return Ok(None);
            }
            log.write_checkpoint(tail.seq, &tail.hash, true)
        })
    }

    /// Closes the log, first writing a checkpoint if this writer appended since the last one.
    ///
    /// That closing checkpoint is written but not fsynced: the records it covers already are,
    /// so a crash can only lose the checkpoint (the previous one still stands, and a torn line
    /// is ignored and cut by the next writer), never make it claim records the disk lacks.
    /// Interval checkpoints and [`checkpoint`](Self::checkpoint) are fsynced.
    pub fn close(mut self) -> Result<(), AuditError> {
        self.finish()
    }

    fn finish(&mut self) -> Result<(), AuditError> {
        if self.unchecked && self.signer.is_some() {
            self.unchecked = false;
            if !self.synced.load(Ordering::Acquire) {
                // A deferred batch nobody waited for: make it durable before sealing it.
                self.file
                    .sync_data()
                    .map_err(io_error("fsync", &self.log_path))?;
                self.synced.store(true, Ordering::Release);
            }
            self.locked(|log| {
                let tail = read_tail(&log.file, &log.log_path)?;
                if tail.seq == 0 {
                    return Ok(None);
                }
                log.write_checkpoint(tail.seq, &tail.hash, false)
            })?;
        }
        Ok(())
    }

    /// Runs `work` while holding the exclusive lock on the log file.
    fn locked<T>(
        &mut self,
        work: impl FnOnce(&mut Self) -> Result<T, AuditError>,
    ) -> Result<T, AuditError> {
        self.file.lock().map_err(io_error("lock", &self.log_path))?;
        let result = work(self);
        let unlocked = self
            .file
            .unlock()
            .map_err(io_error("unlock", &self.log_path));
        let value = result?;
        unlocked?;
        Ok(value)
    }

    /// Under the lock: 1. read the tail; 2. recover a torn tail; 3. seal the records;
    /// 4. write them and (with `sync`) fsync them; 5. checkpoint if an interval boundary was
    /// crossed (which fsyncs first even without `sync`). Returns each record with the offset
    /// where its line starts.
    fn commit(&mut self, events: Vec<Event>, sync: bool) -> Result<Vec<(Record, u64)>, AuditError> {
        let tail = read_tail(&self.file, &self.log_path)?;
        let first_seq = tail.seq + 1;
        let mut seq = tail.seq;
        let mut prev = tail.hash;
        self.line.clear();
        if let Some(torn) = &tail.torn {
            let recovered = self.recover(torn, tail.complete_len, tail.seq + 1)?;
            let record = Record::seal(recovered, seq + 1, Timestamp::now(), &prev)?;
            record.write_line(&mut self.line)?;
            seq = record.seq;
            prev = record.hash;
        }
        let mut records = Vec::with_capacity(events.len());
        for event in events {
            let record = Record::seal(event, seq + 1, Timestamp::now(), &prev)?;
            // Appends land at the end, which is the complete tail once a torn one is cut.
            let offset = tail.complete_len + self.line.len() as u64;
            record.write_line(&mut self.line)?;
            seq = record.seq;
            prev.clone_from(&record.hash);
            records.push((record, offset));
        }
        (&self.file)
            .write_all(self.line.as_bytes())
            .map_err(io_error("append to", &self.log_path))?;
        let interval = (first_seq - 1) / self.checkpoint_every != seq / self.checkpoint_every
            && self.signer.is_some();
        if sync || interval {
            self.file
                .sync_data()
                .map_err(io_error("fsync", &self.log_path))?;
        } else {
            self.synced.store(false, Ordering::Release);
        }
        self.unchecked = true;
        if interval {
            self.write_checkpoint(seq, &prev, true)?;
        }
        Ok(records)
    }

    /// Moves the torn bytes after the last complete line to `torn-<seq>-<nanos>.bin`, truncates
    /// the log to `complete_len`, and returns the `audit.recovered` event to record.
    fn recover(&mut self, torn: &[u8], complete_len: u64, seq: u64) -> Result<Event, AuditError> {
        let name = format!("torn-{seq}-{}.bin", Timestamp::now().unix_nanos());
        let saved = parent_dir(&self.log_path).join(&name);
        let mut file = fs_err::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&saved)
            .map_err(io_error("create", &saved))?;
        file.write_all(torn).map_err(io_error("write", &saved))?;
        file.sync_all().map_err(io_error("fsync", &saved))?;
        sync_parent(&saved)?;
        self.file
            .set_len(complete_len)
            .map_err(io_error("truncate", &self.log_path))?;
        let digest = hex::encode(Sha256::digest(torn));
        let actor = format!("aegisclaw:pid-{}", std::process::id());
        Ok(Event::new("audit.recovered", actor).data(json!({
            "torn_bytes": torn.len(),
            "saved_to": name,
            "sha256": digest,
        })))
    }

    /// Signs and appends (with `sync`, durably) a checkpoint of `seq`/`hash`; `None` without a
    /// signer. The records it covers must already be durable.
    fn write_checkpoint(
        &mut self,
        seq: u64,
        hash: &str,
        sync: bool,
    ) -> Result<Option<Checkpoint>, AuditError> {
        let Some(signer) = &self.signer else {
            return Ok(None);
        };
        let checkpoint = Checkpoint::sign(seq, hash, Timestamp::now(), signer)?;
        checkpoint::append(&self.checkpoints_path, &checkpoint, sync)?;
        self.unchecked = false;
        Ok(Some(checkpoint))
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        // Best effort: `close` reports this error; a drop cannot.
        let _ = self.finish();
    }
}

/// Opens `path` for reading and appending, creating it with mode 0600; never blocking on the
/// open nor following a link at the path, and refused unless it is a regular file (a FIFO
/// would hang every command that records).
pub(super) fn open_private(path: &Path) -> Result<File, AuditError> {
    let file = fs_err::OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW)
        .open(path)
        .map(fs_err::File::into_file)
        .map_err(io_error("open", path))?;
    super::require_regular(&file, path)?;
    Ok(file)
}

/// The end of the log as the writer needs it.
#[derive(Debug, PartialEq)]
struct Tail {
    /// Seq of the last complete record (0 for an empty log).
    seq: u64,
    /// Its hash (`GENESIS_HASH` for an empty log).
    hash: String,
    /// Length of the file up to and including the last newline.
    complete_len: u64,
    /// Bytes after the last newline, if any.
    torn: Option<Vec<u8>>,
}

fn read_tail(file: &File, path: &Path) -> Result<Tail, AuditError> {
    let raw = read_tail_bytes(file, path)?;
    let (seq, hash) = match raw.last_line.as_deref() {
        None => (0, GENESIS_HASH.to_string()),
        Some(line) => parse_tail_line(line).map_err(|detail| AuditError::CorruptTail {
            path: path.to_path_buf(),
            detail,
        })?,
    };
    Ok(Tail {
        seq,
        hash,
        complete_len: raw.complete_len,
        torn: raw.torn,
    })
}

/// The two fields the writer needs from the last record; the rest is skipped, not built.
#[derive(serde::Deserialize)]
struct TailFields {
    #[serde(default)]
    seq: Value,
    #[serde(default)]
    hash: Value,
}

fn parse_tail_line(line: &[u8]) -> Result<(u64, String), String> {
    // Records are canonical JSON objects (a struct would also accept an array).
    if line.first() != Some(&b'{') {
        return Err("not a JSON object".to_string());
    }
    let value: TailFields =
        serde_json::from_slice(line).map_err(|error| format!("not JSON: {error}"))?;
    let seq = value
        .seq
        .as_u64()
        .filter(|seq| *seq > 0)
        .ok_or("no positive integer `seq`")?;
    let hash = value
        .hash
        .as_str()
        .filter(|hash| decode_hash(hash).is_some())
        .ok_or("no 64-hex-digit `hash`")?;
    Ok((seq, hash.to_string()))
}

/// The last complete line of a file and whatever follows it, read backwards from the end.
#[derive(Debug, PartialEq)]
pub(super) struct TailBytes {
    /// The last line that ends with a newline, without the newline.
    pub(super) last_line: Option<Vec<u8>>,
    /// Length up to and including that newline.
    pub(super) complete_len: u64,
    /// Bytes after the last newline, if any.
    pub(super) torn: Option<Vec<u8>>,
}

/// Reads backwards from the end of `file` in growing chunks until it holds the last complete
/// line, so appends cost the same however long the log is.
pub(super) fn read_tail_bytes(file: &File, path: &Path) -> Result<TailBytes, AuditError> {
    let len = file
        .metadata()
        .map_err(io_error("read metadata of", path))?
        .len();
    let mut start = len;
    let mut buffer: Vec<u8> = Vec::new();
    let mut step: u64 = 4096;
    loop {
        let last_newline = buffer.iter().rposition(|byte| *byte == b'\n');
        let line_start =
            last_newline.and_then(|end| buffer[..end].iter().rposition(|b| *b == b'\n'));
        if start == 0 || line_start.is_some() {
            let torn = match last_newline {
                Some(end) => buffer[end + 1..].to_vec(),
                None => buffer.clone(),
            };
            let last_line = last_newline.map(|end| {
                let from = line_start.map_or(0, |newline| newline + 1);
                buffer[from..end].to_vec()
            });
            let complete_len = last_newline.map_or(start, |end| start + end as u64 + 1);
            return Ok(TailBytes {
                last_line,
                complete_len,
                torn: (!torn.is_empty()).then_some(torn),
            });
        }
        let from = start.saturating_sub(step);
        let mut chunk = vec![0u8; (start - from) as usize];
        file.read_exact_at(&mut chunk, from)
            .map_err(io_error("read", path))?;
        chunk.extend_from_slice(&buffer);
        buffer = chunk;
        start = from;
        step = step.saturating_mul(2);
    }
}

#[cfg(test)]
mod tests;
