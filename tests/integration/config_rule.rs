//! Bulwark's verdicts in AWS Config: the template's custom rule, run by the local AWS as AWS
//! Config runs a periodic rule, reports each store's protection verdict with PutEvaluations.

use crate::harness::{control, TestAccount, HOME_REGION};
use crate::seed;

#[tokio::test]
async fn bulwarks_verdicts_are_readable_from_its_aws_config_rule() {
    // Given the system deployed with its Config rule, a critical table not yet backed up and a
    // bucket whose data can be rebuilt, inventoried and classified
    let t = TestAccount::new().await;
    let deployed = crate::deployed::deploy_template(
        &t,
        serde_json::json!({"Regions": HOME_REGION, "ConfigRule": "true"}),
    );
    let rule = deployed["config_rules"]["ProtectionRule"]
        .as_str()
        .expect("the rule")
        .to_string();
    seed::table(
        &t,
        HOME_REGION,
        "orders",
        &[("DataClassification", "Critical")],
    )
    .await;
    let bucket = format!("build-cache-{}", t.account);
    seed::bucket(&t, HOME_REGION, &bucket, &[("Reproducible", "true")]).await;
    for step in ["discover", "classify"] {
        crate::cli::ok_on(&t, crate::harness::TABLE, &[step]);
    }

    // When AWS Config runs the rule (the real assign-policy function, under its role)
    let answer = control(
        "/moto-api/bulwark/config/evaluate",
        &serde_json::json!({"account": t.account.as_str(), "region": HOME_REGION, "rule": rule}),
    );
    assert_eq!(answer["response"]["refused"], 0, "{answer}");

    // Then each store's verdict is readable from AWS Config, the reason with it
    let details = aws_sdk_config::Client::new(&t.in_region(HOME_REGION))
        .get_compliance_details_by_config_rule()
        .config_rule_name(&rule)
        .send()
        .await
        .expect("the evaluations");
    let verdict = |id: &str| {
        details
            .evaluation_results()
            .iter()
            .find(|r| {
                r.evaluation_result_identifier()
                    .and_then(|i| i.evaluation_result_qualifier())
                    .and_then(|q| q.resource_id())
                    == Some(id)
            })
            .unwrap_or_else(|| panic!("no evaluation of {id}: {details:?}"))
    };
    let orders = verdict("orders");
    assert_eq!(
        orders.compliance_type(),
        Some(&aws_sdk_config::types::ComplianceType::NonCompliant)
    );
    assert!(orders.annotation().is_some_and(|a| !a.is_empty()));
    assert_eq!(
        verdict(&bucket).compliance_type(),
        Some(&aws_sdk_config::types::ComplianceType::NotApplicable)
    );
}
