//! Central mode's AWS Organizations side: Bulwark's backup policies read, changed as core's
//! `org_policy::changes` says, and an account's effective policy read for coverage. Every call
//! is the home account's, which must be the organization's management account or a delegated
//! administrator for backup policies.

use aws_sdk_organizations::types::{EffectivePolicyType, PolicyType};
use bulwark_core::org_policy::{ExistingPolicy, OrgChange, OrganizationFacts, POLICY_PREFIX};
use serde_json::Value;

use crate::error::AwsError;
use crate::permissions::{p, Permission};

/// What `bulwark plan --org` and `apply --org` call.
pub const ORG_POLICY: &[Permission] = &[
    p(
        "organizations:ListRoots",
        "find the root, and whether backup policies are enabled there",
    ),
    p(
        "organizations:ListPolicies",
        "find Bulwark's backup policies by name",
    ),
    p(
        "organizations:DescribePolicy",
        "read a backup policy's content",
    ),
    p(
        "organizations:ListTargetsForPolicy",
        "read where a backup policy is attached",
    ),
    p(
        "organizations:EnablePolicyType",
        "enable backup policies in the root",
    ),
    p("organizations:CreatePolicy", "make a tier's backup policy"),
    p(
        "organizations:UpdatePolicy",
        "bring a tier's backup policy back to the taxonomy",
    ),
    p(
        "organizations:AttachPolicy",
        "attach a tier's backup policy to a configured target",
    ),
    p(
        "organizations:DetachPolicy",
        "detach Bulwark's backup policy from a target no longer configured",
    ),
    p(
        "organizations:DeletePolicy",
        "delete the backup policy of a tier that is gone",
    ),
];

/// What coverage calls in central mode.
pub const ORG_POLICY_READ: &[Permission] = &[p(
    "organizations:DescribeEffectivePolicy",
    "read an account's effective backup policy: the plans that protect its stores",
)];

/// The organization's root and Bulwark's backup policies (named `bulwark-…`), with their
/// content and targets.
pub async fn read(org: &aws_sdk_organizations::Client) -> Result<OrganizationFacts, AwsError> {
    let roots = org
        .list_roots()
        .send()
        .await
        .map_err(|e| AwsError::sdk("organizations:ListRoots", e))?;
    let root = roots
        .roots()
        .first()
        .ok_or_else(|| AwsError::Refused("the organization has no root".into()))?;
    let enabled = root.policy_types().iter().any(|t| {
        t.r#type() == Some(&PolicyType::BackupPolicy)
            && t.status().map(|s| s.as_str()) == Some("ENABLED")
    });
    let mut facts = OrganizationFacts {
        root_id: root.id().unwrap_or_default().to_string(),
        backup_policies_enabled: enabled,
        policies: Vec::new(),
    };
    // Listed whether or not the type is enabled: a policy made before it was disabled is still
    // there, and making it again would be refused as a duplicate.
    let pages: Vec<_> = org
        .list_policies()
        .filter(PolicyType::BackupPolicy)
        .into_paginator()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::sdk("organizations:ListPolicies", e))?;
    for summary in pages.iter().flat_map(|page| page.policies()) {
        let (Some(id), Some(name)) = (summary.id(), summary.name()) else {
            continue;
        };
        if !name.starts_with(POLICY_PREFIX) {
            continue;
        }
        let described = org
            .describe_policy()
            .policy_id(id)
            .send()
            .await
            .map_err(|e| AwsError::sdk("organizations:DescribePolicy", e))?;
        let content: Value = described
            .policy()
            .and_then(|p| p.content())
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| AwsError::Malformed(format!("backup policy {name}: {e}")))?
            .unwrap_or(Value::Null);
        let targets: Vec<_> = org
            .list_targets_for_policy()
            .policy_id(id)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| AwsError::sdk("organizations:ListTargetsForPolicy", e))?;
        facts.policies.push(ExistingPolicy {
            id: id.to_string(),
            name: name.to_string(),
            content,
            targets: targets
                .iter()
                .flat_map(|page| page.targets())
                .filter_map(|t| t.target_id().map(str::to_string))
                .collect(),
        });
    }
    Ok(facts)
}

/// Make `changes`, in order. A policy made here is attached by the id AWS gave it.
pub async fn apply(
    org: &aws_sdk_organizations::Client,
    facts: &OrganizationFacts,
    changes: &[OrgChange],
) -> Result<(), AwsError> {
    let mut ids: std::collections::BTreeMap<String, String> = facts
        .policies
        .iter()
        .map(|p| (p.name.clone(), p.id.clone()))
        .collect();
    for change in changes {
        match change {
            OrgChange::EnableBackupPolicies { root_id } => {
                org.enable_policy_type()
                    .root_id(root_id)
                    .policy_type(PolicyType::BackupPolicy)
                    .send()
                    .await
                    .map_err(|e| AwsError::sdk("organizations:EnablePolicyType", e))?;
            }
            OrgChange::Create { policy } => {
                let made = org
                    .create_policy()
                    .name(&policy.name)
                    .description(&policy.description)
                    .r#type(PolicyType::BackupPolicy)
                    .content(policy.content.to_string())
                    .send()
                    .await
                    .map_err(|e| AwsError::sdk("organizations:CreatePolicy", e))?;
                if let Some(id) = made
                    .policy()
                    .and_then(|p| p.policy_summary())
                    .and_then(|s| s.id())
                {
                    ids.insert(policy.name.clone(), id.to_string());
                }
            }
            OrgChange::Update { id, policy } => {
                org.update_policy()
                    .policy_id(id)
                    .content(policy.content.to_string())
                    .send()
                    .await
                    .map_err(|e| AwsError::sdk("organizations:UpdatePolicy", e))?;
            }
            OrgChange::Attach { name, target } => {
                let id = ids.get(name).ok_or_else(|| {
                    AwsError::Malformed(format!("the backup policy {name} was not made"))
                })?;
                org.attach_policy()
                    .policy_id(id)
                    .target_id(target)
                    .send()
                    .await
                    .map_err(|e| AwsError::sdk("organizations:AttachPolicy", e))?;
            }
            OrgChange::Detach { id, target, .. } => {
                org.detach_policy()
                    .policy_id(id)
                    .target_id(target)
                    .send()
                    .await
                    .map_err(|e| AwsError::sdk("organizations:DetachPolicy", e))?;
            }
            OrgChange::Delete { id, .. } => {
                org.delete_policy()
                    .policy_id(id)
                    .send()
                    .await
                    .map_err(|e| AwsError::sdk("organizations:DeletePolicy", e))?;
            }
        }
    }
    Ok(())
}

/// An account's effective backup policy, operators gone; None when no backup policy reaches
/// it.
pub async fn effective(
    org: &aws_sdk_organizations::Client,
    account: &str,
) -> Result<Option<Value>, AwsError> {
    match org
        .describe_effective_policy()
        .policy_type(EffectivePolicyType::BackupPolicy)
        .target_id(account)
        .send()
        .await
    {
        Ok(out) => out
            .effective_policy()
            .and_then(|p| p.policy_content())
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| AwsError::Malformed(format!("{account}'s effective backup policy: {e}"))),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_effective_policy_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(e) => Err(AwsError::sdk("organizations:DescribeEffectivePolicy", e)),
    }
}
