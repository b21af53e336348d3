//! A member account's store, protected and restore tested in that account through the
//! organization role a member stack makes (`Deployment=member`): restored, validated and
//! deleted there, as the home functions' template roles and the member role allow.

use aws_sdk_dynamodb::types::AttributeValue;

use bulwark_aws::restore::{self, sweep, Origin};
use bulwark_aws::Reach;
use bulwark_core::{Config, Scope};
use chrono::Utc;

use crate::harness::{region, TestAccount, HOME_REGION, MEMBER_ROLE};
use crate::restore::{leftovers_in, wait_for_point_of};
use crate::seed;

/// In the member account: a critical table with items.
async fn member_table(member: &TestAccount) -> String {
    seed::table(
        member,
        HOME_REGION,
        "member-ledger",
        &[("DataClassification", "Critical")],
    )
    .await;
    let ddb = member.dynamodb(HOME_REGION);
    for n in 0..12 {
        ddb.put_item()
            .table_name("member-ledger")
            .item("id", AttributeValue::S(format!("entry-{n:03}")))
            .send()
            .await
            .expect("put item");
    }
    format!(
        "arn:aws:dynamodb:{HOME_REGION}:{}:table/member-ledger",
        member.account
    )
}

#[tokio::test]
async fn a_member_accounts_store_is_protected_and_restore_tested_in_its_account_through_the_member_stacks_role(
) {
    // Given an organization whose member account, with the member stack deployed, holds a
    // critical table; and the management account's inventory of it, swept through the
    // member stack's organization role
    let management = TestAccount::new().await;
    let (org_id, member_id) = management.organization().await;
    let member = TestAccount::in_account(&member_id).await;
    member.deploy_member_stack(&management, &org_id);
    let arn = member_table(&member).await;
    let org = [("OrgRole", MEMBER_ROLE), ("OrgId", org_id.as_str())];
    let discoverer = management.function_with("discover", &org).await;
    let reach = Reach {
        regions: vec![region(HOME_REGION)],
        org_role: Some(MEMBER_ROLE.to_string()),
    };
    let swept = bulwark_aws::ops::discover_all(
        &discoverer,
        &management.inventory(&discoverer).await,
        &reach,
        4,
        Utc::now(),
    )
    .await
    .expect("sweep");
    assert!(swept.failures.is_empty(), "{:?}", swept.failures);
    bulwark_aws::ops::classify_scopes(
        &management.inventory(&discoverer).await,
        &Config::builtin(),
        &swept.scopes,
    )
    .await
    .expect("classify");
    let asset = management
        .stored()
        .await
        .into_iter()
        .find(|a| a.arn.to_string() == arn)
        .expect("the member's table, inventoried");

    // And assign-policy, through the same role, made the member's vault, key and plan and
    // tagged the table with its tier
    let assigner = management.function_with("assign-policy", &org).await;
    let applied = bulwark_aws::assign::assign(
        &assigner,
        &management.inventory(&assigner).await,
        &Config::builtin(),
        Some(MEMBER_ROLE),
        bulwark_aws::assign::Targets::Everything,
        true,
        Utc::now(),
    )
    .await
    .expect("a report");
    assert!(applied.failures.is_empty(), "{:?}", applied.failures);
    let vaults = member
        .backup(HOME_REGION)
        .list_backup_vaults()
        .send()
        .await
        .expect("vaults");
    assert!(
        vaults
            .backup_vault_list()
            .iter()
            .any(|v| v.backup_vault_name() == Some("bulwark")),
        "{vaults:?}"
    );
    // And the member's critical plan ran: a backup of the table in its vault (the vault is
    // locked, so only a plan's lifecycle fits it)
    crate::restore::run_plans(&member);
    wait_for_point_of(&member, HOME_REGION, &arn).await;

    // When validate-restore, deployed for the organization, tests it
    let tester = management
        .function_with("validate-restore", &org)
        .await
        .with_org_role(Some(MEMBER_ROLE.to_string()));
    let inventory = management.inventory(&tester).await;
    let config = Config::builtin();
    let test = restore::run_test(
        &tester,
        &inventory,
        &config,
        &asset,
        Origin::Home,
        Utc::now(),
    )
    .await
    .expect("a test");

    // Then it restored the member's backup in the member's account, under its restore role,
    // and passed, leaving nothing there
    assert!(test.passed, "{test:?}");
    assert_eq!(test.region.as_deref(), Some(HOME_REGION));
    assert!(test.cleaned_up, "{test:?}");
    assert_eq!(leftovers_in(&member, HOME_REGION).await, 0);
    assert_eq!(leftovers_in(&management, HOME_REGION).await, 0);

    // And without the organization role it cannot reach the member's backups: the test fails,
    // saying so, and nothing is restored in either account
    let alone = management.function("validate-restore").await;
    let failed = restore::run_test(
        &alone,
        &inventory,
        &config,
        &asset,
        Origin::Home,
        Utc::now(),
    )
    .await
    .expect("a test");
    assert!(!failed.passed, "{failed:?}");
    assert_eq!(leftovers_in(&member, HOME_REGION).await, 0);
    assert_eq!(leftovers_in(&management, HOME_REGION).await, 0);

    // And a test that dies after its restore leaves its copy in the member's account, which
    // the sweep, reaching that account through the role, deletes once it has expired
    let started = restore::start(
        &tester,
        &inventory,
        &config,
        &asset,
        Origin::Home,
        "dies",
        Utc::now(),
    )
    .await
    .expect("started");
    crate::restore::until_restored(&tester, &config, &started).await;
    assert_eq!(leftovers_in(&member, HOME_REGION).await, 1);
    let scope = Scope {
        account: member.account.clone(),
        region: region(HOME_REGION),
    };
    let later = Utc::now() + chrono::Duration::hours(3);
    let report = sweep::sweep(&tester, &[scope], later).await.expect("sweep");
    assert!(report.failed.is_empty(), "{report:?}");
    assert_eq!(leftovers_in(&member, HOME_REGION).await, 0, "{report:?}");
}
