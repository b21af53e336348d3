//! A failover run from request to end: `begin` recomputes the plan and refuses unless its hash
//! is the one the engineer quoted, takes the application's lock and records the run; `advance`
//! takes the step core's `next` decides, over the run as recorded; `end` records the ending,
//! writes the evidence document, gives the lock back and notifies. `drive` advances a run in
//! one process until it ends (the CLI); the failover state machine calls the same steps, one
//! task each. `request_abort` marks a run for abort: its next advance puts the switches back.

use bulwark_core::application::Application;
use bulwark_core::failover::{self, next, Ending, Event, Next, Run, RunId};
use bulwark_core::{AccountId, Config, Duration};
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use super::{facts, record, steps};
use crate::clients::Aws;
use crate::error::AwsError;
use crate::permissions::{p, Permission};
use crate::store::Inventory;

pub const FAILOVER_END: &[Permission] = &[
    p(
        "s3:PutObject",
        "a failover run's evidence document, in Bulwark's evidence bucket",
    ),
    p(
        "sns:Publish",
        "tell the alert topic a failover started, failed or ended",
    ),
];

/// How long an application's lock outlives its run's last step: a run whose owner died frees
/// its application after this.
pub const LOCK_SECONDS: i64 = 15 * 60;

/// Where a run reports to.
#[derive(Debug, Clone, Default)]
pub struct Reporting {
    /// The alert topic notified at the start, on each failure and at the end.
    pub topic_arn: Option<String>,
    /// The bucket the run's evidence document is written to.
    pub evidence_bucket: Option<String>,
}

/// Who asked for a failover, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Request {
    pub application: String,
    pub plan_hash: String,
    pub requested_by: String,
    pub reason: String,
    /// The data loss the engineer accepts beyond the application's or tier's limit: the plan
    /// is recomputed with it, and its hash covers it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accept_data_loss: Option<Duration>,
    /// The engineer declares the primary region down: restored stores whose sources cannot be
    /// read are judged alone instead of "not compared" (which stops the run).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub primary_down: bool,
}

/// What an advance did: whether the run should be advanced again at once, after a wait, or
/// not at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Advanced {
    Continue,
    Wait,
    Ended,
}

/// Begin a failover of `app` at `now`: refused, with nothing changed, if the current plan's
/// hash is not the request's, if the plan is blocked, or if another run holds the application.
pub async fn begin(
    aws: &Aws,
    inventory: &Inventory,
    config: &Config,
    app: &Application,
    request: &Request,
    reporting: &Reporting,
    now: DateTime<Utc>,
) -> Result<Run, AwsError> {
    let what = format!("a failover of {}", app.name);
    record::driven_here(inventory, app.dr_region.as_str(), &what)?;
    let account = aws.home_account().await?;
    let facts = facts::read(aws, inventory, config, app, &account, now).await?;
    let prerequisites = config.restore_prerequisites(app.dr_region.as_str());
    let plan = failover::plan_accepting(app, prerequisites, &facts, request.accept_data_loss);
    failover::verify(&plan, &request.plan_hash).map_err(|e| AwsError::Refused(e.to_string()))?;
    if !plan.ready {
        return Err(AwsError::Refused(format!(
            "the plan of {} is blocked by {} blocker(s): read it with `bulwark failover plan`",
            app.name, plan.blockers_count
        )));
    }
    let mut run = Run::new(plan, &request.requested_by, &request.reason, now, &app.name);
    run.primary_down = request.primary_down;
    // The lock first: a run refused it leaves no record. Two requests in the same
    // millisecond share an id, and the lock; the second's record is refused.
    record::lock(inventory, app.name.as_str(), &run.id, LOCK_SECONDS).await?;
    record::create(inventory, &run).await?;
    let event = record::log(
        inventory,
        &run.id,
        "begin",
        app.name.as_str(),
        format!(
            "plan {} of {} stores and {} switches into {}, asked by {}: {}",
            run.plan.hash,
            run.plan.stores.len(),
            run.plan.switches.len(),
            run.plan.dr_region,
            run.requested_by,
            run.reason
        ) + if run.primary_down {
            "; the primary region declared down: stores whose sources cannot be read are \
             judged alone"
        } else {
            ""
        },
    )
    .await?;
    notify(aws, reporting, &run, "started", &event.outcome).await?;
    Ok(run)
}

/// Take the next step of `run` (as just read from the record, with its `events`), the stores'
/// steps `concurrency` at a time.
#[allow(clippy::too_many_arguments)]
pub async fn advance(
    aws: &Aws,
    inventory: &Inventory,
    config: &Config,
    run: &Run,
    events: &[Event],
    account: &AccountId,
    concurrency: usize,
    reporting: &Reporting,
) -> Result<Advanced, AwsError> {
    let what = format!("failover run {}", run.id);
    record::driven_here(inventory, run.plan.dr_region.as_str(), &what)?;
    let step = next(run);
    if !matches!(step, Next::Ended) {
        record::lock(inventory, &run.plan.application, &run.id, LOCK_SECONDS).await?;
    }
    let each = |indexes: Vec<usize>| stream::iter(indexes).map(Ok::<usize, AwsError>);
    match step {
        Next::Restore(indexes) => {
            each(indexes)
                .try_for_each_concurrent(concurrency, |i| async move {
                    steps::restore(aws, inventory, config, run, i, account).await?;
                    Ok(())
                })
                .await?;
            Ok(Advanced::Continue)
        }
        Next::Poll(indexes) => {
            let moved: Vec<bool> = stream::iter(indexes)
                .map(|i| async move {
                    let after =
                        steps::poll_restore(aws, inventory, config, run, i, account).await?;
                    Ok::<bool, AwsError>(after != run.stores[i])
                })
                .buffer_unordered(concurrency)
                .try_collect()
                .await?;
            Ok(if moved.contains(&true) {
                Advanced::Continue
            } else {
                Advanced::Wait
            })
        }
        Next::Validate(indexes) => {
            each(indexes)
                .try_for_each_concurrent(concurrency, |i| async move {
                    steps::validate_restored(aws, inventory, run, i, account).await?;
                    Ok(())
                })
                .await?;
            Ok(Advanced::Continue)
        }
        Next::Switch { index, value } => {
            steps::switch(aws, inventory, run, index, &value).await?;
            Ok(Advanced::Continue)
        }
        Next::Verify(index) => {
            let after = steps::verify(aws, inventory, run, index).await?;
            Ok(if after == run.switches[index] {
                Advanced::Wait
            } else {
                Advanced::Continue
            })
        }
        Next::Revert(index) => {
            steps::revert(aws, inventory, run, index).await?;
            Ok(Advanced::Continue)
        }
        Next::Succeed => {
            let at = Utc::now();
            let rto_seconds = u64::try_from((at - run.requested_at).num_seconds()).unwrap_or(0);
            end(
                aws,
                inventory,
                run,
                events,
                Ending::Succeeded { at, rto_seconds },
                reporting,
            )
            .await?;
            Ok(Advanced::Ended)
        }
        Next::Fail(reason) => {
            let ending = Ending::Failed {
                at: Utc::now(),
                reason,
            };
            end(aws, inventory, run, events, ending, reporting).await?;
            Ok(Advanced::Ended)
        }
        Next::Aborted => {
            end(
                aws,
                inventory,
                run,
                events,
                Ending::Aborted { at: Utc::now() },
                reporting,
            )
            .await?;
            Ok(Advanced::Ended)
        }
        Next::Ended => Ok(Advanced::Ended),
    }
}

/// Take store `index`'s next step alone (the state machine's Map runs one per store): start
/// its restore, ask after it, or validate it. Ended once it is validated or failed, or once
/// the run ended or is being aborted.
pub async fn advance_store(
    aws: &Aws,
    inventory: &Inventory,
    config: &Config,
    run: &Run,
    index: usize,
    account: &AccountId,
) -> Result<Advanced, AwsError> {
    let store = run
        .stores
        .get(index)
        .ok_or_else(|| AwsError::Refused(format!("run {} has no store {index}", run.id)))?;
    if !run.running() || run.abort_requested.is_some() || store.failure.is_some() {
        return Ok(Advanced::Ended);
    }
    let what = format!("failover run {}", run.id);
    record::driven_here(inventory, run.plan.dr_region.as_str(), &what)?;
    // A restore can outlast the lock's time-to-live: each store's step renews it.
    record::lock(inventory, &run.plan.application, &run.id, LOCK_SECONDS).await?;
    if store.restore_job_id.is_none() {
        steps::restore(aws, inventory, config, run, index, account).await?;
        return Ok(Advanced::Wait);
    }
    if store.restored.is_none() {
        let after = steps::poll_restore(aws, inventory, config, run, index, account).await?;
        return Ok(if after == *store {
            Advanced::Wait
        } else {
            Advanced::Continue
        });
    }
    if store.validated.is_none() {
        steps::validate_restored(aws, inventory, run, index, account).await?;
    }
    Ok(Advanced::Ended)
}

/// Record how `run` ended, write its evidence (`events`, the steps read with the run, and this
/// one), give its application back, and notify.
async fn end(
    aws: &Aws,
    inventory: &Inventory,
    run: &Run,
    events: &[Event],
    ending: Ending,
    reporting: &Reporting,
) -> Result<(), AwsError> {
    let mut ended = run.clone();
    ended.ending = Some(ending.clone());
    let (word, outcome) = match &ending {
        Ending::Succeeded { rto_seconds, .. } => (
            "succeeded",
            format!(
                "every store restored and validated, every switch verified: RTO {rto_seconds} s"
            ),
        ),
        Ending::Failed { reason, .. } => ("failed", format!("stopped: {reason}")),
        Ending::Aborted { .. } => (
            "aborted",
            format!(
                "every switch put back; restored stores kept for inspection: {}",
                run.restored()
                    .iter()
                    .map(|r| r.arn.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
    };
    let event = record::log(inventory, &run.id, "end", &run.plan.application, &outcome).await?;
    record::put_header(inventory, &ended).await?;
    if let Some(bucket) = &reporting.evidence_bucket {
        let mut events = events.to_vec();
        events.push(event.clone());
        write_evidence(aws, bucket, &ended, &events).await?;
    }
    record::unlock(inventory, &run.plan.application, &run.id).await?;
    notify(aws, reporting, &ended, word, &event.outcome).await
}

/// Mark `run` for abort: its next advance puts back each switch it made. A run that is
/// running, or that failed (its switches made stay until an abort), can be aborted; one that
/// succeeded is failed back instead, and one aborted is done.
pub async fn request_abort(inventory: &Inventory, run: &Run) -> Result<Run, AwsError> {
    let what = format!("failover run {}", run.id);
    record::driven_here(inventory, run.plan.dr_region.as_str(), &what)?;
    match &run.ending {
        None | Some(Ending::Failed { .. }) => {}
        Some(Ending::Succeeded { .. }) => {
            return Err(AwsError::Refused(format!(
                "failover run {} succeeded: its way back is a failback (bulwark failover plan \
                 --app {} --failback), not an abort",
                run.id, run.plan.application
            )))
        }
        Some(Ending::Aborted { .. }) => {
            return Err(AwsError::Refused(format!(
                "failover run {} is aborted already",
                run.id
            )))
        }
    }
    let mut aborting = run.clone();
    aborting.abort_requested.get_or_insert_with(Utc::now);
    // A failed run goes on, to put its switches back; its failure stays in its steps.
    aborting.ending = None;
    record::put_header(inventory, &aborting).await?;
    record::log(
        inventory,
        &run.id,
        "abort",
        &run.plan.application,
        "abort requested",
    )
    .await?;
    Ok(aborting)
}

/// Advance run `id` until it ends, reading it back before each step; `after_step` is told each
/// step taken (fault injection in tests kills the process there). Waits `poll` between asks
/// after restores and record changes.
#[allow(clippy::too_many_arguments)]
pub async fn drive(
    aws: &Aws,
    inventory: &Inventory,
    config: &Config,
    id: &RunId,
    concurrency: usize,
    poll: std::time::Duration,
    reporting: &Reporting,
    after_step: &(dyn Fn(&Run, Advanced) + Sync),
) -> Result<(Run, Vec<Event>), AwsError> {
    let account = aws.home_account().await?;
    loop {
        let (run, events) = record::load(inventory, id)
            .await?
            .ok_or_else(|| AwsError::Refused(format!("no failover run {id} is recorded")))?;
        let advanced = advance(
            aws,
            inventory,
            config,
            &run,
            &events,
            &account,
            concurrency,
            reporting,
        )
        .await?;
        after_step(&run, advanced);
        match advanced {
            Advanced::Continue => {}
            Advanced::Wait => tokio::time::sleep(poll).await,
            Advanced::Ended => {
                return record::load(inventory, id)
                    .await?
                    .ok_or_else(|| AwsError::Malformed(format!("run {id} vanished")))
            }
        }
    }
}

async fn write_evidence(
    aws: &Aws,
    bucket: &str,
    run: &Run,
    events: &[Event],
) -> Result<(), AwsError> {
    let key = format!(
        "failovers/{}/{}.json",
        run.requested_at.format("%Y/%m/%d"),
        run.id
    );
    let document = serde_json::json!({
        "run": run,
        "data_loss_seconds": run.data_loss_seconds(),
        "events": events,
    });
    crate::restore::history::put_document(aws, bucket, &key, &document).await
}

async fn notify(
    aws: &Aws,
    reporting: &Reporting,
    run: &Run,
    word: &str,
    detail: &str,
) -> Result<(), AwsError> {
    let Some(topic) = &reporting.topic_arn else {
        return Ok(());
    };
    let region = topic
        .split(':')
        .nth(3)
        .and_then(|r| bulwark_core::Region::parse(r).ok());
    // An SNS subject is at most 100 characters.
    let subject: String = format!("Bulwark failover of {} {word}", run.plan.application)
        .chars()
        .take(100)
        .collect();
    let message = format!(
        "Failover run {} of {} into {} {word}.\n\n{detail}\n\nAsked by {}: {}\nPlan {}",
        run.id,
        run.plan.application,
        run.plan.dr_region,
        run.requested_by,
        run.reason,
        run.plan.hash.as_str()
    );
    aws.sns(region.as_ref())
        .publish()
        .topic_arn(topic)
        .subject(subject)
        .message(message)
        .send()
        .await
        .map_err(|e| AwsError::sdk("sns:Publish", e))?;
    Ok(())
}
