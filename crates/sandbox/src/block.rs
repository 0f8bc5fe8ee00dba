//! What backs a host's block devices, for rating a scope that names it: the file an attached
//! loop device reads and writes, by its device and inode (`LOOP_GET_STATUS64`), which names it
//! whatever path or link reaches it, even once its path is deleted. The ioctl lives in
//! `linux::block`; other platforms have no loop devices.

use std::path::Path;

/// The device and inode of the file loop device `device` (`/dev/loop0`) is attached to.
///
/// # Errors
/// When the device cannot be opened (unprivileged callers cannot open `/dev/loop*`), is not
/// attached, or is not a loop device.
pub fn loop_backing_inode(device: &Path) -> std::io::Result<(u64, u64)> {
    #[cfg(target_os = "linux")]
    {
        crate::linux::block::loop_backing_inode(device)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = device;
        Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
    }
}
