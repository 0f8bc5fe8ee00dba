//! An opened home for one actor: its validated config, its trust store, and an audit writer
//! that every action goes through. Front doors get one `Context` per request or command.

use aegisclaw_core::audit::{AuditError, AuditLog, Durable, Event, Record};
use aegisclaw_core::config::{Config, ConfigError};
use aegisclaw_core::env;
use aegisclaw_core::home::{self, Home, HomeError};
use aegisclaw_core::key::{KeyError, PublicKey, SigningKey};
use aegisclaw_core::trust::{TrustError, TrustStore};
use std::path::PathBuf;

/// Errors opening a home or recording to its audit log.
#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    /// The home is missing or unreadable.
    #[error(transparent)]
    Home(#[from] HomeError),
    /// `config.yaml` is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The audit log could not be written.
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// The trust store could not be read.
    #[error(transparent)]
    Trust(#[from] TrustError),
    /// A key file is malformed.
    #[error("invalid key file `{path}`")]
    Key {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        #[source]
        source: KeyError,
    },
}

/// An initialised home opened by one actor.
#[derive(Debug)]
pub struct Context {
    home: Home,
    config: Config,
    actor: String,
    audit: Option<AuditLog>,
}

impl Context {
    /// Opens an initialised home: validates `config.yaml` first, so a broken config is an
    /// error naming the file before anything is done.
    pub fn open(home: Home, actor: impl Into<String>) -> Result<Self, ContextError> {
        home.require()?;
        let config = Config::load(&home)?;
        Ok(Self {
            home,
            config,
            actor: actor.into(),
            audit: None,
        })
    }

    /// The home.
    pub fn home(&self) -> &Home {
        &self.home
    }

    /// The validated config.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Who is acting (`cli:alice`).
    pub fn actor(&self) -> &str {
        &self.actor
    }

    /// A new audit event of `kind` by this context's actor.
    pub fn event(&self, kind: &str) -> Event {
        Event::new(kind, &self.actor)
    }

    /// Appends `event` to the audit log; it is durable when this returns.
    pub fn record(&mut self, event: Event) -> Result<Record, ContextError> {
        Ok(self.log()?.append(event)?)
    }

    /// Appends `event` like [`record`](Self::record), with the byte offset of its line in the
    /// log (for state that names the record).
    pub fn record_located(&mut self, event: Event) -> Result<(Record, u64), ContextError> {
        Ok(self.log()?.append_located(event)?)
    }

    /// Appends `events` in order with one fsync (group commit); all are durable when this
    /// returns.
    pub fn record_batch(&mut self, events: Vec<Event>) -> Result<Vec<Record>, ContextError> {
        Ok(self.log()?.append_batch(events)?)
    }

    /// Writes `events` and returns before they are fsynced: they are durable once the returned
    /// [`Durable::wait`] returns `Ok`, and what they announce must not start before that.
    pub fn record_batch_deferred(&mut self, events: Vec<Event>) -> Result<Durable, ContextError> {
        Ok(self.log()?.append_batch_deferred(events)?.1)
    }

    fn log(&mut self) -> Result<&mut AuditLog, ContextError> {
        let log = match self.audit.take() {
            Some(log) => log,
            None => {
                let mut log = open_audit(&self.home)?;
                log.set_checkpoint_every(self.config.checkpoint_every);
                log
            }
        };
        Ok(self.audit.insert(log))
    }

    /// The trusted publisher keys of this home, plus the project's built-in key.
    pub fn trust(&self) -> Result<TrustStore, ContextError> {
        Ok(TrustStore::load(&self.home.trust_dir())?.with_project_keys())
    }

    /// Public keys that may sign this home's audit checkpoints.
    pub fn audit_keys(&self) -> Result<Vec<PublicKey>, ContextError> {
        audit_keys(&self.home)
    }

    /// Closes the audit writer, writing its signed checkpoint.
    pub fn close(mut self) -> Result<(), ContextError> {
        if let Some(log) = self.audit.take() {
            log.close()?;
        }
        Ok(())
    }
}

/// Opens the home's audit log with its checkpoint key (the key is optional: a home created
/// before checkpoints gets a chain without them, which `logs verify` reports).
pub fn open_audit(home: &Home) -> Result<AuditLog, ContextError> {
    let signer = read_signing_key(&home.audit_key())?;
    Ok(AuditLog::open(
        &home.audit_log(),
        &home.audit_checkpoints(),
        signer,
    )?)
}

/// The public keys that verify this home's checkpoints.
pub fn audit_keys(home: &Home) -> Result<Vec<PublicKey>, ContextError> {
    let path = home.audit_public_key();
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text = home::read_text(&path)?;
    let key = PublicKey::from_text(&text).map_err(|source| ContextError::Key { path, source })?;
    Ok(vec![key])
}

/// Reads a secret key file, or `None` if it does not exist.
pub fn read_signing_key(path: &std::path::Path) -> Result<Option<SigningKey>, ContextError> {
    if !path.exists() {
        return Ok(None);
    }
    let text = home::read_text(path)?;
    let key = SigningKey::from_text(&text).map_err(|source| ContextError::Key {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(Some(key))
}

/// The actor of CLI commands: `cli:` and `$AEGISCLAW_ACTOR`, else the login name, else the
/// name of the process's user id in `/etc/passwd`, else `uid-<n>`.
pub fn cli_actor() -> String {
    let name = env::get_string(env::AEGISCLAW_ACTOR)
        .or_else(|| env::get_string(env::USER))
        .or_else(|| env::get_string(env::LOGNAME))
        .unwrap_or_else(user_of_process);
    format!("cli:{name}")
}

fn user_of_process() -> String {
    use std::os::unix::fs::MetadataExt as _;
    let Ok(uid) = fs_err::metadata("/proc/self").map(|meta| meta.uid()) else {
        return "unknown".to_string();
    };
    let passwd = fs_err::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            let id = fields.nth(1)?.parse::<u32>().ok()?;
            (id == uid).then(|| name.to_string())
        })
        .next()
        .unwrap_or_else(|| format!("uid-{uid}"))
}
