//! A tier's buckets replicated to their DR region (`s3_replication`): the replica bucket made
//! there (versioned, encrypted, private, tagged with the bucket it replicates) and Bulwark's
//! replication rule put beside the bucket's other rules. The decision is core's
//! (`protection::native_actions`, `replication_refusal`); this reads the configuration and acts.

use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
    DeleteMarkerReplication, DeleteMarkerReplicationStatus, Destination, Metrics, MetricsStatus,
    PublicAccessBlockConfiguration, ReplicationConfiguration, ReplicationRule,
    ReplicationRuleFilter, ReplicationRuleStatus, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    Tag, Tagging, VersioningConfiguration,
};
use bulwark_core::arn::partition_of;
use bulwark_core::protection::MANAGED_TAG;
use bulwark_core::replication::{BucketReplication, REPLICA_OF_TAG, S3_REPLICATION_RULE_ID};

use crate::clients::ScopeClients;
use crate::error::AwsError;
use crate::permissions::{p, Permission};

pub const S3_REPLICA: &[Permission] = &[
    p(
        "s3:GetReplicationConfiguration",
        "read a bucket's replication: Bulwark's rule to the DR region, and the owner's to keep",
    ),
    p(
        "s3:PutReplicationConfiguration",
        "put Bulwark's replication rule beside the bucket's other rules",
    ),
    p(
        "iam:PassRole",
        "hand S3 the replication role it replicates a bucket as",
    ),
    p(
        "s3:CreateBucket",
        "make a bucket's replica in the DR region",
    ),
    p(
        "s3:PutBucketVersioning",
        "version the replica bucket, as S3 replication requires",
    ),
    p(
        "s3:PutEncryptionConfiguration",
        "encrypt the replica bucket by default",
    ),
    p(
        "s3:PutBucketPublicAccessBlock",
        "keep the replica bucket private",
    ),
    p(
        "s3:PutBucketTagging",
        "tag the replica bucket with the bucket it replicates",
    ),
];

/// A bucket's replication configuration; None when it has none.
pub(crate) async fn configuration(
    clients: &ScopeClients,
    bucket: &str,
) -> Result<Option<ReplicationConfiguration>, AwsError> {
    match clients
        .s3
        .get_bucket_replication()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(out) => Ok(out.replication_configuration().cloned()),
        Err(e)
            if e.as_service_error().and_then(|s| s.meta().code())
                == Some("ReplicationConfigurationNotFoundError") =>
        {
            Ok(None)
        }
        Err(e) => Err(AwsError::sdk("s3:GetReplicationConfiguration", e)),
    }
}

/// A bucket's replication configuration as core decides on it; the default (no role, no
/// rules) when it has none.
pub async fn read(clients: &ScopeClients, bucket: &str) -> Result<BucketReplication, AwsError> {
    let Some(configuration) = configuration(clients, bucket).await? else {
        return Ok(BucketReplication::default());
    };
    let mut read = BucketReplication {
        role: Some(configuration.role().to_string()),
        ..BucketReplication::default()
    };
    for rule in configuration.rules() {
        if rule.id() == Some(S3_REPLICATION_RULE_ID) {
            if rule.status() == &ReplicationRuleStatus::Enabled {
                read.ours = rule.destination().map(|d| d.bucket().to_string());
            }
        } else {
            read.others
                .push(rule.id().unwrap_or("(a rule without an ID)").to_string());
        }
    }
    Ok(read)
}

/// Make `replica` in the DR region (`dr`'s) and put Bulwark's rule on `bucket` (`primary`'s).
/// The configuration is read again just before it is written: a rule its owner added since the
/// facts were read is kept, and an owner's role that appeared meanwhile stops it.
pub async fn replicate(
    primary: &ScopeClients,
    dr: &ScopeClients,
    source_arn: &str,
    bucket: &str,
    replica: &str,
    role_arn: &str,
) -> Result<(), AwsError> {
    make_replica(dr, source_arn, replica).await?;
    let current = configuration(primary, bucket).await?;
    let mut rules: Vec<ReplicationRule> = current
        .as_ref()
        .map(|c| c.rules().to_vec())
        .unwrap_or_default();
    rules.retain(|r| r.id() != Some(S3_REPLICATION_RULE_ID));
    if let Some(role) = current.as_ref().map(ReplicationConfiguration::role) {
        if role != role_arn && !rules.is_empty() {
            return Err(AwsError::Refused(format!(
                "bucket {bucket} now replicates as {role}: Bulwark does not replace its owner's \
                 replication configuration"
            )));
        }
    }
    let priority = rules
        .iter()
        .filter_map(ReplicationRule::priority)
        .max()
        .unwrap_or(0)
        + 1;
    let destination = format!(
        "arn:{}:s3:::{replica}",
        partition_of(dr.scope.region.as_str())
    );
    let ours = ReplicationRule::builder()
        .id(S3_REPLICATION_RULE_ID)
        .priority(priority)
        .status(ReplicationRuleStatus::Enabled)
        .filter(ReplicationRuleFilter::builder().prefix("").build())
        // A delete marker is not carried over: an object deleted at home stays readable in the
        // replica, which is what a DR copy is for.
        .delete_marker_replication(
            DeleteMarkerReplication::builder()
                .status(DeleteMarkerReplicationStatus::Disabled)
                .build(),
        )
        .destination(
            Destination::builder()
                .bucket(destination)
                .metrics(
                    Metrics::builder()
                        .status(MetricsStatus::Enabled)
                        .build()
                        .map_err(|e| AwsError::Malformed(e.to_string()))?,
                )
                .build()
                .map_err(|e| AwsError::Malformed(e.to_string()))?,
        )
        .build()
        .map_err(|e| AwsError::Malformed(e.to_string()))?;
    rules.push(ours);
    let configuration = ReplicationConfiguration::builder()
        .role(role_arn)
        .set_rules(Some(rules))
        .build()
        .map_err(|e| AwsError::Malformed(e.to_string()))?;
    primary
        .s3
        .put_bucket_replication()
        .bucket(bucket)
        .replication_configuration(configuration)
        .send()
        .await
        .map_err(|e| AwsError::sdk("s3:PutReplicationConfiguration", e))?;
    Ok(())
}

/// The replica bucket, made or found: a bucket of that name this account owns is taken as the
/// one an earlier run made (the name is derived from the source's); one another account owns
/// is an error. Versioning, default encryption, the public access block and the tags are put
/// each time: each call is idempotent.
async fn make_replica(dr: &ScopeClients, source_arn: &str, replica: &str) -> Result<(), AwsError> {
    let region = dr.scope.region.as_str();
    let mut create = dr.s3.create_bucket().bucket(replica);
    if region != "us-east-1" {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region))
                .build(),
        );
    }
    match create.send().await {
        Ok(_) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_bucket_already_owned_by_you()) => {}
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_bucket_already_exists()) =>
        {
            return Err(AwsError::Refused(format!(
                "the replica bucket name {replica} is another account's: S3 bucket names are \
                 global; rename the source bucket or replicate it yourself"
            )));
        }
        Err(e) => return Err(AwsError::sdk("s3:CreateBucket", e)),
    }
    dr.s3
        .put_bucket_versioning()
        .bucket(replica)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .map_err(|e| AwsError::sdk("s3:PutBucketVersioning", e))?;
    let by_default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::Aes256)
        .build()
        .map_err(|e| AwsError::Malformed(e.to_string()))?;
    dr.s3
        .put_bucket_encryption()
        .bucket(replica)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(
                    ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(by_default)
                        .build(),
                )
                .build()
                .map_err(|e| AwsError::Malformed(e.to_string()))?,
        )
        .send()
        .await
        .map_err(|e| AwsError::sdk("s3:PutEncryptionConfiguration", e))?;
    dr.s3
        .put_public_access_block()
        .bucket(replica)
        .public_access_block_configuration(
            PublicAccessBlockConfiguration::builder()
                .block_public_acls(true)
                .ignore_public_acls(true)
                .block_public_policy(true)
                .restrict_public_buckets(true)
                .build(),
        )
        .send()
        .await
        .map_err(|e| AwsError::sdk("s3:PutBucketPublicAccessBlock", e))?;
    let tag = |key: &str, value: &str| {
        Tag::builder()
            .key(key)
            .value(value)
            .build()
            .map_err(|e| AwsError::Malformed(e.to_string()))
    };
    dr.s3
        .put_bucket_tagging()
        .bucket(replica)
        .tagging(
            Tagging::builder()
                .tag_set(tag(REPLICA_OF_TAG, source_arn)?)
                .tag_set(tag(MANAGED_TAG, "true")?)
                .build()
                .map_err(|e| AwsError::Malformed(e.to_string()))?,
        )
        .send()
        .await
        .map_err(|e| AwsError::sdk("s3:PutBucketTagging", e))?;
    Ok(())
}
