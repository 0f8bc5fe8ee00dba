//! Measures the [`HostFacts`] a plan needs: Landlock ABI, a writable cgroup hierarchy, the
//! caller's ids, the `/usr` family and the run's canonical paths. Creates the `aegisclaw`
//! parent cgroups; never enters `process_api`.

use crate::plan::{CgroupFacts, HostFacts, PathKind, ResolvedPath, RunSpec, SystemDir};
use std::path::{Path, PathBuf};

/// `landlock_create_ruleset` flag asking for the ABI version.
const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1 << 0;
/// The parent directory of every run's cgroup.
const CGROUP_PARENT: &str = "aegisclaw";
/// Top-level directories that merged-`/usr` systems make symlinks.
const SYSTEM_DIRS: [&str; 6] = ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

pub(crate) fn detect(spec: &RunSpec) -> HostFacts {
    let resolved = std::iter::once(&spec.workdir)
        .chain(spec.mounts.iter().map(|mount| &mount.host))
        .map(|path| resolve(path))
        .collect();
    HostFacts {
        landlock_abi: landlock_abi(),
        cgroup: cgroup(),
        // SAFETY: getuid and getgid cannot fail and touch no memory.
        uid: unsafe { libc::getuid() },
        // SAFETY: as above.
        gid: unsafe { libc::getgid() },
        system_dirs: system_dirs(),
        resolved,
    }
}

fn resolve(path: &Path) -> Option<ResolvedPath> {
    let canonical = fs_err::canonicalize(path).ok()?;
    let kind = if fs_err::metadata(&canonical).ok()?.is_dir() {
        PathKind::Dir
    } else {
        PathKind::File
    };
    Some(ResolvedPath {
        path: canonical,
        kind,
    })
}

/// The kernel's Landlock ABI; the version query changes nothing.
pub(crate) fn landlock_abi() -> Option<u32> {
    // SAFETY: a version query passes a null attribute with size 0, which the kernel accepts;
    // no memory is read or written.
    let abi = unsafe {
        libc::syscall(
            libc::SYS_landlock_create_ruleset,
            std::ptr::null::<libc::c_void>(),
            0usize,
            LANDLOCK_CREATE_RULESET_VERSION,
        )
    };
    u32::try_from(abi).ok().filter(|abi| *abi >= 1)
}

fn system_dirs() -> Vec<SystemDir> {
    SYSTEM_DIRS
        .iter()
        .filter_map(|dir| {
            let path = PathBuf::from(dir);
            let metadata = fs_err::symlink_metadata(&path).ok()?;
            let symlink = if metadata.file_type().is_symlink() {
                Some(fs_err::read_link(&path).ok()?)
            } else if metadata.is_dir() {
                None
            } else {
                return None;
            };
            Some(SystemDir { path, symlink })
        })
        .collect()
}

/// v2 when its root delegates memory, pids and cpu; otherwise v1 per controller.
fn cgroup() -> Option<CgroupFacts> {
    let mountinfo = fs_err::read_to_string("/proc/self/mountinfo").ok()?;
    let mounts = super::probe::cgroup::cgroup_mounts(&mountinfo);
    if let Some(v2) = mounts.iter().find(|mount| mount.unified) {
        let controllers =
            fs_err::read_to_string(v2.path.join("cgroup.controllers")).unwrap_or_default();
        let has = |name: &str| controllers.split_whitespace().any(|word| word == name);
        if has("memory") && has("pids") && has("cpu") {
            let parent = v2.path.join(CGROUP_PARENT);
            let ready = make_dir(&parent)
                && fs_err::write(parent.join("cgroup.subtree_control"), "+memory +pids +cpu")
                    .is_ok();
            if ready {
                return Some(CgroupFacts::V2 { parent });
            }
        }
    }
    let parent_of = |controller: &str| -> Option<PathBuf> {
        let mount = mounts.iter().find(|mount| {
            !mount.unified && mount.controllers.iter().any(|name| name == controller)
        })?;
        let parent = mount.path.join(CGROUP_PARENT);
        make_dir(&parent).then_some(parent)
    };
    let (memory, pids, cpu) = (parent_of("memory"), parent_of("pids"), parent_of("cpu"));
    if memory.is_none() && pids.is_none() && cpu.is_none() {
        return None;
    }
    Some(CgroupFacts::V1 { memory, pids, cpu })
}

/// Creates `path` if needed; true when this process may create run directories in it.
fn make_dir(path: &Path) -> bool {
    let exists = match fs_err::create_dir(path) {
        Ok(()) => true,
        Err(error) => error.kind() == std::io::ErrorKind::AlreadyExists,
    };
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: `c_path` is NUL-terminated and alive for the call; access only reads it.
    exists && unsafe { libc::access(c_path.as_ptr(), libc::W_OK) } == 0
}
