//! AWS Backup legal holds: placed, listed and released by the CLI (`bulwark legal-hold`), and
//! read for the report. Where they go and what they are called is decided in core
//! (`bulwark_core::legal_hold`); this reads and writes them, account by account and region by
//! region. One place that cannot be reached fails alone, and says so.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use aws_sdk_backup::types::RecoveryPointSelection;
use bulwark_core::legal_hold::{self, HoldRequest, LegalHold, Placement};
use bulwark_core::{AccountId, Asset, Config, Region};
use chrono::{DateTime, Utc};

use crate::clients::{Aws, ScopeClients};
use crate::error::AwsError;
use crate::permissions::{p, Permission};
use crate::store::Inventory;

/// What the report reads.
pub const LEGAL_HOLD_READ: &[Permission] = &[
    p(
        "backup:ListLegalHolds",
        "list the legal holds of each account and region",
    ),
    p(
        "backup:ListRecoveryPointsByLegalHold",
        "read the recovery points a legal hold keeps",
    ),
];

/// What `bulwark legal-hold` does besides.
pub const LEGAL_HOLD: &[Permission] = &[
    p(
        "backup:CreateLegalHold",
        "place a legal hold on the selected stores' recovery points",
    ),
    p("backup:CancelLegalHold", "release a legal hold"),
];

/// One account and region that could not be read or written.
#[derive(Debug)]
pub struct PlaceFailure {
    pub account: AccountId,
    pub region: Region,
    pub error: AwsError,
}

/// One AWS hold of a request: placed now, or found placed before.
#[derive(Debug, Clone)]
pub struct Placed {
    pub placement: Placement,
    pub id: String,
    pub already: bool,
    /// The recovery points it keeps.
    pub points: usize,
}

/// What `legal-hold create` did.
#[derive(Debug)]
pub struct PlaceOutcome {
    pub key: legal_hold::HoldKey,
    pub placed: Vec<Placed>,
    pub failures: Vec<PlaceFailure>,
}

/// The holds of one account and region, with the points of those that hold.
pub async fn read(c: &ScopeClients) -> Result<Vec<LegalHold>, AwsError> {
    let mut pages = c.backup.list_legal_holds().into_paginator().send();
    let mut holds = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::sdk("backup:ListLegalHolds", e))?;
        for hold in page.legal_holds() {
            let mut read = LegalHold {
                id: hold.legal_hold_id().unwrap_or_default().to_string(),
                account: c.scope.account.clone(),
                region: c.scope.region.clone(),
                title: hold.title().unwrap_or_default().to_string(),
                reason: hold.description().unwrap_or_default().to_string(),
                status: hold
                    .status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                created: hold.creation_date().and_then(time),
                cancelled: hold.cancellation_date().and_then(time),
                points: Vec::new(),
            };
            if read.holding() {
                read.points = points(c, &read.id).await?;
            }
            holds.push(read);
        }
    }
    Ok(holds)
}

async fn points(c: &ScopeClients, id: &str) -> Result<Vec<String>, AwsError> {
    let mut pages = c
        .backup
        .list_recovery_points_by_legal_hold()
        .legal_hold_id(id)
        .into_paginator()
        .send();
    let mut out = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| AwsError::sdk("backup:ListRecoveryPointsByLegalHold", e))?;
        out.extend(
            page.recovery_points()
                .iter()
                .filter_map(|p| p.recovery_point_arn().map(str::to_string)),
        );
    }
    Ok(out)
}

fn time(t: &aws_sdk_backup::primitives::DateTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

/// Place a request's holds: where core says, each once. A place that already has a hold of
/// the request's key is left as it is, so running the request again completes what a run
/// that stopped half-way began and places nothing twice.
pub async fn place(
    aws: &Aws,
    inventory: &Inventory,
    config: &Config,
    org_role: Option<&str>,
    request: &HoldRequest,
) -> Result<PlaceOutcome, AwsError> {
    let assets = inventory.all().await?;
    let placements = legal_hold::placements(config, &assets, request)
        .map_err(|e| AwsError::Refused(e.to_string()))?;
    let key = request.key();
    let mut outcome = PlaceOutcome {
        key: key.clone(),
        placed: Vec::new(),
        failures: Vec::new(),
    };
    let mut by_account: BTreeMap<AccountId, Vec<Placement>> = BTreeMap::new();
    for placement in placements {
        by_account
            .entry(placement.account.clone())
            .or_default()
            .push(placement);
    }
    for (account, placements) in by_account {
        let regions: Vec<Region> = placements.iter().map(|p| p.region.clone()).collect();
        let clients = match clients_in(aws, &account, &regions, org_role).await {
            Ok(clients) => clients,
            Err(error) => {
                fail_all(&mut outcome.failures, &account, &regions, &error);
                continue;
            }
        };
        for placement in placements {
            let Some(c) = clients.get(placement.region.as_str()) else {
                continue;
            };
            match place_one(c, request, &placement).await {
                Ok((id, already, points)) => outcome.placed.push(Placed {
                    placement,
                    id,
                    already,
                    points,
                }),
                Err(error) => outcome.failures.push(PlaceFailure {
                    account: placement.account,
                    region: placement.region,
                    error,
                }),
            }
        }
    }
    Ok(outcome)
}

async fn place_one(
    c: &ScopeClients,
    request: &HoldRequest,
    placement: &Placement,
) -> Result<(String, bool, usize), AwsError> {
    let key = request.key();
    let existing = read(c).await?;
    if let Some(hold) = existing
        .iter()
        .find(|h| h.holding() && h.name() == key.as_str())
    {
        return Ok((hold.id.clone(), true, hold.points.len()));
    }
    let selection = RecoveryPointSelection::builder()
        .set_resource_identifiers(Some(placement.stores.clone()))
        .build();
    let out = c
        .backup
        .create_legal_hold()
        .title(request.title())
        .description(request.reason.trim())
        .idempotency_token(format!("{key}-{}", placement.region))
        .recovery_point_selection(selection)
        .send()
        .await
        .map_err(|e| AwsError::sdk("backup:CreateLegalHold", e))?;
    let id = out.legal_hold_id().unwrap_or_default().to_string();
    let held = points(c, &id).await?;
    Ok((id, false, held.len()))
}

/// Clients for `regions` of `account` (through the organization role in a member account).
async fn clients_in(
    aws: &Aws,
    account: &AccountId,
    regions: &[Region],
    org_role: Option<&str>,
) -> Result<HashMap<String, ScopeClients>, AwsError> {
    crate::assign::clients_for_account(aws, account, regions, &BTreeMap::new(), org_role).await
}

fn fail_all(
    failures: &mut Vec<PlaceFailure>,
    account: &AccountId,
    regions: &[Region],
    error: &AwsError,
) {
    for region in regions {
        failures.push(PlaceFailure {
            account: account.clone(),
            region: region.clone(),
            error: AwsError::Refused(error.to_string()),
        });
    }
}

/// Every hold in reach: each account and region of the inventory, and their DR regions.
pub async fn read_all(
    aws: &Aws,
    assets: &[Asset],
    config: &Config,
    org_role: Option<&str>,
) -> Result<(Vec<LegalHold>, Vec<PlaceFailure>), AwsError> {
    let mut scopes: BTreeMap<AccountId, BTreeSet<Region>> = BTreeMap::new();
    for asset in assets {
        let regions = scopes.entry(asset.account.clone()).or_default();
        regions.insert(asset.region.clone());
        if let Ok(dr) = config.protection().dr_region_for(asset.region.as_str()) {
            regions.insert(Region::parse(&dr)?);
        }
    }
    let mut holds = Vec::new();
    let mut failures = Vec::new();
    for (account, regions) in scopes {
        let regions: Vec<Region> = regions.into_iter().collect();
        let clients = match clients_in(aws, &account, &regions, org_role).await {
            Ok(clients) => clients,
            Err(error) => {
                fail_all(&mut failures, &account, &regions, &error);
                continue;
            }
        };
        for region in &regions {
            let Some(c) = clients.get(region.as_str()) else {
                continue;
            };
            match read(c).await {
                Ok(read) => holds.extend(read),
                Err(error) => failures.push(PlaceFailure {
                    account: account.clone(),
                    region: region.clone(),
                    error,
                }),
            }
        }
    }
    Ok((holds, failures))
}

/// Release the holds of a name (a Bulwark key or an AWS hold id) everywhere in reach.
/// Refused, changing nothing, when a place could not be read: a release must not leave part
/// of a hold behind unseen.
pub async fn release(
    aws: &Aws,
    inventory: &Inventory,
    config: &Config,
    org_role: Option<&str>,
    name: &str,
    reason: &str,
) -> Result<Vec<LegalHold>, AwsError> {
    if reason.trim().is_empty() {
        return Err(AwsError::Refused(
            "releasing a legal hold needs a reason".into(),
        ));
    }
    let assets = inventory.all().await?;
    let (holds, failures) = read_all(aws, &assets, config, org_role).await?;
    if let Some(failure) = failures.into_iter().next() {
        return Err(AwsError::Refused(format!(
            "the legal holds of {}/{} could not be read, so nothing was released: {}",
            failure.account, failure.region, failure.error
        )));
    }
    let released: Vec<LegalHold> = legal_hold::to_release(&holds, name)
        .map_err(|e| AwsError::Refused(e.to_string()))?
        .into_iter()
        .cloned()
        .collect();
    let mut clients: BTreeMap<AccountId, HashMap<String, ScopeClients>> = BTreeMap::new();
    for hold in &released {
        if !clients.contains_key(&hold.account) {
            let regions: Vec<Region> = released
                .iter()
                .filter(|h| h.account == hold.account)
                .map(|h| h.region.clone())
                .collect();
            let reached = clients_in(aws, &hold.account, &regions, org_role).await?;
            clients.insert(hold.account.clone(), reached);
        }
        let c = clients
            .get(&hold.account)
            .and_then(|c| c.get(hold.region.as_str()))
            .ok_or_else(|| AwsError::Malformed(format!("no clients for {}", hold.region)))?;
        c.backup
            .cancel_legal_hold()
            .legal_hold_id(&hold.id)
            .cancel_description(reason.trim())
            .send()
            .await
            .map_err(|e| AwsError::sdk("backup:CancelLegalHold", e))?;
    }
    Ok(released)
}
