//! `config.yaml`: the raw `ConfigFile` exactly as written (unknown keys are errors) and the
//! validated `Config` the rest of AegisClaw reads. Does not apply the settings.

use crate::home::{self, Home, HomeError};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::path::{Path, PathBuf};

/// The largest `config.yaml` accepted.
/// The smallest CPU share a run may have: the kernel's CFS quota has a 1 ms floor per 100 ms
/// period, so a smaller one would be recorded but not enforced.
pub const MIN_CPUS: f64 = 0.01;

const MAX_CONFIG_BYTES: usize = 256 * 1024;

/// Errors reading or validating `config.yaml`. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config `{path}`")]
    Read {
        /// The config file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: HomeError,
    },
    /// The file is larger than the parser accepts.
    #[error("config `{path}` is {size} bytes; the limit is {MAX_CONFIG_BYTES}")]
    TooLarge {
        /// The config file.
        path: PathBuf,
        /// Its size.
        size: usize,
    },
    /// The file sets nothing (empty, or only whitespace, comments and document markers): a
    /// config that was truncated or wiped must not silently become the defaults.
    #[error(
        "config `{path}` is empty: it sets nothing, and AegisClaw does not fall back to defaults; \
         restore it, or rewrite it with `aegisclaw init --defaults --force`"
    )]
    Empty {
        /// The config file.
        path: PathBuf,
    },
    /// The YAML does not match the schema (unknown key, wrong type, bad syntax).
    #[error("invalid config `{path}`: {message}")]
    Parse {
        /// The config file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A value parsed but is not allowed.
    #[error("invalid config `{path}`: field `{field}`: {problem}")]
    Invalid {
        /// The config file.
        path: PathBuf,
        /// The dotted field name.
        field: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// Writing the file failed.
    #[error("cannot write config `{path}`")]
    Write {
        /// The config file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: HomeError,
    },
}

/// A key written with no value (`timeout_s: ~`, `sandbox: null`, `runtime:`) is an error naming
/// the field, never a silent default: a config edit that lost its value must not loosen
/// anything. No field of `config.yaml` gives null a meaning; leave a key out for its default.
macro_rules! present {
    ($($name:ident => $field:literal),* $(,)?) => {$(
        fn $name<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
        where
            D: serde::Deserializer<'de>,
            T: Deserialize<'de>,
        {
            match Option::<T>::deserialize(deserializer)? {
                Some(value) => Ok(Some(value)),
                None => Err(serde::de::Error::custom(concat!(
                    "field `", $field, "` is null or empty; give it a value, or remove the key for its default"
                ))),
            }
        }
    )*};
}

present! {
    present_version => "version",
    present_sandbox => "sandbox",
    present_policy => "policy",
    present_secrets => "secrets",
    present_audit => "audit",
    present_sandbox_runtime => "sandbox.runtime",
    present_sandbox_limits => "sandbox.limits",
    present_sandbox_network_namespace => "sandbox.network_namespace",
    present_sandbox_ca_bundle => "sandbox.ca_bundle",
    present_sandbox_limits_memory_mb => "sandbox.limits.memory_mb",
    present_sandbox_limits_pids => "sandbox.limits.pids",
    present_sandbox_limits_cpus => "sandbox.limits.cpus",
    present_sandbox_limits_timeout_s => "sandbox.limits.timeout_s",
    present_sandbox_limits_file_size_mb => "sandbox.limits.file_size_mb",
    present_policy_template => "policy.template",
    present_policy_rego_version => "policy.rego_version",
    present_secrets_backend => "secrets.backend",
    present_audit_checkpoint_every => "audit.checkpoint_every",
    present_audit_max_run_records => "audit.max_run_records",
}

/// `config.yaml` exactly as written: every field optional, unknown keys rejected.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Config format version; only `1` exists.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_version"
    )]
    pub version: Option<u32>,
    /// Sandbox settings.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_sandbox"
    )]
    pub sandbox: Option<SandboxSection>,
    /// Policy settings.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_policy"
    )]
    pub policy: Option<PolicySection>,
    /// Secret store settings.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_secrets"
    )]
    pub secrets: Option<SecretsSection>,
    /// Audit log settings.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_audit"
    )]
    pub audit: Option<AuditSection>,
}

/// `sandbox:` as written.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SandboxSection {
    /// `native`, `docker`, `gvisor`, `kata`, `firecracker` or `auto`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_sandbox_runtime"
    )]
    pub runtime: Option<String>,
    /// Default resource limits for skills that declare none.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_sandbox_limits"
    )]
    pub limits: Option<LimitsSection>,
    /// `reuse` or `fresh`: where a run with no network gets its network namespace.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_sandbox_network_namespace"
    )]
    pub network_namespace: Option<String>,
    /// The CA store (a PEM bundle of certificates only) runs see at
    /// `/etc/ssl/certs/ca-certificates.crt`; unset: the distribution's own.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_sandbox_ca_bundle"
    )]
    pub ca_bundle: Option<PathBuf>,
}

/// `sandbox.limits:` as written.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsSection {
    /// Memory limit in MiB.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_sandbox_limits_memory_mb"
    )]
    pub memory_mb: Option<u64>,
    /// Maximum number of processes.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_sandbox_limits_pids"
    )]
    pub pids: Option<u64>,
    /// CPU share, in cores.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_sandbox_limits_cpus"
    )]
    pub cpus: Option<f64>,
    /// Wall-clock timeout in seconds.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_sandbox_limits_timeout_s"
    )]
    pub timeout_s: Option<u64>,
    /// The largest file a run may write, in MiB.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_sandbox_limits_file_size_mb"
    )]
    pub file_size_mb: Option<u64>,
}

/// `policy:` as written.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySection {
    /// Which template `policies/default.rego` was written from (`strict`, `standard`,
    /// `permissive`, or `custom`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_policy_template"
    )]
    pub template: Option<String>,
    /// Rego syntax of the policy: `v1` (default) or `v0` for legacy `allow { }` bodies.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_policy_rego_version"
    )]
    pub rego_version: Option<String>,
}

/// `secrets:` as written.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsSection {
    /// Secret store backend; `age` (the local encrypted store) is the default.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_secrets_backend"
    )]
    pub backend: Option<String>,
}

/// `audit:` as written.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuditSection {
    /// Write a signed checkpoint after this many records (and whenever a writer closes).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_audit_checkpoint_every"
    )]
    pub checkpoint_every: Option<u64>,
    /// The most records one run's program can cause (egress connections, after identical
    /// ones are collapsed); what comes after is counted in one `run.records_capped` record.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present_audit_max_run_records"
    )]
    pub max_run_records: Option<u64>,
}

macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "lowercase")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every value, in order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The config-file spelling.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            /// Parses the config-file spelling.
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some($name::$variant),)+ _ => None }
            }
            fn choices() -> String {
                [$($text),+].iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ")
            }
            /// The value a config file wrote (`None`: `default`), or why it is none of these.
            fn or_default(text: Option<&str>, default: Self) -> Result<Self, String> {
                match text {
                    None => Ok(default),
                    Some(text) => Self::parse(text)
                        .ok_or_else(|| format!("`{text}` is not one of {}", Self::choices())),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

named_enum!(
    /// Which sandbox runs skills.
    RuntimeKind {
        /// Linux namespaces, Landlock and seccomp; needs nothing but the kernel.
        Native = "native",
        /// A Docker engine.
        Docker = "docker",
        /// gVisor's `runsc`.
        Gvisor = "gvisor",
        /// Kata Containers.
        Kata = "kata",
        /// Firecracker microVMs.
        Firecracker = "firecracker",
        /// The strongest runtime available, never weaker than native.
        Auto = "auto",
    }
);

named_enum!(
    /// Where a native run with no network scope gets its network namespace.
    NetworkNamespace {
        /// Run as root, it joins the empty namespace kept for its cgroup slot (only `lo`,
        /// down, checked before each run; one run at a time per slot), saving the dearest step
        /// of a launch. Other runs get a fresh one. See docs/security.md.
        Reuse = "reuse",
        /// Every run gets a namespace of its own, made and torn down with it.
        Fresh = "fresh",
    }
);

named_enum!(
    /// The embedded policy templates (seed §4.7), or a user's own policy.
    PolicyTemplate {
        /// Every scope needs approval.
        Strict = "strict",
        /// Low risk allowed, signed medium allowed, the rest needs approval.
        Standard = "standard",
        /// Allow most, approval for critical.
        Permissive = "permissive",
        /// A policy the user wrote.
        Custom = "custom",
    }
);

named_enum!(
    /// Rego syntax version of the active policy.
    RegoVersion {
        /// Rego v1 (`allow if { }`), the default.
        V1 = "v1",
        /// Legacy Rego v0 (`allow { }`).
        V0 = "v0",
    }
);

named_enum!(
    /// Where secret values are stored.
    SecretsBackend {
        /// The local age-encrypted store in `secrets/`.
        Age = "age",
    }
);

/// Resource limits applied to a run unless the skill declares tighter ones.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Limits {
    /// Memory limit in MiB.
    pub memory_mb: u64,
    /// Maximum number of processes.
    pub pids: u64,
    /// CPU share in cores.
    pub cpus: f64,
    /// Wall-clock timeout in seconds.
    pub timeout_s: u64,
    /// The largest file a run may write, in MiB (`RLIMIT_FSIZE`).
    pub file_size_mb: u64,
}

/// The default `sandbox.limits.file_size_mb`: 1 GiB, far above what a skill's output files
/// need, far below a disk (a run once wrote 3 GB in half a second).
pub const DEFAULT_FILE_SIZE_MB: u64 = 1024;

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_mb: 512,
            pids: 128,
            cpus: 1.0,
            timeout_s: 300,
            file_size_mb: DEFAULT_FILE_SIZE_MB,
        }
    }
}

/// The validated configuration every other part reads.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Config {
    /// The sandbox runtime to use.
    pub runtime: RuntimeKind,
    /// Default resource limits.
    pub limits: Limits,
    /// Where a run with no network gets its network namespace.
    pub network_namespace: NetworkNamespace,
    /// The CA store runs see (`sandbox.ca_bundle`, checked to exist when loaded, and before
    /// every run to hold certificates only: `aegisclaw_engine::ca_store`); `None`: the
    /// distribution's.
    pub ca_bundle: Option<PathBuf>,
    /// The template the active policy came from.
    pub policy_template: PolicyTemplate,
    /// Syntax of the active policy.
    pub rego_version: RegoVersion,
    /// Secret store backend.
    pub secrets_backend: SecretsBackend,
    /// Records between automatic audit checkpoints.
    pub checkpoint_every: u64,
    /// The most audit records a run's program can cause (`audit.max_run_records`): distinct
    /// egress records, identical ones collapsed into one counted record. Beyond it, events
    /// are only counted, in one `run.records_capped` record.
    pub max_run_records: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            runtime: RuntimeKind::Native,
            limits: Limits::default(),
            network_namespace: NetworkNamespace::Reuse,
            ca_bundle: None,
            policy_template: PolicyTemplate::Standard,
            rego_version: RegoVersion::V1,
            secrets_backend: SecretsBackend::Age,
            checkpoint_every: 1000,
            max_run_records: 1000,
        }
    }
}

/// The key of a `config.yaml` text in `state/config-parsed`: the sha256 of this build's
/// version and the text, so a text is only ever matched with its own parse by this parser.
fn parse_key(text: &str) -> String {
    home::cache_key(&[text])
}

/// The parse `Config::load` recorded for exactly this text, if any. The YAML parser is the
/// dearest part of a start-up (about 0.1-0.2 ms cold, against a few µs for this JSON); the
/// result is still resolved and validated on every load. Anything unexpected is a miss.
fn cached_parse(home: &Home, text: &str) -> Option<ConfigFile> {
    let cached = home::read_file_text(
        &home.config_cache(),
        home::FileKind::Cache,
        home::Follow::No,
    )
    .ok()?;
    let (key, json) = cached.split_once('\n')?;
    (key == parse_key(text))
        .then(|| serde_json::from_str(json).ok())
        .flatten()
}

/// Records `file` as the parse of `text` (best effort: without it the next load parses again).
fn remember_parse(home: &Home, text: &str, file: &ConfigFile) {
    if let Ok(json) = serde_json::to_string(file) {
        let entry = format!("{}\n{json}\n", parse_key(text));
        let _ = home::write_cache(&home.config_cache(), entry.as_bytes());
    }
}

impl ConfigFile {
    /// Parses YAML text; `path` is only used in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        if text.len() > MAX_CONFIG_BYTES {
            return Err(ConfigError::TooLarge {
                path: path.to_path_buf(),
                size: text.len(),
            });
        }
        if sets_nothing(text) {
            return Err(ConfigError::Empty {
                path: path.to_path_buf(),
            });
        }
        serde_saphyr::from_str_with_options(text, plain_yaml(10_000, 16)).map_err(|error| {
            ConfigError::Parse {
                path: path.to_path_buf(),
                message: yaml_message(&error, path),
            }
        })
    }

    /// The YAML text of this file.
    pub fn to_yaml(&self) -> String {
        serde_saphyr::to_string(self).unwrap_or_default()
    }

    /// Validates and fills defaults. `path` is only used in errors.
    pub fn resolve(&self, path: &Path) -> Result<Config, ConfigError> {
        let defaults = Config::default();
        let invalid = |field: &'static str, problem: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            field,
            problem,
        };
        if let Some(version) = self.version
            && version != 1
        {
            return Err(invalid(
                "version",
                format!("`{version}` is not supported; use `1`"),
            ));
        }
        let sandbox = self.sandbox.clone().unwrap_or_default();
        let runtime = RuntimeKind::or_default(sandbox.runtime.as_deref(), defaults.runtime)
            .map_err(|p| invalid("sandbox.runtime", p))?;
        let limits_file = sandbox.limits.unwrap_or_default();
        let limits = Limits {
            memory_mb: bounded(
                limits_file.memory_mb,
                defaults.limits.memory_mb,
                16,
                1 << 20,
            )
            .map_err(|p| invalid("sandbox.limits.memory_mb", p))?,
            pids: bounded(limits_file.pids, defaults.limits.pids, 1, 1 << 16)
                .map_err(|p| invalid("sandbox.limits.pids", p))?,
            cpus: match limits_file.cpus {
                None => defaults.limits.cpus,
                Some(cpus) if cpus.is_finite() && (MIN_CPUS..=1024.0).contains(&cpus) => cpus,
                Some(cpus) => {
                    return Err(invalid(
                        "sandbox.limits.cpus",
                        format!("`{cpus}` must be at least {MIN_CPUS} and at most 1024"),
                    ));
                }
            },
            timeout_s: bounded(limits_file.timeout_s, defaults.limits.timeout_s, 1, 86_400)
                .map_err(|p| invalid("sandbox.limits.timeout_s", p))?,
            file_size_mb: bounded(
                limits_file.file_size_mb,
                defaults.limits.file_size_mb,
                1,
                1 << 20,
            )
            .map_err(|p| invalid("sandbox.limits.file_size_mb", p))?,
        };
        let ca_bundle = match &sandbox.ca_bundle {
            None => None,
            Some(bundle) if !bundle.is_absolute() => {
                return Err(invalid(
                    "sandbox.ca_bundle",
                    format!("`{}` is not an absolute path", bundle.display()),
                ));
            }
            Some(bundle) if !bundle.is_file() => {
                return Err(invalid(
                    "sandbox.ca_bundle",
                    format!("`{}` is not a file", bundle.display()),
                ));
            }
            Some(bundle) => Some(bundle.clone()),
        };
        let network_namespace = NetworkNamespace::or_default(
            sandbox.network_namespace.as_deref(),
            defaults.network_namespace,
        )
        .map_err(|p| invalid("sandbox.network_namespace", p))?;
        let policy = self.policy.clone().unwrap_or_default();
        let policy_template =
            PolicyTemplate::or_default(policy.template.as_deref(), defaults.policy_template)
                .map_err(|p| invalid("policy.template", p))?;
        let rego_version =
            RegoVersion::or_default(policy.rego_version.as_deref(), defaults.rego_version)
                .map_err(|p| invalid("policy.rego_version", p))?;
        let secrets_backend = SecretsBackend::or_default(
            self.secrets.as_ref().and_then(|s| s.backend.as_deref()),
            defaults.secrets_backend,
        )
        .map_err(|p| invalid("secrets.backend", p))?;
        let checkpoint_every = bounded(
            self.audit.as_ref().and_then(|a| a.checkpoint_every),
            defaults.checkpoint_every,
            1,
            1_000_000,
        )
        .map_err(|p| invalid("audit.checkpoint_every", p))?;
        let max_run_records = bounded(
            self.audit.as_ref().and_then(|a| a.max_run_records),
            defaults.max_run_records,
            10,
            100_000,
        )
        .map_err(|p| invalid("audit.max_run_records", p))?;
        Ok(Config {
            runtime,
            limits,
            network_namespace,
            ca_bundle,
            policy_template,
            rego_version,
            secrets_backend,
            checkpoint_every,
            max_run_records,
        })
    }
}

/// Whether a YAML text holds no node at all: only blank lines, comments and document markers
/// (`---`, `...`, each optionally followed by a comment), after a byte order mark (which the
/// parser drops too: an editor may save an emptied file as one).
fn sets_nothing(text: &str) -> bool {
    text.lines().all(|line| {
        // Byte order marks anywhere count as blanks: the parser drops them too.
        let line = line.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
        let rest = line
            .strip_prefix("---")
            .or_else(|| line.strip_prefix("..."))
            .map_or(line, str::trim_start);
        rest.is_empty() || rest.starts_with('#')
    })
}

/// Parser options for our own plain YAML files (config, policy cases): no anchors or aliases,
/// duplicate keys refused, at most `max_events` events nested `max_depth` deep.
pub(crate) fn plain_yaml(max_events: usize, max_depth: usize) -> serde_saphyr::Options {
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_events: max_events,
            max_aliases: 0,
            max_anchors: 0,
            max_depth: max_depth,
        },
        duplicate_keys: serde_saphyr::options::DuplicateKeyPolicy::Error,
    }
}

/// The YAML parser's message, with its snippet pointing at `path` instead of `<input>`.
pub(crate) fn yaml_message(error: &serde_saphyr::Error, path: &Path) -> String {
    let text = error.to_string();
    let text = text.strip_prefix("error: ").unwrap_or(&text);
    text.replace("<input>", &path.display().to_string())
        .trim_end()
        .to_string()
}

fn bounded(value: Option<u64>, default: u64, min: u64, max: u64) -> Result<u64, String> {
    match value {
        None => Ok(default),
        Some(value) if (min..=max).contains(&value) => Ok(value),
        Some(value) => Err(format!("`{value}` must be between {min} and {max}")),
    }
}

impl Config {
    /// Reads and validates the home's `config.yaml`.
    pub fn load(home: &Home) -> Result<Self, ConfigError> {
        let path = home.config_file();
        let text = home::read_file_text(&path, home::FileKind::Config, home::Follow::No).map_err(
            |source| ConfigError::Read {
                path: path.clone(),
                source,
            },
        )?;
        let file = match cached_parse(home, &text) {
            Some(file) => file,
            None => {
                let file = ConfigFile::parse(&text, &path)?;
                remember_parse(home, &text, &file);
                file
            }
        };
        file.resolve(&path)
    }

    /// The file form of this config, with every value written out.
    pub fn to_file(&self) -> ConfigFile {
        ConfigFile {
            version: Some(1),
            sandbox: Some(SandboxSection {
                runtime: Some(self.runtime.as_str().to_string()),
                limits: Some(LimitsSection {
                    memory_mb: Some(self.limits.memory_mb),
                    pids: Some(self.limits.pids),
                    cpus: Some(self.limits.cpus),
                    timeout_s: Some(self.limits.timeout_s),
                    file_size_mb: Some(self.limits.file_size_mb),
                }),
                network_namespace: Some(self.network_namespace.as_str().to_string()),
                ca_bundle: self.ca_bundle.clone(),
            }),
            policy: Some(PolicySection {
                template: Some(self.policy_template.as_str().to_string()),
                rego_version: Some(self.rego_version.as_str().to_string()),
            }),
            secrets: Some(SecretsSection {
                backend: Some(self.secrets_backend.as_str().to_string()),
            }),
            audit: Some(AuditSection {
                checkpoint_every: Some(self.checkpoint_every),
                max_run_records: Some(self.max_run_records),
            }),
        }
    }

    /// Writes this config as the home's `config.yaml`, atomically, with a header comment.
    pub fn save(&self, home: &Home) -> Result<(), ConfigError> {
        let path = home.config_file();
        let text = format!(
            "# AegisClaw configuration. Unknown keys are errors; see docs/ARCHITECTURE.md.\n{}",
            self.to_file().to_yaml()
        );
        home::atomic_write(&path, text.as_bytes()).map_err(|source| ConfigError::Write {
            path: path.clone(),
            source,
        })
    }
}

#[cfg(test)]
mod tests;
