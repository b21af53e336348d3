//! Failover runs: `bulwark failover execute` under a plan's hash, refused when it should be,
//! restoring in the DR region and switching; killed half-way and resumed or aborted.

use std::process::Output;

use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;

use crate::cli::ok;
use crate::failover::{
    backed_up_application, backup_role, config_file, plan_of, switches_as_they_are, DR_REGION,
};
use crate::harness::{TestAccount, HOME_REGION};

/// The CLI with `env` added.
pub(crate) fn bulwark_with(t: &TestAccount, env: &[(&str, &str)], args: &[&str]) -> Output {
    bulwark_command(t, env, args)
        .output()
        .expect("bulwark runs")
}

/// The CLI started and left running, its output piped.
pub(crate) fn bulwark_spawned(t: &TestAccount, args: &[&str]) -> std::process::Child {
    bulwark_command(t, &[], args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("bulwark starts")
}

pub(crate) fn bulwark_command(
    t: &TestAccount,
    env: &[(&str, &str)],
    args: &[&str],
) -> std::process::Command {
    if crate::cli::region_of(args) != HOME_REGION {
        crate::harness::replicated();
    }
    let mut command = std::process::Command::new(crate::harness::bulwark_bin());
    command
        .args(args)
        .env_remove("BULWARK_CONFIG")
        .env_remove("BULWARK_ORG_ROLE")
        .envs(t.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("BULWARK_TABLE", "bulwark-cli-test")
        .env("AWS_REGION", crate::cli::region_of(args))
        .env_remove("BULWARK_FAULT_EXIT_AFTER");
    for (k, v) in env {
        command.env(k, v);
    }
    command
}

/// `failover abort` of `run_id`, which must end the run aborted: the run and its events.
pub(crate) fn aborted(t: &TestAccount, config: &str, run_id: &str) -> Value {
    let aborted = json_of(&bulwark_with(
        t,
        &[],
        &[
            "--config", config, "failover", "abort", run_id, "--format", "json",
        ],
    ));
    assert_eq!(
        aborted["run"]["ending"]["outcome"], "aborted",
        "{aborted:#}"
    );
    aborted
}

/// The run's id, as the CLI printed it on standard error when the run began.
pub(crate) fn run_id_of(out: &Output) -> String {
    stderr(out)
        .split_whitespace()
        .skip_while(|w| *w != "run")
        .nth(1)
        .expect("the run's id")
        .to_string()
}

pub(crate) fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

pub(crate) fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(out)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

/// How many items the table `table` of `region` holds (a scan).
pub(crate) async fn items_in(t: &TestAccount, region: &str, table: &str) -> i32 {
    t.dynamodb(region)
        .scan()
        .table_name(table)
        .send()
        .await
        .expect("the restored table")
        .count()
}

/// The record's and the parameter's values now.
pub(crate) async fn switch_values(t: &TestAccount, zone: &str) -> (String, String) {
    let sets = aws_sdk_route53::Client::new(&t.config)
        .list_resource_record_sets()
        .hosted_zone_id(zone)
        .send()
        .await
        .expect("the records");
    let record = sets
        .resource_record_sets()
        .iter()
        .find(|s| s.name() == "orders.payments.example.com.")
        .and_then(|s| s.resource_records().first())
        .map(|r| r.value().to_string())
        .expect("the record");
    let parameter = ssm(t)
        .get_parameter()
        .name("/payments/orders-table")
        .send()
        .await
        .expect("the parameter")
        .parameter()
        .and_then(|p| p.value())
        .map(str::to_string)
        .expect("its value");
    (record, parameter)
}

fn ssm(t: &TestAccount) -> aws_sdk_ssm::Client {
    aws_sdk_ssm::Client::from_conf(
        aws_sdk_ssm::config::Builder::from(&t.config)
            .region(aws_sdk_ssm::config::Region::new(DR_REGION))
            .build(),
    )
}

/// Restore jobs AWS Backup ran in the DR region.
pub(crate) async fn restore_jobs(t: &TestAccount) -> usize {
    restore_jobs_in(t, DR_REGION).await
}

/// How many restore jobs `t`'s account has in `region`.
pub(crate) async fn restore_jobs_in(t: &TestAccount, region: &str) -> usize {
    t.backup(region)
        .list_restore_jobs()
        .send()
        .await
        .expect("restore jobs")
        .restore_jobs()
        .len()
}

/// The application ready to fail over: its data backed up and copied, its switches as they
/// are, AWS Backup's role; the configuration file, the zone, the bucket's name and the plan.
pub(crate) async fn ready_application(t: &TestAccount) -> (String, String, String, Value) {
    let bucket = format!("receipts-{}", t.account);
    let _ = backed_up_application(t).await;
    let zone = switches_as_they_are(t).await;
    backup_role(t).await;
    let config = config_file(t, &zone);
    let plan = plan_of(t, &config);
    assert_eq!(plan["plan"]["ready"], true, "{plan:#}");
    (
        config.to_str().expect("a path").to_string(),
        zone,
        bucket,
        plan["plan"].clone(),
    )
}

/// `failover resume` of `run_id`, polling every 0.2 s, in JSON.
pub(crate) fn resume<'a>(config: &'a str, run_id: &'a str) -> Vec<&'a str> {
    vec![
        "--config",
        config,
        "failover",
        "resume",
        run_id,
        "--poll-seconds",
        "0.2",
        "--format",
        "json",
    ]
}

pub(crate) fn execute<'a>(config: &'a str, hash: &'a str) -> Vec<&'a str> {
    execute_app(config, "payments", hash)
}

/// `failover execute` of `app` under `hash`, asked by on-call, polling every 0.2 s, in JSON.
pub(crate) fn execute_app<'a>(config: &'a str, app: &'a str, hash: &'a str) -> Vec<&'a str> {
    vec![
        "--config",
        config,
        "failover",
        "execute",
        "--app",
        app,
        "--plan-hash",
        hash,
        "--reason",
        "us-east-1 is down",
        "--requested-by",
        "on-call",
        "--poll-seconds",
        "0.2",
        "--format",
        "json",
    ]
}

#[tokio::test]
async fn execute_restores_in_the_dr_region_switches_and_verifies_under_the_plans_hash_only() {
    // Given an application ready to fail over, and its plan's hash
    let t = TestAccount::new().await;
    let (config, zone, bucket, plan) = ready_application(&t).await;
    let hash = plan["hash"].as_str().expect("hash").to_string();
    let short = &hash[..16];
    let before = switch_values(&t, &zone).await;

    // When the engineer executes it without --confirm, or with a hash of another plan
    let unconfirmed = bulwark_with(&t, &[], &execute(&config, short));
    let wrong = bulwark_with(
        &t,
        &[],
        &[execute(&config, &"0".repeat(64)), vec!["--confirm"]].concat(),
    );

    // Then both are refused, saying why, and nothing changed
    assert!(!unconfirmed.status.success());
    assert!(
        stderr(&unconfirmed).contains("needs --confirm"),
        "{}",
        stderr(&unconfirmed)
    );
    assert!(!wrong.status.success());
    assert!(
        stderr(&wrong).contains("is not the current plan's"),
        "{}",
        stderr(&wrong)
    );
    assert_eq!(restore_jobs(&t).await, 0);
    assert_eq!(switch_values(&t, &zone).await, before);

    // When the parameter changes after the plan was read (the plan's hash with it)
    ssm(&t)
        .put_parameter()
        .name("/payments/orders-table")
        .value("orders-v2")
        .overwrite(true)
        .send()
        .await
        .expect("the parameter changes");
    let stale = bulwark_with(
        &t,
        &[],
        &[execute(&config, short), vec!["--confirm"]].concat(),
    );

    // Then the stale hash is refused
    assert!(
        stderr(&stale).contains("the plan changed since it was read"),
        "{}",
        stderr(&stale)
    );
    assert_eq!(restore_jobs(&t).await, 0);

    // When it is executed with the current plan's hash and --confirm
    let current = plan_of(&t, std::path::Path::new(&config));
    let hash = current["plan"]["hash"].as_str().expect("hash");
    let answer = json_of(&bulwark_with(
        &t,
        &[],
        &[execute(&config, &hash[..16]), vec!["--confirm"]].concat(),
    ));

    // Then the run succeeded, with its RTO, each step recorded with who asked and why
    let run = &answer["run"];
    assert_eq!(run["ending"]["outcome"], "succeeded", "{answer:#}");
    assert!(run["ending"]["rto_seconds"].is_u64());
    assert_eq!(run["requested_by"], "on-call");
    assert_eq!(run["reason"], "us-east-1 is down");
    let steps: Vec<&str> = answer["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["step"].as_str())
        .collect();
    for step in [
        "begin", "restore", "restored", "validate", "switch", "verify", "end",
    ] {
        assert!(steps.contains(&step), "{step} missing from {steps:?}");
    }
    // And each store was restored in the DR region, once, and passed validation
    assert_eq!(restore_jobs(&t).await, 2);
    let stores = run["stores"].as_array().expect("stores");
    let planned = run["plan"]["stores"].as_array().expect("planned stores");
    for (store, planned) in stores.iter().zip(planned) {
        let restored = store["restored"]["arn"].as_str().expect("restored");
        assert!(
            restored.contains(DR_REGION) || restored.starts_with("arn:aws:s3:::"),
            "{restored}"
        );
        assert!(!store["findings"].as_array().expect("findings").is_empty());
        assert!(store["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .all(|f| f["passed"] == true));
        assert!(answer["data_loss_seconds"][planned["arn"].as_str().expect("arn")].is_u64());
    }
    // And the restored data is there: the table's three items, the bucket's two objects
    let table = planned_name(run, ":dynamodb:");
    assert_eq!(items_in(&t, DR_REGION, &table).await, 3);
    let restored_bucket = planned_name(run, ":s3:");
    assert_ne!(restored_bucket, bucket);
    let objects = aws_sdk_s3::Client::new(&t.config)
        .list_objects_v2()
        .bucket(&restored_bucket)
        .send()
        .await
        .expect("the restored bucket")
        .key_count();
    assert_eq!(objects, Some(2));
    // And both switches point at the restored table, and were verified
    assert_eq!(
        switch_values(&t, &zone).await,
        (format!("{table}.tables.example.net"), table.clone())
    );
    for switch in run["switches"].as_array().expect("switches") {
        assert!(switch["verified"].is_string(), "{switch}");
    }
    assert_eq!(run["switches"][1]["previous"], "orders-v2");
    // And the run can be read back, step by step
    let status = ok(&t, &["failover", "status", run["id"].as_str().expect("id")]);
    assert!(status.contains("SUCCEEDED: RTO"), "{status}");

    // When the way home is planned, once the DR region's stores are discovered
    ok(&t, &["--regions", DR_REGION, "discover"]);
    let failback: Value = serde_json::from_str(&ok(
        &t,
        &[
            "--config",
            &config,
            "failover",
            "plan",
            "--app",
            "payments",
            "--failback",
            "--format",
            "json",
        ],
    ))
    .expect("json");

    // Then it fails the restored stores over to the primary region, changing nothing, each
    // blocked until it is backed up and copied there; the switches follow the restored table
    assert_eq!(failback["mutating_calls"], 0, "{}", failback["calls"]);
    assert_eq!(failback["failback_of"], run["id"]);
    let back = &failback["plan"];
    assert_eq!(back["primary_region"], DR_REGION);
    assert_eq!(back["dr_region"], HOME_REGION);
    let mut from: Vec<&str> = back["stores"]
        .as_array()
        .expect("stores")
        .iter()
        .filter_map(|s| s["arn"].as_str())
        .collect();
    let mut restored: Vec<&str> = stores
        .iter()
        .filter_map(|s| s["restored"]["arn"].as_str())
        .collect();
    from.sort_unstable();
    restored.sort_unstable();
    assert_eq!(from, restored);
    for store in back["stores"].as_array().expect("stores") {
        assert!(
            store["blockers"]
                .as_array()
                .is_some_and(|b| b.contains(&serde_json::json!({"blocker": "no_copy"}))),
            "{store}"
        );
    }
    let record = back["switches"][0]["new"]
        .as_str()
        .expect("the record's way back");
    assert!(
        record.starts_with("bulwark-fo-bulwark-fo-orders-"),
        "{record}"
    );
    assert_eq!(
        back["switches"][0]["current"],
        format!("{table}.tables.example.net")
    );
}

/// The restored name the plan gave the store whose ARN contains `fragment` (`:dynamodb:`,
/// `:s3:`, `:db:` for an RDS instance).
pub(crate) fn planned_name(run: &Value, fragment: &str) -> String {
    run["plan"]["stores"]
        .as_array()
        .expect("stores")
        .iter()
        .find(|s| s["arn"].as_str().is_some_and(|a| a.contains(fragment)))
        .and_then(|s| s["restored_name"].as_str())
        .expect("the store")
        .to_string()
}

#[tokio::test]
async fn a_run_killed_after_its_restores_holds_the_application_resumes_without_restoring_twice_and_aborts_back(
) {
    // Given an application ready to fail over
    let t = TestAccount::new().await;
    let (config, zone, _, plan) = ready_application(&t).await;
    let hash = plan["hash"].as_str().expect("hash").to_string();
    let before = switch_values(&t, &zone).await;
    let confirmed = [execute(&config, &hash), vec!["--confirm"]].concat();

    // When its run dies right after starting the restores
    let killed = bulwark_with(&t, &[("BULWARK_FAULT_EXIT_AFTER", "restore")], &confirmed);
    assert_eq!(killed.status.code(), Some(137), "{}", stderr(&killed));
    let run_id = run_id_of(&killed);

    // Then a second failover of the application is refused while the first holds it
    let second = bulwark_with(&t, &[], &confirmed);
    assert!(!second.status.success());
    assert!(
        stderr(&second).contains(&format!("failover run {run_id} of payments has not ended")),
        "{}",
        stderr(&second)
    );
    assert_eq!(restore_jobs(&t).await, 2);

    // When the run is resumed, and dies again right after its first switch
    let resumed = bulwark_with(
        &t,
        &[("BULWARK_FAULT_EXIT_AFTER", "switch")],
        &[
            "--config",
            &config,
            "failover",
            "resume",
            &run_id,
            "--poll-seconds",
            "0.2",
        ],
    );
    assert_eq!(resumed.status.code(), Some(137), "{}", stderr(&resumed));

    // Then no store was restored twice, and the record switched
    assert_eq!(restore_jobs(&t).await, 2);
    let (record, parameter) = switch_values(&t, &zone).await;
    assert_ne!(record, before.0);
    assert_eq!(parameter, before.1);

    // When the run is aborted
    let aborted = aborted(&t, &config, &run_id);

    // Then every switch it made is back, and its restored stores stay, listed
    assert_eq!(switch_values(&t, &zone).await, before);
    let restored: Vec<&str> = aborted["run"]["stores"]
        .as_array()
        .expect("stores")
        .iter()
        .filter_map(|s| s["restored"]["arn"].as_str())
        .collect();
    assert_eq!(restored.len(), 2, "{aborted:#}");
    let table = planned_name(&aborted["run"], ":dynamodb:");
    t.dynamodb(DR_REGION)
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .expect("the restored table stays");
    let text = ok(&t, &["failover", "status", &run_id]);
    assert!(text.contains("ABORTED"), "{text}");
}

#[tokio::test]
async fn an_abort_during_the_restores_follows_them_to_their_end_and_tags_and_lists_each_store() {
    // Given an application ready to fail over, whose run died right after starting its
    // restores (both jobs running, nothing restored yet on record)
    let t = TestAccount::new().await;
    let (config, zone, _, plan) = ready_application(&t).await;
    let hash = plan["hash"].as_str().expect("hash").to_string();
    let before = switch_values(&t, &zone).await;
    let confirmed = [execute(&config, &hash), vec!["--confirm"]].concat();
    let killed = bulwark_with(&t, &[("BULWARK_FAULT_EXIT_AFTER", "restore")], &confirmed);
    assert_eq!(killed.status.code(), Some(137), "{}", stderr(&killed));
    let run_id = run_id_of(&killed);

    // When the run is aborted
    let aborted = aborted(&t, &config, &run_id);

    // Then the abort waited for both restores: each restored store is listed and tagged as
    // the run's, none left behind unnamed; nothing was switched
    let restored: Vec<&str> = aborted["run"]["stores"]
        .as_array()
        .expect("stores")
        .iter()
        .filter_map(|s| s["restored"]["arn"].as_str())
        .collect();
    assert_eq!(restored.len(), 2, "{aborted:#}");
    let table = restored
        .iter()
        .find(|a| a.contains(":dynamodb:"))
        .expect("the restored table");
    let tags = t
        .dynamodb(DR_REGION)
        .list_tags_of_resource()
        .resource_arn(*table)
        .send()
        .await
        .expect("its tags");
    assert!(
        tags.tags()
            .iter()
            .any(|tag| tag.key() == "bulwark:failover" && tag.value() == run_id),
        "{tags:?}"
    );
    assert_eq!(restore_jobs(&t).await, 2);
    assert_eq!(switch_values(&t, &zone).await, before);
    let ended = aborted["events"]
        .as_array()
        .expect("events")
        .iter()
        .find(|e| e["step"] == "end")
        .and_then(|e| e["outcome"].as_str())
        .expect("the end")
        .to_string();
    assert!(ended.contains(table), "{ended}");
}

#[tokio::test]
async fn a_run_killed_between_a_switchs_write_and_its_record_is_aborted_back_to_the_record_as_it_was(
) {
    // Given an application ready to fail over, and the state table's writes held from the
    // first record change on (the local AWS holds them unanswered)
    let t = TestAccount::new().await;
    let (config, zone, _, plan) = ready_application(&t).await;
    let hash = plan["hash"].as_str().expect("hash").to_string();
    let before = switch_values(&t, &zone).await;
    crate::harness::control(
        "/moto-api/bulwark/faults",
        &serde_json::json!({
            "account": t.account.as_str(),
            "service": "dynamodb",
            "operation": "TransactWriteItems",
            "mode": "hang",
            "after": {"service": "route53", "operation": "ChangeResourceRecordSets"},
        }),
    );

    // When the failover writes the record, and its process is killed while it records that
    let mut child = bulwark_spawned(&t, &[execute(&config, &hash), vec!["--confirm"]].concat());
    let started = std::time::Instant::now();
    while crate::harness::faults_of(t.account.as_str())["faults"][0]["hung"].as_u64() < Some(1) {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "the run never reached its first switch"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().expect("killed");
    let killed = child.wait_with_output().expect("its output");
    crate::harness::clear_faults(t.account.as_str());
    let run_id = run_id_of(&killed);

    // Then the record is switched, and the run's record does not say so
    let (record, _) = switch_values(&t, &zone).await;
    assert_ne!(record, before.0);
    let status = json_of(&bulwark_with(
        &t,
        &[],
        &["failover", "status", &run_id, "--format", "json"],
    ));
    assert!(
        status["run"]["switches"][0]["written"].is_null(),
        "{status:#}"
    );

    // When the run is aborted
    let aborted = aborted(&t, &config, &run_id);

    // Then the record is as it was, and the parameter, never written, untouched
    assert_eq!(switch_values(&t, &zone).await, before);
    let reverts: Vec<&str> = aborted["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["step"] == "revert")
        .filter_map(|e| e["outcome"].as_str())
        .collect();
    assert_eq!(reverts.len(), 1, "{reverts:?}");
    assert!(
        reverts[0].ends_with(&format!("-> {}", before.0)),
        "{reverts:?}"
    );
}

#[tokio::test]
async fn a_run_killed_after_any_step_resumes_to_the_same_end_doing_nothing_twice() {
    for step in ["restore", "poll", "validate", "switch", "verify"] {
        // Given an application ready to fail over, in an account of its own
        let t = TestAccount::new().await;
        let (config, zone, _, plan) = ready_application(&t).await;
        let hash = plan["hash"].as_str().expect("hash").to_string();
        let confirmed = [execute(&config, &hash), vec!["--confirm"]].concat();

        // When its run is killed right after the step
        let killed = bulwark_with(&t, &[("BULWARK_FAULT_EXIT_AFTER", step)], &confirmed);
        assert_eq!(
            killed.status.code(),
            Some(137),
            "{step}: {}",
            stderr(&killed)
        );
        let run_id = run_id_of(&killed);

        // And resumed
        let resumed = json_of(&bulwark_with(&t, &[], &resume(&config, &run_id)));

        // Then it ended as an unbroken run would: each store restored once, both switches made
        assert_eq!(
            resumed["run"]["ending"]["outcome"], "succeeded",
            "{step}: {resumed:#}"
        );
        assert_eq!(restore_jobs(&t).await, 2, "{step}");
        let table = planned_name(&resumed["run"], ":dynamodb:");
        assert_eq!(
            switch_values(&t, &zone).await,
            (format!("{table}.tables.example.net"), table),
            "{step}"
        );
        let switched = resumed["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["step"] == "switch")
            .count();
        // (the kill comes after the step is recorded: no switch is written twice)
        assert_eq!(switched, 2, "{step}");
    }
}

#[tokio::test]
async fn with_the_primary_region_declared_down_a_failover_judges_each_restored_store_alone() {
    // Given an application ready to fail over, and S3 in its primary region answering nothing
    // but errors (the region is down; the plan reads only the DR region)
    let t = TestAccount::new().await;
    let (config, zone, _, plan) = ready_application(&t).await;
    let hash = plan["hash"].as_str().expect("hash").to_string();
    s3_down_in_the_primary_region(&t);

    // When the application is failed over, the engineer declaring the primary region down
    let answer = json_of(&bulwark_with(
        &t,
        &[],
        &[execute(&config, &hash), vec!["--confirm", "--primary-down"]].concat(),
    ));

    // Then it succeeded: the restored bucket was read in the DR region, and the findings say
    // its comparison with its source was skipped, and why
    let run = &answer["run"];
    assert_eq!(run["ending"]["outcome"], "succeeded", "{answer:#}");
    assert_eq!(run["primary_down"], true, "recorded with the run");
    let compared = bucket_comparison(run);
    assert_eq!(compared["passed"], true, "{compared}");
    assert!(
        compared["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("skipped") && d.contains("ServiceUnavailable")),
        "{compared}"
    );
    let table = planned_name(run, ":dynamodb:");
    assert_eq!(switch_values(&t, &zone).await.1, table);
}

#[tokio::test]
async fn a_source_that_cannot_be_read_is_not_compared_and_stops_the_run_before_any_switch_and_a_new_run_takes_its_stores(
) {
    // Given an application ready to fail over, and S3 in its primary region failing every call
    let t = TestAccount::new().await;
    let (config, zone, _, plan) = ready_application(&t).await;
    let hash = plan["hash"].as_str().expect("hash").to_string();
    let before = switch_values(&t, &zone).await;
    s3_down_in_the_primary_region(&t);

    // When the application is failed over without the primary region declared down
    let output = bulwark_with(
        &t,
        &[],
        &[execute(&config, &hash), vec!["--confirm"]].concat(),
    );

    // Then the bucket was not compared, which is no pass: the run stopped before any switch
    assert!(!output.status.success());
    let answer: serde_json::Value = serde_json::from_slice(&output.stdout).expect("the run");
    let run = &answer["run"];
    assert_eq!(run["ending"]["outcome"], "failed", "{answer:#}");
    let compared = bucket_comparison(run);
    assert_eq!(compared["not_compared"], true, "{compared}");
    assert!(
        compared["detail"]
            .as_str()
            .is_some_and(|d| d.contains("--primary-down")),
        "{compared}"
    );
    assert_eq!(switch_values(&t, &zone).await, before);
    assert_eq!(restore_jobs(&t).await, 2);

    // When the engineer executes the same plan again, declaring the primary region down
    let again = bulwark_with(
        &t,
        &[],
        &[execute(&config, &hash), vec!["--confirm", "--primary-down"]].concat(),
    );

    // Then the new run takes the stores the failed one restored instead of restoring them
    // again (their names are taken), judges them, and switches
    assert!(again.status.success(), "{}", stderr(&again));
    let answer: serde_json::Value = serde_json::from_slice(&again.stdout).expect("the run");
    assert_eq!(
        answer["run"]["ending"]["outcome"], "succeeded",
        "{answer:#}"
    );
    assert_eq!(restore_jobs(&t).await, 2);
    let first = run["id"].as_str().expect("the first run");
    let adopted: Vec<&serde_json::Value> = answer["run"]["stores"]
        .as_array()
        .expect("stores")
        .iter()
        .filter(|s| s["adopted_from"] == first)
        .collect();
    assert_eq!(adopted.len(), 2, "{answer:#}");
    let adopt_events = answer["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["step"] == "adopt")
        .count();
    assert_eq!(adopt_events, 2, "{answer:#}");
    let compared = bucket_comparison(&answer["run"]);
    assert_eq!(compared["passed"], true, "{compared}");
    assert!(
        compared["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("skipped")),
        "{compared}"
    );
    assert_ne!(switch_values(&t, &zone).await, before);
}

/// S3 in the primary region answering nothing but errors.
fn s3_down_in_the_primary_region(t: &TestAccount) {
    crate::harness::control(
        "/moto-api/bulwark/faults",
        &serde_json::json!({
            "account": t.account.as_str(), "service": "s3", "region": HOME_REGION,
            "status": 503, "code": "ServiceUnavailable", "message": "the region is down",
        }),
    );
}

/// The finding of the run's restored bucket on its comparison with its source.
fn bucket_comparison(run: &serde_json::Value) -> serde_json::Value {
    let bucket = run["plan"]["stores"]
        .as_array()
        .expect("stores")
        .iter()
        .position(|s| s["arn"].as_str().is_some_and(|a| a.contains(":s3:")))
        .expect("the bucket");
    run["stores"][bucket]["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["check"] == "compared with its source")
        .expect("the comparison's finding")
        .clone()
}

#[tokio::test]
async fn a_switch_refused_stops_the_run_before_the_next_and_abort_puts_back_what_it_switched() {
    // Given an application ready to fail over, and SSM in the DR region refusing every write
    let t = TestAccount::new().await;
    let (config, zone, _, plan) = ready_application(&t).await;
    let hash = plan["hash"].as_str().expect("hash").to_string();
    let before = switch_values(&t, &zone).await;
    crate::harness::control(
        "/moto-api/bulwark/faults",
        &serde_json::json!({
            "account": t.account.as_str(), "service": "ssm", "region": DR_REGION,
            "operation": "PutParameter", "status": 400, "code": "AccessDeniedException",
            "message": "not authorized to perform ssm:PutParameter",
        }),
    );

    // When the application is failed over
    let failed = bulwark_with(
        &t,
        &[],
        &[execute(&config, &hash), vec!["--confirm"]].concat(),
    );

    // Then the run stopped at the parameter, failed, saying why; the record was switched first
    assert!(!failed.status.success());
    assert!(
        stderr(&failed).contains("AccessDeniedException"),
        "{}",
        stderr(&failed)
    );
    let (record, parameter) = switch_values(&t, &zone).await;
    assert_ne!(record, before.0);
    assert_eq!(parameter, before.1);
    let run_id = run_id_of(&failed);

    // When it is aborted
    let aborted = json_of(&bulwark_with(
        &t,
        &[],
        &[
            "--config", &config, "failover", "abort", &run_id, "--format", "json",
        ],
    ));

    // Then the record is back, and the run cannot be aborted twice
    assert_eq!(
        aborted["run"]["ending"]["outcome"], "aborted",
        "{aborted:#}"
    );
    assert_eq!(switch_values(&t, &zone).await, before);
    let again = bulwark_with(
        &t,
        &[],
        &["--config", &config, "failover", "abort", &run_id],
    );
    assert!(
        stderr(&again).contains("is aborted already"),
        "{}",
        stderr(&again)
    );
}

/// What a step's hash is taken over, written out here from docs/failover.md ("Evidence an
/// auditor can check"), not from the product's code.
fn step_text(event: &serde_json::Value) -> String {
    format!(
        "bulwark failover step v1\n{}\n{}\n{}\n{}\n{}\n{}",
        event["seq"],
        event["previous"].as_str().expect("previous"),
        event["at"].as_str().expect("at"),
        event["step"].as_str().expect("step"),
        event["subject"].as_str().expect("subject"),
        event["outcome"].as_str().expect("outcome"),
    )
}

/// SHA-256 by coreutils' sha256sum.
pub(crate) fn sha256sum(text: impl AsRef<[u8]>) -> String {
    use std::io::Write;
    let mut sum = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sha256sum runs");
    sum.stdin
        .take()
        .expect("its input")
        .write_all(text.as_ref())
        .expect("the text");
    let out = sum.wait_with_output().expect("its digest");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .expect("a digest")
        .to_string()
}

#[tokio::test]
async fn each_step_of_a_run_holds_the_hash_of_the_one_before_and_a_changed_record_shows() {
    // Given an application failed over
    let t = TestAccount::new().await;
    let (config, _, _, plan) = ready_application(&t).await;
    let hash = plan["hash"].as_str().expect("hash").to_string();
    let answer = json_of(&bulwark_with(
        &t,
        &[],
        &[execute(&config, &hash), vec!["--confirm"]].concat(),
    ));
    let run_id = answer["run"]["id"].as_str().expect("the run").to_string();

    // Then its steps are numbered from 1, the first after the zero hash, each after the
    // SHA-256 (coreutils') of the one before
    let mut events: Vec<serde_json::Value> = answer["events"].as_array().expect("events").clone();
    events.sort_by_key(|e| e["seq"].as_u64());
    assert!(events.len() > 5, "{answer:#}");
    assert_eq!(events[0]["seq"], 1);
    assert_eq!(events[0]["previous"], "0".repeat(64));
    for pair in events.windows(2) {
        assert_eq!(
            pair[1]["seq"].as_u64(),
            pair[0]["seq"].as_u64().map(|s| s + 1)
        );
        assert_eq!(
            pair[1]["previous"],
            sha256sum(step_text(&pair[0])),
            "{pair:#?}"
        );
    }
    assert_eq!(answer["chain"]["intact"], true, "{}", answer["chain"]);

    // When one step's record is changed afterwards in the state table
    let dynamodb = t.dynamodb(DR_REGION);
    let items = dynamodb
        .query()
        .table_name("bulwark-cli-test")
        .key_condition_expression("pk = :pk AND begins_with(sk, :run)")
        .expression_attribute_values(":pk", AttributeValue::S("failover".into()))
        .expression_attribute_values(":run", AttributeValue::S(format!("{run_id}#event#")))
        .send()
        .await
        .expect("the run's steps");
    let (item, seq) = items
        .items()
        .iter()
        .find_map(|item| {
            let body: serde_json::Value =
                serde_json::from_str(item.get("body")?.as_s().ok()?).ok()?;
            (body["step"] == "validate").then(|| (item.clone(), body["seq"].as_u64()))
        })
        .expect("a validation step");
    let body = item["body"]
        .as_s()
        .expect("its body")
        .replace("passed", "PASSED");
    let mut changed = item.clone();
    changed.insert("body".into(), AttributeValue::S(body));
    dynamodb
        .put_item()
        .table_name("bulwark-cli-test")
        .set_item(Some(changed))
        .send()
        .await
        .expect("the step changed");

    // Then the run's status says where the chain breaks: at the step after it
    let status = json_of(&bulwark_with(
        &t,
        &[],
        &["failover", "status", &run_id, "--format", "json"],
    ));
    assert_eq!(status["chain"]["intact"], false, "{}", status["chain"]);
    assert_eq!(status["chain"]["broken_at"].as_u64(), seq.map(|s| s + 1));
}
