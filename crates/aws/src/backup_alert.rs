//! The facts an AWS Backup alert needs beyond its event, and the page itself: which store a
//! recovery point or a restore job is of, and that store's tier from the inventory.
//!
//! A page is never lost to a fact that cannot be read: a recovery point already deleted, or
//! one the caller may not describe, makes the store "unknown" with the reason, an inventory
//! that cannot be read makes the tier so, and the page goes out.

use bulwark_core::backup_alert::{Alert, InInventory, Store};
use bulwark_core::{Region, ResourceArn, Scope};

use crate::permissions::{p, Permission};
use crate::{Aws, AwsError, Inventory};

pub const BACKUP_ALERT: &[Permission] = &[
    p(
        "backup:DescribeRecoveryPoint",
        "name the store of a recovery point someone changed or deleted",
    ),
    p(
        "backup:DescribeRestoreJob",
        "name the store a failed restore job was restoring",
    ),
    p(
        "sns:Publish",
        "page about tampering and failed AWS Backup jobs",
    ),
];

/// What the event says that leads to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lead {
    /// The event names the store (a backup or copy job's `resourceArn`).
    Resource(String),
    /// A recovery point in a vault (a lifecycle change, a deletion).
    RecoveryPoint { vault: String, arn: String },
    /// A restore job (its event names no source).
    RestoreJob(String),
    /// Nothing leads to one store: why.
    Nothing(String),
}

/// The store the lead leads to, in the event's account and region (the home account's), and
/// its tier.
pub async fn store_of(
    aws: &Aws,
    inventory: &Inventory,
    scope: Scope,
    lead: Lead,
) -> Result<Store, AwsError> {
    let backup = aws.home_scope(scope).backup;
    let arn = match lead {
        Lead::Resource(arn) => arn,
        Lead::Nothing(why) => return Ok(Store::Unknown(why)),
        Lead::RecoveryPoint { vault, arn } => {
            match backup
                .describe_recovery_point()
                .backup_vault_name(&vault)
                .recovery_point_arn(&arn)
                .send()
                .await
            {
                Ok(point) => match point.resource_arn() {
                    Some(store) => store.to_string(),
                    None => return Ok(Store::Unknown("the recovery point names no store".into())),
                },
                Err(e) => {
                    let why = AwsError::sdk("backup:DescribeRecoveryPoint", e);
                    return Ok(Store::Unknown(format!(
                        "the recovery point could not be read: {why}"
                    )));
                }
            }
        }
        Lead::RestoreJob(id) => {
            match backup
                .describe_restore_job()
                .restore_job_id(&id)
                .send()
                .await
            {
                Ok(job) => match job.source_resource_arn() {
                    Some(store) => store.to_string(),
                    None => return Ok(Store::Unknown("the restore job names no source".into())),
                },
                Err(e) => {
                    let why = AwsError::sdk("backup:DescribeRestoreJob", e);
                    return Ok(Store::Unknown(format!(
                        "the restore job could not be read: {why}"
                    )));
                }
            }
        }
    };
    let read = match ResourceArn::parse(&arn) {
        Ok(parsed) => inventory.get(&parsed).await,
        Err(_) => Ok(None), // a kind Bulwark does not protect
    };
    let (inventory, tier) = match read {
        Ok(Some(asset)) => (InInventory::Yes, asset.classification.and_then(|c| c.tier)),
        Ok(None) => (InInventory::No, None),
        Err(error) => (InInventory::Unread(error.to_string()), None),
    };
    Ok(Store::Known {
        arn,
        inventory,
        tier,
    })
}

/// Publish the alert to `topic_arn`; the message id.
pub async fn publish(
    aws: &Aws,
    topic_arn: &str,
    alert: &Alert,
) -> Result<Option<String>, AwsError> {
    let region = topic_arn
        .split(':')
        .nth(3)
        .and_then(|r| Region::parse(r).ok());
    let out = aws
        .sns(region.as_ref())
        .publish()
        .topic_arn(topic_arn)
        .subject(&alert.subject)
        .message(&alert.message)
        .send()
        .await
        .map_err(|e| AwsError::sdk("sns:Publish", e))?;
    Ok(out.message_id().map(str::to_string))
}
