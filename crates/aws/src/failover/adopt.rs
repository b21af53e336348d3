//! The stores an earlier failed or aborted run of the same plan restored, taken by a new run
//! instead of restoring them again (their names are taken: a second restore would fail). Core's
//! `failover::adoptable` picks them from the runs as recorded; this checks each still exists.

use bulwark_core::Kind;

use crate::clients::ScopeClients;
use crate::error::{is_not_found, AwsError};
use crate::permissions::{p, Permission};

pub const ADOPT: &[Permission] = &[
    p(
        "dynamodb:DescribeTable",
        "whether a table an earlier run restored still exists",
    ),
    p(
        "s3:ListBucket",
        "whether a bucket an earlier run restored still exists (HeadBucket)",
    ),
    p(
        "rds:DescribeDBInstances",
        "whether a DB instance an earlier run restored still exists",
    ),
    p(
        "rds:DescribeDBClusters",
        "whether a DB cluster an earlier run restored still exists",
    ),
    p(
        "elasticfilesystem:DescribeFileSystems",
        "whether a file system an earlier run restored still exists",
    ),
    p(
        "ec2:DescribeVolumes",
        "whether a volume an earlier run restored still exists",
    ),
];

/// Whether the store of `kind` named `id` (a table's or bucket's name, an instance's or
/// cluster's identifier, a file system's or volume's id) exists where `clients` reach.
pub async fn still_there(clients: &ScopeClients, kind: Kind, id: &str) -> Result<bool, AwsError> {
    let found = match kind {
        Kind::Dynamodb => match clients
            .dynamodb
            .describe_table()
            .table_name(id)
            .send()
            .await
        {
            Ok(_) => true,
            Err(e) if is_not_found(&e, &["ResourceNotFoundException"]) => false,
            Err(e) => return Err(AwsError::sdk("dynamodb:DescribeTable", e)),
        },
        Kind::S3 => match clients.s3.head_bucket().bucket(id).send().await {
            Ok(_) => true,
            Err(e) if e.as_service_error().is_some_and(|e| e.is_not_found()) => false,
            Err(e) => return Err(AwsError::sdk("s3:ListBucket", e)),
        },
        Kind::Rds => match clients
            .rds
            .describe_db_instances()
            .db_instance_identifier(id)
            .send()
            .await
        {
            Ok(_) => true,
            Err(e) if is_not_found(&e, &["DBInstanceNotFound", "DBInstanceNotFoundFault"]) => false,
            Err(e) => return Err(AwsError::sdk("rds:DescribeDBInstances", e)),
        },
        Kind::Aurora => match clients
            .rds
            .describe_db_clusters()
            .db_cluster_identifier(id)
            .send()
            .await
        {
            Ok(_) => true,
            Err(e) if is_not_found(&e, &["DBClusterNotFoundFault", "DBClusterNotFound"]) => false,
            Err(e) => return Err(AwsError::sdk("rds:DescribeDBClusters", e)),
        },
        Kind::Efs => match clients
            .efs
            .describe_file_systems()
            .file_system_id(id)
            .send()
            .await
        {
            Ok(_) => true,
            Err(e) if is_not_found(&e, &["FileSystemNotFound"]) => false,
            Err(e) => return Err(AwsError::sdk("elasticfilesystem:DescribeFileSystems", e)),
        },
        Kind::Ebs => match clients.ec2.describe_volumes().volume_ids(id).send().await {
            Ok(_) => true,
            Err(e) if is_not_found(&e, &["InvalidVolume.NotFound"]) => false,
            Err(e) => return Err(AwsError::sdk("ec2:DescribeVolumes", e)),
        },
    };
    Ok(found)
}
