//! Signed checkpoints: canonical `{seq, hash, ts, key_id, sig}` lines in
//! `audit/checkpoints.jsonl` that let `verify` detect a truncated or rewritten log.
//! Does not read the log and does not decide which keys are trusted.

use super::chain::{open_private, read_tail_bytes};
use super::record::decode_hash;
use super::{AuditError, io_error, sync_parent};
use crate::canonical::write_value;
use crate::key::{CHECKPOINT_DOMAIN, PublicKey, Signature, SigningKey};
use crate::timestamp::Timestamp;
use serde_json::{Map, Value};
use std::io::Write as _;
use std::path::Path;

/// A signed statement that record `seq` of the log has hash `hash`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The record covered.
    pub seq: u64,
    /// That record's hash (hex).
    pub hash: String,
    /// When the checkpoint was made.
    pub ts: Timestamp,
    /// Id of the signing key (16 hex digits).
    pub key_id: String,
    /// `ed25519:<base64>` over `CHECKPOINT_DOMAIN || canonical({seq, hash, ts, key_id})`.
    pub sig: String,
}

impl Checkpoint {
    /// Signs a checkpoint of record `seq` with hash `hash`.
    pub fn sign(seq: u64, hash: &str, ts: Timestamp, key: &SigningKey) -> Result<Self, AuditError> {
        let mut checkpoint = Self {
            seq,
            hash: hash.to_string(),
            ts,
            key_id: key.public().key_id(),
            sig: String::new(),
        };
        let signed = checkpoint.signed_bytes()?;
        checkpoint.sig = key.sign(CHECKPOINT_DOMAIN, &signed).to_text();
        Ok(checkpoint)
    }

    fn unsigned_map(&self) -> Map<String, Value> {
        let mut map = Map::new();
        map.insert("seq".into(), Value::from(self.seq));
        map.insert("hash".into(), Value::String(self.hash.clone()));
        map.insert("ts".into(), Value::String(self.ts.to_string()));
        map.insert("key_id".into(), Value::String(self.key_id.clone()));
        map
    }

    /// The bytes the signature covers, without the domain prefix.
    pub fn signed_bytes(&self) -> Result<Vec<u8>, AuditError> {
        let mut out = String::with_capacity(160);
        write_value(&mut out, &Value::Object(self.unsigned_map()))?;
        Ok(out.into_bytes())
    }

    /// The stored line: canonical JSON of all five fields, then `\n`.
    pub fn to_line(&self) -> Result<String, AuditError> {
        let mut map = self.unsigned_map();
        map.insert("sig".into(), Value::String(self.sig.clone()));
        let mut out = String::with_capacity(256);
        write_value(&mut out, &Value::Object(map))?;
        out.push('\n');
        Ok(out)
    }

    /// Parses one stored line (without its newline); the error says what is wrong.
    pub(crate) fn parse(line: &[u8]) -> Result<Self, String> {
        let value: Value =
            serde_json::from_slice(line).map_err(|error| format!("not JSON: {error}"))?;
        let Value::Object(map) = value else {
            return Err("not a JSON object".into());
        };
        if let Some(unknown) = map
            .keys()
            .find(|key| !["seq", "hash", "ts", "key_id", "sig"].contains(&key.as_str()))
        {
            return Err(format!("unknown field `{unknown}`"));
        }
        let text = |name: &str| {
            map.get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| format!("missing or non-string `{name}`"))
        };
        let seq = map
            .get("seq")
            .and_then(Value::as_u64)
            .filter(|seq| *seq > 0)
            .ok_or("missing or non-positive `seq`")?;
        let hash = text("hash")?;
        if decode_hash(hash).is_none() {
            return Err(format!("`hash` `{hash}` is not 64 hex digits"));
        }
        let ts = Timestamp::parse(text("ts")?).map_err(|error| error.to_string())?;
        Ok(Self {
            seq,
            hash: hash.to_string(),
            ts,
            key_id: text("key_id")?.to_string(),
            sig: text("sig")?.to_string(),
        })
    }

    /// Checks the signature against the trusted key with the checkpoint's key id.
    pub(crate) fn check(&self, trusted: &[PublicKey]) -> Result<(), String> {
        let key = trusted
            .iter()
            .find(|key| key.key_id() == self.key_id)
            .ok_or_else(|| format!("signed by unknown key `{}`", self.key_id))?;
        let signature = Signature::from_text(&self.sig).map_err(|error| error.to_string())?;
        let signed = self.signed_bytes().map_err(|error| error.to_string())?;
        key.verify(CHECKPOINT_DOMAIN, &signed, &signature)
            .map_err(|error| error.to_string())
    }
}

/// Appends `checkpoint` to the file at `path` and (with `sync`) fsyncs it. A torn last line left
/// by a crashed writer is cut off first so the new line starts on its own. Callers hold the
/// log's lock, which serialises checkpoint writers.
pub(super) fn append(path: &Path, checkpoint: &Checkpoint, sync: bool) -> Result<(), AuditError> {
    let existed = path.exists();
    let file = open_private(path)?;
    if !existed {
        sync_parent(path)?;
    }
    let tail = read_tail_bytes(&file, path)?;
    if tail.torn.is_some() {
        file.set_len(tail.complete_len)
            .map_err(io_error("truncate", path))?;
    }
    (&file)
        .write_all(checkpoint.to_line()?.as_bytes())
        .map_err(io_error("append to", path))?;
    if sync {
        file.sync_data().map_err(io_error("fsync", path))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::record::GENESIS_HASH;

    fn sample(key: &SigningKey) -> Checkpoint {
        let ts = Timestamp::parse("2026-11-24T10:00:00.5Z").unwrap();
        Checkpoint::sign(7, &"ab".repeat(32), ts, key).unwrap()
    }

    #[test]
    fn signs_parses_and_verifies() {
        let key = SigningKey::from_seed([1; 32]);
        let checkpoint = sample(&key);
        let line = checkpoint.to_line().unwrap();
        assert!(line.starts_with(&format!(
            "{{\"hash\":\"{}\",\"key_id\":\"{}\",\"seq\":7,\"sig\":\"ed25519:",
            "ab".repeat(32),
            key.public().key_id()
        )));
        assert!(line.ends_with("\",\"ts\":\"2026-11-24T10:00:00.500000000Z\"}\n"));
        let parsed = Checkpoint::parse(line.trim_end().as_bytes()).unwrap();
        assert_eq!(parsed, checkpoint);
        parsed.check(&[key.public()]).unwrap();
    }

    #[test]
    fn rejects_other_keys_forged_fields_and_garbage() {
        let key = SigningKey::from_seed([1; 32]);
        let other = SigningKey::from_seed([2; 32]);
        let checkpoint = sample(&key);
        let unknown = checkpoint.check(&[other.public()]).unwrap_err();
        assert_eq!(
            unknown,
            format!("signed by unknown key `{}`", key.public().key_id())
        );
        let mut forged = checkpoint.clone();
        forged.seq = 8;
        let error = forged.check(&[key.public()]).unwrap_err();
        assert!(error.starts_with("signature does not verify"), "{error}");
        let mut moved = checkpoint;
        moved.hash = GENESIS_HASH.into();
        assert!(moved.check(&[key.public()]).is_err());
        assert_eq!(Checkpoint::parse(b"[1]").unwrap_err(), "not a JSON object");
        assert!(
            Checkpoint::parse(b"{\"seq\":0}")
                .unwrap_err()
                .contains("`seq`")
        );
    }

    #[test]
    fn append_cuts_a_torn_checkpoint_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("checkpoints.jsonl");
        let key = SigningKey::from_seed([1; 32]);
        let checkpoint = sample(&key);
        let line = checkpoint.to_line().unwrap();
        fs_err::write(&path, format!("{line}{{\"hash\":")).unwrap();
        append(&path, &checkpoint, true).unwrap();
        assert_eq!(
            fs_err::read_to_string(&path).unwrap(),
            format!("{line}{line}")
        );
    }
}
