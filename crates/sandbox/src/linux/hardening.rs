//! Pre-main hardening of the AegisClaw process: disable core dumps and ptrace attach, drop
//! `LD_*` loader variables. Must run while the process is single-threaded.

use crate::HardeningError;

pub(crate) fn harden_process() -> Result<(), HardeningError> {
    // 1. Not dumpable: no core files with secrets in them, and other processes of the same
    //    user cannot ptrace us or read /proc/<pid>/mem.
    // SAFETY: prctl(PR_SET_DUMPABLE, 0) takes integer arguments only and touches no memory
    // of ours.
    let result = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) };
    if result != 0 {
        return Err(HardeningError::Syscall {
            call: "prctl(PR_SET_DUMPABLE, 0)",
            source: std::io::Error::last_os_error(),
        });
    }
    // 2. No core dumps even if something makes us dumpable again.
    let limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `limit` is a valid, initialised rlimit that outlives the call; setrlimit only
    // reads it.
    let result = unsafe { libc::setrlimit(libc::RLIMIT_CORE, &limit) };
    if result != 0 {
        return Err(HardeningError::Syscall {
            call: "setrlimit(RLIMIT_CORE, 0)",
            source: std::io::Error::last_os_error(),
        });
    }
    // 3. Loader variables would let a parent inject code into skills we spawn.
    let names: Vec<std::ffi::OsString> = std::env::vars_os()
        .map(|(name, _)| name)
        .filter(|name| name.as_encoded_bytes().starts_with(b"LD_"))
        .collect();
    for name in names {
        // SAFETY: called from `main` before any other thread exists (the caller's contract),
        // so no other thread can read the environment concurrently.
        unsafe { std::env::remove_var(&name) };
    }
    Ok(())
}
