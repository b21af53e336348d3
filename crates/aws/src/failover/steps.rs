//! A failover run's steps, each on one store or one switch, each safe to run again: a
//! restore started with an idempotency token from the run, the store and the copy (a retry
//! starts no second restore); a poll that tags the restored store as the run's; a validation
//! with the restore tests' validators; a switch whose previous value is recorded before it is
//! written; a verification; a revert. Each reads nothing of the run but what it is given, and
//! writes back only its own part of the record.

use std::collections::BTreeMap;

use bulwark_core::application::{Attribute, SwitchTarget};
use bulwark_core::failover::{Restored, Run, StoreRun, SwitchRun, STORE_RESTORE_DEADLINE};
use bulwark_core::{AccountId, Config, Kind};
use chrono::Utc;

use super::lock::Fence;
use super::record;
use super::switches;
use crate::clients::{Aws, ScopeClients};
use crate::error::AwsError;
use crate::idempotency;
use crate::permissions::{p, Permission};
use crate::restore::{
    clients_in, poll, start_restore, validate, Origin, Point, Progress, Purpose, Site, Started,
};
use crate::store::Inventory;

pub const FAILOVER_STEPS: &[Permission] = &[
    p(
        "backup:GetRecoveryPointRestoreMetadata",
        "what restoring a copy needs",
    ),
    p(
        "backup:StartRestoreJob",
        "restore a copy under its bulwark-fo- name",
    ),
    p("backup:DescribeRestoreJob", "follow a restore"),
    p("iam:PassRole", "the restore role AWS Backup restores with"),
    p("dynamodb:TagResource", "mark a restored table as the run's"),
    p("s3:PutBucketTagging", "mark a restored bucket as the run's"),
    p("dynamodb:DescribeTable", "a restored table, and its source"),
    p(
        "dynamodb:Scan",
        "count a restored table's items and its source's, and sample the restored one's",
    ),
    p(
        "dynamodb:BatchGetItem",
        "look a restored table's sampled items up in its source",
    ),
    p(
        "s3:ListBucketVersions",
        "the source's objects as they were at the copy's point",
    ),
    p(
        "s3:GetEncryptionConfiguration",
        "whether a source bucket's ETags are MD5s (not under SSE-KMS)",
    ),
    p(
        "s3:GetLifecycleConfiguration",
        "whether a source bucket's lifecycle rules expire versions",
    ),
    p("s3:ListBucket", "the restored bucket's objects"),
    p(
        "rds:DescribeDBInstances",
        "a restored instance's endpoint, and its source",
    ),
    p(
        "rds:DescribeDBClusters",
        "a restored cluster's endpoints, and its source",
    ),
    p(
        "rds:AddTagsToResource",
        "mark a restored instance or cluster as the run's",
    ),
    p(
        "rds:CreateDBInstance",
        "the instance a restored Aurora cluster serves from",
    ),
    p("ec2:DescribeVolumes", "a restored volume, and its source"),
    p(
        "ec2:CreateTags",
        "mark a restored volume as the run's (and name it)",
    ),
    p(
        "elasticfilesystem:DescribeFileSystems",
        "a restored file system, and its source",
    ),
    p(
        "elasticfilesystem:TagResource",
        "mark a restored file system as the run's (and name it)",
    ),
];

/// Store `index` of `run` as a started restore, the shape the restore tests' steps take.
fn started(
    run: &Run,
    index: usize,
    account: &AccountId,
    job_id: &str,
) -> Result<Started, AwsError> {
    let plan = &run.plan.stores[index];
    let copy = plan.copy.as_ref().ok_or_else(|| {
        AwsError::Refused(format!("{}: the plan has no copy to restore", plan.arn))
    })?;
    let store = &run.stores[index];
    let restore_started = store.restore_started.unwrap_or(run.requested_at);
    Ok(Started {
        id: run.id.to_string(),
        arn: plan.arn.to_string(),
        kind: plan.arn.kind,
        name: plan.arn.id.clone(),
        tier: plan.tier.clone().unwrap_or_default(),
        account: plan
            .arn
            .account
            .as_ref()
            .unwrap_or(account)
            .as_str()
            .to_string(),
        source_region: run.plan.primary_region.to_string(),
        region: run.plan.dr_region.to_string(),
        origin: if in_place(run) {
            Origin::Home
        } else {
            Origin::Dr
        },
        recovery_point_arn: copy.recovery_point_arn.clone(),
        vault: copy.vault.clone(),
        point_created: copy.created,
        restorable_to: None,
        restored_name: plan.restored_name.clone(),
        restore_job_id: job_id.to_string(),
        started: run.requested_at,
        restore_started,
        deadline: Some(restore_started + STORE_RESTORE_DEADLINE),
        hook: None,
        size_bytes: None,
        instance_class: None,
        serving: plan.serving.clone(),
        carried_tags: plan.tags.clone(),
        judge_alone: run.plan.recover_before.is_some(),
        // A deleted source has nothing to compare with: it is judged alone, as one whose
        // region the engineer declared down.
        source_declared_down: run.primary_down || plan.source_gone_at.is_some(),
        purpose: Purpose::Failover,
    })
}

/// Whether `run` restores in its stores' own region (a recovery in place), not into another.
fn in_place(run: &Run) -> bool {
    run.plan.dr_region == run.plan.primary_region
}

/// Start store `index`'s restore from its planned copy, with its planned metadata. A store
/// whose restore started already is left as it is.
pub async fn restore(
    aws: &Aws,
    inventory: &Inventory,
    fence: &Fence,
    config: &Config,
    run: &Run,
    index: usize,
    account: &AccountId,
) -> Result<StoreRun, AwsError> {
    let mut store = run.stores[index].clone();
    if store.restore_job_id.is_some() {
        return Ok(store);
    }
    let plan = &run.plan.stores[index];
    let subject = plan.arn.to_string();
    let planned = started(run, index, account, "")?;
    let clients = clients_in(aws, &planned.account, &planned.region).await?;
    let token = idempotency::token(
        40,
        "failover",
        &(&run.id, &subject, &planned.recovery_point_arn),
    )?;
    let role = config
        .protection()
        .restore_role_arn(run.plan.dr_region.partition(), &planned.account);
    let overrides: Vec<(&str, String)> = plan
        .restore_metadata
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    let copy = plan.copy.as_ref();
    let point = Point {
        arn: &planned.recovery_point_arn,
        vault: &planned.vault,
        encryption_key: copy.and_then(|c| c.encryption_key_arn.as_deref()),
    };
    let site = Site {
        kind: plan.arn.kind,
        cross_region: !in_place(run),
        prerequisites: config.restore_prerequisites(run.plan.dr_region.as_str()),
    };
    let started_at = Utc::now();
    match start_restore(&clients, point, site, &overrides, &role, &token).await {
        Ok(job) => {
            store.restore_job_id = Some(job.clone());
            store.restore_started = Some(started_at);
            record::put_store(inventory, fence, index, &store).await?;
            record::log(
                inventory,
                &run.id,
                "restore",
                &subject,
                format!(
                    "started restore job {job} of {}",
                    planned.recovery_point_arn
                ),
            )
            .await?;
        }
        Err(e) if e.is_retryable() => return Err(e),
        Err(e) => {
            store.failure = Some(e.to_string());
            record::put_store(inventory, fence, index, &store).await?;
            record::log(
                inventory,
                &run.id,
                "restore",
                &subject,
                format!("failed: {e}"),
            )
            .await?;
        }
    }
    Ok(store)
}

/// Ask after store `index`'s restore; once it completed, the restored store is tagged as the
/// run's (an Aurora cluster also gets the instance it serves from) and its endpoints read.
/// Whether it is still running.
pub async fn poll_restore(
    aws: &Aws,
    inventory: &Inventory,
    fence: &Fence,
    config: &Config,
    run: &Run,
    index: usize,
    account: &AccountId,
) -> Result<StoreRun, AwsError> {
    let mut store = run.stores[index].clone();
    let (Some(job), None) = (store.restore_job_id.clone(), &store.restored) else {
        return Ok(store);
    };
    let subject = run.plan.stores[index].arn.to_string();
    let started = started(run, index, account, &job)?;
    let failure = match poll(aws, config, &started).await? {
        Progress::Running => return Ok(store),
        Progress::Completed {
            restored_arn,
            restored_id,
            completed,
        } => {
            let clients = clients_in(aws, &started.account, &started.region).await?;
            let attributes = attributes(&clients, started.kind, &restored_id).await?;
            record::log(
                inventory,
                &run.id,
                "restored",
                &subject,
                format!("{restored_arn} ({restored_id})"),
            )
            .await?;
            store.restored = Some(Restored {
                arn: restored_arn,
                id: restored_id,
                completed,
                attributes,
            });
            None
        }
        Progress::Failed { reason } => Some(reason),
        Progress::Overdue { deadline } => Some(format!(
            "restore job {job} did not complete by {}: left running",
            deadline.to_rfc3339()
        )),
    };
    if let Some(reason) = failure {
        record::log(
            inventory,
            &run.id,
            "restored",
            &subject,
            format!("failed: {reason}"),
        )
        .await?;
        store.failure = Some(reason);
    }
    record::put_store(inventory, fence, index, &store).await?;
    Ok(store)
}

/// Validate restored store `index` with the restore tests' validators, against its source.
pub async fn validate_restored(
    aws: &Aws,
    inventory: &Inventory,
    fence: &Fence,
    run: &Run,
    index: usize,
    account: &AccountId,
) -> Result<StoreRun, AwsError> {
    let mut store = run.stores[index].clone();
    let (Some(job), Some(restored), None) = (
        store.restore_job_id.clone(),
        store.restored.clone(),
        store.validated,
    ) else {
        return Ok(store);
    };
    let subject = run.plan.stores[index].arn.to_string();
    let started = started(run, index, account, &job)?;
    match validate(aws, &started, &restored.arn, &restored.id).await {
        Ok(validated) => {
            let failed: Vec<String> = validated
                .findings
                .iter()
                .filter(|f| !f.passed)
                .map(|f| format!("{}: {}", f.check, f.detail))
                .collect();
            let outcome = if failed.is_empty() {
                format!("passed {} checks", validated.findings.len())
            } else {
                format!("failed: {}", failed.join("; "))
            };
            store.findings = validated.findings;
            store.validated = Some(validated.validated);
            record::log(inventory, &run.id, "validate", &subject, outcome).await?;
        }
        Err(e) if e.is_retryable() => return Err(e),
        Err(e) => {
            store.failure = Some(format!("validation could not run: {e}"));
            record::log(
                inventory,
                &run.id,
                "validate",
                &subject,
                format!("failed: {e}"),
            )
            .await?;
        }
    }
    record::put_store(inventory, fence, index, &store).await?;
    Ok(store)
}

/// The restored store's endpoint, reader endpoint and port, where its kind has them.
async fn attributes(
    clients: &ScopeClients,
    kind: Kind,
    id: &str,
) -> Result<BTreeMap<Attribute, String>, AwsError> {
    let mut attributes = BTreeMap::new();
    match kind {
        Kind::Rds => {
            let out = clients
                .rds
                .describe_db_instances()
                .db_instance_identifier(id)
                .send()
                .await
                .map_err(|e| AwsError::sdk("rds:DescribeDBInstances", e))?;
            if let Some(endpoint) = out.db_instances().first().and_then(|db| db.endpoint()) {
                if let Some(address) = endpoint.address() {
                    attributes.insert(Attribute::Endpoint, address.to_string());
                }
                if let Some(port) = endpoint.port() {
                    attributes.insert(Attribute::Port, port.to_string());
                }
            }
        }
        Kind::Aurora => {
            let out = clients
                .rds
                .describe_db_clusters()
                .db_cluster_identifier(id)
                .send()
                .await
                .map_err(|e| AwsError::sdk("rds:DescribeDBClusters", e))?;
            if let Some(cluster) = out.db_clusters().first() {
                if let Some(endpoint) = cluster.endpoint() {
                    attributes.insert(Attribute::Endpoint, endpoint.to_string());
                }
                if let Some(reader) = cluster.reader_endpoint() {
                    attributes.insert(Attribute::ReaderEndpoint, reader.to_string());
                }
                if let Some(port) = cluster.port() {
                    attributes.insert(Attribute::Port, port.to_string());
                }
            }
        }
        // The mount target DNS name EFS documents: <file-system-id>.efs.<region>.amazonaws.com.
        Kind::Efs => {
            attributes.insert(
                Attribute::Endpoint,
                format!(
                    "{id}.efs.{}.{}",
                    clients.scope.region,
                    clients.scope.region.dns_suffix()
                ),
            );
        }
        Kind::S3 | Kind::Dynamodb | Kind::Ebs => {}
    }
    Ok(attributes)
}

/// Write switch `index` with `value`, what it held before recorded first, whole.
pub async fn switch(
    aws: &Aws,
    inventory: &Inventory,
    fence: &Fence,
    run: &Run,
    index: usize,
    value: &str,
) -> Result<SwitchRun, AwsError> {
    let plan = &run.plan.switches[index];
    let subject = plan.target.to_string();
    let mut state = run.switches[index].clone();
    if state.previous.is_none() {
        let read = switches::read(aws, &plan.target).await?;
        if let switches::Read::Unrestorable { reason, .. } = &read {
            // The plan blocks such a target; this one changed since it was planned.
            state.failure = Some(format!("not switched: {reason}"));
            record::log(
                inventory,
                &run.id,
                "switch",
                &subject,
                format!("refused: {reason}"),
            )
            .await?;
            record::put_switch(inventory, fence, index, &state).await?;
            return Ok(state);
        }
        state.previous = Some(read.shown());
        state.before = match read {
            switches::Read::Holds(snapshot) => Some(snapshot),
            _ => None,
        };
        state.value = Some(value.to_string());
        record::put_switch(inventory, fence, index, &state).await?;
    }
    match switches::write(aws, &plan.target, value, plan.ttl, state.before.as_ref()).await {
        Ok(written) => {
            if let switches::Written::Record { change_id } = written {
                state.change_id = Some(change_id);
            }
            state.written = Some(Utc::now());
            let previous = state.previous.clone().flatten();
            record::log(
                inventory,
                &run.id,
                "switch",
                &subject,
                format!("{} -> {value}", previous.as_deref().unwrap_or("(none)")),
            )
            .await?;
        }
        Err(e) if e.is_retryable() => return Err(e),
        Err(e) => {
            state.failure = Some(e.to_string());
            record::log(
                inventory,
                &run.id,
                "switch",
                &subject,
                format!("refused: {e}"),
            )
            .await?;
        }
    }
    record::put_switch(inventory, fence, index, &state).await?;
    Ok(state)
}

/// Ask whether switch `index` took: a record's change is INSYNC and the record answers the
/// value, a parameter reads back. Still pending: unchanged.
pub async fn verify(
    aws: &Aws,
    inventory: &Inventory,
    fence: &Fence,
    run: &Run,
    index: usize,
) -> Result<SwitchRun, AwsError> {
    let plan = &run.plan.switches[index];
    let mut state = run.switches[index].clone();
    let value = state.value.clone().unwrap_or_default();
    let written = match (&state.change_id, &plan.target) {
        (Some(change_id), _) => switches::Written::Record {
            change_id: change_id.clone(),
        },
        (None, SwitchTarget::RoutingControl { .. }) => switches::Written::RoutingControl,
        (None, _) => switches::Written::Parameter,
    };
    let outcome = match switches::verify(aws, &plan.target, &written, &value).await? {
        switches::Verified::Pending => return Ok(state),
        switches::Verified::Answers => {
            state.verified = Some(Utc::now());
            format!("answers {value}")
        }
        switches::Verified::ReadsBack(now) => {
            let reason = format!(
                "reads back {}, not {value}",
                now.as_deref().unwrap_or("(nothing)")
            );
            state.failure = Some(reason.clone());
            reason
        }
    };
    record::log(
        inventory,
        &run.id,
        "verify",
        &plan.target.to_string(),
        outcome,
    )
    .await?;
    record::put_switch(inventory, fence, index, &state).await?;
    Ok(state)
}

/// Put switch `index` back as it was before the run may have written it, exactly as recorded
/// (a record or parameter that did not exist is deleted). What it holds now is read first: a
/// switch whose write was never made, or was already put back, is left as it is.
pub async fn revert(
    aws: &Aws,
    inventory: &Inventory,
    fence: &Fence,
    run: &Run,
    index: usize,
) -> Result<SwitchRun, AwsError> {
    let plan = &run.plan.switches[index];
    let mut state = run.switches[index].clone();
    let previous = state.previous.clone().flatten();
    let now = switches::read(aws, &plan.target).await?;
    let shown_now = now.shown();
    let left = match (&state.before, &now) {
        (Some(before), switches::Read::Holds(now)) => before.unchanged_in(now),
        (None, switches::Read::Absent) => previous.is_none(),
        _ => false,
    };
    let outcome = if left {
        format!(
            "{} already: left as it is",
            previous.as_deref().unwrap_or("(none)")
        )
    } else {
        match (&state.before, &previous, &now) {
            (Some(before), _, _) => switches::restore(aws, &plan.target, before).await?,
            // Recorded before snapshots were (a run begun by an older version): its value.
            (None, Some(value), _) => {
                switches::write(aws, &plan.target, value, plan.ttl, None).await?;
            }
            (None, None, switches::Read::Holds(now)) => {
                switches::remove(aws, &plan.target, now).await?
            }
            (None, None, _) => {}
        }
        format!(
            "{} -> {}",
            shown_now.as_deref().unwrap_or("(none)"),
            previous.as_deref().unwrap_or("(removed)")
        )
    };
    state.reverted = Some(Utc::now());
    record::log(
        inventory,
        &run.id,
        "revert",
        &plan.target.to_string(),
        outcome,
    )
    .await?;
    record::put_switch(inventory, fence, index, &state).await?;
    Ok(state)
}
