//! assign-policy and coverage, end to end against the local AWS: plan changes nothing, apply
//! converges, a second apply makes no mutating call, drift is corrected, and after the plans
//! run once every backup-required asset is covered.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bulwark_aws::assign::{self, PolicyReport};
use bulwark_aws::ops;
use bulwark_aws::{Aws, Inventory, Reach};
use bulwark_core::protection::{selection_matches, Action, TIER_TAG};
use bulwark_core::{summarize, AssetState, Config, Kind, Scope};
use chrono::Utc;

use crate::harness::{assert_declared, endpoint, region, TestAccount, HOME_REGION, OTHER_REGION};
use crate::seed;

/// The estate discovered and classified by the template's roles; the assign-policy
/// function's credentials and inventory to go on with.
async fn discovered_and_classified(t: &TestAccount) -> (Aws, Inventory) {
    t.discover_and_classify(&[HOME_REGION, OTHER_REGION]).await;
    let aws = t.function("assign-policy").await;
    let inventory = t.inventory(&aws).await;
    (aws, inventory)
}

async fn assign_once(aws: &Aws, inventory: &Inventory, apply: bool) -> PolicyReport {
    let report = assign::assign(
        aws,
        inventory,
        &Config::builtin(),
        None,
        assign::Targets::Everything,
        apply,
        Utc::now(),
    )
    .await
    .expect("assign");
    assert_declared("assign-policy", &report.calls);
    report
}

/// Every asset's coverage, as the built-in configuration judges it now.
async fn coverage_now(aws: &Aws, inventory: &Inventory) -> Vec<bulwark_core::AssetCoverage> {
    let now = Utc::now();
    let targets = assign::Targets::Everything;
    let (coverage, _) = assign::coverage(aws, inventory, &Config::builtin(), None, targets, now)
        .await
        .expect("coverage");
    coverage
}

async fn estate(t: &TestAccount) {
    seed::table(
        t,
        HOME_REGION,
        "payments",
        &[("DataClassification", "Restricted")],
    )
    .await;
    seed::table(t, OTHER_REGION, "customer-profiles", &[]).await;
    seed::bucket(
        t,
        HOME_REGION,
        &format!("invoices-{}", t.account),
        &[("Environment", "prod")],
    )
    .await;
    seed::rds_instance(t, OTHER_REGION, "reporting", &[("BackupTier", "Tier2")]).await;
    seed::volume(
        t,
        HOME_REGION,
        &[("Name", "archive-disk"), ("Tier", "Tier4")],
    )
    .await;
    seed::file_system(t, OTHER_REGION, "scratch", &[("Reproducible", "true")]).await;
    seed::aurora_cluster(t, HOME_REGION, "ledger", 1, &[("BackupTier", "Tier1")]).await;
}

/// Ask the local AWS to run every backup plan of the account now (its stand-in for schedules).
fn run_plans(t: &TestAccount, region: &str) {
    let url = format!(
        "{}/moto-api/bulwark/backup/run-plans?account={}&region={region}",
        endpoint(),
        t.account
    );
    let out = std::process::Command::new("curl")
        .args(["-fsS", "-X", "POST", &url])
        .output()
        .expect("curl");
    assert!(
        out.status.success(),
        "run-plans: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn plan_then_apply_converges_and_the_plans_cover_every_required_asset() {
    let t = TestAccount::new().await;
    estate(&t).await;
    let (aws, inventory) = discovered_and_classified(&t).await;

    // plan: the whole difference, and not one mutating call
    let planned = assign_once(&aws, &inventory, false).await;
    assert!(planned.changes() > 0);
    assert_eq!(planned.mutating_calls, 0, "{:?}", planned.calls);
    // and it names what cannot be undone or restarts a database
    let cautions: Vec<&String> = planned.scopes.iter().flat_map(|s| &s.cautions).collect();
    assert!(
        cautions
            .iter()
            .any(|c| c.contains("versioning cannot be turned off")),
        "{cautions:?}"
    );

    // apply, then apply again: the second finds nothing to do and changes nothing
    let applied = assign_once(&aws, &inventory, true).await;
    assert!(applied.mutating_calls > 0);
    for op in [
        "KMS:CreateKey",
        "KMS:CreateAlias",
        "Backup:CreateBackupVault",
        "Backup:PutBackupVaultLockConfiguration",
        "Backup:PutBackupVaultAccessPolicy",
        "Backup:CreateBackupPlan",
        "Backup:CreateBackupSelection",
        "Resource Groups Tagging API:TagResources",
        "DynamoDB:UpdateContinuousBackups",
        "S3:PutBucketVersioning",
        "RDS:ModifyDBCluster",
        "RDS:ModifyDBInstance",
    ] {
        assert!(
            applied.calls.contains_key(op),
            "{op} not called: {:?}",
            applied.calls
        );
    }
    let again = assign_once(&aws, &inventory, true).await;
    assert_eq!(again.changes(), 0, "{:#?}", again.scopes);
    assert_eq!(again.mutating_calls, 0, "{:?}", again.calls);
    let replanned = assign_once(&aws, &inventory, false).await;
    assert_eq!((replanned.changes(), replanned.mutating_calls), (0, 0));

    // every backup-required asset is selected by exactly one plan, others by none
    let assets = inventory.all().await.expect("inventory");
    for scope_region in [HOME_REGION, OTHER_REGION] {
        let c = aws.home_scope(Scope {
            account: t.account.clone(),
            region: region(scope_region),
        });
        let actual = bulwark_aws::backup::read_state(&c, "alias/bulwark-backup", true)
            .await
            .expect("state");
        for asset in assets
            .iter()
            .filter(|a| a.region.as_str() == scope_region && a.state == AssetState::Present)
        {
            let matched = actual
                .state
                .selections
                .values()
                .filter(|s| selection_matches(s, &asset.arn.to_string(), &asset.tags))
                .count();
            let required = asset
                .classification
                .as_ref()
                .is_some_and(|c| c.tier.is_some());
            assert_eq!(
                matched,
                usize::from(required),
                "{} is selected by {matched} plans",
                asset.arn
            );
            assert_eq!(
                asset
                    .assignment
                    .as_ref()
                    .and_then(|a| a.plan.clone())
                    .is_some(),
                required,
                "{}",
                asset.arn
            );
        }
    }

    // When the plans run once, Then coverage is 100% of backup-required assets
    run_plans(&t, HOME_REGION);
    run_plans(&t, OTHER_REGION);
    let deadline = Instant::now() + Duration::from_secs(30);
    let report = loop {
        let coverage = coverage_now(&aws, &inventory).await;
        let report = summarize(&coverage, Utc::now());
        // Copy jobs start when their backup job ends: wait for the DR copies too.
        let copied = coverage
            .iter()
            .filter(|a| a.name == "payments")
            .all(|a| a.dr_copy);
        let settled = report.totals.protected == report.totals.backup_required && copied;
        if settled || Instant::now() > deadline {
            break (report, coverage);
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let (summary, coverage) = report;
    assert!(summary.totals.backup_required >= 6, "{:?}", summary.totals);
    assert_eq!(
        summary.totals.protected, summary.totals.backup_required,
        "{:#?}",
        summary.exceptions
    );
    assert_eq!(summary.totals.coverage_percent, 100.0);
    // The report names every exception with its reason.
    for exception in &summary.exceptions {
        assert!(!exception.reasons.is_empty(), "{exception:?}");
    }
    let critical = coverage
        .iter()
        .find(|a| a.name == "payments")
        .expect("payments");
    assert!(critical.dr_copy, "critical copies to the DR region");
}

#[tokio::test]
async fn drift_is_reported_and_corrected_and_what_bulwark_did_not_create_is_left_alone() {
    let t = TestAccount::new().await;
    seed::table(
        &t,
        HOME_REGION,
        "orders",
        &[("DataClassification", "critical")],
    )
    .await;
    let (aws, inventory) = discovered_and_classified(&t).await;
    assign_once(&aws, &inventory, true).await;
    let backup = t.backup(HOME_REGION);

    // Given someone's own plan, a managed plan edited by hand and the tier tag removed
    let mine = backup
        .create_backup_plan()
        .backup_plan(
            aws_sdk_backup::types::BackupPlanInput::builder()
                .backup_plan_name("team-owned")
                .rules(
                    aws_sdk_backup::types::BackupRuleInput::builder()
                        .rule_name("daily")
                        .target_backup_vault_name("bulwark")
                        .schedule_expression("cron(0 3 ? * * *)")
                        .build()
                        .expect("rule"),
                )
                .build()
                .expect("plan"),
        )
        .send()
        .await
        .expect("their plan");
    let plans = backup.list_backup_plans().send().await.expect("plans");
    let managed = plans
        .backup_plans_list()
        .iter()
        .find(|p| p.backup_plan_name() == Some("bulwark-critical-dynamodb"))
        .expect("the critical DynamoDB plan");
    let id = managed.backup_plan_id().expect("id");
    let current = backup
        .get_backup_plan()
        .backup_plan_id(id)
        .send()
        .await
        .expect("plan");
    let rules: Vec<_> = current
        .backup_plan()
        .expect("plan")
        .rules()
        .iter()
        .map(|r| {
            aws_sdk_backup::types::BackupRuleInput::builder()
                .rule_name(r.rule_name())
                .target_backup_vault_name(r.target_backup_vault_name())
                .schedule_expression("cron(0 5 ? * SUN *)")
                .build()
                .expect("rule")
        })
        .collect();
    backup
        .update_backup_plan()
        .backup_plan_id(id)
        .backup_plan(
            aws_sdk_backup::types::BackupPlanInput::builder()
                .backup_plan_name("bulwark-critical-dynamodb")
                .set_rules(Some(rules))
                .build()
                .expect("plan"),
        )
        .send()
        .await
        .expect("hand edit");
    let orders_arn = format!("arn:aws:dynamodb:{HOME_REGION}:{}:table/orders", t.account);
    t.dynamodb(HOME_REGION)
        .untag_resource()
        .resource_arn(&orders_arn)
        .tag_keys(TIER_TAG)
        .send()
        .await
        .expect("untag");
    let reach = Reach {
        regions: vec![region(HOME_REGION), region(OTHER_REGION)],
        org_role: None,
    };
    let discoverer = t.function("discover").await;
    ops::discover_all(
        &discoverer,
        &t.inventory(&discoverer).await,
        &reach,
        4,
        Utc::now(),
    )
    .await
    .expect("sweep");

    // When Bulwark plans, Then it reports the drift; When it applies, Then it corrects it
    let planned = assign_once(&aws, &inventory, false).await;
    let home = planned.scopes.iter().find(|s| {
        s.scope
            .as_ref()
            .is_some_and(|s| s.region.as_str() == HOME_REGION)
    });
    let home = home.expect("home scope");
    assert!(
        home.backup_actions
            .iter()
            .any(|a| matches!(a, Action::UpdatePlan(p) if p.name == "bulwark-critical-dynamodb")),
        "{:?}",
        home.backup_actions
    );
    assert!(
        home.tag_changes.iter().any(|c| c.arn == orders_arn),
        "{:?}",
        home.tag_changes
    );
    assign_once(&aws, &inventory, true).await;
    let after = assign_once(&aws, &inventory, false).await;
    assert_eq!(after.changes(), 0, "{:#?}", after.scopes);

    // And the team's own plan is untouched
    let theirs = backup
        .get_backup_plan()
        .backup_plan_id(mine.backup_plan_id().expect("id"))
        .send()
        .await
        .expect("still there");
    let rule = &theirs.backup_plan().expect("plan").rules()[0];
    assert_eq!(rule.schedule_expression(), Some("cron(0 3 ? * * *)"));
    let tags: BTreeMap<String, String> = t
        .dynamodb(HOME_REGION)
        .list_tags_of_resource()
        .resource_arn(&orders_arn)
        .send()
        .await
        .expect("tags")
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    assert_eq!(tags.get(TIER_TAG).map(String::as_str), Some("critical"));
}

#[tokio::test]
async fn a_critical_gap_is_published_to_the_alert_topic() {
    let t = TestAccount::new().await;
    seed::table(
        &t,
        HOME_REGION,
        "ledger",
        &[("DataClassification", "critical")],
    )
    .await;
    let (aws, inventory) = discovered_and_classified(&t).await;
    let coverage = coverage_now(&aws, &inventory).await;
    let findings = bulwark_core::alerts::critical_findings(&Config::builtin(), &coverage);
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(
        findings[0].contains("ledger") && findings[0].contains("not selected"),
        "{findings:?}"
    );
    let sns = aws_sdk_sns::Client::new(&t.in_region(HOME_REGION));
    let topic = sns
        .create_topic()
        .name("bulwark-alerts")
        .send()
        .await
        .expect("topic");
    let id = assign::notify(&aws, topic.topic_arn().expect("arn"), &findings)
        .await
        .expect("publish");
    assert!(id.is_some());
    assert_eq!(
        assign::notify(&aws, topic.topic_arn().expect("arn"), &[])
            .await
            .expect("nothing"),
        None
    );
}

#[tokio::test]
async fn stores_in_both_regions_of_a_pair_copy_into_each_others_vaults_and_converge() {
    // Given critical tables in us-east-1 and in us-west-2, the default DR region, whose own
    // DR region is its default pair, us-east-1
    let t = TestAccount::new().await;
    let (east, west) = ("us-east-1", "us-west-2");
    for region in [east, west] {
        seed::table(
            &t,
            region,
            &format!("ledger-{region}"),
            &[("DataClassification", "critical")],
        )
        .await;
    }
    t.discover_and_classify(&[east, west]).await;
    let aws = t.function("assign-policy").await;
    let inventory = t.inventory(&aws).await;

    // When assign-policy applies, twice
    assign_once(&aws, &inventory, true).await;
    let again = assign_once(&aws, &inventory, true).await;

    // Then the second run changes nothing: both scopes render each region's vault alike
    assert_eq!(again.mutating_calls, 0, "{:?}", again.calls);
    // And each region's critical DynamoDB plan copies to the other region's vault
    for (source, dr) in [(east, west), (west, east)] {
        let backup = t.backup(source);
        let plans = backup.list_backup_plans().send().await.expect("plans");
        let id = plans
            .backup_plans_list()
            .iter()
            .find(|p| p.backup_plan_name() == Some("bulwark-critical-dynamodb"))
            .and_then(|p| p.backup_plan_id())
            .expect("the critical DynamoDB plan")
            .to_string();
        let plan = backup
            .get_backup_plan()
            .backup_plan_id(id)
            .send()
            .await
            .expect("plan");
        // (the snapshot rule's copies and the hourly dr-copy rule's, for critical's dr_rpo)
        let mut destinations: Vec<&str> = plan
            .backup_plan()
            .expect("plan")
            .rules()
            .iter()
            .flat_map(|r| r.copy_actions())
            .map(|c| c.destination_backup_vault_arn())
            .collect();
        destinations.dedup();
        assert_eq!(
            destinations,
            vec![format!(
                "arn:aws:backup:{dr}:{}:backup-vault:bulwark",
                t.account
            )],
            "{source}"
        );
    }
}

#[tokio::test]
async fn a_failing_region_is_reported_and_the_others_are_protected() {
    // Given stores in two regions, and AWS Backup refusing this account in one of them
    let t = TestAccount::new().await;
    estate(&t).await;
    let (aws, _) = discovered_and_classified(&t).await;
    crate::harness::control(
        "/moto-api/bulwark/faults",
        &serde_json::json!({
            "account": t.account.as_str(), "service": "backup", "region": OTHER_REGION,
            "status": 403, "code": "AccessDeniedException", "message": "refused for the test",
        }),
    );

    // When assign-policy applies
    let report = t.apply(&aws).await;

    // Then the failing region is reported, with its cause, and the other region is protected
    assert!(report.partial());
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    let failure = &report.failures[0];
    assert_eq!(failure.region.as_str(), OTHER_REGION);
    assert!(failure.error.contains("AccessDenied"), "{failure:?}");
    assert!(!failure.retryable, "{failure:?}");
    let home = report
        .scopes
        .iter()
        .find(|s| {
            s.scope
                .as_ref()
                .is_some_and(|s| s.region.as_str() == HOME_REGION)
        })
        .expect("the home region completed");
    assert!(home.assignments_recorded > 0);
}

#[tokio::test]
async fn two_runs_at_once_leave_one_key_and_one_of_everything() {
    // Given an estate no run has protected yet
    let t = TestAccount::new().await;
    seed::table(
        &t,
        HOME_REGION,
        "payments",
        &[("DataClassification", "critical")],
    )
    .await;
    let (aws, inventory) = discovered_and_classified(&t).await;

    // When two assign-policy runs apply at the same moment (a Config event's and a sweep's)
    let other = t.function("assign-policy").await;
    let other_inventory = t.inventory(&other).await;
    let (first, second) = tokio::join!(
        assign_once(&aws, &inventory, true),
        assign_once(&other, &other_inventory, true)
    );

    // Then both complete, one after the other, and each region has one key
    assert!(!first.partial(), "{:?}", first.failures);
    assert!(!second.partial(), "{:?}", second.failures);
    for region in [HOME_REGION, "us-west-2"] {
        let kms = aws_sdk_kms::Client::new(&t.in_region(region));
        let keys = kms.list_keys().send().await.expect("keys");
        assert_eq!(keys.keys().len(), 1, "{region}: {:?}", keys.keys());
        // a key that rotates, and that only the admins may destroy
        let key = keys.keys()[0].key_id().expect("key id");
        let rotation = kms
            .get_key_rotation_status()
            .key_id(key)
            .send()
            .await
            .expect("rotation");
        assert!(rotation.key_rotation_enabled());
        let policy = kms
            .get_key_policy()
            .key_id(key)
            .policy_name("default")
            .send()
            .await
            .expect("key policy");
        assert!(
            policy
                .policy()
                .is_some_and(|p| p.contains("OnlyAdminsDestroyTheKey")),
            "{policy:?}"
        );
    }
    // And one of each selection: the second run found the first's work
    let selections = t
        .backup(HOME_REGION)
        .list_backup_plans()
        .send()
        .await
        .expect("plans");
    let names: Vec<&str> = selections
        .backup_plans_list()
        .iter()
        .filter_map(|p| p.backup_plan_name())
        .collect();
    let mut unique = names.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(names.len(), unique.len(), "{names:?}");
    // And the lease is given back: a third run takes it at once
    let started = Instant::now();
    assign_once(&aws, &inventory, true).await;
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn a_change_to_one_store_tags_and_protects_that_store_alone() {
    // Given two backup-required buckets in one scope, neither tagged nor versioned yet
    let t = TestAccount::new().await;
    let (changed, other) = (
        format!("changed-{}", t.account),
        format!("other-{}", t.account),
    );
    for bucket in [&changed, &other] {
        seed::bucket(&t, HOME_REGION, bucket, &[("Environment", "prod")]).await;
    }
    t.discover_and_classify(&[HOME_REGION]).await;
    let aws = t.function("assign-policy").await;
    let inventory = t.inventory(&aws).await;
    let arn = bulwark_core::ResourceArn::parse(&format!("arn:aws:s3:::{changed}")).expect("arn");

    // When assign-policy runs for the one store a Config event named
    let report = assign::assign(
        &aws,
        &inventory,
        &Config::builtin(),
        None,
        assign::Targets::Store(&arn),
        true,
        Utc::now(),
    )
    .await
    .expect("assign");

    // Then its scope's plans exist, and only that store is tagged, versioned and recorded
    assert!(!report.partial(), "{:?}", report.failures);
    let scope = &report.scopes[0];
    assert!(scope
        .backup_actions
        .iter()
        .any(|a| matches!(a, Action::CreatePlan(_))));
    assert_eq!(scope.tag_changes.len(), 1, "{:?}", scope.tag_changes);
    assert_eq!(scope.tag_changes[0].arn, arn.to_string());
    assert_eq!(scope.assignments_recorded, 1);
    let s3 = t.s3(HOME_REGION);
    let versioned = |bucket: String| {
        let s3 = s3.clone();
        async move {
            s3.get_bucket_versioning()
                .bucket(bucket)
                .send()
                .await
                .expect("versioning")
                .status()
                .map(|s| s.as_str().to_string())
        }
    };
    assert_eq!(versioned(changed.clone()).await.as_deref(), Some("Enabled"));
    assert_eq!(versioned(other.clone()).await, None);
    let other_arn = format!("arn:aws:s3:::{other}");
    let stored = t.stored().await;
    let record = |a: &str| stored.iter().find(|s| s.arn.to_string() == a).cloned();
    assert!(record(&arn.to_string())
        .and_then(|a| a.assignment)
        .is_some());
    assert!(record(&other_arn).and_then(|a| a.assignment).is_none());

    // And a store that is not in the inventory is refused, with nothing done
    let unknown =
        bulwark_core::ResourceArn::parse("arn:aws:s3:::no-such-bucket-here").expect("arn");
    let refused = assign::assign(
        &aws,
        &inventory,
        &Config::builtin(),
        None,
        assign::Targets::Store(&unknown),
        true,
        Utc::now(),
    )
    .await;
    assert!(
        matches!(refused, Err(bulwark_aws::AwsError::NotInInventory(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn one_invocation_reads_each_thing_once_and_judges_what_it_just_applied() {
    // Given the estate in two regions (each with its own DR region), discovered and classified
    let t = TestAccount::new().await;
    estate(&t).await;
    let (aws, inventory) = discovered_and_classified(&t).await;

    // When assign-policy's invocation applies and then judges coverage
    let (report, judged, _) = assign::apply_and_judge(
        &aws,
        &inventory,
        &Config::builtin(),
        None,
        assign::Targets::Everything,
        Utc::now(),
    )
    .await
    .expect("apply and judge");
    assert!(!report.partial(), "{:?}", report.failures);
    assert_declared("assign-policy", &report.calls);

    // Then the inventory is scanned once, each region's vaults (store regions and their DR
    // regions) and each store region's plans are listed once, and each backed-up table's and
    // bucket's native state is read once
    let calls = |op: &str| report.calls.get(op).copied().unwrap_or(0);
    let settings = Config::builtin().protection().clone();
    let mut regions_read: Vec<String> = vec![HOME_REGION.to_string(), OTHER_REGION.to_string()];
    for store_region in [HOME_REGION, OTHER_REGION] {
        regions_read.push(settings.dr_region_for(store_region).expect("a DR region"));
    }
    regions_read.sort();
    regions_read.dedup();
    let stored = t.stored().await;
    let backed_up = |kind: Kind| {
        stored
            .iter()
            .filter(|a| a.kind == kind && a.state == AssetState::Present)
            .filter(|a| a.classification.as_ref().is_some_and(|c| c.backup_required))
            .count() as u64
    };
    assert_eq!(calls("DynamoDB:Scan"), 1, "{:?}", report.calls);
    assert_eq!(calls("Backup:ListBackupVaults"), regions_read.len() as u64);
    assert_eq!(calls("Backup:ListBackupPlans"), 2, "the two store regions");
    assert_eq!(
        calls("RDS:DescribeDBInstances"),
        2,
        "both regions hold a database"
    );
    let tables = calls("DynamoDB:DescribeContinuousBackups");
    assert_eq!(tables, backed_up(Kind::Dynamodb));
    assert_eq!(calls("S3:GetBucketVersioning"), backed_up(Kind::S3));
    // And the coverage it judged is of the state it left: every backup-required store is
    // selected by a plan (no backup has run yet, so none is protected)
    let required: Vec<_> = judged.iter().filter(|c| c.backup_required).collect();
    assert!(!required.is_empty());
    for coverage in required {
        assert!(coverage.selected, "{}: selected by no plan", coverage.arn);
        if coverage.kind == Kind::S3 {
            assert_eq!(coverage.pitr_or_versioning, Some(true), "{}", coverage.arn);
        }
    }
}

#[tokio::test]
async fn a_members_stores_without_the_organization_role_fail_their_scopes_and_nothing_is_planned_here(
) {
    // Given an organization whose member's critical table the home functions inventoried
    // through the organization role
    let (management, org_id, member, _) =
        TestAccount::organization_with_critical_table("stranded-orders").await;
    let member_id = member.account.to_string();
    management
        .discover_and_classify_organization(&org_id, &Config::builtin())
        .await;

    // When assign-policy applies without the organization role (BULWARK_ORG_ROLE unset)
    let assigner = management
        .function_with(
            "assign-policy",
            &[
                ("OrgRole", crate::harness::MEMBER_ROLE),
                ("OrgId", org_id.as_str()),
            ],
        )
        .await;
    let report = assign::assign(
        &assigner,
        &management.inventory(&assigner).await,
        &Config::builtin(),
        None,
        assign::Targets::Everything,
        true,
        Utc::now(),
    )
    .await
    .expect("a report");

    // Then the member's scopes fail, saying why, and none is planned with this account's clients
    let failed: Vec<_> = report
        .failures
        .iter()
        .filter(|f| f.account.as_str() == member_id)
        .collect();
    assert!(!failed.is_empty(), "{report:?}");
    assert!(
        failed
            .iter()
            .all(|f| f.error.contains("no organization role is set")),
        "{failed:?}"
    );
    assert!(
        report.scopes.iter().all(|plan| plan
            .scope
            .as_ref()
            .is_none_or(|s| s.account.as_str() != member_id)),
        "{report:?}"
    );
}
