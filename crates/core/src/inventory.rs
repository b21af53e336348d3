//! How the inventory changes: pure functions from what is stored and what was seen to the
//! records to write. The store applies them with conditional writes and, on a conflict,
//! re-reads and applies the same change again.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::arn::ResourceArn;
use crate::asset::{Asset, AssetState, Assignment, Scope};
use crate::classify::Classification;
use crate::kind::Kind;
use crate::protection::TIER_TAG;

/// One change to one asset's record.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Discovery saw the store as it is now.
    Observed(Box<Asset>),
    /// A complete sweep (or a lookup) no longer finds the store.
    Gone { arn: ResourceArn, at: DateTime<Utc> },
    /// Classification decided anew.
    Classified {
        arn: ResourceArn,
        classification: Classification,
    },
    /// assign-policy put the store under a plan (or under none).
    Assigned {
        arn: ResourceArn,
        assignment: Assignment,
    },
}

impl Change {
    pub fn arn(&self) -> &ResourceArn {
        match self {
            Change::Observed(asset) => &asset.arn,
            Change::Gone { arn, .. }
            | Change::Classified { arn, .. }
            | Change::Assigned { arn, .. } => arn,
        }
    }

    /// The record to write given what is stored, or None when nothing needs writing. The
    /// returned record carries the stored version (0 when new): the write is conditional on it.
    pub fn apply(&self, stored: Option<&Asset>) -> Option<Asset> {
        match (self, stored) {
            (Change::Observed(seen), None) => Some(seen.as_ref().clone()),
            (Change::Observed(seen), Some(stored)) => {
                // A listing taken before the recorded deletion is stale: the store stays gone.
                // Only an observation after it (the store came back) revives the record.
                if stored.state == AssetState::Gone
                    && stored.gone_at.is_some_and(|gone| seen.last_seen <= gone)
                {
                    return None;
                }
                let mut next = seen.as_ref().clone();
                next.first_seen = stored.first_seen.min(seen.first_seen);
                next.classification = stored.classification.clone();
                next.assignment = stored.assignment.clone();
                next.version = stored.version;
                // Seen again as it was: nothing to write. The sweep that saw it records once,
                // for its whole scope, that it swept (`ScopeSweep`): an unchanged estate costs
                // no write per store.
                let mut unchanged = next.clone();
                unchanged.last_seen = stored.last_seen;
                // An event delivered late must not move the record back in time.
                (seen.last_seen >= stored.last_seen && unchanged != *stored).then_some(next)
            }
            (Change::Gone { .. }, None) => None,
            (Change::Gone { at, .. }, Some(stored)) => {
                (stored.state == AssetState::Present && *at >= stored.last_seen).then(|| {
                    let mut next = stored.clone();
                    next.state = AssetState::Gone;
                    next.gone_at = Some(*at);
                    next
                })
            }
            (Change::Classified { .. } | Change::Assigned { .. }, None) => None,
            (Change::Assigned { assignment, .. }, Some(stored)) => {
                // The time alone changing is no change: a second apply writes nothing.
                let same = stored.assignment.as_ref().is_some_and(|a| {
                    a.tier == assignment.tier
                        && a.plan == assignment.plan
                        && a.plan_version == assignment.plan_version
                }) && stored.tags.get(TIER_TAG) == assignment.tier.as_ref();
                (!same).then(|| {
                    let mut next = stored.clone();
                    next.assignment = Some(assignment.clone());
                    // assign-policy wrote (or removed) the tier tag: keep the record true to AWS.
                    match &assignment.tier {
                        Some(tier) => next.tags.insert(TIER_TAG.to_string(), tier.clone()),
                        None => next.tags.remove(TIER_TAG),
                    };
                    next
                })
            }
            (Change::Classified { classification, .. }, Some(stored)) => {
                (stored.classification.as_ref() != Some(classification)).then(|| {
                    let mut next = stored.clone();
                    next.classification = Some(classification.clone());
                    next
                })
            }
        }
    }
}

/// That a sweep listed some kinds of one scope completely, at a time: every present store of
/// those kinds in the scope whose record is older was seen then, unchanged. Recorded once per
/// scope and sweep, instead of a write per store.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ScopeSweep {
    pub scope: Scope,
    pub kinds: BTreeSet<Kind>,
    pub at: DateTime<Utc>,
}

impl ScopeSweep {
    /// The sweep of `scope` at `at`, of the kinds `complete` says were listed completely there
    /// (None: none was).
    pub fn of(
        scope: &Scope,
        complete: &BTreeSet<(Scope, Kind)>,
        at: DateTime<Utc>,
    ) -> Option<Self> {
        let kinds: BTreeSet<Kind> = complete
            .iter()
            .filter(|(s, _)| s == scope)
            .map(|(_, kind)| *kind)
            .collect();
        (!kinds.is_empty()).then(|| Self {
            scope: scope.clone(),
            kinds,
            at,
        })
    }

    /// When `asset` was last seen: its record's time, or this sweep's if it covered the
    /// asset's kind and the asset was present then (a present record the sweep did not mark
    /// gone was in its listing).
    pub fn last_seen(&self, asset: &Asset) -> DateTime<Utc> {
        let covered = asset.scope() == self.scope
            && self.kinds.contains(&asset.kind)
            && asset.state == AssetState::Present
            && asset.first_seen <= self.at;
        if covered {
            asset.last_seen.max(self.at)
        } else {
            asset.last_seen
        }
    }
}

/// Pair each change with the stored record it applies to and keep only real writes.
pub fn plan_writes(stored: &[Asset], changes: &[Change]) -> Vec<(Change, Asset)> {
    let by_arn: BTreeMap<&ResourceArn, &Asset> = stored.iter().map(|a| (&a.arn, a)).collect();
    changes
        .iter()
        .filter_map(|c| {
            c.apply(by_arn.get(c.arn()).copied())
                .map(|next| (c.clone(), next))
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::arn::{AccountId, Region};
    use crate::asset::Attributes;
    use chrono::TimeZone;

    pub(crate) fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 5, 1, hour, 0, 0)
            .single()
            .expect("time")
    }

    pub(crate) fn scope(region: &str) -> Scope {
        Scope {
            account: AccountId::parse("123456789012").expect("account"),
            region: Region::parse(region).expect("region"),
        }
    }

    fn asset(kind: Kind, region: &str, id: &str, seen: DateTime<Utc>) -> Asset {
        let s = scope(region);
        let arn = ResourceArn::new(kind, "aws", &s.region, &s.account, id);
        Asset::observed(
            arn,
            s.account,
            s.region,
            Default::default(),
            Attributes::default(),
            seen,
        )
    }

    fn stored(mut a: Asset, version: u64) -> Asset {
        a.version = version;
        a
    }

    fn complete(pairs: &[(&str, Kind)]) -> BTreeSet<(Scope, Kind)> {
        pairs.iter().map(|(r, k)| (scope(r), *k)).collect()
    }

    #[test]
    fn a_new_store_is_written_as_new() {
        let seen = asset(Kind::Dynamodb, "eu-west-1", "users", at(1));
        let writes = plan_writes(&[], &[Change::Observed(Box::new(seen.clone()))]);
        assert_eq!(writes.len(), 1);
        assert_eq!(writes[0].1, seen);
        assert_eq!(writes[0].1.version, 0);
    }

    #[test]
    fn a_store_seen_again_unchanged_writes_nothing_and_its_sweep_says_when() {
        let stored_now = stored(asset(Kind::Rds, "eu-west-1", "db", at(1)), 3);
        let seen = asset(Kind::Rds, "eu-west-1", "db", at(5));
        assert_eq!(
            Change::Observed(Box::new(seen)).apply(Some(&stored_now)),
            None
        );
        let sweep = ScopeSweep::of(
            &scope("eu-west-1"),
            &complete(&[("eu-west-1", Kind::Rds), ("us-east-1", Kind::Ebs)]),
            at(5),
        )
        .expect("a complete kind");
        assert_eq!(sweep.kinds, BTreeSet::from([Kind::Rds]));
        assert_eq!(sweep.last_seen(&stored_now), at(5));
        // A kind the sweep did not list completely, or another scope, keeps the record's time
        let volume = stored(asset(Kind::Ebs, "eu-west-1", "vol-1", at(1)), 1);
        assert_eq!(sweep.last_seen(&volume), at(1));
        assert_eq!(
            ScopeSweep::of(
                &scope("eu-west-1"),
                &complete(&[("us-east-1", Kind::Rds)]),
                at(5)
            ),
            None
        );
    }

    #[test]
    fn a_seen_store_keeps_first_seen_and_classification_and_moves_last_seen() {
        let mut old = stored(asset(Kind::Rds, "eu-west-1", "db", at(1)), 3);
        old.classification = Some(Classification {
            tier: Some("critical".into()),
            backup_required: true,
            reproducible: false,
            rule: "r".into(),
            reasons: vec![],
            unknown_values: vec![],
        });
        // (seen with a tag it did not have: a change)
        let mut seen = asset(Kind::Rds, "eu-west-1", "db", at(5));
        seen.tags.insert("Team".into(), "payments".into());
        let next = Change::Observed(Box::new(seen))
            .apply(Some(&old))
            .expect("a write");
        assert_eq!(next.first_seen, at(1));
        assert_eq!(next.last_seen, at(5));
        assert_eq!(next.classification, old.classification);
        assert_eq!(next.version, 3);
    }

    #[test]
    fn the_same_observation_twice_writes_once() {
        let seen = asset(Kind::Ebs, "eu-west-1", "vol-1", at(2));
        let after_first = Change::Observed(Box::new(seen.clone()))
            .apply(None)
            .expect("write");
        let stored_now = stored(after_first, 1);
        assert_eq!(
            Change::Observed(Box::new(seen)).apply(Some(&stored_now)),
            None
        );
    }

    #[test]
    fn a_late_observation_does_not_move_the_record_back() {
        let newer = stored(asset(Kind::Efs, "eu-west-1", "fs-1", at(9)), 2);
        let older = asset(Kind::Efs, "eu-west-1", "fs-1", at(3));
        assert_eq!(Change::Observed(Box::new(older)).apply(Some(&newer)), None);
    }

    #[test]
    fn unseen_stores_are_marked_gone_only_where_the_sweep_was_complete() {
        let a = stored(asset(Kind::Rds, "eu-west-1", "a", at(1)), 1);
        let b = stored(asset(Kind::Ebs, "eu-west-1", "vol-b", at(1)), 1);
        let c = stored(asset(Kind::Rds, "us-east-1", "c", at(1)), 1);
        // A sweep of eu-west-1 reads that scope's records, not us-east-1's (c).
        let stored: Vec<crate::RecordDigest> = [&a, &b].map(crate::RecordDigest::of).to_vec();
        let changes: Vec<Change> = crate::digest::gone_candidates(
            &stored,
            &BTreeSet::new(),
            &scope("eu-west-1"),
            &complete(&[("eu-west-1", Kind::Rds)]),
        )
        .into_iter()
        .map(|arn| Change::Gone { arn, at: at(4) })
        .collect();
        let writes = plan_writes(&[a.clone(), b, c], &changes);
        assert_eq!(writes.len(), 1);
        assert_eq!(writes[0].1.arn, a.arn);
        assert_eq!(writes[0].1.state, AssetState::Gone);
        assert_eq!(writes[0].1.gone_at, Some(at(4)));
    }

    #[test]
    fn a_gone_store_is_not_marked_again_and_comes_back_when_seen() {
        let mut gone = stored(asset(Kind::S3, "eu-west-1", "bucket", at(1)), 2);
        gone.state = AssetState::Gone;
        gone.gone_at = Some(at(2));
        let again = Change::Gone {
            arn: gone.arn.clone(),
            at: at(3),
        };
        assert_eq!(again.apply(Some(&gone)), None);
        let back = Change::Observed(Box::new(asset(Kind::S3, "eu-west-1", "bucket", at(5))))
            .apply(Some(&gone))
            .expect("a write");
        assert_eq!(back.state, AssetState::Present);
        assert_eq!(back.gone_at, None);
    }

    #[test]
    fn an_observation_older_than_the_recorded_deletion_changes_nothing() {
        // Given a store recorded gone at 3 (a Config deletion event)
        let mut gone = stored(asset(Kind::Dynamodb, "eu-west-1", "t", at(1)), 2);
        gone.state = AssetState::Gone;
        gone.gone_at = Some(at(3));
        // When a sweep whose listing was taken at 2, before the deletion, writes
        let stale = asset(Kind::Dynamodb, "eu-west-1", "t", at(2));
        // Then the store stays gone
        assert_eq!(Change::Observed(Box::new(stale)).apply(Some(&gone)), None);
        // And one seen after the deletion has come back
        let back = Change::Observed(Box::new(asset(Kind::Dynamodb, "eu-west-1", "t", at(4))))
            .apply(Some(&gone))
            .expect("present again");
        assert_eq!(back.state, AssetState::Present);
        assert_eq!(back.gone_at, None);
    }

    #[test]
    fn an_unchanged_classification_writes_nothing() {
        let c = Classification {
            tier: None,
            backup_required: false,
            reproducible: true,
            rule: "reproducible".into(),
            reasons: vec!["tag".into()],
            unknown_values: vec![],
        };
        let mut a = stored(asset(Kind::S3, "eu-west-1", "tmp", at(1)), 1);
        let change = Change::Classified {
            arn: a.arn.clone(),
            classification: c.clone(),
        };
        let next = change.apply(Some(&a)).expect("first classification writes");
        a.classification = next.classification;
        assert_eq!(change.apply(Some(&a)), None);
        assert_eq!(change.apply(None), None);
    }
}
