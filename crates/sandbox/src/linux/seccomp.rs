//! Compiles the seccomp deny table to BPF, once per profile, before any fork: the child only
//! hands the finished programs to `prctl`. One program per errno (a seccompiler filter has a
//! single match action); the kernel runs both.

use crate::plan::{DenyErrno, SeccompDeny};
use seccompiler::{
    SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule,
    TargetArch,
};
use std::collections::BTreeMap;

/// The architecture this binary runs on.
#[cfg(target_arch = "x86_64")]
const ARCH: TargetArch = TargetArch::x86_64;
#[cfg(target_arch = "aarch64")]
const ARCH: TargetArch = TargetArch::aarch64;
#[cfg(target_arch = "riscv64")]
const ARCH: TargetArch = TargetArch::riscv64;

/// Compiled programs, ready for `prctl(PR_SET_SECCOMP)`.
pub(crate) type Programs = Vec<Vec<libc::sock_filter>>;

/// Why the table could not be compiled.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CompileError {
    /// A syscall name this architecture does not know (and that is not on the skip list).
    #[error("unknown syscall `{name}` on this architecture")]
    UnknownSyscall { name: String },
    /// seccompiler refused the filter.
    #[error("{0}")]
    Backend(#[from] seccompiler::BackendError),
}

/// Syscall names that do not exist on every architecture; skipped where absent.
const ARCH_SPECIFIC: [&str; 2] = ["iopl", "ioperm"];

/// Builds the BPF programs for a deny table.
pub(crate) fn compile(table: &[SeccompDeny]) -> Result<Programs, CompileError> {
    let mut programs = Vec::new();
    for errno in [DenyErrno::Eperm, DenyErrno::Enosys] {
        let mut rules: BTreeMap<i64, Vec<SeccompRule>> = BTreeMap::new();
        for entry in table.iter().filter(|entry| entry.errno == errno) {
            let Some(number) = syscall_number(&entry.syscall) else {
                if ARCH_SPECIFIC.contains(&entry.syscall.as_str()) {
                    continue;
                }
                return Err(CompileError::UnknownSyscall {
                    name: entry.syscall.clone(),
                });
            };
            rules.insert(number, entry_rules(entry)?);
        }
        if rules.is_empty() {
            continue;
        }
        let value = match errno {
            DenyErrno::Eperm => libc::EPERM,
            DenyErrno::Enosys => libc::ENOSYS,
        };
        let filter = SeccompFilter::new(
            rules,
            SeccompAction::Allow,
            SeccompAction::Errno(value.unsigned_abs()),
            ARCH,
        )?;
        let program: seccompiler::BpfProgram = filter.try_into()?;
        programs.push(
            program
                .into_iter()
                .map(|insn| libc::sock_filter {
                    code: insn.code,
                    jt: insn.jt,
                    jf: insn.jf,
                    k: insn.k,
                })
                .collect(),
        );
    }
    Ok(programs)
}

/// Rules for one entry: none (deny always), one per clone flag (any matches), or one rule
/// with an inequality per allowed value (all must hold).
fn entry_rules(entry: &SeccompDeny) -> Result<Vec<SeccompRule>, CompileError> {
    if !entry.clone_flags.is_empty() {
        return entry
            .clone_flags
            .iter()
            .map(|flag| {
                let bits = flag.bits();
                let condition = SeccompCondition::new(
                    0,
                    SeccompCmpArgLen::Dword,
                    SeccompCmpOp::MaskedEq(bits),
                    bits,
                )?;
                Ok(SeccompRule::new(vec![condition])?)
            })
            .collect();
    }
    if !entry.allow_arg0.is_empty() {
        let conditions = entry
            .allow_arg0
            .iter()
            .map(|value| {
                SeccompCondition::new(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Ne, *value)
            })
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(vec![SeccompRule::new(conditions)?]);
    }
    Ok(Vec::new())
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

    #[test]
    fn the_embedded_table_compiles_and_every_name_resolves() {
        let table = crate::plan::seccomp_deny_table().unwrap();
        for entry in &table {
            assert!(
                syscall_number(&entry.syscall).is_some()
                    || ARCH_SPECIFIC.contains(&entry.syscall.as_str()),
                "{}",
                entry.syscall
            );
        }
        let programs = compile(&table).unwrap();
        assert_eq!(programs.len(), 2);
        assert!(programs.iter().all(|program| program.len() > 4));
    }
}
