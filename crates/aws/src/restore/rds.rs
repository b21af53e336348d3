//! Restore tests of RDS instances and Aurora clusters: the facts of each, the test's tags on
//! the restored one, the temporary instance that opens a restored cluster, and their deletion
//! (no final snapshot: they are copies).

use bulwark_core::restore::{
    cannot_open, serving_instance_name, temporary_instance_class, temporary_instance_name,
    ClusterFacts, DatabaseFacts,
};

use super::Marks;
use crate::clients::ScopeClients;
use crate::error::{is_not_found, AwsError};
use crate::permissions::{p, Permission};

pub const RESTORE_TEST_RDS: &[Permission] = &[
    p(
        "rds:DescribeDBInstances",
        "the source and the restored instance, and a restored cluster's instance",
    ),
    p(
        "rds:DescribeDBClusters",
        "the source and the restored cluster",
    ),
    p(
        "rds:AddTagsToResource",
        "mark the restored instance or cluster, and a cluster's temporary instance, as a test's",
    ),
    p(
        "rds:CreateDBInstance",
        "the temporary instance that opens a restored Aurora cluster",
    ),
    p(
        "rds:DeleteDBInstance",
        "delete the restored instance, or a restored cluster's temporary instance",
    ),
    p("rds:DeleteDBCluster", "delete the restored cluster"),
];

const INSTANCE_NOT_FOUND: &[&str] = &["DBInstanceNotFound", "DBInstanceNotFoundFault"];

pub async fn facts(clients: &ScopeClients, id: &str) -> Result<DatabaseFacts, AwsError> {
    let out = clients
        .rds
        .describe_db_instances()
        .db_instance_identifier(id)
        .send()
        .await
        .map_err(|e| AwsError::sdk("rds:DescribeDBInstances", e))?;
    let db = out
        .db_instances()
        .first()
        .ok_or_else(|| AwsError::Malformed(format!("no DB instance {id}")))?;
    Ok(DatabaseFacts {
        status: db.db_instance_status().unwrap_or_default().to_string(),
        engine: db.engine().unwrap_or_default().to_string(),
        engine_version: db.engine_version().unwrap_or_default().to_string(),
        allocated_storage_gib: db.allocated_storage().unwrap_or(0),
        encrypted: db.storage_encrypted().unwrap_or(false),
    })
}

async fn cluster(
    clients: &ScopeClients,
    id: &str,
) -> Result<aws_sdk_rds::types::DbCluster, AwsError> {
    clients
        .rds
        .describe_db_clusters()
        .db_cluster_identifier(id)
        .send()
        .await
        .map_err(|e| AwsError::sdk("rds:DescribeDBClusters", e))?
        .db_clusters()
        .first()
        .cloned()
        .ok_or_else(|| AwsError::Malformed(format!("no DB cluster {id}")))
}

/// The facts of a cluster; with `instances`, its instances' statuses too (one more call, for
/// the restored cluster: the source's instances say nothing of the copy).
pub async fn cluster_facts(
    clients: &ScopeClients,
    id: &str,
    instances: bool,
) -> Result<ClusterFacts, AwsError> {
    let described = cluster(clients, id).await?;
    let members = if instances {
        let in_cluster = aws_sdk_rds::types::Filter::builder()
            .name("db-cluster-id")
            .values(id)
            .build();
        let listed: Vec<_> = clients
            .rds
            .describe_db_instances()
            .filters(in_cluster)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| AwsError::sdk("rds:DescribeDBInstances", e))?;
        listed
            .iter()
            .filter_map(|db| {
                Some((
                    db.db_instance_identifier()?.to_string(),
                    db.db_instance_status().unwrap_or_default().to_string(),
                ))
            })
            .collect()
    } else {
        Vec::new()
    };
    Ok(ClusterFacts {
        status: described.status().unwrap_or_default().to_string(),
        engine: described.engine().unwrap_or_default().to_string(),
        engine_version: described.engine_version().unwrap_or_default().to_string(),
        encrypted: described.storage_encrypted().unwrap_or(false),
        kms_key_id: described.kms_key_id().map(str::to_string),
        instances: members,
    })
}

fn rds_tags(marks: Marks<'_>) -> Vec<aws_sdk_rds::types::Tag> {
    marks
        .iter()
        .map(|(key, value)| {
            aws_sdk_rds::types::Tag::builder()
                .key(*key)
                .value(*value)
                .build()
        })
        .collect()
}

/// Tag a restored instance or cluster (by its ARN) with `marks`.
pub async fn tag(clients: &ScopeClients, arn: &str, marks: Marks<'_>) -> Result<(), AwsError> {
    clients
        .rds
        .add_tags_to_resource()
        .resource_name(arn)
        .set_tags(Some(rds_tags(marks)))
        .send()
        .await
        .map_err(|e| AwsError::sdk("rds:AddTagsToResource", e))?;
    Ok(())
}

/// How far a restored cluster is from being readable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opening {
    /// The cluster or its temporary instance is still being made.
    Waiting,
    /// Its temporary instance is available: the cluster can be read.
    Open,
    /// It never will be: why.
    Failed(String),
}

/// What a restored cluster is opened with: its instances' class (None: the engine's default),
/// how many, and their parameter group.
#[derive(Debug, Clone, Copy)]
pub struct Serving<'a> {
    pub class: Option<&'a str>,
    pub instances: usize,
    pub parameter_group: Option<&'a str>,
}

/// Open the restored cluster `name` (its ARN `arn`): a cluster restores without instances, so
/// a test adds one of its own, `<name>-i`, and a failover the ones its plan says (`-i`, `-i2`,
/// …), tagged as the test's or the run's; it is open once they are all available. Every step
/// may be retried: the instances are looked for first, and the cluster is tagged before any is
/// created, so whatever dies half-way, the sweeper can find them.
pub async fn open(
    clients: &ScopeClients,
    arn: &str,
    name: &str,
    serving: Serving<'_>,
    marks: Marks<'_>,
) -> Result<Opening, AwsError> {
    let mut missing = Vec::new();
    let mut waiting = false;
    for n in 1..=serving.instances.max(1) {
        let instance = serving_instance_name(name, n);
        match clients
            .rds
            .describe_db_instances()
            .db_instance_identifier(&instance)
            .send()
            .await
        {
            Ok(out) => {
                let status = out
                    .db_instances()
                    .first()
                    .and_then(|db| db.db_instance_status())
                    .unwrap_or_default();
                match status {
                    "available" => {}
                    failed if cannot_open(failed) => {
                        return Ok(Opening::Failed(format!(
                            "the instance {instance} is {failed}"
                        )))
                    }
                    _ => waiting = true,
                }
            }
            Err(e) if is_not_found(&e, INSTANCE_NOT_FOUND) => missing.push(instance),
            Err(e) => return Err(AwsError::sdk("rds:DescribeDBInstances", e)),
        }
    }
    if missing.is_empty() {
        return Ok(if waiting {
            Opening::Waiting
        } else {
            Opening::Open
        });
    }
    tag(clients, arn, marks).await?;
    let restored = cluster(clients, name).await?;
    let status = restored.status().unwrap_or_default();
    if cannot_open(status) {
        return Ok(Opening::Failed(format!(
            "the restored cluster {name} is {status}"
        )));
    }
    // RDS adds instances only to an available cluster.
    if status != "available" {
        return Ok(Opening::Waiting);
    }
    let engine = restored.engine().unwrap_or_default();
    let serverless_v2 = restored.serverless_v2_scaling_configuration().is_some();
    let Some(class) = temporary_instance_class(engine, serverless_v2, serving.class) else {
        return Ok(Opening::Failed(format!(
            "{name} is a {engine} cluster, not an Aurora one: it takes no added instance"
        )));
    };
    for instance in missing {
        let created = clients
            .rds
            .create_db_instance()
            .db_instance_identifier(&instance)
            .db_cluster_identifier(name)
            .engine(engine)
            .db_instance_class(&class)
            .set_db_parameter_group_name(serving.parameter_group.map(str::to_string))
            .publicly_accessible(false)
            .set_tags(Some(rds_tags(marks)))
            .send()
            .await
            .map_err(|e| AwsError::sdk("rds:CreateDBInstance", e));
        match created {
            // A retried step whose first try created it.
            Err(e)
                if e.code()
                    .is_some_and(|c| c.starts_with("DBInstanceAlreadyExists")) => {}
            other => {
                other?;
            }
        }
    }
    Ok(Opening::Waiting)
}

pub async fn delete(clients: &ScopeClients, id: &str) -> Result<(), AwsError> {
    clients
        .rds
        .delete_db_instance()
        .db_instance_identifier(id)
        .skip_final_snapshot(true)
        .delete_automated_backups(true)
        .send()
        .await
        .map_err(|e| AwsError::sdk("rds:DeleteDBInstance", e))?;
    Ok(())
}

/// Delete a restored cluster: its temporary instance first (RDS refuses to delete a cluster
/// with an instance that is not being deleted), then the cluster. An instance already gone or
/// already being deleted is passed over; if the cluster still has an instance RDS will not let
/// go of, its deletion fails and says so, and the sweeper tries again later.
pub async fn delete_cluster(clients: &ScopeClients, id: &str) -> Result<(), AwsError> {
    match delete(clients, &temporary_instance_name(id)).await {
        Err(e)
            if e.code().is_some_and(|c| {
                INSTANCE_NOT_FOUND.contains(&c) || c == "InvalidDBInstanceState"
            }) => {}
        other => other?,
    }
    clients
        .rds
        .delete_db_cluster()
        .db_cluster_identifier(id)
        .skip_final_snapshot(true)
        .send()
        .await
        .map_err(|e| AwsError::sdk("rds:DeleteDBCluster", e))?;
    Ok(())
}
