//! A run's chain of steps in the state table: a head item (`<run>#chain`: the last step's
//! place and hash, core's `failover::chain`), written in the same transaction as each step on
//! the condition that it is as read. A step written meanwhile by another writer of the run (the
//! Map's iterations, an abort) moves it, and the step is chained again after it.

use aws_sdk_dynamodb::types::{AttributeValue, Put};
use bulwark_core::failover::{self, Event, RunId};
use serde::{Deserialize, Serialize};

use super::record::{event_item, json, put_builder, put_of, Item, RUN_KEY};
use crate::error::AwsError;
use crate::store::Inventory;

/// How many times a step is chained again after steps written meanwhile (a run's writers are
/// its driver's concurrent steps and an abort: a handful at most).
pub(super) const CHAIN_ATTEMPTS: usize = 20;

/// The run's chain head (`<run>#chain`): the place and hash of its last step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct ChainHead {
    seq: u64,
    hash: String,
}

/// The place and hash of `run`'s last chained step (None: none yet), strongly consistent.
pub(super) async fn chain_head(
    inventory: &Inventory,
    run: &RunId,
) -> Result<Option<ChainHead>, AwsError> {
    let out = inventory
        .client()
        .get_item()
        .table_name(inventory.table())
        .key("pk", AttributeValue::S(RUN_KEY.to_string()))
        .key("sk", AttributeValue::S(format!("{run}#chain")))
        .consistent_read(true)
        .send()
        .await
        .map_err(|e| AwsError::sdk("dynamodb:GetItem", e))?;
    let Some(item) = out.item else {
        return Ok(None);
    };
    let item: Item =
        serde_dynamo::from_item(item).map_err(|e| AwsError::Malformed(e.to_string()))?;
    serde_json::from_str(&item.body)
        .map(Some)
        .map_err(|e| AwsError::Malformed(format!("{}: {e}", item.sk)))
}

/// `event` chained after `head`, its item, and the head's write moving to it on the condition
/// that the head is still `head`.
pub(super) fn chained_puts(
    inventory: &Inventory,
    run: &RunId,
    event: &Event,
    head: Option<&ChainHead>,
) -> Result<(Event, Put, Put), AwsError> {
    let chained = failover::chain::chained(event.clone(), head.map(|h| (h.seq, h.hash.as_str())));
    let moved = ChainHead {
        seq: chained.seq.unwrap_or(1),
        hash: failover::chain::step_hash(&chained),
    };
    // The head's place is its revision, which its condition reads.
    let item = Item {
        pk: RUN_KEY.to_string(),
        sk: format!("{run}#chain"),
        body: json(&moved)?,
        revision: Some(moved.seq),
    };
    let put = put_builder(inventory, &item)?;
    let put = match head {
        None => put.condition_expression("attribute_not_exists(pk)"),
        Some(head) => put
            .condition_expression("revision = :read")
            .expression_attribute_values(":read", AttributeValue::N(head.seq.to_string())),
    };
    let head_put = put
        .build()
        .map_err(|e| AwsError::Malformed(e.to_string()))?;
    let event_put = put_of(inventory, &event_item(run, &chained)?)?;
    Ok((chained, event_put, head_put))
}

/// Retryable: the run's other writers are done within a few attempts more.
pub(super) fn chain_kept_moving(run: &RunId) -> AwsError {
    AwsError::Conflict {
        operation: "dynamodb:TransactWriteItems",
        key: format!("{run}#chain"),
    }
}
