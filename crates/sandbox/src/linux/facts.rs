//! Measures the [`HostFacts`] a plan needs: Landlock ABI, a writable cgroup hierarchy, the
//! caller's ids, the `/usr` family and the run's canonical working directory. Scope mounts
//! arrive opened and resolved (`crate::path`): nothing here resolves them again by name.
//! Creates the `aegisclaw` parent cgroups; never enters `process_api`.

use crate::plan::{
    CgroupFacts, DISTRIBUTION_CA_BUNDLES, ExecGrant, HostFacts, LD_CACHE, RunSpec, SystemDir,
    UserNsCounter,
};
use std::path::{Path, PathBuf};

mod exec;

/// `landlock_create_ruleset` flag asking for the ABI version.
const LANDLOCK_CREATE_RULESET_VERSION: libc::c_uint = 1 << 0;
/// The parent directory of every run's cgroup.
const CGROUP_PARENT: &str = "aegisclaw";
/// Top-level directories that merged-`/usr` systems make symlinks.
const SYSTEM_DIRS: [&str; 6] = ["/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];

pub(crate) fn detect(spec: &RunSpec) -> HostFacts {
    // SAFETY: getuid and getgid cannot fail and touch no memory.
    let uid = unsafe { libc::getuid() };
    let workdir = spec
        .workdir
        .as_deref()
        .and_then(|path| fs_err::canonicalize(path).ok());
    let distribution_ca_bundle = DISTRIBUTION_CA_BUNDLES
        .iter()
        .map(PathBuf::from)
        .find(|path| path.is_file());
    HostFacts {
        landlock_abi: landlock_abi(),
        cgroup: cgroup(),
        uid,
        // SAFETY: as above.
        gid: unsafe { libc::getgid() },
        system_dirs: system_dirs(),
        programs: exec::resolve_programs(spec, workdir.as_deref()),
        workdir,
        usr_dirs: if spec.exec == ExecGrant::Any {
            Vec::new()
        } else {
            usr_dirs()
        },
        hidden_usr_dirs: crate::plan::HIDDEN_USR_DIRS
            .iter()
            .map(PathBuf::from)
            .filter(|dir| std::fs::symlink_metadata(dir).is_ok_and(|meta| meta.is_dir()))
            .collect(),
        user_name: user_name(uid),
        localtime: localtime(),
        distribution_ca_bundle,
        ld_cache: Some(PathBuf::from(LD_CACHE)).filter(|path| path.is_file()),
        user_ns_max: user_ns_max(),
        memfd_noexec: uid == 0 && may_write(MEMFD_NOEXEC),
    }
}

/// Whether this process may write `path`: for a sysctl, only the host's own root may (root in a
/// container's user namespace may not), which the kernel's answer to `access` tells.
fn may_write(path: &str) -> bool {
    let Ok(c_path) = std::ffi::CString::new(path) else {
        return false;
    };
    // SAFETY: `c_path` is NUL-terminated and alive for the call; access only reads it.
    unsafe { libc::access(c_path.as_ptr(), libc::W_OK) == 0 }
}

/// The per-pid-namespace sysctl refusing executable memfds (Linux 6.3).
const MEMFD_NOEXEC: &str = "/proc/sys/vm/memfd_noexec";
/// Where the user namespace limits are.
pub(crate) const USER_NS_SYSCTLS: &str = "/proc/sys/user";
/// The zone files the run sees (under `/usr`).
const ZONEINFO: &str = "/usr/share/zoneinfo";

/// The real directories right under `/usr` and `/usr/local`.
fn usr_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for parent in ["/usr", "/usr/local"] {
        let Ok(entries) = fs_err::read_dir(parent) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                dirs.push(entry.path());
            }
        }
    }
    dirs.sort();
    dirs
}

/// The name `/etc/passwd` gives `uid`, if any.
fn user_name(uid: u32) -> Option<String> {
    crate::process::passwd_name(uid)
}

/// The host's zone file when `/etc/localtime` links into the zoneinfo the run sees, else the
/// zoneinfo UTC file, if any (glibc reads a missing `/etc/localtime` as UTC too).
fn localtime() -> Option<PathBuf> {
    let utc = || {
        let utc = Path::new(ZONEINFO).join("UTC");
        utc.is_file().then_some(utc)
    };
    let Ok(link) = fs_err::read_link("/etc/localtime") else {
        return utc();
    };
    let mut zone = PathBuf::from("/");
    for component in Path::new("/etc").join(link).components() {
        match component {
            std::path::Component::ParentDir => {
                zone.pop();
            }
            std::path::Component::Normal(part) => zone.push(part),
            _ => {}
        }
    }
    if zone.starts_with(ZONEINFO) && zone.is_file() {
        Some(zone)
    } else {
        utc()
    }
}

/// The host's user namespace limits: the value of each shared object's (none for a file
/// that cannot be read), and the user namespaces counter, whose value the run does not use.
fn user_ns_max() -> Vec<(UserNsCounter, u64)> {
    UserNsCounter::ALL
        .iter()
        .filter_map(|&counter| {
            if counter.is_namespace() {
                return Some((counter, 0));
            }
            let path = Path::new(USER_NS_SYSCTLS).join(counter.file_name());
            Some((counter, read_number(&path)?))
        })
        .collect()
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

/// Where systemd and most distributions mount the cgroup hierarchies.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";
/// `statfs` magic numbers of the file systems `conventional_cgroup` recognises.
const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;
const CGROUP_SUPER_MAGIC: i64 = 0x0027_e0eb;
const TMPFS_MAGIC: i64 = 0x0102_1994;
/// The controllers a run is limited by, each with a file only its v1 hierarchy has (in every
/// cgroup but, for pids, the root).
const V1_LIMIT_FILES: [(&str, &str); 3] = [
    ("memory", "memory.limit_in_bytes"),
    ("pids", "pids.max"),
    ("cpu", "cpu.cfs_quota_us"),
];

/// v2 when its root delegates memory, pids and cpu; otherwise v1 per controller. The
/// conventional layout under `/sys/fs/cgroup` is recognised with a few `statfs` calls;
/// anything else is read from mountinfo (which costs far more to generate and parse).
fn cgroup() -> Option<CgroupFacts> {
    conventional_cgroup().or_else(cgroup_from_mountinfo)
}

/// The facts `cgroup_from_mountinfo` would give, when `/sys/fs/cgroup` is plainly either a
/// v2 root delegating all three controllers, or a v1 layout with each controller mounted at
/// `/sys/fs/cgroup/<name>` (symlinks resolved, as mountinfo names the mount point) and no v2
/// mount there that delegates them. `None` for any other shape.
fn conventional_cgroup() -> Option<CgroupFacts> {
    let root = Path::new(CGROUP_ROOT);
    match fs_magic(root)? {
        CGROUP2_SUPER_MAGIC if delegates_all(root) => v2_facts(root),
        TMPFS_MAGIC => {
            let unified = root.join("unified");
            if fs_magic(&unified) == Some(CGROUP2_SUPER_MAGIC) && delegates_all(&unified) {
                return None;
            }
            let mut parents = Vec::new();
            for (controller, limit_file) in V1_LIMIT_FILES {
                // The limit file names the controller; a v1 root has none for pids, so a
                // parent made earlier (by the mountinfo path) is asked instead.
                let dir = root.join(controller);
                let named = dir.join(limit_file).is_file()
                    || dir.join(CGROUP_PARENT).join(limit_file).is_file();
                if fs_magic(&dir) != Some(CGROUP_SUPER_MAGIC) || !named {
                    return None;
                }
                let parent = fs_err::canonicalize(&dir).ok()?.join(CGROUP_PARENT);
                parents.push(make_dir(&parent).then_some(parent));
            }
            let [memory, pids, cpu] = <[Option<PathBuf>; 3]>::try_from(parents).ok()?;
            v1_facts(memory, pids, cpu)
        }
        _ => None,
    }
}

/// Whether the v2 hierarchy at `root` delegates memory, pids and cpu.
fn delegates_all(root: &Path) -> bool {
    let controllers = fs_err::read_to_string(root.join("cgroup.controllers")).unwrap_or_default();
    ["memory", "pids", "cpu"]
        .iter()
        .all(|name| controllers.split_whitespace().any(|word| word == *name))
}

/// v2 facts for the hierarchy at `root`, once its `aegisclaw` parent exists and enables the
/// three controllers for its children; `None` when that cannot be done.
fn v2_facts(root: &Path) -> Option<CgroupFacts> {
    let parent = root.join(CGROUP_PARENT);
    let ready = make_dir(&parent)
        && fs_err::write(parent.join("cgroup.subtree_control"), "+memory +pids +cpu").is_ok();
    ready.then_some(CgroupFacts::V2 { parent })
}

/// v1 facts from the usable parent of each controller; `None` when there is none.
fn v1_facts(
    memory: Option<PathBuf>,
    pids: Option<PathBuf>,
    cpu: Option<PathBuf>,
) -> Option<CgroupFacts> {
    (memory.is_some() || pids.is_some() || cpu.is_some()).then_some(CgroupFacts::V1 {
        memory,
        pids,
        cpu,
    })
}

/// The file system type of `path` (`statfs`'s `f_type`).
fn fs_magic(path: &Path) -> Option<i64> {
    let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).ok()?;
    let mut stat = std::mem::MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: `c_path` is NUL-terminated and alive for the call; statfs writes one `statfs`
    // into `stat`, which is read only after it reported success.
    if unsafe { libc::statfs(c_path.as_ptr(), stat.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: statfs returned 0, so it initialised `stat`.
    let stat = unsafe { stat.assume_init() };
    #[allow(
        clippy::useless_conversion,
        reason = "`f_type` is i64 here but narrower on other architectures"
    )]
    Some(i64::from(stat.f_type))
}

/// v2 when its root delegates memory, pids and cpu; otherwise v1 per controller, from the
/// cgroup mounts mountinfo lists.
fn cgroup_from_mountinfo() -> Option<CgroupFacts> {
    let mountinfo = fs_err::read_to_string("/proc/self/mountinfo").ok()?;
    let mounts = super::probe::cgroup::cgroup_mounts(&mountinfo);
    if let Some(v2) = mounts.iter().find(|mount| mount.unified)
        && delegates_all(&v2.path)
        && let Some(facts) = v2_facts(&v2.path)
    {
        return Some(facts);
    }
    let parent_of = |controller: &str| -> Option<PathBuf> {
        let mount = mounts.iter().find(|mount| {
            !mount.unified && mount.controllers.iter().any(|name| name == controller)
        })?;
        let parent = mount.path.join(CGROUP_PARENT);
        make_dir(&parent).then_some(parent)
    };
    v1_facts(parent_of("memory"), parent_of("pids"), parent_of("cpu"))
}

/// Creates `path` if needed; true when this process may create run directories in it.
fn make_dir(path: &Path) -> bool {
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()) else {
        return false;
    };
    // SAFETY: `c_path` is NUL-terminated and alive for the call; access only reads it.
    let writable = || unsafe { libc::access(c_path.as_ptr(), libc::W_OK) } == 0;
    if writable() {
        return true;
    }
    let exists = match fs_err::create_dir(path) {
        Ok(()) => true,
        Err(error) => error.kind() == std::io::ErrorKind::AlreadyExists,
    };
    exists && writable()
}

/// The decimal number a sysctl file holds: one open and one read (`read_to_string` would
/// also ask the file its size, which a sysctl does not know).
fn read_number(path: &Path) -> Option<u64> {
    use std::io::Read as _;
    let mut file = fs_err::File::open(path).ok()?;
    let mut bytes = [0u8; 32];
    let read = file.read(&mut bytes).ok()?;
    std::str::from_utf8(&bytes[..read])
        .ok()?
        .trim()
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_conventional_cgroup_layout_reads_as_mountinfo_does() {
        match conventional_cgroup() {
            Some(found) => assert_eq!(Some(found), cgroup_from_mountinfo()),
            // Another layout (or no cgroups): mountinfo decides, so there is nothing to compare.
            None => eprintln!(
                "skipped: {CGROUP_ROOT} has no conventional layout writable by this user here"
            ),
        }
    }

    #[test]
    fn fs_magic_names_the_file_system() {
        assert_eq!(fs_magic(Path::new("/proc")), Some(0x9fa0));
        assert_eq!(fs_magic(Path::new("/no/such/path")), None);
    }
}
