//! The inventory in one DynamoDB table. Key: `pk` = "<account>#<region>", `sk` = the ARN, so a
//! sweep reads its scope with one Query; the `arn-index` GSI finds an S3 bucket, whose ARN has
//! no account or region. Every write is conditional on the record's `version`.
//! IAM: see `permissions::INVENTORY`, `permissions::INVENTORY_LIST` and `permissions::INIT`.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::client::Waiters;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, CancellationReason,
    CreateReplicationGroupMemberAction, Delete, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    Projection, ProjectionType, Put, ReplicationGroupUpdate, ScalarAttributeType,
    StreamSpecification, StreamViewType, TransactWriteItem,
};
use aws_sdk_dynamodb::Client;
use bulwark_core::{
    plan_writes, Asset, Change, RecordDigest, Region, ResourceArn, Scope, ScopeSweep,
};
use futures::stream::{self, StreamExt};

use crate::error::{is_not_found, AwsError};
use crate::idempotency;
use crate::paging::try_mapped_pages;
use crate::permissions::{p, Permission};

mod table;
mod writes;

pub use table::INIT;

/// The state table's name when none is configured (BULWARK_TABLE, `--table`).
pub const DEFAULT_TABLE: &str = "bulwark-inventory";

/// The inventory table.
pub const INVENTORY: &[Permission] = &[
    p(
        "dynamodb:Query",
        "read an account and region's assets, or one by ARN",
    ),
    p("dynamodb:GetItem", "read one asset"),
    // A transaction is authorized item by item: its Puts need PutItem (there is no
    // "dynamodb:TransactWriteItems" action; see "Using IAM with DynamoDB transactions").
    p(
        "dynamodb:PutItem",
        "conditional upserts, 100 assets a TransactWriteItems call",
    ),
];
/// Listing the whole inventory: the CLI's reports (no function scans).
pub const INVENTORY_LIST: &[Permission] =
    &[p("dynamodb:Scan", "list the whole inventory for reports")];
const ARN_INDEX: &str = "arn-index";

/// The state table.
#[derive(Debug, Clone)]
pub struct Inventory {
    client: Client,
    table: String,
}

/// What a batch of changes did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WriteReport {
    pub written: usize,
    pub unchanged: usize,
    pub conflicts_resolved: usize,
}

/// The partition key of each scope's last sweep record (`put_sweep`).
pub const SWEEP_KEY: &str = "sweep";

/// One scope's last sweep: `at_ms` for the condition that keeps the newest.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct SweepRecord {
    pk: String,
    sk: String,
    at_ms: i64,
    sweep: ScopeSweep,
}

pub fn scope_key(scope: &Scope) -> String {
    format!("{}#{}", scope.account, scope.region)
}

/// An asset as a DynamoDB item: the serde form of the domain type plus the table's keys and
/// the digest of its observed facts (`observed`, what a sweep reads instead of the record).
pub fn to_item(asset: &Asset) -> Result<HashMap<String, AttributeValue>, AwsError> {
    let mut item: HashMap<String, AttributeValue> =
        serde_dynamo::to_item(asset).map_err(|e| AwsError::Malformed(e.to_string()))?;
    item.insert("pk".into(), AttributeValue::S(scope_key(&asset.scope())));
    item.insert("sk".into(), AttributeValue::S(asset.arn.to_string()));
    item.insert(
        OBSERVED.into(),
        AttributeValue::S(bulwark_core::digest::observed_digest(asset)),
    );
    Ok(item)
}

/// The attribute that holds a record's `observed_digest`.
const OBSERVED: &str = "observed";

/// A DynamoDB item as an asset; the keys are derived data and ignored.
pub fn from_item(item: HashMap<String, AttributeValue>) -> Result<Asset, AwsError> {
    serde_dynamo::from_item(item).map_err(|e| AwsError::Malformed(e.to_string()))
}

impl Inventory {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// The region of the replica this client reads and writes.
    pub fn region(&self) -> Option<String> {
        self.client.config().region().map(ToString::to_string)
    }

    /// Every asset of one account and region (dynamodb:Query, strongly consistent, paged),
    /// each page made assets before the next is read.
    pub async fn scope_assets(&self, scope: &Scope) -> Result<Vec<Asset>, AwsError> {
        let pages = self.scope_query(scope).into_paginator().send();
        try_mapped_pages(pages, "dynamodb:Query", |page| {
            page.items
                .unwrap_or_default()
                .into_iter()
                .map(from_item)
                .collect()
        })
        .await
    }

    /// What a sweep reads of one account and region's records: each one's ARN, kind, state
    /// and observed digest (dynamodb:Query with a projection, strongly consistent, paged), by
    /// ARN. A few dozen bytes a store, where the records run to kilobytes.
    pub async fn scope_digests(
        &self,
        scope: &Scope,
    ) -> Result<BTreeMap<ResourceArn, RecordDigest>, AwsError> {
        let pages = self
            .scope_query(scope)
            .projection_expression("#arn, #kind, #state, #observed")
            .expression_attribute_names("#arn", "arn")
            .expression_attribute_names("#kind", "kind")
            .expression_attribute_names("#state", "state")
            .expression_attribute_names("#observed", OBSERVED)
            .into_paginator()
            .send();
        let digests = try_mapped_pages(pages, "dynamodb:Query", |page| {
            page.items
                .unwrap_or_default()
                .into_iter()
                .map(|item| {
                    serde_dynamo::from_item::<_, RecordDigest>(item)
                        .map_err(|e| AwsError::Malformed(e.to_string()))
                })
                .collect()
        })
        .await?;
        Ok(digests.into_iter().map(|d| (d.arn.clone(), d)).collect())
    }

    /// The records of `arns`, all of `scope` (dynamodb:GetItem each, strongly consistent, a
    /// few at once); one that is not there is left out.
    pub async fn scope_records(
        &self,
        scope: &Scope,
        arns: &[&ResourceArn],
    ) -> Result<Vec<Asset>, AwsError> {
        let pk = scope_key(scope);
        let records: Vec<Result<Option<Asset>, AwsError>> = stream::iter(arns)
            .map(|arn| self.get_keyed(pk.clone(), arn))
            .buffer_unordered(8)
            .collect()
            .await;
        records.into_iter().filter_map(Result::transpose).collect()
    }

    /// The Query of one account and region's records.
    fn scope_query(
        &self,
        scope: &Scope,
    ) -> aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(scope_key(scope)))
            .consistent_read(true)
    }

    /// Write one record of the table's other partitions (a restore test, a restore in flight),
    /// mapped to an item with serde_dynamo; a record of the same key is replaced (PutItem).
    pub async fn put_record(&self, record: &impl serde::Serialize) -> Result<(), AwsError> {
        let item: HashMap<String, AttributeValue> =
            serde_dynamo::to_item(record).map_err(|e| AwsError::Malformed(e.to_string()))?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| AwsError::sdk("dynamodb:PutItem", e))?;
        Ok(())
    }

    /// Delete one record of the table's other partitions by its key (dynamodb:DeleteItem); one
    /// already gone is no error.
    pub async fn delete_record(&self, pk: &str, sk: &str) -> Result<(), AwsError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.to_string()))
            .key("sk", AttributeValue::S(sk.to_string()))
            .send()
            .await
            .map_err(|e| AwsError::sdk("dynamodb:DeleteItem", e))?;
        Ok(())
    }

    /// Write one record and delete another in one transaction (dynamodb:TransactWriteItems,
    /// authorized as dynamodb:PutItem and dynamodb:DeleteItem): one call where two would do,
    /// and never one without the other. Sent again, it is the same write.
    pub async fn put_record_deleting(
        &self,
        record: &impl serde::Serialize,
        (pk, sk): (&str, &str),
    ) -> Result<(), AwsError> {
        let item: HashMap<String, AttributeValue> =
            serde_dynamo::to_item(record).map_err(|e| AwsError::Malformed(e.to_string()))?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .build()
            .map_err(|e| AwsError::Malformed(e.to_string()))?;
        let delete = Delete::builder()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk.to_string()))
            .key("sk", AttributeValue::S(sk.to_string()))
            .build()
            .map_err(|e| AwsError::Malformed(e.to_string()))?;
        self.client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().delete(delete).build())
            .send()
            .await
            .map_err(|e| AwsError::sdk("dynamodb:TransactWriteItems", e))?;
        Ok(())
    }

    /// Every item under one partition key (dynamodb:Query, strongly consistent, paged).
    pub async fn partition(
        &self,
        pk: &str,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, AwsError> {
        self.query(pk, None).await
    }

    /// Record that a sweep listed `sweep.kinds` of its scope completely: one write per scope,
    /// whatever the number of stores. A newer sweep's record is never replaced by an older one's
    /// (two sweeps racing).
    pub async fn put_sweep(&self, sweep: &ScopeSweep) -> Result<(), AwsError> {
        let record = SweepRecord {
            pk: SWEEP_KEY.to_string(),
            sk: scope_key(&sweep.scope),
            at_ms: sweep.at.timestamp_millis(),
            sweep: sweep.clone(),
        };
        let item: HashMap<String, AttributeValue> =
            serde_dynamo::to_item(&record).map_err(|e| AwsError::Malformed(e.to_string()))?;
        let written = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(sk) OR at_ms < :at")
            .expression_attribute_values(":at", AttributeValue::N(record.at_ms.to_string()))
            .send()
            .await;
        match written {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e, &["ConditionalCheckFailedException"]) => Ok(()),
            Err(e) => Err(AwsError::sdk("dynamodb:PutItem", e)),
        }
    }

    /// Every scope's last recorded sweep (dynamodb:Query).
    pub async fn sweeps(&self) -> Result<Vec<ScopeSweep>, AwsError> {
        self.partition(SWEEP_KEY)
            .await?
            .into_iter()
            .map(|item| {
                serde_dynamo::from_item::<_, SweepRecord>(item)
                    .map(|r| r.sweep)
                    .map_err(|e| AwsError::Malformed(e.to_string()))
            })
            .collect()
    }

    /// The items under one partition key whose sort key starts with `prefix` (dynamodb:Query,
    /// strongly consistent, paged).
    pub async fn partition_prefix(
        &self,
        pk: &str,
        prefix: &str,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, AwsError> {
        self.query(pk, Some(prefix)).await
    }

    async fn query(
        &self,
        pk: &str,
        prefix: Option<&str>,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, AwsError> {
        let condition = match prefix {
            Some(_) => "pk = :pk AND begins_with(sk, :prefix)",
            None => "pk = :pk",
        };
        let mut query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression(condition)
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_string()))
            .consistent_read(true);
        if let Some(prefix) = prefix {
            query =
                query.expression_attribute_values(":prefix", AttributeValue::S(prefix.to_string()));
        }
        query
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| AwsError::sdk("dynamodb:Query", e))
    }

    /// The whole inventory (dynamodb:Scan, paged): for reports.
    pub async fn all(&self) -> Result<Vec<Asset>, AwsError> {
        let items = self
            .client
            .scan()
            .table_name(&self.table)
            .consistent_read(true)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| AwsError::sdk("dynamodb:Scan", e))?;
        // The table also holds leases (lease.rs), restore tests (restore/history.rs), restores
        // in flight (restore/pending.rs), failover runs (failover/record.rs) and readiness
        // (failover/readiness.rs), and each scope's last sweep: they are not assets.
        let others = [
            crate::lease::LEASE_KEY,
            crate::restore::history::HISTORY_KEY,
            crate::restore::pending::PENDING_KEY,
            crate::failover::record::RUN_KEY,
            crate::failover::readiness::READINESS_KEY,
            SWEEP_KEY,
        ]
        .map(|key| AttributeValue::S(key.to_string()));
        let mut assets: Vec<Asset> = items
            .into_iter()
            .filter(|item| item.get("pk").is_none_or(|pk| !others.contains(pk)))
            .map(from_item)
            .collect::<Result<_, _>>()?;
        assets.sort_by(|a, b| {
            (&a.account, &a.region, a.kind, &a.name).cmp(&(&b.account, &b.region, b.kind, &b.name))
        });
        Ok(assets)
    }

    /// One asset by ARN. An S3 ARN names neither account nor region: the `arn-index` finds its key.
    pub async fn get(&self, arn: &ResourceArn) -> Result<Option<Asset>, AwsError> {
        let pk = match (&arn.account, &arn.region) {
            (Some(account), Some(region)) => scope_key(&Scope {
                account: account.clone(),
                region: region.clone(),
            }),
            _ => {
                let found = self
                    .client
                    .query()
                    .table_name(&self.table)
                    .index_name(ARN_INDEX)
                    .key_condition_expression("arn = :arn")
                    .expression_attribute_values(":arn", AttributeValue::S(arn.to_string()))
                    .send()
                    .await
                    .map_err(|e| AwsError::sdk("dynamodb:Query", e))?;
                match found
                    .items()
                    .first()
                    .and_then(|i| i.get("pk"))
                    .and_then(|v| v.as_s().ok())
                {
                    Some(pk) => pk.clone(),
                    None => return Ok(None),
                }
            }
        };
        self.get_keyed(pk, arn).await
    }

    /// One asset by its keys (dynamodb:GetItem, strongly consistent).
    async fn get_keyed(&self, pk: String, arn: &ResourceArn) -> Result<Option<Asset>, AwsError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(pk))
            .key("sk", AttributeValue::S(arn.to_string()))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| AwsError::sdk("dynamodb:GetItem", e))?;
        out.item.map(from_item).transpose()
    }
}

/// Assets grouped by scope, for reading each scope once.
pub fn by_scope<'a>(
    assets: impl IntoIterator<Item = &'a Asset>,
) -> BTreeMap<Scope, Vec<&'a Asset>> {
    let mut grouped: BTreeMap<Scope, Vec<&Asset>> = BTreeMap::new();
    for asset in assets {
        grouped.entry(asset.scope()).or_default().push(asset);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;
    use bulwark_core::{AccountId, Attributes, Classification, Region, UnknownValue};
    use chrono::{TimeZone, Utc};

    fn sample() -> Asset {
        let account = AccountId::parse("123456789012").expect("account");
        let region = Region::parse("eu-west-1").expect("region");
        let arn = ResourceArn::parse("arn:aws:s3:::orders-archive").expect("arn");
        let now = Utc
            .with_ymd_and_hms(2026, 3, 4, 5, 6, 7)
            .single()
            .expect("time");
        let mut asset = Asset::observed(
            arn,
            account,
            region,
            BTreeMap::from([("DataClassification".into(), "supersecret".into())]),
            Attributes {
                size_bytes: Some(42),
                encrypted: Some(true),
                ..Attributes::default()
            },
            now,
        );
        asset.version = 7;
        asset.classification = Some(Classification {
            tier: Some("archival".into()),
            backup_required: true,
            reproducible: false,
            rule: "name".into(),
            reasons: vec!["name contains archive".into()],
            unknown_values: vec![UnknownValue {
                key: "DataClassification".into(),
                value: "supersecret".into(),
            }],
        });
        asset
    }

    #[test]
    fn an_asset_survives_the_trip_through_an_item() {
        let asset = sample();
        let item = to_item(&asset).expect("item");
        assert_eq!(
            item.get("pk"),
            Some(&AttributeValue::S("123456789012#eu-west-1".into()))
        );
        assert_eq!(
            item.get("sk"),
            Some(&AttributeValue::S("arn:aws:s3:::orders-archive".into()))
        );
        assert_eq!(
            item.get("arn"),
            Some(&AttributeValue::S("arn:aws:s3:::orders-archive".into()))
        );
        assert_eq!(item.get("version"), Some(&AttributeValue::N("7".into())));
        assert_eq!(from_item(item).expect("asset"), asset);
    }

    #[test]
    fn an_item_written_by_hand_reads_as_an_asset() {
        let item = HashMap::from([
            (
                "pk".to_string(),
                AttributeValue::S("123456789012#us-east-1".into()),
            ),
            (
                "sk".to_string(),
                AttributeValue::S("arn:aws:dynamodb:us-east-1:123456789012:table/users".into()),
            ),
            (
                "arn".to_string(),
                AttributeValue::S("arn:aws:dynamodb:us-east-1:123456789012:table/users".into()),
            ),
            ("kind".to_string(), AttributeValue::S("dynamodb".into())),
            (
                "account".to_string(),
                AttributeValue::S("123456789012".into()),
            ),
            ("region".to_string(), AttributeValue::S("us-east-1".into())),
            ("name".to_string(), AttributeValue::S("users".into())),
            (
                "first_seen".to_string(),
                AttributeValue::S("2026-01-01T00:00:00Z".into()),
            ),
            (
                "last_seen".to_string(),
                AttributeValue::S("2026-01-02T00:00:00Z".into()),
            ),
            ("state".to_string(), AttributeValue::S("gone".into())),
            ("version".to_string(), AttributeValue::N("2".into())),
        ]);
        let asset = from_item(item).expect("asset");
        assert_eq!(asset.name, "users");
        assert_eq!(asset.state, bulwark_core::AssetState::Gone);
        assert!(asset.tags.is_empty());
        assert_eq!(asset.version, 2);
    }

    #[test]
    fn a_malformed_item_is_an_error_not_a_panic() {
        let item = HashMap::from([("arn".to_string(), AttributeValue::S("not an arn".into()))]);
        assert!(matches!(from_item(item), Err(AwsError::Malformed(_))));
    }
}
