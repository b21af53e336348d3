//! The system as deployed: infra/aws/template.yaml deployed to the local AWS, events put on
//! the bus, EventBridge rules starting the state machine, and the state machine running the
//! real function binaries (through the Lambda Runtime API) under their template roles. Each
//! test goes from an event to state in AWS.

use std::time::{Duration, Instant};

use aws_sdk_sfn::types::ExecutionStatus;
use bulwark_core::protection::{selection_matches, TIER_TAG};
use bulwark_core::AssetState;
use serde_json::{json, Value};

use crate::harness::{bulwark_bin, control, TestAccount, HOME_REGION, OTHER_REGION};
use crate::seed;

/// How long an execution may take here before the test gives up on it.
const EXECUTION_DEADLINE: Duration = Duration::from_secs(90);

/// The template deployed in the test's account, the functions running the built binaries.
struct Deployed {
    state_machine: String,
    sweep_rule: String,
}

/// Deploy the template in the test's account with `parameters`, in the home region; the local
/// AWS's answer (the resources, functions, state machines, rules and outputs it made).
pub(crate) fn deploy_template(t: &TestAccount, parameters: Value) -> Value {
    deploy_template_in(t, HOME_REGION, parameters)
}

/// The same, a stack in `region`: a recovery stack (`"Deployment": "recovery"`) in a DR region.
pub(crate) fn deploy_template_in(t: &TestAccount, region: &str, parameters: Value) -> Value {
    let binaries = bulwark_bin()
        .parent()
        .expect("the binaries' directory")
        .to_path_buf();
    control(
        "/moto-api/bulwark/template/deploy",
        &json!({
            "account": t.account.as_str(),
            "region": region,
            "parameters": parameters,
            "binaries": binaries,
        }),
    )
}

fn deploy(t: &TestAccount) -> Deployed {
    deployed_from(&deploy_template(t, json!({"Regions": HOME_REGION})))
}

/// The state machine and the sweep's rule of a deployment's answer.
fn deployed_from(answer: &Value) -> Deployed {
    Deployed {
        state_machine: answer["state_machines"]["DiscoverAndClassify"]
            .as_str()
            .expect("the state machine")
            .to_string(),
        sweep_rule: answer["rules"]["DiscoverAndClassifyFullSweep"]["name"]
            .as_str()
            .expect("the sweep rule")
            .to_string(),
    }
}

/// An AWS Config "Configuration Item Change" event for a store, from the sample events.
fn config_change(t: &TestAccount, sample: &str, edit: impl FnOnce(&mut Value)) -> Value {
    let path = format!("{}/../events/{sample}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let text = text
        .replace("123456789012", t.account.as_str())
        .replace("eu-west-1", HOME_REGION);
    let mut event: Value = serde_json::from_str(&text).expect("a sample event");
    edit(&mut event);
    event
}

async fn put_event(t: &TestAccount, event: &Value) {
    let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
        .source(event["source"].as_str().expect("source"))
        .detail_type(event["detail-type"].as_str().expect("detail-type"))
        .detail(event["detail"].to_string())
        .set_resources(event["resources"].as_array().map(|r| {
            r.iter()
                .filter_map(|a| a.as_str().map(String::from))
                .collect()
        }))
        .build();
    let out = aws_sdk_eventbridge::Client::new(&t.config)
        .put_events()
        .entries(entry)
        .send()
        .await
        .expect("put events");
    assert_eq!(out.failed_entry_count(), 0, "{out:?}");
}

fn sfn(t: &TestAccount) -> aws_sdk_sfn::Client {
    aws_sdk_sfn::Client::new(&t.config)
}

/// The executions of the state machine, newest first.
async fn executions(
    t: &TestAccount,
    deployed: &Deployed,
) -> Vec<aws_sdk_sfn::types::ExecutionListItem> {
    sfn(t)
        .list_executions()
        .state_machine_arn(&deployed.state_machine)
        .send()
        .await
        .expect("list executions")
        .executions()
        .to_vec()
}

/// Wait for `count` executions to have ended; their descriptions.
async fn ended(
    t: &TestAccount,
    deployed: &Deployed,
    count: usize,
) -> Vec<aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput> {
    let started = Instant::now();
    loop {
        let list = executions(t, deployed).await;
        let done: Vec<_> = list
            .iter()
            .filter(|e| e.status() != &ExecutionStatus::Running)
            .collect();
        if done.len() >= count {
            let mut out = Vec::new();
            for e in done {
                out.push(
                    sfn(t)
                        .describe_execution()
                        .execution_arn(e.execution_arn())
                        .send()
                        .await
                        .expect("describe execution"),
                );
            }
            return out;
        }
        assert!(
            started.elapsed() < EXECUTION_DEADLINE,
            "{} of {count} executions ended: {list:?}",
            done.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn succeeded(execution: &aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput) {
    assert_eq!(
        execution.status(),
        &ExecutionStatus::Succeeded,
        "{:?}: {:?}",
        execution.error(),
        execution.cause()
    );
}

/// Whether a backup selection of the account's home region picks the store.
async fn selected_by(t: &TestAccount, arn: &str) -> Vec<String> {
    let clients = t.aws().home_scope(bulwark_core::Scope {
        account: t.account.clone(),
        region: crate::harness::region(HOME_REGION),
    });
    let actual = bulwark_aws::backup::read_state(&clients, "alias/bulwark-backup", true)
        .await
        .expect("Backup state");
    let tags = t
        .stored()
        .await
        .into_iter()
        .find(|a| a.arn.to_string() == arn)
        .map(|a| a.tags)
        .unwrap_or_default();
    actual
        .state
        .selections
        .values()
        .filter(|s| selection_matches(s, arn, &tags))
        .map(|s| s.plan_name.clone())
        .collect()
}

/// The system deployed, and a new table `orders` tagged as critical data.
async fn with_critical_table(t: &TestAccount) -> Deployed {
    let deployed = deploy(t);
    let tags = [("DataClassification", "Critical")];
    seed::table(t, HOME_REGION, "orders", &tags).await;
    deployed
}

/// The system deployed, and the critical table `orders` protected by the run its Config event
/// started: the deployment's answer (its outputs among it).
pub(crate) async fn deployed_with_protected_table(t: &TestAccount) -> Value {
    deployed_with_protected_table_and(t, json!({"Regions": HOME_REGION})).await
}

/// The same, the home stack deployed with `parameters`.
pub(crate) async fn deployed_with_protected_table_and(t: &TestAccount, parameters: Value) -> Value {
    let answer = deploy_template(t, parameters);
    let deployed = deployed_from(&answer);
    seed::table(
        t,
        HOME_REGION,
        "orders",
        &[("DataClassification", "Critical")],
    )
    .await;
    let event = config_change(t, "config-change-dynamodb-create.json", |e| {
        e["detail"]["configurationItem"]["tags"] = json!({"DataClassification": "Critical"});
    });
    put_event(t, &event).await;
    succeeded(&ended(t, &deployed, 1).await[0]);
    answer
}

#[tokio::test]
async fn a_new_critical_table_is_protected_from_its_config_event() {
    // Given the system deployed, and a new table tagged as critical data
    let t = TestAccount::new().await;
    let deployed = with_critical_table(&t).await;
    let arn = format!("arn:aws:dynamodb:{HOME_REGION}:{}:table/orders", t.account);

    // When AWS Config's change event reaches the bus
    let event = config_change(&t, "config-change-dynamodb-create.json", |e| {
        e["detail"]["configurationItem"]["tags"] = json!({"DataClassification": "Critical"});
    });
    let sent = Instant::now();
    put_event(&t, &event).await;
    let runs = ended(&t, &deployed, 1).await;
    let latency = sent.elapsed();

    // Then discover, classify and assign-policy ran, and the table is protected
    succeeded(&runs[0]);
    eprintln!("event to protected: {} ms", latency.as_millis());
    let tags = t
        .dynamodb(HOME_REGION)
        .list_tags_of_resource()
        .resource_arn(&arn)
        .send()
        .await
        .expect("tags");
    let tier = tags
        .tags()
        .iter()
        .find(|tag| tag.key() == TIER_TAG)
        .map(|tag| tag.value().to_string());
    assert_eq!(tier.as_deref(), Some("critical"));
    assert_eq!(selected_by(&t, &arn).await, ["bulwark-critical-dynamodb"]);
    let pitr = t
        .dynamodb(HOME_REGION)
        .describe_continuous_backups()
        .table_name("orders")
        .send()
        .await
        .expect("continuous backups");
    let status = pitr
        .continuous_backups_description()
        .and_then(|d| d.point_in_time_recovery_description())
        .and_then(|p| p.point_in_time_recovery_status())
        .map(|s| s.as_str().to_string());
    assert_eq!(status.as_deref(), Some("ENABLED"));
    let stored = t.stored().await;
    let asset = stored
        .iter()
        .find(|a| a.arn.to_string() == arn)
        .expect("in the inventory");
    assert!(asset.assignment.is_some(), "{asset:?}");
}

#[tokio::test]
async fn a_scheduled_sweep_inventories_classifies_and_protects_every_store() {
    // Given the system deployed over a small estate
    let t = TestAccount::new().await;
    let deployed = deploy(&t);
    let bucket = format!("invoices-{}", t.account);
    seed::bucket(&t, HOME_REGION, &bucket, &[("Environment", "prod")]).await;
    seed::table(
        &t,
        HOME_REGION,
        "payments",
        &[("DataClassification", "Restricted")],
    )
    .await;
    seed::rds_instance(&t, HOME_REGION, "reporting", &[("BackupTier", "Tier2")]).await;

    // When the sweep's schedule fires
    control(
        "/moto-api/bulwark/events/fire",
        &json!({"account": t.account.as_str(), "region": HOME_REGION, "rule": deployed.sweep_rule}),
    );
    let runs = ended(&t, &deployed, 1).await;

    // Then every store is inventoried, classified and, where its tier says so, protected
    succeeded(&runs[0]);
    let stored = t.stored().await;
    for name in [bucket.as_str(), "payments", "reporting"] {
        let asset = stored
            .iter()
            .find(|a| a.name == name)
            .unwrap_or_else(|| panic!("{name} not inventoried: {stored:?}"));
        let classification = asset.classification.as_ref().expect("classified");
        assert!(classification.backup_required, "{name}: {classification:?}");
        let arn = asset.arn.to_string();
        assert_eq!(selected_by(&t, &arn).await.len(), 1, "{name}");
        assert!(asset.assignment.is_some(), "{name}");
    }
}

#[tokio::test]
async fn a_scheduled_sweep_fans_out_a_shard_per_region_and_a_failing_listing_stays_in_its_shard() {
    // Given the system deployed over two regions, a store in each, and the other region's
    // volumes refused to the sweep
    let t = TestAccount::new().await;
    let deployed = deployed_from(&deploy_template(
        &t,
        json!({"Regions": format!("{HOME_REGION},{OTHER_REGION}")}),
    ));
    seed::table(
        &t,
        HOME_REGION,
        "payments",
        &[("DataClassification", "Restricted")],
    )
    .await;
    seed::table(
        &t,
        OTHER_REGION,
        "sessions",
        &[("DataClassification", "Restricted")],
    )
    .await;
    control(
        "/moto-api/bulwark/faults",
        &json!({
            "account": t.account.as_str(), "service": "ec2", "region": OTHER_REGION,
            "operation": "DescribeVolumes", "status": 403, "code": "UnauthorizedOperation",
            "message": "not authorized",
        }),
    );

    // When the sweep's schedule fires
    control(
        "/moto-api/bulwark/events/fire",
        &json!({"account": t.account.as_str(), "region": HOME_REGION, "rule": deployed.sweep_rule}),
    );
    let runs = ended(&t, &deployed, 1).await;

    // Then it succeeded with a shard per region, each swept, classified and protected on its own;
    // the other region's shard reports its failed listing, and its table is protected all the same
    succeeded(&runs[0]);
    let output: serde_json::Value =
        serde_json::from_str(runs[0].output().unwrap_or("{}")).expect("the output");
    let shards = output["shards"].as_array().expect("the shards");
    assert_eq!(shards.len(), 2, "{output:#}");
    // (a shard without a failure reports its counts alone, so that thousands of shards' results
    // fit in one state's payload)
    let partly: Vec<&serde_json::Value> = shards
        .iter()
        .filter(|s| s.get("failures").is_some())
        .collect();
    assert_eq!(partly.len(), 1, "{output:#}");
    assert_eq!(partly[0]["scopes"][0]["region"], OTHER_REGION, "{output:#}");
    let clean = shards
        .iter()
        .find(|s| s.get("failures").is_none())
        .expect("the clean shard");
    assert_eq!(clean["failed"], false, "{output:#}");
    assert!(clean["seen"].as_u64().is_some_and(|n| n > 0), "{output:#}");
    let failures = partly[0]["failures"].as_array().expect("failures");
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert_eq!(failures[0]["kind"], "ebs");
    for name in ["payments", "sessions"] {
        let stored = t.stored().await;
        let asset = stored
            .iter()
            .find(|a| a.name == name)
            .unwrap_or_else(|| panic!("{name} not inventoried"));
        assert!(asset.assignment.is_some(), "{name} not protected");
    }
}

#[tokio::test]
async fn a_deleted_buckets_config_event_marks_it_gone_and_deletes_nothing() {
    // Given a bucket the system has protected
    let t = TestAccount::new().await;
    let deployed = deploy(&t);
    let bucket = format!("ledger-{}", t.account);
    seed::bucket(&t, HOME_REGION, &bucket, &[("Environment", "prod")]).await;
    control(
        "/moto-api/bulwark/events/fire",
        &json!({"account": t.account.as_str(), "region": HOME_REGION, "rule": deployed.sweep_rule}),
    );
    succeeded(&ended(&t, &deployed, 1).await[0]);
    let plans_before = t
        .backup(HOME_REGION)
        .list_backup_plans()
        .send()
        .await
        .expect("plans");

    // When the bucket is deleted and AWS Config reports it
    t.s3(HOME_REGION)
        .delete_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("delete bucket");
    let event = config_change(&t, "config-change-s3-oversized.json", |e| {
        let summary = &mut e["detail"]["configurationItemSummary"];
        summary["resourceId"] = json!(bucket);
        summary["resourceName"] = json!(bucket);
        summary["ARN"] = json!(format!("arn:aws:s3:::{bucket}"));
        summary["configurationItemStatus"] = json!("ResourceDeleted");
        e["resources"] = json!([format!("arn:aws:s3:::{bucket}")]);
    });
    put_event(&t, &event).await;
    let runs = ended(&t, &deployed, 2).await;

    // Then it is marked gone, and no plan, selection or vault was removed
    assert!(
        runs.iter()
            .all(|r| r.status() == &ExecutionStatus::Succeeded),
        "{runs:?}"
    );
    let stored = t.stored().await;
    let asset = stored
        .iter()
        .find(|a| a.name == bucket)
        .expect("still recorded");
    assert_eq!(asset.state, AssetState::Gone);
    let plans_after = t
        .backup(HOME_REGION)
        .list_backup_plans()
        .send()
        .await
        .expect("plans");
    assert_eq!(
        plans_before.backup_plans_list().len(),
        plans_after.backup_plans_list().len()
    );
}

#[tokio::test]
async fn malformed_and_unsupported_events_change_nothing() {
    // Given the system deployed, and nothing inventoried yet
    let t = TestAccount::new().await;
    let deployed = deploy(&t);

    // When a change to a resource type Bulwark does not cover reaches the bus
    let unsupported = config_change(&t, "config-change-unsupported.json", |_| {});
    put_event(&t, &unsupported).await;
    // And a change event whose configuration item is missing its identity
    let malformed = config_change(&t, "config-change-dynamodb-create.json", |e| {
        let item = e["detail"]["configurationItem"]
            .as_object_mut()
            .expect("item");
        item.remove("awsAccountId");
        item.remove("awsRegion");
    });
    put_event(&t, &malformed).await;

    // Then only the malformed one started an execution, which failed as invalid input
    let runs = ended(&t, &deployed, 1).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        executions(&t, &deployed).await.len(),
        1,
        "the unsupported type started none"
    );
    assert_eq!(runs[0].status(), &ExecutionStatus::Failed);
    assert_eq!(
        runs[0].error(),
        Some("Bulwark.InvalidInput"),
        "{:?}",
        runs[0].cause()
    );
    // And nothing was written
    assert!(t.stored().await.is_empty());
}

#[tokio::test]
async fn a_retryable_failure_is_retried_by_the_state_machine() {
    // Given the system deployed, a new table, and DynamoDB throttling this account's
    // DescribeTable as long as the SDK's five attempts last
    let t = TestAccount::new().await;
    let deployed = with_critical_table(&t).await;
    control(
        "/moto-api/bulwark/faults",
        &json!({
            "account": t.account.as_str(), "service": "dynamodb", "operation": "DescribeTable",
            "status": 400, "code": "ThrottlingException", "message": "Rate exceeded", "count": 5,
        }),
    );

    // When the table's Config event arrives
    let event = config_change(&t, "config-change-dynamodb-create.json", |_| {});
    put_event(&t, &event).await;
    let runs = ended(&t, &deployed, 1).await;

    // Then discover failed once as retryable, was retried, and the execution succeeded
    succeeded(&runs[0]);
    let history = sfn(&t)
        .get_execution_history()
        .execution_arn(runs[0].execution_arn())
        .send()
        .await
        .expect("history");
    let failures = history
        .events()
        .iter()
        .filter(|e| matches!(e.r#type().as_str(), "TaskFailed" | "LambdaFunctionFailed"))
        .count();
    assert!(failures >= 1, "{:#?}", history.events());
    assert!(t.stored().await.iter().any(|a| a.name == "orders"));
}

#[tokio::test]
async fn the_home_stack_has_aws_backup_report_each_days_jobs_beside_the_evidence() {
    // Given the home stack deployed
    let t = TestAccount::new().await;
    let answer = deploy_template(&t, json!({"Regions": HOME_REGION}));
    let evidence = answer["resources"]["EvidenceBucket"]
        .as_str()
        .expect("the evidence bucket")
        .to_string();

    // When AWS Backup's report plans are listed
    let plans = t
        .backup(HOME_REGION)
        .list_report_plans()
        .send()
        .await
        .expect("report plans");

    // Then backup, copy and restore jobs are reported, as CSV and JSON, under backup-reports/
    let mut templates: Vec<String> = plans
        .report_plans()
        .iter()
        .map(|plan| {
            let channel = plan.report_delivery_channel().expect("a delivery channel");
            assert_eq!(channel.s3_bucket_name(), evidence, "{plan:?}");
            assert_eq!(channel.s3_key_prefix(), Some("backup-reports"), "{plan:?}");
            assert_eq!(channel.formats(), ["CSV", "JSON"], "{plan:?}");
            plan.report_setting()
                .expect("a setting")
                .report_template()
                .to_string()
        })
        .collect();
    templates.sort();
    assert_eq!(
        templates,
        [
            "BACKUP_JOB_REPORT",
            "COPY_JOB_REPORT",
            "RESOURCE_COMPLIANCE_REPORT",
            "RESTORE_JOB_REPORT"
        ]
    );

    // And the resource compliance report covers Bulwark's framework of the controls it judges
    let compliance = plans
        .report_plans()
        .iter()
        .find_map(|plan| {
            plan.report_setting()
                .filter(|s| s.report_template() == "RESOURCE_COMPLIANCE_REPORT")
        })
        .expect("the compliance report");
    let framework = t
        .backup(HOME_REGION)
        .describe_framework()
        .framework_name("bulwark_controls")
        .send()
        .await
        .expect("the framework");
    assert_eq!(
        compliance.framework_arns(),
        [framework.framework_arn().unwrap_or_default()]
    );
    let controls: Vec<&str> = framework
        .framework_controls()
        .iter()
        .map(|c| c.control_name())
        .collect();
    assert!(controls.contains(&"BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN"));
    for control in &controls {
        assert!(
            bulwark_core::Control::ALL
                .iter()
                .any(|judged| judged.to_string() == *control),
            "{control} is not a control Bulwark judges"
        );
    }
}
