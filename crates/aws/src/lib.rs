//! bulwark-aws: the adapters. Every AWS call of the product lives here, each declared with its
//! IAM action in `permissions`.

pub mod assign;
pub mod backup;
pub mod backup_alert;
pub mod calls;
pub mod clients;
pub mod config_rule;
pub mod discovery;
pub mod error;
pub mod facts;
pub mod failover;
pub mod idempotency;
pub mod lease;
pub mod legal_hold;
pub mod ops;
pub mod org_policy;
mod paging;
pub mod permissions;
pub mod protect;
pub mod replication;
pub mod restore;
pub mod s3_replica;
pub mod store;
pub mod telemetry;

pub use calls::CallCounter;
pub use clients::{AccountClients, Aws, Reach, ScopeClients};
pub use error::AwsError;
pub use store::{Inventory, WriteReport};
