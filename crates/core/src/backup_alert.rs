//! AWS Backup's own events worth a page: a call that weakens what keeps recovery points
//! (CloudTrail records it), or a job that ended without doing its work. The event's facts and
//! what the inventory knows of the store in, the message out.

use chrono::{DateTime, Utc};

use crate::{AccountId, Region};

/// The AWS Backup calls that weaken what keeps recovery points: each is an alert, done or
/// refused (someone tried).
pub const TAMPER_CALLS: &[&str] = &[
    "DeleteRecoveryPoint",
    "UpdateRecoveryPointLifecycle",
    "PutBackupVaultAccessPolicy",
    "DeleteBackupVaultAccessPolicy",
    "PutBackupVaultLockConfiguration",
    "DeleteBackupVaultLockConfiguration",
    "DeleteBackupVault",
];

/// The ends of a job that did not do its work (AWS Backup's job states).
pub const FAILED_STATES: &[&str] = &["FAILED", "ABORTED", "EXPIRED"];

/// SNS refuses a subject of 100 characters or more.
const SUBJECT_MAX: usize = 99;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Backup,
    Copy,
    Restore,
}

impl JobKind {
    /// The kind of a job state-change event's `detail-type`.
    pub fn of_detail_type(detail_type: &str) -> Option<Self> {
        match detail_type {
            "Backup Job State Change" => Some(Self::Backup),
            "Copy Job State Change" => Some(Self::Copy),
            "Restore Job State Change" => Some(Self::Restore),
            _ => None,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Backup => "backup",
            Self::Copy => "copy",
            Self::Restore => "restore",
        }
    }
}

/// A call that weakens what keeps recovery points, as CloudTrail recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tampering {
    /// One of TAMPER_CALLS.
    pub call: String,
    /// Who made it (the caller's ARN).
    pub by: String,
    pub vault: Option<String>,
    pub recovery_point: Option<String>,
    /// The error AWS answered: the call was refused.
    pub refused: Option<String>,
    /// What the call asked for, where it says more than its name (a lifecycle, a lock).
    pub asked: Option<String>,
}

/// A job that ended without doing its work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFailure {
    pub kind: JobKind,
    pub id: String,
    /// One of FAILED_STATES.
    pub state: String,
    pub status_message: String,
    pub vault: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Incident {
    Tampering(Tampering),
    JobFailure(JobFailure),
}

/// Where and when the event happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Occurred {
    pub account: AccountId,
    pub region: Region,
    pub at: DateTime<Utc>,
}

/// Whether the inventory has the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InInventory {
    Yes,
    No,
    /// The inventory could not be read: why. The page goes out all the same.
    Unread(String),
}

/// What Bulwark knows of the store an incident touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Store {
    /// The store, and its tier when the inventory has one.
    Known {
        arn: String,
        inventory: InInventory,
        tier: Option<String>,
    },
    /// Why the store cannot be named (a vault-wide change, a point already gone).
    Unknown(String),
}

/// The alert's subject and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub subject: String,
    pub message: String,
}

fn what_happened(incident: &Incident) -> String {
    match incident {
        Incident::Tampering(t) => {
            let thing = match t.call.as_str() {
                "DeleteRecoveryPoint" => "recovery point deleted",
                "UpdateRecoveryPointLifecycle" => "recovery point lifecycle changed",
                "PutBackupVaultAccessPolicy" => "vault access policy replaced",
                "DeleteBackupVaultAccessPolicy" => "vault access policy deleted",
                "PutBackupVaultLockConfiguration" => "vault lock changed",
                "DeleteBackupVaultLockConfiguration" => "vault lock removed",
                "DeleteBackupVault" => "vault deleted",
                other => other,
            };
            match &t.refused {
                Some(_) => format!("attempt refused: {thing}"),
                None => thing.to_string(),
            }
        }
        Incident::JobFailure(j) => format!("{} job {}", j.kind.label(), j.state),
    }
}

fn tier_of(store: &Store) -> String {
    match store {
        Store::Known {
            tier: Some(tier), ..
        } => tier.clone(),
        Store::Known {
            inventory: InInventory::Yes,
            tier: None,
            ..
        } => "none (not backed up by its classification)".into(),
        Store::Known {
            inventory: InInventory::No,
            ..
        } => "unknown (the store is not in Bulwark's inventory)".into(),
        Store::Known {
            inventory: InInventory::Unread(why),
            ..
        } => format!("unknown (the inventory could not be read: {why})"),
        Store::Unknown(_) => "unknown".into(),
    }
}

/// The page for one incident. `bulwark_vault` is the name of Bulwark's vaults, so that the
/// message says whether the vault is one of them.
pub fn alert(
    incident: &Incident,
    occurred: &Occurred,
    store: &Store,
    bulwark_vault: &str,
) -> Alert {
    let what = what_happened(incident);
    let tier = tier_of(store);
    let store_line = match store {
        Store::Known { arn, .. } => arn.clone(),
        Store::Unknown(why) => format!("unknown ({why})"),
    };
    let mut lines = vec![
        format!("What happened: {what}"),
        format!("Store: {store_line}"),
        format!("Tier: {tier}"),
        format!(
            "Where: account {}, region {}, at {}",
            occurred.account,
            occurred.region,
            occurred.at.to_rfc3339()
        ),
    ];
    let vault = match incident {
        Incident::Tampering(t) => t.vault.as_deref(),
        Incident::JobFailure(j) => j.vault.as_deref(),
    };
    if let Some(vault) = vault {
        let whose = if vault == bulwark_vault {
            "Bulwark's"
        } else {
            "not Bulwark's"
        };
        lines.push(format!("Vault: {vault} ({whose})"));
    }
    match incident {
        Incident::Tampering(t) => {
            lines.push(format!("Call: {} by {}", t.call, t.by));
            if let Some(point) = &t.recovery_point {
                lines.push(format!("Recovery point: {point}"));
            }
            if let Some(asked) = &t.asked {
                lines.push(format!("Asked for: {asked}"));
            }
            if let Some(error) = &t.refused {
                lines.push(format!("Refused with: {error}"));
            }
        }
        Incident::JobFailure(j) => {
            lines.push(format!("Job: {}", j.id));
            if !j.status_message.is_empty() {
                lines.push(format!("Reason: {}", j.status_message));
            }
        }
    }
    let subject_store = match store {
        Store::Known { arn, .. } => arn.rsplit([':', '/']).next().unwrap_or(arn).to_string(),
        Store::Unknown(_) => vault.unwrap_or("AWS Backup").to_string(),
    };
    let subject: String = format!(
        "Bulwark: {what} ({subject_store}, tier {})",
        short_tier(store)
    )
    .chars()
    .filter(|c| c.is_ascii() && !c.is_ascii_control())
    .take(SUBJECT_MAX)
    .collect();
    Alert {
        subject,
        message: lines.join("\n"),
    }
}

fn short_tier(store: &Store) -> &str {
    match store {
        Store::Known {
            tier: Some(tier), ..
        } => tier,
        Store::Known {
            inventory: InInventory::Yes,
            ..
        } => "none",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn occurred() -> Occurred {
        Occurred {
            account: AccountId::parse("111122223333").expect("an account"),
            region: Region::parse("eu-west-1").expect("a region"),
            at: DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z")
                .expect("a time")
                .with_timezone(&Utc),
        }
    }

    fn shortened(refused: Option<&str>) -> Incident {
        Incident::Tampering(Tampering {
            call: "UpdateRecoveryPointLifecycle".into(),
            by: "arn:aws:sts::111122223333:assumed-role/ops/jo".into(),
            vault: Some("bulwark".into()),
            recovery_point: Some("arn:aws:backup:eu-west-1:111122223333:recovery-point:AB".into()),
            refused: refused.map(str::to_string),
            asked: Some(r#"{"DeleteAfterDays":1}"#.into()),
        })
    }

    #[test]
    fn a_shortened_lifecycle_names_the_store_its_tier_the_caller_and_what_was_asked() {
        let store = Store::Known {
            arn: "arn:aws:dynamodb:eu-west-1:111122223333:table/orders".into(),
            inventory: InInventory::Yes,
            tier: Some("critical".into()),
        };
        let alert = alert(&shortened(None), &occurred(), &store, "bulwark");
        assert_eq!(
            alert.subject,
            "Bulwark: recovery point lifecycle changed (orders, tier critical)"
        );
        for line in [
            "What happened: recovery point lifecycle changed",
            "Store: arn:aws:dynamodb:eu-west-1:111122223333:table/orders",
            "Tier: critical",
            "Vault: bulwark (Bulwark's)",
            "Call: UpdateRecoveryPointLifecycle by arn:aws:sts::111122223333:assumed-role/ops/jo",
            r#"Asked for: {"DeleteAfterDays":1}"#,
            "Where: account 111122223333, region eu-west-1, at 2026-12-07T10:00:00+00:00",
        ] {
            assert!(
                alert.message.lines().any(|l| l == line),
                "{line}\n{}",
                alert.message
            );
        }
        assert!(!alert.message.contains("Refused"));
    }

    #[test]
    fn a_refused_attempt_is_still_an_alert_and_says_so() {
        let alert = alert(
            &shortened(Some("AccessDeniedException")),
            &occurred(),
            &Store::Unknown("the recovery point could not be read".into()),
            "bulwark",
        );
        assert!(alert
            .subject
            .starts_with("Bulwark: attempt refused: recovery point lifecycle"));
        assert!(alert
            .message
            .contains("Refused with: AccessDeniedException"));
        assert!(alert
            .message
            .contains("Store: unknown (the recovery point could not be read)"));
        assert!(alert.message.contains("Tier: unknown"));
    }

    #[test]
    fn a_failed_job_names_its_reason_and_a_store_outside_the_inventory_says_so() {
        let incident = Incident::JobFailure(JobFailure {
            kind: JobKind::Backup,
            id: "job-1".into(),
            state: "FAILED".into(),
            status_message: "Resource not found".into(),
            vault: Some("other".into()),
        });
        let store = Store::Known {
            arn: "arn:aws:s3:::logs".into(),
            inventory: InInventory::No,
            tier: None,
        };
        let alert = alert(&incident, &occurred(), &store, "bulwark");
        assert_eq!(
            alert.subject,
            "Bulwark: backup job FAILED (logs, tier unknown)"
        );
        assert!(alert.message.contains("Reason: Resource not found"));
        assert!(alert.message.contains("Vault: other (not Bulwark's)"));
        assert!(alert
            .message
            .contains("Tier: unknown (the store is not in Bulwark's inventory)"));
    }

    #[test]
    fn an_inventory_that_cannot_be_read_still_pages_and_says_why_the_tier_is_unknown() {
        let store = Store::Known {
            arn: "arn:aws:s3:::logs".into(),
            inventory: InInventory::Unread("dynamodb:GetItem failed: throttled".into()),
            tier: None,
        };
        let alert = alert(&shortened(None), &occurred(), &store, "bulwark");
        assert!(alert.message.contains(
            "Tier: unknown (the inventory could not be read: dynamodb:GetItem failed: throttled)"
        ));
        assert!(
            alert.subject.ends_with("(logs, tier unknown)"),
            "{}",
            alert.subject
        );
    }

    #[test]
    fn the_subject_stays_under_what_sns_accepts() {
        let store = Store::Known {
            arn: format!("arn:aws:s3:::{}", "b".repeat(200)),
            inventory: InInventory::Yes,
            tier: Some("critical".into()),
        };
        let alert = alert(&shortened(None), &occurred(), &store, "bulwark");
        assert!(alert.subject.len() < 100);
    }

    #[test]
    fn job_kinds_come_from_their_detail_types() {
        assert_eq!(
            JobKind::of_detail_type("Copy Job State Change"),
            Some(JobKind::Copy)
        );
        assert_eq!(JobKind::of_detail_type("Recovery Point State Change"), None);
    }
}
