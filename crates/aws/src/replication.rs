//! A store's replication outside AWS Backup, read for the report: an S3 bucket's replication
//! rules (GetBucketReplication) and a DynamoDB table's global-table replicas (DescribeTable).
//! RDS and Aurora come with discovery's listings. A store whose replication cannot be read is
//! left unread (logged), never a failed report.

use std::collections::BTreeMap;

use bulwark_core::replication::{Replication, S3ReplicationRule};
use bulwark_core::{Asset, Kind};
use futures::stream::{self, StreamExt};

use crate::clients::ScopeClients;
use crate::error::AwsError;
use crate::permissions::{p, Permission};

pub const REPLICATION: &[Permission] = &[
    p(
        "s3:GetReplicationConfiguration",
        "report a bucket's replication rules",
    ),
    p(
        "dynamodb:DescribeTable",
        "report a table's global-table replicas",
    ),
];

/// Reads at once, per region.
const CONCURRENCY: usize = 16;

/// The replication of each S3 bucket and DynamoDB table of `stores`, by ARN.
pub async fn read(clients: &ScopeClients, stores: &[&Asset]) -> BTreeMap<String, Replication> {
    let read: Vec<Option<(String, Replication)>> = stream::iter(stores.iter().copied())
        .filter(|a| std::future::ready(matches!(a.kind, Kind::S3 | Kind::Dynamodb)))
        .map(|asset| async move {
            let read = match asset.kind {
                Kind::S3 => bucket(clients, &asset.name).await,
                _ => table(clients, &asset.name).await,
            };
            match read {
                Ok(replication) => Some((asset.arn.to_string(), replication)),
                Err(error) => {
                    tracing::warn!(store = %asset.arn, %error, "replication not read");
                    None
                }
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    read.into_iter().flatten().collect()
}

async fn bucket(clients: &ScopeClients, name: &str) -> Result<Replication, AwsError> {
    let configuration = crate::s3_replica::configuration(clients, name).await?;
    let rules = configuration
        .as_ref()
        .map(|c| c.rules())
        .unwrap_or_default()
        .iter()
        .filter(|r| r.status().as_str() == "Enabled")
        .filter_map(|r| {
            let destination = r.destination()?;
            Some(S3ReplicationRule {
                destination: destination.bucket().to_string(),
                time_control: destination
                    .replication_time()
                    .is_some_and(|t| t.status().as_str() == "Enabled"),
                metrics: destination
                    .metrics()
                    .is_some_and(|m| m.status().as_str() == "Enabled"),
            })
        })
        .collect();
    Ok(Replication {
        s3_rules: rules,
        ..Replication::default()
    })
}

async fn table(clients: &ScopeClients, name: &str) -> Result<Replication, AwsError> {
    let out = clients
        .dynamodb
        .describe_table()
        .table_name(name)
        .send()
        .await
        .map_err(|e| AwsError::sdk("dynamodb:DescribeTable", e))?;
    let mut regions: Vec<String> = out
        .table()
        .map(|t| t.replicas())
        .unwrap_or_default()
        .iter()
        .filter_map(|r| r.region_name().map(str::to_string))
        .filter(|r| r.as_str() != clients.scope.region.as_str())
        .collect();
    regions.sort();
    Ok(Replication {
        replica_regions: regions,
        ..Replication::default()
    })
}
