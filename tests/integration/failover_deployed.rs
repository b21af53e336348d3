//! Failover as deployed: the failover state machine of infra/aws/template.yaml on the local
//! AWS, running the real failover binary under its template role.

use serde_json::json;

use crate::failover::{backed_up_application_on, config_file, plan_of_on, switches_as_they_are};
use crate::failover_run::{restore_jobs, switch_values};
use crate::harness::{TestAccount, HOME_REGION, TABLE};
use crate::restore_deployed::run;

#[tokio::test]
async fn the_failover_state_machine_runs_the_real_function_and_refuses_a_stale_hash() {
    // Given the application's switches, its configuration, and the system deployed with them
    let t = TestAccount::new().await;
    let zone = switches_as_they_are(&t).await;
    let config = config_file(&t, &zone);
    let deployed = crate::deployed::deploy_template(
        &t,
        json!({
            "Regions": HOME_REGION,
            "ConfigFile": config.to_str().expect("a path"),
            "FailoverHostedZoneIds": zone,
            "FailoverParameterPath": "/payments/",
            "FailoverPollSeconds": "1",
        }),
    );
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

    // When the state machine is started with the plan's hash
    let done = run(&t, &state_machine, input.clone()).await;

    // Then it succeeded: every store restored in the DR region once, both switches moved
    assert_eq!(
        done.status(),
        &aws_sdk_sfn::types::ExecutionStatus::Succeeded,
        "{:?}",
        done.error()
    );
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
