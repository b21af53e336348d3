//! The AWS Backup state Bulwark wants, as plain data: vaults, plans, selections, and the tag
//! that puts each asset under its tier's plan. `render` derives it from the taxonomy; `diff`
//! compares it with what exists; `apply` is the model of what the actions do, so that
//! `apply(actual, diff(actual, desired))` equals `desired` on what Bulwark manages.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::arn::partition_of;
use crate::asset::{Asset, AssetState};
use crate::config::Config;
use crate::duration::Duration;
use crate::kind::Kind;
use crate::taxonomy::{shared_lock, Lock, LockMode, PointInTime, Tier};

/// The tag Bulwark writes on every backup-required asset; selections match on it.
pub const TIER_TAG: &str = "bulwark:tier";
/// The tag on every vault and plan Bulwark created: what it did not create it never deletes.
pub const MANAGED_TAG: &str = "bulwark:managed";

/// A vault lock. `changeable_for_days` is set only for compliance mode: after that grace
/// period the lock can never be removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VaultLock {
    pub min_retention_days: u64,
    pub max_retention_days: Option<u64>,
    pub changeable_for_days: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vault {
    pub name: String,
    pub region: String,
    /// The KMS key alias (alias/…) the vault encrypts with: customer-managed.
    pub kms_key_alias: String,
    pub lock: Option<VaultLock>,
    /// The vault access policy document (JSON), normalised.
    pub access_policy: Option<String>,
    pub managed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    pub move_to_cold_storage_after_days: Option<u64>,
    pub delete_after_days: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyAction {
    /// arn:aws:backup:<dr-region>:<account>:backup-vault:<name>
    pub destination_vault_arn: String,
    pub lifecycle: Option<Lifecycle>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanRule {
    pub name: String,
    pub target_vault: String,
    /// AWS cron syntax: cron(Minutes Hours Day-of-month Month Day-of-week Year).
    pub schedule: String,
    pub start_window_minutes: u64,
    pub completion_window_minutes: u64,
    pub lifecycle: Option<Lifecycle>,
    pub continuous_backup: bool,
    pub copy_actions: Vec<CopyAction>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub name: String,
    pub rules: Vec<PlanRule>,
    pub managed: bool,
}

/// A StringEquals condition on a resource tag: AND semantics across conditions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TagCondition {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    pub name: String,
    pub plan_name: String,
    pub iam_role_arn: String,
    /// ARN patterns of the kinds this plan covers (OR), e.g. arn:aws:rds:*:*:db:*.
    pub resources: Vec<String>,
    pub conditions: Vec<TagCondition>,
}

/// The AWS Backup state of one account in its primary region (and the DR vault).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupState {
    /// By (region, vault name).
    pub vaults: BTreeMap<(String, String), Vault>,
    /// By plan name.
    pub plans: BTreeMap<String, Plan>,
    /// By (plan name, selection name).
    pub selections: BTreeMap<(String, String), Selection>,
}

/// One change to AWS Backup's state: one mutating call each. Selections cannot be updated in
/// place: a changed one is deleted and created again. `diff` emits `CreateVault` without lock
/// or access policy (CreateBackupVault sets neither) and follows it with `PutVaultLock` and
/// `PutVaultAccessPolicy` as needed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    CreateVault(Vault),
    PutVaultLock {
        region: String,
        vault: String,
        lock: VaultLock,
    },
    PutVaultAccessPolicy {
        region: String,
        vault: String,
        policy: String,
    },
    CreatePlan(Plan),
    UpdatePlan(Plan),
    CreateSelection(Selection),
    DeleteSelection {
        plan_name: String,
        name: String,
    },
}

/// The tag value an asset should carry, where it differs from what it carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagChange {
    pub arn: String,
    /// Where to call the Tagging API: the asset's region.
    pub region: String,
    /// The tier to write as `bulwark:tier`; None removes the tag.
    pub tier: Option<String>,
}

/// A native protection a tier demands and the asset lacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum NativeAction {
    /// DynamoDB point-in-time recovery.
    EnablePitr {
        arn: String,
        region: String,
        table: String,
    },
    /// S3 versioning (continuous backup of S3 needs it, and it guards against overwrites).
    EnableVersioning {
        arn: String,
        region: String,
        bucket: String,
    },
    /// RDS instance or Aurora cluster automated-backup retention, raised from `from_days` to
    /// `days`, now or at the next maintenance window (`[protection] rds_apply_immediately`).
    SetBackupRetention {
        arn: String,
        region: String,
        id: String,
        cluster: bool,
        from_days: i32,
        days: u32,
        immediately: bool,
    },
}

impl NativeAction {
    /// What a reader of the plan must know before applying it: a change that cannot be undone
    /// or that causes an outage. None for the others.
    pub fn caution(&self) -> Option<String> {
        match self {
            NativeAction::EnablePitr { .. } => None,
            NativeAction::EnableVersioning { bucket, .. } => Some(format!(
                "bucket {bucket}: versioning cannot be turned off again, only suspended, and \
                 every overwrite then keeps the old version (storage costs grow)"
            )),
            NativeAction::SetBackupRetention {
                id,
                from_days: 0,
                immediately,
                ..
            } => Some(if *immediately {
                format!(
                    "{id}: turning on automated backups applies now and restarts the database \
                     (an outage)"
                )
            } else {
                format!(
                    "{id}: turning on automated backups waits for the next maintenance window, \
                     when the database restarts (pending until then)"
                )
            }),
            NativeAction::SetBackupRetention { .. } => None,
        }
    }
}

/// What native protections an asset has now, as read from AWS (None: not read / not applicable).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NativeState {
    pub pitr_enabled: Option<bool>,
    pub versioning_enabled: Option<bool>,
    /// The retention in force, or the one pending for the maintenance window when a change
    /// is: a pending change is not asked for again.
    pub backup_retention_days: Option<i32>,
}

/// Where Bulwark keeps recovery points and who may delete them: the `[protection]` section of
/// the configuration file (docs/configuration.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProtectionSettings {
    /// The vault's name, the same in the primary and the DR region.
    pub vault_name: String,
    /// Where tiers with `cross_region_copy` copy the recovery points of every region but this
    /// one (whose own DR region comes from `dr_regions` or the default pairs).
    pub dr_region: String,
    /// Explicit pairs, source region to DR region: they win over `dr_region`.
    pub dr_regions: BTreeMap<String, String>,
    /// The customer-managed KMS key both vaults encrypt with; the alias must exist in both.
    pub kms_key_alias: String,
    /// The role AWS Backup assumes to back up the selected assets, path included.
    pub backup_role_name: String,
    /// The only roles the vault access policy lets delete recovery points, shorten their
    /// lifecycle, delete the vault or change its lock, paths included.
    pub admin_role_names: Vec<String>,
    /// The roles Bulwark runs as (a trailing `*` allowed): with the admins, the only ones that
    /// may replace or delete the vault access policy Bulwark maintains.
    pub maintainer_role_names: Vec<String>,
    /// Whether a tier may ask for a compliance-mode lock, which cannot be undone.
    pub allow_compliance_lock: bool,
    /// Whether RDS backup retention changes apply at once (turning automated backups on then
    /// restarts the database) or at the next maintenance window.
    pub rds_apply_immediately: bool,
}

impl Default for ProtectionSettings {
    /// The documented defaults, also spelt out in default-config.toml.
    fn default() -> Self {
        Self {
            vault_name: "bulwark".into(),
            dr_region: "us-west-2".into(),
            dr_regions: BTreeMap::new(),
            kms_key_alias: "alias/bulwark-backup".into(),
            backup_role_name: "service-role/AWSBackupDefaultServiceRole".into(),
            admin_role_names: vec!["BulwarkBackupAdmin".into()],
            maintainer_role_names: vec!["bulwark-*".into()],
            allow_compliance_lock: false,
            rds_apply_immediately: false,
        }
    }
}

impl ProtectionSettings {
    pub fn backup_role_arn(&self, partition: &str, account: &str) -> String {
        role_arn(partition, account, &self.backup_role_name)
    }

    pub fn admin_role_arns(&self, partition: &str, account: &str) -> Vec<String> {
        self.admin_role_names
            .iter()
            .map(|name| role_arn(partition, account, name))
            .collect()
    }

    pub fn maintainer_role_arns(&self, partition: &str, account: &str) -> Vec<String> {
        self.maintainer_role_names
            .iter()
            .map(|name| role_arn(partition, account, name))
            .collect()
    }

    pub fn vault_arn(&self, region: &str, account: &str) -> String {
        format!(
            "arn:{}:backup:{region}:{account}:backup-vault:{}",
            partition_of(region),
            self.vault_name
        )
    }

    /// The DR region of a source region: its explicit pair, else `dr_region` unless that is
    /// the source itself, else the default pair. A region is never its own DR region: copies
    /// would go back into the vault they came from.
    pub fn dr_region_for(&self, source: &str) -> Result<String, String> {
        let chosen = self
            .dr_regions
            .get(source)
            .cloned()
            .or_else(|| (self.dr_region != source).then(|| self.dr_region.clone()))
            .or_else(|| default_dr_region(source).map(str::to_string))
            .ok_or_else(|| {
                format!(
                    "no DR region for {source}: it is dr_region and has no default pair; name                      one in [protection.dr_regions]"
                )
            })?;
        if chosen == source {
            return Err(format!("{source} cannot be its own DR region"));
        }
        Ok(chosen)
    }
}

/// Default DR pairs for a source region that `dr_region` cannot serve (it is that region):
/// a region of the same country or bloc, so that data stays where its residency allows.
const DEFAULT_DR_PAIRS: &[(&str, &str)] = &[
    ("us-east-1", "us-west-2"),
    ("us-east-2", "us-west-2"),
    ("us-west-1", "us-east-1"),
    ("us-west-2", "us-east-1"),
    ("ca-central-1", "ca-west-1"),
    ("ca-west-1", "ca-central-1"),
    ("eu-west-1", "eu-central-1"),
    ("eu-west-2", "eu-west-1"),
    ("eu-west-3", "eu-central-1"),
    ("eu-central-1", "eu-west-1"),
    ("eu-central-2", "eu-central-1"),
    ("eu-north-1", "eu-west-1"),
    ("eu-south-1", "eu-central-1"),
    ("eu-south-2", "eu-west-3"),
    ("ap-northeast-1", "ap-northeast-3"),
    ("ap-northeast-3", "ap-northeast-1"),
    ("ap-northeast-2", "ap-northeast-1"),
    ("ap-southeast-1", "ap-southeast-2"),
    ("ap-southeast-2", "ap-southeast-4"),
    ("ap-southeast-4", "ap-southeast-2"),
    ("ap-south-1", "ap-south-2"),
    ("ap-south-2", "ap-south-1"),
    ("cn-north-1", "cn-northwest-1"),
    ("cn-northwest-1", "cn-north-1"),
    ("us-gov-west-1", "us-gov-east-1"),
    ("us-gov-east-1", "us-gov-west-1"),
];

/// The default DR region of `source`, if the table has one.
pub fn default_dr_region(source: &str) -> Option<&'static str> {
    DEFAULT_DR_PAIRS
        .iter()
        .find(|(from, _)| *from == source)
        .map(|(_, to)| *to)
}

fn role_arn(partition: &str, account: &str, name: &str) -> String {
    format!("arn:{partition}:iam::{account}:role/{name}")
}

/// The grace period of a compliance lock: the least AWS Backup accepts. Until it passes the
/// lock can still be removed; afterwards, by no one.
pub const COMPLIANCE_GRACE_DAYS: u64 = 3;
/// The rule that takes snapshots, in every plan.
pub const SNAPSHOT_RULE: &str = "snapshot";
/// The continuous-backup rule, in plans of kinds that support it in tiers that ask for it.
pub const CONTINUOUS_RULE: &str = "continuous";
/// What every plan and selection name starts with.
pub const NAME_PREFIX: &str = "bulwark-";
/// The longest group name `render` gives a plan ("dynamodb-efsebs"): with the prefix and the
/// selection's "-assets" it bounds the tier name, since AWS Backup allows 50 characters.
pub(crate) const LONGEST_GROUP_NAME: usize = 15;

/// AWS Backup's default schedule, 05:00 UTC daily. A continuous rule records continuously
/// whatever its schedule says; the schedule only starts it.
const DAILY: &str = "cron(0 5 ? * * *)";

/// Kinds with the same capabilities (continuous backup, cold storage, native PITR) always get
/// the same rules, so a tier's plans are made of these families. Families whose rules coincide
/// in a tier share a plan, so each tier has as few plans as its rules need.
const FAMILIES: [(&str, &[Kind]); 3] = [
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
}

impl Needs {
    fn of(tier: &Tier, kind: Kind) -> Self {
        Self {
            frequency: tier.snapshot_frequency(kind),
            cold_storage: tier.cold_storage_after.is_some() && kind.supports_cold_storage(),
            continuous: tier.point_in_time(kind) == Some(PointInTime::ContinuousBackup),
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
/// per group of kinds that need the same rules. `account_regions` are the regions where the
/// account has assets: a vault's lock covers every tier that writes to it, as primary (every
/// tier, in a region with assets) or as DR (the tiers that copy), so that the scopes of one
/// account render each vault alike.
pub fn render(
    config: &Config,
    account: &str,
    region: &str,
    account_regions: &[&str],
) -> Result<BackupState, String> {
    let settings = config.protection();
    let tiers = config.tiers();
    let partition = partition_of(region);
    let policy = access_policy(settings, partition, account);
    let all: Vec<&Tier> = tiers.iter().collect();
    let copying: Vec<&Tier> = tiers.iter().filter(|t| t.cross_region_copy).collect();
    let vault = |region: &str| {
        let users = if region_hosts_assets(region, account_regions) {
            &all
        } else {
            &copying
        };
        Vault {
            name: settings.vault_name.clone(),
            region: region.to_string(),
            kms_key_alias: settings.kms_key_alias.clone(),
            lock: shared_lock(users.iter().copied()).map(vault_lock),
            access_policy: Some(policy.clone()),
            managed: true,
        }
    };
    let mut state = BackupState::default();
    let dr_region = settings.dr_region_for(region)?;
    let mut vaults = vec![vault(region)];
    if !copying.is_empty() {
        vaults.push(vault(&dr_region));
    }
    for vault in vaults {
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
            let plan = plan(tier, &group, &settings.vault_name, &dr_vault_arn);
            state.selections.insert(
                (selection.plan_name.clone(), selection.name.clone()),
                selection,
            );
            state.plans.insert(plan.name.clone(), plan);
        }
    }
    Ok(state)
}

fn region_hosts_assets(region: &str, account_regions: &[&str]) -> bool {
    account_regions.contains(&region)
}

fn plan(tier: &Tier, group: &Group, vault_name: &str, dr_vault_arn: &str) -> Plan {
    // The configuration refuses retention and cold storage that are not whole days.
    let lifecycle = Lifecycle {
        move_to_cold_storage_after_days: tier
            .cold_storage_after
            .filter(|_| group.needs.cold_storage)
            .and_then(Duration::whole_days),
        delete_after_days: tier.retention.whole_days(),
    };
    let copy_actions = if tier.cross_region_copy {
        vec![CopyAction {
            destination_vault_arn: dr_vault_arn.to_string(),
            lifecycle: Some(lifecycle.clone()),
        }]
    } else {
        Vec::new()
    };
    // An explicit cron pins the `frequency` schedule; a faster frequency_without_continuous
    // has no cron of its own.
    let schedule = match &tier.cron {
        Some(cron) if group.needs.frequency == tier.frequency => cron.clone(),
        _ => schedule(group.needs.frequency),
    };
    let snapshot = PlanRule {
        name: SNAPSHOT_RULE.to_string(),
        target_vault: vault_name.to_string(),
        schedule,
        start_window_minutes: tier.start_window.as_minutes(),
        completion_window_minutes: tier.completion_window.as_minutes(),
        lifecycle: Some(lifecycle),
        continuous_backup: false,
        copy_actions,
    };
    let mut rules = vec![snapshot];
    if group.needs.continuous {
        // No cold storage (continuous recovery points cannot move) and no copy: the snapshot
        // rule's recovery points are the ones copied to the DR region.
        rules.push(PlanRule {
            name: CONTINUOUS_RULE.to_string(),
            schedule: DAILY.to_string(),
            lifecycle: Some(Lifecycle {
                move_to_cold_storage_after_days: None,
                delete_after_days: tier.continuous_retention().whole_days(),
            }),
            continuous_backup: true,
            copy_actions: Vec::new(),
            ..rules[0].clone()
        });
    }
    Plan {
        name: group.plan_name.clone(),
        rules,
        managed: true,
    }
}

fn vault_lock(lock: Lock) -> VaultLock {
    VaultLock {
        min_retention_days: lock.min_retention.whole_days().unwrap_or(0),
        max_retention_days: lock.max_retention.and_then(Duration::whole_days),
        changeable_for_days: (lock.mode == LockMode::Compliance).then_some(COMPLIANCE_GRACE_DAYS),
    }
}

/// What only the admin roles may do to a vault and its recovery points, whatever their IAM
/// policies allow: what would lose or expose recovery points for good.
pub const ADMIN_ONLY_VAULT_ACTIONS: &[&str] = &[
    "backup:DeleteRecoveryPoint",
    "backup:UpdateRecoveryPointLifecycle",
    "backup:DeleteBackupVault",
    "backup:DeleteBackupVaultLockConfiguration",
    "backup:PutBackupVaultLockConfiguration",
];
/// What the admin roles and Bulwark (which maintains it) may do to the vault access policy.
pub const MAINTAINER_VAULT_ACTIONS: &[&str] = &[
    "backup:PutBackupVaultAccessPolicy",
    "backup:DeleteBackupVaultAccessPolicy",
];

/// The vault access policy, a guard that holds whatever IAM allows: no one but the admin
/// roles deletes or shortens recovery points, deletes the vault or changes its lock; no one
/// but the admins and Bulwark's own roles replaces or deletes this policy.
pub fn access_policy(settings: &ProtectionSettings, partition: &str, account: &str) -> String {
    let admins = settings.admin_role_arns(partition, account);
    let maintainers: Vec<String> = admins
        .iter()
        .cloned()
        .chain(settings.maintainer_role_arns(partition, account))
        .collect();
    let deny = |sid: &str, actions: &[&str], except: &[String]| {
        json!({
            "Sid": sid,
            "Effect": "Deny",
            "Principal": { "AWS": "*" },
            "Action": actions,
            "Resource": "*",
            "Condition": { "ArnNotLike": { "aws:PrincipalArn": except } }
        })
    };
    canonical_json(&json!({
        "Version": "2012-10-17",
        "Statement": [
            deny("OnlyAdminsLoseRecoveryPoints", ADMIN_ONLY_VAULT_ACTIONS, &admins),
            deny("OnlyAdminsAndBulwarkChangeThisPolicy", MAINTAINER_VAULT_ACTIONS, &maintainers),
        ]
    }))
}

/// What only the admin roles may do to a vault key: without the key, its vault's recovery
/// points cannot be read, so destroying or disabling it destroys them.
pub const ADMIN_ONLY_KEY_ACTIONS: &[&str] = &[
    "kms:ScheduleKeyDeletion",
    "kms:DisableKey",
    "kms:PutKeyPolicy",
];

/// The vault key's own policy, given when Bulwark creates the key: the account administers it
/// through IAM (the key policy AWS would default to), and no one but the admin roles may
/// schedule its deletion, disable it or replace this policy.
pub fn vault_key_policy(settings: &ProtectionSettings, partition: &str, account: &str) -> String {
    canonical_json(&json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountAdministersThroughIam",
                "Effect": "Allow",
                "Principal": { "AWS": format!("arn:{partition}:iam::{account}:root") },
                "Action": "kms:*",
                "Resource": "*"
            },
            {
                "Sid": "OnlyAdminsDestroyTheKey",
                "Effect": "Deny",
                "Principal": { "AWS": "*" },
                "Action": ADMIN_ONLY_KEY_ACTIONS,
                "Resource": "*",
                "Condition": {
                    "ArnNotLike": { "aws:PrincipalArn": settings.admin_role_arns(partition, account) }
                }
            }
        ]
    }))
}

/// A policy document as `render` writes it (keys sorted, no whitespace), so that a policy
/// read back from AWS compares equal to the rendered one when it says the same.
pub fn normalize_policy(text: &str) -> Result<String, serde_json::Error> {
    Ok(canonical_json(&serde_json::from_str(text)?))
}

/// Sorted keys whatever serde_json's map type is (its preserve_order feature may be on
/// somewhere in the dependency graph).
fn canonical_json(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let entries: BTreeMap<&String, String> =
                map.iter().map(|(k, v)| (k, canonical_json(v))).collect();
            let body: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{}:{v}", Value::String(k.clone())))
                .collect();
            format!("{{{}}}", body.join(","))
        }
        Value::Array(items) => {
            let body: Vec<String> = items.iter().map(canonical_json).collect();
            format!("[{}]", body.join(","))
        }
        scalar => scalar.to_string(),
    }
}

/// Whether a selection picks a store, as AWS Backup decides: the ARN matches one of the
/// resource patterns ('*' matches any run of characters, ':' and '/' included) and the store
/// carries every condition's tag with exactly that value (keys and values case-sensitive).
pub fn selection_matches(
    selection: &Selection,
    arn: &str,
    tags: &BTreeMap<String, String>,
) -> bool {
    selection
        .resources
        .iter()
        .any(|pattern| wildcard_match(pattern, arn))
        && selection
            .conditions
            .iter()
            .all(|c| tags.get(&c.key) == Some(&c.value))
}

pub(crate) fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    // The last '*' seen and where in the text it started matching: on a mismatch it takes
    // one more character.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if p.get(pi) == Some(&b'*') {
            star = Some((pi, ti));
            pi += 1;
        } else if p.get(pi) == Some(&t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((star_pi, star_ti)) = star {
            pi = star_pi + 1;
            ti = star_ti + 1;
            star = Some((star_pi, star_ti + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// The actions that take `actual` to `desired` on what Bulwark manages, in an order they can
/// be applied in: vaults, then plans, then selection deletions, then selection creations.
///
/// - A vault, plan or selection `desired` has and `actual` lacks is created.
/// - A managed plan whose rules differ (in any order) is updated; a managed vault gets the
///   desired lock and access policy where they differ.
/// - Selections under managed plans (and plans about to be created) are made equal to the
///   desired ones: a differing one is deleted and created again, one not desired is deleted.
/// - Nothing with `managed = false` is touched, nor are selections under such plans; plans
///   and vaults are never deleted, a lock is never lifted and a vault's key never changes:
///   [`unreconciled`] reports what this leaves different.
pub fn diff(actual: &BackupState, desired: &BackupState) -> Vec<Action> {
    let mut vaults = Vec::new();
    for (key, want) in &desired.vaults {
        let have = match actual.vaults.get(key) {
            None => {
                vaults.push(Action::CreateVault(Vault {
                    lock: None,
                    access_policy: None,
                    ..want.clone()
                }));
                None
            }
            Some(have) if have.managed => Some(have),
            Some(_) => continue,
        };
        let (region, vault) = key.clone();
        if let Some(lock) = want
            .lock
            .as_ref()
            .filter(|l| have.and_then(|h| h.lock.as_ref()) != Some(l))
        {
            vaults.push(Action::PutVaultLock {
                region: region.clone(),
                vault: vault.clone(),
                lock: lock.clone(),
            });
        }
        if let Some(policy) = want
            .access_policy
            .as_ref()
            .filter(|p| have.and_then(|h| h.access_policy.as_ref()) != Some(p))
        {
            vaults.push(Action::PutVaultAccessPolicy {
                region,
                vault,
                policy: policy.clone(),
            });
        }
    }

    let mut plans = Vec::new();
    for (name, want) in &desired.plans {
        match actual.plans.get(name) {
            None => plans.push(Action::CreatePlan(want.clone())),
            Some(have) if have.managed && !same_rules(&have.rules, &want.rules) => {
                plans.push(Action::UpdatePlan(want.clone()));
            }
            Some(_) => {}
        }
    }

    let managed = |plan: &str| actual.plans.get(plan).is_some_and(|p| p.managed);
    let ours = |plan: &str| {
        managed(plan) || (!actual.plans.contains_key(plan) && desired.plans.contains_key(plan))
    };
    let deletions = actual
        .selections
        .iter()
        .filter(|(key, have)| managed(&key.0) && desired.selections.get(*key) != Some(have))
        .map(|((plan_name, name), _)| Action::DeleteSelection {
            plan_name: plan_name.clone(),
            name: name.clone(),
        });
    let creations = desired
        .selections
        .iter()
        .filter(|(key, want)| ours(&key.0) && actual.selections.get(key) != Some(want))
        .map(|(_, want)| Action::CreateSelection(want.clone()));

    vaults
        .into_iter()
        .chain(plans)
        .chain(deletions)
        .chain(creations)
        .collect()
}

fn same_rules(a: &[PlanRule], b: &[PlanRule]) -> bool {
    let sorted = |rules: &[PlanRule]| {
        let mut rules: Vec<PlanRule> = rules.to_vec();
        rules.sort_by(|x, y| x.name.cmp(&y.name));
        rules
    };
    a.len() == b.len() && sorted(a) == sorted(b)
}

/// What `diff` leaves different between `actual` and `desired`, and why: each needs a human.
pub fn unreconciled(actual: &BackupState, desired: &BackupState) -> Vec<String> {
    let mut found = Vec::new();
    for (key, want) in &desired.vaults {
        let Some(have) = actual.vaults.get(key) else {
            continue;
        };
        let vault = format!("vault {} in {}", want.name, want.region);
        if !have.managed {
            found.push(format!(
                "{vault} was not created by Bulwark: its lock and access policy are left as they are"
            ));
            continue;
        }
        if have.kms_key_alias != want.kms_key_alias {
            found.push(format!(
                "{vault} encrypts with {}, the configuration asks {}: a vault's key cannot change; \
                 set another vault_name to start a new vault",
                have.kms_key_alias, want.kms_key_alias
            ));
        }
        if have.lock.is_some() && want.lock.is_none() {
            found.push(format!(
                "{vault} is locked and no tier asks for a lock: Bulwark never lifts a lock"
            ));
        }
    }
    for (name, want) in &desired.plans {
        if actual.plans.get(name).is_some_and(|p| !p.managed)
            && actual.plans.get(name) != Some(want)
        {
            found.push(format!(
                "plan {name} was not created by Bulwark: it is left alone, and the assets its \
                 selection would pick are not selected by Bulwark"
            ));
        }
    }
    found
}

/// The model of what the actions do to AWS Backup's state. A lock or policy put on a vault
/// that does not exist changes nothing here (AWS Backup would refuse it).
pub fn apply(state: &BackupState, actions: &[Action]) -> BackupState {
    let mut next = state.clone();
    for action in actions {
        match action {
            Action::CreateVault(vault) => {
                next.vaults
                    .insert((vault.region.clone(), vault.name.clone()), vault.clone());
            }
            Action::PutVaultLock {
                region,
                vault,
                lock,
            } => {
                if let Some(v) = next.vaults.get_mut(&(region.clone(), vault.clone())) {
                    v.lock = Some(lock.clone());
                }
            }
            Action::PutVaultAccessPolicy {
                region,
                vault,
                policy,
            } => {
                if let Some(v) = next.vaults.get_mut(&(region.clone(), vault.clone())) {
                    v.access_policy = Some(policy.clone());
                }
            }
            Action::CreatePlan(plan) | Action::UpdatePlan(plan) => {
                next.plans.insert(plan.name.clone(), plan.clone());
            }
            Action::CreateSelection(selection) => {
                next.selections.insert(
                    (selection.plan_name.clone(), selection.name.clone()),
                    selection.clone(),
                );
            }
            Action::DeleteSelection { plan_name, name } => {
                next.selections.remove(&(plan_name.clone(), name.clone()));
            }
        }
    }
    next
}

/// The tier an asset is backed up in: a present asset whose classification requires backup
/// in a tier the configuration has. A classification naming a tier the configuration no
/// longer has is stale: nothing is decided for it until it is classified again.
pub fn backed_up_tier<'a>(config: &'a Config, asset: &Asset) -> Option<&'a Tier> {
    let classification = asset.classification.as_ref()?;
    if asset.state != AssetState::Present || !classification.backup_required {
        return None;
    }
    config.tier(classification.tier.as_deref()?)
}

/// The `bulwark:tier` tags to write or remove so that each present, classified asset is picked
/// by its tier's selection and by no other: backed-up assets carry their tier, the others no
/// tag. Only where the asset's tags (key compared exactly) differ. Gone, unclassified and
/// stale-classified assets are left as they are.
pub fn tag_changes(config: &Config, assets: &[Asset]) -> Vec<TagChange> {
    assets
        .iter()
        .filter(|asset| asset.state == AssetState::Present)
        .filter_map(|asset| {
            let classification = asset.classification.as_ref()?;
            let wanted = match &classification.tier {
                Some(tier) if classification.backup_required => {
                    Some(config.tier(tier)?.name.clone())
                }
                _ => None,
            };
            (asset.tags.get(TIER_TAG) != wanted.as_ref()).then(|| TagChange {
                arn: asset.arn.to_string(),
                region: asset.region.to_string(),
                tier: wanted,
            })
        })
        .collect()
}

/// The automated-backup retention, in days, an RDS instance or Aurora cluster of this tier
/// keeps at least. With point-in-time recovery, a week of the database's own point-in-time
/// restore, independent of AWS Backup (a new asset has it before its first backup job);
/// otherwise 1 day, which keeps automated backups on (0 turns them off on RDS).
pub fn native_retention_days(tier: &Tier, kind: Kind) -> u32 {
    if tier.point_in_time(kind).is_some() {
        7
    } else {
        1
    }
}

/// The native protections a backed-up asset lacks:
/// - DynamoDB: PITR, when its tier's point-in-time mechanism for DynamoDB is native PITR
///   (the tier has `continuous_backup`). A tier without it gets none, as `rpo_feasibility`
///   reports: the configuration, not this function, decides the RPO's means.
/// - S3: versioning, for every backed-up bucket: AWS Backup backs up no bucket without it.
/// - RDS and Aurora: automated-backup retention raised to [`native_retention_days`].
///
/// A field of `state` that is None (not read) emits nothing for it. Nothing is ever switched
/// off, and assets that are gone or not backed up get nothing.
pub fn native_actions(config: &Config, asset: &Asset, state: &NativeState) -> Vec<NativeAction> {
    let Some(tier) = backed_up_tier(config, asset) else {
        return Vec::new();
    };
    let arn = asset.arn.to_string();
    let region = asset.region.to_string();
    let action = match asset.kind {
        Kind::Dynamodb
            if tier.point_in_time(Kind::Dynamodb) == Some(PointInTime::NativePitr)
                && state.pitr_enabled == Some(false) =>
        {
            Some(NativeAction::EnablePitr {
                arn,
                region,
                table: asset.name.clone(),
            })
        }
        Kind::S3 if state.versioning_enabled == Some(false) => {
            Some(NativeAction::EnableVersioning {
                arn,
                region,
                bucket: asset.name.clone(),
            })
        }
        Kind::Rds | Kind::Aurora => {
            let days = native_retention_days(tier, asset.kind);
            state
                .backup_retention_days
                .filter(|&current| i64::from(current) < i64::from(days))
                .map(|current| NativeAction::SetBackupRetention {
                    arn,
                    region,
                    id: asset.name.clone(),
                    cluster: asset.kind == Kind::Aurora,
                    from_days: current,
                    days,
                    immediately: config.protection().rds_apply_immediately,
                })
        }
        _ => None,
    };
    action.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::arn::{AccountId, Region, ResourceArn};
    use crate::asset::Attributes;
    use crate::classify::Classification;

    const ACCOUNT: &str = "123456789012";
    const PRIMARY: &str = "us-east-1";

    fn builtin() -> BackupState {
        render(&Config::builtin(), ACCOUNT, PRIMARY, &[PRIMARY]).expect("renders")
    }

    #[test]
    fn a_store_in_the_dr_region_is_protected_into_its_pair_and_each_vault_renders_alike() {
        // Given an account with assets in us-east-1 and in us-west-2, the default DR region
        let config = Config::builtin();
        let regions = ["us-east-1", "us-west-2"];
        let east = render(&config, ACCOUNT, "us-east-1", &regions).expect("east");
        let west = render(&config, ACCOUNT, "us-west-2", &regions).expect("west");
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
        // And each region's vault is the same whichever scope renders it: its lock covers
        // every tier, as both hold assets
        for key in west.vaults.keys() {
            assert_eq!(west.vaults.get(key), east.vaults.get(key), "{key:?}");
        }
        // While a DR-only vault's lock covers the tiers that copy
        let only_east = render(&config, ACCOUNT, "us-east-1", &["us-east-1"]).expect("east");
        let dr_only = &only_east.vaults[&("us-west-2".to_string(), "bulwark".to_string())];
        let copying: Vec<&Tier> = config
            .tiers()
            .iter()
            .filter(|t| t.cross_region_copy)
            .collect();
        assert_eq!(
            dr_only.lock,
            shared_lock(copying.into_iter()).map(vault_lock)
        );
    }

    #[test]
    fn a_region_without_a_dr_region_is_an_error_not_a_copy_into_itself() {
        let settings = ProtectionSettings {
            dr_region: "me-central-1".into(),
            ..ProtectionSettings::default()
        };
        assert!(settings
            .dr_region_for("me-central-1")
            .is_err_and(|e| e.contains("no DR region for me-central-1")));
        assert_eq!(
            settings.dr_region_for("us-east-1").as_deref(),
            Ok("me-central-1")
        );
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
        let e = |plan, schedule, windows, delete_after_days, cold_after_days, continuous, copy| {
            Expected {
                plan,
                schedule,
                windows,
                delete_after_days,
                cold_after_days,
                continuous,
                copy,
            }
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
                match plan.rules.get(1) {
                    Some(continuous) => {
                        assert!(want.continuous, "{at}");
                        assert_eq!(continuous.name, CONTINUOUS_RULE, "{at}");
                        assert!(continuous.continuous_backup, "{at}");
                        assert_eq!(
                            continuous.lifecycle,
                            Some(Lifecycle {
                                move_to_cold_storage_after_days: None,
                                delete_after_days: Some(35),
                            }),
                            "{at}: capped at 35 days"
                        );
                        assert!(continuous.copy_actions.is_empty(), "{at}");
                    }
                    None => assert!(!want.continuous, "{at}"),
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
                serde_json::from_str(vault.access_policy.as_deref().expect("a policy"))
                    .expect("JSON");
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
        // Every tier writes to the primary vault: critical's 30d minimum, archival's 10y
        // maximum. Only critical and important copy, and only critical asks for a lock.
        let governance = |min, max| VaultLock {
            min_retention_days: min,
            max_retention_days: Some(max),
            changeable_for_days: None,
        };
        assert_eq!(primary.lock, Some(governance(30, 3650)));
        assert_eq!(dr.lock, Some(governance(30, 2555)));
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
        let state = render(&locked, ACCOUNT, PRIMARY, &[PRIMARY]).expect("renders");
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
        let unlocked = render(
            &config(&format!("{GOLD}{RULE}")),
            ACCOUNT,
            PRIMARY,
            &[PRIMARY],
        )
        .expect("renders");
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
        let state = render(&config, ACCOUNT, PRIMARY, &[PRIMARY]).expect("renders");
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
        let state = render(&config(&text), ACCOUNT, PRIMARY, &[PRIMARY]).expect("renders");
        let names: Vec<&String> = state.selections.keys().map(|(_, name)| name).collect();
        assert!(names.iter().any(|n| n.len() == 50), "{names:?}");
        assert!(names.iter().all(|n| n.len() <= 50), "{names:?}");
        let too_long = text.replace(&longest, &format!("{longest}x"));
        let err = Config::from_toml_str("t.toml", &too_long).expect_err("refused");
        assert!(err.message.contains("plan and selection names"), "{err}");
    }

    #[test]
    fn wildcards_match_any_run_of_characters() {
        for (pattern, text, matches) in [
            (
                "arn:aws:rds:*:*:db:*",
                "arn:aws:rds:eu-west-1:123456789012:db:orders",
                true,
            ),
            (
                "arn:aws:rds:*:*:db:*",
                "arn:aws:rds:eu-west-1:123456789012:cluster:orders",
                false,
            ),
            ("arn:aws:s3:::*", "arn:aws:s3:::bucket", true),
            ("arn:aws:s3:::*", "arn:aws:s3:::", true),
            ("a*b*c", "aXbYbZc", true),
            ("a*b*c", "aXbYbZ", false),
            ("*", "", true),
            ("abc", "abcd", false),
        ] {
            assert_eq!(wildcard_match(pattern, text), matches, "{pattern} ~ {text}");
        }
    }

    #[test]
    fn tag_conditions_are_exact_and_all_must_hold() {
        let selection = Selection {
            name: "s".into(),
            plan_name: "p".into(),
            iam_role_arn: "r".into(),
            resources: vec!["arn:aws:s3:::*".into()],
            conditions: vec![
                TagCondition {
                    key: TIER_TAG.into(),
                    value: "gold".into(),
                },
                TagCondition {
                    key: "team".into(),
                    value: "a".into(),
                },
            ],
        };
        let tags = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let arn = "arn:aws:s3:::b";
        assert!(selection_matches(
            &selection,
            arn,
            &tags(&[(TIER_TAG, "gold"), ("team", "a")])
        ));
        assert!(!selection_matches(
            &selection,
            arn,
            &tags(&[(TIER_TAG, "gold")])
        ));
        assert!(!selection_matches(
            &selection,
            arn,
            &tags(&[(TIER_TAG, "Gold"), ("team", "a")])
        ));
        assert!(!selection_matches(
            &selection,
            arn,
            &tags(&[("Bulwark:Tier", "gold"), ("team", "a")])
        ));
        assert!(!selection_matches(
            &selection,
            "arn:aws:rds:us-east-1:123456789012:db:x",
            &tags(&[(TIER_TAG, "gold"), ("team", "a")])
        ));
    }

    #[test]
    fn a_second_diff_is_empty_and_creation_goes_vaults_plans_selections() {
        let desired = builtin();
        let actions = diff(&BackupState::default(), &desired);
        let rank = |a: &Action| match a {
            Action::CreateVault(_)
            | Action::PutVaultLock { .. }
            | Action::PutVaultAccessPolicy { .. } => 0,
            Action::CreatePlan(_) | Action::UpdatePlan(_) => 1,
            Action::DeleteSelection { .. } => 2,
            Action::CreateSelection(_) => 3,
        };
        assert!(
            actions.windows(2).all(|w| rank(&w[0]) <= rank(&w[1])),
            "{actions:#?}"
        );
        // 2 vaults each with a lock and a policy, 9 plans, 9 selections.
        assert_eq!(actions.len(), 2 * 3 + 9 + 9);
        let after = apply(&BackupState::default(), &actions);
        assert_eq!(after, desired);
        assert_eq!(diff(&after, &desired), []);
    }

    #[test]
    fn drift_is_corrected_and_unmanaged_things_are_left_alone() {
        let desired = builtin();
        let mut actual = desired.clone();
        let plan = "bulwark-critical-s3rds".to_string();
        let key = (plan.clone(), format!("{plan}-assets"));
        actual.plans.get_mut(&plan).expect("plan").rules[0].schedule = "cron(0 5 ? * * *)".into();
        actual
            .selections
            .get_mut(&key)
            .expect("selection")
            .conditions
            .clear();
        let stray = Selection {
            name: "stray".into(),
            ..actual.selections[&key].clone()
        };
        actual
            .selections
            .insert((plan.clone(), "stray".into()), stray);
        let by_hand = Plan {
            name: "by-hand".into(),
            rules: Vec::new(),
            managed: false,
        };
        actual.plans.insert("by-hand".into(), by_hand);
        let theirs = Selection {
            plan_name: "by-hand".into(),
            ..actual.selections[&key].clone()
        };
        actual
            .selections
            .insert(("by-hand".into(), key.1.clone()), theirs.clone());
        let primary = (PRIMARY.to_string(), "bulwark".to_string());
        actual
            .vaults
            .get_mut(&primary)
            .expect("vault")
            .access_policy = None;

        let actions = diff(&actual, &desired);
        assert_eq!(
            actions,
            [
                Action::PutVaultAccessPolicy {
                    region: PRIMARY.into(),
                    vault: "bulwark".into(),
                    policy: desired.vaults[&primary]
                        .access_policy
                        .clone()
                        .expect("policy"),
                },
                Action::UpdatePlan(desired.plans[&plan].clone()),
                Action::DeleteSelection {
                    plan_name: plan.clone(),
                    name: key.1.clone()
                },
                Action::DeleteSelection {
                    plan_name: plan.clone(),
                    name: "stray".into()
                },
                Action::CreateSelection(desired.selections[&key].clone()),
            ]
        );
        let after = apply(&actual, &actions);
        assert_eq!(after.selections[&("by-hand".to_string(), key.1)], theirs);
        assert_eq!(diff(&after, &desired), []);
    }

    #[test]
    fn what_diff_cannot_fix_is_reported() {
        let desired = builtin();
        let mut actual = desired.clone();
        let primary = (PRIMARY.to_string(), "bulwark".to_string());
        actual
            .vaults
            .get_mut(&primary)
            .expect("vault")
            .kms_key_alias = "alias/old".into();
        actual
            .plans
            .get_mut("bulwark-standard-all")
            .expect("plan")
            .managed = false;
        actual
            .plans
            .get_mut("bulwark-standard-all")
            .expect("plan")
            .rules
            .clear();
        let found = unreconciled(&actual, &desired);
        assert_eq!(found.len(), 2, "{found:#?}");
        assert!(
            found[0].contains("a vault's key cannot change"),
            "{found:#?}"
        );
        assert!(found[1].contains("plan bulwark-standard-all was not created by Bulwark"));
        assert!(diff(&actual, &desired).is_empty());
    }

    #[test]
    fn policies_read_back_in_another_layout_normalize_to_the_rendered_text() {
        let rendered = access_policy(&ProtectionSettings::default(), "aws", ACCOUNT);
        let value: Value = serde_json::from_str(&rendered).expect("json");
        let pretty = serde_json::to_string_pretty(&value).expect("pretty");
        assert_eq!(normalize_policy(&pretty).expect("normalize"), rendered);
        assert!(normalize_policy("{not json").is_err());
    }

    fn asset(kind: Kind, name: &str, tags: &[(&str, &str)], tier: Option<&str>) -> Asset {
        let region = Region::parse(PRIMARY).expect("region");
        let account = AccountId::parse(ACCOUNT).expect("account");
        let arn = ResourceArn::new(kind, "aws", &region, &account, name);
        let tags = tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut asset = Asset::observed(
            arn,
            account,
            region,
            tags,
            Attributes::default(),
            Utc::now(),
        );
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

    #[test]
    fn tags_follow_the_classification_exactly() {
        let config = Config::builtin();
        let mut gone = asset(Kind::S3, "gone", &[], Some("critical"));
        gone.state = AssetState::Gone;
        let mut unclassified = asset(Kind::S3, "new", &[], None);
        unclassified.classification = None;
        let assets = [
            asset(
                Kind::S3,
                "tagged",
                &[(TIER_TAG, "critical")],
                Some("critical"),
            ),
            asset(Kind::S3, "untagged", &[], Some("critical")),
            asset(
                Kind::S3,
                "other-tier",
                &[(TIER_TAG, "standard")],
                Some("critical"),
            ),
            asset(
                Kind::S3,
                "other-case",
                &[("Bulwark:Tier", "critical")],
                Some("critical"),
            ),
            asset(Kind::S3, "not-backed-up", &[(TIER_TAG, "standard")], None),
            asset(Kind::S3, "clean", &[], None),
            asset(Kind::S3, "stale", &[], Some("platinum")),
            gone,
            unclassified,
        ];
        let changes: Vec<(String, Option<String>)> = tag_changes(&config, &assets)
            .into_iter()
            .map(|c| {
                assert_eq!(c.region, PRIMARY);
                (c.arn, c.tier)
            })
            .collect();
        let critical = Some("critical".to_string());
        assert_eq!(
            changes,
            [
                ("arn:aws:s3:::untagged".to_string(), critical.clone()),
                ("arn:aws:s3:::other-tier".to_string(), critical.clone()),
                ("arn:aws:s3:::other-case".to_string(), critical),
                ("arn:aws:s3:::not-backed-up".to_string(), None),
            ]
        );
    }

    #[test]
    fn changes_that_cannot_be_undone_or_restart_a_database_are_named() {
        let off = NativeState {
            pitr_enabled: Some(false),
            versioning_enabled: Some(false),
            backup_retention_days: Some(0),
        };
        let caution = |config: &Config, kind, state: &NativeState| -> Vec<String> {
            native_actions(config, &asset(kind, "x", &[], Some("critical")), state)
                .iter()
                .filter_map(NativeAction::caution)
                .collect()
        };
        let builtin = Config::builtin();
        assert!(caution(&builtin, Kind::S3, &off)[0].contains("cannot be turned off"));
        assert!(caution(&builtin, Kind::Rds, &off)[0].contains("next maintenance window"));
        assert!(caution(&builtin, Kind::Dynamodb, &off).is_empty());
        // Raising a retention that is already on restarts nothing
        let short = NativeState {
            backup_retention_days: Some(1),
            ..off.clone()
        };
        assert!(caution(&builtin, Kind::Aurora, &short).is_empty());
        // Applied at once when the configuration says so, and named as an outage
        let text = crate::config::BUILTIN_TOML.replace(
            "rds_apply_immediately = false",
            "rds_apply_immediately = true",
        );
        let immediate = Config::from_toml_str("immediate.toml", &text).expect("valid");
        assert!(caution(&immediate, Kind::Rds, &off)[0].contains("an outage"));
        assert!(matches!(
            native_actions(
                &immediate,
                &asset(Kind::Rds, "x", &[], Some("critical")),
                &off
            )[..],
            [NativeAction::SetBackupRetention {
                immediately: true,
                from_days: 0,
                ..
            }]
        ));
    }

    #[test]
    fn native_protections_are_switched_on_only_where_known_to_be_off() {
        let config = Config::builtin();
        let off = NativeState {
            pitr_enabled: Some(false),
            versioning_enabled: Some(false),
            backup_retention_days: Some(0),
        };
        let on = NativeState {
            pitr_enabled: Some(true),
            versioning_enabled: Some(true),
            backup_retention_days: Some(7),
        };
        let actions = |kind, tier, state: &NativeState| {
            native_actions(&config, &asset(kind, "x", &[], tier), state)
        };
        let table = "arn:aws:dynamodb:us-east-1:123456789012:table/x";
        assert_eq!(
            actions(Kind::Dynamodb, Some("critical"), &off),
            [NativeAction::EnablePitr {
                arn: table.into(),
                region: PRIMARY.into(),
                table: "x".into(),
            }]
        );
        assert_eq!(actions(Kind::Dynamodb, Some("standard"), &off), []);
        assert_eq!(actions(Kind::S3, Some("standard"), &off).len(), 1);
        let retention =
            |tier, state: &NativeState| match actions(Kind::Aurora, Some(tier), state).as_slice() {
                [NativeAction::SetBackupRetention {
                    days,
                    cluster: true,
                    ..
                }] => Some(*days),
                [] => None,
                other => panic!("{other:?}"),
            };
        assert_eq!(retention("critical", &off), Some(7));
        assert_eq!(retention("standard", &off), Some(1));
        assert_eq!(retention("critical", &on), None);
        for kind in Kind::ALL {
            assert_eq!(actions(kind, Some("critical"), &on), [], "{kind}");
            assert_eq!(
                actions(kind, Some("critical"), &NativeState::default()),
                [],
                "{kind}"
            );
            assert_eq!(actions(kind, None, &off), [], "{kind}");
        }
    }
}
