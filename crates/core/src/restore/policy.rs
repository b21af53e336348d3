//! Which stores a restore-test run tests, and which recovery point it restores: each tier's
//! `RestoreTestPolicy` applied to the stores' last tests. The caller lists the stores and their
//! recovery points and supplies the time and the seed, so that a retried run decides the same.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::coverage::{human, RestoreTest};
use crate::duration::Duration;
use crate::taxonomy::{PointChoice, RestoreTestPolicy, Tier};

/// One store a run may test. Every store of a tier is a candidate, due or not: the rotation's
/// sample is a share of them all. Each store once.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub arn: &'a str,
    pub tier: &'a Tier,
    /// The store's last restore test of its primary copy, passed or failed.
    pub last_test: Option<&'a RestoreTest>,
}

/// A store this run is to test, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Due {
    pub arn: String,
    pub tier: String,
    /// "never tested", "last test failed", "last test 9d old; cadence 1w".
    pub reason: String,
    /// Whether the newest copy in the DR region is to be tested too.
    pub dr_copy: bool,
}

/// Why a store is due; the order of the variants is the order of urgency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Urgency {
    NeverTested,
    Failed,
    Stale,
}

/// The stores due a test at `now`, at most ceil(the tier's candidates / within_runs) per tier:
/// never tested first, then those whose last test failed, then those whose last passing test
/// is older than the tier's cadence; oldest test first within each, then by ARN. Tiers whose
/// policy is disabled are never due. Tiers come in the order their first candidate does.
pub fn due(candidates: &[Candidate], now: DateTime<Utc>) -> Vec<Due> {
    // Per tier, by name: its policy, where it first appears, its candidate count, its due ones.
    struct Group<'a> {
        first: usize,
        policy: &'a RestoreTestPolicy,
        count: usize,
        due: Vec<(Urgency, Option<DateTime<Utc>>, &'a str, String)>,
    }
    let mut groups: BTreeMap<&str, Group> = BTreeMap::new();
    for (index, candidate) in candidates.iter().enumerate() {
        let group = groups
            .entry(candidate.tier.name.as_str())
            .or_insert_with(|| Group {
                first: index,
                policy: &candidate.tier.restore_test,
                count: 0,
                due: Vec::new(),
            });
        group.count += 1;
        if !group.policy.enabled {
            continue;
        }
        let urgency = match candidate.last_test {
            None => Some((Urgency::NeverTested, None, "never tested".to_string())),
            Some(test) if !test.succeeded => Some((
                Urgency::Failed,
                Some(test.completed),
                "last test failed".to_string(),
            )),
            Some(test) => stale(test.completed, group.policy.cadence, now).map(|age| {
                (
                    Urgency::Stale,
                    Some(test.completed),
                    format!(
                        "last test {} old; cadence {}",
                        human(age),
                        group.policy.cadence
                    ),
                )
            }),
        };
        if let Some((urgency, completed, reason)) = urgency {
            group.due.push((urgency, completed, candidate.arn, reason));
        }
    }
    let mut groups: Vec<(&str, Group)> = groups.into_iter().collect();
    groups.sort_by_key(|(_, group)| group.first);
    let mut chosen = Vec::new();
    for (tier, mut group) in groups {
        let within_runs = usize::try_from(group.policy.within_runs.max(1)).unwrap_or(1);
        let limit = group.count.div_ceil(within_runs);
        group
            .due
            .sort_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));
        chosen.extend(
            group
                .due
                .into_iter()
                .take(limit)
                .map(|(_, _, arn, reason)| Due {
                    arn: arn.to_string(),
                    tier: tier.to_string(),
                    reason,
                    dr_copy: group.policy.dr_copy,
                }),
        );
    }
    chosen
}

/// The age of a test completed at `completed`, if it is older than `cadence` at `now`. A test
/// dated after `now` (a skewed clock) is fresh. Coverage judges staleness by it too.
pub(crate) fn stale(
    completed: DateTime<Utc>,
    cadence: Duration,
    now: DateTime<Utc>,
) -> Option<Duration> {
    let age_seconds = u64::try_from((now - completed).num_seconds()).ok()?;
    (age_seconds > cadence.as_minutes().saturating_mul(60))
        .then(|| Duration::from_minutes(age_seconds / 60))
}

/// One recovery point of a store (or of its DR copy), as the adapters list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointFacts {
    pub arn: String,
    pub created: DateTime<Utc>,
    /// Whether it can be restored: AWS Backup says COMPLETED (or AVAILABLE).
    pub completed: bool,
}

/// The recovery point a test restores. `Latest`: the newest completed point. `Random`: one of
/// the completed points created within the window before `now`, in order of creation (then
/// ARN), the one at `seed` modulo their count; the newest completed point when the window holds
/// none. None when no point is completed. The same points, time and seed choose the same point,
/// whatever the order of `points`.
pub fn choose_point<'p>(
    points: &'p [PointFacts],
    choice: &PointChoice,
    now: DateTime<Utc>,
    seed: u64,
) -> Option<&'p PointFacts> {
    let by_creation =
        |a: &&PointFacts, b: &&PointFacts| (a.created, &a.arn).cmp(&(b.created, &b.arn));
    let completed = points.iter().filter(|p| p.completed);
    let newest = completed.clone().max_by(by_creation);
    let PointChoice::Random { within } = choice else {
        return newest;
    };
    let from = minutes(*within)
        .and_then(|within| now.checked_sub_signed(within))
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let mut window: Vec<&PointFacts> = completed
        .filter(|p| (from..=now).contains(&p.created))
        .collect();
    if window.is_empty() {
        return newest;
    }
    window.sort_by(by_creation);
    let index = seed % u64::try_from(window.len()).unwrap_or(u64::MAX);
    usize::try_from(index)
        .ok()
        .and_then(|i| window.get(i).copied())
}

impl RestoreTestPolicy {
    /// When a test's restored copy expires (the `bulwark:expires` tag): its validation window
    /// after its restore completed.
    pub fn expires(&self, restore_completed: DateTime<Utc>) -> DateTime<Utc> {
        minutes(self.validation_window)
            .and_then(|window| restore_completed.checked_add_signed(window))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// When a test stops waiting for its restore job: its restore deadline after the job
    /// started.
    pub fn deadline(&self, restore_started: DateTime<Utc>) -> DateTime<Utc> {
        minutes(self.restore_deadline)
            .and_then(|deadline| restore_started.checked_add_signed(deadline))
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }
}

fn minutes(d: Duration) -> Option<TimeDelta> {
    TimeDelta::try_minutes(i64::try_from(d.as_minutes()).ok()?)
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
