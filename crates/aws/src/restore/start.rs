//! A test's first step: the recovery point chosen, and its restore started under the test's
//! name with Bulwark's overrides.

use std::collections::BTreeMap;

use aws_sdk_backup::types::RecoveryPointStatus;
use bulwark_core::restore::{
    self, choose_point, hook_for, metadata_overrides, temporary_instance_class, with_overrides,
    PointChoice, PointFacts,
};
use bulwark_core::{Asset, Config, Kind};
use chrono::{DateTime, Utc};

use super::*;
use crate::clients::{Aws, ScopeClients};
use crate::error::AwsError;
use crate::idempotency;
use crate::store::Inventory;

/// Start a test of `asset`: its newest completed recovery point in `origin`'s region restored
/// under the test's name. `run` names the run the test belongs to: a retried start of the same
/// run's test sends the same idempotency token, so AWS Backup never starts two restores.
pub async fn start(
    aws: &Aws,
    inventory: &Inventory,
    config: &Config,
    asset: &Asset,
    origin: Origin,
    run: &str,
    now: DateTime<Utc>,
) -> Result<Started, AwsError> {
    if let (Kind::Aurora, Some(engine)) = (asset.kind, asset.attributes.engine.as_deref()) {
        if temporary_instance_class(engine, false, None).is_none() {
            return Err(AwsError::RestoreTest(format!(
                "{} is a {engine} Multi-AZ DB cluster: restore tests open a restored Aurora \
                 cluster with an added instance, which a Multi-AZ DB cluster does not take",
                asset.arn
            )));
        }
    }
    let tier = asset
        .classification
        .as_ref()
        .and_then(|c| c.tier.as_deref())
        .and_then(|t| config.tier(t))
        .ok_or_else(|| {
            AwsError::RestoreTest(format!("{} has no tier: classify it first", asset.arn))
        })?;
    let hook = hook_for(tier.restore_test.hook.as_ref(), &asset.tags)
        .map_err(|why| AwsError::RestoreTest(format!("{}: {why}", asset.arn)))?;
    let settings = config.protection();
    let source_region = asset.region.as_str().to_string();
    let region = match origin {
        Origin::Home => source_region.clone(),
        Origin::Dr => settings
            .dr_region_for(&source_region)
            .map_err(AwsError::Configuration)?,
    };
    let clients = clients_in(aws, asset.account.as_str(), &region)?;
    let arn = asset.arn.to_string();
    // The same run chooses the same point (a retried start), another run maybe another.
    let seed_token = idempotency::token(40, "restore-test-point", &(&arn, run))?;
    let seed = u64::from_str_radix(
        &seed_token.trim_start_matches(idempotency::PREFIX)[..15],
        16,
    )
    .unwrap_or(0);
    let (point_arn, vault, point_created) = chosen_point(
        &clients,
        &arn,
        origin,
        &tier.restore_test.recovery_point,
        seed,
        now,
    )
    .await?;
    // StartRestoreJob's IdempotencyToken: AWS documents no limit; 40 characters stay within
    // the 50 of the other Backup tokens.
    let id = idempotency::token(40, "restore-test", &(&arn, &point_arn, origin, run))?;
    let restored_name = restore::restored_name(id.trim_start_matches(idempotency::PREFIX));
    let role = settings.backup_role_arn(asset.region.partition(), asset.account.as_str());
    let restore_started = Utc::now();
    let point = Point {
        arn: &point_arn,
        vault: &vault,
    };
    let network = config.restore_prerequisites(&region);
    let overrides = metadata_overrides(asset.kind, &restored_name, network);
    let restore_job_id = start_restore(&clients, point, &overrides, &role, &id).await?;
    let started = Started {
        id,
        arn,
        kind: asset.kind,
        name: asset.name.clone(),
        tier: tier.name.clone(),
        account: asset.account.as_str().to_string(),
        source_region,
        region,
        origin,
        recovery_point_arn: point_arn,
        vault,
        point_created,
        restored_name,
        restore_job_id,
        started: now,
        restore_started,
        hook,
        purpose: Purpose::Test,
    };
    let window = tier.restore_test.validation_window.as_minutes();
    pending::remember(inventory, &started, window).await?;
    Ok(started)
}

/// The recovery point a test restores, among the store's in the clients' region (for
/// `Origin::Dr`, its copies there): as the tier's policy chooses (core's `choose_point`) for the
/// store's own region, the newest copy in the DR region. Continuous points are left out of a
/// random choice: their creation date is when recording began. Its ARN, vault and time.
async fn chosen_point(
    clients: &ScopeClients,
    arn: &str,
    origin: Origin,
    choice: &PointChoice,
    seed: u64,
    now: DateTime<Utc>,
) -> Result<(String, String, DateTime<Utc>), AwsError> {
    let listed: Vec<_> = clients
        .backup
        .list_recovery_points_by_resource()
        .resource_arn(arn)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::sdk("backup:ListRecoveryPointsByResource", e))?;
    let choice = match origin {
        Origin::Home => *choice,
        Origin::Dr => PointChoice::Latest,
    };
    let random = matches!(choice, PointChoice::Random { .. });
    let mut vaults = BTreeMap::new();
    let points: Vec<PointFacts> = listed
        .iter()
        .filter_map(|p| {
            let point_arn = p.recovery_point_arn()?.to_string();
            if random && bulwark_core::facts::is_continuous(&point_arn) {
                return None;
            }
            vaults.insert(point_arn.clone(), p.backup_vault_name()?.to_string());
            Some(PointFacts {
                arn: point_arn,
                created: to_utc(p.creation_date())?,
                completed: p.status() == Some(&RecoveryPointStatus::Completed),
            })
        })
        .collect();
    let region = clients.scope.region.as_str();
    let chosen = choose_point(&points, &choice, now, seed).ok_or_else(|| {
        AwsError::RestoreTest(match origin {
            Origin::Home => format!("{arn} has no completed recovery point in {region}"),
            Origin::Dr => format!("{arn} has no completed copy in its DR region {region}"),
        })
    })?;
    let vault = vaults.get(&chosen.arn).cloned().unwrap_or_default();
    Ok((chosen.arn.clone(), vault, chosen.created))
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Point<'a> {
    pub arn: &'a str,
    pub vault: &'a str,
}

/// The point's restore metadata with Bulwark's `overrides` (a test's: core's
/// `metadata_overrides`, the test's name and the region's network for a database; a
/// failover's: its plan's), and the restore job started with the idempotency `token`.
pub(crate) async fn start_restore(
    clients: &ScopeClients,
    point: Point<'_>,
    overrides: &[(&str, String)],
    role: &str,
    token: &str,
) -> Result<String, AwsError> {
    let metadata = clients
        .backup
        .get_recovery_point_restore_metadata()
        .backup_vault_name(point.vault)
        .recovery_point_arn(point.arn)
        .send()
        .await
        .map_err(|e| AwsError::sdk("backup:GetRecoveryPointRestoreMetadata", e))?;
    let restore_metadata = with_overrides(
        metadata
            .restore_metadata()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        overrides,
    );
    Ok(clients
        .backup
        .start_restore_job()
        .recovery_point_arn(point.arn)
        .iam_role_arn(role)
        .idempotency_token(token)
        .set_metadata(Some(restore_metadata.into_iter().collect()))
        .send()
        .await
        .map_err(|e| AwsError::sdk("backup:StartRestoreJob", e))?
        .restore_job_id()
        .unwrap_or_default()
        .to_string())
}
