//! Recorded restore tests, as coverage and the report judge them: a passed test clears the
//! "no restore test yet" exception, a failed one is an exception with its reason, a passed one
//! older than the tier's cadence is one with its age, and `bulwark report --format html` shows
//! each store's last test with its RTO and RPO against the tier's.

use bulwark_aws::restore::{history, run_test, Origin, RestoreTest};
use bulwark_core::{Asset, Config, Control, Status};
use chrono::Utc;
use serde_json::json;

use crate::cli::bulwark_on;
use crate::harness::{control, TestAccount, HOME_REGION, TABLE};
use crate::restore::{backed_up_estate, passing_test};

/// RESTORE_TIME_FOR_RESOURCES_MEET_TARGET on `asset`, as coverage judges it now under
/// assign-policy's role.
async fn restore_control(t: &TestAccount, asset: &Asset) -> Status {
    let aws = t.function("assign-policy").await;
    let (coverage, _) = bulwark_aws::assign::coverage(
        &aws,
        &t.inventory(&aws).await,
        &Config::builtin(),
        None,
        bulwark_aws::assign::Targets::Everything,
        Utc::now(),
    )
    .await
    .expect("coverage");
    coverage
        .iter()
        .find(|c| c.arn == asset.arn.to_string())
        .and_then(|c| {
            c.controls
                .iter()
                .find(|r| r.control == Control::RestoreTimeForResourcesMeetTarget)
                .map(|r| r.status.clone())
        })
        .expect("the restore-time control")
}

async fn record(t: &TestAccount, test: &RestoreTest) {
    history::record(&t.inventory(&t.aws()).await, test)
        .await
        .expect("recorded");
}

#[tokio::test]
async fn a_recorded_restore_test_clears_coverages_restore_exception() {
    // Given a critical table, backed up, whose tier needs a timed restore
    let t = TestAccount::new().await;
    let (table, _) = backed_up_estate(&t, 10, 1).await;
    let before = restore_control(&t, &table).await;
    assert!(
        matches!(before, Status::NonCompliant { ref reason } if reason.contains("no restore test yet")),
        "{before:?}"
    );

    // When a restore test passes and is recorded
    let test = passing_test(&t, &table).await;
    record(&t, &test).await;

    // Then coverage judges the store's restore time from it
    assert_eq!(restore_control(&t, &table).await, Status::Compliant);
    // And the record is no asset
    assert!(t.stored().await.iter().all(|a| a.name != test.arn));
}

#[tokio::test]
async fn an_overdue_or_failed_last_test_is_a_restore_exception_with_its_reason() {
    // Given a critical table (tested every week), backed up
    let t = TestAccount::new().await;
    let (table, _) = backed_up_estate(&t, 10, 1).await;

    // When its last test passed, but nine days ago
    let test = passing_test(&t, &table).await;
    let nine_days = chrono::Duration::days(9);
    let old = RestoreTest {
        started: test.started - nine_days,
        ended: test.ended - nine_days,
        ..test
    };
    record(&t, &old).await;

    // Then it is an exception that says how old the test is and how often the tier tests
    assert_eq!(
        restore_control(&t, &table).await,
        Status::NonCompliant {
            reason: "the last restore test passed 9d ago; tier critical tests every 1w".into()
        }
    );

    // When a later test fails: its restore lost items
    control(
        "/moto-api/bulwark/backup/corrupt-restores",
        &json!({"account": t.account.as_str(), "region": HOME_REGION, "drop": 3}),
    );
    let failed = run_test(
        &t.aws(),
        &t.inventory(&t.aws()).await,
        &Config::builtin(),
        &table,
        Origin::Home,
        Utc::now(),
    )
    .await
    .expect("a restore test");
    assert!(!failed.passed);
    record(&t, &failed).await;

    // Then the exception is the failure, with the validator's reason
    let Status::NonCompliant { reason } = restore_control(&t, &table).await else {
        panic!("a failed test is an exception");
    };
    let completed = failed.ended.format("%Y-%m-%d %H:%M UTC");
    assert!(
        reason.starts_with(&format!(
            "the last restore test, completed {completed}, failed: item count: "
        )),
        "{reason}"
    );
}

#[tokio::test]
async fn the_html_report_shows_each_stores_last_restore_test() {
    // Given a critical table with a recorded passed test, and a bucket never tested
    let t = TestAccount::new().await;
    let (table, bucket) = backed_up_estate(&t, 10, 1).await;
    record(&t, &passing_test(&t, &table).await).await;

    // When the report is made as HTML by the CLI
    let out = bulwark_on(&t, TABLE, &["report", "--format", "html"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = String::from_utf8(out.stdout).expect("utf-8");

    // Then the restore tests list the table's test, RTO and RPO against critical's 1h each,
    // and the bucket without one
    let section = &html[html.find("<h2>Restore tests</h2>").expect("the section")..];
    let row = |asset: &Asset| {
        let arn = format!("<div class=\"arn\">{}</div>", asset.arn);
        let at = section
            .find(&arn)
            .unwrap_or_else(|| panic!("no row of {arn}"));
        let row = &section[at..];
        row[..row.find("</tr>").expect("the row's end")].to_string()
    };
    let tested = row(&table);
    assert!(tested.contains("<td class=\"ok\">passed "), "{tested}");
    // Restores on the local AWS take seconds: rounded up to the minute, as coverage judges.
    assert!(tested.contains("<td>RTO 1m / 1h</td>"), "{tested}");
    assert!(
        tested.contains("<td>RPO ") && tested.contains(" / 1h</td>"),
        "{tested}"
    );
    assert!(
        tested.ends_with("<td class=\"ok\">compliant</td>"),
        "{tested}"
    );
    let untested = row(&bucket);
    assert!(untested.contains("no test yet"), "{untested}");
    assert!(untested.contains("non-compliant"), "{untested}");
}

#[tokio::test]
async fn the_report_sums_each_tiers_recovery_points_and_names_the_orphans() {
    // Given a critical table and a bucket backed up, and the bucket's inventory record saying
    // it has been gone eight years (longer than its tier keeps points)
    let t = TestAccount::new().await;
    let (table, bucket) = backed_up_estate(&t, 10, 1).await;
    let mut gone = bucket.clone();
    gone.state = bulwark_core::AssetState::Gone;
    gone.gone_at = Some(Utc::now() - chrono::Duration::days(8 * 366));
    t.aws()
        .dynamodb()
        .put_item()
        .table_name(TABLE)
        .set_item(Some(bulwark_aws::store::to_item(&gone).expect("an item")))
        .send()
        .await
        .expect("written");
    // (a store's points: in Bulwark's vault at home, and its copies in the DR region's)
    let regions = [
        t.backup(HOME_REGION),
        t.backup(&crate::restore::dr_region()),
    ];
    let listed = |arn: String| {
        let regions = regions.clone();
        async move {
            let mut points = Vec::new();
            for backup in regions {
                let listed = backup
                    .list_recovery_points_by_backup_vault()
                    .backup_vault_name("bulwark")
                    .send()
                    .await
                    .expect("points");
                points.extend(
                    listed
                        .recovery_points()
                        .iter()
                        .filter(|p| p.resource_arn() == Some(arn.as_str()))
                        .cloned(),
                );
            }
            points
        }
    };
    let table_points = listed(table.arn.to_string()).await;
    let bucket_points = listed(bucket.arn.to_string()).await;

    // When the report is made as JSON by the CLI
    let out = bulwark_on(&t, TABLE, &["report", "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let storage = &report["storage"];

    // Then the table's tier counts its points and their size, and the bucket's points are
    // named as orphaned, each once
    let tier = table
        .classification
        .as_ref()
        .and_then(|c| c.tier.clone())
        .expect("a tier");
    let line = storage["by_tier"]
        .as_array()
        .expect("by tier")
        .iter()
        .find(|l| l["name"] == tier.as_str())
        .unwrap_or_else(|| panic!("no {tier} line: {storage:#}"));
    let table_bytes: i64 = table_points
        .iter()
        .filter_map(|p| p.backup_size_in_bytes())
        .sum();
    assert!(table_bytes > 0 && !table_points.is_empty());
    assert!(
        line["points"].as_u64().expect("points") >= table_points.len() as u64,
        "{line}"
    );
    assert!(line["warm_gb"].as_f64().expect("warm") > 0.0, "{line}");
    let orphans: Vec<&str> = storage["unneeded"]
        .as_array()
        .expect("unneeded")
        .iter()
        .filter(|p| p["why"] == "orphaned")
        .filter_map(|p| p["arn"].as_str())
        .collect();
    let mut expected: Vec<&str> = bucket_points
        .iter()
        .filter_map(|p| p.recovery_point_arn())
        .collect();
    let mut orphans = orphans;
    orphans.sort_unstable();
    expected.sort_unstable();
    assert!(!expected.is_empty());
    assert_eq!(orphans, expected, "{storage:#}");
}
