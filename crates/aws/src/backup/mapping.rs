//! AWS Backup SDK types <-> the domain's desired-state types, both ways, so that what Bulwark
//! writes reads back as the same value and a second apply finds nothing to change.

use aws_sdk_backup::types as sdk;
use bulwark_core::protection::{CopyAction, Lifecycle, PlanRule, Selection, TagCondition};

use crate::error::AwsError;

/// The condition key AWS Backup uses for a resource tag.
pub const TAG_CONDITION_PREFIX: &str = "aws:ResourceTag/";

fn build_err(e: aws_smithy_types::error::operation::BuildError) -> AwsError {
    AwsError::Malformed(e.to_string())
}

fn days(n: Option<i64>) -> Option<u64> {
    n.and_then(|d| u64::try_from(d).ok())
}

fn i64_of(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub fn lifecycle_to_sdk(l: &Lifecycle) -> sdk::Lifecycle {
    sdk::Lifecycle::builder()
        .set_move_to_cold_storage_after_days(l.move_to_cold_storage_after_days.map(i64_of))
        .set_delete_after_days(l.delete_after_days.map(i64_of))
        .build()
}

pub fn lifecycle_from_sdk(l: Option<&sdk::Lifecycle>) -> Option<Lifecycle> {
    let l = l?;
    let lifecycle = Lifecycle {
        move_to_cold_storage_after_days: days(l.move_to_cold_storage_after_days()),
        delete_after_days: days(l.delete_after_days()),
    };
    (lifecycle.move_to_cold_storage_after_days.is_some() || lifecycle.delete_after_days.is_some())
        .then_some(lifecycle)
}

pub fn rule_to_sdk(rule: &PlanRule) -> Result<sdk::BackupRuleInput, AwsError> {
    let copy_actions = rule
        .copy_actions
        .iter()
        .map(|c| {
            sdk::CopyAction::builder()
                .destination_backup_vault_arn(&c.destination_vault_arn)
                .set_lifecycle(c.lifecycle.as_ref().map(lifecycle_to_sdk))
                .build()
                .map_err(build_err)
        })
        .collect::<Result<Vec<_>, _>>()?;
    sdk::BackupRuleInput::builder()
        .rule_name(&rule.name)
        .target_backup_vault_name(&rule.target_vault)
        .schedule_expression(&rule.schedule)
        .start_window_minutes(i64_of(rule.start_window_minutes))
        .completion_window_minutes(i64_of(rule.completion_window_minutes))
        .set_lifecycle(rule.lifecycle.as_ref().map(lifecycle_to_sdk))
        .enable_continuous_backup(rule.continuous_backup)
        .set_copy_actions((!copy_actions.is_empty()).then_some(copy_actions))
        .build()
        .map_err(build_err)
}

pub fn rule_from_sdk(rule: &sdk::BackupRule) -> PlanRule {
    PlanRule {
        name: rule.rule_name().to_string(),
        target_vault: rule.target_backup_vault_name().to_string(),
        schedule: rule.schedule_expression().unwrap_or_default().to_string(),
        start_window_minutes: days(rule.start_window_minutes()).unwrap_or(0),
        completion_window_minutes: days(rule.completion_window_minutes()).unwrap_or(0),
        lifecycle: lifecycle_from_sdk(rule.lifecycle()),
        continuous_backup: rule.enable_continuous_backup().unwrap_or(false),
        copy_actions: rule
            .copy_actions()
            .iter()
            .map(|c| CopyAction {
                destination_vault_arn: c.destination_backup_vault_arn().to_string(),
                lifecycle: lifecycle_from_sdk(c.lifecycle()),
            })
            .collect(),
    }
}

pub fn plan_to_sdk(name: &str, rules: &[PlanRule]) -> Result<sdk::BackupPlanInput, AwsError> {
    sdk::BackupPlanInput::builder()
        .backup_plan_name(name)
        .set_rules(Some(
            rules
                .iter()
                .map(rule_to_sdk)
                .collect::<Result<Vec<_>, _>>()?,
        ))
        .build()
        .map_err(build_err)
}

pub fn selection_to_sdk(selection: &Selection) -> Result<sdk::BackupSelection, AwsError> {
    let conditions = sdk::Conditions::builder()
        .set_string_equals(Some(
            selection
                .conditions
                .iter()
                .map(|c| {
                    sdk::ConditionParameter::builder()
                        .condition_key(format!("{TAG_CONDITION_PREFIX}{}", c.key))
                        .condition_value(&c.value)
                        .build()
                })
                .collect(),
        ))
        .build();
    sdk::BackupSelection::builder()
        .selection_name(&selection.name)
        .iam_role_arn(&selection.iam_role_arn)
        .set_resources(Some(selection.resources.clone()))
        .conditions(conditions)
        .build()
        .map_err(build_err)
}

pub fn selection_from_sdk(plan_name: &str, s: &sdk::BackupSelection) -> Selection {
    let mut conditions: Vec<TagCondition> = s
        .conditions()
        .map(|c| c.string_equals())
        .unwrap_or_default()
        .iter()
        .filter_map(|p| {
            let key = p.condition_key()?.strip_prefix(TAG_CONDITION_PREFIX)?;
            Some(TagCondition {
                key: key.to_string(),
                value: p.condition_value()?.to_string(),
            })
        })
        .collect();
    conditions.sort();
    Selection {
        name: s.selection_name().to_string(),
        plan_name: plan_name.to_string(),
        iam_role_arn: s.iam_role_arn().to_string(),
        resources: s.resources().to_vec(),
        conditions,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> PlanRule {
        PlanRule {
            name: "snapshots".into(),
            target_vault: "bulwark".into(),
            schedule: "cron(0 0/4 ? * * *)".into(),
            start_window_minutes: 60,
            completion_window_minutes: 240,
            lifecycle: Some(Lifecycle {
                move_to_cold_storage_after_days: Some(90),
                delete_after_days: Some(2555),
            }),
            continuous_backup: false,
            copy_actions: vec![CopyAction {
                destination_vault_arn: "arn:aws:backup:us-west-2:123456789012:backup-vault:bulwark"
                    .into(),
                lifecycle: Some(Lifecycle {
                    move_to_cold_storage_after_days: None,
                    delete_after_days: Some(2555),
                }),
            }],
        }
    }

    /// What AWS answers for a rule is what was sent, plus a rule id.
    fn as_stored(input: &sdk::BackupRuleInput) -> sdk::BackupRule {
        sdk::BackupRule::builder()
            .rule_name(input.rule_name())
            .target_backup_vault_name(input.target_backup_vault_name())
            .set_schedule_expression(input.schedule_expression().map(str::to_string))
            .set_start_window_minutes(input.start_window_minutes())
            .set_completion_window_minutes(input.completion_window_minutes())
            .set_lifecycle(input.lifecycle().cloned())
            .set_enable_continuous_backup(input.enable_continuous_backup())
            .set_copy_actions(Some(input.copy_actions().to_vec()))
            .rule_id("rule-1")
            .build()
            .expect("rule")
    }

    #[test]
    fn a_rule_survives_the_round_trip() {
        let rule = rule();
        let sent = rule_to_sdk(&rule).expect("sdk rule");
        assert_eq!(sent.schedule_expression(), Some("cron(0 0/4 ? * * *)"));
        assert_eq!(sent.copy_actions().len(), 1);
        assert_eq!(rule_from_sdk(&as_stored(&sent)), rule);
    }

    #[test]
    fn a_continuous_rule_without_copies_round_trips() {
        let rule = PlanRule {
            continuous_backup: true,
            copy_actions: vec![],
            lifecycle: Some(Lifecycle {
                move_to_cold_storage_after_days: None,
                delete_after_days: Some(35),
            }),
            ..rule()
        };
        assert_eq!(
            rule_from_sdk(&as_stored(&rule_to_sdk(&rule).expect("sdk"))),
            rule
        );
    }

    #[test]
    fn a_selection_uses_string_equals_conditions_on_the_resource_tag() {
        let selection = Selection {
            name: "bulwark-critical-snapshot-assets".into(),
            plan_name: "bulwark-critical-snapshot".into(),
            iam_role_arn: "arn:aws:iam::123456789012:role/service-role/AWSBackupDefaultServiceRole"
                .into(),
            resources: vec!["arn:aws:ec2:*:*:volume/*".into()],
            conditions: vec![TagCondition {
                key: "bulwark:tier".into(),
                value: "critical".into(),
            }],
        };
        let sent = selection_to_sdk(&selection).expect("sdk selection");
        let keys: Vec<_> = sent
            .conditions()
            .expect("conditions")
            .string_equals()
            .iter()
            .filter_map(|c| c.condition_key())
            .collect();
        assert_eq!(keys, vec!["aws:ResourceTag/bulwark:tier"]);
        assert!(
            sent.list_of_tags().is_empty(),
            "AND semantics: no ListOfTags"
        );
        assert_eq!(
            selection_from_sdk("bulwark-critical-snapshot", &sent),
            selection
        );
    }
}
