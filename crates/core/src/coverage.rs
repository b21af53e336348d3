//! Coverage: whether each asset is protected the way its tier demands, judged by the AWS
//! Backup Audit Manager controls, and the report that sums it up.
//!
//! The adapters gather the [`Evidence`] in bulk (ListProtectedResources, recovery points by
//! vault, the selections that match); this module only decides. Three rules shape the
//! verdicts:
//!
//! - Coverage judges against the configuration in force: the asset is classified again
//!   rather than trusting a stored classification an older taxonomy made.
//! - One cause, one exception. A control with nothing to examine because a more basic one
//!   already fails (no plan to check when nothing selects the asset, no vault to check when
//!   there is no recovery point) is not applicable, so the exceptions list the cause once.
//! - Only restorable recovery points count: COMPLETED, or AVAILABLE (the status some vault
//!   types report). PARTIAL, CREATING, STOPPED, DELETING and EXPIRED points are ignored.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::asset::Asset;
use crate::classify::{classify, Classification, UnknownValue};
use crate::config::Config;
use crate::duration::Duration;
use crate::kind::Kind;
use crate::protection::NativeState;
use crate::taxonomy::{PointInTime, Tier, CONTINUOUS_RETENTION_MAX};

/// The group that holds assets not backed up in by-tier summaries. It is reserved as a rule
/// outcome, so no tier can be named so.
pub const NOT_BACKED_UP: &str = "not-backed-up";

/// Tiers whose RTO is at most this need a measured restore: a large RDS or EBS restore alone
/// can take hours, so until a test has timed one, an RTO this short is a promise nobody has
/// checked. Longer RTOs leave room for an untimed restore to finish, so there an asset
/// without a restore test is noted, not flagged.
pub const RESTORE_TEST_REQUIRED_UP_TO: Duration = Duration::from_hours(4);

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
}

impl RecoveryPoint {
    fn restorable(&self) -> bool {
        ["COMPLETED", "AVAILABLE"]
            .iter()
            .any(|s| self.status.eq_ignore_ascii_case(s))
    }
}

/// A timed restore of one of the asset's recovery points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreTest {
    pub completed: DateTime<Utc>,
    pub duration: Duration,
    pub succeeded: bool,
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
    pub controls: Vec<ControlResult>,
    /// Every applicable control is compliant.
    pub compliant: bool,
    /// The reasons of the non-compliant controls.
    pub exceptions: Vec<String>,
    /// Tag values classification did not know: reported, never a silent default.
    pub unknown_values: Vec<UnknownValue>,
}

/// Evaluates every control for one asset. `evidence` is the asset's own.
pub fn evaluate(
    config: &Config,
    asset: &Asset,
    evidence: &Evidence,
    now: DateTime<Utc>,
) -> AssetCoverage {
    let classification = classify(config, asset);
    let tier = classification
        .tier
        .as_deref()
        .and_then(|name| config.tier(name));
    let judge = Judge::new(asset, evidence, now);

    let controls: Vec<ControlResult> = match tier {
        Some(tier) => Control::ALL
            .into_iter()
            .map(|control| ControlResult {
                control,
                status: judge.control(control, tier),
            })
            .collect(),
        None => {
            let why = not_backed_up(&classification);
            Control::ALL
                .into_iter()
                .map(|control| ControlResult {
                    control,
                    status: Status::NotApplicable { why: why.clone() },
                })
                .collect()
        }
    };
    let exceptions: Vec<String> = controls
        .iter()
        .filter_map(|c| match &c.status {
            Status::NonCompliant { reason } => Some(reason.clone()),
            _ => None,
        })
        .collect();

    let rpo = tier.map(|t| t.rpo);
    let fresh = judge
        .latest_age
        .zip(rpo)
        .is_some_and(|(age, rpo)| age <= rpo);
    let rpo_breached = match (judge.latest_age, rpo) {
        (_, None) => false,
        (Some(age), Some(rpo)) => age > rpo,
        (None, Some(rpo)) => age(asset.first_seen, now) > rpo,
    };
    let selected = !evidence.selected_by.is_empty();
    let restorable = &judge.restorable;
    AssetCoverage {
        arn: asset.arn.to_string(),
        kind: asset.kind,
        account: asset.account.to_string(),
        region: asset.region.to_string(),
        name: asset.name.clone(),
        tier: tier.map(|t| t.name.clone()),
        backup_required: tier.is_some(),
        selected,
        selected_by: evidence.selected_by.clone(),
        latest_recovery_point: judge.latest,
        latest_age: judge.latest_age,
        rpo,
        rpo_breached,
        protected: selected && fresh,
        dr_copy: restorable.iter().any(|p| p.region != judge.region),
        pitr_or_versioning: match asset.kind {
            Kind::Dynamodb => evidence.native.pitr_enabled,
            Kind::S3 => evidence.native.versioning_enabled,
            _ => None,
        },
        locked: !restorable.is_empty() && restorable.iter().all(|p| p.vault_locked),
        encrypted: (!restorable.is_empty()).then(|| restorable.iter().all(|p| p.encrypted)),
        compliant: exceptions.is_empty(),
        controls,
        exceptions,
        unknown_values: classification.unknown_values,
    }
}

/// Why an asset is not backed up: the reason of the rule that decided.
fn not_backed_up(classification: &Classification) -> String {
    match (&classification.tier, classification.reasons.last()) {
        (Some(tier), _) => format!("tier {tier} is not in the configuration"),
        (None, Some(reason)) => reason.clone(),
        (None, None) => format!("not backed up (rule {})", classification.rule),
    }
}

/// The facts the controls share, gathered once per asset.
struct Judge<'a> {
    asset: &'a Asset,
    evidence: &'a Evidence,
    region: &'a str,
    restorable: Vec<&'a RecoveryPoint>,
    latest: Option<DateTime<Utc>>,
    latest_age: Option<Duration>,
}

impl<'a> Judge<'a> {
    fn new(asset: &'a Asset, evidence: &'a Evidence, now: DateTime<Utc>) -> Self {
        let region = asset.region.as_str();
        let account = asset.account.as_str();
        let restorable: Vec<&RecoveryPoint> = evidence
            .recovery_points
            .iter()
            .filter(|p| p.restorable())
            .collect();
        // Freshness is measured at home: a copy is as old as the point it was copied from,
        // however recently the copy job ran.
        let home: Vec<&RecoveryPoint> = restorable
            .iter()
            .copied()
            .filter(|p| p.region == region && p.account == account)
            .collect();
        // Continuous backup or native PITR restores to within the point-in-time lag of now.
        let point_in_time = home.iter().any(|p| p.continuous)
            || (asset.kind.supports_native_pitr() && evidence.native.pitr_enabled == Some(true));
        let latest = if point_in_time {
            Some(now - chrono::Duration::minutes(lag_minutes()))
        } else {
            home.iter().map(|p| p.created).max()
        };
        Self {
            asset,
            evidence,
            region,
            restorable,
            latest,
            latest_age: latest.map(|t| age(t, now)),
        }
    }

    fn control(&self, control: Control, tier: &Tier) -> Status {
        match control {
            Control::BackupResourcesProtectedByBackupPlan => self.protected_by_plan(),
            Control::BackupPlanMinFrequencyAndMinRetentionCheck => self.plan_meets_tier(tier),
            Control::BackupRecoveryPointManualDeletionDisabled => self.every_point(
                |p| p.vault_denies_manual_deletion,
                "in vaults that allow manual deletion",
            ),
            Control::BackupRecoveryPointEncrypted => {
                self.every_point(|p| p.encrypted, "not encrypted")
            }
            Control::BackupRecoveryPointMinimumRetentionCheck => self.minimum_retention(tier),
            Control::BackupResourcesProtectedByCrossRegion => self.cross_region(tier),
            Control::BackupResourcesProtectedByCrossAccount
            | Control::ResourcesInLogicallyAirGappedVault => {
                not_applicable("not required by the taxonomy")
            }
            Control::BackupResourcesProtectedByBackupVaultLock => self.vault_lock(tier),
            Control::BackupLastRecoveryPointCreated => self.last_recovery_point(tier),
            Control::RestoreTimeForResourcesMeetTarget => self.restore_time(tier),
        }
    }

    fn protected_by_plan(&self) -> Status {
        if self.evidence.selected_by.is_empty() {
            non_compliant("not selected by any backup plan")
        } else {
            Status::Compliant
        }
    }

    /// The fastest schedule and the longest retention may come from different rules: a
    /// tier with continuous backup has a short-lived continuous rule beside a long-lived
    /// snapshot rule, and together they meet the tier.
    fn plan_meets_tier(&self, tier: &Tier) -> Status {
        let evidence = self.evidence;
        if evidence.selected_by.is_empty() {
            return not_applicable("not selected by any backup plan, so no plan to check");
        }
        let plans = evidence.selected_by.join(", ");
        let kind = self.asset.kind;
        let needed = tier.snapshot_frequency(kind);
        let mut problems = Vec::new();
        match evidence.plan_frequencies.iter().min() {
            None => problems.push(format!("plan {plans} has no scheduled rule")),
            Some(&fastest) if fastest > needed => problems.push(format!(
                "plan {plans} backs up every {fastest} at best; tier {} needs every {needed} for {kind}",
                tier.name
            )),
            Some(_) => {}
        }
        let keep = retention_days(tier.retention);
        match evidence.plan_retention_days.iter().max() {
            None => problems.push(format!("plan {plans} states no retention")),
            Some(&longest) if longest < keep => problems.push(format!(
                "plan {plans} keeps recovery points {longest}d at most; tier {} keeps them {}",
                tier.name, tier.retention
            )),
            Some(_) => {}
        }
        verdict(problems)
    }

    /// Every restorable point passes `ok`; the failures named with their vaults.
    fn every_point(&self, ok: impl Fn(&RecoveryPoint) -> bool, failing: &str) -> Status {
        if self.restorable.is_empty() {
            return no_recovery_points();
        }
        let bad: Vec<&RecoveryPoint> = self.restorable.iter().copied().filter(|p| !ok(p)).collect();
        if bad.is_empty() {
            return Status::Compliant;
        }
        non_compliant(format!(
            "{} of {} recovery points are {failing} ({})",
            bad.len(),
            self.restorable.len(),
            vaults(&bad)
        ))
    }

    /// Continuous points are left out: AWS Backup keeps them at most 35 days whatever the
    /// tier, and the tier's retention is the snapshot rule's to meet.
    fn minimum_retention(&self, tier: &Tier) -> Status {
        let snapshots: Vec<&RecoveryPoint> = self
            .restorable
            .iter()
            .copied()
            .filter(|p| !p.continuous)
            .collect();
        if snapshots.is_empty() {
            return if self.restorable.is_empty() {
                no_recovery_points()
            } else {
                not_applicable(format!(
                    "only continuous recovery points, which AWS Backup keeps at most {}d",
                    retention_days(CONTINUOUS_RETENTION_MAX)
                ))
            };
        }
        let keep = retention_days(tier.retention);
        let short: Vec<&RecoveryPoint> = snapshots
            .iter()
            .copied()
            .filter(|p| p.delete_after_days.is_some_and(|d| d < keep))
            .collect();
        let Some(shortest) = short.iter().filter_map(|p| p.delete_after_days).min() else {
            return Status::Compliant;
        };
        non_compliant(format!(
            "{} of {} recovery points are kept {shortest}d or less; tier {} keeps them {}",
            short.len(),
            snapshots.len(),
            tier.name,
            tier.retention
        ))
    }

    fn cross_region(&self, tier: &Tier) -> Status {
        if !tier.cross_region_copy {
            return not_applicable(format!("tier {} asks for no cross-region copy", tier.name));
        }
        if self.restorable.is_empty() {
            return no_recovery_points();
        }
        if self.restorable.iter().any(|p| p.region != self.region) {
            Status::Compliant
        } else {
            non_compliant(format!(
                "no recovery point outside {}; tier {} asks for a copy in the DR region",
                self.region, tier.name
            ))
        }
    }

    /// Locked, whatever the lock's minimum: vaults are shared by tiers, and a shared lock can
    /// ask no more than the least demanding tier's points admit (`taxonomy::shared_lock`).
    fn vault_lock(&self, tier: &Tier) -> Status {
        if tier.lock.is_none() {
            return not_applicable(format!("tier {} asks for no vault lock", tier.name));
        }
        self.every_point(|p| p.vault_locked, "in vaults without a lock")
    }

    fn last_recovery_point(&self, tier: &Tier) -> Status {
        match self.latest_age {
            None => non_compliant(format!(
                "no recovery point yet; tier {} allows {}",
                tier.name, tier.rpo
            )),
            Some(age) if age > tier.rpo => non_compliant(format!(
                "latest recovery point is {} old; tier {} allows {}",
                human(age),
                tier.name,
                tier.rpo
            )),
            Some(_) => Status::Compliant,
        }
    }

    fn restore_time(&self, tier: &Tier) -> Status {
        match &self.evidence.last_restore_test {
            None if tier.rto <= RESTORE_TEST_REQUIRED_UP_TO => non_compliant(format!(
                "no restore test yet; tier {}'s RTO of {} needs one",
                tier.name, tier.rto
            )),
            None => not_applicable(format!(
                "no restore test yet; tier {}'s RTO of {} leaves room for an untimed restore",
                tier.name, tier.rto
            )),
            Some(test) if !test.succeeded => non_compliant(format!(
                "the last restore test, completed {}, failed",
                test.completed.format("%Y-%m-%d %H:%M UTC")
            )),
            Some(test) if test.duration > tier.rto => non_compliant(format!(
                "the last restore test took {}; tier {}'s RTO is {}",
                human(test.duration),
                tier.name,
                tier.rto
            )),
            Some(_) => Status::Compliant,
        }
    }
}

fn lag_minutes() -> i64 {
    i64::try_from(PointInTime::LAG.as_minutes()).unwrap_or(i64::MAX)
}

fn non_compliant(reason: impl Into<String>) -> Status {
    Status::NonCompliant {
        reason: reason.into(),
    }
}

fn not_applicable(why: impl Into<String>) -> Status {
    Status::NotApplicable { why: why.into() }
}

fn no_recovery_points() -> Status {
    not_applicable("no recovery points yet")
}

fn verdict(problems: Vec<String>) -> Status {
    if problems.is_empty() {
        Status::Compliant
    } else {
        non_compliant(problems.join("; "))
    }
}

/// The distinct vaults of some points, as `name in region`.
fn vaults(points: &[&RecoveryPoint]) -> String {
    let names: BTreeSet<String> = points
        .iter()
        .map(|p| format!("{} in {}", p.vault_name, p.region))
        .collect();
    names.into_iter().collect::<Vec<_>>().join(", ")
}

/// Retention in whole days; the loader only accepts whole days, so rounding up is moot.
fn retention_days(d: Duration) -> u64 {
    d.as_minutes().div_ceil(24 * 60)
}

/// How long ago `then` was, rounded up to the minute so that a point one second past its
/// RPO counts as past it. A time in the future is zero old.
fn age(then: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    let seconds = u64::try_from((now - then).num_seconds()).unwrap_or(0);
    Duration::from_minutes(seconds.div_ceil(60))
}

/// An age for people: "45m", "30h", "2h 30m", "3d", "3d 4h". Hours up to two days, because
/// "30h" reads faster against a 24h RPO than "1d 6h".
pub fn human(d: Duration) -> String {
    let minutes = d.as_minutes();
    let (hours, days) = (minutes / 60, minutes / (24 * 60));
    if minutes < 60 {
        format!("{minutes}m")
    } else if hours < 48 {
        match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h {m}m"),
        }
    } else {
        match hours % 24 {
            0 => format!("{days}d"),
            h => format!("{days}d {h}h"),
        }
    }
}

/// Counts for a group of assets (a tier, a kind, or a tier and kind).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupSummary {
    pub assets: usize,
    pub backup_required: usize,
    /// Backup-required assets that are selected and within their RPO.
    pub protected: usize,
    pub rpo_breaches: usize,
    pub non_compliant: usize,
    /// `protected` of `backup_required`; 100 when nothing needs a backup.
    pub coverage_percent: f64,
}

impl Default for GroupSummary {
    fn default() -> Self {
        Self {
            assets: 0,
            backup_required: 0,
            protected: 0,
            rpo_breaches: 0,
            non_compliant: 0,
            coverage_percent: percent(0, 0),
        }
    }
}

impl GroupSummary {
    fn add(&mut self, asset: &AssetCoverage) {
        self.assets += 1;
        if asset.backup_required {
            self.backup_required += 1;
            self.protected += usize::from(asset.protected);
            self.rpo_breaches += usize::from(asset.rpo_breached);
        }
        self.non_compliant += usize::from(!asset.compliant);
        self.coverage_percent = percent(self.protected, self.backup_required);
    }
}

/// Backup-required assets of a tier by the age of their latest recovery point, as a share
/// of the RPO.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgeHistogram {
    pub within_25_percent: usize,
    pub within_50_percent: usize,
    pub within_100_percent: usize,
    pub over_rpo: usize,
    pub no_recovery_point: usize,
}

impl AgeHistogram {
    fn add(&mut self, age: Option<Duration>, rpo: Duration) {
        let rpo = rpo.as_minutes();
        let bucket = match age.map(Duration::as_minutes) {
            None => &mut self.no_recovery_point,
            Some(age) if age.saturating_mul(4) <= rpo => &mut self.within_25_percent,
            Some(age) if age.saturating_mul(2) <= rpo => &mut self.within_50_percent,
            Some(age) if age <= rpo => &mut self.within_100_percent,
            Some(_) => &mut self.over_rpo,
        };
        *bucket += 1;
    }

    pub fn total(&self) -> usize {
        self.within_25_percent
            + self.within_50_percent
            + self.within_100_percent
            + self.over_rpo
            + self.no_recovery_point
    }
}

/// A non-compliant asset and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exception {
    pub arn: String,
    pub name: String,
    pub kind: Kind,
    pub tier: Option<String>,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoverageReport {
    pub generated_at: DateTime<Utc>,
    pub totals: GroupSummary,
    /// The tiers present, tightest RPO first, then [`NOT_BACKED_UP`] if any asset is not
    /// backed up: the order reports list them in.
    pub tier_order: Vec<String>,
    /// By tier name, or [`NOT_BACKED_UP`].
    pub by_tier: BTreeMap<String, GroupSummary>,
    pub by_kind: BTreeMap<Kind, GroupSummary>,
    pub by_tier_and_kind: BTreeMap<String, BTreeMap<Kind, GroupSummary>>,
    /// By tier, backup-required assets only.
    pub age_histogram: BTreeMap<String, AgeHistogram>,
    /// Assets with at least one unknown tag value.
    pub with_unknown_values: usize,
    /// In tier order, then by ARN.
    pub exceptions: Vec<Exception>,
}

/// Sums up the coverage of many assets.
pub fn summarize(assets: &[AssetCoverage], now: DateTime<Utc>) -> CoverageReport {
    let mut totals = GroupSummary::default();
    let mut by_tier: BTreeMap<String, GroupSummary> = BTreeMap::new();
    let mut by_kind: BTreeMap<Kind, GroupSummary> = BTreeMap::new();
    let mut by_tier_and_kind: BTreeMap<String, BTreeMap<Kind, GroupSummary>> = BTreeMap::new();
    let mut age_histogram: BTreeMap<String, AgeHistogram> = BTreeMap::new();
    let mut rpo_of: BTreeMap<String, Duration> = BTreeMap::new();
    for asset in assets {
        let group = asset.tier.as_deref().unwrap_or(NOT_BACKED_UP);
        totals.add(asset);
        by_tier.entry(group.to_string()).or_default().add(asset);
        by_kind.entry(asset.kind).or_default().add(asset);
        by_tier_and_kind
            .entry(group.to_string())
            .or_default()
            .entry(asset.kind)
            .or_default()
            .add(asset);
        if let (true, Some(rpo)) = (asset.backup_required, asset.rpo) {
            age_histogram
                .entry(group.to_string())
                .or_default()
                .add(asset.latest_age, rpo);
            rpo_of.entry(group.to_string()).or_insert(rpo);
        }
    }

    let mut tier_order: Vec<String> = by_tier.keys().cloned().collect();
    tier_order.sort_by_key(|t| {
        (
            rpo_of
                .get(t)
                .copied()
                .unwrap_or(Duration::from_minutes(u64::MAX)),
            t.clone(),
        )
    });
    let rank = |tier: &Option<String>| {
        let group = tier.as_deref().unwrap_or(NOT_BACKED_UP);
        tier_order.iter().position(|t| t == group)
    };
    let mut exceptions: Vec<Exception> = assets
        .iter()
        .filter(|a| !a.compliant)
        .map(|a| Exception {
            arn: a.arn.clone(),
            name: a.name.clone(),
            kind: a.kind,
            tier: a.tier.clone(),
            reasons: a.exceptions.clone(),
        })
        .collect();
    exceptions.sort_by(|a, b| (rank(&a.tier), &a.arn).cmp(&(rank(&b.tier), &b.arn)));

    CoverageReport {
        generated_at: now,
        totals,
        tier_order,
        by_tier,
        by_kind,
        by_tier_and_kind,
        age_histogram,
        with_unknown_values: assets
            .iter()
            .filter(|a| !a.unknown_values.is_empty())
            .count(),
        exceptions,
    }
}

/// `part` of `whole` in percent; 100 when `whole` is zero (nothing needs protecting).
fn percent(part: usize, whole: usize) -> f64 {
    if whole == 0 {
        100.0
    } else {
        part as f64 * 100.0 / whole as f64
    }
}
