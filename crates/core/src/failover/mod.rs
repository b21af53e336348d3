//! Failover: an application's stores restored in its DR region from their copies there, and
//! its switches (Route 53 records, SSM parameters) pointed at them. This module decides: the
//! plan over the facts an adapter reads once (`model`), what it would restore and what blocks
//! it (`plan`), and the hash an engineer quotes to execute exactly that plan (`hash`). It
//! changes nothing; executing is the adapters' work, and only under a plan's hash.

pub mod automatic;
pub mod chain;
pub mod driver;
mod failback;
mod hash;
#[cfg(test)]
mod hash_tests;
mod model;
mod plan;
pub mod readiness;
mod run;
#[cfg(test)]
mod run_tests;
mod snapshot;
#[cfg(test)]
mod tests;

pub use driver::{Driver, Liveness};
pub use failback::failback_application;
pub use hash::verify;
pub use model::{
    Blocker, CopyFacts, DrRegionFacts, ExpectedRto, FailoverFacts, Plan, PlanHash,
    PlanHashMismatch, RoleCheck, Serving, StoreFacts, StorePlan, SwitchPlan, Warning,
};
pub use plan::{
    in_place, one_store, plan, plan_accepting, plan_choosing, plan_recovering, restore_metadata,
    restored_name, DEFAULT_DB_SUBNET_GROUP, NAME_PREFIX,
};
pub use run::{
    adoptable, next, switch_value, switched, Ending, Event, EvidenceDocument, Next, Restored, Run,
    RunId, StoreRun, SwitchRun, STORE_RESTORE_DEADLINE,
};
pub use snapshot::{AliasTarget, SwitchSnapshot, SECURE_STRING};
