//! bulwark-core: the domain. Pure functions over domain types; no AWS SDK, no async runtime.

pub mod arn;
pub mod asset;
pub mod classify;
pub mod config;
pub mod error;
pub mod feasibility;
pub mod inventory;
pub mod kind;

pub use arn::{AccountId, Region, ResourceArn};
pub use asset::{Asset, AssetState, Attributes, Scope};
pub use classify::{classify, Classification, UnknownValue};
pub use config::{Config, ConfigError};
pub use error::CoreError;
pub use kind::Kind;
