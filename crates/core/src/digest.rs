//! What a steady sweep reads of the inventory: a digest of each record's observed facts, not the
//! record. A store seen again with the same facts needs neither its record read nor a write, so
//! a sweep of an unchanged scope reads a few dozen bytes a store and holds a map of them, not
//! the scope's records; only the stores that changed, appeared or went are read whole.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::arn::ResourceArn;
use crate::asset::{Asset, AssetState, Scope};
use crate::kind::Kind;

/// A record's facts as a sweep compares them, from the few attributes it reads of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordDigest {
    pub arn: ResourceArn,
    pub kind: Kind,
    pub state: AssetState,
    /// `observed_digest` of the record as written; None for a record written before the digest
    /// was (it is then read whole, and the write gives it one).
    pub observed: Option<String>,
}

/// SHA-256 (hex) of everything discovery observes of a store: the record with what it does not
/// observe left out (when it was first and last seen, its classification, its assignment, its
/// version). Every other field counts, including any added later.
pub fn observed_digest(asset: &Asset) -> String {
    let epoch = DateTime::<Utc>::UNIX_EPOCH;
    let observed = Asset {
        first_seen: epoch,
        last_seen: epoch,
        classification: None,
        assignment: None,
        version: 0,
        ..asset.clone()
    };
    // Serializing a struct of strings, maps and numbers cannot fail; the fields are in their
    // declared order and maps are BTreeMaps, so the form is canonical.
    let form = serde_json::to_vec(&observed).unwrap_or_default();
    hex::encode(Sha256::digest(form))
}

/// Whether a store `seen` by a sweep is its record `stored` unchanged: the same observed facts.
/// Then `Change::Observed(seen)` applied to the record writes nothing (a record first or last
/// seen later than `seen` is not moved back either), and the record need not be read.
pub fn seen_unchanged(seen: &Asset, stored: &RecordDigest) -> bool {
    stored.observed.as_deref() == Some(observed_digest(seen).as_str())
}

/// The stored records a sweep may mark gone: present, not seen, of a kind it listed completely
/// in their scope (`Change::Gone` decides, on the whole record).
pub fn gone_candidates<'a>(
    stored: impl IntoIterator<Item = &'a RecordDigest>,
    seen: &BTreeSet<ResourceArn>,
    scope: &Scope,
    complete: &BTreeSet<(Scope, Kind)>,
) -> Vec<ResourceArn> {
    stored
        .into_iter()
        .filter(|d| d.state == AssetState::Present && !seen.contains(&d.arn))
        .filter(|d| complete.contains(&(scope.clone(), d.kind)))
        .map(|d| d.arn.clone())
        .collect()
}

impl RecordDigest {
    /// The digest of a whole record (what the store writes beside it).
    pub fn of(asset: &Asset) -> Self {
        Self {
            arn: asset.arn.clone(),
            kind: asset.kind,
            state: asset.state,
            observed: Some(observed_digest(asset)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asset::{Assignment, Attributes};
    use crate::inventory::tests::at;
    use crate::inventory::Change;
    use proptest::prelude::*;

    fn scope() -> Scope {
        crate::inventory::tests::scope("eu-west-1")
    }

    fn asset(id: &str, tags: &[(&str, &str)], size: Option<u64>, seen: DateTime<Utc>) -> Asset {
        let tags = tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        tagged(id, tags, size, seen)
    }

    fn tagged(
        id: &str,
        tags: std::collections::BTreeMap<String, String>,
        size: Option<u64>,
        seen: DateTime<Utc>,
    ) -> Asset {
        let s = scope();
        let arn = ResourceArn::new(Kind::Dynamodb, "aws", &s.region, &s.account, id);
        Asset::observed(
            arn,
            s.account,
            s.region,
            tags,
            Attributes {
                size_bytes: size,
                ..Attributes::default()
            },
            seen,
        )
    }

    /// A record as a sweep at `hour` would have left it, classified and assigned since.
    fn stored(mut a: Asset, version: u64) -> Asset {
        a.version = version;
        a.assignment = Some(Assignment {
            tier: Some("critical".into()),
            plan: Some("bulwark-critical".into()),
            plan_version: None,
            assigned_at: a.last_seen,
        });
        a
    }

    #[test]
    fn what_discovery_does_not_observe_does_not_change_the_digest() {
        let a = asset("users", &[("team", "payments")], Some(10), at(1));
        let b = stored(asset("users", &[("team", "payments")], Some(10), at(5)), 7);
        assert_eq!(observed_digest(&a), observed_digest(&b));
        let tagged = asset("users", &[("team", "identity")], Some(10), at(1));
        let grown = asset("users", &[("team", "payments")], Some(11), at(1));
        assert_ne!(observed_digest(&a), observed_digest(&tagged));
        assert_ne!(observed_digest(&a), observed_digest(&grown));
    }

    #[test]
    fn a_gone_record_is_never_taken_as_seen_unchanged() {
        let mut record = stored(asset("users", &[], None, at(1)), 3);
        record.state = AssetState::Gone;
        record.gone_at = Some(at(2));
        let seen = asset("users", &[], None, at(3));
        assert!(!seen_unchanged(&seen, &RecordDigest::of(&record)));
    }

    #[test]
    fn only_present_unseen_stores_of_complete_kinds_are_gone_candidates() {
        let kept = RecordDigest::of(&asset("kept", &[], None, at(1)));
        let lost = RecordDigest::of(&asset("lost", &[], None, at(1)));
        let mut already = RecordDigest::of(&asset("already", &[], None, at(1)));
        already.state = AssetState::Gone;
        let seen = BTreeSet::from([kept.arn.clone()]);
        let complete = BTreeSet::from([(scope(), Kind::Dynamodb)]);
        let all = [kept, lost.clone(), already];
        assert_eq!(
            gone_candidates(&all, &seen, &scope(), &complete),
            vec![lost.arn.clone()]
        );
        assert!(gone_candidates(&all, &seen, &scope(), &BTreeSet::new()).is_empty());
    }

    proptest! {
        /// The shortcut never skips a write the whole decision would make: whenever a store is
        /// taken as seen unchanged, `Change::Observed` applied to its record writes nothing.
        #[test]
        fn seen_unchanged_implies_the_change_writes_nothing(
            stored_tags in proptest::collection::btree_map("[a-c]", "[x-z]", 0..3),
            seen_tags in proptest::collection::btree_map("[a-c]", "[x-z]", 0..3),
            stored_size in proptest::option::of(0u64..3),
            seen_size in proptest::option::of(0u64..3),
            stored_hours in (0u32..4, 0u32..4),
            seen_hour in 0u32..6,
            gone in any::<bool>(),
        ) {
            let (first, last) = (stored_hours.0.min(stored_hours.1), stored_hours.0.max(stored_hours.1));
            let mut record = stored(tagged("t", stored_tags, stored_size, at(last)), 2);
            record.first_seen = at(first);
            if gone {
                record.state = AssetState::Gone;
                record.gone_at = Some(at(last));
            }
            let seen = tagged("t", seen_tags, seen_size, at(seen_hour));
            if seen_unchanged(&seen, &RecordDigest::of(&record)) {
                prop_assert_eq!(Change::Observed(Box::new(seen)).apply(Some(&record)), None);
            }
        }
    }
}
