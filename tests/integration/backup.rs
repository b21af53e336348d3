//! AWS Backup on the local AWS, through the unmodified aws-sdk-backup: for each of the six kinds
//! of data store, a backup in the home region, a copy of its recovery point to the other region
//! and a restore there, checked through the restored service's own API.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use aws_sdk_backup::types::{BackupJobState, CopyJobState, RestoreJobStatus};
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_s3::primitives::ByteStream;
use tokio::time::Instant;

use crate::harness::{TestAccount, HOME_REGION, OTHER_REGION};
use crate::seed;

const POLL_EVERY: Duration = Duration::from_millis(150);
const POLL_FOR: Duration = Duration::from_secs(30);
const VAULT: &str = "bulwark-test-vault";

/// Calls `probe` every `POLL_EVERY` until it returns `Some`; fails the test after `POLL_FOR`.
async fn poll<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + POLL_FOR;
    loop {
        if let Some(done) = probe().await {
            return done;
        }
        assert!(
            Instant::now() < deadline,
            "{what} did not finish within {POLL_FOR:?}"
        );
        tokio::time::sleep(POLL_EVERY).await;
    }
}

fn role_arn(t: &TestAccount) -> String {
    format!(
        "arn:aws:iam::{}:role/service-role/AWSBackupDefaultServiceRole",
        t.account
    )
}

async fn create_vault(t: &TestAccount, region: &str) -> String {
    t.backup(region)
        .create_backup_vault()
        .backup_vault_name(VAULT)
        .send()
        .await
        .expect("create backup vault")
        .backup_vault_arn()
        .expect("vault arn")
        .to_string()
}

/// Backs `resource_arn` up into a vault in the home region, copies the recovery point to a vault
/// in the other region and restores it there, with the recovery point's restore metadata updated
/// by `restore_with`. Returns the ARN of the restored resource.
async fn backup_copy_restore(
    t: &TestAccount,
    resource_arn: &str,
    resource_type: &str,
    restore_with: &[(&str, &str)],
) -> String {
    // Given AWS Backup's service role as the template makes it, and a backup vault in each region
    t.deploy_template(&[]);
    create_vault(t, HOME_REGION).await;
    let other_vault_arn = create_vault(t, OTHER_REGION).await;
    let home = t.backup(HOME_REGION);
    let other = t.backup(OTHER_REGION);

    // When the resource is backed up in the home region
    let backup_job_id = home
        .start_backup_job()
        .backup_vault_name(VAULT)
        .resource_arn(resource_arn)
        .iam_role_arn(role_arn(t))
        .idempotency_token(format!("backup-{resource_arn}"))
        .send()
        .await
        .expect("start backup job")
        .backup_job_id()
        .expect("backup job id")
        .to_string();
    let recovery_point_arn = poll("backup job", || async {
        let job = home
            .describe_backup_job()
            .backup_job_id(&backup_job_id)
            .send()
            .await
            .expect("describe backup job");
        match job.state().expect("backup job state") {
            BackupJobState::Completed => Some(
                job.recovery_point_arn()
                    .expect("recovery point of a completed backup job")
                    .to_string(),
            ),
            BackupJobState::Created | BackupJobState::Pending | BackupJobState::Running => None,
            state => panic!("backup job {state}: {:?}", job.status_message()),
        }
    })
    .await;

    // And its recovery point is copied to the other region
    let copy_job_id = home
        .start_copy_job()
        .recovery_point_arn(&recovery_point_arn)
        .source_backup_vault_name(VAULT)
        .destination_backup_vault_arn(&other_vault_arn)
        .iam_role_arn(role_arn(t))
        .idempotency_token(format!("copy-{recovery_point_arn}"))
        .send()
        .await
        .expect("start copy job")
        .copy_job_id()
        .expect("copy job id")
        .to_string();
    let copied_arn = poll("copy job", || async {
        let described = home
            .describe_copy_job()
            .copy_job_id(&copy_job_id)
            .send()
            .await
            .expect("describe copy job");
        let job = described.copy_job().expect("copy job");
        match job.state().expect("copy job state") {
            CopyJobState::Completed => Some(
                job.destination_recovery_point_arn()
                    .expect("destination recovery point of a completed copy job")
                    .to_string(),
            ),
            CopyJobState::Created | CopyJobState::Running => None,
            state => panic!("copy job {state}: {:?}", job.status_message()),
        }
    })
    .await;
    let in_other_vault: Vec<_> = other
        .list_recovery_points_by_backup_vault()
        .backup_vault_name(VAULT)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("list recovery points in the other region");
    assert!(
        in_other_vault
            .iter()
            .any(|rp| rp.recovery_point_arn() == Some(copied_arn.as_str())),
        "the copy {copied_arn} is a recovery point of the vault in {OTHER_REGION}"
    );

    // And the copy is restored in the other region
    let mut metadata: HashMap<String, String> = other
        .get_recovery_point_restore_metadata()
        .backup_vault_name(VAULT)
        .recovery_point_arn(&copied_arn)
        .send()
        .await
        .expect("get restore metadata")
        .restore_metadata()
        .cloned()
        .unwrap_or_default();
    // The copy's metadata describes its source: the other region refuses the source's zone,
    // key and groups (infra/local/FIDELITY.md), so they go, and a volume is given a zone there.
    const SOURCE_REGION_BOUND: [&str; 9] = [
        "availabilityZone",
        "AvailabilityZones",
        "kmsKeyId",
        "OptionGroupName",
        "DBParameterGroupName",
        "DBClusterParameterGroupName",
        "DBSubnetGroupName",
        "VpcSecurityGroupIds",
        "kmsMasterKeyArn",
    ];
    metadata.retain(|key, _| {
        !SOURCE_REGION_BOUND
            .iter()
            .any(|bound| bound.eq_ignore_ascii_case(key))
    });
    if resource_type == "EBS" {
        metadata.insert("availabilityZone".into(), format!("{OTHER_REGION}a"));
    }
    for (key, value) in restore_with {
        metadata.insert((*key).to_string(), (*value).to_string());
    }
    let restore_job_id = other
        .start_restore_job()
        .recovery_point_arn(&copied_arn)
        .set_metadata(Some(metadata))
        .iam_role_arn(role_arn(t))
        .idempotency_token(format!("restore-{copied_arn}"))
        .resource_type(resource_type)
        .send()
        .await
        .expect("start restore job")
        .restore_job_id()
        .expect("restore job id")
        .to_string();
    poll("restore job", || async {
        let job = other
            .describe_restore_job()
            .restore_job_id(&restore_job_id)
            .send()
            .await
            .expect("describe restore job");
        match job.status().expect("restore job status") {
            RestoreJobStatus::Completed => Some(
                job.created_resource_arn()
                    .expect("created resource of a completed restore job")
                    .to_string(),
            ),
            RestoreJobStatus::Pending | RestoreJobStatus::Running => None,
            status => panic!("restore job {status}: {:?}", job.status_message()),
        }
    })
    .await
}

#[tokio::test]
async fn s3_bucket_is_restored_in_the_other_region_with_the_same_objects_and_bytes() {
    let t = TestAccount::new().await;
    // Given a bucket with known objects
    let bucket = format!("bulwark-backup-{}", t.account);
    seed::bucket(&t, HOME_REGION, &bucket, &[]).await;
    let objects: Vec<(&str, Vec<u8>)> = vec![
        ("readme.txt", b"the quick brown fox".to_vec()),
        ("data/all-bytes.bin", (0..=255u8).collect()),
        ("data/nested/empty", Vec::new()),
    ];
    let s3 = t.s3(HOME_REGION);
    for (key, bytes) in &objects {
        s3.put_object()
            .bucket(&bucket)
            .key(*key)
            .body(ByteStream::from(bytes.clone()))
            .send()
            .await
            .expect("put object");
    }

    // When it is backed up, copied to the other region and restored there into a new bucket
    let restored = format!("bulwark-restored-{}", t.account);
    let created = backup_copy_restore(
        &t,
        &format!("arn:aws:s3:::{bucket}"),
        "S3",
        &[("DestinationBucketName", &restored), ("NewBucket", "true")],
    )
    .await;

    // Then the new bucket holds the same objects with the same bytes
    assert_eq!(created, format!("arn:aws:s3:::{restored}"));
    let s3 = t.s3(OTHER_REGION);
    let listed = s3
        .list_objects_v2()
        .bucket(&restored)
        .send()
        .await
        .expect("list restored objects");
    let mut keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    keys.sort_unstable();
    let mut expected: Vec<&str> = objects.iter().map(|(key, _)| *key).collect();
    expected.sort_unstable();
    assert_eq!(keys, expected);
    for (key, bytes) in &objects {
        let body = s3
            .get_object()
            .bucket(&restored)
            .key(*key)
            .send()
            .await
            .expect("get restored object")
            .body
            .collect()
            .await
            .expect("read restored object")
            .into_bytes();
        assert_eq!(body.as_ref(), bytes.as_slice(), "bytes of {key}");
    }
}

fn item(id: &str, name: &str, count: i64) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("id".to_string(), AttributeValue::S(id.to_string())),
        ("name".to_string(), AttributeValue::S(name.to_string())),
        ("count".to_string(), AttributeValue::N(count.to_string())),
        (
            "tags".to_string(),
            AttributeValue::Ss(vec!["a".to_string(), "b".to_string()]),
        ),
    ])
}

async fn sorted_items(
    t: &TestAccount,
    region: &str,
    table: &str,
) -> Vec<HashMap<String, AttributeValue>> {
    let mut items: Vec<_> = t
        .dynamodb(region)
        .scan()
        .table_name(table)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("scan");
    items.sort_by_key(|i| format!("{:?}", i.get("id")));
    items
}

#[tokio::test]
async fn dynamodb_table_is_restored_in_the_other_region_with_the_same_items() {
    let t = TestAccount::new().await;
    // Given a table with known items
    seed::table(&t, HOME_REGION, "orders", &[]).await;
    let ddb = t.dynamodb(HOME_REGION);
    for n in 0..5 {
        ddb.put_item()
            .table_name("orders")
            .set_item(Some(item(&format!("order-{n}"), &format!("name {n}"), n)))
            .send()
            .await
            .expect("put item");
    }
    let original = sorted_items(&t, HOME_REGION, "orders").await;
    assert_eq!(original.len(), 5);

    // When it is backed up, copied to the other region and restored there as a new table
    let created = backup_copy_restore(
        &t,
        &format!("arn:aws:dynamodb:{HOME_REGION}:{}:table/orders", t.account),
        "DynamoDB",
        &[("targetTableName", "orders-restored")],
    )
    .await;

    // Then the new table holds the same items
    assert_eq!(
        created,
        format!(
            "arn:aws:dynamodb:{OTHER_REGION}:{}:table/orders-restored",
            t.account
        )
    );
    assert_eq!(
        sorted_items(&t, OTHER_REGION, "orders-restored").await,
        original
    );
}

#[tokio::test]
async fn rds_instance_is_restored_in_the_other_region_and_available() {
    let t = TestAccount::new().await;
    // Given an RDS instance
    seed::rds_instance(&t, HOME_REGION, "orders-db", &[]).await;

    // When it is backed up, copied to the other region and restored there as a new instance
    let created = backup_copy_restore(
        &t,
        &format!("arn:aws:rds:{HOME_REGION}:{}:db:orders-db", t.account),
        "RDS",
        &[("DBInstanceIdentifier", "orders-db-restored")],
    )
    .await;

    // Then the new instance exists there, from the same engine, and is available
    let described = t
        .rds(OTHER_REGION)
        .describe_db_instances()
        .db_instance_identifier("orders-db-restored")
        .send()
        .await
        .expect("describe restored instance");
    let instance = described.db_instances().first().expect("restored instance");
    assert_eq!(instance.db_instance_arn(), Some(created.as_str()));
    assert_eq!(instance.engine(), Some("postgres"));
    assert_eq!(instance.db_instance_status(), Some("available"));
}

#[tokio::test]
async fn aurora_cluster_is_restored_in_the_other_region() {
    let t = TestAccount::new().await;
    // Given an Aurora cluster with one member
    seed::aurora_cluster(&t, HOME_REGION, "ledger", 1, &[]).await;

    // When it is backed up, copied to the other region and restored there as a new cluster
    let created = backup_copy_restore(
        &t,
        &format!("arn:aws:rds:{HOME_REGION}:{}:cluster:ledger", t.account),
        "Aurora",
        &[("DBClusterIdentifier", "ledger-restored")],
    )
    .await;

    // Then the new cluster exists there, with the same engine
    let described = t
        .rds(OTHER_REGION)
        .describe_db_clusters()
        .db_cluster_identifier("ledger-restored")
        .send()
        .await
        .expect("describe restored cluster");
    let cluster = described.db_clusters().first().expect("restored cluster");
    assert_eq!(cluster.db_cluster_arn(), Some(created.as_str()));
    assert_eq!(cluster.engine(), Some("aurora-postgresql"));
}

#[tokio::test]
async fn ebs_volume_is_restored_in_the_other_region_with_the_same_size() {
    let t = TestAccount::new().await;
    // Given an EBS volume of a known size
    let volume_id = seed::volume_of_size(&t, HOME_REGION, 13).await;

    // When it is backed up, copied to the other region and restored there
    let created = backup_copy_restore(
        &t,
        &format!("arn:aws:ec2:{HOME_REGION}:{}:volume/{volume_id}", t.account),
        "EBS",
        &[],
    )
    .await;

    // Then a new volume of the same size exists there, made from the copied snapshot
    let restored_id = created
        .rsplit_once("volume/")
        .map(|(_, id)| id)
        .expect("a volume ARN");
    let described = t
        .ec2(OTHER_REGION)
        .describe_volumes()
        .volume_ids(restored_id)
        .send()
        .await
        .expect("describe restored volume");
    let volume = described.volumes().first().expect("restored volume");
    assert_eq!(volume.size(), Some(13));
    assert!(
        volume
            .availability_zone()
            .is_some_and(|zone| zone.starts_with(OTHER_REGION)),
        "restored into {:?}",
        volume.availability_zone()
    );
    assert!(volume.snapshot_id().is_some_and(|s| !s.is_empty()));
}

#[tokio::test]
async fn efs_file_system_is_restored_in_the_other_region() {
    let t = TestAccount::new().await;
    // Given an encrypted EFS file system
    let fs_id = seed::file_system(&t, HOME_REGION, "shared-files", &[]).await;

    // When it is backed up, copied to the other region and restored there as a new file system
    let created = backup_copy_restore(
        &t,
        &format!(
            "arn:aws:elasticfilesystem:{HOME_REGION}:{}:file-system/{fs_id}",
            t.account
        ),
        "EFS",
        &[
            ("newFileSystem", "true"),
            ("CreationToken", "shared-files-restored"),
        ],
    )
    .await;

    // Then the new file system exists there, with the same settings
    let restored_id = created
        .rsplit_once("file-system/")
        .map(|(_, id)| id)
        .expect("a file system ARN");
    let described = t
        .efs(OTHER_REGION)
        .describe_file_systems()
        .file_system_id(restored_id)
        .send()
        .await
        .expect("describe restored file system");
    let fs = described
        .file_systems()
        .first()
        .expect("restored file system");
    assert_eq!(fs.file_system_arn(), Some(created.as_str()));
    assert_eq!(fs.creation_token(), "shared-files-restored");
    assert_eq!(fs.encrypted(), Some(true));
}

#[tokio::test]
async fn unknown_jobs_and_recovery_points_are_documented_errors() {
    let t = TestAccount::new().await;
    t.deploy_template(&[]);
    let backup = t.backup(HOME_REGION);
    let unknown_id = "00000000-0000-0000-0000-000000000000";

    let err = backup
        .describe_backup_job()
        .backup_job_id(unknown_id)
        .send()
        .await
        .expect_err("an unknown backup job");
    assert!(
        err.into_service_error().is_resource_not_found_exception(),
        "DescribeBackupJob of an unknown id"
    );

    let err = backup
        .describe_copy_job()
        .copy_job_id(unknown_id)
        .send()
        .await
        .expect_err("an unknown copy job");
    assert!(
        err.into_service_error().is_resource_not_found_exception(),
        "DescribeCopyJob of an unknown id"
    );

    let err = backup
        .describe_restore_job()
        .restore_job_id(unknown_id)
        .send()
        .await
        .expect_err("an unknown restore job");
    assert!(
        err.into_service_error().is_resource_not_found_exception(),
        "DescribeRestoreJob of an unknown id"
    );

    let err = backup
        .start_restore_job()
        .recovery_point_arn(format!(
            "arn:aws:backup:{HOME_REGION}:{}:recovery-point:{unknown_id}",
            t.account
        ))
        .metadata("targetTableName", "nothing")
        .iam_role_arn(role_arn(&t))
        .send()
        .await
        .expect_err("a restore of an unknown recovery point");
    assert!(
        err.into_service_error().is_resource_not_found_exception(),
        "StartRestoreJob of an unknown recovery point"
    );
}
