//! The client factory: which accounts and regions to cover, and SDK clients for each.
//! The endpoint comes from the standard AWS_ENDPOINT_URL (aws-config reads it), so the same
//! code talks to AWS or to the local AWS without knowing which.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_types::region::Region as SdkRegion;
use bulwark_core::{AccountId, Region, Scope};

use crate::calls::CallCounter;
use crate::error::AwsError;
use crate::permissions::{p, Permission};

/// Knowing the home account (who Bulwark is).
pub const HOME: &[Permission] = &[p("sts:GetCallerIdentity", "learn the home account id")];

/// Entering the accounts a change touches (assign-policy, coverage).
pub const MEMBER: &[Permission] = &[
    p("sts:GetCallerIdentity", "learn the home account id"),
    p("sts:AssumeRole", "enter a member account's configured role"),
];

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

/// How long one attempt at a call may take before it is retried.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a call may take, its retries included: a region in a grey failure (answering
/// slowly, or holding connections open) fails the call in this time instead of holding a
/// step until its function times out.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a customer's validation hook, invoked and awaited, may take: a Lambda function's
/// longest run, and a little.
pub const HOOK_TIMEOUT: Duration = Duration::from_secs(15 * 60 + 30);
/// How long opening a connection may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Every client's timeouts. Every call Bulwark makes is short (restores, copies and backups
/// are jobs it starts and polls), so one bound fits them all.
pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .operation_attempt_timeout(ATTEMPT_TIMEOUT)
        .operation_timeout(OPERATION_TIMEOUT)
        .build()
}

/// How far a sweep reaches.
#[derive(Debug, Clone, Default)]
pub struct Reach {
    /// The regions to cover; empty means every region enabled in the account.
    pub regions: Vec<Region>,
    /// When set, every account of the organization is covered through this role name.
    pub org_role: Option<String>,
}

/// The base SDK configuration, loaded once per process, with Bulwark's retry policy and the
/// call counter on every client.
#[derive(Debug, Clone)]
pub struct Aws {
    base: SdkConfig,
    counter: CallCounter,
    /// The region these credentials may not call (an isolated drill's primary region).
    isolated_from: Option<Region>,
    /// The organization role a store of another account is reached through (restores,
    /// failovers, sweeps of restored copies); none: only the home account's stores.
    org_role: Option<String>,
    /// The home account, asked once; and each member account's credentials through the role,
    /// made once (the provider refreshes them).
    home: std::sync::Arc<tokio::sync::OnceCell<AccountId>>,
    members: std::sync::Arc<tokio::sync::Mutex<std::collections::BTreeMap<AccountId, SdkConfig>>>,
}

/// SDK clients for one account and region.
#[derive(Debug, Clone)]
pub struct ScopeClients {
    pub scope: Scope,
    pub s3: aws_sdk_s3::Client,
    pub rds: aws_sdk_rds::Client,
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub efs: aws_sdk_efs::Client,
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    pub backup: aws_sdk_backup::Client,
    pub kms: aws_sdk_kms::Client,
    /// AWS Config (the CLI calls it configservice): the region's recorders and advanced query.
    pub configservice: aws_sdk_config::Client,
    /// The account's configuration (credentials), for clients in its other regions.
    config: SdkConfig,
}

impl Aws {
    /// Load the standard AWS configuration (env, profile, IMDS/container credentials).
    pub async fn load() -> Self {
        let base = aws_config::defaults(BehaviorVersion::latest())
            // Standard mode retries throttling and transient errors with backoff.
            .retry_config(RetryConfig::standard().with_max_attempts(5))
            .load()
            .await;
        Self::from_config(base)
    }

    /// Bulwark's clients over `base`, with its timeouts on every one.
    pub fn from_config(base: SdkConfig) -> Self {
        Self {
            base: base.to_builder().timeout_config(timeouts()).build(),
            counter: CallCounter::default(),
            isolated_from: None,
            org_role: None,
            home: Default::default(),
            members: Default::default(),
        }
    }

    /// The same clients, reaching other accounts' stores through `role` (the organization
    /// role's name) when there is one.
    pub fn with_org_role(mut self, role: Option<String>) -> Self {
        self.org_role = role.filter(|r| !r.trim().is_empty());
        self
    }

    /// Clients for a store's account and region: the home account's through Bulwark's own
    /// credentials, another's through the organization role. Without one, every store is taken
    /// to be the home account's (a single-account deployment inventories no other), and no
    /// call is made to find out: a failover may run while STS's home endpoint is down.
    pub async fn store_scope(&self, scope: Scope) -> Result<ScopeClients, AwsError> {
        let Some(role) = self.org_role.as_deref() else {
            return Ok(self.home_scope(scope));
        };
        let home = self
            .home
            .get_or_try_init(|| self.home_account())
            .await?
            .clone();
        if scope.account == home {
            return Ok(self.home_scope(scope));
        }
        let mut members = self.members.lock().await;
        let config = match members.get(&scope.account) {
            Some(config) => config.clone(),
            None => {
                let config = self.assume_role(&scope.account, role).await;
                members.insert(scope.account.clone(), config.clone());
                config
            }
        };
        drop(members);
        Ok(self.clients_for(&config, scope))
    }

    pub fn counter(&self) -> &CallCounter {
        &self.counter
    }

    /// The same clients through `role_arn` assumed with a session policy that denies every
    /// call to `region` (`aws:RequestedRegion`, which the global control planes signed for
    /// us-east-1 carry too): what an isolated drill runs as, so that a dependency on the
    /// primary region it hides is refused, as an outage would refuse it.
    pub async fn isolated_from(&self, region: &Region, role_arn: &str) -> Self {
        let policy = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": "*", "Resource": "*"},
                {
                    "Sid": "IsolatedFromThePrimaryRegion",
                    "Effect": "Deny",
                    "Action": "*",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:RequestedRegion": region.as_str()}}
                }
            ]
        });
        let provider = AssumeRoleProvider::builder(role_arn)
            .session_name("bulwark-isolated-drill")
            .policy(policy.to_string())
            .configure(&self.base)
            .build()
            .await;
        Self {
            base: self
                .base
                .to_builder()
                .credentials_provider(
                    aws_credential_types::provider::SharedCredentialsProvider::new(provider),
                )
                .build(),
            counter: self.counter.clone(),
            isolated_from: Some(region.clone()),
            org_role: self.org_role.clone(),
            home: self.home.clone(),
            members: Default::default(),
        }
    }

    /// The region these clients' credentials are denied, if they are an isolated drill's.
    pub fn isolation(&self) -> Option<&Region> {
        self.isolated_from.as_ref()
    }

    pub fn base_region(&self) -> Option<Region> {
        self.base
            .region()
            .and_then(|r| Region::parse(r.as_ref()).ok())
    }

    fn config_in(&self, region: &Region) -> SdkConfig {
        self.base
            .to_builder()
            .region(SdkRegion::new(region.as_str().to_string()))
            .build()
    }

    /// The DynamoDB client for the state table, in the base region.
    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        let conf = aws_sdk_dynamodb::config::Builder::from(&self.base)
            .interceptor(self.counter.clone())
            .build();
        aws_sdk_dynamodb::Client::from_conf(conf)
    }

    /// The S3 client for Bulwark's own bucket (evidence), in the base region.
    pub fn s3(&self) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&self.base)
                .interceptor(self.counter.clone())
                .force_path_style(true)
                .build(),
        )
    }

    /// The AWS Config client for Bulwark's own account, in the base region (an aggregator).
    pub fn configservice(&self) -> aws_sdk_config::Client {
        aws_sdk_config::Client::from_conf(
            aws_sdk_config::config::Builder::from(&self.base)
                .interceptor(self.counter.clone())
                .build(),
        )
    }

    /// The Step Functions client for Bulwark's own state machines, in the base region.
    pub fn sfn(&self) -> aws_sdk_sfn::Client {
        aws_sdk_sfn::Client::from_conf(
            aws_sdk_sfn::config::Builder::from(&self.base)
                .interceptor(self.counter.clone())
                .build(),
        )
    }

    /// A Lambda client in `region` (the base region when None), for customer hooks.
    pub fn lambda(&self, region: Option<&Region>) -> aws_sdk_lambda::Client {
        let config = match region {
            Some(region) => self.config_in(region),
            None => self.base.clone(),
        };
        aws_sdk_lambda::Client::from_conf(
            aws_sdk_lambda::config::Builder::from(&config)
                // A hook is invoked and awaited: it may run as long as a Lambda function may.
                .timeout_config(
                    TimeoutConfig::builder()
                        .connect_timeout(CONNECT_TIMEOUT)
                        .operation_attempt_timeout(HOOK_TIMEOUT)
                        .operation_timeout(HOOK_TIMEOUT)
                        .build(),
                )
                .interceptor(self.counter.clone())
                .build(),
        )
    }

    /// The region a global service's control plane (Route 53, IAM) is served from and signed
    /// for: its partition's home, us-east-1 in the commercial partition. A regional outage
    /// there takes these APIs with it, whichever region the caller is in.
    fn global_region(&self) -> &'static str {
        match self.base_region().map(|r| r.partition()) {
            Some("aws-cn") => "cn-northwest-1",
            Some("aws-us-gov") => "us-gov-west-1",
            _ => "us-east-1",
        }
    }

    /// The Route 53 client: a global service, signed for its partition's home region.
    pub fn route53(&self) -> aws_sdk_route53::Client {
        aws_sdk_route53::Client::from_conf(
            aws_sdk_route53::config::Builder::from(&self.base)
                .region(SdkRegion::new(self.global_region()))
                .interceptor(self.counter.clone())
                .build(),
        )
    }

    /// A client of one Route 53 ARC cluster endpoint: its URL, signed for its region.
    pub fn arc_cluster(
        &self,
        endpoint: &bulwark_core::application::ClusterEndpoint,
    ) -> aws_sdk_route53recoverycluster::Client {
        aws_sdk_route53recoverycluster::Client::from_conf(
            aws_sdk_route53recoverycluster::config::Builder::from(&self.base)
                // Another endpoint is the better retry: one that does not answer (its region
                // down) is tried twice, then the next is (AWS's advice for the data plane).
                .retry_config(RetryConfig::standard().with_max_attempts(2))
                .endpoint_url(endpoint.url.as_str())
                .region(SdkRegion::new(endpoint.region.as_str().to_string()))
                .interceptor(self.counter.clone())
                .build(),
        )
    }

    /// The IAM client: a global service, signed for its partition's home region.
    pub fn iam(&self) -> aws_sdk_iam::Client {
        aws_sdk_iam::Client::from_conf(
            aws_sdk_iam::config::Builder::from(&self.base)
                .region(SdkRegion::new(self.global_region()))
                .interceptor(self.counter.clone())
                .build(),
        )
    }

    /// An SSM client in `region`.
    pub fn ssm(&self, region: &Region) -> aws_sdk_ssm::Client {
        aws_sdk_ssm::Client::from_conf(
            aws_sdk_ssm::config::Builder::from(&self.config_in(region))
                .interceptor(self.counter.clone())
                .build(),
        )
    }

    /// An SNS client in `region` (the base region when None).
    pub fn sns(&self, region: Option<&Region>) -> aws_sdk_sns::Client {
        let config = match region {
            Some(region) => self.config_in(region),
            None => self.base.clone(),
        };
        aws_sdk_sns::Client::from_conf(
            aws_sdk_sns::config::Builder::from(&config)
                .interceptor(self.counter.clone())
                .build(),
        )
    }

    /// Clients for one scope, using `config` (the base one, or one with assumed-role credentials).
    fn clients_for(&self, config: &SdkConfig, scope: Scope) -> ScopeClients {
        let config = config
            .to_builder()
            .region(SdkRegion::new(scope.region.as_str().to_string()))
            .build();
        let counter = self.counter.clone();
        ScopeClients {
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(&config)
                    // The local AWS and custom endpoints serve buckets by path, not subdomain.
                    .force_path_style(true)
                    .interceptor(counter.clone())
                    .build(),
            ),
            rds: aws_sdk_rds::Client::from_conf(
                aws_sdk_rds::config::Builder::from(&config)
                    .interceptor(counter.clone())
                    .build(),
            ),
            dynamodb: aws_sdk_dynamodb::Client::from_conf(
                aws_sdk_dynamodb::config::Builder::from(&config)
                    .interceptor(counter.clone())
                    .build(),
            ),
            ec2: aws_sdk_ec2::Client::from_conf(
                aws_sdk_ec2::config::Builder::from(&config)
                    .interceptor(counter.clone())
                    .build(),
            ),
            efs: aws_sdk_efs::Client::from_conf(
                aws_sdk_efs::config::Builder::from(&config)
                    .interceptor(counter.clone())
                    .build(),
            ),
            tagging: aws_sdk_resourcegroupstagging::Client::from_conf(
                aws_sdk_resourcegroupstagging::config::Builder::from(&config)
                    .interceptor(counter.clone())
                    .build(),
            ),
            backup: aws_sdk_backup::Client::from_conf(
                aws_sdk_backup::config::Builder::from(&config)
                    .interceptor(counter.clone())
                    .build(),
            ),
            kms: aws_sdk_kms::Client::from_conf(
                aws_sdk_kms::config::Builder::from(&config)
                    .interceptor(counter.clone())
                    .build(),
            ),
            configservice: aws_sdk_config::Client::from_conf(
                aws_sdk_config::config::Builder::from(&config)
                    .interceptor(counter)
                    .build(),
            ),
            config: config.clone(),
            scope,
        }
    }

    /// Clients for the same account in another region (the DR region, say).
    pub fn sibling(&self, clients: &ScopeClients, region: &Region) -> ScopeClients {
        self.clients_for(
            &clients.config,
            Scope {
                account: clients.scope.account.clone(),
                region: region.clone(),
            },
        )
    }

    /// The home account id (sts:GetCallerIdentity).
    pub async fn home_account(&self) -> Result<AccountId, AwsError> {
        let identity = self.caller_identity().await?;
        Ok(AccountId::parse(identity.account().unwrap_or_default())?)
    }

    /// Who is calling: the caller's ARN (sts:GetCallerIdentity), for the record of who asked.
    pub async fn caller_arn(&self) -> Result<String, AwsError> {
        let identity = self.caller_identity().await?;
        Ok(identity.arn().unwrap_or_default().to_string())
    }

    async fn caller_identity(
        &self,
    ) -> Result<aws_sdk_sts::operation::get_caller_identity::GetCallerIdentityOutput, AwsError>
    {
        let sts = aws_sdk_sts::Client::from_conf(
            aws_sdk_sts::config::Builder::from(&self.base)
                .interceptor(self.counter.clone())
                .build(),
        );
        sts.get_caller_identity()
            .send()
            .await
            .map_err(|e| AwsError::sdk("sts:GetCallerIdentity", e))
    }

    /// The regions enabled in the account (ec2:DescribeRegions without AllRegions).
    pub async fn enabled_regions(&self, config: &SdkConfig) -> Result<Vec<Region>, AwsError> {
        let home = self.base_region().unwrap_or_else(|| {
            Region::parse("us-east-1").unwrap_or_else(|_| unreachable!("a valid literal"))
        });
        let ec2 = aws_sdk_ec2::Client::from_conf(
            aws_sdk_ec2::config::Builder::from(
                &config
                    .to_builder()
                    .region(SdkRegion::new(home.to_string()))
                    .build(),
            )
            .interceptor(self.counter.clone())
            .build(),
        );
        let out = ec2
            .describe_regions()
            .send()
            .await
            .map_err(|e| AwsError::sdk("ec2:DescribeRegions", e))?;
        let mut regions: Vec<Region> = out
            .regions()
            .iter()
            .filter_map(|r| r.region_name())
            .filter_map(|r| Region::parse(r).ok())
            .collect();
        regions.sort();
        Ok(regions)
    }

    /// Every (account, region) to sweep, with clients for each: the home account alone, or every
    /// active account of the organization through `org_role`.
    pub async fn scopes(&self, reach: &Reach) -> Result<Vec<AccountClients>, AwsError> {
        let home = self.home_account().await?;
        let mut accounts: Vec<(AccountId, SdkConfig)> = vec![(home.clone(), self.base.clone())];
        if let Some(role) = &reach.org_role {
            for account in self.organization_accounts().await? {
                if account == home {
                    continue;
                }
                let config = self.assume_role(&account, role).await;
                accounts.push((account, config));
            }
        }
        let mut out = Vec::with_capacity(accounts.len());
        for (account, config) in accounts {
            let regions = if reach.regions.is_empty() {
                // An account whose regions cannot be listed is reported; the others go on.
                match self.enabled_regions(&config).await {
                    Ok(regions) => regions,
                    Err(error) => {
                        out.push(AccountClients {
                            account,
                            regions: Vec::new(),
                            unreachable: Some(error),
                            aws: self.clone(),
                            config,
                        });
                        continue;
                    }
                }
            } else {
                reach.regions.clone()
            };
            out.push(AccountClients {
                account,
                regions,
                unreachable: None,
                aws: self.clone(),
                config,
            });
        }
        Ok(out)
    }

    /// One scope of an account as a sweep takes it: the home account's through Bulwark's own
    /// credentials, another's through `role` (an error without one).
    pub async fn account_scope(
        &self,
        scope: &Scope,
        role: Option<&str>,
    ) -> Result<AccountClients, AwsError> {
        let home = self.home_account().await?;
        let config = match role {
            _ if scope.account == home => self.base.clone(),
            Some(role) => self.assume_role(&scope.account, role).await,
            None => {
                return Err(AwsError::Configuration(format!(
                    "shard {scope} is another account's, and no organization role is configured"
                )))
            }
        };
        Ok(AccountClients {
            account: scope.account.clone(),
            regions: vec![scope.region.clone()],
            unreachable: None,
            aws: self.clone(),
            config,
        })
    }

    /// Clients for one account and region of the home account (a single-resource event).
    pub fn home_scope(&self, scope: Scope) -> ScopeClients {
        self.clients_for(&self.base, scope)
    }

    /// Clients for one scope in another account, through `role`.
    pub async fn member_scope(&self, scope: Scope, role: &str) -> ScopeClients {
        let config = self.assume_role(&scope.account, role).await;
        self.clients_for(&config, scope)
    }

    /// AWS Organizations, as the home account (its management account or a delegated
    /// administrator).
    pub fn organizations(&self) -> aws_sdk_organizations::Client {
        aws_sdk_organizations::Client::from_conf(
            aws_sdk_organizations::config::Builder::from(&self.base)
                .interceptor(self.counter.clone())
                .build(),
        )
    }

    async fn organization_accounts(&self) -> Result<Vec<AccountId>, AwsError> {
        let listed = self
            .organizations()
            .list_accounts()
            .into_paginator()
            .send()
            .try_collect()
            .await
            .map_err(|e| AwsError::sdk("organizations:ListAccounts", e))?;
        let mut accounts = Vec::new();
        for account in listed.iter().flat_map(|page| page.accounts()) {
            let active = account.state().is_none_or(|s| s.as_str() == "ACTIVE");
            if let (true, Some(id)) = (active, account.id()) {
                accounts.push(AccountId::parse(id)?);
            }
        }
        Ok(accounts)
    }

    async fn assume_role(&self, account: &AccountId, role: &str) -> SdkConfig {
        // The role is in the partition of the regions Bulwark runs in.
        let partition = self
            .base
            .region()
            .map_or("aws", |r| bulwark_core::partition_of(r.as_ref()));
        let provider =
            AssumeRoleProvider::builder(format!("arn:{partition}:iam::{account}:role/{role}"))
                .session_name("bulwark")
                .configure(&self.base)
                .build()
                .await;
        self.base
            .to_builder()
            .credentials_provider(
                aws_credential_types::provider::SharedCredentialsProvider::new(provider),
            )
            .build()
    }

    /// A client configuration in `region` of the home account, for adapters outside discovery.
    pub fn sdk_config_in(&self, region: &Region) -> SdkConfig {
        self.config_in(region)
    }
}

/// One account's scopes: its credentials and regions, and each scope's clients made only when
/// asked for, so that a sweep holds the clients of the scopes in flight, not the organization's.
#[derive(Debug, Clone)]
pub struct AccountClients {
    pub account: AccountId,
    pub regions: Vec<Region>,
    /// Why the account's regions could not be listed, when they could not.
    pub unreachable: Option<AwsError>,
    aws: Aws,
    /// The account's configuration: Bulwark's own, or its member role's.
    config: SdkConfig,
}

impl AccountClients {
    /// The account's scopes, in its regions' order.
    pub fn scopes(&self) -> impl Iterator<Item = Scope> + '_ {
        self.regions.iter().map(|region| Scope {
            account: self.account.clone(),
            region: region.clone(),
        })
    }

    /// Clients for one of the account's regions, made now.
    pub fn clients(&self, region: &Region) -> ScopeClients {
        self.aws.clients_for(
            &self.config,
            Scope {
                account: self.account.clone(),
                region: region.clone(),
            },
        )
    }
}
