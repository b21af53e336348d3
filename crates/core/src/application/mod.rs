//! Applications, as the configuration's `[[applications]]` declare them for failover: a set of
//! stores (by tag or by ARN), the region pair they fail over between, and the switches that
//! point clients at the restored copies (Route 53 records, SSM parameters). The `config`
//! module loads them; `failover` plans over them.

mod names;
mod template;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::arn::{Region, ResourceArn};
use crate::duration::Duration;

pub use names::{
    check_tag_key, check_tag_value, AlarmArn, AppName, EndpointUrl, HostedZoneId, ParameterName,
    RecordName, RecordType, RoutingControlArn,
};
pub use template::{Attribute, Part, Placeholder, ValueTemplate};

/// One application: what fails over together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    pub name: AppName,
    pub primary_region: Region,
    /// Never the primary region.
    pub dr_region: Region,
    pub stores: StoreSelector,
    /// The most data, in time, a failover may lose: a copy older than this blocks it. None:
    /// each store's tier RPO is the limit.
    pub max_data_loss: Option<Duration>,
    /// In the order the file lists them; no target twice.
    pub switches: Vec<Switch>,
    /// The alarm that starts the application's failover, if it opted in (off by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automatic_failover: Option<AutomaticFailover>,
}

/// A failover started by an alarm (seed 002's automated failover, for critical services that
/// opt in): when the alarm enters ALARM, the DR region's failover function plans the
/// application and, only if the plan is ready, starts the failover state machine under its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutomaticFailover {
    /// In the application's DR region and Bulwark's account, where the recovery deployment
    /// receives its state changes.
    pub alarm: AlarmArn,
    /// The alarm means the primary region is down: the run declares it (`--primary-down`), so
    /// that stores whose sources cannot be read are judged alone instead of stopping the run.
    #[serde(default)]
    pub primary_down: bool,
}

/// Which stores are the application's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StoreSelector {
    /// Every store carrying this tag, key and value exactly as written (as the Resource Groups
    /// Tagging API's tag filters match them).
    Tag { key: String, value: String },
    /// These stores, each once, in the primary region (S3 ARNs carry no region).
    Arns(Vec<ResourceArn>),
}

impl StoreSelector {
    /// Whether the store `arn`, carrying `tags`, is one of the application's.
    pub fn selects(&self, arn: &ResourceArn, tags: &BTreeMap<String, String>) -> bool {
        match self {
            StoreSelector::Tag { key, value } => tags.get(key) == Some(value),
            StoreSelector::Arns(arns) => arns.contains(arn),
        }
    }
}

/// What a switch changes. The order (derived) is only for maps.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SwitchTarget {
    /// A record set, without a set identifier (simple routing).
    Route53 {
        zone_id: HostedZoneId,
        name: RecordName,
        #[serde(rename = "type")]
        record_type: RecordType,
    },
    /// A parameter of the DR region, where the failed-over application reads it.
    Ssm {
        region: Region,
        parameter: ParameterName,
    },
    /// A Route 53 ARC routing control ("On" or "Off"), set through its cluster's data plane:
    /// any one of the cluster's regional endpoints will do, each tried in turn.
    RoutingControl {
        arn: RoutingControlArn,
        /// The cluster's endpoints, as DescribeCluster lists them (kept in the configuration,
        /// as AWS advises, since that control-plane call may not answer in an outage).
        endpoints: Vec<ClusterEndpoint>,
    },
}

/// One regional endpoint of a Route 53 ARC cluster.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ClusterEndpoint {
    pub url: EndpointUrl,
    /// The region its requests are signed for.
    pub region: Region,
}

/// The two states of a routing control (the data plane's RoutingControlState).
pub const ROUTING_CONTROL_STATES: [&str; 2] = ["On", "Off"];

impl SwitchTarget {
    /// The global control plane that writing this target needs, if any: Route 53's record API
    /// is served from one region alone (us-east-1 in the commercial partition), while an SSM
    /// parameter is written in the DR region itself.
    pub fn control_plane(&self) -> Option<&'static str> {
        match self {
            SwitchTarget::Route53 { .. } => Some("Route 53's control plane (us-east-1)"),
            SwitchTarget::Ssm { .. } | SwitchTarget::RoutingControl { .. } => None,
        }
    }
}

impl fmt::Display for SwitchTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SwitchTarget::Route53 {
                zone_id,
                name,
                record_type,
            } => write!(f, "route53 {zone_id} {name} {record_type}"),
            SwitchTarget::Ssm { region, parameter } => write!(f, "ssm {region} {parameter}"),
            SwitchTarget::RoutingControl { arn, .. } => write!(f, "routing control {arn}"),
        }
    }
}

/// One switch: its target and the value a failover gives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Switch {
    pub target: SwitchTarget,
    /// The record's TTL in seconds (default 60); None for a parameter.
    pub ttl: Option<u32>,
    pub value: ValueTemplate,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_selects_by_exact_key_and_value() {
        let arn = ResourceArn::parse("arn:aws:dynamodb:eu-west-1:123456789012:table/orders")
            .expect("arn");
        let by_tag = StoreSelector::Tag {
            key: "Application".into(),
            value: "payments".into(),
        };
        let tags = |k: &str, v: &str| BTreeMap::from([(k.to_string(), v.to_string())]);
        assert!(by_tag.selects(&arn, &tags("Application", "payments")));
        assert!(!by_tag.selects(&arn, &tags("application", "payments")));
        assert!(!by_tag.selects(&arn, &tags("Application", "Payments")));
        assert!(!by_tag.selects(&arn, &BTreeMap::new()));
        let by_arn = StoreSelector::Arns(vec![arn.clone()]);
        assert!(by_arn.selects(&arn, &BTreeMap::new()));
        let other =
            ResourceArn::parse("arn:aws:dynamodb:eu-west-1:123456789012:table/x").expect("arn");
        assert!(!by_arn.selects(&other, &tags("Application", "payments")));
    }

    #[test]
    fn targets_read_as_what_they_change() {
        let record = SwitchTarget::Route53 {
            zone_id: HostedZoneId::parse("Z123").expect("zone"),
            name: RecordName::parse("db.example.com").expect("name"),
            record_type: RecordType::Cname,
        };
        assert_eq!(record.to_string(), "route53 Z123 db.example.com. CNAME");
        let parameter = SwitchTarget::Ssm {
            region: Region::parse("us-west-2").expect("region"),
            parameter: ParameterName::parse("/payments/db-host").expect("parameter"),
        };
        assert_eq!(parameter.to_string(), "ssm us-west-2 /payments/db-host");
        assert_eq!(
            serde_json::to_value(&record).expect("json"),
            serde_json::json!({
                "kind": "route53", "zone_id": "Z123", "name": "db.example.com.", "type": "CNAME"
            })
        );
    }
}
