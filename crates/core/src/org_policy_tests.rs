use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::*;
use crate::protection::selection_matches;

fn config(regions: &str) -> Config {
    let text = format!(
        "{}\n[organization_policies]\ntargets = [\"ou-ab12-cdef3456\", \"111122223333\"]\nregions = {regions}\n",
        crate::config::BUILTIN_TOML
    );
    Config::from_toml_str("org.toml", &text).expect("valid")
}

/// An effective policy as AWS Organizations gives it: the operators gone.
fn effective(node: &Value) -> Value {
    match node {
        Value::Object(map) if map.contains_key("@@assign") => effective(&map["@@assign"]),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), effective(v))).collect())
        }
        other => other.clone(),
    }
}

#[test]
fn each_tier_is_one_policy_of_its_plans_for_every_account_by_the_account_variable() {
    let policies = render(&config("[\"us-east-1\", \"eu-west-1\"]")).expect("renders");
    let names: Vec<&str> = policies.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "bulwark-archival",
            "bulwark-critical",
            "bulwark-important",
            "bulwark-standard"
        ]
    );
    let critical = &policies[1].content;
    let plans = critical["plans"].as_object().expect("plans");
    // Both regions copy to us-west-2: one plan each kind group, naming both
    let plan = &plans["bulwark-critical-s3rds"];
    assert_eq!(
        plan["regions"],
        json!({"@@assign": ["us-east-1", "eu-west-1"]})
    );
    let snapshot = &plan["rules"]["snapshot"];
    assert_eq!(
        snapshot["target_backup_vault_name"],
        json!({"@@assign": "bulwark"})
    );
    let copy = "arn:aws:backup:us-west-2:$account:backup-vault:bulwark";
    assert_eq!(
        snapshot["copy_actions"][copy]["target_backup_vault_arn"],
        json!({"@@assign": copy})
    );
    let selection = plan["selections"]["resources"]
        .as_object()
        .and_then(|s| s.values().next())
        .expect("a selection");
    assert_eq!(
        selection["iam_role_arn"],
        json!({"@@assign": "arn:aws:iam::$account:role/service-role/AWSBackupDefaultServiceRole"})
    );
    assert_eq!(
        selection["conditions"]["string_equals"]["bulwark_tier"]["condition_value"],
        json!({"@@assign": "critical"})
    );
    for policy in &policies {
        check(policy).expect("within AWS's limits");
    }
}

#[test]
fn regions_with_different_dr_regions_get_a_plan_each() {
    // us-west-2 copies to us-east-1; us-east-1 to us-west-2
    let policies = render(&config("[\"us-east-1\", \"us-west-2\"]")).expect("renders");
    let critical = policies
        .iter()
        .find(|p| p.name == "bulwark-critical")
        .expect("critical");
    let plans = critical.content["plans"].as_object().expect("plans");
    assert!(
        plans.contains_key("bulwark-critical-s3rds-us-east-1"),
        "{plans:?}"
    );
    assert!(
        plans.contains_key("bulwark-critical-s3rds-us-west-2"),
        "{plans:?}"
    );
    assert_eq!(
        plans["bulwark-critical-s3rds-us-west-2"]["regions"],
        json!({"@@assign": ["us-west-2"]})
    );
}

#[test]
fn what_aws_organizations_would_refuse_is_refused_before_any_call() {
    let big = BackupPolicy {
        name: "bulwark-huge".into(),
        description: String::new(),
        content: json!({ "plans": { "p": { "regions": { "@@assign": vec!["us-east-1"; 1_000] } } } }),
    };
    assert!(check(&big).expect_err("too big").contains("10000"));
    let unknown = BackupPolicy {
        name: "bulwark-odd".into(),
        description: String::new(),
        content: json!({ "plans": { "p": { "regions": { "@@replace": ["us-east-1"] } } } }),
    };
    assert!(check(&unknown)
        .expect_err("refused")
        .contains("plans.p.regions.@@replace"));
}

#[test]
fn changes_make_create_attach_update_detach_and_delete_and_nothing_when_it_matches() {
    let desired = render(&config("[\"us-east-1\"]")).expect("renders");
    let targets = vec!["ou-ab12-cdef3456".to_string(), "111122223333".to_string()];
    let empty = OrganizationFacts {
        root_id: "r-ab12".into(),
        backup_policies_enabled: false,
        policies: Vec::new(),
    };
    let first = changes(&desired, &targets, &empty);
    assert_eq!(
        first[0],
        OrgChange::EnableBackupPolicies {
            root_id: "r-ab12".into()
        }
    );
    assert_eq!(
        first
            .iter()
            .filter(|c| matches!(c, OrgChange::Create { .. }))
            .count(),
        4
    );
    assert_eq!(
        first
            .iter()
            .filter(|c| matches!(c, OrgChange::Attach { .. }))
            .count(),
        8
    );

    // As made: nothing to do
    let made = |policy: &BackupPolicy, targets: Vec<String>| ExistingPolicy {
        id: format!("p-{}", policy.name.len()),
        name: policy.name.clone(),
        content: policy.content.clone(),
        targets,
    };
    let as_made = OrganizationFacts {
        backup_policies_enabled: true,
        policies: desired.iter().map(|p| made(p, targets.clone())).collect(),
        ..empty.clone()
    };
    assert_eq!(changes(&desired, &targets, &as_made), []);

    // Edited by hand, attached elsewhere, and a tier gone: updated, detached, deleted
    let mut drifted = as_made.clone();
    drifted.policies[1].content["plans"]["bulwark-critical-s3rds"]["regions"] =
        json!({"@@assign": ["us-east-1", "ap-south-1"]});
    drifted.policies[1].targets.push("444455556666".into());
    drifted.policies.push(ExistingPolicy {
        id: "p-gone".into(),
        name: "bulwark-gold".into(),
        content: json!({}),
        targets: vec!["r-ab12".into()],
    });
    let fixed = changes(&desired, &targets, &drifted);
    let lines: Vec<String> = fixed.iter().map(OrgChange::describe).collect();
    assert!(lines
        .iter()
        .any(|l| l.starts_with("update the backup policy bulwark-critical")));
    assert!(lines.contains(&"detach bulwark-critical from 444455556666".to_string()));
    assert!(lines.contains(&"detach bulwark-gold from r-ab12".to_string()));
    assert!(lines.contains(&"delete the backup policy bulwark-gold (its tier is gone)".to_string()));
    assert_eq!(fixed.len(), 4, "{lines:?}");
}

#[test]
fn an_accounts_effective_policy_reads_back_as_the_plans_that_select_its_stores() {
    let policies = render(&config("[\"us-east-1\"]")).expect("renders");
    let mut plans = serde_json::Map::new();
    for policy in &policies {
        for (name, plan) in policy.content["plans"].as_object().expect("plans") {
            plans.insert(name.clone(), plan.clone());
        }
    }
    let content = effective(&json!({ "plans": plans }));
    let state = effective_state(&content, "123456789012", "us-east-1");
    let tagged: BTreeMap<String, String> =
        BTreeMap::from([(TIER_TAG.to_string(), "critical".to_string())]);
    let bucket = "arn:aws:s3:::ledger";
    let picking: Vec<&String> = state
        .selections
        .iter()
        .filter(|(_, s)| selection_matches(s, bucket, &tagged))
        .map(|((plan, _), _)| plan)
        .collect();
    assert_eq!(picking, ["bulwark-critical-s3rds"]);
    let plan = &state.plans["bulwark-critical-s3rds"];
    assert!(!plan.managed);
    assert_eq!(
        plan.rules[0].copy_actions[0].destination_vault_arn,
        "arn:aws:backup:us-west-2:123456789012:backup-vault:bulwark"
    );
    // A region the policy does not name runs none of its plans
    assert!(effective_state(&content, "123456789012", "eu-west-1")
        .plans
        .is_empty());
}

#[test]
fn an_accounts_own_plans_stay_until_the_organizations_run_in_their_place() {
    let config = config("[\"us-east-1\"]");
    let own = crate::protection::render_with_plans(&config, "123456789012", "us-east-1")
        .expect("renders");
    let central = crate::protection::render(&config, "123456789012", "us-east-1").expect("renders");
    assert!(central.plans.is_empty() && central.selections.is_empty());

    // No effective policy yet: every plan Bulwark made stays, with its selections
    let mut desired = central.clone();
    keep_until_covered(&mut desired, &own, &BackupState::default());
    assert_eq!(desired.plans, own.plans);
    assert_eq!(desired.selections, own.selections);
    assert_eq!(crate::protection::diff(&own, &desired), []);

    // The organization's critical plans run: those go, the others stay
    let policies = render(&config).expect("renders");
    let critical = policies
        .iter()
        .find(|p| p.name == "bulwark-critical")
        .expect("critical");
    let organization = effective_state(&effective(&critical.content), "123456789012", "us-east-1");
    let mut desired = central.clone();
    keep_until_covered(&mut desired, &own, &organization);
    assert!(desired
        .plans
        .keys()
        .all(|name| !name.starts_with("bulwark-critical")));
    assert!(desired
        .plans
        .keys()
        .any(|name| name.starts_with("bulwark-standard")));
    // A plan someone else made is never kept by this (nor deleted by the diff)
    let mut theirs = own.clone();
    theirs.plans.values_mut().for_each(|p| p.managed = false);
    let mut desired = central;
    keep_until_covered(&mut desired, &theirs, &BackupState::default());
    assert!(desired.plans.is_empty());
}
