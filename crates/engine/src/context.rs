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

    /// Appends `events` as this context's last records, with one fsync that overlaps
    /// `meanwhile` and the signing of the closing checkpoint (see
    /// [`AuditLog::append_final_batch`]); all are durable when this returns, and
    /// [`close`](Self::close) has nothing left to write unless more is recorded.
    pub fn record_final_batch(
        &mut self,
        events: Vec<Event>,
        meanwhile: impl FnOnce() + Send,
    ) -> Result<Vec<Record>, ContextError> {
        Ok(self.log()?.append_final_batch(events, meanwhile)?)
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
    let text = home::read_file_text(&path, home::FileKind::Key, home::Follow::No)?;
    let key = PublicKey::from_text(&text).map_err(|source| ContextError::Key { path, source })?;
    Ok(vec![key])
}

/// Reads a secret key file, or `None` if it does not exist.
pub fn read_signing_key(path: &std::path::Path) -> Result<Option<SigningKey>, ContextError> {
    if !path.exists() {
        return Ok(None);
    }
    let text = home::read_file_text(path, home::FileKind::Key, home::Follow::No)?;
    let key = SigningKey::from_text(&text).map_err(|source| ContextError::Key {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(Some(key))
}

/// The actor of CLI commands, `cli:<identity>`: the identity is the process's real user id,
/// named by `/etc/passwd` (else `uid:<n>`), never anything the environment says. A label the
/// caller declares (`$AEGISCLAW_ACTOR`, else `$USER`, else `$LOGNAME`) that is not that name
/// is kept only as a subordinate claim after it: `cli:alice/claims:root`.
pub fn cli_actor() -> String {
    let identity = process_identity();
    let claim = env::get_string(env::AEGISCLAW_ACTOR)
        .or_else(|| env::get_string(env::USER))
        .or_else(|| env::get_string(env::LOGNAME));
    actor_for(&identity, claim.as_deref())
}

/// `cli:<identity>`, with `/claims:<claim>` when a claim differs from the identity.
fn actor_for(identity: &str, claim: Option<&str>) -> String {
    match claim {
        Some(claim) if claim != identity => format!("cli:{identity}/claims:{claim}"),
        _ => format!("cli:{identity}"),
    }
}

/// The passwd name of the real uid, else `uid:<n>`, else `uid:unknown` where no uid can be
/// read (a platform without an implementation).
fn process_identity() -> String {
    match aegisclaw_sandbox::process::real_uid() {
        Some(uid) => {
            aegisclaw_sandbox::process::passwd_name(uid).unwrap_or_else(|| format!("uid:{uid}"))
        }
        None => "uid:unknown".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forged_label_is_only_a_claim_after_the_real_identity() {
        assert_eq!(actor_for("alice", Some("root")), "cli:alice/claims:root");
        assert_eq!(actor_for("alice", Some("alice")), "cli:alice");
        assert_eq!(actor_for("alice", None), "cli:alice");
        assert_eq!(
            actor_for("uid:1234", Some("root")),
            "cli:uid:1234/claims:root"
        );
        // A claim that spells an actor itself stays after the identity.
        assert_eq!(
            actor_for("alice", Some("root/claims:x")),
            "cli:alice/claims:root/claims:x"
        );
    }
}
