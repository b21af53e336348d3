//! Failover as deployed: the failover state machine of infra/aws/template.yaml on the local
//! AWS, running the real failover binary under its template role.

use serde_json::{json, Value};

use crate::failover::{
    backed_up_application_on, config_file, plan_of_on, switches_as_they_are, DR_REGION,
};
use crate::failover_run::{restore_jobs, switch_values};
use crate::harness::{TestAccount, HOME_REGION, TABLE};
use crate::restore_deployed::run;

/// The application's switches as they are, its configuration file, and the template deployed
/// with it: the zone's id, the file, the deployment's answer.
async fn deployed_with_application(t: &TestAccount) -> (String, std::path::PathBuf, Value) {
    let zone = switches_as_they_are(t).await;
    let config = config_file(t, &zone);
    let deployed = crate::deployed::deploy_template(
        t,
        json!({
            "Regions": HOME_REGION,
            "ConfigFile": config.to_str().expect("a path"),
            "FailoverHostedZoneIds": zone,
            "FailoverParameterPath": "/payments/",
            "FailoverPollSeconds": "1",
            "RestorePollSeconds": "1",
        }),
    );
    (zone, config, deployed)
}

#[tokio::test]
async fn the_failover_state_machine_runs_the_real_function_and_refuses_a_stale_hash() {
    // Given the application's switches, its configuration, and the system deployed with them
    let t = TestAccount::new().await;
    let (zone, config, deployed) = deployed_with_application(&t).await;
    let state_machine = deployed["state_machines"]["Failover"]
        .as_str()
        .expect("the failover state machine")
        .to_string();
    let evidence = deployed["resources"]["EvidenceBucket"]
        .as_str()
        .expect("the evidence bucket")
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

    // When the engineer executes the plan through the state machine from the CLI, and waits
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
    // And the run's evidence document is in the evidence bucket
    let listed = aws_sdk_s3::Client::new(&t.config)
        .list_objects_v2()
        .bucket(&evidence)
        .prefix("failovers/")
        .send()
        .await
        .expect("the evidence");
    assert_eq!(listed.key_count(), Some(1));

    // When the same input is started again: the plan changed (the switches point elsewhere)
    let again = run(&t, &state_machine, input).await;

    // Then it is refused, restoring nothing more
    assert_eq!(again.status(), &aws_sdk_sfn::types::ExecutionStatus::Failed);
    assert_eq!(again.error(), Some("Bulwark.Refused"));
    assert_eq!(restore_jobs(&t).await, 2);
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
