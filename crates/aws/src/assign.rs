//! assign-policy and coverage: facts, then decisions, then actions. Each account's state is
//! read once (`facts`); the plan and the coverage are core's functions of those facts; the
//! changes are then made and folded back into the facts, so coverage after an apply reads
//! nothing again. `plan` reads only; `apply` changes only what differs, so a second apply
//! makes no mutating call.

use std::collections::{BTreeMap, HashMap};

use bulwark_core::backup_cost::{added_cost, storage_cost, AddedCost, StorageCost};
use bulwark_core::facts;
use bulwark_core::legal_hold::{self, LegalHold};
use bulwark_core::org_policy;
use bulwark_core::protection::{self, Action, NativeAction, TagChange};
use bulwark_core::{
    AccountId, Asset, AssetCoverage, AssetState, Change, Config, Region, ResourceArn, Scope,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::backup;
use crate::calls::is_mutating;
use crate::clients::{Aws, ScopeClients};
use crate::error::AwsError;
use crate::facts::{AccountFacts, Reading};
use crate::lease::Lease;
use crate::protect;
use crate::store::Inventory;

/// How long an account's lease lasts if its run dies: a Lambda's longest run.
const LEASE_TTL: std::time::Duration = std::time::Duration::from_secs(15 * 60);
/// How long a run waits for another run of the same account to finish.
const LEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

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
    /// What the tier tags decided add to the monthly bill, at the least.
    #[serde(default)]
    pub added_cost: AddedCost,
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

pub(crate) async fn clients_for_account(
    aws: &Aws,
    account: &AccountId,
    regions: &[Region],
    dr_regions: &BTreeMap<Region, Region>,
    org_role: Option<&str>,
) -> Result<HashMap<String, ScopeClients>, AwsError> {
    let home = aws.home_account().await?;
    reachable(&home, account, org_role)?;
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

/// What a run does in each scope it reaches.
#[derive(Debug, Clone, Copy)]
struct Work {
    /// Decide the changes (assign-policy's plan).
    reconcile: bool,
    /// Make them.
    apply: bool,
    /// Judge coverage (after the changes, from the same facts).
    judge: bool,
    /// Read the stores' replication too (the report's; a call a bucket or table).
    replication: bool,
    /// Read the legal holds and the points they keep (the report's).
    legal_holds: bool,
}

/// What a run produced: the policy report, the coverage judged, and the errors of the
/// scopes that failed (also in the report, as text).
struct Outcome {
    report: PolicyReport,
    judged: Vec<AssetCoverage>,
    /// What keeping the judged accounts' recovery points costs (when coverage is judged).
    storage: StorageCost,
    /// Every recovery point of the judged accounts' vaults, as read for coverage.
    points: Vec<bulwark_core::coverage::RecoveryPoint>,
    /// The legal holds read, and the regions whose holds could not be (the report's).
    legal_holds: Vec<LegalHold>,
    legal_holds_unread: Vec<String>,
    errors: Vec<AwsError>,
}

/// Plan (apply = false) or apply assign-policy for the targeted stores of the inventory.
pub async fn assign(
    aws: &Aws,
    inventory: &Inventory,
    config: &Config,
    org_role: Option<&str>,
    targets: Targets<'_>,
    apply: bool,
    now: DateTime<Utc>,
) -> Result<PolicyReport, AwsError> {
    let work = Work {
        reconcile: true,
        apply,
        judge: false,
        replication: false,
        legal_holds: false,
    };
    let outcome = run(aws, inventory, config, org_role, targets, work, now).await?;
    Ok(outcome.report)
}

/// Every targeted store's coverage, from bulk reads: the plans and selections that exist,
/// every vault's recovery points in each region and its DR region, and native state. Any
/// scope that cannot be read fails the whole.
pub async fn coverage(
    aws: &Aws,
    inventory: &Inventory,
    config: &Config,
    org_role: Option<&str>,
    targets: Targets<'_>,
    now: DateTime<Utc>,
) -> Result<(Vec<AssetCoverage>, BTreeMap<String, u64>), AwsError> {
    let work = Work {
        reconcile: false,
        apply: false,
        judge: true,
        replication: false,
        legal_holds: false,
    };
    let outcome = run(aws, inventory, config, org_role, targets, work, now).await?;
    if let Some(error) = outcome.errors.into_iter().next() {
        return Err(error);
    }
    Ok((outcome.judged, outcome.report.calls))
}

/// What the report shows besides the policy: coverage as `coverage` judges it, what keeping
/// the recovery points costs, and the legal holds.
#[derive(Debug)]
pub struct ReportFacts {
    pub judged: Vec<AssetCoverage>,
    pub storage: StorageCost,
    pub legal_holds: Vec<LegalHold>,
    /// `account/region: why` of each region whose legal holds could not be read.
    pub legal_holds_unread: Vec<String>,
}

/// The report's facts, from one read of every account.
pub async fn coverage_and_cost(
    aws: &Aws,
    inventory: &Inventory,
    config: &Config,
    org_role: Option<&str>,
    now: DateTime<Utc>,
) -> Result<ReportFacts, AwsError> {
    let work = Work {
        reconcile: false,
        apply: false,
        judge: true,
        replication: true,
        legal_holds: true,
    };
    let outcome = run(
        aws,
        inventory,
        config,
        org_role,
        Targets::Everything,
        work,
        now,
    )
    .await?;
    if let Some(error) = outcome.errors.into_iter().next() {
        return Err(error);
    }
    Ok(ReportFacts {
        judged: outcome.judged,
        storage: outcome.storage,
        legal_holds: outcome.legal_holds,
        legal_holds_unread: outcome.legal_holds_unread,
    })
}

/// assign-policy's invocation: apply, then judge coverage from the same facts and the
/// changes just made, reading each thing once, and price the recovery points read. A scope
/// that failed is in the report's failures and is not judged.
pub async fn apply_and_judge(
    aws: &Aws,
    inventory: &Inventory,
    config: &Config,
    org_role: Option<&str>,
    targets: Targets<'_>,
    now: DateTime<Utc>,
) -> Result<(PolicyReport, Vec<AssetCoverage>, StorageCost), AwsError> {
    let work = Work {
        reconcile: true,
        apply: true,
        judge: true,
        replication: false,
        legal_holds: false,
    };
    let outcome = run(aws, inventory, config, org_role, targets, work, now).await?;
    Ok((outcome.report, outcome.judged, outcome.storage))
}

async fn run(
    aws: &Aws,
    inventory: &Inventory,
    config: &Config,
    org_role: Option<&str>,
    targets: Targets<'_>,
    work: Work,
    now: DateTime<Utc>,
) -> Result<Outcome, AwsError> {
    let before = aws.counter().snapshot();
    let assets = inventory.all().await?;
    let restore_tests = if work.judge {
        crate::restore::history::last_tests(inventory).await?
    } else {
        BTreeMap::new()
    };
    let mut outcome = Outcome {
        report: PolicyReport {
            applied: work.apply,
            warnings: config.warnings().iter().map(|w| w.to_string()).collect(),
            ..PolicyReport::default()
        },
        judged: Vec::new(),
        storage: StorageCost::default(),
        points: Vec::new(),
        legal_holds: Vec::new(),
        legal_holds_unread: Vec::new(),
        errors: Vec::new(),
    };
    let mut scopes = targets.scopes_by_account(&assets)?;
    // The central backup account's vaults are made and kept by a run over everything, whether
    // or not the account holds stores of its own.
    let central = config.central_backup();
    if let Some(central) =
        central.filter(|_| work.reconcile && matches!(targets, Targets::Everything))
    {
        let (account, regions) = central_scopes(central)?;
        let home = aws.home_account().await?;
        match reachable(&home, &account, org_role) {
            Ok(()) => {
                let known = scopes.entry(account).or_default();
                for region in regions {
                    if !known.contains(&region) {
                        known.push(region);
                    }
                }
            }
            Err(error) => outcome.fail(&account, &regions, error),
        }
    }
    let central_points = match central.filter(|_| work.judge) {
        Some(central) => match read_central_points(aws, config, central, org_role).await {
            Ok(points) => points,
            Err(error) => {
                outcome.report.warnings.push(format!(
                    "the central backup account {} could not be read, so no store's copies \
                     there were seen: {error}",
                    central.account
                ));
                BTreeMap::new()
            }
        },
        None => BTreeMap::new(),
    };
    // Their storage is priced once: with the central account's own points when a run visits it.
    if !central.is_some_and(|c| scopes.keys().any(|a| a.as_str() == c.account)) {
        outcome
            .points
            .extend(central_points.values().flatten().cloned());
    }
    let run = Run {
        aws,
        inventory,
        config,
        assets: &assets,
        restore_tests: &restore_tests,
        central_points: &central_points,
        targets,
        org_role,
        work,
        now,
    };
    // One account or region failing never stops the others: it is reported, with whether a
    // retry may help, and the rest completes.
    for (account, regions) in scopes {
        if !work.apply {
            run.account(&account, &regions, &mut outcome).await;
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
                run.account(&account, &regions, &mut outcome).await;
                outcome.report.lease_calls += lease.release().await?;
            }
            Err(error) => outcome.fail(&account, &regions, error),
        }
    }
    // A central account's failure says what the account is: its scopes hold the central vaults.
    if let Some(central) = central {
        for failure in outcome
            .report
            .failures
            .iter_mut()
            .filter(|f| f.account.as_str() == central.account)
        {
            failure.error = format!("the central backup account: {}", failure.error);
        }
    }
    let prices = config.backup_storage_prices();
    if work.judge {
        let held = legal_hold::held_points(&outcome.legal_holds);
        outcome.storage = storage_cost(config, prices, &assets, &outcome.points, &held, now);
    }
    if work.reconcile {
        let changes: Vec<_> = outcome
            .report
            .scopes
            .iter()
            .flat_map(|s| s.tag_changes.iter().cloned())
            .collect();
        outcome.report.added_cost = added_cost(config, prices, &assets, &changes);
    }
    let report = &mut outcome.report;
    report.calls = aws.counter().since(&before);
    report.mutating_calls = report
        .calls
        .iter()
        .filter(|(op, _)| is_mutating(op))
        .map(|(_, n)| n)
        .sum::<u64>()
        - report.lease_calls;
    Ok(outcome)
}

/// Whether `account` can be reached as itself: Bulwark's own account, or another through the
/// organization role. Without the role, another account's clients would be this account's,
/// and what is meant for it (vaults, plans, tags) would be made or read here.
fn reachable(
    home: &AccountId,
    account: &AccountId,
    org_role: Option<&str>,
) -> Result<(), AwsError> {
    if account == home || org_role.is_some() {
        return Ok(());
    }
    Err(AwsError::Refused(format!(
        "account {account} is not this account ({home}) and no organization role is set to \
         reach it (BULWARK_ORG_ROLE)"
    )))
}

/// The central backup account and its vaults' regions, parsed.
fn central_scopes(
    central: &bulwark_core::config::CentralBackup,
) -> Result<(AccountId, Vec<Region>), AwsError> {
    let regions = central
        .regions()
        .into_iter()
        .map(Region::parse)
        .collect::<Result<_, _>>()?;
    Ok((AccountId::parse(&central.account)?, regions))
}

/// Every recovery point of the central backup account's vaults, by the ARN of the store it
/// was copied from.
async fn read_central_points(
    aws: &Aws,
    config: &Config,
    central: &bulwark_core::config::CentralBackup,
    org_role: Option<&str>,
) -> Result<BTreeMap<String, Vec<bulwark_core::coverage::RecoveryPoint>>, AwsError> {
    let (account, regions) = central_scopes(central)?;
    let clients = clients_for_account(aws, &account, &regions, &BTreeMap::new(), org_role).await?;
    let mut points: BTreeMap<String, Vec<bulwark_core::coverage::RecoveryPoint>> = BTreeMap::new();
    for region in &regions {
        let c = clients
            .get(region.as_str())
            .ok_or_else(|| AwsError::Malformed(format!("no clients for region {region}")))?;
        for point in
            crate::facts::vault_points(c, &central.vault_name, &config.protection().kms_key_alias)
                .await?
        {
            points
                .entry(point.resource_arn.clone())
                .or_default()
                .push(point);
        }
    }
    Ok(points)
}

impl Outcome {
    fn fail(&mut self, account: &AccountId, regions: &[Region], error: AwsError) {
        for region in regions {
            self.report
                .failures
                .push(ScopeFailure::new(account, region, &error));
        }
        self.errors.push(error);
    }
}

/// What one run works with.
struct Run<'a> {
    aws: &'a Aws,
    inventory: &'a Inventory,
    config: &'a Config,
    assets: &'a [Asset],
    /// Each store's last restore test (read once, when coverage is judged).
    restore_tests: &'a BTreeMap<String, bulwark_core::RestoreTest>,
    /// The recovery points of the central backup account's vaults, by store ARN (read once,
    /// when coverage is judged).
    central_points: &'a BTreeMap<String, Vec<bulwark_core::coverage::RecoveryPoint>>,
    targets: Targets<'a>,
    org_role: Option<&'a str>,
    work: Work,
    now: DateTime<Utc>,
}

impl Run<'_> {
    /// Every scope of one account: its state read once, then each scope reconciled and
    /// judged, or reported failed.
    async fn account(&self, account: &AccountId, regions: &[Region], outcome: &mut Outcome) {
        let settings = self.config.protection();
        let reached = match dr_regions(self.config, regions) {
            Ok(drs) => clients_for_account(self.aws, account, regions, &drs, self.org_role)
                .await
                .map(|clients| (drs, clients)),
            Err(e) => Err(e),
        };
        let (drs, clients) = match reached {
            Ok(reached) => reached,
            Err(error) => return outcome.fail(account, regions, error),
        };
        let stores: Vec<&Asset> = self
            .assets
            .iter()
            .filter(|a| {
                &a.account == account
                    && regions.contains(&a.region)
                    && a.state == AssetState::Present
            })
            .collect();
        // Coverage judges every store of a scope; changes touch only the targeted ones.
        let native_needed: Vec<&Asset> = stores
            .iter()
            .copied()
            .filter(|a| protection::backed_up_tier(self.config, a).is_some())
            .filter(|a| self.work.judge || self.targets.acts_on(a))
            .collect();
        let reading = Reading {
            kms_key_alias: &settings.kms_key_alias,
            recovery_points: self.work.judge,
            versioning_from_config: settings.versioning_from_config,
            replication: self.work.replication,
            legal_holds: self.work.legal_holds,
            noncurrent_rules: self
                .config
                .tiers()
                .iter()
                .any(|t| t.noncurrent_versions.is_some()),
            s3_replication: self.config.tiers().iter().any(|t| t.s3_replication),
        };
        let mut facts = AccountFacts::read(&clients, regions, &drs, &native_needed, reading).await;
        // Central mode: the plans that protect this account's stores are its effective backup
        // policy's, read once from the organization.
        let effective = match (
            self.work.judge || self.work.reconcile,
            self.config.organization_policies(),
        ) {
            (true, Some(_)) => {
                match crate::org_policy::effective(&self.aws.organizations(), account.as_str())
                    .await
                {
                    Ok(effective) => effective,
                    Err(error) => return outcome.fail(account, regions, error),
                }
            }
            _ => None,
        };
        if self.work.judge {
            outcome
                .points
                .extend(facts.recovery_points.values().flatten().cloned());
        }
        outcome
            .legal_holds
            .extend(std::mem::take(&mut facts.legal_holds));
        outcome
            .legal_holds_unread
            .extend(std::mem::take(&mut facts.legal_holds_unread));
        // The central account's copies are evidence for the stores they came from; the central
        // account's own facts hold them already.
        if self
            .config
            .central_backup()
            .is_some_and(|c| c.account != account.as_str())
        {
            for store in &stores {
                if let Some(points) = self.central_points.get(&store.arn.to_string()) {
                    facts
                        .recovery_points
                        .entry(store.arn.to_string())
                        .or_default()
                        .extend(points.iter().cloned());
                }
            }
        }

        for region in regions {
            let scope = Scope {
                account: account.clone(),
                region: region.clone(),
            };
            let in_scope: Vec<&Asset> = stores
                .iter()
                .copied()
                .filter(|a| &a.region == region)
                .collect();
            let dr = &drs[region];
            if let Some(error) = facts.unread(region, dr) {
                outcome.fail(account, std::slice::from_ref(region), error);
                continue;
            }
            let mut tagged: Option<Vec<Asset>> = None;
            if self.work.reconcile {
                let target = ScopeTarget {
                    scope: &scope,
                    dr,
                    clients: &clients,
                };
                let acted: Vec<&Asset> = in_scope
                    .iter()
                    .copied()
                    .filter(|a| self.targets.acts_on(a))
                    .collect();
                match self
                    .reconcile(&target, &mut facts, &acted, effective.as_ref())
                    .await
                {
                    Ok(plan) => {
                        if self.work.apply {
                            let owned: Vec<Asset> = in_scope.iter().map(|a| (*a).clone()).collect();
                            tagged = Some(facts::tags_after(&owned, &plan.tag_changes));
                        }
                        outcome.report.scopes.push(plan);
                    }
                    Err(error) => {
                        outcome.fail(account, std::slice::from_ref(region), error);
                        continue;
                    }
                }
            }
            if self.work.judge {
                let judged: Vec<&Asset> = match &tagged {
                    Some(after) => after.iter().collect(),
                    None => in_scope,
                };
                let mut scope_facts = facts.scope(region, dr, &judged, self.restore_tests);
                if let Some(content) = &effective {
                    let organization =
                        org_policy::effective_state(content, account.as_str(), region.as_str());
                    scope_facts.backup.plans.extend(organization.plans);
                    scope_facts
                        .backup
                        .selections
                        .extend(organization.selections);
                }
                let mut coverage = facts::judge(self.config, &scope_facts, &judged, self.now);
                for store in &mut coverage {
                    if let Some(read) = facts.replication.get(&store.arn) {
                        store.replication = Some(read.clone());
                    }
                }
                outcome.judged.extend(coverage);
            }
        }
    }

    /// Decide one scope's changes from the facts and, when applying, make them and fold them
    /// back into the facts.
    async fn reconcile(
        &self,
        target: &ScopeTarget<'_>,
        facts: &mut AccountFacts,
        in_scope: &[&Asset],
        effective: Option<&serde_json::Value>,
    ) -> Result<ScopePlan, AwsError> {
        let config = self.config;
        let settings = config.protection();
        let ScopeTarget { scope, dr, clients } = target;
        let (account, region) = (&scope.account, &scope.region);
        let primary = clients
            .get(region.as_str())
            .ok_or_else(|| AwsError::Malformed(format!("no clients for region {region}")))?;
        let mut actual = facts.scope_actual(region, dr);
        let mut desired = protection::render(config, account.as_str(), region.as_str())
            .map_err(AwsError::Configuration)?;
        if config.organization_policies().is_some() {
            let organization = effective
                .map(|content| {
                    org_policy::effective_state(content, account.as_str(), region.as_str())
                })
                .unwrap_or_default();
            org_policy::keep_until_covered(&mut desired, &actual.state, &organization);
        }
        let owned: Vec<Asset> = in_scope.iter().map(|a| (*a).clone()).collect();
        let native_actions: Vec<NativeAction> = in_scope
            .iter()
            .flat_map(|asset| {
                let state = facts
                    .native
                    .get(&asset.arn.to_string())
                    .cloned()
                    .unwrap_or_default();
                protection::native_actions(config, asset, &state)
            })
            .collect();
        let mut plan = ScopePlan {
            scope: Some((*scope).clone()),
            backup_actions: protection::diff(&actual.state, &desired),
            tag_changes: protection::tag_changes(config, &owned),
            cautions: native_actions
                .iter()
                .filter_map(NativeAction::caution)
                .collect(),
            native_actions,
            unreconciled: protection::unreconciled(&actual.state, &desired)
                .into_iter()
                .chain(in_scope.iter().filter_map(|asset| {
                    let state = facts.native.get(&asset.arn.to_string())?;
                    protection::replication_refusal(config, asset, state)
                }))
                .collect(),
            assignments_recorded: 0,
        };
        if !self.work.apply {
            return Ok(plan);
        }
        let key_policy = match config
            .central_backup()
            .filter(|c| c.account == account.as_str())
        {
            Some(central) => protection::central_key_policy(
                settings,
                &central.organization_id,
                region.partition(),
                account.as_str(),
            ),
            None => protection::vault_key_policy(settings, region.partition(), account.as_str()),
        };
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
        actual.state = protection::apply(&actual.state, &plan.backup_actions);
        let plan_versions = actual.plan_versions.clone();
        facts.absorb(region, dr, actual);
        let tag_clients: BTreeMap<String, ScopeClients> = clients
            .iter()
            .map(|(r, c)| (r.clone(), c.clone()))
            .collect();
        protect::apply_tags(&tag_clients, &plan.tag_changes).await?;
        for action in &plan.native_actions {
            protect::apply_native(clients, primary, action).await?;
        }
        facts.native = facts::native_after(&facts.native, &plan.native_actions);
        let changes: Vec<Change> = owned
            .iter()
            .filter(|a| a.classification.is_some())
            .map(|a| Change::Assigned {
                arn: a.arn.clone(),
                assignment: facts::assignment(config, a, &plan_versions, self.now),
            })
            .collect();
        plan.assignments_recorded = self.inventory.apply(&owned, &changes).await?.written;
        Ok(plan)
    }
}

/// One account and region to reconcile, with the clients of its account.
struct ScopeTarget<'a> {
    scope: &'a Scope,
    dr: &'a Region,
    clients: &'a HashMap<String, ScopeClients>,
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
