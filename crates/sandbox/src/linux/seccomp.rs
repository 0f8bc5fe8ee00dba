//! Compiles the seccomp deny table to one classic BPF program, once per profile, before any
//! fork: the child only hands the finished program to `prctl`.
//!
//! The program is small on purpose (the kernel JITs it and, at attach time, emulates it for
//! every syscall number to find the ones it can allow without running it):
//! 1. a foreign architecture is killed; on x86_64 the x32 ABI (numbers with bit 30) gets ENOSYS,
//!    so no denied call can be reached under its x32 number;
//! 2. a balanced binary search over the denied syscall numbers (about log2(n) jumps, so the
//!    emulation is cheap), whose leaves jump to one handler per entry;
//! 3. handlers: return the errno, or check argument 0 (clone flags, allowed values) first.
//!
//! Everything not in the table is allowed.

use crate::plan::{DenyErrno, SeccompDeny};

/// The architecture this binary runs on, as the kernel reports it in `seccomp_data.arch`.
#[cfg(target_arch = "x86_64")]
const AUDIT_ARCH: u32 = 0xc000_003e;
#[cfg(target_arch = "aarch64")]
const AUDIT_ARCH: u32 = 0xc000_00b7;
#[cfg(target_arch = "riscv64")]
const AUDIT_ARCH: u32 = 0xc000_00f3;

/// x86_64's x32 ABI sets this bit in the syscall number.
#[cfg(target_arch = "x86_64")]
const X32_SYSCALL_BIT: u32 = 0x4000_0000;

// linux/bpf_common.h: BPF_LD|BPF_W|BPF_ABS, BPF_JMP|BPF_JEQ|BPF_K (and JGE, JSET),
// BPF_RET|BPF_K; linux/seccomp.h for the return values.
const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JMP_JEQ_K: u16 = 0x15;
const BPF_JMP_JGE_K: u16 = 0x35;
const BPF_JMP_JSET_K: u16 = 0x45;
const BPF_RET_K: u16 = 0x06;
const SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;
const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
/// Offsets in `struct seccomp_data`: nr, arch, then args[6] of 8 bytes (low word first on
/// little-endian machines).
const OFFSET_NR: u32 = 0;
const OFFSET_ARCH: u32 = 4;
const OFFSET_ARG0_LOW: u32 = 16;

/// Compiled programs, ready for `prctl(PR_SET_SECCOMP)` in order.
pub(crate) type Programs = Vec<Vec<libc::sock_filter>>;

/// Why the table could not be compiled.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CompileError {
    /// A syscall name this architecture does not know (and that is not on the skip list).
    #[error("unknown syscall `{name}` on this architecture")]
    UnknownSyscall { name: String },
    /// Two entries name the same syscall.
    #[error("syscall `{name}` is in the table twice")]
    Duplicate { name: String },
    /// A clone-flag or argument value that does not fit the 32-bit comparison.
    #[error("`{name}`: argument value {value:#x} does not fit in 32 bits")]
    WideValue { name: String, value: u64 },
    /// The table is too large for classic BPF's 8-bit conditional jumps.
    #[error("the seccomp table is too large for one filter (a jump of {distance} instructions)")]
    TooLarge { distance: usize },
}

/// Syscall names that do not exist on every architecture; skipped where absent.
const ARCH_SPECIFIC: [&str; 2] = ["iopl", "ioperm"];

/// A jump target while the program is assembled.
#[derive(Clone, Copy)]
enum To {
    /// The next instruction.
    Next,
    /// A label, resolved once every instruction is placed.
    Label(usize),
}

struct Insn {
    code: u16,
    jt: To,
    jf: To,
    k: u32,
}

#[derive(Default)]
struct Assembler {
    insns: Vec<Insn>,
    /// Instruction index of each label.
    labels: Vec<Option<usize>>,
}

impl Assembler {
    fn label(&mut self) -> usize {
        self.labels.push(None);
        self.labels.len() - 1
    }

    fn place(&mut self, label: usize) {
        self.labels[label] = Some(self.insns.len());
    }

    fn emit(&mut self, code: u16, k: u32, jt: To, jf: To) {
        self.insns.push(Insn { code, jt, jf, k });
    }

    fn ret(&mut self, value: u32) {
        self.emit(BPF_RET_K, value, To::Next, To::Next);
    }

    fn finish(self) -> Result<Vec<libc::sock_filter>, CompileError> {
        let resolve = |at: usize, to: To| -> Result<u8, CompileError> {
            let target = match to {
                To::Next => return Ok(0),
                To::Label(label) => self.labels[label].unwrap_or(usize::MAX),
            };
            let distance = target.wrapping_sub(at + 1);
            u8::try_from(distance).map_err(|_| CompileError::TooLarge { distance })
        };
        self.insns
            .iter()
            .enumerate()
            .map(|(at, insn)| {
                Ok(libc::sock_filter {
                    code: insn.code,
                    jt: resolve(at, insn.jt)?,
                    jf: resolve(at, insn.jf)?,
                    k: insn.k,
                })
            })
            .collect()
    }
}

fn errno_return(errno: DenyErrno) -> u32 {
    let value = match errno {
        DenyErrno::Eperm => libc::EPERM,
        DenyErrno::Enosys => libc::ENOSYS,
    };
    SECCOMP_RET_ERRNO | value.unsigned_abs()
}

/// Emits the binary search over `leaves` (sorted by number): each leaf jumps to its handler
/// on a match and to `allow` otherwise.
fn search(asm: &mut Assembler, leaves: &[(u32, usize)], allow: usize) {
    match leaves {
        [] => asm.emit(BPF_RET_K, SECCOMP_RET_ALLOW, To::Next, To::Next),
        [(number, handler)] => asm.emit(
            BPF_JMP_JEQ_K,
            *number,
            To::Label(*handler),
            To::Label(allow),
        ),
        _ => {
            let middle = leaves.len() / 2;
            let upper = asm.label();
            asm.emit(BPF_JMP_JGE_K, leaves[middle].0, To::Label(upper), To::Next);
            search(asm, &leaves[..middle], allow);
            asm.place(upper);
            search(asm, &leaves[middle..], allow);
        }
    }
}

/// Builds the BPF program for a deny table.
pub(crate) fn compile(table: &[SeccompDeny]) -> Result<Programs, CompileError> {
    let mut entries: Vec<(u32, &SeccompDeny)> = Vec::new();
    for entry in table {
        let Some(number) = syscall_number(&entry.syscall) else {
            if ARCH_SPECIFIC.contains(&entry.syscall.as_str()) {
                continue;
            }
            return Err(CompileError::UnknownSyscall {
                name: entry.syscall.clone(),
            });
        };
        let number = u32::try_from(number).map_err(|_| CompileError::UnknownSyscall {
            name: entry.syscall.clone(),
        })?;
        if entries.iter().any(|(known, _)| *known == number) {
            return Err(CompileError::Duplicate {
                name: entry.syscall.clone(),
            });
        }
        entries.push((number, entry));
    }
    entries.sort_by_key(|(number, _)| *number);

    let mut asm = Assembler::default();
    let kill = asm.label();
    let allow = asm.label();
    let handlers: Vec<usize> = entries.iter().map(|_| asm.label()).collect();
    // 1. The architecture, then the syscall number.
    asm.emit(BPF_LD_W_ABS, OFFSET_ARCH, To::Next, To::Next);
    asm.emit(BPF_JMP_JEQ_K, AUDIT_ARCH, To::Next, To::Label(kill));
    asm.emit(BPF_LD_W_ABS, OFFSET_NR, To::Next, To::Next);
    #[cfg(target_arch = "x86_64")]
    {
        let native = asm.label();
        asm.emit(BPF_JMP_JGE_K, X32_SYSCALL_BIT, To::Next, To::Label(native));
        asm.ret(errno_return(DenyErrno::Enosys));
        asm.place(native);
    }
    // 2. The search.
    let leaves: Vec<(u32, usize)> = entries
        .iter()
        .zip(&handlers)
        .map(|((number, _), handler)| (*number, *handler))
        .collect();
    search(&mut asm, &leaves, allow);
    // 3. The handlers.
    for ((_, entry), handler) in entries.iter().zip(&handlers) {
        asm.place(*handler);
        let deny = errno_return(entry.errno);
        let narrow = |value: u64| {
            u32::try_from(value).map_err(|_| CompileError::WideValue {
                name: entry.syscall.clone(),
                value,
            })
        };
        if !entry.clone_flags.is_empty() {
            let mask = narrow(
                entry
                    .clone_flags
                    .iter()
                    .map(|flag| flag.bits())
                    .fold(0, |a, b| a | b),
            )?;
            let denied = asm.label();
            asm.emit(BPF_LD_W_ABS, OFFSET_ARG0_LOW, To::Next, To::Next);
            asm.emit(BPF_JMP_JSET_K, mask, To::Label(denied), To::Label(allow));
            asm.place(denied);
            asm.ret(deny);
        } else if !entry.allow_arg0.is_empty() {
            asm.emit(BPF_LD_W_ABS, OFFSET_ARG0_LOW, To::Next, To::Next);
            for value in &entry.allow_arg0 {
                asm.emit(BPF_JMP_JEQ_K, narrow(*value)?, To::Label(allow), To::Next);
            }
            asm.ret(deny);
        } else {
            asm.ret(deny);
        }
    }
    asm.place(allow);
    asm.ret(SECCOMP_RET_ALLOW);
    asm.place(kill);
    asm.ret(SECCOMP_RET_KILL_PROCESS);
    Ok(vec![asm.finish()?])
}

/// The syscall number of `name` on this architecture.
fn syscall_number(name: &str) -> Option<i64> {
    let number = match name {
        "mount" => libc::SYS_mount,
        "umount2" => libc::SYS_umount2,
        "pivot_root" => libc::SYS_pivot_root,
        "chroot" => libc::SYS_chroot,
        "fsopen" => libc::SYS_fsopen,
        "fsconfig" => libc::SYS_fsconfig,
        "fsmount" => libc::SYS_fsmount,
        "fspick" => libc::SYS_fspick,
        "move_mount" => libc::SYS_move_mount,
        "open_tree" => libc::SYS_open_tree,
        "mount_setattr" => libc::SYS_mount_setattr,
        "unshare" => libc::SYS_unshare,
        "setns" => libc::SYS_setns,
        "clone" => libc::SYS_clone,
        "clone3" => libc::SYS_clone3,
        "ptrace" => libc::SYS_ptrace,
        "process_vm_readv" => libc::SYS_process_vm_readv,
        "process_vm_writev" => libc::SYS_process_vm_writev,
        "kcmp" => libc::SYS_kcmp,
        "bpf" => libc::SYS_bpf,
        "perf_event_open" => libc::SYS_perf_event_open,
        "kexec_load" => libc::SYS_kexec_load,
        "kexec_file_load" => libc::SYS_kexec_file_load,
        "init_module" => libc::SYS_init_module,
        "finit_module" => libc::SYS_finit_module,
        "delete_module" => libc::SYS_delete_module,
        "keyctl" => libc::SYS_keyctl,
        "add_key" => libc::SYS_add_key,
        "request_key" => libc::SYS_request_key,
        "userfaultfd" => libc::SYS_userfaultfd,
        "io_uring_setup" => libc::SYS_io_uring_setup,
        "io_uring_enter" => libc::SYS_io_uring_enter,
        "io_uring_register" => libc::SYS_io_uring_register,
        "open_by_handle_at" => libc::SYS_open_by_handle_at,
        "name_to_handle_at" => libc::SYS_name_to_handle_at,
        "swapon" => libc::SYS_swapon,
        "swapoff" => libc::SYS_swapoff,
        "reboot" => libc::SYS_reboot,
        "syslog" => libc::SYS_syslog,
        "acct" => libc::SYS_acct,
        "settimeofday" => libc::SYS_settimeofday,
        "clock_settime" => libc::SYS_clock_settime,
        "clock_adjtime" => libc::SYS_clock_adjtime,
        "adjtimex" => libc::SYS_adjtimex,
        "quotactl" => libc::SYS_quotactl,
        "vhangup" => libc::SYS_vhangup,
        "personality" => libc::SYS_personality,
        "lookup_dcookie" => libc::SYS_lookup_dcookie,
        #[cfg(target_arch = "x86_64")]
        "iopl" => libc::SYS_iopl,
        #[cfg(target_arch = "x86_64")]
        "ioperm" => libc::SYS_ioperm,
        _ => return None,
    };
    Some(number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::CloneFlag;

    /// Runs a classic BPF seccomp program the way the kernel does, on one `seccomp_data`.
    fn run(program: &[libc::sock_filter], arch: u32, nr: u32, arg0: u64) -> u32 {
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&nr.to_ne_bytes());
        data[4..8].copy_from_slice(&arch.to_ne_bytes());
        data[16..24].copy_from_slice(&arg0.to_ne_bytes());
        let mut accumulator = 0u32;
        let mut pc = 0usize;
        loop {
            let insn = program[pc];
            pc += 1;
            match insn.code {
                BPF_LD_W_ABS => {
                    let at = insn.k as usize;
                    accumulator = u32::from_ne_bytes(data[at..at + 4].try_into().unwrap());
                }
                BPF_JMP_JEQ_K | BPF_JMP_JGE_K | BPF_JMP_JSET_K => {
                    let taken = match insn.code {
                        BPF_JMP_JEQ_K => accumulator == insn.k,
                        BPF_JMP_JGE_K => accumulator >= insn.k,
                        _ => accumulator & insn.k != 0,
                    };
                    pc += usize::from(if taken { insn.jt } else { insn.jf });
                }
                BPF_RET_K => return insn.k,
                other => panic!("unexpected opcode {other:#x}"),
            }
        }
    }

    fn entry(syscall: &str, errno: DenyErrno) -> SeccompDeny {
        SeccompDeny {
            syscall: syscall.into(),
            errno,
            reason: "test".into(),
            clone_flags: Vec::new(),
            allow_arg0: Vec::new(),
        }
    }

    #[test]
    fn the_embedded_table_denies_exactly_its_entries() {
        let table = crate::plan::seccomp_deny_table().unwrap();
        let programs = compile(&table).unwrap();
        assert_eq!(programs.len(), 1);
        let program = &programs[0];
        assert!(program.len() < 200, "{} instructions", program.len());
        let denied: Vec<(u32, &SeccompDeny)> = table
            .iter()
            .filter_map(|entry| {
                syscall_number(&entry.syscall).map(|nr| (u32::try_from(nr).unwrap(), entry))
            })
            .collect();
        for nr in 0..600u32 {
            let verdict = run(program, AUDIT_ARCH, nr, 0);
            match denied.iter().find(|(number, _)| *number == nr) {
                Some((_, entry)) if !entry.clone_flags.is_empty() => {
                    assert_eq!(
                        verdict, SECCOMP_RET_ALLOW,
                        "{} without flags",
                        entry.syscall
                    );
                    for flag in &entry.clone_flags {
                        let with = run(program, AUDIT_ARCH, nr, flag.bits() | 0x11);
                        assert_eq!(with, errno_return(entry.errno), "{flag:?}");
                    }
                }
                Some((_, entry)) if !entry.allow_arg0.is_empty() => {
                    assert_eq!(
                        verdict,
                        if entry.allow_arg0.contains(&0) {
                            SECCOMP_RET_ALLOW
                        } else {
                            errno_return(entry.errno)
                        }
                    );
                    for value in &entry.allow_arg0 {
                        assert_eq!(run(program, AUDIT_ARCH, nr, *value), SECCOMP_RET_ALLOW);
                    }
                    assert_eq!(
                        run(program, AUDIT_ARCH, nr, 0x0040_0000),
                        errno_return(entry.errno)
                    );
                }
                Some((_, entry)) => {
                    assert_eq!(verdict, errno_return(entry.errno), "{}", entry.syscall)
                }
                None => assert_eq!(verdict, SECCOMP_RET_ALLOW, "syscall {nr}"),
            }
        }
    }

    #[test]
    fn foreign_architectures_are_killed_and_x32_numbers_refused() {
        let programs = compile(&crate::plan::seccomp_deny_table().unwrap()).unwrap();
        let program = &programs[0];
        assert_eq!(run(program, 0x4000_0003, 0, 0), SECCOMP_RET_KILL_PROCESS);
        #[cfg(target_arch = "x86_64")]
        {
            let mount_x32 = X32_SYSCALL_BIT | u32::try_from(libc::SYS_mount).unwrap();
            assert_eq!(
                run(program, AUDIT_ARCH, mount_x32, 0),
                errno_return(DenyErrno::Enosys)
            );
        }
    }

    #[test]
    fn searches_any_table_size_and_rejects_bad_tables() {
        let names = [
            "mount", "umount2", "chroot", "ptrace", "bpf", "reboot", "swapon",
        ];
        for size in 0..=names.len() {
            let table: Vec<_> = names[..size]
                .iter()
                .map(|name| entry(name, DenyErrno::Eperm))
                .collect();
            let program = &compile(&table).unwrap()[0];
            for name in &names[..size] {
                let nr = u32::try_from(syscall_number(name).unwrap()).unwrap();
                assert_eq!(
                    run(program, AUDIT_ARCH, nr, 0),
                    errno_return(DenyErrno::Eperm),
                    "{name} of {size}"
                );
            }
            for name in &names[size..] {
                let nr = u32::try_from(syscall_number(name).unwrap()).unwrap();
                assert_eq!(
                    run(program, AUDIT_ARCH, nr, 0),
                    SECCOMP_RET_ALLOW,
                    "{name} of {size}"
                );
            }
        }
        let twice = [
            entry("mount", DenyErrno::Eperm),
            entry("mount", DenyErrno::Enosys),
        ];
        assert!(matches!(
            compile(&twice),
            Err(CompileError::Duplicate { .. })
        ));
        let unknown = [entry("no_such_call", DenyErrno::Eperm)];
        assert!(matches!(
            compile(&unknown),
            Err(CompileError::UnknownSyscall { .. })
        ));
        let mut clone = entry("clone", DenyErrno::Eperm);
        clone.clone_flags = vec![CloneFlag::NewUser];
        let program = &compile(&[clone]).unwrap()[0];
        let nr = u32::try_from(libc::SYS_clone).unwrap();
        assert_eq!(run(program, AUDIT_ARCH, nr, 0x11), SECCOMP_RET_ALLOW);
        assert_eq!(
            run(program, AUDIT_ARCH, nr, CloneFlag::NewUser.bits()),
            errno_return(DenyErrno::Eperm)
        );
    }
}
