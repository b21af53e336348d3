//! The application's lock (pk `lease`, sk `failover#<app>`): which run holds the application
//! and which driver drives that run. One run of an application at a time, until it ends; one
//! driver of a run at a time, until it is known to be gone (core `failover::driver`).
//!
//! The item holds the run, the holder, a fencing token (one more at each change of driver)
//! and a beat (one more at each renewal). Every write of a run is a transaction with a check
//! that its driver still holds the lock under its token (`fence_check`), so a driver that was
//! taken over fails its next write instead of making it. Nothing here compares clocks: a
//! lease lapses when the one waiting sees its beat unchanged for its whole length, measured
//! on the waiter's clock (as the DynamoDB lock client does).
//! IAM: see `LOCK`, and `TAKE_OVER` for the CLI.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck};
use bulwark_core::failover::driver::{self, Claim, LockFacts};
use bulwark_core::failover::{Driver, Liveness, RunId};
use chrono::Utc;

use super::record;
use crate::clients::Aws;
use crate::error::{is_not_found, AwsError};
use crate::lease::LEASE_KEY;
use crate::permissions::{p, Permission};
use crate::store::Inventory;

pub const LOCK: &[Permission] = &[
    p("dynamodb:GetItem", "who holds an application's lock"),
    p("dynamodb:PutItem", "take an application's free lock"),
    p(
        "dynamodb:UpdateItem",
        "renew an application's lock, or take it over from a driver that is gone",
    ),
    p("dynamodb:DeleteItem", "give an application's lock back"),
    p(
        "dynamodb:ConditionCheckItem",
        "each write of a run checks, in one transaction with it, that its driver holds the lock",
    ),
];

/// Taking a run over from another driver (the CLI's resume and abort).
pub const TAKE_OVER: &[Permission] = &[p(
    "states:DescribeExecution",
    "whether the execution driving a run still runs, before another driver takes it over",
)];

/// How long a hold lasts without a renewal, unless the driver says otherwise; a process
/// renews it every third of this, between steps and during them. An execution's hold is
/// judged by the execution's status instead, so the waits between its steps never let it
/// lapse.
pub const LEASE_SECONDS: u64 = 60;

/// The bounds of a lease a driver may ask for: long enough for a renewal to land between two
/// beats, short enough that a laptop that died frees its run within the hour.
pub const LEASE_RANGE: std::ops::RangeInclusive<u64> = 3..=3600;

/// Whether a driver may take a run over from another one known to be gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TakeOver {
    /// The state machine's steps: its execution drives its own run, never another's.
    Never,
    /// The CLI's resume and abort: from an execution no longer running or a process gone,
    /// at once; from a process of another host, once its lease lapsed while this one waited.
    WhenGone,
}

/// How a driver holds the runs it drives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Driving {
    pub driver: Driver,
    pub take_over: TakeOver,
    /// How long its hold lasts without a renewal (within `LEASE_RANGE`).
    pub lease_seconds: u64,
}

impl Driving {
    /// A state machine's execution: its own run only, never taken from another driver.
    pub fn execution(driver: Driver) -> Self {
        Self {
            driver,
            take_over: TakeOver::Never,
            lease_seconds: LEASE_SECONDS,
        }
    }

    /// This process, driving from now, holding for `lease_seconds`.
    pub fn this_process(lease_seconds: u64) -> Result<Self, AwsError> {
        if !LEASE_RANGE.contains(&lease_seconds) {
            return Err(AwsError::Refused(format!(
                "a lease of {lease_seconds} s: {} to {} s",
                LEASE_RANGE.start(),
                LEASE_RANGE.end()
            )));
        }
        Ok(Self {
            driver: this_process(),
            take_over: TakeOver::WhenGone,
            lease_seconds,
        })
    }
}

/// A driver's hold on a run, which each of its writes checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fence {
    pub app: String,
    pub run: RunId,
    pub driver: Driver,
    pub token: u64,
    pub lease_seconds: u64,
}

fn key(app: &str) -> String {
    format!("failover#{app}")
}

fn number(item: &HashMap<String, AttributeValue>, name: &str) -> u64 {
    item.get(name)
        .and_then(|v| v.as_n().ok())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn text(item: &HashMap<String, AttributeValue>, name: &str) -> String {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

/// The lock of `app` as it is now (a strongly consistent read).
pub async fn read(inventory: &Inventory, app: &str) -> Result<Option<LockFacts>, AwsError> {
    let out = inventory
        .client()
        .get_item()
        .table_name(inventory.table())
        .key("pk", AttributeValue::S(LEASE_KEY.to_string()))
        .key("sk", AttributeValue::S(key(app)))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| AwsError::sdk("dynamodb:GetItem", e))?;
    Ok(out.item().map(|item| LockFacts {
        run: text(item, "run"),
        holder: text(item, "holder"),
        token: number(item, "token"),
        beat: number(item, "beat"),
        lease_seconds: number(item, "lease_seconds"),
    }))
}

/// The condition that `fence`'s driver holds the lock: it names its run, its driver and its
/// token. The expression, its names and its values.
fn held_by(fence: &Fence) -> (&'static str, Names, Values) {
    let names = HashMap::from([
        ("#run".to_string(), "run".to_string()),
        ("#token".to_string(), "token".to_string()),
    ]);
    let values = HashMap::from([
        (":run".to_string(), AttributeValue::S(fence.run.to_string())),
        (
            ":holder".to_string(),
            AttributeValue::S(fence.driver.to_string()),
        ),
        (
            ":token".to_string(),
            AttributeValue::N(fence.token.to_string()),
        ),
    ]);
    (
        "#run = :run AND holder = :holder AND #token = :token",
        names,
        values,
    )
}

type Names = HashMap<String, String>;
type Values = HashMap<String, AttributeValue>;

/// The check each write of `fence`'s driver carries: the lock still names its run, its
/// driver and its token.
pub fn fence_check(inventory: &Inventory, fence: &Fence) -> Result<ConditionCheck, AwsError> {
    let (condition, names, values) = held_by(fence);
    ConditionCheck::builder()
        .table_name(inventory.table())
        .key("pk", AttributeValue::S(LEASE_KEY.to_string()))
        .key("sk", AttributeValue::S(key(&fence.app)))
        .condition_expression(condition)
        .set_expression_attribute_names(Some(names))
        .set_expression_attribute_values(Some(values))
        .build()
        .map_err(|e| AwsError::Malformed(e.to_string()))
}

/// Why a write of `fence`'s driver was refused by its check.
pub fn fenced_out(fence: &Fence) -> AwsError {
    AwsError::Refused(format!(
        "{} no longer drives failover run {}: another driver took it over, and this one \
         stops without writing (`bulwark failover status {}` shows the run)",
        fence.driver, fence.run, fence.run
    ))
}

/// Take or renew the hold of `driving`'s driver on `run` of `app`. A free application is
/// taken; a run that ended leaves its application free. Refused, naming who holds it, while
/// another run of the application has not ended, or while another driver of this run may
/// still be driving it (`driving.take_over` says what this driver may find out and wait for).
pub async fn claim(
    aws: &Aws,
    inventory: &Inventory,
    app: &str,
    run: &RunId,
    driving: &Driving,
) -> Result<Fence, AwsError> {
    let driver = &driving.driver;
    // A write that loses to another writer reads the lock again; a few rounds settle it.
    for _ in 0..5 {
        let lock = read(inventory, app).await?;
        let taken = match driver::claim(lock.as_ref(), run.as_str(), driver) {
            Claim::Take => take(inventory, app, run, driving, None).await?,
            Claim::Renew => {
                let lock = lock.as_ref().expect("renewed: read");
                renew(inventory, app, run, driving, lock.token).await?
            }
            Claim::HeldByRun(other) => {
                let lock = lock.as_ref().expect("held: read");
                // A lock written before locks named their run was held by the run itself: this
                // run's own is taken over by its new driver.
                let other = if other.is_empty() {
                    lock.holder.clone()
                } else {
                    other
                };
                if other != run.as_str() && !ended(inventory, &other).await? {
                    return Err(AwsError::Refused(format!(
                        "failover run {other} of {app} has not ended: one run of an \
                         application at a time. `bulwark failover resume {other}` goes on \
                         with it, `bulwark failover abort {other}` puts back its switches"
                    )));
                }
                take(inventory, app, run, driving, Some(lock)).await?
            }
            Claim::HeldByDriver(holder) => {
                let lock = lock.as_ref().expect("held: read");
                let refused = |why: &str| {
                    AwsError::Refused(format!(
                        "failover run {run} is driven by {holder}, {why}: one driver of a run \
                         at a time"
                    ))
                };
                if driving.take_over == TakeOver::Never {
                    return Err(refused("and this driver may not take it over"));
                }
                match liveness(aws, &holder).await? {
                    Liveness::Alive => {
                        return Err(refused(
                            "which still runs: stop it first (an execution with `aws \
                             stepfunctions stop-execution`), or let it finish",
                        ))
                    }
                    Liveness::Gone => take(inventory, app, run, driving, Some(lock)).await?,
                    Liveness::Unknown => {
                        let lease = Duration::from_secs(lock.lease_seconds.max(1));
                        tracing::warn!(
                            %run, %holder, seconds = lease.as_secs(),
                            "the run's driver cannot be looked at from here: waiting for its \
                             lease to lapse"
                        );
                        tokio::time::sleep(lease + Duration::from_secs(1)).await;
                        let now = read(inventory, app).await?;
                        if now.as_ref() != Some(lock) {
                            return Err(refused(&format!(
                                "which renewed its hold while this one waited {} s: it still \
                                 runs",
                                lease.as_secs()
                            )));
                        }
                        take(inventory, app, run, driving, Some(lock)).await?
                    }
                }
            }
        };
        if let Some(fence) = taken {
            return Ok(fence);
        }
    }
    Err(AwsError::Conflict {
        operation: "failover lock",
        key: key(app),
    })
}

/// Whether run `id` has ended (a run with no record never began: nothing holds it).
pub async fn ended(inventory: &Inventory, id: &str) -> Result<bool, AwsError> {
    let Ok(id) = RunId::parse(id) else {
        return Ok(true);
    };
    Ok(record::load(inventory, &id)
        .await?
        .is_none_or(|(run, _)| !run.running()))
}

/// Take the lock for `driving`'s driver of `run`: free (`seen` None), or as `seen` (its run
/// ended, or its driver is gone). None: the lock changed since it was read.
async fn take(
    inventory: &Inventory,
    app: &str,
    run: &RunId,
    driving: &Driving,
    seen: Option<&LockFacts>,
) -> Result<Option<Fence>, AwsError> {
    let driver = &driving.driver;
    let token = seen.map_or(1, |l| l.token + 1);
    let update = inventory
        .client()
        .update_item()
        .table_name(inventory.table())
        .key("pk", AttributeValue::S(LEASE_KEY.to_string()))
        .key("sk", AttributeValue::S(key(app)))
        .update_expression(
            "SET #run = :run, holder = :holder, #token = :token, beat = :beat, \
             lease_seconds = :lease, renewed_at = :now",
        )
        .expression_attribute_names("#run", "run")
        .expression_attribute_names("#token", "token")
        .expression_attribute_values(":run", AttributeValue::S(run.to_string()))
        .expression_attribute_values(":holder", AttributeValue::S(driver.to_string()))
        .expression_attribute_values(":token", AttributeValue::N(token.to_string()))
        .expression_attribute_values(
            ":lease",
            AttributeValue::N(driving.lease_seconds.to_string()),
        )
        .expression_attribute_values(":now", AttributeValue::S(Utc::now().to_rfc3339()));
    let update = match seen {
        None => update
            .condition_expression("attribute_not_exists(pk)")
            .expression_attribute_values(":beat", AttributeValue::N("1".into())),
        // A lock written before locks named their run (its holder was the run) is taken as
        // it is, if it is still the one read.
        Some(lock) if lock.run.is_empty() => update
            .condition_expression("attribute_not_exists(#run) AND holder = :seen_holder")
            .expression_attribute_values(":beat", AttributeValue::N("1".into()))
            .expression_attribute_values(":seen_holder", AttributeValue::S(lock.holder.clone())),
        Some(lock) => update
            .condition_expression(
                "#run = :seen_run AND holder = :seen_holder AND #token = :seen_token \
                 AND beat = :seen_beat",
            )
            .expression_attribute_values(":beat", AttributeValue::N((lock.beat + 1).to_string()))
            .expression_attribute_values(":seen_run", AttributeValue::S(lock.run.clone()))
            .expression_attribute_values(":seen_holder", AttributeValue::S(lock.holder.clone()))
            .expression_attribute_values(":seen_token", AttributeValue::N(lock.token.to_string()))
            .expression_attribute_values(":seen_beat", AttributeValue::N(lock.beat.to_string())),
    };
    match update.send().await {
        Ok(_) => Ok(Some(Fence {
            app: app.to_string(),
            run: run.clone(),
            driver: driver.clone(),
            token,
            lease_seconds: driving.lease_seconds,
        })),
        Err(e) if is_not_found(&e, &["ConditionalCheckFailedException"]) => Ok(None),
        Err(e) => Err(AwsError::sdk("dynamodb:UpdateItem", e)),
    }
}

/// Renew the hold of `driving`'s driver on `run` under `token`. None: it lost the lock since
/// it read it.
async fn renew(
    inventory: &Inventory,
    app: &str,
    run: &RunId,
    driving: &Driving,
    token: u64,
) -> Result<Option<Fence>, AwsError> {
    let fence = Fence {
        app: app.to_string(),
        run: run.clone(),
        driver: driving.driver.clone(),
        token,
        lease_seconds: driving.lease_seconds,
    };
    match beat(inventory, &fence).await {
        Ok(()) => Ok(Some(fence)),
        Err(AwsError::Refused(_)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// One renewal of `fence`'s hold: refused once another driver holds the lock.
pub async fn beat(inventory: &Inventory, fence: &Fence) -> Result<(), AwsError> {
    let (condition, names, mut values) = held_by(fence);
    values.insert(":one".into(), AttributeValue::N("1".into()));
    values.insert(
        ":lease".into(),
        AttributeValue::N(fence.lease_seconds.to_string()),
    );
    values.insert(":now".into(), AttributeValue::S(Utc::now().to_rfc3339()));
    let renewed = inventory
        .client()
        .update_item()
        .table_name(inventory.table())
        .key("pk", AttributeValue::S(LEASE_KEY.to_string()))
        .key("sk", AttributeValue::S(key(&fence.app)))
        .update_expression("SET beat = beat + :one, lease_seconds = :lease, renewed_at = :now")
        .condition_expression(condition)
        .set_expression_attribute_names(Some(names))
        .set_expression_attribute_values(Some(values))
        .send()
        .await;
    match renewed {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e, &["ConditionalCheckFailedException"]) => Err(fenced_out(fence)),
        Err(e) => Err(AwsError::sdk("dynamodb:UpdateItem", e)),
    }
}

/// Give the application back once `fence`'s run ended, if its driver still holds it.
pub async fn release(inventory: &Inventory, fence: &Fence) -> Result<(), AwsError> {
    let released = inventory
        .client()
        .delete_item()
        .table_name(inventory.table())
        .key("pk", AttributeValue::S(LEASE_KEY.to_string()))
        .key("sk", AttributeValue::S(key(&fence.app)))
        .condition_expression("#run = :run AND holder = :holder")
        .expression_attribute_names("#run", "run")
        .expression_attribute_values(":run", AttributeValue::S(fence.run.to_string()))
        .expression_attribute_values(":holder", AttributeValue::S(fence.driver.to_string()))
        .send()
        .await;
    match released {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e, &["ConditionalCheckFailedException"]) => Ok(()),
        Err(e) => Err(AwsError::sdk("dynamodb:DeleteItem", e)),
    }
}

/// This process as a driver, driving from now.
fn this_process() -> Driver {
    Driver::process(
        &host_name(),
        std::process::id(),
        Utc::now().timestamp_nanos_opt().unwrap_or_default(),
    )
}

/// What can be known of `holder` from here.
async fn liveness(aws: &Aws, holder: &str) -> Result<Liveness, AwsError> {
    match Driver::parse(holder) {
        Ok(Driver::Execution(arn)) => {
            let described = aws
                .sfn()
                .describe_execution()
                .execution_arn(&arn)
                .send()
                .await;
            match described {
                Ok(out) => Ok(match out.status().as_str() {
                    "RUNNING" | "PENDING_REDRIVE" => Liveness::Alive,
                    _ => Liveness::Gone,
                }),
                Err(e) if is_not_found(&e, &["ExecutionDoesNotExist"]) => Ok(Liveness::Gone),
                Err(e) => Err(AwsError::sdk("states:DescribeExecution", e)),
            }
        }
        Ok(Driver::Process { host, pid, .. }) if host == host_name() => {
            Ok(process_on_this_host(pid))
        }
        Ok(Driver::Process { .. }) | Err(_) => Ok(Liveness::Unknown),
    }
}

#[cfg(unix)]
fn host_name() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

#[cfg(not(unix))]
fn host_name() -> String {
    std::env::var("COMPUTERNAME").unwrap_or_else(|_| "unknown-host".into())
}

/// A process of this host exists while a signal could be sent to it (EPERM: it exists, as
/// another user's). A process id reused since is taken for the driver: it is never taken over
/// wrongly, only waited for.
#[cfg(unix)]
fn process_on_this_host(pid: u32) -> Liveness {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return Liveness::Unknown;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => Liveness::Alive,
        Err(rustix::io::Errno::SRCH) => Liveness::Gone,
        Err(_) => Liveness::Alive,
    }
}

#[cfg(not(unix))]
fn process_on_this_host(_pid: u32) -> Liveness {
    Liveness::Unknown
}
