//! The AWS Backup state Bulwark wants, as plain data: vaults, plans, selections, and the tag
//! that puts each asset under its tier's plan. `render` derives it from the taxonomy; `diff`
//! compares it with what exists; `apply` is the model of what the actions do, so that
//! `apply(actual, diff(actual, desired))` equals `desired` on what Bulwark manages.
//!
//! `model` holds the desired-state types, `render` the derivation from the configuration,
//! `policy` the vault access and key policies, `selection` how AWS Backup picks stores,
//! `reconcile` what `diff` and `apply` do (and what they leave to a human), `assets` the tag
//! and native protections each store needs. The `[protection]` settings belong to the
//! configuration, which parses them: they live in `config` and are re-exported here.

mod assets;
mod model;
mod policy;
mod reconcile;
mod render;
mod selection;
#[cfg(test)]
mod tests;

pub use assets::{
    backed_up_tier, native_actions, native_retention_days, replication_refusal, tag_changes,
};
pub use model::{
    Action, BackupState, CopyAction, Lifecycle, NativeAction, NativeState, Plan, PlanRule,
    Selection, TagChange, TagCondition, Vault, VaultLock, MANAGED_TAG, TIER_TAG,
};
pub use policy::{
    access_policy, central_access_policy, central_key_policy, normalize_policy, vault_key_policy,
    ADMIN_ONLY_KEY_ACTIONS, ADMIN_ONLY_VAULT_ACTIONS, MAINTAINER_VAULT_ACTIONS,
};
pub use reconcile::{apply, diff, unreconciled};
pub use render::{
    plan_for, render, render_with_plans, resource_pattern, schedule, CONTINUOUS_RULE, DR_COPY_RULE,
    SNAPSHOT_RULE,
};
pub use selection::selection_matches;
pub(crate) use selection::wildcard_match;

// Both config and protection need these: they live in the lower modules, and keep their
// paths here.
pub use crate::config::{default_dr_region, ProtectionSettings};
pub use crate::taxonomy::{COMPLIANCE_GRACE_DAYS, NAME_PREFIX};
