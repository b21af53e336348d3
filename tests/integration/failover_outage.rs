//! A failover while its home region is down: us-east-1 answers every call with 503 (its
//! regional endpoints, and in the second case IAM, Route 53 and STS's global endpoint too),
//! and the engineer works from us-west-2 alone: the state table's replica there, the DR
//! region's copies, an SSM parameter and a Route 53 ARC routing control switched through the
//! cluster's endpoints that still answer.

use serde_json::{json, Value};

use crate::failover::DR_REGION;
use crate::failover_run::{bulwark_with, execute_app, json_of, run_id_of};
use crate::harness::{control, TestAccount, HOME_REGION};

/// The control plane of Route 53 ARC, which AWS serves from us-west-2.
fn arc_config(t: &TestAccount) -> aws_sdk_route53recoverycontrolconfig::Client {
    aws_sdk_route53recoverycontrolconfig::Client::new(&t.in_region("us-west-2"))
}

/// A cluster and one routing control in it (Off, as a new one starts): the control's ARN and
/// the cluster's endpoints as the configuration lists them.
async fn routing_control(t: &TestAccount, name: &str) -> (String, String) {
    let arc = arc_config(t);
    let cluster = arc
        .create_cluster()
        .cluster_name(format!("{name}-cluster"))
        .send()
        .await
        .expect("a cluster");
    let cluster_arn = cluster
        .cluster()
        .and_then(|c| c.cluster_arn())
        .expect("its ARN")
        .to_string();
    let described = arc
        .describe_cluster()
        .cluster_arn(&cluster_arn)
        .send()
        .await
        .expect("the cluster");
    let endpoints: Vec<String> = described
        .cluster()
        .map(|c| c.cluster_endpoints())
        .unwrap_or_default()
        .iter()
        .map(|e| {
            format!(
                "{{ url = \"{}\", region = \"{}\" }}",
                e.endpoint().unwrap_or_default(),
                e.region().unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(endpoints.len(), 5, "{described:?}");
    let control = arc
        .create_routing_control()
        .cluster_arn(&cluster_arn)
        .routing_control_name(name)
        .send()
        .await
        .expect("a routing control");
    let arn = control
        .routing_control()
        .and_then(|c| c.routing_control_arn())
        .expect("its ARN")
        .to_string();
    (arn, format!("[{}]", endpoints.join(", ")))
}

/// A routing control's state, read through the cluster's us-west-2 endpoint.
async fn routing_control_state(t: &TestAccount, arn: &str) -> String {
    let cluster = aws_sdk_route53recoverycluster::Client::new(&t.in_region("us-west-2"));
    cluster
        .get_routing_control_state()
        .routing_control_arn(arn)
        .send()
        .await
        .expect("the routing control's state")
        .routing_control_state()
        .as_str()
        .to_string()
}

/// An SSM parameter's value in the DR region.
async fn parameter(t: &TestAccount, name: &str) -> Option<String> {
    aws_sdk_ssm::Client::new(&t.in_region(DR_REGION))
        .get_parameter()
        .name(name)
        .send()
        .await
        .ok()
        .and_then(|out| out.parameter().and_then(|p| p.value()).map(str::to_string))
}

/// The application of all six kinds, critical, backed up and copied to us-west-2, where its
/// databases restore into a network of their own; two applications over its stores, each with
/// a parameter and a routing control to switch, and a third whose switch is a Route 53 record.
async fn six_kinds_and_switches(t: &TestAccount) -> (std::path::PathBuf, [(String, String); 2]) {
    let (group, security_group) = crate::failover_kinds::six_kinds_protected(t).await;
    let zone = crate::failover::switches_as_they_are(t).await;
    let (west, west_endpoints) = routing_control(t, "payments-west").await;
    let (standby, standby_endpoints) = routing_control(t, "standby-west").await;
    let application = |name: &str, parameter: &str, control: &str, endpoints: &str| {
        format!(
            "[[applications]]\nname = \"{name}\"\nprimary_region = \"{HOME_REGION}\"\n\
             stores = {{ tag = {{ key = \"Application\", value = \"payments\" }} }}\n\
             [[applications.switches]]\nkind = \"ssm\"\nparameter = \"{parameter}\"\n\
             value = \"{{ledger.endpoint}}:{{ledger.port}}\"\n\
             [[applications.switches]]\nkind = \"routing_control\"\narn = \"{control}\"\n\
             cluster_endpoints = {endpoints}\nvalue = \"On\"\n"
        )
    };
    let text = format!(
        "{}\n[restore_prerequisites.\"{DR_REGION}\"]\ndb_subnet_group = \"{group}\"\n\
         security_groups = [\"{security_group}\"]\n{}{}\
         [[applications]]\nname = \"records\"\nprimary_region = \"{HOME_REGION}\"\n\
         stores = {{ tag = {{ key = \"Application\", value = \"payments\" }} }}\n\
         [[applications.switches]]\nkind = \"route53\"\nzone_id = \"{zone}\"\n\
         name = \"orders.payments.example.com\"\ntype = \"CNAME\"\n\
         value = \"{{orders-db.endpoint}}\"\n",
        bulwark_core::config::BUILTIN_TOML,
        application("payments", "/payments/ledger", &west, &west_endpoints),
        application("standby", "/standby/ledger", &standby, &standby_endpoints),
    );
    let path = std::env::temp_dir().join(format!("bulwark-outage-{}.toml", t.account));
    std::fs::write(&path, text).expect("the configuration file");
    (
        path,
        [
            ("/payments/ledger".into(), west),
            ("/standby/ledger".into(), standby),
        ],
    )
}

/// Every call signed for us-east-1 answered 503, the global control planes spared or not.
fn us_east_1_down(t: &TestAccount, global_too: bool) {
    let spared: Vec<&str> = if global_too {
        Vec::new()
    } else {
        vec!["iam", "route53", "sts", "organizations"]
    };
    control(
        "/moto-api/bulwark/faults",
        &json!({
            "account": t.account.as_str(), "service": "*", "region": HOME_REGION,
            "status": 503, "code": "ServiceUnavailable", "message": "the region is down",
            "except_services": spared,
        }),
    );
}

/// `failover plan` of `app`, from us-west-2, once every store has a copy there.
async fn ready_plan(t: &TestAccount, config: &str, app: &str) -> Value {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    loop {
        let out = bulwark_with(
            t,
            &[],
            &[
                "--config", config, "failover", "plan", "--app", app, "--format", "json",
            ],
        );
        let plan = json_of(&out);
        if plan["plan"]["ready"] == true || std::time::Instant::now() > deadline {
            return plan;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
}

/// A failover executed with us-east-1 declared down (it is, in these tests).
fn execute_args<'a>(config: &'a str, app: &'a str, hash: &'a str) -> Vec<&'a str> {
    [
        execute_app(config, app, hash),
        vec!["--confirm", "--primary-down"],
    ]
    .concat()
}

#[tokio::test]
async fn with_us_east_1_down_a_failover_runs_from_us_west_2_killed_resumed_and_aborted() {
    // Given an application of all six kinds protected and copied to us-west-2, its parameter
    // and routing control as they are, and then every regional endpoint of us-east-1 down
    let t = TestAccount::new().await;
    let (config, [(payments_parameter, payments_control), (standby_parameter, standby_control)]) =
        six_kinds_and_switches(&t).await;
    let cfg = config.to_str().expect("a path");
    let before = ready_plan(&t, cfg, "payments").await;
    assert_eq!(before["plan"]["ready"], true, "{before:#}");
    us_east_1_down(&t, false);

    // When the engineer plans from us-west-2
    let plan = ready_plan(&t, cfg, "payments").await;

    // Then the plan is ready from what us-west-2 holds, with the same hash as before the outage
    assert_eq!(plan["plan"]["ready"], true, "{plan:#}");
    assert_eq!(plan["plan"]["hash"], before["plan"]["hash"]);
    assert_eq!(plan["plan"]["stores"].as_array().map(Vec::len), Some(6));
    // (every call it made, the routing control's state through the cluster's data plane
    // included, is an IAM action the CLI declares)
    let declared = bulwark_aws::permissions::for_cli();
    for operation in plan["calls"].as_object().expect("calls").keys() {
        let action = bulwark_aws::permissions::action_for_operation(operation)
            .unwrap_or_else(|| panic!("no IAM mapping for {operation}"));
        assert!(declared.contains(&action.as_str()), "{action} not declared");
    }
    assert!(
        plan["calls"]
            .as_object()
            .is_some_and(|c| c.contains_key("Route53 Recovery Cluster:GetRoutingControlState")),
        "{}",
        plan["calls"]
    );
    let hash = plan["plan"]["hash"].as_str().expect("hash").to_string();

    // When the engineer first tries from us-east-1, out of habit: the plan says in one line
    // that us-east-1 does not answer and what to run instead
    let planned_at_home = bulwark_with(
        &t,
        &[("AWS_REGION", HOME_REGION)],
        &[
            "--config", cfg, "failover", "plan", "--app", "payments", "--format", "json",
        ],
    );
    let said = String::from_utf8_lossy(&planned_at_home.stderr).to_string();
    assert!(!planned_at_home.status.success());
    assert!(
        said.contains("us-east-1 does not answer")
            && said.contains("AWS_REGION=us-west-2 bulwark --config"),
        "{said}"
    );
    assert_eq!(said.trim().lines().count(), 1, "{said}");
    // And an execute there is refused before anything is done, naming the region to drive it
    // from
    let from_home = bulwark_with(
        &t,
        &[("AWS_REGION", HOME_REGION)],
        &execute_args(cfg, "payments", &hash),
    );
    let said = String::from_utf8_lossy(&from_home.stderr).to_string();
    assert!(!from_home.status.success());
    assert!(
        said.contains("driven from its DR region us-west-2")
            && said.contains("AWS_REGION=us-west-2"),
        "{said}"
    );

    // When it is executed from us-west-2 and its process is killed after its restores
    let killed = bulwark_with(
        &t,
        &[("BULWARK_FAULT_EXIT_AFTER", "validate")],
        &execute_args(cfg, "payments", &hash),
    );
    assert!(!killed.status.success());
    let run = run_id_of(&killed);

    // Then `status` shows it stopped half-way, and `resume` takes it to its end
    let status = json_of(&bulwark_with(
        &t,
        &[],
        &["failover", "status", &run, "--format", "json"],
    ));
    assert_eq!(status["run"]["ending"], Value::Null, "{status:#}");
    let resumed = json_of(&bulwark_with(
        &t,
        &[],
        &[
            "--config",
            cfg,
            "failover",
            "resume",
            &run,
            "--poll-seconds",
            "0.2",
            "--format",
            "json",
        ],
    ));
    assert_eq!(
        resumed["run"]["ending"]["outcome"], "succeeded",
        "{resumed:#}"
    );
    // (every store restored in us-west-2 and judged; the sources in us-east-1, declared down,
    // not compared)
    for store in resumed["run"]["stores"].as_array().expect("stores") {
        assert!(store["restored"]["id"].is_string(), "{store}");
        assert!(
            store["findings"]
                .as_array()
                .is_some_and(|f| f.iter().all(|f| f["passed"] == true)),
            "{store}"
        );
    }
    // And the parameter names the restored cluster in us-west-2, the routing control is On
    let value = parameter(&t, &payments_parameter)
        .await
        .expect("the parameter");
    assert!(
        value.contains(DR_REGION) && value.ends_with(":5432"),
        "{value}"
    );
    assert_eq!(routing_control_state(&t, &payments_control).await, "On");

    // When a second application's failover is killed after its first switch, then aborted
    let standby = ready_plan(&t, cfg, "standby").await;
    assert_eq!(standby["plan"]["ready"], true, "{standby:#}");
    let standby_hash = standby["plan"]["hash"].as_str().expect("hash").to_string();
    let killed = bulwark_with(
        &t,
        &[("BULWARK_FAULT_EXIT_AFTER", "switch")],
        &execute_args(cfg, "standby", &standby_hash),
    );
    assert!(!killed.status.success());
    let standby_run = run_id_of(&killed);
    assert!(parameter(&t, &standby_parameter).await.is_some());
    let aborted = json_of(&bulwark_with(
        &t,
        &[],
        &[
            "--config",
            cfg,
            "failover",
            "abort",
            &standby_run,
            "--poll-seconds",
            "0.2",
            "--format",
            "json",
        ],
    ));

    // Then its switches are as they were: the parameter it created gone, the control Off
    assert_eq!(
        aborted["run"]["ending"]["outcome"], "aborted",
        "{aborted:#}"
    );
    assert_eq!(parameter(&t, &standby_parameter).await, None);
    assert_eq!(routing_control_state(&t, &standby_control).await, "Off");

    // And a run recorded in us-west-2 reads the same from home once us-east-1 is back
    crate::harness::clear_faults(t.account.as_str());
    crate::harness::replicated();
    let home = json_of(&bulwark_with(
        &t,
        &[("AWS_REGION", HOME_REGION)],
        &["failover", "status", &run, "--format", "json"],
    ));
    assert_eq!(home["run"]["ending"]["outcome"], "succeeded", "{home:#}");
}

#[tokio::test]
async fn with_iam_route_53_and_sts_global_down_too_a_record_switch_is_reported_not_crashed_on() {
    // Given the application, and all of us-east-1 down, global control planes included
    let t = TestAccount::new().await;
    let (config, [(payments_parameter, payments_control), _]) = six_kinds_and_switches(&t).await;
    let cfg = config.to_str().expect("a path");
    let before = ready_plan(&t, cfg, "payments").await;
    assert_eq!(before["plan"]["ready"], true, "{before:#}");
    us_east_1_down(&t, true);

    // When the engineer plans the application whose switch is a Route 53 record
    let records = json_of(&bulwark_with(
        &t,
        &[],
        &[
            "--config", cfg, "failover", "plan", "--app", "records", "--format", "json",
        ],
    ));

    // Then the record is blocked as unreadable and marked as needing Route 53's control plane,
    // and IAM's unanswered question is a warning
    let record = &records["plan"]["switches"][0];
    assert_eq!(records["plan"]["ready"], false);
    assert_eq!(
        record["blockers"][0]["blocker"], "switch_unreadable",
        "{record}"
    );
    assert!(record["control_plane"].is_string(), "{record}");
    let warnings = records["plan"]["warnings"].as_array().expect("warnings");
    assert!(
        warnings.iter().any(|w| w["warning"] == "role_unchecked"),
        "{warnings:?}"
    );
    assert!(
        warnings
            .iter()
            .any(|w| w["warning"] == "needs_control_plane"),
        "{warnings:?}"
    );

    // When the application switched by a parameter and a routing control is failed over
    let plan = ready_plan(&t, cfg, "payments").await;
    assert_eq!(plan["plan"]["ready"], true, "{plan:#}");
    let hash = plan["plan"]["hash"].as_str().expect("hash").to_string();
    let answer = json_of(&bulwark_with(
        &t,
        &[],
        &execute_args(cfg, "payments", &hash),
    ));

    // Then it succeeds, with nothing asked of us-east-1 that it needed
    assert_eq!(
        answer["run"]["ending"]["outcome"], "succeeded",
        "{answer:#}"
    );
    assert!(parameter(&t, &payments_parameter).await.is_some());
    assert_eq!(routing_control_state(&t, &payments_control).await, "On");
}

#[tokio::test]
async fn a_drill_isolated_from_the_primary_region_passes_and_leaves_nothing() {
    // Given an application backed up and copied to us-west-2, its record and parameter
    let t = TestAccount::new().await;
    let _ = crate::failover::backed_up_application(&t).await;
    let zone = crate::failover::switches_as_they_are(&t).await;
    crate::failover::backup_role(&t).await;
    let config = crate::failover::config_file(&t, &zone);
    let cfg = config.to_str().expect("a path");

    // When it is drilled from us-west-2 through a session that may not call us-east-1
    let out = bulwark_with(
        &t,
        &[],
        &[
            "--config",
            cfg,
            "failover",
            "drill",
            "--app",
            "payments",
            "--isolate-primary",
            "--format",
            "json",
        ],
    );
    let answer = json_of(&out);

    // Then every store was restored from its copy and passed, and every restored copy was
    // deleted: nothing of the drill's path needed us-east-1
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("isolated from us-east-1"), "{said}");
    let tests = answer["tests"].as_array().expect("tests");
    assert_eq!(tests.len(), 2, "{answer:#}");
    for test in tests {
        assert_eq!(test["passed"], true, "{test:#}");
        assert_eq!(test["cleaned_up"], true, "{test:#}");
    }
    // And the isolation held: the bucket's comparison with its source in us-east-1 was refused,
    // and skipped, as an isolated drill declares that region down
    let bucket = tests
        .iter()
        .find(|t| {
            t["arn"]
                .as_str()
                .is_some_and(|a| a.starts_with("arn:aws:s3:::"))
        })
        .expect("the bucket's test");
    let compared = bucket["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["check"] == "compared with its source")
        .expect("the comparison's finding");
    assert!(
        compared["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("skipped") && d.contains("AccessDenied")),
        "{compared}"
    );
    assert_eq!(crate::restore::leftovers_in(&t, DR_REGION).await, 0);
}
