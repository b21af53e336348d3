//! Restores in flight, recorded in the state table from just before a restore job starts until
//! its copy is gone (pk `restore-pending`, sk the test's id). A run killed before its copy was
//! tagged (between start and the first poll) leaves a copy the tag-based sweeper cannot see;
//! this record leads the sweeper to it: the restore job names the resource it created. One
//! killed before it learned its job's id leads the sweeper to the job by its recovery point
//! and the name the restore was given.

use bulwark_core::Kind;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::sweep::SweepReport;
use super::{clients_in, delete_present, restored_id, to_utc, Started};
use crate::clients::Aws;
use crate::error::AwsError;
use crate::permissions::{p, Permission};
use crate::store::Inventory;

pub const PENDING: &[Permission] = &[
    p("dynamodb:PutItem", "remember a restore in flight"),
    p("dynamodb:Query", "the restores in flight"),
    p("dynamodb:DeleteItem", "forget a restore whose copy is gone"),
];

/// What a remembered restore made, asked of AWS Backup in the store's account.
pub const PENDING_JOBS: &[Permission] = &[
    p(
        "backup:DescribeRestoreJob",
        "what a forgotten restore created",
    ),
    p(
        "backup:ListRestoreJobs",
        "a forgotten restore whose job's id was never recorded, by its recovery point",
    ),
];

/// The partition key of every restore in flight.
pub const PENDING_KEY: &str = "restore-pending";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Record {
    pk: String,
    sk: String,
    account: String,
    region: String,
    kind: Kind,
    restore_job_id: String,
    restored_name: String,
    /// How long after its restore completed the copy may still be under validation.
    validation_minutes: u64,
    /// The point restored, and when the record was first written: what finds the job of a
    /// restore remembered before its id was known.
    #[serde(default)]
    recovery_point_arn: String,
    #[serde(default)]
    remembered: Option<DateTime<Utc>>,
}

/// Remember a started restore until `forget`.
pub async fn remember(
    inventory: &Inventory,
    test: &Started,
    validation_minutes: u64,
) -> Result<(), AwsError> {
    let record = Record {
        pk: PENDING_KEY.to_string(),
        sk: test.id.clone(),
        account: test.account.clone(),
        region: test.region.clone(),
        kind: test.kind,
        restore_job_id: test.restore_job_id.clone(),
        restored_name: test.restored_name.clone(),
        validation_minutes,
        recovery_point_arn: test.recovery_point_arn.clone(),
        remembered: Some(test.restore_started),
    };
    inventory.put_record(&record).await
}

/// Forget a restore: its copy is gone, or it never made one.
pub async fn forget(inventory: &Inventory, test_id: &str) -> Result<(), AwsError> {
    inventory.delete_record(PENDING_KEY, test_id).await
}

/// The job of a restore remembered before its id was known: among the restore jobs of its
/// recovery point created since, the one whose resource bears its name (a volume's or file
/// system's id says nothing: the first of the point's, as one test restores a point once).
async fn job_of(
    clients: &crate::clients::ScopeClients,
    record: &Record,
) -> Result<Option<String>, AwsError> {
    let since = record
        .remembered
        .map(|at| at - chrono::Duration::minutes(1))
        .and_then(|at| aws_smithy_types::DateTime::from_millis(at.timestamp_millis()).into());
    let jobs: Vec<_> = clients
        .backup
        .list_restore_jobs()
        .set_by_created_after(since)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::sdk("backup:ListRestoreJobs", e))?;
    let of_point: Vec<_> = jobs
        .iter()
        .filter(|j| j.recovery_point_arn() == Some(record.recovery_point_arn.as_str()))
        .collect();
    let named = |j: &&&aws_sdk_backup::types::RestoreJobsListMember| {
        j.created_resource_arn()
            .is_some_and(|arn| arn.ends_with(&record.restored_name))
    };
    let job = match record.kind {
        Kind::Ebs | Kind::Efs => of_point.first(),
        _ => of_point.iter().find(named).or_else(|| {
            // Not yet completed: no resource to name it; the point's only job is it.
            of_point.iter().find(|j| j.created_resource_arn().is_none())
        }),
    };
    Ok(job.and_then(|j| j.restore_job_id()).map(str::to_string))
}

/// Delete what each remembered restore created once its validation window has passed since
/// it completed, and forget it; forget a restore that failed. A restore still running is left.
pub async fn sweep(
    aws: &Aws,
    inventory: &Inventory,
    now: DateTime<Utc>,
) -> Result<SweepReport, AwsError> {
    let mut report = SweepReport::default();
    for item in inventory.partition(PENDING_KEY).await? {
        let mut record: Record =
            serde_dynamo::from_item(item).map_err(|e| AwsError::Malformed(e.to_string()))?;
        let clients = clients_in(aws, &record.account, &record.region).await?;
        if record.restore_job_id.is_empty() {
            match job_of(&clients, &record).await {
                Ok(Some(job)) => record.restore_job_id = job,
                Ok(None) => {
                    let window = chrono::Duration::minutes(
                        i64::try_from(record.validation_minutes).unwrap_or(i64::MAX / 60_000),
                    );
                    // Never started: nothing to delete, once it could no longer be starting.
                    if record.remembered.is_none_or(|at| at + window <= now) {
                        forget(inventory, &record.sk).await?;
                    }
                    continue;
                }
                Err(e) => {
                    report.failed.push((
                        format!(
                            "the restore of {} in {}",
                            record.restored_name, record.region
                        ),
                        e.to_string(),
                    ));
                    continue;
                }
            }
        }
        // A restore whose region does not answer stays remembered, reported; the others go on.
        let job = match clients
            .backup
            .describe_restore_job()
            .restore_job_id(&record.restore_job_id)
            .send()
            .await
        {
            Ok(job) => job,
            Err(e) => {
                report.failed.push((
                    format!("restore job {} in {}", record.restore_job_id, record.region),
                    AwsError::sdk("backup:DescribeRestoreJob", e).to_string(),
                ));
                continue;
            }
        };
        match job.status().map(|s| s.as_str()) {
            Some("COMPLETED") => {
                let completed = to_utc(job.completion_date()).unwrap_or(now);
                let window = chrono::Duration::minutes(
                    i64::try_from(record.validation_minutes).unwrap_or(i64::MAX / 60_000),
                );
                if completed + window > now {
                    continue;
                }
                let created = job.created_resource_arn().unwrap_or_default();
                let id = restored_id(record.kind, created, &record.restored_name);
                let what = format!(
                    "{} {id} in {} (restore job {})",
                    record.kind, record.region, record.restore_job_id
                );
                // A volume or file system is deleted only as a test's, named and tagged so
                // (the template's condition): one its run never tagged is tagged first.
                let deleted = match record.kind {
                    Kind::Ebs | Kind::Efs => {
                        let marks = [(bulwark_core::restore::RESTORE_TEST_TAG, record.sk.as_str())];
                        match super::disks::tag(
                            &clients,
                            record.kind,
                            &id,
                            &record.restored_name,
                            &marks,
                        )
                        .await
                        {
                            Ok(()) => delete_present(&clients, record.kind, &id).await,
                            Err(e) if e.code().is_some_and(super::finish::is_not_found) => Ok(()),
                            Err(e) => Err(e),
                        }
                    }
                    _ => delete_present(&clients, record.kind, &id).await,
                };
                match deleted {
                    Ok(()) => {
                        forget(inventory, &record.sk).await?;
                        report.deleted.push(what);
                    }
                    Err(e) => report.failed.push((what, e.to_string())),
                }
            }
            Some("FAILED" | "ABORTED") => forget(inventory, &record.sk).await?,
            _ => {}
        }
    }
    Ok(report)
}
