//! Discovery of the six kinds across accounts and regions: the SDK's paginators, bounded
//! concurrency, and tags in bulk from the Resource Groups Tagging API where the listing lacks
//! them (S3, DynamoDB). IAM: see `permissions::DISCOVERY` and `permissions::SCOPE`.

pub mod config_source;
pub mod mapping;
mod single;

use std::collections::{BTreeMap, BTreeSet};

use bulwark_core::{Asset, Kind, Region, Scope};
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};

use crate::clients::{AccountClients, ScopeClients};
use crate::error::AwsError;
use crate::paging::mapped_pages;

use crate::permissions::{p, Permission};
pub use single::{observe_one, Observation};

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

/// A listing that failed in one scope: nothing is marked gone there for that kind.
#[derive(Debug)]
pub struct SweepFailure {
    pub scope: Scope,
    pub kind: Kind,
    pub error: AwsError,
}

/// Where a sweep reads what a region holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Source {
    /// Each kind's listing, and the Tagging API for the tags listings lack.
    #[default]
    Api,
    /// AWS Config's configuration items where the region's recorder records the kind; the
    /// listings for the rest.
    Config,
    /// The same items from an aggregator in Bulwark's account and home region, for the scopes
    /// it covers; the listings for the rest.
    Aggregator(bulwark_core::AggregatorName),
}

impl Source {
    /// The source a user names (`api` or `config`), from an aggregator when one is named.
    pub fn parse(name: &str, aggregator: Option<&str>) -> Result<Self, AwsError> {
        let aggregator = aggregator.map(str::trim).filter(|a| !a.is_empty());
        match (name.trim(), aggregator) {
            ("" | "api", None) => Ok(Self::Api),
            ("config", None) => Ok(Self::Config),
            ("config", Some(aggregator)) => Ok(Self::Aggregator(
                bulwark_core::AggregatorName::parse(aggregator)?,
            )),
            ("" | "api", Some(aggregator)) => Err(AwsError::Configuration(format!(
                "aggregator {aggregator:?} is named but the discovery source is api; choose config to read it"
            ))),
            (other, _) => Err(AwsError::Configuration(format!(
                "discovery source {other:?} is neither api nor config"
            ))),
        }
    }
}

/// A source made ready for one sweep: an aggregator's coverage read once.
#[derive(Debug, Clone)]
pub enum Reading {
    Api,
    Config,
    Aggregate(config_source::Aggregate),
}

impl Reading {
    /// `source` ready to sweep with; `home_config` is a Config client in Bulwark's account and
    /// home region (only an aggregator uses it).
    pub async fn prepare(source: &Source, home_config: aws_sdk_config::Client) -> Self {
        match source {
            Source::Api => Self::Api,
            Source::Config => Self::Config,
            Source::Aggregator(name) => {
                Self::Aggregate(config_source::Aggregate::read(home_config, name.clone()).await)
            }
        }
    }
}

/// What a sweep saw: the assets, which (scope, kind) pairs it listed completely, and where it
/// failed.
#[derive(Debug, Default)]
pub struct SweepResult {
    /// Each kind's stores as its listing gave them (not gathered into one: a scope's stores
    /// are never copied whole).
    pub assets: Vec<Vec<Asset>>,
    pub complete: BTreeSet<(Scope, Kind)>,
    pub failures: Vec<SweepFailure>,
    /// The (scope, kind) pairs AWS Config gave.
    pub from_config: BTreeSet<(Scope, Kind)>,
    /// The scopes whose configuration items could not be read, and why: listed by the API.
    pub config_fallbacks: Vec<(Scope, String)>,
}

impl SweepResult {
    fn record(&mut self, scope: &Scope, kind: Kind, outcome: Result<Vec<Asset>, AwsError>) {
        match outcome {
            Ok(assets) => {
                self.assets.push(assets);
                self.complete.insert((scope.clone(), kind));
            }
            Err(error) => {
                tracing::warn!(%scope, %kind, %error, "listing failed; nothing marked gone there");
                self.failures.push(SweepFailure {
                    scope: scope.clone(),
                    kind,
                    error,
                });
            }
        }
    }
}

/// Sweep every scope of every account, at most `concurrency` scopes at once, from `source`,
/// handing each scope's result to `record` as soon as it is swept (its scope with it) and
/// keeping only what `record` answers: a sweep holds a few scopes' stores at a time, never
/// the estate's. Each scope's clients are made when it is swept and dropped after, with their
/// connections: memory follows the scopes in flight, not the organization's.
pub async fn sweep_each<T, F, Fut>(
    accounts: Vec<AccountClients>,
    concurrency: usize,
    source: &Reading,
    now: DateTime<Utc>,
    record: F,
) -> Vec<T>
where
    F: Fn(Scope, SweepResult) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let mut recorded = Vec::new();
    for account in accounts {
        let Some(first) = account.regions.first() else {
            continue;
        };
        let buckets = AccountBuckets {
            first: account.clients(first),
            listed: tokio::sync::OnceCell::new(),
        };
        let answers: Vec<T> = stream::iter(&account.regions)
            .map(|region| {
                let (account, buckets, record) = (&account, &buckets, &record);
                async move {
                    let clients = account.clients(region);
                    let scope = clients.scope.clone();
                    let outcome = sweep_scope(&clients, buckets, source, now).await;
                    drop(clients);
                    let mut result = SweepResult::default();
                    for (kind, listed) in outcome.kinds {
                        result.record(&scope, kind, listed);
                    }
                    result.from_config = outcome
                        .from_config
                        .into_iter()
                        .map(|kind| (scope.clone(), kind))
                        .collect();
                    if let Some(why) = outcome.config_fallback {
                        result.config_fallbacks.push((scope.clone(), why));
                    }
                    record(scope, result).await
                }
            })
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        recorded.extend(answers);
    }
    recorded
}

/// One kind's listing in one scope.
type KindOutcome = (Kind, Result<Vec<Asset>, AwsError>);

/// One scope's sweep: each kind's outcome, the kinds Config gave, and why Config could not be
/// read there, if it could not.
struct ScopeOutcome {
    kinds: Vec<KindOutcome>,
    from_config: BTreeSet<Kind>,
    config_fallback: Option<String>,
}

async fn sweep_scope(
    clients: &ScopeClients,
    buckets: &AccountBuckets,
    source: &Reading,
    now: DateTime<Utc>,
) -> ScopeOutcome {
    let mut outcome = ScopeOutcome {
        kinds: Vec::new(),
        from_config: BTreeSet::new(),
        config_fallback: None,
    };
    let items = match source {
        Reading::Api => None,
        Reading::Config => Some(config_source::Items::Region),
        Reading::Aggregate(aggregate) => match aggregate.not_covering(&clients.scope) {
            None => Some(config_source::Items::Aggregate(aggregate)),
            Some(why) => {
                outcome.config_fallback = Some(why);
                None
            }
        },
    };
    if let Some(items) = items {
        let read = async {
            let kinds = config_source::recorded_kinds(clients).await?;
            let assets = config_source::stores(clients, items, &kinds, now).await?;
            Ok::<_, AwsError>((kinds, assets))
        };
        match read.await {
            Ok((kinds, assets)) => {
                let mut by_kind: BTreeMap<Kind, Vec<Asset>> =
                    kinds.iter().map(|kind| (*kind, Vec::new())).collect();
                for asset in assets {
                    if let Some(of_kind) = by_kind.get_mut(&asset.kind) {
                        of_kind.push(asset);
                    }
                }
                outcome.kinds.extend(
                    by_kind
                        .into_iter()
                        .map(|(kind, of_kind)| (kind, Ok(of_kind))),
                );
                outcome.from_config = kinds;
            }
            Err(error) => {
                tracing::warn!(scope = %clients.scope, %error, "AWS Config could not be read; listing instead");
                outcome.config_fallback = Some(error.to_string());
            }
        }
    }
    let listed = list_scope(clients, buckets, &outcome.from_config, now).await;
    outcome.kinds.extend(listed);
    outcome
}

/// The listings of a scope's kinds but those `skip` names (AWS Config gave them).
async fn list_scope(
    clients: &ScopeClients,
    buckets: &AccountBuckets,
    skip: &BTreeSet<Kind>,
    now: DateTime<Utc>,
) -> Vec<KindOutcome> {
    let scope = &clients.scope;
    let wanted = |kind: Kind| !skip.contains(&kind);
    let tags_needed = wanted(Kind::S3) || wanted(Kind::Dynamodb);
    let (placed, tags, rds, clusters, tables, efs, ebs) = tokio::join!(
        async {
            if wanted(Kind::S3) {
                Some(buckets.get().await)
            } else {
                None
            }
        },
        when(tags_needed, bulk_tags(clients)),
        when(wanted(Kind::Rds), list_rds(clients, now)),
        when(wanted(Kind::Aurora), list_clusters(clients, now)),
        when(wanted(Kind::Dynamodb), list_tables(clients)),
        when(wanted(Kind::Efs), list_efs(clients, now)),
        when(wanted(Kind::Ebs), list_ebs(clients, now)),
    );
    let s3 = match (placed, &tags) {
        (None, _) => Ok(Vec::new()),
        (Some(Ok(buckets)), Ok(tags)) => Ok(buckets
            .iter()
            .filter(|b| b.region == scope.region)
            .filter_map(|b| {
                mapping::s3_bucket(
                    &b.bucket,
                    tags_of(tags, Kind::S3, &b.name, scope),
                    scope,
                    now,
                )
            })
            .collect()),
        (Some(Err(e)), _) | (Some(_), Err(e)) => Err(e.clone()),
    };
    let dynamodb = match (tables, &tags) {
        (Ok(names), Ok(tags)) => Ok(names
            .iter()
            .map(|name| {
                mapping::dynamodb_table(
                    name,
                    tags_of(tags, Kind::Dynamodb, name, scope),
                    scope,
                    now,
                )
            })
            .collect()),
        (Err(e), _) => Err(e),
        (_, Err(e)) => Err(e.clone()),
    };
    [
        (Kind::S3, s3),
        (Kind::Rds, rds),
        (Kind::Aurora, clusters),
        (Kind::Dynamodb, dynamodb),
        (Kind::Efs, efs),
        (Kind::Ebs, ebs),
    ]
    .into_iter()
    .filter(|(kind, _)| wanted(*kind))
    .collect()
}

/// `listing` when `needed`, else nothing (and no call).
async fn when<T: Default>(
    needed: bool,
    listing: impl std::future::Future<Output = Result<T, AwsError>>,
) -> Result<T, AwsError> {
    if needed {
        listing.await
    } else {
        Ok(T::default())
    }
}

fn tags_of(
    tags: &BTreeMap<String, BTreeMap<String, String>>,
    kind: Kind,
    id: &str,
    scope: &Scope,
) -> BTreeMap<String, String> {
    let arn = scope.arn(kind, id).to_string();
    tags.get(&arn).cloned().unwrap_or_default()
}

/// An account's buckets: S3 is global, so they are listed once for all its scopes, and only
/// when one of them lists S3 (not when AWS Config gives every scope's buckets).
struct AccountBuckets {
    first: ScopeClients,
    listed: tokio::sync::OnceCell<Result<Vec<PlacedBucket>, AwsError>>,
}

impl AccountBuckets {
    async fn get(&self) -> &Result<Vec<PlacedBucket>, AwsError> {
        self.listed.get_or_init(|| list_buckets(&self.first)).await
    }
}

/// A bucket and the region it lives in.
#[derive(Debug, Clone)]
pub struct PlacedBucket {
    pub name: String,
    pub region: Region,
    pub bucket: aws_sdk_s3::types::Bucket,
}

/// s3:ListAllMyBuckets (paged, 1000 a page) with each bucket's region; s3:GetBucketLocation
/// only for a bucket whose region the listing does not give.
pub async fn list_buckets(clients: &ScopeClients) -> Result<Vec<PlacedBucket>, AwsError> {
    let buckets = clients
        .s3
        .list_buckets()
        .max_buckets(1000)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::sdk("s3:ListBuckets", e))?;
    let placed = stream::iter(buckets)
        .map(|bucket| async move {
            let name = bucket.name().unwrap_or_default().to_string();
            let region = match bucket.bucket_region() {
                Some(region) => region.to_string(),
                None => locate_bucket(clients, &name).await?,
            };
            Ok::<_, AwsError>(PlacedBucket {
                region: Region::parse(&region)?,
                name,
                bucket,
            })
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>()
        .await;
    placed.into_iter().collect()
}

async fn locate_bucket(clients: &ScopeClients, name: &str) -> Result<String, AwsError> {
    let out = clients
        .s3
        .get_bucket_location()
        .bucket(name)
        .send()
        .await
        .map_err(|e| AwsError::sdk("s3:GetBucketLocation", e))?;
    Ok(mapping::bucket_location(out.location_constraint().map(|c| c.as_str())).to_string())
}

/// tag:GetResources for the kinds whose listing lacks tags, 100 a page: ARN -> tags.
async fn bulk_tags(
    clients: &ScopeClients,
) -> Result<BTreeMap<String, BTreeMap<String, String>>, AwsError> {
    let pages = clients
        .tagging
        .get_resources()
        .resource_type_filters("s3")
        .resource_type_filters("dynamodb:table")
        .resources_per_page(100)
        .into_paginator()
        .send();
    let tags = mapped_pages(pages, "tag:GetResources", |page| {
        page.resource_tag_mapping_list()
            .iter()
            .filter_map(|m| Some((m.resource_arn()?.to_string(), mapping::tag_map(m.tags()))))
            .collect()
    })
    .await?;
    Ok(tags.into_iter().collect())
}

/// Every RDS instance of the clients' region, 100 a page (its tags included).
pub(crate) async fn db_instances(
    clients: &ScopeClients,
) -> Result<Vec<aws_sdk_rds::types::DbInstance>, AwsError> {
    clients
        .rds
        .describe_db_instances()
        .max_records(100)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::sdk("rds:DescribeDBInstances", e))
}

/// Every RDS instance of the clients' region as assets, each page mapped before the next is
/// read (a listing's own types run to kilobytes a store).
pub(crate) async fn list_rds(
    clients: &ScopeClients,
    now: DateTime<Utc>,
) -> Result<Vec<Asset>, AwsError> {
    let pages = clients
        .rds
        .describe_db_instances()
        .max_records(100)
        .into_paginator()
        .send();
    mapped_pages(pages, "rds:DescribeDBInstances", |page| {
        page.db_instances()
            .iter()
            .filter_map(|db| mapping::rds_instance(db, &clients.scope, now))
            .collect()
    })
    .await
}

/// Every DB cluster of the clients' region, 100 a page (their tags included).
pub(crate) async fn db_clusters(
    clients: &ScopeClients,
) -> Result<Vec<aws_sdk_rds::types::DbCluster>, AwsError> {
    clients
        .rds
        .describe_db_clusters()
        .max_records(100)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::sdk("rds:DescribeDBClusters", e))
}

pub(crate) async fn list_clusters(
    clients: &ScopeClients,
    now: DateTime<Utc>,
) -> Result<Vec<Asset>, AwsError> {
    let pages = clients
        .rds
        .describe_db_clusters()
        .max_records(100)
        .into_paginator()
        .send();
    mapped_pages(pages, "rds:DescribeDBClusters", |page| {
        page.db_clusters()
            .iter()
            .filter_map(|c| mapping::db_cluster(c, &clients.scope, now))
            .collect()
    })
    .await
}

async fn list_tables(clients: &ScopeClients) -> Result<Vec<String>, AwsError> {
    clients
        .dynamodb
        .list_tables()
        .limit(100)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::sdk("dynamodb:ListTables", e))
}

/// Every EFS file system of the clients' region, 100 a page (its tags included).
pub(crate) async fn file_systems(
    clients: &ScopeClients,
) -> Result<Vec<aws_sdk_efs::types::FileSystemDescription>, AwsError> {
    clients
        .efs
        .describe_file_systems()
        .max_items(100)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| AwsError::sdk("elasticfilesystem:DescribeFileSystems", e))
}

async fn list_efs(clients: &ScopeClients, now: DateTime<Utc>) -> Result<Vec<Asset>, AwsError> {
    let pages = clients
        .efs
        .describe_file_systems()
        .max_items(100)
        .into_paginator()
        .send();
    mapped_pages(pages, "elasticfilesystem:DescribeFileSystems", |page| {
        page.file_systems()
            .iter()
            .map(|fs| mapping::efs(fs, &clients.scope, now))
            .collect()
    })
    .await
}

async fn list_ebs(clients: &ScopeClients, now: DateTime<Utc>) -> Result<Vec<Asset>, AwsError> {
    let pages = clients
        .ec2
        .describe_volumes()
        .max_results(1000)
        .into_paginator()
        .send();
    mapped_pages(pages, "ec2:DescribeVolumes", |page| {
        page.volumes()
            .iter()
            .filter_map(|v| mapping::ebs(v, &clients.scope, now))
            .collect()
    })
    .await
}
