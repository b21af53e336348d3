//! A failover of a member account's store, driven from the home account through the member
//! stack's organization role: planned from the copies in the member's DR vault, restored and
//! validated in the member's DR region, switched at home.

use aws_sdk_dynamodb::types::AttributeValue;

use crate::cli::ok;
use crate::failover::{backup_role, config_file, switches_as_they_are, DR_REGION};
use crate::failover_run::{bulwark_with, execute, json_of, restore_jobs_in};
use crate::harness::{TestAccount, HOME_REGION, MEMBER_ROLE};
use crate::restore::{run_plans, wait_for_point_of};
use crate::seed;

#[tokio::test]
async fn a_member_accounts_store_fails_over_in_its_own_account_through_the_member_stacks_role() {
    // Given an organization whose member account, with the member stack deployed, holds the
    // application's critical table with items; discovered, classified and protected from the
    // home account through the member stack's role, backed up and copied to the DR region
    let home = TestAccount::new().await;
    let (org_id, member_id) = home.organization().await;
    let member = TestAccount::in_account(&member_id).await;
    member.deploy_member_stack(&home, &org_id);
    let app = [
        ("Application", "payments"),
        ("DataClassification", "Critical"),
    ];
    seed::table(&member, HOME_REGION, "orders", &app).await;
    for id in ["a", "b", "c"] {
        member
            .dynamodb(HOME_REGION)
            .put_item()
            .table_name("orders")
            .item("id", AttributeValue::S(id.into()))
            .send()
            .await
            .expect("an item");
    }
    let org = ["--org-role", MEMBER_ROLE];
    for step in ["init", "discover", "classify", "apply"] {
        ok(&home, &[&org[..], &[step]].concat());
    }
    run_plans(&member);
    let arn = format!("arn:aws:dynamodb:{HOME_REGION}:{member_id}:table/orders");
    wait_for_point_of(&member, DR_REGION, &arn).await;
    // and the application's switches at home, where Bulwark's own roles are
    let zone = switches_as_they_are(&home).await;
    backup_role(&home).await;
    let config = config_file(&home, &zone);
    let config = config.to_str().expect("a path");

    // When on-call plans the failover through the role, then executes it
    let plan = json_of(&bulwark_with(
        &home,
        &[],
        &[
            &org[..],
            &[
                "--config", config, "failover", "plan", "--app", "payments", "--format", "json",
            ],
        ]
        .concat(),
    ));
    assert_eq!(plan["plan"]["ready"], true, "{plan:#}");
    let hash = plan["plan"]["hash"].as_str().expect("hash");
    let answer = json_of(&bulwark_with(
        &home,
        &[],
        &[&org[..], &execute(config, &hash[..16]), &["--confirm"]].concat(),
    ));

    // Then the run succeeded: the member's table was restored from its DR copy in the
    // member's DR region, as the member stack's role may, validated, and the switches moved
    let run = &answer["run"];
    assert_eq!(run["ending"]["outcome"], "succeeded", "{answer:#}");
    let stores = run["stores"].as_array().expect("stores");
    assert_eq!(stores.len(), 1, "{answer:#}");
    let restored = stores[0]["restored"]["arn"].as_str().expect("restored");
    assert!(
        restored.starts_with(&format!(
            "arn:aws:dynamodb:{DR_REGION}:{member_id}:table/bulwark-fo-"
        )),
        "{restored}"
    );
    assert_eq!(restore_jobs_in(&member, DR_REGION).await, 1);
    assert_eq!(restore_jobs_in(&home, DR_REGION).await, 0);
}
