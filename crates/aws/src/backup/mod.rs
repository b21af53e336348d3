//! AWS Backup as Bulwark manages it: read the state that exists, apply the actions the domain's
//! diff decides, and read the recovery points coverage judges. What Bulwark created carries a
//! CreatorRequestId starting with "bulwark-": that is how it tells its own from the rest.

pub mod mapping;

use std::collections::{BTreeMap, HashMap};

use aws_sdk_backup::types as sdk;
use bulwark_core::protection::{Action, BackupState, Plan, Vault, VaultLock, MANAGED_TAG};

use crate::clients::ScopeClients;
use crate::error::{is_not_found, AwsError};
use crate::idempotency;
use crate::permissions::{p, Permission};

/// Reading and changing AWS Backup and the vaults' KMS keys.
pub const BACKUP: &[Permission] = &[
    p(
        "backup:ListBackupVaults",
        "the vaults that exist, with lock settings",
    ),
    p(
        "backup:GetBackupVaultAccessPolicy",
        "the access policy of a vault Bulwark manages",
    ),
    p("backup:ListBackupPlans", "the plans that exist"),
    p(
        "backup:GetBackupPlan",
        "the rules of a plan Bulwark manages",
    ),
    p(
        "backup:ListBackupSelections",
        "the selections of a plan Bulwark manages",
    ),
    p(
        "backup:GetBackupSelection",
        "a selection's resources and conditions",
    ),
    p(
        "backup:CreateBackupVault",
        "create the primary and DR vaults",
    ),
    p(
        "backup:TagResource",
        "tag a created vault or plan as managed",
    ),
    p(
        "backup:PutBackupVaultLockConfiguration",
        "lock a vault as its tiers demand",
    ),
    p(
        "backup:PutBackupVaultAccessPolicy",
        "deny DeleteRecoveryPoint to all but the admin roles",
    ),
    p("backup:CreateBackupPlan", "create a tier's plan"),
    p("backup:UpdateBackupPlan", "correct a plan that drifted"),
    p(
        "backup:CreateBackupSelection",
        "select a tier's assets by the tag Bulwark writes",
    ),
    p(
        "backup:DeleteBackupSelection",
        "replace a selection that drifted",
    ),
    p("kms:DescribeKey", "resolve the vault key alias"),
    p(
        "kms:CreateKey",
        "create the customer-managed vault key when missing",
    ),
    p("kms:CreateAlias", "name the vault key"),
    p("kms:TagResource", "tag the created key as managed"),
    p(
        "kms:EnableKeyRotation",
        "rotate the created vault key yearly",
    ),
    p(
        "kms:CreateGrant",
        "what CreateBackupVault needs on the vault key",
    ),
    p(
        "kms:GenerateDataKey",
        "what CreateBackupVault needs on the vault key",
    ),
    p(
        "kms:Decrypt",
        "what CreateBackupVault needs on the vault key",
    ),
    p(
        "kms:RetireGrant",
        "what CreateBackupVault needs on the vault key",
    ),
    p(
        "backup-storage:MountCapsule",
        "what CreateBackupVault needs",
    ),
    p(
        "iam:PassRole",
        "let AWS Backup assume its service role for a selection",
    ),
];

/// Reading recovery points for coverage.
pub const RECOVERY_POINTS: &[Permission] = &[
    p(
        "backup:ListBackupVaults",
        "every vault whose recovery points count",
    ),
    p(
        "backup:ListRecoveryPointsByBackupVault",
        "recovery points in bulk, a vault at a time",
    ),
];

const MANAGED_PREFIX: &str = idempotency::PREFIX;

/// The state that exists, with the ids AWS gave it (needed to change it).
#[derive(Debug, Clone, Default)]
pub struct Actual {
    pub state: BackupState,
    pub plan_ids: BTreeMap<String, String>,
    pub plan_versions: BTreeMap<String, String>,
    pub selection_ids: BTreeMap<(String, String), String>,
    /// Region -> the ARN of the key the alias names there, when it exists.
    pub key_arns: BTreeMap<String, String>,
    /// Every vault as listed, by region: what recovery points are read from.
    pub listed_vaults: BTreeMap<String, Vec<sdk::BackupVaultListMember>>,
}

fn region_of(clients: &ScopeClients) -> String {
    clients.scope.region.to_string()
}

/// The key ARN `alias` names in the clients' region, if any (kms:DescribeKey).
async fn key_arn(clients: &ScopeClients, alias: &str) -> Result<Option<String>, AwsError> {
    match clients.kms.describe_key().key_id(alias).send().await {
        Ok(out) => Ok(out
            .key_metadata()
            .map(|m| m.arn().unwrap_or(m.key_id()).to_string())),
        Err(e) if is_not_found(&e, &["NotFoundException"]) => Ok(None),
        Err(e) => Err(AwsError::sdk("kms:DescribeKey", e)),
    }
}

fn normalise_policy(policy: &str) -> String {
    serde_json::from_str::<serde_json::Value>(policy)
        .map(|v| v.to_string())
        .unwrap_or_else(|_| policy.to_string())
}

/// Read the vaults and the vault key of the clients' region, and, with `plans`, its plans
/// and selections (a region that is only a DR region has none of Bulwark's).
pub async fn read_state(
    clients: &ScopeClients,
    alias: &str,
    plans: bool,
) -> Result<Actual, AwsError> {
    let mut actual = Actual::default();
    {
        let region = region_of(clients);
        let key = key_arn(clients, alias).await?;
        if let Some(arn) = &key {
            actual.key_arns.insert(region.clone(), arn.clone());
        }
        let vaults = clients
            .backup
            .list_backup_vaults()
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| AwsError::sdk("backup:ListBackupVaults", e))?;
        for v in &vaults {
            let name = v.backup_vault_name().unwrap_or_default().to_string();
            let managed = v
                .creator_request_id()
                .is_some_and(|c| c.starts_with(MANAGED_PREFIX));
            let access_policy = if managed {
                match clients
                    .backup
                    .get_backup_vault_access_policy()
                    .backup_vault_name(&name)
                    .send()
                    .await
                {
                    Ok(out) => out.policy().map(normalise_policy),
                    Err(e) if is_not_found(&e, &["ResourceNotFoundException"]) => None,
                    Err(e) => return Err(AwsError::sdk("backup:GetBackupVaultAccessPolicy", e)),
                }
            } else {
                None
            };
            let kms_key_alias = match (v.encryption_key_arn(), &key) {
                (Some(vault_key), Some(alias_key)) if vault_key == alias_key => alias.to_string(),
                (Some(vault_key), _) => vault_key.to_string(),
                (None, _) => String::new(),
            };
            let lock = v.locked().unwrap_or(false).then(|| VaultLock {
                min_retention_days: v
                    .min_retention_days()
                    .and_then(|d| u64::try_from(d).ok())
                    .unwrap_or(0),
                max_retention_days: v.max_retention_days().and_then(|d| u64::try_from(d).ok()),
                // AWS reports a compliance lock by the date it becomes immutable; the grace
                // period Bulwark asks for is its default of 3 days.
                changeable_for_days: v.lock_date().map(|_| 3),
            });
            actual.state.vaults.insert(
                (region.clone(), name.clone()),
                Vault {
                    name,
                    region: region.clone(),
                    kms_key_alias,
                    lock,
                    access_policy,
                    managed,
                },
            );
        }
        actual.listed_vaults.insert(region, vaults);
    }
    if !plans {
        return Ok(actual);
    }
    let primary = clients;
    let plans = primary
        .backup
        .list_backup_plans()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::sdk("backup:ListBackupPlans", e))?;
    for listed in plans {
        let (Some(id), Some(name)) = (listed.backup_plan_id(), listed.backup_plan_name()) else {
            continue;
        };
        let managed = listed
            .creator_request_id()
            .is_some_and(|c| c.starts_with(MANAGED_PREFIX));
        actual.plan_ids.insert(name.to_string(), id.to_string());
        if let Some(version) = listed.version_id() {
            actual
                .plan_versions
                .insert(name.to_string(), version.to_string());
        }
        if !managed {
            actual.state.plans.insert(
                name.to_string(),
                Plan {
                    name: name.to_string(),
                    rules: vec![],
                    managed,
                },
            );
            continue;
        }
        let plan = primary
            .backup
            .get_backup_plan()
            .backup_plan_id(id)
            .send()
            .await
            .map_err(|e| AwsError::sdk("backup:GetBackupPlan", e))?;
        let rules = plan
            .backup_plan()
            .map(|p| p.rules().iter().map(mapping::rule_from_sdk).collect())
            .unwrap_or_default();
        actual.state.plans.insert(
            name.to_string(),
            Plan {
                name: name.to_string(),
                rules,
                managed,
            },
        );
        let selections = primary
            .backup
            .list_backup_selections()
            .backup_plan_id(id)
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| AwsError::sdk("backup:ListBackupSelections", e))?;
        for listed in selections {
            let Some(selection_id) = listed.selection_id() else {
                continue;
            };
            let got = primary
                .backup
                .get_backup_selection()
                .backup_plan_id(id)
                .selection_id(selection_id)
                .send()
                .await
                .map_err(|e| AwsError::sdk("backup:GetBackupSelection", e))?;
            if let Some(selection) = got.backup_selection() {
                let selection = mapping::selection_from_sdk(name, selection);
                let key = (name.to_string(), selection.name.clone());
                actual
                    .selection_ids
                    .insert(key.clone(), selection_id.to_string());
                actual.state.selections.insert(key, selection);
            }
        }
    }
    Ok(actual)
}

/// The vault key: the alias's key, created with its alias when missing.
async fn ensure_key(
    clients: &ScopeClients,
    key: &VaultKey<'_>,
    actual: &mut Actual,
) -> Result<String, AwsError> {
    let alias = key.alias;
    let region = region_of(clients);
    if let Some(arn) = actual.key_arns.get(&region) {
        return Ok(arn.clone());
    }
    if let Some(arn) = key_arn(clients, alias).await? {
        actual.key_arns.insert(region, arn.clone());
        return Ok(arn);
    }
    let created = clients
        .kms
        .create_key()
        .description("Bulwark backup vault key")
        .policy(key.policy)
        .tags(
            aws_sdk_kms::types::Tag::builder()
                .tag_key(MANAGED_TAG)
                .tag_value("true")
                .build()
                .map_err(|e| AwsError::Malformed(e.to_string()))?,
        )
        .send()
        .await
        .map_err(|e| AwsError::sdk("kms:CreateKey", e))?;
    let metadata = created
        .key_metadata()
        .ok_or_else(|| AwsError::Malformed("CreateKey without metadata".into()))?;
    let arn = metadata.arn().unwrap_or(metadata.key_id()).to_string();
    clients
        .kms
        .create_alias()
        .alias_name(alias)
        .target_key_id(metadata.key_id())
        .send()
        .await
        .map_err(|e| AwsError::sdk("kms:CreateAlias", e))?;
    clients
        .kms
        .enable_key_rotation()
        .key_id(metadata.key_id())
        .send()
        .await
        .map_err(|e| AwsError::sdk("kms:EnableKeyRotation", e))?;
    actual.key_arns.insert(region, arn.clone());
    Ok(arn)
}

/// The vault key Bulwark uses: its alias, and the key policy it gets when Bulwark creates it.
#[derive(Debug, Clone, Copy)]
pub struct VaultKey<'a> {
    pub alias: &'a str,
    pub policy: &'a str,
}

/// Apply `actions` in order. `clients` maps region -> clients of the account; plans and
/// selections live in `primary`.
pub async fn apply(
    clients: &HashMap<String, ScopeClients>,
    primary: &str,
    key: &VaultKey<'_>,
    actual: &mut Actual,
    actions: &[Action],
) -> Result<(), AwsError> {
    let in_region = |region: &str| {
        clients
            .get(region)
            .ok_or_else(|| AwsError::Malformed(format!("no clients for region {region}")))
    };
    let home = in_region(primary)?;
    for action in actions {
        match action {
            Action::CreateVault(vault) => {
                let c = in_region(&vault.region)?;
                let key = ensure_key(c, key, actual).await?;
                let created = c
                    .backup
                    .create_backup_vault()
                    .backup_vault_name(&vault.name)
                    .encryption_key_arn(key)
                    .creator_request_id(idempotency::creator_request_id("vault", &vault.name)?)
                    .backup_vault_tags(MANAGED_TAG, "true")
                    .send()
                    .await;
                match created {
                    Ok(_) => {}
                    Err(e) if is_not_found(&e, &["AlreadyExistsException"]) => {}
                    Err(e) => return Err(AwsError::sdk("backup:CreateBackupVault", e)),
                }
                if let Some(lock) = &vault.lock {
                    put_lock(c, &vault.name, lock).await?;
                }
                if let Some(policy) = &vault.access_policy {
                    put_policy(c, &vault.name, policy).await?;
                }
            }
            Action::PutVaultLock {
                region,
                vault,
                lock,
            } => put_lock(in_region(region)?, vault, lock).await?,
            Action::PutVaultAccessPolicy {
                region,
                vault,
                policy,
            } => put_policy(in_region(region)?, vault, policy).await?,
            Action::CreatePlan(plan) => {
                let out = home
                    .backup
                    .create_backup_plan()
                    .backup_plan(mapping::plan_to_sdk(&plan.name, &plan.rules)?)
                    .backup_plan_tags(MANAGED_TAG, "true")
                    .creator_request_id(idempotency::creator_request_id(
                        "plan",
                        &(&plan.name, &plan.rules),
                    )?)
                    .send()
                    .await
                    .map_err(|e| AwsError::sdk("backup:CreateBackupPlan", e))?;
                if let Some(id) = out.backup_plan_id() {
                    actual.plan_ids.insert(plan.name.clone(), id.to_string());
                }
                if let Some(version) = out.version_id() {
                    actual
                        .plan_versions
                        .insert(plan.name.clone(), version.to_string());
                }
            }
            Action::UpdatePlan(plan) => {
                let id = plan_id(actual, &plan.name)?;
                let out = home
                    .backup
                    .update_backup_plan()
                    .backup_plan_id(id)
                    .backup_plan(mapping::plan_to_sdk(&plan.name, &plan.rules)?)
                    .send()
                    .await
                    .map_err(|e| AwsError::sdk("backup:UpdateBackupPlan", e))?;
                if let Some(version) = out.version_id() {
                    actual
                        .plan_versions
                        .insert(plan.name.clone(), version.to_string());
                }
            }
            Action::CreateSelection(selection) => {
                let id = plan_id(actual, &selection.plan_name)?;
                let out = home
                    .backup
                    .create_backup_selection()
                    .backup_plan_id(id)
                    .backup_selection(mapping::selection_to_sdk(selection)?)
                    .creator_request_id(idempotency::creator_request_id("selection", selection)?)
                    .send()
                    .await
                    .map_err(|e| AwsError::sdk("backup:CreateBackupSelection", e))?;
                if let Some(selection_id) = out.selection_id() {
                    actual.selection_ids.insert(
                        (selection.plan_name.clone(), selection.name.clone()),
                        selection_id.to_string(),
                    );
                }
            }
            Action::DeleteSelection { plan_name, name } => {
                let id = plan_id(actual, plan_name)?;
                let key = (plan_name.clone(), name.clone());
                let selection_id = actual
                    .selection_ids
                    .get(&key)
                    .ok_or_else(|| {
                        AwsError::Malformed(format!("no id for selection {name} of {plan_name}"))
                    })?
                    .clone();
                home.backup
                    .delete_backup_selection()
                    .backup_plan_id(id)
                    .selection_id(selection_id)
                    .send()
                    .await
                    .map_err(|e| AwsError::sdk("backup:DeleteBackupSelection", e))?;
                actual.selection_ids.remove(&key);
            }
        }
    }
    Ok(())
}

fn plan_id(actual: &Actual, name: &str) -> Result<String, AwsError> {
    actual
        .plan_ids
        .get(name)
        .cloned()
        .ok_or_else(|| AwsError::Malformed(format!("plan {name} has no id")))
}

async fn put_lock(clients: &ScopeClients, vault: &str, lock: &VaultLock) -> Result<(), AwsError> {
    let days = |d: u64| i64::try_from(d).unwrap_or(i64::MAX);
    clients
        .backup
        .put_backup_vault_lock_configuration()
        .backup_vault_name(vault)
        .min_retention_days(days(lock.min_retention_days))
        .set_max_retention_days(lock.max_retention_days.map(days))
        .set_changeable_for_days(lock.changeable_for_days.map(days))
        .send()
        .await
        .map_err(|e| AwsError::sdk("backup:PutBackupVaultLockConfiguration", e))?;
    Ok(())
}

async fn put_policy(clients: &ScopeClients, vault: &str, policy: &str) -> Result<(), AwsError> {
    clients
        .backup
        .put_backup_vault_access_policy()
        .backup_vault_name(vault)
        .policy(policy)
        .send()
        .await
        .map_err(|e| AwsError::sdk("backup:PutBackupVaultAccessPolicy", e))?;
    Ok(())
}

/// Every recovery point in `vaults` (listed in the clients' region by `read_state`), a
/// vault at a time.
pub async fn recovery_points(
    clients: &ScopeClients,
    vaults: &[sdk::BackupVaultListMember],
) -> Result<Vec<(sdk::BackupVaultListMember, sdk::RecoveryPointByBackupVault)>, AwsError> {
    let mut out = Vec::new();
    for vault in vaults {
        let points = clients
            .backup
            .list_recovery_points_by_backup_vault()
            .set_backup_vault_name(vault.backup_vault_name().map(str::to_string))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(|e| AwsError::sdk("backup:ListRecoveryPointsByBackupVault", e))?;
        out.extend(points.into_iter().map(|p| (vault.clone(), p)));
    }
    Ok(out)
}
