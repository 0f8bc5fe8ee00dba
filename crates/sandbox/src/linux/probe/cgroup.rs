//! Cgroup layout from `/proc/self/mountinfo`, and whether memory, pids and CPU limits are
//! writable: a probe directory `aegisclaw-probe-<pid>-<n>` is created at a hierarchy's root,
//! its limit file opened for writing, and the directory removed. Never enters `process_api`.

use crate::probe::{CgroupSupport, CgroupVersion};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// Distinguishes concurrent probes of one process, so their directories never collide.
static PROBE_COUNTER: AtomicU32 = AtomicU32::new(0);

/// The v1 controllers the kernel knows; other mount options (`rw`, `xattr`, `name=`) are not.
const V1_CONTROLLERS: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "net_prio",
    "blkio",
    "perf_event",
    "hugetlb",
    "pids",
    "rdma",
    "misc",
];

/// The limits the native runtime sets: controller, v1 limit file, v2 limit file.
const LIMITS: [(&str, &str, &str); 3] = [
    ("memory", "memory.limit_in_bytes", "memory.max"),
    ("pids", "pids.max", "pids.max"),
    ("cpu", "cpu.cfs_quota_us", "cpu.max"),
];

/// A mounted cgroup hierarchy.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct CgroupMount {
    /// `cgroup2` rather than a v1 `cgroup`.
    pub(crate) unified: bool,
    /// Where it is mounted.
    pub(crate) path: PathBuf,
    /// v1: the controllers of this hierarchy; v2: empty (read from `cgroup.controllers`).
    pub(crate) controllers: Vec<String>,
}

/// The cgroup mounts listed in mountinfo text, in order.
pub(crate) fn cgroup_mounts(mountinfo: &str) -> Vec<CgroupMount> {
    let mut mounts = Vec::new();
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let Some(mount_point) = left.split(' ').nth(4) else {
            continue;
        };
        let mut fields = right.split(' ');
        let fstype = fields.next().unwrap_or("");
        let options = fields.nth(1).unwrap_or("");
        let unified = match fstype {
            "cgroup2" => true,
            "cgroup" => false,
            _ => continue,
        };
        let controllers = if unified {
            Vec::new()
        } else {
            options
                .split(',')
                .filter(|option| V1_CONTROLLERS.contains(option))
                .map(str::to_string)
                .collect()
        };
        mounts.push(CgroupMount {
            unified,
            path: PathBuf::from(unescape(mount_point)),
            controllers,
        });
    }
    mounts
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escape = bytes.get(index + 1..index + 4).filter(|digits| {
            bytes[index] == b'\\' && digits.iter().all(|digit| (b'0'..=b'7').contains(digit))
        });
        match escape {
            Some(digits) => {
                let value = digits
                    .iter()
                    .fold(0u32, |value, digit| value * 8 + u32::from(digit - b'0'));
                out.push(u8::try_from(value).unwrap_or(b'?'));
                index += 4;
            }
            None => {
                out.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub(super) fn cgroups() -> CgroupSupport {
    let mountinfo = match fs_err::read_to_string("/proc/self/mountinfo") {
        Ok(text) => text,
        Err(error) => {
            return CgroupSupport {
                version: CgroupVersion::None,
                memory: false,
                pids: false,
                cpu: false,
                detail: error.to_string(),
            };
        }
    };
    let mounts = cgroup_mounts(&mountinfo);
    let v1: Vec<&CgroupMount> = mounts.iter().filter(|m| !m.unified).collect();
    let v2 = mounts.iter().find(|m| m.unified);
    let version = match (v1.is_empty(), v2.is_some()) {
        (true, false) => CgroupVersion::None,
        (true, true) => CgroupVersion::V2,
        (false, false) => CgroupVersion::V1,
        (false, true) => CgroupVersion::Hybrid,
    };
    let read_words = |path: PathBuf| -> Vec<String> {
        fs_err::read_to_string(path)
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    let v2_controllers = v2.map(|m| read_words(m.path.join("cgroup.controllers")));
    let v2_delegated = v2.map(|m| read_words(m.path.join("cgroup.subtree_control")));
    let mut parts = Vec::new();
    let mut writable = [false; 3];
    for (index, (controller, v1_file, v2_file)) in LIMITS.iter().enumerate() {
        let mut tried = Vec::new();
        if let (Some(mount), Some(delegated)) = (v2, &v2_delegated)
            && delegated.iter().any(|name| name == controller)
        {
            match try_limit(&mount.path, v2_file) {
                Ok(()) => {
                    writable[index] = true;
                    parts.push(format!("{controller} via v2 `{}`", mount.path.display()));
                    continue;
                }
                Err(error) => tried.push(format!("v2 `{}`: {error}", mount.path.display())),
            }
        }
        if let Some(mount) = v1
            .iter()
            .find(|m| m.controllers.iter().any(|c| c == controller))
        {
            match try_limit(&mount.path, v1_file) {
                Ok(()) => {
                    writable[index] = true;
                    parts.push(format!("{controller} via v1 `{}`", mount.path.display()));
                    continue;
                }
                Err(error) => tried.push(format!("v1 `{}`: {error}", mount.path.display())),
            }
        }
        if tried.is_empty() {
            tried.push("no hierarchy offers it".to_string());
        }
        parts.push(format!("{controller} not writable ({})", tried.join("; ")));
    }
    let mut detail = match version {
        CgroupVersion::None => "no cgroup filesystem mounted".to_string(),
        CgroupVersion::V1 => "v1".to_string(),
        CgroupVersion::V2 => "v2".to_string(),
        CgroupVersion::Hybrid => "hybrid".to_string(),
    };
    if version != CgroupVersion::None {
        detail.push_str(&format!(": {}", parts.join(", ")));
    }
    if let (Some(mount), Some(controllers)) = (v2, &v2_controllers) {
        let list = if controllers.is_empty() {
            "none".to_string()
        } else {
            controllers.join(" ")
        };
        detail.push_str(&format!(
            "; v2 at `{}` has controllers: {list}",
            mount.path.display()
        ));
    }
    let [memory, pids, cpu] = writable;
    CgroupSupport {
        version,
        memory,
        pids,
        cpu,
        detail,
    }
}

/// Creates a probe cgroup directly under `root`, opens its `limit_file` for writing (without
/// writing), and removes it again.
fn try_limit(root: &Path, limit_file: &str) -> Result<(), String> {
    if root
        .components()
        .any(|part| part.as_os_str() == "process_api")
    {
        return Err("refusing to probe under `process_api`".to_string());
    }
    let name = format!(
        "aegisclaw-probe-{}-{}",
        std::process::id(),
        PROBE_COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let dir = root.join(name);
    // std rather than fs-err: the detail already names the hierarchy, and the bare OS error
    // reads better there than a repeated path.
    std::fs::DirBuilder::new()
        .create(&dir)
        .map_err(|error| error.to_string())?;
    let opened = std::fs::OpenOptions::new()
        .write(true)
        .open(dir.join(limit_file))
        .map(drop)
        .map_err(|error| format!("`{limit_file}`: {error}"));
    let removed =
        std::fs::remove_dir(&dir).map_err(|error| format!("removing `{}`: {error}", dir.display()));
    opened.and(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
34 31 0:31 / /sys/fs/cgroup/cpu\\040set rw,relatime shared:9 - cgroup cgroup rw,cpuset,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw,nsdelegate
";

    #[test]
    fn mountinfo_lists_v1_controllers_and_the_v2_mount() {
        let mount = |unified, path: &str, controllers: &[&str]| CgroupMount {
            unified,
            path: PathBuf::from(path),
            controllers: controllers.iter().map(|c| c.to_string()).collect(),
        };
        assert_eq!(
            cgroup_mounts(HYBRID),
            vec![
                mount(false, "/sys/fs/cgroup/cpu", &["cpu"]),
                mount(false, "/sys/fs/cgroup/cpu set", &["cpuset", "cpuacct"]),
                mount(false, "/sys/fs/cgroup/memory", &["memory"]),
                mount(false, "/sys/fs/cgroup/systemd", &[]),
                mount(true, "/sys/fs/cgroup/unified", &[]),
            ]
        );
    }

    #[test]
    fn process_api_is_never_probed() {
        assert_eq!(
            try_limit(Path::new("/sys/fs/cgroup/memory/process_api"), "memory.max"),
            Err("refusing to probe under `process_api`".to_string())
        );
    }

    #[test]
    fn a_plain_directory_is_not_a_cgroup() {
        let dir = tempfile::tempdir().unwrap();
        let error = try_limit(dir.path(), "memory.max").unwrap_err();
        let missing = std::io::Error::from_raw_os_error(libc::ENOENT);
        assert_eq!(error, format!("`memory.max`: {missing}"));
        assert_eq!(
            fs_err::read_dir(dir.path()).unwrap().count(),
            0,
            "probe dir removed"
        );
    }
}
