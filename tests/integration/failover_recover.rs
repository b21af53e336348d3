//! What a recovery must bring back: a store deleted from the primary region (the classic
//! reason to recover) is restored from its last copy, and carries its source's tags and tier.

use crate::cli::ok;
use crate::failover::{plan_of, DR_REGION};
use crate::failover_run::{
    bulwark_with, execute, json_of, planned_name, ready_application, switch_values,
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
    let items = t
        .dynamodb(DR_REGION)
        .scan()
        .table_name(&table)
        .send()
        .await
        .expect("the restored table")
        .count();
    assert_eq!(items, 3);
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
