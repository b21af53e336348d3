//! A test's middle steps: following the restore job (and tagging the copy the moment it
//! exists), then validating the copy, the customer's hook included.

use bulwark_core::restore::{
    expected_objects, hook_finding, validate_bucket, validate_cluster, validate_database,
    validate_disk, validate_table, Finding, HookFunction, HookRequest, HookStore, EXPIRES_TAG,
    FAILOVER_TAG, RESTORE_TEST_TAG,
};
use bulwark_core::{Config, Kind, Region};
use chrono::Utc;

use super::*;
use crate::clients::Aws;
use crate::error::AwsError;

/// Where the test's restore job is. The moment it has completed, the restored copy is tagged
/// as the test's, with its expiry, so that the sweeper finds it whatever happens next. A
/// restored Aurora cluster is then opened with a temporary instance (rds::open): the test is
/// running until that instance is available.
pub async fn poll(aws: &Aws, config: &Config, test: &Started) -> Result<Progress, AwsError> {
    let clients = clients_in(aws, &test.account, &test.region)?;
    let described = clients
        .backup
        .describe_restore_job()
        .restore_job_id(&test.restore_job_id)
        .send()
        .await
        .map_err(|e| AwsError::sdk("backup:DescribeRestoreJob", e))?;
    match described.status().map(|s| s.as_str()) {
        Some("COMPLETED") => {
            let restored_arn = described
                .created_resource_arn()
                .unwrap_or_default()
                .to_string();
            let restored_id = restored_id(test.kind, &restored_arn, &test.restored_name);
            let mut completed = to_utc(described.completion_date()).unwrap_or_else(Utc::now);
            let expires = config
                .tier(&test.tier)
                .map_or(completed + EXPIRY, |tier| {
                    tier.restore_test.expires(completed)
                })
                .to_rfc3339();
            let name = &test.restored_name;
            let marks: &[(&str, &str)] = match test.purpose {
                Purpose::Test => &[(RESTORE_TEST_TAG, &test.id), (EXPIRES_TAG, &expires)],
                Purpose::Failover => &[(FAILOVER_TAG, &test.id)],
            };
            match test.kind {
                Kind::Ebs | Kind::Efs => {
                    disks::tag(&clients, test.kind, &restored_id, name, marks).await?
                }
                Kind::Rds => rds::tag(&clients, &restored_arn, marks).await?,
                Kind::Aurora => {
                    let class = config
                        .restore_prerequisites(&test.region)
                        .and_then(|p| p.instance_class.as_deref());
                    match rds::open(&clients, &restored_arn, name, class, marks).await? {
                        rds::Opening::Waiting => return Ok(Progress::Running),
                        rds::Opening::Failed(reason) => return Ok(Progress::Failed { reason }),
                        // A cluster can be read only now: its restore, and the RTO, end here.
                        rds::Opening::Open => completed = Utc::now(),
                    }
                }
                _ => contents::tag(&clients, test.kind, &restored_arn, name, marks).await?,
            }
            Ok(Progress::Completed {
                restored_arn,
                restored_id,
                completed,
            })
        }
        Some(status @ ("ABORTED" | "FAILED")) => Ok(Progress::Failed {
            reason: format!(
                "restore job {} {status}: {}",
                test.restore_job_id,
                described.status_message().unwrap_or_default()
            ),
        }),
        _ => Ok(Progress::Running),
    }
}

/// Read the restored copy and its source, and judge the copy.
pub async fn validate(
    aws: &Aws,
    test: &Started,
    restored_arn: &str,
    restored_id: &str,
) -> Result<Validated, AwsError> {
    let source = clients_in(aws, &test.account, &test.source_region)?;
    let restored = clients_in(aws, &test.account, &test.region)?;
    let mut findings = match test.kind {
        Kind::Rds => validate_database(
            &rds::facts(&source, &test.name).await?,
            &rds::facts(&restored, restored_id).await?,
        ),
        Kind::Ebs | Kind::Efs => validate_disk(
            &disks::facts(&source, test.kind, &test.name).await?,
            &disks::facts(&restored, test.kind, restored_id).await?,
        ),
        Kind::Dynamodb => validate_table(
            &contents::table_at_backup(&restored, &test.recovery_point_arn).await?,
            &contents::table(&restored, restored_id).await?,
        ),
        Kind::S3 => {
            let versions = contents::object_versions(&source, &test.name).await?;
            let expected = expected_objects(&versions, test.point_created);
            validate_bucket(&expected, &contents::objects(&restored, restored_id).await?)
        }
        Kind::Aurora => validate_cluster(
            &rds::cluster_facts(&source, &test.name, false).await?,
            &rds::cluster_facts(&restored, restored_id, true).await?,
        ),
    };
    if let Some(hook) = &test.hook {
        findings.push(call_hook(aws, test, hook, restored_arn, restored_id).await);
    }
    Ok(Validated {
        findings,
        validated: Utc::now(),
    })
}

/// Ask the customer's hook about the restored copy. Whatever goes wrong calling it (denied, no
/// such function) is a failed finding, not an error: the copy is still deleted and the test
/// recorded with the reason.
async fn call_hook(
    aws: &Aws,
    test: &Started,
    hook: &HookFunction,
    restored_arn: &str,
    restored_id: &str,
) -> Finding {
    let check = format!("customer hook {hook}");
    let request = HookRequest {
        test_id: test.id.clone(),
        store: HookStore {
            arn: test.arn.clone(),
            kind: test.kind.to_string(),
            id: test.name.clone(),
            region: test.source_region.clone(),
        },
        restored: HookStore {
            arn: restored_arn.to_string(),
            kind: test.kind.to_string(),
            id: restored_id.to_string(),
            region: test.region.clone(),
        },
        recovery_point_arn: test.recovery_point_arn.clone(),
    };
    let payload = match serde_json::to_vec(&request) {
        Ok(payload) => payload,
        Err(e) => return Finding::new(&check, false, e.to_string()),
    };
    let region = hook.region().and_then(|r| Region::parse(r).ok());
    match aws
        .lambda(region.as_ref())
        .invoke()
        .function_name(hook.as_str())
        .payload(aws_smithy_types::Blob::new(payload))
        .send()
        .await
    {
        Ok(out) => hook_finding(
            hook,
            out.payload().map(|p| p.as_ref()).unwrap_or_default(),
            out.function_error(),
        ),
        Err(e) => Finding::new(
            &check,
            false,
            AwsError::sdk("lambda:InvokeFunction", e).to_string(),
        ),
    }
}
