//! Bulwark's verdicts as AWS Config evaluations: each store's protection, judged by coverage,
//! as COMPLIANT, NON_COMPLIANT (with the reason) or NOT_APPLICABLE (its tier asks for no
//! backup), for a custom Config rule to report where auditors already look (Config, Security
//! Hub, Control Tower).

use serde::{Deserialize, Serialize};

use crate::coverage::AssetCoverage;

/// PutEvaluations' annotation: at most 256 characters.
pub const ANNOTATION_MAX: usize = 256;
/// PutEvaluations takes at most 100 evaluations a call.
pub const EVALUATIONS_PER_CALL: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Compliance {
    Compliant,
    NonCompliant,
    NotApplicable,
}

impl Compliance {
    pub fn as_str(self) -> &'static str {
        match self {
            Compliance::Compliant => "COMPLIANT",
            Compliance::NonCompliant => "NON_COMPLIANT",
            Compliance::NotApplicable => "NOT_APPLICABLE",
        }
    }
}

/// One store's evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    pub resource_type: &'static str,
    pub resource_id: String,
    pub compliance: Compliance,
    /// Why, for a store that is not compliant (at most `ANNOTATION_MAX` characters).
    pub annotation: Option<String>,
}

/// A store's evaluation from its coverage.
pub fn evaluation(coverage: &AssetCoverage) -> Evaluation {
    let (compliance, annotation) = if !coverage.backup_required {
        (Compliance::NotApplicable, None)
    } else if coverage.compliant {
        (Compliance::Compliant, None)
    } else {
        let why = coverage.exceptions.join("; ");
        let annotation: String = why.chars().take(ANNOTATION_MAX).collect();
        (Compliance::NonCompliant, Some(annotation))
    };
    Evaluation {
        resource_type: coverage.kind.config_resource_type(),
        resource_id: coverage.resource_id.clone(),
        compliance,
        annotation,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arn::{AccountId, Region, ResourceArn};
    use crate::asset::{Asset, Attributes};
    use crate::config::Config;
    use crate::coverage::{evaluate, Evidence};
    use crate::kind::Kind;
    use chrono::{TimeZone, Utc};

    fn covered(
        kind: Kind,
        name: &str,
        tags: &[(&str, &str)],
        resource_id: Option<&str>,
    ) -> AssetCoverage {
        let now = Utc
            .with_ymd_and_hms(2026, 11, 30, 12, 0, 0)
            .single()
            .expect("time");
        let region = Region::parse("us-east-1").expect("region");
        let account = AccountId::parse("123456789012").expect("account");
        let arn = ResourceArn::new(kind, "aws", &region, &account, name);
        let tags = tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let attributes = Attributes {
            resource_id: resource_id.map(str::to_string),
            ..Attributes::default()
        };
        let mut asset = Asset::observed(arn, account, region, tags, attributes, now);
        asset.first_seen = now - chrono::Duration::days(3);
        let config = Config::builtin();
        asset.classification = Some(crate::classify(&config, &asset));
        evaluate(&config, &asset, &Evidence::default(), now)
    }

    #[test]
    fn an_unprotected_critical_store_is_non_compliant_with_its_reasons_and_a_reproducible_one_not_applicable(
    ) {
        let critical = evaluation(&covered(
            Kind::Rds,
            "orders-db",
            &[("DataClassification", "Critical")],
            Some("db-ABCDEFGHIJKLMNOP"),
        ));
        assert_eq!(critical.resource_type, "AWS::RDS::DBInstance");
        assert_eq!(critical.resource_id, "db-ABCDEFGHIJKLMNOP");
        assert_eq!(critical.compliance, Compliance::NonCompliant);
        let why = critical.annotation.expect("a reason");
        assert!(
            !why.is_empty() && why.chars().count() <= ANNOTATION_MAX,
            "{why}"
        );
        let scratch = evaluation(&covered(
            Kind::S3,
            "build-cache",
            &[("Reproducible", "true")],
            None,
        ));
        assert_eq!(scratch.resource_type, "AWS::S3::Bucket");
        assert_eq!(scratch.resource_id, "build-cache");
        assert_eq!(scratch.compliance, Compliance::NotApplicable);
        assert_eq!(scratch.annotation, None);
    }

    #[test]
    fn a_long_reason_is_cut_to_the_annotations_limit() {
        let mut coverage = covered(
            Kind::Ebs,
            "vol-1",
            &[("DataClassification", "Critical")],
            None,
        );
        coverage.exceptions = vec!["x".repeat(400)];
        let evaluation = evaluation(&coverage);
        assert_eq!(
            evaluation.annotation.map(|a| a.chars().count()),
            Some(ANNOTATION_MAX)
        );
    }
}
