//! Restore tests: proof that a store's backups restore. The adapters restore a recovery point
//! and read what came back; this module decides: which stores are due a test and which point
//! each restores (`policy`), what the restore is asked for and how a restored Aurora cluster is
//! opened (`restored`), the findings of each kind's validator over the facts read
//! (`validate`), and the RTO and RPO measured against the tier's (`measure`).

mod bucket;
mod cost;
mod hook;
mod measure;
mod policy;
pub mod polling;
mod regional;
mod restored;
mod validate;

pub use crate::taxonomy::{PointChoice, RestoreTestPolicy};
pub use bucket::{current_at, etag_is_md5, BucketTally, ListedObject, ObjectVersion};
pub use cost::{
    month_start, spend_by_tier, test_cost, within_budget, OverBudget, Prices, TestCost, TierSpend,
    Usd,
};
pub use hook::{hook_finding, hook_for, HookFunction, HookRequest, HookStore, HOOK_TAG};
pub use measure::{measure, restorable_to, Measured, Timing};
pub(crate) use policy::stale;
pub use policy::{choose_point, due, Candidate, Due, PointFacts};
pub use regional::{regional_metadata, RestoreSite};
pub use restored::{
    cannot_open, metadata_overrides, serving_instance_name, temporary_instance_class,
    temporary_instance_name, test_instance_class, tested_instance_class, with_overrides,
    DEFAULT_AURORA_INSTANCE_CLASS, DEFAULT_AURORA_MYSQL1_INSTANCE_CLASS,
    DEFAULT_TEST_INSTANCE_CLASS, SERVERLESS_V2_INSTANCE_CLASS, TEMPORARY_INSTANCE_SUFFIX,
};
pub use validate::{
    count_segments, validate_cluster, validate_database, validate_disk, validate_table,
    ClusterFacts, DatabaseFacts, DiskFacts, ItemSample, TableFacts, ITEM_COUNT_TOLERANCE,
};

use serde::{Deserialize, Serialize};

use crate::coverage::human;
use crate::duration::Duration;

/// The tag on every resource a restore test creates: its test's id.
pub const RESTORE_TEST_TAG: &str = "bulwark:restore-test";
/// The tag that says when a restore test's resource may be deleted by the sweeper, whatever
/// became of its test (RFC 3339).
pub const EXPIRES_TAG: &str = "bulwark:expires";
/// The tag that marks a store a failover restored, with the run's id. Never swept: such a
/// copy serves the application (or waits for inspection after an abort).
pub const FAILOVER_TAG: &str = "bulwark:failover";
/// The prefix of every restored resource's name.
pub const NAME_PREFIX: &str = "bulwark-rt-";

/// One check of a restored copy, and what it found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub check: String,
    pub passed: bool,
    pub detail: String,
    /// The check could not compare (its detail says why): never a pass.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub not_compared: bool,
}

impl Finding {
    pub fn new(check: &str, passed: bool, detail: impl Into<String>) -> Self {
        Self {
            check: check.to_string(),
            passed,
            detail: detail.into(),
            not_compared: false,
        }
    }

    /// A check that could not compare, and why: it did not pass, nor did it find a fault.
    pub fn not_compared(check: &str, why: impl Into<String>) -> Self {
        Self {
            check: check.to_string(),
            passed: false,
            detail: format!("not compared: {}", why.into()),
            not_compared: true,
        }
    }
}

/// A restore test passes when every finding passed and both objectives were met.
pub fn passed(findings: &[Finding], measured: &Measured) -> bool {
    findings.iter().all(|f| f.passed) && measured.rto_met && measured.rpo_met
}

/// How long a recorded failure reason may be: coverage quotes it in an exception, which should
/// read as one line, not as a validator's whole report.
pub const SHORT_REASON_CHARS: usize = 200;

/// Why a test failed, in a line: its error, else its failed checks (`check: detail`), else the
/// objectives it missed. None when none of them has anything to say (a passed test).
pub fn failure_reason(
    error: Option<&str>,
    findings: &[Finding],
    measured: Option<&Measured>,
) -> Option<String> {
    if let Some(error) = error {
        return Some(error.to_string());
    }
    let mut parts: Vec<String> = findings
        .iter()
        .filter(|f| !f.passed)
        .map(|f| format!("{}: {}", f.check, f.detail))
        .collect();
    if let (true, Some(m)) = (parts.is_empty(), measured) {
        let minutes = |seconds: u64| human(Duration::from_minutes(seconds.div_ceil(60)));
        if !m.rto_met {
            parts.push(format!("RTO not met (took {})", minutes(m.rto_seconds)));
        }
        if !m.rpo_met {
            parts.push(format!(
                "RPO not met (a recovery would lose {})",
                minutes(m.rpo_seconds)
            ));
        }
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// `text` cut to at most `max` characters, the cut marked by a trailing "…".
pub fn shortened(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max.saturating_sub(1)).collect();
    format!("{}…", kept.trim_end())
}

/// Whether the sweeper may delete a resource: it is a test's (named with the prefix and tagged
/// with its test) and its expiry has passed. A resource with an unreadable expiry is a test's
/// that lost its clock: it is expired too. Anything else is never touched.
pub fn swept(
    name: &str,
    tags: &std::collections::BTreeMap<String, String>,
    now: chrono::DateTime<chrono::Utc>,
) -> bool {
    if !name.starts_with(NAME_PREFIX) || !tags.contains_key(RESTORE_TEST_TAG) {
        return false;
    }
    tags.get(EXPIRES_TAG)
        .and_then(|e| chrono::DateTime::parse_from_rfc3339(e).ok())
        .is_none_or(|expires| expires <= now)
}

/// The name of a test's restored resource: the prefix and the test's id, lower-case, within
/// the shortest limit of the kinds (an S3 bucket: 3 to 63 characters of `[a-z0-9.-]`).
pub fn restored_name(test_id: &str) -> String {
    let id: String = test_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .take(63 - NAME_PREFIX.len())
        .collect();
    format!("{NAME_PREFIX}{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sweeper_deletes_only_expired_copies_of_tests() {
        use std::collections::BTreeMap;
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-30T12:00:00Z")
            .expect("time")
            .to_utc();
        let tags = |expires: &str| {
            BTreeMap::from([
                (RESTORE_TEST_TAG.to_string(), "t1".to_string()),
                (EXPIRES_TAG.to_string(), expires.to_string()),
            ])
        };
        let name = restored_name("t1");
        assert!(swept(&name, &tags("2026-11-30T11:59:59Z"), now));
        assert!(!swept(&name, &tags("2026-11-30T12:00:01Z"), now));
        assert!(swept(&name, &tags("not a time"), now));
        assert!(
            !swept("orders", &tags("2026-11-30T11:00:00Z"), now),
            "not a restored name"
        );
        assert!(!swept(&name, &BTreeMap::new(), now), "no test's tag");
    }

    fn measured(rto_met: bool, rpo_met: bool) -> Measured {
        Measured {
            rto_seconds: 3 * 3600 + 1,
            restore_seconds: 3 * 3600,
            validation_seconds: 1,
            rpo_seconds: 90 * 60,
            point_age_seconds: 2 * 86_400,
            rto_met,
            rpo_met,
        }
    }

    #[test]
    fn a_failure_is_its_error_else_its_failed_checks_else_the_missed_objectives() {
        let findings = [
            Finding::new("status", true, "ACTIVE"),
            Finding::new("item count", false, "197 items; the source had 200"),
            Finding::new("key schema", false, "id (HASH) against pk (HASH)"),
        ];
        let slow = measured(false, true);
        assert_eq!(
            failure_reason(Some("no completed recovery point"), &findings, Some(&slow)).as_deref(),
            Some("no completed recovery point")
        );
        assert_eq!(
            failure_reason(None, &findings, Some(&slow)).as_deref(),
            Some("item count: 197 items; the source had 200; key schema: id (HASH) against pk (HASH)")
        );
        assert_eq!(
            failure_reason(None, &findings[..1], Some(&slow)).as_deref(),
            Some("RTO not met (took 3h 1m)")
        );
        assert_eq!(
            failure_reason(None, &[], Some(&measured(false, false))).as_deref(),
            Some("RTO not met (took 3h 1m); RPO not met (a recovery would lose 1h 30m)")
        );
        assert_eq!(
            failure_reason(None, &findings[..1], Some(&measured(true, true))),
            None
        );
        assert_eq!(failure_reason(None, &[], None), None);
    }

    #[test]
    fn a_shortened_reason_keeps_whole_characters_and_marks_the_cut() {
        assert_eq!(
            shortened("item count: 3 missing", 200),
            "item count: 3 missing"
        );
        assert_eq!(shortened("abcdef", 6), "abcdef");
        assert_eq!(shortened("abcdefg", 6), "abcde…");
        assert_eq!(shortened("ab   defg", 6), "ab…");
        assert_eq!(shortened("ééééééé", 4), "ééé…");
        assert_eq!(shortened("ééééééé", 4).chars().count(), 4);
    }

    #[test]
    fn restored_names_fit_every_kind() {
        let name =
            restored_name("A1b2-C3d4_E5f6-0000000000000000000000000000000000000000000000000000000");
        assert!(name.starts_with(NAME_PREFIX));
        assert!(name.len() <= 63, "{name}");
        assert!(name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'));
    }
}
