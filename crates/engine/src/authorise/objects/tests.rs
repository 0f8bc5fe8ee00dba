use super::*;

fn mount(device: &str, root: &str, point: &str) -> Mount {
    Mount {
        device: device.into(),
        root: root.into(),
        point: point.into(),
    }
}

fn found(path: &str, mounts: &[Mount]) -> Vec<(String, String)> {
    let mut findings = Vec::new();
    mounted_from(Path::new(path), mounts, &mut findings);
    findings
        .into_iter()
        .map(|finding| (finding.path.display().to_string(), finding.why))
        .collect()
}

#[test]
fn the_mount_table_parses_with_its_escapes() {
    let text = "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n\
                45 27 254:0 /root/.ssh /srv/my\\040keys rw - ext4 /dev/vda rw\n\
                garbage\n";
    assert_eq!(
        parse_mountinfo(text),
        vec![
            mount("254:0", "/", "/"),
            mount("254:0", "/root/.ssh", "/srv/my keys"),
        ]
    );
    assert_eq!(unescape("a\\134b\\011c\\9"), "a\\b\tc\\9");
}

#[test]
fn a_bind_mount_is_found_at_its_source_and_from_the_directory_holding_it() {
    let mounts = [
        mount("254:0", "/", "/"),
        mount("0:30", "/", "/proc"),
        mount("254:0", "/root/.ssh", "/srv/x"),
        mount("254:0", "/etc/ssl/private", "/srv/x/inner"),
    ];
    assert_eq!(
        found("/srv/x/keys", &mounts),
        vec![(
            "/root/.ssh/keys".to_string(),
            "`/srv/x/keys` is mounted from `/root/.ssh/keys`".to_string()
        )]
    );
    assert_eq!(
        found("/srv", &mounts),
        vec![
            (
                "/root/.ssh".to_string(),
                "holds `/srv/x`, mounted from `/root/.ssh`".to_string()
            ),
            (
                "/etc/ssl/private".to_string(),
                "holds `/srv/x/inner`, mounted from `/etc/ssl/private`".to_string()
            ),
        ]
    );
    // A path on a filesystem mounted once is only itself.
    assert_eq!(found("/proc/1", &mounts), Vec::new());
    assert_eq!(found("/home/bob", &mounts), Vec::new());
}

#[test]
fn a_mount_of_a_whole_filesystem_holds_what_its_parts_are_mounted_as() {
    // btrfs-like: subvolumes mounted at `/` and `/home`, the top level at `/pool`.
    let mounts = [
        mount("0:31", "/@", "/"),
        mount("0:31", "/@home", "/home"),
        mount("0:31", "/", "/pool"),
    ];
    assert_eq!(
        found("/pool", &mounts),
        vec![
            (
                "/".to_string(),
                "`/pool` holds what is mounted at `/`".to_string()
            ),
            (
                "/home".to_string(),
                "`/pool` holds what is mounted at `/home`".to_string()
            ),
        ]
    );
    assert_eq!(
        found("/pool/@home/bob/.ssh", &mounts),
        vec![(
            "/home/bob/.ssh".to_string(),
            "`/pool/@home/bob/.ssh` is mounted from `/home/bob/.ssh`".to_string()
        )]
    );
    assert_eq!(
        found("/home/bob", &mounts),
        vec![(
            "/pool/@home/bob".to_string(),
            "`/home/bob` is mounted from `/pool/@home/bob`".to_string()
        )]
    );
}
