//! The first half of the envelope (DESIGN §1), everything before the sandbox: resolve the skill,
//! verify its signature and files, check lockdown, parse and rate its scopes, decide each by
//! policy, and ask a human where the policy says so. Every step is an audit record, made
//! durable before anything acts on it. Launching is the runtime's job.

mod files;
mod objects;
mod paths;

pub(crate) use files::RUN_PATH;
pub use paths::ScopePathError;
pub(crate) use paths::scope_context;

use crate::approval::{Answer, ApprovalBroker, ApprovalRequest};
use crate::ca_store::{self, CaStore, CaStoreError};
use crate::context::{Context, ContextError};
use crate::runtime::{self, RuntimeChoice};
use aegisclaw_core::approval::{DEFAULT_GRANT_DAYS, GrantSubject, Grants, Release};
use aegisclaw_core::audit::Event;
use aegisclaw_core::env;
use aegisclaw_core::lockdown;
use aegisclaw_core::policy::{Decision, Outcome, Policy, PolicyInput, SkillFacts};
use aegisclaw_core::scope::{Risk, Scope};
use aegisclaw_core::skill::manifest::{Manifest, Platform, Resources};
use aegisclaw_core::skill::sign;
use aegisclaw_core::timestamp::Timestamp;
use aegisclaw_sandbox::path::{OpenedPath, open_scope_path};
use serde::Serialize;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// What to run.
#[derive(Clone, Debug)]
pub enum SkillSource {
    /// An installed skill, by name.
    Installed {
        /// The skill's name.
        name: String,
    },
    /// An ad-hoc command: an unsigned skill (`skill_signed: false` for the policy).
    AdHoc {
        /// The command and its arguments.
        argv: Vec<String>,
        /// The scopes asked for.
        scopes: Vec<String>,
    },
}

/// A request to run something through the envelope.
#[derive(Clone, Debug)]
pub struct RunRequest {
    /// The skill.
    pub source: SkillSource,
    /// Extra arguments after the skill's entrypoint.
    pub args: Vec<String>,
    /// The run's working directory on the host.
    pub workdir: PathBuf,
}

/// The decision about one scope.
#[derive(Clone, Debug, Serialize)]
pub struct ScopeVerdict {
    /// The normalised scope as decided: a path scope names its resolved path.
    pub scope: String,
    /// The text as asked, when it differs (a symlink, `~`, or no path at all).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested: Option<String>,
    /// Its risk.
    pub risk: Risk,
    /// What the policy decided.
    pub decision: Decision,
    /// What the human answered, when asked.
    pub answer: Option<Answer>,
    /// Whether a remembered grant answered instead of a human.
    pub from_grant: bool,
    /// Whether the scope is granted in the end.
    pub granted: bool,
    /// For a path scope: the host object it names (`dev:ino`), which a grant is bound to.
    #[serde(skip)]
    object: Option<String>,
}

/// Why a run was refused before it started.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefusalStage {
    /// Lockdown is on (or its state is unreadable).
    Lockdown,
    /// Signature, trust or file digests failed.
    Verification,
    /// A scope does not parse, or its path cannot be opened or is of the wrong kind.
    Scope,
    /// The policy denied a scope.
    Policy,
    /// A human (or the absence of one) refused a scope.
    Approval,
    /// The configured runtime cannot run anything here (no adapter; never a silent
    /// downgrade), or cannot honour the skill's manifest platform.
    Runtime,
    /// The CA store every run is given is refused (not certificates only, or where a
    /// `files.read` scope would be critical): `crate::ca_store`.
    CaStore,
}

/// The outcome of authorisation.
#[derive(Debug)]
pub enum Verdict {
    /// Everything is granted; the run may start.
    Authorised(Box<Authorised>),
    /// The run must not start.
    Refused {
        /// The run id (its records carry it).
        run: String,
        /// Where it was refused.
        stage: RefusalStage,
        /// Why, for the user.
        reason: String,
        /// The scope decisions made before the refusal.
        scopes: Vec<ScopeVerdict>,
    },
}

/// A run that may start: the skill, its command and its granted scopes.
#[derive(Debug)]
pub struct Authorised {
    /// The run id.
    pub run: String,
    /// What the policy saw of the skill.
    pub skill: SkillFacts,
    /// The installed skill's directory, opened before it was verified (`None` for ad-hoc
    /// runs); the run binds this object.
    pub skill_dir: Option<OpenedPath>,
    /// The command: the entrypoint (or ad-hoc argv) and the request's arguments.
    pub argv: Vec<String>,
    /// The working directory.
    pub workdir: PathBuf,
    /// The parsed scopes, all granted, path scopes as resolved.
    pub scopes: Vec<Scope>,
    /// The runtime that will run it (what policy was told).
    pub runtime: RuntimeChoice,
    /// The host objects the granted `files.*` and `unix.connect` scopes name, opened once
    /// and decided on; the run binds exactly these.
    pub paths: Vec<ScopePath>,
    /// The skill's declared resource limits.
    pub resources: Option<Resources>,
    /// The skill's own files (relative paths), which the run sees read-only.
    pub files: Vec<String>,
    /// The CA store the run is given, checked (`None`: the host has none).
    pub ca_store: Option<CaStore>,
    /// The decisions, for reports.
    pub verdicts: Vec<ScopeVerdict>,
    /// The lockdown state file as authorisation found it (off): the check after the run is
    /// registered reads it again only if it changed since.
    pub(crate) lockdown_seen: Option<lockdown::Seen>,
    /// Records not written yet: `run::execute` writes them with the launch record in one
    /// fsync. A caller that does not execute the run must write them itself
    /// (`Context::record_batch`).
    pub pending: Vec<Event>,
}

/// A host object a granted scope names.
#[derive(Clone, Debug)]
pub struct ScopePath {
    /// The granted scope; its target is the object's resolved path.
    pub scope: Scope,
    /// The object as opened when it was decided on.
    pub opened: OpenedPath,
}

/// Errors that stop authorisation itself (as opposed to a refusal, which is a `Verdict`).
#[derive(Debug, thiserror::Error)]
pub enum AuthoriseError {
    /// The home, config, trust store or audit log failed.
    #[error(transparent)]
    Context(#[from] ContextError),
    /// The policy could not be evaluated at all.
    #[error(transparent)]
    Policy(#[from] aegisclaw_core::policy::PolicyError),
    /// The grants file failed.
    #[error(transparent)]
    Grants(#[from] aegisclaw_core::approval::ApprovalError),
    /// The installed skill does not exist.
    #[error("skill `{name}` is not installed (see `aegisclaw skill list`)")]
    NotInstalled {
        /// The name asked for.
        name: String,
    },
    /// The CA store every run is given is refused (the run is, on the record, before this).
    #[error(transparent)]
    CaStore(#[from] CaStoreError),
    /// A verified manifest could not be serialised again to bind grants to it.
    #[error(transparent)]
    Manifest(#[from] aegisclaw_core::skill::manifest::ManifestError),
}

/// The policy [`authorise`] decides with: one already loaded, or the home's active policy
/// loaded when the first scope is decided. A run that asks for no scope decides nothing, so
/// it never pays for parsing the policy (the policy has no say over a run it grants nothing).
#[derive(Debug, Default)]
pub struct LazyPolicy {
    loaded: OnceLock<Policy>,
}

impl LazyPolicy {
    /// The home's active policy (`policies/default.rego`), loaded on first use.
    pub fn active() -> Self {
        Self::default()
    }

    /// The policy, loading the active one from `context`'s home if none is loaded yet.
    pub fn get(&self, context: &Context) -> Result<&Policy, aegisclaw_core::policy::PolicyError> {
        if let Some(policy) = self.loaded.get() {
            return Ok(policy);
        }
        let policy = Policy::load_active(context.home(), context.config())?;
        Ok(self.loaded.get_or_init(|| policy))
    }
}

/// A new run id: 16 hex digits of randomness.
pub fn new_run_id() -> String {
    let mut bytes = [0u8; 8];
    // A failing random source still yields a unique-enough id from the clock.
    if getrandom_fill(&mut bytes).is_err() {
        bytes = (Timestamp::now().unix_nanos() as u64).to_be_bytes();
    }
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn getrandom_fill(bytes: &mut [u8]) -> std::io::Result<()> {
    use std::io::Read as _;
    fs_err::File::open("/dev/urandom")?.read_exact(bytes)
}

/// Runs the envelope up to the runtime (steps 1–6 of DESIGN §1).
pub fn authorise(
    context: &mut Context,
    policy: &LazyPolicy,
    broker: &mut dyn ApprovalBroker,
    request: RunRequest,
) -> Result<Verdict, AuthoriseError> {
    let run = new_run_id();
    // Compared with resolved scope paths from here on (a path-less `files.*` scope is it).
    let request = RunRequest {
        workdir: paths::resolve_leniently(&request.workdir).unwrap_or(request.workdir),
        ..request
    };
    let actor = context.actor().to_string();
    let mut pending: Vec<Event> = Vec::new();
    let refuse = |context: &mut Context,
                  mut pending: Vec<Event>,
                  stage: RefusalStage,
                  reason: String,
                  scopes: Vec<ScopeVerdict>|
     -> Result<Verdict, AuthoriseError> {
        pending.push(
            context
                .event("run.refused")
                .run(&run)
                .decision("deny")
                .reason(&reason)
                .data(json!({"stage": stage})),
        );
        context.record_batch(pending)?;
        Ok(Verdict::Refused {
            run: run.clone(),
            stage,
            reason,
            scopes,
        })
    };

    // 1. Resolve the skill. A signed skill's grants are bound to its release: the sha256 of
    // its signed manifest, which lists every file's digest.
    let mut manifest_digest: Option<String> = None;
    let (facts, skill_dir, mut argv, scope_texts, resources, files, platform) = match &request
        .source
    {
        SkillSource::Installed { name } => {
            let dir = context.home().skills_dir().join(name);
            if !aegisclaw_core::skill::manifest::is_valid_name(name) || !dir.is_dir() {
                return Err(AuthoriseError::NotInstalled { name: name.clone() });
            }
            // The directory the run will bind is opened before it is verified, and must
            // still be that directory once verified.
            let opened = match open_scope_path(&dir) {
                Ok(opened) => opened,
                Err(error) => {
                    let reason = crate::doctor::error_chain(&error);
                    return refuse(
                        context,
                        pending,
                        RefusalStage::Verification,
                        reason,
                        Vec::new(),
                    );
                }
            };
            // 2. Verify signature, trust and every file, at run time.
            let trust = context.trust()?;
            let verified = match sign::verify_dir(&dir, &trust) {
                Ok(verified)
                    if open_scope_path(&dir).is_ok_and(|again| again.same_object(&opened)) =>
                {
                    Ok(verified)
                }
                Ok(_) => Err(format!(
                    "skill directory `{}` was replaced while it was verified",
                    dir.display()
                )),
                Err(error) => Err(crate::doctor::error_chain(&error)),
            };
            match verified {
                Ok(verified) => {
                    let manifest: Manifest = verified.manifest;
                    manifest_digest = Some(manifest.signed_digest()?);
                    pending.push(
                        context
                            .event("skill.verify")
                            .run(&run)
                            .skill(name)
                            .decision("pass")
                            .data(json!({"publisher": verified.publisher, "files": verified.file_count})),
                    );
                    let facts = SkillFacts {
                        name: manifest.name.clone(),
                        version: manifest.version.clone(),
                        publisher: Some(verified.publisher),
                        signed: true,
                    };
                    (
                        facts,
                        Some(opened),
                        manifest.entrypoint.clone(),
                        manifest.scopes.clone(),
                        manifest.resources.clone(),
                        manifest.files.keys().cloned().collect(),
                        manifest.platform,
                    )
                }
                Err(reason) => {
                    pending.push(
                        context
                            .event("skill.verify")
                            .run(&run)
                            .skill(name)
                            .decision("fail")
                            .reason(&reason),
                    );
                    return refuse(
                        context,
                        pending,
                        RefusalStage::Verification,
                        reason,
                        Vec::new(),
                    );
                }
            }
        }
        SkillSource::AdHoc { argv, scopes } => (
            SkillFacts {
                name: "ad-hoc".to_string(),
                version: "0.0.0".to_string(),
                publisher: None,
                signed: false,
            },
            None,
            argv.clone(),
            scopes.clone(),
            None,
            Vec::new(),
            Platform::Native,
        ),
    };
    argv.extend(request.args.iter().cloned());
    pending.insert(
        0,
        context
            .event("run.start")
            .run(&run)
            .skill(&facts.name)
            .data(json!({
                "argv": argv,
                "workdir": request.workdir.display().to_string(),
                "signed": facts.signed,
                "publisher": facts.publisher,
            })),
    );

    // 3. Lockdown: a state that is missing, unreadable or disagrees with the record it names
    // counts as on (fail closed).
    let (state, lockdown_seen) = lockdown::check_seen(context.home());
    if let Some(reason) = state.refusal() {
        return refuse(context, pending, RefusalStage::Lockdown, reason, Vec::new());
    }
    // A home from before the state named its record, whose log says off: the file that names
    // the log's last lockdown record, so later runs check one record again. Best effort: a
    // failed write only means the next run reads the log once more.
    if let Some(restore) = &state.restore {
        let _ = lockdown::set(context.home(), restore);
    }

    // 3b. The runtime that will run it (DESIGN §8): one without an adapter is refused, never
    // replaced by a weaker one; policy is told the runtime that will really run.
    let runtime = match runtime::select(context.config().runtime, runtime::ADAPTERS) {
        Ok(choice) => choice,
        Err(error) => {
            let reason = error.to_string();
            return refuse(context, pending, RefusalStage::Runtime, reason, Vec::new());
        }
    };
    // A platform the runtime cannot honour (a container image, a compose file) is refused,
    // never run as a native program.
    if let Err(error) = runtime::check_platform(platform, runtime.selected, runtime::PLATFORMS) {
        let reason = error.to_string();
        return refuse(context, pending, RefusalStage::Runtime, reason, Vec::new());
    }

    // 3c. The CA store every run is given, checked like a `files.read` scope and for holding
    // certificates only: a bad one refuses every run (on the record, then as bad input).
    // Every path a run rates (a scope, a configured CA store) is rated with every user's
    // home known; a run that rates none does not read them.
    let rates_paths = !scope_texts.is_empty() || context.config().ca_bundle.is_some();
    let user_home = env::get(env::HOME).map(PathBuf::from);
    let scope_context = if rates_paths {
        paths::scope_context(user_home, context.home().root())
    } else {
        paths::scope_context_without_homes(user_home, context.home().root())
    };
    let ca_store = match ca_store::load(context.config().ca_bundle.as_deref(), &scope_context) {
        Ok(store) => store,
        Err(error) => {
            let reason = crate::doctor::error_chain(&error);
            refuse(context, pending, RefusalStage::CaStore, reason, Vec::new())?;
            return Err(error.into());
        }
    };

    // 4. Parse the scopes; open each path once and decide on what it resolves to, so a
    // symlink cannot hide what is bound, and a path-less `files.*` scope is the working
    // directory (running from `~` or `/` cannot hide a sensitive mount).
    let mut resolved = Vec::new();
    for text in &scope_texts {
        // A scope no runtime here enforces is refused, never granted on paper only.
        let checked =
            paths::resolve_scope(text, &request.workdir, &scope_context).and_then(|scope| {
                runtime::check_enforced(&scope.scope)
                    .map(|()| scope)
                    .map_err(paths::ScopePathError::from)
            });
        match checked {
            Ok(scope) => resolved.push(scope),
            Err(error) => {
                return refuse(
                    context,
                    pending,
                    RefusalStage::Scope,
                    crate::doctor::error_chain(&error),
                    Vec::new(),
                );
            }
        }
    }

    // 5. Rate and decide each scope by policy: a path scope as itself and as every sensitive
    // object it is by another name (a bind mount, a hard link), compared once per run.
    let objects = resolved
        .iter()
        .any(|resolved| resolved.opened.is_some())
        .then(|| objects::Objects::gather(&scope_context));
    let mut verdicts = Vec::new();
    for resolved in &resolved {
        let scope = &resolved.scope;
        let mut rated = objects.as_ref().map_or_else(
            || objects::ObjectRating {
                rating: scope.rating(&scope_context),
                object_reasons: Vec::new(),
            },
            |objects| objects.rate(scope, resolved.opened.as_ref(), &scope_context),
        );
        if let Some((risk, reason)) = resolved.as_written(&scope_context) {
            rated.rating.risk = rated.rating.risk.max(risk);
            rated.object_reasons.insert(0, reason);
        }
        let risk = rated.rating.risk;
        let input = PolicyInput::for_scope(&facts, scope, risk, runtime.selected.as_str(), &actor);
        let loaded = match policy.get(context) {
            Ok(loaded) => loaded,
            Err(error) => {
                // A policy that cannot load decides nothing: the run is refused on the record,
                // and the error (bad input, exit 2) goes to the caller.
                let reason = format!(
                    "the policy cannot be loaded: {}",
                    crate::doctor::error_chain(&error)
                );
                refuse(context, pending, RefusalStage::Policy, reason, Vec::new())?;
                return Err(error.into());
            }
        };
        let decision = loaded.decide(&input)?;
        let mut data = json!({"risk": risk, "rules": decision.rules, "errors": decision.errors});
        if let Some(requested) = &resolved.requested {
            data["requested"] = json!(requested);
        }
        if !rated.object_reasons.is_empty() {
            data["object_reasons"] = json!(rated.object_reasons);
        }
        pending.push(
            context
                .event("policy.decision")
                .run(&run)
                .skill(&facts.name)
                .scope(scope.to_string())
                .decision(outcome_word(decision.outcome))
                .reason(decision.reasons.join("; "))
                .data(data),
        );
        verdicts.push(ScopeVerdict {
            scope: scope.to_string(),
            requested: resolved.requested.clone(),
            risk,
            granted: decision.outcome == Outcome::Allow,
            decision,
            answer: None,
            from_grant: false,
            object: resolved
                .opened
                .as_ref()
                .map(|opened| format!("{}:{}", opened.dev(), opened.ino())),
        });
    }
    if let Some(denied) = verdicts
        .iter()
        .find(|v| v.decision.outcome == Outcome::Deny)
    {
        let reason = format!(
            "policy denied `{}`: {}",
            denied.scope,
            denied.decision.reasons.join("; ")
        );
        return refuse(context, pending, RefusalStage::Policy, reason, verdicts);
    }
    // Decisions are durable before anyone is asked. Without questions, they wait for the launch
    // record and share its fsync (`run::execute`): still durable before anything runs.
    if verdicts
        .iter()
        .any(|verdict| verdict.decision.outcome == Outcome::NeedsApproval)
    {
        context.record_batch(std::mem::take(&mut pending))?;
    }

    // 6. Approval where the policy says so: a remembered grant, else the broker.
    let mut grants = Grants::load(context.home())?;
    let now = Timestamp::now();
    let workdir_text = request.workdir.display().to_string();
    // An unsigned command's grant covers the files it names as they are now: hashed once,
    // here, only when someone may be asked (or a grant consulted).
    let asks = verdicts
        .iter()
        .any(|verdict| verdict.decision.outcome == Outcome::NeedsApproval);
    let bound = if asks && facts.publisher.is_none() {
        match files::command_files(&argv, &request.workdir) {
            Ok(bound) => bound,
            Err(reason) => {
                return refuse(
                    context,
                    std::mem::take(&mut pending),
                    RefusalStage::Approval,
                    reason,
                    verdicts,
                );
            }
        }
    } else {
        files::CommandFiles::default()
    };
    let bound_files = &bound.files;
    for verdict in verdicts
        .iter_mut()
        .filter(|v| v.decision.outcome == Outcome::NeedsApproval)
    {
        // An unsigned skill's grant is bound to this exact command and working directory, and
        // to the contents of the files it names.
        let release = manifest_digest.as_deref().map(|manifest| Release {
            version: &facts.version,
            manifest,
        });
        let mut subject = GrantSubject::new(
            &facts.name,
            facts.publisher.as_deref(),
            &verdict.scope,
            verdict.risk,
        )
        .on_object(verdict.object.as_deref())
        .bound_to(&argv, &workdir_text, bound_files);
        if let Some(release) = release {
            subject = subject.released(release);
        }
        let remembered = match &bound.unbindable {
            None => grants.find(&subject, now),
            Some(_) => None,
        };
        if let Some(grant) = remembered {
            verdict.granted = true;
            verdict.from_grant = true;
            context.record(
                context
                    .event("approval.granted")
                    .run(&run)
                    .skill(&facts.name)
                    .scope(&verdict.scope)
                    .decision("allow")
                    .reason("remembered grant")
                    .data(json!({"fingerprint": grant.fingerprint, "by": grant.by, "expires_at": grant.expires_at})),
            )?;
            continue;
        }
        let request = ApprovalRequest {
            run: run.clone(),
            skill: facts.name.clone(),
            publisher: facts.publisher.clone(),
            scope: verdict.scope.clone(),
            requested: verdict.requested.clone(),
            risk: verdict.risk,
            reasons: verdict.decision.reasons.clone(),
            rules: verdict.decision.rules.clone(),
            always_covers: match &bound.unbindable {
                None => subject.covers(),
                Some(why) => format!("this run only: {why}"),
            },
        };
        let answer = broker.ask(&request);
        let (answer, reason) = match answer {
            Ok(answer) => (answer, None),
            Err(error) => (Answer::Deny, Some(error.to_string())),
        };
        verdict.answer = Some(answer);
        verdict.granted = answer != Answer::Deny;
        context.record(
            context
                .event(if verdict.granted {
                    "approval.granted"
                } else {
                    "approval.denied"
                })
                .run(&run)
                .skill(&facts.name)
                .scope(&verdict.scope)
                .decision(if verdict.granted { "allow" } else { "deny" })
                .reason(
                    reason
                        .clone()
                        .unwrap_or_else(|| format!("answered {answer:?}").to_lowercase()),
                )
                .data(json!({"answer": answer, "by": actor, "always_covers": (answer == Answer::Always).then(|| subject.covers())})),
        )?;
        if answer == Answer::Always && bound.unbindable.is_none() {
            grants.grant(&subject, &actor, now, DEFAULT_GRANT_DAYS)?;
        }
        if !verdict.granted {
            let reason =
                reason.unwrap_or_else(|| format!("approval for `{}` was denied", verdict.scope));
            return refuse(
                context,
                Vec::new(),
                RefusalStage::Approval,
                reason,
                verdicts,
            );
        }
    }

    pending.push(
        context
            .event("run.authorised")
            .run(&run)
            .skill(&facts.name)
            .decision("allow")
            .data(json!({
                "scopes": verdicts.iter().map(|v| &v.scope).collect::<Vec<_>>(),
                "runtime": runtime,
            })),
    );
    let mut scopes = Vec::new();
    let mut paths = Vec::new();
    for resolved in resolved {
        if let Some(opened) = resolved.opened {
            paths.push(ScopePath {
                scope: resolved.scope.clone(),
                opened,
            });
        }
        scopes.push(resolved.scope);
    }
    Ok(Verdict::Authorised(Box::new(Authorised {
        run,
        skill: facts,
        skill_dir,
        argv,
        workdir: request.workdir,
        scopes,
        runtime,
        paths,
        resources,
        files,
        ca_store,
        verdicts,
        lockdown_seen,
        pending,
    })))
}

fn outcome_word(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Allow => "allow",
        Outcome::NeedsApproval => "needs_approval",
        Outcome::Deny => "deny",
    }
}

/// What `scope explain` shows for one scope: the explanation of the scope a run would decide
/// on, and the text as asked when it differs (a symlink, `~`, a path-less `files.*` scope).
#[derive(Debug, Clone, Serialize)]
pub struct ScopeExplanation {
    /// The text as asked, when the scope decided on differs from it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub requested: Option<String>,
    /// Kind, target, grants, limits, risk and reasons of the scope as decided on.
    #[serde(flatten)]
    pub explanation: aegisclaw_core::scope::Explanation,
}

/// Explains `text` exactly as a run's authorisation sees it (steps 4 and 5): parsed in the same
/// context (both homes resolved), its path opened and re-parsed as what it resolves to (a
/// path-less `files.*` scope as `workdir`), refused where a run would refuse it, and rated
/// (a path as the sensitive objects it is by another name too).
/// Decides no policy and records nothing.
pub fn explain_scope(
    text: &str,
    workdir: &Path,
    aegisclaw_home: &Path,
) -> Result<ScopeExplanation, ScopePathError> {
    let context = paths::scope_context(env::get(env::HOME).map(PathBuf::from), aegisclaw_home);
    let workdir = paths::resolve_leniently(workdir).unwrap_or_else(|| workdir.to_path_buf());
    let resolved = paths::resolve_scope(text, &workdir, &context)?;
    let mut explanation = resolved.scope.explain(&context);
    if resolved.opened.is_some() {
        let rated = objects::Objects::gather(&context).rate(
            &resolved.scope,
            resolved.opened.as_ref(),
            &context,
        );
        explanation.risk = rated.rating.risk;
        explanation.reasons = rated.rating.reasons;
    }
    if let Some((risk, reason)) = resolved.as_written(&context) {
        explanation.risk = explanation.risk.max(risk);
        explanation.reasons.insert(0, reason);
    }
    Ok(ScopeExplanation {
        requested: resolved.requested,
        explanation,
    })
}
