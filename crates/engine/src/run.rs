//! The second half of the envelope (DESIGN §1): secrets for `secrets.read` scopes, the sandbox
//! spec from the granted scopes, the launch, output through the redactor, and the audit record
//! of how it ended — including which protections were in force. Every failure is a record.
//! A run with `net.outbound` scopes is held before exec until the egress proxy listens on
//! `PROXY_ADDR` inside its network namespace; its connections become `net.egress` records
//! after the run, redacted, collapsed and capped by `egress::EgressTally`. Every run is in the
//! run registry (`runs`) from before exec to its end.

use crate::authorise::Authorised;
use crate::ca_store::CaStore;
use crate::context::{Context, ContextError};
use crate::egress::{
    EgressHandle, EgressPolicy, EgressProxy, EgressTally, PROXY_ADDR, PROXY_LISTENER,
    SystemResolver,
};
use crate::runs::{Registration, RunsError};
use aegisclaw_core::config::{Limits as ConfigLimits, NetworkNamespace, RuntimeKind};
use aegisclaw_core::lockdown;
use aegisclaw_core::redact::{RedactError, Redactor};
use aegisclaw_core::scope::{ScopeKind, Target};
use aegisclaw_core::secrets::age::AgeStore;
use aegisclaw_core::secrets::secrecy::{ExposeSecret as _, SecretString};
use aegisclaw_core::secrets::{SecretStore, SecretsError};
use aegisclaw_core::timestamp::Timestamp;
use aegisclaw_sandbox::plan::{
    self, ExecGrant, Limits, Mount, MountAccess, MountOp, NetNamespace, Network, PlanError,
    RunSpec, SLOT_NETNS_DIR,
};
use aegisclaw_sandbox::runtime::{
    self, ExitStatus, Launcher, RunOutcome, SandboxError, Stdin, StdioSetup, Stream,
};
use serde::Serialize;
use serde_json::json;
use std::io::Write;

mod delivery;
pub use delivery::SharedSink;
use delivery::{Delivery, Which};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The signal `lockdown on` sends a run's pid 1.
const SIGKILL: i32 = 9;

/// Errors that end a run after authorisation. Each is recorded as `run.failed`.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The audit log or home failed.
    #[error(transparent)]
    Context(#[from] ContextError),
    /// A secret the run needs could not be read.
    #[error("cannot provide secret `{name}` to the run")]
    Secret {
        /// The secret's name.
        name: String,
        /// Why.
        #[source]
        source: SecretsError,
    },
    /// A secret named by a `secrets.read` scope does not exist.
    #[error("secret `{name}` named by scope `secrets.read:{name}` is not in the store")]
    MissingSecret {
        /// The secret's name.
        name: String,
    },
    /// The redactor could not be built.
    #[error(transparent)]
    Redact(#[from] RedactError),
    /// The sandbox plan was refused (a path missing, no Landlock, ...).
    #[error("the sandbox cannot be planned")]
    Plan(#[from] PlanError),
    /// A sandbox layer could not be applied: the run is refused, never weakened.
    #[error("the sandbox refused to start the run")]
    Sandbox(#[from] SandboxError),
    /// Authorisation chose a runtime this function cannot launch (only native exists).
    #[error("runtime `{runtime}` has no launcher here; refusing rather than running natively")]
    Runtime {
        /// The runtime chosen.
        runtime: RuntimeKind,
    },
    /// The run could not be registered, so `lockdown on` could not stop it.
    #[error("the run cannot be registered for the emergency stop")]
    Registry(#[from] RunsError),
    /// Lockdown was turned on while the run was being launched.
    #[error("lockdown was turned on as the run started: {reason}")]
    Lockdown {
        /// Why lockdown counts as on.
        reason: String,
    },
    /// An error whose text held a value of a secret the run was given: its whole text (the
    /// causes included) with every such value redacted, which is all that is shown and recorded.
    #[error("{message}")]
    Redacted {
        /// The layer that failed.
        layer: &'static str,
        /// The error chain, redacted.
        message: String,
    },
}

impl RunError {
    /// The layer a `run.failed` record names.
    fn layer(&self) -> &'static str {
        match self {
            RunError::Sandbox(sandbox) => sandbox.layer(),
            RunError::Plan(_) => "plan",
            RunError::Secret { .. } | RunError::MissingSecret { .. } => "secrets",
            RunError::Redact(_) => "redactor",
            RunError::Context(_) => "audit",
            RunError::Runtime { .. } => "runtime",
            RunError::Registry(_) => "run registry",
            RunError::Lockdown { .. } => "lockdown",
            RunError::Redacted { layer, .. } => layer,
        }
    }
}

/// How a run ended.
#[derive(Debug, Serialize)]
pub struct RunReport {
    /// The run id.
    pub run: String,
    /// The runtime that ran it (never `auto`).
    pub runtime: RuntimeKind,
    /// Exit code, when the process exited.
    pub exit_code: Option<i32>,
    /// Signal, when a signal ended it.
    pub signal: Option<i32>,
    /// Whether the wall-clock limit killed it.
    pub timed_out: bool,
    /// Bytes written to stdout and stderr (after redaction).
    pub stdout_bytes: u64,
    /// See `stdout_bytes`.
    pub stderr_bytes: u64,
    /// Wall-clock milliseconds from launch to exit.
    pub duration_ms: u64,
    /// Every byte of the run's (redacted) output reached its sink: `false` when a sink failed
    /// (a reader that went away) or still had not taken it a grace after the run's deadline.
    pub output_delivered: bool,
    /// What the sandbox enforced.
    pub enforcement: serde_json::Value,
    /// `lockdown` when `lockdown on` killed the run, `timeout` when its wall-clock limit did;
    /// absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_by: Option<&'static str>,
}

/// Where the run's (redacted) output goes. The sinks are written on a thread of their own
/// and handed over for good: one that still blocks a grace after the run's deadline is left
/// to it (keep a [`SharedSink`] to get a writer back afterwards).
pub struct OutputSinks {
    /// Receives stdout.
    pub stdout: Box<dyn Write + Send>,
    /// Receives stderr.
    pub stderr: Box<dyn Write + Send>,
}

/// How long after a run's deadline its output may still be delivered before AegisClaw gives
/// up on a sink that does not take it.
const DELIVERY_GRACE: Duration = Duration::from_secs(1);

/// Runs an authorised skill in the native sandbox (steps 7–11 of DESIGN §1).
pub fn execute(
    context: &mut Context,
    authorised: &mut Authorised,
    passphrase: &dyn Fn() -> Result<SecretString, SecretsError>,
    sinks: OutputSinks,
) -> Result<RunReport, RunError> {
    let mut redactor = None;
    let result = execute_inner(context, authorised, passphrase, sinks, &mut redactor)
        .map_err(|error| redacted(error, redactor.as_ref()));
    if let Err(error) = &result {
        let layer = error.layer();
        let reason = crate::doctor::error_chain(error);
        // The records authorisation left pending go first, then the failure. Best effort: the
        // error itself may be the audit log failing.
        let mut batch = std::mem::take(&mut authorised.pending);
        batch.push(
            context
                .event("run.failed")
                .run(&authorised.run)
                .skill(&authorised.skill.name)
                .decision("deny")
                .reason(reason)
                .data(json!({"layer": layer})),
        );
        let _ = context.record_batch(batch);
    }
    result
}

/// `error`, or, when its text (causes included) holds a value of a secret the run was given,
/// that text redacted. No error should quote a value (each names the secret instead); this
/// makes sure none is recorded or printed if one does.
fn redacted(error: RunError, redactor: Option<&Redactor>) -> RunError {
    let Some(redactor) = redactor else {
        return error;
    };
    let text = crate::doctor::error_chain(&error);
    let message = redactor.redact_str(&text);
    if message == text {
        return error;
    }
    RunError::Redacted {
        layer: error.layer(),
        message,
    }
}

fn execute_inner(
    context: &mut Context,
    authorised: &mut Authorised,
    passphrase: &dyn Fn() -> Result<SecretString, SecretsError>,
    sinks: OutputSinks,
    redactor_out: &mut Option<Redactor>,
) -> Result<RunReport, RunError> {
    // 0. Only the native launcher exists: anything else chosen is refused, never run natively.
    if authorised.runtime.selected != RuntimeKind::Native {
        return Err(RunError::Runtime {
            runtime: authorised.runtime.selected,
        });
    }
    // 1. Secrets for secrets.read scopes, injected as environment variables of this run only.
    let secret_names: Vec<String> = authorised
        .scopes
        .iter()
        .filter_map(|scope| match scope.target() {
            Target::Secret(name) if scope.kind() == ScopeKind::SecretsRead => Some(name.clone()),
            _ => None,
        })
        .collect();
    let mut secrets: Vec<(String, SecretString)> = Vec::new();
    if !secret_names.is_empty() {
        let store =
            AgeStore::open(context.home(), passphrase).map_err(|source| RunError::Secret {
                name: secret_names[0].clone(),
                source,
            })?;
        for name in &secret_names {
            let value = store
                .get(name)
                .map_err(|source| RunError::Secret {
                    name: name.clone(),
                    source,
                })?
                .ok_or_else(|| RunError::MissingSecret { name: name.clone() })?;
            secrets.push((name.clone(), value));
        }
    }
    let redactor = Redactor::named(
        &secrets
            .iter()
            .map(|(name, value)| (name.as_str(), value.expose_secret().as_bytes()))
            .collect::<Vec<_>>(),
    )?;
    *redactor_out = Some(redactor.clone());

    // 2. The sandbox spec from the granted scopes.
    let workdir = workdir_for(authorised);
    let proxied = authorised
        .scopes
        .iter()
        .any(|scope| scope.kind() == ScopeKind::NetOutbound);
    let spec = spec_for(context, authorised, workdir, &secrets, proxied);
    let facts = runtime::host_facts(&spec);
    let plan = plan::plan(&spec, &facts)?;
    let launcher = Launcher::new(&plan)?;
    // Authorisation's pending records and the launch record: one fsync, before the launch.
    let mut batch = std::mem::take(&mut authorised.pending);
    batch.push(
        context
            .event("run.launch")
            .run(&authorised.run)
            .skill(&authorised.skill.name)
            .data(json!({
                "runtime": authorised.runtime.selected,
                "argv": spec.argv,
                "mounts": plan.mounts.iter().filter_map(launch_mount).collect::<Vec<_>>(),
                "network": spec.network.as_str(),
                "limits": spec.limits,
                "exec": plan.exec,
                "secrets": secret_names,
                "egress_proxy": proxied.then(|| PROXY_ADDR.to_string()),
                "ca_store": authorised.ca_store,
            })),
    );
    // Written and fsynced while the child builds its sandbox (the child's waits are the
    // writer's time to run, and the fsync's wait is the child's): the child is held before
    // exec until the records are durable, and never execs if they cannot be made so. Then,
    // still while it builds, the run is registered so `lockdown on` can stop it, and lockdown
    // is checked again: a `lockdown on` that listed the registry before this entry was there
    // had already written its state, which this check sees.
    let mut batch = Some(batch);
    let mut synced: Option<Result<(), ContextError>> = None;
    let mut registered: Option<Result<Registration, RunError>> = None;
    let run_id = authorised.run.clone();
    let lockdown_seen = authorised.lockdown_seen;
    let skill_name = authorised.skill.name.clone();
    let mut sync = |pid: Option<i32>| {
        if let Some(batch) = batch.take() {
            synced = Some(
                context
                    .record_batch_deferred(batch)
                    .and_then(|durable| durable.wait().map_err(ContextError::from)),
            );
        }
        let (Some(pid), Some(Ok(()))) = (pid, &synced) else {
            return;
        };
        registered = Some(
            Registration::register(context.home(), &run_id, &skill_name, context.actor(), pid)
                .map_err(RunError::from)
                .and_then(|registration| {
                    match lockdown::refusal_since(context.home(), lockdown_seen) {
                        Some(reason) => Err(RunError::Lockdown { reason }),
                        None => Ok(registration),
                    }
                }),
        );
    };

    // 3. Launch and stream output through the redactor. The child stops before exec; with
    // net.outbound scopes it has opened the proxy's listener in its network namespace and
    // passed it over, and the egress proxy serves on it before the program starts.
    let held = launcher.spawn_held_while(StdioSetup { stdin: Stdin::Null }, &mut |pid| {
        sync(Some(pid));
    });
    // If the clone failed, the records are still made durable before the error is recorded.
    sync(None);
    let mut held = held?;
    if let Some(synced) = synced {
        synced?;
    }
    // The launch runs `sync` with the pid once the child exists, so a held child has been
    // registered (or the error says why not); anything else is refused, never run unlisted.
    let registration = registered.unwrap_or_else(|| {
        Err(RunError::Sandbox(SandboxError::Layer {
            layer: "run registry",
            detail: String::new(),
            source: std::io::Error::other("the launch never reported the child's pid"),
        }))
    })?;
    let egress = match held.take_listener()? {
        Some(listener) => Some(Egress::start(
            listener,
            EgressPolicy::from_scopes(&authorised.scopes),
            EgressTally::new(
                usize::try_from(context.config().max_run_records).unwrap_or(usize::MAX),
                redactor.clone(),
            ),
        )?),
        None if proxied => {
            return Err(SandboxError::Layer {
                layer: "egress proxy",
                detail: PROXY_ADDR.to_string(),
                source: std::io::Error::other("the sandbox opened no proxy listener"),
            }
            .into());
        }
        None => None,
    };
    let started = Instant::now();
    let child = held.release()?;
    // The copier (this thread) redacts and hands each chunk to the delivery thread, waiting
    // for room no later than the run's deadline (the sandbox's wait kills the run at its
    // deadline, so it needs every chunk handed over by then): a sink that never reads holds up
    // neither the limit nor AegisClaw, which gives up on it a grace after the deadline.
    let deadline = child.deadline();
    let delivery = Delivery::start(sinks);
    let mut streams = [
        (redactor.stream(), Which::Stdout),
        (redactor.stream(), Which::Stderr),
    ];
    // Grows with the largest chunk read; most runs print little.
    let mut redacted = Vec::new();
    let outcome = child.wait_streaming(&mut |stream, bytes| {
        let (redacting, which) = &mut streams[usize::from(stream == Stream::Stderr)];
        redacted.clear();
        redacting.push_into(bytes, &mut redacted);
        delivery.send(*which, &redacted, deadline)
    });
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    // What each stream's redactor still holds (the tail it kept back to catch a secret split
    // across chunks).
    for (redacting, which) in streams {
        delivery.send(which, &redacting.finish(), deadline);
    }
    let delivered = delivery.finish(deadline.max(Instant::now()) + DELIVERY_GRACE);
    let [stdout_bytes, stderr_bytes] = delivered.written;
    let mut egress_events = egress.map_or_else(Vec::new, |egress| {
        egress
            .finish()
            .take_records(context.actor(), &authorised.run, &authorised.skill.name)
    });
    let outcome: RunOutcome = match outcome {
        Ok(outcome) => outcome,
        Err(error) => {
            // The connections were decided: their records go out with the failure's.
            authorised.pending.append(&mut egress_events);
            return Err(error.into());
        }
    };
    let stopped_by =
        if outcome.exit == ExitStatus::Signal(SIGKILL) && registration.stopped_by_lockdown() {
            Some("lockdown")
        } else if outcome.timed_out {
            Some("timeout")
        } else {
            None
        };

    // 4. Record how it ended and what was enforced.
    let (exit_code, signal) = match outcome.exit {
        ExitStatus::Code(code) => (Some(code), None),
        ExitStatus::Signal(signal) => (None, Some(signal)),
    };
    let enforcement = serde_json::to_value(&outcome.enforcement).unwrap_or_default();
    let report = RunReport {
        run: authorised.run.clone(),
        runtime: authorised.runtime.selected,
        exit_code,
        signal,
        timed_out: outcome.timed_out,
        stdout_bytes,
        stderr_bytes,
        duration_ms,
        output_delivered: delivered.complete,
        enforcement,
        stopped_by,
    };
    egress_events.push(
        context
            .event("run.finished")
            .run(&authorised.run)
            .skill(&authorised.skill.name)
            .decision(if outcome.exit.success() {
                "ok"
            } else {
                "failed"
            })
            .data(serde_json::to_value(&report).unwrap_or_default()),
    );
    // The connections and the end of the run: one fsync, during which the run leaves the
    // registry and what built it is freed (the closing checkpoint is signed meanwhile too).
    let built = (registration, launcher, plan, spec, facts);
    context.record_final_batch(egress_events, move || drop(built))?;
    Ok(report)
}

/// The egress proxy of one run: its own small runtime (threads in the caller's network
/// namespace, so upstream connections leave from the host), a listener on `PROXY_ADDR` inside
/// the run's namespace, and the tally of the events it reported (bounded in memory by the
/// run's record cap, whatever the program does).
struct Egress {
    runtime: tokio::runtime::Runtime,
    handle: EgressHandle,
    tally: Arc<Mutex<EgressTally>>,
}

impl Egress {
    fn start(
        listener: std::net::TcpListener,
        policy: EgressPolicy,
        tally: EgressTally,
    ) -> Result<Self, SandboxError> {
        let layer = |source: std::io::Error| SandboxError::Layer {
            layer: "egress proxy",
            detail: PROXY_ADDR.to_string(),
            source,
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("aegisclaw-egress")
            .enable_all()
            .build()
            .map_err(layer)?;
        // The proxy never waits for the audit log: each event is redacted and counted here,
        // and the records are written after the run.
        let tally = Arc::new(Mutex::new(tally));
        let sink = Arc::clone(&tally);
        let audit: crate::egress::AuditSink = Arc::new(move |event| {
            sink.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .observe(event, Timestamp::now());
        });
        let handle = EgressProxy::start(
            listener,
            policy,
            Arc::new(SystemResolver),
            audit,
            runtime.handle(),
        )
        .map_err(|error| layer(std::io::Error::other(error)))?;
        Ok(Self {
            runtime,
            handle,
            tally,
        })
    }

    /// Stops the proxy (connections still open are cut and reported) and returns the tally.
    fn finish(self) -> EgressTally {
        let Self {
            runtime,
            handle,
            tally,
        } = self;
        handle.stop();
        runtime.shutdown_timeout(Duration::from_secs(2));
        std::mem::take(&mut *tally.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Whether the run works in the sandbox's private `/tmp` because no `files.*` scope covers
/// its requested working directory (front doors say so).
pub fn works_in_private_tmp(authorised: &Authorised) -> bool {
    workdir_for(authorised).is_none()
}

/// The run's working directory: the requested one when a `files.*` scope covers it; otherwise
/// `None`, the sandbox's own private `/tmp`, so a run without file scopes sees nothing of the
/// host (and leaves nothing behind on it, however it ends).
fn workdir_for(authorised: &Authorised) -> Option<PathBuf> {
    authorised
        .scopes
        .iter()
        .any(|scope| {
            matches!(scope.kind(), ScopeKind::FilesRead | ScopeKind::FilesWrite)
                && matches!(scope.target(), Target::Path(path) if authorised.workdir.starts_with(path))
        })
        .then(|| authorised.workdir.clone())
}

fn spec_for(
    context: &Context,
    authorised: &Authorised,
    workdir: Option<PathBuf>,
    secrets: &[(String, SecretString)],
    proxied: bool,
) -> RunSpec {
    // Exactly the objects decided on, each at its resolved path.
    let mut mounts: Vec<Mount> = Vec::new();
    for path in &authorised.paths {
        let access = match path.scope.kind() {
            ScopeKind::FilesRead => MountAccess::Read,
            ScopeKind::FilesWrite => MountAccess::Write,
            ScopeKind::UnixConnect => MountAccess::Connect,
            _ => continue,
        };
        mounts.push(Mount {
            opened: path.opened.clone(),
            access,
        });
    }
    // The skill's own files, read-only, at their own path; entrypoint words naming them point
    // there.
    let mut argv = authorised.argv.clone();
    if let Some(dir) = &authorised.skill_dir {
        mounts.push(Mount {
            opened: dir.clone(),
            access: MountAccess::Read,
        });
        for word in &mut argv {
            if authorised.files.iter().any(|file| file == word) {
                *word = dir.path().join(&*word).display().to_string();
            }
        }
    }
    let network = if proxied {
        Network::Proxied {
            listener: PROXY_LISTENER,
        }
    } else {
        Network::None
    };
    let mut env = vec![
        ("PATH".to_string(), crate::authorise::RUN_PATH.to_string()),
        ("HOME".to_string(), "/tmp".to_string()),
        ("LANG".to_string(), "C.UTF-8".to_string()),
        ("AEGISCLAW_RUN".to_string(), authorised.run.clone()),
    ];
    // Env is fixed at plan time; the proxy's address is fixed, so it is known up front.
    if proxied {
        env.extend(crate::egress::proxy_env(PROXY_ADDR));
    }
    for (name, value) in secrets {
        env.push((name.clone(), value.expose_secret().to_string()));
    }
    RunSpec {
        argv,
        env,
        workdir,
        mounts,
        network,
        net_namespace: match context.config().network_namespace {
            NetworkNamespace::Reuse => NetNamespace::Slot {
                dir: PathBuf::from(SLOT_NETNS_DIR),
            },
            NetworkNamespace::Fresh => NetNamespace::Fresh,
        },
        limits: limits(&context.config().limits, authorised.resources.as_ref()),
        hostname: "aegisclaw".to_string(),
        exec: exec_grant(&authorised.scopes),
        ca_store: authorised.ca_store.as_ref().map(CaStore::spec),
    }
}

/// What the granted `shell.exec` scopes let the run execute: anything for a bare one, else
/// its own program and each named command (none without `shell.exec`).
fn exec_grant(scopes: &[aegisclaw_core::scope::Scope]) -> ExecGrant {
    let mut commands = Vec::new();
    for scope in scopes
        .iter()
        .filter(|scope| scope.kind() == ScopeKind::ShellExec)
    {
        match scope.target() {
            Target::Command(command) => commands.push(command.clone()),
            _ => return ExecGrant::Any,
        }
    }
    ExecGrant::Listed { commands }
}

/// A mount as `run.launch` records it: the resolved path that is bound, what it grants and
/// what kind of object it is.
/// A scope's bind as the plan makes it (one per object, with the widest access granted).
fn launch_mount(mount: &MountOp) -> Option<serde_json::Value> {
    let MountOp::BindOpened {
        opened,
        access,
        flags,
        ..
    } = mount
    else {
        return None;
    };
    Some(json!({
        "path": opened.path(),
        "access": access,
        "kind": opened.kind(),
        "read_only": flags.read_only,
    }))
}

/// The skill's declared limits, never above the configured ones.
fn limits(
    config: &ConfigLimits,
    declared: Option<&aegisclaw_core::skill::manifest::Resources>,
) -> Limits {
    let declared = declared.cloned().unwrap_or_default();
    Limits {
        memory_mb: declared
            .memory_mb
            .map_or(config.memory_mb, |m| m.min(config.memory_mb)),
        pids: declared.pids.map_or(config.pids, |p| p.min(config.pids)),
        cpus: declared.cpus.map_or(config.cpus, |c| c.min(config.cpus)),
        timeout_s: declared
            .timeout_s
            .map_or(config.timeout_s, |t| t.min(config.timeout_s)),
        nofile: 1024,
        file_size_mb: declared
            .file_size_mb
            .map_or(config.file_size_mb, |f| f.min(config.file_size_mb)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aegisclaw_core::scope::{Scope, ScopeContext};
    use aegisclaw_core::skill::manifest::Resources;

    #[test]
    fn an_error_quoting_a_secret_value_is_shown_and_recorded_redacted() {
        let redactor =
            Redactor::named(&[("API_KEY", b"hunter2-binary-api-key".as_slice())]).unwrap();
        let quoting = RunError::Lockdown {
            reason: "state says hunter2-binary-api-key".into(),
        };
        let error = redacted(quoting, Some(&redactor));
        let text = crate::doctor::error_chain(&error);
        assert!(
            matches!(
                error,
                RunError::Redacted {
                    layer: "lockdown",
                    ..
                }
            ),
            "{error:?}"
        );
        assert!(!text.contains("hunter2"), "{text}");
        assert!(
            text.starts_with("lockdown was turned on as the run started: state says "),
            "{text}"
        );
        // An error quoting no value is left as it is, typed.
        let plain = redacted(
            RunError::MissingSecret {
                name: "API_KEY".into(),
            },
            Some(&redactor),
        );
        assert!(matches!(plain, RunError::MissingSecret { .. }), "{plain:?}");
    }

    fn scopes(texts: &[&str]) -> Vec<Scope> {
        let context = ScopeContext::default();
        texts
            .iter()
            .map(|text| Scope::parse(text, &context).unwrap())
            .collect()
    }

    #[test]
    fn shell_exec_scopes_become_the_runs_exec_grant() {
        assert_eq!(
            exec_grant(&scopes(&["files.read:/a"])),
            ExecGrant::program_only()
        );
        assert_eq!(
            exec_grant(&scopes(&[
                "shell.exec:ls",
                "files.read:/a",
                "shell.exec:/usr/bin/git"
            ])),
            ExecGrant::Listed {
                commands: vec!["ls".into(), "/usr/bin/git".into()]
            }
        );
        // A bare one grants anything, whatever else is named.
        assert_eq!(
            exec_grant(&scopes(&["shell.exec:ls", "shell.exec"])),
            ExecGrant::Any
        );
    }

    #[test]
    fn a_skill_may_lower_its_file_size_limit_but_never_raise_it() {
        let config = ConfigLimits::default();
        let declared = |file_size_mb| Resources {
            file_size_mb: Some(file_size_mb),
            ..Resources::default()
        };
        assert_eq!(limits(&config, None).file_size_mb, config.file_size_mb);
        assert_eq!(limits(&config, Some(&declared(8))).file_size_mb, 8);
        assert_eq!(
            limits(&config, Some(&declared(1 << 20))).file_size_mb,
            config.file_size_mb
        );
    }
}
