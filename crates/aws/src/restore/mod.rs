//! Restore tests, in steps: `start` restores a store's newest completed recovery point (in its
//! own region, or its copy in the DR region) under a `bulwark-rt-` name; `poll` follows the
//! restore job and tags the restored copy as a test's the moment it exists; `validate` reads
//! the copy and its source and asks core's validators; `finish` deletes the copy, whatever
//! happened before, and returns the test to record. The restore-test state machine runs each
//! step as a task (it waits between polls, no Lambda sleeps); `run_test` runs them in one
//! process for the CLI.

use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

use aws_sdk_backup::types::RecoveryPointStatus;
use bulwark_core::restore::{
    self, choose_point, expected_objects, hook_finding, hook_for, metadata_overrides,
    temporary_instance_class, validate_bucket, validate_cluster, validate_database, validate_disk,
    validate_table, with_overrides, Finding, HookFunction, HookRequest, HookStore, Measured,
    PointChoice, PointFacts, Timing,
};
use bulwark_core::{AccountId, Asset, Config, Kind, Region, RestorePrerequisites, Scope};
use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::clients::{Aws, ScopeClients};
use crate::error::AwsError;
use crate::idempotency;
use crate::permissions::{p, Permission};
use crate::store::Inventory;

mod contents;
pub mod disks;
pub mod history;
pub mod pending;
pub mod rds;
pub mod run;
pub mod sweep;

pub const RESTORE_TEST: &[Permission] = &[
    p(
        "backup:ListRecoveryPointsByResource",
        "a store's recovery points (and its DR copies), to test the newest",
    ),
    p(
        "backup:GetRecoveryPointRestoreMetadata",
        "what restoring the point needs",
    ),
    p(
        "backup:StartRestoreJob",
        "restore the point under a bulwark-rt- name",
    ),
    p("backup:DescribeRestoreJob", "follow the restore"),
    p("iam:PassRole", "the backup role restores with"),
    p(
        "dynamodb:DescribeBackup",
        "the source table as it was backed up (its item count)",
    ),
    p("dynamodb:DescribeTable", "the restored table"),
    p(
        "dynamodb:TagResource",
        "mark the restored table as a test's",
    ),
    p("dynamodb:DeleteTable", "delete the restored table"),
    p(
        "s3:ListBucketVersions",
        "the source's objects as they were at the recovery point",
    ),
    p("s3:ListBucket", "the restored bucket's objects"),
    p(
        "s3:PutBucketTagging",
        "mark the restored bucket as a test's",
    ),
    p("s3:DeleteObject", "empty the restored bucket"),
    p("s3:DeleteBucket", "delete the restored bucket"),
];

pub const HOOK: &[Permission] = &[p(
    "lambda:InvokeFunction",
    "ask a tier's or store's customer hook about a restored copy",
)];

/// How long a test's restored copy lives when its tier is no longer configured (else its
/// policy's validation window).
const EXPIRY: chrono::Duration = chrono::Duration::hours(6);
/// How long `run_test` waits for a restore job.
const RESTORE_DEADLINE: StdDuration = StdDuration::from_secs(30 * 60);
/// How often `run_test` asks after a restore job.
const POLL_INTERVAL: StdDuration = StdDuration::from_millis(200);

/// Which recovery point of a store a test restores: the store's own region's, or the copy in
/// its DR region.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    #[default]
    Home,
    Dr,
}

/// A test whose restore job has started: all the later steps need, carried between them (in
/// the state machine, in the execution's state).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Started {
    pub id: String,
    pub arn: String,
    pub kind: Kind,
    /// The source store's name (a volume's or file system's id).
    pub name: String,
    pub tier: String,
    pub account: String,
    pub source_region: String,
    /// Where the restore runs: the recovery point's region.
    pub region: String,
    pub origin: Origin,
    pub recovery_point_arn: String,
    pub vault: String,
    pub point_created: DateTime<Utc>,
    pub restored_name: String,
    pub restore_job_id: String,
    pub started: DateTime<Utc>,
    pub restore_started: DateTime<Utc>,
    /// The customer's validation hook, if the tier or the store names one.
    #[serde(default)]
    pub hook: Option<HookFunction>,
}

/// Where a restore job is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Progress {
    Running,
    /// Restored, and tagged as the test's: `restored_id` is what deletes it (a table's or
    /// bucket's name, a volume's or file system's id, an instance's or cluster's identifier).
    /// A restored Aurora cluster is completed once its temporary instance is available.
    Completed {
        restored_arn: String,
        restored_id: String,
        completed: DateTime<Utc>,
    },
    Failed {
        reason: String,
    },
}

/// What the validators found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Validated {
    pub findings: Vec<Finding>,
    pub validated: DateTime<Utc>,
}

/// One restore test: what was restored, what the validators found, what was measured. A test
/// that could not restore or validate has no measurements and says why in `error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestoreTest {
    pub id: String,
    pub arn: String,
    pub tier: Option<String>,
    pub origin: Origin,
    /// Where the copy was restored.
    pub region: Option<String>,
    pub recovery_point_arn: Option<String>,
    pub vault: Option<String>,
    pub restored_name: Option<String>,
    pub started: DateTime<Utc>,
    pub ended: DateTime<Utc>,
    pub timing: Option<Timing>,
    pub measured: Option<Measured>,
    pub findings: Vec<Finding>,
    /// Why the test could not restore or validate.
    pub error: Option<String>,
    pub passed: bool,
    /// Whether the restored copy is gone (true when nothing was restored).
    pub cleaned_up: bool,
    /// Why the restored copy could not be deleted (the sweeper will try again).
    pub cleanup_error: Option<String>,
}

pub(crate) fn to_utc(t: Option<&aws_smithy_types::DateTime>) -> Option<DateTime<Utc>> {
    t.and_then(|t| Utc.timestamp_opt(t.secs(), t.subsec_nanos()).single())
}

fn scope(account: &str, region: &str) -> Result<Scope, AwsError> {
    Ok(Scope {
        account: AccountId::parse(account)?,
        region: Region::parse(region)?,
    })
}

pub(crate) fn clients_in(aws: &Aws, account: &str, region: &str) -> Result<ScopeClients, AwsError> {
    Ok(aws.home_scope(scope(account, region)?))
}

/// Start a test of `asset`: its newest completed recovery point in `origin`'s region restored
/// under the test's name. `run` names the run the test belongs to: a retried start of the same
/// run's test sends the same idempotency token, so AWS Backup never starts two restores.
pub async fn start(
    aws: &Aws,
    inventory: &Inventory,
    config: &Config,
    asset: &Asset,
    origin: Origin,
    run: &str,
    now: DateTime<Utc>,
) -> Result<Started, AwsError> {
    if let (Kind::Aurora, Some(engine)) = (asset.kind, asset.attributes.engine.as_deref()) {
        if temporary_instance_class(engine, false, None).is_none() {
            return Err(AwsError::RestoreTest(format!(
                "{} is a {engine} Multi-AZ DB cluster: restore tests open a restored Aurora \
                 cluster with an added instance, which a Multi-AZ DB cluster does not take",
                asset.arn
            )));
        }
    }
    let tier = asset
        .classification
        .as_ref()
        .and_then(|c| c.tier.as_deref())
        .and_then(|t| config.tier(t))
        .ok_or_else(|| {
            AwsError::RestoreTest(format!("{} has no tier: classify it first", asset.arn))
        })?;
    let hook = hook_for(tier.restore_test.hook.as_ref(), &asset.tags)
        .map_err(|why| AwsError::RestoreTest(format!("{}: {why}", asset.arn)))?;
    let settings = config.protection();
    let source_region = asset.region.as_str().to_string();
    let region = match origin {
        Origin::Home => source_region.clone(),
        Origin::Dr => settings
            .dr_region_for(&source_region)
            .map_err(AwsError::Configuration)?,
    };
    let clients = clients_in(aws, asset.account.as_str(), &region)?;
    let arn = asset.arn.to_string();
    // The same run chooses the same point (a retried start), another run maybe another.
    let seed_token = idempotency::token(40, "restore-test-point", &(&arn, run))?;
    let seed = u64::from_str_radix(
        &seed_token.trim_start_matches(idempotency::PREFIX)[..15],
        16,
    )
    .unwrap_or(0);
    let (point_arn, vault, point_created) = chosen_point(
        &clients,
        &arn,
        origin,
        &tier.restore_test.recovery_point,
        seed,
        now,
    )
    .await?;
    // StartRestoreJob's IdempotencyToken: AWS documents no limit; 40 characters stay within
    // the 50 of the other Backup tokens.
    let id = idempotency::token(40, "restore-test", &(&arn, &point_arn, origin, run))?;
    let restored_name = restore::restored_name(id.trim_start_matches(idempotency::PREFIX));
    let role = settings.backup_role_arn(asset.region.partition(), asset.account.as_str());
    let restore_started = Utc::now();
    let point = Point {
        arn: &point_arn,
        vault: &vault,
    };
    let network = config.restore_prerequisites(&region);
    let restore_job_id = start_restore(
        &clients,
        asset.kind,
        point,
        &restored_name,
        network,
        &role,
        &id,
    )
    .await?;
    let started = Started {
        id,
        arn,
        kind: asset.kind,
        name: asset.name.clone(),
        tier: tier.name.clone(),
        account: asset.account.as_str().to_string(),
        source_region,
        region,
        origin,
        recovery_point_arn: point_arn,
        vault,
        point_created,
        restored_name,
        restore_job_id,
        started: now,
        restore_started,
        hook,
    };
    let window = tier.restore_test.validation_window.as_minutes();
    pending::remember(inventory, &started, window).await?;
    Ok(started)
}

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
            let (name, id) = (&test.restored_name, &test.id);
            match test.kind {
                Kind::Ebs | Kind::Efs => {
                    disks::tag(&clients, test.kind, &restored_id, name, id, &expires).await?
                }
                Kind::Rds => rds::tag(&clients, &restored_arn, id, &expires).await?,
                Kind::Aurora => {
                    let class = config
                        .restore_prerequisites(&test.region)
                        .and_then(|p| p.instance_class.as_deref());
                    match rds::open(&clients, &restored_arn, name, class, id, &expires).await? {
                        rds::Opening::Waiting => return Ok(Progress::Running),
                        rds::Opening::Failed(reason) => return Ok(Progress::Failed { reason }),
                        // A cluster can be read only now: its restore, and the RTO, end here.
                        rds::Opening::Open => completed = Utc::now(),
                    }
                }
                _ => contents::tag(&clients, test.kind, &restored_arn, name, id, &expires).await?,
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
    inventory: &Inventory,
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
        let id = idempotency::token(40, "restore-test-not-started", &(&arn, origin, now))?;
        return Ok(RestoreTest {
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
            error: Some(error.unwrap_or_else(|| "the test did not start".into())),
            passed: false,
            cleaned_up: true,
            cleanup_error: None,
        });
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
    // The restore in flight is forgotten once its copy is gone or it never made one; a restore
    // whose end is unknown stays remembered, for the sweeper.
    let copy_gone = cleanup.is_ok() && copy.is_some();
    if copy_gone || matches!(progress, Some(Progress::Failed { .. })) {
        pending::forget(inventory, &test.id).await?;
    }
    let error = error.or_else(|| match &progress {
        Some(Progress::Failed { reason }) => Some(reason.clone()),
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
    })
}

/// Test `asset` in one process: start, wait for the restore, validate, finish.
pub async fn run_test(
    aws: &Aws,
    inventory: &Inventory,
    config: &Config,
    asset: &Asset,
    origin: Origin,
    now: DateTime<Utc>,
) -> Result<RestoreTest, AwsError> {
    let mut ending = Ending {
        arn: Some(asset.arn.to_string()),
        origin,
        ..Ending::default()
    };
    let run = now.to_rfc3339();
    match start(aws, inventory, config, asset, origin, &run, now).await {
        Ok(started) => ending.started = Some(started),
        Err(e) if e.is_retryable() => return Err(e),
        Err(e) => {
            ending.error = Some(e.to_string());
            return finish(aws, inventory, config, ending, Utc::now()).await;
        }
    }
    let Some(started) = ending.started.clone() else {
        return finish(aws, inventory, config, ending, Utc::now()).await;
    };
    let deadline = std::time::Instant::now() + RESTORE_DEADLINE;
    let progress = loop {
        match poll(aws, config, &started).await {
            Ok(Progress::Running) if std::time::Instant::now() > deadline => {
                break Progress::Failed {
                    reason: format!(
                        "restore job {} did not complete in {} minutes",
                        started.restore_job_id,
                        RESTORE_DEADLINE.as_secs() / 60
                    ),
                }
            }
            Ok(Progress::Running) => tokio::time::sleep(POLL_INTERVAL).await,
            Ok(done) => break done,
            Err(e) => {
                ending.error = Some(e.to_string());
                break Progress::Running;
            }
        }
    };
    if let Progress::Completed {
        restored_arn,
        restored_id,
        ..
    } = &progress
    {
        match validate(aws, &started, restored_arn, restored_id).await {
            Ok(validated) => ending.validated = Some(validated),
            Err(e) => ending.error = Some(e.to_string()),
        }
    }
    ending.progress = Some(progress);
    finish(aws, inventory, config, ending, Utc::now()).await
}

/// The recovery point a test restores, among the store's in the clients' region (for
/// `Origin::Dr`, its copies there): as the tier's policy chooses (core's `choose_point`) for the
/// store's own region, the newest copy in the DR region. Continuous points are left out of a
/// random choice: their creation date is when recording began. Its ARN, vault and time.
async fn chosen_point(
    clients: &ScopeClients,
    arn: &str,
    origin: Origin,
    choice: &PointChoice,
    seed: u64,
    now: DateTime<Utc>,
) -> Result<(String, String, DateTime<Utc>), AwsError> {
    let listed: Vec<_> = clients
        .backup
        .list_recovery_points_by_resource()
        .resource_arn(arn)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::sdk("backup:ListRecoveryPointsByResource", e))?;
    let choice = match origin {
        Origin::Home => *choice,
        Origin::Dr => PointChoice::Latest,
    };
    let random = matches!(choice, PointChoice::Random { .. });
    let mut vaults = BTreeMap::new();
    let points: Vec<PointFacts> = listed
        .iter()
        .filter_map(|p| {
            let point_arn = p.recovery_point_arn()?.to_string();
            if random && bulwark_core::facts::is_continuous(&point_arn) {
                return None;
            }
            vaults.insert(point_arn.clone(), p.backup_vault_name()?.to_string());
            Some(PointFacts {
                arn: point_arn,
                created: to_utc(p.creation_date())?,
                completed: p.status() == Some(&RecoveryPointStatus::Completed),
            })
        })
        .collect();
    let region = clients.scope.region.as_str();
    let chosen = choose_point(&points, &choice, now, seed).ok_or_else(|| {
        AwsError::RestoreTest(match origin {
            Origin::Home => format!("{arn} has no completed recovery point in {region}"),
            Origin::Dr => format!("{arn} has no completed copy in its DR region {region}"),
        })
    })?;
    let vault = vaults.get(&chosen.arn).cloned().unwrap_or_default();
    Ok((chosen.arn.clone(), vault, chosen.created))
}

#[derive(Debug, Clone, Copy)]
struct Point<'a> {
    arn: &'a str,
    vault: &'a str,
}

/// The point's restore metadata with Bulwark's overrides (core's `metadata_overrides`: the
/// test's name, and the region's network for a database), and the restore job started.
async fn start_restore(
    clients: &ScopeClients,
    kind: Kind,
    point: Point<'_>,
    name: &str,
    network: Option<&RestorePrerequisites>,
    role: &str,
    token: &str,
) -> Result<String, AwsError> {
    let metadata = clients
        .backup
        .get_recovery_point_restore_metadata()
        .backup_vault_name(point.vault)
        .recovery_point_arn(point.arn)
        .send()
        .await
        .map_err(|e| AwsError::sdk("backup:GetRecoveryPointRestoreMetadata", e))?;
    let restore_metadata = with_overrides(
        metadata
            .restore_metadata()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        &metadata_overrides(kind, name, network),
    );
    Ok(clients
        .backup
        .start_restore_job()
        .recovery_point_arn(point.arn)
        .iam_role_arn(role)
        .idempotency_token(token)
        .set_metadata(Some(restore_metadata.into_iter().collect()))
        .send()
        .await
        .map_err(|e| AwsError::sdk("backup:StartRestoreJob", e))?
        .restore_job_id()
        .unwrap_or_default()
        .to_string())
}

/// Delete a test's restored copy unless it is already gone.
async fn delete_if_present(aws: &Aws, test: &Started, id: &str) -> Result<(), AwsError> {
    let clients = clients_in(aws, &test.account, &test.region)?;
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
fn is_not_found(code: &str) -> bool {
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
            for key in contents::objects(clients, name).await?.into_keys() {
                clients
                    .s3
                    .delete_object()
                    .bucket(name)
                    .key(key)
                    .send()
                    .await
                    .map_err(|e| AwsError::sdk("s3:DeleteObject", e))?;
            }
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
