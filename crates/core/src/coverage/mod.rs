//! Coverage: whether each asset is protected the way its tier demands, judged by the AWS
//! Backup Audit Manager controls, and the report that sums it up.
//!
//! The adapters read the facts in bulk (recovery points by vault, plans and selections,
//! native state) and `crate::facts` turns them into each store's [`Evidence`]; this module
//! only decides. Three rules shape the verdicts:
//!
//! - Coverage judges against the configuration in force: the asset is classified again
//!   rather than trusting a stored classification an older taxonomy made.
//! - One cause, one exception. A control with nothing to examine because a more basic one
//!   already fails (no plan to check when nothing selects the asset, no vault to check when
//!   there is no recovery point) is not applicable, so the exceptions list the cause once.
//! - Only restorable recovery points count: COMPLETED, or AVAILABLE (the status some vault
//!   types report). PARTIAL, CREATING, STOPPED, DELETING and EXPIRED points are ignored.
//!
//! `model` holds the evidence and verdict types, `evaluate` judges one store, `report` sums
//! the verdicts up.

mod evaluate;
mod model;
mod report;

pub use evaluate::{evaluate, human};
pub use model::{
    AssetCoverage, Control, ControlResult, Evidence, RecoveryPoint, RestoreTest, Status,
};
pub use report::{summarize, AgeHistogram, CoverageReport, Exception, GroupSummary};

use crate::duration::Duration;

/// The group that holds assets not backed up in by-tier summaries. It is reserved as a rule
/// outcome, so no tier can be named so.
pub const NOT_BACKED_UP: &str = "not-backed-up";

/// Tiers whose RTO is at most this need a measured restore: a large RDS or EBS restore alone
/// can take hours, so until a test has timed one, an RTO this short is a promise nobody has
/// checked. Longer RTOs leave room for an untimed restore to finish, so there an asset
/// without a restore test is noted, not flagged.
pub const RESTORE_TEST_REQUIRED_UP_TO: Duration = Duration::from_hours(4);
