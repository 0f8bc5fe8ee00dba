//! Opens a scope path once for [`crate::path::open_scope_path`]: `O_PATH` following symlinks,
//! `fstat`, and the kernel's name for the descriptor. Never re-resolves the path by name.

use crate::path::{ObjectKind, OpenedPath, PathError};
use std::ffi::CString;
use std::os::fd::{AsRawFd as _, FromRawFd as _, OwnedFd};
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};

/// What `/proc/self/fd/N` appends to the name of an object that was removed.
const DELETED: &str = " (deleted)";

pub(crate) fn open(path: &Path) -> Result<OpenedPath, PathError> {
    if !path.is_absolute() {
        return Err(PathError::Relative {
            path: path.to_path_buf(),
        });
    }
    let c_path = CString::new(path.as_os_str().as_bytes()).map_err(|_| PathError::NulByte {
        path: path.to_path_buf(),
    })?;
    // SAFETY: `c_path` is NUL-terminated and alive for the call; O_PATH opens no file
    // contents, follows symlinks (the user scoped what the link names) and reads no memory
    // of ours but the path.
    let fd = unsafe { libc::open(c_path.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
    if fd < 0 {
        let source = std::io::Error::last_os_error();
        return Err(match source.raw_os_error() {
            Some(libc::ENOENT | libc::ENOTDIR) => PathError::Missing {
                path: path.to_path_buf(),
            },
            _ => PathError::Open {
                path: path.to_path_buf(),
                source,
            },
        });
    }
    // SAFETY: open returned a new descriptor that nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    describe(path, fd)
}

/// [`OpenedPath::read_prefix`]: the regular file behind `fd`, re-opened read-only and without
/// blocking through `/proc/self/fd/N` (the object itself, whatever its path names now).
pub(crate) fn read_prefix(
    path: &Path,
    kind: ObjectKind,
    fd: Option<&OwnedFd>,
    max: u64,
) -> Result<Vec<u8>, PathError> {
    use std::io::Read as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let open_error = |source: std::io::Error| PathError::Open {
        path: path.to_path_buf(),
        source,
    };
    let Some(fd) = fd.filter(|_| kind == ObjectKind::File) else {
        return Err(open_error(std::io::Error::other(
            "not an opened regular file",
        )));
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .map_err(open_error)?;
    let mut bytes = Vec::new();
    file.take(max).read_to_end(&mut bytes).map_err(open_error)?;
    Ok(bytes)
}

/// Kind and identity by `fstat`, the resolved path by `/proc/self/fd`.
fn describe(path: &Path, fd: OwnedFd) -> Result<OpenedPath, PathError> {
    let open_error = |source: std::io::Error| PathError::Open {
        path: path.to_path_buf(),
        source,
    };
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `fd` is open; fstat writes one `stat` into `stat`, read only after it succeeded.
    if unsafe { libc::fstat(fd.as_raw_fd(), stat.as_mut_ptr()) } != 0 {
        return Err(open_error(std::io::Error::last_os_error()));
    }
    // SAFETY: fstat returned 0, so it initialised `stat`.
    let stat = unsafe { stat.assume_init() };
    let answer =
        fs_err::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd())).map_err(open_error)?;
    let text = answer.to_string_lossy();
    if !answer.is_absolute() || text.ends_with(DELETED) {
        return Err(PathError::Unnamed {
            path: path.to_path_buf(),
            answer: text.into_owned(),
        });
    }
    Ok(OpenedPath::from_stat(
        PathBuf::from(answer.as_os_str()),
        &stat,
        fd,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt as _;

    fn canonical(path: &Path) -> PathBuf {
        fs_err::canonicalize(path).unwrap()
    }

    #[test]
    fn kinds_and_identity_come_from_the_object() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        fs_err::write(&file, "x").unwrap();
        let socket = dir.path().join("sock");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let fifo = dir.path().join("fifo");
        let c_fifo = CString::new(fifo.as_os_str().as_bytes()).unwrap();
        // SAFETY: a NUL-terminated path alive for the call.
        assert_eq!(unsafe { libc::mkfifo(c_fifo.as_ptr(), 0o600) }, 0);
        for (path, kind) in [
            (dir.path().to_path_buf(), ObjectKind::Directory),
            (file.clone(), ObjectKind::File),
            (socket, ObjectKind::Socket),
            (fifo, ObjectKind::Other),
        ] {
            let opened = open(&path).unwrap();
            let metadata = fs_err::metadata(&path).unwrap();
            assert_eq!(
                (opened.path(), opened.kind(), opened.dev(), opened.ino()),
                (
                    canonical(&path).as_path(),
                    kind,
                    metadata.dev(),
                    metadata.ino()
                )
            );
        }
        assert!(open(&file).unwrap().same_object(&open(&file).unwrap()));
    }

    #[test]
    fn symlinks_are_followed_to_what_they_name() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        fs_err::create_dir_all(real.join("inner")).unwrap();
        // A link to the directory, a relative link, and a path through a symlinked parent.
        std::os::unix::fs::symlink(&real, dir.path().join("link")).unwrap();
        std::os::unix::fs::symlink("real/inner", dir.path().join("relative")).unwrap();
        let expected = canonical(&real.join("inner"));
        for path in [
            dir.path().join("link/inner"),
            dir.path().join("relative"),
            real.join("inner"),
        ] {
            let opened = open(&path).unwrap();
            assert_eq!(opened.path(), expected, "{}", path.display());
            assert_eq!(opened.kind(), ObjectKind::Directory);
        }
    }

    #[test]
    fn missing_relative_and_dangling_paths_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(dir.path().join("nowhere"), dir.path().join("dangling"))
            .unwrap();
        fs_err::write(dir.path().join("file"), "x").unwrap();
        for path in [
            dir.path().join("missing"),
            dir.path().join("dangling"),
            dir.path().join("file/below"),
        ] {
            assert!(
                matches!(open(&path), Err(PathError::Missing { path: named }) if named == path),
                "{}",
                path.display()
            );
        }
        assert!(matches!(
            open(Path::new("relative/path")),
            Err(PathError::Relative { .. })
        ));
    }

    #[test]
    fn an_object_removed_while_open_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone");
        fs_err::create_dir(&gone).unwrap();
        let c_gone = CString::new(gone.as_os_str().as_bytes()).unwrap();
        // SAFETY: a NUL-terminated path alive for the call.
        let fd = unsafe { libc::open(c_gone.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
        assert!(fd >= 0);
        // SAFETY: a new descriptor nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        fs_err::remove_dir(&gone).unwrap();
        match describe(&gone, fd) {
            Err(PathError::Unnamed { path, answer }) => {
                assert_eq!(path, gone);
                assert!(answer.ends_with(DELETED), "{answer}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn read_prefix_reads_the_opened_file_not_what_its_path_names_later() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.pem");
        fs_err::write(&path, "the checked bytes").unwrap();
        let opened = open(&path).unwrap();
        // Swapped for another file after the open.
        let other = dir.path().join("other");
        fs_err::write(&other, "something else").unwrap();
        fs_err::rename(&other, &path).unwrap();
        assert_eq!(opened.read_prefix(1024).unwrap(), b"the checked bytes");
        assert_eq!(opened.read_prefix(3).unwrap(), b"the");
        // Only a regular file is read.
        let directory = open(dir.path()).unwrap();
        assert!(matches!(
            directory.read_prefix(10),
            Err(PathError::Open { .. })
        ));
    }
}
