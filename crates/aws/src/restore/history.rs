//! Restore tests recorded in the state table, one item each (pk `restore-test`, sk the store's
//! ARN and the test's start), and read back for coverage: each store's last test.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use bulwark_core::coverage::RestoreTest as CoverageRestoreTest;
use bulwark_core::Duration;
use serde::{Deserialize, Serialize};

use crate::error::AwsError;
use crate::restore::RestoreTest;
use crate::store::Inventory;

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
    passed: bool,
    test: String,
}

/// Record a test (PutItem; a record of the same store and start is replaced, so a retry
/// never doubles it).
pub async fn record(inventory: &Inventory, test: &RestoreTest) -> Result<(), AwsError> {
    let record = Record {
        pk: HISTORY_KEY.to_string(),
        sk: format!("{}#{}", test.arn, test.timing.started.to_rfc3339()),
        arn: test.arn.clone(),
        completed: test.timing.validated,
        rto_seconds: test.measured.rto_seconds,
        passed: test.passed,
        test: serde_json::to_string(test).map_err(|e| AwsError::Malformed(e.to_string()))?,
    };
    let item: HashMap<String, AttributeValue> =
        serde_dynamo::to_item(&record).map_err(|e| AwsError::Malformed(e.to_string()))?;
    inventory
        .client()
        .put_item()
        .table_name(inventory.table())
        .set_item(Some(item))
        .send()
        .await
        .map_err(|e| AwsError::sdk("dynamodb:PutItem", e))?;
    Ok(())
}

/// Each store's last restore test, as coverage judges it, by ARN (one paged Query).
pub async fn last_tests(
    inventory: &Inventory,
) -> Result<BTreeMap<String, CoverageRestoreTest>, AwsError> {
    let items = inventory.partition(HISTORY_KEY).await?;
    let mut last: BTreeMap<String, CoverageRestoreTest> = BTreeMap::new();
    for item in items {
        let record: Record =
            serde_dynamo::from_item(item).map_err(|e| AwsError::Malformed(e.to_string()))?;
        let test = CoverageRestoreTest {
            completed: record.completed,
            duration: Duration::from_minutes(record.rto_seconds.div_ceil(60)),
            succeeded: record.passed,
        };
        let newer = last
            .get(&record.arn)
            .is_none_or(|t| t.completed < test.completed);
        if newer {
            last.insert(record.arn, test);
        }
    }
    Ok(last)
}
