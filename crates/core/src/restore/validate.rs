//! The validators: a restored copy against what the store held when it was backed up.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::Finding;

/// How far a restored table's item count may stray from its source's before the difference
/// needs explaining.
pub const ITEM_COUNT_TOLERANCE: f64 = 0.01;

/// What a DynamoDB table is, as DescribeTable tells it, with its items counted (a `Scan` with
/// `Select=COUNT`: DescribeTable's `ItemCount` is refreshed about every six hours, so a table
/// just restored reports 0).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableFacts {
    pub status: String,
    /// (attribute, HASH or RANGE), in order.
    pub key_schema: Vec<(String, String)>,
    pub indexes: BTreeSet<String>,
    pub billing_mode: Option<String>,
    pub item_count: u64,
}

/// How many parallel segments a table of `reported_bytes` is counted in. DynamoDB's guide
/// ("Parallel scan") advises a parallel scan for tables of 20 GB or more; below that, one
/// segment, paged, costs a call per megabyte read and no more.
pub fn count_segments(reported_bytes: u64) -> u32 {
    const PARALLEL_FROM_BYTES: u64 = 20_000_000_000;
    const SEGMENTS: u32 = 4;
    if reported_bytes >= PARALLEL_FROM_BYTES {
        SEGMENTS
    } else {
        1
    }
}

/// Items of the restored table looked up by key in the source: how many were sampled, how many
/// the source holds unchanged, changed, or no longer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemSample {
    pub sampled: u64,
    pub identical: u64,
    pub changed: u64,
    pub absent: u64,
}

/// A restored table against its source as it is now. Neither AWS Backup (an advanced DynamoDB
/// backup has no item count anyone can read) nor DynamoDB (no item carries its time) says what
/// the table held at the recovery point, so the contents are judged by what can be told:
/// - the same key schema, indexes and billing mode;
/// - a sample of the restored items found in the source: at least one exactly as the source
///   holds it shows the copy holds the source's data; none of them is "not compared" (the
///   source changed since, or the copy is not its data: which, cannot be told);
/// - the counts equal within `ITEM_COUNT_TOLERANCE`; otherwise "not compared", never a pass:
///   the source may have changed since the point, or the restore lost items, and which of the
///   two cannot be told without a reference (a customer hook, which knows the data, can).
pub fn validate_table(
    source: &TableFacts,
    restored: &TableFacts,
    sample: &ItemSample,
) -> Vec<Finding> {
    let allowed = (source.item_count as f64 * ITEM_COUNT_TOLERANCE).ceil() as u64;
    let count_off = source.item_count.abs_diff(restored.item_count);
    let counts = format!(
        "{} items restored, {} in the source now",
        restored.item_count, source.item_count
    );
    let item_count = if count_off <= allowed {
        Finding::new(
            "item count",
            true,
            format!("{counts} (tolerance {allowed})"),
        )
    } else {
        Finding::not_compared(
            "item count",
            format!(
                "{counts}: the source may have changed since the recovery point, or the \
                 restore lost items; a customer hook can tell"
            ),
        )
    };
    let sampled = format!(
        "of {} sampled items, {} as in the source, {} changed there, {} gone from it",
        sample.sampled, sample.identical, sample.changed, sample.absent
    );
    let sampled_items = match (sample.sampled, sample.identical) {
        (0, _) if restored.item_count > 0 => {
            Finding::new("sampled items", false, "no item could be read")
        }
        (0, _) => Finding::new("sampled items", true, "the table is empty"),
        (_, 0) => Finding::not_compared(
            "sampled items",
            format!("{sampled}: the source changed since, or the copy is not its data"),
        ),
        _ => Finding::new("sampled items", true, sampled),
    };
    vec![
        Finding::new(
            "table active",
            restored.status == "ACTIVE",
            format!("status {}", restored.status),
        ),
        Finding::new(
            "key schema",
            restored.key_schema == source.key_schema,
            format!("{:?}, source {:?}", restored.key_schema, source.key_schema),
        ),
        Finding::new(
            "indexes",
            restored.indexes == source.indexes,
            format!("{:?}, source {:?}", restored.indexes, source.indexes),
        ),
        Finding::new(
            "billing mode",
            source.billing_mode.is_none() || restored.billing_mode == source.billing_mode,
            format!(
                "{:?}, source {:?}",
                restored.billing_mode, source.billing_mode
            ),
        ),
        item_count,
        sampled_items,
    ]
}

/// What an EBS volume or an EFS file system is, as DescribeVolumes or DescribeFileSystems
/// tells it: the attributes a restored copy must share with its source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiskFacts {
    /// `available` when usable (both APIs say so).
    pub state: String,
    pub encrypted: bool,
    pub kms_key_id: Option<String>,
    /// EBS: the size in GiB and the volume type; EFS: none and the performance mode.
    pub size_gib: Option<i32>,
    pub performance: Option<String>,
}

/// A restored volume or file system against its source: available, the same size and type or
/// performance mode, and encrypted as it is, with a key when it has one. Not the same key: AWS
/// Backup re-encrypts a copy in another region or account with the destination vault's key,
/// and a restore may choose the region's `kms_key`.
pub fn validate_disk(source: &DiskFacts, restored: &DiskFacts) -> Vec<Finding> {
    vec![
        Finding::new(
            "available",
            restored.state == "available",
            format!("state {}", restored.state),
        ),
        Finding::new(
            "size",
            restored.size_gib == source.size_gib,
            format!("{:?} GiB, source {:?}", restored.size_gib, source.size_gib),
        ),
        Finding::new(
            "type or performance mode",
            restored.performance == source.performance,
            format!(
                "{:?}, source {:?}",
                restored.performance, source.performance
            ),
        ),
        Finding::new(
            "encryption",
            at_least_as_encrypted(restored.encrypted, source.encrypted)
                && (source.kms_key_id.is_none() || restored.kms_key_id.is_some()),
            format!(
                "encrypted {} with {:?}, source {} with {:?}",
                restored.encrypted, restored.kms_key_id, source.encrypted, source.kms_key_id
            ),
        ),
    ]
}

/// A restored copy is encrypted whenever its source is. It may be encrypted where the source
/// is not: AWS Backup encrypts a copy in another region or account even of an unencrypted
/// volume or database, so what restores from it is encrypted too.
fn at_least_as_encrypted(restored: bool, source: bool) -> bool {
    restored || !source
}

/// What an RDS instance is, as DescribeDBInstances tells it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseFacts {
    pub status: String,
    pub engine: String,
    pub engine_version: String,
    pub allocated_storage_gib: i32,
    pub encrypted: bool,
}

/// A restored database or cluster is available.
fn available(status: &str) -> Finding {
    Finding::new(
        "available",
        status == "available",
        format!("status {status}"),
    )
}

/// A restored database or cluster runs its source's engine at its version: (engine, version).
fn same_engine(restored: (&str, &str), source: (&str, &str)) -> Finding {
    Finding::new(
        "engine and version",
        restored == source,
        format!(
            "{} {}, source {} {}",
            restored.0, restored.1, source.0, source.1
        ),
    )
}

/// A restored database against its source: available, the same engine and version, at least
/// its storage, encrypted whenever it is.
pub fn validate_database(source: &DatabaseFacts, restored: &DatabaseFacts) -> Vec<Finding> {
    vec![
        available(&restored.status),
        same_engine(
            (&restored.engine, &restored.engine_version),
            (&source.engine, &source.engine_version),
        ),
        Finding::new(
            "storage",
            restored.allocated_storage_gib >= source.allocated_storage_gib,
            format!(
                "{} GiB, source {} GiB",
                restored.allocated_storage_gib, source.allocated_storage_gib
            ),
        ),
        Finding::new(
            "encryption",
            at_least_as_encrypted(restored.encrypted, source.encrypted),
            format!(
                "encrypted {}, source {}",
                restored.encrypted, source.encrypted
            ),
        ),
    ]
}

/// What an Aurora DB cluster is, as DescribeDBClusters tells it, with the status of each of
/// its instances (DescribeDBInstances): a cluster is read through an instance.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterFacts {
    pub status: String,
    pub engine: String,
    pub engine_version: String,
    pub encrypted: bool,
    pub kms_key_id: Option<String>,
    /// (instance identifier, status), for the restored cluster; the source's are not read.
    pub instances: Vec<(String, String)>,
}

/// A restored cluster against its source: available, the same engine and version, encrypted
/// as it is, with a key when it has one (not the same key: a copy restored in the DR region,
/// or with the region's `kms_key`, is encrypted with a key of its own), and open: at least one
/// of its instances available, so it can be read.
pub fn validate_cluster(source: &ClusterFacts, restored: &ClusterFacts) -> Vec<Finding> {
    let opens = restored
        .instances
        .iter()
        .any(|(_, status)| status == "available");
    let instances: Vec<String> = restored
        .instances
        .iter()
        .map(|(id, status)| format!("{id} {status}"))
        .collect();
    vec![
        available(&restored.status),
        same_engine(
            (&restored.engine, &restored.engine_version),
            (&source.engine, &source.engine_version),
        ),
        Finding::new(
            "encryption",
            at_least_as_encrypted(restored.encrypted, source.encrypted)
                && (source.kms_key_id.is_none() || restored.kms_key_id.is_some()),
            format!(
                "encrypted {} with {:?}, source {} with {:?}",
                restored.encrypted, restored.kms_key_id, source.encrypted, source.kms_key_id
            ),
        ),
        Finding::new(
            "opens",
            opens,
            if instances.is_empty() {
                "no instance".to_string()
            } else {
                format!("instances: {}", instances.join(", "))
            },
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_is_counted_in_parallel_only_from_twenty_gigabytes() {
        assert_eq!(count_segments(0), 1);
        assert_eq!(count_segments(19_999_999_999), 1);
        assert_eq!(count_segments(20_000_000_000), 4);
    }

    #[test]
    fn a_database_of_another_engine_or_unencrypted_fails() {
        let source = DatabaseFacts {
            status: "available".into(),
            engine: "postgres".into(),
            engine_version: "16.3".into(),
            allocated_storage_gib: 20,
            encrypted: true,
        };
        assert!(validate_database(&source, &source).iter().all(|f| f.passed));
        let older = DatabaseFacts {
            engine_version: "15.7".into(),
            ..source.clone()
        };
        assert!(!validate_database(&source, &older)[1].passed);
        let plain = DatabaseFacts {
            encrypted: false,
            ..source.clone()
        };
        assert!(!validate_database(&source, &plain)[3].passed);
        assert!(validate_database(&plain, &source)[3].passed);
    }

    #[test]
    fn a_disk_of_another_size_type_or_encryption_fails_but_not_of_another_key() {
        let source = DiskFacts {
            state: "available".into(),
            encrypted: true,
            kms_key_id: Some("key-1".into()),
            size_gib: Some(100),
            performance: Some("gp3".into()),
        };
        assert!(validate_disk(&source, &source).iter().all(|f| f.passed));
        let smaller = DiskFacts {
            size_gib: Some(50),
            ..source.clone()
        };
        assert!(!validate_disk(&source, &smaller)[1].passed);
        let plain = DiskFacts {
            encrypted: false,
            kms_key_id: None,
            ..source.clone()
        };
        assert!(!validate_disk(&source, &plain)[3].passed);
        assert!(
            validate_disk(&plain, &source)[3].passed,
            "a copy of an unencrypted volume is encrypted in another region"
        );
        let keyless = DiskFacts {
            kms_key_id: None,
            ..source.clone()
        };
        assert!(!validate_disk(&source, &keyless)[3].passed);
        let rekeyed = DiskFacts {
            kms_key_id: Some("the destination vault's key".into()),
            ..source.clone()
        };
        assert!(
            validate_disk(&source, &rekeyed)[3].passed,
            "a copy's own key"
        );
        let creating = DiskFacts {
            state: "creating".into(),
            ..source.clone()
        };
        assert!(!validate_disk(&source, &creating)[0].passed);
    }

    #[test]
    fn a_table_of_another_schema_fails_and_one_whose_count_differs_is_not_compared() {
        let source = TableFacts {
            status: "ACTIVE".into(),
            key_schema: vec![("pk".into(), "HASH".into())],
            indexes: BTreeSet::new(),
            billing_mode: Some("PAY_PER_REQUEST".into()),
            item_count: 200,
        };
        let all_same = ItemSample {
            sampled: 64,
            identical: 64,
            ..ItemSample::default()
        };
        assert!(validate_table(&source, &source, &all_same)
            .iter()
            .all(|f| f.passed));
        let within = TableFacts {
            item_count: 198,
            ..source.clone()
        };
        assert!(validate_table(&source, &within, &all_same)
            .iter()
            .all(|f| f.passed));
        let short = TableFacts {
            item_count: 150,
            ..source.clone()
        };
        let count = &validate_table(&source, &short, &all_same)[4];
        assert!(!count.passed && count.not_compared, "{count:?}");
        assert!(
            count
                .detail
                .contains("150 items restored, 200 in the source now"),
            "{}",
            count.detail
        );
        let other = TableFacts {
            key_schema: vec![("id".into(), "HASH".into())],
            ..source.clone()
        };
        assert!(!validate_table(&source, &other, &all_same)[1].passed);
        let creating = TableFacts {
            status: "CREATING".into(),
            ..source.clone()
        };
        assert!(!validate_table(&source, &creating, &all_same)[0].passed);
    }

    #[test]
    fn a_sample_with_one_item_as_in_the_source_passes_and_one_with_none_is_not_compared() {
        let table = TableFacts {
            status: "ACTIVE".into(),
            item_count: 10,
            ..TableFacts::default()
        };
        let sample = |identical, changed, absent| ItemSample {
            sampled: identical + changed + absent,
            identical,
            changed,
            absent,
        };
        let judged = |s: ItemSample| validate_table(&table, &table, &s)[5].clone();
        assert!(judged(sample(1, 5, 4)).passed, "churn since the point");
        let none = judged(sample(0, 6, 4));
        assert!(!none.passed && none.not_compared, "{none:?}");
        let unread = judged(sample(0, 0, 0));
        assert!(!unread.passed && !unread.not_compared, "{unread:?}");
        let empty = TableFacts {
            item_count: 0,
            ..table.clone()
        };
        assert!(validate_table(&empty, &empty, &sample(0, 0, 0))[5].passed);
    }

    #[test]
    fn a_cluster_without_an_available_instance_or_its_key_fails() {
        let source = ClusterFacts {
            status: "available".into(),
            engine: "aurora-postgresql".into(),
            engine_version: "16.4".into(),
            encrypted: true,
            kms_key_id: Some("arn:aws:kms:us-east-1:123456789012:key/source".into()),
            instances: Vec::new(),
        };
        let restored = ClusterFacts {
            kms_key_id: Some("arn:aws:kms:us-west-2:123456789012:key/dr".into()),
            instances: vec![("bulwark-rt-abc-i".into(), "available".into())],
            ..source.clone()
        };
        let passed = |r: &ClusterFacts| -> Vec<bool> {
            validate_cluster(&source, r)
                .iter()
                .map(|f| f.passed)
                .collect()
        };
        assert_eq!(passed(&restored), [true, true, true, true]);
        let creating = ClusterFacts {
            instances: vec![("bulwark-rt-abc-i".into(), "creating".into())],
            ..restored.clone()
        };
        assert_eq!(passed(&creating), [true, true, true, false]);
        assert_eq!(
            validate_cluster(&source, &creating)[3].detail,
            "instances: bulwark-rt-abc-i creating"
        );
        let empty = ClusterFacts {
            instances: Vec::new(),
            ..restored.clone()
        };
        assert_eq!(validate_cluster(&source, &empty)[3].detail, "no instance");
        let keyless = ClusterFacts {
            kms_key_id: None,
            ..restored.clone()
        };
        assert_eq!(passed(&keyless), [true, true, false, true]);
        let older = ClusterFacts {
            engine_version: "15.8".into(),
            status: "backing-up".into(),
            ..restored.clone()
        };
        assert_eq!(passed(&older), [false, false, true, true]);
        let plain_source = ClusterFacts {
            encrypted: false,
            kms_key_id: None,
            ..source.clone()
        };
        assert!(
            validate_cluster(&plain_source, &restored)[2].passed,
            "a copy may be encrypted where its source is not"
        );
        let plain_restored = ClusterFacts {
            encrypted: false,
            kms_key_id: None,
            ..restored.clone()
        };
        assert!(!validate_cluster(&source, &plain_restored)[2].passed);
    }
}
