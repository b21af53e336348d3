//! Restore tests, run directly (the CLI's `restore-test`): the store's newest restorable
//! recovery point restored under a `bulwark-rt-` name and tagged as a test's, the restored copy
//! read and judged by core's validators against the source as it was at the recovery point,
//! RTO and RPO measured, and the copy deleted whatever the verdict. Every kind but Aurora so
//! far.

use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

use aws_sdk_backup::types::RecoveryPointStatus;
use bulwark_core::restore::{
    self, expected_objects, validate_bucket, validate_database, validate_disk, validate_table,
    Finding, Measured, ObjectVersion, TableFacts, Timing, EXPIRES_TAG, RESTORE_TEST_TAG,
};
use bulwark_core::{Asset, Config, Kind};
use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::clients::{Aws, ScopeClients};
use crate::error::AwsError;
use crate::idempotency;
use crate::permissions::{p, Permission};

pub mod disks;
pub mod history;
pub mod rds;
pub mod sweep;

pub const RESTORE_TEST: &[Permission] = &[
    p(
        "backup:ListRecoveryPointsByResource",
        "a store's recovery points, to test the newest",
    ),
    p(
        "backup:GetRecoveryPointRestoreMetadata",
        "what restoring the point needs",
    ),
    p(
        "backup:StartRestoreJob",
        "restore the point under a bulwark-rt- name",
    ),
    p("backup:DescribeRestoreJob", "wait for the restore"),
    p("iam:PassRole", "the backup role restores with"),
    p(
        "dynamodb:DescribeBackup",
        "the source table as it was backed up (its item count)",
    ),
    p("dynamodb:DescribeTable", "the restored table"),
    p(
        "dynamodb:TagResource",
        "mark the restored table as a test's",
    ),
    p("dynamodb:DeleteTable", "delete the restored table"),
    p(
        "s3:ListBucketVersions",
        "the source's objects as they were at the recovery point",
    ),
    p("s3:ListBucket", "the restored bucket's objects"),
    p(
        "s3:PutBucketTagging",
        "mark the restored bucket as a test's",
    ),
    p("s3:DeleteObject", "empty the restored bucket"),
    p("s3:DeleteBucket", "delete the restored bucket"),
];

/// How long a test's restored copy may live before the sweeper deletes it, whatever happened.
const EXPIRY: chrono::Duration = chrono::Duration::hours(6);
/// How long to wait for a restore job.
const RESTORE_DEADLINE: StdDuration = StdDuration::from_secs(30 * 60);

/// One restore test: what was restored, what the validators found, what was measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoreTest {
    pub id: String,
    pub arn: String,
    pub tier: Option<String>,
    pub recovery_point_arn: String,
    pub restored_name: String,
    pub timing: Timing,
    pub measured: Measured,
    pub findings: Vec<Finding>,
    pub passed: bool,
    /// Whether the restored copy was deleted.
    pub cleaned_up: bool,
}

fn to_utc(t: Option<&aws_smithy_types::DateTime>) -> Option<DateTime<Utc>> {
    t.and_then(|t| Utc.timestamp_opt(t.secs(), t.subsec_nanos()).single())
}

/// Test `asset`: restore its newest restorable recovery point in its own region, validate,
/// measure, clean up.
pub async fn run_test(
    aws: &Aws,
    config: &Config,
    asset: &Asset,
    now: DateTime<Utc>,
) -> Result<RestoreTest, AwsError> {
    if asset.kind == Kind::Aurora {
        return Err(AwsError::Malformed(format!(
            "restore tests of {} stores are not built yet",
            asset.kind
        )));
    }
    let clients = aws.home_scope(asset.scope());
    let tier = asset
        .classification
        .as_ref()
        .and_then(|c| c.tier.as_deref())
        .and_then(|t| config.tier(t));
    let Some(tier) = tier else {
        return Err(AwsError::Malformed(format!(
            "{} has no tier: classify it first",
            asset.arn
        )));
    };
    let arn = asset.arn.to_string();
    let (point_arn, vault, point_created) = newest_point(&clients, &arn).await?;
    // StartRestoreJob's IdempotencyToken: a retried start of this test never starts two.
    let id = idempotency::token(40, "restore-test", &(&arn, &point_arn, now.timestamp()))?;
    let name = restore::restored_name(id.trim_start_matches(idempotency::PREFIX));
    let settings = config.protection();
    let role = settings.backup_role_arn(asset.region.partition(), asset.account.as_str());

    let restore_started = Utc::now();
    let point = Point {
        arn: &point_arn,
        vault: &vault,
    };
    let restored_arn = start_and_wait(&clients, asset.kind, point, &name, &role, &id).await?;
    let restore_completed = Utc::now();
    let expires = (restore_completed + EXPIRY).to_rfc3339();
    // Tables and buckets are restored under the test's name; volumes and file systems get ids.
    let restored_id = match asset.kind {
        Kind::Ebs | Kind::Efs => restored_arn
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string(),
        _ => name.clone(),
    };
    let judged = async {
        match asset.kind {
            Kind::Ebs | Kind::Efs => {
                disks::tag(&clients, asset.kind, &restored_id, &name, &id, &expires).await?
            }
            Kind::Rds => rds::tag(&clients, &restored_arn, &id, &expires).await?,
            _ => tag(&clients, asset.kind, &restored_arn, &name, &id, &expires).await?,
        }
        match asset.kind {
            Kind::Rds => {
                let source = rds::facts(&clients, &asset.name).await?;
                let restored = rds::facts(&clients, &restored_id).await?;
                Ok::<_, AwsError>(validate_database(&source, &restored))
            }
            Kind::Ebs | Kind::Efs => {
                let source = disks::facts(&clients, asset.kind, &asset.name).await?;
                let restored = disks::facts(&clients, asset.kind, &restored_id).await?;
                Ok(validate_disk(&source, &restored))
            }
            Kind::Dynamodb => {
                let source = table_at_backup(&clients, &point_arn).await?;
                let restored = table(&clients, &name).await?;
                Ok(validate_table(&source, &restored))
            }
            _ => {
                let versions = object_versions(&clients, &asset.name).await?;
                let expected = expected_objects(&versions, point_created);
                let restored = objects(&clients, &name).await?;
                Ok(validate_bucket(&expected, &restored))
            }
        }
    }
    .await;
    let validated = Utc::now();
    let cleaned_up = delete(&clients, asset.kind, &restored_id).await.is_ok();
    let findings = judged?;
    let timing = Timing {
        started: now,
        restore_started,
        restore_completed,
        validated,
        point_created,
    };
    let measured = restore::measure(tier, &timing);
    Ok(RestoreTest {
        passed: restore::passed(&findings, &measured) && cleaned_up,
        id,
        arn,
        tier: Some(tier.name.clone()),
        recovery_point_arn: point_arn,
        restored_name: name,
        timing,
        measured,
        findings,
        cleaned_up,
    })
}

/// The newest COMPLETED recovery point of the store in its region: its ARN, its vault, and
/// when it was taken.
async fn newest_point(
    clients: &ScopeClients,
    arn: &str,
) -> Result<(String, String, DateTime<Utc>), AwsError> {
    let points: Vec<_> = clients
        .backup
        .list_recovery_points_by_resource()
        .resource_arn(arn)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::sdk("backup:ListRecoveryPointsByResource", e))?;
    points
        .iter()
        .filter(|p| p.status() == Some(&RecoveryPointStatus::Completed))
        .filter_map(|p| {
            Some((
                p.recovery_point_arn()?.to_string(),
                p.backup_vault_name()?.to_string(),
                to_utc(p.creation_date())?,
            ))
        })
        .max_by_key(|(_, _, created)| *created)
        .ok_or_else(|| AwsError::Malformed(format!("{arn} has no completed recovery point")))
}

#[derive(Debug, Clone, Copy)]
struct Point<'a> {
    arn: &'a str,
    vault: &'a str,
}

async fn start_and_wait(
    clients: &ScopeClients,
    kind: Kind,
    point: Point<'_>,
    name: &str,
    role: &str,
    token: &str,
) -> Result<String, AwsError> {
    let metadata = clients
        .backup
        .get_recovery_point_restore_metadata()
        .backup_vault_name(point.vault)
        .recovery_point_arn(point.arn)
        .send()
        .await
        .map_err(|e| AwsError::sdk("backup:GetRecoveryPointRestoreMetadata", e))?;
    let mut restore_metadata: BTreeMap<String, String> = metadata
        .restore_metadata()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .collect();
    match kind {
        Kind::Dynamodb => {
            restore_metadata.insert("targetTableName".into(), name.into());
            restore_metadata.insert("deletionProtection".into(), "false".into());
        }
        Kind::S3 => {
            restore_metadata.insert("DestinationBucketName".into(), name.into());
            restore_metadata.insert("NewBucket".into(), "true".into());
        }
        Kind::Efs => {
            restore_metadata.insert("newFileSystem".into(), "true".into());
            restore_metadata.insert("CreationToken".into(), name.into());
        }
        Kind::Rds => {
            restore_metadata.insert("DBInstanceIdentifier".into(), name.into());
            restore_metadata.insert("PubliclyAccessible".into(), "false".into());
            restore_metadata.insert("DeletionProtection".into(), "false".into());
        }
        _ => {}
    }
    let job = clients
        .backup
        .start_restore_job()
        .recovery_point_arn(point.arn)
        .iam_role_arn(role)
        .idempotency_token(token)
        .set_metadata(Some(restore_metadata.into_iter().collect()))
        .send()
        .await
        .map_err(|e| AwsError::sdk("backup:StartRestoreJob", e))?
        .restore_job_id()
        .unwrap_or_default()
        .to_string();
    let deadline = std::time::Instant::now() + RESTORE_DEADLINE;
    loop {
        let described = clients
            .backup
            .describe_restore_job()
            .restore_job_id(&job)
            .send()
            .await
            .map_err(|e| AwsError::sdk("backup:DescribeRestoreJob", e))?;
        match described.status().map(|s| s.as_str()) {
            Some("COMPLETED") => {
                return Ok(described
                    .created_resource_arn()
                    .unwrap_or_default()
                    .to_string())
            }
            Some(status @ ("ABORTED" | "FAILED")) => {
                return Err(AwsError::Malformed(format!(
                    "restore job {job} {status}: {}",
                    described.status_message().unwrap_or_default()
                )))
            }
            _ if std::time::Instant::now() > deadline => {
                return Err(AwsError::Malformed(format!(
                    "restore job {job} did not complete in {} minutes",
                    RESTORE_DEADLINE.as_secs() / 60
                )))
            }
            _ => tokio::time::sleep(StdDuration::from_millis(200)).await,
        }
    }
}

async fn tag(
    clients: &ScopeClients,
    kind: Kind,
    restored_arn: &str,
    name: &str,
    id: &str,
    expires: &str,
) -> Result<(), AwsError> {
    match kind {
        Kind::Dynamodb => {
            let tag = |k: &str, v: &str| {
                aws_sdk_dynamodb::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .map_err(|e| AwsError::Malformed(e.to_string()))
            };
            clients
                .dynamodb
                .tag_resource()
                .resource_arn(restored_arn)
                .tags(tag(RESTORE_TEST_TAG, id)?)
                .tags(tag(EXPIRES_TAG, expires)?)
                .send()
                .await
                .map_err(|e| AwsError::sdk("dynamodb:TagResource", e))?;
        }
        _ => {
            let tag = |k: &str, v: &str| {
                aws_sdk_s3::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .map_err(|e| AwsError::Malformed(e.to_string()))
            };
            let tagging = aws_sdk_s3::types::Tagging::builder()
                .tag_set(tag(RESTORE_TEST_TAG, id)?)
                .tag_set(tag(EXPIRES_TAG, expires)?)
                .build()
                .map_err(|e| AwsError::Malformed(e.to_string()))?;
            clients
                .s3
                .put_bucket_tagging()
                .bucket(name)
                .tagging(tagging)
                .send()
                .await
                .map_err(|e| AwsError::sdk("s3:PutBucketTagging", e))?;
        }
    }
    Ok(())
}

fn table_facts(t: &aws_sdk_dynamodb::types::TableDescription) -> TableFacts {
    TableFacts {
        status: t
            .table_status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        key_schema: t
            .key_schema()
            .iter()
            .map(|k| {
                (
                    k.attribute_name().to_string(),
                    k.key_type().as_str().to_string(),
                )
            })
            .collect(),
        indexes: t
            .global_secondary_indexes()
            .iter()
            .filter_map(|i| i.index_name().map(str::to_string))
            .chain(
                t.local_secondary_indexes()
                    .iter()
                    .filter_map(|i| i.index_name().map(str::to_string)),
            )
            .collect(),
        billing_mode: t
            .billing_mode_summary()
            .and_then(|b| b.billing_mode())
            .map(|m| m.as_str().to_string()),
        item_count: t
            .item_count()
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0),
    }
}

/// The source table as the backup recorded it.
async fn table_at_backup(clients: &ScopeClients, backup_arn: &str) -> Result<TableFacts, AwsError> {
    let out = clients
        .dynamodb
        .describe_backup()
        .backup_arn(backup_arn)
        .send()
        .await
        .map_err(|e| AwsError::sdk("dynamodb:DescribeBackup", e))?;
    let description = out.backup_description();
    let source = description.and_then(|d| d.source_table_details());
    let features = description.and_then(|d| d.source_table_feature_details());
    Ok(TableFacts {
        status: "ACTIVE".into(),
        key_schema: source
            .map(|s| {
                s.key_schema()
                    .iter()
                    .map(|k| {
                        (
                            k.attribute_name().to_string(),
                            k.key_type().as_str().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default(),
        indexes: features
            .map(|f| {
                f.global_secondary_indexes()
                    .iter()
                    .filter_map(|i| i.index_name().map(str::to_string))
                    .chain(
                        f.local_secondary_indexes()
                            .iter()
                            .filter_map(|i| i.index_name().map(str::to_string)),
                    )
                    .collect()
            })
            .unwrap_or_default(),
        billing_mode: source
            .and_then(|s| s.billing_mode())
            .map(|m| m.as_str().to_string()),
        item_count: source
            .and_then(|s| s.item_count())
            .and_then(|n| u64::try_from(n).ok())
            .unwrap_or(0),
    })
}

async fn table(clients: &ScopeClients, name: &str) -> Result<TableFacts, AwsError> {
    let out = clients
        .dynamodb
        .describe_table()
        .table_name(name)
        .send()
        .await
        .map_err(|e| AwsError::sdk("dynamodb:DescribeTable", e))?;
    Ok(out.table().map(table_facts).unwrap_or_default())
}

async fn object_versions(
    clients: &ScopeClients,
    bucket: &str,
) -> Result<Vec<ObjectVersion>, AwsError> {
    let mut versions = Vec::new();
    let mut key_marker: Option<String> = None;
    let mut version_marker: Option<String> = None;
    // ListObjectVersions has no paginator in the SDK: its markers are followed here.
    loop {
        let page = clients
            .s3
            .list_object_versions()
            .bucket(bucket)
            .set_key_marker(key_marker.clone())
            .set_version_id_marker(version_marker.clone())
            .send()
            .await
            .map_err(|e| AwsError::sdk("s3:ListObjectVersions", e))?;
        for v in page.versions() {
            if let (Some(key), Some(modified)) = (v.key(), to_utc(v.last_modified())) {
                versions.push(ObjectVersion {
                    key: key.to_string(),
                    etag: v.e_tag().map(str::to_string),
                    last_modified: modified,
                    delete_marker: false,
                });
            }
        }
        for m in page.delete_markers() {
            if let (Some(key), Some(modified)) = (m.key(), to_utc(m.last_modified())) {
                versions.push(ObjectVersion {
                    key: key.to_string(),
                    etag: None,
                    last_modified: modified,
                    delete_marker: true,
                });
            }
        }
        if !page.is_truncated().unwrap_or(false) {
            return Ok(versions);
        }
        key_marker = page.next_key_marker().map(str::to_string);
        version_marker = page.next_version_id_marker().map(str::to_string);
    }
}

async fn objects(
    clients: &ScopeClients,
    bucket: &str,
) -> Result<BTreeMap<String, String>, AwsError> {
    let listed: Vec<_> = clients
        .s3
        .list_objects_v2()
        .bucket(bucket)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::sdk("s3:ListObjectsV2", e))?;
    Ok(listed
        .iter()
        .flat_map(|page| page.contents())
        .filter_map(|o| {
            Some((
                o.key()?.to_string(),
                o.e_tag().unwrap_or_default().to_string(),
            ))
        })
        .collect())
}

/// Delete a test's restored copy (by name, or by id for a volume or file system): a bucket is
/// emptied first.
pub(crate) async fn delete(clients: &ScopeClients, kind: Kind, name: &str) -> Result<(), AwsError> {
    match kind {
        Kind::Ebs | Kind::Efs => disks::delete(clients, kind, name).await?,
        Kind::Rds => rds::delete(clients, name).await?,
        Kind::Dynamodb => {
            clients
                .dynamodb
                .delete_table()
                .table_name(name)
                .send()
                .await
                .map_err(|e| AwsError::sdk("dynamodb:DeleteTable", e))?;
        }
        _ => {
            for key in objects(clients, name).await?.into_keys() {
                clients
                    .s3
                    .delete_object()
                    .bucket(name)
                    .key(key)
                    .send()
                    .await
                    .map_err(|e| AwsError::sdk("s3:DeleteObject", e))?;
            }
            clients
                .s3
                .delete_bucket()
                .bucket(name)
                .send()
                .await
                .map_err(|e| AwsError::sdk("s3:DeleteBucket", e))?;
        }
    }
    Ok(())
}
