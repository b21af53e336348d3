//! A run through a deployed state machine (the restore tests', the failover's), for the CLI:
//! started with the same request the schedule or an operator gives it, and followed until it
//! ends.

use std::time::Duration;

use bulwark_core::overlap::RunningExecution;
use chrono::{DateTime, Utc};

use crate::clients::Aws;
use crate::error::AwsError;
use crate::permissions::{p, Permission};

pub const RESTORE_RUN: &[Permission] = &[
    p(
        "states:StartExecution",
        "start a restore-test run or a failover through the deployed state machine",
    ),
    p("states:DescribeExecution", "follow the run until it ends"),
];

pub const OVERLAP: &[Permission] = &[p(
    "states:ListExecutions",
    "a scheduled run yields to an earlier run of its state machine still running",
)];

/// How often a followed run is asked after.
const FOLLOW_INTERVAL: Duration = Duration::from_secs(2);

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunEnd {
    pub status: String,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// The execution's output (JSON), when it succeeded.
    pub output: Option<String>,
}

/// Start a run of `state_machine` with `request` (`{"arn"|"tier", "dr"}`); its execution ARN.
pub async fn start(
    aws: &Aws,
    state_machine: &str,
    request: &serde_json::Value,
) -> Result<String, AwsError> {
    let out = aws
        .sfn()
        .start_execution()
        .state_machine_arn(state_machine)
        .input(request.to_string())
        .send()
        .await
        .map_err(|e| AwsError::sdk("states:StartExecution", e))?;
    Ok(out.execution_arn().to_string())
}

/// Wait for the run to end.
pub async fn follow(aws: &Aws, execution: &str) -> Result<RunEnd, AwsError> {
    loop {
        let out = aws
            .sfn()
            .describe_execution()
            .execution_arn(execution)
            .send()
            .await
            .map_err(|e| AwsError::sdk("states:DescribeExecution", e))?;
        let status = out.status().as_str().to_string();
        if status != "RUNNING" && status != "PENDING_REDRIVE" {
            return Ok(RunEnd {
                status,
                error: out.error().map(str::to_string),
                cause: out.cause().map(str::to_string),
                output: out.output().map(str::to_string),
            });
        }
        tokio::time::sleep(FOLLOW_INTERVAL).await;
    }
}

/// The running executions of `state_machine`.
pub async fn running(aws: &Aws, state_machine: &str) -> Result<Vec<RunningExecution>, AwsError> {
    let mut pages = aws
        .sfn()
        .list_executions()
        .state_machine_arn(state_machine)
        .status_filter(aws_sdk_sfn::types::ExecutionStatus::Running)
        .into_paginator()
        .items()
        .send();
    let mut running = Vec::new();
    while let Some(execution) = pages.next().await {
        let execution = execution.map_err(|e| AwsError::sdk("states:ListExecutions", e))?;
        let started = DateTime::<Utc>::from_timestamp(
            execution.start_date().secs(),
            execution.start_date().subsec_nanos(),
        )
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
        running.push(RunningExecution {
            arn: execution.execution_arn().to_string(),
            started,
        });
    }
    Ok(running)
}
