//! A test's first step: the recovery point chosen, and its restore started under the test's
//! name with Bulwark's overrides.

use std::collections::BTreeMap;

use aws_sdk_backup::types::RecoveryPointStatus;
use bulwark_core::restore::{
    self, choose_point, hook_for, metadata_overrides, regional_metadata, temporary_instance_class,
    test_instance_class, tested_instance_class, with_overrides, PointChoice, PointFacts,
    RestoreSite,
};
use bulwark_core::{Asset, Config, Kind, RestorePrerequisites};
use chrono::{DateTime, Utc};

use super::*;
use crate::clients::{Aws, ScopeClients};
use crate::error::AwsError;
use crate::idempotency;
use crate::permissions::{p, Permission};
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
    let clients = clients_in(aws, asset.account.as_str(), &region).await?;
    let arn = asset.arn.to_string();
    // The same run chooses the same point (a retried start), another run maybe another.
    let seed_token = idempotency::token(40, "restore-test-point", &(&arn, run))?;
    let seed = u64::from_str_radix(
        &seed_token.trim_start_matches(idempotency::PREFIX)[..15],
        16,
    )
    .unwrap_or(0);
    let chosen = chosen_point(
        &clients,
        &arn,
        origin,
        &settings.vault_name,
        &tier.restore_test.recovery_point,
        seed,
        now,
    )
    .await?;
    let latest_restorable = match (origin, chosen.continuous, asset.kind) {
        (Origin::Home, true, Kind::Rds | Kind::Aurora | Kind::S3)
        | (Origin::Home, _, Kind::Dynamodb) => {
            latest_restorable(&clients, asset.kind, &asset.name, &arn).await?
        }
        _ => None,
    };
    let restorable_to = restore::restorable_to(&chosen.snapshots, latest_restorable);
    // A continuous point restores to a time of its window: its latest, the data it restores
    // is that old (its creation date is when recording began).
    let continuous = bulwark_core::facts::is_continuous(&chosen.arn);
    let point_created = match (continuous, latest_restorable) {
        (false, _) => chosen.created,
        (true, Some(latest)) => latest,
        (true, None) => {
            return Err(AwsError::RestoreTest(format!(
                "{arn}: its continuous backup {} reports no restorable time",
                chosen.arn
            )))
        }
    };
    let (point_arn, vault) = (chosen.arn, chosen.vault);
    // StartRestoreJob's IdempotencyToken: AWS documents no limit; 40 characters stay within
    // the 50 of the other Backup tokens.
    let id = idempotency::token(40, "restore-test", &(&arn, &point_arn, origin, run))?;
    let restored_name = restore::restored_name(id.trim_start_matches(idempotency::PREFIX));
    let role = settings.restore_role_arn(asset.region.partition(), asset.account.as_str());
    let restore_started = Utc::now();
    let point = Point {
        arn: &point_arn,
        vault: &vault,
        encryption_key: chosen.encryption_key.as_deref(),
    };
    let prerequisites = config.restore_prerequisites(&region);
    let site = Site {
        kind: asset.kind,
        cross_region: region != source_region,
        prerequisites,
    };
    let class = match asset.kind {
        Kind::Rds => test_instance_class(
            asset.attributes.engine.as_deref(),
            tier.restore_test.instance_class.as_deref(),
        ),
        _ => None,
    };
    let mut overrides =
        metadata_overrides(asset.kind, &restored_name, prerequisites, class.as_deref());
    if continuous {
        overrides.extend(restore_time(asset.kind, point_created));
    }
    let mut started = Started {
        id,
        arn,
        kind: asset.kind,
        name: asset.name.clone(),
        tier: tier.name.clone(),
        account: asset.account.as_str().to_string(),
        source_region,
        region,
        origin,
        recovery_point_arn: point_arn.clone(),
        vault: vault.clone(),
        point_created,
        restorable_to,
        restored_name,
        restore_job_id: String::new(),
        started: now,
        restore_started,
        deadline: Some(tier.restore_test.deadline(restore_started)),
        hook,
        size_bytes: chosen.size_bytes.or(asset.attributes.size_bytes),
        instance_class: tested_instance_class(
            asset.kind,
            asset.attributes.engine.as_deref(),
            tier.restore_test.instance_class.as_deref(),
            prerequisites.and_then(|p| p.instance_class.as_deref()),
        ),
        serving: None,
        carried_tags: Default::default(),
        judge_alone: false,
        source_declared_down: false,
        purpose: Purpose::Test,
    };
    // Remembered before the restore starts, by its name and token: a process killed between
    // the two leaves a record that leads the sweeper to the restore (pending::sweep finds its
    // job among its recovery point's), not a copy nothing names. The one write before the
    // test's record, which forgets it.
    let window = tier.restore_test.validation_window.as_minutes();
    pending::remember(inventory, &started, window).await?;
    started.restore_job_id =
        start_restore(&clients, point, site, &overrides, &role, &started.id).await?;
    Ok(started)
}

/// The recovery point a test restores, among the store's in the clients' region (for
/// `Origin::Dr`, its copies there): as the tier's policy chooses (core's `choose_point`) for the
/// store's own region, the newest copy in Bulwark's vault (`vault`) of the DR region, which is
/// the copy a failover's plan restores (a drill rehearses that copy, not one another backup
/// tool left in another vault). Continuous points are left out of a random choice: their
/// creation date is when recording began.
async fn chosen_point(
    clients: &ScopeClients,
    arn: &str,
    origin: Origin,
    vault: &str,
    choice: &PointChoice,
    seed: u64,
    now: DateTime<Utc>,
) -> Result<ChosenPoint, AwsError> {
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
    let mut vaults: BTreeMap<String, (String, Option<String>)> = BTreeMap::new();
    let mut sizes: BTreeMap<String, u64> = BTreeMap::new();
    let mut continuous = false;
    let points: Vec<PointFacts> = listed
        .iter()
        .filter(|p| origin == Origin::Home || p.backup_vault_name() == Some(vault))
        .filter_map(|p| {
            let point_arn = p.recovery_point_arn()?.to_string();
            if bulwark_core::facts::is_continuous(&point_arn) {
                continuous |= p.status() == Some(&RecoveryPointStatus::Completed);
                if random {
                    return None;
                }
            }
            let key = p.encryption_key_arn().map(str::to_string);
            if let Some(size) = p.backup_size_bytes().and_then(|b| u64::try_from(b).ok()) {
                sizes.insert(point_arn.clone(), size);
            }
            vaults.insert(point_arn.clone(), (p.backup_vault_name()?.to_string(), key));
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
    let (vault, encryption_key) = vaults.remove(&chosen.arn).unwrap_or_default();
    let (arn, created) = (chosen.arn.clone(), chosen.created);
    Ok(ChosenPoint {
        size_bytes: sizes.remove(&arn),
        arn,
        vault,
        encryption_key,
        created,
        snapshots: points
            .into_iter()
            .filter(|p| !bulwark_core::facts::is_continuous(&p.arn))
            .collect(),
        continuous,
    })
}

/// The restore metadata that restores a continuous point to `time`: S3 requires a
/// `RestoreTime` (RFC 3339, whole seconds, as the developer guide writes it); RDS and Aurora
/// take the latest restorable time when told to, which is `time` when it was read.
fn restore_time(kind: Kind, time: DateTime<Utc>) -> Vec<(&'static str, String)> {
    match kind {
        Kind::S3 => {
            // Whole seconds, rounded up: the window's end is the last backup's second.
            let whole = time.timestamp() + i64::from(time.timestamp_subsec_nanos() > 0);
            let time = DateTime::<Utc>::from_timestamp(whole, 0).unwrap_or(time);
            vec![(
                "RestoreTime",
                time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            )]
        }
        Kind::Rds | Kind::Aurora => vec![("UseLatestRestorableTime", "true".into())],
        _ => Vec::new(),
    }
}

/// The latest time a point-in-time restore of the store could restore to: an RDS instance's
/// or Aurora cluster's `LatestRestorableTime` (continuous backup), a bucket's continuous
/// backup's `LastBackupTime` (AWS Backup's API has no restorable window; its last backup time
/// is where the window ends), a table's PITR `LatestRestorableDateTime`. None when the store
/// has none (PITR off, no automated backups).
pub(crate) async fn latest_restorable(
    clients: &ScopeClients,
    kind: Kind,
    name: &str,
    arn: &str,
) -> Result<Option<DateTime<Utc>>, AwsError> {
    if kind == Kind::S3 {
        let out = clients
            .backup
            .describe_protected_resource()
            .resource_arn(arn)
            .send()
            .await
            .map_err(|e| AwsError::sdk("backup:DescribeProtectedResource", e))?;
        return Ok(to_utc(out.last_backup_time()));
    }
    let time = match kind {
        Kind::Rds => clients
            .rds
            .describe_db_instances()
            .db_instance_identifier(name)
            .send()
            .await
            .map_err(|e| AwsError::sdk("rds:DescribeDBInstances", e))?
            .db_instances()
            .first()
            .and_then(|db| db.latest_restorable_time().copied()),
        Kind::Aurora => clients
            .rds
            .describe_db_clusters()
            .db_cluster_identifier(name)
            .send()
            .await
            .map_err(|e| AwsError::sdk("rds:DescribeDBClusters", e))?
            .db_clusters()
            .first()
            .and_then(|c| c.latest_restorable_time().copied()),
        Kind::Dynamodb => clients
            .dynamodb
            .describe_continuous_backups()
            .table_name(name)
            .send()
            .await
            .map_err(|e| AwsError::sdk("dynamodb:DescribeContinuousBackups", e))?
            .continuous_backups_description()
            .and_then(|d| d.point_in_time_recovery_description())
            .filter(|p| {
                p.point_in_time_recovery_status()
                    == Some(&aws_sdk_dynamodb::types::PointInTimeRecoveryStatus::Enabled)
            })
            .and_then(|p| p.latest_restorable_date_time().copied()),
        _ => None,
    };
    Ok(time.and_then(|t| to_utc(Some(&t))))
}

/// The recovery point a test restores: its ARN, vault, key and time; and what a recovery
/// would restore from: the completed and pending snapshot points (not continuous) and whether
/// a continuous point is recording.
struct ChosenPoint {
    arn: String,
    /// What AWS Backup says the point holds (`BackupSizeBytes`): what a restore makes.
    size_bytes: Option<u64>,
    vault: String,
    encryption_key: Option<String>,
    created: DateTime<Utc>,
    snapshots: Vec<PointFacts>,
    continuous: bool,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Point<'a> {
    pub arn: &'a str,
    pub vault: &'a str,
    /// The key the point is encrypted with (its vault's, for a fully managed kind or a copy).
    pub encryption_key: Option<&'a str>,
}

/// Where a restore of `kind` runs, relative to its source: the restore region's
/// `[restore_prerequisites]` and whether it is the source's own region.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Site<'a> {
    pub kind: Kind,
    pub cross_region: bool,
    pub prerequisites: Option<&'a RestorePrerequisites>,
}

pub const RESTORE_SITE: &[Permission] = &[p(
    "ec2:DescribeAvailabilityZones",
    "an available zone of the region a volume is restored in",
)];

pub const RESTORABLE: &[Permission] = &[
    p(
        "backup:DescribeProtectedResource",
        "where a bucket's continuous backup's window ends, for the RPO and its restore time",
    ),
    p(
        "dynamodb:DescribeContinuousBackups",
        "a table's latest restorable time (PITR), for the RPO",
    ),
    p(
        "rds:DescribeDBInstances",
        "an instance's latest restorable time (continuous backup), for the RPO",
    ),
    p(
        "rds:DescribeDBClusters",
        "a cluster's latest restorable time (continuous backup), for the RPO",
    ),
];

/// The point's restore metadata made right for the region it is restored in (core's
/// `regional_metadata`: the source's zone, key and groups replaced or dropped), with Bulwark's
/// `overrides` (a test's: core's `metadata_overrides`, the test's name and the region's
/// network for a database; a failover's: its plan's), and the restore job started with the
/// idempotency `token`.
pub(crate) async fn start_restore(
    clients: &ScopeClients,
    point: Point<'_>,
    site: Site<'_>,
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
    let needs_zone = site.kind == Kind::Ebs
        && site.cross_region
        && site
            .prerequisites
            .is_none_or(|p| p.availability_zone.is_none());
    let zone = match needs_zone {
        true => Some(available_zone(clients).await?),
        false => None,
    };
    let region = clients.scope.region.as_str();
    let point_key = point
        .encryption_key
        .filter(|key| key.split(':').nth(3) == Some(region));
    let regional = regional_metadata(
        site.kind,
        metadata
            .restore_metadata()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .collect(),
        &RestoreSite {
            cross_region: site.cross_region,
            prerequisites: site.prerequisites,
            zone: zone.as_deref(),
            point_key,
        },
    );
    let restore_metadata = with_overrides(regional, overrides);
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

/// The region's first available zone, by name: where a volume restored from a copy goes when
/// the region's prerequisites name none.
async fn available_zone(clients: &ScopeClients) -> Result<String, AwsError> {
    let out = clients
        .ec2
        .describe_availability_zones()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("state")
                .values("available")
                .build(),
        )
        .send()
        .await
        .map_err(|e| AwsError::sdk("ec2:DescribeAvailabilityZones", e))?;
    out.availability_zones()
        .iter()
        .filter_map(|z| z.zone_name())
        .min()
        .map(str::to_string)
        .ok_or_else(|| {
            AwsError::RestoreTest(format!(
                "{} has no available zone to restore a volume in",
                clients.scope.region.as_str()
            ))
        })
}
