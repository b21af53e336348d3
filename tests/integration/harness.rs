//! Test isolation on one local AWS: every test works in an AWS account of its own. moto keeps
//! each account's resources apart; STS AssumeRole of an account's OrganizationAccountAccessRole
//! (which the local AWS creates on first use, with AdministratorAccess, as AWS Organizations
//! does) gives administrator credentials in that account, for setting up what a test needs.
//!
//! The product's code runs as the deployment template says it does: under the role the
//! template gives each function, created in the test's account from infra/aws/template.yaml
//! by the local AWS, which enforces IAM for it.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::Credentials;
use aws_types::region::Region as SdkRegion;
use bulwark_aws::{Aws, Inventory};
use bulwark_core::{AccountId, Region};

pub const HOME_REGION: &str = "us-east-1";
pub const OTHER_REGION: &str = "eu-west-1";
/// The administrator role every account has on the local AWS (and in an organization).
pub const ADMIN_ROLE: &str = "OrganizationAccountAccessRole";
/// The organization role a member stack makes (its OrgRole), for the tests' organizations.
pub const MEMBER_ROLE: &str = "BulwarkMember";
/// The inventory table's name when the template is deployed as stack "bulwark" locally.
pub const TABLE: &str = "bulwark-InventoryTable";

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

/// `base` with the credentials of `role_arn`, assumed with `base`'s own; and those credentials.
async fn assumed_config(
    base: &SdkConfig,
    role_arn: &str,
    session: &str,
) -> (SdkConfig, aws_sdk_sts::types::Credentials) {
    let assumed = aws_sdk_sts::Client::new(base)
        .assume_role()
        .role_arn(role_arn)
        .role_session_name(session)
        .send()
        .await
        .unwrap_or_else(|e| panic!("AssumeRole {role_arn}: {e:?}"));
    let c = assumed.credentials().expect("credentials").clone();
    let credentials = Credentials::new(
        c.access_key_id(),
        c.secret_access_key(),
        Some(c.session_token().to_string()),
        None,
        "assumed-role",
    );
    let config = base
        .to_builder()
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(credentials),
        )
        .build();
    (config, c)
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
        let (config, c) = assumed_config(
            &base,
            &format!("arn:aws:iam::{id}:role/{ADMIN_ROLE}"),
            "bulwark-test",
        )
        .await;
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

    /// The account's administrator: for setting up and inspecting, never for the product.
    pub fn aws(&self) -> Aws {
        Aws::from_config(self.config.clone())
    }

    /// Credentials of `function`'s role, as the deployment template defines it (with the
    /// template's default parameters).
    pub async fn function(&self, function: &str) -> Aws {
        self.function_with(function, &[]).await
    }

    /// An organization of this (management) account and one member account, made with
    /// CreateAccount: the organization's id and the member's.
    pub async fn organization(&self) -> (String, String) {
        let org = aws_sdk_organizations::Client::new(&self.in_region(HOME_REGION));
        let org_id = org
            .create_organization()
            .send()
            .await
            .expect("organization")
            .organization()
            .and_then(|o| o.id())
            .expect("organization id")
            .to_string();
        let member_id = org
            .create_account()
            .account_name("workloads")
            .email(format!("workloads-{}@example.com", self.account))
            .send()
            .await
            .expect("member account")
            .create_account_status()
            .and_then(|s| s.account_id())
            .expect("member account id")
            .to_string();
        (org_id, member_id)
    }

    /// The template deployed in this (member) account as a member stack of `home`'s
    /// organization: the organization role (`MEMBER_ROLE`, which `home`'s function roles may
    /// assume), AWS Backup's service role and the restore role.
    pub fn deploy_member_stack(&self, home: &TestAccount, org_id: &str) -> serde_json::Value {
        control(
            "/moto-api/bulwark/template/roles",
            &serde_json::json!({
                "account": self.account.as_str(),
                "region": HOME_REGION,
                "parameters": {
                    "Deployment": "member",
                    "OrgRole": MEMBER_ROLE,
                    "OrgId": org_id,
                    "HomeAccountId": home.account.as_str(),
                },
            }),
        )
    }

    /// Credentials of `function`'s role, the template deployed with these parameters.
    pub async fn function_with(&self, function: &str, parameters: &[(&str, &str)]) -> Aws {
        let deployed = self.deploy_template(parameters);
        let role = function_role(&deployed, function);
        let role_arn = deployed["roles"][&role].as_str().expect("role ARN");
        self.assume(role_arn, function).await
    }

    /// The deployment template's roles created in this account by the local AWS: its answer
    /// (roles, functions, resources, policies; see infra/local/bulwark_local/template.py).
    pub fn deploy_template(&self, parameters: &[(&str, &str)]) -> serde_json::Value {
        let parameters: BTreeMap<&str, &str> = parameters.iter().copied().collect();
        let deployed = control(
            "/moto-api/bulwark/template/roles",
            &serde_json::json!({
                "account": self.account.as_str(),
                "region": HOME_REGION,
                "parameters": parameters,
            }),
        );
        assert_eq!(
            deployed["resources"]["InventoryTable"].as_str(),
            Some(TABLE),
            "the template's table"
        );
        deployed
    }

    /// Credentials that act as `role_arn`, obtained by the administrator.
    pub async fn assume(&self, role_arn: &str, session: &str) -> Aws {
        Aws::from_config(assumed_config(&self.config, role_arn, session).await.0)
    }

    /// The estate of `regions` discovered under the discover function's role and classified
    /// under the classify function's, as the deployed functions do it.
    /// A new organization whose one member account, with the member stack deployed, holds a
    /// critical table `table` in the home region: the management account, the organization's
    /// id, the member, and the table's ARN.
    pub async fn organization_with_critical_table(
        table: &str,
    ) -> (TestAccount, String, TestAccount, String) {
        let management = TestAccount::new().await;
        let (org_id, member_id) = management.organization().await;
        let member = TestAccount::in_account(&member_id).await;
        member.deploy_member_stack(&management, &org_id);
        crate::seed::table(
            &member,
            HOME_REGION,
            table,
            &[("DataClassification", "Critical")],
        )
        .await;
        let arn = format!("arn:aws:dynamodb:{HOME_REGION}:{member_id}:table/{table}");
        (management, org_id, member, arn)
    }

    /// Sweep the home region of this (management) account's organization and classify it by
    /// `config`, as the deployed discover function through the organization role.
    pub async fn discover_and_classify_organization(
        &self,
        org_id: &str,
        config: &bulwark_core::Config,
    ) {
        let org = [("OrgRole", MEMBER_ROLE), ("OrgId", org_id)];
        let discoverer = self.function_with("discover", &org).await;
        let reach = bulwark_aws::Reach {
            regions: vec![region(HOME_REGION)],
            org_role: Some(MEMBER_ROLE.to_string()),
        };
        let inventory = self.inventory(&discoverer).await;
        let swept =
            bulwark_aws::ops::discover_all(&discoverer, &inventory, &reach, 4, chrono::Utc::now())
                .await
                .expect("sweep");
        bulwark_aws::ops::classify_scopes(&inventory, config, &swept.scopes)
            .await
            .expect("classify");
    }

    pub async fn discover_and_classify(&self, regions: &[&str]) {
        let discoverer = self.function("discover").await;
        let reach = bulwark_aws::Reach {
            regions: regions.iter().map(|r| region(r)).collect(),
            org_role: None,
        };
        let swept = bulwark_aws::ops::discover_all(
            &discoverer,
            &self.inventory(&discoverer).await,
            &reach,
            4,
            chrono::Utc::now(),
        )
        .await
        .expect("sweep");
        let classifier = self.function("classify").await;
        bulwark_aws::ops::classify_scopes(
            &self.inventory(&classifier).await,
            &bulwark_core::Config::builtin(),
            &swept.scopes,
        )
        .await
        .expect("classify");
    }

    /// assign-policy applied with the built-in configuration, under `aws`'s credentials.
    pub async fn apply(&self, aws: &Aws) -> bulwark_aws::assign::PolicyReport {
        bulwark_aws::assign::assign(
            aws,
            &self.inventory(aws).await,
            &bulwark_core::Config::builtin(),
            None,
            bulwark_aws::assign::Targets::Everything,
            true,
            chrono::Utc::now(),
        )
        .await
        .expect("a report (a denied scope is a failure in it)")
    }

    /// The state table, created by the administrator (the template creates it in AWS), for
    /// use with `aws`'s credentials.
    pub async fn inventory(&self, aws: &Aws) -> Inventory {
        Inventory::new(self.aws().dynamodb(), TABLE)
            .ensure_table()
            .await
            .expect("table");
        Inventory::new(aws.dynamodb(), TABLE)
    }

    /// Every record of the state table, read by the administrator: what a test checks.
    pub async fn stored(&self) -> Vec<bulwark_core::Asset> {
        Inventory::new(self.aws().dynamodb(), TABLE)
            .all()
            .await
            .expect("the administrator reads the inventory")
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

/// The logical id of the role the template gives `function` (a name of
/// `permissions::FUNCTIONS`), in a `deploy_template` answer.
pub fn function_role(deployed: &serde_json::Value, function: &str) -> String {
    let (_, logical_id) = bulwark_aws::permissions::FUNCTIONS
        .iter()
        .find(|(name, _)| *name == function)
        .unwrap_or_else(|| panic!("no function {function} in the template"));
    deployed["functions"][logical_id]
        .as_str()
        .unwrap_or_else(|| panic!("{logical_id} has no role: {deployed}"))
        .to_string()
}

/// POST a JSON body to one of the local AWS's control paths; its JSON answer.
/// Forget every fault injected into `account`'s calls (the region is back).
pub fn clear_faults(account: &str) {
    let out = std::process::Command::new("curl")
        .args([
            "-fsS",
            "-X",
            "DELETE",
            &format!("{}/moto-api/bulwark/faults?account={account}", endpoint()),
        ])
        .output()
        .expect("curl runs");
    assert!(out.status.success(), "{out:?}");
}

/// Forget the account's fault named `name` alone (a request it holds is answered 503).
pub fn clear_fault(account: &str, name: &str) {
    let out = std::process::Command::new("curl")
        .args([
            "-fsS",
            "-X",
            "DELETE",
            &format!(
                "{}/moto-api/bulwark/faults?account={account}&name={name}",
                endpoint()
            ),
        ])
        .output()
        .expect("curl runs");
    assert!(out.status.success(), "{out:?}");
}

/// Wait (up to two minutes) until the account's fault named `name` holds a request.
pub fn await_hung(account: &str, name: &str) {
    let started = std::time::Instant::now();
    loop {
        let faults = faults_of(account);
        let hung = faults["faults"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["name"] == name)
            .and_then(|f| f["hung"].as_u64());
        if hung >= Some(1) {
            return;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "fault {name} never held a request: {faults}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The account's faults as the local AWS holds them (each with `hung`: the requests a "hang"
/// fault holds or held).
pub fn faults_of(account: &str) -> serde_json::Value {
    let out = std::process::Command::new("curl")
        .args([
            "-fsS",
            &format!("{}/moto-api/bulwark/faults?account={account}", endpoint()),
        ])
        .output()
        .expect("curl runs");
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).expect("a JSON answer")
}

/// Every write to a global table replicated now: what AWS does within about a second (the
/// tests of replication lag itself set the lag and do not call this).
pub fn replicated() {
    control(
        "/moto-api/bulwark/dynamodb/replication/flush",
        &serde_json::json!({}),
    );
}

pub fn control(path: &str, body: &serde_json::Value) -> serde_json::Value {
    let out = std::process::Command::new("curl")
        .args([
            "-sS",
            "--fail-with-body",
            "-X",
            "POST",
            &format!("{}{path}", endpoint()),
            "-H",
            "Content-Type: application/json",
            "-d",
            &body.to_string(),
        ])
        .output()
        .expect("curl runs");
    assert!(
        out.status.success(),
        "{path}: {} {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("a JSON answer")
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

/// The built CLI: BULWARK_BIN (the Makefile sets it), else beside this test binary's directory.
/// The local AWS's Python (`make test` passes it as BULWARK_PYTHON; else the project's
/// `.venv`), for what the tests ask of boto3.
pub fn python() -> std::path::PathBuf {
    if let Ok(path) = std::env::var("BULWARK_PYTHON") {
        return std::path::PathBuf::from(path);
    }
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv/bin/python")
}

/// A boto3 script run as the test's account, for what the tests' Rust SDK set cannot ask
/// (`args` are its `sys.argv[1..]`): what it prints, trimmed.
pub fn boto3(t: &TestAccount, script: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .envs(t.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "boto3 {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

pub fn bulwark_bin() -> std::path::PathBuf {
    if let Ok(path) = std::env::var("BULWARK_BIN") {
        return std::path::PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("test executable");
    exe.parent()
        .and_then(|deps| deps.parent())
        .expect("target dir")
        .join("bulwark")
}

/// A queue in `region` subscribed to `topic`, as an on-call's pager would be: its URL.
pub async fn subscribed_queue(t: &TestAccount, region: &str, topic: &str) -> String {
    let sqs = aws_sdk_sqs::Client::new(&t.in_region(region));
    let url = sqs
        .create_queue()
        .queue_name("on-call")
        .send()
        .await
        .expect("a queue")
        .queue_url()
        .expect("its url")
        .to_string();
    let arn = format!("arn:aws:sqs:{region}:{}:on-call", t.account);
    aws_sdk_sns::Client::new(&t.in_region(region))
        .subscribe()
        .topic_arn(topic)
        .protocol("sqs")
        .endpoint(arn)
        .attributes("RawMessageDelivery", "false")
        .send()
        .await
        .expect("subscribed");
    url
}

/// The next notification on `queue` (SNS's envelope read): its subject and message.
/// Fails after 90 s without one.
pub async fn next_notice(t: &TestAccount, region: &str, queue: &str) -> (String, String) {
    let sqs = aws_sdk_sqs::Client::new(&t.in_region(region));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    loop {
        let received = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(1)
            .send()
            .await
            .expect("the queue");
        if let Some(message) = received.messages().first() {
            sqs.delete_message()
                .queue_url(queue)
                .receipt_handle(message.receipt_handle().expect("a handle"))
                .send()
                .await
                .expect("deleted");
            let envelope: serde_json::Value =
                serde_json::from_str(message.body().expect("a body")).expect("SNS's envelope");
            return (
                envelope["Subject"].as_str().unwrap_or_default().to_string(),
                envelope["Message"].as_str().unwrap_or_default().to_string(),
            );
        }
        assert!(std::time::Instant::now() < deadline, "no notification");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
}
