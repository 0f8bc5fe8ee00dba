//! The network namespaces kept for cgroup slots (`NetNamespace::Slot`), each test with a
//! directory of its own: kept, used by one run at a time, and made afresh when found changed.
#![cfg(target_os = "linux")]
#![expect(clippy::unwrap_used, reason = "test helpers outside #[test] fns")]

use aegisclaw_sandbox::netns::{loopback_up, remove_slot_namespaces};
use aegisclaw_sandbox::plan::{ExecGrant, Limits, NetNamespace, Network, RunSpec, plan};
use aegisclaw_sandbox::runtime::{
    ExitStatus, Launcher, RunOutput, Stdin, StdioSetup, host_facts, run,
};
use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;
use std::process::Command;

/// A test's own directory of slot namespaces (and a named namespace, if it made one), all
/// unmounted and removed when dropped, even when the test fails.
struct Slots {
    path: std::path::PathBuf,
    named: Option<String>,
    _dir: tempfile::TempDir,
}

impl Slots {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self {
            path: dir.path().join("netns"),
            named: None,
            _dir: dir,
        }
    }
}

impl Drop for Slots {
    fn drop(&mut self) {
        let _ = remove_slot_namespaces(&self.path);
        if let Some(named) = &self.named {
            let _ = Command::new("ip").args(["netns", "delete", named]).status();
        }
    }
}

fn spec(dir: &Path, script: &str) -> RunSpec {
    RunSpec {
        argv: vec!["sh".into(), "-c".into(), script.into()],
        env: vec![("PATH".to_string(), "/usr/bin:/bin".to_string())],
        workdir: None,
        mounts: Vec::new(),
        network: Network::None,
        net_namespace: NetNamespace::Slot {
            dir: dir.to_path_buf(),
        },
        limits: Limits {
            timeout_s: 20,
            ..Limits::default()
        },
        hostname: "aegisclaw".to_string(),
        // Not about what may execute (`exec.rs` is): any program.
        exec: ExecGrant::Any,
        ca_store: None,
    }
}

/// The plan for `spec`, or `None` (said on stderr) when this process is not root and so gets
/// a fresh namespace, which the plan tests cover.
#[expect(clippy::print_stderr, reason = "a skipped test says why")]
fn root_plan(spec: &RunSpec) -> Option<aegisclaw_sandbox::plan::SandboxPlan> {
    let plan = plan(spec, &host_facts(spec)).unwrap();
    if plan.net_namespace == NetNamespace::Fresh {
        eprintln!("skipped: slot network namespaces are for root runs with cgroups");
        return None;
    }
    Some(plan)
}

fn succeeded(output: &RunOutput) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(
        output.outcome.exit,
        ExitStatus::Code(0),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// `net:[<inode>]` as `readlink /proc/<pid>/ns/net` gives it, as the inode.
fn inode_of(link: &str) -> u64 {
    link.trim()
        .strip_prefix("net:[")
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|number| number.parse().ok())
        .unwrap_or_else(|| panic!("not a network namespace link: {link:?}"))
}

/// The namespaces mounted under `dir` (the inode of a namespace file is the namespace's).
fn kept(dir: &Path) -> BTreeSet<u64> {
    fs_err::read_dir(dir)
        .unwrap()
        .map(|entry| fs_err::metadata(entry.unwrap().path()).unwrap().ino())
        .collect()
}

fn own_namespace() -> u64 {
    inode_of(
        &fs_err::read_link("/proc/self/ns/net")
            .unwrap()
            .to_string_lossy(),
    )
}

#[test]
fn runs_without_network_join_their_slots_kept_namespace() {
    let slots = Slots::new();
    let spec = spec(&slots.path, "readlink /proc/self/ns/net");
    let Some(plan) = root_plan(&spec) else {
        return;
    };
    let mut seen = BTreeSet::new();
    for _ in 0..3 {
        let output = run(&plan, StdioSetup { stdin: Stdin::Null }).unwrap();
        assert_eq!(output.outcome.enforcement.net_namespace, "slot");
        let inode = inode_of(&succeeded(&output));
        assert_ne!(inode, own_namespace());
        assert!(
            kept(&slots.path).contains(&inode),
            "{inode} not kept in {:?}",
            slots.path
        );
        seen.insert(inode);
    }
    // Kept, not made per run (other tests may hold a slot now and then).
    assert!(seen.len() < 3, "{seen:?}");
    // The directory is the caller's alone.
    let mode = fs_err::metadata(&slots.path).unwrap().mode();
    assert_eq!(mode & 0o777, 0o700);
    assert!(remove_slot_namespaces(&slots.path).unwrap() >= 1);
    assert_eq!(fs_err::read_dir(&slots.path).unwrap().count(), 0);
}

#[test]
fn runs_at_the_same_time_never_share_a_namespace() {
    let slots = Slots::new();
    let spec = spec(&slots.path, "readlink /proc/self/ns/net");
    let Some(plan) = root_plan(&spec) else {
        return;
    };
    let launcher = Launcher::new(&plan).unwrap();
    // One run holds its slot (stopped before exec) while another runs.
    let held = launcher
        .spawn_held(StdioSetup { stdin: Stdin::Null })
        .unwrap();
    let held_inode = inode_of(
        &fs_err::read_link(format!("/proc/{}/ns/net", held.pid))
            .unwrap()
            .to_string_lossy(),
    );
    let other = launcher
        .spawn(StdioSetup { stdin: Stdin::Null })
        .unwrap()
        .wait_with_output()
        .unwrap();
    let other_inode = inode_of(&succeeded(&other));
    assert_ne!(held_inode, other_inode);
    let first = held.release().unwrap().wait_with_output().unwrap();
    assert_eq!(inode_of(&succeeded(&first)), held_inode);
    let kept = kept(&slots.path);
    assert!(
        kept.contains(&held_inode) && kept.contains(&other_inode),
        "{kept:?}"
    );
    remove_slot_namespaces(&slots.path).unwrap();
}

fn ip(args: &[&str]) {
    let status = Command::new("ip").args(args).status().unwrap();
    assert!(status.success(), "ip {args:?}");
}

#[test]
fn a_slot_namespace_found_changed_is_made_afresh() {
    let mut slots = Slots::new();
    let spec = spec(&slots.path, "readlink /proc/self/ns/net; ip -o link");
    let Some(plan) = root_plan(&spec) else {
        return;
    };
    // A namespace with `lo` up, mounted as every slot a run here could take.
    let name = format!("aegis-test-{}-changed", std::process::id());
    ip(&["netns", "add", &name]);
    slots.named = Some(name.clone());
    let changed = Path::new("/run/netns").join(&name);
    loopback_up(&changed).unwrap();
    let changed_inode = fs_err::metadata(&changed).unwrap().ino();
    fs_err::create_dir(&slots.path).unwrap();
    for slot in 0..64 {
        let target = slots.path.join(format!("slot-{slot}"));
        fs_err::write(&target, "").unwrap();
        let status = Command::new("mount")
            .arg("--bind")
            .arg(&changed)
            .arg(&target)
            .status()
            .unwrap();
        assert!(status.success());
    }
    let output = run(&plan, StdioSetup { stdin: Stdin::Null }).unwrap();
    let stdout = succeeded(&output);
    assert_eq!(output.outcome.enforcement.net_namespace, "slot");
    let mut lines = stdout.lines();
    let inode = inode_of(lines.next().unwrap());
    assert_ne!(inode, changed_inode, "the changed namespace was used");
    assert!(kept(&slots.path).contains(&inode));
    // Only `lo`, and down: its flags are LOOPBACK alone.
    let links: Vec<&str> = lines.collect();
    assert_eq!(links.len(), 1, "{stdout}");
    assert!(links[0].starts_with("1: lo: <LOOPBACK> "), "{stdout}");
    assert!(remove_slot_namespaces(&slots.path).unwrap() >= 64);
}
