//! Restore tests of Aurora clusters: a restored cluster has no instance, so the test opens it
//! with a temporary one (in the region's subnet group and security groups, of its instance
//! class), validates it, and deletes both; the sweeper deletes what a killed run left.

use std::time::{Duration, Instant};

use bulwark_aws::restore::{self, run_test, Ending, Origin, Progress};
use bulwark_core::restore::{temporary_instance_name, EXPIRES_TAG, NAME_PREFIX, RESTORE_TEST_TAG};
use bulwark_core::{Asset, Config};
use chrono::Utc;

use crate::harness::{TestAccount, HOME_REGION};
use crate::restore::{
    assert_declared_for_cli, dr_region, expiries, failed_checks, protect, run_plans, sweep_home,
    test_tags, wait_for_points, wait_for_points_in,
};
use crate::seed;

/// A restore test of the cluster's copy in `origin`'s region, run under the validate-restore
/// function's template role; every call it made is declared.
async fn tested_as_the_function(
    t: &TestAccount,
    cluster: &Asset,
    origin: Origin,
) -> (bulwark_aws::Aws, restore::RestoreTest) {
    let aws = t.function("validate-restore").await;
    let test = run_test(
        &aws,
        &t.inventory(&aws).await,
        &Config::builtin(),
        cluster,
        origin,
        Utc::now(),
    )
    .await
    .expect("a restore test");
    assert_declared_for_cli(&aws);
    (aws, test)
}

/// A backed-up Aurora cluster with one instance, inventoried, with a completed recovery point.
async fn backed_up_cluster(t: &TestAccount) -> Asset {
    seed::aurora_cluster(t, HOME_REGION, "ledger", 1, &[("BackupTier", "Tier2")]).await;
    protect(t).await;
    run_plans(t);
    let stored = t.stored().await;
    let cluster = stored
        .iter()
        .find(|a| a.name == "ledger")
        .cloned()
        .expect("inventoried");
    wait_for_points(t, &[&cluster]).await;
    cluster
}

/// Restored DB clusters and instances left in the account: those named `bulwark-rt-`.
async fn database_leftovers(t: &TestAccount) -> Vec<String> {
    database_leftovers_in(t, HOME_REGION).await
}

async fn database_leftovers_in(t: &TestAccount, region: &str) -> Vec<String> {
    let rds = t.rds(region);
    let clusters = rds.describe_db_clusters().send().await.expect("clusters");
    let instances = rds.describe_db_instances().send().await.expect("instances");
    clusters
        .db_clusters()
        .iter()
        .filter_map(|c| c.db_cluster_identifier())
        .chain(
            instances
                .db_instances()
                .iter()
                .filter_map(|db| db.db_instance_identifier()),
        )
        .filter(|id| id.starts_with(NAME_PREFIX))
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn an_aurora_cluster_restores_opens_validates_and_leaves_nothing_behind() {
    // Given a backed-up Aurora cluster with a completed recovery point
    let t = TestAccount::new().await;
    let cluster = backed_up_cluster(&t).await;

    // When it is restore-tested under the validate-restore function's role
    let (aws, test) = tested_as_the_function(&t, &cluster, Origin::Home).await;

    // Then the restored cluster opened with its temporary instance and was its source's
    assert!(
        test.passed,
        "{:?} {:?} {:?} {:?}",
        failed_checks(&test),
        test.error,
        test.measured,
        test.cleanup_error
    );
    let restored = test.restored_name.clone().expect("a restored name");
    let opens = test
        .findings
        .iter()
        .find(|f| f.check == "opens")
        .expect("the opens check");
    assert_eq!(
        opens.detail,
        format!(
            "instances: {} available",
            temporary_instance_name(&restored)
        )
    );
    let measured = test.measured.expect("measured");
    assert!(measured.rto_met && measured.rpo_met, "{measured:?}");

    // And nothing restored is left: finish deleted the cluster after its instance, or said
    // why it could not, and the sweeper deletes it once it has expired
    if !test.cleaned_up {
        let why = test.cleanup_error.as_deref().unwrap_or_default();
        assert!(why.contains("InvalidDBClusterStateFault"), "{why}");
        let described = t
            .rds(HOME_REGION)
            .describe_db_clusters()
            .db_cluster_identifier(&restored)
            .send()
            .await
            .expect("the cluster finish left");
        let expires = described
            .db_clusters()
            .first()
            .and_then(|c| c.tag_list().iter().find(|t| t.key() == Some(EXPIRES_TAG)))
            .and_then(|t| t.value())
            .and_then(|e| chrono::DateTime::parse_from_rfc3339(e).ok())
            .expect("an expiry");
        let report = sweep_home(&t, &aws, expires.to_utc() + chrono::Duration::seconds(1)).await;
        assert!(report.failed.is_empty(), "{report:?}");
    } else {
        assert_eq!(test.cleanup_error, None);
    }
    assert_eq!(database_leftovers(&t).await, Vec::<String>::new());
}

#[tokio::test]
async fn an_aurora_clusters_dr_copy_restores_opens_and_validates_in_the_dr_region() {
    // Given a backed-up Aurora cluster whose tier copies to the DR region, and its copy there
    let t = TestAccount::new().await;
    let cluster = backed_up_cluster(&t).await;
    let dr_region = dr_region();
    wait_for_points_in(&t, &dr_region, &[&cluster]).await;

    // When its DR copy is restore-tested under the validate-restore function's role
    let (_, test) = tested_as_the_function(&t, &cluster, Origin::Dr).await;

    // Then the copy restored in the DR region opened, was its source's, and is gone
    assert!(
        test.passed,
        "{:?} {:?} {:?}",
        failed_checks(&test),
        test.error,
        test.cleanup_error
    );
    assert_eq!(test.region.as_deref(), Some(dr_region.as_str()));
    assert!(test.findings.iter().any(|f| f.check == "opens" && f.passed));
    // (the local AWS deletes an instance at once, so finish can delete the cluster too)
    assert!(test.cleaned_up, "{:?}", test.cleanup_error);
    assert_eq!(
        database_leftovers_in(&t, &dr_region).await,
        Vec::<String>::new()
    );
}

#[tokio::test]
async fn an_aurora_restore_takes_the_regions_network_and_instance_class_once() {
    // Given a backed-up Aurora cluster, and a region whose restores go into a DB subnet group
    // and security group of their own, opened with a small instance class
    let t = TestAccount::new().await;
    let cluster = backed_up_cluster(&t).await;
    let (subnet_group, security_group) = seed::restore_network(&t, HOME_REGION).await;
    let config = Config::from_toml_str(
        "restore-network.toml",
        &format!(
            "{}\n[restore_prerequisites.\"{HOME_REGION}\"]\n\
             db_subnet_group = \"{subnet_group}\"\n\
             security_groups = [\"{security_group}\"]\n\
             instance_class = \"db.t4g.medium\"\n",
            bulwark_core::config::BUILTIN_TOML
        ),
    )
    .expect("the configuration");

    // When the test's steps run as the state machine runs them, a poll at a time
    let aws = t.function("validate-restore").await;
    let started = restore::start(
        &aws,
        &t.inventory(&aws).await,
        &config,
        &cluster,
        Origin::Home,
        "run-1",
        Utc::now(),
    )
    .await
    .expect("started");
    let deadline = Instant::now() + Duration::from_secs(30);
    let progress = loop {
        match restore::poll(&aws, &config, &started)
            .await
            .expect("a poll")
        {
            Progress::Running if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await
            }
            done => break done,
        }
    };
    let Progress::Completed {
        restored_arn,
        restored_id,
        ..
    } = &progress
    else {
        panic!("{progress:?}");
    };
    assert_eq!(restored_id, &started.restored_name);

    // Then the restored cluster is in the region's network, unprotected, tagged as the test's
    let rds = t.rds(HOME_REGION);
    let described = rds
        .describe_db_clusters()
        .db_cluster_identifier(restored_id)
        .send()
        .await
        .expect("the restored cluster");
    let restored = described.db_clusters().first().expect("restored");
    assert_eq!(restored.db_subnet_group(), Some(subnet_group.as_str()));
    let groups: Vec<_> = restored
        .vpc_security_groups()
        .iter()
        .filter_map(|g| g.vpc_security_group_id())
        .collect();
    assert_eq!(groups, [security_group.as_str()]);
    assert_eq!(restored.deletion_protection(), Some(false));
    let tagged = |tags: &[aws_sdk_rds::types::Tag]| {
        tags.iter()
            .any(|t| t.key() == Some(RESTORE_TEST_TAG) && t.value() == Some(started.id.as_str()))
    };
    assert!(tagged(restored.tag_list()), "{:?}", restored.tag_list());

    // And it was opened by one instance of the configured class, tagged as the test's, which
    // a retried poll finds instead of adding another
    let again = restore::poll(&aws, &config, &started)
        .await
        .expect("a poll");
    assert!(matches!(again, Progress::Completed { .. }), "{again:?}");
    let members = rds
        .describe_db_instances()
        .filters(
            aws_sdk_rds::types::Filter::builder()
                .name("db-cluster-id")
                .values(restored_id)
                .build(),
        )
        .send()
        .await
        .expect("the cluster's instances");
    let [instance] = members.db_instances() else {
        panic!("{members:?}");
    };
    assert_eq!(
        instance.db_instance_identifier(),
        Some(temporary_instance_name(restored_id).as_str())
    );
    assert_eq!(instance.db_instance_class(), Some("db.t4g.medium"));
    assert!(tagged(instance.tag_list()), "{:?}", instance.tag_list());

    // And validated and finished, it passes and leaves nothing behind
    let validated = restore::validate(&aws, &started, restored_arn, restored_id)
        .await
        .expect("validated");
    let ending = Ending {
        started: Some(started.clone()),
        progress: Some(progress.clone()),
        validated: Some(validated),
        ..Ending::default()
    };
    let test = restore::finish(&aws, &config, ending, Utc::now())
        .await
        .expect("finished");
    assert_declared_for_cli(&aws);
    assert!(test.passed, "{:?} {:?}", failed_checks(&test), test.error);
    assert!(test.cleaned_up, "{:?}", test.cleanup_error);
    assert_eq!(database_leftovers(&t).await, Vec::<String>::new());
}

#[tokio::test]
async fn the_sweeper_deletes_a_killed_runs_cluster_with_its_instance_and_nothing_else() {
    // Given restored clusters a killed run left: one past its expiry with its temporary
    // instance, one not yet expired; and a cluster that only looks like one
    let t = TestAccount::new().await;
    let now = Utc::now();
    let (expired, later) = expiries(now);
    let cluster = "bulwark-rt-killed";
    seed::aurora_cluster(&t, HOME_REGION, cluster, 0, &test_tags(&expired)).await;
    let instance = temporary_instance_name(cluster);
    seed::cluster_member(&t, HOME_REGION, cluster, &instance, &test_tags(&expired)).await;
    seed::aurora_cluster(&t, HOME_REGION, "bulwark-rt-running", 0, &test_tags(&later)).await;
    seed::aurora_cluster(&t, HOME_REGION, "bulwark-rt-lookalike", 0, &[]).await;

    // When the sweeper runs under the validate-restore function's role
    let aws = t.function("validate-restore").await;
    let report = sweep_home(&t, &aws, now).await;
    assert_declared_for_cli(&aws);

    // Then the expired cluster and its instance are gone, and only they
    assert!(report.failed.is_empty(), "{report:?}");
    assert_eq!(
        report.deleted,
        [
            format!("DB instance {instance} in {HOME_REGION}"),
            format!("DB cluster {cluster} in {HOME_REGION}"),
        ]
    );
    let mut left = database_leftovers(&t).await;
    left.sort();
    assert_eq!(left, ["bulwark-rt-lookalike", "bulwark-rt-running"]);
}
