//! The asset model: one data store as Bulwark knows it, and what classification decided for
//! it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::arn::{AccountId, Region, ResourceArn};
use crate::kind::Kind;

/// Whether the store still exists, as far as the last complete sweep of its account and
/// region could tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssetState {
    Present,
    Gone,
}

/// Protection-related attributes, filled wherever the listing returns them inline. Those
/// only a call per resource returns (S3 versioning, DynamoDB PITR) are not discovery's job.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attributes {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kms_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_retention_days: Option<i32>,
    /// RDS: a backup retention change waiting for the maintenance window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_backup_retention_days: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
    /// Aurora: the member instances that belong to this cluster's asset.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<String>,
    /// The id AWS Config knows the store by, where it is not the name: an RDS instance's
    /// DbiResourceId, a DB cluster's DbClusterResourceId.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    /// RDS and Aurora: Multi-AZ and read replicas, as the listing gives them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication: Option<crate::replication::Replication>,
}

/// One data store: what discovery saw, when, and what classification decided.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Asset {
    pub arn: ResourceArn,
    pub kind: Kind,
    pub account: AccountId,
    pub region: Region,
    /// The bucket, instance, cluster or table name, or the file system or volume id.
    pub name: String,
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default)]
    pub attributes: Attributes,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub state: AssetState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gone_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classification: Option<Classification>,
    /// The backup plan assign-policy put this store under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignment: Option<Assignment>,
    /// Optimistic-concurrency version of the stored record; 0 for one never stored.
    #[serde(default)]
    pub version: u64,
}

impl Asset {
    /// A store just seen by discovery.
    pub fn observed(
        arn: ResourceArn,
        account: AccountId,
        region: Region,
        tags: BTreeMap<String, String>,
        attributes: Attributes,
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            kind: arn.kind,
            name: arn.id.clone(),
            arn,
            account,
            region,
            tags,
            attributes,
            first_seen: now,
            last_seen: now,
            state: AssetState::Present,
            gone_at: None,
            classification: None,
            assignment: None,
            version: 0,
        }
    }

    /// The (account, region) whose complete sweep decides whether this store is gone.
    pub fn scope(&self) -> Scope {
        Scope {
            account: self.account.clone(),
            region: self.region.clone(),
        }
    }
}

/// The AWS Backup plan an asset is under, and since when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    /// The tier tag written on the store; None when it is not backed up (tag removed).
    #[serde(default)]
    pub tier: Option<String>,
    /// None when the store is not backed up.
    pub plan: Option<String>,
    pub plan_version: Option<String>,
    pub assigned_at: DateTime<Utc>,
}

/// An account and region: the unit a sweep covers and marks gone in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Scope {
    pub account: AccountId,
    pub region: Region,
}

impl Scope {
    /// The ARN of a store of `kind` with this id in this account and region (its partition's).
    pub fn arn(&self, kind: Kind, id: &str) -> ResourceArn {
        ResourceArn::new(
            kind,
            self.region.partition(),
            &self.region,
            &self.account,
            id,
        )
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.account, self.region)
    }
}

/// A tag value that matched none of the values its rule knows. Reported, never a silent
/// default: classification falls through to the next rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UnknownValue {
    pub key: String,
    pub value: String,
}

/// What classification decided for one asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Classification {
    /// The tier; None when the store is not backed up.
    pub tier: Option<String>,
    pub backup_required: bool,
    pub reproducible: bool,
    /// The name of the rule that decided.
    pub rule: String,
    /// Human-readable reasons: which tag, name or value decided.
    pub reasons: Vec<String>,
    pub unknown_values: Vec<UnknownValue>,
}
