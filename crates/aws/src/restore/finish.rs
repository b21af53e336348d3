//! A test's last step: the copy deleted whatever happened, the test measured and returned;
//! and the deletion of a restored copy of each kind, which the sweepers share.

use bulwark_core::restore::{self, Timing};
use bulwark_core::{Config, Kind};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::*;
use crate::clients::{Aws, ScopeClients};
use crate::error::AwsError;
use crate::idempotency;

/// Everything known about a test when it ends, whichever step it reached.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ending {
    /// The store, for a test that failed before its restore started.
    pub arn: Option<String>,
    pub origin: Origin,
    pub started: Option<Started>,
    pub progress: Option<Progress>,
    pub validated: Option<Validated>,
    /// Why a step failed.
    pub error: Option<String>,
}

/// End a test: delete its restored copy (a copy already gone counts as deleted, so a retried
/// finish is harmless) and return the test, measured against its tier when it got that far.
pub async fn finish(
    aws: &Aws,
    config: &Config,
    ending: Ending,
    now: DateTime<Utc>,
) -> Result<RestoreTest, AwsError> {
    let Ending {
        arn,
        origin,
        started,
        progress,
        validated,
        error,
    } = ending;
    let Some(test) = started else {
        let arn = arn.ok_or_else(|| {
            AwsError::RestoreTest("a test's ending names neither its test nor its store".into())
        })?;
        let error = error.unwrap_or_else(|| "the test did not start".into());
        return not_started(arn, origin, error, now);
    };
    let restored = match &progress {
        Some(Progress::Completed {
            restored_id,
            completed,
            ..
        }) => Some((restored_id.clone(), *completed)),
        _ => None,
    };
    // A restored Aurora cluster exists, tagged, while its instance is made, before the test
    // calls it restored: it is deleted by its name whatever the progress says.
    let copy = match (&restored, test.kind) {
        (Some((id, _)), _) => Some(id.clone()),
        (None, Kind::Aurora) => Some(test.restored_name.clone()),
        (None, _) => None,
    };
    let cleanup = match &copy {
        Some(id) => delete_if_present(aws, &test, id).await,
        None => Ok(()),
    };
    // The restore in flight is forgotten, with the test's record (history::record), once its
    // copy is gone or it never made one; a restore whose end is unknown stays remembered, for
    // the sweeper (a cluster not found by its name may still be on its way).
    let completed = matches!(progress, Some(Progress::Completed { .. }));
    let copy_gone = cleanup.is_ok() && completed;
    let restore_settled = copy_gone || matches!(progress, Some(Progress::Failed { .. }));
    let error = error.or_else(|| match &progress {
        Some(Progress::Failed { reason }) => Some(reason.clone()),
        Some(Progress::Overdue { deadline }) => Some(format!(
            "restore job {} did not complete by its deadline, {}: left running, for the \
             sweeper to delete what it makes",
            test.restore_job_id,
            deadline.to_rfc3339()
        )),
        Some(Progress::Running) | None => Some("the restore did not complete".into()),
        Some(Progress::Completed { .. }) if validated.is_none() => {
            Some("the restored copy was not validated".into())
        }
        Some(Progress::Completed { .. }) => None,
    });
    let timing = match (&restored, &validated) {
        (Some((_, completed)), Some(v)) => Some(Timing {
            started: test.started,
            restore_started: test.restore_started,
            restore_completed: *completed,
            validated: v.validated,
            point_created: test.point_created,
            restorable_to: test.restorable_to,
        }),
        _ => None,
    };
    let measured = timing.as_ref().and_then(|timing| {
        config
            .tier(&test.tier)
            .map(|tier| restore::measure(tier, timing))
    });
    let findings = validated.map(|v| v.findings).unwrap_or_default();
    let passed = error.is_none()
        && cleanup.is_ok()
        && measured.is_some_and(|m| restore::passed(&findings, &m));
    // The copy lived from its restore's start until now (its deletion), or, left for the
    // sweeper, until it expires.
    let cost = copy.is_some().then(|| {
        let until = match (&cleanup, &restored) {
            (Err(_), Some((_, completed))) => config
                .tier(&test.tier)
                .map_or(now, |tier| tier.restore_test.expires(*completed).max(now)),
            _ => now,
        };
        let hours = (until - test.restore_started).num_seconds().max(0) as f64 / 3600.0;
        restore::test_cost(
            test.kind,
            test.size_bytes,
            test.instance_class.as_deref(),
            hours,
            config.restore_test_prices(),
        )
    });
    Ok(RestoreTest {
        id: test.id,
        arn: test.arn,
        tier: Some(test.tier),
        origin: test.origin,
        region: Some(test.region),
        recovery_point_arn: Some(test.recovery_point_arn),
        vault: Some(test.vault),
        restored_name: Some(test.restored_name),
        started: test.started,
        ended: now,
        timing,
        measured,
        findings,
        error,
        passed,
        cleaned_up: cleanup.is_ok(),
        cleanup_error: cleanup.err().map(|e| e.to_string()),
        cost,
        restore_settled,
    })
}

/// A test of the store `arn` that did not start, with the reason.
pub(super) fn not_started(
    arn: String,
    origin: Origin,
    error: String,
    now: DateTime<Utc>,
) -> Result<RestoreTest, AwsError> {
    let id = idempotency::token(40, "restore-test-not-started", &(&arn, origin, now))?;
    Ok(RestoreTest {
        id,
        arn,
        tier: None,
        origin,
        region: None,
        recovery_point_arn: None,
        vault: None,
        restored_name: None,
        started: now,
        ended: now,
        timing: None,
        measured: None,
        findings: Vec::new(),
        error: Some(error),
        passed: false,
        cleaned_up: true,
        cleanup_error: None,
        cost: None,
        restore_settled: false,
    })
}

/// Delete a test's restored copy unless it is already gone.
async fn delete_if_present(aws: &Aws, test: &Started, id: &str) -> Result<(), AwsError> {
    let clients = clients_in(aws, &test.account, &test.region).await?;
    delete_present(&clients, test.kind, id).await
}

/// Delete a restored copy; one already gone counts as deleted.
pub(crate) async fn delete_present(
    clients: &ScopeClients,
    kind: Kind,
    id: &str,
) -> Result<(), AwsError> {
    match delete(clients, kind, id).await {
        Err(e) if e.code().is_some_and(is_not_found) => Ok(()),
        other => other,
    }
}

/// What deletes a restored copy: tables, buckets, instances and clusters are restored under
/// the test's name; volumes and file systems get ids, the last part of their ARN.
pub(crate) fn restored_id(kind: Kind, restored_arn: &str, restored_name: &str) -> String {
    match kind {
        Kind::Ebs | Kind::Efs => restored_arn
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string(),
        _ => restored_name.to_string(),
    }
}

/// The codes each kind answers for a resource that does not exist.
pub(super) fn is_not_found(code: &str) -> bool {
    matches!(
        code,
        "ResourceNotFoundException"
            | "NoSuchBucket"
            | "DBInstanceNotFound"
            | "DBInstanceNotFoundFault"
            | "DBClusterNotFoundFault"
            | "InvalidVolume.NotFound"
            | "FileSystemNotFound"
    )
}

/// Delete a test's restored copy (by name, or by id for a volume or file system): a bucket is
/// emptied first, a cluster's temporary instance deleted first.
pub(crate) async fn delete(clients: &ScopeClients, kind: Kind, name: &str) -> Result<(), AwsError> {
    match kind {
        Kind::Ebs | Kind::Efs => disks::delete(clients, kind, name).await?,
        Kind::Rds => rds::delete(clients, name).await?,
        Kind::Aurora => rds::delete_cluster(clients, name).await?,
        Kind::Dynamodb => {
            clients
                .dynamodb
                .delete_table()
                .table_name(name)
                .send()
                .await
                .map_err(|e| AwsError::sdk("dynamodb:DeleteTable", e))?;
        }
        Kind::S3 => {
            contents::empty(clients, name).await?;
            clients
                .s3
                .delete_bucket()
                .bucket(name)
                .send()
                .await
                .map_err(|e| AwsError::sdk("s3:DeleteBucket", e))?;
        }
    }
    Ok(())
}
