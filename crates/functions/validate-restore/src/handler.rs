//! validate-restore: the restore-test state machine's steps, one action per invocation.
//!
//! `select` picks the stores to test; for each, `start` starts its restore, `poll` follows it
//! (the state machine waits between polls: no invocation sleeps), `validate` judges the
//! restored copy, and `finish` deletes the copy, records the test in the state table and
//! writes its evidence document to S3. `finish` runs on every path, failures included (the
//! state machine's Catch). `sweep` deletes whatever a test left past its expiry.

use bulwark_aws::restore::{self, history, sweep, Ending, Origin, Progress, Started};
use bulwark_core::alerts::failure_count_metric;
use bulwark_core::{AssetState, ResourceArn, Scope};
use bulwark_lambda::{FunctionError, Input, Services};
use chrono::Utc;
use serde::{Deserialize, Serialize};

/// What the state machine asks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum RestoreRequest {
    /// The stores to test: one (`arn`), a tier's, or every tier's.
    Select {
        #[serde(default)]
        arn: Option<ResourceArn>,
        #[serde(default)]
        tier: Option<String>,
        /// Test the DR copies too.
        #[serde(default)]
        dr: bool,
        /// The run's name (the execution's), which makes a retried start idempotent.
        run: String,
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
    Finish {
        #[serde(flatten)]
        ending: Box<Ending>,
    },
    Sweep {},
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

const EXPECTED: &str = r#"{"action": "select" | "start" | "poll" | "validate" | "finish" | "sweep", …}"#;

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
        let poll_seconds = match std::env::var("BULWARK_RESTORE_POLL_SECONDS") {
            Ok(n) => n.trim().parse::<u64>().ok().filter(|n| (1..=3600).contains(n)).ok_or_else(|| {
                FunctionError::Config(format!(
                    "BULWARK_RESTORE_POLL_SECONDS={n:?} is not a number of seconds from 1 to 3600"
                ))
            })?,
            Err(_) => 60,
        };
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
        RestoreRequest::Select { arn, tier, dr, run } => {
            if let Some(tier) = tier.as_deref().filter(|t| config.tier(t).is_none()) {
                return Err(FunctionError::InvalidInput(format!(
                    "{tier:?} is not a tier of the configuration"
                )));
            }
            let assets = match &arn {
                Some(arn) => vec![services.inventory.get(arn).await?.ok_or_else(|| {
                    FunctionError::InvalidInput(format!("{arn} is not in the inventory"))
                })?],
                None => services.inventory.all().await?,
            };
            let mut tests = Vec::new();
            for asset in assets {
                let asset_tier = asset.classification.as_ref().and_then(|c| c.tier.clone());
                let Some(asset_tier) = asset_tier.and_then(|t| config.tier(&t).cloned()) else {
                    continue;
                };
                if asset.state != AssetState::Present
                    || tier.as_deref().is_some_and(|t| t != asset_tier.name)
                {
                    continue;
                }
                tests.push(Planned {
                    arn: asset.arn.to_string(),
                    origin: Origin::Home,
                    run: run.clone(),
                });
                if dr && asset_tier.cross_region_copy {
                    tests.push(Planned {
                        arn: asset.arn.to_string(),
                        origin: Origin::Dr,
                        run: run.clone(),
                    });
                }
            }
            tests.truncate(MAX_TESTS_PER_RUN);
            Ok(Response::Selected { tests })
        }
        RestoreRequest::Start { arn, origin, run } => {
            let asset = services.inventory.get(&arn).await?.ok_or_else(|| {
                FunctionError::InvalidInput(format!("{arn} is not in the inventory"))
            })?;
            let started = restore::start(aws, config, &asset, origin, &run, Utc::now()).await?;
            Ok(Response::Started {
                started: Box::new(started),
                poll_seconds: settings.poll_seconds,
            })
        }
        RestoreRequest::Poll { started } => Ok(Response::Progress(restore::poll(aws, &started).await?)),
        RestoreRequest::Validate { started, progress } => {
            let Progress::Completed { restored_id, .. } = &progress else {
                return Err(FunctionError::InvalidInput(
                    "validate needs a completed restore".into(),
                ));
            };
            Ok(Response::Validated(
                restore::validate(aws, &started, restored_id).await?,
            ))
        }
        RestoreRequest::Finish { ending } => {
            let test = restore::finish(aws, config, *ending, Utc::now()).await?;
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
        RestoreRequest::Sweep {} => {
            let account = aws.home_account().await?;
            let regions = services.settings.reach.regions.iter().cloned();
            let dr_regions = services
                .settings
                .reach
                .regions
                .iter()
                .filter_map(|r| config.protection().dr_region_for(r.as_str()).ok())
                .filter_map(|r| bulwark_core::Region::parse(&r).ok());
            let mut scopes: Vec<Scope> = regions
                .chain(dr_regions)
                .map(|region| Scope {
                    account: account.clone(),
                    region,
                })
                .collect();
            scopes.sort();
            scopes.dedup();
            let report = sweep::sweep(aws, &scopes, Utc::now()).await?;
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
