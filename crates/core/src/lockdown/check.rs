//! Whether `state/lockdown.json` agrees with the audit log. [`check`] (every run) reads the
//! file and the one record it names; [`check_against_log`] (`lockdown status`, `doctor`,
//! `logs verify`) also scans the log for a later lockdown record. A state that is missing
//! (in a home whose log has records), unreadable, names no record, or disagrees with the
//! log counts as on. Reads only.

use super::{INIT_KIND, Lockdown, LockdownError, OFF_KIND, ON_KIND, STATE_KINDS};
use crate::audit::{self, AuditError};
use crate::home::Home;
use std::path::PathBuf;

/// How to lift a lockdown that counts as on, for messages.
pub const LIFT_HINT: &str = "lift it with `aegisclaw lockdown off`, which records the change";

/// The lockdown state as checked against the audit log.
#[derive(Debug)]
pub struct State {
    /// The state file, when it exists and could be read.
    pub file: Option<Lockdown>,
    /// What is wrong with it, if anything; lockdown then counts as on.
    pub disagreement: Option<Disagreement>,
    /// A state file that names the log's last lockdown record, for a home whose file is
    /// missing or names no record (a home from before version 2) while the log shows lockdown
    /// off: the caller writes it (best effort), so the next run's check is one read again.
    pub restore: Option<Lockdown>,
}

impl State {
    /// Whether runs must be refused: the state says on, or it cannot be trusted to say off.
    pub fn on(&self) -> bool {
        self.disagreement.is_some() || self.file.as_ref().is_some_and(|file| file.on)
    }

    /// Why a run must be refused, or `None` when lockdown is off.
    pub fn refusal(&self) -> Option<String> {
        match &self.disagreement {
            Some(disagreement) => Some(format!(
                "lockdown counts as on: {}; {LIFT_HINT}",
                chain(disagreement)
            )),
            None if self.on() => Some("lockdown is on".to_string()),
            None => None,
        }
    }
}

/// What is wrong with a lockdown state. Each names the state file.
#[derive(Debug, thiserror::Error)]
pub enum Disagreement {
    /// No state file, while the log's last lockdown record is `lockdown.on` (deleting the
    /// file must not lift a lockdown).
    #[error(
        "lockdown state `{path}` is missing while the audit log's last lockdown record turned it on"
    )]
    Missing {
        /// The state file.
        path: PathBuf,
    },
    /// The state file cannot be read or parsed.
    #[error(transparent)]
    Unreadable(#[from] LockdownError),
    /// The state file names no audit record (version 1, or written by hand), while the log's
    /// last lockdown record is `lockdown.on`.
    #[error(
        "lockdown state `{path}` names no audit record (version 1, or written by hand) while the audit log's last lockdown record turned it on"
    )]
    NamesNoRecord {
        /// The state file.
        path: PathBuf,
    },
    /// No record with the named seq starts at the named offset.
    #[error(
        "lockdown state `{path}` names record seq {seq} at byte {offset} of `{log}`, which holds no such record"
    )]
    RecordNotFound {
        /// The state file.
        path: PathBuf,
        /// The audit log.
        log: PathBuf,
        /// The seq named.
        seq: u64,
        /// The offset named.
        offset: u64,
    },
    /// The named record has another hash.
    #[error(
        "lockdown state `{path}` names record seq {seq} with hash `{expected}`, but that record's hash is `{found}`"
    )]
    RecordHashDiffers {
        /// The state file.
        path: PathBuf,
        /// The seq named.
        seq: u64,
        /// The hash named.
        expected: String,
        /// The record's hash.
        found: String,
    },
    /// The named record does not set the state the file says.
    #[error(
        "lockdown state `{path}` says {state}, but the record it names (seq {seq}) is `{kind}`"
    )]
    RecordSaysOtherwise {
        /// The state file.
        path: PathBuf,
        /// `on` or `off`.
        state: &'static str,
        /// The seq named.
        seq: u64,
        /// The record's kind.
        kind: String,
    },
    /// A lockdown record later than the named one exists: the file was rolled back to an
    /// older genuine state, or a change was recorded but never written.
    #[error(
        "lockdown state `{path}` names record seq {seq}, but the audit log has a later `{kind}` at seq {later}: the state was rolled back, or a change was recorded and never written"
    )]
    LaterRecord {
        /// The state file.
        path: PathBuf,
        /// The seq named.
        seq: u64,
        /// The later record's kind.
        kind: String,
        /// The later record's seq.
        later: u64,
    },
    /// The audit log could not be read to check the state.
    #[error("cannot check lockdown state `{path}` against the audit log")]
    LogUnreadable {
        /// The state file.
        path: PathBuf,
        /// Why.
        #[source]
        source: AuditError,
    },
}

/// The cheap check of every run: the state file and the one record it names (seq, hash, and
/// that it sets the state the file says). Does not look for later records.
pub fn check(home: &Home) -> State {
    let path = home.lockdown_state();
    let file = match super::load(home) {
        Ok(file) => file,
        Err(error) => {
            return State {
                file: None,
                disagreement: Some(Disagreement::Unreadable(error)),
                restore: None,
            };
        }
    };
    match file {
        // A home with no history is off.
        None if !log_has_records(home) => State {
            file: None,
            disagreement: None,
            restore: None,
        },
        // No file, or one naming no record that says off (written before records were named):
        // the log decides, once. Its last lockdown record being `lockdown.on` means the state
        // was deleted or forged while on; anything else is a home from before version 2.
        None => from_log(home, None, Disagreement::Missing { path }),
        Some(file) if file.record.is_none() && !file.on => {
            from_log(home, Some(file), Disagreement::NamesNoRecord { path })
        }
        Some(file) => {
            let disagreement = against_record(home, &file).err();
            State {
                file: Some(file),
                disagreement,
                restore: None,
            }
        }
    }
}

/// The state file as a check that found lockdown off saw it before reading it: its device,
/// inode, size and modification time. Every change of the state is a new file renamed into
/// place (a new inode), so a file with the same stamp says what it said then.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen {
    stamp: (u64, u64, u64, i64, i64),
}

fn stamp(home: &Home) -> Option<Seen> {
    use std::os::unix::fs::MetadataExt as _;
    let metadata = std::fs::symlink_metadata(home.lockdown_state()).ok()?;
    Some(Seen {
        stamp: (
            metadata.dev(),
            metadata.ino(),
            metadata.size(),
            metadata.mtime(),
            metadata.mtime_nsec(),
        ),
    })
}

/// [`check`], and when it finds lockdown off from a state file that agrees with its record,
/// how that file looked (taken before it was read, so a change racing the read is never
/// mistaken for the file that was read).
pub fn check_seen(home: &Home) -> (State, Option<Seen>) {
    let seen = stamp(home);
    let state = check(home);
    let off = state.disagreement.is_none()
        && state.restore.is_none()
        && state.file.as_ref().is_some_and(|file| !file.on);
    (state, seen.filter(|_| off))
}

/// Why a run must be refused now, for a run whose earlier [`check_seen`] found lockdown off:
/// `None` at the cost of one `stat` when the state file is still the one seen, else what a
/// whole [`check`] says.
pub fn refusal_since(home: &Home, seen: Option<Seen>) -> Option<String> {
    if seen.is_some() && stamp(home) == seen {
        return None;
    }
    check(home).refusal()
}

/// The state a missing or record-less (off) file stands for, from the log's last lockdown
/// record: on (`if_on` says why) when that is `lockdown.on` or the log cannot be read; off
/// otherwise, with the version 2 file to write in `restore` when there is a record to name.
fn from_log(home: &Home, file: Option<Lockdown>, if_on: Disagreement) -> State {
    let path = home.lockdown_state();
    match audit::last_of_kinds(&home.audit_log(), &STATE_KINDS) {
        Ok(Some((record, _))) if record.kind == ON_KIND => State {
            file,
            disagreement: Some(if_on),
            restore: None,
        },
        Ok(last) => State {
            file,
            disagreement: None,
            restore: last.map(|(record, offset)| Lockdown {
                on: false,
                since: Some(record.ts),
                reason: None,
                by: Some(record.actor.clone()),
                record: Some(super::RecordRef {
                    seq: record.seq,
                    hash: record.hash,
                    offset,
                }),
            }),
        },
        Err(source) => State {
            file,
            disagreement: Some(Disagreement::LogUnreadable { path, source }),
            restore: None,
        },
    }
}

/// [`check`], and a scan of the whole log for a lockdown record later than the one the state
/// names, which catches a rollback to an older genuine state file.
pub fn check_against_log(home: &Home) -> State {
    let mut state = check(home);
    let (None, Some(file)) = (&state.disagreement, &state.file) else {
        return state;
    };
    let Some(named) = &file.record else {
        return state;
    };
    let path = home.lockdown_state();
    match audit::last_of_kinds(&home.audit_log(), &STATE_KINDS) {
        Ok(Some((last, _))) if last.seq != named.seq => {
            state.disagreement = Some(Disagreement::LaterRecord {
                path,
                seq: named.seq,
                kind: last.kind,
                later: last.seq,
            });
        }
        Ok(_) => {}
        Err(source) => state.disagreement = Some(Disagreement::LogUnreadable { path, source }),
    }
    state
}

/// Whether the record `file` names exists where it says, with its hash, and sets its state.
fn against_record(home: &Home, file: &Lockdown) -> Result<(), Disagreement> {
    let path = home.lockdown_state();
    let Some(named) = &file.record else {
        return Err(Disagreement::NamesNoRecord { path });
    };
    let log = home.audit_log();
    let record = match audit::read_record_at(&log, named.offset) {
        Ok(Some(record)) if record.seq == named.seq => record,
        Ok(_) => {
            return Err(Disagreement::RecordNotFound {
                path,
                log,
                seq: named.seq,
                offset: named.offset,
            });
        }
        Err(source) => return Err(Disagreement::LogUnreadable { path, source }),
    };
    if record.hash != named.hash {
        return Err(Disagreement::RecordHashDiffers {
            path,
            seq: named.seq,
            expected: named.hash.clone(),
            found: record.hash,
        });
    }
    let agrees = if file.on {
        record.kind == ON_KIND
    } else {
        record.kind == OFF_KIND || record.kind == INIT_KIND
    };
    if !agrees {
        return Err(Disagreement::RecordSaysOtherwise {
            path,
            state: if file.on { "on" } else { "off" },
            seq: named.seq,
            kind: record.kind,
        });
    }
    Ok(())
}

/// Whether the audit log holds anything (an unreadable one is assumed to).
fn log_has_records(home: &Home) -> bool {
    match fs_err::metadata(home.audit_log()) {
        Ok(meta) => meta.len() > 0,
        Err(error) => error.kind() != std::io::ErrorKind::NotFound,
    }
}

/// An error and its causes on one line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::super::tests::home;
    use super::super::{Lockdown, RecordRef, set};
    use super::*;
    use crate::audit::{AuditLog, Event, Record};

    fn log(home: &Home) -> AuditLog {
        AuditLog::open(&home.audit_log(), &home.audit_checkpoints(), None).unwrap()
    }

    fn state_of((record, offset): &(Record, u64), on: bool) -> Lockdown {
        Lockdown {
            on,
            since: Some(record.ts),
            reason: None,
            by: Some(record.actor.clone()),
            record: Some(RecordRef {
                seq: record.seq,
                hash: record.hash.clone(),
                offset: *offset,
            }),
        }
    }

    #[test]
    fn a_new_home_and_a_genuine_state_agree() {
        let (_temp, home) = home();
        // No log and no file: a home with no history is off.
        let fresh = check_against_log(&home);
        assert!(!fresh.on() && fresh.disagreement.is_none() && fresh.file.is_none());
        let mut log = log(&home);
        let init = log.append_located(Event::new(INIT_KIND, "cli:a")).unwrap();
        set(&home, &state_of(&init, false)).unwrap();
        let state = check_against_log(&home);
        assert_eq!((state.on(), state.refusal()), (false, None));
        let on = log.append_located(Event::new(ON_KIND, "cli:a")).unwrap();
        set(&home, &state_of(&on, true)).unwrap();
        let state = check_against_log(&home);
        assert!(state.on() && state.disagreement.is_none());
        assert_eq!(state.refusal().as_deref(), Some("lockdown is on"));
        // Records of other kinds after it change nothing.
        log.append(Event::new("run.start", "cli:a")).unwrap();
        assert!(check_against_log(&home).disagreement.is_none());
    }

    #[test]
    fn a_second_check_trusts_only_the_very_file_the_first_one_read() {
        let (_temp, home) = home();
        let mut log = log(&home);
        let init = log.append_located(Event::new(INIT_KIND, "cli:a")).unwrap();
        set(&home, &state_of(&init, false)).unwrap();
        let (state, seen) = check_seen(&home);
        assert!(!state.on() && seen.is_some());
        assert_eq!(refusal_since(&home, seen), None);
        // `lockdown on` after the first check: a new file, so the whole check runs again.
        let on = log.append_located(Event::new(ON_KIND, "cli:a")).unwrap();
        set(&home, &state_of(&on, true)).unwrap();
        assert_eq!(
            refusal_since(&home, seen).as_deref(),
            Some("lockdown is on")
        );
        // A first check that found lockdown on (or untrusted) leaves nothing to reuse.
        let (state, seen) = check_seen(&home);
        assert!(state.on() && seen.is_none());
        fs_err::remove_file(home.lockdown_state()).unwrap();
        assert!(refusal_since(&home, None).is_some());
    }

    #[test]
    fn a_deleted_or_forged_state_counts_as_on() {
        let (_temp, home) = home();
        let mut log = log(&home);
        let init = log.append_located(Event::new(INIT_KIND, "cli:a")).unwrap();
        let on = log.append_located(Event::new(ON_KIND, "cli:a")).unwrap();
        let cases: Vec<(&str, Option<Lockdown>)> = vec![
            (
                "is missing while the audit log's last lockdown record turned it on",
                None,
            ),
            ("names no audit record", Some(Lockdown::default())),
            (
                "which holds no such record",
                Some(Lockdown {
                    record: Some(RecordRef {
                        offset: on.1 + 3,
                        ..state_of(&on, false).record.unwrap()
                    }),
                    ..Lockdown::default()
                }),
            ),
            (
                "but that record's hash is",
                Some(Lockdown {
                    record: Some(RecordRef {
                        hash: "0".repeat(64),
                        ..state_of(&init, false).record.unwrap()
                    }),
                    ..Lockdown::default()
                }),
            ),
            (
                "says off, but the record it names (seq 2) is `lockdown.on`",
                Some(state_of(&on, false)),
            ),
        ];
        for (expected, file) in cases {
            let _ = fs_err::remove_file(home.lockdown_state());
            if let Some(file) = &file {
                set(&home, file).unwrap();
            }
            for state in [check(&home), check_against_log(&home)] {
                assert!(state.on(), "{expected}");
                let refusal = state.refusal().unwrap();
                assert!(refusal.contains(expected), "{refusal}");
                assert!(refusal.starts_with("lockdown counts as on: lockdown state `"));
                assert!(refusal.ends_with(LIFT_HINT), "{refusal}");
            }
        }
        // A corrupt file too.
        crate::home::atomic_write(&home.lockdown_state(), b"{").unwrap();
        assert!(matches!(
            check(&home).disagreement,
            Some(Disagreement::Unreadable(_))
        ));
    }

    #[test]
    fn a_home_from_before_named_records_is_off_by_its_log_and_restorable() {
        let (_temp, home) = home();
        let mut log = log(&home);
        let init = log.append_located(Event::new(INIT_KIND, "cli:a")).unwrap();
        log.append(Event::new("run.start", "cli:a")).unwrap();
        // No file, no lockdown record: off, and the file to write names `home.init`.
        let state = check(&home);
        assert!(!state.on() && state.disagreement.is_none());
        assert_eq!(state.restore, Some(state_of(&init, false)));
        // A version 1 file saying off, after an off record: off, restorable to that record.
        let on = log.append_located(Event::new(ON_KIND, "cli:a")).unwrap();
        let off = log.append_located(Event::new(OFF_KIND, "cli:a")).unwrap();
        set(&home, &Lockdown::default()).unwrap();
        let state = check(&home);
        assert!(!state.on());
        assert_eq!(state.restore, Some(state_of(&off, false)));
        // Writing it makes the next check one read again, and it agrees.
        set(&home, &state.restore.unwrap()).unwrap();
        let state = check_against_log(&home);
        assert!(!state.on() && state.restore.is_none() && state.disagreement.is_none());
        // But a version 1 "off" (or no file) after an `on` record is on, with nothing to write.
        let _ = on;
        log.append_located(Event::new(ON_KIND, "cli:a")).unwrap();
        for file in [Some(Lockdown::default()), None] {
            let _ = fs_err::remove_file(home.lockdown_state());
            if let Some(file) = &file {
                set(&home, file).unwrap();
            }
            let state = check(&home);
            assert!(state.on() && state.restore.is_none());
        }
    }

    #[test]
    fn an_older_genuine_state_is_caught_by_the_scan_not_by_each_run() {
        let (_temp, home) = home();
        let mut log = log(&home);
        let init = log.append_located(Event::new(INIT_KIND, "cli:a")).unwrap();
        let on = log.append_located(Event::new(ON_KIND, "cli:a")).unwrap();
        set(&home, &state_of(&init, false)).unwrap();
        assert!(!check(&home).on(), "a run's check reads one record only");
        let state = check_against_log(&home);
        assert!(state.on());
        assert_eq!(
            state.disagreement.unwrap().to_string(),
            format!(
                "lockdown state `{}` names record seq 1, but the audit log has a later `lockdown.on` at seq {}: the state was rolled back, or a change was recorded and never written",
                home.lockdown_state().display(),
                on.0.seq
            )
        );
    }
}
