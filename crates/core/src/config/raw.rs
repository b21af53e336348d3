//! The configuration file as serde reads it: every value with its span, so that the loader
//! can name the line of what it refuses.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::duration::Duration;
use crate::kind::Kind;
use crate::taxonomy::LockMode;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub(super) tiers: BTreeMap<Spanned<String>, Spanned<RawTier>>,
    #[serde(default)]
    pub(super) rules: Vec<RawRule>,
    pub(super) protection: Option<RawProtection>,
    #[serde(default)]
    pub(super) restore_prerequisites: BTreeMap<Spanned<String>, RawPrerequisites>,
    #[serde(default)]
    pub(super) applications: Vec<RawApplication>,
    pub(super) restore_test_prices: Option<RawPrices>,
    pub(super) backup_storage_prices: Option<RawStoragePrices>,
    pub(super) central_backup: Option<RawCentralBackup>,
    pub(super) organization_policies: Option<RawOrganizationPolicies>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCentralBackup {
    pub(super) account: Spanned<String>,
    pub(super) organization_id: Spanned<String>,
    pub(super) region: Spanned<String>,
    pub(super) secondary_region: Option<Spanned<String>>,
    pub(super) vault_name: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOrganizationPolicies {
    pub(super) targets: Spanned<Vec<Spanned<String>>>,
    pub(super) regions: Spanned<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStoragePrices {
    #[serde(default)]
    pub(super) warm_gb_month: BTreeMap<Spanned<String>, Spanned<f64>>,
    #[serde(default)]
    pub(super) cold_gb_month: BTreeMap<Spanned<String>, Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPrices {
    #[serde(default)]
    pub(super) instance_hour: BTreeMap<Spanned<String>, Spanned<f64>>,
    #[serde(default)]
    pub(super) storage_gb_month: BTreeMap<Spanned<String>, Spanned<f64>>,
    #[serde(default)]
    pub(super) restore_gb: BTreeMap<Spanned<String>, Spanned<f64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawProtection {
    pub(super) vault_name: Option<Spanned<String>>,
    pub(super) dr_region: Option<Spanned<String>>,
    pub(super) dr_regions: Option<BTreeMap<Spanned<String>, Spanned<String>>>,
    pub(super) kms_key_alias: Option<Spanned<String>>,
    pub(super) backup_role_name: Option<Spanned<String>>,
    pub(super) restore_role_name: Option<Spanned<String>>,
    pub(super) replication_role_name: Option<Spanned<String>>,
    pub(super) admin_role_names: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) maintainer_role_names: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    pub(super) allow_compliance_lock: bool,
    #[serde(default)]
    pub(super) rds_apply_immediately: bool,
    #[serde(default)]
    pub(super) versioning_from_config: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTier {
    pub(super) rpo: Spanned<Duration>,
    pub(super) rto: Spanned<Duration>,
    pub(super) frequency: Spanned<Duration>,
    pub(super) frequency_without_continuous: Option<Spanned<Duration>>,
    pub(super) cron: Option<Spanned<String>>,
    pub(super) start_window: Option<Spanned<Duration>>,
    pub(super) completion_window: Option<Spanned<Duration>>,
    pub(super) retention: Spanned<Duration>,
    pub(super) cold_storage_after: Option<Spanned<Duration>>,
    pub(super) cross_region_copy: Option<Spanned<bool>>,
    pub(super) dr_rpo: Option<Spanned<Duration>>,
    #[serde(default)]
    pub(super) continuous_backup: bool,
    pub(super) lock: Option<Spanned<RawLock>>,
    #[serde(default)]
    pub(super) alert: bool,
    pub(super) restore_test: Option<RawRestoreTest>,
    pub(super) noncurrent_versions: Option<Spanned<RawNoncurrentVersions>>,
    pub(super) central_retention: Option<Spanned<Duration>>,
    pub(super) s3_replication: Option<Spanned<bool>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNoncurrentVersions {
    pub(super) transition_after: Option<Spanned<Duration>>,
    pub(super) storage_class: Option<Spanned<String>>,
    pub(super) expire_after: Option<Spanned<Duration>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRestoreTest {
    pub(super) enabled: Option<bool>,
    pub(super) cadence: Option<Spanned<Duration>>,
    /// Signed, so that a negative count is refused with the rule rather than serde's type error.
    pub(super) within_runs: Option<Spanned<i64>>,
    pub(super) recovery_point: Option<Spanned<RawPointChoice>>,
    pub(super) random_within: Option<Spanned<Duration>>,
    pub(super) dr_copy: Option<Spanned<bool>>,
    pub(super) validation_window: Option<Spanned<Duration>>,
    pub(super) restore_deadline: Option<Spanned<Duration>>,
    pub(super) monthly_budget: Option<Spanned<f64>>,
    pub(super) hook: Option<Spanned<String>>,
    pub(super) instance_class: Option<Spanned<String>>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawPointChoice {
    Latest,
    Random,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPrerequisites {
    pub(super) db_subnet_group: Option<Spanned<String>>,
    pub(super) security_groups: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) kms_key: Option<Spanned<String>>,
    pub(super) instance_class: Option<Spanned<String>>,
    pub(super) availability_zone: Option<Spanned<String>>,
    pub(super) option_group: Option<Spanned<String>>,
    pub(super) parameter_group: Option<Spanned<String>>,
    pub(super) cluster_parameter_group: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLock {
    pub(super) mode: Option<Spanned<LockMode>>,
    pub(super) min_retention: Spanned<Duration>,
    pub(super) max_retention: Option<Spanned<Duration>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    pub(super) name: Spanned<String>,
    pub(super) kinds: Option<Spanned<Vec<Kind>>>,
    pub(super) tag_keys: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) tag_values: Option<Spanned<BTreeMap<Spanned<String>, Spanned<String>>>>,
    pub(super) name_contains: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) name_words: Option<Spanned<Vec<Spanned<String>>>>,
    pub(super) then: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawApplication {
    pub(super) name: Spanned<String>,
    pub(super) primary_region: Spanned<String>,
    pub(super) dr_region: Option<Spanned<String>>,
    pub(super) stores: Spanned<RawStores>,
    pub(super) max_data_loss: Option<Spanned<Duration>>,
    #[serde(default)]
    pub(super) switches: Vec<Spanned<RawSwitch>>,
    pub(super) automatic_failover: Option<Spanned<RawAutomaticFailover>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawAutomaticFailover {
    pub(super) alarm: Spanned<String>,
    #[serde(default)]
    pub(super) primary_down: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStores {
    pub(super) tag: Option<Spanned<RawTag>>,
    pub(super) arns: Option<Spanned<Vec<Spanned<String>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTag {
    pub(super) key: Spanned<String>,
    pub(super) value: Spanned<String>,
}

/// Every kind of switch in one shape: an internally tagged enum would buffer its fields and
/// lose their spans. The loader refuses the fields of the other kind.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSwitch {
    pub(super) kind: Spanned<String>,
    pub(super) zone_id: Option<Spanned<String>>,
    pub(super) name: Option<Spanned<String>>,
    #[serde(rename = "type")]
    pub(super) record_type: Option<Spanned<String>>,
    /// Signed, so that a negative TTL is refused with the rule rather than serde's type error.
    pub(super) ttl: Option<Spanned<i64>>,
    pub(super) parameter: Option<Spanned<String>>,
    /// A routing control's ARN (kind = "routing_control").
    pub(super) arn: Option<Spanned<String>>,
    /// Its cluster's endpoints (kind = "routing_control").
    pub(super) cluster_endpoints: Option<Spanned<Vec<RawClusterEndpoint>>>,
    pub(super) value: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawClusterEndpoint {
    pub(super) url: Spanned<String>,
    pub(super) region: Spanned<String>,
}
