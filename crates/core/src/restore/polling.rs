//! How often a restore job is asked after. A restore takes minutes (a table, a volume) to tens
//! of minutes (a database: its instance is created, its storage loaded), and AWS throttles
//! DescribeRestoreJob once many tests poll at once. So the waits grow with the time already
//! waited (each half of it), from a second up to a cap that follows the kind's restore time:
//! a restore of length T is asked after about log1.5(T / 1 s) times until the cap is reached,
//! and at most one cap past its end.

use std::time::Duration;

use crate::Kind;

/// The first wait after a restore starts.
pub const FIRST_WAIT: Duration = Duration::from_secs(1);

/// The longest wait between two asks: a minute for the kinds that restore in minutes, two for
/// the databases, whose restores run longer.
pub fn longest_wait(kind: Kind) -> Duration {
    match kind {
        Kind::Rds | Kind::Aurora => Duration::from_secs(120),
        Kind::S3 | Kind::Dynamodb | Kind::Efs | Kind::Ebs => Duration::from_secs(60),
    }
}

/// How long to wait before asking after a restore of `kind` again, once it has run `waited`.
pub fn next_wait(kind: Kind, waited: Duration) -> Duration {
    (waited / 2).clamp(FIRST_WAIT, longest_wait(kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The asks made before a restore of `length` is seen done.
    fn asks(kind: Kind, length: Duration) -> u32 {
        let (mut waited, mut asks) = (Duration::ZERO, 0);
        loop {
            waited += next_wait(kind, waited);
            asks += 1;
            if waited >= length {
                return asks;
            }
        }
    }

    #[test]
    fn a_restore_done_within_a_second_is_asked_after_once() {
        assert_eq!(asks(Kind::Dynamodb, Duration::from_millis(500)), 1);
        assert_eq!(asks(Kind::Dynamodb, Duration::from_secs(1)), 1);
    }

    #[test]
    fn the_waits_grow_with_the_time_waited_up_to_the_kinds_cap() {
        assert_eq!(next_wait(Kind::Ebs, Duration::ZERO), FIRST_WAIT);
        assert_eq!(
            next_wait(Kind::Ebs, Duration::from_secs(10)),
            Duration::from_secs(5)
        );
        assert_eq!(
            next_wait(Kind::Ebs, Duration::from_secs(3600)),
            Duration::from_secs(60)
        );
        assert_eq!(
            next_wait(Kind::Aurora, Duration::from_secs(3600)),
            Duration::from_secs(120)
        );
    }

    #[test]
    fn a_ten_minute_table_restore_is_asked_after_about_twenty_times_not_three_thousand() {
        // At a fixed 200 ms it would be 3,000 asks.
        let n = asks(Kind::Dynamodb, Duration::from_secs(600));
        assert!((10..=25).contains(&n), "{n}");
        // A 45-minute cluster restore: about 14 asks up to the two-minute cap, then one every
        // two minutes.
        let n = asks(Kind::Aurora, Duration::from_secs(45 * 60));
        assert!((25..=40).contains(&n), "{n}");
    }
}
