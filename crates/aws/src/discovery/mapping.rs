//! SDK listing types -> domain assets. One function per kind, each tested both ways: an SDK
//! value built with the SDK's builders maps to the asset the domain expects.

use std::collections::BTreeMap;

use aws_smithy_types::DateTime as SdkDateTime;
use bulwark_core::replication::Replication;
use bulwark_core::{Asset, Attributes, Kind, Scope};
use chrono::{DateTime, TimeZone, Utc};

pub(crate) fn to_chrono(t: Option<&SdkDateTime>) -> Option<DateTime<Utc>> {
    t.and_then(|t| Utc.timestamp_opt(t.secs(), t.subsec_nanos()).single())
}

fn asset(
    scope: &Scope,
    kind: Kind,
    id: &str,
    tags: BTreeMap<String, String>,
    attributes: Attributes,
    now: DateTime<Utc>,
) -> Asset {
    let arn = scope.arn(kind, id);
    Asset::observed(
        arn,
        scope.account.clone(),
        scope.region.clone(),
        tags,
        attributes,
        now,
    )
}

/// RDS returns the same tag list for instances and clusters.
fn rds_tags(tags: &[aws_sdk_rds::types::Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

/// Engines DescribeDBInstances/DescribeDBClusters also return that are not RDS data stores
/// Bulwark covers.
fn is_other_engine(engine: Option<&str>) -> bool {
    matches!(engine, Some(e) if e.starts_with("docdb") || e.starts_with("neptune"))
}

/// An RDS instance; None for an Aurora (or Multi-AZ cluster) member, which belongs to its
/// cluster's asset, and for DocumentDB/Neptune.
pub fn rds_instance(
    db: &aws_sdk_rds::types::DbInstance,
    scope: &Scope,
    now: DateTime<Utc>,
) -> Option<Asset> {
    if db.db_cluster_identifier().is_some() || is_other_engine(db.engine()) {
        return None;
    }
    let id = db.db_instance_identifier()?;
    let tags = rds_tags(db.tag_list());
    let attributes = Attributes {
        size_bytes: db
            .allocated_storage()
            .and_then(|gib| u64::try_from(gib).ok())
            .map(|gib| gib << 30),
        encrypted: db.storage_encrypted(),
        kms_key_id: db.kms_key_id().map(str::to_string),
        engine: db.engine().map(str::to_string),
        backup_retention_days: db.backup_retention_period(),
        pending_backup_retention_days: db
            .pending_modified_values()
            .and_then(|p| p.backup_retention_period()),
        status: db.db_instance_status().map(str::to_string),
        created_at: to_chrono(db.instance_create_time()),
        members: vec![],
        resource_id: db.dbi_resource_id().map(str::to_string),
        replication: Some(Replication {
            multi_az: db.multi_az(),
            read_replicas: db.read_replica_db_instance_identifiers().to_vec(),
            ..Replication::default()
        }),
    };
    Some(asset(scope, Kind::Rds, id, tags, attributes, now))
}

/// An Aurora (or RDS Multi-AZ) DB cluster with its member instances.
pub fn db_cluster(
    cluster: &aws_sdk_rds::types::DbCluster,
    scope: &Scope,
    now: DateTime<Utc>,
) -> Option<Asset> {
    if is_other_engine(cluster.engine()) {
        return None;
    }
    let id = cluster.db_cluster_identifier()?;
    let tags = rds_tags(cluster.tag_list());
    let mut members: Vec<String> = cluster
        .db_cluster_members()
        .iter()
        .filter_map(|m| m.db_instance_identifier().map(str::to_string))
        .collect();
    members.sort();
    let attributes = Attributes {
        size_bytes: cluster
            .allocated_storage()
            .and_then(|gib| u64::try_from(gib).ok())
            .map(|gib| gib << 30),
        encrypted: cluster.storage_encrypted(),
        kms_key_id: cluster.kms_key_id().map(str::to_string),
        engine: cluster.engine().map(str::to_string),
        backup_retention_days: cluster.backup_retention_period(),
        pending_backup_retention_days: cluster
            .pending_modified_values()
            .and_then(|p| p.backup_retention_period()),
        status: cluster.status().map(str::to_string),
        created_at: to_chrono(cluster.cluster_create_time()),
        members,
        resource_id: cluster.db_cluster_resource_id().map(str::to_string),
        replication: Some(Replication {
            multi_az: cluster.multi_az(),
            read_replicas: cluster.read_replica_identifiers().to_vec(),
            ..Replication::default()
        }),
    };
    Some(asset(scope, Kind::Aurora, id, tags, attributes, now))
}

/// An EFS file system.
pub fn efs(
    fs: &aws_sdk_efs::types::FileSystemDescription,
    scope: &Scope,
    now: DateTime<Utc>,
) -> Asset {
    let tags = fs
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    let attributes = Attributes {
        size_bytes: fs
            .size_in_bytes()
            .and_then(|s| u64::try_from(s.value()).ok()),
        encrypted: fs.encrypted(),
        kms_key_id: fs.kms_key_id().map(str::to_string),
        status: Some(fs.life_cycle_state().as_str().to_string()),
        created_at: Some(fs.creation_time()).and_then(|t| to_chrono(Some(t))),
        ..Attributes::default()
    };
    asset(scope, Kind::Efs, fs.file_system_id(), tags, attributes, now)
}

/// An EBS volume.
pub fn ebs(
    volume: &aws_sdk_ec2::types::Volume,
    scope: &Scope,
    now: DateTime<Utc>,
) -> Option<Asset> {
    let id = volume.volume_id()?;
    let tags = volume
        .tags()
        .iter()
        .filter_map(|t| {
            Some((
                t.key()?.to_string(),
                t.value().unwrap_or_default().to_string(),
            ))
        })
        .collect();
    let attributes = Attributes {
        size_bytes: volume
            .size()
            .and_then(|gib| u64::try_from(gib).ok())
            .map(|gib| gib << 30),
        encrypted: volume.encrypted(),
        kms_key_id: volume.kms_key_id().map(str::to_string),
        status: volume.state().map(|s| s.as_str().to_string()),
        created_at: to_chrono(volume.create_time()),
        ..Attributes::default()
    };
    Some(asset(scope, Kind::Ebs, id, tags, attributes, now))
}

/// A DynamoDB table known by name from ListTables; its tags come from the Tagging API.
pub fn dynamodb_table(
    name: &str,
    tags: BTreeMap<String, String>,
    scope: &Scope,
    now: DateTime<Utc>,
) -> Asset {
    asset(
        scope,
        Kind::Dynamodb,
        name,
        tags,
        Attributes::default(),
        now,
    )
}

/// A DynamoDB table described one at a time (a single-resource change event).
pub fn dynamodb_description(
    table: &aws_sdk_dynamodb::types::TableDescription,
    tags: BTreeMap<String, String>,
    scope: &Scope,
    now: DateTime<Utc>,
) -> Option<Asset> {
    let name = table.table_name()?;
    let sse = table.sse_description();
    let attributes = Attributes {
        size_bytes: table.table_size_bytes().and_then(|s| u64::try_from(s).ok()),
        // DynamoDB always encrypts at rest; SSEDescription names a KMS key when it is not AWS-owned.
        encrypted: Some(true),
        kms_key_id: sse.and_then(|s| s.kms_master_key_arn()).map(str::to_string),
        status: table.table_status().map(|s| s.as_str().to_string()),
        created_at: to_chrono(table.creation_date_time()),
        ..Attributes::default()
    };
    Some(asset(scope, Kind::Dynamodb, name, tags, attributes, now))
}

/// An S3 bucket placed in its region; its tags come from the Tagging API.
pub fn s3_bucket(
    bucket: &aws_sdk_s3::types::Bucket,
    tags: BTreeMap<String, String>,
    scope: &Scope,
    now: DateTime<Utc>,
) -> Option<Asset> {
    let name = bucket.name()?;
    let attributes = Attributes {
        created_at: to_chrono(bucket.creation_date()),
        ..Attributes::default()
    };
    Some(asset(scope, Kind::S3, name, tags, attributes, now))
}

/// The Tagging API's tag list as a map.
pub fn tag_map(tags: &[aws_sdk_resourcegroupstagging::types::Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

/// GetBucketLocation's answer as a region: AWS answers an empty constraint for us-east-1 and
/// the legacy "EU" for eu-west-1.
pub fn bucket_location(constraint: Option<&str>) -> &str {
    match constraint {
        None | Some("") => "us-east-1",
        Some("EU") => "eu-west-1",
        Some(region) => region,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bulwark_core::{AccountId, AssetState, Region};

    fn scope() -> Scope {
        Scope {
            account: AccountId::parse("123456789012").expect("account"),
            region: Region::parse("eu-west-1").expect("region"),
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5)
            .single()
            .expect("time")
    }

    #[test]
    fn an_rds_instance_maps_with_its_inline_attributes() {
        let db = aws_sdk_rds::types::DbInstance::builder()
            .db_instance_identifier("orders-db")
            .engine("postgres")
            .allocated_storage(20)
            .storage_encrypted(true)
            .kms_key_id("arn:aws:kms:eu-west-1:123456789012:key/k")
            .backup_retention_period(7)
            .db_instance_status("available")
            .tag_list(
                aws_sdk_rds::types::Tag::builder()
                    .key("Env")
                    .value("prod")
                    .build(),
            )
            .build();
        let asset = rds_instance(&db, &scope(), now()).expect("an asset");
        assert_eq!(
            asset.arn.to_string(),
            "arn:aws:rds:eu-west-1:123456789012:db:orders-db"
        );
        assert_eq!(asset.kind, Kind::Rds);
        assert_eq!(asset.tags.get("Env").map(String::as_str), Some("prod"));
        assert_eq!(asset.attributes.size_bytes, Some(20 << 30));
        assert_eq!(asset.attributes.encrypted, Some(true));
        assert_eq!(asset.attributes.backup_retention_days, Some(7));
        assert_eq!(asset.state, AssetState::Present);
        assert_eq!((asset.first_seen, asset.last_seen), (now(), now()));
    }

    #[test]
    fn aurora_members_and_other_engines_are_not_rds_assets() {
        let member = aws_sdk_rds::types::DbInstance::builder()
            .db_instance_identifier("orders-1")
            .db_cluster_identifier("orders")
            .engine("aurora-postgresql")
            .build();
        assert!(rds_instance(&member, &scope(), now()).is_none());
        let neptune = aws_sdk_rds::types::DbInstance::builder()
            .db_instance_identifier("graph")
            .engine("neptune")
            .build();
        assert!(rds_instance(&neptune, &scope(), now()).is_none());
    }

    #[test]
    fn an_aurora_cluster_carries_its_members() {
        let cluster = aws_sdk_rds::types::DbCluster::builder()
            .db_cluster_identifier("orders")
            .engine("aurora-postgresql")
            .storage_encrypted(false)
            .db_cluster_members(
                aws_sdk_rds::types::DbClusterMember::builder()
                    .db_instance_identifier("orders-2")
                    .build(),
            )
            .db_cluster_members(
                aws_sdk_rds::types::DbClusterMember::builder()
                    .db_instance_identifier("orders-1")
                    .build(),
            )
            .build();
        let asset = db_cluster(&cluster, &scope(), now()).expect("an asset");
        assert_eq!(
            asset.arn.to_string(),
            "arn:aws:rds:eu-west-1:123456789012:cluster:orders"
        );
        assert_eq!(asset.attributes.members, vec!["orders-1", "orders-2"]);
        assert_eq!(asset.attributes.encrypted, Some(false));
    }

    #[test]
    fn an_ebs_volume_maps_size_and_tags() {
        let volume = aws_sdk_ec2::types::Volume::builder()
            .volume_id("vol-0abc")
            .size(8)
            .encrypted(true)
            .state(aws_sdk_ec2::types::VolumeState::InUse)
            .tags(
                aws_sdk_ec2::types::Tag::builder()
                    .key(" DataClassification ")
                    .value("Restricted")
                    .build(),
            )
            .build();
        let asset = ebs(&volume, &scope(), now()).expect("an asset");
        assert_eq!(
            asset.arn.to_string(),
            "arn:aws:ec2:eu-west-1:123456789012:volume/vol-0abc"
        );
        assert_eq!(asset.attributes.size_bytes, Some(8 << 30));
        assert_eq!(asset.attributes.status.as_deref(), Some("in-use"));
        // Tags are kept as AWS returns them; classification normalises.
        assert!(asset.tags.contains_key(" DataClassification "));
    }

    #[test]
    fn an_efs_file_system_maps_size_and_encryption() {
        let fs = aws_sdk_efs::types::FileSystemDescription::builder()
            .owner_id("123456789012")
            .creation_token("t")
            .file_system_id("fs-0123")
            .creation_time(SdkDateTime::from_secs(1_700_000_000))
            .life_cycle_state(aws_sdk_efs::types::LifeCycleState::Available)
            .number_of_mount_targets(0)
            .size_in_bytes(
                aws_sdk_efs::types::FileSystemSize::builder()
                    .value(6144)
                    .build(),
            )
            .performance_mode(aws_sdk_efs::types::PerformanceMode::GeneralPurpose)
            .encrypted(true)
            .tags(
                aws_sdk_efs::types::Tag::builder()
                    .key("Name")
                    .value("shared")
                    .build()
                    .expect("tag"),
            )
            .build()
            .expect("file system");
        let asset = efs(&fs, &scope(), now());
        assert_eq!(
            asset.arn.to_string(),
            "arn:aws:elasticfilesystem:eu-west-1:123456789012:file-system/fs-0123"
        );
        assert_eq!(asset.attributes.size_bytes, Some(6144));
        assert_eq!(asset.tags.get("Name").map(String::as_str), Some("shared"));
    }

    #[test]
    fn an_s3_bucket_is_placed_in_the_given_scope_with_a_global_arn() {
        let bucket = aws_sdk_s3::types::Bucket::builder()
            .name("logs-eu")
            .bucket_region("eu-west-1")
            .build();
        let tags = BTreeMap::from([("Reproducible".to_string(), "true".to_string())]);
        let asset = s3_bucket(&bucket, tags, &scope(), now()).expect("an asset");
        assert_eq!(asset.arn.to_string(), "arn:aws:s3:::logs-eu");
        assert_eq!(asset.region.as_str(), "eu-west-1");
        assert_eq!(asset.account.as_str(), "123456789012");
    }

    #[test]
    fn bucket_locations_follow_aws_legacy_answers() {
        assert_eq!(bucket_location(None), "us-east-1");
        assert_eq!(bucket_location(Some("")), "us-east-1");
        assert_eq!(bucket_location(Some("EU")), "eu-west-1");
        assert_eq!(bucket_location(Some("ap-south-1")), "ap-south-1");
    }
}
