//! AWS Backup schedule expressions, `cron(Minutes Hours Day-of-month Month Day-of-week Year)`,
//! parsed with the `cron` crate (which wants a leading seconds field), to know how often a rule
//! really backs up. [`aws_cron_fields`] checks the shape AWS Backup takes, for the
//! configuration's `cron` too.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeZone, Utc};

use crate::duration::Duration;

/// A parsed AWS cron schedule.
#[derive(Debug, Clone)]
pub struct AwsCron {
    text: String,
    schedule: cron::Schedule,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid AWS schedule {text:?}: {reason}")]
pub struct ScheduleError {
    pub text: String,
    pub reason: String,
}

impl AwsCron {
    pub fn parse(text: &str) -> Result<Self, ScheduleError> {
        let error = |reason: &str| ScheduleError {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let inner = aws_cron_fields(text.trim()).map_err(error)?;
        let schedule =
            cron::Schedule::from_str(&format!("0 {inner}")).map_err(|e| error(&e.to_string()))?;
        Ok(Self {
            text: text.trim().to_string(),
            schedule,
        })
    }

    /// The longest gap between two runs over the four weeks after `from`: the most data a
    /// schedule can lose.
    pub fn longest_gap(&self, from: DateTime<Utc>) -> Option<Duration> {
        let horizon = from + chrono::Duration::days(28);
        let mut runs = self.schedule.after(&from).take_while(|t| *t <= horizon);
        let mut previous = runs.next()?;
        let mut longest = 0i64;
        for run in runs {
            longest = longest.max((run - previous).num_minutes());
            previous = run;
        }
        (longest > 0).then(|| Duration::from_minutes(u64::try_from(longest).unwrap_or(u64::MAX)))
    }

    /// The longest gap from a fixed reference time, so results are reproducible.
    pub fn interval(&self) -> Option<Duration> {
        let reference = Utc.with_ymd_and_hms(2026, 1, 5, 0, 0, 0).single()?;
        self.longest_gap(reference)
    }
}

/// The six fields inside `cron(...)`, if `expression` has the shape AWS Backup takes: six
/// fields of the characters AWS cron allows, with `?` in day-of-month or day-of-week.
pub(crate) fn aws_cron_fields(expression: &str) -> Result<&str, &'static str> {
    let inner = expression
        .strip_prefix("cron(")
        .and_then(|rest| rest.strip_suffix(')'))
        .ok_or("write it as AWS does: cron(minutes hours day-of-month month day-of-week year)")?;
    let fields: Vec<&str> = inner.split_whitespace().collect();
    if fields.len() != 6 {
        return Err("AWS cron has six fields: minutes hours day-of-month month day-of-week year");
    }
    let allowed = |c: char| c.is_ascii_alphanumeric() || "*?/,-#".contains(c);
    if !fields.iter().all(|f| f.chars().all(allowed)) {
        return Err("a field holds a character AWS cron does not allow");
    }
    if fields[2] != "?" && fields[4] != "?" {
        return Err("AWS cron needs '?' in day-of-month or day-of-week");
    }
    Ok(inner)
}

impl fmt::Display for AwsCron {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl FromStr for AwsCron {
    type Err = ScheduleError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn intervals_of_common_schedules() {
        for (text, hours) in [
            ("cron(0 * ? * * *)", 1),
            ("cron(0 0/4 ? * * *)", 4),
            ("cron(0 0/12 ? * * *)", 12),
            ("cron(0 5 ? * * *)", 24),
            ("cron(0 5 ? * SUN *)", 168),
        ] {
            let cron = AwsCron::parse(text).expect(text);
            assert_eq!(cron.interval(), Some(Duration::from_hours(hours)), "{text}");
            assert_eq!(cron.to_string(), text);
        }
    }

    #[test]
    fn malformed_schedules_are_refused_with_a_reason() {
        for bad in [
            "rate(1 hour)",
            "cron(0 5 * * *)",
            "cron(0 5 1 * MON *)",
            "cron(x 5 ? * * *)",
            "",
        ] {
            let err = AwsCron::parse(bad).expect_err(bad);
            assert!(err.to_string().contains("invalid AWS schedule"), "{err}");
        }
    }

    proptest! {
        #[test]
        fn every_n_hours_has_an_interval_of_at_most_n_hours(n in 1u32..=12) {
            let cron = AwsCron::parse(&format!("cron(0 0/{n} ? * * *)")).expect("valid");
            let gap = cron.interval().expect("runs");
            prop_assert!(gap <= Duration::from_hours(24));
            prop_assert!(gap >= Duration::from_hours(u64::from(n)));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = AwsCron::parse(&s);
        }
    }
}
