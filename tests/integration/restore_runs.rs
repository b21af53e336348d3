//! Restore-test runs as scheduled: each test in a child execution of the Distributed Map, a
//! restore that outlives its test's deadline, and a run that yields to an earlier one still
//! running.

use std::time::{Duration, Instant};

use aws_sdk_sfn::types::ExecutionStatus;
use bulwark_aws::restore::{self, history};
use chrono::Utc;
use serde_json::json;

use crate::deployed::deploy_template;
use crate::harness::{control, TestAccount, HOME_REGION};
use crate::restore::{backed_up_estate, leftovers_in};

/// The template deployed with the built-in configuration, its critical tier's restore deadline
/// set to `deadline`; the restore-test state machine's ARN.
fn deploy_with_deadline(t: &TestAccount, deadline: &str) -> String {
    deploy_with(t, &format!("restore_deadline = \"{deadline}\""), "")
}

/// The template deployed with the built-in configuration, its critical tier's
/// `restore_deadline = "1h"` line replaced by `critical` and `tables` appended.
fn deploy_with(t: &TestAccount, critical: &str, tables: &str) -> String {
    let builtin = bulwark_core::config::BUILTIN_TOML;
    assert!(builtin.contains("restore_deadline = \"1h\""));
    let text = builtin.replace("restore_deadline = \"1h\"", critical) + tables;
    let path = std::env::temp_dir().join(format!("bulwark-runs-{}.toml", t.account));
    std::fs::write(&path, text).expect("the configuration file");
    let answer = deploy_template(
        t,
        json!({"Regions": HOME_REGION, "RestorePollSeconds": "1",
               "ConfigFile": path.to_str().expect("a path")}),
    );
    answer["state_machines"]["RestoreTests"]
        .as_str()
        .expect("the restore-test state machine")
        .to_string()
}

/// The system deployed with the critical tier's restore deadline at `deadline`, and a
/// backed-up critical table whose restore takes `restore_seconds`: the state machine's ARN
/// and the table's.
async fn a_table_whose_restore_takes(
    t: &TestAccount,
    deadline: &str,
    restore_seconds: u64,
) -> (String, String) {
    let state_machine = deploy_with_deadline(t, deadline);
    let (table, _) = backed_up_estate(t, 5, 1).await;
    control(
        "/moto-api/bulwark/backup/restore-durations",
        &json!({"account": t.account.as_str(), "seconds": {"DynamoDB": restore_seconds}}),
    );
    (state_machine, table.arn.to_string())
}

/// The store's one recorded test.
async fn its_only_test(t: &TestAccount, arn: &str) -> restore::RestoreTest {
    let inventory = t.inventory(&t.aws()).await;
    let mut tests = history::tests(&inventory, Some(arn))
        .await
        .expect("history");
    assert_eq!(tests.len(), 1, "{tests:?}");
    tests.remove(0)
}

async fn start(t: &TestAccount, state_machine: &str, input: serde_json::Value) -> String {
    crate::restore_deployed::start(&aws_sdk_sfn::Client::new(&t.config), state_machine, input).await
}

async fn ended(
    t: &TestAccount,
    execution: &str,
    within: Duration,
) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    let sfn = aws_sdk_sfn::Client::new(&t.config);
    let started = Instant::now();
    loop {
        let described = sfn
            .describe_execution()
            .execution_arn(execution)
            .send()
            .await
            .expect("describe execution");
        if described.status() != &ExecutionStatus::Running {
            return described;
        }
        assert!(started.elapsed() < within, "{execution} is still running");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test]
async fn a_restore_that_outlives_its_tests_deadline_is_left_running_and_swept_once_it_ends() {
    // Given the system deployed with a one-minute restore deadline, and a backed-up table whose
    // restore takes a minute and a half
    let t = TestAccount::new().await;
    let (state_machine, arn) = a_table_whose_restore_takes(&t, "1m", 90).await;

    // When a test of it runs
    let execution = start(&t, &state_machine, json!({"arn": arn})).await;
    let run = ended(&t, &execution, Duration::from_secs(150)).await;

    // Then the run succeeded, and the test is recorded as failed: its restore did not complete
    // by its deadline and was left running
    assert_eq!(run.status(), &ExecutionStatus::Succeeded, "{run:?}");
    let test = its_only_test(&t, &arn).await;
    let error = test.error.clone().unwrap_or_default();
    assert!(
        !test.passed && error.contains("did not complete by its deadline"),
        "{error}"
    );

    // And once the restore has made its copy, the sweeper, following the restore it still
    // remembers, deletes the copy when its window has passed
    let inventory = t.inventory(&t.aws()).await;
    let window = chrono::Duration::hours(3);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let report = restore::pending::sweep(&t.aws(), &inventory, Utc::now() + window)
            .await
            .expect("sweep");
        assert!(report.failed.is_empty(), "{report:?}");
        if !report.deleted.is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "the late copy was never swept");
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    assert_eq!(leftovers_in(&t, HOME_REGION).await, 0);
}

#[tokio::test]
async fn a_run_started_while_an_earlier_one_runs_yields_to_it_and_tests_nothing() {
    // Given the system deployed, and a backed-up table whose restore takes twenty seconds
    let t = TestAccount::new().await;
    let (state_machine, arn) = a_table_whose_restore_takes(&t, "1h", 20).await;

    // When a run starts, and a second starts while the first is still testing
    let first = start(&t, &state_machine, json!({"arn": arn})).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let second = start(&t, &state_machine, json!({"arn": arn})).await;

    // Then the second ends at once, having tested nothing, naming the run it yielded to
    let yielded = ended(&t, &second, Duration::from_secs(60)).await;
    assert_eq!(yielded.status(), &ExecutionStatus::Succeeded);
    let output: serde_json::Value =
        serde_json::from_str(yielded.output().expect("output")).expect("JSON");
    assert_eq!(output["selected"]["yielded_to"], json!(first), "{output}");
    assert_eq!(output["selected"]["tests"], json!([]));

    // And the first tests the table, once
    let run = ended(&t, &first, Duration::from_secs(120)).await;
    assert_eq!(run.status(), &ExecutionStatus::Succeeded, "{run:?}");
    let test = its_only_test(&t, &arn).await;
    assert!(test.passed, "{test:?}");
}

#[tokio::test]
async fn a_scheduled_run_keeps_to_its_tiers_monthly_budget() {
    // Given a critical tier with a budget of a dollar a month, at a price that makes a test
    // of a database cost a thousand, a critical database, and a critical table and bucket
    let t = TestAccount::new().await;
    let state_machine = deploy_with(
        &t,
        "restore_deadline = \"1h\"\nmonthly_budget = 1.0",
        "\n[restore_test_prices]\ninstance_hour = { \"db.t4g.micro\" = 1000.0 }\n",
    );
    crate::seed::rds_instance(
        &t,
        HOME_REGION,
        "ledger-db",
        &[("DataClassification", "Critical")],
    )
    .await;
    let (table, bucket) = backed_up_estate(&t, 5, 2).await;
    let database = format!("arn:aws:rds:{HOME_REGION}:{}:db:ledger-db", t.account);

    // When the scheduled run selects the due stores
    let execution = start(&t, &state_machine, json!({})).await;
    let run = ended(&t, &execution, Duration::from_secs(120)).await;
    assert_eq!(run.status(), &ExecutionStatus::Succeeded, "{run:?}");

    // Then the database, over the budget, is left for a later month, and the table and the
    // bucket are tested, each test's estimated cost recorded
    let inventory = t.inventory(&t.aws()).await;
    let tested = |arn: String| {
        let inventory = &inventory;
        async move {
            history::tests(inventory, Some(&arn))
                .await
                .expect("history")
        }
    };
    assert!(tested(database).await.is_empty());
    for (store, kind) in [
        (&table, bulwark_core::Kind::Dynamodb),
        (&bucket, bulwark_core::Kind::S3),
    ] {
        let tests = tested(store.arn.to_string()).await;
        let home = tests
            .iter()
            .find(|t| t.origin == restore::Origin::Home)
            .unwrap_or_else(|| panic!("{} was not tested: {tests:?}", store.arn));
        assert!(home.passed, "{home:?}");
        let cost = home.cost.as_ref().expect("its cost");
        assert_eq!(cost.kind, kind);
        assert!(
            cost.hours > 0.0 && cost.size_gb > 0.0 && cost.usd.is_some(),
            "{cost:?}"
        );
    }
}
