//! Every AWS call the product makes is declared with its IAM action next to the code that makes
//! it (`clients::SCOPE`, `discovery::DISCOVERY`, `store::INVENTORY`, …); this module gathers
//! them. The deployment template's policies are checked against these lists by a test, and the
//! integration tests check every operation the call counter sees against them, so IAM stays
//! least-privilege and never drifts from the code.

/// One IAM action and the reason the product needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    pub action: &'static str,
    pub why: &'static str,
}

pub(crate) const fn p(action: &'static str, why: &'static str) -> Permission {
    Permission { action, why }
}

pub use crate::assign::NOTIFY;
pub use crate::backup::{BACKUP, RECOVERY_POINTS};
pub use crate::backup_alert::BACKUP_ALERT;
pub use crate::clients::{HOME, MEMBER, SCOPE};
pub use crate::config_rule::CONFIG_RULE;
pub use crate::discovery::config_source::{CONFIG_SOURCE, VERSIONING_FROM_CONFIG};
pub use crate::discovery::DISCOVERY;
pub use crate::failover::adopt::ADOPT;
pub use crate::failover::automatic::AUTOMATIC_FAILOVER;
pub use crate::failover::execute::FAILOVER_END;
pub use crate::failover::facts::{DR_SITE, FAILOVER_FACTS};
pub use crate::failover::lock::{LOCK, TAKE_OVER};
pub use crate::failover::readiness::READINESS;
pub use crate::failover::record::RECORD;
pub use crate::failover::steps::FAILOVER_STEPS;
pub use crate::failover::switches::SWITCHES;
pub use crate::lease::LEASE;
pub use crate::legal_hold::{LEGAL_HOLD, LEGAL_HOLD_READ};
pub use crate::org_policy::{ORG_POLICY, ORG_POLICY_READ};
pub use crate::protect::PROTECT;
pub use crate::replication::REPLICATION;
pub use crate::restore::disks::RESTORE_TEST_DISKS;
pub use crate::restore::history::EVIDENCE;
pub use crate::restore::pending::{PENDING, PENDING_JOBS};
pub use crate::restore::rds::RESTORE_TEST_RDS;
pub use crate::restore::run::{OVERLAP, RESTORE_RUN};
pub use crate::restore::sweep::SWEEP;
pub use crate::restore::{HOOK, RESTORABLE, RESTORE_SITE, RESTORE_TEST};
pub use crate::s3_replica::S3_REPLICA;
pub use crate::store::{INIT, INVENTORY, INVENTORY_LIST};

/// The permissions each Lambda function needs: what the deployment template must grant.
pub fn for_function(function: &str) -> Vec<&'static str> {
    let groups: &[&[Permission]] = match function {
        "discover" => &[SCOPE, DISCOVERY, CONFIG_SOURCE, INVENTORY],
        "classify" => &[INVENTORY],
        "assign-policy" => &[
            MEMBER,
            INVENTORY,
            LEASE,
            INVENTORY_LIST,
            BACKUP,
            RECOVERY_POINTS,
            PROTECT,
            S3_REPLICA,
            NOTIFY,
            BACKUP_ALERT,
            CONFIG_RULE,
            VERSIONING_FROM_CONFIG,
            ORG_POLICY_READ,
        ],
        "validate-restore" => &[
            MEMBER,
            INVENTORY,
            INVENTORY_LIST,
            RESTORE_TEST,
            RESTORE_SITE,
            RESTORABLE,
            RESTORE_TEST_DISKS,
            RESTORE_TEST_RDS,
            SWEEP,
            EVIDENCE,
            HOOK,
            PENDING,
            PENDING_JOBS,
            OVERLAP,
        ],
        "failover" => &[
            HOME,
            MEMBER,
            FAILOVER_FACTS,
            DR_SITE,
            RECORD,
            LOCK,
            FAILOVER_STEPS,
            RESTORE_SITE,
            SWITCHES,
            FAILOVER_END,
            READINESS,
            AUTOMATIC_FAILOVER,
            ADOPT,
        ],
        _ => &[],
    };
    actions_of(groups)
}

/// The actions of the groups, each once, sorted.
fn actions_of(groups: &[&[Permission]]) -> Vec<&'static str> {
    let mut actions: Vec<&'static str> = groups
        .iter()
        .flat_map(|g| g.iter().map(|p| p.action))
        .collect();
    actions.sort_unstable();
    actions.dedup();
    actions
}

/// The functions the deployment template defines, with the resource name it gives each.
pub const FUNCTIONS: &[(&str, &str)] = &[
    ("discover", "DiscoverFunction"),
    ("classify", "ClassifyFunction"),
    ("assign-policy", "AssignPolicyFunction"),
    ("validate-restore", "ValidateRestoreFunction"),
    ("failover", "FailoverFunction"),
];

/// What the organization role must allow in a member account: every call the functions make
/// in a store's own account, through the role (`Aws::with_org_role`). The template's
/// `MemberRole` (`Deployment=member`) grants exactly these; the state table, the evidence
/// bucket, the alert topic, the switches and the hooks are the home account's.
pub fn for_member() -> Vec<&'static str> {
    actions_of(&[
        DISCOVERY,
        VERSIONING_FROM_CONFIG,
        BACKUP,
        RECOVERY_POINTS,
        PROTECT,
        S3_REPLICA,
        RESTORE_TEST,
        RESTORE_SITE,
        RESTORABLE,
        RESTORE_TEST_DISKS,
        RESTORE_TEST_RDS,
        PENDING_JOBS,
        SWEEP,
        DR_SITE,
        FAILOVER_STEPS,
    ])
}

/// What an operator running the CLI needs: every group.
pub fn for_cli() -> Vec<&'static str> {
    actions_of(&[
        SCOPE,
        MEMBER,
        DISCOVERY,
        CONFIG_SOURCE,
        VERSIONING_FROM_CONFIG,
        INVENTORY,
        LEASE,
        INVENTORY_LIST,
        INIT,
        BACKUP,
        RECOVERY_POINTS,
        PROTECT,
        S3_REPLICA,
        NOTIFY,
        BACKUP_ALERT,
        REPLICATION,
        LEGAL_HOLD_READ,
        LEGAL_HOLD,
        ORG_POLICY,
        ORG_POLICY_READ,
        RESTORE_TEST,
        RESTORE_SITE,
        RESTORABLE,
        RESTORE_TEST_DISKS,
        RESTORE_TEST_RDS,
        EVIDENCE,
        SWEEP,
        RESTORE_RUN,
        OVERLAP,
        HOOK,
        PENDING,
        PENDING_JOBS,
        FAILOVER_FACTS,
        DR_SITE,
        SWITCHES,
        RECORD,
        LOCK,
        TAKE_OVER,
        FAILOVER_STEPS,
        FAILOVER_END,
        READINESS,
        CONFIG_RULE,
    ])
}

/// The IAM action an SDK operation (as the call counter names it, "Service:Operation") needs.
pub fn action_for_operation(operation: &str) -> Option<String> {
    let (service, name) = operation.split_once(':')?;
    let prefix = match service {
        "S3" => "s3",
        "RDS" => "rds",
        "DynamoDB" => "dynamodb",
        "EC2" => "ec2",
        "EFS" => "elasticfilesystem",
        "Resource Groups Tagging API" => "tag",
        "STS" => "sts",
        "Organizations" => "organizations",
        "Backup" => "backup",
        "KMS" => "kms",
        "SNS" => "sns",
        "SFN" => "states",
        "Lambda" => "lambda",
        "Route 53" => "route53",
        "Route53 Recovery Cluster" => "route53-recovery-cluster",
        "SSM" => "ssm",
        "IAM" => "iam",
        "Config Service" => "config",
        _ => return None,
    };
    // Where the Service Authorization Reference names the action otherwise: S3 names
    // ListBuckets' action after the older API; a DynamoDB transaction is authorized by its
    // items' actions: every product transaction holds Puts (store.rs), and a failover run's
    // its driver's check of the lock too (dynamodb:ConditionCheckItem, in `LOCK` beside it).
    let name = match (prefix, name) {
        ("s3", "ListBuckets") => "ListAllMyBuckets",
        ("dynamodb", "TransactWriteItems") => "PutItem",
        // S3's listings are authorized by its older action names.
        ("s3", "ListObjectVersions") => "ListBucketVersions",
        ("s3", "ListObjectsV2") => "ListBucket",
        ("s3", "GetBucketEncryption") => "GetEncryptionConfiguration",
        ("s3", "GetBucketLifecycleConfiguration") => "GetLifecycleConfiguration",
        // The product's DeleteObjects names each version (restore/finish.rs): deleting a
        // version is authorized by s3:DeleteObjectVersion.
        ("s3", "DeleteObjects") => "DeleteObjectVersion",
        // Lambda's Invoke is authorized as InvokeFunction.
        ("lambda", "Invoke") => "InvokeFunction",
        (_, name) => name,
    };
    Some(format!("{prefix}:{name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_map_to_their_iam_actions() {
        assert_eq!(
            action_for_operation("S3:ListBuckets").as_deref(),
            Some("s3:ListAllMyBuckets")
        );
        assert_eq!(
            action_for_operation("Resource Groups Tagging API:GetResources").as_deref(),
            Some("tag:GetResources")
        );
        assert_eq!(
            action_for_operation("EFS:DescribeFileSystems").as_deref(),
            Some("elasticfilesystem:DescribeFileSystems")
        );
        assert_eq!(
            action_for_operation("DynamoDB:TransactWriteItems").as_deref(),
            Some("dynamodb:PutItem")
        );
        assert_eq!(action_for_operation("Nope:Thing"), None);
    }

    #[test]
    fn a_member_account_is_asked_nothing_of_the_home_accounts_state() {
        let member = for_member();
        let cli = for_cli();
        assert!(member.iter().all(|a| cli.contains(a)));
        for home_only in [
            "dynamodb:PutItem",
            "dynamodb:Query",
            "dynamodb:GetItem",
            "s3:PutObject",
            "sns:Publish",
            "sts:AssumeRole",
            "lambda:InvokeFunction",
            "route53:ChangeResourceRecordSets",
        ] {
            assert!(!member.contains(&home_only), "{home_only}");
        }
    }

    #[test]
    fn the_cli_may_do_everything_the_functions_do() {
        let cli = for_cli();
        for (function, _) in FUNCTIONS {
            for action in for_function(function) {
                assert!(cli.contains(&action), "{function}: {action}");
            }
        }
    }
}
