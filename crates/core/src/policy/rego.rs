//! The regorus glue: parsing with version detection, typed parse errors, the recursion check
//! and smoke evaluation at load, the RVM program compiled once per policy on first use, and the workers
//! (RVM or interpreter) that evaluate entry points. Does not decide outcomes.

use super::PolicyError;
use super::analysis::{self, Analysis, AnalysisError};
use super::input::{PolicyInput, grid};
use crate::config::RegoVersion;
use crate::scope::{Risk, ScopeKind};
use regorus::languages::rego::compiler::Compiler;
use regorus::rvm::{Program, RegoVM};
use regorus::utils::limits::ExecutionTimerConfig;
use regorus::{Engine, Value};
use std::num::NonZeroU32;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Entry point of the `allow` rule.
pub(crate) const ALLOW: &str = "data.aegisclaw.policy.allow";
/// Entry point of the optional `deny` rule.
pub(crate) const DENY: &str = "data.aegisclaw.policy.deny";
/// Entry point of the optional `reason` rule.
pub(crate) const REASON: &str = "data.aegisclaw.policy.reason";
/// Entry point of the generated hit set.
pub(crate) const HITS: &str = "data.aegisclaw.policy.__aegisclaw_rule_hits";
/// Entry point of the generated conflict check.
pub(crate) const CONFLICTS: &str = "data.aegisclaw.policy.__aegisclaw_conflicts";

/// Wall-clock limit of one evaluation; policies are tiny, so this only stops runaways.
const TIME_LIMIT: Duration = Duration::from_millis(250);
/// RVM instruction budget of one evaluation (regorus' default of 25,000 is too tight).
const MAX_INSTRUCTIONS: usize = 1_000_000;

fn timer() -> ExecutionTimerConfig {
    ExecutionTimerConfig {
        limit: TIME_LIMIT,
        check_interval: NonZeroU32::MIN.saturating_add(63),
    }
}

/// A parsed, analysed and smoke-tested policy, ready to decide.
pub(crate) struct Loaded {
    /// The interpreter with the policy (and the instrumentation, if it loaded).
    pub(crate) engine: Engine,
    pub(crate) analysis: Analysis,
    pub(crate) version: RegoVersion,
    /// Whether `HITS` can be evaluated.
    pub(crate) instrumented: bool,
    /// Whether `CONFLICTS` can be evaluated.
    pub(crate) conflict_checked: bool,
    /// The RVM program, compiled on first use (a command that decides nothing never pays
    /// for it), or `None` if the RVM cannot compile this policy.
    program: OnceLock<Option<Arc<Program>>>,
}

impl Loaded {
    pub(crate) fn has_rule(&self, name: &str) -> bool {
        self.analysis.rules.contains(name)
    }

    /// The RVM program, compiled once on first call; `None` when only the interpreter is safe
    /// or the VM cannot compile this policy.
    pub(crate) fn program(&self) -> Option<&Arc<Program>> {
        self.program
            .get_or_init(|| {
                // The VM does not report conflicting values; without the generated check,
                // only the interpreter is safe for a policy that could have them.
                let vm_safe = self.analysis.multi_valued.is_empty() || self.conflict_checked;
                if !vm_safe {
                    return None;
                }
                let entries = entry_points(self);
                self.engine
                    .clone()
                    .compile_with_entrypoint(&ALLOW.into())
                    .ok()
                    .and_then(|compiled| Compiler::compile_from_policy(&compiled, &entries).ok())
            })
            .as_ref()
    }
}

/// How `load` treats the smoke evaluation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Smoke {
    /// Evaluate every entry point on sample inputs (the full check).
    Run,
    /// This exact text passed the full check before: skip the evaluation. The instrumentation
    /// is added only if it was added then, as the module with this sha256; if the module this
    /// build generates differs, everything is checked again.
    Passed(Option<String>),
}

/// The sha256 of the instrumentation module `load` added, for [`Smoke::Passed`].
pub(crate) fn module_digest(loaded: &Loaded) -> Option<String> {
    (loaded.instrumented || loaded.conflict_checked)
        .then_some(loaded.analysis.instrumentation.as_deref())
        .flatten()
        .map(|module| super::sha256_hex(module.as_bytes()))
}

/// Parses, checks and compiles `text`. `None` detects the version: v1 first, then v0.
pub(crate) fn load(
    file: &str,
    text: &str,
    version: Option<RegoVersion>,
    smoke_mode: Smoke,
) -> Result<Loaded, PolicyError> {
    let (mut engine, version) = match version {
        Some(version) => (parse(file, text, version)?, version),
        None => match parse(file, text, RegoVersion::V1) {
            Ok(engine) => (engine, RegoVersion::V1),
            // Only a v1 error that points at legacy syntax is worth a v0 attempt (the v0
            // parser also prints warnings for v1 keywords, which would be noise).
            Err(v1_error) if looks_like_v0(&v1_error) => {
                (parse(file, text, RegoVersion::V0)?, RegoVersion::V0)
            }
            Err(v1_error) => return Err(v1_error),
        },
    };
    let analysis = {
        let modules = engine.get_modules();
        let Some(module) = modules.first() else {
            return Err(compile_error(file, "the policy is empty".to_string()));
        };
        analysis::analyse(module, file, version == RegoVersion::V1).map_err(
            |error| match error {
                AnalysisError::Package(found) => compile_error(
                    file,
                    format!("the package must be `{}`, not `{found}`", analysis::PACKAGE),
                ),
                AnalysisError::Recursion(rule) => PolicyError::Recursion {
                    file: file.to_string(),
                    rule,
                },
                AnalysisError::Reserved => compile_error(
                    file,
                    "rule names starting with `__aegisclaw_` are reserved".to_string(),
                ),
            },
        )?
    };
    if !analysis.rules.contains("allow") {
        return Err(compile_error(
            file,
            "the policy declares no `allow` rule".to_string(),
        ));
    }
    engine.set_execution_timer_config(timer());
    let mut loaded = Loaded {
        engine,
        analysis,
        version,
        instrumented: false,
        conflict_checked: false,
        program: OnceLock::new(),
    };
    // 1. Add the generated instrumentation to the same engine and smoke-evaluate every entry
    //    point once (unsafe variables and bad references only show up when a rule is first
    //    evaluated). If that fails, the policy alone is smoked, so its own error is the one
    //    reported; if the policy alone passes, it runs without instrumentation (rules are then
    //    named without lines).
    let own_entries = entry_points(&loaded);
    let passed = match smoke_mode {
        Smoke::Run => None,
        Smoke::Passed(module) => Some(module),
    };
    let mut smoked = false;
    match (loaded.analysis.instrumentation.clone(), passed.as_ref()) {
        // Passed with the very module this build generates: add it, evaluate nothing.
        (Some(module), Some(Some(digest))) if super::sha256_hex(module.as_bytes()) == *digest => {
            if loaded
                .engine
                .add_policy(format!("{file}#rules"), module)
                .is_err()
            {
                // Not what happened when this text passed: check it all again.
                return load(file, text, Some(version), Smoke::Run);
            }
            loaded.instrumented = !loaded.analysis.bodies.is_empty();
            loaded.conflict_checked = !loaded.analysis.multi_valued.is_empty();
        }
        // Passed with a module this build no longer generates: check it all again.
        (_, Some(Some(_))) => return load(file, text, Some(version), Smoke::Run),
        // Passed without instrumentation, or nothing to instrument.
        (_, Some(None)) | (None, None) => {}
        (Some(module), None) => {
            let has_hits = !loaded.analysis.bodies.is_empty();
            let has_conflicts = !loaded.analysis.multi_valued.is_empty();
            let mut entries = own_entries.clone();
            if has_hits {
                entries.push(HITS);
            }
            if has_conflicts {
                entries.push(CONFLICTS);
            }
            if loaded
                .engine
                .add_policy(format!("{file}#rules"), module)
                .is_ok()
                && smoke(&mut loaded.engine, &entries).is_ok()
            {
                loaded.instrumented = has_hits;
                loaded.conflict_checked = has_conflicts;
                smoked = true;
            } else {
                // The failed addition may have left the engine half-changed: start again from
                // the policy text (the slow path of a broken policy or instrumentation).
                loaded.engine = parse(file, text, version)?;
                loaded.engine.set_execution_timer_config(timer());
            }
        }
    }
    if passed.is_none() && !smoked {
        smoke(&mut loaded.engine, &own_entries).map_err(|message| compile_error(file, message))?;
    }
    if !loaded.instrumented {
        loaded.analysis.bodies.clear();
        loaded.analysis.uninstrumented.extend(["allow", "deny"]);
    }
    // 3. The RVM program is compiled on first use (`Loaded::program`); the interpreter
    //    remains the fallback.
    Ok(loaded)
}

/// The entry points this policy declares, `allow` first.
pub(crate) fn entry_points(loaded: &Loaded) -> Vec<&'static str> {
    let mut entries = vec![ALLOW];
    if loaded.has_rule("deny") {
        entries.push(DENY);
    }
    if loaded.has_rule("reason") {
        entries.push(REASON);
    }
    if loaded.instrumented {
        entries.push(HITS);
    }
    if loaded.conflict_checked {
        entries.push(CONFLICTS);
    }
    entries
}

fn parse(file: &str, text: &str, version: RegoVersion) -> Result<Engine, PolicyError> {
    let mut engine = Engine::new();
    engine.set_rego_v0(version == RegoVersion::V0);
    engine
        .add_policy(file.to_string(), text.to_string())
        .map_err(|error| parse_error(file, &error.to_string()))?;
    Ok(engine)
}

fn looks_like_v0(error: &PolicyError) -> bool {
    matches!(error, PolicyError::Parse { message, .. }
        if message.contains("keyword is required") || message.contains("rego.v1"))
}

/// A located regorus message (`--> file:line:col` and a last `error: ` line).
pub(crate) struct Located {
    pub(crate) line: u32,
    pub(crate) column: u32,
    pub(crate) message: String,
}

/// Finds the location and message in a regorus error text.
pub(crate) fn locate(text: &str) -> Option<Located> {
    let arrow = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("--> "))?;
    let mut parts = arrow.rsplitn(3, ':');
    let column = parts.next()?.trim().parse().ok()?;
    let line = parts.next()?.trim().parse().ok()?;
    let message = text
        .lines()
        .rev()
        .find_map(|line| line.trim().strip_prefix("error: "))
        .map_or_else(|| last_line(text), str::to_string);
    Some(Located {
        line,
        column,
        message,
    })
}

fn last_line(text: &str) -> String {
    text.lines()
        .rev()
        .find(|line| !line.trim().is_empty())
        .unwrap_or(text)
        .trim()
        .to_string()
}

fn parse_error(file: &str, text: &str) -> PolicyError {
    match locate(text) {
        Some(located) => PolicyError::Parse {
            file: file.to_string(),
            line: located.line,
            column: located.column,
            message: located.message,
        },
        None => compile_error(file, last_line(text)),
    }
}

/// An evaluation error as one line: `line:col: message` when regorus located it.
pub(crate) fn one_line(text: &str) -> String {
    match locate(text) {
        Some(located) => format!("{}:{}: {}", located.line, located.column, located.message),
        None => last_line(text),
    }
}

fn compile_error(file: &str, message: String) -> PolicyError {
    PolicyError::Compile {
        file: file.to_string(),
        message,
    }
}

/// The input the smoke evaluation uses.
fn sample_input() -> PolicyInput {
    let mut inputs = grid();
    let index = inputs
        .iter()
        .position(|i| i.scope_kind == ScopeKind::NetOutbound && i.scope_risk == Risk::Medium)
        .unwrap_or(0);
    inputs.swap_remove(index)
}

fn smoke(engine: &mut Engine, entries: &[&str]) -> Result<(), String> {
    let input = to_value(&sample_input(), false)?;
    for approval in [false, true] {
        let mut input = input.clone();
        set_approval(&mut input, approval)?;
        engine.set_input(input);
        for entry in entries {
            engine
                .eval_rule((*entry).to_string())
                .map_err(|error| one_line(&error.to_string()))?;
        }
    }
    Ok(())
}

/// The regorus value of an input with `approval` set.
pub(crate) fn to_value(input: &PolicyInput, approval: bool) -> Result<Value, String> {
    let json = serde_json::to_value(input).map_err(|error| error.to_string())?;
    let mut value = Value::from(json);
    set_approval(&mut value, approval)?;
    Ok(value)
}

pub(crate) fn set_approval(value: &mut Value, approval: bool) -> Result<(), String> {
    value
        .as_object_mut()
        .map_err(|error| error.to_string())?
        .insert(Value::from("approval"), Value::from(approval));
    Ok(())
}

/// Something that evaluates entry points of one policy on one input at a time.
pub(crate) enum Worker {
    /// The register VM running the compiled program (fast path).
    Vm(Box<RegoVM>),
    /// The tree-walking interpreter (fallback, and the reference in tests).
    Interpreter(Box<Engine>),
}

impl Worker {
    /// A VM for `program`, with the instruction and time limits set.
    pub(crate) fn vm(program: &Arc<Program>) -> Self {
        let mut vm = RegoVM::new();
        vm.load_program(Arc::clone(program));
        vm.set_max_instructions(MAX_INSTRUCTIONS);
        vm.set_execution_timer_config(Some(timer()));
        Worker::Vm(Box::new(vm))
    }

    /// An interpreter (a clone of the loaded engine, limits included).
    pub(crate) fn interpreter(engine: &Engine) -> Self {
        Worker::Interpreter(Box::new(engine.clone()))
    }

    pub(crate) fn set_input(&mut self, input: Value) {
        match self {
            Worker::Vm(vm) => vm.set_input(input),
            Worker::Interpreter(engine) => engine.set_input(input),
        }
    }

    pub(crate) fn eval(&mut self, entry: &str) -> Result<Value, String> {
        match self {
            Worker::Vm(vm) => vm
                .execute_entry_point_by_name(entry)
                .map_err(|error| one_line(&error.to_string())),
            Worker::Interpreter(engine) => engine
                .eval_rule(entry.to_string())
                .map_err(|error| one_line(&error.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locate_reads_file_line_column_and_message() {
        let text = "\n--> bad.rego:5:1\n  |\n5 | }\n  | ^\nerror: expecting expression";
        let located = locate(text).unwrap();
        assert_eq!((located.line, located.column), (5, 1));
        assert_eq!(located.message, "expecting expression");
        assert!(locate("no location here").is_none());
    }
}
