//! A failover an alarm starts: for each application naming the alarm, its facts read once
//! (the plan's, its lock's run, its last succeeded run), core's `automatic::decide`, then the
//! failover state machine started under the plan's hash, or nothing; either way the alert
//! topic is told.

use bulwark_core::failover;
use bulwark_core::failover::automatic::{self, AlarmFired, Decision};
use bulwark_core::Config;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::execute::{publish, Reporting};
use super::{facts, lock, record};
use crate::clients::Aws;
use crate::error::AwsError;
use crate::permissions::{p, Permission};
use crate::store::Inventory;

pub const AUTOMATIC_FAILOVER: &[Permission] = &[
    p(
        "states:StartExecution",
        "start the failover state machine for an application whose alarm entered ALARM, its \
         plan ready",
    ),
    p(
        "sns:Publish",
        "tell the alert topic what an alarm started, or why it started nothing",
    ),
];

/// What an alarm did to one application that named it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    pub application: String,
    /// The execution started (None: nothing was).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution: Option<String>,
    /// What the alert topic was told.
    pub notice: String,
}

/// Decide and act on `fired` for every application of `config` that named its alarm: start
/// `state_machine` for those whose plan is ready.
pub async fn on_alarm(
    aws: &Aws,
    inventory: &Inventory,
    config: &Config,
    fired: &AlarmFired,
    state_machine: &str,
    reporting: &Reporting,
    now: DateTime<Utc>,
) -> Result<Vec<Outcome>, AwsError> {
    let mut outcomes = Vec::new();
    for app in automatic::opted_in(config.applications(), &fired.alarm) {
        let what = format!("an automatic failover of {}", app.name);
        record::driven_here(inventory, app.dr_region.as_str(), &what)?;
        let account = aws.home_account().await?;
        let facts = facts::read(aws, inventory, config, app, &account, now).await?;
        let prerequisites = config.restore_prerequisites(app.dr_region.as_str());
        let plan = failover::plan(app, prerequisites, &facts);
        let unended = unended_run(inventory, app.name.as_str()).await?;
        let last = record::last_succeeded(inventory, app.name.as_str()).await?;
        let decision = automatic::decide(
            app,
            fired,
            &plan,
            unended.as_deref(),
            last.as_ref().map(|(run, _)| run),
        );
        let execution = match &decision {
            Decision::Start(start) => {
                let input = serde_json::json!({
                    "application": start.application,
                    "plan_hash": start.plan_hash,
                    "requested_by": start.requested_by,
                    "reason": start.reason,
                    "primary_down": start.primary_down,
                });
                Some(start_once(aws, state_machine, &start.execution_name, &input).await?)
            }
            Decision::Hold(_) => None,
        };
        let (subject, message) =
            automatic::notice(app.name.as_str(), fired, &decision, execution.as_deref());
        publish(aws, reporting, &subject, &message).await?;
        tracing::info!(application = %app.name, ?execution, %subject, "alarm {}", fired.alarm);
        outcomes.push(Outcome {
            application: app.name.to_string(),
            execution,
            notice: subject,
        });
    }
    Ok(outcomes)
}

/// The run the application's lock names, if that run has not ended, judged as a claim of the
/// lock judges it (`lock::ended`: a run never recorded holds nothing).
async fn unended_run(inventory: &Inventory, app: &str) -> Result<Option<String>, AwsError> {
    let Some(held) = lock::read(inventory, app).await? else {
        return Ok(None);
    };
    // A lock an earlier version left names its run as its holder.
    let named = if held.run.is_empty() {
        held.holder
    } else {
        held.run
    };
    Ok((!lock::ended(inventory, &named).await?).then_some(named))
}

/// Start `state_machine` as the execution `name`; the same event delivered again finds it
/// started (ExecutionAlreadyExists) and starts nothing more. Its ARN.
async fn start_once(
    aws: &Aws,
    state_machine: &str,
    name: &str,
    input: &serde_json::Value,
) -> Result<String, AwsError> {
    let started = aws
        .sfn()
        .start_execution()
        .state_machine_arn(state_machine)
        .name(name)
        .input(input.to_string())
        .send()
        .await;
    match started {
        Ok(out) => Ok(out.execution_arn().to_string()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|e| e.is_execution_already_exists()) =>
        {
            Ok(execution_arn(state_machine, name))
        }
        Err(e) => Err(AwsError::sdk("states:StartExecution", e)),
    }
}

/// An execution's ARN from its state machine's and its name.
fn execution_arn(state_machine: &str, name: &str) -> String {
    format!(
        "{}:{name}",
        state_machine.replacen(":stateMachine:", ":execution:", 1)
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_execution_is_named_under_its_state_machine() {
        assert_eq!(
            super::execution_arn(
                "arn:aws:states:us-west-2:123456789012:stateMachine:bulwark-failover",
                "payments-alarm-0011"
            ),
            "arn:aws:states:us-west-2:123456789012:execution:bulwark-failover:payments-alarm-0011"
        );
    }
}
