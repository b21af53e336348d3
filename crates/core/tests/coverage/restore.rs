//! RESTORE_TIME_FOR_RESOURCES_MEET_TARGET: judged from the store's last restore test, its
//! verdict, its measured RTO and its age against the tier's cadence.

use bulwark_core::config::BUILTIN_TOML;

use super::*;

const CONTROL: Control = Control::RestoreTimeForResourcesMeetTarget;

/// A test that passed, completed `ago` before now, with a 40-minute RTO and a 12-minute RPO.
fn passed(ago: chrono::Duration) -> RestoreTest {
    RestoreTest {
        completed: now() - ago,
        duration: Duration::from_minutes(40),
        succeeded: true,
        rpo: Some(Duration::from_minutes(12)),
        reason: None,
    }
}

fn tested(test: RestoreTest) -> Evidence {
    Evidence {
        last_restore_test: Some(test),
        ..healthy()
    }
}

fn days(d: i64) -> chrono::Duration {
    chrono::Duration::days(d)
}

#[test]
fn a_passed_test_within_the_rto_and_the_cadence_is_compliant() {
    assert_eq!(critical(&healthy(), CONTROL), Status::Compliant);
    // Critical tests every week: a test exactly a week old is not yet stale.
    assert_eq!(
        critical(&tested(passed(days(7))), CONTROL),
        Status::Compliant
    );
}

#[test]
fn a_test_slower_than_the_rto_is_an_exception() {
    let slow = RestoreTest {
        duration: Duration::from_minutes(150),
        ..passed(chrono::Duration::hours(5))
    };
    assert_eq!(
        reason(critical(&tested(slow), CONTROL)),
        "the last restore test took 2h 30m; tier critical's RTO is 1h"
    );
}

#[test]
fn a_failed_test_is_an_exception_with_its_reason_when_known() {
    let failed = RestoreTest {
        succeeded: false,
        reason: Some("item count: 197 items; the source had 200".into()),
        ..passed(chrono::Duration::hours(5))
    };
    assert_eq!(
        reason(critical(&tested(failed.clone()), CONTROL)),
        "the last restore test, completed 2025-06-01 07:00 UTC, failed: item count: 197 items; \
         the source had 200"
    );
    // A record written before reasons were kept: the failure, and no more.
    let unexplained = RestoreTest {
        reason: None,
        ..failed.clone()
    };
    assert_eq!(
        reason(critical(&tested(unexplained), CONTROL)),
        "the last restore test, completed 2025-06-01 07:00 UTC, failed"
    );
    // Failed and stale: the failure is the cause.
    let old_failure = RestoreTest {
        completed: now() - days(30),
        ..failed
    };
    assert!(reason(critical(&tested(old_failure), CONTROL))
        .ends_with("failed: item count: 197 items; the source had 200"));
}

#[test]
fn a_passed_test_older_than_the_tiers_cadence_is_an_exception_with_its_age() {
    assert_eq!(
        reason(critical(&tested(passed(days(9))), CONTROL)),
        "the last restore test passed 9d ago; tier critical tests every 1w"
    );
    assert_eq!(
        reason(critical(
            &tested(passed(days(7) + chrono::Duration::hours(1))),
            CONTROL
        )),
        "the last restore test passed 7d 1h ago; tier critical tests every 1w"
    );
    // Each tier by its own cadence: important tests every 30 days, standard every 90.
    let important = judge(&tiered(Kind::Rds, "important"), &tested(passed(days(9))));
    assert_eq!(status(&important, CONTROL), Status::Compliant);
    let important = judge(&tiered(Kind::Rds, "important"), &tested(passed(days(40))));
    assert_eq!(
        reason(status(&important, CONTROL)),
        "the last restore test passed 40d ago; tier important tests every 30d"
    );
    let standard = judge(&tiered(Kind::Rds, "standard"), &tested(passed(days(40))));
    assert_eq!(status(&standard, CONTROL), Status::Compliant);
}

#[test]
fn a_tier_whose_tests_are_disabled_has_no_cadence_to_miss() {
    let config = Config::from_toml_str(
        "disabled.toml",
        &BUILTIN_TOML.replacen(
            "[tiers.critical.restore_test]\n",
            "[tiers.critical.restore_test]\nenabled = false\n",
            1,
        ),
    )
    .expect("the built-in default with critical's tests disabled");
    let table = tiered(Kind::Rds, "critical");
    let judged = |evidence: &Evidence| status(&evaluate(&config, &table, evidence, now()), CONTROL);
    assert_eq!(judged(&tested(passed(days(9)))), Status::Compliant);
    // As before cadences: no test yet still needs one, and a failed test is still failed.
    assert_eq!(
        reason(judged(&Evidence {
            last_restore_test: None,
            ..healthy()
        })),
        "no restore test yet; tier critical's RTO of 1h needs one"
    );
    let failed = RestoreTest {
        succeeded: false,
        ..passed(days(9))
    };
    assert_eq!(
        reason(judged(&tested(failed))),
        "the last restore test, completed 2025-05-23 12:00 UTC, failed"
    );
}

#[test]
fn a_store_never_tested_needs_a_test_when_its_rto_is_short() {
    let untested = Evidence {
        last_restore_test: None,
        ..healthy()
    };
    for (tier, rto) in [("critical", "1h"), ("important", "4h")] {
        let c = judge(&tiered(Kind::Rds, tier), &untested);
        assert_eq!(
            reason(status(&c, CONTROL)),
            format!("no restore test yet; tier {tier}'s RTO of {rto} needs one")
        );
    }
    let c = judge(&tiered(Kind::Rds, "standard"), &untested);
    assert_eq!(
        why(status(&c, CONTROL)),
        "no restore test yet; tier standard's RTO of 1d leaves room for an untimed restore"
    );
}

#[test]
fn the_coverage_carries_the_last_test_and_the_tiers_rto() {
    let c = judge(&tiered(Kind::Rds, "critical"), &healthy());
    assert_eq!(c.rto, Some(Duration::from_hours(1)));
    assert_eq!(
        c.last_restore_test,
        Some(passed(chrono::Duration::hours(24)))
    );
    let sandbox = asset(Kind::S3, "scratch", &[("Environment", "sandbox")]);
    let c = judge(&sandbox, &Evidence::default());
    assert_eq!((c.rto, c.last_restore_test), (None, None));
}

#[test]
fn a_test_recorded_before_rpo_and_reason_were_kept_still_loads() {
    let old = serde_json::json!({
        "completed": "2025-05-31T12:00:00Z",
        "duration": "40m",
        "succeeded": true,
    });
    let test: RestoreTest = serde_json::from_value(old).expect("an older test");
    assert_eq!(
        test,
        RestoreTest {
            rpo: None,
            ..passed(chrono::Duration::hours(24))
        }
    );
    assert!(test.measured());
    let unmeasured = RestoreTest {
        succeeded: false,
        rpo: None,
        ..test
    };
    assert!(!unmeasured.measured());
}
