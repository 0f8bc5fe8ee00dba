//! `LOOP_GET_STATUS64` on a loop device (`linux/loop.h`), which `libc` does not define.

use std::os::fd::AsRawFd as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;

/// `LOOP_GET_STATUS64` (`0x4C05`).
const LOOP_GET_STATUS64: libc::c_ulong = 0x4C05;

/// `struct loop_info64` of `linux/loop.h` (232 bytes).
#[repr(C)]
struct LoopInfo64 {
    lo_device: u64,
    lo_inode: u64,
    lo_rdevice: u64,
    lo_offset: u64,
    lo_sizelimit: u64,
    lo_number: u32,
    lo_encrypt_type: u32,
    lo_encrypt_key_size: u32,
    lo_flags: u32,
    lo_file_name: [u8; 64],
    lo_crypt_name: [u8; 64],
    lo_encrypt_key: [u8; 32],
    lo_init: [u64; 2],
}

const _: () = assert!(std::mem::size_of::<LoopInfo64>() == 232);

pub(crate) fn loop_backing_inode(device: &Path) -> std::io::Result<(u64, u64)> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(device)?;
    // SAFETY: all-zero bytes are a valid `LoopInfo64` (integers and byte arrays).
    let mut info: LoopInfo64 = unsafe { std::mem::zeroed() };
    // SAFETY: the descriptor is open for the call, and `info` is a writable `loop_info64`
    // the kernel fills.
    let result = unsafe {
        libc::ioctl(
            file.as_raw_fd(),
            LOOP_GET_STATUS64,
            std::ptr::from_mut(&mut info),
        )
    };
    if result < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok((info.lo_device, info.lo_inode))
}
