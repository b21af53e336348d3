//! Restore tests, in steps: `start` restores a store's newest completed recovery point (in its
//! own region, or its copy in the DR region) under a `bulwark-rt-` name; `poll` follows the
//! restore job and tags the restored copy as a test's the moment it exists; `validate` reads
//! the copy and its source and asks core's validators; `finish` deletes the copy, whatever
//! happened before, and returns the test to record. The restore-test state machine runs each
//! step as a task (it waits between polls, no Lambda sleeps); `run_test` runs them in one
//! process for the CLI.

use std::collections::BTreeMap;

use bulwark_core::restore::{polling, Finding, HookFunction, Measured, TestCost, Timing};
use bulwark_core::{AccountId, Asset, Config, Kind, Region, Scope};
use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::clients::{Aws, ScopeClients};
use crate::error::AwsError;
use crate::permissions::{p, Permission};
use crate::store::Inventory;

mod check;
mod contents;
pub mod disks;
mod finish;
pub mod history;
pub mod pending;
pub mod rds;
pub mod run;
pub(crate) mod start;
pub mod sweep;

pub use check::{poll, validate};
pub(crate) use finish::{delete, delete_present, restored_id};
pub use finish::{finish, Ending};
pub use start::start;
pub(crate) use start::{start_restore, Point, Site};
pub use start::{RESTORABLE, RESTORE_SITE};

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
    p("iam:PassRole", "the restore role AWS Backup restores with"),
    p(
        "dynamodb:DescribeTable",
        "the source and the restored table",
    ),
    p(
        "dynamodb:Scan",
        "count the source's and the restored table's items, and sample the restored one's",
    ),
    p(
        "dynamodb:BatchGetItem",
        "look the sampled restored items up in the source",
    ),
    p(
        "dynamodb:TagResource",
        "mark the restored table as a test's",
    ),
    p("dynamodb:DeleteTable", "delete the restored table"),
    p(
        "s3:ListBucketVersions",
        "the source's objects as they were at the recovery point",
    ),
    p(
        "s3:GetEncryptionConfiguration",
        "whether the source's ETags are MD5s (not under SSE-KMS)",
    ),
    p(
        "s3:GetLifecycleConfiguration",
        "whether the source's lifecycle rules expire versions",
    ),
    p("s3:ListBucket", "the restored bucket's objects"),
    p(
        "s3:PutBucketTagging",
        "mark the restored bucket as a test's",
    ),
    p(
        "s3:DeleteObjectVersion",
        "empty the restored bucket: each version and delete marker",
    ),
    p("s3:DeleteBucket", "delete the restored bucket"),
];

pub const HOOK: &[Permission] = &[p(
    "lambda:InvokeFunction",
    "ask a tier's or store's customer hook about a restored copy",
)];

/// How long a test's restored copy lives when its tier is no longer configured (else its
/// policy's validation window).
const EXPIRY: chrono::Duration = chrono::Duration::hours(6);

/// The tags that mark a restored copy as a test's or a failover's.
pub(crate) type Marks<'a> = &'a [(&'a str, &'a str)];

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
    /// What a recovery at the test's start would have restored to (core's `restorable_to`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restorable_to: Option<DateTime<Utc>>,
    pub restored_name: String,
    pub restore_job_id: String,
    pub started: DateTime<Utc>,
    pub restore_started: DateTime<Utc>,
    /// When the restore job is given up on if it is still running: the test ends, its restore
    /// stays remembered for the sweeper. None: waited for until it ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<DateTime<Utc>>,
    /// The customer's validation hook, if the tier or the store names one.
    #[serde(default)]
    pub hook: Option<HookFunction>,
    /// What the test's cost is estimated from: the source's size, and the class a database
    /// is restored at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_class: Option<String>,
    /// A failover's Aurora cluster: the instances it serves from, as planned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serving: Option<bulwark_core::failover::Serving>,
    /// A recovery in place's restored store: judged alone, its source never read (it is what
    /// the recovery recovers from).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub judge_alone: bool,
    /// A failover's restored store: the tags it carries over from its source, as planned.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub carried_tags: BTreeMap<String, String>,
    /// A failover's source region was declared down by the engineer: a source that cannot be
    /// read is not compared, and that is not held against the restored store.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub source_declared_down: bool,
    /// Whose restore it is: a test's copy is tagged to expire and be swept, a failover's to
    /// stay.
    #[serde(default)]
    pub purpose: Purpose,
}

/// Why a store is restored, which decides how its copy is tagged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Purpose {
    /// A restore test's: `id` is the test's, and the copy expires (the sweeper deletes it).
    #[default]
    Test,
    /// A failover's: `id` is the run's; the copy serves and is never swept.
    Failover,
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
    /// Still running at the test's deadline: its end is unknown, not failed. The restore stays
    /// remembered, and the sweeper deletes what it makes once it has expired.
    Overdue {
        deadline: DateTime<Utc>,
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
    /// What the test cost, estimated from how long its copy lived. None when nothing was
    /// restored, and in records older than the field.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<TestCost>,
    /// Whether the restore in flight can be forgotten with the test's record (its copy is
    /// gone, or it made none): known to the step that finished the test, never stored.
    #[serde(skip)]
    pub restore_settled: bool,
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

/// Clients for `account`'s `region`: another account's through the organization role.
pub async fn clients_in(aws: &Aws, account: &str, region: &str) -> Result<ScopeClients, AwsError> {
    aws.store_scope(scope(account, region)?).await
}

/// A test of `asset` that could not start, for the error that stopped it (a retryable one
/// `run_test` gave up on): recorded as failed, with nothing to clean up.
pub fn not_started(
    asset: &Asset,
    origin: Origin,
    error: &AwsError,
    now: DateTime<Utc>,
) -> Result<RestoreTest, AwsError> {
    finish::not_started(asset.arn.to_string(), origin, error.to_string(), now)
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
            return finish(aws, config, ending, Utc::now()).await;
        }
    }
    let Some(started) = ending.started.clone() else {
        return finish(aws, config, ending, Utc::now()).await;
    };
    // Asked after less often the longer it runs (core's `polling`): AWS throttles
    // DescribeRestoreJob once many tests poll at once.
    let restore_started = tokio::time::Instant::now();
    let progress = loop {
        let waited = restore_started.elapsed();
        tokio::time::sleep(polling::next_wait(started.kind, waited)).await;
        match poll(aws, config, &started).await {
            Ok(Progress::Running) => continue,
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
    finish(aws, config, ending, Utc::now()).await
}
