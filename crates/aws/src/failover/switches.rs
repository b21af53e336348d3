//! An application's switches: Route 53 records, SSM parameters and Route 53 ARC routing
//! controls, read whole (a snapshot, for the plan and for what an abort puts back), written
//! (the failover's new value, UPSERT / Overwrite / the routing control's state), verified (the
//! record change is INSYNC and answers the new value; the parameter and the routing control
//! read back), and put back exactly as the snapshot recorded them. A record with a routing
//! policy is read as one an abort could not put back: the plan blocks its switch. A
//! SecureString stays one, with its key, and its value is read back from its version at the
//! abort, never copied into Bulwark's records. A routing control is read and set through any
//! one of its cluster's regional endpoints, each tried in turn: the data plane answers while a
//! region, or the control plane, is down.

use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ChangeStatus, ResourceRecord, ResourceRecordSet, RrType,
};
use aws_sdk_ssm::types::{ParameterStringFilter, ParameterTier, ParameterType};
use bulwark_core::application::{ClusterEndpoint, SwitchTarget};
use bulwark_core::failover::{AliasTarget, SwitchSnapshot};

use crate::clients::Aws;
use crate::error::AwsError;
use crate::permissions::{p, Permission};

pub const SWITCHES: &[Permission] = &[
    p(
        "route53:ListResourceRecordSets",
        "a switched record's current value",
    ),
    p("route53:ChangeResourceRecordSets", "switch a record"),
    p("route53:GetChange", "verify that a record change is INSYNC"),
    p(
        "ssm:GetParameter",
        "a switched parameter's current value, and a SecureString's value at a version",
    ),
    p(
        "ssm:DescribeParameters",
        "a switched parameter's type, key, tier, description and version",
    ),
    p("ssm:PutParameter", "switch a parameter"),
    p(
        "kms:Decrypt",
        "a SecureString's value, through SSM, to verify it and put it back",
    ),
    p(
        "kms:Encrypt",
        "a SecureString written with its own key, through SSM",
    ),
    p(
        "route53-recovery-cluster:GetRoutingControlState",
        "a routing control's state, through any of its cluster's endpoints",
    ),
    p(
        "route53-recovery-cluster:UpdateRoutingControlState",
        "switch a routing control, through any of its cluster's endpoints",
    ),
    p(
        "ssm:DeleteParameter",
        "an abort removes a parameter the failover created",
    ),
];

/// What a written switch left to verify: a record's change id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    Record { change_id: String },
    Parameter,
    RoutingControl,
}

/// What a switch target holds now, read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// No such record or parameter.
    Absent,
    Holds(SwitchSnapshot),
    /// A record an abort could not put back exactly (it has a routing policy): what it shows,
    /// and why.
    Unrestorable {
        shown: String,
        reason: String,
    },
}

impl Read {
    /// The value shown in the plan (None: absent).
    pub fn shown(&self) -> Option<String> {
        match self {
            Read::Absent => None,
            Read::Holds(snapshot) => Some(snapshot.shown()),
            Read::Unrestorable { shown, .. } => Some(shown.clone()),
        }
    }
}

/// The target read whole: a record's set (values and TTL, or alias target), a parameter's
/// type, key, tier, description and version (and its value, but a SecureString's), a routing
/// control's state.
pub async fn read(aws: &Aws, target: &SwitchTarget) -> Result<Read, AwsError> {
    match target {
        SwitchTarget::Route53 { .. } => read_record(aws, target).await,
        SwitchTarget::RoutingControl { .. } => Ok(match current(aws, target).await? {
            Some(state) => Read::Holds(SwitchSnapshot::RoutingControl { state }),
            None => Read::Absent,
        }),
        SwitchTarget::Ssm { region, parameter } => {
            let described = aws
                .ssm(region)
                .describe_parameters()
                .parameter_filters(
                    ParameterStringFilter::builder()
                        .key("Name")
                        .option("Equals")
                        .values(parameter.as_str())
                        .build()
                        .map_err(|e| AwsError::Malformed(e.to_string()))?,
                )
                .send()
                .await
                .map_err(|e| AwsError::sdk("ssm:DescribeParameters", e))?;
            let Some(metadata) = described.parameters().first() else {
                return Ok(Read::Absent);
            };
            let parameter_type = metadata
                .r#type()
                .map(|t| t.as_str().to_string())
                .unwrap_or_else(|| ParameterType::String.as_str().to_string());
            let value = if parameter_type == bulwark_core::failover::SECURE_STRING {
                None
            } else {
                current(aws, target).await?
            };
            Ok(Read::Holds(SwitchSnapshot::Parameter {
                version: metadata.version(),
                parameter_type,
                key_id: metadata.key_id().map(str::to_string),
                tier: metadata.tier().map(|t| t.as_str().to_string()),
                description: metadata.description().map(str::to_string),
                data_type: metadata.data_type().map(str::to_string),
                value,
            }))
        }
    }
}

async fn read_record(aws: &Aws, target: &SwitchTarget) -> Result<Read, AwsError> {
    let SwitchTarget::Route53 {
        zone_id,
        name,
        record_type,
    } = target
    else {
        return Ok(Read::Absent);
    };
    // The listing starts at the name and type; every set of them is read, so that one of
    // several (a routing policy's) is seen as such. Route 53 answers names lower-cased, with
    // the trailing dot.
    let out = aws
        .route53()
        .list_resource_record_sets()
        .hosted_zone_id(zone_id.as_str())
        .start_record_name(name.as_str())
        .start_record_type(RrType::from(record_type.as_str()))
        .max_items(100)
        .send()
        .await
        .map_err(|e| AwsError::sdk("route53:ListResourceRecordSets", e))?;
    let sets: Vec<&ResourceRecordSet> = out
        .resource_record_sets()
        .iter()
        .take_while(|set| {
            set.name().eq_ignore_ascii_case(name.as_str())
                && set.r#type().as_str() == record_type.as_str()
        })
        .collect();
    let Some(set) = sets.first() else {
        return Ok(Read::Absent);
    };
    let snapshot = SwitchSnapshot::Record {
        ttl: set.ttl(),
        values: set
            .resource_records()
            .iter()
            .map(|r| r.value().to_string())
            .collect(),
        alias: set.alias_target().map(|a| AliasTarget {
            dns_name: a.dns_name().to_string(),
            hosted_zone_id: a.hosted_zone_id().to_string(),
            evaluate_target_health: a.evaluate_target_health(),
        }),
    };
    if let Some(identifier) = set.set_identifier() {
        let policy = if set.weight().is_some() {
            "weighted"
        } else if set.region().is_some() {
            "latency"
        } else if set.failover().is_some() {
            "failover"
        } else if set.geo_location().is_some() || set.geo_proximity_location().is_some() {
            "geolocation"
        } else if set.multi_value_answer().is_some() {
            "multivalue answer"
        } else {
            "routing-policy"
        };
        return Ok(Read::Unrestorable {
            shown: snapshot.shown(),
            reason: format!(
                "{} is a {policy} record (set identifier {identifier:?}, {} set(s) of its name \
                 and type): a switch writes a simple record, which Route 53 refuses beside \
                 them, and an abort could not put the sets back",
                target,
                sets.len()
            ),
        });
    }
    Ok(Read::Holds(snapshot))
}

/// The target's current value, to verify a write: a record's values joined by `,`, a
/// parameter's value (a SecureString's decrypted), a routing control's state (None: no such
/// record or parameter).
pub async fn current(aws: &Aws, target: &SwitchTarget) -> Result<Option<String>, AwsError> {
    match target {
        SwitchTarget::Route53 { .. } => Ok(match read_record(aws, target).await? {
            Read::Holds(SwitchSnapshot::Record { values, .. }) => Some(values.join(",")),
            other => other.shown(),
        }),
        SwitchTarget::RoutingControl { arn, endpoints } => {
            let state = on_any_endpoint(endpoints, |endpoint| async move {
                aws.arc_cluster(endpoint)
                    .get_routing_control_state()
                    .routing_control_arn(arn.as_str())
                    .send()
                    .await
                    .map_err(|e| {
                        AwsError::sdk("route53-recovery-cluster:GetRoutingControlState", e)
                    })
            })
            .await?;
            Ok(Some(state.routing_control_state().as_str().to_string()))
        }
        SwitchTarget::Ssm { region, parameter } => {
            parameter_value(aws, region, parameter.as_str()).await
        }
    }
}

/// A parameter's value (`name`, or `name:version`), decrypted (None: no such parameter).
async fn parameter_value(
    aws: &Aws,
    region: &bulwark_core::Region,
    name: &str,
) -> Result<Option<String>, AwsError> {
    match aws
        .ssm(region)
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
    {
        Ok(out) => Ok(out.parameter().and_then(|p| p.value()).map(str::to_string)),
        Err(e)
            if e.as_service_error().is_some_and(|s| {
                s.is_parameter_not_found() || s.is_parameter_version_not_found()
            }) =>
        {
            Ok(None)
        }
        Err(e) => Err(AwsError::sdk("ssm:GetParameter", e)),
    }
}

/// Give the target `value` (a record: a simple record, UPSERT with `ttl`; a parameter:
/// overwritten as what it was, a SecureString with its key, else a String).
pub async fn write(
    aws: &Aws,
    target: &SwitchTarget,
    value: &str,
    ttl: Option<u32>,
    before: Option<&SwitchSnapshot>,
) -> Result<Written, AwsError> {
    match target {
        SwitchTarget::Route53 { .. } => {
            let set = simple_set(target, value, i64::from(ttl.unwrap_or(60)))?;
            change_record(aws, target, ChangeAction::Upsert, set).await
        }
        SwitchTarget::Ssm { region, parameter } => {
            let mut put = aws
                .ssm(region)
                .put_parameter()
                .name(parameter.as_str())
                .value(value)
                .r#type(ParameterType::String)
                .overwrite(true);
            if let Some(SwitchSnapshot::Parameter {
                parameter_type,
                key_id,
                tier,
                ..
            }) = before
            {
                put = put.r#type(ParameterType::from(parameter_type.as_str()));
                if before.is_some_and(SwitchSnapshot::is_secure) {
                    put = put.set_key_id(key_id.clone());
                }
                put = put.set_tier(tier.as_deref().map(ParameterTier::from));
            }
            put.send()
                .await
                .map_err(|e| AwsError::sdk("ssm:PutParameter", e))?;
            Ok(Written::Parameter)
        }
        SwitchTarget::RoutingControl { .. } => set_routing_control(aws, target, value).await,
    }
}

/// Put the target back exactly as `before` recorded it: a record's set (values and TTL, or
/// alias target) upserted; a parameter overwritten with its value at the recorded version,
/// its type, key, tier, description and data type; a routing control set to its state.
pub async fn restore(
    aws: &Aws,
    target: &SwitchTarget,
    before: &SwitchSnapshot,
) -> Result<(), AwsError> {
    match (target, before) {
        (
            SwitchTarget::Route53 {
                name, record_type, ..
            },
            SwitchSnapshot::Record { ttl, values, alias },
        ) => {
            let mut set = ResourceRecordSet::builder()
                .name(name.as_str())
                .r#type(RrType::from(record_type.as_str()))
                .set_ttl(*ttl);
            for value in values {
                set = set.resource_records(
                    ResourceRecord::builder()
                        .value(value)
                        .build()
                        .map_err(|e| AwsError::Malformed(e.to_string()))?,
                );
            }
            if let Some(alias) = alias {
                set = set.alias_target(
                    aws_sdk_route53::types::AliasTarget::builder()
                        .dns_name(&alias.dns_name)
                        .hosted_zone_id(&alias.hosted_zone_id)
                        .evaluate_target_health(alias.evaluate_target_health)
                        .build()
                        .map_err(|e| AwsError::Malformed(e.to_string()))?,
                );
            }
            let set = set
                .build()
                .map_err(|e| AwsError::Malformed(e.to_string()))?;
            change_record(aws, target, ChangeAction::Upsert, set)
                .await
                .map(|_| ())
        }
        (
            SwitchTarget::Ssm { region, parameter },
            SwitchSnapshot::Parameter {
                version,
                parameter_type,
                key_id,
                tier,
                description,
                data_type,
                ..
            },
        ) => {
            let at_version = format!("{}:{version}", parameter.as_str());
            let value = parameter_value(aws, region, &at_version)
                .await?
                .ok_or_else(|| {
                    AwsError::Refused(format!(
                        "{target}: version {version}, the one to put back, is no longer kept (SSM \
                     keeps a parameter's last 100 versions)"
                    ))
                })?;
            let mut put = aws
                .ssm(region)
                .put_parameter()
                .name(parameter.as_str())
                .value(value)
                .r#type(ParameterType::from(parameter_type.as_str()))
                .overwrite(true)
                .set_tier(tier.as_deref().map(ParameterTier::from))
                .set_description(description.clone())
                .set_data_type(data_type.clone());
            if before.is_secure() {
                put = put.set_key_id(key_id.clone());
            }
            put.send()
                .await
                .map_err(|e| AwsError::sdk("ssm:PutParameter", e))?;
            Ok(())
        }
        (SwitchTarget::RoutingControl { .. }, SwitchSnapshot::RoutingControl { state }) => {
            set_routing_control(aws, target, state).await.map(|_| ())
        }
        _ => Err(AwsError::Malformed(format!(
            "{target}: the recorded state is of another kind of switch"
        ))),
    }
}

/// Remove a record or parameter the failover created, as it is `now` (Route 53 deletes a
/// record set only as it is, TTL included).
pub async fn remove(
    aws: &Aws,
    target: &SwitchTarget,
    now: &SwitchSnapshot,
) -> Result<(), AwsError> {
    match (target, now) {
        (SwitchTarget::Ssm { region, parameter }, _) => {
            match aws
                .ssm(region)
                .delete_parameter()
                .name(parameter.as_str())
                .send()
                .await
            {
                Ok(_) => Ok(()),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_parameter_not_found()) =>
                {
                    Ok(())
                }
                Err(e) => Err(AwsError::sdk("ssm:DeleteParameter", e)),
            }
        }
        (SwitchTarget::Route53 { .. }, SwitchSnapshot::Record { ttl, values, .. }) => {
            let value = values.join(",");
            let set = simple_set(target, &value, ttl.unwrap_or(60))?;
            change_record(aws, target, ChangeAction::Delete, set)
                .await
                .map(|_| ())
        }
        // A routing control always exists and has a state: there is nothing to remove.
        _ => Ok(()),
    }
}

/// A simple record set of the target's name and type holding `value`.
fn simple_set(target: &SwitchTarget, value: &str, ttl: i64) -> Result<ResourceRecordSet, AwsError> {
    let SwitchTarget::Route53 {
        name, record_type, ..
    } = target
    else {
        return Err(AwsError::Malformed(format!("{target} is not a record")));
    };
    let mut set = ResourceRecordSet::builder()
        .name(name.as_str())
        .r#type(RrType::from(record_type.as_str()))
        .ttl(ttl);
    for value in value.split(',') {
        set = set.resource_records(
            ResourceRecord::builder()
                .value(value)
                .build()
                .map_err(|e| AwsError::Malformed(e.to_string()))?,
        );
    }
    set.build().map_err(|e| AwsError::Malformed(e.to_string()))
}

async fn change_record(
    aws: &Aws,
    target: &SwitchTarget,
    action: ChangeAction,
    set: ResourceRecordSet,
) -> Result<Written, AwsError> {
    let SwitchTarget::Route53 { zone_id, .. } = target else {
        return Err(AwsError::Malformed(format!("{target} is not a record")));
    };
    let change = Change::builder()
        .action(action)
        .resource_record_set(set)
        .build()
        .map_err(|e| AwsError::Malformed(e.to_string()))?;
    let batch = ChangeBatch::builder()
        .comment("bulwark failover")
        .changes(change)
        .build()
        .map_err(|e| AwsError::Malformed(e.to_string()))?;
    let out = aws
        .route53()
        .change_resource_record_sets()
        .hosted_zone_id(zone_id.as_str())
        .change_batch(batch)
        .send()
        .await
        .map_err(|e| AwsError::sdk("route53:ChangeResourceRecordSets", e))?;
    Ok(Written::Record {
        change_id: out
            .change_info()
            .map(|c| c.id().to_string())
            .unwrap_or_default(),
    })
}

async fn set_routing_control(
    aws: &Aws,
    target: &SwitchTarget,
    value: &str,
) -> Result<Written, AwsError> {
    let SwitchTarget::RoutingControl { arn, endpoints } = target else {
        return Err(AwsError::Malformed(format!(
            "{target} is not a routing control"
        )));
    };
    let state = aws_sdk_route53recoverycluster::types::RoutingControlState::from(value);
    on_any_endpoint(endpoints, |endpoint| {
        let state = state.clone();
        async move {
            aws.arc_cluster(endpoint)
                .update_routing_control_state()
                .routing_control_arn(arn.as_str())
                .routing_control_state(state)
                .send()
                .await
                .map_err(|e| AwsError::sdk("route53-recovery-cluster:UpdateRoutingControlState", e))
        }
    })
    .await?;
    Ok(Written::RoutingControl)
}

/// `call` on each of a cluster's endpoints in turn until one answers, as AWS advises (any
/// endpoint serves the cluster; one in a region that is down does not answer): its answer, or
/// the last endpoint's error.
async fn on_any_endpoint<'e, T, F, Fut>(
    endpoints: &'e [ClusterEndpoint],
    call: F,
) -> Result<T, AwsError>
where
    F: Fn(&'e ClusterEndpoint) -> Fut,
    Fut: std::future::Future<Output = Result<T, AwsError>>,
{
    let mut last = None;
    for endpoint in endpoints {
        match call(endpoint).await {
            Ok(answer) => return Ok(answer),
            // A refusal is the cluster's answer, the same at every endpoint.
            Err(error) if !error.is_unavailable() => return Err(error),
            Err(error) => {
                tracing::warn!(endpoint = %endpoint.url, region = %endpoint.region, %error, "cluster endpoint did not answer; trying the next");
                last = Some(error);
            }
        }
    }
    Err(last.unwrap_or_else(|| {
        AwsError::Configuration("a routing control switch lists no cluster endpoint".into())
    }))
}

/// Whether a written switch took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// The record's change is still PENDING.
    Pending,
    /// The change is INSYNC (a parameter: written) and the target answers the value.
    Answers,
    /// The target answers something else (None: it does not exist).
    ReadsBack(Option<String>),
}

/// Whether a written switch took: a record's change is INSYNC and the target answers `value`.
pub async fn verify(
    aws: &Aws,
    target: &SwitchTarget,
    written: &Written,
    value: &str,
) -> Result<Verified, AwsError> {
    if let Written::Record { change_id } = written {
        let change = aws
            .route53()
            .get_change()
            .id(change_id)
            .send()
            .await
            .map_err(|e| AwsError::sdk("route53:GetChange", e))?;
        if change.change_info().map(|c| c.status()) != Some(&ChangeStatus::Insync) {
            return Ok(Verified::Pending);
        }
    }
    Ok(match current(aws, target).await? {
        Some(now) if now == value => Verified::Answers,
        other => Verified::ReadsBack(other),
    })
}
