//! The network namespaces kept for cgroup slots (`plan::NetNamespace::Slot`): a root run with
//! no network joins its slot's namespace instead of making one. Making a network namespace
//! (loopback device, sysctl tables, per-protocol state) is the dearest single step of a
//! launch: about 0.5 ms of the 3-4 ms here.
//!
//! A slot's namespace is made once, by a short-lived thread that calls
//! `unshare(CLONE_NEWNET)` and bind-mounts `/proc/thread-self/ns/net` at `<dir>/slot-<n>` (what
//! `ip netns add` does). The initial user namespace owns it, so a run, which has a user
//! namespace of its own and no capability over this one, cannot bring an interface up, add
//! one, or change a sysctl in it. Before each run the cloning thread joins it and checks that
//! it still holds only `lo`, down; one that does not is unmounted and made afresh. The clone
//! happens in it, and the thread goes back to its own namespace right after.

use std::ffi::CString;
use std::io::{self, Write as _};
use std::os::fd::{AsRawFd as _, OwnedFd};
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _};
use std::path::Path;

/// `statfs` type of a namespace file (linux/magic.h).
const NSFS_MAGIC: libc::c_long = 0x6e73_6673;
/// `NS_GET_NSTYPE` (linux/nsfs.h: `_IO(0xb7, 0x3)`): the `CLONE_NEW*` type of a namespace file.
const NS_GET_NSTYPE: libc::c_ulong = 0xb703;

/// The calling thread, in a slot's network namespace until dropped; dropping it returns the
/// thread to the namespace it came from.
pub(crate) struct InSlot {
    home: OwnedFd,
}

impl InSlot {
    /// Moves the calling thread into `namespace`, remembering where it was.
    fn join(namespace: &OwnedFd) -> io::Result<Self> {
        let home = open_read_only(Path::new("/proc/thread-self/ns/net"))?;
        crate::netns::enter(namespace)?;
        Ok(Self { home })
    }
}

impl Drop for InSlot {
    fn drop(&mut self) {
        if let Err(error) = crate::netns::enter(&self.home) {
            // Staying would leave this thread, and everything it does next (such as opening
            // the egress proxy's sockets for another run), in the wrong namespace.
            let _ = writeln!(
                io::stderr(),
                "aegisclaw: cannot return to this thread's own network namespace after a launch: {error}"
            );
            std::process::abort();
        }
    }
}

/// Moves the calling thread into the namespace of slot `slot` under `dir`: made first when
/// missing, and made afresh when it holds anything but `lo`, down. On an error the thread
/// stays where it was.
pub(crate) fn enter(dir: &Path, slot: usize) -> io::Result<InSlot> {
    let path = dir.join(format!("slot-{slot}"));
    let (mut namespace, mut made) = match open_namespace(&path)? {
        Some(namespace) => (namespace, false),
        None => (make(dir, &path)?, true),
    };
    loop {
        let in_slot = InSlot::join(&namespace)?;
        let Some(found) = unexpected_interfaces()? else {
            return Ok(in_slot);
        };
        drop(in_slot);
        if made {
            return Err(io::Error::other(format!(
                "the network namespace just made at `{}` holds {found}",
                path.display()
            )));
        }
        unmount(&path)?;
        namespace = make(dir, &path)?;
        made = true;
    }
}

/// Unmounts every slot namespace under `dir` (they live on in runs still inside them) and
/// returns how many there were.
pub(crate) fn remove_all(dir: &Path) -> io::Result<usize> {
    let entries = match fs_err::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(error) => return Err(error),
    };
    let mut removed = 0;
    for entry in entries {
        let path = entry?.path();
        let mut mounted = false;
        while open_namespace(&path)?.is_some() {
            unmount(&path)?;
            mounted = true;
        }
        removed += usize::from(mounted);
        fs_err::remove_file(&path)?;
    }
    Ok(removed)
}

/// The network namespace mounted at `path`; `None` when nothing is (no file, or a plain one).
fn open_namespace(path: &Path) -> io::Result<Option<OwnedFd>> {
    let file = match open_read_only(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    // SAFETY: all-zero is a valid `statfs` (plain integers), which fstatfs fills in.
    let mut stat: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `file` is open for the whole call and `stat` is a valid, exclusive `statfs`.
    if unsafe { libc::fstatfs(file.as_raw_fd(), &raw mut stat) } != 0 {
        return Err(io::Error::last_os_error());
    }
    if libc::c_long::from(stat.f_type) != NSFS_MAGIC {
        return Ok(None);
    }
    // SAFETY: NS_GET_NSTYPE takes no argument and returns the namespace type.
    let kind = unsafe { libc::ioctl(file.as_raw_fd(), NS_GET_NSTYPE) };
    if kind != libc::CLONE_NEWNET {
        return Err(io::Error::other(format!(
            "`{}` is a namespace but not a network namespace",
            path.display()
        )));
    }
    Ok(Some(file))
}

/// Makes a namespace holding only `lo` (down, as every new one starts) and bind-mounts it at
/// `path`, a file under `dir`.
fn make(dir: &Path, path: &Path) -> io::Result<OwnedFd> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    // The mount point: an empty file, kept if there.
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)?;
    let target = CString::new(path.as_os_str().as_bytes())?;
    std::thread::Builder::new()
        .name("aegisclaw-netns".to_string())
        .spawn(move || -> io::Result<()> {
            // SAFETY: unshare takes a flag word; with CLONE_NEWNET it moves only this thread,
            // which exits right after, into a new network namespace.
            if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: both paths are NUL-terminated strings alive for the call; the type and
            // data may be null for a bind mount.
            let mounted = unsafe {
                libc::mount(
                    c"/proc/thread-self/ns/net".as_ptr(),
                    target.as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND,
                    std::ptr::null(),
                )
            };
            if mounted != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        })?
        .join()
        .map_err(|_| io::Error::other("the thread making a network namespace panicked"))??;
    open_namespace(path)?.ok_or_else(|| {
        io::Error::other(format!(
            "`{}` holds no network namespace after one was mounted there",
            path.display()
        ))
    })
}

/// What the calling thread's network namespace holds besides `lo`, down; `None` for nothing.
fn unexpected_interfaces() -> io::Result<Option<String>> {
    // SAFETY: if_nameindex takes nothing and returns a list it allocated, or null.
    let list = unsafe { libc::if_nameindex() };
    if list.is_null() {
        return Err(io::Error::last_os_error());
    }
    let mut names = Vec::new();
    let mut entry = list;
    loop {
        // SAFETY: `entry` is within the list, which ends with an all-zero entry that stops
        // this loop before it could go past.
        let item = unsafe { &*entry };
        if item.if_index == 0 && item.if_name.is_null() {
            break;
        }
        if !item.if_name.is_null() {
            // SAFETY: a non-null name in the list is a NUL-terminated string it owns.
            let name = unsafe { std::ffi::CStr::from_ptr(item.if_name) };
            names.push(name.to_string_lossy().into_owned());
        }
        // SAFETY: this entry was not the terminator, so the next one is in the list.
        entry = unsafe { entry.add(1) };
    }
    // SAFETY: `list` came from if_nameindex and is freed once; `names` owns copies.
    unsafe { libc::if_freenameindex(list) };
    if names != ["lo"] {
        return Ok(Some(format!("the interfaces {names:?}")));
    }
    if crate::netns::loopback_flags()? & libc::IFF_UP as libc::c_short != 0 {
        return Ok(Some("`lo` up".to_string()));
    }
    Ok(None)
}

fn unmount(path: &Path) -> io::Result<()> {
    let target = CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: `target` is a NUL-terminated path alive for the call.
    if unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// `path` open for reading (close-on-exec); errors name the path.
fn open_read_only(path: &Path) -> io::Result<OwnedFd> {
    Ok(fs_err::File::open(path)?.into_file().into())
}
