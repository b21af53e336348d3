//! diff, apply and unreconciled against the rendered default.

use super::super::*;
use super::{builtin, PRIMARY};

#[test]
fn a_second_diff_is_empty_and_creation_goes_vaults_plans_selections() {
    let desired = builtin();
    let actions = diff(&BackupState::default(), &desired);
    let rank = |a: &Action| match a {
        Action::CreateVault(_)
        | Action::PutVaultLock { .. }
        | Action::PutVaultAccessPolicy { .. } => 0,
        Action::CreatePlan(_) | Action::UpdatePlan(_) => 1,
        Action::DeleteSelection { .. } => 2,
        Action::CreateSelection(_) => 3,
    };
    assert!(
        actions.windows(2).all(|w| rank(&w[0]) <= rank(&w[1])),
        "{actions:#?}"
    );
    // 2 vaults each with a lock and a policy, 9 plans, 9 selections.
    assert_eq!(actions.len(), 2 * 3 + 9 + 9);
    let after = apply(&BackupState::default(), &actions);
    assert_eq!(after, desired);
    assert_eq!(diff(&after, &desired), []);
}

#[test]
fn drift_is_corrected_and_unmanaged_things_are_left_alone() {
    let desired = builtin();
    let mut actual = desired.clone();
    let plan = "bulwark-critical-s3rds".to_string();
    let key = (plan.clone(), format!("{plan}-assets"));
    actual.plans.get_mut(&plan).expect("plan").rules[0].schedule = "cron(0 5 ? * * *)".into();
    actual
        .selections
        .get_mut(&key)
        .expect("selection")
        .conditions
        .clear();
    let stray = Selection {
        name: "stray".into(),
        ..actual.selections[&key].clone()
    };
    actual
        .selections
        .insert((plan.clone(), "stray".into()), stray);
    let by_hand = Plan {
        name: "by-hand".into(),
        rules: Vec::new(),
        managed: false,
    };
    actual.plans.insert("by-hand".into(), by_hand);
    let theirs = Selection {
        plan_name: "by-hand".into(),
        ..actual.selections[&key].clone()
    };
    actual
        .selections
        .insert(("by-hand".into(), key.1.clone()), theirs.clone());
    let primary = (PRIMARY.to_string(), "bulwark".to_string());
    actual
        .vaults
        .get_mut(&primary)
        .expect("vault")
        .access_policy = None;

    let actions = diff(&actual, &desired);
    assert_eq!(
        actions,
        [
            Action::PutVaultAccessPolicy {
                region: PRIMARY.into(),
                vault: "bulwark".into(),
                policy: desired.vaults[&primary]
                    .access_policy
                    .clone()
                    .expect("policy"),
            },
            Action::UpdatePlan(desired.plans[&plan].clone()),
            Action::DeleteSelection {
                plan_name: plan.clone(),
                name: key.1.clone()
            },
            Action::DeleteSelection {
                plan_name: plan.clone(),
                name: "stray".into()
            },
            Action::CreateSelection(desired.selections[&key].clone()),
        ]
    );
    let after = apply(&actual, &actions);
    assert_eq!(after.selections[&("by-hand".to_string(), key.1)], theirs);
    assert_eq!(diff(&after, &desired), []);
}

#[test]
fn what_diff_cannot_fix_is_reported() {
    let desired = builtin();
    let mut actual = desired.clone();
    let primary = (PRIMARY.to_string(), "bulwark".to_string());
    actual
        .vaults
        .get_mut(&primary)
        .expect("vault")
        .kms_key_alias = "alias/old".into();
    actual
        .plans
        .get_mut("bulwark-standard-all")
        .expect("plan")
        .managed = false;
    actual
        .plans
        .get_mut("bulwark-standard-all")
        .expect("plan")
        .rules
        .clear();
    let found = unreconciled(&actual, &desired);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[0].contains("a vault's key cannot change"),
        "{found:#?}"
    );
    assert!(found[1].contains("plan bulwark-standard-all was not created by Bulwark"));
    assert!(diff(&actual, &desired).is_empty());
}
