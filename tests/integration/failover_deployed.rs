//! Failover as deployed: the failover state machine of infra/aws/template.yaml on the local
//! AWS, running the real failover binary under its template role. A failover runs in the
//! application's DR region, from the recovery stack there, on the state table's replica.

use serde_json::{json, Value};

use crate::failover::{
    backed_up_application_on, config_file, plan_of_on, switches_as_they_are, DR_REGION,
};
use crate::failover_run::{restore_jobs, switch_values};
use crate::harness::{next_notice, subscribed_queue, TestAccount, HOME_REGION, TABLE};
use crate::restore_deployed::run;

/// The parameters both stacks are deployed with for the application: its configuration file,
/// the zone and parameter path it switches, quick polls.
fn application_parameters(zone: &str, config: &std::path::Path) -> Value {
    json!({
        "Regions": HOME_REGION,
        "ConfigFile": config.to_str().expect("a path"),
        "FailoverHostedZoneIds": zone,
        "FailoverParameterPath": "/payments/",
        "FailoverPollSeconds": "1",
        "RestorePollSeconds": "1",
    })
}

/// The application's switches as they are, its configuration file, and the template deployed
/// with it at home: the zone's id, the file, the deployment's answer.
async fn deployed_with_application(t: &TestAccount) -> (String, std::path::PathBuf, Value) {
    let zone = switches_as_they_are(t).await;
    let config = config_file(t, &zone);
    let deployed = crate::deployed::deploy_template(t, application_parameters(&zone, &config));
    (zone, config, deployed)
}

/// The same, deployed as AWS is set up for a failover with the home region down: the home stack
/// with the state table's replica in the DR region, then the recovery stack there on it. The
/// zone's id, the file, and the recovery stack's answer.
async fn deployed_for_recovery(t: &TestAccount) -> (String, std::path::PathBuf, Value) {
    let zone = switches_as_they_are(t).await;
    let config = config_file(t, &zone);
    let recovery = deployed_for_recovery_with(t, &zone, &config);
    (zone, config, recovery)
}

/// The home and recovery stacks deployed with the configuration file `config`: the recovery
/// stack's answer.
fn deployed_for_recovery_with(t: &TestAccount, zone: &str, config: &std::path::Path) -> Value {
    let mut home = application_parameters(zone, config);
    home["StateReplicaRegions"] = json!(DR_REGION);
    let home = crate::deployed::deploy_template(t, home);
    let table = home["outputs"]["InventoryTableName"]
        .as_str()
        .expect("the home stack's table");
    assert_eq!(table, TABLE);
    let mut recovery = application_parameters(zone, config);
    recovery["Deployment"] = json!("recovery");
    recovery["StateTableName"] = json!(table);
    recovery["EvidenceLockDays"] = json!("1");
    crate::deployed::deploy_template_in(t, DR_REGION, recovery)
}

/// The recovery stack's failover state machine.
fn failover_state_machine(recovery: &Value) -> String {
    recovery["state_machines"]["Failover"]
        .as_str()
        .expect("the failover state machine")
        .to_string()
}

#[tokio::test]
async fn the_failover_state_machine_runs_the_real_function_and_refuses_a_stale_hash() {
    // Given the application's switches, its configuration, the home stack deployed with them
    // and the state table's replica in the DR region, and the recovery stack there
    let t = TestAccount::new().await;
    let (zone, config, recovery) = deployed_for_recovery(&t).await;
    let state_machine = failover_state_machine(&recovery);
    assert!(
        state_machine.starts_with(&format!("arn:aws:states:{DR_REGION}:")),
        "{state_machine}"
    );
    let evidence = recovery["outputs"]["EvidenceBucketName"]
        .as_str()
        .expect("the recovery stack's evidence bucket")
        .to_string();
    // And the application backed up and copied, in the deployment's state table
    let _ = backed_up_application_on(&t, TABLE).await;
    let plan = plan_of_on(&t, TABLE, &config);
    assert_eq!(plan["plan"]["ready"], true, "{plan:#}");
    let hash = plan["plan"]["hash"].as_str().expect("hash").to_string();
    let input = json!({
        "application": "payments",
        "plan_hash": hash,
        "requested_by": "on-call",
        "reason": "us-east-1 is down",
    });

    // When us-east-1 is down (all but the global control planes signed there), and the engineer
    // executes the plan through the DR region's state machine from the CLI, run in the DR
    // region, and waits
    assert_eq!(crate::cli::region_of(&["failover", "execute"]), DR_REGION);
    crate::harness::control(
        "/moto-api/bulwark/faults",
        &json!({
            "account": t.account.as_str(), "service": "*", "region": HOME_REGION,
            "status": 503, "code": "ServiceUnavailable", "message": "the region is down",
            "except_services": ["iam", "route53", "sts", "organizations"],
        }),
    );
    let out = crate::cli::ok_on(
        &t,
        TABLE,
        &[
            "--config",
            config.to_str().expect("a path"),
            "failover",
            "execute",
            "--app",
            "payments",
            "--plan-hash",
            &hash,
            "--confirm",
            "--primary-down",
            "--reason",
            "us-east-1 is down",
            "--requested-by",
            "on-call",
            "--state-machine",
            &state_machine,
            "--wait",
        ],
    );

    // Then it succeeded: every store restored in the DR region once, both switches moved
    assert!(out.contains("SUCCEEDED: RTO"), "{out}");
    assert_eq!(restore_jobs(&t).await, 2);
    let (record, parameter) = switch_values(&t, &zone).await;
    assert!(record.starts_with("bulwark-fo-orders-"), "{record}");
    assert!(parameter.starts_with("bulwark-fo-orders-"), "{parameter}");
    // And the run's evidence document is in the recovery stack's evidence bucket, locked
    let s3 = t.s3(DR_REGION);
    let listed = s3
        .list_objects_v2()
        .bucket(&evidence)
        .prefix("failovers/")
        .send()
        .await
        .expect("the evidence");
    assert_eq!(listed.key_count(), Some(1));
    let key = listed.contents()[0].key().expect("its key");
    let head = s3
        .head_object()
        .bucket(&evidence)
        .key(key)
        .send()
        .await
        .expect("the evidence document");
    assert_eq!(
        head.object_lock_mode(),
        Some(&aws_sdk_s3::types::ObjectLockMode::Compliance)
    );
    assert!(head.object_lock_retain_until_date().is_some(), "{head:?}");
    // And the function's own plan found the restore role (its role may read it, in IAM's
    // control plane, which the outage spares)
    let document = s3
        .get_object()
        .bucket(&evidence)
        .key(key)
        .send()
        .await
        .expect("the evidence document")
        .body
        .collect()
        .await
        .expect("its body")
        .into_bytes();
    // And the run keeps the document's SHA-256 (computed here by coreutils' sha256sum) and
    // who began it as AWS authenticated it: the execution
    let digest = crate::failover_run::sha256sum(&document);
    let written: Value = serde_json::from_slice(&document).expect("the document is JSON");
    let run_id = written["run"]["id"].as_str().expect("the run's id");
    let status: Value = serde_json::from_str(&crate::cli::ok_on(
        &t,
        TABLE,
        &["failover", "status", run_id, "--format", "json"],
    ))
    .expect("the run as JSON");
    assert_eq!(
        status["run"]["evidence"]["sha256"],
        digest.as_str(),
        "{status:#}"
    );
    assert_eq!(status["run"]["evidence"]["key"], key);
    assert!(
        status["run"]["caller"]
            .as_str()
            .is_some_and(|c| c.contains(":execution:bulwark-failover:")),
        "{status:#}"
    );
    let document = String::from_utf8_lossy(&document);
    assert!(document.contains("\"warnings\""), "{document}");
    assert!(!document.contains("role_unchecked"), "{document}");

    // When the same input is started again (without primary_down: not declared): the plan
    // changed (the switches point elsewhere)
    let again = run(&t, &state_machine, input).await;

    // Then it is refused, restoring nothing more
    assert_eq!(again.status(), &aws_sdk_sfn::types::ExecutionStatus::Failed);
    assert_eq!(again.error(), Some("Bulwark.Refused"));
    assert_eq!(restore_jobs(&t).await, 2);

    // And once us-east-1 is back, the run is in the state table there, replicated from the DR
    // region's replica
    crate::harness::clear_faults(t.account.as_str());
    crate::harness::replicated();
    let run_at_home = t
        .dynamodb(HOME_REGION)
        .query()
        .table_name(TABLE)
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S("failover".into()),
        )
        .send()
        .await
        .expect("the run at home");
    assert!(run_at_home.count() > 0, "{run_at_home:?}");
}

#[tokio::test]
async fn a_resume_while_the_state_machine_drives_the_run_is_refused_and_nothing_is_done_twice() {
    // Given the application deployed for recovery, backed up and copied, its plan ready, and
    // its record's change held (the execution stops at its first switch, still running)
    let t = TestAccount::new().await;
    let (zone, config, recovery) = deployed_for_recovery(&t).await;
    let state_machine = failover_state_machine(&recovery);
    let _ = backed_up_application_on(&t, TABLE).await;
    let plan = plan_of_on(&t, TABLE, &config);
    assert_eq!(plan["plan"]["ready"], true, "{plan:#}");
    let hash = plan["plan"]["hash"].as_str().expect("hash").to_string();
    let before = switch_values(&t, &zone).await;
    crate::harness::control(
        "/moto-api/bulwark/faults",
        &json!({
            "account": t.account.as_str(), "service": "route53",
            "operation": "ChangeResourceRecordSets", "mode": "hang", "name": "switch",
        }),
    );

    // When the failover state machine runs, and reaches the switch
    let sfn = aws_sdk_sfn::Client::new(&t.in_region(DR_REGION));
    let input = json!({
        "application": "payments",
        "plan_hash": hash,
        "requested_by": "on-call",
        "reason": "us-east-1 is degraded",
    });
    let execution = crate::restore_deployed::start(&sfn, &state_machine, input).await;
    crate::harness::await_hung(t.account.as_str(), "switch");
    let (run_id, holder) = crate::failover_drivers::lock_of(&t, TABLE)
        .await
        .expect("the run's lock");
    assert_eq!(holder, execution);

    // And the engineer resumes the run from the CLI meanwhile
    let config = config.to_str().expect("a path");
    let resume = crate::cli::bulwark_on(
        &t,
        TABLE,
        &["--config", config, "failover", "resume", &run_id],
    );

    // Then the resume is refused: the execution drives the run, and still runs
    assert!(!resume.status.success());
    let said = String::from_utf8_lossy(&resume.stderr);
    assert!(
        said.contains(&format!("is driven by {execution}, which still runs")),
        "{said}"
    );

    // And once the switch is answered, the execution drives the run to its end alone: each
    // store restored once, each switch written once, the application free again
    crate::harness::clear_fault(t.account.as_str(), "switch");
    succeeds(&sfn, &execution).await;
    assert_eq!(restore_jobs(&t).await, 2);
    let status: Value = serde_json::from_str(&crate::cli::ok_on(
        &t,
        TABLE,
        &["failover", "status", &run_id, "--format", "json"],
    ))
    .expect("the run as JSON");
    assert_eq!(
        status["run"]["ending"]["outcome"], "succeeded",
        "{status:#}"
    );
    let switched = status["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["step"] == "switch")
        .count();
    assert_eq!(switched, 2, "{status:#}");
    assert!(!status["events"].to_string().contains("resumed by"));
    assert_ne!(switch_values(&t, &zone).await, before);
    assert!(crate::failover_drivers::lock_of(&t, TABLE).await.is_none());
}

#[tokio::test]
async fn readiness_runs_on_its_schedule_under_the_functions_role_and_the_report_shows_it() {
    // Given the system deployed with an application, its table and bucket backed up and copied
    // to the DR region, and a critical table of the application with no copy yet
    let t = TestAccount::new().await;
    let (_, _, deployed) = deployed_with_application(&t).await;
    let (table, bucket) = backed_up_application_on(&t, TABLE).await;
    let app = [
        ("Application", "payments"),
        ("DataClassification", "Critical"),
    ];
    crate::seed::table(&t, HOME_REGION, "ledger", &app).await;
    for step in ["discover", "classify"] {
        crate::cli::ok_on(&t, TABLE, &[step]);
    }
    let ledger = format!("arn:aws:dynamodb:{HOME_REGION}:{}:table/ledger", t.account);

    // When the readiness schedule fires (EventBridge -> the failover function, its own role)
    let rule = deployed["rules"]["FailoverFunctionReadiness"]["name"]
        .as_str()
        .expect("the readiness rule");
    crate::harness::control(
        "/moto-api/bulwark/events/fire",
        &json!({"account": t.account.as_str(), "region": HOME_REGION, "rule": rule}),
    );
    let inventory = bulwark_aws::Inventory::new(t.aws().dynamodb(), TABLE);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let readiness = loop {
        if let Some(readiness) = bulwark_aws::failover::readiness::last(&inventory)
            .await
            .expect("readiness")
        {
            break readiness;
        }
        assert!(std::time::Instant::now() < deadline, "never recorded");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };

    // Then the application is blocked by the table without a copy, the two copied stores are
    // ready, and the uncopied critical table is counted for the alarm
    let payments = &readiness.applications[0];
    assert_eq!(payments.subject, "payments");
    assert!(!payments.ready);
    assert!(
        payments
            .blockers
            .iter()
            .any(|b| b.starts_with(&ledger) && b.contains("no completed copy")),
        "{:?}",
        payments.blockers
    );
    let ready = |arn: &str| {
        readiness
            .stores
            .iter()
            .find(|s| s.subject == arn)
            .unwrap_or_else(|| panic!("{arn} not in {:?}", readiness.stores))
            .ready
    };
    assert!(ready(&table));
    assert!(ready(&bucket));
    assert!(!ready(&ledger));
    let critical: Vec<&str> = readiness
        .critical_not_ready()
        .iter()
        .map(|s| s.subject.as_str())
        .collect();
    assert_eq!(critical, vec![ledger.as_str()]);

    // And the coverage report shows it
    let report = crate::cli::ok_on(&t, TABLE, &["report"]);
    assert!(report.contains("Failover readiness"), "{report}");
    assert!(report.contains("1 critical not ready"), "{report}");
}

#[tokio::test]
async fn a_scheduled_drill_tests_every_applications_stores_from_their_dr_copies() {
    // Given the system deployed with an application, its stores backed up and copied
    let t = TestAccount::new().await;
    let (_, _, deployed) = deployed_with_application(&t).await;
    let (table, bucket) = backed_up_application_on(&t, TABLE).await;
    let rule = &deployed["rules"]["RestoreTestsDrills"];
    assert_eq!(rule["schedule"], "rate(7 days)", "{rule}");

    // When the restore-test state machine runs with the drill schedule's input
    let state_machine = deployed["state_machines"]["RestoreTests"]
        .as_str()
        .expect("the restore-test state machine");
    let done = run(&t, state_machine, json!({"drills": true})).await;

    // Then each of the application's stores was restored from its DR copy and passed, as
    // evidence, and nothing restored is left in the DR region
    assert_eq!(
        done.status(),
        &aws_sdk_sfn::types::ExecutionStatus::Succeeded,
        "{:?}",
        done.error()
    );
    let inventory = bulwark_aws::Inventory::new(t.aws().dynamodb(), TABLE);
    for arn in [&table, &bucket] {
        let tests = bulwark_aws::restore::history::tests(&inventory, Some(arn))
            .await
            .expect("history");
        assert_eq!(tests.len(), 1, "{arn}: {tests:?}");
        assert!(tests[0].passed, "{:?}", tests[0]);
        assert_eq!(tests[0].origin, bulwark_aws::restore::Origin::Dr);
        assert_eq!(tests[0].region.as_deref(), Some(DR_REGION));
    }
    assert_eq!(crate::restore::leftovers_in(&t, DR_REGION).await, 0);
    let evidence = deployed["resources"]["EvidenceBucket"]
        .as_str()
        .expect("the evidence bucket");
    let listed = aws_sdk_s3::Client::new(&t.config)
        .list_objects_v2()
        .bucket(evidence)
        .prefix("restore-tests/")
        .send()
        .await
        .expect("the evidence");
    assert_eq!(listed.key_count(), Some(2));
}

/// Wait for `execution` to end (five minutes at most), which must have succeeded.
async fn succeeds(sfn: &aws_sdk_sfn::Client, execution: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    let ended = loop {
        let described = sfn
            .describe_execution()
            .execution_arn(execution)
            .send()
            .await
            .expect("the execution");
        if described.status() != &aws_sdk_sfn::types::ExecutionStatus::Running {
            break described;
        }
        assert!(std::time::Instant::now() < deadline, "still running");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    assert_eq!(
        ended.status(),
        &aws_sdk_sfn::types::ExecutionStatus::Succeeded,
        "{ended:?}"
    );
}

/// CloudWatch, for the alarms an application names: through boto3 (the local AWS's own SDK),
/// as the Rust SDK's CloudWatch client speaks a protocol (Smithy RPC v2 CBOR) moto does not
/// parse. `create <name>` answers the alarm's ARN; `set <name> <state> <reason>` sets its state.
fn cloudwatch(t: &TestAccount, args: &[&str]) -> String {
    const SCRIPT: &str = r#"
import sys, boto3
cw = boto3.client("cloudwatch", region_name=sys.argv[1])
op, name = sys.argv[2], sys.argv[3]
if op == "create":
    cw.put_metric_alarm(
        AlarmName=name, AlarmDescription="the primary region does not answer",
        Namespace="AWS/Route53", MetricName="HealthCheckStatus",
        Dimensions=[{"Name": "HealthCheckId", "Value": "primary"}], Statistic="Minimum",
        Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="LessThanThreshold",
    )
    print(cw.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["AlarmArn"])
else:
    cw.set_alarm_state(AlarmName=name, StateValue=sys.argv[4], StateReason=sys.argv[5])
"#;
    let mut all = vec![DR_REGION];
    all.extend_from_slice(args);
    crate::harness::boto3(t, SCRIPT, &all)
}

/// The executions of `state_machine`, each with its input.
async fn executions(t: &TestAccount, state_machine: &str) -> Vec<(String, Value)> {
    let sfn = aws_sdk_sfn::Client::new(&t.in_region(DR_REGION));
    let listed = sfn
        .list_executions()
        .state_machine_arn(state_machine)
        .send()
        .await
        .expect("the executions");
    let mut executions = Vec::new();
    for execution in listed.executions() {
        let described = sfn
            .describe_execution()
            .execution_arn(execution.execution_arn())
            .send()
            .await
            .expect("the execution");
        let input = serde_json::from_str(described.input().unwrap_or("{}")).expect("its input");
        executions.push((execution.execution_arn().to_string(), input));
    }
    executions
}

#[tokio::test]
async fn an_alarm_starts_the_failover_of_the_application_that_opted_in_only_once_its_plan_is_ready_and_of_no_other(
) {
    // Given payments, opted in to a failover its alarm in the DR region starts (the alarm
    // meaning the primary region is down), and ledger, the
    // same stores, not opted in, with an alarm of its own; both stacks deployed with them, and
    // the on-call's queue subscribed to the recovery stack's alert topic
    let t = TestAccount::new().await;
    let zone = switches_as_they_are(&t).await;
    let payments_alarm = cloudwatch(&t, &["create", "payments-primary-down"]);
    let ledger_alarm = cloudwatch(&t, &["create", "ledger-primary-down"]);
    assert_eq!(
        payments_alarm,
        format!(
            "arn:aws:cloudwatch:{DR_REGION}:{}:alarm:payments-primary-down",
            t.account
        )
    );
    let config = config_file(&t, &zone);
    let text = std::fs::read_to_string(&config).expect("the file")
        + &format!(
            "[applications.automatic_failover]\nalarm = \"{payments_alarm}\"\n\
             primary_down = true\n\n\
             [[applications]]\nname = \"ledger\"\nprimary_region = \"{HOME_REGION}\"\n\
             stores = {{ tag = {{ key = \"Application\", value = \"payments\" }} }}\n"
        );
    std::fs::write(&config, text).expect("the configuration");
    let recovery = deployed_for_recovery_with(&t, &zone, &config);
    let state_machine = failover_state_machine(&recovery);
    let topic = recovery["outputs"]["AlertTopicArn"]
        .as_str()
        .expect("the recovery stack's alert topic");
    let queue = subscribed_queue(&t, DR_REGION, topic).await;

    // When payments' alarm enters ALARM before anything is backed up
    cloudwatch(
        &t,
        &[
            "set",
            "payments-primary-down",
            "ALARM",
            "the primary is unhealthy",
        ],
    );

    // Then nothing starts: its plan is not ready, and the on-call is told why
    let (subject, message) = next_notice(&t, DR_REGION, &queue).await;
    assert_eq!(
        subject,
        "Bulwark automatic failover of payments NOT started"
    );
    assert!(message.contains("its plan is not ready"), "{message}");
    assert!(executions(&t, &state_machine).await.is_empty());

    // When the stores are backed up and copied, the plan ready, ledger's alarm enters ALARM,
    // and then, us-east-1 gone, payments' again (after it was OK)
    let _ = backed_up_application_on(&t, TABLE).await;
    let plan = plan_of_on(&t, TABLE, &config);
    assert_eq!(plan["plan"]["ready"], true, "{plan:#}");
    let hash = plan["plan"]["hash"].as_str().expect("hash").to_string();
    let before = switch_values(&t, &zone).await;
    cloudwatch(
        &t,
        &[
            "set",
            "ledger-primary-down",
            "ALARM",
            "ledger's check failed",
        ],
    );
    cloudwatch(&t, &["set", "payments-primary-down", "OK", "recovered"]);
    // (what the alarm watches: us-east-1 answering 503 to all but the global control planes)
    crate::harness::control(
        "/moto-api/bulwark/faults",
        &json!({
            "account": t.account.as_str(), "service": "*", "region": HOME_REGION,
            "status": 503, "code": "ServiceUnavailable", "message": "the region is down",
            "except_services": ["iam", "route53", "sts", "organizations"],
        }),
    );
    cloudwatch(
        &t,
        &["set", "payments-primary-down", "ALARM", "unhealthy again"],
    );

    // Then payments' failover starts, under the plan's hash, asked by its alarm
    let started = loop {
        let started = executions(&t, &state_machine).await;
        if !started.is_empty() {
            break started;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    let (execution, input) = &started[0];
    assert_eq!(input["application"], "payments", "{input}");
    assert_eq!(input["plan_hash"], hash.as_str());
    assert_eq!(input["requested_by"], payments_alarm.as_str());
    // And it runs to its end: the stores restored, the switches moved
    succeeds(
        &aws_sdk_sfn::Client::new(&t.in_region(DR_REGION)),
        execution,
    )
    .await;
    assert_eq!(restore_jobs(&t).await, 2);
    assert_ne!(switch_values(&t, &zone).await, before);
    // And it is the only execution: ledger's alarm started nothing
    assert_eq!(executions(&t, &state_machine).await.len(), 1);

    // And the on-call was told it started, by which alarm and under which hash, and then the
    // run's own notices came (its start and its end); nothing of ledger
    let mut notices = Vec::new();
    while notices.len() < 3 {
        notices.push(next_notice(&t, DR_REGION, &queue).await);
    }
    let subjects: Vec<&str> = notices.iter().map(|(s, _)| s.as_str()).collect();
    assert!(
        subjects.contains(&"Bulwark automatic failover of payments started"),
        "{subjects:?}"
    );
    assert!(
        !notices
            .iter()
            .any(|(s, m)| s.contains("ledger") || m.contains("ledger")),
        "{notices:?}"
    );
    let (_, automatic) = notices
        .iter()
        .find(|(s, _)| s == "Bulwark automatic failover of payments started")
        .expect("the alarm's notice");
    assert!(automatic.contains(&hash), "{automatic}");
    assert!(automatic.contains(execution.as_str()), "{automatic}");
    assert!(automatic.contains("payments-primary-down"), "{automatic}");
    // And the run records the plan's hash and the alarm as who asked
    let run_id = notices
        .iter()
        .find_map(|(_, m)| {
            m.strip_prefix("Failover run ")
                .and_then(|rest| rest.split_whitespace().next())
        })
        .expect("the run's notice names it")
        .to_string();
    let status: Value = serde_json::from_str(&crate::cli::ok_on(
        &t,
        TABLE,
        &["failover", "status", &run_id, "--format", "json"],
    ))
    .expect("the run as JSON");
    assert_eq!(status["run"]["plan"]["hash"], hash.as_str(), "{status:#}");
    assert_eq!(status["run"]["requested_by"], payments_alarm.as_str());
    // With the primary region down, as the application said its alarm means
    assert_eq!(status["run"]["primary_down"], true, "{status:#}");
    crate::harness::clear_faults(t.account.as_str());
    assert_eq!(status["run"]["ending"]["outcome"], "succeeded");
    assert!(
        status["run"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("payments-primary-down entered ALARM")
                && r.ends_with("unhealthy again")),
        "{status:#}"
    );
    assert!(!ledger_alarm.is_empty());
}
