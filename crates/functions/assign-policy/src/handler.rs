//! assign-policy: the assets a sweep classified (classify's output: its `scopes`), one asset
//! (its scope's shared Backup resources, and that asset's own tag, native protection and
//! record), or everything. Applies the difference between the desired AWS Backup state and what exists,
//! then evaluates coverage: CloudWatch metrics in Embedded Metric Format on stdout, and an SNS
//! message (BULWARK_ALERT_TOPIC_ARN) when a critical-tier asset is unprotected or past its RPO.
//! Also pages about AWS Backup's own events the template's rules give it (`backup_event`): a
//! call that weakens what keeps recovery points, or a job that failed.

mod backup_event;

use aws_lambda_events::event::config::ConfigEvent;
use aws_lambda_events::eventbridge::EventBridgeEvent;
pub use backup_event::BackupEventDetail;
use bulwark_aws::assign::{self, PolicyReport, Targets};
use bulwark_aws::AwsError;
use bulwark_core::alerts::{
    coverage_metrics, critical_findings, failed_scopes_metric, storage_metrics,
};
use bulwark_core::config_rule::Compliance;
use bulwark_core::{summarize, GroupSummary, ResourceArn, Scope};
use bulwark_lambda::{FunctionError, Input, Services};
use serde::{Deserialize, Serialize};
#[cfg(test)]
use serde_json::Value;

/// What assign-policy is asked to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AssignRequest {
    One {
        arn: ResourceArn,
    },
    Scopes {
        scopes: Vec<Scope>,
    },
    Everything(Everything),
    /// AWS Backup's own event, whole: a write call CloudTrail recorded or a job's end.
    BackupEvent {
        backup_event: Box<EventBridgeEvent<BackupEventDetail>>,
    },
    /// AWS Config invoking Bulwark's rule: every store's verdict of the rule's account and
    /// region, reported with PutEvaluations. Nothing is applied.
    ConfigRule(Box<ConfigEvent>),
}

/// What a Config rule's evaluation reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluated {
    pub evaluated: usize,
    pub compliant: usize,
    pub non_compliant: usize,
    pub not_applicable: usize,
    /// Evaluations AWS Config refused (FailedEvaluations).
    pub refused: usize,
}

/// What assign-policy answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Response {
    Outcome(Box<Outcome>),
    Evaluated(Evaluated),
    Paged(Paged),
}

/// What an AWS Backup event came to: the page's subject and message id, or nothing to page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paged {
    pub subject: Option<String>,
    pub store: Option<String>,
    pub tier: Option<String>,
    pub alert_message_id: Option<String>,
}

/// `{}`: the whole inventory. Any other field is a mistake, not a request for everything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Everything {}

/// What the function returns to Step Functions: counts and where the details are, never a
/// list that grows with the estate (a state's output is at most 256 KiB).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub applied: bool,
    /// Some scope failed (counted in `failed_scopes`, named in the logs); the rest completed.
    pub partial: bool,
    pub failed_scopes: usize,
    pub scopes: usize,
    pub changes: usize,
    pub mutating_calls: u64,
    pub assignments_recorded: usize,
    /// Drift Bulwark may not correct (what it did not create).
    pub unreconciled: usize,
    pub warnings: usize,
    pub coverage: GroupSummary,
    pub critical_findings: usize,
    pub alert_message_id: Option<String>,
    /// Where the per-asset details are.
    pub details: String,
}

impl Outcome {
    fn new(
        policy: &PolicyReport,
        coverage: GroupSummary,
        critical_findings: usize,
        alert_message_id: Option<String>,
        table: &str,
    ) -> Self {
        Self {
            applied: policy.applied,
            partial: policy.partial(),
            failed_scopes: policy.failures.len(),
            scopes: policy.scopes.len(),
            changes: policy.changes(),
            mutating_calls: policy.mutating_calls,
            assignments_recorded: policy.scopes.iter().map(|s| s.assignments_recorded).sum(),
            unreconciled: policy.scopes.iter().map(|s| s.unreconciled.len()).sum(),
            warnings: policy.warnings.len(),
            coverage,
            critical_findings,
            alert_message_id,
            details: format!(
                "each asset's assignment is recorded in table {table}; its coverage and \
                 every exception: `bulwark report` (the metrics: this invocation's EMF logs)"
            ),
        }
    }
}

const EXPECTED: &str = r#"{"scopes": [{"account", "region"}]}, {"arn": "…"}, {}, {"backup_event": …} or an AWS Config rule event"#;

pub async fn handle(
    services: &Services,
    input: Input<AssignRequest>,
) -> Result<Response, FunctionError> {
    let request = input.request(EXPECTED)?;
    let targets = match &request {
        AssignRequest::Everything(_) => Targets::Everything,
        AssignRequest::Scopes { scopes } => Targets::Scopes(scopes),
        AssignRequest::One { arn } => Targets::Store(arn),
        AssignRequest::ConfigRule(event) => {
            return Ok(Response::Evaluated(evaluate_rule(services, event).await?))
        }
        AssignRequest::BackupEvent { backup_event } => {
            return Ok(Response::Paged(
                page(services, *backup_event.clone()).await?,
            ))
        }
    };
    let not_in_inventory = |e: AwsError| match e {
        AwsError::NotInInventory(arn) => {
            FunctionError::InvalidInput(format!("{arn} is not in the inventory"))
        }
        other => FunctionError::Aws(other),
    };
    let org_role = services.settings.reach.org_role.as_deref();
    let now = chrono::Utc::now();
    let (policy, assets, storage) = assign::apply_and_judge(
        &services.aws,
        &services.inventory,
        &services.config,
        org_role,
        targets,
        now,
    )
    .await
    .map_err(not_in_inventory)?;
    for failure in &policy.failures {
        tracing::error!(
            account = %failure.account,
            region = %failure.region,
            retryable = failure.retryable,
            "scope not reconciled: {}",
            failure.error
        );
    }
    let report = summarize(&assets, now);
    println!(
        "{}",
        failed_scopes_metric("assign-policy", policy.failures.len(), now)
    );
    for document in coverage_metrics(&report, now)
        .into_iter()
        .chain(storage_metrics(&storage, now))
    {
        println!("{document}");
    }
    let findings = critical_findings(&services.config, &assets);
    let alert_message_id = match std::env::var("BULWARK_ALERT_TOPIC_ARN")
        .ok()
        .filter(|t| !t.is_empty())
    {
        Some(topic) => assign::notify(&services.aws, &topic, &findings).await?,
        None => None,
    };
    Ok(Response::Outcome(Box::new(Outcome::new(
        &policy,
        report.totals,
        findings.len(),
        alert_message_id,
        services.inventory.table(),
    ))))
}

/// Page about an AWS Backup event: the store it touches and that store's tier, then the
/// message on the alert topic.
async fn page(
    services: &Services,
    event: EventBridgeEvent<BackupEventDetail>,
) -> Result<Paged, FunctionError> {
    use bulwark_core::backup_alert::{alert, Store};
    let Some((incident, occurred, lead)) = backup_event::read(event)? else {
        return Ok(Paged {
            subject: None,
            store: None,
            tier: None,
            alert_message_id: None,
        });
    };
    let scope = bulwark_core::Scope {
        account: occurred.account.clone(),
        region: occurred.region.clone(),
    };
    let store =
        bulwark_aws::backup_alert::store_of(&services.aws, &services.inventory, scope, lead)
            .await?;
    let page = alert(
        &incident,
        &occurred,
        &store,
        &services.config.protection().vault_name,
    );
    tracing::warn!(subject = %page.subject, "{}", page.message);
    let topic = std::env::var("BULWARK_ALERT_TOPIC_ARN")
        .ok()
        .filter(|t| !t.is_empty());
    let alert_message_id = match topic {
        Some(topic) => bulwark_aws::backup_alert::publish(&services.aws, &topic, &page).await?,
        None => None,
    };
    let (store, tier) = match store {
        Store::Known { arn, tier, .. } => (Some(arn), tier),
        Store::Unknown(_) => (None, None),
    };
    Ok(Paged {
        subject: Some(page.subject),
        store,
        tier,
        alert_message_id,
    })
}

/// Judge every store of the rule's account and region, as coverage does, and report each
/// verdict to AWS Config under the event's result token.
async fn evaluate_rule(
    services: &Services,
    event: &ConfigEvent,
) -> Result<Evaluated, FunctionError> {
    let token = event
        .result_token
        .as_deref()
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| {
            FunctionError::InvalidInput("a Config rule event without its resultToken".into())
        })?;
    let region = event
        .config_rule_arn
        .as_deref()
        .and_then(|arn| arn.split(':').nth(3))
        .and_then(|r| bulwark_core::Region::parse(r).ok())
        .or_else(|| services.aws.base_region())
        .ok_or_else(|| {
            FunctionError::InvalidInput("the Config rule's region is not known".into())
        })?;
    let account = services.aws.home_account().await?;
    let now = chrono::Utc::now();
    let (assets, _) = assign::coverage(
        &services.aws,
        &services.inventory,
        &services.config,
        services.settings.reach.org_role.as_deref(),
        Targets::Everything,
        now,
    )
    .await?;
    let evaluations: Vec<_> = assets
        .iter()
        .filter(|a| a.account == account.as_str() && a.region == region.as_str())
        .map(bulwark_core::config_rule::evaluation)
        .collect();
    let refused = bulwark_aws::config_rule::put_evaluations(
        &services.aws,
        &account,
        &region,
        token,
        &evaluations,
        now,
    )
    .await?;
    let count = |c: Compliance| evaluations.iter().filter(|e| e.compliance == c).count();
    Ok(Evaluated {
        evaluated: evaluations.len(),
        compliant: count(Compliance::Compliant),
        non_compliant: count(Compliance::NonCompliant),
        not_applicable: count(Compliance::NotApplicable),
        refused,
    })
}

#[cfg(test)]
mod tests {
    use bulwark_aws::assign::ScopePlan;
    use bulwark_core::protection::{Action, TagChange};

    use super::*;

    fn parse(event: Value) -> Result<AssignRequest, FunctionError> {
        Input::from_value(event).request(EXPECTED)
    }

    #[test]
    fn a_config_rule_event_is_an_evaluation_and_an_empty_object_is_everything() {
        let event = serde_json::json!({
            "version": "1.0",
            "invokingEvent": "{\"messageType\":\"ScheduledNotification\"}",
            "ruleParameters": "{}",
            "resultToken": "token",
            "eventLeftScope": false,
            "configRuleArn": "arn:aws:config:us-east-1:123456789012:config-rule/config-rule-abc",
            "configRuleName": "bulwark-protection",
            "accountId": "123456789012"
        });
        let Ok(AssignRequest::ConfigRule(rule)) = parse(event) else {
            panic!("expected a Config rule event");
        };
        assert_eq!(rule.result_token.as_deref(), Some("token"));
        assert!(matches!(
            parse(serde_json::json!({})),
            Ok(AssignRequest::Everything(_))
        ));
    }

    #[test]
    fn the_outcome_stays_small_whatever_the_estate() {
        // Given a report the size of the benchmark's apply: 6,103 changes in two scopes
        let tag = |n: usize| TagChange {
            arn: format!("arn:aws:dynamodb:us-east-1:123456789012:table/t-{n:05}"),
            region: "us-east-1".into(),
            tier: Some("critical".into()),
        };
        let scope = |from: usize, to: usize| ScopePlan {
            scope: None,
            backup_actions: vec![Action::DeleteSelection {
                plan_name: "bulwark-critical-dynamodb".into(),
                name: "bulwark-critical-dynamodb-assets".into(),
            }],
            tag_changes: (from..to).map(tag).collect(),
            native_actions: Vec::new(),
            cautions: Vec::new(),
            unreconciled: Vec::new(),
            assignments_recorded: to - from,
        };
        let policy = PolicyReport {
            applied: true,
            scopes: vec![scope(0, 3050), scope(3050, 6101)],
            failures: Vec::new(),
            warnings: Vec::new(),
            calls: Default::default(),
            mutating_calls: 2044,
            lease_calls: 2,
            added_cost: Default::default(),
        };
        assert_eq!(policy.changes(), 6103);
        assert!(serde_json::to_vec(&policy).expect("json").len() > 256 * 1024);
        // When it becomes the function's output
        let outcome = Outcome::new(&policy, GroupSummary::default(), 1950, None, "inventory");
        // Then it carries the counts, in far less than a state's 256 KiB
        let json = serde_json::to_vec(&outcome).expect("json");
        assert!(json.len() < 2048, "{} bytes", json.len());
        assert_eq!(
            (outcome.changes, outcome.assignments_recorded),
            (6103, 6101)
        );
    }

    #[test]
    fn requests_parse_and_bad_ones_are_refused() {
        assert_eq!(
            parse(serde_json::json!({})).expect("everything"),
            AssignRequest::Everything(Everything {})
        );
        let scopes = serde_json::json!({"scopes": [{"account": "123456789012", "region": "eu-west-1"}], "classified": 3});
        assert!(matches!(
            parse(scopes).expect("scopes"),
            AssignRequest::Scopes { .. }
        ));
        let one = serde_json::json!({"arn": "arn:aws:s3:::bucket"});
        assert!(matches!(
            parse(one).expect("one"),
            AssignRequest::One { .. }
        ));
        let err = parse(serde_json::json!({"arn": "nope"})).expect_err("bad arn");
        assert_eq!(err.error_type(), bulwark_lambda::error_type::INVALID_INPUT);
    }
}
