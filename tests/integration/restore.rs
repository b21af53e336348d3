//! Restore tests, run directly: each kind's store restored from its newest recovery point (and
//! its DR copy), validated against the source at the recovery point, measured, and deleted; a
//! restore that lost data is caught; nothing named `bulwark-rt-` is left. Aurora's are in
//! restore_aurora.rs.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use bulwark_aws::restore::{run_test, Origin, RestoreTest};
use bulwark_core::restore::{EXPIRES_TAG, NAME_PREFIX, RESTORE_TEST_TAG};
use bulwark_core::{Asset, Config};
use chrono::Utc;
use serde_json::json;

use crate::harness::{control, TestAccount, HOME_REGION};
use crate::seed;

/// A table of `items` items and a versioned bucket of `objects` objects, both backed up by
/// the plans assign-policy made, each with a completed recovery point.
pub(crate) async fn backed_up_estate(
    t: &TestAccount,
    items: usize,
    objects: usize,
) -> (Asset, Asset) {
    let bucket = format!("ledger-{}", t.account);
    seed::table(
        t,
        HOME_REGION,
        "orders",
        &[("DataClassification", "Critical")],
    )
    .await;
    seed::bucket(t, HOME_REGION, &bucket, &[("Environment", "prod")]).await;
    let ddb = t.dynamodb(HOME_REGION);
    for n in 0..items {
        ddb.put_item()
            .table_name("orders")
            .item("id", AttributeValue::S(format!("order-{n:04}")))
            .item("total", AttributeValue::N(format!("{n}")))
            .send()
            .await
            .expect("put item");
    }
    protect(t).await;
    let s3 = t.s3(HOME_REGION);
    for n in 0..objects {
        s3.put_object()
            .bucket(&bucket)
            .key(format!("invoices/{n:03}.json"))
            .body(format!("{{\"invoice\": {n}}}").into_bytes().into())
            .send()
            .await
            .expect("put object");
    }
    run_plans(t);
    let stored = t.stored().await;
    let find = |name: &str| {
        stored
            .iter()
            .find(|a| a.name == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} not inventoried"))
    };
    let (table, bucket) = (find("orders"), find(&bucket));
    wait_for_points(t, &[&table, &bucket]).await;
    (table, bucket)
}

/// The estate discovered, classified and put under its tiers' plans.
pub(crate) async fn protect(t: &TestAccount) {
    t.discover_and_classify(&[HOME_REGION]).await;
    let report = t.apply(&t.function("assign-policy").await).await;
    assert!(!report.partial(), "{:?}", report.failures);
}

/// Poll a started restore until it has completed (and its copy is tagged as the test's).
pub(crate) async fn until_restored(
    aws: &bulwark_aws::Aws,
    config: &bulwark_core::Config,
    started: &bulwark_aws::restore::Started,
) {
    let deadline = Instant::now() + std::time::Duration::from_secs(30);
    while !matches!(
        bulwark_aws::restore::poll(aws, config, started)
            .await
            .expect("a poll"),
        bulwark_aws::restore::Progress::Completed { .. }
    ) {
        assert!(Instant::now() < deadline, "the restore did not complete");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The local AWS runs the account's plans now: the recovery points to restore.
pub(crate) fn run_plans(t: &TestAccount) {
    let path = format!(
        "/moto-api/bulwark/backup/run-plans?account={}&region={HOME_REGION}",
        t.account
    );
    control(&path, &json!({}));
}

pub(crate) async fn wait_for_points(t: &TestAccount, assets: &[&Asset]) {
    wait_for_points_in(t, HOME_REGION, assets).await;
}

/// Wait until each asset has a completed recovery point in `region` (its DR copy, when that
/// is not the asset's own region).
pub(crate) async fn wait_for_points_in(t: &TestAccount, region: &str, assets: &[&Asset]) {
    for asset in assets {
        wait_for_point_of(t, region, &asset.arn.to_string()).await;
    }
}

/// Wait until the store `arn` has a completed recovery point in `region`.
pub(crate) async fn wait_for_point_of(t: &TestAccount, region: &str, arn: &str) {
    let backup = t.backup(region);
    let started = Instant::now();
    loop {
        let points = backup
            .list_recovery_points_by_resource()
            .resource_arn(arn)
            .send()
            .await
            .expect("recovery points");
        let completed = points
            .recovery_points()
            .iter()
            .any(|p| p.status().map(|s| s.as_str()) == Some("COMPLETED"));
        if completed {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{arn}: no completed recovery point in {region}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Restored copies left in the account: tables and buckets named `bulwark-rt-`.
async fn leftovers(t: &TestAccount) -> usize {
    leftovers_in(t, HOME_REGION).await
}

pub(crate) async fn leftovers_in(t: &TestAccount, region: &str) -> usize {
    let tables = t
        .dynamodb(region)
        .list_tables()
        .send()
        .await
        .expect("tables")
        .table_names()
        .iter()
        .filter(|n| n.starts_with(NAME_PREFIX))
        .count();
    let buckets = t
        .s3(region)
        .list_buckets()
        .send()
        .await
        .expect("buckets")
        .buckets()
        .iter()
        .filter(|b| b.name().is_some_and(|n| n.starts_with(NAME_PREFIX)))
        .count();
    tables + buckets
}

/// Every call `aws` made is an IAM action the CLI declares (its restore tests and sweeps run
/// from the CLI), mapped as the Service Authorization Reference names it.
pub(crate) fn assert_declared_for_cli(aws: &bulwark_aws::Aws) {
    let declared = bulwark_aws::permissions::for_cli();
    for operation in aws.counter().snapshot().keys() {
        let action = bulwark_aws::permissions::action_for_operation(operation)
            .unwrap_or_else(|| panic!("no IAM mapping for {operation}"));
        assert!(
            declared.contains(&action.as_str()),
            "{operation} ({action}) is not declared for the CLI"
        );
    }
}

/// A restore test of `asset` that must pass; its calls are all declared.
pub(crate) async fn passing_test(t: &TestAccount, asset: &Asset) -> RestoreTest {
    passing_test_of(t, asset, Origin::Home).await
}

/// A restore test of `asset`'s copy in `origin`'s region that must pass; its calls are all
/// declared.
async fn passing_test_of(t: &TestAccount, asset: &Asset, origin: Origin) -> RestoreTest {
    let aws = t.aws();
    let test = run_test(
        &aws,
        &t.inventory(&aws).await,
        &Config::builtin(),
        asset,
        origin,
        Utc::now(),
    )
    .await
    .expect("a restore test");
    assert_declared_for_cli(&aws);
    assert!(
        test.passed,
        "{}: {:?} {:?} {:?}",
        asset.arn,
        failed_checks(&test),
        test.error,
        test.measured
    );
    test
}

pub(crate) fn failed_checks(test: &RestoreTest) -> Vec<String> {
    test.findings
        .iter()
        .filter(|f| !f.passed)
        .map(|f| format!("{}: {}", f.check, f.detail))
        .collect()
}

#[tokio::test]
async fn a_table_and_a_bucket_restore_validate_and_leave_nothing_behind() {
    // Given a table and a bucket with data, each with a completed recovery point
    let t = TestAccount::new().await;
    let (table, bucket) = backed_up_estate(&t, 25, 12).await;

    // When each is restore-tested
    for asset in [&table, &bucket] {
        let test = passing_test(&t, asset).await;

        // Then the copy held what the store held, the objectives were measured, and the copy is gone
        assert!(test
            .restored_name
            .as_deref()
            .is_some_and(|n| n.starts_with(NAME_PREFIX)));
        let measured = test.measured.expect("measured");
        assert!(measured.rto_met && measured.rpo_met, "{measured:?}");
        assert!(measured.rpo_seconds < 600, "{measured:?}");
        assert!(test.cleaned_up);
    }
    assert_eq!(leftovers(&t).await, 0);
}

#[tokio::test]
async fn a_bucket_of_several_listing_pages_is_restored_and_its_copy_emptied_and_deleted() {
    // Given a bucket of 2,500 objects (three pages of a version listing), backed up
    let t = TestAccount::new().await;
    let (_, bucket) = backed_up_estate(&t, 1, 2_500).await;

    // When it is restore-tested
    let test = passing_test(&t, &bucket).await;

    // Then its copy, emptied a page at a time, is gone
    assert!(test.cleaned_up, "{test:?}");
    assert_eq!(leftovers(&t).await, 0);
}

#[tokio::test]
async fn the_dr_copies_of_a_critical_table_and_bucket_restore_in_the_dr_region() {
    // Given a critical table and bucket whose tier copies to the DR region, and their copies there
    let t = TestAccount::new().await;
    let (table, bucket) = backed_up_estate(&t, 25, 12).await;
    let dr_region = dr_region();
    wait_for_points_in(&t, &dr_region, &[&table, &bucket]).await;

    // When each DR copy is restore-tested
    for asset in [&table, &bucket] {
        let test = passing_test_of(&t, asset, Origin::Dr).await;

        // Then the copy restored in the DR region held what the store held, and is gone
        assert_eq!(test.region.as_deref(), Some(dr_region.as_str()));
        assert!(test
            .recovery_point_arn
            .as_deref()
            .is_some_and(|p| p.contains(&dr_region)));
    }
    assert_eq!(leftovers_in(&t, &dr_region).await, 0);
}

#[tokio::test]
async fn a_store_without_a_recovery_point_is_a_failed_test_with_its_reason() {
    // Given a classified table that was never backed up
    let t = TestAccount::new().await;
    seed::table(
        &t,
        HOME_REGION,
        "fresh",
        &[("DataClassification", "Critical")],
    )
    .await;
    t.discover_and_classify(&[HOME_REGION]).await;
    let stored = t.stored().await;
    let table = stored
        .iter()
        .find(|a| a.name == "fresh")
        .expect("inventoried");

    // When it is restore-tested
    let test = run_test(
        &t.aws(),
        &t.inventory(&t.aws()).await,
        &Config::builtin(),
        table,
        Origin::Home,
        Utc::now(),
    )
    .await
    .expect("a test, failed");

    // Then the test failed, says why, and restored nothing
    assert!(!test.passed);
    assert!(
        test.error
            .as_deref()
            .is_some_and(|e| e.contains("no completed recovery point")),
        "{:?}",
        test.error
    );
    assert!(test.restored_name.is_none());
    assert_eq!(leftovers(&t).await, 0);
}

#[tokio::test]
async fn a_restore_that_lost_data_is_caught_and_still_cleaned_up() {
    // Given backed-up stores, and restores in this account that will lose data
    let t = TestAccount::new().await;
    let (table, bucket) = backed_up_estate(&t, 200, 12).await;

    for (asset, check) in [(&table, "item count"), (&bucket, "objects present")] {
        control(
            "/moto-api/bulwark/backup/corrupt-restores",
            &json!({"account": t.account.as_str(), "region": HOME_REGION, "drop": 3}),
        );

        // When it is restore-tested
        let test = run_test(
            &t.aws(),
            &t.inventory(&t.aws()).await,
            &Config::builtin(),
            asset,
            Origin::Home,
            Utc::now(),
        )
        .await
        .expect("a restore test");

        // Then the validator names what is missing, the test fails, and the copy is deleted
        assert!(!test.passed, "{}", asset.arn);
        let failed = failed_checks(&test);
        assert!(
            failed.iter().any(|f| f.starts_with(check)),
            "{}: {failed:?}",
            asset.arn
        );
        assert!(test.cleaned_up);
    }
    assert_eq!(leftovers(&t).await, 0);
}

/// Expiry tags' values, as of `now`: one a minute past, one an hour ahead.
pub(crate) fn expiries(now: chrono::DateTime<Utc>) -> (String, String) {
    (
        (now - chrono::Duration::minutes(1)).to_rfc3339(),
        (now + chrono::Duration::hours(1)).to_rfc3339(),
    )
}

/// The tags of a test's restored copy that expires at `expires`.
pub(crate) fn test_tags(expires: &str) -> Vec<(&'static str, &str)> {
    vec![(RESTORE_TEST_TAG, "killed-run"), (EXPIRES_TAG, expires)]
}

#[tokio::test]
async fn the_sweeper_deletes_what_a_killed_run_left_and_nothing_else() {
    // Given copies a killed run left (tagged as a test's, one past its expiry, one not yet),
    // a table that only looks like one, and a bucket, a volume, a file system and a database
    // a killed run left
    let t = TestAccount::new().await;
    let now = Utc::now();
    let (expired, later) = expiries(now);
    seed::table(&t, HOME_REGION, "bulwark-rt-expired", &test_tags(&expired)).await;
    seed::table(&t, HOME_REGION, "bulwark-rt-running", &test_tags(&later)).await;
    seed::table(&t, HOME_REGION, "bulwark-rt-lookalike", &[]).await;
    let bucket = format!("bulwark-rt-{}", t.account);
    seed::bucket(&t, HOME_REGION, &bucket, &test_tags(&expired)).await;
    t.s3(HOME_REGION)
        .put_object()
        .bucket(&bucket)
        .key("restored.json")
        .body(b"{}".to_vec().into())
        .send()
        .await
        .expect("put object");
    assert_eq!(leftovers(&t).await, 4);
    let disk_name = format!("bulwark-rt-disk-{}", t.account);
    let mut disk_tags = test_tags(&expired);
    disk_tags.push(("Name", &disk_name));
    seed::volume(&t, HOME_REGION, &disk_tags).await;
    seed::file_system(&t, HOME_REGION, "killed-run", &disk_tags).await;
    assert_eq!(disk_leftovers(&t, HOME_REGION).await, 2);
    seed::rds_instance(&t, HOME_REGION, "bulwark-rt-killed", &test_tags(&expired)).await;

    // When the sweeper runs
    let aws = t.aws();
    let report = sweep_home(&t, &aws, now).await;
    assert_declared_for_cli(&aws);

    // Then the expired copies are gone, and the running test's and the look-alike remain
    assert!(report.failed.is_empty(), "{report:?}");
    assert_eq!(report.deleted.len(), 5, "{report:?}");
    assert_eq!(leftovers(&t).await, 2);
    assert_eq!(disk_leftovers(&t, HOME_REGION).await, 0);
    let tables = t
        .dynamodb(HOME_REGION)
        .list_tables()
        .send()
        .await
        .expect("tables");
    let names = tables.table_names();
    assert!(names.iter().any(|n| n == "bulwark-rt-running"));
    assert!(names.iter().any(|n| n == "bulwark-rt-lookalike"));
    let instances = t
        .rds(HOME_REGION)
        .describe_db_instances()
        .send()
        .await
        .expect("instances");
    assert!(instances.db_instances().is_empty(), "{instances:?}");
}

/// The sweeper for the home region of the test's account, as of `now`, run as `aws`.
#[tokio::test]
async fn a_sweep_goes_on_past_a_region_that_does_not_answer_and_reports_it() {
    // Given an expired copy in the DR region, and the home region failing every call
    let t = TestAccount::new().await;
    let now = Utc::now();
    let (expired, _) = expiries(now);
    let dr = dr_region();
    seed::table(&t, &dr, "bulwark-rt-expired", &test_tags(&expired)).await;
    crate::harness::control(
        "/moto-api/bulwark/faults",
        &json!({
            "account": t.account.as_str(), "service": "*", "region": HOME_REGION,
            "status": 503, "code": "ServiceUnavailable", "message": "the region is down",
        }),
    );

    // When both regions are swept, the home region first
    let scopes: Vec<bulwark_core::Scope> = [HOME_REGION, dr.as_str()]
        .iter()
        .map(|region| bulwark_core::Scope {
            account: t.account.clone(),
            region: crate::harness::region(region),
        })
        .collect();
    let report = bulwark_aws::restore::sweep::sweep(&t.aws(), &scopes, now)
        .await
        .expect("a sweep, with its failures");

    // Then the DR region was swept, and the home region's failure is reported
    assert_eq!(
        report.deleted,
        vec![format!("table bulwark-rt-expired in {dr}")],
        "{report:?}"
    );
    assert!(
        report.failed.iter().any(|(what, why)| what
            == &format!("the sweep of {}/{HOME_REGION}", t.account)
            && why.contains("ServiceUnavailable")),
        "{report:?}"
    );
}

pub(crate) async fn sweep_home(
    t: &TestAccount,
    aws: &bulwark_aws::Aws,
    now: chrono::DateTime<Utc>,
) -> bulwark_aws::restore::sweep::SweepReport {
    let scope = bulwark_core::Scope {
        account: t.account.clone(),
        region: crate::harness::region(HOME_REGION),
    };
    bulwark_aws::restore::sweep::sweep(aws, &[scope], now)
        .await
        .expect("a sweep")
}

/// The DR region the built-in configuration pairs with the home region.
pub(crate) fn dr_region() -> String {
    Config::builtin()
        .protection()
        .dr_region_for(HOME_REGION)
        .expect("a DR region")
}

/// Restored volumes and file systems left in `region`: those tagged as a test's.
async fn disk_leftovers(t: &TestAccount, region: &str) -> usize {
    let tag = bulwark_core::restore::RESTORE_TEST_TAG;
    let volumes = t
        .ec2(region)
        .describe_volumes()
        .send()
        .await
        .expect("volumes")
        .volumes()
        .iter()
        .filter(|v| v.tags().iter().any(|t| t.key() == Some(tag)))
        .count();
    let file_systems = t
        .efs(region)
        .describe_file_systems()
        .send()
        .await
        .expect("file systems")
        .file_systems()
        .iter()
        .filter(|f| f.tags().iter().any(|t| t.key() == tag))
        .count();
    volumes + file_systems
}

#[tokio::test]
async fn a_volume_and_a_file_system_restore_validate_and_leave_nothing_behind() {
    // Given a backed-up volume and file system, each with a completed recovery point
    let t = TestAccount::new().await;
    seed::volume(&t, HOME_REGION, &[("Tier", "Tier1")]).await;
    seed::file_system(
        &t,
        HOME_REGION,
        "shared",
        &[("DataClassification", "Critical")],
    )
    .await;
    protect(&t).await;
    run_plans(&t);
    let stored = t.stored().await;
    let disks: Vec<&Asset> = stored
        .iter()
        .filter(|a| matches!(a.kind, bulwark_core::Kind::Ebs | bulwark_core::Kind::Efs))
        .collect();
    assert_eq!(disks.len(), 2, "{stored:?}");
    wait_for_points(&t, &disks).await;

    wait_for_points_in(&t, &dr_region(), &disks).await;

    // When each, and its copy in the DR region, is restore-tested
    for asset in disks {
        for origin in [Origin::Home, Origin::Dr] {
            // Then the copy is its source's, and it is gone
            assert!(passing_test_of(&t, asset, origin).await.cleaned_up);
        }
    }
    assert_eq!(disk_leftovers(&t, HOME_REGION).await, 0);
    assert_eq!(disk_leftovers(&t, &dr_region()).await, 0);
}

#[tokio::test]
async fn a_database_restores_validates_and_leaves_nothing_behind() {
    // Given a backed-up RDS instance with a completed recovery point
    let t = TestAccount::new().await;
    seed::rds_instance(&t, HOME_REGION, "reporting", &[("BackupTier", "Tier2")]).await;
    protect(&t).await;
    run_plans(&t);
    let stored = t.stored().await;
    let database = stored
        .iter()
        .find(|a| a.name == "reporting")
        .expect("inventoried");
    wait_for_points(&t, &[database]).await;
    wait_for_points_in(&t, &dr_region(), &[database]).await;

    // When it, and its copy in the DR region, is restore-tested
    for origin in [Origin::Home, Origin::Dr] {
        // Then the copy was its source's, and is gone
        assert!(passing_test_of(&t, database, origin).await.cleaned_up);
    }
    for region in [HOME_REGION.to_string(), dr_region()] {
        let instances = t
            .rds(&region)
            .describe_db_instances()
            .send()
            .await
            .expect("instances");
        let restored: Vec<_> = instances
            .db_instances()
            .iter()
            .filter_map(|db| db.db_instance_identifier())
            .filter(|id| id.starts_with(NAME_PREFIX))
            .collect();
        assert!(restored.is_empty(), "{region}: {restored:?}");
    }
}

#[tokio::test]
async fn a_bucket_under_sse_kms_with_a_multipart_object_is_compared_by_size_and_passes() {
    // Given a critical bucket whose default encryption is SSE-KMS, holding a multipart object
    // and a small one: neither ETag is an MD5, and a restore writes each object anew
    let t = TestAccount::new().await;
    let bucket = format!("ledger-{}", t.account);
    seed::bucket(
        &t,
        HOME_REGION,
        &bucket,
        &[("DataClassification", "Critical")],
    )
    .await;
    let s3 = t.s3(HOME_REGION);
    s3.put_bucket_encryption()
        .bucket(&bucket)
        .server_side_encryption_configuration(
            aws_sdk_s3::types::ServerSideEncryptionConfiguration::builder()
                .rules(
                    aws_sdk_s3::types::ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(
                            aws_sdk_s3::types::ServerSideEncryptionByDefault::builder()
                                .sse_algorithm(aws_sdk_s3::types::ServerSideEncryption::AwsKms)
                                .build()
                                .expect("default"),
                        )
                        .build(),
                )
                .build()
                .expect("configuration"),
        )
        .send()
        .await
        .expect("default encryption");
    let upload = s3
        .create_multipart_upload()
        .bucket(&bucket)
        .key("exports/big.bin")
        .send()
        .await
        .expect("multipart upload");
    let id = upload.upload_id().expect("upload id");
    let mut parts = Vec::new();
    for (n, bytes) in [(1, vec![7u8; 5 * 1024 * 1024]), (2, vec![9u8; 1024])] {
        let part = s3
            .upload_part()
            .bucket(&bucket)
            .key("exports/big.bin")
            .upload_id(id)
            .part_number(n)
            .body(bytes.into())
            .send()
            .await
            .expect("part");
        parts.push(
            aws_sdk_s3::types::CompletedPart::builder()
                .part_number(n)
                .set_e_tag(part.e_tag().map(str::to_string))
                .build(),
        );
    }
    s3.complete_multipart_upload()
        .bucket(&bucket)
        .key("exports/big.bin")
        .upload_id(id)
        .multipart_upload(
            aws_sdk_s3::types::CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .expect("complete");
    s3.put_object()
        .bucket(&bucket)
        .key("readme.txt")
        .body(b"the quick brown fox".to_vec().into())
        .send()
        .await
        .expect("put object");
    protect(&t).await;
    run_plans(&t);
    let stored = t.stored().await;
    let asset = stored
        .iter()
        .find(|a| a.name == bucket)
        .expect("inventoried");
    wait_for_points(&t, &[asset]).await;

    // When it is restore-tested
    let test = passing_test_of(&t, asset, Origin::Home).await;

    // Then both objects were compared by size, as their ETags are not MD5s
    let contents = test
        .findings
        .iter()
        .find(|f| f.check == "contents equal")
        .expect("the contents' finding");
    assert!(
        contents.detail.starts_with("0 by ETag, 2 by size"),
        "{}",
        contents.detail
    );
}

#[tokio::test]
async fn a_critical_database_under_continuous_backup_reports_an_rpo_within_its_hour() {
    // Given a critical RDS instance, which its tier backs up continuously
    let t = TestAccount::new().await;
    seed::rds_instance(
        &t,
        HOME_REGION,
        "payments",
        &[("DataClassification", "Critical")],
    )
    .await;
    protect(&t).await;
    run_plans(&t);
    let stored = t.stored().await;
    let database = stored
        .iter()
        .find(|a| a.name == "payments")
        .expect("inventoried");
    wait_for_points(&t, &[database]).await;
    let continuous = t
        .backup(HOME_REGION)
        .list_recovery_points_by_resource()
        .resource_arn(database.arn.to_string())
        .send()
        .await
        .expect("recovery points")
        .recovery_points()
        .iter()
        .any(|p| {
            p.recovery_point_arn()
                .is_some_and(bulwark_core::facts::is_continuous)
        });
    assert!(
        continuous,
        "critical's continuous backup of an RDS instance"
    );
    let latest = t
        .rds(HOME_REGION)
        .describe_db_instances()
        .db_instance_identifier("payments")
        .send()
        .await
        .expect("instance")
        .db_instances()[0]
        .latest_restorable_time()
        .map(|t| t.secs())
        .expect("a latest restorable time");

    // When it is restore-tested
    let test = passing_test_of(&t, database, Origin::Home).await;

    // Then its RPO is what a recovery would lose, from the latest restorable time RDS reports,
    // within critical's hour
    // (the window's end moves as the continuous backup records: at least what RDS reported
    // before the test, at most the test's start)
    let timing = test.timing.expect("timing");
    let restorable_to = timing.restorable_to.expect("a restorable time");
    assert!(
        (latest..=timing.started.timestamp() + 1).contains(&restorable_to.timestamp()),
        "{timing:?}, RDS's {latest}"
    );
    let measured = test.measured.expect("measured");
    assert!(
        measured.rpo_met && measured.rpo_seconds < 3600,
        "{measured:?}"
    );
}

#[tokio::test]
async fn the_cli_tests_a_tier_and_shows_the_history() {
    // Given the template's roles (AWS Backup's, and the restore role), and a critical table
    // discovered, classified, protected and backed up by the CLI
    let t = TestAccount::new().await;
    t.deploy_template(&[]);
    seed::table(
        &t,
        HOME_REGION,
        "ledger",
        &[("DataClassification", "Critical")],
    )
    .await;
    for step in ["init", "discover", "classify", "apply"] {
        crate::cli::ok(&t, &[step]);
    }
    run_plans(&t);
    let arn = format!("arn:aws:dynamodb:{HOME_REGION}:{}:table/ledger", t.account);
    wait_for_point_of(&t, HOME_REGION, &arn).await;

    // When the critical tier is restore-tested, and the history asked for
    let out = crate::cli::ok(
        &t,
        &["restore-test", "--tier", "critical", "--format", "json"],
    );
    let answer: serde_json::Value = serde_json::from_str(&out).expect("json");

    // Then the table was tested and passed, with the calls it took
    let tests = answer["tests"].as_array().expect("tests");
    assert_eq!(tests.len(), 1, "{answer}");
    assert_eq!(tests[0]["arn"], arn.as_str());
    assert_eq!(tests[0]["passed"], true, "{answer}");
    assert!(
        answer["calls"]["Backup:StartRestoreJob"].as_u64() == Some(1),
        "{answer}"
    );
    // Each call of a test has its reason: the restore asked after once (it takes less than
    // the first wait here), the table and its copy each counted by one Scan (the copy's also
    // reads the sample), one state-table write before the restore starts and one with the
    // test's record. The run itself reads the inventory once (a Scan).
    let calls = |op: &str| answer["calls"][op].as_u64().unwrap_or(0);
    assert_eq!(calls("Backup:DescribeRestoreJob"), 1, "{answer}");
    assert_eq!(calls("DynamoDB:Scan"), 3, "{answer}");
    assert_eq!(
        (
            calls("DynamoDB:PutItem"),
            calls("DynamoDB:TransactWriteItems"),
            calls("DynamoDB:DeleteItem")
        ),
        (1, 1, 0),
        "{answer}"
    );
    let total: u64 = answer["calls"]
        .as_object()
        .expect("calls")
        .values()
        .filter_map(serde_json::Value::as_u64)
        .sum();
    assert!(total <= 15, "{total} calls: {answer}");
    let history = crate::cli::ok(&t, &["restore-tests", "--arn", &arn]);
    assert!(history.contains("passed"), "{history}");

    // And a tier the configuration does not have is refused
    let refused = crate::cli::fails(&t, &["restore-test", "--tier", "gold"]);
    assert!(refused.contains("\"gold\" is not a tier"), "{refused}");
}
