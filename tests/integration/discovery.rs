//! Discovery and the inventory, end to end against the local AWS.

use bulwark_lambda::Input;
use std::collections::BTreeMap;

use bulwark_aws::ops::{self, DiscoverSummary};
use bulwark_aws::{Aws, Inventory, Reach};
use bulwark_core::{Asset, AssetState, Config, Kind};
use chrono::Utc;
use serde_json::json;

use aws_sdk_dynamodb::types::AttributeValue;

use crate::harness::{
    assert_declared, endpoint, region, TestAccount, HOME_REGION, MEMBER_ROLE, OTHER_REGION, TABLE,
};
use crate::seed;

fn both_regions() -> Reach {
    Reach {
        regions: vec![region(HOME_REGION), region(OTHER_REGION)],
        org_role: None,
    }
}

async fn sweep(aws: &Aws, inventory: &Inventory) -> DiscoverSummary {
    let summary = ops::discover_all(aws, inventory, &both_regions(), 4, Utc::now())
        .await
        .expect("sweep");
    assert_declared("discover", &summary.calls);
    summary
}

/// A sweep's or a lookup's summary, as discover answers it.
fn summary_of(response: bulwark_discover::Response) -> DiscoverSummary {
    match response {
        bulwark_discover::Response::Summary(summary) => *summary,
        other => panic!("a summary, not {other:?}"),
    }
}

fn by_name(assets: &[Asset]) -> BTreeMap<(String, String, Kind), Asset> {
    assets
        .iter()
        .map(|a| ((a.region.to_string(), a.name.clone(), a.kind), a.clone()))
        .collect()
}

/// Make the local AWS refuse (or throttle) this account's calls to one service.
async fn inject_fault(fault: serde_json::Value) {
    let client = std::process::Command::new("curl")
        .args([
            "-fsS",
            "-X",
            "POST",
            &format!("{}/moto-api/bulwark/faults", endpoint()),
            "-d",
            &fault.to_string(),
        ])
        .output()
        .expect("curl runs");
    assert!(
        client.status.success(),
        "fault injection failed: {}",
        String::from_utf8_lossy(&client.stderr)
    );
}

async fn estate(t: &TestAccount) -> Vec<String> {
    seed::bucket(
        t,
        HOME_REGION,
        &format!("orders-{}", t.account),
        &[("DATACLASSIFICATION", "confidential")],
    )
    .await;
    seed::bucket(
        t,
        OTHER_REGION,
        &format!("scratch-{}", t.account),
        &[("Reproducible", "true")],
    )
    .await;
    seed::table(
        t,
        HOME_REGION,
        "users",
        &[("DataClassification", "supersecret")],
    )
    .await;
    seed::table(t, OTHER_REGION, "users", &[("Environment", "PROD")]).await;
    seed::rds_instance(t, HOME_REGION, "billing", &[("BackupTier", "Tier2")]).await;
    seed::aurora_cluster(t, OTHER_REGION, "payments", 2, &[("Env", "staging")]).await;
    let vol = seed::volume(t, HOME_REGION, &[("Name", "temp-scratch")]).await;
    let fs = seed::file_system(t, OTHER_REGION, "shared", &[("Environment", "sandbox")]).await;
    vec![vol, fs]
}

#[tokio::test]
async fn a_sweep_finds_every_kind_in_every_region_once() {
    // Given an estate of all six kinds over two regions, in an account of its own
    let t = TestAccount::new().await;
    let ids = estate(&t).await;
    let aws = t.function("discover").await;
    let inventory = t.inventory(&aws).await;

    // When discover sweeps
    let summary = sweep(&aws, &inventory).await;

    // Then every store is recorded once, in its own region, with its tags
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
    let assets = t.stored().await;
    let found = by_name(&assets);
    let orders = format!("orders-{}", t.account);
    let scratch = format!("scratch-{}", t.account);
    for (region, name, kind) in [
        (HOME_REGION, orders.as_str(), Kind::S3),
        (OTHER_REGION, scratch.as_str(), Kind::S3),
        (HOME_REGION, "users", Kind::Dynamodb),
        (OTHER_REGION, "users", Kind::Dynamodb),
        (HOME_REGION, "billing", Kind::Rds),
        (OTHER_REGION, "payments", Kind::Aurora),
        (HOME_REGION, ids[0].as_str(), Kind::Ebs),
        (OTHER_REGION, ids[1].as_str(), Kind::Efs),
    ] {
        assert!(
            found.contains_key(&(region.to_string(), name.to_string(), kind)),
            "missing {kind} {name} in {region}"
        );
    }
    // Aurora members belong to their cluster: no RDS asset for them.
    let payments = &found[&(
        OTHER_REGION.to_string(),
        "payments".to_string(),
        Kind::Aurora,
    )];
    assert_eq!(
        payments.attributes.members,
        vec!["payments-1", "payments-2"]
    );
    assert!(!assets.iter().any(|a| a.name.starts_with("payments-")));
    // The state table itself is a DynamoDB table in the home region and is found too.
    assert_eq!(
        assets.len(),
        9,
        "{:#?}",
        assets.iter().map(|a| a.arn.to_string()).collect::<Vec<_>>()
    );
    assert_eq!(summary.seen, 9);
    let orders_asset = &found[&(HOME_REGION.to_string(), orders.clone(), Kind::S3)];
    assert_eq!(
        orders_asset
            .tags
            .get("DATACLASSIFICATION")
            .map(String::as_str),
        Some("confidential")
    );
    let billing = &found[&(HOME_REGION.to_string(), "billing".to_string(), Kind::Rds)];
    assert_eq!(billing.attributes.encrypted, Some(true));
    assert_eq!(billing.attributes.backup_retention_days, Some(3));
    assert_eq!(billing.account, t.account);

    // And the sweep used the bulk calls, one listing per kind and region
    for op in [
        "RDS:DescribeDBInstances",
        "RDS:DescribeDBClusters",
        "DynamoDB:ListTables",
        "EC2:DescribeVolumes",
        "EFS:DescribeFileSystems",
        "Resource Groups Tagging API:GetResources",
    ] {
        assert_eq!(summary.calls.get(op), Some(&2), "{op}: {:?}", summary.calls);
    }
    assert_eq!(summary.calls.get("S3:ListBuckets"), Some(&1));
    assert_eq!(summary.calls.get("S3:GetBucketLocation"), None);
}

#[tokio::test]
async fn a_second_sweep_writes_only_the_deleted_store_and_records_once_that_it_swept() {
    let t = TestAccount::new().await;
    seed::table(&t, OTHER_REGION, "orders", &[]).await;
    seed::rds_instance(&t, OTHER_REGION, "reports", &[]).await;
    let aws = t.function("discover").await;
    let inventory = t.inventory(&aws).await;
    sweep(&aws, &inventory).await;
    let first = by_name(&t.stored().await);

    // When the table is deleted and discover sweeps again
    t.dynamodb(OTHER_REGION)
        .delete_table()
        .table_name("orders")
        .send()
        .await
        .expect("delete");
    let summary = sweep(&aws, &inventory).await;

    // Then the table is kept, marked gone with a time, the one record written; the instance is
    // still present, its record untouched
    assert_eq!(summary.marked_gone, 1);
    assert_eq!(summary.written, 1, "{summary:?}");
    let second = by_name(&t.stored().await);
    let orders = &second[&(
        OTHER_REGION.to_string(),
        "orders".to_string(),
        Kind::Dynamodb,
    )];
    assert_eq!(orders.state, AssetState::Gone);
    assert!(orders.gone_at.is_some());
    // And only the gone table's record was read whole: the instance, seen as it was recorded,
    // was judged by its record's digest
    assert_eq!(
        summary.calls.get("DynamoDB:GetItem"),
        Some(&1),
        "{:?}",
        summary.calls
    );
    let reports = &second[&(OTHER_REGION.to_string(), "reports".to_string(), Kind::Rds)];
    let before = &first[&(OTHER_REGION.to_string(), "reports".to_string(), Kind::Rds)];
    assert_eq!(reports.state, AssetState::Present);
    assert_eq!(reports.first_seen, before.first_seen);
    assert_eq!(reports.last_seen, before.last_seen);
    assert_eq!(reports.version, before.version);
    // And the scope's sweep, recorded once, says the instance was seen by the second sweep
    let sweeps = inventory.sweeps().await.expect("sweeps");
    let swept = sweeps
        .iter()
        .find(|s| s.scope == reports.scope())
        .expect("the scope's sweep");
    assert!(swept.kinds.contains(&Kind::Rds));
    assert!(swept.last_seen(reports) > before.last_seen);

    // And a third sweep does not mark it gone again, and reads no record whole
    let third = sweep(&aws, &inventory).await;
    assert_eq!(third.marked_gone, 0);
    assert_eq!(
        (third.calls.get("DynamoDB:GetItem"), third.written),
        (None, 0),
        "{third:?}"
    );

    // And a record written before the observed digest (its digest removed by hand) is read
    // whole and written once as it is, then judged by its digest again
    t.dynamodb(HOME_REGION)
        .update_item()
        .table_name(TABLE)
        .key(
            "pk",
            AttributeValue::S(bulwark_aws::store::scope_key(&reports.scope())),
        )
        .key("sk", AttributeValue::S(reports.arn.to_string()))
        .update_expression("REMOVE observed")
        .send()
        .await
        .expect("the digest removed");
    let fourth = sweep(&aws, &inventory).await;
    assert_eq!(
        (fourth.calls.get("DynamoDB:GetItem"), fourth.written),
        (Some(&1), 1),
        "{fourth:?}"
    );
    let rewritten = by_name(&t.stored().await)
        [&(OTHER_REGION.to_string(), "reports".to_string(), Kind::Rds)]
        .clone();
    assert_eq!(rewritten.version, reports.version + 1);
    assert_eq!(
        (rewritten.first_seen, rewritten.last_seen),
        (reports.first_seen, reports.last_seen)
    );
    let fifth = sweep(&aws, &inventory).await;
    assert_eq!(
        (fifth.calls.get("DynamoDB:GetItem"), fifth.written),
        (None, 0),
        "{fifth:?}"
    );
}

#[tokio::test]
async fn a_failing_region_is_reported_and_marks_nothing_gone_there() {
    let t = TestAccount::new().await;
    seed::rds_instance(&t, HOME_REGION, "home-db", &[]).await;
    seed::rds_instance(&t, OTHER_REGION, "away-db", &[]).await;
    let aws = t.function("discover").await;
    let inventory = t.inventory(&aws).await;
    sweep(&aws, &inventory).await;

    // Given RDS refuses this account in one region, and its instance there is deleted
    t.rds(OTHER_REGION)
        .delete_db_instance()
        .db_instance_identifier("away-db")
        .skip_final_snapshot(true)
        .send()
        .await
        .expect("delete");
    inject_fault(json!({"account": t.account.as_str(), "service": "rds", "region": OTHER_REGION,
        "operation": "DescribeDBInstances", "status": 403, "code": "AccessDenied", "message": "not allowed"}))
    .await;

    // When discover sweeps
    let summary = sweep(&aws, &inventory).await;

    // Then the failure is reported, not retried, and nothing is marked gone where it failed
    assert_eq!(summary.failures.len(), 1, "{:?}", summary.failures);
    let failure = &summary.failures[0];
    assert_eq!(
        (failure.region.as_ref().map(|r| r.as_str()), failure.kind),
        (Some(OTHER_REGION), Some(Kind::Rds))
    );
    assert!(!failure.retryable);
    assert!(failure.error.contains("AccessDenied"), "{}", failure.error);
    assert_eq!(summary.marked_gone, 0);
    let assets = by_name(&t.stored().await);
    assert_eq!(
        assets[&(OTHER_REGION.to_string(), "away-db".to_string(), Kind::Rds)].state,
        AssetState::Present
    );
    // And the rest of the sweep completed
    assert!(summary.scopes.len() == 2 && summary.calls.get("RDS:DescribeDBClusters") == Some(&2));
}

#[tokio::test]
async fn throttled_calls_are_retried_by_the_sdk() {
    let t = TestAccount::new().await;
    seed::table(&t, HOME_REGION, "events", &[]).await;
    let aws = t.function("discover").await;
    let inventory = t.inventory(&aws).await;
    inject_fault(
        json!({"account": t.account.as_str(), "service": "dynamodb", "region": HOME_REGION,
        "operation": "ListTables", "code": "ThrottlingException", "count": 2}),
    )
    .await;

    let summary = sweep(&aws, &inventory).await;

    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
    // Two throttled attempts and the one that succeeded, in the home region; one in the other.
    assert_eq!(
        summary.calls.get("DynamoDB:ListTables"),
        Some(&4),
        "{:?}",
        summary.calls
    );
    let names: Vec<String> = t.stored().await.into_iter().map(|a| a.name).collect();
    assert!(names.contains(&"events".to_string()));
}

#[tokio::test]
async fn without_bucket_regions_in_the_listing_each_bucket_is_located() {
    let t = TestAccount::new().await;
    seed::bucket(
        &t,
        OTHER_REGION,
        &format!("eu-data-{}", t.account),
        &[("Env", "prod")],
    )
    .await;
    seed::bucket(&t, HOME_REGION, &format!("us-data-{}", t.account), &[]).await;
    inject_fault(json!({"account": t.account.as_str(), "service": "s3", "mode": "legacy-s3"}))
        .await;
    let aws = t.function("discover").await;
    let inventory = t.inventory(&aws).await;

    let summary = sweep(&aws, &inventory).await;

    assert_eq!(
        summary.calls.get("S3:GetBucketLocation"),
        Some(&2),
        "{:?}",
        summary.calls
    );
    let assets = by_name(&t.stored().await);
    let eu = &assets[&(
        OTHER_REGION.to_string(),
        format!("eu-data-{}", t.account),
        Kind::S3,
    )];
    assert_eq!(eu.tags.get("Env").map(String::as_str), Some("prod"));
    assert!(assets.contains_key(&(
        HOME_REGION.to_string(),
        format!("us-data-{}", t.account),
        Kind::S3
    )));
}

#[tokio::test]
async fn a_config_change_event_records_one_store_and_its_deletion() {
    let t = TestAccount::new().await;
    let aws = t.function("discover").await;
    let inventory = t.inventory(&aws).await;
    seed::table(
        &t,
        OTHER_REGION,
        "carts",
        &[("DataClassification", "Restricted")],
    )
    .await;
    let services = bulwark_lambda::Services {
        aws: aws.clone(),
        inventory: inventory.clone(),
        config: Config::builtin(),
        settings: bulwark_lambda::Settings::from_lookup(|_| None).expect("settings"),
    };
    let event = |status: &str| {
        json!({
            "version": "0", "id": "e1", "detail-type": "Config Configuration Item Change", "source": "aws.config",
            "account": t.account.as_str(), "time": "2026-11-22T01:00:00Z", "region": OTHER_REGION, "resources": [],
            "detail": {"messageType": "ConfigurationItemChangeNotification", "configurationItem": {
                "resourceType": "AWS::DynamoDB::Table", "resourceId": "carts", "resourceName": "carts",
                "ARN": format!("arn:aws:dynamodb:{OTHER_REGION}:{}:table/carts", t.account),
                "awsRegion": OTHER_REGION, "awsAccountId": t.account.as_str(), "configurationItemStatus": status}}
        })
    };

    // When the creation event arrives, twice
    let first = summary_of(
        bulwark_discover::handle(&services, Input::from_value(event("ResourceDiscovered")))
            .await
            .expect("first"),
    );
    let again = summary_of(
        bulwark_discover::handle(&services, Input::from_value(event("ResourceDiscovered")))
            .await
            .expect("again"),
    );
    // Then one record, written once
    assert_eq!((first.seen, first.written), (1, 1));
    assert_eq!(again.written, 0, "{again:?}");
    let classifier = t.function("classify").await;
    let classify_services = bulwark_lambda::Services {
        inventory: t.inventory(&classifier).await,
        aws: classifier,
        config: Config::builtin(),
        settings: bulwark_lambda::Settings::from_lookup(|_| None).expect("settings"),
    };
    let classified = bulwark_classify::handle(
        &classify_services,
        Input::from_value(serde_json::to_value(&first).expect("json")),
    )
    .await
    .expect("classify");
    assert_eq!(
        classified.by_tier.get("critical"),
        Some(&1),
        "{classified:?}"
    );
    let arn = format!("arn:aws:dynamodb:{OTHER_REGION}:{}:table/carts", t.account)
        .parse()
        .expect("arn");
    let stored = inventory.get(&arn).await.expect("get").expect("recorded");
    assert_eq!(
        stored.classification.and_then(|c| c.tier).as_deref(),
        Some("critical")
    );

    // When the table is deleted and the deletion event arrives
    t.dynamodb(OTHER_REGION)
        .delete_table()
        .table_name("carts")
        .send()
        .await
        .expect("delete");
    let gone = summary_of(
        bulwark_discover::handle(&services, Input::from_value(event("ResourceDeleted")))
            .await
            .expect("deletion"),
    );
    assert_eq!(gone.marked_gone, 1);
    let stored = inventory.get(&arn).await.expect("get").expect("kept");
    assert_eq!(stored.state, AssetState::Gone);

    // And a malformed event is refused and changes nothing
    let before = t.stored().await;
    let err = bulwark_discover::handle(&services, Input::from_value(json!({"source": "aws.config", "detail-type": "Config Configuration Item Change", "detail": {}})))
        .await
        .expect_err("malformed");
    assert_eq!(err.error_type(), bulwark_lambda::error_type::INVALID_INPUT);
    assert_eq!(t.stored().await, before);
}

#[tokio::test]
async fn an_s3_bucket_is_found_by_arn_through_the_index() {
    let t = TestAccount::new().await;
    let name = format!("media-{}", t.account);
    seed::bucket(&t, OTHER_REGION, &name, &[("Environment", "dev")]).await;
    let aws = t.function("discover").await;
    let inventory = t.inventory(&aws).await;
    let arn = format!("arn:aws:s3:::{name}").parse().expect("arn");
    let scope = bulwark_core::Scope {
        account: t.account.clone(),
        region: region(OTHER_REGION),
    };

    let summary = ops::discover_one(&aws, &inventory, &arn, scope, None, Utc::now())
        .await
        .expect("one");
    assert_declared("discover", &summary.calls);

    assert_eq!(summary.written, 1);
    let stored = inventory.get(&arn).await.expect("get").expect("found");
    assert_eq!(stored.region.as_str(), OTHER_REGION);
    assert_eq!(
        stored.tags.get("Environment").map(String::as_str),
        Some("dev")
    );
    let result = ops::classify_one(&inventory, &Config::builtin(), &arn)
        .await
        .expect("classify");
    assert_eq!(result.by_tier.get("standard"), Some(&1));
}

#[tokio::test]
async fn init_is_idempotent() {
    let t = TestAccount::new().await;
    let aws = t.aws();
    let inventory = Inventory::new(aws.dynamodb(), "bulwark-init-test");
    assert!(inventory.ensure_table().await.expect("create"));
    assert!(!inventory.ensure_table().await.expect("again"));
}

#[tokio::test]
async fn concurrent_writers_do_not_lose_updates() {
    let t = TestAccount::new().await;
    seed::table(
        &t,
        HOME_REGION,
        "ledger",
        &[("DataClassification", "critical")],
    )
    .await;
    let aws = t.function("discover").await;
    let inventory = t.inventory(&aws).await;
    sweep(&aws, &inventory).await;
    let stored = t.stored().await;

    // Given a classification computed from a stale read, and a sweep that wrote in between (the
    // table gained a tag)
    let config = Config::builtin();
    let stale = stored.clone();
    t.dynamodb(HOME_REGION)
        .tag_resource()
        .resource_arn(
            stale
                .iter()
                .find(|a| a.name == "ledger")
                .expect("ledger")
                .arn
                .to_string(),
        )
        .tags(
            aws_sdk_dynamodb::types::Tag::builder()
                .key("Team")
                .value("ledger")
                .build()
                .expect("a tag"),
        )
        .send()
        .await
        .expect("tag the table");
    assert_eq!(sweep(&aws, &inventory).await.written, 1);
    let changes: Vec<bulwark_core::Change> = stale
        .iter()
        .map(|a| bulwark_core::Change::Classified {
            arn: a.arn.clone(),
            classification: bulwark_core::classify(&config, a),
        })
        .collect();

    // When the stale writer applies its changes
    let report = inventory.apply(&stale, &changes).await.expect("apply");

    // Then its conditional writes lose, it re-reads, and both updates survive
    assert_eq!(report.conflicts_resolved, stale.len());
    let now = t.stored().await;
    let ledger = now.iter().find(|a| a.name == "ledger").expect("ledger");
    assert_eq!(
        ledger
            .classification
            .as_ref()
            .and_then(|c| c.tier.as_deref()),
        Some("critical")
    );
    assert!(
        ledger.last_seen
            > stale
                .iter()
                .find(|a| a.name == "ledger")
                .expect("ledger")
                .last_seen
    );
    assert_eq!(ledger.tags.get("Team").map(String::as_str), Some("ledger"));
}

#[tokio::test]
async fn an_organization_sweep_covers_every_member_account_through_its_role() {
    // Given a management account with an organization and one member account holding a table
    let management = TestAccount::new().await;
    let (org_id, member_id) = management.organization().await;
    let member = TestAccount::in_account(&member_id).await;
    seed::table(
        &member,
        OTHER_REGION,
        "member-orders",
        &[("Environment", "production")],
    )
    .await;
    seed::table(&management, HOME_REGION, "management-audit", &[]).await;
    member.deploy_member_stack(&management, &org_id);

    // When the management account sweeps through the member stack's role, its template
    // deployed for the organization (member roles assumed only in its accounts:
    // aws:ResourceOrgID)
    let aws = management
        .function_with("discover", &[("OrgRole", MEMBER_ROLE), ("OrgId", &org_id)])
        .await;
    let inventory = management.inventory(&aws).await;
    let reach = Reach {
        regions: vec![region(HOME_REGION), region(OTHER_REGION)],
        org_role: Some(MEMBER_ROLE.to_string()),
    };
    let summary = ops::discover_all(&aws, &inventory, &reach, 4, Utc::now())
        .await
        .expect("sweep");

    // Then both accounts' stores are in the one inventory, each under its own account
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
    assert_declared("discover", &summary.calls);
    assert_eq!(summary.calls.get("Organizations:ListAccounts"), Some(&1));
    // The member's stores can only be listed with the member role's credentials: the
    // AssumeRole provider (whose own STS client the call counter does not see) obtained them.
    let assets = management.stored().await;
    let member_table = assets
        .iter()
        .find(|a| a.name == "member-orders")
        .expect("member's table");
    assert_eq!(member_table.account.as_str(), member_id);
    assert_eq!(member_table.region.as_str(), OTHER_REGION);
    let audit = assets
        .iter()
        .find(|a| a.name == "management-audit")
        .expect("management's table");
    assert_eq!(audit.account, management.account);

    // While deployed for another organization, it assumes no member role: the member's
    // listings fail and are reported, the management account's are not
    let elsewhere = management
        .function_with(
            "discover",
            &[("OrgRole", MEMBER_ROLE), ("OrgId", "o-aaaaaaaaaa")],
        )
        .await;
    let summary = ops::discover_all(
        &elsewhere,
        &management.inventory(&elsewhere).await,
        &reach,
        4,
        Utc::now(),
    )
    .await
    .expect("a sweep with failures is a report");
    assert!(!summary.failures.is_empty());
    assert!(
        summary
            .failures
            .iter()
            .all(|f| f.account.as_str() == member_id),
        "{:?}",
        summary.failures
    );
}

#[tokio::test]
async fn without_configured_regions_every_enabled_region_is_covered() {
    let t = TestAccount::new().await;
    let aws = t.function("discover").await;
    let regions = aws
        .enabled_regions(&t.config)
        .await
        .expect("DescribeRegions");
    let names: Vec<&str> = regions.iter().map(|r| r.as_str()).collect();
    assert!(
        names.contains(&HOME_REGION) && names.contains(&OTHER_REGION),
        "{names:?}"
    );
    assert_eq!(
        aws.counter().snapshot().get("EC2:DescribeRegions"),
        Some(&1)
    );
    let scopes = aws.scopes(&Reach::default()).await.expect("scopes");
    assert_eq!(scopes[0].regions.len(), regions.len());
}

#[tokio::test]
async fn failing_requests_and_killed_runs_lose_nothing_and_a_rerun_converges() {
    // Given 24 tables over two regions
    let t = TestAccount::new().await;
    let mut names = Vec::new();
    for region in [HOME_REGION, OTHER_REGION] {
        for n in 0..12 {
            let name = format!("faulty-{region}-{n:02}");
            seed::table(&t, region, &name, &[]).await;
            names.push(name);
        }
    }
    let aws = t.function("discover").await;
    let inventory = t.inventory(&aws).await;

    // When about 40% of this account's DynamoDB requests fail, half as 503s and half as
    // connections dropped mid-answer, and a sweep runs through them
    for fault in [
        json!({"account": t.account.as_str(), "service": "dynamodb", "probability": 0.2,
               "status": 503, "code": "ServiceUnavailable", "message": "injected"}),
        json!({"account": t.account.as_str(), "service": "dynamodb", "probability": 0.25,
               "mode": "reset"}),
    ] {
        inject_fault(fault).await;
    }
    let faulty = ops::discover_all(&aws, &inventory, &both_regions(), 4, Utc::now()).await;
    // And runs of the CLI are killed at points in their work
    let mut pause_ms = 40;
    for _ in 0..3 {
        let mut child = std::process::Command::new(crate::harness::bulwark_bin())
            .arg("discover")
            .env_remove("BULWARK_CONFIG")
            .env_remove("BULWARK_ORG_ROLE")
            .envs(t.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .env("BULWARK_TABLE", crate::harness::TABLE)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("bulwark runs");
        tokio::time::sleep(std::time::Duration::from_millis(pause_ms)).await;
        child.kill().ok();
        child.wait().ok();
        pause_ms *= 3;
    }
    let out = std::process::Command::new("curl")
        .args([
            "-fsS",
            "-X",
            "DELETE",
            &format!(
                "{}/moto-api/bulwark/faults?account={}",
                endpoint(),
                t.account
            ),
        ])
        .output()
        .expect("curl");
    assert!(out.status.success());

    // Then the faulty sweep either completed or said what failed, with its cause
    if let Ok(summary) = &faulty {
        for failure in &summary.failures {
            assert!(
                failure.error.contains("503")
                    || failure.error.contains("ServiceUnavailable")
                    || failure.error.contains("failed"),
                "{failure:?}"
            );
        }
    }
    // And a clean rerun converges: every table recorded once, present, nothing marked gone
    let summary = sweep(&aws, &inventory).await;
    assert!(summary.failures.is_empty(), "{:?}", summary.failures);
    let stored = t.stored().await;
    let mut recorded: Vec<&str> = stored
        .iter()
        .filter(|a| a.name.starts_with("faulty-"))
        .map(|a| a.name.as_str())
        .collect();
    recorded.sort_unstable();
    names.sort();
    assert_eq!(recorded, names);
    assert!(stored.iter().all(|a| a.state == AssetState::Present));
    // And a second clean sweep writes nothing
    let again = sweep(&aws, &inventory).await;
    assert_eq!(again.marked_gone, 0);
    assert_eq!(again.written, 0, "{again:?}");
}
