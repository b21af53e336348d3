//! The state table itself: created with its index and stream (the CLI's `init`; the template
//! creates it in AWS), and its replicas in the DR regions.

use super::*;

/// Creating the inventory table (the CLI's `init`; the deployment template creates it in AWS).
pub const INIT: &[Permission] = &[
    p(
        "dynamodb:DescribeTable",
        "see whether the state table exists",
    ),
    p("dynamodb:CreateTable", "create the state table"),
    p(
        "dynamodb:UpdateTable",
        "turn the state table's stream on and add its replicas in the DR regions",
    ),
    // Adding a replica of a global table (version 2019.11.21) is authorized as these too
    // (DynamoDB developer guide, "Using IAM with global tables").
    p(
        "dynamodb:CreateTableReplica",
        "a replica of the state table in each DR region",
    ),
    p(
        "dynamodb:UpdateItem",
        "adding a replica: DynamoDB copies the items into it as the caller",
    ),
    p(
        "dynamodb:DeleteItem",
        "adding a replica: DynamoDB copies the items into it as the caller",
    ),
    p(
        "dynamodb:BatchWriteItem",
        "adding a replica: DynamoDB copies the items into it as the caller",
    ),
    p(
        "iam:CreateServiceLinkedRole",
        "the account's first replica creates AWSServiceRoleForDynamoDBReplication",
    ),
];

/// The stream a global table replicates from.
fn replication_stream() -> Result<StreamSpecification, AwsError> {
    StreamSpecification::builder()
        .stream_enabled(true)
        .stream_view_type(StreamViewType::NewAndOldImages)
        .build()
        .map_err(|e| AwsError::Malformed(e.to_string()))
}

impl Inventory {
    /// Create the table when it is missing (dynamodb:DescribeTable, dynamodb:CreateTable) and
    /// wait until it is active. Returns whether it created it.
    pub async fn ensure_table(&self) -> Result<bool, AwsError> {
        match self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
        {
            Ok(_) => return Ok(false),
            Err(e) if is_not_found(&e, &["ResourceNotFoundException"]) => {}
            Err(e) => return Err(AwsError::sdk("dynamodb:DescribeTable", e)),
        }
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(|e| AwsError::Malformed(e.to_string()))
        };
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| AwsError::Malformed(e.to_string()))
        };
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("pk")?)
            .attribute_definitions(attr("sk")?)
            .attribute_definitions(attr("arn")?)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            // Global tables replicate from the stream (both images): a replica can be added
            // without changing the table first.
            .stream_specification(replication_stream()?)
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(ARN_INDEX)
                    .key_schema(key("arn", KeyType::Hash)?)
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::KeysOnly)
                            .build(),
                    )
                    .build()
                    .map_err(|e| AwsError::Malformed(e.to_string()))?,
            )
            .send()
            .await;
        match created {
            Ok(_) => {}
            // Another caller created it between our look and our create: that is success too.
            Err(e) if is_not_found(&e, &["ResourceInUseException"]) => return Ok(false),
            Err(e) => return Err(AwsError::sdk("dynamodb:CreateTable", e)),
        }
        self.client
            .wait_until_table_exists()
            .table_name(&self.table)
            .wait(std::time::Duration::from_secs(120))
            .await
            .map_err(|e| AwsError::Transport {
                operation: "dynamodb:DescribeTable",
                message: format!("table {} did not become active: {e}", self.table),
            })?;
        Ok(true)
    }

    /// Make the state table a global table (version 2019.11.21) with a replica in each of
    /// `regions` (its own region aside), one UpdateTable each, waiting for the table to be
    /// ACTIVE between them as DynamoDB requires; a failover then finds its state in the DR
    /// region when the home region is gone. Returns the regions added.
    pub async fn ensure_replicas(&self, regions: &[Region]) -> Result<Vec<Region>, AwsError> {
        let described = self
            .client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .map_err(|e| AwsError::sdk("dynamodb:DescribeTable", e))?;
        let table = described.table();
        let own = self.client.config().region().map(|r| r.to_string());
        let have: Vec<String> = table
            .map(|t| t.replicas())
            .unwrap_or_default()
            .iter()
            .filter_map(|r| r.region_name().map(str::to_string))
            .collect();
        let streaming = table
            .and_then(|t| t.stream_specification())
            .is_some_and(|s| {
                s.stream_enabled() && s.stream_view_type() == Some(&StreamViewType::NewAndOldImages)
            });
        let wanted: Vec<&Region> = regions
            .iter()
            .filter(|r| Some(r.as_str()) != own.as_deref() && !have.iter().any(|h| h == r.as_str()))
            .collect();
        if wanted.is_empty() {
            return Ok(Vec::new());
        }
        if !streaming {
            self.client
                .update_table()
                .table_name(&self.table)
                .stream_specification(replication_stream()?)
                .send()
                .await
                .map_err(|e| AwsError::sdk("dynamodb:UpdateTable", e))?;
            self.wait_active().await?;
        }
        let mut added = Vec::new();
        for region in wanted {
            let create = CreateReplicationGroupMemberAction::builder()
                .region_name(region.as_str())
                .build()
                .map_err(|e| AwsError::Malformed(e.to_string()))?;
            self.client
                .update_table()
                .table_name(&self.table)
                .replica_updates(ReplicationGroupUpdate::builder().create(create).build())
                .send()
                .await
                .map_err(|e| AwsError::sdk("dynamodb:UpdateTable", e))?;
            self.wait_active().await?;
            added.push(region.clone());
        }
        Ok(added)
    }

    async fn wait_active(&self) -> Result<(), AwsError> {
        self.client
            .wait_until_table_exists()
            .table_name(&self.table)
            .wait(std::time::Duration::from_secs(600))
            .await
            .map(|_| ())
            .map_err(|e| AwsError::Transport {
                operation: "dynamodb:DescribeTable",
                message: format!("table {} did not become active: {e}", self.table),
            })
    }
}
