//! Central mode (`[organization_policies]`): the taxonomy as AWS Organizations backup
//! policies, one a tier, attached to the roots, OUs and accounts the configuration names. Each
//! policy holds the same plans and selections `protection::render_with_plans` gives an account,
//! with `$account` for the account (Organizations fills it in each account), and `@@assign` on
//! every value. `changes` is the difference from what the organization has; `effective_state`
//! reads an account's effective policy back into plans and selections, for coverage.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::config::Config;
use crate::protection::{
    render_with_plans, BackupState, CopyAction, Lifecycle, Plan, PlanRule, Selection, TagCondition,
    MANAGED_TAG, TIER_TAG,
};

/// What every policy Bulwark makes is named after: `bulwark-<tier>`.
pub const POLICY_PREFIX: &str = "bulwark-";
/// The variable AWS Organizations replaces with each account's id.
pub const ACCOUNT_VARIABLE: &str = "$account";
/// AWS Organizations' quota on a backup policy's size, in characters.
pub const MAX_POLICY_CHARACTERS: usize = 10_000;
/// The inheritance operators a backup policy may use.
pub const OPERATORS: &[&str] = &[
    "@@assign",
    "@@append",
    "@@remove",
    "@@operators_allowed_for_child_policies",
];
const TAG_CONDITION_KEY: &str = "aws:ResourceTag/";

/// One backup policy as Bulwark wants it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BackupPolicy {
    pub name: String,
    pub description: String,
    pub content: Value,
}

/// A backup policy of Bulwark's (named `bulwark-…`) as the organization has it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExistingPolicy {
    pub id: String,
    pub name: String,
    pub content: Value,
    pub targets: Vec<String>,
}

/// What the organization has: its root, whether backup policies are enabled there, and
/// Bulwark's policies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrganizationFacts {
    pub root_id: String,
    pub backup_policies_enabled: bool,
    pub policies: Vec<ExistingPolicy>,
}

/// One change to the organization: one call each.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum OrgChange {
    EnableBackupPolicies {
        root_id: String,
    },
    Create {
        policy: BackupPolicy,
    },
    Update {
        id: String,
        policy: BackupPolicy,
    },
    Attach {
        name: String,
        target: String,
    },
    Detach {
        name: String,
        id: String,
        target: String,
    },
    Delete {
        name: String,
        id: String,
    },
}

impl OrgChange {
    /// One line for the plan.
    pub fn describe(&self) -> String {
        match self {
            OrgChange::EnableBackupPolicies { root_id } => {
                format!("enable backup policies in the root {root_id}")
            }
            OrgChange::Create { policy } => format!(
                "create the backup policy {} ({} characters)",
                policy.name,
                compact(&policy.content).len()
            ),
            OrgChange::Update { policy, .. } => format!(
                "update the backup policy {} to the taxonomy ({} characters)",
                policy.name,
                compact(&policy.content).len()
            ),
            OrgChange::Attach { name, target } => format!("attach {name} to {target}"),
            OrgChange::Detach { name, target, .. } => format!("detach {name} from {target}"),
            OrgChange::Delete { name, .. } => {
                format!("delete the backup policy {name} (its tier is gone)")
            }
        }
    }
}

fn compact(content: &Value) -> String {
    content.to_string()
}

fn assign(value: impl Into<Value>) -> Value {
    json!({ "@@assign": value.into() })
}

fn lifecycle(lifecycle: &Lifecycle) -> Value {
    let mut out = Map::new();
    if let Some(days) = lifecycle.move_to_cold_storage_after_days {
        out.insert(
            "move_to_cold_storage_after_days".into(),
            assign(days.to_string()),
        );
    }
    if let Some(days) = lifecycle.delete_after_days {
        out.insert("delete_after_days".into(), assign(days.to_string()));
    }
    Value::Object(out)
}

fn rule(rule: &PlanRule) -> Value {
    let mut out = Map::new();
    out.insert("schedule_expression".into(), assign(rule.schedule.as_str()));
    out.insert(
        "start_backup_window_minutes".into(),
        assign(rule.start_window_minutes.to_string()),
    );
    out.insert(
        "complete_backup_window_minutes".into(),
        assign(rule.completion_window_minutes.to_string()),
    );
    out.insert(
        "target_backup_vault_name".into(),
        assign(rule.target_vault.as_str()),
    );
    if rule.continuous_backup {
        out.insert("enable_continuous_backup".into(), assign("true"));
    }
    if let Some(kept) = &rule.lifecycle {
        out.insert("lifecycle".into(), lifecycle(kept));
    }
    if !rule.copy_actions.is_empty() {
        let copies: Map<String, Value> = rule
            .copy_actions
            .iter()
            .map(|copy| {
                let mut action = Map::new();
                action.insert(
                    "target_backup_vault_arn".into(),
                    assign(copy.destination_vault_arn.as_str()),
                );
                if let Some(kept) = &copy.lifecycle {
                    action.insert("lifecycle".into(), lifecycle(kept));
                }
                (copy.destination_vault_arn.clone(), Value::Object(action))
            })
            .collect();
        out.insert("copy_actions".into(), Value::Object(copies));
    }
    Value::Object(out)
}

fn selection(selection: &Selection) -> Value {
    let conditions: Map<String, Value> = selection
        .conditions
        .iter()
        .map(|c| {
            (
                c.key.replace(':', "_"),
                json!({
                    "condition_key": assign(format!("{TAG_CONDITION_KEY}{}", c.key)),
                    "condition_value": assign(c.value.as_str()),
                }),
            )
        })
        .collect();
    json!({
        "iam_role_arn": assign(selection.iam_role_arn.as_str()),
        "resource_types": assign(selection.resources.clone()),
        "conditions": { "string_equals": conditions },
    })
}

/// A plan of `state` with its selections, without its regions.
fn plan_body(plan: &Plan, state: &BackupState) -> Value {
    let rules: Map<String, Value> = plan
        .rules
        .iter()
        .map(|r| (r.name.clone(), rule(r)))
        .collect();
    let selections: Map<String, Value> = state
        .selections
        .values()
        .filter(|s| s.plan_name == plan.name)
        .map(|s| (s.name.clone(), selection(s)))
        .collect();
    json!({
        "rules": rules,
        "selections": { "resources": selections },
        "backup_plan_tags": {
            MANAGED_TAG: { "tag_key": assign(MANAGED_TAG), "tag_value": assign("true") }
        },
    })
}

/// The tier a rendered plan belongs to: its selections' tier condition.
fn tier_of(plan: &Plan, state: &BackupState) -> Option<String> {
    state
        .selections
        .values()
        .filter(|s| s.plan_name == plan.name)
        .flat_map(|s| &s.conditions)
        .find(|c| c.key == TIER_TAG)
        .map(|c| c.value.clone())
}

/// A plan's body and the regions that render it so.
type Variant = (Value, Vec<String>);

/// One policy per tier: its plans as each configured region renders them. A plan rendered
/// alike in several regions is one plan naming them all; one that differs by region (another
/// DR region to copy to) is one plan per difference, named after its first region.
pub fn render(config: &Config) -> Result<Vec<BackupPolicy>, String> {
    let Some(org) = config.organization_policies() else {
        return Ok(Vec::new());
    };
    let mut variants: BTreeMap<String, BTreeMap<String, Vec<Variant>>> = BTreeMap::new();
    for region in &org.regions {
        let state = render_with_plans(config, ACCOUNT_VARIABLE, region)?;
        for plan in state.plans.values() {
            let Some(tier) = tier_of(plan, &state) else {
                continue;
            };
            let body = plan_body(plan, &state);
            let plans = variants
                .entry(tier)
                .or_default()
                .entry(plan.name.clone())
                .or_default();
            match plans.iter_mut().find(|(b, _)| b == &body) {
                Some((_, regions)) => regions.push(region.clone()),
                None => plans.push((body, vec![region.clone()])),
            }
        }
    }
    let mut policies = Vec::new();
    for (tier, plans) in variants {
        let mut content = Map::new();
        for (name, bodies) in plans {
            let several = bodies.len() > 1;
            for (mut body, regions) in bodies {
                let key = if several {
                    format!("{name}-{}", regions[0])
                } else {
                    name.clone()
                };
                body["regions"] = assign(regions);
                content.insert(key, body);
            }
        }
        let policy = BackupPolicy {
            name: format!("{POLICY_PREFIX}{tier}"),
            description: format!(
                "Bulwark: the {tier} tier's plans, for stores tagged {TIER_TAG}={tier}"
            ),
            content: json!({ "plans": content }),
        };
        check(&policy)?;
        policies.push(policy);
    }
    Ok(policies)
}

/// What AWS Organizations would refuse, refused before any call: a policy over its size quota
/// or with a key starting `@@` that is no inheritance operator.
pub fn check(policy: &BackupPolicy) -> Result<(), String> {
    let size = compact(&policy.content).len();
    if size > MAX_POLICY_CHARACTERS {
        return Err(format!(
            "the backup policy {} is {size} characters: AWS Organizations takes at most \
             {MAX_POLICY_CHARACTERS}; name fewer regions in [organization_policies], or fewer \
             kinds of plan in the tier",
            policy.name
        ));
    }
    fn operators(node: &Value, path: &str) -> Result<(), String> {
        match node {
            Value::Object(map) => map.iter().try_for_each(|(key, value)| {
                if key.starts_with("@@") && !OPERATORS.contains(&key.as_str()) {
                    return Err(format!("{path}{key} is not an inheritance operator"));
                }
                operators(value, &format!("{path}{key}."))
            }),
            Value::Array(items) => items.iter().try_for_each(|v| operators(v, path)),
            _ => Ok(()),
        }
    }
    operators(&policy.content, "")
        .map_err(|why| format!("the backup policy {}: {why}", policy.name))
}

/// The calls that make the organization's policies `desired`, attached to exactly `targets`:
/// backup policies enabled in the root first, then each policy made or updated, then
/// attached, then detached where it should not be, and the policies of tiers that are gone
/// detached and deleted. Only policies named `bulwark-…` are Bulwark's; the others are never
/// touched. Contents compare as JSON values.
pub fn changes(
    desired: &[BackupPolicy],
    targets: &[String],
    facts: &OrganizationFacts,
) -> Vec<OrgChange> {
    let mut out = Vec::new();
    if !desired.is_empty() && !facts.backup_policies_enabled {
        out.push(OrgChange::EnableBackupPolicies {
            root_id: facts.root_id.clone(),
        });
    }
    let wanted: BTreeSet<&String> = targets.iter().collect();
    for policy in desired {
        let existing = facts.policies.iter().find(|p| p.name == policy.name);
        match existing {
            None => out.push(OrgChange::Create {
                policy: policy.clone(),
            }),
            Some(found) if found.content != policy.content => out.push(OrgChange::Update {
                id: found.id.clone(),
                policy: policy.clone(),
            }),
            Some(_) => {}
        }
        let attached: BTreeSet<&String> = existing
            .map(|p| p.targets.iter().collect())
            .unwrap_or_default();
        for target in wanted.difference(&attached) {
            out.push(OrgChange::Attach {
                name: policy.name.clone(),
                target: (*target).clone(),
            });
        }
        if let Some(found) = existing {
            for target in attached.difference(&wanted) {
                out.push(OrgChange::Detach {
                    name: found.name.clone(),
                    id: found.id.clone(),
                    target: (*target).clone(),
                });
            }
        }
    }
    for gone in facts
        .policies
        .iter()
        .filter(|p| p.name.starts_with(POLICY_PREFIX))
        .filter(|p| desired.iter().all(|d| d.name != p.name))
    {
        for target in &gone.targets {
            out.push(OrgChange::Detach {
                name: gone.name.clone(),
                id: gone.id.clone(),
                target: target.clone(),
            });
        }
        out.push(OrgChange::Delete {
            name: gone.name.clone(),
            id: gone.id.clone(),
        });
    }
    out
}

fn text(node: &Value, key: &str) -> Option<String> {
    match node.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn days(node: &Value, key: &str) -> Option<u64> {
    text(node, key)?.parse().ok()
}

fn lifecycle_of(node: Option<&Value>) -> Option<Lifecycle> {
    let node = node?;
    Some(Lifecycle {
        move_to_cold_storage_after_days: days(node, "move_to_cold_storage_after_days"),
        delete_after_days: days(node, "delete_after_days"),
    })
}

fn strings(node: Option<&Value>) -> Vec<String> {
    match node {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// The plans and selections an account's effective backup policy (operators gone, as
/// DescribeEffectivePolicy gives it) runs in `region`, `$account` filled in: what coverage
/// judges a store of that account and region by. Plans are marked not Bulwark's to manage in
/// the account: the organization owns them.
pub fn effective_state(content: &Value, account: &str, region: &str) -> BackupState {
    let fill = |s: String| s.replace(ACCOUNT_VARIABLE, account);
    let mut state = BackupState::default();
    let Some(plans) = content.get("plans").and_then(Value::as_object) else {
        return state;
    };
    for (name, plan) in plans {
        if !strings(plan.get("regions")).iter().any(|r| r == region) {
            continue;
        }
        let rules = plan
            .get("rules")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(rule_name, rule)| PlanRule {
                name: rule_name.clone(),
                target_vault: text(rule, "target_backup_vault_name").unwrap_or_default(),
                schedule: text(rule, "schedule_expression").unwrap_or_default(),
                start_window_minutes: days(rule, "start_backup_window_minutes").unwrap_or(60),
                completion_window_minutes: days(rule, "complete_backup_window_minutes")
                    .unwrap_or(10_080),
                lifecycle: lifecycle_of(rule.get("lifecycle")),
                continuous_backup: text(rule, "enable_continuous_backup").as_deref()
                    == Some("true"),
                copy_actions: rule
                    .get("copy_actions")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                    .map(|(arn, copy)| CopyAction {
                        destination_vault_arn: fill(
                            text(copy, "target_backup_vault_arn").unwrap_or_else(|| arn.clone()),
                        ),
                        lifecycle: lifecycle_of(copy.get("lifecycle")),
                    })
                    .collect(),
            })
            .collect();
        state.plans.insert(
            name.clone(),
            Plan {
                name: name.clone(),
                rules,
                managed: false,
            },
        );
        let selections = plan.get("selections");
        for (selection_name, chosen) in selections
            .and_then(|s| s.get("resources"))
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let conditions = chosen
                .get("conditions")
                .and_then(|c| c.get("string_equals"))
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter_map(|(_, c)| {
                    Some(TagCondition {
                        key: text(c, "condition_key")?
                            .strip_prefix(TAG_CONDITION_KEY)?
                            .to_string(),
                        value: text(c, "condition_value")?,
                    })
                })
                .collect();
            state.selections.insert(
                (name.clone(), selection_name.clone()),
                Selection {
                    name: selection_name.clone(),
                    plan_name: name.clone(),
                    iam_role_arn: fill(text(chosen, "iam_role_arn").unwrap_or_default()),
                    resources: strings(chosen.get("resource_types")),
                    conditions,
                },
            );
        }
        for (selection_name, chosen) in selections
            .and_then(|s| s.get("tags"))
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            let key = text(chosen, "tag_key").unwrap_or_default();
            for value in strings(chosen.get("tag_value")) {
                let name_of = format!("{selection_name}-{value}");
                state.selections.insert(
                    (name.clone(), name_of.clone()),
                    Selection {
                        name: name_of,
                        plan_name: name.clone(),
                        iam_role_arn: fill(text(chosen, "iam_role_arn").unwrap_or_default()),
                        resources: vec!["*".to_string()],
                        conditions: vec![TagCondition {
                            key: key.clone(),
                            value,
                        }],
                    },
                );
            }
        }
    }
    state
}

/// In central mode, keep in `desired` each plan Bulwark made in the account (and its
/// selections) until the account's effective policy (`organization`, for the same region) runs
/// a plan of that name: deleting it sooner would leave the stores without any plan between
/// `apply` and `apply --org`, or while the organization's policy has not reached the account.
pub fn keep_until_covered(
    desired: &mut BackupState,
    actual: &BackupState,
    organization: &BackupState,
) {
    for plan in actual.plans.values() {
        if !plan.managed || organization.plans.contains_key(&plan.name) {
            continue;
        }
        desired
            .plans
            .entry(plan.name.clone())
            .or_insert_with(|| plan.clone());
        for (key, selection) in &actual.selections {
            if key.0 == plan.name {
                desired
                    .selections
                    .entry(key.clone())
                    .or_insert_with(|| selection.clone());
            }
        }
    }
}

#[cfg(test)]
#[path = "org_policy_tests.rs"]
mod tests;
