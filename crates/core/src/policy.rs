//! Rego policy (DESIGN §5): the embedded templates and their cases, compiling a policy once
//! (v0 or v1, recursion rejected, smoke-evaluated) and deciding each scope by the §5
//! procedure with the rules that produced the decision. Does not read config or write files.

mod analysis;
mod cases;
mod decision;
mod input;
mod rego;

pub use crate::config::{PolicyTemplate, RegoVersion};
pub use cases::{
    CaseFailure, CaseFile, CaseReport, CaseResult, CaseSpec, complete_input, run_cases,
};
pub use decision::{Decision, Outcome};
pub use input::{PolicyInput, SkillFacts, grid, representative_target};

use crate::config::Config;
use crate::home::{self, Home, HomeError};
use decision::Meta;
use rego::{Loaded, Worker};
use sha2::{Digest as _, Sha256};
use std::path::PathBuf;
use std::sync::Mutex;

/// Idle workers kept per policy; more concurrent deciders create and drop their own.
const POOL_SIZE: usize = 8;

/// Errors loading, compiling or testing a policy. Every variant names its file.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    /// The Rego text does not parse.
    #[error("invalid policy `{file}:{line}:{column}`: {message}")]
    Parse {
        /// The policy's name.
        file: String,
        /// 1-based line.
        line: u32,
        /// 1-based column.
        column: u32,
        /// The parser's message.
        message: String,
    },
    /// The policy parses but cannot be used (wrong package, no `allow`, unsafe variable).
    #[error("invalid policy `{file}`: {message}")]
    Compile {
        /// The policy's name.
        file: String,
        /// What is wrong, with `line:column` where known.
        message: String,
    },
    /// A rule or function refers back to itself, which Rego forbids.
    #[error("invalid policy `{file}`: recursion is not allowed in Rego: {rule}")]
    Recursion {
        /// The policy's name.
        file: String,
        /// The cycle (`f -> g -> f`).
        rule: String,
    },
    /// Evaluation failed outside a decision (decisions fail closed instead).
    #[error("policy `{file}` failed to evaluate: {message}")]
    Eval {
        /// The policy's name.
        file: String,
        /// The evaluator's message.
        message: String,
    },
    /// A policy or cases file could not be read.
    #[error("cannot read `{path}`")]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: HomeError,
    },
    /// A cases file is malformed.
    #[error("invalid cases file `{path}`: {message}")]
    Cases {
        /// The cases file.
        path: PathBuf,
        /// What is wrong, naming the case where there is one.
        message: String,
    },
    /// The name is not an embedded template.
    #[error(
        "`{name}` is not an embedded policy template; use `strict`, `standard` or `permissive`"
    )]
    NotATemplate {
        /// The name given.
        name: String,
    },
}

/// The Rego text of an embedded template, or `None` for `custom`.
pub fn template_text(template: PolicyTemplate) -> Option<&'static str> {
    match template {
        PolicyTemplate::Strict => Some(include_str!("policy/templates/strict.rego")),
        PolicyTemplate::Standard => Some(include_str!("policy/templates/standard.rego")),
        PolicyTemplate::Permissive => Some(include_str!("policy/templates/permissive.rego")),
        PolicyTemplate::Custom => None,
    }
}

/// The test cases of an embedded template, or `None` for `custom`.
pub fn template_cases(template: PolicyTemplate) -> Option<&'static str> {
    match template {
        PolicyTemplate::Strict => Some(include_str!("policy/templates/strict.cases.yaml")),
        PolicyTemplate::Standard => Some(include_str!("policy/templates/standard.cases.yaml")),
        PolicyTemplate::Permissive => Some(include_str!("policy/templates/permissive.cases.yaml")),
        PolicyTemplate::Custom => None,
    }
}

/// The lower-case hex sha256 of `bytes` (audit records name policy versions by it).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A compiled policy: parsed, checked and compiled once, then decided repeatedly from any
/// thread.
pub struct Policy {
    name: String,
    text: String,
    loaded: Loaded,
    pool: Mutex<Vec<Worker>>,
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy")
            .field("name", &self.name)
            .field("rego_version", &self.loaded.version)
            .field("engine", &self.engine_kind())
            .finish_non_exhaustive()
    }
}

impl Policy {
    /// Compiles `text`, named `file_name` in errors and rule labels. `None` detects the
    /// syntax: v1 first, then legacy v0. Rejects a wrong package, a missing `allow`,
    /// recursion, and rules that fail on a sample input.
    pub fn compile(
        file_name: &str,
        text: &str,
        version: Option<RegoVersion>,
    ) -> Result<Policy, PolicyError> {
        Self::build(file_name, text, version, rego::Smoke::Run)
    }

    fn build(
        file_name: &str,
        text: &str,
        version: Option<RegoVersion>,
        smoke: rego::Smoke,
    ) -> Result<Policy, PolicyError> {
        let loaded = rego::load(file_name, text, version, smoke)?;
        Ok(Policy {
            name: file_name.to_string(),
            text: text.to_string(),
            loaded,
            pool: Mutex::new(Vec::new()),
        })
    }

    /// An embedded template, named `<template>.rego`; `custom` is an error.
    pub fn template(template: PolicyTemplate) -> Result<Policy, PolicyError> {
        let text = template_text(template).ok_or_else(|| PolicyError::NotATemplate {
            name: template.as_str().to_string(),
        })?;
        Self::compile(&format!("{template}.rego"), text, Some(RegoVersion::V1))
    }

    /// The home's active policy, `policies/default.rego`, in the config's Rego version.
    ///
    /// The first load of a given text runs every check [`Policy::compile`] runs and records
    /// that it passed in `state/policy-validated` (a cache, keyed by this build and the text's
    /// sha256). Later loads of the same text skip the smoke evaluation on sample inputs,
    /// which is deterministic for one build; a forged marker can only skip a check whose
    /// failures would fail closed anyway (an evaluation error is a deny).
    pub fn load_active(home: &Home, config: &Config) -> Result<Policy, PolicyError> {
        const FILE: &str = "policies/default.rego";
        let path = home.default_policy();
        let text = home::read_file_text(&path, home::FileKind::Policy, home::Follow::No).map_err(
            |source| PolicyError::Read {
                path: path.clone(),
                source,
            },
        )?;
        let version = config.rego_version;
        let key = home::cache_key(&[FILE, version.as_str(), &text]);
        let marker = home.policy_marker();
        let passed = home::read_file_text(&marker, home::FileKind::Cache, home::Follow::No)
            .ok()
            .and_then(|line| {
                let (marked, module) = line.trim().split_once(' ')?;
                (marked == key).then(|| (module != "plain").then(|| module.to_string()))
            });
        if let Some(module) = passed {
            return Self::build(FILE, &text, Some(version), rego::Smoke::Passed(module));
        }
        let policy = Self::build(FILE, &text, Some(version), rego::Smoke::Run)?;
        let module = rego::module_digest(&policy.loaded).unwrap_or_else(|| "plain".to_string());
        let line = format!("{key} {module}\n");
        // Best effort: without the marker the next load checks everything again.
        let _ = home::write_cache(&marker, line.as_bytes());
        Ok(policy)
    }

    /// Decides one scope by DESIGN §5: `allow` if allowed with `approval: false`, else
    /// `needs_approval` if allowed with `approval: true`, else `deny`. An evaluation error
    /// is a `deny` whose `errors` say why (fail closed).
    pub fn decide(&self, input: &PolicyInput) -> Result<Decision, PolicyError> {
        let mut worker = self
            .pool
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop()
            .unwrap_or_else(|| self.new_worker());
        let decision = decision::decide(&mut worker, &self.meta(), input);
        let mut pool = self
            .pool
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if pool.len() < POOL_SIZE {
            pool.push(worker);
        }
        Ok(decision)
    }

    /// The name given at compile time (`standard.rego`, `policies/default.rego`).
    pub fn source_name(&self) -> &str {
        &self.name
    }

    /// The Rego syntax the policy was compiled as.
    pub fn rego_version(&self) -> RegoVersion {
        self.loaded.version
    }

    /// The policy's Rego text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// `rvm` when decisions run on the compiled register VM, `interpreter` when the policy
    /// uses something the VM cannot compile.
    pub fn engine_kind(&self) -> &'static str {
        if self.loaded.program().is_some() {
            "rvm"
        } else {
            "interpreter"
        }
    }

    fn new_worker(&self) -> Worker {
        match self.loaded.program() {
            Some(program) => Worker::vm(program),
            None => Worker::interpreter(&self.loaded.engine),
        }
    }

    fn meta(&self) -> Meta<'_> {
        Meta {
            file: &self.name,
            analysis: &self.loaded.analysis,
            has_deny: self.loaded.has_rule("deny"),
            has_reason: self.loaded.has_rule("reason"),
            instrumented: self.loaded.instrumented,
            conflict_checked: self.loaded.conflict_checked,
        }
    }
}

#[cfg(test)]
mod tests;
