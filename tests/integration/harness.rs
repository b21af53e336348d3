//! Test isolation on one local AWS: every test works in an AWS account of its own. moto keeps
//! each account's resources apart, and STS AssumeRole into a role of any account id gives
//! credentials that moto attributes to that account.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::Credentials;
use aws_types::region::Region as SdkRegion;
use bulwark_aws::{Aws, Inventory};
use bulwark_core::{AccountId, Region};

pub const HOME_REGION: &str = "us-east-1";
pub const OTHER_REGION: &str = "eu-west-1";

/// The local AWS endpoint `make test` started.
pub fn endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").unwrap_or_else(|_| "http://127.0.0.1:4566".to_string())
}

async fn base_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(SdkRegion::new(HOME_REGION))
        .credentials_provider(Credentials::new(
            "test",
            "test",
            None,
            None,
            "bulwark-tests",
        ))
        .load()
        .await
}

/// A twelve-digit account id no other test in this run uses.
pub fn unique_account_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0) as u64;
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let id = (nanos / 1000 % 1_000_000_000) * 1000 + (u64::from(std::process::id()) + n) % 1000;
    format!("{:012}", 100_000_000_000 + id % 800_000_000_000)
}

/// An isolated account on the local AWS, with an SDK configuration for it.
#[derive(Debug, Clone)]
pub struct TestAccount {
    pub account: AccountId,
    pub config: SdkConfig,
    /// The assumed role's access key, secret and session token, for child processes.
    pub env: Vec<(String, String)>,
}

impl TestAccount {
    pub async fn new() -> Self {
        Self::in_account(&unique_account_id()).await
    }

    /// An account whose id is given (an organization's member, say).
    pub async fn in_account(id: &str) -> Self {
        let id = id.to_string();
        let base = base_config().await;
        let sts = aws_sdk_sts::Client::new(&base);
        let assumed = sts
            .assume_role()
            .role_arn(format!("arn:aws:iam::{id}:role/bulwark-test"))
            .role_session_name("bulwark-test")
            .send()
            .await
            .expect("the local AWS answers AssumeRole");
        let c = assumed.credentials().expect("credentials");
        let credentials = Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            None,
            "assumed",
        );
        let config = base
            .to_builder()
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(credentials),
            )
            .build();
        let env = vec![
            (
                "AWS_ACCESS_KEY_ID".to_string(),
                c.access_key_id().to_string(),
            ),
            (
                "AWS_SECRET_ACCESS_KEY".to_string(),
                c.secret_access_key().to_string(),
            ),
            (
                "AWS_SESSION_TOKEN".to_string(),
                c.session_token().to_string(),
            ),
            ("AWS_REGION".to_string(), HOME_REGION.to_string()),
            ("AWS_ENDPOINT_URL".to_string(), endpoint()),
            (
                "BULWARK_REGIONS".to_string(),
                format!("{HOME_REGION},{OTHER_REGION}"),
            ),
        ];
        Self {
            account: AccountId::parse(&id).expect("account id"),
            config,
            env,
        }
    }

    pub fn in_region(&self, region: &str) -> SdkConfig {
        self.config
            .to_builder()
            .region(SdkRegion::new(region.to_string()))
            .build()
    }

    pub fn aws(&self) -> Aws {
        Aws::from_config(self.config.clone())
    }

    /// The state table, created.
    pub async fn inventory(&self, aws: &Aws) -> Inventory {
        let inventory = Inventory::new(aws.dynamodb(), "bulwark-test-inventory");
        inventory.ensure_table().await.expect("table");
        inventory
    }

    pub fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&self.in_region(region))
                .force_path_style(true)
                .build(),
        )
    }
    pub fn dynamodb(&self, region: &str) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.in_region(region))
    }
    pub fn rds(&self, region: &str) -> aws_sdk_rds::Client {
        aws_sdk_rds::Client::new(&self.in_region(region))
    }
    pub fn ec2(&self, region: &str) -> aws_sdk_ec2::Client {
        aws_sdk_ec2::Client::new(&self.in_region(region))
    }
    pub fn efs(&self, region: &str) -> aws_sdk_efs::Client {
        aws_sdk_efs::Client::new(&self.in_region(region))
    }
    pub fn backup(&self, region: &str) -> aws_sdk_backup::Client {
        aws_sdk_backup::Client::new(&self.in_region(region))
    }
}

pub fn region(name: &str) -> Region {
    Region::parse(name).expect("region")
}

/// Every operation the SDK call counter saw is an IAM action `function` declares (and so the
/// deployment template grants).
pub fn assert_declared(function: &str, calls: &std::collections::BTreeMap<String, u64>) {
    let declared = bulwark_aws::permissions::for_function(function);
    for operation in calls.keys() {
        let action = bulwark_aws::permissions::action_for_operation(operation)
            .unwrap_or_else(|| panic!("no IAM mapping for {operation}"));
        assert!(
            declared.contains(&action.as_str()),
            "{operation} ({action}) is not declared for {function}"
        );
    }
}
