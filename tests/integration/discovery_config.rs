//! AWS Config as the discovery source: one estate swept both ways gives the same inventory;
//! Config gives what its recorders record, the listings the rest; a region whose items cannot
//! be read is listed instead, and the sweep says so.

use std::collections::{BTreeMap, BTreeSet};

use bulwark_aws::discovery::Source;
use bulwark_aws::ops::{self, DiscoverSummary};
use bulwark_aws::{Aws, Inventory, Reach};
use bulwark_core::{Asset, Kind};
use chrono::Utc;

use crate::harness::{assert_declared, control, region, TestAccount, HOME_REGION, OTHER_REGION};
use crate::seed;

fn both_regions() -> Reach {
    Reach {
        regions: vec![region(HOME_REGION), region(OTHER_REGION)],
        org_role: None,
    }
}

/// A recorder recording every supported type in `region` (`types`: only those).
async fn record(t: &TestAccount, region: &str, types: Option<&[&str]>) {
    let config = aws_sdk_config::Client::new(&t.in_region(region));
    let group = match types {
        None => aws_sdk_config::types::RecordingGroup::builder()
            .all_supported(true)
            .build(),
        Some(types) => aws_sdk_config::types::RecordingGroup::builder()
            .all_supported(false)
            .set_resource_types(Some(
                types
                    .iter()
                    .map(|t| aws_sdk_config::types::ResourceType::from(*t))
                    .collect(),
            ))
            .build(),
    };
    config
        .put_configuration_recorder()
        .configuration_recorder(
            aws_sdk_config::types::ConfigurationRecorder::builder()
                .name("default")
                .role_arn(format!(
                    "arn:aws:iam::{}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig",
                    t.account
                ))
                .recording_group(group)
                .build(),
        )
        .send()
        .await
        .expect("a recorder");
    config
        .put_delivery_channel()
        .delivery_channel(
            aws_sdk_config::types::DeliveryChannel::builder()
                .name("default")
                .s3_bucket_name(format!("config-{}", t.account))
                .build(),
        )
        .send()
        .await
        .expect("a delivery channel");
    config
        .start_configuration_recorder()
        .configuration_recorder_name("default")
        .send()
        .await
        .expect("recording");
}

/// Every kind in the home region, a table in the other.
async fn estate(t: &TestAccount) {
    let tags = [("DataClassification", "Critical"), ("Team", "payments")];
    seed::table(t, HOME_REGION, "orders", &tags).await;
    seed::bucket(t, HOME_REGION, &format!("receipts-{}", t.account), &tags).await;
    seed::rds_instance(t, HOME_REGION, "orders-db", &tags).await;
    seed::aurora_cluster(t, HOME_REGION, "ledger", 2, &tags).await;
    seed::volume(t, HOME_REGION, &tags).await;
    seed::file_system(t, HOME_REGION, "shared", &tags).await;
    seed::table(t, OTHER_REGION, "sessions", &[]).await;
}

async fn swept(aws: &Aws, table: &str, source: Source) -> (DiscoverSummary, Vec<Asset>) {
    let inventory = Inventory::new(aws.dynamodb(), table);
    inventory.ensure_table().await.expect("a table");
    let summary = ops::discover_all_from(aws, &inventory, &both_regions(), 4, &source, Utc::now())
        .await
        .expect("a sweep");
    assert_declared("discover", &summary.calls);
    let assets = inventory.all().await.expect("the inventory");
    (summary, assets)
}

/// The assets as a source decides them: the times and versions of the records aside.
fn comparable(assets: &[Asset]) -> BTreeMap<String, Asset> {
    assets
        .iter()
        // The state tables themselves are tables of the estate too: each sweep saw its own.
        .filter(|a| !a.name.starts_with("bulwark-"))
        .map(|a| {
            let mut a = a.clone();
            a.first_seen = chrono::DateTime::<Utc>::MIN_UTC;
            a.last_seen = chrono::DateTime::<Utc>::MIN_UTC;
            a.version = 0;
            (a.arn.to_string(), a)
        })
        .collect()
}

#[tokio::test]
async fn one_estate_swept_from_config_and_from_the_listings_gives_the_same_inventory() {
    // Given an estate of every kind in the home region, recorded there by AWS Config, and a
    // table in a region with no recorder
    let t = TestAccount::new().await;
    estate(&t).await;
    record(&t, HOME_REGION, None).await;
    let aws = t.aws();

    // When it is swept by the listings, and from AWS Config, each into a state table of its own
    let (by_api, api_assets) = swept(&aws, "bulwark-api-sweep", Source::Api).await;
    let (by_config, config_assets) = swept(&aws, "bulwark-config-sweep", Source::Config).await;

    // Then both inventories hold the same stores, alike in every field the sweep decides
    let api = comparable(&api_assets);
    let config = comparable(&config_assets);
    assert_eq!(api.len(), 7, "{:?}", api.keys());
    for (arn, asset) in &api {
        assert_eq!(config.get(arn), Some(asset), "{arn}");
    }
    assert_eq!(config.len(), api.len());
    // And Config gave the home region's five recorded kinds; EFS and the other region were
    // listed
    let from_config: BTreeSet<(String, Kind)> = by_config
        .from_config
        .iter()
        .map(|s| (s.scope.region.to_string(), s.kind))
        .collect();
    let home = |kind| (HOME_REGION.to_string(), kind);
    assert_eq!(
        from_config,
        BTreeSet::from([
            home(Kind::S3),
            home(Kind::Rds),
            home(Kind::Aurora),
            home(Kind::Dynamodb),
            home(Kind::Ebs),
        ])
    );
    assert!(by_api.from_config.is_empty());
    // (one query page in the home region instead of its listings: the other region's remain)
    let calls = |summary: &DiscoverSummary, op: &str| summary.calls.get(op).copied().unwrap_or(0);
    assert_eq!(calls(&by_config, "Config Service:SelectResourceConfig"), 1);
    assert_eq!(calls(&by_api, "RDS:DescribeDBInstances"), 2);
    assert_eq!(calls(&by_config, "RDS:DescribeDBInstances"), 1);
    assert_eq!(calls(&by_config, "EFS:DescribeFileSystems"), 2);
}

#[tokio::test]
async fn a_region_whose_config_cannot_be_read_is_listed_and_the_sweep_says_so() {
    // Given an estate recorded in the home region, whose advanced query AWS Config refuses
    let t = TestAccount::new().await;
    estate(&t).await;
    record(&t, HOME_REGION, Some(&["AWS::DynamoDB::Table"])).await;
    control(
        "/moto-api/bulwark/faults",
        &serde_json::json!({
            "account": t.account.as_str(), "service": "config", "region": HOME_REGION,
            "operation": "SelectResourceConfig", "status": 400,
            "code": "InvalidExpressionException", "message": "the query is refused",
        }),
    );

    // When it is swept from AWS Config under the discover function's role
    let aws = t.function("discover").await;
    let inventory = t.inventory(&aws).await;
    let summary = ops::discover_all_from(
        &aws,
        &inventory,
        &both_regions(),
        4,
        &Source::Config,
        Utc::now(),
    )
    .await
    .expect("a sweep");

    // Then the home region was listed instead, said so, and every store is in the inventory
    assert_declared("discover", &summary.calls);
    assert!(summary.from_config.is_empty(), "{:?}", summary.from_config);
    assert_eq!(
        summary.config_fallbacks.len(),
        1,
        "{:?}",
        summary.config_fallbacks
    );
    assert!(summary.config_fallbacks[0]
        .error
        .contains("InvalidExpressionException"));
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
    let names: BTreeSet<String> = t.stored().await.into_iter().map(|a| a.name).collect();
    for name in ["orders", "orders-db", "ledger", "sessions"] {
        assert!(names.contains(name), "{name} missing from {names:?}");
    }
}

/// An aggregator in the home region over the organization, in `regions`.
async fn aggregator(management: &TestAccount, name: &str, regions: &[&str]) {
    aws_sdk_config::Client::new(&management.in_region(HOME_REGION))
        .put_configuration_aggregator()
        .configuration_aggregator_name(name)
        .organization_aggregation_source(
            aws_sdk_config::types::OrganizationAggregationSource::builder()
                .role_arn(format!(
                    "arn:aws:iam::{}:role/config-aggregator",
                    management.account
                ))
                .set_aws_regions(Some(regions.iter().map(|r| r.to_string()).collect()))
                .all_aws_regions(false)
                .build()
                .expect("a source"),
        )
        .send()
        .await
        .expect("an aggregator");
}

#[tokio::test]
async fn an_aggregator_gives_every_covered_account_and_region_and_the_rest_is_listed() {
    // Given an organization whose member records everything in both regions and holds stores
    // in both, and the management account's aggregator over the home region only
    let management = TestAccount::new().await;
    let (org_id, member_id) = management.organization().await;
    let member = TestAccount::in_account(&member_id).await;
    estate(&member).await;
    record(&member, HOME_REGION, None).await;
    record(&member, OTHER_REGION, Some(&["AWS::DynamoDB::Table"])).await;
    aggregator(&management, "organization", &[HOME_REGION]).await;
    let reach = Reach {
        regions: vec![region(HOME_REGION), region(OTHER_REGION)],
        org_role: Some(crate::harness::ADMIN_ROLE.to_string()),
    };
    let aws = management
        .function_with(
            "discover",
            &[
                ("OrgRole", crate::harness::ADMIN_ROLE),
                ("OrgId", &org_id),
                ("DiscoverySource", "config"),
                ("ConfigAggregatorName", "organization"),
            ],
        )
        .await;

    // When the organization is swept by the listings into a table of their own, and from the
    // aggregator under the discover function's role
    let admin = management.aws();
    let listed = Inventory::new(admin.dynamodb(), "bulwark-org-api");
    listed.ensure_table().await.expect("a table");
    let by_api = ops::discover_all_from(&admin, &listed, &reach, 4, &Source::Api, Utc::now())
        .await
        .expect("a sweep");
    assert!(by_api.failures.is_empty(), "{:?}", by_api.failures);
    let api_assets = listed.all().await.expect("the inventory");
    let inventory = management.inventory(&aws).await;
    let aggregated = Source::parse("config", Some("organization")).expect("a source");
    let by_aggregator =
        ops::discover_all_from(&aws, &inventory, &reach, 4, &aggregated, Utc::now())
            .await
            .expect("a sweep");
    assert_declared("discover", &by_aggregator.calls);
    assert!(
        by_aggregator.failures.is_empty(),
        "{:?}",
        by_aggregator.failures
    );
    let aggregator_assets = management.stored().await;

    // Then both inventories hold the same stores, alike in every field
    let api = comparable(&api_assets);
    let config = comparable(&aggregator_assets);
    assert!(
        api.keys().any(|arn| arn.contains(&member_id)),
        "{:?}",
        api.keys()
    );
    for (arn, asset) in &api {
        assert_eq!(config.get(arn), Some(asset), "{arn}");
    }
    assert_eq!(config.len(), api.len());
    // And the member's home region came from the aggregator (its recorder's kinds); the region
    // the aggregator does not cover was listed in both accounts, and the sweep says why
    let member_home: BTreeSet<Kind> = by_aggregator
        .from_config
        .iter()
        .filter(|s| s.scope.account.as_str() == member_id && s.scope.region.as_str() == HOME_REGION)
        .map(|s| s.kind)
        .collect();
    assert_eq!(member_home.len(), 5, "{:?}", by_aggregator.from_config);
    assert!(by_aggregator
        .from_config
        .iter()
        .all(|s| s.scope.region.as_str() == HOME_REGION));
    let calls = |op: &str| by_aggregator.calls.get(op).copied().unwrap_or(0);
    assert_eq!(calls("Config Service:SelectResourceConfig"), 0);
    assert!(calls("Config Service:SelectAggregateResourceConfig") >= 1);
    assert_eq!(
        calls("Config Service:DescribeConfigurationAggregatorSourcesStatus"),
        1
    );
    let fallbacks: BTreeSet<String> = by_aggregator
        .config_fallbacks
        .iter()
        .map(|f| {
            let region = f.region.as_ref().map(ToString::to_string);
            format!("{}:{}", f.account, region.unwrap_or_default())
        })
        .collect();
    assert_eq!(
        fallbacks,
        BTreeSet::from([
            format!("{}:{OTHER_REGION}", management.account),
            format!("{member_id}:{OTHER_REGION}"),
        ]),
        "{:?}",
        by_aggregator.config_fallbacks
    );
}

#[tokio::test]
async fn an_aggregator_that_does_not_exist_leaves_every_scope_to_the_listings() {
    // Given an estate recorded in the home region, and no aggregator of the name configured
    let t = TestAccount::new().await;
    estate(&t).await;
    record(&t, HOME_REGION, None).await;
    let aws = t
        .function_with(
            "discover",
            &[
                ("DiscoverySource", "config"),
                ("ConfigAggregatorName", "missing"),
            ],
        )
        .await;
    let inventory = t.inventory(&aws).await;

    // When it is swept from that aggregator
    let source = Source::parse("config", Some("missing")).expect("a source");
    let summary = ops::discover_all_from(&aws, &inventory, &both_regions(), 4, &source, Utc::now())
        .await
        .expect("a sweep");

    // Then every scope was listed, each saying why, and nothing is missing
    assert_declared("discover", &summary.calls);
    assert!(summary.from_config.is_empty(), "{:?}", summary.from_config);
    assert_eq!(
        summary.config_fallbacks.len(),
        2,
        "{:?}",
        summary.config_fallbacks
    );
    assert!(summary
        .config_fallbacks
        .iter()
        .all(|f| f.error.contains("NoSuchConfigurationAggregator")));
    let stored = t.stored().await;
    let names: BTreeSet<String> = stored.iter().map(|a| a.name.clone()).collect();
    for name in ["orders", "orders-db", "ledger", "sessions"] {
        assert!(names.contains(name), "{name} missing from {names:?}");
    }
    let kinds: BTreeSet<Kind> = stored.iter().map(|a| a.kind).collect();
    assert_eq!(kinds.len(), 6, "{kinds:?}");
}

#[test]
fn a_source_names_its_aggregator_only_with_config() {
    assert_eq!(Source::parse("api", None).ok(), Some(Source::Api));
    assert_eq!(
        Source::parse("config", Some(" ")).ok(),
        Some(Source::Config)
    );
    assert!(Source::parse("api", Some("organization")).is_err());
    assert!(Source::parse("config", Some("has space")).is_err());
    assert!(Source::parse("inventory", None).is_err());
}

/// The built-in configuration, reading buckets' versioning from AWS Config.
fn versioning_from_config() -> bulwark_core::Config {
    let text = include_str!("../../crates/core/default-config.toml").replace(
        "versioning_from_config = false",
        "versioning_from_config = true",
    );
    bulwark_core::Config::from_toml_str("versioning.toml", &text).expect("a configuration")
}

#[tokio::test]
async fn buckets_versioning_comes_from_config_where_it_records_buckets_and_is_read_elsewhere() {
    // Given critical buckets in the home region, where a recorder records buckets (one of them
    // versioned), and one in a region that records nothing, discovered and classified
    let t = TestAccount::new().await;
    let critical = [("DataClassification", "Critical")];
    let (versioned, plain, elsewhere) = (
        format!("versioned-{}", t.account),
        format!("plain-{}", t.account),
        format!("elsewhere-{}", t.account),
    );
    seed::bucket(&t, HOME_REGION, &versioned, &critical).await;
    seed::bucket(&t, HOME_REGION, &plain, &critical).await;
    seed::bucket(&t, OTHER_REGION, &elsewhere, &critical).await;
    seed::versioning(&t, HOME_REGION, &versioned).await;
    record(&t, HOME_REGION, None).await;
    t.discover_and_classify(&[HOME_REGION, OTHER_REGION]).await;

    // When coverage is judged under the assign-policy role, reading versioning per bucket and
    // from AWS Config
    let aws = t.function("assign-policy").await;
    let inventory = t.inventory(&aws).await;
    let judge = |config: bulwark_core::Config| {
        let (aws, inventory) = (&aws, &inventory);
        async move {
            let targets = bulwark_aws::assign::Targets::Everything;
            let (judged, calls) =
                bulwark_aws::assign::coverage(aws, inventory, &config, None, targets, Utc::now())
                    .await
                    .expect("coverage");
            assert_declared("assign-policy", &calls);
            let versioning: BTreeMap<String, Option<bool>> = judged
                .iter()
                .filter(|c| c.kind == Kind::S3)
                .map(|c| (c.name.clone(), c.pitr_or_versioning))
                .collect();
            (versioning, calls)
        }
    };
    let (per_bucket, per_bucket_calls) = judge(bulwark_core::Config::builtin()).await;
    let (from_config, from_config_calls) = judge(versioning_from_config()).await;

    // Then both judge every bucket alike, and only the bucket outside the recorded region
    // took a call of its own
    let expected = BTreeMap::from([
        (versioned.clone(), Some(true)),
        (plain.clone(), Some(false)),
        (elsewhere.clone(), Some(false)),
    ]);
    assert_eq!(per_bucket, expected);
    assert_eq!(from_config, expected);
    let calls = |calls: &BTreeMap<String, u64>, op: &str| calls.get(op).copied().unwrap_or(0);
    assert_eq!(calls(&per_bucket_calls, "S3:GetBucketVersioning"), 3);
    assert_eq!(
        calls(&from_config_calls, "S3:GetBucketVersioning"),
        1,
        "{from_config_calls:?}"
    );
    assert_eq!(
        calls(&from_config_calls, "Config Service:SelectResourceConfig"),
        1
    );
}

#[tokio::test]
async fn the_cli_says_which_kinds_config_gave_in_each_scope_and_why_the_rest_was_listed() {
    // Given an estate whose home region records tables only, and a region that records nothing
    let t = TestAccount::new().await;
    estate(&t).await;
    record(&t, HOME_REGION, Some(&["AWS::DynamoDB::Table"])).await;
    crate::cli::ok(&t, &["init"]);

    // When the CLI sweeps it from AWS Config, and from an aggregator that does not exist
    let from_regions = crate::cli::ok(&t, &["discover", "--source", "config"]);
    let from_missing = crate::cli::ok(
        &t,
        &["discover", "--source", "config", "--aggregator", "missing"],
    );

    // Then each scope's row names the kinds Config gave, those listed, and why
    let row = |out: &str, region: &str| {
        out.lines()
            .find(|l| l.contains(&format!("{}/{region}", t.account)))
            .unwrap_or_else(|| panic!("no row of {region}:\n{out}"))
            .to_string()
    };
    let home = row(&from_regions, HOME_REGION);
    assert!(
        home.contains("| dynamodb ") && home.contains("s3, rds, aurora, efs, ebs"),
        "{home}"
    );
    let other = row(&from_regions, OTHER_REGION);
    assert!(other.contains("not recorded here"), "{other}");
    assert!(
        from_missing.contains("NoSuchConfigurationAggregator"),
        "{from_missing}"
    );
    // And naming an aggregator without the config source is refused before any call
    let refused = crate::cli::fails(&t, &["discover", "--aggregator", "organization"]);
    assert!(refused.contains("choose config"), "{refused}");
}

#[tokio::test]
async fn buckets_are_not_listed_when_config_gives_every_regions_buckets() {
    // Given an estate whose both regions record everything
    let t = TestAccount::new().await;
    estate(&t).await;
    record(&t, HOME_REGION, None).await;
    record(&t, OTHER_REGION, None).await;

    // When it is swept from AWS Config
    let (summary, assets) = swept(&t.aws(), "bulwark-config-only", Source::Config).await;

    // Then the account's buckets came from the items alone: no ListBuckets, and the bucket is in
    let calls = |op: &str| summary.calls.get(op).copied().unwrap_or(0);
    assert_eq!(calls("S3:ListBuckets"), 0, "{:?}", summary.calls);
    assert_eq!(calls("Resource Groups Tagging API:GetResources"), 0);
    assert!(assets.iter().any(|a| a.kind == Kind::S3), "{assets:?}");
}
