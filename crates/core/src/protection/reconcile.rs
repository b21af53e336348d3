//! Reconciliation of AWS Backup's state: the actions from the actual state to the desired
//! one, a model of what they do, and what they leave for a human.

use super::model::{Action, BackupState, PlanRule, Vault};

/// The actions that take `actual` to `desired` on what Bulwark manages, in an order they can
/// be applied in: vaults, then plans, then selection deletions, then selection creations.
///
/// - A vault, plan or selection `desired` has and `actual` lacks is created.
/// - A managed plan whose rules differ (in any order) is updated; a managed vault gets the
///   desired lock and access policy where they differ.
/// - Selections under managed plans (and plans about to be created) are made equal to the
///   desired ones: a differing one is deleted and created again, one not desired is deleted.
/// - Nothing with `managed = false` is touched, nor are selections under such plans; plans
///   and vaults are never deleted, a lock is never lifted and a vault's key never changes:
///   [`unreconciled`] reports what this leaves different.
pub fn diff(actual: &BackupState, desired: &BackupState) -> Vec<Action> {
    let mut vaults = Vec::new();
    for (key, want) in &desired.vaults {
        let have = match actual.vaults.get(key) {
            None => {
                vaults.push(Action::CreateVault(Vault {
                    lock: None,
                    access_policy: None,
                    ..want.clone()
                }));
                None
            }
            Some(have) if have.managed => Some(have),
            Some(_) => continue,
        };
        let (region, vault) = key.clone();
        if let Some(lock) = want
            .lock
            .as_ref()
            .filter(|l| have.and_then(|h| h.lock.as_ref()) != Some(l))
        {
            vaults.push(Action::PutVaultLock {
                region: region.clone(),
                vault: vault.clone(),
                lock: lock.clone(),
            });
        }
        if let Some(policy) = want
            .access_policy
            .as_ref()
            .filter(|p| have.and_then(|h| h.access_policy.as_ref()) != Some(p))
        {
            vaults.push(Action::PutVaultAccessPolicy {
                region,
                vault,
                policy: policy.clone(),
            });
        }
    }

    let mut plans = Vec::new();
    for (name, want) in &desired.plans {
        match actual.plans.get(name) {
            None => plans.push(Action::CreatePlan(want.clone())),
            Some(have) if have.managed && !same_rules(&have.rules, &want.rules) => {
                plans.push(Action::UpdatePlan(want.clone()));
            }
            Some(_) => {}
        }
    }

    let managed = |plan: &str| actual.plans.get(plan).is_some_and(|p| p.managed);
    let ours = |plan: &str| {
        managed(plan) || (!actual.plans.contains_key(plan) && desired.plans.contains_key(plan))
    };
    let deletions = actual
        .selections
        .iter()
        .filter(|(key, have)| managed(&key.0) && desired.selections.get(*key) != Some(have))
        .map(|((plan_name, name), _)| Action::DeleteSelection {
            plan_name: plan_name.clone(),
            name: name.clone(),
        });
    let creations = desired
        .selections
        .iter()
        .filter(|(key, want)| ours(&key.0) && actual.selections.get(key) != Some(want))
        .map(|(_, want)| Action::CreateSelection(want.clone()));

    vaults
        .into_iter()
        .chain(plans)
        .chain(deletions)
        .chain(creations)
        .collect()
}

fn same_rules(a: &[PlanRule], b: &[PlanRule]) -> bool {
    let sorted = |rules: &[PlanRule]| {
        let mut rules: Vec<PlanRule> = rules.to_vec();
        rules.sort_by(|x, y| x.name.cmp(&y.name));
        rules
    };
    a.len() == b.len() && sorted(a) == sorted(b)
}

/// What `diff` leaves different between `actual` and `desired`, and why: each needs a human.
pub fn unreconciled(actual: &BackupState, desired: &BackupState) -> Vec<String> {
    let mut found = Vec::new();
    for (key, want) in &desired.vaults {
        let Some(have) = actual.vaults.get(key) else {
            continue;
        };
        let vault = format!("vault {} in {}", want.name, want.region);
        if !have.managed {
            found.push(format!(
                "{vault} was not created by Bulwark: its lock and access policy are left as they are"
            ));
            continue;
        }
        if have.kms_key_alias != want.kms_key_alias {
            found.push(format!(
                "{vault} encrypts with {}, the configuration asks {}: a vault's key cannot change; \
                 set another vault_name to start a new vault",
                have.kms_key_alias, want.kms_key_alias
            ));
        }
        if have.lock.is_some() && want.lock.is_none() {
            found.push(format!(
                "{vault} is locked and no tier asks for a lock: Bulwark never lifts a lock"
            ));
        }
    }
    for (name, want) in &desired.plans {
        if actual.plans.get(name).is_some_and(|p| !p.managed)
            && actual.plans.get(name) != Some(want)
        {
            found.push(format!(
                "plan {name} was not created by Bulwark: it is left alone, and the assets its \
                 selection would pick are not selected by Bulwark"
            ));
        }
    }
    found
}

/// The model of what the actions do to AWS Backup's state. A lock or policy put on a vault
/// that does not exist changes nothing here (AWS Backup would refuse it).
pub fn apply(state: &BackupState, actions: &[Action]) -> BackupState {
    let mut next = state.clone();
    for action in actions {
        match action {
            Action::CreateVault(vault) => {
                next.vaults
                    .insert((vault.region.clone(), vault.name.clone()), vault.clone());
            }
            Action::PutVaultLock {
                region,
                vault,
                lock,
            } => {
                if let Some(v) = next.vaults.get_mut(&(region.clone(), vault.clone())) {
                    v.lock = Some(lock.clone());
                }
            }
            Action::PutVaultAccessPolicy {
                region,
                vault,
                policy,
            } => {
                if let Some(v) = next.vaults.get_mut(&(region.clone(), vault.clone())) {
                    v.access_policy = Some(policy.clone());
                }
            }
            Action::CreatePlan(plan) | Action::UpdatePlan(plan) => {
                next.plans.insert(plan.name.clone(), plan.clone());
            }
            Action::CreateSelection(selection) => {
                next.selections.insert(
                    (selection.plan_name.clone(), selection.name.clone()),
                    selection.clone(),
                );
            }
            Action::DeleteSelection { plan_name, name } => {
                next.selections.remove(&(plan_name.clone(), name.clone()));
            }
        }
    }
    next
}
