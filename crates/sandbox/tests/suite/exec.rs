//! The native runtime's exec wall, synthetic `/etc` and kernel limits from the outside: real
//! runs of the sandbox crate alone (the escape suite tests the same through the envelope,
//! with its records).
#![cfg(target_os = "linux")]
#![expect(clippy::unwrap_used, reason = "test helpers outside #[test] fns")]

use aegisclaw_sandbox::path::open_scope_path;
use aegisclaw_sandbox::plan::{
    ExecGrant, ExecPlan, Limits, Mount, MountAccess, NetNamespace, Network, RunSpec, UserNsCounter,
    plan,
};
use aegisclaw_sandbox::runtime::{ExitStatus, RunOutput, Stdin, StdioSetup, host_facts, run};
use std::path::Path;

fn spec(workdir: &Path, exec: ExecGrant, script: &str) -> RunSpec {
    RunSpec {
        argv: vec!["sh".into(), "-c".into(), script.into()],
        env: vec![("PATH".to_string(), "/usr/bin:/bin".to_string())],
        workdir: Some(workdir.to_path_buf()),
        mounts: vec![Mount {
            opened: open_scope_path(workdir).unwrap(),
            access: MountAccess::Write,
        }],
        network: Network::None,
        net_namespace: NetNamespace::Fresh,
        limits: Limits {
            timeout_s: 20,
            ..Limits::default()
        },
        hostname: "aegisclaw".to_string(),
        exec,
        ca_store: None,
    }
}

fn run_spec(spec: &RunSpec) -> RunOutput {
    let plan = plan(spec, &host_facts(spec)).unwrap_or_else(|error| panic!("plan: {error}"));
    run(&plan, StdioSetup { stdin: Stdin::Null }).unwrap_or_else(|error| panic!("run: {error}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn without_shell_exec_the_shell_runs_and_nothing_it_starts_does() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_spec(&spec(
        dir.path(),
        ExecGrant::program_only(),
        "echo from-sh; /usr/bin/id; echo id=$?; /lib64/ld-linux-x86-64.so.2 /usr/bin/id; echo loader=$?",
    ));
    assert_eq!(
        text(&output.stdout),
        "from-sh\nid=126\nloader=127\n",
        "{}",
        text(&output.stderr)
    );
    // The record names the shell and its loader, and nothing else.
    let ExecPlan::Only { programs } = &output.outcome.enforcement.exec else {
        panic!("{:?}", output.outcome.enforcement.exec);
    };
    assert_eq!(programs.len(), 1);
    assert_eq!(programs[0].name, "sh");
    assert_eq!(programs[0].files.len(), 2, "{programs:?}");
}

#[test]
fn a_listed_command_runs_beside_the_program_and_its_neighbours_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_spec(&spec(
        dir.path(),
        ExecGrant::Listed {
            commands: vec!["ls".into()],
        },
        "ls -d / && cat /etc/hostname; echo cat=$?",
    ));
    assert_eq!(text(&output.stdout), "/\ncat=126\n");
}

#[test]
fn the_synthetic_etc_holds_the_runs_user_and_nothing_of_the_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = spec(
        dir.path(),
        ExecGrant::Any,
        "ls /etc; cut -d: -f1,3,6,7 /etc/passwd; cat /etc/group; cat /etc/hostname; cat /etc/ssl/certs/ca-certificates.crt",
    );
    // The CA store as the caller gives it (the engine checks it is certificates only).
    let store = "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n";
    spec.ca_store = Some(aegisclaw_sandbox::plan::CaStoreSpec::Certificates(
        store.into(),
    ));
    let output = run_spec(&spec);
    let stdout = text(&output.stdout);
    let mut lines = stdout.lines();
    let listing: Vec<&str> = lines.by_ref().take_while(|line| *line != "ssl").collect();
    assert_eq!(
        listing,
        [
            "group",
            "hosts",
            "ld.so.cache",
            "localtime",
            "nsswitch.conf",
            "passwd"
        ]
    );
    let user = lines.next().unwrap();
    assert!(user.ends_with(":0:/tmp:/bin/sh"), "{stdout}");
    assert!(lines.next().unwrap().ends_with(":x:0:"), "{stdout}");
    assert_eq!(
        lines.collect::<Vec<_>>().join("\n") + "\n",
        store,
        "{stdout}"
    );
    assert!(
        text(&output.stderr).contains("/etc/hostname: No such file"),
        "{}",
        text(&output.stderr)
    );
}

#[test]
fn the_run_has_limits_of_its_own_below_the_hosts() {
    let dir = tempfile::tempdir().unwrap();
    let output = run_spec(&spec(
        dir.path(),
        ExecGrant::Any,
        "cd /proc/sys/user && for f in max_user_namespaces max_inotify_instances; do echo $f $(cat $f); done",
    ));
    let host = |name: &str| -> u64 {
        fs_err::read_to_string(Path::new("/proc/sys/user").join(name))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    assert_eq!(
        text(&output.stdout),
        format!(
            "max_user_namespaces 0\nmax_inotify_instances {}\n",
            host("max_inotify_instances") / 4
        ),
        "{}",
        text(&output.stderr)
    );
    let limits = &output.outcome.enforcement.user_namespace_limits;
    assert_eq!(
        limits.get(UserNsCounter::InotifyInstances.file_name()),
        Some(&(host("max_inotify_instances") / 4))
    );
}

#[test]
fn a_write_past_the_file_size_limit_stops_at_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut spec = spec(
        dir.path(),
        ExecGrant::Any,
        "dd if=/dev/zero of=big bs=64K count=64 2>/dev/null",
    );
    spec.limits.file_size_mb = 1;
    let output = run_spec(&spec);
    // SIGXFSZ (25) ends dd, and the shell reports it.
    assert_eq!(output.outcome.exit, ExitStatus::Code(128 + 25));
    assert_eq!(
        fs_err::metadata(dir.path().join("big")).unwrap().len(),
        1024 * 1024
    );
    assert_eq!(
        output.outcome.enforcement.rlimits.get("file_size"),
        Some(&(1024 * 1024))
    );
}
