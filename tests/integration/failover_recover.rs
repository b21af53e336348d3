//! What a recovery must bring back: a store deleted from the primary region (the classic
//! reason to recover) is restored from its last copy, and carries its source's tags and tier;
//! and what a failback must bring home: the data written in the DR region.

use aws_sdk_dynamodb::types::AttributeValue;

use crate::cli::ok;
use crate::failover::{plan_of, DR_REGION};
use crate::failover_run::{
    bulwark_with, execute, items_in, json_of, planned_name, ready_application, restore_jobs_in,
    switch_values,
};
use crate::harness::{TestAccount, HOME_REGION};

#[tokio::test]
async fn a_deleted_table_of_a_tag_selected_application_is_restored_from_its_last_copy() {
    // Given an application selected by its tags, ready to fail over
    let t = TestAccount::new().await;
    let (config, zone, _, _) = ready_application(&t).await;

    // When its table is deleted in the primary region, and the next sweep finds it gone
    t.dynamodb(HOME_REGION)
        .delete_table()
        .table_name("orders")
        .send()
        .await
        .expect("the table deleted");
    ok(&t, &["discover"]);

    // Then the plan keeps it, from its last copy in the DR region, its source gone
    let plan = plan_of(&t, std::path::Path::new(&config));
    assert_eq!(plan["plan"]["ready"], true, "{plan:#}");
    let orders = plan["plan"]["stores"]
        .as_array()
        .expect("stores")
        .iter()
        .find(|s| {
            s["arn"]
                .as_str()
                .is_some_and(|a| a.ends_with(":table/orders"))
        })
        .expect("the deleted table is in the plan");
    assert!(orders["source_gone_at"].is_string(), "{orders:#}");
    assert!(
        orders["copy"]["recovery_point_arn"].is_string(),
        "{orders:#}"
    );
    let hash = plan["plan"]["hash"].as_str().expect("hash").to_string();

    // When the application is failed over
    let answer = json_of(&bulwark_with(
        &t,
        &[],
        &[execute(&config, &hash), vec!["--confirm"]].concat(),
    ));

    // Then it succeeded: the table is restored in the DR region with its items, judged alone
    // (there is no source to compare with), and the switches name it
    let run = &answer["run"];
    assert_eq!(run["ending"]["outcome"], "succeeded", "{answer:#}");
    assert_eq!(run["requested_by"], "on-call");
    assert!(
        run["caller"]
            .as_str()
            .is_some_and(|c| c.starts_with(&format!("arn:aws:sts::{}:assumed-role/", t.account))),
        "who AWS authenticated, beside who the request named: {run:#}"
    );
    let table = planned_name(run, ":dynamodb:");
    assert_eq!(items_in(&t, DR_REGION, &table).await, 3);
    assert_eq!(switch_values(&t, &zone).await.1, table);

    // And it carries its source's tags and tier, marked as the run's: the next sweep in the
    // DR region classifies and protects it as its source was
    let arn = run["stores"]
        .as_array()
        .expect("stores")
        .iter()
        .filter_map(|s| s["restored"]["arn"].as_str())
        .find(|a| a.contains(":table/"))
        .expect("the restored table's ARN");
    let tags: std::collections::BTreeMap<String, String> = t
        .dynamodb(DR_REGION)
        .list_tags_of_resource()
        .resource_arn(arn)
        .send()
        .await
        .expect("its tags")
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    let run_id = run["id"].as_str().expect("the run's id");
    for (key, value) in [
        ("Application", "payments"),
        ("DataClassification", "Critical"),
        ("bulwark:tier", "critical"),
        ("bulwark:failover", run_id),
    ] {
        assert_eq!(tags.get(key).map(String::as_str), Some(value), "{tags:?}");
    }
}

#[tokio::test]
async fn a_failover_and_its_failback_carry_the_data_written_in_the_dr_region_home() {
    // Given an application failed over to the DR region
    let t = TestAccount::new().await;
    let (config, zone, _, plan) = ready_application(&t).await;
    let hash = plan["hash"].as_str().expect("hash").to_string();
    let forward = json_of(&bulwark_with(
        &t,
        &[],
        &[execute(&config, &hash), vec!["--confirm"]].concat(),
    ));
    assert_eq!(
        forward["run"]["ending"]["outcome"], "succeeded",
        "{forward:#}"
    );
    let served = planned_name(&forward["run"], ":dynamodb:");

    // And an item written in the DR region while it serves from there
    t.dynamodb(DR_REGION)
        .put_item()
        .table_name(&served)
        .item("id", AttributeValue::S("d".into()))
        .send()
        .await
        .expect("an item written in the DR region");

    // When the restored stores are swept, classified and protected there (their tags and tier
    // came with them), backed up, and copied to the primary region
    for step in ["discover", "classify", "apply"] {
        ok(&t, &["--regions", DR_REGION, step]);
    }
    crate::harness::control(
        &format!(
            "/moto-api/bulwark/backup/run-plans?account={}&region={DR_REGION}",
            t.account
        ),
        &serde_json::json!({}),
    );
    for store in forward["run"]["stores"].as_array().expect("stores") {
        let arn = store["restored"]["arn"].as_str().expect("a restored store");
        crate::restore::wait_for_point_of(&t, HOME_REGION, arn).await;
    }

    // Then the failback's plan is ready, from those copies
    let back_plan = json_of(&bulwark_with(
        &t,
        &[],
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
    ));
    assert_eq!(back_plan["plan"]["ready"], true, "{back_plan:#}");
    let back_hash = back_plan["plan"]["hash"].as_str().expect("hash");

    // When it is executed, from the primary region
    let back = json_of(&bulwark_with(
        &t,
        &[],
        &[
            "--config",
            &config,
            "failover",
            "execute",
            "--app",
            "payments",
            "--plan-hash",
            back_hash,
            "--failback",
            "--confirm",
            "--reason",
            "us-east-1 is back",
            "--requested-by",
            "on-call",
            "--poll-seconds",
            "0.2",
            "--format",
            "json",
        ],
    ));

    // Then it succeeded as the failback of the failover: the table restored at home holds
    // the three items it had and the one written in the DR region, and the switches name it
    let run = &back["run"];
    assert_eq!(run["ending"]["outcome"], "succeeded", "{back:#}");
    assert_eq!(run["failback_of"], forward["run"]["id"]);
    assert_eq!(run["plan"]["dr_region"], HOME_REGION);
    let home = planned_name(run, ":dynamodb:");
    assert_eq!(items_in(&t, HOME_REGION, &home).await, 4);
    let (record, parameter) = switch_values(&t, &zone).await;
    assert_eq!(parameter, home);
    assert_eq!(record, format!("{home}.tables.example.net"));
}

#[tokio::test]
async fn a_recovery_to_before_a_time_brings_back_the_items_deleted_after_it() {
    // Given an application backed up in its own region
    let t = TestAccount::new().await;
    let (config, zone, _, _) = ready_application(&t).await;
    let table_arn = format!("arn:aws:dynamodb:{HOME_REGION}:{}:table/orders", t.account);
    crate::restore::wait_for_point_of(&t, HOME_REGION, &table_arn).await;

    // When, after its backup, two of its table's items are deleted (a bad migration)
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let before = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    for id in ["b", "c"] {
        t.dynamodb(HOME_REGION)
            .delete_item()
            .table_name("orders")
            .key("id", AttributeValue::S(id.into()))
            .send()
            .await
            .expect("an item deleted");
    }
    assert_eq!(items_in(&t, HOME_REGION, "orders").await, 1);

    // Then a recovery to before then plans each store in place, from its point before it
    let recover = |extra: &[&str]| {
        let args = [
            &[
                "--config", &config, "recover", "--app", "payments", "--before", &before,
            ][..],
            extra,
            &["--poll-seconds", "0.2", "--format", "json"][..],
        ]
        .concat();
        json_of(&bulwark_with(&t, &[], &args))
    };
    let plan = recover(&[]);
    assert_eq!(plan["plan"]["ready"], true, "{plan:#}");
    assert_eq!(plan["plan"]["dr_region"], HOME_REGION);
    assert!(plan["plan"]["recover_before"].is_string(), "{plan:#}");
    assert_eq!(plan["plan"]["stores"].as_array().map(Vec::len), Some(2));
    // And one of the table alone plans the table and the switches that name it (both do)
    let one = recover(&["--arn", &table_arn]);
    assert_eq!(one["plan"]["ready"], true, "{one:#}");
    let stores: Vec<&str> = one["plan"]["stores"]
        .as_array()
        .expect("stores")
        .iter()
        .filter_map(|s| s["arn"].as_str())
        .collect();
    assert_eq!(stores, [table_arn.as_str()]);
    assert_eq!(one["plan"]["switches"].as_array().map(Vec::len), Some(2));
    assert_ne!(one["plan"]["hash"], plan["plan"]["hash"]);
    let hash = one["plan"]["hash"].as_str().expect("hash").to_string();
    let restores_before = restore_jobs_in(&t, HOME_REGION).await;

    // When the table's recovery is executed
    let recovered = recover(&[
        "--arn",
        &table_arn,
        "--plan-hash",
        &hash,
        "--confirm",
        "--reason",
        "a bad migration deleted orders",
        "--requested-by",
        "on-call",
    ]);

    // Then the table restored beside the damaged one holds the three items, and the
    // switches name it
    let run = &recovered["run"];
    assert_eq!(run["ending"]["outcome"], "succeeded", "{recovered:#}");
    let table = planned_name(run, ":dynamodb:");
    assert_eq!(items_in(&t, HOME_REGION, &table).await, 3);
    assert_eq!(switch_values(&t, &zone).await.1, table);
    assert_eq!(
        items_in(&t, HOME_REGION, "orders").await,
        1,
        "the damaged table is left as it is"
    );
    assert_eq!(
        restore_jobs_in(&t, HOME_REGION).await,
        restores_before + 1,
        "the table alone was restored"
    );
}
