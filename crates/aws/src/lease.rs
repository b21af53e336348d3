//! A lease in the state table: one holder at a time for a name (assign-policy holds one per
//! account while it reconciles), so that two runs, a Config event's and a sweep's or the
//! CLI's, never race on the same vaults, keys and selections. A lease expires on its own, so a
//! run that dies leaves nothing held for longer than its time-to-live.
//! IAM: see `LEASE`.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodb::Client;
use chrono::Utc;

use crate::error::{is_not_found, AwsError};
use crate::permissions::{p, Permission};

/// Taking and giving back a lease in the state table.
pub const LEASE: &[Permission] = &[
    p("dynamodb:PutItem", "take a lease, if free or expired"),
    p("dynamodb:DeleteItem", "give a lease back"),
];

/// The partition key of every lease item; assets' keys are `<account>#<region>`.
pub const LEASE_KEY: &str = "lease";

/// A lease held on `name` until `release` (or its time-to-live passes).
#[derive(Debug)]
pub struct Lease {
    client: Client,
    table: String,
    name: String,
    holder: String,
    /// The writes taking it cost (one, and one more for each wait).
    attempts: u64,
}

impl Lease {
    /// Take the lease on `name` for `ttl`, waiting up to `wait` for another holder to give it
    /// back (or for its lease to expire). A lease still held after `wait` is a conflict: a
    /// retry later may succeed.
    pub async fn acquire(
        client: &Client,
        table: &str,
        name: &str,
        ttl: Duration,
        wait: Duration,
    ) -> Result<Self, AwsError> {
        let holder = format!(
            "{}-{}",
            std::process::id(),
            Utc::now().timestamp_nanos_opt().unwrap_or_default()
        );
        let started = std::time::Instant::now();
        let mut pause = Duration::from_millis(200);
        let mut attempts = 0;
        loop {
            attempts += 1;
            let now = Utc::now().timestamp();
            let taken = client
                .put_item()
                .table_name(table)
                .item("pk", AttributeValue::S(LEASE_KEY.to_string()))
                .item("sk", AttributeValue::S(name.to_string()))
                .item("holder", AttributeValue::S(holder.clone()))
                .item(
                    "expires",
                    AttributeValue::N((now + ttl.as_secs() as i64).to_string()),
                )
                .condition_expression("attribute_not_exists(pk) OR expires < :now")
                .expression_attribute_values(":now", AttributeValue::N(now.to_string()))
                .send()
                .await;
            match taken {
                Ok(_) => {
                    return Ok(Self {
                        client: client.clone(),
                        table: table.to_string(),
                        name: name.to_string(),
                        holder,
                        attempts,
                    })
                }
                Err(e) if is_not_found(&e, &["ConditionalCheckFailedException"]) => {
                    if started.elapsed() + pause > wait {
                        return Err(AwsError::Conflict {
                            operation: "lease",
                            key: name.to_string(),
                        });
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(AwsError::sdk("dynamodb:PutItem", e)),
            }
        }
    }

    /// Give the lease back, if still ours (an expired lease another run took is left alone).
    /// Returns the writes the lease cost, taking and giving back.
    pub async fn release(self) -> Result<u64, AwsError> {
        let released = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("pk", AttributeValue::S(LEASE_KEY.to_string()))
            .key("sk", AttributeValue::S(self.name.clone()))
            .condition_expression("holder = :me")
            .expression_attribute_values(":me", AttributeValue::S(self.holder.clone()))
            .send()
            .await;
        match released {
            Ok(_) => Ok(self.attempts + 1),
            Err(e) if is_not_found(&e, &["ConditionalCheckFailedException"]) => {
                Ok(self.attempts + 1)
            }
            Err(e) => Err(AwsError::sdk("dynamodb:DeleteItem", e)),
        }
    }
}
