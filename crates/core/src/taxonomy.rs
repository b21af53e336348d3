//! The taxonomy: what each tier demands. Loaded and validated by the `config` module; rendered
//! into AWS Backup plans by assign-policy.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::duration::Duration;
use crate::hook_function::HookFunction;
use crate::kind::Kind;
use crate::restore::Usd;

/// One tier and the protection it demands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tier {
    pub name: String,
    /// Recovery point objective: the most data, in time, the tier may lose.
    pub rpo: Duration,
    /// Recovery time objective: how long a restore may take.
    pub rto: Duration,
    /// How often recovery points (snapshots) are taken.
    pub frequency: Duration,
    /// With continuous backup on, how often to snapshot the kinds that have no point-in-time
    /// mechanism, so that their RPO still holds. None: they use `frequency` too.
    pub frequency_without_continuous: Option<Duration>,
    /// An explicit AWS cron expression (`cron(0 5 ? * * *)`) for the `frequency` schedule,
    /// to pin the time of day. It must fire at least every `frequency`.
    pub cron: Option<String>,
    /// How long after its scheduled time a backup job may start.
    pub start_window: Duration,
    /// How long after its scheduled time a backup job must complete.
    pub completion_window: Duration,
    /// How long recovery points are kept; a whole number of days.
    pub retention: Duration,
    /// When recovery points move to cold storage, on the kinds that support it.
    pub cold_storage_after: Option<Duration>,
    /// Whether recovery points are copied to the DR region.
    pub cross_region_copy: bool,
    /// What a failover to the DR region may lose: the age its newest copy there may reach.
    /// The rendered plans copy often enough to meet it (`Tier::dr_copy_frequency`); a failover
    /// plan blocks on a copy older than it. None: the tier's RPO is the limit, and copies come
    /// from the snapshot rule alone.
    pub dr_rpo: Option<Duration>,
    /// Continuous backup (AWS Backup) or native PITR, on the kinds that support either.
    pub continuous_backup: bool,
    pub lock: Option<Lock>,
    /// Whether an unprotected store of this tier, or one past its RPO, pages someone (the
    /// alert topic).
    pub alert: bool,
    /// Which of the tier's stores restore tests prove, and when.
    pub restore_test: RestoreTestPolicy,
    /// What becomes of its buckets' noncurrent object versions (an S3 lifecycle rule of
    /// Bulwark's own); None: Bulwark puts none.
    pub noncurrent_versions: Option<NoncurrentVersions>,
    /// How long the copy of each recovery point in the central backup account's vaults is
    /// kept (`[central_backup]`); None: no central copy.
    pub central_retention: Option<Duration>,
    /// Whether its buckets replicate to the DR region: a bucket there (versioned, encrypted) and
    /// an S3 replication rule of Bulwark's own, made by `apply`.
    pub s3_replication: bool,
}

/// The S3 lifecycle rule Bulwark puts on a tier's buckets for their noncurrent versions: moved
/// to colder storage, then expired, each so many whole days after a version stops being current.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoncurrentVersions {
    pub transition: Option<NoncurrentTransition>,
    pub expire_after_days: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoncurrentTransition {
    pub after_days: u32,
    /// One of NONCURRENT_STORAGE_CLASSES.
    pub storage_class: String,
}

/// The storage classes S3 moves noncurrent versions to (S3 API reference,
/// NoncurrentVersionTransition).
pub const NONCURRENT_STORAGE_CLASSES: &[&str] = &[
    "STANDARD_IA",
    "ONEZONE_IA",
    "INTELLIGENT_TIERING",
    "GLACIER_IR",
    "GLACIER",
    "DEEP_ARCHIVE",
];

/// The infrequent-access classes take a noncurrent version only once it has been noncurrent
/// for 30 days (S3 refuses an earlier transition).
pub const INFREQUENT_ACCESS_MIN_DAYS: u32 = 30;

/// The ID of Bulwark's lifecycle rule: the one rule of a bucket's lifecycle it writes.
pub const NONCURRENT_RULE_ID: &str = "bulwark-noncurrent-versions";

/// How a tier's stores are restore-tested: the `restore_test` table of the tier, defaulted
/// (docs/configuration.md, "Restore tests"). `restore::due` and `restore::choose_point` apply
/// it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestoreTestPolicy {
    /// False: the tier's stores are never tested.
    pub enabled: bool,
    /// How old a store's last test may be before it is due again.
    pub cadence: Duration,
    /// Every store is tested within this many runs: a run tests at most
    /// ceil(stores of the tier / within_runs) of the due ones. 1: every due store, every run.
    pub within_runs: u32,
    /// Which recovery point a test restores.
    pub recovery_point: PointChoice,
    /// Whether the newest copy in the DR region is tested too.
    pub dr_copy: bool,
    /// How long a restored copy may live for validation: it expires this long after its
    /// restore completed, and the sweeper deletes it then.
    pub validation_window: Duration,
    /// How long a test waits for its restore job: a job still running then is left to run,
    /// remembered for the sweeper, and the test ends unfinished ("did not complete").
    pub restore_deadline: Duration,
    /// What the tier's scheduled tests may cost in a calendar month, estimated: the scheduler
    /// tests the most urgent due stores that fit. None: no budget.
    pub monthly_budget: Option<Usd>,
    /// The customer's validation hook for the tier's stores (a store's `bulwark:restore-hook`
    /// tag names its own).
    pub hook: Option<HookFunction>,
    /// The class a tested RDS instance, or a tested Aurora cluster's instance, is restored at.
    /// None: core's `restore::test_instance_class` decides (a small class where the engine has
    /// one). A test restores an RDS instance Single-AZ whatever the class.
    pub instance_class: Option<String>,
}

/// Which recovery point a restore test restores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PointChoice {
    /// The newest completed one.
    Latest,
    /// A completed one created within `within` before the test: older points get proven too.
    Random { within: Duration },
}

impl RestoreTestPolicy {
    pub const MIN_CADENCE: Duration = Duration::from_hours(1);
    pub const MAX_WITHIN_RUNS: u32 = 1000;
    pub const DEFAULT_RANDOM_WITHIN: Duration = Duration::from_days(7);
    /// A window shorter than the most frequent backup schedule would often hold no point.
    pub const MIN_RANDOM_WITHIN: Duration = Duration::from_hours(1);
    pub const DEFAULT_VALIDATION_WINDOW: Duration = Duration::from_hours(2);
    pub const MIN_VALIDATION_WINDOW: Duration = Duration::from_minutes(15);
    pub const MAX_VALIDATION_WINDOW: Duration = Duration::from_hours(24);
    pub const DEFAULT_RESTORE_DEADLINE: Duration = Duration::from_hours(1);
    pub const MIN_RESTORE_DEADLINE: Duration = Duration::from_minutes(1);
    pub const MAX_RESTORE_DEADLINE: Duration = Duration::from_hours(24);

    /// The default cadence of a tier by its name: the default taxonomy's four, and quarterly
    /// for any other.
    pub fn default_cadence(tier: &str) -> Duration {
        match tier {
            "critical" => Duration::from_days(7),
            "important" => Duration::from_days(30),
            "archival" => Duration::from_days(365),
            _ => Duration::from_days(90),
        }
    }

    /// The policy of a tier whose file says nothing about restore tests.
    pub fn defaults(tier: &str, cross_region_copy: bool) -> Self {
        Self {
            enabled: true,
            cadence: Self::default_cadence(tier),
            within_runs: 1,
            recovery_point: PointChoice::Latest,
            dr_copy: cross_region_copy,
            validation_window: Self::DEFAULT_VALIDATION_WINDOW,
            restore_deadline: Self::DEFAULT_RESTORE_DEADLINE,
            monthly_budget: None,
            hook: None,
            instance_class: None,
        }
    }
}

/// A vault lock: recovery points cannot be deleted or changed outside these retentions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Lock {
    pub mode: LockMode,
    pub min_retention: Duration,
    pub max_retention: Option<Duration>,
}

/// Governance locks can be lifted by privileged users; compliance locks, once their grace
/// time is over, by no one, AWS included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LockMode {
    Governance,
    Compliance,
}

/// A mechanism that can restore a store to (almost) any point in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PointInTime {
    /// AWS Backup continuous backup (S3, RDS, Aurora).
    ContinuousBackup,
    /// The store's own point-in-time recovery, switched on outside AWS Backup (DynamoDB PITR).
    NativePitr,
}

impl PointInTime {
    /// How far the latest restorable time trails behind now: AWS documents about five
    /// minutes for RDS, Aurora and DynamoDB, and S3 continuous backup is no slower.
    pub const LAG: Duration = Duration::from_minutes(5);
}

/// The grace period of a compliance lock: the least AWS Backup accepts. Until it passes the
/// lock can still be removed; afterwards, by no one.
pub const COMPLIANCE_GRACE_DAYS: u64 = 3;

/// What every plan and selection name starts with.
pub const NAME_PREFIX: &str = "bulwark-";
/// The longest group name protection's rendering gives a plan ("dynamodb-efsebs"): with the
/// prefix and the selection's "-assets" it bounds the tier name, since AWS Backup allows 50
/// characters.
pub(crate) const LONGEST_GROUP_NAME: usize = 15;

/// The longest AWS Backup keeps continuous-backup recovery points.
pub const CONTINUOUS_RETENTION_MAX: Duration = Duration::from_days(35);

/// The shortest schedule AWS Backup accepts.
pub const MIN_FREQUENCY: Duration = Duration::from_hours(1);

/// How long a backup and its copy to the DR region are allowed to take: a copy started every
/// `dr_rpo - COPY_ALLOWANCE` is in the DR vault before the newest one there is `dr_rpo` old.
pub const COPY_ALLOWANCE: Duration = Duration::from_hours(1);

/// The shortest start window AWS Backup accepts.
pub const MIN_START_WINDOW: Duration = Duration::from_hours(1);

/// AWS Backup refuses a lifecycle that deletes a recovery point sooner than this after it
/// moved to cold storage.
pub const MIN_COLD_STORAGE_STAY: Duration = Duration::from_days(90);

impl Tier {
    /// The point-in-time mechanism this tier switches on for a kind, if any.
    pub fn point_in_time(&self, kind: Kind) -> Option<PointInTime> {
        if !self.continuous_backup {
            None
        } else if kind.supports_continuous_backup() {
            Some(PointInTime::ContinuousBackup)
        } else if kind.supports_native_pitr() {
            Some(PointInTime::NativePitr)
        } else {
            None
        }
    }

    /// How often a kind's recovery points are taken in this tier.
    pub fn snapshot_frequency(&self, kind: Kind) -> Duration {
        match self.point_in_time(kind) {
            None if self.continuous_backup => {
                self.frequency_without_continuous.unwrap_or(self.frequency)
            }
            _ => self.frequency,
        }
    }
}

impl Tier {
    /// Whether the tier has an AWS Backup continuous-backup rule: continuous backup is on and
    /// some kind supports it.
    pub fn has_continuous_rule(&self) -> bool {
        Kind::ALL
            .into_iter()
            .any(|kind| self.point_in_time(kind) == Some(PointInTime::ContinuousBackup))
    }

    /// How long continuous-backup recovery points are kept: the retention, capped at the
    /// 35 days AWS Backup allows them.
    pub fn continuous_retention(&self) -> Duration {
        self.retention.min(CONTINUOUS_RETENTION_MAX)
    }

    /// The shortest retention of any recovery point the tier writes to the primary vault.
    pub fn shortest_retention(&self) -> Duration {
        if self.has_continuous_rule() || self.dr_rpo.is_some() {
            self.continuous_retention()
        } else {
            self.retention
        }
    }

    /// How often a kind's recovery points must reach the DR region for its `dr_rpo`, when its
    /// snapshots are not frequent enough already: `dr_rpo` less the time a backup and its
    /// copy take, at least hourly. None: no `dr_rpo`, or the snapshot rule's copies meet it.
    pub fn dr_copy_frequency(&self, kind: Kind) -> Option<Duration> {
        let dr_rpo = self.dr_rpo.filter(|_| self.cross_region_copy)?;
        let snapshots = self.snapshot_frequency(kind);
        let cadence = Duration::from_minutes(
            dr_rpo
                .as_minutes()
                .saturating_sub(COPY_ALLOWANCE.as_minutes())
                .max(MIN_FREQUENCY.as_minutes()),
        );
        (snapshots > cadence).then_some(cadence)
    }

    /// How long the frequent copies made for `dr_rpo` are kept, in both vaults: as long as
    /// continuous backups (at most 35 days), so that the vault lock that admits those admits
    /// these; the snapshot rule's copies keep the tier's retention.
    pub fn dr_copy_retention(&self) -> Duration {
        self.continuous_retention()
    }
}

/// The one lock of a vault that several tiers share. A vault lock applies to every recovery
/// point in the vault, so it can be no stricter than what each tier's points admit: the
/// smallest `min_retention` any tier asks, the largest `max_retention` (none if any tier
/// leaves it open), and compliance mode if any tier asks for it. None if no tier asks for a
/// lock.
pub fn shared_lock<'a>(tiers: impl IntoIterator<Item = &'a Tier>) -> Option<Lock> {
    tiers
        .into_iter()
        .filter_map(|tier| tier.lock)
        .reduce(|a, b| Lock {
            mode: if a.mode == LockMode::Compliance || b.mode == LockMode::Compliance {
                LockMode::Compliance
            } else {
                LockMode::Governance
            },
            min_retention: a.min_retention.min(b.min_retention),
            max_retention: a.max_retention.zip(b.max_retention).map(|(a, b)| a.max(b)),
        })
}

impl fmt::Display for LockMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LockMode::Governance => "governance",
            LockMode::Compliance => "compliance",
        })
    }
}

impl fmt::Display for PointInTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PointInTime::ContinuousBackup => "continuous backup",
            PointInTime::NativePitr => "native PITR",
        })
    }
}
