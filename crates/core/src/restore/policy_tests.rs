//! The restore-test policy's tests: which stores are due, in which order, how many per run, and
//! which recovery point each restores.

use std::collections::BTreeSet;

use chrono::TimeZone;
use proptest::prelude::*;

use super::*;
use crate::config::Config;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0)
        .single()
        .expect("time")
}

fn ago(days: i64, hours: i64) -> DateTime<Utc> {
    now() - TimeDelta::days(days) - TimeDelta::hours(hours)
}

/// A tier of the built-in default, its restore-test policy edited.
fn tier(name: &str, edit: impl FnOnce(&mut RestoreTestPolicy)) -> Tier {
    let mut tier = Config::builtin().tier(name).expect("tier").clone();
    edit(&mut tier.restore_test);
    tier
}

fn test(completed: DateTime<Utc>, succeeded: bool) -> RestoreTest {
    RestoreTest {
        completed,
        duration: Duration::from_minutes(20),
        succeeded,
        rpo: Some(Duration::from_minutes(30)),
        reason: None,
    }
}

fn picked(due: &[Due]) -> Vec<(&str, &str)> {
    due.iter()
        .map(|d| (d.arn.as_str(), d.reason.as_str()))
        .collect()
}

#[test]
fn the_never_tested_the_failed_and_the_stale_are_due_in_that_order() {
    let critical = tier("critical", |_| {});
    let tests = [
        ("arn:e", Some(test(ago(7, 0), true))),
        ("arn:d", Some(test(ago(6, 0), true))),
        ("arn:f", Some(test(ago(7, 5), true))),
        ("arn:c", Some(test(ago(9, 0), true))),
        ("arn:b", Some(test(ago(1, 0), false))),
        ("arn:a", None),
    ];
    let candidates: Vec<Candidate> = tests
        .iter()
        .map(|(arn, last)| Candidate {
            arn,
            tier: &critical,
            last_test: last.as_ref(),
        })
        .collect();
    let due = due(&candidates, now());
    assert_eq!(
        picked(&due),
        [
            ("arn:a", "never tested"),
            ("arn:b", "last test failed"),
            ("arn:c", "last test 9d old; cadence 1w"),
            ("arn:f", "last test 7d 5h old; cadence 1w"),
        ],
        "a test exactly one cadence old (arn:e) is not yet due"
    );
    assert!(due.iter().all(|d| d.tier == "critical" && d.dr_copy));
}

#[test]
fn a_rotating_sample_takes_the_longest_untested_of_a_share_of_all_the_tiers_stores() {
    let standard = tier("standard", |p| p.within_runs = 3);
    // Cadence 90d: s4 and s7 are not due. 7 stores in 3 runs: 3 a run, though only 5 are due.
    let tests = [
        ("s1", 100),
        ("s2", 120),
        ("s3", 95),
        ("s4", 10),
        ("s5", 91),
        ("s6", 200),
        ("s7", 30),
    ]
    .map(|(arn, days)| (arn, test(ago(days, 0), true)));
    let candidates: Vec<Candidate> = tests
        .iter()
        .map(|(arn, last)| Candidate {
            arn,
            tier: &standard,
            last_test: Some(last),
        })
        .collect();
    let arns: Vec<String> = due(&candidates, now()).into_iter().map(|d| d.arn).collect();
    assert_eq!(arns, ["s6", "s2", "s1"]);
}

#[test]
fn urgency_comes_before_the_arn_and_the_arn_breaks_ties() {
    let standard = tier("standard", |p| p.within_runs = 2);
    let failed = test(ago(1, 0), false);
    let stale = test(ago(400, 0), true);
    let candidates = [
        ("z-never", None),
        ("y-failed", Some(&failed)),
        ("a-stale", Some(&stale)),
        ("b-never", None),
    ]
    .map(|(arn, last_test)| Candidate {
        arn,
        tier: &standard,
        last_test,
    });
    let due = due(&candidates, now());
    assert_eq!(
        picked(&due),
        [("b-never", "never tested"), ("z-never", "never tested")]
    );
    assert!(due.iter().all(|d| !d.dr_copy), "standard has no DR copy");
}

#[test]
fn each_tier_has_its_own_sample_and_a_disabled_tier_is_never_due() {
    let standard = tier("standard", |p| p.within_runs = 2);
    let critical = tier("critical", |p| p.dr_copy = false);
    let archival = tier("archival", |p| p.enabled = false);
    let candidates = [
        ("s1", &standard),
        ("x1", &archival),
        ("c1", &critical),
        ("s2", &standard),
        ("c2", &critical),
        ("s3", &standard),
    ]
    .map(|(arn, tier)| Candidate {
        arn,
        tier,
        last_test: None,
    });
    let due = due(&candidates, now());
    let got: Vec<(&str, &str, bool)> = due
        .iter()
        .map(|d| (d.arn.as_str(), d.tier.as_str(), d.dr_copy))
        .collect();
    assert_eq!(
        got,
        [
            ("s1", "standard", false),
            ("s2", "standard", false),
            ("c1", "critical", false),
            ("c2", "critical", false),
        ],
        "standard: 2 of 3 (ceil(3 / 2)); critical: both (within_runs 1); archival: none"
    );
}

#[test]
fn a_test_dated_in_the_future_is_fresh_but_a_failed_one_is_still_due() {
    let critical = tier("critical", |_| {});
    let ahead = now() + TimeDelta::hours(3);
    let (passed, failed) = (test(ahead, true), test(ahead, false));
    let candidates = [("p", &passed), ("f", &failed)].map(|(arn, last)| Candidate {
        arn,
        tier: &critical,
        last_test: Some(last),
    });
    assert_eq!(
        picked(&due(&candidates, now())),
        [("f", "last test failed")]
    );
}

fn point(arn: &str, created: DateTime<Utc>, completed: bool) -> PointFacts {
    PointFacts {
        arn: arn.to_string(),
        created,
        completed,
    }
}

fn points() -> Vec<PointFacts> {
    vec![
        point("rp-5d", ago(5, 0), true),
        point("rp-1d", ago(1, 0), false),
        point("rp-10d", ago(10, 0), true),
        point("rp-2d", ago(2, 0), true),
    ]
}

fn chosen(points: &[PointFacts], choice: PointChoice, seed: u64) -> Option<&str> {
    choose_point(points, &choice, now(), seed).map(|p| p.arn.as_str())
}

#[test]
fn latest_is_the_newest_completed_point() {
    let points = points();
    assert_eq!(chosen(&points, PointChoice::Latest, 0), Some("rp-2d"));
    assert_eq!(chosen(&points, PointChoice::Latest, 99), Some("rp-2d"));
    let none_completed = [point("rp", ago(0, 1), false)];
    assert_eq!(chosen(&none_completed, PointChoice::Latest, 0), None);
    assert_eq!(chosen(&[], PointChoice::Latest, 0), None);
}

#[test]
fn random_picks_by_seed_among_the_completed_points_of_the_window() {
    let points = points();
    let week = PointChoice::Random {
        within: Duration::from_days(7),
    };
    // The window's completed points by creation: rp-5d, rp-2d.
    for (seed, expected) in [(0, "rp-5d"), (1, "rp-2d"), (2, "rp-5d"), (7, "rp-2d")] {
        assert_eq!(chosen(&points, week, seed), Some(expected), "seed {seed}");
    }
    let month = PointChoice::Random {
        within: Duration::from_days(30),
    };
    assert_eq!(chosen(&points, month, 0), Some("rp-10d"));
    assert_eq!(
        chosen(&points, month, u64::MAX),
        Some("rp-10d"),
        "MAX % 3 == 0"
    );
    let hour = PointChoice::Random {
        within: Duration::from_hours(1),
    };
    assert_eq!(
        chosen(&points, hour, 5),
        Some("rp-2d"),
        "an empty window falls back to the newest"
    );
    let forever = PointChoice::Random {
        within: Duration::from_minutes(u64::MAX),
    };
    assert_eq!(chosen(&points, forever, 0), Some("rp-10d"));
}

#[test]
fn a_restored_copy_expires_one_validation_window_after_its_restore() {
    let policy = tier("standard", |_| {}).restore_test;
    let completed = Utc
        .with_ymd_and_hms(2026, 12, 1, 10, 20, 0)
        .single()
        .expect("time");
    assert_eq!(
        policy.expires(completed).to_rfc3339(),
        "2026-12-01T12:20:00+00:00"
    );
    let huge = RestoreTestPolicy {
        validation_window: Duration::from_minutes(u64::MAX),
        ..policy
    };
    assert_eq!(huge.expires(completed), DateTime::<Utc>::MAX_UTC);
}

#[test]
fn a_test_stops_waiting_for_its_restore_one_deadline_after_the_job_started() {
    let policy = tier("standard", |_| {}).restore_test;
    let started = Utc
        .with_ymd_and_hms(2026, 12, 1, 23, 40, 0)
        .single()
        .expect("time");
    assert_eq!(
        policy.deadline(started).to_rfc3339(),
        "2026-12-02T00:40:00+00:00"
    );
    let huge = RestoreTestPolicy {
        restore_deadline: Duration::from_minutes(u64::MAX),
        ..policy
    };
    assert_eq!(huge.deadline(started), DateTime::<Utc>::MAX_UTC);
}

/// A store's state before the first run: never tested, or tested (passed or not) longer ago
/// than the cadence by some hours.
fn initial_state() -> impl Strategy<Value = Option<(bool, i64)>> {
    prop::option::of((any::<bool>(), 1i64..5000))
}

proptest! {
    #[test]
    fn with_rotation_every_due_store_is_tested_within_n_runs(
        states in prop::collection::vec(initial_state(), 1..60),
        within_runs in 1u32..8,
        interval_hours in 1i64..(24 * 200),
    ) {
        let standard = tier("standard", |p| p.within_runs = within_runs);
        let cadence = TimeDelta::days(90);
        let arns: Vec<String> = (0..states.len()).map(|i| format!("arn:{i:03}")).collect();
        let mut last: Vec<Option<RestoreTest>> = states
            .iter()
            .map(|s| s.map(|(ok, hours)| test(now() - cadence - TimeDelta::hours(hours), ok)))
            .collect();
        let limit = states.len().div_ceil(within_runs as usize);
        let mut tested = BTreeSet::new();
        for run in 0..i64::from(within_runs) {
            let at = now() + TimeDelta::hours(interval_hours * run);
            let candidates: Vec<Candidate> = arns
                .iter()
                .zip(&last)
                .map(|(arn, last_test)| Candidate { arn, tier: &standard, last_test: last_test.as_ref() })
                .collect();
            let due = due(&candidates, at);
            prop_assert!(due.len() <= limit, "{} > {limit}", due.len());
            let picks: BTreeSet<&str> = due.iter().map(|d| d.arn.as_str()).collect();
            prop_assert_eq!(picks.len(), due.len(), "a store picked twice");
            for d in &due {
                let i = arns.iter().position(|a| *a == d.arn).expect("a candidate");
                last[i] = Some(test(at, true));
                tested.insert(i);
            }
        }
        prop_assert_eq!(tested.len(), states.len());
    }

    #[test]
    fn the_order_of_the_candidates_changes_nothing(
        states in prop::collection::vec(prop::option::of((any::<bool>(), 0i64..400)), 1..40),
        keys in prop::collection::vec(any::<u64>(), 40),
        within_runs in 1u32..5,
    ) {
        let important = tier("important", |p| p.within_runs = within_runs);
        let arns: Vec<String> = (0..states.len()).map(|i| format!("arn:{i:03}")).collect();
        let tests: Vec<Option<RestoreTest>> = states
            .iter()
            .map(|s| s.map(|(ok, days)| test(ago(days, 0), ok)))
            .collect();
        let candidates: Vec<Candidate> = arns
            .iter()
            .zip(&tests)
            .map(|(arn, last_test)| Candidate { arn, tier: &important, last_test: last_test.as_ref() })
            .collect();
        let mut shuffled = candidates.clone();
        let mut order: Vec<usize> = (0..shuffled.len()).collect();
        order.sort_by_key(|&i| keys[i]);
        shuffled = order.into_iter().map(|i| shuffled[i]).collect();
        prop_assert_eq!(due(&candidates, now()), due(&shuffled, now()));
    }

    #[test]
    fn the_chosen_point_is_completed_and_in_the_window_when_the_window_has_one(
        raw in prop::collection::vec((0i64..2000, any::<bool>()), 0..20),
        within_hours in 1u64..1000,
        seed in any::<u64>(),
    ) {
        let points: Vec<PointFacts> = raw
            .iter()
            .enumerate()
            .map(|(i, &(hours, completed))| point(&format!("rp-{i}"), ago(0, hours), completed))
            .collect();
        let choice = PointChoice::Random { within: Duration::from_hours(within_hours) };
        let chosen = choose_point(&points, &choice, now(), seed);
        let completed: Vec<&PointFacts> = points.iter().filter(|p| p.completed).collect();
        let hours_ago = |p: &PointFacts| (now() - p.created).num_hours();
        let window_hours = i64::try_from(within_hours).expect("small");
        match chosen {
            None => prop_assert!(completed.is_empty()),
            Some(p) => {
                prop_assert!(p.completed);
                if completed.iter().any(|c| hours_ago(c) <= window_hours) {
                    prop_assert!(hours_ago(p) <= window_hours);
                } else {
                    prop_assert!(completed.iter().all(|c| c.created <= p.created));
                }
            }
        }
        let reversed: Vec<PointFacts> = points.iter().rev().cloned().collect();
        prop_assert_eq!(
            chosen.map(|p| &p.arn),
            choose_point(&reversed, &choice, now(), seed).map(|p| &p.arn)
        );
    }
}
