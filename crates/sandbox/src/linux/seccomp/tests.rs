//! The compiled filter, run in a BPF emulator the way the kernel runs it: the whole number space
//! (native and x32, past the highest known, `u32::MAX`), every argument filter, both unix-socket
//! rules, and programs too large for 8-bit jumps.

use super::*;
use crate::plan::seccomp_table;

const ALLOW: u32 = SECCOMP_RET_ALLOW;

/// Runs a classic BPF seccomp program the way the kernel does, on one `seccomp_data`.
fn run(program: &[libc::sock_filter], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
    let mut data = [0u8; 64];
    data[0..4].copy_from_slice(&nr.to_ne_bytes());
    data[4..8].copy_from_slice(&arch.to_ne_bytes());
    for (index, arg) in args.iter().enumerate() {
        data[16 + 8 * index..24 + 8 * index].copy_from_slice(&arg.to_ne_bytes());
    }
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
            BPF_ALU_AND_K => accumulator &= insn.k,
            BPF_JMP_JA => pc += insn.k as usize,
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

fn verdict(program: &[libc::sock_filter], nr: u32, args: [u64; 6]) -> u32 {
    run(program, AUDIT_ARCH, nr, args)
}

fn number(name: &str) -> u32 {
    u32::try_from(syscall_number(name).unwrap_or_else(|| panic!("no number for `{name}`"))).unwrap()
}

fn program(unix: UnixSockets) -> Vec<libc::sock_filter> {
    program_for(unix, ExecMemory::FilesOnly)
}

fn program_for(unix: UnixSockets, exec: ExecMemory) -> Vec<libc::sock_filter> {
    let mut programs = compile(seccomp_table(), unix, exec).unwrap();
    assert_eq!(programs.len(), 1);
    programs.remove(0)
}

/// Every number the table names on this architecture, with its action.
fn numbered() -> Vec<(u32, &'static str, SeccompAction)> {
    numbered_for(ExecMemory::FilesOnly)
}

/// The same for a run under `exec` (its `exec_limited` entries allowed under `Any`).
fn numbered_for(exec: ExecMemory) -> Vec<(u32, &'static str, SeccompAction)> {
    seccomp_table()
        .rules_here()
        .flat_map(|rule| {
            let action = rule.action_for(exec);
            rule.syscalls
                .iter()
                .map(move |name| (number(name), *name, action))
        })
        .collect()
}

/// The table by number.
type ByNumber = std::collections::BTreeMap<u32, SeccompAction>;

/// What the table says `nr` does when every argument is 0.
fn expected(table: &ByNumber, nr: u32) -> u32 {
    let default = errno_return(seccomp_table().default);
    #[cfg(target_arch = "x86_64")]
    if nr >= X32_SYSCALL_BIT {
        return default;
    }
    match table.get(&nr).copied() {
        None => default,
        Some(action) => match action {
            SeccompAction::Allow | SeccompAction::DenyFlags { .. } => ALLOW,
            SeccompAction::Deny { errno } => errno_return(errno),
            SeccompAction::AllowValues { values, errno, .. } => {
                if values.contains(&0) {
                    ALLOW
                } else {
                    errno_return(errno)
                }
            }
            // Family 0 is AF_UNSPEC.
            SeccompAction::Sockets => errno_return(Errno::Eafnosupport),
        },
    }
}

/// The numbers the sweep covers: the first 64 Ki, the boundaries of the x32 range and the x32
/// twin of each of those, past the highest known, and the top of the space.
fn sweep() -> Vec<u32> {
    let highest = numbered()
        .iter()
        .map(|(number, _, _)| *number)
        .max()
        .unwrap();
    let mut numbers: Vec<u32> = (0..=0x1_0000).collect();
    numbers.extend(highest + 1..=highest + 256);
    numbers.extend((0..=0x1000).map(|nr| 0x4000_0000 | nr));
    numbers.extend([
        0x3fff_fffe,
        0x3fff_ffff,
        0x4000_0000,
        0x4000_0000 | highest,
        0x4000_0000 | (highest + 1),
        0x5fff_ffff,
        0x7fff_ffff,
        0x8000_0000,
        0x8000_0000 | number("read"),
        0xbfff_ffff,
        0xc000_0000,
        0xffff_fffe,
        u32::MAX,
    ]);
    numbers
}

#[test]
fn the_sweep_over_the_whole_number_space_matches_the_allowlist_exactly() {
    for exec in [ExecMemory::FilesOnly, ExecMemory::Any] {
        let table: ByNumber = numbered_for(exec)
            .into_iter()
            .map(|(number, _, action)| (number, action))
            .collect();
        for unix in [UnixSockets::Any, UnixSockets::PairsOnly] {
            let program = program_for(unix, exec);
            let mut allowed = 0;
            for nr in sweep() {
                let got = verdict(&program, nr, [0; 6]);
                assert_eq!(
                    got,
                    expected(&table, nr),
                    "syscall {nr:#x} under {unix:?}, {exec:?}"
                );
                if got == ALLOW || (nr < 0x4000_0000 && got == errno_return(Errno::Eafnosupport)) {
                    allowed += 1;
                }
            }
            // Exactly the allowlist: every allowed or filtered call of this architecture, and
            // no other number, runs.
            assert_eq!(
                allowed,
                seccomp_table().allowed_here(exec),
                "{unix:?}, {exec:?}"
            );
        }
    }
}

#[test]
fn a_run_limited_to_its_files_gets_no_memfd_and_no_executable_shared_memory() {
    let shm_exec = u64::from(libc::SHM_EXEC.unsigned_abs());
    let rx = u64::from((libc::PROT_READ | libc::PROT_EXEC).unsigned_abs());
    let limited = program(UnixSockets::Any);
    let any = program_for(UnixSockets::Any, ExecMemory::Any);
    let cases: [(&str, [u64; 6], u32); 5] = [
        ("memfd_create", [0; 6], errno_return(Errno::Enosys)),
        (
            "shmat",
            [1, 0, shm_exec, 0, 0, 0],
            errno_return(Errno::Eperm),
        ),
        // The high word of shmflg is not shmflg.
        ("shmat", [1, 0, shm_exec << 32, 0, 0, 0], ALLOW),
        ("shmat", [1, 0, 0, 0, 0, 0], ALLOW),
        // The loader and JITs keep executable mappings.
        ("mmap", [0, 4096, rx, 0x22, u64::MAX, 0], ALLOW),
    ];
    for (name, args, want) in cases {
        assert_eq!(
            verdict(&limited, number(name), args),
            want,
            "{name} {args:x?} limited"
        );
        assert_eq!(
            verdict(&any, number(name), args),
            ALLOW,
            "{name} {args:x?} any"
        );
    }
}

#[test]
fn unknown_and_x32_numbers_get_the_default_and_known_ones_their_verdict() {
    let program = program(UnixSockets::Any);
    let enosys = errno_return(Errno::Enosys);
    let highest = numbered()
        .iter()
        .map(|(number, _, _)| *number)
        .max()
        .unwrap();
    assert_eq!(verdict(&program, number("read"), [0; 6]), ALLOW);
    assert_eq!(verdict(&program, number("execve"), [0; 6]), ALLOW);
    assert_eq!(
        verdict(&program, number("mount"), [0; 6]),
        errno_return(Errno::Eperm)
    );
    assert_eq!(verdict(&program, number("io_uring_setup"), [0; 6]), enosys);
    assert_eq!(verdict(&program, number("openat2"), [0; 6]), enosys);
    assert_eq!(verdict(&program, highest + 1, [0; 6]), enosys);
    assert_eq!(verdict(&program, 0xffff, [0; 6]), enosys);
    assert_eq!(verdict(&program, u32::MAX, [0; 6]), enosys);
    #[cfg(target_arch = "x86_64")]
    {
        assert_eq!(
            verdict(&program, X32_SYSCALL_BIT | number("read"), [0; 6]),
            enosys
        );
        assert_eq!(
            verdict(&program, X32_SYSCALL_BIT | number("mount"), [0; 6]),
            enosys
        );
        // x32's own numbers for its variants (512-547 with the x32 bit).
        assert_eq!(verdict(&program, X32_SYSCALL_BIT | 520, [0; 6]), enosys);
    }
}

#[test]
fn foreign_architectures_are_killed() {
    let program = program(UnixSockets::Any);
    // i386, x32's own arch value is x86_64's, arm, riscv64 (or x86_64 on aarch64).
    for arch in [
        0x4000_0003,
        0x4000_0028,
        0xc000_00f3,
        0xc000_003e ^ AUDIT_ARCH ^ 0xc000_00b7,
    ] {
        if arch != AUDIT_ARCH {
            assert_eq!(
                run(&program, arch, 0, [0; 6]),
                SECCOMP_RET_KILL_PROCESS,
                "{arch:#x}"
            );
        }
    }
}

#[test]
fn clone_with_a_namespace_flag_is_refused_and_threads_are_not() {
    let program = program(UnixSockets::Any);
    let clone = number("clone");
    let eperm = errno_return(Errno::Eperm);
    for flag in [
        libc::CLONE_NEWNS,
        libc::CLONE_NEWCGROUP,
        libc::CLONE_NEWUTS,
        libc::CLONE_NEWIPC,
        libc::CLONE_NEWUSER,
        libc::CLONE_NEWPID,
        libc::CLONE_NEWNET,
        libc::CLONE_NEWTIME,
    ] {
        let flags = u64::from(flag.unsigned_abs());
        assert_eq!(
            verdict(&program, clone, [flags | 17, 0, 0, 0, 0, 0]),
            eperm,
            "{flags:#x}"
        );
        assert_eq!(
            verdict(&program, clone, [flags | 1 << 32, 0, 0, 0, 0, 0]),
            eperm
        );
    }
    // glibc's pthread_create and fork.
    let thread = (libc::CLONE_VM
        | libc::CLONE_FS
        | libc::CLONE_FILES
        | libc::CLONE_SIGHAND
        | libc::CLONE_THREAD
        | libc::CLONE_SYSVSEM
        | libc::CLONE_SETTLS
        | libc::CLONE_PARENT_SETTID
        | libc::CLONE_CHILD_CLEARTID)
        .unsigned_abs();
    assert_eq!(
        verdict(&program, clone, [u64::from(thread), 0, 0, 0, 0, 0]),
        ALLOW
    );
    assert_eq!(verdict(&program, clone, [17, 0, 0, 0, 0, 0]), ALLOW);
    // The kernel reads only the low 32 bits of clone's flags.
    assert_eq!(
        verdict(&program, clone, [1 << 32 | 17, 0, 0, 0, 0, 0]),
        ALLOW
    );
    // The new-namespace flag in another argument is not a flag.
    let newuser = u64::from(libc::CLONE_NEWUSER.unsigned_abs());
    assert_eq!(verdict(&program, clone, [17, newuser, 0, 0, 0, 0]), ALLOW);
}

#[test]
fn personality_allows_only_the_plain_values() {
    let program = program(UnixSockets::Any);
    let personality = number("personality");
    for value in [0x0, 0x8, 0x2_0000, 0x2_0008, 0xffff_ffff] {
        assert_eq!(
            verdict(&program, personality, [value, 0, 0, 0, 0, 0]),
            ALLOW
        );
    }
    for value in [0x0004_0000, 0x0040_0000, 0x0800_0000, 0x1] {
        assert_eq!(
            verdict(&program, personality, [value, 0, 0, 0, 0, 0]),
            errno_return(Errno::Eperm),
            "{value:#x}"
        );
    }
}

/// Each call that sets a mode, with its mode argument, on this architecture.
fn mode_calls() -> Vec<(&'static str, usize)> {
    let mut calls = vec![
        ("fchmod", 1),
        ("fchmodat", 2),
        ("openat", 3),
        ("mkdirat", 2),
        ("mknodat", 2),
    ];
    #[cfg(target_arch = "x86_64")]
    calls.extend([
        ("chmod", 1),
        ("fchmodat2", 2),
        ("open", 2),
        ("creat", 1),
        ("mkdir", 1),
        ("mknod", 1),
    ]);
    calls
}

#[test]
fn a_set_id_mode_is_refused_by_every_call_that_sets_one() {
    let program = program(UnixSockets::Any);
    let eperm = errno_return(Errno::Eperm);
    let with = |position: usize, mode: u64| {
        let mut args = [0u64; 6];
        args[position] = mode;
        args
    };
    for (name, position) in mode_calls() {
        let nr = number(name);
        for mode in [
            0o4755,
            0o2755,
            0o6755,
            0o4000,
            0o2000,
            0o7777,
            0o104_755,
            0xffff_ffff,
        ] {
            assert_eq!(
                verdict(&program, nr, with(position, mode)),
                eperm,
                "{name} {mode:#o}"
            );
        }
        // The kernel truncates the mode to 16 bits: the high word never matters.
        assert_eq!(
            verdict(&program, nr, with(position, 0xffff_ffff_0000_0000 | 0o755)),
            ALLOW,
            "{name}"
        );
        assert_eq!(
            verdict(&program, nr, with(position, 0xffff_ffff_0000_0000 | 0o4755)),
            eperm,
            "{name}"
        );
        for mode in [0, 0o755, 0o644, 0o777, 0o1777, 0o100_644, 0o040_755] {
            assert_eq!(
                verdict(&program, nr, with(position, mode)),
                ALLOW,
                "{name} {mode:#o}"
            );
        }
        // Only the mode argument counts (a path pointer or flags with those bits is fine).
        let other = if position == 1 { 2 } else { 1 };
        assert_eq!(verdict(&program, nr, with(other, 0o6000)), ALLOW, "{name}");
    }
}

/// What a `socket` (or `socketpair`) call should get, written from the brief, not the table.
fn expected_socket(pair: bool, unix: UnixSockets, family: i32, kind: i32, protocol: i32) -> u32 {
    let base = kind & !(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC);
    let refused = errno_return(Errno::Eprotonosupport);
    match family {
        libc::AF_INET | libc::AF_INET6 => {
            if [libc::SOCK_STREAM, libc::SOCK_DGRAM].contains(&base)
                && [0, libc::IPPROTO_TCP, libc::IPPROTO_UDP].contains(&protocol)
            {
                ALLOW
            } else {
                refused
            }
        }
        libc::AF_NETLINK if protocol == libc::NETLINK_ROUTE => ALLOW,
        libc::AF_NETLINK => refused,
        libc::AF_UNIX => match unix {
            UnixSockets::Any => ALLOW,
            UnixSockets::PairsOnly
                if pair && [libc::SOCK_STREAM, libc::SOCK_SEQPACKET].contains(&base) =>
            {
                ALLOW
            }
            UnixSockets::PairsOnly => errno_return(Errno::Eacces),
        },
        _ => errno_return(Errno::Eafnosupport),
    }
}

#[test]
fn sockets_get_only_the_families_types_and_protocols_allowed() {
    let kinds = [
        libc::SOCK_STREAM,
        libc::SOCK_DGRAM,
        libc::SOCK_SEQPACKET,
        libc::SOCK_RAW,
        libc::SOCK_RDM,
        10, // SOCK_PACKET (deprecated in libc)
        libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
        libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
        libc::SOCK_SEQPACKET | libc::SOCK_NONBLOCK,
        libc::SOCK_STREAM | 0x100,
    ];
    let protocols = [
        0,
        libc::IPPROTO_ICMP,
        libc::IPPROTO_TCP,
        libc::IPPROTO_UDP,
        libc::IPPROTO_ICMPV6,
        libc::IPPROTO_SCTP,
        libc::IPPROTO_UDPLITE,
        libc::IPPROTO_RAW,
        libc::IPPROTO_MPTCP,
        libc::NETLINK_AUDIT,
        libc::NETLINK_KOBJECT_UEVENT,
        libc::NETLINK_NETFILTER,
        libc::NETLINK_GENERIC,
        libc::NETLINK_SOCK_DIAG,
    ];
    for unix in [UnixSockets::Any, UnixSockets::PairsOnly] {
        let program = program(unix);
        for (name, pair) in [("socket", false), ("socketpair", true)] {
            let nr = number(name);
            for family in 0..=64i32 {
                for kind in kinds {
                    for protocol in protocols {
                        let args = [
                            u64::from(family.unsigned_abs()),
                            u64::from(kind.unsigned_abs()),
                            u64::from(protocol.unsigned_abs()),
                            0,
                            0,
                            0,
                        ];
                        assert_eq!(
                            verdict(&program, nr, args),
                            expected_socket(pair, unix, family, kind, protocol),
                            "{name}({family}, {kind:#x}, {protocol}) under {unix:?}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn vsock_packet_alg_bluetooth_and_mptcp_sockets_are_refused() {
    let program = program(UnixSockets::Any);
    let socket = number("socket");
    let call = |family: i32, kind: i32, protocol: i32| {
        let args = [
            u64::from(family.unsigned_abs()),
            u64::from(kind.unsigned_abs()),
            u64::from(protocol.unsigned_abs()),
            0,
            0,
            0,
        ];
        verdict(&program, socket, args)
    };
    for family in [
        libc::AF_VSOCK,
        libc::AF_PACKET,
        libc::AF_ALG,
        libc::AF_BLUETOOTH,
        libc::AF_KEY,
        libc::AF_XDP,
        libc::AF_CAN,
        libc::AF_TIPC,
        libc::AF_RDS,
        libc::AF_LLC,
        libc::AF_NFC,
        libc::AF_UNSPEC,
    ] {
        assert_eq!(
            call(family, libc::SOCK_STREAM, 0),
            errno_return(Errno::Eafnosupport)
        );
        assert_eq!(
            call(family, libc::SOCK_DGRAM, 0),
            errno_return(Errno::Eafnosupport)
        );
    }
    let refused = errno_return(Errno::Eprotonosupport);
    assert_eq!(
        call(libc::AF_INET, libc::SOCK_STREAM, libc::IPPROTO_MPTCP),
        refused
    );
    assert_eq!(
        call(libc::AF_INET6, libc::SOCK_STREAM, libc::IPPROTO_MPTCP),
        refused
    );
    assert_eq!(call(libc::AF_INET, libc::SOCK_SEQPACKET, 0), refused);
    assert_eq!(
        call(libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_AUDIT),
        refused
    );
    assert_eq!(call(libc::AF_INET, libc::SOCK_STREAM, 0), ALLOW);
    assert_eq!(
        call(libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_ROUTE),
        ALLOW
    );
}

#[test]
fn a_table_too_large_for_short_jumps_still_searches_right() {
    // 1,500 numbers alternating allow / EPERM, with a flag handler every 97th: far more runs
    // than an 8-bit jump spans, so the search needs its long jumps.
    let flags: &'static [Flag] = &[Flag::SetUid];
    let numbered: Vec<(u32, &'static str, SeccompAction)> = (0..1500u32)
        .map(|nr| {
            let action = if nr % 97 == 0 {
                SeccompAction::DenyFlags {
                    arg: 1,
                    flags,
                    errno: Errno::Eperm,
                }
            } else if nr % 2 == 0 {
                SeccompAction::Allow
            } else {
                SeccompAction::Deny {
                    errno: Errno::Eperm,
                }
            };
            (nr * 2, "synthetic", action)
        })
        .collect();
    let program = assemble(&numbered, seccomp_table(), UnixSockets::Any).unwrap();
    assert!(program.len() > 3000, "{}", program.len());
    let enosys = errno_return(Errno::Enosys);
    for (nr, _, action) in &numbered {
        let zero = verdict(&program, *nr, [0; 6]);
        let setuid = verdict(&program, *nr, [0, 0o4755, 0, 0, 0, 0]);
        match action {
            SeccompAction::DenyFlags { .. } => {
                assert_eq!((zero, setuid), (ALLOW, errno_return(Errno::Eperm)), "{nr}");
            }
            SeccompAction::Allow => assert_eq!((zero, setuid), (ALLOW, ALLOW), "{nr}"),
            _ => assert_eq!(zero, errno_return(Errno::Eperm), "{nr}"),
        }
        assert_eq!(verdict(&program, nr + 1, [0; 6]), enosys, "{}", nr + 1);
    }
    assert_eq!(verdict(&program, 3000, [0; 6]), enosys);
}

#[test]
fn the_numbers_laid_out_by_the_build_are_the_named_ones() {
    let rules = seccomp_table().rules;
    assert_eq!(RULE_NUMBERS.len(), rules.len());
    for (rule, numbers) in rules.iter().zip(RULE_NUMBERS) {
        if rule.applies_here() {
            let named: Vec<libc::c_long> = rule
                .syscalls
                .iter()
                .map(|name| syscall_number(name).unwrap())
                .collect();
            assert_eq!(*numbers, &named[..], "{:?}", rule.syscalls);
        } else {
            assert!(numbers.is_empty(), "{:?}", rule.syscalls);
        }
    }
}

#[test]
fn the_program_stays_small() {
    for unix in [UnixSockets::Any, UnixSockets::PairsOnly] {
        let program = program(unix);
        assert!(
            program.len() < 400,
            "{} instructions under {unix:?}",
            program.len()
        );
    }
}

#[test]
fn a_name_without_a_number_or_a_number_twice_is_refused() {
    let unknown = SeccompTable {
        rules: &[crate::plan::SeccompRule {
            syscalls: &["no_such_call"],
            arch: &[],
            action: SeccompAction::Allow,
            exec_limited: false,
            reason: "test",
        }],
        ..*seccomp_table()
    };
    assert!(matches!(
        compile(&unknown, UnixSockets::Any, ExecMemory::FilesOnly),
        Err(CompileError::UnknownSyscall { name }) if name == "no_such_call"
    ));
    let twice = SeccompTable {
        rules: &[
            crate::plan::SeccompRule {
                syscalls: &["read"],
                arch: &[],
                action: SeccompAction::Allow,
                exec_limited: false,
                reason: "test",
            },
            crate::plan::SeccompRule {
                syscalls: &["read"],
                arch: &[],
                action: SeccompAction::Deny {
                    errno: Errno::Eperm,
                },
                exec_limited: false,
                reason: "test",
            },
        ],
        ..*seccomp_table()
    };
    assert!(matches!(
        compile(&twice, UnixSockets::Any, ExecMemory::FilesOnly),
        Err(CompileError::Duplicate { .. })
    ));
}
