//! The report that sums coverage up: by tier, kind and both, the age of the newest
//! recovery points, and every exception with its reason.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::model::AssetCoverage;
use super::NOT_BACKED_UP;
use crate::duration::Duration;
use crate::kind::Kind;

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
