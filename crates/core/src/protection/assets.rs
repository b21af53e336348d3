//! What each store needs beyond AWS Backup's state: the tier tag its selection matches on,
//! and the native protections (PITR, versioning, automated backups) its tier demands.

use crate::arn::partition_of;
use crate::asset::{Asset, AssetState};
use crate::config::Config;
use crate::kind::Kind;
use crate::replication::{replica_bucket, REPLICA_OF_TAG};
use crate::taxonomy::{PointInTime, Tier};

use super::model::{NativeAction, NativeState, TagChange, TIER_TAG};

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
/// - S3: versioning, for every backed-up bucket: AWS Backup backs up no bucket without it; and
///   Bulwark's lifecycle rule for noncurrent versions, where the tier states one and the
///   bucket's (read: `noncurrent_rule`) differs. A tier that states none leaves the bucket's
///   lifecycle alone, Bulwark's old rule included; and its replica in the DR region, where the
///   tier has `s3_replication` and the bucket lacks Bulwark's rule to it.
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
    let mut actions: Vec<NativeAction> = action.into_iter().collect();
    if asset.kind == Kind::S3 {
        let wanted = &tier.noncurrent_versions;
        if let (Some(want), Some(current)) = (wanted, &state.noncurrent_rule) {
            if current.as_ref() != Some(want) {
                actions.push(NativeAction::PutNoncurrentRule {
                    arn: asset.arn.to_string(),
                    region: asset.region.to_string(),
                    bucket: asset.name.clone(),
                    rule: want.clone(),
                });
            }
        }
        if let Some(Ok(action)) = replication(config, tier, asset, state) {
            actions.push(action);
        }
    }
    actions
}

/// Why Bulwark leaves a bucket of a tier with `s3_replication` without its replica: the bucket
/// replicates under its owner's role, whose configuration Bulwark would have to replace (S3 has
/// one role a bucket), or it has no DR region. None when it is replicated or will be.
pub fn replication_refusal(config: &Config, asset: &Asset, state: &NativeState) -> Option<String> {
    let tier = backed_up_tier(config, asset)?;
    replication(config, tier, asset, state)?.err()
}

/// The replication a bucket of `tier` lacks (`s3_replication`): None when it needs none or has
/// it, or when its configuration was not read; an error when Bulwark may not make it. A replica
/// Bulwark made is never replicated itself.
fn replication(
    config: &Config,
    tier: &Tier,
    asset: &Asset,
    state: &NativeState,
) -> Option<Result<NativeAction, String>> {
    if !tier.s3_replication || asset.kind != Kind::S3 || asset.tags.contains_key(REPLICA_OF_TAG) {
        return None;
    }
    let current = state.s3_replication.as_ref()?;
    let settings = config.protection();
    let dr = match settings.dr_region_for(asset.region.as_str()) {
        Ok(dr) => dr,
        Err(why) => return Some(Err(format!("bucket {}: {why}", asset.name))),
    };
    let partition = partition_of(asset.region.as_str());
    let replica = replica_bucket(&asset.name, &dr);
    if current.ours.as_deref() == Some(format!("arn:{partition}:s3:::{replica}").as_str()) {
        return None;
    }
    let role_arn = settings.replication_role_arn(partition, asset.account.as_str());
    match &current.role {
        Some(role) if role != &role_arn && !current.others.is_empty() => Some(Err(format!(
            "bucket {}: it replicates as {role} (rules {}); S3 takes one role a bucket, so \
             Bulwark would replace its owner's configuration to add its replica in {dr}: left \
             as it is",
            asset.name,
            current.others.join(", ")
        ))),
        _ => Some(Ok(NativeAction::ReplicateBucket {
            arn: asset.arn.to_string(),
            region: asset.region.to_string(),
            bucket: asset.name.clone(),
            replica,
            replica_region: dr,
            role_arn,
        })),
    }
}
