use super::mount::unescape;
use super::*;

fn mount(device: &str, root: &str, point: &str) -> Mount {
    typed(device, root, point, "ext4", "rw")
}

fn typed(device: &str, root: &str, point: &str, fstype: &str, options: &str) -> Mount {
    Mount {
        device: device.into(),
        root: root.into(),
        point: point.into(),
        fstype: fstype.into(),
        options: options.into(),
    }
}

/// Paths found, each with why.
type Found = Vec<(String, String)>;

/// What `path` is shown through: the layer paths with why, and the direct reasons.
fn shown(path: &str, mounts: &[Mount]) -> (Found, Vec<(Risk, String)>) {
    let (mut layers, mut direct) = (Vec::new(), Vec::new());
    shown_through(Path::new(path), mounts, &mut layers, &mut direct);
    let layers = layers
        .into_iter()
        .map(|finding| (finding.path.display().to_string(), finding.why))
        .collect();
    (layers, direct)
}

#[test]
fn an_overlay_of_aegisclaw_keys_is_rated_as_its_layers() {
    // As the kernel shows `lowerdir=/h/keys:/etc/a\,b:/etc/c\:d:/e f` (octal, then `\`).
    let text = "27 1 254:0 / / rw - ext4 /dev/vda rw\n\
                80 27 0:40 / /srv/m rw,relatime - overlay overlay rw,lowerdir=/h/keys:/etc/a\\134\\054b:/etc/c\\134:d:/e\\040f,upperdir=/u/.ssh,workdir=/u/w,uuid=on\n\
                81 27 0:41 / /srv/n rw - overlay overlay ro,lowerdir+=/l1,datadir+=/d1\n";
    let mounts = parse_mountinfo(text);
    let at = |path: &str| {
        shown(path, &mounts)
            .0
            .into_iter()
            .map(|(path, _)| path)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        at("/srv/m/audit.key"),
        [
            "/h/keys/audit.key",
            "/etc/a,b/audit.key",
            "/etc/c:d/audit.key",
            "/e f/audit.key",
            "/u/.ssh/audit.key",
            "/u/w/audit.key",
        ]
    );
    assert_eq!(at("/srv/n"), ["/l1", "/d1"]);
    // A directory holding an overlay holds each layer whole.
    let (layers, direct) = shown("/srv", &mounts);
    assert_eq!(layers.len(), 8);
    assert_eq!(
        layers[0],
        (
            "/h/keys".to_string(),
            "holds an overlay mounted at `/srv/m` whose lower layer is `/h/keys`".to_string()
        )
    );
    // Each overlay held is at least high: its layers are known only by their paths' text.
    assert!(
        !direct.is_empty()
            && direct.iter().all(|(risk, why)| *risk == Risk::High
                && why.contains("known here only by the text of their paths")),
        "{direct:?}"
    );
    assert_eq!(
        shown("/srv/m", &mounts).0[4].1,
        "`/srv/m` is on an overlay mounted at `/srv/m` whose upper layer is `/u/.ssh`, so it is `/u/.ssh`"
    );
}

#[test]
fn fuse_and_kernel_filesystems_are_rated_by_type_and_the_root_filesystem_is_itself() {
    let mounts = [
        typed(
            "0:30",
            "/",
            "/",
            "overlay",
            "rw,lowerdir=/var/lib/docker/l/x",
        ),
        typed("0:50", "/", "/srv/fuse", "fuse.bindfs", "rw,user_id=0"),
        // `blkdev` FUSE (ntfs-3g, exfat-fuse): its daemon shows what it likes all the same.
        typed("7:5", "/", "/mnt/disk", "fuseblk", "rw"),
        // A build chroot's procfs and binfmt_misc: new superblocks, known only by type.
        typed("0:60", "/", "/srv/chroot/proc", "proc", "rw"),
        typed("0:61", "/", "/srv/chroot/binfmt", "binfmt_misc", "rw"),
        typed("0:62", "/", "/srv/chroot/tmp", "tmpfs", "rw"),
    ];
    assert_eq!(shown("/tmp/x", &mounts), (Vec::new(), Vec::new()));
    assert_eq!(
        shown("/srv/chroot/tmp/x", &mounts),
        (Vec::new(), Vec::new())
    );
    let fuse = "a FUSE filesystem can show any tree, and which one cannot be known from here";
    for (path, start) in [
        ("/srv/fuse/x", "`/srv/fuse/x` is on"),
        ("/srv/fuse", "`/srv/fuse` is on"),
    ] {
        let (layers, direct) = shown(path, &mounts);
        assert!(layers.is_empty());
        assert_eq!(
            direct,
            [(
                Risk::High,
                format!("{start} a `fuse.bindfs` filesystem mounted at `/srv/fuse`: {fuse}")
            )]
        );
    }
    let (_, direct) = shown("/mnt/disk/Users", &mounts);
    assert_eq!(direct.len(), 1);
    assert_eq!(direct[0].0, Risk::High);
    assert!(
        direct[0]
            .1
            .starts_with("`/mnt/disk/Users` is on a `fuseblk` filesystem")
    );
    for path in [
        "/srv/chroot/proc/sys/kernel/core_pattern",
        "/srv/chroot/proc",
    ] {
        let (_, direct) = shown(path, &mounts);
        assert_eq!(direct.len(), 1, "{direct:?}");
        assert_eq!(direct[0].0, Risk::Critical);
        assert!(
            direct[0].1.starts_with(&format!(
                "`{path}` is on a `proc` filesystem mounted at `/srv/chroot/proc`: "
            )),
            "{direct:?}"
        );
    }
    // A directory holding them is rated as the worst of what it holds.
    let (_, direct) = shown("/srv", &mounts);
    let held: Vec<(Risk, &str)> = direct
        .iter()
        .map(|(risk, why)| (*risk, why.split(':').next().unwrap_or_default()))
        .collect();
    assert_eq!(
        held,
        [
            (
                Risk::High,
                "holds a `fuse.bindfs` filesystem mounted at `/srv/fuse`"
            ),
            (
                Risk::Critical,
                "holds a `proc` filesystem mounted at `/srv/chroot/proc`"
            ),
            (
                Risk::Critical,
                "holds a `binfmt_misc` filesystem mounted at `/srv/chroot/binfmt`"
            ),
        ]
    );
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
