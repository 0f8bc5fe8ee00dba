//! Every environment variable AegisClaw reads, as documented constants, and the one place that
//! reads them. Config and `.env` loaders never set these.

use std::ffi::OsString;

/// Root of the AegisClaw home (DESIGN §2). Default: `~/.aegisclaw`.
pub const AEGISCLAW_HOME: &str = "AEGISCLAW_HOME";
/// A label for who is acting, recorded only as a claim after the real identity in the audit
/// `actor` (`cli:alice/claims:<label>`); the identity is always the process's real user.
pub const AEGISCLAW_ACTOR: &str = "AEGISCLAW_ACTOR";
/// Endpoint of the OpenClaw agent gateway (`http://host:port`); overrides the `endpoint` of
/// `adapters/openclaw.yaml`. `doctor` checks that it accepts TCP connections.
pub const OPENCLAW_ENDPOINT: &str = "OPENCLAW_ENDPOINT";
/// Passphrase of a passphrase-protected secret store (`secrets/identity`), for CI and scripts
/// that have no terminal to prompt in. An environment variable is less exposed than an argument
/// (it is not in `ps` output), but prefer the hidden prompt wherever a terminal exists.
pub const AEGISCLAW_SECRETS_PASSPHRASE: &str = "AEGISCLAW_SECRETS_PASSPHRASE";
/// Standard: disables colour in human output when set to any value.
pub const NO_COLOR: &str = "NO_COLOR";
/// Standard: the user's home directory, used to find `~/.aegisclaw` and expand `~` in scopes.
pub const HOME: &str = "HOME";
/// Standard: the login user name; recorded only as a claim after the real user when it differs.
pub const USER: &str = "USER";
/// Standard: the login name; a claim like `USER`, read when `USER` is unset.
pub const LOGNAME: &str = "LOGNAME";

/// All variables above with their documentation, for `--help` and generated docs.
pub const ALL: &[(&str, &str)] = &[
    (
        AEGISCLAW_HOME,
        "root of the AegisClaw home (default `~/.aegisclaw`)",
    ),
    (
        AEGISCLAW_ACTOR,
        "a label for who is acting, recorded as a claim after the real user: `cli:<user>/claims:<label>`",
    ),
    (
        OPENCLAW_ENDPOINT,
        "OpenClaw gateway endpoint; overrides `adapters/openclaw.yaml`",
    ),
    (
        AEGISCLAW_SECRETS_PASSPHRASE,
        "passphrase of a protected secret store, for CI without a terminal",
    ),
    (NO_COLOR, "disable colour in human output"),
];

/// Reads a variable by one of the names above. Empty values count as unset.
#[expect(
    clippy::disallowed_methods,
    reason = "this is the one place that reads the environment"
)]
pub fn get(name: &str) -> Option<OsString> {
    std::env::var_os(name).filter(|value| !value.is_empty())
}

/// Reads a variable as UTF-8 text, if set and valid.
pub fn get_string(name: &str) -> Option<String> {
    get(name).and_then(|value| value.into_string().ok())
}

/// Whether a variable is set at all, even to the empty value `get` treats as unset.
#[expect(
    clippy::disallowed_methods,
    reason = "this is the one place that reads the environment"
)]
pub fn is_present(name: &str) -> bool {
    std::env::var_os(name).is_some()
}
