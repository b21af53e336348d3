//! One store, looked up after an AWS Config change event: present (with what the listing would
//! have said) or gone.

use std::collections::BTreeMap;

use bulwark_core::{Asset, Kind, ResourceArn};
use chrono::{DateTime, Utc};

use super::mapping;
use crate::clients::ScopeClients;
use crate::error::{is_not_found, AwsError};

/// What a single-resource lookup found.
#[derive(Debug, Clone, PartialEq)]
pub enum Observation {
    Present(Box<Asset>),
    /// The store no longer exists (or, for an Aurora member instance, is not an asset of its own).
    Gone,
    /// The ARN names something Bulwark does not inventory (an Aurora member instance, a
    /// DocumentDB or Neptune resource).
    NotAnAsset,
}

/// Look up the store `arn` names in the scope `clients` cover.
pub async fn observe_one(
    clients: &ScopeClients,
    arn: &ResourceArn,
    now: DateTime<Utc>,
) -> Result<Observation, AwsError> {
    let scope = &clients.scope;
    let id = arn.id.as_str();
    let found = match arn.kind {
        Kind::S3 => {
            let listed = clients
                .s3
                .list_buckets()
                .prefix(id)
                .send()
                .await
                .map_err(|e| AwsError::sdk("s3:ListBuckets", e))?;
            match listed.buckets().iter().find(|b| b.name() == Some(id)) {
                None => None,
                Some(bucket) => {
                    let tags = tags_for(clients, arn).await?;
                    mapping::s3_bucket(bucket, tags, scope, now)
                }
            }
        }
        Kind::Rds => match clients
            .rds
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
        {
            Ok(out) => match out.db_instances().first() {
                Some(db) => match mapping::rds_instance(db, scope, now) {
                    Some(asset) => Some(asset),
                    None => return Ok(Observation::NotAnAsset),
                },
                None => None,
            },
            Err(e) if is_not_found(&e, &["DBInstanceNotFound", "DBInstanceNotFoundFault"]) => None,
            Err(e) => return Err(AwsError::sdk("rds:DescribeDBInstances", e)),
        },
        Kind::Aurora => match clients
            .rds
            .describe_db_clusters()
            .db_cluster_identifier(id)
            .send()
            .await
        {
            Ok(out) => match out.db_clusters().first() {
                Some(cluster) => match mapping::db_cluster(cluster, scope, now) {
                    Some(asset) => Some(asset),
                    None => return Ok(Observation::NotAnAsset),
                },
                None => None,
            },
            Err(e) if is_not_found(&e, &["DBClusterNotFoundFault", "DBClusterNotFound"]) => None,
            Err(e) => return Err(AwsError::sdk("rds:DescribeDBClusters", e)),
        },
        Kind::Dynamodb => match clients
            .dynamodb
            .describe_table()
            .table_name(id)
            .send()
            .await
        {
            Ok(out) => match out.table() {
                Some(table) => {
                    let tags = tags_for(clients, arn).await?;
                    mapping::dynamodb_description(table, tags, scope, now)
                }
                None => None,
            },
            Err(e) if is_not_found(&e, &["ResourceNotFoundException"]) => None,
            Err(e) => return Err(AwsError::sdk("dynamodb:DescribeTable", e)),
        },
        Kind::Efs => match clients
            .efs
            .describe_file_systems()
            .file_system_id(id)
            .send()
            .await
        {
            Ok(out) => out
                .file_systems()
                .first()
                .map(|fs| mapping::efs(fs, scope, now)),
            Err(e) if is_not_found(&e, &["FileSystemNotFound"]) => None,
            Err(e) => return Err(AwsError::sdk("elasticfilesystem:DescribeFileSystems", e)),
        },
        Kind::Ebs => match clients.ec2.describe_volumes().volume_ids(id).send().await {
            Ok(out) => out
                .volumes()
                .first()
                .and_then(|v| mapping::ebs(v, scope, now)),
            Err(e) if is_not_found(&e, &["InvalidVolume.NotFound"]) => None,
            Err(e) => return Err(AwsError::sdk("ec2:DescribeVolumes", e)),
        },
    };
    Ok(match found {
        Some(asset) => Observation::Present(Box::new(asset)),
        None => Observation::Gone,
    })
}

/// tag:GetResources for one ARN: the same bulk call the sweep uses, asked about one resource.
async fn tags_for(
    clients: &ScopeClients,
    arn: &ResourceArn,
) -> Result<BTreeMap<String, String>, AwsError> {
    let out = clients
        .tagging
        .get_resources()
        .resource_arn_list(arn.to_string())
        .send()
        .await
        .map_err(|e| AwsError::sdk("tag:GetResources", e))?;
    Ok(out
        .resource_tag_mapping_list()
        .iter()
        .find(|m| m.resource_arn() == Some(&arn.to_string()))
        .map(|m| mapping::tag_map(m.tags()))
        .unwrap_or_default())
}
