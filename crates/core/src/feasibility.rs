//! RPO feasibility: for each tier and kind, whether the protection the tier gives that kind
//! can meet the tier's RPO. A finding, not a refusal: the configuration still loads.
//!
//! Scheduled protection is judged by its nominal interval: a job that starts late within its
//! start window is coverage's concern (it measures real recovery-point ages), not the plan's.

use std::fmt;

use serde::Serialize;

use crate::config::Config;
use crate::duration::Duration;
use crate::kind::Kind;
use crate::taxonomy::{PointInTime, Tier, COPY_ALLOWANCE};

/// What bounds a kind's data loss in a tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Protection {
    PointInTime(PointInTime),
    Schedule { every: Duration },
}

/// Whether one tier's RPO holds for one kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Feasibility {
    pub tier: String,
    pub kind: Kind,
    pub rpo: Duration,
    pub protection: Protection,
    /// The most data, in time, that this protection can lose.
    pub worst_case: Duration,
    pub met: bool,
    /// When not met: why, and what would meet it.
    pub shortfall: Option<String>,
    /// For a tier with a cross-region copy: what a failover from the DR region's copies may
    /// lose, and whether the copies' cadence keeps within it.
    pub dr: Option<DrFeasibility>,
}

/// Whether the copies in the DR region keep a failover within what it may lose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DrFeasibility {
    /// The tier's `dr_rpo`, else its RPO: what a failover plan blocks past.
    pub limit: Duration,
    /// How often the kind's recovery points are copied there.
    pub copies_every: Duration,
    /// The oldest the newest copy gets: the cadence and the time a backup and its copy take.
    pub worst_case: Duration,
    pub met: bool,
}

/// Every tier against every kind, tiers in configuration order.
pub fn rpo_feasibility(config: &Config) -> Vec<Feasibility> {
    config
        .tiers()
        .iter()
        .flat_map(|tier| Kind::ALL.into_iter().map(move |kind| assess(tier, kind)))
        .collect()
}

fn assess(tier: &Tier, kind: Kind) -> Feasibility {
    let (protection, worst_case) = match tier.point_in_time(kind) {
        Some(pit) => (Protection::PointInTime(pit), PointInTime::LAG),
        None => {
            let every = tier.snapshot_frequency(kind);
            (Protection::Schedule { every }, every)
        }
    };
    let met = worst_case <= tier.rpo;
    let shortfall = (!met).then(|| shortfall(tier, kind, protection));
    Feasibility {
        tier: tier.name.clone(),
        kind,
        rpo: tier.rpo,
        protection,
        worst_case,
        met,
        shortfall,
        dr: tier.cross_region_copy.then(|| dr_feasibility(tier, kind)),
    }
}

fn dr_feasibility(tier: &Tier, kind: Kind) -> DrFeasibility {
    let limit = tier.dr_rpo.unwrap_or(tier.rpo);
    let copies_every = tier
        .dr_copy_frequency(kind)
        .unwrap_or_else(|| tier.snapshot_frequency(kind));
    let worst_case =
        Duration::from_minutes(copies_every.as_minutes() + COPY_ALLOWANCE.as_minutes());
    DrFeasibility {
        limit,
        copies_every,
        worst_case,
        met: worst_case <= limit,
    }
}

fn shortfall(tier: &Tier, kind: Kind, protection: Protection) -> String {
    let rpo = tier.rpo;
    let has_point_in_time = kind.supports_continuous_backup() || kind.supports_native_pitr();
    match protection {
        Protection::PointInTime(pit) => format!(
            "{pit} restores to within {} of now, more than the RPO of {rpo}",
            PointInTime::LAG
        ),
        Protection::Schedule { every } if has_point_in_time => format!(
            "a backup every {every} can lose up to {every} of data; turn on \
             continuous_backup, or back up at least every {rpo}"
        ),
        Protection::Schedule { every } if tier.continuous_backup => format!(
            "a backup every {every} can lose up to {every} of data, and {kind} has no \
             continuous backup or PITR; set frequency_without_continuous to at most {rpo}"
        ),
        Protection::Schedule { every } => format!(
            "a backup every {every} can lose up to {every} of data, and {kind} has no \
             continuous backup or PITR; set frequency to at most {rpo}"
        ),
    }
}

impl fmt::Display for Protection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Protection::PointInTime(pit) => write!(f, "{pit}"),
            Protection::Schedule { every } => write!(f, "a backup every {every}"),
        }
    }
}

impl fmt::Display for Feasibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Feasibility {
            tier,
            kind,
            rpo,
            protection,
            ..
        } = self;
        match &self.shortfall {
            None => write!(f, "{tier}/{kind}: RPO {rpo} met by {protection}")?,
            Some(why) => write!(f, "{tier}/{kind}: RPO {rpo} NOT met: {why}")?,
        }
        match &self.dr {
            None => Ok(()),
            Some(dr) if dr.met => write!(
                f,
                "; DR copies every {}: a failover loses up to {}, within {}",
                dr.copies_every, dr.worst_case, dr.limit
            ),
            Some(dr) => write!(
                f,
                "; DR copies every {}: a failover may lose {}, more than {} (set the tier's \
                 dr_rpo to what a failover may lose: the plans then copy often enough)",
                dr.copies_every, dr.worst_case, dr.limit
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(tier_body: &str) -> Config {
        let text = format!(
            "[tiers.important]\n{tier_body}\n[[rules]]\nname = \"default\"\nthen = \"important\"\n"
        );
        Config::from_toml_str("test.toml", &text).expect("valid configuration")
    }

    fn finding(all: &[Feasibility], tier: &str, kind: Kind) -> Feasibility {
        all.iter()
            .find(|f| f.tier == tier && f.kind == kind)
            .cloned()
            .expect("a finding for every tier and kind")
    }

    #[test]
    fn the_builtin_default_meets_every_rpo() {
        let all = rpo_feasibility(&Config::builtin());
        assert_eq!(all.len(), 4 * Kind::ALL.len());
        let unmet: Vec<String> = all
            .iter()
            .filter(|f| !f.met)
            .map(|f| f.to_string())
            .collect();
        assert!(unmet.is_empty(), "{unmet:#?}");
    }

    #[test]
    fn critical_is_met_by_point_in_time_where_the_kind_has_it_and_hourly_elsewhere() {
        let all = rpo_feasibility(&Config::builtin());
        for kind in [Kind::S3, Kind::Rds, Kind::Aurora] {
            assert_eq!(
                finding(&all, "critical", kind).protection,
                Protection::PointInTime(PointInTime::ContinuousBackup)
            );
        }
        assert_eq!(
            finding(&all, "critical", Kind::Dynamodb).protection,
            Protection::PointInTime(PointInTime::NativePitr)
        );
        for kind in [Kind::Efs, Kind::Ebs] {
            let f = finding(&all, "critical", kind);
            assert_eq!(
                f.protection,
                Protection::Schedule {
                    every: Duration::from_hours(1)
                }
            );
            assert_eq!(
                f.to_string(),
                format!(
                    "critical/{kind}: RPO 1h met by a backup every 1h; DR copies every 1h: a \
                     failover loses up to 2h, within 2h"
                )
            );
        }
        assert_eq!(
            finding(&all, "critical", Kind::S3).to_string(),
            "critical/s3: RPO 1h met by continuous backup; DR copies every 1h: a failover \
             loses up to 2h, within 2h"
        );
    }

    #[test]
    fn the_builtin_defaults_copies_meet_what_a_failover_may_lose_and_none_are_judged_without_a_copy(
    ) {
        let all = rpo_feasibility(&Config::builtin());
        for f in &all {
            match f.tier.as_str() {
                "critical" | "important" => {
                    let dr = f.dr.as_ref().expect("a DR finding");
                    assert!(dr.met, "{f}");
                }
                _ => assert_eq!(f.dr, None, "{f}"),
            }
        }
        let table = finding(&all, "important", Kind::Dynamodb);
        assert_eq!(
            table.dr.map(|d| (d.copies_every, d.worst_case, d.limit)),
            Some((
                Duration::from_hours(12),
                Duration::from_hours(13),
                Duration::from_hours(13)
            ))
        );
    }

    #[test]
    fn without_a_dr_rpo_a_failover_is_judged_against_the_rpo_and_the_snapshots_copies() {
        let all = rpo_feasibility(&config(
            "rpo = \"1h\"\nrto = \"4h\"\nfrequency = \"4h\"\ncontinuous_backup = true\n\
             frequency_without_continuous = \"1h\"\nretention = \"3y\"\ncross_region_copy = true\n\
             [protection]\ndr_region = \"us-west-2\"",
        ));
        let rds = finding(&all, "important", Kind::Rds);
        let dr = rds.dr.clone().expect("a DR finding");
        assert_eq!(dr.copies_every, Duration::from_hours(4));
        assert!(!dr.met);
        assert!(rds.to_string().contains("set the tier's dr_rpo"), "{rds}");
    }

    #[test]
    fn a_schedule_slower_than_the_rpo_is_a_finding_on_every_kind_without_continuous_backup() {
        let all = rpo_feasibility(&config(
            "rpo = \"1h\"\nrto = \"4h\"\nfrequency = \"12h\"\nretention = \"3y\"",
        ));
        let ebs = finding(&all, "important", Kind::Ebs);
        assert!(!ebs.met);
        assert_eq!(ebs.worst_case, Duration::from_hours(12));
        assert_eq!(
            ebs.to_string(),
            "important/ebs: RPO 1h NOT met: a backup every 12h can lose up to 12h of data, \
             and ebs has no continuous backup or PITR; set frequency to at most 1h"
        );
        let rds = finding(&all, "important", Kind::Rds);
        assert!(
            rds.to_string().contains("turn on continuous_backup"),
            "{rds}"
        );
        assert!(all.iter().all(|f| !f.met));
    }

    #[test]
    fn continuous_backup_without_a_faster_fallback_leaves_ebs_and_efs_short() {
        let all = rpo_feasibility(&config(
            "rpo = \"1h\"\nrto = \"4h\"\nfrequency = \"4h\"\ncontinuous_backup = true\nretention = \"3y\"",
        ));
        let unmet: Vec<Kind> = all.iter().filter(|f| !f.met).map(|f| f.kind).collect();
        assert_eq!(unmet, vec![Kind::Efs, Kind::Ebs]);
        let efs = finding(&all, "important", Kind::Efs);
        assert!(
            efs.to_string()
                .contains("set frequency_without_continuous to at most 1h"),
            "{efs}"
        );
    }

    #[test]
    fn an_rpo_below_the_point_in_time_lag_cannot_be_met() {
        let all = rpo_feasibility(&config(
            "rpo = \"1m\"\nrto = \"4h\"\nfrequency = \"1h\"\ncontinuous_backup = true\nretention = \"3y\"",
        ));
        let rds = finding(&all, "important", Kind::Rds);
        assert!(!rds.met);
        assert!(rds.to_string().contains("restores to within 5m"), "{rds}");
    }
}
