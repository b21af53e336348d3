//! What a restore test asks of the restore and of the restored copy: the restore metadata it
//! overrides, and for an Aurora cluster (which AWS Backup restores without any DB instance,
//! so it cannot be read) the temporary instance that opens it.

use std::collections::BTreeMap;

use crate::config::RestorePrerequisites;
use crate::kind::Kind;

/// The suffix of the temporary instance's identifier after its cluster's.
pub const TEMPORARY_INSTANCE_SUFFIX: &str = "-i";

/// RDS's limit on a DB instance identifier (1 to 63 letters, digits and hyphens).
const MAX_DB_IDENTIFIER: usize = 63;

/// The temporary instance's class where neither the configuration nor the cluster decides:
/// the smallest memory-optimized Graviton class, which the current Aurora MySQL and Aurora
/// PostgreSQL versions support (an older version, or a region without it, needs the region's
/// `instance_class`).
pub const DEFAULT_AURORA_INSTANCE_CLASS: &str = "db.r6g.large";
/// The same for the `aurora` engine (Aurora MySQL 1, MySQL 5.6 compatible), which has no
/// Graviton classes.
pub const DEFAULT_AURORA_MYSQL1_INSTANCE_CLASS: &str = "db.r5.large";
/// The class of an Aurora Serverless v2 instance.
pub const SERVERLESS_V2_INSTANCE_CLASS: &str = "db.serverless";

/// The restore metadata a test of `kind` sets over the recovery point's own, restoring under
/// `name`: a new copy, never the source, without deletion protection so the test can delete
/// it, and for a database the region's DB subnet group and security groups when the
/// `[restore_prerequisites]` table names them (the source's may not exist where the copy is
/// restored). List values are JSON arrays in a string, as the AWS Backup developer guide
/// writes them ("Restore testing inferred metadata").
///
/// A tested RDS instance restores Single-AZ (a test needs no standby), at `instance_class`
/// when there is one (`test_instance_class`).
pub fn metadata_overrides(
    kind: Kind,
    name: &str,
    prerequisites: Option<&RestorePrerequisites>,
    instance_class: Option<&str>,
) -> Vec<(&'static str, String)> {
    let mut overrides = match kind {
        Kind::Dynamodb => vec![
            ("targetTableName", name.to_string()),
            ("deletionProtection", "false".into()),
        ],
        Kind::S3 => vec![
            ("DestinationBucketName", name.to_string()),
            ("NewBucket", "true".into()),
        ],
        Kind::Efs => vec![
            ("newFileSystem", "true".into()),
            ("CreationToken", name.to_string()),
        ],
        Kind::Rds => {
            let mut rds = vec![
                ("DBInstanceIdentifier", name.to_string()),
                ("PubliclyAccessible", "false".into()),
                ("DeletionProtection", "false".into()),
                ("MultiAZ", "false".into()),
            ];
            rds.extend(instance_class.map(|c| ("DBInstanceClass", c.to_string())));
            rds
        }
        Kind::Aurora => vec![
            ("DBClusterIdentifier", name.to_string()),
            ("DeletionProtection", "false".into()),
        ],
        Kind::Ebs => Vec::new(),
    };
    if let (Kind::Rds | Kind::Aurora, Some(network)) = (kind, prerequisites) {
        if let Some(group) = &network.db_subnet_group {
            overrides.push(("DBSubnetGroupName", group.clone()));
        }
        if !network.security_groups.is_empty() {
            let groups = serde_json::Value::from(network.security_groups.clone());
            overrides.push(("VpcSecurityGroupIds", groups.to_string()));
        }
    }
    overrides
}

/// The recovery point's restore metadata with `overrides` set. AWS Backup reads metadata keys
/// without regard to case, so an override replaces the point's key however that is cased
/// (two spellings of one key would leave AWS to pick one).
pub fn with_overrides(
    metadata: BTreeMap<String, String>,
    overrides: &[(&str, String)],
) -> BTreeMap<String, String> {
    let mut metadata: BTreeMap<String, String> = metadata
        .into_iter()
        .filter(|(key, _)| !overrides.iter().any(|(o, _)| o.eq_ignore_ascii_case(key)))
        .collect();
    for (key, value) in overrides {
        metadata.insert((*key).to_string(), value.clone());
    }
    metadata
}

/// The identifier of the temporary instance in a restored cluster: the cluster's and `-i`.
/// A restored name may have RDS's whole 63 characters, so the cluster's part is cut to leave
/// room for the suffix (and no hyphen before it, which RDS refuses as `--`). The same cluster
/// always gives the same instance, so a retried step finds the instance it created.
/// The name of the `n`th instance (from 1) a restored cluster serves from: the first is the
/// temporary instance's, the others `-i2`, `-i3`, ….
pub fn serving_instance_name(cluster: &str, n: usize) -> String {
    if n <= 1 {
        return temporary_instance_name(cluster);
    }
    let digits = n.to_string();
    let room = MAX_DB_IDENTIFIER - TEMPORARY_INSTANCE_SUFFIX.len() - digits.len();
    let stem: String = cluster.chars().take(room).collect();
    format!(
        "{}{TEMPORARY_INSTANCE_SUFFIX}{digits}",
        stem.trim_end_matches('-')
    )
}

pub fn temporary_instance_name(cluster: &str) -> String {
    let room = MAX_DB_IDENTIFIER - TEMPORARY_INSTANCE_SUFFIX.len();
    let stem: String = cluster.chars().take(room).collect();
    format!("{}{TEMPORARY_INSTANCE_SUFFIX}", stem.trim_end_matches('-'))
}

/// The class a restore test restores an RDS instance of `engine` at: the tier's
/// `restore_test.instance_class`, else the smallest burstable Graviton class for the engines
/// that offer it in their current versions (MySQL, MariaDB, PostgreSQL: `db.t4g.micro`), else
/// None, the source's class (Oracle and SQL Server editions differ in what they offer).
pub fn test_instance_class(engine: Option<&str>, configured: Option<&str>) -> Option<String> {
    configured
        .or(match engine {
            Some("mysql" | "mariadb" | "postgres") => Some(DEFAULT_TEST_INSTANCE_CLASS),
            _ => None,
        })
        .map(str::to_string)
}

/// The class a test of a store of `kind` and `engine` runs a database at, for its cost: an RDS
/// instance's (`test_instance_class`), an Aurora cluster's temporary instance's (the tier's
/// class, else the region's, else the engine's default), None for stores without one.
pub fn tested_instance_class(
    kind: Kind,
    engine: Option<&str>,
    tier_class: Option<&str>,
    region_class: Option<&str>,
) -> Option<String> {
    match kind {
        Kind::Rds => test_instance_class(engine, tier_class),
        Kind::Aurora => temporary_instance_class(
            engine.unwrap_or_default(),
            false,
            tier_class.or(region_class),
        ),
        _ => None,
    }
}

/// The class `test_instance_class` gives where the tier names none and the engine offers it.
pub const DEFAULT_TEST_INSTANCE_CLASS: &str = "db.t4g.micro";

/// The class of the temporary instance of a restored cluster of `engine`: the region's
/// `instance_class` when the configuration names one, else `db.serverless` for a cluster with
/// a Serverless v2 scaling configuration (it costs only while it runs), else the engine's
/// default. None for an engine that is not Aurora's: a Multi-AZ DB cluster (mysql, postgres)
/// restores with its own instances and takes no added one.
pub fn temporary_instance_class(
    engine: &str,
    serverless_v2: bool,
    configured: Option<&str>,
) -> Option<String> {
    let default = match engine {
        "aurora-mysql" | "aurora-postgresql" => DEFAULT_AURORA_INSTANCE_CLASS,
        "aurora" => DEFAULT_AURORA_MYSQL1_INSTANCE_CLASS,
        _ => return None,
    };
    Some(
        match (configured, serverless_v2) {
            (Some(class), _) => class,
            (None, true) => SERVERLESS_V2_INSTANCE_CLASS,
            (None, false) => default,
        }
        .to_string(),
    )
}

/// Whether a DB instance or cluster in `status` will not become available by waiting: RDS's
/// failure states ("Viewing DB instance status", "Viewing DB cluster status"), and a deletion.
pub fn cannot_open(status: &str) -> bool {
    status.starts_with("incompatible-")
        || status.starts_with("inaccessible-encryption-credentials")
        || matches!(
            status,
            "failed" | "restore-error" | "storage-full" | "insufficient-capacity" | "deleting"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn network() -> RestorePrerequisites {
        RestorePrerequisites {
            db_subnet_group: Some("restore-tests".into()),
            security_groups: vec!["sg-0123456789abcdef0".into(), "sg-12345678".into()],
            ..RestorePrerequisites::default()
        }
    }

    #[test]
    fn a_tests_database_is_billed_at_the_class_it_restores_at() {
        let class =
            |kind, engine, tier, region| tested_instance_class(kind, Some(engine), tier, region);
        assert_eq!(
            class(Kind::Rds, "postgres", None, Some("db.r6g.large")).as_deref(),
            Some("db.t4g.micro")
        );
        assert_eq!(
            class(Kind::Rds, "oracle-ee", None, None),
            None,
            "the source's class"
        );
        assert_eq!(
            class(
                Kind::Aurora,
                "aurora-postgresql",
                None,
                Some("db.t4g.medium")
            )
            .as_deref(),
            Some("db.t4g.medium")
        );
        assert_eq!(
            class(
                Kind::Aurora,
                "aurora-postgresql",
                Some("db.t4g.large"),
                Some("db.t4g.medium")
            )
            .as_deref(),
            Some("db.t4g.large")
        );
        assert_eq!(
            class(Kind::Aurora, "aurora-mysql", None, None).as_deref(),
            Some(DEFAULT_AURORA_INSTANCE_CLASS)
        );
        assert_eq!(class(Kind::Dynamodb, "", Some("db.t4g.large"), None), None);
    }

    #[test]
    fn an_aurora_restore_names_the_cluster_and_takes_the_regions_network() {
        assert_eq!(
            metadata_overrides(Kind::Aurora, "bulwark-rt-abc", Some(&network()), None),
            vec![
                ("DBClusterIdentifier", "bulwark-rt-abc".to_string()),
                ("DeletionProtection", "false".to_string()),
                ("DBSubnetGroupName", "restore-tests".to_string()),
                (
                    "VpcSecurityGroupIds",
                    r#"["sg-0123456789abcdef0","sg-12345678"]"#.to_string()
                ),
            ]
        );
        assert_eq!(
            metadata_overrides(Kind::Aurora, "bulwark-rt-abc", None, None),
            vec![
                ("DBClusterIdentifier", "bulwark-rt-abc".to_string()),
                ("DeletionProtection", "false".to_string()),
            ]
        );
    }

    #[test]
    fn an_instance_restore_takes_the_network_and_other_kinds_do_not() {
        let rds = metadata_overrides(
            Kind::Rds,
            "bulwark-rt-abc",
            Some(&network()),
            Some("db.t4g.micro"),
        );
        assert_eq!(
            rds[0],
            ("DBInstanceIdentifier", "bulwark-rt-abc".to_string())
        );
        assert!(rds.contains(&("PubliclyAccessible", "false".to_string())));
        assert!(rds.contains(&("DBSubnetGroupName", "restore-tests".to_string())));
        assert!(
            rds.contains(&("MultiAZ", "false".to_string())),
            "no standby"
        );
        assert!(rds.contains(&("DBInstanceClass", "db.t4g.micro".to_string())));
        let only_groups = RestorePrerequisites {
            db_subnet_group: None,
            ..network()
        };
        let keys: Vec<&str> = metadata_overrides(Kind::Rds, "n", Some(&only_groups), None)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(
            keys,
            [
                "DBInstanceIdentifier",
                "PubliclyAccessible",
                "DeletionProtection",
                "MultiAZ",
                "VpcSecurityGroupIds"
            ]
        );
        assert_eq!(
            metadata_overrides(Kind::Dynamodb, "bulwark-rt-abc", Some(&network()), None),
            vec![
                ("targetTableName", "bulwark-rt-abc".to_string()),
                ("deletionProtection", "false".to_string()),
            ]
        );
        assert!(metadata_overrides(Kind::Ebs, "n", Some(&network()), None).is_empty());
    }

    #[test]
    fn a_tested_instance_is_small_where_its_engine_offers_it_unless_the_tier_says() {
        assert_eq!(
            test_instance_class(Some("postgres"), None).as_deref(),
            Some(DEFAULT_TEST_INSTANCE_CLASS)
        );
        assert_eq!(test_instance_class(Some("sqlserver-ee"), None), None);
        assert_eq!(
            test_instance_class(Some("oracle-ee"), Some("db.m5.large")).as_deref(),
            Some("db.m5.large")
        );
    }

    #[test]
    fn an_override_replaces_the_points_key_whatever_its_case() {
        let point = BTreeMap::from([
            ("dbClusterIdentifier".to_string(), "ledger".to_string()),
            ("Engine".to_string(), "aurora-postgresql".to_string()),
        ]);
        let merged = with_overrides(
            point,
            &[("DBClusterIdentifier", "bulwark-rt-abc".to_string())],
        );
        assert_eq!(
            merged,
            BTreeMap::from([
                (
                    "DBClusterIdentifier".to_string(),
                    "bulwark-rt-abc".to_string()
                ),
                ("Engine".to_string(), "aurora-postgresql".to_string()),
            ])
        );
    }

    #[test]
    fn the_temporary_instance_fits_rds_identifiers() {
        assert_eq!(
            temporary_instance_name("bulwark-rt-abc"),
            "bulwark-rt-abc-i"
        );
        // A restored name of the whole 63 characters loses its last two to the suffix.
        let longest = format!("bulwark-rt-{}", "a".repeat(52));
        assert_eq!(longest.len(), 63);
        let instance = temporary_instance_name(&longest);
        assert_eq!(instance, format!("bulwark-rt-{}-i", "a".repeat(50)));
        assert_eq!(instance, temporary_instance_name(&longest), "deterministic");
        // A cut that would end on a hyphen drops it: RDS refuses two hyphens in a row.
        let hyphen_at_cut = format!("{}-bc", "a".repeat(60));
        assert_eq!(
            temporary_instance_name(&hyphen_at_cut),
            format!("{}-i", "a".repeat(60))
        );
        // The instances a cluster serves from: the first is the temporary one's.
        assert_eq!(serving_instance_name("bulwark-fo-x", 1), "bulwark-fo-x-i");
        assert_eq!(serving_instance_name("bulwark-fo-x", 3), "bulwark-fo-x-i3");
        let twelfth = serving_instance_name(&longest, 12);
        assert_eq!(twelfth, format!("bulwark-rt-{}-i12", "a".repeat(48)));
        assert_eq!(twelfth.len(), 63);
    }

    #[test]
    fn the_temporary_instance_class_is_configured_serverless_or_the_engines() {
        assert_eq!(
            temporary_instance_class("aurora-postgresql", false, None).as_deref(),
            Some("db.r6g.large")
        );
        assert_eq!(
            temporary_instance_class("aurora-mysql", true, None).as_deref(),
            Some("db.serverless")
        );
        assert_eq!(
            temporary_instance_class("aurora", false, None).as_deref(),
            Some("db.r5.large")
        );
        assert_eq!(
            temporary_instance_class("aurora-mysql", true, Some("db.t4g.medium")).as_deref(),
            Some("db.t4g.medium")
        );
        assert_eq!(temporary_instance_class("postgres", false, None), None);
        assert_eq!(
            temporary_instance_class("mysql", false, Some("db.r6g.large")),
            None
        );
    }

    #[test]
    fn failure_states_are_told_from_progress() {
        for status in [
            "failed",
            "incompatible-parameters",
            "inaccessible-encryption-credentials-recoverable",
            "deleting",
        ] {
            assert!(cannot_open(status), "{status}");
        }
        for status in [
            "creating",
            "backing-up",
            "configuring-enhanced-monitoring",
            "available",
        ] {
            assert!(!cannot_open(status), "{status}");
        }
    }
}
