//! RTO and RPO, measured by a restore test, against the tier's.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::taxonomy::Tier;

/// When each step of a test happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timing {
    /// When the test began (the RPO is measured from here).
    pub started: DateTime<Utc>,
    /// When the restore job was started and when it completed.
    pub restore_started: DateTime<Utc>,
    pub restore_completed: DateTime<Utc>,
    /// When validation ended.
    pub validated: DateTime<Utc>,
    /// When the recovery point restored was taken.
    pub point_created: DateTime<Utc>,
    /// What a recovery at the test's start would have restored to (`restorable_to`): the RPO
    /// is measured from here. None in tests recorded before it was kept: the point's time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restorable_to: Option<DateTime<Utc>>,
}

/// What a recovery now would restore to, and so what it would lose after: the newest
/// completed recovery point's time (`snapshots`, whose times are their data's), or the latest
/// restorable time of a continuous backup or of point-in-time recovery, whichever is later.
/// None when there is neither.
pub fn restorable_to(
    snapshots: &[super::PointFacts],
    latest_restorable: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    snapshots
        .iter()
        .filter(|p| p.completed)
        .map(|p| p.created)
        .chain(latest_restorable)
        .max()
}

/// What the test measured. Durations in seconds, rounded up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measured {
    /// From the restore's start to validated: the time to get the data back, proven.
    pub rto_seconds: u64,
    pub restore_seconds: u64,
    pub validation_seconds: u64,
    /// From what a recovery would restore to (the newest point, or a continuous backup's latest
    /// restorable time) to the test's start: the data a recovery now would lose.
    pub rpo_seconds: u64,
    /// The age of the point this test restored at its start: an older point (a random choice)
    /// tests that backups restore, not the RPO.
    #[serde(default)]
    pub point_age_seconds: u64,
    pub rto_met: bool,
    pub rpo_met: bool,
}

fn seconds(from: DateTime<Utc>, to: DateTime<Utc>) -> u64 {
    let millis = (to - from).num_milliseconds().max(0);
    u64::try_from(millis).unwrap_or(0).div_ceil(1000)
}

pub fn measure(tier: &Tier, timing: &Timing) -> Measured {
    let rto_seconds = seconds(timing.restore_started, timing.validated);
    let restorable_to = timing.restorable_to.unwrap_or(timing.point_created);
    let rpo_seconds = seconds(restorable_to, timing.started);
    Measured {
        rto_seconds,
        restore_seconds: seconds(timing.restore_started, timing.restore_completed),
        validation_seconds: seconds(timing.restore_completed, timing.validated),
        rpo_seconds,
        point_age_seconds: seconds(timing.point_created, timing.started),
        rto_met: rto_seconds <= tier.rto.as_minutes().saturating_mul(60),
        rpo_met: rpo_seconds <= tier.rpo.as_minutes().saturating_mul(60),
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::config::Config;

    #[test]
    fn rto_runs_from_the_restore_to_validated_and_rpo_from_the_point_to_the_test() {
        let config = Config::builtin();
        let tier = config.tier("critical").expect("critical");
        let t = |h: u32, m: u32, s: u32| {
            Utc.with_ymd_and_hms(2026, 11, 30, h, m, s)
                .single()
                .expect("time")
        };
        let timing = Timing {
            started: t(10, 0, 0),
            restore_started: t(10, 0, 5),
            restore_completed: t(10, 20, 5),
            validated: t(10, 21, 0),
            point_created: t(9, 30, 0),
            restorable_to: None,
        };
        let measured = measure(tier, &timing);
        assert_eq!(measured.rto_seconds, 20 * 60 + 55);
        assert_eq!(
            (measured.restore_seconds, measured.validation_seconds),
            (1200, 55)
        );
        assert_eq!(measured.rpo_seconds, 30 * 60);
        assert_eq!(
            measured.rto_met,
            measured.rto_seconds <= tier.rto.as_minutes() * 60
        );
        let stale = Timing {
            point_created: t(0, 0, 0),
            ..timing
        };
        assert!(
            !measure(tier, &stale).rpo_met,
            "10 h old against critical's RPO"
        );
        let continuous = Timing {
            restorable_to: Some(t(9, 55, 0)),
            ..stale
        };
        let measured = measure(tier, &continuous);
        assert_eq!(
            (measured.rpo_seconds, measured.point_age_seconds),
            (5 * 60, 10 * 3600),
            "an old point restored, a recovery would lose 5 minutes"
        );
        assert!(measured.rpo_met);
    }

    #[test]
    fn a_recovery_restores_to_the_newest_completed_point_or_the_latest_restorable_time() {
        let t = |h: u32| {
            Utc.with_ymd_and_hms(2026, 11, 30, h, 0, 0)
                .single()
                .expect("time")
        };
        let point = |h: u32, completed: bool| crate::restore::PointFacts {
            arn: format!("p{h}"),
            created: t(h),
            completed,
        };
        let snapshots = [point(3, true), point(7, true), point(9, false)];
        assert_eq!(restorable_to(&snapshots, None), Some(t(7)), "9 is not done");
        assert_eq!(restorable_to(&snapshots, Some(t(8))), Some(t(8)));
        assert_eq!(restorable_to(&snapshots, Some(t(1))), Some(t(7)));
        assert_eq!(restorable_to(&[], None), None);
    }
}
