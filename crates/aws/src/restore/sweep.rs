//! The sweeper: every restored copy a restore test left past its expiry (a killed run, a
//! failed deletion), found by name and tag in each region and deleted. Only what is named
//! `bulwark-rt-` (a volume's or file system's `Name` tag) and tagged as a test's is ever
//! touched (core's `restore::swept`). A restored Aurora cluster's temporary instance is named
//! and tagged too: it goes with the instances, then the cluster goes once it is empty.

use std::collections::BTreeMap;

use bulwark_core::restore::{swept, NAME_PREFIX};
use bulwark_core::{Kind, Region, Scope};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::clients::{Aws, ScopeClients};
use crate::error::AwsError;
use crate::permissions::{p, Permission};

pub const SWEEP: &[Permission] = &[
    p("sts:GetCallerIdentity", "the account to sweep"),
    p("dynamodb:ListTables", "find restored tables by name"),
    p(
        "dynamodb:ListTagsOfResource",
        "tell a test's table by its tags",
    ),
    p("dynamodb:DeleteTable", "delete an expired restored table"),
    p("s3:ListAllMyBuckets", "find restored buckets by name"),
    p("s3:GetBucketTagging", "tell a test's bucket by its tags"),
    p(
        "s3:ListBucketVersions",
        "the versions of an expired restored bucket",
    ),
    p("s3:DeleteObjectVersion", "empty an expired restored bucket"),
    p("s3:DeleteBucket", "delete an expired restored bucket"),
    p(
        "rds:DescribeDBInstances",
        "find restored instances by name, with their tags",
    ),
    p(
        "rds:DeleteDBInstance",
        "delete an expired restored instance, or a cluster's temporary instance",
    ),
    p(
        "rds:DescribeDBClusters",
        "find restored clusters by name, with their tags",
    ),
    p("rds:DeleteDBCluster", "delete an expired restored cluster"),
    p(
        "ec2:DescribeVolumes",
        "find restored volumes by their test's tag",
    ),
    p("ec2:DeleteVolume", "delete an expired restored volume"),
    p(
        "elasticfilesystem:DescribeFileSystems",
        "find restored file systems by their tags",
    ),
    p(
        "elasticfilesystem:DeleteFileSystem",
        "delete an expired restored file system",
    ),
];

/// What a sweep did: the copies it deleted, and those it could not, with why.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepReport {
    pub deleted: Vec<String>,
    pub failed: Vec<(String, String)>,
}

/// Sweep the account's `regions` as of `now`. A region that cannot be swept (it does not
/// answer, a listing is refused) is reported among the failures, and the others are swept.
pub async fn sweep(
    aws: &Aws,
    scopes: &[Scope],
    now: DateTime<Utc>,
) -> Result<SweepReport, AwsError> {
    let mut report = SweepReport::default();
    // A member account's scopes are reached through the organization role.
    let mut first_of_account: Vec<ScopeClients> = Vec::new();
    for scope in scopes {
        let clients = match aws.store_scope(scope.clone()).await {
            Ok(clients) => clients,
            Err(e) => {
                report
                    .failed
                    .push((format!("the sweep of {scope}"), e.to_string()));
                continue;
            }
        };
        if let Err(e) = sweep_region(&clients, now, &mut report).await {
            report
                .failed
                .push((format!("the sweep of {scope}"), e.to_string()));
        }
        if !first_of_account
            .iter()
            .any(|c| c.scope.account == scope.account)
        {
            first_of_account.push(clients);
        }
    }
    // Bucket names are global: each account's are listed once, each in its own region.
    for clients in &first_of_account {
        match restored_buckets(clients).await {
            Ok(buckets) => {
                for (name, region) in buckets {
                    let in_region = aws.sibling(clients, &region);
                    let deleted = match bucket_tags(&in_region, &name).await {
                        Ok(tags) if !swept(&name, &tags, now) => continue,
                        Ok(_) => crate::restore::delete(&in_region, Kind::S3, &name).await,
                        Err(e) => Err(e),
                    };
                    record(&mut report, format!("bucket {name}"), deleted);
                }
            }
            Err(e) => report.failed.push((
                format!("the sweep of {}'s restored buckets", clients.scope.account),
                e.to_string(),
            )),
        }
    }
    Ok(report)
}

/// One region's expired tables, instances, clusters, volumes and file systems, deleted.
async fn sweep_region(
    clients: &ScopeClients,
    now: DateTime<Utc>,
    report: &mut SweepReport,
) -> Result<(), AwsError> {
    let region = &clients.scope.region;
    for name in expired_tables(clients, now).await? {
        let deleted = crate::restore::delete(clients, Kind::Dynamodb, &name).await;
        record(report, format!("table {name} in {region}"), deleted);
    }
    for id in expired_instances(clients, now).await? {
        let deleted = crate::restore::delete(clients, Kind::Rds, &id).await;
        record(report, format!("DB instance {id} in {region}"), deleted);
    }
    // After the instances: a cluster is deleted once its temporary instance is.
    for id in expired_clusters(clients, now).await? {
        let deleted = crate::restore::delete(clients, Kind::Aurora, &id).await;
        record(report, format!("DB cluster {id} in {region}"), deleted);
    }
    for (kind, id) in expired_disks(clients, now).await? {
        let deleted = crate::restore::delete(clients, kind, &id).await;
        record(report, format!("{kind} {id} in {region}"), deleted);
    }
    Ok(())
}

fn record(report: &mut SweepReport, what: String, result: Result<(), AwsError>) {
    match result {
        Ok(()) => report.deleted.push(what),
        Err(e) => report.failed.push((what, e.to_string())),
    }
}

async fn expired_tables(
    clients: &ScopeClients,
    now: DateTime<Utc>,
) -> Result<Vec<String>, AwsError> {
    let names: Vec<String> = clients
        .dynamodb
        .list_tables()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::sdk("dynamodb:ListTables", e))?;
    let region = clients.scope.region.as_str();
    let account = clients.scope.account.as_str();
    let partition = clients.scope.region.partition();
    let mut expired = Vec::new();
    for name in names.into_iter().filter(|n| n.starts_with(NAME_PREFIX)) {
        let tags: BTreeMap<String, String> = clients
            .dynamodb
            .list_tags_of_resource()
            .resource_arn(format!(
                "arn:{partition}:dynamodb:{region}:{account}:table/{name}"
            ))
            .send()
            .await
            .map_err(|e| AwsError::sdk("dynamodb:ListTagsOfResource", e))?
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        if swept(&name, &tags, now) {
            expired.push(name);
        }
    }
    Ok(expired)
}

/// Whether an RDS instance or cluster named `id`, tagged `tags`, in `status`, is to be
/// deleted: one already being deleted is not (RDS refuses to delete it twice).
fn expired_rds(
    id: &str,
    tags: &[aws_sdk_rds::types::Tag],
    status: Option<&str>,
    now: DateTime<Utc>,
) -> bool {
    let tags: BTreeMap<String, String> = tags
        .iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
        .collect();
    status != Some("deleting") && swept(id, &tags, now)
}

async fn expired_instances(
    clients: &ScopeClients,
    now: DateTime<Utc>,
) -> Result<Vec<String>, AwsError> {
    Ok(crate::discovery::db_instances(clients)
        .await?
        .iter()
        .filter_map(|db| {
            let id = db.db_instance_identifier()?;
            expired_rds(id, db.tag_list(), db.db_instance_status(), now).then(|| id.to_string())
        })
        .collect())
}

async fn expired_clusters(
    clients: &ScopeClients,
    now: DateTime<Utc>,
) -> Result<Vec<String>, AwsError> {
    Ok(crate::discovery::db_clusters(clients)
        .await?
        .iter()
        .filter_map(|cluster| {
            let id = cluster.db_cluster_identifier()?;
            expired_rds(id, cluster.tag_list(), cluster.status(), now).then(|| id.to_string())
        })
        .collect())
}

/// Volumes and file systems whose `Name` tag and test's tags say they are expired copies.
async fn expired_disks(
    clients: &ScopeClients,
    now: DateTime<Utc>,
) -> Result<Vec<(Kind, String)>, AwsError> {
    let tagged = aws_sdk_ec2::types::Filter::builder()
        .name("tag-key")
        .values(bulwark_core::restore::RESTORE_TEST_TAG)
        .build();
    let volumes: Vec<_> = clients
        .ec2
        .describe_volumes()
        .filters(tagged)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::sdk("ec2:DescribeVolumes", e))?;
    let mut expired = Vec::new();
    for volume in volumes {
        let tags: BTreeMap<String, String> = volume
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
            .collect();
        let name = tags.get("Name").cloned().unwrap_or_default();
        if let (true, Some(id)) = (swept(&name, &tags, now), volume.volume_id()) {
            expired.push((Kind::Ebs, id.to_string()));
        }
    }
    for fs in crate::discovery::file_systems(clients).await? {
        let tags: BTreeMap<String, String> = fs
            .tags()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect();
        let name = tags.get("Name").cloned().unwrap_or_default();
        if swept(&name, &tags, now) {
            expired.push((Kind::Efs, fs.file_system_id().to_string()));
        }
    }
    Ok(expired)
}

async fn restored_buckets(clients: &ScopeClients) -> Result<Vec<(String, Region)>, AwsError> {
    let listed = clients
        .s3
        .list_buckets()
        .send()
        .await
        .map_err(|e| AwsError::sdk("s3:ListBuckets", e))?;
    Ok(listed
        .buckets()
        .iter()
        .filter_map(|b| {
            let name = b.name()?;
            let region = b
                .bucket_region()
                .and_then(|r| Region::parse(r).ok())
                .unwrap_or_else(|| clients.scope.region.clone());
            name.starts_with(NAME_PREFIX)
                .then(|| (name.to_string(), region))
        })
        .collect())
}

async fn bucket_tags(
    clients: &ScopeClients,
    name: &str,
) -> Result<BTreeMap<String, String>, AwsError> {
    match clients.s3.get_bucket_tagging().bucket(name).send().await {
        Ok(out) => Ok(out
            .tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect()),
        // A bucket without tags answers NoSuchTagSet: it is no test's.
        Err(e)
            if e.as_service_error()
                .and_then(|s| aws_sdk_s3::error::ProvideErrorMetadata::code(s))
                == Some("NoSuchTagSet") =>
        {
            Ok(BTreeMap::new())
        }
        Err(e) => Err(AwsError::sdk("s3:GetBucketTagging", e)),
    }
}
