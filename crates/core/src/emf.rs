//! CloudWatch Embedded Metric Format, typed: a document is one dimension set and its metric
//! values, serialized with the `_aws` metadata AWS's specification asks for. A Lambda prints
//! the line to stdout and CloudWatch turns it into metrics without an API call.
//!
//! The metric names are declared once, as `Metric`s; the document's values are built from
//! those same declarations, so a name in the metadata always has its value beside it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

/// The namespace every Bulwark metric is published in.
pub const NAMESPACE: &str = "Bulwark";

/// A CloudWatch unit, as EMF names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
enum Unit {
    Count,
    Percent,
    Gigabytes,
    /// A plain number (EMF's "None"): the dollar amounts.
    None,
}

/// A metric's value; its unit follows from what it is. Counts stay integers in the JSON.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Count(u64),
    Percent(f64),
    Gigabytes(f64),
    /// An amount of US dollars (CloudWatch has no currency unit).
    Dollars(f64),
}

impl Value {
    fn unit(self) -> Unit {
        match self {
            Value::Count(_) => Unit::Count,
            Value::Percent(_) => Unit::Percent,
            Value::Gigabytes(_) => Unit::Gigabytes,
            Value::Dollars(_) => Unit::None,
        }
    }

    /// A count of things (assets, scopes).
    pub fn count(n: usize) -> Self {
        Value::Count(u64::try_from(n).unwrap_or(u64::MAX))
    }
}

/// One metric of a document: its name and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: &'static str,
    pub value: Value,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Metadata {
    timestamp: i64,
    cloud_watch_metrics: [Directive; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Directive {
    namespace: &'static str,
    dimensions: [Vec<&'static str>; 1],
    metrics: Vec<Definition>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Definition {
    name: &'static str,
    unit: Unit,
}

#[derive(Serialize)]
struct Document<'a> {
    #[serde(rename = "_aws")]
    aws: Metadata,
    #[serde(flatten)]
    dimensions: BTreeMap<&'static str, &'a str>,
    #[serde(flatten)]
    values: BTreeMap<&'static str, Value>,
}

/// One EMF line: `metrics` under the dimensions `dimensions` (name, value), at `now`.
pub fn document(
    dimensions: &[(&'static str, &str)],
    metrics: &[Metric],
    now: DateTime<Utc>,
) -> String {
    let document = Document {
        aws: Metadata {
            timestamp: now.timestamp_millis(),
            cloud_watch_metrics: [Directive {
                namespace: NAMESPACE,
                dimensions: [dimensions.iter().map(|(name, _)| *name).collect()],
                metrics: metrics
                    .iter()
                    .map(|m| Definition {
                        name: m.name,
                        unit: m.value.unit(),
                    })
                    .collect(),
            }],
        },
        dimensions: dimensions.iter().copied().collect(),
        values: metrics.iter().map(|m| (m.name, m.value)).collect(),
    };
    serde_json::to_string(&document).expect("an EMF document is plain data")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_is_what_the_emf_specification_describes() {
        let now = DateTime::from_timestamp_millis(1_700_000_000_000).expect("time");
        let line = document(
            &[("Tier", "critical")],
            &[
                Metric {
                    name: "CoveragePercent",
                    value: Value::Percent(99.5),
                },
                Metric {
                    name: "RpoBreaches",
                    value: Value::count(2),
                },
            ],
            now,
        );
        let doc: serde_json::Value = serde_json::from_str(&line).expect("json");
        assert_eq!(
            doc,
            serde_json::json!({
                "_aws": {
                    "Timestamp": 1_700_000_000_000_i64,
                    "CloudWatchMetrics": [{
                        "Namespace": "Bulwark",
                        "Dimensions": [["Tier"]],
                        "Metrics": [
                            {"Name": "CoveragePercent", "Unit": "Percent"},
                            {"Name": "RpoBreaches", "Unit": "Count"}
                        ]
                    }]
                },
                "Tier": "critical",
                "CoveragePercent": 99.5,
                "RpoBreaches": 2
            })
        );
    }
}
