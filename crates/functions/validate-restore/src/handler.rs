//! validate-restore: the restore-test state machine's steps, one action per invocation.
//!
//! `select` picks the stores to test; for each, `start` starts its restore, `poll` follows it
//! (the state machine waits between polls: no invocation sleeps), `validate` judges the
//! restored copy, and `finish` deletes the copy, records the test in the state table and
//! writes its evidence document to S3. `finish` runs on every path, failures included (the
//! state machine's Catch). `sweep` deletes whatever a test left past its expiry.

use bulwark_aws::restore::{self, history, sweep, Ending, Origin, Progress, Started};
use bulwark_core::alerts::failure_count_metric;
use bulwark_core::overlap::{yields_to, RunningExecution};
use std::collections::BTreeMap;

use bulwark_core::restore::{test_cost, tested_instance_class, within_budget, Candidate, Usd};
use bulwark_core::{AssetState, ResourceArn, Scope, Tier};
use bulwark_lambda::{FunctionError, Input, Services};
use chrono::Utc;
use serde::{Deserialize, Serialize};

/// What the state machine asks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum RestoreRequest {
    /// The stores to test: those due by their tiers' policies, or as `request` names them.
    Select {
        request: Selection,
        /// The run's name (the execution's), which makes a retried start idempotent; when
        /// the caller has none, the time of the selection names it.
        #[serde(default)]
        run: Option<String>,
        /// The execution selecting, when a state machine asks: a run yields to an earlier one
        /// still running.
        #[serde(default)]
        execution: Option<Execution>,
    },
    Start {
        arn: ResourceArn,
        origin: Origin,
        run: String,
    },
    Poll {
        started: Box<Started>,
    },
    Validate {
        started: Box<Started>,
        progress: Progress,
    },
    /// Every field but the store's may be null: the step the test reached decides.
    Finish {
        arn: ResourceArn,
        origin: Origin,
        #[serde(default)]
        started: Option<Box<Started>>,
        #[serde(default)]
        progress: Option<Progress>,
        #[serde(default)]
        validated: Option<restore::Validated>,
        #[serde(default)]
        error: Option<Caught>,
    },
    Sweep {},
    /// A test whose finish failed every attempt: it could not be recorded (its copy, if any,
    /// is tagged, and the sweeper deletes it). Counted, so that it is alarmed.
    Unfinished {
        arn: ResourceArn,
        origin: Origin,
        #[serde(default)]
        error: Option<Caught>,
    },
}

/// The state machine's execution, from its context object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Execution {
    pub arn: String,
    pub state_machine: String,
    pub started: chrono::DateTime<Utc>,
}

/// What a run tests: with neither `arn` nor `tier` (the schedule's `{}`), the stores due by
/// their tiers' restore-test policies (and their DR copies where the policy says so, unless
/// `dr` is false); else the store or every present store of the tier, now, and their DR copies
/// when `dr` is true. A drill (`application`, or `drills` for every application of the
/// configuration) tests each of the application's stores from its copy in the DR region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selection {
    #[serde(default)]
    pub arn: Option<ResourceArn>,
    #[serde(default)]
    pub tier: Option<String>,
    #[serde(default)]
    pub dr: Option<bool>,
    #[serde(default)]
    pub application: Option<String>,
    #[serde(default)]
    pub drills: bool,
}

/// An error a state machine's Catch caught: `Cause` is the function's error as JSON
/// (`errorType`, `errorMessage`), or the service's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caught {
    #[serde(rename = "Error")]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: Option<String>,
}

impl Caught {
    fn reason(&self) -> String {
        #[derive(Deserialize)]
        struct FunctionCause {
            #[serde(rename = "errorMessage")]
            message: String,
        }
        match self.cause.as_deref() {
            Some(cause) => serde_json::from_str::<FunctionCause>(cause)
                .map(|c| format!("{}: {}", self.error, c.message))
                .unwrap_or_else(|_| format!("{}: {cause}", self.error)),
            None => self.error.clone(),
        }
    }
}

/// One test to run, an item of the state machine's Map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Planned {
    pub arn: String,
    pub origin: Origin,
    pub run: String,
}

/// What each action answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Response {
    Selected {
        tests: Vec<Planned>,
        /// The earlier run still running that this one yielded to: it tests nothing.
        yielded_to: Option<String>,
    },
    Started {
        started: Box<Started>,
        /// How long the state machine waits before it polls.
        poll_seconds: u64,
    },
    Progress(Progress),
    Validated(restore::Validated),
    Finished(Finished),
    Swept {
        deleted: usize,
        failed: usize,
        failures: Vec<String>,
    },
    Unfinished {
        unfinished: String,
    },
}

/// A finished test, in brief: the record and the evidence hold the rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finished {
    pub id: String,
    pub arn: String,
    pub origin: Origin,
    pub passed: bool,
    pub error: Option<String>,
    pub cleaned_up: bool,
    pub rto_seconds: Option<u64>,
    pub rpo_seconds: Option<u64>,
    pub evidence: Option<String>,
}

const FUNCTION: &str = "validate-restore";

const EXPECTED: &str = r#"{"action": "select" | "start" | "poll" | "validate" | "finish" | "sweep" | "unfinished", …}"#;

/// The most tests one run starts: the Map's items stay well under Step Functions' 256 KiB
/// state limit. What is left is due again at the next run.
pub const MAX_TESTS_PER_RUN: usize = 500;

/// Deployment settings of this function, from its environment.
#[derive(Debug, Clone, Default)]
pub struct RestoreSettings {
    /// BULWARK_EVIDENCE_BUCKET: where evidence documents go (none: not written).
    pub evidence_bucket: Option<String>,
    /// BULWARK_RESTORE_POLL_SECONDS: the wait between polls of a restore job.
    pub poll_seconds: u64,
}

impl RestoreSettings {
    pub fn from_env() -> Result<Self, FunctionError> {
        let key = "BULWARK_RESTORE_POLL_SECONDS";
        let poll_seconds = bulwark_lambda::poll_seconds(key, std::env::var(key).ok(), 60)?;
        Ok(Self {
            evidence_bucket: std::env::var("BULWARK_EVIDENCE_BUCKET")
                .ok()
                .filter(|b| !b.trim().is_empty()),
            poll_seconds,
        })
    }
}

pub async fn handle(
    services: &Services,
    settings: &RestoreSettings,
    input: Input<RestoreRequest>,
) -> Result<Response, FunctionError> {
    let aws = &services.aws;
    let config = &services.config;
    match input.request(EXPECTED)? {
        RestoreRequest::Select {
            request,
            run,
            execution,
        } => {
            if let Some(execution) = execution {
                let me = RunningExecution {
                    arn: execution.arn,
                    started: execution.started,
                };
                let running = restore::run::running(aws, &execution.state_machine).await?;
                if let Some(earlier) = yields_to(&me, &running) {
                    tracing::warn!(
                        earlier = %earlier.arn,
                        "an earlier restore-test run is still running: this one tests nothing"
                    );
                    return Ok(Response::Selected {
                        tests: Vec::new(),
                        yielded_to: Some(earlier.arn.clone()),
                    });
                }
            }
            let run = run.unwrap_or_else(|| Utc::now().to_rfc3339());
            let tests = select(services, &request, &run).await?;
            Ok(Response::Selected {
                tests,
                yielded_to: None,
            })
        }
        RestoreRequest::Start { arn, origin, run } => {
            let asset = services.inventory.get(&arn).await?.ok_or_else(|| {
                FunctionError::InvalidInput(format!("{arn} is not in the inventory"))
            })?;
            let started = restore::start(
                aws,
                &services.inventory,
                config,
                &asset,
                origin,
                &run,
                Utc::now(),
            )
            .await?;
            Ok(Response::Started {
                started: Box::new(started),
                poll_seconds: settings.poll_seconds,
            })
        }
        RestoreRequest::Poll { started } => Ok(Response::Progress(
            restore::poll(aws, config, &started).await?,
        )),
        RestoreRequest::Validate { started, progress } => {
            let Progress::Completed {
                restored_arn,
                restored_id,
                ..
            } = &progress
            else {
                return Err(FunctionError::InvalidInput(
                    "validate needs a completed restore".into(),
                ));
            };
            Ok(Response::Validated(
                restore::validate(aws, &started, restored_arn, restored_id).await?,
            ))
        }
        RestoreRequest::Finish {
            arn,
            origin,
            started,
            progress,
            validated,
            error,
        } => {
            let ending = Ending {
                arn: Some(arn.to_string()),
                origin,
                started: started.map(|s| *s),
                progress,
                validated,
                error: error.map(|e| e.reason()),
            };
            let test = restore::finish(aws, config, ending, Utc::now()).await?;
            history::record(&services.inventory, &test).await?;
            let evidence = match &settings.evidence_bucket {
                Some(bucket) => Some(history::write_evidence(aws, bucket, &test).await?),
                None => None,
            };
            println!(
                "{}",
                failure_count_metric(
                    FUNCTION,
                    "RestoreTestsFailed",
                    usize::from(!test.passed),
                    Utc::now()
                )
            );
            tracing::info!(
                test = %test.id,
                arn = %test.arn,
                passed = test.passed,
                error = test.error.as_deref().unwrap_or(""),
                "restore test finished"
            );
            Ok(Response::Finished(Finished {
                id: test.id,
                arn: test.arn,
                origin: test.origin,
                passed: test.passed,
                error: test.error,
                cleaned_up: test.cleaned_up,
                rto_seconds: test.measured.map(|m| m.rto_seconds),
                rpo_seconds: test.measured.map(|m| m.rpo_seconds),
                evidence,
            }))
        }
        RestoreRequest::Unfinished { arn, origin, error } => {
            let why = error.map_or_else(|| "unknown".to_string(), |e| e.reason());
            tracing::error!(arn = %arn, origin = ?origin, "restore test not recorded: {why}");
            println!(
                "{}",
                failure_count_metric(FUNCTION, "RestoreTestsUnfinished", 1, Utc::now())
            );
            Ok(Response::Unfinished {
                unfinished: arn.to_string(),
            })
        }
        RestoreRequest::Sweep {} => {
            let account = aws.home_account().await?;
            // The configured regions; with none configured (every enabled region), the regions
            // the inventory has stores in: restored copies are made only there and in their DR
            // regions. With an organization role, the accounts the inventory has stores in too.
            let reach = &services.settings.reach;
            let assets = if reach.regions.is_empty() || reach.org_role.is_some() {
                services.inventory.all().await?
            } else {
                Vec::new()
            };
            let mut regions = reach.regions.clone();
            if regions.is_empty() {
                regions = assets.iter().map(|a| a.region.clone()).collect();
            }
            let mut accounts = vec![account];
            if reach.org_role.is_some() {
                accounts.extend(assets.iter().map(|a| a.account.clone()));
            }
            accounts.sort();
            accounts.dedup();
            let dr_regions: Vec<bulwark_core::Region> = regions
                .iter()
                .filter_map(|r| config.protection().dr_region_for(r.as_str()).ok())
                .filter_map(|r| bulwark_core::Region::parse(&r).ok())
                .collect();
            let mut scopes: Vec<Scope> = accounts
                .iter()
                .flat_map(|account| {
                    regions.iter().chain(&dr_regions).map(|region| Scope {
                        account: account.clone(),
                        region: region.clone(),
                    })
                })
                .collect();
            scopes.sort();
            scopes.dedup();
            let now = Utc::now();
            let mut report = sweep::sweep(aws, &scopes, now).await?;
            let forgotten = restore::pending::sweep(aws, &services.inventory, now).await?;
            report.deleted.extend(forgotten.deleted);
            report.failed.extend(forgotten.failed);
            for (what, why) in &report.failed {
                tracing::error!(what = %what, "restored copy not deleted: {why}");
            }
            println!(
                "{}",
                failure_count_metric(FUNCTION, "SweepFailures", report.failed.len(), Utc::now())
            );
            Ok(Response::Swept {
                deleted: report.deleted.len(),
                failed: report.failed.len(),
                failures: report
                    .failed
                    .iter()
                    .map(|(what, why)| format!("{what}: {why}"))
                    .collect(),
            })
        }
    }
}

/// The tests of a run (facts: the inventory and each store's last test; the decision: core's
/// `restore::due`, or the request's store or tier).
async fn select(
    services: &Services,
    request: &Selection,
    run: &str,
) -> Result<Vec<Planned>, FunctionError> {
    let config = &services.config;
    if request.application.is_some() || request.drills {
        return drills(services, request, run).await;
    }
    if let Some(tier) = request.tier.as_deref().filter(|t| config.tier(t).is_none()) {
        return Err(FunctionError::InvalidInput(format!(
            "{tier:?} is not a tier of the configuration"
        )));
    }
    let assets = match &request.arn {
        Some(arn) => vec![services.inventory.get(arn).await?.ok_or_else(|| {
            FunctionError::InvalidInput(format!("{arn} is not in the inventory"))
        })?],
        None => services.inventory.all().await?,
    };
    // Each present store under a tier, in the configuration's order of tiers.
    let mut tiered: Vec<(String, &Tier)> = assets
        .iter()
        .filter(|a| a.state == AssetState::Present)
        .filter_map(|a| {
            let tier = a.classification.as_ref()?.tier.as_deref()?;
            Some((a.arn.to_string(), config.tier(tier)?))
        })
        .filter(|(_, tier)| request.tier.as_deref().is_none_or(|t| t == tier.name))
        .collect();
    let order = |name: &str| config.tiers().iter().position(|t| t.name == name);
    tiered.sort_by_key(|(arn, tier)| (order(&tier.name), arn.clone()));
    let planned = |arn: &str, origin| Planned {
        arn: arn.to_string(),
        origin,
        run: run.to_string(),
    };
    let mut tests = Vec::new();
    if request.arn.is_some() || request.tier.is_some() {
        for (arn, tier) in &tiered {
            tests.push(planned(arn, Origin::Home));
            if request.dr == Some(true) && tier.cross_region_copy {
                tests.push(planned(arn, Origin::Dr));
            }
        }
    } else {
        let now = Utc::now();
        let history = history::scheduling(&services.inventory, now).await?;
        let candidates: Vec<Candidate> = tiered
            .iter()
            .map(|(arn, tier)| Candidate {
                arn,
                tier,
                last_test: history.last.get(arn),
            })
            .collect();
        let due = bulwark_core::restore::due(&candidates, now);
        let (due, over) = within_budget(
            due,
            &budgets(config),
            &history.spent_this_month,
            &estimates(&assets, config, &history.last_cost),
        );
        for o in &over {
            tracing::warn!(
                arn = %o.arn,
                tier = %o.tier,
                estimate = %o.estimate,
                left = %o.left,
                "due, but over its tier's monthly budget: left for a later month"
            );
        }
        for due in due {
            tests.push(planned(&due.arn, Origin::Home));
            if due.dr_copy && request.dr != Some(false) {
                tests.push(planned(&due.arn, Origin::Dr));
            }
        }
    }
    if tests.len() > MAX_TESTS_PER_RUN {
        tracing::warn!(
            selected = tests.len(),
            "more tests due than one run starts; the rest are due at the next run"
        );
        tests.truncate(MAX_TESTS_PER_RUN);
    }
    Ok(tests)
}

/// Each tier's monthly budget, where it has one.
fn budgets(config: &bulwark_core::Config) -> BTreeMap<String, Usd> {
    config
        .tiers()
        .iter()
        .filter_map(|t| Some((t.name.clone(), t.restore_test.monthly_budget?)))
        .collect()
}

/// What a test of each store is expected to cost: its last priced test's cost, else an
/// estimate for a copy that lives an hour at the class a test restores it at. A store whose
/// estimate needs a price that is not configured is expected to cost nothing known.
fn estimates(
    assets: &[bulwark_core::Asset],
    config: &bulwark_core::Config,
    last_cost: &BTreeMap<String, Usd>,
) -> BTreeMap<String, Usd> {
    assets
        .iter()
        .filter_map(|a| {
            let arn = a.arn.to_string();
            if let Some(cost) = last_cost.get(&arn) {
                return Some((arn, *cost));
            }
            let tier = config.tier(a.classification.as_ref()?.tier.as_deref()?)?;
            let region_class = config
                .restore_prerequisites(a.region.as_str())
                .and_then(|p| p.instance_class.as_deref());
            let class = tested_instance_class(
                a.kind,
                a.attributes.engine.as_deref(),
                tier.restore_test.instance_class.as_deref(),
                region_class,
            );
            let cost = test_cost(
                a.kind,
                a.attributes.size_bytes,
                class.as_deref(),
                1.0,
                config.restore_test_prices(),
            );
            Some((arn, cost.usd?))
        })
        .collect()
}

/// A drill's tests: each store of the application (or of every application) from its copy in
/// the DR region. An application whose DR region is not where its stores' copies go (the
/// configuration's `[protection]`) cannot be drilled this way: named, it is refused; among
/// all, it is left out with a warning.
async fn drills(
    services: &Services,
    request: &Selection,
    run: &str,
) -> Result<Vec<Planned>, FunctionError> {
    let config = &services.config;
    if request.arn.is_some() || request.tier.is_some() || request.dr.is_some() {
        return Err(FunctionError::InvalidInput(
            "a drill (application, drills) takes no arn, tier or dr".into(),
        ));
    }
    let applications: Vec<&bulwark_core::application::Application> = match &request.application {
        Some(name) => vec![config.application(name).ok_or_else(|| {
            FunctionError::InvalidInput(format!(
                "{name:?} is not an application of the configuration"
            ))
        })?],
        None => config.applications().iter().collect(),
    };
    let assets = services.inventory.all().await?;
    let mut tests = Vec::new();
    for app in applications {
        let copies_in = config
            .protection()
            .dr_region_for(app.primary_region.as_str())
            .map_err(FunctionError::Config)?;
        if copies_in != app.dr_region.as_str() {
            let why = format!(
                "{}'s DR region is {}, but its stores' copies go to {copies_in}",
                app.name, app.dr_region
            );
            if request.application.is_some() {
                return Err(FunctionError::InvalidInput(why));
            }
            tracing::warn!(application = %app.name, "{why}: not drilled");
            continue;
        }
        tests.extend(
            assets
                .iter()
                .filter(|a| a.state == AssetState::Present && a.region == app.primary_region)
                .filter(|a| app.stores.selects(&a.arn, &a.tags))
                .map(|a| Planned {
                    arn: a.arn.to_string(),
                    origin: Origin::Dr,
                    run: run.to_string(),
                }),
        );
    }
    tests.truncate(MAX_TESTS_PER_RUN);
    Ok(tests)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(value: serde_json::Value) -> Result<RestoreRequest, FunctionError> {
        Input::<RestoreRequest>::from_value(value).request(EXPECTED)
    }

    #[test]
    fn the_state_machines_requests_parse() {
        let select = parse(serde_json::json!({"action": "select", "request": {}, "run": "r1"}))
            .expect("select");
        assert_eq!(
            select,
            RestoreRequest::Select {
                request: Selection::default(),
                run: Some("r1".into()),
                execution: None,
            }
        );
        let scheduled = parse(serde_json::json!({"action": "select", "request": {}, "run": "r2",
            "execution": {"arn": "arn:aws:states:us-east-1:123456789012:execution:bulwark-restore-tests:r2",
                          "state_machine": "arn:aws:states:us-east-1:123456789012:stateMachine:bulwark-restore-tests",
                          "started": "2026-12-07T03:00:00.123Z"}}))
        .expect("select by a state machine");
        let RestoreRequest::Select {
            execution: Some(execution),
            ..
        } = scheduled
        else {
            panic!("{scheduled:?}")
        };
        assert_eq!(execution.started.timestamp_subsec_millis(), 123);
        let unfinished = parse(serde_json::json!({"action": "unfinished",
            "arn": "arn:aws:dynamodb:us-east-1:123456789012:table/t", "origin": "home",
            "error": {"Error": "Bulwark.Retryable", "Cause": "throttled"}}))
        .expect("unfinished");
        assert!(matches!(unfinished, RestoreRequest::Unfinished { .. }));
        let finish = parse(serde_json::json!({
            "action": "finish", "arn": "arn:aws:dynamodb:us-east-1:123456789012:table/t",
            "origin": "dr", "started": null, "progress": null, "validated": null,
            "error": {"Error": "Bulwark.Failed", "Cause": "{\"errorType\":\"Bulwark.Failed\",\"errorMessage\":\"no point\"}"}
        }))
        .expect("finish");
        let RestoreRequest::Finish { origin, error, .. } = finish else {
            panic!("{finish:?}")
        };
        assert_eq!(origin, Origin::Dr);
        assert_eq!(error.expect("caught").reason(), "Bulwark.Failed: no point");
        assert!(parse(serde_json::json!({"action": "select", "request": {"tier": "critical", "extra": 1}, "run": "r"})).is_err());
        assert!(parse(serde_json::json!({"action": "restore"})).is_err());
    }
}
