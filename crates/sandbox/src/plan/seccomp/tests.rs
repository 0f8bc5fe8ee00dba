//! The table's data: every entry has a reason, the build's table is the YAML, bad tables are
//! refused, and the classes of the attack pass are covered whole.

use super::*;

/// A table of one entry (and the usual socket families) for the checker.
fn one(entry: &str) -> Result<SeccompTable, String> {
    parse(&format!(
        "default: ENOSYS\nsyscalls:\n  - {entry}\nsocket_families:\n  - {{family: AF_UNIX, pairs_only_types: [SOCK_STREAM], reason: r}}\n"
    ))
}

/// The action of `name` in the embedded table, if it names it.
fn action_of(name: &str) -> Option<SeccompAction> {
    seccomp_table()
        .rules
        .iter()
        .find(|rule| rule.syscalls.contains(&name))
        .map(|rule| rule.action)
}

#[test]
fn every_entry_has_a_reason() {
    let table = seccomp_table();
    assert!(table.rules.len() >= 40, "{}", table.rules.len());
    for rule in table.rules {
        assert!(!rule.reason.trim().is_empty(), "{:?}", rule.syscalls);
    }
    for family in table.socket_families {
        assert!(!family.reason.trim().is_empty(), "{:?}", family.family);
    }
}

#[test]
fn the_compiled_table_is_the_yaml() {
    let yaml = parse(include_str!("../../../data/seccomp.yaml")).unwrap();
    assert_eq!(*seccomp_table(), yaml);
}

#[test]
fn the_default_is_enosys() {
    assert_eq!(seccomp_table().default, Errno::Enosys);
}

#[test]
fn an_entry_without_reason_is_refused() {
    let error = one("{deny: [mount], errno: EPERM, reason: \"\"}").unwrap_err();
    assert_eq!(error, "entry `mount` has no reason");
    assert!(one("{deny: [mount], errno: EPERM}").is_err());
    let error = parse(
        "default: ENOSYS\nsyscalls: []\nsocket_families:\n  - {family: AF_INET, reason: \" \"}\n",
    )
    .unwrap_err();
    assert_eq!(error, "socket family `Inet` has no reason");
}

#[test]
fn a_duplicate_is_refused() {
    let error = parse(
        "default: ENOSYS\nsyscalls:\n  - {deny: [bpf], errno: EPERM, reason: a}\n  - {allow: [read, bpf], reason: b}\nsocket_families: []\n",
    )
    .unwrap_err();
    assert_eq!(error, "entry `bpf` appears twice");
}

#[test]
fn a_malformed_entry_is_refused() {
    let cases = [
        (
            "{allow: [read], deny: [write], errno: EPERM, reason: r}",
            "entry `read` must have exactly one of `allow`, `deny` and `filter`",
        ),
        (
            "{allow: [read], errno: EPERM, reason: r}",
            "entry `read` is allowed, so it returns no `errno`",
        ),
        (
            "{deny: [mount], reason: r}",
            "entry `mount` needs the `errno` it returns",
        ),
        (
            "{allow: [clone], arg: 0, deny_flags: [CLONE_NEWNS], reason: r}",
            "entry `clone` has an argument filter but is not a `filter` entry",
        ),
        (
            "{filter: [clone], deny_flags: [CLONE_NEWNS], errno: EPERM, reason: r}",
            "entry `clone` needs the `arg` its filter checks",
        ),
        (
            "{filter: [clone], arg: 6, deny_flags: [CLONE_NEWNS], errno: EPERM, reason: r}",
            "entry `clone`: `arg` 6 is past the sixth argument",
        ),
        (
            "{filter: [clone], arg: 0, deny_flags: [CLONE_NEWNS], reason: r}",
            "entry `clone` needs the `errno` a refused call returns",
        ),
        (
            "{filter: [personality], arg: 0, allow_values: [0x100000000], errno: EPERM, reason: r}",
            "entry `personality`: value 0x100000000 does not fit in 32 bits",
        ),
        (
            "{filter: [socket], arg: 0, sockets: true, reason: r}",
            "entry `socket` has `sockets`, whose arguments and errnos are fixed: drop `arg` and `errno`",
        ),
        (
            "{filter: [socket], reason: r}",
            "entry `socket` must have exactly one of `deny_flags`, `allow_values` and `sockets`",
        ),
        (
            "{allow: [Read], reason: r}",
            "entry `Read`: `Read` is not a syscall name",
        ),
        (
            "{allow: [], reason: r}",
            "an entry (reason `r`) names no syscall",
        ),
    ];
    for (entry, expected) in cases {
        assert_eq!(one(entry).unwrap_err(), expected, "{entry}");
    }
    assert!(one("{allow: [read], reason: r, surprise: 1}").is_err());
    assert!(one("{allow: [read], arch: [sparc], reason: r}").is_err());
}

#[test]
fn a_datagram_pair_or_misplaced_pairs_only_types_is_refused() {
    let table = |families: &str| {
        parse(&format!(
            "default: ENOSYS\nsyscalls: []\nsocket_families:\n{families}"
        ))
    };
    assert_eq!(
        table("  - {family: AF_UNIX, pairs_only_types: [SOCK_STREAM, SOCK_DGRAM], reason: r}\n")
            .unwrap_err(),
        "socket family `Unix`: a `SOCK_DGRAM` pair can still sendto() a path, so it cannot be a pairs-only type"
    );
    assert_eq!(
        table("  - {family: AF_INET, pairs_only_types: [SOCK_STREAM], reason: r}\n").unwrap_err(),
        "socket family `Inet`: `pairs_only_types` is for (and required on) `AF_UNIX`"
    );
    assert_eq!(
        table("  - {family: AF_UNIX, reason: r}\n").unwrap_err(),
        "socket family `Unix`: `pairs_only_types` is for (and required on) `AF_UNIX`"
    );
    assert_eq!(
        table("  - {family: AF_INET, reason: r}\n  - {family: AF_INET, reason: s}\n").unwrap_err(),
        "socket family `Inet` appears twice"
    );
}

#[test]
fn every_call_of_the_old_deny_list_is_still_refused() {
    // The deny list this allowlist replaced: each stays denied with its errno.
    let eperm = [
        "mount",
        "umount2",
        "pivot_root",
        "chroot",
        "fsopen",
        "fsconfig",
        "fsmount",
        "fspick",
        "move_mount",
        "open_tree",
        "mount_setattr",
        "unshare",
        "setns",
        "ptrace",
        "process_vm_readv",
        "process_vm_writev",
        "kcmp",
        "bpf",
        "perf_event_open",
        "kexec_load",
        "kexec_file_load",
        "init_module",
        "finit_module",
        "delete_module",
        "keyctl",
        "add_key",
        "request_key",
        "userfaultfd",
        "open_by_handle_at",
        "name_to_handle_at",
        "swapon",
        "swapoff",
        "reboot",
        "syslog",
        "acct",
        "settimeofday",
        "clock_settime",
        "clock_adjtime",
        "adjtimex",
        "quotactl",
        "vhangup",
        "iopl",
        "ioperm",
        "lookup_dcookie",
    ];
    for name in eperm {
        assert_eq!(
            action_of(name),
            Some(SeccompAction::Deny {
                errno: Errno::Eperm
            }),
            "{name}"
        );
    }
    for name in [
        "clone3",
        "io_uring_setup",
        "io_uring_enter",
        "io_uring_register",
        "openat2",
    ] {
        assert_eq!(
            action_of(name),
            Some(SeccompAction::Deny {
                errno: Errno::Enosys
            }),
            "{name}"
        );
    }
    let Some(SeccompAction::DenyFlags {
        arg: 0,
        flags,
        errno: Errno::Eperm,
    }) = action_of("clone")
    else {
        panic!("clone is not filtered by its flags");
    };
    assert_eq!(flags.len(), 8);
    let Some(SeccompAction::AllowValues {
        arg: 0,
        values,
        errno: Errno::Eperm,
    }) = action_of("personality")
    else {
        panic!("personality is not filtered by its value");
    };
    assert_eq!(values, &[0x0, 0x8, 0x2_0000, 0x2_0008, 0xffff_ffff]);
}

#[test]
fn every_call_that_sets_a_mode_refuses_the_set_id_bits() {
    // The whole class of item 3, with the position of each call's mode argument.
    let modes = [
        ("chmod", 1),
        ("fchmod", 1),
        ("fchmodat", 2),
        ("fchmodat2", 2),
        ("open", 2),
        ("openat", 3),
        ("creat", 1),
        ("mkdir", 1),
        ("mkdirat", 2),
        ("mknod", 1),
        ("mknodat", 2),
    ];
    for (name, position) in modes {
        assert_eq!(
            action_of(name),
            Some(SeccompAction::DenyFlags {
                arg: position,
                flags: &[Flag::SetUid, Flag::SetGid],
                errno: Errno::Eperm,
            }),
            "{name}"
        );
    }
}

#[test]
fn sockets_are_limited_to_the_families_a_scope_needs() {
    assert_eq!(action_of("socket"), Some(SeccompAction::Sockets));
    assert_eq!(action_of("socketpair"), Some(SeccompAction::Sockets));
    assert_eq!(
        seccomp_table().families(),
        vec![
            SocketFamily::Inet,
            SocketFamily::Inet6,
            SocketFamily::Netlink,
            SocketFamily::Unix
        ]
    );
    for rule in seccomp_table().socket_families {
        match rule.family {
            SocketFamily::Inet | SocketFamily::Inet6 => {
                assert_eq!(rule.types, &[SocketType::Stream, SocketType::Dgram]);
                assert_eq!(
                    rule.protocols,
                    &[
                        SocketProtocol::Default,
                        SocketProtocol::Tcp,
                        SocketProtocol::Udp
                    ]
                );
            }
            SocketFamily::Netlink => {
                assert_eq!(rule.protocols, &[SocketProtocol::NetlinkRoute]);
            }
            SocketFamily::Unix => {
                assert_eq!(
                    rule.pairs_only_types,
                    &[SocketType::Stream, SocketType::Seqpacket]
                );
            }
        }
    }
}

#[test]
fn counts_follow_the_architecture() {
    let table = seccomp_table();
    let here: usize = table
        .rules
        .iter()
        .filter(|rule| rule.applies_here() && !matches!(rule.action, SeccompAction::Deny { .. }))
        .map(|rule| rule.syscalls.len())
        .sum();
    assert_eq!(table.allowed_here(ExecMemory::FilesOnly), here);
    // memfd_create is denied only to a run limited to its files.
    assert_eq!(table.allowed_here(ExecMemory::Any), here + 1);
    // clone, personality, socket, socketpair, the mode filters of this architecture, and
    // shmat (which a run with any exec has unchecked).
    #[cfg(target_arch = "x86_64")]
    assert_eq!(table.filtered_here(ExecMemory::FilesOnly), 4 + 11 + 1);
    #[cfg(target_arch = "aarch64")]
    assert_eq!(table.filtered_here(ExecMemory::FilesOnly), 4 + 5 + 1);
    #[cfg(target_arch = "x86_64")]
    assert_eq!(table.filtered_here(ExecMemory::Any), 4 + 11);
    assert!(table.allowed_here(ExecMemory::FilesOnly) > 200);
}
