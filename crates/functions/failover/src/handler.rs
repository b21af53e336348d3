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
//! readiness and counts the critical stores not ready.

use bulwark_aws::failover::execute::{self, Advanced, Reporting};
use bulwark_aws::failover::lock::Driving;
use bulwark_aws::failover::{readiness, record};
use bulwark_core::alerts::failure_count_metric;
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
}

/// What each action answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Response {
    Step(Step),
    Readiness(ReadinessSummary),
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

const EXPECTED: &str = r#"{"action": "begin" | "store" | "advance" | "abort" | "readiness", …}"#;

/// Deployment settings of this function, from its environment.
#[derive(Debug, Clone, Default)]
pub struct FailoverSettings {
    pub reporting: Reporting,
    /// BULWARK_FAILOVER_POLL_SECONDS: the wait between looks at a restore or a record change.
    pub poll_seconds: u64,
    /// BULWARK_FAILOVER_CONCURRENCY: stores one `advance` works on at once, when it must.
    pub concurrency: usize,
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
