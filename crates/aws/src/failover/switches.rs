//! An application's switches: Route 53 records, SSM parameters and Route 53 ARC routing
//! controls, read (their current value, for the plan), written (the failover's new value,
//! UPSERT / Overwrite / the routing control's state), and verified (the record change is INSYNC
//! and answers the new value; the parameter and the routing control read back). A routing
//! control is read and set through any one of its cluster's regional endpoints, each tried in
//! turn: the data plane answers while a region, or the control plane, is down.

use aws_sdk_route53::types::{
    Change, ChangeAction, ChangeBatch, ChangeStatus, ResourceRecord, ResourceRecordSet, RrType,
};
use bulwark_core::application::{ClusterEndpoint, SwitchTarget};

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
    p("ssm:GetParameter", "a switched parameter's current value"),
    p("ssm:PutParameter", "switch a parameter"),
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

/// The target's current value: a record's values joined by `,` (None: no such record), a
/// parameter's value (None: no such parameter).
pub async fn current(aws: &Aws, target: &SwitchTarget) -> Result<Option<String>, AwsError> {
    match target {
        SwitchTarget::Route53 {
            zone_id,
            name,
            record_type,
        } => {
            let out = aws
                .route53()
                .list_resource_record_sets()
                .hosted_zone_id(zone_id.as_str())
                .start_record_name(name.as_str())
                .start_record_type(RrType::from(record_type.as_str()))
                .max_items(1)
                .send()
                .await
                .map_err(|e| AwsError::sdk("route53:ListResourceRecordSets", e))?;
            // The listing starts at the name and type: the first set is ours only if it
            // matches both (Route 53 answers names lower-cased, with the trailing dot).
            Ok(out
                .resource_record_sets()
                .first()
                .filter(|set| {
                    set.name().eq_ignore_ascii_case(name.as_str())
                        && set.r#type().as_str() == record_type.as_str()
                })
                .map(|set| {
                    set.resource_records()
                        .iter()
                        .map(|r| r.value().to_string())
                        .collect::<Vec<_>>()
                        .join(",")
                }))
        }
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
            match aws
                .ssm(region)
                .get_parameter()
                .name(parameter.as_str())
                .send()
                .await
            {
                Ok(out) => Ok(out.parameter().and_then(|p| p.value()).map(str::to_string)),
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_parameter_not_found()) =>
                {
                    Ok(None)
                }
                Err(e) => Err(AwsError::sdk("ssm:GetParameter", e)),
            }
        }
    }
}

/// Give the target `value` (a record: UPSERT with `ttl`; a parameter: a String, overwritten).
pub async fn write(
    aws: &Aws,
    target: &SwitchTarget,
    value: &str,
    ttl: Option<u32>,
) -> Result<Written, AwsError> {
    change(aws, target, ChangeAction::Upsert, value, ttl).await
}

/// Remove a record or parameter the failover created, holding `value` (Route 53 deletes a
/// record set only as it is, TTL included).
pub async fn remove(
    aws: &Aws,
    target: &SwitchTarget,
    value: &str,
    ttl: Option<u32>,
) -> Result<(), AwsError> {
    if let SwitchTarget::RoutingControl { .. } = target {
        // A routing control always exists and has a state: the plan never records None for
        // one, so there is nothing to remove.
        return Ok(());
    }
    if let SwitchTarget::Ssm { region, parameter } = target {
        return match aws
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
        };
    }
    change(aws, target, ChangeAction::Delete, value, ttl)
        .await
        .map(|_| ())
}

async fn change(
    aws: &Aws,
    target: &SwitchTarget,
    action: ChangeAction,
    value: &str,
    ttl: Option<u32>,
) -> Result<Written, AwsError> {
    match target {
        SwitchTarget::Route53 {
            zone_id,
            name,
            record_type,
        } => {
            let record = ResourceRecord::builder()
                .value(value)
                .build()
                .map_err(|e| AwsError::Malformed(e.to_string()))?;
            let set = ResourceRecordSet::builder()
                .name(name.as_str())
                .r#type(RrType::from(record_type.as_str()))
                .ttl(i64::from(ttl.unwrap_or(60)))
                .resource_records(record)
                .build()
                .map_err(|e| AwsError::Malformed(e.to_string()))?;
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
        SwitchTarget::Ssm { region, parameter } => {
            aws.ssm(region)
                .put_parameter()
                .name(parameter.as_str())
                .value(value)
                .r#type(aws_sdk_ssm::types::ParameterType::String)
                .overwrite(true)
                .send()
                .await
                .map_err(|e| AwsError::sdk("ssm:PutParameter", e))?;
            Ok(Written::Parameter)
        }
        SwitchTarget::RoutingControl { arn, endpoints } => {
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
                        .map_err(|e| {
                            AwsError::sdk("route53-recovery-cluster:UpdateRoutingControlState", e)
                        })
                }
            })
            .await?;
            Ok(Written::RoutingControl)
        }
    }
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
