//! Putting assets under their tier: the tier tag (Tagging API, 20 ARNs a call) and the
//! native protections a tier demands (DynamoDB PITR, S3 versioning, RDS retention).

use std::collections::BTreeMap;

use bulwark_core::protection::{NativeAction, NativeState, TagChange, TIER_TAG};
use bulwark_core::{Asset, Kind};

use crate::clients::ScopeClients;
use crate::error::AwsError;
use crate::permissions::{p, Permission};

pub const PROTECT: &[Permission] = &[
    p(
        "tag:TagResources",
        "write the tier tag that selections match, 20 assets a call",
    ),
    p(
        "tag:UntagResources",
        "remove the tier tag from a store no longer backed up",
    ),
    p(
        "s3:PutBucketTagging",
        "what tag:TagResources needs for S3 buckets",
    ),
    p(
        "s3:GetBucketTagging",
        "what tag:TagResources needs for S3 buckets",
    ),
    p(
        "rds:AddTagsToResource",
        "what tag:TagResources needs for RDS",
    ),
    p(
        "rds:RemoveTagsFromResource",
        "what tag:UntagResources needs for RDS",
    ),
    p(
        "dynamodb:TagResource",
        "what tag:TagResources needs for DynamoDB",
    ),
    p(
        "dynamodb:UntagResource",
        "what tag:UntagResources needs for DynamoDB",
    ),
    p("ec2:CreateTags", "what tag:TagResources needs for EBS"),
    p("ec2:DeleteTags", "what tag:UntagResources needs for EBS"),
    p(
        "elasticfilesystem:TagResource",
        "what tag:TagResources needs for EFS",
    ),
    p(
        "elasticfilesystem:UntagResource",
        "what tag:UntagResources needs for EFS",
    ),
    p(
        "dynamodb:DescribeContinuousBackups",
        "read a table's PITR state",
    ),
    p("dynamodb:UpdateContinuousBackups", "switch PITR on"),
    p("s3:GetBucketVersioning", "read a bucket's versioning state"),
    p("s3:PutBucketVersioning", "switch versioning on"),
    p(
        "rds:DescribeDBInstances",
        "read instances' backup retention, in bulk",
    ),
    p(
        "rds:DescribeDBClusters",
        "read clusters' backup retention, in bulk",
    ),
    p(
        "rds:ModifyDBInstance",
        "raise an instance's backup retention",
    ),
    p("rds:ModifyDBCluster", "raise a cluster's backup retention"),
];

/// The Tagging API takes at most 20 ARNs a call.
const TAG_BATCH: usize = 20;

/// Write (or remove) the tier tag, in bulk. Every change's region must have clients.
pub async fn apply_tags(
    clients: &BTreeMap<String, ScopeClients>,
    changes: &[TagChange],
) -> Result<usize, AwsError> {
    let mut by_target: BTreeMap<(String, Option<String>), Vec<String>> = BTreeMap::new();
    for change in changes {
        by_target
            .entry((change.region.clone(), change.tier.clone()))
            .or_default()
            .push(change.arn.clone());
    }
    let mut written = 0;
    for ((region, tier), arns) in by_target {
        let c = clients
            .get(&region)
            .ok_or_else(|| AwsError::Malformed(format!("no clients for region {region}")))?;
        for batch in arns.chunks(TAG_BATCH) {
            let failed = match &tier {
                Some(tier) => c
                    .tagging
                    .tag_resources()
                    .set_resource_arn_list(Some(batch.to_vec()))
                    .tags(TIER_TAG, tier)
                    .send()
                    .await
                    .map_err(|e| AwsError::sdk("tag:TagResources", e))?
                    .failed_resources_map
                    .unwrap_or_default(),
                None => c
                    .tagging
                    .untag_resources()
                    .set_resource_arn_list(Some(batch.to_vec()))
                    .tag_keys(TIER_TAG)
                    .send()
                    .await
                    .map_err(|e| AwsError::sdk("tag:UntagResources", e))?
                    .failed_resources_map
                    .unwrap_or_default(),
            };
            if let Some((arn, info)) = failed.iter().next() {
                return Err(AwsError::Service {
                    operation: "tag:TagResources",
                    code: info
                        .error_code()
                        .map(|c| c.as_str().to_string())
                        .unwrap_or_default(),
                    message: format!("{arn}: {}", info.error_message().unwrap_or_default()),
                    retryable: info.status_code() >= 500,
                });
            }
            written += batch.len();
        }
    }
    Ok(written)
}

/// The native protection state of one asset: PITR for a table, versioning for a bucket (a call
/// each), retention for RDS from what discovery recorded.
pub async fn native_state(clients: &ScopeClients, asset: &Asset) -> Result<NativeState, AwsError> {
    let mut state = NativeState::default();
    match asset.kind {
        Kind::Dynamodb => {
            let out = clients
                .dynamodb
                .describe_continuous_backups()
                .table_name(&asset.name)
                .send()
                .await
                .map_err(|e| AwsError::sdk("dynamodb:DescribeContinuousBackups", e))?;
            state.pitr_enabled = Some(
                out.continuous_backups_description()
                    .and_then(|d| d.point_in_time_recovery_description())
                    .and_then(|p| p.point_in_time_recovery_status())
                    .is_some_and(|s| s.as_str() == "ENABLED"),
            );
        }
        Kind::S3 => {
            let out = clients
                .s3
                .get_bucket_versioning()
                .bucket(&asset.name)
                .send()
                .await
                .map_err(|e| AwsError::sdk("s3:GetBucketVersioning", e))?;
            state.versioning_enabled = Some(out.status().is_some_and(|s| s.as_str() == "Enabled"));
        }
        Kind::Rds | Kind::Aurora => {
            state.backup_retention_days = asset.attributes.backup_retention_days
        }
        Kind::Efs | Kind::Ebs => {}
    }
    Ok(state)
}

/// Apply one native protection.
pub async fn apply_native(clients: &ScopeClients, action: &NativeAction) -> Result<(), AwsError> {
    match action {
        NativeAction::EnablePitr { table, .. } => {
            clients
                .dynamodb
                .update_continuous_backups()
                .table_name(table)
                .point_in_time_recovery_specification(
                    aws_sdk_dynamodb::types::PointInTimeRecoverySpecification::builder()
                        .point_in_time_recovery_enabled(true)
                        .build()
                        .map_err(|e| AwsError::Malformed(e.to_string()))?,
                )
                .send()
                .await
                .map_err(|e| AwsError::sdk("dynamodb:UpdateContinuousBackups", e))?;
        }
        NativeAction::EnableVersioning { bucket, .. } => {
            clients
                .s3
                .put_bucket_versioning()
                .bucket(bucket)
                .versioning_configuration(
                    aws_sdk_s3::types::VersioningConfiguration::builder()
                        .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                        .build(),
                )
                .send()
                .await
                .map_err(|e| AwsError::sdk("s3:PutBucketVersioning", e))?;
        }
        NativeAction::SetBackupRetention {
            id,
            cluster: false,
            days,
            immediately,
            ..
        } => {
            clients
                .rds
                .modify_db_instance()
                .db_instance_identifier(id)
                .backup_retention_period(i32::try_from(*days).unwrap_or(35))
                .apply_immediately(*immediately)
                .send()
                .await
                .map_err(|e| AwsError::sdk("rds:ModifyDBInstance", e))?;
        }
        NativeAction::SetBackupRetention {
            id,
            cluster: true,
            days,
            immediately,
            ..
        } => {
            clients
                .rds
                .modify_db_cluster()
                .db_cluster_identifier(id)
                .backup_retention_period(i32::try_from(*days).unwrap_or(35))
                .apply_immediately(*immediately)
                .send()
                .await
                .map_err(|e| AwsError::sdk("rds:ModifyDBCluster", e))?;
        }
    }
    Ok(())
}

/// Every RDS instance's and DB cluster's backup retention in the clients' region, by ARN:
/// the same paged listings discovery makes.
pub async fn rds_retention(clients: &ScopeClients) -> Result<BTreeMap<String, i32>, AwsError> {
    let now = chrono::Utc::now();
    let (instances, clusters) = tokio::join!(
        crate::discovery::list_rds(clients, now),
        crate::discovery::list_clusters(clients, now)
    );
    Ok(instances?
        .into_iter()
        .chain(clusters?)
        .filter_map(|a| {
            // A change waiting for the maintenance window is what the retention will be.
            let attributes = &a.attributes;
            let days = attributes
                .pending_backup_retention_days
                .or(attributes.backup_retention_days)?;
            Some((a.arn.to_string(), days))
        })
        .collect())
}
