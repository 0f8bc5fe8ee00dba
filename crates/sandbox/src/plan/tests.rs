use super::*;
use pretty_assertions::assert_eq;
use std::collections::BTreeSet;

fn opened(path: &str, kind: ObjectKind, ino: u64) -> OpenedPath {
    OpenedPath::unopened(path, kind, ino)
}

fn mount(path: &str, kind: ObjectKind, access: MountAccess) -> Mount {
    Mount {
        opened: opened(path, kind, path.len() as u64),
        access,
    }
}

fn spec() -> RunSpec {
    RunSpec {
        argv: vec!["python3".into(), "main.py".into()],
        env: vec![("PATH".into(), "/usr/bin:/bin".into())],
        workdir: Some(PathBuf::from("/home/alice/project")),
        mounts: vec![
            mount(
                "/home/alice/project",
                ObjectKind::Directory,
                MountAccess::Write,
            ),
            // Opened as `/home/alice/data.csv`, a symlink: the engine hands over what it names.
            mount("/data/alice.csv", ObjectKind::File, MountAccess::Read),
        ],
        network: Network::None,
        net_namespace: NetNamespace::Slot {
            dir: PathBuf::from(SLOT_NETNS_DIR),
        },
        limits: Limits {
            memory_mb: 64,
            pids: 32,
            cpus: 0.5,
            timeout_s: 10,
            nofile: 256,
            file_size_mb: 8,
        },
        hostname: "aegisclaw".into(),
        exec: ExecGrant::program_only(),
        ca_store: Some(CaStoreSpec::Certificates(CA_STORE.into())),
    }
}

/// The certificates [`spec`] gives the run (the plan writes them as given).
const CA_STORE: &str = "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";

fn exec_file(path: &str, role: ExecRole) -> ExecFile {
    ExecFile {
        path: PathBuf::from(path),
        role,
    }
}

/// `python3` as the host resolves it: a symlink to the real program, which names its loader.
fn python3() -> ResolvedProgram {
    ResolvedProgram {
        name: "python3".into(),
        source: ExecSource::Entrypoint,
        found_as: Some(PathBuf::from("/usr/bin/python3")),
        files: Ok(vec![
            exec_file("/usr/bin/python3.11", ExecRole::Program),
            exec_file(
                "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                ExecRole::Loader,
            ),
        ]),
    }
}

fn facts(abi: u32) -> HostFacts {
    HostFacts {
        landlock_abi: Some(abi),
        cgroup: Some(CgroupFacts::V1 {
            memory: Some(PathBuf::from("/sys/fs/cgroup/memory/aegisclaw")),
            pids: Some(PathBuf::from("/sys/fs/cgroup/pids/aegisclaw")),
            cpu: Some(PathBuf::from("/sys/fs/cgroup/cpu/aegisclaw")),
        }),
        uid: 1000,
        gid: 1000,
        system_dirs: vec![
            SystemDir {
                path: PathBuf::from("/bin"),
                symlink: Some(PathBuf::from("usr/bin")),
            },
            SystemDir {
                path: PathBuf::from("/lib64"),
                symlink: None,
            },
        ],
        workdir: Some(PathBuf::from("/home/alice/project")),
        programs: vec![python3()],
        usr_dirs: [
            "/usr/bin",
            "/usr/lib",
            "/usr/local",
            "/usr/local/bin",
            "/usr/local/lib",
            "/usr/share",
        ]
        .map(PathBuf::from)
        .to_vec(),
        hidden_usr_dirs: vec![PathBuf::from("/usr/local/etc")],
        user_name: Some("alice".into()),
        localtime: Some(PathBuf::from("/usr/share/zoneinfo/Europe/Paris")),
        distribution_ca_bundle: Some(PathBuf::from("/etc/ssl/certs/ca-certificates.crt")),
        ld_cache: Some(PathBuf::from(LD_CACHE)),
        user_ns_max: vec![
            (UserNsCounter::UserNamespaces, 0),
            (UserNsCounter::InotifyInstances, 128),
            (UserNsCounter::InotifyWatches, 8192),
        ],
        memfd_noexec: true,
    }
}

/// The synthetic /etc of [`spec`] and [`facts`]: alice is uid 0 inside.
fn etc_mounts() -> Vec<MountOp> {
    let file = |path: &str, contents: &str| MountOp::File {
        target: PathBuf::from(path),
        contents: contents.into(),
    };
    vec![
        file("/etc/passwd", "alice:x:0:0:alice:/tmp:/bin/sh\n"),
        file("/etc/group", "alice:x:0:\n"),
        file(
            "/etc/hosts",
            "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n127.0.1.1\taegisclaw\n",
        ),
        file(
            "/etc/nsswitch.conf",
            "passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n",
        ),
        MountOp::Symlink {
            points_to: PathBuf::from("/usr/share/zoneinfo/Europe/Paris"),
            link: PathBuf::from("/etc/localtime"),
        },
        file("/etc/ssl/certs/ca-certificates.crt", CA_STORE),
        MountOp::Bind {
            source: PathBuf::from(LD_CACHE),
            target: PathBuf::from(LD_CACHE),
            kind: PathKind::File,
            flags: MountFlags::READ_ONLY,
        },
    ]
}

fn access(rights: &[FsAccess]) -> BTreeSet<FsAccess> {
    rights.iter().copied().collect()
}

#[test]
fn whole_plan_for_abi_7_with_v1_cgroups() {
    use FsAccess::*;
    let plan = plan(&spec(), &facts(7)).unwrap();
    // The private /tmp may hold the run's own sockets; a host bind may not.
    let tmp = [
        ReadFile, ReadDir, WriteFile, RemoveDir, RemoveFile, MakeDir, MakeReg, MakeSock, MakeFifo,
        MakeSym, Refer, Truncate,
    ];
    let read_write = [
        ReadFile, ReadDir, WriteFile, RemoveDir, RemoveFile, MakeDir, MakeReg, MakeFifo, MakeSym,
        Refer, Truncate,
    ];
    let rule = |path: &str, rights: &[FsAccess]| LandlockRule {
        path: PathBuf::from(path),
        access: access(rights),
    };
    let device = |name: &str, kind| MountOp::Bind {
        source: PathBuf::from(format!("/dev/{name}")),
        target: PathBuf::from(format!("/dev/{name}")),
        kind,
        flags: MountFlags::DEVICE,
    };
    let dev_rule = |name: &str, rights: &[FsAccess]| LandlockRule {
        path: PathBuf::from(format!("/dev/{name}")),
        access: access(rights),
    };
    let link = |name: &str, to: &str| MountOp::Symlink {
        points_to: PathBuf::from(to),
        link: PathBuf::from(format!("/dev/{name}")),
    };
    let expected = SandboxPlan {
        argv: vec!["python3".into(), "main.py".into()],
        // Exactly the file resolved, never a later PATH candidate.
        program: vec![PathBuf::from("/usr/bin/python3")],
        env: vec![("PATH".into(), "/usr/bin:/bin".into())],
        workdir: PathBuf::from("/home/alice/project"),
        hostname: "aegisclaw".into(),
        namespaces: Namespace::ALL.to_vec(),
        uid: 1000,
        gid: 1000,
        mounts: vec![
            MountOp::Bind {
                source: PathBuf::from("/usr"),
                target: PathBuf::from("/usr"),
                kind: PathKind::Dir,
                flags: MountFlags::READ_ONLY,
            },
            MountOp::Symlink {
                points_to: PathBuf::from("usr/bin"),
                link: PathBuf::from("/bin"),
            },
            MountOp::Bind {
                source: PathBuf::from("/lib64"),
                target: PathBuf::from("/lib64"),
                kind: PathKind::Dir,
                flags: MountFlags::READ_ONLY,
            },
            // The host's configuration under /usr, hidden as its /etc is.
            MountOp::Tmpfs {
                target: PathBuf::from("/usr/local/etc"),
                flags: MountFlags {
                    read_only: true,
                    ..MountFlags::SCRATCH
                },
                size_mb: 1,
            },
            MountOp::Tmpfs {
                target: PathBuf::from("/dev"),
                flags: MountFlags {
                    read_only: false,
                    nosuid: true,
                    nodev: false,
                    noexec: true,
                },
                size_mb: 1,
            },
            device("null", PathKind::File),
            device("zero", PathKind::File),
            device("full", PathKind::File),
            device("random", PathKind::File),
            device("urandom", PathKind::File),
            link("fd", "/proc/self/fd"),
            link("stdin", "/proc/self/fd/0"),
            link("stdout", "/proc/self/fd/1"),
            link("stderr", "/proc/self/fd/2"),
            MountOp::Tmpfs {
                target: PathBuf::from("/tmp"),
                flags: MountFlags::SCRATCH,
                size_mb: 256,
            },
            MountOp::Proc {
                target: PathBuf::from("/proc"),
                flags: MountFlags::SCRATCH,
            },
        ]
        .into_iter()
        .chain(etc_mounts())
        .chain([
            MountOp::BindOpened {
                opened: opened("/data/alice.csv", ObjectKind::File, 15),
                access: MountAccess::Read,
                kind: PathKind::File,
                flags: MountFlags::READ_ONLY,
            },
            // Nothing the run may execute is in it: what it writes there cannot run.
            MountOp::BindOpened {
                opened: opened("/home/alice/project", ObjectKind::Directory, 19),
                access: MountAccess::Write,
                kind: PathKind::Dir,
                flags: MountFlags::READ_WRITE_NOEXEC,
            },
        ])
        .collect(),
        network: Network::None,
        // uid 1000: only root may join a namespace the initial user namespace owns.
        net_namespace: NetNamespace::Fresh,
        landlock: LandlockPlan {
            abi: 7,
            handled: FsAccess::ALL[..16].iter().copied().collect(),
            rules: vec![
                rule("/", &[ReadDir]),
                // /usr may be listed; files read outside the program directories.
                rule("/usr", &[ReadDir]),
                rule("/usr/lib", &[ReadFile, ReadDir]),
                rule("/usr/local/lib", &[ReadFile, ReadDir]),
                rule("/usr/share", &[ReadFile, ReadDir]),
                // A real system directory is bound, and readable like /usr's libraries.
                rule("/lib64", &[ReadFile, ReadDir]),
                rule("/etc", &[ReadFile, ReadDir]),
                rule("/proc", &[ReadFile, ReadDir]),
                LandlockRule {
                    path: PathBuf::from("/tmp"),
                    access: access(&tmp),
                },
                dev_rule("null", &[ReadFile, WriteFile, Truncate, IoctlDev]),
                dev_rule("zero", &[ReadFile, WriteFile, Truncate, IoctlDev]),
                dev_rule("full", &[ReadFile, WriteFile, Truncate, IoctlDev]),
                dev_rule("random", &[ReadFile, IoctlDev]),
                dev_rule("urandom", &[ReadFile, IoctlDev]),
                rule("/data/alice.csv", &[ReadFile]),
                rule("/home/alice/project", &read_write),
                // Execute only on the program and its loader.
                rule("/usr/bin/python3.11", &[ReadFile, Execute]),
                rule(
                    "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
                    &[ReadFile, Execute],
                ),
            ],
            deny_tcp: true,
            scopes: vec![LandlockScope::AbstractUnixSocket, LandlockScope::Signal],
        },
        seccomp: seccomp_table(),
        unix_sockets: UnixSockets::PairsOnly,
        exec_memory: ExecMemory::FilesOnly,
        rlimits: vec![
            Rlimit {
                resource: Resource::Core,
                value: 0,
            },
            Rlimit {
                resource: Resource::Nofile,
                value: 256,
            },
            Rlimit {
                resource: Resource::FileSize,
                value: 8 * 1024 * 1024,
            },
        ],
        cgroup: Some(CgroupPlan {
            facts: facts(7).cgroup.unwrap(),
            memory_bytes: 64 * 1024 * 1024,
            pids_max: 32,
            cpu_quota_us: 50_000,
            cpu_period_us: 100_000,
        }),
        timeout: Duration::from_secs(10),
        exec: ExecPlan::Only {
            programs: vec![PlannedProgram {
                name: "python3".into(),
                source: ExecSource::Entrypoint,
                files: python3().files.unwrap(),
            }],
        },
        user_ns_limits: vec![
            UserNsLimit {
                counter: UserNsCounter::UserNamespaces,
                value: 0,
            },
            UserNsLimit {
                counter: UserNsCounter::InotifyInstances,
                value: 32,
            },
            UserNsLimit {
                counter: UserNsCounter::InotifyWatches,
                value: 2048,
            },
        ],
        // Shared memory within the 64 MiB memory limit.
        ipc_limits: vec![
            IpcLimit {
                counter: IpcCounter::ShmMax,
                value: 64 << 20,
            },
            IpcLimit {
                counter: IpcCounter::ShmAll,
                value: 16384,
            },
            IpcLimit {
                counter: IpcCounter::ShmMni,
                value: 64,
            },
        ],
        // uid 1000: the host's sysctl file is root's.
        memfd_noexec: false,
    };
    assert_eq!(plan, expected);
}

#[test]
fn old_abi_handles_fewer_rights_and_no_network_or_scopes() {
    let mut facts = facts(1);
    facts.cgroup = None;
    let plan = plan(&spec(), &facts).unwrap();
    assert_eq!(
        plan.landlock.handled,
        FsAccess::ALL[..13].iter().copied().collect()
    );
    assert!(!plan.landlock.deny_tcp);
    assert_eq!(plan.landlock.scopes, []);
    assert!(
        plan.landlock
            .rules
            .iter()
            .all(|rule| rule.access.is_subset(&plan.landlock.handled))
    );
    // Without cgroup memory and pids controllers the address space and the number of
    // processes are capped instead.
    assert_eq!(plan.cgroup, None);
    assert_eq!(
        plan.rlimits[3..],
        [
            Rlimit {
                resource: Resource::AddressSpace,
                value: 64 * 1024 * 1024
            },
            Rlimit {
                resource: Resource::Processes,
                value: 32
            }
        ]
    );
}

#[test]
fn without_landlock_the_run_is_refused() {
    let mut facts = facts(7);
    facts.landlock_abi = None;
    assert_eq!(plan(&spec(), &facts), Err(PlanError::LandlockUnavailable));
}

#[test]
fn loopback_keeps_tcp() {
    let mut spec = spec();
    spec.network = Network::Loopback;
    let plan = plan(&spec, &facts(7)).unwrap();
    assert!(!plan.landlock.deny_tcp);
}

#[test]
fn bad_specs_are_refused() {
    let mut missing = facts(7);
    missing.workdir = None;
    assert_eq!(
        plan(&spec(), &missing),
        Err(PlanError::Missing {
            path: PathBuf::from("/home/alice/project")
        })
    );
    let mut relative = spec();
    relative.mounts[1] = mount("data.csv", ObjectKind::File, MountAccess::Read);
    assert_eq!(
        plan(&relative, &facts(7)),
        Err(PlanError::BadPath {
            path: PathBuf::from("data.csv")
        })
    );
    let mut reserved = spec();
    reserved.mounts[1] = mount("/proc/1", ObjectKind::Directory, MountAccess::Read);
    assert_eq!(
        plan(&reserved, &facts(7)),
        Err(PlanError::Reserved {
            path: PathBuf::from("/proc/1"),
            reserved: "/proc"
        })
    );
    let mut root = spec();
    root.mounts[1] = mount("/", ObjectKind::Directory, MountAccess::Read);
    assert!(matches!(
        plan(&root, &facts(7)),
        Err(PlanError::Reserved { .. })
    ));
    let mut unmounted = spec();
    unmounted.workdir = Some(PathBuf::from("/srv"));
    let mut unmounted_facts = facts(7);
    unmounted_facts.workdir = Some(PathBuf::from("/srv"));
    assert_eq!(
        plan(&unmounted, &unmounted_facts),
        Err(PlanError::WorkdirNotMounted {
            path: PathBuf::from("/srv")
        })
    );
    let mut empty = spec();
    empty.argv.clear();
    assert_eq!(plan(&empty, &facts(7)), Err(PlanError::EmptyCommand));
    // An environment value may be a secret's: the error names the variable, never the value.
    let mut secret = spec();
    secret
        .env
        .push(("API_KEY".into(), "hunter2\0-binary-api-key".into()));
    let error = plan(&secret, &facts(7)).unwrap_err();
    assert_eq!(
        error,
        PlanError::NulInEnv {
            name: "API_KEY".into()
        }
    );
    assert!(!error.to_string().contains("hunter2"), "{error}");
}

#[test]
fn file_scopes_never_bind_a_socket_and_unix_connect_binds_nothing_else() {
    let mut socket_as_file = spec();
    socket_as_file.mounts[1] = mount("/run/user/1000/bus", ObjectKind::Socket, MountAccess::Read);
    assert_eq!(
        plan(&socket_as_file, &facts(9)),
        Err(PlanError::SocketNeedsConnect {
            path: PathBuf::from("/run/user/1000/bus")
        })
    );
    let mut file_as_socket = spec();
    file_as_socket.mounts[1] = mount("/data/alice.csv", ObjectKind::File, MountAccess::Connect);
    assert_eq!(
        plan(&file_as_socket, &facts(9)),
        Err(PlanError::NotASocket {
            path: PathBuf::from("/data/alice.csv"),
            kind: "file"
        })
    );
}

/// A run with only a `unix.connect` scope (its workdir the private /tmp) and, with
/// `with_dir`, a bound directory too.
fn unix_connect_spec(with_dir: bool) -> RunSpec {
    let mut spec = spec();
    spec.workdir = None;
    spec.mounts = vec![mount(
        "/run/app/app.sock",
        ObjectKind::Socket,
        MountAccess::Connect,
    )];
    if with_dir {
        spec.mounts.push(mount(
            "/home/alice/project",
            ObjectKind::Directory,
            MountAccess::Read,
        ));
    }
    spec
}

#[test]
fn unix_connect_on_landlock_9_is_a_resolve_unix_rule_on_the_socket_alone() {
    use FsAccess::*;
    for with_dir in [false, true] {
        let planned = plan(&unix_connect_spec(with_dir), &facts(9)).unwrap();
        assert_eq!(
            planned.unix_sockets,
            UnixSockets::Any,
            "with_dir {with_dir}"
        );
        assert_eq!(
            planned.landlock.handled,
            FsAccess::ALL.into_iter().collect(),
            "ABI 9 handles every right, ResolveUnix too"
        );
        assert!(planned.mounts.contains(&MountOp::BindOpened {
            opened: opened("/run/app/app.sock", ObjectKind::Socket, 17),
            access: MountAccess::Connect,
            kind: PathKind::File,
            flags: MountFlags::READ_ONLY,
        }));
        let granted: Vec<(&Path, &BTreeSet<FsAccess>)> = planned
            .landlock
            .rules
            .iter()
            .filter(|rule| rule.access.contains(&ResolveUnix))
            .map(|rule| (rule.path.as_path(), &rule.access))
            .collect();
        assert_eq!(
            granted,
            [(Path::new("/run/app/app.sock"), &access(&[ResolveUnix]))]
        );
        // No rule lets the run make a socket on the host; its private /tmp may.
        let make_sock: Vec<&Path> = planned
            .landlock
            .rules
            .iter()
            .filter(|rule| rule.access.contains(&MakeSock))
            .map(|rule| rule.path.as_path())
            .collect();
        assert_eq!(make_sock, [Path::new("/tmp")]);
    }
}

#[test]
fn unix_connect_below_landlock_9_works_alone_and_is_refused_beside_a_directory() {
    let alone = plan(&unix_connect_spec(false), &facts(8)).unwrap();
    // Nothing but the scoped socket is there to connect to: unix sockets are allowed, and
    // Landlock (which cannot govern connect() before ABI 9) gets no rule for it.
    assert_eq!(alone.unix_sockets, UnixSockets::Any);
    assert!(
        alone
            .landlock
            .rules
            .iter()
            .all(|rule| rule.path != Path::new("/run/app/app.sock"))
    );
    assert!(alone.mounts.contains(&MountOp::BindOpened {
        opened: opened("/run/app/app.sock", ObjectKind::Socket, 17),
        access: MountAccess::Connect,
        kind: PathKind::File,
        flags: MountFlags::READ_ONLY,
    }));
    assert_eq!(
        plan(&unix_connect_spec(true), &facts(8)),
        Err(PlanError::UnixConnectUnenforceable {
            path: PathBuf::from("/run/app/app.sock"),
            abi: 8,
            needed: LANDLOCK_ABI_RESOLVE_UNIX
        })
    );
    // A bound directory without `unix.connect`: connected pairs only.
    let mut dir_only = unix_connect_spec(true);
    dir_only.mounts.remove(0);
    assert_eq!(
        plan(&dir_only, &facts(8)).unwrap().unix_sockets,
        UnixSockets::PairsOnly
    );
    assert_eq!(
        plan(&dir_only, &facts(9)).unwrap().unix_sockets,
        UnixSockets::Any
    );
    // No scope at all: `/usr` and the system directories are host directories too (a socket
    // root keeps there would be reachable), so below ABI 9 pairs only still.
    let mut nothing = unix_connect_spec(false);
    nothing.mounts.clear();
    assert_eq!(
        plan(&nothing, &facts(8)).unwrap().unix_sockets,
        UnixSockets::PairsOnly
    );
    assert_eq!(
        plan(&nothing, &facts(9)).unwrap().unix_sockets,
        UnixSockets::Any
    );
}

#[test]
fn nested_binds_come_after_their_parent_and_duplicates_get_the_widest_access_granted() {
    let mut spec = spec();
    spec.mounts = vec![
        mount(
            "/home/alice/project/secrets",
            ObjectKind::Directory,
            MountAccess::Read,
        ),
        mount(
            "/home/alice/project",
            ObjectKind::Directory,
            MountAccess::Write,
        ),
        mount(
            "/home/alice/project",
            ObjectKind::Directory,
            MountAccess::Read,
        ),
    ];
    let plan = plan(&spec, &facts(7)).unwrap();
    let binds: Vec<(&Path, MountAccess, bool)> = plan
        .mounts
        .iter()
        .filter_map(|op| match op {
            MountOp::BindOpened {
                opened,
                access,
                flags,
                ..
            } => Some((opened.path(), *access, flags.read_only)),
            _ => None,
        })
        .collect();
    // Both scopes on the project were decided: it is bound once, writable (attack pass 5:
    // the read bind silently made a decided write read-only), and a read scope nested in it
    // stays read-only.
    assert_eq!(
        binds,
        [
            (Path::new("/home/alice/project"), MountAccess::Write, false),
            (
                Path::new("/home/alice/project/secrets"),
                MountAccess::Read,
                true
            ),
        ]
    );
}

#[test]
fn program_with_a_slash_is_used_as_is() {
    assert_eq!(
        program_candidates("./run.sh", &[]),
        [PathBuf::from("./run.sh")]
    );
    assert_eq!(
        program_candidates("ls", &[]),
        [
            PathBuf::from("/usr/local/bin/ls"),
            PathBuf::from("/usr/bin/ls"),
            PathBuf::from("/bin/ls")
        ]
    );
}

#[test]
fn a_run_given_no_host_workdir_works_in_its_private_tmp() {
    let mut private = spec();
    private.workdir = None;
    private.mounts.clear();
    let mut private_facts = facts(7);
    private_facts.workdir = None;
    let planned = plan(&private, &private_facts).unwrap();
    assert_eq!(planned.workdir, PathBuf::from("/tmp"));
    // Nothing of the host is bound beyond the system directories and devices: /tmp is the
    // sandbox's own tmpfs.
    let system = [
        Path::new("/usr"),
        Path::new("/lib64"),
        Path::new("/dev"),
        Path::new("/etc/ssl/certs/ca-certificates.crt"),
        Path::new(LD_CACHE),
    ];
    assert!(
        planned.mounts.iter().all(|op| match op {
            MountOp::Bind { source, .. } => system.iter().any(|dir| source.starts_with(dir)),
            _ => true,
        }),
        "{:?}",
        planned.mounts
    );
    assert!(planned.mounts.iter().any(|op| matches!(
        op,
        MountOp::Tmpfs { target, .. } if target == Path::new("/tmp")
    )));
}

#[test]
fn slot_network_namespace_only_for_root_runs_without_network_under_cgroups() {
    let slot = NetNamespace::Slot {
        dir: PathBuf::from(SLOT_NETNS_DIR),
    };
    let mut root = facts(7);
    root.uid = 0;
    root.gid = 0;
    assert_eq!(plan(&spec(), &root).unwrap().net_namespace, slot);
    // Not root: the slot namespace belongs to the initial user namespace.
    assert_eq!(
        plan(&spec(), &facts(7)).unwrap().net_namespace,
        NetNamespace::Fresh
    );
    // Any network: a fresh namespace, where lo comes up and the proxy listens.
    for network in [
        Network::Loopback,
        Network::Proxied {
            listener: "127.0.0.1:3128".parse().unwrap(),
        },
    ] {
        let mut with_network = spec();
        with_network.network = network;
        assert_eq!(
            plan(&with_network, &root).unwrap().net_namespace,
            NetNamespace::Fresh
        );
    }
    // No cgroup slot, whose lock would keep runs apart: fresh.
    let mut no_cgroup = root.clone();
    no_cgroup.cgroup = None;
    assert_eq!(
        plan(&spec(), &no_cgroup).unwrap().net_namespace,
        NetNamespace::Fresh
    );
    // Asked for fresh: fresh.
    let mut fresh = spec();
    fresh.net_namespace = NetNamespace::Fresh;
    assert_eq!(
        plan(&fresh, &root).unwrap().net_namespace,
        NetNamespace::Fresh
    );
}

mod exec;
