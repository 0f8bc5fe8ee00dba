//! Scope paths opened once (DESIGN §3): the host object a scope names, opened by its path with
//! symlinks followed (the user scoped what the link names), identified by kind, device and
//! inode, and named by the path the kernel reports for that descriptor. The engine rates and
//! decides that path; the runtime binds that very object (the child re-opens the path without
//! following any symlink and checks `(dev, ino)`); the engine reads the CA store through
//! [`OpenedPath::read_prefix`]. Decides nothing and mounts nothing.

use serde::Serialize;
use std::path::{Path, PathBuf};

/// What kind of filesystem object an opened path is (`fstat`'s `S_IFMT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectKind {
    /// A directory.
    Directory,
    /// A regular file.
    File,
    /// A unix domain socket (only `unix.connect` scopes may name one).
    Socket,
    /// Anything else: a device node or a FIFO.
    Other,
}

impl ObjectKind {
    /// `directory`, `file`, `socket` or `other`, for records and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Directory => "directory",
            ObjectKind::File => "file",
            ObjectKind::Socket => "socket",
            ObjectKind::Other => "other",
        }
    }
}

/// A scope path opened once: the resolved path, the object's kind and identity, and (on
/// Linux) the `O_PATH` descriptor it was opened as. Every clone shares the descriptor, which
/// stays open while any clone lives, so the decided inode cannot be freed and its number
/// reused before the run that binds it has exec'd. Equality compares path, kind and identity.
#[derive(Clone)]
pub struct OpenedPath {
    path: PathBuf,
    kind: ObjectKind,
    dev: u64,
    ino: u64,
    /// A regular file with the set-user-ID or set-group-ID bit, when it was opened.
    set_id: bool,
    /// Owned by uid 0 and writable by neither its group nor others, when it was opened.
    root_only: bool,
    /// Its size (`st_size`) when it was opened.
    len: u64,
    /// `None` only for values made by the plan's pure tests.
    #[cfg(target_os = "linux")]
    fd: Option<std::sync::Arc<std::os::fd::OwnedFd>>,
}

impl OpenedPath {
    /// The path the kernel reports for the opened object: absolute, every symlink resolved.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What kind of object it is.
    pub fn kind(&self) -> ObjectKind {
        self.kind
    }

    /// Its device (`st_dev`).
    pub fn dev(&self) -> u64 {
        self.dev
    }

    /// Its inode number (`st_ino`).
    pub fn ino(&self) -> u64 {
        self.ino
    }

    /// Whether it is a regular file with the set-user-ID or set-group-ID bit (`S_ISUID`,
    /// `S_ISGID`) as it was opened: a program that runs with its owner's or group's rights.
    pub fn is_set_id(&self) -> bool {
        self.set_id
    }

    /// Whether it is owned by uid 0 and writable by neither its group nor others, as it was
    /// opened: only root can change what it holds.
    pub fn is_root_only(&self) -> bool {
        self.root_only
    }

    /// Its size in bytes (`st_size`) as it was opened.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether it was empty when it was opened.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `other` is the same object (same device and inode), whatever path named it.
    pub fn same_object(&self, other: &OpenedPath) -> bool {
        self.dev == other.dev && self.ino == other.ino
    }

    /// Reads at most `max` bytes of the opened regular file itself: re-opened read-only through
    /// the descriptor it was opened as (`/proc/self/fd/N`), never by its path, so a path
    /// swapped since cannot change what is read. A caller that accepts `n` bytes asks for
    /// `n + 1` to learn that a file is larger. Anything but a regular file is an error.
    pub fn read_prefix(&self, max: u64) -> Result<Vec<u8>, PathError> {
        #[cfg(target_os = "linux")]
        {
            crate::linux::path::read_prefix(&self.path, self.kind, self.fd.as_deref(), max)
        }
        #[cfg(not(target_os = "linux"))]
        {
            let _ = max;
            Err(PathError::Unsupported)
        }
    }

    /// The value for an object opened as `fd` at `path` (resolved), from its `fstat`.
    #[cfg(target_os = "linux")]
    pub(crate) fn from_stat(path: PathBuf, stat: &libc::stat, fd: std::os::fd::OwnedFd) -> Self {
        let kind = match stat.st_mode & libc::S_IFMT {
            libc::S_IFDIR => ObjectKind::Directory,
            libc::S_IFREG => ObjectKind::File,
            libc::S_IFSOCK => ObjectKind::Socket,
            _ => ObjectKind::Other,
        };
        Self {
            path,
            kind,
            dev: stat.st_dev,
            ino: stat.st_ino,
            set_id: kind == ObjectKind::File && stat.st_mode & (libc::S_ISUID | libc::S_ISGID) != 0,
            root_only: stat.st_uid == 0 && stat.st_mode & (libc::S_IWGRP | libc::S_IWOTH) == 0,
            len: u64::try_from(stat.st_size).unwrap_or(0),
            fd: Some(std::sync::Arc::new(fd)),
        }
    }

    /// A value holding no descriptor, for the plan's pure tests (binding it would fail its
    /// identity check unless the numbers happen to match a real object).
    #[cfg(test)]
    pub(crate) fn unopened(path: &str, kind: ObjectKind, ino: u64) -> Self {
        Self {
            path: PathBuf::from(path),
            kind,
            dev: 1,
            ino,
            set_id: false,
            root_only: false,
            len: 0,
            #[cfg(target_os = "linux")]
            fd: None,
        }
    }
}

impl PartialEq for OpenedPath {
    fn eq(&self, other: &Self) -> bool {
        self.path == other.path
            && self.kind == other.kind
            && self.dev == other.dev
            && self.ino == other.ino
    }
}

impl Eq for OpenedPath {}

impl std::fmt::Debug for OpenedPath {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("OpenedPath")
            .field("path", &self.path)
            .field("kind", &self.kind)
            .field("dev", &self.dev)
            .field("ino", &self.ino)
            .field("set_id", &self.set_id)
            .finish_non_exhaustive()
    }
}

impl Serialize for OpenedPath {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct as _;
        let mut state = serializer.serialize_struct("OpenedPath", 4)?;
        state.serialize_field("path", &self.path)?;
        state.serialize_field("kind", &self.kind)?;
        state.serialize_field("dev", &self.dev)?;
        state.serialize_field("ino", &self.ino)?;
        state.end()
    }
}

/// Why a scope path cannot be opened. Every message names the path.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    /// The path is not absolute.
    #[error("`{path}` is not an absolute path")]
    Relative {
        /// The path as given.
        path: PathBuf,
    },
    /// The path has a NUL byte.
    #[error("`{path}` contains a NUL byte")]
    NulByte {
        /// The path (lossy).
        path: PathBuf,
    },
    /// Nothing exists at the path (or a component of it is not a directory).
    #[error("`{path}` does not exist")]
    Missing {
        /// The path as given.
        path: PathBuf,
    },
    /// The path exists but cannot be opened or examined.
    #[error("cannot open `{path}`")]
    Open {
        /// The path as given.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The kernel names the opened object by no usable path: removed while it was opened, or
    /// outside this process's root.
    #[error("`{path}` opened as `{answer}`, which names no path on this host")]
    Unnamed {
        /// The path as given.
        path: PathBuf,
        /// What `/proc/self/fd` said.
        answer: String,
    },
    /// This platform has no implementation.
    #[error("scope paths cannot be opened on this platform")]
    Unsupported,
}

/// Opens a scope path once: `open(path, O_PATH | O_CLOEXEC)` following symlinks, `fstat` for
/// its kind, device and inode, and the resolved path from `/proc/self/fd/N` (refusing an
/// answer that is not absolute or marks the object deleted).
pub fn open_scope_path(path: &Path) -> Result<OpenedPath, PathError> {
    #[cfg(target_os = "linux")]
    {
        crate::linux::path::open(path)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = path;
        Err(PathError::Unsupported)
    }
}
