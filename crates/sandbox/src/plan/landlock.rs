//! The Landlock part of the plan: the filesystem rights, scopes and rules matching the mounts
//! (`plan`). Pure data; `crate::linux::launch` turns it into a ruleset.

use super::{
    Bind, DEVICES, ExecPlan, LANDLOCK_ABI_RESOLVE_UNIX, MountAccess, Network, PROGRAM_DIRS,
    PathKind,
};
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A Landlock filesystem access right (linux/landlock.h `LANDLOCK_ACCESS_FS_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[expect(
    missing_docs,
    reason = "each variant is the Landlock right of the same name"
)]
pub enum FsAccess {
    Execute,
    WriteFile,
    ReadFile,
    ReadDir,
    RemoveDir,
    RemoveFile,
    MakeChar,
    MakeDir,
    MakeReg,
    MakeSock,
    MakeFifo,
    MakeBlock,
    MakeSym,
    Refer,
    Truncate,
    IoctlDev,
    ResolveUnix,
}

impl FsAccess {
    /// Every right, in bit order.
    pub const ALL: [FsAccess; 17] = [
        FsAccess::Execute,
        FsAccess::WriteFile,
        FsAccess::ReadFile,
        FsAccess::ReadDir,
        FsAccess::RemoveDir,
        FsAccess::RemoveFile,
        FsAccess::MakeChar,
        FsAccess::MakeDir,
        FsAccess::MakeReg,
        FsAccess::MakeSock,
        FsAccess::MakeFifo,
        FsAccess::MakeBlock,
        FsAccess::MakeSym,
        FsAccess::Refer,
        FsAccess::Truncate,
        FsAccess::IoctlDev,
        FsAccess::ResolveUnix,
    ];

    /// The first Landlock ABI that knows this right.
    pub fn min_abi(self) -> u32 {
        match self {
            FsAccess::Refer => 2,
            FsAccess::Truncate => 3,
            FsAccess::IoctlDev => 5,
            FsAccess::ResolveUnix => LANDLOCK_ABI_RESOLVE_UNIX,
            _ => 1,
        }
    }

    /// Whether the right applies to files (Landlock refuses directory-only rights on a file).
    pub fn applies_to_files(self) -> bool {
        matches!(
            self,
            FsAccess::Execute
                | FsAccess::WriteFile
                | FsAccess::ReadFile
                | FsAccess::Truncate
                | FsAccess::IoctlDev
                | FsAccess::ResolveUnix
        )
    }
}

/// A Landlock scope (ABI 6): IPC the sandbox may not reach outside its domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LandlockScope {
    /// Connecting to abstract unix sockets created outside.
    AbstractUnixSocket,
    /// Sending signals to processes outside.
    Signal,
}

/// One Landlock path-beneath rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LandlockRule {
    /// Path inside the sandbox (opened after `pivot_root`).
    pub path: PathBuf,
    /// Rights granted beneath it (already limited to the ABI's handled rights).
    pub access: BTreeSet<FsAccess>,
}

/// The Landlock ruleset: handled rights, rules, and what else it restricts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LandlockPlan {
    /// The ABI the ruleset is written for (the kernel's).
    pub abi: u32,
    /// Every filesystem right this ABI knows: all are denied unless a rule grants them.
    pub handled: BTreeSet<FsAccess>,
    /// The rules, matching the mounts.
    pub rules: Vec<LandlockRule>,
    /// ABI ≥ 4 and no network: TCP bind and connect are handled with no port allowed.
    pub deny_tcp: bool,
    /// ABI ≥ 6: scoped IPC.
    pub scopes: Vec<LandlockScope>,
}

/// The ruleset for a plan's mounts: every right the ABI knows is handled, and rules grant
/// what the system paths, the private `/tmp`, the devices and each bind need. Execute is
/// granted on directories only for [`ExecPlan::Any`]; otherwise only on the plan's
/// executable files, and the program directories under `/usr` (`PROGRAM_DIRS`) are not
/// readable but for those files, so the dynamic loader run as a program cannot load any other
/// program found there.
pub(super) fn plan(
    abi: u32,
    network: Network,
    binds: &[Bind],
    exec: &ExecPlan,
    usr_dirs: &[PathBuf],
    real_system_dirs: &[PathBuf],
) -> LandlockPlan {
    use FsAccess::*;
    let handled: BTreeSet<FsAccess> = FsAccess::ALL
        .into_iter()
        .filter(|access| access.min_abi() <= abi)
        .collect();
    let set = |rights: &[FsAccess], kind: PathKind| -> BTreeSet<FsAccess> {
        rights
            .iter()
            .copied()
            .filter(|access| handled.contains(access))
            .filter(|access| kind == PathKind::Dir || access.applies_to_files())
            .collect()
    };
    let any_exec = *exec == ExecPlan::Any;
    let read_exec: &[FsAccess] = if any_exec {
        &[ReadFile, ReadDir, Execute]
    } else {
        &[ReadFile, ReadDir]
    };
    // Host binds never get MakeSock: a socket the run planted there is one a host program
    // could connect to. Its private /tmp keeps the right.
    let read_write = [
        ReadFile, ReadDir, WriteFile, RemoveDir, RemoveFile, MakeDir, MakeReg, MakeFifo, MakeSym,
        Refer, Truncate,
    ];
    let tmp = [
        ReadFile, ReadDir, WriteFile, RemoveDir, RemoveFile, MakeDir, MakeReg, MakeSock, MakeFifo,
        MakeSym, Refer, Truncate,
    ];
    let mut rules = vec![
        // Listing the root shows only what the plan mounted.
        LandlockRule {
            path: PathBuf::from("/"),
            access: set(&[ReadDir], PathKind::Dir),
        },
        LandlockRule {
            path: PathBuf::from("/usr"),
            access: if any_exec {
                set(read_exec, PathKind::Dir)
            } else {
                set(&[ReadDir], PathKind::Dir)
            },
        },
    ];
    if !any_exec {
        // Files under `/usr` are readable except in program directories, and except what
        // sits right in `/usr` or `/usr/local` (nothing a program needs).
        for dir in usr_dirs {
            let program_dir = PROGRAM_DIRS.iter().any(|program| dir == Path::new(program));
            if program_dir || dir == Path::new("/usr/local") || !dir.starts_with("/usr") {
                continue;
            }
            rules.push(LandlockRule {
                path: dir.clone(),
                access: set(&[ReadFile, ReadDir], PathKind::Dir),
            });
        }
    }
    for dir in real_system_dirs {
        rules.push(LandlockRule {
            path: dir.clone(),
            access: set(read_exec, PathKind::Dir),
        });
    }
    rules.extend([
        // The synthetic /etc and the CA store bound inside it.
        LandlockRule {
            path: PathBuf::from("/etc"),
            access: set(&[ReadFile, ReadDir], PathKind::Dir),
        },
        LandlockRule {
            path: PathBuf::from("/proc"),
            access: set(&[ReadFile, ReadDir], PathKind::Dir),
        },
        LandlockRule {
            path: PathBuf::from("/tmp"),
            access: set(&tmp, PathKind::Dir),
        },
    ]);
    for device in DEVICES {
        let writable = matches!(device, "null" | "zero" | "full");
        let rights: &[FsAccess] = if writable {
            &[ReadFile, WriteFile, Truncate, IoctlDev]
        } else {
            &[ReadFile, IoctlDev]
        };
        rules.push(LandlockRule {
            path: Path::new("/dev").join(device),
            access: set(rights, PathKind::File),
        });
    }
    for bind in binds {
        let access = match bind.access {
            // Only `connect()` (ABI 9); before that Landlock does not govern it, and the
            // socket is the only one the run can name (see `plan` step 5).
            MountAccess::Connect => set(&[ResolveUnix], bind.kind),
            MountAccess::Read => set(read_exec, bind.kind),
            MountAccess::Write => {
                let mut rights = read_write.to_vec();
                if any_exec {
                    rights.push(Execute);
                }
                set(&rights, bind.kind)
            }
        };
        // Landlock refuses a rule granting nothing; no rule grants nothing just the same.
        if access.is_empty() {
            continue;
        }
        rules.push(LandlockRule {
            path: bind.path().to_path_buf(),
            access,
        });
    }
    // Each file the run may execute, the only place Execute is granted without a bare
    // `shell.exec` (exec also needs ReadFile; in a program directory nothing else gives it).
    for file in exec.files() {
        rules.push(LandlockRule {
            path: file.to_path_buf(),
            access: set(&[ReadFile, Execute], PathKind::File),
        });
    }
    LandlockPlan {
        abi,
        handled,
        rules,
        // Loopback keeps TCP so the egress proxy can listen inside; the fresh network
        // namespace is the boundary there.
        deny_tcp: abi >= 4 && network == Network::None,
        scopes: if abi >= 6 {
            vec![LandlockScope::AbstractUnixSocket, LandlockScope::Signal]
        } else {
            Vec::new()
        },
    }
}
