//! Failback: the way home once the primary region is back, planned with the same machinery as
//! the failover. The application it plans is the failed-over one turned around: its stores
//! are those the failover restored in the DR region, its DR region is the primary region, and
//! its switches point at what a restore there would make of them.

use super::run::{Ending, Run};
use crate::application::{Application, StoreSelector, Switch, SwitchTarget, ValueTemplate};
use crate::arn::ResourceArn;

/// The application a failback of `app` would fail over, after the succeeded failover `run`.
pub fn failback_application(app: &Application, run: &Run) -> Result<Application, String> {
    if !matches!(run.ending, Some(Ending::Succeeded { .. })) {
        return Err(format!(
            "failover run {} did not succeed: only a succeeded failover is failed back",
            run.id
        ));
    }
    let mut stores = Vec::new();
    let mut renamed = Vec::new();
    for (plan, store) in run.plan.stores.iter().zip(&run.stores) {
        let restored = store
            .restored
            .as_ref()
            .ok_or_else(|| format!("failover run {} restored no copy of {}", run.id, plan.arn))?;
        let arn =
            ResourceArn::parse(&restored.arn).map_err(|e| format!("{}: {e}", restored.arn))?;
        renamed.push((plan.arn.id.clone(), arn.id.clone()));
        stores.push(arn);
    }
    let switches = app
        .switches
        .iter()
        .map(|switch| Switch {
            target: switch.target.clone(),
            ttl: switch.ttl,
            value: match &switch.target {
                // A routing control goes back to the state the failover found it in.
                SwitchTarget::RoutingControl { .. } => {
                    state_before(run, &switch.target).unwrap_or_else(|| switch.value.clone())
                }
                _ => switch.value.renaming(|store| {
                    renamed
                        .iter()
                        .find(|(from, _)| from == store)
                        .map(|(_, to)| to.clone())
                }),
            },
        })
        .collect();
    Ok(Application {
        name: app.name.clone(),
        primary_region: run.plan.dr_region.clone(),
        dr_region: run.plan.primary_region.clone(),
        stores: StoreSelector::Arns(stores),
        max_data_loss: app.max_data_loss,
        switches,
        // A failback is asked for by an engineer, never by an alarm.
        automatic_failover: None,
    })
}

/// The value `target` held before `run` switched it, as a template of that literal.
fn state_before(run: &Run, target: &SwitchTarget) -> Option<ValueTemplate> {
    let index = run.plan.switches.iter().position(|s| &s.target == target)?;
    let previous = run.switches.get(index)?.previous.clone()??;
    ValueTemplate::parse(&previous).ok()
}
