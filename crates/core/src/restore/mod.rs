//! Restore tests: proof that a store's backups restore. The adapters restore a recovery point
//! and read what came back; this module decides: which stores are due a test and which point
//! each restores (`policy`), what the restore is asked for and how a restored Aurora cluster is
//! opened (`restored`), the findings of each kind's validator over the facts read
//! (`validate`), and the RTO and RPO measured against the tier's (`measure`).

mod measure;
mod policy;
mod restored;
mod validate;

pub use crate::taxonomy::{PointChoice, RestoreTestPolicy};
pub use measure::{measure, Measured, Timing};
pub use policy::{choose_point, due, Candidate, Due, PointFacts};
pub use restored::{
    cannot_open, metadata_overrides, temporary_instance_class, temporary_instance_name,
    with_overrides, DEFAULT_AURORA_INSTANCE_CLASS, DEFAULT_AURORA_MYSQL1_INSTANCE_CLASS,
    SERVERLESS_V2_INSTANCE_CLASS, TEMPORARY_INSTANCE_SUFFIX,
};
pub use validate::{
    expected_objects, validate_bucket, validate_cluster, validate_database, validate_disk,
    validate_table, ClusterFacts, DatabaseFacts, DiskFacts, ObjectVersion, TableFacts,
    ITEM_COUNT_TOLERANCE,
};

use serde::{Deserialize, Serialize};

/// The tag on every resource a restore test creates: its test's id.
pub const RESTORE_TEST_TAG: &str = "bulwark:restore-test";
/// The tag that says when a restore test's resource may be deleted by the sweeper, whatever
/// became of its test (RFC 3339).
pub const EXPIRES_TAG: &str = "bulwark:expires";
/// The prefix of every restored resource's name.
pub const NAME_PREFIX: &str = "bulwark-rt-";

/// One check of a restored copy, and what it found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub check: String,
    pub passed: bool,
    pub detail: String,
}

impl Finding {
    pub fn new(check: &str, passed: bool, detail: impl Into<String>) -> Self {
        Self {
            check: check.to_string(),
            passed,
            detail: detail.into(),
        }
    }
}

/// A restore test passes when every finding passed and both objectives were met.
pub fn passed(findings: &[Finding], measured: &Measured) -> bool {
    findings.iter().all(|f| f.passed) && measured.rto_met && measured.rpo_met
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
