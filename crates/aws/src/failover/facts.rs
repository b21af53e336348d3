//! The facts of a failover plan, read once, and from the DR region only where AWS is asked
//! (the primary region may be down): the application's stores from Bulwark's inventory and
//! their last restore tests from its state table, the copies in the DR vault, whether their
//! keys, the DB subnet groups and the restore role are there, and each switch's current value.

use std::collections::{BTreeMap, BTreeSet};

use bulwark_core::application::Application;
use bulwark_core::coverage::RestoreTest as CoverageRestoreTest;
use bulwark_core::facts::is_continuous;
use bulwark_core::failover::{CopyFacts, DrRegionFacts, FailoverFacts, RoleCheck, StoreFacts};
use bulwark_core::restore::{FAILOVER_TAG, RESTORE_TEST_TAG};
use bulwark_core::{AccountId, Asset, AssetState, Config, Scope};
use chrono::{DateTime, Utc};

use super::switches;
use crate::clients::{Aws, ScopeClients};
use crate::error::AwsError;
use crate::permissions::{p, Permission};
use crate::restore::start::latest_restorable;
use crate::restore::{history, to_utc};
use crate::store::Inventory;

pub const FAILOVER_FACTS: &[Permission] = &[
    p(
        "dynamodb:Scan",
        "the application's stores, from the inventory",
    ),
    p("dynamodb:Query", "the stores' last restore tests"),
];

/// What the DR region of a store's account holds for its failover, read in that account.
pub const DR_SITE: &[Permission] = &[
    p(
        "backup:ListRecoveryPointsByBackupVault",
        "the copies in the DR region's vault",
    ),
    p(
        "kms:DescribeKey",
        "whether a copy's key can decrypt in the DR region",
    ),
    p(
        "rds:DescribeDBSubnetGroups",
        "the DR region's DB subnet groups",
    ),
    p(
        "iam:GetRole",
        "whether AWS Backup's role exists (advisory: IAM's control plane may not answer)",
    ),
];

/// What the state table holds that a plan needs: the inventory and each store's last restore
/// test, read once for however many plans an invocation computes.
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    pub assets: Vec<Asset>,
    pub last_tests: BTreeMap<String, CoverageRestoreTest>,
    /// By store: the points its passed restore tests restored.
    pub verified_points: BTreeMap<String, BTreeSet<String>>,
}

impl Recorded {
    pub async fn read(inventory: &Inventory) -> Result<Self, AwsError> {
        let history = history::scheduling(inventory, Utc::now()).await?;
        Ok(Self {
            assets: inventory.all().await?,
            last_tests: history.last,
            verified_points: history.verified_points,
        })
    }
}

/// A store of the primary region, there or deleted; never a copy Bulwark made and deleted (a
/// restore test's, a failover's), which carries the application's tags too.
fn kept(asset: &Asset) -> bool {
    asset.state == AssetState::Present
        || !(asset.tags.contains_key(RESTORE_TEST_TAG) || asset.tags.contains_key(FAILOVER_TAG))
}

/// Read the facts of `app`'s failover as of `now`, in `account` (Bulwark's).
pub async fn read(
    aws: &Aws,
    inventory: &Inventory,
    config: &Config,
    app: &Application,
    account: &AccountId,
    now: DateTime<Utc>,
) -> Result<FailoverFacts, AwsError> {
    let recorded = Recorded::read(inventory).await?;
    read_with(aws, &recorded, config, app, account, now).await
}

/// The same, over what the state table holds, already read.
pub async fn read_with(
    aws: &Aws,
    recorded: &Recorded,
    config: &Config,
    app: &Application,
    account: &AccountId,
    now: DateTime<Utc>,
) -> Result<FailoverFacts, AwsError> {
    let selected: Vec<_> = recorded
        .assets
        .iter()
        .filter(|a| a.region == app.primary_region && kept(a))
        .filter(|a| app.stores.selects(&a.arn, &a.tags))
        .collect();
    // Each store's copies are in its own account's DR vault: a member account's are read
    // through the organization role.
    let mut accounts: Vec<&AccountId> = selected.iter().map(|a| &a.account).collect();
    accounts.push(account);
    accounts.sort();
    accounts.dedup();
    let mut copies = BTreeMap::new();
    let mut dr_scopes: BTreeMap<AccountId, ScopeClients> = BTreeMap::new();
    for store_account in accounts {
        let dr = aws
            .store_scope(Scope {
                account: store_account.clone(),
                region: app.dr_region.clone(),
            })
            .await?;
        copies.extend(copies_by_store(&dr, &config.protection().vault_name).await?);
        dr_scopes.insert(store_account.clone(), dr);
    }
    let store_accounts: BTreeSet<AccountId> = selected.iter().map(|a| a.account.clone()).collect();
    let names: Vec<(AccountId, String)> = selected
        .iter()
        .map(|a| (a.account.clone(), a.name.clone()))
        .collect();
    let mut stores: Vec<StoreFacts> = selected
        .into_iter()
        .map(|a| {
            let arn = a.arn.to_string();
            let tier = a.classification.as_ref().and_then(|c| c.tier.clone());
            StoreFacts {
                tier_rpo: tier
                    .as_deref()
                    .and_then(|t| config.tier(t))
                    .map(|t| t.dr_rpo.unwrap_or(t.rpo)),
                tier,
                copies: copies.remove(&arn).unwrap_or_default(),
                last_restore_test_rto: recorded
                    .last_tests
                    .get(&arn)
                    .filter(|t| t.measured())
                    .map(|t| t.duration),
                arn: a.arn.clone(),
                gone_at: match a.state {
                    AssetState::Present => None,
                    AssetState::Gone => Some(a.gone_at.unwrap_or(a.last_seen)),
                },
                engine: a.attributes.engine.clone(),
                members: a.attributes.members.len(),
                tags: a.tags.clone(),
                latest_restorable: None,
                verified_points: recorded
                    .verified_points
                    .get(&arn)
                    .cloned()
                    .unwrap_or_default(),
                replication: a.attributes.replication.clone(),
            }
        })
        .collect();
    // A recovery in place (its "DR region" its own) may restore a continuous point to a time:
    // where each continuous point's window ends now, read in the store's own region.
    if app.dr_region == app.primary_region {
        for (store, (store_account, name)) in stores.iter_mut().zip(&names) {
            let continuous = store
                .copies
                .iter()
                .any(|c| c.completed && is_continuous(&c.recovery_point_arn));
            if continuous && store.gone_at.is_none() {
                let clients = &dr_scopes[store_account];
                let arn = store.arn.to_string();
                store.latest_restorable =
                    latest_restorable(clients, store.arn.kind, name, &arn).await?;
            }
        }
    }
    let keys: BTreeSet<String> = stores
        .iter()
        .flat_map(|s| s.copies.iter())
        .filter_map(|c| c.encryption_key_arn.clone())
        .collect();
    let mut current_switch_values = BTreeMap::new();
    let mut unreadable_switches = BTreeMap::new();
    let mut unrestorable_switches = BTreeMap::new();
    for switch in &app.switches {
        // A switch that cannot be read (Route 53's control plane down with us-east-1) blocks
        // the plan by name; the rest of the plan is still read and shown.
        match switches::read(aws, &switch.target).await {
            Ok(read) => {
                if let switches::Read::Unrestorable { reason, .. } = &read {
                    unrestorable_switches.insert(switch.target.clone(), reason.clone());
                }
                current_switch_values.insert(switch.target.clone(), read.shown());
            }
            Err(error) => {
                unreadable_switches.insert(switch.target.clone(), error.to_string());
            }
        }
    }
    Ok(FailoverFacts {
        now,
        stores,
        dr_region: DrRegionFacts {
            usable_keys: usable_keys(&dr_scopes, account, keys).await?,
            db_subnet_groups: db_subnet_groups(&dr_scopes, account, &store_accounts).await?,
            restore_role: role_check(aws, &config.protection().restore_role_name).await,
        },
        current_switch_values,
        unreadable_switches,
        unrestorable_switches,
    })
}

/// The completed and other recovery points of the DR vault, by the store they came from.
async fn copies_by_store(
    dr: &ScopeClients,
    vault: &str,
) -> Result<BTreeMap<String, Vec<CopyFacts>>, AwsError> {
    let points: Vec<_> = match dr
        .backup
        .list_recovery_points_by_backup_vault()
        .backup_vault_name(vault)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
    {
        Ok(points) => points,
        // No vault in the DR region: no copies, which the plan reports per store.
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            Vec::new()
        }
        Err(e) => return Err(AwsError::sdk("backup:ListRecoveryPointsByBackupVault", e)),
    };
    let mut by_store: BTreeMap<String, Vec<CopyFacts>> = BTreeMap::new();
    for point in points {
        let (Some(store), Some(arn), Some(created)) = (
            point.resource_arn(),
            point.recovery_point_arn(),
            to_utc(point.creation_date()),
        ) else {
            continue;
        };
        by_store
            .entry(store.to_string())
            .or_default()
            .push(CopyFacts {
                recovery_point_arn: arn.to_string(),
                vault: point.backup_vault_name().unwrap_or(vault).to_string(),
                created,
                completed: point.status().map(|s| s.as_str()) == Some("COMPLETED"),
                encryption_key_arn: point.encryption_key_arn().map(str::to_string),
            });
    }
    Ok(by_store)
}

/// The keys, of those named, that are enabled in the DR region, each asked of its own
/// account (a member's copy is encrypted with a key of the member's).
async fn usable_keys(
    dr_scopes: &BTreeMap<AccountId, ScopeClients>,
    home: &AccountId,
    keys: BTreeSet<String>,
) -> Result<BTreeSet<String>, AwsError> {
    let mut usable = BTreeSet::new();
    for key in keys {
        let owner = key
            .split(':')
            .nth(4)
            .and_then(|a| AccountId::parse(a).ok())
            .unwrap_or_else(|| home.clone());
        let Some(dr) = dr_scopes.get(&owner).or_else(|| dr_scopes.get(home)) else {
            continue;
        };
        match dr.kms.describe_key().key_id(&key).send().await {
            Ok(out) => {
                let enabled = out
                    .key_metadata()
                    .and_then(|m| m.key_state())
                    .is_some_and(|s| s.as_str() == "Enabled");
                if enabled {
                    usable.insert(key);
                }
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|s| s.is_not_found_exception()) => {}
            Err(e) => return Err(AwsError::sdk("kms:DescribeKey", e)),
        }
    }
    Ok(usable)
}

/// The DB subnet groups of the DR region that every account holding one of the stores has
/// (Bulwark's own account when none does): a restore is made in its store's account.
async fn db_subnet_groups(
    dr_scopes: &BTreeMap<AccountId, ScopeClients>,
    home: &AccountId,
    store_accounts: &BTreeSet<AccountId>,
) -> Result<BTreeSet<String>, AwsError> {
    let mut common: Option<BTreeSet<String>> = None;
    let home_only = BTreeSet::from([home.clone()]);
    let accounts = if store_accounts.is_empty() {
        &home_only
    } else {
        store_accounts
    };
    for account in accounts {
        let Some(dr) = dr_scopes.get(account) else {
            continue;
        };
        let groups = subnet_groups_of(dr).await?;
        common = Some(match common {
            None => groups,
            Some(so_far) => so_far.intersection(&groups).cloned().collect(),
        });
    }
    Ok(common.unwrap_or_default())
}

async fn subnet_groups_of(dr: &ScopeClients) -> Result<BTreeSet<String>, AwsError> {
    let groups: Vec<_> = dr
        .rds
        .describe_db_subnet_groups()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::sdk("rds:DescribeDBSubnetGroups", e))?;
    Ok(groups
        .iter()
        .filter_map(|g| g.db_subnet_group_name().map(str::to_string))
        .collect())
}

/// Whether the restore role (`[protection] restore_role_name`, its path included) exists. IAM's
/// control plane lives in us-east-1: when it cannot answer, the check is only advisory.
async fn role_check(aws: &Aws, role_name: &str) -> RoleCheck {
    let name = role_name.rsplit('/').next().unwrap_or(role_name);
    match aws.iam().get_role().role_name(name).send().await {
        Ok(_) => RoleCheck::Exists,
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_no_such_entity_exception()) =>
        {
            RoleCheck::Missing
        }
        Err(e) => RoleCheck::Unchecked(AwsError::sdk("iam:GetRole", e).to_string()),
    }
}
