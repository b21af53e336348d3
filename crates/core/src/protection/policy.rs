//! The vault access policy and the vault key's policy: what only the admin roles may do, as
//! canonical JSON so that a policy read back from AWS compares with the rendered one.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::config::ProtectionSettings;

/// What only the admin roles may do to a vault and its recovery points, whatever their IAM
/// policies allow: what would lose or expose recovery points for good.
pub const ADMIN_ONLY_VAULT_ACTIONS: &[&str] = &[
    "backup:DeleteRecoveryPoint",
    "backup:UpdateRecoveryPointLifecycle",
    "backup:DeleteBackupVault",
    "backup:DeleteBackupVaultLockConfiguration",
    "backup:PutBackupVaultLockConfiguration",
];
/// What the admin roles and Bulwark (which maintains it) may do to the vault access policy.
pub const MAINTAINER_VAULT_ACTIONS: &[&str] = &[
    "backup:PutBackupVaultAccessPolicy",
    "backup:DeleteBackupVaultAccessPolicy",
];

/// The vault access policy, a guard that holds whatever IAM allows: no one but the admin
/// roles deletes or shortens recovery points, deletes the vault or changes its lock; no one
/// but the admins and Bulwark's own roles replaces or deletes this policy.
pub fn access_policy(settings: &ProtectionSettings, partition: &str, account: &str) -> String {
    let admins = settings.admin_role_arns(partition, account);
    let maintainers: Vec<String> = admins
        .iter()
        .cloned()
        .chain(settings.maintainer_role_arns(partition, account))
        .collect();
    let deny = |sid: &str, actions: &[&str], except: &[String]| {
        json!({
            "Sid": sid,
            "Effect": "Deny",
            "Principal": { "AWS": "*" },
            "Action": actions,
            "Resource": "*",
            "Condition": { "ArnNotLike": { "aws:PrincipalArn": except } }
        })
    };
    canonical_json(&json!({
        "Version": "2012-10-17",
        "Statement": [
            deny("OnlyAdminsLoseRecoveryPoints", ADMIN_ONLY_VAULT_ACTIONS, &admins),
            deny("OnlyAdminsAndBulwarkChangeThisPolicy", MAINTAINER_VAULT_ACTIONS, &maintainers),
        ]
    }))
}

/// The central backup vault's access policy: the organization's accounts may copy recovery
/// points in (AWS Backup checks `backup:CopyIntoBackupVault` against the destination vault's
/// policy), and the guard of `access_policy` holds as in every vault Bulwark keeps.
pub fn central_access_policy(
    settings: &ProtectionSettings,
    organization_id: &str,
    partition: &str,
    account: &str,
) -> String {
    adding(
        &access_policy(settings, partition, account),
        Some(0),
        json!({
            "Sid": "OrganizationCopiesIn",
            "Effect": "Allow",
            "Principal": { "AWS": "*" },
            "Action": "backup:CopyIntoBackupVault",
            "Resource": "*",
            "Condition": { "StringEquals": { "aws:PrincipalOrgID": organization_id } }
        }),
    )
}

/// What only the admin roles may do to a vault key: without the key, its vault's recovery
/// points cannot be read, so destroying or disabling it destroys them.
pub const ADMIN_ONLY_KEY_ACTIONS: &[&str] = &[
    "kms:ScheduleKeyDeletion",
    "kms:DisableKey",
    "kms:PutKeyPolicy",
];

/// The vault key's own policy, given when Bulwark creates the key: the account administers it
/// through IAM (the key policy AWS would default to), and no one but the admin roles may
/// schedule its deletion, disable it or replace this policy.
pub fn vault_key_policy(settings: &ProtectionSettings, partition: &str, account: &str) -> String {
    canonical_json(&json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountAdministersThroughIam",
                "Effect": "Allow",
                "Principal": { "AWS": format!("arn:{partition}:iam::{account}:root") },
                "Action": "kms:*",
                "Resource": "*"
            },
            {
                "Sid": "OnlyAdminsDestroyTheKey",
                "Effect": "Deny",
                "Principal": { "AWS": "*" },
                "Action": ADMIN_ONLY_KEY_ACTIONS,
                "Resource": "*",
                "Condition": {
                    "ArnNotLike": { "aws:PrincipalArn": settings.admin_role_arns(partition, account) }
                }
            }
        ]
    }))
}

/// The central backup account's vault key policy: `vault_key_policy`, and the organization's
/// accounts may have AWS Backup use the key for the copies they send in.
pub fn central_key_policy(
    settings: &ProtectionSettings,
    organization_id: &str,
    partition: &str,
    account: &str,
) -> String {
    adding(
        &vault_key_policy(settings, partition, account),
        None,
        json!({
            "Sid": "OrganizationCopiesThroughAwsBackup",
            "Effect": "Allow",
            "Principal": { "AWS": "*" },
            "Action": [
                "kms:CreateGrant",
                "kms:Decrypt",
                "kms:DescribeKey",
                "kms:Encrypt",
                "kms:GenerateDataKey*",
                "kms:ReEncrypt*"
            ],
            "Resource": "*",
            "Condition": {
                "StringEquals": { "aws:PrincipalOrgID": organization_id },
                "StringLike": { "kms:ViaService": "backup.*.amazonaws.com" }
            }
        }),
    )
}

/// A document rendered here with `statement` added at `index` of its statements (last: None).
fn adding(document: &str, index: Option<usize>, statement: serde_json::Value) -> String {
    let mut policy: serde_json::Value =
        serde_json::from_str(document).expect("the policies rendered here are JSON");
    if let Some(statements) = policy["Statement"].as_array_mut() {
        let at = index.unwrap_or(statements.len());
        statements.insert(at, statement);
    }
    canonical_json(&policy)
}

/// A policy document as `render` writes it (keys sorted, no whitespace), so that a policy
/// read back from AWS compares equal to the rendered one when it says the same.
pub fn normalize_policy(text: &str) -> Result<String, serde_json::Error> {
    Ok(canonical_json(&serde_json::from_str(text)?))
}

/// Sorted keys whatever serde_json's map type is (its preserve_order feature may be on
/// somewhere in the dependency graph).
fn canonical_json(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let entries: BTreeMap<&String, String> =
                map.iter().map(|(k, v)| (k, canonical_json(v))).collect();
            let body: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{}:{v}", Value::String(k.clone())))
                .collect();
            format!("{{{}}}", body.join(","))
        }
        Value::Array(items) => {
            let body: Vec<String> = items.iter().map(canonical_json).collect();
            format!("[{}]", body.join(","))
        }
        scalar => scalar.to_string(),
    }
}
