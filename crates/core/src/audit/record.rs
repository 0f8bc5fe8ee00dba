//! Audit records: the caller's `Event`, the stored `Record`, and the exact bytes that are hashed
//! and written. Does no I/O and does not check chains (see `verify`).

use super::AuditError;
use crate::canonical::write_value;
use crate::timestamp::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

/// The `prev` of the first record: 64 zeros.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a caller asks to record; the writer adds `seq`, `ts`, `prev` and `hash`.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Dotted kind such as `policy.decision`.
    pub kind: String,
    /// Who acted, such as `cli:alice`.
    pub actor: String,
    /// The run this belongs to.
    pub run: Option<String>,
    /// The skill involved.
    pub skill: Option<String>,
    /// The scope involved.
    pub scope: Option<String>,
    /// The decision taken, such as `allow` or `deny`.
    pub decision: Option<String>,
    /// Why the decision was taken.
    pub reason: Option<String>,
    /// Free-form details; must be a JSON object.
    pub data: Value,
}

impl Event {
    /// An event of `kind` by `actor` with empty `data`.
    pub fn new(kind: impl Into<String>, actor: impl Into<String>) -> Self {
        Self {
            kind: kind.into(),
            actor: actor.into(),
            run: None,
            skill: None,
            scope: None,
            decision: None,
            reason: None,
            data: Value::Object(Map::new()),
        }
    }

    /// Sets the run id.
    #[must_use]
    pub fn run(mut self, run: impl Into<String>) -> Self {
        self.run = Some(run.into());
        self
    }

    /// Sets the skill name.
    #[must_use]
    pub fn skill(mut self, skill: impl Into<String>) -> Self {
        self.skill = Some(skill.into());
        self
    }

    /// Sets the scope text.
    #[must_use]
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Sets the decision.
    #[must_use]
    pub fn decision(mut self, decision: impl Into<String>) -> Self {
        self.decision = Some(decision.into());
        self
    }

    /// Sets the reason.
    #[must_use]
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    /// Sets `data`, which must be a JSON object when appended.
    #[must_use]
    pub fn data(mut self, data: Value) -> Self {
        self.data = data;
        self
    }
}

/// One line of `audit/audit.jsonl` (DESIGN §6).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// Position in the chain, from 1.
    pub seq: u64,
    /// When the record was written.
    #[serde(with = "timestamp_text")]
    pub ts: Timestamp,
    /// Dotted kind such as `policy.decision`.
    pub kind: String,
    /// Who acted.
    pub actor: String,
    /// The run this belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// The skill involved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill: Option<String>,
    /// The scope involved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// The decision taken.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Free-form details.
    pub data: Map<String, Value>,
    /// Hex sha256 of the previous record (`GENESIS_HASH` for seq 1).
    pub prev: String,
    /// Hex sha256 of `prev` bytes and the canonical record without `hash`.
    pub hash: String,
}

/// Top-level field names a record may have; `verify` rejects any other.
pub(crate) const FIELDS: &[&str] = &[
    "actor", "data", "decision", "hash", "kind", "prev", "reason", "run", "scope", "seq", "skill",
    "ts",
];

/// Optional string fields of a record.
pub(crate) const OPTIONAL_FIELDS: &[&str] = &["decision", "reason", "run", "scope", "skill"];

impl Record {
    /// Seals `event` as record `seq` after `prev` (hex), computing its hash.
    pub fn seal(event: Event, seq: u64, ts: Timestamp, prev: &str) -> Result<Self, AuditError> {
        let Value::Object(data) = event.data else {
            return Err(AuditError::DataNotObject { kind: event.kind });
        };
        let mut record = Self {
            seq,
            ts,
            kind: event.kind,
            actor: event.actor,
            run: event.run,
            skill: event.skill,
            scope: event.scope,
            decision: event.decision,
            reason: event.reason,
            data,
            prev: prev.to_string(),
            hash: String::new(),
        };
        record.hash = record.compute_hash()?;
        Ok(record)
    }

    /// The record as a JSON value, with or without its `hash` field.
    pub fn to_value(&self, with_hash: bool) -> Value {
        let mut map = Map::new();
        map.insert("seq".into(), Value::from(self.seq));
        map.insert("ts".into(), Value::String(self.ts.to_string()));
        map.insert("kind".into(), Value::String(self.kind.clone()));
        map.insert("actor".into(), Value::String(self.actor.clone()));
        let optional = [
            ("run", &self.run),
            ("skill", &self.skill),
            ("scope", &self.scope),
            ("decision", &self.decision),
            ("reason", &self.reason),
        ];
        for (name, value) in optional {
            if let Some(text) = value {
                map.insert(name.into(), Value::String(text.clone()));
            }
        }
        map.insert("data".into(), Value::Object(self.data.clone()));
        map.insert("prev".into(), Value::String(self.prev.clone()));
        if with_hash {
            map.insert("hash".into(), Value::String(self.hash.clone()));
        }
        Value::Object(map)
    }

    /// Computes the hash this record should carry from its other fields.
    pub fn compute_hash(&self) -> Result<String, AuditError> {
        let mut canonical = String::with_capacity(256);
        write_value(&mut canonical, &self.to_value(false))?;
        let prev = decode_hash(&self.prev).unwrap_or([0; 32]);
        Ok(hex::encode(chain_hash(&prev, &[canonical.as_bytes()])))
    }

    /// Appends the stored line (canonical JSON with `hash`, then `\n`) to `out`.
    pub fn write_line(&self, out: &mut String) -> Result<(), AuditError> {
        write_value(out, &self.to_value(true))?;
        out.push('\n');
        Ok(())
    }
}

/// `sha256(prev || parts...)`, the chain hash over the canonical record without `hash`.
pub(crate) fn chain_hash(prev: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(prev);
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// Decodes 64 lowercase hex digits into 32 bytes.
pub(crate) fn decode_hash(text: &str) -> Option<[u8; 32]> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 || !bytes.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(bytes, &mut out).ok()?;
    Some(out)
}

/// Serde for `Timestamp` as its RFC 3339 text.
mod timestamp_text {
    use crate::timestamp::Timestamp;
    use serde::{Deserialize as _, Deserializer, Serializer, de::Error as _};

    pub(super) fn serialize<S: Serializer>(
        ts: &Timestamp,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_str(ts)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Timestamp, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(deserializer)?;
        Timestamp::parse(&text).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fixed_ts() -> Timestamp {
        Timestamp::parse("2026-11-24T10:00:00.123456789Z").unwrap()
    }

    /// Known-answer vector: pins the exact line and hash so the format cannot drift silently.
    #[test]
    fn record_hash_known_answer() {
        let event = Event::new("policy.decision", "cli:alice")
            .run("run-1")
            .skill("web-search")
            .scope("net.outbound:example.com:443")
            .decision("deny")
            .reason("rule strict.allow: approval required")
            .data(json!({"b": [1, 2.5, "x"], "a": {"z": null, "é": true}}));
        let record = Record::seal(event, 42, fixed_ts(), GENESIS_HASH).unwrap();
        let mut without_hash = String::new();
        write_value(&mut without_hash, &record.to_value(false)).unwrap();
        assert_eq!(
            without_hash,
            r#"{"actor":"cli:alice","data":{"a":{"z":null,"é":true},"b":[1,2.5,"x"]},"decision":"deny","kind":"policy.decision","prev":"0000000000000000000000000000000000000000000000000000000000000000","reason":"rule strict.allow: approval required","run":"run-1","scope":"net.outbound:example.com:443","seq":42,"skill":"web-search","ts":"2026-11-24T10:00:00.123456789Z"}"#
        );
        // sha256 of 32 zero bytes followed by the line above.
        let mut hasher = Sha256::new();
        hasher.update([0u8; 32]);
        hasher.update(without_hash.as_bytes());
        assert_eq!(record.hash, hex::encode(hasher.finalize()));
        assert_eq!(record.hash, KNOWN_HASH);
    }

    /// Computed independently: `sha256(32 zero bytes || line)` with Python hashlib.
    const KNOWN_HASH: &str = "7e98b269cc95e245dcabf4811d2c714fd923bb634f2a957a6d7a8d9a2970e4e5";

    #[test]
    fn line_is_canonical_and_round_trips() {
        let record = Record::seal(
            Event::new("skill.run", "cli:bob").data(json!({"n": 1})),
            1,
            fixed_ts(),
            GENESIS_HASH,
        )
        .unwrap();
        let mut line = String::new();
        record.write_line(&mut line).unwrap();
        assert!(line.ends_with("}\n"));
        assert!(
            !line.contains("\"run\""),
            "absent optional fields are omitted: {line}"
        );
        let parsed: Record = serde_json::from_str(&line).unwrap();
        assert_eq!(parsed, record);
        assert_eq!(parsed.compute_hash().unwrap(), record.hash);
    }

    #[test]
    fn chaining_changes_the_hash_and_data_must_be_an_object() {
        let first = Record::seal(Event::new("a", "x"), 1, fixed_ts(), GENESIS_HASH).unwrap();
        let second = Record::seal(Event::new("a", "x"), 2, fixed_ts(), &first.hash).unwrap();
        let other = Record::seal(Event::new("a", "x"), 2, fixed_ts(), GENESIS_HASH).unwrap();
        assert_eq!(second.prev, first.hash);
        assert_ne!(second.hash, other.hash);
        let error = Record::seal(
            Event::new("a", "x").data(json!([1])),
            1,
            fixed_ts(),
            GENESIS_HASH,
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "event `a` has `data` that is not a JSON object"
        );
    }

    #[test]
    fn decode_hash_wants_64_lowercase_hex_digits() {
        assert_eq!(decode_hash(GENESIS_HASH), Some([0; 32]));
        assert_eq!(decode_hash(&"AB".repeat(32)), None);
        assert_eq!(decode_hash("00"), None);
    }
}
