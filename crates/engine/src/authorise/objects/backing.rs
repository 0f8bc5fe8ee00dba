//! Files the kernel uses as a block device or as memory: the backing file of an attached loop
//! device (writing it writes that filesystem's blocks under whatever has it mounted, set-id
//! files and device nodes included, which no mount option inside the run can stop; reading it
//! reads all of it under no permission check) and an active swap file (other processes'
//! memory). The kernel names each by a path as *its* mount namespace saw it, which may be no
//! path here (another namespace, a lazily unmounted tree, a deleted name), and a file has other
//! names (hard links, an overlay's layers): so each is known by the inode the kernel uses where
//! it can be (`LOOP_GET_STATUS64`), and where its names cannot all be seen, any directory on a
//! filesystem that could hold one of them is rated as if it did.

use super::Mount;
use aegisclaw_core::scope::{Risk, ScopeKind};
use aegisclaw_sandbox::path::{ObjectKind, OpenedPath};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

/// One such file.
pub(super) struct Backing {
    /// What uses it.
    user: User,
    /// Its path as the kernel reports it (perhaps no path here).
    path: PathBuf,
    /// Whether that path names it here (same inode, or no inode to compare).
    path_is_here: bool,
    /// Its device and inode, when known.
    inode: Option<(u64, u64)>,
    /// Its size, for a swap file this namespace cannot find (a file scope of that size may be
    /// it).
    size: Option<u64>,
    /// Where names of it may lie that cannot be seen.
    hidden: Hidden,
}

enum User {
    /// Attached to `/dev/<device>`, whose filesystem the mount table names `number`.
    Loop {
        device: String,
        number: String,
        /// The loop device itself is active swap.
        swap: bool,
    },
    /// An active swap file.
    Swap,
}

/// Where a file's other names may be.
#[derive(PartialEq, Eq)]
enum Hidden {
    /// Nowhere: its one name is the path reported.
    Nowhere,
    /// On these filesystems (device numbers): a hard link, a deleted or foreign path, an
    /// overlay's layers.
    On(Vec<u64>),
    /// Anywhere: not even its inode is known.
    Anywhere,
}

const SYS_BLOCK: &str = "/sys/block";
const PROC_SWAPS: &str = "/proc/swaps";

/// The attached loop devices' backing files and the active swap areas, with the mount table
/// (overlays' layers) to say where their other names may be.
pub(super) fn backing_files(mounts: &[Mount]) -> Vec<Backing> {
    let mut swap_devices = Vec::new();
    let mut found = Vec::new();
    if let Ok(swaps) = fs_err::read_to_string(PROC_SWAPS) {
        for line in swaps.lines().skip(1) {
            let mut fields = line.split_whitespace();
            let (Some(name), Some(kind), Some(size)) =
                (fields.next(), fields.next(), fields.next())
            else {
                continue;
            };
            let path = PathBuf::from(unescape(name));
            if kind != "file" {
                swap_devices.push(path);
                continue;
            }
            let stat = fs_err::metadata(&path).ok();
            let inode = stat.as_ref().map(|stat| (stat.dev(), stat.ino()));
            let hidden = match &stat {
                None => Hidden::Anywhere,
                Some(stat) => hidden_names(&path, stat, mounts),
            };
            found.push(Backing {
                user: User::Swap,
                path_is_here: stat.is_some(),
                inode,
                size: size.parse::<u64>().ok().map(|kib| kib * 1024),
                hidden,
                path,
            });
        }
    }
    let Ok(listing) = fs_err::read_dir(SYS_BLOCK) else {
        return found;
    };
    for entry in listing.filter_map(Result::ok) {
        let device = entry.file_name().to_string_lossy().into_owned();
        if !device.starts_with("loop") {
            continue;
        }
        let dir = entry.path();
        let Ok(file) = fs_err::read_to_string(dir.join("loop/backing_file")) else {
            continue;
        };
        let file = file.trim_end_matches('\n');
        let (path, deleted) = match file.strip_suffix(" (deleted)") {
            Some(path) => (path, true),
            None => (file, false),
        };
        let node = Path::new("/dev").join(&device);
        // The kernel's own answer names the inode whatever happened to its path.
        let kernel = aegisclaw_sandbox::block::loop_backing_inode(&node).ok();
        let stat = fs_err::metadata(path)
            .ok()
            .filter(|_| !deleted)
            .filter(|stat| kernel.is_none_or(|inode| inode == (stat.dev(), stat.ino())));
        let inode = kernel.or_else(|| stat.as_ref().map(|stat| (stat.dev(), stat.ino())));
        let hidden = match (&stat, inode) {
            (Some(stat), _) => hidden_names(Path::new(path), stat, mounts),
            // Its path names nothing here (deleted, another mount namespace's, a lazily
            // unmounted tree's): any directory on its filesystem may hold a name of it.
            (None, Some((dev, _))) => Hidden::On(vec![dev]),
            (None, None) => Hidden::Anywhere,
        };
        found.push(Backing {
            user: User::Loop {
                number: fs_err::read_to_string(dir.join("dev"))
                    .map(|number| number.trim().to_string())
                    .unwrap_or_default(),
                swap: swap_devices.contains(&node),
                device,
            },
            path: PathBuf::from(path),
            path_is_here: stat.is_some(),
            inode,
            size: None,
            hidden,
        });
    }
    found
}

/// Where names of the file at `path` (its metadata `stat`) may lie besides that path: its
/// filesystem when it has more than one link, and each layer's of an overlay it is on.
fn hidden_names(path: &Path, stat: &std::fs::Metadata, mounts: &[Mount]) -> Hidden {
    let mut devices = Vec::new();
    if stat.nlink() > 1 {
        devices.push(stat.dev());
    }
    // The overlay it is on, if any (the mount holding it with the longest point).
    if let Some(overlay) = mounts
        .iter()
        .filter(|mount| path.starts_with(&mount.point))
        .max_by_key(|mount| mount.point.components().count())
        .filter(|mount| mount.fstype == "overlay")
    {
        devices.push(stat.dev());
        for (_, layer) in overlay.layers() {
            if let Ok(layer) = fs_err::metadata(&layer) {
                devices.push(layer.dev());
            }
        }
    }
    devices.sort_unstable();
    devices.dedup();
    if devices.is_empty() {
        Hidden::Nowhere
    } else {
        Hidden::On(devices)
    }
}

/// A `/proc/swaps` name with the kernel's octal escapes (`\040` for a space, `\134` for a
/// backslash...) undone.
fn unescape(name: &str) -> String {
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        if bytes[index] == b'\\'
            && let Some(code) = bytes
                .get(index + 1..index + 4)
                .and_then(|digits| std::str::from_utf8(digits).ok())
                .and_then(|digits| u8::from_str_radix(digits, 8).ok())
        {
            out.push(code);
            index += 4;
        } else {
            out.push(bytes[index]);
            index += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Raises `path` (the opened object `opened`, and `other_paths` that name it through the mount
/// table) for each backing file it is, holds, or may hold a name of.
pub(super) fn backing_stores(
    path: &Path,
    opened: &OpenedPath,
    other_paths: &[&Path],
    backing: &[Backing],
    mounts: &[Mount],
    kind: ScopeKind,
    raise: &mut impl FnMut(Risk, String),
) {
    let directory = opened.kind() == ObjectKind::Directory;
    for file in backing {
        let is = file.inode == Some((opened.dev(), opened.ino()))
            || (file.inode.is_none()
                && !directory
                && file.size.is_some_and(|size| {
                    fs_err::metadata(path).is_ok_and(|stat| stat.len() == size)
                }));
        let holds = std::iter::once(path)
            .chain(other_paths.iter().copied())
            .filter(|_| file.path_is_here)
            .find(|named| file.path.starts_with(named));
        let may_hold = directory
            && match &file.hidden {
                Hidden::Nowhere => false,
                Hidden::On(devices) => devices.contains(&opened.dev()),
                Hidden::Anywhere => true,
            };
        let shown = if file.path_is_here {
            format!("`{}`", file.path.display())
        } else {
            format!(
                "`{}` (as another mount namespace or a deleted name gives it)",
                file.path.display()
            )
        };
        let what = if is {
            format!("`{}` is", path.display())
        } else if let Some(named) = holds {
            format!("`{}` holds {shown},", named.display())
        } else if may_hold {
            format!(
                "`{}` may hold a name of {shown}, whose names cannot all be seen here (a hard link, an overlay's layer, a path of another mount namespace), and which is",
                path.display()
            )
        } else {
            continue;
        };
        let (risk, gives) = match &file.user {
            User::Swap => (
                // Where not even its inode is known, a directory may hold it: asked about.
                if file.hidden == Hidden::Anywhere && !is && holds.is_none() {
                    Risk::High
                } else {
                    Risk::Critical
                },
                "an active swap file: the memory other processes had swapped out, secrets included"
                    .to_string(),
            ),
            User::Loop {
                device,
                number,
                swap,
            } => {
                let points: Vec<String> = mounts
                    .iter()
                    .filter(|mount| mount.device == *number)
                    .map(|mount| format!("`{}`", mount.point.display()))
                    .collect();
                let mounted = if *swap {
                    String::from("used as swap")
                } else if points.is_empty() {
                    String::from("attached (not mounted now)")
                } else {
                    format!("mounted at {}", points.join(", "))
                };
                if *swap {
                    (
                        Risk::Critical,
                        format!(
                            "the backing file of `/dev/{device}`, {mounted}: the memory other processes had swapped out, secrets included"
                        ),
                    )
                } else if kind == ScopeKind::FilesWrite {
                    (
                        Risk::Critical,
                        format!(
                            "the backing file of `/dev/{device}`, {mounted}: writing it rewrites that filesystem under the host, set-id files and device nodes included"
                        ),
                    )
                } else {
                    (
                        Risk::High,
                        format!(
                            "the backing file of `/dev/{device}`, {mounted}: reading it reads every file of that filesystem, under no permission check"
                        ),
                    )
                }
            }
        };
        raise(risk, format!("{what} {gives}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swap_names_have_the_kernels_escapes_undone() {
        assert_eq!(unescape(r"/tmp/a\134b/swapf"), r"/tmp/a\b/swapf");
        assert_eq!(unescape(r"/srv/my\040swap"), "/srv/my swap");
        assert_eq!(unescape(r"/plain"), "/plain");
        assert_eq!(unescape(r"/odd\9"), r"/odd\9");
    }
}
