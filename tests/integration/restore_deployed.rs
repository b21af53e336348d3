//! Restore tests as deployed: the restore-test state machine of infra/aws/template.yaml on the
//! local AWS, running the real validate-restore binary under its template role; and a run that
//! dies half-way, after its restore, cleaned up by the sweeper.

use std::time::{Duration, Instant};

use aws_sdk_sfn::types::ExecutionStatus;
use bulwark_aws::restore::{self, history, sweep, Origin};
use bulwark_core::restore::HOOK_TAG;
use bulwark_core::Config;
use chrono::Utc;
use serde_json::json;

use crate::deployed::deploy_template;
use crate::harness::{control, TestAccount, HOME_REGION};
use crate::restore::{
    backed_up_estate, leftovers_in, protect, run_plans, wait_for_point_of, wait_for_points_in,
};

const EXECUTION_DEADLINE: Duration = Duration::from_secs(120);

/// The template deployed in the test's account; the restore-test state machine's ARN and the
/// evidence bucket's name.
fn deploy(t: &TestAccount) -> (String, String) {
    deploy_for(t, HOME_REGION)
}

/// The same, the functions covering `regions` (empty: every enabled region).
fn deploy_for(t: &TestAccount, regions: &str) -> (String, String) {
    let answer = deploy_template(t, json!({"Regions": regions, "RestorePollSeconds": "1"}));
    (
        answer["state_machines"]["RestoreTests"]
            .as_str()
            .expect("the restore-test state machine")
            .to_string(),
        answer["resources"]["EvidenceBucket"]
            .as_str()
            .expect("the evidence bucket")
            .to_string(),
    )
}

/// Start an execution with `input` and wait for it to end.
pub(crate) async fn run(
    t: &TestAccount,
    state_machine: &str,
    input: serde_json::Value,
) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    // Step Functions answers in the state machine's own region (a recovery stack's is a DR region).
    let region = state_machine
        .split(':')
        .nth(3)
        .expect("a state machine ARN");
    let sfn = aws_sdk_sfn::Client::new(&t.in_region(region));
    let execution = start(&sfn, state_machine, input).await;
    let started = Instant::now();
    loop {
        let described = sfn
            .describe_execution()
            .execution_arn(&execution)
            .send()
            .await
            .expect("describe execution");
        if described.status() != &ExecutionStatus::Running {
            if described.status() != &ExecutionStatus::Succeeded {
                let history = sfn
                    .get_execution_history()
                    .execution_arn(&execution)
                    .send()
                    .await
                    .expect("history");
                for event in history.events() {
                    if let Some(failed) = event.task_failed_event_details() {
                        eprintln!("task failed: {:?}: {:?}", failed.error(), failed.cause());
                    }
                }
            }
            return described;
        }
        assert!(
            started.elapsed() < EXECUTION_DEADLINE,
            "the execution is still running"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Start an execution with `input`, named for the moment; its ARN.
pub(crate) async fn start(
    sfn: &aws_sdk_sfn::Client,
    state_machine: &str,
    input: serde_json::Value,
) -> String {
    sfn.start_execution()
        .state_machine_arn(state_machine)
        .name(format!(
            "run-{}",
            Utc::now().timestamp_nanos_opt().unwrap_or_default()
        ))
        .input(input.to_string())
        .send()
        .await
        .expect("start execution")
        .execution_arn()
        .to_string()
}

/// The store's recorded tests, which must number `count`; the newest must have failed with an
/// error that says each of `why`.
async fn newest_failed(
    inventory: &bulwark_aws::Inventory,
    arn: &str,
    count: usize,
    why: &[&str],
) -> restore::RestoreTest {
    let tests = history::tests(inventory, Some(arn)).await.expect("history");
    assert_eq!(tests.len(), count, "{tests:?}");
    let newest = tests.into_iter().next().expect("a test");
    assert!(!newest.passed, "{newest:?}");
    let error = newest.error.clone().unwrap_or_default();
    assert!(why.iter().all(|w| error.contains(w)), "{error}");
    newest
}

#[tokio::test]
async fn the_state_machine_tests_every_due_store_and_its_dr_copy_with_the_real_function() {
    // Given the system deployed, and a critical table and bucket backed up and copied to the DR region
    let t = TestAccount::new().await;
    let (state_machine, evidence_bucket) = deploy(&t);
    let (table, bucket) = backed_up_estate(&t, 25, 12).await;
    let dr_region = Config::builtin()
        .protection()
        .dr_region_for(HOME_REGION)
        .expect("a DR region");
    wait_for_points_in(&t, &dr_region, &[&table, &bucket]).await;

    // When the scheduled run starts (its input is {})
    let execution = run(&t, &state_machine, json!({})).await;

    // Then it succeeded, and each store and its DR copy was restored, validated and recorded
    assert_eq!(
        execution.status(),
        &ExecutionStatus::Succeeded,
        "{:?}: {:?}",
        execution.error(),
        execution.cause()
    );
    let inventory = t.inventory(&t.aws()).await;
    let tests = history::tests(&inventory, None).await.expect("history");
    // (Bulwark's own state table and evidence bucket are stores under a tier too: tested as well.)
    let ours = [table.arn.to_string(), bucket.arn.to_string()];
    let mut tested: Vec<(String, Origin)> = tests
        .iter()
        .filter(|test| ours.contains(&test.arn))
        .map(|test| (test.arn.clone(), test.origin))
        .collect();
    tested.sort_by_key(|(arn, origin)| (arn.clone(), *origin == Origin::Dr));
    let mut expected = vec![
        (table.arn.to_string(), Origin::Home),
        (table.arn.to_string(), Origin::Dr),
        (bucket.arn.to_string(), Origin::Home),
        (bucket.arn.to_string(), Origin::Dr),
    ];
    expected.sort_by_key(|(arn, origin)| (arn.clone(), *origin == Origin::Dr));
    assert_eq!(tested, expected);
    for test in &tests {
        // Bulwark's own state table is written by this very run after its backup: its item
        // count cannot be compared with its source's (it is "not compared", never a pass),
        // and that is all that keeps its test from passing.
        let busy = test.arn.contains("table/bulwark-InventoryTable");
        let unexplained: Vec<_> = test
            .findings
            .iter()
            .filter(|f| {
                let count_not_compared = busy && f.not_compared && f.check == "item count";
                !f.passed && !count_not_compared
            })
            .collect();
        assert!(
            (test.passed || busy) && unexplained.is_empty() && test.error.is_none(),
            "{} ({:?}): {:?} {:?}",
            test.arn,
            test.origin,
            test.error,
            test.findings
        );
        let measured = test.measured.expect("measured");
        assert!(measured.rto_seconds > 0 && measured.rpo_met, "{measured:?}");
    }

    // And each test's evidence document is in the evidence bucket
    let listed = t
        .s3(HOME_REGION)
        .list_objects_v2()
        .bucket(&evidence_bucket)
        .prefix("restore-tests/")
        .send()
        .await
        .expect("evidence");
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    for test in &tests {
        assert!(
            keys.iter()
                .any(|k| k.ends_with(&format!("{}.json", test.id))),
            "no evidence of {}: {keys:?}",
            test.id
        );
    }

    // And nothing restored is left in either region
    assert_eq!(leftovers_in(&t, HOME_REGION).await, 0);
    assert_eq!(leftovers_in(&t, &dr_region).await, 0);

    // When the next scheduled run starts, nothing that passed within its cadence is due again:
    // only what did not pass (the state table's home test, if its count was not compared)
    let again = run(&t, &state_machine, json!({})).await;
    assert_eq!(again.status(), &ExecutionStatus::Succeeded);
    let after = history::tests(&inventory, None).await.expect("history");
    let not_passed = tests.iter().filter(|test| !test.passed).count();
    assert_eq!(
        after.len(),
        tests.len() + not_passed,
        "a store that passed was tested twice"
    );
}

#[tokio::test]
async fn a_store_that_cannot_be_restored_is_a_recorded_failure_and_the_run_goes_on() {
    // Given the system deployed, and a critical table never backed up
    let t = TestAccount::new().await;
    let (state_machine, _) = deploy(&t);
    crate::seed::table(
        &t,
        HOME_REGION,
        "fresh",
        &[("DataClassification", "Critical")],
    )
    .await;
    t.discover_and_classify(&[HOME_REGION]).await;
    let arn = format!("arn:aws:dynamodb:{HOME_REGION}:{}:table/fresh", t.account);

    // When a test of it is asked for by hand
    let execution = run(&t, &state_machine, json!({"arn": arn})).await;

    // Then the run succeeded, and the store's test is recorded as failed, with the reason
    assert_eq!(execution.status(), &ExecutionStatus::Succeeded);
    let inventory = t.inventory(&t.aws()).await;
    newest_failed(&inventory, &arn, 1, &["no completed recovery point"]).await;

    // And a request naming no tier Bulwark knows is refused, restoring nothing
    let refused = run(&t, &state_machine, json!({"tier": "gold"})).await;
    assert_eq!(refused.status(), &ExecutionStatus::Failed);
    assert_eq!(refused.error(), Some("Bulwark.InvalidInput"));
}

#[tokio::test]
async fn a_run_that_dies_after_its_restore_leaves_nothing_once_the_sweeper_has_run() {
    // Given a backed-up table and bucket
    let t = TestAccount::new().await;
    let (table, bucket) = backed_up_estate(&t, 25, 12).await;
    let aws = t.aws();
    let config = Config::builtin();

    // When a run restores both, then dies before it finishes (no validation, no deletion)
    for asset in [&table, &bucket] {
        let started = restore::start(
            &aws,
            &t.inventory(&aws).await,
            &config,
            asset,
            Origin::Home,
            "dies",
            Utc::now(),
        )
        .await
        .expect("started");
        crate::restore::until_restored(&aws, &config, &started).await;
    }
    let before = leftovers_in(&t, HOME_REGION).await;
    assert_eq!(before, 2, "the restored copies the dead run left");

    // Then the sweeper, once their validation window has passed, deletes them all
    let scope = bulwark_core::Scope {
        account: t.account.clone(),
        region: crate::harness::region(HOME_REGION),
    };
    let window = config
        .tier("critical")
        .expect("critical")
        .restore_test
        .validation_window;
    let later = Utc::now() + chrono::Duration::minutes(window.as_minutes() as i64 + 1);
    let early = sweep::sweep(&aws, std::slice::from_ref(&scope), Utc::now())
        .await
        .expect("sweep");
    assert!(early.deleted.is_empty(), "deleted before expiry: {early:?}");
    let report = sweep::sweep(&aws, &[scope], later).await.expect("sweep");
    assert!(report.failed.is_empty(), "{report:?}");
    assert_eq!(leftovers_in(&t, HOME_REGION).await, 0, "{report:?}");
}

#[tokio::test]
async fn a_failed_restore_and_a_validator_that_errs_are_recorded_and_leave_nothing() {
    // Given the system deployed, and a backed-up table
    let t = TestAccount::new().await;
    let (state_machine, _) = deploy(&t);
    let (table, _) = backed_up_estate(&t, 10, 1).await;
    let arn = table.arn.to_string();
    let inventory = t.inventory(&t.aws()).await;

    // When its restore job fails
    control(
        "/moto-api/bulwark/backup/fail-restores",
        &json!({"account": t.account.as_str(), "region": HOME_REGION, "message": "the snapshot is corrupt"}),
    );
    let first = run(&t, &state_machine, json!({"arn": arn})).await;

    // Then the run succeeded, and the test is a failure that says why
    assert_eq!(first.status(), &ExecutionStatus::Succeeded);
    newest_failed(&inventory, &arn, 1, &["FAILED", "the snapshot is corrupt"]).await;

    // When the restore works but the validator cannot read the restored table
    control(
        "/moto-api/bulwark/faults",
        &json!({"account": t.account.as_str(), "service": "dynamodb", "operation": "DescribeTable",
                "status": 400, "code": "AccessDeniedException"}),
    );
    let second = run(&t, &state_machine, json!({"arn": arn})).await;

    // Then the test is a failure naming the error, and the restored copy was still deleted
    assert_eq!(second.status(), &ExecutionStatus::Succeeded);
    let newest = newest_failed(&inventory, &arn, 2, &["AccessDeniedException"]).await;
    assert!(newest.cleaned_up, "{newest:?}");
    assert_eq!(leftovers_in(&t, HOME_REGION).await, 0);
}

#[tokio::test]
async fn the_cli_runs_a_test_through_the_deployed_state_machine_and_waits() {
    // Given the system deployed, and a backed-up table
    let t = TestAccount::new().await;
    let (state_machine, _) = deploy(&t);
    let (table, _) = backed_up_estate(&t, 10, 1).await;

    // When an operator tests it through the state machine, waiting for the run
    let out = crate::cli::ok(
        &t,
        &[
            "--table",
            crate::harness::TABLE,
            "restore-test",
            "--arn",
            &table.arn.to_string(),
            "--state-machine",
            &state_machine,
            "--wait",
            "--format",
            "json",
        ],
    );

    // Then the run succeeded, and its one test passed
    let answer: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(answer["status"], "SUCCEEDED", "{answer}");
    let tests = answer["tests"].as_array().expect("tests");
    assert_eq!(tests.len(), 1, "{answer}");
    assert_eq!(tests[0]["arn"], table.arn.to_string().as_str());
    assert_eq!(tests[0]["passed"], true, "{answer}");
}

/// A customer's hook: a function of the test's account running tests/fixtures/restore-hook,
/// which passes or fails every copy it is asked about (`verdict`).
async fn hook(t: &TestAccount, name: &str, verdict: &str) {
    let role = aws_sdk_iam::Client::new(&t.config)
        .create_role()
        .role_name(format!("{name}-role"))
        .assume_role_policy_document(
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
            .to_string(),
        )
        .send()
        .await
        .expect("the hook's role");
    // An empty zip archive: the code that runs is the fixture, bound below.
    let empty_zip = [b"PK\x05\x06".as_slice(), &[0u8; 18]].concat();
    let function = aws_sdk_lambda::Client::new(&t.config)
        .create_function()
        .function_name(name)
        .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
        .handler("bootstrap")
        .role(role.role().map(|r| r.arn()).unwrap_or_default())
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(empty_zip))
                .build(),
        )
        .environment(
            aws_sdk_lambda::types::Environment::builder()
                .variables("HOOK_VERDICT", verdict)
                .build(),
        )
        .send()
        .await
        .expect("the hook function");
    control(
        "/moto-api/bulwark/lambda/runtime",
        &json!({
            "arn": function.function_arn(),
            "binary": format!("{}/fixtures/restore-hook", env!("CARGO_MANIFEST_DIR")),
        }),
    );
}

#[tokio::test]
async fn a_stores_hook_is_asked_about_its_restored_copy_and_its_verdict_counts() {
    // Given the system deployed, hooks that pass and fail every copy, and critical tables whose
    // tags name them (and one a function outside the hooks' prefix); the functions cover every
    // enabled region, so the run's sweep finds its regions in the inventory
    let t = TestAccount::new().await;
    let (state_machine, _) = deploy_for(&t, "");
    hook(&t, "bulwark-restore-hook-pass", "pass").await;
    hook(&t, "bulwark-restore-hook-fail", "fail").await;
    let tagged = [
        ("orders", "bulwark-restore-hook-pass"),
        ("invoices", "bulwark-restore-hook-fail"),
        ("ledger", "someone-elses-function"),
    ];
    for (table, function) in tagged {
        crate::seed::table(
            &t,
            HOME_REGION,
            table,
            &[("DataClassification", "Critical"), (HOOK_TAG, function)],
        )
        .await;
    }
    protect(&t).await;
    run_plans(&t);
    let arn = |table: &str| format!("arn:aws:dynamodb:{HOME_REGION}:{}:table/{table}", t.account);
    for (table, _) in tagged {
        wait_for_point_of(&t, HOME_REGION, &arn(table)).await;
    }

    // When the critical tier is tested through the state machine
    let execution = run(&t, &state_machine, json!({"tier": "critical"})).await;
    assert_eq!(execution.status(), &ExecutionStatus::Succeeded);
    let output: serde_json::Value =
        serde_json::from_str(execution.output().unwrap_or("{}")).expect("the run's output");
    assert_eq!(output["swept"]["failed"], 0, "{output}");

    // Then each hook was asked about its store's restored copy, and its verdict counted
    let inventory = t.inventory(&t.aws()).await;
    let hook_finding = |test: &restore::RestoreTest| {
        test.findings
            .iter()
            .find(|f| f.check.starts_with("customer hook "))
            .cloned()
            .unwrap_or_else(|| panic!("no hook finding: {test:?}"))
    };
    let orders = history::tests(&inventory, Some(&arn("orders")))
        .await
        .expect("history");
    assert!(orders[0].passed, "{:?}", orders[0]);
    let finding = hook_finding(&orders[0]);
    assert!(finding.passed);
    assert!(
        finding.detail.starts_with("checked bulwark-rt-")
            && finding.detail.ends_with("restored from orders"),
        "{finding:?}"
    );
    let invoices = newest_failed(&inventory, &arn("invoices"), 1, &[]).await;
    assert!(hook_finding(&invoices)
        .detail
        .starts_with("rejected bulwark-rt-"));
    let ledger = newest_failed(&inventory, &arn("ledger"), 1, &[]).await;
    let denied = hook_finding(&ledger);
    assert!(denied.detail.contains("AccessDenied"), "{denied:?}");

    // And no restored copy is left
    assert_eq!(leftovers_in(&t, HOME_REGION).await, 0);
}

#[tokio::test]
async fn a_run_that_dies_before_its_first_poll_leaves_nothing_once_the_sweeper_has_run() {
    // Given a backed-up table and bucket
    let t = TestAccount::new().await;
    let (table, bucket) = backed_up_estate(&t, 5, 3).await;
    let aws = t.aws();
    let inventory = t.inventory(&aws).await;
    let config = Config::builtin();

    // When a run starts both restores and dies before it ever polls: the copies are made, but
    // nothing tagged them as a test's; and the bucket's start died between StartRestoreJob and
    // recording its job's id (its record is as it was written before the job started)
    let window = config
        .tier("critical")
        .expect("critical")
        .restore_test
        .validation_window;
    for asset in [&table, &bucket] {
        let started = restore::start(
            &aws,
            &inventory,
            &config,
            asset,
            Origin::Home,
            "dies-early",
            Utc::now(),
        )
        .await
        .expect("started");
        if asset.kind == bulwark_core::Kind::S3 {
            let unrecorded = restore::Started {
                restore_job_id: String::new(),
                ..started
            };
            restore::pending::remember(&inventory, &unrecorded, window.as_minutes())
                .await
                .expect("the record written before the job started");
        }
    }
    assert_eq!(
        leftovers_in(&t, HOME_REGION).await,
        2,
        "the untagged copies"
    );

    // Then the sweeper leaves them while they may still be under validation
    let early = restore::pending::sweep(&aws, &inventory, Utc::now())
        .await
        .expect("sweep");
    assert!(early.deleted.is_empty(), "{early:?}");

    // And once their window has passed, follows the restores it remembered to both copies (the
    // bucket's job found by its recovery point and the name it restored)
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let later = Utc::now() + chrono::Duration::minutes(window.as_minutes() as i64 + 1);
        let report = restore::pending::sweep(&aws, &inventory, later)
            .await
            .expect("sweep");
        assert!(report.failed.is_empty(), "{report:?}");
        if leftovers_in(&t, HOME_REGION).await == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "copies left: {report:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let again = restore::pending::sweep(&aws, &inventory, Utc::now() + chrono::Duration::days(1))
        .await
        .expect("sweep");
    assert!(
        again.deleted.is_empty(),
        "forgotten once deleted: {again:?}"
    );
}
