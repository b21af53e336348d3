//! The summary's arithmetic, and its invariants under arbitrary estates.

use bulwark_core::coverage::NOT_BACKED_UP;
use bulwark_core::{summarize, CoverageReport};
use proptest::prelude::*;

use super::*;

fn coverage(
    tier: Option<&str>,
    kind: Kind,
    age_hours: Option<u64>,
    selected: bool,
) -> AssetCoverage {
    let name = format!("{kind}-{}-{age_hours:?}-{selected}", tier.unwrap_or("none"));
    let a = match tier {
        Some(tier) => asset(kind, &name, &[("DataClassification", tier)]),
        None => asset(kind, &name, &[("Reproducible", "true")]),
    };
    let evidence = Evidence {
        selected_by: if selected { vec!["p".into()] } else { vec![] },
        recovery_points: age_hours
            .map(|h| point(now() - chrono::Duration::hours(h as i64)))
            .into_iter()
            .collect(),
        ..healthy()
    };
    judge(&a, &evidence)
}

#[test]
fn the_summary_adds_up() {
    let assets = vec![
        coverage(Some("critical"), Kind::Ebs, Some(0), true),
        coverage(Some("critical"), Kind::Ebs, Some(3), true),
        coverage(Some("critical"), Kind::Efs, None, true),
        coverage(Some("standard"), Kind::Ebs, Some(5), true),
        coverage(Some("standard"), Kind::Ebs, Some(10), false),
        coverage(Some("standard"), Kind::S3, Some(20), true),
        coverage(Some("archival"), Kind::Ebs, Some(100), true),
        coverage(None, Kind::S3, None, false),
    ];
    let report: CoverageReport = summarize(&assets, now());
    assert_eq!(report.generated_at, now());
    let t = &report.totals;
    assert_eq!((t.assets, t.backup_required, t.protected), (8, 7, 4));
    assert_eq!(t.rpo_breaches, 2);
    assert!((t.coverage_percent - 400.0 / 7.0).abs() < 1e-9);
    assert_eq!(
        report.tier_order,
        ["critical", "standard", "archival", NOT_BACKED_UP]
    );

    let critical = &report.by_tier["critical"];
    assert_eq!(
        (critical.assets, critical.protected, critical.rpo_breaches),
        (3, 1, 2)
    );
    assert!((critical.coverage_percent - 100.0 / 3.0).abs() < 1e-9);
    let none = &report.by_tier[NOT_BACKED_UP];
    assert_eq!(
        (none.assets, none.backup_required, none.non_compliant),
        (1, 0, 0)
    );
    assert_eq!(none.coverage_percent, 100.0);
    assert_eq!(report.by_kind[&Kind::Ebs].assets, 5);
    assert_eq!(report.by_kind[&Kind::S3].backup_required, 1);
    assert_eq!(report.by_tier_and_kind["standard"][&Kind::Ebs].protected, 1);
    assert_eq!(report.by_tier_and_kind["critical"][&Kind::Efs].protected, 0);

    let h = report.age_histogram["critical"];
    assert_eq!(
        (
            h.within_25_percent,
            h.within_50_percent,
            h.within_100_percent,
            h.over_rpo,
            h.no_recovery_point
        ),
        (1, 0, 0, 1, 1)
    );
    let h = report.age_histogram["standard"];
    assert_eq!(
        (
            h.within_25_percent,
            h.within_50_percent,
            h.within_100_percent,
            h.over_rpo
        ),
        (1, 1, 1, 0)
    );
    assert!(!report.age_histogram.contains_key(NOT_BACKED_UP));

    let tiers: Vec<Option<&str>> = report
        .exceptions
        .iter()
        .map(|e| e.tier.as_deref())
        .collect();
    assert!(tiers.windows(2).all(|w| {
        let rank = |t: Option<&str>| report.tier_order.iter().position(|o| Some(o.as_str()) == t);
        rank(w[0]) <= rank(w[1])
    }));
    assert_eq!(
        report.exceptions.len(),
        assets.iter().filter(|a| !a.compliant).count()
    );
    assert!(report.exceptions.iter().all(|e| !e.reasons.is_empty()));
}

#[test]
fn an_empty_estate_is_fully_covered() {
    let report = summarize(&[], now());
    assert_eq!(report.totals.assets, 0);
    assert_eq!(report.totals.coverage_percent, 100.0);
    assert!(report.tier_order.is_empty() && report.exceptions.is_empty());
}

proptest! {
    #[test]
    fn coverage_is_a_percentage_and_protected_means_selected_and_fresh(
        estate in prop::collection::vec(
            (
                prop::sample::select(vec![None, Some("critical"), Some("important"), Some("standard"), Some("archival")]),
                prop::sample::select(Kind::ALL.to_vec()),
                prop::option::of(0u64..400),
                any::<bool>(),
            ),
            0..40,
        )
    ) {
        let assets: Vec<AssetCoverage> = estate
            .iter()
            .map(|&(tier, kind, age, selected)| coverage(tier, kind, age, selected))
            .collect();
        let report = summarize(&assets, now());
        let p = report.totals.coverage_percent;
        prop_assert!((0.0..=100.0).contains(&p), "{p}");
        for a in &assets {
            let fresh = a.latest_age.zip(a.rpo).is_some_and(|(age, rpo)| age <= rpo);
            prop_assert_eq!(a.protected, a.selected && fresh);
        }
        let protected = assets.iter().filter(|a| a.backup_required && a.selected && a.latest_age.zip(a.rpo).is_some_and(|(age, rpo)| age <= rpo)).count();
        prop_assert_eq!(report.totals.protected, protected);
        let by_tier: usize = report.by_tier.values().map(|g| g.protected).sum();
        prop_assert_eq!(by_tier, protected);
        for g in report.by_tier.values().chain(report.by_kind.values()) {
            prop_assert!((0.0..=100.0).contains(&g.coverage_percent));
        }
        let histogram: usize = report.age_histogram.values().map(|h| h.total()).sum();
        prop_assert_eq!(histogram, report.totals.backup_required);
    }
}
