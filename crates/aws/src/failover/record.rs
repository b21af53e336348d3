//! Failover runs in the state table (pk `failover`), one item per part so that the stores'
//! restores, running in parallel, never write the same item: `<run>#run` (the plan, who,
//! why, the abort and the ending), `<run>#store#<n>`, `<run>#switch#<n>`, and
//! `<run>#event#<time>#<step>#<n>` for each step taken. One Query reads a run back whole.
//!
//! And the application's lock (pk `lease`, sk `failover#<app>`): held by one run at a time,
//! until it ends or its time-to-live passes without the run renewing it (its owner died).

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use bulwark_core::failover::{Ending, Event, Plan, Run, RunId, StoreRun, SwitchRun};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{is_not_found, AwsError};
use crate::lease::LEASE_KEY;
use crate::permissions::{p, Permission};
use crate::store::Inventory;

pub const RECORD: &[Permission] = &[
    p(
        "dynamodb:PutItem",
        "record a run's steps; take the application's lock",
    ),
    p("dynamodb:Query", "read a run back"),
    p("dynamodb:GetItem", "who holds an application's lock"),
    p("dynamodb:DeleteItem", "give the application's lock back"),
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
struct Item {
    pk: String,
    sk: String,
    body: String,
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
}

fn json(value: &impl Serialize) -> Result<String, AwsError> {
    serde_json::to_string(value).map_err(|e| AwsError::Malformed(e.to_string()))
}

async fn put(inventory: &Inventory, sk: String, body: String) -> Result<(), AwsError> {
    inventory
        .put_record(&Item {
            pk: RUN_KEY.to_string(),
            sk,
            body,
        })
        .await
}

/// Record a new run's own item, refused if a run of that id exists.
pub async fn create(inventory: &Inventory, run: &Run) -> Result<(), AwsError> {
    let item: HashMap<String, AttributeValue> = serde_dynamo::to_item(Item {
        pk: RUN_KEY.to_string(),
        sk: format!("{}#run", run.id),
        body: json(&header(run))?,
    })
    .map_err(|e| AwsError::Malformed(e.to_string()))?;
    match inventory
        .client()
        .put_item()
        .table_name(inventory.table())
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e, &["ConditionalCheckFailedException"]) => Err(AwsError::Refused(
            format!("failover run {} exists already", run.id),
        )),
        Err(e) => Err(AwsError::sdk("dynamodb:PutItem", e)),
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
    }
}

/// Write the run's own item: its plan, who asked and why, the abort and the ending.
pub async fn put_header(inventory: &Inventory, run: &Run) -> Result<(), AwsError> {
    put(inventory, format!("{}#run", run.id), json(&header(run))?).await
}

/// Write store `index`'s progress.
pub async fn put_store(
    inventory: &Inventory,
    run: &RunId,
    index: usize,
    store: &StoreRun,
) -> Result<(), AwsError> {
    put(inventory, format!("{run}#store#{index:04}"), json(store)?).await
}

/// Write switch `index`'s progress.
pub async fn put_switch(
    inventory: &Inventory,
    run: &RunId,
    index: usize,
    switch: &SwitchRun,
) -> Result<(), AwsError> {
    put(inventory, format!("{run}#switch#{index:04}"), json(switch)?).await
}

/// Record one step taken (a retried step is recorded again: the log says it was retried).
pub async fn log(
    inventory: &Inventory,
    run: &RunId,
    step: &str,
    subject: &str,
    outcome: impl Into<String>,
) -> Result<Event, AwsError> {
    let event = Event {
        at: Utc::now(),
        step: step.to_string(),
        subject: subject.to_string(),
        outcome: outcome.into(),
    };
    let sk = format!(
        "{run}#event#{}#{step}#{}",
        event.at.format("%Y-%m-%dT%H:%M:%S%.6fZ"),
        subject
    );
    put(inventory, sk, json(&event)?).await?;
    Ok(event)
}

/// A run and its steps, as recorded (None: no such run).
pub async fn load(
    inventory: &Inventory,
    run: &RunId,
) -> Result<Option<(Run, Vec<Event>)>, AwsError> {
    let items = inventory
        .partition_prefix(RUN_KEY, &format!("{run}#"))
        .await?;
    let mut header: Option<Header> = None;
    let mut stores: BTreeMap<String, StoreRun> = BTreeMap::new();
    let mut switches: BTreeMap<String, SwitchRun> = BTreeMap::new();
    let mut events = Vec::new();
    for item in items {
        let item: Item =
            serde_dynamo::from_item(item).map_err(|e| AwsError::Malformed(e.to_string()))?;
        let part = &item.sk[run.as_str().len() + 1..];
        let malformed = |e: serde_json::Error| AwsError::Malformed(format!("{}: {e}", item.sk));
        if part == "run" {
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

fn lock_key(app: &str) -> String {
    format!("failover#{app}")
}

/// Take (or renew) `app`'s lock for `run`, for `ttl_seconds`. Refused, naming the holder, while
/// another run holds it and has renewed it within its time-to-live.
pub async fn lock(
    inventory: &Inventory,
    app: &str,
    run: &RunId,
    ttl_seconds: i64,
) -> Result<(), AwsError> {
    let now = Utc::now().timestamp();
    let taken = inventory
        .client()
        .put_item()
        .table_name(inventory.table())
        .item("pk", AttributeValue::S(LEASE_KEY.to_string()))
        .item("sk", AttributeValue::S(lock_key(app)))
        .item("holder", AttributeValue::S(run.to_string()))
        .item(
            "expires",
            AttributeValue::N((now + ttl_seconds).to_string()),
        )
        .condition_expression("attribute_not_exists(pk) OR expires < :now OR holder = :me")
        .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
        .expression_attribute_values(":me", AttributeValue::S(run.to_string()))
        .send()
        .await;
    match taken {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e, &["ConditionalCheckFailedException"]) => {
            let holder = holder(inventory, app).await?;
            Err(AwsError::Refused(format!(
                "failover run {} of {app} is running: one failover of an application at a \
                 time (its lock expires {ttl_seconds} s after its last step if it died)",
                holder.unwrap_or_else(|| "(unknown)".into())
            )))
        }
        Err(e) => Err(AwsError::sdk("dynamodb:PutItem", e)),
    }
}

async fn holder(inventory: &Inventory, app: &str) -> Result<Option<String>, AwsError> {
    let item = inventory
        .client()
        .get_item()
        .table_name(inventory.table())
        .key("pk", AttributeValue::S(LEASE_KEY.to_string()))
        .key("sk", AttributeValue::S(lock_key(app)))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| AwsError::sdk("dynamodb:GetItem", e))?;
    Ok(item
        .item()
        .and_then(|i: &HashMap<String, AttributeValue>| i.get("holder"))
        .and_then(|v| v.as_s().ok())
        .cloned())
}

/// Give `app`'s lock back, if `run` still holds it.
pub async fn unlock(inventory: &Inventory, app: &str, run: &RunId) -> Result<(), AwsError> {
    let released = inventory
        .client()
        .delete_item()
        .table_name(inventory.table())
        .key("pk", AttributeValue::S(LEASE_KEY.to_string()))
        .key("sk", AttributeValue::S(lock_key(app)))
        .condition_expression("holder = :me")
        .expression_attribute_values(":me", AttributeValue::S(run.to_string()))
        .send()
        .await;
    match released {
        Ok(_) => Ok(()),
        Err(e) if is_not_found(&e, &["ConditionalCheckFailedException"]) => Ok(()),
        Err(e) => Err(AwsError::sdk("dynamodb:DeleteItem", e)),
    }
}
