//! AWS Config as a discovery source: where a region's configuration recorder records a kind,
//! one paged advanced query (SelectResourceConfig) gives every store of that kind with its
//! tags and configuration, instead of a listing per kind and the Tagging API. Each row is
//! built into the SDK type its listing returns and mapped by the same function (`mapping`), so
//! the inventory is the same whichever source filled it. EFS stays with the API: its
//! configuration item has neither the file system's size nor its state.
//!
//! With an aggregator (in Bulwark's own account and home region), each scope's items come from
//! one SelectAggregateResourceConfig filtered to its account and region, and only for a scope
//! whose aggregator source last SUCCEEDED; the member's recorder still says which kinds it
//! records, so a kind it leaves out is listed rather than marked gone.

use std::collections::{BTreeMap, BTreeSet};

use aws_smithy_types::DateTime as SdkDateTime;
use bulwark_core::{
    AccountId, AggregatedSource, AggregatorCoverage, AggregatorName, Asset, Kind, Region, Scope,
};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::mapping;
use crate::clients::ScopeClients;
use crate::error::AwsError;
use crate::paging::try_mapped_pages;
use crate::permissions::{p, Permission};

pub const CONFIG_SOURCE: &[Permission] = &[
    p(
        "config:DescribeConfigurationRecorders",
        "which kinds a region's recorder records",
    ),
    p(
        "config:DescribeConfigurationRecorderStatus",
        "whether the region's recorder is recording",
    ),
    p(
        "config:SelectResourceConfig",
        "every recorded store of the region, 100 a page",
    ),
    p(
        "config:DescribeConfigurationAggregatorSourcesStatus",
        "which accounts and regions the aggregator holds up to date",
    ),
    p(
        "config:SelectAggregateResourceConfig",
        "every recorded store of one account and region from the aggregator, 100 a page",
    ),
];

/// S3 versioning from the configuration items (`[protection] versioning_from_config`).
pub const VERSIONING_FROM_CONFIG: &[Permission] = &[
    p(
        "config:DescribeConfigurationRecorders",
        "whether the region's recorder records buckets",
    ),
    p(
        "config:DescribeConfigurationRecorderStatus",
        "whether the region's recorder is recording",
    ),
    p(
        "config:SelectResourceConfig",
        "each bucket's versioning, 100 a page",
    ),
];

/// Each bucket's versioning (Enabled or not) by name, from the configuration items of the
/// clients' region; None when the region's recorder does not record buckets.
pub async fn bucket_versioning(
    clients: &ScopeClients,
) -> Result<Option<BTreeMap<String, bool>>, AwsError> {
    if !recorded_kinds(clients).await?.contains(&Kind::S3) {
        return Ok(None);
    }
    let rows = select_in_region(
        clients,
        "SELECT resourceName, supplementaryConfiguration WHERE resourceType = 'AWS::S3::Bucket'",
    )
    .await?;
    let mut versioning = BTreeMap::new();
    for row in rows {
        let item = parsed(&row)?;
        if let (Some(name), Some(enabled)) =
            (item["resourceName"].as_str(), versioning_enabled(&item))
        {
            versioning.insert(name.to_string(), enabled);
        }
    }
    Ok(Some(versioning))
}

/// A bucket item's `BucketVersioningConfiguration.status` is Enabled (None: the item does not
/// say). The advanced query gives the supplementary configuration as an object; the history
/// API as a JSON string: both are read.
fn versioning_enabled(item: &Value) -> Option<bool> {
    let configuration = &item["supplementaryConfiguration"]["BucketVersioningConfiguration"];
    let configuration = match configuration {
        Value::String(text) => serde_json::from_str(text).ok()?,
        other => other.clone(),
    };
    Some(configuration["status"].as_str()? == "Enabled")
}

/// An aggregator as a sweep reads it: its client (Bulwark's account, home region), its name,
/// and the scopes it covers, read once a sweep (an error: it covers none, and says why).
#[derive(Debug, Clone)]
pub struct Aggregate {
    pub client: aws_sdk_config::Client,
    pub name: AggregatorName,
    pub coverage: Result<AggregatorCoverage, AwsError>,
}

impl Aggregate {
    pub async fn read(client: aws_sdk_config::Client, name: AggregatorName) -> Self {
        let coverage = coverage(&client, &name).await;
        if let Err(error) = &coverage {
            tracing::warn!(aggregator = %name, %error, "the aggregator's sources could not be read; every scope is listed");
        }
        Self {
            client,
            name,
            coverage,
        }
    }

    /// Why `scope`'s items are not taken from the aggregator, if they are not.
    pub fn not_covering(&self, scope: &Scope) -> Option<String> {
        match &self.coverage {
            Err(error) => Some(format!("aggregator {}: {error}", self.name)),
            Ok(coverage) if !coverage.covers(scope) => Some(format!(
                "aggregator {} has no source of {scope} whose last update succeeded",
                self.name
            )),
            Ok(_) => None,
        }
    }
}

/// config:DescribeConfigurationAggregatorSourcesStatus, every page.
async fn coverage(
    client: &aws_sdk_config::Client,
    name: &AggregatorName,
) -> Result<AggregatorCoverage, AwsError> {
    let statuses: Vec<aws_sdk_config::types::AggregatedSourceStatus> = client
        .describe_configuration_aggregator_sources_status()
        .configuration_aggregator_name(name.as_str())
        .limit(100)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::sdk("config:DescribeConfigurationAggregatorSourcesStatus", e))?;
    let mut sources = Vec::with_capacity(statuses.len());
    for status in statuses {
        use aws_sdk_config::types::{AggregatedSourceStatusType, AggregatedSourceType};
        let succeeded = status.last_update_status() == Some(&AggregatedSourceStatusType::Succeeded);
        let region = Region::parse(status.aws_region().unwrap_or_default())?;
        sources.push(match status.source_type() {
            Some(AggregatedSourceType::Organization) => {
                AggregatedSource::Organization { region, succeeded }
            }
            _ => AggregatedSource::Account {
                account: AccountId::parse(status.source_id().unwrap_or_default())?,
                region,
                succeeded,
            },
        });
    }
    Ok(AggregatorCoverage::from_sources(sources))
}

/// Where a scope's configuration items are read.
#[derive(Debug, Clone, Copy)]
pub enum Items<'a> {
    /// The scope's own region: SelectResourceConfig with the scope's clients.
    Region,
    /// The aggregator: SelectAggregateResourceConfig for the scope's account and region.
    Aggregate(&'a Aggregate),
}

/// The kinds Config gives; EFS is left to the API.
const KINDS: [Kind; 5] = [Kind::S3, Kind::Rds, Kind::Aurora, Kind::Dynamodb, Kind::Ebs];

/// The kinds the clients' region records: those a recording recorder's group takes.
pub async fn recorded_kinds(clients: &ScopeClients) -> Result<BTreeSet<Kind>, AwsError> {
    let status = clients
        .configservice
        .describe_configuration_recorder_status()
        .send()
        .await
        .map_err(|e| AwsError::sdk("config:DescribeConfigurationRecorderStatus", e))?;
    let recording: BTreeSet<&str> = status
        .configuration_recorders_status()
        .iter()
        .filter(|s| s.recording())
        .filter_map(|s| s.name())
        .collect();
    if recording.is_empty() {
        return Ok(BTreeSet::new());
    }
    let recorders = clients
        .configservice
        .describe_configuration_recorders()
        .send()
        .await
        .map_err(|e| AwsError::sdk("config:DescribeConfigurationRecorders", e))?;
    let mut kinds = BTreeSet::new();
    for recorder in recorders.configuration_recorders() {
        if !recorder.name().is_some_and(|n| recording.contains(n)) {
            continue;
        }
        let group = recorder.recording_group();
        let all = group.is_none_or(|g| g.all_supported());
        let listed: BTreeSet<&str> = group
            .map(|g| g.resource_types().iter().map(|t| t.as_str()).collect())
            .unwrap_or_default();
        let excluded: BTreeSet<&str> = group
            .and_then(|g| g.exclusion_by_resource_types())
            .map(|e| e.resource_types().iter().map(|t| t.as_str()).collect())
            .unwrap_or_default();
        for kind in KINDS {
            let resource_type = kind.config_resource_type();
            if (all || listed.contains(resource_type)) && !excluded.contains(resource_type) {
                kinds.insert(kind);
            }
        }
    }
    Ok(kinds)
}

/// Every store of `kinds` in the clients' scope, from its configuration items read from
/// `items`.
pub async fn stores(
    clients: &ScopeClients,
    items: Items<'_>,
    kinds: &BTreeSet<Kind>,
    now: DateTime<Utc>,
) -> Result<Vec<Asset>, AwsError> {
    let types: Vec<String> = KINDS
        .iter()
        .filter(|kind| kinds.contains(kind))
        .map(|kind| format!("'{}'", kind.config_resource_type()))
        .collect();
    if types.is_empty() {
        return Ok(Vec::new());
    }
    let mut expression = format!(
        "SELECT accountId, awsRegion, resourceType, resourceId, resourceName, tags, configuration \
         WHERE resourceType IN ({})",
        types.join(", ")
    );
    let scope = &clients.scope;
    // Each page's rows made assets before the next is read: a configuration item runs to
    // kilobytes, its asset to far less.
    let take = |rows: &[String]| -> Result<Vec<Asset>, AwsError> {
        let mut assets = Vec::new();
        for row in rows {
            let item = parsed(row)?;
            let of_scope = item["accountId"].as_str() == Some(scope.account.as_str())
                && item["awsRegion"].as_str() == Some(scope.region.as_str());
            if !of_scope {
                return Err(AwsError::Malformed(format!(
                    "a configuration item of another account or region than {scope}: {}",
                    shortened(&item)
                )));
            }
            assets.extend(asset(&item, scope, now)?);
        }
        Ok(assets)
    };
    match items {
        Items::Region => {
            let pages = clients
                .configservice
                .select_resource_config()
                .expression(expression)
                .limit(100)
                .into_paginator()
                .send();
            try_mapped_pages(pages, "config:SelectResourceConfig", |page| {
                take(page.results())
            })
            .await
        }
        Items::Aggregate(aggregate) => {
            // Both are parsed newtypes (twelve digits; a region's letters, digits and
            // hyphens): nothing in them can end the quoted literal.
            expression.push_str(&format!(
                " AND accountId = '{}' AND awsRegion = '{}'",
                scope.account, scope.region
            ));
            let pages = aggregate
                .client
                .select_aggregate_resource_config()
                .configuration_aggregator_name(aggregate.name.as_str())
                .expression(expression)
                .limit(100)
                .into_paginator()
                .send();
            try_mapped_pages(pages, "config:SelectAggregateResourceConfig", |page| {
                take(page.results())
            })
            .await
        }
    }
}

async fn select_in_region(
    clients: &ScopeClients,
    expression: &str,
) -> Result<Vec<String>, AwsError> {
    clients
        .configservice
        .select_resource_config()
        .expression(expression)
        .limit(100)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::sdk("config:SelectResourceConfig", e))
}

/// One result row: a configuration item as JSON.
fn parsed(row: &str) -> Result<Value, AwsError> {
    serde_json::from_str(row).map_err(|e| AwsError::Malformed(format!("a configuration item: {e}")))
}

/// One configuration item as the asset its listing would have made (None: not a store of its
/// own, such as an Aurora cluster's member instance).
pub fn asset(item: &Value, scope: &Scope, now: DateTime<Utc>) -> Result<Option<Asset>, AwsError> {
    let malformed = |what: &str| {
        AwsError::Malformed(format!(
            "a configuration item without {what}: {}",
            shortened(item)
        ))
    };
    let resource_type = item["resourceType"]
        .as_str()
        .ok_or_else(|| malformed("resourceType"))?;
    let name = item["resourceName"]
        .as_str()
        .ok_or_else(|| malformed("resourceName"))?;
    let c = &item["configuration"];
    let tags = tags(&item["tags"]);
    Ok(match resource_type {
        "AWS::RDS::DBInstance" => {
            let db = aws_sdk_rds::types::DbInstance::builder()
                .db_instance_identifier(name)
                .set_dbi_resource_id(string(item, "resourceId"))
                .set_db_cluster_identifier(string(c, "dBClusterIdentifier"))
                .set_engine(string(c, "engine"))
                .set_allocated_storage(int(c, "allocatedStorage"))
                .set_storage_encrypted(c["storageEncrypted"].as_bool())
                .set_kms_key_id(string(c, "kmsKeyId"))
                .set_backup_retention_period(int(c, "backupRetentionPeriod"))
                .set_pending_modified_values(
                    int(&c["pendingModifiedValues"], "backupRetentionPeriod").map(|days| {
                        aws_sdk_rds::types::PendingModifiedValues::builder()
                            .backup_retention_period(days)
                            .build()
                    }),
                )
                .set_db_instance_status(string(c, "dBInstanceStatus"))
                .set_multi_az(c["multiAZ"].as_bool())
                .set_read_replica_db_instance_identifiers(strings(
                    c,
                    "readReplicaDBInstanceIdentifiers",
                ))
                .set_instance_create_time(time(c, "instanceCreateTime"))
                .set_tag_list(Some(rds_tags(&tags)))
                .build();
            mapping::rds_instance(&db, scope, now)
        }
        "AWS::RDS::DBCluster" => {
            let members = c["dBClusterMembers"]
                .as_array()
                .map(|members| {
                    members
                        .iter()
                        .map(|m| {
                            aws_sdk_rds::types::DbClusterMember::builder()
                                .set_db_instance_identifier(string(m, "dBInstanceIdentifier"))
                                .set_is_cluster_writer(m["isClusterWriter"].as_bool())
                                .build()
                        })
                        .collect()
                })
                .unwrap_or_default();
            let cluster = aws_sdk_rds::types::DbCluster::builder()
                .db_cluster_identifier(name)
                .set_db_cluster_resource_id(string(item, "resourceId"))
                .set_engine(string(c, "engine"))
                .set_allocated_storage(int(c, "allocatedStorage"))
                .set_storage_encrypted(c["storageEncrypted"].as_bool())
                .set_kms_key_id(string(c, "kmsKeyId"))
                .set_backup_retention_period(int(c, "backupRetentionPeriod"))
                .set_pending_modified_values(
                    int(&c["pendingModifiedValues"], "backupRetentionPeriod").map(|days| {
                        aws_sdk_rds::types::ClusterPendingModifiedValues::builder()
                            .backup_retention_period(days)
                            .build()
                    }),
                )
                .set_status(string(c, "status"))
                .set_multi_az(c["multiAZ"].as_bool())
                .set_read_replica_identifiers(strings(c, "readReplicaIdentifiers"))
                .set_cluster_create_time(time(c, "clusterCreateTime"))
                .set_db_cluster_members(Some(members))
                .set_tag_list(Some(rds_tags(&tags)))
                .build();
            mapping::db_cluster(&cluster, scope, now)
        }
        "AWS::EC2::Volume" => {
            let volume = aws_sdk_ec2::types::Volume::builder()
                .volume_id(name)
                .set_size(int(c, "size"))
                .set_encrypted(c["encrypted"].as_bool())
                .set_kms_key_id(string(c, "kmsKeyId"))
                .set_state(
                    string(c, "state").map(|s| aws_sdk_ec2::types::VolumeState::from(s.as_str())),
                )
                .set_create_time(time(c, "createTime"))
                .set_tags(Some(
                    tags.iter()
                        .map(|(k, v)| aws_sdk_ec2::types::Tag::builder().key(k).value(v).build())
                        .collect(),
                ))
                .build();
            mapping::ebs(&volume, scope, now)
        }
        "AWS::S3::Bucket" => {
            let bucket = aws_sdk_s3::types::Bucket::builder()
                .name(name)
                .set_creation_date(time(c, "creationDate"))
                .build();
            mapping::s3_bucket(&bucket, tags, scope, now)
        }
        "AWS::DynamoDB::Table" => Some(mapping::dynamodb_table(name, tags, scope, now)),
        other => {
            return Err(AwsError::Malformed(format!(
                "a configuration item of a type not asked for: {other}"
            )))
        }
    })
}

/// The advanced query's tags: `[{"key", "value"}]` (a configuration item's own: a map).
fn tags(value: &Value) -> BTreeMap<String, String> {
    match value {
        Value::Array(tags) => tags
            .iter()
            .filter_map(|t| {
                Some((
                    t["key"].as_str()?.to_string(),
                    t["value"].as_str().unwrap_or_default().to_string(),
                ))
            })
            .collect(),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// A configuration item's list of strings; None when it has none.
fn strings(c: &Value, key: &str) -> Option<Vec<String>> {
    c[key].as_array().map(|values| {
        values
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    })
}

fn rds_tags(tags: &BTreeMap<String, String>) -> Vec<aws_sdk_rds::types::Tag> {
    tags.iter()
        .map(|(k, v)| aws_sdk_rds::types::Tag::builder().key(k).value(v).build())
        .collect()
}

fn string(value: &Value, key: &str) -> Option<String> {
    value[key].as_str().map(str::to_string)
}

fn int(value: &Value, key: &str) -> Option<i32> {
    value[key].as_i64().and_then(|n| i32::try_from(n).ok())
}

/// A time as Config writes it (ISO 8601), or as a number of epoch seconds.
fn time(value: &Value, key: &str) -> Option<SdkDateTime> {
    match &value[key] {
        Value::String(text) => DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|t| SdkDateTime::from_secs_and_nanos(t.timestamp(), t.timestamp_subsec_nanos())),
        Value::Number(n) => n.as_f64().map(SdkDateTime::from_secs_f64),
        _ => None,
    }
}

/// An item, cut short for an error message.
fn shortened(item: &Value) -> String {
    let text = item.to_string();
    text.chars().take(200).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bulwark_core::{AccountId, Region};
    use chrono::TimeZone;

    fn scope() -> Scope {
        Scope {
            account: AccountId::parse("123456789012").expect("account"),
            region: Region::parse("us-east-1").expect("region"),
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0)
            .single()
            .expect("time")
    }

    #[test]
    fn an_instance_maps_as_its_listing_does_and_a_cluster_member_is_no_store() {
        let item = serde_json::json!({
            "resourceType": "AWS::RDS::DBInstance",
            "resourceName": "orders-db",
            "tags": [{"key": "Team", "value": "orders", "tag": "Team=orders"}],
            "configuration": {
                "engine": "postgres", "allocatedStorage": 20, "storageEncrypted": true,
                "backupRetentionPeriod": 7, "dBInstanceStatus": "available",
                "instanceCreateTime": "2026-11-01T10:00:00.250Z",
                "pendingModifiedValues": {"backupRetentionPeriod": 14}
            }
        });
        let asset = asset(&item, &scope(), now())
            .expect("mapped")
            .expect("a store");
        assert_eq!(asset.kind, Kind::Rds);
        assert_eq!(asset.name, "orders-db");
        assert_eq!(asset.tags.get("Team").map(String::as_str), Some("orders"));
        assert_eq!(asset.attributes.size_bytes, Some(20 << 30));
        assert_eq!(asset.attributes.backup_retention_days, Some(7));
        assert_eq!(asset.attributes.pending_backup_retention_days, Some(14));
        assert_eq!(
            asset.attributes.created_at,
            Utc.with_ymd_and_hms(2026, 11, 1, 10, 0, 0)
                .single()
                .map(|t| t + chrono::Duration::milliseconds(250))
        );
        let mut member = item.clone();
        member["configuration"]["dBClusterIdentifier"] = "ledger".into();
        assert_eq!(asset_of(&member), None);
    }

    fn asset_of(item: &Value) -> Option<Asset> {
        asset(item, &scope(), now()).expect("mapped")
    }

    #[test]
    fn a_cluster_keeps_its_members_sorted_and_a_volume_its_tags() {
        let cluster = asset_of(&serde_json::json!({
            "resourceType": "AWS::RDS::DBCluster", "resourceName": "ledger", "tags": [],
            "configuration": {"engine": "aurora-postgresql", "status": "available",
                "dBClusterMembers": [{"dBInstanceIdentifier": "ledger-2"}, {"dBInstanceIdentifier": "ledger-1"}]}
        }))
        .expect("a store");
        assert_eq!(cluster.kind, Kind::Aurora);
        assert_eq!(cluster.attributes.members, vec!["ledger-1", "ledger-2"]);
        let volume = asset_of(&serde_json::json!({
            "resourceType": "AWS::EC2::Volume", "resourceName": "vol-0abc",
            "tags": [{"key": "Name", "value": "data"}],
            "configuration": {"size": 8, "encrypted": false, "state": "in-use"}
        }))
        .expect("a store");
        assert_eq!(volume.kind, Kind::Ebs);
        assert_eq!(volume.tags.get("Name").map(String::as_str), Some("data"));
        assert_eq!(volume.attributes.status.as_deref(), Some("in-use"));
    }

    #[test]
    fn a_buckets_versioning_is_read_as_an_object_or_a_json_string() {
        let item = |configuration: Value| {
            serde_json::json!({"resourceName": "b",
                "supplementaryConfiguration": {"BucketVersioningConfiguration": configuration}})
        };
        let enabled = item(serde_json::json!({"status": "Enabled"}));
        assert_eq!(versioning_enabled(&enabled), Some(true));
        let suspended = item(Value::String(
            r#"{"status":"Suspended","isMfaDeleteEnabled":null}"#.into(),
        ));
        assert_eq!(versioning_enabled(&suspended), Some(false));
        assert_eq!(
            versioning_enabled(&item(serde_json::json!({"status": "Off"}))),
            Some(false)
        );
        assert_eq!(
            versioning_enabled(&serde_json::json!({"resourceName": "b"})),
            None
        );
    }

    #[test]
    fn an_item_without_its_type_or_of_another_is_refused() {
        assert!(asset(&serde_json::json!({"resourceName": "x"}), &scope(), now()).is_err());
        let other = serde_json::json!({"resourceType": "AWS::SQS::Queue", "resourceName": "q"});
        assert!(asset(&other, &scope(), now()).is_err());
    }
}
