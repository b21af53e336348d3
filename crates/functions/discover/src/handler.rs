//! discover: an EventBridge scheduled event -> a full sweep; an AWS Config "Configuration
//! Item Change" event for one of the six kinds -> that one store, deletion included. For the
//! sweep state machine's fan-out: `{"shards": {}}` -> the scopes in reach, each a shard;
//! `{"shard": {"account", "region"}}` -> that one scope's sweep.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use bulwark_aws::ops::{self, DiscoverSummary};
use bulwark_core::alerts::failed_scopes_metric;
use bulwark_core::{AccountId, Kind, Region, ResourceArn, Scope};
use bulwark_lambda::{FunctionError, Input, Services};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The `detail` of an AWS Config configuration item change event. AWS sends the item itself,
/// or only its summary when the item is too large for the event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigItemChange {
    pub message_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration_item: Option<ConfigurationItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration_item_summary: Option<ConfigurationItem>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration_item_diff: Option<Value>,
}

/// The identifying part of a configuration item (the rest is kept but not read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigurationItem {
    pub resource_type: String,
    pub resource_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_name: Option<String>,
    #[serde(rename = "ARN", default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    pub aws_region: String,
    pub aws_account_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configuration_item_status: Option<String>,
    #[serde(flatten)]
    pub other: serde_json::Map<String, Value>,
}

/// What an event asks discover to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Sweep,
    /// The scopes a fan-out sweeps, one shard each.
    Shards,
    /// One shard's sweep.
    Shard(Scope),
    /// `at` is when AWS Config saw the change: an event delivered twice is the same observation.
    One {
        arn: ResourceArn,
        scope: Scope,
        at: Option<DateTime<Utc>>,
    },
    /// A well-formed event for a resource Bulwark does not inventory: logged and skipped.
    Skip(String),
}

const SCHEDULED: &str = "Scheduled Event";
const CONFIG_CHANGE: &str = "Config Configuration Item Change";

/// What discover takes: the sweep state machine's shard requests, or EventBridge's envelope,
/// whose `detail` depends on the source.
#[derive(Debug, Clone, PartialEq)]
pub enum DiscoverEvent {
    Shards,
    Shard(Scope),
    Event(EventBridgeEvent<Value>),
}

impl<'de> Deserialize<'de> for DiscoverEvent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = Value::deserialize(deserializer)?;
        if let Some(shard) = value.get("shard") {
            return serde_json::from_value(shard.clone())
                .map(DiscoverEvent::Shard)
                .map_err(|e| {
                    D::Error::custom(format!("a shard is {{\"account\", \"region\"}}: {e}"))
                });
        }
        if value.get("shards").is_some() {
            return Ok(DiscoverEvent::Shards);
        }
        serde_json::from_value(value)
            .map(DiscoverEvent::Event)
            .map_err(D::Error::custom)
    }
}

/// Read an event into a request; a malformed or unexpected event is a clear error.
pub fn parse(event: Value) -> Result<Request, FunctionError> {
    request(Input::from_value(event))
}

/// What a typed event asks for.
pub fn request(input: Input<DiscoverEvent>) -> Result<Request, FunctionError> {
    let envelope = match input.request("an EventBridge event or a shard request")? {
        DiscoverEvent::Shards => return Ok(Request::Shards),
        DiscoverEvent::Shard(scope) => return Ok(Request::Shard(scope)),
        DiscoverEvent::Event(envelope) => envelope,
    };
    match (envelope.source.as_str(), envelope.detail_type.as_str()) {
        ("aws.events" | "aws.scheduler", SCHEDULED) => Ok(Request::Sweep),
        ("aws.config", CONFIG_CHANGE) => {
            let detail: ConfigItemChange = serde_json::from_value(envelope.detail)
                .map_err(|e| FunctionError::InvalidInput(format!("malformed Config change detail: {e}")))?;
            config_change(detail, envelope.time)
        }
        (source, detail_type) => Err(FunctionError::InvalidInput(format!(
            "unexpected event: source {source:?}, detail-type {detail_type:?}; expected a scheduled event or an AWS Config configuration item change"
        ))),
    }
}

fn config_change(
    detail: ConfigItemChange,
    at: Option<DateTime<Utc>>,
) -> Result<Request, FunctionError> {
    let item = detail
        .configuration_item
        .or(detail.configuration_item_summary)
        .ok_or_else(|| {
            FunctionError::InvalidInput("Config change without a configuration item".into())
        })?;
    let Some(kind) = Kind::from_config_resource_type(&item.resource_type) else {
        return Ok(Request::Skip(format!(
            "resource type {} is not a data store Bulwark covers",
            item.resource_type
        )));
    };
    let invalid = |e: bulwark_core::CoreError| FunctionError::InvalidInput(e.to_string());
    let region = Region::parse(&item.aws_region).map_err(invalid)?;
    let account = AccountId::parse(&item.aws_account_id).map_err(invalid)?;
    let arn = match &item.arn {
        Some(arn) if !arn.is_empty() => ResourceArn::parse(arn).map_err(invalid)?,
        // RDS items are keyed by resource id (db-…, cluster-…); their name is the identifier.
        _ => {
            let id = match kind {
                Kind::Rds | Kind::Aurora => {
                    item.resource_name.as_deref().unwrap_or(&item.resource_id)
                }
                _ => &item.resource_id,
            };
            ResourceArn::new(kind, region.partition(), &region, &account, id)
        }
    };
    if arn.kind != kind {
        return Err(FunctionError::InvalidInput(format!(
            "ARN {arn} does not name a {}",
            item.resource_type
        )));
    }
    Ok(Request::One {
        arn,
        scope: Scope { account, region },
        at,
    })
}

/// What discover answers: a sweep's or a lookup's summary, or a fan-out's shards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Response {
    Summary(Box<DiscoverSummary>),
    Shards(ops::Shards),
}

/// The function's work: parse the event, then sweep (everything, or one shard), plan the
/// shards, or look up one store.
pub async fn handle(
    services: &Services,
    event: Input<DiscoverEvent>,
) -> Result<Response, FunctionError> {
    let now = chrono::Utc::now();
    let request = request(event)?;
    let sweeping = matches!(request, Request::Sweep | Request::Shard(_));
    let summary = match request {
        Request::Shards => {
            return Ok(Response::Shards(
                ops::shards(&services.aws, &services.settings.reach).await?,
            ))
        }
        Request::Shard(scope) => {
            ops::discover_shard(
                &services.aws,
                &services.inventory,
                &services.settings.reach,
                scope,
                &services.settings.discovery_source,
                now,
            )
            .await?
        }
        Request::Sweep => {
            ops::discover_all_from(
                &services.aws,
                &services.inventory,
                &services.settings.reach,
                services.settings.concurrency,
                &services.settings.discovery_source,
                now,
            )
            .await?
        }
        Request::One { arn, scope, at } => {
            ops::discover_one(
                &services.aws,
                &services.inventory,
                &arn,
                scope,
                services.settings.reach.org_role.as_deref(),
                at.unwrap_or(now),
            )
            .await?
        }
        Request::Skip(reason) => {
            tracing::info!(%reason, "skipped");
            DiscoverSummary::default()
        }
    };
    if sweeping {
        // A partial sweep is a result (what completed is recorded), and a metric that the
        // template's alarm watches.
        println!(
            "{}",
            failed_scopes_metric("discover", summary.failures.len(), now)
        );
    }
    Ok(Response::Summary(Box::new(summary)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> Value {
        let path = format!("{}/../../../events/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn every_sample_event_survives_parse_serialize_reparse() {
        for name in [
            "schedule.json",
            "config-change-dynamodb-create.json",
            "config-change-rds-delete.json",
            "config-change-s3-oversized.json",
            "config-change-unsupported.json",
        ] {
            let value = sample(name);
            let typed: EventBridgeEvent<Value> = serde_json::from_value(value.clone()).expect(name);
            let again: EventBridgeEvent<Value> =
                serde_json::from_str(&serde_json::to_string(&typed).expect(name)).expect(name);
            assert_eq!(typed, again, "{name}");
            if typed.source == "aws.config" {
                let detail: ConfigItemChange =
                    serde_json::from_value(typed.detail.clone()).expect(name);
                let reparsed: ConfigItemChange =
                    serde_json::from_str(&serde_json::to_string(&detail).expect(name)).expect(name);
                assert_eq!(detail, reparsed, "{name}");
            }
        }
    }

    #[test]
    fn the_fan_outs_requests_are_shards_and_one_shard() {
        assert_eq!(
            parse(serde_json::json!({"shards": {}})).expect("parse"),
            Request::Shards
        );
        let Request::Shard(scope) = parse(serde_json::json!({
            "shard": {"account": "123456789012", "region": "eu-west-1"}
        }))
        .expect("parse") else {
            panic!("expected a shard");
        };
        assert_eq!(scope.region.as_str(), "eu-west-1");
        let bad = parse(serde_json::json!({"shard": {"account": "12", "region": "eu-west-1"}}));
        assert!(
            matches!(&bad, Err(FunctionError::InvalidInput(why)) if why.contains("a shard is")),
            "{bad:?}"
        );
    }

    #[test]
    fn a_schedule_is_a_sweep() {
        assert_eq!(
            parse(sample("schedule.json")).expect("parse"),
            Request::Sweep
        );
    }

    #[test]
    fn a_config_change_names_one_store() {
        let Request::One { arn, scope, .. } =
            parse(sample("config-change-dynamodb-create.json")).expect("parse")
        else {
            panic!("expected one store");
        };
        assert_eq!(
            arn.to_string(),
            "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"
        );
        assert_eq!(scope.region.as_str(), "eu-west-1");
    }

    #[test]
    fn an_rds_deletion_without_an_arn_uses_the_instance_name() {
        let Request::One { arn, .. } =
            parse(sample("config-change-rds-delete.json")).expect("parse")
        else {
            panic!("expected one store");
        };
        assert_eq!(
            arn.to_string(),
            "arn:aws:rds:us-east-1:123456789012:db:legacy-reports"
        );
    }

    #[test]
    fn an_oversized_item_is_read_from_its_summary() {
        let Request::One { arn, .. } =
            parse(sample("config-change-s3-oversized.json")).expect("parse")
        else {
            panic!("expected one store");
        };
        assert_eq!(arn.to_string(), "arn:aws:s3:::customer-uploads-prod");
    }

    #[test]
    fn an_unsupported_resource_type_is_skipped() {
        assert!(matches!(
            parse(sample("config-change-unsupported.json")).expect("parse"),
            Request::Skip(_)
        ));
    }

    #[test]
    fn malformed_events_are_clear_errors() {
        let cases = [
            serde_json::json!({"hello": "world"}),
            serde_json::json!({"source": "aws.ec2", "detail-type": "EC2 Instance State-change Notification", "detail": {}}),
            serde_json::json!({"source": "aws.config", "detail-type": "Config Configuration Item Change", "detail": {"messageType": "ConfigurationItemChangeNotification"}}),
            serde_json::json!({"source": "aws.config", "detail-type": "Config Configuration Item Change", "detail": {"messageType": "x", "configurationItem": {"resourceType": "AWS::DynamoDB::Table", "resourceId": "t", "awsRegion": "nowhere", "awsAccountId": "123456789012"}}}),
            serde_json::json!({"source": "aws.config", "detail-type": "Config Configuration Item Change", "detail": {"messageType": "x", "configurationItem": {"resourceType": "AWS::DynamoDB::Table", "resourceId": "t", "ARN": "arn:aws:s3:::bucket", "awsRegion": "eu-west-1", "awsAccountId": "123456789012"}}}),
        ];
        for event in cases {
            let err = parse(event.clone()).expect_err(&event.to_string());
            assert_eq!(
                err.error_type(),
                bulwark_lambda::error_type::INVALID_INPUT,
                "{event}"
            );
        }
    }
}
