//! What the Lambda functions and the CLI do, composed from the domain's decisions and the
//! adapters' calls. Both entry points call these, so they behave the same.

use std::collections::{BTreeMap, BTreeSet};

use bulwark_core::{classify, AccountId, AssetState, Change, Config, Region, ResourceArn, Scope};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::clients::{Aws, Reach};
use crate::discovery::{self, Observation};
use crate::error::AwsError;
use crate::store::Inventory;

/// A listing that failed, as reported to the caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureReport {
    pub account: AccountId,
    /// None when the account's regions could not be listed at all.
    pub region: Option<Region>,
    /// None when the whole scope failed, not one kind's listing.
    pub kind: Option<bulwark_core::Kind>,
    pub error: String,
    pub retryable: bool,
}

/// What discovery did. `scopes` is what classify takes next.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoverSummary {
    pub scopes: Vec<Scope>,
    /// The one store a change event named: what classify and assign-policy act on next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<ResourceArn>,
    pub seen: usize,
    pub written: usize,
    pub unchanged: usize,
    pub marked_gone: usize,
    pub failures: Vec<FailureReport>,
    /// Some account, region or kind failed (named in `failures`); the rest completed.
    #[serde(default)]
    pub partial: bool,
    /// AWS API requests by operation, the inventory's included.
    pub calls: BTreeMap<String, u64>,
    /// The kinds of each scope AWS Config gave (the rest were listed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub from_config: Vec<ScopeKind>,
    /// The scopes whose configuration items could not be read, and why: listed instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub config_fallbacks: Vec<FailureReport>,
}

/// One kind of one scope.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScopeKind {
    pub scope: Scope,
    pub kind: bulwark_core::Kind,
}

/// A full sweep of every account and region in reach by the API's listings, then the
/// inventory brought up to date.
pub async fn discover_all(
    aws: &Aws,
    inventory: &Inventory,
    reach: &Reach,
    concurrency: usize,
    now: DateTime<Utc>,
) -> Result<DiscoverSummary, AwsError> {
    discover_all_from(
        aws,
        inventory,
        reach,
        concurrency,
        &discovery::Source::Api,
        now,
    )
    .await
}

/// The same from `source`: with AWS Config, each region's recorded kinds from its
/// configuration items, the rest (and a region whose items cannot be read) by the listings.
pub async fn discover_all_from(
    aws: &Aws,
    inventory: &Inventory,
    reach: &Reach,
    concurrency: usize,
    source: &discovery::Source,
    now: DateTime<Utc>,
) -> Result<DiscoverSummary, AwsError> {
    let before = aws.counter().snapshot();
    let accounts = aws.scopes(reach).await?;
    sweep_accounts(aws, inventory, accounts, concurrency, source, now, before).await
}

/// The scopes in reach, each a shard a fan-out sweeps on its own; and the accounts whose
/// regions could not be listed.
pub async fn shards(aws: &Aws, reach: &Reach) -> Result<Shards, AwsError> {
    let accounts = aws.scopes(reach).await?;
    Ok(Shards {
        shards: accounts.iter().flat_map(|a| a.scopes()).collect(),
        failures: unreachable(&accounts),
    })
}

/// The accounts whose regions could not be listed, as failures.
fn unreachable(accounts: &[crate::clients::AccountClients]) -> Vec<FailureReport> {
    accounts
        .iter()
        .filter_map(|a| {
            a.unreachable.as_ref().map(|error| FailureReport {
                account: a.account.clone(),
                region: None,
                kind: None,
                error: error.to_string(),
                retryable: error.is_retryable(),
            })
        })
        .collect()
}

/// A sweep's shards.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shards {
    pub shards: Vec<Scope>,
    pub failures: Vec<FailureReport>,
}

/// One shard's sweep: `scope` alone (entered through `reach`'s role when it is a member
/// account's), then its records brought up to date.
pub async fn discover_shard(
    aws: &Aws,
    inventory: &Inventory,
    reach: &Reach,
    scope: Scope,
    source: &discovery::Source,
    now: DateTime<Utc>,
) -> Result<DiscoverSummary, AwsError> {
    let before = aws.counter().snapshot();
    let account = aws.account_scope(&scope, reach.org_role.as_deref()).await?;
    sweep_accounts(aws, inventory, vec![account], 1, source, now, before).await
}

/// Sweep `accounts`' scopes and write each as it is swept.
async fn sweep_accounts(
    aws: &Aws,
    inventory: &Inventory,
    accounts: Vec<crate::clients::AccountClients>,
    concurrency: usize,
    source: &discovery::Source,
    now: DateTime<Utc>,
    before: BTreeMap<String, u64>,
) -> Result<DiscoverSummary, AwsError> {
    let reading = discovery::Reading::prepare(source, aws.configservice()).await;
    let failures = unreachable(&accounts);
    // Each scope is written as soon as it is swept, and its stores dropped: memory follows
    // the largest scopes swept at once, not the estate.
    let scopes = discovery::sweep_each(
        accounts,
        concurrency,
        &reading,
        now,
        |scope, swept| async move {
            let seen = swept.assets.iter().map(Vec::len).sum();
            let recorded =
                record_scope(inventory, &scope, swept.assets, &swept.complete, now).await;
            ScopeReport {
                scope,
                seen,
                recorded,
                failures: swept.failures,
                from_config: swept.from_config,
                config_fallbacks: swept.config_fallbacks,
            }
        },
    )
    .await;
    let mut summary = DiscoverSummary {
        failures,
        ..DiscoverSummary::default()
    };
    let mut scopes = scopes;
    scopes.sort_by(|a, b| a.scope.cmp(&b.scope));
    for report in scopes {
        summary.seen += report.seen;
        summary
            .failures
            .extend(report.failures.iter().map(|f| FailureReport {
                account: f.scope.account.clone(),
                region: Some(f.scope.region.clone()),
                kind: Some(f.kind),
                error: f.error.to_string(),
                retryable: f.error.is_retryable(),
            }));
        summary.from_config.extend(
            report
                .from_config
                .into_iter()
                .map(|(scope, kind)| ScopeKind { scope, kind }),
        );
        summary
            .config_fallbacks
            .extend(
                report
                    .config_fallbacks
                    .into_iter()
                    .map(|(scope, error)| FailureReport {
                        account: scope.account.clone(),
                        region: Some(scope.region.clone()),
                        kind: None,
                        error,
                        retryable: false,
                    }),
            );
        // A scope whose records cannot be written (after the retries) is reported; the other
        // scopes are still brought up to date.
        match report.recorded {
            Ok((written, unchanged, marked_gone)) => {
                summary.written += written;
                summary.unchanged += unchanged;
                summary.marked_gone += marked_gone;
                summary.scopes.push(report.scope);
            }
            Err(error) => summary.failures.push(FailureReport {
                account: report.scope.account.clone(),
                region: Some(report.scope.region.clone()),
                kind: None,
                error: error.to_string(),
                retryable: error.is_retryable(),
            }),
        }
    }
    summary.partial = !summary.failures.is_empty();
    summary.calls = aws.counter().since(&before);
    Ok(summary)
}

/// One scope's sweep and its writes, as `discover_all_from` sums them up.
struct ScopeReport {
    scope: Scope,
    seen: usize,
    recorded: Result<(usize, usize, usize), AwsError>,
    failures: Vec<discovery::SweepFailure>,
    from_config: std::collections::BTreeSet<(Scope, bulwark_core::Kind)>,
    config_fallbacks: Vec<(Scope, String)>,
}

/// How many changed stores a sweep writes at a time (four transactions of 100): what it holds
/// of the records it writes.
const WRITE_WINDOW: usize = 400;

/// One scope's sweep written to the inventory: (written, unchanged, marked gone). The scope's
/// records are read as digests (`scope_digests`); a store seen with the same observed facts is
/// neither read nor written, and only the records of the stores that changed or went are read
/// whole, a window at a time.
async fn record_scope(
    inventory: &Inventory,
    scope: &Scope,
    seen: Vec<Vec<bulwark_core::Asset>>,
    complete: &BTreeSet<(Scope, bulwark_core::Kind)>,
    now: DateTime<Utc>,
) -> Result<(usize, usize, usize), AwsError> {
    let digests = inventory.scope_digests(scope).await?;
    let mut seen_arns = BTreeSet::new();
    let (mut written, mut unchanged) = (0, 0);
    let mut window = Vec::new();
    let mut seen = seen.into_iter().flatten().peekable();
    while let Some(asset) = seen.next() {
        seen_arns.insert(asset.arn.clone());
        match digests.get(&asset.arn) {
            Some(stored) if bulwark_core::digest::seen_unchanged(&asset, stored) => unchanged += 1,
            _ => window.push(Change::Observed(Box::new(asset))),
        }
        if window.len() == WRITE_WINDOW || (seen.peek().is_none() && !window.is_empty()) {
            let report =
                write_window(inventory, scope, &digests, std::mem::take(&mut window)).await?;
            written += report.written;
            unchanged += report.unchanged;
        }
    }
    let gone = bulwark_core::digest::gone_candidates(digests.values(), &seen_arns, scope, complete);
    let mut marked_gone = 0;
    for arns in gone.chunks(WRITE_WINDOW) {
        let changes: Vec<Change> = arns
            .iter()
            .map(|arn| Change::Gone {
                arn: arn.clone(),
                at: now,
            })
            .collect();
        let stored = inventory
            .scope_records(scope, &arns.iter().collect::<Vec<_>>())
            .await?;
        marked_gone += changes
            .iter()
            .filter(|c| c.apply(stored.iter().find(|a| &a.arn == c.arn())).is_some())
            .count();
        let report = inventory.apply(&stored, &changes).await?;
        written += report.written;
        unchanged += report.unchanged;
    }
    // After the records: a sweep recorded only once its scope's changes are written, so that a
    // record it left unchanged is never taken as seen by a sweep that died first.
    if let Some(sweep) = bulwark_core::ScopeSweep::of(scope, complete, now) {
        inventory.put_sweep(&sweep).await?;
    }
    Ok((written, unchanged, marked_gone))
}

/// One window of a sweep's changes written: the records of the stores that have one read whole
/// first (they changed, or their record has no digest yet), the new ones written as they were
/// seen. A record without a digest that the change leaves as it is is written once as it is,
/// to get one: later sweeps need not read it.
async fn write_window(
    inventory: &Inventory,
    scope: &Scope,
    digests: &BTreeMap<ResourceArn, bulwark_core::RecordDigest>,
    changes: Vec<Change>,
) -> Result<crate::store::WriteReport, AwsError> {
    let recorded: Vec<&ResourceArn> = changes
        .iter()
        .map(Change::arn)
        .filter(|arn| digests.contains_key(*arn))
        .collect();
    let stored = inventory.scope_records(scope, &recorded).await?;
    let undigested: Vec<bulwark_core::Asset> = changes
        .iter()
        .filter_map(|change| {
            let record = stored.iter().find(|a| &a.arn == change.arn())?;
            let without = digests
                .get(&record.arn)
                .is_some_and(|d| d.observed.is_none());
            (without && change.apply(Some(record)).is_none()).then(|| record.clone())
        })
        .collect();
    let mut report = inventory.apply(&stored, &changes).await?;
    let rewritten = inventory.rewrite(undigested).await?;
    report.written += rewritten;
    report.unchanged = report.unchanged.saturating_sub(rewritten);
    Ok(report)
}

/// One store, after a change event: looked up where it lives (through `org_role` when it is
/// in another account) and its record brought up to date, deletion included.
pub async fn discover_one(
    aws: &Aws,
    inventory: &Inventory,
    arn: &ResourceArn,
    scope: Scope,
    org_role: Option<&str>,
    now: DateTime<Utc>,
) -> Result<DiscoverSummary, AwsError> {
    let before = aws.counter().snapshot();
    let home = aws.home_account().await?;
    let clients = match org_role {
        Some(role) if scope.account != home => aws.member_scope(scope.clone(), role).await,
        _ => aws.home_scope(scope.clone()),
    };
    let observation = discovery::observe_one(&clients, arn, now).await?;
    let change = match observation {
        Observation::Present(asset) => Change::Observed(asset),
        Observation::Gone => Change::Gone {
            arn: arn.clone(),
            at: now,
        },
        Observation::NotAnAsset => {
            tracing::info!(%arn, "not an asset of its own; nothing to record");
            return Ok(DiscoverSummary {
                calls: aws.counter().since(&before),
                ..DiscoverSummary::default()
            });
        }
    };
    let stored: Vec<_> = inventory.get(arn).await?.into_iter().collect();
    let marked_gone = usize::from(
        matches!(change, Change::Gone { .. }) && change.apply(stored.first()).is_some(),
    );
    let report = inventory
        .apply(&stored, std::slice::from_ref(&change))
        .await?;
    Ok(DiscoverSummary {
        scopes: vec![scope],
        arn: Some(arn.clone()),
        seen: usize::from(matches!(change, Change::Observed(_))),
        written: report.written,
        unchanged: report.unchanged,
        marked_gone,
        failures: vec![],
        partial: false,
        calls: aws.counter().since(&before),
        ..DiscoverSummary::default()
    })
}

/// What classification did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClassifySummary {
    pub classified: usize,
    pub written: usize,
    pub unchanged: usize,
    /// Present assets by tier ("not-backed-up" for those not backed up).
    pub by_tier: BTreeMap<String, usize>,
    /// Assets with at least one unknown tag value.
    pub with_unknown_values: usize,
    pub scopes: Vec<Scope>,
}

/// Classify every present asset of the given scopes.
pub async fn classify_scopes(
    inventory: &Inventory,
    config: &Config,
    scopes: &[Scope],
) -> Result<ClassifySummary, AwsError> {
    let mut summary = ClassifySummary::default();
    let unique: BTreeSet<&Scope> = scopes.iter().collect();
    for scope in unique {
        let stored = inventory.scope_assets(scope).await?;
        let changes: Vec<Change> = stored
            .iter()
            .filter(|a| a.state == AssetState::Present)
            .map(|asset| {
                let classification = classify(config, asset);
                tally(&mut summary, &classification);
                Change::Classified {
                    arn: asset.arn.clone(),
                    classification,
                }
            })
            .collect();
        let report = inventory.apply(&stored, &changes).await?;
        summary.written += report.written;
        summary.unchanged += report.unchanged;
        summary.scopes.push(scope.clone());
    }
    Ok(summary)
}

/// Classify one asset by ARN. An unknown ARN is an error: discovery must have recorded it.
pub async fn classify_one(
    inventory: &Inventory,
    config: &Config,
    arn: &ResourceArn,
) -> Result<ClassifySummary, AwsError> {
    let stored = inventory
        .get(arn)
        .await?
        .ok_or_else(|| AwsError::NotInInventory(arn.to_string()))?;
    let mut summary = ClassifySummary {
        scopes: vec![stored.scope()],
        ..ClassifySummary::default()
    };
    if stored.state == AssetState::Gone {
        return Ok(summary);
    }
    let classification = classify(config, &stored);
    tally(&mut summary, &classification);
    let change = Change::Classified {
        arn: arn.clone(),
        classification,
    };
    let report = inventory
        .apply(std::slice::from_ref(&stored), &[change])
        .await?;
    summary.written = report.written;
    summary.unchanged = report.unchanged;
    Ok(summary)
}

fn tally(summary: &mut ClassifySummary, classification: &bulwark_core::Classification) {
    summary.classified += 1;
    let tier = classification
        .tier
        .clone()
        .unwrap_or_else(|| "not-backed-up".to_string());
    *summary.by_tier.entry(tier).or_default() += 1;
    if !classification.unknown_values.is_empty() {
        summary.with_unknown_values += 1;
    }
}
