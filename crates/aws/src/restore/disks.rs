//! Restore tests of EBS volumes and EFS file systems: their facts, the tags that mark a
//! restored copy as a test's (a `Name` of `bulwark-rt-<id>` besides the test's tags), and their
//! deletion. Their restored copies are named by the ids AWS gives them.

use bulwark_core::restore::DiskFacts;

use super::Marks;
use bulwark_core::Kind;

use crate::clients::ScopeClients;
use crate::error::AwsError;
use crate::permissions::{p, Permission};

pub const RESTORE_TEST_DISKS: &[Permission] = &[
    p("ec2:DescribeVolumes", "the source and the restored volume"),
    p("ec2:CreateTags", "mark the restored volume as a test's"),
    p("ec2:DeleteVolume", "delete the restored volume"),
    p(
        "elasticfilesystem:DescribeFileSystems",
        "the source and the restored file system",
    ),
    p(
        "elasticfilesystem:TagResource",
        "mark the restored file system as a test's",
    ),
    p(
        "elasticfilesystem:DeleteFileSystem",
        "delete the restored file system",
    ),
];

/// The facts of a volume (`Kind::Ebs`) or file system (`Kind::Efs`) by its id.
pub async fn facts(clients: &ScopeClients, kind: Kind, id: &str) -> Result<DiskFacts, AwsError> {
    if kind == Kind::Ebs {
        let out = clients
            .ec2
            .describe_volumes()
            .volume_ids(id)
            .send()
            .await
            .map_err(|e| AwsError::sdk("ec2:DescribeVolumes", e))?;
        let v = out
            .volumes()
            .first()
            .ok_or_else(|| AwsError::Malformed(format!("no volume {id}")))?;
        return Ok(DiskFacts {
            state: v
                .state()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            encrypted: v.encrypted().unwrap_or(false),
            kms_key_id: v.kms_key_id().map(str::to_string),
            size_gib: v.size(),
            performance: v.volume_type().map(|t| t.as_str().to_string()),
        });
    }
    let out = clients
        .efs
        .describe_file_systems()
        .file_system_id(id)
        .send()
        .await
        .map_err(|e| AwsError::sdk("elasticfilesystem:DescribeFileSystems", e))?;
    let fs = out
        .file_systems()
        .first()
        .ok_or_else(|| AwsError::Malformed(format!("no file system {id}")))?;
    Ok(DiskFacts {
        state: fs.life_cycle_state().as_str().to_string(),
        encrypted: fs.encrypted().unwrap_or(false),
        kms_key_id: fs.kms_key_id().map(str::to_string),
        size_gib: None,
        performance: Some(fs.performance_mode().as_str().to_string()),
    })
}

/// Tag a restored volume or file system with its `Name` and `marks`.
pub async fn tag(
    clients: &ScopeClients,
    kind: Kind,
    id: &str,
    name: &str,
    marks: Marks<'_>,
) -> Result<(), AwsError> {
    let pairs: Vec<(&str, &str)> = std::iter::once(("Name", name))
        .chain(marks.iter().copied())
        .collect();
    if kind == Kind::Ebs {
        clients
            .ec2
            .create_tags()
            .resources(id)
            .set_tags(Some(
                pairs
                    .iter()
                    .map(|(k, v)| aws_sdk_ec2::types::Tag::builder().key(*k).value(*v).build())
                    .collect(),
            ))
            .send()
            .await
            .map_err(|e| AwsError::sdk("ec2:CreateTags", e))?;
        return Ok(());
    }
    let tags = pairs
        .iter()
        .map(|(k, v)| {
            aws_sdk_efs::types::Tag::builder()
                .key(*k)
                .value(*v)
                .build()
                .map_err(|e| AwsError::Malformed(e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    clients
        .efs
        .tag_resource()
        .resource_id(id)
        .set_tags(Some(tags))
        .send()
        .await
        .map_err(|e| AwsError::sdk("elasticfilesystem:TagResource", e))?;
    Ok(())
}

pub async fn delete(clients: &ScopeClients, kind: Kind, id: &str) -> Result<(), AwsError> {
    if kind == Kind::Ebs {
        clients
            .ec2
            .delete_volume()
            .volume_id(id)
            .send()
            .await
            .map_err(|e| AwsError::sdk("ec2:DeleteVolume", e))?;
        return Ok(());
    }
    clients
        .efs
        .delete_file_system()
        .file_system_id(id)
        .send()
        .await
        .map_err(|e| AwsError::sdk("elasticfilesystem:DeleteFileSystem", e))?;
    Ok(())
}
