//! The skill manifest (DESIGN §4): parsing untrusted `manifest.yaml` text under strict budgets,
//! validation, the exact bytes a signature covers, and writing it back. Does not touch keys,
//! trust or the files on disk (see `skill::sign`).

use crate::canonical;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// The manifest's file name inside a skill directory.
pub const MANIFEST_FILE: &str = "manifest.yaml";
/// Manifests larger than this are rejected before any parsing.
pub const MAX_MANIFEST_BYTES: usize = 256 * 1024;

/// Errors from reading, parsing, validating or serialising a manifest. Each names the file.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The manifest could not be read.
    #[error("cannot read manifest `{path}`")]
    Read {
        /// The manifest file.
        path: PathBuf,
        /// The io error.
        source: std::io::Error,
    },
    /// The manifest is larger than `MAX_MANIFEST_BYTES`.
    #[error("manifest `{path}` is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The manifest file.
        path: PathBuf,
        /// The limit in bytes.
        limit: usize,
    },
    /// The YAML is malformed, over budget, or does not fit the manifest's shape.
    #[error("invalid manifest `{path}`{}{}: {message}", at_line(*line), at_field(field.as_deref()))]
    Yaml {
        /// The manifest file.
        path: PathBuf,
        /// The dotted field the error is about, when known (`resources.memory_mb`).
        field: Option<String>,
        /// The 1-based line, when known.
        line: Option<u64>,
        /// The parser's message.
        message: String,
    },
    /// The YAML exceeds the manifest's parsing budget (nesting, aliases, anchors, events).
    #[error("manifest `{path}` exceeds the YAML budget: `{breach}`")]
    Budget {
        /// The manifest file.
        path: PathBuf,
        /// Which limit was breached, with the count reached.
        breach: String,
    },
    /// A field parsed but its value breaks a rule.
    #[error("invalid manifest `{path}`{} field `{field}`: {problem}", at_line(*line))]
    Invalid {
        /// The manifest file.
        path: PathBuf,
        /// The dotted field (`name`, `resources.cpus`, `files.run.sh`).
        field: String,
        /// The 1-based line, when it could be found.
        line: Option<u64>,
        /// What is wrong, with the offending value in backticks.
        problem: String,
    },
    /// The manifest could not be turned into YAML or signing JSON.
    #[error("cannot serialise manifest of skill `{name}`: {reason}")]
    Serialise {
        /// The skill name.
        name: String,
        /// What the serialiser reported.
        reason: String,
    },
}

fn at_line(line: Option<u64>) -> String {
    line.map(|line| format!(" line {line}")).unwrap_or_default()
}

fn at_field(field: Option<&str>) -> String {
    field
        .map(|field| format!(" field `{field}`"))
        .unwrap_or_default()
}

/// Where a skill runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Platform {
    /// A host process inside the AegisClaw sandbox; needs `entrypoint`.
    #[default]
    Native,
    /// One container; needs `image`.
    Docker,
    /// Several containers from `compose_file`.
    DockerCompose,
}

impl Platform {
    /// The manifest spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Native => "native",
            Self::Docker => "docker",
            Self::DockerCompose => "docker-compose",
        }
    }
}

/// Resource limits a skill asks for; absent values fall back to the config's limits.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// Memory limit in MiB (16 to 1048576).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory_mb: Option<u64>,
    /// CPU share (above 0, at most 1024).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<f64>,
    /// Maximum number of processes (1 to 65536).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids: Option<u64>,
    /// Wall-clock limit in seconds (1 to 86400).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_s: Option<u64>,
    /// The largest file the skill may write, in MiB (1 to 1048576). Absent from the signed
    /// bytes when absent here, so manifests signed before it existed still verify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_size_mb: Option<u64>,
}

/// One service of a `docker-compose` skill.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// The scopes this service is granted (parsed elsewhere).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
}

/// A skill manifest exactly as `manifest.yaml` states it (DESIGN §4).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// `[a-z0-9][a-z0-9-]{0,63}`; also the directory name once installed.
    pub name: String,
    /// A semantic version, kept as written.
    pub version: String,
    /// One line for humans.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Where the skill runs.
    #[serde(default)]
    pub platform: Platform,
    /// Container image; required for `docker`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Command and arguments; required for `native`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entrypoint: Vec<String>,
    /// Declared scopes, as text (parsed by `crate::scope`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// Requested limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
    /// Compose file relative to the skill directory; required for `docker-compose`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compose_file: Option<String>,
    /// Services of a `docker-compose` skill and their scopes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub services: BTreeMap<String, Service>,
    /// Every file of the skill (relative path with `/`) and its `sha256:<hex>` digest.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, String>,
    /// `ed25519:<base64>` over `SKILL_DOMAIN || signing_payload()`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// Key id of the signer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publisher: Option<String>,
}

impl Manifest {
    /// Reads and parses `path`, refusing files over `MAX_MANIFEST_BYTES` without reading them whole.
    pub fn load(path: &Path) -> Result<Self, ManifestError> {
        let read = |source| ManifestError::Read {
            path: path.to_path_buf(),
            source,
        };
        let file = fs_err::File::open(path).map_err(read)?;
        let mut bytes = Vec::new();
        file.take(MAX_MANIFEST_BYTES as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(read)?;
        if bytes.len() > MAX_MANIFEST_BYTES {
            return Err(ManifestError::TooLarge {
                path: path.to_path_buf(),
                limit: MAX_MANIFEST_BYTES,
            });
        }
        let text = String::from_utf8(bytes).map_err(|_| {
            read(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "not valid UTF-8",
            ))
        })?;
        Self::parse(&text, path)
    }

    /// Parses untrusted YAML text and validates it. `source` is only used in errors.
    pub fn parse(text: &str, source: &Path) -> Result<Self, ManifestError> {
        if text.len() > MAX_MANIFEST_BYTES {
            return Err(ManifestError::TooLarge {
                path: source.to_path_buf(),
                limit: MAX_MANIFEST_BYTES,
            });
        }
        // 1. The whole event stream against the budget first, so a bomb is refused as one even
        //    where the typed parse would have stopped earlier for another reason.
        let budget = manifest_budget();
        if let Ok(report) = serde_saphyr::budget::check_yaml_budget(
            text,
            budget.clone(),
            serde_saphyr::budget::EnforcingPolicy::AllContent,
        ) && let Some(breach) = report.breached
        {
            return Err(ManifestError::Budget {
                path: source.to_path_buf(),
                breach: format!("{breach:?}"),
            });
        }
        // 2. The typed parse, with the same budget and the alias replay limits.
        let options = serde_saphyr::options! {
            budget: Some(budget),
            alias_limits: serde_saphyr::alias_limits! {
                max_total_replayed_events: 1_000,
                max_replay_stack_depth: 4,
                max_alias_expansions_per_anchor: 16,
            },
            duplicate_keys: serde_saphyr::options::DuplicateKeyPolicy::Error,
            merge_keys: serde_saphyr::options::MergeKeyPolicy::Error,
            with_snippet: false,
        };
        let manifest: Self =
            serde_saphyr::from_str_with_options(text, options).map_err(|error| {
                let location = error.location();
                let line = location.map(|location| location.line());
                let column = location.map(|location| location.column());
                let message = error.to_string();
                let message = message.strip_prefix("error: ").unwrap_or(&message);
                ManifestError::Yaml {
                    path: source.to_path_buf(),
                    field: line.and_then(|line| field_at(text, line, column.unwrap_or(1))),
                    line,
                    message: message.trim_end().to_string(),
                }
            })?;
        // 3. The rules serde cannot express.
        manifest
            .validate()
            .map_err(|(keys, problem)| ManifestError::Invalid {
                path: source.to_path_buf(),
                line: line_of(text, &keys),
                field: keys.join("."),
                problem,
            })?;
        Ok(manifest)
    }

    /// The parsed `version`; `parse` has already checked that it is valid semver.
    pub fn semver(&self) -> Option<semver::Version> {
        semver::Version::parse(&self.version).ok()
    }

    /// The bytes a signature covers (after `SKILL_DOMAIN`): RFC 8785 canonical JSON of the
    /// manifest without `signature`, absent optional fields left out.
    pub fn signing_payload(&self) -> Result<Vec<u8>, ManifestError> {
        let failed = |reason: String| ManifestError::Serialise {
            name: self.name.clone(),
            reason,
        };
        let mut value = serde_json::to_value(self).map_err(|error| failed(error.to_string()))?;
        if let serde_json::Value::Object(map) = &mut value {
            map.remove("signature");
        }
        canonical::to_canonical_vec(&value).map_err(|error| failed(error.to_string()))
    }

    /// The lower-case hex sha256 of [`Manifest::signing_payload`]: one release of a skill,
    /// its every file included (the manifest lists their digests).
    pub fn signed_digest(&self) -> Result<String, ManifestError> {
        use sha2::Digest as _;
        Ok(hex::encode(sha2::Sha256::digest(self.signing_payload()?)))
    }

    /// The YAML text of this manifest, fields in their documented order.
    pub fn to_yaml(&self) -> Result<String, ManifestError> {
        serde_saphyr::to_string(self).map_err(|error| ManifestError::Serialise {
            name: self.name.clone(),
            reason: error.to_string(),
        })
    }

    /// Checks every rule serde cannot express; the error is the field's keys and the problem.
    fn validate(&self) -> Result<(), (Vec<String>, String)> {
        let fail = |keys: &[&str], problem: String| {
            Err((keys.iter().map(|key| key.to_string()).collect(), problem))
        };
        if !is_valid_name(&self.name) {
            return fail(
                &["name"],
                format!("`{}` must match `[a-z0-9][a-z0-9-]{{0,63}}`", self.name),
            );
        }
        if let Err(error) = semver::Version::parse(&self.version) {
            return fail(
                &["version"],
                format!("`{}` is not a semantic version: {error}", self.version),
            );
        }
        match self.platform {
            Platform::Native if self.entrypoint.is_empty() => {
                return fail(&["entrypoint"], "required for platform `native`".into());
            }
            Platform::Docker if self.image.as_deref().is_none_or(str::is_empty) => {
                return fail(&["image"], "required for platform `docker`".into());
            }
            Platform::DockerCompose if self.compose_file.is_none() => {
                return fail(
                    &["compose_file"],
                    "required for platform `docker-compose`".into(),
                );
            }
            Platform::Native | Platform::Docker if self.compose_file.is_some() => {
                return fail(
                    &["compose_file"],
                    "allowed only for platform `docker-compose`".into(),
                );
            }
            Platform::Native | Platform::Docker if !self.services.is_empty() => {
                return fail(
                    &["services"],
                    "allowed only for platform `docker-compose`".into(),
                );
            }
            _ => {}
        }
        if let Some(first) = self.entrypoint.first()
            && first.is_empty()
        {
            return fail(&["entrypoint"], "the command must not be empty".into());
        }
        if let Some(compose) = &self.compose_file
            && let Err(problem) = check_relative_path(compose)
        {
            return fail(&["compose_file"], problem);
        }
        if let Some(resources) = &self.resources {
            check_resources(resources).map_err(|(key, problem)| {
                (vec!["resources".to_string(), key.to_string()], problem)
            })?;
        }
        for name in self.services.keys() {
            if !is_valid_service_name(name) {
                return Err((
                    vec!["services".into(), name.clone()],
                    format!("service name `{name}` must match `[a-zA-Z0-9][a-zA-Z0-9_.-]{{0,63}}`"),
                ));
            }
        }
        for (path, digest) in &self.files {
            let keys = vec!["files".to_string(), path.clone()];
            check_relative_path(path).map_err(|problem| (keys.clone(), problem))?;
            if path == MANIFEST_FILE {
                return Err((keys, "the manifest cannot list itself".into()));
            }
            if !is_valid_digest(digest) {
                return Err((
                    keys,
                    format!("`{digest}` is not `sha256:<64 lowercase hex>`"),
                ));
            }
        }
        if let Some(publisher) = &self.publisher
            && !(publisher.len() == 16 && is_lower_hex(publisher))
        {
            return fail(
                &["publisher"],
                format!("`{publisher}` is not a key id (16 lowercase hex digits)"),
            );
        }
        Ok(())
    }
}

/// A manifest is a flat map with a few short lists: these limits are generous for that and stop
/// nesting, alias and event bombs long before they cost memory.
fn manifest_budget() -> serde_saphyr::Budget {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_events = 50_000;
    budget.max_nodes = 50_000;
    budget.max_aliases = 16;
    budget.max_anchors = 16;
    budget.max_depth = 8;
    budget.max_documents = 1;
    budget.max_merge_keys = 0;
    budget.max_total_scalar_bytes = MAX_MANIFEST_BYTES;
    budget
}

fn check_resources(resources: &Resources) -> Result<(), (&'static str, String)> {
    let range = |key: &'static str, value: Option<u64>, min: u64, max: u64| match value {
        Some(value) if !(min..=max).contains(&value) => {
            Err((key, format!("`{value}` must be between {min} and {max}")))
        }
        _ => Ok(()),
    };
    range("memory_mb", resources.memory_mb, 16, 1 << 20)?;
    range("pids", resources.pids, 1, 1 << 16)?;
    range("timeout_s", resources.timeout_s, 1, 86_400)?;
    range("file_size_mb", resources.file_size_mb, 1, 1 << 20)?;
    if let Some(cpus) = resources.cpus
        && !(cpus.is_finite() && (crate::config::MIN_CPUS..=1024.0).contains(&cpus))
    {
        return Err((
            "cpus",
            format!(
                "`{cpus}` must be at least {} and at most 1024",
                crate::config::MIN_CPUS
            ),
        ));
    }
    Ok(())
}

/// Whether `name` is a valid skill name: `[a-z0-9][a-z0-9-]{0,63}`.
pub fn is_valid_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 64
        && bytes[0] != b'-'
        && bytes
            .iter()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || *byte == b'-')
}

fn is_valid_service_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 64
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'.' | b'-'))
}

fn is_lower_hex(text: &str) -> bool {
    text.bytes()
        .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
}

fn is_valid_digest(digest: &str) -> bool {
    digest
        .strip_prefix("sha256:")
        .is_some_and(|hex| hex.len() == 64 && is_lower_hex(hex))
}

/// A path inside the skill: relative, `/`-separated, no empty, `.` or `..` segments.
fn check_relative_path(path: &str) -> Result<(), String> {
    let bad = path.is_empty()
        || path.starts_with('/')
        || path.contains('\\')
        || path.contains('\0')
        || path
            .split('/')
            .any(|segment| segment.is_empty() || segment == "." || segment == "..");
    if bad {
        Err(format!(
            "`{path}` must be a relative path inside the skill without `.` or `..` segments"
        ))
    } else {
        Ok(())
    }
}

/// Every `key:` token on `line` with its byte offset (keys are plain scalars of the manifest).
fn keys_on(line: &str) -> Vec<(usize, &str)> {
    let is_key_byte =
        |byte: u8| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.' | b'/');
    let bytes = line.as_bytes();
    let mut found = Vec::new();
    for (index, byte) in bytes.iter().enumerate() {
        let ends_value = bytes.get(index + 1).is_none_or(|next| *next == b' ');
        if *byte != b':' || !ends_value {
            continue;
        }
        let start = bytes[..index]
            .iter()
            .rposition(|byte| !is_key_byte(*byte))
            .map_or(0, |position| position + 1);
        if start < index {
            found.push((start, &line[start..index]));
        }
    }
    found
}

/// Best-effort dotted field for a parser error at `line`/`column` (1-based): the last key that
/// starts at or before the column, prefixed by the block keys that enclose it.
fn field_at(text: &str, line: u64, column: u64) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let index = usize::try_from(line).ok()?.checked_sub(1)?;
    let current = lines.get(index)?;
    let column = usize::try_from(column).ok()?.saturating_sub(1);
    let keys = keys_on(current);
    let (offset, key) = keys
        .iter()
        .rev()
        .find(|(offset, _)| *offset <= column)
        .or(keys.first())?;
    let mut path = vec![key.to_string()];
    let mut indent = current.len() - current.trim_start().len();
    if *offset > indent {
        // A flow mapping (`resources: {memory_mb: x}`): earlier keys on the line enclose it.
        let opens_map = |start: usize, key: &str| {
            current[start + key.len() + 1..]
                .trim_start()
                .starts_with('{')
        };
        for (_, outer) in keys
            .iter()
            .filter(|(start, outer)| start < offset && opens_map(*start, outer))
            .rev()
        {
            path.push(outer.to_string());
        }
    }
    for earlier in lines[..index].iter().rev() {
        let trimmed = earlier.trim_start();
        let earlier_indent = earlier.len() - trimmed.len();
        if trimmed.is_empty() || trimmed.starts_with('#') || earlier_indent >= indent {
            continue;
        }
        if let Some((0, outer)) = keys_on(trimmed).first() {
            path.push(outer.to_string());
        }
        indent = earlier_indent;
        if indent == 0 {
            break;
        }
    }
    path.reverse();
    Some(path.join("."))
}

/// Best-effort 1-based line of the field `keys` (each key searched after its parent's line).
fn line_of(text: &str, keys: &[String]) -> Option<u64> {
    let lines: Vec<&str> = text.lines().collect();
    let mut from = 0;
    for key in keys {
        let found = lines[from..].iter().position(|line| {
            keys_on(line).iter().any(|(_, candidate)| candidate == key)
                || line
                    .trim_start()
                    .strip_prefix("- ")
                    .is_some_and(|item| item.starts_with(key.as_str()))
        })?;
        from += found;
    }
    u64::try_from(from + 1).ok()
}

#[cfg(test)]
mod tests;
