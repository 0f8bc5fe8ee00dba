//! The second half of the envelope (DESIGN §1): secrets for `secrets.read` scopes, the sandbox
//! spec from the granted scopes, the launch, output through the redactor, and the audit record
//! of how it ended — including which protections were in force. Every failure is a record.
//! A run with `net.outbound` scopes is held before exec until the egress proxy listens on
//! `PROXY_ADDR` inside its network namespace; each proxied connection becomes a `net.egress`
//! record after the run.

use crate::authorise::Authorised;
use crate::context::{Context, ContextError};
use crate::egress::{
    EgressEvent, EgressHandle, EgressPolicy, EgressProxy, PROXY_ADDR, PROXY_LISTENER,
    SystemResolver,
};
use aegisclaw_core::config::{Limits as ConfigLimits, NetworkNamespace};
use aegisclaw_core::redact::{RedactError, Redactor, StreamRedactor};
use aegisclaw_core::scope::{ScopeKind, Target};
use aegisclaw_core::secrets::age::AgeStore;
use aegisclaw_core::secrets::secrecy::{ExposeSecret as _, SecretString};
use aegisclaw_core::secrets::{SecretStore, SecretsError};
use aegisclaw_sandbox::plan::{
    self, Limits, Mount, MountAccess, NetNamespace, Network, PlanError, RunSpec, SLOT_NETNS_DIR,
};
use aegisclaw_sandbox::runtime::{
    self, ExitStatus, Launcher, RunOutcome, SandboxError, Stdin, StdioSetup, Stream,
};
use serde::Serialize;
use serde_json::json;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

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
}

/// How a run ended.
#[derive(Debug, Serialize)]
pub struct RunReport {
    /// The run id.
    pub run: String,
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
    /// What the sandbox enforced.
    pub enforcement: serde_json::Value,
}

/// Where the run's (redacted) output goes.
pub struct OutputSinks<'a> {
    /// Receives stdout.
    pub stdout: &'a mut (dyn Write + Send),
    /// Receives stderr.
    pub stderr: &'a mut (dyn Write + Send),
}

/// Runs an authorised skill in the native sandbox (steps 7–11 of DESIGN §1).
pub fn execute(
    context: &mut Context,
    authorised: &mut Authorised,
    passphrase: &dyn Fn() -> Result<SecretString, SecretsError>,
    sinks: OutputSinks<'_>,
) -> Result<RunReport, RunError> {
    let result = execute_inner(context, authorised, passphrase, sinks);
    if let Err(error) = &result {
        let layer = match error {
            RunError::Sandbox(sandbox) => sandbox.layer(),
            RunError::Plan(_) => "plan",
            RunError::Secret { .. } | RunError::MissingSecret { .. } => "secrets",
            RunError::Redact(_) => "redactor",
            RunError::Context(_) => "audit",
        };
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

fn execute_inner(
    context: &mut Context,
    authorised: &mut Authorised,
    passphrase: &dyn Fn() -> Result<SecretString, SecretsError>,
    sinks: OutputSinks<'_>,
) -> Result<RunReport, RunError> {
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
                "argv": spec.argv,
                "mounts": spec.mounts.iter().map(launch_mount).collect::<Vec<_>>(),
                "network": spec.network.as_str(),
                "limits": spec.limits,
                "secrets": secret_names,
                "egress_proxy": proxied.then(|| PROXY_ADDR.to_string()),
            })),
    );
    // Written and fsynced while the child builds its sandbox (the child's waits are the
    // writer's time to run, and the fsync's wait is the child's): the child is held before
    // exec until the records are durable, and never execs if they cannot be made so.
    let mut batch = Some(batch);
    let mut synced: Option<Result<(), ContextError>> = None;
    let mut sync = || {
        if let Some(batch) = batch.take() {
            synced = Some(
                context
                    .record_batch_deferred(batch)
                    .and_then(|durable| durable.wait().map_err(ContextError::from)),
            );
        }
    };

    // 3. Launch and stream output through the redactor. The child stops before exec; with
    // net.outbound scopes it has opened the proxy's listener in its network namespace and
    // passed it over, and the egress proxy serves on it before the program starts.
    let held = launcher.spawn_held_while(StdioSetup { stdin: Stdin::Null }, &mut sync);
    // If the clone failed, the records are still made durable before the error is recorded.
    sync();
    let mut held = held?;
    if let Some(synced) = synced {
        synced?;
    }
    let egress = match held.take_listener()? {
        Some(listener) => Some(Egress::start(
            listener,
            EgressPolicy::from_scopes(&authorised.scopes),
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
    // One thread streams both outputs through the redactor while it waits.
    let OutputSinks { stdout, stderr } = sinks;
    let mut streams = [
        (redactor.stream(), stdout, 0u64),
        (redactor.stream(), stderr, 0u64),
    ];
    // Grows with the largest chunk read; most runs print little.
    let mut redacted = Vec::new();
    let outcome = child.wait_streaming(&mut |which, bytes| {
        let (stream, sink, written) = &mut streams[usize::from(which == Stream::Stderr)];
        redacted.clear();
        stream.push_into(bytes, &mut redacted);
        let ok = sink.write_all(&redacted).is_ok();
        let _ = sink.flush();
        if ok {
            *written += redacted.len() as u64;
        }
        ok
    });
    let [
        (out_stream, stdout, stdout_bytes),
        (err_stream, stderr, stderr_bytes),
    ] = streams;
    let stdout_bytes = stdout_bytes + finish(out_stream, stdout);
    let stderr_bytes = stderr_bytes + finish(err_stream, stderr);
    let mut egress_events: Vec<_> = egress
        .map(Egress::finish)
        .unwrap_or_default()
        .iter()
        .map(|event| {
            event
                .to_audit_event(context.actor(), &authorised.run)
                .skill(&authorised.skill.name)
        })
        .collect();
    let outcome: RunOutcome = outcome?;
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);

    // 4. Record how it ended and what was enforced.
    let (exit_code, signal) = match outcome.exit {
        ExitStatus::Code(code) => (Some(code), None),
        ExitStatus::Signal(signal) => (None, Some(signal)),
    };
    let enforcement = serde_json::to_value(&outcome.enforcement).unwrap_or_default();
    let report = RunReport {
        run: authorised.run.clone(),
        exit_code,
        signal,
        timed_out: outcome.timed_out,
        stdout_bytes,
        stderr_bytes,
        duration_ms,
        enforcement,
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
    // The connections and the end of the run: one fsync.
    context.record_batch(egress_events)?;
    Ok(report)
}

/// The egress proxy of one run: its own small runtime (threads in the caller's network
/// namespace, so upstream connections leave from the host), a listener on `PROXY_ADDR` inside
/// the run's namespace, and the events it reported.
struct Egress {
    runtime: tokio::runtime::Runtime,
    handle: EgressHandle,
    events: mpsc::Receiver<EgressEvent>,
}

impl Egress {
    fn start(listener: std::net::TcpListener, policy: EgressPolicy) -> Result<Self, SandboxError> {
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
        let (sender, events) = mpsc::channel();
        // An unbounded channel: the proxy never waits for the audit log.
        let audit: crate::egress::AuditSink = Arc::new(move |event| {
            let _ = sender.send(event);
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
            events,
        })
    }

    /// Stops the proxy (connections still open are cut and reported) and returns every event.
    fn finish(self) -> Vec<EgressEvent> {
        let Self {
            runtime,
            handle,
            events,
        } = self;
        handle.stop();
        runtime.shutdown_timeout(Duration::from_secs(2));
        events.try_iter().collect()
    }
}

/// Writes what a stream's redactor still holds (the tail it kept back to catch a secret split
/// across chunks); returns the bytes written.
fn finish(stream: StreamRedactor, sink: &mut (dyn Write + Send)) -> u64 {
    let rest = stream.finish();
    let written = if sink.write_all(&rest).is_ok() {
        rest.len() as u64
    } else {
        0
    };
    let _ = sink.flush();
    written
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
        (
            "PATH".to_string(),
            "/usr/local/bin:/usr/bin:/bin".to_string(),
        ),
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
        limits: limits(&context.config().limits, authorised),
        hostname: "aegisclaw".to_string(),
    }
}

/// A mount as `run.launch` records it: the resolved path that is bound, what it grants and
/// what kind of object it is.
fn launch_mount(mount: &Mount) -> serde_json::Value {
    json!({
        "path": mount.opened.path(),
        "access": mount.access,
        "kind": mount.opened.kind(),
        "read_only": mount.access != MountAccess::Write,
    })
}

/// The skill's declared limits, never above the configured ones.
fn limits(config: &ConfigLimits, authorised: &Authorised) -> Limits {
    let declared = authorised.resources.clone().unwrap_or_default();
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
    }
}
