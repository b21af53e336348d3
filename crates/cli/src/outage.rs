//! A region that does not answer, said in one line: which region, what failed, and the command
//! to run instead, from the DR region where the state table has its replica.

use bulwark_aws::AwsError;
use bulwark_core::{Config, Region};

use crate::failover_cmd::FailoverCommand;
use crate::Command;

/// The DR region an engineer would turn to: the application's, for a failover command naming
/// one; otherwise the DR region the configuration pairs with the base region.
pub fn dr_region_of(command: &Command, config: &Config, base: Option<&Region>) -> Option<Region> {
    let app = match command {
        Command::Failover {
            action:
                FailoverCommand::Plan { app, .. }
                | FailoverCommand::Execute { app, .. }
                | FailoverCommand::Drill { app, .. },
        } => Some(app.as_str()),
        _ => None,
    };
    if let Some(app) = app.and_then(|app| config.application(app)) {
        return Some(app.dr_region.clone());
    }
    let base = base?;
    config
        .protection()
        .dr_region_for(base.as_str())
        .ok()
        .and_then(|dr| Region::parse(&dr).ok())
}

/// The AWS error behind `error`, if one is.
fn aws_error(error: &anyhow::Error) -> Option<&AwsError> {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<AwsError>())
}

/// Whether `error` is the base region not answering: the state table or the caller's identity
/// (both asked of the base region) unavailable, not refused.
pub fn region_down(error: &anyhow::Error) -> bool {
    aws_error(error).is_some_and(|e| {
        e.is_unavailable()
            && e.operation()
                .is_some_and(|op| op.starts_with("dynamodb:") || op.starts_with("sts:"))
    })
}

/// The one line: what did not answer, and what to run instead (`args`: the command line's,
/// the program's name aside).
pub fn hint(
    error: &anyhow::Error,
    base: Option<&Region>,
    dr: Option<&Region>,
    args: impl IntoIterator<Item = String>,
) -> String {
    let failed = aws_error(error).map_or_else(|| error.to_string(), ToString::to_string);
    let region = base.map_or_else(|| "the base region".to_string(), ToString::to_string);
    // As typed again at a shell: quoted where an argument needs it.
    let args: Vec<String> = args
        .into_iter()
        .map(|arg| {
            shlex::try_quote(&arg)
                .map(|quoted| quoted.into_owned())
                .unwrap_or(arg)
        })
        .collect();
    match dr.filter(|dr| Some(*dr) != base) {
        Some(dr) => format!(
            "bulwark: {region} does not answer ({failed}); the state table has a replica in \
             {dr}: run `AWS_REGION={dr} bulwark {}` instead",
            args.join(" ")
        ),
        None => format!(
            "bulwark: {region} does not answer ({failed}); run from a region whose replica of \
             the state table answers (AWS_REGION=<region>)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_to_run_instead_is_the_same_in_the_dr_region_quoted_as_typed() {
        let error = anyhow::Error::new(AwsError::Service {
            operation: "dynamodb:Scan",
            code: "HTTP 503".into(),
            message: "the region is down".into(),
            retryable: true,
        });
        assert!(region_down(&error));
        let region = |r: &str| Region::parse(r).expect("region");
        let line = hint(
            &error,
            Some(&region("us-east-1")),
            Some(&region("us-west-2")),
            ["failover", "execute", "--reason", "us-east-1 is down"].map(String::from),
        );
        assert_eq!(
            line,
            "bulwark: us-east-1 does not answer (dynamodb:Scan failed: HTTP 503: the region is \
             down); the state table has a replica in us-west-2: run `AWS_REGION=us-west-2 \
             bulwark failover execute --reason 'us-east-1 is down'` instead"
        );
        // A refusal is not an outage
        let refused = anyhow::Error::new(AwsError::Refused("no".into()));
        assert!(!region_down(&refused));
    }
}
