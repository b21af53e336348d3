//! A failover run: the plan it executes, who asked and why, and how far each store and switch
//! has come. What the run does next is decided here (`next`), purely over that record, so that
//! a run resumed after its process died picks up exactly where the record says it stopped.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::model::Plan;
use super::snapshot::SwitchSnapshot;
use crate::application::{AppName, Attribute, SwitchTarget};
use crate::restore::Finding;

/// A run's id: the application and the millisecond it was requested
/// (`payments-20261130T125601123`). At most 80 characters of `[A-Za-z0-9-]`, so that it names
/// the run's Step Functions execution too (an application's name is cut to fit).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RunId(String);

impl RunId {
    const MAX_LEN: usize = 80;

    pub fn new(app: &AppName, requested_at: DateTime<Utc>) -> Self {
        let when = requested_at.format("%Y%m%dT%H%M%S%3f").to_string();
        let room = Self::MAX_LEN - 1 - when.len();
        let app: String = app.as_str().chars().take(room).collect();
        Self(format!("{}-{when}", app.trim_end_matches('-')))
    }

    pub fn parse(id: &str) -> Result<Self, String> {
        let well_formed = (1..=Self::MAX_LEN).contains(&id.len())
            && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if well_formed {
            Ok(Self(id.to_string()))
        } else {
            Err(format!(
                "{id:?} is not a failover run's id (1 to {} letters, digits or '-', as \
                 `bulwark failover execute` printed it)",
                Self::MAX_LEN
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for RunId {
    type Error = String;
    fn try_from(id: String) -> Result<Self, String> {
        Self::parse(&id)
    }
}

impl From<RunId> for String {
    fn from(id: RunId) -> String {
        id.0
    }
}

/// One run, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub id: RunId,
    /// The plan executed: its hash is the one the engineer quoted.
    pub plan: Plan,
    pub requested_by: String,
    pub reason: String,
    pub requested_at: DateTime<Utc>,
    /// One per store of the plan, in its order.
    pub stores: Vec<StoreRun>,
    /// One per switch of the plan, in its order.
    pub switches: Vec<SwitchRun>,
    /// Set once an abort was asked for: no switch is written after it.
    pub abort_requested: Option<DateTime<Utc>>,
    pub ending: Option<Ending>,
    /// The engineer declared the primary region down: a restored store whose source cannot
    /// be read is judged alone. Otherwise a source that cannot be read leaves the store "not
    /// compared", which stops the run before any switch.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub primary_down: bool,
    /// How many times the run's own item was written: a write made over an older revision
    /// (an abort and an ending that race) is refused, and its writer reads the run again.
    #[serde(default)]
    pub revision: u64,
    /// Who began it as AWS authenticated them, beside `requested_by` (what they said): the
    /// CLI's caller (`sts:GetCallerIdentity`), or the state machine's execution (whose
    /// starter CloudTrail's StartExecution names).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller: Option<String>,
    /// The run's evidence document once written: where, and the SHA-256 of its bytes, so that
    /// an auditor can check the document is the one the run wrote.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<EvidenceDocument>,
    /// A failback: the succeeded failover whose restored stores it brings home.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failback_of: Option<RunId>,
}

/// A run's evidence document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceDocument {
    pub bucket: String,
    pub key: String,
    pub sha256: String,
}

/// How far one store's restore has come.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StoreRun {
    pub restore_job_id: Option<String>,
    pub restore_started: Option<DateTime<Utc>>,
    pub restored: Option<Restored>,
    pub validated: Option<DateTime<Utc>>,
    pub findings: Vec<Finding>,
    /// Why its restore or validation failed: the run stops before any switch.
    pub failure: Option<String>,
    /// The earlier run (failed or aborted) whose restored store this run took instead of
    /// restoring it again: its restore job and store are that run's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopted_from: Option<RunId>,
}

/// A restored store, and what switches may name of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Restored {
    pub arn: String,
    /// A table's or bucket's name, a volume's or file system's id, an instance's or cluster's
    /// identifier.
    pub id: String,
    pub completed: DateTime<Utc>,
    /// The restored store's endpoint, reader endpoint and port, where it has them.
    pub attributes: BTreeMap<Attribute, String>,
}

/// How far one switch has come.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwitchRun {
    /// The value the switch was written with.
    pub value: Option<String>,
    /// What it held before it was written (the inner None: it did not exist). Recorded before
    /// the write, so that abort can always put it back: once it is recorded, the write may have
    /// happened, whether or not `written` says so (its process may have died in between).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "recorded"
    )]
    pub previous: Option<Option<String>>,
    /// What it held before, whole (None: it did not exist), recorded with `previous`: what
    /// an abort puts back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<SwitchSnapshot>,
    /// A record change's id, to ask whether it is INSYNC.
    pub change_id: Option<String>,
    pub written: Option<DateTime<Utc>>,
    pub verified: Option<DateTime<Utc>>,
    pub reverted: Option<DateTime<Utc>>,
    pub failure: Option<String>,
}

/// A `previous` present in the record was recorded, null included (the target did not exist):
/// serde alone would read that null as never recorded.
fn recorded<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

impl SwitchRun {
    /// Whether the target may hold the run's value: its previous value was recorded (the write
    /// follows that record, and its own record may never have come) and it was not put back.
    pub fn may_be_switched(&self) -> bool {
        self.previous.is_some() && self.reverted.is_none()
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Ending {
    /// Every store restored and validated, every switch written and verified.
    Succeeded {
        at: DateTime<Utc>,
        /// From the request to the last switch verified.
        rto_seconds: u64,
    },
    /// It stopped: why. Switches already made stay until an abort puts them back.
    Failed { at: DateTime<Utc>, reason: String },
    /// Aborted: every switch made was put back; restored stores stay.
    Aborted { at: DateTime<Utc> },
}

/// One step of a run as recorded for whoever audits it: when, what, on what, and how it went.
/// Who asked and why are the run's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub at: DateTime<Utc>,
    /// `begin`, `restore`, `restored`, `validate`, `switch`, `verify`, `revert`, `end`, ...
    pub step: String,
    /// The store's ARN, the switch's target, or the application.
    pub subject: String,
    pub outcome: String,
    /// Its place in the run's chain of steps, from 1 (`chain`); None in runs recorded before
    /// the chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// The SHA-256 of the step before it (`chain::step_hash`; the first step's is
    /// `chain::CHAIN_START`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
}

/// What a run does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Start these stores' restores (by index in the plan).
    Restore(Vec<usize>),
    /// Ask after these restores (their jobs are running).
    Poll(Vec<usize>),
    /// Validate these restored stores.
    Validate(Vec<usize>),
    /// Write switch `index` with `value`.
    Switch { index: usize, value: String },
    /// Ask whether switch `index` took.
    Verify(usize),
    /// Put back switch `index` (an abort).
    Revert(usize),
    /// Everything is done: record the success.
    Succeed,
    /// Stop: record the failure.
    Fail(String),
    /// Every switch made is back: record the abort.
    Aborted,
    /// The run has ended.
    Ended,
}

/// How long a failover waits for one store's restore job before it fails that store: long
/// enough for a restore of terabytes, short enough that a stuck job does not hold the run (and
/// its application's lock) forever. The job is left running and named in the run's log.
pub const STORE_RESTORE_DEADLINE: chrono::TimeDelta = chrono::TimeDelta::hours(24);

impl Run {
    /// A new run of `plan`, nothing done yet.
    pub fn new(
        plan: Plan,
        requested_by: &str,
        reason: &str,
        requested_at: DateTime<Utc>,
        app: &AppName,
    ) -> Self {
        Self {
            id: RunId::new(app, requested_at),
            stores: vec![StoreRun::default(); plan.stores.len()],
            switches: vec![SwitchRun::default(); plan.switches.len()],
            plan,
            requested_by: requested_by.to_string(),
            reason: reason.to_string(),
            requested_at,
            abort_requested: None,
            ending: None,
            primary_down: false,
            revision: 0,
            caller: None,
            evidence: None,
            failback_of: None,
        }
    }

    /// Whether the run still holds its application (not ended).
    pub fn running(&self) -> bool {
        self.ending.is_none()
    }

    /// Each store's data lost by this run: from its copy's point to the request, in whole
    /// seconds.
    pub fn data_loss_seconds(&self) -> BTreeMap<String, Option<u64>> {
        self.plan
            .stores
            .iter()
            .map(|s| {
                let loss = s.copy.as_ref().map(|c| {
                    u64::try_from((self.requested_at - c.created).num_seconds()).unwrap_or(0)
                });
                (s.arn.to_string(), loss)
            })
            .collect()
    }

    /// The restored stores, for whoever inspects them after a failed or aborted run.
    pub fn restored(&self) -> Vec<&Restored> {
        self.stores
            .iter()
            .filter_map(|s| s.restored.as_ref())
            .collect()
    }
}

/// The stores earlier runs of `run`'s application restored that `run` takes instead of
/// restoring them again, by store index: for each store, the newest of `earlier` that failed or
/// was aborted, whose plan restored the same store from the same copy under the same name, and
/// whose restore completed. The adopted store is validated again by `run` (its judging may
/// differ: the primary declared down); nothing else of the earlier run is taken.
pub fn adoptable(run: &Run, earlier: &[Run]) -> Vec<Option<StoreRun>> {
    let mut candidates: Vec<&Run> = earlier
        .iter()
        .filter(|e| {
            e.id != run.id
                && e.plan.application == run.plan.application
                && matches!(
                    e.ending,
                    Some(Ending::Failed { .. } | Ending::Aborted { .. })
                )
        })
        .collect();
    candidates.sort_by_key(|e| std::cmp::Reverse(e.requested_at));
    run.plan
        .stores
        .iter()
        .map(|planned| {
            candidates.iter().find_map(|e| {
                let index = e.plan.stores.iter().position(|p| {
                    p.arn == planned.arn
                        && p.restored_name == planned.restored_name
                        && p.copy.as_ref().map(|c| &c.recovery_point_arn)
                            == planned.copy.as_ref().map(|c| &c.recovery_point_arn)
                })?;
                let store = e.stores.get(index)?;
                store.restored.as_ref()?;
                Some(StoreRun {
                    restore_job_id: store.restore_job_id.clone(),
                    restore_started: store.restore_started,
                    restored: store.restored.clone(),
                    adopted_from: Some(store.adopted_from.clone().unwrap_or_else(|| e.id.clone())),
                    ..StoreRun::default()
                })
            })
        })
        .collect()
}

/// What `run` does next. Restores all go first (in parallel); each restored store is
/// validated; only when every store passed are the switches written, one at a time, each
/// verified before the next. A failure anywhere stops the run before its next switch. An
/// abort puts back, the last first, each switch that may have been written: every one whose
/// previous value was recorded, its write recorded or not; then it follows the restores in
/// flight to their end, so that each store they make is tagged as the run's and listed.
pub fn next(run: &Run) -> Next {
    if run.ending.is_some() {
        return Next::Ended;
    }
    let pending = |pick: fn(&StoreRun) -> bool| -> Vec<usize> {
        run.stores
            .iter()
            .enumerate()
            .filter(|(_, s)| pick(s))
            .map(|(i, _)| i)
            .collect()
    };
    // Restores already started are followed to their end before a run stops, so that each
    // restored store is tagged as the run's and listed, not left behind unnamed.
    let in_flight =
        pending(|s| s.restore_job_id.is_some() && s.restored.is_none() && s.failure.is_none());
    if run.abort_requested.is_some() {
        // The switches first: clients go back to the primary at once.
        if let Some(index) = run.switches.iter().rposition(SwitchRun::may_be_switched) {
            return Next::Revert(index);
        }
        return if in_flight.is_empty() {
            Next::Aborted
        } else {
            Next::Poll(in_flight)
        };
    }
    if let Some(reason) = failure(run) {
        return if in_flight.is_empty() {
            Next::Fail(reason)
        } else {
            Next::Poll(in_flight)
        };
    }
    let to_start = pending(|s| s.restore_job_id.is_none());
    if !to_start.is_empty() {
        return Next::Restore(to_start);
    }
    let to_poll = pending(|s| s.restored.is_none());
    if !to_poll.is_empty() {
        return Next::Poll(to_poll);
    }
    let to_validate = pending(|s| s.validated.is_none());
    if !to_validate.is_empty() {
        return Next::Validate(to_validate);
    }
    for (index, switch) in run.switches.iter().enumerate() {
        if switch.written.is_none() {
            return match switch_value(run, index) {
                Ok(value) => Next::Switch { index, value },
                Err(reason) => Next::Fail(reason),
            };
        }
        if switch.verified.is_none() {
            return Next::Verify(index);
        }
    }
    Next::Succeed
}

/// Why the run must stop, if it must: a store that failed its restore or its validation, a
/// switch that failed.
fn failure(run: &Run) -> Option<String> {
    let stores = run.plan.stores.iter().zip(&run.stores);
    for (plan, store) in stores {
        if let Some(reason) = &store.failure {
            return Some(format!("{}: {reason}", plan.arn));
        }
        if let Some(failed) = store.findings.iter().find(|f| !f.passed) {
            return Some(format!(
                "{}: validation failed: {}: {}",
                plan.arn, failed.check, failed.detail
            ));
        }
    }
    run.plan
        .switches
        .iter()
        .zip(&run.switches)
        .find_map(|(plan, switch)| {
            switch
                .failure
                .as_ref()
                .map(|reason| format!("switch {}: {reason}", plan.target))
        })
}

/// Switch `index`'s value, its template rendered over the restored stores.
pub fn switch_value(run: &Run, index: usize) -> Result<String, String> {
    let switch = &run.plan.switches[index];
    let mut missing = None;
    let value = switch.template.render(|placeholder| {
        let found = run
            .plan
            .stores
            .iter()
            .zip(&run.stores)
            .find(|(plan, _)| plan.arn.id == placeholder.store);
        match found.map(|(_, store)| attribute(run, store, placeholder.attribute)) {
            Some(Some(value)) => value,
            _ => {
                missing.get_or_insert_with(|| {
                    format!(
                        "switch {}: {{{}.{}}} has no value: the store was not restored, or \
                         has no {}",
                        switch.target,
                        placeholder.store,
                        placeholder.attribute,
                        placeholder.attribute
                    )
                });
                String::new()
            }
        }
    });
    missing.map_or(Ok(value), Err)
}

fn attribute(run: &Run, store: &StoreRun, attribute: Attribute) -> Option<String> {
    let restored = store.restored.as_ref()?;
    match attribute {
        Attribute::Region => Some(run.plan.dr_region.to_string()),
        Attribute::Name => Some(restored.id.clone()),
        Attribute::Arn => Some(restored.arn.clone()),
        other => restored.attributes.get(&other).cloned(),
    }
}

/// The switch targets a run may have written and has not put back, for an abort's report.
pub fn switched(run: &Run) -> Vec<&SwitchTarget> {
    run.plan
        .switches
        .iter()
        .zip(&run.switches)
        .filter(|(_, s)| s.may_be_switched())
        .map(|(p, _)| &p.target)
        .collect()
}
