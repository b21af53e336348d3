//! failover: the failover state machine's steps, one per invocation, each over the run as
//! recorded in the state table (read once per invocation).
//!
//! `begin` recomputes the application's plan, refuses unless its hash is the one quoted (and
//! the plan ready, and the application free), and records the run; for each store a Map
//! iteration calls `store` until the store is restored and validated (the state machine
//! waits between calls: no invocation sleeps); then `advance` takes the run's next step
//! (each switch written, then verified) until it ends. `abort` marks a run for abort: its
//! next `advance` puts back the switches it made. Every step of a run names its driver, the
//! execution (`$$.Execution.Id`): one execution drives a run, and a step of another is
//! refused. `readiness`, on a schedule, records every application's and copied store's
//! readiness and counts the critical stores not ready. `alarm`, on a CloudWatch alarm's state
//! change (an EventBridge rule), starts the failover state machine for each application that
//! named the alarm, when its plan is ready.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use bulwark_aws::failover::automatic::{self, Outcome};
use bulwark_aws::failover::execute::{self, Advanced, Reporting};
use bulwark_aws::failover::lock::Driving;
use bulwark_aws::failover::{readiness, record};
use bulwark_core::alerts::failure_count_metric;
use bulwark_core::application::AlarmArn;
use bulwark_core::failover::automatic::AlarmFired;
use bulwark_core::failover::{Driver, RunId};
use bulwark_lambda::{FunctionError, Input, Services};
use chrono::Utc;
use serde::{Deserialize, Serialize};

/// What the state machine (or an engineer's direct invoke) asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum FailoverRequest {
    /// Begin a failover of `application` under the plan hash an engineer read.
    Begin {
        application: String,
        plan_hash: String,
        requested_by: String,
        reason: String,
        /// The data loss accepted beyond the application's or tier's limit ("6h"): the plan
        /// is recomputed with it, and the hash quoted must be of that plan.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        accept_data_loss: Option<bulwark_core::Duration>,
        /// The engineer declares the primary region down (see `execute::Request`).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        primary_down: bool,
        /// The execution that drives the run.
        driver: Driver,
    },
    /// Store `index`'s next step: restore, poll, or validate.
    Store {
        run: RunId,
        index: usize,
        driver: Driver,
    },
    /// The run's next step once the stores are done: a switch, a verification, a revert, or
    /// its end.
    Advance { run: RunId, driver: Driver },
    /// Mark the run for abort.
    Abort { run: RunId },
    /// Compute and record every application's and copied store's readiness (the schedule's).
    Readiness {},
    /// A CloudWatch alarm changed state: the EventBridge event, whole (the rule's input
    /// transformer puts it under `event`).
    Alarm {
        event: EventBridgeEvent<AlarmDetail>,
    },
}

/// A CloudWatch alarm's state change's detail ("CloudWatch Alarm State Change"): only the
/// fields read here; AWS sends others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlarmDetail {
    pub state: AlarmState,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlarmState {
    pub value: String,
    #[serde(default)]
    pub reason: String,
}

const ALARM_SOURCE: &str = "aws.cloudwatch";
const ALARM_DETAIL_TYPE: &str = "CloudWatch Alarm State Change";

/// The change, checked: an alarm's state change naming one alarm by its ARN.
fn alarm_fired(event: EventBridgeEvent<AlarmDetail>) -> Result<AlarmFired, FunctionError> {
    let id = event.id.unwrap_or_default();
    if event.source != ALARM_SOURCE || event.detail_type != ALARM_DETAIL_TYPE {
        return Err(FunctionError::InvalidInput(format!(
            "event {id} is a {:?} from {:?}, not a {ALARM_DETAIL_TYPE:?} from {ALARM_SOURCE:?}",
            event.detail_type, event.source
        )));
    }
    let resources = event.resources.unwrap_or_default();
    let [alarm] = &resources[..] else {
        return Err(FunctionError::InvalidInput(format!(
            "event {id} names {} resources, not the one alarm that changed",
            resources.len()
        )));
    };
    let alarm = AlarmArn::parse(alarm).map_err(FunctionError::InvalidInput)?;
    let (Some(at), false) = (event.time, id.is_empty()) else {
        return Err(FunctionError::InvalidInput(
            "an alarm's state change has an id and a time".into(),
        ));
    };
    Ok(AlarmFired {
        alarm,
        state: event.detail.state.value,
        reason: event.detail.state.reason,
        at,
        event_id: id,
    })
}

/// What each action answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Response {
    Step(Step),
    Readiness(ReadinessSummary),
    Alarm(AlarmAnswer),
}

/// What `alarm` answers: what it did to each application that named the alarm (none: no
/// application opted in to it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlarmAnswer {
    pub applications: Vec<Outcome>,
}

/// What a run's step answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub run: RunId,
    /// `continue`: call again now; `wait`: call again after `poll_seconds`; `ended`: done.
    pub status: Advanced,
    /// For `begin`: the index of each store, the Map's items.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stores: Vec<usize>,
    /// For `begin`: the run's driver, which each of the Map's children names.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<Driver>,
    pub poll_seconds: u64,
}

/// What `readiness` answers: the counts, and the critical stores that are not ready.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReadinessSummary {
    pub applications: usize,
    pub applications_ready: usize,
    pub stores: usize,
    pub stores_ready: usize,
    pub critical_not_ready: Vec<String>,
}

const FUNCTION: &str = "failover";

const EXPECTED: &str =
    r#"{"action": "begin" | "store" | "advance" | "abort" | "readiness" | "alarm", …}"#;

/// Deployment settings of this function, from its environment.
#[derive(Debug, Clone, Default)]
pub struct FailoverSettings {
    pub reporting: Reporting,
    /// BULWARK_FAILOVER_POLL_SECONDS: the wait between looks at a restore or a record change.
    pub poll_seconds: u64,
    /// BULWARK_FAILOVER_CONCURRENCY: stores one `advance` works on at once, when it must.
    pub concurrency: usize,
    /// BULWARK_FAILOVER_STATE_MACHINE: the state machine an alarm starts.
    pub state_machine: Option<String>,
}

impl FailoverSettings {
    pub fn from_env() -> Result<Self, FunctionError> {
        Self::from_lookup(|key| std::env::var(key).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, FunctionError> {
        let key = "BULWARK_FAILOVER_POLL_SECONDS";
        let poll_seconds = bulwark_lambda::poll_seconds(key, get(key), 30)?;
        let set = |key: &str| get(key).filter(|v| !v.trim().is_empty());
        Ok(Self {
            reporting: Reporting {
                topic_arn: set("BULWARK_ALERT_TOPIC_ARN"),
                evidence_bucket: set("BULWARK_EVIDENCE_BUCKET"),
            },
            poll_seconds,
            concurrency: 4,
            state_machine: set("BULWARK_FAILOVER_STATE_MACHINE"),
        })
    }
}

/// A run's driver here is the execution that invoked the step: a process names itself only
/// from the CLI.
fn execution_driver(driver: Driver) -> Result<Driving, FunctionError> {
    match driver {
        Driver::Execution(_) => Ok(Driving::execution(driver)),
        Driver::Process { .. } => Err(FunctionError::InvalidInput(format!(
            "driver {driver} is not a Step Functions execution: the state machine passes \
             $$.Execution.Id"
        ))),
    }
}

pub async fn handle(
    services: &Services,
    settings: &FailoverSettings,
    input: Input<FailoverRequest>,
) -> Result<Response, FunctionError> {
    let aws = &services.aws;
    let inventory = &services.inventory;
    let config = &services.config;
    let respond = |run: RunId, status: Advanced, stores: Vec<usize>| {
        Response::Step(Step {
            run,
            status,
            stores,
            driver: None,
            poll_seconds: settings.poll_seconds,
        })
    };
    match input.request(EXPECTED)? {
        FailoverRequest::Begin {
            application,
            plan_hash,
            requested_by,
            reason,
            accept_data_loss,
            primary_down,
            driver,
        } => {
            let driving = execution_driver(driver)?;
            let app = config.application(&application).ok_or_else(|| {
                FunctionError::InvalidInput(format!(
                    "{application:?} is not an application of the configuration"
                ))
            })?;
            for (field, value) in [("requested_by", &requested_by), ("reason", &reason)] {
                if value.trim().is_empty() {
                    return Err(FunctionError::InvalidInput(format!(
                        "{field} is empty: a failover records who asked and why"
                    )));
                }
            }
            let request = execute::Request {
                application,
                plan_hash,
                requested_by,
                reason,
                accept_data_loss,
                // Through the state machine a failover takes each store's newest verified copy.
                newest_point: false,
                primary_down,
                caller: driving.driver.to_string(),
                failback_of: None,
                recover_before: None,
            };
            let run = execute::begin(
                aws,
                inventory,
                config,
                app,
                &request,
                &settings.reporting,
                Utc::now(),
                &driving,
            )
            .await?;
            Ok(Response::Step(Step {
                run: run.id,
                status: Advanced::Continue,
                stores: (0..run.stores.len()).collect(),
                driver: Some(driving.driver),
                poll_seconds: settings.poll_seconds,
            }))
        }
        FailoverRequest::Store { run, index, driver } => {
            let driving = execution_driver(driver)?;
            let (run, _) = record::load_existing(inventory, run.as_str()).await?;
            let account = aws.home_account().await?;
            let status =
                execute::advance_store(aws, inventory, config, &run, index, &account, &driving)
                    .await?;
            Ok(respond(run.id, status, Vec::new()))
        }
        FailoverRequest::Advance { run, driver } => {
            let driving = execution_driver(driver)?;
            let (run, events) = record::load_existing(inventory, run.as_str()).await?;
            let Some(fence) = execute::hold(aws, inventory, &run, &driving).await? else {
                return Ok(respond(run.id, Advanced::Ended, Vec::new()));
            };
            let account = aws.home_account().await?;
            let status = execute::advance(
                aws,
                inventory,
                config,
                &run,
                &events,
                &account,
                settings.concurrency,
                &settings.reporting,
                &fence,
            )
            .await?;
            Ok(respond(run.id, status, Vec::new()))
        }
        FailoverRequest::Abort { run } => {
            let run = execute::request_abort(aws, inventory, &run, None).await?;
            Ok(respond(run.id, Advanced::Continue, Vec::new()))
        }
        FailoverRequest::Alarm { event } => {
            let fired = alarm_fired(event)?;
            let state_machine = settings.state_machine.as_deref().ok_or_else(|| {
                FunctionError::Config(
                    "BULWARK_FAILOVER_STATE_MACHINE is not set: an alarm has no state machine \
                     to start"
                        .into(),
                )
            })?;
            let applications = automatic::on_alarm(
                aws,
                inventory,
                config,
                &fired,
                state_machine,
                &settings.reporting,
                Utc::now(),
            )
            .await?;
            Ok(Response::Alarm(AlarmAnswer { applications }))
        }
        FailoverRequest::Readiness {} => {
            let account = aws.home_account().await?;
            let computed = readiness::compute(aws, inventory, config, &account, Utc::now()).await?;
            readiness::record(inventory, &computed).await?;
            let critical_not_ready: Vec<String> = computed
                .critical_not_ready()
                .iter()
                .map(|s| s.subject.clone())
                .collect();
            // The alarm's metric: critical stores a failover could not restore now.
            println!(
                "{}",
                failure_count_metric(
                    FUNCTION,
                    "CriticalStoresNotReady",
                    critical_not_ready.len(),
                    Utc::now()
                )
            );
            Ok(Response::Readiness(ReadinessSummary {
                applications: computed.applications.len(),
                applications_ready: computed.applications.iter().filter(|a| a.ready).count(),
                stores: computed.stores.len(),
                stores_ready: computed.stores.iter().filter(|s| s.ready).count(),
                critical_not_ready,
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_and_unknown_fields_are_refused() {
        let execution = "arn:aws:states:eu-west-1:123456789012:execution:bulwark-failover:x1";
        let begin: FailoverRequest = serde_json::from_value(serde_json::json!({
            "action": "begin", "application": "payments", "plan_hash": "abc",
            "requested_by": "alice", "reason": "region down", "driver": execution
        }))
        .expect("begin");
        assert!(matches!(begin, FailoverRequest::Begin { .. }));
        let store = serde_json::from_value::<FailoverRequest>(serde_json::json!({
            "action": "store", "run": "payments-20261130T125601123", "index": 1,
            "driver": execution
        }));
        assert!(store.is_ok());
        for bad in [
            serde_json::json!({"action": "store", "run": "not a run id", "index": 1,
                "driver": execution}),
            serde_json::json!({"action": "store", "run": "payments-1", "index": 1}),
            serde_json::json!({"action": "advance", "run": "payments-1", "driver": "alice"}),
            serde_json::json!({"action": "advance", "run": "r", "extra": 1}),
            serde_json::json!({"action": "launch"}),
        ] {
            assert!(
                serde_json::from_value::<FailoverRequest>(bad.clone()).is_err(),
                "{bad}"
            );
        }
        let process = Driver::parse("process:laptop:12:34").expect("a process");
        assert!(execution_driver(process).is_err());
    }

    /// The "Single Metric Alarm" example of CloudWatch's "Alarm events and EventBridge",
    /// trimmed of its configuration, under the rule's `{"action": "alarm", "event": ...}`.
    fn alarm_event(resources: serde_json::Value, source: &str) -> serde_json::Value {
        serde_json::json!({"action": "alarm", "event": {
            "version": "0",
            "id": "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92",
            "detail-type": "CloudWatch Alarm State Change",
            "source": source,
            "account": "123456789012",
            "time": "2019-10-02T17:04:40Z",
            "region": "us-east-1",
            "resources": resources,
            "detail": {
                "alarmName": "ServerCpuTooHigh",
                "configuration": {"description": "Goes into alarm when server CPU utilization is too high!"},
                "previousState": {"reason": "Threshold Crossed", "timestamp": "2019-10-02T17:03:40.989+0000", "value": "OK"},
                "state": {"reason": "Threshold Crossed: 1 out of the last 1 datapoints [0.0666851903306472 (01/10/19 13:46:00)] was greater than the threshold (0.0) (minimum 1 datapoint for OK -> ALARM transition).", "timestamp": "2019-10-02T17:04:40.985+0000", "value": "ALARM"}
            }
        }})
    }

    #[test]
    fn an_alarms_state_change_parses_as_eventbridge_delivers_it_and_others_are_refused() {
        let arn = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServerCpuTooHigh";
        let request: FailoverRequest =
            serde_json::from_value(alarm_event(serde_json::json!([arn]), "aws.cloudwatch"))
                .expect("the event");
        let FailoverRequest::Alarm { event } = request else {
            panic!("an alarm");
        };
        let fired = alarm_fired(event).expect("an alarm's change");
        assert_eq!(fired.alarm.as_str(), arn);
        assert_eq!(fired.state, "ALARM");
        assert!(fired.reason.starts_with("Threshold Crossed"));
        assert_eq!(fired.event_id, "c4c1c1c9-6542-e61b-6ef0-8c4d36933a92");
        for (resources, source) in [
            (serde_json::json!([arn]), "aws.ec2"),
            (serde_json::json!([]), "aws.cloudwatch"),
            (serde_json::json!([arn, arn]), "aws.cloudwatch"),
            (
                serde_json::json!(["arn:aws:sns:us-east-1:123456789012:x"]),
                "aws.cloudwatch",
            ),
        ] {
            let request: FailoverRequest =
                serde_json::from_value(alarm_event(resources.clone(), source)).expect("parses");
            let FailoverRequest::Alarm { event } = request else {
                panic!("an alarm");
            };
            let refused = alarm_fired(event).expect_err("refused");
            assert_eq!(
                refused.error_type(),
                "Bulwark.InvalidInput",
                "{resources} {source}"
            );
        }
    }

    #[test]
    fn the_poll_interval_is_checked() {
        let bad = FailoverSettings::from_lookup(|k| {
            (k == "BULWARK_FAILOVER_POLL_SECONDS").then(|| "0".to_string())
        });
        assert!(bad.is_err());
        let ok = FailoverSettings::from_lookup(|_| None).expect("defaults");
        assert_eq!(ok.poll_seconds, 30);
        assert!(ok.reporting.topic_arn.is_none());
    }
}
