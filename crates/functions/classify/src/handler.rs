//! classify: the assets a sweep touched (discover's output: its `scopes`), or one asset.

use bulwark_aws::ops::{self, ClassifySummary};
use bulwark_core::{ResourceArn, Scope};
use bulwark_lambda::{FunctionError, Input, Services};
use serde::{Deserialize, Serialize};
#[cfg(test)]
use serde_json::Value;

/// What classify is asked to do. Discover's summary is accepted as is: its `scopes` say what
/// the sweep touched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ClassifyRequest {
    One { arn: ResourceArn },
    Scopes { scopes: Vec<Scope> },
}

const EXPECTED: &str = r#"{"scopes": [{"account", "region"}]} or {"arn": "…"}"#;

pub async fn handle(
    services: &Services,
    input: Input<ClassifyRequest>,
) -> Result<ClassifySummary, FunctionError> {
    match input.request(EXPECTED)? {
        ClassifyRequest::One { arn } => {
            Ok(ops::classify_one(&services.inventory, &services.config, &arn).await?)
        }
        ClassifyRequest::Scopes { scopes } => {
            Ok(ops::classify_scopes(&services.inventory, &services.config, &scopes).await?)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(event: Value) -> Result<ClassifyRequest, FunctionError> {
        Input::from_value(event).request(EXPECTED)
    }

    fn sample(name: &str) -> Value {
        let path = format!("{}/../../../events/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn sample_requests_survive_parse_serialize_reparse() {
        for name in ["classify-scopes.json", "classify-one.json"] {
            let request = parse(sample(name)).expect(name);
            let again = parse(serde_json::to_value(&request).expect(name)).expect(name);
            assert_eq!(request, again, "{name}");
        }
    }

    #[test]
    fn discovers_output_is_classifys_input() {
        let summary = bulwark_aws::ops::DiscoverSummary {
            scopes: vec![Scope {
                account: bulwark_core::AccountId::parse("123456789012").expect("account"),
                region: bulwark_core::Region::parse("eu-west-1").expect("region"),
            }],
            ..Default::default()
        };
        let request = parse(serde_json::to_value(summary).expect("json")).expect("parse");
        assert!(matches!(request, ClassifyRequest::Scopes { scopes } if scopes.len() == 1));
    }

    #[test]
    fn bad_requests_are_clear_errors() {
        for bad in [
            serde_json::json!({}),
            serde_json::json!({"arn": "arn:aws:sqs:us-east-1:123456789012:q"}),
            serde_json::json!({"scopes": [{"account": "12", "region": "eu-west-1"}]}),
        ] {
            let err = parse(bad.clone()).expect_err(&bad.to_string());
            assert_eq!(err.error_type(), bulwark_lambda::error_type::INVALID_INPUT);
        }
    }
}
