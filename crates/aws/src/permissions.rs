//! Every AWS call the product makes, declared with its IAM action next to the code that makes
//! it. The deployment template's policies are checked against these lists by a test, so IAM
//! stays least-privilege and never drifts from the code.

/// One IAM action and the reason the product needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permission {
    pub action: &'static str,
    pub why: &'static str,
}

const fn p(action: &'static str, why: &'static str) -> Permission {
    Permission { action, why }
}

/// Discovering which regions and accounts to cover.
pub const SCOPE: &[Permission] = &[
    p("sts:GetCallerIdentity", "learn the home account id"),
    p(
        "ec2:DescribeRegions",
        "list the regions enabled in the account",
    ),
    p(
        "organizations:ListAccounts",
        "list member accounts when multi-account is on",
    ),
    p(
        "sts:AssumeRole",
        "enter each member account's configured role",
    ),
];

/// Listing the six kinds of data store, tags included in bulk.
pub const DISCOVERY: &[Permission] = &[
    p(
        "s3:ListAllMyBuckets",
        "ListBuckets: every bucket with its region",
    ),
    p(
        "s3:GetBucketLocation",
        "place a bucket when ListBuckets does not say its region",
    ),
    p(
        "rds:DescribeDBInstances",
        "RDS instances with tags, engine, encryption, retention inline",
    ),
    p(
        "rds:DescribeDBClusters",
        "Aurora clusters with tags and members inline",
    ),
    p("dynamodb:ListTables", "DynamoDB table names, 100 a page"),
    p(
        "dynamodb:DescribeTable",
        "one table, for a single-resource change event",
    ),
    p(
        "elasticfilesystem:DescribeFileSystems",
        "EFS file systems with tags, size, encryption",
    ),
    p(
        "ec2:DescribeVolumes",
        "EBS volumes with tags, size, encryption",
    ),
    p(
        "tag:GetResources",
        "tags of S3 buckets and DynamoDB tables, 100 a page",
    ),
];

/// The inventory table.
pub const INVENTORY: &[Permission] = &[
    p(
        "dynamodb:Query",
        "read an account and region's assets, or one by ARN",
    ),
    p("dynamodb:Scan", "list the whole inventory for reports"),
    p("dynamodb:GetItem", "read one asset"),
    p(
        "dynamodb:TransactWriteItems",
        "conditional upserts, 100 assets a call",
    ),
];

/// Creating the inventory table (the CLI's `init`; the deployment template creates it in AWS).
pub const INIT: &[Permission] = &[
    p(
        "dynamodb:DescribeTable",
        "see whether the state table exists",
    ),
    p("dynamodb:CreateTable", "create the state table"),
];

/// The permissions each Lambda function needs: what the deployment template must grant.
pub fn for_function(function: &str) -> Vec<&'static str> {
    let groups: &[&[Permission]] = match function {
        "discover" => &[SCOPE, DISCOVERY, INVENTORY],
        "classify" => &[INVENTORY],
        _ => &[],
    };
    let mut actions: Vec<&'static str> = groups
        .iter()
        .flat_map(|g| g.iter().map(|p| p.action))
        .collect();
    actions.sort_unstable();
    actions.dedup();
    actions
}

/// The functions the deployment template defines.
pub const FUNCTIONS: &[&str] = &["discover", "classify"];
