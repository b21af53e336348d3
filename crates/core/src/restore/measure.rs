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
    /// When the recovery point was taken (for continuous backups, the latest restorable time).
    pub point_created: DateTime<Utc>,
}

/// What the test measured. Durations in seconds, rounded up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Measured {
    /// From the restore's start to validated: the time to get the data back, proven.
    pub rto_seconds: u64,
    pub restore_seconds: u64,
    pub validation_seconds: u64,
    /// From the recovery point to the test's start: the data a restore now would lose.
    pub rpo_seconds: u64,
    pub rto_met: bool,
    pub rpo_met: bool,
}

fn seconds(from: DateTime<Utc>, to: DateTime<Utc>) -> u64 {
    let millis = (to - from).num_milliseconds().max(0);
    u64::try_from(millis).unwrap_or(0).div_ceil(1000)
}

pub fn measure(tier: &Tier, timing: &Timing) -> Measured {
    let rto_seconds = seconds(timing.restore_started, timing.validated);
    let rpo_seconds = seconds(timing.point_created, timing.started);
    Measured {
        rto_seconds,
        restore_seconds: seconds(timing.restore_started, timing.restore_completed),
        validation_seconds: seconds(timing.restore_completed, timing.validated),
        rpo_seconds,
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
    }
}
