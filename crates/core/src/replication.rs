//! What a store copies outside AWS Backup, and where: S3 replication rules, DynamoDB global
//! table replicas, RDS and Aurora Multi-AZ and read replicas. Reported beside coverage: a live
//! replica is the faster way to fail over, and its absence where a tier expects one is worth
//! seeing.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The ID of Bulwark's S3 replication rule (`s3_replication`): the one rule of a bucket's
/// replication configuration it writes.
pub const S3_REPLICATION_RULE_ID: &str = "bulwark-dr-replication";

/// The tag on a replica bucket Bulwark made, naming the bucket it replicates: a replica is never
/// replicated itself, and a classification rule may read the tag.
pub const REPLICA_OF_TAG: &str = "bulwark:replica-of";

/// S3's longest bucket name.
const BUCKET_NAME_MAX: usize = 63;

/// The name of `source`'s replica bucket in `dr_region`: `<source>-replica-<dr_region>`; where
/// that passes S3's 63 characters, the source's name cut short and 8 hex digits of its digest,
/// so that two long names sharing a beginning do not meet.
pub fn replica_bucket(source: &str, dr_region: &str) -> String {
    let suffix = format!("-replica-{dr_region}");
    let whole = format!("{source}{suffix}");
    if whole.len() <= BUCKET_NAME_MAX {
        return whole;
    }
    let digest = hex::encode(&Sha256::digest(source.as_bytes())[..4]);
    let room = BUCKET_NAME_MAX - suffix.len() - digest.len() - 1;
    let kept = source[..room.min(source.len())].trim_end_matches(['-', '.']);
    format!("{kept}-{digest}{suffix}")
}

/// A bucket's replication configuration, as far as Bulwark decides on it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BucketReplication {
    /// The role S3 replicates as; None: the bucket has no replication configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The destination bucket's ARN of Bulwark's rule, when the bucket has it enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ours: Option<String>,
    /// The IDs of the rules that are not Bulwark's, enabled or not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub others: Vec<String>,
}

/// One enabled S3 replication rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3ReplicationRule {
    /// The destination bucket's ARN.
    pub destination: String,
    /// S3 Replication Time Control (15-minute replication, with its metrics).
    #[serde(default)]
    pub time_control: bool,
    /// Replication metrics (and so the replication-failure events) are on.
    #[serde(default)]
    pub metrics: bool,
}

/// A store's replication, as far as it was read (None fields: not read, or not of its kind).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replication {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub s3_rules: Vec<S3ReplicationRule>,
    /// A DynamoDB global table's other replicas: their regions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replica_regions: Vec<String>,
    /// RDS or Aurora: a standby in another Availability Zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multi_az: Option<bool>,
    /// RDS or Aurora read replicas (ids; ARNs for those in other regions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read_replicas: Vec<String>,
}

impl Replication {
    /// Whether the store has a copy outside AWS Backup.
    pub fn replicated(&self) -> bool {
        !self.s3_rules.is_empty()
            || !self.replica_regions.is_empty()
            || self.multi_az == Some(true)
            || !self.read_replicas.is_empty()
    }

    /// A copy of the store already live in `region`, outside AWS Backup, in words: a failover
    /// there could promote or use it instead of restoring (a cross-region read replica's ARN
    /// names its region; a global table lists its replicas' regions).
    pub fn live_replica_in(&self, region: &str) -> Option<String> {
        if let Some(replica) = self
            .read_replicas
            .iter()
            .find(|r| r.split(':').nth(3) == Some(region))
        {
            return Some(format!(
                "the read replica {replica} is live in {region}: promoting it is faster than a restore"
            ));
        }
        self.replica_regions.iter().any(|r| r == region).then(|| {
            format!(
                "the global table's replica in {region} already serves: pointing the \
                     application at it is faster than a restore"
            )
        })
    }

    /// One line for a report: each copy, or "none".
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        for rule in &self.s3_rules {
            let mut extras = Vec::new();
            if rule.time_control {
                extras.push("RTC");
            }
            if rule.metrics {
                extras.push("metrics");
            }
            let extras = if extras.is_empty() {
                String::new()
            } else {
                format!(" ({})", extras.join(", "))
            };
            parts.push(format!("replicated to {}{extras}", rule.destination));
        }
        if !self.replica_regions.is_empty() {
            parts.push(format!(
                "global table replicas in {}",
                self.replica_regions.join(", ")
            ));
        }
        if self.multi_az == Some(true) {
            parts.push("Multi-AZ".to_string());
        }
        match self.read_replicas.len() {
            0 => {}
            1 => parts.push(format!("read replica {}", self.read_replicas[0])),
            n => parts.push(format!(
                "{n} read replicas ({})",
                self.read_replicas.join(", ")
            )),
        }
        if parts.is_empty() {
            "none".to_string()
        } else {
            parts.join("; ")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replica_is_named_after_its_bucket_and_region_within_s3s_63_characters() {
        assert_eq!(
            replica_bucket("ledger", "us-west-2"),
            "ledger-replica-us-west-2"
        );
        let long = "customer-order-history-archive-2024-v2-exports";
        let other = "customer-order-history-archive-2024-v2-exports-b";
        let named = replica_bucket(long, "ap-southeast-4");
        assert!(named.len() <= 63, "{named}");
        assert!(named.starts_with("customer-order-history-arch"), "{named}");
        assert!(named.ends_with("-replica-ap-southeast-4"), "{named}");
        assert_ne!(named, replica_bucket(other, "ap-southeast-4"));
        let dotted = replica_bucket(
            &format!("{}.{}", "a".repeat(30), "b".repeat(30)),
            "us-west-2",
        );
        assert!(dotted.len() <= 63 && !dotted.contains(".-"), "{dotted}");
    }

    #[test]
    fn a_summary_names_each_copy_and_none_when_there_is_none() {
        assert_eq!(Replication::default().summary(), "none");
        assert!(!Replication::default().replicated());
        let bucket = Replication {
            s3_rules: vec![S3ReplicationRule {
                destination: "arn:aws:s3:::ledger-dr".into(),
                time_control: true,
                metrics: true,
            }],
            ..Replication::default()
        };
        assert_eq!(
            bucket.summary(),
            "replicated to arn:aws:s3:::ledger-dr (RTC, metrics)"
        );
        let db = Replication {
            multi_az: Some(true),
            read_replicas: vec!["orders-ro".into()],
            ..Replication::default()
        };
        assert_eq!(db.summary(), "Multi-AZ; read replica orders-ro");
        assert!(db.replicated());
        let single = Replication {
            multi_az: Some(false),
            ..Replication::default()
        };
        assert!(!single.replicated());
        assert_eq!(single.summary(), "none");
    }
}
