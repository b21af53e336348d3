//! A run's steps chained: each step's record carries the SHA-256 of the step before it, so that
//! a step changed, removed or slipped in afterwards shows. The text hashed is plain (one field
//! per line, `step_text`), so that an auditor recomputes it with any SHA-256 tool.

use chrono::SecondsFormat;
use sha2::{Digest, Sha256};

use super::Event;

/// The `previous` of a run's first step.
pub const CHAIN_START: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What a step's hash is taken over: a version line, then its place, the hash before it, its
/// time (RFC 3339, as the record writes it), step, subject and outcome, one per line.
pub fn step_text(event: &Event) -> String {
    format!(
        "bulwark failover step v1\n{}\n{}\n{}\n{}\n{}\n{}",
        event.seq.unwrap_or(0),
        event.previous.as_deref().unwrap_or(""),
        event.at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        event.step,
        event.subject,
        event.outcome
    )
}

/// A step's SHA-256, in lowercase hex.
pub fn step_hash(event: &Event) -> String {
    Sha256::digest(step_text(event).as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `event` as the step after `head` (the place and hash of the run's last step; None: it is
/// the first).
pub fn chained(mut event: Event, head: Option<(u64, &str)>) -> Event {
    let (seq, previous) = head.map_or((0, CHAIN_START), |(seq, hash)| (seq, hash));
    event.seq = Some(seq + 1);
    event.previous = Some(previous.to_string());
    event
}

/// Where the chain of `events` breaks: the place of the first step that is not the next one,
/// or whose `previous` is not the hash of the step before it. None: it holds. Steps recorded
/// before the chain (no place) are not in it.
pub fn chain_break(events: &[Event]) -> Option<u64> {
    let mut chained: Vec<&Event> = events.iter().filter(|e| e.seq.is_some()).collect();
    chained.sort_by_key(|e| e.seq);
    let mut expected_previous = CHAIN_START.to_string();
    for (index, event) in chained.iter().enumerate() {
        let place = index as u64 + 1;
        if event.seq != Some(place) || event.previous.as_deref() != Some(&expected_previous) {
            return Some(place);
        }
        expected_previous = step_hash(event);
    }
    None
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    fn step(n: u32) -> Event {
        Event {
            at: Utc
                .with_ymd_and_hms(2026, 12, 7, 10, 0, n)
                .single()
                .expect("time"),
            step: "restore".into(),
            subject: format!("store {n}"),
            outcome: "started".into(),
            seq: None,
            previous: None,
        }
    }

    fn run_of(n: u32) -> Vec<Event> {
        let mut events: Vec<Event> = Vec::new();
        for i in 1..=n {
            let head = events.last().map(|e| (e.seq.unwrap_or(0), step_hash(e)));
            events.push(chained(
                step(i),
                head.as_ref().map(|(s, h)| (*s, h.as_str())),
            ));
        }
        events
    }

    #[test]
    fn the_text_hashed_is_plain_and_its_hash_is_sha256() {
        let first = chained(step(1), None);
        assert_eq!(
            step_text(&first),
            format!(
                "bulwark failover step v1\n1\n{CHAIN_START}\n2026-12-07T10:00:01Z\nrestore\nstore 1\nstarted"
            )
        );
        // printf '%s' "$(step_text)" | sha256sum
        assert_eq!(
            step_hash(&chained(step(1), None)).len(),
            64,
            "lowercase hex of 32 bytes"
        );
    }

    #[test]
    fn a_chain_holds_and_breaks_where_a_step_was_changed_removed_or_inserted() {
        let events = run_of(4);
        assert_eq!(chain_break(&events), None);
        let mut changed = events.clone();
        changed[1].outcome = "succeeded".into();
        assert_eq!(
            chain_break(&changed),
            Some(3),
            "the next step no longer links"
        );
        let mut removed = events.clone();
        removed.remove(2);
        assert_eq!(chain_break(&removed), Some(3));
        let mut inserted = events.clone();
        inserted.push(Event {
            seq: Some(2),
            ..events[1].clone()
        });
        assert_eq!(chain_break(&inserted), Some(3));
        // Steps recorded before the chain are not in it.
        let mut older = events;
        older.insert(0, step(0));
        assert_eq!(chain_break(&older), None);
    }
}
