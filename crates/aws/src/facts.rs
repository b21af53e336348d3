//! Reading an account's state once: each region's AWS Backup state (as a store region and as
//! a DR region), the recovery points of its vaults when coverage is judged, and the native
//! protection of the stores that need it. Every decision is made in core from these facts.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bulwark_core::facts::ScopeFacts;
use bulwark_core::protection::NativeState;
use bulwark_core::{Asset, Kind, RecoveryPoint, Region, RestoreTest};
use chrono::{DateTime, TimeZone, Utc};
use futures::stream::{self, StreamExt};

use crate::backup;
use crate::clients::ScopeClients;
use crate::discovery::config_source;
use crate::error::AwsError;
use crate::protect;
use crate::s3_replica;

/// Stores whose native protection is read at once (a call each: PITR, versioning).
const NATIVE_CONCURRENCY: usize = 16;

/// One account as read: what every scope of it is planned from and judged by.
#[derive(Debug, Default)]
pub struct AccountFacts {
    /// Each region's Backup state, with the ids AWS gave it: the store regions and their DR
    /// regions, each read once.
    pub backup: BTreeMap<Region, backup::Actual>,
    /// Recovery points of every vault read, by the ARN of the store they protect (only when
    /// coverage is judged).
    pub recovery_points: BTreeMap<String, Vec<RecoveryPoint>>,
    /// Native protection of the stores that need it, by ARN.
    pub native: BTreeMap<String, NativeState>,
    /// The regions that could not be read, and why.
    pub failed: BTreeMap<Region, AwsError>,
    /// S3 buckets' and DynamoDB tables' replication, by ARN (read for the report).
    pub replication: BTreeMap<String, bulwark_core::replication::Replication>,
    /// The legal holds of every region read (for the report).
    pub legal_holds: Vec<bulwark_core::legal_hold::LegalHold>,
    /// `account/region: why` of each region whose legal holds could not be read.
    pub legal_holds_unread: Vec<String>,
}

/// What to read besides the Backup state.
#[derive(Debug, Clone, Copy)]
pub struct Reading<'a> {
    pub kms_key_alias: &'a str,
    pub recovery_points: bool,
    /// S3 versioning from AWS Config's configuration items where the region records buckets.
    pub versioning_from_config: bool,
    /// Each bucket's lifecycle rule for noncurrent versions (a call a bucket): only when some
    /// tier states one.
    pub noncurrent_rules: bool,
    /// Each bucket's replication configuration (a call a bucket): only when some tier has
    /// `s3_replication`.
    pub s3_replication: bool,
    /// Buckets' replication rules and tables' replicas (a call a store): for the report.
    pub replication: bool,
    /// Each region's legal holds and the points they keep: for the report.
    pub legal_holds: bool,
}

impl AccountFacts {
    /// Read an account once. `stores` are the account's stores that need native protection
    /// read, each in its own region; `regions` the store regions, `drs` each one's DR region.
    /// A region that cannot be read is kept in `failed`; the others are read all the same.
    pub async fn read(
        clients: &HashMap<String, ScopeClients>,
        regions: &[Region],
        drs: &BTreeMap<Region, Region>,
        stores: &[&Asset],
        reading: Reading<'_>,
    ) -> Self {
        let mut facts = AccountFacts::default();
        let every_region: BTreeSet<&Region> = regions.iter().chain(drs.values()).collect();
        for region in every_region {
            let in_region: Vec<&Asset> = stores
                .iter()
                .copied()
                .filter(|a| &a.region == region)
                .collect();
            if let Err(error) = facts
                .read_region(
                    clients,
                    region,
                    regions.contains(region),
                    &in_region,
                    reading,
                )
                .await
            {
                facts.failed.insert(region.clone(), error);
            }
        }
        facts
    }

    async fn read_region(
        &mut self,
        clients: &HashMap<String, ScopeClients>,
        region: &Region,
        store_region: bool,
        stores: &[&Asset],
        reading: Reading<'_>,
    ) -> Result<(), AwsError> {
        let c = clients
            .get(region.as_str())
            .ok_or_else(|| AwsError::Malformed(format!("no clients for region {region}")))?;
        let state = backup::read_state(c, reading.kms_key_alias, store_region).await?;
        if reading.recovery_points {
            let vaults = state
                .listed_vaults
                .get(region.as_str())
                .map(Vec::as_slice)
                .unwrap_or_default();
            let account = c.scope.account.as_str();
            for (vault, point) in backup::recovery_points(c, vaults).await? {
                let name = vault.backup_vault_name().unwrap_or_default().to_string();
                let policy = state
                    .state
                    .vaults
                    .get(&(region.to_string(), name))
                    .and_then(|v| v.access_policy.as_deref());
                if let Some(point) =
                    recovery_point(&vault, &point, region.as_str(), account, policy)
                {
                    self.recovery_points
                        .entry(point.resource_arn.clone())
                        .or_default()
                        .push(point);
                }
            }
        }
        if reading.legal_holds {
            // Not every role may list holds (a member account's); the report says which
            // regions it could not read rather than failing.
            match crate::legal_hold::read(c).await {
                Ok(holds) => self.legal_holds.extend(holds),
                Err(error) => self
                    .legal_holds_unread
                    .push(format!("{}/{region}: {error}", c.scope.account)),
            }
        }
        self.native.extend(native_states(c, stores, reading).await?);
        if reading.replication {
            self.replication
                .extend(crate::replication::read(c, stores).await);
        }
        self.backup.insert(region.clone(), state);
        Ok(())
    }

    /// Why a scope cannot be worked on: its region or its DR region could not be read.
    pub fn unread(&self, region: &Region, dr: &Region) -> Option<AwsError> {
        self.failed
            .get(region)
            .or_else(|| self.failed.get(dr))
            .cloned()
    }

    /// The Backup state one scope is reconciled against: its region's vaults, plans and
    /// selections, and its DR region's vaults and key.
    pub fn scope_actual(&self, region: &Region, dr: &Region) -> backup::Actual {
        let mut actual = self.backup.get(region).cloned().unwrap_or_default();
        if let Some(dr_state) = self.backup.get(dr) {
            actual.state.vaults.extend(
                dr_state
                    .state
                    .vaults
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone())),
            );
            actual.key_arns.extend(
                dr_state
                    .key_arns
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone())),
            );
        }
        actual
    }

    /// Take back what a scope's run left: its region's plans and selections, and each
    /// region's vaults and key, so that the next scope (and coverage) see them unread.
    pub fn absorb(&mut self, region: &Region, dr: &Region, actual: backup::Actual) {
        let backup::Actual {
            state,
            plan_ids,
            plan_versions,
            selection_ids,
            key_arns,
            listed_vaults: _,
        } = actual;
        for r in [region, dr] {
            let entry = self.backup.entry(r.clone()).or_default();
            entry.state.vaults.extend(
                state
                    .vaults
                    .iter()
                    .filter(|((vault_region, _), _)| vault_region == r.as_str())
                    .map(|(k, v)| (k.clone(), v.clone())),
            );
            if let Some(key) = key_arns.get(r.as_str()) {
                entry.key_arns.insert(r.to_string(), key.clone());
            }
        }
        let entry = self.backup.entry(region.clone()).or_default();
        entry.state.plans = state.plans;
        entry.state.selections = state.selections;
        entry.plan_ids = plan_ids;
        entry.plan_versions = plan_versions;
        entry.selection_ids = selection_ids;
    }

    /// The facts one scope is judged by: its region's Backup state, and the recovery points,
    /// native state and last restore test of its stores.
    pub fn scope(
        &self,
        region: &Region,
        dr: &Region,
        stores: &[&Asset],
        restore_tests: &BTreeMap<String, RestoreTest>,
    ) -> ScopeFacts {
        let wanted = |arn: &String| stores.iter().any(|a| a.arn.to_string() == *arn);
        let arns: BTreeSet<String> = stores.iter().map(|a| a.arn.to_string()).collect();
        ScopeFacts {
            backup: self.scope_actual(region, dr).state,
            recovery_points: arns
                .iter()
                .filter_map(|arn| {
                    self.recovery_points
                        .get(arn)
                        .map(|points| (arn.clone(), points.clone()))
                })
                .collect(),
            native: self
                .native
                .iter()
                .filter(|(arn, _)| wanted(arn))
                .map(|(arn, state)| (arn.clone(), state.clone()))
                .collect(),
            restore_tests: arns
                .iter()
                .filter_map(|arn| Some((arn.clone(), restore_tests.get(arn)?.clone())))
                .collect(),
        }
    }
}

async fn native_states(
    clients: &ScopeClients,
    assets: &[&Asset],
    reading: Reading<'_>,
) -> Result<Vec<(String, NativeState)>, AwsError> {
    let versioning_from_config = reading.versioning_from_config;
    // Versioning of the region's buckets in pages of 100 where Config records them; a bucket
    // it does not give (or every bucket, when it cannot be read) takes its own call.
    let versioning = if versioning_from_config && assets.iter().any(|a| a.kind == Kind::S3) {
        match config_source::bucket_versioning(clients).await {
            Ok(versioning) => versioning.unwrap_or_default(),
            Err(error) => {
                tracing::warn!(scope = %clients.scope, %error, "versioning not read from AWS Config; read per bucket");
                BTreeMap::new()
            }
        }
    } else {
        BTreeMap::new()
    };
    let versioning = &versioning;
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
    let results: Vec<Result<(String, NativeState), AwsError>> =
        stream::iter(assets.iter().copied())
            .map(|asset| async move {
                let recorded = match asset.kind {
                    Kind::S3 => versioning.get(&asset.name).copied(),
                    _ => None,
                };
                let mut state = match recorded {
                    Some(enabled) => NativeState {
                        versioning_enabled: Some(enabled),
                        ..NativeState::default()
                    },
                    None => protect::native_state(clients, asset).await?,
                };
                if let Some(days) = retention.get(&asset.arn.to_string()) {
                    state.backup_retention_days = Some(*days);
                }
                if reading.noncurrent_rules && asset.kind == Kind::S3 {
                    state.noncurrent_rule =
                        Some(protect::noncurrent_rule(clients, &asset.name).await?);
                }
                if reading.s3_replication && asset.kind == Kind::S3 {
                    state.s3_replication = Some(s3_replica::read(clients, &asset.name).await?);
                }
                Ok((asset.arn.to_string(), state))
            })
            .buffer_unordered(NATIVE_CONCURRENCY)
            .collect()
            .await;
    results.into_iter().collect()
}

/// The recovery points of one vault of the clients' region (the central backup account's),
/// judged with its lock and access policy; none when the vault does not exist.
pub async fn vault_points(
    c: &ScopeClients,
    vault_name: &str,
    kms_key_alias: &str,
) -> Result<Vec<RecoveryPoint>, AwsError> {
    let state = backup::read_state(c, kms_key_alias, false).await?;
    let region = c.scope.region.to_string();
    let Some(vault) = state.listed_vaults.get(&region).and_then(|vaults| {
        vaults
            .iter()
            .find(|v| v.backup_vault_name() == Some(vault_name))
    }) else {
        return Ok(Vec::new());
    };
    let policy = state
        .state
        .vaults
        .get(&(region.clone(), vault_name.to_string()))
        .and_then(|v| v.access_policy.as_deref());
    Ok(backup::recovery_points(c, std::slice::from_ref(vault))
        .await?
        .iter()
        .filter_map(|(vault, point)| {
            recovery_point(vault, point, &region, c.scope.account.as_str(), policy)
        })
        .collect())
}

fn to_utc(t: Option<&aws_smithy_types::DateTime>) -> Option<DateTime<Utc>> {
    t.and_then(|t| Utc.timestamp_opt(t.secs(), t.subsec_nanos()).single())
}

fn recovery_point(
    vault: &aws_sdk_backup::types::BackupVaultListMember,
    point: &aws_sdk_backup::types::RecoveryPointByBackupVault,
    region: &str,
    account: &str,
    vault_policy: Option<&str>,
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
            .is_some_and(bulwark_core::facts::is_continuous),
        vault_locked: vault.locked().unwrap_or(false),
        vault_lock_min_retention_days: vault
            .min_retention_days()
            .and_then(|d| u64::try_from(d).ok()),
        vault_denies_manual_deletion: bulwark_core::facts::vault_denies_deletion(vault_policy),
        logically_air_gapped: vault
            .vault_type()
            .is_some_and(|t| t.as_str() == "LOGICALLY_AIR_GAPPED_BACKUP_VAULT"),
        size_bytes: point
            .backup_size_in_bytes()
            .and_then(|b| u64::try_from(b).ok()),
        // The listing has no storage class: a point is cold once its lifecycle moved it.
        cold: to_utc(
            point
                .calculated_lifecycle()
                .and_then(|l| l.move_to_cold_storage_at()),
        )
        .is_some_and(|at| at <= Utc::now()),
    })
}
