//! Escapes through a scope path that names a sensitive object by another name: the directory
//! holding the running `aegisclaw` (replace the program the user runs next), a bind mount of a
//! home's `.ssh` elsewhere, and hard links to key files. Each is rated as the object it is.

use super::*;
use std::path::Path;

fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap()
}

/// The binary these tests run (the target directory's), resolved as `/proc/self/exe` is.
fn program() -> PathBuf {
    canonical(Path::new(env!("CARGO_BIN_EXE_aegisclaw")))
}

/// The object reasons of the decision on `scope` (why it is the sensitive object it is).
fn object_reasons(outcome: &Outcome, scope: &str) -> String {
    decision_on(outcome, scope)["data"]["object_reasons"].to_string()
}

#[test]
fn a_write_scope_on_the_running_binarys_directory_cannot_replace_the_binary() {
    let escape = Escape::new();
    let program = program();
    let directory = program.parent().unwrap();
    let before = std::fs::metadata(&program).unwrap().len();
    // The directory, the binary itself, and an ancestor whose write covers it.
    for target in [directory, program.as_path(), directory.parent().unwrap()] {
        let scope = format!("files.write:{}", target.display());
        let outcome = escape.run(
            &[&scope],
            &format!("test -w {} && echo WRITABLE", program.display()),
        );
        assert!(
            !outcome.stdout().contains("WRITABLE"),
            "{}",
            outcome.stdout()
        );
        assert_refused_as_critical(&outcome, &scope);
    }
    assert_eq!(std::fs::metadata(&program).unwrap().len(), before);
    // Reading it gives nothing: that stays what it was.
    let scope = format!("files.read:{}", directory.display());
    let outcome = escape.run(&[&scope], "true");
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    assert_eq!(outcome.record("policy.decision")["data"]["risk"], "low");
}

/// A home `.ssh` with a key in the test's user directory (`HOME`).
fn ssh_key(escape: &Escape) -> PathBuf {
    let ssh = canonical(&escape.env.dir.path().join("user")).join(".ssh");
    std::fs::create_dir_all(ssh.join("keys")).unwrap();
    std::fs::write(ssh.join("id_ed25519"), "PRIVATE KEY MATERIAL").unwrap();
    std::fs::write(ssh.join("keys/deploy"), "PRIVATE KEY MATERIAL").unwrap();
    ssh
}

/// Whether this machine lets the tests make a private mount namespace and bind mount in it.
#[expect(clippy::print_stderr, reason = "a skipped test says why")]
fn can_bind_mount() -> bool {
    let dir = tempfile::tempdir().unwrap();
    let probe = std::process::Command::new("unshare")
        .args(["-m", "--propagation", "private", "--", "mount", "--bind"])
        .args([dir.path(), dir.path()])
        .output();
    match probe {
        Ok(output) if output.status.success() => true,
        Ok(output) => {
            eprintln!(
                "SKIPPED: no private mount namespace with a bind mount here (`unshare -m` as root): {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
            false
        }
        Err(error) => {
            eprintln!("SKIPPED: cannot run `unshare`: {error}");
            false
        }
    }
}

impl Escape {
    /// `aegisclaw sandbox run --scope ... -- sh -c SCRIPT` in a private mount namespace where
    /// `source` is bind-mounted on `target` (both gone when it ends).
    fn run_with_bind(
        &self,
        source: &Path,
        target: &Path,
        scopes: &[&str],
        script: &str,
    ) -> Outcome {
        let mount = format!("mount --bind '{}' '{}'", source.display(), target.display());
        self.run_with_mount(&mount, scopes, script)
    }

    /// The same where `target` is an overlay of `options` (`lowerdir=...,upperdir=...`).
    fn run_with_overlay(
        &self,
        options: &str,
        target: &Path,
        scopes: &[&str],
        script: &str,
    ) -> Outcome {
        let mount = format!(
            "mount -t overlay overlay -o '{options}' '{}'",
            target.display()
        );
        self.run_with_mount(&mount, scopes, script)
    }

    /// The same after the shell command `mount` (its paths quoted) in the namespace.
    fn run_with_mount(&self, mount: &str, scopes: &[&str], script: &str) -> Outcome {
        let mut command = std::process::Command::new("unshare");
        command.args(["-m", "--propagation", "private", "--", "sh", "-c"]);
        command.arg(format!(r#"{mount} || exit 97; exec "$@""#));
        command.arg("sh");
        command
            .arg(env!("CARGO_BIN_EXE_aegisclaw"))
            .args(["sandbox", "run"]);
        for scope in with_exec(scopes) {
            command.args(["--scope", scope]);
        }
        command.args(["--", "sh", "-c", script]);
        let before = self.audit_lines();
        let output = self
            .env
            .with_env(command)
            .current_dir(&self.work)
            .output()
            .unwrap();
        assert_ne!(
            output.status.code(),
            Some(97),
            "the mount failed: {output:?}"
        );
        Outcome {
            output,
            records: self.records_since(before),
        }
    }
}

#[test]
fn a_bind_mount_of_a_home_ssh_dir_is_rated_as_the_ssh_dir() {
    if !can_bind_mount() {
        return;
    }
    let escape = Escape::new();
    let ssh = ssh_key(&escape);
    let work = canonical(&escape.work);
    let mounted = work.join("notes");
    std::fs::create_dir(&mounted).unwrap();
    // The mount itself, a path inside it, and a directory holding it.
    for (target, reason) in [
        (
            mounted.clone(),
            format!("`{}` is `{}`", mounted.display(), ssh.display()),
        ),
        (
            mounted.join("id_ed25519"),
            format!("`{}` is `{}`", mounted.display(), ssh.display()),
        ),
        (
            work.clone(),
            format!(
                "holds `{}`, which is `{}`",
                mounted.display(),
                ssh.display()
            ),
        ),
    ] {
        let scope = format!("files.read:{}", target.display());
        let outcome = escape.run_with_bind(
            &ssh,
            &mounted,
            &[&scope],
            &format!("cat {}/id_ed25519", mounted.display()),
        );
        assert!(
            !outcome.stdout().contains("PRIVATE KEY"),
            "{}",
            outcome.stdout()
        );
        assert_refused_as_critical(&outcome, &scope);
        let reasons = object_reasons(&outcome, &scope);
        assert!(reasons.contains(&reason), "{reason} not in {reasons}");
    }
}

#[test]
fn a_bind_mount_of_a_directory_inside_a_home_ssh_dir_is_rated_as_that_directory() {
    if !can_bind_mount() {
        return;
    }
    let escape = Escape::new();
    let ssh = ssh_key(&escape);
    let mounted = canonical(&escape.work).join("deploy");
    std::fs::create_dir(&mounted).unwrap();
    let scope = format!("files.read:{}", mounted.display());
    let outcome = escape.run_with_bind(
        &ssh.join("keys"),
        &mounted,
        &[&scope],
        &format!("cat {}/deploy", mounted.display()),
    );
    assert!(
        !outcome.stdout().contains("PRIVATE KEY"),
        "{}",
        outcome.stdout()
    );
    assert_refused_as_critical(&outcome, &scope);
    let reasons = object_reasons(&outcome, &scope);
    let mounted_from = format!("is mounted from `{}`", ssh.join("keys").display());
    assert!(reasons.contains(&mounted_from), "{reasons}");
}

#[test]
fn a_hard_link_to_a_key_in_a_home_ssh_dir_is_rated_critical() {
    let escape = Escape::new();
    let ssh = ssh_key(&escape);
    let link = canonical(&escape.work).join("notes.txt");
    std::fs::hard_link(ssh.join("id_ed25519"), &link).unwrap();
    let scope = format!("files.read:{}", link.display());
    let outcome = escape.run(&[&scope], &format!("cat {}", link.display()));
    assert!(
        !outcome.stdout().contains("PRIVATE KEY"),
        "{}",
        outcome.stdout()
    );
    assert_refused_as_critical(&outcome, &scope);
    let reasons = object_reasons(&outcome, &scope);
    assert!(reasons.contains("has 2 names"), "{reasons}");
}

#[test]
fn a_hard_link_to_a_home_netrc_is_rated_as_the_netrc() {
    let escape = Escape::new();
    let netrc = canonical(&escape.env.dir.path().join("user")).join(".netrc");
    std::fs::write(&netrc, "machine example.com login bob password hunter2").unwrap();
    let link = canonical(&escape.work).join("hosts.txt");
    std::fs::hard_link(&netrc, &link).unwrap();
    let scope = format!("files.read:{}", link.display());
    let outcome = escape.run(&[&scope], &format!("cat {}", link.display()));
    assert!(
        !outcome.stdout().contains("hunter2"),
        "{}",
        outcome.stdout()
    );
    assert_refused_as_critical(&outcome, &scope);
    let reasons = object_reasons(&outcome, &scope);
    let same = format!("`{}` is `{}`", link.display(), netrc.display());
    assert!(reasons.contains(&same), "{reasons}");
}

/// `/proc/self/mountinfo` shows an overlay as `overlay` with its layers in its options; its
/// files have the overlay's own device and inode numbers, so only the options say what it is.
#[test]
fn an_overlay_whose_lower_layer_is_an_aegisclaw_homes_keys_is_refused_as_critical() {
    if !can_bind_mount() {
        return;
    }
    let escape = Escape::new();
    let keys = canonical(&escape.env.home().join("keys"));
    let work = canonical(&escape.work);
    let (empty, mounted) = (work.join("empty"), work.join("certs"));
    std::fs::create_dir(&empty).unwrap();
    std::fs::create_dir(&mounted).unwrap();
    let options = format!("lowerdir={}:{}", keys.display(), empty.display());
    for target in [mounted.clone(), mounted.join("audit.key"), work.clone()] {
        let scope = format!("files.read:{}", target.display());
        let outcome = escape.run_with_overlay(
            &options,
            &mounted,
            &[&scope],
            &format!(
                "cat {}/audit.key {}/signing.key",
                mounted.display(),
                mounted.display()
            ),
        );
        assert!(
            !outcome.stdout().contains("ed25519-secret"),
            "{}",
            outcome.stdout()
        );
        assert_refused_as_critical(&outcome, &scope);
        let reasons = object_reasons(&outcome, &scope);
        let layer = format!("whose lower layer is `{}`", keys.display());
        assert!(reasons.contains(&layer), "{layer} not in {reasons}");
    }
}

#[test]
fn an_overlay_whose_upper_layer_is_a_home_ssh_dir_is_refused_as_critical_to_write() {
    if !can_bind_mount() {
        return;
    }
    let escape = Escape::new();
    let ssh = ssh_key(&escape);
    let work = canonical(&escape.work);
    let (lower, scratch, mounted) = (work.join("lower"), work.join("scratch"), work.join("out"));
    for directory in [&lower, &scratch, &mounted] {
        std::fs::create_dir(directory).unwrap();
    }
    let options = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.display(),
        ssh.display(),
        scratch.display()
    );
    let scope = format!("files.write:{}", mounted.display());
    let outcome = escape.run_with_overlay(
        &options,
        &mounted,
        &[&scope],
        &format!(
            "echo 'ssh-ed25519 AAAAattacker' > {}/authorized_keys",
            mounted.display()
        ),
    );
    assert_refused_as_critical(&outcome, &scope);
    assert!(!ssh.join("authorized_keys").exists());
    let reasons = object_reasons(&outcome, &scope);
    let layer = format!("whose upper layer is `{}`", ssh.display());
    assert!(reasons.contains(&layer), "{layer} not in {reasons}");
}

/// Only the current AegisClaw home is a table path; another (a server's, another profile's)
/// is known by what `aegisclaw init` puts in it.
#[test]
fn a_second_aegisclaw_home_at_a_custom_path_is_rated_critical() {
    let escape = Escape::new();
    let user = canonical(&escape.work).join("srv/alice");
    let home = user.join("aegis-home");
    std::fs::create_dir_all(home.join("keys")).unwrap();
    std::fs::write(home.join("keys/audit.key"), "ed25519-secret:KEY").unwrap();
    std::fs::write(home.join("config.yaml"), "version: 1").unwrap();
    for (target, reason) in [
        (
            home.join("keys"),
            format!("`{}` holds `", home.join("keys").display()),
        ),
        (
            home.join("config.yaml"),
            format!("`{}` is an AegisClaw home", home.display()),
        ),
        (user.clone(), format!("`{}` holds `", user.display())),
    ] {
        let scope = format!("files.read:{}", target.display());
        let outcome = escape.run(&[&scope], &format!("cat {}/keys/audit.key", home.display()));
        assert!(!outcome.stdout().contains("KEY"), "{}", outcome.stdout());
        assert_refused_as_critical(&outcome, &scope);
        let reasons = object_reasons(&outcome, &scope);
        assert!(reasons.contains(&reason), "{reason} not in {reasons}");
    }
}

#[test]
fn a_path_through_another_processs_root_is_rated_as_written() {
    if !can_bind_mount() {
        return;
    }
    let escape = Escape::new();
    // A process in a mount namespace of its own, where a home's `.ssh` is bound on a plain
    // directory: through `/proc/<pid>/root` the path names that mount, which the kernel
    // reports by the plain directory's name.
    let ssh = canonical(&escape.work).join("srv/alice/.ssh");
    std::fs::create_dir_all(&ssh).unwrap();
    std::fs::write(ssh.join("id_ed25519"), "PRIVATE-KEY-4711").unwrap();
    let plain = canonical(&escape.work).join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    let mut holder = std::process::Command::new("unshare")
        .args(["-m", "--propagation", "private", "--", "sh", "-c"])
        .arg(format!(
            "mount --bind '{}' '{}' && echo ready && exec sleep 60",
            ssh.display(),
            plain.display()
        ))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(holder.stdout.take().unwrap()),
        &mut ready,
    )
    .unwrap();
    assert_eq!(ready, "ready\n");
    let written = format!("files.read:/proc/{}/root{}", holder.id(), plain.display());
    let outcome = escape.run(&[&written], &format!("cat {}/id_ed25519", plain.display()));
    let _ = holder.kill();
    let _ = holder.wait();
    assert!(
        !outcome.stdout().contains("PRIVATE-KEY-4711"),
        "{}",
        outcome.stdout()
    );
    let decided = format!("files.read:{}", plain.display());
    assert_refused_as_critical(&outcome, &decided);
    let reasons = object_reasons(&outcome, &decided);
    assert!(
        reasons.contains(&format!("as written, `/proc/{}/root", holder.id())),
        "{reasons}"
    );
}

#[test]
fn an_overlay_layer_given_through_a_symlink_into_the_aegisclaw_home_is_rated_as_its_target() {
    if !can_bind_mount() {
        return;
    }
    let escape = Escape::new();
    let keys = canonical(&escape.env.home().join("keys"));
    let work = canonical(&escape.work);
    let (link, empty, mounted) = (work.join("layer"), work.join("empty"), work.join("certs"));
    std::os::unix::fs::symlink(&keys, &link).unwrap();
    std::fs::create_dir(&empty).unwrap();
    std::fs::create_dir(&mounted).unwrap();
    let options = format!("lowerdir={}:{}", link.display(), empty.display());
    let scope = format!("files.read:{}", mounted.display());
    let outcome = escape.run_with_overlay(
        &options,
        &mounted,
        &[&scope],
        &format!("cat {}/signing.key", mounted.display()),
    );
    assert!(
        !outcome.stdout().contains("ed25519-secret"),
        "{}",
        outcome.stdout()
    );
    assert_refused_as_critical(&outcome, &scope);
    let reasons = object_reasons(&outcome, &scope);
    let resolved = format!("resolves to `{}`", keys.display());
    assert!(reasons.contains(&resolved), "{resolved} not in {reasons}");
}

#[test]
fn an_overlay_whose_layer_path_went_stale_needs_approval_and_shows_nothing_unasked() {
    if !can_bind_mount() {
        return;
    }
    // The default policy: a high-risk scope needs a human's approval (none here).
    let escape = Escape::with_policy("standard");
    let work = canonical(&escape.work);
    let (bound, empty, mounted) = (work.join("bound"), work.join("empty"), work.join("certs"));
    for dir in [&bound, &empty, &mounted] {
        std::fs::create_dir(dir).unwrap();
    }
    // The layer is a bind of `/etc`, unmounted once the overlay holds it: the mount table
    // names `bound`, an empty directory now, while the overlay still shows `/etc`.
    let mount = format!(
        "mount --bind /etc '{b}' && mount -t overlay overlay -o 'lowerdir={b}:{e}' '{m}' && umount '{b}'",
        b = bound.display(),
        e = empty.display(),
        m = mounted.display()
    );
    let scope = format!("files.read:{}", mounted.display());
    let outcome = escape.run_with_mount(
        &mount,
        &[&scope],
        &format!("cat {}/shadow", mounted.display()),
    );
    assert!(!outcome.stdout().contains("root:"), "{}", outcome.stdout());
    assert_eq!(outcome.code(), Some(1), "{}", outcome.stderr());
    let decision = decision_on(&outcome, &scope);
    assert!(
        ["high", "critical"].contains(&decision["data"]["risk"].as_str().unwrap()),
        "{decision}"
    );
    assert_eq!(decision["decision"], "needs_approval", "{decision}");
    assert_eq!(outcome.record("run.refused")["data"]["stage"], "approval");
    assert!(!outcome.has("run.launch"));
    let reasons = object_reasons(&outcome, &scope);
    assert!(
        reasons.contains("known here only by the text of their paths"),
        "{reasons}"
    );
}

/// A build chroot's procfs (schroot, pbuilder, mock mount one) is a new superblock: neither its
/// path nor its device and inode are `/proc`'s, so only its type says it is the host's process
/// table and kernel controls. Written, `sys/kernel/core_pattern` runs a program as host root
/// at the next crash; read, it shows every host process's command line.
#[test]
fn a_procfs_mounted_under_a_scope_is_refused_as_critical_wherever_it_is() {
    if !can_bind_mount() {
        return;
    }
    let escape = Escape::new();
    let chroot = canonical(&escape.work).join("chroot");
    let procfs = chroot.join("proc");
    std::fs::create_dir_all(&procfs).unwrap();
    let mount = format!("mount -t proc proc '{}'", procfs.display());
    let core_pattern = procfs.join("sys/kernel/core_pattern");
    for (scope, how) in [
        (format!("files.write:{}", chroot.display()), "holds"),
        (format!("files.write:{}", core_pattern.display()), "is on"),
        (format!("files.read:{}", procfs.display()), "is on"),
    ] {
        let script = format!("cat '{}/1/cmdline'; echo RAN", procfs.display());
        let outcome = escape.run_with_mount(&mount, &[&scope], &script);
        assert!(!outcome.stdout().contains("RAN"), "{}", outcome.stdout());
        assert_refused_as_critical(&outcome, &scope);
        let reasons = object_reasons(&outcome, &scope);
        let found = format!("a `proc` filesystem mounted at `{}`", procfs.display());
        assert!(
            reasons.contains(&found) && reasons.contains(how),
            "{found} ({how}) not in {reasons}"
        );
    }
}

/// A tmpfs of its own for the loop tests: while a loop image there has names that cannot all be
/// seen (a hard link), every directory on its filesystem is rated as if it held one, and the
/// other tests' directories must not be on that filesystem. Unmounted when dropped.
struct OwnFs(tempfile::TempDir);

impl OwnFs {
    #[expect(clippy::print_stderr, reason = "a skipped test says why")]
    fn mount() -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=16m", "tmpfs"])
            .arg(dir.path())
            .output();
        match mounted {
            Ok(output) if output.status.success() => Some(Self(dir)),
            _ => {
                eprintln!("SKIPPED: cannot mount a tmpfs here (as root)");
                None
            }
        }
    }

    fn path(&self) -> PathBuf {
        canonical(self.0.path())
    }
}

impl Drop for OwnFs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.0.path())
            .status();
    }
}

/// A loop device attached to a file, detached when dropped.
struct LoopDevice(String);

impl LoopDevice {
    /// Attaches one to `image`, or says why not (not root, no loop devices) and gives none.
    #[expect(clippy::print_stderr, reason = "a skipped test says why")]
    fn attach(image: &Path) -> Option<Self> {
        let output = std::process::Command::new("losetup")
            .args(["--find", "--show"])
            .arg(image)
            .output();
        match output {
            Ok(output) if output.status.success() => Some(Self(
                String::from_utf8_lossy(&output.stdout).trim().to_string(),
            )),
            Ok(output) => {
                eprintln!(
                    "SKIPPED: cannot attach a loop device here (`losetup`, as root): {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                );
                None
            }
            Err(error) => {
                eprintln!("SKIPPED: cannot run `losetup`: {error}");
                None
            }
        }
    }
}

impl Drop for LoopDevice {
    fn drop(&mut self) {
        let _ = std::process::Command::new("losetup")
            .args(["--detach", &self.0])
            .status();
    }
}

#[test]
fn a_write_scope_on_a_loop_images_backing_file_cannot_plant_set_id_files_in_its_filesystem() {
    // Attack pass 5: `files.write` (medium) on the directory of an image the host had
    // mounted through a loop device let a run set a mode of 04755 in the image's bytes, and a
    // local user then ran the file as root from the host's mount. The backing file of an
    // attached loop device is that filesystem's raw blocks: critical to write, high to read.
    let escape = Escape::new();
    let Some(fs) = OwnFs::mount() else {
        return;
    };
    let images = fs.path().join("images");
    std::fs::create_dir_all(&images).unwrap();
    let image = images.join("disk.img");
    std::fs::write(&image, vec![0u8; 1 << 20]).unwrap();
    let Some(device) = LoopDevice::attach(&image) else {
        return;
    };
    let backs = format!("the backing file of `{}`", device.0);
    for scope in [
        format!("files.write:{}", images.display()),
        format!("files.write:{}", image.display()),
    ] {
        let outcome = escape.run(&[&scope], "echo RAN");
        assert!(!outcome.stdout().contains("RAN"), "{}", outcome.stdout());
        assert_refused_as_critical(&outcome, &scope);
        let reasons = object_reasons(&outcome, &scope);
        assert!(reasons.contains(&backs), "{backs} not in {reasons}");
    }
    let scope = format!("files.read:{}", image.display());
    let outcome = escape.run(&[&scope], "true");
    let decision = decision_on(&outcome, &scope);
    assert_eq!(decision["data"]["risk"], "high", "{decision}");
    assert!(object_reasons(&outcome, &scope).contains("reads every file of that filesystem"));
    // Attack pass 6: by another name. A directory holding a hard link to it, and, once the
    // first name is deleted, the link itself: the kernel names the file by its inode.
    let other = fs.path().join("other");
    std::fs::create_dir_all(&other).unwrap();
    let alias = other.join("alias.img");
    std::fs::hard_link(&image, &alias).unwrap();
    let holder = format!("files.write:{}", other.display());
    let outcome = escape.run(&[&holder], "echo RAN");
    assert_refused_as_critical(&outcome, &holder);
    let reasons = object_reasons(&outcome, &holder);
    assert!(
        reasons.contains(&format!("holds `{}`, a name of", alias.display())),
        "{reasons}"
    );
    std::fs::remove_file(&image).unwrap();
    let link = format!("files.write:{}", alias.display());
    let outcome = escape.run(&[&link], "echo RAN");
    assert_refused_as_critical(&outcome, &link);
    let reasons = object_reasons(&outcome, &link);
    assert!(
        reasons.contains(&format!(
            "`{}` is the backing file of `{}`",
            alias.display(),
            device.0
        )),
        "{reasons}"
    );
}

/// Swap on for a file, off when dropped.
struct SwapFile(PathBuf);

impl SwapFile {
    #[expect(clippy::print_stderr, reason = "a skipped test says why")]
    fn on(path: &Path) -> Option<Self> {
        std::fs::write(path, vec![0u8; 4 << 20]).unwrap();
        std::fs::set_permissions(path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
        let made = std::process::Command::new("mkswap").arg(path).output();
        let on = made
            .ok()
            .filter(|made| made.status.success())
            .and_then(|_| std::process::Command::new("swapon").arg(path).output().ok());
        match on {
            Some(output) if output.status.success() => Some(Self(path.to_path_buf())),
            Some(output) => {
                eprintln!(
                    "SKIPPED: cannot turn swap on for a file here (`swapon`, as root): {}",
                    String::from_utf8_lossy(&output.stderr).trim()
                );
                None
            }
            None => {
                eprintln!("SKIPPED: no `mkswap`/`swapon` here");
                None
            }
        }
    }
}

impl Drop for SwapFile {
    fn drop(&mut self) {
        let _ = std::process::Command::new("swapoff").arg(&self.0).status();
    }
}

#[test]
fn a_read_scope_on_an_active_swap_file_is_refused_as_critical() {
    // Attack pass 6: a swap file at an unlisted path rated low to read, and the run read
    // another process's swapped-out memory.
    let escape = Escape::new();
    let dir = canonical(&escape.work).join("swap");
    std::fs::create_dir_all(&dir).unwrap();
    let Some(swap) = SwapFile::on(&dir.join("swapfile")) else {
        return;
    };
    for scope in [
        format!("files.read:{}", swap.0.display()),
        format!("files.read:{}", dir.display()),
    ] {
        let outcome = escape.run(&[&scope], "echo RAN");
        assert!(!outcome.stdout().contains("RAN"), "{}", outcome.stdout());
        assert_refused_as_critical(&outcome, &scope);
        assert!(object_reasons(&outcome, &scope).contains("an active swap file"));
    }
}

#[test]
fn a_loop_image_attached_under_another_mount_namespaces_path_is_still_its_backing_file() {
    // Attack pass 7: attached in another mount namespace (or through a mount since lazily
    // unmounted), the kernel reports the image by a path that names nothing here, so the
    // directory holding it rated medium to write and a set-uid root program was planted.
    // The kernel's inode says which filesystem holds it; a directory there may hold it.
    if !can_bind_mount() {
        return;
    }
    let escape = Escape::new();
    let Some(fs) = OwnFs::mount() else {
        return;
    };
    let images = fs.path().join("images");
    let elsewhere = fs.path().join("elsewhere");
    std::fs::create_dir_all(&images).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::write(images.join("vm.img"), vec![0u8; 1 << 20]).unwrap();
    let attach = format!(
        "mount --bind '{}' '{}' && losetup --find --show '{}/vm.img'",
        images.display(),
        elsewhere.display(),
        elsewhere.display()
    );
    let output = std::process::Command::new("unshare")
        .args(["-m", "--propagation", "private", "--", "sh", "-c", &attach])
        .output()
        .unwrap();
    if !output.status.success() {
        eprintln!(
            "SKIPPED: cannot attach a loop device in a private mount namespace here: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
        return;
    }
    let device = LoopDevice(String::from_utf8_lossy(&output.stdout).trim().to_string());
    let scope = format!("files.write:{}", images.display());
    let outcome = escape.run(&[&scope], "echo RAN");
    assert!(!outcome.stdout().contains("RAN"), "{}", outcome.stdout());
    assert_refused_as_critical(&outcome, &scope);
    let reasons = object_reasons(&outcome, &scope);
    let held = format!("holds `{}`, a name of", images.join("vm.img").display());
    assert!(
        reasons.contains(&held) && reasons.contains(&device.0),
        "{reasons}"
    );
    // A directory beside it on the same filesystem is searched and holds no name of it.
    let beside = fs.path().join("beside");
    std::fs::create_dir_all(&beside).unwrap();
    let scope = format!("files.write:{}", beside.display());
    let outcome = escape.run(&[&scope], "echo RAN");
    assert_eq!(outcome.code(), Some(0), "{}", outcome.stderr());
    assert!(outcome.stdout().contains("RAN"));
}

#[test]
fn a_loop_image_on_an_overlay_is_its_backing_file_through_the_overlays_upper_layer() {
    // Attack pass 7: attached through an overlay, the image was known only by its overlay
    // name; the same file in the overlay's upper directory rated medium to write.
    let escape = Escape::new();
    let Some(fs) = OwnFs::mount() else {
        return;
    };
    let root = fs.path();
    for dir in ["lower", "upper", "work", "merged"] {
        std::fs::create_dir_all(root.join(dir)).unwrap();
    }
    let options = format!(
        "lowerdir={},upperdir={},workdir={}",
        root.join("lower").display(),
        root.join("upper").display(),
        root.join("work").display()
    );
    let mounted = std::process::Command::new("mount")
        .args(["-t", "overlay", "overlay", "-o", &options])
        .arg(root.join("merged"))
        .status()
        .unwrap();
    assert!(mounted.success(), "no overlay mount as root");
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _overlay = Unmount(root.join("merged"));
    std::fs::write(root.join("merged/disk.img"), vec![0u8; 1 << 20]).unwrap();
    let Some(device) = LoopDevice::attach(&root.join("merged/disk.img")) else {
        return;
    };
    // The upper directory holds the file's own copy (an inode of its own, found by the loop
    // device's size), and the copy itself is it (attack pass 8).
    let copy = root.join("upper/disk.img");
    for (scope, why) in [
        (
            format!("files.write:{}", root.join("upper").display()),
            format!("holds `{}`, a name of", copy.display()),
        ),
        (
            format!("files.write:{}", copy.display()),
            format!("`{}` is", copy.display()),
        ),
    ] {
        let outcome = escape.run(&[&scope], "echo RAN");
        assert!(!outcome.stdout().contains("RAN"), "{}", outcome.stdout());
        assert_refused_as_critical(&outcome, &scope);
        let reasons = object_reasons(&outcome, &scope);
        assert!(
            reasons.contains(&why) && reasons.contains(&device.0),
            "{reasons}"
        );
    }
    drop(device);
}
