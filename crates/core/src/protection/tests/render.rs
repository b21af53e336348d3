//! Rendering from the configuration: vaults, plans, rules, selections and schedules.

use serde_json::{json, Value};

use super::super::render::{vault_lock, DAILY, FAMILIES};
use super::super::*;
use super::{builtin, ACCOUNT, PRIMARY};
use crate::config::Config;
use crate::duration::Duration;
use crate::kind::Kind;
use crate::taxonomy::{shared_lock, Tier, LONGEST_GROUP_NAME};

#[test]
fn a_store_in_the_dr_region_is_protected_into_its_pair_and_each_vault_renders_alike() {
    // Given an account with assets in us-east-1 and in us-west-2, the default DR region
    let config = Config::builtin();
    let east = render(&config, ACCOUNT, "us-east-1").expect("east");
    let west = render(&config, ACCOUNT, "us-west-2").expect("west");
    // Then us-west-2's copies go to us-east-1, never back into us-west-2
    let copies_to = |state: &BackupState| -> Vec<String> {
        state
            .plans
            .values()
            .flat_map(|p| p.rules.iter())
            .flat_map(|r| r.copy_actions.iter())
            .map(|c| c.destination_vault_arn.clone())
            .collect()
    };
    assert!(copies_to(&west)
        .iter()
        .all(|d| d == "arn:aws:backup:us-east-1:123456789012:backup-vault:bulwark"));
    assert!(copies_to(&east)
        .iter()
        .all(|d| d == "arn:aws:backup:us-west-2:123456789012:backup-vault:bulwark"));
    assert!(!copies_to(&west).is_empty());
    // And each region's vault is the same whichever scope renders it
    for key in west.vaults.keys() {
        assert_eq!(west.vaults.get(key), east.vaults.get(key), "{key:?}");
    }
    // And every vault's lock, a DR vault's too, admits every tier's retention from its
    // creation: a store a failover restores there, then protected at its tier, needs no lock
    // widened (which only the admins may do)
    let every_tier = shared_lock(config.tiers().iter()).map(vault_lock);
    assert!(every_tier.is_some());
    let copying: Vec<&Tier> = config
        .tiers()
        .iter()
        .filter(|t| t.cross_region_copy)
        .collect();
    assert_ne!(
        every_tier,
        shared_lock(copying.into_iter()).map(vault_lock),
        "the default taxonomy has a tier that does not copy with a longer retention"
    );
    for state in [&east, &west] {
        for vault in state.vaults.values() {
            assert_eq!(vault.lock, every_tier, "{vault:?}");
        }
    }
}

/// What the default taxonomy's rendering must give one (tier, kind).
struct Expected {
    plan: &'static str,
    schedule: &'static str,
    windows: (u64, u64),
    delete_after_days: u64,
    cold_after_days: Option<u64>,
    continuous: bool,
    copy: bool,
}

fn expected(tier: &str, kind: Kind) -> Expected {
    use Kind::*;
    let family = match kind {
        S3 | Rds | Aurora => 0,
        Dynamodb => 1,
        Efs | Ebs => 2,
    };
    let e =
        |plan, schedule, windows, delete_after_days, cold_after_days, continuous, copy| Expected {
            plan,
            schedule,
            windows,
            delete_after_days,
            cold_after_days,
            continuous,
            copy,
        };
    const EVERY_4H: &str = "cron(0 0/4 ? * * *)";
    const WEEKLY: &str = "cron(0 5 ? * SUN *)";
    match (tier, family) {
        ("critical", 0) => e(
            "bulwark-critical-s3rds",
            EVERY_4H,
            (60, 240),
            2555,
            None,
            true,
            true,
        ),
        ("critical", 1) => e(
            "bulwark-critical-dynamodb",
            EVERY_4H,
            (60, 240),
            2555,
            Some(90),
            false,
            true,
        ),
        ("critical", _) => e(
            "bulwark-critical-efsebs",
            "cron(0 * ? * * *)",
            (60, 240),
            2555,
            Some(90),
            false,
            true,
        ),
        ("important", 0) => e(
            "bulwark-important-s3rds",
            "cron(0 0/12 ? * * *)",
            (60, 240),
            1095,
            None,
            true,
            true,
        ),
        ("important", 1) => e(
            "bulwark-important-dynamodb",
            "cron(0 0/12 ? * * *)",
            (60, 240),
            1095,
            Some(90),
            false,
            true,
        ),
        ("important", _) => e(
            "bulwark-important-efsebs",
            EVERY_4H,
            (60, 240),
            1095,
            Some(90),
            false,
            true,
        ),
        ("standard", _) => e(
            "bulwark-standard-all",
            DAILY,
            (60, 720),
            365,
            None,
            false,
            false,
        ),
        ("archival", 0) => e(
            "bulwark-archival-s3rds",
            WEEKLY,
            (60, 4320),
            3650,
            None,
            false,
            false,
        ),
        ("archival", _) => e(
            "bulwark-archival-dynamodb-efsebs",
            WEEKLY,
            (60, 4320),
            3650,
            Some(30),
            false,
            false,
        ),
        _ => unreachable!("the default has four tiers"),
    }
}

#[test]
fn every_tier_and_kind_of_the_default_renders_its_rules() {
    let config = Config::builtin();
    let state = builtin();
    let dr_vault = "arn:aws:backup:us-west-2:123456789012:backup-vault:bulwark";
    for tier in ["critical", "important", "standard", "archival"] {
        for kind in Kind::ALL {
            let want = expected(tier, kind);
            let at = format!("{tier}/{kind}");
            assert_eq!(
                plan_for(&config, tier, kind).as_deref(),
                Some(want.plan),
                "{at}"
            );
            let plan = &state.plans[want.plan];
            assert!(plan.managed, "{at}");
            let snapshot = &plan.rules[0];
            let lifecycle = Lifecycle {
                move_to_cold_storage_after_days: want.cold_after_days,
                delete_after_days: Some(want.delete_after_days),
            };
            assert_eq!(snapshot.name, SNAPSHOT_RULE, "{at}");
            assert_eq!(snapshot.target_vault, "bulwark", "{at}");
            assert_eq!(snapshot.schedule, want.schedule, "{at}");
            assert_eq!(
                (
                    snapshot.start_window_minutes,
                    snapshot.completion_window_minutes
                ),
                want.windows,
                "{at}"
            );
            assert_eq!(snapshot.lifecycle.as_ref(), Some(&lifecycle), "{at}");
            assert!(!snapshot.continuous_backup, "{at}");
            let copies: Vec<CopyAction> = if want.copy {
                vec![CopyAction {
                    destination_vault_arn: dr_vault.into(),
                    lifecycle: Some(lifecycle.clone()),
                }]
            } else {
                Vec::new()
            };
            assert_eq!(snapshot.copy_actions, copies, "{at}");
            // Critical's 2h dr_rpo: the kinds not backed up hourly already copy hourly, kept
            // 35 days in both vaults; every other tier's snapshots meet its dr_rpo.
            let short = Lifecycle {
                move_to_cold_storage_after_days: None,
                delete_after_days: Some(35),
            };
            let hourly_copies = tier == "critical" && !matches!(kind, Kind::Efs | Kind::Ebs);
            let frequent = vec![CopyAction {
                destination_vault_arn: dr_vault.into(),
                lifecycle: Some(short.clone()),
            }];
            match plan.rules.get(1) {
                Some(continuous) if want.continuous => {
                    assert_eq!(continuous.name, CONTINUOUS_RULE, "{at}");
                    assert!(continuous.continuous_backup, "{at}");
                    assert_eq!(
                        continuous.lifecycle.as_ref(),
                        Some(&short),
                        "{at}: capped at 35 days"
                    );
                    if hourly_copies {
                        assert_eq!(continuous.schedule, "cron(0 * ? * * *)", "{at}");
                        assert_eq!(continuous.copy_actions, frequent, "{at}");
                    } else {
                        assert!(continuous.copy_actions.is_empty(), "{at}");
                    }
                }
                Some(dr_copy) => {
                    assert!(hourly_copies, "{at}");
                    assert_eq!(dr_copy.name, DR_COPY_RULE, "{at}");
                    assert!(!dr_copy.continuous_backup, "{at}");
                    assert_eq!(dr_copy.schedule, "cron(0 * ? * * *)", "{at}");
                    assert_eq!(dr_copy.lifecycle.as_ref(), Some(&short), "{at}");
                    assert_eq!(dr_copy.copy_actions, frequent, "{at}");
                }
                None => assert!(!want.continuous && !hourly_copies, "{at}"),
            }
            assert!(plan.rules.len() <= 2, "{at}");
        }
    }
    assert_eq!(state.plans.len(), 9);
}

#[test]
fn each_plan_has_one_selection_on_the_tier_tag_over_its_kinds() {
    let state = builtin();
    assert_eq!(state.selections.len(), state.plans.len());
    let selection = &state.selections[&(
        "bulwark-archival-dynamodb-efsebs".to_string(),
        "bulwark-archival-dynamodb-efsebs-assets".to_string(),
    )];
    assert_eq!(
        selection.iam_role_arn,
        "arn:aws:iam::123456789012:role/service-role/AWSBackupDefaultServiceRole"
    );
    assert_eq!(
        selection.resources,
        [
            "arn:aws:dynamodb:*:*:table/*",
            "arn:aws:elasticfilesystem:*:*:file-system/*",
            "arn:aws:ec2:*:*:volume/*",
        ]
    );
    assert_eq!(
        selection.conditions,
        [TagCondition {
            key: "bulwark:tier".into(),
            value: "archival".into(),
        }]
    );
    let standard = &state.selections[&(
        "bulwark-standard-all".to_string(),
        "bulwark-standard-all-assets".to_string(),
    )];
    assert_eq!(standard.resources.len(), 6);
}

#[test]
fn vaults_are_encrypted_locked_as_their_tiers_allow_and_guarded() {
    let state = builtin();
    assert_eq!(state.vaults.len(), 2);
    let primary = &state.vaults[&(PRIMARY.to_string(), "bulwark".to_string())];
    let dr = &state.vaults[&("us-west-2".to_string(), "bulwark".to_string())];
    for vault in [primary, dr] {
        assert_eq!(vault.kms_key_alias, "alias/bulwark-backup");
        assert!(vault.managed);
        let policy: Value =
            serde_json::from_str(vault.access_policy.as_deref().expect("a policy")).expect("JSON");
        let statements = policy["Statement"].as_array().expect("statements");
        assert_eq!(statements.len(), 2);
        let admins = json!(["arn:aws:iam::123456789012:role/BulwarkBackupAdmin"]);
        let admin_only = statements
            .iter()
            .find(|s| s["Sid"] == "OnlyAdminsLoseRecoveryPoints")
            .expect("the admins' statement");
        assert_eq!(admin_only["Effect"], "Deny");
        assert_eq!(admin_only["Principal"], json!({"AWS": "*"}));
        assert_eq!(admin_only["Action"], json!(ADMIN_ONLY_VAULT_ACTIONS));
        assert_eq!(
            admin_only["Condition"]["ArnNotLike"]["aws:PrincipalArn"],
            admins
        );
        let policy_guard = statements
            .iter()
            .find(|s| s["Sid"] == "OnlyAdminsAndBulwarkChangeThisPolicy")
            .expect("the policy's own statement");
        assert_eq!(policy_guard["Action"], json!(MAINTAINER_VAULT_ACTIONS));
        assert_eq!(
            policy_guard["Condition"]["ArnNotLike"]["aws:PrincipalArn"],
            json!([
                "arn:aws:iam::123456789012:role/BulwarkBackupAdmin",
                "arn:aws:iam::123456789012:role/bulwark-*"
            ])
        );
    }
    // Every vault admits every tier: critical's 30d minimum, archival's 10y maximum, the DR
    // vault's too (only critical and important copy, but a failover lands stores there that
    // are then protected at their tiers)
    let governance = |min, max| VaultLock {
        min_retention_days: min,
        max_retention_days: Some(max),
        changeable_for_days: None,
    };
    assert_eq!(primary.lock, Some(governance(30, 3650)));
    assert_eq!(dr.lock, Some(governance(30, 3650)));
}

const GOLD: &str = "[tiers.gold]\nrpo = \"4h\"\nrto = \"4h\"\nfrequency = \"4h\"\n\
                    retention = \"1y\"\n";
const RULE: &str = "[[rules]]\nname = \"default\"\nthen = \"gold\"\n";

fn config(text: &str) -> Config {
    Config::from_toml_str("test.toml", text).expect("valid")
}

#[test]
fn a_compliance_lock_has_a_grace_period_and_no_lock_means_none() {
    let locked = config(&format!(
        "[protection]\nallow_compliance_lock = true\n{GOLD}\
         lock = {{ mode = \"compliance\", min_retention = \"7d\" }}\n{RULE}"
    ));
    let state = render(&locked, ACCOUNT, PRIMARY).expect("renders");
    assert_eq!(state.vaults.len(), 1, "no tier copies: no DR vault");
    let vault = state.vaults.values().next().expect("primary vault");
    assert_eq!(
        vault.lock,
        Some(VaultLock {
            min_retention_days: 7,
            max_retention_days: None,
            changeable_for_days: Some(COMPLIANCE_GRACE_DAYS),
        })
    );
    let unlocked = render(&config(&format!("{GOLD}{RULE}")), ACCOUNT, PRIMARY).expect("renders");
    assert!(unlocked.vaults.values().all(|v| v.lock.is_none()));
}

#[test]
fn an_explicit_cron_pins_the_frequency_schedule_only() {
    let text = format!(
        "{}continuous_backup = true\nfrequency_without_continuous = \"2h\"\n\
         cron = \"cron(30 1/4 ? * * *)\"\n{RULE}",
        GOLD
    );
    let config = config(&text);
    let state = render(&config, ACCOUNT, PRIMARY).expect("renders");
    let schedule = |kind| {
        let plan = plan_for(&config, "gold", kind).expect("plan");
        state.plans[&plan].rules[0].schedule.clone()
    };
    assert_eq!(schedule(Kind::Rds), "cron(30 1/4 ? * * *)");
    assert_eq!(schedule(Kind::Dynamodb), "cron(30 1/4 ? * * *)");
    assert_eq!(schedule(Kind::Ebs), "cron(0 0/2 ? * * *)");
}

#[test]
fn schedules_are_the_nearest_even_ones_at_least_as_frequent() {
    for (frequency, cron) in [
        ("1h", "cron(0 * ? * * *)"),
        ("90m", "cron(0 * ? * * *)"),
        ("2h", "cron(0 0/2 ? * * *)"),
        ("4h", "cron(0 0/4 ? * * *)"),
        ("5h", "cron(0 0/4 ? * * *)"),
        ("7h", "cron(0 0/6 ? * * *)"),
        ("12h", "cron(0 0/12 ? * * *)"),
        ("23h", "cron(0 0/12 ? * * *)"),
        ("24h", "cron(0 5 ? * * *)"),
        ("36h", "cron(0 5 ? * * *)"),
        ("168h", "cron(0 5 ? * SUN *)"),
        ("10d", "cron(0 5 ? * SUN *)"),
        ("31d", "cron(0 5 1 * ? *)"),
    ] {
        let frequency = Duration::parse(frequency).expect("duration");
        assert_eq!(schedule(frequency), cron, "{frequency}");
    }
}

#[test]
fn families_share_every_capability_that_decides_rules() {
    for (family, kinds) in FAMILIES {
        for kind in kinds {
            let first = kinds[0];
            assert_eq!(
                (
                    kind.supports_continuous_backup(),
                    kind.supports_cold_storage(),
                    kind.supports_native_pitr()
                ),
                (
                    first.supports_continuous_backup(),
                    first.supports_cold_storage(),
                    first.supports_native_pitr()
                ),
                "{family}: {kind}"
            );
        }
    }
    let covered: Vec<Kind> = FAMILIES.iter().flat_map(|f| f.1.iter().copied()).collect();
    assert_eq!(covered.len(), Kind::ALL.len());
    assert!(Kind::ALL.iter().all(|k| covered.contains(k)));
}

#[test]
fn the_longest_tier_name_gives_names_aws_backup_accepts() {
    let longest = "t".repeat(50 - NAME_PREFIX.len() - 1 - LONGEST_GROUP_NAME - 7);
    let text = format!(
        "{}cold_storage_after = \"30d\"\n[[rules]]\nname = \"default\"\nthen = \"{longest}\"\n",
        GOLD.replace("gold", &longest)
    );
    let state = render(&config(&text), ACCOUNT, PRIMARY).expect("renders");
    let names: Vec<&String> = state.selections.keys().map(|(_, name)| name).collect();
    assert!(names.iter().any(|n| n.len() == 50), "{names:?}");
    assert!(names.iter().all(|n| n.len() <= 50), "{names:?}");
    let too_long = text.replace(&longest, &format!("{longest}x"));
    let err = Config::from_toml_str("t.toml", &too_long).expect_err("refused");
    assert!(err.message.contains("plan and selection names"), "{err}");
}

const CENTRAL: &str = "[central_backup]\naccount = \"999988887777\"\n\
                       organization_id = \"o-abcdefghij\"\nregion = \"eu-central-1\"\n\
                       secondary_region = \"eu-west-1\"\n";

#[test]
fn a_tier_with_central_retention_copies_each_snapshot_to_both_central_vaults() {
    let loaded = config(&format!(
        "{GOLD}central_retention = \"2555d\"\n{RULE}{CENTRAL}"
    ));
    let state = render(&loaded, ACCOUNT, PRIMARY).expect("renders");
    let plan = state.plans.values().next().expect("a plan");
    let copies: Vec<(&str, Option<u64>)> = plan.rules[0]
        .copy_actions
        .iter()
        .map(|c| {
            (
                c.destination_vault_arn.as_str(),
                c.lifecycle.as_ref().and_then(|l| l.delete_after_days),
            )
        })
        .collect();
    assert_eq!(
        copies,
        [
            (
                "arn:aws:backup:eu-central-1:999988887777:backup-vault:bulwark-central",
                Some(2555)
            ),
            (
                "arn:aws:backup:eu-west-1:999988887777:backup-vault:bulwark-central",
                Some(2555)
            ),
        ]
    );
    assert!(
        !state
            .vaults
            .keys()
            .any(|(_, name)| name == "bulwark-central"),
        "a member account has no central vault"
    );
}

#[test]
fn the_central_account_gets_its_vault_open_to_the_organization_and_copies_nothing_to_itself() {
    let loaded = config(&format!(
        "{GOLD}central_retention = \"2555d\"\n{RULE}{CENTRAL}"
    ));
    let state = render(&loaded, "999988887777", "eu-central-1").expect("renders");
    let vault = state
        .vaults
        .get(&("eu-central-1".to_string(), "bulwark-central".to_string()))
        .expect("the central vault");
    let policy: Value =
        serde_json::from_str(vault.access_policy.as_deref().expect("a policy")).expect("json");
    let statements = policy["Statement"].as_array().expect("statements");
    assert_eq!(
        statements[0]["Condition"],
        json!({"StringEquals": {"aws:PrincipalOrgID": "o-abcdefghij"}})
    );
    assert_eq!(statements[0]["Action"], "backup:CopyIntoBackupVault");
    assert!(statements
        .iter()
        .any(|s| s["Sid"] == "OnlyAdminsLoseRecoveryPoints"));
    let plan = state.plans.values().next().expect("a plan");
    assert!(plan.rules[0].copy_actions.is_empty());
}
