//! The sensitive-path table reviewed as a whole: a table of scope → risk for the host's trees
//! (each path the attack pass listed among them), for root's home and an ordinary user's alike,
//! the quickstart skill's own scopes, every entry of `data/sensitive-paths.yaml` rated
//! critical, and rating against resolved paths through the public API.

use aegisclaw_core::scope::{Risk, Scope, ScopeContext, ScopeKind};
use aegisclaw_core::skill::manifest::Manifest;
use pretty_assertions::assert_eq;
use serde::Deserialize;
use std::path::{Path, PathBuf};

const TABLE_YAML: &str = include_str!("../../../data/sensitive-paths.yaml");
const QUICKSTART_MANIFEST: &str =
    include_str!("../../../../../skills/file-organiser/manifest.yaml");

#[derive(Clone, Copy, Debug)]
pub(super) enum Who {
    /// An ordinary user: `HOME=/home/alice`, AegisClaw home `~/.aegisclaw`.
    Alice,
    /// Root: `HOME=/root`, AegisClaw home `/root/.aegisclaw`.
    Root,
}

fn context(who: Who) -> ScopeContext {
    let home = match who {
        Who::Alice => "/home/alice",
        Who::Root => "/root",
    };
    ScopeContext {
        user_home: Some(home.into()),
        aegisclaw_home: Some(format!("{home}/.aegisclaw").into()),
        program: Some(PROGRAM.into()),
        resolve: None,
        homes: Vec::new(),
    }
}

/// The running `aegisclaw` in these contexts: a checkout's build, as a developer runs it.
const PROGRAM: &str = "/data/checkout/target/release/aegisclaw";

pub(super) fn rate(who: Who, text: &str) -> Risk {
    let context = context(who);
    Scope::parse(text, &context)
        .unwrap_or_else(|error| panic!("{text}: {error}"))
        .rating(&context)
        .risk
}

use Risk::{Critical, High, Low, Medium};
use Who::{Alice, Root};

/// Scope → risk, for both users unless a row names one.
const BOTH: &[(&str, Risk)] = &[
    // What the attack pass found rated low for reading...
    ("files.read:/run/dbus", Critical),
    ("files.read:/run/dbus/system_bus_socket", Critical),
    ("files.read:/var/run/dbus", Critical),
    ("files.read:/run/podman", Critical),
    ("files.read:/run/podman/podman.sock", Critical),
    ("files.read:/run/user/1000", Critical),
    ("files.read:/var/run/user/1000", Critical),
    ("files.read:/run/user/0/containers/auth.json", Critical),
    ("files.read:/run/systemd", Critical),
    ("files.read:/run/systemd/private", Critical),
    ("files.read:/var/lib", Critical),
    ("files.read:/var/lib/postgresql/16/main", Critical),
    ("files.read:/var/backups", Critical),
    ("files.read:/var/backups/shadow.bak", Critical),
    ("files.read:/var/lib/kubelet", Critical),
    ("files.read:/var/lib/kubelet/pki", Critical),
    // ...and medium for writing.
    ("files.write:/var/spool/cron", Critical),
    ("files.write:/var/spool/cron/crontabs/root", Critical),
    ("files.write:/var/lib/docker", Critical),
    ("files.write:/var/lib/docker/volumes/data", Critical),
    ("files.write:/tmp/.X11-unix", Critical),
    ("files.write:/srv", Critical),
    ("files.write:/srv/www/index.html", Critical),
    // /run: named services are critical however reached; the rest is critical to write.
    ("files.read:/run", Critical),
    ("files.read:/var/run", Critical),
    ("files.read:/run/containerd", Critical),
    ("files.read:/run/crio/crio.sock", Critical),
    ("files.read:/run/credentials/nginx.service", Critical),
    ("files.read:/run/secrets/kubernetes.io", Critical),
    (
        "files.read:/var/run/secrets/kubernetes.io/serviceaccount",
        Critical,
    ),
    ("files.write:/run/sudo/ts", Critical),
    ("files.read:/run/libvirt", Critical),
    // Reading an unlisted path under /run needs approval: services keep credentials there under
    // names no table lists (attack pass 5); the stores it named are critical.
    ("files.read:/usr/local/etc/npmrc", Critical),
    ("files.read:/usr/etc", Critical),
    ("files.read:/run/myapp", High),
    ("files.read:/var/run/myapp", High),
    ("files.read:/run/keys/db", Critical),
    ("files.read:/run/log/journal", Critical),
    (
        "files.read:/run/cloud-init/instance-data-sensitive.json",
        Critical,
    ),
    (
        "files.read:/run/NetworkManager/system-connections",
        Critical,
    ),
    ("files.read:/run/openvpn", Critical),
    ("files.read:/run/openvpn-server/server.status", Critical),
    ("files.read:/run/cryptsetup", Critical),
    ("files.read:/run/lightdm/root/:0", Critical),
    ("files.read:/run/aegisclaw/runs", Critical),
    ("files.write:/run/myapp", Critical),
    ("files.write:/var/run/myapp", Critical),
    ("files.write:/var/lock", Critical),
    ("files.read:/var/lock", Low),
    ("unix.connect:/run/myapp/app.sock", High),
    ("unix.connect:/run/docker.sock", Critical),
    ("unix.connect:/var/run/docker.sock", Critical),
    ("unix.connect:/run/user/1000/bus", Critical),
    ("unix.connect:/run/systemd/private", Critical),
    ("unix.connect:/run/postgresql/.s.PGSQL.5432", Critical),
    ("unix.connect:/tmp/.X11-unix/X0", Critical),
    ("unix.connect:/tmp/ssh-XXXXabcd/agent.1234", Critical),
    ("unix.connect:/tmp/tmux-1000/default", Critical),
    ("unix.connect:/tmp/app.sock", High),
    // /var: service state, logs, mail, spools, crashes, caches.
    ("files.read:/var", Critical),
    ("files.read:/var/lib/etcd/member", Critical),
    ("files.read:/var/lib/rancher/k3s/server/token", Critical),
    ("files.read:/var/lib/containerd", Critical),
    ("files.read:/var/lib/containers/storage", Critical),
    ("files.read:/var/lib/libvirt/images", Critical),
    ("files.read:/var/lib/cloud/instance/user-data.txt", Critical),
    ("files.write:/var/lib/dpkg/info", Critical),
    ("files.read:/var/spool", Critical),
    ("files.read:/var/spool/mail/bob", Critical),
    ("files.read:/var/mail", Critical),
    ("files.read:/var/log", Critical),
    ("files.read:/var/log/nginx/access.log", Critical),
    ("files.write:/var/log", Critical),
    ("files.read:/var/crash", Critical),
    ("files.read:/var/cache/debconf/passwords.dat", Critical),
    ("files.read:/var/cache/apt", Low),
    ("files.write:/var/cache/apt/archives", Critical),
    ("files.read:/var/snap/lxd/common", Critical),
    ("files.read:/var/www/html/wp-config.php", Critical),
    ("files.write:/var/www/html", Critical),
    ("files.read:/var/tmp", Critical),
    ("files.write:/var/tmp/build", Medium),
    (
        "files.read:/var/tmp/systemd-private-abc-nginx.service-x",
        Critical,
    ),
    // /srv: served content, critical to write, read stays low.
    ("files.read:/srv", Low),
    ("files.read:/srv/data/photos", Low),
    // /tmp: the whole of it and the known sockets and tickets, not a directory in it.
    ("files.read:/tmp", Critical),
    ("files.write:/tmp", Critical),
    ("files.read:/tmp/input", Low),
    ("files.write:/tmp/output", Medium),
    ("files.read:/tmp/.X11-unix", Critical),
    ("files.read:/tmp/.ICE-unix", Critical),
    ("files.read:/tmp/krb5cc_1000", Critical),
    (
        "files.read:/tmp/systemd-private-abc-chronyd.service-x/tmp",
        Critical,
    ),
    ("files.read:/tmpfoo", Low),
    // Kernel, boot, devices, memory.
    ("files.read:/boot", Critical),
    ("files.read:/boot/grub/grub.cfg", Critical),
    ("files.write:/efi/EFI", Critical),
    ("files.read:/proc/1/environ", Critical),
    ("files.read:/sys/fs/cgroup", Critical),
    ("files.read:/dev/shm", Critical),
    ("files.read:/swapfile", Critical),
    ("files.read:/lost+found", Critical),
    ("files.read:/lib/modules", Low),
    ("files.write:/lib/modules", Critical),
    ("files.write:/usr/lib/modules/6.18.0", Critical),
    // Programs: reading is what every run does, writing replaces them.
    ("files.read:/usr/share/doc", Low),
    ("files.write:/usr/local/bin", Critical),
    ("files.write:/usr/lib/systemd/system", Critical),
    ("files.write:/bin", Critical),
    ("files.write:/sbin", Critical),
    ("files.write:/lib64", Critical),
    ("files.read:/opt/app", Low),
    ("files.write:/opt/app", Critical),
    ("files.write:/snap/bin", Critical),
    ("files.write:/nix/store", Critical),
    ("files.write:/init", Critical),
    // /etc, cron and systemd units.
    ("files.read:/etc", Critical),
    ("files.read:/etc/hosts", Critical),
    ("files.write:/etc/cron.d", Critical),
    ("files.write:/etc/systemd/system", Critical),
    ("files.read:/etcetera", Low),
    // Other filesystems.
    ("files.read:/mnt", Critical),
    ("files.read:/mnt/backup", Critical),
    ("files.read:/mnt/backup/photos", Low),
    ("files.read:/mnt/backup/home/bob/.ssh", Critical),
    ("files.read:/mnt/c/Users", Critical),
    ("files.read:/mnt/c/Users/bob", Critical),
    ("files.read:/mnt/c/Users/bob/project", Low),
    ("files.read:/mnt/c/Users/bob/AppData/Local", Critical),
    ("files.write:/mnt/c/Windows/System32", Critical),
    ("files.read:/media/alice/usb", Critical),
    // Every home alike: the home itself, its sensitive parts, not a project in it.
    ("files.read:/root", Critical),
    ("files.read:/home", Critical),
    ("files.read:/home/bob", Critical),
    ("files.read:/home/bob/src", Low),
    ("files.write:/home/bob/src", Medium),
    ("files.read:/root/projects/app", Low),
    ("files.read:/root/.ssh", Critical),
    ("files.read:/home/bob/.ssh", Critical),
    ("files.read:/srv/alice/.aws", Critical),
    ("files.read:/home/bob/.gnupg", Critical),
    ("files.read:/home/bob/.config/gcloud", Critical),
    ("files.read:/root/.kube/config", Critical),
    ("files.read:/home/bob/.docker/config.json", Critical),
    ("files.read:/home/bob/.config", Critical),
    ("files.read:/home/bob/.local", Critical),
    ("files.read:/home/bob/.config/gh/hosts.yml", Critical),
    ("files.read:/home/bob/.netrc", Critical),
    ("files.read:/home/bob/.pgpass", Critical),
    ("files.read:/home/bob/.git-credentials", Critical),
    ("files.read:/home/bob/.npmrc", Critical),
    ("files.read:/home/bob/.pypirc", Critical),
    ("files.read:/home/bob/.cargo/credentials.toml", Critical),
    ("files.read:/home/bob/.cargo/registry", High),
    ("files.read:/home/bob/.password-store", Critical),
    ("files.read:/home/bob/.local/share/keyrings", Critical),
    ("files.read:/home/bob/.mozilla/firefox", Critical),
    (
        "files.read:/home/bob/.config/google-chrome/Default",
        Critical,
    ),
    ("files.read:/home/bob/.config/Code/User", Critical),
    ("files.read:/root/.bash_history", Critical),
    ("files.read:/home/bob/.zsh_history", Critical),
    (
        "files.read:/home/bob/.local/share/fish/fish_history",
        Critical,
    ),
    ("files.read:/home/bob/.psql_history", Critical),
    ("files.read:/home/bob/.claude", Critical),
    ("files.read:/home/bob/.Xauthority", Critical),
    ("files.read:/home/bob/.aegisclaw", Critical),
    ("files.read:/srv/aegisclaw/.aegisclaw/keys", Critical),
    // Startup files: critical to write (code runs as that user later), high to read (an
    // unlisted dot-directory in a home).
    ("files.write:/root/.bashrc", Critical),
    ("files.read:/root/.bashrc", High),
    ("files.write:/home/bob/.profile", Critical),
    ("files.write:/home/bob/.zshenv", Critical),
    ("files.write:/home/bob/.config/systemd/user", Critical),
    ("files.read:/home/bob/.config/systemd/user", High),
    ("files.write:/home/bob/.config/autostart", Critical),
    ("files.write:/home/bob/.local/bin", Critical),
    (
        "files.write:/home/bob/.local/lib/python3.13/site-packages",
        Critical,
    ),
    ("files.write:/home/bob/.gitconfig", Critical),
    ("files.write:/home/bob/.config/git/config", Critical),
    ("files.read:/home/bob/.config/git/credentials", Critical),
    ("files.write:/home/bob/project/.vscode", Critical),
    ("files.read:/home/bob/project/.vscode", Low),
    ("files.write:/home/bob/.cargo/bin", Critical),
    ("files.write:/home/bob/.ssh/authorized_keys", Critical),
    ("files.write:/home/bob/.forward", Critical),
    // PATH shims, toolchains and files a shell sources: a write runs code as that user later.
    ("files.write:/home/bob/.cargo/env", Critical),
    ("files.write:/root/.cargo/env", Critical),
    ("files.write:/root/bin", Critical),
    ("files.write:/home/bob/bin", Critical),
    ("files.write:/home/bob/bin/tool", Critical),
    ("files.read:/home/bob/bin", Low),
    ("files.write:/home/bob/project/bin", Medium),
    ("files.write:/data/build/bin", Medium),
    ("files.write:/home/bob/go/bin", Critical),
    ("files.write:/home/bob/.npm-global/bin", Critical),
    ("files.write:/home/bob/.local/share/pnpm", Critical),
    ("files.write:/home/bob/.yarn/bin", Critical),
    ("files.write:/home/bob/.pyenv/shims", Critical),
    ("files.write:/root/.pyenv/versions/3.13.1/bin", Critical),
    ("files.write:/home/bob/.rbenv/shims", Critical),
    ("files.write:/home/bob/.nvm/nvm.sh", Critical),
    ("files.write:/home/bob/.sdkman/bin", Critical),
    ("files.write:/home/bob/.volta/bin", Critical),
    ("files.write:/home/bob/.deno/bin", Critical),
    ("files.write:/home/bob/.bun/bin", Critical),
    ("files.write:/home/bob/.asdf/shims", Critical),
    ("files.write:/home/bob/.rustup/toolchains", Critical),
    ("files.read:/home/bob/.rustup/toolchains", High),
    ("files.write:/home/bob/.dotnet/tools", Critical),
    ("files.write:/home/bob/.nix-profile", Critical),
    ("files.write:/home/bob/.inputrc", Critical),
    ("files.write:/home/bob/.bashrc.d/local.sh", Critical),
    ("files.write:/home/bob/.config/zsh/.zshrc", Critical),
    ("files.write:/home/bob/.oh-my-zsh/custom", Critical),
    ("files.write:/home/bob/.screenrc", Critical),
    ("files.write:/home/bob/.config/kitty/kitty.conf", Critical),
    ("files.write:/home/bob/.config/alacritty", Critical),
    ("files.write:/home/bob/.config/starship.toml", Critical),
    ("files.write:/home/bob/.config/direnv/direnvrc", Critical),
    ("files.write:/home/bob/.local/share/direnv/allow", Critical),
    ("files.write:/home/bob/.config/mimeapps.list", Critical),
    ("files.write:/home/bob/.mailcap", Critical),
    ("files.write:/home/bob/.gradle/init.d", Critical),
    ("files.write:/home/bob/.gradle/init.gradle", Critical),
    ("files.write:/home/bob/.config/VSCodium/User", Critical),
    ("files.write:/home/bob/.vscode-oss/extensions", Critical),
    // Already reviewed startup files, kept here as the whole list asked about.
    ("files.write:/home/bob/.bash_profile", Critical),
    ("files.write:/home/bob/.bash_login", Critical),
    ("files.write:/home/bob/.bash_logout", Critical),
    ("files.write:/home/bob/.zprofile", Critical),
    ("files.write:/home/bob/.zlogin", Critical),
    ("files.write:/home/bob/.config/fish/config.fish", Critical),
    ("files.write:/home/bob/.config/environment.d", Critical),
    ("files.write:/home/bob/.xprofile", Critical),
    ("files.write:/home/bob/.xsessionrc", Critical),
    ("files.write:/home/bob/.pam_environment", Critical),
    ("files.write:/home/bob/.ssh/rc", Critical),
    ("files.write:/home/bob/.vimrc", Critical),
    ("files.write:/home/bob/.config/nvim/init.lua", Critical),
    ("files.write:/home/bob/.emacs.d/init.el", Critical),
    (
        "files.write:/home/bob/.config/Code/User/settings.json",
        Critical,
    ),
    // A repository's hooks and configuration run on the host at the next `git` command.
    ("files.write:/home/bob/project/.git/hooks", Critical),
    (
        "files.write:/home/bob/project/.git/hooks/pre-commit",
        Critical,
    ),
    ("files.write:/home/bob/project/.git/config", Critical),
    ("files.write:/srv/repo/.git", Critical),
    ("files.write:/tmp/work/.git/modules/lib/hooks", Critical),
    // Its configuration holds remote URLs with tokens, its history secrets removed since.
    ("files.read:/home/bob/project/.git/config", Critical),
    ("files.read:/srv/repo/.git/modules/lib/config", Critical),
    // Credential stores, reviewed as a whole.
    ("files.read:/home/bob/.yarnrc", Critical),
    ("files.read:/home/bob/.yarnrc.yml", Critical),
    ("files.read:/home/bob/.cargo/credentials", Critical),
    ("files.read:/home/bob/.m2/settings.xml", Critical),
    ("files.read:/home/bob/.m2/settings-security.xml", Critical),
    ("files.read:/home/bob/.gradle/gradle.properties", Critical),
    (
        "files.read:/home/bob/.terraform.d/credentials.tfrc.json",
        Critical,
    ),
    ("files.read:/home/bob/.vault-token", Critical),
    ("files.read:/home/bob/.azure", Critical),
    ("files.read:/home/bob/.aws/credentials", Critical),
    ("files.read:/home/bob/.oci/config", Critical),
    ("files.read:/home/bob/.config/rclone/rclone.conf", Critical),
    ("files.read:/home/bob/.my.cnf", Critical),
    ("files.read:/home/bob/.config/op", Critical),
    ("files.read:/home/bob/.config/pypoetry/auth.toml", Critical),
    (
        "files.read:/home/bob/.config/helm/repositories.yaml",
        Critical,
    ),
    ("files.read:/home/bob/.config/doctl/config.yaml", Critical),
    ("files.read:/home/bob/.config/hcloud/cli.toml", Critical),
    (
        "files.read:/home/bob/.config/configstore/firebase-tools.json",
        Critical,
    ),
    ("files.read:/home/bob/.fly/config.yml", Critical),
    ("files.read:/home/bob/.pki/nssdb", Critical),
    ("files.read:/home/bob/.var/app/com.google.Chrome", Critical),
    ("files.read:/home/bob/.config/vivaldi/Default", Critical),
    ("files.read:/home/bob/.config/opera", Critical),
    ("files.read:/home/bob/.config/Slack/Cookies", Critical),
    ("files.read:/home/bob/.config/discord", Critical),
    (
        "files.read:/home/bob/.local/share/jupyter/runtime",
        Critical,
    ),
    // Sockets that hand out code execution on the host, wherever they live.
    ("unix.connect:/run/screen/S-bob/1234.pts-0.host", Critical),
    (
        "unix.connect:/var/run/screen/S-bob/1234.pts-0.host",
        Critical,
    ),
    ("unix.connect:/tmp/uscreens/S-bob/1234.pts-0.host", Critical),
    ("unix.connect:/home/bob/.screen/1234.pts-0.host", Critical),
    ("unix.connect:/srv/bob/tmux-1000/default", Critical),
    ("unix.connect:/tmp/emacs1000/server", Critical),
    ("unix.connect:/tmp/nvimAbC123/0", Critical),
    ("unix.connect:/tmp/vscode-ipc-1234.sock", Critical),
    ("unix.connect:/tmp/vscode-git-abcd.sock", Critical),
    ("unix.connect:/tmp/dbus-AbCdEf", Critical),
    ("unix.connect:/srv/ci/docker.sock", Critical),
    ("unix.connect:/opt/podman/podman.sock", Critical),
    ("unix.connect:/srv/k8s/containerd.sock", Critical),
    ("unix.connect:/srv/build/buildkitd.sock", Critical),
    (
        "unix.connect:/home/bob/.colima/default/docker.sock",
        Critical,
    ),
    (
        "unix.connect:/home/bob/.lima/default/sock/ssh.sock",
        Critical,
    ),
    ("unix.connect:/mnt/wslg/.X11-unix/X0", Critical),
    ("unix.connect:/mnt/wslg/runtime-dir/wayland-0", Critical),
    ("unix.connect:/srv/bob/gnupg/S.gpg-agent", Critical),
    ("unix.connect:/srv/bob/keyring/ssh", Critical),
    ("unix.connect:/tmp/.s.PGSQL.5432", Critical),
    ("unix.connect:/tmp/mysql.sock", Critical),
    ("unix.connect:/srv/app/app.sock", High),
    ("unix.connect:/srv/app/private.sock", High),
    // The whole host.
    ("files.read:/", Critical),
    ("files.write:/", Critical),
];

/// Rows whose risk depends on whose home `~` is.
const ONE: &[(Who, &str, Risk)] = &[
    (Alice, "files.read:~", Critical),
    (Root, "files.read:~", Critical),
    (Alice, "files.read:~/projects/app", Low),
    (Root, "files.read:~/projects/app", Low),
    (Alice, "files.write:~/projects/app", Medium),
    (Root, "files.write:~/projects/app", Medium),
    (Alice, "files.read:~/.ssh", Critical),
    (Root, "files.read:~/.ssh", Critical),
    (Alice, "files.read:~/.aegisclaw/audit", Critical),
    (Root, "files.read:~/.aegisclaw/audit", Critical),
    (Alice, "files.write:~/.bashrc", Critical),
    (Root, "files.write:~/.bashrc", Critical),
    (Root, "files.read:/home/alice", Critical),
    (Alice, "files.read:/root/.aegisclaw", Critical),
];

/// Names inside a home, reviewed after the table-gaps attack: (name, read risk, write risk),
/// checked in root's home and an ordinary user's for both users' contexts.
const IN_EVERY_HOME: &[(&str, Risk, Risk)] = &[
    // Key, wallet and token stores the attack found rated low to read.
    (".config/age", Critical, Critical),
    (".config/age/keys.txt", Critical, Critical),
    (".bitcoin/wallets", Critical, Critical),
    (".litecoin/wallet.dat", Critical, Critical),
    (".electrum/wallets/default_wallet", Critical, Critical),
    (".ethereum/keystore", Critical, Critical),
    (".config/syncthing/key.pem", Critical, Critical),
    (".config/borg/keys", Critical, Critical),
    (".authinfo", Critical, Critical),
    (".authinfo.gpg", Critical, Critical),
    (".msmtprc", Critical, Critical),
    (".fetchmailrc", Critical, Critical),
    (".mbsyncrc", Critical, Critical),
    (".offlineimaprc", Critical, Critical),
    (".muttrc", Critical, Critical),
    (".mutt", Critical, Critical),
    (".config/mutt/muttrc", Critical, Critical),
    (".config/aerc/accounts.conf", Critical, Critical),
    (".purple/accounts.xml", Critical, Critical),
    (".irssi/config", Critical, Critical),
    (".weechat/sec.conf", Critical, Critical),
    (".config/weechat/sec.conf", Critical, Critical),
    (".config/hexchat/servlist.conf", Critical, Critical),
    (".config/Signal", Critical, Critical),
    (".config/Element", Critical, Critical),
    (".local/share/TelegramDesktop/tdata", Critical, Critical),
    (".pulumi/credentials.json", Critical, Critical),
    (".wrangler/config/default.toml", Critical, Critical),
    (".config/.wrangler/config/default.toml", Critical, Critical),
    (".config/composer/auth.json", Critical, Critical),
    (".composer/auth.json", Critical, Critical),
    (".terraformrc", Critical, Critical),
    (".databrickscfg", Critical, Critical),
    (".config/ngrok/ngrok.yml", Critical, Critical),
    (".subversion/auth", Critical, Critical),
    (".bundle/config", Critical, Critical),
    (".k5login", Critical, Critical),
    // Histories.
    (".local/share/atuin/history.db", Critical, Critical),
    (".histfile", Critical, Critical),
    (".irb_history", Critical, Critical),
    (".pry_history", Critical, Critical),
    (".dbshell", Critical, Critical),
    (".mongosh/mongosh_repl_history", Critical, Critical),
    (".julia/logs/repl_history.jl", Critical, Critical),
    (".local/state/nvim/shada/main.shada", Critical, Critical),
    // Start-up files that read as both: history or keys inside, code run from them.
    (".ipython/profile_default/startup", Critical, Critical),
    (
        ".ipython/profile_default/history.sqlite",
        Critical,
        Critical,
    ),
    (".ghc/ghci.conf", Critical, Critical),
    (".local/share/nvim/lazy", Critical, Critical),
    (".continue/config.json", Critical, Critical),
    (".aider.conf.yml", Critical, Critical),
    // Start-up files the attack found rated medium to write: critical to write, and high to
    // read as any unlisted dot-directory in a home (plain directories there stay low).
    (".bash_aliases", High, Critical),
    (".config/bash/bashrc", High, Critical),
    (".zshrc.d/aliases.zsh", High, Critical),
    (".p10k.zsh", High, Critical),
    (".local/share/zinit", High, Critical),
    (".config/nushell/config.nu", High, Critical),
    (".xonshrc", High, Critical),
    (".config/xonsh", High, Critical),
    (
        ".config/powershell/Microsoft.PowerShell_profile.ps1",
        High,
        Critical,
    ),
    (".config/elvish/rc.elv", High, Critical),
    (".tmux/plugins", High, Critical),
    (".jupyter/jupyter_server_config.py", High, Critical),
    (".gdbinit", High, Critical),
    (".config/gdb/gdbinit", High, Critical),
    (".lldbinit", High, Critical),
    (".pdbrc", High, Critical),
    (".irbrc", High, Critical),
    (".pryrc", High, Critical),
    (".Rprofile", High, Critical),
    (".Renviron", High, Critical),
    (".julia/config/startup.jl", High, Critical),
    (".ghci", High, Critical),
    (".octaverc", High, Critical),
    (".guile", High, Critical),
    (".sbclrc", High, Critical),
    (".ocamlinit", High, Critical),
    (".erlang", High, Critical),
    (".iex.exs", High, Critical),
    (".racketrc", High, Critical),
    (".tclshrc", High, Critical),
    (".radare2rc", High, Critical),
    (".psqlrc", High, Critical),
    (".sqliterc", High, Critical),
    (".mongoshrc.js", High, Critical),
    (".mongorc.js", High, Critical),
    (".hgrc", High, Critical),
    (".config/hg/hgrc", High, Critical),
    (".config/i3/config", High, Critical),
    (".config/sway/config", High, Critical),
    (".config/hypr/hyprland.conf", High, Critical),
    (".config/openbox/autostart", High, Critical),
    (".config/autostart-scripts", High, Critical),
    (".config/plasma-workspace/env", High, Critical),
    (".config/awesome/rc.lua", High, Critical),
    (".config/bspwm/bspwmrc", High, Critical),
    (".config/sxhkd/sxhkdrc", High, Critical),
    (".config/qtile/config.py", High, Critical),
    (".xmonad/xmonad.hs", High, Critical),
    (".config/xmonad", High, Critical),
    (".config/herbstluftwm/autostart", High, Critical),
    (".config/labwc/autostart", High, Critical),
    (".config/river/init", High, Critical),
    (".config/lxsession", High, Critical),
    (".config/mise/config.toml", High, Critical),
    (".local/share/mise/shims", High, Critical),
    (".config/nix/nix.conf", High, Critical),
    (".config/nixpkgs/overlays", High, Critical),
    (".virtualenvs/app/bin/postactivate", High, Critical),
    (".conda/envs", High, Critical),
    (".condarc", High, Critical),
    ("miniconda3/bin", Low, Critical),
    ("anaconda3/bin", Low, Critical),
    ("miniforge3/bin", Low, Critical),
    ("mambaforge", Low, Critical),
    (".local/share/uv/tools", High, Critical),
    (".local/share/pipx/venvs", High, Critical),
    (".local/pipx/venvs", High, Critical),
    (".config/uv/uv.toml", High, Critical),
    (".gemrc", High, Critical),
    (".bunfig.toml", High, Critical),
    (".sbt/1.0/plugins", High, Critical),
    (".lein/profiles.clj", High, Critical),
    (".mavenrc", High, Critical),
    (".cursor/mcp.json", High, Critical),
    (".config/Cursor/User", High, Critical),
    (".codeium/windsurf/mcp_config.json", High, Critical),
    (".windsurf/extensions", High, Critical),
    (".config/zed/settings.json", High, Critical),
    (".config/opencode/opencode.json", High, Critical),
    (".mcp.json", High, Critical),
    (".curlrc", High, Critical),
    (".config/curlrc", High, Critical),
    (".wgetrc", High, Critical),
    (".procmailrc", High, Critical),
    (".doom.d/init.el", High, Critical),
    (".config/doom", High, Critical),
    (".spacemacs", High, Critical),
    // Siblings already in the table, kept here as the class reviewed.
    (".npmrc", Critical, Critical),
    (".pypirc", Critical, Critical),
    (".config/fish", High, Critical),
    // Not start-up files: a project's own files stay medium to write.
    ("projects/app/.mcp.json.bak", Low, Medium),
    ("projects/app/miniconda3", Low, Medium),
];

#[test]
fn host_trees_and_every_home_rate_as_reviewed() {
    let mut wrong = Vec::new();
    for (text, risk) in BOTH {
        for who in [Alice, Root] {
            let got = rate(who, text);
            if got != *risk {
                wrong.push(format!("{who:?} {text}: {got}, expected {risk}"));
            }
        }
    }
    for (name, read, write) in IN_EVERY_HOME {
        for home in ["/root", "/home/bob"] {
            for (kind, risk) in [("files.read", read), ("files.write", write)] {
                let text = format!("{kind}:{home}/{name}");
                for who in [Alice, Root] {
                    let got = rate(who, &text);
                    if got != *risk {
                        wrong.push(format!("{who:?} {text}: {got}, expected {risk}"));
                    }
                }
            }
        }
    }
    for (who, text, risk) in ONE {
        let got = rate(*who, text);
        if got != *risk {
            wrong.push(format!("{who:?} {text}: {got}, expected {risk}"));
        }
    }
    assert_eq!(wrong, Vec::<String>::new());
}

#[test]
fn the_quickstart_scopes_are_low_and_medium_for_root_and_for_a_user() {
    let manifest = Manifest::parse(QUICKSTART_MANIFEST, Path::new("manifest.yaml")).unwrap();
    for who in [Alice, Root] {
        let context = context(who);
        let rated: Vec<(String, Risk)> = manifest
            .scopes
            .iter()
            .map(|text| {
                let scope = Scope::parse(text, &context).unwrap();
                (scope.to_string(), scope.rating(&context).risk)
            })
            .collect();
        let home = context.user_home.as_ref().unwrap().display().to_string();
        assert_eq!(
            rated,
            vec![
                (format!("files.read:{home}/aegisclaw-quickstart/input"), Low),
                (
                    format!("files.write:{home}/aegisclaw-quickstart/output"),
                    Medium
                ),
            ],
            "{who:?}"
        );
    }
}

#[derive(Deserialize)]
struct TableFile {
    paths: Vec<TablePath>,
    names: Vec<TableName>,
    sockets: Vec<TableSocket>,
}

#[derive(Deserialize)]
struct TablePath {
    path: String,
    #[serde(default)]
    covers: Option<String>,
    #[serde(default)]
    access: Option<String>,
}

#[derive(Deserialize)]
struct TableName {
    name: String,
    #[serde(default)]
    access: Option<String>,
    #[serde(default)]
    home_only: bool,
}

#[derive(Deserialize)]
struct TableSocket {
    name: String,
}

/// Every entry, as the scope kinds it applies to, rates critical (a pattern's `*` as `x`), and
/// so does a path inside it where it covers one. This is what keeps the table from holding an
/// entry that matches nothing.
#[test]
fn every_table_entry_rates_critical_for_the_kinds_it_covers() {
    let table: TableFile = serde_saphyr::from_str(TABLE_YAML).unwrap();
    let kinds = |access: &Option<String>| match access.as_deref() {
        Some("write") => vec!["files.write"],
        _ => vec!["files.read", "files.write", "unix.connect"],
    };
    let mut wrong = Vec::new();
    let mut check = |who: Who, text: String| {
        if rate(who, &text) != Critical {
            wrong.push(format!("{who:?} {text}"));
        }
    };
    for who in [Alice, Root] {
        for entry in &table.paths {
            let path = match entry.path.as_str() {
                "$AEGISCLAW_HOME" => "~/.aegisclaw".to_string(),
                "$AEGISCLAW_PROGRAM_DIR" => "/data/checkout/target/release".to_string(),
                path => path.replace('*', "x"),
            };
            for kind in kinds(&entry.access) {
                check(who, format!("{kind}:{path}"));
                if entry.covers.as_deref() != Some("itself") {
                    check(who, format!("{kind}:{}/child", path.trim_end_matches('/')));
                }
            }
        }
        for entry in &table.names {
            // A name that counts only directly in a home is checked in the homes the table
            // knows (every home alike: root's, any user's, `~`).
            let homes: &[&str] = if entry.home_only {
                &["/root", "/home/bob", "~"]
            } else {
                &["/root", "/home/bob", "/srv/carol", "~"]
            };
            for kind in kinds(&entry.access) {
                for home in homes {
                    check(who, format!("{kind}:{home}/{}", entry.name));
                    check(who, format!("{kind}:{home}/{}/inner", entry.name));
                }
            }
        }
        // A socket name (its `*` as `x`) is critical to connect to as any component.
        for entry in &table.sockets {
            let name = entry.name.replace('*', "x");
            check(who, format!("unix.connect:/srv/app/{name}"));
            check(who, format!("unix.connect:/srv/app/{name}/inner"));
        }
    }
    assert_eq!(wrong, Vec::<String>::new());
}

/// A host where `/home` is a link to `/data/home` and `/var/run` to `/run`, resolved the
/// lenient way the runtime resolves (a missing tail is appended to its resolved parent).
fn data_home(path: &Path) -> Option<PathBuf> {
    let text = path.to_str()?;
    for (link, target) in [("/home", "/data/home"), ("/var/run", "/run")] {
        if text == link {
            return Some(target.into());
        }
        if let Some(rest) = text.strip_prefix(link).filter(|rest| rest.starts_with('/')) {
            return Some(format!("{target}{rest}").into());
        }
    }
    Some(path.to_path_buf())
}

#[test]
fn resolved_scope_paths_are_rated_against_the_resolved_table() {
    // The engine passes resolved paths and a resolved home; the table follows the same links.
    let context = ScopeContext {
        user_home: Some("/data/home/alice".into()),
        aegisclaw_home: Some("/data/home/alice/.aegisclaw".into()),
        program: None,
        resolve: Some(data_home),
        homes: Vec::new(),
    };
    let rating = |text: &str| Scope::parse(text, &context).unwrap().rating(&context);
    let bob = rating("files.read:/data/home/bob");
    assert_eq!(bob.risk, Critical);
    assert_eq!(
        bob.reasons[0],
        "inside sensitive path `/home` (resolved `/data/home`): every user's home directory"
    );
    assert_eq!(rating("files.read:/data/home/bob/src").risk, Low);
    assert_eq!(rating("files.read:/data").risk, Critical);
    assert_eq!(rating("unix.connect:/run/docker.sock").risk, Critical);
    assert_eq!(rating("files.read:~/.ssh").risk, Critical);
    assert_eq!(rating("files.read:~/aegisclaw-quickstart/input").risk, Low);
    // Without the resolver, `/data/home/bob` is just a directory.
    let lexical = ScopeContext {
        resolve: None,
        ..context.clone()
    };
    let scope = Scope::parse("files.read:/data/home/bob", &lexical).unwrap();
    assert_eq!(scope.rating(&lexical).risk, Low);
    assert_eq!(scope.kind(), ScopeKind::FilesRead);
}
