//! The desired-state types: vaults, plans and their rules, selections, the actions that
//! change AWS Backup's state, and the tag and native-protection changes of single stores.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::replication::BucketReplication;
use crate::taxonomy::NoncurrentVersions;

/// The tag Bulwark writes on every backup-required asset; selections match on it.
pub const TIER_TAG: &str = "bulwark:tier";
/// The tag on every vault and plan Bulwark created: what it did not create it never deletes.
pub const MANAGED_TAG: &str = "bulwark:managed";

/// A vault lock. `changeable_for_days` is set only for compliance mode: after that grace
/// period the lock can never be removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaultLock {
    pub min_retention_days: u64,
    pub max_retention_days: Option<u64>,
    pub changeable_for_days: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vault {
    pub name: String,
    pub region: String,
    /// The KMS key alias (alias/…) the vault encrypts with: customer-managed.
    pub kms_key_alias: String,
    pub lock: Option<VaultLock>,
    /// The vault access policy document (JSON), normalised.
    pub access_policy: Option<String>,
    pub managed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    pub move_to_cold_storage_after_days: Option<u64>,
    pub delete_after_days: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyAction {
    /// arn:aws:backup:<dr-region>:<account>:backup-vault:<name>
    pub destination_vault_arn: String,
    pub lifecycle: Option<Lifecycle>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRule {
    pub name: String,
    pub target_vault: String,
    /// AWS cron syntax: cron(Minutes Hours Day-of-month Month Day-of-week Year).
    pub schedule: String,
    pub start_window_minutes: u64,
    pub completion_window_minutes: u64,
    pub lifecycle: Option<Lifecycle>,
    pub continuous_backup: bool,
    pub copy_actions: Vec<CopyAction>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub name: String,
    pub rules: Vec<PlanRule>,
    pub managed: bool,
}

/// A StringEquals condition on a resource tag: AND semantics across conditions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TagCondition {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    pub name: String,
    pub plan_name: String,
    pub iam_role_arn: String,
    /// ARN patterns of the kinds this plan covers (OR), e.g. arn:aws:rds:*:*:db:*.
    pub resources: Vec<String>,
    pub conditions: Vec<TagCondition>,
}

/// The AWS Backup state of one account in its primary region (and the DR vault).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupState {
    /// By (region, vault name).
    pub vaults: BTreeMap<(String, String), Vault>,
    /// By plan name.
    pub plans: BTreeMap<String, Plan>,
    /// By (plan name, selection name).
    pub selections: BTreeMap<(String, String), Selection>,
}

/// One change to AWS Backup's state: one mutating call each. Selections cannot be updated in
/// place: a changed one is deleted and created again. `diff` emits `CreateVault` without lock
/// or access policy (CreateBackupVault sets neither) and follows it with `PutVaultLock` and
/// `PutVaultAccessPolicy` as needed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    CreateVault(Vault),
    PutVaultLock {
        region: String,
        vault: String,
        lock: VaultLock,
    },
    PutVaultAccessPolicy {
        region: String,
        vault: String,
        policy: String,
    },
    CreatePlan(Plan),
    UpdatePlan(Plan),
    CreateSelection(Selection),
    DeleteSelection {
        plan_name: String,
        name: String,
    },
}

/// The tag value an asset should carry, where it differs from what it carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagChange {
    pub arn: String,
    /// Where to call the Tagging API: the asset's region.
    pub region: String,
    /// The tier to write as `bulwark:tier`; None removes the tag.
    pub tier: Option<String>,
}

/// A native protection a tier demands and the asset lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum NativeAction {
    /// DynamoDB point-in-time recovery.
    EnablePitr {
        arn: String,
        region: String,
        table: String,
    },
    /// S3 versioning (continuous backup of S3 needs it, and it guards against overwrites).
    EnableVersioning {
        arn: String,
        region: String,
        bucket: String,
    },
    /// RDS instance or Aurora cluster automated-backup retention, raised from `from_days` to
    /// `days`, now or at the next maintenance window (`[protection] rds_apply_immediately`).
    SetBackupRetention {
        arn: String,
        region: String,
        id: String,
        cluster: bool,
        from_days: i32,
        days: u32,
        immediately: bool,
    },
    /// Bulwark's lifecycle rule for a bucket's noncurrent versions, put in place of the one it
    /// has (the bucket's other rules are kept as they are).
    PutNoncurrentRule {
        arn: String,
        region: String,
        bucket: String,
        rule: NoncurrentVersions,
    },
    /// A bucket's replica in its DR region: the replica bucket made (versioned, encrypted, not
    /// public) where it is missing, and Bulwark's replication rule put beside the bucket's other
    /// rules, S3 assuming `role_arn`.
    ReplicateBucket {
        arn: String,
        region: String,
        bucket: String,
        replica: String,
        replica_region: String,
        role_arn: String,
    },
}

impl NativeAction {
    /// What a reader of the plan must know before applying it: a change that cannot be undone
    /// or that causes an outage. None for the others.
    pub fn caution(&self) -> Option<String> {
        match self {
            NativeAction::EnablePitr { .. } => None,
            NativeAction::EnableVersioning { bucket, .. } => Some(format!(
                "bucket {bucket}: versioning cannot be turned off again, only suspended, and \
                 every overwrite then keeps the old version (storage costs grow)"
            )),
            NativeAction::SetBackupRetention {
                id,
                from_days: 0,
                immediately,
                ..
            } => Some(if *immediately {
                format!(
                    "{id}: turning on automated backups applies now and restarts the database \
                     (an outage)"
                )
            } else {
                format!(
                    "{id}: turning on automated backups waits for the next maintenance window, \
                     when the database restarts (pending until then)"
                )
            }),
            NativeAction::SetBackupRetention { .. } => None,
            NativeAction::PutNoncurrentRule {
                bucket,
                rule:
                    NoncurrentVersions {
                        expire_after_days: Some(days),
                        ..
                    },
                ..
            } => Some(format!(
                "bucket {bucket}: a version is deleted {days} days after it stops being \
                 current, for good unless a recovery point holds it"
            )),
            NativeAction::PutNoncurrentRule { .. } => None,
            NativeAction::ReplicateBucket { bucket, .. } => Some(format!(
                "bucket {bucket}: replication copies what is written from now on; the objects \
                 already there are not copied (S3 Batch Replication does that)"
            )),
        }
    }
}

/// What native protections an asset has now, as read from AWS (None: not read / not applicable).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NativeState {
    pub pitr_enabled: Option<bool>,
    pub versioning_enabled: Option<bool>,
    /// The retention in force, or the one pending for the maintenance window when a change
    /// is: a pending change is not asked for again.
    pub backup_retention_days: Option<i32>,
    /// A bucket's lifecycle rule for noncurrent versions of Bulwark's own: `Some(None)` when it
    /// has none; None when not read (no tier asks for one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noncurrent_rule: Option<Option<NoncurrentVersions>>,
    /// A bucket's replication configuration; None when not read (no tier asks for
    /// replication).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3_replication: Option<BucketReplication>,
}
