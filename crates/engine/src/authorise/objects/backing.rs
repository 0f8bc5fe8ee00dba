//! Files the kernel uses as a block device or as memory: the backing file of an attached loop
//! device (writing it writes that filesystem's blocks under whatever has it mounted, set-id
//! files and device nodes included, which no mount option inside the run can stop; reading it
//! reads all of it under no permission check) and an active swap file (other processes'
//! memory). The kernel names each by a path as *its* mount namespace saw it, which may be no
//! path here (another namespace, a lazily unmounted tree, a deleted name), and a file has other
//! names (hard links, an overlay's layers): so each is known by the inode the kernel uses where
//! it can be (`LOOP_GET_STATUS64`), and where its names cannot all be seen, any directory on a
//! filesystem that could hold one of them is rated as if it did.

use super::{Mount, mount_holding};
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
    /// The lengths a file holding it has (a loop device's size from its offset, a swap area's
    /// with its header), for finding it where its names here have inodes of their own.
    size: Option<(u64, u64)>,
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
    /// On its own filesystem, by the inode it has (a hard link, a deleted or foreign path): a
    /// directory scope there is searched for that inode.
    Links,
    /// Anywhere, by names with inodes of their own (an overlay's layers, a filesystem this
    /// namespace does not mount, an inode that cannot be learnt): any regular file of its size
    /// may be it, and a directory scope is searched for one.
    Elsewhere,
}

/// Entries of a directory scope searched for a file's inode at most; past it, the directory
/// may hold the file.
const MAX_SEARCH: usize = 20_000;

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
                None => Hidden::Elsewhere,
                Some(stat) => hidden_names(&path, stat, mounts),
            };
            found.push(Backing {
                user: User::Swap,
                path_is_here: stat.is_some(),
                inode,
                // `/proc/swaps` leaves out the header page, up to 64 KiB on any page size.
                size: size
                    .parse::<u64>()
                    .ok()
                    .map(|kib| (kib * 1024, kib * 1024 + 64 * 1024)),
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
            // unmounted tree's), on a filesystem mounted here: a directory on it may hold a
            // name of it. On one not mounted here (another namespace's overlay), anywhere.
            (None, Some((dev, _)))
                if mounts
                    .iter()
                    .any(|mount| mount.device == device_number(dev)) =>
            {
                Hidden::Links
            }
            (None, _) => Hidden::Elsewhere,
        };
        // Its size from the loop device: 512-byte sectors from its offset.
        let offset = read_number(&dir.join("loop/offset")).unwrap_or(0);
        let size = read_number(&dir.join("size")).map(|sectors| {
            let bytes = offset + sectors * 512;
            (bytes, bytes + 511)
        });
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
            size,
            hidden,
        });
    }
    found
}

/// A number the kernel keeps in a sysfs file.
fn read_number(path: &Path) -> Option<u64> {
    fs_err::read_to_string(path).ok()?.trim().parse().ok()
}

/// Where names of the file at `path` (its metadata `stat`) may lie besides that path: its
/// filesystem when it has more than one link, and each layer's of an overlay it is on.
fn hidden_names(path: &Path, stat: &std::fs::Metadata, mounts: &[Mount]) -> Hidden {
    // On an overlay (the mount holding it with the longest point), its layers' copies have
    // inodes of their own.
    let on_overlay =
        mount_holding(path, mounts).is_some_and(|(_, mount)| mount.fstype == "overlay");
    if on_overlay {
        Hidden::Elsewhere
    } else if stat.nlink() > 1 {
        Hidden::Links
    } else {
        Hidden::Nowhere
    }
}

/// A device number as the mount table writes it (`major:minor`).
fn device_number(dev: u64) -> String {
    let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
    let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
    format!("{major}:{minor}")
}

/// What a search looks for.
#[derive(Clone, Copy)]
enum Wanted {
    /// A name of this inode (on its device: other filesystems are not entered).
    Inode(u64, u64),
    /// A regular file of a length in this range.
    Sized(u64, u64),
}

/// Where in `dir` a file that is `wanted` has a name, if anywhere; `Err` when the search could
/// not be completed (too many entries, an unreadable directory), so the directory may hold it.
/// Symlinks are not followed.
fn search(dir: &Path, wanted: Wanted) -> Result<Option<PathBuf>, ()> {
    let mut pending = vec![dir.to_path_buf()];
    let mut seen = 0usize;
    while let Some(next) = pending.pop() {
        for entry in fs_err::read_dir(&next).map_err(|_| ())? {
            let entry = entry.map_err(|_| ())?;
            seen += 1;
            if seen > MAX_SEARCH {
                return Err(());
            }
            let metadata = entry.metadata().map_err(|_| ())?;
            let hit = match wanted {
                Wanted::Inode(dev, _) if metadata.dev() != dev => continue,
                Wanted::Inode(_, ino) => metadata.ino() == ino && !metadata.is_dir(),
                Wanted::Sized(low, high) => {
                    metadata.is_file() && (low..=high).contains(&metadata.len())
                }
            };
            if hit {
                return Ok(Some(entry.path()));
            }
            if metadata.is_dir() {
                pending.push(entry.path());
            }
        }
    }
    Ok(None)
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
        let sized = |len: u64| {
            file.size
                .is_some_and(|(low, high)| (low..=high).contains(&len))
        };
        let is = file.inode == Some((opened.dev(), opened.ino()))
            || (file.hidden == Hidden::Elsewhere
                && !directory
                && fs_err::metadata(path).is_ok_and(|stat| stat.is_file() && sized(stat.len())));
        let holds = std::iter::once(path)
            .chain(other_paths.iter().copied())
            .filter(|_| file.path_is_here)
            .find(|named| file.path.starts_with(named));
        // What a directory scope is searched for: a name of the inode on its filesystem, or
        // any regular file of its size; `Err` when it cannot be (may hold it).
        let wanted = match (&file.hidden, file.inode, file.size) {
            _ if !directory => Ok(None),
            (Hidden::Nowhere, ..) => Ok(None),
            (Hidden::Links, Some((dev, ino)), _) if dev == opened.dev() => {
                Ok(Some(Wanted::Inode(dev, ino)))
            }
            (Hidden::Links, Some(_), _) => Ok(None),
            (Hidden::Elsewhere, _, Some((low, high))) => Ok(Some(Wanted::Sized(low, high))),
            (Hidden::Links | Hidden::Elsewhere, ..) => Err(()),
        };
        let (found, may_hold) = match wanted.and_then(|wanted| match wanted {
            Some(wanted) => search(path, wanted),
            None => Ok(None),
        }) {
            Ok(found) => (found, false),
            Err(()) => (None, true),
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
        } else if let Some(name) = &found {
            format!(
                "`{}` holds `{}`, a name of {shown}, which is",
                path.display(),
                name.display()
            )
        } else if let Some(named) = holds {
            format!("`{}` holds {shown},", named.display())
        } else if may_hold {
            format!(
                "`{}` may hold a name of {shown}, whose names cannot all be seen here (an overlay's layer, more than {MAX_SEARCH} entries to search, an inode that cannot be learnt), and which is",
                path.display()
            )
        } else {
            continue;
        };
        // Where the file's inode is unknown, no directory can be ruled out or in: asked about.
        let unknown = !is && holds.is_none() && found.is_none();
        let (risk, gives) = match &file.user {
            User::Swap => (
                // Where not even its inode is known, a directory may hold it: asked about.
                if unknown { Risk::High } else { Risk::Critical },
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
                if unknown {
                    (
                        Risk::High,
                        format!(
                            "the backing file of `/dev/{device}`, {mounted}, whose inode cannot be learnt here (opening the loop device needs root), so no directory can be ruled out"
                        ),
                    )
                } else if *swap {
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

    #[test]
    fn device_numbers_read_as_the_mount_table_writes_them() {
        assert_eq!(device_number(0xfe00), "254:0");
        assert_eq!(device_number(0x2c), "0:44");
        assert_eq!(device_number((259 << 8) | 5), "259:5");
    }
}
