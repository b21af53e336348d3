//! Central mode (`[organization_policies]`): `bulwark plan --org` shows the organization's
//! backup policies the taxonomy needs and changes nothing, `apply --org` makes and attaches them
//! (the local AWS's Organizations refuses a malformed or oversized policy, and one attached
//! before the type is enabled), a second plan is empty, a hand edit is put back. Under
//! assign-policy's template role, a member's own plans keep their selections until its
//! effective policy runs plans in their place, then select nothing, and coverage judges its
//! store by the effective policy.

use aws_sdk_organizations::types::EffectivePolicyType;
use bulwark_core::{Config, Control, Status};
use chrono::Utc;

use crate::cli::ok;
use crate::harness::{TestAccount, HOME_REGION, MEMBER_ROLE};

fn config_text(member: &str) -> String {
    format!(
        "{}\n[organization_policies]\ntargets = [\"{member}\"]\nregions = [\"{HOME_REGION}\"]\n",
        bulwark_core::config::BUILTIN_TOML
    )
}

async fn effective(management: &TestAccount, member: &str) -> serde_json::Value {
    let content = aws_sdk_organizations::Client::new(&management.in_region(HOME_REGION))
        .describe_effective_policy()
        .policy_type(EffectivePolicyType::BackupPolicy)
        .target_id(member)
        .send()
        .await
        .expect("the member's effective backup policy")
        .effective_policy()
        .and_then(|p| p.policy_content())
        .map(str::to_string)
        .expect("content");
    serde_json::from_str(&content).expect("JSON")
}

#[tokio::test]
async fn the_taxonomy_becomes_the_organizations_backup_policies_and_coverage_judges_stores_by_them()
{
    // Given an organization whose member account, with the member stack deployed, holds a
    // critical table, and a configuration in central mode attaching the policies to it
    let (management, org_id, member, table) =
        TestAccount::organization_with_critical_table("org-ledger").await;
    let member_id = member.account.to_string();
    let dir = std::env::temp_dir().join(format!("bulwark-org-{}", management.account));
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("bulwark.toml");
    std::fs::write(&file, config_text(&member_id)).expect("write");
    let path = file.to_str().expect("path");
    let config = Config::from_toml_str("org.toml", &config_text(&member_id)).expect("config");
    let org_parameters = [("OrgRole", MEMBER_ROLE), ("OrgId", org_id.as_str())];
    management
        .discover_and_classify_organization(&org_id, &config)
        .await;
    let assigner = management
        .function_with("assign-policy", &org_parameters)
        .await;
    let assigned_inventory = management.inventory(&assigner).await;
    let assign = |config: Config| {
        let (assigner, inventory) = (&assigner, &assigned_inventory);
        async move {
            let applied = bulwark_aws::assign::assign(
                assigner,
                inventory,
                &config,
                Some(MEMBER_ROLE),
                bulwark_aws::assign::Targets::Everything,
                true,
                Utc::now(),
            )
            .await
            .expect("a report");
            assert!(applied.failures.is_empty(), "{:?}", applied.failures);
        }
    };
    // The member's plans that select something: Bulwark never deletes a plan, it empties it
    let member_plans = || async {
        let backup = member.backup(HOME_REGION);
        let plans = backup
            .list_backup_plans()
            .send()
            .await
            .expect("plans")
            .backup_plans_list()
            .to_vec();
        let mut selecting = Vec::new();
        for plan in plans {
            let selections = backup
                .list_backup_selections()
                .backup_plan_id(plan.backup_plan_id().unwrap_or_default())
                .send()
                .await
                .expect("selections");
            if !selections.backup_selections_list().is_empty() {
                selecting.push(plan.backup_plan_name().unwrap_or_default().to_string());
            }
        }
        selecting.sort();
        selecting
    };
    // (the member protected by plans of its own, as before central mode)
    assign(Config::builtin()).await;
    let own = member_plans().await;
    assert!(
        own.contains(&"bulwark-critical-dynamodb".to_string()),
        "{own:?}"
    );

    // When assign-policy runs in central mode before the organization has any backup policy
    assign(config.clone()).await;

    // Then the member's own plans keep selecting: nothing else would protect its stores yet
    assert_eq!(member_plans().await, own);

    // When the plan is shown, as the management account
    let plan = ok(&management, &["--config", path, "plan", "--org"]);

    // Then it enables backup policies, makes one a tier and attaches each to the member...
    assert!(
        plan.contains("enable backup policies in the root"),
        "{plan}"
    );
    assert!(
        plan.contains("create the backup policy bulwark-critical"),
        "{plan}"
    );
    assert!(
        plan.contains(&format!("attach bulwark-critical to {member_id}")),
        "{plan}"
    );
    // ...and changes nothing
    let org = aws_sdk_organizations::Client::new(&management.in_region(HOME_REGION));
    let roots = org.list_roots().send().await.expect("roots");
    assert!(roots.roots()[0].policy_types().is_empty(), "{roots:?}");

    // When it is applied
    let applied = ok(&management, &["--config", path, "apply", "--org"]);
    assert!(applied.contains("change(s) made"), "{applied}");

    // Then the member's effective policy runs the critical tier's plans in the home region,
    // selecting by the tier tag, with the account's own role
    let content = effective(&management, &member_id).await;
    let plan_of_tables = &content["plans"]["bulwark-critical-dynamodb"];
    assert_eq!(
        plan_of_tables["regions"],
        serde_json::json!([HOME_REGION]),
        "{content}"
    );
    let selection = plan_of_tables["selections"]["resources"]
        .as_object()
        .and_then(|s| s.values().next())
        .expect("a selection");
    assert_eq!(
        selection["conditions"]["string_equals"]["bulwark_tier"]["condition_value"],
        "critical"
    );
    assert_eq!(
        selection["iam_role_arn"],
        "arn:aws:iam::$account:role/service-role/AWSBackupDefaultServiceRole"
    );

    // And a second plan has nothing to do
    let again = ok(&management, &["--config", path, "plan", "--org"]);
    assert!(again.contains("no changes"), "{again}");

    // When someone shortens the critical policy by hand, the next apply puts it back
    let critical = org
        .list_policies()
        .filter(aws_sdk_organizations::types::PolicyType::BackupPolicy)
        .send()
        .await
        .expect("policies")
        .policies()
        .iter()
        .find(|p| p.name() == Some("bulwark-critical"))
        .and_then(|p| p.id().map(str::to_string))
        .expect("the critical policy");
    org.update_policy()
        .policy_id(&critical)
        .content(r#"{"plans":{}}"#)
        .send()
        .await
        .expect("a hand edit");
    let drifted = ok(&management, &["--config", path, "plan", "--org"]);
    assert!(
        drifted.contains("update the backup policy bulwark-critical"),
        "{drifted}"
    );
    ok(&management, &["--config", path, "apply", "--org"]);
    assert!(ok(&management, &["--config", path, "plan", "--org"]).contains("no changes"));

    // When assign-policy runs in central mode again, the policies in force
    assign(config.clone()).await;

    // Then no plan of the member's own selects anything: its effective policy's plans protect it
    assert_eq!(member_plans().await, Vec::<String>::new());

    // And coverage judges the table selected by its account's effective policy
    let (coverage, _) = bulwark_aws::assign::coverage(
        &assigner,
        &assigned_inventory,
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
    assert_eq!(
        judged.selected_by,
        ["bulwark-critical-dynamodb"],
        "{judged:?}"
    );
    let by_plan = judged
        .controls
        .iter()
        .find(|r| r.control == Control::BackupResourcesProtectedByBackupPlan)
        .map(|r| r.status.clone());
    assert_eq!(by_plan, Some(Status::Compliant), "{judged:?}");
    crate::harness::assert_declared("assign-policy", &assigner.counter().snapshot());
}
