//! Bulwark's verdicts reported to its custom AWS Config rule: PutEvaluations with the result
//! token AWS Config handed the rule's function, 100 evaluations a call.

use aws_sdk_config::types::{ComplianceType, Evaluation as SdkEvaluation};
use bulwark_core::config_rule::{Evaluation, EVALUATIONS_PER_CALL};
use bulwark_core::Region;
use chrono::{DateTime, Utc};

use crate::clients::Aws;
use crate::error::AwsError;
use crate::permissions::{p, Permission};

pub const CONFIG_RULE: &[Permission] = &[p(
    "config:PutEvaluations",
    "report each store's protection verdict to Bulwark's Config rule",
)];

/// Report `evaluations`, as of `ordering` (when they were judged), under `result_token`, to
/// AWS Config in `region` (the rule's). Returns how many AWS Config refused.
pub async fn put_evaluations(
    aws: &Aws,
    account: &bulwark_core::AccountId,
    region: &Region,
    result_token: &str,
    evaluations: &[Evaluation],
    ordering: DateTime<Utc>,
) -> Result<usize, AwsError> {
    let clients = aws.home_scope(bulwark_core::Scope {
        account: account.clone(),
        region: region.clone(),
    });
    let at = aws_smithy_types::DateTime::from_secs(ordering.timestamp());
    let mut refused = 0;
    for batch in evaluations.chunks(EVALUATIONS_PER_CALL) {
        let batch = batch
            .iter()
            .map(|e| {
                SdkEvaluation::builder()
                    .compliance_resource_type(e.resource_type)
                    .compliance_resource_id(&e.resource_id)
                    .compliance_type(ComplianceType::from(e.compliance.as_str()))
                    .set_annotation(e.annotation.clone())
                    .ordering_timestamp(at)
                    .build()
                    .map_err(|err| AwsError::Malformed(err.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = clients
            .configservice
            .put_evaluations()
            .result_token(result_token)
            .set_evaluations(Some(batch))
            .send()
            .await
            .map_err(|e| AwsError::sdk("config:PutEvaluations", e))?;
        refused += out.failed_evaluations().len();
    }
    Ok(refused)
}
