//! A run's cgroups: one directory per run under the `aegisclaw` parents found by
//! `facts::detect` (v1: one per controller; v2: one), limits written before the child runs,
//! removed after it is reaped. Never touches `process_api`.

use crate::plan::{CgroupFacts, CgroupPlan};
use crate::runtime::SandboxError;
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
        let name = format!(
            "run-{}-{}",
            std::process::id(),
            RUN_COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut limits: Limits<'_> = Vec::new();
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
        let mut run = RunCgroup { dirs: Vec::new() };
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
        }
        Ok(run)
    }

    /// Moves `pid` into every directory of the run.
    pub(crate) fn attach(&self, pid: libc::pid_t) -> Result<(), SandboxError> {
        for (layer, dir) in &self.dirs {
            let path = dir.join("cgroup.procs");
            fs_err::write(&path, pid.to_string())
                .map_err(|error| layer_error(layer, &path, error))?;
        }
        Ok(())
    }

    /// Removes the directories, retrying briefly while the kernel finishes tearing down the
    /// killed processes.
    pub(crate) fn remove(self) {
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
