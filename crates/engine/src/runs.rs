//! The run registry: one `<run id>.json` per run in flight (its pid, the start time that tells
//! that process apart from a later one with the same pid, run id, skill), written atomically
//! (not fsynced) by the run before it may exec and removed when it ends, so `lockdown on` can
//! stop every run in flight. It lives where live-process state belongs, on a tmpfs of this
//! user's when there is one (see [`registry_dirs`]), so a run pays no file-system journal for
//! it and a reboot clears it; otherwise in the home's `state/runs`. A crash leaves a stale
//! entry, which the start time exposes and [`stop_all`] removes. Does not decide when runs are
//! stopped.

use aegisclaw_core::home::{self, Home, HomeError};
use aegisclaw_core::timestamp::Timestamp;
use aegisclaw_sandbox::process::{self, SignalError, Stop};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The version of a registry entry this build writes and reads.
pub const ENTRY_VERSION: u32 = 1;

/// How long [`stop_all`] waits for each killed run to end.
const STOP_WAIT: Duration = Duration::from_secs(2);

/// Errors of the run registry. Each names its file.
#[derive(Debug, thiserror::Error)]
pub enum RunsError {
    /// A registry file or directory could not be read or written.
    #[error("cannot access the run registry at `{path}`")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// Why.
        #[source]
        source: HomeError,
    },
    /// The run's process start time could not be read.
    #[error("cannot register run `{run}`")]
    StartTime {
        /// The run id.
        run: String,
        /// Why.
        #[source]
        source: SignalError,
    },
}

/// One run in flight, as `state/runs/<run id>.json` holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunEntry {
    /// [`ENTRY_VERSION`].
    pub version: u32,
    /// The run id.
    pub run: String,
    /// The skill it runs.
    pub skill: String,
    /// Who started it.
    pub actor: String,
    /// Its pid 1, in the pid namespace of the process that started it.
    pub pid: i32,
    /// That process's start time (clock ticks after boot, `/proc/<pid>/stat` field 22).
    pub start_time: u64,
    /// When it was registered.
    pub registered: String,
}

/// A registered run: its entry is removed (with any stop mark) when this is dropped, however
/// the run ends.
#[derive(Debug)]
pub struct Registration {
    entry: PathBuf,
    mark: PathBuf,
}

/// `<dir>/<run>.json` and `<dir>/<run>.stop`.
fn paths(dir: &Path, run: &str) -> (PathBuf, PathBuf) {
    (
        dir.join(format!("{run}.json")),
        dir.join(format!("{run}.stop")),
    )
}

/// Where `home`'s run registry may live, preferred first: a directory on a tmpfs that only this
/// user can write (root: `/run/aegisclaw/runs/<key>`; another user:
/// `/run/user/<uid>/aegisclaw/runs/<key>`, where that runtime directory exists, is theirs and
/// is private), then the home's `state/runs`. `<key>` names the home directory itself, not a
/// path to it ([`registry_key`]: its device and inode), so every process using the home finds
/// the same place however it names the home (a symlink, a bind mount, another mount of its
/// file system). Nothing here depends on the environment, so `lockdown on` from another shell
/// looks where the run registered. Registration takes the first usable; [`stop_all`] reads
/// them all. A home that cannot be examined has only its own `state/runs`, where registering
/// then fails too.
pub fn registry_dirs(home: &Home) -> Vec<PathBuf> {
    let mut dirs = Vec::with_capacity(2);
    if let (Some(runtime), Some(key)) = (private_runtime_dir(), registry_key(home.root())) {
        dirs.push(runtime.join("aegisclaw/runs").join(key));
    }
    dirs.push(home.runs_dir());
    dirs
}

/// `<dev>-<ino>` (hex) of the directory `root` names, symlinks followed: the same for every
/// path to it.
pub fn registry_key(root: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt as _;
    let meta = fs_err::metadata(root).ok()?;
    meta.is_dir()
        .then(|| format!("{:x}-{:x}", meta.dev(), meta.ino()))
}

/// This user's runtime directory on a tmpfs, if it is theirs alone: `/run` for root, else
/// `/run/user/<uid>` when it is a directory owned by the user with no group or other access
/// (as logind makes it).
fn private_runtime_dir() -> Option<PathBuf> {
    use std::os::unix::fs::MetadataExt as _;
    let uid = fs_err::metadata("/proc/self").ok()?.uid();
    let dir = if uid == 0 {
        PathBuf::from("/run")
    } else {
        PathBuf::from(format!("/run/user/{uid}"))
    };
    let meta = fs_err::symlink_metadata(&dir).ok()?;
    let private = uid == 0 || meta.mode() & 0o077 == 0;
    (meta.is_dir() && meta.uid() == uid && private).then_some(dir)
}

impl Registration {
    /// Registers run `run` (pid 1 `pid`) atomically, before the run may exec, in the first of
    /// [`registry_dirs`] it can make.
    pub fn register(
        home: &Home,
        run: &str,
        skill: &str,
        actor: &str,
        pid: i32,
    ) -> Result<Self, RunsError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| RunsError::Io { path, source }
        };
        // The first tmpfs directory that can be made; the home's own is the last resort, and
        // its failure is the error.
        let fallback = home.runs_dir();
        let dir = match registry_dirs(home)
            .into_iter()
            .find(|dir| *dir != fallback && home::create_private_dir(dir).is_ok())
        {
            Some(dir) => dir,
            None => {
                home::create_private_dir(&fallback).map_err(io(&fallback))?;
                fallback
            }
        };
        let start_time = process::start_time(pid).map_err(|source| RunsError::StartTime {
            run: run.to_string(),
            source,
        })?;
        let entry = RunEntry {
            version: ENTRY_VERSION,
            run: run.to_string(),
            skill: skill.to_string(),
            actor: actor.to_string(),
            pid,
            start_time,
            registered: Timestamp::now().to_string(),
        };
        let (path, mark) = paths(&dir, run);
        let text = serde_json::to_string_pretty(&entry).unwrap_or_default() + "\n";
        // Atomic (temp file and rename) but not fsynced: the entry describes a live process,
        // which a crash of the machine ends too, and a run should not pay two fsyncs for it.
        home::write_cache(&path, text.as_bytes()).map_err(io(&path))?;
        Ok(Self { entry: path, mark })
    }

    /// Whether `lockdown on` marked this run before it signalled it.
    pub fn stopped_by_lockdown(&self) -> bool {
        self.mark.exists()
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // Best effort: a stale entry is harmless (its start time exposes it).
        let _ = fs_err::remove_file(&self.entry);
        let _ = fs_err::remove_file(&self.mark);
    }
}

/// What [`stop_all`] did to one entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum StopOutcome {
    /// SIGKILL went to its pid namespace.
    Killed {
        /// It was seen to end within the wait.
        ended: bool,
    },
    /// Its process is gone (a stale entry, now removed).
    Gone,
    /// Its pid is no sandboxed run's (a forged or confused entry): left alone.
    NotARun,
    /// It could not be stopped.
    Failed {
        /// Why.
        error: String,
    },
}

/// One entry [`stop_all`] found.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Stopped {
    /// The run id (the file's name when the entry is unreadable).
    pub run: String,
    /// The skill, when the entry was readable.
    pub skill: Option<String>,
    /// Its pid 1, when the entry was readable.
    pub pid: Option<i32>,
    /// What happened.
    #[serde(flatten)]
    pub outcome: StopOutcome,
}

/// Kills every registered run still in flight (SIGKILL to its pid namespace), first marking
/// each so its own record can say lockdown stopped it (`mark` is the mark's content); removes
/// stale entries. Returns every entry found, in run id order.
pub fn stop_all(home: &Home, mark: &serde_json::Value) -> Result<Vec<Stopped>, RunsError> {
    let mut stopped = Vec::new();
    for dir in registry_dirs(home) {
        stopped.extend(stop_in(&dir, mark)?);
    }
    stopped.sort_by(|a, b| a.run.cmp(&b.run));
    Ok(stopped)
}

/// [`stop_all`] for the entries in one registry directory.
fn stop_in(dir: &Path, mark: &serde_json::Value) -> Result<Vec<Stopped>, RunsError> {
    let dir = dir.to_path_buf();
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source: std::io::Error| RunsError::Io {
            path,
            source: HomeError::Io(source),
        }
    };
    let listing = match fs_err::read_dir(&dir) {
        Ok(listing) => listing,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(io(&dir)(error)),
    };
    let mut names = Vec::new();
    for entry in listing {
        names.push(entry.map_err(io(&dir))?.file_name());
    }
    names.sort();
    let mut stopped = Vec::new();
    for name in &names {
        let name = name.to_string_lossy();
        if let Some(run) = name.strip_suffix(".json") {
            stopped.push(stop_one(&dir, run, mark));
        } else if let Some(run) = name.strip_suffix(".stop") {
            // A mark whose run ended before it was written.
            let (entry, mark_path) = paths(&dir, run);
            if !entry.exists() {
                let _ = fs_err::remove_file(mark_path);
            }
        }
    }
    Ok(stopped)
}

fn stop_one(dir: &Path, run: &str, mark: &serde_json::Value) -> Stopped {
    let (path, mark_path) = paths(dir, run);
    let unreadable = |error: String| Stopped {
        run: run.to_string(),
        skill: None,
        pid: None,
        outcome: StopOutcome::Failed { error },
    };
    let entry: RunEntry =
        match home::read_file_text(&path, home::FileKind::RunEntry, home::Follow::No)
            .map_err(|error| error.to_string())
            .and_then(|text| serde_json::from_str(&text).map_err(|error| error.to_string()))
        {
            Ok(entry) => entry,
            Err(error) => return unreadable(format!("entry `{}`: {error}", path.display())),
        };
    let outcome = match home::write_cache(&mark_path, format!("{mark}\n").as_bytes()) {
        Err(error) => StopOutcome::Failed {
            error: format!("cannot mark `{}`: {error}", mark_path.display()),
        },
        Ok(()) => match process::stop_namespace(entry.pid, entry.start_time, STOP_WAIT) {
            Ok(Stop::Killed { ended }) => StopOutcome::Killed { ended },
            Ok(Stop::Gone) => {
                let _ = fs_err::remove_file(&path);
                let _ = fs_err::remove_file(&mark_path);
                StopOutcome::Gone
            }
            Ok(Stop::NotNamespaceInit) => {
                let _ = fs_err::remove_file(&mark_path);
                StopOutcome::NotARun
            }
            Err(error) => StopOutcome::Failed {
                error: crate::doctor::error_chain(&error),
            },
        },
    };
    Stopped {
        run: entry.run,
        skill: Some(entry.skill),
        pid: Some(entry.pid),
        outcome,
    }
}

/// The `data` of a `lockdown.killed` record naming `stopped`.
pub fn killed_data(stopped: &[Stopped]) -> serde_json::Value {
    json!({ "runs": stopped })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home() -> (tempfile::TempDir, Home) {
        let temp = tempfile::tempdir().unwrap();
        let home = Home::at(temp.path().join("home"));
        home.ensure_layout().unwrap();
        (temp, home)
    }

    #[test]
    fn every_path_to_a_home_names_one_registry_key() {
        let (temp, home) = home();
        let linked = temp.path().join("linked");
        std::os::unix::fs::symlink(home.root(), &linked).unwrap();
        let key = registry_key(home.root()).unwrap();
        assert_eq!(registry_key(&linked), Some(key.clone()));
        // Another directory, even at the path the home had, is another key.
        let other = temp.path().join("other");
        fs_err::create_dir(&other).unwrap();
        assert_ne!(registry_key(&other), Some(key));
        assert_eq!(registry_key(&temp.path().join("missing")), None);
    }

    #[test]
    fn an_entry_lives_as_long_as_its_registration() {
        let (_temp, home) = home();
        let pid = i32::try_from(std::process::id()).unwrap();
        let registration = Registration::register(&home, "00ff", "ad-hoc", "cli:a", pid).unwrap();
        // In the first registry directory (a private tmpfs one where this user has one).
        let path = registry_dirs(&home)[0].join("00ff.json");
        let entry: RunEntry =
            serde_json::from_str(&fs_err::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(
            (
                entry.version,
                entry.run.as_str(),
                entry.skill.as_str(),
                entry.pid
            ),
            (ENTRY_VERSION, "00ff", "ad-hoc", pid)
        );
        assert_eq!(entry.start_time, process::start_time(pid).unwrap());
        assert!(home.loose_permissions().unwrap().is_empty());
        assert!(!registration.stopped_by_lockdown());
        drop(registration);
        assert!(!path.exists());
    }

    #[test]
    fn the_registry_lives_on_a_private_tmpfs_where_there_is_one_and_else_in_the_home() {
        let (_temp, home) = home();
        let dirs = registry_dirs(&home);
        assert_eq!(dirs.last(), Some(&home.runs_dir()));
        // The same home named another way finds the same place.
        let other = Home::at(home.root().join("../home"));
        assert_eq!(registry_dirs(&other)[0], dirs[0]);
        let uid = fs_err::metadata("/proc/self")
            .map(|meta| std::os::unix::fs::MetadataExt::uid(&meta))
            .ok();
        if uid == Some(0) {
            assert_eq!(dirs.len(), 2);
            assert!(dirs[0].starts_with("/run/aegisclaw/runs"), "{dirs:?}");
        }
    }

    #[test]
    fn stale_entries_are_removed_and_no_other_process_is_signalled() {
        let (_temp, home) = home();
        let pid = i32::try_from(std::process::id()).unwrap();
        let start_time = process::start_time(pid).unwrap();
        let dir = home.runs_dir();
        home::create_private_dir(&dir).unwrap();
        let write = |run: &str, pid: i32, start_time: u64| {
            let entry = RunEntry {
                version: ENTRY_VERSION,
                run: run.to_string(),
                skill: "s".to_string(),
                actor: "cli:a".to_string(),
                pid,
                start_time,
                registered: Timestamp::now().to_string(),
            };
            let text = serde_json::to_string(&entry).unwrap();
            home::atomic_write(&dir.join(format!("{run}.json")), text.as_bytes()).unwrap();
        };
        // This test process: alive, but no run (not a pid namespace's init).
        write("aa", pid, start_time);
        // The same pid with another start time: a stale entry.
        write("bb", pid, start_time + 1);
        home::atomic_write(&dir.join("cc.json"), b"{").unwrap();
        home::atomic_write(&dir.join("dd.stop"), b"{}").unwrap();
        let stopped = stop_all(&home, &json!({"by": "test"})).unwrap();
        let outcomes: Vec<(&str, &StopOutcome)> = stopped
            .iter()
            .map(|stopped| (stopped.run.as_str(), &stopped.outcome))
            .collect();
        assert_eq!(
            outcomes[..2],
            [("aa", &StopOutcome::NotARun), ("bb", &StopOutcome::Gone)]
        );
        assert!(matches!(outcomes[2], ("cc", StopOutcome::Failed { .. })));
        let mut left: Vec<String> = fs_err::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["aa.json", "cc.json"]);
    }
}
