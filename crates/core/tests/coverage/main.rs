//! Coverage verdicts: every control compliant, non-compliant and not applicable (the restore
//! tests' in `restore`), the summary's arithmetic, and its invariants under arbitrary estates
//! (`summary`). The fixtures here are the modules' too.

mod restore;
mod summary;

use std::collections::BTreeMap;

use bulwark_core::coverage::human;
use bulwark_core::protection::NativeState;
use bulwark_core::{
    evaluate, AccountId, Asset, AssetCoverage, Attributes, Config, Control, Duration, Evidence,
    Kind, RecoveryPoint, Region, ResourceArn, RestoreTest, Status,
};
use chrono::{DateTime, TimeZone, Utc};

const HOME: &str = "eu-west-1";
const DR: &str = "eu-central-1";
const ACCOUNT: &str = "123456789012";

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 1, 12, 0, 0)
        .single()
        .expect("valid time")
}

fn hours_ago(h: i64) -> DateTime<Utc> {
    now() - chrono::Duration::hours(h)
}

fn asset(kind: Kind, name: &str, tags: &[(&str, &str)]) -> Asset {
    let region = Region::parse(HOME).expect("region");
    let account = AccountId::parse(ACCOUNT).expect("account");
    let arn = ResourceArn::new(kind, "aws", &region, &account, name);
    let tags: BTreeMap<String, String> = tags
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Asset::observed(
        arn,
        account,
        region,
        tags,
        Attributes::default(),
        now() - chrono::Duration::days(30),
    )
}

fn tiered(kind: Kind, tier: &str) -> Asset {
    asset(kind, "store", &[("DataClassification", tier)])
}

/// A snapshot in the home vault that passes every vault control of every built-in tier.
fn point(created: DateTime<Utc>) -> RecoveryPoint {
    RecoveryPoint {
        arn: format!(
            "arn:aws:backup:{HOME}:{ACCOUNT}:recovery-point:{}",
            created.timestamp()
        ),
        resource_arn: "store".into(),
        vault_name: "bulwark".into(),
        region: HOME.into(),
        account: ACCOUNT.into(),
        created,
        status: "COMPLETED".into(),
        encrypted: true,
        kms_key_arn: Some(format!("arn:aws:kms:{HOME}:{ACCOUNT}:key/k")),
        delete_after_days: Some(3650),
        move_to_cold_after_days: Some(90),
        continuous: false,
        vault_locked: true,
        vault_lock_min_retention_days: Some(365),
        vault_denies_manual_deletion: true,
        logically_air_gapped: false,
        size_bytes: None,
        cold: false,
    }
}

fn copy(created: DateTime<Utc>) -> RecoveryPoint {
    RecoveryPoint {
        region: DR.into(),
        vault_name: "bulwark-dr".into(),
        ..point(created)
    }
}

/// Evidence under which a critical RDS instance passes every applicable control.
fn healthy() -> Evidence {
    Evidence {
        selected_by: vec!["bulwark-critical".into()],
        plan_frequencies: vec![Duration::from_hours(4)],
        plan_retention_days: vec![35, 2555],
        recovery_points: vec![
            RecoveryPoint {
                continuous: true,
                delete_after_days: Some(35),
                ..point(hours_ago(72))
            },
            point(hours_ago(3)),
            copy(hours_ago(2)),
        ],
        native: NativeState::default(),
        last_restore_test: Some(RestoreTest {
            completed: hours_ago(24),
            duration: Duration::from_minutes(40),
            succeeded: true,
            rpo: Some(Duration::from_minutes(12)),
            reason: None,
        }),
    }
}

fn judge(asset: &Asset, evidence: &Evidence) -> AssetCoverage {
    evaluate(&Config::builtin(), asset, evidence, now())
}

fn status(coverage: &AssetCoverage, control: Control) -> Status {
    coverage
        .controls
        .iter()
        .find(|c| c.control == control)
        .map(|c| c.status.clone())
        .expect("every control is evaluated")
}

fn critical(evidence: &Evidence, control: Control) -> Status {
    status(&judge(&tiered(Kind::Rds, "critical"), evidence), control)
}

fn reason(s: Status) -> String {
    match s {
        Status::NonCompliant { reason } => reason,
        other => panic!("expected non-compliant, got {other:?}"),
    }
}

fn why(s: Status) -> String {
    match s {
        Status::NotApplicable { why } => why,
        other => panic!("expected not applicable, got {other:?}"),
    }
}

fn without_points(mut e: Evidence) -> Evidence {
    e.recovery_points.clear();
    e
}

#[test]
fn a_healthy_critical_asset_passes_every_applicable_control() {
    let c = judge(&tiered(Kind::Rds, "critical"), &healthy());
    assert!(c.compliant, "{:?}", c.exceptions);
    assert!(c.exceptions.is_empty());
    assert_eq!(c.tier.as_deref(), Some("critical"));
    assert!(c.backup_required && c.selected && c.protected && c.dr_copy && c.locked);
    assert!(!c.rpo_breached);
    assert_eq!(c.encrypted, Some(true));
    assert_eq!(c.rpo, Some(Duration::from_hours(1)));
    // Continuous backup: restorable to within the point-in-time lag.
    assert_eq!(c.latest_age, Some(Duration::from_minutes(5)));
    let applicable: Vec<Control> = c
        .controls
        .iter()
        .filter(|r| r.status != Status::Compliant)
        .map(|r| r.control)
        .collect();
    assert_eq!(
        applicable,
        [
            Control::BackupResourcesProtectedByCrossAccount,
            Control::ResourcesInLogicallyAirGappedVault
        ]
    );
    assert_eq!(c.controls.len(), Control::ALL.len());
}

#[test]
fn controls_are_named_as_aws_names_them() {
    for control in Control::ALL {
        let json = serde_json::to_string(&control).expect("serialize");
        assert_eq!(json, format!("\"{control}\""));
        assert_eq!(control.to_string(), control.as_str());
    }
    assert_eq!(
        Control::BackupPlanMinFrequencyAndMinRetentionCheck.to_string(),
        "BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK"
    );
    assert_eq!(
        Control::ResourcesInLogicallyAirGappedVault.to_string(),
        "RESOURCES_IN_LOGICALLY_AIR_GAPPED_VAULT"
    );
}

#[test]
fn asset_coverage_round_trips_through_json() {
    let c = judge(&tiered(Kind::Rds, "critical"), &without_points(healthy()));
    let json = serde_json::to_value(&c).expect("serialize");
    assert_eq!(
        json["controls"][0],
        serde_json::json!({
            "control": "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN",
            "status": "compliant"
        })
    );
    assert_eq!(json["controls"][8]["status"], "non_compliant");
    let back: AssetCoverage = serde_json::from_value(json).expect("deserialize");
    assert_eq!(back, c);
}

#[test]
fn protected_by_backup_plan() {
    assert_eq!(
        critical(&healthy(), Control::BackupResourcesProtectedByBackupPlan),
        Status::Compliant
    );
    let unselected = Evidence {
        selected_by: vec![],
        ..healthy()
    };
    let c = judge(&tiered(Kind::Rds, "critical"), &unselected);
    assert_eq!(
        reason(status(&c, Control::BackupResourcesProtectedByBackupPlan)),
        "not selected by any backup plan"
    );
    assert!(!c.selected && !c.protected && !c.compliant);
}

#[test]
fn plan_frequency_and_retention_against_the_tier() {
    let control = Control::BackupPlanMinFrequencyAndMinRetentionCheck;
    assert_eq!(critical(&healthy(), control), Status::Compliant);

    // Critical EBS has no continuous backup, so it needs an hourly schedule.
    let ebs = tiered(Kind::Ebs, "critical");
    let hourly = Evidence {
        plan_frequencies: vec![Duration::from_hours(4), Duration::from_hours(1)],
        ..healthy()
    };
    assert_eq!(status(&judge(&ebs, &hourly), control), Status::Compliant);
    assert_eq!(
        reason(status(&judge(&ebs, &healthy()), control)),
        "plan bulwark-critical backs up every 4h at best; tier critical needs every 1h for ebs"
    );

    let short = Evidence {
        plan_retention_days: vec![35, 365],
        ..healthy()
    };
    assert_eq!(
        reason(critical(&short, control)),
        "plan bulwark-critical keeps recovery points 365d at most; tier critical keeps them 7y"
    );
    let empty = Evidence {
        plan_frequencies: vec![],
        plan_retention_days: vec![],
        ..healthy()
    };
    assert_eq!(
        reason(critical(&empty, control)),
        "plan bulwark-critical has no scheduled rule; plan bulwark-critical states no retention"
    );

    let unselected = Evidence {
        selected_by: vec![],
        ..healthy()
    };
    assert_eq!(
        why(critical(&unselected, control)),
        "not selected by any backup plan, so no plan to check"
    );
}

#[test]
fn manual_deletion_disabled() {
    let control = Control::BackupRecoveryPointManualDeletionDisabled;
    assert_eq!(critical(&healthy(), control), Status::Compliant);
    let mut open = healthy();
    open.recovery_points[2].vault_denies_manual_deletion = false;
    assert_eq!(
        reason(critical(&open, control)),
        "1 of 3 recovery points are in vaults that allow manual deletion (bulwark-dr in eu-central-1)"
    );
    assert_eq!(
        why(critical(&without_points(healthy()), control)),
        "no recovery points yet"
    );
}

#[test]
fn recovery_points_encrypted() {
    let control = Control::BackupRecoveryPointEncrypted;
    assert_eq!(critical(&healthy(), control), Status::Compliant);
    let mut plain = healthy();
    plain.recovery_points[1].encrypted = false;
    plain.recovery_points[2].encrypted = false;
    let c = judge(&tiered(Kind::Rds, "critical"), &plain);
    assert_eq!(
        reason(status(&c, control)),
        "2 of 3 recovery points are not encrypted (bulwark in eu-west-1, bulwark-dr in eu-central-1)"
    );
    assert_eq!(c.encrypted, Some(false));
    let none = judge(&tiered(Kind::Rds, "critical"), &without_points(healthy()));
    assert_eq!(why(status(&none, control)), "no recovery points yet");
    assert_eq!(none.encrypted, None);
}

#[test]
fn points_that_cannot_be_restored_are_ignored() {
    let mut e = healthy();
    for p in &mut e.recovery_points {
        p.encrypted = false;
        p.status = "DELETING".into();
    }
    e.recovery_points.push(RecoveryPoint {
        status: "available".into(),
        ..point(hours_ago(1))
    });
    let c = judge(&tiered(Kind::Ebs, "standard"), &e);
    assert_eq!(
        status(&c, Control::BackupRecoveryPointEncrypted),
        Status::Compliant
    );
    assert_eq!(c.latest_recovery_point, Some(hours_ago(1)));
    assert!(!c.dr_copy);
}

#[test]
fn minimum_retention_of_recovery_points() {
    let control = Control::BackupRecoveryPointMinimumRetentionCheck;
    // The continuous point's 35 days do not count against 7 years.
    assert_eq!(critical(&healthy(), control), Status::Compliant);
    let mut short = healthy();
    short.recovery_points[1].delete_after_days = Some(30);
    assert_eq!(
        reason(critical(&short, control)),
        "1 of 2 recovery points are kept 30d or less; tier critical keeps them 7y"
    );
    let mut forever = healthy();
    forever.recovery_points[1].delete_after_days = None;
    assert_eq!(critical(&forever, control), Status::Compliant);

    let mut continuous_only = healthy();
    continuous_only.recovery_points.truncate(1);
    assert_eq!(
        why(critical(&continuous_only, control)),
        "only continuous recovery points, which AWS Backup keeps at most 35d"
    );
    assert_eq!(
        why(critical(&without_points(healthy()), control)),
        "no recovery points yet"
    );
}

#[test]
fn cross_region_copy() {
    let control = Control::BackupResourcesProtectedByCrossRegion;
    assert_eq!(critical(&healthy(), control), Status::Compliant);
    let mut home_only = healthy();
    home_only.recovery_points.truncate(2);
    let c = judge(&tiered(Kind::Rds, "critical"), &home_only);
    assert_eq!(
        reason(status(&c, control)),
        "no recovery point outside eu-west-1; tier critical asks for a copy in the DR region"
    );
    assert!(!c.dr_copy);
    let standard = judge(&tiered(Kind::Rds, "standard"), &home_only);
    assert_eq!(
        why(status(&standard, control)),
        "tier standard asks for no cross-region copy"
    );
    assert_eq!(
        why(critical(&without_points(healthy()), control)),
        "no recovery points yet"
    );
}

#[test]
fn the_air_gap_is_not_required_by_the_taxonomy() {
    assert_eq!(
        why(critical(
            &healthy(),
            Control::ResourcesInLogicallyAirGappedVault
        )),
        "not required by the taxonomy"
    );
}

#[test]
fn cross_account_copy_for_a_tier_kept_in_the_central_backup_account() {
    let control = Control::BackupResourcesProtectedByCrossAccount;
    // Not applicable to a tier without central_retention (the default's)
    assert_eq!(
        why(critical(&healthy(), control)),
        "tier critical keeps no copy in the central backup account"
    );
    // A tier with central_retention: a restorable point in another account holds it
    let text = bulwark_core::config::BUILTIN_TOML.replacen(
        "[tiers.critical]\n",
        "[tiers.critical]\ncentral_retention = \"2555d\"\n",
        1,
    ) + "\n[central_backup]\naccount = \"999988887777\"\n\
           organization_id = \"o-abcdefghij\"\nregion = \"us-east-1\"\n";
    let config = Config::from_toml_str("central.toml", &text).expect("valid");
    let judged = |evidence: &Evidence| {
        status(
            &evaluate(&config, &tiered(Kind::Rds, "critical"), evidence, now()),
            control,
        )
    };
    assert_eq!(
        reason(judged(&healthy())),
        format!(
            "no recovery point outside account {ACCOUNT}; tier critical keeps a copy in the \
             central backup account"
        )
    );
    let mut central = healthy();
    central.recovery_points.push(RecoveryPoint {
        account: "999988887777".into(),
        vault_name: "bulwark-central".into(),
        ..point(hours_ago(2))
    });
    assert_eq!(judged(&central), Status::Compliant);
    assert_eq!(
        why(judged(&without_points(healthy()))),
        "no recovery points yet"
    );
}

#[test]
fn vault_lock() {
    let control = Control::BackupResourcesProtectedByBackupVaultLock;
    assert_eq!(critical(&healthy(), control), Status::Compliant);
    let mut unlocked = healthy();
    unlocked.recovery_points[2].vault_locked = false;
    let c = judge(&tiered(Kind::Rds, "critical"), &unlocked);
    assert_eq!(
        reason(status(&c, control)),
        "1 of 3 recovery points are in vaults without a lock (bulwark-dr in eu-central-1)"
    );
    assert!(!c.locked);
    let standard = judge(&tiered(Kind::Rds, "standard"), &unlocked);
    assert_eq!(
        why(status(&standard, control)),
        "tier standard asks for no vault lock"
    );
    assert_eq!(
        why(critical(&without_points(healthy()), control)),
        "no recovery points yet"
    );
}

#[test]
fn last_recovery_point_within_the_rpo() {
    let control = Control::BackupLastRecoveryPointCreated;
    let ebs = tiered(Kind::Ebs, "critical");
    let fresh = Evidence {
        recovery_points: vec![point(now() - chrono::Duration::minutes(50))],
        ..healthy()
    };
    assert_eq!(status(&judge(&ebs, &fresh), control), Status::Compliant);

    let stale = Evidence {
        recovery_points: vec![point(hours_ago(30)), copy(hours_ago(1))],
        ..healthy()
    };
    let c = judge(&ebs, &stale);
    assert_eq!(
        reason(status(&c, control)),
        "latest recovery point is 30h old; tier critical allows 1h"
    );
    assert!(c.rpo_breached && !c.protected);
    assert_eq!(c.latest_age, Some(Duration::from_hours(30)));

    // One second past the RPO is past it.
    let edge = Evidence {
        recovery_points: vec![point(now() - chrono::Duration::seconds(3601))],
        ..healthy()
    };
    assert_eq!(
        reason(status(&judge(&ebs, &edge), control)),
        "latest recovery point is 1h 1m old; tier critical allows 1h"
    );

    let none = judge(&ebs, &without_points(healthy()));
    assert_eq!(
        reason(status(&none, control)),
        "no recovery point yet; tier critical allows 1h"
    );
    // First seen 30 days ago: nothing to restore for far longer than the RPO.
    assert!(none.rpo_breached);
    assert_eq!(none.latest_recovery_point, None);
    let mut new = ebs.clone();
    new.first_seen = now() - chrono::Duration::minutes(10);
    assert!(!judge(&new, &without_points(healthy())).rpo_breached);

    assert_eq!(
        why(status(
            &judge(&asset(Kind::Ebs, "temp-files", &[]), &healthy()),
            control
        )),
        r#"name "temp-files" has the word "temp" -> reproducible, not backed up (name-reproducible)"#
    );
}

#[test]
fn dynamodb_pitr_counts_as_a_fresh_point() {
    let table = tiered(Kind::Dynamodb, "critical");
    let pitr = Evidence {
        recovery_points: vec![point(hours_ago(30))],
        native: NativeState {
            pitr_enabled: Some(true),
            ..NativeState::default()
        },
        ..healthy()
    };
    let c = judge(&table, &pitr);
    assert_eq!(
        status(&c, Control::BackupLastRecoveryPointCreated),
        Status::Compliant
    );
    assert_eq!(c.pitr_or_versioning, Some(true));
    assert_eq!(
        c.latest_recovery_point,
        Some(now() - chrono::Duration::minutes(5))
    );

    let off = Evidence {
        native: NativeState {
            pitr_enabled: Some(false),
            ..NativeState::default()
        },
        ..pitr.clone()
    };
    let c = judge(&table, &off);
    assert!(c.rpo_breached);
    assert_eq!(c.pitr_or_versioning, Some(false));
    // An EBS volume has no PITR, whatever the native state says.
    let c = judge(&tiered(Kind::Ebs, "critical"), &pitr);
    assert!(c.rpo_breached);
    assert_eq!(c.pitr_or_versioning, None);
}

#[test]
fn a_continuous_copy_elsewhere_does_not_make_the_home_fresh() {
    let e = Evidence {
        recovery_points: vec![
            point(hours_ago(30)),
            RecoveryPoint {
                continuous: true,
                ..copy(hours_ago(30))
            },
        ],
        ..healthy()
    };
    let c = judge(&tiered(Kind::Rds, "critical"), &e);
    assert_eq!(c.latest_age, Some(Duration::from_hours(30)));
    assert!(c.rpo_breached);
}

#[test]
fn a_store_not_backed_up_has_every_control_not_applicable_with_the_reason() {
    let sandbox = asset(
        Kind::S3,
        "scratch",
        &[("Environment", "sandbox"), ("Env", "??")],
    );
    let c = judge(&sandbox, &Evidence::default());
    assert!(!c.backup_required && c.compliant && !c.rpo_breached);
    assert_eq!(c.tier, None);
    assert_eq!(c.rpo, None);
    assert_eq!(c.unknown_values.len(), 1);
    for r in &c.controls {
        assert_eq!(
            r.status,
            Status::NotApplicable {
                why: r#"tag Environment="sandbox" -> not backed up (environment)"#.into()
            },
            "{}",
            r.control
        );
    }
}

#[test]
fn exceptions_name_each_cause_once() {
    let c = judge(&tiered(Kind::Rds, "critical"), &Evidence::default());
    assert!(!c.compliant);
    assert_eq!(
        c.exceptions,
        [
            "not selected by any backup plan",
            "no recovery point yet; tier critical allows 1h",
            "no restore test yet; tier critical's RTO of 1h needs one",
        ]
    );
}

#[test]
fn ages_read_as_people_write_them() {
    for (minutes, text) in [
        (0, "0m"),
        (45, "45m"),
        (60, "1h"),
        (150, "2h 30m"),
        (30 * 60, "30h"),
        (48 * 60, "2d"),
        (76 * 60 + 59, "3d 4h"),
    ] {
        assert_eq!(human(Duration::from_minutes(minutes)), text);
    }
}
