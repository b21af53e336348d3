//! AWS Backup's events, given whole by the template's rules under `backup_event`: a write call
//! CloudTrail recorded ("AWS API Call via CloudTrail"), or a job's end ("Backup/Copy/Restore
//! Job State Change"). Each is checked and read into what core judges and what leads to its
//! store.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use bulwark_aws::backup_alert::Lead;
use bulwark_core::backup_alert::{
    Incident, JobFailure, JobKind, Occurred, Tampering, FAILED_STATES, TAMPER_CALLS,
};
use bulwark_core::{AccountId, Region};
use bulwark_lambda::FunctionError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

const SOURCE: &str = "aws.backup";
const CLOUDTRAIL: &str = "AWS API Call via CloudTrail";

/// The fields of both kinds' `detail` that an alert reads (AWS Backup developer guide's
/// examples; CloudTrail's record contents).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupEventDetail {
    pub event_name: Option<String>,
    pub user_identity: Option<UserIdentity>,
    /// CloudTrail's record of the request: its members vary with the call.
    pub request_parameters: Option<Map<String, Value>>,
    pub error_code: Option<String>,
    pub backup_job_id: Option<String>,
    pub copy_job_id: Option<String>,
    pub restore_job_id: Option<String>,
    /// Backup and copy jobs say `state`, restore jobs `status`.
    pub state: Option<String>,
    pub status: Option<String>,
    pub status_message: Option<String>,
    pub resource_arn: Option<String>,
    pub backup_vault_name: Option<String>,
    pub destination_backup_vault_arn: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserIdentity {
    pub arn: Option<String>,
}

/// An event read: the incident, where and when, and what leads to its store. None for an
/// event that is no incident (a job that completed).
pub type Read = Option<(Incident, Occurred, Lead)>;

fn invalid(id: &str, why: impl std::fmt::Display) -> FunctionError {
    FunctionError::InvalidInput(format!("AWS Backup event {id}: {why}"))
}

pub fn read(event: EventBridgeEvent<BackupEventDetail>) -> Result<Read, FunctionError> {
    let id = event.id.clone().unwrap_or_default();
    if event.source != SOURCE {
        return Err(invalid(
            &id,
            format!("from {:?}, not {SOURCE:?}", event.source),
        ));
    }
    let account = event
        .account
        .as_deref()
        .map(AccountId::parse)
        .transpose()
        .map_err(|e| invalid(&id, e))?;
    let region = event
        .region
        .as_deref()
        .map(Region::parse)
        .transpose()
        .map_err(|e| invalid(&id, e))?;
    let (Some(account), Some(region), Some(at), false) =
        (account, region, event.time, id.is_empty())
    else {
        return Err(invalid(
            &id,
            "an event has an id, an account, a region and a time",
        ));
    };
    let occurred = Occurred {
        account,
        region,
        at,
    };
    let detail = event.detail;
    if event.detail_type == CLOUDTRAIL {
        return tampering(&id, detail).map(|(incident, lead)| Some((incident, occurred, lead)));
    }
    let Some(kind) = JobKind::of_detail_type(&event.detail_type) else {
        return Err(invalid(
            &id,
            format!("a {:?} is not an event alerted on", event.detail_type),
        ));
    };
    let state = detail
        .state
        .clone()
        .or(detail.status.clone())
        .ok_or_else(|| invalid(&id, "a job's event without its state"))?;
    if !FAILED_STATES.contains(&state.as_str()) {
        return Ok(None);
    }
    let job_id = match kind {
        JobKind::Backup => detail.backup_job_id.clone(),
        JobKind::Copy => detail.copy_job_id.clone(),
        JobKind::Restore => detail.restore_job_id.clone(),
    }
    .ok_or_else(|| invalid(&id, "a job's event without its job id"))?;
    let lead = match (kind, &detail.resource_arn) {
        (JobKind::Restore, _) => Lead::RestoreJob(job_id.clone()),
        (_, Some(arn)) => Lead::Resource(arn.clone()),
        (_, None) => Lead::Nothing("the job's event names no store".into()),
    };
    let vault = detail.backup_vault_name.clone().or_else(|| {
        detail
            .destination_backup_vault_arn
            .as_deref()
            .and_then(|arn| arn.rsplit(':').next())
            .map(str::to_string)
    });
    let incident = Incident::JobFailure(JobFailure {
        kind,
        id: job_id,
        state,
        status_message: detail.status_message.unwrap_or_default(),
        vault,
    });
    Ok(Some((incident, occurred, lead)))
}

fn tampering(id: &str, detail: BackupEventDetail) -> Result<(Incident, Lead), FunctionError> {
    let call = detail
        .event_name
        .ok_or_else(|| invalid(id, "a CloudTrail event without its eventName"))?;
    if !TAMPER_CALLS.contains(&call.as_str()) {
        return Err(invalid(id, format!("{call} is not a call alerted on")));
    }
    let parameters = detail.request_parameters.unwrap_or_default();
    let text = |key: &str| {
        parameters
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let vault = text("backupVaultName");
    let recovery_point = text("recoveryPointArn");
    let asked = [
        "lifecycle",
        "minRetentionDays",
        "maxRetentionDays",
        "changeableForDays",
    ]
    .iter()
    .filter_map(|key| parameters.get(*key).map(|v| format!("{key} {v}")))
    .collect::<Vec<_>>();
    let lead = match (&vault, &recovery_point) {
        (Some(vault), Some(arn)) => Lead::RecoveryPoint {
            vault: vault.clone(),
            arn: arn.clone(),
        },
        _ => Lead::Nothing("a vault-wide change: every store with points in the vault".into()),
    };
    let incident = Incident::Tampering(Tampering {
        call,
        by: detail
            .user_identity
            .and_then(|u| u.arn)
            .unwrap_or_else(|| "an unknown caller".into()),
        vault,
        recovery_point,
        refused: detail.error_code,
        asked: (!asked.is_empty()).then(|| asked.join(", ")),
    });
    Ok((incident, lead))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(detail_type: &str, detail: Value) -> EventBridgeEvent<BackupEventDetail> {
        serde_json::from_value(json!({
            "version": "0", "id": "e-1", "detail-type": detail_type, "source": "aws.backup",
            "account": "111122223333", "time": "2026-12-07T10:00:00Z", "region": "eu-west-1",
            "resources": [], "detail": detail,
        }))
        .expect("an event")
    }

    #[test]
    fn a_lifecycle_change_leads_to_its_recovery_point_and_says_what_was_asked() {
        let read = read(event(CLOUDTRAIL, json!({
            "eventName": "UpdateRecoveryPointLifecycle",
            "userIdentity": {"type": "AssumedRole", "arn": "arn:aws:sts::111122223333:assumed-role/ops/jo"},
            "requestParameters": {"backupVaultName": "bulwark", "recoveryPointArn": "arn:rp", "lifecycle": {"DeleteAfterDays": 1}},
        })))
        .expect("read")
        .expect("an incident");
        let (Incident::Tampering(t), _, lead) = read else {
            panic!("tampering expected")
        };
        assert_eq!(t.by, "arn:aws:sts::111122223333:assumed-role/ops/jo");
        assert_eq!(
            t.asked.as_deref(),
            Some(r#"lifecycle {"DeleteAfterDays":1}"#)
        );
        assert_eq!(
            lead,
            Lead::RecoveryPoint {
                vault: "bulwark".into(),
                arn: "arn:rp".into()
            }
        );
    }

    #[test]
    fn a_completed_job_is_no_incident_and_a_failed_restore_leads_to_its_job() {
        let done = event(
            "Backup Job State Change",
            json!({"backupJobId": "j", "state": "COMPLETED"}),
        );
        assert_eq!(read(done).expect("read"), None);
        let failed = event(
            "Restore Job State Change",
            json!({"restoreJobId": "r-1", "status": "FAILED", "statusMessage": "no"}),
        );
        let (incident, _, lead) = read(failed).expect("read").expect("an incident");
        assert_eq!(lead, Lead::RestoreJob("r-1".into()));
        assert!(matches!(
            incident,
            Incident::JobFailure(JobFailure {
                kind: JobKind::Restore,
                ..
            })
        ));
    }

    #[test]
    fn events_it_does_not_alert_on_are_refused_by_name() {
        let other = event(CLOUDTRAIL, json!({"eventName": "CreateBackupVault"}));
        let err = read(other).expect_err("refused");
        assert!(
            err.to_string()
                .contains("CreateBackupVault is not a call alerted on"),
            "{err}"
        );
        let vault = event("Backup Vault State Change", json!({"state": "DELETED"}));
        assert!(read(vault).is_err());
        let mut foreign = event(
            "Backup Job State Change",
            json!({"state": "FAILED", "backupJobId": "j"}),
        );
        foreign.source = "my.app".into();
        assert!(read(foreign).is_err());
    }
}
