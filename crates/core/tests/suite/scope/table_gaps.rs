//! The table-gaps attack, by class: an unlisted dot-directory in a home needs approval to read
//! or write (tools keep keys, tokens and start-up files there, more than a table can list), and
//! the key, wallet, token and start-up stores the attack named are critical as listed.

use super::sensitive::{Who, rate};
use Who::{Alice, Root};
use aegisclaw_core::scope::Risk::{self, Critical, High, Low, Medium};
use pretty_assertions::assert_eq;

/// Stores the attack found rated low to read in a home: critical to read and to write.
const READ: &[&str] = &[
    ".cache",
    ".cache/huggingface/token",
    ".local/share/Trash/files/id_rsa",
    ".config/solana/id.json",
    ".monero",
    ".bitmonero",
    ".zcash",
    ".dogecoin",
    ".sui/sui_config/sui.keystore",
    ".aptos",
    ".near-credentials",
    ".foundry/keystores",
    ".brownie/accounts",
    ".avalanche-cli",
    ".config/Exodus",
    ".config/Electrum",
    ".ollama/id_ed25519",
    ".android/adbkey",
    ".minisign/minisign.key",
    ".sq",
    ".local/share/sequoia",
    ".tsh",
    ".cert/nm-openvpn",
    ".cloudflared/cert.pem",
    ".huggingface/token",
    ".kaggle/kaggle.json",
    ".config/wandb",
    ".streamlit/credentials.toml",
    ".config/openstack/clouds.yaml",
    ".config/scw",
    ".config/linode-cli",
    ".config/exoscale",
    ".bluemix",
    ".config/netlify",
    ".vercel",
    ".config/stripe",
    ".config/twilio-cli",
    ".circleci/cli.yml",
    ".config/tea",
    ".jira.d",
    ".gitlab-runner/config.toml",
    ".sentryclirc",
    ".dockercfg",
    ".chef/credentials",
    ".ivy2/.credentials",
    ".nuget/NuGet/NuGet.Config",
    ".ngrok2/ngrok.yml",
    ".config/keybase",
    ".config/keepassxc",
    ".config/Bitwarden",
    ".config/rbw",
    ".local/share/rbw",
    ".config/gopass",
    ".vnc/passwd",
    ".smbcredentials",
    ".davfs2/secrets",
    ".ansible/vault_pass",
    ".vault_pass",
    ".config/filezilla",
    ".filezilla",
    ".config/remmina",
    ".local/share/remmina",
    ".pgadmin",
    ".local/share/DBeaverData/workspace6/General/.dbeaver/credentials-config.json",
    ".mysql/workbench",
    ".znc",
    ".putty",
    ".config/Postman",
    ".config/insomnia",
    ".config/JetBrains",
];

/// Start-up files and `PATH` entries the attack found rated medium to write: critical to write
/// (and, being dot-directories in a home, high to read).
const WRITE: &[&str] = &[
    ".bash_completion",
    ".local/share/bash-completion/completions/git",
    ".oh-my-bash",
    ".bash_it",
    ".zplug",
    ".antigen",
    ".zprezto",
    ".zim",
    ".local/share/omf",
    ".fzf.bash",
    ".fzf.zsh",
    ".fzf/bin",
    ".config/broot/launcher",
    ".rvm/scripts/rvm",
    ".logout",
    ".yashrc",
    ".shrc",
    ".lessfilter",
    ".lesskey",
    ".config/lesskey",
    ".selected_editor",
    ".direnvrc",
    ".npm-init.js",
    ".exrc",
    ".gvimrc",
    ".xserverrc",
    ".mailfilter",
    ".qmail",
    ".cpan/CPAN/MyConfig.pm",
    ".luarocks/config.lua",
    ".cabal/config",
    ".config/ptpython/config.py",
    ".config/ranger/commands.py",
    ".config/kak/kakrc",
    ".config/yazi/init.lua",
    ".config/micro/init.lua",
    ".config/mpv/scripts",
    ".config/sublime-text/Packages",
    ".config/lazygit/config.yml",
    ".config/mc",
    ".local/share/dbus-1/services/x.service",
    ".config/pipewire/pipewire.conf",
    ".config/wireplumber/main.lua",
    ".config/user-tmpfiles.d",
    ".config/niri/config.kdl",
    ".config/wayfire.ini",
    ".config/waybar",
    ".config/polybar",
    ".config/dunst",
    ".config/mako",
    ".config/swayidle/config",
    ".config/lxqt/session.conf",
    ".config/kglobalshortcutsrc",
    ".config/dconf/user",
    ".config/gnome-session",
    ".config/foot/foot.ini",
    ".config/ghostty/config",
    ".config/zellij",
    ".ghcup/bin",
    ".elan/bin",
    ".jenv",
    ".fnm",
    ".krew/bin",
    ".guix-profile",
    ".local/share/mamba",
    ".mambarc",
    ".local/share/pypoetry/venv",
    ".local/share/virtualenvs",
    ".rhosts",
    ".shosts",
    ".k5users",
];

fn check(wrong: &mut Vec<String>, text: &str, expected: Risk) {
    for who in [Alice, Root] {
        let got = rate(who, text);
        if got != expected {
            wrong.push(format!("{who:?} {text}: {got}, expected {expected}"));
        }
    }
}

#[test]
fn an_unlisted_dot_directory_in_a_home_needs_approval_to_read_or_write() {
    let mut wrong = Vec::new();
    for home in ["/root", "/home/bob", "~"] {
        for name in [
            ".unknown-tool",
            ".unknown-tool/token",
            ".config/new-tool/auth.json",
        ] {
            for kind in ["files.read", "files.write"] {
                check(&mut wrong, &format!("{kind}:{home}/{name}"), High);
            }
        }
        // A plain directory in a home, and a hidden one below it, stay as they were.
        for (name, read, write) in [
            ("projects/app", Low, Medium),
            ("projects/app/.hidden", Low, Medium),
            ("aegisclaw-quickstart/input", Low, Medium),
        ] {
            check(&mut wrong, &format!("files.read:{home}/{name}"), read);
            check(&mut wrong, &format!("files.write:{home}/{name}"), write);
        }
        // Listed names stay critical.
        check(&mut wrong, &format!("files.read:{home}/.ssh"), Critical);
    }
    // Not a home the table knows by its place: a hidden directory there is a plain one.
    check(&mut wrong, "files.read:/srv/carol/.unknown-tool", Low);
    check(&mut wrong, "files.read:/home/bob/x/.unknown-tool", Low);
    assert_eq!(wrong, Vec::<String>::new());
}

#[test]
fn the_key_wallet_token_and_start_up_stores_the_attack_found_are_critical() {
    let mut wrong = Vec::new();
    for home in ["/root", "/home/bob", "~"] {
        for name in READ {
            check(&mut wrong, &format!("files.read:{home}/{name}"), Critical);
            check(&mut wrong, &format!("files.write:{home}/{name}"), Critical);
        }
        for name in WRITE {
            check(&mut wrong, &format!("files.read:{home}/{name}"), High);
            check(&mut wrong, &format!("files.write:{home}/{name}"), Critical);
        }
    }
    assert_eq!(wrong, Vec::<String>::new());
}

/// Secret files a project keeps one level (or more) below a plain directory, which the attack
/// found low to read there: critical to read and to write wherever they appear.
const PROJECT_READ: &[&str] = &[
    "work/.env",
    "p/.env",
    "p/.env.local",
    "p/.env.production",
    "p/.env.development",
    "p/id_rsa",
    "p/id_ed25519",
    "p/id_ecdsa",
    "p/id_dsa",
    "p/credentials.json",
    "p/kubeconfig",
    "p/terraform.tfstate",
    "p/terraform.tfstate.backup",
    "p/.htpasswd",
    "p/x/.git/config",
    "p/x/.git",
    "p/.npmrc",
    "p/.pypirc",
    "p/.netrc",
    "p/.git-credentials",
];

/// Project files that run code on the host later (an editor opening the folder, the next
/// `git commit`, a shell entering it), which the attack found medium to write: critical to write.
const PROJECT_WRITE: &[&str] = &[
    "p/.devcontainer",
    "p/.devcontainer/devcontainer.json",
    "p/.pre-commit-config.yaml",
    "p/.idea",
    "p/.idea/workspace.xml",
    "p/.envrc",
    "p/.vscode/tasks.json",
    "p/.husky/pre-commit",
];

#[test]
fn project_secret_and_code_running_files_below_a_plain_directory_are_critical() {
    let mut wrong = Vec::new();
    for base in ["/root", "/home/bob", "~", "/srv/ci", "/tmp/build"] {
        for name in PROJECT_READ {
            check(&mut wrong, &format!("files.read:{base}/{name}"), Critical);
            check(&mut wrong, &format!("files.write:{base}/{name}"), Critical);
        }
        for name in PROJECT_WRITE {
            check(&mut wrong, &format!("files.write:{base}/{name}"), Critical);
        }
    }
    // Build files the user runs by hand stay out of the table (it would take every project).
    check(&mut wrong, "files.write:/home/bob/p/Makefile", Medium);
    check(&mut wrong, "files.read:/home/bob/p/.env.example.md/x", Low);
    check(&mut wrong, "files.read:/home/bob/p/id_rsa.pub", Low);
    assert_eq!(wrong, Vec::<String>::new());
}

/// Sockets that hand out code execution (terminals, window managers, container and VM managers,
/// build daemons, multiplexed ssh sessions) the attack found high to connect to: critical.
const SOCKETS: &[&str] = &[
    "unix.connect:/tmp/kitty-0",
    "unix.connect:/tmp/mykitty-1234",
    "unix.connect:/srv/bob/run/zellij/0.40.1/main",
    "unix.connect:/tmp/zellij-1000/0.40.1/main",
    "unix.connect:/srv/bob/run/i3/ipc-socket.1234",
    "unix.connect:/tmp/i3-bob.AbCd/ipc-socket.1234",
    "unix.connect:/srv/bob/run/sway-ipc.1000.1234.sock",
    "unix.connect:/srv/bob/run/hypr/abc_123/.socket.sock",
    "unix.connect:/tmp/hypr/abc_123/.socket2.sock",
    "unix.connect:/srv/bob/run/wezterm/gui-sock-1234",
    "unix.connect:/tmp/abduco/bob/session",
    "unix.connect:/srv/snap/lxd/common/lxd/unix.socket",
    "unix.connect:/srv/lxd/unix.socket",
    "unix.connect:/srv/incus/unix.socket",
    "unix.connect:/srv/bob/rootless-docker.sock",
    "unix.connect:/srv/k8s/kubelet.sock",
    "unix.connect:/srv/nix/var/nix/daemon-socket/socket",
    "unix.connect:/var/guix/daemon-socket/socket",
    "unix.connect:/srv/vm/qemu-monitor.sock",
    "unix.connect:/srv/vm/qmp.sock",
    "unix.connect:/srv/vm/qga.sock",
    "unix.connect:/srv/vm/firecracker.socket",
    "unix.connect:/run/supervisor.sock",
    "unix.connect:/srv/bob/cm-bob@host:22",
    "unix.connect:/srv/bob/cp-root@host:22",
    "unix.connect:/srv/bob/controlmasters/bob@host:22",
    "unix.connect:/srv/bob/pipewire-0",
    "unix.connect:/srv/bob/pulse/native",
];

#[test]
fn code_running_sockets_the_attack_found_high_are_critical_in_any_case() {
    let mut wrong = Vec::new();
    for text in SOCKETS {
        check(&mut wrong, text, Critical);
    }
    // A socket's name in another case, or renamed, is the same socket to the service behind it.
    for text in [
        "unix.connect:/srv/ci/Docker.sock",
        "unix.connect:/srv/ci/DOCKER.SOCK",
        "unix.connect:/srv/ci/docker.sock.bak",
        "unix.connect:/srv/bob/Tmux-1000/default",
    ] {
        check(&mut wrong, text, Critical);
    }
    check(&mut wrong, "unix.connect:/srv/app/app.sock", High);
    assert_eq!(wrong, Vec::<String>::new());
}

#[test]
fn a_home_from_the_user_database_outside_home_and_root_is_critical_itself() {
    use aegisclaw_core::scope::{Scope, ScopeContext};
    let context = ScopeContext {
        user_home: Some("/home/alice".into()),
        aegisclaw_home: Some("/home/alice/.aegisclaw".into()),
        program: None,
        resolve: None,
        homes: vec!["/data/h3/u".into(), "/var/opt/gitlab".into()],
    };
    let rate = |text: &str| {
        Scope::parse(text, &context)
            .unwrap_or_else(|error| panic!("{text}: {error}"))
            .rating(&context)
            .risk
    };
    let mut wrong = Vec::new();
    for (text, expected) in [
        ("files.read:/data/h3/u", Critical),
        ("files.write:/data/h3/u", Critical),
        ("files.read:/data/h3", Critical),
        ("files.read:/var/opt/gitlab", Critical),
        ("files.read:/data/h3/u/.unknown-tool", High),
        ("files.write:/data/h3/u/.unknown-tool", High),
        ("files.read:/data/h3/u/.ssh", Critical),
        ("files.read:/data/h3/u/projects/app", Low),
        ("files.write:/data/h3/u/projects/app", Medium),
        ("files.read:/data/other", Low),
    ] {
        let got = rate(text);
        if got != expected {
            wrong.push(format!("{text}: {got}, expected {expected}"));
        }
    }
    assert_eq!(wrong, Vec::<String>::new());
}
