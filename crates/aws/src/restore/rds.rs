//! Restore tests of RDS instances: the facts of an instance, the test's tags on the restored
//! one, and its deletion (no final snapshot: it is a copy).

use bulwark_core::restore::{DatabaseFacts, EXPIRES_TAG, RESTORE_TEST_TAG};

use crate::clients::ScopeClients;
use crate::error::AwsError;
use crate::permissions::{p, Permission};

pub const RESTORE_TEST_RDS: &[Permission] = &[
    p(
        "rds:DescribeDBInstances",
        "the source and the restored instance",
    ),
    p(
        "rds:AddTagsToResource",
        "mark the restored instance as a test's",
    ),
    p("rds:DeleteDBInstance", "delete the restored instance"),
];

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

pub async fn tag(
    clients: &ScopeClients,
    arn: &str,
    test: &str,
    expires: &str,
) -> Result<(), AwsError> {
    clients
        .rds
        .add_tags_to_resource()
        .resource_name(arn)
        .tags(
            aws_sdk_rds::types::Tag::builder()
                .key(RESTORE_TEST_TAG)
                .value(test)
                .build(),
        )
        .tags(
            aws_sdk_rds::types::Tag::builder()
                .key(EXPIRES_TAG)
                .value(expires)
                .build(),
        )
        .send()
        .await
        .map_err(|e| AwsError::sdk("rds:AddTagsToResource", e))?;
    Ok(())
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
