//! A failover run from request to end: `begin` recomputes the plan and refuses unless its hash
//! is the one the engineer quoted, takes the application's lock for its driver and records the
//! run; `advance` takes the step core's `next` decides, over the run as recorded, under the
//! driver's hold (`lock::Fence`); `end` records the ending, writes the evidence document, gives
//! the lock back and notifies. `drive` advances a run in one process until it ends (the CLI),
//! renewing its hold; the failover state machine calls the same steps, one task each, as its
//! execution. `request_abort` marks a run for abort: its driver's next advance puts the
//! switches back.

use bulwark_core::application::Application;
use bulwark_core::failover::{self, next, Ending, Event, EvidenceDocument, Next, Run, RunId};
use bulwark_core::{AccountId, Config, Duration};
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use super::lock::{self, Driving, Fence};
use super::record::{self, HeaderWrite};
use super::{adopt, facts, steps};
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
    /// Each store's newest copy rather than its newest verified one (`--point newest`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub newest_point: bool,
    /// The engineer declares the primary region down: restored stores whose sources cannot be
    /// read are judged alone instead of "not compared" (which stops the run).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub primary_down: bool,
    /// Who asks as AWS authenticated them (the CLI's caller, the state machine's execution).
    pub caller: String,
    /// A failback: the succeeded failover whose restored stores `app` (turned around by
    /// `failover::failback_application`) brings home.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failback_of: Option<RunId>,
    /// A recovery in place of `app` (turned by `failover::in_place`): each store restored in
    /// its own region from its newest point before this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recover_before: Option<DateTime<Utc>>,
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

/// Begin a failover of `app` at `now`, driven as `driving` says: refused, with nothing changed, if
/// the current plan's hash is not the request's, if the plan is blocked, or while another run
/// of the application has not ended.
#[allow(clippy::too_many_arguments)]
pub async fn begin(
    aws: &Aws,
    inventory: &Inventory,
    config: &Config,
    app: &Application,
    request: &Request,
    reporting: &Reporting,
    now: DateTime<Utc>,
    driving: &Driving,
) -> Result<Run, AwsError> {
    let what = format!("a failover of {}", app.name);
    record::driven_here(inventory, app.dr_region.as_str(), &what)?;
    let account = aws.home_account().await?;
    let facts = facts::read(aws, inventory, config, app, &account, now).await?;
    let prerequisites = config.restore_prerequisites(app.dr_region.as_str());
    let plan = match request.recover_before {
        Some(before) => failover::plan_recovering(app, prerequisites, &facts, before),
        None => failover::plan_choosing(
            app,
            prerequisites,
            &facts,
            request.accept_data_loss,
            request.newest_point,
        ),
    };
    failover::verify(&plan, &request.plan_hash).map_err(|e| AwsError::Refused(e.to_string()))?;
    if !plan.ready {
        return Err(AwsError::Refused(format!(
            "the plan of {} is blocked by {} blocker(s): read it with `bulwark failover plan`",
            app.name, plan.blockers_count
        )));
    }
    let mut run = Run::new(plan, &request.requested_by, &request.reason, now, &app.name);
    run.primary_down = request.primary_down;
    run.caller = Some(request.caller.clone());
    run.failback_of = request.failback_of.clone();
    // The lock first: a run refused it leaves no record. Two requests in the same
    // millisecond share an id; the second is another driver of it, and refused.
    let fence = lock::claim(aws, inventory, app.name.as_str(), &run.id, driving).await?;
    let adopted = adopt_earlier(aws, inventory, &mut run, &account).await?;
    record::create(inventory, &fence, &run).await?;
    for (index, from) in adopted {
        record::put_store(inventory, &fence, index, &run.stores[index]).await?;
        let store = &run.stores[index];
        let restored = store.restored.as_ref().map_or("", |r| r.arn.as_str());
        record::log(
            inventory,
            &run.id,
            "adopt",
            &run.plan.stores[index].arn.to_string(),
            format!(
                "took {restored}, restored by run {from} from the same copy, instead of \
                 restoring it again; validated again by this run"
            ),
        )
        .await?;
    }
    let event = record::log(
        inventory,
        &run.id,
        "begin",
        app.name.as_str(),
        format!(
            "plan {} of {} stores and {} switches into {}, asked by {} (authenticated as {}): {}",
            run.plan.hash,
            run.plan.stores.len(),
            run.plan.switches.len(),
            run.plan.dr_region,
            run.requested_by,
            request.caller,
            run.reason
        ) + if run.primary_down {
            "; the primary region declared down: stores whose sources cannot be read are \
             judged alone"
        } else {
            ""
        } + &run
            .failback_of
            .as_ref()
            .map_or(String::new(), |of| format!("; the failback of run {of}"))
            + &run.plan.recover_before.map_or(String::new(), |before| {
                format!("; a recovery in place, to before {}", before.to_rfc3339())
            }),
    )
    .await?;
    notify(aws, reporting, &run, "started", &event.outcome).await?;
    Ok(run)
}

/// Take into `run` the stores an earlier failed or aborted run of its plan restored and that
/// still exist: their indexes, each with the run that restored it.
async fn adopt_earlier(
    aws: &Aws,
    inventory: &Inventory,
    run: &mut Run,
    account: &AccountId,
) -> Result<Vec<(usize, RunId)>, AwsError> {
    let earlier = record::failed_or_aborted(inventory, &run.plan.application).await?;
    let mut adopted = Vec::new();
    for (index, store) in failover::adoptable(run, &earlier).into_iter().enumerate() {
        let (Some(store), Some(from)) = (
            store.clone(),
            store.as_ref().and_then(|s| s.adopted_from.clone()),
        ) else {
            continue;
        };
        let Some(restored) = &store.restored else {
            continue;
        };
        let planned = &run.plan.stores[index];
        let store_account = planned.arn.account.as_ref().unwrap_or(account).as_str();
        let clients =
            crate::restore::clients_in(aws, store_account, run.plan.dr_region.as_str()).await?;
        if adopt::still_there(&clients, planned.arn.kind, &restored.id).await? {
            run.stores[index] = store;
            adopted.push((index, from));
        }
    }
    Ok(adopted)
}

/// Take or renew `driving`'s hold on `run` (as just read), unless the run has ended: None
/// then.
pub async fn hold(
    aws: &Aws,
    inventory: &Inventory,
    run: &Run,
    driving: &Driving,
) -> Result<Option<Fence>, AwsError> {
    let what = format!("failover run {}", run.id);
    record::driven_here(inventory, run.plan.dr_region.as_str(), &what)?;
    if matches!(next(run), Next::Ended) {
        return Ok(None);
    }
    let app = &run.plan.application;
    Ok(Some(
        lock::claim(aws, inventory, app, &run.id, driving).await?,
    ))
}

/// Take the next step of `run` (as just read from the record, with its `events`) under
/// `fence`, its driver's hold, the stores' steps `concurrency` at a time.
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
    fence: &Fence,
) -> Result<Advanced, AwsError> {
    let step = next(run);
    let each = |indexes: Vec<usize>| stream::iter(indexes).map(Ok::<usize, AwsError>);
    match step {
        Next::Restore(indexes) => {
            each(indexes)
                .try_for_each_concurrent(concurrency, |i| async move {
                    steps::restore(aws, inventory, fence, config, run, i, account).await?;
                    Ok(())
                })
                .await?;
            Ok(Advanced::Continue)
        }
        Next::Poll(indexes) => {
            let moved: Vec<bool> = stream::iter(indexes)
                .map(|i| async move {
                    let after =
                        steps::poll_restore(aws, inventory, fence, config, run, i, account).await?;
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
                    steps::validate_restored(aws, inventory, fence, run, i, account).await?;
                    Ok(())
                })
                .await?;
            Ok(Advanced::Continue)
        }
        Next::Switch { index, value } => {
            steps::switch(aws, inventory, fence, run, index, &value).await?;
            Ok(Advanced::Continue)
        }
        Next::Verify(index) => {
            let after = steps::verify(aws, inventory, fence, run, index).await?;
            Ok(if after == run.switches[index] {
                Advanced::Wait
            } else {
                Advanced::Continue
            })
        }
        Next::Revert(index) => {
            steps::revert(aws, inventory, fence, run, index).await?;
            Ok(Advanced::Continue)
        }
        Next::Succeed => {
            let at = Utc::now();
            let rto_seconds = u64::try_from((at - run.requested_at).num_seconds()).unwrap_or(0);
            let ending = Ending::Succeeded { at, rto_seconds };
            end(aws, inventory, fence, run, events, ending, reporting).await
        }
        Next::Fail(reason) => {
            let ending = Ending::Failed {
                at: Utc::now(),
                reason,
            };
            end(aws, inventory, fence, run, events, ending, reporting).await
        }
        Next::Aborted => {
            let ending = Ending::Aborted { at: Utc::now() };
            end(aws, inventory, fence, run, events, ending, reporting).await
        }
        Next::Ended => Ok(Advanced::Ended),
    }
}

/// Take store `index`'s next step alone (the state machine's Map runs one per store), as
/// `driving`: start its restore, ask after it, or validate it. Ended once it is validated or
/// failed, or once the run ended or is being aborted.
pub async fn advance_store(
    aws: &Aws,
    inventory: &Inventory,
    config: &Config,
    run: &Run,
    index: usize,
    account: &AccountId,
    driving: &Driving,
) -> Result<Advanced, AwsError> {
    let store = run
        .stores
        .get(index)
        .ok_or_else(|| AwsError::Refused(format!("run {} has no store {index}", run.id)))?;
    if !run.running() || run.abort_requested.is_some() || store.failure.is_some() {
        return Ok(Advanced::Ended);
    }
    let Some(fence) = hold(aws, inventory, run, driving).await? else {
        return Ok(Advanced::Ended);
    };
    let fence = &fence;
    if store.restore_job_id.is_none() {
        steps::restore(aws, inventory, fence, config, run, index, account).await?;
        return Ok(Advanced::Wait);
    }
    if store.restored.is_none() {
        let after = steps::poll_restore(aws, inventory, fence, config, run, index, account).await?;
        return Ok(if after == *store {
            Advanced::Wait
        } else {
            Advanced::Continue
        });
    }
    if store.validated.is_none() {
        steps::validate_restored(aws, inventory, fence, run, index, account).await?;
    }
    Ok(Advanced::Ended)
}

/// Record how `run` ended with its last step, at once and only over the revision read: a
/// run changed meanwhile (an abort asked) is read again and goes on (`Continue`). Then write
/// its evidence (`events`, the steps read with the run, and this one), give its application
/// back, and notify.
async fn end(
    aws: &Aws,
    inventory: &Inventory,
    fence: &Fence,
    run: &Run,
    events: &[Event],
    ending: Ending,
    reporting: &Reporting,
) -> Result<Advanced, AwsError> {
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
    let event = record::event("end", &run.plan.application, outcome);
    let (written, event) = record::end(inventory, fence, &ended, &event).await?;
    if written == HeaderWrite::Stale {
        return Ok(Advanced::Continue);
    }
    ended.revision += 1;
    if let Some(bucket) = &reporting.evidence_bucket {
        let mut events = events.to_vec();
        events.push(event.clone());
        let evidence = write_evidence(aws, bucket, &ended, &events).await?;
        ended.evidence = Some(evidence);
        // The run ended: nothing else writes it now but this driver.
        if record::evidence(inventory, fence, &ended).await? == HeaderWrite::Written {
            ended.revision += 1;
        }
    }
    lock::release(inventory, fence).await?;
    notify(aws, reporting, &ended, word, &event.outcome).await?;
    Ok(Advanced::Ended)
}

/// Mark run `id` for abort: its driver's next advance puts back each switch it made. A run
/// that is running, or that failed (its switches made stay until an abort), can be aborted;
/// one that succeeded is failed back instead, and one aborted is done. The mark is written
/// over the revision read, so an abort racing the run's end either lands before it (the
/// driver then reverts) or reads the ended run and answers for it. A failed run has no driver
/// left: `driving` takes its application's lock, refused while another run holds it.
pub async fn request_abort(
    aws: &Aws,
    inventory: &Inventory,
    id: &RunId,
    driving: Option<&Driving>,
) -> Result<Run, AwsError> {
    for _ in 0..5 {
        let (run, _) = record::load(inventory, id)
            .await?
            .ok_or_else(|| AwsError::Refused(format!("no failover run {id} is recorded")))?;
        let what = format!("failover run {}", run.id);
        record::driven_here(inventory, run.plan.dr_region.as_str(), &what)?;
        match &run.ending {
            None => {}
            Some(Ending::Failed { .. }) => {
                let Some(driving) = driving else {
                    return Err(AwsError::Refused(format!(
                        "failover run {} failed and has no driver left: `bulwark failover                          abort {}` drives its abort",
                        run.id, run.id
                    )));
                };
                let app = &run.plan.application;
                lock::claim(aws, inventory, app, &run.id, driving).await?;
            }
            Some(Ending::Succeeded { .. }) => {
                return Err(AwsError::Refused(format!(
                    "failover run {} succeeded: its way back is a failback (bulwark failover \
                     plan --app {} --failback), not an abort",
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
        let event = record::event("abort", &run.plan.application, "abort requested");
        if record::request_abort(inventory, &aborting, &event).await? == HeaderWrite::Written {
            aborting.revision += 1;
            return Ok(aborting);
        }
    }
    Err(AwsError::Conflict {
        operation: "failover abort",
        key: id.to_string(),
    })
}

/// Advance run `id` as `driving` says until it ends, reading it back before each step and
/// renewing its hold during each; `after_step` is told each step taken (fault injection in
/// tests kills the process there). Waits `poll` between asks after restores and record
/// changes.
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
    driving: &Driving,
) -> Result<(Run, Vec<Event>), AwsError> {
    let account = aws.home_account().await?;
    loop {
        let (run, events) = record::load(inventory, id)
            .await?
            .ok_or_else(|| AwsError::Refused(format!("no failover run {id} is recorded")))?;
        let Some(fence) = hold(aws, inventory, &run, driving).await? else {
            return Ok((run, events));
        };
        let step = async {
            let advanced = advance(
                aws,
                inventory,
                config,
                &run,
                &events,
                &account,
                concurrency,
                reporting,
                &fence,
            )
            .await?;
            after_step(&run, advanced);
            if advanced == Advanced::Wait {
                tokio::time::sleep(poll).await;
            }
            Ok::<Advanced, AwsError>(advanced)
        };
        let advanced = tokio::select! {
            advanced = step => advanced?,
            never = heartbeat(inventory, &fence) => match never {},
        };
        if advanced == Advanced::Ended {
            return record::load(inventory, id)
                .await?
                .ok_or_else(|| AwsError::Malformed(format!("run {id} vanished")));
        }
    }
}

/// Renew `fence`'s hold every third of its lease, for as long as it is polled. A renewal
/// refused (another driver took the run over) is left to the step's next write, which its
/// check refuses; one that failed is tried again at the next beat.
async fn heartbeat(inventory: &Inventory, fence: &Fence) -> std::convert::Infallible {
    loop {
        let beat = std::time::Duration::from_secs(fence.lease_seconds) / 3;
        tokio::time::sleep(beat).await;
        if let Err(e) = lock::beat(inventory, fence).await {
            tracing::warn!(run = %fence.run, error = %e, "the run's hold was not renewed");
        }
    }
}

/// Write `run`'s evidence document; where, and its SHA-256.
async fn write_evidence(
    aws: &Aws,
    bucket: &str,
    run: &Run,
    events: &[Event],
) -> Result<EvidenceDocument, AwsError> {
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
    let sha256 = crate::restore::history::put_document(aws, bucket, &key, &document).await?;
    Ok(EvidenceDocument {
        bucket: bucket.to_string(),
        key,
        sha256,
    })
}

async fn notify(
    aws: &Aws,
    reporting: &Reporting,
    run: &Run,
    word: &str,
    detail: &str,
) -> Result<(), AwsError> {
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
    publish(aws, reporting, &subject, &message).await
}

/// Tell the alert topic, if there is one, in its own region.
pub(super) async fn publish(
    aws: &Aws,
    reporting: &Reporting,
    subject: &str,
    message: &str,
) -> Result<(), AwsError> {
    let Some(topic) = &reporting.topic_arn else {
        return Ok(());
    };
    let region = topic
        .split(':')
        .nth(3)
        .and_then(|r| bulwark_core::Region::parse(r).ok());
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
