//! One store's verdict: each AWS Backup Audit Manager control judged from its evidence.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use super::model::{AssetCoverage, Control, ControlResult, Evidence, RecoveryPoint, Status};
use super::RESTORE_TEST_REQUIRED_UP_TO;
use crate::asset::Asset;
use crate::classify::{classify, Classification};
use crate::config::Config;
use crate::duration::Duration;
use crate::kind::Kind;
use crate::restore::stale;
use crate::taxonomy::{PointInTime, Tier, CONTINUOUS_RETENTION_MAX};

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
        rto: tier.map(|t| t.rto),
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
        last_restore_test: evidence.last_restore_test.clone(),
        compliant: exceptions.is_empty(),
        resource_id: asset
            .attributes
            .resource_id
            .clone()
            .unwrap_or_else(|| asset.name.clone()),
        controls,
        exceptions,
        unknown_values: classification.unknown_values,
        replication: asset.attributes.replication.clone(),
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
    now: DateTime<Utc>,
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
            now,
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
            Control::BackupResourcesProtectedByCrossAccount => self.cross_account(tier),
            Control::ResourcesInLogicallyAirGappedVault => {
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

    /// A copy kept in another account: the central backup account's vaults, for a tier that
    /// states `central_retention`.
    fn cross_account(&self, tier: &Tier) -> Status {
        if tier.central_retention.is_none() {
            return not_applicable(format!(
                "tier {} keeps no copy in the central backup account",
                tier.name
            ));
        }
        if self.restorable.is_empty() {
            return no_recovery_points();
        }
        let account = self.asset.account.as_str();
        if self.restorable.iter().any(|p| p.account != account) {
            Status::Compliant
        } else {
            non_compliant(format!(
                "no recovery point outside account {account}; tier {} keeps a copy in the \
                 central backup account",
                tier.name
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

    /// Judged from the last test of the store's own region. A slow test outranks a stale one:
    /// it is the finding a new test has to overturn. Staleness is the scheduler's own measure
    /// (`restore::stale`), so coverage calls a passed test overdue exactly when a run would
    /// test the store again; and only when the tier's tests are enabled, since a tier that
    /// tests nothing has no cadence to keep.
    fn restore_time(&self, tier: &Tier) -> Status {
        let policy = &tier.restore_test;
        match &self.evidence.last_restore_test {
            None if tier.rto <= RESTORE_TEST_REQUIRED_UP_TO => non_compliant(format!(
                "no restore test yet; tier {}'s RTO of {} needs one",
                tier.name, tier.rto
            )),
            None => not_applicable(format!(
                "no restore test yet; tier {}'s RTO of {} leaves room for an untimed restore",
                tier.name, tier.rto
            )),
            Some(test) if !test.succeeded => {
                let completed = test.completed.format("%Y-%m-%d %H:%M UTC");
                non_compliant(match &test.reason {
                    Some(reason) => {
                        format!("the last restore test, completed {completed}, failed: {reason}")
                    }
                    None => format!("the last restore test, completed {completed}, failed"),
                })
            }
            Some(test) if test.duration > tier.rto => non_compliant(format!(
                "the last restore test took {}; tier {}'s RTO is {}",
                human(test.duration),
                tier.name,
                tier.rto
            )),
            Some(test) => match stale(test.completed, policy.cadence, self.now) {
                Some(age) if policy.enabled => non_compliant(format!(
                    "the last restore test passed {} ago; tier {} tests every {}",
                    human(age),
                    tier.name,
                    policy.cadence
                )),
                _ => Status::Compliant,
            },
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
