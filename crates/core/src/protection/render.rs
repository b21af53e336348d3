//! Rendering: the AWS Backup state the configuration asks for, one plan per group of kinds
//! that need the same rules in a tier, and the names and schedules AWS Backup takes.

use crate::arn::partition_of;
use crate::config::Config;
use crate::duration::Duration;
use crate::kind::Kind;
use crate::taxonomy::{
    shared_lock, Lock, LockMode, PointInTime, Tier, COMPLIANCE_GRACE_DAYS, NAME_PREFIX,
};

use super::model::{
    BackupState, CopyAction, Lifecycle, Plan, PlanRule, Selection, TagCondition, Vault, VaultLock,
    TIER_TAG,
};
use super::policy::{access_policy, central_access_policy};

/// The rule that takes snapshots, in every plan.
pub const SNAPSHOT_RULE: &str = "snapshot";
/// The continuous-backup rule, in plans of kinds that support it in tiers that ask for it.
pub const CONTINUOUS_RULE: &str = "continuous";
/// The rule that takes the snapshots copied to the DR region often enough for a tier's
/// `dr_rpo`, in plans whose snapshots are not (kinds without continuous backup).
pub const DR_COPY_RULE: &str = "dr-copy";

/// AWS Backup's default schedule, 05:00 UTC daily. A continuous rule records continuously
/// whatever its schedule says; the schedule only starts it.
pub(super) const DAILY: &str = "cron(0 5 ? * * *)";

/// Kinds with the same capabilities (continuous backup, cold storage, native PITR) always get
/// the same rules, so a tier's plans are made of these families. Families whose rules coincide
/// in a tier share a plan, so each tier has as few plans as its rules need.
pub(super) const FAMILIES: [(&str, &[Kind]); 3] = [
    ("s3rds", &[Kind::S3, Kind::Rds, Kind::Aurora]),
    ("dynamodb", &[Kind::Dynamodb]),
    ("efsebs", &[Kind::Efs, Kind::Ebs]),
];

/// What decides a kind's rules in a tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Needs {
    frequency: Duration,
    cold_storage: bool,
    continuous: bool,
    /// How often copies must reach the DR region beyond the snapshot rule's.
    dr_copy: Option<Duration>,
}

impl Needs {
    fn of(tier: &Tier, kind: Kind) -> Self {
        Self {
            frequency: tier.snapshot_frequency(kind),
            cold_storage: tier.cold_storage_after.is_some() && kind.supports_cold_storage(),
            continuous: tier.point_in_time(kind) == Some(PointInTime::ContinuousBackup),
            dr_copy: tier.dr_copy_frequency(kind),
        }
    }
}

/// Kinds of one tier that share a plan.
#[derive(Debug)]
struct Group {
    plan_name: String,
    kinds: Vec<Kind>,
    needs: Needs,
}

fn groups(tier: &Tier) -> Vec<Group> {
    let mut merged: Vec<(Vec<&str>, Vec<Kind>, Needs)> = Vec::new();
    for (family, kinds) in FAMILIES {
        let needs = Needs::of(tier, kinds[0]);
        match merged.iter_mut().find(|(_, _, n)| *n == needs) {
            Some((families, members, _)) => {
                families.push(family);
                members.extend_from_slice(kinds);
            }
            None => merged.push((vec![family], kinds.to_vec(), needs)),
        }
    }
    merged
        .into_iter()
        .map(|(families, kinds, needs)| {
            let group = if families.len() == FAMILIES.len() {
                "all".to_string()
            } else {
                families.join("-")
            };
            Group {
                plan_name: format!("{NAME_PREFIX}{}-{group}", tier.name),
                kinds,
                needs,
            }
        })
        .collect()
}

/// The plan an asset of this tier and kind falls under; None for a tier the configuration
/// does not have.
pub fn plan_for(config: &Config, tier: &str, kind: Kind) -> Option<String> {
    groups(config.tier(tier)?)
        .into_iter()
        .find(|group| group.kinds.contains(&kind))
        .map(|group| group.plan_name)
}

/// The AWS cron schedule for a backup every `frequency`. AWS cron cannot space runs evenly
/// at every interval, so this takes the nearest even one that is at least as frequent:
/// whole hours that divide a day (1, 2, 3, 4, 6, 8, 12), else daily at 05:00 UTC (AWS
/// Backup's default time), weekly on Sunday, or monthly on the 1st (for 31 days or more).
/// A 5h frequency runs every 4h, 36h daily, 10d weekly.
pub fn schedule(frequency: Duration) -> String {
    let hours = frequency.as_minutes() / 60;
    if frequency >= Duration::from_days(31) {
        "cron(0 5 1 * ? *)".into()
    } else if frequency >= Duration::from_days(7) {
        "cron(0 5 ? * SUN *)".into()
    } else if frequency >= Duration::from_days(1) {
        DAILY.into()
    } else {
        match [12, 8, 6, 4, 3, 2].into_iter().find(|&step| step <= hours) {
            Some(step) => format!("cron(0 0/{step} ? * * *)"),
            None => "cron(0 * ? * * *)".into(),
        }
    }
}

/// The ARN pattern that selects every store of a kind.
pub fn resource_pattern(kind: Kind, partition: &str) -> String {
    let rest = match kind {
        Kind::S3 => "s3:::*",
        Kind::Rds => "rds:*:*:db:*",
        Kind::Aurora => "rds:*:*:cluster:*",
        Kind::Dynamodb => "dynamodb:*:*:table/*",
        Kind::Efs => "elasticfilesystem:*:*:file-system/*",
        Kind::Ebs => "ec2:*:*:volume/*",
    };
    format!("arn:{partition}:{rest}")
}

/// The AWS Backup state the configuration asks for in one account and region: the vault
/// there (and in its DR region if any tier copies), and per tier one plan and one selection
/// per group of kinds that need the same rules. Every vault's lock admits, from its creation,
/// the retention of every tier: any tier's stores may land in any region (a failover restores
/// its stores in the DR region, where they are then protected), and a lock is never widened
/// by what lands later (a vault's access policy lets only the admins change its lock). The
/// scopes of one account render each vault alike.
///
/// With `[organization_policies]` (central mode) the plans and selections are the
/// organization's backup policies' (`org_policy`), not the account's: none is rendered
/// (`org_policy::keep_until_covered` keeps those Bulwark made until the organization's run).
pub fn render(config: &Config, account: &str, region: &str) -> Result<BackupState, String> {
    let mut state = render_with_plans(config, account, region)?;
    if config.organization_policies().is_some() {
        state.plans.clear();
        state.selections.clear();
    }
    Ok(state)
}

/// [`render`], the plans and selections included whatever the mode: what the organization's
/// backup policies are made of, with `$account` for the account.
pub fn render_with_plans(
    config: &Config,
    account: &str,
    region: &str,
) -> Result<BackupState, String> {
    let settings = config.protection();
    let tiers = config.tiers();
    let partition = partition_of(region);
    let policy = access_policy(settings, partition, account);
    let copying = tiers.iter().any(|t| t.cross_region_copy);
    let vault = |region: &str| Vault {
        name: settings.vault_name.clone(),
        region: region.to_string(),
        kms_key_alias: settings.kms_key_alias.clone(),
        lock: shared_lock(tiers.iter()).map(vault_lock),
        access_policy: Some(policy.clone()),
        managed: true,
    };
    let mut state = BackupState::default();
    let dr_region = settings.dr_region_for(region)?;
    let mut vaults = vec![vault(region)];
    if copying {
        vaults.push(vault(&dr_region));
    }
    for vault in vaults {
        state
            .vaults
            .insert((vault.region.clone(), vault.name.clone()), vault);
    }
    if let Some(central) = config
        .central_backup()
        .filter(|c| c.account == account && c.regions().contains(&region))
    {
        let vault = Vault {
            name: central.vault_name.clone(),
            region: region.to_string(),
            kms_key_alias: settings.kms_key_alias.clone(),
            lock: None,
            access_policy: Some(central_access_policy(
                settings,
                &central.organization_id,
                partition,
                account,
            )),
            managed: true,
        };
        state
            .vaults
            .insert((vault.region.clone(), vault.name.clone()), vault);
    }
    let dr_vault_arn = settings.vault_arn(&dr_region, account);
    let role = settings.backup_role_arn(partition, account);
    for tier in tiers {
        for group in groups(tier) {
            let selection = Selection {
                name: format!("{}-assets", group.plan_name),
                plan_name: group.plan_name.clone(),
                iam_role_arn: role.clone(),
                resources: group
                    .kinds
                    .iter()
                    .map(|&kind| resource_pattern(kind, partition))
                    .collect(),
                conditions: vec![TagCondition {
                    key: TIER_TAG.to_string(),
                    value: tier.name.clone(),
                }],
            };
            let central_vaults: Vec<String> =
                match (config.central_backup(), tier.central_retention) {
                    (Some(central), Some(_)) if central.account != account => central
                        .regions()
                        .iter()
                        .map(|region| central.vault_arn(region))
                        .collect(),
                    _ => Vec::new(),
                };
            let plan = plan(
                tier,
                &group,
                &settings.vault_name,
                &dr_vault_arn,
                &central_vaults,
            );
            state.selections.insert(
                (selection.plan_name.clone(), selection.name.clone()),
                selection,
            );
            state.plans.insert(plan.name.clone(), plan);
        }
    }
    Ok(state)
}

/// A tier's plan for one group of kinds. `central_vaults`: the central backup account's
/// vaults each snapshot is copied to as well, kept `central_retention`.
fn plan(
    tier: &Tier,
    group: &Group,
    vault_name: &str,
    dr_vault_arn: &str,
    central_vaults: &[String],
) -> Plan {
    // The configuration refuses retention and cold storage that are not whole days.
    let lifecycle = Lifecycle {
        move_to_cold_storage_after_days: tier
            .cold_storage_after
            .filter(|_| group.needs.cold_storage)
            .and_then(Duration::whole_days),
        delete_after_days: tier.retention.whole_days(),
    };
    let mut copy_actions = if tier.cross_region_copy {
        vec![CopyAction {
            destination_vault_arn: dr_vault_arn.to_string(),
            lifecycle: Some(lifecycle.clone()),
        }]
    } else {
        Vec::new()
    };
    if let Some(keep) = tier.central_retention {
        copy_actions.extend(central_vaults.iter().map(|vault| CopyAction {
            destination_vault_arn: vault.clone(),
            lifecycle: Some(Lifecycle {
                move_to_cold_storage_after_days: None,
                delete_after_days: keep.whole_days(),
            }),
        }));
    }
    // An explicit cron pins the `frequency` schedule; a faster frequency_without_continuous
    // has no cron of its own.
    let snapshot_schedule = match &tier.cron {
        Some(cron) if group.needs.frequency == tier.frequency => cron.clone(),
        _ => schedule(group.needs.frequency),
    };
    let snapshot = PlanRule {
        name: SNAPSHOT_RULE.to_string(),
        target_vault: vault_name.to_string(),
        schedule: snapshot_schedule,
        start_window_minutes: tier.start_window.as_minutes(),
        completion_window_minutes: tier.completion_window.as_minutes(),
        lifecycle: Some(lifecycle),
        continuous_backup: false,
        copy_actions,
    };
    let mut rules = vec![snapshot];
    // The copies a tier's dr_rpo needs beyond the snapshot rule's, kept as long as continuous
    // backups are (no cold storage: they are short-lived).
    let frequent = Lifecycle {
        move_to_cold_storage_after_days: None,
        delete_after_days: tier.dr_copy_retention().whole_days(),
    };
    let frequent_copies = |cadence: Duration| {
        (
            schedule(cadence),
            vec![CopyAction {
                destination_vault_arn: dr_vault_arn.to_string(),
                lifecycle: Some(frequent.clone()),
            }],
        )
    };
    if group.needs.continuous {
        // No cold storage (continuous recovery points cannot move). Without a dr_rpo, no copy:
        // the snapshot rule's recovery points are the ones copied to the DR region. With one
        // the snapshots cannot meet, the rule copies on its schedule (AWS Backup copies a
        // continuous backup as a snapshot, at the rule's frequency).
        let (schedule, copy_actions) = group
            .needs
            .dr_copy
            .map_or((DAILY.to_string(), Vec::new()), frequent_copies);
        rules.push(PlanRule {
            name: CONTINUOUS_RULE.to_string(),
            schedule,
            lifecycle: Some(Lifecycle {
                move_to_cold_storage_after_days: None,
                delete_after_days: tier.continuous_retention().whole_days(),
            }),
            continuous_backup: true,
            copy_actions,
            ..rules[0].clone()
        });
    } else if let Some(cadence) = group.needs.dr_copy {
        let (schedule, copy_actions) = frequent_copies(cadence);
        rules.push(PlanRule {
            name: DR_COPY_RULE.to_string(),
            schedule,
            lifecycle: Some(frequent.clone()),
            continuous_backup: false,
            copy_actions,
            ..rules[0].clone()
        });
    }
    Plan {
        name: group.plan_name.clone(),
        rules,
        managed: true,
    }
}

pub(super) fn vault_lock(lock: Lock) -> VaultLock {
    VaultLock {
        min_retention_days: lock.min_retention.whole_days().unwrap_or(0),
        max_retention_days: lock.max_retention.and_then(Duration::whole_days),
        changeable_for_days: (lock.mode == LockMode::Compliance).then_some(COMPLIANCE_GRACE_DAYS),
    }
}
