//! assign-policy and coverage, composed from the domain's decisions (render, diff, tag and
//! native changes, control evaluation) and the adapters' calls. `plan` reads only; `apply`
//! changes only what differs, so a second apply makes no mutating call.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bulwark_core::protection::{self, Action, NativeAction, NativeState, TagChange};
use bulwark_core::schedule::AwsCron;
use bulwark_core::{
    coverage, AccountId, Asset, AssetState, Assignment, Change, Config, Evidence, Kind,
    RecoveryPoint, Region, ResourceArn, Scope,
};
use chrono::{DateTime, TimeZone, Utc};
use futures::stream::{self, StreamExt};
use serde::{Deserialize, Serialize};

use crate::backup;
use crate::calls::is_mutating;
use crate::clients::{Aws, ScopeClients};
use crate::error::AwsError;
use crate::lease::Lease;
use crate::protect;
use crate::store::Inventory;

/// How long an account's lease lasts if its run dies: a Lambda's longest run.
const LEASE_TTL: std::time::Duration = std::time::Duration::from_secs(15 * 60);
/// How long a run waits for another run of the same account to finish.
const LEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

/// Stores whose native protection is read at once (a call each: PITR, versioning).
const NATIVE_CONCURRENCY: usize = 16;

/// What assign-policy would do (plan) or did (apply) in one account and region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopePlan {
    pub scope: Option<Scope>,
    pub backup_actions: Vec<Action>,
    pub tag_changes: Vec<TagChange>,
    pub native_actions: Vec<NativeAction>,
    /// Changes of this plan that cannot be undone or that cause an outage, said plainly.
    #[serde(default)]
    pub cautions: Vec<String>,
    /// Drift Bulwark reports but does not correct (what it does not own).
    pub unreconciled: Vec<String>,
    pub assignments_recorded: usize,
}

/// An account and region that could not be reconciled (or judged), and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeFailure {
    pub account: AccountId,
    pub region: Region,
    pub error: String,
    pub retryable: bool,
}

impl ScopeFailure {
    fn new(account: &AccountId, region: &Region, error: &AwsError) -> Self {
        Self {
            account: account.clone(),
            region: region.clone(),
            error: error.to_string(),
            retryable: error.is_retryable(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyReport {
    pub applied: bool,
    pub scopes: Vec<ScopePlan>,
    /// Scopes that failed; the others completed. Non-empty means a partial run.
    #[serde(default)]
    pub failures: Vec<ScopeFailure>,
    pub warnings: Vec<String>,
    pub calls: BTreeMap<String, u64>,
    /// Calls that changed something in AWS or in the inventory.
    pub mutating_calls: u64,
    /// The state-table writes that took and gave back each account's lease: counted in
    /// `calls`, not in `mutating_calls` (they change no store and no record).
    #[serde(default)]
    pub lease_calls: u64,
}

impl PolicyReport {
    /// Some scope failed: the run did not reach everything.
    pub fn partial(&self) -> bool {
        !self.failures.is_empty()
    }

    pub fn changes(&self) -> usize {
        self.scopes
            .iter()
            .map(|s| s.backup_actions.len() + s.tag_changes.len() + s.native_actions.len())
            .sum()
    }
}

/// What one run reconciles (assign-policy) or judges (coverage).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Targets<'a> {
    /// Every account and region of the inventory.
    #[default]
    Everything,
    /// These accounts and regions (what a sweep touched).
    Scopes(&'a [Scope]),
    /// One store, after a change to it: the AWS Backup resources of its account and region,
    /// which every store there shares, are reconciled, but only this store is tagged, has its
    /// native protection switched on and its assignment recorded. Coverage judges its scope.
    Store(&'a ResourceArn),
}

impl Targets<'_> {
    /// The scopes of the inventory that hold present assets and are targeted, grouped by
    /// account. A store that is not in the inventory is an error, not an empty run.
    fn scopes_by_account(
        &self,
        assets: &[Asset],
    ) -> Result<BTreeMap<AccountId, Vec<Region>>, AwsError> {
        let store_scope = match self {
            Targets::Store(arn) => Some(
                assets
                    .iter()
                    .find(|a| a.arn == **arn)
                    .map(Asset::scope)
                    .ok_or_else(|| AwsError::NotInInventory(arn.to_string()))?,
            ),
            _ => None,
        };
        let wanted = |scope: &Scope| match self {
            Targets::Everything => true,
            Targets::Scopes(scopes) => scopes.contains(scope),
            Targets::Store(_) => store_scope.as_ref() == Some(scope),
        };
        let mut out: BTreeMap<AccountId, Vec<Region>> = BTreeMap::new();
        for asset in assets
            .iter()
            .filter(|a| a.state == AssetState::Present)
            .filter(|a| wanted(&a.scope()))
        {
            let regions = out.entry(asset.account.clone()).or_default();
            if !regions.contains(&asset.region) {
                regions.push(asset.region.clone());
            }
        }
        Ok(out)
    }

    /// Whether a store of a targeted scope gets its own changes (tag, native, record).
    fn acts_on(&self, asset: &Asset) -> bool {
        match self {
            Targets::Store(arn) => asset.arn == **arn,
            Targets::Everything | Targets::Scopes(_) => true,
        }
    }
}

async fn clients_for_account(
    aws: &Aws,
    account: &AccountId,
    regions: &[Region],
    dr_regions: &BTreeMap<Region, Region>,
    org_role: Option<&str>,
) -> Result<HashMap<String, ScopeClients>, AwsError> {
    let home = aws.home_account().await?;
    let Some(region) = regions.first() else {
        return Ok(HashMap::new());
    };
    let first = Scope {
        account: account.clone(),
        region: region.clone(),
    };
    let base = match org_role {
        Some(role) if *account != home => aws.member_scope(first, role).await,
        _ => aws.home_scope(first),
    };
    let mut clients = HashMap::new();
    for region in regions.iter().chain(dr_regions.values()) {
        clients.insert(region.to_string(), aws.sibling(&base, region));
    }
    Ok(clients)
}

/// Each region's DR region, from the configuration's pairs.
fn dr_regions(config: &Config, regions: &[Region]) -> Result<BTreeMap<Region, Region>, AwsError> {
    let settings = config.protection();
    regions
        .iter()
        .map(|region| {
            let dr = settings
                .dr_region_for(region.as_str())
                .map_err(AwsError::Configuration)?;
            Ok((region.clone(), Region::parse(&dr)?))
        })
        .collect()
}

async fn native_states(
    clients: &ScopeClients,
    assets: &[&Asset],
) -> Result<Vec<(Asset, NativeState)>, AwsError> {
    // RDS retention as it is now, in bulk: the inventory's copy is as old as the last sweep.
    let retention = if assets
        .iter()
        .any(|a| matches!(a.kind, Kind::Rds | Kind::Aurora))
    {
        protect::rds_retention(clients).await?
    } else {
        BTreeMap::new()
    };
    let retention = &retention;
    let results: Vec<Result<(Asset, NativeState), AwsError>> = stream::iter(assets.iter().copied())
        .map(|asset| async move {
            let mut state = protect::native_state(clients, asset).await?;
            if let Some(days) = retention.get(&asset.arn.to_string()) {
                state.backup_retention_days = Some(*days);
            }
            Ok(((*asset).clone(), state))
        })
        .buffer_unordered(NATIVE_CONCURRENCY)
        .collect()
        .await;
    results.into_iter().collect()
}

fn backed_up(asset: &Asset) -> Option<&str> {
    (asset.state == AssetState::Present)
        .then_some(())
        .and(asset.classification.as_ref())
        .and_then(|c| c.tier.as_deref())
}

/// Plan (apply = false) or apply assign-policy for every classified asset in the inventory.
pub async fn assign(
    aws: &Aws,
    inventory: &Inventory,
    config: &Config,
    org_role: Option<&str>,
    targets: Targets<'_>,
    apply: bool,
    now: DateTime<Utc>,
) -> Result<PolicyReport, AwsError> {
    let before = aws.counter().snapshot();
    let assets = inventory.all().await?;
    let mut report = PolicyReport {
        applied: apply,
        warnings: config.warnings().iter().map(|w| w.to_string()).collect(),
        ..PolicyReport::default()
    };
    let run = Run {
        aws,
        inventory,
        config,
        assets: &assets,
        targets,
        org_role,
        apply,
        now,
    };
    // One account or region failing never stops the others: it is reported, with whether a
    // retry may help, and the rest completes.
    for (account, regions) in targets.scopes_by_account(&assets)? {
        if !apply {
            run.account(&account, &regions, &mut report).await;
            continue;
        }
        // One run applies to an account at a time: two would race on its vaults, keys and
        // selections (two keys for one alias, a selection created twice).
        let lease = Lease::acquire(
            inventory.client(),
            inventory.table(),
            &format!("assign-policy#{account}"),
            LEASE_TTL,
            LEASE_WAIT,
        )
        .await;
        match lease {
            Ok(lease) => {
                run.account(&account, &regions, &mut report).await;
                report.lease_calls += lease.release().await?;
            }
            Err(error) => {
                for region in &regions {
                    report
                        .failures
                        .push(ScopeFailure::new(&account, region, &error));
                }
            }
        }
    }
    report.calls = aws.counter().since(&before);
    report.mutating_calls = report
        .calls
        .iter()
        .filter(|(op, _)| is_mutating(op))
        .map(|(_, n)| n)
        .sum::<u64>()
        - report.lease_calls;
    Ok(report)
}

/// What one assign-policy run works with.
struct Run<'a> {
    aws: &'a Aws,
    inventory: &'a Inventory,
    config: &'a Config,
    assets: &'a [Asset],
    targets: Targets<'a>,
    org_role: Option<&'a str>,
    apply: bool,
    now: DateTime<Utc>,
}

impl Run<'_> {
    /// Every scope of one account: each reconciled, or reported failed.
    async fn account(&self, account: &AccountId, regions: &[Region], report: &mut PolicyReport) {
        let reached = match dr_regions(self.config, regions) {
            Ok(drs) => clients_for_account(self.aws, account, regions, &drs, self.org_role)
                .await
                .map(|clients| (drs, clients)),
            Err(e) => Err(e),
        };
        let (drs, clients) = match reached {
            Ok(reached) => reached,
            Err(error) => {
                for region in regions {
                    report
                        .failures
                        .push(ScopeFailure::new(account, region, &error));
                }
                return;
            }
        };
        let account_regions: Vec<&str> = regions.iter().map(Region::as_str).collect();
        for region in regions {
            let scope = Scope {
                account: account.clone(),
                region: region.clone(),
            };
            let target = ScopeTarget {
                scope: &scope,
                dr: &drs[region],
                clients: &clients,
                account_regions: &account_regions,
            };
            let in_scope: Vec<&Asset> = self
                .assets
                .iter()
                .filter(|a| a.scope() == scope && self.targets.acts_on(a))
                .collect();
            let assigned = assign_scope(
                &target,
                self.inventory,
                self.config,
                &in_scope,
                self.apply,
                self.now,
            )
            .await;
            match assigned {
                Ok(plan) => report.scopes.push(plan),
                Err(error) => report
                    .failures
                    .push(ScopeFailure::new(account, region, &error)),
            }
        }
    }
}

/// One account and region to reconcile, with the clients of its account.
struct ScopeTarget<'a> {
    scope: &'a Scope,
    dr: &'a Region,
    clients: &'a HashMap<String, ScopeClients>,
    account_regions: &'a [&'a str],
}

async fn assign_scope(
    target: &ScopeTarget<'_>,
    inventory: &Inventory,
    config: &Config,
    in_scope: &[&Asset],
    apply: bool,
    now: DateTime<Utc>,
) -> Result<ScopePlan, AwsError> {
    let settings = config.protection();
    let ScopeTarget {
        scope,
        dr,
        clients,
        account_regions,
    } = target;
    let (account, region) = (&scope.account, &scope.region);
    let client = |region: &Region| {
        clients
            .get(region.as_str())
            .ok_or_else(|| AwsError::Malformed(format!("no clients for region {region}")))
    };
    let primary = client(region)?;
    let vault_regions: Vec<&ScopeClients> = vec![primary, client(dr)?];
    let mut actual = backup::read_state(&vault_regions, &settings.kms_key_alias).await?;
    let desired = protection::render(config, account.as_str(), region.as_str(), account_regions)
        .map_err(AwsError::Configuration)?;
    let backup_actions = protection::diff(&actual.state, &desired);
    let unreconciled = protection::unreconciled(&actual.state, &desired);
    let owned: Vec<Asset> = in_scope.iter().map(|a| (*a).clone()).collect();
    let tag_changes = protection::tag_changes(config, &owned);
    let needing_native: Vec<&Asset> = in_scope
        .iter()
        .copied()
        .filter(|a| backed_up(a).is_some())
        .collect();
    let native_actions: Vec<NativeAction> = native_states(primary, &needing_native)
        .await?
        .iter()
        .flat_map(|(asset, state)| protection::native_actions(config, asset, state))
        .collect();
    let mut plan = ScopePlan {
        scope: Some((*scope).clone()),
        backup_actions,
        tag_changes,
        cautions: native_actions
            .iter()
            .filter_map(NativeAction::caution)
            .collect(),
        native_actions,
        unreconciled,
        assignments_recorded: 0,
    };
    if !apply {
        return Ok(plan);
    }
    let key_policy = protection::vault_key_policy(settings, region.partition(), account.as_str());
    let key = backup::VaultKey {
        alias: &settings.kms_key_alias,
        policy: &key_policy,
    };
    backup::apply(
        clients,
        region.as_str(),
        &key,
        &mut actual,
        &plan.backup_actions,
    )
    .await?;
    let tag_clients: BTreeMap<String, ScopeClients> = clients
        .iter()
        .map(|(r, c)| (r.clone(), c.clone()))
        .collect();
    protect::apply_tags(&tag_clients, &plan.tag_changes).await?;
    for action in &plan.native_actions {
        protect::apply_native(primary, action).await?;
    }
    let changes: Vec<Change> = in_scope
        .iter()
        .filter(|a| a.state == AssetState::Present && a.classification.is_some())
        .map(|a| {
            let plan_name =
                backed_up(a).and_then(|tier| protection::plan_for(config, tier, a.kind));
            let plan_version = plan_name
                .as_ref()
                .and_then(|p| actual.plan_versions.get(p).cloned());
            Change::Assigned {
                arn: a.arn.clone(),
                assignment: Assignment {
                    tier: backed_up(a).map(str::to_string),
                    plan: plan_name,
                    plan_version,
                    assigned_at: now,
                },
            }
        })
        .collect();
    plan.assignments_recorded = inventory.apply(&owned, &changes).await?.written;
    Ok(plan)
}

fn to_utc(t: Option<&aws_smithy_types::DateTime>) -> Option<DateTime<Utc>> {
    t.and_then(|t| Utc.timestamp_opt(t.secs(), t.subsec_nanos()).single())
}

fn recovery_point(
    vault: &aws_sdk_backup::types::BackupVaultListMember,
    point: &aws_sdk_backup::types::RecoveryPointByBackupVault,
    region: &str,
    account: &str,
    denies_deletion: bool,
) -> Option<RecoveryPoint> {
    let lifecycle = point.lifecycle();
    Some(RecoveryPoint {
        arn: point.recovery_point_arn()?.to_string(),
        resource_arn: point.resource_arn()?.to_string(),
        vault_name: point.backup_vault_name().unwrap_or_default().to_string(),
        region: region.to_string(),
        account: account.to_string(),
        created: to_utc(point.creation_date())?,
        status: point
            .status()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default(),
        encrypted: point.is_encrypted(),
        kms_key_arn: point.encryption_key_arn().map(str::to_string),
        delete_after_days: lifecycle
            .and_then(|l| l.delete_after_days())
            .and_then(|d| u64::try_from(d).ok()),
        move_to_cold_after_days: lifecycle
            .and_then(|l| l.move_to_cold_storage_after_days())
            .and_then(|d| u64::try_from(d).ok()),
        continuous: point
            .recovery_point_arn()
            .is_some_and(|a| a.contains("continuous")),
        vault_locked: vault.locked().unwrap_or(false),
        vault_lock_min_retention_days: vault
            .min_retention_days()
            .and_then(|d| u64::try_from(d).ok()),
        vault_denies_manual_deletion: denies_deletion,
        logically_air_gapped: vault
            .vault_type()
            .is_some_and(|t| t.as_str() == "LOGICALLY_AIR_GAPPED_BACKUP_VAULT"),
    })
}

/// Whether a vault policy denies DeleteRecoveryPoint (to anyone).
fn denies_deletion(policy: Option<&str>) -> bool {
    let Some(policy) = policy.and_then(|p| serde_json::from_str::<serde_json::Value>(p).ok())
    else {
        return false;
    };
    let statements = match &policy["Statement"] {
        serde_json::Value::Array(list) => list.clone(),
        other => vec![other.clone()],
    };
    statements.iter().any(|s| {
        s["Effect"] == "Deny"
            && match &s["Action"] {
                serde_json::Value::String(a) => a == "backup:DeleteRecoveryPoint",
                serde_json::Value::Array(list) => {
                    list.iter().any(|a| a == "backup:DeleteRecoveryPoint")
                }
                _ => false,
            }
    })
}

/// Every asset's coverage, from bulk reads: the plans and selections that exist, every
/// vault's recovery points in each region and the DR region, and native state.
pub async fn coverage(
    aws: &Aws,
    inventory: &Inventory,
    config: &Config,
    org_role: Option<&str>,
    targets: Targets<'_>,
    now: DateTime<Utc>,
) -> Result<(Vec<bulwark_core::AssetCoverage>, BTreeMap<String, u64>), AwsError> {
    let before = aws.counter().snapshot();
    let settings = config.protection();
    let assets = inventory.all().await?;
    let mut results = Vec::new();
    for (account, regions) in targets.scopes_by_account(&assets)? {
        let drs = dr_regions(config, &regions)?;
        let clients = clients_for_account(aws, &account, &regions, &drs, org_role).await?;
        let mut points: Vec<RecoveryPoint> = Vec::new();
        let point_regions: BTreeSet<&Region> = regions.iter().chain(drs.values()).collect();
        // Each region's Backup state, read once: its vault policies judge the recovery points,
        // its plans and selections judge the assets.
        let mut states: BTreeMap<String, backup::Actual> = BTreeMap::new();
        for region in point_regions {
            let c = &clients[region.as_str()];
            let state = backup::read_state(&[c], &settings.kms_key_alias).await?;
            for (vault, point) in backup::recovery_points(c).await? {
                let policy = state
                    .state
                    .vaults
                    .get(&(
                        region.to_string(),
                        vault.backup_vault_name().unwrap_or_default().to_string(),
                    ))
                    .and_then(|v| v.access_policy.as_deref());
                points.extend(recovery_point(
                    &vault,
                    &point,
                    region.as_str(),
                    account.as_str(),
                    denies_deletion(policy),
                ));
            }
            states.insert(region.to_string(), state);
        }
        let mut by_resource: BTreeMap<String, Vec<RecoveryPoint>> = BTreeMap::new();
        for point in points {
            by_resource
                .entry(point.resource_arn.clone())
                .or_default()
                .push(point);
        }
        for region in &regions {
            let primary = &clients[region.as_str()];
            let actual = states
                .get(region.as_str())
                .ok_or_else(|| AwsError::Malformed(format!("no Backup state read for {region}")))?;
            let in_scope: Vec<&Asset> = assets
                .iter()
                .filter(|a| {
                    a.account == account && &a.region == region && a.state == AssetState::Present
                })
                .collect();
            let needing_native: Vec<&Asset> = in_scope
                .iter()
                .copied()
                .filter(|a| backed_up(a).is_some())
                .collect();
            let native: BTreeMap<String, NativeState> = native_states(primary, &needing_native)
                .await?
                .into_iter()
                .map(|(a, s)| (a.arn.to_string(), s))
                .collect();
            for asset in in_scope {
                let arn = asset.arn.to_string();
                let selected_by: Vec<String> = actual
                    .state
                    .selections
                    .values()
                    .filter(|s| protection::selection_matches(s, &arn, &asset.tags))
                    .map(|s| s.plan_name.clone())
                    .collect();
                let rules: Vec<&bulwark_core::PlanRule> = selected_by
                    .iter()
                    .filter_map(|p| actual.state.plans.get(p))
                    .flat_map(|p| p.rules.iter())
                    .filter(|r| !r.continuous_backup)
                    .collect();
                let evidence = Evidence {
                    plan_frequencies: rules
                        .iter()
                        .filter_map(|r| AwsCron::parse(&r.schedule).ok().and_then(|c| c.interval()))
                        .collect(),
                    plan_retention_days: rules
                        .iter()
                        .filter_map(|r| r.lifecycle.as_ref().and_then(|l| l.delete_after_days))
                        .collect(),
                    selected_by,
                    recovery_points: by_resource.get(&arn).cloned().unwrap_or_default(),
                    native: native.get(&arn).cloned().unwrap_or_default(),
                    last_restore_test: None,
                };
                results.push(coverage::evaluate(config, asset, &evidence, now));
            }
        }
    }
    Ok((results, aws.counter().since(&before)))
}

/// Reading nothing but writing one message: the alert topic.
pub const NOTIFY: &[crate::permissions::Permission] = &[crate::permissions::p(
    "sns:Publish",
    "page about critical-tier assets unprotected or past their RPO",
)];

/// Publish `findings` to `topic_arn` (one message), when there are any. Returns the message id.
pub async fn notify(
    aws: &Aws,
    topic_arn: &str,
    findings: &[String],
) -> Result<Option<String>, AwsError> {
    if findings.is_empty() {
        return Ok(None);
    }
    let region = topic_arn
        .split(':')
        .nth(3)
        .and_then(|r| Region::parse(r).ok());
    let sns = aws.sns(region.as_ref());
    let (subject, message) = bulwark_core::alerts::alert_message(findings);
    let out = sns
        .publish()
        .topic_arn(topic_arn)
        .subject(subject)
        .message(message)
        .send()
        .await
        .map_err(|e| AwsError::sdk("sns:Publish", e))?;
    Ok(out.message_id().map(str::to_string))
}
