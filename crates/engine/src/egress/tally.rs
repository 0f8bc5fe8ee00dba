//! A run's egress events on their way to the audit log (DESIGN §6: every string from a
//! sandboxed program passes through the run's redactor). Each event's program-chosen text
//! (the host it asked for, and the reason, which quotes it) is redacted case-insensitively and
//! cut to a bounded length; identical events collapse into one record with a count and
//! first/last times; and once the run holds `cap` distinct records, later events are only
//! counted, in one `run.records_capped` record. So a program decides neither what a record
//! says about a secret nor how many records a run writes. Pure: the caller passes the time
//! and writes the records.

use super::{EgressEvent, EgressMethod};
use aegisclaw_core::audit::Event;
use aegisclaw_core::redact::Redactor;
use aegisclaw_core::timestamp::Timestamp;
use serde_json::json;
use std::collections::HashMap;
use std::net::IpAddr;

/// The longest host kept in a record, in bytes (a DNS name has at most 253).
pub const MAX_HOST_BYTES: usize = 255;
/// The longest reason kept in a record, in bytes.
pub const MAX_REASON_BYTES: usize = 600;

/// What makes two events the same record.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    allowed: bool,
    host: String,
    port: u16,
    method: EgressMethod,
    reason: String,
    scope: Option<String>,
    resolved: Option<IpAddr>,
}

impl Key {
    fn of(event: &EgressEvent) -> Self {
        Self {
            allowed: event.allowed,
            host: event.host.clone(),
            port: event.port,
            method: event.method,
            reason: event.reason.clone(),
            scope: event.scope.clone(),
            resolved: event.resolved,
        }
    }
}

/// One record: the first event of its kind and what the repeats added.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    event: EgressEvent,
    count: u64,
    first: Timestamp,
    last: Timestamp,
}

/// What was counted but not recorded one by one, once the cap was reached.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Suppressed {
    events: u64,
    allowed: u64,
    denied: u64,
    bytes_up: u64,
    bytes_down: u64,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
}

/// A run's egress events, redacted, collapsed and capped.
#[derive(Debug, Default)]
pub struct EgressTally {
    cap: usize,
    redactor: Redactor,
    entries: Vec<Entry>,
    index: HashMap<Key, usize>,
    suppressed: Suppressed,
}

impl EgressTally {
    /// At most `cap` distinct records, with the run's secrets removed by `redactor`.
    pub fn new(cap: usize, redactor: Redactor) -> Self {
        Self {
            cap,
            redactor,
            entries: Vec::new(),
            index: HashMap::new(),
            suppressed: Suppressed::default(),
        }
    }

    /// Takes one event that happened `at`.
    pub fn observe(&mut self, event: EgressEvent, at: Timestamp) {
        let event = self.sanitise(event);
        let key = Key::of(&event);
        if let Some(&index) = self.index.get(&key) {
            let entry = &mut self.entries[index];
            entry.count += 1;
            entry.last = at;
            entry.event.bytes_up = entry.event.bytes_up.saturating_add(event.bytes_up);
            entry.event.bytes_down = entry.event.bytes_down.saturating_add(event.bytes_down);
            return;
        }
        if self.entries.len() < self.cap {
            self.index.insert(key, self.entries.len());
            self.entries.push(Entry {
                event,
                count: 1,
                first: at,
                last: at,
            });
            return;
        }
        let suppressed = &mut self.suppressed;
        suppressed.events += 1;
        if event.allowed {
            suppressed.allowed += 1;
        } else {
            suppressed.denied += 1;
        }
        suppressed.bytes_up = suppressed.bytes_up.saturating_add(event.bytes_up);
        suppressed.bytes_down = suppressed.bytes_down.saturating_add(event.bytes_down);
        suppressed.first.get_or_insert(at);
        suppressed.last = Some(at);
    }

    /// The records, in the order their first event came: one `net.egress` per distinct
    /// event (with `count`, `first` and `last`), then `run.records_capped` if the cap was
    /// reached. Leaves the tally empty.
    pub fn take_records(&mut self, actor: &str, run: &str, skill: &str) -> Vec<Event> {
        let mut records: Vec<Event> = std::mem::take(&mut self.entries)
            .into_iter()
            .map(|entry| {
                let mut record = entry.event.to_audit_event(actor, run).skill(skill);
                if let Some(data) = record.data.as_object_mut() {
                    data.insert("count".to_string(), entry.count.into());
                    data.insert("first".to_string(), entry.first.to_string().into());
                    data.insert("last".to_string(), entry.last.to_string().into());
                }
                record
            })
            .collect();
        self.index.clear();
        let suppressed = std::mem::take(&mut self.suppressed);
        if suppressed.events > 0 {
            records.push(
                Event::new("run.records_capped", actor)
                    .run(run)
                    .skill(skill)
                    .reason(format!(
                        "the run's program reached the cap of {} records (`audit.max_run_records`): {} more egress events are only counted here",
                        self.cap, suppressed.events
                    ))
                    .data(json!({
                        "cap": self.cap,
                        "suppressed": {
                            "net.egress": {
                                "events": suppressed.events,
                                "allowed": suppressed.allowed,
                                "denied": suppressed.denied,
                                "bytes_up": suppressed.bytes_up,
                                "bytes_down": suppressed.bytes_down,
                                "first": suppressed.first.map(|at| at.to_string()),
                                "last": suppressed.last.map(|at| at.to_string()),
                            }
                        },
                    })),
            );
        }
        records
    }

    /// The event with the run's secrets removed from every string the program chose, and
    /// those strings cut to their limits (after redaction, so no cut leaves part of a secret).
    fn sanitise(&self, mut event: EgressEvent) -> EgressEvent {
        event.host = bounded(
            self.redactor.redact_str_ignore_case(&event.host),
            MAX_HOST_BYTES,
        );
        event.reason = bounded(
            self.redactor.redact_str_ignore_case(&event.reason),
            MAX_REASON_BYTES,
        );
        event
    }
}

/// `text` cut to at most `limit` bytes on a character boundary, saying how much was cut.
fn bounded(text: String, limit: usize) -> String {
    if text.len() <= limit {
        return text;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…[{} bytes cut]", &text[..end], text.len() - end)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn at(second: i128) -> Timestamp {
        Timestamp::from_unix_nanos(1_795_514_400_000_000_000 + second * 1_000_000_000)
    }

    fn denied(host: &str) -> EgressEvent {
        EgressEvent {
            host: host.to_string(),
            port: 443,
            resolved: None,
            allowed: false,
            reason: format!("egress to `{host}:443` is not in this run's net.outbound scopes"),
            scope: None,
            bytes_up: 0,
            bytes_down: 0,
            method: EgressMethod::Connect,
        }
    }

    fn allowed(bytes_up: u64) -> EgressEvent {
        EgressEvent {
            host: "api.test".to_string(),
            port: 443,
            resolved: Some("192.0.3.10".parse().unwrap()),
            allowed: true,
            reason: "allowed by `net.outbound:api.test`".to_string(),
            scope: Some("net.outbound:api.test".to_string()),
            bytes_up,
            bytes_down: 2 * bytes_up,
            method: EgressMethod::Connect,
        }
    }

    fn data(records: &[Event]) -> Vec<serde_json::Value> {
        records
            .iter()
            .map(|record| {
                json!({
                    "kind": record.kind,
                    "decision": record.decision,
                    "reason": record.reason,
                    "host": record.data.get("host"),
                    "count": record.data.get("count"),
                    "first": record.data.get("first"),
                    "last": record.data.get("last"),
                    "bytes_up": record.data.get("bytes_up"),
                })
            })
            .collect()
    }

    #[test]
    fn identical_events_collapse_into_one_counted_record() {
        let mut tally = EgressTally::new(10, Redactor::default());
        for second in 0..5 {
            tally.observe(denied("evil.test"), at(second));
        }
        tally.observe(allowed(10), at(5));
        tally.observe(denied("other.test"), at(6));
        tally.observe(allowed(5), at(7));
        let records = tally.take_records("cli:alice", "run-1", "ad-hoc");
        assert_eq!(
            data(&records),
            vec![
                json!({"kind": "net.egress", "decision": "deny",
                       "reason": "egress to `evil.test:443` is not in this run's net.outbound scopes",
                       "host": "evil.test", "count": 5, "first": at(0).to_string(),
                       "last": at(4).to_string(), "bytes_up": 0}),
                json!({"kind": "net.egress", "decision": "allow",
                       "reason": "allowed by `net.outbound:api.test`", "host": "api.test",
                       "count": 2, "first": at(5).to_string(), "last": at(7).to_string(),
                       "bytes_up": 15}),
                json!({"kind": "net.egress", "decision": "deny",
                       "reason": "egress to `other.test:443` is not in this run's net.outbound scopes",
                       "host": "other.test", "count": 1, "first": at(6).to_string(),
                       "last": at(6).to_string(), "bytes_up": 0}),
            ]
        );
        assert_eq!(records[1].data["bytes_down"], 30);
        assert_eq!(records[0].run.as_deref(), Some("run-1"));
        assert_eq!(records[0].skill.as_deref(), Some("ad-hoc"));
    }

    #[test]
    fn varying_names_cannot_pass_the_cap() {
        let mut tally = EgressTally::new(3, Redactor::default());
        for index in 0..1000 {
            tally.observe(denied(&format!("n{index}.exfil.test")), at(index));
        }
        tally.observe(allowed(7), at(1000));
        // A repeat of a recorded event still counts on its record.
        tally.observe(denied("n0.exfil.test"), at(1001));
        let records = tally.take_records("cli:alice", "run-1", "ad-hoc");
        assert_eq!(records.len(), 4);
        assert_eq!(records[0].data["count"], 2);
        assert_eq!(records[0].data["last"], at(1001).to_string());
        let capped = &records[3];
        assert_eq!(capped.kind, "run.records_capped");
        assert_eq!(
            capped.reason.as_deref(),
            Some(
                "the run's program reached the cap of 3 records (`audit.max_run_records`): 998 more egress events are only counted here"
            )
        );
        assert_eq!(
            capped.data,
            json!({"cap": 3, "suppressed": {"net.egress": {
                "events": 998, "allowed": 1, "denied": 997, "bytes_up": 7, "bytes_down": 14,
                "first": at(3).to_string(), "last": at(1000).to_string()}}})
        );
        assert!(
            tally
                .take_records("cli:alice", "run-1", "ad-hoc")
                .is_empty()
        );
    }

    #[test]
    fn secrets_in_hosts_and_reasons_are_redacted_in_any_case() {
        let redactor = Redactor::named(&[("API_TOKEN", b"s3cretvalue42")]).unwrap();
        let mut tally = EgressTally::new(10, redactor);
        tally.observe(denied("s3cretvalue42.exfil.test"), at(0));
        tally.observe(denied("S3CretVALUE42.exfil.test"), at(1));
        let mut bad = denied("x");
        bad.host = "S3CRETVALUE42/../".to_string();
        bad.reason = "egress target `S3CRETVALUE42/../` is not a valid host".to_string();
        tally.observe(bad, at(2));
        let records = tally.take_records("cli:alice", "run-1", "ad-hoc");
        let text = serde_json::to_string(
            &records
                .iter()
                .map(|record| json!({"reason": record.reason, "data": record.data}))
                .collect::<Vec<_>>(),
        )
        .unwrap();
        assert!(!text.to_lowercase().contains("s3cretvalue42"), "{text}");
        // Both spellings are the same name to DNS: one record, counted twice.
        assert_eq!(records.len(), 2, "{text}");
        assert_eq!(records[0].data["host"], "[REDACTED:API_TOKEN].exfil.test");
        assert_eq!(records[0].data["count"], 2);
        assert_eq!(
            records[1].reason.as_deref(),
            Some("egress target `[REDACTED:API_TOKEN]/../` is not a valid host")
        );
    }

    #[test]
    fn long_program_text_is_cut_after_redaction() {
        let redactor = Redactor::named(&[("K", b"topsecretvalue")]).unwrap();
        let mut tally = EgressTally::new(10, redactor);
        let host = format!("{}topsecretvalue{}", "a".repeat(250), "é".repeat(100));
        let mut event = denied("x");
        event.host = host.clone();
        // The secret straddles the reason's limit too.
        event.reason = format!("{}{host}", "r".repeat(340));
        tally.observe(event, at(0));
        let records = tally.take_records("cli:alice", "run-1", "ad-hoc");
        let host = records[0].data["host"].as_str().unwrap();
        // 250 bytes of `a`, then 5 bytes of the marker (a secret cut after redaction cannot
        // leave a prefix of itself behind).
        assert_eq!(host, format!("{}[REDA…[207 bytes cut]", "a".repeat(250)));
        let reason = records[0].reason.as_deref().unwrap();
        assert_eq!(
            reason,
            format!(
                "{}{}[REDACTED:…[202 bytes cut]",
                "r".repeat(340),
                "a".repeat(250)
            )
        );
    }
}
