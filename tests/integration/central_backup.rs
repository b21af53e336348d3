//! The central backup account (`[central_backup]`): assign-policy makes its vault, open to the
//! organization's copies and closed to deletion, and renders a copy to it into every member's
//! plan of a tier with `central_retention`; the member's plan copies there (the local AWS
//! refuses copies from outside the organization or into a vault that does not allow them), and
//! coverage judges the cross-account control from what is there. A central account that
//! cannot be reached fails only its own steps.

use std::time::{Duration, Instant};

use bulwark_core::{Config, Control, Status};
use chrono::Utc;

use crate::harness::{TestAccount, HOME_REGION, MEMBER_ROLE};
use crate::restore::wait_for_point_of;
use crate::seed;

const CENTRAL_VAULT: &str = "bulwark-central";

/// The built-in configuration, with the critical tier kept 7 years in `central`'s vault.
fn config(central: &str, org_id: &str) -> Config {
    let text = bulwark_core::config::BUILTIN_TOML.replacen(
        "[tiers.critical]\n",
        "[tiers.critical]\ncentral_retention = \"2555d\"\n",
        1,
    ) + &format!(
        "\n[central_backup]\naccount = \"{central}\"\norganization_id = \"{org_id}\"\nregion = \"{HOME_REGION}\"\n"
    );
    Config::from_toml_str("central.toml", &text).expect("a configuration")
}

/// Wait until `t`'s central vault holds a completed copy of `store`.
async fn wait_for_central_copy(t: &TestAccount, store: &str) -> String {
    let started = Instant::now();
    loop {
        let listed = t
            .backup(HOME_REGION)
            .list_recovery_points_by_backup_vault()
            .backup_vault_name(CENTRAL_VAULT)
            .send()
            .await
            .expect("the central vault's points");
        if let Some(point) = listed.recovery_points().iter().find(|p| {
            p.resource_arn() == Some(store) && p.status().map(|s| s.as_str()) == Some("COMPLETED")
        }) {
            return point.recovery_point_arn().unwrap_or_default().to_string();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no copy of {store} in the central vault"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An organization whose member account, with the member stack deployed, holds a critical
/// table `table`, inventoried and classified under `config(central)` by the home functions'
/// roles, then applied by assign-policy's: the management account, the member, the
/// configuration, assign-policy's AWS, its report, and the table's ARN.
async fn applied_estate(
    table: &str,
    central: Option<&str>,
) -> (
    TestAccount,
    TestAccount,
    Config,
    bulwark_aws::Aws,
    bulwark_aws::assign::PolicyReport,
    String,
) {
    let (management, org_id, member, arn) =
        TestAccount::organization_with_critical_table(table).await;
    let config = config(central.unwrap_or(management.account.as_str()), &org_id);
    let org = [("OrgRole", MEMBER_ROLE), ("OrgId", org_id.as_str())];
    management
        .discover_and_classify_organization(&org_id, &config)
        .await;
    let assigner = management.function_with("assign-policy", &org).await;
    let applied = bulwark_aws::assign::assign(
        &assigner,
        &management.inventory(&assigner).await,
        &config,
        Some(MEMBER_ROLE),
        bulwark_aws::assign::Targets::Everything,
        true,
        Utc::now(),
    )
    .await
    .expect("a report");
    (management, member, config, assigner, applied, arn)
}

#[tokio::test]
async fn a_members_critical_copies_land_in_the_central_accounts_vault_and_meet_the_cross_account_control(
) {
    // Given an organization whose member account, with the member stack deployed, holds a
    // critical table; its management account is the central backup account, and the critical
    // tier keeps a copy there 7 years
    // When assign-policy applies, under its template role
    let (management, member, config, assigner, applied, table) =
        applied_estate("central-ledger", None).await;
    let org_id = config
        .central_backup()
        .map(|c| c.organization_id.clone())
        .expect("a central account");
    assert!(applied.failures.is_empty(), "{:?}", applied.failures);

    // Then the central account has the vault, open to the organization's copies only
    let policy = management
        .backup(HOME_REGION)
        .get_backup_vault_access_policy()
        .backup_vault_name(CENTRAL_VAULT)
        .send()
        .await
        .expect("the central vault's policy")
        .policy()
        .unwrap_or_default()
        .to_string();
    assert!(policy.contains("backup:CopyIntoBackupVault") && policy.contains(&org_id));
    assert!(policy.contains("OnlyAdminsLoseRecoveryPoints"), "{policy}");

    // And the member's plan, run, copies the table's backup there
    crate::restore::run_plans(&member);
    wait_for_point_of(&member, HOME_REGION, &table).await;
    wait_for_central_copy(&management, &table).await;

    // And coverage finds the copy: the cross-account control holds for the table
    let (coverage, _) = bulwark_aws::assign::coverage(
        &assigner,
        &management.inventory(&assigner).await,
        &config,
        Some(MEMBER_ROLE),
        bulwark_aws::assign::Targets::Everything,
        Utc::now(),
    )
    .await
    .expect("coverage");
    let judged = coverage
        .iter()
        .find(|c| c.arn == table)
        .expect("the table's coverage");
    let cross_account = judged
        .controls
        .iter()
        .find(|r| r.control == Control::BackupResourcesProtectedByCrossAccount)
        .map(|r| r.status.clone());
    assert_eq!(cross_account, Some(Status::Compliant), "{judged:?}");
    crate::harness::assert_declared("assign-policy", &assigner.counter().snapshot());
}

#[tokio::test]
async fn a_central_account_that_cannot_be_reached_fails_only_its_own_steps() {
    // Given a member's critical table, and a central account nobody can assume a role in
    // When assign-policy applies
    let unreachable = crate::harness::unique_account_id();
    let (_management, member, _config, _assigner, applied, _table) =
        applied_estate("stranded-ledger", Some(&unreachable)).await;

    // Then the central account's scope fails, naming it, and the member is protected all
    // the same
    assert!(!applied.failures.is_empty());
    assert!(
        applied
            .failures
            .iter()
            .all(|f| f.account.as_str() == unreachable
                && f.error.starts_with("the central backup account: ")),
        "{:?}",
        applied.failures
    );
    let vaults = member
        .backup(HOME_REGION)
        .list_backup_vaults()
        .send()
        .await
        .expect("vaults");
    assert!(vaults
        .backup_vault_list()
        .iter()
        .any(|v| v.backup_vault_name() == Some("bulwark")));
}

#[tokio::test]
async fn another_central_account_without_an_organization_role_is_refused_not_made_here() {
    // Given a single account (no organization role) with a critical table, and a configuration
    // naming another account as the central backup account
    let t = TestAccount::new().await;
    seed::table(
        &t,
        HOME_REGION,
        "solo-ledger",
        &[("DataClassification", "Critical")],
    )
    .await;
    t.discover_and_classify(&[HOME_REGION]).await;
    let elsewhere = crate::harness::unique_account_id();
    let config = config(&elsewhere, "o-abcdefghij");

    // When assign-policy applies, under its template role
    let assigner = t.function("assign-policy").await;
    let applied = bulwark_aws::assign::assign(
        &assigner,
        &t.inventory(&assigner).await,
        &config,
        None,
        bulwark_aws::assign::Targets::Everything,
        true,
        Utc::now(),
    )
    .await
    .expect("a report");

    // Then the central account's scope is refused, saying why, and no central vault is made
    // in this account in its stead; the table is protected all the same
    assert!(
        applied
            .failures
            .iter()
            .any(|f| f.account.as_str() == elsewhere
                && f.error.starts_with("the central backup account: ")
                && f.error.contains("no organization role")),
        "{:?}",
        applied.failures
    );
    let vaults = t
        .backup(HOME_REGION)
        .list_backup_vaults()
        .send()
        .await
        .expect("vaults");
    let names: Vec<&str> = vaults
        .backup_vault_list()
        .iter()
        .filter_map(|v| v.backup_vault_name())
        .collect();
    assert!(
        names.contains(&"bulwark") && !names.contains(&CENTRAL_VAULT),
        "{names:?}"
    );
}
