//! A run's cgroups: one directory per run under the `aegisclaw` parents found by
//! `facts::detect` (v1: one per controller; v2: one), limits written before the child runs,
//! removed after it is reaped. Never touches `process_api`.
//!
//! The child attaches itself: the parent opens each directory's attach file (v1 `tasks`, v2
//! `cgroup.procs`) before the clone, and the single-threaded child writes `0` to each as its
//! first step, before anything else runs. Writing another task's pid takes the global
//! threadgroup rwsem for writing, which waits for an RCU grace period (10-15 ms here); a task
//! moving its own thread (v1 `tasks`, `0`) does not.

use crate::plan::{CgroupFacts, CgroupPlan};
use crate::runtime::SandboxError;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// Distinguishes runs started by one process.
static RUN_COUNTER: AtomicU32 = AtomicU32::new(0);

/// One directory to create: its layer name, path, and the limit files to write.
type Limits<'a> = Vec<(&'static str, PathBuf, Vec<(&'a str, String)>)>;

/// The directories of one run.
pub(crate) struct RunCgroup {
    /// (layer name for errors, directory).
    dirs: Vec<(&'static str, PathBuf)>,
    /// The attach file of each directory, open for writing, in the order of `dirs`.
    attach: Vec<OwnedFd>,
    /// The attach file's name (`tasks` or `cgroup.procs`).
    attach_file: &'static str,
}

fn layer_error(layer: &'static str, path: &Path, source: std::io::Error) -> SandboxError {
    SandboxError::Layer {
        layer,
        detail: path.display().to_string(),
        source,
    }
}

impl RunCgroup {
    /// Creates the run's directories and writes the limits.
    pub(crate) fn create(plan: &CgroupPlan) -> Result<Self, SandboxError> {
        // pid and counter tell runs of live processes apart; the clock tells them from the
        // directories a killed process with a since-reused pid left behind.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_nanos());
        let name = format!(
            "run-{}-{}-{nanos:x}",
            std::process::id(),
            RUN_COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut limits: Limits<'_> = Vec::new();
        // v1: `tasks` moves one thread (the child has one), so a self-move needs no global
        // lock; v2 has no `tasks`, and `cgroup.procs` is correct there.
        let attach_file = match &plan.facts {
            CgroupFacts::V1 { .. } => "tasks",
            CgroupFacts::V2 { .. } => "cgroup.procs",
        };
        match &plan.facts {
            CgroupFacts::V1 { memory, pids, cpu } => {
                if let Some(parent) = memory {
                    limits.push((
                        "cgroup memory",
                        parent.join(&name),
                        vec![("memory.limit_in_bytes", plan.memory_bytes.to_string())],
                    ));
                }
                if let Some(parent) = pids {
                    limits.push((
                        "cgroup pids",
                        parent.join(&name),
                        vec![("pids.max", plan.pids_max.to_string())],
                    ));
                }
                if let Some(parent) = cpu {
                    limits.push((
                        "cgroup cpu",
                        parent.join(&name),
                        vec![
                            ("cpu.cfs_period_us", plan.cpu_period_us.to_string()),
                            ("cpu.cfs_quota_us", plan.cpu_quota_us.to_string()),
                        ],
                    ));
                }
            }
            CgroupFacts::V2 { parent } => limits.push((
                "cgroup",
                parent.join(&name),
                vec![
                    ("memory.max", plan.memory_bytes.to_string()),
                    ("memory.swap.max", "0".to_string()),
                    ("pids.max", plan.pids_max.to_string()),
                    (
                        "cpu.max",
                        format!("{} {}", plan.cpu_quota_us, plan.cpu_period_us),
                    ),
                ],
            )),
        }
        let mut run = RunCgroup {
            dirs: Vec::new(),
            attach: Vec::new(),
            attach_file,
        };
        for (_, dir, _) in &limits {
            if let Some(parent) = dir.parent() {
                sweep_stale(parent);
            }
        }
        for (layer, dir, files) in limits {
            if let Err(error) = fs_err::create_dir(&dir) {
                run.remove();
                return Err(layer_error(layer, &dir, error));
            }
            run.dirs.push((layer, dir.clone()));
            for (file, value) in files {
                let path = dir.join(file);
                // memory.swap.max is absent without swap accounting; everything else must work.
                if file == "memory.swap.max" && !path.exists() {
                    continue;
                }
                if let Err(error) = fs_err::write(&path, &value) {
                    run.remove();
                    return Err(layer_error(layer, &path, error));
                }
            }
            let path = dir.join(attach_file);
            match fs_err::OpenOptions::new().write(true).open(&path) {
                Ok(file) => run.attach.push(OwnedFd::from(file.into_parts().0)),
                Err(error) => {
                    run.remove();
                    return Err(layer_error(layer, &path, error));
                }
            }
        }
        Ok(run)
    }

    /// The attach files (close-on-exec) the child writes `0` to, in directory order.
    pub(crate) fn attach_fds(&self) -> Vec<RawFd> {
        self.attach.iter().map(AsRawFd::as_raw_fd).collect()
    }

    /// The error for a failed self-attach to the directory at `index`.
    pub(crate) fn attach_error(&self, index: usize, source: std::io::Error) -> SandboxError {
        match self.dirs.get(index) {
            Some((layer, dir)) => layer_error(layer, &dir.join(self.attach_file), source),
            None => SandboxError::Layer {
                layer: "cgroup",
                detail: String::new(),
                source,
            },
        }
    }

    /// Removes the directories, retrying briefly while the kernel finishes tearing down the
    /// killed processes.
    pub(crate) fn remove(self) {
        drop(self.attach);
        for (_, dir) in &self.dirs {
            for _ in 0..50 {
                match fs_err::remove_dir(dir) {
                    Ok(()) => break,
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => break,
                    Err(_) => std::thread::sleep(Duration::from_millis(2)),
                }
            }
        }
    }
}

/// Removes the run directories under `parent` left by AegisClaw processes that no longer
/// exist (killed before they could clean up): `run-<pid>-…` with no `/proc/<pid>`. Their runs
/// died with them (parent-death signal), so the directories are empty; one that is not, or
/// whose pid was reused, is left alone. Best effort.
pub(crate) fn sweep_stale(parent: &Path) {
    let Ok(entries) = fs_err::read_dir(parent) else {
        return;
    };
    let own = std::process::id();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|name| name.strip_prefix("run-"))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != own && !Path::new("/proc").join(pid.to_string()).exists() {
            let _ = fs_err::remove_dir(entry.path());
        }
    }
}
