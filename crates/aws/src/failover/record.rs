//! Failover runs in the state table (pk `failover`), one item per part so that the stores'
//! restores, running in parallel, never write the same item: `<run>#run` (the plan, who,
//! why, the abort and the ending), `<run>#store#<n>`, `<run>#switch#<n>`, and
//! `<run>#event#<time>#<step>#<n>` for each step taken. One Query reads a run back whole.
//!
//! A driver writes a run's parts only while it holds the application's lock (`lock`): each
//! write is a transaction with the lock's check. The run's own item carries a revision: it is
//! written only over the revision its writer read, so an abort and an ending that race leave
//! one of them to read the run again.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::builders::PutBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use bulwark_core::failover::{
    Ending, Event, EvidenceDocument, Plan, Run, RunId, StoreRun, SwitchRun,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::chain::{chain_head, chain_kept_moving, chained_puts, CHAIN_ATTEMPTS};
use super::lock::{self, Fence};
use crate::error::AwsError;
use crate::permissions::{p, Permission};
use crate::store::Inventory;

// A transaction is authorized item by item (there is no "dynamodb:TransactWriteItems"
// action): its Puts need PutItem, its checks ConditionCheckItem (`lock::LOCK`).
pub const RECORD: &[Permission] = &[
    p(
        "dynamodb:PutItem",
        "record a run's steps, each part with its driver's check of the lock",
    ),
    p("dynamodb:Query", "read a run back"),
];

/// Refused unless `inventory` is the state table's replica in `dr_region`. An application's
/// failover is driven in its DR region alone, its lock and run written in the replica there:
/// a global table evaluates a conditional write against the replica it is sent to, so a lock
/// taken in two regions at once could be held twice. One region for every writer keeps the lock
/// single-writer, and it is the region a failover must not need the other one for.
pub fn driven_here(inventory: &Inventory, dr_region: &str, what: &str) -> Result<(), AwsError> {
    match inventory.region() {
        Some(region) if region == dr_region => Ok(()),
        region => Err(AwsError::Refused(format!(
            "{what} is driven from its DR region {dr_region}, where its lock and record are \
             written, not from {}: run it with AWS_REGION={dr_region}",
            region.as_deref().unwrap_or("an unknown region")
        ))),
    }
}

/// The partition key of every failover run's items.
pub const RUN_KEY: &str = "failover";

/// One item: its part of the run as JSON (a plan's restore metadata has keys DynamoDB
/// attribute names would not all take as they are).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Item {
    pub(super) pk: String,
    pub(super) sk: String,
    pub(super) body: String,
    /// The run's own item: how many times it was written; the chain's head: its last step's
    /// place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) revision: Option<u64>,
}

/// The run's own item.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Header {
    id: RunId,
    plan: Plan,
    requested_by: String,
    reason: String,
    requested_at: DateTime<Utc>,
    abort_requested: Option<DateTime<Utc>>,
    ending: Option<Ending>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    primary_down: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    caller: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    evidence: Option<EvidenceDocument>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    failback_of: Option<RunId>,
}

pub(super) fn json(value: &impl Serialize) -> Result<String, AwsError> {
    serde_json::to_string(value).map_err(|e| AwsError::Malformed(e.to_string()))
}

pub(super) fn put_builder(inventory: &Inventory, item: &Item) -> Result<PutBuilder, AwsError> {
    let item: HashMap<String, AttributeValue> =
        serde_dynamo::to_item(item).map_err(|e| AwsError::Malformed(e.to_string()))?;
    Ok(Put::builder()
        .table_name(inventory.table())
        .set_item(Some(item)))
}

pub(super) fn put_of(inventory: &Inventory, item: &Item) -> Result<Put, AwsError> {
    put_builder(inventory, item)?
        .build()
        .map_err(|e| AwsError::Malformed(e.to_string()))
}

/// How a transaction of a run's writes was refused.
enum Refusal {
    /// The driver's check of the lock failed: another driver holds the run.
    FencedOut,
    /// The run's own item is no longer at the revision its writer read.
    Stale,
    /// Another step was chained meanwhile: chain this one after it.
    ChainMoved,
}

/// Send one transaction. The indexes of its items whose condition failed (none: it landed).
async fn send(
    inventory: &Inventory,
    items: Vec<TransactWriteItem>,
) -> Result<Vec<usize>, AwsError> {
    let err = match inventory
        .client()
        .transact_write_items()
        .set_transact_items(Some(items))
        .send()
        .await
    {
        Ok(_) => return Ok(Vec::new()),
        Err(err) => err,
    };
    let failed: Vec<usize> = match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => c
            .cancellation_reasons()
            .iter()
            .enumerate()
            .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
            .map(|(i, _)| i)
            .collect(),
        _ => Vec::new(),
    };
    if failed.is_empty() {
        Err(AwsError::sdk("dynamodb:TransactWriteItems", err))
    } else {
        Ok(failed)
    }
}

/// Send `puts` (the run's own item first when `header` is set, the chain's head last when
/// `chained` is) with `fence`'s check.
async fn transact(
    inventory: &Inventory,
    fence: &Fence,
    puts: Vec<Put>,
    header: bool,
    chained: bool,
) -> Result<Option<Refusal>, AwsError> {
    let check = lock::fence_check(inventory, fence)?;
    let count = puts.len();
    let mut items: Vec<TransactWriteItem> = puts
        .into_iter()
        .map(|put| TransactWriteItem::builder().put(put).build())
        .collect();
    items.push(TransactWriteItem::builder().condition_check(check).build());
    let failed = send(inventory, items).await?;
    Ok(if failed.contains(&count) {
        Some(Refusal::FencedOut)
    } else if header && failed.contains(&0) {
        Some(Refusal::Stale)
    } else if chained && failed.contains(&(count - 1)) {
        Some(Refusal::ChainMoved)
    } else if failed.is_empty() {
        None
    } else {
        return Err(AwsError::Malformed(format!(
            "a transaction of run {} failed on its item {failed:?}",
            fence.run
        )));
    })
}

/// Write one part of `fence`'s run, refused once another driver holds it.
async fn put(
    inventory: &Inventory,
    fence: &Fence,
    sk: String,
    body: String,
) -> Result<(), AwsError> {
    let item = Item {
        pk: RUN_KEY.to_string(),
        sk,
        body,
        revision: None,
    };
    match transact(
        inventory,
        fence,
        vec![put_of(inventory, &item)?],
        false,
        false,
    )
    .await?
    {
        None => Ok(()),
        Some(_) => Err(lock::fenced_out(fence)),
    }
}

/// The run's own item at its next revision, written only over the revision read (`new`:
/// only where no run of its id is).
fn header_put(inventory: &Inventory, run: &Run, new: bool) -> Result<Put, AwsError> {
    let item = Item {
        pk: RUN_KEY.to_string(),
        sk: format!("{}#run", run.id),
        body: json(&header(run))?,
        revision: Some(run.revision + 1),
    };
    let put = put_builder(inventory, &item)?;
    let put = if new {
        put.condition_expression("attribute_not_exists(pk)")
    } else if run.revision == 0 {
        // A new run's item, or one recorded before revisions were.
        put.condition_expression("attribute_not_exists(revision)")
    } else {
        put.condition_expression("revision = :read")
            .expression_attribute_values(":read", AttributeValue::N(run.revision.to_string()))
    };
    put.build().map_err(|e| AwsError::Malformed(e.to_string()))
}

/// Record a new run's own item, refused if a run of that id exists.
pub async fn create(inventory: &Inventory, fence: &Fence, run: &Run) -> Result<(), AwsError> {
    let put = header_put(inventory, run, true)?;
    match transact(inventory, fence, vec![put], true, false).await? {
        None => Ok(()),
        Some(Refusal::FencedOut) => Err(lock::fenced_out(fence)),
        Some(Refusal::Stale | Refusal::ChainMoved) => Err(AwsError::Refused(format!(
            "failover run {} exists already",
            run.id
        ))),
    }
}

fn header(run: &Run) -> Header {
    Header {
        id: run.id.clone(),
        plan: run.plan.clone(),
        requested_by: run.requested_by.clone(),
        reason: run.reason.clone(),
        requested_at: run.requested_at,
        abort_requested: run.abort_requested,
        ending: run.ending.clone(),
        primary_down: run.primary_down,
        caller: run.caller.clone(),
        evidence: run.evidence.clone(),
        failback_of: run.failback_of.clone(),
    }
}

/// What a write of the run's own item came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderWrite {
    Written,
    /// Another writer changed the run since it was read: read it again.
    Stale,
}

/// Record `ended` (the run as read, with its ending) and its last step, `event`, at once.
pub async fn end(
    inventory: &Inventory,
    fence: &Fence,
    ended: &Run,
    event: &Event,
) -> Result<(HeaderWrite, Event), AwsError> {
    for _ in 0..CHAIN_ATTEMPTS {
        let head = chain_head(inventory, &ended.id).await?;
        let (chained, event_put, head_put) =
            chained_puts(inventory, &ended.id, event, head.as_ref())?;
        let puts = vec![header_put(inventory, ended, false)?, event_put, head_put];
        match transact(inventory, fence, puts, true, true).await? {
            None => return Ok((HeaderWrite::Written, chained)),
            Some(Refusal::Stale) => return Ok((HeaderWrite::Stale, chained)),
            Some(Refusal::FencedOut) => return Err(lock::fenced_out(fence)),
            Some(Refusal::ChainMoved) => {}
        }
    }
    Err(chain_kept_moving(&ended.id))
}

/// Record where `run`'s evidence document is and its SHA-256, over the revision read.
pub async fn evidence(
    inventory: &Inventory,
    fence: &Fence,
    run: &Run,
) -> Result<HeaderWrite, AwsError> {
    let put = header_put(inventory, run, false)?;
    match transact(inventory, fence, vec![put], true, false).await? {
        None => Ok(HeaderWrite::Written),
        Some(Refusal::Stale | Refusal::ChainMoved) => Ok(HeaderWrite::Stale),
        Some(Refusal::FencedOut) => Err(lock::fenced_out(fence)),
    }
}

/// Record `aborting` (the run as read, marked for abort) and the step asking it, at once,
/// over the revision read; a run that ended meanwhile is read again by the caller. Anyone may
/// ask: the run's driver carries the abort out at its next step.
pub async fn request_abort(
    inventory: &Inventory,
    aborting: &Run,
    event: &Event,
) -> Result<HeaderWrite, AwsError> {
    for _ in 0..CHAIN_ATTEMPTS {
        let head = chain_head(inventory, &aborting.id).await?;
        let (_, event_put, head_put) = chained_puts(inventory, &aborting.id, event, head.as_ref())?;
        let items: Vec<TransactWriteItem> =
            [header_put(inventory, aborting, false)?, event_put, head_put]
                .into_iter()
                .map(|put| TransactWriteItem::builder().put(put).build())
                .collect();
        let failed = send(inventory, items).await?;
        if failed.is_empty() {
            return Ok(HeaderWrite::Written);
        }
        if failed.contains(&0) {
            return Ok(HeaderWrite::Stale);
        }
        // Another step was chained meanwhile: chain this one after it.
    }
    Err(chain_kept_moving(&aborting.id))
}

/// Write store `index`'s progress.
pub async fn put_store(
    inventory: &Inventory,
    fence: &Fence,
    index: usize,
    store: &StoreRun,
) -> Result<(), AwsError> {
    let sk = format!("{}#store#{index:04}", fence.run);
    put(inventory, fence, sk, json(store)?).await
}

/// Write switch `index`'s progress.
pub async fn put_switch(
    inventory: &Inventory,
    fence: &Fence,
    index: usize,
    switch: &SwitchRun,
) -> Result<(), AwsError> {
    let sk = format!("{}#switch#{index:04}", fence.run);
    put(inventory, fence, sk, json(switch)?).await
}

pub(super) fn event_item(run: &RunId, event: &Event) -> Result<Item, AwsError> {
    Ok(Item {
        pk: RUN_KEY.to_string(),
        sk: format!(
            "{run}#event#{}#{}#{}",
            event.at.format("%Y-%m-%dT%H:%M:%S%.6fZ"),
            event.step,
            event.subject
        ),
        body: json(event)?,
        revision: None,
    })
}

/// A step taken now, not yet recorded.
pub fn event(step: &str, subject: &str, outcome: impl Into<String>) -> Event {
    Event {
        at: Utc::now(),
        step: step.to_string(),
        subject: subject.to_string(),
        outcome: outcome.into(),
        seq: None,
        previous: None,
    }
}

/// Record one step taken (a retried step is recorded again: the log says it was retried),
/// chained after the run's last step. Unfenced: a step's own parts are what its driver's hold
/// guards.
pub async fn log(
    inventory: &Inventory,
    run: &RunId,
    step: &str,
    subject: &str,
    outcome: impl Into<String>,
) -> Result<Event, AwsError> {
    let event = event(step, subject, outcome);
    for _ in 0..CHAIN_ATTEMPTS {
        let head = chain_head(inventory, run).await?;
        let (chained, event_put, head_put) = chained_puts(inventory, run, &event, head.as_ref())?;
        let items: Vec<TransactWriteItem> = [event_put, head_put]
            .into_iter()
            .map(|put| TransactWriteItem::builder().put(put).build())
            .collect();
        match send(inventory, items).await {
            Ok(failed) if failed.is_empty() => return Ok(chained),
            // Another step was chained meanwhile (or is being): chain this one after it.
            Ok(_) => {}
            Err(e) if e.is_retryable() => {}
            Err(e) => return Err(e),
        }
    }
    Err(chain_kept_moving(run))
}

/// A run and its steps, as recorded (None: no such run).
pub async fn load(
    inventory: &Inventory,
    run: &RunId,
) -> Result<Option<(Run, Vec<Event>)>, AwsError> {
    let items = inventory
        .partition_prefix(RUN_KEY, &format!("{run}#"))
        .await?;
    assemble(run, items)
}

/// Every run of `app` that ended failed or aborted, as recorded, with its steps.
pub async fn failed_or_aborted(inventory: &Inventory, app: &str) -> Result<Vec<Run>, AwsError> {
    let items = inventory
        .partition_prefix(RUN_KEY, &format!("{app}-"))
        .await?;
    let mut by_run: BTreeMap<String, Vec<HashMap<String, AttributeValue>>> = BTreeMap::new();
    for item in items {
        let sk = item
            .get("sk")
            .and_then(|v| v.as_s().ok())
            .cloned()
            .unwrap_or_default();
        let id = sk.split('#').next().unwrap_or_default().to_string();
        by_run.entry(id).or_default().push(item);
    }
    let mut runs = Vec::new();
    for (id, items) in by_run {
        let Ok(id) = RunId::parse(&id) else { continue };
        if let Some((run, _)) = assemble(&id, items)? {
            let ended = matches!(
                run.ending,
                Some(Ending::Failed { .. } | Ending::Aborted { .. })
            );
            if ended && run.plan.application == app {
                runs.push(run);
            }
        }
    }
    Ok(runs)
}

/// Run `run` from its items.
fn assemble(
    run: &RunId,
    items: Vec<HashMap<String, AttributeValue>>,
) -> Result<Option<(Run, Vec<Event>)>, AwsError> {
    let mut header: Option<Header> = None;
    let mut revision = 0;
    let mut stores: BTreeMap<String, StoreRun> = BTreeMap::new();
    let mut switches: BTreeMap<String, SwitchRun> = BTreeMap::new();
    let mut events = Vec::new();
    for item in items {
        let item: Item =
            serde_dynamo::from_item(item).map_err(|e| AwsError::Malformed(e.to_string()))?;
        let part = &item.sk[run.as_str().len() + 1..];
        let malformed = |e: serde_json::Error| AwsError::Malformed(format!("{}: {e}", item.sk));
        if part == "run" {
            revision = item.revision.unwrap_or(0);
            header = Some(serde_json::from_str(&item.body).map_err(malformed)?);
        } else if let Some(index) = part.strip_prefix("store#") {
            let store = serde_json::from_str(&item.body).map_err(malformed)?;
            stores.insert(index.to_string(), store);
        } else if let Some(index) = part.strip_prefix("switch#") {
            let switch = serde_json::from_str(&item.body).map_err(malformed)?;
            switches.insert(index.to_string(), switch);
        } else if part.starts_with("event#") {
            events.push(serde_json::from_str::<Event>(&item.body).map_err(malformed)?);
        }
    }
    let Some(header) = header else {
        return Ok(None);
    };
    // A part not yet written is a part with nothing done.
    let run = Run {
        id: header.id,
        stores: (0..header.plan.stores.len())
            .map(|i| stores.remove(&format!("{i:04}")).unwrap_or_default())
            .collect(),
        switches: (0..header.plan.switches.len())
            .map(|i| switches.remove(&format!("{i:04}")).unwrap_or_default())
            .collect(),
        plan: header.plan,
        requested_by: header.requested_by,
        reason: header.reason,
        requested_at: header.requested_at,
        abort_requested: header.abort_requested,
        ending: header.ending,
        primary_down: header.primary_down,
        revision,
        caller: header.caller,
        evidence: header.evidence,
        failback_of: header.failback_of,
    };
    events.sort_by_key(|e| e.at);
    Ok(Some((run, events)))
}

/// The newest failover of `app` that succeeded, as recorded (None: there is none).
pub async fn last_succeeded(
    inventory: &Inventory,
    app: &str,
) -> Result<Option<(Run, Vec<Event>)>, AwsError> {
    let items = inventory
        .partition_prefix(RUN_KEY, &format!("{app}-"))
        .await?;
    let mut newest: Option<Header> = None;
    for item in items {
        let item: Item =
            serde_dynamo::from_item(item).map_err(|e| AwsError::Malformed(e.to_string()))?;
        if !item.sk.ends_with("#run") {
            continue;
        }
        let header: Header = serde_json::from_str(&item.body)
            .map_err(|e| AwsError::Malformed(format!("{}: {e}", item.sk)))?;
        let succeeded = matches!(header.ending, Some(Ending::Succeeded { .. }));
        if succeeded
            && header.plan.application == app
            && newest
                .as_ref()
                .is_none_or(|n| n.requested_at < header.requested_at)
        {
            newest = Some(header);
        }
    }
    match newest {
        Some(header) => load(inventory, &header.id).await,
        None => Ok(None),
    }
}

/// A run's id, checked, and its record.
pub async fn load_existing(
    inventory: &Inventory,
    run: &str,
) -> Result<(Run, Vec<Event>), AwsError> {
    let id = RunId::parse(run).map_err(AwsError::Refused)?;
    load(inventory, &id)
        .await?
        .ok_or_else(|| AwsError::Refused(format!("no failover run {id} is recorded")))
}
