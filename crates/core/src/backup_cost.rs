//! What keeping the recovery points costs, per tier, application and account, priced from the
//! configuration's table (`[backup_storage_prices]`); and the recovery points nobody needs:
//! orphaned (their store gone longer than its tier keeps points), expired (AWS Backup could not
//! delete them when their lifecycle said) or failed (never completed).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::asset::{Asset, AssetState};
use crate::config::Config;
use crate::coverage::RecoveryPoint;
use crate::kind::Kind;
use crate::restore::Usd;
use crate::ResourceArn;

/// A GB-month of AWS Backup storage, warm and cold, by kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoragePrices {
    pub warm_gb_month: BTreeMap<Kind, Usd>,
    pub cold_gb_month: BTreeMap<Kind, Usd>,
}

impl StoragePrices {
    /// The project's reading of AWS Backup's list prices in us-east-1 (AWS Backup pricing,
    /// https://aws.amazon.com/backup/pricing/). Other regions cost otherwise:
    /// `[backup_storage_prices]` names yours.
    pub fn builtin() -> Self {
        let usd = Usd::from_micros;
        let warm = [
            (Kind::S3, usd(50_000)),
            (Kind::Rds, usd(95_000)),
            (Kind::Aurora, usd(21_000)),
            (Kind::Dynamodb, usd(100_000)),
            (Kind::Efs, usd(50_000)),
            (Kind::Ebs, usd(50_000)),
        ];
        let cold = [
            (Kind::Dynamodb, usd(30_000)),
            (Kind::Efs, usd(10_000)),
            (Kind::Ebs, usd(12_500)),
        ];
        Self {
            warm_gb_month: warm.into_iter().collect(),
            cold_gb_month: cold.into_iter().collect(),
        }
    }

    /// A point's month: its size at its storage class's price (cold at the warm price where
    /// the table has no cold one).
    fn month(&self, kind: Kind, point: &RecoveryPoint) -> Usd {
        let price = if point.cold {
            self.cold_gb_month
                .get(&kind)
                .or_else(|| self.warm_gb_month.get(&kind))
        } else {
            self.warm_gb_month.get(&kind)
        };
        let gb = point.size_bytes.unwrap_or_default() as f64 / GIB;
        Usd::from_dollars(gb * price.copied().unwrap_or_default().dollars()).unwrap_or_default()
    }
}

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

/// Storage summed under one name (a tier, an application, an account).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CostLine {
    pub name: String,
    pub points: usize,
    pub warm_gb: f64,
    pub cold_gb: f64,
    pub usd_month: Usd,
}

impl CostLine {
    fn add(&mut self, point: &RecoveryPoint, month: Usd) {
        let gb = point.size_bytes.unwrap_or_default() as f64 / GIB;
        if point.cold {
            self.cold_gb += gb;
        } else {
            self.warm_gb += gb;
        }
        self.points += 1;
        self.usd_month = self.usd_month.saturating_add(month);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unneeded {
    /// Its store has been gone longer than its tier keeps recovery points.
    Orphaned,
    /// AWS Backup marks it EXPIRED: its lifecycle ended, and it was not deleted.
    Expired,
    /// It never completed (PARTIAL, STOPPED).
    Failed,
}

impl Unneeded {
    pub fn why(self) -> &'static str {
        match self {
            Unneeded::Orphaned => "its store has been gone longer than its tier keeps points",
            Unneeded::Expired => "expired: its lifecycle ended and it was not deleted",
            Unneeded::Failed => "failed: it never completed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnneededPoint {
    pub arn: String,
    pub resource_arn: String,
    pub vault: String,
    pub region: String,
    pub why: Unneeded,
    pub usd_month: Usd,
}

/// What the recovery points cost a month, and which nobody needs.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct StorageCost {
    pub total: CostLine,
    pub by_tier: Vec<CostLine>,
    pub by_application: Vec<CostLine>,
    pub by_account: Vec<CostLine>,
    pub unneeded: Vec<UnneededPoint>,
}

/// The name a store's points are summed under when it has no tier.
pub const NO_TIER: &str = "(no tier)";

/// Price every recovery point (`points`, the vaults' listings) and sum it under its store's
/// tier (from the inventory, `assets`), each application that selects the store, and the
/// account the point is kept in. A point under a legal hold (`held`) is needed, whatever its
/// store.
pub fn storage_cost(
    config: &Config,
    prices: &StoragePrices,
    assets: &[Asset],
    points: &[RecoveryPoint],
    held: &BTreeSet<String>,
    now: DateTime<Utc>,
) -> StorageCost {
    let by_arn: BTreeMap<String, &Asset> = assets.iter().map(|a| (a.arn.to_string(), a)).collect();
    let mut total = CostLine {
        name: "all".into(),
        ..CostLine::default()
    };
    let mut tiers: BTreeMap<String, CostLine> = BTreeMap::new();
    let mut applications: BTreeMap<String, CostLine> = BTreeMap::new();
    let mut accounts: BTreeMap<String, CostLine> = BTreeMap::new();
    let mut unneeded = Vec::new();
    for point in points {
        let kind = ResourceArn::parse(&point.resource_arn).ok().map(|a| a.kind);
        let month = kind.map(|k| prices.month(k, point)).unwrap_or_default();
        let asset = by_arn.get(&point.resource_arn).copied();
        let tier = asset
            .and_then(|a| a.classification.as_ref())
            .and_then(|c| c.tier.clone());
        let line = |map: &mut BTreeMap<String, CostLine>, name: &str| {
            map.entry(name.to_string())
                .or_insert_with(|| CostLine {
                    name: name.to_string(),
                    ..CostLine::default()
                })
                .add(point, month);
        };
        total.add(point, month);
        line(&mut tiers, tier.as_deref().unwrap_or(NO_TIER));
        line(&mut accounts, &point.account);
        if let Some(asset) = asset {
            for application in config.applications() {
                if application.stores.selects(&asset.arn, &asset.tags) {
                    line(&mut applications, application.name.as_str());
                }
            }
        }
        let why = if held.contains(&point.arn) {
            None
        } else if point.status.eq_ignore_ascii_case("EXPIRED") {
            Some(Unneeded::Expired)
        } else if ["PARTIAL", "STOPPED"]
            .iter()
            .any(|s| point.status.eq_ignore_ascii_case(s))
        {
            Some(Unneeded::Failed)
        } else if asset.is_some_and(|a| orphaned(config, a, tier.as_deref(), now)) {
            Some(Unneeded::Orphaned)
        } else {
            None
        };
        if let Some(why) = why {
            unneeded.push(UnneededPoint {
                arn: point.arn.clone(),
                resource_arn: point.resource_arn.clone(),
                vault: point.vault_name.clone(),
                region: point.region.clone(),
                why,
                usd_month: month,
            });
        }
    }
    unneeded.sort_by(|a, b| b.usd_month.cmp(&a.usd_month).then(a.arn.cmp(&b.arn)));
    StorageCost {
        total,
        by_tier: tiers.into_values().collect(),
        by_application: applications.into_values().collect(),
        by_account: accounts.into_values().collect(),
        unneeded,
    }
}

/// A store gone from its account for longer than its tier keeps recovery points: no point of
/// it is kept for the tier's sake any more.
fn orphaned(config: &Config, asset: &Asset, tier: Option<&str>, now: DateTime<Utc>) -> bool {
    let (AssetState::Gone, Some(gone_at)) = (asset.state, asset.gone_at) else {
        return false;
    };
    let Some(retention) = tier.and_then(|t| config.tier(t)).map(|t| t.retention) else {
        return false;
    };
    now.signed_duration_since(gone_at).num_minutes() > retention.as_minutes() as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arn::{AccountId, Region};
    use crate::asset::Attributes;
    use crate::classify::Classification;

    const ACCOUNT: &str = "111122223333";
    const GIB_BYTES: u64 = 1024 * 1024 * 1024;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
            .expect("a time")
            .with_timezone(&Utc)
    }

    fn store(kind: Kind, name: &str, tier: Option<&str>, tags: &[(&str, &str)]) -> Asset {
        let region = Region::parse("us-east-1").expect("a region");
        let account = AccountId::parse(ACCOUNT).expect("an account");
        let arn = ResourceArn::new(kind, "aws", &region, &account, name);
        let tags = tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut asset = Asset::observed(arn, account, region, tags, Attributes::default(), now());
        asset.classification = Some(Classification {
            tier: tier.map(str::to_string),
            backup_required: tier.is_some(),
            reproducible: false,
            rule: "test".into(),
            reasons: Vec::new(),
            unknown_values: Vec::new(),
        });
        asset
    }

    fn point(of: &Asset, n: u32, gib: u64, cold: bool, status: &str) -> RecoveryPoint {
        RecoveryPoint {
            arn: format!(
                "arn:aws:backup:us-east-1:{ACCOUNT}:recovery-point:{}-{n}",
                of.name
            ),
            resource_arn: of.arn.to_string(),
            vault_name: "bulwark".into(),
            region: "us-east-1".into(),
            account: ACCOUNT.into(),
            created: now(),
            status: status.into(),
            encrypted: true,
            kms_key_arn: None,
            delete_after_days: None,
            move_to_cold_after_days: None,
            continuous: false,
            vault_locked: false,
            vault_lock_min_retention_days: None,
            vault_denies_manual_deletion: false,
            logically_air_gapped: false,
            size_bytes: Some(gib * GIB_BYTES),
            cold,
        }
    }

    fn config() -> Config {
        let text = crate::config::BUILTIN_TOML.to_string()
            + "\n[[applications]]\nname = \"payments\"\nprimary_region = \"us-east-1\"\n\
               dr_region = \"us-west-2\"\nstores = { tag = { key = \"Application\", value = \"payments\" } }\n";
        Config::from_toml_str("cost.toml", &text).expect("valid")
    }

    #[test]
    fn each_point_is_priced_at_its_kind_and_class_and_summed_by_tier_application_and_account() {
        // Given a critical table of payments (10 GiB warm, 10 GiB cold) and an unclassified
        // file system (4 GiB warm)
        let table = store(
            Kind::Dynamodb,
            "orders",
            Some("critical"),
            &[("Application", "payments")],
        );
        let files = store(Kind::Efs, "fs-1", None, &[]);
        let points = [
            point(&table, 1, 10, false, "COMPLETED"),
            point(&table, 2, 10, true, "COMPLETED"),
            point(&files, 1, 4, false, "COMPLETED"),
        ];

        // When priced at the built-in prices
        let cost = storage_cost(
            &config(),
            &StoragePrices::builtin(),
            &[table.clone(), files],
            &points,
            &BTreeSet::new(),
            now(),
        );

        // Then DynamoDB is $0.10 warm and $0.03 cold a GB-month, EFS $0.05 warm
        let tier = |name: &str| cost.by_tier.iter().find(|l| l.name == name).expect(name);
        assert_eq!(tier("critical").usd_month, Usd::from_micros(1_300_000));
        assert_eq!(
            (tier("critical").warm_gb, tier("critical").cold_gb),
            (10.0, 10.0)
        );
        assert_eq!(tier(NO_TIER).usd_month, Usd::from_micros(200_000));
        assert_eq!(cost.total.usd_month, Usd::from_micros(1_500_000));
        assert_eq!(cost.total.points, 3);
        assert_eq!(cost.by_application.len(), 1);
        assert_eq!(cost.by_application[0].name, "payments");
        assert_eq!(cost.by_application[0].points, 2);
        assert_eq!(cost.by_account[0].name, ACCOUNT);
        assert!(cost.unneeded.is_empty());
    }

    #[test]
    fn expired_failed_and_orphaned_points_are_named_and_a_store_gone_lately_is_not_orphaned() {
        let config = config();
        let retention = config.tier("critical").expect("critical").retention;
        let mut long_gone = store(Kind::Dynamodb, "old", Some("critical"), &[]);
        long_gone.state = AssetState::Gone;
        long_gone.gone_at =
            Some(now() - chrono::Duration::minutes(retention.as_minutes() as i64 + 60 * 24));
        let mut just_gone = store(Kind::Dynamodb, "recent", Some("critical"), &[]);
        just_gone.state = AssetState::Gone;
        just_gone.gone_at = Some(now() - chrono::Duration::days(1));
        let live = store(Kind::S3, "live", Some("critical"), &[]);
        let points = [
            point(&long_gone, 1, 1, false, "COMPLETED"),
            point(&just_gone, 1, 1, false, "COMPLETED"),
            point(&live, 1, 1, false, "EXPIRED"),
            point(&live, 2, 2, false, "PARTIAL"),
            point(&live, 3, 1, false, "COMPLETED"),
        ];
        let assets = [long_gone, just_gone, live];
        let cost = storage_cost(
            &config,
            &StoragePrices::builtin(),
            &assets,
            &points,
            &BTreeSet::new(),
            now(),
        );
        let why: Vec<(String, Unneeded)> = cost
            .unneeded
            .iter()
            .map(|p| {
                (
                    p.arn.rsplit(':').next().unwrap_or_default().to_string(),
                    p.why,
                )
            })
            .collect();
        // The dearest first
        assert_eq!(
            why,
            [
                ("live-2".to_string(), Unneeded::Failed),
                ("old-1".to_string(), Unneeded::Orphaned),
                ("live-1".to_string(), Unneeded::Expired),
            ]
        );

        // And a point under a legal hold is needed, whatever its store
        let held: BTreeSet<String> = [points[0].arn.clone()].into();
        let cost = storage_cost(
            &config,
            &StoragePrices::builtin(),
            &assets,
            &points,
            &held,
            now(),
        );
        assert!(cost.unneeded.iter().all(|p| p.arn != points[0].arn));
        assert_eq!(cost.unneeded.len(), 2);
    }
}

/// What a plan adds to the monthly bill, at the least.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct AddedCost {
    pub usd_month: Usd,
    /// Stores the plan puts under a tier that none was under.
    pub stores: usize,
    /// Of those, the ones whose size discovery does not know: not counted in `usd_month`.
    pub unknown_size: usize,
}

/// What the plan's tier tags add a month, at the least: each store put under a tier that none
/// was under, kept once at its size, and once more where its tier copies to the DR region, at
/// the warm price. Later backups' changes and the points retention keeps add to it; a store
/// whose size is not known is counted apart, never as free.
pub fn added_cost(
    config: &Config,
    prices: &StoragePrices,
    assets: &[Asset],
    changes: &[crate::protection::TagChange],
) -> AddedCost {
    let by_arn: BTreeMap<String, &Asset> = assets.iter().map(|a| (a.arn.to_string(), a)).collect();
    let mut added = AddedCost::default();
    for change in changes {
        let (Some(tier), Some(asset)) = (
            change.tier.as_deref().and_then(|t| config.tier(t)),
            by_arn.get(&change.arn),
        ) else {
            continue;
        };
        if asset.tags.contains_key(crate::protection::TIER_TAG) {
            continue;
        }
        added.stores += 1;
        let Some(bytes) = asset.attributes.size_bytes else {
            added.unknown_size += 1;
            continue;
        };
        let copies = if tier.cross_region_copy { 2.0 } else { 1.0 };
        let price = prices
            .warm_gb_month
            .get(&asset.kind)
            .copied()
            .unwrap_or_default();
        let usd =
            Usd::from_dollars(bytes as f64 / GIB * price.dollars() * copies).unwrap_or_default();
        added.usd_month = added.usd_month.saturating_add(usd);
    }
    added
}

#[cfg(test)]
mod added_tests {
    use super::*;
    use crate::arn::{AccountId, Region};
    use crate::asset::Attributes;
    use crate::protection::TagChange;

    fn store(kind: Kind, name: &str, size_gib: Option<u64>, tagged: bool) -> Asset {
        let region = Region::parse("us-east-1").expect("a region");
        let account = AccountId::parse("111122223333").expect("an account");
        let arn = ResourceArn::new(kind, "aws", &region, &account, name);
        let mut tags = BTreeMap::new();
        if tagged {
            tags.insert(
                crate::protection::TIER_TAG.to_string(),
                "standard".to_string(),
            );
        }
        let attributes = Attributes {
            size_bytes: size_gib.map(|g| g * 1024 * 1024 * 1024),
            ..Attributes::default()
        };
        Asset::observed(arn, account, region, tags, attributes, Utc::now())
    }

    #[test]
    fn a_plan_adds_each_new_stores_size_once_and_again_where_its_tier_copies() {
        let config = Config::builtin();
        let copies = config.tier("critical").expect("critical").cross_region_copy;
        let new_table = store(Kind::Dynamodb, "orders", Some(10), false);
        let sizeless = store(Kind::S3, "logs", None, false);
        let already = store(Kind::Dynamodb, "old", Some(100), true);
        let change = |a: &Asset, tier: Option<&str>| TagChange {
            arn: a.arn.to_string(),
            region: "us-east-1".into(),
            tier: tier.map(str::to_string),
        };
        let added = added_cost(
            &config,
            &StoragePrices::builtin(),
            &[new_table.clone(), sizeless.clone(), already.clone()],
            &[
                change(&new_table, Some("critical")),
                change(&sizeless, Some("critical")),
                change(&already, Some("critical")),
                change(&new_table, None),
            ],
        );
        // 10 GiB of DynamoDB at $0.10, twice where critical copies to the DR region
        let expected = if copies { 2_000_000 } else { 1_000_000 };
        assert_eq!(added.usd_month, Usd::from_micros(expected));
        assert_eq!((added.stores, added.unknown_size), (2, 1));
    }
}
