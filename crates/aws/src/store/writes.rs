//! Writing asset records: conditional on each record's version, 100 a transaction, a change
//! that loses a race re-read and applied again.

use super::*;

/// TransactWriteItems takes at most 100 items.
const TRANSACTION_LIMIT: usize = 100;
/// How often a batch is sent when it keeps failing past the SDK's retries, and the first pause.
const BATCH_ATTEMPTS: u32 = 4;
const BATCH_RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(500);
/// Rounds of re-read and re-apply after a conflicting concurrent write.
const CONFLICT_ROUNDS: usize = 4;

impl Inventory {
    /// Write `records` as they are, each conditional on its version: what gives a record
    /// written before the observed digest its digest. One another writer changed meanwhile is
    /// left as that writer wrote it (with a digest). Returns how many were written.
    pub async fn rewrite(&self, records: Vec<Asset>) -> Result<usize, AwsError> {
        let pairs: Vec<(Change, Asset)> = records
            .into_iter()
            .map(|record| (Change::Observed(Box::new(record.clone())), record))
            .collect();
        let mut written = 0;
        for chunk in pairs.chunks(TRANSACTION_LIMIT) {
            let lost = self.write_chunk_retried(chunk).await?;
            written += chunk.len() - lost.len();
        }
        Ok(written)
    }

    /// Apply `changes` given `stored` (what the caller read): conditional writes, 100 a
    /// transaction; a change that loses a race to another writer is re-read and applied again.
    pub async fn apply(
        &self,
        stored: &[Asset],
        changes: &[Change],
    ) -> Result<WriteReport, AwsError> {
        let mut report = WriteReport::default();
        let mut writes = plan_writes(stored, changes);
        report.unchanged = changes.len() - writes.len();
        for round in 0..=CONFLICT_ROUNDS {
            if writes.is_empty() {
                break;
            }
            let results: Vec<Result<Vec<Change>, AwsError>> =
                stream::iter(writes.chunks(TRANSACTION_LIMIT))
                    .map(|chunk| self.write_chunk_retried(chunk))
                    .buffer_unordered(4)
                    .collect()
                    .await;
            let mut lost = Vec::new();
            for result in results {
                lost.extend(result?);
            }
            report.written += writes.len() - lost.len();
            if lost.is_empty() {
                break;
            }
            if round == CONFLICT_ROUNDS {
                return Err(AwsError::Conflict {
                    operation: "dynamodb:TransactWriteItems",
                    key: lost[0].arn().to_string(),
                });
            }
            report.conflicts_resolved += lost.len();
            let mut fresh = Vec::with_capacity(lost.len());
            for change in &lost {
                fresh.extend(self.get(change.arn()).await?);
            }
            writes = plan_writes(&fresh, &lost);
        }
        Ok(report)
    }

    /// One transaction, sent again with backoff while it fails for a reason a retry may cure
    /// (after the SDK's own retries): its idempotency token makes a resend of one that did
    /// land the same transaction, and its conditions make a resend of a stale one lose.
    async fn write_chunk_retried(
        &self,
        chunk: &[(Change, Asset)],
    ) -> Result<Vec<Change>, AwsError> {
        let mut pause = BATCH_RETRY_PAUSE;
        let mut attempt = 1;
        loop {
            match self.write_chunk(chunk).await {
                Err(e) if e.is_retryable() && attempt < BATCH_ATTEMPTS => {
                    tracing::warn!(attempt, error = %e, "inventory batch failed; sending it again");
                    tokio::time::sleep(pause).await;
                    pause *= 2;
                    attempt += 1;
                }
                outcome => return outcome,
            }
        }
    }

    /// One transaction. Returns the changes whose condition failed (another writer got there
    /// first); the others in a cancelled transaction are retried with them.
    async fn write_chunk(&self, chunk: &[(Change, Asset)]) -> Result<Vec<Change>, AwsError> {
        let mut items = Vec::with_capacity(chunk.len());
        let mut records = Vec::with_capacity(chunk.len());
        for (_, next) in chunk {
            let expected = next.version;
            let mut record = next.clone();
            record.version = expected + 1;
            let item = to_item(&record)?;
            records.push(record);
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression(if expected == 0 {
                    "attribute_not_exists(sk)"
                } else {
                    "version = :expected"
                });
            let put = if expected == 0 {
                put
            } else {
                put.expression_attribute_values(
                    ":expected",
                    AttributeValue::N(expected.to_string()),
                )
            };
            items.push(
                TransactWriteItem::builder()
                    .put(
                        put.build()
                            .map_err(|e| AwsError::Malformed(e.to_string()))?,
                    )
                    .build(),
            );
        }
        // The same batch sent again (a retried invocation) is the same transaction to DynamoDB.
        let token =
            idempotency::token(idempotency::CLIENT_REQUEST_TOKEN_MAX, "inventory", &records)?;
        let sent = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .client_request_token(token)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(vec![]),
            Err(err) => {
                let reasons: Option<Vec<CancellationReason>> =
                    err.as_service_error().and_then(|e| match e {
                        TransactWriteItemsError::TransactionCanceledException(c) => {
                            Some(c.cancellation_reasons().to_vec())
                        }
                        _ => None,
                    });
                match reasons {
                    Some(reasons) if !reasons.is_empty() => {
                        let conflicted = reasons
                            .iter()
                            .any(|r| r.code() == Some("ConditionalCheckFailed"));
                        if !conflicted {
                            return Err(AwsError::sdk("dynamodb:TransactWriteItems", err));
                        }
                        Ok(chunk.iter().map(|(change, _)| change.clone()).collect())
                    }
                    _ => Err(AwsError::sdk("dynamodb:TransactWriteItems", err)),
                }
            }
        }
    }
}
