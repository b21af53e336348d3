//! assign-policy: the assets a sweep classified (classify's output: its `scopes`), one asset,
//! or everything. Applies the difference between the desired AWS Backup state and what exists,
//! then evaluates coverage: CloudWatch metrics in Embedded Metric Format on stdout, and an SNS
//! message (BULWARK_ALERT_TOPIC_ARN) when a critical-tier asset is unprotected or past its RPO.

use bulwark_aws::assign::{self, PolicyReport};
use bulwark_core::alerts::{coverage_metrics, critical_findings};
use bulwark_core::{summarize, GroupSummary, ResourceArn, Scope};
use bulwark_lambda::{FunctionError, Services};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What assign-policy is asked to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Request {
    One { arn: ResourceArn },
    Scopes { scopes: Vec<Scope> },
    Everything(Everything),
}

/// `{}`: the whole inventory. Any other field is a mistake, not a request for everything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Everything {}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    pub policy: PolicyReport,
    pub coverage: GroupSummary,
    pub critical_findings: Vec<String>,
    pub alert_message_id: Option<String>,
}

pub fn parse(event: Value) -> Result<Request, FunctionError> {
    serde_json::from_value(event).map_err(|e| {
        FunctionError::InvalidInput(format!(
            "expected {{\"scopes\": [{{\"account\", \"region\"}}]}}, {{\"arn\": \"…\"}} or {{}}: {e}"
        ))
    })
}

pub async fn handle(services: &Services, event: Value) -> Result<Outcome, FunctionError> {
    let request = parse(event)?;
    let scopes: Option<Vec<Scope>> = match &request {
        Request::Everything(_) => None,
        Request::Scopes { scopes } => Some(scopes.clone()),
        Request::One { arn } => {
            let asset = services.inventory.get(arn).await?.ok_or_else(|| {
                FunctionError::InvalidInput(format!("{arn} is not in the inventory"))
            })?;
            Some(vec![asset.scope()])
        }
    };
    let org_role = services.settings.reach.org_role.as_deref();
    let now = chrono::Utc::now();
    let policy = assign::assign(
        &services.aws,
        &services.inventory,
        &services.config,
        org_role,
        scopes.as_deref(),
        true,
        now,
    )
    .await?;
    let (assets, _) = assign::coverage(
        &services.aws,
        &services.inventory,
        &services.config,
        org_role,
        scopes.as_deref(),
        now,
    )
    .await?;
    let report = summarize(&assets, now);
    for document in coverage_metrics(&report, now) {
        println!("{document}");
    }
    let findings = critical_findings(&assets);
    let alert_message_id = match std::env::var("BULWARK_ALERT_TOPIC_ARN")
        .ok()
        .filter(|t| !t.is_empty())
    {
        Some(topic) => assign::notify(&services.aws, &topic, &findings).await?,
        None => None,
    };
    Ok(Outcome {
        policy,
        coverage: report.totals,
        critical_findings: findings,
        alert_message_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_and_bad_ones_are_refused() {
        assert_eq!(
            parse(serde_json::json!({})).expect("everything"),
            Request::Everything(Everything {})
        );
        let scopes = serde_json::json!({"scopes": [{"account": "123456789012", "region": "eu-west-1"}], "classified": 3});
        assert!(matches!(
            parse(scopes).expect("scopes"),
            Request::Scopes { .. }
        ));
        let one = serde_json::json!({"arn": "arn:aws:s3:::bucket"});
        assert!(matches!(parse(one).expect("one"), Request::One { .. }));
        let err = parse(serde_json::json!({"arn": "nope"})).expect_err("bad arn");
        assert_eq!(err.error_type(), bulwark_lambda::error_type::INVALID_INPUT);
    }
}
