//! Scheduled runs that do not overlap: a run that finds an earlier one of its state machine
//! still running yields to it, and does nothing. Step Functions is the record of what runs,
//! so nothing is left locked when a run dies.

use chrono::{DateTime, Utc};

/// A running execution of a state machine, as Step Functions lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunningExecution {
    pub arn: String,
    pub started: DateTime<Utc>,
}

/// The execution `me` yields to: the earliest other running one that started before it, or at
/// the same instant with a smaller ARN, so that of two runs started together exactly one goes
/// on. None: `me` goes on.
pub fn yields_to<'a>(
    me: &RunningExecution,
    running: &'a [RunningExecution],
) -> Option<&'a RunningExecution> {
    running
        .iter()
        .filter(|other| other.arn != me.arn)
        .filter(|other| (other.started, &other.arn) < (me.started, &me.arn))
        .min_by(|a, b| (a.started, &a.arn).cmp(&(b.started, &b.arn)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn run(name: &str, second: u32) -> RunningExecution {
        RunningExecution {
            arn: format!(
                "arn:aws:states:us-east-1:123456789012:execution:bulwark-restore-tests:{name}"
            ),
            started: Utc
                .with_ymd_and_hms(2026, 12, 7, 3, 0, second)
                .single()
                .expect("time"),
        }
    }

    #[test]
    fn a_run_alone_goes_on() {
        let me = run("b", 5);
        assert_eq!(yields_to(&me, std::slice::from_ref(&me)), None);
        assert_eq!(yields_to(&me, &[]), None);
    }

    #[test]
    fn a_run_yields_to_the_earliest_that_started_before_it() {
        let me = run("c", 5);
        let running = [run("later", 9), me.clone(), run("b", 3), run("a", 1)];
        assert_eq!(yields_to(&me, &running), Some(&running[3]));
        // The earliest yields to nobody: it goes on.
        assert_eq!(yields_to(&running[3], &running), None);
    }

    #[test]
    fn of_two_runs_started_together_exactly_one_goes_on() {
        let a = run("a", 5);
        let b = run("b", 5);
        let running = [a.clone(), b.clone()];
        assert_eq!(yields_to(&a, &running), None);
        assert_eq!(yields_to(&b, &running), Some(&a));
    }
}
