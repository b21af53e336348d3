//! Putting assets under their tier: the tier tag (Tagging API, 20 ARNs a call) and the
//! native protections a tier demands (DynamoDB PITR, S3 versioning, RDS retention).

use std::collections::{BTreeMap, HashMap};

use aws_sdk_s3::types::{
    ExpirationStatus, LifecycleRule, LifecycleRuleFilter, NoncurrentVersionExpiration,
    NoncurrentVersionTransition, TransitionStorageClass,
};
use bulwark_core::protection::{NativeAction, NativeState, TagChange, TIER_TAG};
use bulwark_core::taxonomy::{NoncurrentTransition, NoncurrentVersions, NONCURRENT_RULE_ID};
use bulwark_core::{Asset, Kind};

use crate::clients::ScopeClients;
use crate::error::AwsError;
use crate::permissions::{p, Permission};
use crate::s3_replica;

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
        "s3:GetLifecycleConfiguration",
        "read a bucket's lifecycle: Bulwark's rule for noncurrent versions, and the owner's to keep",
    ),
    p(
        "s3:PutLifecycleConfiguration",
        "put Bulwark's rule for noncurrent versions beside the owner's rules",
    ),
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

/// Apply one native protection with the clients of the store's region (`clients`); a bucket's
/// replica takes its DR region's from `regions`.
pub async fn apply_native(
    regions: &HashMap<String, ScopeClients>,
    clients: &ScopeClients,
    action: &NativeAction,
) -> Result<(), AwsError> {
    match action {
        NativeAction::ReplicateBucket {
            arn,
            bucket,
            replica,
            replica_region,
            role_arn,
            ..
        } => {
            let dr = regions.get(replica_region).ok_or_else(|| {
                AwsError::Malformed(format!("no clients for region {replica_region}"))
            })?;
            s3_replica::replicate(clients, dr, arn, bucket, replica, role_arn).await?;
        }
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
        NativeAction::PutNoncurrentRule { bucket, rule, .. } => {
            put_noncurrent_rule(clients, bucket, rule).await?;
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

/// A bucket's lifecycle rules; none when it has no lifecycle configuration.
async fn lifecycle_rules(
    clients: &ScopeClients,
    bucket: &str,
) -> Result<
    (
        Vec<LifecycleRule>,
        Option<aws_sdk_s3::types::TransitionDefaultMinimumObjectSize>,
    ),
    AwsError,
> {
    match clients
        .s3
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(out) => Ok((
            out.rules().to_vec(),
            out.transition_default_minimum_object_size().cloned(),
        )),
        Err(e)
            if e.as_service_error().and_then(|s| s.meta().code())
                == Some("NoSuchLifecycleConfiguration") =>
        {
            Ok((Vec::new(), None))
        }
        Err(e) => Err(AwsError::sdk("s3:GetLifecycleConfiguration", e)),
    }
}

/// Bulwark's rule for noncurrent versions as the bucket has it: None when it has none (or has
/// it disabled, which is not what any tier asks for).
pub async fn noncurrent_rule(
    clients: &ScopeClients,
    bucket: &str,
) -> Result<Option<NoncurrentVersions>, AwsError> {
    let (rules, _) = lifecycle_rules(clients, bucket).await?;
    Ok(rules
        .iter()
        .find(|r| r.id() == Some(NONCURRENT_RULE_ID))
        .filter(|r| r.status() == &ExpirationStatus::Enabled)
        .map(|r| NoncurrentVersions {
            transition: r
                .noncurrent_version_transitions()
                .first()
                .map(|t| NoncurrentTransition {
                    after_days: t
                        .noncurrent_days()
                        .and_then(|d| u32::try_from(d).ok())
                        .unwrap_or_default(),
                    storage_class: t
                        .storage_class()
                        .map(|c| c.as_str().to_string())
                        .unwrap_or_default(),
                }),
            expire_after_days: r
                .noncurrent_version_expiration()
                .and_then(|e| e.noncurrent_days())
                .and_then(|d| u32::try_from(d).ok()),
        }))
}

/// Put Bulwark's rule in place of the one the bucket has, its other rules as they are now: read
/// again just before, so that a rule its owner changed since the facts were read is not lost.
async fn put_noncurrent_rule(
    clients: &ScopeClients,
    bucket: &str,
    rule: &NoncurrentVersions,
) -> Result<(), AwsError> {
    let (mut rules, minimum_size) = lifecycle_rules(clients, bucket).await?;
    rules.retain(|r| r.id() != Some(NONCURRENT_RULE_ID));
    let days = |d: u32| i32::try_from(d).unwrap_or(i32::MAX);
    let ours = LifecycleRule::builder()
        .id(NONCURRENT_RULE_ID)
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("").build())
        .set_noncurrent_version_transitions(rule.transition.as_ref().map(|t| {
            vec![NoncurrentVersionTransition::builder()
                .noncurrent_days(days(t.after_days))
                .storage_class(TransitionStorageClass::from(t.storage_class.as_str()))
                .build()]
        }))
        .set_noncurrent_version_expiration(rule.expire_after_days.map(|d| {
            NoncurrentVersionExpiration::builder()
                .noncurrent_days(days(d))
                .build()
        }))
        .build()
        .map_err(|e| AwsError::Malformed(e.to_string()))?;
    rules.push(ours);
    let configuration = aws_sdk_s3::types::BucketLifecycleConfiguration::builder()
        .set_rules(Some(rules))
        .build()
        .map_err(|e| AwsError::Malformed(e.to_string()))?;
    clients
        .s3
        .put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(configuration)
        .set_transition_default_minimum_object_size(minimum_size)
        .send()
        .await
        .map_err(|e| AwsError::sdk("s3:PutLifecycleConfiguration", e))?;
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
