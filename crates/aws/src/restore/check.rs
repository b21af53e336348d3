//! A test's middle steps: following the restore job (and tagging the copy the moment it
//! exists), then validating the copy, the customer's hook included.

use bulwark_core::restore::{
    hook_finding, validate_cluster, validate_database, validate_disk, validate_table, Finding,
    HookFunction, HookRequest, HookStore, EXPIRES_TAG, FAILOVER_TAG, RESTORE_TEST_TAG,
};
use bulwark_core::{Config, Kind, Region};
use chrono::Utc;

use super::*;
use crate::clients::{Aws, ScopeClients};
use crate::error::AwsError;

/// Where the test's restore job is. The moment it has completed, the restored copy is tagged
/// as the test's, with its expiry, so that the sweeper finds it whatever happens next. A
/// restored Aurora cluster is then opened with a temporary instance (rds::open): the test is
/// running until that instance is available.
pub async fn poll(aws: &Aws, config: &Config, test: &Started) -> Result<Progress, AwsError> {
    let clients = clients_in(aws, &test.account, &test.region).await?;
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
            // A failover's store carries its source's tags and tier, marked as the run's in
            // the same request: it carries no tier tag before it (a tier tag first would make
            // it a store that may not be marked).
            let marks: Vec<(&str, &str)> = match test.purpose {
                Purpose::Test => vec![(RESTORE_TEST_TAG, &test.id), (EXPIRES_TAG, &expires)],
                Purpose::Failover => std::iter::once((FAILOVER_TAG, test.id.as_str()))
                    .chain(
                        test.carried_tags
                            .iter()
                            .map(|(k, v)| (k.as_str(), v.as_str())),
                    )
                    .collect(),
            };
            let marks = marks.as_slice();
            match test.kind {
                Kind::Ebs | Kind::Efs => {
                    disks::tag(&clients, test.kind, &restored_id, name, marks).await?
                }
                Kind::Rds => rds::tag(&clients, &restored_arn, marks).await?,
                Kind::Aurora => {
                    // A failover's cluster serves from what its plan says. A test's opens one
                    // instance at its tier's test class, else the region's.
                    let tier_class = match test.purpose {
                        Purpose::Test => config
                            .tier(&test.tier)
                            .and_then(|t| t.restore_test.instance_class.as_deref()),
                        Purpose::Failover => None,
                    };
                    let configured = tier_class.or_else(|| {
                        config
                            .restore_prerequisites(&test.region)
                            .and_then(|p| p.instance_class.as_deref())
                    });
                    let serving = match &test.serving {
                        Some(serving) => rds::Serving {
                            class: Some(&serving.instance_class),
                            instances: serving.instances,
                            parameter_group: serving.parameter_group.as_deref(),
                        },
                        None => rds::Serving {
                            class: configured,
                            instances: 1,
                            parameter_group: None,
                        },
                    };
                    match rds::open(&clients, &restored_arn, name, serving, marks).await? {
                        rds::Opening::Waiting => return Ok(running(test, Utc::now())),
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
        _ => Ok(running(test, Utc::now())),
    }
}

/// A restore still running: overdue once its test's deadline has passed.
fn running(test: &Started, now: DateTime<Utc>) -> Progress {
    match test.deadline {
        Some(deadline) if now >= deadline => Progress::Overdue { deadline },
        _ => Progress::Running,
    }
}

/// What the source was, as the validators compare a restored copy with it.
enum Source {
    Database(bulwark_core::restore::DatabaseFacts),
    Disk(bulwark_core::restore::DiskFacts),
    /// A table's facts, and the segments it was counted in.
    Table(bulwark_core::restore::TableFacts, u32),
    Bucket(contents::BucketTraits),
    Cluster(bulwark_core::restore::ClusterFacts),
}

/// Read the restored copy and its source, and judge the copy. A failover's source may be in a
/// region that is down: when it cannot be read, the copy is read alone (that it can be is the
/// check) and the findings say it was not compared.
pub async fn validate(
    aws: &Aws,
    test: &Started,
    restored_arn: &str,
    restored_id: &str,
) -> Result<Validated, AwsError> {
    let source_clients = clients_in(aws, &test.account, &test.source_region).await?;
    let restored = clients_in(aws, &test.account, &test.region).await?;
    // A source that cannot be read is never taken for a match. The copy is judged alone
    // (and may pass) only where not reading it was declared: an engineer's failover with the
    // primary region declared down, or a drill isolated from it; another failover's store is
    // "not compared", which stops its run before any switch.
    let isolated = aws
        .isolation()
        .is_some_and(|region| region.as_str() == test.source_region);
    let declared = isolated || test.source_declared_down;
    // A recovery in place restores from before what happened to its source: comparing with
    // the source as it is now would judge the damage, not the restore.
    let source = if test.judge_alone {
        Err((
            "not read: a recovery in place recovers from its source as it was".to_string(),
            true,
        ))
    } else {
        match source(&source_clients, test).await {
            Ok(source) => Ok(source),
            Err(e) if test.purpose == Purpose::Failover || isolated => {
                Err((e.to_string(), declared))
            }
            Err(e) => return Err(e),
        }
    };
    let mut findings = match source {
        Ok(Source::Database(source)) => {
            validate_database(&source, &rds::facts(&restored, restored_id).await?)
        }
        Ok(Source::Disk(source)) => validate_disk(
            &source,
            &disks::facts(&restored, test.kind, restored_id).await?,
        ),
        Ok(Source::Table(facts, segments)) => {
            let (copy, _, items) = contents::counted_table(
                &restored,
                restored_id,
                Some(segments),
                Some(contents::SAMPLE_ITEMS),
            )
            .await?;
            let sample =
                contents::sample(items, &source_clients, &test.name, &copy.key_schema).await?;
            validate_table(&facts, &copy, &sample)
        }
        Ok(Source::Bucket(traits)) => {
            contents::compare_buckets(
                &source_clients,
                &test.name,
                traits,
                &restored,
                restored_id,
                test.point_created,
            )
            .await?
        }
        Ok(Source::Cluster(source)) => validate_cluster(
            &source,
            &rds::cluster_facts(&restored, restored_id, true).await?,
        ),
        Err((why, declared)) => alone(&restored, test, restored_id, &why, declared).await?,
    };
    if let Some(hook) = &test.hook {
        findings.push(call_hook(aws, test, hook, restored_arn, restored_id).await);
    }
    Ok(Validated {
        findings,
        validated: Utc::now(),
    })
}

/// The source, read in its region: a database's, disk's, cluster's or table's facts (a table's
/// items counted) and a bucket's versions. A recovery point of a table says nothing of it that
/// AWS Backup's advanced DynamoDB backups let be read (DescribeBackup cannot describe them).
async fn source(source: &ScopeClients, test: &Started) -> Result<Source, AwsError> {
    Ok(match test.kind {
        Kind::Rds => Source::Database(rds::facts(source, &test.name).await?),
        Kind::Ebs | Kind::Efs => Source::Disk(disks::facts(source, test.kind, &test.name).await?),
        Kind::Dynamodb => {
            let (facts, segments, _) =
                contents::counted_table(source, &test.name, None, None).await?;
            Source::Table(facts, segments)
        }
        Kind::S3 => Source::Bucket(contents::bucket_traits(source, &test.name).await?),
        Kind::Aurora => Source::Cluster(rds::cluster_facts(source, &test.name, false).await?),
    })
}

/// A failover's restored store judged alone, its source unreadable: it can be read. The
/// comparison is skipped when not reading the source was `declared`, else not compared.
async fn alone(
    restored: &ScopeClients,
    test: &Started,
    restored_id: &str,
    why: &str,
    declared: bool,
) -> Result<Vec<Finding>, AwsError> {
    let read = match test.kind {
        Kind::Rds => rds::facts(restored, restored_id).await.map(|_| ()),
        Kind::Ebs | Kind::Efs => disks::facts(restored, test.kind, restored_id)
            .await
            .map(|_| ()),
        Kind::Dynamodb => contents::table(restored, restored_id).await.map(|_| ()),
        Kind::S3 => contents::readable_bucket(restored, restored_id).await,
        Kind::Aurora => rds::cluster_facts(restored, restored_id, true)
            .await
            .map(|_| ()),
    };
    read?;
    Ok(vec![
        Finding::new(
            "readable",
            true,
            format!("{restored_id} answers in {}", test.region),
        ),
        if declared {
            Finding::new(
                "compared with its source",
                true,
                format!(
                    "skipped: {} was declared down, and the source {} could not be read \
                     ({why})",
                    test.source_region, test.name
                ),
            )
        } else {
            Finding::not_compared(
                "compared with its source",
                format!(
                    "the source {} in {} could not be read ({why}); if that region is down, \
                     execute with --primary-down to judge the restored stores alone",
                    test.name, test.source_region
                ),
            )
        },
    ])
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
