//! Readiness, computed and recorded: the plan of every application and of every store of a
//! tier with a cross-region copy (one plan per region of those stores), from the state table
//! read once; recorded in the state table (pk `readiness`, an item per application and per
//! store under the computation's time, then the item `last` naming that computation whole)
//! for the reports, and read back whole.

use std::collections::BTreeMap;

use bulwark_core::failover::readiness::{
    application_readiness, store_readiness, stores_application, Readiness, Ready,
};
use bulwark_core::{AccountId, AssetState, Config, Region, ResourceArn};
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use super::facts::{self, Recorded};
use crate::clients::Aws;
use crate::error::AwsError;
use crate::permissions::{p, Permission};
use crate::store::Inventory;

pub const READINESS: &[Permission] = &[
    p(
        "dynamodb:PutItem",
        "record each application's and store's readiness",
    ),
    p("dynamodb:Query", "the last readiness, for the reports"),
    p(
        "dynamodb:DeleteItem",
        "forget an earlier readiness once a new one is written whole",
    ),
];

/// The partition key of every readiness item.
pub const READINESS_KEY: &str = "readiness";

/// Writes at once when recording.
const CONCURRENCY: usize = 16;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Item {
    pk: String,
    sk: String,
    computed_at: DateTime<Utc>,
    body: String,
}

/// Every application's and store's readiness, as of `now`.
pub async fn compute(
    aws: &Aws,
    inventory: &Inventory,
    config: &Config,
    account: &AccountId,
    now: DateTime<Utc>,
) -> Result<Readiness, AwsError> {
    let recorded = Recorded::read(inventory).await?;
    let mut applications = Vec::new();
    for app in config.applications() {
        let facts = facts::read_with(aws, &recorded, config, app, account, now).await?;
        let prerequisites = config.restore_prerequisites(app.dr_region.as_str());
        applications.push(application_readiness(&bulwark_core::failover::plan(
            app,
            prerequisites,
            &facts,
        )));
    }
    let mut by_region: BTreeMap<Region, Vec<ResourceArn>> = BTreeMap::new();
    for asset in recorded
        .assets
        .iter()
        .filter(|a| a.state == AssetState::Present)
    {
        let copied = asset
            .classification
            .as_ref()
            .and_then(|c| c.tier.as_deref())
            .and_then(|t| config.tier(t))
            .is_some_and(|t| t.cross_region_copy);
        if copied {
            by_region
                .entry(asset.region.clone())
                .or_default()
                .push(asset.arn.clone());
        }
    }
    let mut stores = Vec::new();
    for (region, arns) in by_region {
        let dr = config
            .protection()
            .dr_region_for(region.as_str())
            .and_then(|dr| Region::parse(&dr).map_err(|e| e.to_string()))
            .map_err(AwsError::Configuration)?;
        let app = stores_application(&region, &dr, arns).map_err(AwsError::Configuration)?;
        let facts = facts::read_with(aws, &recorded, config, &app, account, now).await?;
        let prerequisites = config.restore_prerequisites(dr.as_str());
        stores.extend(store_readiness(&bulwark_core::failover::plan(
            &app,
            prerequisites,
            &facts,
        )));
    }
    Ok(Readiness {
        computed_at: now,
        applications,
        stores,
    })
}

/// The key of the item that names the last whole computation: written after every item of it.
const LAST_WHOLE: &str = "last";

/// A computation's items' keys begin with its time, so that a new one is written beside the
/// last without touching it.
fn report_prefix(computed_at: DateTime<Utc>) -> String {
    format!("at#{}#", computed_at.format("%Y-%m-%dT%H:%M:%S%.6fZ"))
}

/// Record `readiness`: an item per application and per store under the computation's time,
/// then the item naming it the last whole one, then the items of earlier computations
/// deleted. A reader never sees a computation half-written.
pub async fn record(inventory: &Inventory, readiness: &Readiness) -> Result<(), AwsError> {
    let prefix = report_prefix(readiness.computed_at);
    let items: Vec<Item> = readiness
        .applications
        .iter()
        .map(|r| ("application", r))
        .chain(readiness.stores.iter().map(|r| ("store", r)))
        .map(|(kind, ready)| {
            Ok(Item {
                pk: READINESS_KEY.to_string(),
                sk: format!("{prefix}{kind}#{}", ready.subject),
                computed_at: readiness.computed_at,
                body: serde_json::to_string(ready)
                    .map_err(|e| AwsError::Malformed(e.to_string()))?,
            })
        })
        .collect::<Result<_, AwsError>>()?;
    stream::iter(items)
        .map(|item| async move { inventory.put_record(&item).await })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    inventory
        .put_record(&Item {
            pk: READINESS_KEY.to_string(),
            sk: LAST_WHOLE.to_string(),
            computed_at: readiness.computed_at,
            body: prefix.clone(),
        })
        .await?;
    let earlier: Vec<String> = read_items(inventory)
        .await?
        .into_iter()
        .map(|item| item.sk)
        .filter(|sk| sk != LAST_WHOLE && !sk.starts_with(&prefix))
        .collect();
    stream::iter(earlier)
        .map(|sk| async move { inventory.delete_record(READINESS_KEY, &sk).await })
        .buffer_unordered(CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}

async fn read_items(inventory: &Inventory) -> Result<Vec<Item>, AwsError> {
    inventory
        .partition(READINESS_KEY)
        .await?
        .into_iter()
        .map(|item| serde_dynamo::from_item(item).map_err(|e| AwsError::Malformed(e.to_string())))
        .collect()
}

/// The last whole computation's readiness (None: none was ever written whole).
pub async fn last(inventory: &Inventory) -> Result<Option<Readiness>, AwsError> {
    let items = read_items(inventory).await?;
    let Some(last) = items.iter().find(|i| i.sk == LAST_WHOLE) else {
        return Ok(None);
    };
    let mut readiness = Readiness {
        computed_at: last.computed_at,
        applications: Vec::new(),
        stores: Vec::new(),
    };
    for item in &items {
        let Some(part) = item.sk.strip_prefix(last.body.as_str()) else {
            continue;
        };
        let ready: Ready = serde_json::from_str(&item.body)
            .map_err(|e| AwsError::Malformed(format!("{}: {e}", item.sk)))?;
        if part.starts_with("application#") {
            readiness.applications.push(ready);
        } else {
            readiness.stores.push(ready);
        }
    }
    Ok(Some(readiness))
}
