//! A run's cgroups: a slot directory per concurrent run under the `aegisclaw` parents found by
//! `facts::detect` (v1: one per controller; v2: one), limits written before the child runs.
//! Never touches `process_api`.
//!
//! Slots (`slot-<n>`) are reused, not made and removed per run: a run takes the first slot
//! whose first directory it can `flock` (the lock dies with the process, so a killed AegisClaw
//! never strands one) and that has no process left in it, writes the run's limits, and lets
//! the lock go when the run has been reaped. Creating and removing three cgroups per run cost
//! more than the rest of the cgroup work together.
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

/// Slots per hierarchy, so this many runs at once on one machine.
const MAX_SLOTS: usize = 1024;

/// One controller: its layer name, the parent of its slot directories, the limit files to write.
type Limits<'a> = Vec<(&'static str, PathBuf, Vec<(&'a str, String)>)>;

/// The directories of one run.
pub(crate) struct RunCgroup {
    /// (layer name for errors, directory).
    dirs: Vec<(&'static str, PathBuf)>,
    /// The attach file of each directory, open for writing, in the order of `dirs`.
    attach: Vec<OwnedFd>,
    /// The attach file's name (`tasks` or `cgroup.procs`).
    attach_file: &'static str,
    /// The `flock` on the slot's first directory, held until the run is reaped.
    lock: OwnedFd,
    /// The slot's number (`slot-<n>`), which also names its kept network namespace.
    slot: usize,
}

fn layer_error(layer: &'static str, path: &Path, source: std::io::Error) -> SandboxError {
    SandboxError::Layer {
        layer,
        detail: path.display().to_string(),
        source,
    }
}

/// Creates `dir` unless it exists (a slot made by an earlier run).
fn ensure_dir(dir: &Path) -> std::io::Result<()> {
    match fs_err::create_dir(dir) {
        Err(error) if error.kind() != std::io::ErrorKind::AlreadyExists => Err(error),
        _ => Ok(()),
    }
}

/// cgroup v1's limit of memory and swap together (present with swap accounting).
const MEMSW: &str = "memory.memsw.limit_in_bytes";

impl RunCgroup {
    /// Takes a free slot and writes the run's limits into it.
    pub(crate) fn create(plan: &CgroupPlan) -> Result<Self, SandboxError> {
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
                    let mut files = vec![("memory.limit_in_bytes", plan.memory_bytes.to_string())];
                    // With swap accounting, memory and swap together within the limit (as v2's
                    // `memory.swap.max` 0): the swap limit may never be below the memory one,
                    // so it is lifted first, then set once the memory limit is.
                    if parent.join(MEMSW).exists() {
                        files.insert(0, (MEMSW, "-1".to_string()));
                        files.push((MEMSW, plan.memory_bytes.to_string()));
                    }
                    limits.push(("cgroup memory", parent.clone(), files));
                }
                if let Some(parent) = pids {
                    limits.push((
                        "cgroup pids",
                        parent.clone(),
                        vec![("pids.max", plan.pids_max.to_string())],
                    ));
                }
                if let Some(parent) = cpu {
                    limits.push((
                        "cgroup cpu",
                        parent.clone(),
                        vec![
                            ("cpu.cfs_period_us", plan.cpu_period_us.to_string()),
                            ("cpu.cfs_quota_us", plan.cpu_quota_us.to_string()),
                        ],
                    ));
                }
            }
            CgroupFacts::V2 { parent } => limits.push((
                "cgroup",
                parent.clone(),
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
        let Some((first_layer, first_parent, _)) = limits.first() else {
            return Err(SandboxError::Layer {
                layer: "cgroup",
                detail: String::new(),
                source: std::io::Error::other("no controller directory to use"),
            });
        };
        let (first_layer, first_parent) = (*first_layer, first_parent.clone());
        for slot in 0..MAX_SLOTS {
            let name = format!("slot-{slot}");
            let first = first_parent.join(&name);
            ensure_dir(&first).map_err(|error| layer_error(first_layer, &first, error))?;
            let lock = fs_err::File::open(&first)
                .map_err(|error| layer_error(first_layer, &first, error))?
                .into_file();
            match lock.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => continue,
                Err(std::fs::TryLockError::Error(error)) => {
                    return Err(layer_error(first_layer, &first, error));
                }
            }
            // A slot whose last run's processes are still dying is skipped.
            match fs_err::read_to_string(first.join("cgroup.procs")) {
                Ok(procs) if procs.trim().is_empty() => {}
                Ok(_) => continue,
                Err(error) => return Err(layer_error(first_layer, &first, error)),
            }
            let mut run = RunCgroup {
                dirs: Vec::new(),
                attach: Vec::new(),
                attach_file,
                lock: OwnedFd::from(lock),
                slot,
            };
            for (index, (layer, parent, files)) in limits.iter().enumerate() {
                let dir = parent.join(&name);
                // The first directory was made above, before its lock was taken.
                if index > 0 {
                    ensure_dir(&dir).map_err(|error| layer_error(layer, &dir, error))?;
                }
                for (file, value) in files {
                    let path = dir.join(file);
                    // memory.swap.max is absent without swap accounting; everything else must
                    // work.
                    if *file == "memory.swap.max" && !path.exists() {
                        continue;
                    }
                    fs_err::write(&path, value)
                        .map_err(|error| layer_error(layer, &path, error))?;
                }
                let path = dir.join(attach_file);
                let attach = fs_err::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(|error| layer_error(layer, &path, error))?;
                run.attach.push(OwnedFd::from(attach.into_parts().0));
                run.dirs.push((layer, dir));
            }
            return Ok(run);
        }
        Err(layer_error(
            first_layer,
            &first_parent,
            std::io::Error::other(format!("all {MAX_SLOTS} cgroup slots are in use")),
        ))
    }

    /// The slot's number: the run holds slot `n` of every hierarchy until it is released.
    pub(crate) fn slot(&self) -> usize {
        self.slot
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

    /// Lets the slot go for the next run (its directories stay). Call once the child has
    /// been reaped.
    pub(crate) fn release(self) {
        drop(self.attach);
        drop(self.lock);
    }
}
