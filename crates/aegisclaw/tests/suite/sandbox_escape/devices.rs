//! Escapes through what the sandbox binds of the host besides scopes: the device nodes under
//! `/dev`, which a root run (uid 0 inside is the host's uid 0) owns on the host.

use super::*;
use std::os::unix::fs::MetadataExt as _;

/// The device nodes every run sees, bound from the host.
const DEVICES: [&str; 5] = ["null", "zero", "full", "random", "urandom"];

/// What a change to a node would show on the host: mode, owner, times (ctime moves with any
/// `chmod`, `chown` or `utimensat` that succeeds, even one that sets the same values) and its
/// extended attributes.
fn node_state(path: &str) -> (u32, u32, u32, i64, i64, i64, i64, String) {
    let meta = std::fs::metadata(path).unwrap();
    let xattrs = std::process::Command::new("python3")
        .args([
            "-c",
            "import os,sys; print(sorted(os.listxattr(sys.argv[1])))",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(xattrs.status.success(), "{xattrs:?}");
    (
        meta.mode(),
        meta.uid(),
        meta.gid(),
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime(),
        meta.ctime_nsec(),
        String::from_utf8_lossy(&xattrs.stdout).into_owned(),
    )
}

#[test]
fn a_root_run_cannot_change_the_hosts_device_nodes() {
    if !running_as_root() {
        eprintln!("skipped: the host's device nodes are root's; only a root run owns them");
        return;
    }
    let escape = Escape::new();
    let before: Vec<_> = DEVICES
        .iter()
        .map(|name| node_state(&format!("/dev/{name}")))
        .collect();
    // Each change uses the node's own values (its mode, root's ownership), so even if one
    // landed, the host's node would still work; the ctime says whether it landed.
    let mut script = String::new();
    for name in DEVICES {
        let path = format!("/dev/{name}");
        for (attack, command) in [
            ("chmod", format!("chmod 0666 {path}")),
            ("chown", format!("chown 0:0 {path}")),
            ("touch", format!("touch -d 2001-02-03T04:05:06 {path}")),
            (
                "setxattr",
                python(&format!(
                    "import os\nos.setxattr(\"{path}\", \"user.aegisclaw\", b\"pwned\")"
                )),
            ),
        ] {
            script.push_str(&format!(
                "if {command} 2>/dev/null; then echo \"{name} {attack} changed\"; else echo \"{name} {attack} refused\"; fi\n"
            ));
        }
    }
    // The nodes still do their job.
    script.push_str("echo discarded > /dev/null && echo null-writes\n");
    script.push_str("head -c 16 /dev/urandom | wc -c\n");
    let outcome = escape.run(&[], &script);
    let after: Vec<_> = DEVICES
        .iter()
        .map(|name| node_state(&format!("/dev/{name}")))
        .collect();
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    let lines: Vec<String> = outcome.stdout().lines().map(str::to_string).collect();
    let changed: Vec<&String> = lines
        .iter()
        .filter(|line| line.ends_with("changed"))
        .collect();
    assert!(changed.is_empty(), "changed the host's nodes: {changed:?}");
    assert_eq!(
        lines
            .iter()
            .filter(|line| line.ends_with("refused"))
            .count(),
        DEVICES.len() * 4,
        "{}",
        outcome.stdout()
    );
    assert_eq!(
        &lines[lines.len() - 2..],
        ["null-writes".to_string(), "16".to_string()]
    );
    assert_eq!(before, after, "a host device node changed");
    // Contained, every layer in force, on the record.
    outcome.finished();
    assert_eq!(outcome.record("run.finished")["data"]["exit_code"], 0);
}
