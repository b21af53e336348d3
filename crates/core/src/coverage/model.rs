//! The evidence coverage judges (recovery points, restore tests, what selects a store) and
//! the verdicts it gives (controls, their status, each store's coverage).

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::classify::UnknownValue;
use crate::duration::Duration;
use crate::kind::Kind;
use crate::protection::NativeState;

/// One recovery point of the asset, as AWS Backup lists it. Copies in the DR region or in
/// another account are recovery points whose region or account differ from the asset's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecoveryPoint {
    pub arn: String,
    pub resource_arn: String,
    pub vault_name: String,
    pub region: String,
    pub account: String,
    pub created: DateTime<Utc>,
    /// COMPLETED, PARTIAL, CREATING, AVAILABLE, STOPPED, DELETING or EXPIRED.
    pub status: String,
    pub encrypted: bool,
    pub kms_key_arn: Option<String>,
    pub delete_after_days: Option<u64>,
    pub move_to_cold_after_days: Option<u64>,
    pub continuous: bool,
    pub vault_locked: bool,
    pub vault_lock_min_retention_days: Option<u64>,
    /// The vault's access policy denies backup:DeleteRecoveryPoint.
    pub vault_denies_manual_deletion: bool,
    pub logically_air_gapped: bool,
    /// BackupSizeInBytes, where AWS Backup reports it.
    #[serde(default)]
    pub size_bytes: Option<u64>,
    /// In cold storage (StorageClass COLD).
    #[serde(default)]
    pub cold: bool,
}

impl RecoveryPoint {
    pub(super) fn restorable(&self) -> bool {
        ["COMPLETED", "AVAILABLE"]
            .iter()
            .any(|s| self.status.eq_ignore_ascii_case(s))
    }
}

/// A timed restore of one of the asset's recovery points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreTest {
    pub completed: DateTime<Utc>,
    /// The measured RTO, rounded up to the minute; zero when the test restored nothing.
    pub duration: Duration,
    pub succeeded: bool,
    /// The measured RPO (the restored point's age when the test began), rounded up to the
    /// minute. None when nothing was measured, and in records older than the field.
    #[serde(default)]
    pub rpo: Option<Duration>,
    /// Why the test failed, in short, when it is known.
    #[serde(default)]
    pub reason: Option<String>,
}

impl RestoreTest {
    /// Whether RTO and RPO were measured: a test that failed before it could validate a copy
    /// has neither, and its zero duration is no RTO.
    pub fn measured(&self) -> bool {
        self.succeeded || self.rpo.is_some()
    }
}

/// What the adapters found about one asset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evidence {
    /// The plans whose selections match the asset.
    pub selected_by: Vec<String>,
    /// The schedule intervals of those plans' rules.
    pub plan_frequencies: Vec<Duration>,
    /// The retention, in days, of those plans' rules.
    pub plan_retention_days: Vec<u64>,
    /// The asset's recovery points, copies included.
    pub recovery_points: Vec<RecoveryPoint>,
    pub native: NativeState,
    pub last_restore_test: Option<RestoreTest>,
}

/// The AWS Backup Audit Manager controls, named as AWS names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Control {
    BackupResourcesProtectedByBackupPlan,
    BackupPlanMinFrequencyAndMinRetentionCheck,
    BackupRecoveryPointManualDeletionDisabled,
    BackupRecoveryPointEncrypted,
    BackupRecoveryPointMinimumRetentionCheck,
    BackupResourcesProtectedByCrossRegion,
    BackupResourcesProtectedByCrossAccount,
    BackupResourcesProtectedByBackupVaultLock,
    BackupLastRecoveryPointCreated,
    RestoreTimeForResourcesMeetTarget,
    ResourcesInLogicallyAirGappedVault,
}

impl Control {
    pub const ALL: [Control; 11] = [
        Control::BackupResourcesProtectedByBackupPlan,
        Control::BackupPlanMinFrequencyAndMinRetentionCheck,
        Control::BackupRecoveryPointManualDeletionDisabled,
        Control::BackupRecoveryPointEncrypted,
        Control::BackupRecoveryPointMinimumRetentionCheck,
        Control::BackupResourcesProtectedByCrossRegion,
        Control::BackupResourcesProtectedByCrossAccount,
        Control::BackupResourcesProtectedByBackupVaultLock,
        Control::BackupLastRecoveryPointCreated,
        Control::RestoreTimeForResourcesMeetTarget,
        Control::ResourcesInLogicallyAirGappedVault,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Control::BackupResourcesProtectedByBackupPlan => {
                "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN"
            }
            Control::BackupPlanMinFrequencyAndMinRetentionCheck => {
                "BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK"
            }
            Control::BackupRecoveryPointManualDeletionDisabled => {
                "BACKUP_RECOVERY_POINT_MANUAL_DELETION_DISABLED"
            }
            Control::BackupRecoveryPointEncrypted => "BACKUP_RECOVERY_POINT_ENCRYPTED",
            Control::BackupRecoveryPointMinimumRetentionCheck => {
                "BACKUP_RECOVERY_POINT_MINIMUM_RETENTION_CHECK"
            }
            Control::BackupResourcesProtectedByCrossRegion => {
                "BACKUP_RESOURCES_PROTECTED_BY_CROSS_REGION"
            }
            Control::BackupResourcesProtectedByCrossAccount => {
                "BACKUP_RESOURCES_PROTECTED_BY_CROSS_ACCOUNT"
            }
            Control::BackupResourcesProtectedByBackupVaultLock => {
                "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_VAULT_LOCK"
            }
            Control::BackupLastRecoveryPointCreated => "BACKUP_LAST_RECOVERY_POINT_CREATED",
            Control::RestoreTimeForResourcesMeetTarget => "RESTORE_TIME_FOR_RESOURCES_MEET_TARGET",
            Control::ResourcesInLogicallyAirGappedVault => {
                "RESOURCES_IN_LOGICALLY_AIR_GAPPED_VAULT"
            }
        }
    }
}

impl fmt::Display for Control {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One control's verdict on one asset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    Compliant,
    NonCompliant { reason: String },
    NotApplicable { why: String },
}

impl Status {
    /// The short word reports print: compliant, non-compliant, not-applicable.
    pub fn label(&self) -> &'static str {
        match self {
            Status::Compliant => "compliant",
            Status::NonCompliant { .. } => "non-compliant",
            Status::NotApplicable { .. } => "not-applicable",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlResult {
    pub control: Control,
    #[serde(flatten)]
    pub status: Status,
}

/// One asset's coverage: the facts, the controls' verdicts and the exceptions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssetCoverage {
    pub arn: String,
    pub kind: Kind,
    pub account: String,
    pub region: String,
    pub name: String,
    pub tier: Option<String>,
    pub backup_required: bool,
    /// Selected by at least one backup plan.
    pub selected: bool,
    pub selected_by: Vec<String>,
    /// The newest restorable point in the asset's own account and region; with continuous
    /// backup or PITR on, the latest restorable time (now less the point-in-time lag).
    pub latest_recovery_point: Option<DateTime<Utc>>,
    pub latest_age: Option<Duration>,
    /// The tier's RPO; None when not backed up.
    pub rpo: Option<Duration>,
    /// The tier's RTO; None when not backed up.
    #[serde(default)]
    pub rto: Option<Duration>,
    /// The latest recovery point is older than the RPO, or there is none and the asset was
    /// first seen longer than the RPO ago.
    pub rpo_breached: bool,
    /// Selected, and the latest recovery point is within the RPO.
    pub protected: bool,
    /// A restorable copy exists in another region.
    pub dr_copy: bool,
    /// DynamoDB PITR or S3 versioning; None for the kinds that have neither, or unread.
    pub pitr_or_versioning: Option<bool>,
    /// Every restorable point is in a locked vault (false when there is none).
    pub locked: bool,
    /// Every restorable point is encrypted; None when there is none.
    pub encrypted: Option<bool>,
    /// The last restore test of the asset's own region's recovery points, as coverage
    /// judged it (RESTORE_TIME_FOR_RESOURCES_MEET_TARGET).
    #[serde(default)]
    pub last_restore_test: Option<RestoreTest>,
    pub controls: Vec<ControlResult>,
    /// Every applicable control is compliant.
    pub compliant: bool,
    /// The id AWS Config knows the store by (its name, but for RDS instances and clusters).
    #[serde(default)]
    pub resource_id: String,
    /// The reasons of the non-compliant controls.
    pub exceptions: Vec<String>,
    /// Tag values classification did not know: reported, never a silent default.
    pub unknown_values: Vec<UnknownValue>,
    /// What the store copies outside AWS Backup (None: not read for its kind).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication: Option<crate::replication::Replication>,
}
