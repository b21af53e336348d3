//! Restore tests recorded in the state table, one item each (pk `restore-test`, sk the store's
//! ARN and the test's start), and read back for coverage: each store's last test.

use std::collections::{BTreeMap, BTreeSet};

use bulwark_core::coverage::RestoreTest as CoverageRestoreTest;
use bulwark_core::restore::{
    failure_reason, month_start, shortened, spend_by_tier, Usd, SHORT_REASON_CHARS,
};
use bulwark_core::Duration;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::error::AwsError;
use crate::permissions::{p, Permission};
use crate::restore::{Origin, RestoreTest};
use crate::store::Inventory;

pub const EVIDENCE: &[Permission] = &[p(
    "s3:PutObject",
    "a restore test's evidence document, in Bulwark's evidence bucket",
)];

/// The partition key of every restore test's record.
pub const HISTORY_KEY: &str = "restore-test";

/// One record: what coverage needs, and the whole test as JSON for whoever wants the detail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Record {
    pk: String,
    sk: String,
    arn: String,
    completed: chrono::DateTime<chrono::Utc>,
    rto_seconds: u64,
    /// None when nothing was measured, and in records older than the field.
    #[serde(default)]
    rpo_seconds: Option<u64>,
    passed: bool,
    /// Why the test failed, cut short (coverage quotes it in an exception).
    #[serde(default)]
    reason: Option<String>,
    /// Which copy was tested: coverage and scheduling judge a store by its own region's tests.
    #[serde(default)]
    origin: Origin,
    /// The tier tested under, and what the test cost, estimated (in millionths of a dollar):
    /// what a tier's monthly budget counts. None in records older than the fields.
    #[serde(default)]
    tier: Option<String>,
    #[serde(default)]
    cost_micros: Option<u64>,
    test: String,
}

/// Record a test (PutItem; a record of the same store and start is replaced, so a retry
/// never doubles it). A test whose restore is settled forgets its restore in flight in the
/// same write (one TransactWriteItems).
pub async fn record(inventory: &Inventory, test: &RestoreTest) -> Result<(), AwsError> {
    let record = Record {
        pk: HISTORY_KEY.to_string(),
        sk: format!(
            "{}#{}#{}",
            test.arn,
            test.started.to_rfc3339(),
            serde_json::to_value(test.origin)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        ),
        arn: test.arn.clone(),
        completed: test.ended,
        rto_seconds: test.measured.map_or(0, |m| m.rto_seconds),
        rpo_seconds: test.measured.map(|m| m.rpo_seconds),
        passed: test.passed,
        reason: failure_reason(
            test.error.as_deref(),
            &test.findings,
            test.measured.as_ref(),
        )
        .map(|r| shortened(&r, SHORT_REASON_CHARS)),
        origin: test.origin,
        tier: test.tier.clone(),
        cost_micros: test.cost.as_ref().and_then(|c| c.usd).map(Usd::micros),
        test: serde_json::to_string(test).map_err(|e| AwsError::Malformed(e.to_string()))?,
    };
    if test.restore_settled {
        inventory
            .put_record_deleting(&record, (super::pending::PENDING_KEY, &test.id))
            .await
    } else {
        inventory.put_record(&record).await
    }
}

/// Each store's last restore test of its own region's recovery points, as coverage judges it,
/// by ARN (one paged Query).
pub async fn last_tests(
    inventory: &Inventory,
) -> Result<BTreeMap<String, CoverageRestoreTest>, AwsError> {
    Ok(scheduling(inventory, Utc::now()).await?.last)
}

/// What the scheduler reads of the history, in one paged Query: each store's last test of its
/// own region (as coverage judges it), what each tier's tests cost since the start of `now`'s
/// month, and what each store's last priced test of its own region cost.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scheduling {
    pub last: BTreeMap<String, CoverageRestoreTest>,
    pub spent_this_month: BTreeMap<String, Usd>,
    pub last_cost: BTreeMap<String, Usd>,
    /// By store: the recovery points its passed tests restored (of any origin), verified good.
    pub verified_points: BTreeMap<String, BTreeSet<String>>,
}

/// The point a recorded test restored (the rest of the test is not read here).
#[derive(Deserialize)]
struct TestedPoint {
    #[serde(default)]
    recovery_point_arn: Option<String>,
}

pub async fn scheduling(inventory: &Inventory, now: DateTime<Utc>) -> Result<Scheduling, AwsError> {
    let month = month_start(now);
    let mut facts = Scheduling::default();
    let mut last_priced: BTreeMap<String, DateTime<Utc>> = BTreeMap::new();
    let mut costs: Vec<(String, DateTime<Utc>, Option<Usd>)> = Vec::new();
    for item in inventory.partition(HISTORY_KEY).await? {
        let record: Record =
            serde_dynamo::from_item(item).map_err(|e| AwsError::Malformed(e.to_string()))?;
        let cost = record.cost_micros.map(Usd::from_micros);
        if let Some(tier) = &record.tier {
            costs.push((tier.clone(), record.completed, cost));
        }
        if record.passed {
            let tested: TestedPoint = serde_json::from_str(&record.test)
                .map_err(|e| AwsError::Malformed(format!("restore test {}: {e}", record.sk)))?;
            if let Some(point) = tested.recovery_point_arn {
                facts
                    .verified_points
                    .entry(record.arn.clone())
                    .or_default()
                    .insert(point);
            }
        }
        if record.origin != Origin::Home {
            continue;
        }
        if let Some(cost) = cost {
            if last_priced
                .get(&record.arn)
                .is_none_or(|t| *t < record.completed)
            {
                last_priced.insert(record.arn.clone(), record.completed);
                facts.last_cost.insert(record.arn.clone(), cost);
            }
        }
        let minutes = |seconds: u64| Duration::from_minutes(seconds.div_ceil(60));
        let test = CoverageRestoreTest {
            completed: record.completed,
            duration: minutes(record.rto_seconds),
            succeeded: record.passed,
            rpo: record.rpo_seconds.map(minutes),
            reason: record.reason,
        };
        let newer = facts
            .last
            .get(&record.arn)
            .is_none_or(|t| t.completed < test.completed);
        if newer {
            facts.last.insert(record.arn, test);
        }
    }
    facts.spent_this_month = spend_by_tier(
        costs
            .iter()
            .map(|(tier, ended, cost)| (tier.as_str(), *ended, *cost)),
        month,
    )
    .into_iter()
    .map(|(tier, spend)| (tier, spend.usd))
    .collect();
    Ok(facts)
}

/// Every recorded test (of one store, with `arn`), newest first.
pub async fn tests(inventory: &Inventory, arn: Option<&str>) -> Result<Vec<RestoreTest>, AwsError> {
    let mut tests = Vec::new();
    for item in inventory.partition(HISTORY_KEY).await? {
        let record: Record =
            serde_dynamo::from_item(item).map_err(|e| AwsError::Malformed(e.to_string()))?;
        if arn.is_some_and(|a| a != record.arn) {
            continue;
        }
        let test: RestoreTest = serde_json::from_str(&record.test)
            .map_err(|e| AwsError::Malformed(format!("restore test {}: {e}", record.sk)))?;
        tests.push(test);
    }
    tests.sort_by(|a, b| b.ended.cmp(&a.ended).then_with(|| a.arn.cmp(&b.arn)));
    Ok(tests)
}

/// Write a test's evidence document, the whole test as JSON, to `bucket` under
/// `restore-tests/<date>/<test id>.json` (the bucket is versioned, so nothing overwrites it for
/// good). Returns its key.
pub async fn write_evidence(
    aws: &crate::Aws,
    bucket: &str,
    test: &RestoreTest,
) -> Result<String, AwsError> {
    let key = format!(
        "restore-tests/{}/{}.json",
        test.ended.format("%Y/%m/%d"),
        test.id
    );
    put_document(aws, bucket, &key, test).await?;
    Ok(key)
}

/// Write `document` as JSON to `bucket` under `key` (an evidence document); the SHA-256 of
/// the bytes written, in hex.
pub(crate) async fn put_document(
    aws: &crate::Aws,
    bucket: &str,
    key: &str,
    document: &impl Serialize,
) -> Result<String, AwsError> {
    let body =
        serde_json::to_vec_pretty(document).map_err(|e| AwsError::Malformed(e.to_string()))?;
    let sha256 = hex::encode(sha2::Sha256::digest(&body));
    aws.s3()
        .put_object()
        .bucket(bucket)
        .key(key)
        .content_type("application/json")
        .body(body.into())
        .send()
        .await
        .map_err(|e| AwsError::sdk("s3:PutObject", e))?;
    Ok(sha256)
}
