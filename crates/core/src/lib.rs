//! bulwark-core: the domain. Pure functions over domain types; no AWS SDK, no async runtime.

pub mod aggregator;
pub mod alerts;
pub mod application;
pub mod arn;
pub mod asset;
pub mod backup_alert;
pub mod backup_cost;
pub mod classify;
pub mod config;
pub mod config_rule;
pub mod coverage;
pub mod digest;
pub mod duration;
pub mod emf;
pub mod error;
pub mod facts;
pub mod failover;
pub mod feasibility;
pub mod hook_function;
pub mod inventory;
pub mod kind;
pub mod legal_hold;
pub mod org_policy;
pub mod overlap;
pub mod protection;
pub mod replication;
pub mod restore;
pub mod schedule;
pub mod taxonomy;

pub use aggregator::{AggregatedSource, AggregatorCoverage, AggregatorName};
pub use application::{Application, StoreSelector, Switch, SwitchTarget, ValueTemplate};
pub use arn::{partition_of, AccountId, Region, ResourceArn};
pub use asset::{Asset, AssetState, Assignment, Attributes, Scope};
pub use classify::{classify, Classification, UnknownValue};
pub use config::{
    CatchAll, Config, ConfigError, ConfigWarning, Matcher, Outcome, RestorePrerequisites, Rule,
};
pub use coverage::{
    evaluate, summarize, AgeHistogram, AssetCoverage, Control, ControlResult, CoverageReport,
    Evidence, Exception, GroupSummary, RecoveryPoint, RestoreTest, Status,
};
pub use duration::Duration;
pub use error::CoreError;
// `Plan` at the root is protection's (AWS Backup's desired state); failover's is `FailoverPlan`.
pub use digest::RecordDigest;
pub use failover::{FailoverFacts, Plan as FailoverPlan, PlanHash, PlanHashMismatch, StoreFacts};
pub use feasibility::{rpo_feasibility, Feasibility};
pub use inventory::{plan_writes, Change, ScopeSweep};
pub use kind::Kind;
pub use protection::{
    apply, diff, native_actions, plan_for, render, selection_matches, tag_changes, Action,
    BackupState, NativeAction, NativeState, Plan, PlanRule, ProtectionSettings, Selection,
    TagChange, Vault, VaultLock, TIER_TAG,
};
pub use taxonomy::{Lock, LockMode, PointChoice, PointInTime, RestoreTestPolicy, Tier};
