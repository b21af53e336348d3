//! What deserves a page and what goes to metrics: pure functions over a coverage report.

use chrono::{DateTime, Utc};

use crate::backup_cost::StorageCost;
use crate::config::Config;
use crate::coverage::{AssetCoverage, CoverageReport};
use crate::emf::{self, Metric, Value};

/// Assets of the tiers that alert (`alert = true` in the configuration) that are unprotected
/// or breach their RPO, one line each; empty when there is nothing to say.
pub fn critical_findings(config: &Config, assets: &[AssetCoverage]) -> Vec<String> {
    let alerting = config.alerting_tiers();
    assets
        .iter()
        .filter(|a| a.tier.as_deref().is_some_and(|t| alerting.contains(&t)))
        .filter(|a| !a.protected || a.rpo_breached)
        .map(|a| {
            let why = if !a.selected {
                "not selected by any backup plan".to_string()
            } else if a.rpo_breached {
                match (a.latest_age, a.rpo) {
                    (Some(age), Some(rpo)) => {
                        format!("latest recovery point is {age} old; RPO is {rpo}")
                    }
                    _ => "no recovery point within its RPO".to_string(),
                }
            } else {
                "no recovery point within its RPO".to_string()
            };
            format!(
                "{} ({} in {}/{}): {why}",
                a.arn, a.kind, a.account, a.region
            )
        })
        .collect()
}

/// The most findings one alert lists: the rest are counted, and `bulwark report` has them all.
pub const ALERT_FINDINGS_LISTED: usize = 50;

/// The alert's subject and message for `findings`: at most `ALERT_FINDINGS_LISTED` lines, so
/// the message stays far below SNS's 256 KiB whatever the estate, and the subject within
/// SNS's 100 characters.
pub fn alert_message(findings: &[String]) -> (String, String) {
    let subject = format!(
        "Bulwark: {} stores unprotected or past their RPO",
        findings.len()
    );
    let mut lines: Vec<String> = findings
        .iter()
        .take(ALERT_FINDINGS_LISTED)
        .map(|line| line.chars().take(1000).collect())
        .collect();
    if findings.len() > ALERT_FINDINGS_LISTED {
        lines.push(format!(
            "... and {} more: run `bulwark report` for every one",
            findings.len() - ALERT_FINDINGS_LISTED
        ));
    }
    (subject, lines.join("\n"))
}

/// CloudWatch Embedded Metric Format documents, one per tier: coverage and RPO breaches.
/// Printed to stdout by a Lambda, CloudWatch turns them into metrics without an API call.
pub fn coverage_metrics(report: &CoverageReport, now: DateTime<Utc>) -> Vec<String> {
    let count = |name, n: usize| Metric {
        name,
        value: Value::count(n),
    };
    report
        .by_tier
        .iter()
        .filter(|(_, s)| s.backup_required > 0)
        .map(|(tier, s)| {
            let metrics = [
                Metric {
                    name: "CoveragePercent",
                    value: Value::Percent(s.coverage_percent),
                },
                count("RpoBreaches", s.rpo_breaches),
                count("BackupRequiredAssets", s.backup_required),
                count("NonCompliantAssets", s.non_compliant),
            ];
            emf::document(&[("Tier", tier)], &metrics, now)
        })
        .collect()
}

/// What keeping each tier's recovery points costs a month, and their size, as EMF documents
/// (dimension Tier): the cost metric of the seeds' "backup cost, tracked".
pub fn storage_metrics(storage: &StorageCost, now: DateTime<Utc>) -> Vec<String> {
    storage
        .by_tier
        .iter()
        .map(|line| {
            let metrics = [
                Metric {
                    name: "BackupStorageMonthlyUsd",
                    value: Value::Dollars(line.usd_month.dollars()),
                },
                Metric {
                    name: "BackupStorageGigabytes",
                    value: Value::Gigabytes(line.warm_gb + line.cold_gb),
                },
            ];
            emf::document(&[("Tier", &line.name)], &metrics, now)
        })
        .collect()
}

/// The count of accounts and regions a run could not finish, as an EMF document: the metric
/// the template's alarm watches, so a partial run pages someone.
pub fn failed_scopes_metric(function: &str, failed: usize, now: DateTime<Utc>) -> String {
    let metric = Metric {
        name: "FailedScopes",
        value: Value::count(failed),
    };
    emf::document(&[("Function", function)], &[metric], now)
}

/// A count of something that went wrong in a function's invocation (restore tests that
/// failed, restored copies the sweeper could not delete), for an alarm.
pub fn failure_count_metric(
    function: &str,
    name: &'static str,
    failed: usize,
    now: DateTime<Utc>,
) -> String {
    let metric = Metric {
        name,
        value: Value::count(failed),
    };
    emf::document(&[("Function", function)], &[metric], now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coverage::GroupSummary;
    use std::collections::BTreeMap;

    #[test]
    fn an_alert_stays_bounded_whatever_the_estate() {
        let findings: Vec<String> = (0..20_000)
            .map(|n| format!("arn:aws:dynamodb:us-east-1:123456789012:table/t{n}: not selected"))
            .collect();
        let (subject, message) = alert_message(&findings);
        assert!(subject.chars().count() <= 100, "{subject}");
        assert!(message.len() < 64 * 1024, "{} bytes", message.len());
        assert_eq!(message.lines().count(), ALERT_FINDINGS_LISTED + 1);
        assert!(message.ends_with("... and 19950 more: run `bulwark report` for every one"));
        let (_, few) = alert_message(&findings[..2]);
        assert_eq!(few.lines().count(), 2);
    }

    #[test]
    fn failed_scopes_are_a_metric_of_their_own() {
        let doc: serde_json::Value =
            serde_json::from_str(&failed_scopes_metric("assign-policy", 2, Utc::now()))
                .expect("json");
        assert_eq!(doc["FailedScopes"], 2);
        assert_eq!(doc["Function"], "assign-policy");
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
            "FailedScopes"
        );
    }

    #[test]
    fn one_metric_document_per_backed_up_tier() {
        let mut by_tier = BTreeMap::new();
        by_tier.insert(
            "critical".to_string(),
            GroupSummary {
                assets: 3,
                backup_required: 3,
                protected: 2,
                rpo_breaches: 1,
                non_compliant: 1,
                coverage_percent: 66.6,
            },
        );
        by_tier.insert(
            "not-backed-up".to_string(),
            GroupSummary {
                assets: 2,
                ..GroupSummary::default()
            },
        );
        let report = CoverageReport {
            generated_at: Utc::now(),
            totals: GroupSummary::default(),
            tier_order: vec![],
            by_tier,
            by_kind: BTreeMap::new(),
            by_tier_and_kind: BTreeMap::new(),
            age_histogram: BTreeMap::new(),
            with_unknown_values: 0,
            exceptions: vec![],
        };
        let docs = coverage_metrics(&report, Utc::now());
        assert_eq!(docs.len(), 1);
        let doc: serde_json::Value = serde_json::from_str(&docs[0]).expect("json");
        assert_eq!(doc["Tier"], "critical");
        assert_eq!(doc["RpoBreaches"], 1);
        assert_eq!(doc["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Bulwark");
    }

    #[test]
    fn each_tiers_storage_is_a_dollar_amount_and_gigabytes() {
        use crate::backup_cost::{CostLine, StorageCost};
        let storage = StorageCost {
            by_tier: vec![CostLine {
                name: "critical".into(),
                points: 3,
                warm_gb: 10.0,
                cold_gb: 2.5,
                usd_month: crate::restore::Usd::from_micros(1_075_000),
            }],
            ..StorageCost::default()
        };
        let documents = storage_metrics(&storage, Utc::now());
        assert_eq!(documents.len(), 1);
        let doc: serde_json::Value = serde_json::from_str(&documents[0]).expect("json");
        assert_eq!(doc["Tier"], "critical");
        assert_eq!(doc["BackupStorageMonthlyUsd"], 1.075);
        assert_eq!(doc["BackupStorageGigabytes"], 12.5);
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Metrics"],
            serde_json::json!([
                {"Name": "BackupStorageMonthlyUsd", "Unit": "None"},
                {"Name": "BackupStorageGigabytes", "Unit": "Gigabytes"}
            ])
        );
    }
}
