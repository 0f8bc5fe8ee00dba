//! Whole-plan tests of what a run may execute, its synthetic `/etc` and its kernel limits.

use super::*;
use pretty_assertions::assert_eq;

fn rules_with(plan: &SandboxPlan, right: FsAccess) -> Vec<&Path> {
    plan.landlock
        .rules
        .iter()
        .filter(|rule| rule.access.contains(&right))
        .map(|rule| rule.path.as_path())
        .collect()
}

fn bind_flags(plan: &SandboxPlan, path: &str) -> MountFlags {
    plan.mounts
        .iter()
        .find_map(|op| match op {
            MountOp::BindOpened { opened, flags, .. } if opened.path() == Path::new(path) => {
                Some(*flags)
            }
            _ => None,
        })
        .unwrap()
}

#[test]
fn a_bare_shell_exec_grants_execute_on_usr_and_every_bind() {
    use FsAccess::*;
    let mut any = spec();
    any.exec = ExecGrant::Any;
    let mut facts = facts(7);
    // Nothing is resolved for a bare `shell.exec`.
    facts.programs.clear();
    facts.usr_dirs.clear();
    let plan = plan(&any, &facts).unwrap();
    assert_eq!(plan.exec, ExecPlan::Any);
    assert_eq!(
        plan.program,
        [
            PathBuf::from("/usr/bin/python3"),
            PathBuf::from("/bin/python3")
        ]
    );
    assert_eq!(
        rules_with(&plan, Execute),
        [
            Path::new("/usr"),
            Path::new("/lib64"),
            Path::new("/data/alice.csv"),
            Path::new("/home/alice/project"),
        ]
    );
    assert_eq!(
        plan.landlock.rules[1].access,
        access(&[ReadFile, ReadDir, Execute])
    );
    assert_eq!(
        bind_flags(&plan, "/home/alice/project"),
        MountFlags::READ_WRITE
    );
}

#[test]
fn without_shell_exec_only_the_program_and_its_loader_may_execute_or_be_read_in_bin() {
    use FsAccess::*;
    let plan = plan(&spec(), &facts(7)).unwrap();
    assert_eq!(
        rules_with(&plan, Execute),
        [
            Path::new("/usr/bin/python3.11"),
            Path::new("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
        ]
    );
    // No rule lets the run read a file of a program directory but its own program, so the
    // loader run as a program (`ld.so /usr/bin/id`) cannot load another.
    let readable = rules_with(&plan, ReadFile);
    for program_dir in ["/usr/bin", "/usr/local/bin", "/usr/local", "/usr"] {
        assert!(!readable.contains(&Path::new(program_dir)), "{program_dir}");
    }
    assert!(readable.contains(&Path::new("/usr/bin/python3.11")));
}

fn with_command(name: &str, files: Result<Vec<ExecFile>, ResolveFailure>) -> (RunSpec, HostFacts) {
    let mut spec = spec();
    spec.exec = ExecGrant::Listed {
        commands: vec![name.to_string()],
    };
    let mut facts = facts(7);
    facts.programs.push(ResolvedProgram {
        name: name.into(),
        source: ExecSource::Command,
        found_as: files
            .as_ref()
            .ok()
            .and_then(|files| files.first())
            .map(|file| file.path.clone()),
        files,
    });
    (spec, facts)
}

#[test]
fn a_command_is_granted_with_its_interpreters() {
    let git = vec![
        exec_file("/usr/local/bin/git", ExecRole::Program),
        exec_file(
            "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2",
            ExecRole::Loader,
        ),
    ];
    let (spec, facts) = with_command("git", Ok(git.clone()));
    let plan = plan(&spec, &facts).unwrap();
    assert_eq!(
        plan.exec,
        ExecPlan::Only {
            programs: vec![
                PlannedProgram {
                    name: "python3".into(),
                    source: ExecSource::Entrypoint,
                    files: python3().files.unwrap(),
                },
                PlannedProgram {
                    name: "git".into(),
                    source: ExecSource::Command,
                    files: git,
                },
            ]
        }
    );
    // The loader both name is one rule.
    assert_eq!(
        rules_with(&plan, FsAccess::Execute),
        [
            Path::new("/usr/bin/python3.11"),
            Path::new("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"),
            Path::new("/usr/local/bin/git"),
        ]
    );
}

#[test]
fn a_program_that_cannot_be_resolved_or_seen_refuses_the_run_naming_it() {
    let missing = ResolveFailure::NotOnPath {
        path: "/usr/bin:/bin".into(),
    };
    let (spec, facts) = with_command("nope", Err(missing.clone()));
    let error = plan(&spec, &facts).unwrap_err();
    assert_eq!(
        error,
        PlanError::Unresolved {
            name: "nope".into(),
            by: ExecSource::Command,
            reason: missing,
        }
    );
    assert_eq!(
        error.to_string(),
        "cannot resolve the `shell.exec` command `nope` for execution: no executable file of that name in the run's `PATH` (`/usr/bin:/bin`)"
    );
    // The entrypoint too, with nothing resolved for it at all.
    let mut no_program = facts.clone();
    no_program.programs.clear();
    assert!(matches!(
        plan(&spec, &no_program),
        Err(PlanError::Unresolved {
            by: ExecSource::Entrypoint,
            ..
        })
    ));
    let (spec, facts) = with_command(
        "tool",
        Ok(vec![exec_file("/opt/tool/bin/tool", ExecRole::Program)]),
    );
    assert_eq!(
        plan(&spec, &facts),
        Err(PlanError::ExecutableNotVisible {
            name: "tool".into(),
            path: PathBuf::from("/opt/tool/bin/tool"),
        })
    );
}

#[test]
fn a_writable_bind_holding_something_the_run_may_execute_stays_executable() {
    let mut spec = spec();
    spec.argv = vec!["./run.sh".into()];
    let mut facts = facts(7);
    facts.programs = vec![ResolvedProgram {
        name: "./run.sh".into(),
        source: ExecSource::Entrypoint,
        found_as: Some(PathBuf::from("/home/alice/project/./run.sh")),
        files: Ok(vec![
            exec_file("/home/alice/project/run.sh", ExecRole::Program),
            exec_file("/usr/bin/dash", ExecRole::Script),
        ]),
    }];
    let plan = plan(&spec, &facts).unwrap();
    assert_eq!(
        plan.program,
        [PathBuf::from("/home/alice/project/./run.sh")]
    );
    assert_eq!(
        bind_flags(&plan, "/home/alice/project"),
        MountFlags::READ_WRITE
    );
}

#[test]
fn a_checked_ca_store_is_written_as_given_and_a_root_owned_one_bound_read_only() {
    let mut asked = spec();
    let pem = "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";
    asked.ca_store = Some(CaStoreSpec::Certificates(pem.to_string()));
    let mut facts = facts(7);
    // A host whose TLS libraries look elsewhere finds it there too, through a link.
    facts.distribution_ca_bundle = Some(PathBuf::from("/etc/pki/tls/certs/ca-bundle.crt"));
    let planned = plan(&asked, &facts).unwrap();
    let etc: Vec<&MountOp> = planned
        .mounts
        .iter()
        .filter(|op| match op {
            MountOp::Bind { target, .. } | MountOp::File { target, .. } => {
                target.starts_with("/etc/ssl")
            }
            MountOp::Symlink { link, .. } => link.starts_with("/etc/pki"),
            _ => false,
        })
        .collect();
    assert_eq!(
        etc,
        [
            &MountOp::File {
                target: PathBuf::from(CA_BUNDLE_TARGET),
                contents: pem.to_string(),
            },
            &MountOp::Symlink {
                points_to: PathBuf::from(CA_BUNDLE_TARGET),
                link: PathBuf::from("/etc/pki/tls/certs/ca-bundle.crt"),
            },
        ]
    );
    // The distribution's, which only root can change: bound by name, read-only, unread.
    let own = PathBuf::from("/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem");
    asked.ca_store = Some(CaStoreSpec::RootOwned(own.clone()));
    let bound = plan(&asked, &facts).unwrap();
    assert!(
        bound.mounts.contains(&MountOp::Bind {
            source: own,
            target: PathBuf::from(CA_BUNDLE_TARGET),
            kind: PathKind::File,
            flags: MountFlags::READ_ONLY,
        }),
        "{:?}",
        bound.mounts
    );
    // No CA store at all: nothing at the target (verification then fails, closed).
    asked.ca_store = None;
    let none = plan(&asked, &facts).unwrap();
    assert!(!none.mounts.iter().any(|op| matches!(
        op,
        MountOp::Bind { target, .. } | MountOp::File { target, .. } if target.starts_with("/etc/ssl")
    )));
}

#[test]
fn a_user_name_passwd_cannot_hold_becomes_aegisclaw() {
    for (name, expected) in [
        (Some("alice"), "alice"),
        (Some("bob.smith-2"), "bob.smith-2"),
        (Some("evil:x:0:0::/:/bin/sh\nroot"), "aegisclaw"),
        (Some("-rf"), "aegisclaw"),
        (Some(""), "aegisclaw"),
        (None, "aegisclaw"),
    ] {
        let mut facts = facts(7);
        facts.user_name = name.map(String::from);
        let planned = plan(&spec(), &facts).unwrap();
        assert!(
            planned.mounts.contains(&MountOp::File {
                target: PathBuf::from("/etc/passwd"),
                contents: format!("{expected}:x:0:0:{expected}:/tmp:/bin/sh\n"),
            }),
            "{name:?}"
        );
    }
}

#[test]
fn only_a_root_run_on_a_kernel_with_it_sets_memfd_noexec() {
    let mut root = facts(7);
    root.uid = 0;
    assert!(plan(&spec(), &root).unwrap().memfd_noexec);
    root.memfd_noexec = false;
    assert!(!plan(&spec(), &root).unwrap().memfd_noexec);
    assert!(!plan(&spec(), &facts(7)).unwrap().memfd_noexec);
}
