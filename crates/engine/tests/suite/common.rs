//! A home built the way `init --defaults` builds one, without the CLI.

use aegisclaw_core::audit::Event;
use aegisclaw_core::config::{Config, PolicyTemplate};
use aegisclaw_core::home::{self, Home};
use aegisclaw_core::key::SigningKey;
use aegisclaw_core::lockdown::{self, Lockdown, RecordRef};
use aegisclaw_core::policy;
use aegisclaw_core::trust::TrustStore;

/// A temp dir holding an initialised home with `template` as its policy and one audit record
/// covered by a signed checkpoint.
pub(crate) fn home_with(template: PolicyTemplate) -> (tempfile::TempDir, Home) {
    let dir = tempfile::tempdir().unwrap();
    let home = Home::at(dir.path().join("home"));
    home.ensure_layout().unwrap();
    let config = Config {
        policy_template: template,
        ..Config::default()
    };
    config.save(&home).unwrap();
    let text = policy::template_text(template).unwrap();
    home::atomic_write(&home.default_policy(), text.as_bytes()).unwrap();
    for (secret, public) in [
        (home.signing_key(), home.signing_public_key()),
        (home.audit_key(), home.audit_public_key()),
    ] {
        let key = SigningKey::generate().unwrap();
        home::atomic_write(&secret, key.to_text().as_bytes()).unwrap();
        home::atomic_write(&public, key.public().to_text().as_bytes()).unwrap();
        if secret == home.signing_key() {
            TrustStore::add(&home.trust_dir(), &key.public()).unwrap();
        }
    }
    // `init`'s first record, and the lockdown state (off) naming it.
    let mut log = aegisclaw_engine::open_audit(&home).unwrap();
    let (record, offset) = log
        .append_located(Event::new(lockdown::INIT_KIND, "cli:tester"))
        .unwrap();
    log.close().unwrap();
    let state = Lockdown {
        since: Some(record.ts),
        by: Some(record.actor),
        record: Some(RecordRef {
            seq: record.seq,
            hash: record.hash,
            offset,
        }),
        ..Lockdown::default()
    };
    lockdown::set(&home, &state).unwrap();
    (dir, home)
}

/// Rewrites the first audit record's actor, which breaks its hash.
pub(crate) fn tamper_audit(home: &Home) {
    let path = home.audit_log();
    let text = std::fs::read_to_string(&path).unwrap();
    let edited = text.replacen("cli:tester", "cli:mallory", 1);
    assert_ne!(text, edited);
    std::fs::write(&path, edited).unwrap();
}
