//! DR restore tests of every kind against the local AWS as AWS Backup behaves: each store is
//! encrypted with a customer-managed key of its own region (a database also has an option
//! group), its copy in the DR region is re-encrypted with that region's vault key, and the
//! copy's restore metadata still names the source's zone, key and groups, which the DR region
//! refuses. Each copy restores there with the DR region's values, and its test passes.

use aws_sdk_dynamodb::types::AttributeValue;
use bulwark_aws::restore::{run_test, Origin, RestoreTest};
use bulwark_core::{Asset, Config, Kind};
use chrono::Utc;

use crate::harness::{TestAccount, HOME_REGION};
use crate::restore::{dr_region, failed_checks, leftovers_in, protect, run_plans};
use crate::restore::{wait_for_points, wait_for_points_in};

/// A customer-managed key of `region`; its ARN.
async fn customer_key(t: &TestAccount, region: &str) -> String {
    aws_sdk_kms::Client::new(&t.in_region(region))
        .create_key()
        .description("a store's own key")
        .send()
        .await
        .expect("create key")
        .key_metadata()
        .expect("key metadata")
        .arn()
        .expect("key arn")
        .to_string()
}

/// The stores, one of each kind but S3 (whose points are independently encrypted from the
/// start, and tested in restore.rs), each encrypted with `key`; the RDS instance has the
/// option group `option_group`.
async fn encrypted_estate(t: &TestAccount, key: &str, option_group: &str) {
    let critical = [("DataClassification", "Critical")];
    crate::seed::table_encrypted_with(t, HOME_REGION, "orders", &critical, Some(key)).await;
    for n in 0..20 {
        t.dynamodb(HOME_REGION)
            .put_item()
            .table_name("orders")
            .item("id", AttributeValue::S(format!("order-{n:03}")))
            .send()
            .await
            .expect("put item");
    }
    t.ec2(HOME_REGION)
        .create_volume()
        .availability_zone(format!("{HOME_REGION}c"))
        .size(8)
        .encrypted(true)
        .kms_key_id(key)
        .tag_specifications(
            aws_sdk_ec2::types::TagSpecification::builder()
                .resource_type(aws_sdk_ec2::types::ResourceType::Volume)
                .tags(
                    aws_sdk_ec2::types::Tag::builder()
                        .key(critical[0].0)
                        .value(critical[0].1)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("create volume");
    t.efs(HOME_REGION)
        .create_file_system()
        .creation_token("shared")
        .encrypted(true)
        .kms_key_id(key)
        .tags(
            aws_sdk_efs::types::Tag::builder()
                .key(critical[0].0)
                .value(critical[0].1)
                .build()
                .expect("tag"),
        )
        .send()
        .await
        .expect("create file system");
    let rds = t.rds(HOME_REGION);
    rds.create_option_group()
        .option_group_name(option_group)
        .engine_name("mysql")
        .major_engine_version("8.0")
        .option_group_description("the reporting database's options")
        .send()
        .await
        .expect("create option group");
    let tag = |k: &str, v: &str| aws_sdk_rds::types::Tag::builder().key(k).value(v).build();
    rds.create_db_instance()
        .db_instance_identifier("reporting")
        .db_instance_class("db.t3.micro")
        .engine("mysql")
        .engine_version("8.0.35")
        .allocated_storage(20)
        .master_username("admin_user")
        .master_user_password("password-123")
        .storage_encrypted(true)
        .kms_key_id(key)
        .option_group_name(option_group)
        .availability_zone(format!("{HOME_REGION}b"))
        .backup_retention_period(3)
        .tags(tag(critical[0].0, critical[0].1))
        .send()
        .await
        .expect("create db instance");
    rds.create_db_cluster()
        .db_cluster_identifier("ledger")
        .engine("aurora-postgresql")
        .master_username("admin_user")
        .master_user_password("password-123")
        .storage_encrypted(true)
        .kms_key_id(key)
        .availability_zones(format!("{HOME_REGION}a"))
        .availability_zones(format!("{HOME_REGION}b"))
        .tags(tag(critical[0].0, critical[0].1))
        .send()
        .await
        .expect("create db cluster");
}

async fn dr_test(t: &TestAccount, config: &Config, asset: &Asset) -> RestoreTest {
    let aws = t.aws();
    run_test(
        &aws,
        &t.inventory(&aws).await,
        config,
        asset,
        Origin::Dr,
        Utc::now(),
    )
    .await
    .expect("a restore test")
}

#[tokio::test]
async fn every_kinds_encrypted_dr_copy_restores_with_the_dr_regions_values_and_passes() {
    // Given a table, a volume, a file system, a database and an Aurora cluster, each encrypted
    // with a key of the home region (the database with an option group there), backed up and
    // copied to the DR region, where an option group of its own is named for restores
    let t = TestAccount::new().await;
    let dr = dr_region();
    let key = customer_key(&t, HOME_REGION).await;
    encrypted_estate(&t, &key, "reporting-mysql8").await;
    t.rds(&dr)
        .create_option_group()
        .option_group_name("reporting-mysql8-dr")
        .engine_name("mysql")
        .major_engine_version("8.0")
        .option_group_description("restores of the reporting database")
        .send()
        .await
        .expect("the DR region's option group");
    let config = Config::from_toml_str(
        "dr-restores.toml",
        &format!(
            "{}\n[restore_prerequisites.\"{dr}\"]\noption_group = \"reporting-mysql8-dr\"\n",
            bulwark_core::config::BUILTIN_TOML
        ),
    )
    .expect("the configuration");
    protect(&t).await;
    run_plans(&t);
    let stored = t.stored().await;
    // (the state table is a store too: it is tested in restore_deployed.rs)
    let assets: Vec<&Asset> = stored
        .iter()
        .filter(|a| a.kind != Kind::S3 && !a.name.starts_with("bulwark-"))
        .collect();
    assert_eq!(assets.len(), 5, "{stored:?}");
    wait_for_points(&t, &assets).await;
    wait_for_points_in(&t, &dr, &assets).await;

    // When each store's DR copy is restore-tested
    for asset in &assets {
        let test = dr_test(&t, &config, asset).await;

        // Then it restored in the DR region and passed: the restore took the DR region's
        // zone, key and option group, and the copy is encrypted with a key of that region
        assert!(
            test.passed,
            "{} ({}): {:?} {:?}",
            asset.arn,
            asset.kind,
            test.error,
            failed_checks(&test)
        );
        assert_eq!(test.region.as_deref(), Some(dr.as_str()));
        let keyed = matches!(asset.kind, Kind::Ebs | Kind::Efs | Kind::Aurora);
        if let Some(encryption) = test
            .findings
            .iter()
            .find(|f| keyed && f.check == "encryption")
        {
            assert!(
                encryption.detail.contains(&format!(":kms:{dr}:")),
                "{}: {}",
                asset.arn,
                encryption.detail
            );
        }
        assert!(test.cleaned_up, "{:?}", test.cleanup_error);
    }
    assert_eq!(leftovers_in(&t, &dr).await, 0);
}

#[tokio::test]
async fn a_tested_database_restores_single_az_at_a_small_class() {
    // Given a critical Multi-AZ PostgreSQL instance of a large class, backed up
    let t = TestAccount::new().await;
    let tag = |k: &str, v: &str| aws_sdk_rds::types::Tag::builder().key(k).value(v).build();
    t.rds(HOME_REGION)
        .create_db_instance()
        .db_instance_identifier("ledger-db")
        .db_instance_class("db.r6g.2xlarge")
        .engine("postgres")
        .allocated_storage(100)
        .master_username("admin_user")
        .master_user_password("password-123")
        .multi_az(true)
        .backup_retention_period(3)
        .tags(tag("BackupTier", "Tier2"))
        .send()
        .await
        .expect("create db instance");
    protect(&t).await;
    run_plans(&t);
    let stored = t.stored().await;
    let database = stored
        .iter()
        .find(|a| a.name == "ledger-db")
        .expect("inventoried");
    wait_for_points(&t, &[database]).await;

    // When its restore test's restore has completed
    let aws = t.aws();
    let config = Config::builtin();
    let started = bulwark_aws::restore::start(
        &aws,
        &t.inventory(&aws).await,
        &config,
        database,
        Origin::Home,
        "cost",
        Utc::now(),
    )
    .await
    .expect("started");
    crate::restore::until_restored(&aws, &config, &started).await;

    // Then the copy runs Single-AZ at the small class, not the production one
    let restored = t
        .rds(HOME_REGION)
        .describe_db_instances()
        .db_instance_identifier(&started.restored_name)
        .send()
        .await
        .expect("the restored instance");
    let restored = &restored.db_instances()[0];
    assert_eq!(
        restored.db_instance_class(),
        Some(bulwark_core::restore::DEFAULT_TEST_INSTANCE_CLASS)
    );
    assert_eq!(restored.multi_az(), Some(false));
    t.rds(HOME_REGION)
        .delete_db_instance()
        .db_instance_identifier(&started.restored_name)
        .skip_final_snapshot(true)
        .send()
        .await
        .expect("the copy deleted");
}
