//! The `[protection]` settings: where recovery points are kept, who may delete them, and the
//! DR region each source region copies to.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::arn::partition_of;

/// Where Bulwark keeps recovery points and who may delete them: the `[protection]` section of
/// the configuration file (docs/configuration.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProtectionSettings {
    /// The vault's name, the same in the primary and the DR region.
    pub vault_name: String,
    /// Where tiers with `cross_region_copy` copy the recovery points of every region but this
    /// one (whose own DR region comes from `dr_regions` or the default pairs).
    pub dr_region: String,
    /// Explicit pairs, source region to DR region: they win over `dr_region`.
    pub dr_regions: BTreeMap<String, String>,
    /// The customer-managed KMS key both vaults encrypt with; the alias must exist in both.
    pub kms_key_alias: String,
    /// The role AWS Backup assumes to back up the selected assets, path included.
    pub backup_role_name: String,
    /// The role AWS Backup assumes to restore a test's or a failover's copy, path included:
    /// the template's, whose writes reach only stores named `bulwark-rt-*` and `bulwark-fo-*`.
    pub restore_role_name: String,
    /// The role S3 assumes to replicate a tier's buckets to their DR region
    /// (`s3_replication`), path included: the template's.
    pub replication_role_name: String,
    /// The only roles the vault access policy lets delete recovery points, shorten their
    /// lifecycle, delete the vault or change its lock, paths included.
    pub admin_role_names: Vec<String>,
    /// The roles Bulwark runs as (a trailing `*` allowed): with the admins, the only ones that
    /// may replace or delete the vault access policy Bulwark maintains.
    pub maintainer_role_names: Vec<String>,
    /// Whether a tier may ask for a compliance-mode lock, which cannot be undone.
    pub allow_compliance_lock: bool,
    /// Whether RDS backup retention changes apply at once (turning automated backups on then
    /// restarts the database) or at the next maintenance window.
    pub rds_apply_immediately: bool,
    /// Whether S3 versioning is read from AWS Config's configuration items (a query page per
    /// 100 buckets, in a region whose recorder records buckets) rather than a GetBucketVersioning
    /// per bucket.
    pub versioning_from_config: bool,
}

impl Default for ProtectionSettings {
    /// The documented defaults, also spelt out in default-config.toml.
    fn default() -> Self {
        Self {
            vault_name: "bulwark".into(),
            dr_region: "us-west-2".into(),
            dr_regions: BTreeMap::new(),
            kms_key_alias: "alias/bulwark-backup".into(),
            backup_role_name: "service-role/AWSBackupDefaultServiceRole".into(),
            restore_role_name: "service-role/bulwark-restore".into(),
            replication_role_name: "service-role/bulwark-s3-replication".into(),
            admin_role_names: vec!["BulwarkBackupAdmin".into()],
            maintainer_role_names: vec!["bulwark-*".into()],
            allow_compliance_lock: false,
            rds_apply_immediately: false,
            versioning_from_config: false,
        }
    }
}

impl ProtectionSettings {
    pub fn backup_role_arn(&self, partition: &str, account: &str) -> String {
        role_arn(partition, account, &self.backup_role_name)
    }

    pub fn restore_role_arn(&self, partition: &str, account: &str) -> String {
        role_arn(partition, account, &self.restore_role_name)
    }

    pub fn replication_role_arn(&self, partition: &str, account: &str) -> String {
        role_arn(partition, account, &self.replication_role_name)
    }

    pub fn admin_role_arns(&self, partition: &str, account: &str) -> Vec<String> {
        self.admin_role_names
            .iter()
            .map(|name| role_arn(partition, account, name))
            .collect()
    }

    pub fn maintainer_role_arns(&self, partition: &str, account: &str) -> Vec<String> {
        self.maintainer_role_names
            .iter()
            .map(|name| role_arn(partition, account, name))
            .collect()
    }

    pub fn vault_arn(&self, region: &str, account: &str) -> String {
        format!(
            "arn:{}:backup:{region}:{account}:backup-vault:{}",
            partition_of(region),
            self.vault_name
        )
    }

    /// The DR region of a source region: its explicit pair, else `dr_region` unless that is
    /// the source itself, else the default pair. A region is never its own DR region: copies
    /// would go back into the vault they came from.
    pub fn dr_region_for(&self, source: &str) -> Result<String, String> {
        let chosen = self
            .dr_regions
            .get(source)
            .cloned()
            .or_else(|| (self.dr_region != source).then(|| self.dr_region.clone()))
            .or_else(|| default_dr_region(source).map(str::to_string))
            .ok_or_else(|| {
                format!(
                    "no DR region for {source}: it is dr_region and has no default pair; name \
                     one in [protection.dr_regions]"
                )
            })?;
        if chosen == source {
            return Err(format!("{source} cannot be its own DR region"));
        }
        Ok(chosen)
    }
}

/// Default DR pairs for a source region that `dr_region` cannot serve (it is that region):
/// a region of the same country or bloc, so that data stays where its residency allows.
const DEFAULT_DR_PAIRS: &[(&str, &str)] = &[
    ("us-east-1", "us-west-2"),
    ("us-east-2", "us-west-2"),
    ("us-west-1", "us-east-1"),
    ("us-west-2", "us-east-1"),
    ("ca-central-1", "ca-west-1"),
    ("ca-west-1", "ca-central-1"),
    ("eu-west-1", "eu-central-1"),
    ("eu-west-2", "eu-west-1"),
    ("eu-west-3", "eu-central-1"),
    ("eu-central-1", "eu-west-1"),
    ("eu-central-2", "eu-central-1"),
    ("eu-north-1", "eu-west-1"),
    ("eu-south-1", "eu-central-1"),
    ("eu-south-2", "eu-west-3"),
    ("ap-northeast-1", "ap-northeast-3"),
    ("ap-northeast-3", "ap-northeast-1"),
    ("ap-northeast-2", "ap-northeast-1"),
    ("ap-southeast-1", "ap-southeast-2"),
    ("ap-southeast-2", "ap-southeast-4"),
    ("ap-southeast-4", "ap-southeast-2"),
    ("ap-south-1", "ap-south-2"),
    ("ap-south-2", "ap-south-1"),
    ("cn-north-1", "cn-northwest-1"),
    ("cn-northwest-1", "cn-north-1"),
    ("us-gov-west-1", "us-gov-east-1"),
    ("us-gov-east-1", "us-gov-west-1"),
];

/// The default DR region of `source`, if the table has one.
pub fn default_dr_region(source: &str) -> Option<&'static str> {
    DEFAULT_DR_PAIRS
        .iter()
        .find(|(from, _)| *from == source)
        .map(|(_, to)| *to)
}

fn role_arn(partition: &str, account: &str, name: &str) -> String {
    format!("arn:{partition}:iam::{account}:role/{name}")
}
