//! The new root as data: each [`MountOp`] the child applies in order, with its
//! [`MountFlags`]. Holds no logic; `crate::linux::launch::mounts` turns them into syscalls.

use crate::path::OpenedPath;
use serde::Serialize;
use std::path::PathBuf;

/// What kind of filesystem object a host path is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PathKind {
    /// A directory: bound onto a directory.
    Dir,
    /// Anything else (a file, a device): bound onto an empty file.
    File,
}

/// Mount flags the plan sets (`MS_*`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MountFlags {
    /// `MS_RDONLY`.
    pub read_only: bool,
    /// `MS_NOSUID`.
    pub nosuid: bool,
    /// `MS_NODEV`.
    pub nodev: bool,
    /// `MS_NOEXEC`.
    pub noexec: bool,
}

impl MountFlags {
    /// Read-only, no setuid, no devices (`/usr` and `files.read` binds).
    pub const READ_ONLY: MountFlags = MountFlags {
        read_only: true,
        nosuid: true,
        nodev: true,
        noexec: false,
    };
    /// Writable, no setuid, no devices (`files.write` binds holding something the run may
    /// execute, or any for a run with a bare `shell.exec`).
    pub const READ_WRITE: MountFlags = MountFlags {
        read_only: false,
        nosuid: true,
        nodev: true,
        noexec: false,
    };
    /// Writable, no setuid, no devices, no exec (`files.write` binds of a run that may execute
    /// nothing there): nothing it writes can be executed or mapped executable.
    pub const READ_WRITE_NOEXEC: MountFlags = MountFlags {
        read_only: false,
        nosuid: true,
        nodev: true,
        noexec: true,
    };
    /// Device nodes (`/dev/null`…): read-only, no setuid, no exec. Read-only binds the node's
    /// inode, not its data: writing to `/dev/null` still works, while `chmod`, `chown`,
    /// `utimensat` and `setxattr` on the host's node fail with `EROFS`.
    pub const DEVICE: MountFlags = MountFlags {
        read_only: true,
        nosuid: true,
        nodev: false,
        noexec: true,
    };
    /// Scratch space and `/proc`: writable, nothing special.
    pub const SCRATCH: MountFlags = MountFlags {
        read_only: false,
        nosuid: true,
        nodev: true,
        noexec: true,
    };
}

/// One step of building the new root. Targets are paths inside the sandbox; sources are host
/// paths. Applied in order onto a fresh tmpfs, before `pivot_root`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum MountOp {
    /// Bind a system path of the host by name (`/usr`, a real `/lib64`, a device),
    /// directories recursively, and remount it with `flags`. Scope paths never take this op.
    Bind {
        /// Host path.
        source: PathBuf,
        /// Path inside.
        target: PathBuf,
        /// Directory or file (the mount point created to match).
        kind: PathKind,
        /// Flags of the remount.
        flags: MountFlags,
    },
    /// A fresh tmpfs.
    Tmpfs {
        /// Path inside.
        target: PathBuf,
        /// Mount flags.
        flags: MountFlags,
        /// Size limit in MiB.
        size_mb: u64,
    },
    /// A fresh procfs for the new pid namespace.
    Proc {
        /// Path inside.
        target: PathBuf,
        /// Mount flags.
        flags: MountFlags,
    },
    /// Bind a scope's host object from the decision: the child re-opens `opened`'s path
    /// without following any symlink, checks its `(dev, ino)` against the decided ones,
    /// clones it (`open_tree`, recursively), sets `flags` on the clone and moves it onto the
    /// same path inside (`move_mount`); a mismatch fails the run.
    BindOpened {
        /// The decided object; the path inside is its path.
        opened: OpenedPath,
        /// What the scopes naming it were granted (the widest, when several name it).
        access: super::MountAccess,
        /// Directory or file (the mount point created to match).
        kind: PathKind,
        /// Flags of the clone.
        flags: MountFlags,
    },
    /// A regular file with these contents (mode 0644), written on the new root's own tmpfs
    /// before the root is made read-only: the synthetic `/etc`.
    File {
        /// Path inside.
        target: PathBuf,
        /// What it holds.
        contents: String,
    },
    /// A symlink.
    Symlink {
        /// Where it points.
        points_to: PathBuf,
        /// The link inside.
        link: PathBuf,
    },
}
