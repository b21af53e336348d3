//! Restore tests of a member account's store: restored, validated and deleted in that account
//! through the organization role, as the validate-restore function's template role may.

use aws_sdk_dynamodb::types::AttributeValue;

use bulwark_aws::restore::{self, sweep, Origin};
use bulwark_aws::Reach;
use bulwark_core::{Config, Scope};
use chrono::Utc;

use crate::harness::{region, TestAccount, ADMIN_ROLE, HOME_REGION};
use crate::restore::{leftovers_in, wait_for_point_of};
use crate::seed;

/// In the member account: the template's roles (AWS Backup's and the restore role), a
/// critical table with items, Bulwark's vault and one completed backup of the table in it.
async fn member_table_backed_up(member: &TestAccount) -> String {
    member.deploy_template(&[]);
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
    let arn = format!(
        "arn:aws:dynamodb:{HOME_REGION}:{}:table/member-ledger",
        member.account
    );
    let backup = member.backup(HOME_REGION);
    backup
        .create_backup_vault()
        .backup_vault_name("bulwark")
        .send()
        .await
        .expect("vault");
    backup
        .start_backup_job()
        .backup_vault_name("bulwark")
        .resource_arn(&arn)
        .iam_role_arn(format!(
            "arn:aws:iam::{}:role/service-role/AWSBackupDefaultServiceRole",
            member.account
        ))
        .send()
        .await
        .expect("backup job");
    wait_for_point_of(member, HOME_REGION, &arn).await;
    arn
}

#[tokio::test]
async fn a_member_accounts_store_is_restore_tested_in_its_account_through_the_organization_role() {
    // Given an organization whose member account holds a critical table, backed up there, and
    // the management account's inventory of it, swept through the organization role
    let management = TestAccount::new().await;
    let (org_id, member_id) = management.organization().await;
    let member = TestAccount::in_account(&member_id).await;
    let arn = member_table_backed_up(&member).await;
    let org = [("OrgRole", ADMIN_ROLE), ("OrgId", org_id.as_str())];
    let discoverer = management.function_with("discover", &org).await;
    let reach = Reach {
        regions: vec![region(HOME_REGION)],
        org_role: Some(ADMIN_ROLE.to_string()),
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

    // When validate-restore, deployed for the organization, tests it
    let tester = management
        .function_with("validate-restore", &org)
        .await
        .with_org_role(Some(ADMIN_ROLE.to_string()));
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
