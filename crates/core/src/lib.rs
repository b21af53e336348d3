//! bulwark-core: the domain. Pure functions over domain types; no AWS SDK, no async runtime.

pub mod arn;
pub mod asset;
pub mod classify;
pub mod config;
pub mod duration;
pub mod error;
pub mod feasibility;
pub mod inventory;
pub mod kind;
pub mod taxonomy;

pub use arn::{AccountId, Region, ResourceArn};
pub use asset::{Asset, AssetState, Attributes, Scope};
pub use classify::{classify, Classification, UnknownValue};
pub use config::{CatchAll, Config, ConfigError, Matcher, Outcome, Rule};
pub use duration::Duration;
pub use error::CoreError;
pub use feasibility::{rpo_feasibility, Feasibility};
pub use inventory::{plan_writes, sweep_changes, Change};
pub use kind::Kind;
pub use taxonomy::{Lock, LockMode, PointInTime, Tier};
