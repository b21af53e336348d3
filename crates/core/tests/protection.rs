//! Properties of the protection model: rendering selects every backed-up store exactly once,
//! and reconciling reaches the desired state on what Bulwark manages, in one pass, without
//! touching what it does not manage.

use std::collections::BTreeMap;

use bulwark_core::protection::{CopyAction, Lifecycle, TagCondition};
use bulwark_core::{
    apply, diff, plan_for, render, selection_matches, AccountId, BackupState, Config, Kind, Plan,
    PlanRule, Region, ResourceArn, Selection, Vault, VaultLock, TIER_TAG,
};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

const ACCOUNT: &str = "123456789012";
const PRIMARY: &str = "us-east-1";

fn builtin_render() -> BackupState {
    render(&Config::builtin(), ACCOUNT, PRIMARY).expect("renders")
}

/// Names the rendered state uses, so that generated states collide with it.
fn plan_names() -> Vec<String> {
    let mut names: Vec<String> = builtin_render().plans.into_keys().collect();
    names.extend(["by-hand".to_string(), "bulwark-retired".to_string()]);
    names
}

fn lifecycle() -> impl Strategy<Value = Option<Lifecycle>> {
    prop::option::of(
        (
            prop::option::of(select(vec![30u64, 90])),
            prop::option::of(select(vec![35u64, 365, 2555])),
        )
            .prop_map(|(cold, delete)| Lifecycle {
                move_to_cold_storage_after_days: cold,
                delete_after_days: delete,
            }),
    )
}

fn rule() -> impl Strategy<Value = PlanRule> {
    (
        select(vec!["snapshot", "continuous"]),
        select(vec!["bulwark", "legacy"]),
        select(vec!["cron(0 0/4 ? * * *)", "cron(0 5 ? * * *)"]),
        select(vec![60u64, 120]),
        select(vec![240u64, 720]),
        lifecycle(),
        any::<bool>(),
        prop::option::of(lifecycle()),
    )
        .prop_map(
            |(name, vault, schedule, start, completion, lifecycle, continuous, copy)| PlanRule {
                name: name.into(),
                target_vault: vault.into(),
                schedule: schedule.into(),
                start_window_minutes: start,
                completion_window_minutes: completion,
                lifecycle,
                continuous_backup: continuous,
                copy_actions: copy
                    .map(|lifecycle| CopyAction {
                        destination_vault_arn:
                            "arn:aws:backup:us-west-2:123456789012:backup-vault:bulwark".into(),
                        lifecycle,
                    })
                    .into_iter()
                    .collect(),
            },
        )
}

fn vault(managed: BoxedStrategy<bool>) -> impl Strategy<Value = Vault> {
    let lock = prop::option::of(
        (
            select(vec![7u64, 30]),
            prop::option::of(select(vec![2555u64, 3650])),
            prop::option::of(Just(3u64)),
        )
            .prop_map(|(min, max, changeable)| VaultLock {
                min_retention_days: min,
                max_retention_days: max,
                changeable_for_days: changeable,
            }),
    );
    let policy = builtin_render()
        .vaults
        .into_values()
        .find_map(|v| v.access_policy)
        .expect("rendered policy");
    (
        select(vec!["bulwark", "legacy"]),
        select(vec![PRIMARY, "us-west-2"]),
        select(vec!["alias/bulwark-backup", "alias/old"]),
        lock,
        prop::option::of(select(vec![policy, "{}".to_string()])),
        managed,
    )
        .prop_map(|(name, region, kms, lock, access_policy, managed)| Vault {
            name: name.into(),
            region: region.into(),
            kms_key_alias: kms.into(),
            lock,
            access_policy,
            managed,
        })
}

fn plan(managed: BoxedStrategy<bool>) -> impl Strategy<Value = Plan> {
    (select(plan_names()), vec(rule(), 0..3), managed).prop_map(|(name, rules, managed)| Plan {
        name,
        rules,
        managed,
    })
}

/// A selection, to be put under the plan the index picks.
fn selection() -> impl Strategy<Value = (usize, Selection)> {
    (
        any::<prop::sample::Index>().prop_map(|i| i.index(usize::MAX)),
        select(vec!["assets", "extra"]),
        prop::sample::subsequence(
            vec![
                "arn:aws:s3:::*",
                "arn:aws:rds:*:*:db:*",
                "arn:aws:ec2:*:*:volume/*",
            ],
            0..=3,
        ),
        select(vec!["critical", "standard"]),
    )
        .prop_map(|(index, name, resources, tier)| {
            (
                index,
                Selection {
                    name: name.into(),
                    plan_name: String::new(),
                    iam_role_arn:
                        "arn:aws:iam::123456789012:role/service-role/AWSBackupDefaultServiceRole"
                            .into(),
                    resources: resources.into_iter().map(str::to_string).collect(),
                    conditions: vec![TagCondition {
                        key: TIER_TAG.into(),
                        value: tier.into(),
                    }],
                },
            )
        })
}

/// A state AWS could hold: selections only under plans it has. With `managed` always true,
/// a state Bulwark could want.
fn state(managed: BoxedStrategy<bool>) -> impl Strategy<Value = BackupState> {
    (
        vec(vault(managed.clone()), 0..4),
        vec(plan(managed), 0..6),
        vec(selection(), 0..8),
    )
        .prop_map(|(vaults, plans, selections)| {
            let mut state = BackupState::default();
            for vault in vaults {
                state
                    .vaults
                    .insert((vault.region.clone(), vault.name.clone()), vault);
            }
            for plan in plans {
                state.plans.insert(plan.name.clone(), plan);
            }
            let names: Vec<String> = state.plans.keys().cloned().collect();
            for (index, mut selection) in selections {
                let Some(plan) = names.get(index % names.len().max(1)) else {
                    continue;
                };
                selection.plan_name = plan.clone();
                selection.name = format!("{plan}-{}", selection.name);
                state
                    .selections
                    .insert((plan.clone(), selection.name.clone()), selection);
            }
            state
        })
}

fn any_state() -> impl Strategy<Value = BackupState> {
    state(any::<bool>().boxed())
}

fn managed_state() -> impl Strategy<Value = BackupState> {
    state(Just(true).boxed())
}

/// The rendered state drifted: some of its parts kept as rendered, the rest as generated
/// (edited, missing, or someone else's under the same name), plus strays.
fn drifted() -> impl Strategy<Value = BackupState> {
    let desired = builtin_render();
    let parts = desired.vaults.len() + desired.plans.len() + desired.selections.len();
    (any_state(), vec(any::<bool>(), parts)).prop_map(move |(mut state, keep)| {
        let mut keep = keep.into_iter();
        for (key, vault) in &desired.vaults {
            if keep.next() == Some(true) {
                state.vaults.insert(key.clone(), vault.clone());
            }
        }
        for (key, plan) in &desired.plans {
            if keep.next() == Some(true) {
                state.plans.insert(key.clone(), plan.clone());
            }
        }
        for (key, selection) in &desired.selections {
            if keep.next() == Some(true) && state.plans.contains_key(&key.0) {
                state.selections.insert(key.clone(), selection.clone());
            }
        }
        state
    })
}

fn rules_sorted(plan: &Plan) -> Plan {
    let mut plan = plan.clone();
    plan.rules.sort_by(|a, b| a.name.cmp(&b.name));
    plan
}

/// `apply(actual, diff(actual, desired))` is `desired` on everything Bulwark manages, leaves
/// what it does not manage alone, and a second diff finds nothing.
fn check_reconcile(actual: &BackupState, desired: &BackupState) -> Result<(), TestCaseError> {
    let actions = diff(actual, desired);
    let after = apply(actual, &actions);
    prop_assert_eq!(diff(&after, desired), vec![], "a second pass is a no-op");

    for (key, have) in &actual.vaults {
        prop_assert!(after.vaults.contains_key(key), "vaults are never deleted");
        if !have.managed {
            prop_assert_eq!(&after.vaults[key], have);
        }
    }
    for (name, have) in &actual.plans {
        prop_assert!(after.plans.contains_key(name), "plans are never deleted");
        if !have.managed {
            prop_assert_eq!(&after.plans[name], have);
        }
    }
    let managed = |plan: &str| actual.plans.get(plan).is_some_and(|p| p.managed);
    for (key, have) in &actual.selections {
        if !managed(&key.0) {
            prop_assert_eq!(
                after.selections.get(key),
                Some(have),
                "someone else's selection"
            );
        }
    }

    for (key, want) in &desired.vaults {
        let expected = match actual.vaults.get(key) {
            Some(have) if !have.managed => have.clone(),
            // A vault's key cannot change and Bulwark never lifts a lock.
            Some(have) => Vault {
                kms_key_alias: have.kms_key_alias.clone(),
                lock: want.lock.clone().or_else(|| have.lock.clone()),
                access_policy: want
                    .access_policy
                    .clone()
                    .or_else(|| have.access_policy.clone()),
                ..want.clone()
            },
            None => want.clone(),
        };
        prop_assert_eq!(&after.vaults[key], &expected);
    }
    for (name, want) in &desired.plans {
        match actual.plans.get(name) {
            Some(have) if !have.managed => {}
            _ => prop_assert_eq!(rules_sorted(&after.plans[name]), rules_sorted(want)),
        }
    }
    let ours = after.plans.keys().filter(|name| {
        managed(name) || (!actual.plans.contains_key(*name) && desired.plans.contains_key(*name))
    });
    for plan in ours {
        let under = |state: &BackupState| -> BTreeMap<(String, String), Selection> {
            state
                .selections
                .iter()
                .filter(|(key, _)| &key.0 == plan)
                .map(|(key, s)| (key.clone(), s.clone()))
                .collect()
        };
        prop_assert_eq!(under(&after), under(desired), "selections of {}", plan);
    }
    Ok(())
}

fn config_strategy() -> impl Strategy<Value = Config> {
    const EXAMPLE: &str = include_str!("../../../docs/configuration.md");
    let example = EXAMPLE
        .split("## A complete example")
        .nth(1)
        .and_then(|s| s.split("```toml\n").nth(1))
        .and_then(|s| s.split("```").next())
        .expect("the documented example");
    let example = Config::from_toml_str("example.toml", example).expect("loads");
    select(vec![Config::builtin(), example])
}

proptest! {
    #[test]
    fn reconciling_a_drifted_state_reaches_the_rendered_one(actual in drifted()) {
        check_reconcile(&actual, &builtin_render())?;
    }

    #[test]
    fn reconciling_any_state_reaches_any_desired_one(
        actual in any_state(),
        desired in managed_state(),
    ) {
        check_reconcile(&actual, &desired)?;
        prop_assert_eq!(diff(&desired, &desired), vec![]);
    }

    #[test]
    fn every_backed_up_store_is_selected_by_exactly_one_selection(
        config in config_strategy(),
        kind in select(Kind::ALL.to_vec()),
        region in select(vec!["us-east-1", "eu-west-1", "ap-southeast-2"]),
        account in "[0-9]{12}",
        id in "[a-z][a-z0-9-]{0,20}",
        other_tags in prop::collection::btree_map("[A-Za-z:]{1,12}", "[a-z]{0,6}", 0..4),
    ) {
        let state = render(&config, ACCOUNT, PRIMARY).expect("renders");
        let arn = ResourceArn::new(
            kind,
            "aws",
            &Region::parse(region).expect("region"),
            &AccountId::parse(&account).expect("account"),
            &id,
        )
        .to_string();
        let mut untagged = other_tags;
        untagged.remove(TIER_TAG);
        let matching = |tags: &BTreeMap<String, String>| -> Vec<&Selection> {
            state.selections.values().filter(|s| selection_matches(s, &arn, tags)).collect()
        };
        prop_assert!(matching(&untagged).is_empty());
        for tier in config.tiers() {
            let mut tags = untagged.clone();
            tags.insert(TIER_TAG.to_string(), tier.name.clone());
            let selected = matching(&tags);
            prop_assert_eq!(selected.len(), 1, "{} {}", tier.name, arn);
            prop_assert_eq!(
                Some(selected[0].plan_name.clone()),
                plan_for(&config, &tier.name, kind)
            );
            let mut other_case = untagged.clone();
            other_case.insert(TIER_TAG.to_uppercase(), tier.name.clone());
            prop_assert!(matching(&other_case).is_empty());
        }
    }
}

#[test]
fn the_rendered_state_needs_no_change_against_itself() {
    let desired = builtin_render();
    assert_eq!(diff(&desired, &desired), vec![]);
}
