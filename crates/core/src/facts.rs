//! Facts, then decisions: what a run read of one account and region, once, and the decisions
//! that are functions of it: the stores and native state its own changes leave behind (AWS
//! Backup's is `protection::apply`), so coverage after an apply needs no second read, and each
//! store's evidence for coverage.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use serde_json::Value;

use crate::asset::{Asset, Assignment};
use crate::config::Config;
use crate::coverage::{self, AssetCoverage, Evidence, RecoveryPoint, RestoreTest};
use crate::protection::{
    backed_up_tier, plan_for, selection_matches, wildcard_match, BackupState, NativeAction,
    NativeState, TagChange, TIER_TAG,
};
use crate::schedule::AwsCron;

/// One account and region as read: its AWS Backup state (its vaults and its DR region's, its
/// plans and selections), the recovery points of those vaults by the store they protect, the
/// native protection of its stores by ARN, and each store's last restore test.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScopeFacts {
    pub backup: BackupState,
    pub recovery_points: BTreeMap<String, Vec<RecoveryPoint>>,
    pub native: BTreeMap<String, NativeState>,
    pub restore_tests: BTreeMap<String, RestoreTest>,
}

/// The stores once their tier tags have been written or removed.
pub fn tags_after(assets: &[Asset], changes: &[TagChange]) -> Vec<Asset> {
    let by_arn: BTreeMap<&str, &TagChange> = changes.iter().map(|c| (c.arn.as_str(), c)).collect();
    assets
        .iter()
        .map(|asset| {
            let mut asset = asset.clone();
            if let Some(change) = by_arn.get(asset.arn.to_string().as_str()) {
                match &change.tier {
                    Some(tier) => {
                        asset.tags.insert(TIER_TAG.to_string(), tier.clone());
                    }
                    None => {
                        asset.tags.remove(TIER_TAG);
                    }
                }
            }
            asset
        })
        .collect()
}

/// The stores' native protection once `actions` have been applied. A retention change that
/// waits for the maintenance window counts as made: it is no longer asked for.
pub fn native_after(
    native: &BTreeMap<String, NativeState>,
    actions: &[NativeAction],
) -> BTreeMap<String, NativeState> {
    let mut after = native.clone();
    for action in actions {
        match action {
            NativeAction::EnablePitr { arn, .. } => {
                after.entry(arn.clone()).or_default().pitr_enabled = Some(true);
            }
            NativeAction::EnableVersioning { arn, .. } => {
                after.entry(arn.clone()).or_default().versioning_enabled = Some(true);
            }
            NativeAction::SetBackupRetention { arn, days, .. } => {
                after.entry(arn.clone()).or_default().backup_retention_days =
                    Some(i32::try_from(*days).unwrap_or(i32::MAX));
            }
            NativeAction::PutNoncurrentRule { arn, rule, .. } => {
                after.entry(arn.clone()).or_default().noncurrent_rule = Some(Some(rule.clone()));
            }
            NativeAction::ReplicateBucket {
                arn,
                replica,
                replica_region,
                role_arn,
                ..
            } => {
                let state = after.entry(arn.clone()).or_default();
                let mut replication = state.s3_replication.take().unwrap_or_default();
                replication.role = Some(role_arn.clone());
                replication.ours = Some(format!(
                    "arn:{}:s3:::{replica}",
                    crate::arn::partition_of(replica_region)
                ));
                state.s3_replication = Some(replication);
            }
        }
    }
    after
}

/// What the facts say of one store: the plans whose selections pick it, their snapshot
/// rules' frequencies and retention, its recovery points and its native protection.
pub fn evidence(facts: &ScopeFacts, asset: &Asset) -> Evidence {
    let arn = asset.arn.to_string();
    let selected_by: Vec<String> = facts
        .backup
        .selections
        .values()
        .filter(|s| selection_matches(s, &arn, &asset.tags))
        .map(|s| s.plan_name.clone())
        .collect();
    let snapshot_rules: Vec<_> = selected_by
        .iter()
        .filter_map(|p| facts.backup.plans.get(p))
        .flat_map(|p| p.rules.iter())
        .filter(|r| !r.continuous_backup)
        .collect();
    Evidence {
        plan_frequencies: snapshot_rules
            .iter()
            .filter_map(|r| AwsCron::parse(&r.schedule).ok().and_then(|c| c.interval()))
            .collect(),
        plan_retention_days: snapshot_rules
            .iter()
            .filter_map(|r| r.lifecycle.as_ref().and_then(|l| l.delete_after_days))
            .collect(),
        selected_by,
        recovery_points: facts.recovery_points.get(&arn).cloned().unwrap_or_default(),
        native: facts.native.get(&arn).cloned().unwrap_or_default(),
        last_restore_test: facts.restore_tests.get(&arn).cloned(),
    }
}

/// Each present store's coverage, judged from the facts of its scope.
pub fn judge(
    config: &Config,
    facts: &ScopeFacts,
    assets: &[&Asset],
    now: DateTime<Utc>,
) -> Vec<AssetCoverage> {
    assets
        .iter()
        .map(|asset| coverage::evaluate(config, asset, &evidence(facts, asset), now))
        .collect()
}

/// The record of what a store was put under: its tier and plan (None when it is not backed
/// up) and the plan's version as it now is.
pub fn assignment(
    config: &Config,
    asset: &Asset,
    plan_versions: &BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> Assignment {
    let tier = backed_up_tier(config, asset);
    let plan = tier.and_then(|t| plan_for(config, &t.name, asset.kind));
    Assignment {
        tier: tier.map(|t| t.name.clone()),
        plan_version: plan.as_ref().and_then(|p| plan_versions.get(p).cloned()),
        plan,
        assigned_at: now,
    }
}

/// Whether a vault access policy denies deleting recovery points to every principal: a Deny
/// statement for `backup:DeleteRecoveryPoint` (named, or matched by a wildcard, or not
/// excluded by `NotAction`) whose principal is everyone. Its conditions are not weighed:
/// they exempt the few who may (Bulwark's admin roles), which is what a guard is.
pub fn vault_denies_deletion(policy: Option<&str>) -> bool {
    const ACTION: &str = "backup:deleterecoverypoint";
    let Some(policy) = policy.and_then(|p| serde_json::from_str::<Value>(p).ok()) else {
        return false;
    };
    let listed = |v: &Value| -> Vec<String> {
        match v {
            Value::String(s) => vec![s.to_ascii_lowercase()],
            Value::Array(items) => items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_ascii_lowercase)
                .collect(),
            _ => Vec::new(),
        }
    };
    let statements = match &policy["Statement"] {
        Value::Array(list) => list.clone(),
        other => vec![other.clone()],
    };
    statements.iter().any(|s| {
        let covers = |patterns: &[String]| patterns.iter().any(|p| wildcard_match(p, ACTION));
        let action = match (s.get("Action"), s.get("NotAction")) {
            (Some(action), _) => covers(&listed(action)),
            (None, Some(not_action)) => !covers(&listed(not_action)),
            (None, None) => false,
        };
        let principal = &s["Principal"];
        let everyone = principal == "*" || listed(&principal["AWS"]).iter().any(|p| p == "*");
        s["Effect"] == "Deny" && action && everyone
    })
}

/// Whether a recovery point is a continuous backup: AWS names those
/// `arn:<partition>:backup:<region>:<account>:recovery-point:continuous:<id>`.
pub fn is_continuous(recovery_point_arn: &str) -> bool {
    recovery_point_arn
        .splitn(6, ':')
        .nth(5)
        .is_some_and(|resource| resource.starts_with("recovery-point:continuous:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guard_denies_deletion_to_everyone_whatever_the_spelling() {
        let deny = |action: &str, principal: &str| {
            format!(
                r#"{{"Statement":[{{"Effect":"Deny","Principal":{principal},"Action":{action},"Resource":"*"}}]}}"#
            )
        };
        let everyone = r#"{"AWS":"*"}"#;
        for action in [
            r#""backup:DeleteRecoveryPoint""#,
            r#"["backup:UpdateRecoveryPointLifecycle","backup:DeleteRecoveryPoint"]"#,
            r#""backup:Delete*""#,
            r#""backup:*""#,
        ] {
            assert!(
                vault_denies_deletion(Some(&deny(action, everyone))),
                "{action}"
            );
            assert!(
                vault_denies_deletion(Some(&deny(action, r#""*""#))),
                "{action}"
            );
        }
        // Deny for one role only, an Allow, another action, or no policy: no guard
        let one_role = r#"{"AWS":"arn:aws:iam::123456789012:role/x"}"#;
        assert!(!vault_denies_deletion(Some(&deny(
            r#""backup:*""#,
            one_role
        ))));
        assert!(!vault_denies_deletion(Some(
            &deny(r#""backup:DeleteRecoveryPoint""#, everyone).replace("Deny", "Allow")
        )));
        assert!(!vault_denies_deletion(Some(&deny(
            r#""backup:DeleteBackupVault""#,
            everyone
        ))));
        assert!(!vault_denies_deletion(None));
        let not_action = r#"{"Statement":{"Effect":"Deny","Principal":"*","NotAction":"backup:Get*","Resource":"*"}}"#;
        assert!(vault_denies_deletion(Some(not_action)));
    }

    #[test]
    fn continuous_recovery_points_are_told_by_their_arn() {
        assert!(is_continuous(
            "arn:aws:backup:us-east-1:123456789012:recovery-point:continuous:db-abc-1a2b3c4d"
        ));
        assert!(!is_continuous(
            "arn:aws:backup:us-east-1:123456789012:recovery-point:5A1B-continuous"
        ));
        assert!(!is_continuous(
            "arn:aws:rds:us-east-1:123456789012:snapshot:awsbackup:job-continuous"
        ));
    }
}
