//! Durations as the configuration file writes them: `"90m"`, `"4h"`, `"30d"`, `"2w"`, `"7y"`.
//!
//! Not `humantime`: its year is 365.25 days, which makes `"7y"` a fractional number of days,
//! while AWS Backup counts retention and lifecycle in whole days. Here a year is 365 days, the
//! smallest unit is the minute (what AWS Backup's windows count in), and every value has one
//! canonical spelling, so parsing what Display prints gives the same value back.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A non-negative length of time with minute precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Duration {
    minutes: u64,
}

/// Units from the largest down; Display picks the largest that divides the value exactly.
const UNITS: [(char, u64); 5] = [
    ('y', 365 * 24 * 60),
    ('w', 7 * 24 * 60),
    ('d', 24 * 60),
    ('h', 60),
    ('m', 1),
];

/// A string that is not a duration, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("invalid duration {input:?}: {reason}")]
pub struct ParseDurationError {
    input: String,
    reason: String,
}

impl Duration {
    pub const ZERO: Duration = Duration { minutes: 0 };

    pub const fn from_minutes(minutes: u64) -> Self {
        Self { minutes }
    }

    pub const fn from_hours(hours: u64) -> Self {
        Self::from_minutes(hours * 60)
    }

    pub const fn from_days(days: u64) -> Self {
        Self::from_minutes(days * 24 * 60)
    }

    pub const fn as_minutes(self) -> u64 {
        self.minutes
    }

    /// The duration in days, if it is a whole number of days (what AWS Backup lifecycles take).
    pub const fn whole_days(self) -> Option<u64> {
        if self.minutes % (24 * 60) == 0 {
            Some(self.minutes / (24 * 60))
        } else {
            None
        }
    }

    pub fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_secs(self.minutes.saturating_mul(60))
    }

    /// Parses one or more `<number><unit>` parts, units from largest to smallest, each at
    /// most once: `"4h"`, `"1h30m"`, `"7y"`. Units: m, h, d, w, y (365 days).
    pub fn parse(input: &str) -> Result<Self, ParseDurationError> {
        let fail = |reason: &str| ParseDurationError {
            input: input.to_string(),
            reason: reason.to_string(),
        };
        let mut rest = input.trim();
        if rest.is_empty() {
            return Err(fail(
                "expected a number and a unit, e.g. \"4h\", \"30d\", \"7y\"",
            ));
        }
        let mut total: u64 = 0;
        let mut last_unit_index: Option<usize> = None;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(fail("expected a number before each unit"));
            }
            let amount: u64 = rest[..digits]
                .parse()
                .map_err(|_| fail("the number is too large"))?;
            let unit = rest[digits..]
                .chars()
                .next()
                .ok_or_else(|| fail("missing unit: add m (minutes), h, d, w or y (365 days)"))?;
            let index = UNITS
                .iter()
                .position(|&(u, _)| u == unit)
                .ok_or_else(|| fail("unknown unit: use m (minutes), h, d, w or y (365 days)"))?;
            if last_unit_index.is_some_and(|last| index <= last) {
                return Err(fail("units must go from largest to smallest, each once"));
            }
            last_unit_index = Some(index);
            total = amount
                .checked_mul(UNITS[index].1)
                .and_then(|m| total.checked_add(m))
                .ok_or_else(|| fail("the duration is too large"))?;
            rest = &rest[digits + unit.len_utf8()..];
        }
        Ok(Self { minutes: total })
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.minutes == 0 {
            return f.write_str("0m");
        }
        let (unit, size) = UNITS
            .into_iter()
            .find(|&(_, size)| self.minutes % size == 0)
            .unwrap_or(('m', 1));
        write!(f, "{}{unit}", self.minutes / size)
    }
}

impl FromStr for Duration {
    type Err = ParseDurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for Duration {
    type Error = ParseDurationError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Duration {
    type Error = ParseDurationError;

    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Duration> for String {
    fn from(d: Duration) -> String {
        d.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Duration {
        Duration::parse(s).expect("valid duration")
    }

    #[test]
    fn the_units_the_taxonomy_uses_parse() {
        assert_eq!(d("90m"), Duration::from_minutes(90));
        assert_eq!(d("4h"), Duration::from_hours(4));
        assert_eq!(d("168h"), Duration::from_days(7));
        assert_eq!(d("2w"), Duration::from_days(14));
        assert_eq!(d("7y"), Duration::from_days(7 * 365));
        assert_eq!(d("10y"), Duration::from_days(3650));
        assert_eq!(d("1h30m"), Duration::from_minutes(90));
        assert_eq!(d(" 1d "), Duration::from_days(1));
        assert_eq!(d("0m"), Duration::ZERO);
    }

    #[test]
    fn years_are_whole_days() {
        assert_eq!(d("7y").whole_days(), Some(2555));
        assert_eq!(d("36h").whole_days(), None);
    }

    #[test]
    fn display_picks_the_largest_exact_unit() {
        assert_eq!(d("168h").to_string(), "1w");
        assert_eq!(d("36h").to_string(), "36h");
        assert_eq!(d("1h30m").to_string(), "90m");
        assert_eq!(d("730d").to_string(), "2y");
        assert_eq!(d("30d").to_string(), "30d");
        assert_eq!(Duration::ZERO.to_string(), "0m");
    }

    #[test]
    fn malformed_durations_are_refused_with_the_reason() {
        for (input, reason) in [
            ("", "expected a number"),
            ("h", "expected a number"),
            ("4", "missing unit"),
            ("4 hours", "unknown unit"),
            ("4x", "unknown unit"),
            ("-1h", "expected a number"),
            ("1.5h", "unknown unit"),
            ("30m1h", "largest to smallest"),
            ("1h1h", "largest to smallest"),
            ("99999999999999999999h", "too large"),
            ("99999999999999y", "too large"),
        ] {
            let err = Duration::parse(input).expect_err(input).to_string();
            assert!(err.contains(reason), "{input:?}: {err}");
            assert!(err.contains(&format!("{input:?}")), "{err}");
        }
    }

    #[test]
    fn serde_uses_the_string_form() {
        let json = serde_json::to_string(&d("7y")).expect("serialize");
        assert_eq!(json, "\"7y\"");
        let back: Duration = serde_json::from_str("\"4h\"").expect("deserialize");
        assert_eq!(back, Duration::from_hours(4));
        assert!(serde_json::from_str::<Duration>("\"4 hours\"").is_err());
    }

    proptest! {
        #[test]
        fn display_then_parse_round_trips(minutes in 0u64..=u64::MAX) {
            let duration = Duration::from_minutes(minutes);
            prop_assert_eq!(Duration::parse(&duration.to_string()), Ok(duration));
        }

        #[test]
        fn a_number_and_a_unit_parse_to_their_product(
            amount in 0u64..1_000_000,
            unit in prop::sample::select(UNITS.to_vec()),
        ) {
            let parsed = Duration::parse(&format!("{amount}{}", unit.0));
            prop_assert_eq!(parsed, Ok(Duration::from_minutes(amount * unit.1)));
        }

        #[test]
        fn parse_then_display_is_canonical(input in "([0-9]{1,4}[ywdhm]){1,3}") {
            if let Ok(duration) = Duration::parse(&input) {
                let canonical = duration.to_string();
                prop_assert_eq!(Duration::parse(&canonical), Ok(duration));
                prop_assert_eq!(canonical.clone(), Duration::parse(&canonical).expect("canonical").to_string());
            }
        }

        #[test]
        fn arbitrary_text_never_panics(input in "\\PC{0,12}") {
            let _ = Duration::parse(&input);
        }
    }
}
