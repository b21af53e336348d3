//! Restore metadata made right for the region a restore runs in.
//!
//! GetRecoveryPointRestoreMetadata answers with what the source was: its availability zone,
//! its KMS key, its option and parameter groups, its subnet group. A copy in another region
//! carries the same values, and that region refuses every one of them (the zone, the key and
//! the groups do not exist there). So before a restore, the source's region-bound values are
//! dropped or replaced with the restore region's: the `[restore_prerequisites]` table's when
//! it names one, else what the region gives (an available zone, the copy's own key, the
//! engine's default groups). Within the source's own region the source's values stay, unless
//! the table names others.

use std::collections::BTreeMap;

use crate::config::RestorePrerequisites;
use crate::kind::Kind;

/// Where a restore runs, and what Bulwark knows of that region.
#[derive(Debug, Clone, Copy)]
pub struct RestoreSite<'a> {
    /// The restore's region differs from the source's (a DR copy, a failover).
    pub cross_region: bool,
    /// The region's `[restore_prerequisites]` table.
    pub prerequisites: Option<&'a RestorePrerequisites>,
    /// An available zone of the restore's region, for a kind that must name one (EBS), when
    /// the prerequisites name none.
    pub zone: Option<&'a str>,
    /// The key the recovery point is encrypted with, when it is in the restore's region (a
    /// copy is re-encrypted with its vault's key): the key a restore of a kind that must name
    /// one (EFS, Aurora) uses when the prerequisites name none.
    pub point_key: Option<&'a str>,
}

/// The metadata keys that hold region-bound values, by kind: (key, what it holds).
fn bound_keys(kind: Kind) -> &'static [(&'static str, Bound)] {
    match kind {
        Kind::Ebs => &[("availabilityZone", Bound::Zone), ("kmsKeyId", Bound::Key)],
        Kind::Efs => &[
            ("KmsKeyId", Bound::Key),
            ("AvailabilityZoneName", Bound::Zone),
        ],
        Kind::Rds => &[
            ("AvailabilityZone", Bound::Zone),
            ("KmsKeyId", Bound::FixedKey),
            ("OptionGroupName", Bound::OptionGroup),
            ("DBParameterGroupName", Bound::ParameterGroup),
            ("DBSubnetGroupName", Bound::Network),
            ("VpcSecurityGroupIds", Bound::Network),
        ],
        Kind::Aurora => &[
            ("AvailabilityZones", Bound::Zones),
            ("KmsKeyId", Bound::Key),
            ("DBClusterParameterGroupName", Bound::ClusterParameterGroup),
            ("DBSubnetGroupName", Bound::Network),
            ("VpcSecurityGroupIds", Bound::Network),
        ],
        // With `encryptionType` KMS; without a key a table takes the AWS managed key.
        Kind::Dynamodb => &[("kmsMasterKeyArn", Bound::Key)],
        Kind::S3 => &[],
    }
}

/// Whether the metadata describes an encrypted source: an `Encrypted` (EBS, EFS) or
/// `StorageEncrypted` (RDS, Aurora) of `true`, or a key.
fn is_encrypted(metadata: &BTreeMap<String, String>, bound: &[(&str, Bound)]) -> bool {
    metadata.iter().any(|(key, value)| {
        let flag = ["encrypted", "StorageEncrypted"]
            .iter()
            .any(|f| f.eq_ignore_ascii_case(key));
        let names_a_key = bound.iter().any(|(b, what)| {
            matches!(what, Bound::Key | Bound::FixedKey) && b.eq_ignore_ascii_case(key)
        });
        (flag && value.eq_ignore_ascii_case("true")) || (names_a_key && !value.is_empty())
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    /// One availability zone.
    Zone,
    /// A JSON list of availability zones in a string.
    Zones,
    /// The key the restored resource is encrypted with.
    Key,
    /// A key the restore cannot choose (an RDS instance keeps its snapshot's): dropped
    /// when foreign, never set.
    FixedKey,
    OptionGroup,
    ParameterGroup,
    ClusterParameterGroup,
    /// The subnet group and security groups: the prerequisites' are set as overrides
    /// (`metadata_overrides`); here the source's are dropped when foreign.
    Network,
}

/// `metadata` with its region-bound values made right for `site`.
pub fn regional_metadata(
    kind: Kind,
    metadata: BTreeMap<String, String>,
    site: &RestoreSite<'_>,
) -> BTreeMap<String, String> {
    let prerequisites = site.prerequisites;
    let bound = bound_keys(kind);
    let encrypted = is_encrypted(&metadata, bound);
    let mut metadata: BTreeMap<String, String> = metadata
        .into_iter()
        .filter(|(key, _)| {
            !site.cross_region || !bound.iter().any(|(b, _)| b.eq_ignore_ascii_case(key))
        })
        .collect();
    for (key, what) in bound {
        let chosen: Option<String> = match what {
            // An EBS restore must name a zone: within its own region the source's stays.
            Bound::Zone => prerequisites
                .and_then(|p| p.availability_zone.clone())
                .or_else(|| {
                    (site.cross_region && kind == Kind::Ebs)
                        .then(|| site.zone.map(str::to_string))?
                }),
            Bound::Zones => prerequisites
                .and_then(|p| p.availability_zone.as_ref())
                .map(|zone| serde_json::Value::from(vec![zone.clone()]).to_string()),
            // A key only for what is encrypted: an unencrypted source restores unencrypted,
            // as its validator expects.
            Bound::Key if !encrypted => None,
            Bound::Key => prerequisites.and_then(|p| p.kms_key.clone()).or_else(|| {
                site.cross_region
                    .then(|| site.point_key.map(str::to_string))?
            }),
            Bound::OptionGroup => prerequisites.and_then(|p| p.option_group.clone()),
            Bound::ParameterGroup => prerequisites.and_then(|p| p.parameter_group.clone()),
            Bound::ClusterParameterGroup => {
                prerequisites.and_then(|p| p.cluster_parameter_group.clone())
            }
            Bound::FixedKey | Bound::Network => None,
        };
        if let Some(value) = chosen {
            metadata.retain(|k, _| !k.eq_ignore_ascii_case(key));
            metadata.insert((*key).to_string(), value);
        }
    }
    metadata
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const SOURCE_KEY: &str = "arn:aws:kms:us-east-1:123456789012:key/source";
    const COPY_KEY: &str = "arn:aws:kms:us-west-2:123456789012:key/vault";

    fn site<'a>(
        cross_region: bool,
        prerequisites: Option<&'a RestorePrerequisites>,
    ) -> RestoreSite<'a> {
        RestoreSite {
            cross_region,
            prerequisites,
            zone: Some("us-west-2a"),
            point_key: Some(COPY_KEY),
        }
    }

    #[test]
    fn a_copys_volume_goes_to_a_zone_of_the_region_with_the_copys_key_dropped_for_the_snapshots() {
        let source = metadata(&[
            ("availabilityZone", "us-east-1c"),
            ("kmsKeyId", SOURCE_KEY),
            ("encrypted", "true"),
            ("volumeType", "gp3"),
        ]);
        let regional = regional_metadata(Kind::Ebs, source, &site(true, None));
        assert_eq!(
            regional,
            metadata(&[
                ("availabilityZone", "us-west-2a"),
                ("kmsKeyId", COPY_KEY),
                ("encrypted", "true"),
                ("volumeType", "gp3"),
            ])
        );
    }

    #[test]
    fn a_database_copy_drops_the_sources_zone_key_and_groups_and_takes_the_prerequisites() {
        let source = metadata(&[
            ("AvailabilityZone", "us-east-1a"),
            ("KmsKeyId", SOURCE_KEY),
            ("OptionGroupName", "orders-mysql8"),
            ("DBParameterGroupName", "orders-params"),
            ("DBSubnetGroupName", "orders-net"),
            ("VpcSecurityGroupIds", "[\"sg-12345678\"]"),
            ("DBInstanceClass", "db.r6g.xlarge"),
        ]);
        let none = regional_metadata(Kind::Rds, source.clone(), &site(true, None));
        assert_eq!(
            none,
            metadata(&[("DBInstanceClass", "db.r6g.xlarge")]),
            "the engine's defaults, RDS's zone, the snapshot's key"
        );
        let prerequisites = RestorePrerequisites {
            option_group: Some("dr-mysql8".into()),
            parameter_group: Some("dr-params".into()),
            availability_zone: Some("us-west-2b".into()),
            kms_key: Some("alias/dr".into()),
            ..RestorePrerequisites::default()
        };
        let set = regional_metadata(Kind::Rds, source, &site(true, Some(&prerequisites)));
        assert_eq!(
            set,
            metadata(&[
                ("AvailabilityZone", "us-west-2b"),
                ("DBInstanceClass", "db.r6g.xlarge"),
                ("DBParameterGroupName", "dr-params"),
                ("OptionGroupName", "dr-mysql8"),
            ]),
            "an instance cannot be re-keyed on restore: no KmsKeyId"
        );
    }

    #[test]
    fn an_aurora_copy_takes_the_copys_key_and_no_zones() {
        let source = metadata(&[
            ("AvailabilityZones", "[\"us-east-1a\",\"us-east-1b\"]"),
            ("KmsKeyId", SOURCE_KEY),
            ("DBClusterParameterGroupName", "orders-cluster"),
            ("Engine", "aurora-postgresql"),
        ]);
        let regional = regional_metadata(Kind::Aurora, source, &site(true, None));
        assert_eq!(
            regional,
            metadata(&[("Engine", "aurora-postgresql"), ("KmsKeyId", COPY_KEY)])
        );
    }

    #[test]
    fn in_the_sources_region_its_values_stay_unless_the_prerequisites_name_others() {
        let source = metadata(&[("availabilityZone", "us-east-1c"), ("kmsKeyId", SOURCE_KEY)]);
        assert_eq!(
            regional_metadata(Kind::Ebs, source.clone(), &site(false, None)),
            source,
            "neither the zone nor the key is replaced by the region's first or the point's"
        );
        let prerequisites = RestorePrerequisites {
            kms_key: Some("alias/restores".into()),
            ..RestorePrerequisites::default()
        };
        assert_eq!(
            regional_metadata(Kind::Ebs, source, &site(false, Some(&prerequisites))),
            metadata(&[
                ("availabilityZone", "us-east-1c"),
                ("kmsKeyId", "alias/restores"),
            ]),
            "kms_key is passed"
        );
    }

    #[test]
    fn keys_are_matched_without_regard_to_case() {
        let source = metadata(&[("KMSKEYID", SOURCE_KEY), ("PerformanceMode", "maxIO")]);
        assert_eq!(
            regional_metadata(Kind::Efs, source, &site(true, None)),
            metadata(&[("KmsKeyId", COPY_KEY), ("PerformanceMode", "maxIO")])
        );
    }

    #[test]
    fn an_unencrypted_source_gets_no_key() {
        let source = metadata(&[("availabilityZone", "us-east-1c"), ("encrypted", "false")]);
        let prerequisites = RestorePrerequisites {
            kms_key: Some("alias/restores".into()),
            ..RestorePrerequisites::default()
        };
        assert_eq!(
            regional_metadata(Kind::Ebs, source, &site(true, Some(&prerequisites))),
            metadata(&[("availabilityZone", "us-west-2a"), ("encrypted", "false")])
        );
    }

    #[test]
    fn a_tables_customer_managed_key_becomes_the_copys() {
        let source = metadata(&[
            ("targetTableName", "t"),
            ("encryptionType", "KMS"),
            ("kmsMasterKeyArn", SOURCE_KEY),
        ]);
        assert_eq!(
            regional_metadata(Kind::Dynamodb, source, &site(true, None)),
            metadata(&[
                ("encryptionType", "KMS"),
                ("kmsMasterKeyArn", COPY_KEY),
                ("targetTableName", "t"),
            ])
        );
        let default = metadata(&[("targetTableName", "t"), ("encryptionType", "Default")]);
        assert_eq!(
            regional_metadata(Kind::Dynamodb, default.clone(), &site(true, None)),
            default
        );
    }

    #[test]
    fn buckets_are_left_as_they_are() {
        let source = metadata(&[("DestinationBucketName", "b"), ("NewBucket", "true")]);
        assert_eq!(
            regional_metadata(Kind::S3, source.clone(), &site(true, None)),
            source
        );
    }
}
