//! What a failover plan is made of: the facts an adapter reads once, and the plan decided from
//! them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::application::{Attribute, SwitchTarget, ValueTemplate};
use crate::arn::{Region, ResourceArn};
use crate::duration::Duration;
use crate::kind::Kind;

/// Everything a plan is decided from, read once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailoverFacts {
    pub now: DateTime<Utc>,
    /// The application's stores (each once; in any order).
    pub stores: Vec<StoreFacts>,
    pub dr_region: DrRegionFacts,
    /// Each switch target's value now; None: the record or parameter does not exist. A target
    /// missing from the map is taken as not existing.
    pub current_switch_values: BTreeMap<SwitchTarget, Option<String>>,
    /// The switch targets whose value could not be read (the service did not answer), with
    /// the error: a switch cannot be put back without knowing what it replaced.
    pub unreadable_switches: BTreeMap<SwitchTarget, String>,
    /// The switch targets that were read but could not be put back exactly (a Route 53 record
    /// with a routing policy), with the reason.
    pub unrestorable_switches: BTreeMap<SwitchTarget, String>,
}

/// One store of the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreFacts {
    /// Its kind and name (`arn.id`, what templates name it by) come with it.
    pub arn: ResourceArn,
    pub tier: Option<String>,
    /// What a failover of its tier may lose (the tier's `dr_rpo`, else its RPO): the
    /// data-loss limit when the application sets none.
    pub tier_rpo: Option<Duration>,
    /// Its recovery points copied to the DR vault. Points in another region are not copies
    /// there and are ignored.
    pub copies: Vec<CopyFacts>,
    /// The RTO its last restore test measured.
    pub last_restore_test_rto: Option<Duration>,
    /// When the inventory found it gone from the primary region (deleted): it is restored
    /// from its last copy, which lost what was written between that copy and its deletion,
    /// and judged alone (there is no source to compare with).
    pub gone_at: Option<DateTime<Utc>>,
    /// A database's engine, as discovered.
    pub engine: Option<String>,
    /// An Aurora cluster's member instances, as discovered: how many it serves from.
    pub members: usize,
    /// Its tags, as discovered.
    pub tags: BTreeMap<String, String>,
    /// Where its continuous backup's restorable window ends now (read for a recovery in
    /// place only): a continuous point restores to no later time.
    pub latest_restorable: Option<DateTime<Utc>>,
    /// The recovery points a restore test of it restored and passed (a drill's, a DR test's: its
    /// copies; a test of its own region's: its points there): verified good.
    pub verified_points: BTreeSet<String>,
    /// Its copies outside AWS Backup, as discovered (RDS and Aurora read replicas).
    pub replication: Option<crate::replication::Replication>,
}

/// One recovery point in the DR vault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyFacts {
    pub recovery_point_arn: String,
    /// The vault's name or ARN, as read.
    pub vault: String,
    /// When the copied point was taken (the data it holds is this old).
    pub created: DateTime<Utc>,
    /// Whether it can be restored: AWS Backup says COMPLETED.
    pub completed: bool,
    pub encryption_key_arn: Option<String>,
}

/// What a restore in the DR region needs, as found there.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DrRegionFacts {
    /// The ARNs of the KMS keys a restore there can decrypt with.
    pub usable_keys: BTreeSet<String>,
    /// The names of its DB subnet groups.
    pub db_subnet_groups: BTreeSet<String>,
    /// Whether the role AWS Backup restores with exists.
    pub restore_role: RoleCheck,
}

/// Whether a role exists, as far as IAM could say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum RoleCheck {
    #[default]
    Exists,
    Missing,
    /// IAM could not be asked (its control plane, in us-east-1, did not answer): the plan
    /// warns, and does not block on it.
    Unchecked(String),
}

/// The plan: what a failover of the application would do, and what stands in its way. Pure
/// data; executing it is the adapters' work, and only under its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    pub application: String,
    pub primary_region: Region,
    pub dr_region: Region,
    /// When the facts were read: the data losses are as of then. Not in the hash.
    pub planned_at: DateTime<Utc>,
    /// By ARN.
    pub stores: Vec<StorePlan>,
    /// In the order the configuration lists them.
    pub switches: Vec<SwitchPlan>,
    /// What blocks the application as a whole (it has no stores).
    pub blockers: Vec<Blocker>,
    /// Every blocker: the application's, its stores' and its switches'.
    pub blockers_count: usize,
    /// The data loss the engineer accepted beyond the application's or tier's limit
    /// (`--accept-data-loss`): copies up to this old are taken. In the hash.
    #[serde(default)]
    pub accepted_data_loss: Option<Duration>,
    /// The engineer took each store's newest copy (`--point newest`) over the newest verified
    /// one, which a failover otherwise prefers. In the hash.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub newest_point: bool,
    /// A recovery in place (`bulwark recover --before`): every store restored in its own
    /// region from its newest point taken before this time, judged alone (its source is what
    /// is being recovered from). In the hash.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recover_before: Option<DateTime<Utc>>,
    /// What could not be checked, or needs more than the DR region: said, never blocking.
    /// Not in the hash.
    #[serde(default)]
    pub warnings: Vec<Warning>,
    /// No blocker anywhere.
    pub ready: bool,
    pub hash: PlanHash,
}

/// One store's restore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorePlan {
    pub arn: ResourceArn,
    pub tier: Option<String>,
    /// The newest completed copy in the DR region: what would be restored.
    pub copy: Option<CopyFacts>,
    /// How old that copy's data is: what a failover now would lose.
    pub data_loss: Option<Duration>,
    pub expected_rto: ExpectedRto,
    /// Whether a restore test restored `copy` and passed: a failover prefers such a copy
    /// (`newest_point` in the plan says it did not).
    #[serde(default)]
    pub copy_verified: bool,
    /// The name the restored copy gets (the `Name` tag of a file system or volume, whose id
    /// AWS assigns).
    pub restored_name: String,
    /// The restored copy's ARN where its name makes it (not a file system's or volume's).
    pub restored_arn: Option<ResourceArn>,
    /// The restore metadata set over the recovery point's own (`restore::with_overrides`).
    pub restore_metadata: BTreeMap<String, String>,
    pub blockers: Vec<Blocker>,
    /// When its source was found gone from the primary region: restored from its last copy
    /// and judged alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_gone_at: Option<DateTime<Utc>>,
    /// An Aurora cluster's serving topology: a cluster restores without instances, and the
    /// failover adds these.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serving: Option<Serving>,
    /// The tags the restored store gets besides the run's mark: its source's (but AWS's own
    /// and Bulwark's marks of copies) and its tier's, so that the next sweep classifies it as
    /// its source and protects it in the DR region.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// A copy already live in the DR region outside AWS Backup, in words: the faster way to
    /// fail this store over, which Bulwark names and leaves to the engineer (not hashed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_replica: Option<String>,
}

/// The instances a restored Aurora cluster serves from: as many as its source had (at least
/// one), of the DR region's configured class (`[restore_prerequisites.<region>]
/// instance_class`) or the engine's default, with the region's instance parameter group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Serving {
    pub instance_class: String,
    pub instances: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter_group: Option<String>,
}

impl Plan {
    /// Every blocker, each with what it blocks (a store's ARN, a switch's target): the
    /// application's first, then its stores' and its switches'.
    pub fn blockers_said(&self) -> Vec<String> {
        let mut said: Vec<String> = self.blockers.iter().map(ToString::to_string).collect();
        for store in &self.stores {
            said.extend(store.blockers.iter().map(|b| format!("{}: {b}", store.arn)));
        }
        for switch in &self.switches {
            said.extend(
                switch
                    .blockers
                    .iter()
                    .map(|b| format!("{}: {b}", switch.target)),
            );
        }
        said
    }
}

impl fmt::Display for Serving {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} x {}", self.instances, self.instance_class)?;
        if let Some(group) = &self.parameter_group {
            write!(f, " ({group})")?;
        }
        Ok(())
    }
}

/// How long a store's restore is expected to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExpectedRto {
    /// What its last restore test measured.
    Measured(Duration),
    /// It was never restore-tested.
    Unknown,
}

/// One switch: where it points now, and where the failover points it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwitchPlan {
    pub target: SwitchTarget,
    pub ttl: Option<u32>,
    pub template: ValueTemplate,
    /// None: the record or parameter does not exist.
    pub current: Option<String>,
    /// The value rendered from the template, what only the restore tells shown as a marker
    /// (`<orders.endpoint after restore>`).
    pub new: String,
    /// Whether `new` is the value itself: it has no marker.
    pub known_now: bool,
    /// The global control plane writing it needs, when it needs one (a Route 53 record: the
    /// Route 53 API, served from us-east-1 alone). None: a data plane of the DR region will do.
    #[serde(default)]
    pub control_plane: Option<String>,
    pub blockers: Vec<Blocker>,
}

/// Why a failover cannot run now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "blocker", rename_all = "snake_case")]
pub enum Blocker {
    /// The application has no stores (its tag selects none).
    NoStores,
    /// The configuration lists the store, but the facts have nothing of it.
    StoreNotFound,
    /// No completed copy in the DR region.
    NoCopy,
    /// The newest copy would lose more data than the application (or the tier) allows.
    CopyTooOld { age: Duration, limit: Duration },
    /// The copy is encrypted with a key the DR region cannot use.
    KeyNotUsable { key: String },
    /// The DB subnet group a database restores into does not exist in the DR region.
    SubnetGroupMissing { group: String },
    /// The role AWS Backup restores with does not exist.
    RoleMissing,
    /// A placeholder names no store of the application.
    UnknownStore { reference: String },
    /// A placeholder names several stores of the application.
    AmbiguousStore { reference: String },
    /// The switch's current value could not be read, so it could not be put back.
    SwitchUnreadable { error: String },
    /// The target is one an abort could not put back exactly.
    SwitchNotRestorable { reason: String },
    /// A placeholder asks a store for an attribute its kind has not.
    NoSuchAttribute {
        reference: String,
        attribute: Attribute,
        kind: Kind,
    },
    /// A file system's endpoint: a failover restores it without mount targets, so its
    /// DNS name would point clients at nothing in the DR region.
    NoMountTargets { reference: String },
}

impl fmt::Display for Blocker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Blocker::NoStores => f.write_str("the application has no stores"),
            Blocker::StoreNotFound => f.write_str("the store was not found"),
            Blocker::NoCopy => f.write_str("no completed copy in the DR region"),
            Blocker::CopyTooOld { age, limit } => write!(
                f,
                "the newest copy is {age} old, more than the {limit} of data a failover may lose"
            ),
            Blocker::KeyNotUsable { key } => {
                write!(f, "the copy's key {key} cannot be used in the DR region")
            }
            Blocker::SubnetGroupMissing { group } => {
                write!(
                    f,
                    "DB subnet group {group:?} does not exist in the DR region"
                )
            }
            Blocker::RoleMissing => f.write_str("the role AWS Backup restores with does not exist"),
            Blocker::SwitchUnreadable { error } => write!(
                f,
                "its current value could not be read, so it could not be put back: {error}"
            ),
            Blocker::SwitchNotRestorable { reason } => {
                write!(f, "an abort could not put it back exactly: {reason}")
            }
            Blocker::UnknownStore { reference } => {
                write!(f, "{reference:?} names no store of the application")
            }
            Blocker::AmbiguousStore { reference } => {
                write!(f, "{reference:?} names several stores of the application")
            }
            Blocker::NoSuchAttribute {
                reference,
                attribute,
                kind,
            } => write!(
                f,
                "{reference:?} is a store of kind {kind}, which has no {attribute}"
            ),
            Blocker::NoMountTargets { reference } => write!(
                f,
                "{reference:?} is a file system, restored without mount targets: its endpoint \
                 would reach nothing in the DR region (switch to its name or id, and mount it \
                 once its mount targets exist)"
            ),
        }
    }
}

/// What a plan says without blocking on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "warning", rename_all = "snake_case")]
pub enum Warning {
    /// Whether AWS Backup's restore role exists could not be checked.
    RoleUnchecked { error: String },
    /// A switch needs a global control plane, which a regional outage may take away.
    NeedsControlPlane { switch: String, plane: String },
    /// A store of the application, deleted from the primary region, has no copy left in the
    /// DR region: it is not in the plan.
    GoneWithoutCopy {
        store: String,
        gone_at: DateTime<Utc>,
    },
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Warning::RoleUnchecked { error } => write!(
                f,
                "whether AWS Backup's restore role exists could not be checked ({error}); \
                 restores fail if it does not"
            ),
            Warning::NeedsControlPlane { switch, plane } => write!(
                f,
                "switch {switch} needs {plane}: in an outage of that region it cannot be \
                 written; a Route 53 ARC routing control needs only the data plane"
            ),
            Warning::GoneWithoutCopy { store, gone_at } => write!(
                f,
                "{store} was deleted from the primary region ({}) and has no copy left in the \
                 DR region: it is not in the plan",
                gone_at.format("%Y-%m-%d %H:%M UTC")
            ),
        }
    }
}

/// A plan's hash: a SHA-256, in lowercase hex, over what decides its execution.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PlanHash(pub(super) String);

impl PlanHash {
    /// The hex digits people read and type.
    pub const SHORT: usize = 16;
    const LEN: usize = 64;

    pub fn parse(hex: &str) -> Result<Self, String> {
        let well_formed = hex.len() == Self::LEN
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if well_formed {
            Ok(Self(hex.to_string()))
        } else {
            Err(format!("a plan hash is {} lowercase hex digits", Self::LEN))
        }
    }

    /// The whole hash.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its first 16 hex digits: what a plan shows.
    pub fn short(&self) -> &str {
        &self.0[..Self::SHORT]
    }
}

/// Shows the short form, as people read it.
impl fmt::Display for PlanHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short())
    }
}

impl TryFrom<String> for PlanHash {
    type Error = String;
    fn try_from(hex: String) -> Result<Self, String> {
        Self::parse(&hex)
    }
}

impl From<PlanHash> for String {
    fn from(hash: PlanHash) -> String {
        hash.0
    }
}

/// The hash an engineer gave is not the current plan's: the plan changed since it was read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error(
    "plan hash {given:?} is not the current plan's ({current}): the plan changed since it was \
     read (a newer copy, a blocker, a switch's value); read the plan again"
)]
pub struct PlanHashMismatch {
    pub given: String,
    /// The current plan's short hash.
    pub current: String,
}
