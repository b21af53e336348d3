//! What a restore test costs: an estimate from the store's kind and size, the class it is
//! restored at and how long its copy lives, at the configuration's prices
//! (`[restore_test_prices]`); and which due tests a tier's monthly budget allows, the most
//! urgent (never tested, failed, oldest) first.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Datelike, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::kind::Kind;

use super::Due;

/// An amount in US dollars, held in millionths so that prices compare exactly.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Usd(u64);

impl Usd {
    pub const ZERO: Usd = Usd(0);

    pub const fn from_micros(micros: u64) -> Self {
        Self(micros)
    }

    pub const fn micros(self) -> u64 {
        self.0
    }

    /// A non-negative, finite amount of dollars, to the millionth.
    pub fn from_dollars(dollars: f64) -> Result<Self, String> {
        if !dollars.is_finite() || dollars < 0.0 {
            return Err(format!("{dollars} is not an amount of dollars, 0 or more"));
        }
        let micros = (dollars * 1_000_000.0).round();
        if micros > u64::MAX as f64 {
            return Err(format!("{dollars} dollars is too large"));
        }
        Ok(Self(micros as u64))
    }

    pub fn dollars(self) -> f64 {
        self.0 as f64 / 1_000_000.0
    }

    pub fn saturating_add(self, other: Usd) -> Usd {
        Usd(self.0.saturating_add(other.0))
    }
}

impl fmt::Display for Usd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "${:.2}", self.dollars())
    }
}

/// The prices estimates are made at: on-demand list prices, in dollars.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Prices {
    /// An RDS or Aurora instance's hour, by class (`db.t4g.micro`).
    pub instance_hour: BTreeMap<String, Usd>,
    /// A GB-month of storage of a restored copy, by kind.
    pub storage_gb_month: BTreeMap<Kind, Usd>,
    /// A GB restored, where AWS Backup charges for the restore itself, by kind.
    pub restore_gb: BTreeMap<Kind, Usd>,
}

impl Prices {
    /// The built-in prices: the project's reading of on-demand list prices in us-east-1
    /// (docs/restore-tests.md, "Cost"), for the classes a test restores at by default and
    /// the common ones. Other regions and classes cost otherwise: `[restore_test_prices]`
    /// names yours.
    pub fn builtin() -> Self {
        let usd = |micros: u64| Usd::from_micros(micros);
        let instance_hour = [
            ("db.t4g.micro", 16_000),
            ("db.t4g.small", 32_000),
            ("db.t4g.medium", 65_000),
            ("db.t4g.large", 129_000),
            ("db.t3.micro", 17_000),
            ("db.t3.small", 34_000),
            ("db.t3.medium", 68_000),
            ("db.m6g.large", 152_000),
            ("db.m5.large", 171_000),
            ("db.r6g.large", 225_000),
            ("db.r6g.xlarge", 450_000),
            ("db.r5.large", 250_000),
            ("db.serverless", 120_000),
        ]
        .into_iter()
        .map(|(class, micros)| (class.to_string(), usd(micros)))
        .collect();
        let storage_gb_month = [
            (Kind::Rds, 115_000),
            (Kind::Aurora, 100_000),
            (Kind::Dynamodb, 250_000),
            (Kind::S3, 23_000),
            (Kind::Ebs, 80_000),
            (Kind::Efs, 300_000),
        ]
        .into_iter()
        .map(|(kind, micros)| (kind, usd(micros)))
        .collect();
        let restore_gb = [(Kind::Dynamodb, 150_000), (Kind::Efs, 20_000)]
            .into_iter()
            .map(|(kind, micros)| (kind, usd(micros)))
            .collect();
        Self {
            instance_hour,
            storage_gb_month,
            restore_gb,
        }
    }
}

/// The hours in a month, as AWS's monthly prices count them.
const HOURS_PER_MONTH: f64 = 730.0;
/// RDS bills an instance's first ten minutes whatever its life.
const MIN_INSTANCE_HOURS: f64 = 10.0 / 60.0;
const GB: f64 = 1_000_000_000.0;

/// A test's cost, estimated: what went into it and the total. `usd` is None when a price it
/// needs is not configured (`unpriced` says which).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestCost {
    pub kind: Kind,
    /// How long the copy lived (or is expected to), in hours.
    pub hours: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_class: Option<String>,
    pub size_gb: f64,
    pub usd: Option<Usd>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unpriced: Option<String>,
}

/// The cost of a test of a store of `kind` and `size_bytes` (unknown: no storage counted),
/// restored at `instance_class` (databases), whose copy lives `hours`.
pub fn test_cost(
    kind: Kind,
    size_bytes: Option<u64>,
    instance_class: Option<&str>,
    hours: f64,
    prices: &Prices,
) -> TestCost {
    let hours = hours.max(0.0);
    let size_gb = size_bytes.map_or(0.0, |b| b as f64 / GB);
    let mut cost = TestCost {
        kind,
        hours,
        instance_class: instance_class.map(str::to_string),
        size_gb,
        usd: None,
        unpriced: None,
    };
    let price = |table: &BTreeMap<Kind, Usd>| table.get(&kind).copied().unwrap_or(Usd::ZERO);
    let mut dollars = size_gb * price(&prices.restore_gb).dollars()
        + size_gb * price(&prices.storage_gb_month).dollars() * hours / HOURS_PER_MONTH;
    if matches!(kind, Kind::Rds | Kind::Aurora) {
        let Some(class) = instance_class else {
            cost.unpriced = Some("the class the database is restored at is not known".into());
            return cost;
        };
        let Some(hourly) = prices.instance_hour.get(class) else {
            cost.unpriced = Some(format!("no instance_hour price for {class}"));
            return cost;
        };
        dollars += hourly.dollars() * hours.max(MIN_INSTANCE_HOURS);
    }
    cost.usd = Usd::from_dollars(dollars).ok();
    cost
}

/// The first instant of `now`'s calendar month (UTC): a monthly budget's period.
pub fn month_start(now: DateTime<Utc>) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(now)
}

/// What a tier's tests cost since a time: how many, their estimated sum, and how many could
/// not be priced (their cost is not in the sum).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct TierSpend {
    pub tests: usize,
    pub usd: Usd,
    pub unpriced: usize,
}

/// Each tier's spend on tests (tier, ended, estimated cost) that ended at or after `since`.
pub fn spend_by_tier<'a>(
    tests: impl IntoIterator<Item = (&'a str, DateTime<Utc>, Option<Usd>)>,
    since: DateTime<Utc>,
) -> BTreeMap<String, TierSpend> {
    let mut spend: BTreeMap<String, TierSpend> = BTreeMap::new();
    for (tier, ended, cost) in tests {
        if ended < since {
            continue;
        }
        let entry = spend.entry(tier.to_string()).or_default();
        entry.tests += 1;
        match cost {
            Some(usd) => entry.usd = entry.usd.saturating_add(usd),
            None => entry.unpriced += 1,
        }
    }
    spend
}

/// A due test a tier's budget left for a later month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OverBudget {
    pub arn: String,
    pub tier: String,
    pub estimate: Usd,
    pub left: Usd,
}

/// Of `due` (most urgent first, as `due` orders them), the tests each tier's monthly budget
/// allows: in order, each whose estimate (its DR copy's test included, at the same estimate)
/// fits in what the tier has left this month, so that the most urgent are tested and later,
/// cheaper ones still fill what is left. A test whose estimate is unknown is tested and counts
/// nothing. Tiers without a budget keep every due test.
pub fn within_budget(
    due: Vec<Due>,
    budgets: &BTreeMap<String, Usd>,
    spent: &BTreeMap<String, Usd>,
    estimates: &BTreeMap<String, Usd>,
) -> (Vec<Due>, Vec<OverBudget>) {
    let mut left: BTreeMap<&str, Usd> = budgets
        .iter()
        .map(|(tier, budget)| {
            let spent = spent.get(tier).copied().unwrap_or(Usd::ZERO);
            (tier.as_str(), Usd(budget.0.saturating_sub(spent.0)))
        })
        .collect();
    let mut kept = Vec::new();
    let mut over = Vec::new();
    for test in due {
        let Some(remaining) = left.get_mut(test.tier.as_str()) else {
            kept.push(test);
            continue;
        };
        let one = estimates.get(&test.arn).copied().unwrap_or(Usd::ZERO);
        let estimate = if test.dr_copy {
            one.saturating_add(one)
        } else {
            one
        };
        if estimate <= *remaining {
            *remaining = Usd(remaining.0 - estimate.0);
            kept.push(test);
        } else {
            over.push(OverBudget {
                arn: test.arn,
                tier: test.tier,
                estimate,
                left: *remaining,
            });
        }
    }
    (kept, over)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prices() -> Prices {
        Prices {
            instance_hour: [("db.t4g.micro".to_string(), Usd::from_micros(16_000))].into(),
            storage_gb_month: [
                (Kind::Rds, Usd::from_micros(115_000)),
                (Kind::Dynamodb, Usd::from_micros(250_000)),
            ]
            .into(),
            restore_gb: [(Kind::Dynamodb, Usd::from_micros(150_000))].into(),
        }
    }

    #[test]
    fn a_database_costs_its_instance_hours_and_its_storage_for_its_life() {
        // 20 GB for 2 h: 2 × 0.016 + 20 × 0.115 × 2 / 730
        let cost = test_cost(
            Kind::Rds,
            Some(20_000_000_000),
            Some("db.t4g.micro"),
            2.0,
            &prices(),
        );
        assert_eq!(cost.usd, Some(Usd::from_micros(32_000 + 6_301)));
        // A few minutes are billed as ten.
        let short = test_cost(Kind::Rds, None, Some("db.t4g.micro"), 0.05, &prices());
        assert_eq!(short.usd, Some(Usd::from_micros(2_667)));
    }

    #[test]
    fn a_table_costs_its_restore_per_gb_and_its_storage() {
        let cost = test_cost(Kind::Dynamodb, Some(2_000_000_000), None, 1.0, &prices());
        // 2 × 0.15 + 2 × 0.25 / 730
        assert_eq!(cost.usd, Some(Usd::from_micros(300_000 + 685)));
        assert_eq!(cost.unpriced, None);
    }

    #[test]
    fn a_class_without_a_price_is_unpriced_not_free() {
        let cost = test_cost(Kind::Aurora, Some(1), Some("db.x9.huge"), 1.0, &prices());
        assert_eq!(cost.usd, None);
        assert_eq!(
            cost.unpriced.as_deref(),
            Some("no instance_hour price for db.x9.huge")
        );
    }

    #[test]
    fn amounts_are_dollars_to_the_millionth_and_never_negative() {
        assert_eq!(Usd::from_dollars(1.5), Ok(Usd::from_micros(1_500_000)));
        assert!(Usd::from_dollars(-1.0).is_err());
        assert!(Usd::from_dollars(f64::NAN).is_err());
        assert_eq!(Usd::from_micros(1_234_567).to_string(), "$1.23");
    }

    #[test]
    fn a_tiers_spend_counts_its_tests_since_the_start_and_their_priced_costs() {
        let at = |day: u32| {
            Utc.with_ymd_and_hms(2026, 12, day, 12, 0, 0)
                .single()
                .expect("time")
        };
        let usd = |d: f64| Some(Usd::from_dollars(d).expect("usd"));
        let tests = [
            ("critical", at(1), usd(1.25)),
            ("critical", at(6), None),
            ("critical", at(7), usd(0.5)),
            ("standard", at(2), usd(9.0)),
        ];
        let spend = spend_by_tier(tests, at(2));
        assert_eq!(
            spend["critical"],
            TierSpend {
                tests: 2,
                usd: Usd::from_micros(500_000),
                unpriced: 1
            }
        );
        assert_eq!(spend["standard"].usd, Usd::from_micros(9_000_000));
    }

    #[test]
    fn a_budget_is_a_calendar_month() {
        let now = Utc
            .with_ymd_and_hms(2026, 12, 7, 6, 30, 0)
            .single()
            .expect("time");
        assert_eq!(month_start(now).to_rfc3339(), "2026-12-01T00:00:00+00:00");
    }

    fn due(arn: &str, tier: &str, dr_copy: bool) -> Due {
        Due {
            arn: arn.into(),
            tier: tier.into(),
            reason: "never tested".into(),
            dr_copy,
        }
    }

    #[test]
    fn a_budget_takes_the_most_urgent_first_and_fills_what_is_left_with_cheaper_ones() {
        let usd = |d: f64| Usd::from_dollars(d).expect("usd");
        let budgets = [("critical".to_string(), usd(10.0))].into();
        let spent = [("critical".to_string(), usd(4.0))].into();
        let estimates = [
            ("a".to_string(), usd(3.0)),
            ("b".to_string(), usd(5.0)),
            ("c".to_string(), usd(2.0)),
            ("d".to_string(), usd(0.5)),
        ]
        .into();
        let (kept, over) = within_budget(
            vec![
                due("a", "critical", false),
                due("b", "critical", false),
                due("c", "critical", false),
                due("d", "critical", true),
                due("x", "standard", false),
            ],
            &budgets,
            &spent,
            &estimates,
        );
        let kept: Vec<&str> = kept.iter().map(|d| d.arn.as_str()).collect();
        // 6 left: a (3), not b (5 > 3), c (2), d with its DR copy (1 > 1? no: 1 ≤ 1).
        assert_eq!(kept, ["a", "c", "d", "x"]);
        assert_eq!(
            over,
            [OverBudget {
                arn: "b".into(),
                tier: "critical".into(),
                estimate: usd(5.0),
                left: usd(3.0)
            }]
        );
    }

    #[test]
    fn a_spent_budget_tests_nothing_of_its_tier_but_what_costs_nothing_known() {
        let usd = |d: f64| Usd::from_dollars(d).expect("usd");
        let budgets = [("critical".to_string(), usd(1.0))].into();
        let spent = [("critical".to_string(), usd(1.5))].into();
        let estimates = [("a".to_string(), usd(0.1))].into();
        let (kept, over) = within_budget(
            vec![
                due("a", "critical", false),
                due("unknown", "critical", false),
            ],
            &budgets,
            &spent,
            &estimates,
        );
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].arn, "unknown");
        assert_eq!(over[0].left, Usd::ZERO);
    }
}
