//! The `[[applications]]` list: what fails over together, loaded into the `application`
//! module's types. Everything a failover would only find out in the middle of one is refused
//! here, with its line: a name that cannot exist, a region pair that is no pair, a template
//! that cannot render.

use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::Range;

use toml::Spanned;

use super::checks::Problem;
use super::load::Loader;
use super::raw::{RawApplication, RawAutomaticFailover, RawStores, RawSwitch};
use super::{ConfigError, ProtectionSettings};
use crate::application::{
    check_tag_key, check_tag_value, AlarmArn, AppName, Application, AutomaticFailover,
    ClusterEndpoint, EndpointUrl, HostedZoneId, ParameterName, Part, RecordName, RecordType,
    RoutingControlArn, StoreSelector, Switch, SwitchTarget, ValueTemplate, ROUTING_CONTROL_STATES,
};
use crate::arn::{partition_of, Region, ResourceArn};
use crate::duration::Duration;

/// Route 53's TTL limits (ResourceRecordSet: 0 to 2147483647 seconds), and its default here:
/// short, so that clients follow a failover within a minute.
const MAX_TTL: i64 = 2_147_483_647;
const DEFAULT_TTL: u32 = 60;

impl Loader<'_> {
    /// The applications in file order, each name once.
    pub(super) fn applications(
        &self,
        raw: Vec<RawApplication>,
        protection: &ProtectionSettings,
    ) -> Result<Vec<Application>, ConfigError> {
        let mut applications: Vec<Application> = Vec::new();
        for raw in raw {
            let written = raw.name.get_ref().clone();
            let name = AppName::parse(&written).map_err(|why| {
                self.error(
                    raw.name.span(),
                    format!("application name {written:?}: {why}"),
                )
            })?;
            if applications.iter().any(|a| a.name == name) {
                return Err(self.error(
                    raw.name.span(),
                    format!(
                        "application {written:?} is declared twice: `failover --app` names one"
                    ),
                ));
            }
            let application = application_of(name, raw, protection).map_err(|(span, why)| {
                self.error(span, format!("application {written:?}: {why}"))
            })?;
            applications.push(application);
        }
        Ok(applications)
    }
}

fn application_of(
    name: AppName,
    raw: RawApplication,
    protection: &ProtectionSettings,
) -> Result<Application, Problem> {
    let region = |value: &Spanned<String>, field: &str| {
        Region::parse(value.get_ref()).map_err(|e| (value.span(), format!("{field}: {e}")))
    };
    let primary_region = region(&raw.primary_region, "primary_region")?;
    let (dr_region, dr_span) = match &raw.dr_region {
        Some(dr) => {
            let dr_region = region(dr, "dr_region")?;
            if dr_region == primary_region {
                return Err((
                    dr.span(),
                    format!(
                        "dr_region {dr_region} is the primary_region: a failover goes to another \
                         region"
                    ),
                ));
            }
            (dr_region, dr.span())
        }
        None => {
            let span = raw.primary_region.span();
            let dr_region = protection
                .dr_region_for(primary_region.as_str())
                .and_then(|r| Region::parse(&r).map_err(|e| e.to_string()))
                .map_err(|why| {
                    (
                        span.clone(),
                        format!("{why}; or give the application a dr_region"),
                    )
                })?;
            (dr_region, span)
        }
    };
    if dr_region.partition() != primary_region.partition() {
        return Err((
            dr_span,
            format!(
                "dr_region {dr_region} is in partition {:?} and primary_region {primary_region} \
                 in {:?}: AWS Backup copies no recovery point between partitions",
                dr_region.partition(),
                primary_region.partition()
            ),
        ));
    }
    let max_data_loss = match raw.max_data_loss {
        Some(d) if *d.get_ref() == Duration::ZERO => {
            return Err((
                d.span(),
                "max_data_loss must be longer than 0m: every copy is older than that".into(),
            ))
        }
        d => d.map(Spanned::into_inner),
    };
    let stores = stores_of(raw.stores, &primary_region)?;
    let mut switches: Vec<Switch> = Vec::new();
    for raw_switch in raw.switches {
        let span = raw_switch.span();
        let switch = switch_of(raw_switch.into_inner(), span.clone(), &dr_region, &stores)?;
        if switches.iter().any(|s| s.target == switch.target) {
            return Err((
                span,
                format!(
                    "switch {} is listed twice: one failover would write it twice",
                    switch.target
                ),
            ));
        }
        switches.push(switch);
    }
    let automatic_failover = raw
        .automatic_failover
        .map(|raw| automatic_failover_of(raw.into_inner(), &dr_region))
        .transpose()?;
    Ok(Application {
        name,
        primary_region,
        dr_region,
        stores,
        max_data_loss,
        switches,
        automatic_failover,
    })
}

/// The alarm that starts the application's failover: in its DR region, whose deployment
/// receives the alarm's state changes and runs the failover (an alarm in the primary region
/// would go down with what it watches).
fn automatic_failover_of(
    raw: RawAutomaticFailover,
    dr_region: &Region,
) -> Result<AutomaticFailover, Problem> {
    let at = raw.alarm.span();
    let alarm = AlarmArn::parse(raw.alarm.get_ref())
        .map_err(|why| (at.clone(), format!("automatic_failover alarm: {why}")))?;
    if alarm.region() != dr_region.as_str() {
        return Err((
            at,
            format!(
                "automatic_failover alarm {alarm} is in {}, not in the dr_region {dr_region}: \
                 the failover runs from the DR region, whose deployment receives the alarm's \
                 state changes",
                alarm.region()
            ),
        ));
    }
    Ok(AutomaticFailover {
        alarm,
        primary_down: raw.primary_down,
    })
}

fn stores_of(raw: Spanned<RawStores>, primary: &Region) -> Result<StoreSelector, Problem> {
    let span = raw.span();
    let raw = raw.into_inner();
    match (raw.tag, raw.arns) {
        (Some(_), Some(arns)) => Err((
            arns.span(),
            "stores: select by tag or by arns, not both".into(),
        )),
        (None, None) => Err((
            span,
            "stores: select by tag = { key = \"...\", value = \"...\" } or by arns = [\"...\"]"
                .into(),
        )),
        (Some(tag), None) => {
            let tag = tag.into_inner();
            check_tag_key(tag.key.get_ref()).map_err(|why| (tag.key.span(), why))?;
            check_tag_value(tag.value.get_ref()).map_err(|why| (tag.value.span(), why))?;
            Ok(StoreSelector::Tag {
                key: tag.key.into_inner(),
                value: tag.value.into_inner(),
            })
        }
        (None, Some(list)) => {
            if list.get_ref().is_empty() {
                return Err((
                    list.span(),
                    "stores: arns is empty: list the application's stores, or select them by \
                     tag"
                    .into(),
                ));
            }
            let mut arns: Vec<ResourceArn> = Vec::new();
            for written in list.into_inner() {
                let arn = store_arn(written.get_ref(), primary, &arns)
                    .map_err(|why| (written.span(), why))?;
                arns.push(arn);
            }
            Ok(StoreSelector::Arns(arns))
        }
    }
}

/// One listed store: one of the six kinds, in the primary region and its partition, once.
fn store_arn(
    written: &str,
    primary: &Region,
    before: &[ResourceArn],
) -> Result<ResourceArn, String> {
    let arn = ResourceArn::parse(written).map_err(|e| format!("stores: {e}"))?;
    if let Some(region) = arn.region.as_ref().filter(|r| *r != primary) {
        return Err(format!(
            "stores: {written:?} is in {region}, not in the primary_region {primary}"
        ));
    }
    if arn.partition != partition_of(primary.as_str()) {
        return Err(format!(
            "stores: {written:?} is in partition {:?}, the primary_region {primary} in {:?}",
            arn.partition,
            primary.partition()
        ));
    }
    if before.contains(&arn) {
        return Err(format!("stores: {written:?} is listed twice"));
    }
    Ok(arn)
}

fn switch_of(
    raw: RawSwitch,
    span: Range<usize>,
    dr_region: &Region,
    stores: &StoreSelector,
) -> Result<Switch, Problem> {
    let required = |field: Option<Spanned<String>>, name: &str| {
        field.ok_or_else(|| {
            (
                span.clone(),
                format!("a route53 switch needs zone_id, name and type: {name} is missing"),
            )
        })
    };
    let foreign = |fields: [(&str, Option<Range<usize>>); 2], kind: &str| {
        refuse_present(fields, |field| {
            format!("{field} belongs to kind = \"{kind}\" switches")
        })
    };
    let routing_only = |raw: &RawSwitch| {
        [
            ("arn", raw.arn.as_ref().map(|f| f.span())),
            (
                "cluster_endpoints",
                raw.cluster_endpoints.as_ref().map(|f| f.span()),
            ),
        ]
    };
    let (target, ttl) = match raw.kind.get_ref().as_str() {
        "routing_control" => return routing_control_of(raw, span),
        "route53" => {
            foreign(routing_only(&raw), "routing_control")?;
            if let Some(parameter) = &raw.parameter {
                return Err((
                    parameter.span(),
                    "parameter belongs to kind = \"ssm\" switches".into(),
                ));
            }
            let zone_id = required(raw.zone_id, "zone_id")?;
            let zone_id = HostedZoneId::parse(zone_id.get_ref()).map_err(|why| {
                (
                    zone_id.span(),
                    format!("switch zone_id {:?}: {why}", zone_id.get_ref()),
                )
            })?;
            let name = required(raw.name, "name")?;
            let name = RecordName::parse(name.get_ref()).map_err(|why| {
                (
                    name.span(),
                    format!("switch name {:?}: {why}", name.get_ref()),
                )
            })?;
            let record_type = required(raw.record_type, "type")?;
            let record_type = record_type
                .get_ref()
                .parse::<RecordType>()
                .map_err(|why| (record_type.span(), format!("switch {why}")))?;
            let ttl = match raw.ttl {
                None => DEFAULT_TTL,
                Some(ttl) => (0..=MAX_TTL)
                    .contains(ttl.get_ref())
                    .then(|| u32::try_from(*ttl.get_ref()).ok())
                    .flatten()
                    .ok_or_else(|| {
                        (
                            ttl.span(),
                            format!(
                                "switch ttl {} must be from 0 to {MAX_TTL} seconds",
                                ttl.get_ref()
                            ),
                        )
                    })?,
            };
            let target = SwitchTarget::Route53 {
                zone_id,
                name,
                record_type,
            };
            (target, Some(ttl))
        }
        "ssm" => {
            foreign(routing_only(&raw), "routing_control")?;
            let route53_only = [
                ("zone_id", raw.zone_id.map(|f| f.span())),
                ("name", raw.name.map(|f| f.span())),
                ("type", raw.record_type.map(|f| f.span())),
                ("ttl", raw.ttl.map(|f| f.span())),
            ];
            refuse_present(route53_only, |field| {
                format!("{field} belongs to kind = \"route53\" switches")
            })?;
            let parameter = raw
                .parameter
                .ok_or_else(|| (span.clone(), "an ssm switch needs parameter".into()))?;
            let parameter = ParameterName::parse(parameter.get_ref()).map_err(|why| {
                (
                    parameter.span(),
                    format!("switch parameter {:?}: {why}", parameter.get_ref()),
                )
            })?;
            let target = SwitchTarget::Ssm {
                region: dr_region.clone(),
                parameter,
            };
            (target, None)
        }
        other => {
            return Err((
                raw.kind.span(),
                format!("switch kind {other:?}: use \"route53\", \"ssm\" or \"routing_control\""),
            ))
        }
    };
    let at = raw.value.span();
    let value = ValueTemplate::parse(raw.value.get_ref()).map_err(|why| {
        (
            at.clone(),
            format!("switch {target}: value {:?}: {why}", raw.value.get_ref()),
        )
    })?;
    check_value(&target, &value, stores).map_err(|why| (at, format!("switch {target}: {why}")))?;
    Ok(Switch { target, ttl, value })
}

/// The first of `fields` a switch sets (a field and where it stands), refused in the words
/// `why` gives it: a field of another kind of switch.
fn refuse_present<const N: usize>(
    fields: [(&str, Option<Range<usize>>); N],
    why: impl Fn(&str) -> String,
) -> Result<(), Problem> {
    match fields
        .into_iter()
        .find_map(|(field, at)| at.map(|at| (field, at)))
    {
        Some((field, at)) => Err((at, why(field))),
        None => Ok(()),
    }
}

/// A routing control switch: its ARN, its cluster's endpoints (1 to 5, as DescribeCluster
/// lists them), and the state it is set to, "On" or "Off".
fn routing_control_of(raw: RawSwitch, span: Range<usize>) -> Result<Switch, Problem> {
    let others = [
        ("zone_id", raw.zone_id.map(|f| f.span())),
        ("name", raw.name.map(|f| f.span())),
        ("type", raw.record_type.map(|f| f.span())),
        ("ttl", raw.ttl.map(|f| f.span())),
        ("parameter", raw.parameter.map(|f| f.span())),
    ];
    refuse_present(others, |field| {
        format!("{field} does not belong to kind = \"routing_control\" switches")
    })?;
    let arn = raw
        .arn
        .ok_or_else(|| (span.clone(), "a routing_control switch needs arn".into()))?;
    let arn = RoutingControlArn::parse(arn.get_ref()).map_err(|why| (arn.span(), why))?;
    let listed = raw.cluster_endpoints.ok_or_else(|| {
        (
            span.clone(),
            "a routing_control switch needs cluster_endpoints = [{ url = \"...\", region = \
             \"...\" }, ...], as DescribeCluster lists them"
                .into(),
        )
    })?;
    let at = listed.span();
    let mut endpoints = Vec::new();
    for endpoint in listed.into_inner() {
        let url =
            EndpointUrl::parse(endpoint.url.get_ref()).map_err(|why| (endpoint.url.span(), why))?;
        let region = Region::parse(endpoint.region.get_ref()).map_err(|e| {
            (
                endpoint.region.span(),
                format!("cluster endpoint region: {e}"),
            )
        })?;
        endpoints.push(ClusterEndpoint { url, region });
    }
    if !(1..=5).contains(&endpoints.len()) {
        return Err((
            at,
            format!(
                "cluster_endpoints lists {}: a cluster has up to five, and one is needed",
                endpoints.len()
            ),
        ));
    }
    if !ROUTING_CONTROL_STATES.contains(&raw.value.get_ref().as_str()) {
        return Err((
            raw.value.span(),
            format!(
                "a routing control's value is \"On\" or \"Off\", not {:?}",
                raw.value.get_ref()
            ),
        ));
    }
    let value = ValueTemplate::parse(raw.value.get_ref()).map_err(|why| (raw.value.span(), why))?;
    Ok(Switch {
        target: SwitchTarget::RoutingControl { arn, endpoints },
        ttl: None,
        value,
    })
}

/// What can be known of a value at load: an address record holds a literal address, and with
/// listed stores each placeholder names one of them, by an attribute its kind has. (Stores
/// selected by tag are known only when a plan reads them.)
fn check_value(
    target: &SwitchTarget,
    value: &ValueTemplate,
    stores: &StoreSelector,
) -> Result<(), String> {
    if let SwitchTarget::Route53 { record_type, .. } = target {
        if record_type.holds_address() {
            let [Part::Literal(address)] = value.parts() else {
                return Err(format!(
                    "an {record_type} record holds an address, and no attribute of a restored \
                     store is one: write the address"
                ));
            };
            let parses = if *record_type == RecordType::A {
                address.parse::<Ipv4Addr>().is_ok()
            } else {
                address.parse::<Ipv6Addr>().is_ok()
            };
            if !parses {
                return Err(format!(
                    "{address:?} is not an {} address, which an {record_type} record holds",
                    if *record_type == RecordType::A {
                        "IPv4"
                    } else {
                        "IPv6"
                    }
                ));
            }
        }
    }
    let StoreSelector::Arns(arns) = stores else {
        return Ok(());
    };
    for placeholder in value.placeholders() {
        let named: Vec<&ResourceArn> = arns
            .iter()
            .filter(|arn| arn.id == placeholder.store)
            .collect();
        match named[..] {
            [] => {
                let listed: Vec<&str> = arns.iter().map(|a| a.id.as_str()).collect();
                return Err(format!(
                    "{placeholder}: no listed store is named {:?} (they are {})",
                    placeholder.store,
                    listed.join(", ")
                ));
            }
            [arn] if !placeholder.attribute.applies_to(arn.kind) => {
                return Err(format!(
                    "{placeholder}: {:?} is a store of kind {}, which has no {}",
                    placeholder.store, arn.kind, placeholder.attribute
                ));
            }
            [_] => {}
            _ => {
                return Err(format!(
                    "{placeholder}: several listed stores are named {:?}",
                    placeholder.store
                ))
            }
        }
    }
    Ok(())
}
