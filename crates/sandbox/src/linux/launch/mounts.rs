//! The mount ops of a plan as the child's syscall-level [`Action`]s, built before the clone:
//! the mount points each needs (never made inside a bound host directory), binds by name for
//! system paths, binds from the decision for scope paths, tmpfs, proc, symlinks, the synthetic
//! `/etc` files, and the attributes. Also the words of a failed scope bind. Makes no syscalls.

use super::{
    Action, MOUNT_ATTR_NODEV, MOUNT_ATTR_NOEXEC, MOUNT_ATTR_NOSUID, MOUNT_ATTR_RDONLY, NEW, OLD,
    cstring,
};
use crate::plan::{MountFlags, MountOp, PathKind};
use crate::runtime::SandboxError;
use std::io;
use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;

/// Actions, each tagged with the index of the mount op it belongs to.
pub(super) type Actions = Vec<(usize, Action)>;

/// Every mount op as actions, and the name of each op (its path inside) for reports.
pub(super) fn actions(mounts: &[MountOp]) -> Result<(Actions, Vec<String>), SandboxError> {
    let mut actions = Vec::new();
    let mut mount_names = Vec::new();
    let mut made = MadeDirs::default();
    let shared = shared_attr_tmpfs(mounts);
    for (index, op) in mounts.iter().enumerate() {
        match op {
            MountOp::Bind {
                source,
                target,
                kind,
                flags,
            } => {
                mount_names.push(target.display().to_string());
                match kind {
                    PathKind::Dir => made.mount_point(&mut actions, index, target)?,
                    PathKind::File => {
                        if let Some(parent) = target.parent() {
                            made.mkdirs(&mut actions, index, parent)?;
                        }
                        actions.push((index, Action::Touch(cstring(path_under(NEW, target))?)));
                    }
                }
                let inherits = shared.iter().any(|&tmpfs| {
                        matches!(&mounts[tmpfs], MountOp::Tmpfs { target: dir, .. } if target.starts_with(dir))
                    });
                let target_path = target;
                let target = cstring(path_under(NEW, target))?;
                actions.push((
                    index,
                    Action::Bind {
                        source: cstring(path_under(OLD, source))?,
                        target: target.clone(),
                    },
                ));
                if !inherits {
                    actions.push((
                        index,
                        Action::SetAttr {
                            target,
                            attr_set: attr_bits(*flags),
                        },
                    ));
                }
                if *kind == PathKind::Dir {
                    made.host.push(target_path.clone());
                }
            }
            MountOp::BindOpened {
                opened,
                kind,
                flags,
                ..
            } => {
                let target = opened.path();
                mount_names.push(target.display().to_string());
                // Mount points are made only on the sandbox's own tmpfs; inside a bound
                // host directory they exist already (or the bind fails).
                match kind {
                    PathKind::Dir => made.mount_point(&mut actions, index, target)?,
                    PathKind::File => {
                        if let Some(parent) = target.parent() {
                            made.mkdirs(&mut actions, index, parent)?;
                        }
                        if !made.on_host(target) {
                            actions.push((index, Action::Touch(cstring(path_under(NEW, target))?)));
                        }
                    }
                }
                actions.push((
                    index,
                    Action::BindOpened {
                        source: cstring(path_under(OLD, target))?,
                        target: cstring(path_under(NEW, target))?,
                        dev: opened.dev(),
                        ino: opened.ino(),
                        attr_set: attr_bits(*flags),
                    },
                ));
                if *kind == PathKind::Dir {
                    made.host.push(target.to_path_buf());
                }
            }
            MountOp::Tmpfs {
                target,
                flags,
                size_mb,
            } => {
                mount_names.push(target.display().to_string());
                made.mount_point(&mut actions, index, target)?;
                let mode = if target == Path::new("/tmp") {
                    "1777"
                } else {
                    "0755"
                };
                actions.push((
                    index,
                    Action::Mount {
                        source: cstring("tmpfs")?,
                        target: cstring(path_under(NEW, target))?,
                        fstype: cstring("tmpfs")?,
                        flags: ms_bits(*flags),
                        data: cstring(format!("size={size_mb}m,mode={mode}"))?,
                    },
                ));
            }
            MountOp::Proc { target, flags } => {
                mount_names.push(target.display().to_string());
                made.mount_point(&mut actions, index, target)?;
                actions.push((
                    index,
                    Action::Mount {
                        source: cstring("proc")?,
                        target: cstring(path_under(NEW, target))?,
                        fstype: cstring("proc")?,
                        flags: ms_bits(*flags),
                        data: cstring("")?,
                    },
                ));
            }
            MountOp::File { target, contents } => {
                mount_names.push(target.display().to_string());
                if let Some(parent) = target.parent() {
                    made.mkdirs(&mut actions, index, parent)?;
                }
                actions.push((
                    index,
                    Action::WriteFile {
                        path: cstring(path_under(NEW, target))?,
                        contents: contents.as_bytes().to_vec(),
                    },
                ));
            }
            MountOp::Symlink { points_to, link } => {
                mount_names.push(link.display().to_string());
                if let Some(parent) = link.parent() {
                    made.mkdirs(&mut actions, index, parent)?;
                }
                actions.push((
                    index,
                    Action::Symlink {
                        points_to: cstring(points_to.as_os_str().as_bytes())?,
                        link: cstring(path_under(NEW, link))?,
                    },
                ));
            }
        }
    }
    for &index in &shared {
        if let MountOp::Tmpfs { target, flags, .. } = &mounts[index] {
            actions.push((
                index,
                Action::SetAttr {
                    target: cstring(path_under(NEW, target))?,
                    attr_set: attr_bits(*flags),
                },
            ));
        }
    }
    Ok((actions, mount_names))
}

fn path_under(prefix: &str, path: &Path) -> Vec<u8> {
    let mut bytes = prefix.as_bytes().to_vec();
    let inner = path.as_os_str().as_bytes();
    if !inner.starts_with(b"/") {
        bytes.push(b'/');
    }
    bytes.extend_from_slice(inner);
    bytes
}

/// The directories (inside the new root) that earlier actions made and no later mount hid,
/// so each is made once: `mkdirs` adds to it, `mount_point` also drops what a mount hides.
/// Nothing is ever made inside a bound host directory (`host`): a nested scope's mount point
/// already exists there (both paths were resolved), and a `mkdir` by name inside a host
/// directory could follow a symlink swapped in meanwhile and create something on the host.
#[derive(Default)]
struct MadeDirs {
    made: std::collections::BTreeSet<std::path::PathBuf>,
    host: Vec<std::path::PathBuf>,
}

impl MadeDirs {
    /// Whether `path` is a bound host directory or inside one.
    fn on_host(&self, path: &Path) -> bool {
        self.host.iter().any(|dir| path.starts_with(dir))
    }

    /// `mkdir` for every component of `path` up to and including it not made already.
    fn mkdirs(
        &mut self,
        actions: &mut Actions,
        index: usize,
        path: &Path,
    ) -> Result<(), SandboxError> {
        let mut current = std::path::PathBuf::from("/");
        for component in path.components().skip(1) {
            current.push(component);
            if self.on_host(&current) {
                break;
            }
            if self.made.insert(current.clone()) {
                actions.push((index, Action::Mkdir(cstring(path_under(NEW, &current))?)));
            }
        }
        Ok(())
    }

    /// `mkdirs` for a directory something is about to be mounted on, which hides whatever was
    /// made beneath it (`target` itself stays).
    fn mount_point(
        &mut self,
        actions: &mut Actions,
        index: usize,
        target: &Path,
    ) -> Result<(), SandboxError> {
        self.mkdirs(actions, index, target)?;
        self.made
            .retain(|dir| dir.as_path() == target || !dir.starts_with(target));
        Ok(())
    }
}

/// The tmpfs mounts of `mounts` with binds inside whose attributes all equal the tmpfs's own
/// (the devices under `/dev`): one recursive `mount_setattr` on the tmpfs, after every mount
/// is in place, gives each of those binds its attributes. Attributes are only ever set, never
/// cleared, so the result is the same as one call per bind, in one syscall instead of five.
fn shared_attr_tmpfs(mounts: &[MountOp]) -> Vec<usize> {
    mounts
        .iter()
        .enumerate()
        .filter_map(|(index, op)| {
            let MountOp::Tmpfs { target, flags, .. } = op else {
                return None;
            };
            let mut nested = mounts[index + 1..].iter().filter_map(|inner| match inner {
                MountOp::Bind {
                    target: path,
                    flags,
                    ..
                }
                | MountOp::Tmpfs {
                    target: path,
                    flags,
                    ..
                }
                | MountOp::Proc {
                    target: path,
                    flags,
                } => path.starts_with(target).then_some(*flags),
                MountOp::BindOpened { opened, flags, .. } => {
                    opened.path().starts_with(target).then_some(*flags)
                }
                MountOp::Symlink { .. } | MountOp::File { .. } => None,
            });
            let first = nested.next()?;
            (attr_bits(first) == attr_bits(*flags)
                && nested.all(|inner| attr_bits(inner) == attr_bits(*flags)))
            .then_some(index)
        })
        .collect()
}

fn attr_bits(flags: MountFlags) -> u64 {
    let mut bits = 0;
    if flags.read_only {
        bits |= MOUNT_ATTR_RDONLY;
    }
    if flags.nosuid {
        bits |= MOUNT_ATTR_NOSUID;
    }
    if flags.nodev {
        bits |= MOUNT_ATTR_NODEV;
    }
    if flags.noexec {
        bits |= MOUNT_ATTR_NOEXEC;
    }
    bits
}

fn ms_bits(flags: MountFlags) -> libc::c_ulong {
    let mut bits = 0;
    if flags.read_only {
        bits |= libc::MS_RDONLY;
    }
    if flags.nosuid {
        bits |= libc::MS_NOSUID;
    }
    if flags.nodev {
        bits |= libc::MS_NODEV;
    }
    if flags.noexec {
        bits |= libc::MS_NOEXEC;
    }
    bits
}

/// The error of a failed scope bind: another object at the path, or a path that now has a
/// symlink on it, is missing, or crosses into something else, says the path changed between
/// the decision and the bind; any other errno is reported as it is.
pub(super) fn changed_error(path: &str, other_object: bool, errno: i32) -> io::Error {
    if other_object {
        return io::Error::other(format!(
            "`{path}` changed between the decision and the bind: another object is there now"
        ));
    }
    let cause = io::Error::from_raw_os_error(errno);
    match errno {
        libc::ELOOP | libc::ENOENT | libc::ENOTDIR | libc::EXDEV => io::Error::new(
            cause.kind(),
            format!("`{path}` changed between the decision and the bind: {cause}"),
        ),
        _ => cause,
    }
}
